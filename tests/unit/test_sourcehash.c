/* Unit tests of sourcehash.c: vectors printed by each interpreter's
 * importlib.util.source_hash(b"pycprefix"). */
#include "unit.h"

static void check(uint16_t magic, const char *hex)
{
	unsigned char h[8];
	char got[17];

	pyc_source_hash(magic, "pycprefix", 9, h);
	for (int i = 0; i < 8; i++)
		snprintf(got + 2 * i, 3, "%02x", h[i]);
	assert_string_equal(got, hex);
}

static void test_vectors(void **state)
{
	(void)state;
	check(3413, "1d5cd17bcd558ca0"); /* 3.8, SipHash-2-4 */
	check(3425, "38a14e51666c79b2"); /* 3.9 */
	check(3439, "1e443f348b2f55e8"); /* 3.10 */
	check(3495, "2dab5b62440e68d1"); /* 3.11, SipHash-1-3 */
	check(3531, "a01dc76e12ac307d"); /* 3.12 */
	check(3571, "9610d33300f6811f"); /* 3.13 */
}

static void test_lengths_differ(void **state)
{
	unsigned char a[8], b[8];
	const char data[17] = "0123456789abcdef";

	(void)state;
	/* Every tail length gives a distinct hash (length is mixed in). */
	for (size_t n = 0; n < 16; n++) {
		pyc_source_hash(3531, data, n, a);
		pyc_source_hash(3531, data, n + 1, b);
		assert_memory_not_equal(a, b, 8);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_lengths_differ),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
