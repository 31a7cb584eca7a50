/* Unit tests of prefix.c and buf.c. */
#include "unit.h"
#include "buf.h"

#include <errno.h>

static void test_resolve(void **state)
{
	const char *origin;
	char *p;

	(void)state;
	setenv("HOME", "/home/u", 1);
	unsetenv("XDG_CACHE_HOME");
	unsetenv("PYTHONPYCACHEPREFIX");
	assert_int_equal(pyc_prefix_resolve(NULL, &p, &origin), 0);
	assert_string_equal(p, "/home/u/.cache/pycprefix");
	assert_string_equal(origin, "default");
	free(p);
	setenv("XDG_CACHE_HOME", "relative", 1); /* ignored: not absolute */
	assert_int_equal(pyc_prefix_resolve(NULL, &p, &origin), 0);
	assert_string_equal(p, "/home/u/.cache/pycprefix");
	free(p);
	setenv("XDG_CACHE_HOME", "/x", 1);
	setenv("PYTHONPYCACHEPREFIX", "", 1); /* empty means unset */
	assert_int_equal(pyc_prefix_resolve(NULL, &p, &origin), 0);
	assert_string_equal(p, "/x/pycprefix");
	free(p);
	setenv("PYTHONPYCACHEPREFIX", "rel/p", 1);
	assert_int_equal(pyc_prefix_resolve(NULL, &p, &origin), 0);
	assert_string_equal(p, "rel/p");
	assert_string_equal(origin, "PYTHONPYCACHEPREFIX");
	free(p);
	assert_int_equal(pyc_prefix_resolve("/o", &p, &origin), 0);
	assert_string_equal(p, "/o");
	free(p);
	assert_int_equal(pyc_prefix_resolve("", &p, &origin), -1);
	assert_int_equal(errno, EINVAL);
}

static void test_buf(void **state)
{
	struct buf b = { 0 };
	char *s;

	(void)state;
	for (int i = 0; i < 1000; i++)
		pyc__buf_addf(&b, "%d,", i % 10);
	assert_int_equal(b.len, 2000);
	pyc__buf_add(&b, "\0z", 2);
	assert_int_equal(b.len, 2002);
	s = pyc__buf_detach(&b);
	assert_int_equal(s[2001], 'z');
	assert_null(b.s);
	free(s);
	s = pyc__buf_detach(&b); /* empty buffer: an empty string */
	assert_string_equal(s, "");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_buf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
