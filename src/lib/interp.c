/*
 * interp.c - learning what an interpreter is, once.
 *
 * The probe runs `exe -B -E -s -S -c PROBE`: no environment, no site, so
 * it is fast and sees the interpreter as it is (PROBE first takes the
 * current directory off sys.path: it imports nothing from there), and it
 * writes no bytecode
 * (-E ignores PYTHONDONTWRITEBYTECODE; -B does not depend on it).  PROBE is valid Python 2 and
 * 3, so that an old interpreter is named, not mistaken.  Its output is
 * NUL-separated fields (file names are bytes):
 *
 *   probe   = "pycprefix-probe-2" NUL impl NUL version NUL [ new ]
 *   version = major SP minor SP micro SP releaselevel SP serial
 *   new     = tag NUL magic-hex NUL hash-hex NUL unidata NUL executable NUL
 *             build NUL                 ; sys.version
 *
 * `new` is there for 3.8 and later.  The cache file for an executable is
 *
 *   cache   = "pycprefix-probe-cache-2" NUL path NUL real NUL key NUL probe
 *   key     = dev SP ino SP size SP mtime-ns SP ctime-ns   ; stat of real
 *
 * written with pyc__write_atomic(), so concurrent runs at worst probe
 * twice.  Every pipe is close-on-exec from its birth (pipe2): a child
 * that another thread spawns meanwhile never holds a probe's write end.
 */
#include "pycprefix.h"
#include "buf.h"
#include "compat.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define PROBE_MAGIC "pycprefix-probe-2"
#define CACHE_MAGIC "pycprefix-probe-cache-2"
#define PROBE_TIMEOUT_MS 30000
#define PROBE_TIMEOUT_MAX_S 3600

static const char probe_script[] =
	"import sys\n"
	/* Nothing from the current directory ('' for -c): a checkout's own
	 * warnings.py would be run by importlib.util's import of it. */
	"if sys.path and sys.path[0] == '':\n"
	"    del sys.path[0]\n"
	"w = getattr(sys.stdout, 'buffer', sys.stdout).write\n"
	"def f(s):\n"
	"    if not isinstance(s, bytes):\n"
	"        s = s.encode('utf-8', 'surrogateescape')\n"
	"    w(s + b'\\0')\n"
	"impl = getattr(getattr(sys, 'implementation', None), 'name', None)\n"
	"f('" PROBE_MAGIC "')\n"
	"f(impl or ('pypy' if 'PyPy' in sys.version else 'cpython'))\n"
	"f('%d %d %d %s %d' % tuple(sys.version_info[:5]))\n"
	"if sys.version_info[:2] >= (3, 8):\n"
	"    import os, unicodedata, importlib.util as u\n"
	"    f(sys.implementation.cache_tag or '')\n"
	"    f(u.MAGIC_NUMBER.hex())\n"
	"    f(u.source_hash(b'pycprefix').hex())\n"
	"    f(unicodedata.unidata_version)\n"
	"    f(os.fsencode(sys.executable))\n"
	"    f(sys.version)\n";

void pyc_interp_release(struct pyc_interp *in)
{
	free(in->path);
	free(in->real);
	free(in->executable);
	free(in->impl);
	free(in->tag);
	free(in->unidata);
	free(in->build);
	memset(in, 0, sizeof(*in));
}

