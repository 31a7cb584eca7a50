"""make install / uninstall into a DESTDIR, the installed library used
through pkg-config by a program of its own, and make dist's tarball."""
import glob
import os
import re
import shlex
import stat
import subprocess
import tarfile
import tempfile

import pytest

from conftest import INTERPRETERS, ROOT

PREFIX = '/opt/pyc'


def header_version():
    with open(os.path.join(ROOT, 'src', 'lib', 'pycprefix.h')) as f:
        return re.search(r'^#define PYC_VERSION_STRING "([^"]+)"', f.read(),
                         re.M).group(1)


VERSION = header_version()
# Where each completion file present in the tree belongs.
COMPLETIONS = {
    'completions/pycprefix.bash': 'share/bash-completion/completions/pycprefix',
    'completions/_pycprefix': 'share/zsh/site-functions/_pycprefix',
    'completions/pycprefix.fish': 'share/fish/vendor_completions.d/pycprefix.fish',
}


def make_env():
    """Make and the compiler without whatever the caller's make or shell
    set (a `make check` above us, CFLAGS)."""
    drop = ('MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES', 'CFLAGS',
            'LDFLAGS', 'CC', 'PREFIX', 'DESTDIR', 'BUILD', 'PKG_CONFIG_PATH',
            'PKG_CONFIG_SYSROOT_DIR', 'PKG_CONFIG_LIBDIR', 'LD_LIBRARY_PATH',
            'CI', 'SANITIZE')
    return {k: v for k, v in os.environ.items() if k not in drop}


def run(args, cwd=ROOT, env=None):
    res = subprocess.run([str(a) for a in args], cwd=str(cwd),
                         capture_output=True, timeout=600,
                         env=make_env() if env is None else env)
    assert res.returncode == 0, (args, res.stdout.decode(errors='replace'),
                                 res.stderr.decode(errors='replace'))
    return res.stdout.decode()


def make(*args, cwd=ROOT):
    return run(['make', *args], cwd=cwd)


def tree_entries(root):
    """Every file and symlink below root, relative, with its lstat."""
    out = {}
    for d, dirs, files in os.walk(str(root)):
        for name in files + [x for x in dirs
                             if os.path.islink(os.path.join(d, x))]:
            p = os.path.join(d, name)
            out[os.path.relpath(p, str(root))] = os.lstat(p)
    return out


def expected_layout():
    """Relative to the DESTDIR: path -> (mode, symlink target or None)."""
    p = PREFIX.lstrip('/') + '/'
    so = 'libpycprefix.so.' + VERSION
    want = {
        p + 'bin/pycprefix': (0o755, None),
        p + 'lib/libpycprefix.a': (0o644, None),
        p + 'lib/' + so: (0o644, None),
        p + 'lib/libpycprefix.so.0': (None, so),
        p + 'lib/libpycprefix.so': (None, 'libpycprefix.so.0'),
        p + 'include/pycprefix.h': (0o644, None),
        p + 'lib/pkgconfig/pycprefix.pc': (0o644, None),
    }
    for page in glob.glob(os.path.join(ROOT, 'build', 'man', '*.1')):
        want[p + 'share/man/man1/' + os.path.basename(page)] = (0o644, None)
    for src, dst in COMPLETIONS.items():
        if os.path.exists(os.path.join(ROOT, src)):
            want[p + dst] = (0o644, None)
    return want


@pytest.fixture(scope='module')
def destdir(tmp_path_factory):
    dest = tmp_path_factory.mktemp('install') / 'dest'
    make('install', 'PREFIX=' + PREFIX, 'DESTDIR=%s' % dest)
    return dest


