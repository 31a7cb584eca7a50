/*
 * output.h - how the command-line front end writes for people: the two
 * streams, paths in human output, the progress estimate.
 *
 * Streams.  Data goes to stdout, diagnostics, progress and the closing
 * summary to stderr.  main() calls cli_output_init() before any output:
 * stderr then writes each line with one write(), and when stdout and
 * stderr are the same file or pipe (`cmd > log 2>&1`, `cmd 2>&1 | less`)
 * stdout is line-buffered too, so the lines of both arrive whole and in
 * the order they were printed.  A line written to stderr without its
 * newline (the progress bar) must be followed by fflush(stderr).
 *
 * Paths.  A path printed for a person goes through cli_qpath() (as data)
 * or cli_qsubject() (as the subject of a message); JSON output has its
 * own writer (json.h: exact bytes).  The quoting is git's: a path
 * holding a control character, a double quote, a backslash, a byte that
 * is not part of valid UTF-8 or a C1 control character is written in
 * double quotes with C escapes (\n \t \" \\ ...) and three-digit octal
 * for the other bytes, "a\nb.py", "caf\351.py"; any other path, valid
 * UTF-8 included, is written as it is.  The strings returned live in a
 * ring of CLI_QUOTE_RING buffers: each is valid until that many later
 * calls (enough for one message), and only the main thread may call
 * these (the library runs every callback in the caller's thread).
 *
 * Progress.  struct cli_eta estimates the time left from the throughput
 * observed since the first source finished (start-up, the walk and the
 * freshness pass are not work the rate should include), and gives no
 * estimate until CLI_ETA_MIN_MS and CLI_ETA_MIN_ITEMS of it are seen.
 * Sources are compiled largest first, so the time left at the rate of
 * sources seen overestimates (the rest are smaller) and the time left at
 * the rate of bytes seen underestimates (each file also costs a fixed
 * overhead); the estimate is the geometric mean of the two.
 */
#ifndef PYC_CLI_OUTPUT_H
#define PYC_CLI_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pycprefix.h"

/* Set the buffering of stdout and stderr as described above. */
void cli_output_init(void);

/* Free the quoting buffers (at exit; for leak checkers). */
void cli_output_release(void);

#define CLI_QUOTE_RING 8

/* True when `s` is printed in quotes. */
bool cli_path_needs_quotes(const char *s);

/* `s` as it is, or in double quotes with escapes: for data lines. */
const char *cli_qpath(const char *s);

/* 'plain' in single quotes as messages name their subject, or the
 * double-quoted form when `s` needs quoting: for messages. */
const char *cli_qsubject(const char *s);

#define CLI_ETA_MIN_MS 1000
#define CLI_ETA_MIN_ITEMS 8

struct cli_eta {
	bool started;       /* a source has finished */
	long t0_ms;         /* when the first one did */
	size_t done0;       /* how many had then */
	uint64_t bytes0;    /* and their bytes */
	size_t last_done;
};

/*
 * The run is at `p` at `now_ms` (any monotonic clock).  Returns the
 * seconds left, rounded up, or -1 while too little has been observed;
 * *rate gets the sources per second observed (0 while unknown).  A done
 * count smaller than the last one starts a new estimate (a new round of
 * work).  Zero-initialise the struct before the first call.
 */
long cli_eta_update(struct cli_eta *e, long now_ms,
		    const struct pyc_progress *p, double *rate);

#endif
