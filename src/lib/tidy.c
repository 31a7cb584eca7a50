/*
 * tidy.c - prune, clean, migrate and du: the cache's lifecycle.
 *
 * One walker serves all four.  It descends through directory file
 * descriptors (openat with O_NOFOLLOW | O_DIRECTORY), reads each
 * directory's names before touching any, looks at entries without
 * following links, and hands regular files to a per-command function
 * that decides with the directory's fd in hand, so a removal is an
 * unlinkat() in the very directory that was examined.  Symlinks, devices
 * and everything not named like a cache artifact are left alone.
 *
 * Each directory walked is a node that counts its entries and those
 * removed (or, in a dry run, that would be): a directory is emptied when
 * the two agree, so a dry run names the directories the real run then
 * removes.  --max-size decides after the walk, so prune then keeps the
 * nodes and removes the emptied directories after the eviction.
 */
#include "pycprefix.h"
#include "buf.h"
#include "compat.h"
#include "internal.h"

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

static const char *const why_texts[] = {
	[PYC_TIDY_ORPHAN] = "orphan: its source is gone",
	[PYC_TIDY_STALE] = "stale: Python would recompile it",
	[PYC_TIDY_TEMP] = "temporary file of a killed writer",
	[PYC_TIDY_TAG] = "its interpreter is not installed",
	[PYC_TIDY_OLD] = "not used within --older-than",
	[PYC_TIDY_SIZE] = "least recently used, over --max-size",
	[PYC_TIDY_PYCACHE] = "in __pycache__",
	[PYC_TIDY_LEGACY] = "legacy pyc beside its source",
	[PYC_TIDY_SOURCELESS] = "sourceless pyc",
	[PYC_TIDY_MOVED] = "moved into the prefix",
	[PYC_TIDY_DIR] = "emptied directory",
	[PYC_TIDY_TAG_LISTED] = "its tag was listed",
};

const char *pyc_tidy_why_text(enum pyc_tidy_why why)
{
	return why_texts[why];
}

/* A kept pyc, for --max-size. */
struct kept {
	char *path;
	dev_t dev;
	ino_t ino;
	time_t used;
	uint64_t bytes;
	size_t node;             /* its directory */
};

/* A directory walked. */
struct dirnode {
	size_t parent;           /* NO_NODE for a walk's root */
	size_t entries, removed; /* entries SIZE_MAX: unreadable */
	bool pycache;
	char *path;              /* kept when removal waits (--max-size) */
	dev_t dev;
	ino_t ino;
};

#define NO_NODE SIZE_MAX

struct tidy;

/* Decide about one regular file; may unlinkat(dfd, name). */
typedef void file_fn(struct tidy *t, int dfd, const char *name,
		     const char *path, const struct stat *st);

struct tidy {
	const struct pyc_tidy_opts *o;
	struct pyc_tidy_stats *st;
	const char *cwd;
	time_t now;
	file_fn *file;
	/* optional: every entry, before a directory is descended */
	void (*entry)(struct tidy *t, const char *path, const struct stat *st);
	bool in_pycache;          /* the directory being walked is one */
	bool remove_empty_dirs;   /* any emptied directory (prune) */
	bool remove_empty_pycache;/* emptied __pycache__ (clean, migrate) */
	bool defer_dirs;          /* remove emptied directories at the end */
	bool quiet;               /* a scan: errors are the real walk's */
	bool stop;                /* a scan found what it looked for */
	struct dirnode *nodes;
	size_t nnodes, anodes, cur;
	struct kept *kept;
	size_t nkept, akept;
	void (*du)(const struct pyc_du_item *it, void *arg);
	void *du_arg;
	struct pyc__du_state *dus;  /* pyc_du(): roots, hard links */
	size_t prefix_len;
	const struct pyc_audit_ops *audit;
	uid_t uid;
	bool oom;
};

