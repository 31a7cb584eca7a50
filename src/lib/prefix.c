/*
 * prefix.c - which prefix a user's settings mean.
 */
#include "pycprefix.h"
#include "buf.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *pyc__home_dir(void)
{
	const char *home = getenv("HOME");
	struct passwd pw, *found = NULL;
	char buf[4096];

	if (home && home[0])
		return strdup(home);
	/* As Python's os.path.expanduser() without HOME: the password
	 * database's entry of the real user. */
	if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &found) != 0 ||
	    !found || !pw.pw_dir || pw.pw_dir[0] != '/') {
		errno = ENOENT;
		return NULL;
	}
	return strdup(pw.pw_dir);
}

/* ${XDG_CACHE_HOME:-$HOME/.cache}/<leaf>, or NULL (ENOENT, ENOMEM).  An
 * empty or relative XDG_CACHE_HOME is ignored, as the XDG spec says;
 * without HOME, the home directory is the password database's. */
char *pyc__cache_home_path(const char *leaf)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	struct buf b = { 0 };
	char *home = NULL;

	if (xdg && xdg[0] == '/') {
		pyc__buf_adds(&b, xdg);
	} else if ((home = pyc__home_dir())) {
		pyc__buf_adds(&b, home);
		pyc__buf_adds(&b, "/.cache");
		free(home);
	} else {
		return NULL;
	}
	pyc__buf_addc(&b, '/');
	pyc__buf_adds(&b, leaf);
	return pyc__buf_detach(&b);
}

int pyc_prefix_resolve(const char *opt, char **out, const char **origin)
{
	const char *env = getenv("PYTHONPYCACHEPREFIX");
	char *s;

	if (opt) {
		if (!opt[0]) {
			errno = EINVAL;
			return -1;
		}
		s = strdup(opt);
		*origin = "--prefix";
	} else if (env && env[0]) {
		s = strdup(env);
		*origin = "PYTHONPYCACHEPREFIX";
	} else {
		s = pyc__cache_home_path("pycprefix");
		*origin = "default";
		if (!s)
			return -1;
	}
	if (!s) {
		errno = ENOMEM;
		return -1;
	}
	*out = s;
	return 0;
}

struct first_unsafe {
	pyc_trust_fn *fn;
	void *arg;
	struct pyc_error *err;
	int n;
};

static void note_unsafe(const char *path, enum pyc_trust t,
			const struct stat *st, void *arg)
{
	struct first_unsafe *u = arg;

	if (u->n++ == 0)
		pyc__set_error(u->err, "the prefix is not safe: '%s' is %s "
			       "(owner uid %u, mode %04o)", path,
			       pyc_trust_str(t), (unsigned)st->st_uid,
			       (unsigned)(st->st_mode & 07777));
	if (u->fn)
		u->fn(path, t, st, u->arg);
}

bool pyc_prefix_tagged(const char *prefix)
{
	static const char sig[] = PYC_CACHEDIR_TAG_SIGNATURE;
	char got[sizeof(sig) - 1];
	struct stat st;
	int dfd, fd;
	bool yes = false;

	if ((dfd = open(prefix, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return false;
	/* O_NONBLOCK: a FIFO of that name does not hang us. */
	fd = openat(dfd, PYC_CACHEDIR_TAG_NAME,
		    O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	close(dfd);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    pyc__read_full(fd, got, sizeof(got)) == (ssize_t)sizeof(got))
		yes = memcmp(got, sig, sizeof(got)) == 0;
	close(fd);
	return yes;
}

/* The tag of a prefix just made: atomic, never over a file of its name
 * (the user's, or another run's that made the prefix at the same time).
 * Best effort: a prefix without one still works, and doctor says so. */
static void tag_new_prefix(const char *prefix)
{
	static const char tag[] = PYC_CACHEDIR_TAG;

	(void)pyc__write_atomic(prefix, PYC_CACHEDIR_TAG_NAME, tag,
				sizeof(tag) - 1, 0644, PYC_WRITE_NOREPLACE);
}

int pyc_prefix_prepare(const char *prefix, unsigned flags, pyc_trust_fn *fn,
		       void *arg, struct pyc_error *err)
{
	struct first_unsafe u = { fn, arg, err, 0 };
	struct stat st;
	bool made;

	if (stat(prefix, &st) == 0 && !S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		goto fail;
	}
	made = lstat(prefix, &st) < 0 && errno == ENOENT;
	if (pyc_trust_path(prefix, geteuid(), note_unsafe, &u) < 0)
		goto fail;
	if (u.n && !(flags & PYC_PREFIX_INSECURE)) {
		errno = EPERM;
		return -1;
	}
	if (pyc__mkdir_p(prefix, 0755) < 0)
		goto fail;
	/* One line for a prefix we cannot write (read-only, another
	 * user's), not one failure per file. */
	if (faccessat(AT_FDCWD, prefix, W_OK | X_OK, AT_EACCESS) == 0) {
		if (made)
			tag_new_prefix(prefix);
		return 0;
	}
	pyc__set_error(err, "cannot write into the prefix '%s': %s", prefix,
		       strerror(errno));
	return -1;
fail:
	pyc__set_error(err, "cannot use the prefix '%s': %s", prefix,
		       strerror(errno));
	return -1;
}
