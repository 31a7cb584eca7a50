/* Unit tests of src/cli/json.c: the writer owns commas, nesting and the
 * layout pycprefix prints; strings keep their bytes. */
#include "unit.h"

#include "../../src/cli/json.h"

/* A memory writer at the top: its text is the whole document. */
static void doc(struct json_writer *w)
{
	json_init(w, NULL, 0);
}

static void test_inline_object(void **state)
{
	struct json_writer w;

	(void)state;
	doc(&w);
	json_object(&w, NULL);
	json_string(&w, "a", "x");
	json_uint(&w, "n", 18446744073709551615u);
	json_int(&w, "i", -3);
	json_null(&w, "z");
	json_string(&w, "s", NULL);
	json_bool(&w, "t", true);
	json_bool(&w, "f", false);
	json_double(&w, "secs", 3, 1.23456);
	json_end(&w);
	assert_string_equal(json_text(&w),
			    "{\"a\": \"x\", \"n\": 18446744073709551615, "
			    "\"i\": -3, \"z\": null, \"s\": null, \"t\": true, "
			    "\"f\": false, \"secs\": 1.235}\n");
	assert_false(json_failed(&w));
	json_release(&w);
}

static void test_lines_array(void **state)
{
	struct json_writer w;

	(void)state;
	doc(&w);
	json_lines(&w, NULL);
	json_end(&w);
	assert_string_equal(json_text(&w), "[]\n");
	json_release(&w);

	doc(&w);
	json_lines(&w, NULL);
	for (int i = 1; i <= 2; i++) {
		json_object(&w, NULL);
		json_int(&w, "k", i);
		json_string(&w, "v", "x");
		json_end(&w);
	}
	json_end(&w);
	assert_string_equal(json_text(&w), "[\n  {\"k\": 1, \"v\": \"x\"},\n"
			    "  {\"k\": 2, \"v\": \"x\"}\n]\n");
	json_release(&w);
}

/* status's and prune's shape: a member after a lines array starts a
 * line, the ones after it do not. */
static void write_status(struct json_writer *w, int n)
{
	json_object(w, NULL);
	json_lines(w, "files");
	for (int i = 0; i < n; i++) {
		json_object(w, NULL);
		json_string(w, "state", "fresh");
		json_end(w);
	}
	json_end(w);
	json_object(w, "counts");
	json_uint(w, "fresh", (uintmax_t)n);
	json_uint(w, "stale", 0);
	json_end(w);
	json_uint(w, "errors", 0);
	json_end(w);
}

static void test_member_after_lines(void **state)
{
	struct json_writer w;

	(void)state;
	doc(&w);
	write_status(&w, 2);
	assert_string_equal(json_text(&w),
			    "{\"files\": [\n"
			    "    {\"state\": \"fresh\"},\n"
			    "    {\"state\": \"fresh\"}\n"
			    "  ],\n"
			    "  \"counts\": {\"fresh\": 2, \"stale\": 0}, "
			    "\"errors\": 0}\n");
	json_release(&w);
	doc(&w);
	write_status(&w, 0);
	assert_string_equal(json_text(&w),
			    "{\"files\": [],\n"
			    "  \"counts\": {\"fresh\": 0, \"stale\": 0}, "
			    "\"errors\": 0}\n");
	json_release(&w);
}

/* du's shape: inline arrays of inline objects. */
static void test_inline_arrays(void **state)
{
	struct json_writer w;

	(void)state;
	doc(&w);
	json_object(&w, NULL);
	json_array(&w, "tags");
	for (int i = 0; i < 2; i++) {
		json_object(&w, NULL);
		json_string(&w, "key", i ? "b" : "a");
		json_end(&w);
	}
	json_end(&w);
	json_array(&w, "roots");
	json_end(&w);
	json_end(&w);
	assert_string_equal(json_text(&w), "{\"tags\": [{\"key\": \"a\"}, "
			    "{\"key\": \"b\"}], \"roots\": []}\n");
	json_release(&w);
}

/* doctor's and compile's shape: a list gathered during the run, put
 * after the counts that end it. */
static void test_sub_document(void **state)
{
	struct json_writer w, sub;

	(void)state;
	json_init(&sub, NULL, 1);
	json_lines(&sub, NULL);
	json_object(&sub, NULL);
	json_string(&sub, "check", "prefix.where");
	json_end(&sub);
	json_end(&sub);
	doc(&w);
	json_object(&w, NULL);
	json_string(&w, "prefix", "/p");
	json_int(&w, "warnings", 0);
	json_sub(&w, "checks", &sub);
	json_uint(&w, "after", 1);
	json_end(&w);
	assert_string_equal(json_text(&w),
			    "{\"prefix\": \"/p\", \"warnings\": 0, \"checks\": [\n"
			    "    {\"check\": \"prefix.where\"}\n"
			    "  ],\n  \"after\": 1}\n");
	assert_false(json_failed(&w));
	json_release(&w);
	json_release(&sub);
}

/* Exact bytes: valid UTF-8 as it is, escapes for JSON's specials, and a
 * byte that is not UTF-8 as the surrogate Python's surrogateescape
 * decodes it to. */
static void test_strings_keep_their_bytes(void **state)
{
	static const char bytes[] = "a\"b\\c\nd\te\001f\177g\xc3\xa9h\xff"
				    "i\xed\xa0\x80j\xc3";
	struct json_writer w;

	(void)state;
	doc(&w);
	json_array(&w, NULL);
	json_string(&w, NULL, bytes);
	json_stringn(&w, NULL, "n\0ul", 4);
	json_end(&w);
	assert_string_equal(json_text(&w),
			    "[\"a\\\"b\\\\c\\nd\\te\\u0001f\\u007fg\xc3\xa9h"
			    "\\udcffi\\udced\\udca0\\udc80j\\udcc3\", "
			    "\"n\\u0000ul\"]\n");
	json_release(&w);
}

/* A FILE writer streams the same text. */
static void test_file_sink(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct json_writer w;

	(void)state;
	assert_non_null(f);
	json_init(&w, f, 0);
	json_lines(&w, NULL);
	json_string(&w, NULL, "x");
	json_end(&w);
	fclose(f);
	assert_string_equal(text, "[\n  \"x\"\n]\n");
	free(text);
}

static void test_too_deep_fails(void **state)
{
	struct json_writer w;

	(void)state;
	doc(&w);
	for (int i = 0; i <= JSON_MAX_DEPTH; i++)
		json_array(&w, NULL);
	assert_true(json_failed(&w));
	json_release(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inline_object),
		cmocka_unit_test(test_lines_array),
		cmocka_unit_test(test_member_after_lines),
		cmocka_unit_test(test_inline_arrays),
		cmocka_unit_test(test_sub_document),
		cmocka_unit_test(test_strings_keep_their_bytes),
		cmocka_unit_test(test_file_sink),
		cmocka_unit_test(test_too_deep_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
