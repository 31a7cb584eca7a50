/*
 * Unit tests of prune, clean, migrate and du on small trees in a scratch
 * directory, with the faults that are hard to arrange from outside:
 *
 * - renameat() is replaced in this program (the library, linked
 *   statically, calls ours): it can fail a move with EXDEV, as across
 *   file systems, and replace the source once the copy is in place;
 * - strdup() is replaced too: it can fail once, for one string, as
 *   when memory runs out while a directory is listed.
 */
#include "unit.h"
#include "scratch.h"
#include "compat.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A path of at most PATH_MAX bytes into out. */
/* ---- the faults ---- */

static struct {
	const char *exdev_name;   /* fail the move of this name with EXDEV */
	char replace[PATH_MAX];   /* ... and once copied, put a new file there */
	const char *fail_strdup;  /* fail strdup() once, for this string */
} fault;

static void write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fputs(data, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

int renameat(int olddfd, const char *old, int newdfd, const char *new_)
{
	if (fault.exdev_name && strcmp(old, fault.exdev_name) == 0) {
		errno = EXDEV;
		return -1;
	}
	if (renameat2(olddfd, old, newdfd, new_, 0) < 0)
		return -1;
	if (fault.exdev_name && fault.replace[0]) {
		/* The copy is in place: the source is replaced before the
		 * original is removed. */
		char tmp[PATH_MAX + 8];
		pathf(tmp, "%s.new", fault.replace);
		write_file(tmp, "the file that replaced it");
		assert_int_equal(rename(tmp, fault.replace), 0);
		fault.replace[0] = '\0';
	}
	return 0;
}

char *strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p;

	if (fault.fail_strdup && strcmp(s, fault.fail_strdup) == 0) {
		fault.fail_strdup = NULL;
		errno = ENOMEM;
		return NULL;
	}
	if ((p = malloc(n)))
		memcpy(p, s, n);
	return p;
}

/* ---- scratch trees ---- */


static int setup(void **state)
{
	(void)state;
	memset(&fault, 0, sizeof(fault));
	return scratch_make("tidy", 0);
}

static int teardown(void **state)
{
	(void)state;
	memset(&fault, 0, sizeof(fault));
	return scratch_remove();
}

/* base/rel, into out. */
static void mkdirs(const char *rel)
{
	char p[PATH_MAX];

	assert_int_equal(pyc__mkdir_p(at(p, rel), 0755), 0);
}

