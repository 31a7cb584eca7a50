/*
 * main.c - pycprefix's entry point: common options, the command table,
 * dispatch, and around each command the setup its descriptor asks for
 * (cli.h), the exit status of its result.
 */
#include "cli.h"
#include "compat.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The command list, in the order 'pycprefix --help' shows it. */
static const struct cli_cmd *const commands[] = {
	&cli_cmd_compile, &cli_cmd_compileall, &cli_cmd_status, &cli_cmd_prune, &cli_cmd_clean,
	&cli_cmd_migrate, &cli_cmd_du, &cli_cmd_doctor, &cli_cmd_path,
	&cli_cmd_show, &cli_cmd_pythons, &cli_cmd_env, &cli_cmd_run,
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fputs("usage: pycprefix [--prefix DIR | --in-tree] [--python PY] "
	      "[--json] [-q] [-v]\n"
	      "                 COMMAND [ARGS]\n"
	      "       pycprefix --version | --help | help COMMAND\n\n"
	      "Owns CPython's bytecode cache prefix (PYTHONPYCACHEPREFIX).\n\n"
	      "Commands:\n", f);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
	fputs("\nGlobal options, before or after COMMAND, for the commands "
	      "that take them\n(each command's --help lists its own; any "
	      "other is refused):\n", f);
	cli_common_help(f);
	fputs("  -V, --version      the version\n"
	      "\nVerbosity, in every command that takes -v:\n"
	      "  (default)          errors, what needs attention, a summary;\n"
	      "                     with -n, what would be done\n"
	      "  -v                 also each file changed (compiled, removed,\n"
	      "                     moved), compiler warnings, lists in full\n"
	      "  -vv                also each pyc found fresh and left as it is\n"
	      "  Files listed are data, on stdout; errors, warnings, progress\n"
	      "  and the summary go to stderr.\n"
	      "\nEnvironment:\n"
	      "  PYTHONPYCACHEPREFIX  the prefix, when no --prefix (as CPython\n"
	      "                     reads it: set and not empty)\n"
	      "  XDG_CACHE_HOME     where the default prefix\n"
	      "                     ($XDG_CACHE_HOME/pycprefix, else\n"
	      "                     ~/.cache/pycprefix), the compile failure\n"
	      "                     memo and the interpreter probe cache live\n"
	      "  HOME               ~ of the above (unset: the password\n"
	      "                     database's home, as Python's expanduser)\n"
	      "  SOURCE_DATE_EPOCH  compile: checked-hash pycs by default, as\n"
	      "                     py_compile does (reproducible builds)\n"
	      "  PATH, PYENV_ROOT, PYENV_VERSION\n"
	      "                     where interpreters are found, and which\n"
	      "                     one a pyenv shim means\n"
	      "  PYCPREFIX_PROBE_CACHE\n"
	      "                     the interpreter probe cache directory\n"
	      "                     (default $XDG_CACHE_HOME/"
	      "pycprefix-interpreters)\n"
	      "  PYCPREFIX_PROBE_TIMEOUT\n"
	      "                     seconds to wait for an interpreter's\n"
	      "                     probe or sys.path (1-3600, default 30)\n"
	      "  NO_COLOR           no colour when set and not empty (nor with\n"
	      "                     TERM=dumb, nor off a terminal)\n"
	      "  SHELL              env: the syntax, without --shell\n"
	      "\nExit status:\n"
	      "  0                  all good\n"
	      "  1                  some files failed, or (status --check,\n"
	      "                     doctor) something was found\n"
	      "  2                  usage or environment error\n"
	      "  128+N              compile stopped by signal N (130: SIGINT,\n"
	      "                     143: SIGTERM, 129: SIGHUP)\n"
	      "  (run: COMMAND's status; 126/127 when it cannot run)\n"
	      "\nRun 'pycprefix COMMAND --help' for a command's options.\n", f);
}

