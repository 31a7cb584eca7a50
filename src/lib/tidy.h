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
#include "store.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

/* Where the stores inside a prefix are, to know them while walking it
 * (store_tidy.c): the prefix's own (PREFIX/PYC_STORE_IN_PREFIX) and,
 * when it lies below the prefix (a prefix such as ~/.cache), the
 * store of --in-tree runs (pyc_store_default_dir()).  Each is known by
 * the device and inode of the directory holding it and its name. */
#define PYC__STORE_SPOTS 2
struct pyc__store_spot {
	bool set;                 /* the prefix could be stat'ed */
	dev_t dev;
	ino_t ino;
	size_t n;
	struct {
		dev_t pdev;           /* the directory holding it */
		ino_t pino;
		char name[NAME_MAX + 1];
		char path[PATH_MAX];
	} at[PYC__STORE_SPOTS];
};

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
	struct pyc__store_spot *store; /* prune: where the store is */
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

/* ops->descend of clean and migrate: a directory named as a prefix's
 * store is a store wherever it is (a prefix inside a source tree):
 * never entered, its objects are no one's pycs to clean or move. */
bool pyc__tidy_descend(struct pyc__tree *tree, const char *name);

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

/* ---- the store in walks (store_tidy.c) ---- */

/* Note where `prefix` is (s->set false when it cannot be stat'ed). */
void pyc__store_spot_init(struct pyc__store_spot *s, const char *prefix);

/* In a walk of (part of) the prefix: is `name`, in the directory being
 * walked, one of the stores in the prefix, which are no mirror and are
 * not entered? */
bool pyc__store_skip(const struct pyc__tree *t,
		     const struct pyc__store_spot *s, const char *name);

/* What an entry of a store is. */
enum pyc__store_entry {
	PYC__SE_OBJECT,   /* a regular file named as an object, in place */
	PYC__SE_TEMP,     /* a temporary file of a writer */
	PYC__SE_LAYOUT,   /* a directory of the layout, an identity, the
			     CACHEDIR.TAG */
	PYC__SE_OTHER,    /* not ours */
};

/* In a walk rooted at a store's root: what the entry `name` (its lstat
 * st) of the directory being walked is; an object's key into *k (may
 * be NULL).  A directory is entered only when it is PYC__SE_LAYOUT. */
enum pyc__store_entry pyc__store_entry_kind(const struct pyc__tree *t,
					    const char *name,
					    const struct stat *st,
					    struct pyc__store_key *k);

/* A walk of a store, for du and doctor: fn gets every entry below the
 * root but the directories of the layout (dfd -1 for what is no regular
 * file), error what cannot be read. */
struct pyc__store_walk {
	struct pyc__tree tree;
	void (*fn)(struct pyc__store_walk *w, enum pyc__store_entry e,
		   int dfd, const char *name, const char *path,
		   const struct stat *st, const struct pyc__store_key *k);
	void (*error)(struct pyc__store_walk *w, const char *path,
		      int errnum);
	/* set by the entry callback for the directory about to be
	 * descended, or not */
	bool descend_next;
};

/* Count one entry of a store into u (objects, bytes, links, temps,
 * others). */
void pyc__store_count(struct pyc_store_usage *u, enum pyc__store_entry e,
		      const struct stat *st);

/* Walk the store at `store` (below `base` with no symlink, when base is
 * not NULL).  A store not there, or that is no directory (a symlink
 * too): 0, nothing walked.  0, or -1 (ENOMEM). */
int pyc__store_walk(struct pyc__store_walk *w, const char *base,
		    const char *store);

#endif
