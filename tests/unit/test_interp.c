/* Unit tests of interp.c and discover.c that need no real interpreter:
 * finding executables, the probe protocol with fake interpreters. */
#include "unit.h"
#include "scratch.h"
#include "internal.h"
#include "spawn_check.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>


static void write_exec(const char *name, const char *body)
{
	char path[PATH_MAX];
	FILE *f;

	pathf(path, "%s/%s", base, name);
	f = fopen(path, "w");
	fputs(body, f);
	fclose(f);
	chmod(path, 0755);
}

static int setup(void **state)
{
	char cache[PATH_MAX];

	(void)state;
	if (scratch_make("interp", 0) < 0)
		return -1;
	pathf(cache, "%s/cache", base);
	setenv("PYCPREFIX_PROBE_CACHE", cache, 1);
	setenv("PATH", base, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return scratch_remove();
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
	char path[PATH_MAX];

	(void)state;
	pathf(path, "%s/fail", base);
	write_exec("fail", "#!/bin/sh\necho 'Fatal: boom' >&2\nexit 3\n");
	assert_int_equal(pyc_interp_probe(path, 0, &in, &err), -1);
	assert_non_null(strstr(err.msg, "exit 3"));
	assert_non_null(strstr(err.msg, "Fatal: boom"));
	pathf(path, "%s/old", base);
	write_exec("old", "#!/bin/sh\nprintf 'pycprefix-probe-2\\000cpython"
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

/* The probe's pipe is close-on-exec from birth: a child that another
 * thread spawns meanwhile cannot hold its write end (the probe would
 * wait for its time-out). */
static void test_probe_pipe_not_inherited(void **state)
{
	struct pyc_interp in;
	struct pyc_error err;
	char path[PATH_MAX];
	size_t n;

	(void)state;
	pathf(path, "%s/fail", base);
	write_exec("fail", "#!/bin/sh\nexit 3\n");
	spawn_check_start();
	assert_int_equal(pyc_interp_probe(path, PYC_PROBE_NO_CACHE, &in,
					  &err), -1);
	assert_null(pyc_interp_ask(path, "", &n, &err));
	assert_int_equal(spawn_leaks, 0);
}

static int open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

/* Names in the probe cache directory other than `keep`. */
static int cache_others(void)
{
	char cache[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int n = 0;

	pathf(cache, "%s/cache", base);
	if (!(d = opendir(cache)))
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] == '.' && strcmp(e->d_name, ".") &&
		     strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/* A cache write cut short (here by RLIMIT_FSIZE) leaks no descriptor
 * and leaves no temporary file: the cache goes through the atomic
 * writer. */
static void test_probe_cache_short_write(void **state)
{
	struct rlimit old, small = { 16, 16 };
	struct pyc_interp in;
	struct pyc_error err;
	char path[PATH_MAX];
	int before;

	(void)state;
	pathf(path, "%s/old2", base);
	write_exec("old2", "#!/bin/sh\nprintf 'pycprefix-probe-2\\000cpython"
		   "\\0003 7 1 final 0\\000'\n");
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	small.rlim_max = old.rlim_max;
	before = open_fds();
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	assert_int_equal(pyc_interp_probe(path, PYC_PROBE_ANY, &in, &err), 0);
	setrlimit(RLIMIT_FSIZE, &old);
	pyc_interp_release(&in);
	assert_int_equal(open_fds(), before);
	assert_int_equal(cache_others(), 0);
	/* Without the limit the cache is written, and then read back. */
	assert_int_equal(pyc_interp_probe(path, PYC_PROBE_ANY, &in, &err), 0);
	pyc_interp_release(&in);
	assert_int_equal(open_fds(), before);
	assert_int_equal(cache_others(), 0);
}

/* Asking an interpreter has the probe's time-out (here shortened by
 * PYCPREFIX_PROBE_TIMEOUT) and a failing exit status is an error. */
static void test_ask_time_out_and_status(void **state)
{
	struct pyc_error err;
	char path[PATH_MAX];
	size_t n;
	char **v;

	(void)state;
	pathf(path, "%s/hangs", base);
	write_exec("hangs", "#!/bin/sh\nexec /bin/sleep 60\n");
	setenv("PYCPREFIX_PROBE_TIMEOUT", "1", 1);
	assert_null(pyc_interp_ask(path, "", &n, &err));
	assert_int_equal(errno, ETIMEDOUT);
	assert_non_null(strstr(err.msg, "did not answer within 1 s"));
	unsetenv("PYCPREFIX_PROBE_TIMEOUT");
	pathf(path, "%s/answers-then-fails", base);
	write_exec("answers-then-fails", "#!/bin/sh\nprintf 'a\\000b' >&3\n"
		   "echo 'RuntimeError: no' >&2\nexit 4\n");
	assert_null(pyc_interp_ask(path, "", &n, &err));
	assert_non_null(strstr(err.msg, "exit 4"));
	assert_non_null(strstr(err.msg, "RuntimeError: no"));
	pathf(path, "%s/answers", base);
	write_exec("answers", "#!/bin/sh\nprintf 'a\\000b' >&3\n");
	v = pyc_interp_ask(path, "", &n, &err);
	assert_non_null(v);
	assert_int_equal(n, 2);
	assert_string_equal(v[1], "b");
	pyc_strv_free(v, n);
}

/* The time-out is read as whole seconds, 1 to 3600; anything else is
 * the default 30 s. */
static void test_probe_timeout_setting(void **state)
{
	(void)state;
	unsetenv("PYCPREFIX_PROBE_TIMEOUT");
	assert_int_equal(pyc_probe_timeout_ms(), 30000);
	setenv("PYCPREFIX_PROBE_TIMEOUT", "2", 1);
	assert_int_equal(pyc_probe_timeout_ms(), 2000);
	setenv("PYCPREFIX_PROBE_TIMEOUT", "0", 1);
	assert_int_equal(pyc_probe_timeout_ms(), 30000);
	setenv("PYCPREFIX_PROBE_TIMEOUT", "2x", 1);
	assert_int_equal(pyc_probe_timeout_ms(), 30000);
	unsetenv("PYCPREFIX_PROBE_TIMEOUT");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_on_path),
		cmocka_unit_test(test_probe_answers),
		cmocka_unit_test(test_startup_reason),
		cmocka_unit_test(test_probe_pipe_not_inherited),
		cmocka_unit_test(test_probe_cache_short_write),
		cmocka_unit_test(test_ask_time_out_and_status),
		cmocka_unit_test(test_probe_timeout_setting),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
