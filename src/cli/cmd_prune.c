/*
 * cmd_prune.c - pycprefix prune: what is dead out of the prefix.
 */
#include "cli.h"
#include "tidy_report.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/*
 * A size: a whole number, or one with a fraction and a unit ("1.5G"),
 * the unit one of K, M, G, T, P, E: powers of 1024, in either case, with
 * "iB" or "B" after it or not (K, KiB and KB all mean 1024 bytes); a
 * bare number, or one ending in B, is bytes.  Fractions round down to
 * the byte.  Returns 0, -1 when malformed, -2 when past 2^64 - 1 bytes.
 */
static int parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGTPE";
	uint64_t v, frac = 0, num = 0, den = 1;
	const char *p, *u;
	char *end;
	int shift = 0;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -2;
	p = end;
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return -1;
		for (; isdigit((unsigned char)*p); p++)
			if (den < 1000000000) { /* nine digits are plenty */
				num = num * 10 + (uint64_t)(*p - '0');
				den *= 10;
			}
	}
	if (*p && (u = strchr(units, toupper((unsigned char)*p)))) {
		shift = 10 * (int)(u - units + 1);
		p++;
		if (*p == 'i' || *p == 'I')
			p++;
	}
	if (*p == 'b' || *p == 'B')
		p++;
	if (*p || (den > 1 && !shift))
		return -1;
	if (v > (UINT64_MAX >> shift))
		return -2;
	v <<= shift;
	/* floor(num / den * 2^shift) by long division: num < den < 2^30 */
	for (int i = 0; i < shift; i++) {
		num *= 2;
		frac = frac * 2 + num / den;
		num %= den;
	}
	if (v > UINT64_MAX - frac)
		return -2;
	*out = v + frac;
	return 0;
}

/* An age: a whole number and a unit, s, m, h, d or w (seconds, minutes,
 * hours, days, weeks); a bare number is days.  Returns 0, -1 when
 * malformed, -2 when past 2^63 - 1 seconds. */
static int parse_age(const char *s, int64_t *out)
{
	char *end;
	long long v;
	int64_t unit;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return -2;
	switch (*end) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': case '\0': unit = 86400; break;
	case 'w': unit = 7 * 86400; break;
	default: return -1;
	}
	if (*end && end[1])
		return -1;
	if (v > INT64_MAX / unit)
		return -2;
	*out = v * unit;
	return 0;
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

/* *list = *list + "," + more (or more, the first time).  0 or -1. */
static int append_list(char **list, const char *more)
{
	size_t n = (*list ? strlen(*list) + 1 : 0) + strlen(more) + 1;
	char *v = malloc(n);

	if (!v)
		return -1;
	snprintf(v, n, "%s%s%s", *list ? *list : "", *list ? "," : "", more);
	free(*list);
	*list = v;
	return 0;
}

/* The first item of the comma-separated `s` that is not a real cache
 * tag (in a static buffer), or NULL when all are. */
static const char *not_a_tag(const char *s)
{
	static char item[128];

	while (*s) {
		size_t n = strcspn(s, ",");
		if (n) {
			if (n >= sizeof(item))
				n = sizeof(item) - 1;
			memcpy(item, s, n);
			item[n] = '\0';
			if (!pyc_cache_tag_is_real(item))
				return item;
		}
		s += n + (s[n] == ',');
	}
	return NULL;
}

/* --tags (argv[optind] follows it) or --tags=LIST (optarg): 0, or -1
 * after a usage error. */
static int tags_arg(const struct cli_ctx *ctx, int argc, char **argv,
		    struct pyc_tidy_opts *o, char **list)
{
	const char *bad;

	if (!optarg) {
		/* "--tags cpython-38": the list is not an operand, and not
		 * a PATH either. */
		if (optind < argc && argv[optind][0] && !not_a_tag(argv[optind]))
			return cli_usage_error(ctx, "write the list of --tags "
					       "after '=': --tags=%s (or "
					       "'--tags -- %s' for a PATH of "
					       "that name)", argv[optind],
					       argv[optind]);
		o->flags |= PYC_TIDY_UNINSTALLED;
		return 0;
	}
	if (!optarg[0])
		return cli_usage_error(ctx, "--tags= takes a list of tags "
				       "(--tags=cpython-38,pypy39)");
	if ((bad = not_a_tag(optarg)))
		return cli_usage_error(ctx, "--tags: '%s' is not a cache tag "
				       "(such as cpython-38 or pypy39)", bad);
	if (append_list(list, optarg) < 0)
		return cli_error("out of memory");
	return 0;
}

struct prune_args {
	struct pyc_tidy_opts o;
	char *tagbuf;           /* the --tags=LISTs, joined */
	bool sys_path;
	const char *store;      /* --store: that store alone */
	bool older_than;        /* --older-than given */
};

