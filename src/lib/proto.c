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
	const unsigned char *q = r->p + r->off;
	*v = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
	     (uint32_t)q[3] << 24;
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

#define NEED(x)                         \
	do {                            \
		int rc_ = (x);          \
		if (rc_ <= 0) {         \
			ret = rc_;      \
			goto out;       \
		}                       \
	} while (0)

int pyc__parse_response(const unsigned char *p, size_t len,
			struct pyc_result *res, size_t *used)
{
	struct reader r = { p, len, 0 };
	struct buf warn = { 0 };
	unsigned char tag;
	uint32_t nwarn, n;
	int ret = 1;

	memset(res, 0, sizeof(*res));
	NEED(get_byte(&r, &tag));
	if (tag != 'R')
		return -1;
	NEED(get_u32(&r, &nwarn));
	if (nwarn > MAX_WARNINGS)
		return -1;
	for (uint32_t i = 0; i < nwarn; i++) {
		const unsigned char *text;
		size_t tlen;
		uint32_t line;

		NEED(get_u32(&r, &line));
		NEED(get_blob(&r, &text, &tlen));
		buf_addf(&warn, "%u: ", line);
		buf_add(&warn, text, tlen);
		buf_addc(&warn, '\0');
	}
	NEED(get_byte(&r, &tag));
	if (tag == 'K') {
		NEED(get_u32(&r, &n));
		if (n > PYC_MAX_LEVELS)
			return buf_release(&warn), -1;
		for (uint32_t i = 0; i < n; i++)
			NEED(get_blob(&r, &res->code[i], &res->code_len[i]));
		res->ok = true;
	} else if (tag == 'E') {
		const unsigned char *msg;
		size_t mlen;
		uint32_t line, col;

		NEED(get_u32(&r, &line));
		NEED(get_u32(&r, &col));
		NEED(get_blob(&r, &msg, &mlen));
		res->line = line;
		res->col = col;
		/* The message is not NUL-terminated in p: keep a copy after
		 * the warnings, in the same allocation. */
		buf_add(&warn, msg, mlen);
		buf_addc(&warn, '\0');
		res->ok = false;
	} else {
		ret = -1;
		goto out;
	}
	if (warn.oom) {
		ret = -1;
		goto out;
	}
	res->nwarnings = nwarn;
	*used = r.off;
	if (!warn.s)
		buf_grow(&warn, 0);
	res->warnings = buf_detach(&warn);
	if (!res->warnings)
		return -1;
	if (!res->ok) {
		/* the message is the last NUL-terminated string */
		const char *s = res->warnings;
		for (uint32_t i = 0; i < nwarn; i++)
			s += strlen(s) + 1;
		res->message = s;
	}
	return 1;
out:
	buf_release(&warn);
	return ret;
}
