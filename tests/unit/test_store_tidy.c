/*
 * Unit tests of store_tidy.c: what each entry of a store is (objects,
 * temporary files, the layout, what is not ours), pyc_store_measure(),
 * pyc_store_check() of objects, shared pycs and the store's trust, the
 * prefix walks that skip the store (pyc_du_store()), and pyc_prune() of
 * the store's objects.  Objects are made by hand: bytes and the digest
 * attribute, at the layout's places.
 */
#include "unit.h"
#include "scratch.h"
#include "internal.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define COMP "cpython-312-0123456789abcdef"
#define HEX62 "00112233445566778899aabbccddeeff00112233445566778899aabbccddee"

static char pfx[PATH_MAX], store[PATH_MAX];

static int setup(void **state)
{
	(void)state;
	if (scratch_make("store-tidy", 0) < 0)
		return -1;
	pathf(pfx, "%s/pfx", base);
	pathf(store, "%s/pfx/" PYC_STORE_IN_PREFIX, base);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return scratch_remove();
}

/* store/rel, made with its directories. */
static char *in_store(char *out, const char *rel)
{
	return pathf(out, "%s/%s", store, rel);
}

static void put_file(const char *path, const char *data)
{
	write_path(path, data, strlen(data));
}

/* An object at store/rel holding data, with its digest (or a wrong one
 * when `bad`). */
static void put_object(const char *rel, const char *data, bool bad)
{
	unsigned char d[32];
	char p[PATH_MAX];

	put_file(in_store(p, rel), data);
	pyc__sha256(data, strlen(data), d);
	d[0] ^= bad;
	assert_int_equal(setxattr(p, PYC_STORE_XATTR, d, sizeof(d), 0), 0);
}

static void make_layout(void)
{
	char p[PATH_MAX];

	put_file(in_store(p, "CACHEDIR.TAG"), PYC_CACHEDIR_TAG);
	put_file(in_store(p, "v1/" COMP "/identity"), "x\n");
	assert_int_equal(chmod(store, 0700), 0);
	assert_int_equal(chmod(in_store(p, "v1"), 0700), 0);
}

static void age(const char *path, int64_t days)
{
	struct timespec t[2];

	t[0].tv_sec = t[1].tv_sec = time(NULL) - (time_t)(days * 86400);
	t[0].tv_nsec = t[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW), 0);
}

static void test_measure_kinds(void **state)
{
	struct pyc_store_usage u;
	char p[PATH_MAX], q[PATH_MAX];

	(void)state;
	/* Not there: nothing, no error. */
	assert_int_equal(pyc_store_measure(store, NULL, &u), 0);
	assert_int_equal(u.objects + u.others + u.temps + u.errors, 0);
	make_layout();
	put_object("v1/" COMP "/ab/" HEX62 ".0.c", "object one", false);
	put_object("v1/" COMP "/ab/" HEX62 ".1.t0000000100000002", "two",
		   false);
	put_file(in_store(p, "v1/" COMP "/ab/.pycprefix-0123456789ab"), "t");
	/* not ours: a bad level, a file in v1, a fan that is no fan, a
	 * compiler without its hex, a symlink named as an object */
	put_file(in_store(p, "v1/" COMP "/ab/" HEX62 ".3.c"), "x");
	put_file(in_store(p, "v1/stray"), "x");
	put_file(in_store(p, "v1/" COMP "/zz/" HEX62 ".0.c"), "x");
	put_file(in_store(p, "v1/cpython-312/ab/" HEX62 ".0.c"), "x");
	assert_int_equal(symlink(in_store(q, "v1/" COMP "/ab/" HEX62 ".0.c"),
				 in_store(p, "v1/" COMP "/ab/" HEX62 ".2.c")),
			 0);
	assert_int_equal(pyc_store_measure(store, NULL, &u), 0);
	assert_int_equal(u.objects, 2);
	assert_int_equal(u.bytes, strlen("object one") + 3);
	assert_int_equal(u.temps, 1);
	/* .3.c, stray, zz/, cpython-312/, the symlink */
	assert_int_equal(u.others, 5);
	assert_int_equal(u.linked, 0);
	/* Below a base, the way there is no-follow too. */
	assert_int_equal(pyc_store_measure(store, pfx, &u), 0);
	assert_int_equal(u.objects, 2);
	/* A store that is a symlink (to the real one) holds nothing, with
	 * or without a base. */
	pathf(q, "%s/elsewhere", base);
	assert_int_equal(rename(store, q), 0);
	assert_int_equal(symlink(q, store), 0);
	assert_int_equal(pyc_store_measure(store, NULL, &u), 0);
	assert_int_equal(u.objects + u.others + u.errors, 0);
	assert_int_equal(pyc_store_measure(store, pfx, &u), 0);
	assert_int_equal(u.objects + u.others + u.errors, 0);
}

struct found {
	int n[PYC_STORE_UNTRUSTED + 1];
	char last[PYC_STORE_UNTRUSTED + 1][PATH_MAX];
};

