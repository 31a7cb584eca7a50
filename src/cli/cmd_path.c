/*
 * cmd_path.c - pycprefix path: where CPython keeps a source's bytecode.
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct path_opts {
	long opt;
	bool reverse;
	char end;
};

/* One FILE for one interpreter; prints the result or the error. */
static int one(const struct cli_ctx *ctx, const struct path_opts *o,
	       const struct pyc_interp *in, const char *prefix,
	       const char *cwd, const char *file)
{
	struct pyc_error err = { { 0 } };
	enum pyc_path_error e;
	char *out = NULL;
	int level = 0;

	if (o->reverse) {
		char *pyc = cli_pyc_arg(prefix, file);
		e = pyc ? pyc_source_from_cache(in, prefix, pyc, &out, &level,
						&err)
			: PYC_PATH_NOMEM;
		if (!pyc)
			snprintf(err.msg, sizeof(err.msg), "out of memory");
		free(pyc);
	} else
		e = pyc_cache_from_source(in, prefix, cwd, file, (int)o->opt,
					  &out, &err);
	if (ctx->json) {
		struct json_writer *w = ctx->out;

		json_object(w, NULL);
		json_string(w, "python", in->tag);
		json_string(w, o->reverse ? "cache" : "source", file);
		json_string(w, o->reverse ? "source" : "cache", out);
		if (o->reverse && !e)
			json_int(w, "optimization", level);
		json_string(w, "error", e ? err.msg : NULL);
		json_end(w);
	} else if (!e) {
		/* -z is for programs: the bytes as they are. */
		fputs(o->end ? cli_qpath(out) : out, stdout);
		fputc(o->end, stdout);
	}
	if (e)
		cli_warn("%s", err.msg);
	free(out);
	return e ? -1 : 0;
}

static int parse_path(int argc, char **argv, struct cli_ctx *ctx,
		      void *opts)
{
	static const struct option longopts[] = {
		{ "reverse", no_argument, NULL, 'r' },
		{ "null", no_argument, NULL, 'z' },
		{ 0 },
	};
	struct cli_parser p = { .argc = argc, .argv = argv, .ctx = ctx,
				.shortopts = "O:rz", .longopts = longopts };
	struct path_opts *o = opts;
	int c;

	o->end = '\n';
	while ((c = cli_getopt(&p)) != -1) {
		switch (c) {
		case 'O':
			if (cli_parse_int(optarg, 0, 2, &o->opt) < 0)
				return cli_usage_error(ctx, "-O takes 0, 1 or "
						       "2, not '%s'", optarg);
			break;
		case 'r':
			o->reverse = true;
			break;
		case 'z':
			o->end = '\0';
			break;
		default:
			return cli_opt_stop(c);
		}
	}
	if (optind >= argc)
		return cli_usage_error(ctx, "path needs at least one FILE");
	return 0;
}

static int cmd_path(struct cli_ctx *ctx, void *opts)
{
	const struct path_opts *o = opts;
	char cwdbuf[PATH_MAX];
	/* NULL when deleted: the library then fails only where CPython
	 * would call os.getcwd(). */
	const char *cwd = getcwd(cwdbuf, sizeof(cwdbuf));
	int ret = EXIT_OK;

	if (ctx->json)
		json_lines(ctx->out, NULL);
	for (int i = 0; i < ctx->nargs; i++)
		for (size_t k = 0; k < ctx->ninterps; k++)
			if (one(ctx, o, &ctx->interps[k], ctx->prefix, cwd,
				ctx->args[i]) < 0)
				ret = EXIT_SOME;
	if (ctx->json)
		json_end(ctx->out);
	return ret;
}

const struct cli_cmd cli_cmd_path = {
	.name = "path",
	.parse = parse_path,
	.fn = cmd_path,
	.opts_size = sizeof(struct path_opts),
	.takes = TAKES_PREFIX | TAKES_IN_TREE | TAKES_PYTHON | TAKES_JSON,
	.needs = NEEDS_PREFIX | NEEDS_PYTHONS,
	.usage = "[-O LEVEL] [--reverse] [-z] FILE...",
	.summary =
	"Print where the interpreter reads and writes each source's pyc.",
	.help =
	"Each FILE is taken as CPython takes it: relative to the current\n"
	"directory, never normalised, symlinks not resolved; with\n"
	"--reverse, a relative pyc inside the prefix as its absolute path.\n\n"
	"Options:\n"
	"  -O LEVEL           optimization level 0, 1 or 2 (default 0)\n"
	"  -r, --reverse      FILEs are pycs: print their sources\n"
	"  -z, --null         end each path with NUL instead of newline\n",
};
