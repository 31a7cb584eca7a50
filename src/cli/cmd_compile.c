/*
 * cmd_compile.c - pycprefix compile: precompile trees into the cache.
 */
#include "cli.h"

#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

/* The signal that stopped the run (SIGINT, SIGTERM or SIGHUP), or 0. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

static volatile int interrupted;

static void on_stop_signal(int sig)
{
	interrupted = sig;
}

/* Stop cleanly on `sig`, unless it is ignored (nohup, or a background
 * job of a script): then it stays ignored. */
static void catch_stop_signal(int sig)
{
	struct sigaction sa = { .sa_handler = on_stop_signal,
				.sa_flags = SA_RESTART }, old;

	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_IGN)
		return;
	sigaction(sig, &sa, NULL);
}

static const char *signal_name(int sig)
{
	return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM"
					: "SIGHUP";
}

struct compile_ui {
	struct cli_ctx *ctx;
	bool multi;              /* several interpreters: name them */
	bool tty;                /* progress bar on stderr */
	pcre2_code **rx;         /* -x, each applied */
	size_t nrx;
	pcre2_match_data *md;
	const char **globs;
	size_t nglobs;
	struct timespec t0;
	long last_draw_ms;
	bool drawn;
	struct cli_eta eta;
	FILE *failures;          /* JSON array items, when --json */
	size_t nfailures;
	/* --sys-path without --strict: sources the interpreter cannot
	 * compile are noted, not failures (listed with -v). */
	bool lenient;
};

static long elapsed_ms(const struct compile_ui *ui)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - ui->t0.tv_sec) * 1000 +
	       (t.tv_nsec - ui->t0.tv_nsec) / 1000000;
}

static void clear_bar(struct compile_ui *ui)
{
	if (ui->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		ui->drawn = false;
	}
}

static void on_progress(const struct pyc_progress *p, void *arg)
{
	struct compile_ui *ui = arg;
	long ms = elapsed_ms(ui);
	size_t done = p->done, total = p->total;
	double rate;
	long eta = cli_eta_update(&ui->eta, ms, p, &rate);

	if (!ui->tty || (ms - ui->last_draw_ms < 100 && done < total))
		return;
	ui->last_draw_ms = ms;
	int width = 24, fill = total ? (int)(width * done / total) : width;
	fprintf(stderr, "\r\033[K[%.*s%*s] %zu/%zu files", fill,
		"########################", width - fill, "", done, total);
	if (eta >= 0)
		fprintf(stderr, "  %.0f/s  ETA %ld:%02ld", rate, eta / 60,
			eta % 60);
	fflush(stderr);
	ui->drawn = true;
}

static bool ends_py(const char *path)
{
	size_t n = strlen(path);

	return n >= 3 && strcmp(path + n - 3, ".py") == 0;
}

static bool on_exclude(const char *path, void *arg)
{
	struct compile_ui *ui = arg;
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	/* compileall: re.search(rx, fullname) in compile_file(), so on
	 * sources only, never on the directories it descends into. */
	for (size_t i = 0; i < ui->nrx && ends_py(path); i++)
		if (pcre2_match(ui->rx[i], (PCRE2_SPTR)path, strlen(path), 0, 0,
				ui->md, NULL) >= 0)
			return true;
	for (size_t i = 0; i < ui->nglobs; i++)
		if (fnmatch(ui->globs[i], path, 0) == 0 ||
		    fnmatch(ui->globs[i], base, 0) == 0)
			return true;
	return false;
}

static void json_failure(struct compile_ui *ui, const struct pyc_event *ev)
{
	FILE *f = ui->failures;

	fputs(ui->nfailures++ ? ",\n    {" : "\n    {", f);
	json_key(f, "source");
	json_str(f, ev->source);
	fputs(", ", f);
	json_key(f, "python");
	json_str(f, ev->in ? ev->in->tag : NULL);
	fprintf(f, ", \"line\": %u, \"col\": %u, ", ev->line, ev->col);
	json_key(f, "message");
	json_str(f, ev->message);
	fprintf(f, ", \"source_error\": %s}",
		ev->source_error ? "true" : "false");
}

