/*
 * pool.c - long-lived interpreter processes that compile for us.
 *
 * The parent alone decides, reads and writes files; workers only turn
 * source bytes into marshalled code.  The protocol is in pycprefix.h.
 * Requests are written as far as the pipe takes them and the rest when
 * poll() says it is writable again; responses are read the same way,
 * without blocking, into a per-worker buffer and decoded when complete.
 * Every descriptor is close-on-exec from its birth (pipe2), so a child
 * another thread spawns meanwhile holds none of ours.
 *
 * A write to a worker that died raises SIGPIPE.  The process's signal
 * dispositions are the program's: the pool blocks SIGPIPE in its own
 * thread while it runs and, at the end, takes away a SIGPIPE that its
 * writes left pending (one that was pending before is left alone).
 */
#include "pycprefix.h"
#include "buf.h"
#include "compat.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/*
 * The worker, valid Python 3.8 onwards.  It runs without -E (so that the
 * PYTHONHASHSEED of its environment holds) in an environment without any
 * other PYTHON* variable (see worker_env()), and first takes the current
 * directory ('' for -c) off sys.path, as -I would, before importing
 * anything.
 *
 * Its bytes are a function of the source alone: the hash seed is fixed
 * (set and frozenset constants are marshalled in hash order), and each
 * code object is compiled and marshalled inside a function, so nothing of
 * one job is alive while the next one compiles.  (The code is bound to a
 * name while it is marshalled, as importlib's _code_to_*_pyc() has it,
 * so that its own FLAG_REF mark is importlib's.)  (marshal marks an object
 * shared, FLAG_REF, when its reference count is above one: a string kept
 * alive by the previous job's code changed the next job's bytes); for the
 * same reason py_compile, which words compileall's errors, is imported
 * before the first job, not at the first error.
 */
static const char worker_py[] =
	"import sys\n"
	"if sys.path and sys.path[0] == '':\n"
	"    del sys.path[0]\n"
	"import os, signal, marshal, warnings, py_compile\n"
	"signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
	"rd, wr = sys.stdin.buffer, sys.stdout.buffer\n"
	"def p32(n):\n"
	"    return int(n).to_bytes(4, 'little')\n"
	"def read(n):\n"
	"    b = rd.read(n)\n"
	"    if len(b) != n:\n"
	"        sys.exit(0)\n"
	"    return b\n"
	"def blob():\n"
	"    return read(int.from_bytes(read(4), 'little'))\n"
	"def dump(src, path, level):\n"
	"    code = compile(src, path, 'exec', dont_inherit=True, optimize=level)\n"
	"    return marshal.dumps(code)\n"
	"def text(s):\n"
	"    b = str(s).encode('utf-8', 'backslashreplace')\n"
	"    return p32(len(b)) + b\n"
	"wr.write(b'H' + p32(1))\n"
	"wr.flush()\n"
	"while rd.read(1) == b'C':\n"
	"    levels = list(read(read(1)[0]))\n"
	"    path = os.fsdecode(blob())\n"
	"    src = blob()\n"
	"    name = os.fsdecode(blob()) or path\n"
	"    pyc_msg = read(1)[0] & 1\n"
	"    codes, warned, err = [], [], None\n"
	"    for i, level in enumerate(levels):\n"
	"        with warnings.catch_warnings(record=True) as ws:\n"
	"            warnings.simplefilter('always')\n"
	"            try:\n"
	"                codes.append(dump(src, name, level))\n"
	"            except Exception as e:\n"
	"                err = e\n"
	"        if i == 0:\n"
	"            warned = [(w.lineno or 0, '%s: %s' % (w.category.__name__,\n"
	"                       w.message)) for w in ws]\n"
	"        if err is not None:\n"
	"            break\n"
	"    out = [b'R', p32(len(warned))]\n"
	"    for line, msg in warned:\n"
	"        out += [p32(line), text(msg)]\n"
	"    if err is None:\n"
	"        out += [b'K', p32(len(codes))]\n"
	"        out += [p32(len(c)) + c for c in codes]\n"
	"    else:\n"
	"        line = getattr(err, 'lineno', 0) or 0\n"
	"        col = getattr(err, 'offset', 0) or 0\n"
	"        msg = getattr(err, 'msg', None) if isinstance(err, SyntaxError)"
	" else None\n"
	"        msg = '%s: %s' % (type(err).__name__, msg or err)\n"
	"        if pyc_msg:\n"
	"            msg = py_compile.PyCompileError(type(err), err, name).msg\n"
	"        out += [b'E', p32(max(line, 0)), p32(max(col, 0)), text(msg)]\n"
	"    wr.write(b''.join(out))\n"
	"    wr.flush()\n";

