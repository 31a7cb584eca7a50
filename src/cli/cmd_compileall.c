/*
 * cmd_compileall.c - pycprefix compileall: `python -m compileall`'s
 * command line, output and files, with pycprefix's engine.
 *
 * compileall's own rules are here, version by version: its walk (it
 * follows symlinked files and tests os.path.isdir(), so it is not the
 * library's cache walker), which files it takes (-x, -e, "*.py"), the
 * pyc paths (cache_from_source() of that process, or -b's "x.pyc"), the
 * compiled filename (-d, -s, -p) and every line it prints.  The library
 * (pyc_compile_list()) judges, compiles and writes.  Lines are kept per
 * source and printed in walk order once the workers are done, so the
 * output is compileall's at -j1 whatever -j says.
 */
#include "cli.h"
#include "compileall.h"
#include "utf8.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

struct ca_opts {
	struct ca_args a;
	struct pyc_interp in;
	struct ca_interp_cfg cfg;
	unsigned hex;
};

/* One line of output, or one source's lines (made when its result is
 * known), in walk order. */
struct rec {
	char *line;        /* NULL: the source items[item] */
	size_t item;
};

struct src {
	char *source, *name;
	int nlevels;
	int levels[PYC_MAX_LEVELS];
	char *pyc[PYC_MAX_LEVELS];
	size_t dup_of;     /* SIZE_MAX, or the earlier source of its pycs */
	dev_t dev;         /* the source's, to find those */
	ino_t ino;
	/* the result */
	bool queued;       /* given to pyc_compile_list() */
	bool done;
	enum pyc_list_outcome out;
	int errnum;
	char *msg;         /* the text after "*** " */
};

struct run {
	struct ca_opts *o;
	const struct ca_args *a;
	pcre2_code *rx;
	pcre2_match_data *md;
	const char *cwd;
	char cwdbuf[PATH_MAX];
	int levels[CA_MAX_OPT];   /* sorted(set(-o)), -1 kept */
	int nlevels;
	long maxlevels_default;
	enum pyc_invalidation mode;
	/* the batch */
	struct rec *recs;
	size_t nrecs, arecs;
	struct src *srcs;
	size_t nsrcs, asrcs;
	size_t *map;              /* pyc_compile_list()'s index: source */
	/* a Python exception compileall does not catch: the run ends with
	 * its traceback's last line on stderr, exit 1 */
	char *uncaught;
	bool oom;
};

/* Room in *v (alloc elements of size) for element n: 0, or -1. */
static int grow(void **v, size_t *alloc, size_t n, size_t size)
{
	size_t na = *alloc ? 2 * *alloc : 64;
	void *nv;

	if (n < *alloc)
		return 0;
	if (!(nv = realloc(*v, na * size)))
		return -1;
	*v = nv;
	*alloc = na;
	return 0;
}

static char *repr(const char *s)
{
	return pyc_py_repr(s, strlen(s), NULL);
}

static void add_rec(struct run *r, char *line, size_t item)
{
	if (grow((void **)&r->recs, &r->arecs, r->nrecs, sizeof(*r->recs))) {
		free(line);
		r->oom = true;
		return;
	}
	r->recs[r->nrecs++] = (struct rec){ line, item };
}

/* A line of output: fmt with each %s a repr() of the matching string. */
static void add_line(struct run *r, const char *fmt, const char *s1,
		     const char *s2)
{
	char *q1 = s1 ? repr(s1) : NULL, *q2 = s2 ? repr(s2) : NULL;
	char *line = NULL;

	if ((!s1 || q1) && (!s2 || q2) &&
	    asprintf(&line, fmt, q1 ? q1 : "", q2 ? q2 : "") < 0)
		line = NULL;
	free(q1);
	free(q2);
	if (!line)
		r->oom = true;
	else
		add_rec(r, line, 0);
}

static void uncaught(struct run *r, const char *fmt, const char *arg)
{
	if (r->uncaught)
		return;
	if (asprintf(&r->uncaught, fmt, arg) < 0)
		r->uncaught = NULL, r->oom = true;
}

