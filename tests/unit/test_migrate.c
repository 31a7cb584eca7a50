/*
 * Unit tests of migrate.c: pyc_migrate() of in-tree __pycache__ pycs,
 * made by hand with the header API, into a prefix in a scratch
 * directory: fresh ones move to where Python looks under the prefix
 * (content unchanged), stale ones go, orphans and other interpreters'
 * pycs stay, emptied folders go, a dry run, a prefix that is no cache.
 * (test_tidy.c has the moves across file systems.)
 */
#include "unit.h"
#include "scratch.h"
#include "compat.h"
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

static char pfx[PATH_MAX];

static int setup(void **state)
{
	(void)state;
	if (scratch_make("migrate", 0) < 0)
		return -1;
	pathf(pfx, "%s/pfx", base);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return scratch_remove();
}

static void put(const char *rel, const char *data)
{
	char p[PATH_MAX];

	write_path(at(p, rel), data, strlen(data));
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* In-tree pyc of base/src for `tag` at `level`, fresh unless `dsize`;
 * its path into out. */
static char *put_pyc(char *out, const char *src, const char *tag,
		     int level, int64_t dsize)
{
	unsigned char data[PYC_HEADER_SIZE + 8];
	char s[PATH_MAX];
	struct stat st = { 0 };
	struct pyc_interp in = { 0 };
	struct pyc_error err;
	char *pyc;

	if (stat(at(s, src), &st) < 0)
		st.st_size = 1;
	assert_int_equal(pyc_interp_from_tag(tag, &in), 0);
	pyc_header_build(data, in.magic, PYC_INV_TIMESTAMP,
			 pyc_py_mtime(PYC_ST_MTIM(&st).tv_sec,
				      PYC_ST_MTIM(&st).tv_nsec),
			 (uint64_t)(st.st_size + dsize), NULL);
	memcpy(data + PYC_HEADER_SIZE, level ? "code-op1" : "code-op0", 8);
	assert_int_equal(pyc_cache_from_source(&in, NULL, "/", s, level, &pyc,
					       &err), PYC_PATH_OK);
	write_path(pyc, data, sizeof(data));
	pathf(out, "%s", pyc);
	free(pyc);
	pyc_interp_release(&in);
	return out;
}

/* Where the pyc of base/src goes in the prefix. */
static char *target(char *out, const char *src, const char *tag, int level)
{
	struct pyc_interp in = { 0 };
	struct pyc_error err;
	char s[PATH_MAX], *pyc;

	assert_int_equal(pyc_interp_from_tag(tag, &in), 0);
	assert_int_equal(pyc_cache_from_source(&in, pfx, "/", at(s, src),
					       level, &pyc, &err),
			 PYC_PATH_OK);
	pathf(out, "%s", pyc);
	free(pyc);
	pyc_interp_release(&in);
	return out;
}

#define MAXSEEN 16

struct seen {
	size_t n, nerr;
	enum pyc_tidy_why why[MAXSEEN];
	char path[MAXSEEN][PATH_MAX];
	char to[MAXSEEN][PATH_MAX];
};

static void on_event(const struct pyc_tidy_event *ev, void *arg)
{
	struct seen *s = arg;

	assert_true(s->n < MAXSEEN);
	s->why[s->n] = ev->why;
	pathf(s->path[s->n], "%s", ev->path);
	pathf(s->to[s->n], "%s", ev->to ? ev->to : "");
	s->n++;
}

static void on_error(const char *path, const char *message, void *arg)
{
	struct seen *s = arg;

	(void)path, (void)message;
	s->nerr++;
}

static int migrate(unsigned flags, const struct pyc_interp *interps,
		   size_t ninterps, struct seen *s, struct pyc_tidy_stats *st)
{
	char root[PATH_MAX];
	const char *roots[] = { at(root, "t") };
	struct pyc_tidy_opts o = { .prefix = pfx, .flags = flags,
				   .interps = interps, .ninterps = ninterps,
				   .event = on_event, .error = on_error,
				   .arg = s };
	int ret;

	memset(s, 0, sizeof(*s));
	memset(st, 0, sizeof(*st));
	ret = pyc_migrate(&o, roots, 1, st);
	return ret;
}

static int find(const struct seen *s, const char *path)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->path[i], path) == 0)
			return (int)i;
	return -1;
}

struct sample {
	char a0[PATH_MAX], a1[PATH_MAX], stale[PATH_MAX], orphan[PATH_MAX];
	char old[PATH_MAX], pkg[PATH_MAX];
};

static void sample(struct sample *x)
{
	put("t/a.py", "a = 1\n");
	put("t/stale.py", "s = 1\n");
	put("t/pkg/__init__.py", "");
	put_pyc(x->a0, "t/a.py", "cpython-312", 0, 0);
	put_pyc(x->a1, "t/a.py", "cpython-312", 1, 0);
	put_pyc(x->stale, "t/stale.py", "cpython-312", 0, 5);
	put_pyc(x->orphan, "t/gone.py", "cpython-312", 0, 0);
	put_pyc(x->old, "t/a.py", "cpython-311", 0, 0);
	put_pyc(x->pkg, "t/pkg/__init__.py", "cpython-312", 0, 0);
}

