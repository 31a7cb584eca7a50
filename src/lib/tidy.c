/*
 * tidy.c - what prune, clean and migrate share: events and counts, a
 * removal in the directory examined, and the check that a tree is a
 * cache before anything in it is removed.
 *
 * The walk is tree.c's; each operation (prune.c, clean.c, migrate.c)
 * decides about the regular files it is handed.  Symlinks, devices and
 * everything not named like a cache artifact are left alone.
 */
#include "pycprefix.h"
#include "internal.h"
#include "tidy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const why_texts[] = {
	[PYC_TIDY_ORPHAN] = "orphan: its source is gone",
	[PYC_TIDY_STALE] = "stale: Python would recompile it",
	[PYC_TIDY_TEMP] = "temporary file of a killed writer",
	[PYC_TIDY_TAG] = "its interpreter is not installed",
	[PYC_TIDY_OLD] = "not used within --older-than",
	[PYC_TIDY_SIZE] = "least recently used, over --max-size",
	[PYC_TIDY_PYCACHE] = "in __pycache__",
	[PYC_TIDY_LEGACY] = "legacy pyc beside its source",
	[PYC_TIDY_SOURCELESS] = "sourceless pyc",
	[PYC_TIDY_MOVED] = "moved into the prefix",
	[PYC_TIDY_DIR] = "emptied directory",
	[PYC_TIDY_TAG_LISTED] = "its tag was listed",
	[PYC_TIDY_STORE_UNUSED] = "store object no pyc links to, "
				  "not used within --store-age",
};

const char *pyc_tidy_why_text(enum pyc_tidy_why why)
{
	return why_texts[why];
}

/* Now, in the file system's seconds.  Not time(): it reads a coarse
 * clock, which near a second's end can still give the second before
 * the one a file written a moment ago was stamped with (Linux 6.13 and
 * later stamp files from a finer clock). */
static time_t wall_seconds(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return time(NULL);
	return ts.tv_sec;
}

void pyc__tidy_init(struct pyc__tidy *t, const struct pyc_tidy_opts *o,
		    struct pyc_tidy_stats *st, const struct pyc__tree_ops *ops,
		    unsigned tree_flags)
{
	memset(t, 0, sizeof(*t));
	memset(st, 0, sizeof(*st));
	if (o->flags & PYC_TIDY_DRY_RUN)
		tree_flags |= PYC__TREE_DRY_RUN;
	pyc__tree_init(&t->tree, ops, tree_flags);
	t->o = o;
	t->st = st;
	t->now = wall_seconds();
	t->cwd = getcwd(t->cwdbuf, sizeof(t->cwdbuf));
}

void pyc__tidy_release(struct pyc__tidy *t)
{
	pyc__tree_release(&t->tree);
	pyc__inodes_release(&t->gone);
}

uint64_t pyc__tidy_freed(struct pyc__tidy *t, const struct stat *st)
{
	long n;

	if (st->st_nlink <= 1)
		return (uint64_t)st->st_size;
	if ((n = pyc__inodes_count(&t->gone, st->st_dev, st->st_ino, 1)) < 0)
		t->tree.oom = true;
	return n == (long)st->st_nlink ? (uint64_t)st->st_size : 0;
}

void pyc__tidy_event(struct pyc__tidy *t, enum pyc_tidy_why why,
		     const char *path, const char *to, uint64_t bytes)
{
	struct pyc_tidy_event ev = { why, path, to, bytes };

	if (why == PYC_TIDY_DIR)
		t->st->dirs++;
	else
		t->st->files++, t->st->bytes += bytes;
	if (t->o->event)
		t->o->event(&ev, t->o->arg);
}

bool pyc__tidy_descend(struct pyc__tree *tree, const char *name)
{
	(void)tree;
	return strcmp(name, PYC_STORE_IN_PREFIX) != 0;
}

void pyc__tidy_error(struct pyc__tree *tree, const char *path, int errnum)
{
	struct pyc__tidy *t = pyc__container_of(tree, struct pyc__tidy, tree);

	t->st->errors++;
	if (t->o->error)
		t->o->error(path, strerror(errnum), t->o->arg);
}

