"""The store under torture (issue 14): kill -9 while a run fills it,
racing runs sharing it, a full disk, corrupted and foreign objects, a
store another user can write, symlinks planted in it.  Every object
left is sound (its content's SHA-256 is its attribute, its header fits
its name), every pyc is used by the interpreter as it is and holds the
code compile() makes, and nothing is read or written through a link."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import run_tool
from store_lib import (OUR_TEMP, code_check, object_problem, UNSOUND_RE, XATTR, assert_code_equal,
                       assert_doctor_store_ok, doctor_store,
                       check_identity, check_store, compile_json,
                       copy_linked, copy_plain, default_store, import_check,
                       make_tree, object_path, prefix_store, pyc_path,
                       sha256, sources, store_stats, tree_state)
from torture_lib import (NEWEST, OLDEST, assert_all_valid, crashed, kill_at,
                         rng, start_tool, stdlib_tree, temp_files, tool_cmd)

assert rng

MODES = ['timestamp', 'checked-hash', 'unchecked-hash']


def env_for(clean_env, tmp_path):
    env = dict(clean_env, HOME=str(tmp_path / 'home'))
    env.pop('PYTHONPYCACHEPREFIX', None)
    return env


def variant(base, dest, tag):
    """A copy of the tree base at dest whose every source has other
    bytes (so the store has to be filled again)."""
    out = []
    for s in sources(base):
        d = os.path.join(str(dest), os.path.relpath(s, str(base)))
        os.makedirs(os.path.dirname(d), exist_ok=True)
        with open(s, 'rb') as f:
            data = f.read()
        with open(d, 'wb') as f:
            f.write(data + b'\n# %s\n' % tag.encode())
        out.append(d)
    return out


def compiler_dirs(store):
    v1 = os.path.join(str(store), 'v1')
    return [os.path.join(v1, d) for d in os.listdir(v1)] if \
        os.path.isdir(v1) else []


# ---- kill -9 while the store fills ----

def test_kill_while_filling_the_store(clean_env, tmp_path, rng):
    it = NEWEST
    env = env_for(clean_env, tmp_path)
    base = tmp_path / 'base'
    stdlib_tree(base, limit=60)
    prefix = str(tmp_path / 'prefix')
    store = prefix_store(prefix)
    # How long a run filling the store takes here: the kills fall within
    # it (the moments are random, nothing is timed).
    ref = tmp_path / 'ref' / 'tree'
    variant(base, ref, 'reference')
    t0 = time.monotonic()
    run_tool(['compile', '-q', '-j', '2', '--python', it.exe, '--prefix',
              str(tmp_path / 'ref-prefix'), str(ref)], env, check=0)
    span = time.monotonic() - t0
    kills = mid_fill = known = 0
    for rnd in range(12):
        if kills >= 4 and mid_fill >= 2:
            break
        tree = tmp_path / ('t%d' % rnd) / 'tree'
        variant(base, tree, 'round %d' % rnd)
        mode = MODES[rnd % 3]
        args = ['compile', '-q', '-j', '2', '--python', it.exe, '--prefix',
                prefix, '--invalidation-mode', mode, tree]
        proc = start_tool(args, env)
        killed, out, err = kill_at(proc, rng.uniform(0.2, 1.0) * span)
        kills += killed
        context = ('round', rnd, mode, 'killed' if killed else 'ended')
        # Whatever instant it died at: every object whole and sound, and
        # an identity, where there is one, whole.
        if os.path.exists(store):
            for d in compiler_dirs(store):
                if os.path.exists(os.path.join(d, 'identity')):
                    check_identity(d, it)
            objs = check_store(store, temp_ok=True)
            print(context, len(objs), 'objects')
            mid_fill += killed and len(objs) > known
            assert_doctor_store_ok(prefix, env, it, context)
        # The next run completes, and every pyc is valid.
        st, err = compile_json(args[1:], env)
        assert st['failed'] == 0 and store_stats(st)[2] == 0, (context, st,
                                                                err)
        assert_all_valid(prefix, [it], context=context)
        assert_code_equal(it, tree, env, prefix, context=context)
        known = len(check_store(store, [it], temp_ok=True))
        assert_doctor_store_ok(prefix, env, it, context)
    assert mid_fill, 'no run was killed while it filled the store'
    # prune clears what the killed writers left in the store (once old
    # enough) and keeps every object a pyc links to or a run just used.
    temps = [os.path.join(d, f) for d, _, fs in os.walk(store) for f in fs
             if OUR_TEMP.match(f)]
    print(len(temps), 'temporary files in the store')
    for p in temps:
        os.utime(p, (time.time() - 7200,) * 2)
    objs = set(check_store(store, [it], temp_ok=True))
    run_tool(['prune', '-q', '--prefix', prefix], env, check=0)
    assert set(check_store(store, [it])) == objs
    for rnd in range(12):
        tree = tmp_path / ('t%d' % rnd) / 'tree'
        if tree.exists():
            assert_code_equal(it, tree, env, prefix, context=rnd)


# ---- racing runs on copies sharing one store ----

def test_racing_runs_share_one_store(clean_env, tmp_path):
    it = NEWEST
    env = env_for(clean_env, tmp_path)
    base = tmp_path / 'base'
    stdlib_tree(base, limit=60)
    prefix = str(tmp_path / 'prefix')
    store = prefix_store(prefix)
    # Two runs -j 1 (at most four processes): timestamp pycs of sources
    # sharing inodes (both race for the same "t" objects), then
    # checked-hash pycs of plain copies (both link the same objects).
    for rnd, (mode, copy) in enumerate((('timestamp', copy_linked),
                                         ('checked-hash', copy_plain))):
        first = tmp_path / ('r%d' % rnd) / 'first'
        n = len(variant(base, first, 'race %d' % rnd))
        trees = [first, tmp_path / ('r%d' % rnd) / 'second']
        copy(first, trees[1])
        procs = [start_tool(['compile', '--json', '-j', '1', '--python',
                             it.exe, '--prefix', prefix,
                             '--invalidation-mode', mode, t], env)
                 for t in trees]
        for t, p in zip(trees, procs):
            out, err = p.communicate(timeout=300)
            assert p.returncode == 0, (mode, t, p.returncode, err)
            st = json.loads(out)
            assert (st['compiled'], st['failed']) == (n, 0), (mode, st)
            assert store_stats(st)[2] == 0, (mode, st, err)
        for t in trees:
            assert_code_equal(it, t, env, prefix, context=(mode, t))
        assert_all_valid(prefix, [it], context=mode)
        assert temp_files(prefix) == []
        check_store(store, [it])
        assert_doctor_store_ok(prefix, env, it, mode)
        if mode == 'checked-hash':
            # Both copies' pycs are the objects themselves.
            for t in trees:
                for s in sources(t):
                    a = os.stat(pyc_path(s, it.tag, 0, prefix))
                    b = os.stat(object_path(store, it, s, 0, 'c'))
                    assert a.st_ino == b.st_ino, ('not linked', s)


# ---- a full disk ----

class Tmpfs:
    """A small tmpfs; the suite runs as root (it fails, never skips)."""

    def __init__(self, size):
        self.dir = tempfile.mkdtemp(prefix='pycprefix-tmpfs-', dir='/tmp')
        res = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%s' % size,
                              'tmpfs', self.dir], capture_output=True)
        if res.returncode:
            os.rmdir(self.dir)
            raise AssertionError('cannot mount a tmpfs (the test needs '
                                 'root): %s' % res.stderr.decode())

    def grow(self, size):
        subprocess.run(['mount', '-o', 'remount,size=%s' % size, self.dir],
                       check=True)

    def close(self):
        if subprocess.run(['umount', self.dir]).returncode:
            subprocess.run(['umount', '-l', self.dir])
        os.rmdir(self.dir)


@pytest.fixture
def tmpfs(request):
    # Room for some of the pycs and their objects (linked hash pycs take
    # half the room of timestamp ones).
    fs = Tmpfs('1200k' if request.node.callspec.params['mode'] ==
               'timestamp' else '600k')
    yield fs
    fs.close()


@pytest.mark.parametrize('mode', ['timestamp', 'checked-hash'])
def test_full_disk_leaves_the_store_consistent(clean_env, tmp_path, tmpfs,
                                               mode):
    it = NEWEST
    env = env_for(clean_env, tmp_path)
    tree = tmp_path / 'tree'
    srcs = stdlib_tree(tree, limit=60)
    prefix = os.path.join(tmpfs.dir, 'prefix')
    store = prefix_store(prefix)
    args = ['compile', '-j', '2', '--python', it.exe, '--prefix', prefix,
            '--invalidation-mode', mode, str(tree)]
    res = run_tool(args, env)
    assert not crashed(res.returncode), res.stderr
    assert res.returncode == 1, res.stderr
    failed, other = set(), []
    for line in res.stderr.decode().splitlines():
        m = re.match(r'^(.*\.py): .*No space left on device$', line)
        if m and m.group(1) in srcs:
            failed.add(m.group(1))
        elif not (re.match(r'^\d+ compiled\b', line) or re.match(
                r'^pycprefix: .*No space left on device$', line)):
            other.append(line)
    assert not other, ('lines that are neither a failed file nor the '
                       'summary', other)
    assert failed
    written = {s for s in srcs if os.path.exists(pyc_path(s, it.tag, 0,
                                                          prefix))}
    assert written, 'the disk filled before any pyc: a bigger tmpfs'
    assert written | failed == set(srcs)
    assert not written & failed, ('named as failed, yet written',
                                  sorted(written & failed)[:5])
    assert temp_files(prefix) == []
    assert_all_valid(prefix, [it])
    if os.path.exists(store):
        for d in compiler_dirs(store):
            if os.path.exists(os.path.join(d, 'identity')):
                check_identity(d, it)
        check_store(store)
        assert_doctor_store_ok(prefix, env, it, 'disk full')
    tmpfs.grow('32m')
    st, err = compile_json(args[1:], env)
    assert (st['compiled'], st['fresh'], st['failed']) == (
        len(failed), len(written), 0), (st, err)
    assert_code_equal(it, tree, env, prefix)
    check_store(store, [it])
    assert_doctor_store_ok(prefix, env, it, 'room again')
    run_tool(['status', '--check', '-q', '--python', it.exe, '--prefix',
              prefix, str(tree)], env, check=0)


# ---- corrupted and foreign objects ----

def replace_with(path, data):
    """Put data at path as a new file whose attribute is its digest (a
    sound-looking object)."""
    tmp = path + '.planted'
    with open(tmp, 'wb') as f:
        f.write(data)
    os.setxattr(tmp, XATTR, sha256(data))
    os.replace(tmp, path)


@pytest.mark.parametrize('mode', MODES)
def test_unsound_objects_are_discarded(clean_env, tmp_path, mode):
    it, other = NEWEST, OLDEST
    assert it.magic != other.magic
    env = env_for(clean_env, tmp_path)
    tree_a = tmp_path / 'a' / 'tree'
    make_tree(tree_a)
    prefix = tmp_path / 'prefix'
    store = prefix_store(prefix)
    for x in (it, other):
        compile_json(['--python', x.exe, '--prefix', prefix,
                      '--invalidation-mode', mode, tree_a], env)
    check_store(store, [it, other])

    # The objects the copy's pycs come from: "u" ones for unchecked-hash
    # pycs, else the "c" ones (a timestamp pyc of a source with one link
    # is written from the "c" object's code).
    form = 'u' if mode == 'unchecked-hash' else 'c'

    def obj(rel, x=it):
        return object_path(store, x, os.path.join(str(tree_a), rel), 0,
                           form)

    damaged = {}
    if mode == 'unchecked-hash':
        # A "u" object is made from the "c" one: with both unsound, the
        # source must be compiled again.
        for rel in ('pkg/funcs.py', 'pkg/classes.py', 'pkg/asserts.py',
                    'pkg/uni.py', 'pkg/latin.py'):
            p = damaged['c of ' + rel] = object_path(
                store, it, os.path.join(str(tree_a), rel), 0, 'c')
            os.truncate(p, 20)
    # A flipped byte (in place, as a tool rewriting the file would).
    p = damaged['flipped'] = obj('pkg/funcs.py')
    with open(p, 'r+b') as f:
        f.seek(-1, 2)
        last = f.read(1)
        f.seek(-1, 2)
        f.write(bytes([last[0] ^ 0x40]))
    # Truncated.
    p = damaged['truncated'] = obj('pkg/classes.py')
    os.truncate(p, os.path.getsize(p) // 2)
    # Its attribute gone.
    p = damaged['no attribute'] = obj('pkg/asserts.py')
    os.removexattr(p, XATTR)
    # Another compiler's object of the same source, attribute and all.
    p = damaged['foreign'] = obj('pkg/uni.py')
    with open(obj('pkg/uni.py', other), 'rb') as f:
        replace_with(p, f.read())
    # Another owner's.
    p = damaged['owner'] = obj('pkg/latin.py')
    os.chown(p, 65534, 65534)
    # doctor counts each object whose content is not its digest's, and
    # the one another user owns (it names the first few of each).
    checks = doctor_store(prefix, env, it)

    def failing(check):
        out = [(int(re.search(r'\((\d+)\): ', m).group(1)),
                set(re.findall(r"'(/[^']+)'", m)))
               for level, m in checks.get(check, []) if level.lower() ==
               'fail']
        assert len(out) == 1, (check, checks)
        return out[0]

    by_digest = {p for k, p in damaged.items()
                 if k not in ('foreign', 'owner')}
    count, named = failing('store.objects')
    # (doctor's "content is not what the digest says" also counts the
    # object another user owns: its verification refuses that too.)
    unsound = by_digest | {damaged['owner']}
    assert count in (len(by_digest), len(unsound)) and named and \
        by_digest & named and named <= unsound, (
            'doctor: %s; damaged: %s' % (json.dumps(checks, indent=1),
                                         json.dumps(damaged, indent=1)))
    assert failing('store.owner') == (1, {damaged['owner']}), checks
    if mode != 'timestamp':
        # A's hash pycs are the objects: the two damaged in place are
        # shared files rewritten in place, and doctor says so.
        inplace = {pyc_path(os.path.join(str(tree_a), rel), it.tag, 0,
                            prefix) for rel in ('pkg/funcs.py',
                                                'pkg/classes.py')}
        for p in inplace:
            assert os.stat(p).st_nlink > 1, p
        count, named = failing('store.links')
        assert inplace <= named, ('doctor misses shared pycs', inplace,
                                  checks)
    tree_b = tmp_path / 'b' / 'tree'
    srcs = copy_plain(tree_a, tree_b)
    st, err = compile_json(['--python', it.exe, '--prefix', prefix,
                            '--invalidation-mode', mode, tree_b], env)
    reported = {}
    for line in err.splitlines():
        m = UNSOUND_RE.match(line)
        if m:
            reported[os.path.normpath(m.group('path'))] = m.group('why')
    want = {os.path.normpath(p) for p in damaged.values()}
    assert set(reported) == want, (
        'unsound objects reported: %s; damaged: %s; stderr: %s' % (
            json.dumps(reported, indent=1), json.dumps(damaged, indent=1),
            err))
    from_store, linked, bad = store_stats(st)
    assert (st['compiled'], st['failed'], bad) == (len(srcs), 0,
                                                   len(damaged)), (st, err)
    assert from_store == len(srcs) - 5, st
    import_check(it, tree_b, 0, mode, env, prefix=prefix)
    assert_code_equal(it, tree_b, env, prefix)
    # Each was compiled again into a sound object.
    check_store(store, [it, other])
    for p in damaged.values():
        assert os.path.exists(p), p


# ---- a store others can write, or another user's ----

def make_writable(p):
    os.chmod(p, 0o777)


def make_foreign(p):
    os.chown(p, 65534, 65534)


@pytest.mark.parametrize('where', ['root', 'v1', 'in-tree'])
@pytest.mark.parametrize('how', ['o+w', 'chown'])
def test_store_others_can_write_is_refused(clean_env, tmp_path, where, how):
    it = NEWEST
    env = env_for(clean_env, tmp_path)
    tree_a = tmp_path / 'a' / 'tree'
    make_tree(tree_a)
    if where == 'in-tree':
        loc = ['--in-tree']
        store = default_store(env['XDG_CACHE_HOME'])
        prefix = None
    else:
        prefix = tmp_path / 'prefix'
        loc = ['--prefix', prefix]
        store = prefix_store(prefix)
    args = ['--python', it.exe, *loc, '--invalidation-mode', 'checked-hash']
    compile_json(args + [tree_a], env)
    check_store(store, [it])
    target = store if where != 'v1' else os.path.join(store, 'v1')
    (make_writable if how == 'o+w' else make_foreign)(target)
    before = tree_state(store)
    tree_b = tmp_path / 'b' / 'tree'
    srcs = copy_plain(tree_a, tree_b)
    res = run_tool(['compile', *map(str, args), str(tree_b)], env)
    err = res.stderr.decode()
    assert res.returncode == 2, (res.returncode, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith('pycprefix: '), err
    assert store in lines[0], ('the line does not name the store', err)
    assert any(w in lines[0] for w in ('chmod', 'chown', '--no-store',
                                       '--store', 'of your own')), (
        'the line does not say what to do', err)
    assert tree_state(store) == before, 'the refused store was written'
    for s in srcs:
        assert not os.path.exists(pyc_path(s, it.tag, 0, prefix)), s
    # --no-store compiles, and leaves the store alone.
    run_tool(['compile', '--no-store', *map(str, args), str(tree_b)], env,
             check=0)
    assert_code_equal(it, tree_b, env, prefix)
    assert tree_state(store) == before


# ---- symlinks planted in the store ----

def plant(store, it, tree_a, elsewhere, what):
    """Put a symlink at `what` of the store, to a copy in elsewhere whose
    object of pkg/funcs.py holds pkg/classes.py's code (attribute and
    all): a run that reads through it writes the wrong code."""
    funcs = object_path(store, it, os.path.join(str(tree_a), 'pkg/funcs.py'),
                        0, 'c')
    with open(object_path(store, it, os.path.join(str(tree_a),
                                                  'pkg/classes.py'), 0, 'c'),
              'rb') as f:
        wrong = f.read()
    fan = os.path.dirname(funcs)
    comp = os.path.dirname(fan)
    v1 = os.path.dirname(comp)
    link = {'object': funcs, 'fan': fan, 'compiler': comp, 'v1': v1,
            'root': store}[what]
    target = os.path.join(str(elsewhere), os.path.basename(link))
    if what == 'object':
        os.makedirs(str(elsewhere))
        replace_with(target, wrong)
        os.unlink(link)
    else:
        shutil.copytree(link, target, symlinks=True)
        replace_with(os.path.join(target, os.path.relpath(funcs, link)),
                     wrong)
        shutil.rmtree(link)
    os.symlink(target, link)
    return link


@pytest.mark.parametrize('what', ['object', 'fan', 'compiler', 'v1',
                                  'root'])
def test_symlinks_in_the_store(clean_env, tmp_path, what):
    it = NEWEST
    env = env_for(clean_env, tmp_path)
    tree_a = tmp_path / 'a' / 'tree'
    make_tree(tree_a)
    prefix = tmp_path / 'prefix'
    store = prefix_store(prefix)
    args = ['--python', it.exe, '--prefix', prefix, '--invalidation-mode',
            'timestamp']
    compile_json(args + [tree_a], env)
    elsewhere = tmp_path / 'elsewhere'
    link = plant(store, it, tree_a, elsewhere, what)
    before = tree_state(elsewhere)
    theirs = {st[1] for st in before.values()}
    tree_b = tmp_path / 'b' / 'tree'
    copy_plain(tree_a, tree_b)
    res = run_tool(['compile', '--json', *map(str, args), str(tree_b)], env)
    err = res.stderr.decode()
    assert not crashed(res.returncode), err
    assert tree_state(elsewhere) == before, ('written through the '
                                             'symlink at', link)
    v = assert_code_equal(it, tree_b, env, prefix, context=(what, err)) \
        if res.returncode != 2 else None
    if what in ('v1', 'root') or res.returncode == 2:
        # The store itself is a link: refused as an unsafe one is (the
        # header says so for the root and v1; a run that refuses a store
        # with a link deeper in it is as safe).
        assert res.returncode == 2, (res.returncode, err)
        lines = err.splitlines()
        assert len(lines) == 1 and store in lines[0], err
        assert not os.path.exists(os.path.join(
            str(prefix), str(tree_b).lstrip('/')))
        return
    assert res.returncode == 0, (res.returncode, err)
    for src, pyc, ino in v['ok']:
        assert ino not in theirs, (pyc, 'is a link to a file through the '
                                   'planted symlink')
    if what == 'object':
        m = [UNSOUND_RE.match(x) for x in err.splitlines()]
        assert [x.group('path') for x in m if x] == [link], err


# ---- other file systems ----

def test_in_tree_store_across_file_systems_copies(clean_env, tmp_path):
    """--in-tree with the tree on another file system than the cache's
    store: the pycs are written from the store as copies."""
    it = NEWEST
    env = env_for(clean_env, tmp_path)
    fs = Tmpfs('16m')
    try:
        tree_a = tmp_path / 'a' / 'tree'
        make_tree(tree_a)
        args = ['--python', it.exe, '--in-tree', '--invalidation-mode',
                'checked-hash']
        compile_json(args + [tree_a], env)
        tree_b = os.path.join(fs.dir, 'tree')
        srcs = copy_plain(tree_a, tree_b)
        st, err = compile_json(args + [tree_b], env)
        assert st['failed'] == 0, (st, err)
        assert store_stats(st) == (len(srcs), 0, 0), (st, err)
        for s in srcs:
            assert os.stat(pyc_path(s, it.tag, 0)).st_nlink == 1, s
        import_check(it, tree_b, 0, 'checked-hash', env)
        check_store(default_store(env['XDG_CACHE_HOME']), [it])
    finally:
        fs.close()


def test_prefix_on_a_file_system_without_xattrs(clean_env, tmp_path):
    """The issue: "the store is on by default only if every check below
    holds".  A prefix on a file system that keeps no user extended
    attributes (ramfs; tmpfs before Linux 6.6) is compiled as before,
    without a store (no object without its attribute is ever written);
    asking for the store there (--store) is refused."""
    it = NEWEST
    env = env_for(clean_env, tmp_path)
    d = tempfile.mkdtemp(prefix='pycprefix-ramfs-', dir='/tmp')
    res = subprocess.run(['mount', '-t', 'ramfs', 'ramfs', d],
                         capture_output=True)
    assert res.returncode == 0, res.stderr
    try:
        probe = os.path.join(d, 'probe')
        open(probe, 'w').close()
        with pytest.raises(OSError):
            os.setxattr(probe, XATTR, b'x')
        os.unlink(probe)
        tree = tmp_path / 'tree'
        srcs = make_tree(tree)
        prefix = os.path.join(d, 'prefix')
        res = run_tool(['compile', '--json', '--python', it.exe, '--prefix',
                        prefix, str(tree)], env)
        assert res.returncode == 0, res.stderr
        st = json.loads(res.stdout)
        assert st['compiled'] == len(srcs), st
        assert_code_equal(it, tree, env, prefix)
        store = prefix_store(prefix)
        assert not [f for _, _, fs in os.walk(store) for f in fs
                    if f != 'CACHEDIR.TAG'], 'objects without attributes'
        res = run_tool(['compile', '--python', it.exe, '--prefix', prefix,
                        '--store', os.path.join(d, 'store'), '-f',
                        str(tree)], env)
        assert res.returncode == 2, res.stderr
    finally:
        if subprocess.run(['umount', d]).returncode:
            subprocess.run(['umount', '-l', d])
        os.rmdir(d)


# ---- strange things at an object's name ----

@pytest.mark.parametrize('kind', ['fifo', 'directory', 'huge', 'empty',
                                  'other-source', 'hardlink'])
def test_strange_things_at_an_objects_name(clean_env, tmp_path, kind):
    """A FIFO (opening it would block), a directory, a sparse file past
    the largest object, an empty file, or a hardlink to a file outside
    the store, or an object holding another source's pyc, digest and
    all (its header's source hash is not this source's: a header that
    does not fit its name): reported, discarded, never read into a pyc,
    and the run neither hangs nor fails."""
    it = NEWEST
    env = env_for(clean_env, tmp_path)
    tree_a = tmp_path / 'a' / 'tree'
    make_tree(tree_a)
    prefix = tmp_path / 'prefix'
    store = prefix_store(prefix)
    args = ['--python', it.exe, '--prefix', prefix, '--invalidation-mode',
            'timestamp']
    compile_json(args + [tree_a], env)
    obj = object_path(store, it, os.path.join(str(tree_a), 'pkg/funcs.py'),
                      0, 'c')
    with open(object_path(store, it, os.path.join(str(tree_a),
                                                  'pkg/classes.py'), 0, 'c'),
              'rb') as f:
        wrong = f.read()
    os.unlink(obj)
    outside = None
    if kind == 'fifo':
        os.mkfifo(obj, 0o600)
    elif kind == 'directory':
        os.mkdir(obj, 0o700)
    elif kind == 'huge':
        with open(obj, 'wb') as f:
            f.write(wrong[:16])
            f.truncate(300 << 20)
        os.setxattr(obj, XATTR, sha256(b'not computed'))
    elif kind == 'empty':
        open(obj, 'wb').close()
        os.setxattr(obj, XATTR, sha256(b''))
    elif kind == 'other-source':
        replace_with(obj, wrong)
    else:
        # Sound by its digest, but another source's code, and a name
        # elsewhere (a tool that hardlinked a file in).
        outside = str(tmp_path / 'outside.pyc')
        replace_with(outside, wrong)
        os.link(outside, obj)
    tree_b = tmp_path / 'b' / 'tree'
    copy_plain(tree_a, tree_b)
    res = subprocess.run(tool_cmd('compile', '--json', *args, tree_b),
                         env=env, capture_output=True, timeout=60)
    err = res.stderr.decode()
    assert res.returncode == 0, (res.returncode, err)
    assert_code_equal(it, tree_b, env, prefix, context=(kind, err))
    st = json.loads(res.stdout)
    m = [UNSOUND_RE.match(x) for x in err.splitlines()]
    assert [x.group('path') for x in m if x] == [obj], (
        'not reported: store_bad %d, from_store %d; left at its name: %s' % (
            st['store_bad'], st['from_store'],
            oct(os.lstat(obj).st_mode) if os.path.lexists(obj) else None),
        err)
    assert st['store_bad'] == 1, st
    # Discarded, and compiled again into a sound object.
    assert object_problem(obj) is None, object_problem(obj)
    if outside:
        with open(outside, 'rb') as f:
            assert f.read() == wrong


def test_full_store_costs_objects_not_pycs(clean_env, tmp_path):
    """Only the store's file system full (--store on a small tmpfs, the
    prefix with room): every pyc is written, the store stays consistent
    (README: "a full disk costs the store the object, never its
    consistency")."""
    it = NEWEST
    env = env_for(clean_env, tmp_path)
    tree = tmp_path / 'tree'
    srcs = stdlib_tree(tree, limit=60)
    prefix = tmp_path / 'prefix'
    fs = Tmpfs('200k')
    try:
        store = os.path.join(fs.dir, 'store')
        args = ['--python', it.exe, '--prefix', prefix, '--store', store,
                '-j', '2', tree]
        st, err = compile_json(args, env)
        assert (st['compiled'], st['failed']) == (len(srcs), 0), (st, err)
        assert_code_equal(it, tree, env, prefix)
        assert temp_files(store) == []
        objs = check_store(store, [it])
        assert 0 < len(objs) < len(srcs), len(objs)
        fs.grow('32m')
        tree_b = tmp_path / 'b' / 'tree'
        copy_plain(tree, tree_b)
        st, err = compile_json(args[:-1] + [tree_b], env)
        assert st['failed'] == 0, (st, err)
        assert_code_equal(it, tree_b, env, prefix)
        check_store(store, [it])
    finally:
        fs.close()


def test_cache_home_through_a_symlink(clean_env, tmp_path):
    """~/.cache is often a symlink to another disk: a link above the
    store is no reason to refuse it (only the store's own root and v1
    are)."""
    it = NEWEST
    env = env_for(clean_env, tmp_path)
    real = tmp_path / 'disk' / 'cache'
    real.mkdir(parents=True)
    link = tmp_path / 'cache-link'
    os.symlink(str(real), str(link))
    env['XDG_CACHE_HOME'] = str(link)
    tree_a = tmp_path / 'a' / 'tree'
    n = len(make_tree(tree_a))
    args = ['--python', it.exe, '--in-tree', '--invalidation-mode',
            'checked-hash']
    compile_json(args + [tree_a], env)
    tree_b = tmp_path / 'b' / 'tree'
    copy_plain(tree_a, tree_b)
    st, err = compile_json(args + [tree_b], env)
    assert store_stats(st) == (n, n, 0), (st, err)
    check_store(default_store(real), [it])
    import_check(it, tree_b, 0, 'checked-hash', env)


def test_kill_while_serving_from_the_store(clean_env, tmp_path, rng):
    """kill -9 while a run writes and links pycs from the store: the
    objects are untouched (same inodes, same bytes), every pyc there is
    valid, and the next run completes."""
    it = NEWEST
    env = env_for(clean_env, tmp_path)
    base = tmp_path / 'base'
    stdlib_tree(base, limit=60)
    prefix = str(tmp_path / 'prefix')
    store = prefix_store(prefix)
    for mode in MODES:
        run_tool(['compile', '-q', '--python', it.exe, '--prefix', prefix,
                  '--invalidation-mode', mode, str(base)], env, check=0)
    before = {p: (os.stat(p).st_ino, open(p, 'rb').read())
              for p in check_store(store, [it])}
    ref = tmp_path / 'ref' / 'tree'
    copy_plain(base, ref)
    t0 = time.monotonic()
    run_tool(['compile', '-q', '--python', it.exe, '--prefix', prefix,
              str(ref)], env, check=0)
    span = time.monotonic() - t0
    kills = 0
    for rnd in range(8):
        mode = MODES[rnd % 3]
        tree = tmp_path / ('s%d' % rnd) / 'tree'
        (copy_linked if rnd % 2 else copy_plain)(base, tree)
        args = ['compile', '-q', '--python', it.exe, '--prefix', prefix,
                '--invalidation-mode', mode, tree]
        killed, out, err = kill_at(start_tool(args, env),
                                   rng.uniform(0.1, 1.0) * span)
        kills += killed
        v = code_check(it, tree, env, prefix)
        assert not v['bad'], (rnd, mode, v['bad'][:5])
        st, err = compile_json(args[1:], env)
        assert st['failed'] == 0 and st['from_store'] == st['compiled'], (
            rnd, st, err)
        assert_code_equal(it, tree, env, prefix, context=(rnd, mode))
    objs = check_store(store, [it], temp_ok=True)
    for p, (ino, data) in before.items():
        assert p in objs, p
        assert (os.stat(p).st_ino, open(p, 'rb').read()) == (ino, data), p
    assert kills, 'no run was killed'


def test_racing_runs_one_killed(clean_env, tmp_path, rng):
    """Two runs fill one store; one is killed at a random moment: the
    other completes, every object is sound, every pyc valid."""
    it = NEWEST
    env = env_for(clean_env, tmp_path)
    base = tmp_path / 'base'
    stdlib_tree(base, limit=60)
    prefix = str(tmp_path / 'prefix')
    store = prefix_store(prefix)
    ref = tmp_path / 'ref' / 'tree'
    variant(base, ref, 'reference')
    t0 = time.monotonic()
    run_tool(['compile', '-q', '-j', '1', '--python', it.exe, '--prefix',
              str(tmp_path / 'ref-prefix'), str(ref)], env, check=0)
    span = time.monotonic() - t0
    for rnd in range(3):
        first = tmp_path / ('k%d' % rnd) / 'first'
        n = len(variant(base, first, 'killed race %d' % rnd))
        second = tmp_path / ('k%d' % rnd) / 'second'
        copy_plain(first, second)
        mode = MODES[rnd]
        procs = [start_tool(['compile', '--json', '-j', '1', '--python',
                             it.exe, '--prefix', prefix,
                             '--invalidation-mode', mode, t], env)
                 for t in (first, second)]
        kill_at(procs[0], rng.uniform(0.1, 1.0) * span)
        out, err = procs[1].communicate(timeout=300)
        assert procs[1].returncode == 0, (mode, err)
        st = json.loads(out)
        assert (st['compiled'], st['failed'], st['store_bad']) == (n, 0, 0), (
            mode, st, err)
        assert_code_equal(it, second, env, prefix, context=mode)
        check_store(store, [it], temp_ok=True)
        st, err = compile_json(['--python', it.exe, '--prefix', prefix,
                                '--invalidation-mode', mode, first], env)
        assert st['failed'] == 0 and st['store_bad'] == 0, (st, err)
        assert_code_equal(it, first, env, prefix, context=mode)
        assert_all_valid(prefix, [it], context=mode)


def test_doctor_checks_the_in_tree_store(clean_env, tmp_path):
    """doctor checks the store of --in-tree runs too: a damaged object
    there is named."""
    it = NEWEST
    env = env_for(clean_env, tmp_path)
    tree_a = tmp_path / 'a' / 'tree'
    make_tree(tree_a)
    store = default_store(env['XDG_CACHE_HOME'])
    compile_json(['--python', it.exe, '--in-tree', tree_a], env)
    obj = object_path(store, it, os.path.join(str(tree_a), 'pkg/funcs.py'),
                      0, 'c')
    os.truncate(obj, 30)
    res = run_tool(['doctor', '--json', '--python', it.exe, '--prefix',
                    str(tmp_path / 'prefix')], env)
    out = json.loads(res.stdout)
    named = [c for c in out['checks'] if c['level'].lower() == 'fail' and
             "'%s'" % obj in c['message']]
    assert named, ('doctor does not name the damaged in-tree object',
                   json.dumps(out['checks'], indent=1))
    assert res.returncode == 1, res.stderr
