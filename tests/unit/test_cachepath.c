/* Unit tests of cachepath.c: fixed cases, each checked once against the
 * interpreters (the conformance suite compares generated ones). */
#include "unit.h"
#include "internal.h"

static struct pyc_interp py(int minor)
{
	static char tags[4][16];
	static char uni[] = "15.0.0";
	struct pyc_interp in = { .major = 3, .minor = minor };

	snprintf(tags[minor % 4], sizeof(tags[0]), "cpython-3%d", minor);
	in.tag = tags[minor % 4];
	in.unidata = uni;
	return in;
}

static void check_fwd(int minor, const char *prefix, const char *cwd,
		      const char *src, int opt, const char *want)
{
	struct pyc_interp in = py(minor);
	char *out = NULL;
	enum pyc_path_error e = pyc_cache_from_source(&in, prefix, cwd, src,
						      opt, &out, NULL);

	if (!want) {
		assert_int_not_equal(e, PYC_PATH_OK);
		assert_null(out);
		return;
	}
	assert_int_equal(e, PYC_PATH_OK);
	assert_string_equal(out, want);
	free(out);
}

static void test_in_tree(void **state)
{
	(void)state;
	check_fwd(12, NULL, "/w", "a/b.py", 0, "a/__pycache__/b.cpython-312.pyc");
	check_fwd(12, NULL, "/w", "b.py", 2, "__pycache__/b.cpython-312.opt-2.pyc");
	check_fwd(8, NULL, "/w", "noext", 0, "__pycache__/noextcpython-38.pyc");
	check_fwd(8, NULL, "/w", ".hidden", 0, "__pycache__/hidden.cpython-38.pyc");
	check_fwd(8, NULL, "/w", "a.b.c.py", 1, "__pycache__/a.b.c.cpython-38.opt-1.pyc");
	check_fwd(8, NULL, "/w", "", 0, "__pycache__/cpython-38.pyc");
	check_fwd(8, NULL, "/w", "d//x.py", 0, "d/__pycache__/x.cpython-38.pyc");
}

static void test_prefix(void **state)
{
	(void)state;
	check_fwd(12, "/p", "/w", "a/b.py", 0, "/p/w/a/b.cpython-312.pyc");
	check_fwd(12, "/p//", "/w", "/abs/b.py", 1, "/p/abs/b.cpython-312.opt-1.pyc");
	check_fwd(12, "rel", "/w", "b.py", 0, "rel/w/b.cpython-312.pyc");
	check_fwd(12, "/", "/w", "b.py", 0, "/w/b.cpython-312.pyc");
	/* 3.12's _path_abspath drops one "./"; 3.8-3.11 keep it. */
	check_fwd(12, "/p", "/w", "./a/b.py", 0, "/p/w/a/b.cpython-312.pyc");
	check_fwd(11, "/p", "/w", "./a/b.py", 0, "/p/w/./a/b.cpython-311.pyc");
	check_fwd(12, "/p", "/w", "./b.py", 0, "/p/w/./b.cpython-312.pyc");
	check_fwd(12, "/p", "/w", ".//a/b.py", 0, "/p/w//a/b.cpython-312.pyc");
}

