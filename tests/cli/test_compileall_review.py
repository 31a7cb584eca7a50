"""pycprefix compileall where a fixed-size buffer once cut what it
printed: the same text as python -m compileall, whatever its length."""
import subprocess

import pytest

from conftest import BINARY
from test_compileall_oracle import check_same, env_for, it, run_pair, write


def _tsan_build():
    with open(BINARY, 'rb') as f:
        return b'__tsan_init' in f.read()


# ThreadSanitizer's runtime intercepts strndup() and asprintf() itself, so
# an LD_PRELOAD shim never reaches the calls the tool makes: these fault
# tests run against the normal and the ASan+UBSan builds.
libc_shim = pytest.mark.skipif(_tsan_build(), reason=(
    'ThreadSanitizer intercepts strndup and asprintf: an LD_PRELOAD shim '
    'cannot fail them'))

assert it  # the fixture, imported for pytest


def test_warning_on_a_long_line(it, tmp_path):
    """showwarning()'s source line is the whole line, stripped, however
    long (it was cut at 1023 bytes)."""
    def build(root):
        write(root, 'w/a.py', 'x = 1 is 1' + ' ' * 10 + 'or 2' * 600
              + '  \n')
    res = run_pair(it, tmp_path, build, ['-q', 'w'])
    check_same(it, tmp_path, res)
    assert len(res['real'].stderr) > 2400  # the test means something
    assert res['ours'].stderr == res['real'].stderr


def test_many_unrecognized_arguments(it, tmp_path):
    """argparse's "unrecognized arguments:" names every one of them (the
    list was cut at 4095 bytes)."""
    args = ['--zz%04d%s' % (i, 'x' * 40) for i in range(150)]
    real = subprocess.run([it.exe, '-m', 'compileall', *args],
                          cwd=tmp_path, env=env_for(tmp_path),
                          capture_output=True)
    ours = subprocess.run([BINARY, 'compileall', '--python', it.exe, *args],
                          cwd=tmp_path, env=env_for(tmp_path),
                          capture_output=True)
    assert real.returncode == ours.returncode == 2
    want = real.stderr.split(b'error: ', 1)[1]
    assert want.rstrip().endswith(args[-1].encode())
    assert ours.stderr.split(b'error: ', 1)[1] == want


def test_listing_order_of_undecodable_names(it, tmp_path):
    """sorted(os.listdir()) sorts str: a name's undecodable byte is the
    surrogate U+DC80..U+DCFF, after U+00E9 and before U+E000, whatever
    its byte says (strcmp() put b'\\x80' before b'\\xc3\\xa9' and
    b'\\xee\\x80\\x80' before b'\\xff')."""
    def build(root):
        for name in ('\u00e9.py'.encode(), b'\x80.py', b'\xff.py',
                     '\ue000.py'.encode(), '\U0001f600.py'.encode(),
                     b'a.py'):
            write(root, b'n/' + name, 'v = 1\n')
    check_same(it, tmp_path, run_pair(it, tmp_path, build, ['n']))


SHIM = r'''
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
char *strndup(const char *s, size_t n)
{
	static char *(*real)(const char *, size_t);
	if (strstr(s, "victim")) {
		errno = ENOMEM;
		return NULL;
	}
	if (!real)
		real = (char *(*)(const char *, size_t))dlsym(RTLD_NEXT,
							      "strndup");
	return real(s, n);
}
'''


@libc_shim
def test_a_name_it_cannot_keep_is_no_success(it, tmp_path):
    """Out of memory while keeping a directory entry or an unknown
    option: a failure (exit 2), never exit 0 with that source silently
    left out or that option silently taken."""
    import os
    from conftest import preload_shim
    root = tmp_path / 'w'
    write(str(root), 'd/victim.py', 'v = 1\n')
    write(str(root), 'd/a.py', 'a = 1\n')
    env = preload_shim(tmp_path, env_for(tmp_path), SHIM)
    for args in (['d'], ['--victim', 'd']):
        r = subprocess.run([BINARY, 'compileall', '--python', it.exe,
                            *args], cwd=root, env=env, capture_output=True)
        assert r.returncode == 2, (args, r)
        assert b'out of memory' in r.stderr
    assert not os.path.exists(root / 'd/__pycache__')


ASPRINTF_SHIM = r'''
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
int asprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	int n;
	if (strcmp(fmt, "%sc") == 0) { /* -b's pyc path */
		errno = ENOMEM;
		return -1;
	}
	va_start(ap, fmt);
	n = vasprintf(out, fmt, ap);
	va_end(ap);
	return n;
}
'''


@libc_shim
def test_a_legacy_pyc_path_it_cannot_make_is_no_success(it, tmp_path):
    """-b: out of memory making "x.pyc" fails the run (exit 2); it was
    exit 0 with the source left out."""
    from conftest import preload_shim
    root = tmp_path / 'w'
    write(str(root), 'd/a.py', 'a = 1\n')
    env = preload_shim(tmp_path, env_for(tmp_path), ASPRINTF_SHIM)
    r = subprocess.run([BINARY, 'compileall', '--python', it.exe, '-b',
                        'd'], cwd=root, env=env, capture_output=True)
    assert r.returncode == 2, r
    assert b'out of memory' in r.stderr


def test_a_level_after_many_repeated_o(it, tmp_path):
    """-o 0 given 64 times, then -o 1: both levels are written (the 65th
    -o was dropped, and its pycs with it)."""
    if it.version < (3, 9):
        return  # -o is 3.9's; 3.8 refuses it (test_usage_errors)

    def build(root):
        write(root, 'p/a.py', 'assert 1\n')
    res = run_pair(it, tmp_path, build, ['-o', '0'] * 64 + ['-o', '1', 'p'])
    check_same(it, tmp_path, res)
    assert res['real'].returncode == 0
    assert len(list((tmp_path / 'real/p/__pycache__').iterdir())) == 2
