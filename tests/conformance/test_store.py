"""The shared bytecode store against each CPython (issue 14's "Done
means"): a tree compiled once fills the store; a copy of it at another
path (a plain copy with new mtimes, and a `cp -al` copy sharing the
sources' inodes) is compiled from the store without a worker, its pycs
hardlinked to the store's objects where their bytes are equal; and the
interpreter's own SourceFileLoader uses every such pyc as it is, with
the code compile() makes and the copy's paths in co_filename,
tracebacks, inspect and __file__."""
import json
import os
import subprocess

import pytest

from conftest import run_tool

from store_lib import (MODE_FORM, MODULES, TREE_A, check_store, code_check,
                       compile_json, copy_linked, copy_plain, default_store,
                       import_check, logging_python, make_tree, object_name,
                       object_path, prefix_store, pyc_path, sources, twins,
                       store_stats, worker_starts)

MODES = ['timestamp', 'checked-hash', 'unchecked-hash']
LEVELS = [(0,), (1,), (2,), (0, 1, 2)]


def level_args(levels):
    return [a for lv in levels for a in ('-O', str(lv))]


def env_for(clean_env, tmp_path):
    env = dict(clean_env, HOME=str(tmp_path / 'home'))
    env.pop('PYTHONPYCACHEPREFIX', None)
    return env


def expect_links(mode, copy):
    """Are the copy's pycs hardlinks to store objects (brief: hash pycs
    always; timestamp pycs only of sources with several links)?"""
    return mode != 'timestamp' or copy == 'linked'


def check_copy(it, exe, log, env, store, tree_b, copy, mode, levels,
               where_args, prefix=None):
    """Compile copy tree_b from the store and check it all."""
    srcs = sources(tree_b)
    st, err = compile_json(['--python', exe, *where_args, *level_args(levels),
                            '--invalidation-mode', mode, tree_b], env)
    n = len(srcs) * len(levels)
    from_store, linked, bad = store_stats(st)
    context = (repr(it), mode, levels, copy)
    assert (st['compiled'], st['fresh'], st['failed']) == (n, 0, 0), (
        context, st, err)
    assert from_store == n, (context, 'from_store', st)
    assert bad == 0, (context, st, err)
    assert worker_starts(log) == 0, (context, 'workers started for a copy '
                                     'the store holds')
    assert linked == (n if expect_links(mode, copy) else 0), (
        context, 'linked', st)
    for src in srcs:
        for level in levels:
            pyc = pyc_path(src, it.tag, level, prefix)
            pst = os.stat(pyc)
            if expect_links(mode, copy):
                form = 't' if mode == 'timestamp' else MODE_FORM[mode]
                obj = object_path(store, it, src, level, form)
                assert os.path.exists(obj), (context, src, level, obj)
                ost = os.stat(obj)
                assert (pst.st_dev, pst.st_ino) == (ost.st_dev, ost.st_ino), (
                    context, pyc, 'is not a hardlink to', obj)
                assert pst.st_nlink >= 2
            else:
                assert pst.st_nlink == 1, (context, pyc, pst.st_nlink)
    for level in levels:
        pycs = import_check(it, tree_b, level, mode, env, prefix=prefix,
                            context=context)
        assert sorted(pycs) == sorted(MODULES)
    check_store(store, [it])


@pytest.mark.parametrize('levels', LEVELS, ids=lambda v: 'O' + ''.join(
    map(str, v)))
@pytest.mark.parametrize('mode', MODES)
def test_copies_compiled_from_the_store(interp, clean_env, tmp_path, mode,
                                        levels):
    env = env_for(clean_env, tmp_path)
    exe, log = logging_python(tmp_path, interp)
    tree_a = tmp_path / 'a' / 'tree'
    n = len(make_tree(tree_a)) * len(levels)
    prefix = tmp_path / 'prefix'
    store = prefix_store(prefix)
    st, err = compile_json(['--python', exe, '--prefix', prefix,
                            *level_args(levels), '--invalidation-mode', mode,
                            tree_a], env)
    assert (st['compiled'], st['failed']) == (n, 0), (st, err)
    assert worker_starts(log) >= 1
    store_stats(st)
    objs = check_store(store, [interp])
    assert objs, 'the store holds no object after a run'
    for level in levels:
        import_check(interp, tree_a, level, mode, env, prefix=prefix)
    for copy, make in (('plain', copy_plain), ('linked', copy_linked)):
        tree_b = tmp_path / ('b-' + copy) / 'elsewhere' / 'tree'
        make(tree_a, tree_b)
        check_copy(interp, exe, log, env, store, tree_b, copy, mode, levels,
                   ['--prefix', prefix], prefix=prefix)
    # Nothing of the store's is outside the prefix.
    assert not os.path.exists(default_store(env['XDG_CACHE_HOME']))


