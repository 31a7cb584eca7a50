/* libFuzzer target: cache_from_source and source_from_cache on arbitrary
 * paths, prefixes and levels, and source_from_cache on every path that
 * cache_from_source produced.  (Equality with CPython is the conformance
 * suite's job; this hunts for memory errors and crashes.)  One property is
 * checked: the exact inverse maps the pyc of "STEM.py", when it maps it
 * at all, back to "STEM.py". */
#include "pycprefix.h"

#include <stdlib.h>
#include <string.h>

static void check_inverse(const char *prefix, const char *source,
			  const char *pyc, int level)
{
	const char *base = strrchr(source, '/');
	struct pyc_cache_name cn;
	char *back = NULL;
	size_t n;

	base = base ? base + 1 : source;
	n = strlen(base);
	if (n < 4 || strcmp(base + n - 3, ".py") != 0)
		return;
	/* A pyc right in the prefix (a source in '/') has no inverse, as
	 * for source_from_cache(). */
	if (pyc_source_of_cache(prefix, pyc, &back, &cn, NULL) !=
	    PYC_PATH_OK) {
		if (!prefix)
			abort(); /* __pycache__ always maps back */
		return;
	}
	const char *bb = strrchr(back, '/');
	if (strcmp(bb ? bb + 1 : back, base) != 0 || cn.opt != level ||
	    strcmp(cn.tag, "cpython-38") != 0)
		abort();
	free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pyc_interp in = { .major = 3, .minor = 8, .tag = "cpython-38",
				 .unidata = "12.1.0" };
	char *buf, *path, *prefix, *out = NULL, *back = NULL;
	int level = 0;

	if (size < 2)
		return 0;
	in.minor = 8 + data[0] % 7;
	level = data[1] % 3;
	buf = malloc(size - 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 2, size - 2);
	buf[size - 2] = '\0';
	/* "prefix\0path": a NUL splits; none means no prefix. */
	path = buf;
	prefix = NULL;
	if (strlen(buf) < size - 2) {
		prefix = buf;
		path = buf + strlen(buf) + 1;
		if (!prefix[0])
			prefix = NULL;
	}
	if (pyc_cache_from_source(&in, prefix, "/cwd", path, level, &out,
				  NULL) == PYC_PATH_OK) {
		int opt;
		pyc_source_from_cache(&in, prefix, out, &back, &opt, NULL);
		free(back);
		check_inverse(prefix, path, out, level);
	}
	free(out);
	back = NULL;
	pyc_source_from_cache(&in, prefix, path, &back, &level, NULL);
	free(back);
	free(buf);
	return 0;
}
