"""Trees that try to break the walkers: symlink loops (in the tree and in
the prefix), names with newlines and bytes that are not UTF-8, very deep
trees and paths longer than PATH_MAX."""
import os
import re
import subprocess

from conftest import run_tool
from torture_lib import (NEWEST, OLDEST, assert_all_valid, crashed,
                         json_out, snapshot, temp_files, walk_files)

PATH_MAX = os.pathconf('/', 'PC_PATH_MAX')


def write(path, data=b'x = 1\n'):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)


def ended(res):
    assert not crashed(res.returncode), res.stderr
    return res


# ---- symlink loops ----

def loop_tree(tmp_path):
    tree = str(tmp_path / 'tree')
    for p in ('m.py', 'a/a.py', 'a/b/b.py', 'a/b/c/c.py'):
        write(os.path.join(tree, p))
    write(str(tmp_path / 'outside' / 'o.py'))
    os.symlink('../..', os.path.join(tree, 'a', 'b', 'up'))     # to tree/a
    os.symlink('.', os.path.join(tree, 'self'))
    os.symlink(tree, os.path.join(tree, 'a', 'b', 'c', 'root'))
    os.symlink('../outside', os.path.join(tree, 'ext'))
    os.symlink('loop.py', os.path.join(tree, 'loop.py'))       # ELOOP
    os.symlink('y.py', os.path.join(tree, 'a', 'x.py'))
    os.symlink('x.py', os.path.join(tree, 'a', 'y.py'))
    return tree


def test_symlink_loops_in_the_tree(clean_env, tmp_path):
    it = NEWEST
    tree = loop_tree(tmp_path)
    real = {os.path.join(tree, p) for p in ('m.py', 'a/a.py', 'a/b/b.py',
                                            'a/b/c/c.py')}
    for follow, expect in (([], real),
                           (['--follow-symlinks'],
                            real | {os.path.join(tree, 'ext', 'o.py')})):
        prefix = str(tmp_path / ('p%d' % len(follow)))
        res = ended(run_tool(['compile', '--json', '--python', it.exe,
                              '--prefix', prefix, *follow, tree], clean_env,
                             check=0))
        out = json_out(res)
        assert out['sources'] == out['compiled'] == len(expect)
        v = assert_all_valid(prefix, [it])
        assert len(v['ok']) == len(expect)
        res = ended(run_tool(['status', '--json', '--python', it.exe,
                              '--prefix', prefix,
                              *follow, tree], clean_env,
                             check=0))
        files = json_out(res)['files']
        assert {f['source'] for f in files} == expect
        assert {f['state'] for f in files} == {'fresh'}
    # The cache-side walkers never follow links either.
    prefix = str(tmp_path / 'p0')
    mirror = os.path.join(prefix, tree.lstrip('/'))
    os.symlink(prefix, os.path.join(mirror, 'a', 'toprefix'))
    os.symlink('/', os.path.join(mirror, 'toroot'))
    os.symlink('.', os.path.join(mirror, 'a', 'b', 'dot'))
    before = snapshot(prefix)
    for args in (['du', '--json'], ['prune', '--json'],
                 ['status', '--json', '--python', it.exe]):
        res = ended(run_tool(args + ['--prefix', prefix] + (
            [tree] if args[0] == 'status' else []), clean_env, check=0))
        json_out(res)
    assert snapshot(prefix) == before
    subprocess.run([it.exe, '-I', '-m', 'compileall', '-q', tree],
                   check=True, env={}, timeout=120)
    ended(run_tool(['migrate', '-q', '--prefix', prefix, tree], clean_env,
                   check=0))
    ended(run_tool(['clean', '-q', tree], clean_env, check=0))
    assert [p for p in walk_files(tree) if '__pycache__' in p] == []


# ---- hostile names ----

NAMES = [b'new\nline', b'tab\there', b'bad\xff\xfe', b'latin\xe9',
         b'surrogate\xed\xa0\x80', b'overlong\xc0\xaf', b'big\xf4\x90\x80\x80',
         b'trunc\xe2\x82', b'quote"', b'back\\slash', b'sp ace', b'ctl\x01\x7f',
         b'caf\xc3\xa9', b'snake\xf0\x9f\x90\x8d', b'-dash']
# ("a.b.py" and ".a.py" names: test_dotted_source_names.)


def hostile_tree(root):
    root = os.fsencode(root)
    srcs = []
    for d in (b'', b'dir\xff\n/', b'd\xc3\xa9j\xe0/'):
        for n in NAMES:
            p = os.path.join(root, d + n + b'.py')
            write(p)
            srcs.append(p)
    broken = os.path.join(root, b'broken\n\xff.py')
    write(broken, b'def (:\n')
    return srcs, broken


