"""CACHEDIR.TAG (the Cache Directory Tagging Specification,
https://bford.info/cachedir/): every prefix pycprefix creates gets one,
written atomically and never over a file of that name; a prefix that
existed before is left as it is; no command takes the tag for a pyc or
for junk; tar --exclude-caches skips the prefix; doctor notes a prefix
without one and its fix works."""
import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import INTERPRETERS, STORE_DIR, preload_shim, run_tool

IT = INTERPRETERS[-1]
SIGNATURE = b'Signature: 8a477f597d28d172789f06886806bc55'
TAG = 'CACHEDIR.TAG'


def make_tree(tmp_path):
    tree = tmp_path / 'tree'
    (tree / 'pkg').mkdir(parents=True)
    (tree / 'a.py').write_text('a = 1\n')
    (tree / 'pkg' / '__init__.py').write_text('')
    (tree / 'pkg' / 'b.py').write_text('b = 2\n')
    return tree


def compile_into(prefix, tree, env, *extra, check=0):
    return run_tool(['compile', '-q', '--python', IT.exe, '--prefix',
                     str(prefix), *extra, str(tree)], env, check=check)


def pycs(root):
    return sorted(os.path.join(d, f) for d, _, fs in os.walk(root)
                  for f in fs if f.endswith('.pyc'))


def doctor(prefix, env):
    res = run_tool(['doctor', '--json', '--prefix', str(prefix),
                    '--python', IT.exe], env)
    assert res.returncode in (0, 1), res.stderr
    doc = json.loads(res.stdout)
    return res.returncode, doc, {c['check']: c for c in doc['checks']}


def assert_tag(prefix):
    data = (prefix / TAG).read_bytes()
    assert data.startswith(SIGNATURE + b'\n'), data
    # The rest is comment lines, as the specification recommends.
    assert all(l.startswith(b'#') for l in data.splitlines()[1:]), data
    assert data.endswith(b'\n')
    return data


def test_compile_tags_the_prefix_it_creates(tmp_path, clean_env):
    tree = make_tree(tmp_path)
    prefix = tmp_path / 'made' / 'here' / 'pfx'
    compile_into(prefix, tree, clean_env)
    assert_tag(prefix)
    st = os.stat(prefix / TAG)
    assert st.st_mode & 0o777 == 0o644 & ~current_umask()
    # At the root of the prefix only: not in the parents compile made,
    # not in the prefix's mirror of the tree.
    assert not (tmp_path / 'made' / TAG).exists()
    assert not (tmp_path / 'made' / 'here' / TAG).exists()
    found = [os.path.join(d, f) for d, _, fs in os.walk(tmp_path)
             for f in fs if f == TAG]
    assert found == [str(prefix / TAG)]
    # No temporary left beside it: the tag, the store, the mirror.
    assert sorted(os.listdir(prefix)) == sorted([TAG, STORE_DIR,
                                                 str(tree).split('/')[1]])


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_migrate_tags_the_prefix_it_creates(tmp_path, clean_env):
    tree = make_tree(tmp_path)
    env = dict(clean_env)
    env.pop('PYTHONDONTWRITEBYTECODE')
    subprocess.run([IT.exe, '-m', 'compileall', '-q', str(tree)],
                   check=True, env=env)
    prefix = tmp_path / 'pfx'
    run_tool(['migrate', '-q', '--prefix', str(prefix), str(tree)],
             clean_env, check=0)
    assert len(pycs(prefix)) == 3
    assert_tag(prefix)


def test_no_tag_in_a_prefix_that_existed(tmp_path, clean_env):
    """An existing directory may hold more than the cache (a --prefix
    mistyped onto a home folder): tagging it would hide it from backups."""
    tree = make_tree(tmp_path)
    prefix = tmp_path / 'existing'
    prefix.mkdir()
    compile_into(prefix, tree, clean_env)
    assert len(pycs(prefix)) == 3
    assert not (prefix / TAG).exists()


def test_no_tag_in_tree_nor_on_dry_run(tmp_path, clean_env):
    tree = make_tree(tmp_path)
    run_tool(['compile', '-q', '--in-tree', '--python', IT.exe, str(tree)],
             clean_env, check=0)
    assert len(pycs(tree)) == 3
    # The one tag is the in-tree store's (in the user's cache), none in
    # the tree.
    store = tmp_path / 'xdg-cache' / 'pycprefix-store'
    assert [os.path.join(d, f) for d, _, fs in os.walk(tmp_path)
            for f in fs if f == TAG] == [str(store / TAG)]
    prefix = tmp_path / 'pfx'
    compile_into(prefix, tree, clean_env, '-n')
    assert not prefix.exists()


