"""Shared helpers of the torture suite (not a test module).

Everything random derives from one seed: PYCPREFIX_TORTURE_SEED, or a
fixed default.  The `rng` fixture prints the seed, so a failing test's
captured output says how to replay it.

The oracle for "is this pyc valid" is always the interpreter itself:
VALIDATE loads each pyc found with its own importlib (SourceFileLoader
whose source_to_code and set_data raise, so it cannot quietly recompile
or rewrite) and reports anything it would not use as it is.
"""
import hashlib
import json
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time

import pytest

from conftest import BINARY, INTERPRETERS

SEED = int(os.environ.get('PYCPREFIX_TORTURE_SEED', '20261125'))

OLDEST, NEWEST = INTERPRETERS[0], INTERPRETERS[-1]

# Our temporary files, and importlib's _write_atomic ones.
OUR_TEMP = re.compile(r'^(\..+\.pycprefix-[0-9a-f]{8}|\.pycprefix-[0-9a-f]{12})$')
CPYTHON_TEMP = re.compile(r'\.pyc\.[0-9]+$')


@pytest.fixture
def rng(request):
    print('PYCPREFIX_TORTURE_SEED=%d (test %s)' % (SEED, request.node.name))
    return random.Random('%d/%s' % (SEED, request.node.name))


def crashed(returncode):
    """Killed by a signal, or a shell-style 128+N status."""
    return returncode < 0 or returncode >= 128


# ---- workloads ----

_STDLIB_FILES = {}
PACKAGES = ('email', 'json', 'logging', 'xml', 'http', 'urllib',
            'concurrent', 'importlib', 'unittest', 'html', 'collections',
            'asyncio')


def stdlib_sources(it):
    """Real sources of an interpreter's stdlib: some packages (without
    their tests), then the top-level modules; cached per interpreter."""
    if it.exe not in _STDLIB_FILES:
        d = it.run('import sysconfig; print(sysconfig.get_paths()'
                   '["stdlib"])').decode().strip()
        files = []
        for p in PACKAGES:
            for dp, dn, fn in os.walk(os.path.join(d, p)):
                dn[:] = sorted(x for x in dn if not x.startswith('test')
                               and x != '__pycache__')
                files += [os.path.join(dp, f) for f in sorted(fn)
                          if f.endswith('.py')]
        files += sorted(os.path.join(d, f) for f in os.listdir(d)
                        if f.endswith('.py'))
        _STDLIB_FILES[it.exe] = (d, files)
    return _STDLIB_FILES[it.exe]


def stdlib_tree(dest, it=OLDEST, limit=300):
    """Copy up to `limit` real stdlib sources of `it` below dest (the
    oldest interpreter's by default: every newer one compiles them).
    Returns the list of copied source paths."""
    base, files = stdlib_sources(it)
    out = []
    for f in files[:limit]:
        target = os.path.join(str(dest), os.path.relpath(f, base))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(f, target)
        out.append(target)
    return out


# ---- the tool ----

def tool_cmd(*args):
    return [BINARY, *map(str, args)]


def start_tool(args, env, cwd=None, **kw):
    return subprocess.Popen(tool_cmd(*args), env=env, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            **kw)


def json_out(res):
    """stdout of a --json run: must be valid UTF-8 JSON."""
    return json.loads(res.stdout.decode('utf-8'))


def children(pid):
    """Direct children of pid, from /proc."""
    out = []
    try:
        tasks = os.listdir('/proc/%d/task' % pid)
    except OSError:
        return out
    for t in tasks:
        try:
            with open('/proc/%d/task/%s/children' % (pid, t)) as f:
                out += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return f.read().split(b'\0')
    except OSError:
        return []


def wait_gone(pids, timeout=20):
    """Wait until the given (orphaned) processes have exited."""
    end = time.monotonic() + timeout
    for pid in pids:
        while time.monotonic() < end:
            try:
                with open('/proc/%d/stat' % pid) as f:
                    if f.read().split(') ')[-1][:1] in 'ZX':
                        break
            except OSError:
                break
            time.sleep(0.01)


def kill_at(proc, delay):
    """SIGKILL proc after delay seconds, unless it ended before; waits
    for it and for its orphaned workers.  Returns (killed, stdout,
    stderr)."""
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        kids = children(proc.pid)
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
        wait_gone(kids)
        if proc.returncode != -signal.SIGKILL:
            # It ended on its own between the wait and the kill.
            assert proc.returncode == 0, (proc.returncode, err)
            return False, out, err
        return True, out, err
    out, err = proc.communicate(timeout=60)
    return False, out, err


# ---- what is on disk ----

