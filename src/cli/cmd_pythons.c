/*
 * cmd_pythons.c - pycprefix pythons: the interpreters on this machine.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static void print_json(struct json_writer *w,
		       const struct pyc_interp_list *l, bool all)
{
	char ver[48];

	json_lines(w, NULL);
	for (size_t i = 0; i < l->n; i++) {
		const struct pyc_interp *in = &l->v[i];

		if (l->rejected[i] && !all)
			continue;
		json_object(w, NULL);
		json_string(w, "path", in->path);
		json_string(w, "real", in->real);
		if (in->impl) {
			snprintf(ver, sizeof(ver), "%d.%d.%d", in->major,
				 in->minor, in->micro);
			json_string(w, "version", ver);
			json_string(w, "implementation", in->impl);
		}
		if (in->tag) {
			json_string(w, "tag", in->tag);
			json_uint(w, "magic", in->magic);
		}
		json_bool(w, "usable", !l->rejected[i]);
		json_string(w, "reason", l->rejected[i]);
		json_end(w);
	}
	json_end(w);
}

static void print_human(const struct cli_ctx *ctx,
			const struct pyc_interp_list *l, bool all)
{
	size_t shown = 0, hidden = 0;

	for (size_t i = 0; i < l->n; i++) {
		const struct pyc_interp *in = &l->v[i];
		char ver[48];

		if (l->rejected[i] && !all) {
			hidden++;
			continue;
		}
		snprintf(ver, sizeof(ver), "%d.%d.%d", in->major, in->minor,
			 in->micro);
		if (l->rejected[i]) {
			printf("%s%-8s %-12s %5s  %s  (unusable: %s)%s\n",
			       color(ctx, C_DIM), in->impl ? ver : "?", "-",
			       "-", cli_qpath(in->path), l->rejected[i],
			       color(ctx, C_RESET));
			continue;
		}
		printf("%-8s %-12s %5u  %s", ver, in->tag, in->magic,
		       cli_qpath(in->path));
		if (strcmp(in->path, in->real) != 0)
			printf(" -> %s", cli_qpath(in->real));
		putchar('\n');
		shown++;
	}
	if (!ctx->quiet && !shown)
		cli_warn("no CPython 3.8 or later found on PATH, in pyenv or "
			 "in the usual places");
	if (!ctx->quiet && hidden)
		fprintf(stderr, "(%zu more that cannot be used: see "
			"'pycprefix pythons --all')\n", hidden);
}

struct pythons_opts {
	bool all;
};

static int parse_pythons(int argc, char **argv, struct cli_ctx *ctx,
			 void *opts)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ 0 },
	};
	struct cli_parser p = { .argc = argc, .argv = argv, .ctx = ctx,
				.shortopts = "a", .longopts = longopts };
	struct pythons_opts *o = opts;
	int c;

	while ((c = cli_getopt(&p)) != -1) {
		if (c != 'a')
			return cli_opt_stop(c);
		o->all = true;
	}
	if (optind < argc)
		return cli_usage_error(ctx, "pythons takes no operands");
	return 0;
}

static int cmd_pythons(struct cli_ctx *ctx, void *opts)
{
	const struct pythons_opts *o = opts;
	struct pyc_interp_list list;
	bool any = false;

	if (pyc_interp_discover(&list) < 0)
		return cli_error("out of memory");
	if (ctx->json)
		print_json(ctx->out, &list, o->all);
	else
		print_human(ctx, &list, o->all);
	for (size_t i = 0; i < list.n; i++)
		any |= !list.rejected[i];
	pyc_interp_list_release(&list);
	return any ? EXIT_OK : EXIT_USAGE;
}

const struct cli_cmd cli_cmd_pythons = {
	.name = "pythons",
	.parse = parse_pythons,
	.fn = cmd_pythons,
	.opts_size = sizeof(struct pythons_opts),
	.takes = TAKES_JSON | TAKES_QUIET,
	.needs = 0,
	.usage = "[--all]",
	.summary = "List the interpreters found on this machine.",
	.help =
	"Looks on PATH, in pyenv's versions and in the usual install\n"
	"locations; each real executable once.\n\n"
	"Options:\n"
	"  -a, --all          also list interpreters that cannot be used\n",
};
