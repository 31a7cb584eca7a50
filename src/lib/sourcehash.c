/*
 * sourcehash.c - importlib.util.source_hash(): CPython's _Py_KeyedHash,
 * SipHash keyed with k0 = the magic bytes read as a little-endian integer
 * and k1 = 0: SipHash-2-4 up to 3.10, SipHash-1-3 from 3.11 on (when
 * CPython moved its string hash to 1-3, _Py_KeyedHash followed).  The
 * probe checks the variant against each interpreter.  (SipHash:
 * Aumasson and Bernstein, 2012.)
 */
#include "pycprefix.h"

#include <stdbool.h>
#include <string.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

struct sip {
	uint64_t v0, v1, v2, v3;
};

static void sip_round(struct sip *s)
{
	s->v0 += s->v1;
	s->v1 = ROTL(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = ROTL(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = ROTL(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = ROTL(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = ROTL(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = ROTL(s->v2, 32);
}

static uint64_t get_u64le(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void sip_compress(struct sip *s, uint64_t m, int crounds)
{
	s->v3 ^= m;
	for (int i = 0; i < crounds; i++)
		sip_round(s);
	s->v0 ^= m;
}

/* SipHash-c-d of p[0..len). */
static uint64_t siphash(int crounds, int drounds, uint64_t k0, uint64_t k1,
			const unsigned char *p, size_t len)
{
	struct sip s = {
		k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL,
		k0 ^ 0x6c7967656e657261ULL, k1 ^ 0x7465646279746573ULL,
	};
	uint64_t last = (uint64_t)(len & 0xff) << 56;
	size_t tail = len & 7;

	for (; len >= 8; len -= 8, p += 8)
		sip_compress(&s, get_u64le(p), crounds);
	for (size_t i = 0; i < tail; i++)
		last |= (uint64_t)p[i] << (8 * i);
	sip_compress(&s, last, crounds);
	s.v2 ^= 0xff;
	for (int i = 0; i < drounds; i++)
		sip_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

void pyc_source_hash(uint16_t magic, const void *data, size_t len,
		     unsigned char out[8])
{
	/* _RAW_MAGIC_NUMBER: int.from_bytes(MAGIC_NUMBER, 'little'). */
	uint64_t key = (uint64_t)magic | (uint64_t)'\r' << 16 |
		       (uint64_t)'\n' << 24;
	/* Magic numbers only grow: 3.11's first one (3450, alpha 1) and up
	 * use SipHash-1-3. */
	bool v13 = magic >= PYC_MAGIC_SIPHASH13;
	uint64_t h = siphash(v13 ? 1 : 2, v13 ? 3 : 4, key, 0, data, len);

	/* _imp.source_hash returns the uint64's bytes in native order. */
	memcpy(out, &h, sizeof(h));
}
