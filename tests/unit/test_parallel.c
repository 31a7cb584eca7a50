/* Unit tests of parallel.c: every file of a pass is handled exactly once,
 * whatever the number of threads, across many passes on the same helpers;
 * small passes stay in the calling thread; stop is safe unstarted. */
#include "unit.h"
#include "internal.h"

#include <pthread.h>

#define NFILES 10007 /* not a multiple of a run */

struct counted {
	struct pyc_pass *pass;
	atomic_int *hits;
	pthread_t self;
	size_t taken;          /* files this thread handled */
	bool other_thread;     /* ran outside the caller */
};

static pthread_t caller;
static atomic_bool bad_run; /* cmocka may not fail from another thread */

static void *count_files(void *arg)
{
	struct counted *c = arg;
	size_t i, to;

	c->other_thread = !pthread_equal(pthread_self(), caller);
	while (pyc__pass_next(c->pass, &i, &to)) {
		if (!(i < to && to <= c->pass->n))
			atomic_store(&bad_run, true);
		for (; i < to; i++) {
			atomic_fetch_add(&c->hits[i], 1);
			c->taken++;
		}
	}
	return NULL;
}

/* One pass of n files; returns how many threads took part. */
static size_t one_pass(struct pyc_helpers *h, size_t n, atomic_int *hits)
{
	struct counted c[PYC_PASS_THREADS];
	struct pyc_pass pass = { .n = n };
	size_t width = pyc__helpers_width(h), used = 0, total = 0;

	for (size_t i = 0; i < n; i++)
		atomic_store(&hits[i], 0);
	for (size_t k = 0; k < width; k++)
		c[k] = (struct counted){ .pass = &pass, .hits = hits };
	pyc__helpers_run(h, n, count_files, c, sizeof(c[0]));
	assert_false(atomic_load(&bad_run));
	for (size_t i = 0; i < n; i++)
		assert_int_equal(atomic_load(&hits[i]), 1);
	for (size_t k = 0; k < width; k++) {
		total += c[k].taken;
		used += c[k].taken > 0;
	}
	assert_int_equal(total, n);
	return used;
}

static void test_every_file_once(void **state)
{
	static atomic_int hits[NFILES];
	struct pyc_helpers h = { 0 };

	(void)state;
	caller = pthread_self();
	pyc__helpers_start(&h);
	assert_true(pyc__helpers_width(&h) >= 1);
	assert_true(pyc__helpers_width(&h) <= PYC_PASS_THREADS);
	for (int pass = 0; pass < 200; pass++)
		one_pass(&h, NFILES - (size_t)pass * 7, hits);
	one_pass(&h, PYC_PASS_MIN_FILES, hits);
	pyc__helpers_stop(&h);
	pyc__helpers_stop(&h); /* twice: harmless */
}

static void test_small_pass_stays_here(void **state)
{
	static atomic_int hits[PYC_PASS_MIN_FILES];
	struct pyc_helpers h = { 0 };
	struct counted c[PYC_PASS_THREADS];
	struct pyc_pass pass = { .n = PYC_PASS_MIN_FILES - 1 };

	(void)state;
	caller = pthread_self();
	pyc__helpers_start(&h);
	for (size_t k = 0; k < pyc__helpers_width(&h); k++)
		c[k] = (struct counted){ .pass = &pass, .hits = hits };
	pyc__helpers_run(&h, pass.n, count_files, c, sizeof(c[0]));
	assert_int_equal(c[0].taken, pass.n);
	assert_false(c[0].other_thread);
	pyc__helpers_stop(&h);
}

static void test_without_helpers(void **state)
{
	static atomic_int hits[NFILES];
	struct pyc_helpers h = { 0 };

	(void)state;
	caller = pthread_self();
	assert_int_equal(pyc__helpers_width(&h), 1);
	assert_int_equal(one_pass(&h, NFILES, hits), 1);
	pyc__helpers_stop(&h); /* never started */
}

static void test_runs_cover_the_range(void **state)
{
	struct pyc_pass pass = { .n = 70 };
	size_t from, to, next = 0;

	(void)state;
	while (pyc__pass_next(&pass, &from, &to)) {
		assert_int_equal(from, next);
		assert_true(to > from && to <= 70);
		next = to;
	}
	assert_int_equal(next, 70);
	assert_false(pyc__pass_next(&pass, &from, &to));
	pass = (struct pyc_pass){ .n = 0 };
	assert_false(pyc__pass_next(&pass, &from, &to));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_file_once),
		cmocka_unit_test(test_small_pass_stays_here),
		cmocka_unit_test(test_without_helpers),
		cmocka_unit_test(test_runs_cover_the_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
