/*
 * cmd_show.c - pycprefix show: what a pyc says and whether Python uses it.
 *
 * Which Python: --python if given, else the CPython release the file
 * name's cache tag names (so no interpreter is started), else the one its
 * magic number belongs to.  Where: a pyc under the prefix is judged as
 * Python judges it with that prefix, one in a __pycache__ folder as Python
 * without a prefix does.
 */
#include "cli.h"
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* What the first bytes make of the file. */
enum kind {
	KIND_PYC,        /* a 3.8+ magic: decoded and judged */
	KIND_NOT_PYC,    /* no CPython's magic: nothing decoded */
	KIND_TOO_OLD,    /* a CPython before 3.8: another header layout */
};

struct shown {
	const char *pyc;
	char *pyc_buf;              /* pyc, when made absolute */
	enum kind kind;
	const char *series;         /* "2.7", "3.12" of the magic, or NULL */
	struct pyc_header h;
	enum pyc_header_status hstatus;
	size_t len;                 /* header bytes read */
	off_t file_size;
	const char *python;         /* "3.12" of the magic, or NULL */
	char *tag;                  /* from the file name */
	char *source;
	char *expected;             /* where Python looks for source's pyc */
	bool source_exists;
	bool same_file;             /* expected is this pyc */
	bool have_verdict;
	struct pyc_verdict v;
	const char *problem;        /* why there is no verdict */
	char detail[600];
	char what[200];             /* why it is no 3.8+ pyc (kind) */
};

static void shown_release(struct shown *s)
{
	free(s->pyc_buf);
	free(s->tag);
	free(s->source);
	free(s->expected);
}

/* The cache tag in "name.TAG.pyc" or "name.TAG.opt-N.pyc", or NULL. */
static char *tag_of(const char *pyc)
{
	const char *base = strrchr(pyc, '/');
	struct pyc_cache_name cn;

	if (!pyc_cache_name_parse(base ? base + 1 : pyc, &cn))
		return NULL;
	return strdup(cn.tag);
}

static bool same_inode(const char *a, const char *b)
{
	struct stat x, y;

	return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev &&
	       x.st_ino == y.st_ino;
}

/* Choose the interpreter whose rules apply; -1 if none can be told. */
static int pick_interp(const struct pyc_interp *given, struct shown *s,
		       struct pyc_interp *in)
{
	if (given)
		return pyc_interp_copy(in, given);
	if (s->tag && pyc_interp_from_tag(s->tag, in) == 0)
		return 0;
	if (s->python) {
		char tag[32];
		snprintf(tag, sizeof(tag), "cpython-%.1s%s", s->python,
			 s->python + 2);
		return pyc_interp_from_tag(tag, in);
	}
	return -1;
}

/* 3.8's first magic: before it the header had another layout. */
#define MAGIC_38_FIRST 3400

static void classify(struct shown *s)
{
	s->series = s->h.magic_ok ? pyc_magic_series(s->h.magic) : NULL;
	if (!s->series) {
		s->kind = KIND_NOT_PYC;
		if (s->len >= 4 && s->h.magic_ok)
			snprintf(s->what, sizeof(s->what), "not a pyc: magic "
				 "number %u is no CPython's", s->h.magic);
		else
			snprintf(s->what, sizeof(s->what), "not a pyc: its "
				 "first 4 bytes are no CPython magic number");
	} else if (s->h.magic < MAGIC_38_FIRST || s->h.magic > 20000) {
		s->kind = KIND_TOO_OLD;
		snprintf(s->what, sizeof(s->what), "a pyc of CPython %s, older "
			 "than 3.8: no Python 3.8 or later uses it, and "
			 "pycprefix serves 3.8 and later only", s->series);
	}
}

