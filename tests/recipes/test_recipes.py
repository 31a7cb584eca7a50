"""The README's recipes, each run as it is written.

Each test sets the variables a recipe names to scratch directories, runs
the recipe's block in bash -e, and checks what the recipe promises: a
read-only image where Python writes nothing and reads every pyc, a CI
cache that stays good across checkouts at one path, a venv whose
activation sets the prefix, and byte-identical pycs from two packaging
builds in different directories.
"""
import base64
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import zipfile

import pytest
import yaml

from conftest import INTERPRETERS, run_tool
from recipe_text import (make_writable, need, recipe,
                         recipe_env, recipes, sh, snapshot)

# One interpreter for the recipes that compile a whole sys.path: the
# oldest, whose standard library is the smallest.
ONE = INTERPRETERS[0]


def write_tree(top, files):
    for rel, text in files.items():
        p = os.path.join(str(top), rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, 'w') as f:
            f.write(text)


def set_mtimes(top, t):
    """Every file under top as new as t (a fresh copy, clone or install)."""
    for d, _, files in os.walk(str(top)):
        for n in files:
            os.utime(os.path.join(d, n), (t, t))


def read_pycs(top):
    """{path relative to top: bytes} of every pyc under top."""
    pycs = {}
    for d, _, files in os.walk(str(top)):
        for n in files:
            if n.endswith('.pyc'):
                p = os.path.join(d, n)
                with open(p, 'rb') as f:
                    pycs[os.path.relpath(p, str(top))] = f.read()
    return pycs


def cache_path(interp, source, prefix=None):
    """Where interp reads source's pyc: asked of the interpreter."""
    flags = ('-X', 'pycache_prefix=' + str(prefix)) if prefix else ()
    return interp.run('import sys, importlib.util as u; '
                      'print(u.cache_from_source(sys.argv[1]))', source,
                      flags=flags).decode().strip()


def read_from_pyc(stderr, pyc):
    """True when `python -v` said it took the code object from pyc."""
    return ('# code object from %r' % pyc) in stderr


# ---------------------------------------------------------------------
# A read-only application image

APP = {
    'app/__init__.py': 'NAME = "app"\n',
    'app/__main__.py': 'from app import core\nprint(core.answer())\n',
    'app/core.py': 'from app.sub import deep\n\n'
                   'def answer():\n    return deep.VALUE * 2\n',
    'app/sub/__init__.py': '',
    'app/sub/deep.py': 'VALUE = 21\n',
}


# The stdlib's snapshot leaves out what pip installed there (this machine's
# 3.11 holds tens of thousands of data files): the image's interpreter
# has no site-packages but its own.
SITE = ('site-packages', 'dist-packages')


@pytest.mark.parametrize('variant', ['prefix', 'in-tree'])
def test_readonly_image(interp, variant, tmp_path, clean_env):
    app, pycache = tmp_path / 'srv' / 'app', tmp_path / 'opt' / 'pycache'
    write_tree(app, APP)
    # The image's interpreter: this CPython with nothing installed (pyenv's
    # own site-packages holds whatever this machine put there).
    image_py = tmp_path / 'usr'
    subprocess.run([interp.exe, '-m', 'venv', '--without-pip',
                    str(image_py)], check=True, timeout=120)
    stdlib = interp.run('import sysconfig; '
                        'print(sysconfig.get_path("stdlib"))').decode().strip()
    env = recipe_env(clean_env, tmp_path)
    env.update(APP=str(app), PYCACHE=str(pycache),
               PYTHON=str(image_py / 'bin' / 'python3'))
    suffix = '' if variant == 'prefix' else '-in-tree'
    try:
        sh(recipe('readonly-build' + suffix), env)
        frozen = snapshot(*((app, pycache) if variant == 'prefix' else
                            (app,)))
        assert frozen and all(not stat.S_IMODE(mode) & 0o222
                              for mode, *_ in frozen.values())
        # Python as root writes through a-w: a stale pyc would show as a
        # change in the snapshot, and -v says which pyc each import read.
        env['PYTHONVERBOSE'] = '1'
        before = snapshot(tmp_path, stdlib, prune=SITE)
        res = sh(recipe('readonly-run' + suffix), env)
        assert res.stdout == '42\n'
        assert snapshot(tmp_path, stdlib, prune=SITE) == before
        prefix = pycache if variant == 'prefix' else None
        pycs = {rel: cache_path(interp, str(app / rel), prefix)
                for rel in APP}
        for rel, pyc in pycs.items():
            assert os.path.isfile(pyc), rel
            assert read_from_pyc(res.stderr, pyc), (rel, res.stderr)
        # The checks can fail: a source newer than its pyc is compiled
        # again at import (and, as root, rewritten).
        st = os.stat(app / 'app' / 'core.py')
        os.utime(app / 'app' / 'core.py', ns=(st.st_atime_ns,
                                              st.st_mtime_ns + 10**9))
        before = snapshot(tmp_path)
        res = sh(recipe('readonly-run' + suffix), env)
        assert (not read_from_pyc(res.stderr, pycs['app/core.py'])
                or snapshot(tmp_path) != before)
    finally:
        make_writable(tmp_path)


