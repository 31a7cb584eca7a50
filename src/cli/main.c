/*
 * main.c - pycprefix's entry point: common options, the command table,
 * dispatch.
 */
#include "cli.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct cli_cmd commands[] = {
	{ "compile", cmd_compile,
	  "[-j N] [-O LEVEL]... [-f] [-n] [--sys-path | PATH...]",
	  "Precompile sources into the prefix (or __pycache__ with --in-tree).",
	  "Writes, for every .py under each PATH (default: .), the pyc its\n"
	  "interpreter would write at import, so that the first import finds\n"
	  "fresh bytecode.  Only stale pycs are rebuilt, decided as importlib\n"
	  "decides; when nothing is stale no interpreter is started.  A source\n"
	  "that failed to compile is remembered (in ~/.cache/pycprefix-failures)\n"
	  "and, while the file is unchanged, its error is reported again without\n"
	  "compiling it; -f compiles it anyway.\n\n"
	  "Options:\n"
	  "  -j, --jobs N       worker processes per interpreter (default: cores)\n"
	  "  -O LEVEL           optimization level 0, 1 or 2; repeatable\n"
	  "  -f, --force        rebuild even fresh pycs\n"
	  "      --invalidation-mode MODE\n"
	  "                     timestamp, checked-hash or unchecked-hash\n"
	  "                     (default: checked-hash if SOURCE_DATE_EPOCH is\n"
	  "                     set, else timestamp)\n"
	  "  -x REGEX           skip paths matching this POSIX extended regex\n"
	  "      --exclude GLOB skip paths or names matching GLOB; repeatable\n"
	  "      --sys-path     compile every directory on the interpreter's\n"
	  "                     sys.path instead of PATHs\n"
	  "  -n, --dry-run      list what would be compiled, write nothing\n"
	  "      --hardlink-dupes  equal pycs of several -O levels share a file\n"
	  "      --follow-symlinks descend into symlinked directories\n"
	  "      --timeout SEC  give up on one file after SEC (default 120)\n"
	  "      --force-insecure  write even when other users can change\n"
	  "                     the prefix (refused by default)\n"
	  "  --python all       every interpreter 'pycprefix pythons' lists\n" },
	{ "status", cmd_status,
	  "[-O LEVEL]... [--check] [PATH...]",
	  "Show which pycs Python would use, recompile, or never need again.",
	  "For every source under each PATH (default: .) and each interpreter\n"
	  "and level: fresh, stale (and why), missing, or an unchecked-hash pyc\n"
	  "whose source changed (Python would run the old code); and, in the\n"
	  "part of the cache that mirrors PATH, orphans whose source is gone.\n\n"
	  "Options:\n"
	  "  -O LEVEL           optimization level 0, 1 or 2; repeatable\n"
	  "      --check        exit 1 if anything is stale, missing or\n"
	  "                     unchecked-changed (for CI and pre-commit)\n"
	  "      --check-hash-based-pycs MODE\n"
	  "                     default, always or never, as python's option\n"
	  "      --follow-symlinks descend into symlinked directories\n" },
	{ "prune", cmd_prune,
	  "[-n] [--tags[=LIST]] [--max-size SIZE] [--older-than AGE] [PATH...]",
	  "Remove what is dead from the prefix.",
	  "Removes pycs whose source is gone, stale pycs, temporary files of\n"
	  "killed writers (older than 10 minutes), and emptied directories; in\n"
	  "the part of the prefix that mirrors each PATH, or in all of it.\n"
	  "Only regular files named like cache artifacts are ever removed,\n"
	  "never through a symlink.\n\n"
	  "Options:\n"
	  "  -n, --dry-run      list what would be removed, remove nothing\n"
	  "      --tags[=LIST]  also pycs of tags whose interpreter is not\n"
	  "                     installed, or of the tags listed (cpython-38,...)\n"
	  "      --max-size SIZE  then evict least recently used pycs until the\n"
	  "                     prefix holds at most SIZE (500M, 2G)\n"
	  "      --older-than AGE  pycs not used for AGE (30d, 12h; bare: days)\n" },
	{ "clean", cmd_clean, "[-n] [--sourceless] [PATH...]",
	  "Remove __pycache__ folders and legacy pycs from source trees.",
	  "Removes the pycs in __pycache__ folders under each PATH (default: .)\n"
	  "and the folders once empty, and .pyc/.pyo files beside their .py.\n"
	  "A .pyc without its .py (a module shipped without source) stays\n"
	  "unless --sourceless.\n\n"
	  "Options:\n"
	  "  -n, --dry-run      list what would be removed\n"
	  "      --sourceless   also remove sourceless .pyc/.pyo files\n" },
	{ "migrate", cmd_migrate, "[-n] [PATH...]",
	  "Move fresh in-tree pycs into the prefix instead of recompiling.",
	  "Each __pycache__/NAME.TAG.pyc under PATH (default: .) that is fresh\n"
	  "for its source moves to where that interpreter reads it under the\n"
	  "prefix (a rename, or a copy across file systems); stale ones are\n"
	  "removed; emptied __pycache__ folders too.  With --python, only\n"
	  "those interpreters' pycs move.\n\n"
	  "Options:\n"
	  "  -n, --dry-run      list what would move\n"
	  "      --force-insecure  move even when other users can change\n"
	  "                     the prefix (see 'pycprefix doctor')\n" },
	{ "du", cmd_du, "[--depth N]",
	  "Show where the prefix's space goes.",
	  "Bytes and files per cache tag, per optimization level and per\n"
	  "directory of the mirrored tree, N levels deep (default 3).\n\n"
	  "Options:\n"
	  "  -d, --depth N      directory depth for the breakdown\n" },
	{ "doctor", cmd_doctor, "[PATH...]",
	  "Check that the prefix is safe, wired up, and free of aliases.",
	  "The prefix: that no other user can change it or a directory above\n"
	  "it (as ssh's StrictModes), nothing inside owned by another user,\n"
	  "no symlinks, temporary leftovers, free space, and pycs of\n"
	  "interpreters no longer installed.  The environment: whether\n"
	  "PYTHONPYCACHEPREFIX is set in this shell and each interpreter\n"
	  "(--python, default: all found) writes where it should.  Aliasing:\n"
	  "sys.path entries with '..' or reaching one directory twice, and,\n"
	  "in each PATH, symlinks leading back into it (the same source\n"
	  "cached twice).  Says what to fix.  Each interpreter is run with\n"
	  "-B and a pycache prefix of its own: doctor writes nothing.\n\n"
	  "Exit status: 0 when nothing is to fix (warnings are only to look\n"
	  "at), 1 when something is to fix, 2 when an interpreter cannot\n"
	  "start or on a usage error.\n" },
	{ "path", cmd_path, "[-O LEVEL] [--reverse] [-z] FILE...",
	  "Print where the interpreter reads and writes each source's "
	  "bytecode.",
	  "Each FILE is taken as CPython takes it: relative to the current\n"
	  "directory, never normalised, symlinks not resolved.\n\n"
	  "Options:\n"
	  "  -O LEVEL           optimization level 0, 1 or 2 (default 0)\n"
	  "  -r, --reverse      FILEs are pycs: print their sources\n"
	  "  -z, --null         end each path with NUL instead of newline\n" },
	{ "show", cmd_show, "[--check-hash-based-pycs MODE] PYC...",
	  "Decode pyc headers and say whether Python would use each pyc.",
	  "For each PYC: magic number and the Python it belongs to, flags,\n"
	  "source mtime and size or source hash, the source it caches, and\n"
	  "whether that Python would use it as it is, or why not.\n\n"
	  "Options:\n"
	  "      --check-hash-based-pycs MODE\n"
	  "                     default, always or never, as python's option\n" },
	{ "pythons", cmd_pythons, "[--all]",
	  "List the interpreters found on this machine.",
	  "Looks on PATH, in pyenv's versions and in the usual install\n"
	  "locations; each real executable once.\n\n"
	  "Options:\n"
	  "  -a, --all          also list interpreters that cannot be used\n" },
	{ "env", cmd_env, "[--shell sh|bash|zsh|fish|csh]",
	  "Print the shell line that sets PYTHONPYCACHEPREFIX to the prefix.",
	  "Use as: eval \"$(pycprefix env)\"\n\n"
	  "Options:\n"
	  "      --shell SHELL  syntax of SHELL (default: from $SHELL)\n" },
	{ "run", cmd_run, "[--] COMMAND [ARG...]",
	  "Run COMMAND with PYTHONPYCACHEPREFIX set to the prefix.",
	  "COMMAND's exit status is pycprefix's.  With --in-tree,\n"
	  "PYTHONPYCACHEPREFIX is removed from COMMAND's environment.\n" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fputs("usage: pycprefix [--prefix DIR | --in-tree] [--python PY] "
	      "COMMAND [ARGS]\n\n"
	      "Owns CPython's bytecode cache prefix (PYTHONPYCACHEPREFIX).\n\n"
	      "Commands:\n", f);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fputs("\nRun 'pycprefix COMMAND --help' for a command's options.\n", f);
}

