/*
 * prune.c - pyc_prune(): orphans, stale pycs, pycs of dead tags,
 * temporaries of killed writers, and eviction for --max-size, in the
 * prefix (tidy.c and tree.c do the walking and the removing).
 */
#include "pycprefix.h"
#include "buf.h"
#include "internal.h"
#include "tidy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A kept pyc, for --max-size: what the walk measured. */
struct kept {
	char *path;
	struct stat st;
	time_t used;
	size_t node;             /* its directory */
	bool object;             /* a store object */
	const char *file;        /* the least path among the names of its
				    file (its own with one name) */
	size_t gone_before;      /* object: names of its file this run had
				    removed when it was measured */
};

struct prune {
	struct pyc__tidy t;
	struct kept *kept;
	size_t nkept, akept;
	struct pyc__store_spot spot;
	bool in_store;           /* the walk is in the store */
};

static struct prune *prune_of(struct pyc__tree *tree)
{
	return pyc__container_of(pyc__container_of(tree, struct pyc__tidy,
						   tree),
				 struct prune, t);
}

static bool dead_tag(const struct pyc__tidy *t, const char *tag)
{
	for (size_t i = 0; i < t->o->ndead_tags; i++)
		if (strcmp(t->o->dead_tags[i], tag) == 0)
			return true;
	return false;
}

/* The installed interpreter of `tag`, or NULL. */
static const struct pyc_interp *installed(const struct pyc__tidy *t,
					  const char *tag)
{
	for (size_t i = 0; i < t->o->ninterps; i++)
		if (t->o->interps[i].tag && !strcmp(t->o->interps[i].tag, tag))
			return &t->o->interps[i];
	return NULL;
}

/* The last use of a pyc: its later access or modification, in whole
 * seconds. */
static time_t last_use(const struct stat *st)
{
	return st->st_atime > st->st_mtime ? st->st_atime : st->st_mtime;
}

static struct kept *keep_for_size(struct prune *p, const char *path,
				   const struct stat *st);

static void keep(struct prune *p, const char *path, const struct stat *st)
{
	p->t.st->kept++;
	keep_for_size(p, path, st);
}

/* Note a file kept for --max-size; NULL when there is none. */
static struct kept *keep_for_size(struct prune *p, const char *path,
				  const struct stat *st)
{
	struct pyc__tree *tree = &p->t.tree;

	if (!(p->t.o->flags & PYC_TIDY_MAX_SIZE))
		return NULL;
	struct kept *v = pyc__array_grow(p->kept, &p->akept, p->nkept + 1,
				    sizeof(*v));
	if (!v) {
		tree->oom = true;
		return NULL;
	}
	p->kept = v;
	struct kept *k = &p->kept[p->nkept];
	*k = (struct kept){ .st = *st, .used = last_use(st),
			    .node = tree->cur };
	if (!(k->path = strdup(path))) {
		tree->oom = true;
		return NULL;
	}
	p->nkept++;
	return k;
}

/* Is this pyc stale for the installed interpreter of its tag?  Only
 * pycs at the very path Python reads for their source are judged; a tag
 * with no interpreter here is not judged at all (the release tables say
 * what its Python would do, not that one will ever read it again). */
static bool is_stale(const struct pyc__tidy *t, const char *tag, const char *source,
		     const char *path, int opt)
{
	const struct pyc_interp *in = installed(t, tag);
	struct pyc_verdict v;
	char *expect = NULL;
	bool stale = false;

	if (opt < 0 || opt > 2 || !in)
		return false;
	if (pyc_cache_from_source(in, t->o->prefix, t->cwd, source, opt,
				  &expect, NULL) == PYC_PATH_OK &&
	    strcmp(expect, path) == 0 &&
	    pyc_judge_files(in, PYC_CHECK_DEFAULT, source, NULL, AT_FDCWD,
			    path, 0, &v) == 0)
		stale = v.state == PYC_STALE;
	free(expect);
	return stale;
}

/* The names of an object's file this run removed (or, in a dry run,
 * would have). */
static size_t names_gone(struct prune *p, const struct stat *st)
{
	return st->st_nlink > 1 ? pyc__inodes_get(&p->t.gone, st->st_dev,
						  st->st_ino) : 0;
}

