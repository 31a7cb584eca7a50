/*
 * internal.h - helpers shared between library modules; not public.
 */
#ifndef PYC_INTERNAL_H
#define PYC_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "pycprefix.h"
#include "engine.h"

/* The little-endian u32 of the pyc header and the worker protocol. */
static inline uint32_t pyc__get_u32le(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline void pyc__put_u32le(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* CLOCK_MONOTONIC in nanoseconds and in milliseconds, as 64 bits (a
 * 32-bit long holds tv_sec * 1000 for 24 days of uptime only). */
static inline int64_t pyc__monotonic_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static inline int64_t pyc__monotonic_ms(void)
{
	return pyc__monotonic_ns() / 1000000;
}

/* One line of text for the caller into err (when not NULL); errno is
 * kept. */
void pyc__set_error(struct pyc_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* pyc__set_error(), then errno = errnum; returns -1, so that a failure
 * is one statement: return pyc__error(err, ENOENT, "no '%s'", name); */
int pyc__error(struct pyc_error *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Order release names ("3.12.1", "15.0.0"): <0, 0 or >0 as strcmp(),
 * runs of digits compared as numbers. */
int pyc__version_cmp(const char *a, const char *b);

/* ${XDG_CACHE_HOME:-$HOME/.cache}/<leaf>, malloc'd; NULL with errno. */
/* $HOME, or (unset or empty) the password database's home directory of
 * the real user, as Python's os.path.expanduser() finds it: malloc'd,
 * or NULL (ENOENT, ENOMEM). */
char *pyc__home_dir(void);
char *pyc__cache_home_path(const char *leaf);

/* mkdir -p: create dir and its missing parents with `mode`.  0 or -1. */
int pyc__mkdir_p(const char *dir, unsigned mode);

/* read() until `cap` bytes or end of file; the count, or -1 (errno). */
ssize_t pyc__read_full(int fd, void *p, size_t cap);

struct stat;

/* As pyc__read_file, also giving the fstat of the file read. */
char *pyc__read_file_stat(const char *path, size_t *len, struct stat *st);

/* As pyc__read_file_stat; on failure *opened tells whether the file was
 * opened (the error came from reading it) or not (from opening it). */
char *pyc__read_file_opened(const char *path, size_t *len, struct stat *st,
			    bool *opened);

/* The whole file into a malloc'd buffer (NUL-terminated, *len excludes
 * the NUL).  NULL with errno on failure. */
char *pyc__read_file(const char *path, size_t *len);

struct pyc_interp;

/* discover.c, for resolve.c: is path a regular file we may execute? */
bool pyc__is_executable(const char *path);

/* The first size - 1 bytes of a file that starts with "#!" into head
 * (NUL-terminated), or false. */
bool pyc__script_head(const char *path, char *head, size_t size);

/* Is path a pyenv shim (a script that execs "libexec/pyenv" exec)? */
bool pyc__is_pyenv_shim(const char *path);

/* $PYENV_ROOT, else $HOME/.pyenv; malloc'd, NULL when neither is known. */
char *pyc__pyenv_root(void);

/* Why a probed interpreter cannot serve (into why), or NULL if it can. */
const char *pyc__interp_unusable(const struct pyc_interp *in, char *why,
				 size_t size);

/*
 * Why an interpreter ended with `status` (0..255, or 128 + signal), from
 * what it wrote on stderr (out, len): "cannot start (exit 1): <the Fatal
 * Python error> (<the exception>)", or "failed (exit N): <the exception,
 * else its first line>".  One line, into why.
 */
void pyc__startup_reason(const char *out, size_t len, int status, char *why,
			 size_t size);

/* Move dfd/name to `rel` below `dir` (created as pyc__write_atomic does):
 * a rename, or across file systems an atomic copy and an unlink of the
 * original if it is still the file copied (pyc__unlink_same()). */
int pyc__move_atomic(int src_dfd, const char *src_name, const char *dir,
		    const char *rel, unsigned flags);

/* Where a write of `rel` below `dir` meets a symlink, which
 * pyc__write_atomic() refuses (it then fails with ENOTDIR): the length of
 * rel's leading part that names the first symlinked directory, 0 when
 * there is none (or the way cannot be examined), -1 when `dir` cannot be
 * opened. */
ssize_t pyc__write_symlink(const char *dir, const char *rel);

struct pyc_interp;

/* The cache directory that mirrors source directory `dir` under prefix
 * (for '/', the prefix) into *out (malloc'd), or the path rule's error
 * (with err; *out NULL): PYC_PATH_OS (a relative dir and no current
 * directory), PYC_PATH_VALUE or PYC_PATH_INDEX (no mirror), or
 * PYC_PATH_NOMEM. */
enum pyc_path_error pyc__mirror_dir(const struct pyc_interp *in,
				    const char *prefix, const char *cwd,
				    const char *dir, char **out,
				    struct pyc_error *err);

/* open(path) read-only relative to dfd (AT_FDCWD), close-on-exec, plus
 * `flags`, without counting as use: pyc_open_pyc()'s rule. */
int pyc__open_noatime(int dfd, const char *path, int flags);

/* What the freshness rules take of a source's stat (st_mtim, st_size). */
struct pyc_source_stat pyc__source_stat_of(const struct stat *st);

struct pyc_cache_name;

/* Is `pyc` (a path in the prefix, or in __pycache__ when prefix is NULL)
 * a cache artifact: named NAME.TAG[.opt-N].pyc with a real cache tag?
 * Then *source is its source (malloc'd) and cn its parts. */
bool pyc__cache_artifact(const char *prefix, const char *pyc, char **source,
			 struct pyc_cache_name *cn);

/* Does s end with suffix? */
bool pyc__ends_with(const char *s, const char *suffix);

/* Is `path` inside the prefix?  Then what follows the prefix and its
 * separator ("/p", "/p/w/a.pyc": "w/a.pyc"; "/": all of an absolute
 * path), with *len the prefix's length without trailing slashes (1 for
 * "/"); else NULL.  "/pq/a.pyc" is not inside "/p". */
const char *pyc__below_prefix(const char *prefix, const char *path,
			     size_t *len);

/*
 * The file a pyc path names, as one string for comparisons: two paths
 * that give the same string reach the same file.  Below the prefix
 * (where every directory is ours and none is a symlink) empty and "."
 * components go and ".." is the parent; beside the sources only empty
 * and "." components go (a ".." after a symlink is not the lexical
 * parent), and a relative path is made absolute with cwd.  Two
 * spellings CPython names two pycs for (a symlinked directory under a
 * prefix) stay two.  malloc'd, or NULL (ENOMEM).
 */
char *pyc__pyc_identity(const char *prefix, const char *cwd,
			const char *pyc);

/* Threads for one pass at most: past a few they only contend in the
 * kernel's path lookups.  Below PYC_PASS_MIN_FILES files a pass runs in
 * the calling thread alone: a thread costs more than those take. */
#define PYC_PASS_THREADS 8
#define PYC_PASS_MIN_FILES 256

/* The files [0, n) of a pass, handed out in runs to whichever thread
 * asks first.  Zero-initialise, set n. */
struct pyc_pass {
	size_t n;
	atomic_size_t next;
};

/* How many threads a pass over `nfiles` files should use (1 for few). */
size_t pyc__pass_threads(size_t nfiles);

/* The next run [*from, *to) of the pass, or false when all are taken. */
bool pyc__pass_next(struct pyc_pass *p, size_t *from, size_t *to);

/*
 * Helper threads kept for all the passes of one run (parallel.c says
 * why).  Zero-initialise; pyc__helpers_start() as soon as a pass is
 * known to be coming (it may start fewer threads, or none);
 * pyc__helpers_run() a pass; pyc__helpers_stop() at the end (safe when
 * never started).  Used from one thread.
 */
struct pyc_helper {
	struct pyc_helpers *pool;
	size_t index;
};

struct pyc_helpers {
	bool live;
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	pthread_t tid[PYC_PASS_THREADS];
	struct pyc_helper h[PYC_PASS_THREADS];
	size_t n;                  /* helpers running */
	unsigned long gen;         /* passes started */
	atomic_ulong posted;       /* gen, for helpers that spin */
	atomic_bool rest;          /* no pass soon: sleep, do not spin */
	atomic_size_t running;     /* helpers still in this pass */
	bool quit;
	void *(*fn)(void *);
	char *args;
	size_t size;
};

void pyc__helpers_start(struct pyc_helpers *p);

/* How many per-thread arguments a pass needs (helpers + the caller). */
size_t pyc__helpers_width(const struct pyc_helpers *p);

/* Call fn(args + k * size) in this thread (k == 0) and in each helper
 * (k >= 1), and wait for all; each fn takes runs of one shared struct
 * pyc_pass until none is left.  A pass over fewer than
 * PYC_PASS_MIN_FILES files, or without helpers, is fn(args) here. */
void pyc__helpers_run(struct pyc_helpers *p, size_t nfiles,
		      void *(*fn)(void *), void *args, size_t size);

/* No pass is coming soon (the compilers are about to run): idle helpers
 * sleep at once instead of spinning on a core the work needs. */
void pyc__helpers_rest(struct pyc_helpers *p);

void pyc__helpers_stop(struct pyc_helpers *p);

/* du.c: the root a pyc's space belongs to (rule in du.c) and hard links
 * counted once.  Zero-initialise; one walk at a time. */
struct pyc__inodes {
	struct pyc__inode {
		dev_t dev;
		ino_t ino;
		bool used;
		size_t count;  /* pyc__inodes_count()'s */
	} *v;
	size_t n, cap;
};

/* 1 when (dev, ino) is new (now remembered), 0 when seen, -1 (ENOMEM). */
int pyc__inodes_add(struct pyc__inodes *s, dev_t dev, ino_t ino);

/* Add delta (+1 or -1) to the count of (dev, ino), remembered with count
 * 0 when new: the count after, or -1 (ENOMEM).  For the names of a file
 * a tidy run removed (tidy.c) or keeps (prune.c). */
long pyc__inodes_count(struct pyc__inodes *s, dev_t dev, ino_t ino,
		       int delta);
/* The count pyc__inodes_count() keeps for (dev, ino), 0 when not
 * there; changes nothing. */
size_t pyc__inodes_get(const struct pyc__inodes *s, dev_t dev, ino_t ino);
void pyc__inodes_release(struct pyc__inodes *s);

/* The root of the pycs of absolute source directory `dir`, malloc'd. */
char *pyc__du_root(const char *dir);

struct pyc__du_state {
	char *dir, *root;          /* the last directory asked about */
	struct pyc__inodes seen;   /* files with more than one link */
};

struct stat;

/* For a pyc in source directory `dir`: its root (valid until the next
 * call) and whether another name of the same file came before.  0 or -1
 * (ENOMEM). */
int pyc__du_note(struct pyc__du_state *s, const char *dir,
		 const struct stat *st, const char **root, bool *linked);
void pyc__du_state_release(struct pyc__du_state *s);

struct pyc_result;

/*
 * Decode one worker response from p[0..len) (grammar in pycprefix.h).
 * Returns 1 with *res filled (pointers into p; res->warnings malloc'd,
 * free it) and *used the frame's size, 0 when more bytes are needed, -1
 * when the bytes are not a response.
 */
int pyc__parse_response(const unsigned char *p, size_t len,
			struct pyc_result *res, size_t *used);

#endif
