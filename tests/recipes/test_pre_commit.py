"""The hooks of .pre-commit-hooks.yaml, run by Debian's pre-commit offline.

A scratch git repository holding this tree's .pre-commit-hooks.yaml is the
hooks' repository (pre-commit clones it by path: no network); a project
whose .pre-commit-config.yaml is the README's (its repo and rev pointed at
that clone) commits through `git commit`, with PRE_COMMIT_HOME and every
git setting in the scratch directory.
"""
import os
import shutil
import subprocess

import yaml

from conftest import INTERPRETERS, ROOT
from recipe_text import need, recipe, recipe_env, sh

IT = INTERPRETERS[-1]


def git(env, cwd, *args, check=True):
    return subprocess.run([need('git'), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120,
                          check=check)


def hooked_project(tmp_path, clean_env):
    need('pre-commit')
    bin_dir = tmp_path / 'py-bin'
    bin_dir.mkdir()
    os.symlink(IT.exe, bin_dir / 'python3')
    env = recipe_env(clean_env, tmp_path, str(bin_dir))
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM='1',
               GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@example.org',
               GIT_COMMITTER_NAME='t', GIT_COMMITTER_EMAIL='t@example.org',
               PRE_COMMIT_HOME=str(tmp_path / 'pre-commit-home'),
               PYTHONPYCACHEPREFIX=str(tmp_path / 'pycache'))
    hooks = tmp_path / 'hooks-repo'
    hooks.mkdir()
    shutil.copy(os.path.join(ROOT, '.pre-commit-hooks.yaml'), hooks)
    git(env, hooks, 'init', '-q')
    git(env, hooks, 'add', '.pre-commit-hooks.yaml')
    git(env, hooks, 'commit', '-q', '-m', 'hooks')
    rev = git(env, hooks, 'rev-parse', 'HEAD').stdout.strip()
    config = yaml.safe_load(recipe('pre-commit-config'))
    assert len(config['repos']) == 1
    config['repos'][0].update(repo=str(hooks), rev=rev)
    proj = tmp_path / 'proj'
    (proj / 'pkg').mkdir(parents=True)
    (proj / 'a.py').write_text('A = 1\n')
    (proj / 'pkg' / '__init__.py').write_text('')
    (proj / 'pkg' / 'b.py').write_text('B = 2\n')
    (proj / 'notes.txt').write_text('not python\n')
    with open(proj / '.pre-commit-config.yaml', 'w') as f:
        yaml.safe_dump(config, f)
    git(env, proj, 'init', '-q')
    sh('pre-commit install', env, cwd=proj)
    return env, proj


def commit(env, proj, message):
    git(env, proj, 'add', '-A')
    return git(env, proj, 'commit', '-q', '-m', message, check=False)


def no_environment_built(env):
    """language: system: pre-commit made no virtualenv (none needs PyPI)."""
    for d, dirs, files in os.walk(env['PRE_COMMIT_HOME']):
        assert 'pyvenv.cfg' not in files, d


def test_status_hook_fails_a_commit_until_compiled(tmp_path, clean_env):
    env, proj = hooked_project(tmp_path, clean_env)
    res = commit(env, proj, 'one')
    assert res.returncode == 1
    out = res.stdout + res.stderr
    assert 'pycprefix status --check' in out and 'Failed' in out
    for rel in ('a.py', 'pkg/b.py', 'pkg/__init__.py'):
        assert 'missing             %s (no pyc)' % rel in out
    assert git(env, proj, 'rev-parse', '-q', '--verify', 'HEAD',
               check=False).returncode != 0
    sh('pycprefix compile --python python3 .', env, cwd=proj)
    res = commit(env, proj, 'one')
    assert res.returncode == 0, res.stdout + res.stderr
    assert git(env, proj, 'rev-parse', 'HEAD').returncode == 0
    # An edit makes the pyc stale: the next commit fails and names it.
    with open(proj / 'pkg' / 'b.py', 'a') as f:
        f.write('C = 3\n')
    res = commit(env, proj, 'two')
    assert res.returncode == 1
    assert 'stale               pkg/b.py' in res.stdout + res.stderr
    res = sh('pre-commit run --all-files', env, cwd=proj, check=1)
    assert 'stale               pkg/b.py' in res.stdout
    sh('pycprefix compile --python python3 .', env, cwd=proj)
    sh('pre-commit run --all-files', env, cwd=proj)
    assert commit(env, proj, 'two').returncode == 0
    no_environment_built(env)


def test_clean_hook_removes_pycache(tmp_path, clean_env):
    env, proj = hooked_project(tmp_path, clean_env)
    sh('pycprefix compile --python python3 .', env, cwd=proj)
    git(env, proj, 'add', '-A')
    # What plain Python leaves in the tree: __pycache__ and a legacy pyc.
    plain = {k: v for k, v in env.items() if k != 'PYTHONPYCACHEPREFIX'}
    sh('python3 -c "import a, pkg.b" && python3 -m compileall -q -b a.py',
       plain, cwd=proj)
    assert (proj / '__pycache__').is_dir() and (proj / 'a.pyc').is_file()
    assert (proj / 'pkg' / '__pycache__').is_dir()
    sh('pre-commit run --all-files', env, cwd=proj)
    assert not (proj / '__pycache__').exists()
    assert not (proj / 'pkg' / '__pycache__').exists()
    assert not (proj / 'a.pyc').exists()
    assert (proj / 'a.py').is_file() and (proj / 'notes.txt').is_file()
    no_environment_built(env)
