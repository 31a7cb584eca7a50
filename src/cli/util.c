/*
 * util.c - what every command uses: option parsing with the common
 * options, messages, JSON strings, colour.
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	OPT_PREFIX = 1000,
	OPT_IN_TREE,
	OPT_PYTHON,
	OPT_JSON,
};

static const struct {
	struct option opt;
	unsigned takes;          /* 0: every command */
	const char *help;
} common[] = {
	{ { "prefix", required_argument, NULL, OPT_PREFIX }, TAKES_PREFIX,
	  "      --prefix DIR   the cache prefix (default: $PYTHONPYCACHEPREFIX,\n"
	  "                     else ${XDG_CACHE_HOME:-~/.cache}/pycprefix); a\n"
	  "                     relative one is taken against the current\n"
	  "                     directory, with a warning\n" },
	{ { "in-tree", no_argument, NULL, OPT_IN_TREE }, TAKES_IN_TREE,
	  "      --in-tree      no prefix: __pycache__ beside the sources\n" },
	{ { "python", required_argument, NULL, OPT_PYTHON }, TAKES_PYTHON,
	  "      --python PY    interpreter: a command, a path, a version such\n"
	  "                     as 3.12, or 3 for the newest 3.x installed\n"
	  "                     (default: python3); repeatable\n" },
	{ { "json", no_argument, NULL, OPT_JSON }, TAKES_JSON,
	  "      --json         machine-readable output on stdout\n" },
	{ { "quiet", no_argument, NULL, 'q' }, TAKES_QUIET,
	  "  -q, --quiet        only the data and the errors: no summary, no\n"
	  "                     warnings\n" },
	{ { "verbose", no_argument, NULL, 'v' }, TAKES_VERBOSE,
	  "  -v, --verbose      also list each file changed (compiled,\n"
	  "                     removed, moved), warnings, lists in full;\n"
	  "                     with -vv also each pyc found fresh\n" },
	{ { "help", no_argument, NULL, 'h' }, 0,
	  "  -h, --help         this help\n" },
};

#define NCOMMON (sizeof(common) / sizeof(common[0]))

/* The common options a parser offers: the command's, or all of them
 * before the command name (main() checks them against it). */
