/*
 * Unit tests of walk.c, compile's walk of source trees, on small trees in
 * a scratch directory: compileall's order and spelling of paths, what a
 * file system that gives no d_type changes (nothing), the symlink policy
 * with and without PYC_WALK_FOLLOW, the errors it reports and
 * PYC_WALK_LAZY_STAT.
 *
 * readdir() is replaced in this program (the library, linked statically,
 * calls ours): it can answer DT_UNKNOWN for every entry, as file systems
 * that do not fill d_type do.
 */
#include "unit.h"
#include "scratch.h"
#include "engine.h"
#include "internal.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the fault: no d_type ---- */

static bool no_d_type;

struct dirent *readdir(DIR *d)
{
	static struct dirent *(*real)(DIR *);
	static struct dirent copy;
	struct dirent *e;

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "readdir");
	assert_non_null(real);
	e = real(d);
	if (!e || !no_d_type)
		return e;
	memcpy(&copy, e, sizeof(copy));
	copy.d_type = DT_UNKNOWN;
	return &copy;
}

/* ---- scratch trees ---- */


static int setup(void **state)
{
	(void)state;
	no_d_type = false;
	/* Searchable by the unprivileged user of test_unreadable_dir. */
	return scratch_make("walk", 0755);
}

static int teardown(void **state)
{
	(void)state;
	no_d_type = false;
	return scratch_remove();
}

static void mkdirs(const char *rel)
{
	char p[PATH_MAX];

	assert_int_equal(pyc__mkdir_p(at(p, rel), 0755), 0);
}

static void put(const char *rel)
{
	char p[PATH_MAX];
	FILE *f = fopen(at(p, rel), "w");

	assert_non_null(f);
	assert_int_equal(fclose(f), 0);
}

static void link_to(const char *target, const char *rel)
{
	char p[PATH_MAX];

	assert_int_equal(symlink(target, at(p, rel)), 0);
}

/* ---- what a walk reports ---- */

#define MAXSEEN 32

struct seen {
	size_t n, nerr, nlazy;
	char path[MAXSEEN][PATH_MAX];
	bool had_stat[MAXSEEN];
	char err_path[4][PATH_MAX];
	int err[4];
	const char *exclude;  /* a path to leave out */
	const char *stop_at;  /* return 7 for this source */
};

static int on_source(const char *path, const struct stat *st, void *arg)
{
	struct seen *s = arg;

	assert_true(s->n < MAXSEEN);
	pathf(s->path[s->n], "%s", path);
	s->had_stat[s->n] = st != NULL;
	if (st)
		assert_true(S_ISREG(st->st_mode));
	else
		s->nlazy++;
	s->n++;
	return s->stop_at && strcmp(path, s->stop_at) == 0 ? 7 : 0;
}

static void on_error(const char *path, int errnum, void *arg)
{
	struct seen *s = arg;

	if (s->nerr < 4) {
		pathf(s->err_path[s->nerr], "%s", path);
		s->err[s->nerr] = errnum;
	}
	s->nerr++;
}

static bool on_exclude(const char *path, void *arg)
{
	struct seen *s = arg;

	return s->exclude && strcmp(path, s->exclude) == 0;
}

static int walk(const char *root, unsigned flags, struct seen *s)
{
	struct pyc_walk_ops ops = { on_source, on_error, on_exclude, s };

	return pyc__walk(root, flags, &ops);
}

/* The sources seen, relative to base, as "a.py b/c.py". */
static char *seen_list(const struct seen *s, const char *root)
{
	static char out[MAXSEEN * 64];
	size_t len = 0, rlen = strlen(root);

	out[0] = '\0';
	for (size_t i = 0; i < s->n; i++) {
		const char *p = s->path[i];
		assert_true(strncmp(p, root, rlen) == 0);
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s",
					i ? " " : "", p + rlen);
		assert_true(len < sizeof(out));
	}
	return out;
}

/*
 * A tree whose byte order differs from any locale's, with what
 * compileall passes over: non-*.py files, __pycache__, a directory
 * named *.py.  What compileall (3.8 to 3.13) compiles from it, in its
 * order: python -c 'import compileall; compileall.compile_dir(ROOT)'
 * lists the same.
 */
static void sample_tree(void)
{
	mkdirs("t/B");
	mkdirs("t/a_dir/sub");
	mkdirs("t/__pycache__");
	mkdirs("t/dir.py");
	put("t/b.py");
	put("t/a.py");
	put("t/Z.py");
	put("t/_.py");
	put("t/\xc3\xa9.py");
	put("t/a.pyc");
	put("t/a.py.txt");
	put("t/py");
	put("t/B/x.py");
	put("t/a_dir/y.py");
	put("t/a_dir/sub/z.py");
	put("t/__pycache__/c.py");
	put("t/dir.py/inner.py");
}

