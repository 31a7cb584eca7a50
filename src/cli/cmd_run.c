/*
 * cmd_run.c - pycprefix run: a command with the prefix in its
 * environment.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "+": options end at COMMAND, whose own options are its own. */
static int parse_run(int argc, char **argv, struct cli_ctx *ctx, void *opts)
{
	struct cli_parser p = { .argc = argc, .argv = argv, .ctx = ctx,
				.shortopts = "+", .longopts = NULL };
	int c;

	(void)opts;
	if ((c = cli_getopt(&p)) != -1)
		return cli_opt_stop(c);
	if (optind >= argc)
		return cli_usage_error(ctx, "run needs a COMMAND");
	return 0;
}

static int cmd_run(struct cli_ctx *ctx, void *opts)
{
	int e;

	(void)opts;
	if (ctx->prefix ? setenv("PYTHONPYCACHEPREFIX", ctx->prefix, 1) < 0
			: unsetenv("PYTHONPYCACHEPREFIX") < 0)
		return cli_error("cannot set PYTHONPYCACHEPREFIX: %s",
				 strerror(errno));
	fflush(stdout);
	execvp(ctx->args[0], ctx->args);
	e = errno;
	cli_warn("cannot run '%s': %s", ctx->args[0], strerror(e));
	/* As env(1): 127 when COMMAND is not found, 126 when it can't run. */
	return e == ENOENT ? 127 : 126;
}

const struct cli_cmd cli_cmd_run = {
	.name = "run",
	.parse = parse_run,
	.fn = cmd_run,
	.takes = TAKES_PREFIX | TAKES_IN_TREE | TAKES_QUIET,
	.needs = NEEDS_PREFIX | NEEDS_TRUST_WARN,
	.usage = "[--] COMMAND [ARG...]",
	.summary = "Run COMMAND with PYTHONPYCACHEPREFIX set to the prefix.",
	.help =
	"COMMAND's exit status is pycprefix's.  With --in-tree,\n"
	"PYTHONPYCACHEPREFIX is removed from COMMAND's environment.\n",
};
