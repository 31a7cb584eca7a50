/*
 * cmd_compile.c - pycprefix compile: precompile trees into the cache.
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The signal that stopped the run (SIGINT, SIGTERM or SIGHUP), or 0. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

static atomic_int interrupted;

static void on_stop_signal(int sig)
{
	interrupted = sig;
}

/* Stop cleanly on `sig`, unless it is ignored (nohup, or a background
 * job of a script): then it stays ignored.  No SA_RESTART: a wait that
 * blocks (an open, a read, a write to a full pipe) ends with EINTR
 * and the run sees the flag, instead of the signal being lost in a
 * restarted call. */
static void catch_stop_signal(int sig)
{
	struct sigaction sa = { .sa_handler = on_stop_signal }, old;

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
	const char *store;       /* the store used, or NULL */
	bool multi;              /* several interpreters: name them */
	bool tty;                /* progress bar on stderr */
	pcre2_code **rx;         /* -x, each applied */
	size_t nrx;
	pcre2_match_data *md;
	const char **globs;
	size_t nglobs;
	const char *cwd;         /* for absolute --exclude patterns */
	char cwdbuf[PATH_MAX];
	struct timespec t0;
	long last_draw_ms;
	bool drawn;
	struct cli_eta eta;
	bool json;               /* --json: failures into `failures` */
	struct json_writer failures;
	/* --sys-path without --strict: sources the interpreter cannot
	 * compile are noted, not failures (listed with -v). */
	bool lenient;
	/* compileall's -d, -s, -p (the compiled filename), -e, -l/-r */
	const char *ddir, *strip, *prepend, *limit;
	long maxdepth;           /* -1: no limit; -r wins over -l */
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

/* path with "./" components and doubled slashes gone, as
 * --exclude patterns spell paths: into out, false when it is too long. */
static bool tidy_path(const char *cwd, const char *path, char *out,
		      size_t cap)
{
	size_t n = 0;
	char *tmp = NULL;

	if (path[0] != '/' && cwd) {
		size_t len = strlen(cwd) + strlen(path) + 2;
		if (!(tmp = malloc(len)))
			return false;
		snprintf(tmp, len, "%s/%s", cwd, path);
		path = tmp;
	}
	for (const char *p = path; *p;) {
		size_t seg = strcspn(p, "/");
		if (seg == 0 || (seg == 1 && p[0] == '.')) {
			p += seg + (p[seg] == '/');
			continue;
		}
		if (n + seg + 2 > cap) {
			free(tmp);
			return false;
		}
		out[n++] = '/';
		memcpy(out + n, p, seg);
		n += seg;
		p += seg + (p[seg] == '/');
	}
	if (!n)
		out[n++] = '/';
	out[n] = '\0';
	free(tmp);
	return true;
}

/* One --exclude GLOB, as gitignore and rsync read one: without a '/'
 * (a trailing one aside) against each name (every directory the walk
 * enters is asked about, so its name is), with one against the path
 * relative to the PATH it was found under (a leading "./" is that PATH)
 * or, when absolute, against the absolute path; '*' stops at '/'. */
static bool glob_excludes(const struct compile_ui *ui, const char *glob,
			  const char *root, const char *path)
{
	char pat[PATH_MAX], abs[PATH_MAX];
	size_t len = strlen(glob), rl = strlen(root);
	const char *base = strrchr(path, '/'), *rel;

	while (len > 1 && glob[len - 1] == '/')
		len--;
	if (len >= sizeof(pat))
		return false;
	memcpy(pat, glob, len);
	pat[len] = '\0';
	if (!strchr(pat, '/'))
		return fnmatch(pat, base ? base + 1 : path, 0) == 0;
	if (pat[0] == '/')
		return tidy_path(ui->cwd, path, abs, sizeof(abs)) &&
		       fnmatch(pat, abs, FNM_PATHNAME) == 0;
	if (strncmp(path, root, rl) != 0)
		return false;
	rel = path + rl;
	while (*rel == '/')
		rel++;
	if (!*rel)
		return false; /* the PATH itself */
	const char *p = pat;
	while (p[0] == '.' && p[1] == '/')
		for (p += 2; *p == '/'; p++)
			;
	return fnmatch(p, rel, FNM_PATHNAME) == 0;
}

/* How many levels below root `path` (spelled from it) is: 1 for an
 * entry of root itself. */
static long depth_below(const char *root, const char *path)
{
	size_t n = strlen(root);
	long d = 1;

	if (strncmp(path, root, n))
		return 0;
	for (const char *p = path + n + (path[n] == '/'); *p; p++)
		d += *p == '/' && p[1];
	return d;
}

/* -l, -r N: a directory deeper than N below its PATH is not entered;
 * -e DIR: a symlinked source whose target is outside DIR is skipped. */
static bool compileall_excludes(const struct compile_ui *ui, const char *root,
				const char *path)
{
	struct stat st;

	if (ui->maxdepth >= 0 && depth_below(root, path) > ui->maxdepth &&
	    stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return true;
	return ui->limit && cli_ends_with(path, ".py") &&
	       lstat(path, &st) == 0 && S_ISLNK(st.st_mode) &&
	       cli_link_outside(path, ui->limit);
}

/* -d, -s, -p: the filename compiled into the code (NULL: the path). */
static char *name_of(const char *root, const char *path, void *arg)
{
	const struct compile_ui *ui = arg;
	size_t n = strlen(root);
	const char *rel;

	if (ui->ddir) {
		if (strcmp(path, root) == 0)
			rel = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
		else if (strncmp(path, root, n) == 0)
			rel = path + n + (path[n] == '/');
		else
			rel = path;
		return cli_path_join(ui->ddir, rel);
	}
	if (ui->strip || ui->prepend)
		return cli_strip_prepend(path, ui->strip, ui->prepend);
	return NULL;
}

static bool on_exclude(const char *root, const char *path, void *arg)
{
	struct compile_ui *ui = arg;

	if (compileall_excludes(ui, root, path))
		return true;

	/* compileall: re.search(rx, fullname) in compile_file(), so on
	 * sources only, never on the directories it descends into. */
	for (size_t i = 0; i < ui->nrx && cli_ends_with(path, ".py"); i++)
		if (pcre2_match(ui->rx[i], (PCRE2_SPTR)path, strlen(path), 0, 0,
				ui->md, NULL) >= 0)
			return true;
	for (size_t i = 0; i < ui->nglobs; i++)
		if (glob_excludes(ui, ui->globs[i], root, path))
			return true;
	return false;
}

static void json_failure(struct compile_ui *ui, const struct pyc_event *ev)
{
	struct json_writer *w = &ui->failures;

	json_object(w, NULL);
	json_string(w, "source", ev->source);
	json_string(w, "python", ev->in ? ev->in->tag : NULL);
	json_uint(w, "line", ev->line);
	json_uint(w, "col", ev->col);
	json_string(w, "message", ev->message);
	json_bool(w, "source_error", ev->source_error);
	json_end(w);
}

static void on_event(const struct pyc_event *ev, void *arg)
{
	struct compile_ui *ui = arg;
	const struct cli_ctx *ctx = ui->ctx;
	char where[64] = "";

	/* Stopped: what is left of the run is abandoned, and its lines
	 * would block again on the output that may have held it (a full
	 * pipe). */
	if (interrupted || (ev->kind == PYC_EV_FRESH && ctx->verbose < 2))
		return;
	if (ui->multi && ev->in)
		snprintf(where, sizeof(where), " [%s]", ev->in->tag);
	clear_bar(ui);
	switch (ev->kind) {
	case PYC_EV_WOULD_COMPILE:
		if (!ctx->json)
			printf("%s -> %s%s\n", cli_qpath(ev->source),
			       cli_qpath(ev->pyc),
			       ev->from_store ? " (from the store)" : "");
		break;
	case PYC_EV_WALK_ERROR:
		cli_warn("cannot read %s: %s", cli_qsubject(ev->source),
			 ev->message);
		if (ui->json)
			json_failure(ui, ev);
		break;
	case PYC_EV_FAILED:
		if (ui->json)
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
	/* The files acted on are data: stdout, as prune's "removed". */
	case PYC_EV_COMPILED:
		if (ctx->verbose && !ctx->json)
			printf("compiled %s%s%s\n", cli_qpath(ev->source), where,
			       ev->linked ? " (linked)"
			       : ev->from_store ? " (from the store)" : "");
		break;
	case PYC_EV_STORE_OFF:
		cli_warn("%s: compiling without it (--no-store: no store, "
			 "no warning)", ev->message);
		ui->store = NULL;
		break;
	case PYC_EV_STORE_BAD:
		cli_warn("store object %s is unsound (%s): discarded",
			 cli_qsubject(ev->pyc), ev->message);
		break;
	case PYC_EV_FRESH:
		if (ctx->verbose > 1 && !ctx->json)
			printf("fresh %s%s\n", cli_qpath(ev->source), where);
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
		struct json_writer *w = ctx->out;

		json_object(w, NULL);
		json_uint(w, "sources", st->sources);
		json_uint(w, dry ? "would_compile" : "compiled", st->compiled);
		json_uint(w, "fresh", st->fresh);
		json_uint(w, "failed", st->failed + st->walk_errors);
		json_uint(w, "source_errors", st->source_errors);
		json_uint(w, "warnings", st->warnings);
		json_uint(w, "from_store", st->from_store);
		json_uint(w, "linked", st->linked);
		json_uint(w, "store_bad", st->store_bad);
		json_string(w, "store", ui->store);
		json_double(w, "seconds", 3, secs);
		json_bool(w, "interrupted", interrupted);
		json_sub(w, "failures", &ui->failures);
		json_end(w);
		return;
	}
	if (ctx->quiet)
		return;
	char store[96] = "";
	if (st->from_store || st->linked)
		snprintf(store, sizeof(store), ", %zu from the store (%zu "
			 "linked)", st->from_store, st->linked);
	fprintf(stderr, "%s%zu %s%s, %zu fresh, %s%zu failed%s (pycs of %zu "
		"source%s), %zu warning%s%s, in %.2f s\n",
		color_e(ctx, C_BOLD), st->compiled,
		dry ? "would be compiled" : "compiled", color_e(ctx, C_RESET),
		st->fresh, st->failed ? color_e(ctx, C_RED) : "",
		st->failed + st->walk_errors,
		st->failed ? color_e(ctx, C_RESET) : "", st->sources,
		st->sources == 1 ? "" : "s", st->warnings,
		st->warnings == 1 ? "" : "s", store, secs);
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
	a->from_store += b->from_store;
	a->linked += b->linked;
	a->store_bad += b->store_bad;
}

/* -x PATTERN, Python's re syntax as compileall takes it (a str pattern:
 * Unicode classes; bytes that are not UTF-8 match nothing but
 * themselves).  Where the two dialects differ at the end of a string
 * (Python's \Z is PCRE2's \z) they agree on a source path, which ends
 * in ".py", never in a newline.  Python's \u, \U and \N{...} escapes
 * are refused (write \x{...}), never read as something else.  0, or -1
 * after the message. */
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
	return 0;
}

static void rx_release(struct compile_ui *ui)
{
	for (size_t i = 0; i < ui->nrx; i++)
		pcre2_code_free(ui->rx[i]);
	free(ui->rx);
	pcre2_match_data_free(ui->md);
}

enum {
	OPT_INV = 2000, OPT_NONE, OPT_EXCLUDE, OPT_SYS_PATH, OPT_DRY_RUN, OPT_HARDLINK,
	OPT_FOLLOW, OPT_TIMEOUT, OPT_INSECURE, OPT_STRICT, OPT_STORE,
	OPT_NO_STORE,
};

struct compile_args {
	struct pyc_compile_opts o;
	struct compile_ui ui;    /* -x and --exclude, from parse() */
	bool sys_path, strict;
	const char *flist;       /* -i */
	char *memo_dir;
	const char *store;       /* --store */
	bool no_store;
	char *store_dir;         /* the one used, malloc'd */
};

/* -j, --timeout, --invalidation-mode: 0, or -1 after the usage error. */
static int value_opt(const struct cli_ctx *ctx, int c,
		     struct pyc_compile_opts *o)
{
	long v;

	switch (c) {
	case 'j':
		if (cli_parse_int(optarg, 0, 1024, &v) < 0)
			return cli_usage_error(ctx, "-j takes 0 (one per "
					       "core) to 1024, not '%s'",
					       optarg);
		if (v)
			o->jobs = (int)v;
		return 0;
	case OPT_TIMEOUT:
		if (cli_parse_int(optarg, 0, 86400, &v) < 0)
			return cli_usage_error(ctx, "--timeout takes whole "
					       "seconds 0 (none) to 86400, "
					       "not '%s'", optarg);
		o->timeout_ms = (int)v * 1000;
		return 0;
	default:
		if (pyc_invalidation_parse(optarg, &o->mode) < 0)
			return cli_usage_error(ctx, "--invalidation-mode takes "
					       "timestamp, checked-hash or "
					       "unchecked-hash");
		return 0;
	}
}

/* --exclude GLOB: 0 or -1. */
static int add_glob(struct compile_ui *ui, const char *glob)
{
	const char **g = realloc(ui->globs, (ui->nglobs + 1) * sizeof(*g));

	if (!g)
		return cli_error("out of memory");
	g[ui->nglobs++] = glob;
	ui->globs = g;
	return 0;
}

/* The option c: 0, 1 when it is none of the command's, or -1 after a
 * usage error. */
static int compile_opt(const struct cli_ctx *ctx, int c,
		       struct compile_args *a)
{
	static const struct { int c; unsigned flag; } flags[] = {
		{ 'f', PYC_COMPILE_FORCE },
		{ 'n', PYC_COMPILE_DRY_RUN },
		{ OPT_DRY_RUN, PYC_COMPILE_DRY_RUN },
		{ OPT_HARDLINK, PYC_COMPILE_HARDLINK_DUPES },
		{ OPT_FOLLOW, PYC_COMPILE_FOLLOW_SYMLINKS },
		{ OPT_INSECURE, PYC_COMPILE_INSECURE },
	};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (flags[i].c == c) {
			a->o.flags |= flags[i].flag;
			return 0;
		}
	switch (c) {
	case 'j':
	case OPT_TIMEOUT:
	case OPT_INV:
		return value_opt(ctx, c, &a->o);
	case 'x':
		return add_rx(&a->ui, optarg);
	case OPT_EXCLUDE:
		return add_glob(&a->ui, optarg);
	case OPT_SYS_PATH:
		a->sys_path = true;
		return 0;
	case 'i': a->flist = optarg; return 0;
	case 'd': a->ui.ddir = optarg; return 0;
	case 's': a->ui.strip = optarg; return 0;
	case 'p': a->ui.prepend = optarg; return 0;
	case 'e': a->ui.limit = optarg[0] ? optarg : NULL; return 0;
	case 'l':
		if (a->ui.maxdepth < 0)
			a->ui.maxdepth = 0;
		return 0;
	case 'r': {
		long v;
		if (cli_parse_int(optarg, 0, LONG_MAX, &v) < 0)
			return cli_usage_error(ctx, "-r takes a number of "
					       "levels, not '%s'", optarg);
		a->ui.maxdepth = v;
		return 0;
	}
	case OPT_STRICT:
		a->strict = true;
		return 0;
	case OPT_STORE:
		a->store = optarg;
		return 0;
	case OPT_NO_STORE:
		a->no_store = true;
		return 0;
	default:
		return 1;
	}
}

static int parse_compile(int argc, char **argv, struct cli_ctx *ctx,
			 void *opts)
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
		{ "store", required_argument, NULL, OPT_STORE },
		{ "no-store", no_argument, NULL, OPT_NO_STORE },
		{ 0 },
	};
	struct cli_parser p = { .argc = argc, .argv = argv, .ctx = ctx,
				.shortopts = "j:fx:ni:d:s:p:e:lr:",
				.longopts = longopts };
	struct compile_args *a = opts;
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	int c, r;

	a->ui.ctx = ctx;
	a->ui.maxdepth = -1;
	a->o.timeout_ms = 120000;
	a->o.mode = sde && sde[0] ? PYC_INV_CHECKED_HASH : PYC_INV_TIMESTAMP;
	a->o.jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
	while ((c = cli_getopt(&p)) != -1)
		if ((r = compile_opt(ctx, c, a)) != 0)
			return r < 0 ? -1 : cli_opt_stop(c);
	a->o.nlevels = ctx->nlevels;
	memcpy(a->o.levels, ctx->levels, sizeof(ctx->levels));
	if ((a->o.flags & PYC_COMPILE_HARDLINK_DUPES) && a->o.nlevels < 2)
		return cli_usage_error(ctx, "--hardlink-dupes needs at least "
				       "two -O levels");
	if (a->sys_path && (optind < argc || a->flist))
		return cli_usage_error(ctx, "--sys-path takes no PATH (nor -i)");
	if (a->ui.ddir && (a->ui.strip || a->ui.prepend))
		return cli_usage_error(ctx, "-d cannot be used with -s or -p");
	if (a->store && a->no_store)
		return cli_usage_error(ctx, "--store and --no-store exclude "
				       "each other");
	if (a->strict && !a->sys_path)
		return cli_usage_error(ctx, "--strict needs --sys-path (for "
				       "PATHs a source that does not compile "
				       "is always a failure)");
	ctx->dry_run = a->o.flags & PYC_COMPILE_DRY_RUN;
	ctx->insecure = a->o.flags & PYC_COMPILE_INSECURE;
	return 0;
}