static void event(struct tidy *t, enum pyc_tidy_why why, const char *path,
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

static void error(struct tidy *t, const char *path, int errnum)
{
	if (t->quiet)
		return;
	t->st->errors++;
	if (t->o->error)
		t->o->error(path, strerror(errnum), t->o->arg);
}

/* One entry of the directory being walked is gone (or would be). */
static void gone(struct tidy *t)
{
	if (t->cur != NO_NODE)
		t->nodes[t->cur].removed++;
}

/* Remove dfd/name (a regular file) unless this is a dry run. */
static void remove_file(struct tidy *t, int dfd, const char *name,
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
static int walk_from(struct tidy *t, const char *dir)
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
static void remove_emptied(struct tidy *t)
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

/* ---- is it a cache? ---- */

static bool ends_with(const char *s, const char *suffix);

static bool is_root_dir(const char *dir)
{
	struct stat a, b;

	return stat(dir, &a) == 0 && stat("/", &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static void refuse(struct tidy *t, enum pyc_tidy_refusal why,
		   const char *path)
{
	t->st->refused = why;
	free(t->st->refused_path);
	if (!(t->st->refused_path = strdup(path)))
		t->oom = true;
	t->stop = true;
}

static void scan_entry(struct tidy *t, const char *path, const struct stat *st)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (S_ISREG(st->st_mode) && ends_with(base, ".py"))
		refuse(t, PYC_REFUSED_SOURCE, path);
	else if (S_ISDIR(st->st_mode) && !strcmp(base, "__pycache__"))
		refuse(t, PYC_REFUSED_PYCACHE, path);
}

static void scan_file(struct tidy *t, int dfd, const char *name,
		      const char *path, const struct stat *st)
{
	(void)t, (void)dfd, (void)name, (void)path, (void)st;
}

/*
 * Before removing anything: is each of dirs[] in a cache tree?  A cache
 * holds pycs, temporary files and directories: never a source, never a
 * __pycache__ folder, and it is not '/'.  The whole of each tree is
 * searched, so that a walk never stops half-way with files gone.
 * Returns 0, or PYC_TIDY_REFUSED with st->refused set.
 */
static int check_cache(struct tidy *t, const char *const *dirs, size_t n)
{
	struct tidy scan = *t;

	scan.file = scan_file;
	scan.entry = scan_entry;
	scan.quiet = true;
	scan.remove_empty_dirs = scan.remove_empty_pycache = false;
	scan.defer_dirs = false;
	scan.nodes = NULL;
	scan.nnodes = scan.anodes = 0;
	for (size_t i = 0; i < n && !scan.stop && !scan.oom; i++) {
		if (is_root_dir(dirs[i]))
			refuse(&scan, PYC_REFUSED_ROOT, dirs[i]);
		else
			walk_from(&scan, dirs[i]);
	}
	free(scan.nodes);
	t->oom |= scan.oom;
	return scan.stop ? PYC_TIDY_REFUSED : 0;
}

/* ---- names ---- */

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

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
	    pyc_judge_files(in, PYC_CHECK_DEFAULT, source, NULL, AT_FDCWD,
			    path, 0, &v) == 0)
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
	else if (pyc_source_gone(source))
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

static void tidy_release(struct tidy *t)
{
	for (size_t i = 0; i < t->nkept; i++)
		free(t->kept[i].path);
	free(t->kept);
	for (size_t i = 0; i < t->nnodes; i++)
		free(t->nodes[i].path);
	free(t->nodes);
}

static int setup(struct tidy *t, const struct pyc_tidy_opts *o,
		 struct pyc_tidy_stats *st, file_fn *fn, char *cwdbuf)
{
	memset(t, 0, sizeof(*t));
	memset(st, 0, sizeof(*st));
	t->o = o;
	t->st = st;
	t->file = fn;
	t->now = time(NULL);
	t->cwd = getcwd(cwdbuf, PATH_MAX);
	t->cur = NO_NODE;
	return 0;
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

/* ---- migrate ---- */

static bool migrate_interp(const struct tidy *t, const char *tag,
			   struct pyc_interp *in)
{
	if (!t->o->ninterps)
		return pyc_interp_from_tag(tag, in) == 0;
	for (size_t i = 0; i < t->o->ninterps; i++)
		if (strcmp(t->o->interps[i].tag, tag) == 0)
			return pyc_interp_copy(in, &t->o->interps[i]) == 0;
	return false;
}

static void migrate_file(struct tidy *t, int dfd, const char *name,
			 const char *path, const struct stat *st)
{
	struct pyc_interp in = { 0 };
	struct pyc_cache_name cn;
	struct pyc_verdict v;
	char *source = NULL, *target = NULL;
	int opt;

	if (!t->in_pycache || !pyc_cache_name_parse(name, &cn) ||
	    !migrate_interp(t, cn.tag, &in))
		return;
	opt = cn.opt;
	if (pyc_source_of_cache(NULL, path, &source, &cn, NULL) || opt > 2 ||
	    pyc_judge_files(&in, PYC_CHECK_DEFAULT, source, NULL, AT_FDCWD,
			    path, 0, &v) < 0)
		goto out; /* no source: an orphan, for clean or prune */
	if (v.state != PYC_FRESH) {
		remove_file(t, dfd, name, path, st, PYC_TIDY_STALE);
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
	    pyc_move_atomic(dfd, name, t->o->prefix, rel,
			    (t->o->flags & PYC_TIDY_INSECURE)
				    ? 0 : PYC_WRITE_STRICT) < 0) {
		error(t, path, errno);
		goto out;
	}
	gone(t);
	event(t, PYC_TIDY_MOVED, path, target, (uint64_t)st->st_size);
out:
	free(source);
	free(target);
	pyc_interp_release(&in);
}

int pyc_migrate(const struct pyc_tidy_opts *o, const char *const *roots,
		size_t nroots, struct pyc_tidy_stats *st)
{
	char cwdbuf[PATH_MAX];
	struct tidy t;
	int ret = 0;

	setup(&t, o, st, migrate_file, cwdbuf);
	t.remove_empty_pycache = true;
	if (access(o->prefix, F_OK) == 0)
		ret = check_cache(&t, &o->prefix, 1);
	if (ret || t.oom) {
		tidy_release(&t);
		if (t.oom)
			errno = ENOMEM;
		return t.oom ? -1 : ret;
	}
	if (pyc_prefix_prepare(o->prefix, (o->flags & PYC_TIDY_INSECURE)
						  ? PYC_PREFIX_INSECURE : 0,
			       NULL, NULL, NULL) < 0) {
		tidy_release(&t);
		return -1;
	}
	for (size_t i = 0; i < nroots && ret == 0; i++)
		ret = walk_from(&t, roots[i]);
	tidy_release(&t);
	return ret;
}

/* ---- du ---- */

static void du_file(struct tidy *t, int dfd, const char *name,
		    const char *path, const struct stat *st)
{
	struct pyc_du_item it = { .tag = "?", .level = 0 };
	struct pyc_cache_name cn;
	char dir[PATH_MAX + 1] = "/"; /* the source directory: the prefix
					 mirrors absolute paths */
	const char *slash = strrchr(path, '/');

	(void)dfd;
	if (!ends_with(name, ".pyc"))
		return;
	if (pyc_cache_name_parse(name, &cn)) {
		it.tag = cn.tag;
		it.level = cn.opt <= 2 ? cn.opt : -1;
	}
	size_t start = t->prefix_len + (path[t->prefix_len] == '/');
	size_t n = slash && (size_t)(slash - path) > start
			   ? (size_t)(slash - path) - start : 0;
	if (n >= sizeof(dir) - 1)
		n = sizeof(dir) - 2;
	memcpy(dir + 1, path + start, n);
	dir[n + 1] = '\0';
	it.dir = dir + 1;
	it.bytes = (uint64_t)st->st_size;
	it.disk_bytes = (uint64_t)st->st_blocks * 512;
	if (t->dus) {
		if (pyc__du_note(t->dus, dir, st, &it.root, &it.linked) < 0) {
			t->oom = true;
			return;
		}
	}
	t->st->kept++;
	if (!it.linked)
		t->st->bytes += it.bytes;
	t->du(&it, t->du_arg);
}

int pyc_du(const char *prefix, const struct pyc_du_ops *ops,
	   struct pyc_tidy_stats *st)
{
	struct pyc_tidy_opts o = { .prefix = prefix, .error = ops->error,
				   .arg = ops->arg };
	struct pyc__du_state dus = { 0 };
	char cwdbuf[PATH_MAX];
	struct tidy t;
	int ret;

	setup(&t, &o, st, du_file, cwdbuf);
	t.du = ops->pyc;
	t.du_arg = ops->arg;
	t.dus = &dus;
	t.prefix_len = strlen(prefix);
	ret = walk_from(&t, prefix);
	tidy_release(&t);
	pyc__du_state_release(&dus);
	return ret;
}

/* ---- audit ---- */

static void audit_report(struct tidy *t, enum pyc_audit_kind kind,
			 const char *path, const struct stat *st)
{
	struct pyc_audit_item it = { kind, path, st };

	if (t->audit->finding)
		t->audit->finding(&it, t->audit->arg);
}

static void audit_entry(struct tidy *t, const char *path,
			const struct stat *st)
{
	const char *base = strrchr(path, '/');

	if (S_ISLNK(st->st_mode))
		audit_report(t, PYC_AUDIT_SYMLINK, path, st);
	if (st->st_uid != t->uid && st->st_uid != 0)
		audit_report(t, PYC_AUDIT_FOREIGN, path, st);
	else if (S_ISDIR(st->st_mode) &&
		 pyc_trust_stat(st, t->uid) != PYC_TRUST_OK)
		audit_report(t, PYC_AUDIT_OPEN_DIR, path, st);
	if (S_ISREG(st->st_mode) && pyc_is_temp_name(base ? base + 1 : path))
		audit_report(t, PYC_AUDIT_TEMP, path, st);
}

static void audit_file(struct tidy *t, int dfd, const char *name,
		       const char *path, const struct stat *st)
{
	if (t->audit->pyc)
		du_file(t, dfd, name, path, st);
}

static void audit_error(const char *path, const char *message, void *arg)
{
	const struct pyc_audit_ops *ops = arg;

	if (ops->error)
		ops->error(path, message, ops->arg);
}

int pyc_audit(const char *prefix, const struct pyc_audit_ops *ops,
	      struct pyc_tidy_stats *st)
{
	struct pyc_tidy_opts o = { .prefix = prefix, .error = audit_error,
				   .arg = (void *)ops };
	char cwdbuf[PATH_MAX];
	struct tidy t;
	int ret;

	setup(&t, &o, st, audit_file, cwdbuf);
	t.entry = audit_entry;
	t.audit = ops;
	t.uid = geteuid();
	t.du = ops->pyc;
	t.du_arg = ops->arg;
	t.prefix_len = strlen(prefix);
	ret = walk_from(&t, prefix);
	tidy_release(&t);
	return ret;
}
