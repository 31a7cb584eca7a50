"""kill -9 of pycprefix at random moments of compile, prune and migrate,
over a few hundred real stdlib sources.  Whatever moment the kill hits,
every pyc at a final path is one the interpreter uses as it is, nothing
a user owns is removed, nothing in flight is lost, and a rerun repairs
everything."""
import os
import time

from conftest import run_tool
from torture_lib import (NEWEST, OLDEST, OUR_TEMP, assert_all_valid,
                         backdate, json_out, kill_at, rng, snapshot,
                         start_tool, stdlib_tree, temp_files, walk_files)

assert rng  # a fixture, used by name

KILLS = 12


def timed(args, env):
    t0 = time.monotonic()
    res = run_tool(args, env)
    return res, time.monotonic() - t0


def test_kill9_during_compile(clean_env, tmp_path, rng):
    tree = tmp_path / 'tree'
    sources = stdlib_tree(tree, limit=150)
    prefix = str(tmp_path / 'prefix')
    interps = [OLDEST, NEWEST] if OLDEST is not NEWEST else [NEWEST]
    base = ['compile', '-q', '-j', '2', '--prefix', prefix]
    for it in interps:
        base += ['--python', it.exe]
    # A whole run (after a first one, which also probes the interpreters)
    # tells how long a run lasts: kills land inside one.
    for _ in range(2):
        res, full = timed(base + ['-f', str(tree)], clean_env)
        assert res.returncode == 0, res.stderr
    killed = 0
    temps = set()
    touched = set()
    for i in range(KILLS):
        # Mostly forced runs (every pyc is rewritten, so a kill lands in
        # the middle of writes), some incremental after touching files
        # (whose pycs may then stay outdated, never broken).
        args = list(base)
        if i % 3 == 2:
            for src in rng.sample(sources, 30):
                os.utime(src, (time.time(), time.time() + rng.random()))
                touched.add(src)
        else:
            args.append('-f')
        proc = start_tool(args + [str(tree)], clean_env)
        hit, out, err = kill_at(proc, rng.uniform(0.0, full * (
            0.4 if i % 3 == 2 else 1.0)))
        if not hit:
            assert proc.returncode == 0, err
        killed += hit
        now = set(temp_files(prefix))
        new = now - temps
        # Writes are whole files: one kill leaves at most the files in
        # flight (one per worker), all named as our temporary files.
        assert len(new) <= 2, (i, sorted(new))
        assert all(OUR_TEMP.match(os.path.basename(p)) for p in new), new
        temps = now
        assert_all_valid(prefix, interps, context='after kill %d' % i,
                         stale_ok=touched)
    assert killed >= KILLS // 2, 'the kills hardly ever hit a running compile'
    # A rerun repairs everything and adds no temporary file of its own.
    res = run_tool(base + ['--json', str(tree)], clean_env, check=0)
    assert json_out(res)['failed'] == 0
    assert set(temp_files(prefix)) == temps
    v = assert_all_valid(prefix, interps)
    assert len(v['ok']) == len(sources) * len(interps)
    status = ['status', '--check', '--prefix', prefix]
    for it in interps:
        status += ['--python', it.exe]
    run_tool(status + [str(tree)], clean_env, check=0)
    # What the killed runs left is what prune takes once it is old.
    backdate(temps)
    run_tool(['prune', '-q', '--prefix', prefix], clean_env, check=0)
    assert temp_files(prefix) == []
    assert len(assert_all_valid(prefix, interps)['ok']) == len(v['ok'])


def plant_prune_work(rng, prefix, sample, it, sources, round_no, n=600):
    """Artifacts for prune to remove: orphans (sources gone, some in a
    directory that is gone too) and old temporary files of killed
    writers; returns their paths."""
    planted = []
    dirs = sorted({os.path.dirname(s) for s in sources})
    for k in range(n):
        pd = os.path.join(prefix, rng.choice(dirs).lstrip('/'))
        kind = k % 10
        if kind < 7:
            p = os.path.join(pd, 'gone_%d_%d.%s.pyc' % (round_no, k, it.tag))
        elif kind < 9:
            sub = os.path.join(pd, 'gonedir_%d_%d' % (round_no, k % 7))
            os.makedirs(sub, exist_ok=True)
            p = os.path.join(sub, 'm%d.%s.pyc' % (k, it.tag))
        else:
            p = os.path.join(pd, '.x%d_%d.%s.pyc.pycprefix-%08x' % (
                round_no, k, it.tag, rng.getrandbits(32)))
        with open(p, 'wb') as f:
            f.write(sample)
        planted.append(p)
    backdate([p for p in planted if OUR_TEMP.match(os.path.basename(p))])
    return planted