# ---------------------------------------------------------------------
# Wheels and projects for the recipes that pip install (no index here)

def build_wheel(dist_dir, name='mypkg', files=None):
    """A pure-Python wheel, written by hand: pip installs it with
    --no-index and no build backend."""
    files = files or {
        '%s/__init__.py' % name: 'from . import util\n',
        '%s/util.py' % name: 'def twice(x):\n    return 2 * x\n',
    }
    info = '%s-1.0.dist-info' % name
    files = dict(files)
    files[info + '/METADATA'] = ('Metadata-Version: 2.1\nName: %s\n'
                                 'Version: 1.0\n' % name)
    files[info + '/WHEEL'] = ('Wheel-Version: 1.0\nGenerator: hand\n'
                              'Root-Is-Purelib: true\nTag: py3-none-any\n')
    record = []
    for rel, text in files.items():
        digest = hashlib.sha256(text.encode()).digest()
        b64 = base64.urlsafe_b64encode(digest).rstrip(b'=').decode()
        record.append('%s,sha256=%s,%d' % (rel, b64, len(text.encode())))
    record.append(info + '/RECORD,,')
    files[info + '/RECORD'] = '\n'.join(record) + '\n'
    os.makedirs(dist_dir, exist_ok=True)
    path = os.path.join(str(dist_dir), '%s-1.0-py3-none-any.whl' % name)
    with zipfile.ZipFile(path, 'w') as z:
        for rel, text in files.items():
            z.writestr(rel, text)
    return path


def make_project(top):
    """A project: its package, unittest tests, and a requirements.txt
    that installs a vendored wheel without an index."""
    write_tree(top, {
        'proj/__init__.py': 'import mypkg\n\n'
                            'def four():\n    return mypkg.util.twice(2)\n',
        'tests/__init__.py': '',
        'tests/test_proj.py': 'import unittest\nimport proj\n\n'
                              'class T(unittest.TestCase):\n'
                              '    def test_four(self):\n'
                              '        self.assertEqual(proj.four(), 4)\n',
        'requirements.txt': '--no-index\n'
                            './vendor/mypkg-1.0-py3-none-any.whl\n',
    })
    build_wheel(os.path.join(str(top), 'vendor'))


# ---------------------------------------------------------------------
# CI caching: the GitHub Actions steps and the GitLab CI job, each run by
# a small runner

class Runner:
    """What both CI services do around a recipe's commands, as on a fresh
    machine: a checkout (every file new), a cache restored when its key
    was saved before, the commands in bash -e.  The interpreter stands for
    the machine's (setup-python's, the image's): its site-packages loses
    the project's requirements before each job."""

    def __init__(self, env, site):
        self.env, self.site = env, site
        self.store = {}
        self.jobs = 0
        self.restored = None
        self.job_env = env

    def new_job(self):
        self.jobs += 1
        self.restored = None
        self.job_env = self.env
        shutil.rmtree(os.path.join(self.env['HOME'], '.cache'),
                      ignore_errors=True)
        for name in ('mypkg', 'mypkg-1.0.dist-info'):
            shutil.rmtree(os.path.join(self.site, name), ignore_errors=True)

    def checkout(self, source, dest):
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(source, dest)
        # A clone's files are as new as the clone.
        set_mtimes(dest, 1700000000 + 1000 * self.jobs)

    def restore(self, key, paths):
        """Restore paths from the cache saved under key; True on a hit."""
        if key not in self.store:
            return False
        for p, saved in zip(paths, self.store[key]):
            if saved is not None:
                shutil.copytree(saved, p, symlinks=True,
                                copy_function=shutil.copy2)
        self.restored = snapshot(paths[0])
        return True

    def save(self, key, paths):
        kept = []
        for i, p in enumerate(paths):
            dst = os.path.join(self.env['HOME'], '..', 'store',
                               '%d-%d' % (self.jobs, i))
            if os.path.exists(p):
                shutil.copytree(p, dst, symlinks=True,
                                copy_function=shutil.copy2)
                kept.append(dst)
            else:
                kept.append(None)
        self.store[key] = kept

    def run(self, command, cwd, env=None):
        res = sh(command, env or self.env, cwd=cwd, check=None)
        assert res.returncode == 0, (command, res.stdout, res.stderr)
        return command, res


