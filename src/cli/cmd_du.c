/*
 * cmd_du.c - pycprefix du: where the prefix's space goes.
 *
 * Sizes are told both ways, as du(1) does: apparent (st_size, du
 * --apparent-size) and allocated (st_blocks * 512, plain du); a file with
 * several names (--hardlink-dupes) is counted once, in the rows of its
 * name of the lowest level (the pyc the others repeat; the first met
 * among equals), and its other names count as links in theirs, with no
 * bytes: whatever the walk's order, the rows add up to the total.  Breakdowns by tag, by level, and by root (the sys.path
 * entry a pyc's module comes from, rule in pycprefix.h), or with --depth
 * by directory N levels deep.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct bucket {
	char *key;
	uint64_t bytes, disk;
	size_t files;
	size_t linked;          /* of files, names whose bytes are elsewhere */
};

struct buckets {
	struct bucket *v;
	size_t n, alloc;
	bool oom;
};

/* The bucket of key, made empty when new; NULL when out of memory
 * (b->oom).  Valid until the next call. */
static struct bucket *bucket_get(struct buckets *b, const char *key)
{
	/* Items come a directory at a time: the last bucket is the likely
	 * one. */
	for (size_t i = b->n; i-- > 0;)
		if (strcmp(b->v[i].key, key) == 0)
			return &b->v[i];
	if (b->n == b->alloc) {
		size_t n = b->alloc ? b->alloc * 2 : 16;
		struct bucket *v = realloc(b->v, n * sizeof(*v));
		if (!v) {
			b->oom = true;
			return NULL;
		}
		b->v = v;
		b->alloc = n;
	}
	char *k = strdup(key);
	if (!k) {
		b->oom = true;
		return NULL;
	}
	b->v[b->n] = (struct bucket){ .key = k };
	return &b->v[b->n++];
}

/* A name of a pyc into the bucket of key: its bytes, or a link. */
static void bucket_add(struct buckets *b, const char *key,
		       const struct pyc_du_item *it)
{
	struct bucket *k = bucket_get(b, key);

	if (!k)
		return;
	k->files++;
	if (it->linked) {
		k->linked++;
	} else {
		k->bytes += it->bytes;
		k->disk += it->disk_bytes;
	}
}

/* A file's bytes move from the bucket of `from` (whose name becomes a
 * link) to that of `to` (whose name, added as a link, no longer is). */
static void bucket_move(struct buckets *b, const char *from, const char *to,
			const struct pyc_du_item *it)
{
	struct bucket *k = bucket_get(b, from);

	if (k) {
		k->bytes -= it->bytes;
		k->disk -= it->disk_bytes;
		k->linked++;
	}
	if ((k = bucket_get(b, to))) {
		k->bytes += it->bytes;
		k->disk += it->disk_bytes;
		k->linked--;
	}
}

static int bucket_cmp(const void *a, const void *b)
{
	const struct bucket *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return strcmp(x->key, y->key);
}

/* A file with several names: the name its bytes are counted under. */
struct owner {
	dev_t dev;
	ino_t ino;
	bool used;
	int level;
	char *tag, *key;        /* its tag and root (or directory) */
};

struct owners {
	struct owner *v;
	size_t n, cap;
	bool oom;
};

struct du_ui {
	struct buckets tag, level, dir, root;
	struct owners owners;
	int depth;              /* 0: by root */
	uint64_t disk;
	size_t linked;
};

static size_t owner_slot(const struct owners *o, dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)ino * 0x9E3779B97F4A7C15ull) ^ (uint64_t)dev;
	size_t i = (size_t)(h ^ (h >> 29)) & (o->cap - 1);

	while (o->v[i].used && (o->v[i].dev != dev || o->v[i].ino != ino))
		i = (i + 1) & (o->cap - 1);
	return i;
}

/* The owner of (dev, ino), new (used, no tag) when not there; NULL when
 * out of memory. */
static struct owner *owner_get(struct owners *o, dev_t dev, ino_t ino)
{
	size_t i;

