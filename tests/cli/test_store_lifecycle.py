"""The store's lifecycle (issue 14, "Lifecycle"): prune of the prefix's
store (objects no pyc links to, unused within --store-age; --max-size
counting and evicting them), du's store line and the disk hard links
save, doctor's check of every object and shared pyc, and the prefix
walks (prune, clean, du, doctor) taking PREFIX/.pycprefix-store for the
store, never for mirrored sources.  Hostile stores: a symlink planted in
it, a file that is no object, an object another user owns.

Objects are made here as the store's layout says (store.h): the exact
pyc of a real interpreter's py_compile (checked-hash), with the
attribute user.pycprefix.sha256 = SHA-256 of the content, at
v1/COMPILER/FAN/REST.LEVEL.c."""
import hashlib
import json
import os
import time

import pytest

from conftest import INTERPRETERS, run_tool

NEWEST = INTERPRETERS[-1]
DAY = 86400
XATTR = 'user.pycprefix.sha256'
# A compiler's directory: any tag "-" 16 hex digits is one by the layout.
COMP = NEWEST.tag + '-0123456789abcdef'


@pytest.fixture
def env(clean_env, tmp_path):
    e = dict(clean_env)
    e['HOME'] = str(tmp_path / 'home')
    return e


def store_of(prefix):
    return os.path.join(str(prefix), '.pycprefix-store')


def checked_pyc(tmp_path, source, level=0, it=NEWEST):
    """The checked-hash pyc of `source` (bytes) by it's py_compile."""
    src = tmp_path / 'obj-src.py'
    out = tmp_path / 'obj.pyc'
    src.write_bytes(source)
    it.run('import py_compile, sys; py_compile.compile(sys.argv[1], '
           'sys.argv[2], doraise=True, optimize=int(sys.argv[3]), '
           'invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)',
           str(src), str(out), str(level))
    data = out.read_bytes()
    out.unlink()
    src.unlink()
    return data


def object_path(prefix, source, level=0, comp=COMP, form='c'):
    h = hashlib.sha256(source).hexdigest()
    return os.path.join(store_of(prefix), 'v1', comp, h[:2],
                        '%s.%d.%s' % (h[2:], level, form))


def make_store(prefix):
    """The store's root and v1, as the store makes them (0700)."""
    os.makedirs(os.path.join(store_of(prefix), 'v1', COMP), mode=0o700,
                exist_ok=True)
    for d in (store_of(prefix), os.path.join(store_of(prefix), 'v1'),
              os.path.join(store_of(prefix), 'v1', COMP)):
        os.chmod(d, 0o700)
    ident = os.path.join(store_of(prefix), 'v1', COMP, 'identity')
    if not os.path.exists(ident):
        with open(ident, 'w') as f:
            f.write('pycprefix-store-compiler-1\ncpython\n')


def put_object(tmp_path, prefix, source, level=0, age_days=0, data=None):
    """An object of `source` in the prefix's store; its path."""
    make_store(prefix)
    path = object_path(prefix, source, level)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    data = checked_pyc(tmp_path, source, level) if data is None else data
    with open(path, 'wb') as f:
        f.write(data)
    os.setxattr(path, XATTR, hashlib.sha256(data).digest())
    os.chmod(path, 0o644)
    if age_days:
        old = time.time() - age_days * DAY
        os.utime(path, (old, old))
    return path


def make_tree(tmp_path, sources):
    tree = tmp_path / 'tree'
    tree.mkdir()
    for name, text in sources.items():
        (tree / name).write_bytes(text)
    return tree


def compile_tree(env, prefix, tree, *extra, store=False):
    """Compile tree into the prefix (checked-hash pycs); without `store`,
    with --no-store: the test makes the objects it wants itself."""
    run_tool(['compile', '-q', '--python', NEWEST.exe, '--prefix',
              str(prefix), '--invalidation-mode', 'checked-hash', *extra,
              *(() if store else ('--no-store',)), str(tree)], env, check=0)


def pyc_of(prefix, tree, name):
    return os.path.join(str(prefix), str(tree).lstrip('/'),
                        '%s.%s.pyc' % (name, NEWEST.tag))


def link_pyc_to_store(prefix, tree, name, source):
    """Make tree/NAME.py's pyc in the prefix a hard link of its object
    (as compile links a pyc whose bytes are an object's); the object's
    path."""
    pyc = pyc_of(prefix, tree, name)
    obj = object_path(prefix, source)
    make_store(prefix)
    os.makedirs(os.path.dirname(obj), mode=0o700, exist_ok=True)
    if os.path.exists(obj):
        os.unlink(obj)
    with open(pyc, 'rb') as f:
        data = f.read()
    os.link(pyc, obj)
    os.setxattr(obj, XATTR, hashlib.sha256(data).digest())
    return obj


