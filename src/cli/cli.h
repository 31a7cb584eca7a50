/*
 * cli.h - what the command-line front end's files share.
 *
 * Each command lives in its own file, cmd_<name>.c, which exports its
 * descriptor (const struct cli_cmd cli_cmd_<name>): its name, usage and
 * help, the common options it takes, what shared setup it needs, and two
 * functions.  main.c parses the options every command takes (the common
 * ones below), finds the command in its table and calls its parse() with
 * argv[0] the command name; parse() reads the command's own options with
 * cli_getopt(), which also accepts the common ones anywhere on the line.
 * Then cli_setup() resolves what the descriptor's `needs` asks for (the
 * prefix, its trust, the interpreters) into the ctx, main.c calls fn(),
 * and cli_setup_release() frees it all: a command function is about its
 * own work.
 *
 * Errors: cli_error() and cli_usage_error() print and return -1, as git's
 * error() does, so `return cli_error(...);` is one line.  A command
 * returns 0 (EXIT_OK), EXIT_SOME (some files failed), another exit status
 * of its own (run, compile interrupted), or -1 after an error message;
 * main.c turns -1 into EXIT_USAGE (usage or environment error).
 */
#ifndef PYC_CLI_H
#define PYC_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "json.h"
#include "output.h"
#include "pycprefix.h"

enum { EXIT_OK = 0, EXIT_SOME = 1, EXIT_USAGE = 2 };

/* The common options a command takes (struct cli_cmd.takes); any other
 * is a usage error, before the command name or after it. */
enum {
	TAKES_PREFIX = 1 << 0,   /* --prefix */
	TAKES_IN_TREE = 1 << 1,  /* --in-tree */
	TAKES_PYTHON = 1 << 2,   /* --python */
	TAKES_JSON = 1 << 3,     /* --json */
	TAKES_QUIET = 1 << 4,    /* -q */
	TAKES_VERBOSE = 1 << 5,  /* -v, -vv (the levels in main.c's help) */
	/* --python before the command name only, into ctx->pythons: for a
	 * command that parses its own options, its own --python among
	 * them (compileall) */
	TAKES_PYTHON_LEAD = 1 << 6,
};

/* What a command needs set up before its fn() runs (struct cli_cmd.needs);
 * cli_setup() does it in this order, cli_setup_release() undoes it. */
enum {
	/* ctx->prefix and ctx->origin (pyc_prefix_resolve(), made absolute);
	 * NULL with --in-tree, which only commands that take it get */
	NEEDS_PREFIX = 1 << 0,
	/* for the commands that write into the prefix: refuse a prefix
	 * that is '/' (dry runs too), and one other users can change
	 * (cli_prefix_trust()); only a warning with ctx->insecure
	 * (--force-insecure), no trust check with ctx->dry_run */
	NEEDS_TRUST = 1 << 1,
	/* warn of such a prefix (unless -q), never refuse */
	NEEDS_TRUST_WARN = 1 << 2,
	/* ctx->interps: the interpreters --python names, default python3;
	 * "all" is every usable one found (setup.c) */
	NEEDS_PYTHONS = 1 << 3,
	/* with NEEDS_PYTHONS: none without --python */
	NEEDS_PYTHONS_GIVEN = 1 << 4,
	/* with NEEDS_PYTHONS: every usable one found without --python */
	NEEDS_PYTHONS_ALL = 1 << 5,
	/* ctx->installed: every usable interpreter found, one per tag,
	 * whatever --python says (setup.c) */
	NEEDS_INSTALLED = 1 << 6,
	/* ctx->levels: the repeatable -O LEVEL, parsed by cli_getopt()
	 * (ascending, each once; 0 when none), set when it returns -1 */
	NEEDS_LEVELS = 1 << 7,
};

