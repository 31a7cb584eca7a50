"""Interpreters asked as the user runs them (compile --sys-path, doctor)
and interpreters that cannot start: start-up code must neither break
the answer nor leave files behind, and a failure is one clear line."""
import json
import os

import pytest

from conftest import INTERPRETERS, run_tool


def site_dir(tmp_path, code, name='site'):
    d = tmp_path / name
    d.mkdir()
    (d / 'sitecustomize.py').write_text(code)
    return d


def one_line(res):
    err = res.stderr.decode('utf-8', 'replace')
    assert 'Fatal Python error' not in err, err
    assert 'Traceback' not in err, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


def snapshot(root):
    """Every entry below root, but the interpreter probe cache (ours,
    written by every command that meets a new interpreter)."""
    out = {}
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if x != 'pycprefix-interpreters']
        for x in dirs + files:
            p = os.path.join(d, x)
            st = os.lstat(p)
            out[p] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


# ---- item 8: an interpreter that cannot start ----

@pytest.mark.parametrize('how', ['pythonhome', 'sitecustomize'])
def test_sys_path_of_an_interpreter_that_cannot_start(how, interp,
                                                      clean_env, tmp_path):
    env = dict(clean_env)
    if how == 'pythonhome':
        env['PYTHONHOME'] = str(tmp_path / 'nonexistent')
        why = "No module named 'encodings'"
    else:
        env['PYTHONPATH'] = str(site_dir(tmp_path, 'import sys\n'
                                         'sys.exit(1)\n'))
        why = 'Failed to import the site module (SystemExit: 1)'
    res = run_tool(['compile', '--sys-path', '--python', interp.exe,
                    '--prefix', str(tmp_path / 'p')], env)
    line = one_line(res)
    assert res.returncode == 2, res.stderr
    assert "'%s' cannot start (exit 1): " % interp.exe in line, line
    assert why in line, line
    assert not (tmp_path / 'p').exists()


def broken_python(tmp_path, it):
    """An interpreter that answers the probe but whose workers (python
    -s -S -B ...) die at start-up, as an installation broken after it was
    probed does."""
    w = tmp_path / 'python-broken'
    w.write_text('#!/bin/sh\nif [ "$1" = "-s" ]; then\n'
                 '  echo "Python path configuration:" >&2\n'
                 '  echo "Fatal Python error: init_fs_encoding: failed" >&2\n'
                 '  echo "ModuleNotFoundError: No module named x" >&2\n'
                 '  exit 1\nfi\nexec %s "$@"\n' % it.exe)
    w.chmod(0o755)
    return str(w)


