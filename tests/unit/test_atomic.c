/* Unit tests of atomic.c and walk.c on a scratch directory. */
#include "unit.h"
#include "scratch.h"
#include "engine.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>


static int setup(void **state)
{
	(void)state;
	return scratch_make("atomic", 0);
}

static int teardown(void **state)
{
	(void)state;
	return scratch_remove();
}

static void test_write_creates_dirs_and_mode(void **state)
{
	char p[PATH_MAX];
	struct stat st;
	char data[6] = { 0 };
	FILE *f;

	(void)state;
	umask(022);
	assert_int_equal(pyc__write_atomic(base, "a/b/x.pyc", "hello", 5, 0644, 0), 0);
	at(p, "a/b/x.pyc");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	f = fopen(p, "rb");
	assert_int_equal(fread(data, 1, 5, f), 5);
	fclose(f);
	assert_string_equal(data, "hello");
	at(p, "a/b");
	stat(p, &st);
	assert_int_equal(st.st_mode & 0777, 0755);
	/* Replaced whole. */
	assert_int_equal(pyc__write_atomic(base, "a/b/x.pyc", "hi", 2, 0600, 0), 0);
	at(p, "a/b/x.pyc");
	stat(p, &st);
	assert_int_equal(st.st_size, 2);
}

/* PYC_WRITE_NOREPLACE: written whole where nothing was, EEXIST where a
 * file (or a dangling symlink) already is, which stays as it was; no
 * temporary is left either way. */
static void test_noreplace(void **state)
{
	char p[PATH_MAX], data[8] = { 0 };
	DIR *d;
	struct dirent *e;
	int n = 0;
	FILE *f;

	(void)state;
	assert_int_equal(pyc__write_atomic(base, "n/tag", "new", 3, 0644,
					   PYC_WRITE_NOREPLACE), 0);
	at(p, "n/tag");
	assert_non_null(f = fopen(p, "rb"));
	assert_int_equal(fread(data, 1, sizeof(data), f), 3);
	fclose(f);
	assert_string_equal(data, "new");
	errno = 0;
	assert_int_equal(pyc__write_atomic(base, "n/tag", "other", 5, 0644,
					   PYC_WRITE_NOREPLACE), -1);
	assert_int_equal(errno, EEXIST);
	assert_non_null(f = fopen(p, "rb"));
	assert_int_equal(fread(data, 1, sizeof(data), f), 3);
	fclose(f);
	at(p, "n/dangling");
	assert_int_equal(symlink("nowhere", p), 0);
	assert_int_equal(pyc__write_atomic(base, "n/dangling", "x", 1, 0644,
					   PYC_WRITE_NOREPLACE), -1);
	assert_int_equal(errno, EEXIST);
	at(p, "n/nowhere");
	assert_int_equal(access(p, F_OK), -1);
	at(p, "n");
	assert_non_null(d = opendir(p));
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	assert_int_equal(n, 2);
}

static void test_refuses_symlinked_dir(void **state)
{
	char p[PATH_MAX], target[PATH_MAX];

	(void)state;
	at(target, "elsewhere");
	mkdir(target, 0755);
	at(p, "link");
	assert_int_equal(symlink(target, p), 0);
	assert_int_equal(pyc__write_atomic(base, "link/x.pyc", "x", 1, 0644, 0), -1);
	assert_int_equal(errno, ENOTDIR);
	at(p, "elsewhere/x.pyc");
	assert_int_equal(access(p, F_OK), -1);
}

static void test_link(void **state)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct stat x, y;

	(void)state;
	assert_int_equal(pyc__write_atomic(base, "l/one.pyc", "1", 1, 0644, 0), 0);
	assert_int_equal(pyc__link_atomic(base, "l/one.pyc", "l/two.pyc", 0), 0);
	at(a, "l/one.pyc");
	at(b, "l/two.pyc");
	stat(a, &x);
	stat(b, &y);
	assert_int_equal(x.st_ino, y.st_ino);
}

static void test_strict_refuses_others_dirs(void **state)
{
	char p[PATH_MAX];

	(void)state;
	/* A directory anyone may write into: planted code could go there. */
	at(p, "open");
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(chmod(p, 0777), 0);
	assert_int_equal(pyc__write_atomic(base, "open/x.pyc", "x", 1, 0644,
					  PYC_WRITE_STRICT), -1);
	assert_int_equal(errno, EPERM);
	at(p, "open/x.pyc");
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(pyc__write_atomic(base, "open/x.pyc", "x", 1, 0644, 0),
			 0);
	/* The sticky bit makes it safe, as for /tmp. */
	at(p, "open");
	assert_int_equal(chmod(p, 01777), 0);
	assert_int_equal(pyc__write_atomic(base, "open/y.pyc", "y", 1, 0644,
					  PYC_WRITE_STRICT), 0);
	/* Another user's directory (root can make one). */
	if (geteuid() == 0) {
		at(p, "theirs");
		assert_int_equal(mkdir(p, 0755), 0);
		assert_int_equal(chown(p, 65534, 65534), 0);
		assert_int_equal(pyc__write_atomic(base, "theirs/x.pyc", "x", 1,
						  0644, PYC_WRITE_STRICT), -1);
		assert_int_equal(errno, EPERM);
	}
}

