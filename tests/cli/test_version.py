"""--version as the GNU coding standards ask: `pycprefix VERSION` on the
first line of stdout, the version from the C header (PYC_VERSION_STRING,
the one source of truth), exit 0, whatever follows it; no licence lines
(the project has no licence file: none is claimed).  Like git, the
commands do not take it: `pycprefix COMMAND --version` is a usage
error."""
import os
import re
import subprocess

import pytest

from conftest import BINARY, ROOT, run_tool

COMMANDS = ['compile', 'status', 'prune', 'clean', 'migrate', 'du', 'doctor',
            'path', 'show', 'pythons', 'env', 'run']


def header_version():
    with open(os.path.join(ROOT, 'src', 'lib', 'pycprefix.h')) as f:
        m = re.search(r'^#define PYC_VERSION_STRING "([^"]+)"$', f.read(),
                      re.M)
    assert m
    return m.group(1)


@pytest.mark.parametrize('args', [['--version'], ['-V'],
                                  ['--prefix', '/nonexistent', '--version'],
                                  ['--version', 'compile', '--bogus'],
                                  ['-q', '-V']])
def test_version_line(clean_env, args):
    res = run_tool(args, clean_env, check=0)
    assert res.stderr == b''
    out = res.stdout.decode()
    assert out == 'pycprefix %s\n' % header_version(), out


def test_no_licence_claimed():
    licences = [n for n in os.listdir(ROOT)
                if n.upper().startswith(('LICENSE', 'LICENCE', 'COPYING'))]
    # If a licence is added, --version must say so (GNU's standards):
    # this test then has to learn its lines.
    assert licences == []


def test_version_write_error(clean_env):
    with open('/dev/full', 'w') as full:
        res = subprocess.run([BINARY, '--version'], stdout=full,
                             stderr=subprocess.PIPE, env=clean_env)
    assert res.returncode == 2
    assert b'cannot write' in res.stderr


@pytest.mark.parametrize('cmd', COMMANDS)
def test_commands_refuse_version(clean_env, cmd, tmp_path):
    res = run_tool([cmd, '--version'], clean_env, cwd=str(tmp_path))
    assert res.returncode == 2, (cmd, res.stdout, res.stderr)
    assert res.stdout == b''
    assert b"unknown option '--version'" in res.stderr, res.stderr