/* --store-age: how long an object no pyc links to stays unused. */
static int store_age_arg(const struct cli_ctx *ctx, struct pyc_tidy_opts *o)
{
	int r = parse_age(optarg, &o->store_age);

	if (r == -2)
		return cli_usage_error(ctx, "--store-age '%s' is out of range "
				       "(at most 106751991167300d)", optarg);
	if (r < 0)
		return cli_usage_error(ctx, "--store-age takes an age such as "
				       "30d, 12h or 0");
	return 0;
}

/* --max-size and --older-than. */
static int limit_arg(const struct cli_ctx *ctx, int c, struct pyc_tidy_opts *o)
{
	int r;

	if (c == 's') {
		if ((r = parse_size(optarg, &o->max_size)) == -2)
			return cli_usage_error(ctx, "--max-size '%s' is out of "
					       "range (below 16E)", optarg);
		if (r < 0)
			return cli_usage_error(ctx, "--max-size takes a size "
					       "such as 0, 500M or 1.5G");
		o->flags |= PYC_TIDY_MAX_SIZE;
		return 0;
	}
	if ((r = parse_age(optarg, &o->older_than)) == -2)
		return cli_usage_error(ctx, "--older-than '%s' is out of range "
				       "(at most 106751991167300d)", optarg);
	if (r < 0)
		return cli_usage_error(ctx, "--older-than takes an age such as "
				       "30d, 12h or 45m");
	o->flags |= PYC_TIDY_OLDER_THAN;
	return 0;
}

static int parse_prune(int argc, char **argv, struct cli_ctx *ctx,
		       void *opts)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "tags", optional_argument, NULL, 't' },
		{ "max-size", required_argument, NULL, 's' },
		{ "older-than", required_argument, NULL, 'o' },
		{ "sys-path", no_argument, NULL, 'S' },
		{ "store-age", required_argument, NULL, 'A' },
		{ "store", required_argument, NULL, 'D' },
		{ 0 },
	};
	struct cli_parser p = { .argc = argc, .argv = argv, .ctx = ctx,
				.shortopts = "n", .longopts = longopts };
	struct prune_args *a = opts;
	int c;

	a->o.temp_grace = 600;
	/* The store's objects no pyc links to stay a month after their
	 * last use: the next venv or checkout of the same sources is
	 * likely within it. */
	a->o.flags |= PYC_TIDY_STORE_AGE;
	a->o.store_age = 30 * 86400;
	while ((c = cli_getopt(&p)) != -1) {
		switch (c) {
		case 'n':
			a->o.flags |= PYC_TIDY_DRY_RUN;
			break;
		case 't':
			if (tags_arg(ctx, argc, argv, &a->o, &a->tagbuf) < 0)
				return -1;
			break;
		case 's':
		case 'o':
			if (limit_arg(ctx, c, &a->o) < 0)
				return -1;
			break;
		case 'S':
			a->sys_path = true;
			break;
		case 'A':
			if (store_age_arg(ctx, &a->o) < 0)
				return -1;
			break;
		case 'D':
			if (!optarg[0])
				return cli_usage_error(ctx, "--store takes a "
						       "directory");
			a->store = optarg;
			break;
		default:
			return cli_opt_stop(c);
		}
	}
	if (a->sys_path && optind < argc)
		return cli_usage_error(ctx, "--sys-path takes no PATH");
	if (a->store && (a->sys_path || optind < argc))
		return cli_usage_error(ctx, "--store prunes that store alone: "
				       "it takes no PATH and no --sys-path");
	if (a->store && (a->o.flags & PYC_TIDY_OLDER_THAN))
		return cli_usage_error(ctx, "--older-than is for pycs: with "
				       "--store, --store-age");
	return 0;
}

static void prune_release(void *opts)
{
	struct prune_args *a = opts;

	free(a->tagbuf);
}

/* A PATH that is not there: said before anything is removed. */
static int check_paths(const struct cli_ctx *ctx)
{
	struct stat pst;

	for (int i = 0; i < ctx->nargs; i++)
		if (stat(ctx->args[i], &pst) < 0)
			return cli_error("cannot prune '%s': %s", ctx->args[i],
					 strerror(errno));
	return 0;
}

/* tidy_run()'s operation for --store: the one path is the store. */
static int prune_store_op(const struct pyc_tidy_opts *o,
			  const char *const *paths, size_t n,
			  struct pyc_tidy_stats *st)
{
	(void)n;
	return pyc_prune_store(o, paths[0], st);
}

