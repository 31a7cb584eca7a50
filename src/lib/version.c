/*
 * version.c - ordering release names: pyenv's "3.12.1" directories and
 * Unicode's "15.0.0" versions.  Runs of digits compare as numbers
 * ("3.99.10" after "3.99.2"), anything else byte by byte.
 */
#include "internal.h"

#include <ctype.h>
#include <stdlib.h>

int pyc__version_cmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			char *ea, *eb;
			unsigned long x = strtoul(a, &ea, 10);
			unsigned long y = strtoul(b, &eb, 10);
			if (x != y)
				return x < y ? -1 : 1;
			a = ea;
			b = eb;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}
