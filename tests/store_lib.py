"""Shared helpers of the store's tests (not a test module).

The store's layout is read from src/lib/store.h (its opening comment is
the spec); the oracle for every pyc is the interpreter's own importlib
and compile(), never our reading of them.
"""
import glob
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess

from conftest import run_tool

XATTR = 'user.pycprefix.sha256'
IN_PREFIX = '.pycprefix-store'
IDENTITY_HEAD = 'pycprefix-store-compiler-1\n'
COMPILER_RE = re.compile(r'^(?P<tag>.+)-(?P<hex>[0-9a-f]{16})$')
FAN_RE = re.compile(r'^[0-9a-f]{2}$')
OBJECT_RE = re.compile(r'^(?P<rest>[0-9a-f]{62})\.(?P<level>[012])\.'
                       r'(?P<form>c|u|t(?P<mtime>[0-9a-f]{8})'
                       r'(?P<size>[0-9a-f]{8}))$')
# Our temporary files (atomic.c's two spellings).
OUR_TEMP = re.compile(r'^(\..+\.pycprefix-[0-9a-f]{8}|\.pycprefix-[0-9a-f]{12})$')
FLAGS = {'c': 3, 'u': 1, 't': 0}
MODE_FORM = {'checked-hash': 'c', 'unchecked-hash': 'u', 'timestamp': 't'}
MODE_FLAGS = {'timestamp': 0, 'checked-hash': 3, 'unchecked-hash': 1}
UNSOUND_RE = re.compile(r"^pycprefix: store object '(?P<path>.*)' is unsound "
                        r"\((?P<why>.+)\): discarded$")


def prefix_store(prefix):
    return os.path.join(str(prefix), IN_PREFIX)


def default_store(xdg_cache_home):
    # pycprefix.h: ${XDG_CACHE_HOME:-~/.cache}/pycprefix-store, beside the
    # default prefix (the brief's pycprefix/store would be inside it).
    return os.path.join(str(xdg_cache_home), 'pycprefix-store')


# ---- the trees ----

DUP = b'"""Two files hold exactly these bytes."""\nVALUE = [1, 2, 3]\n'

TREE_A = {
    'top.py': b'''"""The top module."""
import pkg.funcs


def main():
    return pkg.funcs.outer(3)
''',
    'pkg/__init__.py': b'',
    'pkg/funcs.py': b'''"""Functions, nested functions, lambdas, comprehensions."""


def outer(n):
    """Doc of outer."""
    def inner(k):
        return [lambda i=i: i * k for i in range(n)]
    squares = {x: x * x for x in range(n)}
    gen = (y for y in squares)
    return sum(f() for f in inner(3)) + sum(gen) + len({z for z in gen})


def make_closure(a):
    def closure(b):
        def deeper():
            return a + b
        return deeper
    return closure


def fail(msg):
    raise ValueError(msg)


adder = lambda a, b: a + b


async def coro():
    return [await_ for await_ in ()]
''',
    'pkg/classes.py': b'''"""Classes."""


class Base:
    """Doc of Base."""

    def method(self):
        return [c for c in self.name()]

    def name(self):
        return type(self).__name__

    class Inner:
        @staticmethod
        def s():
            return {n for n in range(3)}

        @classmethod
        def c(cls):
            return cls


class Child(Base):
    @property
    def value(self):
        """Doc of value."""
        return super().method()
''',
    'pkg/asserts.py': b'''"""Code that differs by optimization level."""


def check(x):
    """Doc of check."""
    assert x, 'x is false'
    if __debug__:
        return 'debug'
    return 'optimized'
''',
    'pkg/dup_a.py': DUP,
    'pkg/dup_b.py': DUP,
    'pkg/uni.py': '''"""Non-ASCII identifiers."""


def gr\u00f6\u00dfe(l\u00e4nge):
    return [\u00e4 * 2 for \u00e4 in range(l\u00e4nge)]


class \u00dcn\u00efc\u00f6de:
    \u03c0 = 3.14159

    def \u00e9t\u00e9(self):
        return self.\u03c0
'''.encode('utf-8'),
    'pkg/latin.py': b'''# -*- coding: latin-1 -*-
"""A coding declaration."""
s = "\xe9t\xe9"


def caf\xe9():
    return s + "\xe0"
''',
    'sub/__init__.py': b'',
    'sub/mod.py': b'from pkg.funcs import adder\nRESULT = adder(1, 2)\n',
}