def pyc_of(prefix, source, it):
    return os.path.join(prefix, source.lstrip('/'))[:-3] + '.%s.pyc' % it.tag


def test_kill9_during_prune(clean_env, tmp_path, rng):
    it = NEWEST
    tree = tmp_path / 'tree'
    sources = stdlib_tree(tree)
    prefix = str(tmp_path / 'prefix')
    # The mirror alone: prune of the store is tests/cli/test_store_*.py's.
    run_tool(['compile', '-q', '--no-store', '--python', it.exe, '--prefix',
              prefix, str(tree)], clean_env, check=0)
    mirror = os.path.join(prefix, str(tree).lstrip('/'))
    with open(pyc_of(prefix, sources[0], it), 'rb') as f:
        sample = f.read()
    # Stale: sources edited after compiling (their pycs are artifacts).
    stale_sources = rng.sample(sources, 20)
    for s in stale_sources:
        with open(s, 'a') as f:
            f.write('\n# edited\n')
    stale = {pyc_of(prefix, s, it) for s in stale_sources}
    fresh = {pyc_of(prefix, s, it) for s in sources} - stale
    # Decoys: none of these may ever go, or change.
    outside = tmp_path / 'outside'
    outside.mkdir()
    victim = str(outside / ('victim.%s.pyc' % it.tag))
    with open(victim, 'wb') as f:
        f.write(sample)
    # The prefix's CACHEDIR.TAG, made by compile: never removed either.
    decoys = [victim, os.path.join(prefix, 'CACHEDIR.TAG')]
    assert os.path.isfile(decoys[1])
    for k, d in enumerate([mirror, os.path.join(mirror, 'email'),
                           os.path.join(mirror, 'xml', 'dom')]):
        for name, data in (('README.txt', b'mine'),
                           ('weird.pyc', b'a name CPython never gives'),
                           ('notes.%s.txt' % it.tag, b'not a pyc'),
                           ('.young.%s.pyc.pycprefix-00c0ffee' % it.tag,
                            b'a writer may still own me')):
            with open(os.path.join(d, name), 'wb') as f:
                f.write(data)
            decoys.append(os.path.join(d, name))
        os.symlink(victim, os.path.join(d, 'gone_link.%s.pyc' % it.tag))
        os.symlink(str(outside), os.path.join(d, 'linkdir'))
        decoys += [os.path.join(d, 'gone_link.%s.pyc' % it.tag),
                   os.path.join(d, 'linkdir')]
    backdate([p for p in decoys if 'young' not in p])
    kept = snapshot(prefix)
    kept.update(snapshot(str(outside)))
    kept = {p: kept[p] for p in decoys}
    prune = ['prune', '-q', '--prefix', prefix]
    planted = plant_prune_work(rng, prefix, sample, it, sources, 0)
    # The second dry run tells how long a run lasts (the first also
    # probes the interpreters, whose tags prune judges by).
    for _ in range(2):
        res, full = timed(prune + ['--dry-run'], clean_env)
        assert res.returncode == 0, res.stderr
    killed = 0
    for i in range(12):
        if i:
            planted += plant_prune_work(rng, prefix, sample, it, sources, i)
        proc = start_tool(prune, clean_env)
        hit, out, err = kill_at(proc, rng.uniform(0.0, full * 1.5))
        if not hit:
            assert proc.returncode == 0, err
        killed += hit
        after = snapshot(prefix)
        after.update(snapshot(str(outside)))
        for p, data in kept.items():
            assert after.get(p) == data, ('decoy removed or changed', i, p)
        lost = [p for p in fresh if p not in after]
        assert not lost, ('fresh pycs removed', i, lost[:5])
        # Prune removes, never creates.
        unknown = set(after) - set(kept) - fresh - stale - set(planted)
        assert not unknown, ('files appeared', i, sorted(unknown)[:5])
    assert killed >= 6, 'the kills hardly ever hit a running prune'
    res = run_tool(['prune', '--json', '--prefix', prefix], clean_env,
                   check=0)
    assert json_out(res)['files'] > 0
    left = snapshot(prefix)
    left.update(snapshot(str(outside)))
    assert set(left) == set(kept) | fresh
    for p, data in kept.items():
        assert left[p] == data
    assert set(assert_all_valid(prefix, [it])['ok']) == fresh
    run_tool(['compile', '-q', '--python', it.exe, '--prefix', prefix,
              str(tree)], clean_env, check=0)
    run_tool(['status', '--check', '-q', '--python', it.exe, '--prefix',
              prefix, str(tree)], clean_env, check=0)