static bool is_file(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static bool is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_link(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0 && S_ISLNK(st.st_mode);
}

/* str.split('/') of s: a vector of n parts (each malloc'd). */
static char **split_parts(const char *s, size_t *n)
{
	struct ca_strv v = { 0 };

	for (;;) {
		const char *sl = strchr(s, '/');
		size_t len = sl ? (size_t)(sl - s) : strlen(s);
		if (ca_strv_push(&v, s, len) < 0) {
			ca_strv_release(&v);
			return NULL;
		}
		if (!sl)
			break;
		s = sl + 1;
	}
	*n = v.n;
	return v.v;
}

/* os.path.join(*parts[from..n)); NULL for no parts (a TypeError) */
static char *join_parts(char **parts, size_t from, size_t n)
{
	char *out = NULL;

	for (size_t i = from; i < n; i++) {
		char *j = out ? cli_path_join(out, parts[i]) : strdup(parts[i]);
		free(out);
		if (!(out = j))
			return NULL;
	}
	return out;
}

static void free_parts(char **v, size_t n)
{
	struct ca_strv s = { v, n, n + 1 };

	ca_strv_release(&s);
}

static void join_failed(struct run *r)
{
	uncaught(r, "TypeError: join() missing 1 required positional "
		 "argument: 'a'%s", "");
}

/* 3.13 on: stripdir's parts are taken off when they are a leading run
 * of the path's; else the path is kept (*keep), with a warning. */
static char *strip_leading(struct run *r, char **fp, size_t nf, char **sp,
			   size_t ns, const char *full, const char *strip,
			   bool *keep)
{
	bool prefix = ns <= nf;
	char *out = NULL;

	for (size_t i = 0; prefix && i < ns; i++)
		prefix = strcmp(fp[i], sp[i]) == 0;
	if (!prefix) {
		*keep = true;
		if (r->a->quiet < 2)
			add_line(r, "The stripdir path %s is not a valid "
				 "prefix for source path %s; ignoring\n",
				 strip, full);
	} else if (!(out = join_parts(fp, ns, nf))) {
		join_failed(r);
	}
	return out;
}

/* 3.9 to 3.12: for each pair of equal parts, ddir_parts.remove(part):
 * the first part of that value goes, wherever it is. */
static char *strip_removed(struct run *r, char **fp, size_t nf, char **sp,
			   size_t ns)
{
	struct ca_strv kept = { 0 };
	char *out;

	for (size_t i = 0; i < nf; i++)
		if (ca_strv_push(&kept, fp[i], strlen(fp[i])) < 0)
			r->oom = true;
	for (size_t i = 0; i < ns && i < nf; i++) {
		if (strcmp(sp[i], fp[i]))
			continue;
		for (size_t k = 0; k < kept.n; k++)
			if (strcmp(kept.v[k], sp[i]) == 0) {
				free(kept.v[k]);
				memmove(&kept.v[k], &kept.v[k + 1],
					(kept.n - k) * sizeof(char *));
				kept.n--;
				break;
			}
	}
	if (!(out = join_parts(kept.v, 0, kept.n)))
		join_failed(r);
	ca_strv_release(&kept);
	return out;
}

/* -s: the compiled filename with stripdir's parts taken off, as that
 * version takes them off; NULL with *keep when the version leaves it
 * as it was. */
static char *strip_dir(struct run *r, const char *full, const char *strip,
		       bool *keep)
{
	size_t nf, ns;
	char **fp = split_parts(full, &nf), **sp = split_parts(strip, &ns);
	char *out = NULL;

	*keep = false;
	if (!fp || !sp)
		r->oom = true;
	else if (r->o->hex >= 0x30D)
		out = strip_leading(r, fp, nf, sp, ns, full, strip, keep);
	else
		out = strip_removed(r, fp, nf, sp, ns);
	if (fp)
		free_parts(fp, nf);
	if (sp)
		free_parts(sp, ns);
	return out;
}

/* The compiled filename compile_file() computes (NULL: the source). */
static char *dfile_of(struct run *r, const char *full, const char *ddir,
		      const char *strip, const char *prepend)
{
	const char *base = strrchr(full, '/');
	char *dfile = NULL, *s;
	bool keep;

	base = base ? base + 1 : full;
	if (ddir)
		dfile = cli_path_join(ddir, base);
	if (strip && (s = strip_dir(r, full, strip, &keep))) {
		free(dfile);
		dfile = s;
	} else if (strip && !keep) {
		free(dfile);
		dfile = NULL;
	}
	if (prepend) {
		s = cli_path_join(prepend, dfile ? dfile : full);
		free(dfile);
		dfile = s;
	}
	return dfile;
}

static bool rx_search(const struct run *r, const char *path)
{
	return r->rx && pcre2_match(r->rx, (PCRE2_SPTR)path, strlen(path), 0,
				    0, r->md, NULL) >= 0;
}

/* The pyc compileall writes for level `lvl` (-1: the interpreter's). */
static char *cfile_of(struct run *r, const char *full, int lvl)
{
	struct pyc_error err = { { 0 } };
	char *pyc = NULL;

	if (r->a->legacy) {
		if (asprintf(&pyc, "%sc", full) < 0) {
			r->oom = true;
			return NULL;
		}
		return pyc;
	}
	if (lvl < 0)
		lvl = r->o->cfg.optimize;
	if (pyc_cache_from_source(&r->o->in, r->o->cfg.prefix, r->cwd, full,
				  lvl, &pyc, &err) != PYC_PATH_OK) {
		uncaught(r, "%s", err.msg);
		return NULL;
	}
	return pyc;
}

static void add_source(struct run *r, const char *full, char *dfile,
		       const int *levels, int nlevels)
{
	struct src *s;

	if (grow((void **)&r->srcs, &r->asrcs, r->nsrcs, sizeof(*r->srcs))) {
		free(dfile);
		r->oom = true;
		return;
	}
	s = &r->srcs[r->nsrcs];
	*s = (struct src){ .source = strdup(full), .name = dfile,
			   .dup_of = SIZE_MAX };
	if (!s->source)
		r->oom = true;
	struct stat st;
	if (stat(full, &st) == 0) {
		s->dev = st.st_dev;
		s->ino = st.st_ino;
	}
	for (int k = 0; k < nlevels && k < PYC_MAX_LEVELS; k++) {
		int lvl = levels[k] < 0 ? r->o->cfg.optimize : levels[k];
		s->pyc[k] = cfile_of(r, full, levels[k]);
		s->levels[k] = lvl > 2 ? 2 : lvl;
		s->nlevels++;
		if (!s->pyc[k])
			break;
	}
	r->nsrcs++;
	add_rec(r, NULL, r->nsrcs - 1);
}

struct file_ctx {
	const char *ddir, *strip, *prepend;
	bool path_mode;        /* compile_path(): no -x, -e, -o, -d... */
};

/* compile_file() */
static void compile_file(struct run *r, const char *full,
			 const struct file_ctx *fc)
{
	const struct ca_args *a = r->a;
	const char *base = strrchr(full, '/');
	char *dfile;
	size_t blen;

	if (r->uncaught)
		return;
	base = base ? base + 1 : full;
	dfile = dfile_of(r, full, fc->ddir, fc->strip, fc->prepend);
	if (!fc->path_mode && a->hardlink && r->nlevels < 2) {
		free(dfile);
		uncaught(r, "ValueError: Hardlinking of duplicated bytecode "
			 "makes sense only for more than one optimization "
			 "level%s", "");
		return;
	}
	blen = strlen(base);
	if ((!fc->path_mode && rx_search(r, full)) ||
	    (!fc->path_mode && a->limit && a->limit[0] && r->o->hex >= 0x309 &&
	     is_link(full) && cli_link_outside(full, a->limit)) ||
	    !is_file(full) || blen < 3 || strcmp(base + blen - 3, ".py")) {
		free(dfile);
		return;
	}
	if (fc->path_mode) {
		int lv = -1;
		add_source(r, full, dfile, &lv, 1);
	} else {
		add_source(r, full, dfile, r->levels, r->nlevels);
	}
}

/* The code point at *s as os.fsdecode() reads it (UTF-8, a byte of no
 * valid sequence the surrogate U+DC80..U+DCFF); *s moves past it. */
static uint32_t next_cp(const unsigned char **s)
{
	uint32_t cp;
	size_t len = cli_utf8_decode(*s, strnlen((const char *)*s, 4), &cp);

	if (!len) {
		cp = **s < 0x80 ? **s : 0xDC00 + **s;
		len = 1;
	}
	*s += len;
	return cp;
}

/* sorted() of os.listdir()'s str names: by code point, which is not
 * the bytes' order once a name holds an undecodable byte. */
static int cmp_str(const void *x, const void *y)
{
	const unsigned char *a = *(const unsigned char *const *)x;
	const unsigned char *b = *(const unsigned char *const *)y;

	while (*a && *b) {
		uint32_t ca = next_cp(&a), cb = next_cp(&b);
		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	return (*a != 0) - (*b != 0);
}

/* _walk_dir() with compile_file() on what it yields; `ddir` is 3.8's
 * per-directory destination. */
static void walk_dir(struct run *r, const char *dir, long maxlevels,
		     const struct file_ctx *fc)
{
	struct ca_strv names = { 0 };
	DIR *d;
	struct dirent *e;

	if (r->uncaught || r->oom)
		return;
	if (!r->a->quiet)
		add_line(r, "Listing %s...\n", dir, NULL);
	if (!(d = opendir(dir[0] ? dir : "\x01nonexistent"))) {
		if (r->a->quiet < 2)
			add_line(r, "Can't list %s\n", dir, NULL);
		return;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			if (ca_strv_push(&names, e->d_name,
					 strlen(e->d_name)) < 0)
				r->oom = true;
	closedir(d);
	if (names.n)
		qsort(names.v, names.n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < names.n && !r->uncaught; i++) {
		const char *name = names.v[i];
		char *full, *sub = NULL;
		if (strcmp(name, "__pycache__") == 0)
			continue;
		if (!(full = cli_path_join(dir, name))) {
			r->oom = true;
			break;
		}
		struct file_ctx here = *fc;
		if (r->o->hex < 0x309 && fc->ddir &&
		    !(sub = cli_path_join(fc->ddir, name)))
			r->oom = true;
		if (!is_dir(full)) {
			compile_file(r, full, fc);
		} else if (maxlevels > 0 && !is_link(full)) {
			here.ddir = r->o->hex < 0x309 ? sub : NULL;
			walk_dir(r, full, maxlevels - 1, &here);
		}
		free(sub);
		free(full);
	}
	ca_strv_release(&names);
}

/* compile_dir() */
static void compile_dir(struct run *r, const char *dir, long maxlevels,
			const char *ddir, bool path_mode)
{
	struct file_ctx fc = { .path_mode = path_mode };

	if (!path_mode && r->a->workers < 0) {
		uncaught(r, "ValueError: workers must be greater or equal to "
			 "0%s", "");
		return;
	}
	if (r->o->hex >= 0x309 && ddir) {
		fc.strip = dir;
		fc.prepend = ddir;
	} else if (r->o->hex >= 0x309 && !path_mode) {
		fc.strip = r->a->stripdir;
		fc.prepend = r->a->prependdir;
	} else {
		fc.ddir = ddir;
	}
	walk_dir(r, dir, maxlevels, &fc);
}

/* ---- results and output ---- */

static const char *exc_class(int e)
{
	switch (e) {
	case EAGAIN: case EALREADY: case EINPROGRESS:
		return "BlockingIOError";
	case ECHILD: return "ChildProcessError";
	case EPIPE: case ESHUTDOWN: return "BrokenPipeError";
	case ECONNABORTED: return "ConnectionAbortedError";
	case ECONNREFUSED: return "ConnectionRefusedError";
	case ECONNRESET: return "ConnectionResetError";
	case EEXIST: return "FileExistsError";
	case ENOENT: return "FileNotFoundError";
	case EISDIR: return "IsADirectoryError";
	case ENOTDIR: return "NotADirectoryError";
	case EINTR: return "InterruptedError";
	case EACCES: case EPERM: return "PermissionError";
	case ESRCH: return "ProcessLookupError";
	case ETIMEDOUT: return "TimeoutError";
	default: return "OSError";
	}
}

/* str() of OSError(errno, strerror, path): "[Errno 13] Permission
 * denied: 'x'" after the class: "PermissionError: ..."; path NULL: an
 * OSError that names no file ("[Errno 5] Input/output error"). */
static char *os_error(int e, const char *path)
{
	char *q = path ? repr(path) : NULL, *out = NULL;

	if (!path) {
		if (asprintf(&out, "%s: [Errno %d] %s", exc_class(e), e,
			     strerror(e)) < 0)
			out = NULL;
		return out;
	}
	if (q && asprintf(&out, "%s: [Errno %d] %s: %s", exc_class(e), e,
			  strerror(e), q) < 0)
		out = NULL;
	free(q);
	return out;
}

/* The directory os.makedirs() fails on first: the shallowest missing
 * one on the pyc's way, else the pyc itself. */
static char *failed_path(const char *pyc, int e)
{
	char *dir = strdup(pyc), *best = NULL, *sl;

	if (!dir || e == EEXIST)
		return dir;
	while ((sl = strrchr(dir, '/')) && sl != dir) {
		*sl = '\0';
		struct stat st;
		if (stat(dir, &st) == 0)
			break;
		free(best);
		best = strdup(dir);
	}
	free(dir);
	return best ? best : strdup(pyc);
}

/* Line `n` of `file`, str.strip()ped, malloc'd; NULL when none
 * (linecache.getline()'s "": the file is gone, or shorter). */
static char *source_line(const char *file, unsigned n)
{
	FILE *f = fopen(file, "re");
	char *line = NULL, *s, *e;
	size_t cap = 0;
	ssize_t len = -1;

	if (!f)
		return NULL;
	for (unsigned i = 0; i < n && (len = getline(&line, &cap, f)) >= 0;)
		i++;
	fclose(f);
	if (len < 0) {
		free(line);
		return NULL;
	}
	s = line;
	e = line + len;
	while (s < e && *s && strchr(" \t\n\r\v\f", *s))
		s++;
	while (e > s && e[-1] && strchr(" \t\n\r\v\f", e[-1]))
		e--;
	*e = '\0';
	memmove(line, s, (size_t)(e - s) + 1);
	return line;
}

/*
 * The compiler's warnings as the compileall process shows them: its
 * default filters ignore DeprecationWarning, PendingDeprecationWarning,
 * ImportWarning and ResourceWarning (outside __main__); the others go to
 * stderr as warnings.showwarning() formats them, "FILE:LINE: Category:
 * message" and the source line.
 */
static void print_warnings(const char *file, const struct pyc_list_event *ev)
{
	static const char *const quiet[] = {
		"DeprecationWarning:", "PendingDeprecationWarning:",
		"ImportWarning:", "ResourceWarning:",
	};
	const char *w = ev->warnings;
	char *text;

	for (unsigned i = 0; w && i < ev->nwarnings; i++, w += strlen(w) + 1) {
		const char *cat = strstr(w, ": ");
		unsigned line = (unsigned)strtoul(w, NULL, 10);
		bool shown = true;
		if (!cat)
			continue;
		for (size_t k = 0; k < sizeof(quiet) / sizeof(*quiet); k++)
			shown &= strncmp(cat + 2, quiet[k], strlen(quiet[k])) != 0;
		if (!shown)
			continue;
		fprintf(stderr, "%s:%s\n", file, w);
		text = line ? source_line(file, line) : NULL;
		if (text && text[0])
			fprintf(stderr, "  %s\n", text);
		free(text);
	}
}

/* -b --hardlink-dupes: compileall finds x.pyc equal to itself, unlinks
 * it and links the name it just removed, and fails (s->out, s->msg). */
static void self_link_error(const struct run *r, struct src *s)
{
	for (int k = 1; k < s->nlevels && r->a->hardlink; k++) {
		if (strcmp(s->pyc[k], s->pyc[k - 1]))
			continue;
		char *q = repr(s->pyc[k]);
		s->out = PYC_LIST_WRITE_ERROR;
		if (!q || asprintf(&s->msg, "FileNotFoundError: [Errno 2] No "
				   "such file or directory: %s -> %s", q,
				   q) < 0)
			s->msg = NULL;
		free(q);
		return;
	}
}

/* s->msg for a failed outcome, as compileall words it after "*** ". */
static void outcome_msg(struct src *s, const struct pyc_list_event *ev)
{
	char *p = NULL;

	switch (ev->outcome) {
	case PYC_LIST_FRESH:
	case PYC_LIST_COMPILED:
		break;
	case PYC_LIST_SOURCE_ERROR:
		s->msg = strdup(ev->message);
		break;
	case PYC_LIST_READ_ERROR:
		/* py_compile reads the source outside its try: the bare
		 * OSError, which names the file only when open() failed */
		s->msg = os_error(ev->errnum, ev->opened ? NULL : s->source);
		break;
	case PYC_LIST_WRITE_ERROR:
		p = failed_path(ev->pyc, ev->errnum);
		s->msg = p ? os_error(ev->errnum, p) : NULL;
		break;
	case PYC_LIST_PYC_SYMLINK:
		if (asprintf(&s->msg, "FileExistsError: %s is a symlink and "
			     "will be changed into a regular file if import "
			     "writes a byte-compiled file to it", ev->pyc) < 0)
			s->msg = NULL;
		break;
	case PYC_LIST_PYC_NOT_REGULAR:
		if (asprintf(&s->msg, "FileExistsError: %s is a non-regular "
			     "file and will be changed into a regular one if "
			     "import writes a byte-compiled file to it",
			     ev->pyc) < 0)
			s->msg = NULL;
		break;
	case PYC_LIST_WORKER_ERROR:
		if (asprintf(&s->msg, "Sorry: pycprefix: %s", ev->message) < 0)
			s->msg = NULL;
		break;
	}
	free(p);
}

static void on_event(const struct pyc_list_event *ev, void *arg)
{
	struct run *r = arg;
	struct src *s = &r->srcs[r->map[ev->index]];

	s->done = true;
	s->out = ev->outcome;
	s->errnum = ev->errnum;
	if (ev->outcome == PYC_LIST_COMPILED)
		self_link_error(r, s);
	else
		outcome_msg(s, ev);
	if (ev->outcome > PYC_LIST_COMPILED && !s->msg)
		r->oom = true;
	print_warnings(s->name ? s->name : s->source, ev);
}

/* Print the batch in walk order: true when every source succeeded.
 * stopped (SIGINT): up to the first source not compiled, the one
 * compileall, compiling one by one, was in. */
static bool print_batch(struct run *r, bool stopped)
{
	bool ok = true;
	int q = r->a->quiet;

	for (size_t i = 0; i < r->nrecs; i++) {
		const struct rec *rc = &r->recs[i];
		if (rc->line) {
			fputs(rc->line, stdout);
			continue;
		}
		struct src *s = &r->srcs[rc->item];
		if (stopped && s->queued && !s->done) {
			char *qs = repr(s->source);
			if (!q)
				printf("Compiling %s...\n",
				       qs ? qs : s->source);
			free(qs);
			return false;
		}
		if (!s->done || s->out == PYC_LIST_FRESH)
			continue;
		char *qs = repr(s->source);
		if (!q)
			printf("Compiling %s...\n", qs ? qs : s->source);
		if (s->out != PYC_LIST_COMPILED) {
			ok = false;
			if (q == 1)
				printf("*** Error compiling %s...\n",
				       qs ? qs : s->source);
			else if (!q)
				fputs("*** ", stdout);
			if (q < 2)
				printf("%s\n", s->msg ? s->msg : "");
		}
		free(qs);
	}
	return ok;
}

static void batch_release(struct run *r)
{
	for (size_t i = 0; i < r->nrecs; i++)
		free(r->recs[i].line);
	for (size_t i = 0; i < r->nsrcs; i++) {
		struct src *s = &r->srcs[i];
		free(s->source);
		free(s->name);
		free(s->msg);
		for (int k = 0; k < s->nlevels; k++)
			free(s->pyc[k]);
	}
	free(r->recs);
	free(r->srcs);
	r->recs = NULL;
	r->srcs = NULL;
	r->nrecs = r->arecs = r->nsrcs = r->asrcs = 0;
}

/*
 * A source reached twice in one run (a FILE operand and its DIR, two
 * spellings): compileall compiles it the first time and finds it fresh
 * the second, unless that first compile failed (then it fails again) or
 * -f.  So it is compiled once and the later ones take its result.
 */
static const struct src *dupes_base;

static int dup_cmp(const void *x, const void *y)
{
	const struct src *a = &dupes_base[*(const size_t *)x];
	const struct src *b = &dupes_base[*(const size_t *)y];
	int c;

	if (a->dev != b->dev)
		return a->dev < b->dev ? -1 : 1;
	if (a->ino != b->ino)
		return a->ino < b->ino ? -1 : 1;
	if (a->pyc[0] && b->pyc[0] && (c = strcmp(a->pyc[0], b->pyc[0])))
		return c;
	return *(const size_t *)x < *(const size_t *)y ? -1 : 1;
}

static void find_dupes(struct run *r)
{
	size_t *ix = r->nsrcs > 1 ? calloc(r->nsrcs, sizeof(*ix)) : NULL;

	if (!ix)
		return; /* each compiled on its own: no harm */
	for (size_t i = 0; i < r->nsrcs; i++)
		ix[i] = i;
	dupes_base = r->srcs;
	qsort(ix, r->nsrcs, sizeof(*ix), dup_cmp);
	for (size_t k = 1; k < r->nsrcs; k++) {
		struct src *a = &r->srcs[ix[k - 1]], *b = &r->srcs[ix[k]];
		if (a->dev == b->dev && a->ino == b->ino && a->ino &&
		    a->pyc[0] && b->pyc[0] && !strcmp(a->pyc[0], b->pyc[0]))
			b->dup_of = a->dup_of != SIZE_MAX ? a->dup_of : ix[k - 1];
	}
	free(ix);
}

static void copy_dupes(struct run *r)
{
	for (size_t i = 0; i < r->nsrcs; i++) {
		struct src *s = &r->srcs[i];
		const struct src *f;
		if (s->dup_of == SIZE_MAX)
			continue;
		f = &r->srcs[s->dup_of];
		s->done = f->done;
		s->out = f->out == PYC_LIST_COMPILED && !r->a->force
				 ? PYC_LIST_FRESH : f->out;
		if (f->msg && !(s->msg = strdup(f->msg)))
			r->oom = true;
	}
}

static atomic_int interrupted;

static void on_sigint(int sig)
{
	interrupted = sig;
}

/* Compile what the batch collected, print it; false when a source
 * failed (or the run must end: r->uncaught, an error). */
static int run_batch(struct run *r, bool *ok)
{
	struct pyc_list_item *items = NULL;
	struct pyc_error err = { { 0 } };
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	struct pyc_list_opts lo = {
		.in = &r->o->in, .mode = r->mode,
		.flags = PYC_LIST_PYCOMPILE_MSG | PYC_LIST_REFUSE_SPECIAL |
			 (r->a->force ? PYC_COMPILE_FORCE : 0) |
			 (r->a->hardlink && r->nlevels > 1
				  ? PYC_COMPILE_HARDLINK_DUPES : 0),
		.jobs = r->a->workers == 0 ? (int)(cores > 0 ? cores : 1)
			: r->a->workers > 256 ? 256 : (int)r->a->workers,
		.timeout_ms = 0, .event = on_event, .arg = r,
		.stop = &interrupted,
	};
	size_t n = 0;
	int ret = 0;

	if (r->oom)
		return cli_error("out of memory");
	find_dupes(r);
	if (r->nsrcs && (!(items = calloc(r->nsrcs, sizeof(*items))) ||
			 !(r->map = calloc(r->nsrcs, sizeof(*r->map))))) {
		free(items);
		return cli_error("out of memory");
	}
	for (size_t i = 0; i < r->nsrcs; i++) {
		struct src *s = &r->srcs[i];
		if (s->nlevels < 1 || !s->pyc[s->nlevels - 1] ||
		    s->dup_of != SIZE_MAX)
			continue; /* a duplicate, or never compiled */
		items[n] = (struct pyc_list_item){ .source = s->source,
						   .name = s->name,
						   .nlevels = s->nlevels };
		memcpy(items[n].levels, s->levels, sizeof(s->levels));
		memcpy(items[n].pyc, s->pyc, sizeof(s->pyc));
		s->queued = true;
		r->map[n++] = i;
	}
	if (n && pyc_compile_list(&lo, items, n, &err) < 0) {
		ret = errno == EINTR ? -2 : cli_error("%s", err.msg);
	}
	free(items);
	free(r->map);
	r->map = NULL;
	copy_dupes(r);
	if (ret == 0 || ret == -2) {
		if (!print_batch(r, ret == -2))
			*ok = false;
		if (r->oom)
			ret = cli_error("out of memory");
	}
	if (ret == -2) {
		if (r->a->quiet < 2)
			printf("\n[interrupted]\n");
		*ok = false;
		ret = 0;
	}
	return ret;
}

/* ---- the command ---- */

/* -i: the lines of FILE (or stdin) appended to the operands: 0, -1
 * when FILE cannot be read, -2 out of memory. */
static int read_flist(struct ca_args *a)
{
	size_t n;
	char **v = cli_read_lines(a->flist, &n);
	int ret = 0;

	if (!v)
		return -1;
	for (size_t i = 0; i < n && !ret; i++)
		if (ca_strv_push(&a->dests, v[i], strlen(v[i])) < 0)
			ret = -2;
	cli_strv_free(v, n);
	return ret;
}

static int cmp_int(const void *x, const void *y)
{
	int a = *(const int *)x, b = *(const int *)y;

	return (a > b) - (a < b);
}

static int setup_run(struct run *r)
{
	const struct ca_args *a = r->a;
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	int err = 0;
	PCRE2_SIZE off = 0;

	r->cwd = getcwd(r->cwdbuf, sizeof(r->cwdbuf));
	r->mode = sde && sde[0] ? PYC_INV_CHECKED_HASH : PYC_INV_TIMESTAMP;
	if (a->inv)
		pyc_invalidation_parse(a->inv, &r->mode);
	/* sorted(set(optimize)) */
	if (!a->nopt)
		r->levels[r->nlevels++] = -1;
	for (int i = 0; i < a->nopt; i++) {
		bool seen = false;
		if (a->opt[i] < -1 || a->opt[i] > 2)
			return cli_error("compileall: -o %ld: pycprefix "
					 "compiles levels -1 to 2 only",
					 a->opt[i]);
		for (int k = 0; k < r->nlevels; k++)
			seen |= r->levels[k] == a->opt[i];
		if (!seen)
			r->levels[r->nlevels++] = (int)a->opt[i];
	}
	qsort(r->levels, (size_t)r->nlevels, sizeof(int), cmp_int);
	if (r->nlevels > PYC_MAX_LEVELS + 1 ||
	    (r->nlevels == PYC_MAX_LEVELS + 1 && r->o->cfg.optimize != 0))
		return cli_error("compileall: more levels than pycprefix "
				 "compiles at once (3)");
	if (r->nlevels == PYC_MAX_LEVELS + 1) /* -1 and 0 are one level */
		memmove(r->levels, r->levels + 1, 3 * sizeof(int)),
			r->nlevels--;
	r->maxlevels_default = r->o->hex >= 0x309 ? 1000 : 10;
	if (a->rx) {
		r->rx = pcre2_compile((PCRE2_SPTR)a->rx, PCRE2_ZERO_TERMINATED,
				      PCRE2_UTF | PCRE2_UCP |
					      PCRE2_MATCH_INVALID_UTF,
				      &err, &off, NULL);
		if (!r->rx)
			return cli_error("compileall: -x '%s' is not a regular "
					 "expression pycprefix can read",
					 a->rx);
		if (!(r->md = pcre2_match_data_create(1, NULL)))
			return cli_error("out of memory");
	}
	return 0;
}

/* sys.path as `PY FLAGS -m compileall` sees it: -c's '' at the head is
 * -m's current directory. */
static char **sys_path(struct run *r, size_t *n)
{
	static const char code[] =
		"import sys, os\n"
		"p = list(sys.path)\n"
		"if p and p[0] == '' and not sys.flags.isolated and "
		"not getattr(sys.flags, 'safe_path', 0):\n"
		"    p[0] = os.getcwd()\n"
		"with os.fdopen(int(sys.argv[1]), 'wb') as f:\n"
		"    for d in p:\n"
		"        f.write(os.fsencode(d) + b'\\0')\n";
	struct pyc_error err = { { 0 } };
	char **v = pyc_interp_ask_argv(
		r->o->in.path, (const char *const *)r->a->pyflags.v,
		r->a->pyflags.n, code, PYC_ASK_READ_CACHE, n, &err);

	if (!v)
		cli_error("%s", err.msg);
	return v;
}

/* compile_path(): each sys.path directory, not recursing; after one
 * fails, the rest are not compiled (`success and compile_dir(...)`). */
static int compile_path(struct run *r, bool *ok)
{
	size_t n;
	char **dirs = sys_path(r, &n);
	int ret = 0;

	if (!dirs)
		return -1;
	for (size_t i = 0; i < n && ret == 0 && !r->uncaught; i++) {
		if (!dirs[i][0] || strcmp(dirs[i], ".") == 0) {
			if (r->a->quiet < 2)
				puts("Skipping current directory");
			continue;
		}
		if (!*ok)
			continue;
		compile_dir(r, dirs[i], 0, NULL, true);
		ret = run_batch(r, ok);
		batch_release(r);
	}
	pyc_strv_free(dirs, n);
	return ret;
}

static int compile_dests(struct run *r, bool *ok)
{
	const struct ca_args *a = r->a;
	long maxlevels = a->has_recursion ? a->recursion
			 : a->l ? 0 : r->maxlevels_default;

	for (size_t i = 0; i < a->dests.n && !r->uncaught; i++) {
		const char *dest = a->dests.v[i];
		if (is_file(dest)) {
			struct file_ctx fc = { .ddir = a->ddir };
			if (r->o->hex >= 0x309) {
				fc.strip = a->stripdir;
				fc.prepend = a->prependdir;
			}
			compile_file(r, dest, &fc);
		} else {
			compile_dir(r, dest, maxlevels, a->ddir, false);
		}
	}
	return run_batch(r, ok);
}

static int cmd_compileall(struct cli_ctx *ctx, void *opts)
{
	struct ca_opts *o = opts;
	struct run r = { .o = o, .a = &o->a };
	struct sigaction sa = { .sa_handler = on_sigint }, old;
	bool ok = true;
	int ret;

	(void)ctx;
	if ((ret = setup_run(&r)) < 0)
		goto out;
	if (o->a.flist)
		ret = read_flist(&o->a);
	if (ret == -2) {
		ret = cli_error("out of memory");
		goto out;
	} else if (ret < 0) {
		if (o->a.quiet < 2)
			printf("Error reading file list %s\n", o->a.flist);
		ret = EXIT_SOME;
		goto out;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old);
	ret = o->a.dests.n ? compile_dests(&r, &ok) : compile_path(&r, &ok);
	sigaction(SIGINT, &old, NULL);
	batch_release(&r);
	if (ret == 0 && r.uncaught) {
		fflush(stdout);
		fprintf(stderr, "Traceback (most recent call last):\n"
			"  (pycprefix compileall)\n%s\n", r.uncaught);
		ok = false;
	}
	if (ret == 0)
		ret = ok ? EXIT_OK : EXIT_SOME;
out:
	free(r.uncaught);
	pcre2_code_free(r.rx);
	pcre2_match_data_free(r.md);
	return ret;
}

static unsigned hexversion(const struct pyc_interp *in)
{
	return pyc_interp_hexversion(in);
}

static int parse_compileall(int argc, char **argv, struct cli_ctx *ctx,
			    void *opts)
{
	struct ca_opts *o = opts;
	struct pyc_error err = { { 0 } };
	const char *py = ca_find_python(argc, argv);
	int ret;

	if (!py && ctx->npythons > 1)
		return cli_error("compileall runs one interpreter: give one "
				 "--python");
	if (!py)
		py = ctx->npythons ? ctx->pythons[0] : "python3";
	if (strcmp(py, "all") == 0)
		return cli_error("compileall runs one interpreter: give one "
				 "--python, not 'all'");
	if (pyc_interp_resolve(py, 0, &o->in, &err) < 0)
		return cli_error("%s", err.msg);
	o->hex = hexversion(&o->in);
	ret = ca_parse(argc, argv, o->hex, &o->a);
	if (ret == CA_HELP) {
		cli_help(ctx->cmd);
		return CLI_DONE;
	}
	if (ret != CA_OK)
		return -1;
	if (ca_interp_cfg(&o->a.pyflags, o->hex, &o->cfg) < 0)
		return -1;
	optind = argc; /* our operands are in o->a.dests */
	return 0;
}

static void release_compileall(void *opts)
{
	struct ca_opts *o = opts;

	ca_args_release(&o->a);
	pyc_interp_release(&o->in);
}

const struct cli_cmd cli_cmd_compileall = {
	.name = "compileall",
	.parse = parse_compileall,
	.fn = cmd_compileall,
	.release = release_compileall,
	.opts_size = sizeof(struct ca_opts),
	.takes = TAKES_PYTHON_LEAD,
	.needs = 0,
	.usage = "[--python PY] [--python-flag FLAG]... [-l] [-r N] [-f] "
		 "[-q] [-b]\n"
		 "       [-d DESTDIR | [-s STRIPDIR] [-p PREPENDDIR]] "
		 "[-x REGEXP] [-i FILE]\n"
		 "       [-e DIR] [-j N] [-o LEVEL]... "
		 "[--invalidation-mode MODE]\n"
		 "       [--hardlink-dupes] [FILE|DIR ...]",
	.summary = "python -m compileall's command line, output and files, "
		   "faster.",
	.help =
	"Does what 'PY -m compileall ARGS' does for PY's version (3.8 on):\n"
	"the same arguments (intermixed and abbreviated as argparse takes\n"
	"them; options PY's compileall lacks are refused as it refuses\n"
	"them), the same files selected, the same pycs written where it\n"
	"writes them (in-tree __pycache__, or PY's pycache prefix:\n"
	"PYTHONPYCACHEPREFIX, or -X pycache_prefix given with --python-flag),\n"
	"the same compiled filenames, the same lines on stdout (\"Listing\",\n"
	"\"Compiling\", \"*** Error compiling\" and the error text) in the\n"
	"same order whatever -j says, the same exit status (0, or 1 when a\n"
	"file failed; 2 for a usage error).  Unlike compileall, workers are\n"
	"kept for the whole run, only stale pycs are rebuilt (hash-based\n"
	"ones too, which compileall always rebuilds), and no interpreter is\n"
	"started when all is fresh (except to read sys.path when no FILE or\n"
	"DIR is given).\n\n"
	"Options:\n"
	"      --python PY    the interpreter whose compileall this is\n"
	"                     (default python3): a command, a path, a\n"
	"                     version such as 3.12 or 3.11.7, or a cache tag\n"
	"                     such as cpython-311; one\n"
	"      --python-flag FLAG\n"
	"                     an interpreter option, as PY would see it\n"
	"                     before -m: -O, -OO, -E, -I, -P, -s, -S, -B,\n"
	"                     \"-X pycache_prefix=DIR\" (or -Xpycache_prefix=DIR),\n"
	"                     -W...; one per --python-flag; repeatable\n"
	"  -l                 don't recurse into subdirectories\n"
	"  -r N               recurse at most N levels (wins over -l;\n"
	"                     default: Python's recursion limit, 10 for 3.8)\n"
	"  -f                 rebuild even fresh pycs\n"
	"  -q                 only errors; -qq: nothing\n"
	"  -b                 legacy pycs, x.pyc beside x.py\n"
	"  -d DESTDIR         the compiled filename is DESTDIR joined to the\n"
	"                     path below each DIR operand (for a FILE, its\n"
	"                     name)\n"
	"  -s STRIPDIR        take STRIPDIR's leading parts off the compiled\n"
	"                     filename (3.9 on; not with -d)\n"
	"  -p PREPENDDIR      put PREPENDDIR before it, after -s (3.9 on;\n"
	"                     not with -d)\n"
	"  -x REGEXP          skip files whose path REGEXP matches\n"
	"                     (re.search; Python's re syntax, read by PCRE2)\n"
	"  -i FILE            add each line of FILE (- for stdin) to the\n"
	"                     operands\n"
	"  -e DIR             skip symlinked files whose target is outside\n"
	"                     DIR (3.9 on)\n"
	"  -j, --workers N    N worker processes (0: one per core)\n"
	"  -o LEVEL           optimization level -1 (PY's own), 0, 1 or 2;\n"
	"                     repeatable (3.9 on)\n"
	"      --invalidation-mode MODE\n"
	"                     timestamp, checked-hash or unchecked-hash\n"
	"                     (default: checked-hash if SOURCE_DATE_EPOCH is\n"
	"                     set, else timestamp)\n"
	"      --hardlink-dupes\n"
	"                     with several -o, a level whose pyc equals the\n"
	"                     previous level's is a hard link to it (3.9 on)\n",
};