static void compile_release(void *opts)
{
	struct compile_args *a = opts;

	rx_release(&a->ui);
	free(a->ui.globs);
	free(a->memo_dir);
	free(a->store_dir);
	json_release(&a->ui.failures);
}

/* A progress bar redraws itself with \r and \033[K: only on a
 * terminal that is not TERM=dumb (which has no such escapes). */
static bool can_animate(int fd)
{
	const char *term = getenv("TERM");

	return isatty(fd) && !(term && strcmp(term, "dumb") == 0);
}

/* The store: --store's, else the prefix's, else (pycs in __pycache__)
 * the user's; none with --no-store.  malloc'd. */
static char *store_dir(const struct cli_ctx *ctx,
		       const struct compile_args *a)
{
	if (a->no_store)
		return NULL;
	if (a->store)
		return strdup(a->store);
	return ctx->prefix ? pyc_store_prefix_dir(ctx->prefix)
			   : pyc_store_default_dir();
}

/* The callbacks, the memo, the failures list, the signals. */
static void start(struct cli_ctx *ctx, struct compile_args *a)
{
	struct pyc_compile_opts *o = &a->o;
	struct compile_ui *ui = &a->ui;

	o->prefix = ctx->prefix;
	o->exclude_in = on_exclude;
	if (ui->ddir || ui->strip || ui->prepend)
		o->name_of = name_of;
	ui->cwd = getcwd(ui->cwdbuf, sizeof(ui->cwdbuf));
	o->event = on_event;
	o->progress = on_progress;
	o->arg = ui;
	o->stop = &interrupted;
	o->memo_dir = a->memo_dir = pyc_failure_memo_dir();
	o->store_dir = ui->store = a->store_dir = store_dir(ctx, a);
	if (!a->store)
		o->flags |= PYC_COMPILE_STORE_IF_ABLE;
	ui->multi = ctx->ninterps > 1;
	ui->lenient = a->sys_path && !a->strict;
	ui->tty = !ctx->quiet && !ctx->json && can_animate(STDERR_FILENO);
	if ((ui->json = ctx->json)) {
		json_init(&ui->failures, NULL, 1);
		json_lines(&ui->failures, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &ui->t0);
	catch_stop_signal(SIGINT);
	catch_stop_signal(SIGTERM);
	catch_stop_signal(SIGHUP);
}

/* One pyc_compile() run over roots: 0, or -1 after the error. */
static int compile_roots(struct compile_args *a, const char *const *roots,
			 size_t nroots, struct pyc_compile_stats *total)
{
	struct pyc_compile_stats st;
	struct pyc_error err = { { 0 } };
	int ret = 0;

	if (pyc_compile(&a->o, roots, nroots, &st, &err) < 0 &&
	    !(errno == EINTR && interrupted)) {
		int e = errno;
		clear_bar(&a->ui);
		ret = cli_error("%s", err.msg[0] ? err.msg : strerror(e));
	}
	add_stats(total, &st);
	return ret;
}

/* -i FILE: the PATHs, then FILE's lines (no "." when both are empty). */
static int compile_listed(struct cli_ctx *ctx, struct compile_args *a,
			  struct pyc_compile_stats *total)
{
	size_t n, k = 0;
	char **lines = cli_read_lines(a->flist, &n);
	const char **all;
	int ret;

	if (!lines)
		return cli_error("cannot read '%s': %s", a->flist,
				 strerror(errno));
	if (!(all = calloc(n + (size_t)ctx->nargs + 1, sizeof(*all)))) {
		cli_strv_free(lines, n);
		return cli_error("out of memory");
	}
	for (int i = 0; i < ctx->nargs; i++)
		all[k++] = ctx->args[i];
	for (size_t i = 0; i < n; i++)
		if (lines[i][0])
			all[k++] = lines[i];
	ret = k ? compile_roots(a, all, k, total) : 0;
	free(all);
	cli_strv_free(lines, n);
	return ret;
}

/* The PATHs with every interpreter, or (--sys-path) each interpreter
 * with its own sys.path: 0, or -1 after an error. */
static int compile_all(struct cli_ctx *ctx, struct compile_args *a,
		       struct pyc_compile_stats *total)
{
	const char *const *paths;
	size_t n;
	int ret = 0;

	if (!a->sys_path) {
		a->o.interps = ctx->interps;
		a->o.ninterps = ctx->ninterps;
		if (a->flist)
			return compile_listed(ctx, a, total);
		paths = cli_paths(ctx, &n);
		return compile_roots(a, paths, n, total);
	}
	for (size_t k = 0; k < ctx->ninterps && !ret && !interrupted; k++) {
		char **sp = cli_sys_path(&ctx->interps[k], &n);

		if (!sp)
			return -1;
		a->o.interps = &ctx->interps[k];
		a->o.ninterps = 1;
		ret = compile_roots(a, (const char *const *)sp, n, total);
		cli_strv_free(sp, n);
	}
	return ret;
}

/* The summary (and JSON document) of a run that ended with ret: the
 * exit status. */
static int report(struct compile_args *a, struct pyc_compile_stats *total,
		  int ret)
{
	struct compile_ui *ui = &a->ui;

	clear_bar(ui);
	/* Stopped by a signal: what was done, and 128 + its number as a
	 * shell reports a process it ended. */
	if (interrupted && ret == 0) {
		cli_warn("interrupted by %s", signal_name(interrupted));
		ret = 128 + interrupted;
	}
	if (ui->json) {
		json_end(&ui->failures);
		if (ret >= 0 && json_failed(&ui->failures))
			ret = cli_error("out of memory");
	}
	/* After a fatal error the message is all: no counts of a run that
	 * did not happen. */
	if (ret < 0)
		return -1;
	summary(ui, total, a->o.flags & PYC_COMPILE_DRY_RUN);
	if (ui->lenient)
		total->failed -= total->source_errors;
	if (ret == 0 && (total->failed || total->walk_errors))
		ret = EXIT_SOME;
	return ret;
}

static int cmd_compile(struct cli_ctx *ctx, void *opts)
{
	struct compile_args *a = opts;
	struct pyc_compile_stats total = { 0 };

	start(ctx, a);
	return report(a, &total, compile_all(ctx, a, &total));
}

const struct cli_cmd cli_cmd_compile = {
	.name = "compile",
	.parse = parse_compile,
	.fn = cmd_compile,
	.release = compile_release,
	.opts_size = sizeof(struct compile_args),
	.takes = TAKES_PREFIX | TAKES_IN_TREE | TAKES_PYTHON | TAKES_JSON |
		 TAKES_QUIET | TAKES_VERBOSE,
	.needs = NEEDS_PREFIX | NEEDS_TRUST | NEEDS_PYTHONS | NEEDS_LEVELS,
	.usage = "[-j N] [-O LEVEL]... [-f] [-n] [-l | -r N] [-e DIR]\n"
		 "       [-d DIR | [-s DIR] [-p DIR]] [-x REGEX]... "
		 "[--sys-path | [-i FILE] PATH...]",
	.summary =
	"Precompile sources into the prefix (or __pycache__ with --in-tree).",
	.help =
	"Writes, for every .py under each PATH (default: .), the pyc its\n"
	"interpreter would write at import, so that the first import finds\n"
	"fresh bytecode.  Only stale pycs are rebuilt, decided as importlib\n"
	"decides; when nothing is stale no interpreter is started.  A source\n"
	"that failed to compile is remembered (in\n"
	"${XDG_CACHE_HOME:-~/.cache}/pycprefix-failures)\n"
	"and, while the file is unchanged, its error is reported again without\n"
	"compiling it; -f compiles it anyway.\n\n"
	"Options:\n"
	"  -j, --jobs N       worker processes per interpreter, 1 to 1024\n"
	"                     (default and 0: one per core)\n"
	"  -O LEVEL           optimization level 0, 1 or 2; repeatable\n"
	"  -f, --force        rebuild even fresh pycs\n"
	"      --invalidation-mode MODE\n"
	"                     timestamp, checked-hash or unchecked-hash\n"
	"                     (default: checked-hash if SOURCE_DATE_EPOCH is\n"
	"                     set, else timestamp)\n"
	"  -x REGEX           skip sources whose path, as the walk spells it,\n"
	"                     matches REGEX (Python's re syntax, searched as\n"
	"                     compileall -x does); repeatable, each applies\n"
	"      --exclude GLOB skip files and directories matching GLOB, as\n"
	"                     gitignore and rsync match: without '/', any\n"
	"                     name (\"tests\", \"*_pb2.py\"); with one, the\n"
	"                     path relative to the PATH it is under\n"
	"                     (\"sub/*\", \"./sub\"), or absolute\n"
	"                     (\"/srv/app/sub\"); '*' stops at '/'; repeatable\n"
	"  -i FILE            also compile the files and directories FILE\n"
	"                     lists, one a line (- for stdin; blank lines\n"
	"                     ignored; with -i no PATH means none, not .)\n"
	"  -l                 don't descend into subdirectories of a PATH\n"
	"  -r N               descend at most N levels below each PATH\n"
	"                     (wins over -l)\n"
	"  -d DIR             the filename compiled into the code (shown in\n"
	"                     tracebacks) is DIR joined to the path below\n"
	"                     its PATH (a FILE PATH: its name), as\n"
	"                     compileall -d\n"
	"  -s DIR             ...with DIR taken off the front of the path\n"
	"                     when it is a leading part of it (compileall -s)\n"
	"  -p DIR             ...with DIR put before it, after -s\n"
	"                     (compileall -p; -d excludes -s and -p).  A\n"
	"                     pyc found fresh is kept whatever filename it\n"
	"                     holds: -f rewrites it\n"
	"  -e DIR             skip symlinked sources whose target is not\n"
	"                     below DIR (compileall -e)\n"
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
	"      --timeout SEC  give up on one file after SEC whole seconds,\n"
	"                     up to 86400; 0: never (default 120)\n"
	"      --force-insecure  write even when other users can change\n"
	"                     the prefix (refused by default)\n"
	"      --store DIR    the shared bytecode store (default: the\n"
	"                     prefix's .pycprefix-store; with --in-tree\n"
	"                     ~/.cache/pycprefix-store): a source whose\n"
	"                     bytes it holds is written from it, linked\n"
	"                     where the pyc's bytes are an object's\n"
	"      --no-store     compile everything, keep nothing in a store\n"
	"  --python all       every interpreter 'pycprefix pythons' lists\n",
};
