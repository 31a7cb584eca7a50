/*
 * pycprefix.h - the pycprefix library: CPython's bytecode cache, exactly.
 *
 * What it is for
 *   Everything a tool needs to reason about CPython's .pyc files the way the
 *   interpreter itself does: where importlib reads and writes a source's
 *   bytecode (with or without PYTHONPYCACHEPREFIX), what a pyc header says,
 *   the source hash of hash-based pycs, and whether an interpreter's
 *   SourceFileLoader would use a given pyc or recompile it.  Every rule here
 *   is the one of the target interpreter's importlib, for CPython 3.8 and
 *   later, quirks included; where versions differ, the function takes the
 *   interpreter (struct pyc_interp) whose rules apply.
 *
 * How to call it
 *   Learn an interpreter once with pyc_interp_resolve() (it finds the real
 *   executable and probes it, or reads a cached probe), then pass it to the
 *   path and freshness functions.  The path functions are pure: they never
 *   touch the file system, the current directory is an argument.
 *
 * Errors
 *   Action functions return 0 on success and -1 on failure with errno set;
 *   where a failure has more to say than errno, an optional
 *   `struct pyc_error` receives one line of text.  Predicates return bool;
 *   functions returning pointers return NULL on failure.  The library never
 *   prints and never exits.
 *
 * Memory
 *   Strings returned through `char **` out-parameters are malloc'd and owned
 *   by the caller (free()).  Structures have *_release() functions that free
 *   what they own and are safe on zero-initialised structures.  What a
 *   callback receives (the struct it is passed and every pointer in it,
 *   paths and messages) is valid only during the call: copy what you
 *   keep.
 *
 * Threads, processes and signals
 *   The library keeps no state between calls but read-only tables (and
 *   the files it is pointed at: probe cache, failure memo); every function
 *   is safe to call from several threads on distinct objects.
 *   Interpreters are started with posix_spawn(), so no library code runs
 *   in a child between fork and exec.  Process-wide state belongs to the
 *   program: the library changes no signal disposition, working directory
 *   or umask.  Signals: it writes into pipes of interpreters that may
 *   end at any moment; while workers run, pyc__pool_run() (and so
 *   pyc_compile()) blocks SIGPIPE in the calling thread only and takes
 *   away, before it returns, a SIGPIPE its own writes left pending (one
 *   pending before is left alone), so a program need do nothing about
 *   SIGPIPE.
 *
 * File names are bytes.  POSIX paths are byte strings; CPython decodes them
 * with the file-system encoding (UTF-8 with surrogateescape on Linux and
 * macOS) and every operation importlib applies to them ('/' and '.' splits,
 * prefix tests) acts on ASCII bytes, so the byte-level versions here are
 * equal to CPython's, the single exception (str.isalnum on a name part) being
 * handled with CPython's own Unicode tables.
 */
#ifndef PYCPREFIX_H
#define PYCPREFIX_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PYC_VERSION_STRING "0.1.0"

/*
 * PYC_API, on the line above each function, marks what the library
 * exports.  It is built with -fvisibility=hidden, so in a shared build
 * everything else (the modules' internal helpers) stays inside it.
 * Define PYC_API before including this header to override it.
 */
#ifndef PYC_API
#if defined(__GNUC__) && __GNUC__ >= 4
#define PYC_API __attribute__((visibility("default")))
#else
#define PYC_API
#endif
#endif

/* errno of a read of a pyc (or of one of the library's own files) that
 * is not a regular file: a FIFO, a device, a directory.  Never opened
 * for reading (a FIFO would block the open), never taken for a pyc. */
#ifdef EFTYPE
#define PYC_ENOTREG EFTYPE
#else
#define PYC_ENOTREG EMEDIUMTYPE
#endif

/* One line describing a failure, for callers who want more than errno. */
struct pyc_error {
	char msg[512];
};

/* ------------------------------------------------------------------------
 * Interpreters
 *
 * A struct pyc_interp is what the library knows of one CPython: where it
 * is, its version, its cache tag and magic number.  It is filled by probing
 * (running the interpreter once) and the result is cached on disk under
 * pyc_probe_cache_dir(), keyed by the executable's identity (device, inode,
 * size, mtime, ctime), so a changed or reinstalled interpreter is probed
 * again and an unchanged one costs a stat and a small read.  A cache
 * another user could write (a directory on its way that pyc_trust_path()
 * finds unsafe, or an entry not ours or writable by group or others) is
 * neither read nor written: the interpreter is probed again.
 */
struct pyc_interp {
	char *path;       /* the executable as resolved (a venv's python stays) */
	char *real;       /* realpath() of path: the interpreter's identity */
	char *executable; /* sys.executable as the interpreter reports it */
	char *impl;       /* sys.implementation.name, "cpython" */
	char *tag;        /* sys.implementation.cache_tag, "cpython-312" */
	char *unidata;    /* unicodedata.unidata_version, "15.0.0" */
	char *build;      /* sys.version: the release, its build's date
			     and time, the C compiler */
	int major, minor, micro;
	char level[16];   /* sys.version_info.releaselevel, "final" */
	int serial;
	uint16_t magic;   /* the 16-bit magic number, e.g. 3531 */
	unsigned char source_hash_check[8]; /* source_hash(b"pycprefix") */
};

/* Free what `in` owns and zero it.  Safe on a zeroed struct. */
PYC_API
void pyc_interp_release(struct pyc_interp *in);

/* Copy `src` into `dst` (deep).  Returns 0, or -1 with errno ENOMEM. */
PYC_API
int pyc_interp_copy(struct pyc_interp *dst, const struct pyc_interp *src);

/* The version as one comparable number: 0x030C for 3.12. */
static inline unsigned pyc_interp_hexversion(const struct pyc_interp *in)
{
	return (unsigned)(in->major << 8 | in->minor);
}

/*
 * Find the executable a --python value names: a path (anything with a '/'),
 * a bare version ("3.12": python3.12 on PATH, else the newest pyenv
 * installation of it), a bare major version ("3": the newest usable
 * interpreter of it pyc_interp_discover() finds), a full version
 * ("3.11.7", as 'pycprefix pythons' prints it: pyenv's installation of
 * that name, else a discovered final release of exactly that version),
 * a cache tag ("cpython-311": the newest discovered interpreter of that
 * tag), or a command looked up on PATH.  pyenv shims are
 * resolved as pyenv would (PYENV_VERSION, .python-version files, the global
 * version file), without running pyenv.  Stores the malloc'd path in *out.
 * Returns 0, or -1 with errno (ENOENT: nothing of that name) and `err` set.
 */
PYC_API
int pyc_interp_find(const char *spec, char **out, struct pyc_error *err);

/* Flags for pyc_interp_probe() and pyc_interp_resolve(). */
enum {
	PYC_PROBE_NO_CACHE = 1 << 0, /* neither read nor write the probe cache */
	/* accept whatever answers the probe: not CPython, older than 3.8,
	 * no cache tag, a source hash other than pyc_source_hash() */
	PYC_PROBE_ANY = 1 << 1,
};

/*
 * Learn what `exe` is: read the probe cache or run `exe -B -E -s -S -c
 * SCRIPT` once (no bytecode written, PYTHON* variables, user site and
 * site ignored; stdin /dev/null; at most 30 s).  Unless PYC_PROBE_ANY, an
 * interpreter that is not CPython >= 3.8 with a cache tag, or whose
 * source hash differs from pyc_source_hash(), is an error (errno
 * ENOTSUP).  On failure `in` is released and err says why.
 */
PYC_API
int pyc_interp_probe(const char *exe, unsigned flags, struct pyc_interp *in,
		     struct pyc_error *err);

/* pyc_interp_find() then pyc_interp_probe(). */
PYC_API
int pyc_interp_resolve(const char *spec, unsigned flags,
		       struct pyc_interp *in, struct pyc_error *err);

/*
 * Where probe results are cached: $PYCPREFIX_PROBE_CACHE, else
 * ${XDG_CACHE_HOME:-$HOME/.cache}/pycprefix-interpreters.  Malloc'd, or
 * NULL (errno ENOENT when no home is known).
 */
PYC_API
char *pyc_probe_cache_dir(void);

