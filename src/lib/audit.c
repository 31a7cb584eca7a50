/*
 * audit.c - what doctor looks at in a tree: pyc_audit() of the prefix
 * (what another user could use, what killed writers left, and the pycs
 * as du counts them) and pyc_tree_links() of a source tree, both on the
 * one walker (tree.c).
 */
#include "pycprefix.h"
#include "internal.h"
#include "tidy.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct audit {
	struct pyc__tree tree;
	const struct pyc_audit_ops *ops;
	struct pyc__du_walk w;
	uid_t uid;
	struct pyc__store_spot spot;
};

/* No cache after all (tidy.c's rule): say what showed it, walk no
 * further. */
static void audit_refuse(struct audit *a, enum pyc_tidy_refusal why,
			 const char *path)
{
	struct pyc_tidy_stats *st = a->w.st;

	st->refused = why;
	free(st->refused_path);
	if (!(st->refused_path = strdup(path)))
		a->tree.oom = true;
	a->tree.stop = true;
}

static void audit_report(struct audit *a, enum pyc_audit_kind kind,
			 const char *path, const struct stat *st)
{
	struct pyc_audit_item it = { kind, path, st };

	if (a->ops->finding)
		a->ops->finding(&it, a->ops->arg);
}

static void audit_entry(struct pyc__tree *tree, const char *path,
			const struct stat *st)
{
	struct audit *a = pyc__container_of(tree, struct audit, tree);
	const char *base = strrchr(path, '/');
	enum pyc_tidy_refusal why = pyc__not_cache_entry(path, st);

	if (why != PYC_REFUSED_NONE) {
		audit_refuse(a, why, path);
		return;
	}
	if (S_ISLNK(st->st_mode))
		audit_report(a, PYC_AUDIT_SYMLINK, path, st);
	if (st->st_uid != a->uid && st->st_uid != 0)
		audit_report(a, PYC_AUDIT_FOREIGN, path, st);
	else if (S_ISDIR(st->st_mode) &&
		 pyc_trust_stat(st, a->uid) != PYC_TRUST_OK)
		audit_report(a, PYC_AUDIT_OPEN_DIR, path, st);
	if (S_ISREG(st->st_mode) && pyc__is_temp_name(base ? base + 1 : path))
		audit_report(a, PYC_AUDIT_TEMP, path, st);
}

static void audit_file(struct pyc__tree *tree, int dfd, const char *name,
		       const char *path, const struct stat *st)
{
	struct audit *a = pyc__container_of(tree, struct audit, tree);

	(void)dfd;
	if (a->ops->pyc && pyc__du_file(&a->w, name, path, st) < 0)
		tree->oom = true;
}

/* The prefix's store is no mirror: doctor checks it apart
 * (pyc_store_check()). */
static bool audit_descend(struct pyc__tree *tree, const char *name)
{
	struct audit *a = pyc__container_of(tree, struct audit, tree);

	return !pyc__store_skip(tree, &a->spot, name);
}

static void audit_error(struct pyc__tree *tree, const char *path,
			int errnum)
{
	struct audit *a = pyc__container_of(tree, struct audit, tree);

	a->w.st->errors++;
	if (a->ops->error)
		a->ops->error(path, strerror(errnum), a->ops->arg);
}

int pyc_audit(const char *prefix, const struct pyc_audit_ops *ops,
	      struct pyc_tidy_stats *st)
{
	static const struct pyc__tree_ops audit_ops = {
		.file = audit_file,
		.entry = audit_entry,
		.descend = audit_descend,
		.error = audit_error,
	};
	struct audit a = { .ops = ops, .uid = geteuid(),
			   .w = { ops->pyc, ops->arg, strlen(prefix), NULL,
				  st } };
	int ret = 0;

	memset(st, 0, sizeof(*st));
	pyc__tree_init(&a.tree, &audit_ops, 0);
	pyc__store_spot_init(&a.spot, prefix);
	if (pyc__is_root_dir(prefix))
		audit_refuse(&a, PYC_REFUSED_ROOT, prefix);
	else
		ret = pyc__tree_walk(&a.tree, prefix);
	if (a.tree.oom) {
		errno = ENOMEM;
		ret = -1;
	}
	pyc__tree_release(&a.tree);
	if (ret == 0 && st->refused != PYC_REFUSED_NONE)
		ret = PYC_TIDY_REFUSED;
	return ret;
}

/* ---- symlinks that lead back into a tree ---- */

struct links {
	struct pyc__tree tree;
	const char *root_real;
	void (*fn)(const char *path, void *arg);
	void *arg;
};

/* Is `real` the directory `root` or inside it? */
static bool inside(const char *real, const char *root)
{
	size_t n = strlen(root);

	if (n == 1 && root[0] == '/')
		return true;
	return strncmp(real, root, n) == 0 &&
	       (real[n] == '/' || real[n] == '\0');
}

static void links_entry(struct pyc__tree *tree, const char *path,
			const struct stat *st)
{
	struct links *l = pyc__container_of(tree, struct links, tree);
	struct stat target;
	char *real;

	if (!S_ISLNK(st->st_mode) || stat(path, &target) < 0)
		return;
	if (!S_ISDIR(target.st_mode) && !pyc__ends_with(path, ".py"))
		return;
	if (!(real = realpath(path, NULL))) {
		if (errno == ENOMEM)
			tree->oom = true;
		return;
	}
	if (inside(real, l->root_real))
		l->fn(path, l->arg);
	free(real);
}

int pyc_tree_links(const char *root,
		   void (*fn)(const char *path, void *arg), void *arg)
{
	static const struct pyc__tree_ops links_ops = { .entry = links_entry };
	struct links l = { .fn = fn, .arg = arg };
	char *real = realpath(root, NULL);
	int ret;

	if (!real)
		return -1;
	l.root_real = real;
	pyc__tree_init(&l.tree, &links_ops, 0);
	ret = pyc__tree_walk(&l.tree, root);
	pyc__tree_release(&l.tree);
	free(real);
	return ret;
}
