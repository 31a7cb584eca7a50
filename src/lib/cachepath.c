/*
 * cachepath.c - importlib's cache_from_source() and source_from_cache().
 *
 * Each step below is the byte-string twin of a line of
 * importlib/_bootstrap_external.py on POSIX, where path_separators is "/".
 * Python's helpers and what they do here:
 *   _path_split(p)      split at the last '/': ("", p) when there is none
 *   _path_join(*parts)  drop empty parts, rstrip('/') each, join with '/'
 *   _path_isabs(p)      p starts with '/'
 * The one difference between versions: 3.12 made the head absolute with
 * _path_abspath(), which first drops one leading "./"; 3.8 to 3.11 join
 * the current directory to the head as it is.
 */
#include "pycprefix.h"
#include "buf.h"
#include "compat.h"
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#define PYCACHE "__pycache__"
#define OPT "opt-"

/* A borrowed slice of a string. */
struct span {
	const char *p;
	size_t n;
};

static struct span span_of(const char *s)
{
	return (struct span){ s, strlen(s) };
}

static void path_split(struct span path, struct span *head, struct span *tail)
{
	const char *slash = NULL;

	for (size_t i = path.n; i > 0; i--) {
		if (path.p[i - 1] == '/') {
			slash = path.p + i - 1;
			break;
		}
	}
	if (!slash) {
		*head = (struct span){ path.p, 0 };
		*tail = path;
		return;
	}
	*head = (struct span){ path.p, (size_t)(slash - path.p) };
	*tail = (struct span){ slash + 1, path.n - head->n - 1 };
}

static struct span rstrip_slash(struct span s)
{
	while (s.n && s.p[s.n - 1] == '/')
		s.n--;
	return s;
}

static struct span lstrip_slash(struct span s)
{
	while (s.n && s.p[0] == '/') {
		s.p++;
		s.n--;
	}
	return s;
}

static bool span_starts(struct span s, const char *pre, size_t n)
{
	return s.n >= n && memcmp(s.p, pre, n) == 0;
}

/* The last '.' in s, or NULL. */
static const char *last_dot(struct span s)
{
	for (size_t i = s.n; i > 0; i--)
		if (s.p[i - 1] == '.')
			return s.p + i - 1;
	return NULL;
}

