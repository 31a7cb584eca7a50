/*
 * Unit tests of compilelist.c: pyc_compile_list() with a real interpreter
 * (the first of pyenv's CPythons found at run time, else
 * /usr/bin/python3; none is a failure): one event per item with its
 * index, explicit pyc paths (directories made), the compiled filename,
 * py_compile's error text, freshness (nothing compiled the second time,
 * a timestamp pyc kept whatever mode is asked), the refusal of a
 * symlinked pyc path, and repr() of file names.
 */
#include "unit.h"
#include "scratch.h"

#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

static struct pyc_interp py;

static int find_interp(void **state)
{
	static const char *const exes[] = {
		"/root/.pyenv/versions/3.12.1/bin/python3.12",
		"/root/.pyenv/versions/3.13.0/bin/python3.13",
		"/root/.pyenv/versions/3.11.7/bin/python3.11",
		"/usr/bin/python3",
	};
	struct pyc_error err = { "" };

	(void)state;
	for (size_t i = 0; i < sizeof(exes) / sizeof(*exes); i++)
		if (access(exes[i], X_OK) == 0 &&
		    pyc_interp_probe(exes[i], PYC_PROBE_NO_CACHE, &py,
				     &err) == 0)
			return 0;
	fprintf(stderr, "test_compilelist: no CPython: %s\n", err.msg);
	return -1;
}

static int release_interp(void **state)
{
	(void)state;
	pyc_interp_release(&py);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	return scratch_make("compilelist", 0);
}

static int teardown(void **state)
{
	(void)state;
	return scratch_remove();
}

#define MAXEV 16

struct seen {
	size_t n;
	size_t index[MAXEV];
	enum pyc_list_outcome out[MAXEV];
	char msg[MAXEV][512];
};

static void on_event(const struct pyc_list_event *ev, void *arg)
{
	struct seen *s = arg;

	assert_true(s->n < MAXEV);
	s->index[s->n] = ev->index;
	s->out[s->n] = ev->outcome;
	snprintf(s->msg[s->n], sizeof(s->msg[0]), "%s",
		 ev->message ? ev->message : "");
	s->n++;
}

/* The outcome of item i (exactly one event each). */
static enum pyc_list_outcome outcome(const struct seen *s, size_t i,
				     const char **msg)
{
	size_t found = 0, k = 0;

	for (size_t j = 0; j < s->n; j++)
		if (s->index[j] == i) {
			found++;
			k = j;
		}
	assert_int_equal(found, 1);
	if (msg)
		*msg = s->msg[k];
	return s->out[k];
}

static int run(struct pyc_list_item *items, size_t n, unsigned flags,
	       enum pyc_invalidation mode, struct seen *s)
{
	struct pyc_error err = { "" };
	struct pyc_list_opts o = { .in = &py, .mode = mode, .flags = flags,
				   .jobs = 2, .event = on_event, .arg = s };

	memset(s, 0, sizeof(*s));
	return pyc_compile_list(&o, items, n, &err);
}

static void put(const char *rel, const char *text)
{
	char p[PATH_MAX];

	write_path(at(p, rel), text, strlen(text));
}

