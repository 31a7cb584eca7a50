"""What people read: stdout and stderr in order when they share a file,
data on stdout and summaries on stderr in every command, odd file names
quoted as git quotes them, states as words, the progress estimate, and
env's refusal of a shell it does not know."""
import json
import os
import pty
import re
import select
import subprocess

import pytest

from conftest import BINARY, INTERPRETERS, run_tool

IT = INTERPRETERS[-1]


def merged(args, env, cwd=None, log=None):
    """Run with stdout and stderr on one pipe, as `cmd 2>&1 | less`, or
    on one file, as `cmd > log 2>&1`."""
    if log is None:
        res = subprocess.run([BINARY, *args], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, env=env, cwd=cwd,
                             timeout=300)
        return res.returncode, res.stdout
    with open(log, 'wb') as f:
        rc = subprocess.run([BINARY, *args], stdout=f, stderr=subprocess.STDOUT,
                            env=env, cwd=cwd, timeout=300).returncode
    with open(log, 'rb') as f:
        return rc, f.read()


def unquote(s):
    """A path as git's quote_c_style writes it, back to bytes."""
    if not s.startswith(b'"'):
        return s
    assert s.endswith(b'"') and len(s) >= 2, s
    out, i, body = bytearray(), 0, s[1:-1]
    letters = {ord('a'): 7, ord('b'): 8, ord('t'): 9, ord('n'): 10,
               ord('v'): 11, ord('f'): 12, ord('r'): 13, ord('"'): 34,
               ord('\\'): 92}
    while i < len(body):
        c = body[i]
        if c != ord('\\'):
            assert c not in b'"\n', s
            out.append(c)
            i += 1
        elif body[i + 1] in letters:
            out.append(letters[body[i + 1]])
            i += 2
        else:
            out.append(int(body[i + 1:i + 4], 8))
            i += 4
    return bytes(out)


def big_tree(tmp_path, n=150):
    tree = tmp_path / 'tree'
    tree.mkdir()
    for i in range(n):
        (tree / ('module_with_a_rather_long_name_%03d.py' % i)).write_text(
            'x = %d\n' % i)
    return tree


# ---- order and streams ----

@pytest.mark.parametrize('to', ['pipe', 'file'])
def test_compile_listing_then_summary_on_one_pipe(clean_env, tmp_path, to):
    tree = big_tree(tmp_path)
    rc, out = merged(['compile', '-n', '--python', IT.exe, '--prefix',
                      str(tmp_path / 'p'), str(tree)], clean_env,
                     log=str(tmp_path / 'log') if to == 'file' else None)
    assert rc == 0
    lines = out.decode().splitlines()
    assert len(out) > 3 * 4096   # past a full stdout buffer or three
    assert all(re.fullmatch(r'\S+\.py -> \S+\.pyc', ln) for ln in lines[:-1]), \
        [ln for ln in lines[:-1] if ' -> ' not in ln]
    assert len(lines) == 151 and 'would be compiled' in lines[-1]


def test_status_lists_on_stdout_and_sums_up_on_stderr(clean_env, tmp_path):
    tree = big_tree(tmp_path)
    args = ['status', '-v', '--python', IT.exe, '--prefix',
            str(tmp_path / 'p'), str(tree)]
    res = run_tool(args, clean_env, check=0)
    assert b'150 missing' in res.stderr and b'missing' not in res.stdout.split(
        b'\n')[-1]
    assert len(res.stdout.splitlines()) == 150
    assert b'fresh,' not in res.stdout
    rc, out = merged(args, clean_env)
    lines = out.decode().splitlines()
    assert all(re.fullmatch(r'missing +\S+\.py \(no pyc\)', ln)
               for ln in lines[:150]), lines[:3]
    assert '0 fresh, 0 stale, 150 missing, 0 orphaned' in lines[150]


def test_prune_listing_then_summary_on_one_pipe(clean_env, tmp_path):
    tree = big_tree(tmp_path, 60)
    prefix = str(tmp_path / 'p')
    run_tool(['compile', '--python', IT.exe, '--prefix', prefix, str(tree)],
             clean_env, check=0)
    for f in tree.iterdir():
        f.unlink()
    rc, out = merged(['prune', '-n', '--prefix', prefix], clean_env)
    lines = out.decode().splitlines()
    assert rc == 0 and lines[-1].startswith('would have removed 60 files')
    assert all(ln.startswith('would remove ') for ln in lines[:-1])


def test_no_summary_after_a_fatal_error(clean_env, tmp_path):
    tree = big_tree(tmp_path, 2)
    not_a_dir = tmp_path / 'file'
    not_a_dir.write_text('')
    res = run_tool(['compile', '--python', IT.exe, '--prefix',
                    str(not_a_dir), str(tree)], clean_env, check=2)
    assert b'compiled' not in res.stderr and res.stdout == b''


