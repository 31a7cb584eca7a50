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

static const struct option common_long[] = {
	{ "prefix", required_argument, NULL, OPT_PREFIX },
	{ "in-tree", no_argument, NULL, OPT_IN_TREE },
	{ "python", required_argument, NULL, OPT_PYTHON },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
};

#define NCOMMON (sizeof(common_long) / sizeof(common_long[0]))

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
	if (p->shortopts[0] == '+')
		snprintf(p->mshort, sizeof(p->mshort), "+:%sqvh",
			 p->shortopts + 1);
	else
		snprintf(p->mshort, sizeof(p->mshort), ":%sqvh", p->shortopts);
	for (const struct option *o = p->longopts; o && o->name; o++) {
		if (n + NCOMMON + 1 > sizeof(p->mlong) / sizeof(p->mlong[0]))
			return -1;
		p->mlong[n++] = *o;
	}
	for (size_t i = 0; i < NCOMMON; i++)
		p->mlong[n++] = common_long[i];
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
			if (!optarg[0])
				return cli_usage_error(ctx, "--prefix needs a "
						       "directory"), '?';
			ctx->prefix_opt = optarg;
			break;
		case OPT_IN_TREE:
			ctx->in_tree = true;
			break;
		case OPT_PYTHON:
			if (add_python(ctx, optarg) < 0)
				return cli_error("out of memory"), '?';
			break;
		case OPT_JSON:
			ctx->json = true;
			break;
		case 'q':
			ctx->quiet = true;
			break;
		case 'v':
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

static const char common_help[] =
	"Common options:\n"
	"      --prefix DIR   the cache prefix (default: $PYTHONPYCACHEPREFIX,\n"
	"                     else ${XDG_CACHE_HOME:-~/.cache}/pycprefix)\n"
	"      --in-tree      no prefix: __pycache__ beside the sources\n"
	"      --python PY    interpreter: a command, a path or a version such\n"
	"                     as 3.12 (default: python3)\n"
	"      --json         machine-readable output where there is data\n"
	"  -q, --quiet        less output\n"
	"  -v, --verbose      more output\n"
	"  -h, --help         this help\n";

void cli_help(const struct cli_cmd *cmd)
{
	printf("usage: pycprefix %s %s\n\n%s\n\n%s\n%s", cmd->name, cmd->usage,
	       cmd->summary, cmd->help, common_help);
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
	fprintf(stderr, "pycprefix: %s'%s' is %s (owner %s, mode %04o): %s\n",
		u->force ? "warning: " : "", path, pyc_trust_str(t),
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

int cli_interps(const struct cli_ctx *ctx, struct pyc_interp **v, size_t *n)
{
	static const char *const dflt[] = { "python3" };
	const char *const *specs = ctx->npythons ? ctx->pythons : dflt;
	size_t count = ctx->npythons ? ctx->npythons : 1;
	struct pyc_interp *arr = calloc(count, sizeof(*arr));

	*v = NULL;
	*n = 0;
	if (!arr)
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
