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

#endif