/* How many names the object measured as k->st (or st) has left: its
 * own, and pycs'.  A dry run removed nothing, so its measure counts
 * the names it would have removed; a real run's measure already lacks
 * those removed before it. */
static size_t names_left(struct prune *p, const struct stat *st,
			 size_t gone_before)
{
	size_t gone = names_gone(p, st) - gone_before;

	return (size_t)st->st_nlink > gone ? (size_t)st->st_nlink - gone : 0;
}

/* The cache tag of the compiler whose fan directory is being walked
 * ("cpython-38" of "cpython-38-<16 hex>"), into out. */
static void compiler_tag(const struct pyc__tree *tree, char *out, size_t size)
{
	size_t up = tree->nodes[tree->cur].parent;
	const char *name = up != PYC__NO_NODE ? tree->nodes[up].name : NULL;
	const char *dash = name ? strrchr(name, '-') : NULL;

	snprintf(out, size, "%.*s", dash ? (int)(dash - name) : 0,
		 dash ? name : "");
}

/* Why an object no pyc links to goes now, or -1: its tag is dead
 * (--tags), or it was not used within store_age. */
static int object_why(struct prune *p, const struct stat *st)
{
	struct pyc__tidy *t = &p->t;
	char tag[64];

	compiler_tag(&t->tree, tag, sizeof(tag));
	if (dead_tag(t, tag))
		return PYC_TIDY_TAG_LISTED;
	if ((t->o->flags & PYC_TIDY_UNINSTALLED) && !installed(t, tag))
		return PYC_TIDY_TAG;
	if ((t->o->flags & PYC_TIDY_STORE_AGE) &&
	    t->now - last_use(st) >= t->o->store_age)
		return PYC_TIDY_STORE_UNUSED;
	return -1;
}

/* A regular file of the store: an object that no pyc links to and no
 * run used within store_age goes, as temporary files older than the
 * grace do; the rest (the layout, what is not ours) stays. */
static void store_file(struct prune *p, int dfd, const char *name,
		       const char *path, const struct stat *st)
{
	struct pyc__tidy *t = &p->t;
	bool dry = t->o->flags & PYC_TIDY_DRY_RUN;
	size_t before = dry ? 0 : names_gone(p, st);
	struct kept *k;
	int why;

	switch (pyc__store_entry_kind(&t->tree, name, st, NULL)) {
	case PYC__SE_TEMP:
		if (t->now - st->st_mtime >= t->o->temp_grace)
			pyc__tidy_remove(t, dfd, name, path, st, PYC_TIDY_TEMP);
		return;
	case PYC__SE_OBJECT:
		break;
	default:
		return;
	}
	if (st->st_uid != geteuid())
		return; /* another's: doctor tells, no one here removes it */
	if (names_left(p, st, before) <= 1 && (why = object_why(p, st)) >= 0) {
		pyc__tidy_remove(t, dfd, name, path, st,
				 (enum pyc_tidy_why)why);
		return;
	}
	if ((k = keep_for_size(p, path, st))) {
		k->object = true;
		k->gone_before = before;
	}
}

static void prune_file(struct pyc__tree *tree, int dfd, const char *name,
		       const char *path, const struct stat *st)
{
	struct prune *p = prune_of(tree);
	struct pyc__tidy *t = &p->t;
	struct pyc_cache_name cn;
	char *source = NULL;

	if (p->in_store) {
		store_file(p, dfd, name, path, st);
		return;
	}
	if (pyc__is_temp_name(name)) {
		if (t->now - st->st_mtime >= t->o->temp_grace)
			pyc__tidy_remove(t, dfd, name, path, st, PYC_TIDY_TEMP);
		return;
	}
	if (!pyc__cache_artifact(t->o->prefix, path, &source, &cn))
		return; /* not named like a pyc Python writes: not ours */
	if (dead_tag(t, cn.tag))
		pyc__tidy_remove(t, dfd, name, path, st, PYC_TIDY_TAG_LISTED);
	else if ((t->o->flags & PYC_TIDY_UNINSTALLED) && !installed(t, cn.tag))
		pyc__tidy_remove(t, dfd, name, path, st, PYC_TIDY_TAG);
	else if (pyc_source_gone(source))
		pyc__tidy_remove(t, dfd, name, path, st, PYC_TIDY_ORPHAN);
	else if (is_stale(t, cn.tag, source, path, cn.opt))
		pyc__tidy_remove(t, dfd, name, path, st, PYC_TIDY_STALE);
	else if ((t->o->flags & PYC_TIDY_OLDER_THAN) &&
		 t->now - last_use(st) > t->o->older_than)
		pyc__tidy_remove(t, dfd, name, path, st, PYC_TIDY_OLD);
	else
		keep(p, path, st);
	free(source);
}

