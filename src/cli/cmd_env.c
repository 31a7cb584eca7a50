/*
 * cmd_env.c - pycprefix env: the shell line that wires the prefix in.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum shell { SH, FISH, CSH };

static int shell_parse(const char *name, enum shell *sh)
{
	const char *base = strrchr(name, '/');

	base = base ? base + 1 : name;
	if (!strcmp(base, "sh") || !strcmp(base, "bash") ||
	    !strcmp(base, "zsh") || !strcmp(base, "dash") ||
	    !strcmp(base, "ksh") || !strcmp(base, "mksh") ||
	    !strcmp(base, "ash") || !strcmp(base, "yash") ||
	    !strcmp(base, "posh"))
		*sh = SH;
	else if (!strcmp(base, "fish"))
		*sh = FISH;
	else if (!strcmp(base, "csh") || !strcmp(base, "tcsh"))
		*sh = CSH;
	else
		return -1;
	return 0;
}

/* Single-quote s for the shell: sh closes and escapes quotes, fish
 * escapes quote and backslash, csh also escapes '!' and newlines. */
static void put_quoted(enum shell sh, const char *s)
{
	putchar('\'');
	for (; *s; s++) {
		if (*s == '\'' && sh == SH)
			fputs("'\\''", stdout);
		else if ((*s == '\'' || *s == '\\') && sh == FISH)
			printf("\\%c", *s);
		else if (*s == '\'' && sh == CSH)
			fputs("'\\''", stdout);
		else if ((*s == '!' || *s == '\n') && sh == CSH)
			printf("\\%c", *s);
		else
			putchar(*s);
	}
	putchar('\'');
}

struct env_opts {
	enum shell sh;
};

static int parse_env(int argc, char **argv, struct cli_ctx *ctx, void *opts)
{
	static const struct option longopts[] = {
		{ "shell", required_argument, NULL, 's' },
		{ 0 },
	};
	struct cli_parser p = { .argc = argc, .argv = argv, .ctx = ctx,
				.shortopts = "", .longopts = longopts };
	struct env_opts *o = opts;
	const char *shname = getenv("SHELL");
	int c;

	o->sh = SH;
	while ((c = cli_getopt(&p)) != -1) {
		switch (c) {
		case 's':
			shname = optarg;
			if (shell_parse(shname, &o->sh) < 0)
				return cli_usage_error(ctx, "unknown shell "
						       "'%s': use sh, bash, "
						       "zsh, fish or csh",
						       shname);
			break;
		default:
			return cli_opt_stop(c);
		}
	}
	if (optind < argc)
		return cli_usage_error(ctx, "env takes no operands");
	/* A line in the wrong syntax would be worse than none: eval runs
	 * whatever it was given.  Without $SHELL (cron, a Dockerfile's RUN)
	 * sh is the safe guess. */
	if (shname && shname[0] && !ctx->json &&
	    shell_parse(shname, &o->sh) < 0) {
		const char *base = strrchr(shname, '/');
		return cli_error("$SHELL is %s, a shell env does not know: "
				 "pass --shell sh, bash, zsh, fish or csh",
				 cli_qsubject(base ? base + 1 : shname));
	}
	return 0;
}

static void print_json(const struct cli_ctx *ctx)
{
	struct json_writer *w = ctx->out;

	json_object(w, NULL);
	json_string(w, "PYTHONPYCACHEPREFIX", ctx->prefix);
	json_string(w, "origin", ctx->origin);
	json_end(w);
}

static int cmd_env(struct cli_ctx *ctx, void *opts)
{
	const struct env_opts *o = opts;
	enum shell sh = o->sh;

	if (ctx->json)
		print_json(ctx);
	else if (!ctx->prefix) {
		puts(sh == FISH ? "set -e PYTHONPYCACHEPREFIX"
		     : sh == CSH ? "unsetenv PYTHONPYCACHEPREFIX"
				 : "unset PYTHONPYCACHEPREFIX");
	} else {
		fputs(sh == FISH ? "set -gx PYTHONPYCACHEPREFIX "
		      : sh == CSH ? "setenv PYTHONPYCACHEPREFIX "
				  : "export PYTHONPYCACHEPREFIX=", stdout);
		put_quoted(sh, ctx->prefix);
		fputs(sh == FISH ? ";\n" : "\n", stdout);
	}
	/* After the line: a warning, never a refusal (it only prints). */
	if (ctx->prefix && !ctx->quiet)
		cli_prefix_trust(ctx->prefix, true);
	return EXIT_OK;
}

const struct cli_cmd cli_cmd_env = {
	.name = "env",
	.parse = parse_env,
	.fn = cmd_env,
	.opts_size = sizeof(struct env_opts),
	.takes = TAKES_PREFIX | TAKES_IN_TREE | TAKES_JSON | TAKES_QUIET,
	.needs = NEEDS_PREFIX,
	.usage = "[--shell sh|bash|zsh|fish|csh]",
	.summary =
	"Print the shell line that sets PYTHONPYCACHEPREFIX to the prefix.",
	.help =
	"Use as: eval \"$(pycprefix env)\"\n\n"
	"Options:\n"
	"      --shell SHELL  syntax of SHELL (default: from $SHELL, sh when\n"
	"                     unset; a $SHELL not listed is an error)\n",
};
