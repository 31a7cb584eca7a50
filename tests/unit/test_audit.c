/*
 * Unit tests of audit.c: pyc_audit() of a prefix holding what doctor
 * must point out (a symlink, files and directories of another user, a
 * directory others may write into, writers' leftovers) besides its pycs,
 * and pyc_tree_links() of a source tree.  Another user's files need
 * root (chown); the tests run as root here, and without it that part is
 * left out (said on stderr).
 */
#include "unit.h"
#include "scratch.h"
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#define OTHER_UID 4242


static int setup(void **state)
{
	(void)state;
	return scratch_make("audit", 0755);
}

static int teardown(void **state)
{
	(void)state;
	return scratch_remove();
}

static void mkdirs(const char *rel)
{
	char p[PATH_MAX];

	assert_int_equal(pyc__mkdir_p(at(p, rel), 0755), 0);
}

static void put(const char *rel, size_t size)
{
	char p[PATH_MAX];
	FILE *f = fopen(at(p, rel), "wb");

	assert_non_null(f);
	for (size_t i = 0; i < size; i++)
		assert_int_equal(fputc('x', f), 'x');
	assert_int_equal(fclose(f), 0);
}

/* ---- what an audit reports ---- */

#define MAXSEEN 16

struct seen {
	size_t n, npyc, nerr;
	enum pyc_audit_kind kind[MAXSEEN];
	char path[MAXSEEN][PATH_MAX];
	char pyc_tag[MAXSEEN][32];
	int pyc_level[MAXSEEN];
	char pyc_dir[MAXSEEN][PATH_MAX];
	char err_path[PATH_MAX];
};

static void on_finding(const struct pyc_audit_item *it, void *arg)
{
	struct seen *s = arg;

	assert_true(s->n < MAXSEEN);
	s->kind[s->n] = it->kind;
	pathf(s->path[s->n], "%s", it->path);
	s->n++;
}

static void on_pyc(const struct pyc_du_item *it, void *arg)
{
	struct seen *s = arg;

	assert_true(s->npyc < MAXSEEN);
	assert_null(it->root);
	snprintf(s->pyc_tag[s->npyc], sizeof(s->pyc_tag[0]), "%s", it->tag);
	s->pyc_level[s->npyc] = it->level;
	pathf(s->pyc_dir[s->npyc], "%s", it->dir);
	s->npyc++;
}

static void on_error(const char *path, const char *message, void *arg)
{
	struct seen *s = arg;

	(void)message;
	pathf(s->err_path, "%s", path);
	s->nerr++;
}

/* Was `rel` (below base) reported as `kind`? */
static bool reported(const struct seen *s, const char *rel,
		     enum pyc_audit_kind kind)
{
	char p[PATH_MAX];

	at(p, rel);
	for (size_t i = 0; i < s->n; i++)
		if (s->kind[i] == kind && strcmp(s->path[i], p) == 0)
			return true;
	return false;
}

/*
 * The prefix: pycs, a symlink (to a directory of pycs outside, which is
 * not followed), another user's file and directory, a world-writable
 * directory and a sticky one, our temporary file and CPython's, and
 * names that look like neither.
 */
static void test_audit_findings(void **state)
{
	struct pyc_audit_ops ops = { on_finding, on_pyc, on_error, NULL };
	struct pyc_tidy_stats st;
	struct seen s = { 0 };
	char pfx[PATH_MAX], p[PATH_MAX];
	bool root_user = geteuid() == 0;

	(void)state;
	ops.arg = &s;
	mkdirs("pfx/home/u/proj");
	mkdirs("pfx/open");
	mkdirs("pfx/sticky");
	mkdirs("pfx/theirs");
	mkdirs("outside");
	put("pfx/home/u/proj/m.cpython-312.pyc", 100);
	put("pfx/home/u/proj/m.cpython-312.opt-1.pyc", 50);
	put("pfx/home/u/proj/.pycprefix-0123456789ab", 10);
	put("pfx/home/u/proj/m.cpython-312.pyc.140234", 10);
	put("pfx/home/u/proj/.pycprefix-nothex", 1);
	put("pfx/home/u/proj/m.cpython-312.pyc.12a", 1);
	put("pfx/theirs/t.cpython-311.pyc", 7);
	put("pfx/home/u/proj/their.cpython-312.pyc", 3);
	put("outside/far.cpython-312.pyc", 1000);
	assert_int_equal(symlink(at(p, "outside"), at(pfx, "pfx/home/u/lnk")),
			 0);
	assert_int_equal(chmod(at(p, "pfx/open"), 0777), 0);
	assert_int_equal(chmod(at(p, "pfx/sticky"), 01777), 0);
	if (root_user) {
		assert_int_equal(chown(at(p, "pfx/theirs"), OTHER_UID,
				       OTHER_UID), 0);
		assert_int_equal(chown(at(p,
				"pfx/home/u/proj/their.cpython-312.pyc"),
				OTHER_UID, OTHER_UID), 0);
		assert_int_equal(lchown(at(p, "pfx/home/u/lnk"), OTHER_UID,
					OTHER_UID), 0);
	} else {
		fprintf(stderr, "test_audit: not root: no other user's "
				"files\n");
	}

	assert_int_equal(pyc_audit(at(pfx, "pfx"), &ops, &st), 0);
	assert_true(reported(&s, "pfx/home/u/lnk", PYC_AUDIT_SYMLINK));
	assert_true(reported(&s, "pfx/open", PYC_AUDIT_OPEN_DIR));
	assert_false(reported(&s, "pfx/sticky", PYC_AUDIT_OPEN_DIR));
	assert_true(reported(&s, "pfx/home/u/proj/.pycprefix-0123456789ab",
			     PYC_AUDIT_TEMP));
	assert_true(reported(&s, "pfx/home/u/proj/m.cpython-312.pyc.140234",
			     PYC_AUDIT_TEMP));
	size_t expected = 4;
	if (root_user) {
		assert_true(reported(&s, "pfx/theirs", PYC_AUDIT_FOREIGN));
		assert_true(reported(&s,
				"pfx/home/u/proj/their.cpython-312.pyc",
				PYC_AUDIT_FOREIGN));
		/* The link's own owner, not its target's. */
		assert_true(reported(&s, "pfx/home/u/lnk", PYC_AUDIT_FOREIGN));
		/* Another user's directory is foreign, not also "open". */
		assert_false(reported(&s, "pfx/theirs", PYC_AUDIT_OPEN_DIR));
		expected += 3;
	}
	assert_int_equal(s.n, expected);
	assert_int_equal(s.nerr, 0);
	assert_int_equal(st.errors, 0);

	/* The pycs, as du sees them; none through the link. */
	assert_int_equal(s.npyc, 4);
	assert_int_equal(st.kept, 4);
	assert_int_equal(st.bytes, 100 + 50 + 7 + 3);
	for (size_t i = 0; i < s.npyc; i++) {
		if (strcmp(s.pyc_tag[i], "cpython-311") == 0) {
			assert_string_equal(s.pyc_dir[i], "theirs");
			assert_int_equal(s.pyc_level[i], 0);
		} else {
			assert_string_equal(s.pyc_tag[i], "cpython-312");
			assert_string_equal(s.pyc_dir[i], "home/u/proj");
		}
	}
}