void pyc__tidy_dir_gone(struct pyc__tree *tree, const char *path)
{
	struct pyc__tidy *t = pyc__container_of(tree, struct pyc__tidy, tree);

	pyc__tidy_event(t, PYC_TIDY_DIR, path, NULL, 0);
}

void pyc__tidy_remove(struct pyc__tidy *t, int dfd, const char *name,
		      const char *path, const struct stat *st,
		      enum pyc_tidy_why why)
{
	if (!(t->o->flags & PYC_TIDY_DRY_RUN) && unlinkat(dfd, name, 0) < 0) {
		if (errno == ENOENT)
			pyc__tree_removed(&t->tree);
		else
			pyc__tidy_error(&t->tree, path, errno);
		return;
	}
	pyc__tree_removed(&t->tree);
	pyc__tidy_event(t, why, path, NULL, pyc__tidy_freed(t, st));
}


/* ---- is it a cache? ---- */

bool pyc__is_root_dir(const char *dir)
{
	struct stat a, b;

	return stat(dir, &a) == 0 && stat("/", &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int pyc__tidy_refuse(struct pyc__tidy *t, enum pyc_tidy_refusal why,
		     const char *path)
{
	t->st->refused = why;
	free(t->st->refused_path);
	if (!(t->st->refused_path = strdup(path)))
		return -1;
	return 0;
}

/* The search of check_cache(). */
struct scan {
	struct pyc__tree tree;
	struct pyc__tidy *t;
};

enum pyc_tidy_refusal pyc__not_cache_entry(const char *path,
					   const struct stat *st)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (S_ISREG(st->st_mode) && pyc__ends_with(base, ".py"))
		return PYC_REFUSED_SOURCE;
	if (S_ISDIR(st->st_mode) && !strcmp(base, "__pycache__"))
		return PYC_REFUSED_PYCACHE;
	return PYC_REFUSED_NONE;
}

static bool scan_descend(struct pyc__tree *tree, const char *name)
{
	struct scan *s = pyc__container_of(tree, struct scan, tree);

	return !pyc__store_skip(tree, s->t->store, name);
}

static void scan_entry(struct pyc__tree *tree, const char *path,
		       const struct stat *st)
{
	struct scan *s = pyc__container_of(tree, struct scan, tree);
	enum pyc_tidy_refusal why = pyc__not_cache_entry(path, st);

	if (why == PYC_REFUSED_NONE)
		return;
	if (pyc__tidy_refuse(s->t, why, path) < 0)
		tree->oom = true;
	tree->stop = true;
}

/*
 * Before removing anything: is each of dirs[] in a cache tree?  A cache
 * holds pycs, temporary files and directories: never a source, never a
 * __pycache__ folder, and it is not '/'.  The whole of each tree is
 * searched, so that a walk never stops half-way with files gone.  Its
 * errors are the real walk's to report.
 */
int pyc__tidy_check_cache(struct pyc__tidy *t, const char *base,
			  const char *const *dirs, size_t n)
{
	static const struct pyc__tree_ops ops = { .entry = scan_entry,
						  .descend = scan_descend };
	struct scan s = { .t = t };
	int ret = 0;

	pyc__tree_init(&s.tree, &ops, 0);
	for (size_t i = 0; i < n && !s.tree.stop && ret == 0; i++) {
		if (pyc__is_root_dir(dirs[i])) {
			s.tree.stop = true;
			ret = pyc__tidy_refuse(t, PYC_REFUSED_ROOT, dirs[i]);
		} else {
			ret = base ? pyc__tree_walk_below(&s.tree, base, dirs[i])
				   : pyc__tree_walk(&s.tree, dirs[i]);
		}
		pyc__tree_release(&s.tree);
	}
	if (ret == 0 && s.tree.oom)
		ret = -1;
	if (ret < 0)
		errno = ENOMEM;
	return ret < 0 ? -1 : s.tree.stop ? PYC_TIDY_REFUSED : 0;
}
