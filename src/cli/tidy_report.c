/*
 * tidy_report.c - what prune, clean and migrate print: each event, the
 * summary, a refused tree.
 */
#include "tidy_report.h"

#include <stdlib.h>

void tidy_on_event(const struct pyc_tidy_event *ev, void *arg)
{
	struct tidy_ui *ui = arg;
	const struct cli_ctx *ctx = ui->ctx;

	if (ctx->json) {
		fputs(ui->first ? "\n    {" : ",\n    {", stdout);
		ui->first = false;
		json_key(stdout, "path");
		json_str(stdout, ev->path);
		if (ev->to) {
			fputs(", ", stdout);
			json_key(stdout, "to");
			json_str(stdout, ev->to);
		}
		fputs(", ", stdout);
		json_key(stdout, "why");
		json_str(stdout, pyc_tidy_why_text(ev->why));
		printf(", \"bytes\": %ju}", (uintmax_t)ev->bytes);
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

void tidy_on_error(const char *path, const char *msg, void *arg)
{
	(void)arg;
	cli_warn("%s: %s", cli_qsubject(path), msg);
}

static void human_bytes(char *out, size_t n, uint64_t b)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	int u = 0;

	while (v >= 1024 && u < 4)
		v /= 1024, u++;
	snprintf(out, n, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

int tidy_summary(const struct tidy_ui *ui, const struct pyc_tidy_stats *st,
		   const char *verb)
{
	char b[32];

	human_bytes(b, sizeof(b), st->bytes);
	if (ui->ctx->json)
		printf("%s],\n  \"files\": %zu, \"bytes\": %ju, \"dirs\": %zu, "
		       "\"kept\": %zu, \"errors\": %zu, \"dry_run\": %s}\n",
		       ui->first ? "" : "\n  ", st->files,
		       (uintmax_t)st->bytes, st->dirs, st->kept, st->errors,
		       ui->dry ? "true" : "false");
	else if (!ui->ctx->quiet)
		fprintf(stderr, "%s%s %zu file%s (%s), %zu director%s\n",
			ui->dry ? "would have " : "", verb, st->files,
			st->files == 1 ? "" : "s", b, st->dirs,
			st->dirs == 1 ? "y" : "ies");
	return st->errors ? EXIT_SOME : EXIT_OK;
}

void tidy_begin(const struct tidy_ui *ui)
{
	if (ui->ctx->json)
		fputs("{\"events\": [", stdout);
}

/* The message for a tree refused before anything was touched. */
int tidy_refused(const char *cmd, const char *prefix,
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
