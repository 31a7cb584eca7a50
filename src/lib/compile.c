/*
 * compile.c - the compile job: walk, judge, schedule, write.
 *
 * Per interpreter: every (source, level) whose pyc is not fresh in the
 * requested invalidation mode becomes part of a task (one task per source
 * carries all its stale levels, so the source is read and sent once).
 * Tasks run largest first so the long compiles start early and the pool
 * drains evenly.  The header is built here from the fstat() taken before
 * the source bytes were read (importlib's order: stat, then read), so a
 * source that changes while we compile yields a pyc that is stale, never
 * one that claims code it does not hold.
 */
#include "pycprefix.h"
#include "buf.h"
#include "compat.h"
#include "internal.h"
#include "memo.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct source {
	char *path;
	const char *root;           /* the root the walk found it under */
	off_t size;
	struct pyc_source_stat st;  /* from the walk, for freshness */
	struct pyc_memo_id id;      /* from the walk, for the memo */
	bool lazy;                  /* listed, not yet stat()ed */
	int stat_errno;             /* lazy: pyc__walk_stat_source() */
};

enum task_state {
	TASK_FRESH, TASK_STALE, TASK_SERVED, TASK_ERROR, TASK_NOMEM
};

struct task {
	const struct source *src;
	enum task_state state;     /* set by the planning threads */
	char *error;               /* TASK_ERROR: why */
	char *pyc[PYC_MAX_LEVELS];
	int levels[PYC_MAX_LEVELS];
	int nlevels;               /* stale: to compile */
	int nfresh;                /* levels found fresh */
	unsigned char *bytes;     /* while in flight */
	char *name;               /* o->name_of's, while in flight */
	struct stat st;
	/* the store's part, found by the planning threads */
	int served;               /* levels written from the store */
	unsigned served_mask;     /* dry run: which (of pyc[], levels[]) */
	unsigned linked;          /* of those, hardlinks */
	char *store_bad;          /* unsound objects met: (PATH NUL why NUL)* */
	size_t store_bad_len;
	bool digested;            /* digest: SHA-256 of the bytes served */
	unsigned char digest[32];
	bool twin;                /* another task compiles the same */
};

struct run {
	const struct pyc_compile_opts *o;
	const char *root;          /* the root being walked, for exclude_in */
	struct pyc_compile_stats *stats;
	struct source *srcs;
	size_t nsrcs, asrcs;
	const struct pyc_interp *in;
	struct task *tasks;
	size_t ntasks, next, done, total_done, total;
	uint64_t bytes_done, bytes_total; /* of the sources, for progress */
	const char *cwd;
	bool memo;                 /* o->memo_dir (a dry run reads it only) */
	struct pyc_memo last, now; /* compile errors: last run's, this run's */
	struct pyc_helpers helpers;   /* threads for the stat and plan passes */
	char **links;              /* symlinks in the prefix refused so far */
	size_t nlinks;
	/* A write failure that every other write would meet too (the
	 * prefix cannot be written): the run stops with this message. */
	char fatal[512];
	/* The store: opened when o->store_dir is (fd -1: none), and the
	 * directory of r->in's compiler in it, when pycs come from it. */
	struct pyc__store store;
	struct pyc__store_comp comp;
	struct pyc__serve sv;
	bool serving;
	struct pyc__wdir wdir;     /* where job_done() wrote last */
};

/*
 * One planning thread's view.  It keeps the directory of the last pyc it
 * looked at open (or -1 when that does not exist): sources come directory
 * by directory, so most lookups are an openat() of a bare name instead of
 * a walk down a long path, and a missing directory costs nothing per file.
 */
struct planner {
	const struct run *r;
	struct pyc_pass *pass;     /* the sources, shared by the planners */
	struct buf pycdir;
	int pycdirfd;
	struct pyc__wdir wdir;     /* where it wrote from the store last */
};

/* Report an event; a failure leaves `npycs` pycs unwritten. */
static void emit(struct run *r, enum pyc_event_kind kind, const char *source,
		 const char *pyc, const char *message, size_t npycs)
{
	struct pyc_event ev = { .kind = kind, .in = r->in, .source = source,
				.pyc = pyc, .message = message };

	if (kind == PYC_EV_FAILED)
		r->stats->failed += npycs;
	if (r->o->event)
		r->o->event(&ev, r->o->arg);
}

/* ---- the walk ---- */

static void source_set_stat(struct source *s, const struct stat *st)
{
	s->size = st->st_size;
	pyc__memo_id_of(&s->id, st);
	s->st = pyc__source_stat_of(st);
}

static int on_source(const char *path, const struct stat *st, void *arg)
{
	struct run *r = arg;

	struct source *v = pyc__array_grow(r->srcs, &r->asrcs, r->nsrcs + 1,
				      sizeof(*v));
	if (!v)
		return -1;
	r->srcs = v;
	if (r->nsrcs + 1 == PYC_PASS_MIN_FILES)
		pyc__helpers_start(&r->helpers); /* placed while we walk on */
	struct source *s = &r->srcs[r->nsrcs];
	*s = (struct source){ .path = strdup(path), .root = r->root,
			      .lazy = !st };
	if (!s->path)
		return -1;
	if (st)
		source_set_stat(s, st);
	r->nsrcs++;
	return 0;
}

static void on_walk_error(const char *path, int errnum, void *arg)
{
	struct run *r = arg;
	struct pyc_event ev = { .kind = PYC_EV_WALK_ERROR, .source = path,
				.message = strerror(errnum) };

	r->stats->walk_errors++;
	if (r->o->event)
		r->o->event(&ev, r->o->arg);
}

struct stat_slice {
	struct source *v;
	struct pyc_pass *pass;
};

