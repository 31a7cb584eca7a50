"""pycprefix compile against each CPython: every pyc written is used by
the interpreter's own SourceFileLoader as it is, holds the code compile()
makes, and sits exactly where compileall would put it."""
import json
import os
import subprocess

import pytest

from conftest import run_tool

EDGE_SOURCES = {
    b'empty.py': b'',
    b'bom.py': b'\xef\xbb\xbfx = "\xc3\xa9"\n',
    b'latin1.py': b'# -*- coding: latin-1 -*-\nx = "\xe9"\n',
    b'doc.py': b'"""Doc."""\ndef f():\n    """f doc"""\n    assert f\n',
    b'sp ace.py': b'y = 2\n',
    b'caf\xe9\xff.py': b'z = 3\n',  # a file name that is not UTF-8
    b'pkg/__init__.py': b'',
    b'pkg/mod.py': b'from . import __name__ as n\n',
    b'pkg/__pycache__/skipped.py': b'x = 1\n',
    b'old.py': b'old = 1\n',
    b'future.py': b'future = 1\n',
    b'nanos.py': b'nanos = 1\n',
    b'warn.py': b'x = "\\d"\n',
}
BAD_SOURCES = {
    b'bad_syntax.py': b'def f(:\n',
    b'bad_utf8.py': b'x = "\xff"\n',
    b'bad_nul.py': b'x = 1\0\n',
    b'bad_coding.py': b'# -*- coding: no-such-codec -*-\nx = 1\n',
}
MTIMES = {b'old.py': -2_000_000_000 * 10**9 + 5,
          b'future.py': 5_000_000_000 * 10**9 + 999_999_999,
          b'nanos.py': 1_700_000_000 * 10**9 + 999_999_999}


def make_tree(root, mtimes=True):
    for name, data in list(EDGE_SOURCES.items()) + list(BAD_SOURCES.items()):
        p = os.path.join(os.fsencode(root), name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, 'wb') as f:
            f.write(data)
        if mtimes and name in MTIMES:
            os.utime(p, ns=(MTIMES[name], MTIMES[name]))
    big = os.path.join(root, 'big.py')
    with open(big, 'w') as f:
        for i in range(60000):
            f.write('v%d = %d\n' % (i, i))
    os.symlink('empty.py', os.path.join(root, 'link.py'))
    os.makedirs(os.path.join(root, 'real'))
    with open(os.path.join(root, 'real', 'inside.py'), 'w') as f:
        f.write('inside = 1\n')
    os.symlink('real', os.path.join(root, 'linkdir'))


CHECK = r'''
import importlib.machinery as m, importlib.util as u, os, sys
level = sys.flags.optimize
bad = 0
for raw in sys.stdin.buffer.read().split(b'\0')[:-1]:
    path = os.fsdecode(raw)
    pyc = u.cache_from_source(path)
    before = os.stat(pyc)
    loader = m.SourceFileLoader('m', path)
    def refuse(*a, **k):
        raise AssertionError('recompiled ' + path)
    loader.source_to_code = refuse
    code = loader.get_code('m')
    with open(path, 'rb') as f:
        want = compile(f.read(), path, 'exec', dont_inherit=True, optimize=level)
    after = os.stat(pyc)
    assert code == want, path
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns), path
print('ok')
'''


def good_sources(root):
    out = []
    for name in EDGE_SOURCES:
        if b'__pycache__' not in name:
            out.append(os.path.join(os.fsencode(root), name))
    out += [os.fsencode(os.path.join(root, n)) for n in ('big.py', 'link.py')]
    return out


def pyc_set(prefix):
    found = set()
    for d, _, files in os.walk(os.fsencode(prefix)):
        for f in files:
            if f.endswith(b'.pyc'):
                found.add(os.path.relpath(os.path.join(d, f),
                                          os.fsencode(prefix)))
    return found


@pytest.mark.parametrize('mode', ['timestamp', 'checked-hash',
                                  'unchecked-hash'])
