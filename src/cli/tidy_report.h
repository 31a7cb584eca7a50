/*
 * tidy_report.h - the output prune, clean and migrate share
 * (tidy_report.c).
 */
#ifndef PYC_CLI_TIDY_REPORT_H
#define PYC_CLI_TIDY_REPORT_H

#include "cli.h"

struct tidy_ui {
	struct cli_ctx *ctx;
	bool dry;
};

/* pyc_tidy_opts.event and .error: each event (JSON or a line). */
void tidy_on_event(const struct pyc_tidy_event *ev, void *arg);
void tidy_on_error(const char *path, const char *msg, void *arg);

/* Open the JSON document (--json): its "events" list. */
void tidy_begin(const struct tidy_ui *ui);

/* Close the list and the document with the counts, or print the summary
 * line ("removed 3 files ..."): the exit status of the counts. */
int tidy_summary(const struct tidy_ui *ui, const struct pyc_tidy_stats *st,
		 const char *verb);

/* The result r of pyc_prune(), pyc_clean() or pyc_migrate() told: the
 * summary (tidy_summary()), or the message for a tree refused before
 * anything was touched (prefix: NULL for clean) or for what (an error
 * of errno: "cannot prune the prefix '%s'"), the JSON document closed.
 * The exit status, or -1. */
int tidy_report(const struct tidy_ui *ui, int r, const char *what,
		const char *prefix, const struct pyc_tidy_stats *st,
		const char *verb);

#endif