enum wstate { W_DEAD, W_STARTING, W_IDLE, W_BUSY };

struct worker {
	enum wstate state;
	pid_t pid;
	int status;         /* once reaped: exit status, or 128 + signal */
	int to, from;       /* request pipe (write end), response (read end) */
	int err;            /* its stderr (read end), -1 once ended */
	struct buf ebuf;    /* what it wrote there before saying hello */
	struct buf rbuf;
	struct buf wbuf;    /* the request being sent; wbuf.len - woff left */
	size_t woff;
	struct pyc_job job;
	int64_t deadline;   /* ms, monotonic; 0 none */
};

struct pool {
	const struct pyc_interp *in;
	char **envp;          /* the workers' environment (worker_env()) */
	const struct pyc_pool_ops *ops;
	struct worker *w;
	int n, timeout_ms, start_failures;
	bool exhausted;
	sigset_t mask;        /* the caller's signal mask, for workers */
	char start_why[400];  /* how the last worker that never said hello
				 ended */
};


static void close_pipe(int fds[2])
{
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	fds[0] = fds[1] = -1;
}

/* The three pipes of a worker, close-on-exec from birth; the ends we
 * keep are non-blocking (a worker that stops reading, hung or stopped,
 * must never block us past its deadline), the worker's are not (its
 * stdin and stdout). */
static int worker_pipes(int req[2], int resp[2], int errp[2])
{
	if (pyc__pipe2(req, O_CLOEXEC) < 0)
		return -1;
	if (pyc__pipe2(resp, O_CLOEXEC) < 0)
		goto fail;
	/* Its stderr tells why a worker that cannot start did not. */
	if (pyc__pipe2(errp, O_CLOEXEC) < 0)
		goto fail;
	if (pyc__set_nonblock(req[1]) < 0 || pyc__set_nonblock(resp[0]) < 0 ||
	    pyc__set_nonblock(errp[0]) < 0)
		goto fail;
	return 0;
fail:;
	int saved = errno;
	close_pipe(req);
	close_pipe(resp);
	close_pipe(errp);
	errno = saved;
	return -1;
}

/*
 * The workers' environment: the caller's without the PYTHON* variables
 * (as -E would ignore them: PYTHONPATH, PYTHONWARNINGS, PYTHONOPTIMIZE...
 * must not change what a worker compiles), with PYTHONHASHSEED kept, or
 * set to 0 when the caller has none, so that two runs write the same
 * bytes (reproducible builds; importlib's pycs differ from run to run
 * only in that order).  One allocation, the strings are the caller's;
 * NULL with errno.
 */
const char *pyc__pool_hash_seed(void)
{
	const char *v = getenv("PYTHONHASHSEED");

	return v ? v : "0";
}

static char **worker_env(void)
{
	static char seed0[] = "PYTHONHASHSEED=0";
	size_t n = 0, k = 0;
	bool seeded = false;

	while (environ && environ[n]) /* NULL after clearenv() */
		n++;
	char **envp = malloc((n + 2) * sizeof(*envp));
	if (!envp)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!strncmp(environ[i], "PYTHONHASHSEED=", 15))
			seeded = true;
		else if (!strncmp(environ[i], "PYTHON", 6))
			continue;
		envp[k++] = environ[i];
	}
	if (!seeded)
		envp[k++] = seed0;
	envp[k] = NULL;
	return envp;
}