static const char sample_order[] =
	"B/x.py Z.py _.py a.py a_dir/sub/z.py a_dir/y.py b.py "
	"dir.py/inner.py \xc3\xa9.py";

static void test_compileall_order(void **state)
{
	struct seen s = { 0 };
	char root[PATH_MAX], prefix[PATH_MAX + 2];

	(void)state;
	sample_tree();
	at(root, "t");
	assert_int_equal(walk(root, 0, &s), 0);
	pathf(prefix, "%s/", root);
	assert_string_equal(seen_list(&s, prefix), sample_order);
	assert_int_equal(s.nerr, 0);
}

/* os.path.join(dir, name): a root spelled with a trailing slash gets no
 * second one, one spelled with two keeps both; "./" stays. */
static void test_paths_spelled_from_the_root(void **state)
{
	struct seen s = { 0 };
	char root[PATH_MAX];

	(void)state;
	mkdirs("t/d");
	put("t/d/m.py");
	assert_int_equal(walk(pathf(root, "%s/t/", base), 0, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.path[0], pathf(root, "%s/t/d/m.py", base));

	memset(&s, 0, sizeof(s));
	assert_int_equal(walk(pathf(root, "%s/t//", base), 0, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.path[0], pathf(root, "%s/t//d/m.py", base));

	memset(&s, 0, sizeof(s));
	assert_int_equal(chdir(base), 0);
	assert_int_equal(walk("./t", 0, &s), 0);
	assert_int_equal(chdir("/"), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.path[0], "./t/d/m.py");
}

/* A root that is a file is compiled alone if it is named *.py, as
 * compile_file() does; a root that does not exist is an error. */
static void test_root_file_and_missing_root(void **state)
{
	struct seen s = { 0 };
	char p[PATH_MAX];

	(void)state;
	put("one.py");
	put("one.txt");
	assert_int_equal(walk(at(p, "one.py"), 0, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.path[0], p);
	assert_true(s.had_stat[0]);
	assert_int_equal(walk(at(p, "one.txt"), 0, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(walk(at(p, "absent"), 0, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.nerr, 1);
	assert_string_equal(s.err_path[0], p);
	assert_int_equal(s.err[0], ENOENT);
}

/* Without d_type every entry is stat()ed: the same sources, in the same
 * order, and a symlinked directory is still told from a real one. */
static void test_no_d_type_same_walk(void **state)
{
	struct seen s = { 0 };
	char root[PATH_MAX], prefix[PATH_MAX + 2], other[PATH_MAX];

	(void)state;
	sample_tree();
	mkdirs("elsewhere");
	put("elsewhere/far.py");
	link_to(at(other, "elsewhere"), "t/linked");
	at(root, "t");
	pathf(prefix, "%s/", root);
	no_d_type = true;
	assert_int_equal(walk(root, 0, &s), 0);
	assert_string_equal(seen_list(&s, prefix), sample_order);
	memset(&s, 0, sizeof(s));
	assert_int_equal(walk(root, PYC_WALK_FOLLOW, &s), 0);
	assert_string_equal(strstr(seen_list(&s, prefix), "linked/far.py"),
			    "linked/far.py \xc3\xa9.py");
	/* Lazy stat needs d_type: with none, every source is examined. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(walk(root, PYC_WALK_LAZY_STAT, &s), 0);
	assert_string_equal(seen_list(&s, prefix), sample_order);
	assert_int_equal(s.nlazy, 0);
}

/*
 * compileall descends into no symlinked directory; a symlink to a file
 * named *.py is a source (os.path.isfile() follows it), a dangling one
 * or a loop is none and no error.  With PYC_WALK_FOLLOW every real
 * directory is entered once, so a link to an ancestor ends.
 */
static void test_symlink_policy(void **state)
{
	struct seen s = { 0 };
	char root[PATH_MAX], prefix[PATH_MAX + 2], p[PATH_MAX];

	(void)state;
	mkdirs("t/pkg");
	mkdirs("out");
	put("t/pkg/m.py");
	put("out/o.py");
	put("out/target.txt");
	link_to(at(p, "out"), "t/dirlink");
	link_to("pkg/m.py", "t/alias.py");
	link_to(at(p, "out/target.txt"), "t/text.py");
	link_to("nowhere.py", "t/dangling.py");
	link_to("loop.py", "t/loop.py");
	link_to("..", "t/pkg/up");
	at(root, "t");
	pathf(prefix, "%s/", root);

	assert_int_equal(walk(root, 0, &s), 0);
	assert_string_equal(seen_list(&s, prefix),
			    "alias.py pkg/m.py text.py");
	assert_int_equal(s.nerr, 0);

	memset(&s, 0, sizeof(s));
	assert_int_equal(walk(root, PYC_WALK_FOLLOW, &s), 0);
	/* pkg/up is t itself, entered already; dirlink is out. */
	assert_string_equal(seen_list(&s, prefix),
			    "alias.py dirlink/o.py pkg/m.py text.py");
	assert_int_equal(s.nerr, 0);

	/* The root itself may be a link: it is entered, as os.listdir()
	 * follows it. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(walk(at(p, "t/dirlink"), 0, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.path[0], at(p, "t/dirlink/o.py"));
}

/* A directory that cannot be read is reported and the walk goes on;
 * one that can be listed but not searched hides sources, reported too. */
static void test_unreadable_dir(void **state)
{
	struct seen s = { 0 };
	char root[PATH_MAX], prefix[PATH_MAX + 2], p[PATH_MAX];
	bool root_user = geteuid() == 0;

	(void)state;
	mkdirs("t/closed");
	mkdirs("t/listonly");
	put("t/closed/hidden.py");
	put("t/listonly/unseen.py");
	put("t/open.py");
	assert_int_equal(chmod(at(p, "t"), 0755), 0);
	assert_int_equal(chmod(at(p, "t/closed"), 0), 0);
	assert_int_equal(chmod(at(p, "t/listonly"), 0444), 0);
	at(root, "t");
	pathf(prefix, "%s/", root);
	/* root reads everything: walk as nobody. */
	if (root_user)
		assert_int_equal(seteuid(65534), 0);
	int ret = walk(root, 0, &s);
	if (root_user)
		assert_int_equal(seteuid(0), 0);
	assert_int_equal(ret, 0);
	assert_string_equal(seen_list(&s, prefix), "open.py");
	assert_int_equal(s.nerr, 2);
	assert_string_equal(s.err_path[0], at(p, "t/closed"));
	assert_int_equal(s.err[0], EACCES);
	assert_string_equal(s.err_path[1], at(p, "t/listonly/unseen.py"));
	assert_int_equal(s.err[1], EACCES);
}

/* With PYC_WALK_LAZY_STAT an entry listed as a regular *.py is passed
 * unexamined (st NULL); what the directory does not call regular (a
 * symlink) is still examined; pyc__walk_stat_source() judges later as
 * the walk would have. */
static void test_lazy_stat(void **state)
{
	struct seen s = { 0 };
	struct stat st;
	char root[PATH_MAX], prefix[PATH_MAX + 2], p[PATH_MAX];

	(void)state;
	mkdirs("t/d");
	put("t/a.py");
	put("t/d/b.py");
	link_to("a.py", "t/c.py");
	link_to("none", "t/dangling.py");
	at(root, "t");
	pathf(prefix, "%s/", root);
	assert_int_equal(walk(root, PYC_WALK_LAZY_STAT, &s), 0);
	assert_string_equal(seen_list(&s, prefix), "a.py c.py d/b.py");
	assert_false(s.had_stat[0]);
	assert_true(s.had_stat[1]);
	assert_false(s.had_stat[2]);
	assert_int_equal(s.nlazy, 2);

	assert_int_equal(pyc__walk_stat_source(at(p, "t/a.py"), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(pyc__walk_stat_source(at(p, "t/dangling.py"), &st),
			 -1);
	assert_int_equal(pyc__walk_stat_source(at(p, "t/gone.py"), &st), -1);
	assert_int_equal(pyc__walk_stat_source(at(p, "t/a.py/x.py"), &st),
			 -1);
	assert_int_equal(pyc__walk_stat_source(at(p, "t/d"), &st), -1);
}

/* exclude() leaves out a file or a whole directory; a callback's
 * non-zero value stops the walk and is returned. */
static void test_exclude_and_stop(void **state)
{
	struct seen s = { 0 };
	char root[PATH_MAX], prefix[PATH_MAX + 2], p[PATH_MAX];

	(void)state;
	mkdirs("t/skip");
	mkdirs("t/keep");
	put("t/skip/x.py");
	put("t/keep/y.py");
	put("t/z.py");
	at(root, "t");
	pathf(prefix, "%s/", root);
	s.exclude = at(p, "t/skip");
	assert_int_equal(walk(root, 0, &s), 0);
	assert_string_equal(seen_list(&s, prefix), "keep/y.py z.py");

	memset(&s, 0, sizeof(s));
	s.stop_at = at(p, "t/keep/y.py");
	assert_int_equal(walk(root, 0, &s), 7);
	assert_string_equal(seen_list(&s, prefix), "keep/y.py");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_compileall_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_paths_spelled_from_the_root, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_root_file_and_missing_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_d_type_same_walk,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_policy, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_dir, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_lazy_stat, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_exclude_and_stop, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
