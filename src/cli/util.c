/*
 * util.c - what every command uses: option parsing with the common
 * options (and -O), help, messages, small parsers, paths, colour.
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
	  "                     as 3.12 or 3.11.7, 3 for the newest 3.x\n"
	  "                     installed, or a cache tag such as cpython-311\n"
	  "                     (default: %s); repeatable\n" },
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

/* "pycprefix: " + the message + newline on stderr. */
static void vmessage(const char *fmt, va_list ap)
{
	fputs("pycprefix: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
}

int cli_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	return -1;
}

int cli_usage_error(const struct cli_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	const char *name = ctx->cmd ? ctx->cmd->name : NULL;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try 'pycprefix %s%s--help' for more information.\n",
		name ? name : "", name ? " " : "");
	return -1;
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

	bool levels = p->ctx->cmd && (p->ctx->cmd->needs & NEEDS_LEVELS);

	snprintf(p->mshort, sizeof(p->mshort), "%s:%s%s%s%sh",
		 plus ? "+" : "", p->shortopts + plus,
		 takes & TAKES_QUIET ? "q" : "",
		 takes & TAKES_VERBOSE ? "v" : "", levels ? "O:" : "");
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

/* A repeatable -O: record level `arg` in seen[]; 0, or -1 after the
 * message. */
static int level_arg(const struct cli_ctx *ctx, const char *arg,
		     bool seen[3])
{
	long v;

	if (cli_parse_int(arg, 0, 2, &v) < 0)
		return cli_usage_error(ctx, "-O takes 0, 1 or 2, not '%s'", arg);
	seen[v] = true;
	return 0;
}

/* seen[] as ascending levels (0 when none): their count. */
static int levels_of(const bool seen[3], int levels[3])
{
	int n = 0;

	for (int l = 0; l < 3; l++)
		if (seen[l])
			levels[n++] = l;
	if (!n)
		levels[n++] = 0;
	return n;
}

int cli_getopt(struct cli_parser *p)
{
	struct cli_ctx *ctx = p->ctx;
	int c;

	if (!p->mshort[0] && merge(p) < 0) {
		cli_usage_error(ctx, "internal: too many options");
		return '?';
	}
	for (;;) {
		c = getopt_long(p->argc, p->argv, p->mshort, p->mlong, NULL);
		switch (c) {
		case 'O':
			if (!ctx->cmd || !(ctx->cmd->needs & NEEDS_LEVELS))
				return c; /* the command's own (path) */
			if (level_arg(ctx, optarg, ctx->levels_seen) < 0)
				return '?';
			break;
		case -1:
			ctx->nlevels = levels_of(ctx->levels_seen, ctx->levels);
			return -1;
		case OPT_PREFIX:
			ctx->seen |= TAKES_PREFIX;
			if (!optarg[0]) {
				cli_usage_error(ctx, "--prefix needs a "
						"directory");
				return '?';
			}
			ctx->prefix_opt = optarg;
			break;
		case OPT_IN_TREE:
			ctx->seen |= TAKES_IN_TREE;
			ctx->in_tree = true;
			break;
		case OPT_PYTHON:
			ctx->seen |= TAKES_PYTHON;
			if (add_python(ctx, optarg) < 0) {
				cli_error("out of memory");
				return '?';
			}
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
			cli_usage_error(ctx, "option '%s' needs a value",
					p->argv[optind - 1]);
			return '?';
		case '?':
			if (refused_common(ctx, p->argv[optind - 1], optopt))
				return '?';
			if (optopt)
				cli_usage_error(ctx, "unknown option '-%c'",
						optopt);
			else
				cli_usage_error(ctx, "unknown option '%s'",
						p->argv[optind - 1]);
			return '?';
		default:
			return c;
		}
	}
}

int cli_opt_stop(int c)
{
	return c == 'h' ? CLI_DONE : -1;
}

int cli_parse_none(int argc, char **argv, struct cli_ctx *ctx, void *opts)
{
	struct cli_parser p = { .argc = argc, .argv = argv, .ctx = ctx,
				.shortopts = "", .longopts = NULL };
	int c;

	(void)opts;
	if ((c = cli_getopt(&p)) != -1)
		return cli_opt_stop(c);
	return 0;
}

const char *const *cli_paths(const struct cli_ctx *ctx, size_t *n)
{
	static const char *const dot[] = { "." };

	*n = ctx->nargs ? (size_t)ctx->nargs : 1;
	return ctx->nargs ? (const char *const *)ctx->args : dot;
}

/* What --python means when it is not given: what cli_setup() does for
 * the command's needs (NULL: for every command, at the top level). */
static const char *python_default(const struct cli_cmd *cmd)
{
	if (!cmd)
		return "python3; doctor: all found";
	if (cmd->needs & NEEDS_PYTHONS_ALL)
		return "all found";
	if (cmd->needs & NEEDS_PYTHONS_GIVEN)
		return "none";
	return "python3";
}

/* One common option's help, the default of --python filled in. */
static void common_help(FILE *f, size_t i, const struct cli_cmd *cmd)
{
	if (common[i].takes == TAKES_PYTHON)
		fprintf(f, common[i].help, python_default(cmd));
	else
		fputs(common[i].help, f);
}

