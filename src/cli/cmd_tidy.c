/*
 * cmd_tidy.c - pycprefix prune, clean and migrate.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct tidy_ui {
	struct cli_ctx *ctx;
	bool dry;
	bool first;
};

static void on_event(const struct pyc_tidy_event *ev, void *arg)
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
		printf("%s -> %s\n", ev->path, ev->to);
	else
		printf("%s%s (%s)\n", ui->dry ? "would remove " : "removed ",
		       ev->path, pyc_tidy_why_text(ev->why));
}

static void on_error(const char *path, const char *msg, void *arg)
{
	(void)arg;
	cli_warn("'%s': %s", path, msg);
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

/* "500M", "2G", "100k", "123": bytes. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -1;
	switch (toupper((unsigned char)*end)) {
	case 'K': v <<= 10; end++; break;
	case 'M': v <<= 20; end++; break;
	case 'G': v <<= 30; end++; break;
	case 'T': v <<= 40; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'I')
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end)
		return -1;
	*out = v;
	return 0;
}

/* "30d", "12h", "45m", "90s"; a bare number is days. */
static int parse_age(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0)
		return -1;
	switch (*end) {
	case 's': break;
	case 'm': v *= 60; break;
	case 'h': v *= 3600; break;
	case 'd': case '\0': v *= 86400; break;
	case 'w': v *= 7 * 86400; break;
	default: return -1;
	}
	if (*end && end[1])
		return -1;
	*out = v;
	return 0;
}

static int summary(const struct tidy_ui *ui, const struct pyc_tidy_stats *st,
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

static void begin(const struct tidy_ui *ui)
{
	if (ui->ctx->json)
		fputs("{\"events\": [", stdout);
}

/* Tags of release CPythons that are not installed here. */
static char **uninstalled_tags(size_t *n)
{
	struct pyc_interp_list list;
	char **v = calloc(32, sizeof(*v));

	*n = 0;
	if (!v || pyc_interp_discover(&list) < 0) {
		free(v);
		return NULL;
	}
	for (int minor = 8; minor < 40 && *n < 31; minor++) {
		char tag[32];
		bool have = false;
		if (!pyc_magic_of_version(3, minor))
			continue;
		snprintf(tag, sizeof(tag), "cpython-3%d", minor);
		for (size_t i = 0; i < list.n; i++)
			have |= !list.rejected[i] && list.v[i].tag &&
				!strcmp(list.v[i].tag, tag);
		if (!have)
			v[(*n)++] = strdup(tag);
	}
	pyc_interp_list_release(&list);
	return v;
}

/* Split "a,b,c" in place. */
static char **split_list(char *s, size_t *n)
{
	char **v = calloc(strlen(s) + 1, sizeof(*v));

	*n = 0;
	for (char *p = s; v && p && *p;) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		if (*p)
			v[(*n)++] = p;
		p = comma ? comma + 1 : NULL;
	}
	return v;
}

int cmd_prune(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "tags", optional_argument, NULL, 't' },
		{ "max-size", required_argument, NULL, 's' },
		{ "older-than", required_argument, NULL, 'o' },
		{ 0 },
	};
	struct cli_parser p = { .argc = argc, .argv = argv, .ctx = ctx,
				.shortopts = "n", .longopts = longopts };
	struct tidy_ui ui = { .ctx = ctx, .first = true };
	struct pyc_tidy_opts o = { .temp_grace = 600 };
	struct pyc_tidy_stats st;
	char **tags = NULL, *prefix, *tagbuf = NULL;
	bool auto_tags = false;
	const char *origin;
	size_t ntags = 0;
	int c, ret;

	while ((c = cli_getopt(&p)) != -1) {
		switch (c) {
		case 'n':
			o.flags |= PYC_TIDY_DRY_RUN;
			break;
		case 't':
			if (optarg) {
				free(tagbuf);
				tagbuf = strdup(optarg);
			} else {
				auto_tags = true;
			}
			break;
		case 's':
			if (parse_size(optarg, &o.max_size) < 0 || !o.max_size)
				return cli_usage_error(ctx, "--max-size takes a "
						       "size such as 500M or "
						       "2G");
			break;
		case 'o':
			if (parse_age(optarg, &o.older_than) < 0)
				return cli_usage_error(ctx, "--older-than takes "
						       "an age such as 30d, "
						       "12h or 45m");
			break;
		default:
			free(tagbuf);
			return c == 'h' ? EXIT_OK : EXIT_USAGE;
		}
	}
	if (ctx->in_tree)
		return cli_usage_error(ctx, "prune works on the prefix; for "
				       "__pycache__ folders use 'pycprefix "
				       "clean'");
	if (cli_prefix(ctx, &prefix, &origin) < 0)
		return EXIT_USAGE;
	if (tagbuf)
		tags = split_list(tagbuf, &ntags);
	else if (auto_tags)
		tags = uninstalled_tags(&ntags);
	o.prefix = prefix;
	o.dead_tags = (const char *const *)tags;
	o.ndead_tags = ntags;
	o.event = on_event;
	o.error = on_error;
	o.arg = &ui;
	ui.dry = o.flags & PYC_TIDY_DRY_RUN;
	begin(&ui);
	if (pyc_prune(&o, (const char *const *)&argv[optind],
		      (size_t)(argc - optind), &st) < 0) {
		if (ctx->json)
			fputs("]}\n", stdout);
		ret = cli_error("cannot prune the prefix '%s': %s", prefix,
				strerror(errno));
	} else {
		ret = summary(&ui, &st, "removed");
	}
	if (!tagbuf && tags)
		for (size_t i = 0; i < ntags; i++)
			free(tags[i]);
	free(tags);
	free(tagbuf);
	free(prefix);
	return ret;
}