static void put(const char *rel, const char *data)
{
	char p[PATH_MAX];

	write_file(at(p, rel), data);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static char *read_all(const char *path)
{
	size_t n;

	return pyc__read_file(path, &n);
}

/* A timestamp pyc of 3.12 that is fresh for the source at `src`. */
static void put_fresh_pyc(const char *pyc, const char *src)
{
	unsigned char head[PYC_HEADER_SIZE];
	struct stat st;
	FILE *f;

	assert_int_equal(stat(src, &st), 0);
	pyc_header_build(head, pyc_magic_of_version(3, 12), PYC_INV_TIMESTAMP,
			 pyc_py_mtime(PYC_ST_MTIM(&st).tv_sec,
				      PYC_ST_MTIM(&st).tv_nsec),
			 (uint64_t)st.st_size, NULL);
	assert_non_null(f = fopen(pyc, "wb"));
	assert_int_equal(fwrite(head, 1, sizeof(head), f), sizeof(head));
	assert_int_equal(fputs("code", f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

struct seen {
	size_t n;
	enum pyc_tidy_why why[16];
	char path[16][PATH_MAX];
	void (*hook)(const struct pyc_tidy_event *ev);
	size_t errors;
};

static void on_event(const struct pyc_tidy_event *ev, void *arg)
{
	struct seen *s = arg;

	if (s->n < 16) {
		s->why[s->n] = ev->why;
		pathf(s->path[s->n], "%s", ev->path);
	}
	s->n++;
	if (s->hook)
		s->hook(ev);
}

static void on_error(const char *path, const char *message, void *arg)
{
	struct seen *s = arg;

	(void)path, (void)message;
	s->errors++;
}

/* ---- migrate ---- */

/* src/m.py and its fresh pyc in src/__pycache__ (into pyc), migrated
 * to base/pfx with the move forced across file systems; with `replace`,
 * the pyc is replaced once the copy is in place. */
static int migrate_across(struct seen *s, struct pyc_tidy_stats *st,
			  char *pyc, bool replace)
{
	char pfx[PATH_MAX], src[PATH_MAX], root[PATH_MAX];
	struct pyc_tidy_opts o = { .prefix = at(pfx, "pfx"),
				   .event = on_event, .error = on_error,
				   .arg = s };
	const char *roots[] = { at(root, "src") };
	int ret;

	mkdirs("src/__pycache__");
	put("src/m.py", "x = 1\n");
	put_fresh_pyc(at(pyc, "src/__pycache__/m.cpython-312.pyc"),
		      at(src, "src/m.py"));
	fault.exdev_name = "m.cpython-312.pyc";
	if (replace)
		pathf(fault.replace, "%s", pyc);
	ret = pyc_migrate(&o, roots, 1, st);
	fault.exdev_name = NULL;
	free(st->refused_path);
	return ret;
}

/* A cross-file-system move copies, then removes the original: a file
 * that replaced the original meanwhile is not the one copied, and
 * stays. */
static void test_migrate_copy_keeps_a_replaced_source(void **state)
{
	char pyc[PATH_MAX], moved[PATH_MAX];
	struct seen s = { 0 };
	struct pyc_tidy_stats st;
	char *data;

	(void)state;
	assert_int_equal(migrate_across(&s, &st, pyc, true), 0);
	assert_int_equal(fault.replace[0], '\0'); /* the copy was made */
	/* The copy is in the prefix... */
	pathf(moved, "%s/pfx%s/src/m.cpython-312.pyc", base, base);
	assert_true(exists(moved));
	/* ...and the file that took the original's place is still there. */
	assert_true(exists(pyc));
	assert_non_null(data = read_all(pyc));
	assert_string_equal(data, "the file that replaced it");
	free(data);
}

/* Without interference the cross-file-system move removes the
 * original. */
static void test_migrate_copy_removes_the_original(void **state)
{
	char pyc[PATH_MAX], p[PATH_MAX];
	struct seen s = { 0 };
	struct pyc_tidy_stats st;

	(void)state;
	assert_int_equal(migrate_across(&s, &st, pyc, false), 0);
	assert_int_equal(st.files, 1);
	assert_int_equal(st.errors, 0);
	assert_false(exists(pyc));
	/* The emptied __pycache__ goes too. */
	assert_false(exists(at(p, "src/__pycache__")));
	assert_int_equal(s.n, 2);
	assert_int_equal(s.why[0], PYC_TIDY_MOVED);
	assert_int_equal(s.why[1], PYC_TIDY_DIR);
}

/* ---- prune --max-size ---- */

/*
 * A prefix with one pyc whose source exists (kept by the walk, so the
 * eviction measures it) and, walked after it, a killed writer's
 * temporary file whose removal event runs `hook` between the measuring
 * and the eviction.
 */
static char kept_pyc[PATH_MAX];

static void lru_prefix(char *pfx)
{
	char p[PATH_MAX];

	mkdirs("s");
	put("s/m.py", "x = 1\n");
	at(pfx, "pfx");
	pathf(p, "%s%s/s", pfx, base);
	assert_int_equal(pyc__mkdir_p(p, 0755), 0);
	pathf(kept_pyc, "%s/m.cpython-312.pyc", p);
	write_file(kept_pyc, "a pyc");
	/* base is /tmp/...: "tmp" sorts before "zzz" */
	assert_int_equal(strncmp(base, "/tmp/", 5), 0);
	mkdirs("pfx/zzz");
	put("pfx/zzz/.pycprefix-0123456789ab", "");
}

static int prune_max_size(const char *pfx, struct seen *s, unsigned flags,
			  struct pyc_tidy_stats *st)
{
	struct pyc_tidy_opts o = { .prefix = pfx,
				   .flags = PYC_TIDY_MAX_SIZE | flags,
				   .max_size = 0, .temp_grace = 0,
				   .event = on_event, .error = on_error,
				   .arg = s };

	return pyc_prune(&o, NULL, 0, st);
}

static void rewrite_kept(const struct pyc_tidy_event *ev)
{
	if (ev->why != PYC_TIDY_TEMP)
		return;
	FILE *f = fopen(kept_pyc, "ab");
	assert_non_null(f);
	fputs(", written again", f);
	fclose(f);
}

static void test_eviction_keeps_a_file_changed_since_measured(void **state)
{
	char pfx[PATH_MAX];
	struct seen s = { .hook = rewrite_kept };
	struct pyc_tidy_stats st;

	(void)state;
	lru_prefix(pfx);
	assert_int_equal(prune_max_size(pfx, &s, 0, &st), 0);
	assert_true(exists(kept_pyc));
	assert_int_equal(st.kept, 1);
	free(st.refused_path);
}

/* The directory holding the pyc is swapped for a symlink to where it
 * went: the eviction does not follow it. */
static char moved_dir[PATH_MAX], link_dir[PATH_MAX];

static void swap_dir_for_link(const struct pyc_tidy_event *ev)
{
	if (ev->why != PYC_TIDY_TEMP)
		return;
	assert_int_equal(rename(link_dir, moved_dir), 0);
	assert_int_equal(symlink(moved_dir, link_dir), 0);
}

static void test_eviction_does_not_follow_a_planted_symlink(void **state)
{
	char pfx[PATH_MAX], p[PATH_MAX];
	struct seen s = { .hook = swap_dir_for_link };
	struct pyc_tidy_stats st;

	(void)state;
	lru_prefix(pfx);
	pathf(link_dir, "%s%s/s", pfx, base);
	at(moved_dir, "moved");
	assert_int_equal(prune_max_size(pfx, &s, 0, &st), 0);
	pathf(p, "%s/m.cpython-312.pyc", moved_dir);
	assert_true(exists(p));
	free(st.refused_path);
}

/* Without interference: evicted, and its emptied directories go, the
 * dry run listing exactly what the real run removes. */
static void test_eviction_and_dry_run_agree(void **state)
{
	char pfx[PATH_MAX];
	struct seen dry = { 0 }, real = { 0 };
	struct pyc_tidy_stats st;

	(void)state;
	lru_prefix(pfx);
	assert_int_equal(prune_max_size(pfx, &dry, PYC_TIDY_DRY_RUN, &st), 0);
	free(st.refused_path);
	assert_true(exists(kept_pyc));
	assert_int_equal(prune_max_size(pfx, &real, 0, &st), 0);
	free(st.refused_path);
	assert_false(exists(kept_pyc));
	assert_true(real.n > 2);
	assert_int_equal(dry.n, real.n);
	for (size_t i = 0; i < real.n && i < 16; i++) {
		assert_int_equal(dry.why[i], real.why[i]);
		assert_string_equal(dry.path[i], real.path[i]);
	}
	assert_int_equal(real.why[0], PYC_TIDY_TEMP);
	assert_int_equal(real.why[1], PYC_TIDY_SIZE);
	assert_string_equal(real.path[1], kept_pyc);
	/* the prefix itself stays */
	assert_true(exists(pfx));
}

/* prune DIR walks DIR's mirror below the prefix: a symlink on the way
 * there is not followed out of the prefix. */
static void test_prune_root_below_a_planted_symlink(void **state)
{
	char pfx[PATH_MAX], dir[PATH_MAX], p[PATH_MAX], out[PATH_MAX];
	struct seen s = { 0 };
	struct pyc_tidy_opts o = { .prefix = at(pfx, "pfx"),
				   .event = on_event, .error = on_error,
				   .arg = &s };
	const char *dirs[] = { at(dir, "s") };
	struct pyc_tidy_stats st;

	(void)state;
	mkdirs("s");
	mkdirs("pfx");
	/* pfx/tmp -> base/out, holding what looks like s's mirror */
	pathf(out, "%s/out%s/s", base, base + 4);
	assert_int_equal(pyc__mkdir_p(out, 0755), 0);
	pathf(p, "%s/gone.cpython-312.pyc", out);
	write_file(p, "not in the prefix");
	assert_int_equal(symlink(at(out, "out"), at(dir, "pfx/tmp")), 0);
	at(dir, "s");
	assert_int_equal(pyc_prune(&o, dirs, 1, &st), 0);
	assert_true(exists(p));
	assert_int_equal(st.files, 0);
	assert_int_equal(st.errors, 1);
	free(st.refused_path);
}

/* ---- du ---- */

static void count_pyc(const struct pyc_du_item *it, void *arg)
{
	(void)it;
	++*(size_t *)arg;
}

static void make_du_prefix(char *pfx, size_t n)
{
	char rel[64];

	mkdirs("pfx/d");
	for (size_t i = 0; i < n; i++) {
		pathf(rel, "pfx/d/m%02zu.cpython-312.pyc", i);
		put(rel, "pyc");
	}
	at(pfx, "pfx");
}

static void test_du_counts_every_pyc(void **state)
{
	char pfx[PATH_MAX];
	size_t n = 0;
	struct pyc_du_ops ops = { count_pyc, NULL, &n };
	struct pyc_tidy_stats st;

	(void)state;
	make_du_prefix(pfx, 40);
	assert_int_equal(pyc_du(pfx, &ops, &st), 0);
	assert_int_equal(n, 40);
	assert_int_equal(st.kept, 40);
	assert_int_equal(st.bytes, 40 * 3);
}

/* A listing cut short by a failed allocation is an error, not a
 * smaller directory. */
static void test_listing_out_of_memory_is_an_error(void **state)
{
	char pfx[PATH_MAX];
	size_t n = 0;
	struct pyc_du_ops ops = { count_pyc, NULL, &n };
	struct pyc_tidy_stats st;

	(void)state;
	make_du_prefix(pfx, 40);
	fault.fail_strdup = "m20.cpython-312.pyc";
	errno = 0;
	assert_int_equal(pyc_du(pfx, &ops, &st), -1);
	assert_int_equal(errno, ENOMEM);
	assert_null(fault.fail_strdup);
}

/* ---- clean ---- */

static void test_clean_removes_pycache_and_legacy_pycs(void **state)
{
	char root[PATH_MAX], p[PATH_MAX];
	struct seen s = { 0 };
	struct pyc_tidy_opts o = { .event = on_event, .error = on_error,
				   .arg = &s };
	struct pyc_tidy_stats st;
	const char *roots[] = { at(root, "t") };

	(void)state;
	mkdirs("t/__pycache__");
	mkdirs("t/keep");
	put("t/a.py", "");
	put("t/a.pyc", "legacy");
	put("t/lone.pyc", "sourceless");
	put("t/__pycache__/a.cpython-312.pyc", "pyc");
	put("t/keep/notes.txt", "");
	assert_int_equal(pyc_clean(&o, roots, 1, &st), 0);
	assert_int_equal(st.files, 2);
	assert_int_equal(st.dirs, 1);
	assert_false(exists(at(p, "t/a.pyc")));
	assert_false(exists(at(p, "t/__pycache__")));
	assert_true(exists(at(p, "t/lone.pyc")));
	assert_true(exists(at(p, "t/keep/notes.txt")));
	free(st.refused_path);
}

/* ---- prune ---- */

static void test_prune_orphans_and_refusals(void **state)
{
	char pfx[PATH_MAX], p[PATH_MAX];
	struct seen s = { 0 };
	struct pyc_tidy_opts o = { .prefix = at(pfx, "pfx"),
				   .temp_grace = 3600,
				   .event = on_event, .error = on_error,
				   .arg = &s };
	struct pyc_tidy_stats st;

	(void)state;
	mkdirs("s");
	put("s/live.py", "");
	pathf(p, "%s%s/s", pfx, base);
	assert_int_equal(pyc__mkdir_p(p, 0755), 0);
	pathf(p, "%s%s/s/live.cpython-312.pyc", pfx, base);
	write_file(p, "pyc");
	pathf(p, "%s%s/s/gone.cpython-312.pyc", pfx, base);
	write_file(p, "pyc");
	pathf(p, "%s%s/s/notes.txt", pfx, base);
	write_file(p, "not ours");
	pathf(p, "%s%s/s/.pycprefix-0123456789ab", pfx, base);
	write_file(p, "young temp");
	assert_int_equal(pyc_prune(&o, NULL, 0, &st), 0);
	assert_int_equal(st.files, 1);
	assert_int_equal(st.kept, 1);
	assert_int_equal(s.why[0], PYC_TIDY_ORPHAN);
	pathf(p, "%s%s/s/gone.cpython-312.pyc", pfx, base);
	assert_string_equal(s.path[0], p);
	assert_false(exists(p));
	pathf(p, "%s%s/s/.pycprefix-0123456789ab", pfx, base);
	assert_true(exists(p));
	free(st.refused_path);

	/* A source in the prefix: refused, nothing removed. */
	pathf(p, "%s%s/s/intruder.py", pfx, base);
	write_file(p, "");
	pathf(p, "%s%s/s/gone2.cpython-312.pyc", pfx, base);
	write_file(p, "pyc");
	assert_int_equal(pyc_prune(&o, NULL, 0, &st), PYC_TIDY_REFUSED);
	assert_int_equal(st.refused, PYC_REFUSED_SOURCE);
	assert_true(exists(p));
	free(st.refused_path);
}

/* A temporary file written a moment ago is as old as a grace of 0: the
 * clock prune reads is not behind the file system's (on Linux 6.13 and
 * later a file's time can be finer, and so later, than time()'s coarse
 * second).  Written and pruned over and over across a second boundary,
 * where the two differ. */
static void test_temp_just_written_is_past_a_zero_grace(void **state)
{
	char pfx[PATH_MAX], tmp[PATH_MAX];
	struct seen s = { 0 };
	struct pyc_tidy_opts o = { .prefix = at(pfx, "pfx"),
				   .temp_grace = 0,
				   .event = on_event, .error = on_error,
				   .arg = &s };
	struct pyc_tidy_stats st;
	struct timespec ts;

	(void)state;
	mkdirs("pfx");
	at(tmp, "pfx/.pycprefix-0123456789ab");
	/* start 30 ms before the next second, go on 30 ms past it */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 1;
	ts.tv_nsec = 0;
	clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME,
			&(struct timespec){ ts.tv_sec - 1, 970000000L }, NULL);
	for (;;) {
		struct timespec now;

		write_file(tmp, "");
		s.n = 0;
		assert_int_equal(pyc_prune(&o, NULL, 0, &st), 0);
		free(st.refused_path);
		assert_false(exists(tmp));
		clock_gettime(CLOCK_REALTIME, &now);
		if (now.tv_sec > ts.tv_sec ||
		    (now.tv_sec == ts.tv_sec && now.tv_nsec > 30000000L))
			break;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_migrate_copy_keeps_a_replaced_source, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_migrate_copy_removes_the_original, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_eviction_keeps_a_file_changed_since_measured,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_eviction_does_not_follow_a_planted_symlink,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_eviction_and_dry_run_agree, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_temp_just_written_is_past_a_zero_grace, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_prune_root_below_a_planted_symlink, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_du_counts_every_pyc,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_listing_out_of_memory_is_an_error, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_clean_removes_pycache_and_legacy_pycs, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_prune_orphans_and_refusals, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
