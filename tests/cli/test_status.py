"""pycprefix status on a real tree after edits, deletions, additions,
unchecked-hash pycs and decoys in the prefix."""
import json
import os
import subprocess

from conftest import INTERPRETERS, run_tool


def status(it, prefix, tree, env, *extra, check=None):
    res = run_tool(['status', '--json', '--python', it.exe, '--prefix',
                    prefix, *extra, tree], env, check=check)
    return res.returncode, json.loads(res.stdout)


def by_state(files):
    out = {}
    for f in files:
        out.setdefault(f['state'], set()).add(os.path.basename(
            f['source'] if f['state'] != 'orphan' else f['cache']))
    return out


def test_status_reports_exactly_what_changed(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    tree = tmp_path / 'tree'
    (tree / 'pkg').mkdir(parents=True)
    for n in ('a', 'b', 'c', 'gone', 'pkg/d'):
        (tree / (n + '.py')).write_text('%s = 1\n' % n.replace('/', '_'))
    prefix = str(tmp_path / 'p')
    run_tool(['compile', '--python', it.exe, '--prefix', prefix, str(tree)],
             clean_env, check=0)
    rc, out = status(it, prefix, str(tree), clean_env, '--check')
    assert rc == 0 and out['counts']['fresh'] == 5
    assert sum(out['counts'].values()) == 5
    # Edit one, delete one, add one; plant decoys in the prefix.
    st = os.stat(tree / 'b.py')
    (tree / 'b.py').write_text('b = 22\n')
    os.utime(tree / 'b.py', ns=(st.st_atime_ns, st.st_mtime_ns))
    (tree / 'gone.py').unlink()
    (tree / 'new.py').write_text('n = 1\n')
    mirror = os.path.join(prefix, str(tree).lstrip('/'))
    with open(os.path.join(mirror, 'README.txt'), 'w') as f:
        f.write('not a pyc\n')
    with open(os.path.join(mirror, 'notes.pyc.bak'), 'w') as f:
        f.write('not a pyc either\n')
    os.symlink('/etc', os.path.join(mirror, 'elsewhere'))
    rc, out = status(it, prefix, str(tree), clean_env, '--check')
    assert rc == 1
    s = by_state(out['files'])
    assert s['stale'] == {'b.py'}
    assert s['missing'] == {'new.py'}
    assert s['orphan'] == {'gone.%s.pyc' % it.tag}
    assert s['fresh'] == {'a.py', 'c.py', 'd.py'}
    assert out['counts'] == {'fresh': 3, 'stale': 1, 'missing': 1,
                             'orphan': 1, 'unchecked_changed': 0,
                             'broken': 0}
    stale = [f for f in out['files'] if f['state'] == 'stale'][0]
    assert stale['reason'] == 'source size differs'
    # The counts are the summary: on stderr, as every command's.
    human = run_tool(['status', '--python', it.exe, '--prefix', prefix,
                      str(tree)], clean_env, check=0).stderr.decode()
    assert '3 fresh, 1 stale, 1 missing, 1 orphaned' in human


def test_status_unchecked_hash_changed(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    tree = tmp_path / 'tree'
    tree.mkdir()
    (tree / 'u.py').write_text('u = 1\n')
    prefix = str(tmp_path / 'p')
    run_tool(['compile', '--python', it.exe, '--prefix', prefix,
              '--invalidation-mode', 'unchecked-hash', str(tree)], clean_env,
             check=0)
    rc, out = status(it, prefix, str(tree), clean_env, '--check')
    assert rc == 0 and out['counts']['fresh'] == 1
    (tree / 'u.py').write_text('u = 2\n')
    rc, out = status(it, prefix, str(tree), clean_env, '--check')
    assert rc == 1 and out['counts']['unchecked_changed'] == 1
    # --check-hash-based-pycs always: Python itself would recompile it.
    rc, out = status(it, prefix, str(tree), clean_env,
                     '--check-hash-based-pycs', 'always')
    assert out['counts']['stale'] == 1
    human = run_tool(['status', '--python', it.exe, '--prefix', prefix,
                      str(tree)], clean_env, check=0).stdout.decode()
    assert 'old code' in human


def test_status_in_tree_orphans(clean_env, tmp_path):
    it = INTERPRETERS[0]
    (tmp_path / 'm.py').write_text('m = 1\n')
    (tmp_path / 'x.py').write_text('x = 1\n')
    for src in ('m.py', 'x.py'):
        subprocess.run([it.exe, '-c', 'import py_compile, sys; '
                        'py_compile.compile(sys.argv[1])', src],
                       cwd=str(tmp_path), check=True, env={})
    (tmp_path / 'x.py').unlink()
    res = run_tool(['status', '--json', '--in-tree', '--python', it.exe, '.'],
                   clean_env, cwd=str(tmp_path), check=0)
    out = json.loads(res.stdout)
    assert out['counts']['fresh'] == 1 and out['counts']['orphan'] == 1


def test_status_starts_no_interpreter(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    log = tmp_path / 'log'
    w = tmp_path / 'py'
    w.write_text('#!/bin/sh\necho run >> %s\nexec %s "$@"\n' % (log, it.exe))
    w.chmod(0o755)
    (tmp_path / 'a.py').write_text('a = 1\n')
    args = ['status', '--python', str(w), '--prefix', str(tmp_path / 'p'),
            str(tmp_path)]
    run_tool(args, clean_env, check=0)   # probes once
    before = log.read_text()
    run_tool(args, clean_env, check=0)
    assert log.read_text() == before


def test_status_broken_source_for_paths(clean_env, tmp_path):
    """A source compile could not compile is broken, not missing: the
    fix is to the source; --check counts it for PATHs, as compile fails
    on it.  Edited, it is missing again (compile may now succeed)."""
    it = INTERPRETERS[-1]
    tree = tmp_path / 'tree'
    tree.mkdir()
    (tree / 'ok.py').write_text('x = 1\n')
    (tree / 'bad.py').write_text('x = (\n')
    prefix = str(tmp_path / 'p')
    run_tool(['compile', '--python', it.exe, '--prefix', prefix, str(tree)],
             clean_env, check=1)
    rc, out = status(it, prefix, str(tree), clean_env, '--check')
    assert rc == 1
    assert out['counts']['broken'] == 1 and out['counts']['missing'] == 0
    assert by_state(out['files'])['broken'] == {'bad.py'}
    res = run_tool(['status', '--python', it.exe, '--prefix', prefix,
                    str(tree)], clean_env, check=0)
    out_s, err = res.stdout.decode(), res.stderr.decode()
    assert ('broken              %s (does not compile: SyntaxError at 1:5,'
            ' as compile found)\n' % (tree / 'bad.py')) in out_s, out_s
    assert '1 fresh, 0 stale, 0 missing, 0 orphaned, 1 broken' in err
    assert "'pycprefix compile'" not in err
    assert 'fix the source' in err
    # Compile's memo is the only source of that knowledge: without it,
    # or once the file changed, it is missing.
    (tree / 'bad.py').write_text('x = (\n\n')
    rc, out = status(it, prefix, str(tree), clean_env)
    assert out['counts']['broken'] == 0 and out['counts']['missing'] == 1
