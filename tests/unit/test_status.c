/*
 * Unit tests of status.c: pyc_status() on a small tree whose pycs are
 * made by hand with the header API, for an interpreter known by its tag
 * (status starts none): fresh, stale and why, missing, orphan and
 * unchecked-hash pycs whose source changed, with a prefix and in-tree.
 */
#include "unit.h"
#include "scratch.h"
#include "compat.h"
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

static struct pyc_interp py;

static int setup(void **state)
{
	(void)state;
	if (pyc_interp_from_tag("cpython-312", &py) < 0)
		return -1;
	return scratch_make("status", 0755);
}

static int teardown(void **state)
{
	(void)state;
	pyc_interp_release(&py);
	return scratch_remove();
}

static void put(const char *rel, const char *data)
{
	char p[PATH_MAX];

	write_path(at(p, rel), data, strlen(data));
}

/* Where py caches base/rel (prefix: base/pfx, or NULL). */
static char *pyc_of(char *out, const char *rel, int level, bool prefix)
{
	char src[PATH_MAX], pfx[PATH_MAX], *p;
	struct pyc_error err;

	assert_int_equal(pyc_cache_from_source(&py,
					       prefix ? at(pfx, "pfx") : NULL,
					       "/", at(src, rel), level, &p,
					       &err),
			 PYC_PATH_OK);
	pathf(out, "%s", p);
	free(p);
	return out;
}

/* What a pyc of base/rel holds: a timestamp header from its stat (with
 * `dmtime`, `dsize` added), or a hash header of its bytes (with the
 * first byte of the hash flipped when `wrong`). */
struct how {
	enum pyc_invalidation mode;
	uint16_t magic;  /* 0: py's */
	int64_t dmtime;
	int64_t dsize;
	bool wrong;
};

static void put_pyc(const char *rel, int level, bool prefix, struct how h)
{
	unsigned char data[PYC_HEADER_SIZE + 4], hash[8];
	char src[PATH_MAX], pyc[PATH_MAX], *bytes;
	struct stat st;
	size_t len;

	assert_int_equal(stat(at(src, rel), &st), 0);
	assert_non_null(bytes = pyc__read_file(src, &len));
	pyc_source_hash(py.magic, bytes, len, hash);
	free(bytes);
	if (h.wrong)
		hash[0] ^= 0xff;
	pyc_header_build(data, h.magic ? h.magic : py.magic, h.mode,
			 pyc_py_mtime(PYC_ST_MTIM(&st).tv_sec,
				      PYC_ST_MTIM(&st).tv_nsec) + h.dmtime,
			 (uint64_t)(st.st_size + h.dsize), hash);
	memcpy(data + PYC_HEADER_SIZE, "code", 4);
	write_path(pyc_of(pyc, rel, level, prefix), data, sizeof(data));
}

/* ---- a run ---- */

#define MAXSEEN 32

struct seen {
	size_t n, nerr;
	enum pyc_status_state state[MAXSEEN];
	char source[MAXSEEN][PATH_MAX];
	char cache[MAXSEEN][PATH_MAX];
	char reason[MAXSEEN][128];
	bool has_interp[MAXSEEN];
	char err_path[PATH_MAX], err_msg[128];
};

static void on_entry(const struct pyc_status_entry *e, void *arg)
{
	struct seen *s = arg;

	assert_true(s->n < MAXSEEN);
	s->state[s->n] = e->state;
	pathf(s->source[s->n], "%s", e->source);
	pathf(s->cache[s->n], "%s", e->cache ? e->cache : "");
	snprintf(s->reason[s->n], sizeof(s->reason[0]), "%s", e->reason);
	s->has_interp[s->n] = e->in != NULL;
	s->n++;
}

static void on_error(const char *path, const char *message, void *arg)
{
	struct seen *s = arg;

	pathf(s->err_path, "%s", path);
	snprintf(s->err_msg, sizeof(s->err_msg), "%s", message);
	s->nerr++;
}

static int status(const char *const *rels, size_t nroots, bool prefix,
		  const int *levels, int nlevels, enum pyc_check_mode mode,
		  struct seen *s, struct pyc_status_counts *c)
{
	char roots[4][PATH_MAX], pfx[PATH_MAX];
	const char *rp[4];
	struct pyc_status_opts o = {
		.interps = &py, .ninterps = 1,
		.prefix = prefix ? at(pfx, "pfx") : NULL, .nlevels = nlevels,
		.mode = mode, .entry = on_entry, .error = on_error, .arg = s,
	};

