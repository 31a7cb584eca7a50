"""End-to-end tests of the binary: options, messages, exit codes, the
probe cache, show, pythons, env and run."""
import json
import os
import stat
import subprocess

import pytest

from conftest import BINARY, INTERPRETERS, run_tool

COMMANDS = ['compile', 'status', 'path', 'show', 'pythons', 'env', 'run']


def test_version(clean_env):
    out = run_tool(['--version'], clean_env, check=0).stdout.decode()
    assert out.startswith('pycprefix ')


def test_help_lists_commands(clean_env):
    out = run_tool(['--help'], clean_env, check=0).stdout.decode()
    for c in COMMANDS:
        assert '\n  %s ' % c in out


@pytest.mark.parametrize('cmd', COMMANDS)
def test_command_help(cmd, clean_env):
    for args in ([cmd, '--help'], [cmd, '-h'], ['help', cmd]):
        res = run_tool(args, clean_env, check=0)
        assert res.stdout.decode().startswith('usage: pycprefix %s ' % cmd)
        assert '--help' in res.stdout.decode()


def test_unknown_command(clean_env):
    res = run_tool(['frobnicate'], clean_env, check=2)
    err = res.stderr.decode()
    assert "'frobnicate' is not a command" in err
    assert 'path' in err


def test_help_of_an_unknown_command(clean_env):
    """help COMMAND with no such command: the same usage error as the
    command itself (it printed the main help and exited 0); help alone
    is the main help."""
    res = run_tool(['help', 'frobnicate'], clean_env, check=2)
    assert res.stdout == b''
    err = res.stderr.decode()
    assert err.startswith("pycprefix: 'frobnicate' is not a command\n")
    assert '\n  compile ' in err
    res = run_tool(['help'], clean_env, check=0)
    assert res.stdout == run_tool(['--help'], clean_env, check=0).stdout


def test_no_command(clean_env):
    assert run_tool([], clean_env, check=2).stderr.startswith(b'usage:')


@pytest.mark.parametrize('args,msg', [
    (['path', '--bogus', 'x.py'], "unknown option '--bogus'"),
    (['path', '-O', '3', 'x.py'], '-O takes 0, 1 or 2'),
    (['path', '-O', '1x', 'x.py'], '-O takes 0, 1 or 2'),
    (['path'], 'needs at least one FILE'),
    (['path', '-O'], "needs a value"),
    (['show'], 'needs at least one PYC'),
    (['path', '--prefix', '', 'x.py'], '--prefix needs a directory'),
    (['path', '--prefix', 'p', '--in-tree', 'x.py'], 'exclude each other'),
    (['env', '--shell', 'tcl'], "unknown shell 'tcl'"),
    (['run'], 'needs a COMMAND'),
    (['show', '--check-hash-based-pycs', 'sometimes', 'x'], 'default, always or never'),
])
def test_usage_errors(args, msg, clean_env):
    res = run_tool(args, clean_env, check=2)
    assert msg in res.stderr.decode()
    assert res.stdout == b''


def test_bad_python(clean_env, tmp_path):
    res = run_tool(['path', '--python', 'no-such-python-x', 'a.py'],
                   clean_env, check=2)
    assert "no interpreter 'no-such-python-x'" in res.stderr.decode()
    notpy = tmp_path / 'notpy'
    notpy.write_text('#!/bin/sh\necho hello\n')
    notpy.chmod(0o755)
    res = run_tool(['path', '--python', str(notpy), 'a.py'], clean_env,
                   check=2)
    assert 'did not answer like a Python interpreter' in res.stderr.decode()


@pytest.mark.parametrize('answer,msg', [
    (r'pycprefix-probe-2\0cpython\0003 7 16 final 0\0',
     'it is Python 3.7.16; the pycache prefix needs CPython 3.8 or later'),
    (r'pycprefix-probe-2\0cpython\0002 7 18 final 0\0',
     'it is Python 2.7.18'),
    (r'pycprefix-probe-2\000pypy\0003 10 14 final 0\000pypy310\000'
     r'0d0d0d0a\0000000000000000000\00015.0.0\000/x\0003.10.14 (pypy)\000',
     'it is pypy, not CPython'),
])
def test_unusable_interpreters_rejected(answer, msg, clean_env, tmp_path):
    """Interpreters that answer the probe like an old CPython or another
    implementation are refused with the reason."""
    fake = tmp_path / 'python'
    fake.write_text("#!/bin/sh\nprintf '%s'\n" % answer)
    fake.chmod(0o755)
    res = run_tool(['path', '--python', str(fake), 'a.py'], clean_env,
                   check=2)
    assert msg in res.stderr.decode()


def test_path_error_names_file_and_goes_on(clean_env):
    it = INTERPRETERS[-1]
    res = run_tool(['path', '--python', it.exe, '--prefix', '/p', 'x.py',
                    '/a/y.py'], clean_env, cwd='/', check=1)
    assert res.stdout.decode() == '/p/a/y.%s.pyc\n' % it.tag
    err = res.stderr.decode().splitlines()
    assert len(err) == 1 and "'x.py'" in err[0]