static void on_found(const struct pyc_store_finding *f, void *arg)
{
	struct found *fd = arg;

	fd->n[f->kind]++;
	snprintf(fd->last[f->kind], PATH_MAX, "%s", f->path);
}

static void test_check(void **state)
{
	struct found fd;
	struct pyc_store_check_ops ops = { on_found, NULL, &fd };
	struct pyc_store_check_stats st;
	char p[PATH_MAX], q[PATH_MAX], bad[PATH_MAX];

	(void)state;
	memset(&fd, 0, sizeof(fd));
	make_layout();
	put_object("v1/" COMP "/ab/" HEX62 ".0.c", "sound", false);
	put_object("v1/" COMP "/ab/" HEX62 ".1.c", "corrupt", true);
	in_store(bad, "v1/" COMP "/ab/" HEX62 ".1.c");
	/* A pyc of the prefix sharing the sound object's file, and one
	 * with several names but no digest: only the first is checked. */
	pathf(p, "%s/home/a.cpython-312.pyc", pfx);
	put_file(p, "");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(link(in_store(q, "v1/" COMP "/ab/" HEX62 ".0.c"), p),
			 0);
	pathf(p, "%s/home/b.cpython-312.pyc", pfx);
	put_file(p, "plain");
	pathf(q, "%s/home/c.cpython-312.pyc", pfx);
	assert_int_equal(link(p, q), 0);
	assert_int_equal(pyc_store_check(pfx, store, &ops, &st), 0);
	assert_int_equal(st.objects, 2);
	assert_int_equal(st.links, 1);
	assert_int_equal(st.unsound, 1);
	assert_int_equal(fd.n[PYC_STORE_UNSOUND], 1);
	assert_string_equal(fd.last[PYC_STORE_UNSOUND], bad);
	assert_int_equal(fd.n[PYC_STORE_LINK_UNSOUND], 0);
	assert_int_equal(fd.n[PYC_STORE_UNTRUSTED], 0);
	/* The shared pyc rewritten in place: both names unsound. */
	pathf(p, "%s/home/a.cpython-312.pyc", pfx);
	put_file(p, "SOUND");
	memset(&fd, 0, sizeof(fd));
	assert_int_equal(pyc_store_check(pfx, store, &ops, &st), 0);
	assert_int_equal(fd.n[PYC_STORE_LINK_UNSOUND], 1);
	assert_string_equal(fd.last[PYC_STORE_LINK_UNSOUND], p);
	assert_int_equal(fd.n[PYC_STORE_UNSOUND], 2);
	/* A store others may write into, a v1 that is a symlink. */
	assert_int_equal(chmod(store, 0777), 0);
	memset(&fd, 0, sizeof(fd));
	assert_int_equal(pyc_store_check(NULL, store, &ops, &st), 0);
	assert_int_equal(fd.n[PYC_STORE_UNTRUSTED], 1);
	assert_int_equal(st.links, 0);
	assert_int_equal(chmod(store, 0700), 0);
	assert_int_equal(rename(in_store(p, "v1"), in_store(q, "v2")), 0);
	assert_int_equal(symlink("v2", p), 0);
	memset(&fd, 0, sizeof(fd));
	assert_int_equal(pyc_store_check(NULL, store, &ops, &st), 0);
	assert_int_equal(fd.n[PYC_STORE_UNTRUSTED], 1);
	assert_int_equal(st.objects, 0); /* the symlink was not followed */
	assert_int_equal(fd.n[PYC_STORE_NOT_OURS], 2); /* v1 and v2 */
}

static void on_pyc(const struct pyc_du_item *it, void *arg)
{
	(void)it;
	++*(int *)arg;
}

static void test_du_skips_and_counts_the_store(void **state)
{
	int pycs = 0;
	struct pyc_du_ops ops = { .pyc = on_pyc, .arg = &pycs };
	struct pyc_tidy_stats st;
	struct pyc_store_usage u;
	char p[PATH_MAX], q[PATH_MAX];
	struct stat sb;

	(void)state;
	make_layout();
	/* named as a pyc, in the store: not one of the prefix's */
	put_file(in_store(p, "x.cpython-312.pyc"), "x");
	put_object("v1/" COMP "/ab/" HEX62 ".0.c", "shared", false);
	pathf(q, "%s/home/a.cpython-312.pyc", pfx);
	put_file(q, "");
	assert_int_equal(unlink(q), 0);
	assert_int_equal(link(in_store(p, "v1/" COMP "/ab/" HEX62 ".0.c"), q),
			 0);
	pathf(p, "%s/home/b.cpython-312.pyc", pfx);
	assert_int_equal(link(q, p), 0);
	put_object("v1/" COMP "/cd/" HEX62 ".0.c", "alone", false);
	assert_int_equal(pyc_du_store(pfx, &ops, &st, &u), 0);
	assert_int_equal(pycs, 2);
	assert_int_equal(st.kept, 2);
	assert_int_equal(u.objects, 2);
	assert_int_equal(u.linked, 1);
	assert_int_equal(u.others, 1);
	assert_int_equal(lstat(q, &sb), 0);
	/* three names of one file: two saved */
	assert_int_equal(u.saved_disk_bytes, 2 * (uint64_t)sb.st_blocks * 512);
	assert_int_equal(lstat(in_store(p, "v1/" COMP "/cd/" HEX62 ".0.c"),
			       &sb), 0);
	assert_int_equal(u.own_disk_bytes, (uint64_t)sb.st_blocks * 512);
	/* pyc_du() alone: the same pycs, the store unseen */
	pycs = 0;
	assert_int_equal(pyc_du(pfx, &ops, &st), 0);
	assert_int_equal(pycs, 2);
}