def module_name(rel):
    name = rel[:-3].replace('/', '.')
    return name[:-len('.__init__')] if name.endswith('.__init__') else name


MODULES = [module_name(r) for r in TREE_A]


def twins(tree):
    """How many sources under tree repeat the bytes of another: one run
    compiles one of each and writes its twins from the store."""
    seen = []
    for d, _, fs in os.walk(str(tree)):
        for f in fs:
            if f.endswith('.py'):
                with open(os.path.join(d, f), 'rb') as fh:
                    seen.append(fh.read())
    return len(seen) - len(set(seen))


def make_tree(root, files=TREE_A):
    """Write files below root; backdated by an hour, so that a copy made
    later has other mtimes.  Returns the source paths."""
    out = []
    for rel, data in files.items():
        p = os.path.join(str(root), rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, 'wb') as f:
            f.write(data)
        out.append(p)
    backdate(out, 3600)
    return out


def backdate(paths, seconds):
    for p in paths:
        st = os.stat(p)
        t = st.st_mtime_ns - seconds * 10**9
        os.utime(p, ns=(t, t))


def sources(root):
    return sorted(os.path.join(d, f) for d, dirs, fs in os.walk(str(root))
                  for f in fs if f.endswith('.py') and
                  '__pycache__' not in d.split(os.sep))


def copy_plain(src, dst):
    """A plain copy of src's sources (new files, new mtimes)."""
    out = []
    for s in sources(src):
        d = os.path.join(str(dst), os.path.relpath(s, str(src)))
        os.makedirs(os.path.dirname(d), exist_ok=True)
        shutil.copyfile(s, d)
        out.append(d)
    for s, d in zip(sources(src), out):
        assert os.stat(s).st_mtime_ns != os.stat(d).st_mtime_ns
    return out


def copy_linked(src, dst):
    """`cp -al`: the copy's sources are the same inodes; no __pycache__."""
    os.makedirs(os.path.dirname(str(dst)), exist_ok=True)
    subprocess.run(['cp', '-al', str(src), str(dst)], check=True)
    for d, dirs, fs in os.walk(str(dst)):
        if '__pycache__' in dirs:
            shutil.rmtree(os.path.join(d, '__pycache__'))
    out = sources(dst)
    for d in out:
        assert os.stat(d).st_nlink > 1
    return out


def pyc_path(src, tag, level, prefix=None):
    d, name = os.path.split(src)
    name = '%s.%s%s.pyc' % (name[:-3], tag,
                            '.opt-%d' % level if level else '')
    if prefix is None:
        return os.path.join(d, '__pycache__', name)
    return os.path.join(str(prefix), d.lstrip('/'), name)


# ---- the tool ----

def logging_python(tmp_path, it, name='python-logged'):
    """A wrapper of it that logs the first argument of each start (a
    worker's is -s).  Returns (path, log)."""
    log = tmp_path / (name + '.log')
    w = tmp_path / name
    w.write_text('#!/bin/sh\necho "$1" >> %s\nexec %s "$@"\n' % (log, it.exe))
    w.chmod(0o755)
    return str(w), log


def worker_starts(log):
    """How many workers started since the last call (and clear the log)."""
    n = log.read_text().split().count('-s') if log.exists() else 0
    log.write_text('')
    return n


def compile_json(args, env, check=0, cwd=None):
    """Run `pycprefix compile --json ARGS`; returns (stats, stderr)."""
    res = run_tool(['compile', '--json', *map(str, args)], env, cwd=cwd,
                   check=check)
    return json.loads(res.stdout.decode('utf-8')), res.stderr.decode()


def store_stats(st):
    """The store's counts of a --json summary, asserting they are there."""
    missing = [k for k in ('from_store', 'linked', 'store_bad')
               if k not in st]
    assert not missing, ('--json stats lack', missing, st)
    return st['from_store'], st['linked'], st['store_bad']


# ---- the store on disk ----

def sha256(data):
    return hashlib.sha256(data).digest()


_FACTS = {}


def facts(it):
    """(sys.version, MAGIC_NUMBER) of it, asked once."""
    if it.exe not in _FACTS:
        out = it.run('import importlib.util as u, sys; '
                     'print(u.MAGIC_NUMBER.hex()); sys.stdout.write('
                     'sys.version)').decode()
        magic, version = out.split('\n', 1)
        _FACTS[it.exe] = (version, bytes.fromhex(magic))
    return _FACTS[it.exe]


