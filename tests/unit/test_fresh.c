/* Unit tests of fresh.c: the decision table of SourceLoader.get_code. */
#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct pyc_source_stat src = { 1700000000, 999999999, 42 };

static void ts_header(unsigned char h[16], uint32_t mtime, uint32_t size)
{
	pyc_header_build(h, 3531, PYC_INV_TIMESTAMP, mtime, size, NULL);
}

static void test_timestamp(void **state)
{
	unsigned char h[16];
	struct pyc_verdict v;

	(void)state;
	ts_header(h, 1700000001, 42);  /* int(st_mtime) rounds up here */
	v = pyc_judge_header(3531, PYC_CHECK_DEFAULT, h, 16, &src, 0);
	assert_int_equal(v.state, PYC_FRESH);
	ts_header(h, 1700000000, 42);
	v = pyc_judge_header(3531, PYC_CHECK_DEFAULT, h, 16, &src, 0);
	assert_int_equal(v.why, PYC_WHY_MTIME);
	ts_header(h, 1700000001, 43);
	v = pyc_judge_header(3531, PYC_CHECK_DEFAULT, h, 16, &src, 0);
	assert_int_equal(v.why, PYC_WHY_SIZE);
	v = pyc_judge_header(3571, PYC_CHECK_DEFAULT, h, 16, &src, 0);
	assert_int_equal(v.why, PYC_WHY_MAGIC);
	v = pyc_judge_header(3531, PYC_CHECK_DEFAULT, h, 10, &src, 0);
	assert_int_equal(v.why, PYC_WHY_TRUNCATED);
	v = pyc_judge_header(3531, PYC_CHECK_DEFAULT, NULL, 0, &src, 0);
	assert_int_equal(v.state, PYC_MISSING);
}

static void test_hash_modes(void **state)
{
	unsigned char h[16], hash[8] = { 9 }, other[8] = { 8 };
	struct pyc_verdict v;

	(void)state;
	pyc_header_build(h, 3531, PYC_INV_CHECKED_HASH, 0, 0, hash);
	v = pyc_judge_header(3531, PYC_CHECK_DEFAULT, h, 16, &src, 0);
	assert_int_equal(v.state, PYC_NEED_HASH);
	assert_int_equal(pyc_judge_hash(PYC_CHECK_DEFAULT, h, hash).state, PYC_FRESH);
	assert_int_equal(pyc_judge_hash(PYC_CHECK_DEFAULT, h, other).why, PYC_WHY_HASH);
	v = pyc_judge_header(3531, PYC_CHECK_NEVER, h, 16, &src, 0);
	assert_int_equal(v.why, PYC_WHY_UNCHECKED);

	pyc_header_build(h, 3531, PYC_INV_UNCHECKED_HASH, 0, 0, hash);
	v = pyc_judge_header(3531, PYC_CHECK_DEFAULT, h, 16, &src, 0);
	assert_int_equal(v.why, PYC_WHY_UNCHECKED);
	v = pyc_judge_header(3531, PYC_CHECK_ALWAYS, h, 16, &src, 0);
	assert_int_equal(v.state, PYC_NEED_HASH);
	assert_int_equal(pyc_judge_hash(PYC_CHECK_ALWAYS, h, other).state, PYC_STALE);
	/* Asked to verify what Python does not: fresh, but flagged. */
	v = pyc_judge_header(3531, PYC_CHECK_DEFAULT, h, 16, &src,
			     PYC_JUDGE_VERIFY_UNCHECKED);
	assert_int_equal(v.state, PYC_NEED_HASH);
	v = pyc_judge_hash(PYC_CHECK_DEFAULT, h, other);
	assert_int_equal(v.state, PYC_FRESH);
	assert_true(v.unchecked_changed);
	v = pyc_judge_hash(PYC_CHECK_DEFAULT, h, hash);
	assert_false(v.unchecked_changed);
}

static void test_files(void **state)
{
	char dir[] = "/tmp/pyc-unit-XXXXXX", srcp[64], pycp[64];
	unsigned char h[16], hash[8];
	struct pyc_interp in = { .magic = 3531 };
	struct pyc_verdict v;
	struct stat st;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(srcp, sizeof(srcp), "%s/m.py", dir);
	snprintf(pycp, sizeof(pycp), "%s/m.pyc", dir);
	f = fopen(srcp, "w");
	fputs("x = 1\n", f);
	fclose(f);
	assert_int_equal(pyc_judge_files(&in, PYC_CHECK_DEFAULT, srcp, NULL, AT_FDCWD,
					 pycp, 0, &v), 0);
	assert_int_equal(v.state, PYC_MISSING);
	stat(srcp, &st);
	pyc_source_hash(3531, "x = 1\n", 6, hash);
	pyc_header_build(h, 3531, PYC_INV_CHECKED_HASH, 0, 0, hash);
	f = fopen(pycp, "w");
	fwrite(h, 1, 16, f);
	fclose(f);
	assert_int_equal(pyc_judge_files(&in, PYC_CHECK_DEFAULT, srcp, NULL, AT_FDCWD,
					 pycp, 0, &v), 0);
	assert_int_equal(v.why, PYC_WHY_HASH_OK);
	unlink(srcp);
	assert_int_equal(pyc_judge_files(&in, PYC_CHECK_DEFAULT, srcp, NULL, AT_FDCWD,
					 pycp, 0, &v), -1);
	unlink(pycp);
	rmdir(dir);
}

