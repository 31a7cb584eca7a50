/*
 * scratch.h - a unit test's scratch directory and the paths in it.
 *
 * setup() calls scratch_make("NAME") for /tmp/pyc-NAME-XXXXXX in `base`;
 * teardown() calls scratch_remove().  pathf() formats a path (asserting it
 * fits), at() names REL inside base, write_path() writes a file and the
 * directories above it.  Include after unit.h.
 */
#ifndef PYC_UNIT_SCRATCH_H
#define PYC_UNIT_SCRATCH_H

#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static char base[PATH_MAX];

static inline char *pathf(char *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline char *pathf(char *out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, PATH_MAX, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && n < PATH_MAX);
	return out;
}

static inline char *at(char *out, const char *rel)
{
	return pathf(out, "%s/%s", base, rel);
}

/* base = a new /tmp/pyc-NAME-XXXXXX, of `mode` unless 0 (mkdtemp's 0700). */
static inline int scratch_make(const char *name, mode_t mode)
{
	pathf(base, "/tmp/pyc-%s-XXXXXX", name);
	if (!mkdtemp(base))
		return -1;
	return mode ? chmod(base, mode) : 0;
}

/* Remove base and all below it, modes that forbid it notwithstanding; a
 * test that failed as another user leaves the next as root. */
static inline int scratch_remove(void)
{
	char cmd[2 * PATH_MAX + 40];

	if (getuid() == 0 && geteuid() != 0 && seteuid(0) < 0)
		return -1;
	/* By full path: a test may have set PATH to a directory of fakes. */
	pathf(cmd, "/bin/chmod -R u+rwx '%s'; /bin/rm -rf '%s'", base, base);
	return system(cmd) == 0 ? 0 : -1;
}

/* Write len bytes to path, making the directories above it. */
static inline void write_path(const char *p, const void *data, size_t len)
{
	char dir[PATH_MAX];
	FILE *f;

	pathf(dir, "%s", p);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(pyc__mkdir_p(dir, 0755), 0);
	assert_non_null(f = fopen(p, "wb"));
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

#endif
