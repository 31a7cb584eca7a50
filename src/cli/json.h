/*
 * json.h - the one JSON writer of the command line (git's json-writer.h
 * is the model): it owns the commas, the nesting and the layout, so that
 * no command keeps a "first" flag.
 *
 * Use:
 *
 *	struct json_writer w;
 *
 *	json_init(&w, stdout, 0);
 *	json_object(&w, NULL);
 *	json_lines(&w, "files");         one element per line
 *	json_object(&w, NULL);
 *	json_string(&w, "path", path);
 *	json_end(&w);
 *	json_end(&w);                    closes "files"
 *	json_uint(&w, "errors", 0);
 *	json_end(&w);                    the document, and its newline
 *
 * `key` names the member inside an object; in an array, or for the
 * document itself, it must be NULL.  The layout is the one pycprefix has
 * always printed: members and elements inline, separated by ", "; the
 * elements of a json_lines() array each on a line of its own, indented
 * two spaces a level, and its "]" on a line of its own when it has any;
 * a member after such an array starts a new line too.  Strings are
 * written as their bytes: valid UTF-8 as it is, each byte that is not
 * part of it as the surrogate escape \udcXX (Python's surrogateescape,
 * so that json.loads() then os.fsencode() gives the bytes back, which no
 * JSON library emits).
 *
 * A writer on a FILE streams; one on NULL collects the text in memory
 * (json_text()), for a part whose place comes before the counts that end
 * the run; json_sub() puts it in.  An allocation failure (or nesting
 * deeper than JSON_MAX_DEPTH) is sticky: json_failed() tells.  Not thread-safe: one writer, one thread.
 */
#ifndef PYC_CLI_JSON_H
#define PYC_CLI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 8

struct json_level {
	char close;                /* '}' or ']' */
	bool any;                  /* a member or element written */
	bool lines;                /* a json_lines() array */
	bool broke;                /* the last value was one */
};

struct json_writer {
	FILE *f;                   /* the sink, or NULL: mem */
	char *mem;
	size_t len, alloc;
	bool oom;
	int depth;                 /* open containers */
	int base;                  /* json_init()'s depth */
	bool ended_lines;          /* the value at base was a json_lines() */
	struct json_level level[JSON_MAX_DEPTH];
};

/* A writer on f, or in memory when f is NULL, its values `depth` levels
 * deep (the depth of the place json_sub() will put it). */
void json_init(struct json_writer *w, FILE *f, int depth);
void json_release(struct json_writer *w);

/* Open an object, an inline array, an array of one element per line;
 * json_end() closes the innermost, and the document with a newline. */
void json_object(struct json_writer *w, const char *key);
void json_array(struct json_writer *w, const char *key);
void json_lines(struct json_writer *w, const char *key);
void json_end(struct json_writer *w);

/* Values.  A NULL string is null. */
void json_string(struct json_writer *w, const char *key, const char *s);
void json_stringn(struct json_writer *w, const char *key, const char *s,
		  size_t n);
void json_uint(struct json_writer *w, const char *key, uintmax_t v);
void json_int(struct json_writer *w, const char *key, intmax_t v);
void json_bool(struct json_writer *w, const char *key, bool v);
void json_null(struct json_writer *w, const char *key);
/* With `decimals` digits after the point ("%.3f"). */
void json_double(struct json_writer *w, const char *key, int decimals,
		 double v);
/* The text of the memory writer `sub` (one whole value) as the value. */
void json_sub(struct json_writer *w, const char *key,
	      const struct json_writer *sub);

/* A memory writer's text so far ("" when none), and whether an
 * allocation failed (then the text is incomplete). */
const char *json_text(const struct json_writer *w);
bool json_failed(const struct json_writer *w);

#endif
