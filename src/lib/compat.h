/*
 * compat.h - the one place where platform differences live.
 *
 * Linux first; nothing here stops a macOS build.  .c files include this
 * instead of testing platform macros themselves.
 */
#ifndef PYC_COMPAT_H
#define PYC_COMPAT_H

#include <fcntl.h>
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
 * Make the next getopt()/getopt_long() call start over at argv[1] with a
 * new option string.  glibc and musl re-initialise when optind is 0
 * (glibc also re-reads a leading '+' or '-' then); the BSDs and macOS
 * need optreset, and take optind 0 for 1 only by accident.
 */
static inline void pyc_getopt_reset(void)
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