	if ((o->n + 1) * 2 > o->cap) {
		struct owners big = { .cap = o->cap ? o->cap * 2 : 64 };
		if (!(big.v = calloc(big.cap, sizeof(*big.v)))) {
			o->oom = true;
			return NULL;
		}
		for (size_t k = 0; k < o->cap; k++)
			if (o->v[k].used)
				big.v[owner_slot(&big, o->v[k].dev,
						 o->v[k].ino)] = o->v[k];
		big.n = o->n;
		free(o->v);
		*o = big;
	}
	i = owner_slot(o, dev, ino);
	if (!o->v[i].used) {
		o->v[i] = (struct owner){ .dev = dev, .ino = ino, .used = true };
		o->n++;
	}
	return &o->v[i];
}

static void owners_release(struct owners *o)
{
	for (size_t i = 0; i < o->cap; i++) {
		free(o->v[i].tag);
		free(o->v[i].key);
	}
	free(o->v);
}

static int level_rank(int level)
{
	return level < 0 ? 3 : level;
}

/* Count one name in the tag, level and root (or directory) rows; a file
 * with several names is credited to its name of the lowest level,
 * moving its bytes when a lower one comes after. */
static void count_name(struct du_ui *d, const struct pyc_du_item *it,
		       const char *key)
{
	struct buckets *kb = d->depth ? &d->dir : &d->root;
	char level[8], was[8];
	struct owner *o = NULL;

	snprintf(level, sizeof(level), "%d", it->level);
	bucket_add(&d->tag, it->tag, it);
	bucket_add(&d->level, level, it);
	bucket_add(kb, key, it);
	if (it->st->st_nlink > 1 &&
	    !(o = owner_get(&d->owners, it->st->st_dev, it->st->st_ino)))
		return;
	if (o && !it->linked) {
		o->level = it->level;
		o->tag = strdup(it->tag);
		o->key = strdup(key);
		if (!o->tag || !o->key)
			d->owners.oom = true;
	} else if (o && o->tag && o->key &&
		   level_rank(it->level) < level_rank(o->level)) {
		char *tag = strdup(it->tag), *k = strdup(key);
		if (!tag || !k) {
			free(tag);
			free(k);
			d->owners.oom = true;
			return;
		}
		snprintf(was, sizeof(was), "%d", o->level);
		bucket_move(&d->tag, o->tag, tag, it);
		bucket_move(&d->level, was, level, it);
		bucket_move(kb, o->key, k, it);
		free(o->tag);
		free(o->key);
		*o = (struct owner){ o->dev, o->ino, true, it->level, tag, k };
	}
}

/* The first `depth` components of dir, as "/a/b". */
static void dir_key(char *out, size_t size, const char *p, int depth)
{
	size_t n = 0;

	for (int k = 0; k < depth && p[n]; k++) {
		const char *slash = strchr(p + n, '/');
		if (!slash) {
			n = strlen(p);
			break;
		}
		n = (size_t)(slash - p) + (k + 1 < depth);
	}
	while (n && p[n - 1] == '/')
		n--;
	snprintf(out, size, "/%.*s", (int)n, p);
}

static void on_pyc(const struct pyc_du_item *it, void *arg)
{
	struct du_ui *d = arg;
	char dir[4096];

	if (d->depth)
		dir_key(dir, sizeof(dir), it->dir, d->depth);
	count_name(d, it, d->depth ? dir : it->root ? it->root : "?");
	if (it->linked)
		d->linked++;
	else
		d->disk += it->disk_bytes;
}

static void on_error(const char *path, const char *msg, void *arg)
{
	(void)arg;
	cli_warn("cannot read '%s': %s", path, msg);
}

static void print_buckets(const struct cli_ctx *ctx, const char *title,
			  struct buckets *b, size_t most)
{
	char hb[32], hd[32];

