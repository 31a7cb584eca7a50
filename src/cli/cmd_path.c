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
	       const char *cwd, const char *file, bool *first)
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
		fputs(*first ? "\n  {" : ",\n  {", stdout);
		*first = false;
		json_key(stdout, "python");
		json_str(stdout, in->tag);
		fputs(", ", stdout);
		json_key(stdout, o->reverse ? "cache" : "source");
		json_str(stdout, file);
		fputs(", ", stdout);
		json_key(stdout, o->reverse ? "source" : "cache");
		json_str(stdout, out);
		if (o->reverse && !e)
			printf(", \"optimization\": %d", level);
		fputs(", ", stdout);
		json_key(stdout, "error");
		json_str(stdout, e ? err.msg : NULL);
		fputc('}', stdout);
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

int cmd_path(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "reverse", no_argument, NULL, 'r' },
		{ "null", no_argument, NULL, 'z' },
		{ 0 },
	};
	struct cli_parser p = { .argc = argc, .argv = argv, .ctx = ctx,
				.shortopts = "O:rz", .longopts = longopts };
	struct path_opts o = { .opt = 0, .end = '\n' };
	struct pyc_interp *interps = NULL;
	size_t ninterps = 0;
	char *prefix = NULL, cwdbuf[PATH_MAX];
	const char *cwd;
	const char *origin;
	bool first = true;
	int c, ret = EXIT_OK;

	while ((c = cli_getopt(&p)) != -1) {
		switch (c) {
		case 'O':
			if (cli_parse_int(optarg, 0, 2, &o.opt) < 0)
				return cli_usage_error(ctx, "-O takes 0, 1 or "
						       "2, not '%s'", optarg);
			break;
		case 'r':
			o.reverse = true;
			break;
		case 'z':
			o.end = '\0';
			break;
		case 'h':
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return cli_usage_error(ctx, "path needs at least one FILE");
	/* NULL when deleted: the library then fails only where CPython
	 * would call os.getcwd(). */
	cwd = getcwd(cwdbuf, sizeof(cwdbuf));
	if (cli_prefix(ctx, &prefix, &origin) < 0)
		return EXIT_USAGE;
	if (cli_interps(ctx, &interps, &ninterps) < 0) {
		free(prefix);
		return EXIT_USAGE;
	}
	if (ctx->json)
		fputc('[', stdout);
	for (int i = optind; i < argc; i++)
		for (size_t k = 0; k < ninterps; k++)
			if (one(ctx, &o, &interps[k], prefix, cwd, argv[i],
				&first) < 0)
				ret = EXIT_SOME;
	if (ctx->json)
		fputs(first ? "]\n" : "\n]\n", stdout);
	cli_interps_release(interps, ninterps);
	free(prefix);
	return ret;
}
