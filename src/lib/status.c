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
#include "compat.h"
#include "internal.h"
#include "memo.h"
#include "store.h"
#include "tidy.h"
#include "tree.h"

#include <errno.h>
#include <fcntl.h>
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
	[PYC_ST_BROKEN] = "broken",
};

const char *pyc_status_name(enum pyc_status_state st)
{
	return names[st];
}

/*
 * The pycs the forward pass judged (pyc__pyc_identity()), so that one
 * reached through several roots is reported once and the orphan pass
 * need not stat their sources again; and the orphans reported, once
 * each however many roots mirror them.  Open addressing, power-of-two
 * size, SipHash of the path (keyed with 0: only a spread is needed).
 */
struct seen {
	char **slot;
	size_t n, size;
};

static uint64_t path_hash(const char *s)
{
	unsigned char h[8];
	uint64_t v;

	pyc_source_hash(0, s, strlen(s), h);
	memcpy(&v, h, sizeof(v));
	return v;
}

static bool seen_has(const struct seen *t, const char *s)
{
	if (!t->size)
		return false;
	for (size_t i = path_hash(s) & (t->size - 1);; i = (i + 1) & (t->size - 1)) {
		if (!t->slot[i])
			return false;
		if (!strcmp(t->slot[i], s))
			return true;
	}
}

/* Takes s; 1 when it was there already. */
static int seen_put(struct seen *t, char *s)
{
	size_t i = path_hash(s) & (t->size - 1);

	while (t->slot[i]) {
		if (!strcmp(t->slot[i], s)) {
			free(s);
			return 1;
		}
		i = (i + 1) & (t->size - 1);
	}
	t->slot[i] = s;
	t->n++;
	return 0;
}

/* Add a key (taken, freed on failure): 0, 1 when it was there
 * already, -1 (ENOMEM). */
static int seen_take(struct seen *t, char *key)
{
	if (!key)
		return -1;
	if (2 * (t->n + 1) > t->size) {
		struct seen bigger = { calloc(t->size ? 2 * t->size : 1024,
					      sizeof(char *)), 0,
				       t->size ? 2 * t->size : 1024 };
		if (!bigger.slot) {
			free(key);
			return -1;
		}
		for (size_t i = 0; i < t->size; i++)
			if (t->slot[i])
				seen_put(&bigger, t->slot[i]);
		free(t->slot);
		*t = bigger;
	}
	return seen_put(t, key);
}

