/*
 * serve.c - writing a tree's pycs from the store, and adding what the
 * workers compile to it: which object a pyc is, how one is made from
 * another, when a pyc is a link and when a copy (the rules in store.h).
 */
#include "pycprefix.h"
#include "buf.h"
#include "compat.h"
#include "internal.h"
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* importlib's mode for a pyc of this source (_calc_mode). */
static unsigned pyc_mode(const struct stat *st)
{
	return (unsigned)((st->st_mode | 0200) & 0666);
}

/* The 16-byte header a pyc of this source needs in sv's mode. */
static void header_of(const struct pyc__serve *sv, const struct stat *st,
		      const unsigned char hash[8],
		      enum pyc_invalidation mode,
		      unsigned char head[PYC_HEADER_SIZE])
{
	pyc_header_build(head, sv->comp->magic, mode,
			 pyc_py_mtime((int64_t)PYC_ST_MTIM(st).tv_sec,
				      PYC_ST_MTIM(st).tv_nsec),
			 (uint64_t)st->st_size, hash);
}

/*
 * The key of the object a pyc of sv's mode would be, from its header:
 * false for a timestamp pyc of a source with one link, which no other
 * pyc's bytes equal (it is written as a copy, not kept).
 */
static bool own_key(const struct pyc__serve *sv, const unsigned char d[32],
		    int level, const struct stat *st,
		    const unsigned char head[PYC_HEADER_SIZE],
		    struct pyc__store_key *k)
{
	if (sv->mode == PYC_INV_TIMESTAMP && st->st_nlink < 2)
		return false;
	pyc__store_key(k, d, level, sv->mode, pyc__get_u32le(head + 8),
		       pyc__get_u32le(head + 12));
	if (sv->mode != PYC_INV_TIMESTAMP)
		pyc__store_key_expect_hash(k, head + 8);
	return true;
}

/* The key of the checked-hash object, which holds the code of every
 * form: its header must hold this source's hash. */
static void code_key(const unsigned char d[32], int level,
		     const unsigned char hash[8], struct pyc__store_key *k)
{
	pyc__store_key(k, d, level, PYC_INV_CHECKED_HASH, 0, 0);
	pyc__store_key_expect_hash(k, hash);
}

static void note_bad(const struct pyc__serve *sv,
		     const struct pyc__store_key *k, const char *why,
		     struct pyc__served *out)
{
	char name[96];
	struct buf b = { .s = out->bad, .len = out->bad_len,
			 .alloc = out->bad_len };

	pyc__store_key_name(k, name, sizeof(name));
	pyc__buf_adds(&b, sv->comp->s->path);
	pyc__buf_adds(&b, "/" PYC_STORE_VERSION_DIR "/");
	pyc__buf_adds(&b, sv->comp->id);
	pyc__buf_addc(&b, '/');
	pyc__buf_adds(&b, name);
	pyc__buf_addc(&b, '\0');
	pyc__buf_adds(&b, why);
	pyc__buf_addc(&b, '\0');
	if (b.oom) {
		pyc__buf_release(&b);
		out->bad = NULL;
		out->bad_len = 0;
		return;
	}
	out->bad = b.s;
	out->bad_len = b.len;
}

/* Get k's object; an unsound one is noted (and was discarded) and is a
 * miss. */
static int get(const struct pyc__serve *sv, const struct pyc__store_key *k,
	       struct pyc__store_obj *o, struct pyc__served *out)
{
	char why[128];
	int r = pyc__store_get(sv->comp, k, o, why, sizeof(why));

	if (r == PYC__STORE_BAD)
		note_bad(sv, k, why, out);
	return r == PYC__STORE_HIT ? 0 : 1;
}

/* Put the verified object o at root/rel: a link when it may be one,
 * else a copy of its bytes. */
static int place(const struct pyc__serve *sv, struct pyc__wdir *w,
		 const struct pyc__store_key *k, const struct pyc__store_obj *o,
		 const struct stat *st, const char *root, const char *rel,
		 struct pyc__served *out)
{
	unsigned mode = pyc_mode(st);

	if (!sv->nolink && pyc__store_mode_fits(sv->comp->s, o, mode) &&
	    pyc__store_link(sv->comp, k, o, w, root, rel, sv->wflags) == 0) {
		out->linked = true;
		return 0;
	}
	return pyc__write_atomic_w(w, root, rel, o->data, o->len, mode,
				   sv->wflags);
}

/* Take back an object this run added, keeping errno. */
static void forget(const struct pyc__serve *sv, const struct pyc__store_key *k,
		   const struct stat *st)
{
	int saved = errno;

	pyc__store_remove(sv->comp, k, st);
	errno = saved;
}

/*
 * Add the pyc bytes p[0..len) as k's object and put the pyc at root/rel
 * through it.  When the store cannot take it, or already has another
 * object by that name that is not sound, the pyc is written as a copy.
 */
static int add_and_place(const struct pyc__serve *sv, struct pyc__wdir *w,
			 const struct pyc__store_key *k, const void *p,
			 size_t len, const struct stat *st, const char *root,
			 const char *rel, struct pyc__served *out)
{
	struct pyc__store_obj o = { 0 };
	unsigned mode = pyc_mode(st);
	bool existed;
	int ret;

	if (pyc__store_put(sv->comp, k, p, len, mode, &existed, &o.st) < 0)
		goto copy;
	if (existed) {
		if (get(sv, k, &o, out) != 0)
			goto copy;
		ret = place(sv, w, k, &o, st, root, rel, out);
		pyc__store_obj_release(&o);
		return ret;
	}
	if (!sv->nolink && pyc__store_mode_fits(sv->comp->s, &o, mode) &&
	    pyc__store_link(sv->comp, k, &o, w, root, rel, sv->wflags) == 0) {
		out->linked = true;
		return 0;
	}
	if ((ret = pyc__write_atomic_w(w, root, rel, p, len, mode,
				       sv->wflags)) < 0)
		forget(sv, k, &o.st); /* added for a pyc that is not there */
	return ret;
copy:
	return pyc__write_atomic_w(w, root, rel, p, len, mode, sv->wflags);
}

