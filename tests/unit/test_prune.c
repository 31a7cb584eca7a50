/*
 * Unit tests of prune.c: pyc_prune() on a small prefix whose pycs are
 * made by hand with the header API, for an interpreter known by its tag
 * (prune starts none): what goes and why (orphan, stale by the installed
 * interpreter only, listed and uninstalled tags, old temporaries, unused
 * for too long, emptied directories), a dry run's events, a subtree, and
 * the prefixes it refuses.  (test_tidy.c has eviction's faults.)
 */
#include "unit.h"
#include "scratch.h"
#include "compat.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char pfx[PATH_MAX];
static struct pyc_interp py;

static int setup(void **state)
{
	(void)state;
	if (pyc_interp_from_tag("cpython-312", &py) < 0)
		return -1;
	if (scratch_make("prune", 0) < 0)
		return -1;
	pathf(pfx, "%s/pfx", base);
	return mkdir(pfx, 0755);
}

static int teardown(void **state)
{
	(void)state;
	pyc_interp_release(&py);
	return scratch_remove();
}

/* The mirror of base/rel in the prefix. */
static char *in_pfx(char *out, const char *rel)
{
	return pathf(out, "%s%s/%s", pfx, base, rel);
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

/* Set both times of `path` `age` seconds back. */
static void age(const char *path, time_t age)
{
	struct timespec ts[2] = { { time(NULL) - age, 0 },
				  { time(NULL) - age, 0 } };

	assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW),
			 0);
}

/* A timestamp pyc named for `tag` of the source base/src (which need
 * not exist: then of a made-up stat), its size field off by `dsize`. */
static void put_pyc(const char *src, const char *tag, int level,
		    int64_t dsize)
{
	unsigned char data[PYC_HEADER_SIZE + 4];
	char s[PATH_MAX], d[PATH_MAX], pyc[PATH_MAX], name[64];
	struct stat st = { 0 };
	const char *base_name = strrchr(src, '/') + 1;

	if (stat(at(s, src), &st) < 0)
		st.st_size = 1;
	pyc_header_build(data, py.magic, PYC_INV_TIMESTAMP,
			 pyc_py_mtime(PYC_ST_MTIM(&st).tv_sec,
				      PYC_ST_MTIM(&st).tv_nsec),
			 (uint64_t)(st.st_size + dsize), NULL);
	memcpy(data + PYC_HEADER_SIZE, "code", 4);
	snprintf(name, sizeof(name), "%.*s.%s%s%.0d.pyc",
		 (int)(strlen(base_name) - 3), base_name, tag,
		 level ? ".opt-" : "", level);
	pathf(s, "%.*s", (int)(base_name - src), src);
	pathf(pyc, "%s%s", in_pfx(d, s), name);
	write_path(pyc, data, sizeof(data));
}

static char *pyc_path(char *out, const char *src_dir, const char *name)
{
	char d[PATH_MAX];

	return pathf(out, "%s/%s", in_pfx(d, src_dir), name);
}

/* ---- a run ---- */

#define MAXSEEN 32

struct seen {
	size_t n, nerr;
	enum pyc_tidy_why why[MAXSEEN];
	char path[MAXSEEN][PATH_MAX];
};

static void on_event(const struct pyc_tidy_event *ev, void *arg)
{
	struct seen *s = arg;

	assert_true(s->n < MAXSEEN);
	s->why[s->n] = ev->why;
	pathf(s->path[s->n], "%s", ev->path);
	s->n++;
}

static void on_error(const char *path, const char *message, void *arg)
{
	struct seen *s = arg;

	(void)path, (void)message;
	s->nerr++;
}

static struct pyc_tidy_opts opts(struct seen *s, unsigned flags)
{
	memset(s, 0, sizeof(*s));
	return (struct pyc_tidy_opts){ .prefix = pfx, .flags = flags,
				       .temp_grace = 3600, .interps = &py,
				       .ninterps = 1, .event = on_event,
				       .error = on_error, .arg = s };
}

/* Why `path` went, or -1 when it was not reported. */
static int why_of(const struct seen *s, const char *path)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->path[i], path) == 0)
			return (int)s->why[i];
	return -1;
}

static void gone_as(const struct seen *s, const char *path,
		    enum pyc_tidy_why why)
{
	if (why_of(s, path) != (int)why)
		fail_msg("'%s': %d, not %d", path, why_of(s, path), why);
	assert_false(exists(path));
}

