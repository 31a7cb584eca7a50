/* Unit tests of src/cli/output.c: paths quoted as git quotes them, the
 * progress estimate. */
#include "unit.h"

#include "../../src/cli/output.h"

static void test_plain_paths_stay(void **state)
{
	(void)state;
	assert_string_equal(cli_qpath("src/a b/m.py"), "src/a b/m.py");
	assert_string_equal(cli_qpath("sq'uote.py"), "sq'uote.py");
	/* Valid UTF-8 is shown as it is (git's core.quotePath=false). */
	assert_string_equal(cli_qpath("caf\xc3\xa9.py"), "caf\xc3\xa9.py");
	assert_string_equal(cli_qpath("\xf0\x9f\x90\x8d.py"),
			    "\xf0\x9f\x90\x8d.py");
	assert_false(cli_path_needs_quotes("caf\xc3\xa9.py"));
	assert_string_equal(cli_qsubject("src/a.py"), "'src/a.py'");
}

static void test_odd_paths_quoted_as_git(void **state)
{
	(void)state;
	/* The forms git ls-files prints for the same names. */
	assert_string_equal(cli_qpath("a\nb.py"), "\"a\\nb.py\"");
	assert_string_equal(cli_qpath("tab\tx"), "\"tab\\tx\"");
	assert_string_equal(cli_qpath("bell\a"), "\"bell\\a\"");
	assert_string_equal(cli_qpath("q\"uote"), "\"q\\\"uote\"");
	assert_string_equal(cli_qpath("bs\\x"), "\"bs\\\\x\"");
	assert_string_equal(cli_qpath("ctl\001x"), "\"ctl\\001x\"");
	assert_string_equal(cli_qpath("del\177x"), "\"del\\177x\"");
	assert_string_equal(cli_qpath("esc\033x"), "\"esc\\033x\"");
	assert_string_equal(cli_qpath("bad\377"), "\"bad\\377\"");
	/* Latin-1, a truncated sequence, an overlong one, a surrogate. */
	assert_string_equal(cli_qpath("caf\351.py"), "\"caf\\351.py\"");
	assert_string_equal(cli_qpath("x\xc3"), "\"x\\303\"");
	assert_string_equal(cli_qpath("\xc0\xaf"), "\"\\300\\257\"");
	assert_string_equal(cli_qpath("\xed\xa0\x80"),
			    "\"\\355\\240\\200\"");
	/* A C1 control (U+009B, CSI to some terminals) is escaped; valid
	 * characters beside an odd byte are kept. */
	assert_string_equal(cli_qpath("\xc2\x9b" "2J"), "\"\\302\\2332J\"");
	assert_string_equal(cli_qpath("\xc3\xa9\n"), "\"\xc3\xa9\\n\"");
	/* As a message's subject: the same, not inside single quotes. */
	assert_string_equal(cli_qsubject("a\nb"), "\"a\\nb\"");
}

static void test_ring_keeps_a_message_worth(void **state)
{
	const char *v[CLI_QUOTE_RING];
	char want[32];

	(void)state;
	for (int i = 0; i < CLI_QUOTE_RING; i++) {
		snprintf(want, sizeof(want), "n%d\n", i);
		v[i] = cli_qpath(want);
	}
	for (int i = 0; i < CLI_QUOTE_RING; i++) {
		snprintf(want, sizeof(want), "\"n%d\\n\"", i);
		assert_string_equal(v[i], want);
	}
	cli_output_release();
}

static long eta_at(struct cli_eta *e, long ms, size_t done, size_t total,
		   uint64_t done_bytes, uint64_t total_bytes, double *rate)
{
	const struct pyc_progress p = { done, total, done_bytes, total_bytes };

	return cli_eta_update(e, ms, &p, rate);
}

/* A 5.5 s job as the issue saw it: 3 s of walk, freshness pass and
 * worker start-up, then 10,000 files of 100 bytes at 4,000 a second. */