/* The checked-hash object's bytes with another header: a pyc of the
 * same code. */
static int rehead(const unsigned char head[PYC_HEADER_SIZE],
		  const struct pyc__store_obj *c, struct buf *b)
{
	pyc__buf_add(b, head, PYC_HEADER_SIZE);
	pyc__buf_add(b, c->data + PYC_HEADER_SIZE, c->len - PYC_HEADER_SIZE);
	if (b->oom) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int pyc__serve_level(const struct pyc__serve *sv, struct pyc__wdir *w,
		     const unsigned char digest[32], const unsigned char hash[8],
		     const struct stat *st, int level, const char *root,
		     const char *rel, struct pyc__served *out)
{
	unsigned char head[PYC_HEADER_SIZE];
	struct pyc__store_key k, kc;
	struct pyc__store_obj o = { 0 }, c = { 0 };
	struct buf b = { 0 };
	bool own;
	int ret = 1;

	header_of(sv, st, hash, sv->mode, head);
	own = own_key(sv, digest, level, st, head, &k);
	if (own && get(sv, &k, &o, out) == 0) {
		ret = sv->dry ? 0 : place(sv, w, &k, &o, st, root, rel, out);
		goto out;
	}
	if (sv->mode == PYC_INV_CHECKED_HASH)
		goto out; /* k was the checked-hash object: not there */
	code_key(digest, level, hash, &kc);
	if (get(sv, &kc, &c, out) != 0)
		goto out;
	if (sv->dry) {
		ret = 0;
		goto out;
	}
	if (rehead(head, &c, &b) < 0) {
		ret = -1;
		goto out;
	}
	ret = own ? add_and_place(sv, w, &k, b.s, b.len, st, root, rel, out)
		  : pyc__write_atomic_w(w, root, rel, b.s, b.len, pyc_mode(st),
					sv->wflags);
out:
	pyc__buf_release(&b);
	pyc__store_obj_release(&o);
	pyc__store_obj_release(&c);
	return ret;
}

void pyc__serve_keep(const struct pyc__serve *sv,
		     const unsigned char digest[32], const unsigned char hash[8],
		     const struct stat *st, int level, const unsigned char *code,
		     size_t code_len)
{
	unsigned char head[PYC_HEADER_SIZE];
	struct pyc__store_key kc;
	struct buf b = { 0 };
	bool existed;

	header_of(sv, st, hash, PYC_INV_CHECKED_HASH, head);
	pyc__buf_add(&b, head, sizeof(head));
	pyc__buf_add(&b, code, code_len);
	code_key(digest, level, hash, &kc);
	if (!b.oom) /* a cache: no room, no harm */
		pyc__store_put(sv->comp, &kc, b.s, b.len, pyc_mode(st),
			       &existed, NULL);
	pyc__buf_release(&b);
}

int pyc__serve_add(const struct pyc__serve *sv, struct pyc__wdir *w,
		   const unsigned char digest[32], const unsigned char hash[8],
		   const struct stat *st, int level, const unsigned char *code,
		   size_t code_len, const char *root, const char *rel,
		   struct pyc__served *out)
{
	unsigned char head[PYC_HEADER_SIZE], chead[PYC_HEADER_SIZE];
	struct pyc__store_key k, kc;
	struct buf b = { 0 }, cb = { 0 };
	struct stat cst;
	bool existed, own, added_c = false;
	int ret = -1;

	header_of(sv, st, hash, sv->mode, head);
	header_of(sv, st, hash, PYC_INV_CHECKED_HASH, chead);
	pyc__buf_add(&b, head, sizeof(head));
	pyc__buf_add(&b, code, code_len);
	if (sv->mode != PYC_INV_CHECKED_HASH) {
		pyc__buf_add(&cb, chead, sizeof(chead));
		pyc__buf_add(&cb, code, code_len);
	}
	if (b.oom || cb.oom) {
		errno = ENOMEM;
		goto out;
	}
	/* The checked-hash object holds the code for every form: added
	 * once the pyc is written, or, when the pyc is to be a link to
	 * another object, before it and taken back if the pyc cannot be
	 * written (a failed run leaves no object of its own). */
	code_key(digest, level, hash, &kc);
	own = own_key(sv, digest, level, st, head, &k);
	if (!own) {
		ret = pyc__write_atomic_w(w, root, rel, b.s, b.len,
					  pyc_mode(st), sv->wflags);
		if (ret == 0) /* a cache: no room, no harm */
			pyc__store_put(sv->comp, &kc, cb.s, cb.len,
				       pyc_mode(st), &existed, NULL);
		goto out;
	}
	if (sv->mode != PYC_INV_CHECKED_HASH &&
	    pyc__store_put(sv->comp, &kc, cb.s, cb.len, pyc_mode(st),
			   &existed, &cst) == 0 && !existed)
		added_c = true;
	ret = add_and_place(sv, w, &k, b.s, b.len, st, root, rel, out);
	if (ret < 0 && added_c)
		forget(sv, &kc, &cst);
out:
	pyc__buf_release(&b);
	pyc__buf_release(&cb);
	return ret;
}
