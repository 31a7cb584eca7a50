"""compile, status and prune on an interpreter's sys.path (issue 11):
sources the interpreter cannot compile, such as the broken test data
every stock stdlib ships, are noted and not failures under --sys-path
unless --strict (item 10); status and prune take --python all and
--sys-path, so what compile --sys-path built can be checked and tidied
(item 11)."""
import json
import os
import re

import pytest

from conftest import INTERPRETERS, run_tool

OLDEST = INTERPRETERS[0]   # the smallest sys.path: the quickest cold run


def site_dir(tmp_path):
    extra = tmp_path / 'extra'
    (extra / 'pkg').mkdir(parents=True)
    (extra / 'good.py').write_text('g = 1\n')
    (extra / 'pkg' / 'mod.py').write_text('m = 1\n')
    (extra / 'bad.py').write_text('def (:\n')
    return extra


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    """One cold compile --sys-path of OLDEST, PYTHONPATH naming a
    directory with a source that does not compile."""
    tmp = tmp_path_factory.mktemp('syspath')
    extra = site_dir(tmp)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('PYTHON', 'PYCPREFIX', 'XDG_'))}
    env.update(XDG_CACHE_HOME=str(tmp / 'xdg'), PYTHONPATH=str(extra),
               PYTHONDONTWRITEBYTECODE='1')
    env.pop('NO_COLOR', None)
    prefix = str(tmp / 'p')
    res = run_tool(['compile', '--sys-path', '--json', '--python',
                    OLDEST.exe, '--prefix', prefix], env)
    return tmp, extra, env, prefix, res


# ---- item 10 ----

def test_sys_path_source_errors_are_noted_not_failures(built):
    tmp, extra, env, prefix, res = built
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    bad = [f for f in out['failures'] if f['source'] == str(extra / 'bad.py')]
    assert len(bad) == 1 and bad[0]['source_error'] is True
    assert out['source_errors'] >= 2  # ours and the stdlib's test data
    assert out['failed'] == out['source_errors']
    assert out['compiled'] > 100
    base = ['compile', '--sys-path', '--python', OLDEST.exe, '--prefix',
            prefix]
    # Warm: the same, each error told in the summary, not line by line.
    res = run_tool(base, env, check=0)
    err = res.stderr.decode()
    assert 'bad.py' not in err
    assert '%d failed' % out['source_errors'] in err
    assert 'do not compile' in err and '--strict' in err
    # -v lists them, still exit 0; --strict makes them failures.
    res = run_tool(base + ['-v'], env, check=0)
    assert ('%s:1:' % (extra / 'bad.py')).encode() in res.stderr
    res = run_tool(base + ['--strict'], env, check=1)
    assert ('%s:1:' % (extra / 'bad.py')).encode() in res.stderr


def test_paths_still_fail_on_source_errors(built):
    """Without --sys-path compile does as compileall does: exit 1."""
    tmp, extra, env, prefix, res = built
    res = run_tool(['compile', '--python', OLDEST.exe, '--prefix', prefix,
                    str(extra)], env, check=1)
    assert ('%s:1:' % (extra / 'bad.py')).encode() in res.stderr


# ---- item 11 ----

def status_json(args, env, check=None):
    res = run_tool(['status', '--json'] + args, env, check=check)
    return res.returncode, json.loads(res.stdout)