struct cli_ctx {
	const char *prefix_opt;   /* --prefix */
	bool in_tree;             /* --in-tree */
	const char **pythons;     /* --python, in order */
	size_t npythons;
	int verbose;              /* -v, repeatable */
	bool quiet;               /* -q */
	bool json;                /* --json */
	struct json_writer *out;  /* on stdout, for --json */
	bool color;               /* colour on stdout */
	bool color_err;           /* colour on stderr */
	unsigned seen;            /* TAKES_* of the common options given */
	const struct cli_cmd *cmd;
	/* set by the command's parse() for NEEDS_TRUST */
	bool dry_run;             /* nothing is written: no trust check */
	bool insecure;            /* --force-insecure: warn, go on */
	bool levels_seen[3];      /* NEEDS_LEVELS: -O given */
	int levels[PYC_MAX_LEVELS];
	int nlevels;
	/* the operands, after parse() */
	char **args;
	int nargs;
	/* set up by cli_setup() as cmd->needs asks, released after fn() */
	char *prefix;             /* NEEDS_PREFIX; NULL with --in-tree */
	const char *origin;       /* where it came from ("--prefix", ...) */
	struct pyc_interp *interps;   /* NEEDS_PYTHONS */
	size_t ninterps;
	struct pyc_interp *installed; /* NEEDS_INSTALLED */
	size_t ninstalled;
};

/* parse() after --help: the run is over, exit 0. */
#define CLI_DONE 1

struct cli_cmd {
	const char *name;
	/* The command's options and operands, into ctx and its own struct
	 * (opts: opts_size bytes, zeroed): 0 to go on, CLI_DONE after
	 * --help, -1 after a usage error. */
	int (*parse)(int argc, char **argv, struct cli_ctx *ctx, void *opts);
	/* The work, once the setup is done: an exit status, or -1 after an
	 * error message. */
	int (*fn)(struct cli_ctx *ctx, void *opts);
	/* What parse() allocated in opts, or NULL: called in any case. */
	void (*release)(void *opts);
	size_t opts_size;
	unsigned takes;      /* TAKES_*: the common options it takes */
	unsigned needs;      /* NEEDS_*: the setup it needs */
	const char *usage;   /* after "pycprefix NAME " */
	const char *summary; /* one line for the command list */
	const char *help;    /* the options and what the command does */
};

/* The setup cmd->needs asks for, into ctx: 0, or -1 after an error
 * message (and whatever was set up released). */
int cli_setup(struct cli_ctx *ctx);
void cli_setup_release(struct cli_ctx *ctx);

/* Option parsing: the command's options plus the common ones. */
struct cli_parser {
	int argc;
	char **argv;
	struct cli_ctx *ctx;
	const char *shortopts;         /* the command's, without ':' prefix */
	const struct option *longopts; /* the command's, { 0 }-terminated */
	/* merged, built on first call */
	char mshort[64];
	struct option mlong[40];
};

/*
 * The next option of the command (its val, with optarg set), handling
 * the common options it takes (all of them before the command name)
 * itself.  Returns -1 at the end (then optind indexes the
 * first operand), 'h' for --help after printing it (return EXIT_OK), or
 * '?' after printing a usage error (return EXIT_USAGE).
 */
int cli_getopt(struct cli_parser *p);

/* What parse() returns for a cli_getopt() value it does not handle
 * itself ('h' or '?'): CLI_DONE or -1. */
int cli_opt_stop(int c);

/* parse() of a command with no options of its own (operands left for
 * fn()). */
int cli_parse_none(int argc, char **argv, struct cli_ctx *ctx, void *opts);

/* The PATH operands (ctx->args), or "." when there are none: *n of
 * them. */
const char *const *cli_paths(const struct cli_ctx *ctx, size_t *n);

/* Print the command's help to stdout: its text, then the common options
 * it takes. */
void cli_help(const struct cli_cmd *cmd);

/* The lines of help of every common option, on f. */
void cli_common_help(FILE *f);

/* The long name of one TAKES_* option ("prefix"). */
const char *cli_common_name(unsigned take);

/* The usage error for a common option (one TAKES_* bit) that ctx->cmd
 * does not take; returns -1. */
int cli_refuse_common(const struct cli_ctx *ctx, unsigned take);

