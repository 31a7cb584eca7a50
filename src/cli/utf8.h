/*
 * utf8.h - the command line's one UTF-8 decoder (JSON strings keep valid
 * UTF-8 as it is; quoted paths show it as it is).
 */
#ifndef PYC_CLI_UTF8_H
#define PYC_CLI_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The length of the valid UTF-8 sequence at s, of at most n bytes, with
 * its code point in *cp; 0 when there is none there (strict: no overlong
 * form, no surrogate, nothing past U+10FFFF). */
static inline size_t cli_utf8_decode(const unsigned char *s, size_t n,
				     uint32_t *cp)
{
	size_t len;
	uint32_t c = s[0];

	if (c >= 0xC2 && c <= 0xDF)
		len = 2, c &= 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3, c &= 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, c &= 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3F);
	}
	if ((len == 3 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))) ||
	    (len == 4 && (c < 0x10000 || c > 0x10FFFF)))
		return 0;
	*cp = c;
	return len;
}

#endif
