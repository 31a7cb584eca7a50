/*
 * store.h - the shared bytecode store (internal).
 *
 * Every source a worker compiles leaves its pyc in the store, keyed by
 * what decides its bytes: the compiler, the SHA-256 of the source's
 * bytes and the optimization level.  A later run that needs a pyc for
 * a source with the same bytes, in any tree, at any path, writes it from
 * the store with the header this source needs, or hardlinks it when the
 * whole bytes are equal, and starts no interpreter.  The code keeps the
 * co_filename of the path it was first compiled at: importlib's
 * SourceFileLoader sets every code object's co_filename to the importing
 * path when it loads a pyc (_imp._fix_co_filename), so tracebacks,
 * __file__ and inspect see the new path.  Only pycs at a path a
 * SourceFileLoader reads (a __pycache__ or the prefix), compiled under
 * their source's own path, are served from the store: a legacy pyc
 * ("x.pyc", read by SourcelessFileLoader, which fixes nothing) or a
 * name given with -d/-s/-p is compiled.
 *
 * The layout, below the store's root (mode 0700, its owner's):
 *
 *   store    = "v1/" compiler "/" fan "/" object
 *   compiler = tag "-" 16*HEXDIG      ; the first 8 bytes of
 *                                     ; SHA-256(identity), lowercase
 *   fan      = 2*HEXDIG               ; the source digest's first byte
 *   object   = 62*HEXDIG "." level "." form   ; the digest's rest
 *   level    = "0" / "1" / "2"
 *   form     = "c"                    ; checked-hash pyc
 *            / "u"                    ; unchecked-hash pyc
 *            / "t" 8*HEXDIG 8*HEXDIG  ; timestamp pyc: the header's
 *                                     ; mtime and size fields
 *
 * and, in each compiler's directory, "identity": the text hashed.
 *
 *   identity = "pycprefix-store-compiler-1" LF impl LF sys.version LF
 *              magic-hex LF hash-seed LF
 *
 * Why that is enough: the compiler is part of the interpreter binary,
 * and compile() is a function of the source bytes, the optimization
 * level and the binary.  sys.version names the release and the build
 * (its date, time and the C compiler), so a rebuild with patches is
 * another compiler; the magic number changes whenever the bytecode
 * does, pre-releases included; the hash seed orders the sets marshal
 * writes.  A venv's python is its base interpreter's binary: they share.
 *
 * An object's content is the exact pyc, header and marshalled code, so
 * that a pyc in a tree can be a hardlink to it.  Its extended attribute
 * PYC_STORE_XATTR holds the SHA-256 of that content (32 bytes), set
 * before the object gets its name: every read verifies it, and a
 * truncated, corrupted or foreign object (no attribute, another
 * owner, not a regular file, a header that does not fit its name) is
 * reported, discarded and compiled again, never copied into a pyc.
 * The checked-hash object ("c") of a (compiler, source, level) is
 * always written: it is where the code is found for the other forms.
 * A "u" object is made from it for unchecked-hash pycs; a "t" object
 * only for a source with several links (a uv install's hardlinked
 * files), whose timestamp pycs are equal; a timestamp pyc of a source
 * with one link is written as a copy.
 *
 * Objects are written to a temporary file in their directory, given
 * the attribute, then linked to their name only if no other has it
 * (PYC_WRITE_NOREPLACE): concurrent runs share the store, the first
 * writer wins, an object is never replaced, and a kill at any instant
 * leaves the object whole or absent (and a temporary file prune
 * clears).  A tree's pyc is linked to an object only on the same file
 * system and when the object's mode is the one the pyc would get
 * (importlib's: the source's, plus owner write); otherwise it is
 * written as a copy.
 *
 * Thread safety: a struct pyc__store is read-only after
 * pyc__store_open() and pyc__store_compiler(); the object functions
 * may run in several threads at once.
 */
#ifndef PYC_STORE_H
#define PYC_STORE_H

#include "pycprefix.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define PYC_STORE_XATTR "user.pycprefix.sha256"
#define PYC_STORE_VERSION_DIR "v1"
#define PYC_STORE_IDENTITY "identity"
/* Below a prefix, the store is this directory. */
#define PYC_STORE_IN_PREFIX ".pycprefix-store"
/* An object larger than this is not one of ours. */
#define PYC_STORE_MAX_OBJECT (256u << 20)

