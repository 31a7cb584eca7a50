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

/* A descriptor that must be of a regular file: kept, or closed with
 * errno PYC_ENOTREG. */
static int regular_only(int fd)
{
	struct stat st;
	int err;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		err = errno;
	else if (!S_ISREG(st.st_mode))
		err = PYC_ENOTREG;
	else
		return fd;
	close(fd);
	errno = err;
	return -1;
}

/* pycprefix's looks at a pyc must not pass for use (prune's
 * --older-than and --max-size read access times): O_NOATIME, which the
 * kernel grants the file's owner and CAP_FOWNER only; for anyone else
 * (EPERM) the plain open is still better than no look at all.
 * O_NONBLOCK: a FIFO planted at a pyc's path would otherwise block the
 * open until a writer comes, forever; on a regular file the flag
 * changes nothing, and anything else is refused. */
int pyc__open_noatime(int dfd, const char *path, int flags)
{
	int fl = flags | O_RDONLY | O_CLOEXEC | O_NONBLOCK;
	int fd = openat(dfd, path, fl | O_NOATIME);

	if (fd < 0 && errno == EPERM && O_NOATIME)
		fd = openat(dfd, path, fl);
	return regular_only(fd);
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
	bool opened;

	return pyc__read_file_opened(path, len, stp, &opened);
}

char *pyc__read_file_opened(const char *path, size_t *len, struct stat *stp,
			    bool *opened)
{
	/* Only regular files (probe cache, memo, version files, sources):
	 * a FIFO in their place must not block the run. */
	int fd = regular_only(open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK));
	struct stat st;
	char *data = NULL;
	size_t cap, got = 0;
	int saved;

	*opened = fd >= 0;
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