static unsigned offered(const struct cli_parser *p)
{
	return p->ctx->cmd ? p->ctx->cmd->takes : ~0u;
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("pycprefix: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("pycprefix: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

int cli_usage_error(const struct cli_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	const char *name = ctx->cmd ? ctx->cmd->name : NULL;

	fputs("pycprefix: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'pycprefix %s%s--help' for more information.\n",
		name ? name : "", name ? " " : "");
	return EXIT_USAGE;
}

static int merge(struct cli_parser *p)
{
	size_t n = 0, len = strlen(p->shortopts);

	if (len + 8 > sizeof(p->mshort))
		return -1;
	/* GNU getopt wants a leading '+' (stop at the first operand) before
	 * the ':' that asks for missing-argument reports. */
	unsigned takes = offered(p);
	bool plus = p->shortopts[0] == '+';

	snprintf(p->mshort, sizeof(p->mshort), "%s:%s%s%sh", plus ? "+" : "",
		 p->shortopts + plus, takes & TAKES_QUIET ? "q" : "",
		 takes & TAKES_VERBOSE ? "v" : "");
	for (const struct option *o = p->longopts; o && o->name; o++) {
		if (n + NCOMMON + 1 > sizeof(p->mlong) / sizeof(p->mlong[0]))
			return -1;
		p->mlong[n++] = *o;
	}
	for (size_t i = 0; i < NCOMMON; i++)
		if (!common[i].takes || (takes & common[i].takes))
			p->mlong[n++] = common[i].opt;
	memset(&p->mlong[n], 0, sizeof(p->mlong[n]));
	return 0;
}

static int add_python(struct cli_ctx *ctx, const char *spec)
{
	const char **v = realloc(ctx->pythons,
				 (ctx->npythons + 1) * sizeof(*v));

	if (!v)
		return -1;
	v[ctx->npythons++] = spec;
	ctx->pythons = v;
	return 0;
}

int cli_refuse_common(const struct cli_ctx *ctx, unsigned take)
{
	const char *name = cli_common_name(take);

	if (take == TAKES_IN_TREE && (ctx->cmd->takes & TAKES_PREFIX))
		return cli_usage_error(ctx, "'%s' does not take --in-tree: it "
				       "works on the prefix (for __pycache__ "
				       "folders see 'pycprefix clean')",
				       ctx->cmd->name);
	if (take == TAKES_QUIET || take == TAKES_VERBOSE)
		return cli_usage_error(ctx, "'%s' does not take -%c (--%s)",
				       ctx->cmd->name, name[0], name);
	return cli_usage_error(ctx, "'%s' does not take --%s", ctx->cmd->name,
			       name);
}

/* A common option the command does not take: the usage error, true. */
static bool refused_common(const struct cli_ctx *ctx, const char *arg,
			   int opt)
{
	for (size_t i = 0; ctx->cmd && i < NCOMMON; i++) {
		const char *name = common[i].opt.name;
		size_t n = strlen(name);
		bool match = opt ? common[i].opt.val == opt
				 : strncmp(arg, "--", 2) == 0 &&
					   strncmp(arg + 2, name, n) == 0 &&
					   (!arg[n + 2] || arg[n + 2] == '=');
		if (match && common[i].takes) {
			cli_refuse_common(ctx, common[i].takes);
			return true;
		}
	}
	return false;
}

int cli_getopt(struct cli_parser *p)
{
	struct cli_ctx *ctx = p->ctx;
	int c;

	if (!p->mshort[0] && merge(p) < 0)
		return cli_usage_error(ctx, "internal: too many options"), '?';
	for (;;) {
		c = getopt_long(p->argc, p->argv, p->mshort, p->mlong, NULL);
		switch (c) {
		case OPT_PREFIX:
			ctx->seen |= TAKES_PREFIX;
			if (!optarg[0])
				return cli_usage_error(ctx, "--prefix needs a "
						       "directory"), '?';
			ctx->prefix_opt = optarg;
			break;
		case OPT_IN_TREE:
			ctx->seen |= TAKES_IN_TREE;
			ctx->in_tree = true;
			break;
		case OPT_PYTHON:
			ctx->seen |= TAKES_PYTHON;
			if (add_python(ctx, optarg) < 0)
				return cli_error("out of memory"), '?';
			break;
		case OPT_JSON:
			ctx->seen |= TAKES_JSON;
			ctx->json = true;
			break;
		case 'q':
			ctx->seen |= TAKES_QUIET;
			ctx->quiet = true;
			break;
		case 'v':
			ctx->seen |= TAKES_VERBOSE;
			ctx->verbose++;
			break;
		case 'h':
			if (ctx->cmd)
				cli_help(ctx->cmd);
			return 'h';
		case ':':
			return cli_usage_error(ctx, "option '%s' needs a value",
					       p->argv[optind - 1]), '?';
		case '?':
			if (refused_common(ctx, p->argv[optind - 1], optopt))
				return '?';
			if (optopt)
				return cli_usage_error(ctx, "unknown option "
						       "'-%c'", optopt), '?';
			return cli_usage_error(ctx, "unknown option '%s'",
					       p->argv[optind - 1]), '?';
		default:
			return c;
		}
	}
}

void cli_help(const struct cli_cmd *cmd)
{
	printf("usage: pycprefix %s %s\n\n%s\n\n%s\nCommon options:\n",
	       cmd->name, cmd->usage, cmd->summary, cmd->help);
	for (size_t i = 0; i < NCOMMON; i++)
		if (!common[i].takes || (cmd->takes & common[i].takes))
			fputs(common[i].help, stdout);
}

const char *cli_common_name(unsigned take)
{
	for (size_t i = 0; i < NCOMMON; i++)
		if (common[i].takes == take)
			return common[i].opt.name;
	return "?";
}

void cli_common_help(FILE *f)
{
	for (size_t i = 0; i < NCOMMON; i++)
		fputs(common[i].help, f);
}

void cli_human_bytes(char *out, size_t n, uint64_t b)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	int u = 0;

	while (v >= 1024 && u < 4)
		v /= 1024, u++;
	snprintf(out, n, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

int cli_parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

char *cli_absolute(const char *path)
{
	char cwd[PATH_MAX];
	size_t n;
	char *out;

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	while (path[0] == '.' && path[1] == '/')
		path += 2 + strspn(path + 2, "/");
	if (!path[0] || strcmp(path, ".") == 0)
		return strdup(cwd);
	n = strlen(cwd) + 1 + strlen(path) + 1;
	if (!(out = malloc(n)))
		return NULL;
	snprintf(out, n, "%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "", path);
	return out;
}

bool cli_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n && dir[n - 1] == '/')
		n--;
	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

char *cli_pyc_arg(const char *prefix, const char *pyc)
{
	char *abs;

	if (!prefix || pyc[0] == '/' || !(abs = cli_absolute(pyc)))
		return strdup(pyc);
	if (cli_under(abs, prefix))
		return abs;
	free(abs);
	return strdup(pyc);
}

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

int cli_prefix(const struct cli_ctx *ctx, char **prefix, const char **origin)
{
	*prefix = NULL;
	*origin = "--in-tree";
	if (ctx->in_tree) {
		if (ctx->prefix_opt)
			return cli_usage_error(ctx, "--prefix and --in-tree "
					       "exclude each other"), -1;
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
				 strerror(errno)), -1;
	if (u.n && !force) {
		cli_error("refusing to write into a prefix other users can "
			  "change (--force-insecure writes anyway; see "
			  "'pycprefix doctor')");
		return -1;
	}
	return 0;
}

/* --python all: every interpreter found, and only that. */
static int all_interps(const struct cli_ctx *ctx, struct pyc_interp **v,
		       size_t *n)
{
	if (ctx->npythons > 1)
		return cli_error("--python all names every interpreter: give "
				 "it alone"), -1;
	if (cli_all_interps(v, n) < 0 || !*n) {
		cli_interps_release(*v, *n);
		*v = NULL;
		*n = 0;
		return cli_error("no usable CPython found for --python all "
				 "(see 'pycprefix pythons')"), -1;
	}
	return 0;
}

int cli_interps(const struct cli_ctx *ctx, struct pyc_interp **v, size_t *n)
{
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
		return cli_error("out of memory"), -1;
	size_t got = 0;

	for (size_t i = 0; i < count; i++) {
		struct pyc_error err = { { 0 } };
		bool dup = false;

		if (pyc_interp_resolve(specs[i], 0, &arr[got], &err) < 0) {
			cli_error("%s", err.msg);
			cli_interps_release(arr, got);
			return -1;
		}
		/* The same interpreter named twice ("3.12" and its path)
		 * is used once. */
		for (size_t k = 0; k < got; k++)
			dup |= strcmp(arr[k].real, arr[got].real) == 0;
		if (dup)
			pyc_interp_release(&arr[got]);
		else
			got++;
	}
	*v = arr;
	*n = got;
	return 0;
}

void cli_interps_release(struct pyc_interp *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pyc_interp_release(&v[i]);
	free(v);
}

/* Length of the valid UTF-8 sequence at s (strict), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t c = s[0];

	if (c >= 0xC2 && c <= 0xDF)
		len = 2, c &= 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3, c &= 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, c &= 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3F);
	}
	if ((len == 3 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))) ||
	    (len == 4 && (c < 0x10000 || c > 0x10FFFF)))
		return 0;
	return len;
}

void json_strn(FILE *f, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t len;

		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
		} else if (c == '\n') {
			fputs("\\n", f);
		} else if (c == '\t') {
			fputs("\\t", f);
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
		} else if (c < 0x80) {
			fputc(c, f);
		} else if ((len = utf8_len(s + i, n - i))) {
			fwrite(s + i, 1, len, f);
			i += len;
			continue;
		} else {
			/* Undecodable byte: Python's surrogateescape, so that
			 * json.loads() + os.fsencode() give the bytes back. */
			fprintf(f, "\\udc%02x", c);
		}
		i++;
	}
	fputc('"', f);
}

