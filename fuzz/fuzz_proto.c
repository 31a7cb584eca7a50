/* libFuzzer target: the decoder of worker responses, which reads bytes
 * from another process. */
#include "pycprefix.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pyc_result r;
	size_t used = 0;

	if (pyc__parse_response(data, size, &r, &used) == 1) {
		if (used > size)
			abort();
		for (int i = 0; i < PYC_MAX_LEVELS; i++)
			if (r.code[i] && (r.code[i] < data ||
					  r.code[i] + r.code_len[i] > data + size))
				abort();
		if (r.ok && r.ncodes > PYC_MAX_LEVELS)
			abort();
		if (!r.ok && !r.message)
			abort();
		free((char *)r.warnings);
	}
	return 0;
}