@pytest.mark.parametrize('mode', MODES)
def test_in_tree_copies_use_the_cache_store(interp, clean_env, tmp_path,
                                            mode):
    env = env_for(clean_env, tmp_path)
    exe, log = logging_python(tmp_path, interp)
    levels = (0, 1, 2)
    tree_a = tmp_path / 'a' / 'tree'
    n = len(make_tree(tree_a)) * len(levels)
    store = default_store(env['XDG_CACHE_HOME'])
    st, err = compile_json(['--python', exe, '--in-tree',
                            *level_args(levels), '--invalidation-mode', mode,
                            tree_a], env)
    assert (st['compiled'], st['failed']) == (n, 0), (st, err)
    assert worker_starts(log) >= 1
    check_store(store, [interp])
    for copy, make in (('plain', copy_plain), ('linked', copy_linked)):
        tree_b = tmp_path / ('b-' + copy) / 'tree'
        make(tree_a, tree_b)
        check_copy(interp, exe, log, env, store, tree_b, copy, mode, levels,
                   ['--in-tree'])
    # No prefix was made or written (the default one is beside the
    # store).
    assert not os.path.exists(os.path.join(env['XDG_CACHE_HOME'],
                                           'pycprefix'))
    for p in (tmp_path / 'a', tmp_path / 'b-plain'):
        assert not list(p.rglob('.pycprefix-store'))


def test_no_store(interp, clean_env, tmp_path):
    """--no-store writes no store, and a copy is compiled by workers."""
    env = env_for(clean_env, tmp_path)
    exe, log = logging_python(tmp_path, interp)
    tree_a = tmp_path / 'a' / 'tree'
    n = len(make_tree(tree_a))
    prefix = tmp_path / 'prefix'
    for where in (['--prefix', prefix], ['--in-tree']):
        for tree in (tree_a, tmp_path / ('b%d' % len(where)) / 'tree'):
            if tree != tree_a:
                copy_plain(tree_a, tree)
            st, err = compile_json(['--python', exe, '--no-store', *where,
                                    '--invalidation-mode', 'checked-hash',
                                    tree], env)
            assert (st['compiled'], st['failed']) == (n, 0), (st, err)
            assert worker_starts(log) >= 1, (where, tree)
            assert store_stats(st)[:2] == (0, 0), st
    assert not os.path.exists(prefix_store(prefix))
    assert not os.path.exists(default_store(env['XDG_CACHE_HOME']))
    assert not os.path.exists(os.path.join(env['XDG_CACHE_HOME'],
                                           'pycprefix'))
    # And with the store, the same copy comes from it: the test can fail.
    tree_c = tmp_path / 'c' / 'tree'
    copy_plain(tree_a, tree_c)
    compile_json(['--python', exe, '--prefix', prefix, tree_a], env)
    worker_starts(log)
    st, err = compile_json(['--python', exe, '--prefix', prefix, tree_c],
                           env)
    assert store_stats(st)[0] == n and worker_starts(log) == 0, (st, err)


def test_store_option_names_another_store(interp, clean_env, tmp_path):
    env = env_for(clean_env, tmp_path)
    exe, log = logging_python(tmp_path, interp)
    tree_a = tmp_path / 'a' / 'tree'
    n = len(make_tree(tree_a))
    prefix = tmp_path / 'prefix'
    other = tmp_path / 'other-store'
    args = ['--python', exe, '--prefix', prefix, '--store', other,
            '--invalidation-mode', 'checked-hash']
    compile_json(args + [tree_a], env)
    assert not os.path.exists(prefix_store(prefix))
    assert check_store(other, [interp])
    worker_starts(log)
    tree_b = tmp_path / 'b' / 'tree'
    copy_plain(tree_a, tree_b)
    st, err = compile_json(args + [tree_b], env)
    assert store_stats(st)[:2] == (n, n), (st, err)
    assert worker_starts(log) == 0
    import_check(interp, tree_b, 0, 'checked-hash', env, prefix=prefix)
    assert not os.path.exists(prefix_store(prefix))


