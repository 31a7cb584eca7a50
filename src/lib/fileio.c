/*
 * fileio.c - small reading helpers.
 */
#include "pycprefix.h"
#include "internal.h"
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* pycprefix's looks at a pyc must not pass for use (prune's
 * --older-than and --max-size read access times): O_NOATIME, which the
 * kernel grants the file's owner and CAP_FOWNER only; for anyone else
 * (EPERM) the plain open is still better than no look at all. */
int pyc__open_noatime(int dfd, const char *path, int flags)
{
	int fd = openat(dfd, path, flags | O_RDONLY | O_CLOEXEC | O_NOATIME);

	if (fd < 0 && errno == EPERM && O_NOATIME)
		fd = openat(dfd, path, flags | O_RDONLY | O_CLOEXEC);
	return fd;
}

int pyc_open_pyc(const char *path)
{
	return pyc__open_noatime(AT_FDCWD, path, 0);
}

ssize_t pyc__read_full(int fd, void *p, size_t cap)
{
	size_t got = 0;

	while (got < cap) {
		ssize_t n = read(fd, (char *)p + got, cap - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

char *pyc__read_file(const char *path, size_t *len)
{
	struct stat st;

	return pyc__read_file_stat(path, len, &st);
}

char *pyc__read_file_stat(const char *path, size_t *len, struct stat *stp)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *data = NULL;
	size_t cap, got = 0;
	int saved;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0)
		goto fail;
	/* Size from fstat, growing if the file grows while we read. */
	cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
	for (;;) {
		char *p = realloc(data, cap + 1);
		if (!p)
			goto fail;
		data = p;
		ssize_t n = pyc__read_full(fd, data + got, cap - got);
		if (n < 0)
			goto fail;
		got += (size_t)n;
		if (got < cap)
			break;
		cap *= 2;
	}
	close(fd);
	data[got] = '\0';
	*len = got;
	*stp = st;
	return data;
fail:
	saved = errno;
	free(data);
	close(fd);
	errno = saved;
	return NULL;
}

int pyc__mkdir_p(const char *dir, unsigned mode)
{
	char *d = strdup(dir);
	int ret = 0;

	if (!d)
		return -1;
	for (char *s = d + 1; ret == 0; s++) {
		if (*s && *s != '/')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(d, (mode_t)mode) < 0 && errno != EEXIST)
			ret = -1;
		*s = c;
		if (!c)
			break;
	}
	free(d);
	return ret;
}