def test_prune_and_clean_leave_the_tag(tmp_path, clean_env):
    tree = make_tree(tmp_path)
    prefix = tmp_path / 'pfx'
    compile_into(prefix, tree, clean_env)
    tag = assert_tag(prefix)
    old = time.time() - 400 * 86400
    os.utime(prefix / TAG, (old, old))
    shutil.rmtree(tree)  # every pyc is an orphan now
    for args in ([], ['--tags'], ['--max-size', '0'], ['--older-than', '1s']):
        res = run_tool(['prune', '--json', '--prefix', str(prefix), *args],
                       clean_env, check=0)
        removed = json.loads(res.stdout)
        assert TAG not in res.stdout.decode(), (args, removed)
    assert pycs(prefix) == []
    assert (prefix / TAG).read_bytes() == tag
    res = run_tool(['clean', '--sourceless', str(prefix)], clean_env, check=0)
    assert (prefix / TAG).read_bytes() == tag


def test_du_doctor_status_do_not_count_it(tmp_path, clean_env):
    tree = make_tree(tmp_path)
    prefix = tmp_path / 'pfx'
    compile_into(prefix, tree, clean_env)
    assert_tag(prefix)
    files = pycs(prefix)
    res = run_tool(['du', '--json', '--prefix', str(prefix)], clean_env,
                   check=0)
    du = json.loads(res.stdout)
    assert du['files'] == len(files) == 3
    assert du['bytes'] == sum(os.path.getsize(f) for f in files)
    assert du['errors'] == 0
    code, doc, checks = doctor(prefix, clean_env)
    assert checks['prefix.size']['message'].startswith('3 pycs, ')
    assert checks['prefix.cachedir']['level'] == 'ok'
    for name in ('prefix.temp', 'prefix.symlinks', 'prefix.owner',
                 'prefix.read', 'prefix.cache'):
        assert name not in checks, checks[name]
    res = run_tool(['status', '--json', '--prefix', str(prefix), '--python',
                    IT.exe, str(tree)], clean_env, check=0)
    assert json.loads(res.stdout)['counts']['orphan'] == 0


def test_tar_exclude_caches_skips_the_prefix(tmp_path, clean_env):
    tree = make_tree(tmp_path)
    home = tmp_path / 'home'
    prefix = home / '.cache' / 'pfx'
    (home / 'notes.txt').parent.mkdir(parents=True)
    (home / 'notes.txt').write_text('keep me\n')
    compile_into(prefix, tree, clean_env)
    assert pycs(prefix)
    tar = shutil.which('tar')
    assert tar, 'GNU tar is needed'
    listed = subprocess.run([tar, '--exclude-caches', '-cf', '-', '-C',
                             str(home), '.'], capture_output=True,
                            check=True).stdout
    names = subprocess.run([tar, '-tf', '-'], input=listed,
                           capture_output=True, check=True).stdout.decode()
    names = sorted(n.rstrip('/') for n in names.split())
    # The tag itself stays in the archive (GNU tar's --exclude-caches), the
    # cache's contents do not.
    assert names == ['.', './.cache', './.cache/pfx', './.cache/pfx/' + TAG,
                     './notes.txt'], names
    # Without the option, the same archive holds the pycs: the tag did it.
    full = subprocess.run([tar, '-cf', '-', '-C', str(home), '.'],
                          capture_output=True, check=True).stdout
    names = subprocess.run([tar, '-tf', '-'], input=full,
                           capture_output=True, check=True).stdout.decode()
    assert sum(n.endswith('.pyc') for n in names.split()) == 3


def test_doctor_notes_a_prefix_without_one(tmp_path, clean_env):
    tree = make_tree(tmp_path)
    prefix = tmp_path / "it's here"
    prefix.mkdir()
    compile_into(prefix, tree, clean_env)
    code, doc, checks = doctor(prefix, clean_env)
    note = checks['prefix.cachedir']
    assert note['level'] == 'note'
    assert TAG in note['message']
    # A note is not something to fix: the exit status and the counts are
    # those of the tagged prefix.
    subprocess.run(['sh', '-c', note['fix']], check=True, cwd=tmp_path)
    assert (prefix / TAG).read_bytes().startswith(SIGNATURE)
    code2, doc2, checks2 = doctor(prefix, clean_env)
    assert checks2['prefix.cachedir']['level'] == 'ok'
    assert (code, doc['warnings'], doc['failures']) == \
        (code2, doc2['warnings'], doc2['failures'])
    human = run_tool(['doctor', '--prefix', str(prefix), '--python', IT.exe],
                     clean_env).stdout.decode()
    assert 'no ' + TAG not in human
    # A file of that name without the signature is no tag (tar agrees).
    (prefix / TAG).write_text('not a tag\n')
    assert doctor(prefix, clean_env)[2]['prefix.cachedir']['level'] == 'note'


