"""show and path --reverse: relative pycs inside the prefix, files that are
not pycs, pycs of CPythons older than 3.8, truncated headers (issue 11,
item 19)."""
import glob
import json
import os
import subprocess

import pytest

from conftest import INTERPRETERS, run_tool

NEWEST = INTERPRETERS[-1]

# CPythons older than 3.8, to make real old pycs with (pyenv's versions).
OLD = sorted(p for p in glob.glob(os.path.expanduser(
    '~/.pyenv/versions/*/bin/python[23].[0-9]'))
    if os.path.basename(p) in ('python2.7', 'python3.5', 'python3.6',
                               'python3.7'))

DECODED = ('  flags ', '  mtime ', '  size ', '  hash ')


def compiled(tmp_path, env):
    proj = tmp_path / 'proj'
    proj.mkdir()
    (proj / 'm.py').write_text('X = 1\n')
    prefix = tmp_path / 'pfx'
    run_tool(['--prefix', str(prefix), '--python', NEWEST.exe, 'compile',
              str(proj)], env, check=0)
    pyc = prefix / str(proj / ('m.%s.pyc' % NEWEST.tag)).lstrip('/')
    assert pyc.is_file()
    return proj, prefix, pyc


def test_relative_pyc_inside_prefix(tmp_path, clean_env):
    proj, prefix, pyc = compiled(tmp_path, clean_env)
    rel = os.path.relpath(pyc, prefix)
    base = ['--prefix', str(prefix), '--python', NEWEST.exe]
    for spelling in (rel, './' + rel):
        res = run_tool(base + ['show', '--json', spelling], clean_env,
                       cwd=str(prefix), check=0)
        item, = json.loads(res.stdout)
        assert item['source'] == str(proj / 'm.py')
        assert item['state'] == 'fresh', item
        res = run_tool(base + ['path', '--reverse', spelling], clean_env,
                       cwd=str(prefix), check=0)
        assert res.stdout.decode() == str(proj / 'm.py') + '\n'
    # From a directory deeper in the prefix too.
    res = run_tool(base + ['show', pyc.name], clean_env, cwd=str(pyc.parent),
                   check=0)
    assert 'verdict  fresh' in res.stdout.decode()
    # A relative pyc outside the prefix is still taken as CPython takes it.
    res = run_tool(base + ['path', '--reverse', 'a/__pycache__/m.%s.pyc'
                           % NEWEST.tag], clean_env, cwd=str(tmp_path),
                   check=0)
    assert res.stdout == b'a/m.py\n'


@pytest.mark.parametrize('content,why', [
    (b'hello, this is a text file and not bytecode\n', 'magic'),
    (b'\xd2\x04\r\n' + bytes(12), 'no CPython'),   # magic 1234, \r\n
    (b'\xcb\r', 'magic'),                          # 2 bytes
    (b'', 'magic'),
])
def test_not_a_pyc(tmp_path, clean_env, content, why):
    f = tmp_path / ('x.%s.pyc' % NEWEST.tag)
    f.write_bytes(content)
    res = run_tool(['show', str(f)], clean_env, check=1)
    out = res.stdout.decode()
    assert 'not a pyc' in out and why in out, out
    assert not [l for l in out.splitlines() if l.startswith(DECODED)], out
    res = run_tool(['show', '--json', str(f)], clean_env, check=1)
    item, = json.loads(res.stdout)
    assert item['state'] == 'not-a-pyc' and item['kind'] == 'not-a-pyc'
    assert 'flags' not in item and 'source_mtime' not in item
    # Where an interpreter reads a pyc, it is also what Python does with
    # it: recompile and replace it.
    (tmp_path / 'x.py').write_text('')
    cache = tmp_path / '__pycache__'
    cache.mkdir()
    f.rename(cache / f.name)
    res = run_tool(['--in-tree', 'show', str(cache / f.name)], clean_env,
                   check=0)
    out = res.stdout.decode()
    assert 'not a pyc' in out and 'verdict  stale' in out, out
    assert not [l for l in out.splitlines() if l.startswith(DECODED)], out


@pytest.mark.parametrize('exe', OLD, ids=os.path.basename)
def test_pyc_older_than_38(tmp_path, clean_env, exe):
    (tmp_path / 'm.py').write_text('X = 1\n')
    code = ('import py_compile, sys; py_compile.compile("m.py", '
            'cfile="m.pyc", doraise=True); '
            'sys.stdout.write("%d.%d" % sys.version_info[:2])')
    version = subprocess.run([exe, '-E', '-c', code], cwd=str(tmp_path),
                             capture_output=True, check=True).stdout.decode()
    # Beside its source, and where a 3.x would look for it.
    cache = tmp_path / '__pycache__'
    cache.mkdir()
    there = cache / ('m.%s.pyc' % NEWEST.tag)
    there.write_bytes((tmp_path / 'm.pyc').read_bytes())
    for pyc, state in ((tmp_path / 'm.pyc', 'too-old'), (there, 'stale')):
        res = run_tool(['--in-tree', 'show', str(pyc)], clean_env, check=0)
        out = res.stdout.decode()
        assert 'CPython %s' % version in out, out
        assert 'older than 3.8' in out, out
        assert not [l for l in out.splitlines() if l.startswith(DECODED)]
        assert 'verdict  ' + state in out, out
        item, = json.loads(run_tool(['--in-tree', 'show', '--json',
                                     str(pyc)], clean_env,
                                    check=0).stdout)
        assert item['magic_python'] == version
        assert item['kind'] == 'too-old' and item['state'] == state


@pytest.mark.parametrize('keep', [4, 8, 12, 15])
def test_truncated_header(tmp_path, clean_env, keep):
    (tmp_path / 'm.py').write_text('X = 1\n')
    NEWEST.run('import py_compile; py_compile.compile("m.py")',
               cwd=str(tmp_path), env=clean_env)
    pyc = tmp_path / '__pycache__' / ('m.%s.pyc' % NEWEST.tag)
    pyc.write_bytes(pyc.read_bytes()[:keep])
    res = run_tool(['--in-tree', 'show', str(pyc)], clean_env, check=0)
    out = res.stdout.decode()
    assert 'header   truncated: %d of 16 bytes' % keep in out, out
    assert not [l for l in out.splitlines() if l.startswith(DECODED)], out
    assert 'verdict  stale' in out and 'recompiles' in out, out


@pytest.mark.parametrize('replace,gone', [
    ('file', True),    # ENOTDIR: a directory on the way is now a file
    ('loop', False),   # ELOOP: proves nothing, the pyc stays
])
def test_show_and_prune_share_the_orphan_rule(tmp_path, clean_env, replace,
                                              gone):
    """show, status and prune decide "source gone" by one rule (issue 12,
    item 1): ENOENT or ENOTDIR, not any failure of access()."""
    proj, prefix, pyc = compiled(tmp_path, clean_env)
    (proj / 'm.py').unlink()
    proj.rmdir()
    if replace == 'file':
        proj.write_text('')
    else:
        os.symlink(proj.name, str(proj))
    base = ['--prefix', str(prefix), '--python', NEWEST.exe]
    res = run_tool(base + ['show', '--json', str(pyc)], clean_env, check=None)
    item, = json.loads(res.stdout)
    assert (item['state'] == 'orphan') == gone, item
    run_tool(base + ['prune'], clean_env, check=None)
    assert pyc.exists() != gone
