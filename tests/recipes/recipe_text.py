"""The README's recipes as the tests read them, and what the tests share.

The README's "Recipes" section is their one text: each runnable block
follows a line `<!-- recipe: NAME -->`.  The tests run these blocks, never
a copy of them.
"""
import os
import re
import shutil
import subprocess

from conftest import BINARY, ROOT

README = os.path.join(ROOT, 'README.md')
RECIPES = README

_BLOCK = re.compile(r'^<!-- recipe: ([\w-]+) -->\n```\w*\n(.*?)^```$',
                    re.M | re.S)


def recipes():
    """{name: block text} of every marked block, in order."""
    with open(RECIPES, encoding='utf-8') as f:
        text = f.read()
    found = {}
    for m in _BLOCK.finditer(text):
        assert m.group(1) not in found, 'recipe %s twice' % m.group(1)
        found[m.group(1)] = m.group(2)
    return found


def recipe(name):
    return recipes()[name]


def tool_bin(tmp_path):
    """A directory holding `pycprefix` (the binary under test), for PATH."""
    d = tmp_path / 'tool-bin'
    if not d.exists():
        d.mkdir()
        os.symlink(BINARY, d / 'pycprefix')
    return str(d)


def recipe_env(clean_env, tmp_path, *path_front):
    """clean_env with PATH led by path_front and the tool, HOME in
    tmp_path, and bytecode writing allowed (the environment here sets
    PYTHONDONTWRITEBYTECODE: with it a 'writes nothing' check would be
    vacuous)."""
    env = dict(clean_env)
    env.pop('PYTHONDONTWRITEBYTECODE', None)
    env['HOME'] = str(tmp_path / 'home')
    os.makedirs(env['HOME'], exist_ok=True)
    env['PATH'] = os.pathsep.join([*path_front, tool_bin(tmp_path),
                                   os.environ.get('PATH', '/usr/bin:/bin')])
    env['PIP_DISABLE_PIP_VERSION_CHECK'] = '1'
    env['PIP_NO_INPUT'] = '1'
    return env


def sh(script, env, cwd=None, check=0, shell='bash'):
    """Run script in a real shell (bash: with -e, as CI runners do);
    returns CompletedProcess (text)."""
    opts = ['-e'] if os.path.basename(shell) in ('bash', 'sh') else []
    res = subprocess.run([shell, *opts, '-c', script], env=env, cwd=cwd,
                         capture_output=True, text=True, timeout=600)
    if check is not None:
        assert res.returncode == check, (script, res.returncode, res.stdout,
                                         res.stderr)
    return res


def snapshot(*tops, prune=()):
    """Every file and directory under tops (but not in directories named
    in prune), with its kind, size and mtime: equal snapshots mean
    nothing was created, removed or rewritten."""
    out = {}
    for top in tops:
        top = str(top)
        for d, dirs, files in os.walk(top):
            dirs[:] = [n for n in dirs if n not in prune]
            for n in dirs + files:
                p = os.path.join(d, n)
                st = os.lstat(p)
                out[p] = (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ino)
    return out


def make_writable(*tops):
    """Undo a recipe's chmod -R a-w, so that pytest can remove the tree."""
    for top in tops:
        top = str(top)
        if not os.path.exists(top):
            continue
        for d, dirs, files in os.walk(top):
            os.chmod(d, 0o755)
            for n in files:
                p = os.path.join(d, n)
                if not os.path.islink(p):
                    os.chmod(p, 0o644)


def need(cmd):
    """The path of a tool the test needs (tests/deps.sh installs it):
    missing, the test fails, never skips."""
    path = shutil.which(cmd)
    assert path, '%s is not installed: run tests/deps.sh' % cmd
    return path