/* "pycprefix: " + message on stderr.  cli_error returns -1. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error: the message and "see 'pycprefix CMD --help'"; -1. */
int cli_usage_error(const struct cli_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Bytes for people: "512 B", "1.5 KiB", "2.0 GiB" (binary units). */
void cli_human_bytes(char *out, size_t n, uint64_t b);

/* Does s end with suffix? */
bool cli_ends_with(const char *s, const char *suffix);

/* Parse a whole decimal number in [lo, hi]; -1 if it is not one. */
int cli_parse_int(const char *s, long lo, long hi, long *out);

/* `path` joined to the current directory unless absolute (malloc'd,
 * leading "./" dropped, nothing else normalised), or NULL with errno. */
char *cli_absolute(const char *path);

/* Is `path` below directory `dir` (as spelled, trailing '/' of dir
 * ignored)? */
bool cli_under(const char *path, const char *dir);

/* os.path.join(a, b): b if absolute, else a, a '/' unless a ends with
 * one (or is empty), b.  malloc'd or NULL. */
char *cli_path_join(const char *a, const char *b);

/* pathlib's Path(p).resolve() (not strict): realpath() of the longest
 * leading part that exists, the rest appended.  malloc'd or NULL. */
char *cli_resolve(const char *p);

/* compileall -e: is the real path of `file` outside the real `dir`
 * (Path(dir).resolve() not among Path(file).resolve().parents)? */
bool cli_link_outside(const char *file, const char *dir);

/* compileall -i: the lines of `file` ("-": stdin), universal newlines,
 * each str.strip()ped, as *n strings (cli_strv_free()); NULL with errno
 * when it cannot be read. */
char **cli_read_lines(const char *file, size_t *n);

/* The compiled filename of `path` for -s/-p: `strip` taken off the
 * front when it is a leading run of path's '/'-parts (else path kept),
 * then `prepend` (NULL: none) joined before it, as os.path.join does.
 * malloc'd or NULL. */
char *cli_strip_prepend(const char *path, const char *strip,
			const char *prepend);

/* A PYC operand as show and path --reverse take it (malloc'd, NULL when
 * out of memory): a relative path whose absolute form lies inside the
 * prefix becomes that absolute path; any other is kept as given. */
char *cli_pyc_arg(const char *prefix, const char *pyc);

/* ---- setup.c: besides cli_setup() ---- */

/* Check that no other user can change the prefix (pyc_trust_path()),
 * printing each unsafe directory; -1 (after an error) when there is one
 * and not `force`. */
int cli_prefix_trust(const char *prefix, bool force);

/* The directories on the interpreter's sys.path, run as the user runs
 * it, without the script directory (what compile --sys-path compiles):
 * *n strings (cli_strv_free()), or NULL after printing why. */
char **cli_sys_path(const struct pyc_interp *in, size_t *n);

/* The sys.path directories of the interpreters the options name, each
 * once and none inside another (for prune, which walks the mirror of
 * each whole): 0 with *ndirs strings (cli_strv_free()), or -1 after an
 * error. */
int cli_sys_path_dirs(const struct cli_ctx *ctx, char ***dirs,
		      size_t *ndirs);

/* pyc_interp_ask_flags(PYC_ASK_READ_CACHE): run `code` in `exe` as the
 * user runs it (environment, site and the user's cached bytecode
 * included, nothing written); `code` writes
 * NUL-separated fields to the descriptor numbered sys.argv[1].  A
 * NULL-terminated vector of *n strings (cli_strv_free()), or NULL after
 * printing why (one line). */
char **cli_run_strv(const char *exe, const char *code, size_t *n);
void cli_strv_free(char **v, size_t n);

/* Colour: the escape if allowed on stdout (color) or stderr (color_e),
 * else "". */
const char *color(const struct cli_ctx *ctx, const char *esc);
const char *color_e(const struct cli_ctx *ctx, const char *esc);
#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_DIM "\033[2m"
#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"

extern const struct cli_cmd cli_cmd_compile, cli_cmd_status, cli_cmd_prune,
	cli_cmd_clean, cli_cmd_migrate, cli_cmd_du, cli_cmd_doctor,
	cli_cmd_path, cli_cmd_show, cli_cmd_pythons, cli_cmd_env, cli_cmd_run,
	cli_cmd_compileall;

#endif