void json_str(FILE *f, const char *s)
{
	if (!s)
		fputs("null", f);
	else
		json_strn(f, s, strlen(s));
}

void json_key(FILE *f, const char *key)
{
	json_str(f, key);
	fputs(": ", f);
}

const char *color(const struct cli_ctx *ctx, const char *esc)
{
	return ctx->color ? esc : "";
}

const char *color_e(const struct cli_ctx *ctx, const char *esc)
{
	return ctx->color_err ? esc : "";
}

int cli_level_arg(const struct cli_ctx *ctx, const char *arg, bool seen[3])
{
	long v;

	if (cli_parse_int(arg, 0, 2, &v) < 0)
		return cli_usage_error(ctx, "-O takes 0, 1 or 2, not '%s'", arg);
	seen[v] = true;
	return 0;
}

int cli_levels(const bool seen[3], int levels[3])
{
	int n = 0;

	for (int l = 0; l < 3; l++)
		if (seen[l])
			levels[n++] = l;
	if (!n)
		levels[n++] = 0;
	return n;
}

int cli_all_interps(struct pyc_interp **v, size_t *n)
{
	struct pyc_interp_list list;

	*v = NULL;
	*n = 0;
	if (pyc_interp_discover(&list) < 0)
		return -1;
	*v = calloc(list.n ? list.n : 1, sizeof(**v));
	if (!*v) {
		pyc_interp_list_release(&list);
		return -1;
	}
	for (size_t i = 0; i < list.n; i++) {
		bool dup = false;
		if (list.rejected[i])
			continue;
		for (size_t k = 0; k < *n; k++)
			dup |= strcmp((*v)[k].tag, list.v[i].tag) == 0;
		if (!dup && pyc_interp_copy(&(*v)[(*n)++], &list.v[i]) < 0) {
			pyc_interp_list_release(&list);
			return -1;
		}
	}
	pyc_interp_list_release(&list);
	return 0;
}

char **cli_run_strv(const char *exe, const char *code, size_t *n)
{
	struct pyc_error err = { { 0 } };
	char **v = pyc_interp_ask(exe, code, n, &err);

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
	if (cli_interps(ctx, &interps, &ninterps) < 0)
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
	cli_interps_release(interps, ninterps);
	return ret;
}