static void test_prefix_index_error(void **state)
{
	struct pyc_interp in = py(13);
	char *out;

	(void)state;
	/* The head, made absolute, is shorter than 2: head[1] fails. */
	assert_int_equal(pyc_cache_from_source(&in, "/p", "/", "x.py", 0, &out,
					       NULL), PYC_PATH_INDEX);
	/* "/x.py" splits to head "": CPython joins the cwd to it. */
	check_fwd(13, "/p", "/w", "/x.py", 0, "/p/w/x.cpython-313.pyc");
	assert_int_equal(pyc_cache_from_source(&in, "/p", "/w", "//x.py", 0,
					       &out, NULL), PYC_PATH_INDEX);
	check_fwd(13, "/p", "/w", "///x.py", 0, "/p/x.cpython-313.pyc");
	/* No cwd needed for absolute sources; needed (and missing) here. */
	check_fwd(13, "/p", NULL, "/a/x.py", 0, "/p/a/x.cpython-313.pyc");
	assert_int_equal(pyc_cache_from_source(&in, "/p", NULL, "x.py", 0,
					       &out, NULL), PYC_PATH_OS);
	/* 3.14 slices the head (gh-82916): '/' joins as nothing. */
	check_fwd(14, "/p", "/", "x.py", 0, "/p/x.cpython-314.pyc");
	check_fwd(14, "/p/", "/w", "//x.py", 0, "/p/x.cpython-314.pyc");
}

static void check_rev(const char *prefix, const char *pyc, const char *want,
		      int want_opt)
{
	struct pyc_interp in = py(12);
	char *out = NULL;
	int opt = 99;
	enum pyc_path_error e = pyc_source_from_cache(&in, prefix, pyc, &out,
						      &opt, NULL);

	if (!want) {
		assert_int_equal(e, PYC_PATH_VALUE);
		return;
	}
	assert_int_equal(e, PYC_PATH_OK);
	assert_string_equal(out, want);
	assert_int_equal(opt, want_opt);
	free(out);
}

static void test_reverse(void **state)
{
	(void)state;
	check_rev(NULL, "a/__pycache__/b.cpython-312.pyc", "a/b.py", 0);
	check_rev(NULL, "__pycache__/b.cpython-312.opt-2.pyc", "b.py", 2);
	check_rev("/p", "/p/w/b.cpython-312.pyc", "/w/b.py", 0);
	check_rev("/p/", "/p/w/b.x.opt-1.pyc", "/w/b.py", 1);
	check_rev("/p", "/q/w/b.cpython-312.pyc", NULL, 0);
	check_rev("/p", "/p/b.cpython-312.pyc", NULL, 0); /* head "/p" only */
	check_rev(NULL, "__pycache__/b.pyc", NULL, 0);
	check_rev(NULL, "__pycache__/b.c.d.e.pyc", NULL, 0);
	check_rev(NULL, "__pycache__/b.t.opt.pyc", NULL, 0);
	check_rev(NULL, "__pycache__/b.t.opt-.pyc", NULL, 0);
	check_rev(NULL, "__pycache__/b.t.opt-a1.pyc", "b.py", -1);
	/* ARABIC-INDIC DIGIT THREE is alphanumeric to Python. */
	check_rev(NULL, "__pycache__/b.t.opt-\xd9\xa3.pyc", "b.py", -1);
	/* A lone undecodable byte is a surrogate: not alphanumeric. */
	check_rev(NULL, "__pycache__/b.t.opt-\xff.pyc", NULL, 0);
}

static void check_inverse(const char *prefix, const char *pyc,
			  const char *want, const char *tag, int opt)
{
	struct pyc_cache_name cn = { 0 };
	char *out = NULL;
	enum pyc_path_error e = pyc_source_of_cache(prefix, pyc, &out, &cn,
						    NULL);

	if (!want) {
		assert_int_not_equal(e, PYC_PATH_OK);
		assert_null(out);
		return;
	}
	assert_int_equal(e, PYC_PATH_OK);
	assert_string_equal(out, want);
	assert_string_equal(cn.tag, tag);
	assert_int_equal(cn.opt, opt);
	free(out);
}