def in_tree_pycs(tree):
    return {p: open(p, 'rb').read() for p in walk_files(tree)
            if os.path.basename(os.path.dirname(p)) == '__pycache__'}


def test_kill9_during_migrate(clean_env, tmp_path, rng):
    import subprocess
    it = NEWEST
    tree = tmp_path / 'tree'
    sources = stdlib_tree(tree, limit=150)
    # Real in-tree pycs from the interpreter itself, at three levels.
    levels = (0, 1, 2)
    if it.version >= (3, 9):
        runs = [([], [x for lv in levels for x in ('-o', str(lv))])]
    else:  # no -o before 3.9
        runs = [(['-' + 'O' * lv] if lv else [], []) for lv in levels]
    for flags, opts in runs:
        subprocess.run([it.exe, '-I', *flags, '-m', 'compileall', '-q', '-j',
                        '2', *opts, str(tree)], check=True, env={},
                       timeout=300)
    original = in_tree_pycs(tree)
    assert len(original) == 3 * len(sources)
    prefix = str(tmp_path / 'prefix')

    def prefix_place(pyc):
        d, name = os.path.split(pyc)
        src_dir = os.path.dirname(d)
        return os.path.join(prefix, src_dir.lstrip('/'), name)

    migrate = ['migrate', '-q', '--prefix', prefix, str(tree)]
    # How long a real run takes (a dry run moves nothing and is not the
    # measure): the kills fall within it, so most land while it runs.
    t0 = time.monotonic()
    proc = start_tool(migrate, clean_env)
    proc.communicate(timeout=120)
    full = max(time.monotonic() - t0, 0.05) * 0.9
    killed = 0
    for i in range(12):
        # Put back what earlier rounds moved: every round has all to do.
        for p, data in original.items():
            if not os.path.exists(p):
                os.makedirs(os.path.dirname(p), exist_ok=True)
                with open(p, 'wb') as f:
                    f.write(data)
        proc = start_tool(migrate, clean_env)
        hit, out, err = kill_at(proc, rng.uniform(0.0, full))
        if not hit:
            assert proc.returncode == 0, err
        killed += hit
        # Every pyc is in the tree or at its prefix place, whole.
        for p, data in original.items():
            places = [q for q in (p, prefix_place(p)) if os.path.exists(q)]
            assert places, ('pyc lost', i, p)
            for q in places:
                with open(q, 'rb') as f:
                    assert f.read() == data, ('pyc torn', i, q)
        assert temp_files(prefix) == [] and temp_files(str(tree)) == []
    assert killed >= 6, 'the kills hardly ever hit a running migrate'
    res = run_tool(['migrate', '--json', '--prefix', prefix, str(tree)],
                   clean_env, check=0)
    json_out(res)
    # All moved ("a.b.py" sources' pycs too: test_dotted_source_names).
    assert in_tree_pycs(tree) == {}
    v = assert_all_valid(prefix, [it], levels=levels)
    assert len(v['ok']) == len(original)
    run_tool(['compile', '-q', '-O', '0', '-O', '1', '-O', '2', '--python',
              it.exe, '--prefix', prefix, str(tree)], clean_env, check=0)
    run_tool(['status', '--check', '-q', '-O', '0', '-O', '1', '-O', '2',
              '--python', it.exe, '--prefix', prefix, str(tree)], clean_env,
             check=0)
