"""prune (and the guards clean and migrate share with it) on real trees:
what counts as use, the arguments, prefixes that are no cache, orphans,
--tags and PATHs.  Each test here failed before the fix it guards."""
import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import BINARY, INTERPRETERS, run_tool

DAY = 86400


def compile_tree(it, tree, prefix, env, *extra):
    run_tool(['compile', '-q', '--python', it.exe, '--prefix', prefix,
              *extra, str(tree)], env, check=0)


def make_tree(tmp_path, names=('a', 'b', 'c')):
    tree = tmp_path / 'tree'
    (tree / 'sub').mkdir(parents=True)
    for n in names:
        (tree / (n + '.py')).write_text('%s = 1\n' % n)
    (tree / 'sub' / 's.py').write_text('s = 1\n')
    return tree


def mirror_of(prefix, path):
    return os.path.join(prefix, str(path).lstrip('/'))


def prune(prefix, env, *args, check=0):
    res = run_tool(['prune', '--json', '--prefix', prefix, *args], env,
                   check=check)
    return json.loads(res.stdout) if check == 0 else res


def removed(out):
    return [e['path'] for e in out['events']]


def tree_files(root):
    out = set()
    for d, dirs, files in os.walk(root):
        for f in files + dirs:
            out.add(os.path.relpath(os.path.join(d, f), root))
    return out


# ---- item 1: our own reads are not use ----

def atime_updates_on_read(tmp_path):
    """Does a plain read of a file with an old atime update it here?
    (relatime does: the atime is older than a day.)"""
    probe = tmp_path / 'probe'
    probe.write_bytes(b'x' * 32)
    old = time.time() - 40 * DAY
    os.utime(probe, (old, old))
    with open(probe, 'rb') as f:
        f.read()
    return os.stat(probe).st_atime_ns != int(old * 1e9) and \
        abs(os.stat(probe).st_atime - old) > 1


def test_own_reads_do_not_count_as_use(clean_env, tmp_path):
    if not atime_updates_on_read(tmp_path):
        pytest.skip('this file system does not update atimes on read')
    it = INTERPRETERS[-1]
    tree = make_tree(tmp_path)
    prefix = str(tmp_path / 'p')
    compile_tree(it, tree, prefix, clean_env)
    old_pyc = os.path.join(mirror_of(prefix, tree), 'a.%s.pyc' % it.tag)
    assert os.path.exists(old_pyc)
    old = time.time() - 40 * DAY
    os.utime(old_pyc, (old, old))
    before = os.stat(old_pyc).st_atime_ns
    reads = [
        ['status', '--python', it.exe, str(tree)],
        ['compile', '--python', it.exe, str(tree)],
        ['compile', '-n', '--python', it.exe, str(tree)],
        ['show', old_pyc],
        ['prune', '-n'],
        ['prune', '-n', '--older-than', '30d'],
        ['prune', '-n', '--max-size', '1G'],
        ['du'],
    ]
    for args in reads:
        res = run_tool(['--prefix', prefix, *args], clean_env)
        assert res.returncode in (0, 1), (args, res.stderr)
        assert os.stat(old_pyc).st_atime_ns == before, args
    dry = prune(prefix, clean_env, '-n', '--older-than', '30d')
    assert removed(dry) == [old_pyc]
    real = prune(prefix, clean_env, '--older-than', '30d')
    assert removed(real) == [old_pyc]
    assert not os.path.exists(old_pyc)
    assert os.path.exists(os.path.join(mirror_of(prefix, tree),
                                       'b.%s.pyc' % it.tag))


def test_noatime_refused_falls_back_to_a_plain_read(clean_env, tmp_path):
    """Without CAP_FOWNER, O_NOATIME on another user's file is EPERM: the
    read must still happen (and the pyc be judged), only counted as use."""
    it = INTERPRETERS[-1]
    tree = make_tree(tmp_path)
    prefix = str(tmp_path / 'p')
    compile_tree(it, tree, prefix, clean_env)
    pyc = os.path.join(mirror_of(prefix, tree), 'a.%s.pyc' % it.tag)
    if os.geteuid() != 0 or not shutil.which('setpriv'):
        pytest.skip('needs root and setpriv to take CAP_FOWNER away')
    os.chown(pyc, 54321, 54321)
    drop = ['setpriv', '--bounding-set=-fowner', '--inh-caps=-fowner', '--']
    probe = subprocess.run(drop + [it.exe, '-c', 'import os,sys; os.open('
                                   'sys.argv[1], os.O_RDONLY|os.O_NOATIME)',
                                   pyc], capture_output=True)
    if probe.returncode == 0:
        pytest.skip('O_NOATIME was not refused here')
    res = subprocess.run(drop + [BINARY, 'status', '--json', '--python',
                                 it.exe, '--prefix', prefix, str(tree)],
                         capture_output=True, env=clean_env)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)['counts']['fresh'] == 4
    res = subprocess.run(drop + [BINARY, 'show', pyc], capture_output=True,
                         env=clean_env)
    assert res.returncode == 0, res.stderr


# ---- item 4: one orphan rule ----

def test_source_directory_replaced_by_a_file(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    tree = make_tree(tmp_path)
    prefix = str(tmp_path / 'p')
    compile_tree(it, tree, prefix, clean_env)
    shutil.rmtree(tree / 'sub')
    (tree / 'sub').write_text('now a file\n')
    res = run_tool(['status', '--json', '--python', it.exe, '--prefix',
                    prefix, str(tree)], clean_env, check=0)
    st = json.loads(res.stdout)
    orphans = [f['cache'] for f in st['files'] if f['state'] == 'orphan']
    out = prune(prefix, clean_env, '-n')
    files = [e['path'] for e in out['events']
             if e['why'] != 'emptied directory']
    assert st['counts']['orphan'] == 1
    assert orphans == files


def test_prune_root_path_is_the_whole_prefix(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    tree = make_tree(tmp_path)
    prefix = str(tmp_path / 'p')
    compile_tree(it, tree, prefix, clean_env)
    (tree / 'a.py').unlink()
    whole = prune(prefix, clean_env, '-n')
    root = prune(prefix, clean_env, '-n', '/')
    assert removed(root) == removed(whole) and len(removed(whole)) == 1