/* Least recently used first; within a second, file by file in the byte
 * order of their least paths (the names of one file share its times,
 * and removing one frees nothing until the last goes: they go as one),
 * pycs before the object, then the path (one order, whatever the
 * walk's or the sort's). */
static int kept_cmp(const void *a, const void *b)
{
	const struct kept *x = a, *y = b;
	int c;

	if (x->used != y->used)
		return x->used < y->used ? -1 : 1;
	if ((c = strcmp(x->file, y->file)) != 0)
		return c;
	if (x->object != y->object)
		return x->object ? 1 : -1;
	return strcmp(x->path, y->path);
}

static int inode_cmp(const void *a, const void *b)
{
	const struct kept *x = a, *y = b;

	if (x->st.st_dev != y->st.st_dev)
		return x->st.st_dev < y->st.st_dev ? -1 : 1;
	if (x->st.st_ino != y->st.st_ino)
		return x->st.st_ino < y->st.st_ino ? -1 : 1;
	return 0;
}

/* Name each kept entry's file by the least path among its names. */
static void name_files(struct prune *p)
{
	size_t i = 0;

	qsort(p->kept, p->nkept, sizeof(*p->kept), inode_cmp);
	while (i < p->nkept) {
		size_t j = i + 1;
		const char *least = p->kept[i].path;

		while (j < p->nkept && !inode_cmp(&p->kept[i], &p->kept[j])) {
			if (strcmp(p->kept[j].path, least) < 0)
				least = p->kept[j].path;
			j++;
		}
		for (; i < j; i++)
			p->kept[i].file = least;
	}
}

/* An error that only says the file or a directory on its way is no
 * longer the one measured: nothing to remove, nothing to report. */
static bool replaced(int errnum)
{
	return errnum == ENOENT || errnum == ENOTDIR || errnum == ELOOP ||
	       errnum == ESTALE;
}

/* Remove the kept pyc k in its directory (dfd), if it is still the file
 * measured: 0 removed (or would be), 1 left, -1 (errno). */
static int evict_one(struct prune *p, int dfd, const struct kept *k)
{
	const char *name = strrchr(k->path, '/') + 1;

	return pyc__unlink_same(dfd, name, &k->st,
				p->t.o->flags & PYC_TIDY_DRY_RUN);
}

/* How the kept pycs' names of file k change by delta: the size the
 * prefix holds changes by k's when the first comes or the last goes
 * (a file with several names counts once, as du counts it). */
static uint64_t kept_names(struct prune *p, struct pyc__inodes *names,
			   const struct kept *k, int delta)
{
	long n;

	if (k->st.st_nlink <= 1)
		return (uint64_t)k->st.st_size;
	n = pyc__inodes_count(names, k->st.st_dev, k->st.st_ino, delta);
	if (n < 0)
		p->t.tree.oom = true;
	return n == (delta > 0 ? 1 : 0) ? (uint64_t)k->st.st_size : 0;
}

/* Evict least recently used pycs until the kept ones fit.  Each is
 * removed in its directory reached again through the walk's no-follow
 * chain, after checking it is the file measured (pyc__unlink_same()). */
