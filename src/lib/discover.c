/*
 * discover.c - finding interpreters: what a --python value names, and
 * every interpreter on the machine.
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
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int error(struct pyc_error *err, int errnum, const char *fmt,
		 const char *arg)
{
	if (err)
		snprintf(err->msg, sizeof(err->msg), fmt, arg);
	errno = errnum;
	return -1;
}

static bool is_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, X_OK) == 0;
}

/* The first 1 KiB of a file that starts with "#!", or false. */
static bool script_head(const char *path, char *head, size_t size)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = pyc_read_full(fd, head, size - 1);
	close(fd);
	if (n < 2 || head[0] != '#' || head[1] != '!')
		return false;
	head[n] = '\0';
	return true;
}

/* pyenv shims are scripts that end in
 *   exec "$PYENV_ROOT/libexec/pyenv" exec "$program" "$@"  */
static bool is_pyenv_shim(const char *path)
{
	char head[1024];

	return script_head(path, head, sizeof(head)) &&
	       strstr(head, "/libexec/pyenv\" exec");
}

/* The pyenv root a shim belongs to: the PYENV_ROOT it exports, else
 * $PYENV_ROOT, else the parent of its directory. */
static char *shim_root(const char *shim)
{
	static const char key[] = "export PYENV_ROOT=\"";
	const char *env = getenv("PYENV_ROOT");
	char head[1024], real[PATH_MAX], *p, *slash;

	if (script_head(shim, head, sizeof(head)) && (p = strstr(head, key))) {
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

static char *pyenv_root(void)
{
	const char *env = getenv("PYENV_ROOT");
	const char *home = getenv("HOME");
	struct buf b = { 0 };

	if (env && env[0])
		return strdup(env);
	if (!home || !home[0])
		return NULL;
	buf_adds(&b, home);
	buf_adds(&b, "/.pyenv");
	return buf_detach(&b);
}

/* Compare "3.12.1"-like names by their numbers, then as text. */
static int version_name_cmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			char *ea, *eb;
			unsigned long x = strtoul(a, &ea, 10);
			unsigned long y = strtoul(b, &eb, 10);
			if (x != y)
				return x < y ? -1 : 1;
			a = ea;
			b = eb;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
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

	buf_addf(&dir, "%s/versions/%s", root, want);
	if (!dir.oom && stat(dir.s, &st) == 0 && S_ISDIR(st.st_mode))
		return buf_detach(&dir);
	buf_reset(&dir);
	buf_addf(&dir, "%s/versions", root);
	if (dir.oom || !(d = opendir(dir.s))) {
		buf_release(&dir);
		return NULL;
	}
	while ((e = readdir(d))) {
		const char *n = e->d_name;
		if (strncmp(n, want, wl) || n[wl] != '.' ||
		    strspn(n + wl, ".0123456789") != strlen(n + wl))
			continue;
		if (!best.len || version_name_cmp(n, best.s) > 0) {
			buf_reset(&best);
			buf_adds(&best, n);
		}
	}
	closedir(d);
	if (!best.len) {
		buf_release(&dir);
		return NULL;
	}
	buf_addf(&dir, "/%s", best.s);
	buf_release(&best);
	return buf_detach(&dir);
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
			buf_reset(&b);
			buf_addf(&b, "%s/.python-version", cwd);
			if (!b.oom && (data = pyc_read_file(b.s, &len))) {
				buf_release(&b);
				return data;
			}
			char *slash = strrchr(cwd, '/');
			if (!slash || slash == cwd)
				break;
			*slash = '\0';
		}
	}
	buf_reset(&b);
	buf_addf(&b, "%s/version", root);
	data = b.oom ? NULL : pyc_read_file(b.s, &len);
	buf_release(&b);
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
		buf_reset(&b);
		if (n)
			buf_add(&b, path, n);
		else
			buf_addc(&b, '.');
		buf_addf(&b, "/%s", cmd);
		path += n + (path[n] == ':');
		if (!b.oom && is_executable(b.s) &&
		    !(skip_shims && is_pyenv_shim(b.s)))
			return buf_detach(&b);
	}
	buf_release(&b);
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
		buf_addf(&b, "%s/bin/%s", dir, cmd);
	free(dir);
	if (b.len && !b.oom && is_executable(b.s))
		return buf_detach(&b);
	buf_release(&b);
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

	buf_addf(&dir, "%s/versions", root);
	if (dir.oom || !(d = opendir(dir.s))) {
		buf_release(&dir);
		return NULL;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		buf_reset(&b);
		buf_addf(&b, "%s/%s/bin/%s", dir.s, e->d_name, cmd);
		if (b.oom || !is_executable(b.s))
			continue;
		if (!best.len || version_name_cmp(e->d_name, best.s) > 0) {
			buf_reset(&best);
			buf_adds(&best, e->d_name);
		}
	}
	closedir(d);
	buf_reset(&b);
	if (best.len)
		buf_addf(&b, "%s/%s/bin/%s", dir.s, best.s, cmd);
	buf_release(&dir);
	buf_release(&best);
	if (!b.len) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
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

	if (!exe || !is_pyenv_shim(exe))
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

	buf_addf(&cmd, "python%s", v);
	if (cmd.oom)
		return NULL;
	exe = unshim(path_search(cmd.s, false));
	if (!exe && (root = pyenv_root())) {
		if ((dir = pyenv_version_dir(root, v)))
			buf_addf(&b, "%s/bin/%s", dir, cmd.s);
		if (b.len && !b.oom && is_executable(b.s))
			exe = buf_detach(&b);
		free(dir);
		free(root);
	}
	buf_release(&b);
	buf_release(&cmd);
	return exe;
}

