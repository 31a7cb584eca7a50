/*
 * atomic.c - the one module that writes into the cache.
 *
 * Directories below the given root are opened one component at a time
 * with O_NOFOLLOW | O_DIRECTORY and created with mkdirat() when missing,
 * so a symlink planted below the root never redirects a write.  The pyc
 * is written to a temporary file in its final directory (created O_EXCL,
 * never following a link) and renamed over the final name with
 * renameat(): readers see the old file or the new one, never a part.
 */
#include "pycprefix.h"
#include "buf.h"
#include "compat.h"
#include "internal.h"
#include "tree.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

/*
 * Temporary names are ".pycprefix-" and 12 lowercase hex digits, whatever
 * the final name: a pyc name may be as long as NAME_MAX (CPython caches a
 * module of 222 characters), so its temporary must not add to it.  Older
 * versions wrote ".NAME.pycprefix-XXXXXXXX"; pyc__is_temp_name() knows both
 * so that prune clears leftovers of either.
 */
#define TMP_TAG ".pycprefix-"
#define TMP_HEX 12

/* May anyone but us (and root) change what the open directory holds? */
static bool trusted(int fd, uid_t uid)
{
	struct stat st;

	return fstat(fd, &st) == 0 && pyc_trust_stat(&st, uid) == PYC_TRUST_OK;
}

/* Open (creating if needed) the directory `rel` below dirfd; rel's last
 * component is the file name and is not opened.  Returns an fd or -1;
 * with PYC_WRITE_STRICT, EPERM for a directory another user controls. */
static int open_parent(int dirfd, const char *rel, const char **name,
		       unsigned flags)
{
	uid_t uid = geteuid();
	int fd = dup(dirfd);
	const char *p = rel;

	if (fd < 0)
		return -1;
	for (;;) {
		const char *slash = strchr(p, '/');
		char part[256];
		size_t n;
		int next;

		if (!slash) {
			*name = p;
			return fd;
		}
		n = (size_t)(slash - p);
		if (n == 0) {
			p = slash + 1;
			continue;
		}
		if (n >= sizeof(part)) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		memcpy(part, p, n);
		part[n] = '\0';
		next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				      O_CLOEXEC);
		if (next < 0 && errno == ENOENT) {
			if (mkdirat(fd, part, 0755) < 0 && errno != EEXIST)
				goto fail;
			next = openat(fd, part, O_RDONLY | O_DIRECTORY |
					      O_NOFOLLOW | O_CLOEXEC);
		}
		if (next < 0) {
			/* O_NOFOLLOW on a symlink: ELOOP (Linux), or
			 * ENOTDIR: say what it is. */
			if (errno == ELOOP)
				errno = ENOTDIR;
			goto fail;
		}
		if ((flags & PYC_WRITE_STRICT) && !trusted(next, uid)) {
			close(next);
			errno = EPERM;
			goto fail;
		}
		close(fd);
		fd = next;
		p = slash + 1;
	}
fail:
	{
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
}

