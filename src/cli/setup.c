/*
 * setup.c - what main.c resolves for a command before it runs: the
 * prefix, its trust, the interpreters, sys.path.
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * A relative prefix is taken against the current directory, once, here:
 * CPython keeps it relative and joins it to the working directory of each
 * import (checked with 3.8 to 3.13), so the pycs of a process that
 * starts here, or changes directory, land elsewhere.  What pycprefix
 * writes, checks or exports is where a Python started in this directory
 * reads, and the user is told once.
 */
static int absolute_prefix(const struct cli_ctx *ctx, char **prefix,
			   const char *origin)
{
	char *abs = cli_absolute(*prefix);

	if (!abs) {
		cli_error("cannot make the relative prefix '%s' (from %s) "
			  "absolute: %s", *prefix, origin, strerror(errno));
		free(*prefix);
		*prefix = NULL;
		return -1;
	}
	if (!ctx->quiet)
		cli_warn("warning: the prefix '%s' (from %s) is relative: "
			 "taken as '%s'; Python resolves it against its "
			 "working directory at each import, so set an "
			 "absolute path", *prefix, origin, abs);
	free(*prefix);
	*prefix = abs;
	return 0;
}

/* The prefix the options mean (NULL with --in-tree), always absolute: a
 * relative one is taken against the current directory, with one warning
 * line (unless -q).  Or an error message and -1. */
static int resolve_prefix(const struct cli_ctx *ctx, char **prefix,
		      const char **origin)
{
	*prefix = NULL;
	*origin = "--in-tree";
	if (ctx->in_tree) {
		if (ctx->prefix_opt)
			return cli_usage_error(ctx, "--prefix and --in-tree "
					       "exclude each other");
		return 0;
	}
	if (pyc_prefix_resolve(ctx->prefix_opt, prefix, origin) < 0) {
		cli_error("cannot tell the prefix: %s (set --prefix, "
			  "PYTHONPYCACHEPREFIX or HOME)", strerror(errno));
		return -1;
	}
	if ((*prefix)[0] != '/')
		return absolute_prefix(ctx, prefix, *origin);
	return 0;
}

struct unsafe_ui {
	bool force;
	int n;
};

static void print_unsafe(const char *path, enum pyc_trust t,
			 const struct stat *st, void *arg)
{
	struct unsafe_ui *u = arg;
	struct passwd *pw = getpwuid(st->st_uid);

	u->n++;
	fprintf(stderr, "pycprefix: %s%s is %s (owner %s, mode %04o): %s\n",
		u->force ? "warning: " : "", cli_qsubject(path),
		pyc_trust_str(t),
		pw ? pw->pw_name : "?", (unsigned)(st->st_mode & 07777),
		t == PYC_TRUST_WRITABLE ? "others could plant code Python "
					  "runs; fix: chmod go-w or +t"
		: t == PYC_TRUST_OWNER ? "its owner could plant code "
					 "Python runs; use a prefix of "
					 "your own"
				       : "the prefix must be a directory");
}

int cli_prefix_trust(const char *prefix, bool force)
{
	struct unsafe_ui u = { force, 0 };

	if (pyc_trust_path(prefix, geteuid(), print_unsafe, &u) < 0)
		return cli_error("cannot check the prefix '%s': %s", prefix,
				 strerror(errno));
	if (u.n && !force) {
		cli_error("refusing to write into a prefix other users can "
			  "change (--force-insecure writes anyway; see "
			  "'pycprefix doctor')");
		return -1;
	}
	return 0;
}

static void interps_release(struct pyc_interp *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pyc_interp_release(&v[i]);
	free(v);
}

/* Every usable interpreter 'pythons' finds, one per tag: 0, or -1 with
 * errno (and *n of them to release). */
static int found_interps(struct pyc_interp **v, size_t *n)
{
	struct pyc_interp_list list;
	int ret = -1, e;

	*v = NULL;
	*n = 0;
	if (pyc_interp_discover(&list) < 0)
		return -1;
	if (!(*v = calloc(list.n ? list.n : 1, sizeof(**v))))
		goto out;
	for (size_t i = 0; i < list.n; i++) {
		bool dup = false;
		if (list.rejected[i])
			continue;
		for (size_t k = 0; k < *n; k++)
			dup |= strcmp((*v)[k].tag, list.v[i].tag) == 0;
		if (dup)
			continue;
		if (pyc_interp_copy(&(*v)[*n], &list.v[i]) < 0)
			goto out;
		(*n)++;
	}
	ret = 0;
out:
	e = errno;
	pyc_interp_list_release(&list);
	errno = e;
	return ret;
}

/* found_interps(), or -1 after the message. */
static int installed_interps(struct pyc_interp **v, size_t *n)
{
	if (found_interps(v, n) < 0)
		return cli_error("cannot list the interpreters: %s",
				 strerror(errno));
	return 0;
}

