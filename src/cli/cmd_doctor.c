/*
 * cmd_doctor.c - pycprefix doctor: is the prefix safe, wired up, and
 * free of aliases?  Each check says ok, note, warn or FAIL, and what to
 * do; the exit status is 1 when any says FAIL (something to fix), 2 when
 * an interpreter could not be asked, and warnings alone leave it 0.
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

enum level { OK, NOTE, WARN, FAIL };

static const char *const level_names[] = { "ok", "note", "warn", "FAIL" };
static const char *const level_colors[] = { C_GREEN, C_DIM, C_YELLOW, C_RED };

#define SHOW_MAX 5   /* paths listed per finding */

struct doctor {
	struct cli_ctx *ctx;
	int warnings, failures;
	int broken;          /* interpreters that could not be asked */
	bool json;           /* --json: each check into `checks` */
	struct json_writer checks;
};

/*
 * Paths in messages: for people quoted as every message quotes its
 * subject (cli_qsubject(): a newline or a byte that is not UTF-8 in
 * escapes), in JSON in single quotes with their bytes as they are (the
 * writer escapes them).  And for the shell, in a suggested command.
 * Each string lives in a ring, valid for the next RING - 1 calls (one
 * message), freed by ring_release().
 */
#define RING 8
static char *ring[RING];
static size_t ring_at;

static const char *ring_keep(char *s)
{
	free(ring[ring_at]);
	ring[ring_at] = s;
	ring_at = (ring_at + 1) % RING;
	return s ? s : "?";
}

static void ring_release(void)
{
	for (size_t i = 0; i < RING; i++) {
		free(ring[i]);
		ring[i] = NULL;
	}
}

static const char *q(const struct doctor *d, const char *path)
{
	size_t n;
	char *s;

	if (!d->json)
		return cli_qsubject(path);
	n = strlen(path) + 3;
	if ((s = malloc(n)))
		snprintf(s, n, "'%s'", path);
	return ring_keep(s);
}

/* s as one word for sh: bare when it holds nothing the shell reads,
 * else in single quotes ('\'' for a quote); for people, a path that
 * cli_qsubject() would escape is written so. */
static const char *shq(const struct doctor *d, const char *s)
{
	size_t n = 3;
	bool bare = s[0] != '\0';
	char *out, *o;

	for (const char *p = s; *p; p++) {
		n += *p == '\'' ? 4 : 1;
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789/._-+,:@%=", *p))
			bare = false;
	}
	if (bare)
		return ring_keep(strdup(s));
	if (!d->json && cli_path_needs_quotes(s))
		return cli_qsubject(s); /* a line for people stays one line */
	if (!(o = out = malloc(n)))
		return ring_keep(NULL);
	*o++ = '\'';
	for (const char *p = s; *p; p++) {
		if (*p == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *p;
		}
	}
	*o++ = '\'';
	*o = '\0';
	return ring_keep(out);
}

/* " --prefix P" when the prefix came from --prefix, for the commands
 * doctor suggests (so that they act on the prefix checked), else "". */
static const char *prefix_arg(const struct doctor *d)
{
	const char *p = d->ctx->prefix;
	size_t n;
	char *s;

	if (!d->ctx->prefix_opt || !p)
		return "";
	p = shq(d, p);
	n = strlen(p) + 11;
	if ((s = malloc(n)))
		snprintf(s, n, " --prefix %s", p);
	return ring_keep(s);
}

