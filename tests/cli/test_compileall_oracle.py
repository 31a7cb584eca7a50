"""pycprefix compileall against python -m compileall, for every installed
CPython: the same tree built twice (real/ and ours/), the same arguments
(relative, so the lines match byte for byte), each run in its own copy.
Compared: the exit status, stdout, the files written (paths, symlinks,
hard links), each pyc's header and code (equal code objects, the same
co_filename), and that SourceFileLoader uses our pycs as they are.
Usage errors (exit 2) compare the status only: argparse's usage text is
not reproduced."""
import json
import os
import re
import subprocess

import pytest

from conftest import BINARY, INTERPRETERS

MTIME = 1_700_000_000


def env_for(tmp, extra=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('PYTHON', 'PYCPREFIX', 'XDG_'))
           and k != 'SOURCE_DATE_EPOCH'}
    env['XDG_CACHE_HOME'] = str(tmp / 'xdg')
    env['PYTHONIOENCODING'] = 'utf-8'
    env.update(extra or {})
    return env


def write(root, rel, text, mtime=MTIME):
    p = os.path.join(root, os.fsdecode(rel))
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, 'wb') as f:
        f.write(text.encode() if isinstance(text, str) else text)
    os.utime(p, (mtime, mtime))


def basic_tree(root):
    write(root, 'pkg/__init__.py', '')
    write(root, 'pkg/a.py', 'x = 1\ndef f():\n    return x\n')
    write(root, 'pkg/b.py', 'bad(syntax\n')
    write(root, 'pkg/c.py', 'def g():\n  return 1\n    return 2\n')
    write(root, 'pkg/notes.txt', 'not python\n')
    write(root, 'pkg/sub/__init__.py', '"""doc"""\nassert 1\n')
    write(root, 'pkg/sub/deep/d.py', 'y = "d"\n')
    write(root, 'pkg/sub/deep/deeper/e.py', 'z = 3\n')
    write(root, 'other/o.py', 'o = 1\n')
    os.symlink('../other', os.path.join(root, 'pkg/linkdir'))
    os.symlink('../other/o.py', os.path.join(root, 'pkg/linked.py'))


def names_tree(root):
    write(root, 'n/caf\u00e9.py', 'v = 1\n')
    write(root, b'n/\xff\xfe.py', 'w = 1\n')
    write(root, "n/it's.py", 'q = 1\n')
    write(root, 'n/both\'"q.py', 'q = 2\n')
    write(root, 'n/tab\tname.py', 't = 1\n')
    write(root, 'n/nl\nname.py', 'n = 1\n')
    write(root, 'n/\u200bzw.py', 'z = 1\n')
    write(root, b'n/bad\xffsyntax.py', 'def (:\n')


def tree_files(root, it=None):
    """Every file and symlink below root: {relpath: (kind, data)}.  In a
    prefix below root, the mirror of root itself is spelled ROOT, and
    the mirror of the interpreter's installation left out: the
    interpreter running compileall caches there the stdlib modules it
    imports, which is no part of compileall's work."""
    out = {}
    broot = os.fsencode(root)
    mirror = broot.lstrip(b'/')
    install = os.fsencode(os.path.dirname(os.path.dirname(
        os.path.realpath(it.exe)))).lstrip(b'/') if it else None
    for d, dirs, files in os.walk(broot):
        for n in files + [x for x in dirs if os.path.islink(
                os.path.join(d, x))]:
            p = os.path.join(d, n)
            rel = os.path.relpath(p, broot)
            if install and install in rel:
                continue
            rel = rel.replace(mirror, b'ROOT')
            if os.path.islink(p):
                out[rel] = ('link', os.readlink(p))
            else:
                st = os.lstat(p)
                with open(p, 'rb') as f:
                    out[rel] = ('file', f.read(), st.st_nlink)
    return out


CHECK = r'''
import importlib.machinery as m, json, marshal, sys
pairs = json.loads(sys.argv[1])
def filenames(c):
    out = [c.co_filename]
    for k in c.co_consts:
        if hasattr(k, 'co_filename'):
            out += filenames(k)
    return out
bad = []
for real, ours in pairs:
    a = open(real, 'rb').read(); b = open(ours, 'rb').read()
    if a[:16] != b[:16]:
        bad.append((ours, 'header', a[:16].hex(), b[:16].hex())); continue
    ca, cb = marshal.loads(a[16:]), marshal.loads(b[16:])
    if ca != cb or filenames(ca) != filenames(cb):
        bad.append((ours, 'code', filenames(ca), filenames(cb)))
print(json.dumps(bad))
'''

