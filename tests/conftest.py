"""Shared fixtures: the binary under test and every CPython >= 3.8 here.

The interpreters are the oracle: tests ask them, never a table of ours.
They are found through pyenv's versions folder and PATH, each real
executable once; with none found the whole run fails (it must never pass
by skipping).
"""
import glob
import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get('PYCPREFIX_BUILD', os.path.join(ROOT, 'build'))
BINARY = os.path.join(BUILD, 'pycprefix')
LIBCHECK = os.path.join(BUILD, 'tests', 'libcheck')

PROBE = ('import sys, json, importlib.util as u; print(json.dumps('
         '[list(sys.version_info[:3]), sys.implementation.name, '
         'sys.implementation.cache_tag, '
         'int.from_bytes(u.MAGIC_NUMBER[:2], "little")]))')


class Interp:
    def __init__(self, exe, version, tag, magic):
        self.exe = exe
        self.version = tuple(version)
        self.tag = tag
        self.magic = magic

    def __repr__(self):
        return 'py%d.%d' % self.version[:2]

    def run(self, code, *args, env=None, input=None, cwd=None, flags=()):
        """Run code in this interpreter; return stdout bytes."""
        res = subprocess.run([self.exe, '-E', '-B', *flags, '-c', code,
                              *args], input=input, capture_output=True,
                             env=env, cwd=cwd, timeout=120)
        if res.returncode:
            raise AssertionError('%r failed: %s' % (self, res.stderr.decode(
                errors='replace')))
        return res.stdout


def _candidates():
    roots = [os.environ.get('PYENV_ROOT'), os.path.expanduser('~/.pyenv')]
    for root in filter(None, roots):
        yield from sorted(glob.glob(os.path.join(root, 'versions', '*',
                                                 'bin', 'python3.*')))
    for d in os.environ.get('PATH', '').split(os.pathsep):
        yield from sorted(glob.glob(os.path.join(d, 'python3*')))


def _find_interpreters():
    seen, found = set(), []
    for exe in _candidates():
        if not os.path.basename(exe).replace('python3', '').replace(
                '.', '').isdigit() and os.path.basename(exe) != 'python3':
            continue
        real = os.path.realpath(exe)
        if real in seen or not os.access(real, os.X_OK):
            continue
        # pyenv shims are scripts; the real executables are found above.
        with open(real, 'rb') as f:
            if f.read(2) == b'#!':
                continue
        seen.add(real)
        try:
            out = subprocess.run([real, '-E', '-S', '-c', PROBE],
                                 capture_output=True, timeout=60)
            version, impl, tag, magic = json.loads(out.stdout)
        except Exception:
            continue
        if impl == 'cpython' and tuple(version[:2]) >= (3, 8):
            found.append(Interp(real, version, tag, magic))
    # One per minor version is enough and keeps the suite bounded.
    by_minor = {}
    for it in found:
        by_minor.setdefault(it.version[:2], it)
    return sorted(by_minor.values(), key=lambda i: i.version)


INTERPRETERS = _find_interpreters()


def pytest_configure(config):
    if not INTERPRETERS:
        raise pytest.UsageError(
            'no CPython >= 3.8 found through pyenv or PATH: the '
            'conformance tests need real interpreters (install one)')
    if not os.access(BINARY, os.X_OK):
        raise pytest.UsageError('%s is not built: run make' % BINARY)


def pytest_report_header(config):
    return 'interpreters: ' + ', '.join(
        '%s (%s)' % ('.'.join(map(str, i.version)), i.exe)
        for i in INTERPRETERS)


@pytest.fixture(params=INTERPRETERS, ids=repr)
def interp(request):
    return request.param


@pytest.fixture
def clean_env(tmp_path):
    """An environment with nothing of the user's that matters here."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('PYTHON', 'PYCPREFIX', 'XDG_'))}
    env['XDG_CACHE_HOME'] = str(tmp_path / 'xdg-cache')
    env['PYTHONDONTWRITEBYTECODE'] = '1'
    env.pop('NO_COLOR', None)
    return env


STORE_DIR = '.pycprefix-store'


def prefix_files(prefix):
    """Every file in the prefix but its CACHEDIR.TAG and its store (the
    shared bytecode store's objects, which tests/conformance/test_store.py
    and tests/cli/test_store_*.py look at): full paths, sorted."""
    prefix = str(prefix)
    out = []
    for d, ds, fs in os.walk(prefix):
        if d == prefix:
            ds[:] = [x for x in ds if x != STORE_DIR]
            fs = [f for f in fs if f != 'CACHEDIR.TAG']
        out.extend(os.path.join(d, f) for f in fs)
    return sorted(out)


def preload_shim(tmp_path, env, source):
    """env with LD_PRELOAD set to the C `source` built as a shared object
    in tmp_path (functions the tool calls, replaced for a fault)."""
    src = tmp_path / 'shim.c'
    lib = tmp_path / 'shim.so'
    src.write_text(source)
    subprocess.run(['cc', '-shared', '-fPIC', '-o', str(lib), str(src),
                    '-ldl'], check=True)
    env = dict(env)
    env['LD_PRELOAD'] = str(lib)
    # A sanitizer build wants its runtime first; a shim is harmless.
    env['ASAN_OPTIONS'] = 'verify_asan_link_order=0:' + env.get(
        'ASAN_OPTIONS', '')
    return env


def run_tool(args, env, cwd=None, input=None, check=None):
    """Run the binary; returns CompletedProcess with bytes output."""
    res = subprocess.run([BINARY, *args], capture_output=True, env=env,
                         cwd=cwd, input=input, timeout=300)
    if check is not None:
        assert res.returncode == check, (res.returncode, res.stderr)
    return res
