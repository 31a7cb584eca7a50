"""A tree of 100,000 (empty) sources: a dry run and status over all of
it, a real compile, status and prune over a tenth of it.

The tree lives in /dev/shm when that has room: what is measured here is
the tool over 100,000 files, not how fast a disk creates them (on some
ext4 directories here, creating 100,000 files takes a minute)."""
import os
import re
import shutil
import tempfile

from conftest import run_tool
from torture_lib import NEWEST, json_out

DIRS, FILES = 100, 1000


def scratch_dir():
    try:
        st = os.statvfs('/dev/shm')
        if (os.access('/dev/shm', os.W_OK) and st.f_favail > 300000 and
                st.f_bavail * st.f_frsize > 512 << 20):
            return '/dev/shm'
    except OSError:
        pass
    return '/tmp'


def test_hundred_thousand_sources(clean_env):
    it = NEWEST
    top = tempfile.mkdtemp(prefix='pycprefix-huge-', dir=scratch_dir())
    try:
        tree = os.path.join(top, 'tree')
        os.mkdir(tree)
        for d in range(DIRS):
            dp = os.path.join(tree, 'd%02d' % d)
            os.mkdir(dp)
            fd = os.open(dp, os.O_RDONLY)
            try:
                for i in range(FILES):
                    os.close(os.open('m%03d.py' % i, os.O_WRONLY | os.O_CREAT,
                                     0o644, dir_fd=fd))
            finally:
                os.close(fd)
        total = DIRS * FILES
        prefix = os.path.join(top, 'prefix')
        base = ['--python', it.exe, '--prefix', prefix]
        res = run_tool(['compile', '--dry-run', '--json'] + base + [tree],
                       clean_env, check=0)
        out = json_out(res)
        assert (out['sources'], out['would_compile'], out['fresh']) == (
            total, total, 0)
        assert not os.path.exists(prefix)
        res = run_tool(['status'] + base + [tree], clean_env, check=0)
        assert re.search(r'^0 fresh, 0 stale, %d missing, 0 orphaned$' %
                         total, res.stderr.decode(), re.M), res.stderr[-300:]
        # Compile a tenth for real, then look at the whole again.
        part = [os.path.join(tree, 'd%02d' % d) for d in range(0, DIRS, 10)]
        res = run_tool(['compile', '--json'] + base + part, clean_env,
                       check=0)
        assert json_out(res)['compiled'] == total // 10
        res = run_tool(['status', '--json'] + base + [tree], clean_env,
                       check=0)
        counts = json_out(res)['counts']
        assert (counts['fresh'], counts['missing']) == (total // 10,
                                                        total - total // 10)
        res = run_tool(['compile', '--dry-run', '--json'] + base + [tree],
                       clean_env, check=0)
        out = json_out(res)
        assert (out['would_compile'], out['fresh']) == (total - total // 10,
                                                        total // 10)
        shutil.rmtree(part[0])
        res = run_tool(['prune', '--json', '--prefix', prefix], clean_env,
                       check=0)
        out = json_out(res)
        assert (out['files'], out['dirs'], out['kept']) == (
            FILES, 1, total // 10 - FILES)
    finally:
        shutil.rmtree(top)
