/*
 * Unit tests of trust.c: the StrictModes rule on one directory, and the
 * walk from '/' that resolves each component as the kernel does, without
 * following a link before its owner is checked.  The chown'd cases need
 * root (they make files owned by nobody) and are skipped otherwise.
 */
#include "unit.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOBODY 65534

static char dir[] = "/tmp/pyc-trust-XXXXXX";

struct seen {
	int n;
	char path[8][512];
	enum pyc_trust t[8];
	uid_t uid[8];
	bool link[8];
};

static void on_unsafe(const char *path, enum pyc_trust t,
		      const struct stat *st, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8) {
		snprintf(s->path[s->n], sizeof(s->path[0]), "%s", path);
		s->t[s->n] = t;
		s->uid[s->n] = st->st_uid;
		s->link[s->n] = S_ISLNK(st->st_mode);
	}
	s->n++;
}

static const char *at(const char *rel)
{
	static char path[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(path[k], sizeof(path[k]), "%s/%s", dir, rel);
	return path[k];
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[64];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void test_one_directory(void **state)
{
	struct stat st = { .st_mode = S_IFDIR | 0755, .st_uid = 1000 };

	(void)state;
	assert_int_equal(pyc_trust_stat(&st, 1000), PYC_TRUST_OK);
	assert_int_equal(pyc_trust_stat(&st, 1001), PYC_TRUST_OWNER);
	st.st_uid = 0;
	assert_int_equal(pyc_trust_stat(&st, 1001), PYC_TRUST_OK);
	st.st_mode = S_IFDIR | 0777;
	assert_int_equal(pyc_trust_stat(&st, 1001), PYC_TRUST_WRITABLE);
	st.st_mode = S_IFDIR | 01777;
	assert_int_equal(pyc_trust_stat(&st, 1001), PYC_TRUST_OK);
	st.st_mode = S_IFREG | 0644;
	assert_int_equal(pyc_trust_stat(&st, 0), PYC_TRUST_NOT_DIR);
}

static void test_safe_and_missing(void **state)
{
	struct seen s = { 0 };

	(void)state;
	assert_int_equal(mkdir(at("safe"), 0755), 0);
	assert_int_equal(pyc_trust_path(at("safe"), geteuid(), on_unsafe, &s),
			 0);
	/* What does not exist yet would be the user's own. */
	assert_int_equal(pyc_trust_path(at("safe/not/yet"), geteuid(),
					on_unsafe, &s), 0);
	assert_int_equal(mkdir(at("open"), 0755), 0);
	chmod(at("open"), 0777);
	assert_int_equal(pyc_trust_path(at("open/p"), geteuid(), on_unsafe,
					&s), 1);
	assert_string_equal(s.path[0], at("open"));
	assert_int_equal(s.t[0], PYC_TRUST_WRITABLE);
}

/* A symlink owned by another user in a sticky directory (as /tmp):
 * stat() sees a safe directory through it, but its owner can point it
 * anywhere.  The link is reported, with its owner. */
static void test_link_owned_by_another_user(void **state)
{
	struct seen s = { 0 };

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(mkdir(at("sticky"), 0755), 0);
	chmod(at("sticky"), 01777);
	assert_int_equal(mkdir(at("target"), 0755), 0);
	assert_int_equal(symlink(at("target"), at("sticky/link")), 0);
	assert_int_equal(lchown(at("sticky/link"), NOBODY, NOBODY), 0);
	assert_int_equal(pyc_trust_path(at("sticky/link"), 0, on_unsafe, &s),
			 1);
	assert_string_equal(s.path[0], at("sticky/link"));
	assert_int_equal(s.t[0], PYC_TRUST_OWNER);
	assert_int_equal(s.uid[0], NOBODY);
	assert_true(s.link[0]);
	/* Below it, too, and through a relative path. */
	s.n = 0;
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(pyc_trust_path("sticky/link/sub/p", 0, on_unsafe, &s),
			 1);
	assert_true(s.link[0]);
	assert_int_equal(chdir("/"), 0);
}

/* A link of the user's own to a directory of another: the directory it
 * resolves to is checked; a relative target resolves from the link's
 * directory, and ".." after a link goes to the target's parent, as the
 * kernel resolves them. */
static void test_link_to_another_users_directory(void **state)
{
	struct seen s = { 0 };

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(mkdir(at("theirs"), 0755), 0);
	assert_int_equal(chown(at("theirs"), NOBODY, NOBODY), 0);
	assert_int_equal(mkdir(at("mine"), 0755), 0);
	assert_int_equal(symlink("../theirs", at("mine/rel")), 0);
	assert_int_equal(pyc_trust_path(at("mine/rel/p"), 0, on_unsafe, &s),
			 1);
	assert_string_equal(s.path[0], at("theirs"));
	assert_int_equal(s.t[0], PYC_TRUST_OWNER);
	assert_false(s.link[0]);
	/* mine/deep -> a/b; mine/deep/../evil is mine/a/evil. */
	s.n = 0;
	assert_int_equal(mkdir(at("mine/a"), 0755), 0);
	assert_int_equal(mkdir(at("mine/a/b"), 0755), 0);
	assert_int_equal(mkdir(at("mine/a/evil"), 0755), 0);
	assert_int_equal(chown(at("mine/a/evil"), NOBODY, NOBODY), 0);
	assert_int_equal(symlink("a/b", at("mine/deep")), 0);
	assert_int_equal(pyc_trust_path(at("mine/deep/../evil/p"), 0,
					on_unsafe, &s), 1);
	assert_string_equal(s.path[0], at("mine/a/evil"));
}

/* A loop of links ends the walk (the kernel would say ELOOP). */
static void test_link_loop(void **state)
{
	struct seen s = { 0 };

	(void)state;
	assert_int_equal(symlink("loop2", at("loop1")), 0);
	assert_int_equal(symlink("loop1", at("loop2")), 0);
	assert_true(pyc_trust_path(at("loop1/p"), geteuid(), on_unsafe, &s)
		    >= 0);
	assert_int_equal(s.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_directory),
		cmocka_unit_test(test_safe_and_missing),
		cmocka_unit_test(test_link_owned_by_another_user),
		cmocka_unit_test(test_link_to_another_users_directory),
		cmocka_unit_test(test_link_loop),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