def compiler_dir(store, it):
    """The one compiler directory of it (its tag; its identity names its
    sys.version)."""
    version = facts(it)[0]
    found = []
    for d in glob.glob(os.path.join(str(store), 'v1', it.tag + '-*')):
        with open(os.path.join(d, 'identity')) as f:
            text = f.read()
        if text.startswith(IDENTITY_HEAD + 'cpython\n' + version + '\n'):
            found.append(d)
    assert len(found) == 1, ('compiler directories of %r' % it, found,
                             os.listdir(os.path.join(str(store), 'v1')))
    return found[0]


def object_name(source_bytes, level, form):
    h = hashlib.sha256(source_bytes).hexdigest()
    return os.path.join(h[:2], '%s.%d.%s' % (h[2:], level, form))


def ts_form(src):
    st = os.stat(src)
    return 't%08x%08x' % (int(st.st_mtime) & 0xffffffff,
                          st.st_size & 0xffffffff)


def object_path(store, it, src, level, form):
    """The object of src's bytes at level in form ('c', 'u', or 't' for
    the timestamp form of src's own mtime and size)."""
    with open(src, 'rb') as f:
        data = f.read()
    if form == 't':
        form = ts_form(src)
    return os.path.join(compiler_dir(store, it), object_name(data, level,
                                                             form))


def check_identity(d, it):
    """The identity file of compiler directory d is the spec's text, and
    d's name its digest."""
    m = COMPILER_RE.match(os.path.basename(d))
    assert m, d
    with open(os.path.join(d, 'identity'), 'rb') as f:
        raw = f.read()
    assert hashlib.sha256(raw).hexdigest()[:16] == m.group('hex'), d
    text = raw.decode()
    version = facts(it)[0]
    head = IDENTITY_HEAD + 'cpython\n' + version + '\n'
    assert text.startswith(head), (text, head)
    rest = text[len(head):]
    assert rest.endswith('\n') and rest.count('\n') == 2, rest
    magic, seed = rest[:-1].split('\n')
    raw_magic = facts(it)[1].hex()
    # "magic-hex": the 4 bytes of MAGIC_NUMBER, or its 16-bit number.
    assert magic in (raw_magic, '%04x' % it.magic), (magic, raw_magic)
    assert seed, text
    assert m.group('tag') == it.tag


def objects(store):
    """{path: match} of every object below store/v1."""
    out = {}
    v1 = os.path.join(str(store), 'v1')
    for d, dirs, files in os.walk(v1):
        for f in files:
            m = OBJECT_RE.match(f)
            if m and FAN_RE.match(os.path.basename(d)):
                out[os.path.join(d, f)] = m
    return out


def object_problem(path, m=None, magic=None):
    """Why the object at path is not sound, or None."""
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        return 'not a regular file'
    if st.st_uid != os.geteuid():
        return 'owned by uid %d' % st.st_uid
    with open(path, 'rb') as f:
        data = f.read()
    try:
        attr = os.getxattr(path, XATTR, follow_symlinks=False)
    except OSError as e:
        return 'no attribute: %s' % e
    if attr != sha256(data):
        return 'attribute %s, content %s' % (attr.hex(), sha256(data).hex())
    if len(data) < 16:
        return 'only %d bytes' % len(data)
    if magic is not None and data[:4] != magic:
        return 'magic %s, not %s' % (data[:4].hex(), magic.hex())
    if m is not None:
        form = m.group('form')
        flags = int.from_bytes(data[4:8], 'little')
        if flags != FLAGS[form[0]]:
            return 'flags %d in a %r object' % (flags, form)
        if form[0] == 't' and data[8:16] != (
                int(m.group('mtime'), 16).to_bytes(4, 'little') +
                int(m.group('size'), 16).to_bytes(4, 'little')):
            return 'header %s in a %r object' % (data[8:16].hex(), form)
    return None


def magic_of(it):
    return facts(it)[1]