static int dup_field(char **dst, const char *src)
{
	*dst = NULL;
	if (src && !(*dst = strdup(src))) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int pyc_interp_copy(struct pyc_interp *dst, const struct pyc_interp *src)
{
	*dst = *src;
	if (dup_field(&dst->path, src->path) < 0 ||
	    dup_field(&dst->real, src->real) < 0 ||
	    dup_field(&dst->executable, src->executable) < 0 ||
	    dup_field(&dst->impl, src->impl) < 0 ||
	    dup_field(&dst->tag, src->tag) < 0 ||
	    dup_field(&dst->unidata, src->unidata) < 0 ||
	    dup_field(&dst->build, src->build) < 0) {
		pyc_interp_release(dst);
		return -1;
	}
	return 0;
}


char *pyc_probe_cache_dir(void)
{
	const char *env = getenv("PYCPREFIX_PROBE_CACHE");

	if (env && env[0])
		return strdup(env);
	return pyc__cache_home_path("pycprefix-interpreters");
}

int pyc_probe_timeout_ms(void)
{
	const char *env = getenv("PYCPREFIX_PROBE_TIMEOUT");
	char *end;
	long s;

	if (!env || !env[0])
		return PROBE_TIMEOUT_MS;
	errno = 0;
	s = strtol(env, &end, 10);
	if (errno || *end || s < 1 || s > PROBE_TIMEOUT_MAX_S)
		return PROBE_TIMEOUT_MS;
	return (int)s * 1000;
}

/* ---- running the probe ---- */

static long ms_since(int64_t t0)
{
	return (long)(pyc__monotonic_ms() - t0);
}

/* Read all of fd into out within the time left; -1 with ETIMEDOUT. */
static int drain(int fd, struct buf *out, int64_t t0, int timeout_ms)
{
	char chunk[4096];

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long left = timeout_ms - ms_since(t0);
		ssize_t n;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (poll(&p, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (!p.revents)
			continue;
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		pyc__buf_add(out, chunk, (size_t)n);
		if (out->len > (1 << 20)) {
			errno = EMSGSIZE;
			return -1;
		}
	}
}

/* Run the probe; stdout and stderr (merged) into out.  Returns the exit
 * status (0..255, or 128+signal), or -1 with errno. */
static int run_probe(const char *exe, struct buf *out)
{
	char *argv[] = { (char *)exe, "-B", "-E", "-s", "-S", "-c",
			 (char *)probe_script, NULL };
	posix_spawn_file_actions_t fa;
	int64_t t0;
	int pipefd[2], status, ret, saved = 0;
	pid_t pid;

	/* dup2 clears close-on-exec on the child's stdout and stderr. */
	if (pyc__pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	ret = posix_spawn(&pid, exe, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (ret) {
		close(pipefd[0]);
		errno = ret;
		return -1;
	}
	t0 = pyc__monotonic_ms();
	if (drain(pipefd[0], out, t0, pyc_probe_timeout_ms()) < 0) {
		saved = errno;
		kill(pid, SIGKILL);
	}
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (saved) {
		errno = saved;
		return -1;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* ---- why an interpreter did not start ---- */

/* Does the line [s, e) read "Name: message" or "Name" (an exception)? */
static bool exception_line(const char *s, const char *e)
{
	const char *p = s;

	if (p == e || !(*p == '_' || (*p >= 'A' && *p <= 'Z') ||
			(*p >= 'a' && *p <= 'z')))
		return false;
	while (p < e && (*p == '_' || *p == '.' || (*p >= 'A' && *p <= 'Z') ||
			 (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
		p++;
	return p == e || *p == ':';
}

void pyc__startup_reason(const char *out, size_t len, int status, char *why,
			 size_t size)
{
	static const char fatal_tag[] = "Fatal Python error: ";
	const char *end = out ? out + len : NULL, *fatal = NULL, *fe = NULL;
	const char *exc = NULL, *xe = NULL, *first = NULL, *firste = NULL;
	const char *verb;
	char st[32];

	for (const char *s = out; s && s < end;) {
		const char *e = memchr(s, '\n', (size_t)(end - s));
		if (!e)
			e = end;
		if (!first && e > s) {
			first = s;
			firste = e;
		}
		if (!fatal && (size_t)(e - s) > strlen(fatal_tag) &&
		    memcmp(s, fatal_tag, strlen(fatal_tag)) == 0) {
			fatal = s + strlen(fatal_tag);
			fe = e;
		} else if (exception_line(s, e)) {
			exc = s;
			xe = e;
		}
		s = e + 1;
	}
	if (status >= 128)
		snprintf(st, sizeof(st), "killed by signal %d", status - 128);
	else
		snprintf(st, sizeof(st), "exit %d", status);
	/* "Fatal Python error" is the runtime's own: it did not start. */
	verb = fatal ? "cannot start" : "failed";
	if (fatal && exc)
		snprintf(why, size, "%s (%s): %.*s (%.*s)", verb, st,
			 (int)(fe - fatal), fatal, (int)(xe - exc), exc);
	else if (fatal || exc || first)
		snprintf(why, size, "%s (%s): %.*s", verb, st,
			 fatal ? (int)(fe - fatal) : exc ? (int)(xe - exc)
							 : (int)(firste - first),
			 fatal ? fatal : exc ? exc : first);
	else
		snprintf(why, size, "%s (%s)", verb, st);
	/* One line: control characters it carried become spaces. */
	for (char *c = why; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
}

/* ---- asking an interpreter as the user runs it ---- */

/* The answer and the interpreter's stderr (kept for the reason). */
struct asked {
	struct buf answer, err;
	int afd, efd;          /* -1 once at end of file */
};

/* Read what is there from *fd into b (past `cap`, read and drop). */
static int take(int *fd, struct buf *b, size_t cap)
{
	char chunk[4096];

	for (;;) {
		ssize_t n = read(*fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			close(*fd);
			*fd = -1;
			return n < 0 ? -1 : 0;
		}
		if (b->len < cap)
			pyc__buf_add(b, chunk, (size_t)n);
	}
}

/* Gather both pipes until both end, the child has exited (and what it
 * wrote is read), or the time-out. */
static int gather(struct asked *a, pid_t pid, int *status, int timeout_ms)
{
	int64_t t0;
	bool exited = false;

	t0 = pyc__monotonic_ms();
	while (a->afd >= 0 || a->efd >= 0) {
		struct pollfd p[2] = { { .fd = a->afd, .events = POLLIN },
				       { .fd = a->efd, .events = POLLIN } };
		long left = timeout_ms - ms_since(t0);
		int r;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		/* A grandchild may keep the pipes open: look at the child
		 * itself every 100 ms. */
		r = poll(p, 2, left < 100 ? (int)left : 100);
		if (r < 0 && errno != EINTR)
			return -1;
		if (a->afd >= 0 && p[0].revents && take(&a->afd, &a->answer,
							1u << 24) < 0)
			return -1;
		if (a->efd >= 0 && p[1].revents && take(&a->efd, &a->err,
							1u << 16) < 0)
			return -1;
		if (a->answer.len >= 1u << 24) {
			errno = EMSGSIZE;
			return -1;
		}
		if (exited)
			break;  /* the last read after the exit is done */
		if (r == 0 && waitpid(pid, status, WNOHANG) == pid)
			exited = true;
	}
	if (!exited)
		while (waitpid(pid, status, 0) < 0)
			if (errno != EINTR)
				return -1;
	return 0;
}

/* The answer split at NULs into a NULL-terminated vector. */
static char **split_fields(const struct buf *b, size_t *n)
{
	char **v = calloc(1, sizeof(*v));

	*n = 0;
	for (size_t i = 0; v && i < b->len;) {
		const char *s = b->s + i;
		const char *nul = memchr(s, '\0', b->len - i);
		size_t len = nul ? (size_t)(nul - s) : b->len - i;
		char **nv = realloc(v, (*n + 2) * sizeof(*nv));

		if (!nv || !(nv[*n] = strndup(s, len))) {
			pyc_strv_free(nv ? nv : v, *n);
			errno = ENOMEM;
			return NULL;
		}
		v = nv;
		v[++*n] = NULL;
		i += len + 1;
	}
	if (!v)
		errno = ENOMEM;
	return v;
}

/* Spawn exe with stdin and stdout on /dev/null, stderr on efd and the
 * answer pipe as descriptor ASK_FD. */
#define ASK_FD 3
#define ASK_FD_ARG "3"

static int spawn_asked(const char *exe, const char *const *pyflags,
		       size_t nflags, const char *code, unsigned flags,
		       int awr, int ewr, pid_t *pid)
{
	char **argv = calloc(nflags + 8, sizeof(*argv));
	posix_spawn_file_actions_t fa;
	size_t k = 0;
	int ret;

	if (!argv)
		return ENOMEM;
	argv[k++] = (char *)exe;
	argv[k++] = "-B";
	if (!(flags & PYC_ASK_READ_CACHE)) {
		argv[k++] = "-X";
		argv[k++] = "pycache_prefix=/dev/null";
	}
	for (size_t i = 0; i < nflags; i++)
		argv[k++] = (char *)pyflags[i];
	argv[k++] = "-c";
	argv[k++] = (char *)code;
	argv[k++] = ASK_FD_ARG;
	/* awr and ewr are above ASK_FD (see pyc_interp_ask), so these
	 * dup2s never meet their own source. */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, ewr, 2);
	posix_spawn_file_actions_adddup2(&fa, awr, ASK_FD);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	ret = posix_spawn(pid, exe, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	free(argv);
	return ret;
}

/* A pipe whose both ends are close-on-exec and above ASK_FD. */
static int high_pipe(int fds[2])
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		fds[i] = fcntl(p[i], F_DUPFD_CLOEXEC, ASK_FD + 1);
		close(p[i]);
	}
	if (fds[0] < 0 || fds[1] < 0) {
		int saved = errno;
		if (fds[0] >= 0)
			close(fds[0]);
		if (fds[1] >= 0)
			close(fds[1]);
		fds[0] = fds[1] = -1;
		errno = saved;
		return -1;
	}
	if (pyc__set_nonblock(fds[0]) < 0) {
		int saved = errno;
		close(fds[0]);
		close(fds[1]);
		fds[0] = fds[1] = -1;
		errno = saved;
		return -1;
	}
	return 0;
}

char **pyc_interp_ask(const char *exe, const char *code, size_t *n,
		      struct pyc_error *err)
{
	return pyc_interp_ask_flags(exe, code, 0, n, err);
}

char **pyc_interp_ask_flags(const char *exe, const char *code,
			    unsigned flags, size_t *n, struct pyc_error *err)
{
	return pyc_interp_ask_argv(exe, NULL, 0, code, flags, n, err);
}

char **pyc_interp_ask_argv(const char *exe, const char *const *pyflags,
			   size_t nflags, const char *code, unsigned flags,
			   size_t *n, struct pyc_error *err)
{
	struct asked a = { .afd = -1, .efd = -1 };
	int ap[2] = { -1, -1 }, ep[2] = { -1, -1 }, status = 0, ret;
	int timeout_ms = pyc_probe_timeout_ms();
	char why[400], eb[128], **v = NULL;
	pid_t pid;

	*n = 0;
	if (high_pipe(ap) < 0 || high_pipe(ep) < 0) {
		int saved = errno;
		if (ap[0] >= 0) {
			close(ap[0]);
			close(ap[1]);
		}
		pyc__error(err, saved, "cannot run '%s': %s", exe,
			   pyc__strerror(saved, eb, sizeof(eb)));
		return NULL;
	}
	ret = spawn_asked(exe, pyflags, nflags, code, flags, ap[1], ep[1],
			  &pid);
	close(ap[1]);
	close(ep[1]);
	a.afd = ap[0];
	a.efd = ep[0];
	if (ret) {
		pyc__error(err, ret, "cannot run '%s': %s", exe,
			   pyc__strerror(ret, eb, sizeof(eb)));
		goto out;
	}
	if (gather(&a, pid, &status, timeout_ms) < 0) {
		int saved = errno;
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		if (saved == ETIMEDOUT)
			pyc__error(err, saved, "'%s' did not answer within "
				   "%d s", exe, timeout_ms / 1000);
		else
			pyc__error(err, saved, "cannot run '%s': %s", exe,
				   pyc__strerror(saved, eb, sizeof(eb)));
		goto out;
	}
	status = WIFSIGNALED(status) ? 128 + WTERMSIG(status)
				     : WEXITSTATUS(status);
	if (status) {
		pyc__startup_reason(a.err.s, a.err.len, status, why,
				    sizeof(why));
		pyc__error(err, ENOEXEC, "'%s' %s", exe, why);
		goto out;
	}
	if (a.answer.oom || !(v = split_fields(&a.answer, n)))
		pyc__error(err, ENOMEM, "out of memory");
out:
	if (a.afd >= 0)
		close(a.afd);
	if (a.efd >= 0)
		close(a.efd);
	pyc__buf_release(&a.answer);
	pyc__buf_release(&a.err);
	return v;
}

void pyc_strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- parsing ---- */

/* The next NUL-terminated field of [*p, end), or NULL. */
static const char *next_field(const char **p, const char *end)
{
	const char *s = *p, *nul;

	if (s >= end || !(nul = memchr(s, '\0', (size_t)(end - s))))
		return NULL;
	*p = nul + 1;
	return s;
}

static int hex_bytes(const char *hex, unsigned char *out, size_t n)
{
	if (strlen(hex) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

/* Fill `in` from probe output; -1 (EPROTO) when it is not one. */
static int parse_probe(const char *p, const char *end, struct pyc_interp *in)
{
	const char *magic = next_field(&p, end);
	const char *impl = next_field(&p, end);
	const char *ver = next_field(&p, end);
	const char *tag, *mhex, *hhex, *uni, *exe, *build;
	unsigned char m[4];

	if (!magic || strcmp(magic, PROBE_MAGIC) || !impl || !ver ||
	    sscanf(ver, "%d %d %d %15s %d", &in->major, &in->minor,
		   &in->micro, in->level, &in->serial) != 5)
		goto bad;
	if (dup_field(&in->impl, impl) < 0)
		return -1;
	if (in->major < 3 || (in->major == 3 && in->minor < 8))
		return 0;
	tag = next_field(&p, end);
	mhex = next_field(&p, end);
	hhex = next_field(&p, end);
	uni = next_field(&p, end);
	exe = next_field(&p, end);
	build = next_field(&p, end);
	if (!build || hex_bytes(mhex, m, 4) < 0 || m[2] != '\r' ||
	    m[3] != '\n' || hex_bytes(hhex, in->source_hash_check, 8) < 0)
		goto bad;
	in->magic = (uint16_t)(m[0] | m[1] << 8);
	if (dup_field(&in->tag, tag) < 0 || dup_field(&in->unidata, uni) < 0 ||
	    dup_field(&in->executable, exe) < 0 ||
	    dup_field(&in->build, build) < 0)
		return -1;
	return 0;
bad:
	errno = EPROTO;
	return -1;
}

/* Why `in` cannot serve, or NULL when it can. */
static const char *unusable(const struct pyc_interp *in, char *why,
			    size_t size)
{
	unsigned char h[8];

	if (strcmp(in->impl, "cpython") != 0) {
		snprintf(why, size, "it is %s, not CPython", in->impl);
		return why;
	}
	if (in->major < 3 || (in->major == 3 && in->minor < 8)) {
		snprintf(why, size,
			 "it is Python %d.%d.%d; the pycache prefix needs "
			 "CPython 3.8 or later", in->major, in->minor,
			 in->micro);
		return why;
	}
	if (!in->tag || !in->tag[0]) {
		snprintf(why, size, "it has no cache tag");
		return why;
	}
	pyc_source_hash(in->magic, "pycprefix", 9, h);
	if (memcmp(h, in->source_hash_check, 8) != 0) {
		snprintf(why, size,
			 "its source_hash() is not the SipHash its version uses");
		return why;
	}
	return NULL;
}

/* ---- the cache ---- */

static void stat_key(struct buf *b, const struct stat *st)
{
	pyc__buf_addf(b, "%ju %ju %jd %jd.%09ld %jd.%09ld", (uintmax_t)st->st_dev,
		 (uintmax_t)st->st_ino, (intmax_t)st->st_size,
		 (intmax_t)PYC_ST_MTIM(st).tv_sec, PYC_ST_MTIM(st).tv_nsec,
		 (intmax_t)PYC_ST_CTIM(st).tv_sec, PYC_ST_CTIM(st).tv_nsec);
}

/* The cache file for `path`: <dir>/<hash of path>. */
static char *cache_file(const char *path)
{
	char *dir = pyc_probe_cache_dir();
	unsigned char h[8];
	struct buf b = { 0 };

	if (!dir)
		return NULL;
	pyc_source_hash(0, path, strlen(path), h);
	pyc__buf_adds(&b, dir);
	pyc__buf_addc(&b, '/');
	for (int i = 0; i < 8; i++)
		pyc__buf_addf(&b, "%02x", h[i]);
	free(dir);
	return pyc__buf_detach(&b);
}

/* A probe cache another user could write into is no cache: a forged
 * entry would change an interpreter's tag, and so where pycs go.  The
 * directory and every one above it as pyc_trust_path() checks them. */
static bool cache_dir_trusted(void)
{
	char *dir = pyc_probe_cache_dir();
	bool ok = dir && pyc_trust_path(dir, geteuid(), NULL, NULL) == 0;

	free(dir);
	return ok;
}

/* An entry: ours (or root's), and no one else may write it. */
static bool cache_entry_trusted(const struct stat *st)
{
	return (st->st_uid == geteuid() || st->st_uid == 0) &&
	       !(st->st_mode & (S_IWGRP | S_IWOTH));
}

/* Fill `in` from the cache if it holds `path` with the same identity. */
static int cache_read(const char *path, const char *real,
		      const struct stat *st, struct pyc_interp *in)
{
	char *file = cache_file(path), *data = NULL;
	struct buf key = { 0 };
	const char *p, *end, *f;
	struct stat fst;
	size_t len;
	int ret = -1;

	if (!file || !cache_dir_trusted() ||
	    !(data = pyc__read_file_stat(file, &len, &fst)) ||
	    !cache_entry_trusted(&fst))
		goto out;
	p = data;
	end = data + len;
	stat_key(&key, st);
	if (!(f = next_field(&p, end)) || strcmp(f, CACHE_MAGIC) ||
	    !(f = next_field(&p, end)) || strcmp(f, path) ||
	    !(f = next_field(&p, end)) || strcmp(f, real) ||
	    !(f = next_field(&p, end)) || !key.s || strcmp(f, key.s))
		goto out;
	ret = parse_probe(p, end, in);
out:
	pyc__buf_release(&key);
	free(data);
	free(file);
	return ret;
}

/* Best effort: a cache that cannot be written only costs a probe. */
static void cache_write(const char *path, const char *real,
			const struct stat *st, const struct buf *probe)
{
	char *file = cache_file(path), *dir = pyc_probe_cache_dir();
	struct buf b = { 0 };
	size_t dlen = dir ? strlen(dir) : 0;

	/* cache_file() is dir + "/" + name. */
	if (!file || !dir || strncmp(file, dir, dlen) != 0 ||
	    file[dlen] != '/' || pyc__mkdir_p(dir, 0700) < 0 ||
	    !cache_dir_trusted())
		goto out;
	pyc__buf_adds(&b, CACHE_MAGIC);
	pyc__buf_addc(&b, '\0');
	pyc__buf_add(&b, path, strlen(path) + 1);
	pyc__buf_add(&b, real, strlen(real) + 1);
	stat_key(&b, st);
	pyc__buf_addc(&b, '\0');
	pyc__buf_add(&b, probe->s, probe->len);
	if (!b.oom)
		pyc__write_atomic(dir, file + dlen + 1, b.s, b.len, 0600, 0);
out:
	pyc__buf_release(&b);
	free(file);
	free(dir);
}

/* ---- probing ---- */

static int probe_fresh(const char *exe, struct buf *out,
		       struct pyc_error *err)
{
	int status = run_probe(exe, out);
	const char *nl;
	char eb[128];

	if (status < 0) {
		if (errno == ETIMEDOUT)
			return pyc__error(err, errno, "'%s' did not answer "
					  "within %d s", exe,
					  pyc_probe_timeout_ms() / 1000);
		return pyc__error(err, errno, "cannot run '%s': %s", exe,
				  pyc__strerror(errno, eb, sizeof(eb)));
	}
	if (status == 0)
		return 0;
	/* Report the interpreter's last line: usually the reason. */
	while (out->len && out->s[out->len - 1] == '\n')
		out->s[--out->len] = '\0';
	nl = out->s ? strrchr(out->s, '\n') : NULL;
	return pyc__error(err, ENOEXEC, "'%s' failed to start (exit %d)%s%s",
			  exe, status, out->len ? ": " : "",
			  out->len ? (nl ? nl + 1 : out->s) : "");
}

int pyc_interp_probe(const char *exe, unsigned flags, struct pyc_interp *in,
		     struct pyc_error *err)
{
	struct buf out = { 0 };
	struct stat st;
	char real[PATH_MAX], why[200], eb[128];
	bool cached = false;

	memset(in, 0, sizeof(*in));
	if (!realpath(exe, real) || stat(real, &st) < 0)
		return pyc__error(err, errno, "cannot use '%s': %s", exe,
				  pyc__strerror(errno, eb, sizeof(eb)));
	if (!S_ISREG(st.st_mode) || access(real, X_OK) < 0)
		return pyc__error(err, EACCES, "cannot use '%s': not an "
				  "executable file", exe);
	if (!(flags & PYC_PROBE_NO_CACHE))
		cached = cache_read(exe, real, &st, in) == 0;
	if (!cached) {
		pyc_interp_release(in);
		if (probe_fresh(exe, &out, err) < 0)
			goto fail;
		if (parse_probe(out.s, out.s + out.len, in) < 0) {
			pyc__error(err, EPROTO, "'%s' did not answer like a "
				   "Python interpreter", exe);
			goto fail;
		}
	}
	if (dup_field(&in->path, exe) < 0 || dup_field(&in->real, real) < 0)
		goto fail;
	if (!(flags & PYC_PROBE_ANY) && unusable(in, why, sizeof(why))) {
		pyc__error(err, ENOTSUP, "cannot use '%s': %s", exe, why);
		goto fail;
	}
	if (!cached && !(flags & PYC_PROBE_NO_CACHE))
		cache_write(exe, real, &st, &out);
	pyc__buf_release(&out);
	return 0;
fail:
	pyc__buf_release(&out);
	pyc_interp_release(in);
	return -1;
}

/* Exposed for discover.c: why an interpreter is unusable, or NULL. */
const char *pyc__interp_unusable(const struct pyc_interp *in, char *why,
				 size_t size)
{
	return unusable(in, why, size);
}