def prune(env, prefix, *args, check=0):
    res = run_tool(['prune', '--json', '--prefix', str(prefix), *args], env,
                   check=check)
    return json.loads(res.stdout) if check == 0 else res


def events(out):
    return [(e['path'], e['why']) for e in out['events']]


UNUSED = 'store object no pyc links to, not used within --store-age'


# ---- prune ----

def test_prune_removes_unlinked_unused_objects_only(tmp_path, env):
    a, b, c = b'a = 1\n', b'b = 2\n', b'c = 3\n'
    tree = make_tree(tmp_path, {'c.py': c})
    prefix = tmp_path / 'p'
    compile_tree(env, prefix, tree)
    old_unlinked = put_object(tmp_path, prefix, a, age_days=40)
    recent = put_object(tmp_path, prefix, b, age_days=2)
    linked = link_pyc_to_store(prefix, tree, 'c', c)
    old = time.time() - 40 * DAY
    os.utime(linked, (old, old))
    # The dry run names exactly what the real run removes.
    dry = prune(env, prefix, '-n')
    assert events(dry) == [(old_unlinked, UNUSED)]
    assert os.path.exists(old_unlinked)
    out = prune(env, prefix)
    assert events(out) == events(dry)
    assert out['bytes'] == len(checked_pyc(tmp_path, a))
    assert not os.path.exists(old_unlinked)
    assert os.path.exists(recent) and os.path.exists(linked)
    # The store's directories stay, emptied or not.
    assert os.path.isdir(os.path.dirname(old_unlinked))
    # --store-age: a shorter age takes the recent one; 0 every unlinked
    # one, never a linked one.
    out = prune(env, prefix, '--store-age', '1d')
    assert events(out) == [(recent, UNUSED)]
    fresh = put_object(tmp_path, prefix, b'd = 4\n')
    assert events(prune(env, prefix)) == []
    assert events(prune(env, prefix, '--store-age=0')) == [(fresh, UNUSED)]
    assert os.path.exists(linked)
    assert os.path.exists(pyc_of(prefix, tree, 'c'))


def test_prune_takes_the_object_of_an_orphan_it_removes(tmp_path, env):
    c = b'c = 3\n'
    tree = make_tree(tmp_path, {'c.py': c})
    prefix = tmp_path / 'p'
    compile_tree(env, prefix, tree)
    obj = link_pyc_to_store(prefix, tree, 'c', c)
    old = time.time() - 40 * DAY
    os.utime(obj, (old, old))
    (tree / 'c.py').unlink()
    pyc = pyc_of(prefix, tree, 'c')
    size = os.path.getsize(pyc)
    # The pyc goes as an orphan, and then its object has no pyc: both
    # go, in the dry run as in the real one; the bytes count once.
    dry = prune(env, prefix, '-n')
    assert [w for _, w in events(dry) if w != 'emptied directory'] == \
        ['orphan: its source is gone', UNUSED]
    assert events(dry)[-1][0] == obj
    out = prune(env, prefix)
    assert events(out) == events(dry)
    assert out['bytes'] == dry['bytes'] == size
    assert not os.path.exists(obj) and not os.path.exists(pyc)


def test_prune_store_age_usage_errors(tmp_path, env):
    prefix = tmp_path / 'p'
    prefix.mkdir()
    for bad in ('3x', '', '-1', '1.5d'):
        res = prune(env, prefix, '--store-age', bad, check=2)
        assert b'--store-age' in res.stderr, res.stderr
    res = prune(env, prefix, '--store-age', '99999999999999999999d',
                check=2)
    assert b'out of range' in res.stderr


def test_prune_never_judges_the_store_as_mirrored_sources(tmp_path, env):
    """A file in the store named like a pyc whose 'source' (the mirror's
    reading: /.pycprefix-store/...) is gone is no orphan, and a source
    or __pycache__ name inside the store does not make the prefix no
    cache."""
    prefix = tmp_path / 'p'
    make_store(prefix)
    store = store_of(prefix)
    pyc_like = os.path.join(store, 'x.%s.pyc' % NEWEST.tag)
    with open(pyc_like, 'wb') as f:
        f.write(checked_pyc(tmp_path, b'x = 1\n'))
    os.makedirs(os.path.join(store, 'v1', '__pycache__'))
    with open(os.path.join(store, 'v1', 'a.py'), 'w') as f:
        f.write('a = 1\n')
    out = prune(env, prefix, '--store-age=0')
    assert events(out) == []
    assert os.path.exists(pyc_like)
    # du does not count it as a pyc either: it is the store's, not ours.
    du = json.loads(run_tool(['du', '--json', '--prefix', str(prefix)], env,
                             check=0).stdout)
    assert du['files'] == 0
    assert du['store']['others'] == 3