/*
 * How long the probe and pyc_interp_ask() wait for an interpreter, in
 * milliseconds: $PYCPREFIX_PROBE_TIMEOUT seconds (1 to 3600), else 30 s.
 */
PYC_API
int pyc_probe_timeout_ms(void);

/*
 * Ask an interpreter something as the user runs it: `exe -B -X
 * pycache_prefix=/dev/null -c code 3`, with the user's environment, so
 * site, .pth files and sitecustomize run as they do for the user, but
 * nothing is written (-B) and no pyc is read from any cache (the prefix
 * /dev/null holds none), so asking neither fills the prefix nor counts as
 * a use of its pycs.  `code` writes its answer, NUL-separated fields, to
 * the file descriptor numbered sys.argv[1]
 * (os.fdopen(int(sys.argv[1]), 'wb')); its stdout and stdin are
 * /dev/null, so what start-up code prints is never taken for the answer.
 * As the probe, bounded by pyc_probe_timeout_ms().  Returns the fields as a NULL-terminated
 * vector of *n malloc'd strings (pyc_strv_free()), or NULL with errno and
 * err: "'exe' cannot start (exit 1): <reason>" for an interpreter that
 * exits non-zero, with the reason taken from its stderr (which is
 * otherwise not shown), ETIMEDOUT when it does not answer in time.
 */
PYC_API
char **pyc_interp_ask(const char *exe, const char *code, size_t *n,
		      struct pyc_error *err);

/* Flags for pyc_interp_ask_flags(). */
enum {
	/* Only -B: the interpreter reads the pycs the user's Python reads
	 * (its PYTHONPYCACHEPREFIX, or __pycache__) and writes none, so
	 * that start-up costs what it costs the user (the throw-away
	 * prefix makes it compile site, os... from source at every ask).
	 * Reading counts as a use of those pycs, as the user's start-up
	 * does: for questions about the user's own set-up (sys.path). */
	PYC_ASK_READ_CACHE = 1 << 0,
};

/* pyc_interp_ask() with `flags`: pyc_interp_ask() is flags 0. */
PYC_API
char **pyc_interp_ask_flags(const char *exe, const char *code,
			    unsigned flags, size_t *n, struct pyc_error *err);

/* pyc_interp_ask_flags() with the interpreter options pyflags[0..nflags)
 * ("-O", "-E", "-Xpycache_prefix=DIR": one argument each) placed after
 * the library's own and before "-c", so the answer is what the
 * interpreter says when the user runs it so (with PYC_ASK_READ_CACHE,
 * a -X pycache_prefix among them is the one it sees). */
PYC_API
char **pyc_interp_ask_argv(const char *exe, const char *const *pyflags,
			   size_t nflags, const char *code, unsigned flags,
			   size_t *n, struct pyc_error *err);

/* Free a vector from pyc_interp_ask().  Safe on NULL. */
PYC_API
void pyc_strv_free(char **v, size_t n);

/* A list of interpreters, as found by pyc_interp_discover(). */
struct pyc_interp_list {
	struct pyc_interp *v;
	size_t n, alloc;
	/* Parallel to v: NULL for a usable interpreter, else why it is not
	 * (malloc'd text such as "Python 3.7 is older than 3.8"). */
	char **rejected;
};

PYC_API
void pyc_interp_list_release(struct pyc_interp_list *list);

/*
 * Every interpreter on this machine: python3, python3.N and python in the
 * directories of PATH, pyenv's versions, and the usual install locations,
 * each real executable once (the first spelling found wins).  Unusable ones
 * (too old, not CPython, failing) are kept with a reason.  Sorted newest
 * version first.  Returns 0 or -1 (ENOMEM).
 */
PYC_API
int pyc_interp_discover(struct pyc_interp_list *list);

/* ------------------------------------------------------------------------
 * Cache paths: importlib's cache_from_source() and source_from_cache()
 *
 * `prefix` is sys.pycache_prefix (NULL: no prefix, __pycache__ beside the
 * source).  `cwd` is what os.getcwd() returns in the process whose paths
 * these are; it is read only when a relative path needs it, and NULL
 * stands for a getcwd() that fails (a deleted directory).  `opt` is the
 * optimization level: 0 (no .opt- part), 1 or 2.
 */

/* How a path mapping failed, mirroring the exception CPython raises. */
enum pyc_path_error {
	PYC_PATH_OK = 0,
	PYC_PATH_INDEX,       /* IndexError (cache_from_source with a prefix,
				 when the absolute head is shorter than 2;
				 3.8 to 3.13 only) */
	PYC_PATH_VALUE,       /* ValueError */
	PYC_PATH_NOMEM,
	PYC_PATH_OS,          /* OSError: os.getcwd() failed (cwd was NULL) */
};

/*
 * cache_from_source(source, optimization=opt) under `prefix`.  Stores the
 * malloc'd pyc path in *out.  Returns PYC_PATH_OK or the error CPython
 * would raise (with `err` filled).
 */
PYC_API
enum pyc_path_error pyc_cache_from_source(const struct pyc_interp *in,
					  const char *prefix, const char *cwd,
					  const char *source, int opt,
					  char **out, struct pyc_error *err);

/*
 * source_from_cache(pyc) under `prefix`.  Stores the malloc'd source path
 * in *out.  When `opt` is not NULL it receives the optimization level the
 * name carries: 0 for none, the number for an all-ASCII-digit level, -1
 * for any other (alphanumeric) level.
 */
PYC_API
enum pyc_path_error pyc_source_from_cache(const struct pyc_interp *in,
					  const char *prefix, const char *pyc,
					  char **out, int *opt,
					  struct pyc_error *err);

/* A file name as cache_from_source() makes them: STEM.TAG[.opt-N].pyc. */
struct pyc_cache_name {
	size_t stem;    /* length of STEM: the source is STEM + ".py" */
	char tag[64];   /* "cpython-312" */
	int opt;        /* N, or 0 when there is no ".opt-N" */
};

/*
 * Parse a pyc file name from the right: ".pyc", an optional ".opt-N"
 * (decimal), the tag (letters, digits, '-', '_'), and a non-empty stem,
 * which may itself hold dots.  False when `name` is not so made.
 */
PYC_API
bool pyc_cache_name_parse(const char *name, struct pyc_cache_name *out);

/*
 * The source whose cache_from_source() is `pyc`: the exact inverse of the
 * mapping, where CPython's source_from_cache() refuses stems with dots
 * ("a.b.py" caches as "a.b.cpython-313.pyc", "a.b" would be a package
 * path).  The directory is found as source_from_cache() finds it; the
 * name's parts go to *parsed.  Stores the malloc'd source in *out.
 */
PYC_API
enum pyc_path_error pyc_source_of_cache(const char *prefix, const char *pyc,
					char **out,
					struct pyc_cache_name *parsed,
					struct pyc_error *err);

/*
 * Python's str.isalnum() of the UTF-8 (surrogateescape) string s[0..len)
 * under Unicode version `unidata` ("15.0.0"; NULL: the newest known).
 * False for the empty string, as in Python.
 */
PYC_API
bool pyc_str_isalnum(const char *s, size_t len, const char *unidata);

/*
 * Python's repr() of the str a file name s[0..len) decodes to (UTF-8 with
 * surrogateescape, as CPython decodes file names), under Unicode version
 * `unidata` (NULL: the newest known): quoted as repr() quotes, escapes
 * for the quote, backslash, \t \n \r, and \xNN, \uNNNN, \UNNNNNNNN for
 * what str.isprintable() refuses (a byte of an invalid sequence is the
 * lone surrogate \udcNN); printable characters kept, in UTF-8.  What
 * compileall prints as {!r}.  Malloc'd, or NULL (ENOMEM).
 */
PYC_API
char *pyc_py_repr(const char *s, size_t len, const char *unidata);

/* ------------------------------------------------------------------------
 * The pyc header (PEP 552)
 *
 *   pyc     = magic flags validation code
 *   magic   = u16le(number) %x0D %x0A        ; 4 bytes
 *   flags   = u32le                           ; bit 0: hash-based,
 *                                             ; bit 1: check_source,
 *                                             ; any other bit: invalid
 *   validation = u32le(mtime) u32le(size)     ; when bit 0 is clear
 *              / 8 bytes source hash          ; when bit 0 is set
 *   code    = marshal.dumps(code object)
 *
 * mtime is int(os.stat(source).st_mtime) and size st_size, both modulo
 * 2**32.  A header with only bit 1 set is a timestamp pyc to CPython.
 */