struct pyc__store {
	char *path;        /* the store's root, as given */
	int fd;            /* the root's "v1", open O_DIRECTORY */
	dev_t dev;         /* its file system */
	mode_t umask;      /* the process's, read at open */
	unsigned flags;    /* PYC__STORE_*, as opened */
};

enum {
	PYC__STORE_CREATE = 1 << 0,   /* create what is missing */
	PYC__STORE_INSECURE = 1 << 1, /* do not refuse another's store */
};

/*
 * Open the store at `path`: with PYC__STORE_CREATE, created (mode 0700,
 * with a CACHEDIR.TAG) when missing.  Refused (EPERM, err says why)
 * when the root or "v1" is another user's or writable by others, or is
 * a symlink; ENOTSUP when its file system keeps no extended attributes
 * (checked once, when the store is created).  Returns 0 or -1.
 */
int pyc__store_open(struct pyc__store *s, const char *path, unsigned flags,
		    struct pyc_error *err);

/* Close; safe on a zeroed struct. */
void pyc__store_close(struct pyc__store *s);

/* One compiler's directory. */
struct pyc__store_comp {
	const struct pyc__store *s;
	int fd;              /* its directory, open O_DIRECTORY */
	char id[64];         /* tag "-" 16 hex */
	uint16_t magic;
};

/* The identity text of `in` for workers run with `hash_seed` (what
 * PYTHONHASHSEED the pool gives them), malloc'd. */
char *pyc__store_identity(const struct pyc_interp *in, const char *hash_seed);

/* Open (with PYC__STORE_CREATE at open: create, and write its identity)
 * the directory of `in`'s compiler.  0, or -1 with errno. */
int pyc__store_compiler(const struct pyc__store *s,
			const struct pyc_interp *in,
			struct pyc__store_comp *c);

void pyc__store_compiler_close(struct pyc__store_comp *c);

/* What names an object. */
struct pyc__store_key {
	unsigned char digest[32];  /* SHA-256 of the source's bytes */
	int level;
	char form[20];             /* "c", "u" or "t" + 16 hex */
	bool has_hash;             /* a hash-based object's header must */
	unsigned char hash[8];     /* hold this source hash */
};

/* The SHA-256 of len bytes at p into out. */
void pyc__sha256(const void *p, size_t len, unsigned char out[32]);

/* key for the source bytes at src (its digest), at `level`, for a pyc of
 * kind `mode` (a timestamp pyc: mtime and size are its header's). */
void pyc__store_key(struct pyc__store_key *k, const unsigned char digest[32],
		    int level, enum pyc_invalidation mode, uint32_t mtime,
		    uint32_t size);

/* Have pyc__store_get() check that a "c" or "u" object's header holds
 * `hash`, the source hash of the bytes at hand: an object of another
 * source under this one's name (a tool's doing, or a collision) is
 * unsound, not served. */
void pyc__store_key_expect_hash(struct pyc__store_key *k,
				const unsigned char hash[8]);

/* "fan/object" of k into out (at least 80 bytes). */
void pyc__store_key_name(const struct pyc__store_key *k, char *out,
			 size_t size);

/* Parse "fan/object" (or the object's name alone, fan then NULL) back
 * into k; false when it is not an object's name. */
bool pyc__store_parse_name(const char *fan, const char *name,
			   struct pyc__store_key *k);

/* An object read and verified. */
struct pyc__store_obj {
	unsigned char *data;   /* the whole pyc, malloc'd */
	size_t len;
	struct stat st;
};

void pyc__store_obj_release(struct pyc__store_obj *o);

enum pyc__store_got {
	PYC__STORE_HIT = 0,    /* o filled, content verified */
	PYC__STORE_MISS = 1,   /* no such object */
	PYC__STORE_BAD = 2,    /* there, but not sound: why says how; the
				  object was removed */
};

/*
 * Read and verify k's object: a regular file owned by the store's
 * owner, of at most PYC_STORE_MAX_OBJECT bytes, whose attribute is the
 * SHA-256 of its content, whose header holds c's magic and the flags
 * of k's form (and, for "t", k's mtime and size; for a key given a
 * source hash, that hash).  Returns a
 * pyc__store_got, or -1 with errno (a read error: nothing removed).
 */
