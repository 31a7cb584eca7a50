/*
 * cmd_env.c - pycprefix env and pycprefix run: wiring the prefix into a
 * shell or a command.
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

int cmd_env(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "shell", required_argument, NULL, 's' },
		{ 0 },
	};
	struct cli_parser p = { .argc = argc, .argv = argv, .ctx = ctx,
				.shortopts = "", .longopts = longopts };
	const char *shname = getenv("SHELL"), *origin;
	enum shell sh = SH;
	char *prefix;
	int c;

	while ((c = cli_getopt(&p)) != -1) {
		switch (c) {
		case 's':
			shname = optarg;
			if (shell_parse(shname, &sh) < 0)
				return cli_usage_error(ctx, "unknown shell "
						       "'%s': use sh, bash, "
						       "zsh, fish or csh",
						       shname);
			break;
		case 'h':
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error(ctx, "env takes no operands");
	/* A line in the wrong syntax would be worse than none: eval runs
	 * whatever it was given.  Without $SHELL (cron, a Dockerfile's RUN)
	 * sh is the safe guess. */
	if (shname && shname[0] && !ctx->json &&
	    shell_parse(shname, &sh) < 0) {
		const char *base = strrchr(shname, '/');
		return cli_error("$SHELL is %s, a shell env does not know: "
				 "pass --shell sh, bash, zsh, fish or csh",
				 cli_qsubject(base ? base + 1 : shname));
	}
	if (cli_prefix(ctx, &prefix, &origin) < 0)
		return EXIT_USAGE;
	if (ctx->json) {
		fputc('{', stdout);
		json_key(stdout, "PYTHONPYCACHEPREFIX");
		json_str(stdout, prefix);
		fputs(", ", stdout);
		json_key(stdout, "origin");
		json_str(stdout, origin);
		fputs("}\n", stdout);
	} else if (!prefix) {
		puts(sh == FISH ? "set -e PYTHONPYCACHEPREFIX"
		     : sh == CSH ? "unsetenv PYTHONPYCACHEPREFIX"
				 : "unset PYTHONPYCACHEPREFIX");
	} else {
		fputs(sh == FISH ? "set -gx PYTHONPYCACHEPREFIX "
		      : sh == CSH ? "setenv PYTHONPYCACHEPREFIX "
				  : "export PYTHONPYCACHEPREFIX=", stdout);
		put_quoted(sh, prefix);
		fputs(sh == FISH ? ";\n" : "\n", stdout);
	}
	if (prefix && !ctx->quiet)
		cli_prefix_trust(prefix, true);
	free(prefix);
	return EXIT_OK;
}