static int spawn(struct pool *p, struct worker *w)
{
	/* -s -S -B: no site, no user site, no pyc written by the worker's
	 * own imports; not -E or -I, which would ignore PYTHONHASHSEED. */
	char *argv[] = { p->in->path, "-s", "-S", "-B", "-c",
			 (char *)worker_py, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int req[2] = { -1, -1 }, resp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int ret;
	char eb[128];

	if (worker_pipes(req, resp, errp) < 0) {
		snprintf(p->start_why, sizeof(p->start_why), "cannot run it: "
			 "%s", pyc__strerror(errno, eb, sizeof(eb)));
		return -1;
	}
	/* dup2 clears close-on-exec on the worker's copies. */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, req[0], 0);
	posix_spawn_file_actions_adddup2(&fa, resp[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	/* The worker gets the caller's mask, not ours with SIGPIPE
	 * blocked. */
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &p->mask);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	ret = posix_spawn(&w->pid, p->in->path, &fa, &attr, argv, p->envp);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	close(req[0]);
	close(resp[1]);
	close(errp[1]);
	if (ret) {
		close(req[1]);
		close(resp[0]);
		close(errp[0]);
		snprintf(p->start_why, sizeof(p->start_why), "cannot run it: "
			 "%s", pyc__strerror(ret, eb, sizeof(eb)));
		errno = ret;
		return -1;
	}
	w->to = req[1];
	w->from = resp[0];
	w->err = errp[0];
	pyc__buf_reset(&w->ebuf);
	w->state = W_STARTING;
	w->deadline = pyc__monotonic_ms() + 60000;
	pyc__buf_reset(&w->rbuf);
	pyc__buf_reset(&w->wbuf);
	w->woff = 0;
	return 0;
}

/* Read what the worker wrote on stderr: kept until it says hello (up to
 * 16 KiB), then read and dropped so that it never blocks on it. */
static void read_err(struct worker *w)
{
	char chunk[4096];

	while (w->err >= 0) {
		ssize_t n = read(w->err, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close(w->err);
			w->err = -1;
			return;
		}
		if (w->state == W_STARTING && w->ebuf.len < 16384)
			pyc__buf_add(&w->ebuf, chunk, (size_t)n);
	}
}

/* End a worker; `why` receives how it ended when it was not us. */
static void reap(struct worker *w, bool kill_it, char *why, size_t size)
{
	int status = 0;

	if (w->state == W_DEAD)
		return;
	close(w->to);
	close(w->from);
	if (kill_it)
		kill(w->pid, SIGKILL);
	while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
		;
	read_err(w);  /* all it wrote is in the pipe now */
	if (w->err >= 0)
		close(w->err);
	w->err = -1;
	w->status = WIFSIGNALED(status) ? 128 + WTERMSIG(status)
					: WEXITSTATUS(status);
	if (why && WIFSIGNALED(status))
		snprintf(why, size, "worker killed by signal %d",
			 WTERMSIG(status));
	else if (why)
		snprintf(why, size, "worker exited (status %d)",
			 WEXITSTATUS(status));
	w->state = W_DEAD;
}

static int put_u32(struct buf *b, size_t v)
{
	unsigned char le[4];

	if (v > 0xFFFFFFFFu) {
		errno = EFBIG;
		return -1;
	}
	pyc__put_u32le(le, (uint32_t)v);
	pyc__buf_add(b, le, 4);
	return 0;
}

/* Write what the pipe takes of the pending request: 0 (done, or more
 * to send when the pipe is writable again) or -1. */
static int flush_request(struct worker *w)
{
	while (w->woff < w->wbuf.len) {
		ssize_t n = write(w->to, w->wbuf.s + w->woff,
				  w->wbuf.len - w->woff);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return -1;
		w->woff += (size_t)n;
	}
	return 0;
}

static bool sending(const struct worker *w)
{
	return w->state != W_DEAD && w->woff < w->wbuf.len;
}

static int send_job(struct worker *w)
{
	struct buf *b = &w->wbuf;
	size_t plen = strlen(w->job.path);
	size_t nlen = w->job.name ? strlen(w->job.name) : 0;

	pyc__buf_reset(b);
	w->woff = 0;
	pyc__buf_addc(b, 'C');
	pyc__buf_addc(b, (char)w->job.nlevels);
	for (int i = 0; i < w->job.nlevels; i++)
		pyc__buf_addc(b, (char)w->job.levels[i]);
	if (put_u32(b, plen) < 0)
		return -1;
	pyc__buf_add(b, w->job.path, plen);
	if (put_u32(b, w->job.len) < 0)
		return -1;
	pyc__buf_add(b, w->job.src, w->job.len);
	if (put_u32(b, nlen) < 0)
		return -1;
	if (nlen)
		pyc__buf_add(b, w->job.name, nlen);
	pyc__buf_addc(b, (char)(w->job.flags & PYC_JOB_PYCOMPILE_MSG));
	if (b->oom) {
		errno = ENOMEM;
		return -1;
	}
	return flush_request(w);
}

/* Take a free worker's next job, if there is one. */
static void feed(struct pool *p, struct worker *w)
{
	char why[128];

	if (p->exhausted)
		return;
	memset(&w->job, 0, sizeof(w->job));
	if (p->ops->next(p->ops->arg, &w->job) != 1) {
		p->exhausted = true;
		return;
	}
	w->state = W_BUSY;
	w->deadline = p->timeout_ms ? pyc__monotonic_ms() + p->timeout_ms : 0;
	if (send_job(w) < 0) {
		reap(w, true, why, sizeof(why));
		p->ops->failed(p->ops->arg, &w->job, why);
	}
}

/* Say how a worker that never said hello ended (reaped already). */
static void start_failed(struct pool *p, struct worker *w, bool killed)
{
	if (killed) {
		snprintf(p->start_why, sizeof(p->start_why), "did not say "
			 "hello");
		return;
	}
	pyc__startup_reason(w->ebuf.s, w->ebuf.len, w->status,
			    p->start_why, sizeof(p->start_why));
}

/* A worker that ended: report its job, start another. */
static void replace(struct pool *p, struct worker *w, bool kill_it,
		    const char *why_given)
{
	char why[128];
	bool was_busy = w->state == W_BUSY;
	bool was_starting = w->state == W_STARTING;

	reap(w, kill_it, why, sizeof(why));
	if (was_busy)
		p->ops->failed(p->ops->arg, &w->job, why_given ? why_given : why);
	if (was_starting) {
		p->start_failures++;
		start_failed(p, w, kill_it);
	}
	if (p->start_failures <= 2 * p->n)
		spawn(p, w);
}

/* Decode complete frames in w->rbuf. */
static void consume(struct pool *p, struct worker *w)
{
	struct pyc_result res;
	size_t used;
	int r;

	if (w->state == W_STARTING) {
		if (w->rbuf.len < 5)
			return;
		if (w->rbuf.s[0] != 'H') {
			replace(p, w, true, NULL);
			return;
		}
		memmove(w->rbuf.s, w->rbuf.s + 5, w->rbuf.len - 5);
		w->rbuf.len -= 5;
		w->state = W_IDLE;
		p->start_failures = 0;
		return;
	}
	if (w->state != W_BUSY)
		return;
	r = pyc__parse_response((unsigned char *)w->rbuf.s, w->rbuf.len, &res,
				&used);
	if (r == 0)
		return;
	if (r < 0) {
		replace(p, w, true, "worker sent a malformed response");
		return;
	}
	/* Give the worker its next job before handling this result, so it
	 * compiles while we write.  The result points into rbuf, which
	 * sending does not touch. */
	struct pyc_job finished = w->job;
	w->state = W_IDLE;
	feed(p, w);
	if (res.ok && res.ncodes != (unsigned)finished.nlevels) {
		/* Fewer code objects than levels would make pycs of a
		 * header alone, which Python fails to import. */
		char why[96];
		snprintf(why, sizeof(why), "the worker answered %u code "
			 "object%s for %d level%s", res.ncodes,
			 res.ncodes == 1 ? "" : "s", finished.nlevels,
			 finished.nlevels == 1 ? "" : "s");
		p->ops->failed(p->ops->arg, &finished, why);
	} else {
		p->ops->done(p->ops->arg, &finished, &res);
	}
	free((char *)res.warnings);
	memmove(w->rbuf.s, w->rbuf.s + used, w->rbuf.len - used);
	w->rbuf.len -= used;
}

static void read_from(struct pool *p, struct worker *w)
{
	char chunk[65536];

	for (;;) {
		ssize_t n = read(w->from, chunk, sizeof(chunk));
		if (n > 0) {
			pyc__buf_add(&w->rbuf, chunk, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		/* EOF or error: the worker is gone; a complete response
		 * still counts. */
		consume(p, w);
		replace(p, w, false, NULL);
		return;
	}
	consume(p, w);
}

static bool any_busy(const struct pool *p)
{
	for (int i = 0; i < p->n; i++)
		if (p->w[i].state == W_BUSY)
			return true;
	return false;
}

static bool any_alive(const struct pool *p)
{
	for (int i = 0; i < p->n; i++)
		if (p->w[i].state != W_DEAD)
			return true;
	return false;
}

static void check_deadlines(struct pool *p)
{
	int64_t t = pyc__monotonic_ms();
	char why[96];

	for (int i = 0; i < p->n; i++) {
		struct worker *w = &p->w[i];
		if (w->state == W_DEAD || !w->deadline || t < w->deadline)
			continue;
		if (w->state == W_BUSY)
			snprintf(why, sizeof(why), "timed out after %d s",
				 p->timeout_ms / 1000);
		replace(p, w, true, w->state == W_BUSY ? why : NULL);
	}
}

static int poll_timeout(const struct pool *p)
{
	int64_t t = pyc__monotonic_ms(), best = -1;

	for (int i = 0; i < p->n; i++) {
		const struct worker *w = &p->w[i];
		if (w->state == W_DEAD || !w->deadline)
			continue;
		int64_t left = w->deadline - t;
		if (left < 0)
			left = 0;
		if (best < 0 || left < best)
			best = left;
	}
	return best > 1000 || best < 0 ? 1000 : (int)best;
}

static void shutdown_all(struct pool *p)
{
	for (int i = 0; i < p->n; i++)
		reap(&p->w[i], true, NULL, 0);
	for (int i = 0; i < p->n; i++) {
		pyc__buf_release(&p->w[i].rbuf);
		pyc__buf_release(&p->w[i].wbuf);
		pyc__buf_release(&p->w[i].ebuf);
	}
}

/* Block SIGPIPE in this thread; *was_pending: one was pending already. */
static void block_sigpipe(sigset_t *old, bool *was_pending)
{
	sigset_t pipe_only, pending;

	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_only, old);
	*was_pending = sigpending(&pending) == 0 &&
		       sigismember(&pending, SIGPIPE);
}

/* Take away the SIGPIPE our writes left pending, restore the mask. */
static void unblock_sigpipe(const sigset_t *old, bool was_pending)
{
	static const struct timespec now = { 0, 0 };
	sigset_t pipe_only, pending;

	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	if (!was_pending && sigpending(&pending) == 0 &&
	    sigismember(&pending, SIGPIPE))
		while (sigtimedwait(&pipe_only, NULL, &now) < 0 &&
		       errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

int pyc__pool_run(const struct pyc_interp *in, int jobs, int timeout_ms,
		 const struct pyc_pool_ops *ops, atomic_int *stop,
		 struct pyc_error *err)
{
	struct pool p = { .in = in, .ops = ops, .n = jobs > 0 ? jobs : 1,
			  .timeout_ms = timeout_ms };
	struct pollfd *fds;
	int *idx, ret = 0;
	bool sigpipe_pending;

	p.w = calloc((size_t)p.n, sizeof(*p.w));
	fds = calloc(3 * (size_t)p.n, sizeof(*fds));
	idx = calloc(3 * (size_t)p.n, sizeof(*idx));
	p.envp = worker_env();
	if (!p.w || !fds || !idx || !p.envp) {
		free(p.w);
		free(fds);
		free(idx);
		free(p.envp);
		errno = ENOMEM;
		return -1;
	}
	block_sigpipe(&p.mask, &sigpipe_pending);
	for (int i = 0; i < p.n; i++)
		if (spawn(&p, &p.w[i]) < 0)
			p.start_failures++;
	for (;;) {
		if (atomic_load(stop)) {
			errno = EINTR;
			ret = -1;
			break;
		}
		for (int i = 0; i < p.n; i++) {
			struct worker *w = &p.w[i];
			/* A worker lost while being fed is replaced here. */
			if (w->state == W_DEAD && !p.exhausted &&
			    p.start_failures <= 2 * p.n && spawn(&p, w) < 0)
				p.start_failures++;
			if (w->state == W_IDLE)
				feed(&p, w);
		}
		if (p.exhausted && !any_busy(&p))
			break;
		if (!any_alive(&p)) {
			ret = pyc__error(err, ECHILD, "workers of '%s' %s",
					 in->path, p.start_why[0] ? p.start_why
							: "cannot start");
			break;
		}
		int nfds = 0;
		for (int i = 0; i < p.n; i++) {
			if (p.w[i].state == W_DEAD)
				continue;
			fds[nfds] = (struct pollfd){ .fd = p.w[i].from,
						     .events = POLLIN };
			idx[nfds++] = i;
			if (p.w[i].err >= 0) {
				/* POLLPRI marks the stderr entry. */
				fds[nfds] = (struct pollfd){ .fd = p.w[i].err,
							     .events = POLLIN |
								       POLLPRI };
				idx[nfds++] = i;
			}
			if (sending(&p.w[i])) {
				fds[nfds] = (struct pollfd){ .fd = p.w[i].to,
							     .events = POLLOUT };
				idx[nfds++] = i;
			}
		}
		if (poll(fds, (nfds_t)nfds, poll_timeout(&p)) < 0 &&
		    errno != EINTR) {
			ret = -1;
			break;
		}
		for (int k = 0; k < nfds; k++) {
			struct worker *w = &p.w[idx[k]];
			if (!fds[k].revents || w->state == W_DEAD)
				continue;
			if (fds[k].events == (POLLIN | POLLPRI))
				read_err(w);
			else if (fds[k].events == POLLIN)
				read_from(&p, w);
			else if (sending(w) && flush_request(w) < 0)
				replace(&p, w, true, NULL);
		}
		check_deadlines(&p);
	}
	shutdown_all(&p);
	unblock_sigpipe(&p.mask, sigpipe_pending);
	free(p.envp);
	free(p.w);
	free(fds);
	free(idx);
	return ret;
}
