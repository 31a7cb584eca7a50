/*
 * resolve.c - what a --python value names.
 *
 * pyenv shims are shell scripts that pick a version at each run; running
 * one costs pyenv's start-up and hides the real executable from the probe
 * cache.  So a shim is resolved here as pyenv itself resolves it: the
 * versions named by PYENV_VERSION (':'-separated), else by the nearest
 * .python-version file from the current directory up, else by
 * $PYENV_ROOT/version, else "system"; the first of them that has the
 * command wins ("system" meaning PATH without the shims).  A version name
 * that is not installed as such matches its newest installed release
 * ("3.12" -> "3.12.1"), as pyenv 2.3 and later do.
 */
#include "pycprefix.h"
#include "buf.h"
#include "internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The pyenv root a shim belongs to: the PYENV_ROOT it exports, else
 * $PYENV_ROOT, else the parent of its directory. */
static char *shim_root(const char *shim)
{
	static const char key[] = "export PYENV_ROOT=\"";
	const char *env = getenv("PYENV_ROOT");
	char head[1024], real[PATH_MAX], *p, *slash;

	if (pyc__script_head(shim, head, sizeof(head)) &&
	    (p = strstr(head, key))) {
		p += sizeof(key) - 1;
		size_t n = strcspn(p, "\"\n");
		if (p[n] == '"')
			return strndup(p, n);
	}
	if (env && env[0])
		return strdup(env);
	if (!realpath(shim, real))
		return NULL;
	if ((slash = strrchr(real, '/')))
		*slash = '\0';
	if ((slash = strrchr(real, '/')))
		*slash = '\0';
	return strdup(real);
}

/* The newest installed pyenv version named `want` or `want`.N...; only
 * plain releases (digits and dots) match a prefix. */
static char *pyenv_version_dir(const char *root, const char *want)
{
	struct buf dir = { 0 }, best = { 0 };
	size_t wl = strlen(want);
	struct stat st;
	DIR *d;
	struct dirent *e;

	pyc__buf_addf(&dir, "%s/versions/%s", root, want);
	if (!dir.oom && stat(dir.s, &st) == 0 && S_ISDIR(st.st_mode))
		return pyc__buf_detach(&dir);
	pyc__buf_reset(&dir);
	pyc__buf_addf(&dir, "%s/versions", root);
	if (dir.oom || !(d = opendir(dir.s))) {
		pyc__buf_release(&dir);
		return NULL;
	}
	while ((e = readdir(d))) {
		const char *n = e->d_name;
		if (strncmp(n, want, wl) || n[wl] != '.' ||
		    strspn(n + wl, ".0123456789") != strlen(n + wl))
			continue;
		if (!best.len || pyc__version_cmp(n, best.s) > 0) {
			pyc__buf_reset(&best);
			pyc__buf_adds(&best, n);
		}
	}
	closedir(d);
	if (!best.len) {
		pyc__buf_release(&dir);
		return NULL;
	}
	pyc__buf_addf(&dir, "/%s", best.s);
	pyc__buf_release(&best);
	return pyc__buf_detach(&dir);
}

/* The version names pyenv would use here, whitespace-separated. */
static char *pyenv_versions(const char *root)
{
	const char *env = getenv("PYENV_VERSION");
	char cwd[PATH_MAX];
	struct buf b = { 0 };
	size_t len;
	char *data;

	if (env && env[0]) {
		char *s = strdup(env);
		for (char *p = s; p && *p; p++)
			if (*p == ':')
				*p = ' ';
		return s;
	}
	if (getcwd(cwd, sizeof(cwd))) {
		for (;;) {
			pyc__buf_reset(&b);
			pyc__buf_addf(&b, "%s/.python-version", cwd);
			if (!b.oom && (data = pyc__read_file(b.s, &len))) {
				pyc__buf_release(&b);
				return data;
			}
			char *slash = strrchr(cwd, '/');
			if (!slash || slash == cwd)
				break;
			*slash = '\0';
		}
	}
	pyc__buf_reset(&b);
	pyc__buf_addf(&b, "%s/version", root);
	data = b.oom ? NULL : pyc__read_file(b.s, &len);
	pyc__buf_release(&b);
	return data ? data : strdup("system");
}

