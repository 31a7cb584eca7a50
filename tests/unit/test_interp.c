/* Unit tests of interp.c and discover.c that need no real interpreter:
 * finding executables, the probe protocol with fake interpreters. */
#include "unit.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_on_path),
		cmocka_unit_test(test_probe_answers),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
