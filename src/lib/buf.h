/*
 * buf.h - a growable byte string, internal to the library.
 *
 * Always NUL-terminated once anything was added, so b.s is a C string;
 * may also hold NUL bytes (b.len counts them).  A zeroed struct is an
 * empty buffer; pyc__buf_release() frees and re-zeroes.  Allocation failure
 * is sticky: the buffer remembers it (b.oom) and later appends do nothing,
 * so a sequence of appends can be checked once at the end.
 */
#ifndef PYC_BUF_H
#define PYC_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *s;
	size_t len, alloc;
	bool oom;
};

void pyc__buf_release(struct buf *b);
/* Make room for `more` bytes beyond len.  Returns 0 or -1 (ENOMEM). */
int pyc__buf_grow(struct buf *b, size_t more);
void pyc__buf_add(struct buf *b, const void *p, size_t n);
void pyc__buf_adds(struct buf *b, const char *s);
void pyc__buf_addc(struct buf *b, char c);
void pyc__buf_addf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void pyc__buf_reset(struct buf *b);

/*
 * Room in an array of `elem`-byte items for at least `want` of them: the
 * array (v itself, or moved) with *alloc updated, or NULL with errno
 * ENOMEM and v untouched.  Capacity doubles, from 16.  Use:
 *
 *	struct item *v = pyc__array_grow(a->v, &a->alloc, a->n + 1, sizeof(*v));
 *	if (!v)
 *		return -1;
 *	a->v = v;
 */
void *pyc__array_grow(void *v, size_t *alloc, size_t want, size_t elem);
/* Hand the string to the caller (malloc'd, never NULL unless oom) and
 * leave b empty.  Returns NULL with errno ENOMEM if any append failed. */
char *pyc__buf_detach(struct buf *b);

#endif
