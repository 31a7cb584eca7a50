/*
 * json.c - the JSON writer (json.h) and its string escaper.
 */
#include "json.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void put(struct json_writer *w, const char *s, size_t n)
{
	size_t alloc;
	char *m;

	if (w->f) {
		fwrite(s, 1, n, w->f);
		return;
	}
	if (w->oom)
		return;
	if (w->len + n + 1 > w->alloc) {
		for (alloc = w->alloc ? w->alloc : 256; w->len + n + 1 > alloc;)
			alloc *= 2;
		if (!(m = realloc(w->mem, alloc))) {
			w->oom = true;
			return;
		}
		w->mem = m;
		w->alloc = alloc;
	}
	memcpy(w->mem + w->len, s, n);
	w->len += n;
	w->mem[w->len] = '\0';
}

static void putf(struct json_writer *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A number or an escape: short. */
static void putf(struct json_writer *w, const char *fmt, ...)
{
	char b[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(w, b, (size_t)n < sizeof(b) ? (size_t)n : sizeof(b) - 1);
}

static void newline(struct json_writer *w, int depth)
{
	put(w, "\n", 1);
	for (int i = 0; i < depth; i++)
		put(w, "  ", 2);
}

/* A string's bytes in quotes: escapes, valid UTF-8 as it is, any other
 * byte as \udcXX. */
static void escape(struct json_writer *w, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;

	put(w, "\"", 1);
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		uint32_t cp;
		size_t len;

		if (c == '"' || c == '\\') {
			put(w, "\\", 1);
			put(w, str + i, 1);
		} else if (c == '\n') {
			put(w, "\\n", 2);
		} else if (c == '\t') {
			put(w, "\\t", 2);
		} else if (c < 0x20 || c == 0x7f) {
			putf(w, "\\u%04x", c);
		} else if (c < 0x80) {
			put(w, str + i, 1);
		} else if ((len = cli_utf8_decode(s + i, n - i, &cp))) {
			put(w, str + i, len);
			i += len;
			continue;
		} else {
			/* Undecodable byte: Python's surrogateescape, so that
			 * json.loads() + os.fsencode() give the bytes back. */
			putf(w, "\\udc%02x", c);
		}
		i++;
	}
	put(w, "\"", 1);
}

/* The separator and the key before a value in the innermost container. */
static void begin_value(struct json_writer *w, const char *key)
{
	if (w->depth > 0) {
		struct json_level *l = &w->level[w->depth - 1];

		if (l->any)
			put(w, ",", 1);
		if (l->lines || l->broke)
			newline(w, w->depth);
		else if (l->any)
			put(w, " ", 1);
		l->any = true;
		l->broke = false;
	}
	if (key) {
		escape(w, key, strlen(key));
		put(w, ": ", 2);
	}
}

static void open_container(struct json_writer *w, const char *key,
			   char open, char close, bool lines)
{
	if (w->depth >= JSON_MAX_DEPTH) {
		w->oom = true;
		return;
	}
	begin_value(w, key);
	put(w, &open, 1);
	w->level[w->depth].close = close;
	w->level[w->depth].any = false;
	w->level[w->depth].lines = lines;
	w->level[w->depth].broke = false;
	w->depth++;
}

void json_init(struct json_writer *w, FILE *f, int depth)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
	/* The levels above are the place json_sub() puts it: inline. */
	w->depth = w->base = depth < JSON_MAX_DEPTH ? depth : JSON_MAX_DEPTH;
}

void json_release(struct json_writer *w)
{
	free(w->mem);
	w->mem = NULL;
	w->len = w->alloc = 0;
}

void json_object(struct json_writer *w, const char *key)
{
	open_container(w, key, '{', '}', false);
}

void json_array(struct json_writer *w, const char *key)
{
	open_container(w, key, '[', ']', false);
}

void json_lines(struct json_writer *w, const char *key)
{
	open_container(w, key, '[', ']', true);
}

void json_end(struct json_writer *w)
{
	struct json_level *l;

	if (w->depth <= 0)
		return;
	l = &w->level[--w->depth];
	if (l->lines && l->any)
		newline(w, w->depth);
	put(w, &l->close, 1);
	if (w->depth == w->base)
		w->ended_lines = l->lines;
	if (w->depth > w->base)
		w->level[w->depth - 1].broke = l->lines;
	else if (w->depth == 0)
		put(w, "\n", 1);
}

void json_stringn(struct json_writer *w, const char *key, const char *s,
		  size_t n)
{
	begin_value(w, key);
	escape(w, s, n);
}

void json_string(struct json_writer *w, const char *key, const char *s)
{
	if (!s) {
		json_null(w, key);
		return;
	}
	begin_value(w, key);
	escape(w, s, strlen(s));
}

void json_uint(struct json_writer *w, const char *key, uintmax_t v)
{
	begin_value(w, key);
	putf(w, "%ju", v);
}

void json_int(struct json_writer *w, const char *key, intmax_t v)
{
	begin_value(w, key);
	putf(w, "%jd", v);
}

void json_bool(struct json_writer *w, const char *key, bool v)
{
	begin_value(w, key);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void json_null(struct json_writer *w, const char *key)
{
	begin_value(w, key);
	put(w, "null", 4);
}

void json_double(struct json_writer *w, const char *key, int decimals,
		 double v)
{
	begin_value(w, key);
	putf(w, "%.*f", decimals, v);
}

void json_sub(struct json_writer *w, const char *key,
	      const struct json_writer *sub)
{
	begin_value(w, key);
	put(w, sub->mem ? sub->mem : "", sub->len);
	if (sub->oom)
		w->oom = true;
	/* After a json_lines() one, the next member on a line of its own,
	 * as after one written here. */
	if (w->depth > 0)
		w->level[w->depth - 1].broke = sub->ended_lines;
}

const char *json_text(const struct json_writer *w)
{
	return w->mem ? w->mem : "";
}

bool json_failed(const struct json_writer *w)
{
	return w->oom;
}