/* --python all: every interpreter found, and only that. */
static int all_interps(const struct cli_ctx *ctx, struct pyc_interp **v,
		       size_t *n)
{
	if (ctx->npythons > 1)
		return cli_error("--python all names every interpreter: give "
				 "it alone");
	if (found_interps(v, n) < 0 || !*n) {
		interps_release(*v, *n);
		*v = NULL;
		*n = 0;
		return cli_error("no usable CPython found for --python all "
				 "(see 'pycprefix pythons')");
	}
	return 0;
}

/* The interpreters the options name (default python3; "all": every
 * one found_interps() finds).  Prints errors and returns -1 when one
 * cannot be used. */
static int named_interps(const struct cli_ctx *ctx, struct pyc_interp **v,
		       size_t *n)
{
	/* compile, status, migrate: the pycs of a prefix or tree */
	bool one_per_tag = ctx->cmd &&
			   (ctx->cmd->needs & (NEEDS_LEVELS | NEEDS_TRUST));
	static const char *const dflt[] = { "python3" };
	const char *const *specs = ctx->npythons ? ctx->pythons : dflt;
	size_t count = ctx->npythons ? ctx->npythons : 1;
	struct pyc_interp *arr;

	*v = NULL;
	*n = 0;
	for (size_t i = 0; i < ctx->npythons; i++)
		if (strcmp(ctx->pythons[i], "all") == 0)
			return all_interps(ctx, v, n);
	if (!(arr = calloc(count, sizeof(*arr))))
		return cli_error("out of memory");
	size_t got = 0;

	for (size_t i = 0; i < count; i++) {
		struct pyc_error err = { { 0 } };
		bool dup = false;

		if (pyc_interp_resolve(specs[i], 0, &arr[got], &err) < 0) {
			cli_error("%s", err.msg);
			interps_release(arr, got);
			return -1;
		}
		/* The same interpreter named twice ("3.12" and its path)
		 * is used once; so is a second one of a tag already named
		 * where the cache is the target (both would write the very
		 * same pycs, the last writer winning), as --python all
		 * keeps one per tag. */
		for (size_t k = 0; k < got && !dup; k++) {
			dup = strcmp(arr[k].real, arr[got].real) == 0;
			if (!dup && one_per_tag &&
			    strcmp(arr[k].tag, arr[got].tag) == 0) {
				dup = true;
				cli_warn("warning: '%s' shares the cache tag "
					 "%s with '%s': the same pycs; using "
					 "'%s'",
					 arr[got].path, arr[got].tag,
					 arr[k].path, arr[k].path);
			}
		}
		if (dup)
			pyc_interp_release(&arr[got]);
		else
			got++;
	}
	*v = arr;
	*n = got;
	return 0;
}

char **cli_run_strv(const char *exe, const char *code, size_t *n)
{
	struct pyc_error err = { { 0 } };
	/* The user's own start-up, cached bytecode included: the query
	 * is about what the user's Python sees, and compiling site and
	 * the rest from source at each ask cost a warm run most of its
	 * time.  -B still: nothing is written. */
	char **v = pyc_interp_ask_flags(exe, code, PYC_ASK_READ_CACHE, n,
					&err);

	if (!v)
		cli_error("%s", err.msg);
	return v;
}

void cli_strv_free(char **v, size_t n)
{
	pyc_strv_free(v, n);
}

/* path made absolute and lexically normal ("." and "//" gone, ".." the
 * parent): the cache mirrors a directory lexically.  malloc'd or NULL. */
static char *lexical_abs(const char *path)
{
	char cwd[PATH_MAX], *out;
	size_t cap, len = 0;
	const char *parts[2] = { "", path };

	if (path[0] != '/') {
		if (!getcwd(cwd, sizeof(cwd)))
			return NULL;
		parts[0] = cwd;
	}
	cap = strlen(parts[0]) + strlen(path) + 2;
	if (!(out = malloc(cap)))
		return NULL;
	for (int k = 0; k < 2; k++) {
		for (const char *p = parts[k]; *p;) {
			size_t cn = strcspn(p, "/");
			if (cn == 2 && p[0] == '.' && p[1] == '.') {
				while (len && out[len - 1] != '/')
					len--;
				if (len)
					len--;
			} else if (cn && !(cn == 1 && p[0] == '.')) {
				out[len++] = '/';
				memcpy(out + len, p, cn);
				len += cn;
			}
			p += cn + (p[cn] == '/');
		}
	}
	if (!len)
		out[len++] = '/';
	out[len] = '\0';
	return out;
}

/* Is b a or below it (both lexical_abs())? */
static bool lexically_within(const char *b, const char *a)
{
	size_t n = strlen(a);

	if (n == 1)
		return true; /* "/" */
	return strncmp(b, a, n) == 0 && (b[n] == '\0' || b[n] == '/');
}

