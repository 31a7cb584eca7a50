#!/usr/bin/env python3
"""Benchmarks: pycprefix against python -m compileall, side by side.

Copies an installed interpreter's whole stdlib (a tree nobody here wrote)
and measures, in one run, with the same interpreter and a prefix each:

  cold          pycprefix compile    vs  compileall -j0
  floor         one process's compile()+marshal CPU time / cores
  warm          pycprefix compile    vs  serial compileall (all fresh)
  incremental   1% of files touched  vs  compileall -j0
  status        pycprefix status on 10,000 files vs compileall's no-op run
  memory        the driver's peak RSS on the stdlib and on 100,000 files
  environment   compile --sys-path of the installed interpreter with the
                largest sys.path (its stdlib and site-packages, in place,
                into a scratch prefix), cold and warm, against compileall
                -j0 and serial compileall given the same sys.path entries;
                and `pycprefix compileall -q -j0 DIRS` against
                `python -m compileall -q -j0 DIRS`, cold and warm
  store         the shared bytecode store, on copies (cp -R, or cp -al
                with --store-copy link) of that environment's sys.path
                trees: the store filled by compiling copy A, then on copy
                B, cold each time, compile vs compileall -j0 (target
                >= 6x) and --invalidation-mode checked-hash vs the same
                (>= 15x); a copy with 1% of its sources edited compiles
                exactly those with workers; five copies in checked-hash
                mode in one prefix (du -sk, store included) vs one copy's
                pycs from compileall (<= 1.25x); the driver's peak RSS
                on a run all from a store of the environment and from one
                of --store-big (100,000) more objects (<= 64 MiB, flat).
                `--only store` runs this case alone

Each timing is the best of --repeat runs (cold runs start from an empty
prefix each time).  Ratios, not absolute times, are the result: they are
what stays comparable across machines.  Never run from the test suite.
"""
import argparse
import glob
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, 'build', 'pycprefix')

FLOOR = r'''
import marshal, os, sys, time
files = sys.stdin.read().split('\0')[:-1]
t = time.process_time()
for f in files:
    with open(f, 'rb') as h:
        src = h.read()
    try:
        marshal.dumps(compile(src, f, 'exec', dont_inherit=True))
    except Exception:
        pass
print(time.process_time() - t)
'''


BROKEN = r'''
import sys
for f in sys.stdin.read().split('\0')[:-1]:
    try:
        with open(f, 'rb') as h:
            compile(h.read(), f, 'exec', dont_inherit=True)
    except Exception:
        sys.stdout.write(f + '\0')
'''


def find_python(spec):
    if spec:
        return spec
    cands = sorted(glob.glob(os.path.expanduser(
        '~/.pyenv/versions/3.12.*/bin/python3.12')))
    return cands[-1] if cands else '/usr/bin/python3'


def env_for(prefix):
    env = {k: v for k, v in os.environ.items() if not k.startswith('PYTHON')}
    env['PYTHONPYCACHEPREFIX'] = prefix
    env['XDG_CACHE_HOME'] = os.path.join(os.path.dirname(prefix), 'xdg')
    return env


def timed(cmd, env, cwd):
    """Wall time and the process's own rusage (children excluded only
    when the command starts none)."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    return time.perf_counter() - t, ru.ru_maxrss


def best(n, fn):
    return min(fn() for _ in range(n))


def ours(py, prefix, tree, extra=()):
    return [TOOL, 'compile', '-q', '--python', py, '--prefix', prefix,
            *extra, tree]


def theirs(py, tree, jobs=True):
    return [py, '-m', 'compileall', '-q', *(['-j0'] if jobs else []), tree]


SYS_PATH = r'''
import os, sys
print('\0'.join(p for p in sys.path if p and os.path.isdir(p)), end='')
'''


def sys_path_dirs(py):
    """The directories on py's sys.path, as its site module builds it."""
    out = subprocess.run([py, '-I', '-c', SYS_PATH], capture_output=True,
                         text=True)
    return [d for d in out.stdout.split('\0') if d] if out.returncode == 0 else []


