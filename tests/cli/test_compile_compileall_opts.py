"""pycprefix compile's compileall options (-i, -d/-s/-p, -e, -l/-r), held
against python -m compileall given the same options: the same sources
compiled, the same compiled filenames (co_filename), in-tree and (for
the filename) in a prefix."""
import json
import os
import subprocess

import pytest

from conftest import BINARY, INTERPRETERS

CODE_NAMES = r'''
import glob, json, marshal, sys
out = {}
for p in glob.glob(sys.argv[1] + '/**/*.pyc', recursive=True):
    with open(p, 'rb') as f:
        out[p[len(sys.argv[1]):]] = marshal.loads(f.read()[16:]).co_filename
print(json.dumps(out))
'''


def make(root):
    for rel in ('pkg/__init__.py', 'pkg/a.py', 'pkg/sub/b.py',
                'pkg/sub/deep/c.py', 'pkg/sub/deep/deeper/d.py',
                'outside/o.py', 'inside/i.py'):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text('x = 1\n')
    os.symlink('../outside/o.py', root / 'pkg/out_link.py')
    os.symlink('sub/b.py', root / 'pkg/in_link.py')
    return root


def newer(interp):
    return interp if interp.version >= (3, 9) else INTERPRETERS[-1]


def env(tmp):
    e = {k: v for k, v in os.environ.items()
         if not k.startswith(('PYTHON', 'PYCPREFIX', 'XDG_'))}
    e['XDG_CACHE_HOME'] = str(tmp / 'xdg')
    return e


def names(interp, root):
    out = subprocess.run([interp.exe, '-I', '-c', CODE_NAMES, str(root)],
                         capture_output=True, check=True)
    return json.loads(out.stdout)


def both(interp, tmp, ours, theirs, cwd_rel='', stdin=None, oracle=None):
    """Our compile with interp, compileall with oracle (default: interp;
    3.8 lacks -s, -p and -e, which the newest interpreter's compileall
    then stands for): {pyc (tag spelled TAG): co_filename} of each."""
    res = {}
    oracle = oracle or interp
    for side, args in (('ours', ours), ('real', theirs)):
        root = make(tmp / side)
        cwd = root / cwd_rel
        if side == 'ours':
            # --no-store: the co_filename each pyc holds is compared;
            # one written from the store holds its twin's (import fixes
            # it: tests/conformance/test_store.py)
            cmd = [BINARY, '--in-tree', 'compile', '--no-store', '--python',
                   interp.exe, '-q', *args]
        else:
            cmd = [oracle.exe, '-m', 'compileall', '-q', *args]
        r = subprocess.run(cmd, cwd=cwd, env=env(tmp), input=stdin,
                           capture_output=True, timeout=300)
        assert r.returncode == 0, r.stderr
        it = interp if side == 'ours' else oracle
        res[side] = {k.replace(it.tag, 'TAG'): v
                     for k, v in names(it, root).items()}
    return res


@pytest.mark.parametrize('args', [['-l'], ['-r', '0'], ['-r', '1'],
                                  ['-r', '2'], ['-l', '-r', '1']],
                         ids=' '.join)
def test_depth(interp, tmp_path, args):
    r = both(interp, tmp_path, [*args, 'pkg'], [*args, 'pkg'])
    assert sorted(r['ours']) == sorted(r['real'])
    assert r['ours'] == r['real']


def test_limit_symlinks(interp, tmp_path):
    r = both(interp, tmp_path, ['-e', 'pkg', 'pkg'], ['-e', 'pkg', 'pkg'],
             oracle=newer(interp))
    assert sorted(r['ours']) == sorted(r['real'])
    assert not any('out_link' in p for p in r['ours'])
    assert any('in_link' in p for p in r['ours'])


@pytest.mark.parametrize('args', [['-d', '/dest'], ['-d', 'rel/dest'],
                                  ['-s', 'pkg'], ['-s', 'pkg', '-p', '/usr'],
                                  ['-p', '/opt']], ids=' '.join)
def test_compiled_filename(interp, tmp_path, args):
    r = both(interp, tmp_path, [*args, 'pkg'], [*args, 'pkg'],
             oracle=newer(interp) if args[0] != '-d' else interp)
    assert r['ours'] == r['real']
    assert all(not v.startswith('pkg/') for v in r['ours'].values()) or \
        args == ['-s', 'nope']


def test_compiled_filename_of_a_file(interp, tmp_path):
    r = both(interp, tmp_path, ['-d', '/d', 'pkg/sub/b.py'],
             ['-d', '/d', 'pkg/sub/b.py'])
    assert r['ours'] == r['real'] == {
        '/pkg/sub/__pycache__/b.TAG.pyc': '/d/b.py'}


def test_file_list(interp, tmp_path):
    lst = b'pkg/a.py\r\n  pkg/sub/deep  \n\n'
    for where in ('file', 'stdin'):
        sub = tmp_path / where
        sub.mkdir()
        (sub / 'ours').mkdir()
        (sub / 'real').mkdir()
        (sub / 'ours/list').write_bytes(lst)
        (sub / 'real/list').write_bytes(lst)
        arg = 'list' if where == 'file' else '-'
        r = both(interp, sub, ['-i', arg], ['-i', arg], stdin=lst)
        assert sorted(r['ours']) == sorted(r['real'])
        assert len(r['ours']) == 3, r['ours']


def test_file_list_unreadable(tmp_path, interp):
    r = subprocess.run([BINARY, '--in-tree', 'compile', '--python',
                        interp.exe, '-i', str(tmp_path / 'none')],
                       capture_output=True, env=env(tmp_path))
    assert r.returncode == 2
    assert b"cannot read '" in r.stderr


def test_usage(tmp_path, interp):
    for args in (['-d', 'x', '-s', 'y', '.'], ['-r', 'x', '.'],
                 ['--sys-path', '-i', 'f']):
        r = subprocess.run([BINARY, '--in-tree', 'compile', '--python',
                            interp.exe, *args], capture_output=True,
                           env=env(tmp_path), cwd=tmp_path)
        assert r.returncode == 2, (args, r.stderr)


def test_compiled_filename_in_prefix(interp, tmp_path):
    root = make(tmp_path / 'tree')
    prefix = tmp_path / 'prefix'
    r = subprocess.run([BINARY, '--prefix', str(prefix), 'compile',
                        '--python', interp.exe, '-q', '-d', '/app',
                        str(root / 'pkg')], capture_output=True,
                       env=env(tmp_path))
    assert r.returncode == 0, r.stderr
    got = names(interp, prefix)
    assert got
    for pyc, name in got.items():
        assert name.startswith('/app/'), (pyc, name)
        src = pyc.split('/pkg/', 1)[1].replace('__pycache__/', '')
        assert name == '/app/' + src.rsplit('.', 2)[0] + '.py'
