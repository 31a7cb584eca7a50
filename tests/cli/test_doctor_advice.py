"""doctor's advice must be true and its commands must work (issue 11,
second trial): a prefix that is no cache, names that are no cache
artifacts, the --prefix in the suggested commands, the interpreter line
judged against the prefix checked, the help, PYTHONDONTWRITEBYTECODE,
quoted paths."""
import json
import os

import pytest

from conftest import INTERPRETERS, run_tool

IT = INTERPRETERS[-1]


def doctor(env, *args, check=None):
    res = run_tool(['doctor', '--python', IT.exe, *args], env, check=check)
    return res


def checks(env, *args):
    res = doctor(env, '--json', *args)
    return res.returncode, json.loads(res.stdout)['checks']


def test_prefix_root_is_not_a_cache(clean_env):
    """Item 2: doctor --prefix / fails at once, walks nothing, gives no
    per-file advice."""
    rc, cs = checks(clean_env, '--prefix', '/')
    assert rc == 1
    bad = [c for c in cs if c['check'] == 'prefix.cache']
    assert len(bad) == 1 and bad[0]['level'] == 'FAIL'
    assert 'this is not a cache: it is /' in bad[0]['message']
    names = {c['check'] for c in cs}
    assert not names & {'prefix.size', 'prefix.tags', 'prefix.contents',
                        'prefix.owner', 'prefix.temp', 'prefix.symlinks'}
    res = doctor(clean_env, '--prefix', '/', check=1)
    assert b'this is not a cache: it is /' in res.stdout
    assert b'pycprefix prune' not in res.stdout


@pytest.mark.parametrize('intruder', ['src/a.py', 'lib/__pycache__'])
def test_prefix_holding_sources_is_not_a_cache(clean_env, tmp_path,
                                               intruder):
    pfx = tmp_path / 'p'
    (pfx / 'lib').mkdir(parents=True)
    (pfx / 'lib' / ('m.%s.pyc' % 'pypy39')).write_bytes(b'\0' * 16)
    (pfx / 'lib' / '.m.pyc.tmp.1.2').write_bytes(b'')
    p = pfx / intruder
    p.parent.mkdir(parents=True, exist_ok=True)
    if intruder.endswith('.py'):
        p.write_text('x = 1\n')
    else:
        p.mkdir()
    rc, cs = checks(clean_env, '--prefix', str(pfx))
    assert rc == 1
    bad = [c for c in cs if c['check'] == 'prefix.cache']
    assert len(bad) == 1 and bad[0]['level'] == 'FAIL', cs
    what = 'sources' if intruder.endswith('.py') else '__pycache__ folders'
    assert 'this is not a cache: it holds %s' % what in bad[0]['message']
    assert str(p) in bad[0]['message']
    assert not [c for c in cs if c['check'] in ('prefix.tags',
                                               'prefix.temp')]


def test_only_real_tags_are_dead_tag_findings(clean_env, tmp_path):
    """Item 3a: m.foo.pyc and m.cpython-3x.pyc are not cache artifacts:
    no 'prune --tags=foo' (which prune refuses)."""
    pfx = tmp_path / 'p'
    (pfx / 'a').mkdir(parents=True)
    for n in ('m.foo.pyc', 'n.cpython-3x.pyc', 'x.pypy39.pyc'):
        (pfx / 'a' / n).write_bytes(b'\0' * 16)
    rc, cs = checks(clean_env, '--prefix', str(pfx))
    fixes = [c['fix'] or '' for c in cs]
    assert not [f for f in fixes if '--tags=foo' in f or 'cpython-3x' in f]
    dead = [c for c in cs if c['fix'] and '--tags=pypy39' in c['fix']]
    assert len(dead) == 1
    other = [c for c in cs if 'not cache artifacts' in c['message']]
    assert len(other) == 1 and other[0]['fix'] is None
    assert '2 .pyc files' in other[0]['message']
    # The advice given works: prune takes it.
    run_tool(['prune', '-n', '--prefix', str(pfx), '--tags=pypy39'],
             clean_env, check=0)


