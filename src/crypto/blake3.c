/*
 * sg_blake3_*: glue over the official BLAKE3 C implementation. Its own
 * blake3_* symbols are compiled with hidden visibility and are not part of
 * our ABI.
 */
#include "sg/blake3.h"
#include "sg/env.h"

#include <blake3.h>
#include <blake3_impl.h>

_Static_assert(sizeof(sg_blake3_hasher) >= sizeof(blake3_hasher),
	       "sg_blake3 too small for blake3_hasher");
_Static_assert(_Alignof(sg_blake3_hasher) >= _Alignof(blake3_hasher),
	       "sg_blake3 under-aligned for blake3_hasher");

#define H(h) ((blake3_hasher *)(void *)(h)->opaque)
#define CH(h) ((const blake3_hasher *)(const void *)(h)->opaque)

void sg_blake3_init(sg_blake3_hasher *h)
{
	blake3_hasher_init(H(h));
}

void sg_blake3_init_keyed(sg_blake3_hasher *h, const uint8_t key[SG_BLAKE3_KEY_LEN])
{
	blake3_hasher_init_keyed(H(h), key);
}

void sg_blake3_init_derive_key(sg_blake3_hasher *h, const char *context)
{
	blake3_hasher_init_derive_key(H(h), context);
}

void sg_blake3_update(sg_blake3_hasher *h, const void *in, size_t len)
{
	blake3_hasher_update(H(h), in, len);
}

void sg_blake3_final(const sg_blake3_hasher *h, uint8_t *out, size_t out_len)
{
	blake3_hasher_finalize(CH(h), out, out_len);
}

void sg_blake3_final_seek(const sg_blake3_hasher *h, uint64_t seek, uint8_t *out,
			  size_t out_len)
{
	blake3_hasher_finalize_seek(CH(h), seek, out, out_len);
}

void sg_blake3_wipe(sg_blake3_hasher *h)
{
	sg_wipe(h, sizeof(*h));
}

void sg_blake3(uint8_t out[SG_BLAKE3_LEN], const void *in, size_t len)
{
	sg_blake3_hasher h;
	sg_blake3_init(&h);
	sg_blake3_update(&h, in, len);
	sg_blake3_final(&h, out, SG_BLAKE3_LEN);
}

void sg_blake3_keyed(uint8_t out[SG_BLAKE3_LEN],
		     const uint8_t key[SG_BLAKE3_KEY_LEN], const void *in,
		     size_t len)
{
	sg_blake3_hasher h;
	sg_blake3_init_keyed(&h, key);
	sg_blake3_update(&h, in, len);
	sg_blake3_final(&h, out, SG_BLAKE3_LEN);
	sg_blake3_wipe(&h);
}

void sg_blake3_derive_key(uint8_t *out, size_t out_len, const char *context,
			  const void *in, size_t len)
{
	sg_blake3_hasher h;
	sg_blake3_init_derive_key(&h, context);
	sg_blake3_update(&h, in, len);
	sg_blake3_final(&h, out, out_len);
	sg_blake3_wipe(&h);
}

const char *sg_blake3_simd(void)
{
	/* blake3_simd_degree() is the official dispatcher's choice: 16 lanes
	 * means AVX-512, 8 AVX2, 4 SSE4.1/SSE2, 1 portable. */
	switch (blake3_simd_degree()) {
	case 16:
		return "avx512";
	case 8:
		return "avx2";
	case 4:
		return "sse";
	default:
		return "portable";
	}
}