static void seen_release(struct seen *t)
{
	for (size_t i = 0; i < t->size; i++)
		free(t->slot[i]);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

/*
 * One (source, interpreter, level) judged by a pass thread, reported
 * later in walk order by the calling thread.
 */
struct slot {
	char *pyc;                    /* NULL when error or nomem */
	char *error;                  /* why it could not be judged */
	enum pyc_status_state state;
	const char *reason;           /* static text, or reason_buf */
	char *reason_buf;
	bool nomem;
	bool in_store;                /* stale or missing, the store has it */
};

struct src {
	char *path;
	struct stat st;
	int stat_errno;               /* lazy: pyc__walk_stat_source() */
	bool lazy;
};

struct st_run {
	struct seen seen;
	const struct pyc_status_opts *o;
	struct pyc_status_counts *c;
	const char *cwd;
	bool oom;
	struct src *srcs;             /* of the root being walked */
	size_t nsrcs, asrcs;
	struct slot *slots;           /* nsrcs * ninterps * nlevels */
	struct pyc_memo *memos;       /* one per interpreter, or NULL */
	struct pyc_helpers helpers;
	struct pyc__store store;      /* o->store_dir, when it opened */
	struct pyc__store_comp *comps; /* one per interpreter, or NULL */
};

static void report(struct st_run *r, enum pyc_status_state state,
		   const struct pyc_interp *in, const char *source,
		   const char *cache, const char *reason, bool in_store)
{
	struct pyc_status_entry e = { state, in, source, cache, reason,
				      in_store };

	if (in_store)
		r->c->from_store++;
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

/* The verdict from the walk's stat of the source and the pyc. */
static int judge(const struct pyc_interp *in, enum pyc_check_mode mode,
		 const char *source, const struct stat *st, const char *pyc,
		 struct pyc_verdict *v)
{
	struct pyc_source_stat ss = pyc__source_stat_of(st);

	return pyc_judge_files(in, mode, source, &ss, AT_FDCWD, pyc,
			       PYC_JUDGE_VERIFY_UNCHECKED, v);
}

/* A pyc that compile cannot write because a directory on its way in
 * the prefix is a symlink: say so, as compile does. */
static void explain_missing(const struct st_run *r, struct slot *out)
{
	const char *prefix = r->o->prefix, *rel;
	size_t n;
	ssize_t at;
	char *root;

	if (!prefix || !(rel = pyc__below_prefix(prefix, out->pyc, &n)) ||
	    !(root = strndup(prefix, n)))
		return;
	at = pyc__write_symlink(root, rel);
	free(root);
	if (at <= 0)
		return;
	struct buf b = { 0 };
	pyc__buf_addf(&b, "no pyc: the symlink '%.*s' in the prefix is refused",
		 (int)(rel - out->pyc + at), out->pyc);
	if ((out->reason_buf = pyc__buf_detach(&b)))
		out->reason = out->reason_buf;
}

/* A source with no fresh pyc that compile found not to compile, the
 * file unchanged since: broken, with the error compile gave. */
static void explain_broken(const struct pyc_memo *memo, const struct src *s,
			   int level, struct slot *out)
{
	const struct pyc_memo_entry *e;
	struct pyc_memo_id id;
	struct buf b = { 0 };
	const char *colon;

	if (!memo)
		return;
	pyc__memo_id_of(&id, &s->st);
	if (!(e = pyc__memo_find_file(memo, s->path, &id, 1u << level)))
		return;
	/* "SyntaxError: '(' was never closed": the kind is enough here,
	 * compile -v tells the rest */
	colon = strchr(e->message, ':');
	pyc__buf_addf(&b, "does not compile: %.*s",
		      colon ? (int)(colon - e->message) : (int)strlen(e->message),
		      e->message);
	if (e->line && e->col)
		pyc__buf_addf(&b, " at %u:%u", e->line, e->col);
	else if (e->line)
		pyc__buf_addf(&b, " at line %u", e->line);
	pyc__buf_adds(&b, ", as compile found");
	free(out->reason_buf);
	if ((out->reason_buf = pyc__buf_detach(&b))) {
		out->reason = out->reason_buf;
		out->state = PYC_ST_BROKEN;
	}
}

/* Judge one (source, interpreter, level) into its slot (any thread). */
static void judge_one(const struct st_run *r, const struct pyc_interp *in,
		      const struct pyc_memo *memo, const struct src *s,
		      int level, struct slot *out)
{
	struct pyc_error err = { { 0 } };
	struct pyc_verdict v;
	enum pyc_path_error e = pyc_cache_from_source(in, r->o->prefix, r->cwd,
						      s->path, level, &out->pyc,
						      &err);

	if (e == PYC_PATH_NOMEM) {
		out->nomem = true;
		return;
	}
	if (e) {
		out->pyc = NULL;
		out->nomem = !(out->error = strdup(err.msg));
		return;
	}
	if (judge(in, r->o->mode, s->path, &s->st, out->pyc, &v) < 0) {
		char eb[128]; /* a helper thread: strerror_r */
		out->nomem = !(out->error = strdup(pyc__strerror(errno, eb,
							       sizeof(eb))));
	} else if (v.unchecked_changed) {
		out->state = PYC_ST_UNCHECKED_CHANGED;
		out->reason = "unchecked-hash pyc, source changed: Python runs "
			      "old code";
	} else {
		out->state = v.state == PYC_FRESH ? PYC_ST_FRESH
			     : v.state == PYC_MISSING ? PYC_ST_MISSING
						      : PYC_ST_STALE;
		out->reason = out->state == PYC_ST_FRESH
				      ? "" : pyc_reason_text(v.why);
		if (out->state == PYC_ST_MISSING)
			explain_missing(r, out);
		if (out->state != PYC_ST_FRESH)
			explain_broken(memo, s, level, out);
	}
}

/* The SHA-256 of the file at path's bytes: 0, or -1 (errno). */
static int digest_file(const char *path, unsigned char out[32])
{
	struct stat st;
	size_t len;
	char *data = pyc__read_file_stat(path, &len, &st);

	if (!data)
		return -1;
	pyc__sha256(data, len, out);
	free(data);
	return 0;
}

static bool wants_store(enum pyc_status_state st)
{
	return st == PYC_ST_STALE || st == PYC_ST_MISSING;
}

/* For each stale or missing slot of source s: is its code in the store?
 * The source is read once, whatever the interpreters and levels. */
static void look_in_store(const struct st_run *r, const struct src *s,
			  struct slot *sl)
{
	size_t per = r->o->ninterps * (size_t)r->o->nlevels;
	unsigned char digest[32];
	bool any = false;

	if (!r->comps)
		return;
	for (size_t i = 0; i < per; i++)
		any |= !sl[i].error && sl[i].pyc && wants_store(sl[i].state);
	if (!any || digest_file(s->path, digest) < 0)
		return;
	for (size_t k = 0; k < r->o->ninterps; k++)
		for (int l = 0; l < r->o->nlevels; l++, sl++) {
			struct pyc__store_key key;
			char name[96];
			struct stat st;

			if (r->comps[k].fd < 0 || sl->error || !sl->pyc ||
			    !wants_store(sl->state))
				continue;
			/* The checked-hash object is always written: every
			 * form is made from it. */
			pyc__store_key(&key, digest, r->o->levels[l],
				       PYC_INV_CHECKED_HASH, 0, 0);
			pyc__store_key_name(&key, name, sizeof(name));
			sl->in_store = fstatat(r->comps[k].fd, name, &st,
					       AT_SYMLINK_NOFOLLOW) == 0 &&
				       S_ISREG(st.st_mode);
		}
}

struct judge_slice {
	const struct st_run *r;
	struct pyc_pass *pass;
};

/* Stat each listed source (the walk left that to us) and judge it for
 * every interpreter and level. */
static void *judge_slice(void *arg)
{
	const struct judge_slice *js = arg;
	const struct st_run *r = js->r;
	size_t per = r->o->ninterps * (size_t)r->o->nlevels, i, to;

	while (pyc__pass_next(js->pass, &i, &to))
		for (; i < to; i++) {
			struct src *s = &r->srcs[i];
			if (s->lazy &&
			    (s->stat_errno = pyc__walk_stat_source(s->path,
								  &s->st)))
				continue;
			struct slot *out = &r->slots[i * per];
			for (size_t k = 0; k < r->o->ninterps; k++)
				for (int l = 0; l < r->o->nlevels; l++)
					judge_one(r, &r->o->interps[k],
						  r->memos ? &r->memos[k] : NULL,
						  s, r->o->levels[l], out++);
			look_in_store(r, s, &r->slots[i * per]);
		}
	return NULL;
}

/* Report one judged slot, in walk order (this thread). */
static void report_slot(struct st_run *r, const struct pyc_interp *in,
			const char *source, struct slot *sl)
{
	int dup;

	if (sl->nomem) {
		r->oom = true;
	} else if (!sl->pyc) {
		fail(r, source, sl->error);
	} else if ((dup = seen_take(&r->seen, pyc__pyc_identity(
					  r->o->prefix, r->cwd, sl->pyc))) < 0) {
		r->oom = true;
	} else if (dup) {
		; /* this pyc was reported through another root */
	} else if (sl->error) {
		fail(r, source, sl->error);
	} else {
		report(r, sl->state, in, source, sl->pyc, sl->reason,
		       sl->in_store);
	}
	free(sl->pyc);
	free(sl->error);
	free(sl->reason_buf);
}

/* Judge the sources of one root on the helper threads, then report. */
static void judge_sources(struct st_run *r)
{
	struct judge_slice js[PYC_PASS_THREADS];
	struct pyc_pass pass = { .n = r->nsrcs };
	size_t per = r->o->ninterps * (size_t)r->o->nlevels;

	if (!r->nsrcs)
		return;
	if (!(r->slots = calloc(r->nsrcs * per, sizeof(*r->slots)))) {
		r->oom = true;
		return;
	}
	for (size_t k = 0; k < pyc__helpers_width(&r->helpers); k++)
		js[k] = (struct judge_slice){ r, &pass };
	pyc__helpers_run(&r->helpers, r->nsrcs, judge_slice, js,
			 sizeof(js[0]));
	pyc__helpers_rest(&r->helpers); /* the next pass is a root away */
	for (size_t i = 0; i < r->nsrcs; i++) {
		struct src *s = &r->srcs[i];
		struct slot *sl = &r->slots[i * per];
		if (s->lazy && s->stat_errno) {
			if (s->stat_errno > 0)
				fail(r, s->path, strerror(s->stat_errno));
			continue;
		}
		for (size_t k = 0; k < r->o->ninterps; k++)
			for (int l = 0; l < r->o->nlevels; l++)
				report_slot(r, &r->o->interps[k], s->path,
					    sl++);
	}
	free(r->slots);
	r->slots = NULL;
}

static void drop_sources(struct st_run *r)
{
	for (size_t i = 0; i < r->nsrcs; i++)
		free(r->srcs[i].path);
	r->nsrcs = 0;
}

static int on_source(const char *path, const struct stat *st, void *arg)
{
	struct st_run *r = arg;

	struct src *v = pyc__array_grow(r->srcs, &r->asrcs, r->nsrcs + 1,
				   sizeof(*v));
	if (!v)
		return -1;
	r->srcs = v;
	if (r->nsrcs + 1 == PYC_PASS_MIN_FILES)
		pyc__helpers_start(&r->helpers); /* placed while we walk on */
	struct src *s = &r->srcs[r->nsrcs];
	*s = (struct src){ .path = strdup(path), .lazy = !st };
	if (!s->path)
		return -1;
	if (st)
		s->st = *st;
	r->nsrcs++;
	return 0;
}

static void on_walk_error(const char *path, int errnum, void *arg)
{
	fail(arg, path, strerror(errnum));
}

/* ---- orphans ---- */

/* A pyc in the cache: orphan when it names a source that is gone. */
static void check_pyc(struct st_run *r, const char *pyc, bool in_tree)
{
	struct pyc_cache_name cn;
	char *source = NULL, *key = pyc__pyc_identity(r->o->prefix, r->cwd,
						      pyc);

	if (!key) {
		r->oom = true;
		return;
	}
	if (seen_has(&r->seen, key))
		goto out; /* judged above (its source exists), or told */
	if (!pyc__cache_artifact(in_tree ? NULL : r->o->prefix, pyc, &source,
				 &cn))
		goto out; /* not a name Python gives a pyc: not ours to judge */
	if (pyc_source_gone(source)) {
		report(r, PYC_ST_ORPHAN, NULL, source, pyc, "source is gone",
		       false);
		if (seen_take(&r->seen, key) < 0) /* takes key */
			r->oom = true;
		key = NULL;
	}
out:
	free(key);
	free(source);
}

/* The orphan pass's walk of a cache directory (tree.c's walker). */
struct orphan_walk {
	struct pyc__tree tree;
	struct st_run *r;
	bool in_tree;             /* only __pycache__ folders hold pycs */
	struct pyc__store_spot spot;
};

/* Is the directory being walked a __pycache__ folder below the root? */
static bool in_pycache(const struct pyc__tree *t)
{
	return t->in_pycache && t->nodes[t->cur].parent != PYC__NO_NODE;
}

static bool orphan_descend(struct pyc__tree *t, const char *name)
{
	struct orphan_walk *w = pyc__container_of(t, struct orphan_walk, tree);

	if (!w->in_tree && pyc__store_skip(t, &w->spot, name))
		return false; /* the prefix's store: no mirror */
	return !w->in_tree || !in_pycache(t);
}

static void orphan_file(struct pyc__tree *t, int dfd, const char *name,
			const char *path, const struct stat *st)
{
	struct orphan_walk *w = pyc__container_of(t, struct orphan_walk, tree);

	(void)dfd, (void)st;
	if (pyc__ends_with(name, ".pyc") && (!w->in_tree || in_pycache(t)))
		check_pyc(w->r, path, w->in_tree);
	if (w->r->oom)
		t->stop = true;
}

static void orphan_error(struct pyc__tree *t, const char *path, int errnum)
{
	struct orphan_walk *w = pyc__container_of(t, struct orphan_walk, tree);

	if (errnum != ENOENT)
		fail(w->r, path, strerror(errnum));
}

/* Walk a cache directory, never following a link: in the prefix, none
 * below the prefix either. */
static int walk_cache(struct st_run *r, const char *dir, bool in_tree)
{
	static const struct pyc__tree_ops ops = { .file = orphan_file,
						  .descend = orphan_descend,
						  .error = orphan_error };
	struct orphan_walk w = { .r = r, .in_tree = in_tree };
	int ret;

	pyc__tree_init(&w.tree, &ops, 0);
	if (!in_tree)
		pyc__store_spot_init(&w.spot, r->o->prefix);
	ret = in_tree ? pyc__tree_walk(&w.tree, dir)
		      : pyc__tree_walk_below(&w.tree, r->o->prefix, dir);
	pyc__tree_release(&w.tree);
	return ret;
}

static int find_orphans(struct st_run *r, const char *root)
{
	struct pyc_error err = { { 0 } };
	enum pyc_path_error e;
	struct stat st;
	char *mirror;
	int ret;

	if (stat(root, &st) < 0 || !S_ISDIR(st.st_mode) || !r->o->ninterps)
		return 0;
	if (!r->o->prefix)
		return walk_cache(r, root, true);
	e = pyc__mirror_dir(&r->o->interps[0], r->o->prefix, r->cwd, root,
			    &mirror, &err);
	if (e == PYC_PATH_NOMEM)
		return -1;
	if (e) {
		fail(r, root, err.msg);
		return 0;
	}
	ret = walk_cache(r, mirror, false);
	free(mirror);
	return ret;
}

/* The failure memo of each interpreter, when o->memo_dir is set; the
 * memos are only read.  0, or -1 (ENOMEM). */
static int open_memos(struct st_run *r)
{
	const struct pyc_status_opts *o = r->o;

	if (!o->memo_dir || !o->ninterps)
		return 0;
	if (!(r->memos = calloc(o->ninterps, sizeof(*r->memos))))
		return -1;
	for (size_t k = 0; k < o->ninterps; k++)
		if (pyc__memo_open(&r->memos[k], o->memo_dir,
				   &o->interps[k]) < 0)
			return -1;
	return 0;
}

static void close_memos(struct st_run *r)
{
	for (size_t k = 0; r->memos && k < r->o->ninterps; k++)
		pyc__memo_release(&r->memos[k]);
	free(r->memos);
}

/* The store, only read; one that cannot be opened (not there, not
 * owner-only) holds nothing.  0, or -1 (ENOMEM). */
static int open_store(struct st_run *r)
{
	const struct pyc_status_opts *o = r->o;
	struct pyc_error err = { { 0 } };

	r->store.fd = -1;
	if (!o->store_dir || !o->ninterps ||
	    pyc__store_open(&r->store, o->store_dir, 0, &err) < 0)
		return errno == ENOMEM ? -1 : 0;
	if (!(r->comps = calloc(o->ninterps, sizeof(*r->comps))))
		return -1;
	for (size_t k = 0; k < o->ninterps; k++)
		if (pyc__store_compiler(&r->store, &o->interps[k],
					&r->comps[k]) < 0)
			r->comps[k].fd = -1;
	return 0;
}

static void close_store(struct st_run *r)
{
	for (size_t k = 0; r->comps && k < r->o->ninterps; k++)
		pyc__store_compiler_close(&r->comps[k]);
	free(r->comps);
	pyc__store_close(&r->store);
}

int pyc_status(const struct pyc_status_opts *o, const char *const *roots,
	       size_t nroots, struct pyc_status_counts *counts)
{
	struct st_run r = { .o = o, .c = counts };
	const struct pyc_walk_ops ops = { on_source, on_walk_error, NULL, &r };
	unsigned wflags = PYC_WALK_LAZY_STAT |
		(o->flags & PYC_COMPILE_FOLLOW_SYMLINKS ? PYC_WALK_FOLLOW : 0);
	char cwdbuf[PATH_MAX];
	int ret = 0;

	memset(counts, 0, sizeof(*counts));
	r.cwd = getcwd(cwdbuf, sizeof(cwdbuf));
	if (open_memos(&r) < 0 || open_store(&r) < 0)
		r.oom = true;
	for (size_t i = 0; i < nroots && ret == 0 && !r.oom; i++) {
		ret = pyc__walk(roots[i], wflags, &ops);
		if (ret == 0)
			judge_sources(&r);
		drop_sources(&r);
		if (ret == 0 && !r.oom)
			ret = find_orphans(&r, roots[i]);
	}
	pyc__helpers_stop(&r.helpers);
	close_memos(&r);
	close_store(&r);
	free(r.srcs);
	seen_release(&r.seen);
	if (r.oom || ret) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}
