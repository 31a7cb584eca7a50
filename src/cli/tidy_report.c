/*
 * tidy_report.c - what prune, clean and migrate share: the options of
 * clean and migrate, the run of the library's operation, each event, the
 * summary, a refused tree.
 */
#include "tidy_report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct tidy_ui {
	struct cli_ctx *ctx;
	bool dry;
};

static void on_event(const struct pyc_tidy_event *ev, void *arg)
{
	struct tidy_ui *ui = arg;
	const struct cli_ctx *ctx = ui->ctx;

	if (ctx->json) {
		struct json_writer *w = ctx->out;

		json_object(w, NULL);
		json_string(w, "path", ev->path);
		if (ev->to)
			json_string(w, "to", ev->to);
		json_string(w, "why", pyc_tidy_why_text(ev->why));
		json_uint(w, "bytes", ev->bytes);
		json_end(w);
		return;
	}
	if (!ui->dry && !ctx->verbose)
		return;
	if (ev->to)
		printf("%s -> %s\n", cli_qpath(ev->path), cli_qpath(ev->to));
	else
		printf("%s%s (%s)\n", ui->dry ? "would remove " : "removed ",
		       cli_qpath(ev->path), pyc_tidy_why_text(ev->why));
}

static void on_error(const char *path, const char *msg, void *arg)
{
	(void)arg;
	cli_warn("%s: %s", cli_qsubject(path), msg);
}

static int summary(const struct tidy_ui *ui, const struct pyc_tidy_stats *st,
		   const char *verb)
{
	struct json_writer *w = ui->ctx->out;
	char b[32];

	cli_human_bytes(b, sizeof(b), st->bytes);
	if (ui->ctx->json) {
		json_end(w);
		json_uint(w, "files", st->files);
		json_uint(w, "bytes", st->bytes);
		json_uint(w, "dirs", st->dirs);
		json_uint(w, "kept", st->kept);
		json_uint(w, "errors", st->errors);
		json_bool(w, "dry_run", ui->dry);
		json_end(w);
	} else if (!ui->ctx->quiet)
		fprintf(stderr, "%s%s %zu file%s (%s), %zu director%s\n",
			ui->dry ? "would have " : "", verb, st->files,
			st->files == 1 ? "" : "s", b, st->dirs,
			st->dirs == 1 ? "y" : "ies");
	return st->errors ? EXIT_SOME : EXIT_OK;
}

static void begin(const struct tidy_ui *ui)
{
	if (ui->ctx->json) {
		json_object(ui->ctx->out, NULL);
		json_lines(ui->ctx->out, "events");
	}
}

/* The message for a tree refused before anything was touched. */
static int refused(const char *cmd, const char *prefix,
		   const struct pyc_tidy_stats *st)
{
	const char *what = st->refused_path ? st->refused_path : "?";
	int ret;

	switch (st->refused) {
	case PYC_REFUSED_ROOT:
		ret = prefix ? cli_error("refusing to %s: the prefix is '/' "
					 "(check --prefix and "
					 "PYTHONPYCACHEPREFIX); nothing "
					 "changed", cmd)
			     : cli_error("refusing to %s '/': name the trees "
					 "to clean; nothing changed", cmd);
		break;
	case PYC_REFUSED_PYCACHE:
		ret = cli_error("refusing to %s: '%s' is a __pycache__ folder, "
				"and a cache prefix never holds one: is "
				"'%s' the prefix you mean (--prefix, "
				"PYTHONPYCACHEPREFIX)? nothing changed", cmd,
				what, prefix);
		break;
	default:
		ret = cli_error("refusing to %s: '%s' is a source, and a cache "
				"prefix never holds one: is '%s' the prefix "
				"you mean (--prefix, PYTHONPYCACHEPREFIX)? "
				"nothing changed", cmd, what, prefix);
		break;
	}
	return ret;
}

static int report(const struct tidy_ui *ui, int r, const char *what,
		  const char *prefix, const struct pyc_tidy_stats *st,
		  const char *verb)
{
	int e = errno;

	if (r >= 0)
		return summary(ui, st, verb);
	if (ui->ctx->json) {
		json_end(ui->ctx->out);
		json_end(ui->ctx->out);
	}
	if (r == PYC_TIDY_REFUSED)
		return refused(ui->ctx->cmd->name, prefix, st);
	if (!what)
		return cli_error("out of memory");
	return cli_error("%s '%s': %s", what, prefix, strerror(e));
}

int tidy_run(struct cli_ctx *ctx, struct pyc_tidy_opts *o, tidy_op_fn *op,
	     const char *const *paths, size_t npaths, const char *what,
	     const char *verb)
{
	struct tidy_ui ui = { .ctx = ctx, .dry = o->flags & PYC_TIDY_DRY_RUN };
	struct pyc_tidy_stats st;
	int ret;

	o->event = on_event;
	o->error = on_error;
	o->arg = &ui;
	begin(&ui);
	ret = report(&ui, op(o, paths, npaths, &st), what, o->prefix, &st,
		     verb);
	free(st.refused_path);
	return ret;
}

int tidy_parse(int argc, char **argv, struct cli_ctx *ctx,
	       struct pyc_tidy_opts *o, const char *name, unsigned flag)
{
	const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ name, no_argument, NULL, 'F' },
		{ 0 },
	};
	struct cli_parser p = { .argc = argc, .argv = argv, .ctx = ctx,
				.shortopts = "n", .longopts = longopts };
	int c;

	while ((c = cli_getopt(&p)) != -1) {
		if (c == 'n')
			o->flags |= PYC_TIDY_DRY_RUN;
		else if (c == 'F')
			o->flags |= flag;
		else
			return cli_opt_stop(c);
	}
	ctx->dry_run = o->flags & PYC_TIDY_DRY_RUN;
	ctx->insecure = o->flags & PYC_TIDY_INSECURE;
	return 0;
}
