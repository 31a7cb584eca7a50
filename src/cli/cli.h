/*
 * cli.h - what the command-line front end's files share.
 *
 * main.c parses the options every command takes (the common ones below),
 * finds the command in its table and calls cmd_<name>(argc, argv, ctx)
 * with argv[0] the command name.  Commands parse their own options with
 * cli_getopt(), which also accepts the common ones anywhere on the line.
 * Commands return the process exit status: EXIT_OK, EXIT_SOME (some
 * files failed) or EXIT_USAGE (usage or environment error).
 */
#ifndef PYC_CLI_H
#define PYC_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

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
};

struct cli_ctx {
	const char *prefix_opt;   /* --prefix */
	bool in_tree;             /* --in-tree */
	const char **pythons;     /* --python, in order */
	size_t npythons;
	int verbose;              /* -v, repeatable */
	bool quiet;               /* -q */
	bool json;                /* --json */
	bool color;               /* colour on stdout */
	bool color_err;           /* colour on stderr */
	unsigned seen;            /* TAKES_* of the common options given */
	const struct cli_cmd *cmd;
};

struct cli_cmd {
	const char *name;
	int (*fn)(int argc, char **argv, struct cli_ctx *ctx);
	unsigned takes;      /* TAKES_*: the common options it takes */
	const char *usage;   /* after "pycprefix NAME " */
	const char *summary; /* one line for the command list */
	const char *help;    /* the options and what the command does */
};

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

/* Print the command's help to stdout: its text, then the common options
 * it takes. */
void cli_help(const struct cli_cmd *cmd);

/* The lines of help of every common option, on f. */
void cli_common_help(FILE *f);

/* The long name of one TAKES_* option ("prefix"). */
const char *cli_common_name(unsigned take);

/* The usage error for a common option (one TAKES_* bit) that ctx->cmd
 * does not take; returns EXIT_USAGE. */
int cli_refuse_common(const struct cli_ctx *ctx, unsigned take);

/* "pycprefix: " + message on stderr.  cli_error returns EXIT_USAGE. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error: the message and "see 'pycprefix CMD --help'". */
int cli_usage_error(const struct cli_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Bytes for people: "512 B", "1.5 KiB", "2.0 GiB" (binary units). */
void cli_human_bytes(char *out, size_t n, uint64_t b);

/* Parse a whole decimal number in [lo, hi]; -1 if it is not one. */
int cli_parse_int(const char *s, long lo, long hi, long *out);

/* A repeatable -O: record level `arg` in seen[]; 0, or EXIT_USAGE after
 * the message.  cli_levels() turns seen[] into ascending levels (0 when
 * none) and returns their count. */
int cli_level_arg(const struct cli_ctx *ctx, const char *arg, bool seen[3]);
int cli_levels(const bool seen[3], int levels[3]);

/* The prefix the options mean (NULL with --in-tree), always absolute: a
 * relative one is taken against the current directory, with one warning
 * line (unless -q).  Or an error message and -1. */
int cli_prefix(const struct cli_ctx *ctx, char **prefix, const char **origin);

/* `path` joined to the current directory unless absolute (malloc'd,
 * leading "./" dropped, nothing else normalised), or NULL with errno. */
char *cli_absolute(const char *path);

/* Is `path` below directory `dir` (as spelled, trailing '/' of dir
 * ignored)? */
bool cli_under(const char *path, const char *dir);

/* A PYC operand as show and path --reverse take it (malloc'd, NULL when
 * out of memory): a relative path whose absolute form lies inside the
 * prefix becomes that absolute path; any other is kept as given. */
char *cli_pyc_arg(const char *prefix, const char *pyc);

/* Check that no other user can change the prefix (pyc_trust_path()),
 * printing each unsafe directory; -1 (after an error) when there is one
 * and not `force`. */
int cli_prefix_trust(const char *prefix, bool force);

/* The interpreters the options name (default python3; "all": every
 * one cli_all_interps() finds).  Prints errors and returns -1 when one
 * cannot be used. */
int cli_interps(const struct cli_ctx *ctx, struct pyc_interp **v,
		size_t *n);
void cli_interps_release(struct pyc_interp *v, size_t n);

/* Every usable interpreter 'pythons' finds, one per tag.  0 or -1. */
int cli_all_interps(struct pyc_interp **v, size_t *n);

/* The directories on the interpreter's sys.path, run as the user runs
 * it, without the script directory (what compile --sys-path compiles;
 * defined in cmd_compile.c): *n strings (cli_strv_free()), or NULL. */
char **cli_sys_path(const struct pyc_interp *in, size_t *n);

/* The sys.path directories of the interpreters the options name, each
 * once and none inside another (for prune, which walks the mirror of
 * each whole): 0 with *ndirs strings (cli_strv_free()), or -1 after an
 * error. */
int cli_sys_path_dirs(const struct cli_ctx *ctx, char ***dirs,
		      size_t *ndirs);

/* pyc_interp_ask(): run `code` in `exe` as the user runs it (environment
 * and site included, nothing written or read from a cache); `code` writes
 * NUL-separated fields to the descriptor numbered sys.argv[1].  A
 * NULL-terminated vector of *n strings (cli_strv_free()), or NULL after
 * printing why (one line). */
char **cli_run_strv(const char *exe, const char *code, size_t *n);
void cli_strv_free(char **v, size_t n);

/* JSON output on `f`. */
void json_str(FILE *f, const char *s);      /* a string (or null) */
void json_strn(FILE *f, const char *s, size_t n);
void json_key(FILE *f, const char *key);    /* "key": */

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

int cmd_compile(int argc, char **argv, struct cli_ctx *ctx);
int cmd_status(int argc, char **argv, struct cli_ctx *ctx);
int cmd_prune(int argc, char **argv, struct cli_ctx *ctx);
int cmd_clean(int argc, char **argv, struct cli_ctx *ctx);
int cmd_migrate(int argc, char **argv, struct cli_ctx *ctx);
int cmd_du(int argc, char **argv, struct cli_ctx *ctx);
int cmd_doctor(int argc, char **argv, struct cli_ctx *ctx);
int cmd_path(int argc, char **argv, struct cli_ctx *ctx);
int cmd_show(int argc, char **argv, struct cli_ctx *ctx);
int cmd_pythons(int argc, char **argv, struct cli_ctx *ctx);
int cmd_env(int argc, char **argv, struct cli_ctx *ctx);
int cmd_run(int argc, char **argv, struct cli_ctx *ctx);

#endif
