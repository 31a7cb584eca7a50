/* Unit tests of interp.c and discover.c that need no real interpreter:
 * finding executables, the probe protocol with fake interpreters. */
#include "unit.h"
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/pyc-interp-XXXXXX";

static void write_exec(const char *name, const char *body)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	fputs(body, f);
	fclose(f);
	chmod(path, 0755);
}

static int setup(void **state)
{
	char cache[128];

	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	setenv("PYCPREFIX_PROBE_CACHE", cache, 1);
	setenv("PATH", dir, 1);
	return 0;
}

static void test_find_on_path(void **state)
{
	struct pyc_error err;
	char *exe;

	(void)state;
	write_exec("python3.42", "#!/bin/sh\nexit 1\n");
	assert_int_equal(pyc_interp_find("python3.42", &exe, &err), 0);
	assert_non_null(strstr(exe, "/python3.42"));
	free(exe);
	assert_int_equal(pyc_interp_find("3.42", &exe, &err), 0);
	free(exe);
	assert_int_equal(pyc_interp_find("python9", &exe, &err), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err.msg, "python9"));
	assert_int_equal(pyc_interp_find("/nonexistent/python", &exe, &err), -1);
}

static void test_probe_answers(void **state)
{
	struct pyc_interp in;
	struct pyc_error err;
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/fail", dir);
	write_exec("fail", "#!/bin/sh\necho 'Fatal: boom' >&2\nexit 3\n");
	assert_int_equal(pyc_interp_probe(path, 0, &in, &err), -1);
	assert_non_null(strstr(err.msg, "exit 3"));
	assert_non_null(strstr(err.msg, "Fatal: boom"));
	snprintf(path, sizeof(path), "%s/old", dir);
	write_exec("old", "#!/bin/sh\nprintf 'pycprefix-probe-1\\000cpython"
		   "\\0003 7 1 final 0\\000'\n");
	assert_int_equal(pyc_interp_probe(path, 0, &in, &err), -1);
	assert_int_equal(errno, ENOTSUP);
	assert_int_equal(pyc_interp_probe(path, PYC_PROBE_ANY, &in, &err), 0);
	assert_int_equal(in.minor, 7);
	assert_null(in.tag);
	pyc_interp_release(&in);
}

static void reason_of(const char *out, int status, const char *want)
{
	char why[400];

	pyc__startup_reason(out, out ? strlen(out) : 0, status, why,
			    sizeof(why));
	assert_string_equal(why, want);
}

static void test_startup_reason(void **state)
{
	(void)state;
	reason_of("Python path configuration:\n  PYTHONHOME = '/x'\n"
		  "Fatal Python error: init_fs_encoding: failed to get the "
		  "Python codec of the filesystem encoding\n"
		  "Python runtime state: core initialized\n"
		  "ModuleNotFoundError: No module named 'encodings'\n\n"
		  "Current thread 0x00007f (most recent call first):\n"
		  "  <no Python frame>\n", 1,
		  "cannot start (exit 1): init_fs_encoding: failed to get the "
		  "Python codec of the filesystem encoding "
		  "(ModuleNotFoundError: No module named 'encodings')");
	reason_of("Traceback (most recent call last):\n  File \"<x>\", "
		  "line 1\nValueError: bad\n", 1,
		  "failed (exit 1): ValueError: bad");
	reason_of("SystemExit\n", 3, "failed (exit 3): SystemExit");
	reason_of("some words\tand a tab\n", 2,
		  "failed (exit 2): some words and a tab");
	reason_of("", 137, "failed (killed by signal 9)");
	reason_of(NULL, 1, "failed (exit 1)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_on_path),
		cmocka_unit_test(test_probe_answers),
		cmocka_unit_test(test_startup_reason),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