static void test_list_compiles_in_place(void **state)
{
	char a[PATH_MAX], b[PATH_MAX], pa[PATH_MAX], pb[PATH_MAX];
	char pb2[PATH_MAX];
	struct pyc_list_item items[2];
	struct seen s;
	const char *msg;
	struct stat st;

	(void)state;
	put("src/a.py", "x = 1\n");
	put("src/b.py", "bad(syntax\n");
	at(a, "src/a.py");
	at(b, "src/b.py");
	at(pa, "out/deep/a.pyc");
	at(pb, "out/b.pyc");
	at(pb2, "out/b2.pyc");
	items[0] = (struct pyc_list_item){ .source = a, .name = "/dest/a.py",
					   .nlevels = 2, .levels = { 0, 2 },
					   .pyc = { pa, pa } };
	items[1] = (struct pyc_list_item){ .source = b, .name = "shown.py",
					   .nlevels = 2, .levels = { 0, 1 },
					   .pyc = { pb, pb2 } };
	assert_int_equal(run(items, 2, PYC_LIST_PYCOMPILE_MSG,
			     PYC_INV_TIMESTAMP, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(outcome(&s, 0, NULL), PYC_LIST_COMPILED);
	assert_int_equal(outcome(&s, 1, &msg), PYC_LIST_SOURCE_ERROR);
	/* py_compile's text, with the compiled filename */
	assert_non_null(strstr(msg, "File \"shown.py\", line 1"));
	assert_non_null(strstr(msg, "SyntaxError"));
	assert_int_equal(stat(pa, &st), 0);    /* directories made */
	assert_int_equal(stat(pb, &st), -1);
	/* the second run finds a.py fresh and compiles b.py again */
	assert_int_equal(run(items, 2, PYC_LIST_PYCOMPILE_MSG,
			     PYC_INV_TIMESTAMP, &s), 0);
	assert_int_equal(outcome(&s, 0, NULL), PYC_LIST_FRESH);
	assert_int_equal(outcome(&s, 1, NULL), PYC_LIST_SOURCE_ERROR);
	/* a fresh timestamp pyc is kept when a hash mode is asked
	 * (compileall's rule), rebuilt with PYC_COMPILE_FORCE */
	assert_int_equal(run(items, 1, 0, PYC_INV_CHECKED_HASH, &s), 0);
	assert_int_equal(outcome(&s, 0, NULL), PYC_LIST_FRESH);
	assert_int_equal(run(items, 1, PYC_COMPILE_FORCE,
			     PYC_INV_CHECKED_HASH, &s), 0);
	assert_int_equal(outcome(&s, 0, NULL), PYC_LIST_COMPILED);
	/* now checked-hash: fresh for checked-hash, stale for unchecked */
	assert_int_equal(run(items, 1, 0, PYC_INV_CHECKED_HASH, &s), 0);
	assert_int_equal(outcome(&s, 0, NULL), PYC_LIST_FRESH);
	assert_int_equal(run(items, 1, 0, PYC_INV_UNCHECKED_HASH, &s), 0);
	assert_int_equal(outcome(&s, 0, NULL), PYC_LIST_COMPILED);
}

static void test_list_refusals_and_reads(void **state)
{
	char a[PATH_MAX], gone[PATH_MAX], pa[PATH_MAX], pg[PATH_MAX];
	struct pyc_list_item items[2];
	struct seen s;
	struct stat st;

	(void)state;
	put("a.py", "x = 1\n");
	at(a, "a.py");
	at(gone, "gone.py");
	at(pa, "a.pyc");
	at(pg, "gone.pyc");
	assert_int_equal(symlink("/nonexistent/target.pyc", pa), 0);
	items[0] = (struct pyc_list_item){ .source = a, .nlevels = 1,
					   .pyc = { pa } };
	items[1] = (struct pyc_list_item){ .source = gone, .nlevels = 1,
					   .pyc = { pg } };
	assert_int_equal(run(items, 2, PYC_LIST_REFUSE_SPECIAL,
			     PYC_INV_TIMESTAMP, &s), 0);
	assert_int_equal(outcome(&s, 0, NULL), PYC_LIST_PYC_SYMLINK);
	assert_int_equal(outcome(&s, 1, NULL), PYC_LIST_READ_ERROR);
	assert_int_equal(lstat(pa, &st), 0);
	assert_true(S_ISLNK(st.st_mode));       /* left alone */
	/* without the flag the symlink is replaced, never followed */
	assert_int_equal(run(items, 1, 0, PYC_INV_TIMESTAMP, &s), 0);
	assert_int_equal(outcome(&s, 0, NULL), PYC_LIST_COMPILED);
	assert_int_equal(lstat(pa, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	/* bad items are refused whole */
	items[0].levels[0] = 3;
	assert_int_equal(run(items, 1, 0, PYC_INV_TIMESTAMP, &s), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(s.n, 0);
}

static void test_repr(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "a.py", "'a.py'" },
		{ "it's", "\"it's\"" },
		{ "both'\"", "'both\\'\"'" },
		{ "t\tn\nr\r\\", "'t\\tn\\nr\\r\\\\'" },
		{ "\x01\x7f", "'\\x01\\x7f'" },
		{ "caf\xc3\xa9", "'caf\xc3\xa9'" },
		{ "\xff\xfe", "'\\udcff\\udcfe'" },
		{ "\xc2\xa0", "'\\xa0'" },          /* NBSP: not printable */
		{ "\xe2\x80\x8b", "'\\u200b'" },    /* ZWSP: Cf */
		{ "\xf3\xa0\x80\x81", "'\\U000e0001'" },
		{ "\xed\xa0\x80", "'\\udced\\udca0\\udc80'" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *r = pyc_py_repr(cases[i].in, strlen(cases[i].in),
				      "15.0.0");
		assert_non_null(r);
		assert_string_equal(r, cases[i].out);
		free(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list_compiles_in_place,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_refusals_and_reads,
						setup, teardown),
		cmocka_unit_test(test_repr),
	};
	return cmocka_run_group_tests(tests, find_interp, release_interp);
}
