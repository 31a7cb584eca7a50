"""compile -x: Python's re syntax matched as compileall matches it, with
re.search on each source's path as the walk spells it (issue 11, item
15); -x repeatable, every pattern applied."""
import os
import shutil
import subprocess

import pytest

from conftest import INTERPRETERS, run_tool

NAMES = ['m1.py', 'mx.py', 'md.py', 'SKIP_me.py', 'keep.py',
         'tests/t.py', 'pkg/tests/u.py', 'pkg/v.py', 'pkg/tests.py',
         'caf\u00e9/w.py', 'n\u0663.py']


def make_tree(root):
    for n in NAMES:
        p = root / n
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text('x = 1\n')
    return root


def sources_with_pycs(tree):
    """The sources that have a pyc in their __pycache__ (relative)."""
    out = set()
    for d, dirs, files in os.walk(tree):
        if os.path.basename(d) == '__pycache__':
            for f in files:
                src = os.path.join(os.path.dirname(d), f.split('.')[0] + '.py')
                out.add(os.path.relpath(src, tree))
    return out


def compileall(it, tree, pattern, cwd):
    subprocess.run([it.exe, '-E', '-m', 'compileall', '-q', '-x', pattern,
                    tree], cwd=cwd, check=False, capture_output=True,
                   timeout=120)


# tests$: compileall matches sources only, never the directories it
# descends into, so this one leaves nothing out.
@pytest.mark.parametrize('pattern', [
    r'm\d', r'tests$', r'(?i)skip_', r'/tests/', r'^tree/pkg',
    r'caf\w/', r'n\d\.py', r'\.py\Z', r'(?P<x>k)e(?P=x)?ep'])
def test_x_matches_what_compileall_matches(pattern, clean_env, tmp_path):
    it = INTERPRETERS[-1]
    ours, theirs = tmp_path / 'a', tmp_path / 'b'
    make_tree(ours / 'tree')
    make_tree(theirs / 'tree')
    compileall(it, 'tree', pattern, cwd=theirs)
    run_tool(['compile', '--in-tree', '--python', it.exe, '-x', pattern,
              'tree'], clean_env, cwd=ours, check=0)
    expect = sources_with_pycs(theirs / 'tree')
    assert sources_with_pycs(ours / 'tree') == expect


def test_x_twice_applies_both(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    make_tree(tmp_path / 'tree')
    run_tool(['compile', '--in-tree', '--python', it.exe, '-x', r'm\d',
              '-x', 'keep', 'tree'], clean_env, cwd=tmp_path, check=0)
    got = sources_with_pycs(tmp_path / 'tree')
    assert 'm1.py' not in got and 'keep.py' not in got
    assert {'mx.py', 'md.py', 'pkg/v.py'} <= got


# a**, \q and a{2}{3} were accepted by POSIX ERE; Python refuses them.
@pytest.mark.parametrize('pattern', ['a**', r'\q', 'a{2}{3}', '*a', '(',
                                     'a{2,1}', '(?<=a+)b', '[z-a]'])
def test_x_invalid_in_python_is_a_usage_error(pattern, clean_env, tmp_path):
    it = INTERPRETERS[-1]
    res = subprocess.run([it.exe, '-E', '-c', 'import re, sys; '
                          're.compile(sys.argv[1])', pattern],
                         capture_output=True)
    assert res.returncode != 0  # Python refuses it too
    res = run_tool(['compile', '--in-tree', '--python', it.exe, '-x',
                    pattern, str(make_tree(tmp_path / 'tree'))], clean_env,
                   check=2)
    assert b"-x: '" in res.stderr
    assert b'not a valid regular expression' in res.stderr
    assert sources_with_pycs(tmp_path / 'tree') == set()


@pytest.mark.parametrize('pattern', [r'caf\u00e9', r'\U0001F600',
                                     r'\N{DIGIT ONE}'])
def test_x_escapes_pcre2_lacks_are_refused_not_misread(pattern, clean_env,
                                                       tmp_path):
    """Python takes these; PCRE2 spells them \\x{...}.  Refused, loudly,
    rather than matched as something else."""
    it = INTERPRETERS[-1]
    res = run_tool(['compile', '--in-tree', '--python', it.exe, '-x',
                    pattern, str(make_tree(tmp_path / 'tree'))], clean_env,
                   check=2)
    assert b'not a valid regular expression' in res.stderr
    assert sources_with_pycs(tmp_path / 'tree') == set()
