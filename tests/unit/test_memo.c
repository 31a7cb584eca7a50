/* Unit tests of memo.c: the compile-error memo survives a round trip
 * (odd names included), matches only the same file at covered levels,
 * and shrugs off a file that does not parse. */
#include "unit.h"
#include "memo.h"

#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/pycprefix-memo-XXXXXX";

static struct pyc_interp interp(int micro)
{
	struct pyc_interp in = { .path = "/usr/bin/python3.12",
				 .real = "/usr/bin/python3.12", .major = 3,
				 .minor = 12, .micro = micro, .magic = 3531,
				 .level = "final" };
	return in;
}

static const struct pyc_memo_id ID = { 1, 2, 3, 4000000005, 6000000007 };

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

static void test_round_trip(void **state)
{
	struct pyc_interp in = interp(1), other = interp(2);
	struct pyc_memo m, back;
	const struct pyc_memo_entry *e;
	struct pyc_memo_id id = ID;

	(void)state;
	assert_int_equal(pyc__memo_init(&m, dir, &in), 0);
	assert_int_equal(pyc__memo_add(&m, "/t/z.py", &ID, 1, 2, 3,
				      "SyntaxError: x"), 0);
	assert_int_equal(pyc__memo_add(&m, "/t/new\nline 1 2.py", &ID, 5, 0, 0,
				      "two\nlines"), 0);
	assert_int_equal(pyc__memo_save(&m), 0);
	assert_int_equal(pyc__memo_open(&back, dir, &in), 0);
	assert_int_equal(back.n, 2);
	e = pyc__memo_find(&back, "/t/z.py", &id, 1);
	assert_non_null(e);
	assert_int_equal(e->line, 2);
	assert_int_equal(e->col, 3);
	assert_string_equal(e->message, "SyntaxError: x");
	e = pyc__memo_find(&back, "/t/new\nline 1 2.py", &id, 4);
	assert_non_null(e);
	assert_string_equal(e->message, "two\nlines");
	/* Other levels, another file identity, another path: no match. */
	assert_null(pyc__memo_find(&back, "/t/z.py", &id, 3));
	id.ctime_ns++;
	assert_null(pyc__memo_find(&back, "/t/z.py", &id, 1));
	assert_null(pyc__memo_find(&back, "/t/y.py", &ID, 1));
	pyc__memo_release(&back);
	/* Another interpreter build has its own, empty memo. */
	assert_int_equal(pyc__memo_open(&back, dir, &other), 0);
	assert_int_equal(back.n, 0);
	assert_string_not_equal(back.file, m.file);
	pyc__memo_release(&back);
	/* An empty memo removes the file. */
	m.n = 0;
	assert_int_equal(pyc__memo_save(&m), 0);
	assert_int_equal(access(m.file, F_OK), -1);
	m.n = 2;
	pyc__memo_release(&m);
}

/* Entries this run did not see are carried over while their source
 * exists. */
static void test_carry(void **state)
{
	struct pyc_interp in = interp(1);
	struct pyc_memo last, now;
	char exists[600];

	(void)state;
	snprintf(exists, sizeof(exists), "%s/here.py", dir);
	FILE *f = fopen(exists, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(pyc__memo_init(&last, dir, &in), 0);
	assert_int_equal(pyc__memo_add(&last, exists, &ID, 1, 1, 1, "a"), 0);
	assert_int_equal(pyc__memo_add(&last, "/nonexistent/gone.py", &ID, 1,
				      1, 1, "b"), 0);
	assert_int_equal(pyc__memo_init(&now, dir, &in), 0);
	assert_int_equal(pyc__memo_carry(&now, &last), 0);
	assert_int_equal(now.n, 1);
	assert_string_equal(now.v[0].source, exists);
	pyc__memo_release(&now);
	last.v[0].seen = true;
	assert_int_equal(pyc__memo_init(&now, dir, &in), 0);
	assert_int_equal(pyc__memo_carry(&now, &last), 0);
	assert_int_equal(now.n, 0);
	pyc__memo_release(&now);
	pyc__memo_release(&last);
	unlink(exists);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_garbage(void **state)
{
	struct pyc_interp in = interp(1);
	struct pyc_memo m, back;
	const char *bad[] = {
		"",
		"pycprefix-failures 1 999\nshort\n",
		"pycprefix-failures 2 3\nabc\n",
		NULL, /* the right key, then a truncated record */
	};
	char text[512];

	(void)state;
	assert_int_equal(pyc__memo_init(&m, dir, &in), 0);
	snprintf(text, sizeof(text), "pycprefix-failures 1 %zu\n%s\n"
		 "1 2 3 4 5 1 0 0 7 2\n/t/a.py", strlen(m.key), m.key);
	bad[3] = text;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		write_file(m.file, bad[i]);
		assert_int_equal(pyc__memo_open(&back, dir, &in), 0);
		assert_int_equal(back.n, 0);
		pyc__memo_release(&back);
	}
	pyc__memo_release(&m);
}

/* Sizes whose sum wraps around (srclen + msglen + 1 == 1 modulo 2^64)
 * once passed the bounds check and read far past the file: such a
 * record is refused.  (The fuzz target replays the same input.) */
static void test_sizes_that_wrap(void **state)
{
	struct pyc_interp in = interp(1);
	struct pyc_memo m, back;
	char text[512];

	(void)state;
	assert_int_equal(pyc__memo_init(&m, dir, &in), 0);
	snprintf(text, sizeof(text), "pycprefix-failures 1 %zu\n%s\n"
		 "1 2 3 4 5 1 0 0 1 %zu\n\nmore bytes after\n",
		 strlen(m.key), m.key, (size_t)-1);
	write_file(m.file, text);
	assert_int_equal(pyc__memo_open(&back, dir, &in), 0);
	assert_int_equal(back.n, 0);
	pyc__memo_release(&back);
	/* The parser on bytes, as the fuzz target calls it. */
	assert_int_equal(pyc__memo_parse(&m, text, strlen(text)), 0);
	assert_int_equal(m.n, 0);
	pyc__memo_release(&m);
}

/* The orphan rule is the one status and prune use (pyc_source_gone):
 * a source is gone when stat() says ENOENT or ENOTDIR (a directory on
 * its path is now a file); a failure that proves nothing (a symlink
 * loop, ELOOP) keeps the entry. */
static void test_carry_source_gone_rule(void **state)
{
	struct pyc_interp in = interp(1);
	struct pyc_memo last, now;
	char file[600], notdir[700], loop[600], inloop[700];

	(void)state;
	snprintf(file, sizeof(file), "%s/plain", dir);
	write_file(file, "");
	snprintf(notdir, sizeof(notdir), "%s/x.py", file);
	snprintf(loop, sizeof(loop), "%s/loop", dir);
	assert_int_equal(symlink("loop", loop), 0);
	snprintf(inloop, sizeof(inloop), "%s/x.py", loop);
	assert_int_equal(pyc__memo_init(&last, dir, &in), 0);
	assert_int_equal(pyc__memo_add(&last, notdir, &ID, 1, 1, 1, "a"), 0);
	assert_int_equal(pyc__memo_add(&last, inloop, &ID, 1, 1, 1, "b"), 0);
	assert_int_equal(pyc__memo_init(&now, dir, &in), 0);
	assert_int_equal(pyc__memo_carry(&now, &last), 0);
	assert_int_equal(now.n, 1);
	assert_string_equal(now.v[0].source, inloop);
	pyc__memo_release(&now);
	pyc__memo_release(&last);
	unlink(loop);
	unlink(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_carry),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_sizes_that_wrap),
		cmocka_unit_test(test_carry_source_gone_rule),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