/* A name that is no command: the message and the usage, a usage error. */
static int not_a_command(const char *name)
{
	cli_error("'%s' is not a command", name);
	usage(stderr);
	return -1;
}

static const struct cli_cmd *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

static bool want_color(int fd)
{
	const char *no = getenv("NO_COLOR");
	const char *term = getenv("TERM");

	if (no && no[0])
		return false;
	if (term && strcmp(term, "dumb") == 0)
		return false;
	return isatty(fd);
}

/* Parse the command's options, do the setup it needs, run it, release
 * the setup: the exit status. */
static int run_command(const struct cli_cmd *cmd, int argc, char **argv,
		       struct cli_ctx *ctx)
{
	void *opts = calloc(1, cmd->opts_size ? cmd->opts_size : 1);
	int ret;

	if (!opts)
		return cli_error("out of memory");
	pyc__getopt_reset(); /* the command's options, from argv[1] */
	ret = cmd->parse(argc, argv, ctx, opts);
	if (ret == CLI_DONE) {
		ret = EXIT_OK;
	} else if (ret == 0) {
		ctx->args = argv + optind;
		ctx->nargs = argc - optind;
		if ((ret = cli_setup(ctx)) == 0) {
			ret = cmd->fn(ctx, opts);
			cli_setup_release(ctx);
		}
	}
	if (cmd->release)
		cmd->release(opts);
	free(opts);
	return ret;
}

/* The common options before the command, then the command: the exit
 * status, or -1 after an error message. */
static int dispatch(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option lead[] = {
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct cli_parser p = { .argc = argc, .argv = argv, .ctx = ctx,
				.shortopts = "+V", .longopts = lead };
	const struct cli_cmd *cmd;
	int c;

	while ((c = cli_getopt(&p)) != -1) {
		switch (c) {
		case 'V':
			printf("pycprefix %s\n", PYC_VERSION_STRING);
			return EXIT_OK;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			return -1;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return -1;
	}
	if (strcmp(argv[optind], "help") == 0) {
		if (optind + 1 >= argc) {
			usage(stdout);
			return EXIT_OK;
		}
		/* help NAME: NAME's help, or the error NAME itself gets. */
		cmd = find_command(argv[optind + 1]);
		if (!cmd)
			return not_a_command(argv[optind + 1]);
		cli_help(cmd);
		return EXIT_OK;
	}
	cmd = find_command(argv[optind]);
	if (!cmd)
		return not_a_command(argv[optind]);
	ctx->cmd = cmd;
	/* Common options given before the command name must be its own. */
	unsigned takes = cmd->takes;
	if (takes & TAKES_PYTHON_LEAD)
		takes |= TAKES_PYTHON;
	if (ctx->seen & ~takes) {
		unsigned extra = ctx->seen & ~takes;
		return cli_refuse_common(ctx, extra & -extra);
	}
	return run_command(cmd, argc - optind, argv + optind, ctx);
}

int main(int argc, char **argv)
{
	struct json_writer out;
	struct cli_ctx ctx = { .color = want_color(STDOUT_FILENO),
			       .color_err = want_color(STDERR_FILENO),
			       .out = &out };
	int ret;

	/* Past a file-size limit, write() should fail (EFBIG) and be
	 * reported, not kill the process. */
	signal(SIGXFSZ, SIG_IGN);
	cli_output_init();
	json_init(&out, stdout, 0);
	/* -1: an error was told, usage or environment (exit 2). */
	if ((ret = dispatch(argc, argv, &ctx)) < 0)
		ret = EXIT_USAGE;
	free(ctx.pythons);
	cli_output_release();
	if (fflush(stdout) == EOF || ferror(stdout)) {
		cli_error("cannot write the output");
		/* After SIGHUP the terminal is gone: the signal's status
		 * says more than the write that failed. */
		return ret > EXIT_USAGE ? ret : EXIT_USAGE;
	}
	return ret;
}