def check_store(store, interps=(), temp_ok=False):
    """Every entry below store is what the spec allows, every object is
    sound (content matching its attribute, header matching its name and
    compiler), and every object has its "c" sibling.  Returns
    {path: match} of the objects."""
    store = str(store)
    st = os.lstat(store)
    assert stat.S_ISDIR(st.st_mode), store
    assert st.st_uid == os.geteuid(), store
    assert stat.S_IMODE(st.st_mode) == 0o700, oct(st.st_mode)
    # Its own CACHEDIR.TAG, or (in a prefix) the prefix's.
    tag = os.path.join(store, 'CACHEDIR.TAG')
    if not os.path.exists(tag):
        tag = os.path.join(os.path.dirname(store), 'CACHEDIR.TAG')
    with open(tag, 'rb') as f:
        assert f.read().startswith(
            b'Signature: 8a477f597d28d172789f06886806bc55'), store
    magics = {}
    for it in interps:
        d = compiler_dir(store, it)
        check_identity(d, it)
        magics[os.path.basename(d)] = magic_of(it)
    objs = objects(store)
    stray, temps, bad = [], [], []
    for d, dirs, files in os.walk(store):
        for x in dirs:
            p = os.path.join(d, x)
            dst = os.lstat(p)
            if not stat.S_ISDIR(dst.st_mode) or dst.st_uid != os.geteuid() \
                    or dst.st_mode & 0o022:
                bad.append((p, 'a directory that is not safe'))
        for f in files:
            p = os.path.join(d, f)
            rel = os.path.relpath(p, store)
            parts = rel.split(os.sep)
            if p in objs:
                continue
            if rel == 'CACHEDIR.TAG':
                continue
            if len(parts) == 3 and parts[0] == 'v1' and \
                    parts[2] == 'identity' and COMPILER_RE.match(parts[1]):
                continue
            if OUR_TEMP.match(f):
                temps.append(p)
                continue
            stray.append(p)
    for p, m in objs.items():
        comp = os.path.basename(os.path.dirname(os.path.dirname(p)))
        why = object_problem(p, m, magics.get(comp))
        if why:
            bad.append((p, why))
        if m.group('form') != 'c':
            c = os.path.join(os.path.dirname(p), '%s.%s.c' % (
                m.group('rest'), m.group('level')))
            if not os.path.exists(c):
                bad.append((p, 'no "c" object beside it'))
    assert not bad, ('unsound store entries', bad[:10])
    assert not stray, ('files the store should not hold', stray[:10])
    if not temp_ok:
        assert not temps, ('temporary files left in the store', temps[:10])
    return objs


def inodes(root):
    """{st_ino: path} of every regular file below root."""
    out = {}
    for d, dirs, files in os.walk(str(root)):
        for f in files:
            p = os.path.join(d, f)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                out[st.st_ino] = p
    return out


def tree_state(root):
    """{path: (kind, inode, mtime_ns, size, bytes/target)} below root,
    directories included: to prove nothing was written there."""
    out = {}
    for d, dirs, files in os.walk(str(root)):
        for x in dirs + files:
            p = os.path.join(d, x)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                body = os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                with open(p, 'rb') as f:
                    body = f.read()
            else:
                body = sorted(os.listdir(p))
            out[p] = (stat.S_IFMT(st.st_mode), st.st_ino, st.st_mtime_ns,
                      st.st_size, st.st_mode, st.st_uid, body)
    return out


# ---- the interpreter's view ----