/* The inverse of cache_from_source(), dotted stems included. */
static void test_inverse(void **state)
{
	(void)state;
	check_inverse(NULL, "a/__pycache__/b.cpython-312.pyc", "a/b.py",
		      "cpython-312", 0);
	check_inverse("/p", "/p/w/a.b.cpython-312.opt-2.pyc", "/w/a.b.py",
		      "cpython-312", 2);
	check_inverse("/p", "/p/w/.hidden.cpython-38.pyc", "/w/.hidden.py",
		      "cpython-38", 0);
	/* Each part found from the right: a stem may look like a tag. */
	check_inverse(NULL, "__pycache__/x.opt-1.cpython-313.opt-1.pyc",
		      "x.opt-1.py", "cpython-313", 1);
	check_inverse(NULL, "__pycache__/x.cpython-313.cpython-313.pyc",
		      "x.cpython-313.py", "cpython-313", 0);
	check_inverse(NULL, "__pycache__/b.cpython-312.opt-12.pyc", "b.py",
		      "cpython-312", 12);
	check_inverse("/p", "/q/w/b.cpython-312.pyc", NULL, NULL, 0);
	check_inverse(NULL, "a/b.cpython-312.pyc", NULL, NULL, 0);
	check_inverse(NULL, "__pycache__/b.pyc", NULL, NULL, 0);
	check_inverse(NULL, "__pycache__/.cpython-312.pyc", NULL, NULL, 0);
	check_inverse(NULL, "__pycache__/b.cpython-312.opt-.pyc", NULL,
		      NULL, 0);
	check_inverse(NULL, "__pycache__/b.cpython-312.opt-a.pyc", NULL,
		      NULL, 0);
	check_inverse(NULL, "__pycache__/b.cpy thon.pyc", NULL, NULL, 0);
	check_inverse(NULL, "__pycache__/b.cpython-312.opt-1.pyc~", NULL,
		      NULL, 0);
}

static void test_isalnum(void **state)
{
	(void)state;
	assert_false(pyc_str_isalnum("", 0, NULL));
	assert_true(pyc_str_isalnum("a1Z", 3, NULL));
	assert_false(pyc_str_isalnum("a-1", 3, NULL));
	assert_true(pyc_str_isalnum("\xc3\xa9", 2, "12.1.0"));
	assert_false(pyc_str_isalnum("\xc3", 1, NULL));
	assert_false(pyc_str_isalnum("\xed\xa0\x80", 3, NULL)); /* surrogate */
	assert_false(pyc_str_isalnum("\xc0\xb1", 2, NULL));     /* overlong */
	/* U+1E950 ADLAM DIGIT ZERO is in every version; U+11F50 KAWI DIGIT
	 * ZERO came with Unicode 15.0 (Python 3.12). */
	assert_true(pyc_str_isalnum("\xf0\x9e\xa5\x90", 4, "12.1.0"));
	assert_false(pyc_str_isalnum("\xf0\x91\xbd\x90", 4, "14.0.0"));
	assert_true(pyc_str_isalnum("\xf0\x91\xbd\x90", 4, "15.0.0"));
}

/* Only real implementations' cache tags make a pyc an artifact. */
static void test_cache_tag_is_real(void **state)
{
	static const char *const real[] = {
		"cpython-38", "cpython-313", "cpython-399", "pypy39", "pypy310",
		"graalpy231-310", "graalpy-38", "graalpython-38",
	};
	static const char *const fake[] = {
		"foo", "cpython", "cpython-", "cpython-3x", "cpython38",
		"cpython-313t-x", "pypy", "pypy-39", "pypy39-", "graalpy",
		"graalpy231", "graalpy-", "graalpy231-", "graalpy-38-1",
		"python-312", "jython-27", "",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(real) / sizeof(real[0]); i++)
		assert_true(pyc_cache_tag_is_real(real[i]));
	for (size_t i = 0; i < sizeof(fake) / sizeof(fake[0]); i++)
		assert_false(pyc_cache_tag_is_real(fake[i]));
}

static void check_id(const char *prefix, const char *cwd, const char *pyc,
		     const char *want)
{
	char *out = pyc__pyc_identity(prefix, cwd, pyc);

	assert_non_null(out);
	assert_string_equal(out, want);
	free(out);
}