static void kept(const struct seen *s, const char *path)
{
	if (why_of(s, path) != -1)
		fail_msg("'%s' reported: %d", path, why_of(s, path));
	assert_true(exists(path));
}

/* The sample prefix: pycs of every fate. */
static void sample(void)
{
	char p[PATH_MAX];

	put("s/fresh.py", "a = 1\n");
	put("s/stale.py", "a = 2\n");
	put("s/sub/deep.py", "a = 3\n");
	put_pyc("s/fresh.py", "cpython-312", 0, 0);
	put_pyc("s/fresh.py", "cpython-312", 1, 0);
	put_pyc("s/stale.py", "cpython-312", 0, 1);
	/* Stale by the tables' 3.11 too (3.12's magic), but no 3.11 is
	 * installed: not judged. */
	put_pyc("s/stale.py", "cpython-311", 0, 1);
	put_pyc("s/fresh.py", "cpython-310", 0, 0);
	put_pyc("s/sub/deep.py", "cpython-312", 0, 0);
	put_pyc("s/gone.py", "cpython-312", 0, 0);
	put_pyc("s/dead/only.py", "cpython-312", 2, 0);
	/* Not named as Python names pycs: never touched. */
	write_path(pyc_path(p, "s", "x.foo.pyc"), "x", 1);
	write_path(pyc_path(p, "s", "notes.txt"), "x", 1);
	/* Temporaries: an old one of ours, an old one of CPython's, a
	 * young one. */
	write_path(pyc_path(p, "s", ".pycprefix-0123456789ab"), "t", 1);
	age(p, 7200);
	write_path(pyc_path(p, "s", "fresh.cpython-312.pyc.4711"), "t", 1);
	age(p, 7200);
	write_path(pyc_path(p, "s", ".pycprefix-00000000beef"), "t", 1);
}

static void test_prune_rules(void **state)
{
	struct pyc_tidy_stats st;
	struct seen s;
	struct pyc_tidy_opts o = opts(&s, 0);
	char p[PATH_MAX];

	(void)state;
	sample();
	assert_int_equal(pyc_prune(&o, NULL, 0, &st), 0);
	gone_as(&s, pyc_path(p, "s", "stale.cpython-312.pyc"), PYC_TIDY_STALE);
	gone_as(&s, pyc_path(p, "s", "gone.cpython-312.pyc"), PYC_TIDY_ORPHAN);
	gone_as(&s, pyc_path(p, "s/dead", "only.cpython-312.opt-2.pyc"),
		PYC_TIDY_ORPHAN);
	gone_as(&s, in_pfx(p, "s/dead"), PYC_TIDY_DIR);
	gone_as(&s, pyc_path(p, "s", ".pycprefix-0123456789ab"),
		PYC_TIDY_TEMP);
	gone_as(&s, pyc_path(p, "s", "fresh.cpython-312.pyc.4711"),
		PYC_TIDY_TEMP);
	kept(&s, pyc_path(p, "s", ".pycprefix-00000000beef"));
	kept(&s, pyc_path(p, "s", "fresh.cpython-312.pyc"));
	kept(&s, pyc_path(p, "s", "fresh.cpython-312.opt-1.pyc"));
	kept(&s, pyc_path(p, "s", "stale.cpython-311.pyc"));
	kept(&s, pyc_path(p, "s", "fresh.cpython-310.pyc"));
	kept(&s, pyc_path(p, "s/sub", "deep.cpython-312.pyc"));
	kept(&s, pyc_path(p, "s", "x.foo.pyc"));
	kept(&s, pyc_path(p, "s", "notes.txt"));
	assert_int_equal(s.n, 6);
	assert_int_equal(st.files, 5);
	assert_int_equal(st.dirs, 1);
	assert_int_equal(st.kept, 5);
	assert_int_equal(st.errors, 0);
	/* In walk order (byte order of names), each directory after what
	 * it held. */
	assert_int_equal(s.why[0], PYC_TIDY_TEMP);   /* .pycprefix-... */
	assert_string_equal(s.path[1],
			    pyc_path(p, "s/dead", "only.cpython-312.opt-2.pyc"));
	assert_string_equal(s.path[2], in_pfx(p, "s/dead"));
	assert_string_equal(s.path[3], pyc_path(p, "s",
						"fresh.cpython-312.pyc.4711"));
	assert_string_equal(s.path[4], pyc_path(p, "s",
						"gone.cpython-312.pyc"));
	assert_string_equal(s.path[5], pyc_path(p, "s",
						"stale.cpython-312.pyc"));

	/* The listed tag goes, the uninstalled one stays. */
	const char *const dead[] = { "cpython-311" };
	o = opts(&s, 0);
	o.dead_tags = dead;
	o.ndead_tags = 1;
	assert_int_equal(pyc_prune(&o, NULL, 0, &st), 0);
	gone_as(&s, pyc_path(p, "s", "stale.cpython-311.pyc"),
		PYC_TIDY_TAG_LISTED);
	kept(&s, pyc_path(p, "s", "fresh.cpython-310.pyc"));
	assert_int_equal(s.n, 1);

	/* Every tag no interpreter here has. */
	o = opts(&s, PYC_TIDY_UNINSTALLED);
	assert_int_equal(pyc_prune(&o, NULL, 0, &st), 0);
	gone_as(&s, pyc_path(p, "s", "fresh.cpython-310.pyc"), PYC_TIDY_TAG);
	kept(&s, pyc_path(p, "s", "fresh.cpython-312.pyc"));
	assert_int_equal(s.n, 1);
	assert_int_equal(st.kept, 3);
}

