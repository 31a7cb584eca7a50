/*
 * compileall_args.c - `python -m compileall`'s command line as its
 * argparse parser reads it, version by version, and what the
 * interpreter flags (--python-flag) make of the process.
 *
 * argparse is emulated, not approximated, where a script can see the
 * difference: which arguments are options (exact names, unique prefixes
 * of long names, "-qq" and "-j0" clusters, "--opt=value", negative
 * numbers and strings with a space being operands), that the operands
 * are one run (a second run is "unrecognized arguments"), Python's
 * int(), the errors (exit 2).  The usage text printed with an error is
 * ours, not argparse's.
 */
#include "cli.h"
#include "compileall.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int ca_strv_push(struct ca_strv *s, const char *str, size_t len)
{
	if (s->n + 1 >= s->alloc) {
		size_t na = s->alloc ? 2 * s->alloc : 16;
		char **v = realloc(s->v, na * sizeof(*v));
		if (!v)
			return -1;
		s->v = v;
		s->alloc = na;
	}
	if (!(s->v[s->n] = strndup(str, len)))
		return -1;
	s->v[++s->n] = NULL;
	return 0;
}

void ca_strv_release(struct ca_strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

void ca_args_release(struct ca_args *a)
{
	ca_strv_release(&a->dests);
	ca_strv_release(&a->pyflags);
}

enum opt_id {
	O_HELP, O_L, O_R, O_F, O_Q, O_B, O_D, O_S, O_P, O_X, O_I, O_J, O_INV,
	O_O, O_E, O_HARD, O_PY, O_PYFLAG,
};

/* In the order compileall's parser adds them (argparse lists ambiguous
 * matches in this order); ours last. */
static const struct optdef {
	const char *str;
	enum opt_id id;
	int nargs;
	unsigned since;
	const char *name;   /* as argparse names the action in errors */
} defs[] = {
	{ "-h", O_HELP, 0, 0x308, "-h/--help" },
	{ "--help", O_HELP, 0, 0x308, "-h/--help" },
	{ "-l", O_L, 0, 0x308, "-l" },
	{ "-r", O_R, 1, 0x308, "-r" },
	{ "-f", O_F, 0, 0x308, "-f" },
	{ "-q", O_Q, 0, 0x308, "-q" },
	{ "-b", O_B, 0, 0x308, "-b" },
	{ "-d", O_D, 1, 0x308, "-d" },
	{ "-s", O_S, 1, 0x309, "-s" },
	{ "-p", O_P, 1, 0x309, "-p" },
	{ "-x", O_X, 1, 0x308, "-x" },
	{ "-i", O_I, 1, 0x308, "-i" },
	{ "-j", O_J, 1, 0x308, "-j/--workers" },
	{ "--workers", O_J, 1, 0x308, "-j/--workers" },
	{ "--invalidation-mode", O_INV, 1, 0x308, "--invalidation-mode" },
	{ "-o", O_O, 1, 0x309, "-o" },
	{ "-e", O_E, 1, 0x309, "-e" },
	{ "--hardlink-dupes", O_HARD, 0, 0x309, "--hardlink-dupes" },
	{ "--python", O_PY, 1, 0, "--python" },
	{ "--python-flag", O_PYFLAG, 1, 0, "--python-flag" },
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

struct parser {
	unsigned hex;
	struct ca_args *a;
	int argc;
	char **argv;
	char *type;          /* per argument: 'O', 'A', or '-' for "--" */
	const struct optdef **def;
	const char **explicit;
	struct ca_strv extras;
	struct ca_strv tmp;  /* strings we made (explicit values) */
};

void ca_usage(FILE *f)
{
	fputs("usage: pycprefix compileall [-h] [--python PY] "
	      "[--python-flag FLAG]... [-l]\n"
	      "       [-r RECURSION] [-f] [-q] [-b] [-d DESTDIR] "
	      "[-s STRIPDIR] [-p PREPENDDIR]\n"
	      "       [-x REGEXP] [-i FILE] [-j WORKERS] "
	      "[--invalidation-mode MODE]\n"
	      "       [-o OPT_LEVELS] [-e DIR] [--hardlink-dupes] "
	      "[FILE|DIR ...]\n", f);
}

/* argparse's parser.error(): usage and the message on stderr, exit 2. */
static int perror_usage(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static int perror_usage(const char *fmt, ...)
{
	va_list ap;

	ca_usage(stderr);
	fputs("pycprefix compileall: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CA_USAGE;
}

static bool known(const struct parser *p, const struct optdef *d)
{
	return p->hex >= d->since;
}

static const struct optdef *exact(const struct parser *p, const char *s,
				  size_t len)
{
	for (size_t i = 0; i < NDEFS; i++)
		if (known(p, &defs[i]) && strlen(defs[i].str) == len &&
		    memcmp(defs[i].str, s, len) == 0)
			return &defs[i];
	return NULL;
}

static bool negative_number(const char *s)
{
	/* ^-\d+$|^-\d*\.\d+$ */
	const char *q = s + 1;
	size_t d1 = strspn(q, "0123456789");

	if (d1 && !q[d1])
		return true;
	if (q[d1] != '.')
		return false;
	q += d1 + 1;
	size_t d2 = strspn(q, "0123456789");
	return d2 && !q[d2];
}

/*
 * _parse_optional(): is argv[i] an option, and which?  Returns 1 with
 * *d (NULL: an unknown option, for the extras) and *explicit, 0 for an
 * operand, -1 after an ambiguity error.
 */
static int classify(struct parser *p, const char *s,
		    const struct optdef **d, const char **explicit)
{
	const struct optdef *match[NDEFS];
	const char *mexpl[NDEFS];
	size_t nm = 0;
	const char *eq;

	*d = NULL;
	*explicit = NULL;
	if (s[0] != '-')
		return 0;
	if ((*d = exact(p, s, strlen(s))))
		return 1;
	if (!s[1])
		return 0;
	if ((eq = strchr(s, '=')) && (*d = exact(p, s, (size_t)(eq - s)))) {
		*explicit = eq + 1;
		return 1;
	}
	if (s[1] == '-') {
		size_t plen = eq ? (size_t)(eq - s) : strlen(s);
		for (size_t i = 0; i < NDEFS; i++)
			if (known(p, &defs[i]) &&
			    strncmp(defs[i].str, s, plen) == 0) {
				match[nm] = &defs[i];
				mexpl[nm++] = eq ? eq + 1 : NULL;
			}
	} else {
		for (size_t i = 0; i < NDEFS; i++) {
			if (!known(p, &defs[i]))
				continue;
			if (strlen(defs[i].str) == 2 &&
			    strncmp(defs[i].str, s, 2) == 0) {
				match[nm] = &defs[i];
				mexpl[nm++] = s + 2;
			} else if (strncmp(defs[i].str, s, strlen(s)) == 0) {
				match[nm] = &defs[i];
				mexpl[nm++] = NULL;
			}
		}
	}
	if (nm > 1) {
		ca_usage(stderr);
		fprintf(stderr, "pycprefix compileall: error: ambiguous "
			"option: %.*s could match ",
			(int)(eq && s[1] == '-' ? (size_t)(eq - s) : strlen(s)),
			s);
		for (size_t i = 0; i < nm; i++)
			fprintf(stderr, "%s%s", i ? ", " : "", match[i]->str);
		fputc('\n', stderr);
		return -1;
	}
	if (nm == 1) {
		*d = match[0];
		*explicit = mexpl[0];
		return 1;
	}
	if (negative_number(s) || strchr(s, ' '))
		return 0;
	return 1; /* an option no one knows */
}

int ca_py_int(const char *s, long *out)
{
	const char *ws = " \t\n\v\f\r\x1c\x1d\x1e\x1f";
	const char *q = s + strspn(s, ws);
	const char *end = s + strlen(s);
	bool neg = false, digit = false;
	long v = 0;

	while (end > q && strchr(ws, end[-1]))
		end--;
	if (q < end && (*q == '+' || *q == '-'))
		neg = *q++ == '-';
	for (; q < end; q++) {
		if (*q == '_') {
			/* between two digits only */
			if (!digit || q + 1 >= end || !isdigit((unsigned char)q[1]))
				return -1;
			continue;
		}
		if (!isdigit((unsigned char)*q))
			return -1;
		digit = true;
		if (v < LONG_MAX / 10)
			v = v * 10 + (*q - '0');
		else
			v = LONG_MAX; /* Python's are unbounded; ours saturate */
	}
	if (!digit)
		return -1;
	*out = neg ? -v : v;
	return 0;
}

static int bad_int(const struct optdef *d, const char *v)
{
	char *r = pyc_py_repr(v, strlen(v), NULL);
	int ret = perror_usage("argument %s: invalid int value: %s", d->name,
			       r ? r : v);

	free(r);
	return ret;
}

/* -o n: counted as argparse appends it, kept once (sorted(set()) is all
 * compileall makes of the values). */
static int add_opt(struct ca_args *a, long n)
{
	a->nopt_given++;
	for (int k = 0; k < a->nopt; k++)
		if (a->opt[k] == n)
			return CA_OK;
	if (a->nopt == CA_MAX_OPT)
		return perror_usage("argument -o: more than %d different "
				    "levels", CA_MAX_OPT);
	a->opt[a->nopt++] = n;
	return CA_OK;
}

static int apply(struct parser *p, const struct optdef *d, const char *v)
{
	struct ca_args *a = p->a;
	long n;

	switch (d->id) {
	case O_HELP:
		return CA_HELP;
	case O_L: a->l = true; break;
	case O_F: a->force = true; break;
	case O_Q: a->quiet++; break;
	case O_B: a->legacy = true; break;
	case O_HARD: a->hardlink = true; break;
	case O_D: a->ddir = v; break;
	case O_S: a->stripdir = v; break;
	case O_P: a->prependdir = v; break;
	case O_X: a->rx = v; break;
	case O_I: a->flist = v; break;
	case O_E: a->limit = v; break;
	case O_PY: a->python = v; break;
	case O_PYFLAG:
		if (ca_strv_push(&a->pyflags, v, strlen(v)) < 0)
			return perror_usage("out of memory");
		break;
	case O_R:
	case O_J:
	case O_O:
		if (ca_py_int(v, &n) < 0)
			return bad_int(d, v);
		if (d->id == O_R) {
			a->recursion = n;
			a->has_recursion = true;
		} else if (d->id == O_J) {
			a->workers = n;
		} else {
			return add_opt(a, n);
		}
		break;
	case O_INV:
		if (strcmp(v, "checked-hash") && strcmp(v, "timestamp") &&
		    strcmp(v, "unchecked-hash")) {
			char *r = pyc_py_repr(v, strlen(v), NULL);
			int ret = perror_usage(
				"argument --invalidation-mode: invalid choice: "
				"%s (choose from 'checked-hash', 'timestamp', "
				"'unchecked-hash')", r ? r : v);
			free(r);
			return ret;
		}
		a->inv = v;
		break;
	}
	return CA_OK;
}

/* consume_optional(): the option at argv[*i] and its value. */
static int consume_optional(struct parser *p, int *i)
{
	const struct optdef *d = p->def[*i];
	const char *explicit = p->explicit[*i];
	int ret;

	if (!d) {
		if (ca_strv_push(&p->extras, p->argv[*i],
				 strlen(p->argv[*i])) < 0)
			return perror_usage("out of memory");
		(*i)++;
		return CA_OK;
	}
	for (;;) {
		if (!explicit) {
			if (d->nargs == 0) {
				(*i)++;
				return apply(p, d, NULL);
			}
			/* ours take the next word whatever it looks like
			 * ("--python-flag -O"); argparse's the next operand */
			bool ours = d->id == O_PY || d->id == O_PYFLAG;
			if (*i + 1 >= p->argc ||
			    (!ours && p->type[*i + 1] != 'A'))
				return perror_usage("argument %s: expected one "
						    "argument", d->name);
			*i += 2;
			return apply(p, d, p->argv[*i - 1]);
		}
		if (d->nargs == 1) {
			(*i)++;
			return apply(p, d, explicit);
		}
		/* a flag with something attached: "-qq", "-lf" */
		if (d->str[1] != '-' && explicit[0]) {
			char s[3] = { '-', explicit[0], 0 };
			const struct optdef *next = exact(p, s, 2);
			if ((ret = apply(p, d, NULL)) != CA_OK)
				return ret;
			if (next) {
				d = next;
				explicit = explicit[1] ? explicit + 1 : NULL;
				continue;
			}
		}
		char *r = pyc_py_repr(explicit, strlen(explicit), NULL);
		ret = perror_usage("argument %s: ignored explicit argument %s",
				   d->name, r ? r : explicit);
		free(r);
		return ret;
	}
}

/* The run of operands at argv[*i]: the positional's, once; later runs
 * are extras.  The first "--" in it is dropped, as argparse drops it. */
static int consume_positionals(struct parser *p, int *i, bool *taken)
{
	bool dropped = false;

	for (; *i < p->argc && p->type[*i] != 'O'; (*i)++) {
		const char *s = p->argv[*i];
		struct ca_strv *to = *taken ? &p->extras : &p->a->dests;
		if (!*taken && !dropped && p->type[*i] == '-') {
			dropped = true;
			continue;
		}
		if (ca_strv_push(to, s, strlen(s)) < 0)
			return perror_usage("out of memory");
	}
	*taken = true;
	return CA_OK;
}

/* parser.error() naming every extra argument, space-separated. */
static int unrecognized(const struct ca_strv *extras)
{
	size_t len = 0, off = 0;
	char *all;
	int ret;

	for (size_t k = 0; k < extras->n; k++)
		len += strlen(extras->v[k]) + 1;
	if (!(all = malloc(len)))
		return perror_usage("out of memory");
	for (size_t k = 0; k < extras->n; k++) {
		size_t n = strlen(extras->v[k]);
		if (k)
			all[off++] = ' ';
		memcpy(all + off, extras->v[k], n);
		off += n;
	}
	all[off] = '\0';
	ret = perror_usage("unrecognized arguments: %s", all);
	free(all);
	return ret;
}

static int parse_args(struct parser *p)
{
	bool dashdash = false, taken = false;
	int ret = CA_OK;

	for (int i = 1; i < p->argc; i++) {
		if (dashdash) {
			p->type[i] = 'A';
		} else if (strcmp(p->argv[i], "--") == 0) {
			p->type[i] = '-';
			dashdash = true;
		} else {
			int c = classify(p, p->argv[i], &p->def[i],
					 &p->explicit[i]);
			if (c < 0)
				return CA_USAGE;
			p->type[i] = c ? 'O' : 'A';
		}
	}
	for (int i = 1; i < p->argc && ret == CA_OK;)
		ret = p->type[i] == 'O' ? consume_optional(p, &i)
					: consume_positionals(p, &i, &taken);
	if (ret == CA_OK && p->extras.n)
		ret = unrecognized(&p->extras);
	return ret;
}

/* compileall's checks after parse_args(), parser.error() each. */
static int check_args(unsigned hex, const struct ca_args *a)
{
	if (hex < 0x309)
		return CA_OK;
	if (a->hardlink && a->nopt_given <= 1)
		return perror_usage("Hardlinking of duplicated bytecode makes "
				    "sense only for more than one "
				    "optimization level.");
	if (a->ddir && (a->stripdir || a->prependdir))
		return perror_usage("-d cannot be used in combination with -s "
				    "or -p");
	return CA_OK;
}

int ca_parse(int argc, char **argv, unsigned hex, struct ca_args *a)
{
	struct parser p = { .hex = hex, .a = a, .argc = argc, .argv = argv };
	int ret;

	a->workers = 1;
	p.type = calloc((size_t)argc + 1, 1);
	p.def = calloc((size_t)argc + 1, sizeof(*p.def));
	p.explicit = calloc((size_t)argc + 1, sizeof(*p.explicit));
	if (!p.type || !p.def || !p.explicit)
		ret = perror_usage("out of memory");
	else
		ret = parse_args(&p);
	if (ret == CA_OK)
		ret = check_args(hex, a);
	free(p.type);
	free(p.def);
	free(p.explicit);
	ca_strv_release(&p.extras);
	ca_strv_release(&p.tmp);
	return ret;
}

const char *ca_find_python(int argc, char **argv)
{
	const char *py = NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--python") == 0 && i + 1 < argc)
			py = argv[++i];
		else if (strncmp(argv[i], "--python=", 9) == 0)
			py = argv[i] + 9;
		else if (strcmp(argv[i], "--python-flag") == 0 ||
			 strncmp(argv[i], "--python-f", 10) == 0)
			i += !strchr(argv[i], '=');
	}
	return py;
}

/* ---- interpreter flags ---- */

/* CPython's reading of PYTHONOPTIMIZE: a number, anything else (or a
 * negative one) 1; unset or empty 0. */
static int env_level(const char *name)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !v[0])
		return 0;
	n = strtol(v, &end, 10);
	if (*end || end == v || n < 0 || n > INT_MAX)
		return 1;
	return (int)n;
}

static int bad_flag(const char *f, const char *why)
{
	return cli_error("--python-flag '%s': %s", f, why);
}

/* One --python-flag: "-O", "-OO", "-E", "-I", "-Xname=value",
 * "-X name=value", "-Wdefault"... */
static int read_flag(const char *f, unsigned hex, int *nopt, bool *env_off,
		     bool *safe, const char **xprefix, bool *xseen)
{
	if (f[0] != '-' || !f[1])
		return bad_flag(f, "not an interpreter option");
	if (f[1] == '-')
		return 0; /* --check-hash-based-pycs and the like: no effect */
	for (const char *c = f + 1; *c; c++) {
		switch (*c) {
		case 'O': (*nopt)++; break;
		case 'E': *env_off = true; break;
		case 'I': *env_off = true; *safe = true; break;
		case 'P':
			if (hex < 0x30B)
				return bad_flag(f, "-P is Python 3.11's");
			*safe = true;
			break;
		case 's': case 'S': case 'B': case 'b': case 'd': case 'u':
		case 'v': case 'q': case 'R': case 'i':
			break;
		case 'X': case 'W': {
			const char *arg = c[1] == ' ' ? c + 2 : c + 1;
			if (!*arg)
				return bad_flag(f, "it needs its argument in "
						"the same word");
			if (*c == 'X' && !*xseen &&
			    strncmp(arg, "pycache_prefix", 14) == 0 &&
			    (!arg[14] || arg[14] == '=')) {
				*xseen = true; /* the first one counts */
				*xprefix = arg[14] && arg[15] ? arg + 15 : NULL;
			}
			return 0;
		}
		default:
			return bad_flag(f, "not an option this command can "
					"pass on");
		}
	}
	return 0;
}

int ca_interp_cfg(const struct ca_strv *flags, unsigned hex,
		  struct ca_interp_cfg *cfg)
{
	int nopt = 0, envopt;
	bool env_off = false, safe = false, xseen = false;
	const char *xprefix = NULL, *e;

	for (size_t i = 0; i < flags->n; i++)
		if (read_flag(flags->v[i], hex, &nopt, &env_off, &safe,
			      &xprefix, &xseen) < 0)
			return -1;
	envopt = env_off ? 0 : env_level("PYTHONOPTIMIZE");
	*cfg = (struct ca_interp_cfg){
		.optimize = nopt > envopt ? nopt : envopt,
		.ignore_env = env_off,
		.safe_path = safe,
	};
	if (xseen)
		cfg->prefix = xprefix;
	else if (!env_off && (e = getenv("PYTHONPYCACHEPREFIX")) && e[0])
		cfg->prefix = e;
	if (!env_off && hex >= 0x30B && (e = getenv("PYTHONSAFEPATH")) && e[0])
		cfg->safe_path = true;
	return 0;
}