#define PYC_HEADER_SIZE 16

enum {
	PYC_FLAG_HASH = 1u << 0,
	PYC_FLAG_CHECK_SOURCE = 1u << 1,
};

/* The three kinds of pyc that compileall/py_compile write. */
enum pyc_invalidation {
	PYC_INV_TIMESTAMP,
	PYC_INV_CHECKED_HASH,
	PYC_INV_UNCHECKED_HASH,
};

struct pyc_header {
	uint16_t magic;     /* the 16-bit number, valid when magic_ok */
	bool magic_ok;      /* bytes 2..3 were \r\n */
	uint32_t flags;
	uint32_t mtime;     /* timestamp pycs */
	uint32_t size;
	unsigned char hash[8]; /* hash-based pycs */
};

/* Why a header cannot be used at all, as _classify_pyc() decides. */
enum pyc_header_status {
	PYC_HEADER_OK = 0,
	PYC_HEADER_BAD_MAGIC,  /* first 4 bytes are not the expected magic */
	PYC_HEADER_TRUNCATED,  /* fewer than 16 bytes */
	PYC_HEADER_BAD_FLAGS,  /* a flag bit other than 0 and 1 */
};

/*
 * Decode the first `len` bytes of a pyc.  Fills what can be read into `h`
 * and returns the status CPython's _classify_pyc() would give for an
 * interpreter whose magic is `expect` (0: accept any well-formed magic).
 * As in CPython, the magic is checked before the length.
 */
PYC_API
enum pyc_header_status pyc_header_parse(const unsigned char *data, size_t len,
					uint16_t expect, struct pyc_header *h);

/* Build a header: a timestamp one from mtime/size, or a hash one. */
PYC_API
void pyc_header_build(unsigned char out[PYC_HEADER_SIZE], uint16_t magic,
		      enum pyc_invalidation mode, int64_t mtime, uint64_t size,
		      const unsigned char hash[8]);

/* The invalidation mode a header's flags mean to CPython. */
PYC_API
enum pyc_invalidation pyc_header_mode(const struct pyc_header *h);

/* "timestamp", "checked-hash", "unchecked-hash". */
PYC_API
const char *pyc_invalidation_name(enum pyc_invalidation mode);

/* Parse one of those names.  Returns 0 or -1 (EINVAL). */
PYC_API
int pyc_invalidation_parse(const char *name, enum pyc_invalidation *mode);

/*
 * The CPython release whose final magic number is `magic`, as "3.12", or
 * NULL when it is not a release magic of 3.8 or later.
 */
PYC_API
const char *pyc_magic_version(uint16_t magic);

/*
 * The CPython series whose releases or pre-releases used `magic`, as
 * "2.7" or "3.12" (1.5 onwards, from CPython's MAGIC_NUMBER history), or
 * NULL when no CPython did.  Before 3.8 the header that follows is not
 * the 16-byte one described here (8 bytes before 3.3, 12 before 3.7).
 */
PYC_API
const char *pyc_magic_series(uint16_t magic);

/* The release magic of CPython major.minor, or 0 when unknown. */
PYC_API
uint16_t pyc_magic_of_version(int major, int minor);

/*
 * An interpreter known only by its cache tag ("cpython-312"), from the
 * release tables: version, tag, magic and Unicode version, no path.  For
 * pycs of interpreters that are not installed.  Returns 0, or -1 (EINVAL
 * for a tag that is not a CPython 3.8+ release's, ENOMEM).
 */
PYC_API
int pyc_interp_from_tag(const char *tag, struct pyc_interp *in);

/* int(st_mtime) as CPython computes it from st_mtim: the float
 * sec + nsec * 1e-9, truncated toward zero (so 1.9999999999 s can be 2). */
PYC_API
int64_t pyc_py_mtime(int64_t sec, long nsec);

/* ------------------------------------------------------------------------
 * Source hash: importlib.util.source_hash()
 *
 * SipHash keyed with (k0 = the interpreter's 4 magic bytes as a
 * little-endian integer, k1 = 0): SipHash-2-4 for magics below
 * PYC_MAGIC_SIPHASH13 (3.8 to 3.10), SipHash-1-3 from it (3.11 on).  The
 * 64-bit result is stored in native byte order, as _imp.source_hash()
 * does.
 */
#define PYC_MAGIC_SIPHASH13 3450
PYC_API
void pyc_source_hash(uint16_t magic, const void *data, size_t len,
		     unsigned char out[8]);

/* ------------------------------------------------------------------------
 * Freshness: would SourceFileLoader use this pyc?
 *
 * The decision is made in two steps so that the common case costs a stat
 * and a 16-byte read: pyc_judge_header() decides from the header and the
 * source's stat alone, or answers PYC_NEED_HASH; then pyc_judge_hash()
 * finishes with the source's hash.
 */
enum pyc_check_mode {  /* python --check-hash-based-pycs */
	PYC_CHECK_DEFAULT,
	PYC_CHECK_ALWAYS,
	PYC_CHECK_NEVER,
};

PYC_API
int pyc_check_mode_parse(const char *name, enum pyc_check_mode *mode);

enum pyc_state {
	PYC_FRESH,      /* Python uses the pyc as it is */
	PYC_STALE,      /* Python recompiles and rewrites it */
	PYC_MISSING,    /* no pyc (or unreadable): Python compiles and writes */
	PYC_NEED_HASH,  /* only from pyc_judge_header(): hash the source */
};

enum pyc_reason {
	PYC_WHY_NONE = 0,
	PYC_WHY_TIMESTAMP_OK,  /* fresh: mtime and size match */
	PYC_WHY_HASH_OK,       /* fresh: source hash matches */
	PYC_WHY_UNCHECKED,     /* fresh: hash pyc not checked against source */
	PYC_WHY_NO_PYC,
	PYC_WHY_MAGIC,         /* stale: another interpreter's magic */
	PYC_WHY_TRUNCATED,     /* stale: header shorter than 16 bytes */
	PYC_WHY_FLAGS,         /* stale: invalid flags */
	PYC_WHY_MTIME,         /* stale: source mtime differs */
	PYC_WHY_SIZE,          /* stale: source size differs */
	PYC_WHY_HASH,          /* stale: source hash differs */
	PYC_WHY_NOT_REGULAR,   /* missing: a FIFO, device or directory */
};

/* A short phrase for a reason: "source mtime differs". */
PYC_API
const char *pyc_reason_text(enum pyc_reason why);

/* A word for a state: "fresh", "stale", "missing". */
PYC_API
const char *pyc_state_name(enum pyc_state st);

struct pyc_verdict {
	enum pyc_state state;
	enum pyc_reason why;
	/* An unchecked-hash pyc whose source no longer has its hash: Python
	 * uses it (runs old code) without noticing.  Set only when the hash
	 * was computed, which pyc_judge_header() asks for on such pycs when
	 * PYC_JUDGE_VERIFY_UNCHECKED is given. */
	bool unchecked_changed;
	/* The kind of pyc its header says it is, when the header could be
	 * read whole (the state is not PYC_MISSING, and the reason is none
	 * of magic, truncated, flags): compile rewrites a fresh pyc that is
	 * not of the kind asked for. */
	enum pyc_invalidation kind;
};

enum {
	PYC_JUDGE_VERIFY_UNCHECKED = 1 << 0,
};

/* What pyc_judge_header() needs to know of the source: its stat. */
struct pyc_source_stat {
	int64_t mtime_sec;
	long mtime_nsec;
	uint64_t size;
};

/*
 * Decide from the first `len` (up to 16) bytes of the pyc.  `data` NULL
 * means there is no readable pyc.  Returns the verdict, whose state is
 * PYC_NEED_HASH when the source hash must be compared: then call
 * pyc_judge_hash() with it.
 */
PYC_API
struct pyc_verdict pyc_judge_header(uint16_t magic, enum pyc_check_mode mode,
				    const unsigned char *data, size_t len,
				    const struct pyc_source_stat *src,
				    unsigned flags);

/* Finish a PYC_NEED_HASH verdict: `data` is the same 16-byte header,
 * `hash` the source's pyc_source_hash(). */