/* A dry run removes nothing and reports the events the real run then
 * makes, in its order. */
static void test_dry_run_same_events(void **state)
{
	struct pyc_tidy_stats st, dst;
	struct seen s, d;
	struct pyc_tidy_opts o = opts(&d, PYC_TIDY_DRY_RUN);
	char p[PATH_MAX];

	(void)state;
	sample();
	assert_int_equal(pyc_prune(&o, NULL, 0, &dst), 0);
	assert_int_equal(d.n, 6);
	for (size_t i = 0; i < d.n; i++)
		assert_true(exists(d.path[i]));
	assert_true(exists(in_pfx(p, "s/dead")));
	o = opts(&s, 0);
	assert_int_equal(pyc_prune(&o, NULL, 0, &st), 0);
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

/* --older-than: a pyc whose last use (the later of its access and
 * modification times) is older goes; a recently read one stays. */
static void test_older_than(void **state)
{
	struct pyc_tidy_stats st;
	struct seen s;
	struct pyc_tidy_opts o = opts(&s, PYC_TIDY_OLDER_THAN);
	char p[PATH_MAX];
	struct timespec ts[2];

	(void)state;
	put("s/a.py", "a = 1\n");
	put("s/b.py", "b = 1\n");
	put("s/c.py", "c = 1\n");
	put_pyc("s/a.py", "cpython-312", 0, 0);
	put_pyc("s/b.py", "cpython-312", 0, 0);
	put_pyc("s/c.py", "cpython-312", 0, 0);
	age(pyc_path(p, "s", "a.cpython-312.pyc"), 10 * 86400);
	/* b: written long ago, read an hour ago. */
	ts[0] = (struct timespec){ time(NULL) - 3600, 0 };
	ts[1] = (struct timespec){ time(NULL) - 10 * 86400, 0 };
	assert_int_equal(utimensat(AT_FDCWD,
				   pyc_path(p, "s", "b.cpython-312.pyc"), ts,
				   0), 0);
	o.older_than = 86400;
	assert_int_equal(pyc_prune(&o, NULL, 0, &st), 0);
	gone_as(&s, pyc_path(p, "s", "a.cpython-312.pyc"), PYC_TIDY_OLD);
	kept(&s, pyc_path(p, "s", "b.cpython-312.pyc"));
	kept(&s, pyc_path(p, "s", "c.cpython-312.pyc"));
	assert_int_equal(s.n, 1);
	assert_int_equal(st.kept, 2);
}

/* --max-size: least recently used first until the rest fits. */
static void test_max_size(void **state)
{
	struct pyc_tidy_stats st;
	struct seen s;
	struct pyc_tidy_opts o = opts(&s, PYC_TIDY_MAX_SIZE);
	char p[PATH_MAX];

	(void)state;
	put("s/a.py", "a = 1\n");
	put("s/b.py", "b = 1\n");
	put("s/c.py", "c = 1\n");
	put_pyc("s/a.py", "cpython-312", 0, 0);
	put_pyc("s/b.py", "cpython-312", 0, 0);
	put_pyc("s/c.py", "cpython-312", 0, 0);
	age(pyc_path(p, "s", "b.cpython-312.pyc"), 300);
	age(pyc_path(p, "s", "c.cpython-312.pyc"), 200);
	age(pyc_path(p, "s", "a.cpython-312.pyc"), 100);
	o.max_size = 2 * (PYC_HEADER_SIZE + 4) - 1;  /* room for one */
	assert_int_equal(pyc_prune(&o, NULL, 0, &st), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.path[0], pyc_path(p, "s", "b.cpython-312.pyc"));
	assert_string_equal(s.path[1], pyc_path(p, "s", "c.cpython-312.pyc"));
	gone_as(&s, s.path[0], PYC_TIDY_SIZE);
	gone_as(&s, s.path[1], PYC_TIDY_SIZE);
	kept(&s, pyc_path(p, "s", "a.cpython-312.pyc"));
	assert_int_equal(st.kept, 1);
}

/* dirs: only the prefix's mirror of those directories is pruned; one
 * with no mirror is nothing to do. */
static void test_subtree(void **state)
{
	struct pyc_tidy_stats st;
	struct seen s;
	struct pyc_tidy_opts o = opts(&s, 0);
	char d[PATH_MAX], n[PATH_MAX], p[PATH_MAX];
	const char *dirs[] = { at(d, "s/sub"), at(n, "nomirror") };

	(void)state;
	put("s/sub/x.py", "");
	put_pyc("s/gone.py", "cpython-312", 0, 0);
	put_pyc("s/sub/gone.py", "cpython-312", 0, 0);
	put_pyc("s/sub/x.py", "cpython-312", 0, 0);
	assert_int_equal(pyc_prune(&o, dirs, 2, &st), 0);
	gone_as(&s, pyc_path(p, "s/sub", "gone.cpython-312.pyc"),
		PYC_TIDY_ORPHAN);
	kept(&s, pyc_path(p, "s", "gone.cpython-312.pyc"));
	kept(&s, pyc_path(p, "s/sub", "x.cpython-312.pyc"));
	assert_int_equal(s.n, 1);
	assert_int_equal(st.errors, 0);
}

/* Refused before anything is removed: a prefix that holds a
 * __pycache__ folder (a source tree), '/'.  No prefix, or a file: an
 * error. */
static void test_refusals(void **state)
{
	struct pyc_tidy_stats st;
	struct seen s;
	struct pyc_tidy_opts o = opts(&s, 0);
	char p[PATH_MAX], q[PATH_MAX];

	(void)state;
	put_pyc("s/gone.py", "cpython-312", 0, 0);
	write_path(pathf(q, "%s/x/__pycache__/m.cpython-312.pyc", pfx), "x",
		   1);
	assert_int_equal(pyc_prune(&o, NULL, 0, &st), PYC_TIDY_REFUSED);
	assert_int_equal(st.refused, PYC_REFUSED_PYCACHE);
	assert_non_null(st.refused_path);
	assert_non_null(strstr(st.refused_path, "__pycache__"));
	free(st.refused_path);
	assert_true(exists(pyc_path(p, "s", "gone.cpython-312.pyc")));
	assert_int_equal(s.n, 0);

	o = opts(&s, 0);
	o.prefix = "/";
	memset(&st, 0, sizeof(st));
	assert_int_equal(pyc_prune(&o, NULL, 0, &st), PYC_TIDY_REFUSED);
	assert_int_equal(st.refused, PYC_REFUSED_ROOT);
	free(st.refused_path);
	assert_int_equal(s.n, 0);

	/* A prefix not made yet holds nothing to prune, as du and status
	 * see it. */
	o.prefix = at(p, "absent");
	memset(&st, 0, sizeof(st));
	assert_int_equal(pyc_prune(&o, NULL, 0, &st), 0);
	assert_int_equal(st.files, 0);
	assert_false(exists(at(p, "absent")));
	put("afile", "");
	o.prefix = at(p, "afile");
	errno = 0;
	assert_int_equal(pyc_prune(&o, NULL, 0, &st), -1);
	assert_int_equal(errno, ENOTDIR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_prune_rules, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dry_run_same_events,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_older_than, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_max_size, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_subtree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