/* One check's outcome: a message and, unless OK, what to do. */
static void say(struct doctor *d, enum level lv, const char *check,
		const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void say(struct doctor *d, enum level lv, const char *check,
		const char *fix, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d->warnings += lv == WARN;
	d->failures += lv == FAIL;
	if (d->json) {
		json_object(&d->checks, NULL);
		json_string(&d->checks, "check", check);
		json_string(&d->checks, "level", level_names[lv]);
		json_string(&d->checks, "message", msg);
		json_string(&d->checks, "fix", fix);
		json_end(&d->checks);
		return;
	}
	printf("  %s%-4s%s  %s\n", color(d->ctx, level_colors[lv]),
	       level_names[lv], color(d->ctx, C_RESET), msg);
	if (fix)
		printf("        %sfix:%s %s\n", color(d->ctx, C_DIM),
		       color(d->ctx, C_RESET), fix);
}

static void section(const struct doctor *d, const char *title)
{
	if (!d->json)
		printf("%s%s%s\n", color(d->ctx, C_BOLD), title,
		       color(d->ctx, C_RESET));
}

/* ---- the prefix itself ---- */

static void on_unsafe(const char *path, enum pyc_trust t,
		      const struct stat *st, void *arg)
{
	struct doctor *d = arg;
	struct passwd *pw = getpwuid(st->st_uid);
	char fix[PATH_MAX + 64];

	if (t == PYC_TRUST_WRITABLE)
		snprintf(fix, sizeof(fix), "chmod go-w %s (or chmod +t)",
			 shq(d, path));
	else
		snprintf(fix, sizeof(fix), "use a prefix of your own (now "
			 "owned by %s)", pw ? pw->pw_name : "another user");
	say(d, FAIL, "prefix.trust", fix, "%s is %s (owner %s, mode %04o): "
	    "whoever can change it can plant code Python runs", q(d, path),
	    pyc_trust_str(t), pw ? pw->pw_name : "?",
	    (unsigned)(st->st_mode & 07777));
}

/* Free space where the prefix is, or would be created. */
static void check_space(struct doctor *d, const char *prefix)
{
	char *dir = strdup(prefix), size[32];
	struct statvfs vfs;

	while (dir && statvfs(dir, &vfs) < 0) {
		char *slash = strrchr(dir, '/');
		if (!slash || slash == dir) {
			/* "/" or ".": dir holds at least two bytes */
			dir[0] = slash == dir ? '/' : '.';
			dir[1] = '\0';
			if (statvfs(dir, &vfs) < 0) {
				free(dir);
				dir = NULL;
			}
			break;
		}
		*slash = '\0';
	}
	if (!dir)
		return;
	free(dir);
	uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	uint64_t total = (uint64_t)vfs.f_blocks * vfs.f_frsize;
	cli_human_bytes(size, sizeof(size), avail);
	if (avail < 64u << 20)
		say(d, FAIL, "prefix.space", "free space, or 'pycprefix prune "
		    "--max-size SIZE'", "only %s free: writes will fail", size);
	else if (total && avail < total / 20)
		say(d, WARN, "prefix.space", "'pycprefix prune' or "
		    "'pycprefix prune --max-size SIZE'", "%s free (under 5%% "
		    "of the file system)", size);
	else
		say(d, OK, "prefix.space", NULL, "%s free", size);
}

struct finding {
	size_t n;
	char *show[SHOW_MAX];
};

struct tag_count {
	char tag[32];
	size_t files;
	uint64_t bytes;
};

struct audit_ui {
	struct finding found[PYC_AUDIT_TEMP + 1];
	struct tag_count tags[32];
	size_t ntags;
	size_t errors;
	char first_path[PATH_MAX];
	char first_msg[128];
};

static void on_finding(const struct pyc_audit_item *it, void *arg)
{
	struct audit_ui *a = arg;
	struct finding *f = &a->found[it->kind];

	if (f->n < SHOW_MAX)
		f->show[f->n] = strdup(it->path);
	f->n++;
}

static void on_pyc(const struct pyc_du_item *it, void *arg)
{
	struct audit_ui *a = arg;
	size_t i;

	for (i = 0; i < a->ntags; i++)
		if (strcmp(a->tags[i].tag, it->tag) == 0)
			break;
	if (i == a->ntags) {
		if (a->ntags == sizeof(a->tags) / sizeof(a->tags[0]))
			return;
		snprintf(a->tags[i].tag, sizeof(a->tags[i].tag), "%s",
			 it->tag);
		a->ntags++;
	}
	a->tags[i].files++;
	a->tags[i].bytes += it->bytes;
}

static void on_audit_error(const char *path, const char *message, void *arg)
{
	struct audit_ui *a = arg;

	if (a->errors++)
		return;
	snprintf(a->first_path, sizeof(a->first_path), "%s", path);
	snprintf(a->first_msg, sizeof(a->first_msg), "%s", message);
}

static void list_finding(struct doctor *d, enum level lv, const char *check,
			 const char *fix, struct finding *f, const char *what)
{
	char paths[1024] = "";
	size_t len = 0;

	for (size_t i = 0; i < f->n && i < SHOW_MAX; i++) {
		int w = snprintf(paths + len, sizeof(paths) - len, "%s%s",
				 i ? ", " : "",
				 f->show[i] ? q(d, f->show[i]) : "?");
		if (w < 0 || (size_t)w >= sizeof(paths) - len)
			break;
		len += (size_t)w;
	}
	say(d, lv, check, fix, "%s (%zu): %s%s", what, f->n, paths,
	    f->n > SHOW_MAX ? ", ..." : "");
}

static bool tag_installed(const struct pyc_interp_list *list, const char *tag)
{
	for (size_t i = 0; i < list->n; i++)
		if (!list->rejected[i] && list->v[i].tag &&
		    strcmp(list->v[i].tag, tag) == 0)
			return true;
	return false;
}

static void check_tags(struct doctor *d, const struct audit_ui *a)
{
	struct pyc_interp_list list;
	struct tag_count other = { "", 0, 0 };
	char size[32], fix[PATH_MAX + 128];

	if (pyc_interp_discover(&list) < 0)
		return;
	for (size_t i = 0; i < a->ntags; i++) {
		const struct tag_count *t = &a->tags[i];
		cli_human_bytes(size, sizeof(size), t->bytes);
		if (strcmp(t->tag, "?") == 0) {
			say(d, NOTE, "prefix.tags", NULL, "%zu .pyc file%s (%s) "
			    "without an interpreter tag", t->files,
			    t->files == 1 ? "" : "s", size);
		} else if (!pyc_cache_tag_is_real(t->tag)) {
			other.files += t->files;
			other.bytes += t->bytes;
		} else if (tag_installed(&list, t->tag)) {
			say(d, OK, "prefix.tags", NULL, "%s: %zu pyc%s (%s)",
			    t->tag, t->files, t->files == 1 ? "" : "s", size);
		} else {
			snprintf(fix, sizeof(fix), "pycprefix%s prune --tags=%s",
				 prefix_arg(d), t->tag);
			say(d, WARN, "prefix.tags", fix, "%s: %zu pyc%s (%s) of "
			    "an interpreter not installed here", t->tag,
			    t->files, t->files == 1 ? "" : "s", size);
		}
	}
	/* m.foo.pyc, m.cpython-3x.pyc: no implementation's cache tag, so
	 * nothing prune would ever take (nor Python write). */
	if (other.files) {
		cli_human_bytes(size, sizeof(size), other.bytes);
		say(d, NOTE, "prefix.tags", NULL, "%zu .pyc file%s (%s) whose "
		    "tag is no implementation's: not cache artifacts, left "
		    "alone", other.files, other.files == 1 ? "" : "s", size);
	}
	pyc_interp_list_release(&list);
}

/* The prefix is '/' or holds what a cache never holds: one FAIL, and no
 * advice about files that are not the cache's. */
static void not_a_cache(struct doctor *d, const struct pyc_tidy_stats *st)
{
	const char *fix = "point --prefix or PYTHONPYCACHEPREFIX at a "
			  "directory of its own (pycs beside the sources are "
			  "--in-tree); prune, clean and migrate refuse this one";
	const char *what = st->refused_path ? st->refused_path : "?";

	if (st->refused == PYC_REFUSED_ROOT)
		say(d, FAIL, "prefix.cache", fix, "this is not a cache: it is "
		    "/ (its mirror of every tree is the tree itself)");
	else
		say(d, FAIL, "prefix.cache", fix, "this is not a cache: it "
		    "holds %s (%s)", st->refused == PYC_REFUSED_SOURCE
		    ? "sources" : "__pycache__ folders", q(d, what));
}

/* Backups skip a tagged prefix (tar --exclude-caches, borg, restic).
 * pycprefix tags the prefixes it makes, not one that existed before it
 * (which may hold more than the cache): say how to tag that one. */
static void check_cachedir_tag(struct doctor *d, const char *prefix)
{
	char fix[PATH_MAX + 128];
	size_t len = strlen(prefix);
	size_t n = len + sizeof("/" PYC_CACHEDIR_TAG_NAME);
	char *tag = malloc(n);

	if (pyc_prefix_tagged(prefix)) {
		say(d, OK, "prefix.cachedir", NULL, "it holds a %s: backups "
		    "that honour it skip the cache", PYC_CACHEDIR_TAG_NAME);
		goto out;
	}
	/* PREFIX/CACHEDIR.TAG, one slash between however PREFIX ends. */
	while (len > 0 && prefix[len - 1] == '/')
		len--;
	if (tag)
		snprintf(tag, n, "%.*s/" PYC_CACHEDIR_TAG_NAME, (int)len,
			 prefix);
	snprintf(fix, sizeof(fix), "echo '" PYC_CACHEDIR_TAG_SIGNATURE
		 "' > %s", tag ? shq(d, tag) : PYC_CACHEDIR_TAG_NAME);
	say(d, NOTE, "prefix.cachedir", tag ? fix : NULL, "no %s: backups (tar "
	    "--exclude-caches, borg, restic) save the cache with the rest",
	    PYC_CACHEDIR_TAG_NAME);
out:
	free(tag);
}

static void audit(struct doctor *d, const char *prefix)
{
	struct audit_ui a;
	struct pyc_audit_ops ops = { on_finding, on_pyc, on_audit_error, &a };
	struct pyc_tidy_stats st;
	char size[32];
	int r;

	memset(&a, 0, sizeof(a));
	r = pyc_audit(prefix, &ops, &st);
	if (r == PYC_TIDY_REFUSED) {
		not_a_cache(d, &st);
		goto out;
	}
	if (r < 0) {
		say(d, FAIL, "prefix.read", NULL, "cannot read the prefix: %s",
		    strerror(errno));
		goto out;
	}
	cli_human_bytes(size, sizeof(size), st.bytes);
	say(d, OK, "prefix.size", NULL, "%zu pyc%s, %s", st.kept,
	    st.kept == 1 ? "" : "s", size);
	if (a.errors)
		say(d, WARN, "prefix.read", "make it readable, or remove it",
		    "%zu entr%s could not be read, first %s: %s", a.errors,
		    a.errors == 1 ? "y" : "ies", q(d, a.first_path),
		    a.first_msg);
	if (a.found[PYC_AUDIT_FOREIGN].n)
		list_finding(d, FAIL, "prefix.owner", "remove them, or chown "
			     "them to yourself", &a.found[PYC_AUDIT_FOREIGN],
			     "Entries owned by another user, who can change "
			     "the code Python runs");
	if (a.found[PYC_AUDIT_OPEN_DIR].n)
		list_finding(d, FAIL, "prefix.modes", "chmod go-w on them",
			     &a.found[PYC_AUDIT_OPEN_DIR],
			     "Directories other users may write into");
	if (a.found[PYC_AUDIT_SYMLINK].n)
		list_finding(d, WARN, "prefix.symlinks", "remove them: nothing "
			     "in the prefix needs a symlink",
			     &a.found[PYC_AUDIT_SYMLINK], "Symlinks, which "
			     "Python follows when it writes (pycprefix never "
			     "does)");
	char fix[PATH_MAX + 32];
	snprintf(fix, sizeof(fix), "pycprefix%s prune", prefix_arg(d));
	if (a.found[PYC_AUDIT_TEMP].n)
		list_finding(d, WARN, "prefix.temp", fix,
			     &a.found[PYC_AUDIT_TEMP],
			     "Temporary files left by interrupted writers");
	if (!a.found[PYC_AUDIT_FOREIGN].n && !a.found[PYC_AUDIT_OPEN_DIR].n &&
	    !a.found[PYC_AUDIT_SYMLINK].n)
		say(d, OK, "prefix.contents", NULL, "everything inside is "
		    "yours, with no symlink and no directory open to others");
	check_tags(d, &a);
	check_cachedir_tag(d, prefix);
out:
	free(st.refused_path);
	for (size_t k = 0; k <= PYC_AUDIT_TEMP; k++)
		for (size_t i = 0; i < a.found[k].n && i < SHOW_MAX; i++)
			free(a.found[k].show[i]);
}

static void check_prefix(struct doctor *d, const char *prefix,
			 const char *origin)
{
	const char *setting = d->ctx->prefix_opt ? d->ctx->prefix_opt
			      : !strcmp(origin, "PYTHONPYCACHEPREFIX")
			      ? getenv("PYTHONPYCACHEPREFIX") : NULL;
	struct stat st;
	int n;

	section(d, "prefix");
	say(d, OK, "prefix.where", NULL, "%s (from %s)", q(d, prefix), origin);
	if (setting && setting[0] != '/')
		say(d, WARN, "prefix.relative", "set an absolute path, e.g. "
		    "eval \"$(pycprefix env --prefix \"$PWD/...\")\"",
		    "%s is relative: taken as %s here, but each Python "
		    "process resolves it against its own working directory",
		    q(d, setting), q(d, prefix));
	if ((n = pyc_trust_path(prefix, geteuid(), on_unsafe, d)) == 0)
		say(d, OK, "prefix.trust", NULL, "no other user can change it "
		    "or the directories above it");
	if (stat(prefix, &st) < 0) {
		if (errno == ENOENT)
			say(d, NOTE, "prefix.exists", NULL, "it does not exist "
			    "yet: 'pycprefix compile' (or Python) creates it");
		else
			say(d, FAIL, "prefix.exists", NULL, "cannot reach it: "
			    "%s", strerror(errno));
	} else if (!S_ISDIR(st.st_mode)) {
		say(d, FAIL, "prefix.exists", "remove it, or choose another "
		    "prefix", "it is not a directory");
	} else {
		audit(d, prefix);
	}
	check_space(d, prefix);
}

/* ---- the store ---- */

struct store_ui {
	struct finding found[PYC_STORE_UNTRUSTED + 1];
	char why[PYC_STORE_UNTRUSTED + 1][160];   /* the first's */
	size_t errors;
	char first_path[PATH_MAX];
	char first_msg[128];
};

static void on_store_finding(const struct pyc_store_finding *f, void *arg)
{
	struct store_ui *u = arg;
	struct finding *k = &u->found[f->kind];

	if (!k->n)
		snprintf(u->why[f->kind], sizeof(u->why[f->kind]), "%s",
			 f->why);
	if (k->n < SHOW_MAX)
		k->show[k->n] = strdup(f->path);
	k->n++;
}

static void on_store_error(const char *path, const char *message, void *arg)
{
	struct store_ui *u = arg;

	if (u->errors++)
		return;
	snprintf(u->first_path, sizeof(u->first_path), "%s", path);
	snprintf(u->first_msg, sizeof(u->first_msg), "%s", message);
}

/* Who owns the store, and its mode: the trust it is given. */
/* The check `leaf` of the store named `kind` ("store", "user-store"). */
static const char *ck(const char *kind, const char *leaf)
{
	size_t n = strlen(kind) + strlen(leaf) + 2;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s.%s", kind, leaf);
	return ring_keep(s);
}

static void store_trust(struct doctor *d, const char *kind,
			const char *store, const struct stat *st,
			struct store_ui *u)
{
	struct passwd *pw = getpwuid(st->st_uid);
	struct finding *f = &u->found[PYC_STORE_UNTRUSTED];

	if (!f->n) {
		say(d, OK, ck(kind, "trust"), NULL, "%s: owner %s, mode %04o: "
		    "no "
		    "other user can change it", q(d, store),
		    pw ? pw->pw_name : "?", (unsigned)(st->st_mode & 07777));
		return;
	}
	list_finding(d, FAIL, ck(kind, "trust"), "remove the store (compile "
		     "makes a new one, owner-only), or chmod 700 and chown "
		     "it to yourself", f, "The store is not owner-only: "
		     "compile refuses it, whoever can change it can plant "
		     "code Python runs");
	if (!d->json)
		printf("        (first: %s)\n", u->why[PYC_STORE_UNTRUSTED]);
}

/* The store at `store`; with `prefix` (the prefix's store), the shared
 * pycs of the prefix too. */
static void check_store(struct doctor *d, const char *kind,
			const char *prefix, const char *store)
{
	struct pyc_store_check_ops ops = { on_store_finding, on_store_error,
					   NULL };
	struct pyc_store_check_stats st;
	struct store_ui u;
	char fix[PATH_MAX + 96];
	struct stat sst;

	memset(&u, 0, sizeof(u));
	ops.arg = &u;
	if (lstat(store, &sst) < 0) {
		if (errno == ENOENT)
			say(d, NOTE, ck(kind, "exists"), NULL,
			    "%s does not exist "
			    "yet: 'pycprefix compile' creates it", q(d, store));
		else if (errno == ENOTDIR) /* the prefix's own finding */
			say(d, NOTE, ck(kind, "exists"), NULL,
			    "no store: %s is not in a directory", q(d, store));
		else
			say(d, FAIL, ck(kind, "exists"), NULL,
			    "cannot reach %s: "
			    "%s", q(d, store), strerror(errno));
		goto out;
	}
	if (pyc_store_check(prefix, store, &ops, &st) < 0) {
		say(d, FAIL, ck(kind, "read"), NULL,
		    "cannot check the store: %s",
		    strerror(errno));
		goto out;
	}
	store_trust(d, kind, store, &sst, &u);
	if (u.errors)
		say(d, WARN, ck(kind, "read"), "make it readable, or remove it",
		    "%zu entr%s could not be read, first %s: %s", u.errors,
		    u.errors == 1 ? "y" : "ies", q(d, u.first_path),
		    u.first_msg);
	if (u.found[PYC_STORE_UNSOUND].n)
		list_finding(d, FAIL, ck(kind, "objects"),
			     "remove every name of each (find PREFIX "
			     "-samefile OBJECT -delete: its pycs share its "
			     "bytes), then compile again",
			     &u.found[PYC_STORE_UNSOUND],
			     "Objects whose content is not what their digest "
			     "says (compile discards them when it reads them)");
	else
		say(d, OK, ck(kind, "objects"), NULL,
		    "%zu object%s, each as its "
		    "digest says", st.objects, st.objects == 1 ? "" : "s");
	snprintf(fix, sizeof(fix), "remove every name of each (find %s "
		 "-samefile FILE -delete), then 'pycprefix%s compile'",
		 prefix ? shq(d, prefix) : "TREE", prefix_arg(d));
	if (!prefix)
		; /* the user's store: its pycs are in trees, not here */
	else if (u.found[PYC_STORE_LINK_UNSOUND].n)
		list_finding(d, FAIL, ck(kind, "links"), fix,
			     &u.found[PYC_STORE_LINK_UNSOUND],
			     "Pycs written from the store and rewritten in "
			     "place by some tool since: every name of such a "
			     "file (other pycs, the store's object) is "
			     "damaged");
	else
		say(d, OK, ck(kind, "links"), NULL, "%zu shared pyc%s, each as "
		    "its digest says", st.links, st.links == 1 ? "" : "s");
	if (u.found[PYC_STORE_FOREIGN].n)
		list_finding(d, FAIL, ck(kind, "owner"), "remove them",
			     &u.found[PYC_STORE_FOREIGN], "Entries of the "
			     "store owned by another user (compile discards "
			     "such objects)");
	if (u.found[PYC_STORE_NOT_OURS].n)
		list_finding(d, WARN, ck(kind, "contents"), "remove them: only "
			     "objects belong in the store (prune never "
			     "removes them)", &u.found[PYC_STORE_NOT_OURS],
			     "Entries that are not the store's");
	snprintf(fix, sizeof(fix), "pycprefix%s prune", prefix_arg(d));
	if (u.found[PYC_STORE_TEMP].n)
		list_finding(d, WARN, ck(kind, "temp"), fix,
			     &u.found[PYC_STORE_TEMP],
			     "Temporary files left by interrupted writers");
out:
	for (size_t k = 0; k <= PYC_STORE_UNTRUSTED; k++)
		for (size_t i = 0; i < u.found[k].n && i < SHOW_MAX; i++)
			free(u.found[k].show[i]);
}

/* The prefix's store, and the user's (--in-tree runs) when there is
 * one. */
static void check_stores(struct doctor *d, const char *prefix)
{
	char *store = pyc_store_prefix_dir(prefix);
	char *user = pyc_store_default_dir();
	struct stat st;

	section(d, "store");
	if (!store)
		say(d, FAIL, "store.read", NULL, "out of memory");
	else
		check_store(d, "store", prefix, store);
	if (user && lstat(user, &st) == 0) {
		section(d, "store of --in-tree runs");
		check_store(d, "user-store", NULL, user);
	}
	free(store);
	free(user);
}

/* ---- the environment and the interpreters ---- */

/* What an interpreter does in this environment: prefix, whether it writes
 * bytecode, and its sys.path (NUL-separated fields, written to the
 * descriptor pyc_interp_ask() gives).  It runs with -B and a pycache
 * prefix of its own (so that asking writes nothing and reads no pyc), so
 * the first two are what its environment says, as CPython reads it: the
 * variables, unless -E or -I made it ignore them. */
static const char probe_code[] =
	"import sys, os\n"
	"f = os.fdopen(int(sys.argv[1]), 'wb')\n"
	"e = {} if sys.flags.ignore_environment else os.environ\n"
	"p = e.get('PYTHONPYCACHEPREFIX')\n"
	"f.write((b'1' + os.fsencode(p) if p else b'0') + b'\\0')\n"
	"f.write((b'1' if e.get('PYTHONDONTWRITEBYTECODE') else b'0') + "
	"b'\\0')\n"
	"first = 0 if getattr(sys.flags, 'safe_path', 0) else 1\n"
	"for x in sys.path[first:]:\n"
	"    f.write(os.fsencode(x) + b'\\0')\n"
	"f.close()\n";

static bool env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v && v[0];
}