def test_status_with_a_file_as_prefix(clean_env, tmp_path):
    tree = big_tree(tmp_path, 2)
    not_a_dir = tmp_path / 'file'
    not_a_dir.write_text('')
    res = run_tool(['status', '--python', IT.exe, '--prefix', str(not_a_dir),
                    str(tree)], clean_env, check=2)
    err = res.stderr.decode().splitlines()
    assert len(err) == 1 and str(not_a_dir) in err[0], err
    assert 'not a directory' in err[0] and res.stdout == b''


def test_status_suggests_the_command_that_mends(clean_env, tmp_path):
    tree = tmp_path / 'tree'
    tree.mkdir()
    for n in 'ab':
        (tree / (n + '.py')).write_text('x = 1\n')
    prefix = str(tmp_path / 'p')
    base = ['--python', IT.exe, '--prefix', prefix]
    run_tool(['compile'] + base + [str(tree)], clean_env, check=0)
    (tree / 'b.py').unlink()
    err = run_tool(['status'] + base + [str(tree)], clean_env,
                   check=0).stderr.decode()
    assert '1 orphaned' in err
    assert "'pycprefix prune'" in err and 'pycprefix compile' not in err
    (tree / 'c.py').write_text('c = 1\n')
    err = run_tool(['status'] + base + [str(tree)], clean_env,
                   check=0).stderr.decode()
    assert "'pycprefix compile'" in err and "'pycprefix prune'" in err
    run_tool(['prune'] + base, clean_env, check=0)
    err = run_tool(['status'] + base + [str(tree)], clean_env,
                   check=0).stderr.decode()
    assert "'pycprefix compile'" in err and 'prune' not in err
    run_tool(['compile'] + base + [str(tree)], clean_env, check=0)
    err = run_tool(['status'] + base + [str(tree)], clean_env,
                   check=0).stderr.decode()
    assert '2 fresh' in err and 'pycprefix' not in err


def test_doctor_report_on_stdout_verdict_on_stderr(clean_env, tmp_path):
    res = run_tool(['doctor', '--python', IT.exe, '--prefix',
                    str(tmp_path / 'p')], clean_env)
    assert res.returncode in (0, 1)
    last = res.stderr.decode().splitlines()[-1]
    assert last == 'All good.' or re.fullmatch(r'\d+ to fix, \d+ to look at\.',
                                               last), res.stderr
    assert b'All good.' not in res.stdout and b'to look at' not in res.stdout


# ---- odd names ----

ODD = [b'a\nb.py', b'caf\xe9.py', b'q"x.py', b'tab\tx.py', b'caf\xc3\xa9.py',
       b'plain.py']


def odd_tree(tmp_path):
    tree = os.path.join(os.fsencode(str(tmp_path)), b'tree')
    os.mkdir(tree)
    for n in ODD:
        with open(os.path.join(tree, n), 'wb') as f:
            f.write(b'x = 1\n')
    return tree


def test_odd_names_quoted_in_compile_listing(clean_env, tmp_path):
    tree = odd_tree(tmp_path)
    res = run_tool(['compile', '-n', '--python', IT.exe, '--prefix',
                    str(tmp_path / 'p'), os.fsdecode(tree)], clean_env,
                   check=0)
    lines = res.stdout.splitlines()
    assert len(lines) == len(ODD), lines
    srcs = set()
    for ln in lines:
        src, pyc = ln.split(b' -> ')
        srcs.add(os.path.basename(unquote(src)))
        assert unquote(pyc).endswith(b'.%s.pyc' % IT.tag.encode())
    assert srcs == set(ODD)
    # Quoted exactly when git would: valid UTF-8 and plain names are not.
    quoted = {os.path.basename(unquote(ln.split(b' -> ')[0]))
              for ln in lines if ln.startswith(b'"')}
    assert quoted == {b'a\nb.py', b'caf\xe9.py', b'q"x.py', b'tab\tx.py'}
    assert b'"%s/caf\\351.py"' % tree in res.stdout


def test_odd_names_quoted_in_compile_errors(clean_env, tmp_path):
    tree = os.path.join(os.fsencode(str(tmp_path)), b'tree')
    os.mkdir(tree)
    with open(os.path.join(tree, b'bad\nname.py'), 'wb') as f:
        f.write(b'def (:\n')
    res = run_tool(['compile', '--python', IT.exe, '--prefix',
                    str(tmp_path / 'p'), os.fsdecode(tree)], clean_env,
                   check=1)
    first = res.stderr.splitlines()[0]
    assert first.startswith(b'"%s/bad\\nname.py":1:' % tree), res.stderr
    assert b'SyntaxError' in first


