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


def test_symlink_in_the_prefix_is_named_once_and_explained(clean_env,
                                                           tmp_path):
    """A mirrored directory replaced by a symlink: compile refuses it in
    one line naming the symlink (not 'Not a directory' per file), and
    status says why those pycs are missing."""
    it = INTERPRETERS[-1]
    tree = tmp_path / 'tree'
    (tree / 'sub').mkdir(parents=True)
    for n in ('a.py', 'b.py', 'sub/c.py'):
        (tree / n).write_text('x = 1\n')
    prefix = tmp_path / 'p'
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    mirrored = prefix / str(tree).lstrip('/')
    mirrored.parent.mkdir(parents=True)
    mirrored.symlink_to(elsewhere)
    res = run_tool(['compile', '--python', it.exe, '--prefix', str(prefix),
                    str(tree)], clean_env, check=1)
    err = res.stderr.decode()
    assert 'Not a directory' not in err, err
    named = [ln for ln in err.splitlines() if "'%s'" % mirrored in ln]
    assert len(named) == 1 and 'symlink' in named[0], err
    assert len(err.splitlines()) == 2, err          # and the summary
    assert '3 failed' in err.splitlines()[-1], err
    assert list(elsewhere.iterdir()) == []
    # --json still lists every source that failed.
    out = json.loads(run_tool(['compile', '--json', '--python', it.exe,
                               '--prefix', str(prefix), str(tree)],
                              clean_env, check=1).stdout)
    assert len(out['failures']) == 3
    assert all('symlink' in f['message'] for f in out['failures'])
    out = json.loads(run_tool(['status', '--json', '--python', it.exe,
                               '--prefix', str(prefix), str(tree)],
                              clean_env).stdout)
    assert len(out['files']) == 3
    for f in out['files']:
        assert f['state'] == 'missing'
        assert 'symlink' in f['reason'] and str(mirrored) in f['reason'], f
    # A pyc that is simply not there yet says so, as before.
    mirrored.unlink()
    out = json.loads(run_tool(['status', '--json', '--python', it.exe,
                               '--prefix', str(prefix), str(tree)],
                              clean_env).stdout)
    assert {f['reason'] for f in out['files']} == {'no pyc'}


def test_symlinked_pycache_in_tree_is_named(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    tree = tmp_path / 'tree'
    tree.mkdir()
    (tree / 'a.py').write_text('x = 1\n')
    (tree / 'b.py').write_text('x = 2\n')
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    (tree / '__pycache__').symlink_to(elsewhere)
    res = run_tool(['compile', '--in-tree', '--python', it.exe, str(tree)],
                   clean_env, check=1)
    err = res.stderr.decode().splitlines()
    assert len(err) == 2, err
    assert ("the symlink '%s' was refused" % (tree / '__pycache__')
            in err[0]), err
    assert list(elsewhere.iterdir()) == []