def lock_hash(checkout, name):
    with open(os.path.join(checkout, name), 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


class GitHubRunner(Runner):
    """actions/checkout, actions/cache (saved at the end of a job whose
    key missed, as its post step does), `run:` steps."""

    def __init__(self, recipe_text, env, site):
        super().__init__(env, site)
        self.steps = yaml.safe_load(recipe_text)['steps']
        self.commands = [s['run'] for s in self.steps if 'run' in s]

    def expand(self, text, checkout):
        def one(m):
            expr = m.group(1).strip()
            if expr == 'runner.os':
                return 'Linux'
            h = re.fullmatch(r"hashFiles\('([^']+)'\)", expr)
            assert h, 'expression the runner does not know: ' + expr
            return lock_hash(checkout, h.group(1))
        return re.sub(r'\$\{\{(.*?)\}\}', one, text)

    def job(self, source, checkout):
        """One job; returns {command: CompletedProcess}."""
        self.new_job()
        save, results = None, []
        for step in self.steps:
            uses = step.get('uses', '')
            if uses.startswith('actions/checkout@'):
                self.checkout(source, checkout)
            elif uses.startswith('actions/cache@'):
                key = self.expand(step['with']['key'], checkout)
                paths = [re.sub(r'^~', self.env['HOME'], p.strip())
                         for p in step['with']['path'].splitlines()
                         if p.strip()]
                if not self.restore(key, paths):
                    save = (key, paths)
            else:
                assert set(step) == {'run'}, step
                results.append(self.run(step['run'], checkout))
        if save:
            self.save(*save)
        return dict(results)


class GitLabRunner(Runner):
    """A job's variables ($CI_PROJECT_DIR expanded), its cache (key from
    the files' hash, paths in the project directory, saved at the end of
    every job: pull-push) and its script, after a fresh clone."""

    def __init__(self, recipe_text, env, site):
        super().__init__(env, site)
        (self.name, self.spec), = yaml.safe_load(recipe_text).items()
        self.commands = self.spec['script']

    def job(self, source, project_dir):
        self.new_job()
        self.checkout(source, project_dir)
        env = self.job_env = dict(self.env, CI_PROJECT_DIR=project_dir)
        for name, value in self.spec.get('variables', {}).items():
            env[name] = re.sub(r'\$CI_PROJECT_DIR', project_dir, value)
        cache = self.spec['cache']
        key = '-'.join(lock_hash(project_dir, f)
                       for f in cache['key']['files'])
        paths = [os.path.join(project_dir, p) for p in cache['paths']]
        self.restore(key, paths)
        results = dict(self.run(c, project_dir, env)
                       for c in self.commands)
        self.save(key, paths)
        return results


def compiled_count(env, cwd, *args):
    res = subprocess.run(['pycprefix', '--json', 'compile', '-n',
                          '--python', 'python', *args], env=env, cwd=cwd,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)['would_compile']


def ci_machine(tmp_path, clean_env):
    """The machine's interpreter (a venv of ONE, with pip) and the
    environment: HOME in tmp_path, the default prefix."""
    venv = tmp_path / 'hostedtoolcache' / 'python'
    subprocess.run([ONE.exe, '-m', 'venv', str(venv)], check=True,
                   timeout=300)
    env = recipe_env(clean_env, tmp_path, str(venv / 'bin'))
    env.pop('XDG_CACHE_HOME')        # the default prefix, ~/.cache/pycprefix
    site = subprocess.run([str(venv / 'bin' / 'python'), '-c', 'import '
                           'sysconfig; print(sysconfig.get_path("purelib"))'],
                          capture_output=True, text=True, check=True,
                          timeout=60).stdout.strip()
    source = tmp_path / 'origin'
    make_project(source)
    return env, site, source


def ci_scenarios(runner, source, checkout, other, prefix_of):
    """Cold, warm at one path, a changed source, another path.
    prefix_of(checkout) is where that job's prefix is."""
    sys_step, tree_step = [c for c in runner.commands
                           if 'status --check' in c]

    def compiled(results, step):
        return ' compiled, ' in results[step].stderr

    # Cold: nothing cached, both checks fail, both compiles run.
    results = runner.job(source, checkout)
    assert compiled(results, sys_step) and compiled(results, tree_step)
    assert 'missing' in results[tree_step].stdout
    # Same path, same lock file: the restored cache is fresh as it is,
    # though every file of the checkout and the install is new; the
    # tests wrote nothing into it.
    results = runner.job(source, checkout)
    assert not compiled(results, sys_step)
    assert not compiled(results, tree_step)
    assert runner.restored and snapshot(prefix_of(checkout)) == \
        runner.restored
    env = runner.job_env
    assert compiled_count(env, checkout, '--sys-path', '--invalidation-mode',
                          'checked-hash') == 0
    assert compiled_count(env, checkout, '--invalidation-mode',
                          'checked-hash', '.') == 0
    # A changed source: its check fails and names it, compile fixes it.
    with open(source / 'proj' / '__init__.py', 'a') as f:
        f.write('FIVE = 5\n')
    results = runner.job(source, checkout)
    assert not compiled(results, sys_step)
    assert compiled(results, tree_step)
    assert 'proj/__init__.py' in results[tree_step].stdout
    sh('pycprefix status --check', env, cwd=checkout)
    # Another checkout path: the project's part of the cache does not
    # apply to it.
    results = runner.job(source, other)
    assert compiled(results, tree_step)
    assert 'missing' in results[tree_step].stdout


def test_ci_cache_github(tmp_path, clean_env):
    env, site, source = ci_machine(tmp_path, clean_env)
    runner = GitHubRunner(recipe('ci-github'), env, site)
    prefix = os.path.join(env['HOME'], '.cache', 'pycprefix')
    ci_scenarios(runner, source, str(tmp_path / 'work' / 'proj' / 'proj'),
                 str(tmp_path / 'work' / 'elsewhere'), lambda c: prefix)


def test_ci_cache_gitlab(tmp_path, clean_env):
    env, site, source = ci_machine(tmp_path, clean_env)
    runner = GitLabRunner(recipe('ci-gitlab'), env, site)
    ci_scenarios(runner, source, str(tmp_path / 'builds' / 'group' / 'proj'),
                 str(tmp_path / 'builds' / '0' / 'group' / 'proj'),
                 lambda c: os.path.join(c, '.cache', 'pycprefix'))


# ---------------------------------------------------------------------
# A venv whose activation sets the prefix

def test_venv_activation(tmp_path, clean_env):
    fish = need('fish')
    proj = tmp_path / 'proj'
    make_project(proj)
    env = recipe_env(clean_env, tmp_path, os.path.dirname(ONE.exe))
    prefix = os.path.join(env['XDG_CACHE_HOME'], 'pycprefix')
    assert os.path.exists(os.path.join(os.path.dirname(ONE.exe), 'python3'))
    sh(recipe('venv'), env, cwd=proj)
    activated = '. .venv/bin/activate && '
    res = sh(activated + 'printf %s "$PYTHONPYCACHEPREFIX"', env, cwd=proj)
    assert res.stdout == prefix
    res = sh('source .venv/bin/activate.fish; printf %s '
             '"$PYTHONPYCACHEPREFIX"', env, cwd=proj, shell=fish)
    assert res.stdout == prefix
    sh(activated + 'pycprefix status --check --sys-path', env, cwd=proj)
    site = sh(activated + 'python -c "import mypkg, os; '
              'print(os.path.dirname(mypkg.__file__))"', env,
              cwd=proj).stdout.strip()
    assert site.startswith(str(proj / '.venv'))
    before = snapshot(prefix, proj)
    res = sh(activated + 'PYTHONVERBOSE=1 python -c "import mypkg"', env,
             cwd=proj)
    assert snapshot(prefix, proj) == before
    for mod in ('__init__.py', 'util.py'):
        pyc = cache_path(ONE, os.path.join(site, mod), prefix)
        assert read_from_pyc(res.stderr, pyc), (mod, res.stderr)
    assert not os.path.exists(os.path.join(site, '__pycache__'))


# ---------------------------------------------------------------------
# Packagers: two builds in two directories, the same pycs

SITELIB = '/usr/lib/python3/dist-packages'
PKG = {
    'pkg/__init__.py': 'NAMES = ("a", "b")\n',
    'pkg/mod.py': 'def kind(x):\n'
                  '    if x in {%s}:\n'
                  '        return "word"\n'
                  '    raise ValueError(x)\n'
                  % ', '.join('"w%02d"' % i for i in range(24)),
    'pkg/sub/__init__.py': '',
    'pkg/sub/deep.py': 'X = frozenset({1.5, "x", b"y", (1, 2)})\n',
}


def packaging_build(interp, tmp_path, clean_env, build, epoch):
    """Stage PKG into BUILD/destdir$SITELIB with its own mtimes, run the
    recipe there; {relative pyc path: bytes}."""
    destdir = tmp_path / build / 'destdir'
    staged = str(destdir) + SITELIB
    write_tree(staged, PKG)
    set_mtimes(staged, epoch)
    bin_dir = tmp_path / build / 'bin'
    bin_dir.mkdir()
    os.symlink(interp.exe, bin_dir / 'python3')
    env = recipe_env(clean_env, tmp_path, str(bin_dir))
    env.update(DESTDIR=str(destdir), SITELIB=SITELIB)
    if epoch % 2:
        env['SOURCE_DATE_EPOCH'] = str(epoch)
    sh(recipe('packagers'), env, cwd=tmp_path / build)
    return read_pycs(staged)


def test_packagers_reproducible(interp, tmp_path, clean_env):
    # The recipe runs with PATH holding pycprefix and a python3 that is
    # interp (pycprefix compileall's default interpreter); no
    # PYTHONHASHSEED in the environment.
    one = packaging_build(interp, tmp_path, clean_env, 'build-1',
                          1700000001)
    two = packaging_build(interp, tmp_path, clean_env, 'b2', 1700050000)
    assert len(one) == len(PKG)
    assert all(interp.tag in rel for rel in one)
    assert one == two
    # Checked-hash pycs (flags 3), naming where the code will live.
    mod = [rel for rel in one if rel.startswith('pkg/__pycache__/mod.')][0]
    assert int.from_bytes(one[mod][4:8], 'little') == 3
    name = interp.run('import sys, marshal; '
                      'print(marshal.loads(sys.stdin.buffer.read()[16:])'
                      '.co_filename)', input=one[mod]).decode().strip()
    assert name == SITELIB + '/pkg/mod.py'


def test_packagers_compile_in_tree(interp, tmp_path, clean_env):
    """pycprefix compile --in-tree: two builds at one path, at different
    times, write the same checked-hash pycs (the workers ignored
    PYTHONHASHSEED once: set constants came out in a random order on
    CPython 3.8 to 3.10)."""
    tree = tmp_path / 'build' / 'pkgsrc'
    env = dict(clean_env, SOURCE_DATE_EPOCH='1700000000')
    env.pop('PYTHONHASHSEED', None)
    builds = []
    for epoch in (1700000001, 1700050000):
        shutil.rmtree(tree, ignore_errors=True)
        write_tree(tree, PKG)
        set_mtimes(tree, epoch)
        run_tool(['--in-tree', 'compile', '-q', '--python', interp.exe,
                  str(tree)], env, check=0)
        builds.append(read_pycs(tree))
    assert len(builds[0]) == len(PKG)
    assert builds[0] == builds[1]


# ---------------------------------------------------------------------
# The README carries the tested text

def test_recipes_are_marked():
    names = set(recipes())
    assert names == {'readonly-build', 'readonly-run',
                     'readonly-build-in-tree', 'readonly-run-in-tree',
                     'ci-github', 'ci-gitlab', 'venv', 'packagers',
                     'pre-commit-config'}
