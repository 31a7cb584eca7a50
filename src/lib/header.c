/*
 * header.c - the 16-byte pyc header (PEP 552) and release magic numbers.
 */
#include "pycprefix.h"
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Final release magic numbers: MAGIC_NUMBER of each 3.x.0 onwards.  A
 * minor series keeps its magic through its bugfix releases.  3.8 to 3.13
 * are checked against the installed interpreters by the test suite; 3.14
 * (3627) is from CPython's release notes, with no 3.14 here to ask. */
static const struct {
	uint16_t magic;
	int minor;
	const char *name;
	const char *unidata;
} release_magic[] = {
	{ 3413, 8, "3.8", "12.1.0" },   { 3425, 9, "3.9", "13.0.0" },
	{ 3439, 10, "3.10", "13.0.0" }, { 3495, 11, "3.11", "14.0.0" },
	{ 3531, 12, "3.12", "15.0.0" }, { 3571, 13, "3.13", "15.1.0" },
	{ 3627, 14, "3.14", "16.0.0" },
};

#define NMAGIC (sizeof(release_magic) / sizeof(release_magic[0]))

const char *pyc_magic_version(uint16_t magic)
{
	for (size_t i = 0; i < NMAGIC; i++)
		if (release_magic[i].magic == magic)
			return release_magic[i].name;
	return NULL;
}

/* The magic numbers each series used, first to last, as listed in
 * importlib/_bootstrap_external.py (3.13).  2.7, 3.6 and 3.7 are checked
 * against installed interpreters by the test suite. */
static const struct {
	uint16_t lo, hi;
	const char *name;
} series_magic[] = {
	{ 20121, 20121, "1.5" }, { 50428, 50428, "1.6" },
	{ 50823, 50823, "2.0" }, { 60202, 60202, "2.1" },
	{ 60717, 60717, "2.2" }, { 62011, 62021, "2.3" },
	{ 62041, 62061, "2.4" }, { 62071, 62131, "2.5" },
	{ 62151, 62161, "2.6" }, { 62171, 62211, "2.7" },
	{ 3000, 3131, "3.0" },   { 3141, 3151, "3.1" },
	{ 3160, 3180, "3.2" },   { 3190, 3230, "3.3" },
	{ 3250, 3310, "3.4" },   { 3320, 3351, "3.5" },
	{ 3360, 3379, "3.6" },   { 3390, 3394, "3.7" },
	{ 3400, 3413, "3.8" },   { 3420, 3425, "3.9" },
	{ 3430, 3439, "3.10" },  { 3450, 3495, "3.11" },
	{ 3500, 3531, "3.12" },  { 3550, 3571, "3.13" },
	{ 3600, 3627, "3.14" },
};

const char *pyc_magic_series(uint16_t magic)
{
	for (size_t i = 0; i < sizeof(series_magic) / sizeof(series_magic[0]);
	     i++)
		if (magic >= series_magic[i].lo && magic <= series_magic[i].hi)
			return series_magic[i].name;
	return NULL;
}

uint16_t pyc_magic_of_version(int major, int minor)
{
	for (size_t i = 0; major == 3 && i < NMAGIC; i++)
		if (release_magic[i].minor == minor)
			return release_magic[i].magic;
	return 0;
}


enum pyc_header_status pyc_header_parse(const unsigned char *data, size_t len,
					uint16_t expect, struct pyc_header *h)
{
	memset(h, 0, sizeof(*h));
	if (len >= 4) {
		h->magic = (uint16_t)(data[0] | data[1] << 8);
		h->magic_ok = data[2] == '\r' && data[3] == '\n';
	}
	if (len >= 8)
		h->flags = pyc__get_u32le(data + 4);
	if (len >= 16) {
		h->mtime = pyc__get_u32le(data + 8);
		h->size = pyc__get_u32le(data + 12);
		memcpy(h->hash, data + 8, 8);
	}
	/* _classify_pyc: the magic first (data[:4] != MAGIC_NUMBER), so a
	 * file shorter than 4 bytes is a bad magic, not a truncation. */
	if (len < 4 || !h->magic_ok || (expect && h->magic != expect))
		return PYC_HEADER_BAD_MAGIC;
	if (len < PYC_HEADER_SIZE)
		return PYC_HEADER_TRUNCATED;
	if (h->flags & ~(uint32_t)(PYC_FLAG_HASH | PYC_FLAG_CHECK_SOURCE))
		return PYC_HEADER_BAD_FLAGS;
	return PYC_HEADER_OK;
}