def test_install_layout(destdir):
    got = tree_entries(destdir)
    want = expected_layout()
    assert set(got) == set(want)
    for path, (mode, target) in want.items():
        st = got[path]
        if target is None:
            assert stat.S_ISREG(st.st_mode), path
            assert stat.S_IMODE(st.st_mode) == mode, (path, oct(st.st_mode))
        else:
            assert stat.S_ISLNK(st.st_mode), path
            assert os.readlink(str(destdir / path)) == target
    p = destdir / PREFIX.lstrip('/')
    with open(os.path.join(ROOT, 'build', 'pycprefix'), 'rb') as f:
        assert (p / 'bin' / 'pycprefix').read_bytes() == f.read()
    with open(os.path.join(ROOT, 'src', 'lib', 'pycprefix.h'), 'rb') as f:
        assert (p / 'include' / 'pycprefix.h').read_bytes() == f.read()
    for src, dst in COMPLETIONS.items():
        if os.path.exists(os.path.join(ROOT, src)):
            with open(os.path.join(ROOT, src), 'rb') as f:
                assert (p / dst).read_bytes() == f.read()


def test_every_man_page_source_is_installed(destdir):
    """Each doc/NAME.1.scd becomes an installed NAME.1."""
    man1 = destdir / PREFIX.lstrip('/') / 'share' / 'man' / 'man1'
    for src in glob.glob(os.path.join(ROOT, 'doc', '*.1.scd')):
        page = os.path.basename(src)[:-len('.scd')]
        assert (man1 / page).is_file(), page


def test_shared_library_soname_and_exports(destdir):
    lib = destdir / PREFIX.lstrip('/') / 'lib' / 'libpycprefix.so'
    dyn = run(['readelf', '-d', lib])
    assert re.search(r'\(SONAME\)\s+Library soname: \[libpycprefix\.so\.0\]',
                     dyn), dyn
    # Only the public API: what pycprefix.h declares with PYC_API.
    run(['sh', os.path.join(ROOT, 'tests', 'tools', 'exports.sh'),
         destdir.parent / 'exports', os.path.join(ROOT, 'src', 'lib',
                                                  'pycprefix.h'), lib])


def test_pkg_config_file(destdir):
    pc = (destdir / PREFIX.lstrip('/') / 'lib' / 'pkgconfig' /
          'pycprefix.pc').read_text()
    fields = dict(line.split('=', 1) for line in pc.splitlines()
                  if '=' in line and ':' not in line)
    assert fields == {'prefix': PREFIX, 'libdir': '${prefix}/lib',
                      'includedir': '${prefix}/include'}
    assert 'Version: %s' % VERSION in pc.splitlines()
    assert 'Libs.private: -lcrypto -lm -lpthread' in pc.splitlines()


PROGRAM = r'''
#include <pycprefix.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	int i;

	printf("%s\n", PYC_VERSION_STRING);
	for (i = 1; i + 1 < argc; i += 2)
		printf("%u\n", pyc_magic_of_version(atoi(argv[i]),
						    atoi(argv[i + 1])));
	return 0;
}
'''


def pkg_config(destdir, *args):
    env = make_env()
    env['PKG_CONFIG_PATH'] = str(destdir / PREFIX.lstrip('/') / 'lib' /
                                 'pkgconfig')
    env['PKG_CONFIG_SYSROOT_DIR'] = str(destdir)
    return shlex.split(run(['pkg-config', *args, 'pycprefix'], env=env))


def check_program(exe, env):
    """The library's magic numbers are the interpreters' own."""
    args = [str(x) for it in INTERPRETERS for x in it.version[:2]]
    out = run([exe, *args], env=env).splitlines()
    assert out[0] == VERSION
    assert [int(x) for x in out[1:]] == [it.magic for it in INTERPRETERS]


def test_pkg_config_builds_and_links_a_program(destdir, tmp_path):
    assert pkg_config(destdir, '--modversion') == [VERSION]
    src = tmp_path / 'prog.c'
    src.write_text(PROGRAM)
    flags = pkg_config(destdir, '--cflags', '--libs')
    libdir = str(destdir / PREFIX.lstrip('/') / 'lib')
    assert '-I' + str(destdir / PREFIX.lstrip('/') / 'include') in flags
    assert '-L' + libdir in flags
    exe = tmp_path / 'prog'
    run(['cc', '-std=c11', '-Wall', '-Werror', '-o', exe, src, *flags])
    # Linked against the shared library, by its soname.
    assert '[libpycprefix.so.0]' in run(['readelf', '-d', exe])
    env = make_env()
    env['LD_LIBRARY_PATH'] = libdir
    check_program(exe, env)


