/*
 * compilelist.c - pyc_compile_list(): judge, schedule and write an
 * explicit list of sources, for front ends (compileall's) that choose
 * the sources and the pyc paths themselves.
 *
 * The pieces are pyc_compile()'s: pyc_judge_files() decides freshness,
 * the worker pool compiles, pyc__write_atomic() writes.  The header is
 * built from the fstat() taken before the source was read, as there.
 */
#include "pycprefix.h"
#include "buf.h"
#include "compat.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct ltask {
	size_t index;
	int nstale;
	int stale[PYC_MAX_LEVELS];   /* indices into the item's levels */
	unsigned char *bytes;        /* while in flight */
	struct stat st;
};

struct lrun {
	const struct pyc_list_opts *o;
	const struct pyc_list_item *items;
	struct ltask *tasks;
	size_t ntasks, next;
};

static void emit(const struct lrun *r, struct pyc_list_event *ev)
{
	if (r->o->event)
		r->o->event(ev, r->o->arg);
}

static bool level_fresh(const struct lrun *r, const struct pyc_list_item *it,
			int k)
{
	struct pyc_verdict v;

	if (pyc_judge_files(r->o->in, PYC_CHECK_DEFAULT, it->source, NULL,
			    AT_FDCWD, it->pyc[k], PYC_JUDGE_VERIFY_UNCHECKED,
			    &v) < 0)
		return false; /* the read fails again, and is reported, later */
	/* compileall keeps a fresh timestamp pyc whatever mode is asked */
	return v.state == PYC_FRESH && !v.unchecked_changed &&
	       (v.kind == r->o->mode || v.kind == PYC_INV_TIMESTAMP);
}

/* Judge item i into *t: the number of stale levels. */
static int plan_item(const struct lrun *r, size_t i, struct ltask *t)
{
	const struct pyc_list_item *it = &r->items[i];

	*t = (struct ltask){ .index = i };
	for (int k = 0; k < it->nlevels; k++)
		if ((r->o->flags & PYC_COMPILE_FORCE) || !level_fresh(r, it, k))
			t->stale[t->nstale++] = k;
	/* Dupes are linked to the level before, which must be rewritten
	 * too for the comparison to mean anything: all of them, as
	 * compileall rewrites them. */
	if (t->nstale && (r->o->flags & PYC_COMPILE_HARDLINK_DUPES)) {
		t->nstale = 0;
		for (int k = 0; k < it->nlevels; k++)
			t->stale[t->nstale++] = k;
	}
	return t->nstale;
}

/* py_compile's refusal of a pyc path that import would replace by a
 * regular file: 0 when none of the stale levels' paths is one. */
static int refused(const struct lrun *r, const struct ltask *t)
{
	const struct pyc_list_item *it = &r->items[t->index];
	struct pyc_list_event ev = { .index = t->index };
	struct stat st;

	if (!(r->o->flags & PYC_LIST_REFUSE_SPECIAL))
		return 0;
	for (int j = 0; j < t->nstale; j++) {
		const char *pyc = it->pyc[t->stale[j]];
		if (lstat(pyc, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode))
			ev.outcome = PYC_LIST_PYC_SYMLINK;
		else if (!S_ISREG(st.st_mode))
			ev.outcome = PYC_LIST_PYC_NOT_REGULAR;
		else
			continue;
		ev.pyc = pyc;
		emit(r, &ev);
		return -1;
	}
	return 0;
}

static int next_job(void *arg, struct pyc_job *job)
{
	struct lrun *r = arg;

	while (r->next < r->ntasks) {
		struct ltask *t = &r->tasks[r->next++];
		const struct pyc_list_item *it = &r->items[t->index];
		size_t len;
		bool opened;

		if (refused(r, t) < 0)
			continue;
		t->bytes = (unsigned char *)pyc__read_file_opened(
			it->source, &len, &t->st, &opened);
		if (!t->bytes) {
			struct pyc_list_event ev = {
				.index = t->index, .errnum = errno,
				.opened = opened,
				.outcome = PYC_LIST_READ_ERROR };
			emit(r, &ev);
			continue;
		}
		*job = (struct pyc_job){
			.path = it->source, .name = it->name, .src = t->bytes,
			.len = len, .nlevels = t->nstale, .user = t,
			.flags = (r->o->flags & PYC_LIST_PYCOMPILE_MSG)
					 ? PYC_JOB_PYCOMPILE_MSG : 0 };
		for (int j = 0; j < t->nstale; j++)
			job->levels[j] = it->levels[t->stale[j]];
		return 1;
	}
	return 0;
}

/*
 * Split `pyc` into the deepest directory of its path that exists (into
 * dir) and the rest, which the writer creates: py_compile makes the
 * missing directories, and follows what symlinks are already there.
 */
static const char *split_existing(const char *pyc, struct buf *dir)
{
	struct stat st;
	size_t len = strlen(pyc);

	for (;;) {
		while (len > 0 && pyc[len - 1] != '/')
			len--;
		if (len == 0) {
			pyc__buf_reset(dir);
			pyc__buf_addc(dir, '.');
			return pyc;
		}
		pyc__buf_reset(dir);
		pyc__buf_add(dir, pyc, len > 1 ? len - 1 : 1);
		if (dir->oom || stat(dir->s, &st) == 0 || errno != ENOENT)
			return pyc + len;
		len--;
	}
}

static bool same_dir(const char *a, const char *b)
{
	const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
	size_t la = sa ? (size_t)(sa - a) : 0, lb = sb ? (size_t)(sb - b) : 0;

	return la == lb && memcmp(a, b, la) == 0;
}

/* Level j of the task: a link to level j - 1 when the code is equal and
 * both live in one directory, else a new file.  Returns 0, 1 when the
 * code was found equal to the previous level's (a link, or nothing to
 * do when both levels share the path), or -1 (errno). */
