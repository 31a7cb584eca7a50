/*
 * store_names.c - a stand-in, until store.c lands on main, for the
 * object names and verification of store.h that the store's lifecycle
 * (store_tidy.c) needs.  Same signatures as store.h; dropped at the
 * merge of store.c.
 */
#include "pycprefix.h"
#include "store.h"
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

void pyc__sha256(const void *p, size_t len, unsigned char out[32])
{
	unsigned int n = 32;

	EVP_Digest(p, len, out, &n, EVP_sha256(), NULL);
}

void pyc__store_key(struct pyc__store_key *k, const unsigned char digest[32],
		    int level, enum pyc_invalidation mode, uint32_t mtime,
		    uint32_t size)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->digest, digest, 32);
	k->level = level;
	if (mode == PYC_INV_CHECKED_HASH)
		k->form[0] = 'c';
	else if (mode == PYC_INV_UNCHECKED_HASH)
		k->form[0] = 'u';
	else
		snprintf(k->form, sizeof(k->form), "t%08x%08x",
			 (unsigned)mtime, (unsigned)size);
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

void pyc__store_key_name(const struct pyc__store_key *k, char *out,
			 size_t size)
{
	char h[65];

	hex(k->digest, 32, h);
	snprintf(out, size, "%.2s/%s.%d.%s", h, h + 2, k->level, k->form);
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool parse_hex(const char *s, size_t n, unsigned char *out)
{
	for (size_t i = 0; i < n; i += 2) {
		int a = unhex(s[i]), b = unhex(s[i + 1]);
		if (a < 0 || b < 0)
			return false;
		out[i / 2] = (unsigned char)(a << 4 | b);
	}
	return true;
}

bool pyc__store_parse_name(const char *fan, const char *name,
			   struct pyc__store_key *k)
{
	const char *slash;
	size_t flen;

	memset(k, 0, sizeof(*k));
	if (!fan && (slash = strchr(name, '/'))) {
		if (slash - name != 2)
			return false;
		fan = name;
		name = slash + 1;
	}
	if (fan && ((fan[2] && fan[2] != '/') || !parse_hex(fan, 2, k->digest)))
		return false;
	if (strlen(name) < 62 + 4 || !parse_hex(name, 62, k->digest + 1) ||
	    name[62] != '.' || name[63] < '0' || name[63] > '2' ||
	    name[64] != '.')
		return false;
	k->level = name[63] - '0';
	name += 65;
	flen = strlen(name);
	if (!strcmp(name, "c") || !strcmp(name, "u")) {
		k->form[0] = name[0];
		return true;
	}
	if (flen != 17 || name[0] != 't')
		return false;
	for (size_t i = 1; i < flen; i++)
		if (unhex(name[i]) < 0)
			return false;
	memcpy(k->form, name, flen + 1);
	return true;
}

int pyc__store_verify_at(int dfd, const char *name, char *why, size_t size)
{
	unsigned char want[33], got[32];
	unsigned char *data = NULL;
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd, ret = -1;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
		    O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
			    O_NONBLOCK);
	if (fd < 0) {
		if (errno != ELOOP)
			return -1;
		snprintf(why, size, "a symlink");
		return 1;
	}
	if (fstat(fd, &st) < 0)
		goto out;
	ret = 1;
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, size, "not a regular file");
		goto out;
	}
	if (st.st_size > (off_t)PYC_STORE_MAX_OBJECT) {
		snprintf(why, size, "larger than any object");
		goto out;
	}
	n = fgetxattr(fd, PYC_STORE_XATTR, want, sizeof(want));
	if (n != 32) {
		snprintf(why, size, "no content digest");
		goto out;
	}
	ret = -1;
	if (!(data = malloc((size_t)st.st_size + 1)))
		goto out;
	while ((n = read(fd, data + len, (size_t)st.st_size + 1 - len)) > 0)
		len += (size_t)n;
	if (n < 0)
		goto out;
	pyc__sha256(data, len, got);
	ret = memcmp(got, want, 32) != 0;
	if (ret)
		snprintf(why, size, "its content does not match its digest");
out:
	free(data);
	close(fd);
	return ret;
}

char *pyc_store_prefix_dir(const char *prefix)
{
	char *s;

	if (asprintf(&s, "%s%s" PYC_STORE_IN_PREFIX, prefix,
		     prefix[0] && prefix[strlen(prefix) - 1] == '/' ? "" : "/") < 0) {
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

char *pyc_store_default_dir(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char *s = NULL;
	int r;

	if (xdg && xdg[0] == '/')
		r = asprintf(&s, "%s/pycprefix/store", xdg);
	else if (home && home[0])
		r = asprintf(&s, "%s/.cache/pycprefix/store", home);
	else {
		errno = ENOENT;
		return NULL;
	}
	if (r < 0) {
		errno = ENOMEM;
		return NULL;
	}
	return s;
}
