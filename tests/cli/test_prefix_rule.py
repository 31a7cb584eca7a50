"""A relative prefix (--prefix or PYTHONPYCACHEPREFIX) follows one rule in
every command: it is made absolute against the current directory, with one
warning line on stderr (issue 11, item 25)."""
import json
import os

import pytest

from conftest import INTERPRETERS, run_tool

REL = 'rel/cache'


def make_work(tmp_path, clean_env, how):
    work = tmp_path / 'work'
    (work / 'proj').mkdir(parents=True)
    (work / 'proj' / 'm.py').write_text('X = 1\n')
    env = dict(clean_env)
    args = []
    if how == 'option':
        args = ['--prefix', REL]
    else:
        env['PYTHONPYCACHEPREFIX'] = REL
    return work, env, args, str(work / REL)


def relative_warnings(res, absolute):
    lines = [l for l in res.stderr.decode().splitlines() if 'relative' in l]
    assert len(lines) == 1, res.stderr
    assert "'%s'" % REL in lines[0] and absolute in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize('how', ['option', 'env'])
def test_relative_prefix_env(how, tmp_path, clean_env):
    work, env, args, absolute = make_work(tmp_path, clean_env, how)
    res = run_tool(args + ['env', '--shell', 'sh'], env, cwd=work, check=0)
    assert res.stdout.decode() == "export PYTHONPYCACHEPREFIX='%s'\n" % absolute
    relative_warnings(res, absolute)


@pytest.mark.parametrize('how', ['option', 'env'])
def test_relative_prefix_compile(how, tmp_path, clean_env, interp):
    work, env, args, absolute = make_work(tmp_path, clean_env, how)
    res = run_tool(args + ['--python', interp.exe, 'compile', 'proj'], env,
                   cwd=work, check=0)
    relative_warnings(res, absolute)
    # Where this interpreter, started in the same directory with the same
    # relative prefix, reads the module's pyc.
    penv = dict(clean_env, PYTHONPYCACHEPREFIX=REL)
    out = interp.run('import importlib.util as u, os; print(os.path.join('
                     'os.getcwd(), u.cache_from_source(os.path.abspath('
                     '"proj/m.py"))))', env=penv, cwd=work, flags=('-X',
                     'pycache_prefix=' + REL))
    want = out.decode().strip()
    assert want.startswith(absolute + '/')
    assert os.path.isfile(want)
    made = [os.path.join(d, f) for d, _, fs in os.walk(work) for f in fs
            if f.endswith('.pyc')]
    assert made == [want]


@pytest.mark.parametrize('how', ['option', 'env'])
def test_relative_prefix_doctor(how, tmp_path, clean_env):
    work, env, args, absolute = make_work(tmp_path, clean_env, how)
    newest = INTERPRETERS[-1]
    res = run_tool(args + ['--python', newest.exe, 'doctor', '--json'], env,
                   cwd=work)
    assert res.returncode in (0, 1), res.stderr
    relative_warnings(res, absolute)
    report = json.loads(res.stdout)
    assert report['prefix'] == absolute
    levels = {c['check']: c['level'] for c in report['checks']}
    assert levels['prefix.relative'] == 'warn'
    assert report['failures'] == 0, report
    if how == 'env':
        # The shell's relative setting and the interpreter's are the
        # prefix checked here, once made absolute the same way.
        assert levels['env.set'] == 'ok', report
        assert levels['python.prefix'] == 'ok', report


def test_relative_prefix_no_cwd(tmp_path, clean_env):
    gone = tmp_path / 'gone'
    gone.mkdir()
    # A working directory that was removed: getcwd() fails.
    os.chdir(gone)
    try:
        os.rmdir(gone)
        res = run_tool(['--prefix', REL, 'env'], clean_env)
    finally:
        os.chdir(tmp_path)
    assert res.returncode == 2
    assert "'%s'" % REL in res.stderr.decode()
    assert res.stdout == b''