def test_path_null_separated(clean_env, tmp_path):
    it = INTERPRETERS[0]
    res = run_tool(['path', '-z', '--in-tree', '--python', it.exe,
                    'a\nb.py', 'c.py'], clean_env, cwd=str(tmp_path), check=0)
    assert res.stdout == ('__pycache__/a\nb.%s.pyc\0__pycache__/c.%s.pyc\0'
                          % (it.tag, it.tag)).encode()


def test_probe_is_cached_and_redone_when_interpreter_changes(clean_env,
                                                             tmp_path):
    it = INTERPRETERS[-1]
    log = tmp_path / 'log'
    wrapper = tmp_path / 'python-wrapper'
    wrapper.write_text('#!/bin/sh\necho run >> %s\nexec %s "$@"\n'
                       % (log, it.exe))
    wrapper.chmod(0o755)
    args = ['path', '--python', str(wrapper), '--in-tree', 'a.py']
    run_tool(args, clean_env, check=0)
    assert log.read_text().count('run') == 1
    run_tool(args, clean_env, check=0)
    run_tool(args, clean_env, check=0)
    assert log.read_text().count('run') == 1, 'the probe was not cached'
    # A changed interpreter (new size, mtime, ctime) is probed again.
    wrapper.write_text(wrapper.read_text() + '# changed\n')
    run_tool(args, clean_env, check=0)
    assert log.read_text().count('run') == 2
    cache = os.path.join(clean_env['XDG_CACHE_HOME'], 'pycprefix-interpreters')
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o700


def test_pythons_json_lists_every_interpreter(clean_env):
    res = run_tool(['pythons', '--json'], clean_env, check=0)
    found = {os.path.realpath(p['real']): p for p in json.loads(res.stdout)}
    for it in INTERPRETERS:
        p = found[os.path.realpath(it.exe)]
        assert p['usable'] is True
        assert p['tag'] == it.tag and p['magic'] == it.magic
        assert p['version'] == '%d.%d.%d' % it.version


def test_pythons_follows_path_and_pyenv_root(clean_env, tmp_path):
    it = INTERPRETERS[0]
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    (bindir / 'python3.99').symlink_to(it.exe)
    env = dict(clean_env, PATH=str(bindir), HOME=str(tmp_path),
               PYENV_ROOT=str(tmp_path / 'nopyenv'))
    res = run_tool(['pythons', '--json'], env, check=0)
    paths = [p['path'] for p in json.loads(res.stdout)]
    assert str(bindir / 'python3.99') in paths
    assert not any('/.pyenv/versions/' in p for p in paths)


@pytest.mark.parametrize('shell,line', [
    ('bash', "export PYTHONPYCACHEPREFIX='/tmp/it'\\''s'\n"),
    ('sh', "export PYTHONPYCACHEPREFIX='/tmp/it'\\''s'\n"),
    ('fish', "set -gx PYTHONPYCACHEPREFIX '/tmp/it\\'s';\n"),
    ('csh', "setenv PYTHONPYCACHEPREFIX '/tmp/it'\\''s'\n"),
])
def test_env_shells(shell, line, clean_env):
    res = run_tool(['env', '--shell', shell, '--prefix', "/tmp/it's"],
                   clean_env, check=0)
    assert res.stdout.decode() == line


def test_env_sh_line_round_trips(clean_env):
    weird = "/tmp/a b/$x/`y`/'q'/\"d\"/!"
    line = run_tool(['env', '--shell', 'sh', '--prefix', weird], clean_env,
                    check=0).stdout.decode()
    out = subprocess.run(['sh', '-c', line + 'printf %s "$PYTHONPYCACHEPREFIX"'],
                         capture_output=True, check=True).stdout.decode()
    assert out == weird


def test_env_default_and_in_tree(clean_env):
    res = run_tool(['env', '--shell', 'bash'], clean_env, check=0)
    assert res.stdout.decode() == "export PYTHONPYCACHEPREFIX='%s/pycprefix'\n" \
        % clean_env['XDG_CACHE_HOME']
    env = dict(clean_env, PYTHONPYCACHEPREFIX='/from/env')
    res = run_tool(['env', '--json'], env, check=0)
    assert json.loads(res.stdout) == {'PYTHONPYCACHEPREFIX': '/from/env',
                                      'origin': 'PYTHONPYCACHEPREFIX'}
    res = run_tool(['env', '--in-tree', '--shell', 'zsh'], env, check=0)
    assert res.stdout == b'unset PYTHONPYCACHEPREFIX\n'


def test_env_relative_prefix_warns(clean_env):
    res = run_tool(['env', '--prefix', 'rel/p'], clean_env, check=0)
    assert b'relative' in res.stderr


