/*
 * tidy.h - what prune, clean and migrate share on top of the walker
 * (tree.h): their options, counts and events, removal of a file in the
 * directory examined, and the check that a prefix is a cache; and what
 * du and audit share.  Not public.
 */
#ifndef PYC_TIDY_H
#define PYC_TIDY_H

#include "pycprefix.h"
#include "internal.h"
#include "tree.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

/* The state every prune, clean and migrate run has; each embeds it with
 * its own fields, and finds itself from the walker's callbacks with
 * pyc__container_of(t, struct pyc__tidy, tree). */
struct pyc__tidy {
	struct pyc__tree tree;
	const struct pyc_tidy_opts *o;
	struct pyc_tidy_stats *st;
	const char *cwd;          /* NULL when there is none */
	time_t now;
	struct pyc__inodes gone;  /* names removed of files with several */
	char cwdbuf[PATH_MAX];
};

/* Zero st, start a run over `ops` (PYC_TIDY_DRY_RUN is passed on to the
 * walker), note the time and the current directory. */
void pyc__tidy_init(struct pyc__tidy *t, const struct pyc_tidy_opts *o,
		    struct pyc_tidy_stats *st, const struct pyc__tree_ops *ops,
		    unsigned tree_flags);
void pyc__tidy_release(struct pyc__tidy *t);

/* The bytes removing this name of a file frees (or would free): its
 * size when it is the file's last name (st_nlink names gone in this
 * run), else 0, so that a file with several names counts once. */
uint64_t pyc__tidy_freed(struct pyc__tidy *t, const struct stat *st);

/* Count a removal (or move) and tell o->event. */
void pyc__tidy_event(struct pyc__tidy *t, enum pyc_tidy_why why,
		     const char *path, const char *to, uint64_t bytes);

/* ops->error and ops->dir_gone of a run: counted, and told. */
void pyc__tidy_error(struct pyc__tree *tree, const char *path, int errnum);
void pyc__tidy_dir_gone(struct pyc__tree *tree, const char *path);

/* Remove dfd/name (a regular file, `path`) unless this is a dry run. */
void pyc__tidy_remove(struct pyc__tidy *t, int dfd, const char *name,
		      const char *path, const struct stat *st,
		      enum pyc_tidy_why why);


/* Is dir the root directory? */
bool pyc__is_root_dir(const char *dir);

/* What an entry met in a tree shows that the tree is no cache (a
 * source, a __pycache__ folder), or PYC_REFUSED_NONE: the one rule of
 * prune, clean, migrate and doctor. */
enum pyc_tidy_refusal pyc__not_cache_entry(const char *path,
					   const struct stat *st);

/* Refuse the run: st->refused and st->refused_path.  0, or -1 (ENOMEM). */
int pyc__tidy_refuse(struct pyc__tidy *t, enum pyc_tidy_refusal why,
		     const char *path);

/* Is each of dirs[] a cache tree (tidy.c says what that is)?  Each is
 * reached as pyc__tree_walk_below(base) does, or by its path when base
 * is NULL.  0, PYC_TIDY_REFUSED, or -1 (ENOMEM). */
int pyc__tidy_check_cache(struct pyc__tidy *t, const char *base,
			  const char *const *dirs, size_t n);

/* ---- du and audit ---- */

/* What pyc_du() and pyc_audit() note of each pyc. */
struct pyc__du_walk {
	void (*pyc)(const struct pyc_du_item *it, void *arg);
	void *arg;
	size_t prefix_len;
	struct pyc__du_state *dus;  /* roots, hard links; NULL: neither */
	struct pyc_tidy_stats *st;
};

/* A regular file of the prefix: if it is a pyc, count and report it.
 * 0, or -1 (ENOMEM). */
int pyc__du_file(struct pyc__du_walk *w, const char *name, const char *path,
		 const struct stat *st);

#endif