# Imports the modules of a tree the way Python does (sys.path, the
# path finder, its SourceFileLoader), recording any call that would
# recompile or rewrite a pyc, and checks what the loaded code says.
IMPORT_CHECK = r'''
import importlib, importlib.machinery as m, importlib.util as u, inspect
import json, marshal, os, sys, traceback, types
root, names, want_flags = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
level = sys.flags.optimize
errors, calls, pycs = [], [], {}
SFL = m.SourceFileLoader
orig_s2c = SFL.source_to_code

def set_data(self, path, data, *a, **k):
    calls.append(['set_data', path])

def source_to_code(self, data, path, *a, **k):
    calls.append(['source_to_code', path])
    return orig_s2c(self, data, path, *a, **k)

SFL.set_data = set_data
SFL.source_to_code = source_to_code

def state(p):
    st = os.stat(p)
    with open(p, 'rb') as f:
        return [st.st_ino, st.st_size, st.st_mtime_ns, f.read().hex()]

def source_of(name, pkg):
    rel = name.replace('.', os.sep)
    return os.path.join(root, rel, '__init__.py') if pkg else \
        os.path.join(root, rel + '.py')

def codes(code):
    yield code
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            yield from codes(c)

def functions(ns, seen):
    for v in list(vars(ns).values()):
        if isinstance(v, (staticmethod, classmethod)):
            v = v.__func__
        if isinstance(v, property):
            v = v.fget
        if isinstance(v, types.FunctionType) and v.__module__ == mod_name:
            yield v
        elif isinstance(v, type) and id(v) not in seen and \
                v.__module__ == mod_name:
            seen.add(id(v))
            yield from functions(v, seen)

def err(*a):
    errors.append(' '.join(map(str, a)))

sys.path.insert(0, root)
before, srcs = {}, {}
for name in names:
    pkg = os.path.exists(os.path.join(root, name.replace('.', os.sep),
                                      '__init__.py'))
    srcs[name] = src = source_of(name, pkg)
    pycs[name] = pyc = u.cache_from_source(src)
    before[name] = state(pyc)
for name in names:
    src = srcs[name]
    mod_name = name
    mod = importlib.import_module(name)
    if type(mod.__spec__.loader) is not SFL:
        err(name, 'loaded by', type(mod.__spec__.loader))
        continue
    if mod.__file__ != src:
        err(name, '__file__', mod.__file__, '!=', src)
    if mod.__spec__.cached != pycs[name]:
        err(name, 'cached', mod.__spec__.cached, '!=', pycs[name])
    if inspect.getsourcefile(mod) != src:
        err(name, 'getsourcefile', inspect.getsourcefile(mod), '!=', src)
    with open(src, 'rb') as f:
        want = compile(f.read(), src, 'exec', dont_inherit=True,
                       optimize=level)
    with open(pycs[name], 'rb') as f:
        data = f.read()
    flags = int.from_bytes(data[4:8], 'little')
    if flags != want_flags:
        err(name, 'pyc flags', flags, 'not', want_flags)
    if data[:4] != u.MAGIC_NUMBER:
        err(name, 'magic', data[:4].hex())
    try:
        body = marshal.loads(data[16:])
    except Exception as e:
        err(name, 'the pyc body does not unmarshal:', e)
        body = None
    if body != want:
        err(name, 'marshal.loads of the pyc body != compile()')
    code = mod.__spec__.loader.get_code(name)
    if code != want:
        err(name, 'loaded code != compile()')
    for c in codes(code):
        if c.co_filename != src:
            err(name, 'co_filename of', c.co_name, c.co_filename)
    for fn in functions(mod, set()):
        if fn.__code__.co_filename != src:
            err(name, fn.__qualname__, '__code__.co_filename',
                fn.__code__.co_filename)
        if inspect.getsourcefile(fn) != src:
            err(name, fn.__qualname__, 'getsourcefile',
                inspect.getsourcefile(fn))
    if name == 'pkg.funcs':
        try:
            mod.fail('boom')
        except ValueError as e:
            last = traceback.extract_tb(e.__traceback__)[-1]
            if (last.filename, last.name, last.line) != (
                    src, 'fail', 'raise ValueError(msg)'):
                err(name, 'traceback', last.filename, last.name, last.line)
        for fn in (mod.make_closure(1), mod.make_closure(1)(2),
                   mod.adder, mod.outer):
            if fn.__code__.co_filename != src:
                err(name, fn.__qualname__, 'co_filename',
                    fn.__code__.co_filename)
        if mod.outer(3) != 3 + 6 + 3 + 0:
            err(name, 'outer(3) is', mod.outer(3))
    if name == 'pkg.asserts':
        if mod.check(1) != ('debug' if level == 0 else 'optimized'):
            err(name, 'check() at level', level, 'is', mod.check(1))
        if (mod.check.__doc__ is None) != (level == 2):
            err(name, 'docstring at level', level, mod.check.__doc__)
for name in names:
    if state(pycs[name]) != before[name]:
        err(name, 'the pyc changed:', before[name][:3],
            state(pycs[name])[:3])
if calls:
    err('importlib would recompile or rewrite:', calls)
print(json.dumps({'errors': errors, 'pycs': pycs}))
'''


def import_check(it, root, level, mode, env, prefix=None, names=MODULES,
                 context=''):
    """Import the modules of root with it at level, as a user would
    (PYTHONPYCACHEPREFIX=prefix, or __pycache__ without one; bytecode
    writing on); asserts the interpreter used every pyc as it is, with
    the code compile() makes and root's paths everywhere.  Returns
    {module: pyc}."""
    env = {k: v for k, v in env.items()
           if k not in ('PYTHONDONTWRITEBYTECODE', 'PYTHONPYCACHEPREFIX')}
    if prefix is not None:
        env['PYTHONPYCACHEPREFIX'] = str(prefix)
    flags = ['-' + 'O' * level] if level else []
    res = subprocess.run([it.exe, '-s', *flags, '-c', IMPORT_CHECK, str(root),
                          json.dumps(names), str(MODE_FLAGS[mode])],
                         capture_output=True, env=env, cwd='/', timeout=120)
    assert res.returncode == 0, (context, res.stderr.decode(errors='replace'))
    out = json.loads(res.stdout)
    assert not out['errors'], (context, out['errors'])
    for name, pyc in out['pycs'].items():
        assert pyc.startswith(str(prefix) + '/') if prefix else \
            '/__pycache__/' in pyc, pyc
    return out['pycs']


