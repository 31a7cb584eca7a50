"""tools/dist.sh on a checkout it cannot archive whole: a failure, and
no tarball left behind (tar's status was lost in `tar | gzip`)."""
import os
import subprocess

from conftest import ROOT


def git(cwd, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@t',
               GIT_COMMITTER_NAME='t', GIT_COMMITTER_EMAIL='t@t')
    subprocess.run(['git', *args], cwd=cwd, env=env, check=True,
                   capture_output=True)


def test_a_tracked_file_it_cannot_read_fails_the_tarball(tmp_path):
    repo = tmp_path / 'repo'
    repo.mkdir()
    (repo / 'a.txt').write_text('a\n')
    (repo / 'b.txt').write_text('b\n')
    git(repo, 'init', '-q')
    git(repo, 'add', 'a.txt', 'b.txt')
    git(repo, 'commit', '-q', '-m', 'two files')
    (repo / 'b.txt').unlink()  # tracked, gone from the work tree
    out = tmp_path / 'x.tar.gz'
    res = subprocess.run(['sh', os.path.join(ROOT, 'tools', 'dist.sh'),
                          'x-1', str(out)], cwd=repo, capture_output=True)
    assert res.returncode != 0, res.stderr
    assert b'b.txt' in res.stderr
    assert not out.exists()
    assert not (tmp_path / 'x.tar.gz.tmp').exists()


def test_distcheck_fails_when_the_tarball_does_not_build(tmp_path):
    """make distcheck: the unpacked tarball's `make` failing fails it (in
    `make && make check; echo`, set -e let the first one's failure go)."""
    res = subprocess.run(['make', '-s', '-C', ROOT, 'distcheck',
                          'MAKE=false', 'DISTDIR=%s' % tmp_path],
                         capture_output=True)
    assert res.returncode != 0, res.stdout
    assert b'passes make check' not in res.stdout
