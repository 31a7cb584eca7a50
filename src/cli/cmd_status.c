/*
 * cmd_status.c - pycprefix status: fresh, stale, missing, orphaned.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WORST 10

/* States as a person reads them (JSON keeps pyc_status_name()). */
static const char *state_words(enum pyc_status_state st)
{
	return st == PYC_ST_UNCHECKED_CHANGED ? "changed (unchecked)"
					      : pyc_status_name(st);
}

struct status_ui {
	struct cli_ctx *ctx;
	const char *store;        /* the store compile would use, or NULL */
	struct pyc_store_usage usage;
	bool multi;
	bool lenient;             /* --sys-path without --strict */
	size_t shown;
};

static void on_entry(const struct pyc_status_entry *e, void *arg)
{
	struct status_ui *ui = arg;
	const struct cli_ctx *ctx = ui->ctx;

	if (ctx->json) {
		struct json_writer *w = ctx->out;

		json_object(w, NULL);
		json_string(w, "source", e->source);
		json_string(w, "cache", e->cache);
		json_string(w, "python", e->in ? e->in->tag : NULL);
		json_string(w, "state", pyc_status_name(e->state));
		json_string(w, "reason", e->reason);
		json_bool(w, "in_store", e->in_store);
		json_end(w);
		return;
	}
	if ((e->state == PYC_ST_FRESH && ctx->verbose < 2) || ctx->quiet)
		return;
	if (!ctx->verbose && e->state != PYC_ST_UNCHECKED_CHANGED &&
	    ui->shown >= WORST) {
		ui->shown++;
		return;
	}
	ui->shown++;
	const char *col = e->state == PYC_ST_FRESH ? C_GREEN
			  : e->state == PYC_ST_UNCHECKED_CHANGED ? C_RED
			  : e->state == PYC_ST_ORPHAN ? C_DIM
			  : e->state == PYC_ST_BROKEN ? C_RED : C_YELLOW;
	printf("%s%-19s%s %s", color(ctx, col), state_words(e->state),
	       color(ctx, C_RESET),
	       cli_qpath(e->state == PYC_ST_ORPHAN ? e->cache : e->source));
	if (ui->multi && e->in)
		printf(" [%s]", e->in->tag);
	if (e->reason && e->reason[0])
		printf(" (%s)", e->reason);
	putchar('\n');
}

static void on_error(const char *path, const char *msg, void *arg)
{
	(void)arg;
	cli_warn("%s: %s", cli_qsubject(path), msg);
}

/* A prefix that exists must be a directory (one that does not yet holds
 * no pyc: all are missing). */
static int check_prefix(const char *prefix)
{
	struct stat st;
	const char *why = NULL;

	if (!prefix)
		return 0;
	if (stat(prefix, &st) < 0)
		why = errno == ENOENT ? NULL : strerror(errno);
	else if (!S_ISDIR(st.st_mode))
		why = "not a directory";
	else if (access(prefix, R_OK | X_OK) < 0)
		why = strerror(errno);
	if (why)
		return cli_error("cannot read the prefix %s: %s",
				 cli_qsubject(prefix), why);
	return 0;
}

/* The counts, and the command that mends what was found, on stderr. */
static void summary(const struct cli_ctx *ctx, const struct status_ui *ui,
		    const struct pyc_status_counts *n)
{
	size_t outdated = n->n[PYC_ST_STALE] + n->n[PYC_ST_MISSING] +
			  n->n[PYC_ST_UNCHECKED_CHANGED];

	if (ui->shown > WORST && !ctx->verbose)
		fprintf(stderr, "... and %zu more (-v lists them all)\n",
			ui->shown - WORST);
	fprintf(stderr, "%zu fresh, %zu stale, %zu missing, %zu orphaned",
		n->n[PYC_ST_FRESH], n->n[PYC_ST_STALE], n->n[PYC_ST_MISSING],
		n->n[PYC_ST_ORPHAN]);
	if (n->n[PYC_ST_BROKEN])
		fprintf(stderr, ", %zu broken", n->n[PYC_ST_BROKEN]);
	if (n->n[PYC_ST_UNCHECKED_CHANGED])
		fprintf(stderr, ", %s%zu unchecked-hash pyc%s Python would run "
			"with old code%s", color_e(ctx, C_RED),
			n->n[PYC_ST_UNCHECKED_CHANGED],
			n->n[PYC_ST_UNCHECKED_CHANGED] == 1 ? "" : "s",
			color_e(ctx, C_RESET));
	fputc('\n', stderr);
	if (outdated)
		fprintf(stderr, "run 'pycprefix compile' to bring %s up to "
			"date\n", outdated == 1 ? "it" : "them");
	if (ui->store && ui->usage.objects) {
		char size[32];

		cli_human_bytes(size, sizeof(size), ui->usage.disk_bytes);
		fprintf(stderr, "store: %zu object%s, %s on disk",
			ui->usage.objects, ui->usage.objects == 1 ? "" : "s",
			size);
		if (outdated)
			fprintf(stderr, "; %zu of the stale and missing pycs "
				"can be written from it without compiling",
				n->from_store);
		fputc('\n', stderr);
	}
	if (n->n[PYC_ST_ORPHAN])
		fprintf(stderr, "run 'pycprefix prune' to remove the "
			"orphan%s\n", n->n[PYC_ST_ORPHAN] == 1 ? "" : "s");
	if (n->n[PYC_ST_BROKEN])
		fprintf(stderr, "fix the source%s that do%s not compile "
			"('pycprefix compile -v' shows the errors)%s\n",
			n->n[PYC_ST_BROKEN] == 1 ? "" : "s",
			n->n[PYC_ST_BROKEN] == 1 ? "es" : "",
			ui->lenient ? "; --check ignores them under --sys-path "
				      "unless --strict" : "");
}

