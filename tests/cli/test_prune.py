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
    """Without the store: prune's pycs here are the prefix's only files
    (tests/cli/test_store_lifecycle.py prunes the store)."""
    run_tool(['compile', '-q', '--python', it.exe, '--prefix', prefix,
              '--no-store', *extra, str(tree)], env, check=0)


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
        ['doctor'],
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


def test_max_size_keeps_what_python_used_not_what_we_read(clean_env,
                                                          tmp_path):
    """Python imports with one interpreter, status looks at another's
    pycs: the eviction must take the pycs Python did not use."""
    if not atime_updates_on_read(tmp_path) or len(INTERPRETERS) < 2:
        pytest.skip('needs atime updates on read and two interpreters')
    # used sorts first by path: a tie would evict it before the other.
    used, looked = sorted(INTERPRETERS[-2:], key=lambda i: i.tag)
    tree = tmp_path / 'tree'
    tree.mkdir()
    (tree / 'm.py').write_text('M = 1\n')
    prefix = str(tmp_path / 'p')
    for it in (used, looked):
        compile_tree(it, tree, prefix, clean_env)
    mirror = mirror_of(prefix, tree)
    pyc = {it: os.path.join(mirror, 'm.%s.pyc' % it.tag)
           for it in (used, looked)}
    old = int(time.time()) - 40 * DAY
    for p in pyc.values():
        os.utime(p, (old, old))
    subprocess.run([used.exe, '-B', '-X', 'pycache_prefix=' + prefix, '-c',
                    'import m'], cwd=str(tree), env={}, check=True)
    assert os.stat(pyc[used]).st_atime > old
    run_tool(['status', '--python', looked.exe, '--prefix', prefix,
              str(tree)], clean_env, check=0)
    out = prune(prefix, clean_env, '--max-size',
                str(os.path.getsize(pyc[used])))
    assert removed(out) == [pyc[looked]]
    assert os.path.exists(pyc[used])


def test_migrate_freshness_read_is_not_use(clean_env, tmp_path):
    if not atime_updates_on_read(tmp_path):
        pytest.skip('this file system does not update atimes on read')
    it = INTERPRETERS[-1]
    tree = tmp_path / 'tree'
    tree.mkdir()
    (tree / 'm.py').write_text('M = 1\n')
    subprocess.run([it.exe, '-m', 'compileall', '-q', str(tree)], env={},
                   check=True)
    in_tree = tree / '__pycache__' / ('m.%s.pyc' % it.tag)
    old = int(time.time()) - 40 * DAY
    os.utime(in_tree, (old, old))
    prefix = str(tmp_path / 'p')
    run_tool(['migrate', '--prefix', prefix, str(tree)], clean_env, check=0)
    moved = os.path.join(mirror_of(prefix, tree), 'm.%s.pyc' % it.tag)
    assert int(os.stat(moved).st_atime) == old


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


def lru_tree(tmp_path, it, env):
    """Pycs in several directories, all used in the same second."""
    tree = tmp_path / 'tree'
    for d in ('a', 'a.b', 'c'):
        (tree / d).mkdir(parents=True)
        for n in ('x', 'y'):
            (tree / d / (n + '.py')).write_text(
                '%s = "%s"\nPAD = "%s"\n' % (n, d, 'p' * 400))
    prefix = str(tmp_path / 'p')
    compile_tree(it, tree, prefix, env)
    pycs = sorted(os.path.join(d, f) for d, _, fs in os.walk(prefix)
                  for f in fs if f.endswith('.pyc'))
    assert len(pycs) == 6
    t = int(time.time()) - 100
    for p in pycs:
        os.utime(p, ns=(t * 10**9, t * 10**9))
    return tree, prefix, pycs


