/*
 * memo.c - what failed to compile last time, so that a run where all else
 * is fresh need not start an interpreter to hear the same error again.
 *
 * A source that does not compile has no pyc, so every run finds it stale;
 * real trees hold such files (test data in the stdlib, Python 2 leftovers
 * in site-packages).  The memo keeps, per interpreter, the compile errors
 * of the last run with the identity of the file that gave them: device,
 * inode, size, mtime and ctime to the nanosecond.  Any write to the file
 * changes its ctime, so a match means the bytes are those that failed
 * (up to the file system's clock tick, a few milliseconds: importlib
 * trusts whole seconds of mtime).
 * Only compile errors are kept (they depend on the bytes and the
 * interpreter alone), never time-outs, dead workers or I/O errors.
 *
 * One file per interpreter, named by a hash of its identity, rewritten
 * atomically at the end of each run:
 *
 *   memo    = "pycprefix-failures 1 " KEYLEN "\n" key "\n" *record
 *   record  = dev SP ino SP size SP mtime-ns SP ctime-ns SP levels SP
 *             line SP col SP srclen SP msglen "\n" source message "\n"
 *
 * (numbers in decimal; levels is a bit mask of -O levels; source and
 * message are raw bytes of the lengths given).  A memo that does not
 * parse is ignored: it is a cache.
 */
#include "pycprefix.h"
#include "buf.h"
#include "compat.h"
#include "internal.h"
#include "memo.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MEMO_MAGIC "pycprefix-failures 1 "

static int64_t ns_of(struct timespec t)
{
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

char *pyc_failure_memo_dir(void)
{
	return pyc__cache_home_path("pycprefix-failures");
}

void pyc__memo_id_of(struct pyc_memo_id *id, const struct stat *st)
{
	id->dev = (uint64_t)st->st_dev;
	id->ino = (uint64_t)st->st_ino;
	id->size = (int64_t)st->st_size;
	id->mtime_ns = ns_of(PYC_ST_MTIM(st));
	id->ctime_ns = ns_of(PYC_ST_CTIM(st));
}

static bool id_eq(const struct pyc_memo_id *a, const struct pyc_memo_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

/* What names the interpreter: its real path, full version and magic. */
static void memo_key(struct buf *key, const struct pyc_interp *in)
{
	pyc__buf_addf(key, "%s %d.%d.%d %s %d %u", in->real ? in->real : in->path,
		 in->major, in->minor, in->micro, in->level, in->serial,
		 (unsigned)in->magic);
}

static char *memo_file(const char *dir, const struct buf *key)
{
	unsigned char h[8];
	struct buf b = { 0 };

	pyc_source_hash(3413, key->s, key->len, h); /* any fixed keying */
	pyc__buf_addf(&b, "%s/", dir);
	for (size_t i = 0; i < sizeof(h); i++)
		pyc__buf_addf(&b, "%02x", h[i]);
	if (b.oom) {
		pyc__buf_release(&b);
		return NULL;
	}
	return pyc__buf_detach(&b);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct pyc_memo_entry *x = a, *y = b;

	return strcmp(x->source, y->source);
}

void pyc__memo_release(struct pyc_memo *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].source);
		free(m->v[i].message);
	}
	free(m->v);
	free(m->file);
	free(m->key);
	memset(m, 0, sizeof(*m));
}

int pyc__memo_add(struct pyc_memo *m, const char *source,
		 const struct pyc_memo_id *id, unsigned levels, unsigned line,
		 unsigned col, const char *message)
{
	struct pyc_memo_entry e = { .id = *id, .levels = levels, .line = line,
				    .col = col };

	struct pyc_memo_entry *v = pyc__array_grow(m->v, &m->a, m->n + 1,
					      sizeof(*v));
	if (!v)
		return -1;
	m->v = v;
	e.source = strdup(source);
	e.message = strdup(message ? message : "");
	if (!e.source || !e.message) {
		free(e.source);
		free(e.message);
		return -1;
	}
	m->v[m->n++] = e;
	return 0;
}

