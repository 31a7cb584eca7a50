/*
 * cmd_clean.c - pycprefix clean: __pycache__ folders and legacy pycs out
 * of source trees.
 */
#include "cli.h"
#include "tidy_report.h"

#include <stdlib.h>

int cmd_clean(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "sourceless", no_argument, NULL, 'S' },
		{ 0 },
	};
	struct cli_parser p = { .argc = argc, .argv = argv, .ctx = ctx,
				.shortopts = "n", .longopts = longopts };
	struct tidy_ui ui = { .ctx = ctx, .first = true };
	struct pyc_tidy_opts o = { 0 };
	struct pyc_tidy_stats st;
	const char *dflt[] = { "." };
	int c, r;

	while ((c = cli_getopt(&p)) != -1) {
		switch (c) {
		case 'n':
			o.flags |= PYC_TIDY_DRY_RUN;
			break;
		case 'S':
			o.flags |= PYC_TIDY_SOURCELESS_TOO;
			break;
		case 'h':
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	o.event = tidy_on_event;
	o.error = tidy_on_error;
	o.arg = &ui;
	ui.dry = o.flags & PYC_TIDY_DRY_RUN;
	tidy_begin(&ui);
	r = pyc_clean(&o, optind < argc ? (const char *const *)&argv[optind]
				       : dflt,
		      optind < argc ? (size_t)(argc - optind) : 1, &st);
	if (r < 0 && ctx->json)
		fputs("]}\n", stdout);
	if (r == PYC_TIDY_REFUSED)
		r = tidy_refused("clean", NULL, &st);
	else if (r < 0)
		r = cli_error("out of memory");
	else
		r = tidy_summary(&ui, &st, "removed");
	free(st.refused_path);
	return r;
}
