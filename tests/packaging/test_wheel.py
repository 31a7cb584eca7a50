"""The wheel: built once per session the way a user builds it (Debian's
python3-build, no isolation, no index), installed offline with pip into
fresh venvs and with pipx; the installed `pycprefix` is the ELF binary
itself and `python -m pycprefix` execs it."""
import csv
import base64
import glob
import hashlib
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import zipfile

import pytest

from conftest import BINARY, INTERPRETERS, ROOT

# Debian's own wheels of pip, setuptools and wheel: the only "index"
# there is offline (python3-pip-whl, python3-setuptools-whl,
# python3-wheel-whl).
DEBIAN_WHEELS = '/usr/share/python-wheels'
ELF = b'\x7fELF'


def header_version():
    with open(os.path.join(ROOT, 'src', 'lib', 'pycprefix.h')) as f:
        return re.search(r'^#define PYC_VERSION_STRING "([^"]+)"', f.read(),
                         re.M).group(1)


VERSION = header_version()


def offline_env(tmp, **extra):
    """No index, no user configuration, caches in tmp."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('PIP_', 'PIPX_', 'PYTHON', 'PYCPREFIX',
                                'XDG_', 'VIRTUAL_ENV'))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX='1',
               PIP_DISABLE_PIP_VERSION_CHECK='1', PIP_NO_CACHE_DIR='1',
               XDG_CACHE_HOME=str(tmp / 'xdg-cache'),
               PYTHONDONTWRITEBYTECODE='1')
    env.update(extra)
    return env


def run(args, env, **kw):
    res = subprocess.run([str(a) for a in args], capture_output=True,
                         env=env, timeout=600, **kw)
    assert res.returncode == 0, (args, res.stdout.decode(errors='replace'),
                                 res.stderr.decode(errors='replace'))
    return res


@pytest.fixture(scope='session')
def wheel(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('wheel')
    run([sys.executable, '-m', 'build', '--wheel', '--no-isolation',
         '--outdir', tmp / 'dist', ROOT], offline_env(tmp))
    found = glob.glob(str(tmp / 'dist' / '*.whl'))
    assert len(found) == 1, found
    return found[0]


def make_venv(python, where, env):
    run([python, '-m', 'venv', where], env)
    return where / 'bin'


@pytest.fixture(scope='module')
def venv(wheel, tmp_path_factory):
    """Debian's python3 -m venv (pip from ensurepip), the wheel installed
    with --no-index."""
    tmp = tmp_path_factory.mktemp('venv')
    env = offline_env(tmp)
    bindir = make_venv('/usr/bin/python3', tmp / 'venv', env)
    run([bindir / 'python', '-m', 'pip', 'install', '--no-index', wheel], env)
    return bindir


def test_wheel_name_and_tags(wheel):
    plat = sysconfig.get_platform().replace('-', '_').replace('.', '_')
    assert os.path.basename(wheel) == \
        'pycprefix-%s-py3-none-%s.whl' % (VERSION, plat)
    assert plat != 'any'
    with zipfile.ZipFile(wheel) as z:
        meta = z.read('pycprefix-%s.dist-info/WHEEL' % VERSION).decode()
        metadata = z.read('pycprefix-%s.dist-info/METADATA' % VERSION)
    fields = [tuple(line.split(': ', 1)) for line in meta.splitlines() if line]
    assert ('Root-Is-Purelib', 'false') in fields
    assert [v for k, v in fields if k == 'Tag'] == ['py3-none-' + plat]
    assert ('Version: %s' % VERSION).encode() in metadata.splitlines()


def test_version_is_the_headers_and_the_binarys(wheel):
    out = subprocess.run([BINARY, '--version'], capture_output=True,
                         check=True).stdout.decode()
    assert out.splitlines()[0] == 'pycprefix ' + VERSION


def test_record_lists_every_member_with_its_hash(wheel):
    dist_info = 'pycprefix-%s.dist-info' % VERSION
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        rows = list(csv.reader(io.StringIO(
            z.read(dist_info + '/RECORD').decode())))
        assert {r[0] for r in rows} == names
        for path, digest, size in rows:
            if path == dist_info + '/RECORD':
                assert digest == size == ''
                continue
            data = z.read(path)
            algo, _, value = digest.partition('=')
            assert algo == 'sha256'
            assert base64.urlsafe_b64encode(hashlib.sha256(data).digest()
                                            ).rstrip(b'=').decode() == value
            assert int(size) == len(data)
    data_dir = 'pycprefix-%s.data/' % VERSION
    # The binary as the only script; the package, wherever the wheel
    # puts the library part (not pure: under .data/purelib).
    scripts = {n for n in names if n.startswith(data_dir + 'scripts/')}
    assert scripts == {data_dir + 'scripts/pycprefix'}
    pkg = {re.sub(r'^%s(purelib|platlib)/' % re.escape(data_dir), '', n)
           for n in names - scripts if not n.startswith(dist_info)}
    assert pkg == {'pycprefix/__init__.py', 'pycprefix/__main__.py'}


def test_the_script_is_the_elf_binary(wheel, tmp_path):
    with zipfile.ZipFile(wheel) as z:
        info = z.getinfo('pycprefix-%s.data/scripts/pycprefix' % VERSION)
        data = z.read(info)
    assert data[:4] == ELF
    assert (info.external_attr >> 16) & 0o111 == 0o111
    exe = tmp_path / 'pycprefix'
    exe.write_bytes(data)
    exe.chmod(0o755)
    out = subprocess.run([str(exe), '--version'], capture_output=True,
                         check=True).stdout.decode()
    assert out.splitlines()[0] == 'pycprefix ' + VERSION


def installed_binary_checks(bindir, wheel):
    exe = bindir / 'pycprefix'
    assert not exe.is_symlink()
    assert os.access(str(exe), os.X_OK)
    with zipfile.ZipFile(wheel) as z:
        shipped = z.read('pycprefix-%s.data/scripts/pycprefix' % VERSION)
    assert exe.read_bytes() == shipped  # no shim, no rewritten #! line


def test_installed_command_is_the_elf_itself(venv, wheel):
    installed_binary_checks(venv, wheel)


def test_installed_version(venv, tmp_path):
    env = offline_env(tmp_path)
    out = run([venv / 'pycprefix', '--version'], env).stdout.decode()
    assert out.splitlines()[0] == 'pycprefix ' + VERSION
    out = run([venv / 'python', '-m', 'pycprefix', '--version'], env)
    assert out.stdout.decode().splitlines()[0] == 'pycprefix ' + VERSION


LOADS = ('import importlib.machinery as m, sys\n'
         'l = m.SourceFileLoader("m", sys.argv[1])\n'
         'def no(*a, **k): raise SystemExit("recompiled")\n'
         'l.source_to_code = no\n'
         'ns = {}; exec(l.get_code("m"), ns); print(ns["x"])\n')


def test_installed_command_compiles_a_tree(venv, tmp_path):
    it = INTERPRETERS[-1]
    tree = tmp_path / 'tree'
    (tree / 'pkg').mkdir(parents=True)
    (tree / 'pkg' / 'm.py').write_text('x = 41 + 1\n')
    prefix = str(tmp_path / 'prefix')
    env = offline_env(tmp_path)
    run([venv / 'pycprefix', 'compile', '-q', '--python', it.exe,
         '--prefix', prefix, tree], env)
    res = subprocess.run([it.exe, '-X', 'pycache_prefix=' + prefix, '-c',
                          LOADS, str(tree / 'pkg' / 'm.py')],
                         capture_output=True, env={})
    assert res.stdout == b'42\n', res.stderr


def test_python_m_execs_the_binary(venv, tmp_path):
    """os.execv: no Python process is left between the caller and the
    command (same pid), so a signal's death is reported as such."""
    env = offline_env(tmp_path)
    res = subprocess.run([str(venv / 'python'), '-m', 'pycprefix', '--prefix',
                          str(tmp_path / 'p'), 'run', '--', 'sh', '-c',
                          'echo $$; kill -TERM $$'], capture_output=True,
                         env=env, timeout=60)
    assert res.returncode == -signal.SIGTERM, res.stderr
    res2 = subprocess.run([str(venv / 'python'), '-m', 'pycprefix',
                           'nosuchcommand'], capture_output=True, env=env)
    direct = subprocess.run([str(venv / 'pycprefix'), 'nosuchcommand'],
                            capture_output=True, env=env)
    assert res2.returncode == direct.returncode == 2
    assert res2.stderr == direct.stderr


