"""Two compile runs of the same sources write the same bytes.

A worker's marshalled code depended on the run: workers ran with -I,
which ignores PYTHONHASHSEED, so set and frozenset constants came out in
a random order (3.8 to 3.10 here), and the code object of one job stayed
alive while the next job compiled, which changed marshal's FLAG_REF
marks.  Packagers need byte-identical pycs from two builds.
"""
import os
import re
import shutil
import subprocess

from conftest import run_tool

# Stdlib packages that hold set constants (`x in {...}`) and share many
# names across modules: the two causes above show in them.
PACKAGES = ('email', 'asyncio', 'json', 'concurrent', 'xml', 'logging')


def stdlib_dir(interp):
    return os.path.join(os.path.dirname(os.path.dirname(interp.exe)), 'lib',
                        'python%d.%d' % interp.version[:2])


def copy_tree(interp, dest):
    lib = stdlib_dir(interp)
    for name in PACKAGES:
        shutil.copytree(os.path.join(lib, name), str(dest / name),
                        ignore=shutil.ignore_patterns('__pycache__'))


def pycs(prefix):
    out = {}
    for d, _, files in os.walk(str(prefix)):
        for f in files:
            if f.endswith('.pyc'):
                p = os.path.join(d, f)
                with open(p, 'rb') as h:
                    out[os.path.relpath(p, str(prefix))] = h.read()
    return out


def test_two_runs_write_the_same_bytes(interp, tmp_path, clean_env):
    tree = tmp_path / 'tree'
    copy_tree(interp, tree)
    env = dict(clean_env)
    env.pop('PYTHONHASHSEED', None)
    env['SOURCE_DATE_EPOCH'] = '1700000000'   # checked-hash headers
    one, two = tmp_path / 'p1', tmp_path / 'p2'
    # Two workers, then one, with the roots in another order: each job
    # meets other jobs before it.
    run_tool(['--prefix', str(one), 'compile', '-q', '-j2', '--python',
              interp.exe, str(tree)], env, check=0)
    run_tool(['--prefix', str(two), 'compile', '-q', '-j1', '--python',
              interp.exe, str(tree / 'logging'), str(tree)], env, check=0)
    a, b = pycs(one), pycs(two)
    assert len(a) > 80 and a.keys() == b.keys()
    differ = sorted(k for k in a if a[k] != b[k])
    assert differ == []


KEYS = re.compile(rb'k(\d+)')


def set_order(data):
    """The order of the set constant's members in marshalled bytes."""
    return [int(m) for m in KEYS.findall(data)]


def test_the_users_hash_seed_is_kept(interp, tmp_path, clean_env):
    """PYTHONHASHSEED set by the user reaches the workers (py_compile
    honours it too): a set constant is marshalled in the order that seed
    gives it in the interpreter itself."""
    src = tmp_path / 'tree' / 'm.py'
    src.parent.mkdir()
    names = ', '.join("'k%d'" % i for i in range(40))
    src.write_text('def f(x):\n    return x in {%s}\n' % names)
    got = {}
    for seed in ('0', '1'):
        env = dict(clean_env, PYTHONHASHSEED=seed)
        prefix = tmp_path / ('p' + seed)
        run_tool(['--prefix', str(prefix), 'compile', '-q', '--python',
                  interp.exe, str(src.parent)], env, check=0)
        (data,) = pycs(prefix).values()
        got[seed] = set_order(data[16:])
        # Not interp.run(): its -E would ignore PYTHONHASHSEED.
        want = subprocess.run(
            [interp.exe, '-s', '-S', '-B', '-c',
             'import marshal, sys\n'
             'src = open(sys.argv[1], "rb").read()\n'
             'code = compile(src, sys.argv[1], "exec", dont_inherit=True)\n'
             'sys.stdout.buffer.write(marshal.dumps(code))\n', str(src)],
            env=env, capture_output=True, check=True).stdout
        assert sorted(got[seed]) == list(range(40))
        assert got[seed] == set_order(want), seed
    # From 3.11 marshal writes a frozenset's members sorted, whatever the
    # seed; before, in the seed's hash order.
    assert (got['0'] != got['1']) == (interp.version < (3, 11))


def test_workers_ignore_pythonpath_and_the_current_directory(
        interp, tmp_path, clean_env):
    """Without -I, a worker must still import nothing from PYTHONPATH or
    the directory compile runs in (a checkout's own warnings.py), and the
    probe neither; PYTHONWARNINGS and PYTHONOPTIMIZE change nothing."""
    trap = tmp_path / 'trap'
    trap.mkdir()
    marker = tmp_path / 'imported'
    for name in ('warnings', 'marshal', 'signal', 'os', 'unicodedata',
                 'contextlib', 'py_compile', 'traceback'):
        (trap / (name + '.py')).write_text(
            'open(%r, "a").write(%r)\n' % (str(marker), name + ' '))
    tree = tmp_path / 'tree'
    tree.mkdir()
    (tree / 'a.py').write_text('assert x, "y"\nz = 1 is 1\n')
    env = dict(clean_env, PYTHONPATH=str(trap), PYTHONWARNINGS='error',
               PYTHONOPTIMIZE='2')
    prefix = tmp_path / 'p'
    res = run_tool(['--prefix', str(prefix), 'compile', '-v', '--python',
                    interp.exe, str(tree)], env, cwd=str(trap), check=0)
    assert not marker.exists(), marker.read_text()
    assert b'SyntaxWarning' in res.stdout + res.stderr
    (pyc,) = pycs(prefix)
    # The level-0 code, assert kept (PYTHONOPTIMIZE would have dropped it).
    interp.run(
        'import marshal, sys\n'
        'data = open(sys.argv[1], "rb").read()\n'
        'src = open(sys.argv[2], "rb").read()\n'
        'want = compile(src, sys.argv[2], "exec", dont_inherit=True, '
        'optimize=0)\n'
        'assert marshal.loads(data[16:]) == want\n',
        os.path.join(str(prefix), pyc), str(tree / 'a.py'),
        env=dict(clean_env), flags=('-W', 'ignore'))
