/*
 * fresh.c - would SourceFileLoader.get_code() use this pyc?
 *
 * The order of the tests is importlib's: _classify_pyc() (magic, length,
 * flags), then for hash-based pycs the source hash when
 * --check-hash-based-pycs and the check_source flag ask for it, else
 * _validate_timestamp_pyc() (mtime, then size, each modulo 2**32).
 * Anything that fails there makes Python recompile and rewrite the pyc.
 */
#include "pycprefix.h"
#include "compat.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const state_names[] = {
	[PYC_FRESH] = "fresh",
	[PYC_STALE] = "stale",
	[PYC_MISSING] = "missing",
	[PYC_NEED_HASH] = "unknown",
};

const char *pyc_state_name(enum pyc_state st)
{
	return state_names[st];
}

static const char *const reason_texts[] = {
	[PYC_WHY_NONE] = "",
	[PYC_WHY_TIMESTAMP_OK] = "source mtime and size match",
	[PYC_WHY_HASH_OK] = "source hash matches",
	[PYC_WHY_UNCHECKED] = "unchecked hash: Python does not look at the source",
	[PYC_WHY_NO_PYC] = "no pyc",
	[PYC_WHY_MAGIC] = "magic number is not this interpreter's",
	[PYC_WHY_TRUNCATED] = "header is truncated",
	[PYC_WHY_FLAGS] = "invalid flags",
	[PYC_WHY_MTIME] = "source mtime differs",
	[PYC_WHY_SIZE] = "source size differs",
	[PYC_WHY_HASH] = "source hash differs",
	[PYC_WHY_NOT_REGULAR] = "not a regular file",
};

const char *pyc_reason_text(enum pyc_reason why)
{
	return reason_texts[why];
}

int pyc_check_mode_parse(const char *name, enum pyc_check_mode *mode)
{
	static const char *const names[] = { "default", "always", "never" };

	for (int i = 0; i < 3; i++) {
		if (strcmp(name, names[i]) == 0) {
			*mode = (enum pyc_check_mode)i;
			return 0;
		}
	}
	errno = EINVAL;
	return -1;
}

static struct pyc_verdict verdict(enum pyc_state st, enum pyc_reason why)
{
	return (struct pyc_verdict){ .state = st, .why = why };
}

static struct pyc_verdict verdict_of(enum pyc_state st, enum pyc_reason why,
				     const struct pyc_header *h)
{
	struct pyc_verdict v = verdict(st, why);

	v.kind = pyc_header_mode(h);
	return v;
}

/* Does Python compare the source hash for a hash pyc with these flags? */
static bool python_checks_hash(enum pyc_check_mode mode, uint32_t flags)
{
	bool check_source = flags & PYC_FLAG_CHECK_SOURCE;

	return mode != PYC_CHECK_NEVER &&
	       (check_source || mode == PYC_CHECK_ALWAYS);
}

struct pyc_verdict pyc_judge_header(uint16_t magic, enum pyc_check_mode mode,
				    const unsigned char *data, size_t len,
				    const struct pyc_source_stat *src,
				    unsigned flags)
{
	struct pyc_header h;
	uint32_t mtime;

	if (!data)
		return verdict(PYC_MISSING, PYC_WHY_NO_PYC);
	switch (pyc_header_parse(data, len, magic, &h)) {
	case PYC_HEADER_BAD_MAGIC:
		return verdict(PYC_STALE, PYC_WHY_MAGIC);
	case PYC_HEADER_TRUNCATED:
		return verdict(PYC_STALE, PYC_WHY_TRUNCATED);
	case PYC_HEADER_BAD_FLAGS:
		return verdict(PYC_STALE, PYC_WHY_FLAGS);
	case PYC_HEADER_OK:
		break;
	}
	if (h.flags & PYC_FLAG_HASH) {
		if (python_checks_hash(mode, h.flags) ||
		    (flags & PYC_JUDGE_VERIFY_UNCHECKED))
			return verdict_of(PYC_NEED_HASH, PYC_WHY_NONE, &h);
		return verdict_of(PYC_FRESH, PYC_WHY_UNCHECKED, &h);
	}
	mtime = (uint32_t)(uint64_t)pyc_py_mtime(src->mtime_sec,
						 src->mtime_nsec);
	if (h.mtime != mtime)
		return verdict_of(PYC_STALE, PYC_WHY_MTIME, &h);
	if (h.size != (uint32_t)src->size)
		return verdict_of(PYC_STALE, PYC_WHY_SIZE, &h);
	return verdict_of(PYC_FRESH, PYC_WHY_TIMESTAMP_OK, &h);
}

struct pyc_verdict pyc_judge_hash(enum pyc_check_mode mode,
				  const unsigned char *data,
				  const unsigned char hash[8])
{
	struct pyc_verdict v;
	struct pyc_header h = { .flags = pyc__get_u32le(data + 4) };
	bool same = memcmp(data + 8, hash, 8) == 0;

	if (python_checks_hash(mode, h.flags))
		return same ? verdict_of(PYC_FRESH, PYC_WHY_HASH_OK, &h)
			    : verdict_of(PYC_STALE, PYC_WHY_HASH, &h);
	v = verdict_of(PYC_FRESH, PYC_WHY_UNCHECKED, &h);
	v.unchecked_changed = !same;
	return v;
}

/* Hash a whole file as Python's get_data() reads it. */
static int hash_file(uint16_t magic, const char *path, unsigned char out[8])
{
	size_t len;
	char *data = pyc__read_file(path, &len);

	if (!data)
		return -1;
	pyc_source_hash(magic, data, len, out);
	free(data);
	return 0;
}

struct pyc_source_stat pyc__source_stat_of(const struct stat *st)
{
	return (struct pyc_source_stat){ (int64_t)PYC_ST_MTIM(st).tv_sec,
					 PYC_ST_MTIM(st).tv_nsec,
					 (uint64_t)st->st_size };
}

/* The first 16 bytes of the pyc, read without counting as a use; -1 when
 * there is no readable pyc. */
static ssize_t read_head(int dfd, const char *pyc,
			 unsigned char head[PYC_HEADER_SIZE])
{
	ssize_t len;
	int fd = pyc__open_noatime(dfd, pyc, 0);

	if (fd < 0)
		return -1;
	len = pyc__read_full(fd, head, PYC_HEADER_SIZE);
	close(fd);
	return len;
}

int pyc_judge_files(const struct pyc_interp *in, enum pyc_check_mode mode,
		    const char *source, const struct pyc_source_stat *src,
		    int dfd, const char *pyc, unsigned flags,
		    struct pyc_verdict *v)
{
	struct stat st;
	struct pyc_source_stat own;
	unsigned char head[PYC_HEADER_SIZE], hash[8];
	ssize_t len;

	if (!src) {
		if (stat(source, &st) < 0)
			return -1;
		own = pyc__source_stat_of(&st);
		src = &own;
	}
	len = read_head(dfd, pyc, head);
	if (len < 0 && errno == PYC_ENOTREG) {
		*v = (struct pyc_verdict){ .state = PYC_MISSING,
					   .why = PYC_WHY_NOT_REGULAR };
		return 0;
	}
	*v = pyc_judge_header(in->magic, mode, len < 0 ? NULL : head,
			      len < 0 ? 0 : (size_t)len, src, flags);
	if (v->state != PYC_NEED_HASH)
		return 0;
	if (hash_file(in->magic, source, hash) < 0)
		return -1;
	*v = pyc_judge_hash(mode, head, hash);
	return 0;
}