	assert_true(nroots <= 4);
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < nlevels; i++)
		o.levels[i] = levels[i];
	for (size_t i = 0; i < nroots; i++)
		rp[i] = at(roots[i], rels[i]);
	return pyc_status(&o, rp, nroots, c);
}

/* The entry for source base/rel at `cache` ending, or -1. */
static int find(const struct seen *s, const char *rel, const char *cache_end)
{
	char src[PATH_MAX];
	int found = -1;

	at(src, rel);
	for (size_t i = 0; i < s->n; i++) {
		size_t n = strlen(s->cache[i]), m = strlen(cache_end);
		if (strcmp(s->source[i], src) == 0 && n >= m &&
		    strcmp(s->cache[i] + n - m, cache_end) == 0) {
			assert_int_equal(found, -1);  /* reported once */
			found = (int)i;
		}
	}
	return found;
}

static void expect(const struct seen *s, const char *rel,
		   const char *cache_end, enum pyc_status_state state,
		   const char *reason)
{
	int i = find(s, rel, cache_end);

	if (i < 0)
		fail_msg("no entry for %s (%s)", rel, cache_end);
	assert_int_equal(s->state[i], state);
	if (reason)
		assert_string_equal(s->reason[i], reason);
}

/* The sources of the tree and their pycs: one of each kind. */
static void sample_tree(bool prefix)
{
	put("src/fresh.py", "a = 1\n");
	put("src/size.py", "a = 2\n");
	put("src/mtime.py", "a = 3\n");
	put("src/missing.py", "a = 4\n");
	put("src/magic.py", "a = 5\n");
	put("src/unchecked_ok.py", "a = 6\n");
	put("src/unchecked_changed.py", "a = 7\n");
	put("src/checked.py", "a = 8\n");
	put("src/pkg/__init__.py", "");
	put_pyc("src/fresh.py", 0, prefix, (struct how){ 0 });
	put_pyc("src/fresh.py", 1, prefix, (struct how){ 0 });
	put_pyc("src/size.py", 0, prefix, (struct how){ .dsize = 1 });
	put_pyc("src/mtime.py", 0, prefix, (struct how){ .dmtime = -60 });
	put_pyc("src/magic.py", 0, prefix,
		(struct how){ .magic = pyc_magic_of_version(3, 11) });
	put_pyc("src/unchecked_ok.py", 0, prefix,
		(struct how){ .mode = PYC_INV_UNCHECKED_HASH });
	put_pyc("src/unchecked_changed.py", 0, prefix,
		(struct how){ .mode = PYC_INV_UNCHECKED_HASH, .wrong = true });
	put_pyc("src/checked.py", 0, prefix,
		(struct how){ .mode = PYC_INV_CHECKED_HASH, .wrong = true });
	put_pyc("src/pkg/__init__.py", 0, prefix, (struct how){ 0 });
	/* Orphans: a module removed, a package removed, at two levels. */
	put("src/gone.py", "a = 9\n");
	put("src/dead/mod.py", "a = 10\n");
	put_pyc("src/gone.py", 0, prefix, (struct how){ 0 });
	put_pyc("src/gone.py", 1, prefix, (struct how){ 0 });
	put_pyc("src/dead/mod.py", 0, prefix, (struct how){ 0 });
	char p[PATH_MAX];
	assert_int_equal(unlink(at(p, "src/gone.py")), 0);
	assert_int_equal(unlink(at(p, "src/dead/mod.py")), 0);
	if (prefix)  /* in-tree, its __pycache__ stays */
		assert_int_equal(rmdir(at(p, "src/dead")), 0);
}