void cli_help(const struct cli_cmd *cmd)
{
	printf("usage: pycprefix %s %s\n\n%s\n\n%s\nCommon options:\n",
	       cmd->name, cmd->usage, cmd->summary, cmd->help);
	for (size_t i = 0; i < NCOMMON; i++)
		if (!common[i].takes || (cmd->takes & common[i].takes))
			common_help(stdout, i, cmd);
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
		common_help(f, i, NULL);
}

void cli_human_bytes(char *out, size_t n, uint64_t b)
{
	static const char *const unit[] = { "B",   "KiB", "MiB", "GiB",
					    "TiB", "PiB", "EiB" };
	double v = (double)b;
	int u = 0;

	while (v >= 1024 && u < 6)
		v /= 1024, u++;
	snprintf(out, n, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

bool cli_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
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

const char *color(const struct cli_ctx *ctx, const char *esc)
{
	return ctx->color ? esc : "";
}

const char *color_e(const struct cli_ctx *ctx, const char *esc)
{
	return ctx->color_err ? esc : "";
}


char *cli_path_join(const char *a, const char *b)
{
	char *out;
	size_t la = strlen(a);

	if (b[0] == '/' || !la)
		return strdup(b);
	if (asprintf(&out, "%s%s%s", a, a[la - 1] == '/' ? "" : "/", b) < 0)
		return NULL;
	return out;
}

char *cli_resolve(const char *p)
{
	char *abs = cli_absolute(p), *res = NULL, *slash, *head;

	if (!abs)
		return NULL;
	if ((res = realpath(abs, NULL)) || !(slash = strrchr(abs, '/')) ||
	    slash == abs) {
		if (!res)
			res = strdup(abs);
		free(abs);
		return res;
	}
	*slash = '\0';
	if ((head = cli_resolve(abs)))
		res = cli_path_join(head, slash + 1);
	free(head);
	free(abs);
	return res;
}

bool cli_link_outside(const char *file, const char *dir)
{
	char *l = cli_resolve(dir), *f = cli_resolve(file);
	size_t n = l ? strlen(l) : 0;
	bool out = true;

	if (l && f) {
		if (n == 1 && l[0] == '/')
			out = strcmp(f, "/") == 0;
		else
			out = !(strncmp(f, l, n) == 0 && f[n] == '/');
	}
	free(l);
	free(f);
	return out;
}

/* Python's str.strip() of [s, e) for ASCII whitespace. */
static void strip_span(const char **s, const char **e)
{
	static const char ws[] = " \t\n\v\f\r\x1c\x1d\x1e\x1f";

	while (*s < *e && memchr(ws, **s, sizeof(ws) - 1))
		(*s)++;
	while (*e > *s && memchr(ws, (*e)[-1], sizeof(ws) - 1))
		(*e)--;
}

static int push_line(char ***v, size_t *n, const char *s, const char *e)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(*nv));

	if (!nv)
		return -1;
	*v = nv;
	strip_span(&s, &e);
	if (!(nv[*n] = strndup(s, (size_t)(e - s))))
		return -1;
	nv[++*n] = NULL;
	return 0;
}

char **cli_read_lines(const char *file, size_t *n)
{
	FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "re");
	char *buf = NULL, **v = calloc(1, sizeof(*v));
	size_t cap = 0, len = 0;
	int fail = !f || !v;

	*n = 0;
	while (!fail && !feof(f)) {
		if (len + 4096 > cap) {
			char *nb = realloc(buf, cap = 2 * cap + 8192);
			if (!(fail = !nb))
				buf = nb;
			else
				break;
		}
		len += fread(buf + len, 1, cap - len, f);
		fail = ferror(f);
	}
	/* universal newlines: \n, \r\n and \r end a line */
	for (size_t i = 0, start = 0; !fail && i <= len; i++) {
		if (i < len && buf[i] != '\n' && buf[i] != '\r')
			continue;
		if (i < len || start < len)
			fail = push_line(&v, n, buf + start, buf + i) < 0;
		if (i + 1 < len && buf[i] == '\r' && buf[i + 1] == '\n')
			i++;
		start = i + 1;
	}
	if (f && f != stdin)
		fclose(f);
	free(buf);
	if (fail) {
		int e = errno;
		cli_strv_free(v, *n);
		*n = 0;
		errno = e;
		return NULL;
	}
	return v;
}

char *cli_strip_prepend(const char *path, const char *strip,
			const char *prepend)
{
	size_t n = strip ? strlen(strip) : 0;
	const char *rest = path;
	char *out;

	/* str.split('/') part-wise prefix: "a/b" strips "a/b/c", not "a/bc" */
	while (n > 1 && strip[n - 1] == '/')
		n--;
	if (strip && strncmp(path, strip, n) == 0 &&
	    (path[n] == '/' || (n == 1 && strip[0] == '/'))) {
		rest = path + n + (path[n] == '/');
		if (!*rest)
			rest = path;
	}
	if (!prepend)
		return strdup(rest);
	out = cli_path_join(prepend, rest);
	return out;
}