static void on_event(const struct pyc_event *ev, void *arg)
{
	struct compile_ui *ui = arg;
	const struct cli_ctx *ctx = ui->ctx;
	char where[64] = "";

	if (ev->kind == PYC_EV_FRESH && ctx->verbose < 2)
		return;
	if (ui->multi && ev->in)
		snprintf(where, sizeof(where), " [%s]", ev->in->tag);
	clear_bar(ui);
	switch (ev->kind) {
	case PYC_EV_WOULD_COMPILE:
		if (!ctx->json)
			printf("%s -> %s\n", cli_qpath(ev->source),
			       cli_qpath(ev->pyc));
		break;
	case PYC_EV_WALK_ERROR:
		cli_warn("cannot read %s: %s", cli_qsubject(ev->source),
			 ev->message);
		if (ui->failures)
			json_failure(ui, ev);
		break;
	case PYC_EV_FAILED:
		if (ui->failures)
			json_failure(ui, ev);
		if (ev->source_error && ui->lenient && !ctx->verbose)
			break;
		/* Its cause (a symlink in the prefix) was told once. */
		if (ev->repeated && !ctx->verbose)
			break;
		if (ev->line && ev->col)
			fprintf(stderr, "%s:%u:%u: %s%s\n",
				cli_qpath(ev->source), ev->line, ev->col,
				ev->message, where);
		else if (ev->line)
			fprintf(stderr, "%s:%u: %s%s\n", cli_qpath(ev->source),
				ev->line, ev->message, where);
		else
			fprintf(stderr, "%s: %s%s\n", cli_qpath(ev->source),
				ev->message, where);
		break;
	case PYC_EV_COMPILED:
		if (ctx->verbose)
			fprintf(stderr, "compiled %s%s\n",
				cli_qpath(ev->source), where);
		break;
	case PYC_EV_FRESH:
		if (ctx->verbose > 1)
			fprintf(stderr, "fresh %s%s\n", cli_qpath(ev->source),
				where);
		break;
	}
	if (ctx->verbose && ev->nwarnings) {
		const char *w = ev->warnings;
		for (unsigned i = 0; i < ev->nwarnings; i++, w += strlen(w) + 1)
			fprintf(stderr, "%s:%s%s\n", cli_qpath(ev->source), w,
				where);
	}
}

static void summary(const struct compile_ui *ui,
		    const struct pyc_compile_stats *st, bool dry)
{
	const struct cli_ctx *ctx = ui->ctx;
	double secs = elapsed_ms(ui) / 1000.0;

	if (ctx->json) {
		printf("{\"sources\": %zu, \"%s\": %zu, \"fresh\": %zu, "
		       "\"failed\": %zu, \"source_errors\": %zu, "
		       "\"warnings\": %zu, \"seconds\": %.3f",
		       st->sources, dry ? "would_compile" : "compiled",
		       st->compiled, st->fresh, st->failed + st->walk_errors,
		       st->source_errors, st->warnings, secs);
		return;
	}
	if (ctx->quiet)
		return;
	fprintf(stderr, "%s%zu %s%s, %zu fresh, %s%zu failed%s (pycs of %zu "
		"source%s), %zu warning%s, in %.2f s\n",
		color_e(ctx, C_BOLD), st->compiled,
		dry ? "would be compiled" : "compiled", color_e(ctx, C_RESET),
		st->fresh, st->failed ? color_e(ctx, C_RED) : "",
		st->failed + st->walk_errors,
		st->failed ? color_e(ctx, C_RESET) : "", st->sources,
		st->sources == 1 ? "" : "s", st->warnings,
		st->warnings == 1 ? "" : "s", secs);
	if (st->warnings && !ctx->verbose)
		fprintf(stderr, "(run with -v to see the warnings)\n");
	if (st->source_errors && ui->lenient)
		fprintf(stderr, "%zu of the failed do not compile, as "
			"Python's import would find: not an error with "
			"--sys-path (--strict makes it one)%s\n",
			st->source_errors, ctx->verbose ? "" : "; -v lists them");
}

static void add_stats(struct pyc_compile_stats *a,
		      const struct pyc_compile_stats *b)
{
	a->sources += b->sources;
	a->fresh += b->fresh;
	a->compiled += b->compiled;
	a->failed += b->failed;
	a->source_errors += b->source_errors;
	a->warnings += b->warnings;
	a->walk_errors += b->walk_errors;
}

/* -x PATTERN, Python's re syntax as compileall takes it (a str pattern:
 * Unicode classes; bytes that are not UTF-8 match nothing but
 * themselves).  Where the two dialects differ at the end of a string
 * (Python's \Z is PCRE2's \z) they agree on a source path, which ends
 * in ".py", never in a newline.  Python's \u, \U and \N{...} escapes
 * are refused (write \x{...}), never read as something else.  0, or
 * EXIT_USAGE after the message. */