def test_pkg_config_static_link(destdir, tmp_path):
    """--static: the archive with Libs.private is enough."""
    src = tmp_path / 'prog.c'
    src.write_text(PROGRAM)
    libs = pkg_config(destdir, '--static', '--libs')
    i = libs.index('-lpycprefix')
    libs[i:i + 1] = ['-Wl,-Bstatic', '-lpycprefix', '-Wl,-Bdynamic']
    exe = tmp_path / 'prog'
    run(['cc', '-std=c11', '-Wall', '-Werror', '-o', exe, src,
         *pkg_config(destdir, '--cflags'), *libs])
    assert 'libpycprefix' not in run(['readelf', '-d', exe])
    check_program(exe, make_env())


def test_uninstall_removes_exactly_what_install_put(tmp_path):
    dest = tmp_path / 'dest'
    p = dest / PREFIX.lstrip('/')
    # Other packages' files in the same directories stay.
    decoys = [p / 'bin' / 'pycprefix-other', p / 'lib' / 'libother.so',
              p / 'include' / 'other.h', p / 'share' / 'man' / 'man1' /
              'pycprefix-other.1', p / 'lib' / 'pkgconfig' / 'other.pc']
    for d in decoys:
        d.parent.mkdir(parents=True, exist_ok=True)
        d.write_text('not ours\n')
    before = set(tree_entries(dest))
    make('install', 'PREFIX=' + PREFIX, 'DESTDIR=%s' % dest)
    assert set(tree_entries(dest)) == before | set(expected_layout())
    make('uninstall', 'PREFIX=' + PREFIX, 'DESTDIR=%s' % dest)
    assert set(tree_entries(dest)) == before
    for d in decoys:
        d.unlink()
    make('uninstall', 'PREFIX=' + PREFIX, 'DESTDIR=%s' % dest)  # idempotent
    assert tree_entries(dest) == {}


def source_files():
    """The tracked files; in an unpacked tarball (no checkout of its
    own, as in make distcheck), the files .gitignore does not exclude."""
    top = subprocess.run(['git', 'rev-parse', '--show-toplevel'], cwd=ROOT,
                         capture_output=True, text=True)
    if top.returncode == 0 and os.path.samefile(top.stdout.strip(), ROOT):
        return sorted(run(['git', 'ls-files']).splitlines())
    with tempfile.TemporaryDirectory() as scratch:
        run(['git', 'init', '-q', scratch])
        return sorted(run(['git', '--git-dir=' + scratch + '/.git',
                           '--work-tree=.', 'ls-files', '--others',
                           '--exclude-standard']).splitlines())


@pytest.fixture(scope='module')
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp('dist')
    make('dist', 'DISTDIR=%s' % out)
    path = out / ('pycprefix-%s.tar.gz' % VERSION)
    assert path.is_file()
    return path


def test_dist_tarball_holds_the_tracked_files(tarball):
    name = 'pycprefix-%s/' % VERSION
    with tarfile.open(str(tarball)) as t:
        members = t.getmembers()
    assert all(m.name.startswith(name) for m in members)
    assert [m.name[len(name):] for m in members] == source_files()
    assert {(m.uid, m.gid) for m in members} == {(0, 0)}
    assert len({m.mtime for m in members}) == 1
    assert {m.mode & 0o7777 for m in members} <= {0o644, 0o755}


def test_dist_is_reproducible(tarball, tmp_path):
    make('dist', 'DISTDIR=%s' % tmp_path)
    again = tmp_path / tarball.name
    assert again.read_bytes() == tarball.read_bytes()


