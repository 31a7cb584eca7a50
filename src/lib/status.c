/*
 * status.c - what Python would reuse or recompile, and what is dead.
 *
 * Sources are judged with importlib's own rules (pyc_judge_files).
 * Orphans are found by walking the cache side: the prefix's mirror of a
 * root directory, or the __pycache__ folders inside the root, and asking
 * source_from_cache() of every pyc there whether its source still exists.
 */
#include "pycprefix.h"
#include "buf.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const names[] = {
	[PYC_ST_FRESH] = "fresh",
	[PYC_ST_STALE] = "stale",
	[PYC_ST_MISSING] = "missing",
	[PYC_ST_ORPHAN] = "orphan",
	[PYC_ST_UNCHECKED_CHANGED] = "unchecked_changed",
};

const char *pyc_status_name(enum pyc_status_state st)
{
	return names[st];
}

struct st_run {
	const struct pyc_status_opts *o;
	struct pyc_status_counts *c;
	const char *cwd;
	bool oom;
};

static void report(struct st_run *r, enum pyc_status_state state,
		   const struct pyc_interp *in, const char *source,
		   const char *cache, const char *reason)
{
	struct pyc_status_entry e = { state, in, source, cache, reason };

	r->c->n[state]++;
	if (r->o->entry)
		r->o->entry(&e, r->o->arg);
}

static void fail(struct st_run *r, const char *path, const char *msg)
{
	r->c->errors++;
	if (r->o->error)
		r->o->error(path, msg, r->o->arg);
}

static void judge_one(struct st_run *r, const struct pyc_interp *in,
		      const char *source, int level)
{
	struct pyc_error err = { { 0 } };
	struct pyc_verdict v;
	char *pyc;
	enum pyc_path_error e = pyc_cache_from_source(in, r->o->prefix, r->cwd,
						      source, level, &pyc, &err);

	if (e == PYC_PATH_NOMEM) {
		r->oom = true;
		return;
	}
	if (e) {
		fail(r, source, err.msg);
		return;
	}
	if (pyc_judge_files(in, r->o->mode, source, pyc,
			    PYC_JUDGE_VERIFY_UNCHECKED, &v) < 0) {
		fail(r, source, strerror(errno));
	} else if (v.unchecked_changed) {
		report(r, PYC_ST_UNCHECKED_CHANGED, in, source, pyc,
		       "unchecked-hash pyc, source changed: Python runs old "
		       "code");
	} else {
		enum pyc_status_state st = v.state == PYC_FRESH ? PYC_ST_FRESH
				: v.state == PYC_MISSING ? PYC_ST_MISSING
							 : PYC_ST_STALE;
		report(r, st, in, source, pyc,
		       st == PYC_ST_FRESH ? "" : pyc_reason_text(v.why));
	}
	free(pyc);
}

static int on_source(const char *path, const struct stat *st, void *arg)
{
	struct st_run *r = arg;

	(void)st;
	for (size_t i = 0; i < r->o->ninterps; i++)
		for (int k = 0; k < r->o->nlevels; k++)
			judge_one(r, &r->o->interps[i], path, r->o->levels[k]);
	return r->oom ? -1 : 0;
}

static void on_walk_error(const char *path, int errnum, void *arg)
{
	fail(arg, path, strerror(errnum));
}

/* ---- orphans ---- */

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* A pyc in the cache: orphan when it names a source that is gone. */
static void check_pyc(struct st_run *r, const char *pyc, bool in_tree)
{
	struct pyc_interp any = { .tag = "x", .unidata = NULL };
	char *source = NULL;
	struct stat st;

	/* source_from_cache needs only a tag to exist and a Unicode table. */
	if (pyc_source_from_cache(&any, in_tree ? NULL : r->o->prefix, pyc,
				  &source, NULL, NULL) != PYC_PATH_OK)
		return; /* not a name CPython gives a pyc: not ours to judge */
	if (stat(source, &st) < 0 && errno == ENOENT)
		report(r, PYC_ST_ORPHAN, NULL, source, pyc, "source is gone");
	free(source);
}

/* Walk a cache directory; in_tree: only __pycache__ folders hold pycs. */
static int walk_cache(struct st_run *r, struct buf *path, bool in_tree,
		      bool in_pycache)
{
	size_t len = path->len;
	DIR *d = opendir(path->s);
	struct dirent *e;
	int ret = 0;

	if (!d) {
		if (errno != ENOENT)
			fail(r, path->s, strerror(errno));
		return 0;
	}
	while (ret == 0 && (e = readdir(d))) {
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		buf_addf(path, "/%s", e->d_name);
		if (path->oom) {
			ret = -1;
			break;
		}
		if (lstat(path->s, &st) == 0) {
			if (S_ISDIR(st.st_mode) && (!in_tree || !in_pycache))
				ret = walk_cache(r, path, in_tree,
						 !strcmp(e->d_name,
							 "__pycache__"));
			else if (S_ISREG(st.st_mode) &&
				 ends_with(e->d_name, ".pyc") &&
				 (!in_tree || in_pycache))
				check_pyc(r, path->s, in_tree);
		}
		path->len = len;
		path->s[len] = '\0';
	}
	closedir(d);
	return ret;
}

/* The cache directory mirroring a root directory. */
static char *mirror_of(const struct st_run *r, const char *root)
{
	const struct pyc_interp *in = &r->o->interps[0];
	struct buf b = { 0 };
	char *pyc = NULL, *slash;

	buf_adds(&b, root);
	buf_adds(&b, "/x.py");
	if (b.oom || pyc_cache_from_source(in, r->o->prefix, r->cwd, b.s, 0,
					   &pyc, NULL) != PYC_PATH_OK) {
		buf_release(&b);
		return NULL;
	}
	buf_release(&b);
	if ((slash = strrchr(pyc, '/')))
		*slash = '\0';
	return pyc;
}

static int find_orphans(struct st_run *r, const char *root)
{
	struct buf path = { 0 };
	struct stat st;
	char *mirror;
	int ret;

	if (stat(root, &st) < 0 || !S_ISDIR(st.st_mode) || !r->o->ninterps)
		return 0;
	if (!r->o->prefix) {
		buf_adds(&path, root);
		ret = path.oom ? -1 : walk_cache(r, &path, true, false);
		buf_release(&path);
		return ret;
	}
	if (!(mirror = mirror_of(r, root)))
		return 0;
	buf_adds(&path, mirror);
	free(mirror);
	ret = path.oom ? -1 : walk_cache(r, &path, false, false);
	buf_release(&path);
	return ret;
}

int pyc_status(const struct pyc_status_opts *o, const char *const *roots,
	       size_t nroots, struct pyc_status_counts *counts)
{
	struct st_run r = { .o = o, .c = counts };
	const struct pyc_walk_ops ops = { on_source, on_walk_error, NULL, &r };
	unsigned wflags = o->flags & PYC_COMPILE_FOLLOW_SYMLINKS
				  ? PYC_WALK_FOLLOW : 0;
	char cwdbuf[PATH_MAX];
	int ret = 0;

	memset(counts, 0, sizeof(*counts));
	r.cwd = getcwd(cwdbuf, sizeof(cwdbuf));
	for (size_t i = 0; i < nroots && ret == 0; i++) {
		ret = pyc_walk(roots[i], wflags, &ops);
		if (ret == 0)
			ret = find_orphans(&r, roots[i]);
	}
	if (r.oom || ret) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}
