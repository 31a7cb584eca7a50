"""Permissions, as an unprivileged user (root ignores permission bits, so
as root the commands run through setpriv as nobody): a read-only prefix,
unreadable directories and sources in the tree.  Each refusal is a clear
error naming the path, the exit status says so, and nothing partial is
left; whatever could be done is done."""
import json
import os
import re

import pytest

from conftest import run_tool
from torture_lib import (OLDEST, Sandbox, assert_all_valid, crashed,
                         nobody_python, snapshot, stdlib_tree, temp_files,
                         unprivileged_uid, walk_files)

PY = nobody_python()


@pytest.fixture
def box():
    if PY is None:
        pytest.fail('no CPython >= 3.8 that an unprivileged user can run '
                    '(pyenv ones live under /root)')
    sb = Sandbox()
    yield sb
    sb.cleanup()


def pyc_of(prefix, source):
    return os.path.join(prefix, source.lstrip('/'))[:-3] + '.%s.pyc' % PY.tag


def chown_tree(path):
    uid = unprivileged_uid()
    for p in [path] + walk_files(path) + [
            os.path.join(d, x) for d, dirs, _ in os.walk(path) for x in dirs]:
        os.chown(p, uid, uid, follow_symlinks=False)


def lines(res):
    return res.stderr.decode('utf-8', 'replace').splitlines()


def test_read_only_prefix(clean_env, box):
    tree = os.path.join(box.dir, 'tree')
    sources = stdlib_tree(tree, it=OLDEST, limit=30)
    ro = box.mkdir('ro')                     # root's, 0755
    args = ['compile', '--python', PY.exe, '--prefix', ro, tree]
    res = box.run(args, clean_env)
    assert not crashed(res.returncode), res.stderr
    assert res.returncode in (1, 2), res.stderr
    assert b'Permission denied' in res.stderr and ro.encode() in res.stderr
    if res.returncode == 1:  # then each source is named
        for s in sources:
            assert any(s in ln and 'Permission denied' in ln
                       for ln in lines(res)), s
    assert walk_files(ro) == [] and os.listdir(ro) == []
    # A prefix that cannot even be created.
    res = box.run(['compile', '--python', PY.exe, '--prefix',
                   os.path.join(ro, 'new'), tree], clean_env, check=2)
    assert re.search(r"cannot use the prefix '%s/new': Permission denied" %
                     re.escape(ro), res.stderr.decode()), res.stderr
    assert os.listdir(ro) == []
    # Writable, but one mirrored directory is not: the rest is written.
    prefix = box.mkdir('prefix', owner=True)
    locked = os.path.join(prefix, tree.lstrip('/'), 'email')
    os.makedirs(locked)
    chown_tree(prefix)
    os.chown(locked, 0, 0)
    args = ['compile', '--python', PY.exe, '--prefix', prefix, tree]
    res = box.run(args, clean_env, check=1)
    in_locked = {s for s in sources
                 if s.startswith(os.path.join(tree, 'email', ''))}
    assert in_locked
    for ln in lines(res)[:-1]:
        m = re.match(r"^(.*\.py): cannot write '(.*)': Permission denied$",
                     ln)
        assert m and m.group(1) in in_locked, ln
        assert m.group(2) == pyc_of(prefix, m.group(1))
    assert len(lines(res)) == len(in_locked) + 1
    assert temp_files(prefix) == []
    v = assert_all_valid(prefix, [PY])
    assert len(v['ok']) == len(sources) - len(in_locked)
    # prune and migrate against a prefix they cannot change: named
    # errors, exit 1, nothing lost or changed.
    os.chown(locked, unprivileged_uid(), unprivileged_uid())
    res = box.run(args, clean_env, check=0)
    victims = sorted(sources)[:5]
    for s in victims:
        os.unlink(s)  # their pycs are orphans now
    os.chown(prefix, 0, 0)
    for d, dirs, _ in os.walk(prefix):
        for x in dirs:
            os.chown(os.path.join(d, x), 0, 0)
    before = snapshot(prefix)
    res = box.run(['prune', '--prefix', prefix], clean_env)
    assert res.returncode == 1, res.stderr
    for s in victims:
        assert any(pyc_of(prefix, s) in ln and 'Permission denied' in ln
                   for ln in lines(res)), (s, res.stderr)
    assert snapshot(prefix) == before


def test_migrate_into_read_only_prefix_keeps_pycs(clean_env, box):
    tree = os.path.join(box.dir, 'tree')
    stdlib_tree(tree, it=OLDEST, limit=20)
    import subprocess
    subprocess.run([PY.exe, '-I', '-m', 'compileall', '-q', tree],
                   check=True, env={}, timeout=120)
    chown_tree(tree)
    before = snapshot(tree)
    ro = box.mkdir('ro')
    res = box.run(['migrate', '--python', PY.exe, '--prefix', ro, tree],
                  clean_env)
    assert not crashed(res.returncode), res.stderr
    assert res.returncode in (1, 2), res.stderr
    assert b'Permission denied' in res.stderr
    assert snapshot(tree) == before
    assert os.listdir(ro) == []


