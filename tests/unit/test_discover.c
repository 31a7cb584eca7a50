/* Unit tests of resolve.c and discover.c: what a --python value names,
 * against a fake PATH and a fake pyenv root (with shims) in a temporary
 * directory.  Nothing is run: pyc_interp_find() only looks at files. */
#include "unit.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/pycprefix-discover-XXXXXX";
static char oldcwd[4096], *oldpath;

static void put(const char *rel, const char *text, unsigned mode)
{
	char path[512], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (slash = strchr(path + strlen(dir) + 1, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

/* A pyenv shim as `pyenv rehash` writes it, for the fake root. */
static void put_shim(const char *name)
{
	char text[1024], rel[128];

	snprintf(text, sizeof(text),
		 "#!/usr/bin/env bash\nset -e\nprogram=\"${0##*/}\"\n\n"
		 "export PYENV_ROOT=\"%s/root\"\n"
		 "exec \"%s/root/libexec/pyenv\" exec \"$program\" \"$@\"\n",
		 dir, dir);
	snprintf(rel, sizeof(rel), "root/shims/%s", name);
	put(rel, text, 0755);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir) || !getcwd(oldcwd, sizeof(oldcwd)))
		return -1;
	oldpath = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	/* No pyenv of the machine's: $HOME/.pyenv is ours (and absent). */
	setenv("HOME", dir, 1);
	put("bin/python3.99", "#!/bin/sh\n", 0755);
	put("bin/mypython", "#!/bin/sh\n", 0755);
	put("noexec/mypython", "#!/bin/sh\n", 0644);
	put("root/versions/3.99.2/bin/python3.99", "#!/bin/sh\n", 0755);
	put("root/versions/3.99.10/bin/python3.99", "#!/bin/sh\n", 0755);
	put("root/versions/3.98.1/bin/python3.98", "#!/bin/sh\n", 0755);
	put("root/version", "3.99.2\n", 0644);
	put_shim("python3.99");
	put_shim("python3.98");
	put("work/.keep", "", 0644);
	/* No .python-version above the working directory but ours. */
	return chdir(dir);
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	if (chdir(oldcwd) < 0)
		return -1;
	if (oldpath)
		setenv("PATH", oldpath, 1);
	free(oldpath);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* PATH of one or two directories below the temporary one; no pyenv. */
static void set_path(const char *first, const char *second)
{
	char v[1024];

	if (second)
		snprintf(v, sizeof(v), "%s/%s:%s/%s", dir, first, dir, second);
	else
		snprintf(v, sizeof(v), "%s/%s", dir, first);
	setenv("PATH", v, 1);
	setenv("PYENV_ROOT", "", 1);
	unsetenv("PYENV_VERSION");
}

/* pyc_interp_find(spec) is `want` below the temporary directory. */
static void check(const char *spec, const char *want)
{
	struct pyc_error err = { { 0 } };
	char *out = (char *)"untouched", expect[512];

	if (!want) {
		assert_int_equal(pyc_interp_find(spec, &out, &err), -1);
		assert_null(out);
		assert_true(err.msg[0]);
		return;
	}
	snprintf(expect, sizeof(expect), "%s/%s", dir, want);
	assert_int_equal(pyc_interp_find(spec, &out, &err), 0);
	assert_string_equal(out, expect);
	free(out);
}

static void test_path(void **state)
{
	(void)state;
	set_path("noexec", "bin");
	check("3.99", "bin/python3.99");
	check("mypython", "bin/mypython"); /* not the unexecutable one */
	check("nosuchpython", NULL);
	assert_int_equal(errno, ENOENT);
	/* A path is taken as it is, if it is an executable file. */
	check("noexec/mypython", NULL);
}

/* A bare version not on PATH: the newest pyenv release of it, numbers
 * compared as numbers (3.99.10 after 3.99.2). */
static void test_pyenv_versions(void **state)
{
	char root[512];

	(void)state;
	set_path("noexec", NULL);
	snprintf(root, sizeof(root), "%s/root", dir);
	setenv("PYENV_ROOT", root, 1);
	check("3.99", "root/versions/3.99.10/bin/python3.99");
	check("3.98", "root/versions/3.98.1/bin/python3.98");
	check("3.97", NULL);
}

/* A shim is what pyenv would run: PYENV_VERSION, else the nearest
 * .python-version, else the root's version file; "system" is PATH
 * without the shims; a selection that lacks the command falls back to
 * PATH, then to the newest version that has it. */
static void test_shims(void **state)
{
	(void)state;
	set_path("root/shims", "bin");
	check("python3.99", "root/versions/3.99.2/bin/python3.99");
	setenv("PYENV_VERSION", "3.99", 1);
	check("python3.99", "root/versions/3.99.10/bin/python3.99");
	setenv("PYENV_VERSION", "3.98.1:3.99.2", 1);
	check("python3.99", "root/versions/3.99.2/bin/python3.99");
	setenv("PYENV_VERSION", "system", 1);
	check("python3.99", "bin/python3.99");
	unsetenv("PYENV_VERSION");
	put("work/.python-version", "system\n", 0644);
	assert_int_equal(chdir("work"), 0);
	check("python3.99", "bin/python3.99");
	assert_int_equal(chdir(dir), 0);
	/* The version file selects 3.99.2, which has no python3.98, and
	 * PATH has none but the shim: the newest version with it. */
	check("python3.98", "root/versions/3.98.1/bin/python3.98");
	/* A shim named by its path is resolved too. */
	check("root/shims/python3.99", "root/versions/3.99.2/bin/python3.99");
}

/* A full version, as 'pycprefix pythons' prints it: pyenv's
 * installation of that name, found without running anything. */
static void test_full_version(void **state)
{
	char root[512];

	(void)state;
	set_path("noexec", NULL);
	snprintf(root, sizeof(root), "%s/root", dir);
	setenv("PYENV_ROOT", root, 1);
	check("3.99.2", "root/versions/3.99.2/bin/python3.99");
	check("3.99.10", "root/versions/3.99.10/bin/python3.99");
	check("3.98.1", "root/versions/3.98.1/bin/python3.98");
}

/* A cache tag: the newest interpreter discovery finds of that tag.
 * It has to answer the probe: a wrapper of a real 3.11.7, newer than
 * any other 3.11 discovery may find here (pyenv's is hidden). */
#define REAL311 "/root/.pyenv/versions/3.11.7/bin/python3.11"
static void test_cache_tag(void **state)
{
	char root[512];

	(void)state;
	if (access(REAL311, X_OK) != 0)
		skip();
	put("real/python3.11", "#!/bin/sh\nexec " REAL311 " \"$@\"\n", 0755);
	set_path("real", NULL);
	snprintf(root, sizeof(root), "%s/root", dir);
	setenv("PYENV_ROOT", root, 1);
	check("cpython-311", "real/python3.11");
	check("3.11.7", "real/python3.11");
	check("cpython-399", NULL);
	assert_int_equal(errno, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_pyenv_versions),
		cmocka_unit_test(test_shims),
		cmocka_unit_test(test_full_version),
		cmocka_unit_test(test_cache_tag),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
