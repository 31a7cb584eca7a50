"""cache_from_source / source_from_cache: the binary against each CPython.

Paths are generated from pieces that hit every branch of importlib's
string handling: separators (doubled, trailing), '.' and '..', names with
no, one or several dots, leading dots, __pycache__, opt- parts with ASCII
and non-ASCII alphanumerics, spaces, non-ASCII UTF-8 and bytes that are
not UTF-8 at all.  One interpreter process and one binary run check a
whole batch.
"""
import json
import os
import subprocess

from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import run_tool

PIECES = [b'a', b'b', b'pkg', b'.', b'..', b'/', b'//', b' ', b'x y',
          b'__pycache__', b'.py', b'.pyc', b'py', b'cpython-312', b'opt-',
          b'opt-1', b'opt-2', b'opt-a', 'opt-\u0663'.encode(),
          'opt-\u00b2'.encode(), 'caf\u00e9'.encode(), '\u4e2d'.encode(),
          b'\xff', b'\xc3', b'\xed\xa0\x80', b'-', b'_', b'0', b'~',
          b'\xe2\x80\x8b', 'opt-\U0001e950'.encode(), 'opt-\U00011f50'.encode()]

paths = st.lists(st.sampled_from(PIECES), max_size=8).map(b''.join)
batches = st.lists(paths, min_size=1, max_size=40)

ORACLE = r'''
import os, sys, importlib.util as u
mode, prefix, opt = sys.argv[1], sys.argv[2], sys.argv[3]
sys.pycache_prefix = None if prefix == '-' else os.fsdecode(os.fsencode(prefix))
out = sys.stdout.buffer
for raw in sys.stdin.buffer.read().split(b'\0')[:-1]:
    p = os.fsdecode(raw)
    try:
        if mode == 'f':
            r = u.cache_from_source(p, optimization=opt if opt != '0' else '')
        else:
            r = u.source_from_cache(p)
        out.write(b'O\0' + os.fsencode(r) + b'\0')
    except Exception as e:
        out.write(b'E\0' + type(e).__name__.encode() + b'\0')
'''


def oracle(interp, mode, prefix, opt, batch, cwd, env):
    data = b''.join(p + b'\0' for p in batch)
    raw = interp.run(ORACLE, mode, prefix if prefix is not None else '-',
                     str(opt), input=data, cwd=cwd, env=env)
    fields = raw.split(b'\0')[:-1]
    return [(fields[i] == b'O', fields[i + 1])
            for i in range(0, len(fields), 2)]


def tool(interp, mode, prefix, opt, batch, cwd, env):
    args = ['path', '--json', '--python', interp.exe]
    args += ['--in-tree'] if prefix is None else ['--prefix', prefix]
    args += ['-O', str(opt)] if mode == 'f' else ['--reverse']
    res = run_tool(args + ['--'] + [os.fsdecode(p) for p in batch],
                   env=env, cwd=cwd)
    assert res.returncode in (0, 1), res.stderr
    items = json.loads(res.stdout)
    key = 'cache' if mode == 'f' else 'source'
    out = []
    for it in items:
        if it['error'] is None:
            out.append((True, os.fsencode(it[key])))
        else:
            out.append((False, None))
    assert (res.returncode == 1) == any(not ok for ok, _ in out)
    return out


def absolute(path, cwd):
    """A relative prefix (or a relative pyc inside the prefix) as the tool
    takes it: joined to the current directory, leading './' dropped."""
    if path is None or path.startswith(b'/'):
        return path
    while path.startswith(b'./'):
        path = path[2:].lstrip(b'/')
    return cwd if path in (b'', b'.') else os.path.join(cwd, path)


def inside(path, prefix):
    return path.startswith(prefix.rstrip(b'/') + b'/')


def compare(interp, mode, prefix, opt, batch, cwd, env):
    # CPython keeps a relative prefix relative and joins it to its working
    # directory at each import; the tool makes it absolute once (against
    # the same directory here), and takes a relative pyc inside it as
    # that pyc's absolute path.  The oracle is asked in those terms.
    bcwd = os.fsencode(cwd)
    if prefix is not None:
        aprefix = absolute(os.fsencode(prefix), bcwd)
        if mode == 'r':
            batch_abs = [absolute(p, bcwd) for p in batch]
            batch_or = [a if a != p and inside(a, aprefix) else p
                        for p, a in zip(batch, batch_abs)]
        else:
            batch_or = batch
        want = oracle(interp, mode, os.fsdecode(aprefix), opt, batch_or,
                      cwd, env)
    else:
        want = oracle(interp, mode, prefix, opt, batch, cwd, env)
    got = tool(interp, mode, prefix, opt, batch, cwd, env)
    assert len(want) == len(got) == len(batch)
    for p, (wok, wval), (gok, gval) in zip(batch, want, got):
        assert wok == gok, (p, wval, gval)
        if wok:
            assert wval == gval, p