def test_odd_names_quoted_in_status_and_prune(clean_env, tmp_path):
    tree = odd_tree(tmp_path)
    prefix = str(tmp_path / 'p')
    base = ['--python', IT.exe, '--prefix', prefix]
    res = run_tool(['status'] + base + [os.fsdecode(tree)], clean_env,
                   check=0)
    lines = res.stdout.splitlines()
    assert len(lines) == len(ODD)
    assert b'"%s/a\\nb.py"' % tree in res.stdout
    # JSON keeps the exact bytes.
    res = run_tool(['status', '--json'] + base + [os.fsdecode(tree)],
                   clean_env, check=0)
    got = {os.path.basename(os.fsencode(f['source']))
           for f in json.loads(res.stdout)['files']}
    assert got == set(ODD)
    run_tool(['compile'] + base + [os.fsdecode(tree)], clean_env, check=0)
    for n in ODD:
        os.unlink(os.path.join(tree, n))
    res = run_tool(['prune', '-n'] + base, clean_env, check=0)
    lines = [ln for ln in res.stdout.splitlines() if b'(orphan' in ln]
    assert len(lines) == len(ODD), res.stdout
    assert any(ln.startswith(b'would remove "') and b'a\\nb.' in ln
               for ln in lines)


def test_odd_names_quoted_by_path_unless_z(clean_env, tmp_path):
    res = run_tool(['path', '--in-tree', '--python', IT.exe, 'a\nb.py'],
                   clean_env, cwd=str(tmp_path), check=0)
    assert res.stdout == b'"__pycache__/a\\nb.%s.pyc"\n' % IT.tag.encode()
    res = run_tool(['path', '-z', '--in-tree', '--python', IT.exe, 'a\nb.py'],
                   clean_env, cwd=str(tmp_path), check=0)
    assert res.stdout == b'__pycache__/a\nb.%s.pyc\0' % IT.tag.encode()


def test_states_read_as_words(clean_env, tmp_path):
    tree = tmp_path / 'tree'
    tree.mkdir()
    (tree / 'u.py').write_text('u = 1\n')
    prefix = str(tmp_path / 'p')
    base = ['--python', IT.exe, '--prefix', prefix]
    run_tool(['compile', '--invalidation-mode', 'unchecked-hash'] + base +
             [str(tree)], clean_env, check=0)
    (tree / 'u.py').write_text('u = 2\n')
    res = run_tool(['status'] + base + [str(tree)], clean_env, check=0)
    assert b'unchecked_changed' not in res.stdout + res.stderr
    assert res.stdout.startswith(b'changed (unchecked) ')


# ---- progress ----

def test_no_eta_before_any_throughput_is_seen(clean_env, tmp_path):
    """The first frame of the bar comes before anything is known of the
    rate (workers that take a while to start): it shows no ETA."""
    slow = tmp_path / 'python-slow-start'
    slow.write_text('#!/bin/sh\nif [ "$1" = "-s" ]; then sleep 0.5; fi\n'
                    'exec %s "$@"\n' % IT.exe)
    slow.chmod(0o755)
    tree = big_tree(tmp_path, 40)
    master, slave = pty.openpty()
    proc = subprocess.Popen([BINARY, 'compile', '-j', '1', '--python',
                             str(slow), '--prefix', str(tmp_path / 'p'),
                             str(tree)], env=clean_env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    shown = b''
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        assert ready, 'no output for a minute'
        try:
            chunk = os.read(master, 4096)
        except OSError:   # EIO: the other side is closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    assert proc.wait(timeout=60) == 0
    frames = [f for f in shown.split(b'\r\x1b[K') if f.startswith(b'[')]
    assert frames, shown
    assert re.match(rb'\[#*\s*\] \d+/40 files', frames[0]), frames[0]
    assert b'ETA' not in frames[0], frames[0]


# ---- env ----

def test_env_refuses_a_shell_it_does_not_know(clean_env):
    env = dict(clean_env, SHELL='/usr/bin/nu')
    res = run_tool(['env', '--prefix', '/tmp/p'], env, check=2)
    assert res.stdout == b''
    err = res.stderr.decode()
    assert "'nu'" in err and '--shell' in err and 'fish' in err
    # Told which shell, or asked for JSON, it answers.
    res = run_tool(['env', '--shell', 'sh', '--prefix', '/tmp/p'], env,
                   check=0)
    assert res.stdout == b"export PYTHONPYCACHEPREFIX='/tmp/p'\n"
    res = run_tool(['env', '--json', '--prefix', '/tmp/p'], env, check=0)
    assert json.loads(res.stdout)['PYTHONPYCACHEPREFIX'] == '/tmp/p'


@pytest.mark.parametrize('shell', ['/bin/mksh', '/usr/bin/yash', '/bin/ash',
                                   '/bin/bash', None])
def test_env_posix_shells_get_sh_syntax(clean_env, shell):
    env = dict(clean_env)
    env.pop('SHELL', None)
    if shell:
        env['SHELL'] = shell
    res = run_tool(['env', '--prefix', '/tmp/p'], env, check=0)
    assert res.stdout == b"export PYTHONPYCACHEPREFIX='/tmp/p'\n"