static bool has_dot_part(const char *p)
{
	for (const char *s = p; *s;) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if ((n == 1 && s[0] == '.') || (n == 2 && !strncmp(s, "..", 2)))
			return true;
		s += n + (e != NULL);
	}
	return false;
}

static void check_sys_path(struct doctor *d, const struct pyc_interp *in,
			   char **v, size_t n)
{
	size_t bad = 0;
	char **real = calloc(n ? n : 1, sizeof(*real));

	for (size_t i = 0; real && i < n; i++) {
		if (!v[i][0] || access(v[i], F_OK) < 0)
			continue;
		real[i] = realpath(v[i], NULL);
		if (v[i][0] != '/' || has_dot_part(v[i])) {
			bad++;
			say(d, WARN, "alias.sys_path", "normalise it where it "
			    "is added (os.path.realpath)", "%s: sys.path entry "
			    "%s is relative or has '.'/'..': modules are "
			    "cached under that spelling (and a symlink before "
			    "'..' can make two sources share one pyc)",
			    in->tag, q(d, v[i]));
			continue;
		}
		for (size_t k = 0; k < i && real[i]; k++)
			if (real[k] && strcmp(real[k], real[i]) == 0) {
				bad++;
				say(d, WARN, "alias.sys_path", "keep one of "
				    "them on sys.path", "%s: %s and %s "
				    "are the same directory: its modules can "
				    "be cached twice", in->tag, q(d, v[k]),
				    q(d, v[i]));
			}
		if (real[i] && strcmp(real[i], v[i]) != 0)
			say(d, NOTE, "alias.sys_path", NULL, "%s: %s is "
			    "reached through a symlink (%s): its pycs are "
			    "filed under the path as spelled", in->tag,
			    q(d, v[i]), q(d, real[i]));
	}
	if (!bad)
		say(d, OK, "alias.sys_path", NULL, "%s: no sys.path entry "
		    "reaches the same sources twice (%zu entr%s)", in->tag,
		    n, n == 1 ? "y" : "ies");
	for (size_t i = 0; real && i < n; i++)
		free(real[i]);
	free(real);
}

