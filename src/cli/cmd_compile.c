/*
 * cmd_compile.c - pycprefix compile: precompile trees into the cache.
 */
#include "cli.h"

#include <errno.h>
#include <fnmatch.h>
#include <regex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

struct compile_ui {
	struct cli_ctx *ctx;
	bool multi;              /* several interpreters: name them */
	bool tty;                /* progress bar on stderr */
	regex_t rx;
	bool have_rx;
	const char **globs;
	size_t nglobs;
	struct timespec t0;
	long last_draw_ms;
	bool drawn;
	FILE *failures;          /* JSON array items, when --json */
	size_t nfailures;
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
		ui->drawn = false;
	}
}

static void on_progress(size_t done, size_t total, void *arg)
{
	struct compile_ui *ui = arg;
	long ms = elapsed_ms(ui);

	if (!ui->tty || (ms - ui->last_draw_ms < 100 && done < total))
		return;
	ui->last_draw_ms = ms;
	double rate = ms > 0 ? done * 1000.0 / ms : 0;
	long eta = rate > 0 ? (long)((total - done) / rate) : 0;
	int width = 24, fill = total ? (int)(width * done / total) : width;
	fprintf(stderr, "\r\033[K[%.*s%*s] %zu/%zu files  %.0f/s  ETA %ld:%02ld",
		fill, "########################", width - fill, "", done, total,
		rate, eta / 60, eta % 60);
	ui->drawn = true;
}

static bool on_exclude(const char *path, void *arg)
{
	struct compile_ui *ui = arg;
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (ui->have_rx && regexec(&ui->rx, path, 0, NULL, 0) == 0)
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
	fputc('}', f);
}

static void on_event(const struct pyc_event *ev, void *arg)
{
	struct compile_ui *ui = arg;
	const struct cli_ctx *ctx = ui->ctx;
	char where[64] = "";

	if (ui->multi && ev->in)
		snprintf(where, sizeof(where), " [%s]", ev->in->tag);
	clear_bar(ui);
	switch (ev->kind) {
	case PYC_EV_WOULD_COMPILE:
		if (!ctx->json)
			printf("%s -> %s\n", ev->source, ev->pyc);
		break;
	case PYC_EV_WALK_ERROR:
		cli_warn("cannot read '%s': %s", ev->source, ev->message);
		if (ui->failures)
			json_failure(ui, ev);
		break;
	case PYC_EV_FAILED:
		if (ui->failures)
			json_failure(ui, ev);
		/* Its cause (a symlink in the prefix) was told once. */
		if (ev->repeated && !ctx->verbose)
			break;
		if (ev->line && ev->col)
			fprintf(stderr, "%s:%u:%u: %s%s\n", ev->source,
				ev->line, ev->col, ev->message, where);
		else if (ev->line)
			fprintf(stderr, "%s:%u: %s%s\n", ev->source, ev->line,
				ev->message, where);
		else
			fprintf(stderr, "%s: %s%s\n", ev->source, ev->message,
				where);
		break;
	case PYC_EV_COMPILED:
		if (ctx->verbose > 1)
			fprintf(stderr, "compiled %s%s\n", ev->source, where);
		break;
	}
	if (ctx->verbose && ev->nwarnings) {
		const char *w = ev->warnings;
		for (unsigned i = 0; i < ev->nwarnings; i++, w += strlen(w) + 1)
			fprintf(stderr, "%s:%s%s\n", ev->source, w, where);
	}
}

/* sys.path of an interpreter, run as the user runs it (environment and
 * site included), minus the script directory entry ('' for -c, absent
 * under -P/PYTHONSAFEPATH).  NULL after an error line. */
static char **sys_path_of(const struct pyc_interp *in, size_t *n)
{
	static const char code[] =
		"import sys, os\n"
		"first = 0 if getattr(sys.flags, 'safe_path', 0) else 1\n"
		"with os.fdopen(int(sys.argv[1]), 'wb') as f:\n"
		"    for p in sys.path[first:]:\n"
		"        if os.path.isdir(p):\n"
		"            f.write(os.fsencode(p) + b'\\0')\n";

	return cli_run_strv(in->path, code, n);
}

static void summary(const struct compile_ui *ui,
		    const struct pyc_compile_stats *st, bool dry)
{
	const struct cli_ctx *ctx = ui->ctx;
	double secs = elapsed_ms(ui) / 1000.0;

	if (ctx->json) {
		printf("{\"sources\": %zu, \"%s\": %zu, \"fresh\": %zu, "
		       "\"failed\": %zu, \"warnings\": %zu, \"seconds\": %.3f",
		       st->sources, dry ? "would_compile" : "compiled",
		       st->compiled, st->fresh, st->failed + st->walk_errors,
		       st->warnings, secs);
		return;
	}
	if (ctx->quiet)
		return;
	fprintf(stderr, "%s%zu %s%s, %zu fresh, %s%zu failed%s, %zu "
		"warning%s, in %.2f s\n",
		color_e(ctx, C_BOLD), st->compiled,
		dry ? "would be compiled" : "compiled", color_e(ctx, C_RESET),
		st->fresh, st->failed ? color_e(ctx, C_RED) : "",
		st->failed + st->walk_errors,
		st->failed ? color_e(ctx, C_RESET) : "", st->warnings,
		st->warnings == 1 ? "" : "s", secs);
	if (st->warnings && !ctx->verbose)
		fprintf(stderr, "(run with -v to see the warnings)\n");
}

