/*
 * unialnum.c - Python's str.isalnum() on file-name bytes.
 *
 * CPython decodes file names as UTF-8 with surrogateescape: a byte that is
 * not part of a valid sequence becomes a lone surrogate, which is never
 * alphanumeric.  So a name is alphanumeric when it is valid UTF-8 (as
 * strictly as Python decodes it: no overlong forms, no encoded
 * surrogates, nothing above U+10FFFF) and every code point is alphanumeric
 * in the interpreter's Unicode version.
 */
#include "pycprefix.h"
#include "buf.h"
#include "internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unialnum_table.h"
#include "uniprint_table.h"

#define NVERSIONS (sizeof(unialnum_versions) / sizeof(unialnum_versions[0]))
#define NRANGES (sizeof(unialnum_ranges) / sizeof(unialnum_ranges[0]))

/* The newest of a table's `n` versions not newer than `unidata` (NULL:
 * the newest). */
static unsigned table_version(const char *const *versions, size_t n,
			      const char *unidata)
{
	unsigned idx = 0;

	if (!unidata)
		return (unsigned)n - 1;
	for (unsigned i = 0; i < n; i++)
		if (pyc__version_cmp(versions[i], unidata) <= 0)
			idx = i;
	return idx;
}

static unsigned version_index(const char *unidata)
{
	return table_version(unialnum_versions, NVERSIONS, unidata);
}

static int range_cmp(const void *key, const void *elem)
{
	uint32_t cp = *(const uint32_t *)key;
	const struct unialnum_range *r = elem;

	if (cp < r->lo)
		return -1;
	return cp > r->hi;
}

static bool cp_isalnum(uint32_t cp, unsigned vidx)
{
	const struct unialnum_range *r;

	if (cp < 0x80)
		return (cp >= '0' && cp <= '9') || ((cp | 0x20) >= 'a' &&
						    (cp | 0x20) <= 'z');
	r = bsearch(&cp, unialnum_ranges, NRANGES, sizeof(*r), range_cmp);
	return r && r->since <= vidx;
}

/* Decode one code point strictly; returns its length, or 0 if invalid. */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t n;
	uint32_t c = s[0];

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF)
		n = 2, c &= 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3, c &= 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4, c &= 0x07;
	else
		return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3F);
	}
	if (c < min[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return n;
}

bool pyc_str_isalnum(const char *s, size_t len, const char *unidata)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned vidx = version_index(unidata);

	if (!len)
		return false;
	while (len) {
		uint32_t cp;
		size_t n = utf8_decode(p, len, &cp);

		if (!n || !cp_isalnum(cp, vidx))
			return false;
		p += n;
		len -= n;
	}
	return true;
}

/* ---- repr() ---- */

static int print_cmp(const void *key, const void *elem)
{
	uint32_t cp = *(const uint32_t *)key;
	const struct uniprint_range *r = elem;

	if (cp < r->lo)
		return -1;
	return cp > r->hi;
}

/* str.isprintable() of cp in the table version `vidx`. */
static bool cp_isprintable(uint32_t cp, unsigned vidx)
{
	const struct uniprint_range *r;

	r = bsearch(&cp, uniprint_ranges,
		    sizeof(uniprint_ranges) / sizeof(*uniprint_ranges),
		    sizeof(*r), print_cmp);
	return r && r->since <= vidx;
}

static void repr_char(struct buf *b, uint32_t cp, char quote,
		      const unsigned char *raw, size_t n, unsigned vidx)
{
	if (cp == (uint32_t)quote || cp == '\\') {
		pyc__buf_addc(b, '\\');
		pyc__buf_addc(b, (char)cp);
	} else if (cp == '\t') {
		pyc__buf_adds(b, "\\t");
	} else if (cp == '\n') {
		pyc__buf_adds(b, "\\n");
	} else if (cp == '\r') {
		pyc__buf_adds(b, "\\r");
	} else if (cp < ' ' || cp == 0x7f) {
		pyc__buf_addf(b, "\\x%02x", cp);
	} else if (cp < 0x7f) {
		pyc__buf_addc(b, (char)cp);
	} else if (raw && cp_isprintable(cp, vidx)) {
		pyc__buf_add(b, raw, n);
	} else if (cp <= 0xff) {
		pyc__buf_addf(b, "\\x%02x", cp);
	} else if (cp <= 0xffff) {
		pyc__buf_addf(b, "\\u%04x", cp);
	} else {
		pyc__buf_addf(b, "\\U%08x", cp);
	}
}

char *pyc_py_repr(const char *s, size_t len, const char *unidata)
{
	const unsigned char *p = (const unsigned char *)s;
	struct buf b = { 0 };
	char quote = memchr(s, '\'', len) && !memchr(s, '"', len) ? '"' : '\'';
	unsigned vidx = table_version(uniprint_versions,
				      sizeof(uniprint_versions) /
				      sizeof(*uniprint_versions), unidata);

	pyc__buf_addc(&b, quote);
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_decode(p + i, len - i, &cp);

		if (n) {
			repr_char(&b, cp, quote, p + i, n, vidx);
			i += n;
		} else { /* surrogateescape: a lone surrogate, never printable */
			repr_char(&b, 0xDC00u + p[i], quote, NULL, 0, vidx);
			i++;
		}
	}
	pyc__buf_addc(&b, quote);
	if (b.oom) {
		pyc__buf_release(&b);
		errno = ENOMEM;
		return NULL;
	}
	return pyc__buf_detach(&b);
}
