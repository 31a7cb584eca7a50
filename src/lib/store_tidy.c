/*
 * store_tidy.c - the store in the walks of the prefix, and the walks of
 * the store itself: what each entry of a store is (store.h's layout),
 * pyc_store_measure() for du and status, pyc_store_check() for doctor.
 * prune.c removes what is dead in it; du.c counts it with the pycs.
 *
 * Everything goes through the one walker (tree.c): no symlink is ever
 * followed, below the prefix none on the way to the store either, and
 * an entry that is neither an object, a temporary file nor a part of
 * the layout is not ours: it is reported, never removed, and a
 * directory that is not ours is not entered.
 */
#include "pycprefix.h"
#include "internal.h"
#include "store.h"
#include "tidy.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

/* Note the store at `path` (absolute), held by a directory of the
 * prefix, in s. */
static void spot_add(struct pyc__store_spot *s, const char *path)
{
	const char *slash = strrchr(path, '/');
	char parent[PATH_MAX];
	struct stat st;
	int n;

	if (!slash || s->n == PYC__STORE_SPOTS ||
	    strlen(slash + 1) > NAME_MAX || strlen(path) >= PATH_MAX)
		return;
	n = snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
	if (n <= 0 || stat(parent, &st) < 0)
		return;
	s->at[s->n].pdev = st.st_dev;
	s->at[s->n].pino = st.st_ino;
	snprintf(s->at[s->n].name, sizeof(s->at[s->n].name), "%s", slash + 1);
	snprintf(s->at[s->n].path, sizeof(s->at[s->n].path), "%s", path);
	s->n++;
}

/* Is `path` below the directory `dir` (by their spelling)? */
static bool below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return strncmp(path, dir, n) == 0 && path[n] == '/' && path[n + 1];
}

void pyc__store_spot_init(struct pyc__store_spot *s, const char *prefix)
{
	struct stat st;
	char *own, *user;

	memset(s, 0, sizeof(*s));
	if (!prefix || stat(prefix, &st) < 0)
		return;
	s->set = true;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	if ((own = pyc_store_prefix_dir(prefix)))
		spot_add(s, own);
	user = pyc_store_default_dir();
	if (user && user[0] == '/' && below(user, prefix) &&
	    (!own || strcmp(user, own) != 0))
		spot_add(s, user);
	free(own);
	free(user);
}

bool pyc__store_skip(const struct pyc__tree *t,
		     const struct pyc__store_spot *s, const char *name)
{
	const struct pyc__tree_node *d;

	if (!s || !s->set || t->cur == PYC__NO_NODE)
		return false;
	d = &t->nodes[t->cur];
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(name, s->at[i].name) && d->dev == s->at[i].pdev &&
		    d->ino == s->at[i].pino)
			return true;
	return false;
}

/* ---- what an entry of a store is ---- */

/* How deep the directory being walked is below its walk's root. */
static size_t depth_of(const struct pyc__tree *t)
{
	size_t n = 0;

	for (size_t k = t->cur; k != PYC__NO_NODE && t->nodes[k].parent !=
	     PYC__NO_NODE; k = t->nodes[k].parent)
		n++;
	return n;
}