void pyc_header_build(unsigned char out[PYC_HEADER_SIZE], uint16_t magic,
		      enum pyc_invalidation mode, int64_t mtime, uint64_t size,
		      const unsigned char hash[8])
{
	uint32_t flags = 0;

	out[0] = (unsigned char)magic;
	out[1] = (unsigned char)(magic >> 8);
	out[2] = '\r';
	out[3] = '\n';
	if (mode != PYC_INV_TIMESTAMP)
		flags = PYC_FLAG_HASH;
	if (mode == PYC_INV_CHECKED_HASH)
		flags |= PYC_FLAG_CHECK_SOURCE;
	pyc__put_u32le(out + 4, flags);
	if (mode == PYC_INV_TIMESTAMP) {
		/* _pack_uint32: int(x) & 0xFFFFFFFF, two's complement. */
		pyc__put_u32le(out + 8, (uint32_t)(uint64_t)mtime);
		pyc__put_u32le(out + 12, (uint32_t)size);
	} else {
		memcpy(out + 8, hash, 8);
	}
}

enum pyc_invalidation pyc_header_mode(const struct pyc_header *h)
{
	if (!(h->flags & PYC_FLAG_HASH))
		return PYC_INV_TIMESTAMP;
	return h->flags & PYC_FLAG_CHECK_SOURCE ? PYC_INV_CHECKED_HASH
						: PYC_INV_UNCHECKED_HASH;
}

static const char *const inv_names[] = {
	[PYC_INV_TIMESTAMP] = "timestamp",
	[PYC_INV_CHECKED_HASH] = "checked-hash",
	[PYC_INV_UNCHECKED_HASH] = "unchecked-hash",
};

const char *pyc_invalidation_name(enum pyc_invalidation mode)
{
	return inv_names[mode];
}

int pyc_invalidation_parse(const char *name, enum pyc_invalidation *mode)
{
	for (int i = 0; i < 3; i++) {
		if (strcmp(name, inv_names[i]) == 0) {
			*mode = (enum pyc_invalidation)i;
			return 0;
		}
	}
	errno = EINVAL;
	return -1;
}

int64_t pyc_py_mtime(int64_t sec, long nsec)
{
	/* posixmodule.c fill_time(): PyFloat_FromDouble(sec + nsec * 1e-9);
	 * importlib then takes int() of it, which truncates toward zero. */
	double f = (double)sec + (double)nsec * 1e-9;

	return (int64_t)trunc(f);
}

int pyc_interp_from_tag(const char *tag, struct pyc_interp *in)
{
	char want[32];

	memset(in, 0, sizeof(*in));
	for (size_t i = 0; i < NMAGIC; i++) {
		snprintf(want, sizeof(want), "cpython-3%d",
			 release_magic[i].minor);
		if (strcmp(tag, want) != 0)
			continue;
		in->major = 3;
		in->minor = release_magic[i].minor;
		in->magic = release_magic[i].magic;
		snprintf(in->level, sizeof(in->level), "final");
		in->impl = strdup("cpython");
		in->tag = strdup(tag);
		in->unidata = strdup(release_magic[i].unidata);
		if (!in->impl || !in->tag || !in->unidata) {
			pyc_interp_release(in);
			errno = ENOMEM;
			return -1;
		}
		return 0;
	}
	errno = EINVAL;
	return -1;
}
