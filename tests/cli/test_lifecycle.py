"""prune, clean, migrate and du on real trees with decoys: each removes
exactly the cache artifacts it should and nothing else."""
import json
import os
import subprocess
import time

from conftest import INTERPRETERS, run_tool


def compile_tree(it, tree, prefix, env, *extra):
    run_tool(['compile', '-q', '--python', it.exe, '--prefix', prefix,
              *extra, str(tree)], env, check=0)


def all_files(root):
    out = set()
    for d, dirs, files in os.walk(root):
        for f in files + [x for x in dirs if os.path.islink(os.path.join(d, x))]:
            out.add(os.path.relpath(os.path.join(d, f), root))
    return out


def make_tree(tmp_path, names=('a', 'b', 'c')):
    tree = tmp_path / 'tree'
    (tree / 'sub').mkdir(parents=True)
    for n in names:
        (tree / (n + '.py')).write_text('%s = 1\n' % n)
    (tree / 'sub' / 's.py').write_text('s = 1\n')
    return tree


def test_prune_removes_exactly_the_artifacts(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    tree = make_tree(tmp_path)
    prefix = str(tmp_path / 'p')
    compile_tree(it, tree, prefix, clean_env)
    mirror = os.path.join(prefix, str(tree).lstrip('/'))
    # Decoys: not cache artifacts, or reached only through a symlink.
    outside = tmp_path / 'outside'
    outside.mkdir()
    (outside / 'victim.cpython-312.pyc').write_bytes(b'x')
    os.symlink(str(outside), os.path.join(mirror, 'linkdir'))
    os.symlink(str(outside / 'victim.cpython-312.pyc'),
               os.path.join(mirror, 'gone.cpython-312.pyc'))
    with open(os.path.join(mirror, 'NOTES.txt'), 'w') as f:
        f.write('mine\n')
    with open(os.path.join(mirror, 'weird.pyc'), 'w') as f:
        f.write('not a CPython pyc name\n')
    # Artifacts: an orphan, a stale pyc, an old temp file, a fresh one.
    (tree / 'c.py').unlink()
    st = os.stat(tree / 'b.py')
    (tree / 'b.py').write_text('b = 222\n')
    os.utime(tree / 'b.py', ns=(st.st_atime_ns, st.st_mtime_ns))
    old_tmp = os.path.join(mirror, '.a.%s.pyc.pycprefix-0badf00d' % it.tag)
    new_tmp = os.path.join(mirror, '.a.%s.pyc.pycprefix-00c0ffee' % it.tag)
    cpy_tmp = os.path.join(mirror, 'a.%s.pyc.140000000000' % it.tag)
    for p in (old_tmp, new_tmp, cpy_tmp):
        with open(p, 'w') as f:
            f.write('partial')
    for p in (old_tmp, cpy_tmp):
        os.utime(p, (time.time() - 3600, time.time() - 3600))
    # An orphaned subtree: its source directory is gone.
    (tree / 'sub' / 's.py').unlink()
    (tree / 'sub').rmdir()
    before = all_files(prefix)
    res = run_tool(['prune', '--dry-run', '--json', '--prefix', prefix],
                   clean_env, check=0)
    assert all_files(prefix) == before
    dry = json.loads(res.stdout)
    res = run_tool(['prune', '--json', '--prefix', prefix], clean_env,
                   check=0)
    out = json.loads(res.stdout)
    assert out['files'] == dry['files'] == 5
    removed = {os.path.relpath(e['path'], prefix) for e in out['events']}
    rel = os.path.relpath(mirror, prefix)
    tag = it.tag
    assert removed == {os.path.join(rel, 'c.%s.pyc' % tag),
                       os.path.join(rel, 'b.%s.pyc' % tag),
                       os.path.join(rel, os.path.basename(old_tmp)),
                       os.path.join(rel, os.path.basename(cpy_tmp)),
                       os.path.join(rel, 'sub', 's.%s.pyc' % tag),
                       os.path.join(rel, 'sub')}
    left = all_files(prefix)
    for keep in ('a.%s.pyc' % tag, 'NOTES.txt', 'weird.pyc', 'linkdir',
                 'gone.cpython-312.pyc', os.path.basename(new_tmp)):
        assert os.path.join(rel, keep) in left
    assert (outside / 'victim.cpython-312.pyc').exists()


def test_prune_tags_max_size_older_than(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    tree = make_tree(tmp_path, names=['m%d' % i for i in range(6)])
    prefix = str(tmp_path / 'p')
    compile_tree(it, tree, prefix, clean_env)
    compile_tree(INTERPRETERS[0], tree, prefix, clean_env)
    res = run_tool(['prune', '--json', '--prefix', prefix,
                    '--tags=' + INTERPRETERS[0].tag], clean_env, check=0)
    events = json.loads(res.stdout)['events']
    store = os.path.join(prefix, '.pycprefix-store', '')
    assert len([e for e in events if not e['path'].startswith(store)]) == 7
    # The store's objects of that tag go with its pycs; its compiler's
    # directory and identity stay (the store's layout).
    assert len([e for e in events if e['path'].startswith(store)]) == 7
    assert all(f.startswith('.pycprefix-store/') and
               f.endswith('/identity')
               for f in all_files(prefix) if INTERPRETERS[0].tag in f)
    # LRU: make two pycs recently used, then shrink to about their size.
    def pycs_in_prefix():
        return sorted(os.path.join(d, f) for d, _, fs in os.walk(prefix)
                      for f in fs if f.endswith('.pyc'))
    pycs = pycs_in_prefix()
    now = time.time()
    for i, p in enumerate(pycs):
        os.utime(p, (now - 1000 + i, now - 1000 + i))
    keep = pycs[-2:]
    # --max-size counts the store's objects too (used now: they go last).
    objects = [os.path.join(d, f) for d, _, fs in os.walk(store)
               for f in fs if f.endswith('.c')]
    assert objects
    size = sum(os.path.getsize(p) for p in keep + objects)
    res = run_tool(['prune', '--json', '--prefix', prefix, '--max-size',
                    str(size)], clean_env, check=0)
    out = json.loads(res.stdout)
    assert {e['why'] for e in out['events']} == {
        'least recently used, over --max-size'}
    assert pycs_in_prefix() == keep
    os.utime(keep[0], (now - 40 * 86400, now - 40 * 86400))
    res = run_tool(['prune', '--json', '--prefix', prefix, '--older-than',
                    '30d'], clean_env, check=0)
    assert json.loads(res.stdout)['files'] == 1
    assert not os.path.exists(keep[0]) and os.path.exists(keep[1])


def test_prune_errors(clean_env, tmp_path):
    # A prefix not made yet is empty (test_trial.py); a file is no prefix.
    (tmp_path / 'file').write_text('')
    res = run_tool(['prune', '--prefix', str(tmp_path / 'file')], clean_env,
                   check=2)
    assert b'Not a directory' in res.stderr
    res = run_tool(['prune', '--in-tree'], clean_env, check=2)
    assert b'pycprefix clean' in res.stderr
    res = run_tool(['prune', '--max-size', 'lots', '--prefix', '/x'],
                   clean_env, check=2)
    assert b'500M' in res.stderr


def test_clean(clean_env, tmp_path):
    it = INTERPRETERS[0]
    tree = make_tree(tmp_path)
    subprocess.run([it.exe, '-m', 'compileall', '-q', str(tree)],
                   env={}, check=True)
    (tree / 'legacy.py').write_text('')
    (tree / 'legacy.pyc').write_bytes(b'old')
    (tree / 'shipped.pyc').write_bytes(b'no source')
    (tree / '__pycache__' / 'README').write_text('keep me')
    res = run_tool(['clean', '--json', str(tree)], clean_env, check=0)
    out = json.loads(res.stdout)
    left = all_files(tree)
    assert 'legacy.pyc' not in left and 'shipped.pyc' in left
    assert os.path.join('__pycache__', 'README') in left
    assert not (tree / 'sub' / '__pycache__').exists()
    assert out['files'] == 5  # 3 + 1 in-tree pycs, 1 legacy
    run_tool(['clean', '--sourceless', str(tree)], clean_env, check=0)
    assert not (tree / 'shipped.pyc').exists()


def test_migrate_moves_fresh_pycs_that_python_then_uses(clean_env, tmp_path):
    for it in (INTERPRETERS[0], INTERPRETERS[-1]):
        tree = tmp_path / ('t%d%d' % it.version[:2])
        (tree / 'pkg').mkdir(parents=True)
        (tree / 'pkg' / 'm.py').write_text('m = 1\n')
        (tree / 'pkg' / 'stale.py').write_text('s = 1\n')
        subprocess.run([it.exe, '-m', 'compileall', '-q', str(tree)],
                       env={}, check=True)
        st = os.stat(tree / 'pkg' / 'stale.py')
        (tree / 'pkg' / 'stale.py').write_text('s = 22\n')
        os.utime(tree / 'pkg' / 'stale.py', ns=(st.st_atime_ns, st.st_mtime_ns))
        prefix = str(tmp_path / 'p')
        res = run_tool(['migrate', '--json', '--prefix', prefix, str(tree)],
                       clean_env, check=0)
        out = json.loads(res.stdout)
        moved = [e for e in out['events'] if 'to' in e]
        assert len(moved) == 1
        assert not (tree / 'pkg' / '__pycache__').exists()
        check = ('import importlib.machinery as m, sys\n'
                 'l = m.SourceFileLoader("m", sys.argv[1])\n'
                 'def no(*a, **k): raise SystemExit("recompiled")\n'
                 'l.source_to_code = no\n'
                 'ns = {}; exec(l.get_code("m"), ns); print(ns["m"])\n')
        res = subprocess.run([it.exe, '-X', 'pycache_prefix=' + prefix,
                              '-c', check, str(tree / 'pkg' / 'm.py')],
                             capture_output=True, env={})
        assert res.stdout == b'1\n', res.stderr


def test_du(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    tree = make_tree(tmp_path)
    prefix = str(tmp_path / 'p')
    compile_tree(it, tree, prefix, clean_env, '-O', '0', '-O', '2')
    res = run_tool(['du', '--json', '--prefix', prefix], clean_env, check=0)
    out = json.loads(res.stdout)
    total = sum(os.path.getsize(os.path.join(d, f))
                for d, _, fs in os.walk(prefix) for f in fs
                if f.endswith('.pyc'))
    assert out['bytes'] == total and out['files'] == 8
    assert {t['key']: t['files'] for t in out['tags']} == {it.tag: 8}
    assert {t['key']: t['files'] for t in out['levels']} == {'0': 4, '2': 4}
    human = run_tool(['du', '--prefix', prefix], clean_env, check=0)
    assert b'8 pycs under' in human.stdout
