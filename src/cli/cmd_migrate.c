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
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force-insecure", no_argument, NULL, 'I' },
		{ 0 },
	};
	struct cli_parser p = { .argc = argc, .argv = argv, .ctx = ctx,
				.shortopts = "n", .longopts = longopts };
	struct pyc_tidy_opts *o = opts;
	int c;

	while ((c = cli_getopt(&p)) != -1) {
		if (c == 'n')
			o->flags |= PYC_TIDY_DRY_RUN;
		else if (c == 'I')
			o->flags |= PYC_TIDY_INSECURE;
		else
			return cli_opt_stop(c);
	}
	ctx->dry_run = o->flags & PYC_TIDY_DRY_RUN;
	ctx->insecure = o->flags & PYC_TIDY_INSECURE;
	return 0;
}

static int cmd_migrate(struct cli_ctx *ctx, void *opts)
{
	struct pyc_tidy_opts *o = opts;
	struct tidy_ui ui = { .ctx = ctx,
			      .dry = o->flags & PYC_TIDY_DRY_RUN };
	struct pyc_tidy_stats st;
	const char *const *paths;
	size_t npaths;
	int ret;

	/* Without --python (no interpreters), every release tag moves,
	 * judged by its own interpreter's rules from the release tables. */
	o->prefix = ctx->prefix;
	o->interps = ctx->interps;
	o->ninterps = ctx->ninterps;
	o->event = tidy_on_event;
	o->error = tidy_on_error;
	o->arg = &ui;
	paths = cli_paths(ctx, &npaths);
	tidy_begin(&ui);
	ret = pyc_migrate(o, paths, npaths, &st);
	ret = tidy_report(&ui, ret, "cannot use the prefix", ctx->prefix, &st,
			  "moved or removed");
	free(st.refused_path);
	return ret;
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