static const struct cli_cmd *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
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

int main(int argc, char **argv)
{
	static const struct option lead[] = {
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct cli_ctx ctx = { .color = want_color(STDOUT_FILENO),
			       .color_err = want_color(STDERR_FILENO) };
	struct cli_parser p = { .argc = argc, .argv = argv, .ctx = &ctx,
				.shortopts = "+V", .longopts = lead };
	const struct cli_cmd *cmd;
	int c, ret;

	/* Past a file-size limit, write() should fail (EFBIG) and be
	 * reported, not kill the process. */
	signal(SIGXFSZ, SIG_IGN);
	while ((c = cli_getopt(&p)) != -1) {
		switch (c) {
		case 'V':
			printf("pycprefix %s\n", PYC_VERSION_STRING);
			return EXIT_OK;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0) {
		if (optind + 1 < argc && (cmd = find_command(argv[optind + 1]))) {
			cli_help(cmd);
			return EXIT_OK;
		}
		usage(stdout);
		return EXIT_OK;
	}
	cmd = find_command(argv[optind]);
	if (!cmd) {
		cli_error("'%s' is not a command", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	ctx.cmd = cmd;
	argc -= optind;
	argv += optind;
	optind = 0; /* re-initialise getopt for the command's options */
	ret = cmd->fn(argc, argv, &ctx);
	free(ctx.pythons);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		cli_error("cannot write the output");
		return EXIT_USAGE;
	}
	return ret;
}
