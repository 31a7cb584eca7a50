/*
 * Unit tests of unialnum.c: pyc_str_isalnum() against the interpreters
 * themselves.  Every CPython 3.8 or later of pyenv's (found at run time)
 * and /usr/bin/python3 says, for every code point, whether
 * chr(c).isalnum() in its Unicode version; the library must agree on the
 * UTF-8 of each, for that version.  No interpreter at all is a failure.
 * (test_cachepath.c has the malformed UTF-8 cases.)
 */
#include "unit.h"

#include <glob.h>
#include <limits.h>
#include <sys/wait.h>
#include <unistd.h>

#define NCODES 0x110000

static const char script[] =
	"import sys, unicodedata\n"
	"if sys.version_info < (3, 8): sys.exit(3)\n"
	"out = sys.stdout.buffer\n"
	"out.write(unicodedata.unidata_version.encode() + b'\\n')\n"
	"out.write(bytes(chr(c).isalnum() for c in range(0x110000)))\n";

/* UTF-8 of cp (surrogates too, as 3 bytes: Python decodes those with
 * surrogateescape, never to an alphanumeric). */
static size_t utf8(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Compare with one interpreter: true when it ran (it is 3.8 or
 * later). */
static bool check_interp(const char *exe)
{
	static unsigned char said[NCODES];
	char cmd[PATH_MAX + sizeof(script) + 32], version[32];
	size_t mismatches = 0;
	FILE *f;
	int status;

	snprintf(cmd, sizeof(cmd), "'%s' -I -S -c \"%s\"", exe, script);
	assert_non_null(f = popen(cmd, "r"));
	if (!fgets(version, sizeof(version), f)) {
		pclose(f);
		return false;
	}
	version[strcspn(version, "\n")] = '\0';
	size_t got = fread(said, 1, NCODES, f);
	status = pclose(f);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
		return false;
	assert_int_equal(status, 0);
	assert_int_equal(got, NCODES);
	for (uint32_t cp = 0; cp < NCODES; cp++) {
		char s[4];
		size_t n = utf8(cp, s);
		bool ours = pyc_str_isalnum(s, n, version);
		if (ours != (said[cp] != 0) && mismatches++ < 5)
			fprintf(stderr, "%s (Unicode %s): U+%04X is%s "
				"alphanumeric\n", exe, version, (unsigned)cp,
				said[cp] ? "" : " not");
	}
	assert_int_equal(mismatches, 0);
	/* A string is alphanumeric when every character is. */
	assert_true(pyc_str_isalnum("a\xc3\xa9" "9", 4, version));
	assert_false(pyc_str_isalnum("a\xc3\xa9 9", 5, version));
	return true;
}

static void test_every_interpreter_agrees(void **state)
{
	glob_t g;
	int checked = 0;

	(void)state;
	if (glob("/root/.pyenv/versions/3.*/bin/python3.*[0-9]", 0, NULL,
		 &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			if (access(g.gl_pathv[i], X_OK) == 0 &&
			    check_interp(g.gl_pathv[i]))
				checked++;
		globfree(&g);
	}
	if (access("/usr/bin/python3", X_OK) == 0 &&
	    check_interp("/usr/bin/python3"))
		checked++;
	if (!checked)
		fail_msg("no CPython 3.8 or later found to compare with");
	fprintf(stderr, "test_unialnum: %d interpreters agree\n", checked);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_interpreter_agrees),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