static void evict(struct prune *p)
{
	struct pyc__tidy *t = &p->t;
	struct pyc__inodes names = { 0 };
	uint64_t total = 0;
	size_t dnode = PYC__NO_NODE;
	int dfd = -1, r;

	for (size_t i = 0; i < p->nkept; i++)
		total += kept_names(p, &names, &p->kept[i], 1);
	if (p->nkept) { /* NULL when none: qsort() must not see it */
		name_files(p);
		qsort(p->kept, p->nkept, sizeof(*p->kept), kept_cmp);
	}
	for (size_t i = 0; i < p->nkept && total > t->o->max_size; i++) {
		struct kept *k = &p->kept[i];

		/* An object some pyc still links to is in use. */
		if (k->object && names_left(p, &k->st, k->gone_before) > 1)
			continue;
		if (k->node != dnode) {
			if (dfd >= 0)
				close(dfd);
			dnode = k->node;
			dfd = pyc__tree_open_node(&t->tree, dnode);
		}
		if (dfd < 0 || (r = evict_one(p, dfd, k)) < 0) {
			if (!replaced(errno))
				pyc__tidy_error(&t->tree, k->path, errno);
			continue;
		}
		if (r > 0)
			continue;
		total -= kept_names(p, &names, k, -1);
		if (!k->object)
			t->st->kept--;
		t->tree.nodes[k->node].removed++;
		pyc__tidy_event(t, PYC_TIDY_SIZE, k->path, NULL,
				pyc__tidy_freed(t, &k->st));
	}
	if (dfd >= 0)
		close(dfd);
	pyc__inodes_release(&names);
}

/* The directories prune walks: the prefix, or the mirror of each of
 * dirs[] that exists.  A NULL-terminated vector, or NULL (errno). */
static char **prune_roots(const struct pyc__tidy *t, const char *const *dirs,
			  size_t ndirs, size_t *n)
{
	struct pyc_interp any = { .major = 3, .minor = 12, .tag = "x" };
	char **v = calloc(ndirs + 2, sizeof(*v));

	*n = 0;
	if (v && !ndirs && !(v[(*n)++] = strdup(t->o->prefix)))
		goto fail;
	for (size_t i = 0; v && i < ndirs; i++) {
		struct pyc_error err = { { 0 } };
		struct stat mst;
		char *m;
		enum pyc_path_error e = pyc__mirror_dir(&any, t->o->prefix,
							t->cwd, dirs[i], &m,
							&err);

		if (e == PYC_PATH_NOMEM) {
			errno = ENOMEM;
			goto fail;
		}
		if (e) {
			/* No mirror by the path rules: say why, walk the
			 * others. */
			t->st->errors++;
			if (t->o->error)
				t->o->error(dirs[i], err.msg, t->o->arg);
			continue;
		}
		if (lstat(m, &mst) == 0 && S_ISDIR(mst.st_mode))
			v[(*n)++] = m;
		else
			free(m);
	}
	return v;
fail:
	for (size_t i = 0; i < *n; i++)
		free(v[i]);
	free(v);
	return NULL;
}

static void prune_release(struct prune *p)
{
	for (size_t i = 0; i < p->nkept; i++)
		free(p->kept[i].path);
	free(p->kept);
	pyc__tidy_release(&p->t);
}

/* In the prefix, the store is no mirror; in the store, only the
 * directories of its layout are entered. */
static bool prune_descend(struct pyc__tree *tree, const char *name)
{
	struct prune *p = prune_of(tree);
	struct stat dir = { .st_mode = S_IFDIR };

	if (p->in_store)
		return pyc__store_entry_kind(tree, name, &dir, NULL) ==
		       PYC__SE_LAYOUT;
	return !pyc__store_skip(tree, &p->spot, name);
}

/* A store compile refuses (another user's, or writable by others) is
 * not pruned either: its objects are not known to be ours.  Says so. */
static bool store_refused(struct prune *p, const char *store,
			  const struct stat *st)
{
	struct pyc__tidy *t = &p->t;

	if (st->st_uid == geteuid() && !(st->st_mode & 022))
		return false;
	t->st->errors++;
	if (t->o->error)
		t->o->error(store, "another user's or writable by others, as "
			    "compile refuses it: left alone", t->o->arg);
	return true;
}

/* Walk the stores in the prefix (its own; the one of --in-tree runs
 * when the prefix holds it), when the whole prefix is pruned: their
 * directories stay (writers make them as they go). */