struct unsafe {
	char path[8][256];
	enum pyc_trust why[8];
	int n;
};

static void on_unsafe(const char *path, enum pyc_trust t,
		      const struct stat *st, void *arg)
{
	struct unsafe *u = arg;

	(void)st;
	if (u->n < 8) {
		snprintf(u->path[u->n], 256, "%s", path);
		u->why[u->n] = t;
	}
	u->n++;
}

static void test_trust_path(void **state)
{
	char p[PATH_MAX], q[PATH_MAX], link[PATH_MAX];
	struct unsafe u = { .n = 0 };

	(void)state;
	at(p, "t");
	assert_int_equal(mkdir(p, 0755), 0);
	at(p, "t/open");
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(chmod(p, 0757), 0);
	/* Missing directories below are fine: we would create them. */
	at(q, "t/open/not/yet");
	assert_int_equal(pyc_trust_path(q, geteuid(), on_unsafe, &u), 1);
	assert_string_equal(u.path[0], p);
	assert_int_equal(u.why[0], PYC_TRUST_WRITABLE);
	/* Reached through a symlink: the real directories are checked,
	 * each once, by the path the link resolves to (issue 12: the walk
	 * resolves links as the kernel does instead of checking the path
	 * as spelled and again as resolved). */
	u.n = 0;
	at(link, "t/alias");
	assert_int_equal(symlink(p, link), 0);
	at(q, "t/alias/pfx");
	assert_int_equal(pyc_trust_path(q, geteuid(), on_unsafe, &u), 1);
	assert_string_equal(u.path[0], p);
	assert_int_equal(u.why[0], PYC_TRUST_WRITABLE);
	/* A safe chain has no finding. */
	u.n = 0;
	at(q, "t");
	assert_int_equal(pyc_trust_path(q, geteuid(), on_unsafe, &u), 0);
	assert_int_equal(u.n, 0);
	/* Group write is fine only for the owner's private group. */
	struct stat st = { .st_mode = S_IFDIR | 0775, .st_uid = geteuid(),
			   .st_gid = 4242 };
	assert_int_equal(pyc_trust_stat(&st, geteuid()), PYC_TRUST_WRITABLE);
	st.st_mode = S_IFDIR | 01777;
	st.st_uid = 0;
	assert_int_equal(pyc_trust_stat(&st, 1000), PYC_TRUST_OK);
	st.st_uid = 1001;
	assert_int_equal(pyc_trust_stat(&st, 1000), PYC_TRUST_OWNER);
	st.st_mode = S_IFREG | 0644;
	assert_int_equal(pyc_trust_stat(&st, 1001), PYC_TRUST_NOT_DIR);
}

static void test_temp_names(void **state)
{
	(void)state;
	assert_true(pyc__is_temp_name(".x.cpython-312.pyc.pycprefix-0123abcd"));
	assert_true(pyc__is_temp_name("x.cpython-312.pyc.140234"));
	assert_false(pyc__is_temp_name("x.cpython-312.pyc"));
	assert_false(pyc__is_temp_name("x.py.123"));
	assert_false(pyc__is_temp_name(".x.pyc.pycprefix-xyz"));
	assert_true(pyc__is_temp_name(".pycprefix-0123456789ab"));
	assert_false(pyc__is_temp_name(".pycprefix-0123456789a"));
	assert_false(pyc__is_temp_name(".pycprefix-0123456789abc"));
	assert_false(pyc__is_temp_name(".pycprefix-0123456789aB"));
	assert_false(pyc__is_temp_name("pycprefix-0123456789ab"));
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
	char root[PATH_MAX], p[PATH_MAX];
	static const char *const files[] = { "w/b.py", "w/a.py", "w/c.txt",
					     "w/__pycache__/z.py", "w/d/e.py" };

	(void)state;
	at(root, "w");
	mkdir(root, 0755);
	at(p, "w/__pycache__");
	mkdir(p, 0755);
	at(p, "w/d");
	mkdir(p, 0755);
	for (size_t i = 0; i < 5; i++) {
		at(p, files[i]);
		fclose(fopen(p, "w"));
	}
	at(p, "w/dlink");
	symlink("d", p);
	assert_int_equal(pyc__walk(root, 0, &ops), 0);
	assert_int_equal(s.n, 3);
	assert_non_null(strstr(s.paths[0], "w/a.py"));
	assert_non_null(strstr(s.paths[1], "w/b.py"));
	assert_non_null(strstr(s.paths[2], "w/d/e.py"));
	s.n = 0;
	assert_int_equal(pyc__walk(root, PYC_WALK_FOLLOW, &ops), 0);
	assert_int_equal(s.n, 3); /* d once: dlink is the same directory */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_creates_dirs_and_mode),
		cmocka_unit_test(test_noreplace),
		cmocka_unit_test(test_refuses_symlinked_dir),
		cmocka_unit_test(test_link),
		cmocka_unit_test(test_strict_refuses_others_dirs),
		cmocka_unit_test(test_trust_path),
		cmocka_unit_test(test_temp_names),
		cmocka_unit_test(test_walk_order_and_skips),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
