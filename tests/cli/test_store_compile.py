"""compile and the shared bytecode store: what is served, linked, copied,
refused (the oracle side, every interpreter and mode, is
tests/conformance/test_store.py; faults are tests/torture's)."""
import json
import os
import shutil
import stat

from conftest import INTERPRETERS, STORE_DIR, run_tool

IT = INTERPRETERS[-1]


def make_tree(root, files=None):
    files = files or {'a.py': 'x = 1\n', 'b.py': 'x = 1\n',
                      'pkg/__init__.py': '', 'pkg/c.py': 'def f():\n    return 2\n'}
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def compile_json(prefix, tree, env, *extra, check=0):
    res = run_tool(['compile', '--json', '--python', IT.exe, '--prefix',
                    str(prefix), *extra, str(tree)], env, check=check)
    return json.loads(res.stdout), res


def pyc(prefix, src):
    src = str(src)
    d, name = os.path.split(src)
    return os.path.join(str(prefix) + d, name[:-3] + '.%s.pyc' % IT.tag)


def objects(prefix):
    store = os.path.join(str(prefix), STORE_DIR)
    return sorted(os.path.join(d, f) for d, _, fs in os.walk(store)
                  for f in fs if f.endswith(('.c', '.u')) or '.t' in f)


def test_a_second_tree_comes_from_the_store(tmp_path, clean_env):
    one = make_tree(tmp_path / 'one')
    two = make_tree(tmp_path / 'two')
    prefix = tmp_path / 'pfx'
    doc, _ = compile_json(prefix, one, clean_env)
    # b.py has a.py's bytes: compiled once, the other from the store
    assert (doc['compiled'], doc['from_store']) == (4, 1)
    doc, _ = compile_json(prefix, two, clean_env)
    assert (doc['compiled'], doc['from_store'], doc['linked']) == (4, 4, 0)
    assert doc['store'] == str(prefix / STORE_DIR)
    # timestamp pycs of sources with one link each: copies, with the
    # header of their own source
    for rel in ('a.py', 'pkg/c.py'):
        p = pyc(prefix, two / rel)
        assert os.stat(p).st_nlink == 1
        st = os.stat(two / rel)
        head = open(p, 'rb').read(16)
        assert int.from_bytes(head[8:12], 'little') == int(st.st_mtime)
        assert int.from_bytes(head[12:16], 'little') == st.st_size


def test_checked_hash_pycs_of_equal_bytes_are_one_file(tmp_path, clean_env):
    one = make_tree(tmp_path / 'one')
    two = make_tree(tmp_path / 'two')
    prefix = tmp_path / 'pfx'
    mode = ['--invalidation-mode', 'checked-hash']
    compile_json(prefix, one, clean_env, *mode)
    doc, _ = compile_json(prefix, two, clean_env, *mode)
    assert (doc['from_store'], doc['linked']) == (4, 4)
    inodes = {os.stat(pyc(prefix, t / r)).st_ino
              for t in (one, two) for r in ('a.py', 'b.py')}
    # a.py and b.py hold the same bytes: one object, four names
    assert len(inodes) == 1
    assert os.stat(pyc(prefix, one / 'a.py')).st_nlink == 5


def test_a_private_source_gets_a_private_copy(tmp_path, clean_env):
    one = make_tree(tmp_path / 'one')
    two = make_tree(tmp_path / 'two')
    os.chmod(two / 'a.py', 0o600)
    prefix = tmp_path / 'pfx'
    mode = ['--invalidation-mode', 'checked-hash']
    compile_json(prefix, one, clean_env, *mode)
    doc, _ = compile_json(prefix, two, clean_env, *mode)
    assert (doc['from_store'], doc['linked']) == (4, 3)
    st = os.stat(pyc(prefix, two / 'a.py'))
    assert st.st_nlink == 1
    assert stat.S_IMODE(st.st_mode) == 0o600 & ~current_umask()


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_force_compiles_and_links_nothing(tmp_path, clean_env):
    one = make_tree(tmp_path / 'one')
    prefix = tmp_path / 'pfx'
    mode = ['--invalidation-mode', 'checked-hash']
    compile_json(prefix, one, clean_env, *mode)
    doc, _ = compile_json(prefix, one, clean_env, '-f', *mode)
    assert (doc['compiled'], doc['from_store'], doc['linked']) == (4, 0, 0)
    assert os.stat(pyc(prefix, one / 'a.py')).st_nlink == 1