/* A decimal number at *p, before `end`, followed by `sep`, that fits
 * in [-max_neg, max]; *p moves past the separator.  The memo is read
 * as bytes: nothing here looks past `end` or needs a NUL. */
static bool number(const char **p, const char *end, char sep,
		   uint64_t max_neg, uint64_t max, bool *neg, uint64_t *v)
{
	const char *s = *p;
	uint64_t n = 0;

	*neg = s < end && *s == '-';
	if (*neg)
		s++;
	if (s == end || *s < '0' || *s > '9')
		return false;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (n > (UINT64_MAX - d) / 10)
			return false;
		n = n * 10 + d;
	}
	if (s == end || *s != sep || n > (*neg ? max_neg : max))
		return false;
	*p = s + 1;
	*v = n;
	return true;
}

static bool unsigned_field(const char **p, const char *end, char sep,
			   uint64_t max, uint64_t *v)
{
	bool neg;

	return number(p, end, sep, 0, max, &neg, v);
}

static bool signed_field(const char **p, const char *end, char sep,
			 int64_t *v)
{
	uint64_t n;
	bool neg;

	if (!number(p, end, sep, (uint64_t)INT64_MAX + 1, INT64_MAX, &neg,
		    &n))
		return false;
	*v = neg ? (int64_t)(0 - n) : (int64_t)n;
	return true;
}

/* One record at *p (of `end`); false at the end or on garbage. */
static bool parse_record(const char **p, const char *end,
			 struct pyc_memo *m)
{
	struct pyc_memo_id id;
	uint64_t levels, line, col, slen, mlen;
	const char *q = *p;

	if (!unsigned_field(&q, end, ' ', UINT64_MAX, &id.dev) ||
	    !unsigned_field(&q, end, ' ', UINT64_MAX, &id.ino) ||
	    !signed_field(&q, end, ' ', &id.size) ||
	    !signed_field(&q, end, ' ', &id.mtime_ns) ||
	    !signed_field(&q, end, ' ', &id.ctime_ns) ||
	    !unsigned_field(&q, end, ' ', UINT_MAX, &levels) ||
	    !unsigned_field(&q, end, ' ', UINT_MAX, &line) ||
	    !unsigned_field(&q, end, ' ', UINT_MAX, &col) ||
	    !unsigned_field(&q, end, ' ', SIZE_MAX, &slen) ||
	    !unsigned_field(&q, end, '\n', SIZE_MAX, &mlen) || slen == 0)
		return false;
	/* The sizes come from the file: compare them with what is left
	 * without adding them (their sum may wrap). */
	size_t rest = (size_t)(end - q);
	if (slen > rest || mlen > rest - slen || rest - slen - mlen < 1 ||
	    q[slen + mlen] != '\n' || memchr(q, '\0', slen))
		return false;
	char *source = strndup(q, slen);
	char *message = strndup(q + slen, mlen);
	bool ok = source && message &&
		  pyc__memo_add(m, source, &id, (unsigned)levels,
			       (unsigned)line, (unsigned)col, message) == 0;
	free(source);
	free(message);
	*p = q + slen + mlen + 1;
	return ok;
}

int pyc__memo_init(struct pyc_memo *m, const char *dir,
		  const struct pyc_interp *in)
{
	struct buf key = { 0 };
	char *file;

	memset(m, 0, sizeof(*m));
	memo_key(&key, in);
	if (key.oom || !(file = memo_file(dir, &key))) {
		pyc__buf_release(&key);
		errno = ENOMEM;
		return -1;
	}
	m->file = file;
	m->key = pyc__buf_detach(&key);
	return 0;
}

