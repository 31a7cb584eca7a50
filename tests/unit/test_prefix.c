/* Unit tests of prefix.c and buf.c. */
#include "unit.h"
#include "buf.h"

#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_resolve(void **state)
{
	const char *origin;
	char *p;

	(void)state;
	setenv("HOME", "/home/u", 1);
	unsetenv("XDG_CACHE_HOME");
	unsetenv("PYTHONPYCACHEPREFIX");
	assert_int_equal(pyc_prefix_resolve(NULL, &p, &origin), 0);
	assert_string_equal(p, "/home/u/.cache/pycprefix");
	assert_string_equal(origin, "default");
	free(p);
	setenv("XDG_CACHE_HOME", "relative", 1); /* ignored: not absolute */
	assert_int_equal(pyc_prefix_resolve(NULL, &p, &origin), 0);
	assert_string_equal(p, "/home/u/.cache/pycprefix");
	free(p);
	setenv("XDG_CACHE_HOME", "/x", 1);
	setenv("PYTHONPYCACHEPREFIX", "", 1); /* empty means unset */
	assert_int_equal(pyc_prefix_resolve(NULL, &p, &origin), 0);
	assert_string_equal(p, "/x/pycprefix");
	free(p);
	setenv("PYTHONPYCACHEPREFIX", "rel/p", 1);
	assert_int_equal(pyc_prefix_resolve(NULL, &p, &origin), 0);
	assert_string_equal(p, "rel/p");
	assert_string_equal(origin, "PYTHONPYCACHEPREFIX");
	free(p);
	assert_int_equal(pyc_prefix_resolve("/o", &p, &origin), 0);
	assert_string_equal(p, "/o");
	free(p);
	assert_int_equal(pyc_prefix_resolve("", &p, &origin), -1);
	assert_int_equal(errno, EINVAL);
}

static void test_buf(void **state)
{
	struct buf b = { 0 };
	char *s;

	(void)state;
	for (int i = 0; i < 1000; i++)
		pyc__buf_addf(&b, "%d,", i % 10);
	assert_int_equal(b.len, 2000);
	pyc__buf_add(&b, "\0z", 2);
	assert_int_equal(b.len, 2002);
	s = pyc__buf_detach(&b);
	assert_int_equal(s[2001], 'z');
	assert_null(b.s);
	free(s);
	s = pyc__buf_detach(&b); /* empty buffer: an empty string */
	assert_string_equal(s, "");
	free(s);
}

/* ---- pyc_prefix_prepare ---- */

struct unsafe_seen {
	int n;
	enum pyc_trust t;
	char path[PATH_MAX];
};

static void on_unsafe(const char *path, enum pyc_trust t,
		      const struct stat *st, void *arg)
{
	struct unsafe_seen *u = arg;

	(void)st;
	u->n++;
	u->t = t;
	snprintf(u->path, sizeof(u->path), "%s", path);
}

static bool is_dir(const char *path, mode_t *mode)
{
	struct stat st;

	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return false;
	*mode = st.st_mode & 07777;
	return true;
}

/*
 * Missing parents are created 0755 (under the umask); a directory on
 * the way others may write into is refused (EPERM, named in err and to
 * fn) unless PYC_PREFIX_INSECURE; a file is ENOTDIR; a prefix the user
 * may not write into is one error (EACCES).
 */
