/*
 * Unit tests of pool.c with fake workers: small Python scripts (Debian's
 * /usr/bin/python3 runs them; they ignore the worker code the pool passes)
 * that speak the protocol of pycprefix.h, rightly or not.
 */
#include "unit.h"
#include "spawn_check.h"
#include "engine.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char dir[] = "/tmp/pyc-pool-XXXXXX";

/* The protocol's helpers, then one behaviour per worker. */
static const char prelude[] =
	"#!/usr/bin/python3\n"
	"import sys, os\n"
	"rd, wr = sys.stdin.buffer, sys.stdout.buffer\n"
	"def u32(n): return int(n).to_bytes(4, 'little')\n"
	"def read(n):\n"
	"    b = rd.read(n)\n"
	"    if len(b) != n: sys.exit(0)\n"
	"    return b\n"
	"def blob(): return read(int.from_bytes(read(4), 'little'))\n"
	"def request():\n"
	"    if rd.read(1) != b'C': sys.exit(0)\n"
	"    levels = read(read(1)[0])\n"
	"    r = levels, blob(), blob()\n"
	"    blob(); read(1)\n"
	"    return r\n"
	"def hello():\n"
	"    wr.write(b'H' + u32(1)); wr.flush()\n"
	"def answer(ncodes):\n"
	"    wr.write(b'R' + u32(0) + b'K' + u32(ncodes) +\n"
	"             ncodes * (u32(4) + b'code')); wr.flush()\n";

static const char *worker(const char *name, const char *body)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(prelude, f);
	fputs(body, f);
	fclose(f);
	chmod(path, 0755);
	return path;
}

/* A run: `jobs` jobs of two levels each, of `srclen` bytes of source. */
struct run {
	const char *exe;           /* for pool_thread() */
	int jobs, given, done, failed, ncodes;
	size_t srclen;
	unsigned char *src;
	char why[256];
	atomic_int *stop_after;    /* set once the first job is given */
	bool sigpipe_touched;      /* SIGPIPE's disposition seen changed */
};

static int next(void *arg, struct pyc_job *job)
{
	struct run *r = arg;
	struct sigaction sa;

	/* The pool is running: the process's signal state is the
	 * program's, not the library's. */
	sigaction(SIGPIPE, NULL, &sa);
	if (sa.sa_handler != SIG_DFL)
		r->sigpipe_touched = true;
	if (r->given == r->jobs)
		return 0;
	if (r->stop_after && r->given == 1)
		atomic_store(r->stop_after, 1);
	*job = (struct pyc_job){ .path = "x.py", .src = r->src,
				 .len = r->srclen, .levels = { 0, 1 },
				 .nlevels = 2 };
	r->given++;
	return 1;
}

static void done(void *arg, struct pyc_job *job, const struct pyc_result *res)
{
	struct run *r = arg;

	(void)job;
	r->done++;
	for (int i = 0; i < PYC_MAX_LEVELS; i++)
		if (res->code[i])
			r->ncodes++;
}

static void failed(void *arg, struct pyc_job *job, const char *why)
{
	struct run *r = arg;

	(void)job;
	r->failed++;
	snprintf(r->why, sizeof(r->why), "%s", why);
}

static int run_pool(const char *exe, struct run *r, atomic_int *stop,
		    struct pyc_error *err)
{
	struct pyc_interp in = { .path = (char *)exe };
	struct pyc_pool_ops ops = { next, done, failed, r };
	static atomic_int never;

	if (!r->src) {
		r->src = calloc(1, r->srclen ? r->srclen : 1);
		assert_non_null(r->src);
	}
	int ret = pyc__pool_run(&in, 2, 10000, &ops, stop ? stop : &never, err);
	free(r->src);
	r->src = NULL;
	return ret;
}

