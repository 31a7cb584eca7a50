/*
 * libcheck.c - exposes library functions to the conformance tests, which
 * compare them with real interpreters.  Not installed.
 *
 *   libcheck hash MAGIC FILE...      pyc_source_hash of each file, in hex
 *   libcheck mtime SEC NSEC          pyc_py_mtime
 */
#include "pycprefix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t cap = 0;

	*len = 0;
	if (!f)
		return NULL;
	for (;;) {
		if (*len == cap) {
			char *p = realloc(data, cap = cap ? cap * 2 : 4096);
			if (!p)
				break;
			data = p;
		}
		size_t n = fread(data + *len, 1, cap - *len, f);
		*len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	return data;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "hash") == 0) {
		uint16_t magic = (uint16_t)strtoul(argv[2], NULL, 10);
		for (int i = 3; i < argc; i++) {
			size_t len;
			unsigned char h[8];
			char *data = slurp(argv[i], &len);
			if (!data && len) {
				perror(argv[i]);
				return 1;
			}
			pyc_source_hash(magic, data ? data : "", len, h);
			for (int k = 0; k < 8; k++)
				printf("%02x", h[k]);
			putchar('\n');
			free(data);
		}
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "mtime") == 0) {
		printf("%lld\n", (long long)pyc_py_mtime(strtoll(argv[2], NULL, 10),
							 strtol(argv[3], NULL, 10)));
		return 0;
	}
	fprintf(stderr, "usage: libcheck hash MAGIC FILE... | mtime SEC NSEC\n");
	return 2;
}
