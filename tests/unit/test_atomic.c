/* Unit tests of atomic.c and walk.c on a scratch directory. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/pyc-atomic-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static void path_of(char *out, size_t n, const char *rel)
{
	snprintf(out, n, "%s/%s", dir, rel);
}

static void test_write_creates_dirs_and_mode(void **state)
{
	char p[256];
	struct stat st;
	char data[6] = { 0 };
	FILE *f;

	(void)state;
	umask(022);
	assert_int_equal(pyc_write_atomic(dir, "a/b/x.pyc", "hello", 5, 0644), 0);
	path_of(p, sizeof(p), "a/b/x.pyc");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	f = fopen(p, "rb");
	assert_int_equal(fread(data, 1, 5, f), 5);
	fclose(f);
	assert_string_equal(data, "hello");
	path_of(p, sizeof(p), "a/b");
	stat(p, &st);
	assert_int_equal(st.st_mode & 0777, 0755);
	/* Replaced whole. */
	assert_int_equal(pyc_write_atomic(dir, "a/b/x.pyc", "hi", 2, 0600), 0);
	path_of(p, sizeof(p), "a/b/x.pyc");
	stat(p, &st);
	assert_int_equal(st.st_size, 2);
}

static void test_refuses_symlinked_dir(void **state)
{
	char p[256], target[256];

	(void)state;
	path_of(target, sizeof(target), "elsewhere");
	mkdir(target, 0755);
	path_of(p, sizeof(p), "link");
	assert_int_equal(symlink(target, p), 0);
	assert_int_equal(pyc_write_atomic(dir, "link/x.pyc", "x", 1, 0644), -1);
	assert_int_equal(errno, ENOTDIR);
	path_of(p, sizeof(p), "elsewhere/x.pyc");
	assert_int_equal(access(p, F_OK), -1);
}

static void test_link(void **state)
{
	char a[256], b[256];
	struct stat x, y;

	(void)state;
	assert_int_equal(pyc_write_atomic(dir, "l/one.pyc", "1", 1, 0644), 0);
	assert_int_equal(pyc_link_atomic(dir, "l/one.pyc", "l/two.pyc"), 0);
	path_of(a, sizeof(a), "l/one.pyc");
	path_of(b, sizeof(b), "l/two.pyc");
	stat(a, &x);
	stat(b, &y);
	assert_int_equal(x.st_ino, y.st_ino);
}

static void test_temp_names(void **state)
{
	(void)state;
	assert_true(pyc_is_temp_name(".x.cpython-312.pyc.pycprefix-0123abcd"));
	assert_true(pyc_is_temp_name("x.cpython-312.pyc.140234"));
	assert_false(pyc_is_temp_name("x.cpython-312.pyc"));
	assert_false(pyc_is_temp_name("x.py.123"));
	assert_false(pyc_is_temp_name(".x.pyc.pycprefix-xyz"));
}

struct seen {
	char paths[16][256];
	int n;
};

static int collect(const char *path, const struct stat *st, void *arg)
{
	struct seen *s = arg;

	(void)st;
	snprintf(s->paths[s->n++], 256, "%s", path);
	return 0;
}

static void test_walk_order_and_skips(void **state)
{
	struct seen s = { .n = 0 };
	const struct pyc_walk_ops ops = { collect, NULL, NULL, &s };
	char root[256], p[256];
	static const char *const files[] = { "w/b.py", "w/a.py", "w/c.txt",
					     "w/__pycache__/z.py", "w/d/e.py" };

	(void)state;
	path_of(root, sizeof(root), "w");
	mkdir(root, 0755);
	path_of(p, sizeof(p), "w/__pycache__");
	mkdir(p, 0755);
	path_of(p, sizeof(p), "w/d");
	mkdir(p, 0755);
	for (size_t i = 0; i < 5; i++) {
		path_of(p, sizeof(p), files[i]);
		fclose(fopen(p, "w"));
	}
	path_of(p, sizeof(p), "w/dlink");
	symlink("d", p);
	assert_int_equal(pyc_walk(root, 0, &ops), 0);
	assert_int_equal(s.n, 3);
	assert_non_null(strstr(s.paths[0], "w/a.py"));
	assert_non_null(strstr(s.paths[1], "w/b.py"));
	assert_non_null(strstr(s.paths[2], "w/d/e.py"));
	s.n = 0;
	assert_int_equal(pyc_walk(root, PYC_WALK_FOLLOW, &ops), 0);
	assert_int_equal(s.n, 3); /* d once: dlink is the same directory */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_creates_dirs_and_mode),
		cmocka_unit_test(test_refuses_symlinked_dir),
		cmocka_unit_test(test_link),
		cmocka_unit_test(test_temp_names),
		cmocka_unit_test(test_walk_order_and_skips),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