def test_max_size_ties_and_dry_run_lists_what_the_run_removes(clean_env,
                                                               tmp_path):
    it = INTERPRETERS[-1]
    tree, prefix, pycs = lru_tree(tmp_path, it, clean_env)
    # Equal times: the path in byte order decides, so 'a.b/' goes
    # before 'a/' ('.' sorts before '/'), whatever the walk's order.
    keep = pycs[-3:]
    size = sum(os.path.getsize(p) for p in keep)
    dry = prune(prefix, clean_env, '-n', '--max-size', str(size))
    assert set(tree_files(prefix)) and all(os.path.exists(p) for p in pycs)
    real = prune(prefix, clean_env, '--max-size', str(size))
    assert removed(dry) == removed(real)
    files = [e['path'] for e in real['events']
             if e['why'] != 'emptied directory']
    assert files == pycs[:3]
    assert [p for p in pycs if os.path.exists(p)] == keep
    # The directory eviction emptied is gone, and was listed by -n.
    emptied = os.path.dirname(pycs[0])
    assert os.path.basename(emptied) == 'a.b'
    assert not os.path.exists(emptied)
    assert emptied in removed(dry)
    assert real['dirs'] == dry['dirs'] == 1


def test_dry_run_lists_emptied_directories(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    tree = make_tree(tmp_path)
    prefix = str(tmp_path / 'p')
    compile_tree(it, tree, prefix, clean_env)
    shutil.rmtree(tree / 'sub')
    dry = prune(prefix, clean_env, '-n')
    real = prune(prefix, clean_env)
    sub = os.path.join(mirror_of(prefix, tree), 'sub')
    assert removed(dry) == removed(real)
    assert sub in removed(dry) and not os.path.exists(sub)
    assert dry['dirs'] == real['dirs'] == 1


def test_max_size_zero_empties_the_prefix_and_its_directories(clean_env,
                                                              tmp_path):
    it = INTERPRETERS[-1]
    tree, prefix, pycs = lru_tree(tmp_path, it, clean_env)
    dry = prune(prefix, clean_env, '-n', '--max-size', '0')
    real = prune(prefix, clean_env, '--max-size', '0')
    assert removed(dry) == removed(real)
    assert real['files'] == 6
    assert os.listdir(prefix) == ['CACHEDIR.TAG']


# ---- item 2: sizes and ages ----

@pytest.mark.parametrize('args', [
    ['--older-than', '106751991167302d'],
    ['--older-than', '9223372036854775808s'],
    ['--older-than', '99999999999999w'],
    ['--max-size', '18014398509481985K'],
    ['--max-size', '16E'],
    ['--max-size', '18446744073709551616'],
    ['--max-size', '99999999999999999999999'],
    ['--max-size', '-1'],
    ['--max-size', '1.5'],
    ['--max-size', '1.5.5G'],
    ['--max-size', '1iB'],
    ['--older-than', '-1d'],
    ['--older-than', '30x'],
])
def test_out_of_range_sizes_and_ages_are_refused(clean_env, tmp_path, args):
    it = INTERPRETERS[-1]
    tree = make_tree(tmp_path)
    prefix = str(tmp_path / 'p')
    compile_tree(it, tree, prefix, clean_env)
    before = tree_files(prefix)
    res = run_tool(['prune', '--prefix', prefix, *args], clean_env,
                   check=2)
    assert args[0].encode() in res.stderr
    assert tree_files(prefix) == before


def test_size_units_and_fractions(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    tree, prefix, pycs = lru_tree(tmp_path, it, clean_env)
    for size in ('1.5G', '0.5K', '2KiB', '1MB', '15E', '3'):
        res = run_tool(['prune', '-n', '--prefix', prefix, '--max-size',
                        size], clean_env)
        assert res.returncode == 0, (size, res.stderr)
    # 1.5K is 1536 bytes: what stays must fit in it.
    total = sum(os.path.getsize(p) for p in pycs)
    each = max(os.path.getsize(p) for p in pycs)
    assert total > 1536 > each
    prune(prefix, clean_env, '--max-size', '1.5K')
    left = sum(os.path.getsize(p) for p in pycs if os.path.exists(p))
    assert 0 < left <= 1536
    res = run_tool(['prune', '--help'], clean_env, check=0)
    for unit in (b'K', b'M', b'G', b'T', b'KiB', b'1.5G'):
        assert unit in res.stdout


# ---- item 3: a prefix that is no cache ----

def test_prefix_root_is_refused(clean_env, tmp_path):
    # Dry runs only: should the guard ever break, a real run here would
    # remove every pyc on the machine.
    for cmd in (['prune', '-n'], ['prune', '-n', '--max-size', '0'],
                ['migrate', '-n', str(tmp_path)]):
        res = run_tool(['--prefix', '/', *cmd], clean_env, check=2)
        assert (b"'/'" in res.stderr or
                b'the prefix is / (from --prefix)' in res.stderr), cmd
        assert res.stdout.strip() in (b'', b'{"events": []}'), cmd
    res = run_tool(['clean', '-n', '/'], clean_env, check=2)
    assert b"'/'" in res.stderr


@pytest.mark.parametrize('intruder', ['source', 'pycache'])
def test_prefix_holding_sources_is_refused(clean_env, tmp_path, intruder):
    it = INTERPRETERS[-1]
    tree = make_tree(tmp_path)
    prefix = str(tmp_path / 'p')
    compile_tree(it, tree, prefix, clean_env)
    (tree / 'a.py').unlink()  # an orphan prune would remove
    deep = os.path.join(mirror_of(prefix, tree), 'sub')
    if intruder == 'source':
        bad = os.path.join(deep, 'zz_module.py')
        open(bad, 'w').write('x = 1\n')
    else:
        bad = os.path.join(deep, '__pycache__')
        os.mkdir(bad)
    before = tree_files(prefix)
    for args in (['prune', '-n'], ['prune'], ['prune', str(tree)],
                 ['migrate', str(tmp_path / 'elsewhere')]):
        (tmp_path / 'elsewhere').mkdir(exist_ok=True)
        res = run_tool(['--prefix', prefix, *args], clean_env, check=2)
        assert bad.encode() in res.stderr, (args, res.stderr)
        assert b'--prefix' in res.stderr
        assert tree_files(prefix) == before, args


def test_only_real_cache_tags_are_artifacts(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    tree = make_tree(tmp_path)
    prefix = str(tmp_path / 'p')
    compile_tree(it, tree, prefix, clean_env)
    mirror = mirror_of(prefix, tree)
    # Orphans all of them (no such sources), but only some carry the tag
    # of a real implementation.
    real = ['gone.pypy39.pyc', 'gone.pypy310.pyc', 'gone.graalpy231-310.pyc',
            'gone.cpython-313.pyc', 'gone.cpython-39.opt-1.pyc']
    fake = ['__phello__.foo.pyc', 'gone.foo.pyc', 'gone.cpython.pyc',
            'gone.pypy.pyc', 'gone.cpython-3x.pyc', 'gone.python-312.pyc']
    for n in real + fake:
        with open(os.path.join(mirror, n), 'wb') as f:
            f.write(b'\0' * 16)
    res = run_tool(['status', '--json', '--python', it.exe, '--prefix',
                    prefix, str(tree)], clean_env, check=0)
    orphans = {os.path.basename(f['cache'])
               for f in json.loads(res.stdout)['files']
               if f['state'] == 'orphan'}
    assert orphans == set(real)
    out = prune(prefix, clean_env)
    assert {os.path.basename(p) for p in removed(out)} == set(real)
    for n in fake:
        assert os.path.exists(os.path.join(mirror, n)), n


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


# ---- item 5: --tags ----

def plant(mirror, name):
    path = os.path.join(mirror, name)
    with open(path, 'wb') as f:
        f.write(b'\0' * 16)
    return path


def test_tags_without_list_removes_every_uninstalled_tag(clean_env,
                                                          tmp_path):
    it = INTERPRETERS[-1]
    tree = make_tree(tmp_path)
    prefix = str(tmp_path / 'p')
    compile_tree(it, tree, prefix, clean_env)
    mirror = mirror_of(prefix, tree)
    # Sources exist: only --tags may remove these.
    dead = [plant(mirror, 'a.pypy39.pyc'), plant(mirror, 'b.graalpy-38.pyc'),
            plant(mirror, 'c.cpython-399.pyc')]
    live = os.path.join(mirror, 'a.%s.pyc' % it.tag)
    out = prune(prefix, clean_env)
    assert out['files'] == 0
    out = prune(prefix, clean_env, '--tags')
    assert sorted(removed(out)) == sorted(dead)
    assert {e['why'] for e in out['events']} == {
        'its interpreter is not installed'}
    assert os.path.exists(live)


def test_listed_tags_are_removed_installed_or_not(clean_env, tmp_path):
    it, old = INTERPRETERS[-1], INTERPRETERS[0]
    tree = make_tree(tmp_path)
    prefix = str(tmp_path / 'p')
    compile_tree(it, tree, prefix, clean_env)
    compile_tree(old, tree, prefix, clean_env)
    out = prune(prefix, clean_env, '--tags=%s,pypy39' % old.tag)
    assert out['files'] == 4
    assert {e['why'] for e in out['events']} == {'its tag was listed'}
    assert all(old.tag in p for p in removed(out))


def test_tags_with_a_space_is_not_a_path(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    tree = make_tree(tmp_path)
    prefix = str(tmp_path / 'p')
    compile_tree(it, tree, prefix, clean_env)
    before = tree_files(prefix)
    res = run_tool(['prune', '--prefix', prefix, '--tags', it.tag],
                   clean_env, cwd=str(tmp_path), check=2)
    assert b'--tags=' in res.stderr
    assert tree_files(prefix) == before


def test_uninstalled_release_tag_is_not_judged_stale(clean_env, tmp_path):
    """No interpreter here to ask: only --tags removes such pycs."""
    it = INTERPRETERS[-1]
    tree = make_tree(tmp_path)
    prefix = str(tmp_path / 'p')
    compile_tree(it, tree, prefix, clean_env)
    mirror = mirror_of(prefix, tree)
    # A 3.14 pyc (magic 3627) whose recorded mtime is not the source's.
    head = (3627).to_bytes(2, 'little') + b'\r\n' + b'\0' * 4 + \
        (12345).to_bytes(4, 'little') + (7).to_bytes(4, 'little')
    path = os.path.join(mirror, 'a.cpython-314.pyc')
    if any(i.tag == 'cpython-314' for i in INTERPRETERS):
        pytest.skip('3.14 is installed here')
    with open(path, 'wb') as f:
        f.write(head + b'\xe3')
    out = prune(prefix, clean_env)
    assert path not in removed(out) and os.path.exists(path)


# ---- item 6: a PATH that does not exist ----

def test_prune_missing_path(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    tree = make_tree(tmp_path)
    prefix = str(tmp_path / 'p')
    compile_tree(it, tree, prefix, clean_env)
    (tree / 'a.py').unlink()
    before = tree_files(prefix)
    res = run_tool(['prune', '--prefix', prefix, str(tree),
                    str(tmp_path / 'nosuch')], clean_env, check=2)
    assert b'nosuch' in res.stderr
    assert b'No such file or directory' in res.stderr
    assert tree_files(prefix) == before


def test_max_size_with_no_pyc_left(tmp_path, clean_env):
    """--max-size when nothing is kept (every pyc an orphan, or an empty
    prefix): the eviction sorted a NULL array (UBSan, in the sanitizer
    run: 'null pointer passed as argument 1')."""
    it = INTERPRETERS[-1]
    tree = make_tree(tmp_path)
    prefix = str(tmp_path / 'p')
    compile_tree(it, tree, prefix, clean_env)
    shutil.rmtree(str(tree))
    res = run_tool(['prune', '--json', '--prefix', prefix, '--max-size',
                    '0'], clean_env, check=0)
    assert json.loads(res.stdout)['files'] == 4
    assert res.stderr == b''
    empty = tmp_path / 'empty'
    empty.mkdir()
    res = run_tool(['prune', '--json', '--prefix', str(empty),
                    '--max-size', '0'], clean_env, check=0)
    assert json.loads(res.stdout)['files'] == 0
    assert res.stderr == b''