def test_dry_run_says_what_comes_from_the_store(tmp_path, clean_env):
    one = make_tree(tmp_path / 'one')
    two = make_tree(tmp_path / 'two')
    prefix = tmp_path / 'pfx'
    compile_json(prefix, one, clean_env)
    before = objects(prefix)
    res = run_tool(['compile', '-n', '--python', IT.exe, '--prefix',
                    str(prefix), str(two)], clean_env, check=0)
    lines = res.stdout.decode().splitlines()
    assert len(lines) == 4 and all(l.endswith(' (from the store)')
                                   for l in lines), lines
    assert not os.path.exists(prefix / str(two).lstrip('/'))
    assert objects(prefix) == before
    # no store yet: nothing made, nothing from it
    res = run_tool(['compile', '-n', '--python', IT.exe, '--prefix',
                    str(tmp_path / 'new'), str(two)], clean_env, check=0)
    assert '(from the store)' not in res.stdout.decode()
    assert not (tmp_path / 'new').exists()


def test_no_store_and_store_dir(tmp_path, clean_env):
    one = make_tree(tmp_path / 'one')
    prefix = tmp_path / 'pfx'
    doc, _ = compile_json(prefix, one, clean_env, '--no-store')
    assert doc['store'] is None
    assert not (prefix / STORE_DIR).exists()
    other = tmp_path / 'elsewhere'
    shutil.rmtree(prefix)
    doc, _ = compile_json(prefix, one, clean_env, '--store', str(other))
    assert doc['store'] == str(other)
    assert not (prefix / STORE_DIR).exists()
    assert [f for _, _, fs in os.walk(other) for f in fs if f.endswith('.c')]
    res = run_tool(['compile', '--store', str(other), '--no-store',
                    str(one)], clean_env, check=2)
    assert b'--store and --no-store exclude each other' in res.stderr


def test_a_store_others_can_write_is_refused(tmp_path, clean_env):
    one = make_tree(tmp_path / 'one')
    prefix = tmp_path / 'pfx'
    compile_json(prefix, one, clean_env)
    os.chmod(prefix / STORE_DIR, 0o777)
    two = make_tree(tmp_path / 'two')
    res = run_tool(['compile', '--python', IT.exe, '--prefix', str(prefix),
                    str(two)], clean_env, check=2)
    err = res.stderr.decode()
    assert 'writable by others' in err and STORE_DIR in err, err
    assert not os.path.exists(str(prefix) + str(two))


def test_a_pyc_damaged_in_place_stays_found_after_its_object_goes(
        tmp_path, clean_env):
    """A linked pyc rewritten in place damages its object: the next run
    that reads the object discards it and says that pycs share it;
    doctor still names the damaged pycs afterwards (they keep the
    digest attribute, now alone)."""
    one = make_tree(tmp_path / 'one')
    prefix = tmp_path / 'pfx'
    mode = ['--invalidation-mode', 'checked-hash']
    compile_json(prefix, one, clean_env, *mode)
    p = pyc(prefix, one / 'pkg' / 'c.py')
    with open(p, 'r+b') as f:
        f.seek(20)
        f.write(b'\xff')
    three = make_tree(tmp_path / 'three')
    doc, res = compile_json(prefix, three, clean_env, *mode)
    assert doc['store_bad'] == 1, res.stderr
    assert b'1 pyc shares its bytes' in res.stderr, res.stderr
    res = run_tool(['doctor', '--json', '--python', IT.exe, '--prefix',
                    str(prefix)], clean_env, check=1)
    text = res.stdout.decode()
    assert p in text, text


def test_a_store_below_a_directory_others_can_write_is_refused(
        tmp_path, clean_env):
    """--store DIR is trusted as a prefix is: the directories above it
    too, before anything is made there."""
    one = make_tree(tmp_path / 'one')
    open_dir = tmp_path / 'open'
    open_dir.mkdir()
    os.chmod(open_dir, 0o777)
    res = run_tool(['compile', '--python', IT.exe, '--prefix',
                    str(tmp_path / 'pfx'), '--store', str(open_dir / 'st'),
                    str(one)], clean_env, check=2)
    assert b'a directory above the store' in res.stderr, res.stderr
    assert os.listdir(open_dir) == []


