/*
 * prefix.c - which prefix a user's settings mean.
 */
#include "pycprefix.h"
#include "buf.h"
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ${XDG_CACHE_HOME:-$HOME/.cache}/<leaf>, or NULL (ENOENT, ENOMEM).  An
 * empty or relative XDG_CACHE_HOME is ignored, as the XDG spec says. */
char *pyc_cache_home_path(const char *leaf)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	struct buf b = { 0 };

	if (xdg && xdg[0] == '/') {
		buf_adds(&b, xdg);
	} else if (home && home[0]) {
		buf_adds(&b, home);
		buf_adds(&b, "/.cache");
	} else {
		errno = ENOENT;
		return NULL;
	}
	buf_addc(&b, '/');
	buf_adds(&b, leaf);
	return buf_detach(&b);
}

int pyc_prefix_resolve(const char *opt, char **out, const char **origin)
{
	const char *env = getenv("PYTHONPYCACHEPREFIX");
	char *s;

	if (opt) {
		if (!opt[0]) {
			errno = EINVAL;
			return -1;
		}
		s = strdup(opt);
		*origin = "--prefix";
	} else if (env && env[0]) {
		s = strdup(env);
		*origin = "PYTHONPYCACHEPREFIX";
	} else {
		s = pyc_cache_home_path("pycprefix");
		*origin = "default";
		if (!s)
			return -1;
	}
	if (!s) {
		errno = ENOMEM;
		return -1;
	}
	*out = s;
	return 0;
}
