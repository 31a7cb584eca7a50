/*
 * main.c - pycprefix's entry point: common options, the command table,
 * dispatch.
 */
#include "cli.h"
#include "compat.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct cli_cmd commands[] = {
	{ "compile", cmd_compile,
	  TAKES_PREFIX | TAKES_IN_TREE | TAKES_PYTHON | TAKES_JSON |
	  TAKES_QUIET | TAKES_VERBOSE,
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
	  "  -x REGEX           skip sources whose path, as the walk spells it,\n"
	  "                     matches REGEX (Python's re syntax, searched as\n"
	  "                     compileall -x does); repeatable, each applies\n"
	  "      --exclude GLOB skip paths or names matching GLOB; repeatable\n"
	  "      --sys-path     compile every directory on the interpreter's\n"
	  "                     sys.path instead of PATHs; there a source the\n"
	  "                     interpreter cannot compile (every stdlib ships\n"
	  "                     some on purpose) is counted, listed with -v, and\n"
	  "                     no failure, as pip and uv treat them\n"
	  "      --strict       with --sys-path, such sources are failures\n"
	  "                     (exit 1), as they always are for PATHs\n"
	  "  -n, --dry-run      list what would be compiled, write nothing\n"
	  "      --hardlink-dupes  equal pycs of several -O levels share a file\n"
	  "      --follow-symlinks descend into symlinked directories\n"
	  "      --timeout SEC  give up on one file after SEC (default 120)\n"
	  "      --force-insecure  write even when other users can change\n"
	  "                     the prefix (refused by default)\n"
	  "  --python all       every interpreter 'pycprefix pythons' lists\n" },
	{ "status", cmd_status,
	  TAKES_PREFIX | TAKES_IN_TREE | TAKES_PYTHON | TAKES_JSON |
	  TAKES_QUIET | TAKES_VERBOSE,
	  "[-O LEVEL]... [--check] [--sys-path | PATH...]",
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
	  "      --follow-symlinks descend into symlinked directories\n"
	  "      --sys-path     each interpreter's sys.path instead of PATHs,\n"
	  "                     as 'compile --sys-path' compiles it\n"
	  "  --python all       every interpreter 'pycprefix pythons' lists\n" },
	{ "prune", cmd_prune,
	  TAKES_PREFIX | TAKES_PYTHON | TAKES_JSON | TAKES_QUIET |
	  TAKES_VERBOSE,
	  "[-n] [--tags[=LIST]] [--max-size SIZE] [--older-than AGE] "
	  "[--sys-path | PATH...]",
	  "Remove what is dead from the prefix.",
	  "Removes pycs whose source is gone, stale pycs (judged by the\n"
	  "installed interpreter of their tag), temporary files of killed\n"
	  "writers (older than 10 minutes), and emptied directories; in the\n"
	  "part of the prefix that mirrors each PATH, or in all of it.\n"
	  "Only regular files named NAME.TAG.pyc with a real cache tag\n"
	  "(cpython-312, pypy39, graalpy231-310) are ever removed, never\n"
	  "through a symlink.  A prefix that is '/' or holds sources or\n"
	  "__pycache__ folders is no cache: refused before anything goes.\n"
	  "A pyc's last use is its access time (pycprefix's own reads leave\n"
	  "it alone) or, if later, its modification time.\n\n"
	  "Options:\n"
	  "  -n, --dry-run      list what would be removed, directories too,\n"
	  "                     remove nothing\n"
	  "      --tags         also pycs of every tag whose interpreter is not\n"
	  "                     installed (other implementations too)\n"
	  "      --tags=LIST    also pycs of the tags listed, installed or not\n"
	  "                     (cpython-38,pypy39)\n"
	  "      --max-size SIZE  then evict least recently used pycs until the\n"
	  "                     prefix holds at most SIZE; equal times (whole\n"
	  "                     seconds) go in byte order of the path.  SIZE:\n"
	  "                     bytes, or with K, M, G, T, P or E (powers of\n"
	  "                     1024; KiB and KB mean K): 0, 500M, 1.5G\n"
	  "      --older-than AGE  pycs not used for AGE: a number and s, m, h,\n"
	  "                     d or w (seconds to weeks); bare: days (30d)\n"
	  "      --sys-path     in the part that mirrors the sys.path of the\n"
	  "                     interpreters --python names (default python3,\n"
	  "                     'all' for every one) instead of PATHs\n" },
	{ "clean", cmd_clean,
	  TAKES_JSON | TAKES_QUIET | TAKES_VERBOSE,
	  "[-n] [--sourceless] [PATH...]",
	  "Remove __pycache__ folders and legacy pycs from source trees.",
	  "Removes the pycs in __pycache__ folders under each PATH (default: .)\n"
	  "and the folders once empty, and .pyc/.pyo files beside their .py.\n"
	  "A .pyc without its .py (a module shipped without source) stays\n"
	  "unless --sourceless.  '/' is refused: name the trees to clean.\n\n"
	  "Options:\n"
	  "  -n, --dry-run      list what would be removed\n"
	  "      --sourceless   also remove sourceless .pyc/.pyo files\n" },
	{ "migrate", cmd_migrate,
	  TAKES_PREFIX | TAKES_PYTHON | TAKES_JSON | TAKES_QUIET |
	  TAKES_VERBOSE,
	  "[-n] [PATH...]",
	  "Move fresh in-tree pycs into the prefix instead of recompiling.",
	  "Each __pycache__/NAME.TAG.pyc under PATH (default: .) that is fresh\n"
	  "for its source moves to where that interpreter reads it under the\n"
	  "prefix (a rename, or a copy across file systems); stale ones are\n"
	  "removed; emptied __pycache__ folders too.  With --python, only\n"
	  "those interpreters' pycs move.  A prefix that is '/' or holds\n"
	  "sources or __pycache__ folders is no cache: refused.\n\n"
	  "Options:\n"
	  "  -n, --dry-run      list what would move\n"
	  "      --force-insecure  move even when other users can change\n"
	  "                     the prefix (see 'pycprefix doctor')\n" },
	{ "du", cmd_du,
	  TAKES_PREFIX | TAKES_JSON,
	  "[--depth N]",
	  "Show where the prefix's space goes.",
	  "Sizes and pycs per cache tag, per optimization level and per\n"
	  "root: the sys.path entry the modules come from (the deepest\n"
	  "site-packages, else lib/pythonX.Y, else the directory above the\n"
	  "outermost package; a pyc's own directory once its sources are\n"
	  "gone).  Sizes are apparent (as du --apparent-size) and on disk\n"
	  "(as du); a file with several names (--hardlink-dupes) counts\n"
	  "once.  A prefix not made yet holds 0 pycs.\n\n"
	  "Options:\n"
	  "  -d, --depth N      by directory of the mirrored tree, N levels\n"
	  "                     deep, instead of by root\n" },
	{ "doctor", cmd_doctor,
	  TAKES_PREFIX | TAKES_PYTHON | TAKES_JSON | TAKES_QUIET,
	  "[PATH...]",
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
	{ "path", cmd_path,
	  TAKES_PREFIX | TAKES_IN_TREE | TAKES_PYTHON | TAKES_JSON,
	  "[-O LEVEL] [--reverse] [-z] FILE...",
	  "Print where the interpreter reads and writes each source's "
	  "bytecode.",
	  "Each FILE is taken as CPython takes it: relative to the current\n"
	  "directory, never normalised, symlinks not resolved; with\n"
	  "--reverse, a relative pyc inside the prefix as its absolute path.\n\n"
	  "Options:\n"
	  "  -O LEVEL           optimization level 0, 1 or 2 (default 0)\n"
	  "  -r, --reverse      FILEs are pycs: print their sources\n"
	  "  -z, --null         end each path with NUL instead of newline\n" },
	{ "show", cmd_show,
	  TAKES_PREFIX | TAKES_IN_TREE | TAKES_PYTHON | TAKES_JSON,
	  "[--check-hash-based-pycs MODE] PYC...",
	  "Decode pyc headers and say whether Python would use each pyc.",
	  "For each PYC: magic number and the Python it belongs to, flags,\n"
	  "source mtime and size or source hash, the source it caches, and\n"
	  "whether that Python would use it as it is, or why not.  A file\n"
	  "that is no pyc (exit 1), or a pyc of a CPython before 3.8, is\n"
	  "said to be so, with nothing decoded.  A relative PYC inside the\n"
	  "prefix is taken as its absolute path.\n\n"
	  "Options:\n"
	  "      --check-hash-based-pycs MODE\n"
	  "                     default, always or never, as python's option\n" },
	{ "pythons", cmd_pythons,
	  TAKES_JSON | TAKES_QUIET,
	  "[--all]",
	  "List the interpreters found on this machine.",
	  "Looks on PATH, in pyenv's versions and in the usual install\n"
	  "locations; each real executable once.\n\n"
	  "Options:\n"
	  "  -a, --all          also list interpreters that cannot be used\n" },
	{ "env", cmd_env,
	  TAKES_PREFIX | TAKES_IN_TREE | TAKES_JSON | TAKES_QUIET,
	  "[--shell sh|bash|zsh|fish|csh]",
	  "Print the shell line that sets PYTHONPYCACHEPREFIX to the prefix.",
	  "Use as: eval \"$(pycprefix env)\"\n\n"
	  "Options:\n"
	  "      --shell SHELL  syntax of SHELL (default: from $SHELL, sh when\n"
	  "                     unset; a $SHELL not listed is an error)\n" },
	{ "run", cmd_run,
	  TAKES_PREFIX | TAKES_IN_TREE | TAKES_QUIET,
	  "[--] COMMAND [ARG...]",
	  "Run COMMAND with PYTHONPYCACHEPREFIX set to the prefix.",
	  "COMMAND's exit status is pycprefix's.  With --in-tree,\n"
	  "PYTHONPYCACHEPREFIX is removed from COMMAND's environment.\n" },
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
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
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
	      "\nEnvironment:\n"
	      "  PYTHONPYCACHEPREFIX  the prefix, when no --prefix (as CPython\n"
	      "                     reads it: set and not empty)\n"
	      "  XDG_CACHE_HOME     where the default prefix\n"
	      "                     ($XDG_CACHE_HOME/pycprefix, else\n"
	      "                     ~/.cache/pycprefix), the compile failure\n"
	      "                     memo and the interpreter probe cache live\n"
	      "  HOME               ~ of the above\n"
	      "  SOURCE_DATE_EPOCH  compile: checked-hash pycs by default, as\n"
	      "                     py_compile does (reproducible builds)\n"
	      "  PATH, PYENV_ROOT, PYENV_VERSION\n"
	      "                     where interpreters are found, and which\n"
	      "                     one a pyenv shim means\n"
	      "  PYCPREFIX_PROBE_CACHE\n"
	      "                     the interpreter probe cache directory\n"
	      "                     (default $XDG_CACHE_HOME/"
	      "pycprefix-interpreters)\n"
	      "  NO_COLOR           no colour when set and not empty (nor with\n"
	      "                     TERM=dumb, nor off a terminal)\n"
	      "  SHELL              env: the syntax, without --shell\n"
	      "\nExit status:\n"
	      "  0                  all good\n"
	      "  1                  some files failed, or (status --check,\n"
	      "                     doctor) something was found\n"
	      "  2                  usage or environment error\n"
	      "  (run: COMMAND's status; 126/127 when it cannot run)\n"
	      "\nRun 'pycprefix COMMAND --help' for a command's options.\n", f);
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

/* The common options before the command, then the command: the exit
 * status. */
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
	ctx->cmd = cmd;
	/* Common options given before the command name must be its own. */
	if (ctx->seen & ~cmd->takes) {
		unsigned extra = ctx->seen & ~cmd->takes;
		return cli_refuse_common(ctx, extra & -extra);
	}
	argc -= optind;
	argv += optind;
	pyc_getopt_reset(); /* the command's options, from argv[1] */
	return cmd->fn(argc, argv, ctx);
}

int main(int argc, char **argv)
{
	struct cli_ctx ctx = { .color = want_color(STDOUT_FILENO),
			       .color_err = want_color(STDERR_FILENO) };
	int ret;

	/* Past a file-size limit, write() should fail (EFBIG) and be
	 * reported, not kill the process. */
	signal(SIGXFSZ, SIG_IGN);
	cli_output_init();
	ret = dispatch(argc, argv, &ctx);
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
