/*
 * engine.h - the library's machinery, internal: the walk of source trees,
 * the atomic writer and the worker pool, which pyc_compile(), pyc_status()
 * and the tidy operations are built on.  Not installed: nothing outside
 * src/lib uses them (the CLI uses pycprefix.h alone).  internal.h
 * includes it.
 */
#ifndef PYC_ENGINE_H
#define PYC_ENGINE_H

#include "pycprefix.h"
#include "buf.h"

/* ------------------------------------------------------------------------
 * Walking source trees, as compileall does
 *
 * Directory entries are visited in byte order (compileall sorts
 * os.listdir()); paths are spelled os.path.join(dir, name) from the root as
 * given.  "__pycache__" entries are skipped; symlinked directories are not
 * descended unless PYC_WALK_FOLLOW (then each real directory once, so
 * loops end).  Every entry that is a regular file after following
 * symlinks and whose name ends in ".py" is a source.
 */
enum {
	PYC_WALK_FOLLOW = 1 << 0,
	/* An entry the directory lists as a regular file named *.py is
	 * passed with st == NULL, not stat()ed: a caller that stats its
	 * sources in parallel threads spares the walk that system call.
	 * Such an entry may be gone, or no longer a regular file, by then:
	 * the caller treats it as the walk would have (ENOENT, ENOTDIR,
	 * ELOOP or not a regular file: not a source; another error:
	 * reported). */
	PYC_WALK_LAZY_STAT = 1 << 1,
};

struct stat;

/* The path (and st) a callback receives is valid only during the call. */
struct pyc_walk_ops {
	/* Called for each source; return non-zero to stop the walk.  `st`
	 * is NULL for a source left unexamined (PYC_WALK_LAZY_STAT). */
	int (*source)(const char *path, const struct stat *st, void *arg);
	/* Called for a directory that cannot be read, or a root that does
	 * not exist (errnum); the walk goes on. */
	void (*error)(const char *path, int errnum, void *arg);
	/* Optional: return true to leave `path` (file or directory) out. */
	bool (*exclude)(const char *path, void *arg);
	void *arg;
};

/* Walk `root` (a directory, or a single file).  Returns 0, the non-zero
 * value a callback stopped with, or -1 (ENOMEM). */
int pyc__walk(const char *root, unsigned flags, const struct pyc_walk_ops *ops);

/* For PYC_WALK_LAZY_STAT: stat() a source the walk passed unexamined,
 * judging it as the walk would have.  Returns 0 (a source; *st filled),
 * -1 (no longer a source: gone, a dangling symlink, a loop, or not a
 * regular file; os.path.isfile() says False: skip it quietly), or the
 * errno of a failure to report, as the walk reports one. */
int pyc__walk_stat_source(const char *path, struct stat *st);

/* ------------------------------------------------------------------------
 * Writing into the cache
 *
 * The one function that writes pycs.  `dir` is a directory that must
 * exist (the prefix, or the source's directory); `rel` the path below it
 * ("a/b/x.cpython-312.pyc").  Each component of rel's directory is opened
 * with O_NOFOLLOW, so nothing is written through a symlink below `dir`,
 * and created (mode 0755 before the umask) when missing.  The data goes to
 * a temporary file in the final directory, named
 *
 *   tmp = ".pycprefix-" 12*HEXDIG              ; lowercase hex
 *
 * whatever the final name, so that a pyc name as long as the file system
 * allows (NAME_MAX) can be written.  (Versions before wrote
 * "." name ".pycprefix-" 8*HEXDIG; pyc__is_temp_name() knows both.)
 * created O_EXCL with mode `mode` (under the umask, as importlib does),
 * and is renamed over the final name: to every reader, the old file or
 * the new one whole, never a part.  Nothing is fsync()ed (importlib's
 * _write_atomic does not either): after a power loss or a kernel crash
 * the pyc may be empty or hold part of its data, which Python judges
 * stale (a short header) or, past the header, may fail to load.  On
 * failure the temporary file is removed and errno kept.
 */
enum {
	/* Refuse (EPERM) to go through a directory below `dir` that
	 * pyc_trust_stat() does not call safe: for prefixes. */
	PYC_WRITE_STRICT = 1 << 0,
	/* Never replace: fail with EEXIST when the final name exists
	 * (the temporary is linked to it, then removed). */
	PYC_WRITE_NOREPLACE = 1 << 1,
};

int pyc__write_atomic(const char *dir, const char *rel, const void *data,
		     size_t len, unsigned mode, unsigned flags);

/* An extended attribute the writer sets on the temporary file before
 * it gets its name (the store's digest). */
struct pyc__attr {
	const char *name;
	const void *value;
	size_t len;
};

/* As pyc__write_atomic(), below the open directory dirfd; attr (when
 * not NULL) is set before the file is published, st (when not NULL)
 * gets its fstat. */
int pyc__write_atomic_at(int dirfd, const char *rel, const void *data,
			size_t len, unsigned mode, unsigned flags,
			const struct pyc__attr *attr, struct stat *st);

/* Make `rel` (below `dir`) a hard link to `target_rel` (below `dir`),
 * atomically replacing what was there.  Same safety as above. */
int pyc__link_atomic(const char *dir, const char *target_rel, const char *rel,
		    unsigned flags);

/*
 * The directory a thread wrote into last, kept open for the next pyc in
 * it (sources come directory by directory: the walk down from `dir`,
 * an open and a check per component, is then made once a directory,
 * not once a pyc).  Zero it with fd -1; one per thread.
 */
