"""du: a prefix not made yet, errors met on the walk, apparent and allocated
sizes, hard links, and the roots that hold the space (issue 11, item 18)."""
import json
import os
import resource

import pytest

from conftest import INTERPRETERS, run_tool

NEWEST = INTERPRETERS[-1]


def du(env, prefix, *args, check=0, **kw):
    res = run_tool(['du', '--prefix', str(prefix), *args], env, check=check,
                   **kw)
    return res


def pycs_in(prefix):
    for d, _, fs in os.walk(prefix):
        for f in fs:
            if f.endswith('.pyc'):
                yield os.path.join(d, f)


def compile_into(env, prefix, *args):
    run_tool(['--prefix', str(prefix), '--python', NEWEST.exe, 'compile',
              *args], env, check=0)


def test_du_prefix_not_made_yet(tmp_path, clean_env):
    prefix = tmp_path / 'not' / 'yet'
    res = du(clean_env, prefix, check=0)
    assert b' 0 pycs ' in res.stdout, res.stdout
    assert res.stderr == b''
    out = json.loads(du(clean_env, prefix, '--json', check=0).stdout)
    assert out['files'] == 0 and out['bytes'] == 0 and out['disk_bytes'] == 0
    # A prefix that is a file is an error, with its real reason.
    f = tmp_path / 'file'
    f.write_text('')
    res = du(clean_env, f, check=2)
    assert b'Not a directory' in res.stderr


def test_du_shows_walk_errors(tmp_path, clean_env):
    prefix = tmp_path / 'pfx'
    deep = prefix.joinpath(*['d%d' % i for i in range(30)])
    deep.mkdir(parents=True)
    (deep / 'm.cpython-312.pyc').write_bytes(b'x' * 10)
    (prefix / 'top.cpython-312.pyc').write_bytes(b'y' * 10)

    def few_fds():
        # Past a dozen descriptors the walk cannot open the deeper levels.
        # A hard limit above it lets valgrind (make check-valgrind) start.
        resource.setrlimit(resource.RLIMIT_NOFILE, (12, 1024))

    import subprocess
    from conftest import BINARY
    res = subprocess.run([BINARY, 'du', '--prefix', str(prefix)],
                         env=clean_env, capture_output=True,
                         preexec_fn=few_fds, timeout=60)
    assert res.returncode == 1, res
    err = res.stderr.decode().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("pycprefix: cannot read '%s/d0/" % prefix), err
    assert err[0].endswith(': Too many open files'), err
    assert b' 1 pycs ' in res.stdout or b' 1 pyc ' in res.stdout


def test_du_apparent_and_allocated(tmp_path, clean_env):
    proj = tmp_path / 'proj'
    proj.mkdir()
    for i in range(5):
        (proj / ('m%d.py' % i)).write_text('X = %d\n' % i * (i * 200 + 1))
    prefix = tmp_path / 'pfx'
    compile_into(clean_env, prefix, str(proj))
    sts = [os.lstat(p) for p in pycs_in(prefix)]
    assert len(sts) == 5
    apparent = sum(s.st_size for s in sts)
    disk = sum(s.st_blocks * 512 for s in sts)
    assert apparent != disk
    out = json.loads(du(clean_env, prefix, '--json').stdout)
    assert out['bytes'] == apparent and out['disk_bytes'] == disk
    assert out['files'] == 5
    human = du(clean_env, prefix).stdout.decode()
    assert 'on disk' in human.splitlines()[0]


def test_du_counts_hard_links_once(tmp_path, clean_env):
    proj = tmp_path / 'proj'
    proj.mkdir()
    for i in range(4):
        (proj / ('m%d.py' % i)).write_text('X = %d\n' % i)
    prefix = tmp_path / 'pfx'
    # Without the store: prune --max-size would count its objects too.
    compile_into(clean_env, prefix, '--no-store', '--hardlink-dupes', '-O',
                 '0', '-O', '1', '-O', '2', str(proj))
    paths = list(pycs_in(prefix))
    assert len(paths) == 12
    inodes = {}
    for p in paths:
        st = os.lstat(p)
        inodes[(st.st_dev, st.st_ino)] = st
    assert len(inodes) == 4, 'compile should have linked the levels'
    out = json.loads(du(clean_env, prefix, '--json').stdout)
    assert out['files'] == 12
    assert out['bytes'] == sum(s.st_size for s in inodes.values())
    assert out['disk_bytes'] == sum(s.st_blocks * 512
                                    for s in inodes.values())
    assert sum(t['bytes'] for t in out['levels']) == out['bytes']


def make_roots(tmp_path):
    """A venv's site-packages, an interpreter's stdlib, a project with a
    package and a test folder, deep below tmp_path."""
    base = tmp_path.joinpath('a', 'b', 'c', 'd')
    files = {
        'venv/lib/python3.12/site-packages/pkg/__init__.py': '',
        'venv/lib/python3.12/site-packages/pkg/sub/__init__.py': '',
        'venv/lib/python3.12/site-packages/pkg/sub/m.py': 'X = 1\n',
        'venv/lib/python3.12/site-packages/nspkg/part/__init__.py': '',
        'venv/lib/python3.12/site-packages/six.py': '',
        'interp/lib/python3.12/os.py': '',
        'interp/lib/python3.12/json/__init__.py': '',
        'interp/lib/python3.12/json/decoder.py': '',
        'proj/setup.py': '',
        'proj/app/__init__.py': '',
        'proj/app/core/__init__.py': '',
        'proj/app/core/x.py': '',
        'proj/tests/test_a.py': '',
    }
    for rel, text in files.items():
        p = base / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return base


