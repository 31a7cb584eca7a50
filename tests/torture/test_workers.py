"""Workers SIGKILLed from outside at random moments of a big compile
(tests/cli/test_compile_faults.py covers workers that die or hang by
themselves on chosen files).  The run still ends with 0 or 1, every
source whose worker was killed is reported on stderr and nothing else is
missing, and a rerun finishes the job."""
import os
import re
import signal
import threading
import time

from conftest import run_tool
from torture_lib import (NEWEST, OLDEST, assert_all_valid, children,
                         cmdline, crashed, rng, start_tool, stdlib_tree,
                         temp_files)

assert rng


def workers_of(pid):
    """Children of pycprefix that run the compile worker."""
    return [c for c in children(pid)
            if any(b'marshal' in a for a in cmdline(c))]


def signal_one(rng, workers, sig, log):
    """Send sig to one of the workers; log it if it was still there."""
    victim = rng.choice(workers)
    try:
        os.kill(victim, sig)
        log.append(victim)
    except ProcessLookupError:
        pass


def killer(proc, rng, stop, log, max_kills):
    while not stop.is_set() and len(log) < max_kills:
        time.sleep(rng.uniform(0.03, 0.12))
        ws = workers_of(proc.pid)
        if ws and proc.poll() is None:
            signal_one(rng, ws, signal.SIGKILL, log)


FAILED = re.compile(r'^(.*\.py): (worker killed by signal 9|worker exited '
                    r'\(status \d+\))(?: \[[^]]*\])?$')


def test_workers_killed_at_random(clean_env, tmp_path, rng):
    tree = tmp_path / 'tree'
    sources = stdlib_tree(tree, limit=300)
    total_kills = 0
    for run_no, it in enumerate([NEWEST, OLDEST, NEWEST]):
        prefix = str(tmp_path / ('prefix%d' % run_no))
        args = ['compile', '-j', '2', '--python', it.exe, '--prefix', prefix,
                str(tree)]
        proc = start_tool(args, clean_env)
        stop, log = threading.Event(), []
        t = threading.Thread(target=killer,
                             args=(proc, rng, stop, log, 6))
        t.start()
        try:
            out, err = proc.communicate(timeout=120)
        finally:
            stop.set()
            t.join()
        total_kills += len(log)
        print('run %d: %d workers killed' % (run_no, len(log)))
        assert log, 'the run ended before the killer found a worker'
        text = err.decode('utf-8', 'replace')
        assert not crashed(proc.returncode), text
        assert proc.returncode in (0, 1), text
        failed = set()
        for line in text.splitlines():
            m = FAILED.match(line)
            if m:
                failed.add(m.group(1))
            else:
                assert re.match(r'^\d+ compiled, ', line), line
        assert (proc.returncode == 1) == bool(failed), text
        assert re.search(r'\b%d failed\b' % len(failed), text), text
        print('  %d sources reported failed' % len(failed))
        assert len(failed) <= len(log), (failed, log)
        assert failed <= set(sources)
        # Exactly the reported sources lack a pyc; the others are valid.
        v = assert_all_valid(prefix, [it])
        done = {s for s in sources
                if os.path.exists(os.path.join(prefix, s.lstrip('/'))[:-3] +
                                  '.%s.pyc' % it.tag)}
        assert set(sources) - done == failed
        assert len(v['ok']) == len(done)
        assert temp_files(prefix) == []
        # The rerun compiles exactly what failed.
        res = run_tool(args, clean_env, check=0)
        assert re.search(r'^%d compiled, %d fresh, 0 failed' % (
            len(failed), len(sources) - len(failed)),
            res.stderr.decode(), re.M), res.stderr
        run_tool(['status', '--check', '-q', '--python', it.exe, '--prefix',
                  prefix, str(tree)], clean_env, check=0)
    print('%d workers killed in all' % total_kills)


def started(pid):
    """Has the worker written its hello (5 bytes), i.e. finished starting?"""
    try:
        with open('/proc/%d/io' % pid) as f:
            io = dict(line.split(': ') for line in f.read().splitlines())
    except OSError:
        return False
    return int(io['wchar']) >= 5


def test_worker_stopped_from_outside_times_out(clean_env, tmp_path, rng):
    """A worker frozen with SIGSTOP (once it has started up: a worker
    that never starts is given a minute), even while the driver is
    sending it a source larger than a pipe holds, is a hung worker:
    --timeout ends it, its file is reported, the rest is compiled."""
    it = NEWEST
    tree = tmp_path / 'tree'
    sources = stdlib_tree(tree, limit=300)
    prefix = str(tmp_path / 'prefix')
    args = ['compile', '-j', '2', '--timeout', '1', '--python', it.exe,
            '--prefix', prefix, str(tree)]
    proc = start_tool(args, clean_env)
    stopped = []
    while proc.poll() is None and not stopped:
        ws = [w for w in workers_of(proc.pid) if started(w)]
        if ws:
            time.sleep(rng.uniform(0, 0.05))
            signal_one(rng, ws, signal.SIGSTOP, stopped)
        time.sleep(0.005)
    out, err = proc.communicate(timeout=120)
    text = err.decode()
    assert stopped, 'the run ended before a worker could be stopped'
    assert not crashed(proc.returncode), text
    assert proc.returncode == 1, text
    lines = text.splitlines()
    assert len(lines) == 2, text
    m = re.match(r'^(.*\.py): timed out after 1 s$', lines[0])
    assert m and m.group(1) in sources, text
    assert lines[1].startswith('%d compiled, 0 fresh, 1 failed' % (
        len(sources) - 1)), text
    assert not os.path.exists('/proc/%d/cmdline' % stopped[0]) or \
        open('/proc/%d/stat' % stopped[0]).read().rsplit(') ', 1)[1][0] \
        in 'ZX', 'the stopped worker was left behind'
    assert len(assert_all_valid(prefix, [it])['ok']) == len(sources) - 1
    res = run_tool(args, clean_env, check=0)
    assert res.stderr.decode().startswith('1 compiled, %d fresh' % (
        len(sources) - 1))