def test_pycs_used_as_is(interp, clean_env, tmp_path, mode):
    tree = str(tmp_path / 'tree')
    prefix = str(tmp_path / 'prefix')
    make_tree(tree)
    res = run_tool(['compile', '--json', '--python', interp.exe, '--prefix',
                    prefix, '-O', '0', '-O', '1', '-O', '2',
                    '--invalidation-mode', mode, tree], clean_env,
                   cwd=str(tmp_path))
    assert res.returncode == 1, res.stderr
    summary = json.loads(res.stdout)
    failed = {os.path.basename(os.fsencode(f['source']))
              for f in summary['failures']}
    assert failed == set(BAD_SOURCES)
    for f in summary['failures']:
        assert f['message']
    assert summary['warnings'] >= 1
    env = dict(clean_env)
    env.pop('PYTHONDONTWRITEBYTECODE')
    data = b''.join(p + b'\0' for p in good_sources(tree))
    for flags in ((), ('-O',), ('-OO',)):
        out = subprocess.run([interp.exe, '-X', 'pycache_prefix=' + prefix,
                              *flags, '-c', CHECK], input=data, env=env,
                             capture_output=True)
        assert out.stdout == b'ok\n', out.stderr.decode(errors='replace')
    # Hash-based pycs carry the mode asked for.
    pyc = run_tool(['path', '--python', interp.exe, '--prefix', prefix,
                    os.path.join(tree, 'doc.py')], clean_env,
                   check=0).stdout.decode().strip()
    with open(pyc, 'rb') as f:
        flags = int.from_bytes(f.read(8)[4:], 'little')
    assert flags == {'timestamp': 0, 'checked-hash': 3,
                     'unchecked-hash': 1}[mode]
    # A second run finds everything fresh and starts no interpreter.
    res = run_tool(['compile', '--json', '--python', interp.exe, '--prefix',
                    prefix, '-O', '0', '-O', '1', '-O', '2',
                    '--invalidation-mode', mode, tree], clean_env,
                   cwd=str(tmp_path))
    again = json.loads(res.stdout)
    assert again['compiled'] == 0
    assert again['fresh'] == summary['compiled']


def test_same_paths_as_compileall(interp, clean_env, tmp_path):
    tree = 'tree'
    # No far-future mtimes here: compileall 3.8 crashes on them
    # (struct.error packing the mtime with '<4sll').
    make_tree(str(tmp_path / tree), mtimes=False)
    ours, theirs = str(tmp_path / 'ours'), str(tmp_path / 'theirs')
    levels = ['-O', '0', '-O', '2'] if interp.version >= (3, 9) else []
    run_tool(['compile', '--python', interp.exe, '--prefix', ours, *levels,
              './' + tree], clean_env, cwd=str(tmp_path))
    env = dict(clean_env, PYTHONPYCACHEPREFIX=theirs)
    args = ['-o', '0', '-o', '2'] if levels else []
    subprocess.run([interp.exe, '-m', 'compileall', '-q', *args,
                    './' + tree], env=env, cwd=str(tmp_path),
                   capture_output=True)
    assert pyc_set(ours) == pyc_set(theirs)
    assert pyc_set(ours)


def test_edit_rebuilds_only_what_changed(interp, clean_env, tmp_path):
    tree = tmp_path / 'tree'
    tree.mkdir()
    for i in range(5):
        (tree / ('m%d.py' % i)).write_text('x = %d\n' % i)
    prefix = str(tmp_path / 'p')
    args = ['compile', '--json', '--python', interp.exe, '--prefix', prefix,
            str(tree)]
    assert json.loads(run_tool(args, clean_env, check=0).stdout)['compiled'] == 5
    (tree / 'm3.py').write_text('x = 333\n')
    out = json.loads(run_tool(args, clean_env, check=0).stdout)
    assert (out['compiled'], out['fresh']) == (1, 4)
    # Another invalidation mode rebuilds everything.
    out = json.loads(run_tool(args + ['--invalidation-mode', 'checked-hash'],
                              clean_env, check=0).stdout)
    assert out['compiled'] == 5
    # An unchecked-hash pyc whose source changed is rebuilt, though Python
    # itself would keep using it.
    uargs = args + ['--invalidation-mode', 'unchecked-hash']
    run_tool(uargs, clean_env, check=0)
    (tree / 'm1.py').write_text('x = 111\n')
    out = json.loads(run_tool(uargs, clean_env, check=0).stdout)
    assert out['compiled'] == 1
    assert json.loads(run_tool(args + ['-f'], clean_env,
                               check=0).stdout)['compiled'] == 5


def test_in_tree_and_dry_run(interp, clean_env, tmp_path):
    (tmp_path / 'a.py').write_text('a = 1\n')
    res = run_tool(['compile', '--in-tree', '--dry-run', '--python',
                    interp.exe, '.'], clean_env, cwd=str(tmp_path), check=0)
    assert res.stdout.decode() == './a.py -> ./__pycache__/a.%s.pyc\n' % interp.tag
    assert not (tmp_path / '__pycache__').exists()
    run_tool(['compile', '--in-tree', '--python', interp.exe, '.'], clean_env,
             cwd=str(tmp_path), check=0)
    assert (tmp_path / '__pycache__' / ('a.%s.pyc' % interp.tag)).exists()