/* A bare major version ("3"): the newest usable interpreter of it that
 * pyc_interp_discover() finds (its list is sorted newest first). */
static char *find_newest(const char *major)
{
	struct pyc_interp_list list;
	char *exe = NULL;
	int want = atoi(major);

	if (pyc_interp_discover(&list) < 0)
		return NULL;
	for (size_t i = 0; i < list.n && !exe; i++)
		if (!list.rejected[i] && list.v[i].major == want)
			exe = strdup(list.v[i].path);
	pyc_interp_list_release(&list);
	return exe;
}

int pyc_interp_find(const char *spec, char **out, struct pyc_error *err)
{
	char *exe;

	*out = NULL;
	if (!spec || !spec[0])
		return error(err, EINVAL, "%s", "empty interpreter name");
	if (strchr(spec, '/')) {
		if (!is_executable(spec))
			return error(err, errno ? errno : EACCES,
				     "'%s' is not an executable file", spec);
		exe = strdup(spec);
		if (exe && is_pyenv_shim(exe))
			exe = unshim(exe);
	} else if (is_bare_version(spec)) {
		exe = find_version(spec);
	} else if (strspn(spec, "0123456789") == strlen(spec)) {
		exe = find_newest(spec);
	} else {
		exe = unshim(path_search(spec, false));
	}
	if (!exe)
		return error(err, ENOENT,
			     "no interpreter '%s' found on PATH or in pyenv "
			     "(see 'pycprefix pythons')", spec);
	*out = exe;
	return 0;
}

/* ---- every interpreter on the machine ---- */

void pyc_interp_list_release(struct pyc_interp_list *list)
{
	for (size_t i = 0; i < list->n; i++) {
		pyc_interp_release(&list->v[i]);
		free(list->rejected[i]);
	}
	free(list->v);
	free(list->rejected);
	memset(list, 0, sizeof(*list));
}

/* python, python3, python3.N: the names worth probing. */
static bool is_python_name(const char *n)
{
	if (strncmp(n, "python", 6))
		return false;
	n += 6;
	if (!*n)
		return true;
	if (*n != '3')
		return false;
	n++;
	return !*n || (n[0] == '.' && n[1] &&
		       strspn(n + 1, "0123456789") == strlen(n + 1));
}

static bool seen_real(const struct pyc_interp_list *list, const char *real)
{
	for (size_t i = 0; i < list->n; i++)
		if (strcmp(list->v[i].real, real) == 0)
			return true;
	return false;
}

static int list_push(struct pyc_interp_list *list, struct pyc_interp *in,
		     const char *why)
{
	if (list->n == list->alloc) {
		size_t alloc = list->alloc ? list->alloc * 2 : 16;
		struct pyc_interp *v = realloc(list->v, alloc * sizeof(*v));
		if (!v)
			return -1;
		list->v = v;
		char **r = realloc(list->rejected, alloc * sizeof(*r));
		if (!r)
			return -1;
		list->rejected = r;
		list->alloc = alloc;
	}
	list->rejected[list->n] = NULL;
	if (why && !(list->rejected[list->n] = strdup(why)))
		return -1;
	list->v[list->n++] = *in;
	memset(in, 0, sizeof(*in));
	return 0;
}

