/* Unit tests of header.c: the pyc header, magics, int(st_mtime). */
#include "unit.h"

static void test_parse_order(void **state)
{
	const unsigned char ok[16] = { 0xcb, 0x0d, '\r', '\n' };
	struct pyc_header h;

	(void)state;
	/* Magic is checked first: 3 bytes is a bad magic, not truncation. */
	assert_int_equal(pyc_header_parse(ok, 3, 3531, &h), PYC_HEADER_BAD_MAGIC);
	assert_int_equal(pyc_header_parse(ok, 4, 3531, &h), PYC_HEADER_TRUNCATED);
	assert_int_equal(pyc_header_parse(ok, 15, 3531, &h), PYC_HEADER_TRUNCATED);
	assert_int_equal(pyc_header_parse(ok, 16, 3531, &h), PYC_HEADER_OK);
	assert_int_equal(pyc_header_parse(ok, 16, 3571, &h), PYC_HEADER_BAD_MAGIC);
	assert_int_equal(pyc_header_parse(ok, 16, 0, &h), PYC_HEADER_OK);
	assert_int_equal(h.magic, 3531);
}

static void test_flags(void **state)
{
	unsigned char d[16] = { 0xcb, 0x0d, '\r', '\n' };
	struct pyc_header h;

	(void)state;
	for (unsigned f = 0; f < 4; f++) {
		d[4] = (unsigned char)f;
		assert_int_equal(pyc_header_parse(d, 16, 3531, &h), PYC_HEADER_OK);
	}
	d[4] = 2; /* check_source alone: a timestamp pyc */
	pyc_header_parse(d, 16, 3531, &h);
	assert_int_equal(pyc_header_mode(&h), PYC_INV_TIMESTAMP);
	d[4] = 4;
	assert_int_equal(pyc_header_parse(d, 16, 3531, &h), PYC_HEADER_BAD_FLAGS);
	d[4] = 0;
	d[7] = 0x80;
	assert_int_equal(pyc_header_parse(d, 16, 3531, &h), PYC_HEADER_BAD_FLAGS);
}

static void test_build_roundtrip(void **state)
{
	unsigned char out[16], hash[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct pyc_header h;

	(void)state;
	pyc_header_build(out, 3413, PYC_INV_TIMESTAMP, -1, 0x100000005ULL, NULL);
	assert_int_equal(pyc_header_parse(out, 16, 3413, &h), PYC_HEADER_OK);
	assert_int_equal(h.mtime, 0xFFFFFFFFu);
	assert_int_equal(h.size, 5);
	pyc_header_build(out, 3413, PYC_INV_UNCHECKED_HASH, 0, 0, hash);
	pyc_header_parse(out, 16, 3413, &h);
	assert_int_equal(h.flags, PYC_FLAG_HASH);
	assert_memory_equal(h.hash, hash, 8);
	pyc_header_build(out, 3413, PYC_INV_CHECKED_HASH, 0, 0, hash);
	pyc_header_parse(out, 16, 3413, &h);
	assert_int_equal(pyc_header_mode(&h), PYC_INV_CHECKED_HASH);
}

static void test_magic_table(void **state)
{
	(void)state;
	assert_string_equal(pyc_magic_version(3413), "3.8");
	assert_string_equal(pyc_magic_version(3571), "3.13");
	assert_null(pyc_magic_version(3412));
	assert_int_equal(pyc_magic_of_version(3, 12), 3531);
	assert_int_equal(pyc_magic_of_version(2, 7), 0);
	struct pyc_interp in;
	assert_int_equal(pyc_interp_from_tag("cpython-310", &in), 0);
	assert_int_equal(in.magic, 3439);
	assert_int_equal(in.minor, 10);
	pyc_interp_release(&in);
	assert_int_equal(pyc_interp_from_tag("pypy310", &in), -1);
}

static void test_py_mtime(void **state)
{
	(void)state;
	/* Seen on CPython: float rounding turns .999999999 into a second. */
	assert_int_equal(pyc_py_mtime(1700000000, 999999999), 1700000001);
	assert_int_equal(pyc_py_mtime(1700000000, 999999000), 1700000000);
	assert_int_equal(pyc_py_mtime(-2, 500000000), -1); /* toward zero */
	assert_int_equal(pyc_py_mtime(4500000000LL, 999999900), 4500000001LL);
}

static void test_invalidation_names(void **state)
{
	enum pyc_invalidation m;

	(void)state;
	assert_int_equal(pyc_invalidation_parse("checked-hash", &m), 0);
	assert_int_equal(m, PYC_INV_CHECKED_HASH);
	assert_int_equal(pyc_invalidation_parse("checked", &m), -1);
	assert_string_equal(pyc_invalidation_name(PYC_INV_UNCHECKED_HASH),
			    "unchecked-hash");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_order),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_build_roundtrip),
		cmocka_unit_test(test_magic_table),
		cmocka_unit_test(test_py_mtime),
		cmocka_unit_test(test_invalidation_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
