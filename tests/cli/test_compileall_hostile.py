"""pycprefix compileall as a new user meets it: options in the place
other commands take them, hostile trees and processes."""
import os
import signal
import subprocess
import time

import pytest

from conftest import BINARY, INTERPRETERS, run_tool


def tree(root):
    (root / 'p').mkdir(parents=True)
    (root / 'p/a.py').write_text('x = 1\n')


def test_python_before_the_command(tmp_path, clean_env):
    """`pycprefix --python PY compileall`, as every other command takes
    --python: the same as after the command name; the one after it
    wins (argparse's last one)."""
    first, last = INTERPRETERS[0], INTERPRETERS[-1]
    tree(tmp_path)
    r = run_tool(['--python', first.exe, 'compileall', '-q', 'p'],
                 clean_env, cwd=tmp_path)
    assert (r.returncode, r.stdout, r.stderr) == (0, b'', b'')
    assert os.listdir(tmp_path / 'p/__pycache__') == [
        'a.%s.pyc' % first.tag]
    if first.tag != last.tag:
        r = run_tool(['--python', first.exe, 'compileall', '--python',
                      last.exe, '-q', 'p'], clean_env, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert sorted(os.listdir(tmp_path / 'p/__pycache__')) == sorted(
            ['a.%s.pyc' % first.tag, 'a.%s.pyc' % last.tag])


def test_python_before_the_command_one_only(tmp_path, clean_env):
    tree(tmp_path)
    for lead in (['--python', 'all'],
                 ['--python', INTERPRETERS[0].exe, '--python',
                  INTERPRETERS[-1].exe]):
        r = run_tool([*lead, 'compileall', 'p'], clean_env, cwd=tmp_path)
        assert r.returncode == 2
        assert r.stderr.startswith(b'pycprefix: compileall runs one '
                                   b'interpreter'), r.stderr
        assert not (tmp_path / 'p/__pycache__').exists()


# Run before compileall's own code (and before our workers'): compiling
# a path that contains "hang" touches MARK and never ends.
HANG = ('import builtins, time\n'
        '_c = builtins.compile\n'
        'def compile(src, path, *a, **k):\n'
        '    if "hang" in str(path):\n'
        '        open("%s", "w").close(); time.sleep(120)\n'
        '    return _c(src, path, *a, **k)\n'
        'builtins.compile = compile\n')


def interrupted(cmd, tmp_path, env, mark):
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while not mark.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert mark.exists()
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    mark.unlink()
    return proc.returncode, out


@pytest.mark.parametrize('quiet', [[], ['-q'], ['-qq']], ids=str)
def test_sigint_as_keyboardinterrupt(tmp_path, clean_env, quiet):
    """SIGINT while compiling: compileall catches KeyboardInterrupt,
    prints "\\n[interrupted]" unless -qq, and exits 1; the Compiling
    lines are those up to the source it was in (-j1's order; ours stop
    at the first source not compiled in that order)."""
    it = INTERPRETERS[-1]
    mark = tmp_path / 'hanging'
    hang = HANG % str(mark)
    (tmp_path / 'p').mkdir()
    for name in ('hang.py', 'z.py'):
        (tmp_path / 'p' / name).write_text('x = 1\n')
    wrapper = tmp_path / 'py'
    wrapper.write_text('#!/bin/sh\nif [ "$1" = "-s" ]; then\n'
                       '  exec %s -s -S -B -c \'%s\'"$5"\nfi\nexec %s "$@"\n'
                       % (it.exe, hang, it.exe))
    wrapper.chmod(0o755)
    real = interrupted(
        [it.exe, '-c', hang + 'import runpy\n'
         'runpy.run_module("compileall", run_name="__main__")',
         *quiet, 'p'], tmp_path, clean_env, mark)
    ours = interrupted([BINARY, 'compileall', '--python', str(wrapper),
                        *quiet, 'p'], tmp_path, clean_env, mark)
    assert ours == real
    assert real[0] == 1  # the test means something
