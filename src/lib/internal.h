/*
 * internal.h - helpers shared between library modules; not public.
 */
#ifndef PYC_INTERNAL_H
#define PYC_INTERNAL_H

#include <stddef.h>
#include <sys/types.h>

/* ${XDG_CACHE_HOME:-$HOME/.cache}/<leaf>, malloc'd; NULL with errno. */
char *pyc_cache_home_path(const char *leaf);

/* mkdir -p: create dir and its missing parents with `mode`.  0 or -1. */
int pyc_mkdir_p(const char *dir, unsigned mode);

/* read() until `cap` bytes or end of file; the count, or -1 (errno). */
ssize_t pyc_read_full(int fd, void *p, size_t cap);

struct stat;

/* As pyc_read_file, also giving the fstat of the file read. */
char *pyc_read_file_stat(const char *path, size_t *len, struct stat *st);

/* The whole file into a malloc'd buffer (NUL-terminated, *len excludes
 * the NUL).  NULL with errno on failure. */
char *pyc_read_file(const char *path, size_t *len);

struct pyc_interp;

/* Why a probed interpreter cannot serve (into why), or NULL if it can. */
const char *pyc__interp_unusable(const struct pyc_interp *in, char *why,
				 size_t size);

/* Move dfd/name to `rel` below `dir` (created as pyc_write_atomic does):
 * a rename, or across file systems an atomic copy and an unlink. */
int pyc_move_atomic(int src_dfd, const char *src_name, const char *dir,
		    const char *rel, unsigned flags);

struct pyc_interp;

/* The cache directory that mirrors source directory `dir` under prefix
 * (malloc'd), or NULL. */
char *pyc__mirror_dir(const struct pyc_interp *in, const char *prefix,
		      const char *cwd, const char *dir);

struct pyc_result;

/*
 * Decode one worker response from p[0..len) (grammar in pycprefix.h).
 * Returns 1 with *res filled (pointers into p; res->warnings malloc'd,
 * free it) and *used the frame's size, 0 when more bytes are needed, -1
 * when the bytes are not a response.
 */
int pyc__parse_response(const unsigned char *p, size_t len,
			struct pyc_result *res, size_t *used);

#endif