	if (b->n)
		qsort(b->v, b->n, sizeof(*b->v), bucket_cmp);
	if (ctx->json) {
		json_array(ctx->out, title);
		for (size_t i = 0; i < b->n; i++) {
			json_object(ctx->out, NULL);
			json_string(ctx->out, "key", b->v[i].key);
			json_uint(ctx->out, "bytes", b->v[i].bytes);
			json_uint(ctx->out, "disk_bytes", b->v[i].disk);
			json_uint(ctx->out, "files", b->v[i].files);
			json_uint(ctx->out, "linked", b->v[i].linked);
			json_end(ctx->out);
		}
		json_end(ctx->out);
	} else if (b->n) {
		printf("%s:\n", title);
		for (size_t i = 0; i < b->n && i < most; i++) {
			cli_human_bytes(hb, sizeof(hb), b->v[i].bytes);
			cli_human_bytes(hd, sizeof(hd), b->v[i].disk);
			printf("  %10s %10s %7zu  %s", hb, hd, b->v[i].files,
			       cli_qpath(b->v[i].key));
			if (b->v[i].linked)
				printf(" (%zu hard link%s)", b->v[i].linked,
				       b->v[i].linked == 1 ? "" : "s");
			putchar('\n');
		}
		if (b->n > most)
			printf("  ... %zu more\n", b->n - most);
	}
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i].key);
	free(b->v);
}

/* The store's lines: its objects, and what hard links save. */
static void print_store(const struct cli_ctx *ctx, const char *prefix,
			const struct pyc_store_usage *u)
{
	struct json_writer *w = ctx->out;
	char hb[32], hd[32], hs[32];

	if (ctx->json) {
		json_object(w, "store");
		json_uint(w, "objects", u->objects);
		json_uint(w, "bytes", u->bytes);
		json_uint(w, "disk_bytes", u->disk_bytes);
		json_uint(w, "linked", u->linked);
		json_uint(w, "own_disk_bytes", u->own_disk_bytes);
		json_uint(w, "temps", u->temps);
		json_uint(w, "others", u->others);
		json_uint(w, "errors", u->errors);
		json_end(w);
		json_uint(w, "hardlink_saved_disk_bytes", u->saved_disk_bytes);
		return;
	}
	(void)prefix;
	if (!u->objects && !u->saved_disk_bytes)
		return;
	cli_human_bytes(hb, sizeof(hb), u->bytes);
	cli_human_bytes(hd, sizeof(hd), u->disk_bytes);
	cli_human_bytes(hs, sizeof(hs), u->own_disk_bytes);
	printf("store: %s (%s on disk) in %zu object%s, %zu linked by pycs; "
	       "%s on disk in no pyc\n", hb, hd, u->objects,
	       u->objects == 1 ? "" : "s", u->linked, hs);
	cli_human_bytes(hs, sizeof(hs), u->saved_disk_bytes);
	printf("hard links save %s on disk\n", hs);
}

static void print_total(const struct cli_ctx *ctx, const char *prefix,
			const struct pyc_tidy_stats *st,
			const struct du_ui *d)
{
	char hb[32], hd[32];

	if (ctx->json) {
		struct json_writer *w = ctx->out;

		json_object(w, NULL);
		json_string(w, "prefix", prefix);
		json_uint(w, "bytes", st->bytes);
		json_uint(w, "disk_bytes", d->disk);
		json_uint(w, "files", st->kept);
		json_uint(w, "linked", d->linked);
		json_uint(w, "errors", st->errors);
		return;
	}
	cli_human_bytes(hb, sizeof(hb), st->bytes);
	cli_human_bytes(hd, sizeof(hd), d->disk);
	printf("%s (%s on disk) in %zu pyc%s under %s\n", hb, hd, st->kept,
	       st->kept == 1 ? "" : "s", cli_qpath(prefix));
	if (d->linked)
		printf("(%zu of them hard link%s to a file counted once, "
		       "under its name of the lowest level)\n", d->linked,
		       d->linked == 1 ? "" : "s");
	if (st->kept)
		printf("  %10s %10s %7s\n", "apparent", "on disk", "pycs");
}

/* 0 when the prefix is a directory or not there yet (*missing), else -1
 * after the error message. */