/* A temporary name, another at each call. */
static int temp_name(char *tmp, size_t size)
{
	static _Atomic unsigned long counter;
	struct timespec ts;
	uint64_t r;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	r = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 24) ^
	    (uint64_t)(++counter * 0x9E3779B97F4A7C15u);
	n = snprintf(tmp, size, TMP_TAG "%0*" PRIx64, TMP_HEX,
		     (uint64_t)(r & 0xFFFFFFFFFFFFu));
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Create a fresh temporary file in dirfd (for any name). */
static int open_temp(int dirfd, unsigned mode, char *tmp, size_t size)
{
	for (int tries = 0; tries < 100; tries++) {
		if (temp_name(tmp, size) < 0)
			return -1;
		int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
					    O_NOFOLLOW | O_CLOEXEC,
				(mode_t)(mode & 0666));
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int open_root(const char *dir)
{
	return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Put the complete temporary file in place: renamed over `name`, or
 * with PYC_WRITE_NOREPLACE linked as `name` only if nothing has it yet
 * (EEXIST otherwise) and then unlinked (a portable no-clobber rename). */
static int publish(int pfd, const char *tmp, const char *name,
		   unsigned flags)
{
	if (!(flags & PYC_WRITE_NOREPLACE))
		return renameat(pfd, tmp, pfd, name);
	if (linkat(pfd, tmp, pfd, name, 0) < 0)
		return -1;
	unlinkat(pfd, tmp, 0);
	return 0;
}

/* Write data as `name` in the open directory pfd, atomically; attr (when
 * not NULL) is set on the temporary file before it gets its name, and
 * st (when not NULL) gets the file's fstat. */
static int write_in(int pfd, const char *name, const void *data, size_t len,
		    unsigned mode, unsigned flags, const struct pyc__attr *attr,
		    struct stat *st)
{
	char tmp[512];
	int fd, saved;

	if ((fd = open_temp(pfd, mode, tmp, sizeof(tmp))) < 0)
		return -1;
	if (write_all(fd, data, len) < 0 ||
	    (attr && fsetxattr(fd, attr->name, attr->value, attr->len, 0) < 0) ||
	    (st && fstat(fd, st) < 0)) {
		saved = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) < 0 || publish(pfd, tmp, name, flags) < 0) {
		saved = errno;
		goto fail;
	}
	return 0;
fail:
	unlinkat(pfd, tmp, 0);
	errno = saved;
	return -1;
}

int pyc__write_atomic_at(int dirfd, const char *rel, const void *data,
			size_t len, unsigned mode, unsigned flags,
			const struct pyc__attr *attr, struct stat *st)
{
	const char *name;
	int pfd = open_parent(dirfd, rel, &name, flags), ret, saved;

	if (pfd < 0)
		return -1;
	ret = write_in(pfd, name, data, len, mode, flags, attr, st);
	saved = errno;
	close(pfd);
	errno = saved;
	return ret;
}

/* ---- the last directory written into, kept ---- */

void pyc__wdir_release(struct pyc__wdir *w)
{
	if (w->fd >= 0)
		close(w->fd);
	pyc__buf_release(&w->key);
	w->fd = -1;
}

/* w's key for rel below dir: dir NUL rel's directory NUL flags. */
static bool wdir_key(struct buf *key, const char *dir, const char *rel,
		     const char *name, unsigned flags)
{
	char f[16];

	pyc__buf_reset(key);
	pyc__buf_adds(key, dir);
	pyc__buf_addc(key, '\0');
	pyc__buf_add(key, rel, (size_t)(name - rel));
	snprintf(f, sizeof(f), "%u", flags);
	pyc__buf_addc(key, '\0');
	pyc__buf_adds(key, f);
	return !key->oom;
}

/*
 * The open directory of rel (below dir) and rel's last component: w's
 * when it is the one opened last (and still in the tree: a directory
 * removed since, by a prune, has no links), else opened from dir as
 * pyc__write_atomic() opens it, and kept in w.  *owned says whether
 * the caller closes it.
 */
static int wdir_open(struct pyc__wdir *w, const char *dir, const char *rel,
		     const char **name, unsigned flags, bool *owned)
{
	const char *slash = strrchr(rel, '/');
	struct buf key = { 0 };
	struct stat st;
	int root, pfd, saved;

	*name = slash ? slash + 1 : rel;
	*owned = true;
	if (w && wdir_key(&key, dir, rel, *name, flags) && w->fd >= 0 &&
	    key.len == w->key.len && memcmp(key.s, w->key.s, key.len) == 0 &&
	    fstat(w->fd, &st) == 0 && st.st_nlink > 0) {
		pyc__buf_release(&key);
		*owned = false;
		return w->fd;
	}
	if ((root = open_root(dir)) < 0) {
		pyc__buf_release(&key);
		return -1;
	}
	pfd = open_parent(root, rel, name, flags);
	saved = errno;
	close(root);
	if (pfd >= 0 && w && !key.oom) {
		pyc__wdir_release(w);
		w->key = key;
		w->fd = pfd;
		*owned = false;
		return pfd;
	}
	pyc__buf_release(&key);
	errno = saved;
	return pfd;
}

int pyc__write_atomic_w(struct pyc__wdir *w, const char *dir,
			const char *rel, const void *data, size_t len,
			unsigned mode, unsigned flags)
{
	const char *name;
	bool owned;
	int pfd = wdir_open(w, dir, rel, &name, flags, &owned), ret, saved;

	if (pfd < 0)
		return -1;
	ret = write_in(pfd, name, data, len, mode, flags, NULL, NULL);
	saved = errno;
	if (owned)
		close(pfd);
	errno = saved;
	return ret;
}

int pyc__write_atomic(const char *dir, const char *rel, const void *data,
		     size_t len, unsigned mode, unsigned flags)
{
	int root = open_root(dir), ret, saved;

	if (root < 0)
		return -1;
	ret = pyc__write_atomic_at(root, rel, data, len, mode, flags, NULL,
				   NULL);
	saved = errno;
	close(root);
	errno = saved;
	return ret;
}

/* Read a whole regular file from dfd/name without following a link. */
static char *read_at(int dfd, const char *name, size_t *len, struct stat *st)
{
	int fd = pyc__open_noatime(dfd, name, O_NOFOLLOW);
	char *data = NULL;
	ssize_t n;
	int saved;

	if (fd < 0)
		return NULL;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode))
		goto fail;
	if (!(data = malloc((size_t)st->st_size + 1)))
		goto fail;
	n = pyc__read_full(fd, data, (size_t)st->st_size);
	if (n != st->st_size)
		goto fail;
	close(fd);
	*len = (size_t)n;
	return data;
