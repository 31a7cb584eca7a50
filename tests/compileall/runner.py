"""Run this interpreter's own test_compileall command-line tests against
pycprefix compileall, unmodified.

    python3.X runner.py WRAPPER

Runs in the interpreter under test.  sys.executable becomes WRAPPER
(fakepython.py, made by the pytest file for this interpreter): every
`sys.executable ... -m compileall ...` the tests start runs `pycprefix
compileall --python <this interpreter>` instead, with the interpreter
flags given before -m passed on; anything else the tests run with
sys.executable (scripts, pycs) runs the real interpreter.  Every test
resource is enabled, so nothing is skipped for lack of one.  Prints one
JSON line: the counts and the name of each test that failed, erred or
was skipped (with why).
"""
import io
import json
import re
import sys
import unittest

wrapper = sys.argv[1]
from test import support  # noqa: E402

support.use_resources = None          # None: every resource (regrtest -u all)
assert support.is_resource_enabled('cpu')
import test.test_compileall as tc   # noqa: E402

sys.executable = wrapper
# 3.8 names them CommmandLineTests* (sic)
classes = [getattr(tc, n) for n in sorted(dir(tc))
           if re.match(r'Comm+andLineTests(?!Base)', n)]
suite = unittest.TestSuite()
for c in classes:
    suite.addTests(unittest.defaultTestLoader.loadTestsFromTestCase(c))
stream = io.StringIO()
result = unittest.TextTestRunner(stream=stream, verbosity=2).run(suite)
print(json.dumps({
    'classes': [c.__name__ for c in classes],
    'collected': suite.countTestCases(),
    'run': result.testsRun,
    'failures': [(t.id(), tb) for t, tb in result.failures],
    'errors': [(t.id(), tb) for t, tb in result.errors],
    'skipped': [(t.id(), why) for t, why in result.skipped],
    'unexpected_successes': [t.id() for t in result.unexpectedSuccesses],
    'log': stream.getvalue()[-20000:],
}))
