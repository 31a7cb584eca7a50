/*
 * Unit tests of clean.c: pyc_clean() on small source trees in a scratch
 * directory: what goes (pycs and writers' leftovers in __pycache__
 * folders, legacy pycs beside their sources, sourceless ones when
 * asked), what stays, emptied folders, symlinks, a dry run, '/'.
 */
#include "unit.h"
#include "scratch.h"
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>


static int setup(void **state)
{
	(void)state;
	return scratch_make("clean", 0);
}

static int teardown(void **state)
{
	(void)state;
	return scratch_remove();
}

static void put(const char *rel, const char *data)
{
	char p[PATH_MAX], dir[PATH_MAX];
	FILE *f;

	at(p, rel);
	pathf(dir, "%s", p);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(pyc__mkdir_p(dir, 0755), 0);
	assert_non_null(f = fopen(p, "w"));
	assert_int_equal(fputs(data, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static bool exists(const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	return lstat(at(p, rel), &st) == 0;
}

#define MAXSEEN 32

struct seen {
	size_t n, nerr;
	enum pyc_tidy_why why[MAXSEEN];
	char path[MAXSEEN][PATH_MAX];
	uint64_t bytes;
};

static void on_event(const struct pyc_tidy_event *ev, void *arg)
{
	struct seen *s = arg;

	assert_true(s->n < MAXSEEN);
	s->why[s->n] = ev->why;
	/* relative to base */
	assert_true(strncmp(ev->path, base, strlen(base)) == 0);
	pathf(s->path[s->n], "%s", ev->path + strlen(base) + 1);
	s->bytes += ev->bytes;
	s->n++;
}

static void on_error(const char *path, const char *message, void *arg)
{
	struct seen *s = arg;

	(void)path, (void)message;
	s->nerr++;
}

static int clean(const char *rel, unsigned flags, struct seen *s,
		 struct pyc_tidy_stats *st)
{
	char root[PATH_MAX];
	const char *roots[] = { at(root, rel) };
	struct pyc_tidy_opts o = { .flags = flags, .event = on_event,
				   .error = on_error, .arg = s };
	int ret;

	memset(s, 0, sizeof(*s));
	ret = pyc_clean(&o, roots, 1, st);
	free(st->refused_path);
	st->refused_path = NULL;
	return ret;
}

static int why_of(const struct seen *s, const char *rel)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->path[i], rel) == 0)
			return (int)s->why[i];
	return -1;
}

/* A tree with every kind of thing clean meets. */
static void sample(void)
{
	char p[PATH_MAX], q[PATH_MAX];

	put("t/a.py", "");
	put("t/a.pyc", "legacy");
	put("t/b.py", "");
	put("t/b.pyo", "legacy2");
	put("t/lone.pyc", "sourceless");
	put("t/notes.txt", "");
	put("t/__pycache__/a.cpython-312.pyc", "pyc");
	put("t/__pycache__/a.cpython-312.opt-1.pyc", "pyc1");
	put("t/__pycache__/.pycprefix-0123456789ab", "tmp");
	put("t/__pycache__/a.cpython-312.pyc.140000", "tmp2");
	put("t/pkg/__init__.py", "");
	put("t/pkg/__pycache__/__init__.cpython-311.pyc", "pyc");
	put("t/pkg/__pycache__/README", "someone's file");
	/* Outside, reached by a symlink only: never touched. */
	put("out/__pycache__/o.cpython-312.pyc", "theirs");
	assert_int_equal(symlink(at(p, "out"), at(q, "t/outlink")), 0);
	put("t/only/__pycache__/x.cpython-312.pyc", "pyc");
	assert_int_equal(symlink(at(p, "out/__pycache__/o.cpython-312.pyc"),
				 at(q, "t/only/__pycache__/l.cpython-312.pyc")),
			 0);
}

