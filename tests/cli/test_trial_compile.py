"""Findings of the second new-user trial (issue 11): FIFOs at pyc paths,
the failure memo in a dry run, interpreters sharing a cache tag, --python
by full version or tag, option ranges, streams, the --sys-path query, a
missing HOME, an untrusted probe cache, and --exclude patterns."""
import json
import os
import pty
import select
import shutil
import subprocess

import pytest

from conftest import BINARY, INTERPRETERS, run_tool

IT = INTERPRETERS[-1]


def two_files(tmp_path):
    proj = tmp_path / 'proj'
    proj.mkdir()
    (proj / 'a.py').write_text('A = 1\n')
    (proj / 'b.py').write_text('B = 2\n')
    return proj


def run_limited(args, env, cwd=None, timeout=30):
    """The tool under a timeout: a hang is a failure, not a stuck run."""
    try:
        return subprocess.run([BINARY, *args], capture_output=True, env=env,
                              cwd=cwd, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail('%s hung' % ' '.join(args))


# ---- 1. a FIFO at a pyc path ----

def fifo_in_prefix(tmp_path, env):
    proj = two_files(tmp_path)
    prefix = tmp_path / 'pfx'
    run_tool(['--prefix', str(prefix), '--python', IT.exe, 'compile',
              str(proj)], env, check=0)
    pyc = prefix / str(proj / ('b.%s.pyc' % IT.tag)).lstrip('/')
    pyc.unlink()
    os.mkfifo(pyc)
    return proj, prefix, pyc


def test_fifo_pyc_status_prefix(tmp_path, clean_env):
    proj, prefix, pyc = fifo_in_prefix(tmp_path, clean_env)
    res = run_limited(['--prefix', str(prefix), '--python', IT.exe,
                       'status', '--json', str(proj)], clean_env)
    doc = json.loads(res.stdout)
    b, = [f for f in doc['files'] if f['source'].endswith('b.py')]
    assert b['state'] == 'missing' and b['reason'] == 'not a regular file'
    assert doc['counts']['fresh'] == 1


def test_fifo_pyc_status_in_tree(tmp_path, clean_env):
    proj = two_files(tmp_path)
    run_tool(['--in-tree', '--python', IT.exe, 'compile', str(proj)],
             clean_env, check=0)
    pyc = proj / '__pycache__' / ('b.%s.pyc' % IT.tag)
    pyc.unlink()
    os.mkfifo(pyc)
    res = run_limited(['--in-tree', '--python', IT.exe, 'status', '-v',
                       str(proj)], clean_env)
    assert b'not a regular file' in res.stdout, res
    assert b'1 fresh' in res.stderr and b'1 missing' in res.stderr


def test_fifo_pyc_compile_replaces_it(tmp_path, clean_env):
    proj, prefix, pyc = fifo_in_prefix(tmp_path, clean_env)
    res = run_limited(['--prefix', str(prefix), '--python', IT.exe,
                       'compile', str(proj)], clean_env)
    assert res.returncode == 0, res.stderr
    assert b'1 compiled, 1 fresh' in res.stderr
    assert pyc.is_file() and not pyc.is_symlink()
    res = run_tool(['--prefix', str(prefix), '--python', IT.exe, 'status',
                    str(proj)], clean_env, check=0)
    assert b'2 fresh' in res.stderr


def test_fifo_pyc_show(tmp_path, clean_env):
    proj, prefix, pyc = fifo_in_prefix(tmp_path, clean_env)
    res = run_limited(['--prefix', str(prefix), '--python', IT.exe, 'show',
                       str(pyc)], clean_env)
    assert b'not a regular file' in res.stdout + res.stderr, res
    assert res.returncode != 0


def test_sigterm_ends_a_compile_blocked_on_its_output(tmp_path, clean_env):
    """A compile whose stdout nobody reads blocks in write(); SIGTERM
    must end it (with SA_RESTART the write resumed and it hung)."""
    import signal
    import time
    tree = tmp_path / 'tree'
    tree.mkdir()
    for i in range(3000):
        (tree / ('module_with_a_long_enough_name_%04d.py' % i)).write_text('')
    with open(tmp_path / 'err', 'wb') as err:
        proc = subprocess.Popen([BINARY, '--prefix', str(tmp_path / 'p'),
                                 '--python', IT.exe, 'compile', '-n',
                                 str(tree)], env=clean_env,
                                stdout=subprocess.PIPE, stderr=err)
        # Wait until it sleeps in the kernel with the pipe full.
        for _ in range(600):
            with open('/proc/%d/stat' % proc.pid) as f:
                if f.read().rsplit(')', 1)[1].split()[0] == 'S':
                    break
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail('compile ignored SIGTERM while blocked')
        finally:
            proc.stdout.close()
    assert rc == 143
    assert b'interrupted by SIGTERM' in (tmp_path / 'err').read_bytes()


# ---- 2. the failure memo in a dry run ----

def test_dry_run_reports_remembered_failures(tmp_path, clean_env):
    pkg = tmp_path / 'pkg'
    pkg.mkdir()
    (pkg / 'ok.py').write_text('X = 1\n')
    (pkg / 'broken.py').write_text('def (:\n')
    base = ['--prefix', str(tmp_path / 'pfx'), '--python', IT.exe, 'compile']
    first = run_tool(base + [str(pkg)], clean_env, check=1)
    assert b'1 compiled' in first.stderr and b'1 failed' in first.stderr
    dry = run_tool(base + ['-n', str(pkg)], clean_env)
    real_err = first.stderr.split(b'\n')[0]
    assert b'0 would be compiled' in dry.stderr, dry.stderr
    assert b'1 failed' in dry.stderr
    assert real_err in dry.stderr          # the remembered error, again
    assert b'broken.py' not in dry.stdout  # not listed as to compile
    drj = run_tool(base + ['-n', '--json', str(pkg)], clean_env)
    doc = json.loads(drj.stdout)
    assert doc['would_compile'] == 0 and doc['failed'] == 1, doc
    assert doc['failures'][0]['source'].endswith('broken.py')
    real = run_tool(base + [str(pkg)], clean_env)
    assert b'0 compiled' in real.stderr and b'1 failed' in real.stderr
    assert dry.returncode == drj.returncode == real.returncode == 1


# ---- 3. two interpreters of one cache tag ----

def copied_venv(tmp_path, it):
    """A second executable of `it`'s build (a venv with copies): another
    path, the same cache tag."""
    venv = tmp_path / 'venv'
    subprocess.run([it.exe, '-m', 'venv', '--without-pip', '--copies',
                    str(venv)], check=True, capture_output=True, timeout=120)
    exe = venv / 'bin' / 'python3'
    assert os.path.realpath(exe) != os.path.realpath(it.exe)
    return str(exe)


def test_same_tag_compiled_once(tmp_path, clean_env):
    first, second = IT.exe, copied_venv(tmp_path, IT)
    proj = two_files(tmp_path)
    res = run_tool(['--prefix', str(tmp_path / 'pfx'), '--python', first,
                    '--python', second, 'compile', '--json', str(proj)],
                   clean_env, check=0)
    doc = json.loads(res.stdout)
    assert doc['compiled'] == 2 and doc['sources'] == 2, doc
    assert res.stderr.decode().count('shares the cache tag') == 1
    assert ("'%s' shares the cache tag %s with '%s': the same pycs; "
            "using '%s'" % (second, IT.tag, first, first)
            ) in res.stderr.decode(), res.stderr
    # In-tree too, and status counts each pyc once.
    res = run_tool(['--in-tree', '--python', first, '--python', second,
                    'status', str(proj)], clean_env, check=0)
    assert b'0 fresh, 0 stale, 2 missing' in res.stderr, res.stderr


# ---- 4. --python by full version or cache tag ----

def test_python_full_version_and_tag(tmp_path, clean_env):
    full = '.'.join(map(str, IT.version))
    for spec in (full, IT.tag):
        res = run_tool(['--in-tree', '--python', spec, 'path', 'x.py'],
                       clean_env, cwd=str(tmp_path))
        assert res.returncode == 0, (spec, res.stderr)
        assert res.stdout == ('__pycache__/x.%s.pyc\n' % IT.tag).encode(), \
            res.stdout
    res = run_tool(['--prefix', str(tmp_path / 'p'), '--python', full,
                    'compile', '--json', '-n', str(two_files(tmp_path))],
                   clean_env, check=0)
    assert json.loads(res.stdout)['would_compile'] == 2
    res = run_tool(['--in-tree', '--python', '3.11.99', 'compile', '-n',
                    str(tmp_path / 'proj')], clean_env, check=2)
    assert b"no interpreter '3.11.99'" in res.stderr
    res = run_tool(['--in-tree', '--python', 'cpython-399', 'compile', '-n',
                    str(tmp_path / 'proj')], clean_env, check=2)
    assert b"no interpreter 'cpython-399'" in res.stderr


# ---- 5. option ranges ----

@pytest.mark.parametrize('args,msg', [
    (['-j', '1025'], '-j takes 0 (one per core) to 1024'),
    (['-j', 'x'], '-j takes 0 (one per core) to 1024'),
    (['--timeout', '1.5'], '--timeout takes whole seconds 0 (none) to 86400'),
    (['--timeout', '86401'], '--timeout takes whole seconds 0 (none) to 86400'),
    (['--strict'], '--strict needs --sys-path'),
])
def test_option_ranges(tmp_path, clean_env, args, msg):
    res = run_tool(['--prefix', str(tmp_path / 'p'), '--python', IT.exe,
                    'compile'] + args + [str(tmp_path)], clean_env, check=2)
    assert msg.encode() in res.stderr, res.stderr


def test_prune_age_range_is_told(tmp_path, clean_env):
    (tmp_path / 'p').mkdir()
    res = run_tool(['--prefix', str(tmp_path / 'p'), 'prune', '-n',
                    '--older-than', '106751991167301d'], clean_env, check=2)
    assert b'at most 106751991167300d' in res.stderr, res.stderr
    res = run_tool(['--prefix', str(tmp_path / 'p'), 'prune', '-n',
                    '--older-than', '106751991167300d'], clean_env)
    assert res.returncode == 0, res.stderr


# ---- 6. streams ----

def test_compile_verbose_listing_on_stdout(tmp_path, clean_env):
    proj = two_files(tmp_path)
    base = ['--prefix', str(tmp_path / 'p'), '--python', IT.exe, 'compile']
    res = run_tool(base + ['-v', str(proj)], clean_env, check=0)
    assert sorted(res.stdout.decode().splitlines()) == [
        'compiled %s/a.py' % proj, 'compiled %s/b.py' % proj]
    assert b'compiled ' not in res.stderr.split(b'\n')[0] or \
        b'2 compiled' in res.stderr.split(b'\n')[0]
    assert b'2 compiled' in res.stderr
    res = run_tool(base + ['-vv', str(proj)], clean_env, check=0)
    assert sorted(res.stdout.decode().splitlines()) == [
        'fresh %s/a.py' % proj, 'fresh %s/b.py' % proj]
    assert b'fresh ' + str(proj).encode() not in res.stderr


def test_term_dumb_draws_nothing(tmp_path, clean_env):
    tree = tmp_path / 'tree'
    tree.mkdir()
    for i in range(40):
        (tree / ('m%02d.py' % i)).write_text('x = %d\n' % i)
    env = dict(clean_env, TERM='dumb')
    master, slave = pty.openpty()
    proc = subprocess.Popen([BINARY, 'compile', '-j', '1', '--python', IT.exe,
                             '--prefix', str(tmp_path / 'p'), str(tree)],
                            env=env, stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave)
    os.close(slave)
    shown = b''
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        assert ready, 'no output for a minute'
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    assert proc.wait(timeout=60) == 0
    assert b'40 compiled' in shown
    assert b'\033' not in shown and b'\r' not in shown.replace(b'\r\n', b''), \
        shown


# ---- 7. the --sys-path query reads the user's pycs, writes none ----

def forged_sitecustomize(tmp_path, interp):
    """A sitecustomize.py whose __pycache__ pyc (header matching the
    source) holds other code: which one ran shows whether the query
    reads cached bytecode."""
    site = tmp_path / 'site'
    site.mkdir()
    marker = tmp_path / 'marker'
    marker.mkdir()
    (marker / 'from_pyc.py').write_text('Z = 1\n')
    src = site / 'sitecustomize.py'
    src.write_text('import sys\nsys.path.append(%r)\n'
                   % str(tmp_path / 'nothing'))
    other = tmp_path / 'other.py'
    other.write_text('import sys\nsys.path.append(%r)\n' % str(marker))
    cache = site / '__pycache__'
    cache.mkdir()
    pyc = cache / ('sitecustomize.%s.pyc' % interp.tag)
    interp.run('import py_compile, sys; py_compile.compile(sys.argv[1], '
               'sys.argv[2], doraise=True)', str(other), str(pyc))
    st = src.stat()
    data = bytearray(pyc.read_bytes())
    data[8:12] = (int(st.st_mtime) & 0xFFFFFFFF).to_bytes(4, 'little')
    data[12:16] = (st.st_size & 0xFFFFFFFF).to_bytes(4, 'little')
    pyc.write_bytes(bytes(data))
    return site, marker


def test_sys_path_query_reads_cached_bytecode(tmp_path, clean_env):
    site, marker = forged_sitecustomize(tmp_path, IT)
    env = dict(clean_env, PYTHONPATH=str(site))
    res = run_tool(['--prefix', str(tmp_path / 'pfx'), '--python', IT.exe,
                    'compile', '-n', '--sys-path'], env)
    assert res.returncode in (0, 1), res.stderr
    assert str(marker / 'from_pyc.py').encode() in res.stdout


def test_sys_path_query_writes_nothing(tmp_path, clean_env):
    site = tmp_path / 'site'
    site.mkdir()
    (site / 'sitecustomize.py').write_text('import json, email.parser\n')
    pfx = tmp_path / 'userpfx'
    pfx.mkdir()
    env = dict(clean_env, PYTHONPATH=str(site), PYTHONPYCACHEPREFIX=str(pfx))
    env.pop('PYTHONDONTWRITEBYTECODE')
    run_tool(['--prefix', str(tmp_path / 'other'), '--python', IT.exe,
              'compile', '-n', '--sys-path'], env)
    run_tool(['--in-tree', '--python', IT.exe, 'status', '--sys-path'], env)
    assert list(pfx.rglob('*')) == []
    assert not (site / '__pycache__').exists()


# ---- 8. HOME unset ----

def test_env_without_home(clean_env):
    env = {k: v for k, v in clean_env.items()
           if k not in ('HOME', 'XDG_CACHE_HOME')}
    res = run_tool(['env', '--json'], env, check=0)
    import pwd
    home = pwd.getpwuid(os.getuid()).pw_dir
    assert json.loads(res.stdout)['PYTHONPYCACHEPREFIX'] == os.path.join(
        home, '.cache', 'pycprefix'), res.stdout


# ---- 9. an untrusted probe cache ----

def test_world_writable_probe_cache_is_not_trusted(tmp_path, clean_env):
    cache = tmp_path / 'probes'
    env = dict(clean_env, PYCPREFIX_PROBE_CACHE=str(cache))
    proj = two_files(tmp_path)
    run_tool(['--in-tree', '--python', IT.exe, 'path', 'x.py'], env,
             cwd=str(proj), check=0)
    entries = [p for p in cache.iterdir() if p.is_file()]
    assert entries
    for e in entries:
        forged = e.read_bytes().replace(IT.tag.encode(), b'cpython-399')
        assert forged != e.read_bytes()
        e.write_bytes(forged)
    # Trusted (ours, 0700/0600): the forged tag is read, as a cache is.
    res = run_tool(['--in-tree', '--python', IT.exe, 'path', 'x.py'], env,
                   cwd=str(proj), check=0)
    assert b'cpython-399' in res.stdout
    cache.chmod(0o777)
    for e in entries:
        e.chmod(0o666)
    res = run_tool(['--in-tree', '--python', IT.exe, 'path', 'x.py'], env,
                   cwd=str(proj), check=0)
    assert res.stdout.decode().strip().endswith('x.%s.pyc' % IT.tag), res
    for e in entries:  # and nothing written into it
        assert b'cpython-399' in e.read_bytes()
    cache.chmod(0o700)
    for e in entries:
        e.chmod(0o666)
    res = run_tool(['--in-tree', '--python', IT.exe, 'path', 'x.py'], env,
                   cwd=str(proj), check=0)
    assert res.stdout.decode().strip().endswith('x.%s.pyc' % IT.tag), res


# ---- 10. --exclude as gitignore and rsync read it ----

@pytest.mark.parametrize('pattern,gone', [
    ('sub', {'sub/s.py', 'sub/deep/d.py', 'other/sub/o.py'}),
    ('./sub', {'sub/s.py', 'sub/deep/d.py'}),
    ('sub/*', {'sub/s.py', 'sub/deep/d.py'}),
    ('sub/*.py', {'sub/s.py'}),
    ('*.py', {'top.py', 'sub/s.py', 'sub/deep/d.py', 'other/sub/o.py'}),
    ('ABS/sub', {'sub/s.py', 'sub/deep/d.py'}),
    ('ABS/sub/*', {'sub/s.py', 'sub/deep/d.py'}),
    ('s.py', {'sub/s.py'}),
])
def test_exclude_patterns(tmp_path, clean_env, pattern, gone):
    root = tmp_path / 'root'
    files = ['top.py', 'sub/s.py', 'sub/deep/d.py', 'other/sub/o.py']
    for f in files:
        (root / f).parent.mkdir(parents=True, exist_ok=True)
        (root / f).write_text('x = 1\n')
    pattern = pattern.replace('ABS', str(root))
    res = run_tool(['--prefix', str(tmp_path / 'p'), '--python', IT.exe,
                    'compile', '-n', '--exclude', pattern, str(root)],
                   clean_env, check=0)
    listed = {os.path.relpath(ln.split(' -> ')[0], root)
              for ln in res.stdout.decode().splitlines()}
    assert listed == set(files) - gone, (pattern, listed)
    # Relative to the PATH as given, from another directory too.
    res = run_tool(['--prefix', str(tmp_path / 'p'), '--python', IT.exe,
                    'compile', '-n', '--exclude', pattern, 'root'],
                   clean_env, cwd=str(tmp_path), check=0)
    listed = {os.path.relpath(ln.split(' -> ')[0], 'root')
              for ln in res.stdout.decode().splitlines()}
    assert listed == set(files) - gone, (pattern, listed)