def test_prune_hostile_store(tmp_path, env):
    """A symlink planted in the store (to a file outside, named as an
    object) is never followed nor removed; a file that is no object, a
    directory the layout has no place for, and an object another user
    owns stay; an old temporary file goes, a young one stays."""
    prefix = tmp_path / 'p'
    victim_src = b'v = 1\n'
    real = put_object(tmp_path, prefix, victim_src, age_days=40)
    outside = tmp_path / 'outside'
    outside.mkdir()
    target = outside / os.path.basename(real)
    os.rename(real, target)
    os.symlink(target, real)
    old = time.time() - 40 * DAY
    fan = os.path.dirname(real)
    junk = os.path.join(fan, 'not-an-object')
    with open(junk, 'wb') as f:
        f.write(b'junk')
    os.utime(junk, (old, old))
    odd = os.path.join(store_of(prefix), 'v1', COMP, 'zz')
    os.makedirs(odd)
    hidden = os.path.join(odd, os.path.basename(real))
    with open(hidden, 'wb') as f:
        f.write(b'x')
    os.utime(hidden, (old, old))
    foreign = put_object(tmp_path, prefix, b'f = 1\n', age_days=40)
    os.chown(foreign, 12345, 12345)
    os.utime(foreign, (old, old))
    tmp_old = os.path.join(fan, '.pycprefix-0123456789ab')
    tmp_new = os.path.join(fan, '.pycprefix-ba9876543210')
    for t in (tmp_old, tmp_new):
        with open(t, 'wb') as f:
            f.write(b'partial')
    os.utime(tmp_old, (old, old))
    out = prune(env, prefix, '--store-age=0')
    assert events(out) == [(tmp_old, 'temporary file of a killed writer')]
    assert os.path.islink(real) and target.exists()
    for p in (junk, hidden, foreign, tmp_new):
        assert os.path.exists(p), p


def test_max_size_counts_the_store_and_evicts_objects_lru(tmp_path, env):
    a, b, c = b'a = 1\n', b'b = 2\n', b'c = 3\n'
    tree = make_tree(tmp_path, {'c.py': c})
    prefix = tmp_path / 'p'
    compile_tree(env, prefix, tree)
    pyc = pyc_of(prefix, tree, 'c')
    obj_c = link_pyc_to_store(prefix, tree, 'c', c)
    obj_a = put_object(tmp_path, prefix, a, age_days=5)
    obj_b = put_object(tmp_path, prefix, b, age_days=3)
    now = time.time()
    os.utime(pyc, (now - DAY, now - DAY))
    size_c = os.path.getsize(pyc)
    size_b = os.path.getsize(obj_b)
    # Everything fits: the shared file counts once.
    total = size_c + size_b + os.path.getsize(obj_a)
    assert events(prune(env, prefix, '--max-size', str(total))) == []
    # One byte less: the least recently used unlinked object goes.
    out = prune(env, prefix, '-n', '--max-size', str(total - 1))
    assert events(out) == [(obj_a, 'least recently used, over --max-size')]
    # Room for the pyc alone: a and b go; the object c shares with its
    # pyc costs nothing more and stays.
    out = prune(env, prefix, '-n', '--max-size', str(size_c))
    assert [p for p, _ in events(out)] == [obj_a, obj_b]
    # 0: everything, the pyc before its object (same times).
    out = prune(env, prefix, '--max-size', '0')
    paths = [p for p, w in events(out) if w != 'emptied directory']
    assert paths == [obj_a, obj_b, pyc, obj_c]
    assert out['bytes'] == total
    assert not os.path.exists(obj_c) and not os.path.exists(pyc)


# ---- clean ----

def test_clean_leaves_a_store_alone(tmp_path, env):
    tree = make_tree(tmp_path, {'m.py': b'm = 1\n'})
    pc = tree / '__pycache__'
    pc.mkdir()
    (pc / ('m.%s.pyc' % NEWEST.tag)).write_bytes(b'x')
    kept = tree / '.pycprefix-store' / 'v1' / '__pycache__'
    kept.mkdir(parents=True)
    (kept / ('m.%s.pyc' % NEWEST.tag)).write_bytes(b'x')
    legacy = tree / '.pycprefix-store' / 'm.pyc'
    (tree / '.pycprefix-store' / 'm.py').write_text('m = 1\n')
    legacy.write_bytes(b'x')
    out = json.loads(run_tool(['clean', '--json', str(tree)], env,
                              check=0).stdout)
    assert [e['path'] for e in out['events']] == [
        str(pc / ('m.%s.pyc' % NEWEST.tag)), str(pc)]
    assert (kept / ('m.%s.pyc' % NEWEST.tag)).exists() and legacy.exists()


