/* Unit tests of error.c: the library's one failure formatter. */
#include "unit.h"
#include "internal.h"

#include <errno.h>

static void test_error(void **state)
{
	struct pyc_error err = { { 0 } };
	char longer[600];

	(void)state;
	errno = EACCES;
	pyc__set_error(&err, "cannot read '%s': %s", "a.py", "why");
	assert_string_equal(err.msg, "cannot read 'a.py': why");
	assert_int_equal(errno, EACCES);
	pyc__set_error(NULL, "ignored %d", 1);
	assert_int_equal(errno, EACCES);
	assert_int_equal(pyc__error(&err, ENOENT, "no '%s'", "x"), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(err.msg, "no 'x'");
	assert_int_equal(pyc__error(NULL, EPERM, "x"), -1);
	assert_int_equal(errno, EPERM);
	/* One line of at most the struct's size, cut, NUL-terminated. */
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	pyc__set_error(&err, "%s", longer);
	assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