static void check_sample(const struct seen *s,
			 const struct pyc_status_counts *c)
{
	static const char o0[] = ".cpython-312.pyc";
	static const char o1[] = ".cpython-312.opt-1.pyc";

	expect(s, "src/fresh.py", o0, PYC_ST_FRESH, "");
	expect(s, "src/fresh.py", o1, PYC_ST_FRESH, "");
	expect(s, "src/size.py", o0, PYC_ST_STALE, "source size differs");
	expect(s, "src/size.py", o1, PYC_ST_MISSING, NULL);
	expect(s, "src/mtime.py", o0, PYC_ST_STALE, "source mtime differs");
	expect(s, "src/missing.py", o0, PYC_ST_MISSING, NULL);
	expect(s, "src/magic.py", o0, PYC_ST_STALE,
	       pyc_reason_text(PYC_WHY_MAGIC));
	expect(s, "src/unchecked_ok.py", o0, PYC_ST_FRESH, "");
	expect(s, "src/unchecked_changed.py", o0, PYC_ST_UNCHECKED_CHANGED,
	       NULL);
	expect(s, "src/checked.py", o0, PYC_ST_STALE,
	       pyc_reason_text(PYC_WHY_HASH));
	expect(s, "src/pkg/__init__.py", o0, PYC_ST_FRESH, "");
	expect(s, "src/gone.py", o0, PYC_ST_ORPHAN, "source is gone");
	expect(s, "src/gone.py", o1, PYC_ST_ORPHAN, "source is gone");
	expect(s, "src/dead/mod.py", o0, PYC_ST_ORPHAN, "source is gone");
	/* 9 sources at 2 levels, and 3 orphans. */
	assert_int_equal(s->n, 21);
	assert_int_equal(c->n[PYC_ST_FRESH], 4);
	assert_int_equal(c->n[PYC_ST_STALE], 4);
	assert_int_equal(c->n[PYC_ST_MISSING], 9);
	assert_int_equal(c->n[PYC_ST_UNCHECKED_CHANGED], 1);
	assert_int_equal(c->n[PYC_ST_ORPHAN], 3);
	assert_int_equal(c->errors, 0);
	assert_int_equal(s->nerr, 0);
	for (size_t i = 0; i < s->n; i++)
		assert_int_equal(s->has_interp[i],
				 s->state[i] != PYC_ST_ORPHAN);
}

static void test_classify_with_prefix(void **state)
{
	static const int levels[] = { 0, 1 };
	static const char *const roots[] = { "src" };
	struct pyc_status_counts c;
	struct seen s;
	char p[PATH_MAX];

	(void)state;
	sample_tree(true);
	/* Things in the mirror that are not pycs of a real tag. */
	put("pfx/notes.txt", "x");
	write_path(pathf(p, "%s/pfx%s/src/x.foo.pyc", base, base), "x", 1);
	assert_int_equal(status(roots, 1, true, levels, 2, PYC_CHECK_DEFAULT,
				&s, &c), 0);
	check_sample(&s, &c);
	at(p, "pfx/");
	assert_true(strncmp(s.cache[0], p, strlen(p)) == 0);
}

static void test_classify_in_tree(void **state)
{
	static const int levels[] = { 0, 1 };
	static const char *const roots[] = { "src" };
	struct pyc_status_counts c;
	struct seen s;
	char p[PATH_MAX];

	(void)state;
	sample_tree(false);
	/* A legacy pyc beside its (gone) source is no cache: not an
	 * orphan status reports. */
	put("src/legacy.pyc", "x");
	assert_int_equal(status(roots, 1, false, levels, 2, PYC_CHECK_DEFAULT,
				&s, &c), 0);
	check_sample(&s, &c);
	expect(&s, "src/fresh.py", "src/__pycache__/fresh.cpython-312.pyc",
	       PYC_ST_FRESH, "");
	assert_false(access(at(p, "pfx"), F_OK) == 0);
}

/* --check-hash-based-pycs never: a checked-hash pyc is not compared
 * with its source, so Python runs the old code of a changed one; always:
 * an unchecked one is compared, and is stale. */
static void test_check_modes(void **state)
{
	static const int levels[] = { 0 };
	static const char *const roots[] = { "src" };
	struct pyc_status_counts c;
	struct seen s;

	(void)state;
	sample_tree(true);
	assert_int_equal(status(roots, 1, true, levels, 1, PYC_CHECK_NEVER,
				&s, &c), 0);
	expect(&s, "src/checked.py", ".cpython-312.pyc",
	       PYC_ST_UNCHECKED_CHANGED, NULL);
	expect(&s, "src/size.py", ".cpython-312.pyc", PYC_ST_STALE, NULL);
	assert_int_equal(status(roots, 1, true, levels, 1, PYC_CHECK_ALWAYS,
				&s, &c), 0);
	expect(&s, "src/unchecked_changed.py", ".cpython-312.pyc",
	       PYC_ST_STALE, pyc_reason_text(PYC_WHY_HASH));
	expect(&s, "src/unchecked_ok.py", ".cpython-312.pyc", PYC_ST_FRESH,
	       "");
}

