/*
 * Unit tests of buf.c: growth, detach, reset, the sticky out-of-memory
 * flag and pyc__array_grow().
 *
 * buf.c is compiled into this program with its realloc() calls routed to
 * faulty_realloc(), which can fail, as when memory runs out, for the next n
 * calls.  No allocator symbol is replaced, so the test means the same
 * under ASan, TSan and valgrind, whose allocators take over realloc().
 */
#include "unit.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail_reallocs;  /* fail this many coming realloc() calls */
static size_t reallocs;    /* realloc() calls made */

static void *faulty_realloc(void *p, size_t n)
{
	reallocs++;
	if (fail_reallocs > 0) {
		fail_reallocs--;
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n);
}

#define realloc faulty_realloc
#include "buf.c"
#undef realloc

static int setup(void **state)
{
	(void)state;
	fail_reallocs = 0;
	reallocs = 0;
	return 0;
}

/* A zeroed buffer is empty; appends keep it NUL-terminated, count NUL
 * bytes, and grow geometrically: 100000 one-byte appends cost a few
 * dozen allocations, not one each. */
static void test_growth(void **state)
{
	struct buf b = { 0 };

	(void)state;
	assert_null(b.s);
	pyc__buf_adds(&b, "ab");
	assert_string_equal(b.s, "ab");
	assert_int_equal(b.len, 2);
	assert_true(b.alloc >= 3);
	pyc__buf_addc(&b, '\0');
	pyc__buf_addc(&b, 'c');
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.s, "ab\0c", 5);
	pyc__buf_addf(&b, "[%05d|%s]", 42, "x");
	assert_memory_equal(b.s + 4, "[00042|x]", 10);
	assert_int_equal(b.len, 13);

	reallocs = 0;
	for (int i = 0; i < 100000; i++)
		pyc__buf_addc(&b, (char)('a' + i % 26));
	assert_int_equal(b.len, 100013);
	assert_true(b.alloc > b.len);
	assert_true(reallocs <= 20);
	assert_int_equal(b.s[b.len], '\0');
	assert_int_equal(b.s[13], 'a');
	assert_int_equal(b.s[13 + 25], 'z');
	assert_false(b.oom);

	/* pyc__buf_grow() reserves without changing the content. */
	size_t alloc = b.alloc;
	assert_int_equal(pyc__buf_grow(&b, alloc * 3), 0);
	assert_true(b.alloc >= b.len + alloc * 3 + 1);
	assert_int_equal(b.len, 100013);
	pyc__buf_release(&b);
	assert_null(b.s);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.alloc, 0);
}

/* reset empties and keeps the memory; detach hands the string over and
 * leaves the buffer empty and reusable. */
static void test_reset_and_detach(void **state)
{
	struct buf b = { 0 };
	char *s;

	(void)state;
	pyc__buf_reset(&b);  /* safe on a zeroed buffer */
	assert_null(b.s);
	pyc__buf_adds(&b, "hello");
	char *mem = b.s;
	pyc__buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.s, "");
	assert_ptr_equal(b.s, mem);
	pyc__buf_adds(&b, "again");
	s = pyc__buf_detach(&b);
	assert_string_equal(s, "again");
	assert_null(b.s);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.alloc, 0);
	free(s);
	pyc__buf_adds(&b, "reused");
	assert_string_equal(b.s, "reused");
	pyc__buf_release(&b);
	s = pyc__buf_detach(&b);  /* an empty buffer: an empty string */
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
}

/* A failed allocation is sticky: later appends do nothing (and make
 * no allocation), the content stays as it was, and detach reports
 * ENOMEM and frees. */
static void test_oom_is_sticky(void **state)
{
	struct buf b = { 0 };

	(void)state;
	pyc__buf_adds(&b, "kept");
	/* Force a reallocation, and fail it. */
	char big[200];
	memset(big, 'x', sizeof(big));
	fail_reallocs = 1;
	pyc__buf_add(&b, big, sizeof(big));
	assert_true(b.oom);
	assert_int_equal(b.len, 4);
	assert_string_equal(b.s, "kept");

	reallocs = 0;
	pyc__buf_adds(&b, "more");
	pyc__buf_addc(&b, 'c');
	pyc__buf_addf(&b, "%d", 7);
	assert_int_equal(reallocs, 0);
	assert_int_equal(b.len, 4);
	errno = 0;
	assert_int_equal(pyc__buf_grow(&b, 1), -1);

	errno = 0;
	assert_null(pyc__buf_detach(&b));
	assert_int_equal(errno, ENOMEM);
	assert_null(b.s);
	assert_false(b.oom);  /* released: usable again */
	pyc__buf_adds(&b, "ok");
	assert_string_equal(b.s, "ok");
	pyc__buf_release(&b);
}

/* The first allocation failing, and a size that cannot be represented,
 * are the same sticky failure. */
static void test_oom_first_and_overflow(void **state)
{
	struct buf b = { 0 };

	(void)state;
	fail_reallocs = 1;
	pyc__buf_addc(&b, 'a');
	assert_true(b.oom);
	assert_null(b.s);
	errno = 0;
	assert_null(pyc__buf_detach(&b));
	assert_int_equal(errno, ENOMEM);

	pyc__buf_adds(&b, "abc");
	errno = 0;
	reallocs = 0;
	assert_int_equal(pyc__buf_grow(&b, SIZE_MAX - 2), -1);
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(reallocs, 0);
	assert_true(b.oom);
	assert_int_equal(b.len, 3);
	pyc__buf_release(&b);
}

/* pyc__array_grow(): capacity from 16, doubling; on failure NULL,
 * ENOMEM, the array and its capacity untouched. */
static void test_array_grow(void **state)
{
	size_t alloc = 0;
	int *v = NULL, *nv;

	(void)state;
	assert_non_null(v = pyc__array_grow(v, &alloc, 1, sizeof(*v)));
	assert_int_equal(alloc, 16);
	for (int i = 0; i < 16; i++)
		v[i] = i;
	assert_ptr_equal(pyc__array_grow(v, &alloc, 16, sizeof(*v)), v);
	assert_non_null(v = pyc__array_grow(v, &alloc, 17, sizeof(*v)));
	assert_int_equal(alloc, 32);
	assert_int_equal(v[15], 15);
	assert_non_null(v = pyc__array_grow(v, &alloc, 100, sizeof(*v)));
	assert_int_equal(alloc, 128);

	fail_reallocs = 1;
	errno = 0;
	assert_null(nv = pyc__array_grow(v, &alloc, 129, sizeof(*v)));
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(alloc, 128);
	assert_int_equal(v[15], 15);  /* still ours */

	errno = 0;
	reallocs = 0;
	assert_null(pyc__array_grow(v, &alloc, SIZE_MAX / 2, sizeof(*v)));
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(reallocs, 0);
	assert_int_equal(alloc, 128);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_growth, setup),
		cmocka_unit_test_setup(test_reset_and_detach, setup),
		cmocka_unit_test_setup(test_oom_is_sticky, setup),
		cmocka_unit_test_setup(test_oom_first_and_overflow, setup),
		cmocka_unit_test_setup(test_array_grow, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
