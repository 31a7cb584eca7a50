/*
 * memo.h - the compile errors of the last run, per interpreter (memo.c
 * says why and writes the format down).  Not public: pyc_compile() uses
 * it when pyc_compile_opts.memo_dir is set.
 *
 * Usage: pyc__memo_open() the last run's memo, look sources up with
 * pyc__memo_find() (marking what the run covers seen);
 * pyc__memo_add() this run's errors to a second memo
 * (pyc__memo_init() on the same directory and interpreter names the same
 * file) and pyc__memo_save() it, which replaces the file.  Not thread-safe.
 */
#ifndef PYC_MEMO_H
#define PYC_MEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stat;
struct pyc_interp;

/* A file's identity: any write to it changes one of these. */
struct pyc_memo_id {
	uint64_t dev, ino;
	int64_t size, mtime_ns, ctime_ns;
};

struct pyc_memo_entry {
	char *source;
	struct pyc_memo_id id;
	unsigned levels;    /* bit L: the error holds at -O level L */
	unsigned line, col;
	char *message;
	bool seen;          /* its source was part of this run */
};

struct pyc_memo {
	struct pyc_memo_entry *v;  /* sorted by source once opened */
	size_t n, a;
	char *file;
	char *key;
};

void pyc__memo_id_of(struct pyc_memo_id *id, const struct stat *st);

/* An empty memo for `in` under `dir`, to be filled and saved.  0 or -1. */
int pyc__memo_init(struct pyc_memo *m, const char *dir,
		  const struct pyc_interp *in);

/* Read the memo of `in` under `dir` (none, or one that does not parse:
 * empty).  Returns 0, or -1 (ENOMEM). */
int pyc__memo_open(struct pyc_memo *m, const char *dir,
		  const struct pyc_interp *in);

/* Add the records of the memo bytes `data` (len bytes, read as bytes:
 * no NUL needed after them) to `m`, initialised with pyc__memo_init(); a
 * file that is not the memo of m's interpreter adds nothing, and parsing
 * stops at the first record that does not parse.  Returns 0. */
int pyc__memo_parse(struct pyc_memo *m, const char *data, size_t len);

/* The entry for `source` when the file is still the one that failed, at
 * all of `levels`; else NULL. */
const struct pyc_memo_entry *pyc__memo_find(const struct pyc_memo *m,
					   const char *source,
					   const struct pyc_memo_id *id,
					   unsigned levels);

/* pyc__memo_find(), or else the entry of the same file (identity) under
 * another spelling of its path: for status, whose roots may be spelled
 * otherwise than compile's were.  Read-only: any thread. */
const struct pyc_memo_entry *pyc__memo_find_file(const struct pyc_memo *m,
						const char *source,
						const struct pyc_memo_id *id,
						unsigned levels);

/* The entry for `source`, whatever its identity, or NULL. */
struct pyc_memo_entry *pyc__memo_lookup(const struct pyc_memo *m,
				       const char *source);

/* Add to `to` the entries of `from` whose sources this run did not see
 * (not marked seen) and whose sources are not gone (pyc_source_gone()):
 * other trees' errors stay remembered.  0 or -1. */
int pyc__memo_carry(struct pyc_memo *to, const struct pyc_memo *from);

/* Append an error (not sorted: for a memo being saved).  0 or -1. */
int pyc__memo_add(struct pyc_memo *m, const char *source,
		 const struct pyc_memo_id *id, unsigned levels, unsigned line,
		 unsigned col, const char *message);

/* Replace the file with this memo (removed when empty).  0 or -1. */
int pyc__memo_save(const struct pyc_memo *m);

void pyc__memo_release(struct pyc_memo *m);

#endif
