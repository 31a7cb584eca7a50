/*
 * cmd_migrate.c - pycprefix migrate: fresh in-tree pycs into the prefix.
 */
#include "cli.h"
#include "tidy_report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int parse_migrate(int argc, char **argv, struct cli_ctx *ctx,
			 void *opts)
{
	return tidy_parse(argc, argv, ctx, opts, "force-insecure",
			  PYC_TIDY_INSECURE);
}

static int cmd_migrate(struct cli_ctx *ctx, void *opts)
{
	struct pyc_tidy_opts *o = opts;
	const char *const *paths;
	size_t npaths;

	/* Without --python (no interpreters), every release tag moves,
	 * judged by its own interpreter's rules from the release tables. */
	o->prefix = ctx->prefix;
	o->interps = ctx->interps;
	o->ninterps = ctx->ninterps;
	paths = cli_paths(ctx, &npaths);
	return tidy_run(ctx, o, pyc_migrate, paths, npaths,
			"cannot use the prefix", "moved or removed");
}

const struct cli_cmd cli_cmd_migrate = {
	.name = "migrate",
	.parse = parse_migrate,
	.fn = cmd_migrate,
	.opts_size = sizeof(struct pyc_tidy_opts),
	.takes = TAKES_PREFIX | TAKES_PYTHON | TAKES_JSON | TAKES_QUIET |
		 TAKES_VERBOSE,
	.needs = NEEDS_PREFIX | NEEDS_TRUST | NEEDS_PYTHONS |
		 NEEDS_PYTHONS_GIVEN,
	.usage = "[-n] [PATH...]",
	.summary =
	"Move fresh in-tree pycs into the prefix instead of recompiling.",
	.help =
	"Each __pycache__/NAME.TAG.pyc under PATH (default: .) that is fresh\n"
	"for its source moves to where that interpreter reads it under the\n"
	"prefix (a rename, or a copy across file systems); stale ones are\n"
	"removed; emptied __pycache__ folders too.  With --python, only\n"
	"those interpreters' pycs move.  A prefix that is '/' or holds\n"
	"sources or __pycache__ folders is no cache: refused.\n\n"
	"Options:\n"
	"  -n, --dry-run      list what would move\n"
	"      --force-insecure  move even when other users can change\n"
	"                     the prefix (see 'pycprefix doctor')\n",
};