/* Do two prefix settings name one prefix (relative ones taken against the
 * current directory, where the interpreters are started too)? */
static bool same_prefix(const char *a, const char *b)
{
	char *x = cli_absolute(a), *y = cli_absolute(b);
	bool same = x && y && strcmp(x, y) == 0;

	free(x);
	free(y);
	return same;
}

static void check_interp(struct doctor *d, const struct pyc_interp *in,
			 const char *prefix, bool env_set)
{
	struct pyc_error err = { { 0 } };
	size_t n;
	char **v = pyc_interp_ask(in->path, probe_code, &n, &err);

	if (!v || n < 2) {
		d->broken++;
		say(d, FAIL, "python.run", "run it in this environment to see "
		    "the whole error", "%s: %s", in->tag,
		    v ? "it gave no answer" : err.msg);
		pyc_strv_free(v, n);
		return;
	}
	const char *its = v[0][0] == '1' ? v[0] + 1 : NULL;
	if (its && !same_prefix(its, prefix))
		say(d, WARN, "python.prefix", "check PYTHONPYCACHEPREFIX and "
		    "-X pycache_prefix where it runs", "%s (%s) writes its "
		    "bytecode to %s, not to %s", in->tag, q(d, in->path),
		    q(d, its), q(d, prefix));
	else if (!its && env_set)
		say(d, WARN, "python.prefix", "see its -E/-I flags or "
		    "PYTHONPYCACHEPREFIX handling", "%s (%s) ignores "
		    "PYTHONPYCACHEPREFIX", in->tag, q(d, in->path));
	else if (its)
		say(d, OK, "python.prefix", NULL, "%s (%s) uses the prefix",
		    in->tag, q(d, in->path));
	if (v[1][0] == '1' && !env_nonempty("PYTHONDONTWRITEBYTECODE"))
		say(d, NOTE, "python.write", NULL, "%s (%s) does not write "
		    "bytecode: only 'pycprefix compile' fills the prefix",
		    in->tag, q(d, in->path));
	check_sys_path(d, in, v + 2, n - 2);
	pyc_strv_free(v, n);
}

