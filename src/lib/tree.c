/*
 * tree.c - the one walker (tree.h says what it promises).
 */
#include "tree.h"
#include "buf.h"
#include "compat.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

void pyc__tree_init(struct pyc__tree *t, const struct pyc__tree_ops *ops,
		    unsigned flags)
{
	memset(t, 0, sizeof(*t));
	t->ops = ops;
	t->flags = flags;
	t->cur = PYC__NO_NODE;
}

static void report(struct pyc__tree *t, const char *path, int errnum)
{
	if (errnum == ENOMEM)
		t->oom = true;
	else if (t->ops->error)
		t->ops->error(t, path, errnum);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **v, size_t n)
{
	while (n)
		free(v[--n]);
	free(v);
}

/* The names in directory fd (sorted), or NULL with errno: the listing is
 * whole or an error, never cut short. */
static char **read_names(int fd, size_t *n)
{
	int dup_fd = dup(fd), saved;
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	struct dirent *e;
	char **v = NULL;
	size_t alloc = 0;

	*n = 0;
	if (!d) {
		saved = errno;
		if (dup_fd >= 0)
			close(dup_fd);
		errno = saved;
		return NULL;
	}
	while ((errno = 0, e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char **nv = pyc__array_grow(v, &alloc, *n + 1, sizeof(*nv));
		if (!nv)
			goto fail;
		v = nv;
		if (!(v[*n] = strdup(e->d_name)))
			goto fail;
		(*n)++;
	}
	if (errno)
		goto fail;
	closedir(d);
	if (!v && !(v = calloc(1, sizeof(*v))))
		return NULL;
	qsort(v, *n, sizeof(*v), name_cmp);
	return v;
fail:
	saved = errno ? errno : ENOMEM;
	closedir(d);
	free_names(v, *n);
	*n = 0;
	errno = saved;
	return NULL;
}

static void walk(struct pyc__tree *t, int dfd, struct buf *path);

/* A new node for the directory `name` at `path`, open as fd and fstat'ed
 * as st, child of the current one; its index, or PYC__NO_NODE (ENOMEM). */
static size_t push_node(struct pyc__tree *t, const char *name,
			const char *path, const struct stat *st, bool pycache)
{
	struct pyc__tree_node *v = pyc__array_grow(t->nodes, &t->anodes,
					      t->nnodes + 1, sizeof(*v));

	if (!v) {
		t->oom = true;
		return PYC__NO_NODE;
	}
	t->nodes = v;
	v = &t->nodes[t->nnodes];
	*v = (struct pyc__tree_node){ .parent = t->cur, .pycache = pycache,
				      .keep = t->keep_dirs, .fd = -1,
				      .dev = st->st_dev, .ino = st->st_ino };
	if ((name && !(v->name = strdup(name))) ||
	    ((t->flags & PYC__TREE_DEFER) && !(v->path = strdup(path)))) {
		free(v->name);
		t->oom = true;
		return PYC__NO_NODE;
	}
	return t->nnodes++;
}

/* Is node k a directory to remove: eligible, and all it held gone? */
static bool emptied(const struct pyc__tree *t, size_t k)
{
	const struct pyc__tree_node *d = &t->nodes[k];

	return d->parent != PYC__NO_NODE && !d->keep &&
	       d->entries == d->removed &&
	       ((t->flags & PYC__TREE_RMDIR) ||
		((t->flags & PYC__TREE_RMDIR_PYCACHE) && d->pycache));
}

/* Node k's directory is removed (or would be): count it gone in its
 * parent, and tell. */
static void dir_gone(struct pyc__tree *t, size_t k, const char *path)
{
	t->nodes[t->nodes[k].parent].removed++;
	if (t->ops->dir_gone)
		t->ops->dir_gone(t, path);
}

static void visit_dir(struct pyc__tree *t, int dfd, const char *name,
		      struct buf *path)
{
	int fd = openat(dfd, name, DIR_FLAGS);
	bool was = t->in_pycache;
	size_t parent = t->cur, k;
	struct stat st;

	if (fd < 0) {
		report(t, path->s, errno);
		return;
	}
	t->in_pycache = strcmp(name, "__pycache__") == 0;
	if (fstat(fd, &st) < 0) {
		report(t, path->s, errno);
	} else if ((k = push_node(t, name, path->s, &st, t->in_pycache)) !=
		   PYC__NO_NODE) {
		t->cur = k;
		walk(t, fd, path);
		t->cur = parent;
		if (!(t->flags & PYC__TREE_DEFER) && !t->stop && !t->oom &&
		    emptied(t, k) &&
		    ((t->flags & PYC__TREE_DRY_RUN) ||
		     unlinkat(dfd, name, AT_REMOVEDIR) == 0))
			dir_gone(t, k, path->s);
	}
	close(fd);
	t->in_pycache = was;
}

static void walk(struct pyc__tree *t, int dfd, struct buf *path)
{
	size_t n, len = path->len;
	char **names = read_names(dfd, &n);

	if (!names) {
		report(t, path->s, errno);
		t->nodes[t->cur].entries = SIZE_MAX;
		return;
	}
	t->nodes[t->cur].entries = n;
	for (size_t i = 0; i < n && !t->oom && !t->stop; i++) {
		struct stat st;

		pyc__buf_addf(path, "%s%s", len && path->s[len - 1] == '/' ? "" : "/",
			 names[i]);
		if (path->oom) {
			t->oom = true;
			break;
		}
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (t->ops->entry)
				t->ops->entry(t, path->s, &st);
			if (t->stop)
				;
			else if (S_ISDIR(st.st_mode) &&
				 (!t->ops->descend ||
				  t->ops->descend(t, names[i])))
				visit_dir(t, dfd, names[i], path);
			else if (S_ISREG(st.st_mode) && t->ops->file)
				t->ops->file(t, dfd, names[i], path->s, &st);
		}
		path->len = len;
		path->s[len] = '\0';
	}
	free_names(names, n);
}