static int read_header(struct shown *s)
{
	unsigned char head[PYC_HEADER_SIZE];
	struct stat st;
	ssize_t n;
	int fd = pyc_open_pyc(s->pyc);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || (n = read(fd, head, sizeof(head))) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	s->len = (size_t)n;
	s->file_size = st.st_size;
	s->hstatus = pyc_header_parse(head, s->len, 0, &s->h);
	if (s->h.magic_ok)
		s->python = pyc_magic_version(s->h.magic);
	classify(s);
	return 0;
}

static void judge(struct shown *s, const struct pyc_interp *in,
		  const char *prefix, enum pyc_check_mode mode)
{
	struct pyc_error err = { { 0 } };
	const char *use_prefix = prefix && cli_under(s->pyc, prefix) ? prefix
								     : NULL;
	char cwdbuf[PATH_MAX];
	const char *cwd = getcwd(cwdbuf, sizeof(cwdbuf));
	int opt = 0;

	if (pyc_source_from_cache(in, use_prefix, s->pyc, &s->source, &opt,
				  &err)) {
		s->problem = "not a name CPython gives a pyc";
		snprintf(s->detail, sizeof(s->detail), "%s", err.msg);
		return;
	}
	s->source_exists = !pyc_source_gone(s->source);
	if (!s->source_exists) {
		s->problem = "orphan: its source does not exist";
		return;
	}
	if (opt < 0 || opt > 2 ||
	    pyc_cache_from_source(in, use_prefix, cwd, s->source, opt,
				  &s->expected, &err)) {
		s->problem = "ignored: Python never reads a pyc of this name";
		return;
	}
	s->same_file = strcmp(s->expected, s->pyc) == 0 ||
		       same_inode(s->expected, s->pyc);
	if (!s->same_file) {
		s->problem = "ignored: Python reads this source's bytecode "
			     "from another file";
		return;
	}
	if (pyc_judge_files(in, mode, s->source, NULL, AT_FDCWD, s->pyc,
			    PYC_JUDGE_VERIFY_UNCHECKED, &s->v) < 0) {
		s->problem = "the source cannot be read";
		snprintf(s->detail, sizeof(s->detail), "%s", strerror(errno));
		return;
	}
	s->have_verdict = true;
}

static void fmt_time(char *out, size_t n, uint32_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm))
		strftime(out, n, "%Y-%m-%d %H:%M:%S UTC", &tm);
	else
		snprintf(out, n, "?");
}

static const char *kind_word(const struct shown *s)
{
	return s->kind == KIND_NOT_PYC ? "not-a-pyc"
	       : s->kind == KIND_TOO_OLD ? "too-old" : "pyc";
}

static const char *verdict_word(const struct shown *s)
{
	if (s->kind != KIND_PYC && !s->have_verdict)
		return kind_word(s);
	if (!s->have_verdict)
		return s->source_exists || !s->source ? "ignored" : "orphan";
	if (s->v.unchecked_changed)
		return "fresh-but-outdated";
	return pyc_state_name(s->v.state);
}

static const char *header_word(enum pyc_header_status h)
{
	return h == PYC_HEADER_OK ? "ok"
	       : h == PYC_HEADER_TRUNCATED ? "truncated"
	       : h == PYC_HEADER_BAD_FLAGS ? "bad-flags" : "bad-magic";
}

