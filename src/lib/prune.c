/*
 * prune.c - pyc_prune(): orphans, stale and dead pycs, temporaries, and
 * eviction for --max-size.
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

/* ---- prune ---- */

static bool dead_tag(const struct tidy *t, const char *tag)
{
	for (size_t i = 0; i < t->o->ndead_tags; i++)
		if (strcmp(t->o->dead_tags[i], tag) == 0)
			return true;
	return false;
}

/* The installed interpreter of `tag`, or NULL. */
static const struct pyc_interp *installed(const struct tidy *t,
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

static void keep(struct tidy *t, const char *path, const struct stat *st)
{
	t->st->kept++;
	if (!(t->o->flags & PYC_TIDY_MAX_SIZE))
		return;
	struct kept *v = array_grow(t->kept, &t->akept, t->nkept + 1,
				    sizeof(*v));
	if (!v) {
		t->oom = true;
		return;
	}
	t->kept = v;
	struct kept *k = &t->kept[t->nkept];
	if (!(k->path = strdup(path))) {
		t->oom = true;
		return;
	}
	k->dev = st->st_dev;
	k->ino = st->st_ino;
	k->used = last_use(st);
	k->bytes = (uint64_t)st->st_size;
	k->node = t->cur;
	t->nkept++;
}

/* Is this pyc stale for the installed interpreter of its tag?  Only
 * pycs at the very path Python reads for their source are judged; a tag
 * with no interpreter here is not judged at all (the release tables say
 * what its Python would do, not that one will ever read it again). */
static bool is_stale(struct tidy *t, const char *tag, const char *source,
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
	    pyc_judge_files(in, PYC_CHECK_DEFAULT, source, path, 0, &v) == 0)
		stale = v.state == PYC_STALE;
	free(expect);
	return stale;
}

static void prune_file(struct tidy *t, int dfd, const char *name,
		       const char *path, const struct stat *st)
{
	struct pyc_cache_name cn;
	char *source = NULL;

	if (pyc_is_temp_name(name)) {
		if (t->now - st->st_mtime >= t->o->temp_grace)
			remove_file(t, dfd, name, path, st, PYC_TIDY_TEMP);
		return;
	}
	if (!pyc__cache_artifact(t->o->prefix, path, &source, &cn))
		return; /* not named like a pyc Python writes: not ours */
	if (dead_tag(t, cn.tag))
		remove_file(t, dfd, name, path, st, PYC_TIDY_TAG_LISTED);
	else if ((t->o->flags & PYC_TIDY_UNINSTALLED) && !installed(t, cn.tag))
		remove_file(t, dfd, name, path, st, PYC_TIDY_TAG);
	else if (pyc__source_gone(source))
		remove_file(t, dfd, name, path, st, PYC_TIDY_ORPHAN);
	else if (is_stale(t, cn.tag, source, path, cn.opt))
		remove_file(t, dfd, name, path, st, PYC_TIDY_STALE);
	else if ((t->o->flags & PYC_TIDY_OLDER_THAN) &&
		 t->now - last_use(st) > t->o->older_than)
		remove_file(t, dfd, name, path, st, PYC_TIDY_OLD);
	else
		keep(t, path, st);
	free(source);
}

/* Least recently used first; within a second, the path in byte order
 * (one order, whatever the walk's or the sort's). */
static int kept_cmp(const void *a, const void *b)
{
	const struct kept *x = a, *y = b;

	if (x->used != y->used)
		return x->used < y->used ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* Evict least recently used pycs until the kept ones fit. */
static void evict(struct tidy *t)
{
	uint64_t total = 0;

	for (size_t i = 0; i < t->nkept; i++)
		total += t->kept[i].bytes;
	qsort(t->kept, t->nkept, sizeof(*t->kept), kept_cmp);
	for (size_t i = 0; i < t->nkept && total > t->o->max_size; i++) {
		struct kept *k = &t->kept[i];
		struct stat st;

		/* Still the regular file we saw, not a link put in its way. */
		if (lstat(k->path, &st) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_dev != k->dev || st.st_ino != k->ino)
			continue;
		if (!(t->o->flags & PYC_TIDY_DRY_RUN) && unlink(k->path) < 0) {
			error(t, k->path, errno);
			continue;
		}
		total -= k->bytes;
		t->st->kept--;
		t->nodes[k->node].removed++;
		event(t, PYC_TIDY_SIZE, k->path, NULL, k->bytes);
	}
}

/* The directories prune walks: the prefix, or the mirror of each of
 * dirs[] that exists.  A NULL-terminated vector, or NULL (errno). */
static char **prune_roots(const struct tidy *t, const char *const *dirs,
			  size_t ndirs, size_t *n)
{
	struct pyc_interp any = { .major = 3, .minor = 12, .tag = "x" };
	char **v = calloc(ndirs + 2, sizeof(*v));

	*n = 0;
	if (v && !ndirs && !(v[(*n)++] = strdup(t->o->prefix)))
		goto fail;
	for (size_t i = 0; v && i < ndirs; i++) {
		char *m = pyc__mirror_dir(&any, t->o->prefix, t->cwd, dirs[i]);
		struct stat mst;

		if (!m)
			goto fail;
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

int pyc_prune(const struct pyc_tidy_opts *o, const char *const *dirs,
	      size_t ndirs, struct pyc_tidy_stats *st)
{
	char cwdbuf[PATH_MAX], **roots;
	struct tidy t;
	struct stat pst;
	size_t nroots = 0;
	int ret = 0, saved;

	setup(&t, o, st, prune_file, cwdbuf);
	t.remove_empty_dirs = true;
	t.defer_dirs = o->flags & PYC_TIDY_MAX_SIZE;
	if (stat(o->prefix, &pst) < 0)
		return -1;
	if (!S_ISDIR(pst.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	if (!(roots = prune_roots(&t, dirs, ndirs, &nroots)))
		return -1;
	if (is_root_dir(o->prefix)) {
		refuse(&t, PYC_REFUSED_ROOT, o->prefix);
		ret = PYC_TIDY_REFUSED;
	} else {
		ret = check_cache(&t, (const char *const *)roots, nroots);
	}
	for (size_t i = 0; i < nroots && ret == 0; i++)
		ret = walk_from(&t, roots[i]);
	if (ret == 0 && (o->flags & PYC_TIDY_MAX_SIZE) && !t.oom)
		evict(&t);
	if (ret == 0 && t.defer_dirs && !t.oom)
		remove_emptied(&t);
	if (t.oom) {
		errno = ENOMEM;
		ret = -1;
	}
	saved = errno;
	for (size_t i = 0; i < nroots; i++)
		free(roots[i]);
	free(roots);
	tidy_release(&t);
	errno = saved;
	return ret;
}