static int add_rx(struct compile_ui *ui, const char *pat)
{
	pcre2_code **v = realloc(ui->rx, (ui->nrx + 1) * sizeof(*v));
	pcre2_code *code = NULL;
	PCRE2_SIZE off = 0;
	int err = 0;

	if (v)
		ui->rx = v;
	if (!v || (!ui->md && !(ui->md = pcre2_match_data_create(1, NULL))))
		return cli_error("out of memory");
	code = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
			     PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF,
			     &err, &off, NULL);
	if (!code) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(err, msg, sizeof(msg));
		return cli_usage_error(ui->ctx, "-x: '%s' is not a valid "
				       "regular expression: %s (at offset "
				       "%zu)", pat, (const char *)msg,
				       (size_t)off);
	}
	ui->rx[ui->nrx++] = code;
	return EXIT_OK;
}

static void rx_release(struct compile_ui *ui)
{
	for (size_t i = 0; i < ui->nrx; i++)
		pcre2_code_free(ui->rx[i]);
	free(ui->rx);
	pcre2_match_data_free(ui->md);
}

enum {
	OPT_INV = 2000, OPT_EXCLUDE, OPT_SYS_PATH, OPT_DRY_RUN, OPT_HARDLINK,
	OPT_FOLLOW, OPT_TIMEOUT, OPT_INSECURE, OPT_STRICT,
};

