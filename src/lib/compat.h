/*
 * compat.h - the one place where platform differences live.
 *
 * Linux first; nothing here stops a macOS build.  .c files include this
 * instead of testing platform macros themselves.
 */
#ifndef PYC_COMPAT_H
#define PYC_COMPAT_H

#include "pycprefix.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Nanosecond modification and change times from a struct stat. */
#if defined(__APPLE__)
#define PYC_ST_MTIM(st) ((st)->st_mtimespec)
#define PYC_ST_CTIM(st) ((st)->st_ctimespec)
#else
#define PYC_ST_MTIM(st) ((st)->st_mtim)
#define PYC_ST_CTIM(st) ((st)->st_ctim)
#endif

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

/* Reads that leave the access time alone (Linux); 0 where there is no
 * such flag, and then every read may count as an access. */
#ifndef O_NOATIME
#define O_NOATIME 0
#endif

/*
 * A pipe whose ends are born with `flags` (O_CLOEXEC, O_NONBLOCK): no
 * child that another thread spawns meanwhile can inherit them.  macOS
 * has no pipe2(): there the flags are set just after, checked, and that
 * window remains.
 */
#if defined(__APPLE__)
static inline int pyc__pipe2(int fds[2], int flags)
{
	if (pipe(fds) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		int fl = fcntl(fds[i], F_GETFL);
		if ((flags & O_CLOEXEC) &&
		    fcntl(fds[i], F_SETFD, FD_CLOEXEC) < 0)
			goto fail;
		if ((flags & O_NONBLOCK) &&
		    (fl < 0 || fcntl(fds[i], F_SETFL, fl | O_NONBLOCK) < 0))
			goto fail;
	}
	return 0;
fail:
	close(fds[0]);
	close(fds[1]);
	return -1;
}
#else
static inline int pyc__pipe2(int fds[2], int flags)
{
	return pipe2(fds, flags);
}
#endif

/* Make fd non-blocking.  0, or -1 with errno. */
static inline int pyc__set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return 0;
}

/*
 * strerror() for any thread: its text in buf (or a constant string),
 * never a buffer another thread may overwrite.  glibc with _GNU_SOURCE
 * has the GNU strerror_r (returns the text); elsewhere the XSI one
 * (fills buf, returns 0).
 */
static inline const char *pyc__strerror(int errnum, char *buf, size_t size)
{
	if (errnum == PYC_ENOTREG)
		return "not a regular file";
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
	return strerror_r(errnum, buf, size);
#else
	if (strerror_r(errnum, buf, size) != 0)
		snprintf(buf, size, "error %d", errnum);
	return buf;
#endif
}

/*
 * Make the next getopt()/getopt_long() call start over at argv[1] with a
 * new option string.  glibc and musl re-initialise when optind is 0
 * (glibc also re-reads a leading '+' or '-' then); the BSDs and macOS
 * need optreset, and take optind 0 for 1 only by accident.
 */
static inline void pyc__getopt_reset(void)
{
#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__NetBSD__) || \
	defined(__OpenBSD__) || defined(__DragonFly__)
	optreset = 1;
	optind = 1;
#else
	optind = 0;
#endif
}

#endif
