/*
 * Unit tests of compile.c: pyc_compile() on small trees in a scratch
 * directory, with a real interpreter (the first of pyenv's CPythons 3.8
 * to 3.13 found at run time, else /usr/bin/python3; none is a failure).
 * The interpreter is the oracle: it says where a broken source fails,
 * and it imports what was compiled without writing anything again.
 */
#include "unit.h"
#include "scratch.h"
#include "compat.h"
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

static struct pyc_interp py;
static const char *in_tree;            /* compile() in-tree, no prefix */
static enum pyc_invalidation inv_mode;  /* compile()'s mode */

/* A real CPython, probed (not cached). */
static int find_interp(void **state)
{
	static const char *const versions[] = { "3.12.1", "3.13.0", "3.11.7",
						 "3.10.13", "3.9.18", "3.8.18" };
	struct pyc_error err = { "" };
	char exe[PATH_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(versions) / sizeof(*versions); i++) {
		int major, minor;
		if (sscanf(versions[i], "%d.%d", &major, &minor) != 2)
			continue;
		pathf(exe, "/root/.pyenv/versions/%s/bin/python%d.%d",
		      versions[i], major, minor);
		if (access(exe, X_OK) == 0 &&
		    pyc_interp_probe(exe, PYC_PROBE_NO_CACHE, &py, &err) == 0)
			return 0;
	}
	if (pyc_interp_probe("/usr/bin/python3", PYC_PROBE_NO_CACHE, &py,
			     &err) == 0)
		return 0;
	fprintf(stderr, "test_compile: no usable CPython found: %s\n",
		err.msg);
	return -1;
}

static int release_interp(void **state)
{
	(void)state;
	pyc_interp_release(&py);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	in_tree = NULL;
	inv_mode = PYC_INV_TIMESTAMP;
	return scratch_make("compile", 0);
}

static int teardown(void **state)
{
	(void)state;
	return scratch_remove();
}

