/*
 * discover.c - every interpreter on the machine: PATH, pyenv's versions
 * and the usual install locations, each probed (interp.c).  What one
 * --python value names is resolve.c's, which uses this file; this file
 * uses none of it (the few file tests both need are here).
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

bool pyc__is_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, X_OK) == 0;
}

/* The first 1 KiB of a file that starts with "#!", or false. */
bool pyc__script_head(const char *path, char *head, size_t size)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = pyc__read_full(fd, head, size - 1);
	close(fd);
	if (n < 2 || head[0] != '#' || head[1] != '!')
		return false;
	head[n] = '\0';
	return true;
}

/* pyenv shims are scripts that end in
 *   exec "$PYENV_ROOT/libexec/pyenv" exec "$program" "$@"  */
bool pyc__is_pyenv_shim(const char *path)
{
	char head[1024];

	return pyc__script_head(path, head, sizeof(head)) &&
	       strstr(head, "/libexec/pyenv\" exec");
}

char *pyc__pyenv_root(void)
{
	const char *env = getenv("PYENV_ROOT");
	struct buf b = { 0 };
	char *home;

	if (env && env[0])
		return strdup(env);
	if (!(home = pyc__home_dir()))
		return NULL;
	pyc__buf_adds(&b, home);
	pyc__buf_adds(&b, "/.pyenv");
	free(home);
	return pyc__buf_detach(&b);
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
	    !pyc__is_executable(real) || pyc__is_pyenv_shim(real))
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
		pyc__buf_reset(&b);
		pyc__buf_addf(&b, "%s/%s", dir, names[i]);
		if (ret == 0 && (b.oom || consider(list, b.s) < 0))
			ret = -1;
		free(names[i]);
	}
	free(names);
	pyc__buf_release(&b);
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
		pyc__buf_reset(&b);
		pyc__buf_addf(&b, "%s/%s/%s", parent, e->d_name, sub);
		ret = b.oom ? -1 : scan_dir(list, b.s);
	}
	closedir(d);
	pyc__buf_release(&b);
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
	char *home = pyc__home_dir();
	struct buf b = { 0 };
	char *root = pyc__pyenv_root();
	int ret = 0;

	memset(list, 0, sizeof(*list));
	while (ret == 0 && path && *path) {
		size_t n = strcspn(path, ":");
		pyc__buf_reset(&b);
		pyc__buf_add(&b, n ? path : ".", n ? n : 1);
		path += n + (path[n] == ':');
		ret = b.oom ? -1 : scan_dir(list, b.s);
	}
	if (ret == 0 && root) {
		pyc__buf_reset(&b);
		pyc__buf_addf(&b, "%s/versions", root);
		ret = b.oom ? -1 : scan_children(list, b.s, "bin");
	}
	static const char *const usual[] = { "/usr/local/bin", "/usr/bin",
					     "/opt/homebrew/bin", NULL };
	for (size_t i = 0; ret == 0 && usual[i]; i++)
		ret = scan_dir(list, usual[i]);
	if (ret == 0 && home) {
		pyc__buf_reset(&b);
		pyc__buf_addf(&b, "%s/.local/share/uv/python", home);
		ret = b.oom ? -1 : scan_children(list, b.s, "bin");
	}
	free(root);
	free(home);
	pyc__buf_release(&b);
	if (ret == 0)
		ret = sort_list(list);
	if (ret < 0) {
		pyc_interp_list_release(list);
		errno = ENOMEM;
	}
	return ret;
}