def test_names_with_newlines_and_bad_utf8(clean_env, tmp_path):
    it = NEWEST
    tree = str(tmp_path / 'tree')
    srcs, broken = hostile_tree(tree)
    prefix = str(tmp_path / 'prefix')
    base = ['--python', it.exe, '--prefix', prefix]
    res = ended(run_tool(['compile', '--dry-run', '--json'] + base + [tree],
                         clean_env, check=0))
    assert json_out(res)['would_compile'] == len(srcs) + 1
    res = ended(run_tool(['compile', '--json'] + base + [tree], clean_env,
                         check=1))
    out = json_out(res)
    assert out['compiled'] == len(srcs) and out['failed'] == 1
    [fail] = out['failures']
    assert os.fsencode(fail['source']) == broken
    assert (fail['line'], fail['message'].split(':')[0]) == (1,
                                                           'SyntaxError')
    # Python finds and uses every one of them as it is.
    v = assert_all_valid(prefix, [it])
    assert sorted(os.fsencode(p) for p in v['ok']) == sorted(
        os.fsencode(prefix) + s[:-3] + b'.' + it.tag.encode() + b'.pyc'
        for s in srcs)
    res = ended(run_tool(['status', '--json'] + base + [tree], clean_env,
                         check=0))
    files = json_out(res)['files']
    states = {os.fsencode(f['source']): f['state'] for f in files}
    assert states.pop(broken) == 'broken'  # compile found it so
    assert states == {s: 'fresh' for s in srcs}
    for f in files:
        if f['cache']:
            assert os.path.exists(os.fsencode(f['cache'])) == (
                f['state'] == 'fresh')
    # Orphans with such names: prune names each removal exactly.
    gone = srcs[::3]
    for s in gone:
        os.unlink(s)
    res = ended(run_tool(['status', '--json'] + base + [tree], clean_env,
                         check=0))
    orphans = [f for f in json_out(res)['files'] if f['state'] == 'orphan']
    assert sorted(os.fsencode(f['source']) for f in orphans) == sorted(gone)
    res = ended(run_tool(['prune', '--json', '--prefix', prefix], clean_env,
                         check=0))
    removed = [os.fsencode(e['path']) for e in json_out(res)['events']
               if e['why'].startswith('orphan')]
    assert sorted(removed) == sorted(
        os.fsencode(prefix) + s[:-3] + b'.' + it.tag.encode() + b'.pyc'
        for s in gone)
    v = assert_all_valid(prefix, [it])
    assert len(v['ok']) == len(srcs) - len(gone)
    # migrate and clean with such names.
    res = subprocess.run([OLDEST.exe, '-I', '-m', 'compileall', '-q', tree],
                         env={}, timeout=120, capture_output=True)
    assert res.returncode == 1 and b'broken' in res.stdout  # only that one
    res = ended(run_tool(['migrate', '--json', '--prefix', prefix, tree],
                         clean_env, check=0))
    moved = [e for e in json_out(res)['events'] if 'to' in e]
    assert len(moved) == len(srcs) - len(gone)
    for e in moved:
        assert not os.path.exists(os.fsencode(e['path']))
        assert os.path.exists(os.fsencode(e['to']))
    assert len(assert_all_valid(prefix, [OLDEST])['ok']) == len(moved)
    res = ended(run_tool(['du', '--json', '--prefix', prefix], clean_env,
                         check=0))
    assert json_out(res)['files'] == 2 * len(moved)
    res = ended(run_tool(['clean', '--json', tree], clean_env, check=0))
    json_out(res)


def test_dotted_source_names(clean_env, tmp_path):
    """"a.b.py" gets "a.b.cpython-3X.pyc", a name CPython's
    source_from_cache() refuses to map back; its cache_from_source()
    still gives it, and Python reads and writes it there.  migrate must
    move it like any other fresh pyc, status and prune must see it as an
    orphan once its source is gone."""
    it = NEWEST
    tree = str(tmp_path / 'tree')
    write(os.path.join(tree, 'plain.py'))
    dotted = [os.path.join(tree, n) for n in ('a.b.py', '.hidden.py')]
    for p in dotted:
        write(p)
    subprocess.run([it.exe, '-I', '-m', 'compileall', '-q', tree],
                   check=True, env={}, timeout=120)
    prefix = str(tmp_path / 'prefix')
    res = run_tool(['migrate', '--json', '--prefix', prefix, tree],
                   clean_env, check=0)
    moved = sorted(os.path.basename(e['to'])
                   for e in json_out(res)['events'] if 'to' in e)
    names = sorted(os.path.basename(p)[:-3] + '.%s.pyc' % it.tag
                   for p in dotted)
    assert moved == sorted(names + ['plain.%s.pyc' % it.tag])
    assert len(assert_all_valid(prefix, [it])['ok']) == 3
    for p in dotted:
        os.unlink(p)
    res = run_tool(['status', '--json', '--python', it.exe, '--prefix',
                    prefix, tree], clean_env, check=0)
    assert sorted(os.path.basename(f['cache']) for f in json_out(res)[
        'files'] if f['state'] == 'orphan') == names
    res = run_tool(['prune', '--json', '--prefix', prefix], clean_env,
                   check=0)
    assert sorted(os.path.basename(e['path'])
                  for e in json_out(res)['events']) == names


