/*
 * walk.c - the sources under a tree, in compileall's order and spelling.
 *
 * compileall's _walk_dir(): sorted os.listdir(), skip "__pycache__",
 * fullname = os.path.join(dir, name); descend into directories that are
 * not symlinks; everything else is a candidate, compiled when
 * os.path.isfile() (follows symlinks) and the name ends in ".py".
 */
#include "pycprefix.h"
#include "engine.h"
#include "buf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct seen {
	dev_t dev;
	ino_t ino;
};

struct walk {
	unsigned flags;
	const struct pyc_walk_ops *ops;
	struct seen *seen;  /* real directories entered (with FOLLOW) */
	size_t nseen, aseen;
};

/* Names are stored with the entry's d_type in front: "\x08name". */
static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a + 1, *(char *const *)b + 1);
}

static bool ends_py(const char *name)
{
	size_t n = strlen(name);

	return n >= 3 && strcmp(name + n - 3, ".py") == 0;
}

/* Remember a directory; false if it was entered already (a loop). */
static int enter_once(struct walk *w, const struct stat *st)
{
	for (size_t i = 0; i < w->nseen; i++)
		if (w->seen[i].dev == st->st_dev && w->seen[i].ino == st->st_ino)
			return 0;
	struct seen *s = pyc__array_grow(w->seen, &w->aseen, w->nseen + 1,
				    sizeof(*s));
	if (!s)
		return -1;
	w->seen = s;
	w->seen[w->nseen++] = (struct seen){ st->st_dev, st->st_ino };
	return 1;
}

/* The sorted names of a directory (NULL-terminated), or NULL; *dp is
 * left open for fstatat() on the entries. */
static char **list_dir(const char *path, size_t *count, DIR **dp)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char **v = NULL;
	size_t n = 0, alloc = 0;
	int saved;

	if (!d)
		return NULL;
	while ((errno = 0, e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n + 1 >= alloc) {
			alloc = alloc ? alloc * 2 : 32;
			char **nv = realloc(v, alloc * sizeof(*nv));
			if (!nv)
				goto fail;
			v = nv;
		}
		size_t len = strlen(e->d_name);
		if (!(v[n] = malloc(len + 2)))
			goto fail;
		v[n][0] = (char)e->d_type;
		memcpy(v[n] + 1, e->d_name, len + 1);
		n++;
	}
	if (errno)
		goto fail;
	*dp = d;
	if (!v && !(v = calloc(1, sizeof(*v)))) {
		closedir(d);
		return NULL;
	}
	v[n] = NULL;
	qsort(v, n, sizeof(*v), name_cmp);
	*count = n;
	return v;
fail:
	saved = errno;
	closedir(d);
	while (n)
		free(v[--n]);
	free(v);
	errno = saved ? saved : ENOMEM;
	return NULL;
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int walk_dir(struct walk *w, struct buf *path);

/* An entry that cannot be examined.  Gone since it was listed, a dangling
 * symlink or a symlink loop: not a file, as os.path.isfile() says.  Any
 * other reason (a directory we may list but not search, an I/O error)
 * hides what may be a source: reported, where compileall says nothing. */
static bool stat_error_counts(int errnum)
{
	return errnum != ENOENT && errnum != ENOTDIR && errnum != ELOOP;
}

static int stat_failed(struct walk *w, const char *path)
{
	if (errno == ENOMEM)
		return -1;
	if (stat_error_counts(errno) && w->ops->error)
		w->ops->error(path, errno, w->ops->arg);
	return 0;
}

int pyc__walk_stat_source(const char *path, struct stat *st)
{
	if (stat(path, st) < 0)
		return stat_error_counts(errno) ? errno : -1;
	return S_ISREG(st->st_mode) ? 0 : -1;
}

/* One entry, whose path is in `path`; `type` is its d_type, which spares
 * a stat() for regular files not named *.py and an lstat() for real
 * directories (DT_UNKNOWN: the file system does not say, so ask). */
static int visit(struct walk *w, struct buf *path, int dfd, const char *name,
		 unsigned char type)
{
	struct stat st, lst;
	bool link = type == DT_LNK;

	if (type == DT_REG && !ends_py(name))
		return 0;
	if (w->ops->exclude && w->ops->exclude(path->s, w->ops->arg))
		return 0;
	if (type == DT_REG && (w->flags & PYC_WALK_LAZY_STAT))
		return w->ops->source(path->s, NULL, w->ops->arg);
	if (fstatat(dfd, name, &st, 0) < 0)
		return stat_failed(w, path->s);
	if (S_ISDIR(st.st_mode)) {
		if (type == DT_UNKNOWN) {
			if (fstatat(dfd, name, &lst, AT_SYMLINK_NOFOLLOW) < 0)
				return 0;
			link = S_ISLNK(lst.st_mode);
		}
		if (link && !(w->flags & PYC_WALK_FOLLOW))
			return 0;
		if (w->flags & PYC_WALK_FOLLOW) {
			int r = enter_once(w, &st);
			if (r <= 0)
				return r;
		}
		return walk_dir(w, path);
	}
	if (S_ISREG(st.st_mode) && ends_py(name))
		return w->ops->source(path->s, &st, w->ops->arg);
	return 0;
}

static int walk_dir(struct walk *w, struct buf *path)
{
	size_t n = 0, len = path->len;
	DIR *d = NULL;
	char **names = list_dir(path->s, &n, &d);
	int ret = 0;

	if (!names) {
		if (errno == ENOMEM)
			return -1;
		if (w->ops->error)
			w->ops->error(path->s, errno, w->ops->arg);
		return 0;
	}
	for (size_t i = 0; i < n && !ret; i++) {
		const char *name = names[i] + 1;
		if (!strcmp(name, "__pycache__"))
			continue;
		/* os.path.join(dir, name) */
		if (len && path->s[len - 1] != '/')
			pyc__buf_addc(path, '/');
		pyc__buf_adds(path, name);
		ret = path->oom ? -1 : visit(w, path, dirfd(d), name,
					     (unsigned char)names[i][0]);
		path->len = len;
		path->s[len] = '\0';
	}
	free_names(names, n);
	closedir(d);
	return ret;
}

int pyc__walk(const char *root, unsigned flags, const struct pyc_walk_ops *ops)
{
	struct walk w = { .flags = flags, .ops = ops };
	struct buf path = { 0 };
	struct stat st;
	int ret = 0;

	if (stat(root, &st) < 0) {
		if (ops->error)
			ops->error(root, errno, ops->arg);
		return 0;
	}
	pyc__buf_adds(&path, root);
	if (path.oom)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		/* compile_file(): a file, named *.py, not excluded. */
		const char *slash = strrchr(root, '/');
		if (S_ISREG(st.st_mode) && ends_py(slash ? slash + 1 : root) &&
		    !(ops->exclude && ops->exclude(root, ops->arg)))
			ret = ops->source(root, &st, ops->arg);
	} else if (!(flags & PYC_WALK_FOLLOW) || enter_once(&w, &st) > 0) {
		ret = walk_dir(&w, &path);
	}
	pyc__buf_release(&path);
	free(w.seen);
	return ret;
}