USE = r'''
import importlib.machinery as m, importlib.util as u, json, sys
sys.dont_write_bytecode = True
bad = []
for src in json.loads(sys.argv[1]):
    l = m.SourceFileLoader('mod', src)
    def refuse(*a, **k):
        raise AssertionError('recompiled')
    l.source_to_code = refuse
    try:
        l.get_code('mod')
    except AssertionError:
        bad.append(src)
print(json.dumps(bad))
'''


def run_pair(it, tmp, build, args, extra_env=None, stdin=None,
             ours_args=(), runs=1, pyflags=()):
    results = {}
    for side in ('real', 'ours'):
        root = tmp / side
        if not root.exists():
            root.mkdir()
            build(str(root))
        env = env_for(tmp, extra_env)
        for _ in range(runs):
            if side == 'real':
                cmd = [it.exe, *pyflags, '-m', 'compileall', *args]
            else:
                cmd = [BINARY, 'compileall', '--python', it.exe,
                       *['--python-flag=' + f for f in pyflags],
                       *ours_args, *args]
            res = subprocess.run(cmd, cwd=root, env=env, input=stdin,
                                 capture_output=True, timeout=300)
        results[side] = res
    return results


def parallel(args):
    """compileall -j N (N != 1) prints from its worker processes, in no
    fixed order; ours is -j1's order whatever -j says."""
    for i, a in enumerate(args):
        v = a[2:] if a.startswith('-j') and len(a) > 2 else (
            args[i + 1] if a == '-j' and i + 1 < len(args) else None)
        if v is not None and v.strip() != '1':
            return True
    return False


def check_same(it, tmp, results, *, files=True):
    real, ours = results['real'], results['ours']
    assert ours.returncode == real.returncode, (real, ours)
    if real.returncode == 2:
        return
    if parallel(real.args):
        assert sorted(ours.stdout.split(b'\n')) == sorted(
            real.stdout.split(b'\n'))
    else:
        # a failed write names importlib's temporary file, NAME.pyc.<id>
        rs = re.sub(rb"(\.pyc)\.\d+'", rb"\1'", real.stdout)
        assert ours.stdout == rs, (
            real.stdout.decode('utf-8', 'replace'),
            ours.stdout.decode('utf-8', 'replace'), ours.stderr)
    assert not ours.stderr or real.stderr, ours.stderr
    if not files:
        return
    fr, fo = tree_files(tmp / 'real', it), tree_files(tmp / 'ours', it)
    assert sorted(fr) == sorted(fo)
    pairs = []
    for rel, v in fr.items():
        w = fo[rel]
        real_rel = ours_rel = rel
        if b'ROOT' in rel:
            real_rel = rel.replace(b'ROOT', bytes(tmp / 'real').lstrip(b'/'))
            ours_rel = rel.replace(b'ROOT', bytes(tmp / 'ours').lstrip(b'/'))
        assert v[0] == w[0], rel
        if v[0] == 'link':
            assert v == w, rel
        elif rel.endswith((b'.pyc', b'.pyo')):
            assert v[2] == w[2], (rel, 'hard links differ')
            pairs.append([os.fsdecode(os.path.join(bytes(tmp / 'real'),
                                                   real_rel)),
                          os.fsdecode(os.path.join(bytes(tmp / 'ours'),
                                                   ours_rel))])
        else:
            assert v == w, rel
    if pairs:
        out = subprocess.run([it.exe, '-I', '-c', CHECK, json.dumps(pairs)],
                             capture_output=True, check=True)
        assert json.loads(out.stdout) == []


@pytest.fixture(params=INTERPRETERS, ids=repr)
def it(request):
    return request.param


