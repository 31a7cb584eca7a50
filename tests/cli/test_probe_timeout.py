"""Asking an interpreter as the user runs it (compile --sys-path, doctor)
is bounded like the probe (issue 12): a sitecustomize that hangs ends in
a clear error after PYCPREFIX_PROBE_TIMEOUT seconds, and one that fails
is an error with its reason, not an empty answer."""
import subprocess

from conftest import BINARY, INTERPRETERS

OLDEST = INTERPRETERS[0]


def hanging_site(tmp_path, body):
    site = tmp_path / 'site'
    site.mkdir()
    (site / 'sitecustomize.py').write_text(body)
    return str(site)


def run(args, env):
    # Bounded so that a time-out that does not work fails the test
    # instead of hanging it (the default is 30 s).
    return subprocess.run([BINARY, *args], capture_output=True, env=env,
                          timeout=25)


def test_sys_path_of_a_hanging_interpreter_times_out(clean_env, tmp_path):
    env = dict(clean_env, PYCPREFIX_PROBE_TIMEOUT='2',
               PYTHONPATH=hanging_site(tmp_path,
                                       'import time\ntime.sleep(120)\n'))
    res = run(['compile', '--sys-path', '--python', OLDEST.exe,
               '--prefix', str(tmp_path / 'p')], env)
    err = res.stderr.decode()
    assert res.returncode == 2, err
    assert "'%s' did not answer within 2 s" % OLDEST.exe in err
    assert not (tmp_path / 'p').exists() or \
        not any((tmp_path / 'p').rglob('*.pyc'))


def test_doctor_of_a_hanging_interpreter_times_out(clean_env, tmp_path):
    env = dict(clean_env, PYCPREFIX_PROBE_TIMEOUT='2',
               PYTHONPATH=hanging_site(tmp_path,
                                       'import time\ntime.sleep(120)\n'))
    res = run(['doctor', '--python', OLDEST.exe,
               '--prefix', str(tmp_path / 'p')], env)
    out = res.stdout.decode() + res.stderr.decode()
    assert res.returncode != 0, out
    assert 'did not answer within 2 s' in out


def test_sys_path_of_a_failing_sitecustomize(clean_env, tmp_path):
    # (A SystemExit in site is CPython's own "cannot start", exit 1.)
    env = dict(clean_env, PYTHONPATH=hanging_site(
        tmp_path, 'import os, sys\nsys.stderr.write("RuntimeError: nope\\n")\n'
        'sys.stderr.flush()\nos._exit(5)\n'))
    res = run(['compile', '--sys-path', '--python', OLDEST.exe,
               '--prefix', str(tmp_path / 'p')], env)
    err = res.stderr.decode()
    assert res.returncode == 2, err
    assert 'exit 5' in err and 'RuntimeError: nope' in err
