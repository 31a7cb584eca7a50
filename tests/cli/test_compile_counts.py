"""compile's counts: each source compiled once per interpreter and level
however many roots reach it (issue 11, item 7), and every count a count
of pycs, with the sources given apart (item 16), the same as status's."""
import json
import os
import re

import pytest

from conftest import INTERPRETERS, prefix_files, run_tool


def make_tree(root, names):
    for n in names:
        p = root / n
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text('%s = 1\n' % os.path.basename(n)[:-3])
    return root


def listed(res):
    """The pycs a dry run lists (SOURCE -> PYC lines on stdout)."""
    return [line.split(' -> ', 1)[1]
            for line in res.stdout.decode().splitlines()]


def written(prefix):
    """The files compile wrote into the prefix, but for its CACHEDIR.TAG
    (tests/cli/test_cachedir_tag.py) and its store."""
    return prefix_files(prefix)


def cache_from_source(it, prefix, cwd, source, level=0):
    """CPython's own answer (the oracle), with pycache_prefix set."""
    code = ('import sys, importlib.util as u; sys.pycache_prefix = %r; '
            'print(u.cache_from_source(sys.argv[1], optimization=%r))'
            % (prefix, '' if level == 0 else level))
    return it.run(code, source, cwd=cwd).decode().strip()


# ---- item 7: once per source, however many roots reach it ----

