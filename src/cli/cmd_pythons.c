/*
 * cmd_pythons.c - pycprefix pythons: the interpreters on this machine.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static void print_json(const struct pyc_interp_list *l, bool all)
{
	bool first = true;

	fputc('[', stdout);
	for (size_t i = 0; i < l->n; i++) {
		const struct pyc_interp *in = &l->v[i];

		if (l->rejected[i] && !all)
			continue;
		fputs(first ? "\n  {" : ",\n  {", stdout);
		first = false;
		json_key(stdout, "path");
		json_str(stdout, in->path);
		fputs(", ", stdout);
		json_key(stdout, "real");
		json_str(stdout, in->real);
		if (in->impl) {
			fprintf(stdout, ", \"version\": \"%d.%d.%d\", ",
				in->major, in->minor, in->micro);
			json_key(stdout, "implementation");
			json_str(stdout, in->impl);
		}
		if (in->tag) {
			fputs(", ", stdout);
			json_key(stdout, "tag");
			json_str(stdout, in->tag);
			fprintf(stdout, ", \"magic\": %u", in->magic);
		}
		fputs(", ", stdout);
		json_key(stdout, "usable");
		fputs(l->rejected[i] ? "false" : "true", stdout);
		fputs(", ", stdout);
		json_key(stdout, "reason");
		json_str(stdout, l->rejected[i]);
		fputc('}', stdout);
	}
	fputs(first ? "]\n" : "\n]\n", stdout);
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

int cmd_pythons(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ 0 },
	};
	struct cli_parser p = { .argc = argc, .argv = argv, .ctx = ctx,
				.shortopts = "a", .longopts = longopts };
	struct pyc_interp_list list;
	bool all = false, any = false;
	int c;

	while ((c = cli_getopt(&p)) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'h':
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error(ctx, "pythons takes no operands");
	if (pyc_interp_discover(&list) < 0)
		return cli_error("out of memory");
	if (ctx->json)
		print_json(&list, all);
	else
		print_human(ctx, &list, all);
	for (size_t i = 0; i < list.n; i++)
		any |= !list.rejected[i];
	pyc_interp_list_release(&list);
	return any ? EXIT_OK : EXIT_USAGE;
}