/* --sys-path: each interpreter on its own sys.path, as compile does;
 * the counts summed.  0, or -1 (ENOMEM). */
static int status_sys_path(struct pyc_status_opts *o,
			   const struct pyc_interp *interps, size_t ninterps,
			   struct pyc_status_counts *total)
{
	struct pyc_status_counts n;

	memset(total, 0, sizeof(*total));
	for (size_t k = 0; k < ninterps; k++) {
		size_t nroots = 0;
		char **sp = cli_sys_path(&interps[k], &nroots);
		int rc;

		o->interps = &interps[k];
		o->ninterps = 1;
		rc = sp ? pyc_status(o, (const char *const *)sp, nroots, &n)
			: 0;
		cli_strv_free(sp, nroots);
		if (rc < 0)
			return -1;
		if (!sp) {
			cli_warn("cannot ask '%s' for its sys.path",
				 interps[k].path);
			total->errors++;
			continue;
		}
		for (int s = 0; s <= PYC_ST_BROKEN; s++)
			total->n[s] += n.n[s];
		total->errors += n.errors;
		total->from_store += n.from_store;
	}
	return 0;
}

struct status_args {
	struct pyc_status_opts o;
	bool check, sys_path, strict;
	char *memo_dir;
	char *store_dir;
};

static int parse_status(int argc, char **argv, struct cli_ctx *ctx,
			void *opts)
{
	static const struct option longopts[] = {
		{ "check", no_argument, NULL, 'c' },
		{ "check-hash-based-pycs", required_argument, NULL, 'H' },
		{ "follow-symlinks", no_argument, NULL, 'L' },
		{ "strict", no_argument, NULL, 's' },
		{ "sys-path", no_argument, NULL, 'S' },
		{ 0 },
	};
	struct cli_parser p = { .argc = argc, .argv = argv, .ctx = ctx,
				.shortopts = "", .longopts = longopts };
	struct status_args *a = opts;
	int c;

	a->o.mode = PYC_CHECK_DEFAULT;
	while ((c = cli_getopt(&p)) != -1) {
		switch (c) {
		case 'c':
			a->check = true;
			break;
		case 'H':
			if (pyc_check_mode_parse(optarg, &a->o.mode) < 0)
				return cli_usage_error(ctx, "--check-hash-based"
						       "-pycs takes default, "
						       "always or never");
			break;
		case 'L':
			a->o.flags |= PYC_COMPILE_FOLLOW_SYMLINKS;
			break;
		case 'S':
			a->sys_path = true;
			break;
		case 's':
			a->strict = true;
			break;
		default:
			return cli_opt_stop(c);
		}
	}
	a->o.nlevels = ctx->nlevels;
	memcpy(a->o.levels, ctx->levels, sizeof(ctx->levels));
	if (a->sys_path && optind < argc)
		return cli_usage_error(ctx, "--sys-path takes no PATH");
	return 0;
}

/* The counts after the "files" list, and the end of the document. */
static void print_json(struct json_writer *w, const struct status_ui *ui,
		       const struct pyc_status_counts *n)
{
	json_end(w);
	json_object(w, "counts");
	for (int s = 0; s <= PYC_ST_BROKEN; s++)
		json_uint(w, pyc_status_name((enum pyc_status_state)s),
			  n->n[s]);
	json_end(w);
	/* Not in counts: those are states, each pyc in one. */
	json_object(w, "store");
	json_uint(w, "from_store", n->from_store);
	json_string(w, "path", ui->store);
	json_uint(w, "objects", ui->usage.objects);
	json_uint(w, "bytes", ui->usage.bytes);
	json_uint(w, "disk_bytes", ui->usage.disk_bytes);
	json_end(w);
	json_uint(w, "errors", n->errors);
	json_end(w);
}