/* Without ops->pyc only the findings; a directory that cannot be read
 * is an error and the walk goes on. */
static void test_audit_unreadable_dir(void **state)
{
	struct pyc_audit_ops ops = { on_finding, NULL, on_error, NULL };
	struct pyc_tidy_stats st;
	struct seen s = { 0 };
	char pfx[PATH_MAX], p[PATH_MAX];
	bool root_user = geteuid() == 0;

	(void)state;
	ops.arg = &s;
	mkdirs("pfx/closed");
	mkdirs("pfx/ok");
	put("pfx/ok/.pycprefix-00000000000f", 1);
	put("pfx/ok/a.cpython-312.pyc", 1);
	assert_int_equal(chmod(at(p, "pfx/closed"), 0), 0);
	if (root_user) {  /* root reads everything: audit as nobody */
		assert_int_equal(chown(at(p, "pfx"), 65534, 65534), 0);
		assert_int_equal(chown(at(p, "pfx/closed"), 65534, 65534), 0);
		assert_int_equal(chown(at(p, "pfx/ok"), 65534, 65534), 0);
		assert_int_equal(seteuid(65534), 0);
	}
	int ret = pyc_audit(at(pfx, "pfx"), &ops, &st);
	if (root_user)
		assert_int_equal(seteuid(0), 0);
	assert_int_equal(ret, 0);
	assert_int_equal(s.nerr, 1);
	assert_int_equal(st.errors, 1);
	assert_string_equal(s.err_path, at(p, "pfx/closed"));
	/* The temp file is reported, as the only finding: root's files
	 * are no other user's. */
	assert_int_equal(s.n, 1);
	assert_true(reported(&s, "pfx/ok/.pycprefix-00000000000f",
			     PYC_AUDIT_TEMP));
	assert_int_equal(st.kept, 0);
}

/* ---- pyc_tree_links ---- */

struct links {
	size_t n;
	char path[MAXSEEN][PATH_MAX];
};

static void on_link(const char *path, void *arg)
{
	struct links *l = arg;

	assert_true(l->n < MAXSEEN);
	pathf(l->path[l->n++], "%s", path);
}

/* The links that lead back into the tree, to a directory or a *.py, in
 * walk order: not those that lead out, dangle, or name a file that is
 * no module. */
static void test_tree_links(void **state)
{
	struct links l = { 0 };
	char root[PATH_MAX], p[PATH_MAX], q[PATH_MAX];

	(void)state;
	mkdirs("t/pkg/sub");
	mkdirs("elsewhere");
	put("t/pkg/m.py", 1);
	put("t/pkg/data.txt", 1);
	put("elsewhere/e.py", 1);
	assert_int_equal(symlink("pkg", at(p, "t/alias")), 0);
	assert_int_equal(symlink("pkg/m.py", at(p, "t/b.py")), 0);
	assert_int_equal(symlink("pkg/data.txt", at(p, "t/c.txt")), 0);
	assert_int_equal(symlink(at(q, "elsewhere"), at(p, "t/out")), 0);
	assert_int_equal(symlink(at(q, "elsewhere/e.py"), at(p, "t/e.py")),
			 0);
	assert_int_equal(symlink("nowhere", at(p, "t/dangling")), 0);
	assert_int_equal(symlink("../..", at(p, "t/pkg/sub/top")), 0);
	/* A sibling whose name starts like the root's is outside it. */
	mkdirs("t2");
	assert_int_equal(symlink(at(q, "t2"), at(p, "t/pkg/t2")), 0);

	assert_int_equal(pyc_tree_links(at(root, "t"), on_link, &l), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.path[0], at(p, "t/alias"));
	assert_string_equal(l.path[1], at(p, "t/b.py"));
	assert_string_equal(l.path[2], at(p, "t/pkg/sub/top"));

	errno = 0;
	assert_int_equal(pyc_tree_links(at(root, "absent"), on_link, &l), -1);
	assert_int_equal(errno, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_audit_findings, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_audit_unreadable_dir,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_tree_links, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
