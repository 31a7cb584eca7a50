/*
 * du.c - what pyc_du() adds to tidy.c's walk of the prefix: the root each
 * pyc's space belongs to, and hard links counted once.
 *
 * The root of a pyc is the sys.path entry its module is imported from,
 * told from the mirrored source directory D (pycprefix.h states the rule
 * for users): the deepest site-packages or dist-packages folder in D;
 * else the deepest lib/pythonX.Y (an interpreter's standard library);
 * else the directory above the outermost package holding D (D while D
 * has no __init__.py, as when its sources are gone).  pycs arrive one
 * directory at a time, so the last answer is kept.
 */
#include "pycprefix.h"
#include "internal.h"
#include "tidy.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Does component [p, p+n) name an interpreter's library, "python3.12"
 * (or "python3.13t", free-threaded)? */
static bool is_python_dir(const char *p, size_t n)
{
	size_t i = 6;

	if (n < 9 || strncmp(p, "python", 6) != 0 || !isdigit((unsigned char)p[i]))
		return false;
	while (i < n && isdigit((unsigned char)p[i]))
		i++;
	if (i >= n || p[i++] != '.' || i >= n || !isdigit((unsigned char)p[i]))
		return false;
	while (i < n && isdigit((unsigned char)p[i]))
		i++;
	return i == n || (i + 1 == n && p[i] == 't');
}

static bool comp_is(const char *p, size_t n, const char *word)
{
	return n == strlen(word) && strncmp(p, word, n) == 0;
}

/* The length of `dir` up to its deepest library component, or 0. */
static size_t library_end(const char *dir)
{
	size_t site = 0, lib = 0;
	const char *prev = NULL;
	size_t prevn = 0;

	for (const char *p = dir; *p;) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (!n)
			break;
		if (comp_is(p, n, "site-packages") ||
		    comp_is(p, n, "dist-packages"))
			site = (size_t)(p - dir) + n;
		else if (prev && (comp_is(prev, prevn, "lib") ||
				  comp_is(prev, prevn, "lib64")) &&
			 is_python_dir(p, n))
			lib = (size_t)(p - dir) + n;
		prev = p;
		prevn = n;
		p += n;
	}
	return site ? site : lib;
}

static bool is_package(const char *dir, size_t n)
{
	char *init = malloc(n + sizeof("/__init__.py"));
	struct stat st;
	bool yes;

	if (!init)
		return false;
	memcpy(init, dir, n);
	memcpy(init + n, "/__init__.py", sizeof("/__init__.py"));
	yes = stat(init, &st) == 0 && S_ISREG(st.st_mode);
	free(init);
	return yes;
}

char *pyc__du_root(const char *dir)
{
	size_t n = library_end(dir);

	if (!n) {
		n = strlen(dir);
		while (n > 1 && dir[n - 1] == '/')
			n--;
		while (n > 1 && is_package(dir, n)) {
			while (n > 1 && dir[n - 1] != '/')
				n--;
			while (n > 1 && dir[n - 1] == '/')
				n--;
		}
	}
	return strndup(dir, n);
}

/* ---- the files seen, for hard links ---- */

static size_t slot_of(const struct pyc__inodes *s, dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)ino * 0x9E3779B97F4A7C15ull) ^ (uint64_t)dev;
	size_t i = (size_t)(h ^ (h >> 29)) & (s->cap - 1);

	while (s->v[i].used && (s->v[i].dev != dev || s->v[i].ino != ino))
		i = (i + 1) & (s->cap - 1);
	return i;
}

static int grow(struct pyc__inodes *s)
{
	struct pyc__inodes big = { .cap = s->cap ? s->cap * 2 : 64 };

	big.v = calloc(big.cap, sizeof(*big.v));
	if (!big.v)
		return -1;
	for (size_t i = 0; i < s->cap; i++)
		if (s->v[i].used)
			big.v[slot_of(&big, s->v[i].dev, s->v[i].ino)] = s->v[i];
	big.n = s->n;
	free(s->v);
	*s = big;
	return 0;
}

