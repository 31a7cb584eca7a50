/*
 * replay.c - run saved fuzz inputs through a target without libFuzzer.
 *
 * Linked with one fuzz_*.c, it feeds each file named on the command line
 * to LLVMFuzzerTestOneInput: `make unit` replays fuzz/seeds (the seeds,
 * the corpus kept from fuzzing runs, and every input that once crashed)
 * under the normal and the sanitizer builds, as regression tests.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *data = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		perror(path);
		return -1;
	}
	do {
		if (len == cap) {
			unsigned char *p = realloc(data, cap = cap * 2 + 4096);
			if (!p) {
				free(data);
				fclose(f);
				return -1;
			}
			data = p;
		}
		n = fread(data + len, 1, cap - len, f);
		len += n;
	} while (n);
	fclose(f);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	int failed = 0;

	for (int i = 1; i < argc; i++)
		failed |= replay(argv[i]) < 0;
	printf("%s: replayed %d inputs\n", argv[0], argc - 1 - failed);
	return failed;
}