static int write_one(const struct lrun *r, const struct ltask *t, int j,
		     const struct pyc_result *res, const unsigned char *hash)
{
	const struct pyc_list_item *it = &r->items[t->index];
	const char *pyc = it->pyc[t->stale[j]];
	unsigned char head[PYC_HEADER_SIZE];
	struct buf data = { 0 }, dir = { 0 };
	unsigned mode = (unsigned)((t->st.st_mode | 0200) & 0666);
	const char *rel;
	int ret = -1;

	if (j > 0 && (r->o->flags & PYC_COMPILE_HARDLINK_DUPES) &&
	    res->code_len[j] == res->code_len[j - 1] &&
	    memcmp(res->code[j], res->code[j - 1], res->code_len[j]) == 0) {
		const char *prev = it->pyc[t->stale[j - 1]];
		if (strcmp(prev, pyc) == 0)
			return 1;
		if (same_dir(prev, pyc)) {
			const char *s = strrchr(pyc, '/');
			pyc__buf_add(&dir, pyc, s ? (size_t)(s - pyc) : 0);
			if (!dir.len)
				pyc__buf_addc(&dir, s ? '/' : '.');
			const char *pb = strrchr(prev, '/');
			if (!dir.oom)
				ret = pyc__link_atomic(dir.s, pb ? pb + 1 : prev,
						       s ? s + 1 : pyc, 0);
			pyc__buf_release(&dir);
			return ret < 0 ? -1 : 1;
		}
	}
	pyc_header_build(head, r->o->in->magic, r->o->mode,
			 pyc_py_mtime((int64_t)PYC_ST_MTIM(&t->st).tv_sec,
				      PYC_ST_MTIM(&t->st).tv_nsec),
			 (uint64_t)t->st.st_size, hash);
	rel = split_existing(pyc, &dir);
	pyc__buf_add(&data, head, sizeof(head));
	pyc__buf_add(&data, res->code[j], res->code_len[j]);
	if (data.oom || dir.oom)
		errno = ENOMEM;
	else
		ret = pyc__write_atomic(dir.s, rel, data.s, data.len, mode, 0);
	pyc__buf_release(&data);
	pyc__buf_release(&dir);
	return ret;
}

static void job_done(void *arg, struct pyc_job *job,
		     const struct pyc_result *res)
{
	struct lrun *r = arg;
	struct ltask *t = job->user;
	const struct pyc_list_item *it = &r->items[t->index];
	struct pyc_list_event ev = { .index = t->index,
				     .outcome = PYC_LIST_COMPILED,
				     .nwarnings = res->nwarnings,
				     .warnings = res->warnings };
	unsigned char hash[8];

	if (!res->ok) {
		ev.outcome = PYC_LIST_SOURCE_ERROR;
		ev.message = res->message;
		ev.line = res->line;
		ev.col = res->col;
		goto report;
	}
	pyc_source_hash(r->o->in->magic, job->src, job->len, hash);
	for (int j = 0; j < t->nstale; j++) {
		if (write_one(r, t, j, res, hash) < 0) {
			ev.outcome = PYC_LIST_WRITE_ERROR;
			ev.errnum = errno;
			ev.pyc = it->pyc[t->stale[j]];
			break;
		}
	}
report:
	emit(r, &ev);
	free(t->bytes);
	t->bytes = NULL;
}

static void job_failed(void *arg, struct pyc_job *job, const char *why)
{
	struct lrun *r = arg;
	struct ltask *t = job->user;
	struct pyc_list_event ev = { .index = t->index, .message = why,
				     .outcome = PYC_LIST_WORKER_ERROR };

	emit(r, &ev);
	free(t->bytes);
	t->bytes = NULL;
}

static bool valid_items(const struct pyc_list_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!items[i].source || items[i].nlevels < 1 ||
		    items[i].nlevels > PYC_MAX_LEVELS)
			return false;
		for (int k = 0; k < items[i].nlevels; k++)
			if (items[i].levels[k] < 0 || items[i].levels[k] > 2 ||
			    !items[i].pyc[k])
				return false;
	}
	return true;
}

int pyc_compile_list(const struct pyc_list_opts *o,
		     const struct pyc_list_item *items, size_t n,
		     struct pyc_error *err)
{
	static atomic_int never;
	const struct pyc_pool_ops ops = { next_job, job_done, job_failed, NULL };
	struct pyc_pool_ops lops = ops;
	struct lrun r = { .o = o, .items = items };
	int ret = 0, jobs;

	if (!o->in || !valid_items(items, n))
		return pyc__error(err, EINVAL, "invalid list of sources");
	if (n && !(r.tasks = calloc(n, sizeof(*r.tasks))))
		return pyc__error(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (o->stop && atomic_load(o->stop))
			goto stopped;
		if (plan_item(&r, i, &r.tasks[r.ntasks]) > 0) {
			r.ntasks++;
		} else {
			struct pyc_list_event ev = { .index = i,
						     .outcome = PYC_LIST_FRESH };
			emit(&r, &ev);
		}
	}
	jobs = o->jobs > 0 ? o->jobs : 1;
	if ((size_t)jobs > r.ntasks)
		jobs = (int)r.ntasks;
	lops.arg = &r;
	if (r.ntasks)
		ret = pyc__pool_run(o->in, jobs, o->timeout_ms, &lops,
				   o->stop ? o->stop : &never, err);
	if (ret < 0 && errno == EINTR)
		goto stopped;
	goto out;
stopped:
	ret = pyc__error(err, EINTR, "interrupted");
out:
	for (size_t i = 0; i < r.ntasks; i++)
		free(r.tasks[i].bytes);
	free(r.tasks);
	return ret;
}