def test_python_m_runs_in_the_same_process(venv, tmp_path):
    env = offline_env(tmp_path)
    p = subprocess.Popen([str(venv / 'python'), '-m', 'pycprefix',
                          '--prefix', str(tmp_path / 'p'), 'run', '--',
                          'sh', '-c', 'echo $$'], stdout=subprocess.PIPE,
                         env=env)
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0
    assert out.decode().strip() == str(p.pid)


# py3-none: one wheel for every CPython 3; the oldest and the newest here
# stand for the range (each one's own venv and pip, from pyenv or the
# system).
ENDS = sorted({INTERPRETERS[0], INTERPRETERS[-1]}, key=lambda i: i.version)


@pytest.mark.parametrize('it', ENDS, ids=repr)
def test_wheel_installs_and_uninstalls(it, wheel, tmp_path):
    env = offline_env(tmp_path)
    bindir = make_venv(it.exe, tmp_path / 'venv', env)
    before = set(os.listdir(str(bindir)))
    run([bindir / 'python', '-m', 'pip', 'install', '--no-index', wheel], env)
    assert set(os.listdir(str(bindir))) == before | {'pycprefix'}
    installed_binary_checks(bindir, wheel)
    out = run([bindir / 'python', '-m', 'pycprefix', '--version'], env)
    assert out.stdout.decode().splitlines()[0] == 'pycprefix ' + VERSION
    run([bindir / 'python', '-m', 'pip', 'uninstall', '-y', 'pycprefix'], env)
    assert set(os.listdir(str(bindir))) == before
    res = subprocess.run([str(bindir / 'python'), '-c', 'import pycprefix'],
                         capture_output=True, env=env)
    assert res.returncode == 1 and b'ModuleNotFoundError' in res.stderr