/* A source reached through two roots is reported once; so is an
 * orphan two roots mirror. */
static void test_overlapping_roots(void **state)
{
	static const int levels[] = { 0 };
	static const char *const roots[] = { "src", "src/pkg", "src" };
	struct pyc_status_counts c;
	struct seen s;

	(void)state;
	sample_tree(true);
	put("src/pkg/gone2.py", "b = 1\n");
	put_pyc("src/pkg/gone2.py", 0, true, (struct how){ 0 });
	char p[PATH_MAX];
	assert_int_equal(unlink(at(p, "src/pkg/gone2.py")), 0);
	assert_int_equal(status(roots, 3, true, levels, 1, PYC_CHECK_DEFAULT,
				&s, &c), 0);
	/* find() asserts each is there once. */
	expect(&s, "src/pkg/__init__.py", ".cpython-312.pyc", PYC_ST_FRESH,
	       "");
	expect(&s, "src/pkg/gone2.py", ".cpython-312.pyc", PYC_ST_ORPHAN,
	       NULL);
	expect(&s, "src/gone.py", ".cpython-312.pyc", PYC_ST_ORPHAN, NULL);
	assert_int_equal(s.n, 9 + 4); /* orphans at any level */
}

/* A root that does not exist, and a source that cannot be read when
 * its hash is needed, are errors, and the rest is judged. */
static void test_errors(void **state)
{
	static const int levels[] = { 0 };
	static const char *const roots[] = { "src", "absent" };
	struct pyc_status_counts c;
	struct seen s;
	char p[PATH_MAX];
	bool root_user = geteuid() == 0;

	(void)state;
	put("src/fresh.py", "a = 1\n");
	put("src/secret.py", "a = 2\n");
	put_pyc("src/fresh.py", 0, true, (struct how){ 0 });
	put_pyc("src/secret.py", 0, true,
		(struct how){ .mode = PYC_INV_CHECKED_HASH });
	assert_int_equal(chmod(at(p, "src/secret.py"), 0), 0);
	if (root_user)  /* root reads everything */
		assert_int_equal(seteuid(65534), 0);
	int ret = status(roots, 2, true, levels, 1, PYC_CHECK_DEFAULT, &s, &c);
	if (root_user)
		assert_int_equal(seteuid(0), 0);
	assert_int_equal(ret, 0);
	expect(&s, "src/fresh.py", ".cpython-312.pyc", PYC_ST_FRESH, "");
	assert_int_equal(find(&s, "src/secret.py", ".pyc"), -1);
	assert_int_equal(c.errors, 2);
	assert_int_equal(s.nerr, 2);
	assert_string_equal(s.err_path, at(p, "absent"));
	assert_string_equal(s.err_msg, strerror(ENOENT));
}

/* Roots spelled relative, with "./" or a trailing slash: the same
 * verdicts and orphans, under the prefix and in-tree. */
static void test_root_spellings(void **state)
{
	static const int levels[] = { 0, 1 };
	static const char *const spellings[] = { "src", "src/", "./src",
						  "src//" };
	struct pyc_status_counts c;
	struct seen s;
	char pfx[PATH_MAX];

	(void)state;
	sample_tree(true);
	assert_int_equal(chdir(base), 0);
	for (size_t k = 0; k < 4; k++) {
		struct pyc_status_opts o = {
			.interps = &py, .ninterps = 1,
			.prefix = at(pfx, "pfx"), .levels = { 0, 1 },
			.nlevels = 2, .entry = on_entry, .error = on_error,
			.arg = &s,
		};
		const char *roots[] = { spellings[k] };
		memset(&s, 0, sizeof(s));
		assert_int_equal(pyc_status(&o, roots, 1, &c), 0);
		if (c.n[PYC_ST_ORPHAN] != 3 || c.n[PYC_ST_FRESH] != 4)
			fail_msg("root '%s': %zu orphans, %zu fresh",
				 spellings[k], c.n[PYC_ST_ORPHAN],
				 c.n[PYC_ST_FRESH]);
		assert_int_equal(c.n[PYC_ST_STALE], 4);
		assert_int_equal(c.n[PYC_ST_MISSING], 9);
		assert_int_equal(c.errors, 0);
	}
	(void)levels;
	assert_int_equal(chdir("/"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_classify_with_prefix,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_classify_in_tree, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_check_modes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_overlapping_roots, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_root_spellings, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
