"""What a new user's second trial found (issue 11, after the first
pass): dry runs and read-only commands create nothing, prune on a prefix
not made yet, singular and plural counts, a prefix that is '/'."""
import json
import os

import pytest

from conftest import INTERPRETERS, run_tool

IT = INTERPRETERS[-1]


def small_tree(tmp_path):
    tree = tmp_path / 'tree'
    (tree / 'pkg').mkdir(parents=True)
    (tree / 'a.py').write_text('a = 1\n')
    (tree / 'pkg' / '__init__.py').write_text('')
    return tree


def listing(top):
    out = set()
    for d, dirs, files in os.walk(top):
        for n in dirs + files:
            out.add(os.path.relpath(os.path.join(d, n), top))
    return out


READ_ONLY = [
    ['migrate', '-n', '{tree}'],
    ['migrate', '-n', '--python', IT.exe, '{tree}'],
    ['status', '--python', IT.exe, '{tree}'],
    ['du'],
    ['doctor', '--python', IT.exe],
    ['prune', '-n'],
    ['prune', '-n', '{tree}'],
    ['compile', '-n', '--python', IT.exe, '{tree}'],
    ['path', '--python', IT.exe, '{tree}/a.py'],
    ['show', '{pfx}/x.{tag}.pyc'],
]


@pytest.mark.parametrize('args', READ_ONLY, ids=lambda a: ' '.join(a[:2]))
def test_dry_runs_and_reads_create_nothing(clean_env, tmp_path, args):
    """Item 4: a dry run or a read-only command makes no prefix, no
    directory, no file: in the tree, the prefix's parent, the cwd."""
    tree = small_tree(tmp_path)
    pfx = tmp_path / 'not-yet' / 'pfx'
    args = [a.format(tree=tree, pfx=pfx, tag=IT.tag) for a in args]
    env = dict(clean_env, XDG_CACHE_HOME=str(tmp_path / 'xdg'))
    before = listing(tmp_path)
    run_tool(['--prefix', str(pfx)] + args, env, cwd=str(tmp_path))
    after = {p for p in listing(tmp_path) if not p.startswith('xdg')}
    assert after == before, sorted(after - before)


def test_prune_prefix_not_made_yet(clean_env, tmp_path):
    """Item 5: as du and status, prune takes a prefix that does not
    exist yet for an empty one: nothing to prune, exit 0."""
    pfx = tmp_path / 'nope'
    for extra in (['-n'], [], ['--max-size', '0'], ['-n', str(tmp_path)]):
        res = run_tool(['--prefix', str(pfx), 'prune'] + extra, clean_env,
                       check=0)
        assert b'cannot prune' not in res.stderr, res.stderr
        assert b'0 files (0 B), 0 directories' in res.stderr
    res = run_tool(['--prefix', str(pfx), 'prune', '--json'], clean_env,
                   check=0)
    out = json.loads(res.stdout)
    assert out['files'] == 0 and out['errors'] == 0
    assert not pfx.exists()
    # A prefix that is a file is still an error.
    pfx.write_text('')
    run_tool(['--prefix', str(pfx), 'prune', '-n'], clean_env, check=2)


@pytest.mark.parametrize('cmd', [['compile'], ['compile', '-n'],
                                 ['migrate'], ['migrate', '-n']])
@pytest.mark.parametrize('root', ['/', '//', '/tmp/..'])
def test_writers_refuse_root_prefix(clean_env, tmp_path, cmd, root):
    """Item 2: compile (and migrate) refuse a prefix that is '/': it
    would put pycs beside the system's sources; --in-tree is the way to
    put them beside the sources."""
    tree = small_tree(tmp_path)
    before = listing(tree)
    res = run_tool(['--prefix', root] + cmd + ['--python', IT.exe,
                                               str(tree)], clean_env,
                   check=2)
    err = res.stderr.decode()
    assert 'the prefix is /' in err and '--in-tree' in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert listing(tree) == before


def test_counts_speak_singular_and_plural(clean_env, tmp_path):
    """Item 6: one of a thing is not 'pycs', 'entries', 'files'."""
    tree = tmp_path / 'tree'
    tree.mkdir()
    (tree / 'u.py').write_text('u = 1\n')
    (tree / 'v.py').write_text('v = 1\n')
    pfx = str(tmp_path / 'p')
    run_tool(['compile', '--python', IT.exe, '--prefix', pfx,
              '--invalidation-mode', 'unchecked-hash', str(tree)], clean_env,
             check=0)
    (tree / 'u.py').write_text('u = 2\n')
    err = run_tool(['status', '--python', IT.exe, '--prefix', pfx,
                    str(tree)], clean_env, check=0).stderr.decode()
    assert '1 unchecked-hash pyc Python would run' in err, err
    # Two of them: plural.
    (tree / 'v.py').write_text('v = 2\n')
    err = run_tool(['status', '--python', IT.exe, '--prefix', pfx,
                    str(tree)], clean_env, check=0).stderr.decode()
    assert '2 unchecked-hash pycs Python would run' in err, err
    # doctor: one file whose tag is none, one entry on a sys.path.
    d = tmp_path / 'd' / 'a'
    d.mkdir(parents=True)
    (d / 'm.pyc').write_bytes(b'\0' * 16)
    out = run_tool(['doctor', '--python', IT.exe, '--prefix',
                    str(tmp_path / 'd')], dict(clean_env, PYTHONPATH=''),
                   ).stdout.decode()
    assert '1 .pyc file (16 B) without an interpreter tag' in out, out
    # prune: one file, one directory.
    os.remove(d / 'm.pyc')
    (d / ('gone.%s.pyc' % IT.tag)).write_bytes(b'\0' * 16)
    err = run_tool(['prune', '-n', '--prefix', str(tmp_path / 'd')],
                   clean_env, check=0).stderr.decode()
    assert 'would have removed 1 file (16 B), 1 directory' in err, err