PYC_API
struct pyc_verdict pyc_judge_hash(enum pyc_check_mode mode,
				  const unsigned char *data,
				  const unsigned char hash[8]);

/*
 * The one freshness judgement, as `in`'s SourceFileLoader makes it, that
 * every command makes: read the first 16 bytes of `pyc` (opened as
 * pyc_open_pyc() opens, relative to the directory descriptor `dfd`, or
 * AT_FDCWD), decide from them and the source's stat (`src`, or NULL to
 * stat() `source` here), and when the mode and the pyc's flags ask for it
 * (or `flags` has PYC_JUDGE_VERIFY_UNCHECKED), hash the source.  Returns
 * 0 with *v filled, or -1 when the source cannot be stat'ed or read
 * (errno; Python would fail to import it too).
 */
PYC_API
int pyc_judge_files(const struct pyc_interp *in, enum pyc_check_mode mode,
		    const char *source, const struct pyc_source_stat *src,
		    int dfd, const char *pyc, unsigned flags,
		    struct pyc_verdict *v);

/*
 * The one orphan rule, which status, prune, show and the failure memo
 * apply: is the source of a pyc gone?  True when stat() says ENOENT, or
 * ENOTDIR (a directory on its path is now a file).  Any other failure
 * (EACCES, ELOOP...) is no proof: the pyc is not an orphan.
 */
PYC_API
bool pyc_source_gone(const char *source);

/*
 * Open a pyc read-only (close-on-exec) for a look that must not count as
 * use: prune's --older-than and --max-size take a pyc's access time for
 * its last use, so every read pycprefix makes of a pyc goes through here.
 * O_NOATIME where the kernel grants it (to the file's owner, or with
 * CAP_FOWNER); where it refuses (EPERM: another user's pyc), a plain open,
 * whose read the kernel may then record as an access (under relatime:
 * when the access time is older than the modification time or a day).
 * Opened with O_NONBLOCK (a FIFO in a pyc's place would block the open
 * forever) and then checked: anything but a regular file is refused
 * with errno PYC_ENOTREG, and pyc_judge_files() judges it missing
 * (PYC_WHY_NOT_REGULAR), as it is no pyc Python can use.
 * Returns the descriptor, or -1 with errno.
 */
PYC_API
int pyc_open_pyc(const char *path);

/* ------------------------------------------------------------------------
 * Trust: may another user change what the prefix holds?
 *
 * Python runs what the prefix holds.  As ssh's StrictModes, a directory
 * is safe for user `uid` when it is owned by uid or root and no one else
 * can write into it: group or world write only with the sticky bit, or
 * (group write) when the group is the owner's private group, named as
 * the owner and with no other member.
 */
struct stat;

enum pyc_trust {
	PYC_TRUST_OK = 0,
	PYC_TRUST_OWNER,      /* owned by another user (not root) */
	PYC_TRUST_WRITABLE,   /* others may write into it, not sticky */
	PYC_TRUST_NOT_DIR,
};

PYC_API
enum pyc_trust pyc_trust_stat(const struct stat *st, uid_t uid);
PYC_API
const char *pyc_trust_str(enum pyc_trust t);

/* Called for an unsafe directory; path and st are valid during the call
 * only. */
typedef void pyc_trust_fn(const char *path, enum pyc_trust t,
			  const struct stat *st, void *arg);

/*
 * Check '/' and every directory down to `dir` (relative to the current
 * directory when not absolute) that exists, as spelled and, when a
 * symlink is on the way, as resolved; fn() (unless NULL) is called for
 * each unsafe one.
 * Returns the number of unsafe directories, or -1 (errno).
 */
PYC_API
int pyc_trust_path(const char *dir, uid_t uid, pyc_trust_fn *fn, void *arg);

/*
 * Is `tag` the sys.implementation.cache_tag of a real implementation, so
 * that a NAME.TAG[.opt-N].pyc carrying it is a cache artifact?  CPython's
 * "cpython-" + digits ("cpython-38", "cpython-313"), PyPy's "pypy" +
 * digits ("pypy39", "pypy310"), GraalPy's "graalpy231-310" (older
 * "graalpy-38", GraalPython's "graalpython-38").  Not "foo", as in Python 2's shipped
 * "__phello__.foo.pyc".
 */
PYC_API
bool pyc_cache_tag_is_real(const char *tag);

/* ------------------------------------------------------------------------
 * Compiling trees into the cache
 *
 * pyc_compile() walks the roots as compileall does (each directory's
 * entries in byte order, paths joined from the root as given,
 * "__pycache__" skipped, symlinked directories entered only with
 * PYC_COMPILE_FOLLOW_SYMLINKS and then each real directory once; every
 * regular file named *.py is a source), decides for each source,
 * interpreter and level whether the pyc Python would read is fresh and of
 * the requested invalidation mode (pyc_judge_files(); an unchecked-hash
 * pyc whose source no longer matches counts as stale), and has the stale
 * ones compiled by long-lived workers of that interpreter (`python -s -S
 * -B -c WORKER`, compiling as importlib does), largest sources first.  When
 * nothing is stale no interpreter is started.  Progress and per-file
 * events go to callbacks, in the caller's thread.
 *
 * The bytes written depend on the source, the compiled filename and the
 * interpreter only, not on the run: workers ignore the PYTHON* variables
 * of the environment as -E would, except PYTHONHASHSEED, which they get as
 * it is set or else as 0 (a set constant is marshalled in hash order), and
 * nothing of one job stays alive while the next compiles.  Two runs on the
 * same sources give byte-identical pycs (reproducible builds; set
 * SOURCE_DATE_EPOCH, or a hash-based mode, for the header).
 *
 * Each pyc is written to a temporary file in its own directory
 * (".pycprefix-" and 12 hex digits, created O_EXCL with importlib's mode
 * under the umask), renamed over its final name; no directory below the
 * prefix is entered through a symlink.  Every reader sees the old pyc or
 * the new one whole.  Nothing is fsync()ed (importlib does not either):
 * after a power loss or a kernel crash a pyc may be empty or partly
 * written, which Python recompiles (a short header) or, past the header,
 * fails to load.
 */
enum {
	PYC_COMPILE_FORCE = 1 << 0,          /* rebuild even fresh pycs */
	PYC_COMPILE_DRY_RUN = 1 << 1,        /* report, write nothing */
	PYC_COMPILE_HARDLINK_DUPES = 1 << 2, /* equal levels share a file */
	PYC_COMPILE_FOLLOW_SYMLINKS = 1 << 3,
	PYC_COMPILE_INSECURE = 1 << 4,       /* write where others could */
	/* The store_dir is the default one, not asked for: where its file
	 * system keeps no extended attributes (each object's digest), run
	 * without it, with one PYC_EV_STORE_OFF event saying so, instead
	 * of failing. */
	PYC_COMPILE_STORE_IF_ABLE = 1 << 5,
};

/* Optimization levels one run compiles at most: 0, 1 and 2. */
#define PYC_MAX_LEVELS 3

enum pyc_event_kind {
	PYC_EV_COMPILED,       /* written (warnings may be attached) */
	PYC_EV_WOULD_COMPILE,  /* dry run: would be written */
	PYC_EV_FAILED,         /* the source did not compile, or could not
				  be read or written: line/col/message */
	PYC_EV_WALK_ERROR,     /* a root or directory could not be read */
	PYC_EV_FRESH,          /* its pyc is fresh: left as it is */
	PYC_EV_STORE_BAD,      /* a store object (pyc: its path) was
				  unsound (message: how): discarded, the
				  source compiled again */
	PYC_EV_STORE_OFF,      /* the run goes on without the store
				  (PYC_COMPILE_STORE_IF_ABLE): message */
};

/* What the event callback receives: it and every pointer in it are valid
 * only during the call. */
struct pyc_event {
	enum pyc_event_kind kind;
	const struct pyc_interp *in;  /* NULL for walk errors */
	const char *source;
	const char *pyc;              /* when one path is concerned */
	unsigned line, col;           /* 0 when not known */
	const char *message;
	unsigned nwarnings;
	const char *warnings;         /* NUL-separated "line: text" */
	/* PYC_EV_FAILED: the interpreter's compiler refused the source
	 * (a SyntaxError, say: importing it fails the same way), not a
	 * read, write or worker failure. */
	bool source_error;
	/* A failure of the same cause as one reported before (a symlink
	 * in the prefix refused): a front end may count it, or list it,
	 * without saying the cause again. */
	bool repeated;
	/* PYC_EV_COMPILED: every level written from the store, no worker
	 * compiled it (in a dry run, PYC_EV_WOULD_COMPILE: would be); and
	 * how many of its pycs are hardlinks to the store's objects
	 * (served, or compiled and linked to the object just added). */
	bool from_store;
	unsigned linked;
};