static void check_env(struct doctor *d, const char *prefix,
		      const char *origin, struct pyc_interp *interps,
		      size_t ninterps)
{
	const char *env = getenv("PYTHONPYCACHEPREFIX");
	bool set = env && env[0];

	bool dont_write = env_nonempty("PYTHONDONTWRITEBYTECODE");
	char fix[PATH_MAX + 128];

	section(d, "environment");
	/* The command gives the prefix checked: --prefix's, if given. */
	snprintf(fix, sizeof(fix), "eval \"$(pycprefix env%s)\" in your "
		 "shell's startup file", prefix_arg(d));
	if (!set)
		say(d, WARN, "env.set", fix, "PYTHONPYCACHEPREFIX is not set "
		    "in this shell: %s", dont_write
		    ? "Python would write __pycache__ beside the sources, "
		      "but writes no bytecode (PYTHONDONTWRITEBYTECODE is set)"
		    : "Python writes __pycache__ beside the sources");
	else if (!same_prefix(env, prefix))
		say(d, WARN, "env.set", NULL, "PYTHONPYCACHEPREFIX is %s in "
		    "this shell, not the prefix checked here (%s, from %s)",
		    q(d, env), q(d, prefix), origin);
	else
		say(d, OK, "env.set", NULL, "PYTHONPYCACHEPREFIX is set in "
		    "this shell");
	if (dont_write)
		say(d, NOTE, "env.dont_write", NULL, "PYTHONDONTWRITEBYTECODE "
		    "is set: Python adds nothing to the cache, only "
		    "'pycprefix compile' fills it");
	for (size_t i = 0; i < ninterps; i++)
		check_interp(d, &interps[i], prefix, set);
}