BASIC_ARGS = [
    ['pkg'], ['-q', 'pkg'], ['-qq', 'pkg'], ['-l', 'pkg'], ['-r', '1', 'pkg'],
    ['-r 0', 'pkg'], ['pkg', '-j', '0'], ['-j3', 'pkg', 'other'],
    ['-b', 'pkg'], ['-d', '/dest', 'pkg'], ['-d', 'rel/d', 'pkg/a.py'],
    ['-x', 'sub', 'pkg'], ['-x', r'[ab]\.py$', '-q', 'pkg'],
    ['--invalidation-mode', 'checked-hash', 'pkg'],
    ['--inv=unchecked-hash', 'pkg'], ['-f', 'pkg/a.py', 'pkg/b.py'],
    ['pkg/a.py', 'pkg', 'missing', 'pkg/notes.txt'], ['-lfq', 'pkg'],
    ['--', 'pkg'], ['-1'],
]

NEW_ARGS = [  # 3.9 on
    ['-s', 'pkg', 'pkg'], ['-s', 'pkg', '-p', '/usr/lib', 'pkg'],
    ['-p', 'pre', 'pkg/a.py'], ['-s', 'nope', 'pkg'],
    ['-o', '0', '-o', '1', '-o', '2', 'pkg'],
    ['-o', '1', '-o', '2', '--hardlink-dupes', 'pkg'],
    ['-o', '0', '-o', '2', '--hard', '-b', 'pkg/sub'],
    ['-e', 'pkg', 'pkg'], ['-e', '.', 'pkg'],
]


@pytest.mark.parametrize('args', BASIC_ARGS, ids=' '.join)
def test_same_as_compileall(it, tmp_path, args):
    check_same(it, tmp_path, run_pair(it, tmp_path, basic_tree, args))


@pytest.mark.parametrize('args', NEW_ARGS, ids=' '.join)
def test_same_as_compileall_39(it, tmp_path, args):
    res = run_pair(it, tmp_path, basic_tree, args)
    if '-b' in args and '--hard' in args and it.version >= (3, 9):
        # Deliberate: compileall finds x.pyc "equal" to itself, unlinks
        # it and fails to link it back; we print the same error, exit 1,
        # and keep the pyc.
        check_same(it, tmp_path, res, files=False)
        assert os.path.exists(tmp_path / 'ours/pkg/sub/deep/d.pyc')
        assert not os.path.exists(tmp_path / 'real/pkg/sub/deep/d.pyc')
        return
    check_same(it, tmp_path, res)


@pytest.mark.parametrize('env', [{'SOURCE_DATE_EPOCH': '1'},
                                 {'PYTHONPYCACHEPREFIX': 'cache'},
                                 {'PYTHONOPTIMIZE': '2'}], ids=str)
def test_environment(it, tmp_path, env):
    check_same(it, tmp_path, run_pair(it, tmp_path, basic_tree, ['-q', 'pkg'],
                                      extra_env=env))


@pytest.mark.parametrize('flags', [['-O'], ['-OO'], ['-Xpycache_prefix=pp'],
                                   ['-E', '-X', 'pycache_prefix=p2'],
                                   ['-I']], ids=' '.join)
def test_interpreter_flags(it, tmp_path, flags):
    real_flags = flags
    ours = [f if f != '-X' else None for f in flags]
    # "-X" "value" is one --python-flag
    merged = []
    for f in ours:
        if f is None:
            continue
        if merged and merged[-1] == '-E' and f.startswith('pycache'):
            merged.append('-X' + f)
        else:
            merged.append(f)
    res = {}
    for side in ('real', 'ours'):
        root = tmp_path / side
        root.mkdir()
        basic_tree(str(root))
        env = env_for(tmp_path, {'PYTHONPYCACHEPREFIX': 'envcache'})
        if side == 'real':
            cmd = [it.exe, *real_flags, '-m', 'compileall', 'pkg']
        else:
            cmd = [BINARY, 'compileall', '--python', it.exe,
                   *['--python-flag=' + f for f in merged], 'pkg']
        res[side] = subprocess.run(cmd, cwd=root, env=env,
                                   capture_output=True, timeout=300)
    check_same(it, tmp_path, res)


def test_names(it, tmp_path):
    """repr() of names that need quoting or escapes, non-UTF-8 included,
    in Compiling lines and in the SyntaxError text."""
    check_same(it, tmp_path, run_pair(it, tmp_path, names_tree, ['n']))
    for side in ('real', 'ours'):
        subprocess.run(['rm', '-rf', str(tmp_path / side)], check=True)
    check_same(it, tmp_path, run_pair(it, tmp_path, names_tree, ['-q', 'n']))