@pytest.fixture(scope='module')
def unpacked(tarball, tmp_path_factory):
    """The tarball unpacked and built."""
    where = tmp_path_factory.mktemp('unpacked')
    with tarfile.open(str(tarball)) as t:
        t.extractall(str(where))
    tree = where / ('pycprefix-%s' % VERSION)
    make('-j2', 'all', cwd=tree)
    return tree


def test_dist_tarball_builds_and_passes_unit(tarball, unpacked, tmp_path):
    out = make('unit', cwd=unpacked)
    assert 'exports: ' in out and 'nothing else' in out
    version = run([unpacked / 'build' / 'pycprefix', '--version'])
    assert version.splitlines()[0] == 'pycprefix ' + VERSION
    # The unpacked tree makes the same tarball again.
    make('dist', 'DISTDIR=%s' % tmp_path, cwd=unpacked)
    assert (tmp_path / tarball.name).read_bytes() == tarball.read_bytes()


def test_install_takes_every_man_page_and_completion(unpacked, tmp_path):
    """Every page of doc/*.scd (built by `make man`) and every completion
    file present go where man and each shell look, and uninstall takes
    them back (a copy of the built tree, given one more page source and
    the three completions)."""
    tree = tmp_path / 'tree'
    run(['cp', '-a', unpacked, tree])
    (tree / 'doc' / 'pycprefix-testpage.1.scd').write_text(
        'pycprefix-testpage(1)\n\n# NAME\n\npycprefix-testpage - a test\n')
    (tree / 'completions').mkdir(exist_ok=True)
    for src in COMPLETIONS:
        (tree / src).write_text('# %s\n' % src)
    dest = tmp_path / 'dest'
    make('install', 'PREFIX=' + PREFIX, 'DESTDIR=%s' % dest, cwd=tree)
    got = tree_entries(dest)
    p = PREFIX.lstrip('/') + '/'
    pages = [p + 'share/man/man1/' + os.path.basename(f)
             for f in glob.glob(str(tree / 'build' / 'man' / '*.1'))]
    assert p + 'share/man/man1/pycprefix-testpage.1' in pages
    extras = pages + [p + dst for dst in COMPLETIONS.values()]
    for path in extras:
        assert stat.S_IMODE(got[path].st_mode) == 0o644, path
    for src, dst in COMPLETIONS.items():
        assert (dest / p / dst).read_text() == '# %s\n' % src
    # The binary, the archive, the library and its two links, the
    # header, the .pc: 7 files, and the extras.
    assert len(got) == 7 + len(extras)
    make('uninstall', 'PREFIX=' + PREFIX, 'DESTDIR=%s' % dest, cwd=tree)
    assert tree_entries(dest) == {}


def test_install_without_scdoc_says_so_and_installs_nothing(unpacked,
                                                            tmp_path):
    """make install from a tree built without scdoc (as from the tarball
    on a machine without it): it stops before installing anything, with
    one message saying what is missing and what to do, however many
    pages and jobs (it failed with '/bin/sh: 1: scdoc: not found' and
    a make error, per page under -j)."""
    tree = tmp_path / 'tree'
    run(['cp', '-a', unpacked, tree])
    run(['rm', '-rf', tree / 'build' / 'man'])
    dest = tmp_path / 'dest'
    res = subprocess.run(['make', '-j4', 'install', 'PREFIX=' + PREFIX,
                          'DESTDIR=%s' % dest, 'SCDOC=/nonexistent/scdoc'],
                         cwd=str(tree), capture_output=True, text=True,
                         env=make_env(), timeout=600)
    assert res.returncode != 0
    msg = ("Makefile: the man pages need scdoc, and '/nonexistent/scdoc' "
           "is not found: install it (Debian: apt-get install scdoc), or "
           "name it with SCDOC=PATH\n")
    assert res.stderr.count(msg) == 1, res.stderr
    assert 'not found' not in res.stderr.replace(msg, ''), res.stderr
    assert not dest.exists() or tree_entries(dest) == {}