# ---- du ----

def blocks(path):
    return os.lstat(path).st_blocks * 512


def test_du_store_and_hardlink_savings(tmp_path, env):
    c, d = b'c = 3\n', b'd = 4\n'
    tree = make_tree(tmp_path, {'c.py': c, 'd.py': d})
    prefix = tmp_path / 'p'
    compile_tree(env, prefix, tree)
    obj_c = link_pyc_to_store(prefix, tree, 'c', c)
    obj_d = link_pyc_to_store(prefix, tree, 'd', d)
    # A second pyc name of d's file (another tree's pyc, linked too).
    other = tmp_path / 'p' / 'elsewhere'
    other.mkdir()
    os.link(obj_d, other / ('d.%s.pyc' % NEWEST.tag))
    obj_a = put_object(tmp_path, prefix, b'a = 1\n')
    out = json.loads(run_tool(['du', '--json', '--prefix', str(prefix)], env,
                              check=0).stdout)
    st = out['store']
    assert st['objects'] == 3
    assert st['linked'] == 2
    assert st['bytes'] == sum(os.path.getsize(p)
                              for p in (obj_a, obj_c, obj_d))
    assert st['disk_bytes'] == sum(blocks(p) for p in (obj_a, obj_c, obj_d))
    assert st['own_disk_bytes'] == blocks(obj_a)
    # c: 2 names (1 saved), d: 3 names (2 saved).
    assert out['hardlink_saved_disk_bytes'] == blocks(obj_c) + \
        2 * blocks(obj_d)
    assert st['temps'] == 0 and st['others'] == 0
    # The pycs are counted as before: three names, two files.
    assert out['files'] == 3 and out['linked'] == 1
    text = run_tool(['du', '--prefix', str(prefix)], env, check=0).stdout
    assert b'store: ' in text and b'in 3 objects, 2 linked by pycs' in text
    assert b'hard links save ' in text


def test_du_without_a_store(tmp_path, env):
    tree = make_tree(tmp_path, {'c.py': b'c = 3\n'})
    prefix = tmp_path / 'p'
    compile_tree(env, prefix, tree)
    out = json.loads(run_tool(['du', '--json', '--prefix', str(prefix)], env,
                              check=0).stdout)
    assert out['store']['objects'] == 0
    assert out['hardlink_saved_disk_bytes'] == 0
    text = run_tool(['du', '--prefix', str(prefix)], env, check=0).stdout
    assert b'store:' not in text


# ---- doctor ----

def doctor(env, prefix, check):
    res = run_tool(['doctor', '--json', '--python', NEWEST.exe, '--prefix',
                    str(prefix)], env, check=check)
    return {c['check']: c for c in json.loads(res.stdout)['checks']}


def test_doctor_sound_store(tmp_path, env):
    c = b'c = 3\n'
    tree = make_tree(tmp_path, {'c.py': c})
    prefix = tmp_path / 'p'
    compile_tree(env, prefix, tree)
    link_pyc_to_store(prefix, tree, 'c', c)
    put_object(tmp_path, prefix, b'a = 1\n')
    checks = doctor(env, prefix, None)
    assert checks['store.trust']['level'] == 'ok'
    assert 'mode 0700' in checks['store.trust']['message']
    assert checks['store.objects']['level'] == 'ok'
    assert checks['store.objects']['message'].startswith('2 objects')
    assert checks['store.links']['message'].startswith('1 shared pyc,')
    assert not any(k.startswith('store.') and v['level'] == 'FAIL'
                   for k, v in checks.items())


def test_doctor_finds_a_shared_pyc_rewritten_in_place(tmp_path, env):
    c = b'c = 3\n'
    tree = make_tree(tmp_path, {'c.py': c})
    prefix = tmp_path / 'p'
    compile_tree(env, prefix, tree)
    obj = link_pyc_to_store(prefix, tree, 'c', c)
    pyc = pyc_of(prefix, tree, 'c')
    # A tool that rewrites the pyc in place (no rename): every name of
    # the file changes.
    with open(pyc, 'r+b') as f:
        data = f.read()
        f.seek(len(data) - 1)
        f.write(bytes([data[-1] ^ 0xff]))
    res = run_tool(['doctor', '--json', '--python', NEWEST.exe, '--prefix',
                    str(prefix)], env)
    assert res.returncode == 1, res.stderr
    checks = {c['check']: c for c in json.loads(res.stdout)['checks']}
    assert checks['store.objects']['level'] == 'FAIL'
    assert repr(obj) in checks['store.objects']['message'] or \
        "'%s'" % obj in checks['store.objects']['message']
    assert checks['store.links']['level'] == 'FAIL'
    assert "'%s'" % pyc in checks['store.links']['message']
    assert '-samefile' in checks['store.links']['fix']
    # Nothing was removed.
    assert os.path.exists(obj) and os.path.exists(pyc)