def test_doctor_fix_for_a_prefix_given_with_a_trailing_slash(tmp_path,
                                                             clean_env):
    """--prefix DIR/ (as shells complete it): the fix names
    DIR/CACHEDIR.TAG, not DIR//CACHEDIR.TAG, and works."""
    tree = make_tree(tmp_path)
    prefix = tmp_path / 'pfx'
    prefix.mkdir()
    compile_into(prefix, tree, clean_env)
    res = run_tool(['doctor', '--json', '--prefix', str(prefix) + '//',
                    '--python', IT.exe], clean_env)
    checks = {c['check']: c for c in json.loads(res.stdout)['checks']}
    fix = checks['prefix.cachedir']['fix']
    assert fix.endswith(" > %s/%s" % (prefix, TAG)), fix
    subprocess.run(['sh', '-c', fix], check=True, cwd=str(tree))
    assert (prefix / TAG).read_bytes().startswith(SIGNATURE)


SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char sig[] = "Signature: 8a477f597d28d172789f06886806bc55";

/* KILL_IN_TAG: the process dies with half the tag written. */
ssize_t write(int fd, const void *buf, size_t n)
{
	if (getenv("KILL_IN_TAG") && n > sizeof(sig) &&
	    memcmp(buf, sig, sizeof(sig) - 1) == 0) {
		syscall(SYS_write, fd, buf, n / 2);
		raise(SIGKILL);
	}
	return syscall(SYS_write, fd, buf, n);
}

/* PLANT_TAG_IN=DIR: as soon as DIR is made, another writer puts its
 * own CACHEDIR.TAG there (a race with the one pycprefix writes). */
int mkdir(const char *path, mode_t mode)
{
	static int (*real)(const char *, mode_t);
	const char *dir = getenv("PLANT_TAG_IN");
	int ret;

	if (!real)
		real = (int (*)(const char *, mode_t))dlsym(RTLD_NEXT, "mkdir");
	ret = real(path, mode);
	if (ret == 0 && dir && strcmp(path, dir) == 0) {
		char p[4096];
		snprintf(p, sizeof(p), "%s/CACHEDIR.TAG", dir);
		int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
		syscall(SYS_write, fd, "mine\n", 5);
		close(fd);
	}
	return ret;
}
"""


@pytest.fixture
def shim_env(tmp_path, clean_env):
    return preload_shim(tmp_path, clean_env, SHIM)


def test_a_kill_while_tagging_leaves_no_torn_tag(tmp_path, shim_env,
                                                clean_env):
    tree = make_tree(tmp_path)
    prefix = tmp_path / 'pfx'
    env = dict(shim_env, KILL_IN_TAG='1')
    res = compile_into(prefix, tree, env, check=None)
    assert res.returncode == -9, (res.returncode, res.stderr)
    # Half a tag was written, into a temporary that prune recognises: no
    # CACHEDIR.TAG at all, rather than a torn one.
    assert not (prefix / TAG).exists()
    temps = os.listdir(prefix)
    assert len(temps) == 1 and temps[0].startswith('.pycprefix-'), temps
    torn = prefix / temps[0]
    assert SIGNATURE[:10] in torn.read_bytes()
    old = time.time() - 3600
    os.utime(torn, (old, old))
    run_tool(['prune', '-q', '--prefix', str(prefix)], clean_env, check=0)
    assert os.listdir(prefix) == []
    # The prefix exists now: it stays untagged, and doctor says so.
    compile_into(prefix, tree, clean_env)
    assert not (prefix / TAG).exists()
    assert doctor(prefix, clean_env)[2]['prefix.cachedir']['level'] == 'note'


def test_a_tag_put_there_first_is_never_replaced(tmp_path, shim_env):
    tree = make_tree(tmp_path)
    prefix = tmp_path / 'pfx'
    env = dict(shim_env, PLANT_TAG_IN=str(prefix))
    compile_into(prefix, tree, env)
    assert (prefix / TAG).read_bytes() == b'mine\n'
    assert os.stat(prefix / TAG).st_mode & 0o777 == 0o600
    assert len(pycs(prefix)) == 3
    # Nothing left of pycprefix's own attempt.
    assert sorted(os.listdir(prefix)) == sorted([TAG, STORE_DIR,
                                                 str(tree).split('/')[1]])