def test_second_run(it, tmp_path):
    """Twice over: compileall's second run prints only Listing lines (and
    the failures again)."""
    check_same(it, tmp_path, run_pair(it, tmp_path, basic_tree, ['pkg'],
                                      runs=2))


def test_symlinked_and_special_cfile(it, tmp_path):
    """py_compile refuses a pyc path that is a symlink or no regular file
    (FileExistsError), the rest of the tree compiles.  (Not a FIFO:
    compileall's own freshness check opens it and blocks forever; ours
    never opens one.)"""
    tag = it.tag

    def build(root):
        basic_tree(root)
        cache = os.path.join(root, 'pkg', '__pycache__')
        os.makedirs(cache)
        os.symlink('/nonexistent/x.pyc',
                   os.path.join(cache, 'a.%s.pyc' % tag))
        os.mkdir(os.path.join(cache, '__init__.%s.pyc' % tag))
    check_same(it, tmp_path, run_pair(it, tmp_path, build, ['pkg']))


def test_unwritable_cache(it, tmp_path):
    """A __pycache__ that is a file: the write fails as Python's does."""
    def build(root):
        basic_tree(root)
        write(root, 'pkg/sub/__pycache__', 'a file\n')
    check_same(it, tmp_path, run_pair(it, tmp_path, build, ['-q', 'pkg']))


@pytest.mark.parametrize('args', [
    ['-r', 'x', 'pkg'], ['-j', 'two', 'pkg'], ['--invalidation-mode', 'x'],
    ['--bogus', 'pkg'], ['pkg', '-q', 'other'], ['-x'], ['--h'],
    ['-q=1', 'pkg'], ['-lz', 'pkg'],
    ['-o', '1', '--hardlink-dupes', 'pkg'], ['-d', 'x', '-s', 'y', 'pkg'],
    ['-e'], ['-o', '-p', 'pkg'],
], ids=' '.join)
def test_usage_errors(it, tmp_path, args):
    res = run_pair(it, tmp_path, basic_tree, args)
    assert res['ours'].returncode == res['real'].returncode, res
    if res['real'].returncode == 2:
        assert res['ours'].stdout == b''
        assert b'error: ' in res['ours'].stderr
    else:  # 3.8's --h is --help
        assert b'usage:' in res['ours'].stdout


def test_file_list(it, tmp_path):
    def build(root):
        basic_tree(root)
        write(root, 'list.txt', ' pkg/a.py \r\npkg/sub\n\nmissing\rpkg/b.py')
    check_same(it, tmp_path, run_pair(it, tmp_path, build,
                                      ['-i', 'list.txt', 'other']))


def test_file_list_stdin(it, tmp_path):
    check_same(it, tmp_path, run_pair(it, tmp_path, basic_tree, ['-i', '-'],
                                      stdin=b'pkg/a.py\npkg/sub\n'))


def test_file_list_missing(it, tmp_path):
    for q in ([], ['-qq']):
        res = run_pair(it, tmp_path, basic_tree, [*q, '-i', 'nolist', 'pkg'])
        check_same(it, tmp_path, res)


def test_no_operands(it, tmp_path):
    """sys.path as `PY -S -m compileall` sees it: the current directory
    first (not skipped: -m puts its absolute path there), PYTHONPATH,
    then the standard library (fresh: only Listing lines)."""
    res = {}
    for side in ('real', 'ours'):
        root = tmp_path / side
        root.mkdir()
        basic_tree(str(root))
        write(str(root), 'top.py', 't = 1\n')
        env = env_for(tmp_path, {'PYTHONPATH': str(root / 'pkg')})
        if side == 'real':
            cmd = [it.exe, '-S', '-m', 'compileall', '-q']
        else:
            cmd = [BINARY, 'compileall', '--python', it.exe,
                   '--python-flag=-S', '-q']
        r = subprocess.run(cmd, cwd=root, env=env, capture_output=True,
                           timeout=300)
        res[side] = r
    r, o = res['real'], res['ours']
    assert o.returncode == r.returncode
    assert o.stdout.replace(bytes(tmp_path / 'ours'), b'ROOT') == \
        r.stdout.replace(bytes(tmp_path / 'real'), b'ROOT')
    assert sorted(tree_files(tmp_path / 'ours')) == sorted(
        tree_files(tmp_path / 'real'))


