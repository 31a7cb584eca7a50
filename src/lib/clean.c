/*
 * clean.c - pyc_clean(): __pycache__ folders and legacy pycs.
 */
#include "pycprefix.h"
#include "buf.h"
#include "compat.h"
#include "internal.h"
#include "tidy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- clean ---- */

/* Does "x.pyc" or "x.pyo" in dfd have its "x.py" beside it? */
static bool has_source(int dfd, const char *name)
{
	char src[NAME_MAX + 1];
	size_t n = strlen(name);
	struct stat st;

	if (n < 4 || n > NAME_MAX)
		return false;
	memcpy(src, name, n - 1);
	src[n - 1] = '\0';
	return fstatat(dfd, src, &st, 0) == 0;
}

static void clean_file(struct tidy *t, int dfd, const char *name,
		       const char *path, const struct stat *st)
{
	bool pyc = ends_with(name, ".pyc") || ends_with(name, ".pyo");

	if (t->in_pycache) {
		if (pyc || pyc_is_temp_name(name))
			remove_file(t, dfd, name, path, st, PYC_TIDY_PYCACHE);
		return;
	}
	if (!pyc)
		return;
	if (has_source(dfd, name))
		remove_file(t, dfd, name, path, st, PYC_TIDY_LEGACY);
	else if (t->o->flags & PYC_TIDY_SOURCELESS_TOO)
		remove_file(t, dfd, name, path, st, PYC_TIDY_SOURCELESS);
}

int pyc_clean(const struct pyc_tidy_opts *o, const char *const *roots,
	      size_t nroots, struct pyc_tidy_stats *st)
{
	char cwdbuf[PATH_MAX];
	struct tidy t;
	int ret = 0;

	setup(&t, o, st, clean_file, cwdbuf);
	t.remove_empty_pycache = true;
	/* Every __pycache__ on the machine is no one's clean-up. */
	for (size_t i = 0; i < nroots && ret == 0; i++)
		if (is_root_dir(roots[i])) {
			refuse(&t, PYC_REFUSED_ROOT, roots[i]);
			ret = PYC_TIDY_REFUSED;
		}
	for (size_t i = 0; i < nroots && ret == 0; i++)
		ret = walk_from(&t, roots[i]);
	tidy_release(&t);
	return ret;
}