static void test_identity(void **state)
{
	(void)state;
	/* Below the prefix: ".", "//" and ".." as the file system resolves
	 * them in directories that are never symlinks. */
	check_id("/p", "/w", "/p/w/./a//b.pyc", "/p/w/a/b.pyc");
	check_id("/p/", "/w", "/p/w/a/../a/b.pyc", "/p/w/a/b.pyc");
	check_id("/p", "/w", "/p/w/../../../b.pyc", "/p/../../b.pyc");
	check_id("/", "/w", "/w/x/../b.pyc", "/w/b.pyc");
	/* Beside the sources: relative to cwd, ".." kept (the directory
	 * before it may be a symlink). */
	check_id(NULL, "/w", "./a/__pycache__/b.pyc", "/w/a/__pycache__/b.pyc");
	check_id(NULL, "/w", "/w//a/__pycache__/b.pyc",
		 "/w/a/__pycache__/b.pyc");
	check_id(NULL, "/w", "l/../__pycache__/b.pyc",
		 "/w/l/../__pycache__/b.pyc");
	check_id(NULL, "/", "__pycache__/b.pyc", "/__pycache__/b.pyc");
	check_id(NULL, NULL, "a/__pycache__/b.pyc", "a/__pycache__/b.pyc");
	/* A directory whose name starts as the prefix's is not in it. */
	check_id("/p", "/w", "/pq/../b.pyc", "/pq/../b.pyc");
}

/* Inside the prefix is below one of its components, "/" holding every
 * absolute path; the rest is what follows the separator. */
static void test_below_prefix(void **state)
{
	size_t n = 0;

	(void)state;
	assert_string_equal(pyc__below_prefix("/p", "/p/w/a.pyc", &n),
			    "w/a.pyc");
	assert_int_equal(n, 2);
	assert_string_equal(pyc__below_prefix("/p//", "/p/w/a.pyc", &n),
			    "w/a.pyc");
	assert_int_equal(n, 2);
	assert_string_equal(pyc__below_prefix("rel", "rel/w/a.pyc", &n),
			    "w/a.pyc");
	assert_string_equal(pyc__below_prefix("/", "/w/a.pyc", &n),
			    "w/a.pyc");
	assert_int_equal(n, 1);
	assert_null(pyc__below_prefix("/p", "/pq/a.pyc", &n));
	assert_null(pyc__below_prefix("/p", "/x/a.pyc", &n));
	assert_null(pyc__below_prefix("/", "a.pyc", &n));
}

/* The mirror of a source directory, and a mirror the path rules refuse:
 * the rule's own error and message, not a NULL that reads as ENOMEM. */
static void test_mirror_dir(void **state)
{
	struct pyc_interp in = py(12);
	struct pyc_error err = { { 0 } };
	char *m = NULL;

	(void)state;
	assert_int_equal(pyc__mirror_dir(&in, "/p", "/w", "a/.", &m, &err),
			 PYC_PATH_OK);
	assert_string_equal(m, "/p/w/a");
	free(m);
	assert_int_equal(pyc__mirror_dir(&in, "/p", "/w", "/", &m, &err),
			 PYC_PATH_OK);
	assert_string_equal(m, "/p");
	free(m);
	m = (char *)"untouched";
	assert_int_equal(pyc__mirror_dir(&in, "/p", NULL, "rel", &m, &err),
			 PYC_PATH_OS);
	assert_null(m);
	assert_non_null(strstr(err.msg, "current directory"));
	assert_int_equal(pyc__mirror_dir(&in, NULL, "/w", "/", &m, &err),
			 PYC_PATH_VALUE);
	assert_null(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_tree),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_prefix_index_error),
		cmocka_unit_test(test_reverse),
		cmocka_unit_test(test_inverse),
		cmocka_unit_test(test_isalnum),
		cmocka_unit_test(test_cache_tag_is_real),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_below_prefix),
		cmocka_unit_test(test_mirror_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
