"""Disk full: a file-size limit (RLIMIT_FSIZE: write() must fail with
EFBIG, so the tool has to ignore SIGXFSZ) and a small tmpfs (ENOSPC).
Each failed file is named on stderr, the exit status is 1, no partial
or temporary file is left, and every pyc that was written is valid."""
import os
import re
import resource
import shutil
import subprocess
import tempfile

import pytest

from conftest import run_tool
from torture_lib import (NEWEST, assert_all_valid, crashed, object_sound,
                         outside_store, snapshot, stdlib_tree, store_objects,
                         temp_files, tool_cmd, walk_files)

LIMIT = 8192


def pyc_of(prefix, source, it):
    return os.path.join(prefix, source.lstrip('/'))[:-3] + '.%s.pyc' % it.tag


def failures(stderr, reason):
    """{source: pyc} of the 'SOURCE: cannot write 'PYC': REASON' lines;
    every other line must be the summary."""
    out = {}
    for line in stderr.decode().splitlines():
        m = re.match(r"^(.*\.py): cannot write '(.*)': %s$" % reason, line)
        if m:
            out[m.group(1)] = m.group(2)
        else:
            assert re.match(r'^\d+ compiled, ', line), line
    return out


def test_file_size_limit(clean_env, tmp_path):
    it = NEWEST
    tree = tmp_path / 'tree'
    sources = stdlib_tree(tree, limit=80)
    # The sizes the pycs have, from an unlimited run elsewhere.
    ref = str(tmp_path / 'ref')
    run_tool(['compile', '-q', '--python', it.exe, '--prefix', ref,
              str(tree)], clean_env, check=0)
    big = {s for s in sources if os.path.getsize(pyc_of(ref, s, it)) > LIMIT}
    assert 0 < len(big) < len(sources)
    prefix = str(tmp_path / 'prefix')

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE,
                           (LIMIT, resource.RLIM_INFINITY))

    # subprocess restores SIGXFSZ to its default action in the child, as
    # a shell does: the tool must ignore it itself.
    res = subprocess.run(tool_cmd('compile', '--python', it.exe, '--prefix',
                                  prefix, tree), env=clean_env,
                         capture_output=True, preexec_fn=limit, timeout=120)
    assert not crashed(res.returncode), (
        'killed by signal %d (SIGXFSZ is %d)' % (-res.returncode,
                                                 int(__import__('signal')
                                                     .SIGXFSZ)), res.stderr)
    assert res.returncode == 1, res.stderr
    failed = failures(res.stderr, 'File too large')
    assert set(failed) == big
    assert all(failed[s] == pyc_of(prefix, s, it) for s in big)
    assert re.search(r'\b%d failed\b' % len(big), res.stderr.decode())
    assert temp_files(prefix) == []
    # The pycs that fit, and the prefix's CACHEDIR.TAG (it is small).
    assert sorted(outside_store(prefix, walk_files(prefix))) == sorted(
        [pyc_of(prefix, s, it) for s in sources if s not in big] +
        [os.path.join(prefix, 'CACHEDIR.TAG')])
    # The store holds the code of each pyc written, whole, and nothing
    # of those that did not fit (their objects would not either).
    objects = store_objects(prefix)
    assert all(object_sound(p) for p in objects)
    assert len(objects) == len({open(s, 'rb').read() for s in sources
                                if s not in big})
    assert len(assert_all_valid(prefix, [it])['ok']) == len(sources) - len(
        big)
    # Without the limit the rerun writes exactly the rest.
    res = run_tool(['compile', '--python', it.exe, '--prefix', prefix,
                    str(tree)], clean_env, check=0)
    assert res.stderr.decode().startswith('%d compiled, %d fresh' % (
        len(big), len(sources) - len(big)))
    run_tool(['status', '--check', '-q', '--python', it.exe, '--prefix',
              prefix, str(tree)], clean_env, check=0)