/* With interpreters given, only theirs move. */
static void test_migrate(void **state)
{
	struct pyc_tidy_stats st;
	struct seen s;
	struct sample x;
	struct pyc_interp py = { 0 };
	char p[PATH_MAX], *data;
	size_t len;
	int i;

	(void)state;
	assert_int_equal(pyc_interp_from_tag("cpython-312", &py), 0);
	sample(&x);
	assert_int_equal(migrate(0, &py, 1, &s, &st), 0);
	assert_int_equal(s.nerr, 0);

	assert_true((i = find(&s, x.a0)) >= 0);
	assert_int_equal(s.why[i], PYC_TIDY_MOVED);
	assert_string_equal(s.to[i], target(p, "t/a.py", "cpython-312", 0));
	assert_false(exists(x.a0));
	assert_non_null(data = pyc__read_file(p, &len));
	assert_int_equal(len, PYC_HEADER_SIZE + 8);
	assert_memory_equal(data + PYC_HEADER_SIZE, "code-op0", 8);
	free(data);

	assert_true((i = find(&s, x.a1)) >= 0);
	assert_int_equal(s.why[i], PYC_TIDY_MOVED);
	assert_string_equal(s.to[i], target(p, "t/a.py", "cpython-312", 1));
	assert_non_null(data = pyc__read_file(p, &len));
	assert_memory_equal(data + PYC_HEADER_SIZE, "code-op1", 8);
	free(data);

	assert_true((i = find(&s, x.stale)) >= 0);
	assert_int_equal(s.why[i], PYC_TIDY_STALE);
	assert_false(exists(x.stale));
	assert_false(exists(target(p, "t/stale.py", "cpython-312", 0)));

	assert_true((i = find(&s, x.pkg)) >= 0);
	assert_int_equal(s.why[i], PYC_TIDY_MOVED);
	/* pkg's folder is emptied. */
	assert_true((i = find(&s, at(p, "t/pkg/__pycache__"))) >= 0);
	assert_int_equal(s.why[i], PYC_TIDY_DIR);
	assert_false(exists(p));

	/* An orphan is clean's or prune's; 3.11 was not asked for. */
	assert_int_equal(find(&s, x.orphan), -1);
	assert_true(exists(x.orphan));
	assert_int_equal(find(&s, x.old), -1);
	assert_true(exists(x.old));
	assert_true(exists(at(p, "t/__pycache__")));
	assert_int_equal(s.n, 5);
	assert_int_equal(st.files, 4);
	assert_int_equal(st.dirs, 1);

	/* Without interpreters, every release tag's pycs move. */
	assert_int_equal(migrate(0, NULL, 0, &s, &st), 0);
	assert_true((i = find(&s, x.old)) >= 0);
	assert_int_equal(s.why[i], PYC_TIDY_MOVED);
	assert_true(exists(target(p, "t/a.py", "cpython-311", 0)));
	assert_int_equal(s.n, 1);
	pyc_interp_release(&py);
}

/* A dry run moves nothing and reports what the real run does, in its
 * order. */
static void test_dry_run(void **state)
{
	struct pyc_tidy_stats st, dst;
	struct seen s, d;
	struct sample x;
	char p[PATH_MAX];

	(void)state;
	sample(&x);
	assert_int_equal(migrate(PYC_TIDY_DRY_RUN, NULL, 0, &d, &dst), 0);
	assert_int_equal(d.n, 6);
	for (size_t i = 0; i < d.n; i++)
		assert_true(exists(d.path[i]));
	assert_false(exists(target(p, "t/a.py", "cpython-312", 0)));
	assert_int_equal(migrate(0, NULL, 0, &s, &st), 0);
	assert_int_equal(s.n, d.n);
	for (size_t i = 0; i < s.n; i++) {
		assert_int_equal(s.why[i], d.why[i]);
		assert_string_equal(s.path[i], d.path[i]);
		assert_string_equal(s.to[i], d.to[i]);
		assert_false(exists(s.path[i]));
	}
	assert_int_equal(st.files, dst.files);
}

/* A dry run writes nothing, not even the prefix. */
static void test_dry_run_creates_no_prefix(void **state)
{
	struct pyc_tidy_stats st;
	struct seen s;
	struct sample x;

	(void)state;
	sample(&x);
	assert_int_equal(migrate(PYC_TIDY_DRY_RUN, NULL, 0, &s, &st), 0);
	assert_false(exists(pfx));
}

/* A prefix that holds sources is no cache: refused, nothing moved. */
static void test_refused(void **state)
{
	struct pyc_tidy_stats st;
	struct seen s;
	struct sample x;
	char p[PATH_MAX];

	(void)state;
	sample(&x);
	write_path(pathf(p, "%s/lib/mod.py", pfx), "", 0);
	assert_int_equal(migrate(0, NULL, 0, &s, &st), PYC_TIDY_REFUSED);
	assert_int_equal(st.refused, PYC_REFUSED_SOURCE);
	assert_string_equal(st.refused_path, p);
	free(st.refused_path);
	assert_int_equal(s.n, 0);
	assert_true(exists(x.a0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_migrate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run_creates_no_prefix,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
