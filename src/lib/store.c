/*
 * store.c - the shared bytecode store: objects named by what decides
 * their bytes, verified on every read (see store.h for the layout and
 * the rules).
 */
#include "pycprefix.h"
#include "buf.h"
#include "internal.h"
#include "store.h"
#include "tree.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define IDENTITY_MAGIC "pycprefix-store-compiler-1"
/* A run refreshes an object's mtime when it uses one older than this:
 * prune's measure of use, without a write per read. */
#define USE_REFRESH_S (24 * 3600)

/* ---- digests ---- */

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

/* Fetched once: EVP_sha256() would fetch it again on every digest. */
static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void pyc__sha256(const void *p, size_t len, unsigned char out[32])
{
	unsigned int n = 32;

	pthread_once(&sha256_once, sha256_fetch);
	if (!EVP_Digest(p, len, out, &n,
			sha256_md ? sha256_md : EVP_sha256(), NULL))
		memset(out, 0, 32); /* matches no object: a miss */
}

static void hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool unhex_n(const char *s, size_t n, unsigned char *out)
{
	for (size_t i = 0; i < n; i++) {
		int hi = unhex(s[2 * i]), lo = unhex(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

/* ---- where it is ---- */

char *pyc_store_default_dir(void)
{
	return pyc__cache_home_path("pycprefix-store");
}

char *pyc_store_prefix_dir(const char *prefix)
{
	struct buf b = { 0 };

	pyc__buf_adds(&b, prefix);
	if (!b.len || b.s[b.len - 1] != '/')
		pyc__buf_addc(&b, '/');
	pyc__buf_adds(&b, PYC_STORE_IN_PREFIX);
	return pyc__buf_detach(&b);
}

/* ---- opening ---- */

/* The umask, without changing it even for a moment when the kernel
 * says it (Linux 4.7 and later). */
static mode_t current_umask(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[128];
	unsigned m;
	mode_t old;

	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "Umask: %o", &m) == 1) {
				fclose(f);
				return (mode_t)m;
			}
		fclose(f);
	}
	old = umask(022);
	umask(old);
	return old;
}

/* Is the open directory fd (path/sub) ours alone?  EPERM with why when
 * not: its objects become the pycs of every tree linked to them. */
static int owner_only(int fd, const char *path, const char *sub,
		      struct pyc_error *err, unsigned flags)
{
	const char *slash = sub[0] ? "/" : "";
	struct stat st;

	if (fstat(fd, &st) < 0)
		return pyc__error(err, errno, "cannot examine the store "
				  "'%s%s%s': %s", path, slash, sub,
				  strerror(errno));
	if (flags & PYC__STORE_INSECURE)
		return 0;
	if (st.st_uid != geteuid())
		return pyc__error(err, EPERM, "the store '%s%s%s' is owned by "
				  "uid %u, not by this user (uid %u): refused "
				  "(use a store of your own)", path, slash, sub,
				  (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & 022)
		return pyc__error(err, EPERM, "the store '%s%s%s' is writable "
				  "by others (mode %03o): refused (chmod go-w "
				  "it)", path, slash, sub,
				  (unsigned)(st.st_mode & 0777));
	return 0;
}

/* Open the directory `name` in dfd (AT_FDCWD: a path), creating it 0700
 * when asked; never through a symlink. */
static int open_dir(int dfd, const char *name, bool create)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				   O_CLOEXEC);

	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(dfd, name, 0700) < 0 && errno != EEXIST)
			return -1;
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				       O_CLOEXEC);
	}
	if (fd < 0 && errno == ELOOP)
		errno = ENOTDIR; /* a symlink */
	return fd;
}

/* Can files in fd carry our attribute?  A probe file, never named. */
static int xattr_works(int fd, const char *path, struct pyc_error *err)
{
	static const unsigned char probe[32];
	char name[] = "xattr-probe";
	int ret = pyc__write_atomic_at(fd, name, "", 0, 0600, 0,
				       &(struct pyc__attr){ PYC_STORE_XATTR,
							    probe, 32 },
				       NULL);

	if (ret < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP))
		return pyc__error(err, ENOTSUP, "the file system of the "
				  "store '%s' keeps no extended attributes, "
				  "which the store needs", path);
	if (ret < 0)
		return pyc__error(err, errno, "cannot write into the store "
				  "'%s': %s", path, strerror(errno));
	unlinkat(fd, name, 0);
	return 0;
}