def test_doctor_hostile_store(tmp_path, env):
    prefix = tmp_path / 'p'
    good = put_object(tmp_path, prefix, b'a = 1\n')
    fan = os.path.dirname(good)
    # A truncated object, one without its digest, a symlink, a file that
    # is no object, another user's object, a temporary file.
    cut = put_object(tmp_path, prefix, b'b = 2\n')
    with open(cut, 'r+b') as f:
        f.truncate(10)
    bare = put_object(tmp_path, prefix, b'c = 3\n')
    os.removexattr(bare, XATTR)
    link = object_path(prefix, b'd = 4\n')
    os.makedirs(os.path.dirname(link), exist_ok=True)
    os.symlink(good, link)
    junk = os.path.join(fan, 'README')
    with open(junk, 'w') as f:
        f.write('x')
    foreign = put_object(tmp_path, prefix, b'e = 5\n')
    os.chown(foreign, 12345, 12345)
    temp = os.path.join(fan, '.pycprefix-0123456789ab')
    with open(temp, 'wb') as f:
        f.write(b'x')
    # a source's name in the store: not ours, and no sign that the
    # prefix is a source tree (the store is no mirror)
    source = os.path.join(store_of(prefix), 'v1', 'a.py')
    with open(source, 'w') as f:
        f.write('a = 1\n')
    res = run_tool(['doctor', '--json', '--python', NEWEST.exe, '--prefix',
                    str(prefix)], env)
    assert res.returncode == 1, res.stderr
    checks = {c['check']: c for c in json.loads(res.stdout)['checks']}
    objs = checks['store.objects']
    # (another user's object is unsound too: compile would discard it)
    assert objs['level'] == 'FAIL'
    assert "'%s'" % cut in objs['message'] and \
        "'%s'" % bare in objs['message']
    assert checks['store.owner']['level'] == 'FAIL'
    assert "'%s'" % foreign in checks['store.owner']['message']
    assert checks['store.contents']['level'] == 'warn'
    for p in (link, junk, source):
        assert "'%s'" % p in checks['store.contents']['message']
    # The prefix's own checks do not see the store's entries.
    assert 'prefix.cache' not in checks
    assert 'prefix.symlinks' not in checks
    assert 'prefix.temp' not in checks
    assert checks['prefix.contents']['level'] == 'ok'
    assert "'%s'" % temp in checks['store.temp']['message']
    assert checks['store.temp']['fix'].endswith(' prune')
    # The symlink was not followed: the good object is verified once.
    assert "'%s'" % good not in objs['message']


def test_doctor_untrusted_store(tmp_path, env):
    prefix = tmp_path / 'p'
    put_object(tmp_path, prefix, b'a = 1\n')
    os.chmod(store_of(prefix), 0o777)
    res = run_tool(['doctor', '--json', '--python', NEWEST.exe, '--prefix',
                    str(prefix)], env)
    assert res.returncode == 1
    checks = {c['check']: c for c in json.loads(res.stdout)['checks']}
    assert checks['store.trust']['level'] == 'FAIL'
    os.chmod(store_of(prefix), 0o700)
    os.chown(os.path.join(store_of(prefix), 'v1'), 12345, 12345)
    checks = doctor(env, prefix, None)
    assert checks['store.trust']['level'] == 'FAIL'
    assert "v1'" in checks['store.trust']['message']


def test_doctor_no_store_yet(tmp_path, env):
    prefix = tmp_path / 'p'
    prefix.mkdir()
    checks = doctor(env, prefix, None)
    assert checks['store.exists']['level'] == 'note'


# ---- status ----

def status(env, prefix, *args):
    res = run_tool(['status', '--json', '--python', NEWEST.exe, '--prefix',
                    str(prefix), *args], env)
    return json.loads(res.stdout), res