static bool all_hex(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

/* A compiler's directory: tag "-" 16 hex digits. */
static bool compiler_name(const char *name)
{
	const char *dash = strrchr(name, '-');

	return dash && dash > name && all_hex(dash + 1, 16);
}

enum pyc__store_entry pyc__store_entry_kind(const struct pyc__tree *t,
					    const char *name,
					    const struct stat *st,
					    struct pyc__store_key *k)
{
	struct pyc__store_key key;
	size_t depth = depth_of(t);
	bool dir = S_ISDIR(st->st_mode), reg = S_ISREG(st->st_mode);

	if (!k)
		k = &key;
	if (reg && pyc__is_temp_name(name))
		return PYC__SE_TEMP;
	switch (depth) {
	case 0:
		if ((dir && !strcmp(name, PYC_STORE_VERSION_DIR)) ||
		    (reg && !strcmp(name, PYC_CACHEDIR_TAG_NAME)))
			return PYC__SE_LAYOUT;
		break;
	case 1:
		if (dir && compiler_name(name))
			return PYC__SE_LAYOUT;
		break;
	case 2:
		if ((dir && all_hex(name, 2)) ||
		    (reg && !strcmp(name, PYC_STORE_IDENTITY)))
			return PYC__SE_LAYOUT;
		break;
	case 3:
		if (reg && pyc__store_parse_name(t->nodes[t->cur].name, name,
						 k))
			return PYC__SE_OBJECT;
		break;
	}
	return PYC__SE_OTHER;
}

/* ---- a walk of the store ---- */

static struct pyc__store_walk *walk_of(struct pyc__tree *t)
{
	return pyc__container_of(t, struct pyc__store_walk, tree);
}

static void sw_entry(struct pyc__tree *t, const char *path,
		     const struct stat *st)
{
	struct pyc__store_walk *w = walk_of(t);
	const char *name = strrchr(path, '/') + 1;
	enum pyc__store_entry e;

	if (S_ISREG(st->st_mode))
		return; /* sw_file's, with its directory */
	e = pyc__store_entry_kind(t, name, st, NULL);
	w->descend_next = S_ISDIR(st->st_mode) && e == PYC__SE_LAYOUT;
	if (!w->descend_next)
		w->fn(w, e, -1, name, path, st, NULL);
}

static bool sw_descend(struct pyc__tree *t, const char *name)
{
	(void)name;
	return walk_of(t)->descend_next;
}

static void sw_file(struct pyc__tree *t, int dfd, const char *name,
		    const char *path, const struct stat *st)
{
	struct pyc__store_walk *w = walk_of(t);
	struct pyc__store_key k;
	enum pyc__store_entry e = pyc__store_entry_kind(t, name, st, &k);

	w->fn(w, e, dfd, name, path, st, e == PYC__SE_OBJECT ? &k : NULL);
}

static void sw_error(struct pyc__tree *t, const char *path, int errnum)
{
	struct pyc__store_walk *w = walk_of(t);

	if (w->error)
		w->error(w, path, errnum);
}

int pyc__store_walk(struct pyc__store_walk *w, const char *base,
		    const char *store)
{
	static const struct pyc__tree_ops ops = { .file = sw_file,
						  .entry = sw_entry,
						  .descend = sw_descend,
						  .error = sw_error };
	struct stat st;
	int ret;

	/* Not there, or no directory (a symlink: the store refuses it, and
	 * doctor says so): nothing to walk. */
	if (lstat(store, &st) < 0 ? errno == ENOENT : !S_ISDIR(st.st_mode))
		return 0;
	pyc__tree_init(&w->tree, &ops, 0);
	ret = base ? pyc__tree_walk_below(&w->tree, base, store)
		   : pyc__tree_walk(&w->tree, store);
	pyc__tree_release(&w->tree);
	return ret;
}

/* ---- pyc_store_measure() ---- */

struct measure {
	struct pyc__store_walk w;
	struct pyc_store_usage *u;
};

void pyc__store_count(struct pyc_store_usage *u, enum pyc__store_entry e,
		      const struct stat *st)
{
	switch (e) {
	case PYC__SE_OBJECT:
		u->objects++;
		u->bytes += (uint64_t)st->st_size;
		u->disk_bytes += (uint64_t)st->st_blocks * 512;
		if (st->st_nlink > 1)
			u->linked++;
		break;
	case PYC__SE_TEMP:
		u->temps++;
		break;
	case PYC__SE_OTHER:
		u->others++;
		break;
	case PYC__SE_LAYOUT:
		break;
	}
}

static void measure_fn(struct pyc__store_walk *w, enum pyc__store_entry e,
		       int dfd, const char *name, const char *path,
		       const struct stat *st, const struct pyc__store_key *k)
{
	struct measure *m = pyc__container_of(w, struct measure, w);

	(void)dfd, (void)name, (void)path, (void)k;
	pyc__store_count(m->u, e, st);
}

static void measure_error(struct pyc__store_walk *w, const char *path,
			  int errnum)
{
	(void)path, (void)errnum;
	pyc__container_of(w, struct measure, w)->u->errors++;
}

int pyc_store_measure(const char *store, const char *base,
		      struct pyc_store_usage *u)
{
	struct measure m = { .w = { .fn = measure_fn,
				    .error = measure_error }, .u = u };

	memset(u, 0, sizeof(*u));
	return pyc__store_walk(&m.w, base, store);
}

/* ---- pyc_store_check() ---- */

struct check {
	struct pyc__store_walk w;
	struct pyc__tree links;         /* the prefix's shared pycs */
	struct pyc__store_spot spot;
	const struct pyc_store_check_ops *ops;
	struct pyc_store_check_stats *st;
	uid_t uid;
};

static void find(struct check *c, enum pyc_store_finding_kind kind,
		 const char *path, const char *why, const struct stat *st)
{
	struct pyc_store_finding f = { kind, path, why ? why : "", st };

	c->st->findings++;
	if (kind == PYC_STORE_UNSOUND || kind == PYC_STORE_LINK_UNSOUND)
		c->st->unsound++;
	if (c->ops->finding)
		c->ops->finding(&f, c->ops->arg);
}

static void check_error(struct check *c, const char *path, int errnum)
{
	c->st->errors++;
	if (c->ops->error)
		c->ops->error(path, strerror(errnum), c->ops->arg);
}

/* Verify dfd/name; 0 sound, 1 not (reported as kind), -1 (reported). */
static int verify(struct check *c, enum pyc_store_finding_kind kind,
		  int dfd, const char *name, const char *path,
		  const struct stat *st)
{
	char why[256] = "";
	int r = pyc__store_verify_at(dfd, name, why, sizeof(why));

	if (r < 0)
		check_error(c, path, errno);
	else if (r > 0)
		find(c, kind, path, why, st);
	return r;
}

static const char *not_ours_why(const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		return "a symlink";
	if (S_ISDIR(st->st_mode))
		return "a directory the layout has no place for";
	if (S_ISREG(st->st_mode))
		return "a file named as no object";
	return "not a regular file";
}

static void check_fn(struct pyc__store_walk *w, enum pyc__store_entry e,
		     int dfd, const char *name, const char *path,
		     const struct stat *st, const struct pyc__store_key *k)
{
	struct check *c = pyc__container_of(w, struct check, w);

	(void)k;
	if (st->st_uid != c->uid && !S_ISLNK(st->st_mode))
		find(c, PYC_STORE_FOREIGN, path, NULL, st);
	switch (e) {
	case PYC__SE_OBJECT:
		c->st->objects++;
		verify(c, PYC_STORE_UNSOUND, dfd, name, path, st);
		break;
	case PYC__SE_TEMP:
		find(c, PYC_STORE_TEMP, path, NULL, st);
		break;
	case PYC__SE_OTHER:
		find(c, PYC_STORE_NOT_OURS, path, not_ours_why(st), st);
		break;
	case PYC__SE_LAYOUT:
		break;
	}
}

static void check_walk_error(struct pyc__store_walk *w, const char *path,
			     int errnum)
{
	check_error(pyc__container_of(w, struct check, w), path, errnum);
}

/* The store's root (or its v1) as the store is trusted: no symlink, the
 * effective user's, writable by no one else.  Reported when not. */
static void check_trust(struct check *c, const char *path)
{
	struct stat st;
	char why[96];

	if (lstat(path, &st) < 0) {
		if (errno != ENOENT)
			check_error(c, path, errno);
		return;
	}
	if (S_ISLNK(st.st_mode))
		snprintf(why, sizeof(why), "a symlink");
	else if (!S_ISDIR(st.st_mode))
		snprintf(why, sizeof(why), "not a directory");
	else if (st.st_uid != c->uid)
		snprintf(why, sizeof(why), "owned by uid %lu",
			 (unsigned long)st.st_uid);
	else if (st.st_mode & 022)
		snprintf(why, sizeof(why), "mode %04o: writable by others",
			 (unsigned)(st.st_mode & 07777));
	else
		return;
	find(c, PYC_STORE_UNTRUSTED, path, why, &st);
}

/* Does the open file dfd/name carry the store's digest attribute? */
static bool has_digest(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
			O_NONBLOCK | O_NOATIME);
	bool yes;

	if (fd < 0 && errno == EPERM)
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
			    O_NONBLOCK);
	if (fd < 0)
		return false;
	yes = fgetxattr(fd, PYC_STORE_XATTR, NULL, 0) >= 0;
	close(fd);
	return yes;
}

