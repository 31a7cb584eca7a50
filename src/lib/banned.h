/*
 * banned.h - functions the compiler refuses in pycprefix's sources.
 *
 * Every object under src/ is compiled with -include banned.h (see the
 * Makefile), so a call to one of these is an error naming the function,
 * as git's banned.h does.  Their replacements: snprintf() (whose result
 * tells when it truncated) or the library's growable buffer for strcpy,
 * strcat, strncpy, strncat, sprintf and vsprintf; strcspn()/strchr() or a
 * copy for strtok, which keeps hidden state and writes into its input;
 * nothing for gets.
 *
 * The system headers that declare them are included first, so that their
 * declarations (and fortified wrappers) are read before the names become
 * macros.
 */
#ifndef PYC_BANNED_H
#define PYC_BANNED_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef strtok_r
#define strtok_r(x, y, z) BANNED(strtok_r)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef gets
#define gets(x) BANNED(gets)

#endif
