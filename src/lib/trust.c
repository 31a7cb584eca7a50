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
 *
 * The path is resolved as the kernel resolves it, one component at a
 * time with lstat(): a symlink on the way must be owned by the user or
 * by root (its owner can point it anywhere: a link of another user's in
 * a sticky /tmp is refused even when what it points to is safe), and
 * then its target is walked in its place, each of its directories
 * checked in turn.
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

/* The walk below: `done` the directory reached so far (a physical path,
 * "" for '/'), `todo` what is left to resolve. */
struct chain {
	struct buf done, todo;
	uid_t uid;
	pyc_trust_fn *fn;
	void *arg;
	int problems, links;
};

/* Link chains the kernel follows before ELOOP (Linux: 40). */
#define MAX_LINKS 40

/* Report an unsafe directory or link. */
static void report(struct chain *c, const char *path, enum pyc_trust t,
		   const struct stat *st)
{
	if (c->fn)
		c->fn(path, t, st, c->arg);
	c->problems++;
}

/* Take the next component of c->todo into name: false at the end. */
static bool next_name(struct chain *c, struct buf *name)
{
	size_t i = 0, n;

	while (i < c->todo.len && c->todo.s[i] == '/')
		i++;
	for (n = i; n < c->todo.len && c->todo.s[n] != '/'; n++)
		;
	pyc__buf_reset(name);
	pyc__buf_add(name, c->todo.s + i, n - i);
	memmove(c->todo.s, c->todo.s + n, c->todo.len - n);
	c->todo.len -= n;
	c->todo.s[c->todo.len] = '\0';
	return n > i;
}

/* `path` is a symlink (st its lstat): check who may change it, then
 * put its target before what is left.  0, or -1 (errno) to end. */
static int follow(struct chain *c, const char *path, const struct stat *st)
{
	struct buf rest = { 0 };
	char target[PATH_MAX];
	ssize_t n;

	/* Anyone who owns it can point it elsewhere; who may replace it
	 * is the directory's business, checked already. */
	if (st->st_uid != c->uid && st->st_uid != 0)
		report(c, path, PYC_TRUST_OWNER, st);
	if (++c->links > MAX_LINKS ||
	    (n = readlink(path, target, sizeof(target) - 1)) < 0)
		return -1;
	target[n] = '\0';
	pyc__buf_add(&rest, c->todo.s ? c->todo.s : "", c->todo.len);
	pyc__buf_reset(&c->todo);
	pyc__buf_adds(&c->todo, target);
	pyc__buf_addc(&c->todo, '/');
	pyc__buf_add(&c->todo, rest.s ? rest.s : "", rest.len);
	pyc__buf_release(&rest);
	if (target[0] == '/')
		pyc__buf_reset(&c->done);
	if (c->todo.oom) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/* The parent of c->done (".." from it; '/' stays '/'). */
static void go_up(struct chain *c)
{
	char *slash = c->done.s ? strrchr(c->done.s, '/') : NULL;

	if (slash) {
		c->done.len = (size_t)(slash - c->done.s);
		*slash = '\0';
	}
}

/*
 * Check '/' and each directory of absolute path `abs` while they exist
 * (what is missing would be created by the user), resolving each
 * component as the kernel does but without following a link before its
 * owner is checked: lstat() each, a directory by pyc_trust_stat(), a
 * symlink by its owner, then on with its target.  Returns the number of
 * problems reported, or -1 (ENOMEM).
 */
static int check_chain(const char *abs, uid_t uid, pyc_trust_fn *fn,
		       void *arg)
{
	struct chain c = { .uid = uid, .fn = fn, .arg = arg };
	struct buf name = { 0 }, path = { 0 };
	struct stat st;
	enum pyc_trust t;
	int ret = -1;

	if (lstat("/", &st) == 0 && (t = pyc_trust_stat(&st, uid)))
		report(&c, "/", t, &st);
	pyc__buf_adds(&c.todo, abs);
	pyc__buf_grow(&c.done, 0);
	while (!c.todo.oom && !c.done.oom && next_name(&c, &name)) {
		if (strcmp(name.s, ".") == 0)
			continue;
		if (strcmp(name.s, "..") == 0) {
			go_up(&c);
			continue;
		}
		pyc__buf_reset(&path);
		pyc__buf_add(&path, c.done.s, c.done.len);
		pyc__buf_addc(&path, '/');
		pyc__buf_adds(&path, name.s);
		if (path.oom || lstat(path.s, &st) < 0)
			break; /* missing, or not to be reached: the caller
				  says when it matters */
		if (S_ISLNK(st.st_mode)) {
			if (follow(&c, path.s, &st) < 0)
				break;
			continue;
		}
		if (!S_ISDIR(st.st_mode))
			break; /* not a place to write: the caller says */
		if ((t = pyc_trust_stat(&st, uid)) != PYC_TRUST_OK)
			report(&c, path.s, t, &st);
		pyc__buf_reset(&c.done);
		pyc__buf_add(&c.done, path.s, path.len);
	}
	if (!c.todo.oom && !c.done.oom && !name.oom && !path.oom)
		ret = c.problems;
	else
		errno = ENOMEM;
	pyc__buf_release(&c.todo);
	pyc__buf_release(&c.done);
	pyc__buf_release(&name);
	pyc__buf_release(&path);
	return ret;
}

int pyc_trust_path(const char *dir, uid_t uid, pyc_trust_fn *fn, void *arg)
{
	struct buf abs = { 0 };
	char cwd[PATH_MAX];
	int n;

	if (dir[0] != '/') {
		if (!getcwd(cwd, sizeof(cwd)))
			return -1;
		pyc__buf_adds(&abs, cwd);
		pyc__buf_addc(&abs, '/');
	}
	pyc__buf_adds(&abs, dir);
	if (abs.oom) {
		errno = ENOMEM;
		return -1;
	}
	n = check_chain(abs.s, uid, fn, arg);
	pyc__buf_release(&abs);
	return n;
}