fail:
	saved = errno ? errno : EIO;
	free(data);
	close(fd);
	errno = saved;
	return NULL;
}

int pyc__move_atomic(int src_dfd, const char *src_name, const char *dir,
		    const char *rel, unsigned flags)
{
	const char *name;
	struct stat st;
	size_t len;
	char *data;
	int root = open_root(dir), pfd = -1, ret = -1, saved;

	if (root < 0)
		return -1;
	if ((pfd = open_parent(root, rel, &name, flags)) < 0)
		goto out;
	if (renameat(src_dfd, src_name, pfd, name) == 0) {
		ret = 0;
		goto out;
	}
	if (errno != EXDEV)
		goto out;
	/* Another file system: copy whole, then remove the original, if
	 * it is still the file copied: one put in its place meanwhile
	 * stays. */
	if (!(data = read_at(src_dfd, src_name, &len, &st)))
		goto out;
	ret = write_in(pfd, name, data, len, (unsigned)(st.st_mode & 0666),
		       0, NULL, NULL);
	free(data);
	if (ret == 0 && pyc__unlink_same(src_dfd, src_name, &st, false) < 0)
		ret = -1;
out:
	saved = errno;
	if (pfd >= 0)
		close(pfd);
	close(root);
	errno = saved;
	return ret;
}

/*
 * Link tdfd/tname as `name` in pfd, atomically replacing what is there:
 * linked to a fresh temporary name, checked (when `expect` is given) to
 * be the file expected (pyc__same_file(): an inode number alone may
 * have been freed and given to a new file), renamed over `name`.  When `name` already is
 * that file, rename() does nothing and leaves the temporary name: it is
 * removed either way.
 */