def test_verbose_says_from_the_store_or_linked(interp, clean_env, tmp_path):
    env = env_for(clean_env, tmp_path)
    tree_a = tmp_path / 'a' / 'tree'
    make_tree(tree_a)
    prefix = tmp_path / 'prefix'
    for mode, word in (('timestamp', 'from the store'),
                       ('checked-hash', 'linked')):
        args = ['compile', '-v', '--python', interp.exe, '--prefix',
                str(prefix), '--invalidation-mode', mode]
        run_tool(args + [str(tree_a)], env, check=0)
        tree_b = tmp_path / ('b-' + mode) / 'tree'
        srcs = copy_plain(tree_a, tree_b)
        res = run_tool(args + [str(tree_b)], env, check=0)
        # The brief spells it `compiled SRC [tag] (...)`; the tag is
        # there when several interpreters run, as for other lines.
        lines = sorted(x.replace(' [%s]' % interp.tag, '')
                       for x in res.stdout.decode().splitlines()
                       if x.startswith('compiled '))
        want = sorted('compiled %s (%s)' % (s, word) for s in srcs)
        assert lines == want, (mode, res.stdout.decode())


def importlib_mode(src):
    """The mode importlib gives a pyc of src (_calc_mode, _write_atomic:
    the source's, plus owner write, & 0666, under the umask)."""
    umask = os.umask(0o22)
    os.umask(umask)
    return (os.stat(src).st_mode | 0o200) & 0o666 & ~umask


@pytest.mark.parametrize('mode', ['checked-hash', 'unchecked-hash'])
def test_pyc_modes_are_importlibs(interp, clean_env, tmp_path, mode):
    """A pyc from the store has the mode importlib would give it: a
    source of another mode gets a copy, not a link to an object of the
    wrong mode; a read-only source's pyc is owner-writable as
    importlib's is."""
    env = env_for(clean_env, tmp_path)
    tree_a = tmp_path / 'a' / 'tree'
    make_tree(tree_a)
    prefix = tmp_path / 'prefix'
    args = ['--python', interp.exe, '--prefix', prefix,
            '--invalidation-mode', mode]
    compile_json(args + [tree_a], env)
    tree_b = tmp_path / 'b' / 'tree'
    srcs = copy_plain(tree_a, tree_b)
    private = os.path.join(str(tree_b), 'pkg', 'funcs.py')
    readonly = os.path.join(str(tree_b), 'pkg', 'classes.py')
    os.chmod(private, 0o600)
    os.chmod(readonly, 0o444)
    st, err = compile_json(args + [tree_b], env)
    assert store_stats(st)[:2] == (len(srcs), len(srcs) - 1), (st, err)
    store = prefix_store(prefix)
    for src in srcs:
        pyc = pyc_path(src, interp.tag, 0, prefix)
        pst = os.stat(pyc)
        assert pst.st_mode & 0o7777 == importlib_mode(src), (
            src, oct(pst.st_mode), oct(importlib_mode(src)))
        obj = os.stat(object_path(store, interp, src, 0, MODE_FORM[mode]))
        assert (pst.st_ino == obj.st_ino) == (src != private), src
    import_check(interp, tree_b, 0, mode, env, prefix=prefix)


def test_python_replacing_a_linked_pyc_leaves_the_others(interp, clean_env,
                                                          tmp_path):
    """Python rewriting a pyc (a temporary file, then rename) never
    touches the other links of the object it was."""
    env = env_for(clean_env, tmp_path)
    mode = 'checked-hash'
    tree_a = tmp_path / 'a' / 'tree'
    make_tree(tree_a)
    prefix = tmp_path / 'prefix'
    store = prefix_store(prefix)
    args = ['--python', interp.exe, '--prefix', prefix,
            '--invalidation-mode', mode]
    compile_json(args + [tree_a], env)
    trees = [tmp_path / ('b%d' % i) / 'tree' for i in range(2)]
    for t in trees:
        copy_plain(tree_a, t)
        compile_json(args + [t], env)
    src0 = os.path.join(str(trees[0]), 'pkg', 'asserts.py')
    src1 = os.path.join(str(trees[1]), 'pkg', 'asserts.py')
    obj = object_path(store, interp, src1, 0, 'c')
    with open(obj, 'rb') as f:
        kept = f.read()
    ino = os.stat(obj).st_ino
    assert os.stat(pyc_path(src0, interp.tag, 0, prefix)).st_ino == ino
    with open(src0, 'ab') as f:
        f.write(b'EDITED = True\n')
    pyenv = {k: v for k, v in env.items() if k != 'PYTHONDONTWRITEBYTECODE'}
    pyenv['PYTHONPYCACHEPREFIX'] = str(prefix)
    out = subprocess.run([interp.exe, '-s', '-c',
                          'import sys; sys.path.insert(0, sys.argv[1]); '
                          'import pkg.asserts as a; print(a.EDITED)',
                          str(trees[0])], env=pyenv, capture_output=True)
    assert out.stdout == b'True\n', out.stderr
    new = os.stat(pyc_path(src0, interp.tag, 0, prefix))
    assert new.st_ino != ino, 'Python did not rewrite the edited pyc'
    with open(obj, 'rb') as f:
        assert f.read() == kept
    assert os.stat(obj).st_ino == ino
    assert os.stat(pyc_path(src1, interp.tag, 0, prefix)).st_ino == ino
    check_store(store, [interp])
    import_check(interp, trees[1], 0, mode, env, prefix=prefix)