def unreadable_tree(box, modes):
    tree = os.path.join(box.dir, 'tree')
    sources = stdlib_tree(tree, it=OLDEST, limit=40)
    hidden = {}
    for name, mode in modes:
        d = os.path.join(tree, name)
        os.makedirs(os.path.join(d, 'sub'))
        for p in ('a.py', 'sub/b.py'):
            with open(os.path.join(d, p), 'w') as f:
                f.write('x = 1\n')
        hidden[d] = mode
    for d, mode in hidden.items():
        os.chmod(d, mode)
    return tree, sources, hidden


def test_unreadable_directories_and_sources(clean_env, box):
    tree, sources, hidden = unreadable_tree(
        box, [('noperm', 0o000), ('noread', 0o311)])
    secret = os.path.join(tree, 'secret.py')
    with open(secret, 'w') as f:
        f.write('s = 1\n')
    os.chmod(secret, 0o000)
    prefix = box.mkdir('prefix', owner=True)
    res = box.run(['compile', '--python', PY.exe, '--prefix', prefix, tree],
                  clean_env)
    assert not crashed(res.returncode), res.stderr
    assert res.returncode == 1, res.stderr
    err = res.stderr.decode()
    for d in hidden:
        assert re.search(r"cannot read '%s': Permission denied" %
                         re.escape(d), err), (d, err)
    assert '%s: cannot read: Permission denied' % secret in err, err
    assert re.search(r'^%d compiled, 0 fresh, %d failed' % (
        len(sources), 1 + len(hidden)), err, re.M), err
    assert temp_files(prefix) == []
    v = assert_all_valid(prefix, [PY])
    assert len(v['ok']) == len(sources)
    # status: the same directories are errors; the rest is fresh.
    res = box.run(['status', '--json', '--python', PY.exe, '--prefix',
                   prefix, tree], clean_env)
    assert res.returncode == 1, res.stderr
    out = json.loads(res.stdout.decode('utf-8'))
    assert out['errors'] == len(hidden), res.stderr
    for d in hidden:
        assert ("'%s': Permission denied" % d) in res.stderr.decode()
    states = {e['source']: e['state'] for e in out['files']}
    assert states.pop(secret) == 'missing'
    assert set(states) == set(sources)
    assert set(states.values()) == {'fresh'}


def test_directory_without_search_permission_is_reported(clean_env, box):
    """A directory that can be listed but not entered (r, no x): its
    entries cannot be examined.  They must be reported, not passed over
    in silence as if they were not there (a run saying '0 failed' has
    compiled the tree)."""
    tree, sources, hidden = unreadable_tree(box, [('nosearch', 0o644)])
    [d] = hidden
    prefix = box.mkdir('prefix', owner=True)
    res = box.run(['compile', '--python', PY.exe, '--prefix', prefix, tree],
                  clean_env)
    assert not crashed(res.returncode), res.stderr
    assert res.returncode == 1, res.stderr
    assert re.search(r"'%s/[a-z./]*': Permission denied" % re.escape(d),
                     res.stderr.decode()), res.stderr
    assert len(assert_all_valid(prefix, [PY])['ok']) == len(sources)
    res = box.run(['status', '-q', '--python', PY.exe, '--prefix', prefix,
                   tree], clean_env)
    assert res.returncode == 1, res.stderr
    assert re.search(r"'%s/[a-z./]*': Permission denied" % re.escape(d),
                     res.stderr.decode()), res.stderr


def test_prefix_that_cannot_be_written_is_one_error(clean_env, box):
    """A prefix we cannot write into, whoever owns it: one line naming
    it and exit 2, not one 'Permission denied' per source."""
    tree = os.path.join(box.dir, 'tree')
    stdlib_tree(tree, it=OLDEST, limit=30)
    first = tree.lstrip('/').split('/')[0]
    cases = []
    ro = box.mkdir('ro')                          # root's, 0755
    cases.append((ro, ro))
    mine = box.mkdir('mine', mode=0o555, owner=True)  # read-only, ours
    cases.append((mine, mine))
    # Ours, but the first directory that mirrors the sources is root's
    # (left by a run under sudo): every write goes through it.
    top = box.mkdir('top', owner=True)
    os.mkdir(os.path.join(top, first))
    cases.append((top, os.path.join(top, first)))
    for prefix, named in cases:
        before = snapshot(prefix)
        res = box.run(['compile', '--python', PY.exe, '--prefix', prefix,
                       tree], clean_env)
        assert res.returncode == 2, (prefix, res.stderr)
        err = lines(res)
        assert len(err) == 1, (prefix, err)
        assert re.search(r"cannot write into the prefix.*'%s'.*: "
                         r"Permission denied$" % re.escape(named),
                         err[0]), err
        # Nothing written but, where the prefix can be written, the
        # store's empty frame: no object of a run that wrote no pyc.
        after = snapshot(prefix)
        store = os.path.join(prefix, '.pycprefix-store')
        made = {p for p in after if p not in before}
        assert all(p.startswith(store + '/') or p == store for p in made), made
        assert not [p for p in made if re.search(r'/[0-9a-f]{62}\.\d\.', p)]
        assert {p: v for p, v in after.items() if p not in made} == before
        assert temp_files(prefix) == []