/* How far a run is, for its progress callback (valid for the call): the
 * sources finished (compiled or failed) of those it compiles, and their
 * bytes.  Sources go largest first, so the count alone overstates the
 * work left.  Totals grow as each interpreter's sources are planned. */
struct pyc_progress {
	size_t done, total;
	uint64_t done_bytes, total_bytes;
};

struct pyc_compile_opts {
	const struct pyc_interp *interps;
	size_t ninterps;
	const char *prefix;            /* NULL: __pycache__ beside sources */
	int levels[PYC_MAX_LEVELS];    /* distinct, ascending */
	int nlevels;
	enum pyc_invalidation mode;
	unsigned flags;
	int jobs;                      /* workers per interpreter */
	int timeout_ms;                /* one file's compile; 0 none */
	/* optional */
	bool (*exclude)(const char *path, void *arg);
	void (*event)(const struct pyc_event *ev, void *arg);
	void (*progress)(const struct pyc_progress *p, void *arg);
	void *arg;
	atomic_int *stop;              /* set non-zero to stop early (a
					  signal handler may) */
	/* Optional: a directory where each interpreter's compile errors
	 * are kept from run to run, so that a source that failed and has
	 * not changed since (same inode, size, mtime and ctime) is reported
	 * again without starting a worker.  pyc_failure_memo_dir() is the
	 * usual place.  PYC_COMPILE_FORCE compiles such sources anyway.
	 * A dry run reads it (and reports those sources as failed, as the
	 * real run would) but never writes it. */
	const char *memo_dir;
	/* Optional, as exclude, with the root (one of pyc_compile()'s
	 * `roots`, as given) under which the walk found `path`: for
	 * patterns relative to it (gitignore's and rsync's way). */
	bool (*exclude_in)(const char *root, const char *path, void *arg);
	/* Optional: the filename compiled into the code of `path`, found
	 * under `root` (co_filename, what tracebacks show: compileall's
	 * -d/-s/-p), malloc'd; NULL keeps `path`.  Called in the caller's
	 * thread when the source is sent to a worker.  A pyc found fresh
	 * is kept whatever filename it was compiled with. */
	char *(*name_of)(const char *root, const char *path, void *arg);
	/* Optional: the shared bytecode store (see "The store" below),
	 * created when missing; NULL: none.  A source whose bytes the
	 * store has compiled before, for this compiler and level, is
	 * written from it (hardlinked when the pyc's bytes are an object's
	 * and both are on one file system) without a worker, and each
	 * compiled source is added to it.  A store that cannot be opened
	 * (another user's, writable by others, no extended attributes on
	 * its file system) stops the run: pyc_compile() returns -1 with
	 * err saying why (callers that want to go on without it pass
	 * NULL). */
	const char *store_dir;
};

/* ${XDG_CACHE_HOME:-~/.cache}/pycprefix-failures, malloc'd; NULL with
 * errno. */
PYC_API
char *pyc_failure_memo_dir(void);

/* The store of runs without a prefix (pycs in __pycache__):
 * ${XDG_CACHE_HOME:-~/.cache}/pycprefix-store (beside the default
 * prefix, not in it), malloc'd; NULL with errno. */
PYC_API
char *pyc_store_default_dir(void);

/* The store of a prefix: PREFIX/.pycprefix-store, malloc'd; NULL with
 * errno.  Prefix walks (prune, clean, du, status, doctor) treat it as
 * the store, never as mirrored sources. */
PYC_API
char *pyc_store_prefix_dir(const char *prefix);

/* Counts of pycs, one per (source, interpreter, level), as status
 * counts them; sources apart.  A source reached by several roots is one
 * source. */
struct pyc_compile_stats {
	size_t sources;   /* distinct sources found by the walk */
	size_t fresh;     /* pycs already fresh, left alone */
	size_t compiled;  /* pycs written (or listed, in a dry run) */
	size_t failed;    /* pycs not written: the source did not compile
			     or could not be read, or the write failed */
	size_t source_errors; /* of those, pycs whose source did not
				 compile (pyc_event.source_error) */
	size_t warnings;  /* warnings reported by the compiler */
	size_t walk_errors;
	size_t from_store; /* of compiled: written from the store */
	size_t linked;     /* of those: hardlinks to store objects */
	size_t store_bad;  /* unsound store objects discarded */
};

/*
 * Compile the sources under roots.  Returns 0 when it ran to the end
 * (individual failures are in stats and events), -1 with errno and err on
 * an error that stops the run (EINTR when *stop was set; EACCES when a
 * write failed for lack of permission at the prefix itself or at the
 * first directory that mirrors the sources, which every write goes
 * through: one error, not one per file).
 */
PYC_API
int pyc_compile(const struct pyc_compile_opts *o, const char *const *roots,
		size_t nroots, struct pyc_compile_stats *stats,
		struct pyc_error *err);

/* ------------------------------------------------------------------------
 * Compiling an explicit list: the engine under a compileall front end
 *
 * pyc_compile_list() compiles sources the caller chose, in the caller's
 * order, each with the pyc path of each of its levels spelled out (so
 * that a front end decides where pycs go: __pycache__, a prefix, legacy
 * "x.pyc" beside the source) and the filename compiled into its code
 * (compileall's -d/-s/-p).  It walks nothing and decides nothing about
 * which files are sources: that is the caller's.  What it does is the
 * rest of pyc_compile(): each (source, level) whose pyc
 * pyc_judge_files() finds fresh is left alone, unless PYC_COMPILE_FORCE
 * (fresh means: the pyc is of the kind asked for, or a timestamp pyc,
 * which compileall keeps whatever mode it is asked for, with an
 * unchecked-hash pyc whose source changed counted stale); the others are
 * compiled by workers of `in` (none started when nothing is stale) and
 * written by the one atomic writer, through no symlink below the
 * deepest directory of the pyc's path that exists.  Levels are
 * compiled and written in the item's order, so two levels sharing one
 * path leave the last one's code there (compileall -b with several -o).
 *
 * Every item gets exactly one event when the call returns 0 (after an
 * error or *stop, the items it did not reach have none), in the
 * caller's thread, in the
 * order the work finishes (not the list's: workers run in parallel);
 * the event carries the item's index so the caller can put its output
 * back in list order.  The event and its pointers are valid during the
 * call only.
 */

/* The filename compiled into an item's code is `name`, or its source. */
struct pyc_list_item {
	const char *source;                /* the path to read, as spelled */
	const char *name;                  /* co_filename; NULL: source */
	int nlevels;                       /* 1 to PYC_MAX_LEVELS */
	int levels[PYC_MAX_LEVELS];        /* 0, 1, 2 (repeats allowed) */
	const char *pyc[PYC_MAX_LEVELS];   /* where each level goes */
};

enum pyc_list_outcome {
	PYC_LIST_FRESH,        /* every level's pyc fresh: nothing written */
	PYC_LIST_COMPILED,     /* the stale levels written */
	PYC_LIST_SOURCE_ERROR, /* the compiler refused it: message */
	PYC_LIST_READ_ERROR,   /* the source could not be read: errnum */
	PYC_LIST_WRITE_ERROR,  /* `pyc` could not be written: errnum */
	/* PYC_LIST_REFUSE_SPECIAL: `pyc` is a symlink, or exists and is no
	 * regular file (py_compile refuses both with FileExistsError) */
	PYC_LIST_PYC_SYMLINK,
	PYC_LIST_PYC_NOT_REGULAR,
	PYC_LIST_WORKER_ERROR, /* the worker died or timed out: message */
};

struct pyc_list_event {
	size_t index;                  /* into the caller's items */
	enum pyc_list_outcome outcome;
	int errnum;                    /* read and write errors */
	const char *pyc;               /* write errors, refusals */
	const char *message;           /* source and worker errors */
	unsigned line, col;            /* source errors, 0 when not known */
	unsigned nwarnings;
	const char *warnings;          /* NUL-separated "line: text" */
	bool opened;                   /* read errors: the source opened,
					* reading it failed */
};

