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
};

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
	t->st->errors++;
	if (t->o->error)
		t->o->error(path, strerror(errnum), t->o->arg);
}

/* Remove dfd/name (a regular file) unless this is a dry run. */
static void remove_file(struct tidy *t, int dfd, const char *name,
			const char *path, const struct stat *st,
			enum pyc_tidy_why why)
{
	if (!(t->o->flags & PYC_TIDY_DRY_RUN) && unlinkat(dfd, name, 0) < 0) {
		if (errno != ENOENT)
			error(t, path, errno);
		return;
	}
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

static void visit_dir(struct tidy *t, int dfd, const char *name,
		      struct buf *path)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				   O_CLOEXEC);
	bool was = t->in_pycache;

	if (fd < 0) {
		error(t, path->s, errno);
		return;
	}
	t->in_pycache = strcmp(name, "__pycache__") == 0;
	walk(t, fd, path);
	close(fd);
	if ((t->remove_empty_dirs ||
	     (t->remove_empty_pycache && t->in_pycache)) &&
	    !(t->o->flags & PYC_TIDY_DRY_RUN) &&
	    unlinkat(dfd, name, AT_REMOVEDIR) == 0)
		event(t, PYC_TIDY_DIR, path->s, NULL, 0);
	t->in_pycache = was;
}

static void walk(struct tidy *t, int dfd, struct buf *path)
{
	size_t n, len = path->len;
	char **names = read_names(dfd, &n);

	if (!names) {
		error(t, path->s, errno);
		return;
	}
	for (size_t i = 0; i < n && !t->oom; i++) {
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
			if (S_ISDIR(st.st_mode))
				visit_dir(t, dfd, names[i], path);
			else if (S_ISREG(st.st_mode))
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
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		error(t, dir, errno);
		return 0;
	}
	buf_adds(&path, dir);
	if (!path.oom) {
		const char *base = strrchr(dir, '/');
		t->in_pycache = !strcmp(base ? base + 1 : dir, "__pycache__");
		walk(t, fd, &path);
	}
	close(fd);
	t->oom |= path.oom;
	buf_release(&path);
	return t->oom ? -1 : 0;
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

static void keep(struct tidy *t, const char *path, const struct stat *st)
{
	t->st->kept++;
	if (!t->o->max_size)
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
	k->used = st->st_atime > st->st_mtime ? st->st_atime : st->st_mtime;
	k->bytes = (uint64_t)st->st_size;
	t->nkept++;
}

/* Is this pyc stale for the interpreter its tag names?  Only pycs at the
 * very path Python reads for their source are judged. */
static bool is_stale(struct tidy *t, const char *tag, const char *source,
		     const char *path, int opt)
{
	struct pyc_interp in;
	struct pyc_verdict v;
	char *expect = NULL;
	bool stale = false;

	if (opt < 0 || opt > 2 || pyc_interp_from_tag(tag, &in) < 0)
		return false;
	if (pyc_cache_from_source(&in, t->o->prefix, t->cwd, source, opt,
				  &expect, NULL) == PYC_PATH_OK &&
	    strcmp(expect, path) == 0 &&
	    pyc_judge_files(&in, PYC_CHECK_DEFAULT, source, path, 0, &v) == 0)
		stale = v.state == PYC_STALE;
	free(expect);
	pyc_interp_release(&in);
	return stale;
}

static void prune_file(struct tidy *t, int dfd, const char *name,
		       const char *path, const struct stat *st)
{
	struct pyc_cache_name cn;
	char *source = NULL;
	struct stat sst;

	if (pyc_is_temp_name(name)) {
		if (t->now - st->st_mtime >= t->o->temp_grace)
			remove_file(t, dfd, name, path, st, PYC_TIDY_TEMP);
		return;
	}
	if (pyc_source_of_cache(t->o->prefix, path, &source, &cn, NULL) !=
	    PYC_PATH_OK)
		return; /* not named like a pyc CPython writes: not ours */
	if (dead_tag(t, cn.tag))
		remove_file(t, dfd, name, path, st, PYC_TIDY_TAG);
	else if (stat(source, &sst) < 0 && (errno == ENOENT || errno == ENOTDIR))
		remove_file(t, dfd, name, path, st, PYC_TIDY_ORPHAN);
	else if (is_stale(t, cn.tag, source, path, cn.opt))
		remove_file(t, dfd, name, path, st, PYC_TIDY_STALE);
	else if (t->o->older_than && t->now - (st->st_atime > st->st_mtime
						      ? st->st_atime
						      : st->st_mtime) >
					     t->o->older_than)
		remove_file(t, dfd, name, path, st, PYC_TIDY_OLD);
	else
		keep(t, path, st);
	free(source);
}

static int kept_cmp(const void *a, const void *b)
{
	const struct kept *x = a, *y = b;

	return x->used < y->used ? -1 : x->used > y->used;
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
		event(t, PYC_TIDY_SIZE, k->path, NULL, k->bytes);
	}
}

static void tidy_release(struct tidy *t)
{
	for (size_t i = 0; i < t->nkept; i++)
		free(t->kept[i].path);
	free(t->kept);
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
	return 0;
}

int pyc_prune(const struct pyc_tidy_opts *o, const char *const *dirs,
	      size_t ndirs, struct pyc_tidy_stats *st)
{
	char cwdbuf[PATH_MAX];
	struct tidy t;
	struct stat pst;
	int ret = 0;

	setup(&t, o, st, prune_file, cwdbuf);
	t.remove_empty_dirs = true;
	if (stat(o->prefix, &pst) < 0)
		return -1;
	if (!S_ISDIR(pst.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	if (!ndirs)
		ret = walk_from(&t, o->prefix);
	for (size_t i = 0; i < ndirs && ret == 0; i++) {
		struct pyc_interp any = { .major = 3, .minor = 12, .tag = "x" };
		char *m = pyc__mirror_dir(&any, o->prefix, t.cwd, dirs[i]);
		struct stat mst;
		if (!m) {
			errno = ENOMEM;
			ret = -1;
		} else if (lstat(m, &mst) == 0 && S_ISDIR(mst.st_mode)) {
			ret = walk_from(&t, m);
		}
		free(m);
	}
	if (ret == 0 && o->max_size && !t.oom)
		evict(&t);
	if (t.oom) {
		errno = ENOMEM;
		ret = -1;
	}
	tidy_release(&t);
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
	    pyc_judge_files(&in, PYC_CHECK_DEFAULT, source, path, 0, &v) < 0)
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
