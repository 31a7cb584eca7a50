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

Each timing is the best of --repeat runs (cold runs start from an empty
prefix each time).  Ratios, not absolute times, are the result: they are
what stays comparable across machines.  Never run from the test suite.
"""
import argparse
import glob
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
    pycs = sum(len(f) for _, _, f in os.walk(p_ours))
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--python', help='interpreter (default: newest 3.12)')
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--big', type=int, default=100000,
                    help='files in the memory test tree (0: skip)')
    ap.add_argument('--no-environment', action='store_true',
                    help='skip the real-environment case')
    a = ap.parse_args()
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
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