def test_workers_that_cannot_start(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    exe = broken_python(tmp_path, it)
    tree = tmp_path / 'tree'
    tree.mkdir()
    (tree / 'a.py').write_text('x = 1\n')
    res = run_tool(['compile', '--python', exe, '--prefix',
                    str(tmp_path / 'p'), str(tree)], clean_env)
    line = one_line(res)
    assert res.returncode == 2, res.stderr
    assert exe in line and 'cannot start' in line, line
    assert ('(exit 1): init_fs_encoding: failed (ModuleNotFoundError: '
            'No module named x)') in line, line


def test_doctor_names_an_interpreter_that_cannot_start(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    env = dict(clean_env, PYTHONPATH=str(site_dir(
        tmp_path, 'import sys\nsys.exit(1)\n')),
        PYTHONPYCACHEPREFIX=str(tmp_path / 'p'))
    res = run_tool(['doctor', '--json', '--python', it.exe], env)
    assert res.returncode == 2, res.stderr
    assert b'Fatal Python error' not in res.stderr + res.stdout
    out = json.loads(res.stdout)
    [c] = [c for c in out['checks'] if c['check'] == 'python.run']
    assert c['level'] == 'FAIL'
    assert "'%s' cannot start (exit 1)" % it.exe in c['message']
    assert 'SystemExit: 1' in c['message']
    human = run_tool(['doctor', '--python', it.exe], env)
    assert human.returncode == 2
    assert b'Fatal Python error' not in human.stderr


# ---- item 9: start-up output is not the answer ----

def test_start_up_output_is_not_read_as_sys_path(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    inject = tmp_path / 'inject'
    inject.mkdir()
    (inject / 'zz_planted_h3.py').write_text('x = 1\n')
    lib = tmp_path / 'lib'
    lib.mkdir()
    (lib / 'mine.py').write_text('x = 1\n')
    # Start-up code that prints, even in the answer's own format.
    site = site_dir(tmp_path, 'import sys\nprint("zz-hello-h3")\n'
                    'sys.stdout.write(%r)\nsys.stdout.flush()\n'
                    'sys.stderr.write("zz-chatter-h3\\n")\n'
                    % ('%s\0' % inject))
    env = dict(clean_env, PYTHONPATH='%s:%s' % (site, lib))
    res = run_tool(['compile', '--sys-path', '-n', '--python', it.exe,
                    '--prefix', str(tmp_path / 'p')], env)
    err = res.stderr.decode()
    assert 'zz-' not in err and 'cannot read' not in err, err
    out = res.stdout.decode()
    # The dry run names each source: the entries' are there, the
    # planted one is not.
    assert str(lib / 'mine.py') + ' -> ' in out
    assert str(site / 'sitecustomize.py') + ' -> ' in out
    assert 'zz_planted_h3' not in out and 'zz-' not in out


# ---- item 17: doctor writes nothing ----

def test_doctor_leaves_no_file(clean_env, tmp_path):
    """doctor runs each interpreter with the user's environment; they
    must write no pyc (PYTHONDONTWRITEBYTECODE unset), create no relative
    prefix, and import nothing from the prefix."""
    it = INTERPRETERS[-1]
    work = tmp_path / 'work'
    work.mkdir()
    marker = tmp_path / 'marker'
    site = site_dir(tmp_path, 'import helper\n')
    (site / 'helper.py').write_text('open(%r, "w").close()\n' % str(marker))
    prefix = tmp_path / 'p'
    env = dict(clean_env, PYTHONPATH=str(site),
               PYTHONPYCACHEPREFIX=str(prefix))
    env.pop('PYTHONDONTWRITEBYTECODE')
    # A pyc in the prefix that Python would use (unchecked hash) for
    # helper.py, whose source no longer does anything.
    run_tool(['compile', '--invalidation-mode', 'unchecked-hash',
              '--python', it.exe, str(site)], env, check=0)
    (site / 'helper.py').write_text('x = 1\n')
    before = snapshot(tmp_path)
    res = run_tool(['doctor', '--python', it.exe], env, cwd=str(work))
    assert res.returncode in (0, 1), res.stderr
    assert not marker.exists(), 'doctor imported from the prefix'
    assert snapshot(tmp_path) == before
    # A relative prefix is not created where doctor runs.
    env['PYTHONPYCACHEPREFIX'] = 'relpfx'
    res = run_tool(['doctor', '--python', it.exe], env, cwd=str(work))
    assert os.listdir(work) == []
    assert snapshot(tmp_path) == before
    # compile --sys-path asks about the user's own start-up, cached
    # bytecode included (the throw-away prefix made every warm run
    # compile site, os... from source): it runs the pyc the user's
    # Python runs, and still writes nothing.
    env['PYTHONPYCACHEPREFIX'] = str(prefix)
    run_tool(['compile', '--sys-path', '-n', '--python', it.exe], env,
             cwd=str(work))
    assert marker.exists()
    marker.unlink()
    assert snapshot(tmp_path) == before


def test_doctor_exit_status_agrees_with_its_summary(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    pfx = tmp_path / 'pfx'
    # Only things to look at (PYTHONPYCACHEPREFIX unset: a warning).
    res = run_tool(['doctor', '--prefix', str(pfx), '--python', it.exe],
                   clean_env)
    assert res.stderr.strip().startswith(b'0 to fix, '), res.stderr
    assert res.returncode == 0, res.stdout
    # Something to fix: a prefix that is a file.
    f = tmp_path / 'file'
    f.write_text('')
    res = run_tool(['doctor', '--prefix', str(f), '--python', it.exe],
                   clean_env)
    assert res.stderr.strip().startswith(b'1 to fix, '), res.stderr
    assert res.returncode == 1
    helptext = run_tool(['doctor', '--help'], clean_env, check=0).stdout
    assert b'1 when something is to fix' in b' '.join(
        helptext.split())