def test_status_counts_what_the_store_could_write(tmp_path, env):
    """A second copy of a tree (a new checkout, a new venv) has no pycs;
    the store filled by compiling the first holds the code of the
    sources it shares, not of an edited or new one."""
    tree = make_tree(tmp_path, {'a.py': b'a = 1\n', 'b.py': b'b = 2\n'})
    prefix = tmp_path / 'p'
    compile_tree(env, prefix, tree, store=True)
    copy = tmp_path / 'copy'
    copy.mkdir()
    (copy / 'a.py').write_bytes(b'a = 1\n')
    (copy / 'b.py').write_bytes(b'b = 2 # edited\n')
    (copy / 'c.py').write_bytes(b'c = 3\n')
    out, res = status(env, prefix, str(copy))
    assert out['counts']['missing'] == 3
    assert out['store']['from_store'] == 1
    assert {os.path.basename(f['source']): f['in_store']
            for f in out['files']} == {'a.py': True, 'b.py': False,
                                       'c.py': False}
    assert out['store']['objects'] == 2
    assert out['store']['path'] == store_of(prefix)
    # -O 1: no object of that level yet.
    out, _ = status(env, prefix, '-O', '1', str(copy))
    assert out['store']['from_store'] == 0
    text = run_tool(['status', '--python', NEWEST.exe, '--prefix',
                     str(prefix), str(copy)], env).stderr
    assert b'store: 2 objects' in text
    assert b'1 of the stale and missing pycs can be written from it' in text
    # A store compile would refuse (writable by others) holds nothing.
    os.chmod(store_of(prefix), 0o777)
    out, _ = status(env, prefix, str(copy))
    assert out['store']['from_store'] == 0


def test_status_stale_pyc_from_store_and_in_tree(tmp_path, env):
    tree = make_tree(tmp_path, {'a.py': b'a = 1\n'})
    prefix = tmp_path / 'p'
    compile_tree(env, prefix, tree, store=True)
    # The source goes back to bytes the store knows, after a change:
    # its pyc is stale and the store has the code.
    compile_tree(env, prefix, tree, store=True)
    (tree / 'a.py').write_bytes(b'a = 2\n')
    compile_tree(env, prefix, tree, store=True)
    (tree / 'a.py').write_bytes(b'a = 1\n')
    out, _ = status(env, prefix, str(tree))
    assert out['counts']['stale'] == 1 and out['store']['from_store'] == 1
    # --in-tree: the user's store (XDG_CACHE_HOME here).
    intree = tmp_path / 'intree'
    intree.mkdir()
    (intree / 'm.py').write_bytes(b'm = 1\n')
    run_tool(['compile', '-q', '--in-tree', '--python', NEWEST.exe,
              '--invalidation-mode', 'checked-hash', str(intree)], env,
             check=0)
    user_store = os.path.join(env['XDG_CACHE_HOME'], 'pycprefix-store')
    assert os.path.isdir(user_store)
    other = tmp_path / 'other'
    other.mkdir()
    (other / 'm.py').write_bytes(b'm = 1\n')
    res = run_tool(['status', '--json', '--in-tree', '--python', NEWEST.exe,
                    str(other)], env)
    out = json.loads(res.stdout)
    assert out['counts']['missing'] == 1 and out['store']['from_store'] == 1
    assert out['store']['path'] == user_store


# ---- with objects compile made ----

def test_compiled_store_du_prune_doctor(tmp_path, env):
    """Two copies of a tree compiled with the store: their pycs are hard
    links of the store's objects (checked-hash), du counts the saving,
    prune keeps linked objects and takes them once no pyc is left,
    doctor finds a shared pyc rewritten in place."""
    srcs = {'a.py': b'a = 1\n', 'b.py': b'b = 2\n'}
    t1 = make_tree(tmp_path, srcs)
    t2 = tmp_path / 'copy'
    t2.mkdir()
    for n, text in srcs.items():
        (t2 / n).write_bytes(text)
    prefix = tmp_path / 'p'
    compile_tree(env, prefix, t1, store=True)
    compile_tree(env, prefix, t2, store=True)
    pa1, pa2 = pyc_of(prefix, t1, 'a'), pyc_of(prefix, t2, 'a')
    assert os.stat(pa1).st_ino == os.stat(pa2).st_ino
    assert os.stat(pa1).st_nlink == 3
    du = json.loads(run_tool(['du', '--json', '--prefix', str(prefix)], env,
                             check=0).stdout)
    assert du['store']['objects'] == 2 and du['store']['linked'] == 2
    assert du['store']['own_disk_bytes'] == 0
    assert du['hardlink_saved_disk_bytes'] == 2 * (blocks(pa1) + blocks(
        pyc_of(prefix, t1, 'b')))
    checks = doctor(env, prefix, None)
    assert checks['store.objects']['message'].startswith('2 objects')
    assert checks['store.links']['message'].startswith('4 shared pycs')
    # Nothing in the store goes while pycs link to it, at any age.
    assert events(prune(env, prefix, '--store-age=0')) == []
    # Both copies gone: their pycs go as orphans, then the objects.
    for t in (t1, t2):
        for n in srcs:
            (t / n).unlink()
    out = prune(env, prefix, '--store-age=0')
    whys = [w for _, w in events(out) if w != 'emptied directory']
    assert whys.count('orphan: its source is gone') == 4
    assert whys.count(UNUSED) == 2
    du = json.loads(run_tool(['du', '--json', '--prefix', str(prefix)], env,
                             check=0).stdout)
    assert du['store']['objects'] == 0 and du['files'] == 0


