/*
 * parallel.c - one pass over many files, split across the cores.
 *
 * Judging whether pycs are fresh is a few system calls per file, nearly
 * all of it time in the kernel's path lookups, and that spreads over cores
 * almost perfectly.  Two things keep it from doing so in practice:
 *
 * - A thread created at the moment the work is there may wait a whole
 *   scheduler tick (4 ms here, more than a warm pass takes) on its
 *   parent's busy core.  So the helpers are started early, while the walk
 *   still runs, and kept for every pass of the run.
 * - A thread that starts late or shares a core must not hold the pass up.
 *   So work is handed out in small runs of consecutive files (a thread
 *   still sees its files directory by directory), from a shared counter.
 */
#include "internal.h"

#include <sched.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Files per run: enough to amortise the atomic, few enough to balance. */
#define RUN 32
/* How long an idle helper spins before it sleeps. */
#define SPIN_NS (5 * 1000000LL)

size_t pyc__pass_threads(size_t nfiles)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	/* A thread costs more than a few hundred files take. */
	if (nfiles < PYC_PASS_MIN_FILES || cores <= 1)
		return 1;
	return cores > PYC_PASS_THREADS ? PYC_PASS_THREADS : (size_t)cores;
}

bool pyc__pass_next(struct pyc_pass *p, size_t *from, size_t *to)
{
	size_t i = atomic_fetch_add_explicit(&p->next, RUN,
					     memory_order_relaxed);

	if (i >= p->n)
		return false;
	*from = i;
	*to = p->n - i < RUN ? p->n : i + RUN;
	return true;
}

/* Wait a little for the next pass without sleeping: a core that goes
 * idle may take a scheduler tick or more to wake again (seen: 1 to 4 ms on
 * a 2-core VM), longer than a warm pass.  OpenMP runtimes spin 200 ms by
 * default for the same reason; the passes of one run are milliseconds
 * apart, so SPIN_NS is enough and bounds the waste. */
static void spin_for_pass(struct pyc_helpers *p, unsigned long seen)
{
	int64_t until = pyc__monotonic_ns() + SPIN_NS;

	while (atomic_load_explicit(&p->posted, memory_order_acquire) == seen &&
	       !atomic_load_explicit(&p->rest, memory_order_relaxed) &&
	       pyc__monotonic_ns() < until)
		sched_yield();
}

/* The caller's side of the same: the helpers finish within a run of
 * files of each other. */
static void spin_for_helpers(struct pyc_helpers *p)
{
	int64_t until = pyc__monotonic_ns() + SPIN_NS;

	while (atomic_load_explicit(&p->running, memory_order_acquire) &&
	       pyc__monotonic_ns() < until)
		sched_yield();
}

static void *helper_main(void *arg)
{
	struct pyc_helper *h = arg;
	struct pyc_helpers *p = h->pool;
	unsigned long seen = 0;

	for (;;) {
		spin_for_pass(p, seen);
		pthread_mutex_lock(&p->mu);
		while (!p->quit && p->gen == seen)
			pthread_cond_wait(&p->go, &p->mu);
		if (p->quit)
			break;
		seen = p->gen;
		void *(*fn)(void *) = p->fn;
		char *args = p->args + h->index * p->size;
		pthread_mutex_unlock(&p->mu);
		fn(args);
		pthread_mutex_lock(&p->mu);
		if (atomic_fetch_sub_explicit(&p->running, 1,
					      memory_order_acq_rel) == 1)
			pthread_cond_signal(&p->done);
		pthread_mutex_unlock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

void pyc__helpers_start(struct pyc_helpers *p)
{
	size_t want = pyc__pass_threads(PYC_PASS_MIN_FILES);

	if (p->live)
		return;
	memset(p, 0, sizeof(*p));
	if (pthread_mutex_init(&p->mu, NULL))
		return;
	if (pthread_cond_init(&p->go, NULL)) {
		pthread_mutex_destroy(&p->mu);
		return;
	}
	if (pthread_cond_init(&p->done, NULL)) {
		pthread_cond_destroy(&p->go);
		pthread_mutex_destroy(&p->mu);
		return;
	}
	p->live = true;
	for (size_t k = 1; k < want; k++) {
		p->h[p->n] = (struct pyc_helper){ p, k };
		if (pthread_create(&p->tid[p->n], NULL, helper_main,
				   &p->h[p->n]) != 0)
			break; /* fewer helpers: the pass still completes */
		p->n++;
	}
}

size_t pyc__helpers_width(const struct pyc_helpers *p)
{
	return p->live ? p->n + 1 : 1;
}

void pyc__helpers_run(struct pyc_helpers *p, size_t nfiles,
		      void *(*fn)(void *), void *args, size_t size)
{
	if (!p->live || !p->n || pyc__pass_threads(nfiles) == 1) {
		fn(args);
		return;
	}
	atomic_store_explicit(&p->rest, false, memory_order_relaxed);
	pthread_mutex_lock(&p->mu);
	p->fn = fn;
	p->args = args;
	p->size = size;
	atomic_store_explicit(&p->running, p->n, memory_order_relaxed);
	p->gen++;
	atomic_store_explicit(&p->posted, p->gen, memory_order_release);
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	fn(args);
	spin_for_helpers(p);
	pthread_mutex_lock(&p->mu);
	while (atomic_load_explicit(&p->running, memory_order_acquire))
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

void pyc__helpers_rest(struct pyc_helpers *p)
{
	if (p->live)
		atomic_store_explicit(&p->rest, true, memory_order_relaxed);
}

void pyc__helpers_stop(struct pyc_helpers *p)
{
	if (!p->live)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = true;
	atomic_store_explicit(&p->posted, p->gen + 1, memory_order_release);
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (size_t k = 0; k < p->n; k++)
		pthread_join(p->tid[k], NULL);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->go);
	pthread_mutex_destroy(&p->mu);
	memset(p, 0, sizeof(*p));
}
