/* Unit tests of du.c: the root of a pyc's directory, the inode set. */
#include "unit.h"
#include "internal.h"

#include <sys/stat.h>
#include <unistd.h>

static void expect_root(const char *dir, const char *want)
{
	char *got = pyc__du_root(dir);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_library_roots(void **state)
{
	(void)state;
	expect_root("/v/lib/python3.12/site-packages/pkg/sub",
		    "/v/lib/python3.12/site-packages");
	expect_root("/usr/lib/python3/dist-packages/x", "/usr/lib/python3/"
		    "dist-packages");
	expect_root("/o/lib/python3.11/json", "/o/lib/python3.11");
	expect_root("/o/lib64/python3.13t/json", "/o/lib64/python3.13t");
	expect_root("/o/lib/python3.11", "/o/lib/python3.11");
	/* The deepest one: a venv inside a site-packages tree. */
	expect_root("/a/site-packages/b/lib/python3.9/site-packages/c",
		    "/a/site-packages/b/lib/python3.9/site-packages");
	/* Not an interpreter's library: no lib/ before it, or no version. */
	expect_root("/nowhere/python3.12/x", "/nowhere/python3.12/x");
	expect_root("/nowhere/lib/python3/x", "/nowhere/lib/python3/x");
	expect_root("/nowhere/lib/python3.x/y", "/nowhere/lib/python3.x/y");
	expect_root("/", "/");
}

static void touch(const char *path)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fclose(f);
}

static void test_package_roots(void **state)
{
	char base[] = "/tmp/pyc-du-unit-XXXXXX", p[256];

	(void)state;
	assert_non_null(mkdtemp(base));
	snprintf(p, sizeof(p), "%s/proj/app/core", base);
	assert_int_equal(pyc__mkdir_p(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/proj/app/__init__.py", base);
	touch(p);
	snprintf(p, sizeof(p), "%s/proj/app/core/__init__.py", base);
	touch(p);
	snprintf(p, sizeof(p), "%s/proj/app/core", base);
	char want[256];
	snprintf(want, sizeof(want), "%s/proj", base);
	expect_root(p, want);
	snprintf(p, sizeof(p), "%s/proj", base);
	expect_root(p, want);
	/* A folder that is no package, or is gone: itself. */
	snprintf(p, sizeof(p), "%s/proj/gone/x", base);
	expect_root(p, p);
	snprintf(p, sizeof(p), "rm -rf '%s'", base);
	assert_int_equal(system(p), 0);
}

static void test_inode_set(void **state)
{
	struct pyc__inodes s = { 0 };

	(void)state;
	for (ino_t i = 1; i <= 1000; i++)
		assert_int_equal(pyc__inodes_add(&s, 7, i * 977), 1);
	for (ino_t i = 1; i <= 1000; i++)
		assert_int_equal(pyc__inodes_add(&s, 7, i * 977), 0);
	assert_int_equal(pyc__inodes_add(&s, 8, 977), 1);
	assert_int_equal(s.n, 1001);
	pyc__inodes_release(&s);
	assert_int_equal(pyc__inodes_add(&s, 1, 0), 1);
	pyc__inodes_release(&s);
}

static void test_inode_counts(void **state)
{
	struct pyc__inodes s = { 0 };

	(void)state;
	assert_int_equal(pyc__inodes_count(&s, 1, 5, -1), 0); /* never < 0 */
	for (ino_t i = 1; i <= 300; i++)
		for (long k = 1; k <= 3; k++)
			assert_int_equal(pyc__inodes_count(&s, 1, i, 1), k);
	assert_int_equal(pyc__inodes_count(&s, 1, 7, -1), 2);
	assert_int_equal(pyc__inodes_count(&s, 2, 7, 1), 1);
	assert_int_equal(pyc__inodes_add(&s, 1, 7), 0);
	pyc__inodes_release(&s);
}

static void test_magic_series(void **state)
{
	(void)state;
	assert_string_equal(pyc_magic_series(62211), "2.7");
	assert_string_equal(pyc_magic_series(3379), "3.6");
	assert_string_equal(pyc_magic_series(3394), "3.7");
	assert_string_equal(pyc_magic_series(3413), "3.8");
	assert_string_equal(pyc_magic_series(3500), "3.12");
	assert_string_equal(pyc_magic_series(3571), "3.13");
	assert_null(pyc_magic_series(1234));
	assert_null(pyc_magic_series(3395));
	/* Every release magic is in its series. */
	for (int minor = 8; minor <= 14; minor++) {
		char want[8];
		snprintf(want, sizeof(want), "3.%d", minor);
		assert_string_equal(pyc_magic_series(pyc_magic_of_version(3,
						    minor)), want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_library_roots),
		cmocka_unit_test(test_package_roots),
		cmocka_unit_test(test_inode_set),
		cmocka_unit_test(test_inode_counts),
		cmocka_unit_test(test_magic_series),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