def test_compiled_store_rewritten_in_place(tmp_path, env):
    tree = make_tree(tmp_path, {'a.py': b'a = 1\n'})
    prefix = tmp_path / 'p'
    compile_tree(env, prefix, tree, store=True)
    pyc = pyc_of(prefix, tree, 'a')
    assert os.stat(pyc).st_nlink == 2
    with open(pyc, 'r+b') as f:
        data = f.read()
        f.seek(len(data) - 1)
        f.write(bytes([data[-1] ^ 0xff]))
    res = run_tool(['doctor', '--json', '--python', NEWEST.exe, '--prefix',
                    str(prefix)], env)
    assert res.returncode == 1
    checks = {c['check']: c for c in json.loads(res.stdout)['checks']}
    assert checks['store.links']['level'] == 'FAIL'
    assert "'%s'" % pyc in checks['store.links']['message']
    assert checks['store.objects']['level'] == 'FAIL'


def test_prune_tags_takes_that_compilers_objects(tmp_path, env):
    tree = make_tree(tmp_path, {'a.py': b'a = 1\n', 'b.py': b'b = 2\n'})
    prefix = tmp_path / 'p'
    compile_tree(env, prefix, tree, store=True)
    # an object of another compiler (tag), no pyc links to it: not this
    # --tags', and used recently
    src = b'c = 3\n'
    other = object_path(prefix, src, comp='pypy39-0123456789abcdef')
    os.makedirs(os.path.dirname(other), mode=0o700)
    data = checked_pyc(tmp_path, src)
    with open(other, 'wb') as f:
        f.write(data)
    os.setxattr(other, XATTR, hashlib.sha256(data).digest())
    out = prune(env, prefix, '--tags=' + NEWEST.tag)
    store = store_of(prefix) + '/'
    gone = [(p, w) for p, w in events(out) if p.startswith(store)]
    assert len(gone) == 2
    assert {w for _, w in gone} == {'its tag was listed'}
    assert all('/v1/%s-' % NEWEST.tag in p for p, _ in gone)
    assert os.path.exists(other)
    assert not os.path.exists(pyc_of(prefix, tree, 'a'))
    # --tags=pypy39 takes it, whatever its last use.
    out = prune(env, prefix, '--tags=pypy39')
    assert events(out) == [(other, 'its tag was listed')]


def test_doctor_checks_the_user_store_too(tmp_path, env):
    prefix = tmp_path / 'p'
    prefix.mkdir()
    checks = doctor(env, prefix, None)
    assert not [k for k in checks if k.startswith('user-store.')]
    tree = make_tree(tmp_path, {'a.py': b'a = 1\n'})
    run_tool(['compile', '-q', '--in-tree', '--python', NEWEST.exe,
              '--invalidation-mode', 'checked-hash', str(tree)], env,
             check=0)
    checks = doctor(env, prefix, None)
    assert checks['user-store.objects']['message'].startswith('1 object,')
    assert checks['user-store.trust']['level'] == 'ok'
    assert 'user-store.links' not in checks
    user = os.path.join(env['XDG_CACHE_HOME'], 'pycprefix-store')
    objs = [os.path.join(d, f) for d, _, fs in os.walk(user) for f in fs
            if f.endswith('.c')]
    assert len(objs) == 1
    os.unlink(objs[0])
    with open(objs[0], 'wb') as f:
        f.write(b'not what its digest says')
    os.setxattr(objs[0], XATTR, b'\0' * 32)
    res = run_tool(['doctor', '--json', '--python', NEWEST.exe, '--prefix',
                    str(prefix)], env)
    assert res.returncode == 1
    checks = {c['check']: c for c in json.loads(res.stdout)['checks']}
    assert checks['user-store.objects']['level'] == 'FAIL'
    assert "'%s'" % objs[0] in checks['user-store.objects']['message']


