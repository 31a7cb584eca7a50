/*
 * clean.c - pyc_clean(): __pycache__ folders and legacy pycs beside their
 * sources, under the trees named (tidy.c and tree.c do the walking and
 * the removing).
 */
#include "pycprefix.h"
#include "internal.h"
#include "tidy.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

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

static void clean_file(struct pyc__tree *tree, int dfd, const char *name,
		       const char *path, const struct stat *st)
{
	struct pyc__tidy *t = pyc__container_of(tree, struct pyc__tidy, tree);
	bool pyc = pyc__ends_with(name, ".pyc") || pyc__ends_with(name, ".pyo");

	if (tree->in_pycache) {
		if (pyc || pyc__is_temp_name(name))
			pyc__tidy_remove(t, dfd, name, path, st,
					 PYC_TIDY_PYCACHE);
		return;
	}
	if (!pyc)
		return;
	if (has_source(dfd, name))
		pyc__tidy_remove(t, dfd, name, path, st, PYC_TIDY_LEGACY);
	else if (t->o->flags & PYC_TIDY_SOURCELESS_TOO)
		pyc__tidy_remove(t, dfd, name, path, st, PYC_TIDY_SOURCELESS);
}

static const struct pyc__tree_ops clean_ops = {
	.file = clean_file,
	.descend = pyc__tidy_descend,
	.error = pyc__tidy_error,
	.dir_gone = pyc__tidy_dir_gone,
};

int pyc_clean(const struct pyc_tidy_opts *o, const char *const *roots,
	      size_t nroots, struct pyc_tidy_stats *st)
{
	struct pyc__tidy t;
	int ret = 0;

	pyc__tidy_init(&t, o, st, &clean_ops, PYC__TREE_RMDIR_PYCACHE);
	/* Every __pycache__ on the machine is no one's clean-up. */
	for (size_t i = 0; i < nroots && ret == 0; i++)
		if (pyc__is_root_dir(roots[i]))
			ret = pyc__tidy_refuse(&t, PYC_REFUSED_ROOT, roots[i]) < 0
				      ? -1 : PYC_TIDY_REFUSED;
	for (size_t i = 0; i < nroots && ret == 0; i++)
		ret = pyc__tree_walk(&t.tree, roots[i]);
	pyc__tidy_release(&t);
	return ret;
}