static void test_clean(void **state)
{
	struct pyc_tidy_stats st;
	struct seen s;

	(void)state;
	sample();
	assert_int_equal(clean("t", 0, &s, &st), 0);
	assert_int_equal(why_of(&s, "t/a.pyc"), PYC_TIDY_LEGACY);
	assert_int_equal(why_of(&s, "t/b.pyo"), PYC_TIDY_LEGACY);
	assert_int_equal(why_of(&s, "t/__pycache__/a.cpython-312.pyc"),
			 PYC_TIDY_PYCACHE);
	assert_int_equal(why_of(&s, "t/__pycache__/a.cpython-312.opt-1.pyc"),
			 PYC_TIDY_PYCACHE);
	assert_int_equal(why_of(&s, "t/__pycache__/.pycprefix-0123456789ab"),
			 PYC_TIDY_PYCACHE);
	assert_int_equal(why_of(&s, "t/__pycache__/a.cpython-312.pyc.140000"),
			 PYC_TIDY_PYCACHE);
	assert_int_equal(why_of(&s, "t/__pycache__"), PYC_TIDY_DIR);
	assert_int_equal(why_of(&s, "t/pkg/__pycache__/__init__.cpython-311.pyc"),
			 PYC_TIDY_PYCACHE);
	assert_int_equal(why_of(&s, "t/only/__pycache__/x.cpython-312.pyc"),
			 PYC_TIDY_PYCACHE);
	assert_int_equal(s.n, 9);
	assert_int_equal(st.files, 8);
	assert_int_equal(st.dirs, 1);
	assert_int_equal(st.errors, 0);
	assert_int_equal(st.bytes, 6 + 7 + 3 + 4 + 3 + 4 + 3 + 3);
	assert_false(exists("t/a.pyc"));
	assert_false(exists("t/__pycache__"));
	assert_true(exists("t/a.py"));
	assert_true(exists("t/lone.pyc"));
	assert_true(exists("t/notes.txt"));
	/* Someone's file keeps its folder; a symlink is no pyc; nothing
	 * through a link. */
	assert_true(exists("t/pkg/__pycache__/README"));
	assert_true(exists("t/only/__pycache__/l.cpython-312.pyc"));
	assert_true(exists("t/only/__pycache__"));
	assert_true(exists("out/__pycache__/o.cpython-312.pyc"));

	/* --sourceless: a pyc with no source beside it too. */
	assert_int_equal(clean("t", PYC_TIDY_SOURCELESS_TOO, &s, &st), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(why_of(&s, "t/lone.pyc"), PYC_TIDY_SOURCELESS);
	assert_false(exists("t/lone.pyc"));
}

/* A dry run removes nothing and reports what the real run does, in its
 * order; a root that is a file, or missing, removes nothing. */
static void test_dry_run(void **state)
{
	struct pyc_tidy_stats st, dst;
	struct seen s, d;

	(void)state;
	sample();
	assert_int_equal(clean("t", PYC_TIDY_DRY_RUN, &d, &dst), 0);
	for (size_t i = 0; i < d.n; i++)
		assert_true(exists(d.path[i]));
	assert_int_equal(clean("t", 0, &s, &st), 0);
	assert_int_equal(s.n, d.n);
	for (size_t i = 0; i < s.n; i++) {
		assert_int_equal(s.why[i], d.why[i]);
		assert_string_equal(s.path[i], d.path[i]);
		assert_false(exists(s.path[i]));
	}
	assert_int_equal(st.files, dst.files);
	assert_int_equal(st.dirs, dst.dirs);
	assert_int_equal(st.bytes, dst.bytes);
}

/* '/' is refused before anything is looked at. */
static void test_root_refused(void **state)
{
	const char *roots[] = { base, "/" };
	struct pyc_tidy_opts o = { 0 };
	struct pyc_tidy_stats st;

	(void)state;
	put("__pycache__/a.cpython-312.pyc", "pyc");
	assert_int_equal(pyc_clean(&o, roots, 2, &st), PYC_TIDY_REFUSED);
	assert_int_equal(st.refused, PYC_REFUSED_ROOT);
	assert_string_equal(st.refused_path, "/");
	free(st.refused_path);
	assert_true(exists("__pycache__/a.cpython-312.pyc"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clean, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_root_refused, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
