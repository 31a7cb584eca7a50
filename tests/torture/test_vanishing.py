"""Sources that vanish, appear, move and change while compile and status
walk and read them.  Every run ends with 0 or 1 and no crash, no
temporary file is ever left, and once the tree holds still a last
compile makes every pyc match the source that exists then (each source
holds a VERSION whose value the pyc's code must carry)."""
import os
import re
import shutil
import threading
import time

from conftest import run_tool
from torture_lib import (NEWEST, assert_all_valid, crashed, json_out, rng,
                         stdlib_tree, temp_files)

assert rng


class Mutator(threading.Thread):
    """Rewrites, replaces, deletes, recreates and renames sources and
    whole directories until stopped.  Each write has a new VERSION and a
    new size, so a (mtime, size) pair never stands for two contents."""

    def __init__(self, rng, root, ndirs=6, nfiles=25):
        super().__init__()
        self.rng, self.root, self.stop = rng, root, threading.Event()
        self.version = 0
        self.ops = 0
        self.dirs = [os.path.join(root, 'd%d' % i) for i in range(ndirs)]
        self.names = ['m%02d.py' % i for i in range(nfiles)]
        for d in self.dirs:
            os.makedirs(d)
            for n in self.names:
                self.write(os.path.join(d, n))

    def content(self):
        self.version += 1
        return b'VERSION = %d\n' % self.version + b'#' * self.version + b'\n'

    def write(self, path, atomic=False):
        data = self.content()
        if atomic:
            tmp = path + '.new'
            with open(tmp, 'wb') as f:
                f.write(data)
            os.replace(tmp, path)
        else:
            with open(path, 'wb') as f:  # truncate, then write
                f.write(data[:9])  # "VERSION =": a SyntaxError
                f.flush()
                time.sleep(0.002)
                f.write(data[9:])

    def step(self):
        r = self.rng
        d = r.choice(self.dirs)
        p = os.path.join(d, r.choice(self.names))
        op = r.random()
        try:
            if op < 0.03:
                shutil.rmtree(d)
            elif not os.path.isdir(d):
                os.makedirs(d)
                for n in r.sample(self.names, 5):
                    self.write(os.path.join(d, n))
            elif op < 0.40:
                self.write(p)
            elif op < 0.60:
                self.write(p, atomic=True)
            elif op < 0.75:
                os.unlink(p)
            elif op < 0.85:
                os.rename(p, os.path.join(d, r.choice(self.names)))
            else:
                self.write(p)  # (re)create
        except FileNotFoundError:
            pass
        self.ops += 1

    def run(self):
        while not self.stop.is_set():
            self.step()
            time.sleep(self.rng.uniform(0, 0.002))


ALLOWED = [re.compile(x) for x in (
    r'^\d+ compiled, \d+ fresh, \d+ failed',
    r"^pycprefix: cannot read '.*': No such file or directory$",
    r'^.*\.py: cannot read: No such file or directory$',
    r'^.*\.py:\d+(:\d+)?: SyntaxError: .*$',   # read while half written
)]


def test_sources_change_during_compile(clean_env, tmp_path, rng):
    it = NEWEST
    tree = str(tmp_path / 'tree')
    stdlib_tree(os.path.join(tree, 'lib'), limit=60)
    mut = Mutator(rng, tree)
    prefix = str(tmp_path / 'prefix')
    base = ['--python', it.exe, '--prefix', prefix]
    seen = [0] * len(ALLOWED)
    mut.start()
    try:
        for i in range(16):
            args = ['compile', '-j', '2'] + (['-f'] if i % 2 else []) + base
            res = run_tool(args + [tree], clean_env)
            assert not crashed(res.returncode), res.stderr
            assert res.returncode in (0, 1), res.stderr
            for line in res.stderr.decode().splitlines():
                kinds = [k for k, a in enumerate(ALLOWED) if a.match(line)]
                assert kinds, line
                seen[kinds[0]] += 1
            assert temp_files(prefix) == [], i
            res = run_tool(['status', '-q'] + base + [tree], clean_env)
            assert not crashed(res.returncode), res.stderr
            assert res.returncode in (0, 1), res.stderr
    finally:
        mut.stop.set()
        mut.join()
    print('%d changes to the tree; messages of each kind: %s' % (mut.ops,
                                                               seen))
    assert mut.ops > 100
    res = run_tool(['compile', '--json'] + base + [tree], clean_env, check=0)
    assert json_out(res)['failed'] == 0
    v = assert_all_valid(prefix, [it])
    sources = [os.path.join(d, f) for d, _, fs in os.walk(tree) for f in fs
               if f.endswith('.py')]
    assert len(v['ok']) == len(sources)
    run_tool(['prune', '-q', '--prefix', prefix], clean_env, check=0)
    v = assert_all_valid(prefix, [it])
    assert not v['orphan'] and len(v['ok']) == len(sources)
    run_tool(['status', '--check', '-q'] + base + [tree], clean_env, check=0)
