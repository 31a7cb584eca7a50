"""Writing into the prefix at its edges: module names as long as CPython
caches, and a symlink planted inside the prefix."""
import json
import os
import subprocess
import time

from conftest import INTERPRETERS, run_tool

NAME_MAX = 255


def test_longest_module_names_compile(clean_env, tmp_path):
    """A module whose pyc name fits NAME_MAX is cached, as CPython caches
    it: the temporary name used on the way must not be longer."""
    tree = tmp_path / 'tree'
    tree.mkdir()
    # The pyc name is stem + '.cpython-3XX.pyc' (15 or 16 bytes): 246 at
    # most, so a temporary name of the pyc name plus 20 bytes was too long.
    stem = 'm' * 230
    (tree / (stem + '.py')).write_text('x = 1\n')
    prefix = tmp_path / 'p'
    for it in INTERPRETERS:
        res = run_tool(['compile', '--python', it.exe, '--prefix',
                        str(prefix), str(tree)], clean_env)
        assert res.returncode == 0, res.stderr
        name = '%s.%s.pyc' % (stem, it.tag)
        assert len(name) <= NAME_MAX
        pyc = prefix / str(tree).lstrip('/') / name
        assert pyc.is_file(), res.stderr
        # CPython caches it too (its own temp name fits), and finds ours
        # fresh: importing rewrites nothing.
        before = pyc.stat().st_mtime_ns, pyc.read_bytes()
        env = dict(clean_env)
        env.pop('PYTHONDONTWRITEBYTECODE')
        subprocess.run([it.exe, '-X', 'pycache_prefix=%s' % prefix, '-c',
                        'import ' + stem], env=env, cwd=str(tree),
                       check=True, timeout=60)
        assert (pyc.stat().st_mtime_ns, pyc.read_bytes()) == before
        out = json.loads(run_tool(['status', '--json', '--python', it.exe,
                                   '--prefix', str(prefix), str(tree)],
                                  clean_env, check=0).stdout)
        assert [f['state'] for f in out['files']] == ['fresh']


def test_prune_clears_stale_temp_files(clean_env, tmp_path):
    """prune recognises the temporary files a killed run leaves, in the
    short form written now and the long form of older versions."""
    it = INTERPRETERS[-1]
    tree = tmp_path / 'tree'
    tree.mkdir()
    (tree / 'a.py').write_text('x = 1\n')
    prefix = tmp_path / 'p'
    run_tool(['compile', '--python', it.exe, '--prefix', str(prefix),
              str(tree)], clean_env, check=0)
    mirror = prefix / str(tree).lstrip('/')
    pyc = mirror / ('a.%s.pyc' % it.tag)
    assert pyc.is_file()
    temps = [mirror / '.pycprefix-0123456789ab',
             mirror / ('.a.%s.pyc.pycprefix-0123abcd' % it.tag)]
    decoys = [mirror / '.pycprefix-0123456789', mirror / '.pycprefix-x']
    old = time.time() - 3600
    for p in temps + decoys:
        p.write_bytes(b'partial')
        os.utime(p, (old, old))
    res = run_tool(['prune', '--prefix', str(prefix)], clean_env, check=0)
    for p in temps:
        assert not p.exists(), (p, res.stdout, res.stderr)
    for p in decoys + [pyc]:
        assert p.exists(), p