def walk_files(root):
    """Every non-directory below root (symlinks included), as paths."""
    out = []
    for d, dirs, files in os.walk(str(root)):
        out += [os.path.join(d, f) for f in files]
        out += [os.path.join(d, x) for x in dirs
                if os.path.islink(os.path.join(d, x))]
    return out


STORE = '.pycprefix-store'
OBJECT = re.compile(r'/[0-9a-f]{2}/[0-9a-f]{62}\.[0-2]\.(c|u|t[0-9a-f]{16})$')


def store_objects(prefix):
    """The objects of the prefix's store, as paths."""
    return [p for p in walk_files(os.path.join(str(prefix), STORE))
            if OBJECT.search(p)]


def object_sound(path):
    """Is the store object at path whole: its content's SHA-256 is its
    user.pycprefix.sha256 attribute?"""
    with open(path, 'rb') as f:
        data = f.read()
    try:
        want = os.getxattr(path, 'user.pycprefix.sha256',
                           follow_symlinks=False)
    except OSError:
        return False
    return hashlib.sha256(data).digest() == want


def outside_store(prefix, paths):
    """paths, but for those in the prefix's store."""
    store = os.path.join(str(prefix), STORE)
    return [p for p in paths if p != store and not p.startswith(store + '/')]


def temp_files(root):
    """Temporary files of ours or of importlib below root."""
    return sorted(p for p in walk_files(root)
                  if OUR_TEMP.match(os.path.basename(p)) or
                  CPYTHON_TEMP.search(os.path.basename(p)))


def snapshot(root):
    """{path: bytes or ('link', target)} of every file below root."""
    out = {}
    for p in walk_files(root):
        if os.path.islink(p):
            out[p] = ('link', os.readlink(p))
        else:
            with open(p, 'rb') as f:
                out[p] = f.read()
    return out


VALIDATE = r'''
import importlib.machinery as m, importlib.util as u, json, marshal, os, sys
mode, root = sys.argv[1], sys.argv[2]
sys.dont_write_bytecode = True
sys.pycache_prefix = root if mode == 'prefix' else None
tag = sys.implementation.cache_tag
opt = sys.flags.optimize
suffix = '.%s%s.pyc' % (tag, '.opt-%d' % opt if opt else '')
res = {'ok': [], 'bad': [], 'stale': [], 'orphan': [], 'misplaced': []}

class Recompile(Exception):
    pass

class Strict(m.SourceFileLoader):
    def source_to_code(self, *a, **k):
        raise Recompile('importlib would not use it: it would recompile')
    def set_data(self, *a, **k):
        raise RuntimeError('importlib would rewrite it')

def state(p):
    st = os.lstat(p)
    with open(p, 'rb') as f:
        return (st.st_ino, st.st_mtime_ns, st.st_size, f.read())

for d, dirs, files in os.walk(root):
    for f in files:
        p = os.path.join(d, f)
        if not f.endswith(suffix) or os.path.islink(p):
            continue
        if mode == 'tree' and os.path.basename(d) != '__pycache__':
            continue
        # source_from_cache() cannot invert "a.b.py": map it back by hand.
        if mode == 'prefix':
            sdir = d[len(root.rstrip('/')):] or '/'
        else:
            sdir = os.path.dirname(d)
        src = os.path.join(sdir, f[:-len(suffix)] + '.py')
        if u.cache_from_source(src) != p:
            res['misplaced'].append([p, u.cache_from_source(src)])
            continue
        if not os.path.isfile(src):
            res['orphan'].append(p)
            continue
        before = state(p)
        try:
            code = Strict('m', src).get_code('m')
            if code.co_filename != src:
                raise RuntimeError('co_filename is %r' % code.co_filename)
            with open(src, 'rb') as fs:
                head = fs.read(64)
            if head.startswith(b'VERSION = '):
                ns = {}
                exec(code, ns)
                want = int(head.split(b'\n')[0].split(b'=')[1])
                if ns['VERSION'] != want:
                    raise RuntimeError('code of version %d, source is %d'
                                       % (ns['VERSION'], want))
            if state(p) != before:
                raise RuntimeError('the pyc changed while being loaded')
            res['ok'].append(p)
        except Recompile as e:
            # Outdated but whole (its source changed), or broken?
            data = before[3]
            try:
                code = marshal.loads(data[16:])
                whole = (data[:4] == u.MAGIC_NUMBER and
                         code.co_filename == src)
            except Exception:
                whole = False
            res['stale' if whole else 'bad'].append([p, src, str(e)])
        except BaseException as e:
            res['bad'].append([p, src, '%s: %s' % (type(e).__name__, e)])
print(json.dumps(res))
'''