static void *stat_slice(void *arg)
{
	struct stat_slice *sl = arg;
	struct stat st;
	size_t i, to;

	while (pyc__pass_next(sl->pass, &i, &to))
		for (; i < to; i++) {
			struct source *s = &sl->v[i];
			if (s->lazy && !(s->stat_errno = pyc__walk_stat_source(
						 s->path, &st)))
				source_set_stat(s, &st);
		}
	return NULL;
}

/*
 * The walk leaves listed regular files unexamined (PYC_WALK_LAZY_STAT);
 * stat them here in parallel slices, then drop, in walk order, those
 * that turned out not to be sources, reporting them as the walk would.
 */
static void stat_sources(struct run *r)
{
	struct stat_slice sl[PYC_PASS_THREADS];
	struct pyc_pass pass = { .n = r->nsrcs };
	size_t kept = 0;

	for (size_t k = 0; k < pyc__helpers_width(&r->helpers); k++)
		sl[k] = (struct stat_slice){ r->srcs, &pass };
	pyc__helpers_run(&r->helpers, r->nsrcs, stat_slice, sl, sizeof(sl[0]));
	for (size_t i = 0; i < r->nsrcs; i++) {
		struct source *s = &r->srcs[i];
		if (s->lazy && s->stat_errno) {
			if (s->stat_errno > 0)
				on_walk_error(s->path, s->stat_errno, r);
			free(s->path);
			continue;
		}
		s->lazy = false;
		r->srcs[kept++] = *s;
	}
	r->nsrcs = kept;
}

struct source_key {
	char *key;
	size_t index;
};

static int key_cmp(const void *a, const void *b)
{
	const struct source_key *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* The file a source's pycs are written to, without the tag and level
 * (the same for every interpreter and level), or NULL (ENOMEM). */
static char *source_key(const struct run *r, const char *path)
{
	struct pyc_error err = { { 0 } };
	char *pyc = NULL, *key;
	enum pyc_path_error e = pyc_cache_from_source(
		&r->o->interps[0], r->o->prefix, r->cwd, path,
		r->o->levels[0], &pyc, &err);

	if (e == PYC_PATH_NOMEM)
		return NULL;
	if (e) /* it fails later, once per spelling; keyed apart */
		return pyc__pyc_identity(NULL, NULL, path);
	key = pyc__pyc_identity(r->o->prefix, r->cwd, pyc);
	free(pyc);
	return key;
}

/*
 * Several roots may reach one source (a root inside another, the same
 * root twice, "./a" and "a"): keep, in walk order, the first source that
 * leads to each pyc, so that it is compiled and counted once.  The
 * key is the pyc path as the file system resolves it, not the source's
 * real path: under a prefix a tree reached through a symlink has pycs
 * of its own, as CPython would write them.
 */
static int dedupe_sources(struct run *r)
{
	const size_t n = r->nsrcs;
	struct source_key *k = calloc(n, sizeof(*k));
	size_t kept = 0;
	int ret = -1;

	if (!k)
		return -1;
	for (size_t i = 0; i < n; i++) {
		k[i].index = i;
		if (!(k[i].key = source_key(r, r->srcs[i].path)))
			goto out;
	}
	qsort(k, n, sizeof(*k), key_cmp);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(k[i].key, k[i - 1].key)) {
			free(r->srcs[k[i].index].path);
			r->srcs[k[i].index].path = NULL;
		}
	for (size_t i = 0; i < n; i++)
		if (r->srcs[i].path)
			r->srcs[kept++] = r->srcs[i];
	r->nsrcs = kept;
	ret = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(k[i].key);
	free(k);
	return ret;
}

static bool on_exclude(const char *path, void *arg)
{
	struct run *r = arg;

	return (r->o->exclude && r->o->exclude(path, r->o->arg)) ||
	       (r->o->exclude_in &&
		r->o->exclude_in(r->root, path, r->o->arg));
}

/* ---- judging ---- */

/* A descriptor of the pyc's directory, kept while the next pyc is in the
 * same one (sources go in walk order), and the name to open in it. */
