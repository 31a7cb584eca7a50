"""pycprefix compileall as a new user meets it: options in the place
other commands take them, hostile trees and processes."""
import os

from conftest import INTERPRETERS, run_tool


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
