"""compile under faults: workers that die or hang, Ctrl-C, symlinks in
the prefix, and runs that must not start an interpreter at all."""
import json
import os
import signal
import subprocess
import time

from conftest import BINARY, INTERPRETERS, prefix_files, run_tool

# Run by the worker before its own code: compile() of a path containing
# "hang" sleeps, of one containing "die" kills the worker.
SABOTAGE = ('import builtins, time, os\n'
            '_c = builtins.compile\n'
            'def compile(src, path, *a, **k):\n'
            '    if "hang" in path: time.sleep(60)\n'
            '    if "die" in path: os._exit(3)\n'
            '    return _c(src, path, *a, **k)\n'
            'builtins.compile = compile\n')


def sabotaged_python(tmp_path, log=None):
    """An interpreter whose workers misbehave on purpose; logs each start."""
    it = INTERPRETERS[-1]
    w = tmp_path / 'python-sabotaged'
    logline = 'echo "$1" >> %s\n' % log if log else ''
    w.write_text('#!/bin/sh\n%sif [ "$1" = "-s" ]; then\n'
                 '  exec %s -s -S -B -c \'%s\'"$5"\nfi\nexec %s "$@"\n'
                 % (logline, it.exe, SABOTAGE, it.exe))
    w.chmod(0o755)
    return str(w), it


def tree_with(tmp_path, names):
    tree = tmp_path / 'tree'
    tree.mkdir()
    for n in names:
        # each its own bytes: twins of one run are compiled once, and
        # the sabotaged worker must see every file
        (tree / n).write_text('x = %r\n' % n)
    return tree


def pycs(prefix):
    """What compile wrote, but for the prefix's CACHEDIR.TAG and store."""
    return sorted(os.path.basename(f) for f in prefix_files(prefix))


def test_dead_and_hung_workers_are_reported_and_replaced(clean_env,
                                                         tmp_path):
    exe, it = sabotaged_python(tmp_path)
    tree = tree_with(tmp_path, ['a.py', 'die.py', 'hang.py', 'b.py',
                                'c.py', 'd.py'])
    prefix = str(tmp_path / 'p')
    t0 = time.monotonic()
    res = run_tool(['compile', '--python', exe, '--prefix', prefix, '-j', '2',
                    '--timeout', '1', str(tree)], clean_env, check=1)
    assert time.monotonic() - t0 < 30
    err = res.stderr.decode()
    assert 'die.py: worker exited (status 3)' in err
    assert 'hang.py: timed out after 1 s' in err
    assert pycs(prefix) == ['a.%s.pyc' % it.tag, 'b.%s.pyc' % it.tag,
                            'c.%s.pyc' % it.tag, 'd.%s.pyc' % it.tag]