def test_named_builds_are_compiled(interp, clean_env, tmp_path):
    """A pyc compiled under another name (-d) is not served from the
    store: its code must name DIR, which importlib never fixes."""
    env = env_for(clean_env, tmp_path)
    exe, log = logging_python(tmp_path, interp)
    tree_a = tmp_path / 'a' / 'tree'
    n = len(make_tree(tree_a))
    prefix = tmp_path / 'prefix'
    compile_json(['--python', exe, '--prefix', prefix, tree_a], env)
    worker_starts(log)
    tree_b = tmp_path / 'b' / 'tree'
    srcs = copy_plain(tree_a, tree_b)
    st, err = compile_json(['--python', exe, '--prefix', prefix, '-d',
                            '/installed', tree_b], env)
    assert (st['compiled'], store_stats(st)[0]) == (n, 0), (st, err)
    assert worker_starts(log) >= 1
    src = os.path.join(str(tree_b), 'pkg', 'funcs.py')
    out = interp.run('import marshal, sys; f = open(sys.argv[1], "rb"); '
                     'f.seek(16); print(marshal.load(f).co_filename)',
                     pyc_path(src, interp.tag, 0, prefix))
    assert out.decode().strip() == '/installed/pkg/funcs.py'
    assert len(srcs) == n


def test_interpreters_keep_their_own_compilers(clean_env, tmp_path):
    """Several interpreters in one run: each its own compiler directory,
    each copy's pycs from its own (importlib checks their magic)."""
    from conftest import INTERPRETERS
    its = [INTERPRETERS[0], INTERPRETERS[-1]]
    env = env_for(clean_env, tmp_path)
    tree_a = tmp_path / 'a' / 'tree'
    n = len(make_tree(tree_a))
    prefix = tmp_path / 'prefix'
    pys = [a for it in its for a in ('--python', it.exe)]
    compile_json(pys + ['--prefix', prefix, '--invalidation-mode',
                        'checked-hash', tree_a], env)
    tree_b = tmp_path / 'b' / 'tree'
    copy_plain(tree_a, tree_b)
    st, err = compile_json(pys + ['--prefix', prefix, '--invalidation-mode',
                                  'checked-hash', tree_b], env)
    assert store_stats(st)[:2] == (n * len(its), n * len(its)), (st, err)
    check_store(prefix_store(prefix), its)
    for it in its:
        import_check(it, tree_b, 0, 'checked-hash', env, prefix=prefix)


def test_a_venv_shares_its_base_interpreters_compiler(interp, clean_env,
                                                      tmp_path):
    """A venv's python is its base interpreter's binary: a tree compiled
    with one is served from the store to the other."""
    env = env_for(clean_env, tmp_path)
    venv = tmp_path / 'venv'
    subprocess.run([interp.exe, '-m', 'venv', '--without-pip', str(venv)],
                   check=True, env=env, capture_output=True)
    vpy = str(venv / 'bin' / 'python')
    tree_a = tmp_path / 'a' / 'tree'
    n = len(make_tree(tree_a))
    prefix = tmp_path / 'prefix'
    compile_json(['--python', interp.exe, '--prefix', prefix, tree_a], env)
    tree_b = tmp_path / 'b' / 'tree'
    copy_plain(tree_a, tree_b)
    st, err = compile_json(['--python', vpy, '--prefix', prefix, tree_b],
                           env)
    assert store_stats(st)[0] == n, (st, err)
    assert len(os.listdir(os.path.join(prefix_store(prefix), 'v1'))) == 1
    import_check(interp, tree_b, 0, 'timestamp', env, prefix=prefix)


