/*
 * interp.c - learning what an interpreter is, once.
 *
 * The probe runs `exe -E -s -S -c PROBE`: no environment, no site, so it
 * is fast and sees the interpreter as it is.  PROBE is valid Python 2 and
 * 3, so that an old interpreter is named, not mistaken.  Its output is
 * NUL-separated fields (file names are bytes):
 *
 *   probe   = "pycprefix-probe-1" NUL impl NUL version NUL [ new ]
 *   version = major SP minor SP micro SP releaselevel SP serial
 *   new     = tag NUL magic-hex NUL hash-hex NUL unidata NUL executable NUL
 *
 * `new` is there for 3.8 and later.  The cache file for an executable is
 *
 *   cache   = "pycprefix-probe-cache-1" NUL path NUL real NUL key NUL probe
 *   key     = dev SP ino SP size SP mtime-ns SP ctime-ns   ; stat of real
 *
 * written atomically (temp file and rename), so concurrent runs at worst
 * probe twice.
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

#define PROBE_MAGIC "pycprefix-probe-1"
#define CACHE_MAGIC "pycprefix-probe-cache-1"
#define PROBE_TIMEOUT_MS 30000

static const char probe_script[] =
	"import sys\n"
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
	"    f(os.fsencode(sys.executable))\n";

void pyc_interp_release(struct pyc_interp *in)
{
	free(in->path);
	free(in->real);
	free(in->executable);
	free(in->impl);
	free(in->tag);
	free(in->unidata);
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
	    dup_field(&dst->unidata, src->unidata) < 0) {
		pyc_interp_release(dst);
		return -1;
	}
	return 0;
}

static int error(struct pyc_error *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int error(struct pyc_error *err, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	errno = errnum;
	return -1;
}

char *pyc_probe_cache_dir(void)
{
	const char *env = getenv("PYCPREFIX_PROBE_CACHE");

	if (env && env[0])
		return strdup(env);
	return pyc_cache_home_path("pycprefix-interpreters");
}

/* ---- running the probe ---- */

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	       (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Read all of fd into out within the time left; -1 with ETIMEDOUT. */
static int drain(int fd, struct buf *out, const struct timespec *t0)
{
	char chunk[4096];

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long left = PROBE_TIMEOUT_MS - ms_since(t0);
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
		buf_add(out, chunk, (size_t)n);
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
	char *argv[] = { (char *)exe, "-E", "-s", "-S", "-c",
			 (char *)probe_script, NULL };
	posix_spawn_file_actions_t fa;
	struct timespec t0;
	int pipefd[2], status, ret, saved = 0;
	pid_t pid;

	if (pipe(pipefd) < 0)
		return -1;
	fcntl(pipefd[0], F_SETFD, FD_CLOEXEC);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	posix_spawn_file_actions_addclose(&fa, pipefd[1]);
	ret = posix_spawn(&pid, exe, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (ret) {
		close(pipefd[0]);
		errno = ret;
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (drain(pipefd[0], out, &t0) < 0) {
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
	const char *tag, *mhex, *hhex, *uni, *exe;
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
	if (!exe || hex_bytes(mhex, m, 4) < 0 || m[2] != '\r' ||
	    m[3] != '\n' || hex_bytes(hhex, in->source_hash_check, 8) < 0)
		goto bad;
	in->magic = (uint16_t)(m[0] | m[1] << 8);
	if (dup_field(&in->tag, tag) < 0 || dup_field(&in->unidata, uni) < 0 ||
	    dup_field(&in->executable, exe) < 0)
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
	buf_addf(b, "%ju %ju %jd %jd.%09ld %jd.%09ld", (uintmax_t)st->st_dev,
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
	buf_adds(&b, dir);
	buf_addc(&b, '/');
	for (int i = 0; i < 8; i++)
		buf_addf(&b, "%02x", h[i]);
	free(dir);
	return buf_detach(&b);
}

/* Fill `in` from the cache if it holds `path` with the same identity. */
static int cache_read(const char *path, const char *real,
		      const struct stat *st, struct pyc_interp *in)
{
	char *file = cache_file(path), *data = NULL;
	struct buf key = { 0 };
	const char *p, *end, *f;
	size_t len;
	int ret = -1;

	if (!file || !(data = pyc_read_file(file, &len)))
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
	buf_release(&key);
	free(data);
	free(file);
	return ret;
}

/* Best effort: a cache that cannot be written only costs a probe. */
static void cache_write(const char *path, const char *real,
			const struct stat *st, const struct buf *probe)
{
	char *file = cache_file(path), *dir = pyc_probe_cache_dir();
	struct buf b = { 0 }, tmp = { 0 };
	int fd;

	if (!file || !dir || pyc_mkdir_p(dir, 0700) < 0)
		goto out;
	buf_adds(&b, CACHE_MAGIC);
	buf_addc(&b, '\0');
	buf_add(&b, path, strlen(path) + 1);
	buf_add(&b, real, strlen(real) + 1);
	stat_key(&b, st);
	buf_addc(&b, '\0');
	buf_add(&b, probe->s, probe->len);
	buf_addf(&tmp, "%s.tmp%ld", file, (long)getpid());
	if (b.oom || tmp.oom)
		goto out;
	fd = open(tmp.s, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	if (write(fd, b.s, b.len) != (ssize_t)b.len || close(fd) < 0 ||
	    rename(tmp.s, file) < 0)
		unlink(tmp.s);
out:
	buf_release(&b);
	buf_release(&tmp);
	free(file);
	free(dir);
}

/* ---- probing ---- */

static int probe_fresh(const char *exe, struct buf *out,
		       struct pyc_error *err)
{
	int status = run_probe(exe, out);
	const char *nl;

	if (status < 0)
		return error(err, errno, "cannot run '%s': %s", exe,
			     strerror(errno));
	if (status == 0)
		return 0;
	/* Report the interpreter's last line: usually the reason. */
	while (out->len && out->s[out->len - 1] == '\n')
		out->s[--out->len] = '\0';
	nl = out->s ? strrchr(out->s, '\n') : NULL;
	return error(err, ENOEXEC, "'%s' failed to start (exit %d)%s%s", exe,
		     status, out->len ? ": " : "",
		     out->len ? (nl ? nl + 1 : out->s) : "");
}

int pyc_interp_probe(const char *exe, unsigned flags, struct pyc_interp *in,
		     struct pyc_error *err)
{
	struct buf out = { 0 };
	struct stat st;
	char real[PATH_MAX], why[200];
	bool cached = false;

	memset(in, 0, sizeof(*in));
	if (!realpath(exe, real) || stat(real, &st) < 0)
		return error(err, errno, "cannot use '%s': %s", exe,
			     strerror(errno));
	if (!S_ISREG(st.st_mode) || access(real, X_OK) < 0)
		return error(err, EACCES, "cannot use '%s': not an executable "
			     "file", exe);
	if (!(flags & PYC_PROBE_NO_CACHE))
		cached = cache_read(exe, real, &st, in) == 0;
	if (!cached) {
		pyc_interp_release(in);
		if (probe_fresh(exe, &out, err) < 0)
			goto fail;
		if (parse_probe(out.s, out.s + out.len, in) < 0) {
			error(err, EPROTO, "'%s' did not answer like a Python "
			      "interpreter", exe);
			goto fail;
		}
	}
	if (dup_field(&in->path, exe) < 0 || dup_field(&in->real, real) < 0)
		goto fail;
	if (!(flags & PYC_PROBE_ANY) && unusable(in, why, sizeof(why))) {
		error(err, ENOTSUP, "cannot use '%s': %s", exe, why);
		goto fail;
	}
	if (!cached && !(flags & PYC_PROBE_NO_CACHE))
		cache_write(exe, real, &st, &out);
	buf_release(&out);
	return 0;
fail:
	buf_release(&out);
	pyc_interp_release(in);
	return -1;
}

int pyc_interp_resolve(const char *spec, unsigned flags,
		       struct pyc_interp *in, struct pyc_error *err)
{
	char *exe;
	int ret;

	memset(in, 0, sizeof(*in));
	if (pyc_interp_find(spec, &exe, err) < 0)
		return -1;
	ret = pyc_interp_probe(exe, flags, in, err);
	free(exe);
	return ret;
}

/* Exposed for discover.c: why an interpreter is unusable, or NULL. */
const char *pyc__interp_unusable(const struct pyc_interp *in, char *why,
				 size_t size)
{
	return unusable(in, why, size);
}