def test_overlapping_roots_compile_each_source_once(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    names = ['a.py', 'b.py', 'sub/c.py', 'sub/d.py', 'sub/deep/e.py']
    make_tree(tmp_path / 'proj', names)
    prefix = str(tmp_path / 'p')
    base = ['compile', '--python', it.exe, '--prefix', prefix]
    # The same root twice, a root inside another, and one file spelled
    # three ways (./, //, an absolute path): one pyc each.
    roots = ['proj', 'proj', 'proj/sub', './proj/sub/deep', 'proj//sub',
             str(tmp_path / 'proj')]
    res = run_tool(base + ['-n'] + roots, clean_env, cwd=tmp_path, check=0)
    pycs = listed(res)
    assert len(pycs) == len(set(pycs)) == len(names), pycs
    res = run_tool(base + ['--json'] + roots, clean_env, cwd=tmp_path,
                   check=0)
    out = json.loads(res.stdout)
    assert (out['sources'], out['compiled']) == (len(names), len(names))
    assert len(written(prefix)) == len(names)
    res = run_tool(base + roots, clean_env, cwd=tmp_path, check=0)
    assert res.stderr.decode().startswith('0 compiled, %d fresh, 0 failed'
                                          % len(names)), res.stderr


def test_overlapping_roots_in_tree(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    names = ['a.py', 'sub/b.py', 'sub/c.py']
    make_tree(tmp_path / 'proj', names)
    res = run_tool(['compile', '--in-tree', '--python', it.exe, '-n',
                    'proj', 'proj/sub', './proj', str(tmp_path / 'proj')],
                   clean_env, cwd=tmp_path, check=0)
    pycs = [os.path.normpath(os.path.join(str(tmp_path), p))
            for p in listed(res)]
    assert len(pycs) == len(set(pycs)) == len(names), pycs


def test_a_symlinked_spelling_is_another_pyc_as_in_cpython(clean_env,
                                                           tmp_path):
    """Under a prefix, the pyc is named after the path as spelled: a tree
    reached through a symlink has pycs of its own (CPython would write
    both), so those are not duplicates; the same pyc reached twice is."""
    it = INTERPRETERS[-1]
    make_tree(tmp_path / 'proj', ['a.py'])
    os.symlink('proj', str(tmp_path / 'link'))
    prefix = str(tmp_path / 'p')
    res = run_tool(['compile', '--python', it.exe, '--prefix', prefix, '-n',
                    'proj', 'link', 'link/a.py', 'proj/../proj'],
                   clean_env, cwd=tmp_path, check=0)
    expect = {cache_from_source(it, prefix, str(tmp_path), s)
              for s in ('proj/a.py', 'link/a.py')}
    assert len(expect) == 2
    assert sorted(listed(res)) == sorted(expect)


def test_sys_path_compiles_site_packages_once(clean_env, tmp_path):
    """lib/python3.X holds site-packages and both are on sys.path; with
    PYTHONPATH naming a directory and one inside it, the same again."""
    it = INTERPRETERS[0]
    extra = make_tree(tmp_path / 'extra', ['m.py', 'inner/n.py'])
    env = dict(clean_env, PYTHONPATH='%s:%s:%s' % (extra, extra / 'inner',
                                                    extra))
    res = run_tool(['compile', '--sys-path', '-n', '--python', it.exe,
                    '--prefix', str(tmp_path / 'p')], env, check=None)
    pycs = listed(res)
    assert len(pycs) > 100
    assert len(pycs) == len(set(pycs))
    mine = [p for p in pycs if '/extra/' in p]
    assert len(mine) == 2, mine


# ---- item 16: counts of pycs, sources apart ----

def test_dry_run_counts_pycs_of_every_interpreter_and_level(clean_env,
                                                            tmp_path):
    its = INTERPRETERS[-2:]
    names = ['a.py', 'b.py', 'pkg/c.py']
    make_tree(tmp_path / 'pkg', names)
    args = ['compile', '-n', '--json', '-O', '0', '-O', '2',
            '--prefix', str(tmp_path / 'p')]
    for it in its:
        args += ['--python', it.exe]
    res = run_tool(args + [str(tmp_path / 'pkg')], clean_env, check=0)
    out = json.loads(res.stdout)
    npycs = len(names) * 2 * len(its)
    assert out['sources'] == len(names)
    assert out['would_compile'] == npycs
    res = run_tool([a for a in args if a != '--json'] +
                   [str(tmp_path / 'pkg')], clean_env, check=0)
    assert len(set(listed(res))) == npycs
    assert res.stderr.decode().startswith(
        '%d would be compiled, 0 fresh, 0 failed' % npycs), res.stderr
    assert ' %d sources' % len(names) in res.stderr.decode()


def status_counts(it, prefix, tree, env, levels):
    res = run_tool(['status', '--json', '--python', it.exe, '--prefix',
                    prefix, *levels, tree], env, check=0)
    return json.loads(res.stdout)['counts']


def test_hardlinked_levels_are_counted_as_the_pycs_they_are(clean_env,
                                                            tmp_path):
    it = INTERPRETERS[-1]
    names = ['m%d.py' % i for i in range(5)]
    tree = str(make_tree(tmp_path / 'pkg', names))
    prefix = str(tmp_path / 'p')
    levels = ['-O', '0', '-O', '1', '-O', '2']
    args = ['compile', '--json', '--python', it.exe, '--prefix', prefix,
            '--hardlink-dupes', *levels, tree]
    out = json.loads(run_tool(args, clean_env, check=0).stdout)
    assert out['sources'] == len(names)
    assert out['compiled'] == 3 * len(names) == len(written(prefix))
    assert status_counts(it, prefix, tree, clean_env, levels)['fresh'] == \
        out['compiled']
    again = json.loads(run_tool(args, clean_env, check=0).stdout)
    assert (again['compiled'], again['fresh']) == (0, 3 * len(names))


def test_partly_fresh_sources_count_each_pyc(clean_env, tmp_path):
    """A source fresh at -O 0 and missing at -O 1: one fresh, one
    compiled; a source that does not compile: a failed pyc per level;
    compiled + fresh + failed is what status counts."""
    it = INTERPRETERS[-1]
    names = ['a.py', 'b.py', 'c.py']
    tree = make_tree(tmp_path / 'pkg', names)
    prefix = str(tmp_path / 'p')
    base = ['compile', '--json', '--python', it.exe, '--prefix', prefix]
    run_tool(base + [str(tree)], clean_env, check=0)
    (tree / 'bad.py').write_text('def (:\n')
    levels = ['-O', '0', '-O', '1']
    res = run_tool(base + levels + [str(tree)], clean_env, check=1)
    out = json.loads(res.stdout)
    assert out['sources'] == 4
    assert (out['compiled'], out['fresh'], out['failed']) == (3, 3, 2)
    counts = status_counts(it, prefix, str(tree), clean_env, levels)
    assert counts['fresh'] == 6 and counts['broken'] == 2  # as compile found
    # Remembered failure, reported again without a worker: still pycs.
    res = run_tool(base + levels + [str(tree)], clean_env, check=1)
    out = json.loads(res.stdout)
    assert (out['compiled'], out['fresh'], out['failed']) == (0, 6, 2)
    res = run_tool(base[:1] + base[2:] + levels + [str(tree)], clean_env,
                   check=1)
    assert re.search(r'^0 compiled, 6 fresh, 2 failed.* 4 sources',
                     res.stderr.decode(), re.M), res.stderr


@pytest.mark.parametrize('in_tree', [False, True])
def test_status_counts_each_pyc_once_across_roots(in_tree, clean_env,
                                                  tmp_path):
    """status as compile: a pyc reached through several roots is one
    pyc, and an orphan in a mirror two roots share is one orphan."""
    it = INTERPRETERS[-1]
    names = ['a.py', 'sub/b.py', 'sub/c.py']
    make_tree(tmp_path / 'proj', names)
    where = ['--in-tree'] if in_tree else ['--prefix', str(tmp_path / 'p')]
    roots = ['proj', 'proj/sub', './proj', str(tmp_path / 'proj')]
    run_tool(['compile', '--python', it.exe, *where, 'proj'], clean_env,
             cwd=tmp_path, check=0)
    (tmp_path / 'proj' / 'sub' / 'c.py').unlink()
    res = run_tool(['status', '--json', '--python', it.exe, *where, *roots],
                   clean_env, cwd=tmp_path, check=0)
    out = json.loads(res.stdout)
    assert out['counts']['fresh'] == 2, out
    assert out['counts']['orphan'] == 1, out
    assert sum(out['counts'].values()) == 3