struct pyc__wdir {
	struct buf key;
	int fd;
};

void pyc__wdir_release(struct pyc__wdir *w);

/* pyc__write_atomic(), through w (NULL: none). */
int pyc__write_atomic_w(struct pyc__wdir *w, const char *dir,
			const char *rel, const void *data, size_t len,
			unsigned mode, unsigned flags);

/* Make `rel` (below `dir`) a hard link to src_dfd/src_name, atomically
 * replacing what was there, with the same safety (through w, NULL:
 * none); when `expect` is not NULL, only if the file linked is that one
 * (pyc__same_file()), else ESTALE and nothing changes.  EXDEV across
 * file systems. */
int pyc__link_from(struct pyc__wdir *w, int src_dfd, const char *src_name,
		   const struct stat *expect, const char *dir, const char *rel,
		   unsigned flags);

/* Is `name` one of our temporary files, or CPython's "NAME.pyc.DIGITS"? */
bool pyc__is_temp_name(const char *name);

/* ------------------------------------------------------------------------
 * The worker pool: real interpreters compile
 *
 * pyc__pool_run() starts `jobs` worker processes of one interpreter
 * (`python -s -S -B -c WORKER`, the PYTHON* variables but PYTHONHASHSEED
 * removed from its environment, that one set to 0 when unset), feeds them
 * over pipes and calls back.  The
 * pool asks ops->next() for a job whenever a worker is idle, reports each
 * result with ops->done(), and a job whose worker died or ran past the
 * time-out with ops->failed() (the worker is replaced, the run goes on).
 * Only the calling thread runs callbacks, so output never interleaves.
 * A worker's stderr is read by the pool: what it wrote before its hello
 * is kept to say why a worker that ends before saying hello could not
 * start, and the rest is dropped.
 *
 * The protocol (all integers u32 little-endian):
 *
 *   hello    = "H" u32(1)                           ; worker -> parent
 *   request  = "C" u8(n) n*u8(level) u32(len) path u32(len) source
 *              u32(len) name u8(flags)
 *   name     = the file name compiled into the code (co_filename, what
 *              tracebacks and the SyntaxError show); empty: path
 *   flags    = bit 0: the error message is py_compile's
 *              (PyCompileError(type, exc, name).msg, made by the worker's
 *              own py_compile, so each version's text), else
 *              "Type: message"
 *   response = "R" u32(nwarn) nwarn*warning result
 *   warning  = u32(line) u32(len) text              ; "Category: message"
 *   result   = "K" u32(n) n*(u32(len) marshalled-code)  ; one per level
 *            / "E" u32(line) u32(col) u32(len) message
 *
 * The worker compiles as importlib does: compile(source_bytes, name,
 * 'exec', dont_inherit=True, optimize=level), so encoding declarations and
 * BOMs are honoured; warnings are recorded, not printed.
 */

struct pyc_job {
	const char *path;          /* the source, as spelled */
	const char *name;          /* compiled filename; NULL: path */
	unsigned flags;            /* PYC_JOB_* */
	const unsigned char *src;  /* its bytes */
	size_t len;
	int levels[PYC_MAX_LEVELS];
	int nlevels;
	void *user;                /* the caller's */
};

enum {
	/* The failure message is py_compile.PyCompileError's msg. */
	PYC_JOB_PYCOMPILE_MSG = 1 << 0,
};

struct pyc_result {
	bool ok;
	/* ok: marshalled code per level, in the job's order; ncodes as the
	 * worker sent them (pyc__pool_run() reports a job whose worker sent
	 * fewer or more than its levels failed, not done) */
	const unsigned char *code[PYC_MAX_LEVELS];
	size_t code_len[PYC_MAX_LEVELS];
	unsigned ncodes;
	/* !ok: where and why */
	uint32_t line, col;
	const char *message;
	/* warnings, "line: Category: message", NUL-separated */
	unsigned nwarnings;
	const char *warnings;
};

/* The pool keeps its own copy of each job from next() until done() or
 * failed() is called with it: what job->path and job->src point to must
 * stay valid until then.  res and why are valid only during the call. */
struct pyc_pool_ops {
	/* Fill *job; return 1, or 0 when there is no more work. */
	int (*next)(void *arg, struct pyc_job *job);
	void (*done)(void *arg, struct pyc_job *job,
		     const struct pyc_result *res);
	void (*failed)(void *arg, struct pyc_job *job, const char *why);
	void *arg;
};

/*
 * Run jobs until ops->next() has none and all are done, or *stop becomes
 * non-zero (then workers are ended and the function returns -1, EINTR;
 * any thread, or a signal handler, may set it).  A job whose worker
 * answers a number of code objects other than its levels is reported
 * with ops->failed().  SIGPIPE is blocked in the calling thread while
 * the pool runs (see "Threads, processes and signals" in pycprefix.h); workers start with the
 * caller's signal mask.
 * timeout_ms bounds one job (0: none).  Returns 0, or -1 with errno and
 * err set when no worker can be started at all ("workers of 'X' cannot
 * start (exit 1): <reason from its stderr>").
 */
/* The PYTHONHASHSEED workers run with: the caller's, or "0". */
const char *pyc__pool_hash_seed(void);

int pyc__pool_run(const struct pyc_interp *in, int jobs, int timeout_ms,
		 const struct pyc_pool_ops *ops, atomic_int *stop,
		 struct pyc_error *err);

#endif