def largest_environment():
    """The pyenv interpreter >= 3.8 whose sys.path holds the most sources."""
    best_py, best_n = None, -1
    for py in sorted(glob.glob(os.path.expanduser(
            '~/.pyenv/versions/3.*/bin/python3.*'))):
        if not re.fullmatch(r'python3\.\d+', os.path.basename(py)):
            continue
        if int(os.path.basename(py).split('.')[1]) < 8:
            continue
        n = len({os.path.realpath(f) for d in sys_path_dirs(py)
                 for f in sources(d)})
        if n > best_n:
            best_py, best_n = py, n
    return best_py, best_n


def environment_case(work, repeat):
    """compile --sys-path against compileall on the same real files."""
    py, n = largest_environment()
    if not py:
        print('environment: no pyenv interpreter found, skipped')
        return
    dirs = sys_path_dirs(py)
    p_ours, p_theirs = os.path.join(work, 'env1'), os.path.join(work, 'env2')
    e_ours, e_theirs = env_for(p_ours), env_for(p_theirs)
    cmd_ours = [TOOL, 'compile', '-q', '--python', py, '--prefix', p_ours,
                '--sys-path']
    par = [py, '-m', 'compileall', '-q', '-j0', *dirs]
    ser = [py, '-m', 'compileall', '-q', *dirs]

    def cold(cmd, env, prefix):
        shutil.rmtree(prefix, ignore_errors=True)
        return timed(cmd, env, work)[0]
    c_ours = best(repeat, lambda: cold(cmd_ours, e_ours, p_ours))
    c_theirs = best(repeat, lambda: cold(par, e_theirs, p_theirs))
    w_ours = best(repeat, lambda: timed(cmd_ours, e_ours, work)[0])
    w_par = best(repeat, lambda: timed(par, e_theirs, work)[0])
    w_ser = best(repeat, lambda: timed(ser, e_theirs, work)[0])
    # The drop-in, given compileall's own command line: the prefix comes
    # from PYTHONPYCACHEPREFIX, as it does for the peer.
    p_drop = os.path.join(work, 'env3')
    e_drop = env_for(p_drop)
    drop = [TOOL, 'compileall', '--python', py, '-q', '-j0', *dirs]
    c_drop = best(repeat, lambda: cold(drop, e_drop, p_drop))
    w_drop = best(repeat, lambda: timed(drop, e_drop, work)[0])
    pycs = 0
    for _, subdirs, files in os.walk(p_ours):
        # The store's objects are no pycs of the tree.
        subdirs[:] = [x for x in subdirs if x != '.pycprefix-store']
        pycs += sum(1 for f in files if f.endswith('.pyc'))
    print()
    print('environment: %s, %d distinct sources on sys.path (%d entries), '
          '%d pycs written' % (py, n, len(dirs), pycs))
    print('| case | pycprefix | peer | peer is | ratio |')
    print('|---|---|---|---|---|')
    for name, o, t, peer in [
            ('sys.path cold', c_ours, c_theirs, 'compileall -j0'),
            ('sys.path warm', w_ours, w_par, 'compileall -j0'),
            ('sys.path warm', w_ours, w_ser, 'serial compileall'),
            ('compileall drop-in cold', c_drop, c_theirs, 'compileall -j0'),
            ('compileall drop-in warm', w_drop, w_par, 'compileall -j0')]:
        print('| %s | %.3f s | %.3f s | %s | %.2fx faster |'
              % (name, o, t, peer, t / o))


def sources(tree):
    out = []
    for d, dirs, files in os.walk(tree):
        dirs[:] = [x for x in dirs if x != '__pycache__']
        out += [os.path.join(d, f) for f in files if f.endswith('.py')]
    return out


# ---- the store case ---------------------------------------------------

# An object's name below a compiler's fan directory (src/lib/store.h).
STORE_OBJECT = re.compile(r'[0-9a-f]{62}\.[012]\.(c|u|t[0-9a-f]{16})')


def utc_now():
    return time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())


def store_env(prefix):
    """env_for(prefix), and no SOURCE_DATE_EPOCH (it would turn
    compileall's default mode into checked-hash)."""
    env = env_for(prefix)
    env.pop('SOURCE_DATE_EPOCH', None)
    return env


def checked(cmd, env, cwd):
    """Run cmd to its end: wall time, its peak RSS in KiB (wait4: the
    process's, and its waited-for children's when larger) and stdout.
    A non-zero exit is an error: a refused store would look fast.
    What earlier steps wrote (the copies, the last run's pycs) is
    flushed first, so that its writeback does not land in this run."""
    os.sync()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        secs = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text = out.read().decode('utf-8', 'replace')
        if p.returncode != 0:
            raise RuntimeError('%s: exit %d\n%s' % (
                ' '.join(cmd), p.returncode,
                err.read().decode('utf-8', 'replace')[-2000:]))
    return secs, ru.ru_maxrss, text


