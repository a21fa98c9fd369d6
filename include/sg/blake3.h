/*
 * BLAKE3: hash, keyed hash, derive-key and extendable output.
 *
 * A thin layer over the official BLAKE3 C implementation (as Debian ships it
 * in librust-blake3-dev), compiled into this library with its SIMD paths and
 * kept out of the exported symbols. Every derive-key use in saorsa-gossip has
 * its own context string (docs/PROTOCOL.md lists them).
 */
#ifndef SG_BLAKE3_H
#define SG_BLAKE3_H

#include "common.h"

#define SG_BLAKE3_LEN 32
#define SG_BLAKE3_KEY_LEN 32

/* Opaque storage for the official hasher; large enough and aligned for it
 * (checked at compile time inside the library). */
typedef struct sg_blake3_hasher {
	uint64_t opaque[240];
} sg_blake3_hasher;

SG_API void sg_blake3_init(sg_blake3_hasher *h);
SG_API void sg_blake3_init_keyed(sg_blake3_hasher *h,
				 const uint8_t key[SG_BLAKE3_KEY_LEN]);
/* context: a NUL-terminated, hard-coded, globally unique string. */
SG_API void sg_blake3_init_derive_key(sg_blake3_hasher *h, const char *context);
SG_API void sg_blake3_update(sg_blake3_hasher *h, const void *in, size_t len);
/* May be called repeatedly; does not change the hasher. */
SG_API void sg_blake3_final(const sg_blake3_hasher *h, uint8_t *out, size_t out_len);
/* Output starting at byte offset seek of the extended output. */
SG_API void sg_blake3_final_seek(const sg_blake3_hasher *h, uint64_t seek,
				 uint8_t *out, size_t out_len);
SG_API void sg_blake3_wipe(sg_blake3_hasher *h);

/* One-shot forms. */
SG_API void sg_blake3(uint8_t out[SG_BLAKE3_LEN], const void *in, size_t len);
SG_API void sg_blake3_keyed(uint8_t out[SG_BLAKE3_LEN],
			    const uint8_t key[SG_BLAKE3_KEY_LEN],
			    const void *in, size_t len);
SG_API void sg_blake3_derive_key(uint8_t *out, size_t out_len,
				 const char *context, const void *in,
				 size_t len);

/* Which SIMD width the running CPU selected ("avx512", "avx2", "sse" or
 * "portable"), for benchmarks. */
SG_API const char *sg_blake3_simd(void);

#endif