def validate(root, interps, mode='prefix', levels=(0,), run=None):
    """Load every pyc of these interpreters below root (a prefix, or a
    source tree with mode='tree') with the interpreter's importlib.
    Returns {'ok', 'bad', 'orphan', 'misplaced'} lists, merged."""
    merged = {'ok': [], 'bad': [], 'stale': [], 'orphan': [],
              'misplaced': []}
    for it in interps:
        for level in levels:
            flags = ['-' + 'O' * level] if level else []
            cmd = [it.exe, '-I', *flags, '-c', VALIDATE, mode, str(root)]
            if run:
                cmd = run(cmd)
            res = subprocess.run(cmd, capture_output=True, timeout=300)
            assert res.returncode == 0, res.stderr.decode(errors='replace')
            for k, v in json.loads(res.stdout).items():
                merged[k] += v
    return merged


def assert_all_valid(root, interps, mode='prefix', levels=(0,), run=None,
                     context='', stale_ok=()):
    """validate(), asserting that every pyc found is whole and at a final
    path, and up to date unless its source is in stale_ok (sources that
    changed since: their pycs may be outdated, never broken)."""
    v = validate(root, interps, mode, levels, run)
    assert not v['bad'], ('pycs Python cannot use', context, v['bad'][:10])
    assert not v['misplaced'], ('pycs not at a final path', context,
                                v['misplaced'][:10])
    stale_ok = set(map(str, stale_ok))
    wrong = [s for s in v['stale'] if s[1] not in stale_ok]
    assert not wrong, ('outdated pycs of unchanged sources', context,
                       wrong[:10])
    return v


def backdate(paths, seconds=3600):
    t = time.time() - seconds
    for p in paths:
        os.utime(p, (t, t), follow_symlinks=False)


# ---- running as an unprivileged user ----

NOBODY = 65534


def as_nobody(cmd):
    """cmd run as nobody when we are root (root ignores permissions)."""
    if os.geteuid() != 0:
        return list(cmd)
    return ['setpriv', '--reuid=%d' % NOBODY, '--regid=%d' % NOBODY,
            '--clear-groups', '--', *cmd]


def unprivileged_uid():
    return NOBODY if os.geteuid() == 0 else os.geteuid()


def reachable_by_nobody(path):
    res = subprocess.run(as_nobody(['test', '-x', path]))
    return res.returncode == 0


def nobody_python():
    """An interpreter `nobody` can run (pyenv's live under /root, 0700)."""
    for exe in ['/usr/bin/python3.11', '/usr/bin/python3'] + [
            i.exe for i in INTERPRETERS]:
        if os.path.exists(exe) and reachable_by_nobody(exe):
            exe = os.path.realpath(exe)
            for it in INTERPRETERS:
                if os.path.realpath(it.exe) == exe:
                    return it
            from conftest import Interp, PROBE
            out = subprocess.run([exe, '-E', '-S', '-c', PROBE],
                                 capture_output=True, timeout=60)
            version, impl, tag, magic = json.loads(out.stdout)
            if impl == 'cpython' and tuple(version[:2]) >= (3, 8):
                return Interp(exe, version, tag, magic)
    return None


class Sandbox:
    """A world-traversable directory under /tmp for unprivileged runs,
    with a copy of the binary nobody can execute and a cache home."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='pycprefix-torture-', dir='/tmp')
        os.chmod(self.dir, 0o755)
        self.binary = BINARY
        if not reachable_by_nobody(BINARY):
            self.binary = os.path.join(self.dir, 'pycprefix')
            shutil.copy2(BINARY, self.binary)
            os.chmod(self.binary, 0o755)
        self.xdg = self.mkdir('xdg', owner=True)

    def mkdir(self, name, mode=0o755, owner=False):
        p = os.path.join(self.dir, name)
        os.makedirs(p, exist_ok=True)
        if owner:
            os.chown(p, unprivileged_uid(), unprivileged_uid())
        os.chmod(p, mode)
        return p

    def env(self, base):
        return dict(base, XDG_CACHE_HOME=self.xdg, HOME=self.dir)

    def run(self, args, env, check=None):
        res = subprocess.run(as_nobody([self.binary, *map(str, args)]),
                             capture_output=True, env=self.env(env),
                             timeout=120)
        if check is not None:
            assert res.returncode == check, (res.returncode, res.stderr)
        return res

    def cleanup(self):
        for d, dirs, files in os.walk(self.dir):
            for x in dirs:
                try:
                    os.chmod(os.path.join(d, x), 0o755,
                             follow_symlinks=False)
                except OSError:
                    pass
        shutil.rmtree(self.dir, ignore_errors=True)
