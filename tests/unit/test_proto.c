/* Unit tests of proto.c: decoding worker responses, whole, partial and
 * malformed. */
#include "unit.h"
#include "internal.h"

static const unsigned char ok[] =
	"R\x01\0\0\0" "\x05\0\0\0" "\x04\0\0\0" "warn"
	"K\x02\0\0\0" "\x03\0\0\0" "abc" "\0\0\0\0";
static const unsigned char err[] =
	"R\0\0\0\0" "E" "\x02\0\0\0" "\x07\0\0\0" "\x03\0\0\0" "bad";

static void test_whole(void **state)
{
	struct pyc_result r;
	size_t used;

	(void)state;
	assert_int_equal(pyc__parse_response(ok, sizeof(ok) - 1, &r, &used), 1);
	assert_true(r.ok);
	assert_int_equal(used, sizeof(ok) - 1);
	assert_int_equal(r.nwarnings, 1);
	assert_string_equal(r.warnings, "5: warn");
	assert_int_equal(r.code_len[0], 3);
	assert_memory_equal(r.code[0], "abc", 3);
	assert_int_equal(r.code_len[1], 0);
	free((char *)r.warnings);
	assert_int_equal(pyc__parse_response(err, sizeof(err) - 1, &r, &used), 1);
	assert_false(r.ok);
	assert_int_equal(r.line, 2);
	assert_int_equal(r.col, 7);
	assert_string_equal(r.message, "bad");
	free((char *)r.warnings);
}

static void test_partial(void **state)
{
	struct pyc_result r;
	size_t used;

	(void)state;
	for (size_t n = 0; n < sizeof(ok) - 1; n++)
		assert_int_equal(pyc__parse_response(ok, n, &r, &used), 0);
	for (size_t n = 0; n < sizeof(err) - 1; n++)
		assert_int_equal(pyc__parse_response(err, n, &r, &used), 0);
}

static void test_malformed(void **state)
{
	static const unsigned char tag[] = "X\0\0\0\0";
	static const unsigned char levels[] = "R\0\0\0\0K\x09\0\0\0";
	static const unsigned char huge[] = "R\0\0\0\0K\x01\0\0\0\xff\xff\xff\xff";
	static const unsigned char result[] = "R\0\0\0\0Z";
	struct pyc_result r;
	size_t used;

	(void)state;
	assert_int_equal(pyc__parse_response(tag, 5, &r, &used), -1);
	assert_int_equal(pyc__parse_response(levels, 10, &r, &used), -1);
	assert_int_equal(pyc__parse_response(huge, 14, &r, &used), -1);
	assert_int_equal(pyc__parse_response(result, 6, &r, &used), -1);
}

/* The decoder says how many code objects a "K" carried, so that the
 * pool can refuse a reply short of the job's levels (an empty "K" and a
 * zero-length code object are not the same thing). */
static void test_code_count(void **state)
{
	static const unsigned char none[] = "R\0\0\0\0K\0\0\0\0";
	static const unsigned char one_empty[] =
		"R\0\0\0\0K\x01\0\0\0\0\0\0\0";
	struct pyc_result r;
	size_t used;

	(void)state;
	assert_int_equal(pyc__parse_response(ok, sizeof(ok) - 1, &r, &used), 1);
	assert_int_equal(r.ncodes, 2);
	free((char *)r.warnings);
	assert_int_equal(pyc__parse_response(none, sizeof(none) - 1, &r,
					     &used), 1);
	assert_true(r.ok);
	assert_int_equal(r.ncodes, 0);
	free((char *)r.warnings);
	assert_int_equal(pyc__parse_response(one_empty, sizeof(one_empty) - 1,
					     &r, &used), 1);
	assert_int_equal(r.ncodes, 1);
	assert_int_equal(r.code_len[0], 0);
	free((char *)r.warnings);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole),
		cmocka_unit_test(test_partial),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_code_count),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