int pyc__memo_parse(struct pyc_memo *m, const char *data, size_t len)
{
	size_t klen = strlen(m->key), mlen = strlen(MEMO_MAGIC);
	const char *p = data, *end = data + len;
	uint64_t stored;

	if (len < mlen || memcmp(data, MEMO_MAGIC, mlen) != 0)
		return 0;
	p += mlen;
	if (!unsigned_field(&p, end, '\n', SIZE_MAX, &stored) ||
	    stored != klen || (size_t)(end - p) <= klen ||
	    memcmp(p, m->key, klen) != 0 || p[klen] != '\n')
		return 0;
	p += klen + 1;
	while (p < end && parse_record(&p, end, m))
		;
	if (m->n > 1)
		qsort(m->v, m->n, sizeof(*m->v), entry_cmp);
	return 0;
}

int pyc__memo_open(struct pyc_memo *m, const char *dir,
		  const struct pyc_interp *in)
{
	char *data;
	size_t len;

	if (pyc__memo_init(m, dir, in) < 0)
		return -1;
	if (!(data = pyc__read_file(m->file, &len)))
		return 0; /* none yet, or unreadable: start afresh */
	pyc__memo_parse(m, data, len);
	free(data);
	return 0;
}

struct pyc_memo_entry *pyc__memo_lookup(const struct pyc_memo *m,
				       const char *source)
{
	struct pyc_memo_entry k = { .source = (char *)source };

	if (!m->n)
		return NULL;
	return bsearch(&k, m->v, m->n, sizeof(*m->v), entry_cmp);
}

const struct pyc_memo_entry *pyc__memo_find(const struct pyc_memo *m,
					   const char *source,
					   const struct pyc_memo_id *id,
					   unsigned levels)
{
	const struct pyc_memo_entry *e = pyc__memo_lookup(m, source);

	if (!e || !id_eq(&e->id, id) || (levels & ~e->levels))
		return NULL;
	return e;
}

const struct pyc_memo_entry *pyc__memo_find_file(const struct pyc_memo *m,
						const char *source,
						const struct pyc_memo_id *id,
						unsigned levels)
{
	const struct pyc_memo_entry *e = pyc__memo_find(m, source, id, levels);

	for (size_t i = 0; !e && i < m->n; i++) /* a memo holds a few */
		if (id_eq(&m->v[i].id, id) && !(levels & ~m->v[i].levels))
			e = &m->v[i];
	return e;
}

int pyc__memo_carry(struct pyc_memo *to, const struct pyc_memo *from)
{
	for (size_t i = 0; i < from->n; i++) {
		const struct pyc_memo_entry *e = &from->v[i];
		if (e->seen || pyc_source_gone(e->source))
			continue;
		if (pyc__memo_add(to, e->source, &e->id, e->levels, e->line,
				 e->col, e->message) < 0)
			return -1;
	}
	return 0;
}

int pyc__memo_save(const struct pyc_memo *m)
{
	struct buf b = { 0 };
	char *dir, *slash;
	int ret;

	if (!m->file)
		return 0;
	if (!m->n) {
		if (unlink(m->file) < 0 && errno != ENOENT)
			return -1;
		return 0;
	}
	pyc__buf_addf(&b, MEMO_MAGIC "%zu\n%s\n", strlen(m->key), m->key);
	for (size_t i = 0; i < m->n; i++) {
		const struct pyc_memo_entry *e = &m->v[i];
		pyc__buf_addf(&b, "%" PRIu64 " %" PRIu64 " %" PRId64 " %" PRId64
			 " %" PRId64 " %u %u %u %zu %zu\n", e->id.dev,
			 e->id.ino, e->id.size, e->id.mtime_ns,
			 e->id.ctime_ns, e->levels, e->line, e->col,
			 strlen(e->source), strlen(e->message));
		pyc__buf_adds(&b, e->source);
		pyc__buf_adds(&b, e->message);
		pyc__buf_addc(&b, '\n');
	}
	if (b.oom || !(dir = strdup(m->file))) {
		pyc__buf_release(&b);
		errno = ENOMEM;
		return -1;
	}
	slash = strrchr(dir, '/');
	*slash = '\0';
	ret = pyc__mkdir_p(dir, 0700);
	if (ret == 0)
		ret = pyc__write_atomic(dir, slash + 1, b.s, b.len, 0600, 0);
	free(dir);
	pyc__buf_release(&b);
	return ret;
}