static int consider(struct pyc_interp_list *list, const char *exe)
{
	struct pyc_interp in;
	struct pyc_error err = { { 0 } };
	char real[PATH_MAX], why[200];
	const char *reason = NULL;

	if (!realpath(exe, real) || seen_real(list, real) ||
	    !is_executable(real) || is_pyenv_shim(real))
		return 0;
	if (pyc_interp_probe(exe, PYC_PROBE_ANY, &in, &err) < 0) {
		/* Keep it, with the reason, so users see why it is left out. */
		memset(&in, 0, sizeof(in));
		if (!(in.path = strdup(exe)) || !(in.real = strdup(real)))
			goto nomem;
		reason = err.msg;
	} else {
		reason = pyc__interp_unusable(&in, why, sizeof(why));
	}
	if (list_push(list, &in, reason) == 0)
		return 0;
nomem:
	pyc_interp_release(&in);
	errno = ENOMEM;
	return -1;
}

static int scan_dir(struct pyc_interp_list *list, const char *dir)
{
	struct buf b = { 0 };
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	int ret = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (!is_python_name(e->d_name))
			continue;
		char **p = realloc(names, (n + 1) * sizeof(*p));
		if (!p || !(p[n] = strdup(e->d_name))) {
			names = p ? p : names;
			ret = -1;
			break;
		}
		names = p;
		n++;
	}
	closedir(d);
	/* Prefer the most specific name (python3.12 over python3). */
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strlen(names[j]) > strlen(names[i])) {
				char *t = names[i];
				names[i] = names[j];
				names[j] = t;
			}
	for (size_t i = 0; i < n; i++) {
		buf_reset(&b);
		buf_addf(&b, "%s/%s", dir, names[i]);
		if (ret == 0 && (b.oom || consider(list, b.s) < 0))
			ret = -1;
		free(names[i]);
	}
	free(names);
	buf_release(&b);
	return ret;
}

static int scan_children(struct pyc_interp_list *list, const char *parent,
			 const char *sub)
{
	struct buf b = { 0 };
	DIR *d = opendir(parent);
	struct dirent *e;
	int ret = 0;

	if (!d)
		return 0;
	while (ret == 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		buf_reset(&b);
		buf_addf(&b, "%s/%s/%s", parent, e->d_name, sub);
		ret = b.oom ? -1 : scan_dir(list, b.s);
	}
	closedir(d);
	buf_release(&b);
	return ret;
}

static int interp_cmp(const void *a, const void *b)
{
	const struct pyc_interp *x = a, *y = b;

	if (x->major != y->major)
		return y->major - x->major;
	if (x->minor != y->minor)
		return y->minor - x->minor;
	if (x->micro != y->micro)
		return y->micro - x->micro;
	return strcmp(x->path, y->path);
}

/* Sort v and keep rejected[] parallel to it. */
static int sort_list(struct pyc_interp_list *list)
{
	struct entry {
		struct pyc_interp in;
		char *why;
	} *tmp = calloc(list->n ? list->n : 1, sizeof(*tmp));

	if (!tmp)
		return -1;
	for (size_t i = 0; i < list->n; i++)
		tmp[i] = (struct entry){ list->v[i], list->rejected[i] };
	/* struct entry starts with the interpreter, so interp_cmp works. */
	qsort(tmp, list->n, sizeof(*tmp), interp_cmp);
	for (size_t i = 0; i < list->n; i++) {
		list->v[i] = tmp[i].in;
		list->rejected[i] = tmp[i].why;
	}
	free(tmp);
	return 0;
}

int pyc_interp_discover(struct pyc_interp_list *list)
{
	const char *path = getenv("PATH");
	const char *home = getenv("HOME");
	struct buf b = { 0 };
	char *root = pyenv_root();
	int ret = 0;

	memset(list, 0, sizeof(*list));
	while (ret == 0 && path && *path) {
		size_t n = strcspn(path, ":");
		buf_reset(&b);
		buf_add(&b, n ? path : ".", n ? n : 1);
		path += n + (path[n] == ':');
		ret = b.oom ? -1 : scan_dir(list, b.s);
	}
	if (ret == 0 && root) {
		buf_reset(&b);
		buf_addf(&b, "%s/versions", root);
		ret = b.oom ? -1 : scan_children(list, b.s, "bin");
	}
	static const char *const usual[] = { "/usr/local/bin", "/usr/bin",
					     "/opt/homebrew/bin", NULL };
	for (size_t i = 0; ret == 0 && usual[i]; i++)
		ret = scan_dir(list, usual[i]);
	if (ret == 0 && home) {
		buf_reset(&b);
		buf_addf(&b, "%s/.local/share/uv/python", home);
		ret = b.oom ? -1 : scan_children(list, b.s, "bin");
	}
	free(root);
	buf_release(&b);
	if (ret == 0)
		ret = sort_list(list);
	if (ret < 0) {
		pyc_interp_list_release(list);
		errno = ENOMEM;
	}
	return ret;
}
