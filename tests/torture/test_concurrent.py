"""Several compile runs at once (different interpreters, and the same one
twice) racing Python processes that import the tree with the same
PYTHONPYCACHEPREFIX and write their own pycs: every run succeeds, only
whole pycs at final paths remain, no temporary file is left behind."""
import os
import subprocess
import threading

from conftest import INTERPRETERS, run_tool
from torture_lib import (NEWEST, OLDEST, assert_all_valid, crashed,
                         json_out, rng, stdlib_tree, temp_files, tool_cmd)

assert rng

# Imports the tree the way Python does: SourceFileLoader.get_code() reads
# the pyc in the prefix or compiles and writes one (_write_atomic), after
# dropping some pycs so that it has writing to do; then real imports.
IMPORTER = r'''
import importlib.machinery as m, importlib.util as u, os, random, sys
tree, seed, passes = sys.argv[1], sys.argv[2], int(sys.argv[3])
assert sys.pycache_prefix and not sys.dont_write_bytecode
rng = random.Random(seed)
srcs = sorted(os.path.join(d, f) for d, _, fs in os.walk(tree)
              for f in fs if f.endswith('.py'))
for _ in range(passes):
    rng.shuffle(srcs)
    for s in srcs:
        if rng.random() < 0.5:
            try:
                os.unlink(u.cache_from_source(s))
            except OSError:
                pass
        m.SourceFileLoader('m', s).get_code('m')
sys.path.insert(0, tree)
import json, json.decoder, html.parser, email.utils, urllib.parse
assert json.__file__.startswith(tree), json.__file__
print('ok')
'''


def test_compile_runs_race_each_other_and_python(clean_env, tmp_path, rng):
    tree = tmp_path / 'tree'
    sources = stdlib_tree(tree, limit=150)
    prefix = str(tmp_path / 'prefix')
    middle = INTERPRETERS[len(INTERPRETERS) // 2]
    interps = list({i.exe: i for i in (OLDEST, middle, NEWEST)}.values())
    # Probe the interpreters once, before the race.
    for it in interps:
        run_tool(['compile', '-q', '--dry-run', '--python', it.exe,
                  '--prefix', prefix, str(tree)], clean_env, check=0)
    jobs = []
    for k, it in enumerate([NEWEST, NEWEST, OLDEST, middle]):
        cmd = tool_cmd('compile', '-q', '-f', '-j', '2', '--python', it.exe,
                       '--prefix', prefix, tree)
        jobs.append(('compile %d %r' % (k, it), [cmd, cmd], clean_env))
    pyenv = dict(clean_env, PYTHONPYCACHEPREFIX=prefix)
    del pyenv['PYTHONDONTWRITEBYTECODE']
    for k, it in enumerate([NEWEST, OLDEST]):
        cmd = [it.exe, '-c', IMPORTER, str(tree), str(rng.random()), '2']
        jobs.append(('python %d %r' % (k, it), [cmd], pyenv))
    results = {}

    def run(name, cmds, env):
        results[name] = [subprocess.run(c, capture_output=True, env=env,
                                        timeout=240) for c in cmds]

    threads = [threading.Thread(target=run, args=j) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name, runs in sorted(results.items()):
        for res in runs:
            assert not crashed(res.returncode), (name, res.stderr)
            assert res.returncode == 0, (name, res.stderr)
            assert res.stderr == b'', (name, res.stderr)
    assert temp_files(prefix) == []
    v = assert_all_valid(prefix, interps)
    assert not v['stale'] and not v['orphan']
    # A last compile fills in what the importers dropped; all is fresh.
    for it in interps:
        res = run_tool(['compile', '--json', '--python', it.exe, '--prefix',
                        prefix, str(tree)], clean_env, check=0)
        assert json_out(res)['failed'] == 0
    status = ['status', '--check', '-q', '--prefix', prefix]
    for it in interps:
        status += ['--python', it.exe]
    run_tool(status + [str(tree)], clean_env, check=0)
    v = assert_all_valid(prefix, interps)
    mirror = os.path.join(prefix, str(tree).lstrip('/')) + '/'
    assert len([p for p in v['ok'] if p.startswith(mirror)]) == len(
        sources) * len(interps)
    assert temp_files(prefix) == []
    assert not [f for f in os.listdir(tree) if f == '__pycache__']