EDGE = {
    'bom.py': b'\xef\xbb\xbfx = "\xc3\xa9"\n',
    'crlf.py': b'def f():\r\n    return 1\r\n',
    'old.py': b'old = 1\n',
    'future.py': b'future = 1\n',
    'nanos.py': b'nanos = 1\n',
    'bad.py': b'def f(:\n',
}
EDGE_MTIMES = {'old.py': -2_000_000_000 * 10**9 + 5,
               'future.py': 5_000_000_000 * 10**9 + 999_999_999,
               'nanos.py': 1_700_000_000 * 10**9 + 999_999_999}


def set_edge_mtimes(root):
    for name, ns in EDGE_MTIMES.items():
        os.utime(os.path.join(str(root), name), ns=(ns, ns))


def test_store_edges(interp, clean_env, tmp_path):
    """Headers the store writes itself (mtimes before 1970, past 2106 and
    at a second's last nanosecond; a BOM, CRLF lines), a copy at a
    non-ASCII path, and a source that fails: it is never stored."""
    env = env_for(clean_env, tmp_path)
    exe, log = logging_python(tmp_path, interp)
    files = dict(TREE_A, **EDGE)
    tree_a = tmp_path / 'a' / 'tree'
    make_tree(tree_a, files)
    good = len(files) - 1
    prefix = tmp_path / 'prefix'
    store = prefix_store(prefix)
    args = ['--python', exe, '--prefix', prefix]
    st, err = compile_json(args + [tree_a], env, check=1)
    assert (st['compiled'], st['failed']) == (good, 1), (st, err)
    bad_line = [x for x in err.splitlines() if 'bad.py' in x]
    assert len(bad_line) == 1, err
    for copy, make in (('plain', copy_plain), ('linked', copy_linked)):
        if copy == 'linked':
            set_edge_mtimes(tree_a)
        tree_b = tmp_path / ('b\u00e9-' + copy) / 'tr\u00eae'
        make(tree_a, tree_b)
        if copy == 'plain':
            set_edge_mtimes(tree_b)
        worker_starts(log)
        st, err = compile_json(args + [tree_b], env, check=1)
        assert (st['compiled'], st['failed']) == (good, 1), (copy, st, err)
        assert store_stats(st) == (good, good if copy == 'linked' else 0,
                                   0), (copy, st, err)
        assert [x.replace(str(tree_b), 'B') for x in err.splitlines()
                if 'bad.py' in x] == [bad_line[0].replace(str(tree_a), 'B')]
        assert worker_starts(log) == 1, 'bad.py is compiled, alone'
        v = code_check(interp, tree_b, env, prefix)
        assert not v['bad'], (copy, v['bad'])
        assert v['missing'] == [os.path.join(str(tree_b), 'bad.py')]
        assert len(v['ok']) == good
        import_check(interp, tree_b, 0, 'timestamp', env, prefix=prefix)
    with open(os.path.join(str(tree_a), 'bad.py'), 'rb') as f:
        bad_digest = object_name(f.read(), 0, 'c').replace(os.sep, '/')
    objs = check_store(store, [interp])
    assert not [p for p in objs if p.endswith(bad_digest)]


def test_umask_of_the_run_decides_the_mode(interp, clean_env, tmp_path):
    """A run under umask 077 writes 0600 pycs, as importlib would: never
    links to an object of the store made 0644 under umask 022."""
    env = env_for(clean_env, tmp_path)
    tree_a = tmp_path / 'a' / 'tree'
    make_tree(tree_a)
    prefix = tmp_path / 'prefix'
    args = ['compile', '--json', '--python', interp.exe, '--prefix',
            str(prefix), '--invalidation-mode', 'checked-hash']
    old = os.umask(0o022)
    try:
        run_tool(args + [str(tree_a)], env, check=0)
        tree_b = tmp_path / 'b' / 'tree'
        srcs = copy_plain(tree_a, tree_b)
        os.umask(0o077)
        res = run_tool(args + [str(tree_b)], env, check=0)
        want = {s: (os.stat(s).st_mode | 0o200) & 0o666 & ~0o077
                for s in srcs}
    finally:
        os.umask(old)
    st = json.loads(res.stdout)
    assert store_stats(st)[:2] == (len(srcs), 0), st
    for s in srcs:
        pst = os.stat(pyc_path(s, interp.tag, 0, prefix))
        assert (pst.st_mode & 0o7777, pst.st_nlink) == (want[s], 1), s
    import_check(interp, tree_b, 0, 'checked-hash', env, prefix=prefix)