def test_ctrl_c_stops_cleanly(clean_env, tmp_path):
    exe, _ = sabotaged_python(tmp_path)
    tree = tree_with(tmp_path, ['hang%d.py' % i for i in range(4)] +
                     ['m%d.py' % i for i in range(50)])
    prefix = str(tmp_path / 'p')
    proc = subprocess.Popen([BINARY, 'compile', '--python', exe, '--prefix',
                             prefix, '-j', '2', str(tree)], env=clean_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert b'interrupted' in err
    assert not [f for f in pycs(prefix) if not f.endswith('.pyc')]


def test_never_writes_through_a_symlink_in_the_prefix(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    tree = tree_with(tmp_path, ['a.py'])
    prefix = tmp_path / 'p'
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    mirrored = prefix / str(tree).lstrip('/')
    mirrored.parent.mkdir(parents=True)
    mirrored.symlink_to(elsewhere)  # the tree's own dir, planted as a link
    res = run_tool(['compile', '--python', it.exe, '--prefix', str(prefix),
                    str(tree)], clean_env, check=1)
    assert b"cannot write '" in res.stderr
    assert list(elsewhere.iterdir()) == []


def test_fresh_run_starts_no_interpreter(clean_env, tmp_path):
    log = tmp_path / 'log'
    exe, _ = sabotaged_python(tmp_path, log=log)
    tree = tree_with(tmp_path, ['a.py', 'b.py'])
    args = ['compile', '--json', '--python', exe, '--prefix',
            str(tmp_path / 'p'), str(tree)]
    assert json.loads(run_tool(args, clean_env, check=0).stdout)['compiled'] == 2
    starts = log.read_text()
    out = json.loads(run_tool(args, clean_env, check=0).stdout)
    assert out['compiled'] == 0 and out['fresh'] == 2
    assert log.read_text() == starts, 'an interpreter was started'


def test_missing_root_and_bad_options(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    res = run_tool(['compile', '--python', it.exe, '--prefix',
                    str(tmp_path / 'p'), str(tmp_path / 'nope')], clean_env,
                   check=1)
    assert b"cannot read '" in res.stderr and b'No such file' in res.stderr
    afile = tmp_path / 'afile'
    afile.write_text('')
    tree = tree_with(tmp_path, ['a.py'])
    res = run_tool(['compile', '--python', it.exe, '--prefix', str(afile),
                    str(tree)], clean_env, check=2)
    assert b"cannot use the prefix '" in res.stderr
    assert b'Not a directory' in res.stderr
    res = run_tool(['compile', '--hardlink-dupes', '.'], clean_env, check=2)
    assert b'two -O levels' in res.stderr
    res = run_tool(['compile', '-x', '(', '.'], clean_env, check=2)
    assert b'not a valid regular expression' in res.stderr


def test_hardlink_dupes_and_excludes(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    tree = tree_with(tmp_path, ['plain.py', 'skip_me.py', 'other.py'])
    (tree / 'doc.py').write_text('"""doc"""\n')
    prefix = str(tmp_path / 'p')
    run_tool(['compile', '--python', it.exe, '--prefix', prefix, '-O', '1',
              '-O', '2', '--hardlink-dupes', '--exclude', 'skip_*',
              '-x', 'oth', str(tree)], clean_env, check=0)
    d = os.path.join(prefix, str(tree).lstrip('/'))
    names = sorted(os.listdir(d))
    assert not [n for n in names if 'skip_me' in n or 'other' in n]
    p1 = os.stat(os.path.join(d, 'plain.%s.opt-1.pyc' % it.tag))
    p2 = os.stat(os.path.join(d, 'plain.%s.opt-2.pyc' % it.tag))
    assert p1.st_ino == p2.st_ino  # same code: one file
    d1 = os.stat(os.path.join(d, 'doc.%s.opt-1.pyc' % it.tag))
    d2 = os.stat(os.path.join(d, 'doc.%s.opt-2.pyc' % it.tag))
    assert d1.st_ino != d2.st_ino  # -OO drops the docstring


def test_sys_path(clean_env, tmp_path):
    it = INTERPRETERS[0]
    extra = tmp_path / 'extra'
    extra.mkdir()
    (extra / 'mine.py').write_text('m = 1\n')
    env = dict(clean_env, PYTHONPATH=str(extra))
    res = run_tool(['compile', '--sys-path', '--dry-run', '--json',
                    '--python', it.exe, '--prefix', str(tmp_path / 'p')],
                   env, check=0)
    out = json.loads(res.stdout)
    assert out['would_compile'] > 100  # the stdlib is on sys.path
    res = run_tool(['compile', '--sys-path', '--dry-run', '--python', it.exe,
                    '--prefix', str(tmp_path / 'p')], env, check=0)
    assert ('%s/mine.py -> ' % extra).encode() in res.stdout


def run_in_tty(cmd, env):
    """Run cmd with a terminal on stdin/stdout/stderr (util-linux script)."""
    import shlex
    res = subprocess.run(['script', '-qec', ' '.join(map(shlex.quote, cmd)),
                          '/dev/null'], env=env, capture_output=True,
                         timeout=120)
    return res.returncode, res.stdout


def test_progress_only_on_a_terminal_and_no_color(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    tree = tree_with(tmp_path, ['m%d.py' % i for i in range(30)])
    args = [BINARY, 'compile', '--python', it.exe, '-f', '--prefix',
            str(tmp_path / 'p'), str(tree)]
    res = run_tool(args[1:], clean_env, check=0)
    assert b'\033' not in res.stderr and b'ETA' not in res.stderr
    assert b'30 compiled' in res.stderr
    rc, out = run_in_tty(args, clean_env)
    assert rc == 0 and b'30/30 files' in out and b'\033[1m' in out
    rc, out = run_in_tty(args, dict(clean_env, NO_COLOR='1'))
    assert b'30/30 files' in out and b'\033[1m' not in out
    rc, out = run_in_tty(args + ['-q'], clean_env)
    assert rc == 0 and b'files' not in out and b'compiled' not in out


def test_same_interpreter_named_twice_is_used_once(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    tree = tree_with(tmp_path, ['a.py', 'b.py'])
    spec = '%d.%d' % it.version[:2]
    res = run_tool(['compile', '--json', '--python', it.exe, '--python',
                    spec, '--prefix', str(tmp_path / 'p'), str(tree)],
                   clean_env, check=0)
    assert json.loads(res.stdout)['compiled'] == 2


def worker_starts(log):
    """How many workers the logging wrapper started (and clear the log)."""
    n = log.read_text().split().count('-s') if log.exists() else 0
    log.write_text('')
    return n


def test_known_failures_are_reported_without_compiling(clean_env, tmp_path):
    """A source that failed to compile and has not changed since is
    reported again, same line, column and message, without a worker;
    any change to the file (even one that keeps its size and mtime),
    another level or interpreter, or -f compiles it again."""
    log = tmp_path / 'starts'
    exe, it = sabotaged_python(tmp_path, log)
    tree = tree_with(tmp_path, ['a.py', 'b.py'])
    bad = tree / 'bad.py'
    bad.write_bytes(b'x = 1\ndef (:\n')
    prefix = str(tmp_path / 'p')
    args = ['compile', '--python', exe, '--prefix', prefix, str(tree)]

    def run(*extra, check=1):
        res = run_tool(args[:1] + list(extra) + args[1:], clean_env,
                       check=check)
        lines = res.stderr.decode().splitlines()
        return [x for x in lines if x.startswith(str(tree))], res

    first, _ = run()
    assert len(first) == 1 and first[0].startswith('%s:2:' % bad), first
    assert worker_starts(log) >= 1
    memo = tmp_path / 'xdg-cache' / 'pycprefix-failures'
    [f] = os.listdir(memo)
    assert os.stat(memo).st_mode & 0o777 == 0o700
    assert os.stat(memo / f).st_mode & 0o777 == 0o600
    # Unchanged: the same error, no worker; --json says the same.
    again, res = run()
    assert again == first
    assert res.stderr.decode().splitlines()[-1].startswith(
        '0 compiled, 2 fresh, 1 failed')
    assert worker_starts(log) == 0
    res = run_tool(['compile', '--json'] + args[1:], clean_env, check=1)
    [fail] = json.loads(res.stdout)['failures']
    assert (fail['source'], fail['line']) == (str(bad), 2)
    assert worker_starts(log) == 0
    # -f, another level, a new mtime: compiled (and failing) again.
    assert run('-f')[0] == first and worker_starts(log) >= 1
    assert run('-O', '1')[0] == [first[0]] and worker_starts(log) >= 1
    st = os.stat(bad)
    os.utime(bad, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert run()[0] == first and worker_starts(log) >= 1
    assert run()[0] == first and worker_starts(log) == 0
    # Fixed with the same size and mtime: only its ctime tells.
    st = os.stat(bad)
    bad.write_bytes(b'x = 1\ny = 22\n')
    os.utime(bad, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(bad).st_size == st.st_size
    assert run(check=0)[0] == [] and worker_starts(log) >= 1
    assert os.listdir(memo) == []   # nothing failed: no memo left
    # Another interpreter keeps its own memo.
    bad.write_bytes(b'def (:\n')
    old = INTERPRETERS[0]
    for python in (exe, old.exe):
        res = run_tool(['compile', '-q', '--python', python, '--prefix',
                        prefix, str(tree)], clean_env, check=1)
    assert len(os.listdir(memo)) == (2 if old.exe != it.exe else 1)
    worker_starts(log)
    run()
    assert worker_starts(log) == 0
    # A memo that does not parse is ignored and rewritten.
    for name in os.listdir(memo):
        (memo / name).write_bytes(b'pycprefix-failures 1 3\nnot\n1 2 x\n')
    assert run()[0] and worker_starts(log) >= 1
    assert run()[0] and worker_starts(log) == 0


def test_known_failures_of_other_trees_are_kept(clean_env, tmp_path):
    """Compiling another tree keeps the first tree's errors remembered;
    an error whose source is gone is forgotten."""
    log = tmp_path / 'starts'
    exe, it = sabotaged_python(tmp_path, log)
    trees = []
    for name in ('one', 'two'):
        t = tmp_path / name
        t.mkdir()
        (t / 'ok.py').write_text('x = 1\n')
        (t / 'bad.py').write_text('def (:\n')
        trees.append(t)

    def compile_tree(t):
        res = run_tool(['compile', '--python', exe, '--prefix',
                        str(tmp_path / 'p'), str(t)], clean_env, check=1)
        assert ('%s:1:' % (t / 'bad.py')) in res.stderr.decode()
        return worker_starts(log)

    assert compile_tree(trees[0]) >= 1
    assert compile_tree(trees[1]) >= 1
    assert compile_tree(trees[0]) == 0
    assert compile_tree(trees[1]) == 0
    memo = tmp_path / 'xdg-cache' / 'pycprefix-failures'
    [f] = os.listdir(memo)
    assert str(trees[1] / 'bad.py').encode() in (memo / f).read_bytes()
    (trees[1] / 'bad.py').unlink()
    assert compile_tree(trees[0]) == 0
    assert str(trees[1] / 'bad.py').encode() not in (memo / f).read_bytes()


def test_worker_that_stops_reading_times_out(clean_env, tmp_path):
    """A worker that says hello and then never reads: sources larger than
    a pipe holds must not block the driver; each times out."""
    it = INTERPRETERS[-1]
    w = tmp_path / 'python-deaf'
    deaf = ("import sys, time; sys.stdout.buffer.write(b'H\\1\\0\\0\\0'); "
            "sys.stdout.flush(); time.sleep(60)")
    w.write_text('#!/bin/sh\nif [ "$1" = "-s" ]; then\n'
                 '  exec %s -s -S -B -c "%s"\nfi\nexec %s "$@"\n'
                 % (it.exe, deaf, it.exe))
    w.chmod(0o755)
    tree = tmp_path / 'tree'
    tree.mkdir()
    for n in ('big1.py', 'big2.py'):
        (tree / n).write_text('x = 1\n' * 100000)   # 600 KB
    t0 = time.monotonic()
    res = run_tool(['compile', '--python', str(w), '--prefix',
                    str(tmp_path / 'p'), '-j', '2', '--timeout', '1',
                    str(tree)], clean_env, check=1)
    assert time.monotonic() - t0 < 30
    err = res.stderr.decode().splitlines()
    assert sorted(err[:-1]) == ['%s: timed out after 1 s' % (tree / n)
                                for n in ('big1.py', 'big2.py')], err
    assert err[-1].startswith('0 compiled, 0 fresh, 2 failed'), err