def test_prune_store_dir_prunes_the_user_store(tmp_path, env):
    """The store of --in-tree runs (${XDG_CACHE_HOME}/pycprefix-store) is
    no prefix's: prune --store DIR prunes it alone; prune of the prefix
    leaves it."""
    tree = make_tree(tmp_path, {'a.py': b'a = 1\n', 'b.py': b'b = 2\n'})
    run_tool(['compile', '-q', '--in-tree', '--python', NEWEST.exe,
              '--invalidation-mode', 'checked-hash', str(tree)], env,
             check=0)
    user = os.path.join(env['XDG_CACHE_HOME'], 'pycprefix-store')
    objs = sorted(os.path.join(d, f) for d, _, fs in os.walk(user)
                  for f in fs if f.endswith('.c'))
    assert len(objs) == 2
    # Linked from the tree's __pycache__: kept, whatever the age.
    assert events(prune(env, tmp_path / 'p', '--store', user,
                        '--store-age=0')) == []
    run_tool(['clean', '-q', str(tree)], env, check=0)
    # The default prefix's prune does not touch it.
    res = run_tool(['prune', '--json', '--store-age=0'], env, check=0)
    assert json.loads(res.stdout)['events'] == []
    dry = prune(env, tmp_path / 'p', '--store', user, '--store-age=0', '-n')
    assert events(dry) == [(o, UNUSED) for o in objs]
    out = prune(env, tmp_path / 'p', '--store', user, '--max-size', '0')
    # both, in the order of their files (within one second: by inode)
    assert sorted(events(out)) == [(o, 'least recently used, over '
                                    '--max-size') for o in objs]
    assert all(not os.path.exists(o) for o in objs)
    assert os.path.isdir(os.path.dirname(objs[0]))
    # Usage: alone, no --older-than; a store not there holds nothing.
    for bad in (['--store', user, str(tree)], ['--store', user,
                                               '--sys-path'],
                ['--store', user, '--older-than', '1d'], ['--store=']):
        res = prune(env, tmp_path / 'p', *bad, check=2)
        assert b'--store' in res.stderr or b'--older-than' in res.stderr
    assert events(prune(env, tmp_path / 'p', '--store',
                        str(tmp_path / 'none'))) == []


def test_a_store_that_is_a_symlink_is_never_followed(tmp_path, env):
    """PREFIX/.pycprefix-store planted as a symlink to a directory of old
    object-like files: prune removes nothing there and reports no
    error, du counts nothing, doctor fails the store's trust."""
    real = tmp_path / 'real'
    prefix = tmp_path / 'p'
    obj = put_object(tmp_path, real, b'a = 1\n', age_days=40)
    prefix.mkdir()
    os.symlink(store_of(real), store_of(prefix))
    out = prune(env, prefix, '--store-age=0')
    assert events(out) == [] and out['errors'] == 0
    assert os.path.exists(obj)
    du = json.loads(run_tool(['du', '--json', '--prefix', str(prefix)], env,
                             check=0).stdout)
    assert du['store']['objects'] == 0
    res = run_tool(['doctor', '--json', '--python', NEWEST.exe, '--prefix',
                    str(prefix)], env)
    assert res.returncode == 1
    checks = {c['check']: c for c in json.loads(res.stdout)['checks']}
    assert checks['store.trust']['level'] == 'FAIL'
    assert checks['store.objects']['message'].startswith('0 objects')


def test_a_prefix_holding_the_user_store_takes_it_for_a_store(tmp_path,
                                                              env):
    """A prefix such as ~/.cache holds the store of --in-tree runs: its
    walks take it for a store (pruned, measured), never for a mirror."""
    tree = make_tree(tmp_path, {'a.py': b'a = 1\n'})
    run_tool(['compile', '-q', '--in-tree', '--python', NEWEST.exe,
              '--invalidation-mode', 'checked-hash', str(tree)], env,
             check=0)
    cache = env['XDG_CACHE_HOME']
    user = os.path.join(cache, 'pycprefix-store')
    # a file named as a pyc in it: no orphan of a mirrored source
    with open(os.path.join(user, 'x.%s.pyc' % NEWEST.tag), 'wb') as f:
        f.write(b'x')
    du = json.loads(run_tool(['du', '--json', '--prefix', cache], env,
                             check=0).stdout)
    assert du['files'] == 0
    assert du['store']['objects'] == 1 and du['store']['others'] == 1
    run_tool(['clean', '-q', str(tree)], env, check=0)
    out = prune(env, cache, '--store-age=0')
    assert [w for _, w in events(out)] == [UNUSED]
    assert os.path.exists(os.path.join(user, 'x.%s.pyc' % NEWEST.tag))
