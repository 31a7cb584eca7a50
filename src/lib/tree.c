/*
 * tree.c - the walker of prune, clean, migrate, du and audit (tidy.c says
 * how it works).
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

void event(struct tidy *t, enum pyc_tidy_why why, const char *path,
		  const char *to, uint64_t bytes)
{
	struct pyc_tidy_event ev = { why, path, to, bytes };

	if (why == PYC_TIDY_DIR)
		t->st->dirs++;
	else
		t->st->files++, t->st->bytes += bytes;
	if (t->o->event)
		t->o->event(&ev, t->o->arg);
}

void error(struct tidy *t, const char *path, int errnum)
{
	if (t->quiet)
		return;
	t->st->errors++;
	if (t->o->error)
		t->o->error(path, strerror(errnum), t->o->arg);
}

/* One entry of the directory being walked is gone (or would be). */
void gone(struct tidy *t)
{
	if (t->cur != NO_NODE)
		t->nodes[t->cur].removed++;
}

/* Remove dfd/name (a regular file) unless this is a dry run. */
void remove_file(struct tidy *t, int dfd, const char *name,
			const char *path, const struct stat *st,
			enum pyc_tidy_why why)
{
	if (!(t->o->flags & PYC_TIDY_DRY_RUN) && unlinkat(dfd, name, 0) < 0) {
		if (errno == ENOENT)
			gone(t);
		else
			error(t, path, errno);
		return;
	}
	gone(t);
	event(t, why, path, NULL, (uint64_t)st->st_size);
}

/* ---- the walker ---- */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory fd (sorted), or NULL with errno. */
static char **read_names(int fd, size_t *n)
{
	int dup_fd = dup(fd);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	struct dirent *e;
	char **v = NULL;
	size_t alloc = 0;

	*n = 0;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return NULL;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (*n + 1 >= alloc) {
			alloc = alloc ? alloc * 2 : 32;
			char **nv = realloc(v, alloc * sizeof(*nv));
			if (!nv)
				break;
			v = nv;
		}
		if (!(v[*n] = strdup(e->d_name)))
			break;
		(*n)++;
	}
	closedir(d);
	if (!v)
		v = calloc(1, sizeof(*v));
	else
		qsort(v, *n, sizeof(*v), name_cmp);
	return v;
}

static void walk(struct tidy *t, int dfd, struct buf *path);

/* A new node for the directory at `path` (fstat'ed as st), child of the
 * current one; its index, or NO_NODE when out of memory. */
static size_t push_node(struct tidy *t, const char *path, const struct stat *st,
			bool pycache)
{
	struct dirnode *v = array_grow(t->nodes, &t->anodes, t->nnodes + 1,
				       sizeof(*v));

	if (!v) {
		t->oom = true;
		return NO_NODE;
	}
	t->nodes = v;
	v = &t->nodes[t->nnodes];
	*v = (struct dirnode){ .parent = t->cur, .pycache = pycache,
			       .dev = st->st_dev, .ino = st->st_ino };
	if (t->defer_dirs && !(v->path = strdup(path))) {
		t->oom = true;
		return NO_NODE;
	}
	return t->nnodes++;
}

/* Is node k a directory to remove: eligible, and all it held gone? */
static bool emptied(const struct tidy *t, size_t k)
{
	const struct dirnode *d = &t->nodes[k];

	return d->parent != NO_NODE && d->entries == d->removed &&
	       (t->remove_empty_dirs || (t->remove_empty_pycache && d->pycache));
}

/* Node k's directory is removed (or would be): tell, and count it gone
 * in its parent. */
static void dir_gone(struct tidy *t, size_t k, const char *path)
{
	t->nodes[t->nodes[k].parent].removed++;
	event(t, PYC_TIDY_DIR, path, NULL, 0);
}

static void visit_dir(struct tidy *t, int dfd, const char *name,
		      struct buf *path)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				   O_CLOEXEC);
	bool was = t->in_pycache;
	size_t parent = t->cur, k;
	struct stat st;

	if (fd < 0) {
		error(t, path->s, errno);
		return;
	}
	t->in_pycache = strcmp(name, "__pycache__") == 0;
	if (fstat(fd, &st) < 0) {
		error(t, path->s, errno);
	} else if ((k = push_node(t, path->s, &st, t->in_pycache)) != NO_NODE) {
		t->cur = k;
		walk(t, fd, path);
		t->cur = parent;
		if (!t->defer_dirs && !t->stop && emptied(t, k) &&
		    ((t->o->flags & PYC_TIDY_DRY_RUN) ||
		     unlinkat(dfd, name, AT_REMOVEDIR) == 0))
			dir_gone(t, k, path->s);
	}
	close(fd);
	t->in_pycache = was;
}

static void walk(struct tidy *t, int dfd, struct buf *path)
{
	size_t n, len = path->len;
	char **names = read_names(dfd, &n);

	if (!names) {
		error(t, path->s, errno);
		if (t->cur != NO_NODE)
			t->nodes[t->cur].entries = SIZE_MAX;
		return;
	}
	if (t->cur != NO_NODE)
		t->nodes[t->cur].entries = n;
	for (size_t i = 0; i < n && !t->oom && !t->stop; i++) {
		struct stat st;

		buf_addf(path, "%s%s", len && path->s[len - 1] == '/' ? "" : "/",
			 names[i]);
		if (path->oom) {
			t->oom = true;
			break;
		}
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (t->entry)
				t->entry(t, path->s, &st);
			if (!t->stop && S_ISDIR(st.st_mode))
				visit_dir(t, dfd, names[i], path);
			else if (!t->stop && S_ISREG(st.st_mode))
				t->file(t, dfd, names[i], path->s, &st);
		}
		path->len = len;
		path->s[len] = '\0';
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Walk the directory `dir` (following links only in `dir` itself). */
int walk_from(struct tidy *t, const char *dir)
{
	struct buf path = { 0 };
	struct stat st;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		error(t, dir, errno);
		return 0;
	}
	buf_adds(&path, dir);
	if (!path.oom && fstat(fd, &st) == 0) {
		const char *base = strrchr(dir, '/');
		t->in_pycache = !strcmp(base ? base + 1 : dir, "__pycache__");
		t->cur = NO_NODE;
		t->cur = push_node(t, dir, &st, t->in_pycache);
		if (t->cur != NO_NODE)
			walk(t, fd, &path);
		t->cur = NO_NODE;
	}
	close(fd);
	t->oom |= path.oom;
	buf_release(&path);
	return t->oom ? -1 : 0;
}

/* After the walks (and the eviction): the emptied directories, deepest
 * first (a node's children come after it), each still the directory
 * that was walked. */
void remove_emptied(struct tidy *t)
{
	for (size_t k = t->nnodes; k-- > 0;) {
		struct dirnode *d = &t->nodes[k];
		struct stat st;

		if (!emptied(t, k))
			continue;
		if (!(t->o->flags & PYC_TIDY_DRY_RUN) &&
		    (lstat(d->path, &st) < 0 || !S_ISDIR(st.st_mode) ||
		     st.st_dev != d->dev || st.st_ino != d->ino ||
		     rmdir(d->path) < 0))
			continue;
		dir_gone(t, k, d->path);
	}
}