PREFIXES = [None, '/tmp/pfx', '/tmp/pfx//', 'rel/pfx', 'rel/', '/', '.',
            '/tmp/sp ace/\u00e9']

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large,
                                           HealthCheck.too_slow])


@SETTINGS
@given(batch=batches, prefix=st.sampled_from(PREFIXES),
       opt=st.sampled_from([0, 1, 2]))
def test_cache_from_source(interp, clean_env, tmp_path, batch, prefix, opt):
    compare(interp, 'f', prefix, opt, batch, str(tmp_path), clean_env)


@SETTINGS
@given(batch=batches, prefix=st.sampled_from(PREFIXES))
def test_source_from_cache(interp, clean_env, tmp_path, batch, prefix):
    compare(interp, 'r', prefix, 0, batch, str(tmp_path), clean_env)


@SETTINGS
@given(batch=st.lists(st.tuples(st.sampled_from(['/tmp/pfx', 'rel', '/']),
                                paths, paths,
                                st.sampled_from([b'.cpython-38', b'.cpython-313',
                                                 b'.x', b'']),
                                st.sampled_from([b'', b'.opt-1', b'.opt-',
                                                 '.opt-\u0663'.encode(),
                                                 b'.opt-\xff', b'.opt-2x']),
                                st.sampled_from([b'.pyc', b'.py', b''])),
                      min_size=1, max_size=30),
       prefix=st.sampled_from(PREFIXES))
def test_source_from_cache_shaped(interp, clean_env, tmp_path, batch, prefix):
    """Pyc-shaped names (inside and outside the prefix) reach the opt- and
    dot-count rules that random pieces rarely do."""
    shaped = [os.fsencode(pre) + b'/' + d + b'/' + n + tag + o + ext
              for pre, d, n, tag, o, ext in batch]
    compare(interp, 'r', prefix, 0, shaped, str(tmp_path), clean_env)


def test_cwd_root_and_special_dirs(interp, clean_env):
    """cwd '/' makes CPython raise IndexError for sources in it."""
    batch = [b'x.py', b'/x.py', b'//x.py', b'a/x.py', b'./x.py', b'/a/b.py',
             b'./a/x.py', b'.//a/x.py', b'', b'/', b'///', b'.']
    for prefix in ('/tmp/pfx', None, 'rel'):
        for opt in (0, 2):
            compare(interp, 'f', prefix, opt, batch, '/', clean_env)


def test_relative_paths_in_unicode_cwd(interp, clean_env, tmp_path):
    d = tmp_path / 'sp ace' / 'caf\u00e9'
    d.mkdir(parents=True)
    batch = [b'x.py', b'./x.py', b'../x.py', b'./a/./b.py', b'a//b.py']
    for prefix in ('/tmp/pfx', 'rel/p', None):
        compare(interp, 'f', prefix, 1, batch, str(d), clean_env)


def test_default_prefix_follows_environment(interp, clean_env, tmp_path):
    """Without --prefix the tool uses PYTHONPYCACHEPREFIX as CPython
    does (empty means unset), else the XDG default."""
    env = dict(clean_env, PYTHONPYCACHEPREFIX=str(tmp_path / 'envp'))
    out = run_tool(['path', '--python', interp.exe, 'a.py'], env=env,
                   cwd=str(tmp_path), check=0).stdout.decode().strip()
    # Interp.run passes -E, which would hide the variable: ask directly.
    want = subprocess.run([interp.exe, '-c',
                           'import importlib.util as u; print(u.cache_from_source("a.py"))'],
                          env=env, cwd=str(tmp_path), capture_output=True,
                          check=True).stdout.decode().strip()
    assert out == want
    env['PYTHONPYCACHEPREFIX'] = ''
    out = run_tool(['path', '--python', interp.exe, 'a.py'], env=env,
                   cwd=str(tmp_path), check=0).stdout.decode().strip()
    assert out == os.path.join(env['XDG_CACHE_HOME'], 'pycprefix',
                               str(tmp_path).lstrip('/'),
                               'a.%s.pyc' % interp.tag)
