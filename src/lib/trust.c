/*
 * trust.c - may another user change what the prefix holds?
 *
 * Python executes what the prefix holds, so a directory on the way to a
 * pyc that someone else can write into is a way to plant code.  The rule
 * is ssh's StrictModes: every directory from '/' down to the prefix, and
 * every directory inside it, must be owned by the user or by root and
 * must not be writable by others; a world- or group-writable directory is
 * allowed only with the sticky bit (others cannot replace what is not
 * theirs), and group write is allowed when the group is the owner's
 * private group (same name as the owner, no listed members), as on
 * distributions that set umask 002.
 */
#include "pycprefix.h"
#include "buf.h"

#include <stdbool.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Is gid the private group of uid?  The last answer is kept: the walk
 * asks about the same pair again and again. */
static bool private_group(gid_t gid, uid_t uid)
{
	static _Thread_local struct {
		bool valid, answer;
		gid_t gid;
		uid_t uid;
	} last;
	char pwbuf[1024], grbuf[4096];
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;

	if (last.valid && last.gid == gid && last.uid == uid)
		return last.answer;
	bool answer = getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &pwp) == 0 &&
		      pwp && getgrgid_r(gid, &gr, grbuf, sizeof(grbuf),
					&grp) == 0 && grp &&
		      pw.pw_gid == gid && strcmp(gr.gr_name, pw.pw_name) == 0 &&
		      (!gr.gr_mem[0] || (strcmp(gr.gr_mem[0], pw.pw_name) == 0 &&
					 !gr.gr_mem[1]));
	last.valid = true;
	last.answer = answer;
	last.gid = gid;
	last.uid = uid;
	return answer;
}

enum pyc_trust pyc_trust_stat(const struct stat *st, uid_t uid)
{
	if (!S_ISDIR(st->st_mode))
		return PYC_TRUST_NOT_DIR;
	if (st->st_uid != uid && st->st_uid != 0)
		return PYC_TRUST_OWNER;
	if (st->st_mode & S_ISVTX)
		return PYC_TRUST_OK;
	if (st->st_mode & S_IWOTH)
		return PYC_TRUST_WRITABLE;
	if ((st->st_mode & S_IWGRP) && !private_group(st->st_gid, st->st_uid))
		return PYC_TRUST_WRITABLE;
	return PYC_TRUST_OK;
}

const char *pyc_trust_str(enum pyc_trust t)
{
	switch (t) {
	case PYC_TRUST_OK:
		return "safe";
	case PYC_TRUST_OWNER:
		return "owned by another user";
	case PYC_TRUST_WRITABLE:
		return "writable by other users, without the sticky bit";
	case PYC_TRUST_NOT_DIR:
		return "not a directory";
	}
	return "?";
}

static int check_one(const char *path, uid_t uid, pyc_trust_fn *fn,
		     void *arg, bool *exists)
{
	struct stat st;
	enum pyc_trust t;

	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		*exists = false; /* not a place to write: the caller says */
		return 0;
	}
	if ((t = pyc_trust_stat(&st, uid)) == PYC_TRUST_OK)
		return 0;
	fn(path, t, &st, arg);
	return 1;
}

/* Check '/' and each directory of absolute path `abs` while they exist
 * (what is missing would be created by the user).  Returns the number of
 * problems reported, or -1 (errno). */
static int check_chain(const char *abs, uid_t uid, pyc_trust_fn *fn,
		       void *arg)
{
	char *s = strdup(abs);
	bool exists = true;
	int problems;

	if (!s)
		return -1;
	problems = check_one("/", uid, fn, arg, &exists);
	for (size_t i = 1; exists; i++) {
		char c = s[i];
		if (c && c != '/')
			continue;
		if (s[i - 1] != '/') {
			s[i] = '\0';
			problems += check_one(s, uid, fn, arg, &exists);
			s[i] = c;
		}
		if (!c)
			break;
	}
	free(s);
	return problems;
}

/* realpath() of the deepest existing ancestor of `abs` (or of abs). */
static char *deepest_real(const char *abs)
{
	char *s = strdup(abs), *real = NULL;

	while (s && !(real = realpath(s, NULL))) {
		char *slash = strrchr(s, '/');
		if (errno != ENOENT || !slash || slash == s)
			break;
		*slash = '\0';
	}
	free(s);
	return real;
}

int pyc_trust_path(const char *dir, uid_t uid, pyc_trust_fn *fn, void *arg)
{
	struct buf abs = { 0 };
	char cwd[PATH_MAX], *real;
	int n, m = 0;

	if (dir[0] != '/') {
		if (!getcwd(cwd, sizeof(cwd)))
			return -1;
		buf_adds(&abs, cwd);
		buf_addc(&abs, '/');
	}
	buf_adds(&abs, dir);
	if (abs.oom) {
		errno = ENOMEM;
		return -1;
	}
	n = check_chain(abs.s, uid, fn, arg);
	/* Through symlinks: the directories the path resolves to, too. */
	real = deepest_real(abs.s);
	size_t rn = real ? strlen(real) : 0;
	if (n >= 0 && real && (strncmp(real, abs.s, rn) != 0 ||
			       (abs.s[rn] && abs.s[rn] != '/')))
		m = check_chain(real, uid, fn, arg);
	free(real);
	buf_release(&abs);
	if (n < 0 || m < 0)
		return -1;
	return n + m;
}
