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

/* A 5.5 s job as the issue saw it: 3 s of walk, freshness pass and
 * worker start-up, then 10,000 files at 4,000 a second. */
static void test_eta_from_observed_throughput(void **state)
{
	struct cli_eta e = { 0 };
	const size_t total = 10000;
	double rate;

	(void)state;
	assert_int_equal(cli_eta_update(&e, 3000, 1, total, &rate), -1);
	/* Too little seen: no estimate rather than a wild one. */
	assert_int_equal(cli_eta_update(&e, 3100, 400, total, &rate), -1);
	assert_true(rate == 0);
	assert_int_equal(cli_eta_update(&e, 3900, 3600, total, &rate), -1);
	/* After a second: 4,000 files a second, 1.5 s left. */
	long eta = cli_eta_update(&e, 4000, 4001, total, &rate);
	assert_true(rate > 3900 && rate < 4100);
	assert_int_equal(eta, 2); /* 1.5 s, rounded up */
	eta = cli_eta_update(&e, 5000, 8001, total, &rate);
	assert_true(eta >= 0 && eta <= 1);
	assert_int_equal(cli_eta_update(&e, 5500, total, total, &rate), 0);
}

static void test_eta_needs_enough_items(void **state)
{
	struct cli_eta e = { 0 };
	double rate;

	(void)state;
	/* Slow files: two in ten seconds say little about the next 98. */
	assert_int_equal(cli_eta_update(&e, 1000, 1, 100, &rate), -1);
	assert_int_equal(cli_eta_update(&e, 11000, 3, 100, &rate), -1);
	for (size_t d = 4; d < 1 + CLI_ETA_MIN_ITEMS; d++)
		assert_int_equal(cli_eta_update(&e, 11000 + (long)d * 1000, d,
						100, &rate), -1);
	long eta = cli_eta_update(&e, 20000, 1 + CLI_ETA_MIN_ITEMS, 100,
				  &rate);
	assert_true(eta > 0);
	/* The rate over what was seen: 8 files in 19 s. */
	assert_true(rate > 0.40 && rate < 0.45);
}

static void test_eta_restarts_with_a_new_round(void **state)
{
	struct cli_eta e = { 0 };
	double rate;

	(void)state;
	cli_eta_update(&e, 0, 1, 1000, &rate);
	assert_true(cli_eta_update(&e, 2000, 1000, 1000, &rate) == 0);
	/* --sys-path: the next interpreter counts from 1 again, after its
	 * own start-up; the first round's rate says nothing of it. */
	assert_int_equal(cli_eta_update(&e, 9000, 1, 50, &rate), -1);
	assert_int_equal(cli_eta_update(&e, 9500, 40, 50, &rate), -1);
	assert_true(cli_eta_update(&e, 10000, 49, 50, &rate) >= 0);
	assert_true(rate > 47 && rate < 49);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_paths_stay),
		cmocka_unit_test(test_odd_paths_quoted_as_git),
		cmocka_unit_test(test_ring_keeps_a_message_worth),
		cmocka_unit_test(test_eta_from_observed_throughput),
		cmocka_unit_test(test_eta_needs_enough_items),
		cmocka_unit_test(test_eta_restarts_with_a_new_round),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
