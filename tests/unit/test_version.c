/* Unit tests of version.c: release names in the order pyenv and the
 * Unicode tables need. */
#include "unit.h"
#include "internal.h"

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

static void test_version_cmp(void **state)
{
	static const char u1e030[] = "\xf0\x9e\x80\xb0";

	(void)state;
	assert_int_equal(sign(pyc__version_cmp("3.99.10", "3.99.2")), 1);
	assert_int_equal(sign(pyc__version_cmp("3.9.18", "3.10.1")), -1);
	assert_int_equal(sign(pyc__version_cmp("15.1.0", "15.0.0")), 1);
	assert_int_equal(sign(pyc__version_cmp("15.0.0", "15.0.0")), 0);
	assert_int_equal(sign(pyc__version_cmp("3.12", "3.12.1")), -1);
	assert_int_equal(sign(pyc__version_cmp("3.13.0", "pypy3.10")), -1);
	/* The Unicode tables: a version between two known ones uses the
	 * older table.  U+1E030 is a letter from Unicode 15.0 on (as
	 * Python 3.11, 14.0.0, and 3.12, 15.0.0, say). */
	assert_false(pyc_str_isalnum(u1e030, 4, "14.0.0"));
	assert_false(pyc_str_isalnum(u1e030, 4, "14.0.9"));
	assert_true(pyc_str_isalnum(u1e030, 4, "15.0.0"));
	assert_true(pyc_str_isalnum(u1e030, 4, "15.0.1"));
	assert_true(pyc_str_isalnum(u1e030, 4, "99.0.0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_cmp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