int cli_sys_path_dirs(const struct cli_ctx *ctx, char ***dirs, size_t *ndirs)
{
	struct pyc_interp *interps = NULL;
	size_t ninterps = 0, n = 0, nkeys = 0;
	char **v = NULL, **keys = NULL;
	int ret = -1;

	*dirs = NULL;
	*ndirs = 0;
	if (named_interps(ctx, &interps, &ninterps) < 0)
		return -1;
	for (size_t k = 0; k < ninterps; k++) {
		size_t m = 0;
		char **sp = cli_sys_path(&interps[k], &m);
		char **nv = realloc(v, (n + m + 1) * sizeof(*nv));
		if (!sp)
			goto out; /* cli_sys_path() said why */
		if (!nv) {
			cli_strv_free(sp, m);
			goto oom;
		}
		v = nv;
		memcpy(v + n, sp, m * sizeof(*sp));
		n += m;
		free(sp); /* the strings are v's now */
	}
	if (!(keys = calloc(n + 1, sizeof(*keys))))
		goto oom;
	for (nkeys = 0; nkeys < n; nkeys++)
		if (!(keys[nkeys] = lexical_abs(v[nkeys])))
			goto oom;
	/* Each directory once, none inside another: the mirror of one is
	 * walked whole. */
	for (size_t i = 0; i < n; i++) {
		bool drop = false;
		for (size_t j = 0; j < n && !drop; j++)
			drop = j != i && lexically_within(keys[i], keys[j]) &&
			       (strcmp(keys[i], keys[j]) != 0 || j < i);
		if (drop) {
			free(v[i]);
			continue;
		}
		v[(*ndirs)++] = v[i];
	}
	*dirs = v;
	v = NULL;
	ret = 0;
	goto out;
oom:
	cli_error("out of memory");
out:
	cli_strv_free(keys, nkeys);
	if (v)
		cli_strv_free(v, n);
	interps_release(interps, ninterps);
	return ret;
}

/* sys.path of an interpreter, run as the user runs it (environment and
 * site included), minus the script directory entry ('' for -c, absent
 * under -P/PYTHONSAFEPATH).  NULL after an error line. */
static char **sys_path_of(const struct pyc_interp *in, size_t *n)
{
	static const char code[] =
		"import sys, os\n"
		"first = 0 if getattr(sys.flags, 'safe_path', 0) else 1\n"
		"with os.fdopen(int(sys.argv[1]), 'wb') as f:\n"
		"    for p in sys.path[first:]:\n"
		"        if os.path.isdir(p):\n"
		"            f.write(os.fsencode(p) + b'\\0')\n";

	return cli_run_strv(in->path, code, n);
}

char **cli_sys_path(const struct pyc_interp *in, size_t *n)
{
	return sys_path_of(in, n);
}

/* The interpreters for NEEDS_PYTHONS. */
static int setup_pythons(struct cli_ctx *ctx, unsigned needs)
{
	if (!ctx->npythons && (needs & NEEDS_PYTHONS_GIVEN))
		return 0;
	if (!ctx->npythons && (needs & NEEDS_PYTHONS_ALL))
		return installed_interps(&ctx->interps, &ctx->ninterps);
	return named_interps(ctx, &ctx->interps, &ctx->ninterps);
}

/* A command that writes into the prefix (NEEDS_TRUST) refuses '/': its
 * mirror of each tree is the tree itself, pycs beside the system's
 * sources, which is --in-tree's job.  -1 after the error. */
static int refuse_root_prefix(const struct cli_ctx *ctx)
{
	struct stat a, b;

	if (stat(ctx->prefix, &a) < 0 || stat("/", &b) < 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return 0;
	return cli_error("refusing to %s: the prefix is / (from %s), which "
			 "would put pycs beside the sources; use --in-tree for "
			 "that", ctx->cmd->name, ctx->origin);
}

int cli_setup(struct cli_ctx *ctx)
{
	unsigned needs = ctx->cmd->needs;

	if ((needs & NEEDS_PREFIX) &&
	    resolve_prefix(ctx, &ctx->prefix, &ctx->origin) < 0)
		goto fail;
	if ((needs & NEEDS_TRUST) && ctx->prefix &&
	    refuse_root_prefix(ctx) < 0)
		goto fail;
	if ((needs & NEEDS_TRUST) && ctx->prefix && !ctx->dry_run &&
	    cli_prefix_trust(ctx->prefix, ctx->insecure) < 0)
		goto fail;
	if ((needs & NEEDS_TRUST_WARN) && ctx->prefix && !ctx->quiet)
		cli_prefix_trust(ctx->prefix, true);
	if ((needs & NEEDS_PYTHONS) && setup_pythons(ctx, needs) < 0)
		goto fail;
	if ((needs & NEEDS_INSTALLED) &&
	    installed_interps(&ctx->installed, &ctx->ninstalled) < 0)
		goto fail;
	return 0;
fail:
	cli_setup_release(ctx);
	return -1;
}

void cli_setup_release(struct cli_ctx *ctx)
{
	free(ctx->prefix);
	ctx->prefix = NULL;
	interps_release(ctx->interps, ctx->ninterps);
	ctx->interps = NULL;
	ctx->ninterps = 0;
	interps_release(ctx->installed, ctx->ninstalled);
	ctx->installed = NULL;
	ctx->ninstalled = 0;
}
