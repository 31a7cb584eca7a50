/*
 * cmd_run.c - pycprefix run: a command with the prefix in its
 * environment.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cmd_run(int argc, char **argv, struct cli_ctx *ctx)
{
	struct cli_parser p = { .argc = argc, .argv = argv, .ctx = ctx,
				.shortopts = "+", .longopts = NULL };
	const char *origin;
	char *prefix;
	int c, ret;

	while ((c = cli_getopt(&p)) != -1) {
		if (c == 'h')
			return EXIT_OK;
		return EXIT_USAGE;
	}
	if (optind >= argc)
		return cli_usage_error(ctx, "run needs a COMMAND");
	if (cli_prefix(ctx, &prefix, &origin) < 0)
		return EXIT_USAGE;
	if (prefix && !ctx->quiet)
		cli_prefix_trust(prefix, true);
	ret = prefix ? setenv("PYTHONPYCACHEPREFIX", prefix, 1)
		     : unsetenv("PYTHONPYCACHEPREFIX");
	free(prefix);
	if (ret < 0)
		return cli_error("cannot set PYTHONPYCACHEPREFIX: %s",
				 strerror(errno));
	fflush(stdout);
	execvp(argv[optind], &argv[optind]);
	/* As env(1): 127 when COMMAND is not found, 126 when it can't run. */
	ret = errno == ENOENT ? 127 : 126;
	cli_warn("cannot run '%s': %s", argv[optind], strerror(errno));
	return ret;
}
