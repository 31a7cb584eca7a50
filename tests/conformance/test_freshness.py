"""Freshness verdicts against each interpreter's own SourceFileLoader.

For every case a source says ORIGIN = 'source' and its pyc (at the path
the interpreter reads) holds code saying ORIGIN = 'pyc' behind a header
built to hit one rule: magic, truncation, flags, mtime (float rounding,
before 1970, after 2106, nanoseconds), size, hash, in each
--check-hash-based-pycs mode.  The interpreter imports through
SourceFileLoader.get_code(); whatever it ran tells whether it used the
pyc.  `pycprefix show` must say fresh exactly then.
"""
import json
import os
import struct

from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import LIBCHECK, run_tool
import subprocess

LOADER = r'''
import sys, importlib.machinery as m
for i, path in enumerate(sys.argv[1:]):
    code = m.SourceFileLoader('mod%d' % i, path).get_code('mod%d' % i)
    ns = {}
    exec(code, ns)
    print(ns['ORIGIN'])
'''

case = st.fixed_dictionaries({
    'pad': st.binary(max_size=64),
    'sec': st.one_of(st.integers(-2**31, 2**33),
                     st.sampled_from([0, -1, 1, 2**32 - 1, 2**32, 2**32 + 1,
                                      1700000000, 4500000000, -2000000000])),
    'nsec': st.one_of(st.integers(0, 999999999),
                      st.sampled_from([0, 999999999, 999999900, 500000000])),
    'magic': st.sampled_from(['own', 'own', 'own', 'other', 'garbage']),
    'flags': st.sampled_from([0, 0, 1, 2, 3, 3, 4, 0x100]),
    'mtime': st.sampled_from(['py', 'py', 'floor', 'plus1']),
    'size': st.sampled_from(['ok', 'ok', 'plus1']),
    'hash': st.sampled_from(['ok', 'ok', 'wrong']),
    'length': st.sampled_from([None, None, None, 0, 3, 4, 8, 15]),
})


def source_hash(magic, path):
    out = subprocess.run([LIBCHECK, 'hash', str(magic), path],
                         capture_output=True, check=True).stdout
    return bytes.fromhex(out.decode().strip())


_BODIES = {}


def pyc_body(interp):
    """marshal.dumps of code saying ORIGIN = 'pyc', made by interp itself
    (code objects are marshalled differently by each version)."""
    if interp.exe not in _BODIES:
        _BODIES[interp.exe] = interp.run(
            "import marshal, sys; sys.stdout.buffer.write(marshal.dumps("
            "compile(\"ORIGIN = 'pyc'\\n\", 'm.py', 'exec')))")
    return _BODIES[interp.exe]


def build_case(interp, tmp, i, c, prefix):
    src = os.path.join(tmp, 'src', 'm%d.py' % i)
    body = b"ORIGIN = 'source'\nPAD = %r\n" % c['pad']
    with open(src, 'wb') as f:
        f.write(body)
    os.utime(src, ns=(0, c['sec'] * 10**9 + c['nsec']))
    st_ = os.stat(src)
    pyc = os.path.join(prefix, src.lstrip('/')[:-3] + '.%s.pyc' % interp.tag)
    magic = {'own': interp.magic, 'other': 3413 if interp.magic != 3413
             else 3571, 'garbage': 12345}[c['magic']]
    head = struct.pack('<HBB', magic, 13, 10) if c['magic'] != 'garbage' \
        else b'\x01\x02\x03\x04'
    head += struct.pack('<I', c['flags'])
    if c['flags'] & 1:
        h = source_hash(interp.magic, src)
        head += h if c['hash'] == 'ok' else bytes(8)
    else:
        mt = {'py': int(st_.st_mtime), 'floor': st_.st_mtime_ns // 10**9,
              'plus1': int(st_.st_mtime) + 1}[c['mtime']]
        size = st_.st_size + (1 if c['size'] == 'plus1' else 0)
        head += struct.pack('<II', mt & 0xFFFFFFFF, size & 0xFFFFFFFF)
    data = head + pyc_body(interp)
    if c['length'] is not None:
        data = data[:c['length']]
    os.makedirs(os.path.dirname(pyc), exist_ok=True)
    with open(pyc, 'wb') as f:
        f.write(data)
    return src, pyc


SETTINGS = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large,
                                           HealthCheck.too_slow])


@SETTINGS
@given(cases=st.lists(case, min_size=1, max_size=15),
       mode=st.sampled_from(['default', 'always', 'never']))
def test_verdicts_match_loader(interp, clean_env, tmp_path_factory, cases,
                               mode):
    tmp = str(tmp_path_factory.mktemp('fresh'))
    prefix = os.path.join(tmp, 'prefix')
    os.makedirs(os.path.join(tmp, 'src'))
    built = [build_case(interp, tmp, i, c, prefix)
             for i, c in enumerate(cases)]
    used = interp.run(LOADER, *[s for s, _ in built], flags=(
        '--check-hash-based-pycs', mode, '-X', 'pycache_prefix=' + prefix)
    ).decode().split()
    res = run_tool(['show', '--json', '--python', interp.exe, '--prefix',
                    prefix, '--check-hash-based-pycs', mode] +
                   [p for _, p in built], env=clean_env, check=0)
    verdicts = json.loads(res.stdout)
    for c, origin, v, (src, pyc) in zip(cases, used, verdicts, built):
        fresh = v['state'] in ('fresh', 'fresh-but-outdated')
        assert fresh == (origin == 'pyc'), (c, mode, v)
        if v['state'] == 'fresh-but-outdated':
            assert c['hash'] == 'wrong' and c['flags'] & 1
        assert v['source'] == src
