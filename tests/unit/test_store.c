/* Unit tests of store.c and serve.c: names, the digest check on every
 * read, what an unsound object becomes, links and their refusals. */
#include "unit.h"
#include "scratch.h"
#include "internal.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static struct pyc_interp interp = {
	.impl = "cpython", .tag = "cpython-312", .magic = 3531,
	.build = "3.12.1 (main, Dec  1 2026, 00:00:00) [GCC 12.2.0]",
};

static struct pyc__store store;
static struct pyc__store_comp comp;
static char root[PATH_MAX];

static int setup(void **state)
{
	struct pyc_error err;

	(void)state;
	if (scratch_make("store", 0) < 0)
		return -1;
	pathf(root, "%s/store", base);
	if (pyc__store_open(&store, root, PYC__STORE_CREATE, &err) < 0 ||
	    pyc__store_compiler(&store, &interp, &comp) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pyc__store_compiler_close(&comp);
	pyc__store_close(&store);
	return scratch_remove();
}

/* A checked-hash pyc of `code` with this compiler's magic. */
static size_t pyc_bytes(unsigned char *out, const char *code)
{
	static const unsigned char hash[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	pyc_header_build(out, interp.magic, PYC_INV_CHECKED_HASH, 0, 0, hash);
	memcpy(out + PYC_HEADER_SIZE, code, strlen(code));
	return PYC_HEADER_SIZE + strlen(code);
}

static void key_of(struct pyc__store_key *k, const char *source)
{
	unsigned char d[32];

	pyc__sha256(source, strlen(source), d);
	pyc__store_key(k, d, 1, PYC_INV_CHECKED_HASH, 0, 0);
}

/* The object's path below the compiler's directory. */
static void obj_path(const struct pyc__store_key *k, char *out)
{
	char name[96];

	pyc__store_key_name(k, name, sizeof(name));
	pathf(out, "%s/v1/%s/%s", root, comp.id, name);
}

static void put(const struct pyc__store_key *k, const char *code)
{
	unsigned char data[256];
	size_t n = pyc_bytes(data, code);
	bool existed;

	assert_int_equal(pyc__store_put(&comp, k, data, n, 0644, &existed,
					NULL), 0);
}

static void test_names_round_trip(void **state)
{
	struct pyc__store_key k, back;
	char name[96];
	unsigned char d[32];

	(void)state;
	pyc__sha256("", 0, d);
	pyc__store_key(&k, d, 2, PYC_INV_TIMESTAMP, 0x12345678, 0x9abc);
	pyc__store_key_name(&k, name, sizeof(name));
	/* SHA-256("") is e3b0c442...: its first byte is the fan */
	assert_string_equal(name, "e3/b0c44298fc1c149afbf4c8996fb92427ae41e464"
				  "9b934ca495991b7852b855.2.t1234567800009abc");
	name[2] = '\0';
	assert_true(pyc__store_parse_name(name, name + 3, &back));
	assert_memory_equal(back.digest, k.digest, 32);
	assert_int_equal(back.level, 2);
	assert_string_equal(back.form, k.form);
	assert_false(pyc__store_parse_name("e3", "b0c4.2.c", &back));
	assert_false(pyc__store_parse_name("zz", name + 3, &back));
	assert_false(pyc__store_parse_name(
		"e3", "b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
		      "7852b855.3.c", &back));
	assert_false(pyc__store_parse_name(
		"e3", "b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
		      "7852b855.0.x", &back));
}

static void test_put_then_get_verifies(void **state)
{
	struct pyc__store_key k;
	struct pyc__store_obj o;
	char why[128], p[PATH_MAX];
	unsigned char d[32], attr[32];
	bool existed;

	(void)state;
	key_of(&k, "x = 1\n");
	assert_int_equal(pyc__store_get(&comp, &k, &o, why, sizeof(why)),
			 PYC__STORE_MISS);
	put(&k, "code");
	assert_int_equal(pyc__store_get(&comp, &k, &o, why, sizeof(why)),
			 PYC__STORE_HIT);
	assert_int_equal(o.len, PYC_HEADER_SIZE + 4);
	assert_memory_equal(o.data + PYC_HEADER_SIZE, "code", 4);
	/* the attribute is the content's SHA-256 */
	obj_path(&k, p);
	assert_int_equal(getxattr(p, PYC_STORE_XATTR, attr, 32), 32);
	pyc__sha256(o.data, o.len, d);
	assert_memory_equal(attr, d, 32);
	/* a second put keeps the first object */
	assert_int_equal(pyc__store_put(&comp, &k, "other", 5, 0644, &existed,
					NULL), 0);
	assert_true(existed);
	pyc__store_obj_release(&o);
	assert_int_equal(pyc__store_get(&comp, &k, &o, why, sizeof(why)),
			 PYC__STORE_HIT);
	assert_memory_equal(o.data + PYC_HEADER_SIZE, "code", 4);
	pyc__store_obj_release(&o);
}

/* Damage the object of k by `how`, then get it: unsound, and gone. */
enum damage { FLIP, TRUNCATE, NO_ATTR, OTHER_MAGIC, SYMLINK };

static void damage(const struct pyc__store_key *k, enum damage how)
{
	char p[PATH_MAX];
	unsigned char data[256], d[32];
	FILE *f;

	obj_path(k, p);
	switch (how) {
	case FLIP:
		assert_non_null(f = fopen(p, "r+b"));
		fseek(f, PYC_HEADER_SIZE + 1, SEEK_SET);
		fputc('X', f);
		fclose(f);
		break;
	case TRUNCATE:
		assert_int_equal(truncate(p, PYC_HEADER_SIZE + 2), 0);
		break;
	case NO_ATTR:
		assert_int_equal(removexattr(p, PYC_STORE_XATTR), 0);
		break;
	case OTHER_MAGIC: {
		size_t n = pyc_bytes(data, "code");
		data[0] ^= 1; /* another compiler's pyc, digest and all */
		pyc__sha256(data, n, d);
		assert_non_null(f = fopen(p, "wb"));
		fwrite(data, 1, n, f);
		fclose(f);
		assert_int_equal(setxattr(p, PYC_STORE_XATTR, d, 32, 0), 0);
		break;
	}
	case SYMLINK: {
		char elsewhere[PATH_MAX];
		pathf(elsewhere, "%s/elsewhere", base);
		assert_int_equal(rename(p, elsewhere), 0);
		assert_int_equal(symlink(elsewhere, p), 0);
		break;
	}
	}
}

static void test_unsound_objects_are_discarded(void **state)
{
	static const enum damage hows[] = { FLIP, TRUNCATE, NO_ATTR,
					    OTHER_MAGIC, SYMLINK };
	struct pyc__store_key k;
	struct pyc__store_obj o;
	struct stat st;
	char why[128], p[PATH_MAX], src[32];

	(void)state;
	for (size_t i = 0; i < sizeof(hows) / sizeof(hows[0]); i++) {
		snprintf(src, sizeof(src), "x = %zu\n", i);
		key_of(&k, src);
		put(&k, "code");
		damage(&k, hows[i]);
		why[0] = '\0';
		assert_int_equal(pyc__store_get(&comp, &k, &o, why,
						sizeof(why)),
				 PYC__STORE_BAD);
		assert_non_null(why[0]);
		assert_null(o.data);
		obj_path(&k, p);
		assert_int_equal(lstat(p, &st), -1);
		assert_int_equal(errno, ENOENT);
		/* and a new one can take its place */
		put(&k, "code");
		assert_int_equal(pyc__store_get(&comp, &k, &o, why,
						sizeof(why)),
				 PYC__STORE_HIT);
		pyc__store_obj_release(&o);
	}
	/* what the symlink pointed to is untouched */
	pathf(p, "%s/elsewhere", base);
	assert_int_equal(stat(p, &st), 0);
}

static void test_verify_at_finds_a_rewritten_link(void **state)
{
	struct pyc__store_key k;
	struct pyc__store_obj o;
	char why[128], p[PATH_MAX], tree[PATH_MAX];
	FILE *f;

	(void)state;
	key_of(&k, "y = 2\n");
	put(&k, "code");
	assert_int_equal(pyc__store_get(&comp, &k, &o, why, sizeof(why)),
			 PYC__STORE_HIT);
	pathf(tree, "%s/tree", base);
	assert_int_equal(mkdir(tree, 0755), 0);
	assert_int_equal(pyc__store_link(&comp, &k, &o, NULL, tree, "a/m.pyc", 0),
			 0);
	pyc__store_obj_release(&o);
	pathf(p, "%s/a/m.pyc", tree);
	int dfd = open(tree, O_RDONLY | O_DIRECTORY);
	assert_int_equal(pyc__store_verify_at(dfd, "a/m.pyc", why,
					      sizeof(why)), 0);
	/* rewritten in place, as some tools do: every link is damaged */
	assert_non_null(f = fopen(p, "r+b"));
	fseek(f, PYC_HEADER_SIZE, SEEK_SET);
	fputs("edit", f);
	fclose(f);
	assert_int_equal(pyc__store_verify_at(dfd, "a/m.pyc", why,
					      sizeof(why)), 1);
	close(dfd);
	assert_int_equal(pyc__store_get(&comp, &k, &o, why, sizeof(why)),
			 PYC__STORE_BAD);
}

/* A link to an object that is no longer the one verified is refused. */
static void test_link_refuses_a_replaced_object(void **state)
{
	struct pyc__store_key k;
	struct pyc__store_obj o;
	char why[128], p[PATH_MAX], tree[PATH_MAX];
	struct stat st;

	(void)state;
	key_of(&k, "z = 3\n");
	put(&k, "code");
	assert_int_equal(pyc__store_get(&comp, &k, &o, why, sizeof(why)),
			 PYC__STORE_HIT);
	obj_path(&k, p);
	assert_int_equal(unlink(p), 0);
	put(&k, "other code"); /* another file by that name */
	pathf(tree, "%s/tree2", base);
	assert_int_equal(mkdir(tree, 0755), 0);
	assert_int_equal(pyc__store_link(&comp, &k, &o, NULL, tree, "m.pyc", 0), -1);
	assert_int_equal(errno, ESTALE);
	pathf(p, "%s/m.pyc", tree);
	assert_int_equal(lstat(p, &st), -1);
	pyc__store_obj_release(&o);
	/* and relinking a pyc that already is the object leaves no
	 * temporary name behind */
	assert_int_equal(pyc__store_get(&comp, &k, &o, why, sizeof(why)),
			 PYC__STORE_HIT);
	assert_int_equal(pyc__store_link(&comp, &k, &o, NULL, tree, "m.pyc", 0), 0);
	assert_int_equal(pyc__store_link(&comp, &k, &o, NULL, tree, "m.pyc", 0), 0);
	pyc__store_obj_release(&o);
	char cmd[PATH_MAX + 64];
	pathf(cmd, "test $(ls -A '%s' | wc -l) = 1", tree);
	assert_int_equal(system(cmd), 0);
}

/* A store another user could write into is refused. */
static void test_store_writable_by_others_is_refused(void **state)
{
	struct pyc__store s2;
	struct pyc_error err;

	(void)state;
	assert_int_equal(chmod(root, 0777), 0);
	assert_int_equal(pyc__store_open(&s2, root, PYC__STORE_CREATE, &err),
			 -1);
	assert_int_equal(errno, EPERM);
	assert_non_null(strstr(err.msg, "writable by others"));
	assert_int_equal(pyc__store_open(&s2, root, PYC__STORE_INSECURE,
					 &err), 0);
	pyc__store_close(&s2);
	assert_int_equal(chmod(root, 0700), 0);
}

/* Two builds of one release are two compilers; the hash seed too. */
static void test_identity_names_the_build(void **state)
{
	struct pyc_interp other = interp;
	char *a, *b, *c;

	(void)state;
	other.build = "3.12.1 (main, Dec  2 2026, 00:00:00) [GCC 12.2.0]";
	a = pyc__store_identity(&interp, "0");
	b = pyc__store_identity(&other, "0");
	c = pyc__store_identity(&interp, "1");
	assert_string_not_equal(a, b);
	assert_string_not_equal(a, c);
	assert_non_null(strstr(a, interp.build));
	free(a);
	free(b);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_names_round_trip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_put_then_get_verifies,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_unsound_objects_are_discarded, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_verify_at_finds_a_rewritten_link, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_link_refuses_a_replaced_object, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_store_writable_by_others_is_refused, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_identity_names_the_build,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