static bool parent_tagged(const char *path)
{
	char *parent = strdup(path), *slash;
	bool tagged = false;

	if (parent && (slash = strrchr(parent, '/')) && slash != parent) {
		*slash = '\0';
		tagged = pyc_prefix_tagged(parent);
	}
	free(parent);
	return tagged;
}

/* Why the store's root could not be opened: a symlink or a file there
 * says what to do. */
static void open_failed(const char *path, struct pyc_error *err)
{
	int saved = errno;
	struct stat st;

	if (saved == ENOTDIR && lstat(path, &st) == 0)
		pyc__error(err, ENOTDIR, "the store '%s' is %s, not a "
			   "directory: remove it (or use --no-store)", path,
			   S_ISLNK(st.st_mode) ? "a symlink" : "a file");
	else
		pyc__error(err, saved, "cannot open the store '%s': %s", path,
			   strerror(saved));
}

static int make_root(const char *path, struct pyc_error *err)
{
	char *parent = strdup(path), *slash;
	int ret = 0;

	if (!parent)
		return pyc__error(err, ENOMEM, "out of memory");
	if ((slash = strrchr(parent, '/')) && slash != parent) {
		*slash = '\0';
		if (pyc__mkdir_p(parent, 0700) < 0)
			ret = pyc__error(err, errno, "cannot create '%s': %s",
					 parent, strerror(errno));
	}
	free(parent);
	return ret;
}

int pyc__store_open(struct pyc__store *s, const char *path, unsigned flags,
		    struct pyc_error *err)
{
	bool create = flags & PYC__STORE_CREATE;
	int root = -1;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->flags = flags;
	/* The directories above it, as a prefix's: another user who could
	 * swap one could give it objects. */
	if (!(flags & PYC__STORE_INSECURE) &&
	    pyc_trust_path(path, geteuid(), NULL, NULL) > 0) {
		pyc__error(err, EPERM, "a directory above the store '%s' is "
			   "another user's or writable by others: refused "
			   "(use a store of your own)", path);
		return -1;
	}
	if (create && make_root(path, err) < 0)
		return -1;
	if ((root = open_dir(AT_FDCWD, path, create)) < 0) {
		open_failed(path, err);
		goto fail;
	}

	if (owner_only(root, path, "", err, flags) < 0)
		goto fail;
	if (create && !parent_tagged(path))
		/* best effort: backups skip it (inside a prefix, they
		 * skip the prefix already) */
		pyc__write_atomic_at(root, PYC_CACHEDIR_TAG_NAME,
				     PYC_CACHEDIR_TAG,
				     strlen(PYC_CACHEDIR_TAG), 0644,
				     PYC_WRITE_NOREPLACE, NULL, NULL);
	if ((s->fd = open_dir(root, PYC_STORE_VERSION_DIR, create)) < 0) {
		pyc__error(err, errno, "cannot open the store '%s/%s': %s",
			   path, PYC_STORE_VERSION_DIR, strerror(errno));
		goto fail;
	}
	if (owner_only(s->fd, path, PYC_STORE_VERSION_DIR, err, flags) < 0 ||
	    (create && xattr_works(s->fd, path, err) < 0))
		goto fail;
	struct stat st;
	if (fstat(s->fd, &st) < 0) {
		pyc__error(err, errno, "cannot examine the store '%s': %s",
			   path, strerror(errno));
		goto fail;
	}
	s->dev = st.st_dev;
	s->umask = current_umask();
	if (!(s->path = strdup(path))) {
		pyc__error(err, ENOMEM, "out of memory");
		goto fail;
	}
	close(root);
	return 0;
fail:
	{
		int saved = errno;
		if (root >= 0)
			close(root);
		pyc__store_close(s);
		errno = saved;
	}
	return -1;
}

void pyc__store_close(struct pyc__store *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->path);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

/* ---- compilers ---- */