/* Search PATH for `cmd`; skip shims when skip_shims. */
static char *path_search(const char *cmd, bool skip_shims)
{
	const char *path = getenv("PATH");
	struct buf b = { 0 };

	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		pyc__buf_reset(&b);
		if (n)
			pyc__buf_add(&b, path, n);
		else
			pyc__buf_addc(&b, '.');
		pyc__buf_addf(&b, "/%s", cmd);
		path += n + (path[n] == ':');
		if (!b.oom && pyc__is_executable(b.s) &&
		    !(skip_shims && pyc__is_pyenv_shim(b.s)))
			return pyc__buf_detach(&b);
	}
	pyc__buf_release(&b);
	return NULL;
}

/* `cmd` of one pyenv version name, or NULL. */
static char *try_version(const char *root, const char *v, const char *cmd)
{
	struct buf b = { 0 };
	char *dir;

	if (strcmp(v, "system") == 0)
		return path_search(cmd, true);
	dir = pyenv_version_dir(root, v);
	if (dir)
		pyc__buf_addf(&b, "%s/bin/%s", dir, cmd);
	free(dir);
	if (b.len && !b.oom && pyc__is_executable(b.s))
		return pyc__buf_detach(&b);
	pyc__buf_release(&b);
	return NULL;
}

/* What the shim `shim` for command `cmd` would run. */
static char *resolve_shim(const char *shim, const char *cmd)
{
	char *root = shim_root(shim), *versions, *found = NULL;

	if (!root)
		return NULL;
	versions = pyenv_versions(root);
	for (char *v = versions; v && *v && !found;) {
		v += strspn(v, " \t\r\n");
		size_t n = strcspn(v, " \t\r\n");
		char *next = v + n + (v[n] != '\0');
		v[n] = '\0';
		if (n && v[0] != '#')
			found = try_version(root, v, cmd);
		v = next;
	}
	free(versions);
	free(root);
	return found;
}

/* `cmd` in the newest pyenv version that has it, or NULL. */
static char *newest_with(const char *root, const char *cmd)
{
	struct buf dir = { 0 }, best = { 0 }, b = { 0 };
	struct dirent *e;
	DIR *d;

	pyc__buf_addf(&dir, "%s/versions", root);
	if (dir.oom || !(d = opendir(dir.s))) {
		pyc__buf_release(&dir);
		return NULL;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		pyc__buf_reset(&b);
		pyc__buf_addf(&b, "%s/%s/bin/%s", dir.s, e->d_name, cmd);
		if (b.oom || !pyc__is_executable(b.s))
			continue;
		if (!best.len || pyc__version_cmp(e->d_name, best.s) > 0) {
			pyc__buf_reset(&best);
			pyc__buf_adds(&best, e->d_name);
		}
	}
	closedir(d);
	pyc__buf_reset(&b);
	if (best.len)
		pyc__buf_addf(&b, "%s/%s/bin/%s", dir.s, best.s, cmd);
	pyc__buf_release(&dir);
	pyc__buf_release(&best);
	if (!b.len) {
		pyc__buf_release(&b);
		return NULL;
	}
	return pyc__buf_detach(&b);
}

/*
 * A found executable, with a shim replaced by what it would run.  When the
 * selected pyenv versions lack the command (pyenv would refuse), a user who
 * named it still means it: take the next one on PATH, else the newest
 * pyenv version that has it.
 */
static char *unshim(char *exe)
{
	const char *slash;
	char *real, *root;

	if (!exe || !pyc__is_pyenv_shim(exe))
		return exe;
	slash = strrchr(exe, '/');
	const char *cmd = slash ? slash + 1 : exe;
	real = resolve_shim(exe, cmd);
	if (!real)
		real = path_search(cmd, true);
	if (!real && (root = shim_root(exe))) {
		real = newest_with(root, cmd);
		free(root);
	}
	free(exe);
	return real;
}

static bool is_bare_version(const char *s)
{
	size_t a = strspn(s, "0123456789");

	return a && s[a] == '.' && s[a + 1] &&
	       strspn(s + a + 1, "0123456789") == strlen(s + a + 1);
}

/* A bare version: python3.12 on PATH, else the newest pyenv 3.12.x. */
static char *find_version(const char *v)
{
	struct buf cmd = { 0 }, b = { 0 };
	char *exe, *root, *dir = NULL;

	pyc__buf_addf(&cmd, "python%s", v);
	if (cmd.oom)
		return NULL;
	exe = unshim(path_search(cmd.s, false));
	if (!exe && (root = pyc__pyenv_root())) {
		if ((dir = pyenv_version_dir(root, v)))
			pyc__buf_addf(&b, "%s/bin/%s", dir, cmd.s);
		if (b.len && !b.oom && pyc__is_executable(b.s))
			exe = pyc__buf_detach(&b);
		free(dir);
		free(root);
	}
	pyc__buf_release(&b);
	pyc__buf_release(&cmd);
	return exe;
}