static void add_stats(struct pyc_compile_stats *a,
		      const struct pyc_compile_stats *b)
{
	a->sources += b->sources;
	a->fresh += b->fresh;
	a->compiled += b->compiled;
	a->failed += b->failed;
	a->warnings += b->warnings;
	a->walk_errors += b->walk_errors;
}

enum {
	OPT_INV = 2000, OPT_EXCLUDE, OPT_SYS_PATH, OPT_DRY_RUN, OPT_HARDLINK,
	OPT_FOLLOW, OPT_TIMEOUT, OPT_INSECURE,
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
	bool sys_path = false, levels_seen[3] = { false };
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
			if (cli_parse_int(optarg, 0, 1024, &v) < 0)
				return cli_usage_error(ctx, "-j takes a number "
						       "of workers (0: one "
						       "per core)");
			if (v)
				o.jobs = (int)v;
			break;
		case 'f':
			o.flags |= PYC_COMPILE_FORCE;
			break;
		case 'O':
			if (cli_level_arg(ctx, optarg, levels_seen))
				return EXIT_USAGE;
			break;
		case OPT_INV:
			if (pyc_invalidation_parse(optarg, &o.mode) < 0)
				return cli_usage_error(ctx, "--invalidation-mode"
						       " takes timestamp, "
						       "checked-hash or "
						       "unchecked-hash");
			break;
		case 'x':
			if (ui.have_rx)
				regfree(&ui.rx);
			if (regcomp(&ui.rx, optarg, REG_EXTENDED | REG_NOSUB))
				return cli_usage_error(ctx, "-x: '%s' is not a "
						       "valid regular "
						       "expression", optarg);
			ui.have_rx = true;
			break;
		case OPT_EXCLUDE: {
			const char **g = realloc(ui.globs, (ui.nglobs + 1) *
							   sizeof(*g));
			if (!g)
				return cli_error("out of memory");
			g[ui.nglobs++] = optarg;
			ui.globs = g;
			break;
		}
		case OPT_SYS_PATH:
			sys_path = true;
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
			if (cli_parse_int(optarg, 0, 86400, &v) < 0)
				return cli_usage_error(ctx, "--timeout takes "
						       "seconds (0: none)");
			o.timeout_ms = (int)v * 1000;
			break;
		case 'h':
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	o.nlevels = cli_levels(levels_seen, o.levels);
	if ((o.flags & PYC_COMPILE_HARDLINK_DUPES) && o.nlevels < 2)
		return cli_usage_error(ctx, "--hardlink-dupes needs at least "
				       "two -O levels");
	if (sys_path && optind < argc)
		return cli_usage_error(ctx, "--sys-path takes no PATH");
	if (cli_prefix(ctx, &prefix, &origin) < 0)
		return EXIT_USAGE;
	if (prefix && !(o.flags & PYC_COMPILE_DRY_RUN) &&
	    cli_prefix_trust(prefix, o.flags & PYC_COMPILE_INSECURE) < 0) {
		free(prefix);
		return EXIT_USAGE;
	}
	if (ctx->npythons == 1 && strcmp(ctx->pythons[0], "all") == 0) {
		if (cli_all_interps(&interps, &ninterps) < 0 || !ninterps) {
			free(prefix);
			return cli_error("no usable CPython found for --python "
					 "all (see 'pycprefix pythons')");
		}
	} else if (cli_interps(ctx, &interps, &ninterps) < 0) {
		free(prefix);
		return EXIT_USAGE;
	}
	o.prefix = prefix;
	o.exclude = on_exclude;
	o.event = on_event;
	o.progress = on_progress;
	o.arg = &ui;
	o.stop = &interrupted;
	o.memo_dir = memo_dir = pyc_failure_memo_dir();
	ui.multi = ninterps > 1;
	ui.tty = !ctx->quiet && !ctx->json && isatty(STDERR_FILENO);
	if (ctx->json)
		ui.failures = open_memstream(&fbuf, &flen);
	clock_gettime(CLOCK_MONOTONIC, &ui.t0);
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);

	/* --sys-path: each interpreter with its own roots. */
	size_t rounds = sys_path ? ninterps : 1;
	for (size_t k = 0; k < rounds && ret != EXIT_USAGE; k++) {
		struct pyc_compile_stats st;
		struct pyc_error err = { { 0 } };
		char **sp = NULL;
		size_t nroots;
		const char *const *roots;

		if (sys_path) {
			o.interps = &interps[k];
			o.ninterps = 1;
			sp = sys_path_of(&interps[k], &nroots);
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
		if (pyc_compile(&o, roots, nroots, &st, &err) < 0) {
			clear_bar(&ui);
			if (errno == EINTR)
				cli_warn("interrupted");
			else
				cli_error("%s", err.msg[0] ? err.msg
							   : strerror(errno));
			ret = errno == EINTR ? 130 : EXIT_USAGE;
		}
		add_stats(&total, &st);
		cli_strv_free(sp, sys_path ? nroots : 0);
		if (ret == 130)
			break;
	}
	clear_bar(&ui);
	/* After an error that stopped the run, its line is the report. */
	if (ctx->json || ret != EXIT_USAGE)
		summary(&ui, &total, o.flags & PYC_COMPILE_DRY_RUN);
	if (ctx->json) {
		fclose(ui.failures);
		printf(", \"failures\": [%s%s]}\n", fbuf ? fbuf : "",
		       ui.nfailures ? "\n  " : "");
		free(fbuf);
	}
	if (ret == EXIT_OK && (total.failed || total.walk_errors))
		ret = EXIT_SOME;
	if (ui.have_rx)
		regfree(&ui.rx);
	free(ui.globs);
	cli_interps_release(interps, ninterps);
	free(memo_dir);
	free(prefix);
	return ret;
}