def tool_has_store():
    """Whether this build's compile knows --no-store (has the store)."""
    return subprocess.run([TOOL, 'compile', '--no-store', '--help'],
                          stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def count_objects(store):
    n = 0
    for _, dirs, files in os.walk(store):
        n += sum(1 for f in files if STORE_OBJECT.fullmatch(f))
    return n


def du_k(path):
    """Allocated KiB under path, each inode once, as du counts."""
    out = subprocess.run(['du', '-sk', path], capture_output=True, text=True,
                         check=True)
    return int(out.stdout.split()[0])


def copy_tree(src, dst, link):
    """A copy as a new venv or checkout makes one: new inodes and mtimes
    (cp -R), or, with link, the files hardlinked (cp -al, as uv does)."""
    subprocess.run(['cp', '-al' if link else '-R', src, dst], check=True)


def store_stage(work, py, dirs):
    """One copy of dirs (the topmost of them; a dir below another comes
    with it) without pycs, and without the sources py cannot compile
    (neither tool can make those fresh).  Returns (stage, sources,
    broken)."""
    stage = os.path.join(work, 'stage')
    os.makedirs(stage)
    dirs = [os.path.abspath(d) for d in dirs if os.path.isdir(d)]
    tops = [d for d in dirs
            if not any(o != d and d.startswith(o.rstrip('/') + '/')
                       for o in dirs)]
    for i, d in enumerate(tops):
        name = os.path.basename(d.rstrip('/')) or 'root'
        if os.path.exists(os.path.join(stage, name)):
            name = '%d-%s' % (i, name)
        shutil.copytree(d, os.path.join(stage, name), symlinks=True,
                        ignore=shutil.ignore_patterns('__pycache__',
                                                      '*.pyc'))
    broken = subprocess.run([py, '-I', '-c', BROKEN], input='\0'.join(
        sources(stage)) + '\0', capture_output=True,
        text=True).stdout.split('\0')[:-1]
    for f in broken:
        os.unlink(f)
    return stage, sources(stage), broken


def edit_some(tree, every=100):
    """Append a comment line to every `every`-th source of tree (by
    sorted path: the same files each run), each line its own, so that
    no two edited files are equal.  The file is replaced, not written
    in place: a hardlinked copy's siblings keep their bytes, as they
    would under an editor or git.  Returns the edited paths."""
    edited = sorted(sources(tree))[::every]
    for i, f in enumerate(edited):
        with open(f, 'rb') as h:
            data = h.read()
        if data and not data.endswith(b'\n'):
            data += b'\n'
        tmp = f + '.bench-tmp'
        with open(tmp, 'wb') as h:
            h.write(data + b'# edited by the pycprefix bench (%d)\n' % i)
        os.chmod(tmp, os.stat(f).st_mode & 0o7777)
        os.replace(tmp, f)
    return edited


def mirror_of(prefix, tree):
    """Where PYTHONPYCACHEPREFIX puts the pycs of tree's sources."""
    return os.path.join(prefix, os.path.abspath(tree).lstrip('/'))


class StoreRun:
    """pycprefix compile --json with the bench's store options."""

    def __init__(self, py, work, no_store, has_store):
        self.py, self.work = py, work
        self.no_store, self.has_store = no_store or not has_store, has_store

    def cmd(self, prefix, trees, extra=(), store=None):
        """A build without the store is given neither --no-store nor
        --store."""
        opts = [] if not self.has_store else ['--no-store'] \
            if self.no_store else ['--store', store] if store else []
        return [TOOL, 'compile', '--json', '--python', self.py, '--prefix',
                prefix, *opts, *extra, *trees]

    def run(self, prefix, trees, extra=(), store=None):
        """(seconds, peak RSS KiB, the JSON stats)."""
        secs, rss, out = checked(self.cmd(prefix, trees, extra, store),
                                 store_env(prefix), self.work)
        return secs, rss, json.loads(out)


def big_store(sr, work, stage, n):
    """A store holding n generated distinct small sources' objects and
    the environment's, compiled once (-j 2) and kept under build/ from
    bench run to bench run.  Returns its path and whether it was made
    now."""
    cache = os.path.join(ROOT, 'build', 'bench-store-%d' % n)
    mark = cache + '.ok'
    version = subprocess.check_output(
        [sr.py, '-I', '-c', 'import sys; print(sys.version)'], text=True)
    want = {'python': os.path.realpath(sr.py), 'version': version, 'n': n}
    try:
        with open(mark) as f:
            if json.load(f) == want and count_objects(cache) >= n:
                return cache, False
    except (OSError, ValueError):
        pass
    shutil.rmtree(cache, ignore_errors=True)
    if os.path.exists(mark):
        os.unlink(mark)
    gen = os.path.join(work, 'gen')
    for i in range(n):
        d = os.path.join(gen, 'd%03d' % (i // 1000))
        if i % 1000 == 0:
            os.makedirs(d)
        with open(os.path.join(d, 'm%d.py' % i), 'w') as f:
            f.write('VALUE = %d\n\n\ndef value():\n    return VALUE\n' % i)
    # A copy of the environment of its own (cp -R): one link per file,
    # so only the objects any run uses are kept, no "t" object.
    env = os.path.join(work, 'gen-env')
    copy_tree(stage, env, False)
    prefix = os.path.join(work, 'p-gen')
    t, _, st = sr.run(prefix, [gen, env], ('-j', '2'), store=cache)
    print('store of %d generated sources and the environment made in '
          '%.1f s (%d compiled, %d objects): %s'
          % (n, t, st['compiled'], count_objects(cache), cache))
    for x in gen, env, prefix:
        shutil.rmtree(x, ignore_errors=True)
    with open(mark, 'w') as f:
        json.dump(want, f)
    return cache, True


def mib(kib):
    return kib / 1024


def store_case(a):
    """The shared store against compileall on a second copy of the real
    environment (see the module's docstring)."""
    if a.store_tree:
        py, dirs = a.store_python or find_python(a.python), a.store_tree
    else:
        py = a.store_python or largest_environment()[0]
        if not py:
            print('store: no pyenv interpreter found, skipped')
            return
        dirs = sys_path_dirs(py)
    work = tempfile.mkdtemp(prefix='pycprefix-bench-store-')
    try:
        store_case_in(a, py, dirs, work)
    finally:
        if a.store_keep:
            print('store: scratch directory kept: %s' % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def store_case_in(a, py, dirs, work):
    link = a.store_copy == 'link'
    sr = StoreRun(py, work, a.no_store, tool_has_store())
    no_store = sr.no_store
    stage, files, broken = store_stage(work, py, dirs)
    print()
    print('store: %s, started %s' % (py, utc_now()))
    print('tree: %s (%d sources, %d distinct; %d that do not compile left '
          'out), copies by %s, %d cores, best of %d%s'
          % (' '.join(dirs), len(files), len({digest(f) for f in files}),
             len(broken), 'cp -al' if link else 'cp -R', os.cpu_count(),
             a.repeat, '; WITHOUT the store (--no-store or a build without '
             'it): the figures are not the store\'s' if no_store else ''))
    copy_a, copy_b = os.path.join(work, 'a'), os.path.join(work, 'b')
    copy_tree(stage, copy_a, link)
    copy_tree(stage, copy_b, link)
    rows = []

    # 1. The store filled from A; then B, side by side, cold each time.
    prefix = os.path.join(work, 'p')
    t, _, st = sr.run(prefix, [copy_a])
    store = os.path.join(prefix, '.pycprefix-store')
    n_small = count_objects(store)
    print('filled from the first copy in %.1f s: %d pycs (%d from the '
          'store), %d objects' % (t, st['compiled'], st.get('from_store', 0),
                                 n_small))
    peer_p = {m: os.path.join(work, 'q-' + m)
              for m in ('timestamp', 'checked-hash')}
    times = {}
    stats = {}
    rss_small, all_small = 0, False
    for _ in range(a.repeat):
        for mode in ('timestamp', 'checked-hash'):
            shutil.rmtree(mirror_of(prefix, copy_b), ignore_errors=True)
            t, rss, st = sr.run(prefix, [copy_b],
                                ('--invalidation-mode', mode))
            if not os.path.isdir(mirror_of(prefix, copy_b)):
                raise RuntimeError('no mirror of %s in %s' % (copy_b, prefix))
            times.setdefault(('ours', mode), []).append(t)
            stats[mode] = st
            if mode == 'timestamp':
                rss_small = max(rss_small, rss)
                all_small = st.get('from_store', 0) == st['compiled']
            shutil.rmtree(peer_p[mode], ignore_errors=True)
            t = checked([py, '-m', 'compileall', '-q', '-j0',
                         '--invalidation-mode', mode, copy_b],
                        store_env(peer_p[mode]), work)[0]
            times.setdefault(('peer', mode), []).append(t)
    for mode, target in (('timestamp', 6), ('checked-hash', 15)):
        print('second copy, %s, each run: pycprefix %s; compileall -j0 %s'
              % (mode, ', '.join('%.3f' % x for x in times[('ours', mode)]),
                 ', '.join('%.3f' % x for x in times[('peer', mode)])))
        o, p = min(times[('ours', mode)]), min(times[('peer', mode)])
        st = stats[mode]
        rows.append(('second copy, %s (%d from the store, %d linked)'
                     % (mode, st.get('from_store', 0), st.get('linked', 0)),
                     '%.3f s' % o, '%.3f s' % p, 'compileall -j0',
                     '%.2fx faster' % (p / o), '>= %dx' % target,
                     p / o >= target))
    shutil.rmtree(mirror_of(prefix, copy_b))

    # 2. A copy with 1% of its sources edited.
    copy_c = os.path.join(work, 'c')
    copy_tree(stage, copy_c, link)
    edited = edit_some(copy_c)
    t, _, st = sr.run(prefix, [copy_c])
    workers = st['compiled'] - st.get('from_store', 0)
    rows.append(('1%% edited: %d of %d sources' % (len(edited), st['sources']),
                 '%d by workers' % workers,
                 '%d from the store' % st.get('from_store', 0),
                 'of %d written, in %.3f s' % (st['compiled'], t),
                 '%d compiled' % workers, '== %d edited' % len(edited),
                 workers == len(edited) and st['compiled'] == st['sources']
                 and st['failed'] == 0))
    shutil.rmtree(copy_c)

    # 3. Five copies, checked-hash, one prefix: its whole du against
    # compileall's pycs of one copy.
    five = [copy_a, copy_b]
    for i in range(3, 6):
        five.append(os.path.join(work, 'd%d' % i))
        copy_tree(stage, five[-1], link)
    p5 = os.path.join(work, 'p5')
    linked = 0
    for tree in five:
        linked += sr.run(p5, [tree], ('--invalidation-mode',
                                       'checked-hash'))[2].get('linked', 0)
    # Only the copy's mirror of compileall's prefix: the interpreter
    # running compileall writes there the pycs of what it imports.
    o, p = du_k(p5), du_k(mirror_of(peer_p['checked-hash'], copy_b))
    rows.append(('five copies, checked-hash, du -sk (%d linked)' % linked,
                 '%d KiB' % o, '%d KiB' % p, 'compileall, one copy',
                 '%.2fx' % (o / p), '<= 1.25x', o / p <= 1.25))
    for tree in five[2:]:
        shutil.rmtree(tree)
    if not a.store_keep:
        shutil.rmtree(p5)

    # 4. The driver's peak RSS on a run all from the store: the store
    # of the environment (the runs of 1.) and one of a.store_big more.
    rows.append(('driver peak RSS, second copy, store of %d objects%s'
                 % (n_small, '' if all_small else ' (workers included)'),
                 '%.1f MiB' % mib(rss_small), '', '', '',
                 '<= 64 MiB', mib(rss_small) <= 64))
    if a.store_big and not no_store:
        for attempt in range(2):
            cache, made = big_store(sr, work, stage, a.store_big)
            # A copy of it for this run (links: the objects are never
            # written in place), which keeps what the run adds (the "t"
            # objects of linked sources) out of the kept store.
            big, p_big = (os.path.join(work, x) for x in ('store-big',
                                                          'p-big'))
            for x in big, p_big:
                shutil.rmtree(x, ignore_errors=True)
            if subprocess.run(['cp', '-al', cache, big],
                              stderr=subprocess.DEVNULL).returncode:
                shutil.rmtree(big, ignore_errors=True)
                subprocess.run(['cp', '-a', cache, big], check=True)
            n_big = count_objects(big)
            _, rss, st = sr.run(p_big, [copy_b], store=big)
            if st.get('from_store', 0) == st['compiled'] or made:
                break
            # A kept store of another compiler (or an older environment).
            os.unlink(cache + '.ok')
        ratio = rss / rss_small
        rows.append(('driver peak RSS, second copy, store of %d objects '
                     '(%d of %d from it)' % (n_big, st.get('from_store', 0),
                                             st['compiled']),
                     '%.1f MiB' % mib(rss), '%.1f MiB' % mib(rss_small),
                     'store of %d' % n_small, '%.2fx' % ratio,
                     '<= 64 MiB, <= 1.25x', mib(rss) <= 64 and ratio <= 1.25))
    print()
    print('| case | pycprefix | peer | peer is | ratio | target | result |')
    print('|---|---|---|---|---|---|---|')
    for name, o, p, peer, ratio, target, ok in rows:
        print('| %s | %s | %s | %s | %s | %s | %s |'
              % (name, o, p, peer, ratio, target, 'pass' if ok else 'FAIL'))
    print('store: finished %s' % utc_now())


def digest(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).digest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--python', help='interpreter (default: newest 3.12)')
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--big', type=int, default=100000,
                    help='files in the memory test tree (0: skip)')
    ap.add_argument('--no-environment', action='store_true',
                    help='skip the real-environment case')
    ap.add_argument('--only', choices=['store'],
                    help='run only this case')
    ap.add_argument('--skip-store', action='store_true',
                    help='skip the store case')
    ap.add_argument('--store-copy', choices=['copy', 'link'], default='copy',
                    help='the store case\'s copies: cp -R (new inodes and '
                    'mtimes, default) or cp -al (hardlinked files, as uv '
                    'installs them)')
    ap.add_argument('--store-big', type=int, default=100000, metavar='N',
                    help='sources in the large store of the RSS figure, kept '
                    'in build/bench-store-N (0: skip)')
    ap.add_argument('--store-python', metavar='PY',
                    help='the store case\'s interpreter (default: the one '
                    'with the largest sys.path)')
    ap.add_argument('--store-tree', action='append', metavar='DIR',
                    help='the store case copies DIR (repeatable) instead of '
                    'the interpreter\'s sys.path (a small tree, to try the '
                    'harness)')
    ap.add_argument('--store-keep', action='store_true',
                    help='keep the store case\'s scratch directory')
    ap.add_argument('--no-store', action='store_true',
                    help='the store case runs pycprefix with --no-store (to '
                    'try the harness; its figures are then not the store\'s)')
    a = ap.parse_args()
    if a.only == 'store':
        return store_case(a)
    py = find_python(a.python)
    ncores = os.cpu_count()
    work = tempfile.mkdtemp(prefix='pycprefix-bench-')
    try:
        stdlib = subprocess.check_output(
            [py, '-I', '-c', 'import sysconfig; print(sysconfig.get_paths()["stdlib"])'],
            text=True).strip()
        tree = os.path.join(work, 'stdlib')
        shutil.copytree(stdlib, tree, symlinks=True, ignore=shutil.ignore_patterns(
            '__pycache__', 'site-packages', '*.pyc'))
        # The stdlib ships deliberately broken test data; neither tool can
        # make those fresh, so they would turn every warm run into a
        # compile.  Leave them out of the tree for both.
        broken = subprocess.run([py, '-I', '-c', BROKEN], input='\0'.join(
            sources(tree)) + '\0', capture_output=True, text=True).stdout.split('\0')[:-1]
        for f in broken:
            os.unlink(f)
        files = sources(tree)
        p_ours, p_theirs = os.path.join(work, 'p1'), os.path.join(work, 'p2')
        e_ours, e_theirs = env_for(p_ours), env_for(p_theirs)
        print('interpreter: %s' % py)
        print('tree: %s (%d sources; %d that do not compile left out), '
              '%d cores, best of %d'
              % (stdlib, len(files), len(broken), ncores, a.repeat))
        # Warm the probe cache and the page cache once.
        subprocess.run(ours(py, os.path.join(work, 'warmup'), tree),
                       env=e_ours, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

        def cold(cmd, env, prefix):
            shutil.rmtree(prefix, ignore_errors=True)
            return timed(cmd, env, work)[0]
        c_ours = best(a.repeat, lambda: cold(ours(py, p_ours, tree), e_ours, p_ours))
        c_theirs = best(a.repeat, lambda: cold(theirs(py, tree), e_theirs, p_theirs))
        cpu = float(subprocess.run([py, '-I', '-c', FLOOR], input='\0'.join(files) + '\0',
                                   capture_output=True, text=True).stdout)
        floor = cpu / ncores
        w_ours = best(a.repeat, lambda: timed(ours(py, p_ours, tree), e_ours, work)[0])
        w_theirs = best(a.repeat, lambda: timed(theirs(py, tree, jobs=False), e_theirs, work)[0])
        rss_std = timed(ours(py, p_ours, tree), e_ours, work)[1]

        touched = files[::100]

        bump = [0]

        def touch_then(cmd, env):
            # A new whole second each time: timestamp pycs record
            # int(mtime), so a touch within the same second is no edit.
            bump[0] += 10
            t = int(time.time()) + bump[0]
            for f in touched:
                os.utime(f, (t, t))
            return timed(cmd, env, work)[0]
        i_ours = best(a.repeat, lambda: touch_then(ours(py, p_ours, tree), e_ours))
        i_theirs = best(a.repeat, lambda: touch_then(theirs(py, tree), e_theirs))

        rows = [
            ('cold', c_ours, c_theirs, 'compileall -j0'),
            ('cold vs floor', c_ours, floor, 'compile CPU / %d cores' % ncores),
            ('warm (all fresh)', w_ours, w_theirs, 'serial compileall'),
            ('incremental (%d touched)' % len(touched), i_ours, i_theirs,
             'compileall -j0'),
        ]
        print()
        print('| case | pycprefix | peer | peer is | ratio |')
        print('|---|---|---|---|---|')
        for name, o, t, peer in rows:
            ratio = t / o if name != 'cold vs floor' else o / t
            word = 'x faster' if name != 'cold vs floor' else 'x the floor'
            print('| %s | %.3f s | %.3f s | %s | %.2f%s |'
                  % (name, o, t, peer, ratio, word))
        # status on 10,000 files against serial compileall's no-op run.
        mid = os.path.join(work, 'mid')
        for i in range(10000):
            d = os.path.join(mid, 'd%02d' % (i // 500))
            if i % 500 == 0:
                os.makedirs(d)
            with open(os.path.join(d, 'm%d.py' % i), 'w') as f:
                f.write('x = %d\n' % i)
        p_mid, p_mid2 = os.path.join(work, 'pm1'), os.path.join(work, 'pm2')
        subprocess.run(ours(py, p_mid, mid), env=e_ours,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        e_mid2 = env_for(p_mid2)
        subprocess.run(theirs(py, mid), env=e_mid2, stdout=subprocess.DEVNULL)
        status = [TOOL, 'status', '-q', '--python', py, '--prefix', p_mid, mid]
        s_ours = best(a.repeat, lambda: timed(status, e_ours, work)[0])
        s_theirs = best(a.repeat, lambda: timed(theirs(py, mid, jobs=False),
                                                e_mid2, work)[0])
        rows.append(('status, 10,000 files', s_ours, s_theirs,
                     'serial compileall no-op'))
        print()
        print('| case | pycprefix | peer | peer is | ratio |')
        print('|---|---|---|---|---|')
        for name, o, t, peer in rows[-1:]:
            print('| %s | %.3f s | %.3f s | %s | %.2fx faster |'
                  % (name, o, t, peer, t / o))
        print()
        print('driver peak RSS, warm run on the stdlib: %.1f MiB' % (rss_std / 1024))
        if a.big:
            big = os.path.join(work, 'big')
            for i in range(a.big):
                d = os.path.join(big, 'd%03d' % (i // 1000))
                if i % 1000 == 0:
                    os.makedirs(d)
                with open(os.path.join(d, 'm%d.py' % i), 'w') as f:
                    f.write('x = %d\n' % i)
            t, rss = timed(ours(py, os.path.join(work, 'p3'), big, ('--dry-run',)),
                           e_ours, work)
            print('driver peak RSS, dry run over %d files: %.1f MiB (%.2f s)'
                  % (a.big, rss / 1024, t))
        if not a.no_environment:
            environment_case(work, a.repeat)
        if not a.skip_store:
            store_case(a)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