def test_status_sys_path_agrees_with_compile(built):
    tmp, extra, env, prefix, res = built
    made = json.loads(res.stdout)
    rc, out = status_json(['--sys-path', '--python', OLDEST.exe,
                           '--prefix', prefix], env)
    c = out['counts']
    assert rc == 0, out
    # Each pyc once, though lib/python3.X holds site-packages.
    assert c['fresh'] == made['compiled'] + made['fresh']
    # The sources that do not compile are broken, as compile found.
    assert c['broken'] == made['failed'] == made['source_errors']
    assert c['missing'] == c['stale'] == c['orphan'] == 0
    srcs = [f['source'] for f in out['files']]
    assert srcs.count(str(extra / 'good.py')) == 1
    bad = [f for f in out['files'] if f['source'] == str(extra / 'bad.py')]
    assert [f['state'] for f in bad] == ['broken']
    assert 'does not compile' in bad[0]['reason']
    # --check ignores them under --sys-path, as compile does; --strict
    # counts them.
    rc, out = status_json(['--sys-path', '--check', '--python', OLDEST.exe,
                           '--prefix', prefix], env)
    assert rc == 0
    rc, out = status_json(['--sys-path', '--check', '--strict', '--python',
                           OLDEST.exe, '--prefix', prefix], env)
    assert rc == 1
    res = run_tool(['status', '-v', '--sys-path', '--python', OLDEST.exe,
                    '--prefix', prefix], env, check=0)
    err, out = res.stderr.decode(), res.stdout.decode()
    line = [ln for ln in out.splitlines() if re.search(
        r"bad\.py \(does not compile: SyntaxError at 1:\d+, as compile "
        r"found\)$", ln)]
    assert len(line) == 1 and line[0].startswith('broken'), out
    assert '%d broken' % c['broken'] in err
    assert "'pycprefix compile'" not in err and 'fix the source' in err
    res = run_tool(['status', '--sys-path', '--python', OLDEST.exe,
                    '--prefix', prefix, str(extra)], env, check=2)
    assert b'--sys-path takes no PATH' in res.stderr


def test_status_python_all(clean_env, tmp_path):
    tree = site_dir(tmp_path)
    (tree / 'bad.py').unlink()
    prefix = str(tmp_path / 'p')
    res = run_tool(['compile', '--json', '--python', 'all', '--prefix',
                    prefix, str(tree)], clean_env, check=0)
    made = json.loads(res.stdout)
    tags = {i['tag'] for i in json.loads(run_tool(
        ['pythons', '--json'], clean_env, check=0).stdout) if i['usable']}
    assert made['compiled'] == 2 * len(tags)
    rc, out = status_json(['--python', 'all', '--prefix', prefix,
                           str(tree)], clean_env, check=0)
    assert out['counts']['fresh'] == made['compiled']
    assert sum(out['counts'].values()) == made['compiled']
    assert {f['python'] for f in out['files']} == tags


def test_status_python_all_sys_path_sees_what_compile_would(clean_env,
                                                            tmp_path):
    prefix = str(tmp_path / 'p')
    res = run_tool(['compile', '-n', '--json', '--sys-path', '--python',
                    'all', '--prefix', prefix], clean_env, check=0)
    would = json.loads(res.stdout)['would_compile']
    rc, out = status_json(['--sys-path', '--python', 'all', '--prefix',
                           prefix], clean_env, check=0)
    assert would > 1000
    assert out['counts']['missing'] == would
    assert sum(out['counts'].values()) == would


def plant(prefix, directory, name):
    d = os.path.join(prefix, str(directory).lstrip('/'))
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, name)
    with open(p, 'wb') as f:
        f.write(b'\0' * 16)
    return p


def test_prune_sys_path_tidies_only_what_sys_path_mirrors(built, tmp_path):
    tmp, extra, env, prefix, res = built
    tag = OLDEST.tag
    inside = plant(prefix, extra, 'gone.%s.pyc' % tag)
    nested = plant(prefix, extra / 'pkg', 'gone2.%s.pyc' % tag)
    outside = plant(prefix, tmp_path / 'elsewhere', 'gone3.%s.pyc' % tag)
    for args in (['--python', OLDEST.exe], ['--python', 'all']):
        res = run_tool(['prune', '-n', '--json', '--sys-path', *args,
                        '--prefix', prefix], env, check=0)
        out = json.loads(res.stdout)
        paths = [e['path'] for e in out['events']]
        assert sorted(paths) == sorted([inside, nested]), paths
    res = run_tool(['prune', '--sys-path', '--python', OLDEST.exe,
                    '--prefix', prefix], env, check=0)
    assert not os.path.exists(inside) and not os.path.exists(nested)
    assert os.path.exists(outside)
    # What compile built is all still there and fresh.
    rc, out = status_json(['--sys-path', '--python', OLDEST.exe,
                           '--prefix', prefix], env)
    assert out['counts']['stale'] == out['counts']['orphan'] == 0
    res = run_tool(['prune', '--sys-path', '--prefix', prefix, str(extra)],
                   env, check=2)
    assert b'--sys-path takes no PATH' in res.stderr
