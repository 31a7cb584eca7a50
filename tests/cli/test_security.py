"""A prefix no other user can poison, and `pycprefix doctor`.

Python runs what the prefix holds: pycprefix refuses to write where
another user could change it (ssh's StrictModes rule), never goes through
a symlink even while an attacker swaps one in, and doctor reports what is
wrong and how to fix it.
"""
import json
import os
import stat
import threading

import pytest

from conftest import INTERPRETERS, run_tool

IS_ROOT = os.geteuid() == 0


def tree(tmp_path, names=('a.py', 'pkg/b.py')):
    src = tmp_path / 'src'
    for n in names:
        (src / n).parent.mkdir(parents=True, exist_ok=True)
        (src / n).write_text('x = %r\n' % n)
    return src


def pycs(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob('*.pyc'))


def test_refuses_prefix_under_world_writable_dir(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    src = tree(tmp_path)
    shared = tmp_path / 'shared'
    shared.mkdir()
    shared.chmod(0o777)
    pfx = shared / 'pfx'
    res = run_tool(['compile', '--python', it.exe, '--prefix', str(pfx),
                    str(src)], clean_env, check=2)
    err = res.stderr.decode()
    assert "'%s' is writable by other users" % shared in err
    assert '--force-insecure' in err
    assert not pfx.exists()
    # --force-insecure writes, and still says why it is unsafe.
    res = run_tool(['compile', '--python', it.exe, '--prefix', str(pfx),
                    '--force-insecure', str(src)], clean_env, check=0)
    assert 'warning: ' in res.stderr.decode()
    assert len(pycs(pfx)) == 2
    # The sticky bit (as on /tmp) makes the same directory safe.
    shared.chmod(0o1777)
    pfx2 = shared / 'pfx2'
    run_tool(['compile', '--python', it.exe, '--prefix', str(pfx2),
              str(src)], clean_env, check=0)
    assert len(pycs(pfx2)) == 2


def test_prefix_dirs_are_owner_writable_only(clean_env, tmp_path):
    """Even under umask 0, what pycprefix creates is not group/other
    writable."""
    it = INTERPRETERS[-1]
    src = tree(tmp_path)
    pfx = tmp_path / 'new' / 'pfx'
    old = os.umask(0)
    try:
        run_tool(['compile', '--python', it.exe, '--prefix', str(pfx),
                  str(src)], clean_env, check=0)
    finally:
        os.umask(old)
    dirs = [tmp_path / 'new', pfx] + [p for p in pfx.rglob('*')
                                      if p.is_dir()]
    assert len(dirs) > 3
    for d in dirs:
        assert stat.S_IMODE(d.stat().st_mode) & 0o022 == 0, d


def test_open_or_foreign_directory_inside_prefix(clean_env, tmp_path):
    """A directory inside the prefix that others may write into (or that
    another user owns) is not written through: that file fails, the rest
    is compiled."""
    it = INTERPRETERS[-1]
    src = tree(tmp_path)
    pfx = tmp_path / 'pfx'
    mirror = pfx / str(src / 'pkg').lstrip('/')
    mirror.mkdir(parents=True)
    mirror.chmod(0o777)
    res = run_tool(['compile', '--python', it.exe, '--prefix', str(pfx),
                    str(src)], clean_env, check=1)
    assert b"another user's or writable by others" in res.stderr
    assert b'b.py' in res.stderr
    assert [p.name for p in pfx.rglob('*.pyc')] == ['a.%s.pyc' % it.tag]
    assert list(mirror.iterdir()) == []
    if IS_ROOT:
        mirror.chmod(0o755)
        os.chown(mirror, 65534, 65534)
        res = run_tool(['compile', '--python', it.exe, '--prefix',
                        str(pfx), str(src)], clean_env, check=1)
        assert b"another user's" in res.stderr
        assert list(mirror.iterdir()) == []


def test_migrate_refuses_unsafe_prefix(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    src = tree(tmp_path, ['m.py'])
    it.run('import py_compile, sys; py_compile.compile(sys.argv[1])',
           str(src / 'm.py'), env=clean_env)
    shared = tmp_path / 'shared'
    shared.mkdir()
    shared.chmod(0o757)
    pfx = shared / 'pfx'
    res = run_tool(['migrate', '--prefix', str(pfx), str(src)], clean_env,
                   check=2)
    assert b'refusing to write' in res.stderr
    assert (src / '__pycache__').is_dir() and not pfx.exists()
    run_tool(['migrate', '--prefix', str(pfx), '--force-insecure',
              str(src)], clean_env, check=0)
    assert not (src / '__pycache__').exists()
    assert len(pycs(pfx)) == 1


def test_env_warns_about_unsafe_prefix(clean_env, tmp_path):
    shared = tmp_path / 'shared'
    shared.mkdir()
    shared.chmod(0o777)
    res = run_tool(['env', '--prefix', str(shared / 'p')], clean_env,
                   check=0)
    assert res.stdout.decode().startswith('export PYTHONPYCACHEPREFIX=')
    assert b'writable by other users' in res.stderr


def test_symlink_swapped_in_during_compile(clean_env, tmp_path):
    """An attacker who can write in the prefix swaps a mirrored directory
    for a symlink to elsewhere, again and again, while compile runs: no
    byte lands outside the prefix."""
    it = INTERPRETERS[-1]
    # One source a directory: the writer walks down the prefix once a
    # directory (it keeps the last one open), so each is a chance.
    src = tree(tmp_path, ['d%d/m.py' % i for i in range(200)])
    pfx = tmp_path / 'pfx'
    pfx.mkdir()
    outside = tmp_path / 'outside'
    outside.mkdir()
    first = pfx / str(tmp_path).lstrip('/').split('/')[0]
    stop = threading.Event()

    def attacker():
        n = 0
        while not stop.is_set():
            n += 1
            try:
                if first.is_symlink():
                    stop.wait(0.002)
                    first.unlink()
                elif first.is_dir():
                    os.rename(first, pfx / ('away%d' % n))
                    first.symlink_to(outside)
            except OSError:
                pass

    t = threading.Thread(target=attacker)
    t.start()
    refused = 0
    try:
        for _ in range(6):
            res = run_tool(['compile', '--python', it.exe, '--prefix',
                            str(pfx), '--force', str(src)], clean_env)
            assert res.returncode in (0, 1), res.stderr
            refused += (res.stderr.count(b'Not a directory') +
                        res.stderr.count(b'in the prefix was refused'))
    finally:
        stop.set()
        t.join()
    assert list(outside.rglob('*')) == []
    assert refused, 'the attacker never got a symlink in: test is void'


def doctor(env, *args, check=None, cwd=None):
    res = run_tool(['doctor', '--json', *args], env, check=check, cwd=cwd)
    out = json.loads(res.stdout)
    by = {}
    for c in out['checks']:
        by.setdefault(c['check'], []).append(c)
    return res, out, by


def levels(by, check):
    return [c['level'] for c in by.get(check, [])]


def test_doctor_all_good(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    src = tree(tmp_path)
    pfx = tmp_path / 'pfx'
    env = dict(clean_env, PYTHONPYCACHEPREFIX=str(pfx))
    run_tool(['compile', '--python', it.exe, str(src)], env, check=0)
    res, out, by = doctor(env, '--python', it.exe, str(src), check=0)
    assert out['failures'] == 0 and out['warnings'] == 0
    assert levels(by, 'prefix.trust') == ['ok']
    assert levels(by, 'python.prefix') == ['ok']
    tags = [c['message'] for c in by['prefix.tags']]
    assert tags == ['%s: 2 pycs (%s)' % (it.tag, tags[0].split('(')[1][:-1])]
    assert levels(by, 'alias.tree') == ['ok']
    human = run_tool(['doctor', '--python', it.exe], env, check=0)
    assert b'All good.' in human.stderr


def test_doctor_finds_what_is_wrong(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    src = tree(tmp_path)
    (src / 'again').symlink_to(src / 'pkg')
    pfx = tmp_path / 'pfx'
    run_tool(['compile', '--python', it.exe, '--prefix', str(pfx),
              str(src)], clean_env, check=0)
    (pfx / '.x.cpython-312.pyc.pycprefix-0123abcd').write_bytes(b'')
    (pfx / 'old').mkdir()
    (pfx / 'old' / 'm.cpython-37.pyc').write_bytes(b'x')
    (pfx / 'evil').symlink_to('/etc')
    (pfx / 'open').mkdir()
    (pfx / 'open').chmod(0o777)
    if IS_ROOT:
        (pfx / 'theirs').mkdir()
        os.chown(pfx / 'theirs', 65534, 65534)
    # PYTHONPYCACHEPREFIX unset; the prefix given with --prefix.
    res, out, by = doctor(clean_env, '--prefix', str(pfx), '--python',
                          it.exe, str(src), check=1)
    assert levels(by, 'prefix.modes') == ['FAIL']
    assert str(pfx / 'open') in by['prefix.modes'][0]['message']
    assert levels(by, 'prefix.symlinks') == ['warn']
    assert levels(by, 'prefix.temp') == ['warn']
    # The commands doctor suggests act on the prefix it checked.
    assert by['prefix.temp'][0]['fix'] == 'pycprefix --prefix %s prune' % pfx
    dead = [c for c in by['prefix.tags'] if 'cpython-37' in c['message']]
    assert [c['level'] for c in dead] == ['warn']
    assert dead[0]['fix'] == ('pycprefix --prefix %s prune --tags=cpython-37'
                              % pfx)
    assert levels(by, 'env.set') == ['warn']
    assert levels(by, 'alias.tree') == ['warn']
    assert str(src / 'again') in by['alias.tree'][0]['message']
    if IS_ROOT:
        assert levels(by, 'prefix.owner') == ['FAIL']
    assert out['failures'] >= 1 and out['warnings'] >= 4
    # Each non-ok check says what to do.
    for c in out['checks']:
        if c['level'] in ('warn', 'FAIL'):
            assert c['fix'], c


def test_doctor_unsafe_relative_and_mismatched(clean_env, tmp_path):
    it = INTERPRETERS[0]
    shared = tmp_path / 'shared'
    shared.mkdir()
    shared.chmod(0o777)
    env = dict(clean_env, PYTHONPYCACHEPREFIX=str(shared / 'p'))
    res, out, by = doctor(env, '--python', it.exe, check=1)
    assert levels(by, 'prefix.trust') == ['FAIL']
    assert by['prefix.trust'][0]['fix'].startswith('chmod go-w')
    # A relative prefix depends on each process's current directory: taken
    # against this one, and a warning (tests/cli/test_prefix_rule.py).
    env = dict(clean_env, PYTHONPYCACHEPREFIX='rel/p')
    res, out, by = doctor(env, '--python', it.exe, cwd=str(tmp_path),
                          check=0)
    assert levels(by, 'prefix.relative') == ['warn']
    # The shell's Python uses another prefix than the one checked.
    # (Warnings alone are to look at: exit 0.)
    res, out, by = doctor(dict(clean_env, PYTHONPYCACHEPREFIX='/a/b'),
                          '--prefix', str(tmp_path / 'p'), '--python',
                          it.exe, check=0)
    assert levels(by, 'env.set') == ['warn']
    assert out['failures'] == 0 and out['warnings'] >= 1
    # A prefix that is a file.
    f = tmp_path / 'file'
    f.write_text('')
    res, out, by = doctor(clean_env, '--prefix', str(f), '--python',
                          it.exe, check=1)
    assert levels(by, 'prefix.exists') == ['FAIL']


def test_doctor_sys_path_aliases(clean_env, tmp_path):
    """sys.path entries that reach one directory twice, or spell '..'."""
    it = INTERPRETERS[-1]
    lib = tmp_path / 'lib'
    lib.mkdir()
    (tmp_path / 'lib64').symlink_to(lib)
    site = tmp_path / 'site'
    site.mkdir()
    # A .pth file adds entries as written, without normalising them.
    (site / 'x.pth').write_text('%s\n%s\n' % (lib, tmp_path / 'lib64'))
    env = dict(clean_env, PYTHONPYCACHEPREFIX=str(tmp_path / 'pfx'),
               PYTHONPATH=str(site))
    code = ('import site, sys; site.addsitedir(%r); '
            'sys.path.append(%r)' % (str(site), str(lib / '..' / 'lib')))
    (site / 'sitecustomize.py').write_text(code + '\n')
    res, out, by = doctor(env, '--python', it.exe, check=0)
    assert out['failures'] == 0 and out['warnings'] >= 2
    msgs = ' '.join(c['message'] for c in by['alias.sys_path'])
    assert 'are the same directory' in msgs
    assert "has '.'/'..'" in msgs