enum {
	/* the source error message as py_compile words it
	 * (PyCompileError.msg: the SyntaxError's traceback text with the
	 * compiled filename, "Sorry: TypeName: message" for others), as
	 * the interpreter's own py_compile makes it */
	PYC_LIST_PYCOMPILE_MSG = 1 << 8,
	/* refuse, as py_compile does, to replace a pyc path that is a
	 * symlink or another non-regular file (checked before the source
	 * is read or compiled) */
	PYC_LIST_REFUSE_SPECIAL = 1 << 9,
};

struct pyc_list_opts {
	const struct pyc_interp *in;
	enum pyc_invalidation mode;
	/* PYC_COMPILE_FORCE, PYC_COMPILE_HARDLINK_DUPES (a level whose code
	 * equals the previous level's, both paths in one directory, is a
	 * hard link to it), PYC_LIST_* */
	unsigned flags;
	int jobs;                      /* workers; < 1: one */
	int timeout_ms;                /* one file's compile; 0 none */
	void (*event)(const struct pyc_list_event *ev, void *arg);
	void *arg;
	atomic_int *stop;              /* optional, as in pyc_compile() */
};

/*
 * Compile `items[0..n)`.  Returns 0 when it ran to the end (failures
 * are events), or -1 with errno and err: ENOMEM, EINTR (*stop was set),
 * or no worker could start (err says why).
 */
PYC_API
int pyc_compile_list(const struct pyc_list_opts *o,
		     const struct pyc_list_item *items, size_t n,
		     struct pyc_error *err);

/* ------------------------------------------------------------------------
 * Status: what Python would do with the cache of a tree
 *
 * For every source under the roots, each interpreter and each level: the
 * verdict of pyc_judge_files() (fresh, stale and why, missing; and an
 * unchecked-hash pyc whose source changed).  Then, in the part of the
 * cache that mirrors each root (the prefix's copy of the root directory,
 * or the __pycache__ folders inside it), every pyc whose source is gone is
 * an orphan.  A source with no fresh pyc that the failure memo
 * (memo_dir) says does not compile, the file unchanged since, is broken.
 * Nothing is written and no interpreter is started.
 */
enum pyc_status_state {
	PYC_ST_FRESH,
	PYC_ST_STALE,
	PYC_ST_MISSING,
	PYC_ST_ORPHAN,
	PYC_ST_UNCHECKED_CHANGED,
	/* no pyc, or a stale one, because the source does not compile: the
	 * failure memo (memo_dir) holds its error, for this very file */
	PYC_ST_BROKEN,
};

PYC_API
const char *pyc_status_name(enum pyc_status_state st);

/* One verdict, for the entry callback: valid only during the call, as
 * the path and message the error callback receives. */
struct pyc_status_entry {
	enum pyc_status_state state;
	const struct pyc_interp *in;   /* NULL for orphans */
	const char *source;
	const char *cache;
	const char *reason;            /* a phrase, "" when fresh */
	/* stale or missing, and the store (store_dir) holds the code of
	 * this source for this interpreter and level: compile would write
	 * the pyc from it, without compiling (the object is stat'ed, not
	 * verified) */
	bool in_store;
};

struct pyc_status_opts {
	const struct pyc_interp *interps;
	size_t ninterps;
	const char *prefix;            /* NULL: in-tree */
	int levels[PYC_MAX_LEVELS];
	int nlevels;
	enum pyc_check_mode mode;      /* python --check-hash-based-pycs */
	unsigned flags;                /* PYC_COMPILE_FOLLOW_SYMLINKS */
	/* Optional: pyc_compile_opts.memo_dir, read (never written) so that
	 * a source compile found not to compile, unchanged since, is
	 * PYC_ST_BROKEN rather than missing or stale. */
	const char *memo_dir;
	/* Optional: the store compile uses (pyc_store_prefix_dir(),
	 * pyc_store_default_dir()), only looked into: for each stale or
	 * missing pyc the source is read and hashed and the object of its
	 * code stat'ed.  One not there, or that compile would refuse (not
	 * owner-only), holds nothing. */
	const char *store_dir;
	void (*entry)(const struct pyc_status_entry *e, void *arg);
	void (*error)(const char *path, const char *message, void *arg);
	void *arg;
};

struct pyc_status_counts {
	size_t n[PYC_ST_BROKEN + 1];
	size_t errors;
	size_t from_store;   /* of stale and missing: in_store */
};

/* Report on the roots.  Returns 0, or -1 (ENOMEM). */
PYC_API
int pyc_status(const struct pyc_status_opts *o, const char *const *roots,
	       size_t nroots, struct pyc_status_counts *counts);

/* ------------------------------------------------------------------------
 * Tidying the cache: prune, clean, migrate, du, audit
 *
 * All of them walk directories through file descriptors opened with
 * O_NOFOLLOW, look at entries with lstat semantics, never descend into a
 * symlink and delete with unlinkat() relative to the directory they
 * examined: a symlink planted anywhere below the starting directory (for
 * prune, anywhere below the prefix) is never followed, and nothing is
 * deleted that is not a regular file whose name and place make it a
 * cache artifact.  What is removed after the walk (--max-size eviction,
 * the directories it empties) is reached again through the same chain
 * of directories, each checked to be the one walked, and a file is
 * removed only while it is the one measured (device, inode, size and
 * modification time).
 */

/* Why a file was (or, in a dry run, would be) removed or moved. */
enum pyc_tidy_why {
	PYC_TIDY_ORPHAN,      /* its source is gone */
	PYC_TIDY_STALE,       /* its interpreter would recompile it */
	PYC_TIDY_TEMP,        /* a temporary file left by a killed writer */
	PYC_TIDY_TAG,         /* its interpreter is not installed */
	PYC_TIDY_OLD,         /* not used for longer than --older-than */
	PYC_TIDY_SIZE,        /* evicted, least recently used, for --max-size */
	PYC_TIDY_PYCACHE,     /* clean: inside a __pycache__ folder */
	PYC_TIDY_LEGACY,      /* clean: a .pyc/.pyo beside its .py */
	PYC_TIDY_SOURCELESS,  /* clean --sourceless: a .pyc with no .py */
	PYC_TIDY_MOVED,       /* migrate: moved into the prefix */
	PYC_TIDY_DIR,         /* an emptied directory */
	PYC_TIDY_TAG_LISTED,  /* its tag is one of dead_tags */
	PYC_TIDY_STORE_UNUSED, /* a store object no pyc links to, not used
				  within store_age */
};

PYC_API
const char *pyc_tidy_why_text(enum pyc_tidy_why why);

/* One removal (or move), for the event callback: valid only during the
 * call, as the path and message the error callback receives. */
struct pyc_tidy_event {
	enum pyc_tidy_why why;
	const char *path;
	const char *to;        /* migrate: where it went */
	/* what removing it freed: its size, or 0 for a name of a file
	 * with several (hard links) but the last one to go */
	uint64_t bytes;
};

enum {
	PYC_TIDY_DRY_RUN = 1 << 0,
	PYC_TIDY_SOURCELESS_TOO = 1 << 1, /* clean: also sourceless pycs */
	PYC_TIDY_INSECURE = 1 << 2,       /* migrate where others could write */
	PYC_TIDY_OLDER_THAN = 1 << 3,     /* prune: older_than applies (0 too) */
	PYC_TIDY_MAX_SIZE = 1 << 4,       /* prune: max_size applies (0 too) */
	PYC_TIDY_UNINSTALLED = 1 << 5,    /* prune: remove pycs of every real
					     tag none of `interps` has */
	PYC_TIDY_STORE_AGE = 1 << 6,      /* prune: store_age applies (0 too) */
};

