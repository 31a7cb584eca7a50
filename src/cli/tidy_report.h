/*
 * tidy_report.h - the output prune, clean and migrate share
 * (tidy_report.c).
 */
#ifndef PYC_CLI_TIDY_REPORT_H
#define PYC_CLI_TIDY_REPORT_H

#include "cli.h"


/* The library's operation: pyc_prune(), pyc_clean() or pyc_migrate(). */
typedef int tidy_op_fn(const struct pyc_tidy_opts *o,
		       const char *const *paths, size_t npaths,
		       struct pyc_tidy_stats *st);

/*
 * parse() of clean and migrate: -n (--dry-run) and the one option `name`
 * that sets `flag` in o; no more options.  Sets ctx->dry_run and, for
 * PYC_TIDY_INSECURE, ctx->insecure.
 */
int tidy_parse(int argc, char **argv, struct cli_ctx *ctx,
	       struct pyc_tidy_opts *o, const char *name, unsigned flag);

/*
 * Run op on paths with o (its callbacks set here: each event printed, or
 * put in the JSON document's "events"), then tell the result: the
 * summary, or the message for a tree refused before anything was
 * touched, or the error: "<what> '<prefix>': <errno>" ("out of memory"
 * when what is NULL).  The exit status, or -1.
 */
int tidy_run(struct cli_ctx *ctx, struct pyc_tidy_opts *o, tidy_op_fn *op,
	     const char *const *paths, size_t npaths, const char *what,
	     const char *verb);

#endif
