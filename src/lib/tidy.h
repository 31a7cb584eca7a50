/*
 * tidy.h - what prune, clean, migrate, du and audit share: the walker's
 * state and the helpers of tidy.c and tree.c.  Not public.
 */
#ifndef PYC_TIDY_H
#define PYC_TIDY_H

#include "pycprefix.h"
#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

struct kept {
	char *path;
	dev_t dev;
	ino_t ino;
	time_t used;
	uint64_t bytes;
	size_t node;             /* its directory */
};

/* A directory walked. */
struct dirnode {
	size_t parent;           /* NO_NODE for a walk's root */
	size_t entries, removed; /* entries SIZE_MAX: unreadable */
	bool pycache;
	char *path;              /* kept when removal waits (--max-size) */
	dev_t dev;
	ino_t ino;
};

#define NO_NODE SIZE_MAX

struct tidy;

/* Decide about one regular file; may unlinkat(dfd, name). */
typedef void file_fn(struct tidy *t, int dfd, const char *name,
		     const char *path, const struct stat *st);

struct tidy {
	const struct pyc_tidy_opts *o;
	struct pyc_tidy_stats *st;
	const char *cwd;
	time_t now;
	file_fn *file;
	/* optional: every entry, before a directory is descended */
	void (*entry)(struct tidy *t, const char *path, const struct stat *st);
	bool in_pycache;          /* the directory being walked is one */
	bool remove_empty_dirs;   /* any emptied directory (prune) */
	bool remove_empty_pycache;/* emptied __pycache__ (clean, migrate) */
	bool defer_dirs;          /* remove emptied directories at the end */
	bool quiet;               /* a scan: errors are the real walk's */
	bool stop;                /* a scan found what it looked for */
	struct dirnode *nodes;
	size_t nnodes, anodes, cur;
	struct kept *kept;
	size_t nkept, akept;
	void (*du)(const struct pyc_du_item *it, void *arg);
	void *du_arg;
	struct pyc__du_state *dus;  /* pyc_du(): roots, hard links */
	size_t prefix_len;
	const struct pyc_audit_ops *audit;
	uid_t uid;
	bool oom;
};

void event(struct tidy *t, enum pyc_tidy_why why, const char *path,
	   const char *to, uint64_t bytes);
void error(struct tidy *t, const char *path, int errnum);
void gone(struct tidy *t);
void remove_file(struct tidy *t, int dfd, const char *name, const char *path,
		 const struct stat *st, enum pyc_tidy_why why);
int walk_from(struct tidy *t, const char *dir);
void remove_emptied(struct tidy *t);
bool is_root_dir(const char *dir);
void refuse(struct tidy *t, enum pyc_tidy_refusal why, const char *path);
int check_cache(struct tidy *t, const char *const *dirs, size_t n);
bool ends_with(const char *s, const char *suffix);
void tidy_release(struct tidy *t);
int setup(struct tidy *t, const struct pyc_tidy_opts *o,
	  struct pyc_tidy_stats *st, file_fn *fn, char *cwdbuf);
void du_file(struct tidy *t, int dfd, const char *name, const char *path,
	     const struct stat *st);

#endif