struct evs {
	int n;
	enum pyc_tidy_why why[16];
	char path[16][PATH_MAX];
};

static void on_event(const struct pyc_tidy_event *ev, void *arg)
{
	struct evs *e = arg;

	if (e->n < 16) {
		e->why[e->n] = ev->why;
		snprintf(e->path[e->n], PATH_MAX, "%s", ev->path);
	}
	e->n++;
}

static void test_prune_store(void **state)
{
	struct evs ev = { 0 };
	struct pyc_tidy_opts o = { .flags = PYC_TIDY_STORE_AGE,
				   .store_age = 30 * 86400,
				   .temp_grace = 600, .event = on_event,
				   .arg = &ev };
	struct pyc_tidy_stats st;
	char old[PATH_MAX], young[PATH_MAX], linked[PATH_MAX];
	char pyc[PATH_MAX], tmp[PATH_MAX], odd[PATH_MAX];
	const char *whole[] = { "/" };

	(void)state;
	o.prefix = pfx;
	make_layout();
	put_object("v1/" COMP "/ab/" HEX62 ".0.c", "old", false);
	age(in_store(old, "v1/" COMP "/ab/" HEX62 ".0.c"), 40);
	put_object("v1/" COMP "/cd/" HEX62 ".0.c", "young", false);
	age(in_store(young, "v1/" COMP "/cd/" HEX62 ".0.c"), 10);
	put_object("v1/" COMP "/ef/" HEX62 ".0.c", "linked", false);
	in_store(linked, "v1/" COMP "/ef/" HEX62 ".0.c");
	/* Its pyc's source is there: the pyc stays, and so does it. */
	pathf(pyc, "%s%s/m.cpython-312.pyc", pfx, base);
	put_file(pyc, "");
	assert_int_equal(unlink(pyc), 0);
	assert_int_equal(link(linked, pyc), 0);
	put_file(at(odd, "m.py"), "m = 1\n");
	age(linked, 40);
	put_file(in_store(tmp, "v1/" COMP "/ab/.pycprefix-0123456789ab"), "");
	age(tmp, 1);
	put_file(in_store(odd, "v1/" COMP "/ab/not-ours"), "");
	age(odd, 40);
	o.flags |= PYC_TIDY_DRY_RUN;
	assert_int_equal(pyc_prune(&o, NULL, 0, &st), 0);
	assert_int_equal(ev.n, 2);
	assert_int_equal(ev.why[0], PYC_TIDY_TEMP);
	assert_string_equal(ev.path[0], tmp);
	assert_int_equal(ev.why[1], PYC_TIDY_STORE_UNUSED);
	assert_string_equal(ev.path[1], old);
	o.flags &= ~PYC_TIDY_DRY_RUN;
	ev.n = 0;
	/* "/" names the whole prefix: the store is pruned too. */
	assert_int_equal(pyc_prune(&o, whole, 1, &st), 0);
	assert_int_equal(ev.n, 2);
	assert_false(access(old, F_OK) == 0);
	assert_false(access(tmp, F_OK) == 0);
	assert_true(access(young, F_OK) == 0);
	assert_true(access(linked, F_OK) == 0);
	assert_true(access(odd, F_OK) == 0);
	/* the emptied fan stays */
	in_store(old, "v1/" COMP "/ab");
	assert_true(access(old, F_OK) == 0);
	/* Without PYC_TIDY_STORE_AGE, no object goes for its age. */
	o.flags = 0;
	o.store_age = 0;
	ev.n = 0;
	assert_int_equal(pyc_prune(&o, NULL, 0, &st), 0);
	assert_int_equal(ev.n, 0);
	/* A subtree of the prefix: the store is not walked. */
	o.flags = PYC_TIDY_STORE_AGE;
	const char *sub[] = { base };
	assert_int_equal(pyc_prune(&o, sub, 1, &st), 0);
	assert_int_equal(ev.n, 0);
	assert_int_equal(pyc_prune(&o, NULL, 0, &st), 0);
	assert_int_equal(ev.n, 1);
	assert_string_equal(ev.path[0], young);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_measure_kinds, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_check, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_du_skips_and_counts_the_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_store, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