struct pyc_tidy_opts {
	const char *prefix;
	unsigned flags;
	/* prune */
	const char *const *dead_tags;   /* remove pycs of these tags */
	size_t ndead_tags;
	int64_t older_than;             /* seconds, with PYC_TIDY_OLDER_THAN */
	uint64_t max_size;              /* bytes, with PYC_TIDY_MAX_SIZE */
	int64_t temp_grace;             /* temp files younger are left */
	/* prune, with PYC_TIDY_STORE_AGE: the prefix's store objects that
	 * no pyc links to (one name) and that no run used (read) for
	 * this many seconds or more are removed (0: all of them); without
	 * it, only --tags and --max-size remove objects */
	int64_t store_age;
	/* prune: the installed interpreters; a pyc is judged stale only by
	 * the interpreter of its tag, never from the release tables (a pyc
	 * of a tag with none here goes only with PYC_TIDY_UNINSTALLED or
	 * dead_tags).  migrate: whose pycs may move; NULL: all release
	 * tags. */
	const struct pyc_interp *interps;
	size_t ninterps;
	void (*event)(const struct pyc_tidy_event *ev, void *arg);
	void (*error)(const char *path, const char *message, void *arg);
	void *arg;
};

/* Why a tree was refused before anything in it was touched. */
enum pyc_tidy_refusal {
	PYC_REFUSED_NONE,
	PYC_REFUSED_ROOT,     /* it is '/' */
	PYC_REFUSED_SOURCE,   /* the prefix holds a source (a *.py file) */
	PYC_REFUSED_PYCACHE,  /* the prefix holds a __pycache__ folder */
};

struct pyc_tidy_stats {
	size_t files;      /* removed (or moved) */
	uint64_t bytes;
	size_t dirs;       /* directories removed */
	size_t kept;       /* pycs looked at and kept */
	size_t errors;
	/* After PYC_TIDY_REFUSED: why, and the entry that showed it
	 * (malloc'd, the caller frees it). */
	enum pyc_tidy_refusal refused;
	char *refused_path;
};

/* Returned by pyc_prune(), pyc_clean() and pyc_migrate() when they
 * refused the tree, having removed nothing: see st->refused. */
#define PYC_TIDY_REFUSED (-2)

/*
 * In every removal, directories count as files do: a directory is
 * emptied when everything in it was removed (or, in a dry run, would
 * be), and a dry run reports exactly the events the real run then
 * makes, in the same order, each emptied directory after what it held.
 */

/* prune: in the prefix below each of `dirs` (the whole prefix when
 * ndirs is 0; "/" names the whole prefix too).  A cache tree never holds
 * sources or __pycache__ folders: before removing anything the trees to
 * walk are searched for either, and a prefix that is '/' or holds one is
 * refused (PYC_TIDY_REFUSED).  Only regular files named
 * NAME.TAG[.opt-N].pyc with a real cache tag (pyc_cache_tag_is_real())
 * and temporary files are removed.
 *
 * The prefix's store (pyc_store_prefix_dir()) is no mirror: its objects
 * are never judged as pycs, and neither are those of the store of
 * --in-tree runs (pyc_store_default_dir()) when it lies in the prefix
 * (a prefix such as ~/.cache holds it).  With the whole prefix (ndirs
 * 0), prune then walks each such store: a temporary file older than
 * temp_grace goes, and an object goes when no other name of its file is
 * left (no pyc links to it: st_nlink 1, counting the pycs this run
 * removes) and its last use is store_age seconds ago or more
 * (PYC_TIDY_STORE_AGE: PYC_TIDY_STORE_UNUSED), or its compiler's tag is
 * one of dead_tags (PYC_TIDY_TAG_LISTED) or, with PYC_TIDY_UNINSTALLED,
 * the tag of no interpreter of `interps` (PYC_TIDY_TAG), whatever its
 * last use.  Anything else in the store (not ours) stays, and so do the
 * store's directories.  --max-size counts the store too,
 * each file once however many names it has, and evicts, least recently
 * used first, pycs and objects no pyc links to (an object with the same
 * last use as its pycs after them, so that it goes once they have).
 * Eviction order: the last use being the later of the access and
 * modification times in whole seconds; ties in byte order of the path.
 * A prefix that does not exist yet holds nothing: 0, nothing done.
 * Returns 0, PYC_TIDY_REFUSED, or -1 (errno). */
PYC_API
int pyc_prune(const struct pyc_tidy_opts *o, const char *const *dirs,
	      size_t ndirs, struct pyc_tidy_stats *st);

/* prune of a store alone (a store of --in-tree runs, or one compile's
 * --store names): as pyc_prune() prunes the stores in a prefix, with
 * store_age, dead_tags, PYC_TIDY_UNINSTALLED and max_size (counting that
 * store alone); o->prefix is not used.  A store that is not there holds
 * nothing: 0.  Returns 0, or -1 (errno; ENOTDIR: no directory, a
 * symlink too). */
PYC_API
int pyc_prune_store(const struct pyc_tidy_opts *o, const char *store,
		    struct pyc_tidy_stats *st);

/* clean: __pycache__ folders and legacy pycs under each root; a root
 * that is '/' is refused (PYC_TIDY_REFUSED). */
PYC_API
int pyc_clean(const struct pyc_tidy_opts *o, const char *const *roots,
	      size_t nroots, struct pyc_tidy_stats *st);

/* migrate: fresh in-tree pycs under each root into the prefix, refused
 * (PYC_TIDY_REFUSED) as prune refuses it when the prefix is no cache. */
PYC_API
int pyc_migrate(const struct pyc_tidy_opts *o, const char *const *roots,
		size_t nroots, struct pyc_tidy_stats *st);

/* One pyc seen by pyc_du(): its tag, level, directory and root.  It and
 * its strings are valid only during the callback. */
struct pyc_du_item {
	const char *tag;    /* "cpython-312", or "?" */
	int level;          /* 0, 1, 2, or -1 */
	const char *dir;    /* below the prefix, "home/u/proj" */
	/*
	 * The sys.path entry its module is imported from, as an absolute
	 * source directory: the deepest site-packages or dist-packages in
	 * its source directory D; else the deepest lib/pythonX.Y (an
	 * interpreter's standard library); else the directory above the
	 * outermost package (folder with __init__.py) holding D, which is D
	 * itself when D is no package (or its sources are gone).  NULL from
	 * pyc_audit().
	 */
	const char *root;
	uint64_t bytes;      /* apparent size: st_size */
	uint64_t disk_bytes; /* allocated: st_blocks * 512 */
	bool linked;         /* another name of this file came before: its
				bytes are counted there (pyc_du() only) */
	const struct stat *st; /* lstat() of it, valid during the call:
				  st_dev and st_ino tell its names apart */
};

struct pyc_du_ops {
	void (*pyc)(const struct pyc_du_item *it, void *arg);
	/* a directory that could not be read, and why */
	void (*error)(const char *path, const char *message, void *arg);
	void *arg;
};

/*
 * Walk the prefix and call back for every pyc.  st->kept counts the pycs,
 * st->bytes their apparent size with each file counted once (hard links
 * of a file already seen add nothing), st->errors the directories that
 * could not be read.  Returns 0 or -1 (ENOMEM).
 */
PYC_API
int pyc_du(const char *prefix, const struct pyc_du_ops *ops,
	   struct pyc_tidy_stats *st);

/* What pyc_audit() reports of one entry inside the prefix. */
enum pyc_audit_kind {
	PYC_AUDIT_SYMLINK,     /* Python would follow it; we never do */
	PYC_AUDIT_FOREIGN,     /* owned by another user (not root) */
	PYC_AUDIT_OPEN_DIR,    /* a directory others may write into */
	PYC_AUDIT_TEMP,        /* a temporary file of a writer */
};

/* Valid only during the finding callback, as its path and stat. */
struct pyc_audit_item {
	enum pyc_audit_kind kind;
	const char *path;
	const struct stat *st;  /* lstat() of it */
};

struct pyc_audit_ops {
	void (*finding)(const struct pyc_audit_item *it, void *arg);
	void (*pyc)(const struct pyc_du_item *it, void *arg); /* optional */
	void (*error)(const char *path, const char *message, void *arg);
	void *arg;
};

/*
 * Walk the prefix (never following a link) and report, for the
 * effective user, what another user could use or what a killed writer
 * left; with ops->pyc, also every pyc as pyc_du() does (one walk for
 * both).  st->kept and st->bytes count the pycs.  A prefix that is '/'
 * or holds a source or a __pycache__ folder is no cache: the walk stops
 * there (what was reported until then means nothing) and it returns
 * PYC_TIDY_REFUSED with st->refused and st->refused_path set, as
 * prune does.  Returns 0, PYC_TIDY_REFUSED or -1.
 */