static int check_prefix(const char *prefix, bool *missing)
{
	struct stat st;

	*missing = false;
	if (stat(prefix, &st) < 0) {
		if (errno == ENOENT) {
			*missing = true;
			return 0;
		}
		return cli_error("cannot read the prefix '%s': %s", prefix,
				 strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return cli_error("cannot read the prefix '%s': %s", prefix,
				 strerror(ENOTDIR));
	return 0;
}

static int parse_du(int argc, char **argv, struct cli_ctx *ctx, void *opts)
{
	static const struct option longopts[] = {
		{ "depth", required_argument, NULL, 'd' },
		{ 0 },
	};
	struct cli_parser p = { .argc = argc, .argv = argv, .ctx = ctx,
				.shortopts = "d:", .longopts = longopts };
	struct du_ui *d = opts;
	long v;
	int c;

	while ((c = cli_getopt(&p)) != -1) {
		if (c != 'd')
			return cli_opt_stop(c);
		if (cli_parse_int(optarg, 1, 64, &v) < 0)
			return cli_usage_error(ctx, "--depth takes 1 to 64");
		d->depth = (int)v;
	}
	if (optind < argc)
		return cli_usage_error(ctx, "du takes no operands");
	return 0;
}

static int cmd_du(struct cli_ctx *ctx, void *opts)
{
	struct du_ui *d = opts;
	struct pyc_du_ops ops = { .pyc = on_pyc, .error = on_error, .arg = d };
	struct pyc_tidy_stats st = { 0 };
	struct pyc_store_usage u = { 0 };
	const char *prefix = ctx->prefix;
	bool missing;
	int ret = EXIT_OK;

	if (check_prefix(prefix, &missing) < 0)
		return -1;
	/* A prefix not made yet holds nothing: 0 pycs, as du of an empty
	 * directory. */
	if (!missing && pyc_du_store(prefix, &ops, &st, &u) < 0)
		ret = cli_error("cannot measure the prefix '%s': %s", prefix,
				strerror(errno));
	else if (d->tag.oom || d->level.oom || d->dir.oom || d->root.oom ||
		 d->owners.oom)
		ret = cli_error("out of memory");
	print_total(ctx, prefix, &st, d);
	print_store(ctx, prefix, &u);
	print_buckets(ctx, "tags", &d->tag, 20);
	print_buckets(ctx, "levels", &d->level, 20);
	if (d->depth)
		print_buckets(ctx, "directories", &d->dir, 15);
	else
		print_buckets(ctx, "roots", &d->root, 15);
	if (ctx->json)
		json_end(ctx->out);
	owners_release(&d->owners);
	if (ret)
		return ret;
	return st.errors || u.errors ? EXIT_SOME : EXIT_OK;
}

const struct cli_cmd cli_cmd_du = {
	.name = "du",
	.parse = parse_du,
	.fn = cmd_du,
	.opts_size = sizeof(struct du_ui),
	.takes = TAKES_PREFIX | TAKES_JSON,
	.needs = NEEDS_PREFIX,
	.usage = "[--depth N]",
	.summary = "Show where the prefix's space goes.",
	.help =
	"Sizes and pycs per cache tag, per optimization level and per\n"
	"root: the sys.path entry the modules come from (the deepest\n"
	"site-packages, else lib/pythonX.Y, else the directory above the\n"
	"outermost package; a pyc's own directory once its sources are\n"
	"gone).  Sizes are apparent (as du --apparent-size) and on disk\n"
	"(as du); a file with several names (--hardlink-dupes) counts\n"
	"once, in the rows of its name of the lowest level (the pyc the\n"
	"others repeat): its other names are listed as hard links, with\n"
	"no bytes.  A prefix not made yet holds 0 pycs.\n"
	"The store (.pycprefix-store) is counted apart: its objects, their\n"
	"size, how many pycs link to, and what it holds that no pyc shares;\n"
	"and the disk hard links save: for each file with k names in the\n"
	"prefix and the store, k - 1 times its size on disk.\n\n"
	"Options:\n"
	"  -d, --depth N      by directory of the mirrored tree, N levels\n"
	"                     deep, instead of by root\n",
};