static int link_in(int tdfd, const char *tname, const struct stat *expect,
		   int pfd, const char *name)
{
	char tmp[512];
	struct stat st;
	int saved;

	for (int tries = 0;; tries++) {
		/* linkat() never replaces: a name taken is EEXIST, and
		 * another one is drawn. */
		if (temp_name(tmp, sizeof(tmp)) < 0)
			return -1;
		if (linkat(tdfd, tname, pfd, tmp, 0) == 0)
			break;
		if (errno != EEXIST || tries > 100)
			return -1;
	}
	if (expect && (fstatat(pfd, tmp, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		       !pyc__same_file(expect, &st))) {
		saved = ESTALE;
		goto fail;
	}
	if (renameat(pfd, tmp, pfd, name) < 0) {
		saved = errno;
		goto fail;
	}
	unlinkat(pfd, tmp, 0); /* ENOENT unless name was the same file */
	return 0;
fail:
	unlinkat(pfd, tmp, 0);
	errno = saved;
	return -1;
}

int pyc__link_atomic(const char *dir, const char *target_rel, const char *rel,
		    unsigned flags)
{
	const char *name, *tname;
	int root = open_root(dir), pfd = -1, tfd = -1, ret = -1, saved;

	if (root < 0)
		return -1;
	if ((pfd = open_parent(root, rel, &name, flags)) >= 0 &&
	    (tfd = open_parent(root, target_rel, &tname, flags)) >= 0)
		ret = link_in(tfd, tname, NULL, pfd, name);
	saved = errno;
	if (tfd >= 0)
		close(tfd);
	if (pfd >= 0)
		close(pfd);
	close(root);
	errno = saved;
	return ret;
}

int pyc__link_from(struct pyc__wdir *w, int src_dfd, const char *src_name,
		   const struct stat *expect, const char *dir, const char *rel,
		   unsigned flags)
{
	const char *name;
	bool owned;
	int pfd = wdir_open(w, dir, rel, &name, flags, &owned), ret, saved;

	if (pfd < 0)
		return -1;
	ret = link_in(src_dfd, src_name, expect, pfd, name);
	saved = errno;
	if (owned)
		close(pfd);
	errno = saved;
	return ret;
}

ssize_t pyc__write_symlink(const char *dir, const char *rel)
{
	int fd = open_root(dir);
	ssize_t found = 0;

	if (fd < 0)
		return -1;
	for (const char *p = rel, *slash; (slash = strchr(p, '/'));
	     p = slash + 1) {
		size_t n = (size_t)(slash - p);
		char part[256];
		struct stat st;
		int next;

		if (n == 0)
			continue;
		if (n >= sizeof(part))
			break;
		memcpy(part, p, n);
		part[n] = '\0';
		if (fstatat(fd, part, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    (!S_ISLNK(st.st_mode) && !S_ISDIR(st.st_mode)))
			break;
		if (S_ISLNK(st.st_mode)) {
			found = slash - rel;
			break;
		}
		next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				      O_CLOEXEC);
		if (next < 0)
			break;
		close(fd);
		fd = next;
	}
	close(fd);
	return found;
}

bool pyc__is_temp_name(const char *name)
{
	const char *tag = strstr(name, ".pyc" TMP_TAG);
	const char *dot;
	size_t n;

	if (strncmp(name, TMP_TAG, strlen(TMP_TAG)) == 0) {
		const char *hex = name + strlen(TMP_TAG);
		return strlen(hex) == TMP_HEX &&
		       strspn(hex, "0123456789abcdef") == TMP_HEX;
	}
	if (name[0] == '.' && tag) {
		const char *hex = tag + strlen(".pyc" TMP_TAG);
		return strlen(hex) == 8 && strspn(hex, "0123456789abcdef") == 8;
	}
	/* importlib's _write_atomic: f'{path}.{id(path)}' */
	dot = strrchr(name, '.');
	if (!dot || dot == name)
		return false;
	n = strspn(dot + 1, "0123456789");
	return n && !dot[1 + n] && (size_t)(dot - name) >= 4 &&
	       strncmp(dot - 4, ".pyc", 4) == 0;
}
