/*
 * cmd_clean.c - pycprefix clean: __pycache__ folders and legacy pycs out
 * of source trees.
 */
#include "cli.h"
#include "tidy_report.h"

#include <stdlib.h>

static int parse_clean(int argc, char **argv, struct cli_ctx *ctx,
		       void *opts)
{
	return tidy_parse(argc, argv, ctx, opts, "sourceless",
			  PYC_TIDY_SOURCELESS_TOO);
}

static int cmd_clean(struct cli_ctx *ctx, void *opts)
{
	const char *const *paths;
	size_t npaths;

	paths = cli_paths(ctx, &npaths);
	return tidy_run(ctx, opts, pyc_clean, paths, npaths, NULL, "removed");
}

const struct cli_cmd cli_cmd_clean = {
	.name = "clean",
	.parse = parse_clean,
	.fn = cmd_clean,
	.opts_size = sizeof(struct pyc_tidy_opts),
	.takes = TAKES_JSON | TAKES_QUIET | TAKES_VERBOSE,
	.needs = 0,
	.usage = "[-n] [--sourceless] [PATH...]",
	.summary =
	"Remove __pycache__ folders and legacy pycs from source trees.",
	.help =
	"Removes the pycs in __pycache__ folders under each PATH (default: .)\n"
	"and the folders once empty, and .pyc/.pyo files beside their .py.\n"
	"A .pyc without its .py (a module shipped without source) stays\n"
	"unless --sourceless.  '/' is refused: name the trees to clean.\n"
	"The bytecode store is not a tree's: a directory named\n"
	".pycprefix-store is never entered, and the objects that removed\n"
	"pycs linked to stay for 'pycprefix prune' (--store DIR).\n\n"
	"Options:\n"
	"  -n, --dry-run      list what would be removed\n"
	"      --sourceless   also remove sourceless .pyc/.pyo files\n",
};
