"""pyc_source_hash() against importlib.util.source_hash() of each CPython."""
import os
import subprocess

from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import LIBCHECK

ORACLE = r'''
import sys, importlib.util as u
for p in sys.argv[1:]:
    with open(p, 'rb') as f:
        print(u.source_hash(f.read()).hex())
'''


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large,
                                           HealthCheck.too_slow])
@given(blobs=st.lists(st.binary(max_size=300), min_size=1, max_size=30))
def test_source_hash(interp, tmp_path_factory, blobs):
    d = tmp_path_factory.mktemp('hash')
    # Every length 0..17 once as well: SipHash's tail handling.
    blobs = blobs + [bytes(range(n)) for n in range(18)]
    files = []
    for i, b in enumerate(blobs):
        p = d / ('%d.bin' % i)
        p.write_bytes(b)
        files.append(str(p))
    want = interp.run(ORACLE, *files).decode().split()
    got = subprocess.run([LIBCHECK, 'hash', str(interp.magic), *files],
                         capture_output=True, check=True).stdout.decode().split()
    assert got == want


def test_large_source_hash(interp, tmp_path):
    p = tmp_path / 'big.py'
    p.write_bytes(os.urandom(3 * 1024 * 1024 + 7))
    want = interp.run(ORACLE, str(p)).decode().split()
    got = subprocess.run([LIBCHECK, 'hash', str(interp.magic), str(p)],
                         capture_output=True, check=True).stdout.decode().split()
    assert got == want


def test_release_tables_match_interpreter(interp, clean_env, tmp_path):
    """show judges a pyc from its file name alone (no interpreter): the
    release table's magic for the tag must be the interpreter's own."""
    import json
    from conftest import run_tool
    src = tmp_path / 'm.py'
    src.write_text('x = 1\n')
    subprocess.run([interp.exe, '-c', 'import py_compile, sys; '
                    'py_compile.compile(sys.argv[1])', str(src)], check=True,
                   env={})
    pyc = tmp_path / '__pycache__' / ('m.%s.pyc' % interp.tag)
    v = json.loads(run_tool(['show', '--json', str(pyc)], clean_env,
                            check=0).stdout)[0]
    assert v['magic'] == interp.magic
    assert v['magic_python'] == '%d.%d' % interp.version[:2]
    assert v['python'] == interp.tag and v['state'] == 'fresh'