static void test_eta_from_observed_throughput(void **state)
{
	struct cli_eta e = { 0 };
	const size_t n = 10000;
	double rate;

	(void)state;
	assert_int_equal(eta_at(&e, 3000, 1, n, 100, 100 * n, &rate), -1);
	/* Too little seen: no estimate rather than a wild one. */
	assert_int_equal(eta_at(&e, 3100, 400, n, 40000, 100 * n, &rate), -1);
	assert_true(rate == 0);
	assert_int_equal(eta_at(&e, 3900, 3600, n, 360000, 100 * n, &rate), -1);
	/* After a second: 4,000 files a second, 1.5 s left. */
	long eta = eta_at(&e, 4000, 4001, n, 400100, 100 * n, &rate);
	assert_true(rate > 3900 && rate < 4100);
	assert_int_equal(eta, 2); /* 1.5 s, rounded up */
	eta = eta_at(&e, 5000, 8001, n, 800100, 100 * n, &rate);
	assert_int_equal(eta, 1);
	/* Never 0 while files are left, even empty ones. */
	eta = eta_at(&e, 5400, n - 1, n, 100 * n, 100 * n, &rate);
	assert_int_equal(eta, 1);
	assert_int_equal(eta_at(&e, 5500, n, n, 100 * n, 100 * n, &rate), 0);
}

/*
 * Largest first, as compile goes: 2,000 sources from 40 KB down to 100
 * bytes, each costing 1 ms plus 0.5 ms a KB, after 3 s of start-up.  The
 * estimate stays within a factor of two of the truth all along (the
 * rate of files alone is 3 to 6 times too slow here).
 */
static void test_eta_largest_first(void **state)
{
	enum { N = 2000 };
	static uint64_t size[N];
	static double at[N];
	struct cli_eta e = { 0 };
	uint64_t total_bytes = 0, done_bytes = 0;
	double t = 3000, rate;
	int checked = 0;

	(void)state;
	for (int i = 0; i < N; i++) {
		double left = 1.0 - (double)i / N;
		size[i] = (uint64_t)(40000 * left * left) + 100;
		total_bytes += size[i];
		t += 1.0 + (double)size[i] / 2000;
		at[i] = t;
	}
	for (int i = 0; i < N; i++) {
		done_bytes += size[i];
		long eta = eta_at(&e, (long)at[i], (size_t)i + 1, N, done_bytes,
				  total_bytes, &rate);
		double truth = (at[N - 1] - at[i]) / 1000;
		if (i < N / 20 || i > N * 9 / 10)
			continue;
		assert_true(eta >= 0);
		assert_true(eta <= 2 * truth + 1);
		assert_true(eta >= truth / 2);
		checked++;
	}
	assert_true(checked > N / 2);
}

static void test_eta_needs_enough_items(void **state)
{
	struct cli_eta e = { 0 };
	double rate;

	(void)state;
	/* Slow files: two in ten seconds say little about the next 98. */
	assert_int_equal(eta_at(&e, 1000, 1, 100, 10, 1000, &rate), -1);
	assert_int_equal(eta_at(&e, 11000, 3, 100, 30, 1000, &rate), -1);
	for (size_t d = 4; d < 1 + CLI_ETA_MIN_ITEMS; d++)
		assert_int_equal(eta_at(&e, 11000 + (long)d * 1000, d, 100,
					10 * d, 1000, &rate), -1);
	long eta = eta_at(&e, 20000, 1 + CLI_ETA_MIN_ITEMS, 100,
			  10 * (1 + CLI_ETA_MIN_ITEMS), 1000, &rate);
	assert_true(eta > 0);
	/* The rate over what was seen: 8 files in 19 s. */
	assert_true(rate > 0.40 && rate < 0.45);
}

static void test_eta_restarts_with_a_new_round(void **state)
{
	struct cli_eta e = { 0 };
	double rate;

	(void)state;
	eta_at(&e, 0, 1, 1000, 1, 1000, &rate);
	assert_true(eta_at(&e, 2000, 1000, 1000, 1000, 1000, &rate) == 0);
	/* --sys-path: the next interpreter counts from 1 again, after its
	 * own start-up; the first round's rate says nothing of it. */
	assert_int_equal(eta_at(&e, 9000, 1, 50, 1, 50, &rate), -1);
	assert_int_equal(eta_at(&e, 9500, 40, 50, 40, 50, &rate), -1);
	assert_true(eta_at(&e, 10000, 49, 50, 49, 50, &rate) >= 0);
	assert_true(rate > 47 && rate < 49);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_paths_stay),
		cmocka_unit_test(test_odd_paths_quoted_as_git),
		cmocka_unit_test(test_ring_keeps_a_message_worth),
		cmocka_unit_test(test_eta_from_observed_throughput),
		cmocka_unit_test(test_eta_largest_first),
		cmocka_unit_test(test_eta_needs_enough_items),
		cmocka_unit_test(test_eta_restarts_with_a_new_round),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