static bool span_eq(struct span s, const char *lit)
{
	return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

/* _path_join(*parts) appended to out. */
static void path_join(struct buf *out, const struct span *parts, size_t n)
{
	bool first = true;

	for (size_t i = 0; i < n; i++) {
		if (!parts[i].n)
			continue;
		if (!first)
			pyc__buf_addc(out, '/');
		first = false;
		struct span s = rstrip_slash(parts[i]);
		pyc__buf_add(out, s.p, s.n);
	}
	if (!out->s)
		pyc__buf_grow(out, 0);
}

static enum pyc_path_error fail(struct pyc_error *err, enum pyc_path_error e,
				const char *fmt, const char *arg)
{
	pyc__set_error(err, fmt, arg);
	return e;
}

/* Runs on helper threads too (status, compile): strerror_r. */
static enum pyc_path_error nomem(struct pyc_error *err)
{
	char eb[128];

	errno = ENOMEM;
	return fail(err, PYC_PATH_NOMEM, "%s",
		    pyc__strerror(ENOMEM, eb, sizeof(eb)));
}

/* The file name: (base or rest) + sep + tag [+ ".opt-N"] + ".pyc". */
static void cache_name(struct buf *name, struct span tail, const char *tag,
		       int opt)
{
	struct span base = { tail.p, 0 }, rest = tail;
	bool has_dot = false;

	for (size_t i = tail.n; i > 0; i--) {
		if (tail.p[i - 1] == '.') {
			base.n = i - 1;
			rest = (struct span){ tail.p + i, tail.n - i };
			has_dot = true;
			break;
		}
	}
	if (base.n)
		pyc__buf_add(name, base.p, base.n);
	else
		pyc__buf_add(name, rest.p, rest.n);
	if (has_dot)
		pyc__buf_addc(name, '.');
	pyc__buf_adds(name, tag);
	if (opt)
		pyc__buf_addf(name, "." OPT "%d", opt);
	pyc__buf_adds(name, ".pyc");
}

/* The absolute head: _path_join(cwd, head), after _path_abspath()'s
 * removal of one "./" on 3.12 and later. */
static void abs_head(struct buf *out, const struct pyc_interp *in,
		     const char *cwd, struct span head)
{
	if (head.n && head.p[0] == '/') {
		pyc__buf_add(out, head.p, head.n);
		if (!out->s)
			pyc__buf_grow(out, 0);
		return;
	}
	if (pyc_interp_hexversion(in) >= 0x030C && span_starts(head, "./", 2)) {
		head.p += 2;
		head.n -= 2;
	}
	struct span parts[2] = { span_of(cwd), head };
	path_join(out, parts, 2);
}

enum pyc_path_error pyc_cache_from_source(const struct pyc_interp *in,
					  const char *prefix, const char *cwd,
					  const char *source, int opt,
					  char **out, struct pyc_error *err)
{
	struct buf name = { 0 }, abs = { 0 }, res = { 0 };
	struct span head, tail;
	enum pyc_path_error ret = PYC_PATH_OK;

	*out = NULL;
	if (opt < 0)
		return fail(err, PYC_PATH_VALUE, "%s is not alphanumeric",
			    "optimization level");
	path_split(span_of(source), &head, &tail);
	cache_name(&name, tail, in->tag, opt);
	if (!prefix) {
		struct span parts[3] = { head, span_of(PYCACHE),
					 { name.s, name.len } };
		path_join(&res, parts, 3);
		goto done;
	}
	if (!(head.n && head.p[0] == '/') && !cwd) {
		ret = fail(err, PYC_PATH_OS, "'%s': cannot read the current "
			   "directory", source);
		goto done;
	}
	abs_head(&abs, in, cwd, head);
	if (abs.oom)
		goto done;
	struct span h = { abs.s, abs.len };
	if (h.n < 2 && pyc_interp_hexversion(in) < 0x030E) {
		/* Before 3.14 head[1] == ':' raises IndexError: the source
		 * is in '/' (gh-82916); 3.14 slices, and joins "" here. */
		ret = fail(err, PYC_PATH_INDEX,
			   "'%s': CPython fails on this path under a prefix "
			   "(IndexError: its directory is '/')", source);
		goto done;
	}
	if (h.n >= 2 && h.p[1] == ':' && h.p[0] != '/') {
		h.p += 2;
		h.n -= 2;
	}
	struct span parts[3] = { span_of(prefix), lstrip_slash(h),
				 { name.s, name.len } };
	path_join(&res, parts, 3);
done:
	if (ret == PYC_PATH_OK && (name.oom || abs.oom || res.oom))
		ret = nomem(err);
	if (ret == PYC_PATH_OK)
		*out = pyc__buf_detach(&res);
	pyc__buf_release(&name);
	pyc__buf_release(&abs);
	pyc__buf_release(&res);
	return ret;
}

static size_t count_dots(struct span s)
{
	size_t n = 0;

	for (size_t i = 0; i < s.n; i++)
		n += s.p[i] == '.';
	return n;
}

/* The level of "name.tag.opt-L.pyc" (three dots): 0 or -1 on error. */
static enum pyc_path_error opt_level(const struct pyc_interp *in,
				     struct span name, int *opt,
				     struct pyc_error *err)
{
	/* rsplit('.', 2)[-2]: between the second-to-last and last dots. */
	const char *last = last_dot(name);
	const char *prev = last_dot((struct span){ name.p,
						   (size_t)(last - name.p) });
	struct span part = { prev + 1, (size_t)(last - prev - 1) };
	struct span level;
	int n = 0;

	if (!span_starts(part, OPT, strlen(OPT)))
		return fail(err, PYC_PATH_VALUE, "%s",
			    "optimization portion of filename does not start "
			    "with 'opt-'");
	level = (struct span){ part.p + 4, part.n - 4 };
	if (!pyc_str_isalnum(level.p, level.n, in->unidata))
		return fail(err, PYC_PATH_VALUE, "%s",
			    "optimization level is not an alphanumeric value");
	for (size_t i = 0; i < level.n; i++) {
		if (level.p[i] < '0' || level.p[i] > '9' || n > 1000000) {
			n = -1;
			break;
		}
		n = n * 10 + (level.p[i] - '0');
	}
	*opt = n;
	return PYC_PATH_OK;
}

/* _path_join(head, stem + '.py') into *out. */
static enum pyc_path_error join_source(struct span head, struct span stem,
				       char **out, struct pyc_error *err)
{
	struct buf base = { 0 }, res = { 0 };
	enum pyc_path_error ret;

	pyc__buf_add(&base, stem.p, stem.n);
	pyc__buf_adds(&base, ".py");
	struct span parts[2] = { head, { base.s, base.len } };
	path_join(&res, parts, 2);
	ret = base.oom || res.oom ? nomem(err) : PYC_PATH_OK;
	if (ret == PYC_PATH_OK)
		*out = pyc__buf_detach(&res);
	pyc__buf_release(&base);
	pyc__buf_release(&res);
	return ret;
}

/* The source's directory for the pyc path `pyc`: the part below the
 * prefix, or the directory holding __pycache__; `name` is its file name. */
static enum pyc_path_error source_head(const char *prefix, const char *pyc,
				       struct span *head, struct span *name,
				       struct pyc_error *err)
{
	struct span dir;

	path_split(span_of(pyc), head, name);
	if (prefix) {
		struct span stripped = rstrip_slash(span_of(prefix));
		if (head->n > stripped.n && head->p[stripped.n] == '/' &&
		    memcmp(head->p, stripped.p, stripped.n) == 0) {
			head->p += stripped.n;
			head->n -= stripped.n;
			return PYC_PATH_OK;
		}
	}
	path_split(*head, head, &dir);
	if (!span_eq(dir, PYCACHE))
		return fail(err, PYC_PATH_VALUE,
			    "'%s': __pycache__ not bottom-level directory", pyc);
	return PYC_PATH_OK;
}

enum pyc_path_error pyc_source_from_cache(const struct pyc_interp *in,
					  const char *prefix, const char *pyc,
					  char **out, int *opt,
					  struct pyc_error *err)
{
	struct span head, name;
	int level = 0;
	enum pyc_path_error ret;

	*out = NULL;
	ret = source_head(prefix, pyc, &head, &name, err);
	if (ret != PYC_PATH_OK)
		return ret;
	switch (count_dots(name)) {
	case 2:
		break;
	case 3:
		ret = opt_level(in, name, &level, err);
		if (ret != PYC_PATH_OK)
			return ret;
		break;
	default:
		return fail(err, PYC_PATH_VALUE,
			    "'%s': expected only 2 or 3 dots in the file name",
			    pyc);
	}
	const char *dot = memchr(name.p, '.', name.n);
	ret = join_source(head, (struct span){ name.p,
					      (size_t)(dot - name.p) },
			  out, err);
	if (ret == PYC_PATH_OK && opt)
		*opt = level;
	return ret;
}

static bool is_tag_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool pyc_cache_name_parse(const char *name, struct pyc_cache_name *out)
{
	struct span s = span_of(name), part;
	const char *dot;

	if (s.n < 4 || memcmp(s.p + s.n - 4, ".pyc", 4) != 0)
		return false;
	s.n -= 4;
	out->opt = 0;
	if ((dot = last_dot(s)) &&
	    span_starts(part = (struct span){ dot + 1,
					      (size_t)(s.p + s.n - dot - 1) },
			OPT, strlen(OPT))) {
		/* The level, as cache_from_source() spells it: digits. */
		const char *p = part.p + strlen(OPT);
		size_t n = part.n - strlen(OPT);
		if (!n || n > 6)
			return false;
		for (size_t i = 0; i < n; i++) {
			if (p[i] < '0' || p[i] > '9')
				return false;
			out->opt = out->opt * 10 + (p[i] - '0');
		}
		s.n = (size_t)(dot - s.p);
	}
	if (!(dot = last_dot(s)) || dot == s.p)
		return false;
	part = (struct span){ dot + 1, (size_t)(s.p + s.n - dot - 1) };
	if (!part.n || part.n >= sizeof(out->tag))
		return false;
	for (size_t i = 0; i < part.n; i++)
		if (!is_tag_char(part.p[i]))
			return false;
	memcpy(out->tag, part.p, part.n);
	out->tag[part.n] = '\0';
	out->stem = (size_t)(dot - s.p);
	return true;
}

enum pyc_path_error pyc_source_of_cache(const char *prefix, const char *pyc,
					char **out,
					struct pyc_cache_name *parsed,
					struct pyc_error *err)
{
	struct span head, name;
	enum pyc_path_error ret;

	*out = NULL;
	ret = source_head(prefix, pyc, &head, &name, err);
	if (ret != PYC_PATH_OK)
		return ret;
	if (!pyc_cache_name_parse(name.p, parsed))
		return fail(err, PYC_PATH_VALUE, "'%s': not named "
			    "NAME.TAG[.opt-N].pyc", pyc);
	return join_source(head, (struct span){ name.p, parsed->stem }, out,
			   err);
}

enum pyc_path_error pyc__mirror_dir(const struct pyc_interp *in,
				    const char *prefix, const char *cwd,
				    const char *dir, char **out,
				    struct pyc_error *err)
{
	struct buf b = { 0 };
	size_t n = strlen(dir);
	char *slash;
	enum pyc_path_error e = PYC_PATH_NOMEM;

	*out = NULL;
	/* "." and "a/." name the directory itself: leave the dot out so the
	 * mirror reads as the path it is. */
	while (n >= 2 && dir[n - 1] == '.' && dir[n - 2] == '/')
		n -= 2;
	if (n == 1 && dir[0] == '.')
		n = 0;
	/* '/' holds every source directory: its mirror is the prefix itself
	 * (3.8 to 3.13 cannot cache a source directly in '/', which is why
	 * the "x.py" below would fail there). */
	if (n && !rstrip_slash((struct span){ dir, n }).n) {
		if (!prefix)
			return fail(err, PYC_PATH_VALUE, "'%s': no prefix to "
				    "mirror it in", dir);
		return (*out = strdup(prefix)) ? PYC_PATH_OK : PYC_PATH_NOMEM;
	}
	pyc__buf_add(&b, dir, n);
	pyc__buf_adds(&b, n ? "/x.py" : "x.py");
	if (!b.oom)
		e = pyc_cache_from_source(in, prefix, cwd, b.s, 0, out, err);
	pyc__buf_release(&b);
	if (*out && (slash = strrchr(*out, '/')))
		*slash = '\0';
	return e;
}

static size_t digits_at(const char *p)
{
	return strspn(p, "0123456789");
}

/* The forms sys.implementation.cache_tag takes: CPython "cpython-313",
 * PyPy "pypy39", GraalPy "graalpy231-310" (older "graalpy-38", and
 * GraalPython's "graalpython-38"). */
bool pyc_cache_tag_is_real(const char *tag)
{
	const char *p;
	size_t n;

	if (strncmp(tag, "cpython-", 8) == 0)
		return (n = digits_at(tag + 8)) && !tag[8 + n];
	if (strncmp(tag, "pypy", 4) == 0)
		return (n = digits_at(tag + 4)) && !tag[4 + n];
	if (strncmp(tag, "graalpy", 7) != 0)
		return false;
	p = tag + 7;
	if (strncmp(p, "thon", 4) == 0)
		p += 4;
	p += digits_at(p);
	if (*p++ != '-')
		return false;
	return (n = digits_at(p)) && !p[n];
}

bool pyc_source_gone(const char *source)
{
	struct stat st;

	/* ENOTDIR: a directory on the way is now a file. */
	return stat(source, &st) < 0 && (errno == ENOENT || errno == ENOTDIR);
}

bool pyc__ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

bool pyc__cache_artifact(const char *prefix, const char *pyc, char **source,
			 struct pyc_cache_name *cn)
{
	if (pyc_source_of_cache(prefix, pyc, source, cn, NULL) != PYC_PATH_OK)
		return false;
	if (pyc_cache_tag_is_real(cn->tag))
		return true;
	free(*source);
	*source = NULL;
	return false;
}

/* Append the components of s to out, dropping empty ones and "."; with
 * dotdot, ".." takes back the component before it, down to out's first
 * `floor` bytes (a ".." that would go below them stays). */
static void add_components(struct buf *out, struct span s, size_t floor,
			   bool dotdot)
{
	for (size_t i = 0; i < s.n;) {
		size_t j = i;
		while (j < s.n && s.p[j] != '/')
			j++;
		struct span c = { s.p + i, j - i };
		i = j + 1;
		if (!c.n || span_eq(c, "."))
			continue;
		if (dotdot && span_eq(c, "..") && out->len > floor) {
			const char *last = out->s + out->len;
			while (last > out->s + floor && last[-1] != '/')
				last--;
			if (strcmp(last, "..") != 0) {
				out->len = (size_t)(last - out->s);
				if (out->len > floor)
					out->len--; /* its '/' */
				out->s[out->len] = '\0';
				continue;
			}
		}
		if (out->len && out->s[out->len - 1] != '/')
			pyc__buf_addc(out, '/');
		pyc__buf_add(out, c.p, c.n);
	}
}

const char *pyc__below_prefix(const char *prefix, const char *path,
			     size_t *len)
{
	struct span p = rstrip_slash(span_of(prefix));

	/* cache_from_source() joins the prefix without its trailing
	 * slashes, '/' and the rest; a prefix of slashes alone is '/'. */
	if (!p.n && prefix[0] == '/')
		p.n = 1;
	if (strncmp(path, p.p, p.n) != 0)
		return NULL;
	*len = p.n;
	if (p.n == 1 && p.p[0] == '/')
		return path + 1;
	if (path[p.n] != '/')
		return NULL;
	return path + p.n + 1;
}

char *pyc__pyc_identity(const char *prefix, const char *cwd, const char *pyc)
{
	struct buf b = { 0 };
	struct span s = span_of(pyc);
	const char *rel;
	size_t n;

	if (prefix && (rel = pyc__below_prefix(prefix, pyc, &n))) {
		/* The prefix as it is; below it, our own directories, never
		 * a symlink, so ".." is the parent. */
		pyc__buf_add(&b, prefix, n);
		add_components(&b, span_of(rel), b.len, true);
		return pyc__buf_detach(&b);
	}
	/* Beside the source: the directories are the user's, where a ".."
	 * after a symlink is not the lexical parent; only "." and empty
	 * components go, and a relative path is the current directory's. */
	if ((s.n && s.p[0] == '/') || cwd)
		pyc__buf_addc(&b, '/');
	if (!(s.n && s.p[0] == '/') && cwd)
		add_components(&b, span_of(cwd), 0, false);
	add_components(&b, s, 0, false);
	return pyc__buf_detach(&b);
}