def test_run_sets_prefix_and_passes_status(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    res = run_tool(['run', '--prefix', str(tmp_path / 'p'), it.exe, '-c',
                    'import sys; print(sys.pycache_prefix); sys.exit(7)'],
                   clean_env)
    assert res.returncode == 7
    assert res.stdout.decode().strip() == str(tmp_path / 'p')
    env = dict(clean_env, PYTHONPYCACHEPREFIX='/x')
    res = run_tool(['--in-tree', 'run', '--', it.exe, '-c',
                    'import sys; print(sys.pycache_prefix)'], env, check=0)
    assert res.stdout == b'None\n'
    res = run_tool(['run', 'no-such-command-zz'], clean_env, check=127)
    assert b"cannot run 'no-such-command-zz'" in res.stderr


def test_run_leaves_command_options_alone(clean_env):
    res = run_tool(['run', 'sh', '-c', 'echo "$0 $1"', '-v', '--json'],
                   clean_env, check=0)
    assert res.stdout == b'-v --json\n'


def write_pyc_with_python(it, src, prefix, extra=()):
    subprocess.run([it.exe, '-X', 'pycache_prefix=' + prefix, *extra, '-c',
                    'import py_compile, sys; py_compile.compile(sys.argv[1])'
                    if not extra else
                    'import py_compile, sys; py_compile.compile(sys.argv[1], '
                    'invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)',
                    src], check=True, env={})


def test_show_fresh_stale_orphan(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    prefix = str(tmp_path / 'prefix')
    src = tmp_path / 'mod.py'
    src.write_text('x = 1\n')
    write_pyc_with_python(it, str(src), prefix)
    pyc = run_tool(['path', '--python', it.exe, '--prefix', prefix, str(src)],
                   clean_env, check=0).stdout.decode().strip()
    res = run_tool(['show', '--json', '--prefix', prefix, pyc], clean_env,
                   check=0)
    v = json.loads(res.stdout)[0]
    assert v['state'] == 'fresh' and v['source'] == str(src)
    assert v['magic'] == it.magic and v['mode'] == 'timestamp'
    assert v['source_size'] == 6
    human = run_tool(['show', '--prefix', prefix, pyc], clean_env,
                     check=0).stdout.decode()
    assert 'verdict  fresh' in human and str(src) in human
    st = os.stat(src)
    src.write_text('x = 22\n')
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))  # only the size
    v = json.loads(run_tool(['show', '--json', '--prefix', prefix, pyc],
                            clean_env, check=0).stdout)[0]
    assert v['state'] == 'stale' and v['reason'] == 'source size differs'
    src.unlink()
    v = json.loads(run_tool(['show', '--json', '--prefix', prefix, pyc],
                            clean_env, check=0).stdout)[0]
    assert v['state'] == 'orphan'


def test_show_unchecked_changed_warns(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    prefix = str(tmp_path / 'prefix')
    src = tmp_path / 'mod.py'
    src.write_text('x = 1\n')
    write_pyc_with_python(it, str(src), prefix, extra=('-B',))
    src.write_text('x = 2\n')
    pyc = run_tool(['path', '--python', it.exe, '--prefix', prefix, str(src)],
                   clean_env, check=0).stdout.decode().strip()
    human = run_tool(['show', '--prefix', prefix, pyc], clean_env,
                     check=0).stdout.decode()
    assert 'changed (unchecked)' in human and 'runs the old code' in human


def test_show_in_tree_and_not_a_pyc(clean_env, tmp_path):
    it = INTERPRETERS[0]
    src = tmp_path / 'm.py'
    src.write_text('')
    subprocess.run([it.exe, '-c', 'import py_compile, sys; '
                    'py_compile.compile(sys.argv[1])', str(src)], check=True,
                   env={})
    pyc = tmp_path / '__pycache__' / ('m.%s.pyc' % it.tag)
    v = json.loads(run_tool(['show', '--json', str(pyc)], clean_env,
                            check=0).stdout)[0]
    assert v['state'] == 'fresh'
    junk = tmp_path / '__pycache__' / 'junk.cpython-312.pyc'
    junk.write_bytes(b'abc')
    # Not a pyc: said so, nothing judged (tests/cli/test_show_verdicts.py).
    v = json.loads(run_tool(['show', '--json', str(junk)], clean_env,
                            check=1).stdout)[0]
    assert v['header'] == 'bad-magic' and v['state'] == 'not-a-pyc'
    res = run_tool(['show', str(tmp_path / 'nope.pyc'), str(pyc)], clean_env,
                   check=1)
    assert b"cannot read '" in res.stderr and b'verdict' in res.stdout


def test_json_paths_with_undecodable_bytes(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    name = b'caf\xe9\xff.py'
    res = subprocess.run([BINARY.encode(), b'path', b'--json', b'--in-tree',
                          b'--python', it.exe.encode(), name],
                         capture_output=True, env=clean_env, check=True)
    item = json.loads(res.stdout)[0]
    assert os.fsencode(item['source']) == name
    assert os.fsencode(item['cache']) == (b'__pycache__/caf\xe9\xff.%s.pyc'
                                          % it.tag.encode())
