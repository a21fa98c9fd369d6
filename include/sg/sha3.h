/*
 * SHA-3 and SHAKE (FIPS 202): SHA3-256, SHA3-512, SHAKE128, SHAKE256.
 *
 * One context type serves all four. Absorb any number of times, then
 * squeeze any number of times (the first squeeze pads and finalises; absorbing
 * after that is a programming error and returns SG_ERR_STATE). ML-KEM and
 * ML-DSA rely on the repeated squeeze. Nothing here allocates; contexts
 * holding secret-derived state should be wiped with sg_keccak_wipe().
 */
#ifndef SG_SHA3_H
#define SG_SHA3_H

#include "common.h"

#define SG_SHA3_256_LEN 32
#define SG_SHA3_512_LEN 64
#define SG_SHAKE128_RATE 168
#define SG_SHAKE256_RATE 136
#define SG_SHA3_256_RATE 136
#define SG_SHA3_512_RATE 72

typedef struct sg_keccak {
	uint64_t s[25];
	unsigned pos;  /* bytes absorbed into / squeezed from the block */
	unsigned rate; /* bytes */
	uint8_t dsep;  /* domain separation + first pad bit: 0x06 or 0x1f */
	uint8_t squeezing;
} sg_keccak;

SG_API void sg_sha3_256_init(sg_keccak *ctx);
SG_API void sg_sha3_512_init(sg_keccak *ctx);
SG_API void sg_shake128_init(sg_keccak *ctx);
SG_API void sg_shake256_init(sg_keccak *ctx);

/* Absorbs len bytes. Returns 0, or SG_ERR_STATE after squeezing began. */
SG_API int sg_keccak_absorb(sg_keccak *ctx, const void *in, size_t len);

/* Writes the next len bytes of output. For SHA3-256/512 squeeze exactly the
 * digest length once (longer output is not SHA-3). */
SG_API void sg_keccak_squeeze(sg_keccak *ctx, uint8_t *out, size_t len);

SG_API void sg_keccak_wipe(sg_keccak *ctx);

/* One-shot forms. */
SG_API void sg_sha3_256(uint8_t out[SG_SHA3_256_LEN], const void *in,
			size_t len);
SG_API void sg_sha3_512(uint8_t out[SG_SHA3_512_LEN], const void *in,
			size_t len);
SG_API void sg_shake128(uint8_t *out, size_t out_len, const void *in,
			size_t len);
SG_API void sg_shake256(uint8_t *out, size_t out_len, const void *in,
			size_t len);

/* The bare permutation Keccak-f[1600] (FIPS 202 section 3.3, 24 rounds). */
SG_API void sg_keccak_f1600(uint64_t s[25]);

#endif