def test_a_symlink_or_a_file_for_the_store_is_named(tmp_path, clean_env):
    one = make_tree(tmp_path / 'one')
    prefix = tmp_path / 'pfx'
    prefix.mkdir()
    real = tmp_path / 'real'
    real.mkdir(mode=0o700)
    (prefix / STORE_DIR).symlink_to(real)
    res = run_tool(['compile', '--python', IT.exe, '--prefix', str(prefix),
                    str(one)], clean_env, check=2)
    assert b'is a symlink, not a directory: remove it' in res.stderr
    assert os.listdir(real) == []
    (prefix / STORE_DIR).unlink()
    (prefix / STORE_DIR).write_text('')
    res = run_tool(['compile', '--python', IT.exe, '--prefix', str(prefix),
                    str(one)], clean_env, check=2)
    assert b'is a file, not a directory: remove it' in res.stderr


def test_prune_leaves_a_store_compile_refuses_alone(tmp_path, clean_env):
    one = make_tree(tmp_path / 'one')
    prefix = tmp_path / 'pfx'
    compile_json(prefix, one, clean_env)
    shutil.rmtree(one)
    before = objects(prefix)
    assert before
    os.chmod(prefix / STORE_DIR, 0o777)
    res = run_tool(['prune', '--store-age', '0', '--prefix', str(prefix)],
                   clean_env, check=1)
    assert b'as compile refuses it: left alone' in res.stderr, res.stderr
    assert objects(prefix) == before


def test_sources_of_one_run_with_equal_bytes_are_compiled_once(
        tmp_path, clean_env):
    """A tree given twice at two paths, or equal files in one tree: one
    of each is compiled, its twins are written from the store (a twin of
    a source that does not compile fails on its own, named)."""
    files = {'a.py': 'x = 1\n', 'pkg/c.py': 'def f():\n    return 2\n',
             'bad.py': 'def (:\n'}
    one = make_tree(tmp_path / 'one', files)
    two = make_tree(tmp_path / 'two', files)
    prefix = tmp_path / 'pfx'
    res = run_tool(['compile', '--json', '-j', '2', '--python', IT.exe,
                    '--prefix', str(prefix), str(one), str(two)], clean_env,
                   check=1)
    doc = json.loads(res.stdout)
    assert (doc['compiled'], doc['from_store'], doc['failed']) == (4, 2, 2)
    failed = sorted(f['source'] for f in doc['failures'])
    assert failed == sorted([str(one / 'bad.py'), str(two / 'bad.py')])
    for t in (one, two):
        for rel in ('a.py', 'pkg/c.py'):
            assert os.path.exists(pyc(prefix, t / rel))


def test_max_size_evicts_a_file_with_all_its_names(tmp_path, clean_env):
    """--max-size with pycs linked to store objects: a file's names go
    together (removing one frees nothing), so pycs Python can use stay
    within the size, never an object alone (a new-user trial found every
    pyc gone and the unlinked objects kept)."""
    one = make_tree(tmp_path / 'one', {'m%d.py' % i: 'x = %d\n' % i * 50
                                       for i in range(20)})
    two = tmp_path / 'two'
    shutil.copytree(one, two)
    prefix = tmp_path / 'pfx'
    mode = ['--invalidation-mode', 'checked-hash']
    compile_json(prefix, one, clean_env, *mode)
    compile_json(prefix, two, clean_env, *mode)
    size = os.path.getsize(pyc(prefix, one / 'm0.py'))
    run_tool(['prune', '-q', '--max-size', str(size * 10), '--prefix',
              str(prefix)], clean_env, check=0)
    left = [p for t in (one, two) for p in
            (pyc(prefix, t / ('m%d.py' % i)) for i in range(20))
            if os.path.exists(p)]
    assert len(left) >= 16, left          # 8 files or more, two names each
    assert all(os.stat(p).st_nlink == 3 for p in left)
    assert len(objects(prefix)) == len(left) // 2