static void test_prepare(void **state)
{
	char base[] = "/tmp/pyc-prefix-XXXXXX", p[PATH_MAX], q[PATH_MAX];
	char cmd[PATH_MAX];
	struct pyc_error err = { "" };
	struct unsafe_seen u = { 0 };
	mode_t old = umask(022), mode;
	bool root_user = geteuid() == 0;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(base));
	assert_int_equal(chmod(base, 0755), 0);

	snprintf(p, sizeof(p), "%s/a/b/pfx", base);
	assert_int_equal(pyc_prefix_prepare(p, 0, on_unsafe, &u, &err), 0);
	assert_true(is_dir(p, &mode));
	assert_int_equal(mode, 0755);
	assert_int_equal(pyc_prefix_prepare(p, 0, on_unsafe, &u, &err), 0);
	assert_int_equal(u.n, 0);

	snprintf(q, sizeof(q), "%s/open", base);
	assert_int_equal(mkdir(q, 0755), 0);
	assert_int_equal(chmod(q, 0777), 0);
	snprintf(p, sizeof(p), "%s/open/pfx", base);
	errno = 0;
	assert_int_equal(pyc_prefix_prepare(p, 0, on_unsafe, &u, &err), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(u.n, 1);
	assert_int_equal(u.t, PYC_TRUST_WRITABLE);
	assert_string_equal(u.path, q);
	assert_non_null(strstr(err.msg, q));
	assert_false(is_dir(p, &mode));
	assert_int_equal(pyc_prefix_prepare(p, PYC_PREFIX_INSECURE, NULL,
					    NULL, &err), 0);
	assert_true(is_dir(p, &mode));

	snprintf(p, sizeof(p), "%s/file", base);
	assert_non_null(f = fopen(p, "w"));
	fclose(f);
	errno = 0;
	assert_int_equal(pyc_prefix_prepare(p, 0, NULL, NULL, &err), -1);
	assert_int_equal(errno, ENOTDIR);
	assert_non_null(strstr(err.msg, "cannot use the prefix"));

	/* root may write anywhere: the unwritable prefix as nobody. */
	snprintf(p, sizeof(p), "%s/ro", base);
	assert_int_equal(mkdir(p, 0555), 0);
	if (root_user)
		assert_int_equal(seteuid(65534), 0);
	errno = 0;
	int ret = pyc_prefix_prepare(p, 0, NULL, NULL, &err);
	int saved = errno;
	if (root_user)
		assert_int_equal(seteuid(0), 0);
	assert_int_equal(ret, -1);
	assert_int_equal(saved, EACCES);
	assert_non_null(strstr(err.msg, "cannot write into the prefix"));

	umask(old);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	assert_int_equal(system(cmd), 0);
}

static bool read_all(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
	return true;
}

/*
 * A prefix pyc_prefix_prepare() creates gets PYC_CACHEDIR_TAG, which
 * pyc_prefix_tagged() recognises; one that existed does not; a tag is
 * never rewritten; a file of that name without the signature is no tag.
 */
static void test_cachedir_tag(void **state)
{
	char base[] = "/tmp/pyc-prefix-XXXXXX", p[PATH_MAX], tag[PATH_MAX];
	char buf[512], cmd[PATH_MAX];
	struct pyc_error err = { "" };
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(base));
	assert_int_equal(chmod(base, 0755), 0);
	snprintf(p, sizeof(p), "%s/new/pfx", base);
	assert_false(pyc_prefix_tagged(p));
	assert_int_equal(pyc_prefix_prepare(p, 0, NULL, NULL, &err), 0);
	snprintf(tag, sizeof(tag), "%s/new/pfx/" PYC_CACHEDIR_TAG_NAME, base);
	assert_true(read_all(tag, buf, sizeof(buf)));
	assert_string_equal(buf, PYC_CACHEDIR_TAG);
	assert_int_equal(strncmp(buf, "Signature: 8a477f597d28d172789f06886806bc55",
				 43), 0);
	assert_true(pyc_prefix_tagged(p));
	/* Only the prefix, not the parents made on the way. */
	snprintf(tag, sizeof(tag), "%s/new/" PYC_CACHEDIR_TAG_NAME, base);
	assert_int_equal(access(tag, F_OK), -1);

	/* An existing prefix is left as it is, tag or not. */
	snprintf(p, sizeof(p), "%s/old", base);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(pyc_prefix_prepare(p, 0, NULL, NULL, &err), 0);
	assert_false(pyc_prefix_tagged(p));
	snprintf(tag, sizeof(tag), "%s/old/" PYC_CACHEDIR_TAG_NAME, base);
	assert_int_equal(access(tag, F_OK), -1);
	assert_non_null(f = fopen(tag, "w"));
	fputs("Signature: 8a477f597d28d172789f06886806bc5", f); /* short */
	fclose(f);
	assert_false(pyc_prefix_tagged(p));
	assert_non_null(f = fopen(tag, "w"));
	fputs("Signature: 8a477f597d28d172789f06886806bc55", f);
	fclose(f);
	assert_true(pyc_prefix_tagged(p));
	assert_int_equal(pyc_prefix_prepare(p, 0, NULL, NULL, &err), 0);
	assert_true(read_all(tag, buf, sizeof(buf)));
	assert_string_equal(buf, "Signature: 8a477f597d28d172789f06886806bc55");

	/* A directory of that name is no tag. */
	snprintf(p, sizeof(p), "%s/dir", base);
	snprintf(tag, sizeof(tag), "%s/dir/" PYC_CACHEDIR_TAG_NAME, base);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(mkdir(tag, 0755), 0);
	assert_false(pyc_prefix_tagged(p));

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_prepare),
		cmocka_unit_test(test_cachedir_tag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
