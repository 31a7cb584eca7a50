/* libFuzzer target: the pyc header parser and the freshness judge on
 * arbitrary bytes (the first 16 are the header, the rest pick the
 * source's stat and the mode). */
#include "pycprefix.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pyc_header h;
	struct pyc_source_stat src = { 0, 0, 0 };
	size_t hl = size < 16 ? size : 16;
	unsigned char hash[8] = { 0 };

	if (size > 16) {
		size_t n = size - 16 < sizeof(src.mtime_sec) ? size - 16
							     : sizeof(src.mtime_sec);
		memcpy(&src.mtime_sec, data + 16, n);
		src.mtime_nsec = (long)(data[size - 1] * 3900000L);
		src.size = size;
	}
	pyc_header_parse(data, hl, 3531, &h);
	pyc_header_parse(data, hl, 0, &h);
	for (int mode = 0; mode < 3; mode++) {
		struct pyc_verdict v = pyc_judge_header(
			3531, (enum pyc_check_mode)mode, data, hl, &src,
			PYC_JUDGE_VERIFY_UNCHECKED);
		if (v.state == PYC_NEED_HASH && hl == 16)
			pyc_judge_hash((enum pyc_check_mode)mode, data, hash);
	}
	pyc_source_hash(3413, data, size, hash);
	pyc_source_hash(3531, data, size, hash);
	return 0;
}