static int pyc_dir(struct planner *r, const char *pyc, const char **name)
{
	const char *slash = strrchr(pyc, '/');
	size_t dlen = slash ? (size_t)(slash - pyc) : 0;

	*name = slash ? slash + 1 : pyc;
	if (!slash)
		return AT_FDCWD;
	if (r->pycdir.len != dlen || !r->pycdir.s ||
	    memcmp(r->pycdir.s, pyc, dlen) != 0) {
		if (r->pycdirfd >= 0)
			close(r->pycdirfd);
		pyc__buf_reset(&r->pycdir);
		pyc__buf_add(&r->pycdir, pyc, dlen);
		r->pycdirfd = r->pycdir.oom ? -1
			: open(dlen ? r->pycdir.s : "/",
			       O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	return r->pycdirfd;
}

/* Is this pyc fresh for `in`, and of the kind asked for?  An
 * unchecked-hash pyc whose source changed is not.  The source's stat is
 * the walk's: a source changed since is caught when it is read. */
static bool is_fresh(struct planner *pl, const struct source *s,
		     const char *pyc)
{
	const struct run *r = pl->r;
	struct pyc_verdict v;
	const char *name;
	int dfd = pyc_dir(pl, pyc, &name);

	if (dfd == -1 ||
	    pyc_judge_files(r->in, PYC_CHECK_DEFAULT, s->path, &s->st, dfd,
			    name, PYC_JUDGE_VERIFY_UNCHECKED, &v) < 0)
		return false;
	return v.state == PYC_FRESH && !v.unchecked_changed &&
	       v.kind == r->o->mode;
}

static void task_release(struct task *t)
{
	for (int i = 0; i < t->nlevels; i++)
		free(t->pyc[i]);
	free(t->bytes);
	free(t->name);
	free(t->store_bad);
	memset(t, 0, sizeof(*t));
}

static void split_target(const struct run *r, const char *pyc,
			 struct buf *root, const char **rel);
static unsigned write_flags(const struct run *r);

/* Keep what serving the task found unsound, for the caller's thread. */
static void keep_bad(struct task *t, struct pyc__served *out)
{
	char *v;

	if (!out->bad)
		return;
	v = realloc(t->store_bad, t->store_bad_len + out->bad_len);
	if (v) {
		memcpy(v + t->store_bad_len, out->bad, out->bad_len);
		t->store_bad = v;
		t->store_bad_len += out->bad_len;
	}
	free(out->bad);
}

/* Are the files at paths a and b two files with the same bytes? */
static bool equal_files(const char *a, const char *b)
{
	struct stat sa, sb;
	size_t la, lb;
	char *da, *db;
	bool eq = false;

	if (!(da = pyc__read_file_stat(a, &la, &sa)))
		return false;
	if ((db = pyc__read_file_stat(b, &lb, &sb)))
		eq = !(sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino) &&
		     la == lb && memcmp(da, db, la) == 0;
	free(da);
	free(db);
	return eq;
}

/* --hardlink-dupes: a served level whose pyc has the bytes of the
 * level's before it (served too) becomes a link to that one, as a
 * compiled one would. */
static void link_dupes(const struct run *r, struct task *t)
{
	struct buf root = { 0 }, proot = { 0 };
	const char *rel, *prel;

	for (int i = 1; i < t->nlevels; i++) {
		unsigned both = 3u << (i - 1);
		if ((t->served_mask & both) != both ||
		    !equal_files(t->pyc[i - 1], t->pyc[i]))
			continue;
		split_target(r, t->pyc[i], &root, &rel);
		split_target(r, t->pyc[i - 1], &proot, &prel);
		if (!root.oom && !proot.oom && strcmp(root.s, proot.s) == 0)
			pyc__link_atomic(root.s, prel, rel, write_flags(r));
	}
	pyc__buf_release(&root);
	pyc__buf_release(&proot);
}

/*
 * Write what the store has of a stale source's levels (any thread); the
 * levels it has not stay in the task, to compile.  A dry run only looks
 * and marks them.  The source is read here for its digest; a read error
 * is the compile's to report.
 */
static void serve_task(struct planner *pl, struct task *t)
{
	const struct run *r = pl->r;
	unsigned char d[32], hash[8], *src;
	struct buf root = { 0 };
	const char *rel;
	struct stat st;
	size_t len;
	int keep = 0;

	if (!(src = (unsigned char *)pyc__read_file_stat(t->src->path, &len,
							&st)))
		return;
	pyc__sha256(src, len, d);
	pyc_source_hash(r->in->magic, src, len, hash);
	free(src);
	memcpy(t->digest, d, sizeof(d));
	t->digested = true;
	for (int i = 0; i < t->nlevels; i++) {
		struct pyc__served out = { 0 };
		int got = 1;

		split_target(r, t->pyc[i], &root, &rel);
		if (!root.oom)
			got = pyc__serve_level(&r->sv, &pl->wdir, d, hash,
					       &st, t->levels[i], root.s, rel,
					       &out);
		keep_bad(t, &out);
		if (got == 0) {
			t->served++;
			t->served_mask |= 1u << i;
			t->linked += out.linked;
		}
	}
	pyc__buf_release(&root);
	if (r->sv.dry)
		return;
	if (r->o->flags & PYC_COMPILE_HARDLINK_DUPES)
		link_dupes(r, t);
	/* The levels not served (not there, or their write failed) stay,
	 * for the compile to write (and say why it cannot). */
	for (int i = 0; i < t->nlevels; i++) {
		if (t->served_mask & (1u << i)) {
			free(t->pyc[i]);
			continue;
		}
		t->pyc[keep] = t->pyc[i];
		t->levels[keep++] = t->levels[i];
	}
	t->nlevels = keep;
}

/* May the store write this task's pycs?  Not in a forced rebuild. */
static bool may_serve(const struct run *r)
{
	return r->serving && !(r->o->flags & PYC_COMPILE_FORCE);
}

/* Judge one source's pycs into its task slot (any thread). */
static void plan_source(struct planner *pl, struct task *t,
			const struct source *s)
{
	const struct run *r = pl->r;
	struct pyc_error err = { { 0 } };

	*t = (struct task){ .src = s, .state = TASK_FRESH };
	for (int i = 0; i < r->o->nlevels; i++) {
		char *pyc;
		enum pyc_path_error e = pyc_cache_from_source(
			r->in, r->o->prefix, r->cwd, s->path, r->o->levels[i],
			&pyc, &err);
		if (e == PYC_PATH_OK && strlen(pyc) >= PATH_MAX) {
			/* We could write it through directory descriptors,
			 * but Python opens it by name and never could. */
			free(pyc);
			e = PYC_PATH_VALUE;
			pyc__set_error(&err, "its pyc path is longer than "
				       "PATH_MAX (%d bytes): Python could not "
				       "open it", PATH_MAX);
		}
		if (e) {
			task_release(t);
			t->src = s;
			t->state = e == PYC_PATH_NOMEM ? TASK_NOMEM : TASK_ERROR;
			if (e != PYC_PATH_NOMEM && !(t->error = strdup(err.msg)))
				t->state = TASK_NOMEM;
			return;
		}
		if (!(r->o->flags & PYC_COMPILE_FORCE) && is_fresh(pl, s, pyc)) {
			free(pyc);
			t->nfresh++;
			continue;
		}
		t->pyc[t->nlevels] = pyc;
		t->levels[t->nlevels++] = r->o->levels[i];
		t->state = TASK_STALE;
	}
	if (t->state == TASK_STALE && may_serve(r)) {
		serve_task(pl, t);
		if (!t->nlevels)
			t->state = TASK_SERVED;
	}
}

static void *plan_slice(void *arg)
{
	struct planner *pl = arg;
	atomic_int *stop = pl->r->o->stop;
	size_t i, to;

	while (!(stop && atomic_load(stop)) &&
	       pyc__pass_next(pl->pass, &i, &to))
		for (; i < to; i++)
			plan_source(pl, &pl->r->tasks[i], &pl->r->srcs[i]);
	if (pl->pycdirfd >= 0)
		close(pl->pycdirfd);
	pyc__buf_release(&pl->pycdir);
	pyc__wdir_release(&pl->wdir);
	return NULL;
}

static unsigned level_mask(const struct task *t)
{
	unsigned mask = 0;

	for (int i = 0; i < t->nlevels; i++)
		mask |= 1u << t->levels[i];
	return mask;
}

/* A stale source that failed to compile last time and has not changed
 * since: report the same error without a worker, and remember it again. */
static bool known_failure(struct run *r, const struct task *t)
{
	const struct pyc_memo_entry *e;
	unsigned mask = level_mask(t);

	if (!r->memo || (r->o->flags & PYC_COMPILE_FORCE) ||
	    !(e = pyc__memo_find(&r->last, t->src->path, &t->src->id, mask)))
		return false;
	struct pyc_event ev = { .kind = PYC_EV_FAILED, .in = r->in,
				.source = t->src->path, .line = e->line,
				.col = e->col, .message = e->message,
				.source_error = true };
	r->stats->failed += (size_t)t->nlevels;
	r->stats->source_errors += (size_t)t->nlevels;
	if (r->o->event)
		r->o->event(&ev, r->o->arg);
	pyc__memo_add(&r->now, e->source, &e->id, e->levels, e->line, e->col,
		     e->message); /* a cache: no room is no harm */
	return true;
}

/* Unsound store objects were met and discarded: bad holds, for each,
 * its path NUL why NUL. */
static void store_bad(struct run *r, const char *source, const char *bad,
		      size_t len)
{
	for (const char *p = bad, *end = bad + len; p < end;) {
		struct pyc_event ev = { .kind = PYC_EV_STORE_BAD,
					.in = r->in, .source = source,
					.pyc = p };
		ev.message = p + strlen(p) + 1;
		p = ev.message + strlen(ev.message) + 1;
		r->stats->store_bad++;
		if (r->o->event)
			r->o->event(&ev, r->o->arg);
	}
}

static void count_served(struct run *r, int served, unsigned linked)
{
	r->stats->compiled += (size_t)served;
	r->stats->from_store += (size_t)served;
	r->stats->linked += linked;
}

/* Every stale level of the source was written from the store. */
static void emit_served(struct run *r, const char *source, unsigned linked)
{
	struct pyc_event ev = { .kind = PYC_EV_COMPILED, .in = r->in,
				.source = source, .from_store = true,
				.linked = linked };

	if (r->o->event)
		r->o->event(&ev, r->o->arg);
}

/*
 * Judge every source, in parallel slices (the check is a few system
 * calls per file, and they spread over cores), then, in this thread,
 * count the fresh, report the errors and keep the stale as tasks.
 */
static int plan_all(struct run *r)
{
	struct planner pl[PYC_PASS_THREADS];
	struct pyc_pass pass = { .n = r->nsrcs };
	int ret = 0;

	memset(r->tasks, 0, r->nsrcs * sizeof(*r->tasks));
	for (size_t k = 0; k < pyc__helpers_width(&r->helpers); k++)
		pl[k] = (struct planner){ .r = r, .pass = &pass,
					  .pycdirfd = -1,
					  .wdir = { .fd = -1 } };
	pyc__helpers_run(&r->helpers, r->nsrcs, plan_slice, pl, sizeof(pl[0]));
	r->ntasks = 0;
	for (size_t i = 0; i < r->nsrcs; i++) {
		struct task t = r->tasks[i];
		struct pyc_memo_entry *e;
		if (!t.src)
			continue; /* stopped before it was judged */
		if (r->memo && (e = pyc__memo_lookup(&r->last, t.src->path)))
			e->seen = true; /* covered by this run */
		r->stats->fresh += (size_t)t.nfresh;
		if (t.store_bad)
			store_bad(r, t.src->path, t.store_bad,
				  t.store_bad_len);
		if (!(r->o->flags & PYC_COMPILE_DRY_RUN))
			count_served(r, t.served, t.linked);
		switch (t.state) {
		case TASK_FRESH:
			emit(r, PYC_EV_FRESH, t.src->path, NULL, NULL, 0);
			break;
		case TASK_SERVED:
			emit_served(r, t.src->path, t.linked);
			break;
		case TASK_ERROR:
			emit(r, PYC_EV_FAILED, t.src->path, NULL, t.error,
			     (size_t)r->o->nlevels);
			free(t.error);
			break;
		case TASK_NOMEM:
			ret = -1;
			break;
		case TASK_STALE:
			if (!known_failure(r, &t)) {
				r->tasks[r->ntasks++] = t;
				continue;
			}
			break;
		}
		task_release(&r->tasks[i]); /* all but the stale kept above */
	}
	return ret;
}

static int task_cmp(const void *a, const void *b)
{
	const struct task *x = a, *y = b;

	if (x->src->size != y->src->size)
		return x->src->size < y->src->size ? 1 : -1;
	return strcmp(x->src->path, y->src->path);
}

/* ---- writing ---- */

/* Split a pyc path into the directory that must exist and the rest. */
static void split_target(const struct run *r, const char *pyc,
			 struct buf *root, const char **rel)
{
	size_t n;

	pyc__buf_reset(root);
	if (r->o->prefix && (*rel = pyc__below_prefix(r->o->prefix, pyc, &n))) {
		pyc__buf_add(root, r->o->prefix, n);
		return;
	}
	const char *cache = strstr(pyc, "__pycache__/");
	const char *last = cache;
	while (last && (last = strstr(last + 1, "/__pycache__/")))
		cache = last + 1;
	if (cache == pyc) {
		pyc__buf_addc(root, '.');
	} else {
		pyc__buf_add(root, pyc, (size_t)(cache - pyc - 1));
		if (!root->len)
			pyc__buf_addc(root, '/');
	}
	*rel = cache;
}

/* Inside a prefix, refuse directories another user controls. */
static unsigned write_flags(const struct run *r)
{
	return r->o->prefix && !(r->o->flags & PYC_COMPILE_INSECURE)
		       ? PYC_WRITE_STRICT : 0;
}

static int write_level(struct run *r, struct task *t, int i,
		       const struct pyc_result *res, const unsigned char *hash,
		       const unsigned char *digest)
{
	unsigned char head[PYC_HEADER_SIZE];
	struct buf data = { 0 }, root = { 0 }, proot = { 0 };
	const char *rel, *prel;
	unsigned mode = (unsigned)((t->st.st_mode | 0200) & 0666);
	int ret = -1;

	pyc_header_build(head, r->in->magic, r->o->mode,
			 pyc_py_mtime((int64_t)PYC_ST_MTIM(&t->st).tv_sec,
				      PYC_ST_MTIM(&t->st).tv_nsec),
			 (uint64_t)t->st.st_size, hash);
	split_target(r, t->pyc[i], &root, &rel);
	if (i > 0 && (r->o->flags & PYC_COMPILE_HARDLINK_DUPES) &&
	    res->code_len[i] == res->code_len[i - 1] &&
	    memcmp(res->code[i], res->code[i - 1], res->code_len[i]) == 0) {
		split_target(r, t->pyc[i - 1], &proot, &prel);
		if (!root.oom && !proot.oom &&
		    strcmp(root.s, proot.s) == 0 &&
		    pyc__link_atomic(root.s, prel, rel, write_flags(r)) == 0) {
			if (r->serving)
				pyc__serve_keep(&r->sv, digest, hash, &t->st,
						t->levels[i], res->code[i],
						res->code_len[i]);
			ret = 0;
			goto out;
		}
	}
	if (r->serving && !root.oom) {
		struct pyc__served out = { 0 };
		ret = pyc__serve_add(&r->sv, &r->wdir, digest, hash, &t->st,
				     t->levels[i],
				     res->code[i], res->code_len[i], root.s,
				     rel, &out);
		if (out.bad)
			store_bad(r, t->src->path, out.bad, out.bad_len);
		free(out.bad);
		t->linked += out.linked; /* the event's; stats count served */
		goto out;
	}
	pyc__buf_add(&data, head, sizeof(head));
	pyc__buf_add(&data, res->code[i], res->code_len[i]);
	if (data.oom || root.oom) {
		errno = ENOMEM;
		goto out;
	}
	ret = pyc__write_atomic_w(&r->wdir, root.s, rel, data.s, data.len,
				  mode, write_flags(r));
out:
	pyc__buf_release(&data);
	pyc__buf_release(&root);
	pyc__buf_release(&proot);
	return ret;
}

/* ---- the pool's callbacks ---- */

static void progress(struct run *r, const struct task *t)
{
	struct pyc_progress p;

	r->total_done++;
	r->bytes_done += (uint64_t)t->src->size;
	if (!r->o->progress)
		return;
	p = (struct pyc_progress){ r->total_done, r->total, r->bytes_done,
				   r->bytes_total };
	r->o->progress(&p, r->o->arg);
}

static int next_job(void *arg, struct pyc_job *job)
{
	struct run *r = arg;

	while (r->next < r->ntasks && !r->fatal[0]) {
		struct task *t = &r->tasks[r->next++];
		size_t len;
		char msg[300];

		t->bytes = (unsigned char *)pyc__read_file_stat(t->src->path,
							       &len, &t->st);
		if (!t->bytes) {
			snprintf(msg, sizeof(msg), "cannot read: %s",
				 strerror(errno));
			emit(r, PYC_EV_FAILED, t->src->path, NULL, msg,
			     (size_t)t->nlevels);
			progress(r, t);
			continue;
		}
		job->path = t->src->path;
		job->name = t->name = r->o->name_of
			? r->o->name_of(t->src->root, t->src->path, r->o->arg)
			: NULL;
		job->src = t->bytes;
		job->len = len;
		job->nlevels = t->nlevels;
		memcpy(job->levels, t->levels, sizeof(job->levels));
		job->user = t;
		return 1;
	}
	return 0;
}

/* Is the directory `path` one we cannot write into?  Sets errno. */
static bool unwritable(const char *path)
{
	return faccessat(AT_FDCWD, path, W_OK | X_OK, AT_EACCESS) < 0 &&
	       errno != ENOENT;
}

/*
 * A write into the prefix failed for lack of permission: when the prefix
 * itself, or the first directory that mirrors the sources (every write
 * goes through both), is what cannot be written, every other write would
 * fail the same way.  Then record the one message for the whole run and
 * return true; a directory further down only fails its own files.
 */
static bool prefix_blocked(struct run *r, const char *pyc, int errnum)
{
	struct buf root = { 0 };
	const char *rel, *slash;
	bool blocked = false;

	if (!r->o->prefix || (errnum != EACCES && errnum != EROFS &&
			      (errnum != EPERM || write_flags(r))))
		return false;
	split_target(r, pyc, &root, &rel);
	if (root.oom)
		goto out;
	if (errnum == EROFS || unwritable(root.s)) {
		snprintf(r->fatal, sizeof(r->fatal), "cannot write into the "
			 "prefix '%s': %s", r->o->prefix,
			 strerror(errnum == EROFS ? EROFS : errno));
		blocked = true;
	} else if ((slash = strchr(rel, '/'))) {
		pyc__buf_addc(&root, '/');
		pyc__buf_add(&root, rel, (size_t)(slash - rel));
		if (!root.oom && unwritable(root.s)) {
			snprintf(r->fatal, sizeof(r->fatal), "cannot write "
				 "into the prefix: '%s': %s", root.s,
				 strerror(errno));
			blocked = true;
		}
	}
out:
	pyc__buf_release(&root);
	return blocked;
}

/* Was the symlink at pyc[0..len) reported before?  Remembers it. */
static bool link_seen(struct run *r, const char *pyc, size_t len)
{
	char **v;

	for (size_t i = 0; i < r->nlinks; i++)
		if (strlen(r->links[i]) == len &&
		    memcmp(r->links[i], pyc, len) == 0)
			return true;
	v = realloc(r->links, (r->nlinks + 1) * sizeof(*v));
	if (v) {
		r->links = v;
		if ((v[r->nlinks] = strndup(pyc, len)))
			r->nlinks++;
	}
	return false;
}

/*
 * Say why writing `pyc` failed (errno), into msg; ev->repeated when the
 * cause was told before.  Returns -1 when the failure stops the run.
 */
static int write_failed(struct run *r, const char *pyc, struct pyc_event *ev,
			char *msg, size_t size)
{
	int errnum = errno;
	struct buf root = { 0 };
	const char *rel;
	ssize_t at = 0;

	if (prefix_blocked(r, pyc, errnum))
		return -1;
	if (errnum == ENOTDIR || errnum == ELOOP) {
		split_target(r, pyc, &root, &rel);
		if (!root.oom && (at = pyc__write_symlink(root.s, rel)) > 0) {
			size_t len = (size_t)(rel - pyc) + (size_t)at;
			snprintf(msg, size, "cannot write '%s': the symlink "
				 "'%.*s'%s was refused (pycprefix never writes "
				 "through one; remove it)", pyc, (int)len, pyc,
				 r->o->prefix ? " in the prefix" : "");
			ev->repeated = link_seen(r, pyc, len);
		}
		pyc__buf_release(&root);
		if (at > 0)
			return 0;
	}
	snprintf(msg, size, "cannot write '%s': %s", pyc,
		 errnum == EPERM && write_flags(r)
			 ? "a directory on the way is another user's or "
			   "writable by others"
			 : strerror(errnum));
	return 0;
}

static void job_done(void *arg, struct pyc_job *job,
		     const struct pyc_result *res)
{
	struct run *r = arg;
	struct task *t = job->user;
	struct pyc_event ev = { .in = r->in, .source = t->src->path,
				.nwarnings = res->nwarnings,
				.warnings = res->warnings };
	unsigned char hash[8], digest[32];
	char msg[600];

	r->stats->warnings += res->nwarnings;
	if (!res->ok) {
		ev.kind = PYC_EV_FAILED;
		ev.line = res->line;
		ev.col = res->col;
		ev.message = res->message;
		ev.source_error = true;
		r->stats->failed += (size_t)t->nlevels;
		r->stats->source_errors += (size_t)t->nlevels;
		if (r->memo) {
			struct pyc_memo_id id;
			pyc__memo_id_of(&id, &t->st);
			pyc__memo_add(&r->now, t->src->path, &id,
				     level_mask(t), res->line, res->col,
				     res->message);
		}
		goto report;
	}
	pyc_source_hash(r->in->magic, job->src, job->len, hash);
	if (r->serving)
		pyc__sha256(job->src, job->len, digest);
	ev.kind = PYC_EV_COMPILED;
	t->linked = 0;
	for (int i = 0; i < t->nlevels; i++) {
		if (write_level(r, t, i, res, hash, digest) == 0) {
			r->stats->compiled++;
			continue;
		}
		if (write_failed(r, t->pyc[i], &ev, msg, sizeof(msg)) < 0)
			goto out; /* the run stops: r->fatal says why */
		ev.kind = PYC_EV_FAILED;
		ev.pyc = t->pyc[i];
		ev.message = msg;
		/* this level and the ones not tried after it */
		r->stats->failed += (size_t)(t->nlevels - i);
		break;
	}
report:
	ev.linked = t->linked;
	if (r->o->event)
		r->o->event(&ev, r->o->arg);
out:
	free(t->bytes);
	t->bytes = NULL;
	free(t->name);
	t->name = NULL;
	progress(r, t);
}

static void job_failed(void *arg, struct pyc_job *job, const char *why)
{
	struct run *r = arg;
	struct task *t = job->user;

	emit(r, PYC_EV_FAILED, t->src->path, NULL, why, (size_t)t->nlevels);
	free(t->bytes);
	t->bytes = NULL;
	free(t->name);
	t->name = NULL;
	progress(r, t);
}

/* ---- the run ---- */

/* A dry run's report of a stale source: each level it would write, and
 * whether from the store. */
static void would_compile(struct run *r, const struct task *t)
{
	for (int k = 0; k < t->nlevels; k++) {
		struct pyc_event ev = {
			.kind = PYC_EV_WOULD_COMPILE, .in = r->in,
			.source = t->src->path, .pyc = t->pyc[k],
			.from_store = t->served_mask & (1u << k)
		};
		if (r->o->event)
			r->o->event(&ev, r->o->arg);
	}
	r->stats->compiled += (size_t)t->nlevels;
	r->stats->from_store += (size_t)t->served;
}

/* Use the store for r->in's pycs when there is one: its compiler's
 * directory (a dry run creates none: without it, nothing is served). */
static int open_compiler(struct run *r, struct pyc_error *err)
{
	const struct pyc_compile_opts *o = r->o;
	bool dry = o->flags & PYC_COMPILE_DRY_RUN;

	r->serving = false;
	if (r->store.fd < 0 || o->name_of)
		return 0;
	if (pyc__store_compiler(&r->store, r->in, &r->comp) < 0) {
		if (dry && errno == ENOENT)
			return 0;
		return pyc__error(err, errno, "cannot use the store '%s' for "
				  "'%s': %s", r->store.path, r->in->path,
				  strerror(errno));
	}
	r->sv = (struct pyc__serve){ .comp = &r->comp, .mode = o->mode,
				     .wflags = write_flags(r), .dry = dry,
				     .nolink = o->flags & PYC_COMPILE_FORCE };
	r->serving = true;
	return 0;
}

static int run_pool(struct run *r, struct pyc_error *err)
{
	static atomic_int never;
	const struct pyc_pool_ops ops = { next_job, job_done, job_failed, r };
	int jobs = r->o->jobs > 0 ? r->o->jobs : 1;
	int ret;

	if ((size_t)jobs > r->ntasks)
		jobs = (int)r->ntasks;
	ret = pyc__pool_run(r->in, jobs, r->o->timeout_ms, &ops,
			   r->o->stop ? r->o->stop : &never, err);
	if (ret == 0 && r->fatal[0])
		ret = pyc__error(err, EACCES, "%s", r->fatal);
	return ret;
}

/* By bytes, then levels to write, then place in the tasks (the first
 * of twins is the one compiled). */
static int twin_cmp(const void *a, const void *b)
{
	const struct task *x = *(const struct task *const *)a;
	const struct task *y = *(const struct task *const *)b;
	int c = memcmp(x->digest, y->digest, sizeof(x->digest));

	if (c)
		return c;
	if (level_mask(x) != level_mask(y))
		return level_mask(x) < level_mask(y) ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Would compiling a give what b needs? */
static bool same_work(const struct task *a, const struct task *b)
{
	return a->digested && b->digested &&
	       memcmp(a->digest, b->digest, sizeof(a->digest)) == 0 &&
	       level_mask(a) == level_mask(b);
}

/*
 * Sources of one run with the same bytes (vendored copies, empty
 * __init__.py files, a tree given twice at two paths) are compiled
 * once: each one's twins leave the tasks, into *twins, to be written
 * from the store once the first is compiled.  0 or -1 (ENOMEM).
 */
static int defer_twins(struct run *r, struct task **twins, size_t *ntwins)
{
	struct task **by = malloc(r->ntasks * sizeof(*by));
	struct task *out, *keep;
	size_t n = 0, k = 0;

	*twins = NULL;
	*ntwins = 0;
	if (!by)
		return -1;
	for (size_t i = 0; i < r->ntasks; i++)
		by[i] = &r->tasks[i];
	qsort(by, r->ntasks, sizeof(*by), twin_cmp);
	for (size_t i = 1; i < r->ntasks; i++)
		if (same_work(by[i], by[i - 1])) {
			by[i]->twin = true;
			n++;
		}
	free(by);
	if (!n)
		return 0;
	if (!(out = malloc(n * sizeof(*out))))
		return -1;
	keep = r->tasks;
	for (size_t i = 0; i < r->ntasks; i++) {
		if (r->tasks[i].twin)
			out[(*ntwins)++] = r->tasks[i];
		else
			keep[k++] = r->tasks[i];
	}
	r->ntasks = k;
	*twins = out;
	return 0;
}

/* The twins, written from the store now that one of each is compiled;
 * what it could not write (the first failed, say) goes back to the
 * tasks, compiled in a run of its own. */
static void serve_twins(struct run *r, struct task *twins, size_t n)
{
	struct planner pl = { .r = r, .pycdirfd = -1, .wdir = { .fd = -1 } };

	for (size_t i = 0; i < n; i++) {
		struct task *t = &twins[i];
		t->served = 0;
		t->served_mask = 0;
		t->linked = 0;
		free(t->store_bad); /* told when it was planned */
		t->store_bad = NULL;
		t->store_bad_len = 0;
		serve_task(&pl, t);
		if (t->store_bad)
			store_bad(r, t->src->path, t->store_bad,
				  t->store_bad_len);
		count_served(r, t->served, t->linked);
		if (t->nlevels) {
			r->tasks[r->ntasks++] = *t;
			memset(t, 0, sizeof(*t)); /* moved */
			continue;
		}
		emit_served(r, t->src->path, t->linked);
		progress(r, t);
	}
	pyc__wdir_release(&pl.wdir);
	pyc__buf_release(&pl.pycdir);
}

static int run_interp(struct run *r, struct pyc_error *err)
{
	int ret = 0;

	r->ntasks = r->next = 0;
	if (open_compiler(r, err) < 0)
		return -1;
	/* A dry run reads the memo too, to say what the real run would:
	 * a remembered failure is reported, not listed as to compile. */
	r->memo = r->o->memo_dir &&
		  pyc__memo_open(&r->last, r->o->memo_dir, r->in) == 0 &&
		  pyc__memo_init(&r->now, r->o->memo_dir, r->in) == 0;
	if (plan_all(r) < 0) {
		for (size_t i = 0; i < r->ntasks; i++)
			task_release(&r->tasks[i]);
		pyc__memo_release(&r->last);
		pyc__memo_release(&r->now);
		pyc__store_compiler_close(&r->comp);
		errno = ENOMEM;
		return -1;
	}
	pyc__helpers_rest(&r->helpers);
	qsort(r->tasks, r->ntasks, sizeof(*r->tasks), task_cmp);
	r->total += r->ntasks;
	for (size_t i = 0; i < r->ntasks; i++)
		r->bytes_total += (uint64_t)r->tasks[i].src->size;
	if (r->o->flags & PYC_COMPILE_DRY_RUN) {
		for (size_t i = 0; i < r->ntasks; i++)
			would_compile(r, &r->tasks[i]);
	} else if (r->ntasks) {
		struct task *twins = NULL;
		size_t ntwins = 0;
		if (r->serving && defer_twins(r, &twins, &ntwins) < 0)
			ret = pyc__error(err, ENOMEM, "out of memory");
		if (ret == 0)
			ret = run_pool(r, err);
		if (ntwins) {
			for (size_t i = 0; i < r->ntasks; i++)
				task_release(&r->tasks[i]);
			r->ntasks = r->next = 0;
			if (ret == 0)
				serve_twins(r, twins, ntwins);
			for (size_t i = 0; i < ntwins; i++)
				task_release(&twins[i]);
			free(twins);
			if (ret == 0 && r->ntasks)
				ret = run_pool(r, err);
		}
	}
	for (size_t i = 0; i < r->ntasks; i++)
		task_release(&r->tasks[i]);
	/* A cache: failing to keep it is no error. */
	if (r->memo && ret == 0 && !(r->o->stop && *r->o->stop) &&
	    !(r->o->flags & PYC_COMPILE_DRY_RUN) &&
	    pyc__memo_carry(&r->now, &r->last) == 0)
		pyc__memo_save(&r->now);
	pyc__memo_release(&r->last);
	pyc__memo_release(&r->now);
	pyc__store_compiler_close(&r->comp);
	r->serving = false;
	return ret;
}

/* Open o->store_dir (a dry run creates nothing: no store is an empty
 * one). */
static int open_store(struct run *r, struct pyc_error *err)
{
	const struct pyc_compile_opts *o = r->o;
	bool dry = o->flags & PYC_COMPILE_DRY_RUN;
	unsigned flags = (dry ? 0 : PYC__STORE_CREATE) |
			 (o->flags & PYC_COMPILE_INSECURE ? PYC__STORE_INSECURE
							  : 0);

	if (pyc__store_open(&r->store, o->store_dir, flags, err) == 0)
		return 0;
	r->store.fd = -1;
	if (errno == ENOTSUP && (o->flags & PYC_COMPILE_STORE_IF_ABLE)) {
		struct pyc_event ev = {
			.kind = PYC_EV_STORE_OFF,
			.message = err ? err->msg : "the store's file system "
				   "keeps no extended attributes"
		};
		if (o->event)
			o->event(&ev, o->arg);
		return 0;
	}
	return dry && errno == ENOENT ? 0 : -1;
}

int pyc_compile(const struct pyc_compile_opts *o, const char *const *roots,
		size_t nroots, struct pyc_compile_stats *stats,
		struct pyc_error *err)
{
	struct run r = { .o = o, .stats = stats, .store = { .fd = -1 },
			 .comp = { .fd = -1 }, .wdir = { .fd = -1 } };
	const struct pyc_walk_ops wops = { on_source, on_walk_error,
					   on_exclude, &r };
	unsigned wflags = PYC_WALK_LAZY_STAT |
		(o->flags & PYC_COMPILE_FOLLOW_SYMLINKS ? PYC_WALK_FOLLOW : 0);
	char cwdbuf[PATH_MAX];
	int ret = 0;

	memset(stats, 0, sizeof(*stats));
	r.cwd = getcwd(cwdbuf, sizeof(cwdbuf));
	for (size_t i = 0; i < nroots && ret == 0; i++) {
		r.root = roots[i];
		if (pyc__walk(roots[i], wflags, &wops) < 0)
			ret = -1;
	}
	/* One root cannot list a source twice. */
	if (ret == 0 && nroots > 1 && r.nsrcs && o->ninterps &&
	    dedupe_sources(&r) < 0)
		ret = -1;
	if (ret == 0)
		stat_sources(&r);
	stats->sources = r.nsrcs;
	if (ret == 0 && r.nsrcs &&
	    !(r.tasks = calloc(r.nsrcs, sizeof(*r.tasks))))
		ret = -1;
	if (ret < 0) {
		pyc__error(err, ENOMEM, "out of memory");
	}
	if (ret == 0 && o->prefix && r.nsrcs &&
	    !(o->flags & PYC_COMPILE_DRY_RUN))
		ret = pyc_prefix_prepare(o->prefix,
					 (o->flags & PYC_COMPILE_INSECURE)
						 ? PYC_PREFIX_INSECURE : 0,
					 NULL, NULL, err);
	if (ret == 0 && o->store_dir && r.nsrcs)
		ret = open_store(&r, err);
	for (size_t i = 0; i < o->ninterps && ret == 0 && r.nsrcs; i++) {
		r.in = &o->interps[i];
		ret = run_interp(&r, err);
		if (ret == 0 && o->stop && *o->stop) {
			errno = EINTR;
			ret = -1;
		}
	}
	pyc__helpers_stop(&r.helpers);
	pyc__wdir_release(&r.wdir);
	pyc__store_close(&r.store);
	for (size_t i = 0; i < r.nlinks; i++)
		free(r.links[i]);
	free(r.links);
	for (size_t i = 0; i < r.nsrcs; i++)
		free(r.srcs[i].path);
	free(r.srcs);
	free(r.tasks);
	return ret;
}