int pyc__store_get(const struct pyc__store_comp *c,
		   const struct pyc__store_key *k, struct pyc__store_obj *o,
		   char *why, size_t size);

/*
 * Verify the object (or a pyc linked to one) `name` in the open
 * directory dfd, as pyc__store_get() does, without a key: the content
 * against its attribute.  0 sound, 1 not (why says how; nothing
 * removed), -1 error (errno).  A file without the attribute is not
 * sound.
 */
int pyc__store_verify_at(int dfd, const char *name, char *why, size_t size);

/*
 * Add the pyc data[0..len) as k's object, mode `mode` (under the
 * umask).  0 when it is there afterwards (written: st, when not NULL,
 * is its fstat; or another run's already: *existed true, st untouched),
 * -1 with errno (ENOSPC leaves nothing behind).
 */
int pyc__store_put(const struct pyc__store_comp *c,
		   const struct pyc__store_key *k, const void *data,
		   size_t len, unsigned mode, bool *existed, struct stat *st);

/*
 * Put a hardlink to k's object, the one verified in o (its st), at
 * `rel` below `dir`, atomically replacing what is there, with the
 * writer's safety (flags as pyc__write_atomic(); w as
 * pyc__link_from()'s).  -1 with errno:
 * EXDEV another file system, EMLINK too many links, ESTALE the object
 * is no longer the one verified; the caller writes a copy instead.
 */
int pyc__store_link(const struct pyc__store_comp *c,
		    const struct pyc__store_key *k,
		    const struct pyc__store_obj *o, struct pyc__wdir *w,
		    const char *dir, const char *rel, unsigned flags);

/* Remove k's object if it is still the file st describes (one this run
 * added, for a pyc it could not write after all).  0 or -1. */
int pyc__store_remove(const struct pyc__store_comp *c,
		      const struct pyc__store_key *k, const struct stat *st);

/* Would a pyc created with `mode` (before the umask) have o's mode? */
bool pyc__store_mode_fits(const struct pyc__store *s,
			  const struct pyc__store_obj *o, unsigned mode);

/* ------------------------------------------------------------------------
 * Serving pycs from the store: what pyc_compile() calls (serve.c)
 *
 * For one interpreter's run: `comp` its compiler's directory, `mode` the
 * pycs' kind, `wflags` the writer's flags for the trees, `dry` to look
 * and write nothing, `nolink` to write copies only (a forced rebuild).
 */
struct pyc__serve {
	const struct pyc__store_comp *comp;
	enum pyc_invalidation mode;
	unsigned wflags;
	bool dry, nolink;
};

/* What one level's serving did. */
struct pyc__served {
	bool linked;          /* the pyc is a hardlink to an object */
	char *bad;            /* the unsound objects met (discarded): each
				 its path NUL the reason NUL, bad_len
				 bytes, malloc'd, the caller's */
	size_t bad_len;
};

/*
 * Write the pyc of level `level` of a source, its bytes' digest and
 * source hash given and `st` the fstat of the bytes read, at `rel`
 * below `root` (through the calling thread's w), from the store: 0 written (or, dry, would be), 1 the
 * store has not its code (compile it), -1 the write failed (errno).
 */
int pyc__serve_level(const struct pyc__serve *sv, struct pyc__wdir *w,
		     const unsigned char digest[32], const unsigned char hash[8],
		     const struct stat *st, int level, const char *root,
		     const char *rel, struct pyc__served *out);

/*
 * A worker compiled `code` for that level: add it to the store and
 * write the pyc through it (a link to its object when it can be, else
 * a copy).  A store that cannot take it (full, say) costs only the
 * link: the pyc is written as a copy.  0, or -1 when the pyc could not
 * be written (errno).
 */
int pyc__serve_add(const struct pyc__serve *sv, struct pyc__wdir *w,
		   const unsigned char digest[32], const unsigned char hash[8],
		   const struct stat *st, int level, const unsigned char *code,
		   size_t code_len, const char *root, const char *rel,
		   struct pyc__served *out);

/* Keep the code a worker compiled for that level in the store only
 * (its pyc is written otherwise: a link to another level's, say). */
void pyc__serve_keep(const struct pyc__serve *sv,
		     const unsigned char digest[32], const unsigned char hash[8],
		     const struct stat *st, int level, const unsigned char *code,
		     size_t code_len);

#endif