/* ---- aliasing inside the trees named ---- */

static void on_tree_link(const char *path, void *arg)
{
	struct finding *links = arg;

	if (links->n < SHOW_MAX)
		links->show[links->n] = strdup(path);
	links->n++;
}

static void check_tree(struct doctor *d, const char *root)
{
	char cwd[PATH_MAX];
	const char *pwd = getenv("PWD");
	struct finding links = { 0 };

	if (pyc_tree_links(root, on_tree_link, &links) < 0) {
		say(d, FAIL, "alias.tree", NULL, "cannot read %s: %s",
		    q(d, root), strerror(errno));
		goto out;
	}
	if (root[0] != '/' && pwd && getcwd(cwd, sizeof(cwd)) &&
	    strcmp(pwd, cwd) != 0) {
		char *pwd_real = realpath(pwd, NULL);
		if (pwd_real && strcmp(pwd_real, cwd) == 0)
			say(d, WARN, "alias.cwd", "run from the real "
			    "directory, or give absolute real paths",
			    "the current directory %s is a symlink to "
			    "%s: Python files relative paths under the "
			    "second, absolute ones as spelled: two copies",
			    q(d, pwd), q(d, cwd));
		free(pwd_real);
	}
	if (links.n)
		list_finding(d, WARN, "alias.tree", "import through one path "
			     "only (or exclude one)", &links,
			     "Symlinks to sources or directories inside the "
			     "tree, whose modules are compiled and cached "
			     "twice");
	else
		say(d, OK, "alias.tree", NULL, "no symlink in %s leads back "
		    "into it", q(d, root));
out:
	for (size_t i = 0; i < links.n && i < SHOW_MAX; i++)
		free(links.show[i]);
}