static int cmd_prune(struct cli_ctx *ctx, void *opts)
{
	struct prune_args *a = opts;
	struct pyc_tidy_opts *o = &a->o;
	char **tags = NULL, **sp = NULL;
	size_t nsp = 0, ntags = 0;
	int ret;

	if (check_paths(ctx) < 0)
		return -1;
	/* --sys-path: the mirrors of those directories, never the whole
	 * prefix (no directory: nothing to do). */
	if (a->sys_path && (cli_sys_path_dirs(ctx, &sp, &nsp) < 0 || !nsp)) {
		ret = sp ? cli_error("no directory on sys.path") : -1;
		goto out;
	}
	/* Staleness is judged by installed interpreters only, and --tags
	 * removes the pycs of every tag none of them has. */
	if ((o->flags & PYC_TIDY_UNINSTALLED) && !ctx->ninstalled) {
		ret = cli_error("no interpreter found here: --tags would take "
				"every pyc for dead; list the tags "
				"(--tags=cpython-38,...)");
		goto out;
	}
	if (a->tagbuf && !(tags = split_list(a->tagbuf, &ntags))) {
		ret = cli_error("out of memory");
		goto out;
	}
	o->prefix = a->store ? a->store : ctx->prefix;
	o->dead_tags = (const char *const *)tags;
	o->ndead_tags = ntags;
	o->interps = ctx->installed;
	o->ninterps = ctx->ninstalled;
	if (a->store) {
		ret = tidy_run(ctx, o, prune_store_op, &a->store, 1,
			       "cannot prune the store", "removed");
		goto out;
	}
	ret = tidy_run(ctx, o, pyc_prune,
		       a->sys_path ? (const char *const *)sp
				   : (const char *const *)ctx->args,
		       a->sys_path ? nsp : (size_t)ctx->nargs,
		       "cannot prune the prefix", "removed");
out:
	free(tags);
	cli_strv_free(sp, nsp);
	return ret;
}

const struct cli_cmd cli_cmd_prune = {
	.name = "prune",
	.parse = parse_prune,
	.fn = cmd_prune,
	.release = prune_release,
	.opts_size = sizeof(struct prune_args),
	.takes = TAKES_PREFIX | TAKES_PYTHON | TAKES_JSON | TAKES_QUIET |
		 TAKES_VERBOSE,
	.needs = NEEDS_PREFIX | NEEDS_INSTALLED,
	.usage = "[-n] [--tags[=LIST]] [--max-size SIZE] [--older-than AGE] "
		"[--store-age AGE] [--sys-path | PATH... | --store DIR]",
	.summary = "Remove what is dead from the prefix.",
	.help =
	"Removes pycs whose source is gone, stale pycs (judged by the\n"
	"installed interpreter of their tag), temporary files of killed\n"
	"writers (older than 10 minutes), and emptied directories; in the\n"
	"part of the prefix that mirrors each PATH, or in all of it.\n"
	"Only regular files named NAME.TAG.pyc with a real cache tag\n"
	"(cpython-312, pypy39, graalpy231-310) are ever removed, never\n"
	"through a symlink.  A prefix that is '/' or holds sources or\n"
	"__pycache__ folders is no cache: refused before anything goes.\n"
	"A pyc's last use is its access time (pycprefix's own reads leave\n"
	"it alone) or, if later, its modification time.  Bytes told are\n"
	"bytes freed: a file with several names (--hardlink-dupes) counts\n"
	"when its last name goes; --max-size measures the prefix as du\n"
	"does, each file once.\n"
	"The store in the prefix (.pycprefix-store) is no mirror: pruning\n"
	"the whole prefix, its objects that no pyc links to (one name)\n"
	"and that no run read within --store-age go, and its writers'\n"
	"temporary files; its directories and what is not an object stay.\n"
	"--tags takes its objects of those tags' compilers too, unused or\n"
	"not, once no pyc links to them.  --max-size counts the store too\n"
	"and evicts such objects with the pycs, least recently used first.\n"
	"--store DIR prunes the store at DIR alone, as the prefix's: that of\n"
	"--in-tree runs is ~/.cache/pycprefix-store (XDG_CACHE_HOME).\n\n"
	"Options:\n"
	"  -n, --dry-run      list what would be removed, directories too,\n"
	"                     remove nothing\n"
	"      --tags         also pycs of every tag whose interpreter is not\n"
	"                     installed (other implementations too)\n"
	"      --tags=LIST    also pycs of the tags listed, installed or not\n"
	"                     (cpython-38,pypy39)\n"
	"      --max-size SIZE  then evict least recently used pycs until the\n"
	"                     prefix holds at most SIZE; equal times (whole\n"
	"                     seconds) go in byte order of the path.  SIZE:\n"
	"                     bytes, or with K, M, G, T, P or E (powers of\n"
	"                     1024; KiB and KB mean K): 0, 500M, 1.5G\n"
	"      --older-than AGE  pycs not used for AGE: a number and s, m, h,\n"
	"                     d or w (seconds to weeks); bare: days (30d)\n"
	"      --store-age AGE  store objects no pyc links to and not used\n"
	"                     for AGE (default 30d; 0: all of them), as\n"
	"                     --older-than's AGE\n"
	"      --store DIR    the store at DIR alone, not the prefix (the\n"
	"                     store of --in-tree runs, or one compile\n"
	"                     --store names)\n"
	"      --sys-path     in the part that mirrors the sys.path of the\n"
	"                     interpreters --python names (default python3,\n"
	"                     'all' for every one) instead of PATHs\n",
};
