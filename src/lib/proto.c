/*
 * proto.c - decoding worker responses.  Input comes from another process
 * and is checked as untrusted: every length against what is there.
 */
#include "pycprefix.h"
#include "buf.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* A response larger than this is refused (a 1 GiB marshalled module). */
#define MAX_FIELD (1u << 30)
#define MAX_WARNINGS 100000u

struct reader {
	const unsigned char *p;
	size_t len, off;
};

/* 1 ok, 0 need more. */
static int get_u32(struct reader *r, uint32_t *v)
{
	if (r->len - r->off < 4)
		return 0;
	*v = pyc__get_u32le(r->p + r->off);
	r->off += 4;
	return 1;
}

static int get_byte(struct reader *r, unsigned char *c)
{
	if (r->off >= r->len)
		return 0;
	*c = r->p[r->off++];
	return 1;
}

/* A length-prefixed field: 1 ok, 0 need more, -1 too large. */
static int get_blob(struct reader *r, const unsigned char **data, size_t *n)
{
	uint32_t len;

	if (!get_u32(r, &len))
		return 0;
	if (len > MAX_FIELD)
		return -1;
	if (r->len - r->off < len)
		return 0;
	*data = r->p + r->off;
	*n = len;
	r->off += len;
	return 1;
}

/* Each reader below returns 1 when it read its field, 0 when the bytes
 * end first (wait for more), -1 when the field cannot be valid. */

static int read_warnings(struct reader *r, uint32_t nwarn, struct buf *warn)
{
	for (uint32_t i = 0; i < nwarn; i++) {
		const unsigned char *text;
		size_t tlen;
		uint32_t line;
		int rc;

		if (!get_u32(r, &line))
			return 0;
		if ((rc = get_blob(r, &text, &tlen)) <= 0)
			return rc;
		pyc__buf_addf(warn, "%u: ", line);
		pyc__buf_add(warn, text, tlen);
		pyc__buf_addc(warn, '\0');
	}
	return 1;
}

static int read_codes(struct reader *r, struct pyc_result *res)
{
	uint32_t n;
	int rc;

	if (!get_u32(r, &n))
		return 0;
	if (n > PYC_MAX_LEVELS)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		if ((rc = get_blob(r, &res->code[i], &res->code_len[i])) <= 0)
			return rc;
	res->ncodes = n;
	res->ok = true;
	return 1;
}

/* The error's message is not NUL-terminated in the input: it is kept
 * after the warnings, in the same allocation. */
static int read_error(struct reader *r, struct pyc_result *res,
		      struct buf *warn)
{
	const unsigned char *msg;
	size_t mlen;
	int rc;

	if (!get_u32(r, &res->line) || !get_u32(r, &res->col))
		return 0;
	if ((rc = get_blob(r, &msg, &mlen)) <= 0)
		return rc;
	pyc__buf_add(warn, msg, mlen);
	pyc__buf_addc(warn, '\0');
	return 1;
}

static int read_response(struct reader *r, struct pyc_result *res,
			 struct buf *warn)
{
	unsigned char tag;
	uint32_t nwarn;
	int rc;

	if (!get_byte(r, &tag))
		return 0;
	if (tag != 'R')
		return -1;
	if (!get_u32(r, &nwarn))
		return 0;
	if (nwarn > MAX_WARNINGS)
		return -1;
	if ((rc = read_warnings(r, nwarn, warn)) <= 0)
		return rc;
	res->nwarnings = nwarn;
	if (!get_byte(r, &tag))
		return 0;
	if (tag == 'K')
		return read_codes(r, res);
	if (tag == 'E')
		return read_error(r, res, warn);
	return -1;
}

int pyc__parse_response(const unsigned char *p, size_t len,
			struct pyc_result *res, size_t *used)
{
	struct reader r = { p, len, 0 };
	struct buf warn = { 0 };
	const char *s;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = read_response(&r, res, &warn);
	if (rc > 0 && !warn.s)
		pyc__buf_grow(&warn, 0);
	if (rc <= 0 || warn.oom) {
		pyc__buf_release(&warn);
		memset(res, 0, sizeof(*res));
		return rc <= 0 ? rc : -1;
	}
	res->warnings = pyc__buf_detach(&warn);
	if (!res->ok) {
		/* the message is the last NUL-terminated string */
		s = res->warnings;
		for (uint32_t i = 0; i < res->nwarnings; i++)
			s += strlen(s) + 1;
		res->message = s;
	}
	*used = r.off;
	return 1;
}