def test_rewrites_by_pycprefix_leave_the_objects(interp, clean_env,
                                                 tmp_path):
    """pycprefix itself replacing a linked pyc (a source edited, or -f)
    never writes into the file the store and other trees share."""
    env = env_for(clean_env, tmp_path)
    tree_a = tmp_path / 'a' / 'tree'
    make_tree(tree_a)
    prefix = tmp_path / 'prefix'
    store = prefix_store(prefix)
    args = ['--python', interp.exe, '--prefix', prefix,
            '--invalidation-mode', 'checked-hash']
    compile_json(args + [tree_a], env)
    tree_b = tmp_path / 'b' / 'tree'
    copy_plain(tree_a, tree_b)
    compile_json(args + [tree_b], env)
    before = {p: (os.stat(p).st_ino, open(p, 'rb').read())
              for p in check_store(store, [interp])}
    with open(os.path.join(str(tree_a), 'pkg', 'funcs.py'), 'ab') as f:
        f.write(b'EDITED = 1\n')
    compile_json(args + [tree_a], env)
    compile_json(args + ['-f', tree_a], env)
    compile_json(args + ['-f', tree_b], env)
    after = check_store(store, [interp])
    for p, (ino, data) in before.items():
        assert p in after, p
        assert (os.stat(p).st_ino, open(p, 'rb').read()) == (ino, data), p
    import_check(interp, tree_a, 0, 'checked-hash', env, prefix=prefix)
    import_check(interp, tree_b, 0, 'checked-hash', env, prefix=prefix)


def hardlink_dupes_copies(it, env, tmp_path, mode):
    """Compile A with --hardlink-dupes at every level, then copies of it;
    yields (copy, stats, stderr, tree) for each copy."""
    levels = (0, 1, 2)
    tree_a = tmp_path / 'a' / 'tree'
    make_tree(tree_a)
    prefix = tmp_path / 'prefix'
    args = ['--python', it.exe, '--prefix', prefix, '--hardlink-dupes',
            *level_args(levels), '--invalidation-mode', mode]
    compile_json(args + [tree_a], env)
    for copy, make in (('plain', copy_plain), ('linked', copy_linked)):
        tree_b = tmp_path / ('b-' + copy) / 'tree'
        make(tree_a, tree_b)
        st, err = compile_json(args + [tree_b], env)
        yield copy, st, err, tree_b, prefix


@pytest.mark.parametrize('mode', MODES)
def test_hardlink_dupes_with_the_store(interp, clean_env, tmp_path, mode):
    """--hardlink-dupes (equal pycs of several levels share a file) and
    the store together: every level's pyc what that level's compile()
    makes."""
    env = env_for(clean_env, tmp_path)
    for copy, st, err, tree_b, prefix in hardlink_dupes_copies(
            interp, env, tmp_path, mode):
        assert (st['compiled'], st['failed']) == (len(MODULES) * 3, 0), st
        for level in (0, 1, 2):
            import_check(interp, tree_b, level, mode, env, prefix=prefix,
                         context=(copy, level))
        check_store(prefix_store(prefix), [interp])


@pytest.mark.parametrize('mode', MODES)
def test_hardlink_dupes_served_from_the_store(clean_env, tmp_path, mode):
    """The issue: a pyc whose source the store holds is written from it;
    --hardlink-dupes is no reason to start workers."""
    from conftest import INTERPRETERS
    env = env_for(clean_env, tmp_path)
    for copy, st, err, tree_b, prefix in hardlink_dupes_copies(
            INTERPRETERS[-1], env, tmp_path, mode):
        assert (st['compiled'], store_stats(st)[0]) == (
            len(MODULES) * 3, len(MODULES) * 3), (copy, st, err)