static void put(const char *rel, const char *data)
{
	char p[PATH_MAX];
	char *slash;
	FILE *f;

	at(p, rel);
	slash = strrchr(p, '/');
	*slash = '\0';
	assert_int_equal(pyc__mkdir_p(p, 0755), 0);
	*slash = '/';
	assert_non_null(f = fopen(p, "w"));
	assert_int_equal(fputs(data, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Where py caches base/rel at `level` under base/pfx. */
static char *pyc_of(char *out, const char *rel, int level)
{
	char src[PATH_MAX], pfx[PATH_MAX], *p;
	struct pyc_error err;

	assert_int_equal(pyc_cache_from_source(&py, at(pfx, "pfx"), "/",
					       at(src, rel), level, &p, &err),
			 PYC_PATH_OK);
	pathf(out, "%s", p);
	free(p);
	return out;
}

static ino_t inode(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

/* ---- a run ---- */

struct seen {
	size_t n[PYC_EV_FRESH + 1];
	size_t repeated;
	unsigned line, col;
	bool source_error;
	char failed_source[PATH_MAX];
	char message[256];
};

static void on_event(const struct pyc_event *ev, void *arg)
{
	struct seen *s = arg;

	s->n[ev->kind]++;
	if (ev->kind == PYC_EV_FAILED) {
		s->repeated += ev->repeated;
		s->line = ev->line;
		s->col = ev->col;
		s->source_error = ev->source_error;
		pathf(s->failed_source, "%s", ev->source);
		snprintf(s->message, sizeof(s->message), "%s",
			 ev->message ? ev->message : "");
	}
}

static int compile(const char *rel, const int *levels, int nlevels,
		   unsigned flags, struct seen *s,
		   struct pyc_compile_stats *stats)
{
	char root[PATH_MAX], pfx[PATH_MAX];
	const char *roots[] = { root };
	struct pyc_compile_opts o = {
		.interps = &py, .ninterps = 1,
		.prefix = in_tree ? NULL : at(pfx, "pfx"),
		.nlevels = nlevels, .mode = inv_mode, .flags = flags,
		.jobs = 2, .timeout_ms = 60000, .event = on_event, .arg = s,
	};
	struct pyc_error err = { "" };
	int ret;

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < nlevels; i++)
		o.levels[i] = levels[i];
	at(root, rel);
	ret = pyc_compile(&o, roots, 1, stats, &err);
	if (ret)
		fprintf(stderr, "pyc_compile: %s\n", err.msg);
	return ret;
}

static void small_tree(void)
{
	put("src/a.py", "A = 1\n");
	put("src/pkg/__init__.py", "");
	put("src/pkg/b.py", "def f():\n    return 2\n");
}

/* Does py, importing the three modules from base/src with the prefix
 * (-E: whatever PYTHON* variables say), find their pycs fresh?  It would rewrite a stale or bad one (a new
 * inode, as it writes by rename). */
static void python_imports_without_writing(void)
{
	char cmd[PATH_MAX * 3], p[PATH_MAX];
	ino_t before[2] = { inode(pyc_of(p, "src/a.py", 0)),
			    inode(pyc_of(p, "src/pkg/b.py", 0)) };

	pathf(cmd,
	      "cd '%s/src' && '%s' -E -s -X pycache_prefix='%s/pfx' -c "
	      "'import a, pkg.b; assert a.A == 1 and pkg.b.f() == 2'",
	      base, py.path, base);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(inode(pyc_of(p, "src/a.py", 0)), before[0]);
	assert_int_equal(inode(pyc_of(p, "src/pkg/b.py", 0)), before[1]);
}

/* A tree compiled for one interpreter and level: a pyc for each source
 * where Python looks, with its magic and the source's mtime and size. */
static void test_compile_a_tree(void **state)
{
	static const int levels[] = { 0 };
	struct pyc_compile_stats st;
	struct seen s;
	char p[PATH_MAX], src[PATH_MAX];
	unsigned char head[PYC_HEADER_SIZE];
	struct pyc_header h;
	struct stat sst;
	FILE *f;

	(void)state;
	small_tree();
	assert_int_equal(compile("src", levels, 1, 0, &s, &st), 0);
	assert_int_equal(st.sources, 3);
	assert_int_equal(st.compiled, 3);
	assert_int_equal(st.fresh, 0);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.walk_errors, 0);
	assert_int_equal(s.n[PYC_EV_COMPILED], 3);
	/* Nothing in the tree itself. */
	assert_false(exists(at(p, "src/__pycache__")));
	assert_false(exists(pyc_of(p, "src/a.py", 1)));

	assert_non_null(f = fopen(pyc_of(p, "src/pkg/b.py", 0), "rb"));
	assert_int_equal(fread(head, 1, sizeof(head), f), sizeof(head));
	fclose(f);
	assert_int_equal(pyc_header_parse(head, sizeof(head), py.magic, &h),
			 PYC_HEADER_OK);
	assert_int_equal(pyc_header_mode(&h), PYC_INV_TIMESTAMP);
	assert_int_equal(stat(at(src, "src/pkg/b.py"), &sst), 0);
	assert_int_equal(h.mtime, (uint32_t)pyc_py_mtime(
					  PYC_ST_MTIM(&sst).tv_sec,
					  PYC_ST_MTIM(&sst).tv_nsec));
	assert_int_equal(h.size, (uint32_t)sst.st_size);
	python_imports_without_writing();
}

/* A second run finds every pyc fresh: it writes nothing (the pycs keep
 * their inodes) and counts them fresh; a changed source is compiled
 * again, alone. */
static void test_second_run_compiles_nothing(void **state)
{
	static const int levels[] = { 0, 1 };
	struct pyc_compile_stats st;
	struct seen s;
	char p[PATH_MAX];
	ino_t ia, ib;

	(void)state;
	small_tree();
	assert_int_equal(compile("src", levels, 2, 0, &s, &st), 0);
	assert_int_equal(st.compiled, 6);
	ia = inode(pyc_of(p, "src/a.py", 1));
	ib = inode(pyc_of(p, "src/pkg/b.py", 0));

	assert_int_equal(compile("src", levels, 2, 0, &s, &st), 0);
	assert_int_equal(st.sources, 3);
	assert_int_equal(st.compiled, 0);
	assert_int_equal(st.fresh, 6);
	/* One event per source whose pycs are all fresh. */
	assert_int_equal(s.n[PYC_EV_FRESH], 3);
	assert_int_equal(s.n[PYC_EV_COMPILED], 0);
	assert_int_equal(inode(pyc_of(p, "src/a.py", 1)), ia);
	assert_int_equal(inode(pyc_of(p, "src/pkg/b.py", 0)), ib);

	put("src/a.py", "A = 1  # a longer source\n");
	assert_int_equal(compile("src", levels, 2, 0, &s, &st), 0);
	assert_int_equal(st.compiled, 2);
	assert_int_equal(st.fresh, 4);
	assert_int_equal(s.n[PYC_EV_COMPILED], 1);
	assert_int_equal(s.n[PYC_EV_FRESH], 2);
	assert_int_not_equal(inode(pyc_of(p, "src/a.py", 1)), ia);
	assert_int_equal(inode(pyc_of(p, "src/pkg/b.py", 0)), ib);
}

/* A dry run lists what it would compile and writes nothing: not even
 * the prefix. */
static void test_dry_run_writes_nothing(void **state)
{
	static const int levels[] = { 0, 2 };
	struct pyc_compile_stats st;
	struct seen s;
	char p[PATH_MAX];

	(void)state;
	small_tree();
	assert_int_equal(compile("src", levels, 2, PYC_COMPILE_DRY_RUN, &s,
				 &st), 0);
	assert_int_equal(st.sources, 3);
	assert_int_equal(st.compiled, 6);
	assert_int_equal(s.n[PYC_EV_WOULD_COMPILE], 6);  /* one per pyc */
	assert_int_equal(s.n[PYC_EV_COMPILED], 0);
	assert_false(exists(at(p, "pfx")));
	assert_false(exists(at(p, "src/__pycache__")));
}

/* A source that does not compile: one failure per level, reported at
 * the line and column the interpreter's SyntaxError gives; the others
 * are compiled. */
static void test_broken_source_reported(void **state)
{
	static const int levels[] = { 0 };
	struct pyc_compile_stats st;
	struct seen s;
	char p[PATH_MAX], cmd[PATH_MAX * 3];
	unsigned line = 0, col = 0;
	FILE *f;

	(void)state;
	small_tree();
	put("src/bad.py", "x = 1\ny = (2 +\n        ]\n");
	pathf(cmd,
	      "'%s' -I -c 'import sys\n"
	      "try: compile(open(sys.argv[1], \"rb\").read(), sys.argv[1], "
	      "\"exec\")\n"
	      "except SyntaxError as e: print(e.lineno, e.offset)' '%s'",
	      py.path, at(p, "src/bad.py"));
	assert_non_null(f = popen(cmd, "r"));
	assert_int_equal(fscanf(f, "%u %u", &line, &col), 2);
	assert_int_equal(pclose(f), 0);
	assert_true(line >= 2);

	assert_int_equal(compile("src", levels, 1, 0, &s, &st), 0);
	assert_int_equal(st.sources, 4);
	assert_int_equal(st.compiled, 3);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.source_errors, 1);
	assert_int_equal(s.n[PYC_EV_FAILED], 1);
	assert_true(s.source_error);
	assert_string_equal(s.failed_source, at(p, "src/bad.py"));
	assert_int_equal(s.line, line);
	assert_int_equal(s.col, col);
	assert_true(s.message[0] != '\0');
	assert_false(exists(pyc_of(p, "src/bad.py", 0)));
}

/* With PYC_COMPILE_HARDLINK_DUPES, levels whose pycs would be equal
 * share one file: all three for code with no assert and no docstring,
 * 1 and 2 for code with an assert and no docstring, none for code with
 * both.  Without it, three files. */
static void test_hardlink_dupes(void **state)
{
	static const int levels[] = { 0, 1, 2 };
	struct pyc_compile_stats st;
	struct seen s;
	char p0[PATH_MAX], p1[PATH_MAX], p2[PATH_MAX];

	(void)state;
	put("src/plain.py", "x = 1\n");
	put("src/asserts.py", "x = 1\nassert x\n");
	put("src/both.py", "'''doc'''\nx = 1\nassert x\n");
	put("other/plain.py", "x = 1\n");
	assert_int_equal(compile("src", levels, 3,
				 PYC_COMPILE_HARDLINK_DUPES, &s, &st), 0);
	assert_int_equal(st.compiled, 9);

	pyc_of(p0, "src/plain.py", 0);
	pyc_of(p1, "src/plain.py", 1);
	pyc_of(p2, "src/plain.py", 2);
	assert_int_equal(inode(p0), inode(p1));
	assert_int_equal(inode(p1), inode(p2));

	pyc_of(p0, "src/asserts.py", 0);
	pyc_of(p1, "src/asserts.py", 1);
	pyc_of(p2, "src/asserts.py", 2);
	assert_int_not_equal(inode(p0), inode(p1));
	assert_int_equal(inode(p1), inode(p2));

	pyc_of(p0, "src/both.py", 0);
	pyc_of(p1, "src/both.py", 1);
	pyc_of(p2, "src/both.py", 2);
	assert_int_not_equal(inode(p0), inode(p1));
	assert_int_not_equal(inode(p1), inode(p2));
	assert_int_not_equal(inode(p0), inode(p2));

	assert_int_equal(compile("other", levels, 3, 0, &s, &st), 0);
	pyc_of(p0, "other/plain.py", 0);
	pyc_of(p1, "other/plain.py", 1);
	pyc_of(p2, "other/plain.py", 2);
	assert_int_not_equal(inode(p0), inode(p1));
	assert_int_not_equal(inode(p1), inode(p2));
}

/* Without a prefix, pycs go to __pycache__ beside their sources, where
 * the interpreter imports them from without writing. */
static void test_in_tree(void **state)
{
	static const int levels[] = { 0 };
	struct pyc_compile_stats st;
	struct seen s;
	char p[PATH_MAX], cmd[PATH_MAX * 3];
	struct pyc_error err;
	char *pyc;

	(void)state;
	in_tree = "yes";
	small_tree();
	assert_int_equal(compile("src", levels, 1, 0, &s, &st), 0);
	assert_int_equal(st.compiled, 3);
	assert_false(exists(at(p, "pfx")));
	assert_int_equal(pyc_cache_from_source(&py, NULL, "/",
					       at(p, "src/pkg/b.py"), 0, &pyc,
					       &err), PYC_PATH_OK);
	assert_non_null(strstr(pyc, "/src/pkg/__pycache__/b."));
	ino_t before = inode(pyc);
	pathf(cmd,
	      "cd '%s/src' && '%s' -E -s -c 'import pkg.b'",
	      base, py.path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(inode(pyc), before);
	free(pyc);
}

/* A fresh pyc of another kind than asked is rewritten (timestamp to
 * checked-hash), then fresh; PYC_COMPILE_FORCE rewrites fresh ones. */
static void test_mode_change_and_force(void **state)
{
	static const int levels[] = { 0 };
	struct pyc_compile_stats st;
	struct seen s;
	char p[PATH_MAX];
	unsigned char head[PYC_HEADER_SIZE];
	struct pyc_header h;
	FILE *f;

	(void)state;
	small_tree();
	assert_int_equal(compile("src", levels, 1, 0, &s, &st), 0);
	inv_mode = PYC_INV_CHECKED_HASH;
	assert_int_equal(compile("src", levels, 1, 0, &s, &st), 0);
	assert_int_equal(st.compiled, 3);
	assert_int_equal(st.fresh, 0);
	assert_non_null(f = fopen(pyc_of(p, "src/a.py", 0), "rb"));
	assert_int_equal(fread(head, 1, sizeof(head), f), sizeof(head));
	fclose(f);
	assert_int_equal(pyc_header_parse(head, sizeof(head), py.magic, &h),
			 PYC_HEADER_OK);
	assert_int_equal(pyc_header_mode(&h), PYC_INV_CHECKED_HASH);
	assert_int_equal(compile("src", levels, 1, 0, &s, &st), 0);
	assert_int_equal(st.fresh, 3);
	ino_t before = inode(p);
	assert_int_equal(compile("src", levels, 1, PYC_COMPILE_FORCE, &s, &st),
			 0);
	assert_int_equal(st.compiled, 3);
	assert_int_equal(st.fresh, 0);
	assert_int_not_equal(inode(p), before);
}

/* A symlink planted in the prefix is never written through: the pycs
 * below it fail, the cause said once and the rest marked repeated. */
static void test_symlink_in_prefix_refused(void **state)
{
	static const int levels[] = { 0 };
	struct pyc_compile_stats st;
	struct seen s;
	char p[PATH_MAX], mirror[PATH_MAX], elsewhere[PATH_MAX];

	(void)state;
	small_tree();
	put("src/pkg/c.py", "C = 3\n");
	/* base/pfx/<base>/src/pkg -> base/elsewhere */
	pathf(mirror, "%s/pfx%s/src/pkg", base, base);
	assert_int_equal(pyc__mkdir_p(at(elsewhere, "elsewhere"), 0755), 0);
	*strrchr(mirror, '/') = '\0';
	assert_int_equal(pyc__mkdir_p(mirror, 0755), 0);
	pathf(mirror, "%s/pfx%s/src/pkg", base, base);
	assert_int_equal(symlink(elsewhere, mirror), 0);
	assert_int_equal(compile("src", levels, 1, 0, &s, &st), 0);
	assert_int_equal(st.compiled, 1);  /* a.py */
	assert_int_equal(st.failed, 3);
	assert_int_equal(st.source_errors, 0);
	assert_int_equal(s.n[PYC_EV_FAILED], 3);
	assert_int_equal(s.repeated, 2);
	assert_false(s.source_error);
	assert_non_null(strstr(s.message, "symlink"));
	assert_int_equal(rmdir(elsewhere), 0);  /* still empty */
	assert_true(exists(pyc_of(p, "src/a.py", 0)));
}

/* Roots that overlap count a source once. */
static void test_overlapping_roots(void **state)
{
	static const int levels[] = { 0 };
	char r1[PATH_MAX], r2[PATH_MAX], pfx[PATH_MAX];
	const char *roots[] = { at(r1, "src"), at(r2, "src/pkg") };
	struct pyc_compile_opts o = {
		.interps = &py, .ninterps = 1, .prefix = at(pfx, "pfx"),
		.levels = { 0 }, .nlevels = 1, .jobs = 1,
	};
	struct pyc_compile_stats st;
	struct pyc_error err;

	(void)state;
	(void)levels;
	small_tree();
	assert_int_equal(pyc_compile(&o, roots, 2, &st, &err), 0);
	assert_int_equal(st.sources, 3);
	assert_int_equal(st.compiled, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_compile_a_tree, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_second_run_compiles_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run_writes_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_source_reported,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_hardlink_dupes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_in_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode_change_and_force,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_symlink_in_prefix_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlapping_roots, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, find_interp, release_interp);
}