def test_loader_uses_our_pycs(it, tmp_path):
    root = tmp_path / 'ours'
    root.mkdir()
    basic_tree(str(root))
    for mode in ('timestamp', 'checked-hash', 'unchecked-hash'):
        subprocess.run([BINARY, 'compileall', '--python', it.exe, '-q', '-f',
                        '--invalidation-mode', mode, 'pkg'], cwd=root,
                       env=env_for(tmp_path), check=False, timeout=300)
        srcs = [str(root / p) for p in ('pkg/a.py', 'pkg/__init__.py',
                                        'pkg/sub/deep/d.py')]
        out = subprocess.run([it.exe, '-I', '-c', USE, json.dumps(srcs)],
                             capture_output=True, check=True)
        assert json.loads(out.stdout) == [], mode


def test_warm_run_starts_no_interpreter(it, tmp_path):
    """The second run starts no interpreter and rewrites nothing; the
    output is still compileall's (Listing lines, and the errors: the
    failing sources are compiled again, as compileall compiles them)."""
    root = tmp_path / 'w'
    root.mkdir()
    write(str(root), 'pkg/a.py', 'x = 1\n')
    write(str(root), 'pkg/sub/b.py', 'y = 2\n')
    count = tmp_path / 'starts'
    wrapper = tmp_path / 'py'
    wrapper.write_text('#!/bin/sh\necho >> %s\nexec %s "$@"\n'
                       % (count, it.exe))
    wrapper.chmod(0o755)
    env = env_for(tmp_path)
    cmd = [BINARY, 'compileall', '--python', str(wrapper), 'pkg']
    first = subprocess.run(cmd, cwd=root, env=env, capture_output=True)
    assert first.returncode == 0, first.stderr
    assert b'Compiling' in first.stdout
    n = count.read_text().count('\n')
    assert n >= 1
    before = {p: os.stat(p) for p in root.rglob('*.pyc')}
    assert len(before) == 2
    second = subprocess.run(cmd, cwd=root, env=env, capture_output=True)
    assert second.returncode == 0
    assert second.stdout == b"Listing 'pkg'...\nListing 'pkg/sub'...\n"
    assert count.read_text().count('\n') == n
    after = {p: os.stat(p) for p in root.rglob('*.pyc')}
    assert {p: (s.st_ino, s.st_mtime_ns) for p, s in before.items()} == \
        {p: (s.st_ino, s.st_mtime_ns) for p, s in after.items()}


def test_compiler_warnings(it, tmp_path):
    """The compiler's warnings on stderr as the compileall process shows
    them (its default filters, showwarning()'s format and source line)."""
    def build(root):
        write(root, 'w/a.py', "x = '\\d'\nif x is 'a':\n    pass\n")
        write(root, 'w/b.py', 'def f():\n    return\n    yield\n')
    res = run_pair(it, tmp_path, build, ['-q', 'w'])
    check_same(it, tmp_path, res)
    assert res['ours'].stderr == res['real'].stderr
    assert res['real'].stderr  # the test means something


def test_python_flag_takes_the_next_word(it, tmp_path):
    """--python-flag -O: our options take the next word even when it looks
    like an option (argparse's would not)."""
    root = tmp_path / 'f'
    root.mkdir()
    write(str(root), 'p/a.py', 'x = 1\n')
    r = subprocess.run([BINARY, 'compileall', '--python', it.exe,
                        '--python-flag', '-OO', '-q', 'p'], cwd=root,
                       env=env_for(tmp_path), capture_output=True)
    assert r.returncode == 0, r.stderr
    assert os.listdir(root / 'p/__pycache__') == [
        'a.%s.opt-2.pyc' % it.tag]


def test_source_read_error(it, tmp_path):
    """A source that opens but cannot be read (/proc/self/mem at offset
    0: EIO, for root too): py_compile reads it outside its try, so
    compileall prints the bare OSError (no "Sorry:", and no file name:
    read() names none).  An empty source beside it still compiles."""
    def build(root):
        write(root, 'p/ok.py', '')
        os.symlink('/proc/self/mem', os.path.join(root, 'p/mem.py'))
    for args in (['p'], ['-q', 'p']):
        for side in ('real', 'ours'):
            subprocess.run(['rm', '-rf', str(tmp_path / side)], check=True)
        check_same(it, tmp_path, run_pair(it, tmp_path, build, args))