static int prune_store(struct prune *p)
{
	struct pyc__tidy *t = &p->t;
	struct stat st;
	int ret = 0;

	for (size_t i = 0; i < p->spot.n && ret == 0; i++) {
		const char *store = p->spot.at[i].path;

		/* Not there, or not a directory (a symlink planted there:
		 * the store refuses it, doctor tells): nothing of ours. */
		if (lstat(store, &st) < 0 ? errno == ENOENT
					  : !S_ISDIR(st.st_mode))
			continue;
		if (store_refused(p, store, &st))
			continue;
		p->in_store = true;
		t->tree.keep_dirs = true;
		ret = pyc__tree_walk_below(&t->tree, t->o->prefix, store);
		t->tree.keep_dirs = false;
		p->in_store = false;
	}
	return ret;
}

/* Is one of the roots the prefix itself? */
static bool whole_prefix(const struct prune *p, char **roots, size_t n)
{
	struct stat st;

	for (size_t i = 0; i < n; i++)
		if (stat(roots[i], &st) == 0 && p->spot.set &&
		    st.st_dev == p->spot.dev && st.st_ino == p->spot.ino)
			return true;
	return false;
}

static const struct pyc__tree_ops prune_ops = {
	.file = prune_file,
	.descend = prune_descend,
	.error = pyc__tidy_error,
	.dir_gone = pyc__tidy_dir_gone,
};

int pyc_prune(const struct pyc_tidy_opts *o, const char *const *dirs,
	      size_t ndirs, struct pyc_tidy_stats *st)
{
	struct prune p = { 0 };
	struct pyc__tidy *t = &p.t;
	struct stat pst;
	size_t nroots = 0;
	char **roots;
	int ret = 0, saved;

	pyc__tidy_init(t, o, st, &prune_ops, PYC__TREE_RMDIR |
		       (o->flags & PYC_TIDY_MAX_SIZE ? PYC__TREE_DEFER : 0));
	/* A prefix not made yet holds nothing to prune, as du and status
	 * see it. */
	if (stat(o->prefix, &pst) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(pst.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	if (!(roots = prune_roots(t, dirs, ndirs, &nroots)))
		return -1;
	pyc__store_spot_init(&p.spot, o->prefix);
	t->store = &p.spot;
	if (pyc__is_root_dir(o->prefix))
		ret = pyc__tidy_refuse(t, PYC_REFUSED_ROOT, o->prefix) < 0
			      ? -1 : PYC_TIDY_REFUSED;
	else
		ret = pyc__tidy_check_cache(t, o->prefix,
					    (const char *const *)roots, nroots);
	/* The prefix is the user's to place; below it, no link is ours. */
	for (size_t i = 0; i < nroots && ret == 0; i++)
		ret = pyc__tree_walk_below(&t->tree, o->prefix, roots[i]);
	if (ret == 0 && !t->tree.oom && whole_prefix(&p, roots, nroots))
		ret = prune_store(&p);
	if (ret == 0 && (o->flags & PYC_TIDY_MAX_SIZE) && !t->tree.oom)
		evict(&p);
	if (ret == 0 && !t->tree.oom)
		pyc__tree_finish(&t->tree);
	if (t->tree.oom) {
		errno = ENOMEM;
		ret = -1;
	}
	saved = errno;
	for (size_t i = 0; i < nroots; i++)
		free(roots[i]);
	free(roots);
	prune_release(&p);
	errno = saved;
	return ret;
}

int pyc_prune_store(const struct pyc_tidy_opts *o, const char *store,
		    struct pyc_tidy_stats *st)
{
	struct prune p = { 0 };
	struct pyc__tidy *t = &p.t;
	struct stat sst;
	int ret, saved;

	pyc__tidy_init(t, o, st, &prune_ops, PYC__TREE_RMDIR |
		       (o->flags & PYC_TIDY_MAX_SIZE ? PYC__TREE_DEFER : 0));
	if (lstat(store, &sst) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(sst.st_mode)) {
		errno = ENOTDIR; /* a symlink too: the store refuses it */
		return -1;
	}
	if (store_refused(&p, store, &sst)) {
		prune_release(&p);
		return 0;
	}
	p.in_store = true;
	t->tree.keep_dirs = true;
	ret = pyc__tree_walk(&t->tree, store);
	if (ret == 0 && (o->flags & PYC_TIDY_MAX_SIZE) && !t->tree.oom)
		evict(&p);
	if (t->tree.oom) {
		errno = ENOMEM;
		ret = -1;
	}
	saved = errno;
	prune_release(&p);
	errno = saved;
	return ret;
}