# Every source below a tree: its pyc (at this level) is used by the
# interpreter's SourceFileLoader as it is (a recompile or a rewrite
# raises), and holds the code compile() makes, with the source's path
# in every co_filename.
CODE_CHECK = r'''
import importlib.machinery as m, importlib.util as u, json, os, sys, types
root = sys.argv[1]
level = sys.flags.optimize
res = {'ok': [], 'missing': [], 'bad': []}

class Strict(m.SourceFileLoader):
    def source_to_code(self, *a, **k):
        raise RuntimeError('importlib would recompile it')
    def set_data(self, *a, **k):
        raise RuntimeError('importlib would rewrite it')

def codes(code):
    yield code
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            yield from codes(c)

for d, dirs, files in os.walk(root):
    dirs[:] = sorted(x for x in dirs if x != '__pycache__')
    for f in sorted(files):
        if not f.endswith('.py'):
            continue
        src = os.path.join(d, f)
        pyc = u.cache_from_source(src)
        if not os.path.lexists(pyc):
            res['missing'].append(src)
            continue
        try:
            if os.path.islink(pyc):
                raise RuntimeError('the pyc is a symlink')
            before = os.stat(pyc)
            code = Strict('m', src).get_code('m')
            with open(src, 'rb') as fs:
                want = compile(fs.read(), src, 'exec', dont_inherit=True,
                               optimize=level)
            if code != want:
                raise RuntimeError('its code is not what compile() makes')
            for c in codes(code):
                if c.co_filename != src:
                    raise RuntimeError('co_filename %r' % c.co_filename)
            after = os.stat(pyc)
            if (before.st_ino, before.st_mtime_ns, before.st_size) != (
                    after.st_ino, after.st_mtime_ns, after.st_size):
                raise RuntimeError('the pyc changed')
            res['ok'].append([src, pyc, after.st_ino])
        except Exception as e:
            res['bad'].append([src, pyc, '%s: %s' % (type(e).__name__, e)])
print(json.dumps(res))
'''


def code_check(it, root, env, prefix=None, level=0):
    """Run CODE_CHECK; returns its {'ok', 'missing', 'bad'}."""
    env = {k: v for k, v in env.items()
           if k not in ('PYTHONDONTWRITEBYTECODE', 'PYTHONPYCACHEPREFIX')}
    if prefix is not None:
        env['PYTHONPYCACHEPREFIX'] = str(prefix)
    flags = ['-' + 'O' * level] if level else []
    res = subprocess.run([it.exe, '-s', *flags, '-c', CODE_CHECK, str(root)],
                         capture_output=True, env=env, cwd='/', timeout=300)
    assert res.returncode == 0, res.stderr.decode(errors='replace')
    return json.loads(res.stdout)


def assert_code_equal(it, root, env, prefix=None, level=0, context=''):
    """Every source below root has a pyc the interpreter uses as it is,
    holding the code compile() makes."""
    v = code_check(it, root, env, prefix, level)
    assert not v['bad'], (context, 'pycs with other code', v['bad'][:10])
    assert not v['missing'], (context, 'sources without a pyc',
                              v['missing'][:10])
    return v


def doctor_store(prefix, env, it):
    """`pycprefix doctor --json`'s checks of the prefix's store:
    {check: (level, message)} of those named store.*."""
    res = run_tool(['doctor', '--json', '--python', it.exe, '--prefix',
                    str(prefix)], env)
    assert res.returncode in (0, 1), res.stderr
    out = json.loads(res.stdout.decode('utf-8'))
    checks = {}
    for c in out['checks']:
        if c['check'].startswith('store.'):
            checks.setdefault(c['check'], []).append((c['level'],
                                                      c['message']))
    return checks


def assert_doctor_store_ok(prefix, env, it, context=''):
    checks = doctor_store(prefix, env, it)
    assert 'store.objects' in checks, (context, checks)
    bad = {k: v for k, v in checks.items()
           if any(level.lower() == 'fail' for level, _ in v)}
    assert not bad, (context, 'doctor finds the store unsound', bad)
    return checks