# ---- deep trees, long paths ----

def test_deep_tree(clean_env, tmp_path):
    it = NEWEST
    tree = str(tmp_path / 'tree')
    d = tree
    for level in range(200):
        d = os.path.join(d, 'd')
        write(os.path.join(d, 'm%d.py' % level), b'x = %d\n' % level)
    prefix = str(tmp_path / 'prefix')
    base = ['--python', it.exe, '--prefix', prefix]
    res = ended(run_tool(['compile', '--json'] + base + [tree], clean_env,
                         check=0))
    assert json_out(res)['compiled'] == 200
    assert len(assert_all_valid(prefix, [it])['ok']) == 200
    ended(run_tool(['status', '--check', '-q'] + base + [tree], clean_env,
                   check=0))
    os.unlink(os.path.join(d, 'm199.py'))
    res = ended(run_tool(['prune', '--json', '--prefix', prefix], clean_env,
                         check=0))
    assert json_out(res)['files'] == 1
    res = ended(run_tool(['du', '--json', '--prefix', prefix], clean_env,
                         check=0))
    assert json_out(res)['files'] == 199


def make_long_tree(root, name_len=200):
    """Levels of long names, each with a module, down past PATH_MAX
    (built with directory descriptors: no path given to the kernel is
    too long).  Returns the sources whose paths the kernel accepts and
    the first directory whose path it does not."""
    os.makedirs(root)
    fd = os.open(root, os.O_RDONLY)
    path, reachable, too_long = root, [], None
    level = 0
    while too_long is None:
        name = ('%03d' % level) + 'n' * (name_len - 3)
        os.mkdir(name, dir_fd=fd)
        nfd = os.open(name, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = nfd
        path = os.path.join(path, name)
        f = os.open('m.py', os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(f, b'x = %d\n' % level)
        os.close(f)
        if len(os.fsencode(path)) >= PATH_MAX:
            too_long = path
        elif len(os.fsencode(path)) + len('/m.py') < PATH_MAX:
            reachable.append(os.path.join(path, 'm.py'))
        level += 1
    os.close(fd)
    return reachable, too_long


def rm_long_tree(root):
    subprocess.run(['rm', '-rf', root], check=True)


def test_paths_longer_than_path_max(clean_env, tmp_path):
    """The walk reports the directory it cannot name; a source whose pyc
    path is too long for the kernel is reported as not written (Python
    could never read it) rather than claimed compiled on every run."""
    it = NEWEST
    tree = str(tmp_path / 'tree')
    reachable, too_long = make_long_tree(tree)
    # A prefix long enough that the deepest reachable sources' pycs fall
    # past PATH_MAX while the shallower ones fit.
    prefix = os.path.join(str(tmp_path), 'p' * 250)
    pyc = {s: prefix + s[:-3] + '.%s.pyc' % it.tag for s in reachable}
    unwritable = {s for s in reachable
                  if len(os.fsencode(pyc[s])) >= PATH_MAX}
    assert unwritable and len(unwritable) < len(reachable)
    base = ['--python', it.exe, '--prefix', prefix]
    try:
        res = ended(run_tool(['compile'] + base + [tree], clean_env))
        err = res.stderr.decode()
        short = re.sub('n{20,}', '...', err)
        assert res.returncode == 1, short
        assert "cannot read '%s': File name too long" % too_long in err, short
        reported = {s for s in reachable if s + ':' in err}
        assert reported == unwritable, (
            'sources whose pyc path is too long, reported: %d of %d'
            % (len(reported), len(unwritable)), short)
        res = ended(run_tool(['compile', '--json'] + base + [tree],
                             clean_env, check=1))
        assert json_out(res)['compiled'] == 0
        res = ended(run_tool(['status', '--json'] + base + [tree],
                             clean_env, check=1))
        out = json_out(res)
        assert {f['source'] for f in out['files']
                if f['state'] == 'missing'} == unwritable
        assert out['counts']['fresh'] == len(reachable) - len(unwritable)
        for args in (['prune', '--json'], ['du', '--json']):
            res = ended(run_tool(args + ['--prefix', prefix], clean_env))
            assert res.returncode in (0, 1), res.stderr
            json_out(res)
        assert temp_files(prefix) == []
    finally:
        rm_long_tree(tree)
        rm_long_tree(prefix)
