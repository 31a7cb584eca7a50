/*
 * tidy.c - prune, clean, migrate and du: the cache's lifecycle.
 *
 * One walker serves all four.  It descends through directory file
 * descriptors (openat with O_NOFOLLOW | O_DIRECTORY), reads each
 * directory's names before touching any, looks at entries without
 * following links, and hands regular files to a per-command function
 * that decides with the directory's fd in hand, so a removal is an
 * unlinkat() in the very directory that was examined.  Symlinks, devices
 * and everything not named like a cache artifact are left alone.
 *
 * Each directory walked is a node that counts its entries and those
 * removed (or, in a dry run, that would be): a directory is emptied when
 * the two agree, so a dry run names the directories the real run then
 * removes.  --max-size decides after the walk, so prune then keeps the
 * nodes and removes the emptied directories after the eviction.
 */
#include "pycprefix.h"
#include "buf.h"
#include "compat.h"
#include "internal.h"
#include "tidy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
};

const char *pyc_tidy_why_text(enum pyc_tidy_why why)
{
	return why_texts[why];
}


/* ---- is it a cache? ---- */

bool is_root_dir(const char *dir)
{
	struct stat a, b;

	return stat(dir, &a) == 0 && stat("/", &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

void refuse(struct tidy *t, enum pyc_tidy_refusal why,
		   const char *path)
{
	t->st->refused = why;
	free(t->st->refused_path);
	if (!(t->st->refused_path = strdup(path)))
		t->oom = true;
	t->stop = true;
}

static void scan_entry(struct tidy *t, const char *path, const struct stat *st)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (S_ISREG(st->st_mode) && ends_with(base, ".py"))
		refuse(t, PYC_REFUSED_SOURCE, path);
	else if (S_ISDIR(st->st_mode) && !strcmp(base, "__pycache__"))
		refuse(t, PYC_REFUSED_PYCACHE, path);
}

static void scan_file(struct tidy *t, int dfd, const char *name,
		      const char *path, const struct stat *st)
{
	(void)t, (void)dfd, (void)name, (void)path, (void)st;
}

/*
 * Before removing anything: is each of dirs[] in a cache tree?  A cache
 * holds pycs, temporary files and directories: never a source, never a
 * __pycache__ folder, and it is not '/'.  The whole of each tree is
 * searched, so that a walk never stops half-way with files gone.
 * Returns 0, or PYC_TIDY_REFUSED with st->refused set.
 */
int check_cache(struct tidy *t, const char *const *dirs, size_t n)
{
	struct tidy scan = *t;

	scan.file = scan_file;
	scan.entry = scan_entry;
	scan.quiet = true;
	scan.remove_empty_dirs = scan.remove_empty_pycache = false;
	scan.defer_dirs = false;
	scan.nodes = NULL;
	scan.nnodes = scan.anodes = 0;
	for (size_t i = 0; i < n && !scan.stop && !scan.oom; i++) {
		if (is_root_dir(dirs[i]))
			refuse(&scan, PYC_REFUSED_ROOT, dirs[i]);
		else
			walk_from(&scan, dirs[i]);
	}
	free(scan.nodes);
	t->oom |= scan.oom;
	return scan.stop ? PYC_TIDY_REFUSED : 0;
}

/* ---- names ---- */

bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

void tidy_release(struct tidy *t)
{
	for (size_t i = 0; i < t->nkept; i++)
		free(t->kept[i].path);
	free(t->kept);
	for (size_t i = 0; i < t->nnodes; i++)
		free(t->nodes[i].path);
	free(t->nodes);
}

int setup(struct tidy *t, const struct pyc_tidy_opts *o,
		 struct pyc_tidy_stats *st, file_fn *fn, char *cwdbuf)
{
	memset(t, 0, sizeof(*t));
	memset(st, 0, sizeof(*st));
	t->o = o;
	t->st = st;
	t->file = fn;
	t->now = time(NULL);
	t->cwd = getcwd(cwdbuf, PATH_MAX);
	t->cur = NO_NODE;
	return 0;
}