static int setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_DFL);
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[64];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void test_answers(void **state)
{
	const char *exe = worker("good", "hello()\n"
				 "while True:\n"
				 "    levels, path, src = request()\n"
				 "    answer(len(levels))\n");
	struct run r = { .jobs = 5, .srclen = 10 };
	struct pyc_error err = { { 0 } };

	(void)state;
	spawn_check_start();
	assert_int_equal(run_pool(exe, &r, NULL, &err), 0);
	assert_int_equal(r.done, 5);
	assert_int_equal(r.failed, 0);
	assert_int_equal(r.ncodes, 10);
	/* Every pipe end the pool holds is close-on-exec from birth. */
	assert_int_equal(spawn_leaks, 0);
	/* SIGPIPE stayed as the program set it while the pool ran. */
	assert_false(r.sigpipe_touched);
}

/* After clearenv() (glibc sets environ to NULL) the workers start with
 * an environment of their own: PYTHONHASHSEED=0 their one PYTHON*
 * variable (the interpreter may add LC_CTYPE, PEP 538). */
static void test_null_environ(void **state)
{
	extern char **environ;
	const char *exe = worker("envcheck", "hello()\n"
				 "assert [(k, v) for k, v in os.environ.items()"
				 " if k.startswith('PYTHON')] == "
				 "[('PYTHONHASHSEED', '0')], os.environ\n"
				 "while True:\n"
				 "    levels, path, src = request()\n"
				 "    answer(len(levels))\n");
	struct run r = { .jobs = 3, .srclen = 10 };
	struct pyc_error err = { { 0 } };
	char **saved = environ;
	int ret;

	(void)state;
	environ = NULL;
	ret = run_pool(exe, &r, NULL, &err);
	environ = saved;
	assert_int_equal(ret, 0);
	assert_int_equal(r.done, 3);
	assert_int_equal(r.failed, 0);
}

/* A "K" with fewer code objects than levels would write header-only
 * pycs: the source is reported failed instead. */
static void test_short_answer(void **state)
{
	const char *exe = worker("short", "hello()\n"
				 "while True:\n"
				 "    request()\n"
				 "    answer(1)\n");
	struct run r = { .jobs = 3, .srclen = 10 };
	struct pyc_error err = { { 0 } };

	(void)state;
	assert_int_equal(run_pool(exe, &r, NULL, &err), 0);
	assert_int_equal(r.done, 0);
	assert_int_equal(r.failed, 3);
	assert_string_equal(r.why, "the worker answered 1 code object for 2 "
			    "levels");
}

/* A worker that dies in the middle of a request larger than a pipe
 * holds: the write fails with EPIPE, the SIGPIPE it raises neither kills
 * the process nor stays pending, and the job is reported failed. */
static void test_dies_mid_job(void **state)
{
	const char *exe = worker("dies", "hello()\n"
				 "rd.read(100)\n"
				 "os._exit(0)\n");
	struct run r = { .jobs = 2, .srclen = 4u << 20 };
	struct pyc_error err = { { 0 } };
	sigset_t pending;

	(void)state;
	run_pool(exe, &r, NULL, &err);
	assert_int_equal(r.done, 0);
	assert_true(r.failed >= 1);
	assert_false(r.sigpipe_touched);
	sigpending(&pending);
	assert_false(sigismember(&pending, SIGPIPE));
}

static void *pool_thread(void *arg)
{
	struct run *r = arg;
	struct pyc_error err = { { 0 } };

	run_pool(r->exe, r, NULL, &err);
	return NULL;
}

/* Two pools in two threads, their workers dying under their writes:
 * neither changes SIGPIPE for the other, nor for the process. */
static void test_two_pools_in_two_threads(void **state)
{
	struct run r[2] = { { .jobs = 3, .srclen = 1u << 20 },
			    { .jobs = 3, .srclen = 1u << 20 } };
	pthread_t t[2];
	struct sigaction sa;

	(void)state;
	r[0].exe = r[1].exe = worker("dies2", "hello()\nrd.read(100)\n"
				     "os._exit(0)\n");
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, pool_thread,
						&r[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 2; i++) {
		assert_false(r[i].sigpipe_touched);
		assert_true(r[i].failed >= 1);
	}
	sigaction(SIGPIPE, NULL, &sa);
	assert_true(sa.sa_handler == SIG_DFL);
}

