/*
 * error.c - the one way the library words a failure: one line into the
 * caller's optional struct pyc_error, errno kept or set.
 */
#include "pycprefix.h"
#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

static void vset(struct pyc_error *err, const char *fmt, va_list ap)
{
	int saved = errno;

	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	errno = saved;
}

void pyc__set_error(struct pyc_error *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vset(err, fmt, ap);
	va_end(ap);
}

int pyc__error(struct pyc_error *err, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vset(err, fmt, ap);
		va_end(ap);
	}
	errno = errnum;
	return -1;
}