static void links_file(struct pyc__tree *t, int dfd, const char *name,
		       const char *path, const struct stat *st)
{
	struct check *c = pyc__container_of(t, struct check, links);

	/* Any number of names: a pyc whose object was discarded (it was
	 * unsound) is alone now, and as damaged as before. */
	if (!pyc__ends_with(name, ".pyc") || !has_digest(dfd, name))
		return;
	c->st->links++;
	verify(c, PYC_STORE_LINK_UNSOUND, dfd, name, path, st);
}

static bool links_descend(struct pyc__tree *t, const char *name)
{
	struct check *c = pyc__container_of(t, struct check, links);

	return !pyc__store_skip(t, &c->spot, name);
}

static void links_error(struct pyc__tree *t, const char *path, int errnum)
{
	check_error(pyc__container_of(t, struct check, links), path, errnum);
}

int pyc_store_check(const char *prefix, const char *store,
		    const struct pyc_store_check_ops *ops,
		    struct pyc_store_check_stats *st)
{
	static const struct pyc__tree_ops links_ops = {
		.file = links_file,
		.descend = links_descend,
		.error = links_error,
	};
	struct check c = { .w = { .fn = check_fn, .error = check_walk_error },
			   .ops = ops, .st = st, .uid = geteuid() };
	char *v1 = NULL;
	struct stat pst;
	int ret;

	memset(st, 0, sizeof(*st));
	if (asprintf(&v1, "%s/%s", store, PYC_STORE_VERSION_DIR) < 0) {
		errno = ENOMEM;
		return -1;
	}
	check_trust(&c, store);
	check_trust(&c, v1);
	free(v1);
	ret = pyc__store_walk(&c.w, prefix, store);
	if (ret == 0 && prefix && stat(prefix, &pst) == 0 &&
	    S_ISDIR(pst.st_mode)) {
		pyc__store_spot_init(&c.spot, prefix);
		pyc__tree_init(&c.links, &links_ops, 0);
		ret = pyc__tree_walk(&c.links, prefix);
		pyc__tree_release(&c.links);
	}
	return ret;
}