static void print_json(struct json_writer *w, const struct shown *s,
		       const struct pyc_interp *in)
{
	char hex[17];

	for (int i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", s->h.hash[i]);
	json_object(w, NULL);
	json_string(w, "pyc", s->pyc);
	json_int(w, "size", (intmax_t)s->file_size);
	if (s->len >= 4 && s->h.magic_ok)
		json_uint(w, "magic", s->h.magic);
	else
		json_null(w, "magic");
	json_string(w, "magic_python", s->series);
	json_string(w, "kind", kind_word(s));
	json_string(w, "header", header_word(s->hstatus));
	if (s->kind == KIND_PYC && s->len >= 16) {
		json_uint(w, "flags", s->h.flags);
		json_string(w, "mode",
			    pyc_invalidation_name(pyc_header_mode(&s->h)));
		if (s->h.flags & PYC_FLAG_HASH) {
			json_string(w, "source_hash", hex);
		} else {
			json_uint(w, "source_mtime", s->h.mtime);
			json_uint(w, "source_size", s->h.size);
		}
	}
	json_string(w, "python", in ? in->tag : NULL);
	json_string(w, "source", s->source);
	json_string(w, "state", verdict_word(s));
	json_string(w, "reason",
		    s->have_verdict ? pyc_reason_text(s->v.why) : s->problem);
	json_string(w, "expected",
		    s->expected && !s->same_file ? s->expected : NULL);
	json_end(w);
}

static void print_fields(const struct shown *s)
{
	char when[64];

	if (!(s->h.flags & PYC_FLAG_HASH)) {
		fmt_time(when, sizeof(when), s->h.mtime);
		printf("  mtime    %s (%u)\n  size     %u bytes\n", when,
		       s->h.mtime, s->h.size);
		return;
	}
	printf("  hash     ");
	for (int i = 0; i < 8; i++)
		printf("%02x", s->h.hash[i]);
	printf("\n");
}

static void print_human(const struct cli_ctx *ctx, const struct shown *s,
			const struct pyc_interp *in)
{
	/* JSON says "fresh-but-outdated"; a person reads status's words. */
	const char *word = s->have_verdict && s->v.unchecked_changed
			   ? "changed (unchecked)" : verdict_word(s);
	const char *col = !s->have_verdict ? C_YELLOW
			  : s->v.state == PYC_FRESH && !s->v.unchecked_changed
			  ? C_GREEN : C_RED;

	printf("%s%s%s\n", color(ctx, C_BOLD), cli_qpath(s->pyc),
	       color(ctx, C_RESET));
	if (s->kind == KIND_NOT_PYC)
		printf("  magic    %s\n", s->what);
	else if (s->kind == KIND_TOO_OLD)
		printf("  magic    %u: %s\n", s->h.magic, s->what);
	else if (s->python)
		printf("  magic    %u (CPython %s)\n", s->h.magic, s->python);
	else
		printf("  magic    %u (a CPython %s pre-release)\n", s->h.magic,
		       s->series);
	if (s->kind == KIND_PYC && s->len < 16)
		printf("  header   truncated: %zu of 16 bytes\n", s->len);
	if (s->kind == KIND_PYC && s->len >= 16) {
		printf("  flags    %#x (%s%s)\n", s->h.flags,
		       pyc_invalidation_name(pyc_header_mode(&s->h)),
		       s->hstatus == PYC_HEADER_BAD_FLAGS ? ", invalid" : "");
		print_fields(s);
	}
	if (s->source)
		printf("  source   %s%s\n", cli_qpath(s->source),
		       s->source_exists ? "" : " (missing)");
	printf("  verdict  %s%s%s", color(ctx, col), word,
	       color(ctx, C_RESET));
	if (s->have_verdict && in)
		printf(": %s %s (%s)\n", in->tag,
		       s->v.state == PYC_FRESH ? "uses it as it is"
					       : "recompiles and rewrites it",
		       pyc_reason_text(s->v.why));
	else
		printf(": %s\n", s->problem ? s->problem : "?");
	if (s->have_verdict && s->v.unchecked_changed)
		printf("  %swarning%s  the source changed since this unchecked "
		       "pyc was written: Python runs the old code\n",
		       color(ctx, C_RED), color(ctx, C_RESET));
	if (s->expected && !s->same_file)
		printf("  python reads %s\n", cli_qpath(s->expected));
	if (s->detail[0] && s->problem != s->detail)
		printf("  detail   %s\n", s->detail);
}

static int parse_show(int argc, char **argv, struct cli_ctx *ctx,
		      void *opts)
{
	static const struct option longopts[] = {
		{ "check-hash-based-pycs", required_argument, NULL, 'c' },
		{ 0 },
	};
	struct cli_parser p = { .argc = argc, .argv = argv, .ctx = ctx,
				.shortopts = "", .longopts = longopts };
	enum pyc_check_mode *mode = opts;
	int c;

	*mode = PYC_CHECK_DEFAULT;
	while ((c = cli_getopt(&p)) != -1) {
		if (c != 'c')
			return cli_opt_stop(c);
		if (pyc_check_mode_parse(optarg, mode) < 0)
			return cli_usage_error(ctx, "--check-hash-based-pycs "
					       "takes default, always or "
					       "never");
	}
	if (optind >= argc)
		return cli_usage_error(ctx, "show needs at least one PYC");
	return 0;
}

/* One PYC: 0, or EXIT_SOME when it cannot be read or is no pyc. */
static int show_one(const struct cli_ctx *ctx, const char *arg,
		    enum pyc_check_mode mode)
{
	struct shown s = { .pyc_buf = cli_pyc_arg(ctx->prefix, arg) };
	struct pyc_interp in = { 0 };
	bool have_in;
	int ret = EXIT_OK;

	s.pyc = s.pyc_buf ? s.pyc_buf : arg;
	if (read_header(&s) < 0) {
		int e = errno;
		cli_warn("cannot read %s: %s", cli_qsubject(arg),
			 e == PYC_ENOTREG ? "not a regular file" : strerror(e));
		shown_release(&s);
		return EXIT_SOME;
	}
	s.tag = tag_of(s.pyc);
	have_in = pick_interp(ctx->ninterps ? &ctx->interps[0] : NULL, &s,
			      &in) == 0;
	if (have_in)
		judge(&s, &in, ctx->prefix, mode);
	/* No 3.8+ pyc: what it is, unless it sits where an interpreter
	 * reads (and would replace) a pyc. */
	if (s.kind != KIND_PYC && !s.have_verdict) {
		s.problem = s.what;
		s.detail[0] = '\0';
	} else if (!have_in) {
		s.problem = "no CPython 3.8+ release uses this file";
	}
	if (s.kind == KIND_NOT_PYC && !s.have_verdict)
		ret = EXIT_SOME;
	if (ctx->json)
		print_json(ctx->out, &s, have_in ? &in : NULL);
	else
		print_human(ctx, &s, have_in ? &in : NULL);
	pyc_interp_release(&in);
	shown_release(&s);
	return ret;
}

static int cmd_show(struct cli_ctx *ctx, void *opts)
{
	const enum pyc_check_mode *mode = opts;
	int ret = EXIT_OK;

	if (ctx->json)
		json_lines(ctx->out, NULL);
	for (int i = 0; i < ctx->nargs; i++)
		if (show_one(ctx, ctx->args[i], *mode))
			ret = EXIT_SOME;
	if (ctx->json)
		json_end(ctx->out);
	return ret;
}

const struct cli_cmd cli_cmd_show = {
	.name = "show",
	.parse = parse_show,
	.fn = cmd_show,
	.opts_size = sizeof(enum pyc_check_mode),
	.takes = TAKES_PREFIX | TAKES_IN_TREE | TAKES_PYTHON | TAKES_JSON,
	.needs = NEEDS_PREFIX | NEEDS_PYTHONS | NEEDS_PYTHONS_GIVEN,
	.usage = "[--check-hash-based-pycs MODE] PYC...",
	.summary =
	"Decode pyc headers and say whether Python would use each pyc.",
	.help =
	"For each PYC: magic number and the Python it belongs to, flags,\n"
	"source mtime and size or source hash, the source it caches, and\n"
	"whether that Python would use it as it is, or why not.  A file\n"
	"that is no pyc (exit 1), or a pyc of a CPython before 3.8, is\n"
	"said to be so, with nothing decoded.  A relative PYC inside the\n"
	"prefix is taken as its absolute path.\n\n"
	"Options:\n"
	"      --check-hash-based-pycs MODE\n"
	"                     default, always or never, as python's option\n",
};