char *pyc__store_identity(const struct pyc_interp *in, const char *hash_seed)
{
	struct buf b = { 0 };
	char magic[8];

	snprintf(magic, sizeof(magic), "%04x", (unsigned)in->magic);
	pyc__buf_adds(&b, IDENTITY_MAGIC "\n");
	pyc__buf_adds(&b, in->impl ? in->impl : "");
	pyc__buf_addc(&b, '\n');
	pyc__buf_adds(&b, in->build ? in->build : "");
	pyc__buf_addc(&b, '\n');
	pyc__buf_adds(&b, magic);
	pyc__buf_addc(&b, '\n');
	pyc__buf_adds(&b, hash_seed ? hash_seed : "");
	pyc__buf_addc(&b, '\n');
	return pyc__buf_detach(&b);
}

int pyc__store_compiler(const struct pyc__store *s,
			const struct pyc_interp *in,
			struct pyc__store_comp *c)
{
	bool create = s->flags & PYC__STORE_CREATE;
	char *ident;
	unsigned char d[32];
	char h[33];
	int n;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->s = s;
	c->magic = in->magic;
	if (!in->build || !in->tag) {
		errno = EINVAL; /* not probed as a 3.8+ CPython */
		return -1;
	}
	if (!(ident = pyc__store_identity(in, pyc__pool_hash_seed())))
		return -1;
	pyc__sha256(ident, strlen(ident), d);
	hex(d, 8, h);
	n = snprintf(c->id, sizeof(c->id), "%s-%s", in->tag, h);
	if (n < 0 || (size_t)n >= sizeof(c->id) || strchr(in->tag, '/')) {
		free(ident);
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((c->fd = open_dir(s->fd, c->id, create)) < 0 ||
	    owner_only(c->fd, s->path, c->id, NULL, s->flags) < 0) {
		int saved = errno;
		free(ident);
		pyc__store_compiler_close(c);
		errno = saved;
		return -1;
	}
	if (create)
		pyc__write_atomic_at(c->fd, PYC_STORE_IDENTITY, ident,
				     strlen(ident), 0644, PYC_WRITE_NOREPLACE,
				     NULL, NULL); /* what it is, for doctor */
	free(ident);
	return 0;
}

void pyc__store_compiler_close(struct pyc__store_comp *c)
{
	if (c->fd >= 0)
		close(c->fd);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* ---- names ---- */

void pyc__store_key(struct pyc__store_key *k, const unsigned char digest[32],
		    int level, enum pyc_invalidation mode, uint32_t mtime,
		    uint32_t size)
{
	memcpy(k->digest, digest, 32);
	k->level = level;
	k->has_hash = false;
	if (mode == PYC_INV_CHECKED_HASH)
		snprintf(k->form, sizeof(k->form), "c");
	else if (mode == PYC_INV_UNCHECKED_HASH)
		snprintf(k->form, sizeof(k->form), "u");
	else
		snprintf(k->form, sizeof(k->form), "t%08x%08x",
			 (unsigned)mtime, (unsigned)size);
}

void pyc__store_key_expect_hash(struct pyc__store_key *k,
				const unsigned char hash[8])
{
	memcpy(k->hash, hash, 8);
	k->has_hash = true;
}

void pyc__store_key_name(const struct pyc__store_key *k, char *out,
			 size_t size)
{
	char h[65];

	hex(k->digest, 32, h);
	snprintf(out, size, "%.2s/%s.%d.%s", h, h + 2, k->level, k->form);
}

static bool form_ok(const char *f)
{
	if (!strcmp(f, "c") || !strcmp(f, "u"))
		return true;
	if (f[0] != 't' || strlen(f) != 17)
		return false;
	for (const char *p = f + 1; *p; p++)
		if (unhex(*p) < 0)
			return false;
	return true;
}

bool pyc__store_parse_name(const char *fan, const char *name,
			   struct pyc__store_key *k)
{
	char h[65];
	size_t n = strlen(name);

	if (fan && (strlen(fan) != 2 || !unhex_n(fan, 1, k->digest)))
		return false;
	/* 62 hex "." level "." form */
	if (n < 66 || name[62] != '.' || name[64] != '.' ||
	    name[63] < '0' || name[63] > '2' || !form_ok(name + 65))
		return false;
	if (fan) {
		memcpy(h, fan, 2);
		memcpy(h + 2, name, 62);
	} else {
		memcpy(h, "00", 2);
		memcpy(h + 2, name, 62);
	}
	if (!unhex_n(h, 32, k->digest))
		return false;
	k->level = name[63] - '0';
	snprintf(k->form, sizeof(k->form), "%s", name + 65);
	return true;
}

/* The pyc header's flags and fields a form asks for. */
static bool header_fits(const struct pyc__store_comp *c,
			const struct pyc__store_key *k,
			const unsigned char *p, size_t len)
{
	uint32_t flags;

	if (len < PYC_HEADER_SIZE || (p[0] | p[1] << 8) != c->magic ||
	    p[2] != '\r' || p[3] != '\n')
		return false;
	flags = pyc__get_u32le(p + 4);
	if (k->form[0] == 'c' || k->form[0] == 'u')
		return flags == (k->form[0] == 'c' ? 3u : 1u) &&
		       (!k->has_hash || memcmp(p + 8, k->hash, 8) == 0);
	char want[17];
	snprintf(want, sizeof(want), "%08x%08x",
		 (unsigned)pyc__get_u32le(p + 8),
		 (unsigned)pyc__get_u32le(p + 12));
	return flags == 0 && strcmp(want, k->form + 1) == 0;
}

/* ---- reading ---- */

void pyc__store_obj_release(struct pyc__store_obj *o)
{
	free(o->data);
	memset(o, 0, sizeof(*o));
}

/*
 * Read the open file fd whole and check it against its attribute:
 * 0 sound (o filled), 1 not (why), -1 error.
 */
static int read_verified(int fd, struct pyc__store_obj *o, char *why,
			 size_t size)
{
	unsigned char want[32], got[32];
	ssize_t n;

	if (fstat(fd, &o->st) < 0)
		return -1;
	if (!S_ISREG(o->st.st_mode)) {
		snprintf(why, size, "not a regular file");
		return 1;
	}
	if (o->st.st_uid != geteuid()) {
		snprintf(why, size, "owned by uid %u", (unsigned)o->st.st_uid);
		return 1;
	}
	if ((uint64_t)o->st.st_size > PYC_STORE_MAX_OBJECT) {
		snprintf(why, size, "larger than any object");
		return 1;
	}
	n = fgetxattr(fd, PYC_STORE_XATTR, want, sizeof(want));
	if (n != 32) {
		snprintf(why, size, n < 0 && errno != ERANGE
				  ? "it has no digest attribute"
				  : "its digest attribute is not one");
		return 1;
	}
	if (!(o->data = malloc((size_t)o->st.st_size + 1)))
		return -1;
	n = pyc__read_full(fd, o->data, (size_t)o->st.st_size + 1);
	if (n < 0)
		return -1;
	o->len = (size_t)n;
	pyc__sha256(o->data, o->len, got);
	if (o->len != (size_t)o->st.st_size || memcmp(got, want, 32) != 0) {
		snprintf(why, size, "its content does not match its digest");
		return 1;
	}
	return 0;
}

/* Open the fan directory of name ("fan/object") in c's directory. */
static int open_fan(const struct pyc__store_comp *c, const char *name,
		    bool create)
{
	char fan[3] = { name[0], name[1], '\0' };

	return open_dir(c->fd, fan, create);
}

/* A run used the object: say so where prune looks, once a day (st is
 * then measured again, for pyc__store_link()'s check). */
static void mark_used(int fd, struct stat *st)
{
	if (time(NULL) - st->st_mtime > USE_REFRESH_S &&
	    futimens(fd, NULL) == 0)
		fstat(fd, st);
}

/* Something that is no file at an object's name: a symlink, a FIFO, a
 * device goes (the name, never what it points to); an empty directory
 * too; anything else stays, reported. */
static void discard_odd(int dfd, const char *name)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (S_ISDIR(st.st_mode))
		unlinkat(dfd, name, AT_REMOVEDIR);
	else
		unlinkat(dfd, name, 0);
}

int pyc__store_get(const struct pyc__store_comp *c,
		   const struct pyc__store_key *k, struct pyc__store_obj *o,
		   char *why, size_t size)
{
	char name[96];
	int dfd, fd, r, saved;

	memset(o, 0, sizeof(*o));
	pyc__store_key_name(k, name, sizeof(name));
	if ((dfd = open_fan(c, name, false)) < 0)
		return errno == ENOENT ? PYC__STORE_MISS : -1;
	fd = pyc__open_noatime(dfd, name + 3, O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		saved = errno;
		if (saved == ELOOP || saved == PYC_ENOTREG || saved == EISDIR) {
			snprintf(why, size, saved == ELOOP ? "a symlink"
					    : "not a regular file");
			discard_odd(dfd, name + 3);
			close(dfd);
			return PYC__STORE_BAD;
		}
		close(dfd);
		errno = saved;
		return saved == ENOENT ? PYC__STORE_MISS : -1;
	}
	r = read_verified(fd, o, why, size);
	if (r == 0 && !header_fits(c, k, o->data, o->len)) {
		snprintf(why, size, "its header does not fit its name");
		r = 1;
	}
	if (r == 1 && S_ISREG(o->st.st_mode) && o->st.st_nlink > 1) {
		size_t n = strlen(why);
		snprintf(why + n, size - n, "; %lu pyc%s share%s its bytes: "
			 "'pycprefix doctor' names them",
			 (unsigned long)(o->st.st_nlink - 1),
			 o->st.st_nlink == 2 ? "" : "s",
			 o->st.st_nlink == 2 ? "s" : "");
	}
	if (r == 0)
		mark_used(fd, &o->st);
	saved = errno;
	close(fd);
	if (r == 1) {
		/* discard it, if it is still the file read */
		pyc__unlink_same(dfd, name + 3, &o->st, false);
		pyc__store_obj_release(o);
	} else if (r < 0) {
		pyc__store_obj_release(o);
	}
	close(dfd);
	errno = saved;
	return r < 0 ? -1 : r == 1 ? PYC__STORE_BAD : PYC__STORE_HIT;
}

int pyc__store_verify_at(int dfd, const char *name, char *why, size_t size)
{
	struct pyc__store_obj o = { 0 };
	int fd = pyc__open_noatime(dfd, name, O_NOFOLLOW | O_NONBLOCK), r;

	if (fd < 0) {
		if (errno != ELOOP && errno != PYC_ENOTREG && errno != EISDIR)
			return -1;
		snprintf(why, size, errno == ELOOP ? "a symlink"
				    : "not a regular file");
		return 1;
	}
	r = read_verified(fd, &o, why, size);
	pyc__store_obj_release(&o);
	close(fd);
	return r;
}

/* ---- writing ---- */

int pyc__store_put(const struct pyc__store_comp *c,
		   const struct pyc__store_key *k, const void *data,
		   size_t len, unsigned mode, bool *existed, struct stat *st)
{
	unsigned char d[32];
	char name[96];
	const struct pyc__attr attr = { PYC_STORE_XATTR, d, sizeof(d) };

	*existed = false;
	pyc__sha256(data, len, d);
	pyc__store_key_name(k, name, sizeof(name));
	if (pyc__write_atomic_at(c->fd, name, data, len, mode,
				 PYC_WRITE_STRICT | PYC_WRITE_NOREPLACE,
				 &attr, st) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	*existed = true;
	return 0;
}

int pyc__store_link(const struct pyc__store_comp *c,
		    const struct pyc__store_key *k,
		    const struct pyc__store_obj *o, struct pyc__wdir *w,
		    const char *dir, const char *rel, unsigned flags)
{
	char name[96];
	int dfd, ret, saved;

	pyc__store_key_name(k, name, sizeof(name));
	if ((dfd = open_fan(c, name, false)) < 0)
		return -1;
	ret = pyc__link_from(w, dfd, name + 3, &o->st, dir, rel, flags);
	saved = errno;
	close(dfd);
	errno = saved;
	return ret;
}

int pyc__store_remove(const struct pyc__store_comp *c,
		      const struct pyc__store_key *k, const struct stat *st)
{
	char name[96];
	int dfd, ret, saved;

	pyc__store_key_name(k, name, sizeof(name));
	if ((dfd = open_fan(c, name, false)) < 0)
		return -1;
	ret = pyc__unlink_same(dfd, name + 3, st, false);
	saved = errno;
	close(dfd);
	errno = saved;
	return ret < 0 ? -1 : 0;
}

bool pyc__store_mode_fits(const struct pyc__store *s,
			  const struct pyc__store_obj *o, unsigned mode)
{
	return (o->st.st_mode & 07777) == (mode & 0666 & ~s->umask);
}