/* Walk the root open as fd (taken), named dir. */
static int walk_root(struct pyc__tree *t, int fd, const char *dir)
{
	struct buf path = { 0 };
	struct stat st;
	size_t k;

	pyc__buf_adds(&path, dir);
	if (path.oom) {
		t->oom = true;
	} else if (fstat(fd, &st) < 0) {
		report(t, dir, errno);
	} else {
		const char *base = strrchr(dir, '/');
		t->in_pycache = !strcmp(base ? base + 1 : dir, "__pycache__");
		t->cur = PYC__NO_NODE;
		if ((k = push_node(t, NULL, dir, &st, t->in_pycache)) !=
		    PYC__NO_NODE) {
			t->nodes[k].fd = fd;
			fd = -1;
			t->cur = k;
			walk(t, t->nodes[k].fd, &path);
		}
		t->cur = PYC__NO_NODE;
	}
	if (fd >= 0)
		close(fd);
	pyc__buf_release(&path);
	if (t->oom)
		errno = ENOMEM;
	return t->oom ? -1 : 0;
}

int pyc__tree_walk(struct pyc__tree *t, const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		report(t, dir, errno);
		return t->oom ? -1 : 0;
	}
	return walk_root(t, fd, dir);
}

/* Open the directory `path`, at or below the directory `base` (path
 * begins with it): base following links, every component after it with
 * O_NOFOLLOW.  An fd, or -1 (errno; ENOTDIR where a symlink is met). */
