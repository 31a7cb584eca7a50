/*
 * audit.c - pyc_audit(): what doctor reports of the prefix.
 */
#include "pycprefix.h"
#include "buf.h"
#include "compat.h"
#include "internal.h"
#include "tidy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- audit ---- */

static void audit_report(struct tidy *t, enum pyc_audit_kind kind,
			 const char *path, const struct stat *st)
{
	struct pyc_audit_item it = { kind, path, st };

	if (t->audit->finding)
		t->audit->finding(&it, t->audit->arg);
}

static void audit_entry(struct tidy *t, const char *path,
			const struct stat *st)
{
	const char *base = strrchr(path, '/');

	if (S_ISLNK(st->st_mode))
		audit_report(t, PYC_AUDIT_SYMLINK, path, st);
	if (st->st_uid != t->uid && st->st_uid != 0)
		audit_report(t, PYC_AUDIT_FOREIGN, path, st);
	else if (S_ISDIR(st->st_mode) &&
		 pyc_trust_stat(st, t->uid) != PYC_TRUST_OK)
		audit_report(t, PYC_AUDIT_OPEN_DIR, path, st);
	if (S_ISREG(st->st_mode) && pyc_is_temp_name(base ? base + 1 : path))
		audit_report(t, PYC_AUDIT_TEMP, path, st);
}

static void audit_file(struct tidy *t, int dfd, const char *name,
		       const char *path, const struct stat *st)
{
	if (t->audit->pyc)
		du_file(t, dfd, name, path, st);
}

static void audit_error(const char *path, const char *message, void *arg)
{
	const struct pyc_audit_ops *ops = arg;

	if (ops->error)
		ops->error(path, message, ops->arg);
}

int pyc_audit(const char *prefix, const struct pyc_audit_ops *ops,
	      struct pyc_tidy_stats *st)
{
	struct pyc_tidy_opts o = { .prefix = prefix, .error = audit_error,
				   .arg = (void *)ops };
	char cwdbuf[PATH_MAX];
	struct tidy t;
	int ret;

	setup(&t, &o, st, audit_file, cwdbuf);
	t.entry = audit_entry;
	t.audit = ops;
	t.uid = geteuid();
	t.du = ops->pyc;
	t.du_arg = ops->arg;
	t.prefix_len = strlen(prefix);
	ret = walk_from(&t, prefix);
	tidy_release(&t);
	return ret;
}