static void write_bytes(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

/* The one judgement compile, status, show, prune and migrate make: the
 * source's stat may be the caller's, the pyc may be named relative to a
 * directory descriptor, the pyc's kind is reported, and the source is
 * hashed only when the mode or the flags ask. */
static void test_judge_one_rule(void **state)
{
	char dir[] = "/tmp/pyc-unit-XXXXXX", srcp[64], pycp[64];
	const struct pyc_source_stat fake = { 1600000000, 0, 6 };
	unsigned char h[16], hash[8], other[8] = { 1 };
	struct pyc_interp in = { .magic = 3531 };
	struct pyc_verdict v;
	int dfd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_true((dfd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0);
	snprintf(srcp, sizeof(srcp), "%s/m.py", dir);
	snprintf(pycp, sizeof(pycp), "%s/m.pyc", dir);
	write_bytes(srcp, "x = 1\n", 6);
	pyc_source_hash(3531, "x = 1\n", 6, hash);

	/* A timestamp pyc is judged by the stat given, not the file's. */
	pyc_header_build(h, 3531, PYC_INV_TIMESTAMP, fake.mtime_sec, 6, NULL);
	write_bytes(pycp, h, 16);
	assert_int_equal(pyc_judge_files(&in, PYC_CHECK_DEFAULT, srcp, &fake,
					 dfd, "m.pyc", 0, &v), 0);
	assert_int_equal(v.state, PYC_FRESH);
	assert_int_equal(v.kind, PYC_INV_TIMESTAMP);
	assert_int_equal(pyc_judge_files(&in, PYC_CHECK_DEFAULT, srcp, NULL,
					 dfd, "m.pyc", 0, &v), 0);
	assert_int_equal(v.why, PYC_WHY_MTIME);

	/* A checked-hash pyc: hashed, and its kind says so. */
	pyc_header_build(h, 3531, PYC_INV_CHECKED_HASH, 0, 0, hash);
	write_bytes(pycp, h, 16);
	assert_int_equal(pyc_judge_files(&in, PYC_CHECK_DEFAULT, srcp, &fake,
					 dfd, "m.pyc", 0, &v), 0);
	assert_int_equal(v.why, PYC_WHY_HASH_OK);
	assert_int_equal(v.kind, PYC_INV_CHECKED_HASH);

	/* An unchecked-hash pyc of a changed source: fresh to Python; with
	 * PYC_JUDGE_VERIFY_UNCHECKED flagged; stale under "always". */
	pyc_header_build(h, 3531, PYC_INV_UNCHECKED_HASH, 0, 0, other);
	write_bytes(pycp, h, 16);
	assert_int_equal(pyc_judge_files(&in, PYC_CHECK_DEFAULT, srcp, &fake,
					 dfd, "m.pyc", 0, &v), 0);
	assert_int_equal(v.why, PYC_WHY_UNCHECKED);
	assert_false(v.unchecked_changed);
	assert_int_equal(v.kind, PYC_INV_UNCHECKED_HASH);
	assert_int_equal(pyc_judge_files(&in, PYC_CHECK_DEFAULT, srcp, &fake,
					 dfd, "m.pyc",
					 PYC_JUDGE_VERIFY_UNCHECKED, &v), 0);
	assert_int_equal(v.state, PYC_FRESH);
	assert_true(v.unchecked_changed);
	assert_int_equal(pyc_judge_files(&in, PYC_CHECK_ALWAYS, srcp, &fake,
					 dfd, "m.pyc", 0, &v), 0);
	assert_int_equal(v.why, PYC_WHY_HASH);

	/* A truncated header is stale; no pyc is missing. */
	write_bytes(pycp, h, 9);
	assert_int_equal(pyc_judge_files(&in, PYC_CHECK_DEFAULT, srcp, &fake,
					 dfd, "m.pyc", 0, &v), 0);
	assert_int_equal(v.why, PYC_WHY_TRUNCATED);
	unlink(pycp);
	assert_int_equal(pyc_judge_files(&in, PYC_CHECK_DEFAULT, srcp, &fake,
					 dfd, "m.pyc", 0, &v), 0);
	assert_int_equal(v.state, PYC_MISSING);

	/* The source gone: a judgement that needs no source still stands,
	 * one that must stat or hash it fails. */
	unlink(srcp);
	assert_int_equal(pyc_judge_files(&in, PYC_CHECK_DEFAULT, srcp, &fake,
					 dfd, "m.pyc", 0, &v), 0);
	assert_int_equal(pyc_judge_files(&in, PYC_CHECK_DEFAULT, srcp, NULL,
					 dfd, "m.pyc", 0, &v), -1);
	close(dfd);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timestamp),
		cmocka_unit_test(test_hash_modes),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_judge_one_rule),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
