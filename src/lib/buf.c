/*
 * buf.c - growable byte strings.  Growth is geometric so that appending
 * byte by byte stays linear.
 */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pyc__buf_release(struct buf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

int pyc__buf_grow(struct buf *b, size_t more)
{
	size_t need, alloc;
	char *s;

	if (b->oom)
		return -1;
	if (more > SIZE_MAX - b->len - 1)
		goto fail;
	need = b->len + more + 1;
	if (need <= b->alloc)
		return 0;
	alloc = b->alloc ? b->alloc : 64;
	while (alloc < need)
		alloc = alloc > SIZE_MAX / 2 ? need : alloc * 2;
	s = realloc(b->s, alloc);
	if (!s)
		goto fail;
	b->s = s;
	b->alloc = alloc;
	return 0;
fail:
	b->oom = true;
	errno = ENOMEM;
	return -1;
}

void pyc__buf_add(struct buf *b, const void *p, size_t n)
{
	if (pyc__buf_grow(b, n) < 0)
		return;
	if (n)
		memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void pyc__buf_adds(struct buf *b, const char *s)
{
	pyc__buf_add(b, s, strlen(s));
}

void pyc__buf_addc(struct buf *b, char c)
{
	pyc__buf_add(b, &c, 1);
}

void pyc__buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || pyc__buf_grow(b, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void pyc__buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = '\0';
}

char *pyc__buf_detach(struct buf *b)
{
	char *s;

	if (b->oom) {
		pyc__buf_release(b);
		errno = ENOMEM;
		return NULL;
	}
	if (!b->s && pyc__buf_grow(b, 0) < 0)
		return NULL;
	b->s[b->len] = '\0';
	s = b->s;
	memset(b, 0, sizeof(*b));
	return s;
}

void *pyc__array_grow(void *v, size_t *alloc, size_t want, size_t elem)
{
	size_t n = *alloc ? *alloc : 16;

	if (want <= *alloc)
		return v;
	while (n < want && n <= SIZE_MAX / 2)
		n *= 2;
	if (n < want || n > SIZE_MAX / elem) {
		errno = ENOMEM;
		return NULL;
	}
	if (!(v = realloc(v, n * elem)))
		return NULL;
	*alloc = n;
	return v;
}
