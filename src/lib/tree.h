/*
 * tree.h - the one walker of the trees the library looks into or
 * removes from: prune, clean, migrate, du, audit, status's orphan pass
 * and the links check of doctor.  Not public.
 *
 * It descends through directory descriptors (openat() with O_NOFOLLOW |
 * O_DIRECTORY, one component at a time), reads each directory's names
 * (sorted, so every walk has one order) before touching any, looks at
 * entries with fstatat(AT_SYMLINK_NOFOLLOW) and never descends into a
 * symlink.  Regular files are handed to the caller with the descriptor
 * of their directory, so that a removal is an unlinkat() in the very
 * directory that was examined.  Only the starting directory itself is
 * opened by its path, following links in it.
 *
 * Each directory walked is a node that counts its entries and those
 * removed (or, in a dry run, that would be): a directory is emptied when
 * the two agree, so a dry run names the directories the real run then
 * removes.  The nodes stay until pyc__tree_release(), so a caller that
 * decides after the walk (prune --max-size) reaches a directory again
 * through the same no-follow chain from the root's descriptor, checked
 * to be the directory walked, and removes emptied directories at the
 * end (PYC__TREE_DEFER).
 *
 * Usage: embed a struct pyc__tree in the operation's own state (the
 * callbacks get back to it with pyc__container_of), pyc__tree_init(),
 * pyc__tree_walk() each root, pyc__tree_finish() when deferred,
 * pyc__tree_release().  Pointers passed to callbacks are valid during
 * the call only.  One thread; not async-signal-safe.
 */
#ifndef PYC_TREE_H
#define PYC_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define pyc__container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

struct pyc__tree;

struct pyc__tree_ops {
	/* A regular file `name` in the open directory dfd (path: its
	 * whole path, for messages); may unlinkat(dfd, name) and then
	 * pyc__tree_removed().  Optional. */
	void (*file)(struct pyc__tree *t, int dfd, const char *name,
		     const char *path, const struct stat *st);
	/* Every entry (its lstat), before a directory is descended.
	 * Optional. */
	void (*entry)(struct pyc__tree *t, const char *path,
		      const struct stat *st);
	/* Descend into directory `name` of the directory being walked?
	 * Optional: every directory. */
	bool (*descend)(struct pyc__tree *t, const char *name);
	/* A directory that cannot be opened or read; the walk goes on.
	 * Optional. */
	void (*error)(struct pyc__tree *t, const char *path, int errnum);
	/* An emptied directory was removed (or, in a dry run, would be).
	 * Optional. */
	void (*dir_gone)(struct pyc__tree *t, const char *path);
};

enum {
	PYC__TREE_DRY_RUN = 1 << 0,       /* remove no directory */
	PYC__TREE_RMDIR = 1 << 1,         /* remove emptied directories */
	PYC__TREE_RMDIR_PYCACHE = 1 << 2, /* ... emptied __pycache__ only */
	PYC__TREE_DEFER = 1 << 3,         /* ... at pyc__tree_finish() */
};

#define PYC__NO_NODE SIZE_MAX

/* A directory walked. */
struct pyc__tree_node {
	size_t parent;           /* PYC__NO_NODE for a walk's root */
	size_t entries, removed; /* entries SIZE_MAX: unreadable */
	bool pycache;
	bool keep;               /* never removed (pyc__tree.keep_dirs) */
	char *name;              /* in its parent; NULL for a root */
	char *path;              /* with PYC__TREE_DEFER */
	int fd;                  /* a root's, open until release; else -1 */
	dev_t dev;
	ino_t ino;
};

struct pyc__tree {
	const struct pyc__tree_ops *ops;
	unsigned flags;
	bool in_pycache;         /* the directory being walked is one */
	bool stop;               /* set by a callback: the walk ends */
	bool oom;                /* out of memory: the walk ended */
	bool keep_dirs;          /* set by the caller: the directories
				    walked from now on are never removed,
				    emptied or not (the store's, whose
				    writers make them as they go) */
	struct pyc__tree_node *nodes;
	size_t nnodes, anodes;
	size_t cur;              /* the directory being walked */
};

void pyc__tree_init(struct pyc__tree *t, const struct pyc__tree_ops *ops,
		    unsigned flags);

/* Walk the directory `dir` (links are followed in `dir` itself only).
 * A root that cannot be opened goes to ops->error.  Returns 0, or -1
 * (ENOMEM) when the walk could not be whole. */
int pyc__tree_walk(struct pyc__tree *t, const char *dir);

/* Walk the directory `dir`, which is `base` or below it (dir begins
 * with base): only base is opened following links, each component of
 * dir after it with O_NOFOLLOW (a symlink there is ENOTDIR, reported).
 * Returns as pyc__tree_walk(). */
int pyc__tree_walk_below(struct pyc__tree *t, const char *base,
			 const char *dir);

/* One entry of the directory being walked is gone (or would be). */
void pyc__tree_removed(struct pyc__tree *t);

/* Node k's directory, opened again through the no-follow chain from its
 * root's descriptor, each directory checked to be the one walked.  An
 * fd, or -1 (errno; ESTALE when one was replaced). */
int pyc__tree_open_node(const struct pyc__tree *t, size_t k);

/* With PYC__TREE_DEFER: remove the emptied directories, deepest first,
 * each in its parent reached through the no-follow chain and still the
 * directory that was walked. */
void pyc__tree_finish(struct pyc__tree *t);

void pyc__tree_release(struct pyc__tree *t);

/* Is `now` (an lstat) the regular file `was` (an fstat) describes: same
 * device and inode, same size and modification time? */
bool pyc__same_file(const struct stat *was, const struct stat *now);

/*
 * Remove dfd/name if it is still the regular file `was` describes
 * (pyc__same_file() of an fstatat(AT_SYMLINK_NOFOLLOW) just before the
 * unlinkat()); with `dry_run`, only check.  Returns 0 (removed, or
 * would be), 1 (not that file any more: left alone) or -1 (errno).
 */
int pyc__unlink_same(int dfd, const char *name, const struct stat *was,
		     bool dry_run);

#endif