def pyenv_311():
    """pyenv's CPython 3.11: its venv's setuptools (ensurepip's 65.5) is
    new enough for pyproject.toml metadata, and unpatched.  Debian's
    setuptools wheel is patched for Debian's own Python (it needs its
    install_layout option), so a 3.12+ venv, which ensurepip gives no
    setuptools, has none that builds offline."""
    for it in INTERPRETERS:
        if it.version[:2] == (3, 11) and not it.exe.startswith('/usr/'):
            return it
    raise AssertionError('no CPython 3.11 other than the system one found')


def test_pip_install_source_offline_debian(tmp_path):
    """`pip install .` from Debian's pip in a fresh venv: the isolated
    build environment gets setuptools and wheel from Debian's wheels."""
    env = offline_env(tmp_path)
    bindir = make_venv('/usr/bin/python3', tmp_path / 'venv', env)
    run([bindir / 'python', '-m', 'pip', 'install', '--no-index',
         '--find-links', DEBIAN_WHEELS, ROOT], env)
    assert (bindir / 'pycprefix').read_bytes()[:4] == ELF
    out = run([bindir / 'pycprefix', '--version'], env).stdout.decode()
    assert out.splitlines()[0] == 'pycprefix ' + VERSION


def test_pip_install_source_offline_pyenv(tmp_path):
    """`pip install --no-build-isolation .` from pyenv's 3.11 pip in a
    fresh venv: the venv's own setuptools, the wheel package (pure
    Python) from Debian's wheels."""
    env = offline_env(tmp_path)
    bindir = make_venv(pyenv_311().exe, tmp_path / 'venv', env)
    run([bindir / 'python', '-m', 'pip', 'install', '--no-index',
         '--find-links', DEBIAN_WHEELS, 'wheel'], env)
    run([bindir / 'python', '-m', 'pip', 'install', '--no-index',
         '--no-build-isolation', ROOT], env)
    assert (bindir / 'pycprefix').read_bytes()[:4] == ELF
    out = run([bindir / 'python', '-m', 'pycprefix', '--version'], env)
    assert out.stdout.decode().splitlines()[0] == 'pycprefix ' + VERSION


def test_pipx_install_offline(wheel, tmp_path):
    """pipx (Debian's) with its home and bin dir in tmp: PIP_NO_INDEX and
    PIP_FIND_LINKS reach the pip of its shared libraries' upgrade and of
    the install, so nothing goes to the network; `pipx install .` from
    the source tree, and the command it links is the ELF binary."""
    env = offline_env(tmp_path, PIP_FIND_LINKS=DEBIAN_WHEELS,
                      PIPX_HOME=str(tmp_path / 'pipx'),
                      PIPX_BIN_DIR=str(tmp_path / 'bin'),
                      PIPX_MAN_DIR=str(tmp_path / 'man'),
                      HOME=str(tmp_path / 'home'))
    run([shutil.which('pipx'), 'install', ROOT], env)
    link = tmp_path / 'bin' / 'pycprefix'
    assert link.resolve().read_bytes()[:4] == ELF
    out = run([link, '--version'], env).stdout.decode()
    assert out.splitlines()[0] == 'pycprefix ' + VERSION
    run([shutil.which('pipx'), 'uninstall', 'pycprefix'], env)
    assert not os.path.lexists(str(link))


def test_python_m_finds_the_binary_of_a_target_install(venv, wheel, tmp_path):
    """pip install --target: the RECORD names the scripts directory pip
    had before it moved the files into the target; python -m pycprefix
    still runs the binary in TARGET/bin."""
    env = offline_env(tmp_path)
    target = tmp_path / 'target'
    run([venv / 'python', '-m', 'pip', 'install', '--no-index', '--target',
         target, wheel], env)
    assert (target / 'bin' / 'pycprefix').read_bytes()[:4] == ELF
    env['PYTHONPATH'] = str(target)
    out = run(['/usr/bin/python3', '-m', 'pycprefix', '--version'], env)
    assert out.stdout.decode().splitlines()[0] == 'pycprefix ' + VERSION


