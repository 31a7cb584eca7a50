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
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "sourceless", no_argument, NULL, 'S' },
		{ 0 },
	};
	struct cli_parser p = { .argc = argc, .argv = argv, .ctx = ctx,
				.shortopts = "n", .longopts = longopts };
	struct pyc_tidy_opts *o = opts;
	int c;

	while ((c = cli_getopt(&p)) != -1) {
		if (c == 'n')
			o->flags |= PYC_TIDY_DRY_RUN;
		else if (c == 'S')
			o->flags |= PYC_TIDY_SOURCELESS_TOO;
		else
			return cli_opt_stop(c);
	}
	return 0;
}

static int cmd_clean(struct cli_ctx *ctx, void *opts)
{
	struct pyc_tidy_opts *o = opts;
	struct tidy_ui ui = { .ctx = ctx,
			      .dry = o->flags & PYC_TIDY_DRY_RUN };
	struct pyc_tidy_stats st;
	const char *const *paths;
	size_t npaths;
	int r;

	o->event = tidy_on_event;
	o->error = tidy_on_error;
	o->arg = &ui;
	paths = cli_paths(ctx, &npaths);
	tidy_begin(&ui);
	r = pyc_clean(o, paths, npaths, &st);
	r = tidy_report(&ui, r, NULL, NULL, &st, "removed");
	free(st.refused_path);
	return r;
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
	"unless --sourceless.  '/' is refused: name the trees to clean.\n\n"
	"Options:\n"
	"  -n, --dry-run      list what would be removed\n"
	"      --sourceless   also remove sourceless .pyc/.pyo files\n",
};
