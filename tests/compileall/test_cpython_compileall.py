"""CPython's own compileall command-line tests, against pycprefix compileall.

For every installed CPython (conftest's INTERPRETERS, one per minor
version), that version's Lib/test/test_compileall.py CommandLineTests*
classes (3.8: CommmandLineTests*) run unmodified in that interpreter
with sys.executable pointed at a wrapper that turns each `-m compileall`
into `pycprefix compileall --python <that interpreter>` (runner.py,
fakepython.py.in).  Every test must pass; none may be skipped but the
deliberate differences listed below, each with its reason.  All
versions run at once, in parallel; the counts are printed per version.
"""
import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import BINARY, INTERPRETERS  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# Tests we deliberately differ from: {test id suffix: why}.  None today.
DELIBERATE = {}


def _env(tmp):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('PYTHON', 'PYCPREFIX', 'XDG_',
                                'SOURCE_DATE_EPOCH'))}
    env['XDG_CACHE_HOME'] = os.path.join(tmp, 'xdg')
    env['TMPDIR'] = tmp
    return env


def _start(interp, tmp):
    d = os.path.join(tmp, repr(interp))
    os.makedirs(d)
    wrapper = os.path.join(d, 'python')
    with open(os.path.join(HERE, 'fakepython.py.in')) as f:
        text = f.read()
    text = (text.replace('@REAL@', repr(interp.exe))
            .replace('@TOOL@', repr(BINARY))
            .replace('@LOG@', repr(os.path.join(d, 'calls.log'))))
    with open(wrapper, 'w') as f:
        f.write(text)
    os.chmod(wrapper, 0o755)
    env = _env(d)
    return subprocess.Popen(
        [interp.exe, os.path.join(HERE, 'runner.py'), wrapper],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=d), d


@pytest.fixture(scope='module')
def results(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp('cpython-compileall'))
    procs = {repr(i): _start(i, tmp) for i in INTERPRETERS}
    out = {}
    for name, (p, d) in procs.items():
        stdout, stderr = p.communicate(timeout=600)
        with open(os.path.join(d, 'calls.log')) if os.path.exists(
                os.path.join(d, 'calls.log')) else open(os.devnull) as f:
            calls = f.read().count('\n')
        out[name] = (p.returncode, stdout, stderr, calls)
    return out


@pytest.mark.parametrize('interp', INTERPRETERS, ids=repr)
def test_cpython_command_line_tests(interp, results):
    rc, stdout, stderr, calls = results[repr(interp)]
    assert rc == 0, stderr.decode(errors='replace')[-5000:]
    r = json.loads(stdout.decode().splitlines()[-1])
    skipped = {t: why for t, why in r['skipped']}
    deliberate = {t for t in skipped
                  if any(t.endswith(k) for k in DELIBERATE)}
    print('\n%s: %s: collected %d, run %d, passed %d, skipped %d '
          '(deliberate %d), failures %d, errors %d; %d compileall runs '
          'went to pycprefix'
          % (interp, ', '.join(r['classes']), r['collected'], r['run'],
             r['run'] - len(r['failures']) - len(r['errors'])
             - len(skipped), len(skipped), len(deliberate),
             len(r['failures']), len(r['errors']), calls))
    assert r['classes'], 'no CommandLineTests class found'
    assert not r['failures'], '\n'.join(tb for _, tb in r['failures'])
    assert not r['errors'], '\n'.join(tb for _, tb in r['errors'])
    assert not r['unexpected_successes']
    assert set(skipped) == deliberate, skipped
    assert r['run'] == r['collected']
    # the tests did go through the wrapper to pycprefix
    assert calls >= r['collected']
