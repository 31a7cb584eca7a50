/*
 * cmd_migrate.c - pycprefix migrate: fresh in-tree pycs into the prefix.
 */
#include "cli.h"
#include "tidy_report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int cmd_migrate(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force-insecure", no_argument, NULL, 'I' },
		{ 0 },
	};
	struct cli_parser p = { .argc = argc, .argv = argv, .ctx = ctx,
				.shortopts = "n", .longopts = longopts };
	struct tidy_ui ui = { .ctx = ctx, .first = true };
	struct pyc_tidy_opts o = { 0 };
	struct pyc_tidy_stats st;
	struct pyc_interp *interps = NULL;
	size_t ninterps = 0;
	const char *dflt[] = { "." }, *origin;
	char *prefix;
	int c, ret;

	while ((c = cli_getopt(&p)) != -1) {
		switch (c) {
		case 'n':
			o.flags |= PYC_TIDY_DRY_RUN;
			break;
		case 'I':
			o.flags |= PYC_TIDY_INSECURE;
			break;
		case 'h':
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (ctx->in_tree)
		return cli_usage_error(ctx, "migrate moves pycs into a prefix: "
				       "--in-tree makes no sense here");
	if (cli_prefix(ctx, &prefix, &origin) < 0)
		return EXIT_USAGE;
	if (!(o.flags & PYC_TIDY_DRY_RUN) &&
	    cli_prefix_trust(prefix, o.flags & PYC_TIDY_INSECURE) < 0) {
		free(prefix);
		return EXIT_USAGE;
	}
	/* Without --python, every release tag moves, judged by its own
	 * interpreter's rules from the release tables. */
	if (ctx->npythons && cli_interps(ctx, &interps, &ninterps) < 0) {
		free(prefix);
		return EXIT_USAGE;
	}
	o.prefix = prefix;
	o.interps = interps;
	o.ninterps = ninterps;
	o.event = tidy_on_event;
	o.error = tidy_on_error;
	o.arg = &ui;
	ui.dry = o.flags & PYC_TIDY_DRY_RUN;
	tidy_begin(&ui);
	ret = pyc_migrate(&o, optind < argc ? (const char *const *)&argv[optind]
					   : dflt,
			  optind < argc ? (size_t)(argc - optind) : 1, &st);
	if (ret < 0 && ctx->json)
		fputs("]}\n", stdout);
	if (ret == PYC_TIDY_REFUSED)
		ret = tidy_refused("migrate", prefix, &st);
	else if (ret < 0)
		ret = cli_error("cannot use the prefix '%s': %s", prefix,
				strerror(errno));
	else
		ret = tidy_summary(&ui, &st, "moved or removed");
	free(st.refused_path);
	cli_interps_release(interps, ninterps);
	free(prefix);
	return ret;
}
