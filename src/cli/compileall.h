/*
 * compileall.h - what cmd_compileall.c and compileall_args.c share: the
 * options of `python -m compileall` as that version's argparse parser
 * reads them, and what the interpreter flags given with --python-flag
 * change (optimization level, pycache prefix, sys.path[0]).
 */
#ifndef PYC_CLI_COMPILEALL_H
#define PYC_CLI_COMPILEALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Up to this many different -o levels are kept (compileall takes any
 * number, and makes a set of them). */
#define CA_MAX_OPT 64

struct ca_strv {
	char **v;        /* each malloc'd */
	size_t n, alloc;
};

int ca_strv_push(struct ca_strv *s, const char *str, size_t len);
void ca_strv_release(struct ca_strv *s);

struct ca_args {
	/* compileall's (argparse dests) */
	bool l;                     /* -l */
	bool has_recursion;
	long recursion;             /* -r */
	bool force;                 /* -f */
	int quiet;                  /* -q, counted */
	bool legacy;                /* -b */
	const char *ddir, *stripdir, *prependdir; /* -d, -s, -p */
	const char *rx;             /* -x */
	const char *flist;          /* -i */
	long workers;               /* -j, --workers (default 1) */
	const char *inv;            /* --invalidation-mode */
	long opt[CA_MAX_OPT];       /* -o, in order, each value once */
	int nopt;
	int nopt_given;             /* -o given, repeats counted */
	const char *limit;          /* -e */
	bool hardlink;              /* --hardlink-dupes */
	struct ca_strv dests;       /* FILE|DIR operands */
	/* ours */
	const char *python;         /* --python */
	struct ca_strv pyflags;     /* --python-flag, one argument each */
};

/* Outcome of ca_parse(). */
enum { CA_OK = 0, CA_HELP = 1, CA_USAGE = 2 };

/* The --python value anywhere on the line (before a "--"), or NULL: read
 * first, since which options exist depends on the version. */
const char *ca_find_python(int argc, char **argv);

/*
 * Parse argv[1..argc) as `python -m compileall` of version `hex`
 * (0x0308...) does with argparse: options and operands intermixed, the
 * operands one run (a second run is "unrecognized arguments"), long
 * options abbreviated, short ones clustered (-qq, -lf, -j0), values
 * with "=" or attached, ints as Python's int() reads them (" 0", "1_0",
 * "+3"), "--" ending options.  Errors print argparse's message on
 * stderr (CA_USAGE); -h prints the help (CA_HELP).
 */
int ca_parse(int argc, char **argv, unsigned hex, struct ca_args *a);
void ca_args_release(struct ca_args *a);

/* What the interpreter flags (--python-flag) and the environment make of
 * the compileall process, as CPython's start-up does. */
struct ca_interp_cfg {
	int optimize;          /* sys.flags.optimize */
	const char *prefix;    /* sys.pycache_prefix, or NULL */
	bool ignore_env;       /* -E or -I */
	bool safe_path;        /* -I, -P, PYTHONSAFEPATH (3.11+) */
};

/* Read the flags; -1 after a usage error message (a flag this version
 * does not know, a malformed one).  `prefix` points into the flags or
 * the environment. */
int ca_interp_cfg(const struct ca_strv *flags, unsigned hex,
		  struct ca_interp_cfg *cfg);

/* Python's int(s) for ASCII input: 0, or -1 when it is not one. */
int ca_py_int(const char *s, long *out);

void ca_usage(FILE *f);

#endif