static int open_below(const char *base, const char *path)
{
	size_t n = strlen(base);
	const char *p;
	int fd, next;

	while (n > 1 && base[n - 1] == '/')
		n--;
	if (strncmp(path, base, n) != 0 ||
	    (path[n] != '/' && path[n] != '\0' && base[n - 1] != '/')) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	for (p = path + n; *p;) {
		char part[NAME_MAX + 1];
		size_t len;

		p += strspn(p, "/");
		if (!(len = strcspn(p, "/")))
			break;
		if (len > NAME_MAX) {
			close(fd);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(part, p, len);
		part[len] = '\0';
		p += len;
		next = openat(fd, part, DIR_FLAGS);
		if (next < 0) {
			int saved = errno == ELOOP ? ENOTDIR : errno;
			close(fd);
			errno = saved;
			return -1;
		}
		close(fd);
		fd = next;
	}
	return fd;
}

int pyc__tree_walk_below(struct pyc__tree *t, const char *base,
			 const char *dir)
{
	int fd = open_below(base, dir);

	if (fd < 0) {
		report(t, dir, errno);
		return t->oom ? -1 : 0;
	}
	return walk_root(t, fd, dir);
}

void pyc__tree_removed(struct pyc__tree *t)
{
	if (t->cur != PYC__NO_NODE)
		t->nodes[t->cur].removed++;
}

int pyc__tree_open_node(const struct pyc__tree *t, size_t k)
{
	const struct pyc__tree_node *d = &t->nodes[k];
	struct stat st;
	int pfd, fd, saved;

	if (d->parent == PYC__NO_NODE)
		return fcntl(d->fd, F_DUPFD_CLOEXEC, 0);
	if ((pfd = pyc__tree_open_node(t, d->parent)) < 0)
		return -1;
	fd = openat(pfd, d->name, DIR_FLAGS);
	saved = errno;
	close(pfd);
	if (fd < 0) {
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) < 0 || st.st_dev != d->dev || st.st_ino != d->ino) {
		close(fd);
		errno = ESTALE;
		return -1;
	}
	return fd;
}

/* Remove node k's emptied directory from its parent, if it is still the
 * directory walked. */
static bool remove_node_dir(const struct pyc__tree *t, size_t k)
{
	const struct pyc__tree_node *d = &t->nodes[k];
	struct stat st;
	bool done = false;
	int pfd = pyc__tree_open_node(t, d->parent);

	if (pfd < 0)
		return false;
	if (fstatat(pfd, d->name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode) && st.st_dev == d->dev &&
	    st.st_ino == d->ino)
		done = unlinkat(pfd, d->name, AT_REMOVEDIR) == 0;
	close(pfd);
	return done;
}

/* A node's children come after it: backwards is deepest first. */
void pyc__tree_finish(struct pyc__tree *t)
{
	if (!(t->flags & PYC__TREE_DEFER))
		return;
	for (size_t k = t->nnodes; k-- > 0;) {
		if (!emptied(t, k))
			continue;
		if (!(t->flags & PYC__TREE_DRY_RUN) && !remove_node_dir(t, k))
			continue;
		dir_gone(t, k, t->nodes[k].path);
	}
}

void pyc__tree_release(struct pyc__tree *t)
{
	for (size_t i = 0; i < t->nnodes; i++) {
		free(t->nodes[i].name);
		free(t->nodes[i].path);
		if (t->nodes[i].fd >= 0)
			close(t->nodes[i].fd);
	}
	free(t->nodes);
	t->nodes = NULL;
	t->nnodes = t->anodes = 0;
}

bool pyc__same_file(const struct stat *was, const struct stat *now)
{
	return S_ISREG(now->st_mode) && now->st_dev == was->st_dev &&
	       now->st_ino == was->st_ino && now->st_size == was->st_size &&
	       PYC_ST_MTIM(now).tv_sec == PYC_ST_MTIM(was).tv_sec &&
	       PYC_ST_MTIM(now).tv_nsec == PYC_ST_MTIM(was).tv_nsec;
}

int pyc__unlink_same(int dfd, const char *name, const struct stat *was,
		     bool dry_run)
{
	struct stat now;

	if (fstatat(dfd, name, &now, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (!pyc__same_file(was, &now))
		return 1;
	if (!dry_run && unlinkat(dfd, name, 0) < 0)
		return -1;
	return 0;
}