def other_builds():
    """(pyenv interpreter, another build of its minor version) pairs: the
    same cache tag and magic, another sys.version (here /usr/bin's)."""
    import glob
    from conftest import INTERPRETERS, PROBE, Interp
    pairs = []
    for exe in sorted(glob.glob('/usr/bin/python3.*') +
                      glob.glob('/usr/local/bin/python3.*')):
        if not os.path.basename(exe)[len('python3.'):].isdigit():
            continue
        real = os.path.realpath(exe)
        res = subprocess.run([real, '-E', '-S', '-c', PROBE],
                             capture_output=True, timeout=60)
        if res.returncode:
            continue
        version, impl, tag, magic = json.loads(res.stdout)
        for it in INTERPRETERS:
            if it.tag == tag and it.version != tuple(version) and \
                    os.path.realpath(it.exe) != real:
                pairs.append((it, Interp(real, version, tag, magic)))
    return pairs


def test_another_build_of_one_version_is_another_compiler(clean_env,
                                                          tmp_path):
    """Two builds with one cache tag and magic (3.11.7 and 3.11.2 here)
    share no entry: the store names the compiler by sys.version too."""
    pairs = other_builds()
    assert pairs, 'this test needs two builds of one minor version'
    it, other = pairs[0]
    env = env_for(clean_env, tmp_path)
    tree_a = tmp_path / 'a' / 'tree'
    n = len(make_tree(tree_a))
    prefix = tmp_path / 'prefix'
    store = prefix_store(prefix)
    args = ['--prefix', prefix, '--invalidation-mode', 'checked-hash']
    compile_json(['--python', other.exe, *args, tree_a], env)
    tree_b = tmp_path / 'b' / 'tree'
    copy_plain(tree_a, tree_b)
    st, err = compile_json(['--python', it.exe, *args, tree_b], env)
    # none from the other build's objects: only the copy's own twins
    assert store_stats(st)[0] == twins(tree_b), ('served from another build',
                                                 st, err)
    dirs = sorted(os.listdir(os.path.join(store, 'v1')))
    assert len(dirs) == 2 and all(d.startswith(it.tag + '-') for d in dirs)
    check_store(store, [it, other])
    import_check(it, tree_b, 0, 'checked-hash', env, prefix=prefix)
    tree_c = tmp_path / 'c' / 'tree'
    copy_plain(tree_a, tree_c)
    st, err = compile_json(['--python', other.exe, *args, tree_c], env)
    assert store_stats(st)[:2] == (n, n), (st, err)


def some_levels(it, env, tmp_path):
    """A compiled at level 0 only, a copy at levels 0, 1 and 2: returns
    (stats, stderr, workers started, copy, prefix, n)."""
    exe, log = logging_python(tmp_path, it)
    tree_a = tmp_path / 'a' / 'tree'
    n = len(make_tree(tree_a))
    prefix = tmp_path / 'prefix'
    compile_json(['--python', exe, '--prefix', prefix,
                  '--invalidation-mode', 'checked-hash', tree_a], env)
    worker_starts(log)
    tree_b = tmp_path / 'b' / 'tree'
    copy_plain(tree_a, tree_b)
    st, err = compile_json(['--python', exe, '--prefix', prefix,
                            *level_args((0, 1, 2)), '--invalidation-mode',
                            'checked-hash', tree_b], env)
    return st, err, worker_starts(log), tree_b, prefix, n


def test_some_levels_from_the_store(interp, clean_env, tmp_path):
    """The store holds level 0 only: a copy at levels 0, 1 and 2 gets
    its level-0 pycs from it and the others from workers, every one
    what compile() makes."""
    env = env_for(clean_env, tmp_path)
    st, err, workers, tree_b, prefix, n = some_levels(interp, env, tmp_path)
    assert workers >= 1
    # level 0 from the store; of levels 1 and 2, one of each set of
    # twins compiled, the others written from it
    tw = twins(tree_b)
    assert (st['compiled'], store_stats(st)[0]) == (3 * n, n + 2 * tw), (
        st, err)
    for level in (0, 1, 2):
        import_check(interp, tree_b, level, 'checked-hash', env,
                     prefix=prefix)


def test_linked_counts_pycs_from_the_store(clean_env, tmp_path):
    """pycprefix.h: `linked` is "of those" from_store: pycs a worker
    compiled are not counted, even when linked to the object just
    added."""
    from conftest import INTERPRETERS
    env = env_for(clean_env, tmp_path)
    st, err, workers, tree_b, prefix, n = some_levels(INTERPRETERS[-1], env,
                                                      tmp_path)
    tw = twins(tree_b)
    assert store_stats(st)[:2] == (n + 2 * tw, n + 2 * tw), (st, err)