PYC_API
int pyc_audit(const char *prefix, const struct pyc_audit_ops *ops,
	      struct pyc_tidy_stats *st);

/*
 * The symlinks inside the tree `root` that lead back into it: each
 * symlink (the walk follows none) to a directory, or named *.py, whose
 * real path is inside root's real path: Python reaches the modules
 * there by two paths and caches them twice.  fn(path, arg) for each, in
 * walk order (path valid during the call); directories that cannot be
 * read are passed over.  Returns 0, or -1 (errno: root cannot be
 * resolved; ENOMEM).
 */
PYC_API
int pyc_tree_links(const char *root,
		   void (*fn)(const char *path, void *arg), void *arg);

/* ------------------------------------------------------------------------
 * The store's lifecycle: its size, its check
 *
 * Inside a store (pyc_store_prefix_dir(), pyc_store_default_dir()) each
 * entry is one of: an object (a regular file named and placed as the
 * layout in the store's documentation says: v1/COMPILER/FAN/OBJECT), a
 * temporary file of a writer, a part of the layout (the directories,
 * each compiler's "identity", the CACHEDIR.TAG), or not ours: anything
 * else, symlinks and devices included, is reported and never removed
 * nor followed.  Walks go through the one walker (never a symlink), and
 * reads of objects do not count as use (O_NOATIME).
 */

/* What a store holds. */
struct pyc_store_usage {
	size_t objects;
	uint64_t bytes;            /* apparent size of the objects */
	uint64_t disk_bytes;       /* allocated: st_blocks * 512 */
	size_t linked;             /* objects with other names (st_nlink > 1):
				      pycs link to them */
	size_t temps;              /* temporary files of writers */
	size_t others;             /* entries that are not ours */
	size_t errors;             /* directories that could not be read */
	/* pyc_du_store() only: the allocated bytes hard links save, for
	 * each file with k names seen in the prefix and its store
	 * (k - 1) x its allocated size; and the allocated bytes of the
	 * objects no pyc seen in the prefix shares (what the store adds
	 * to the pycs' size) */
	uint64_t saved_disk_bytes;
	uint64_t own_disk_bytes;
};

/*
 * Measure the store at `store`; when `base` is not NULL, store is
 * `base` or below it and is reached from base as no symlink after it
 * (pyc_store_prefix_dir(prefix) with base prefix).  A store that is not
 * there holds nothing: 0.  Returns 0, or -1 (errno: ENOMEM, or the
 * store cannot be opened).
 */
PYC_API
int pyc_store_measure(const char *store, const char *base,
		      struct pyc_store_usage *u);

/*
 * pyc_du() of the prefix, and its store measured in *u (u->saved and
 * u->own counted across both); the store of --in-tree runs too when it
 * lies in the prefix (a prefix such as ~/.cache), in the same counts.
 * Returns as pyc_du().
 */
PYC_API
int pyc_du_store(const char *prefix, const struct pyc_du_ops *ops,
		 struct pyc_tidy_stats *st, struct pyc_store_usage *u);

/* What pyc_store_check() finds. */
enum pyc_store_finding_kind {
	PYC_STORE_UNSOUND,      /* an object that is not sound: why */
	PYC_STORE_LINK_UNSOUND, /* a pyc in the prefix sharing its file with
				   other names and carrying the store's
				   digest, not sound (rewritten in place):
				   why */
	PYC_STORE_FOREIGN,      /* an entry another user owns (not root) */
	PYC_STORE_NOT_OURS,     /* no object, temp or part of the layout */
	PYC_STORE_TEMP,         /* a temporary file of a writer */
	PYC_STORE_UNTRUSTED,    /* the store's root or its v1: a symlink,
				   another user's, or writable by others:
				   why */
};

/* Valid only during the finding callback. */
struct pyc_store_finding {
	enum pyc_store_finding_kind kind;
	const char *path;
	const char *why;          /* "" when the kind says it all */
	const struct stat *st;    /* lstat() of it */
};

struct pyc_store_check_ops {
	void (*finding)(const struct pyc_store_finding *f, void *arg);
	void (*error)(const char *path, const char *message, void *arg);
	void *arg;
};

struct pyc_store_check_stats {
	size_t objects;    /* objects verified */
	size_t links;      /* shared pycs of the prefix verified */
	size_t unsound;    /* of both, not sound */
	size_t findings;   /* every finding */
	size_t errors;     /* what could not be read */
};

/*
 * Check the store at `store` (reached from `prefix` as no symlink after
 * it when prefix is not NULL): every object's content against its
 * digest (nothing is removed: doctor says what to do), every entry's
 * owner, and its root and v1 as the store is trusted: owned by the
 * effective user, writable by no one else, no symlink.  With `prefix`,
 * also every pyc in the prefix that has several names (st_nlink > 1)
 * and the store's digest attribute: a tool that rewrote a shared pyc in
 * place damaged every name of it, the store's object included.  A store
 * that is not there: 0, nothing found.  Returns 0, or -1 (ENOMEM).
 */
PYC_API
int pyc_store_check(const char *prefix, const char *store,
		    const struct pyc_store_check_ops *ops,
		    struct pyc_store_check_stats *st);

/* ------------------------------------------------------------------------
 * The prefix
 */

/*
 * The prefix a user's setting means: `opt` (a --prefix value) if not NULL,
 * else $PYTHONPYCACHEPREFIX when set and not empty (as CPython reads it),
 * else ${XDG_CACHE_HOME:-$HOME/.cache}/pycprefix.  Stores the malloc'd
 * prefix, unchanged (a relative prefix stays relative, as in CPython), and
 * where it came from ("--prefix", "PYTHONPYCACHEPREFIX", "default").
 * Returns 0, or -1 with errno (EINVAL: empty --prefix; ENOENT: no home).
 */
PYC_API
int pyc_prefix_resolve(const char *opt, char **out, const char **origin);

enum {
	/* Write even when another user could change the prefix. */
	PYC_PREFIX_INSECURE = 1 << 0,
};

/*
 * Make the prefix ready to be written: check that no other user can
 * change it (pyc_trust_path() for the effective user; fn, if not NULL, is
 * called for each unsafe directory), then create it and its missing
 * parents (mode 0755 before the umask: writable by the owner only).  A
 * prefix this call creates gets a CACHEDIR.TAG (see below), written
 * atomically and never over a file of that name; one that existed
 * before is left as it is (it may be a directory holding more than the
 * cache), and a tag that cannot be written is no error.
 * Returns 0, or -1 with errno and err: EPERM when a directory is unsafe
 * (unless PYC_PREFIX_INSECURE), ENOTDIR, what mkdir() said, or (EACCES,
 * EROFS) that the effective user cannot write into the prefix.
 */
PYC_API
int pyc_prefix_prepare(const char *prefix, unsigned flags, pyc_trust_fn *fn,
		       void *arg, struct pyc_error *err);

/*
 * The Cache Directory Tagging Specification (https://bford.info/cachedir/),
 * honoured by tar --exclude-caches, borg and restic: a directory holding
 * a file PYC_CACHEDIR_TAG_NAME that begins with the 43 bytes of
 * PYC_CACHEDIR_TAG_SIGNATURE is a cache, and backups skip what it holds.
 * PYC_CACHEDIR_TAG is the whole file pycprefix writes.
 */
#define PYC_CACHEDIR_TAG_NAME "CACHEDIR.TAG"
#define PYC_CACHEDIR_TAG_SIGNATURE \
	"Signature: 8a477f597d28d172789f06886806bc55"
#define PYC_CACHEDIR_TAG \
	PYC_CACHEDIR_TAG_SIGNATURE "\n" \
	"# This file is a cache directory tag created by pycprefix.\n" \
	"# For information about cache directory tags, see:\n" \
	"#\thttps://bford.info/cachedir/\n"

/*
 * Does `prefix` hold a cache directory tag: a regular file (reached as
 * tar reaches it, a symlink followed) named PYC_CACHEDIR_TAG_NAME that
 * begins with the signature?  false when not, or when it cannot be read.
 */
PYC_API
bool pyc_prefix_tagged(const char *prefix);

#endif /* PYCPREFIX_H */