int cmd_clean(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "sourceless", no_argument, NULL, 'S' },
		{ 0 },
	};
	struct cli_parser p = { .argc = argc, .argv = argv, .ctx = ctx,
				.shortopts = "n", .longopts = longopts };
	struct tidy_ui ui = { .ctx = ctx, .first = true };
	struct pyc_tidy_opts o = { 0 };
	struct pyc_tidy_stats st;
	const char *dflt[] = { "." };
	int c;

	while ((c = cli_getopt(&p)) != -1) {
		switch (c) {
		case 'n':
			o.flags |= PYC_TIDY_DRY_RUN;
			break;
		case 'S':
			o.flags |= PYC_TIDY_SOURCELESS_TOO;
			break;
		case 'h':
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	o.event = on_event;
	o.error = on_error;
	o.arg = &ui;
	ui.dry = o.flags & PYC_TIDY_DRY_RUN;
	begin(&ui);
	if (pyc_clean(&o, optind < argc ? (const char *const *)&argv[optind]
					: dflt,
		      optind < argc ? (size_t)(argc - optind) : 1, &st) < 0)
		return cli_error("out of memory");
	return summary(&ui, &st, "removed");
}

int cmd_migrate(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force-insecure", no_argument, NULL, 'I' },
		{ 0 },
	};
	struct cli_parser p = { .argc = argc, .argv = argv, .ctx = ctx,
				.shortopts = "n", .longopts = longopts };
	struct tidy_ui ui = { .ctx = ctx, .first = true };
	struct pyc_tidy_opts o = { 0 };
	struct pyc_tidy_stats st;
	struct pyc_interp *interps = NULL;
	size_t ninterps = 0;
	const char *dflt[] = { "." }, *origin;
	char *prefix;
	int c, ret;

	while ((c = cli_getopt(&p)) != -1) {
		switch (c) {
		case 'n':
			o.flags |= PYC_TIDY_DRY_RUN;
			break;
		case 'I':
			o.flags |= PYC_TIDY_INSECURE;
			break;
		case 'h':
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (ctx->in_tree)
		return cli_usage_error(ctx, "migrate moves pycs into a prefix: "
				       "--in-tree makes no sense here");
	if (cli_prefix(ctx, &prefix, &origin) < 0)
		return EXIT_USAGE;
	if (!(o.flags & PYC_TIDY_DRY_RUN) &&
	    cli_prefix_trust(prefix, o.flags & PYC_TIDY_INSECURE) < 0) {
		free(prefix);
		return EXIT_USAGE;
	}
	/* Without --python, every release tag moves, judged by its own
	 * interpreter's rules from the release tables. */
	if (ctx->npythons && cli_interps(ctx, &interps, &ninterps) < 0) {
		free(prefix);
		return EXIT_USAGE;
	}
	o.prefix = prefix;
	o.interps = interps;
	o.ninterps = ninterps;
	o.event = on_event;
	o.error = on_error;
	o.arg = &ui;
	ui.dry = o.flags & PYC_TIDY_DRY_RUN;
	begin(&ui);
	if (pyc_migrate(&o, optind < argc ? (const char *const *)&argv[optind]
					  : dflt,
			optind < argc ? (size_t)(argc - optind) : 1, &st) < 0) {
		if (ctx->json)
			fputs("]}\n", stdout);
		ret = cli_error("cannot use the prefix '%s': %s", prefix,
				strerror(errno));
	} else {
		ret = summary(&ui, &st, "moved or removed");
	}
	cli_interps_release(interps, ninterps);
	free(prefix);
	return ret;
}