def test_python_m_without_its_binary_is_an_environment_error(venv, tmp_path):
    """A package whose binary was removed: exit 2, and a message."""
    env = offline_env(tmp_path)
    site = run([venv / 'python', '-c',
                'import os, pycprefix; '
                'print(os.path.dirname(os.path.dirname(pycprefix.__file__)))'],
               env).stdout.decode().strip()
    copy = tmp_path / 'site'
    copy.mkdir()
    run(['cp', '-a', os.path.join(site, 'pycprefix'),
         os.path.join(site, 'pycprefix-%s.dist-info' % VERSION), copy], env)
    env['PYTHONPATH'] = str(copy)
    res = subprocess.run(['/usr/bin/python3', '-m', 'pycprefix', '--version'],
                         capture_output=True, env=env)
    assert res.returncode == 2
    assert res.stderr == (b"pycprefix: cannot find the 'pycprefix' binary "
                          b"installed with this package\n")


def test_editable_install_runs_the_binary(tmp_path):
    """`pip install -e .`: the command is the binary built then (a copy,
    rebuilt by the next install), and `python -m pycprefix`, whose
    package is then imported from the source tree, far from its
    dist-info, finds that binary through the editable install's
    dist-info on sys.path (it failed: no binary found, exit 2)."""
    env = offline_env(tmp_path)
    bindir = make_venv('/usr/bin/python3', tmp_path / 'venv', env)
    run([bindir / 'python', '-m', 'pip', 'install', '--no-index',
         '--find-links', DEBIAN_WHEELS, '-e', ROOT], env)
    assert (bindir / 'pycprefix').read_bytes()[:4] == ELF
    where = run([bindir / 'python', '-c',
                 'import pycprefix; print(pycprefix.__file__)'], env)
    assert where.stdout.decode().startswith(os.path.join(ROOT, 'python'))
    out = run([bindir / 'python', '-m', 'pycprefix', '--version'], env)
    assert out.stdout.decode().splitlines()[0] == 'pycprefix ' + VERSION
    res = run([bindir / 'python', '-c',
               'import pycprefix; print(pycprefix.binary())'], env)
    assert res.stdout.decode().strip() == str(bindir / 'pycprefix')


def test_pip_install_source_with_old_setuptools_is_refused(tmp_path):
    """pyenv's 3.8, as the README's pyenv lines say (the wheel package,
    then --no-build-isolation): its venv's setuptools (56) predates
    pyproject.toml's [project] table, and built a distribution named
    UNKNOWN without the pycprefix package, which pip reported as
    installed.  setup.py refuses it, saying what is needed, before
    building anything; nothing is installed."""
    py38 = [it for it in INTERPRETERS
            if it.version[:2] == (3, 8) and not it.exe.startswith('/usr/')]
    assert py38, 'no pyenv CPython 3.8 found'
    env = offline_env(tmp_path)
    bindir = make_venv(py38[0].exe, tmp_path / 'venv', env)
    run([bindir / 'python', '-m', 'pip', 'install', '--no-index',
         '--find-links', DEBIAN_WHEELS, 'wheel'], env)
    res = subprocess.run([str(bindir / 'python'), '-m', 'pip', 'install',
                          '--no-index', '--no-build-isolation', ROOT],
                         capture_output=True, env=env, timeout=600)
    err = res.stderr.decode(errors='replace') + res.stdout.decode()
    assert res.returncode != 0, err
    assert 'pycprefix: building needs setuptools 61 or later' in err, err
    assert not (bindir / 'pycprefix').exists()
    listed = run([bindir / 'python', '-m', 'pip', 'list'], env).stdout
    assert b'UNKNOWN' not in listed and b'pycprefix' not in listed


def test_what_the_builds_leave_is_ignored_by_git(tmp_path):
    """python3 -m build, pip install . and make dist leave their output
    in the checkout: git status stays clean (dist/ showed as untracked
    after python3 -m build)."""
    leftovers = ['dist/pycprefix-%s-py3-none-linux_x86_64.whl' % VERSION,
                 'dist/pycprefix-%s.tar.gz' % VERSION,
                 'build/py/lib/pycprefix/__init__.py', 'build/wheel/pycprefix',
                 'python/pycprefix.egg-info/PKG-INFO',
                 'pycprefix-%s.tar.gz' % VERSION]
    # Asked of a scratch repository holding the project's .gitignore, so
    # that it holds in a release tarball too (no .git there).
    scratch = tmp_path / 'repo'
    scratch.mkdir()
    shutil.copy(os.path.join(ROOT, '.gitignore'), str(scratch))
    subprocess.run(['git', 'init', '-q', str(scratch)], check=True)
    res = subprocess.run(['git', 'check-ignore', '--no-index', *leftovers],
                         cwd=str(scratch), capture_output=True, text=True)
    assert sorted(res.stdout.split()) == sorted(leftovers), res.stderr