static int cmd_status(struct cli_ctx *ctx, void *opts)
{
	struct status_args *a = opts;
	struct pyc_status_opts *o = &a->o;
	struct status_ui ui = { .ctx = ctx, .multi = ctx->ninterps > 1,
				.lenient = a->sys_path && !a->strict };
	struct pyc_status_counts n;
	const char *dflt[] = { "." };
	int ret = EXIT_OK, r;

	if (check_prefix(ctx->prefix) < 0)
		return -1;
	o->interps = ctx->interps;
	o->ninterps = ctx->ninterps;
	o->prefix = ctx->prefix;
	o->memo_dir = a->memo_dir = pyc_failure_memo_dir(); /* NULL: none */
	/* The store compile would use: looked into, never written. */
	a->store_dir = ctx->prefix ? pyc_store_prefix_dir(ctx->prefix)
				   : pyc_store_default_dir();
	o->store_dir = ui.store = a->store_dir;
	if (ui.store && pyc_store_measure(ui.store, ctx->prefix, &ui.usage) < 0)
		memset(&ui.usage, 0, sizeof(ui.usage));
	o->entry = on_entry;
	o->error = on_error;
	o->arg = &ui;
	if (ctx->json) {
		json_object(ctx->out, NULL);
		json_lines(ctx->out, "files");
	}
	if (a->sys_path)
		r = status_sys_path(o, ctx->interps, ctx->ninterps, &n);
	else if (ctx->nargs)
		r = pyc_status(o, (const char *const *)ctx->args,
			       (size_t)ctx->nargs, &n);
	else
		r = pyc_status(o, dflt, 1, &n);
	if (r < 0)
		ret = cli_error("out of memory");
	if (ctx->json)
		print_json(ctx->out, &ui, &n);
	else if (!ctx->quiet && ret == EXIT_OK)
		summary(ctx, &ui, &n);
	if (ret == EXIT_OK && n.errors)
		ret = EXIT_SOME;
	if (ret == EXIT_OK && a->check &&
	    n.n[PYC_ST_STALE] + n.n[PYC_ST_MISSING] +
	    n.n[PYC_ST_UNCHECKED_CHANGED] +
	    (ui.lenient ? 0 : n.n[PYC_ST_BROKEN]))
		ret = EXIT_SOME;
	return ret;
}

static void release_status(void *opts)
{
	struct status_args *a = opts;

	free(a->memo_dir);
	free(a->store_dir);
}

const struct cli_cmd cli_cmd_status = {
	.name = "status",
	.parse = parse_status,
	.fn = cmd_status,
	.release = release_status,
	.opts_size = sizeof(struct status_args),
	.takes = TAKES_PREFIX | TAKES_IN_TREE | TAKES_PYTHON | TAKES_JSON |
		 TAKES_QUIET | TAKES_VERBOSE,
	.needs = NEEDS_PREFIX | NEEDS_PYTHONS | NEEDS_LEVELS,
	.usage = "[-O LEVEL]... [--check] [--sys-path [--strict] | PATH...]",
	.summary =
	"Show which pycs Python would use, recompile, or never need again.",
	.help =
	"For every source under each PATH (default: .) and each interpreter\n"
	"and level: fresh, stale (and why), missing, or an unchecked-hash pyc\n"
	"whose source changed (Python would run the old code); and, in the\n"
	"part of the cache that mirrors PATH, orphans whose source is gone.\n"
	"With the store compile uses (the prefix's, or with --in-tree the\n"
	"user's): its objects and size, and how many stale or missing pycs\n"
	"it holds the code of (compile writes those without compiling; the\n"
	"source is hashed, the object not verified).\n\n"
	"Options:\n"
	"  -O LEVEL           optimization level 0, 1 or 2; repeatable\n"
	"      --check        exit 1 if anything is stale, missing,\n"
	"                     unchecked-changed or broken (for CI and\n"
	"                     pre-commit); broken is a source compile\n"
	"                     found not to compile, unchanged since (its\n"
	"                     failure memo), not counted under --sys-path\n"
	"      --check-hash-based-pycs MODE\n"
	"                     default, always or never, as python's option\n"
	"      --follow-symlinks descend into symlinked directories\n"
	"      --sys-path     each interpreter's sys.path instead of PATHs,\n"
	"                     as 'compile --sys-path' compiles it\n"
	"      --strict       with --sys-path, --check counts broken too\n"
	"  --python all       every interpreter 'pycprefix pythons' lists\n",
};