/* No hello: the run ends with the reason the worker gave on stderr. */
static void test_cannot_start(void **state)
{
	const char *exe = worker("broken", "sys.stderr.write("
				 "'ImportError: no such thing\\n')\n"
				 "sys.exit(3)\n");
	struct run r = { .jobs = 1, .srclen = 1 };
	struct pyc_error err = { { 0 } };

	(void)state;
	assert_int_equal(run_pool(exe, &r, NULL, &err), -1);
	assert_int_equal(errno, ECHILD);
	assert_non_null(strstr(err.msg, "exit 3"));
	assert_non_null(strstr(err.msg, "ImportError: no such thing"));
}

/* The stop flag, an atomic the caller sets from anywhere. */
static void test_stop(void **state)
{
	const char *exe = worker("slow", "import time\n"
				 "hello()\n"
				 "while True:\n"
				 "    levels, path, src = request()\n"
				 "    time.sleep(0.2)\n"
				 "    answer(len(levels))\n");
	atomic_int stop = 0;
	struct run r = { .jobs = 1000, .srclen = 1, .stop_after = &stop };
	struct pyc_error err = { { 0 } };

	(void)state;
	assert_int_equal(run_pool(exe, &r, &stop, &err), -1);
	assert_int_equal(errno, EINTR);
	assert_true(r.given < 1000);
}

static void *set_stop(void *arg)
{
	/* Some time into the run, so that the pass has read the flag (the
	 * test holds whichever comes first). */
	struct timespec t = { 0, 100 * 1000000 };

	nanosleep(&t, NULL);
	atomic_store((atomic_int *)arg, 1);
	return NULL;
}

/* pyc_compile() reads its stop flag on its helper threads too (the
 * freshness pass): set from another thread, as a signal handler would,
 * it is an atomic, not a data race (the ThreadSanitizer build sees one
 * with a volatile int).  Enough sources that the pass has helpers. */
static void test_compile_stop_from_another_thread(void **state)
{
	const char *exe = worker("good2", "hello()\n"
				 "while True:\n"
				 "    levels, path, src = request()\n"
				 "    answer(len(levels))\n");
	struct pyc_interp in = { .path = (char *)exe, .real = (char *)exe,
				 .tag = "cpython-312", .major = 3, .minor = 12,
				 .magic = 3531, .level = "final" };
	char root[128], prefix[128], file[160];
	const char *roots[] = { root };
	struct pyc_compile_stats stats;
	struct pyc_error err = { { 0 } };
	atomic_int stop = 0;
	pthread_t t;

	(void)state;
	snprintf(root, sizeof(root), "%s/tree", dir);
	snprintf(prefix, sizeof(prefix), "%s/prefix", dir);
	assert_int_equal(mkdir(root, 0755), 0);
	for (int i = 0; i < 1000; i++) {
		snprintf(file, sizeof(file), "%s/m%d.py", root, i);
		FILE *f = fopen(file, "w");
		assert_non_null(f);
		fclose(f);
	}
	struct pyc_compile_opts o = { .interps = &in, .ninterps = 1,
				      .prefix = prefix, .levels = { 0 },
				      .nlevels = 1, .jobs = 1,
				      .timeout_ms = 10000, .stop = &stop };
	assert_int_equal(pthread_create(&t, NULL, set_stop, &stop), 0);
	int ret = pyc_compile(&o, roots, 1, &stats, &err);
	pthread_join(t, NULL);
	/* Stopped (EINTR), unless it ran to the end first. */
	assert_true(ret == 0 || errno == EINTR);
	assert_int_equal(stats.sources, 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_null_environ),
		cmocka_unit_test(test_short_answer),
		cmocka_unit_test(test_dies_mid_job),
		cmocka_unit_test(test_two_pools_in_two_threads),
		cmocka_unit_test(test_cannot_start),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_compile_stop_from_another_thread),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