int cmd_compile(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "jobs", required_argument, NULL, 'j' },
		{ "force", no_argument, NULL, 'f' },
		{ "invalidation-mode", required_argument, NULL, OPT_INV },
		{ "exclude", required_argument, NULL, OPT_EXCLUDE },
		{ "sys-path", no_argument, NULL, OPT_SYS_PATH },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "hardlink-dupes", no_argument, NULL, OPT_HARDLINK },
		{ "follow-symlinks", no_argument, NULL, OPT_FOLLOW },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "force-insecure", no_argument, NULL, OPT_INSECURE },
		{ "strict", no_argument, NULL, OPT_STRICT },
		{ 0 },
	};
	struct cli_parser p = { .argc = argc, .argv = argv, .ctx = ctx,
				.shortopts = "j:fO:x:n", .longopts = longopts };
	struct compile_ui ui = { .ctx = ctx };
	struct pyc_compile_opts o = { .timeout_ms = 120000 };
	char *memo_dir = NULL;
	struct pyc_compile_stats total = { 0 };
	struct pyc_interp *interps = NULL;
	size_t ninterps = 0;
	bool sys_path = false, strict = false, levels_seen[3] = { false };
	const char *sde = getenv("SOURCE_DATE_EPOCH"), *origin;
	const char *dflt_root[] = { "." };
	char *prefix = NULL, *fbuf = NULL;
	size_t flen = 0;
	long v;
	int c, ret = EXIT_OK;

	o.mode = sde && sde[0] ? PYC_INV_CHECKED_HASH : PYC_INV_TIMESTAMP;
	o.jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
	while ((c = cli_getopt(&p)) != -1) {
		switch (c) {
		case 'j':
			if (cli_parse_int(optarg, 0, 1024, &v) < 0) {
				ret = cli_usage_error(ctx, "-j takes a number "
						      "of workers (0: one "
						      "per core)");
				goto out;
			}
			if (v)
				o.jobs = (int)v;
			break;
		case 'f':
			o.flags |= PYC_COMPILE_FORCE;
			break;
		case 'O':
			if ((ret = cli_level_arg(ctx, optarg, levels_seen)))
				goto out;
			break;
		case OPT_INV:
			if (pyc_invalidation_parse(optarg, &o.mode) < 0) {
				ret = cli_usage_error(ctx, "--invalidation-mode"
						      " takes timestamp, "
						      "checked-hash or "
						      "unchecked-hash");
				goto out;
			}
			break;
		case 'x':
			if ((ret = add_rx(&ui, optarg)))
				goto out;
			break;
		case OPT_EXCLUDE: {
			const char **g = realloc(ui.globs, (ui.nglobs + 1) *
							   sizeof(*g));
			if (!g) {
				ret = cli_error("out of memory");
				goto out;
			}
			g[ui.nglobs++] = optarg;
			ui.globs = g;
			break;
		}
		case OPT_SYS_PATH:
			sys_path = true;
			break;
		case OPT_STRICT:
			strict = true;
			break;
		case OPT_DRY_RUN:
		case 'n':
			o.flags |= PYC_COMPILE_DRY_RUN;
			break;
		case OPT_HARDLINK:
			o.flags |= PYC_COMPILE_HARDLINK_DUPES;
			break;
		case OPT_FOLLOW:
			o.flags |= PYC_COMPILE_FOLLOW_SYMLINKS;
			break;
		case OPT_INSECURE:
			o.flags |= PYC_COMPILE_INSECURE;
			break;
		case OPT_TIMEOUT:
			if (cli_parse_int(optarg, 0, 86400, &v) < 0) {
				ret = cli_usage_error(ctx, "--timeout takes "
						      "seconds (0: none)");
				goto out;
			}
			o.timeout_ms = (int)v * 1000;
			break;
		case 'h':
			goto out;
		default:
			ret = EXIT_USAGE;
			goto out;
		}
	}
	o.nlevels = cli_levels(levels_seen, o.levels);
	if ((o.flags & PYC_COMPILE_HARDLINK_DUPES) && o.nlevels < 2) {
		ret = cli_usage_error(ctx, "--hardlink-dupes needs at least "
				      "two -O levels");
		goto out;
	}
	if (sys_path && optind < argc) {
		ret = cli_usage_error(ctx, "--sys-path takes no PATH");
		goto out;
	}
	if (cli_prefix(ctx, &prefix, &origin) < 0) {
		ret = EXIT_USAGE;
		goto out;
	}
	if (prefix && !(o.flags & PYC_COMPILE_DRY_RUN) &&
	    cli_prefix_trust(prefix, o.flags & PYC_COMPILE_INSECURE) < 0) {
		ret = EXIT_USAGE;
		goto out;
	}
	if (cli_interps(ctx, &interps, &ninterps) < 0) {
		ret = EXIT_USAGE;
		goto out;
	}
	o.prefix = prefix;
	o.exclude = on_exclude;
	o.event = on_event;
	o.progress = on_progress;
	o.arg = &ui;
	o.stop = &interrupted;
	o.memo_dir = memo_dir = pyc_failure_memo_dir();
	ui.multi = ninterps > 1;
	ui.lenient = sys_path && !strict;
	ui.tty = !ctx->quiet && !ctx->json && isatty(STDERR_FILENO);
	if (ctx->json)
		ui.failures = open_memstream(&fbuf, &flen);
	clock_gettime(CLOCK_MONOTONIC, &ui.t0);
	catch_stop_signal(SIGINT);
	catch_stop_signal(SIGTERM);
	catch_stop_signal(SIGHUP);

	/* --sys-path: each interpreter with its own roots. */
	size_t rounds = sys_path ? ninterps : 1;
	for (size_t k = 0; k < rounds && ret == EXIT_OK && !interrupted; k++) {
		struct pyc_compile_stats st;
		struct pyc_error err = { { 0 } };
		char **sp = NULL;
		size_t nroots;
		const char *const *roots;

		if (sys_path) {
			o.interps = &interps[k];
			o.ninterps = 1;
			sp = cli_sys_path(&interps[k], &nroots);
			roots = (const char *const *)sp;
			if (!sp) {
				ret = EXIT_USAGE;
				break;
			}
		} else {
			o.interps = interps;
			o.ninterps = ninterps;
			roots = optind < argc ? (const char *const *)&argv[optind]
					      : dflt_root;
			nroots = optind < argc ? (size_t)(argc - optind) : 1;
		}
		if (pyc_compile(&o, roots, nroots, &st, &err) < 0 &&
		    !(errno == EINTR && interrupted)) {
			clear_bar(&ui);
			ret = cli_error("%s", err.msg[0] ? err.msg
							 : strerror(errno));
		}
		add_stats(&total, &st);
		cli_strv_free(sp, sys_path ? nroots : 0);
	}
	clear_bar(&ui);
	/* Stopped by a signal: what was done, and 128 + its number as a
	 * shell reports a process it ended. */
	if (interrupted && ret == EXIT_OK) {
		cli_warn("interrupted by %s", signal_name(interrupted));
		ret = 128 + interrupted;
	}
	/* After a fatal error the message is all: no counts of a run that
	 * did not happen. */
	if (ret != EXIT_USAGE)
		summary(&ui, &total, o.flags & PYC_COMPILE_DRY_RUN);
	if (ui.failures)
		fclose(ui.failures);
	if (ctx->json && ret != EXIT_USAGE)
		printf(", \"interrupted\": %s, \"failures\": [%s%s]}\n",
		       interrupted ? "true" : "false", fbuf ? fbuf : "",
		       ui.nfailures ? "\n  " : "");
	free(fbuf);
	if (ui.lenient)
		total.failed -= total.source_errors;
	if (ret == EXIT_OK && (total.failed || total.walk_errors))
		ret = EXIT_SOME;
out:
	rx_release(&ui);
	free(ui.globs);
	cli_interps_release(interps, ninterps);
	free(memo_dir);
	free(prefix);
	return ret;
}