class Tmpfs:
    def __init__(self, size):
        if os.geteuid() != 0:
            pytest.skip('mounting a tmpfs needs root')
        self.dir = tempfile.mkdtemp(prefix='pycprefix-tmpfs-', dir='/tmp')
        res = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%s' % size,
                              'tmpfs', self.dir], capture_output=True)
        if res.returncode:
            os.rmdir(self.dir)
            pytest.skip('cannot mount a tmpfs here: %s' %
                        res.stderr.decode().strip())

    def grow(self, size):
        subprocess.run(['mount', '-o', 'remount,size=%s' % size, self.dir],
                       check=True)

    def close(self):
        if subprocess.run(['umount', self.dir]).returncode:
            subprocess.run(['umount', '-l', self.dir])
        os.rmdir(self.dir)


@pytest.fixture
def tmpfs():
    fs = Tmpfs('160k')
    yield fs
    fs.close()


def test_full_tmpfs_compile(clean_env, tmp_path, tmpfs):
    it = NEWEST
    tree = tmp_path / 'tree'
    sources = stdlib_tree(tree, limit=80)
    prefix = os.path.join(tmpfs.dir, 'prefix')
    res = run_tool(['compile', '-j', '2', '--python', it.exe, '--prefix',
                    prefix, str(tree)], clean_env)
    assert not crashed(res.returncode), res.stderr
    assert res.returncode == 1, res.stderr
    failed = failures(res.stderr, 'No space left on device')
    assert failed and all(failed[s] == pyc_of(prefix, s, it) for s in failed)
    assert temp_files(prefix) == []
    written = {s for s in sources if os.path.exists(pyc_of(prefix, s, it))}
    assert written | set(failed) == set(sources)
    assert not written & set(failed)
    assert len(assert_all_valid(prefix, [it])['ok']) == len(written)
    tmpfs.grow('16m')
    res = run_tool(['compile', '--python', it.exe, '--prefix', prefix,
                    str(tree)], clean_env, check=0)
    assert res.stderr.decode().startswith('%d compiled, %d fresh' % (
        len(failed), len(written)))
    run_tool(['status', '--check', '-q', '--python', it.exe, '--prefix',
              prefix, str(tree)], clean_env, check=0)


def test_full_tmpfs_migrate_across_file_systems(clean_env, tmp_path, tmpfs):
    """migrate onto another file system copies; when the copy fails the
    in-tree pyc must stay as it was."""
    it = NEWEST
    tree = tmp_path / 'tree'
    stdlib_tree(tree, limit=80)
    subprocess.run([it.exe, '-I', '-m', 'compileall', '-q', str(tree)],
                   check=True, env={}, timeout=300)
    original = {p: d for p, d in snapshot(str(tree)).items()
                if p.endswith('.pyc')}
    prefix = os.path.join(tmpfs.dir, 'prefix')
    res = run_tool(['migrate', '--prefix', prefix, str(tree)], clean_env)
    assert not crashed(res.returncode), res.stderr
    assert res.returncode == 1, res.stderr
    failed = set()
    for line in res.stderr.decode().splitlines():
        m = re.match(r"^pycprefix: '(.*)': No space left on device$", line)
        if m:
            failed.add(m.group(1))
        else:
            assert 'moved or removed' in line or not line, line
    assert failed
    assert temp_files(prefix) == []
    now = snapshot(str(tree))
    moved = set(original) - set(now)
    assert failed == set(original) - moved
    for p in failed:
        assert now[p] == original[p], p
    v = assert_all_valid(prefix, [it])
    assert len(v['ok']) == len(moved)
    for p in moved:
        d, name = os.path.split(p)
        target = os.path.join(prefix, os.path.dirname(d).lstrip('/'), name)
        with open(target, 'rb') as f:
            assert f.read() == original[p]
    tmpfs.grow('16m')
    run_tool(['migrate', '-q', '--prefix', prefix, str(tree)], clean_env,
             check=0)
    assert not [p for p in snapshot(str(tree)) if p.endswith('.pyc')]
    assert len(assert_all_valid(prefix, [it])['ok']) == len(original)
    shutil.rmtree(prefix)
