"""compile stopped by a signal: SIGINT, SIGTERM and SIGHUP each end the
run with 128 + the signal's number, its workers ended, no temporary file
left in the prefix, and --json saying the run was interrupted, with the
counts of what was done before."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import BINARY, INTERPRETERS, prefix_files

# Run by each worker before its own code: compiling a path that contains
# "hang" never ends, so the run is still going when the signal comes.
HANG = ('import builtins, time\n'
        '_c = builtins.compile\n'
        'def compile(src, path, *a, **k):\n'
        '    if "hang" in path: time.sleep(120)\n'
        '    return _c(src, path, *a, **k)\n'
        'builtins.compile = compile\n')


def hanging_python(tmp_path, log):
    """An interpreter whose workers hang on "hang" files; every process it
    starts writes its pid and first argument to `log`."""
    it = INTERPRETERS[-1]
    w = tmp_path / 'python-hangs'
    w.write_text('#!/bin/sh\necho "$$ $1" >> %s\nif [ "$1" = "-s" ]; then\n'
                 '  exec %s -s -S -B -c \'%s\'"$5"\nfi\nexec %s "$@"\n'
                 % (log, it.exe, HANG, it.exe))
    w.chmod(0o755)
    return str(w)


def workers(log):
    if not log.exists():
        return []
    return [int(line.split()[0]) for line in log.read_text().splitlines()
            if line.split()[1:] == ['-s']]


def pycs(prefix):
    """What compile wrote, but for the prefix's CACHEDIR.TAG and store."""
    return [os.path.basename(f) for f in prefix_files(prefix)]


def alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().split(') ')[1][0] != 'Z'
    except FileNotFoundError:
        return False


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM,
                                 signal.SIGHUP], ids=lambda s: s.name)
def test_signal_ends_the_run_cleanly(clean_env, tmp_path, sig):
    log = tmp_path / 'log'
    exe = hanging_python(tmp_path, log)
    tree = tmp_path / 'tree'
    tree.mkdir()
    # Largest first: the 40 files compile, then both workers hang.
    for i in range(40):
        (tree / ('m%02d.py' % i)).write_text('x = %d\n' % i)
    for i in range(2):
        (tree / ('hang%d.py' % i)).write_text('x=1')
    prefix = tmp_path / 'p'
    proc = subprocess.Popen([BINARY, 'compile', '--json', '--python', exe,
                             '--prefix', str(prefix), '-j', '2', str(tree)],
                            env=clean_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(pycs(prefix)) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(pycs(prefix)) == 40 and len(workers(log)) == 2
    assert all(alive(pid) for pid in workers(log))
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, (proc.returncode, err)
    assert b'interrupted' in err
    for pid in workers(log):
        assert not alive(pid), 'worker %d outlived the run' % pid
    left = pycs(prefix)
    assert all(f.endswith('.pyc') and '.pycprefix-' not in f
               for f in left), left
    report = json.loads(out)
    assert report['interrupted'] is True
    # The counts are of what was done before the signal.
    assert report['compiled'] == len(left) == 40
    assert report['sources'] == 42


def test_json_of_a_whole_run_says_not_interrupted(clean_env, tmp_path):
    it = INTERPRETERS[-1]
    tree = tmp_path / 'tree'
    tree.mkdir()
    (tree / 'a.py').write_text('a = 1\n')
    res = subprocess.run([BINARY, 'compile', '--json', '--python', it.exe,
                          '--prefix', str(tmp_path / 'p'), str(tree)],
                         env=clean_env, capture_output=True, timeout=120)
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report['interrupted'] is False and report['compiled'] == 1