/* The document: the counts first, then the checks gathered. */
static int print_json(struct doctor *d)
{
	struct json_writer *w = d->ctx->out;

	json_end(&d->checks);
	if (json_failed(&d->checks)) {
		json_release(&d->checks);
		return cli_error("out of memory");
	}
	json_object(w, NULL);
	json_string(w, "prefix", d->ctx->prefix);
	json_int(w, "warnings", d->warnings);
	json_int(w, "failures", d->failures);
	json_sub(w, "checks", &d->checks);
	json_end(w);
	json_release(&d->checks);
	return 0;
}

static int cmd_doctor(struct cli_ctx *ctx, void *opts)
{
	struct doctor d = { .ctx = ctx, .json = ctx->json };

	(void)opts;
	if (d.json) {
		json_init(&d.checks, NULL, 1);
		json_lines(&d.checks, NULL);
	}
	check_prefix(&d, ctx->prefix, ctx->origin);
	check_stores(&d, ctx->prefix);
	check_env(&d, ctx->prefix, ctx->origin, ctx->interps, ctx->ninterps);
	if (ctx->nargs)
		section(&d, "trees");
	for (int i = 0; i < ctx->nargs; i++)
		check_tree(&d, ctx->args[i]);
	if (d.json) {
		if (print_json(&d) < 0) {
			ring_release();
			return -1;
		}
	} else if (!ctx->quiet) {
		/* The report is the data; its verdict is the summary. */
		if (d.failures || d.warnings)
			fprintf(stderr, "\n%d to fix, %d to look at.\n",
				d.failures, d.warnings);
		else
			fprintf(stderr, "\nAll good.\n");
	}
	ring_release();
	/* Warnings are to look at: only what is to fix fails the run. */
	return d.broken ? EXIT_USAGE : d.failures ? EXIT_SOME : EXIT_OK;
}

