/* libFuzzer target: the parser of the failure memo, a file in the
 * user's cache directory that anything may have written. */
#include "pycprefix.h"
#include "memo.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The key of the seeds in fuzz/seeds/memo: "/usr/bin/python3.12 3.12.1 final 0
	 * 3531". */
	struct pyc_interp in = { .path = "/usr/bin/python3.12",
				 .real = "/usr/bin/python3.12", .major = 3,
				 .minor = 12, .micro = 1, .magic = 3531,
				 .level = "final" };
	struct pyc_memo m;
	/* A copy of exactly `size` bytes, no NUL after them: reading one
	 * byte past the input is an error the sanitizer sees. */
	char *text = malloc(size ? size : 1);

	if (!text || pyc__memo_init(&m, "/nonexistent", &in) < 0) {
		free(text);
		return 0;
	}
	memcpy(text, data, size);
	pyc__memo_parse(&m, text, size);
	for (size_t i = 0; i < m.n; i++) {
		const struct pyc_memo_entry *e = &m.v[i];
		/* Every entry holds bytes of the input, no more. */
		if (!e->source[0] || strlen(e->source) > size ||
		    strlen(e->message) > size)
			abort();
		if (i && strcmp(m.v[i - 1].source, e->source) > 0)
			abort();
	}
	pyc__memo_release(&m);
	free(text);
	return 0;
}
