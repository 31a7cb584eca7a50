/*
 * output.c - the two streams, paths for people, the progress estimate
 * (see output.h).
 */
#include "output.h"
#include "utf8.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void cli_output_init(void)
{
	struct stat o, e;

	/* Unbuffered, one message of "pycprefix: ", text and newline is
	 * three writes, and a line-buffered stdout on the same file could
	 * land between them. */
	setvbuf(stderr, NULL, _IOLBF, BUFSIZ);
	/* Fully buffered, stdout would reach the shared file 4 KiB at a
	 * time, cut mid-line, after stderr lines printed later. */
	if (fstat(STDOUT_FILENO, &o) == 0 && fstat(STDERR_FILENO, &e) == 0 &&
	    o.st_dev == e.st_dev && o.st_ino == e.st_ino)
		setvbuf(stdout, NULL, _IOLBF, BUFSIZ);
}

/* ---- paths ---- */

/* Length of the UTF-8 sequence at s (NUL-terminated) that a terminal
 * shows as a character (valid, and not a C1 control), or 0. */
static size_t printable_utf8(const unsigned char *s)
{
	uint32_t c;
	size_t len = cli_utf8_decode(s, strnlen((const char *)s, 4), &c);

	return len == 2 && c < 0xA0 ? 0 : len;
}

/* The escape letter of git's quote_c_style for c, or 0. */
static char escape_letter(unsigned char c)
{
	static const char from[] = "\a\b\t\n\v\f\r\"\\";
	static const char to[] = "abtnvfr\"\\";
	const char *p = c ? strchr(from, c) : NULL;

	return p ? to[p - from] : 0;
}

bool cli_path_needs_quotes(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	for (size_t i = 0; s[i];) {
		size_t len;

		if (s[i] < 0x20 || s[i] == 0x7f || s[i] == '"' || s[i] == '\\')
			return true;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (!(len = printable_utf8(s + i)))
			return true;
		i += len;
	}
	return false;
}

/* Write the quoted form of s into out (room: 4 * strlen(s) + 3). */
static void quote_into(char *out, const unsigned char *s)
{
	char *o = out;

	*o++ = '"';
	for (size_t i = 0; s[i];) {
		size_t len;
		char letter = escape_letter(s[i]);

		if (letter) {
			*o++ = '\\';
			*o++ = letter;
			i++;
		} else if (s[i] >= 0x20 && s[i] < 0x7f) {
			*o++ = (char)s[i++];
		} else if (s[i] >= 0x80 && (len = printable_utf8(s + i))) {
			memcpy(o, s + i, len);
			o += len;
			i += len;
		} else {
			*o++ = '\\';
			*o++ = (char)('0' + (s[i] >> 6));
			*o++ = (char)('0' + ((s[i] >> 3) & 7));
			*o++ = (char)('0' + (s[i] & 7));
			i++;
		}
	}
	*o++ = '"';
	*o = '\0';
}

static struct {
	char *buf;
	size_t size;
} ring[CLI_QUOTE_RING];
static unsigned ring_next;

/* The next ring buffer, with room for n bytes; NULL without memory. */
static char *ring_buf(size_t n)
{
	unsigned k = ring_next++ % CLI_QUOTE_RING;

	if (ring[k].size < n) {
		char *b = realloc(ring[k].buf, n);
		if (!b)
			return NULL;
		ring[k].buf = b;
		ring[k].size = n;
	}
	return ring[k].buf;
}

static const char *quote(const char *s, bool subject)
{
	size_t n = strlen(s);
	bool odd = cli_path_needs_quotes(s);
	char *out;

	if (!odd && !subject)
		return s;
	if (!(out = ring_buf(odd ? 4 * n + 3 : n + 3)))
		return odd ? "(a path that could not be quoted)" : s;
	if (odd)
		quote_into(out, (const unsigned char *)s);
	else
		snprintf(out, n + 3, "'%s'", s);
	return out;
}

const char *cli_qpath(const char *s)
{
	return s ? quote(s, false) : "(null)";
}

const char *cli_qsubject(const char *s)
{
	return s ? quote(s, true) : "(null)";
}

void cli_output_release(void)
{
	for (unsigned k = 0; k < CLI_QUOTE_RING; k++) {
		free(ring[k].buf);
		ring[k].buf = NULL;
		ring[k].size = 0;
	}
}

/* ---- progress ---- */

long cli_eta_update(struct cli_eta *e, long now_ms,
		    const struct pyc_progress *p, double *rate)
{
	double ms, by_files, by_bytes, left;
	size_t seen;
	uint64_t seen_bytes;
	long secs;

	*rate = 0;
	if (!e->started || p->done < e->last_done) {
		/* The clock starts when the first source is done. */
		e->started = p->done > 0;
		e->t0_ms = now_ms;
		e->done0 = p->done;
		e->bytes0 = p->done_bytes;
		e->last_done = p->done;
		return -1;
	}
	e->last_done = p->done;
	ms = (double)(now_ms - e->t0_ms);
	seen = p->done - e->done0;
	seen_bytes = p->done_bytes - e->bytes0;
	if (ms < CLI_ETA_MIN_MS || seen < CLI_ETA_MIN_ITEMS)
		return -1;
	*rate = seen * 1000.0 / ms;
	if (p->done >= p->total)
		return 0;
	by_files = (double)(p->total - p->done) / (double)seen * ms;
	left = by_files;
	if (seen_bytes && p->total_bytes >= p->done_bytes) {
		by_bytes = (double)(p->total_bytes - p->done_bytes) /
			   (double)seen_bytes * ms;
		left = sqrt(by_files * by_bytes);
	}
	/* Rounded up: while work is left, it is never "0:00". */
	left /= 1000;
	secs = (long)left;
	secs += secs < left || !secs;
	return secs;
}