int pyc__inodes_add(struct pyc__inodes *s, dev_t dev, ino_t ino)
{
	size_t i;

	if ((s->n + 1) * 2 > s->cap && grow(s) < 0)
		return -1;
	i = slot_of(s, dev, ino);
	if (s->v[i].used)
		return 0;
	s->v[i].used = true;
	s->v[i].dev = dev;
	s->v[i].ino = ino;
	s->n++;
	return 1;
}

long pyc__inodes_count(struct pyc__inodes *s, dev_t dev, ino_t ino,
		       int delta)
{
	size_t i;

	if (pyc__inodes_add(s, dev, ino) < 0)
		return -1;
	i = slot_of(s, dev, ino);
	if (delta < 0 && s->v[i].count == 0)
		return 0;
	s->v[i].count = delta < 0 ? s->v[i].count - 1 : s->v[i].count + 1;
	return (long)s->v[i].count;
}

size_t pyc__inodes_get(const struct pyc__inodes *s, dev_t dev, ino_t ino)
{
	size_t i;

	if (!s->cap)
		return 0;
	i = slot_of(s, dev, ino);
	return s->v[i].used ? s->v[i].count : 0;
}

void pyc__inodes_release(struct pyc__inodes *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

int pyc__du_note(struct pyc__du_state *s, const char *dir,
		 const struct stat *st, const char **root, bool *linked)
{
	int r;

	*linked = false;
	if (!s->dir || strcmp(s->dir, dir) != 0) {
		char *d = strdup(dir), *rt = pyc__du_root(dir);
		if (!d || !rt) {
			free(d);
			free(rt);
			return -1;
		}
		free(s->dir);
		free(s->root);
		s->dir = d;
		s->root = rt;
	}
	*root = s->root;
	if (st->st_nlink > 1) {
		if ((r = pyc__inodes_add(&s->seen, st->st_dev, st->st_ino)) < 0)
			return -1;
		*linked = r == 0;
	}
	return 0;
}

void pyc__du_state_release(struct pyc__du_state *s)
{
	free(s->dir);
	free(s->root);
	pyc__inodes_release(&s->seen);
}

/* ---- the walk ---- */

int pyc__du_file(struct pyc__du_walk *w, const char *name, const char *path,
		 const struct stat *st)
{
	struct pyc_du_item it = { .tag = "?", .level = 0 };
	struct pyc_cache_name cn;
	char dir[PATH_MAX + 1] = "/"; /* the source directory: the prefix
					 mirrors absolute paths */
	const char *slash = strrchr(path, '/');

	if (!pyc__ends_with(name, ".pyc"))
		return 0;
	if (pyc_cache_name_parse(name, &cn)) {
		it.tag = cn.tag;
		it.level = cn.opt <= 2 ? cn.opt : -1;
	}
	size_t start = w->prefix_len + (path[w->prefix_len] == '/');
	size_t n = slash && (size_t)(slash - path) > start
			   ? (size_t)(slash - path) - start : 0;
	if (n >= sizeof(dir) - 1)
		n = sizeof(dir) - 2;
	memcpy(dir + 1, path + start, n);
	dir[n + 1] = '\0';
	it.dir = dir + 1;
	it.bytes = (uint64_t)st->st_size;
	it.disk_bytes = (uint64_t)st->st_blocks * 512;
	it.st = st;
	if (w->dus && pyc__du_note(w->dus, dir, st, &it.root, &it.linked) < 0)
		return -1;
	w->st->kept++;
	if (!it.linked)
		w->st->bytes += it.bytes;
	w->pyc(&it, w->arg);
	return 0;
}

struct du {
	struct pyc__tree tree;
	struct pyc__du_walk w;
	const struct pyc_du_ops *ops;
	struct pyc__store_spot spot;
	struct pyc_store_usage *u;    /* NULL: the store is not measured */
	struct pyc__inodes names;     /* names seen of files with several */
};

/* One more name of a file with several seen: the second and later ones
 * save its allocated size; 1 when it is the first, -1 (ENOMEM). */
static int du_name(struct du *d, const struct stat *st)
{
	long n;

	if (st->st_nlink <= 1)
		return 1;
	if ((n = pyc__inodes_count(&d->names, st->st_dev, st->st_ino, 1)) < 0)
		return -1;
	if (n > 1)
		d->u->saved_disk_bytes += (uint64_t)st->st_blocks * 512;
	return n == 1;
}

static void du_file(struct pyc__tree *tree, int dfd, const char *name,
		    const char *path, const struct stat *st)
{
	struct du *d = pyc__container_of(tree, struct du, tree);

	(void)dfd;
	if (pyc__du_file(&d->w, name, path, st) < 0 ||
	    (d->u && pyc__ends_with(name, ".pyc") && du_name(d, st) < 0))
		tree->oom = true;
}

/* The store is no mirror: it is measured apart. */
static bool du_descend(struct pyc__tree *tree, const char *name)
{
	struct du *d = pyc__container_of(tree, struct du, tree);

	return !pyc__store_skip(tree, &d->spot, name);
}

static void du_error(struct pyc__tree *tree, const char *path, int errnum)
{
	struct du *d = pyc__container_of(tree, struct du, tree);

	d->w.st->errors++;
	if (d->ops->error)
		d->ops->error(path, strerror(errnum), d->ops->arg);
}

/* The store's walk, after the prefix's. */
struct du_store {
	struct pyc__store_walk w;
	struct du *d;
};

static void du_store_fn(struct pyc__store_walk *w, enum pyc__store_entry e,
			int dfd, const char *name, const char *path,
			const struct stat *st, const struct pyc__store_key *k)
{
	struct du *d = pyc__container_of(w, struct du_store, w)->d;
	int first;

	(void)dfd, (void)name, (void)path, (void)k;
	pyc__store_count(d->u, e, st);
	if (e != PYC__SE_OBJECT)
		return;
	if ((first = du_name(d, st)) < 0)
		w->tree.oom = true;
	else if (first)
		d->u->own_disk_bytes += (uint64_t)st->st_blocks * 512;
}

static void du_store_error(struct pyc__store_walk *w, const char *path,
			   int errnum)
{
	struct du *d = pyc__container_of(w, struct du_store, w)->d;

	d->u->errors++;
	if (d->ops->error)
		d->ops->error(path, strerror(errnum), d->ops->arg);
}

static int du_run(const char *prefix, const struct pyc_du_ops *ops,
		  struct pyc_tidy_stats *st, struct pyc_store_usage *u)
{
	static const struct pyc__tree_ops du_ops = { .file = du_file,
						     .descend = du_descend,
						     .error = du_error };
	struct pyc__du_state dus = { 0 };
	struct du d = { .ops = ops, .u = u,
			.w = { ops->pyc, ops->arg, strlen(prefix), &dus, st } };
	struct du_store ds = { .w = { .fn = du_store_fn,
				      .error = du_store_error }, .d = &d };
	int ret;

	memset(st, 0, sizeof(*st));
	if (u)
		memset(u, 0, sizeof(*u));
	pyc__store_spot_init(&d.spot, prefix);
	pyc__tree_init(&d.tree, &du_ops, 0);
	ret = pyc__tree_walk(&d.tree, prefix);
	pyc__tree_release(&d.tree);
	/* Every store in the prefix, into one count. */
	for (size_t i = 0; u && ret == 0 && i < d.spot.n; i++)
		ret = pyc__store_walk(&ds.w, prefix, d.spot.at[i].path);
	pyc__du_state_release(&dus);
	pyc__inodes_release(&d.names);
	return ret;
}

int pyc_du(const char *prefix, const struct pyc_du_ops *ops,
	   struct pyc_tidy_stats *st)
{
	return du_run(prefix, ops, st, NULL);
}

int pyc_du_store(const char *prefix, const struct pyc_du_ops *ops,
		 struct pyc_tidy_stats *st, struct pyc_store_usage *u)
{
	return du_run(prefix, ops, st, u);
}