const struct cli_cmd cli_cmd_doctor = {
	.name = "doctor",
	.parse = cli_parse_none,
	.fn = cmd_doctor,
	.takes = TAKES_PREFIX | TAKES_PYTHON | TAKES_JSON | TAKES_QUIET,
	.needs = NEEDS_PREFIX | NEEDS_PYTHONS | NEEDS_PYTHONS_ALL,
	.usage = "[PATH...]",
	.summary =
	"Check that the prefix is safe, wired up, and free of aliases.",
	.help =
	"The prefix: that no other user can change it or a directory above\n"
	"it (as ssh's StrictModes), nothing inside owned by another user,\n"
	"no symlinks, temporary leftovers, free space, pycs of\n"
	"interpreters no longer installed, and a CACHEDIR.TAG (backups\n"
	"skip a tagged cache).  The store in the prefix: every object's\n"
	"content against its digest, every pyc sharing its file with\n"
	"other names (a hard link) and carrying the store's digest (a\n"
	"tool that rewrote one in place damaged every name), owners, and\n"
	"that the store is owner-only; and so the store of --in-tree runs\n"
	"(${XDG_CACHE_HOME:-~/.cache}/pycprefix/store) when there is one.\n"
	"The environment: whether\n"
	"PYTHONPYCACHEPREFIX is set in this shell and each interpreter\n"
	"(--python, default: all found) writes where it should.  Aliasing:\n"
	"sys.path entries with '..' or reaching one directory twice, and,\n"
	"in each PATH, symlinks leading back into it (the same source\n"
	"cached twice).  Says what to fix.  Each interpreter is run with\n"
	"-B and a pycache prefix of its own: doctor writes nothing.\n\n"
	"Exit status: 0 when nothing is to fix (warnings are only to look\n"
	"at), 1 when something is to fix, 2 when an interpreter cannot\n"
	"start or on a usage error.\n",
};