def test_env_fix_names_the_prefix(clean_env, tmp_path):
    """Item 3b: with --prefix P and PYTHONPYCACHEPREFIX unset, the
    suggested command gives P, not the default prefix."""
    pfx = tmp_path / "my p"
    rc, cs = checks(clean_env, '--prefix', str(pfx))
    env_fix = [c['fix'] for c in cs if c['check'] == 'env.set'][0]
    assert env_fix.startswith(
        """eval "$(pycprefix env --prefix '%s')\"""" % pfx), env_fix
    # What it gives is P.
    res = run_tool(['env', '--prefix', str(pfx)], clean_env, check=0)
    assert str(pfx).encode() in res.stdout
    # Without --prefix the plain command is right.
    rc, cs = checks(clean_env)
    env_fix = [c['fix'] for c in cs if c['check'] == 'env.set'][0]
    assert env_fix.startswith('eval "$(pycprefix env)"')


def test_interpreter_line_compares_with_the_prefix_checked(clean_env,
                                                           tmp_path):
    """Item 3c: PYTHONPYCACHEPREFIX=/other and --prefix P: the
    interpreter writes to /other, not P; no 'uses the prefix'."""
    other, pfx = tmp_path / 'other', tmp_path / 'p'
    env = dict(clean_env, PYTHONPYCACHEPREFIX=str(other))
    rc, cs = checks(env, '--prefix', str(pfx))
    py = [c for c in cs if c['check'] == 'python.prefix']
    assert len(py) == 1 and py[0]['level'] == 'warn', py
    assert str(other) in py[0]['message'] and str(pfx) in py[0]['message']
    assert 'uses the prefix' not in py[0]['message']
    # The same prefix both ways: ok.
    rc, cs = checks(env, '--prefix', str(other))
    py = [c for c in cs if c['check'] == 'python.prefix']
    assert py[0]['level'] == 'ok' and 'uses the prefix' in py[0]['message']


def test_doctor_help_is_true_about_python(clean_env):
    """Item 3d: doctor's --python defaults to every interpreter found."""
    out = run_tool(['doctor', '--help'], clean_env, check=0).stdout.decode()
    common = out.split('Common options:')[1]
    assert '(default: python3)' not in common
    assert 'all found' in common
    out = run_tool(['compile', '--help'], clean_env,
                   check=0).stdout.decode()
    assert '(default: python3)' in out.split('Common options:')[1]


def test_dont_write_bytecode_is_told_truly(clean_env, tmp_path):
    """Item 3e: with PYTHONDONTWRITEBYTECODE set, Python writes no
    __pycache__ at all."""
    env = dict(clean_env, PYTHONDONTWRITEBYTECODE='1')
    rc, cs = checks(env, '--prefix', str(tmp_path / 'p'))
    msg = [c['message'] for c in cs if c['check'] == 'env.set'][0]
    assert 'Python writes __pycache__ beside the sources' not in msg
    assert 'PYTHONDONTWRITEBYTECODE' in msg
    env = {k: v for k, v in clean_env.items()
           if k != 'PYTHONDONTWRITEBYTECODE'}
    rc, cs = checks(env, '--prefix', str(tmp_path / 'p'))
    msg = [c['message'] for c in cs if c['check'] == 'env.set'][0]
    assert 'Python writes __pycache__ beside the sources' in msg


def test_paths_are_quoted_in_human_output(clean_env, tmp_path):
    """Item 3f: a prefix with a newline or a non-UTF-8 byte is quoted
    for people; JSON keeps its bytes."""
    pfx = os.path.join(os.fsencode(tmp_path), b'p\nq\xe9')
    os.makedirs(pfx)
    res = doctor(clean_env, '--prefix', pfx)
    assert pfx not in res.stdout and b'q\xe9' not in res.stdout
    assert b'"' + os.path.join(os.fsencode(tmp_path), b'p\\nq\\351"') \
        in res.stdout, res.stdout
    for line in res.stdout.splitlines():
        assert not line.startswith(b'q'), res.stdout
    res = doctor(clean_env, '--json', '--prefix', pfx)
    out = json.loads(res.stdout.decode('utf-8', 'surrogateescape'))
    assert os.fsencode(out['prefix']) == pfx