/* X.Y.Z, as 'pycprefix pythons' prints a release. */
static bool is_full_version(const char *s)
{
	for (int part = 0; part < 3; part++) {
		size_t n = strspn(s, "0123456789");
		if (!n || s[n] != (part < 2 ? '.' : '\0'))
			return false;
		s += n + (part < 2);
	}
	return true;
}

/* A cache tag: letters, '-', digits ("cpython-311"). */
static bool is_cache_tag(const char *s)
{
	size_t a = strspn(s, "abcdefghijklmnopqrstuvwxyz");

	return a && s[a] == '-' && s[a + 1] &&
	       strspn(s + a + 1, "0123456789") == strlen(s + a + 1);
}

enum spec_kind { SPEC_MAJOR, SPEC_FULL, SPEC_TAG };

static bool spec_matches(const struct pyc_interp *in, enum spec_kind kind,
			 const char *spec)
{
	char v[64];

	switch (kind) {
	case SPEC_MAJOR:
		return in->major == atoi(spec);
	case SPEC_FULL:
		snprintf(v, sizeof(v), "%d.%d.%d", in->major, in->minor,
			 in->micro);
		return strcmp(v, spec) == 0 && strcmp(in->level, "final") == 0;
	default:
		return in->tag && strcmp(in->tag, spec) == 0;
	}
}

/* A bare major version ("3"), a full version ("3.11.7") or a cache tag
 * ("cpython-311"): the newest usable interpreter of it that
 * pyc_interp_discover() finds (its list is sorted newest first). */
static char *find_discovered(const char *spec, enum spec_kind kind)
{
	struct pyc_interp_list list;
	char *exe = NULL;

	if (pyc_interp_discover(&list) < 0)
		return NULL;
	for (size_t i = 0; i < list.n && !exe; i++)
		if (!list.rejected[i] && spec_matches(&list.v[i], kind, spec))
			exe = strdup(list.v[i].path);
	pyc_interp_list_release(&list);
	return exe;
}

/* A full version: pyenv's installation of that name (found without
 * running anything), else what discovery finds of that version. */
static char *find_full_version(const char *v)
{
	struct buf b = { 0 };
	char *root = pyc__pyenv_root(), *exe = NULL;
	size_t mm = strcspn(v, ".") + 1;

	mm += strcspn(v + mm, ".");
	if (root)
		pyc__buf_addf(&b, "%s/versions/%s/bin/python%.*s", root, v,
			      (int)mm, v);
	if (b.len && !b.oom && pyc__is_executable(b.s))
		exe = pyc__buf_detach(&b);
	pyc__buf_release(&b);
	free(root);
	return exe ? exe : find_discovered(v, SPEC_FULL);
}

int pyc_interp_find(const char *spec, char **out, struct pyc_error *err)
{
	char *exe;

	*out = NULL;
	if (!spec || !spec[0])
		return pyc__error(err, EINVAL, "empty interpreter name");
	if (strchr(spec, '/')) {
		if (!pyc__is_executable(spec))
			return pyc__error(err, errno ? errno : EACCES,
					  "'%s' is not an executable file",
					  spec);
		exe = strdup(spec);
		if (exe && pyc__is_pyenv_shim(exe))
			exe = unshim(exe);
	} else if (is_bare_version(spec)) {
		exe = find_version(spec);
	} else if (strspn(spec, "0123456789") == strlen(spec)) {
		exe = find_discovered(spec, SPEC_MAJOR);
	} else if (is_full_version(spec)) {
		exe = find_full_version(spec);
	} else if (is_cache_tag(spec)) {
		/* else a command of that name, as before tags were taken */
		if (!(exe = find_discovered(spec, SPEC_TAG)))
			exe = unshim(path_search(spec, false));
	} else {
		exe = unshim(path_search(spec, false));
	}
	if (!exe)
		return pyc__error(err, ENOENT,
				  "no interpreter '%s' found on PATH or in "
				  "pyenv (see 'pycprefix pythons')", spec);
	*out = exe;
	return 0;
}

int pyc_interp_resolve(const char *spec, unsigned flags,
		       struct pyc_interp *in, struct pyc_error *err)
{
	char *exe;
	int ret;

	memset(in, 0, sizeof(*in));
	if (pyc_interp_find(spec, &exe, err) < 0)
		return -1;
	ret = pyc_interp_probe(exe, flags, in, err);
	free(exe);
	return ret;
}