def test_du_default_view_shows_roots(tmp_path, clean_env):
    base = make_roots(tmp_path)
    prefix = tmp_path / 'pfx'
    compile_into(clean_env, prefix, str(base))
    want = {str(base / 'venv/lib/python3.12/site-packages'): 5,
            str(base / 'interp/lib/python3.12'): 3,
            str(base / 'proj'): 4,
            str(base / 'proj/tests'): 1}
    out = json.loads(du(clean_env, prefix, '--json').stdout)
    assert {r['key']: r['files'] for r in out['roots']} == want
    human = du(clean_env, prefix).stdout.decode()
    section = human.split('roots:\n')[1].splitlines()
    shown = {line.split()[-1] for line in section if line.startswith('  ')}
    assert shown == set(want), human
    # A project whose sources are gone: its pycs are filed under their
    # own directories, not under a root they no longer have.
    for f in ('x.py', '__init__.py'):
        os.unlink(base / 'proj/app/core' / f)
    os.rmdir(base / 'proj/app/core')
    out = json.loads(du(clean_env, prefix, '--json').stdout)
    roots = {r['key']: r['files'] for r in out['roots']}
    assert roots[str(base / 'proj/app/core')] == 2
    assert roots[str(base / 'proj')] == 2
    # --depth still gives the directories N levels deep.
    out = json.loads(du(clean_env, prefix, '--json', '-d', '2').stdout)
    assert {d['key'] for d in out['directories']} == {
        '/' + os.path.join(*str(tmp_path).strip('/').split('/')[:2])}


def linked_prefix(tmp_path, clean_env):
    """Three sources compiled at -O 0, 1 and 2 with --hardlink-dupes:
    each source's three pycs are one file."""
    proj = tmp_path / 'proj'
    proj.mkdir()
    for i in range(3):
        (proj / ('m%d.py' % i)).write_text('X = %d\n' % i)
    prefix = tmp_path / 'pfx'
    # Without the store: prune --max-size would count its objects too.
    compile_into(clean_env, prefix, '--no-store', '--hardlink-dupes', '-O',
                 '0', '-O', '1', '-O', '2', str(proj))
    inodes = {}
    for p in pycs_in(prefix):
        st = os.lstat(p)
        inodes.setdefault((st.st_dev, st.st_ino), []).append(p)
    assert len(inodes) == 3 and all(len(v) == 3 for v in inodes.values())
    return prefix, inodes


def test_du_levels_credit_a_linked_file_to_its_lowest_level(tmp_path,
                                                            clean_env):
    """Item 7 (second trial): a file with several names counts once, under
    the lowest level among them (the pyc the others repeat); the other
    levels' rows count their names as links, with no bytes."""
    prefix, inodes = linked_prefix(tmp_path, clean_env)
    size = sum(os.lstat(v[0]).st_size for v in inodes.values())
    out = json.loads(du(clean_env, prefix, '--json').stdout)
    levels = {t['key']: t for t in out['levels']}
    assert out['bytes'] == size and out['linked'] == 6
    assert levels['0']['bytes'] == size and levels['0']['linked'] == 0
    for k in ('1', '2'):
        assert levels[k]['bytes'] == 0 and levels[k]['disk_bytes'] == 0
        assert levels[k]['files'] == 3 and levels[k]['linked'] == 3
    tags = {t['key']: t for t in out['tags']}
    assert tags[NEWEST.tag]['bytes'] == size
    assert tags[NEWEST.tag]['files'] == 9
    assert tags[NEWEST.tag]['linked'] == 6
    human = du(clean_env, prefix).stdout.decode()
    assert '6 of them hard links' in human, human
    assert 'lowest level' in human


def test_prune_counts_bytes_freed_once_per_file(tmp_path, clean_env):
    """Item 7: prune's bytes are bytes freed: a file's size counts when
    its last name goes, not once per name."""
    prefix, inodes = linked_prefix(tmp_path, clean_env)
    du_bytes = json.loads(du(clean_env, prefix, '--json').stdout)['bytes']
    res = run_tool(['prune', '-n', '--json', '--max-size', '0', '--prefix',
                    str(prefix)], clean_env, check=0)
    out = json.loads(res.stdout)
    files = [e for e in out['events'] if e['why'] != 'emptied directory']
    assert len(files) == 9
    assert out['bytes'] == du_bytes == sum(e['bytes'] for e in files)
    # With room for some: only files whose every name goes are freed.
    res = run_tool(['prune', '-n', '--json', '--max-size', '100',
                    '--prefix', str(prefix)], clean_env, check=0)
    out = json.loads(res.stdout)
    gone = {e['path'] for e in out['events']}
    freed = sum(os.lstat(v[0]).st_size for v in inodes.values()
                if set(v) <= gone)
    assert out['bytes'] == freed
    assert du_bytes - freed <= 100
    # A name outside the prefix keeps its file: nothing freed for it.
    one = sorted(inodes.values())[0]
    os.link(one[0], tmp_path / 'outside.pyc')
    res = run_tool(['prune', '-n', '--json', '--max-size', '0', '--prefix',
                    str(prefix)], clean_env, check=0)
    out = json.loads(res.stdout)
    assert out['bytes'] == du_bytes - os.lstat(one[0]).st_size
    err = run_tool(['prune', '-n', '--max-size', '0', '--prefix',
                    str(prefix)], clean_env, check=0).stderr.decode()
    assert 'would have removed 9 files' in err
