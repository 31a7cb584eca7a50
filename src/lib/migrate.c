/*
 * migrate.c - pyc_migrate(): fresh pycs of __pycache__ folders under the
 * trees named move into the prefix, stale ones go (tidy.c and tree.c do
 * the walking and the removing; atomic.c the moving).
 */
#include "pycprefix.h"
#include "internal.h"
#include "tidy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool migrate_interp(const struct pyc__tidy *t, const char *tag,
			   struct pyc_interp *in)
{
	if (!t->o->ninterps)
		return pyc_interp_from_tag(tag, in) == 0;
	for (size_t i = 0; i < t->o->ninterps; i++)
		if (strcmp(t->o->interps[i].tag, tag) == 0)
			return pyc_interp_copy(in, &t->o->interps[i]) == 0;
	return false;
}

static void migrate_file(struct pyc__tree *tree, int dfd, const char *name,
			 const char *path, const struct stat *st)
{
	struct pyc__tidy *t = pyc__container_of(tree, struct pyc__tidy, tree);
	struct pyc_interp in = { 0 };
	struct pyc_cache_name cn;
	struct pyc_verdict v;
	char *source = NULL, *target = NULL;
	int opt;

	if (!tree->in_pycache || !pyc_cache_name_parse(name, &cn) ||
	    !migrate_interp(t, cn.tag, &in))
		return;
	opt = cn.opt;
	if (pyc_source_of_cache(NULL, path, &source, &cn, NULL) || opt > 2 ||
	    pyc_judge_files(&in, PYC_CHECK_DEFAULT, source, NULL, AT_FDCWD,
			    path, 0, &v) < 0)
		goto out; /* no source: an orphan, for clean or prune */
	if (v.state != PYC_FRESH) {
		pyc__tidy_remove(t, dfd, name, path, st, PYC_TIDY_STALE);
		goto out;
	}
	if (pyc_cache_from_source(&in, t->o->prefix, t->cwd, source, opt,
				  &target, NULL) != PYC_PATH_OK)
		goto out;
	size_t plen = strlen(t->o->prefix);
	while (plen > 1 && t->o->prefix[plen - 1] == '/')
		plen--;
	const char *rel = target + plen + (target[plen] == '/');
	if (!(t->o->flags & PYC_TIDY_DRY_RUN) &&
	    pyc__move_atomic(dfd, name, t->o->prefix, rel,
			    (t->o->flags & PYC_TIDY_INSECURE)
				    ? 0 : PYC_WRITE_STRICT) < 0) {
		pyc__tidy_error(tree, path, errno);
		goto out;
	}
	pyc__tree_removed(tree);
	pyc__tidy_event(t, PYC_TIDY_MOVED, path, target, (uint64_t)st->st_size);
out:
	free(source);
	free(target);
	pyc_interp_release(&in);
}

static const struct pyc__tree_ops migrate_ops = {
	.file = migrate_file,
	.descend = pyc__tidy_descend,
	.error = pyc__tidy_error,
	.dir_gone = pyc__tidy_dir_gone,
};

int pyc_migrate(const struct pyc_tidy_opts *o, const char *const *roots,
		size_t nroots, struct pyc_tidy_stats *st)
{
	struct pyc__tidy t;
	int ret = 0;

	pyc__tidy_init(&t, o, st, &migrate_ops, PYC__TREE_RMDIR_PYCACHE);
	if (access(o->prefix, F_OK) == 0)
		ret = pyc__tidy_check_cache(&t, NULL, &o->prefix, 1);
	/* A dry run makes nothing, not even the prefix. */
	if (ret == 0 && !(o->flags & PYC_TIDY_DRY_RUN) &&
	    pyc_prefix_prepare(o->prefix, (o->flags & PYC_TIDY_INSECURE)
						  ? PYC_PREFIX_INSECURE : 0,
			       NULL, NULL, NULL) < 0)
		ret = -1;
	for (size_t i = 0; i < nroots && ret == 0; i++)
		ret = pyc__tree_walk(&t.tree, roots[i]);
	pyc__tidy_release(&t);
	return ret;
}
