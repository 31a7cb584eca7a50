"""The trust check walks the prefix's path without following a link
before its owner is checked (issue 12): a symlink owned by another user
in a sticky directory, as /tmp, is refused even though what it points to
is safe, and doctor names the link and its owner."""
import json
import os

import pytest

from conftest import INTERPRETERS, run_tool

NOBODY = 65534

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason='makes a symlink owned by nobody')


def foreign_link(tmp_path):
    """shared (1777) / pfx -> real (ours), the link owned by nobody."""
    shared = tmp_path / 'shared'
    shared.mkdir()
    shared.chmod(0o1777)
    real = tmp_path / 'real'
    real.mkdir()
    link = shared / 'pfx'
    link.symlink_to(real)
    os.chown(link, NOBODY, NOBODY, follow_symlinks=False)
    return link, real


def test_compile_refuses_a_prefix_through_another_users_link(clean_env,
                                                             tmp_path):
    it = INTERPRETERS[-1]
    src = tmp_path / 'src'
    src.mkdir()
    (src / 'a.py').write_text('a = 1\n')
    link, real = foreign_link(tmp_path)
    res = run_tool(['compile', '--python', it.exe, '--prefix', str(link),
                    str(src)], clean_env, check=2)
    err = res.stderr.decode()
    assert "'%s' is owned by another user" % link in err, err
    assert 'nobody' in err
    assert not list(real.rglob('*.pyc'))


def test_doctor_names_the_link_and_its_owner(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    link, real = foreign_link(tmp_path)
    res = run_tool(['doctor', '--json', '--python', it.exe, '--prefix',
                    str(link)], clean_env, check=1)
    checks = [c for c in json.loads(res.stdout)['checks']
              if c['check'] == 'prefix.trust']
    assert [c['level'] for c in checks] == ['FAIL'], checks
    assert str(link) in checks[0]['message']
    assert 'owner nobody' in checks[0]['message']
    # The same link owned by us (root) is fine.
    os.chown(link, 0, 0, follow_symlinks=False)
    res = run_tool(['doctor', '--json', '--python', it.exe, '--prefix',
                    str(link)], clean_env)
    checks = [c for c in json.loads(res.stdout)['checks']
              if c['check'] == 'prefix.trust']
    assert [c['level'] for c in checks] == ['ok'], checks
