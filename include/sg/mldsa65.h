/*
 * ML-DSA-65 (FIPS 204, August 2024): the module-lattice signature scheme
 * at security category 3 (k = 6, l = 5, eta = 4, tau = 49, lambda = 192).
 *
 * Pure ML-DSA only (section 5.2/5.3 with a context string); HashML-DSA is
 * not offered. Every function is deterministic in its inputs: randomness
 * (the key seed xi, the signing nonce rnd) comes from the caller. Nothing
 * allocates, and every secret intermediate is wiped before returning.
 * Key generation and signing run in time independent of the secret key, the
 * seed and rnd, except for the number of signing attempts, which FIPS 204's
 * rejection sampling makes public anyway.
 */
#ifndef SG_MLDSA65_H
#define SG_MLDSA65_H

#include "common.h"
#include "sha3.h"

#define SG_MLDSA65_PK_LEN 1952
#define SG_MLDSA65_SK_LEN 4032
#define SG_MLDSA65_SIG_LEN 3309
#define SG_MLDSA65_SEED_LEN 32
#define SG_MLDSA65_RND_LEN 32
#define SG_MLDSA65_MU_LEN 64
#define SG_MLDSA65_TR_LEN 64
#define SG_MLDSA65_CTX_MAX 255
#define SG_MLDSA65_K 6 /* rows of A: polynomials in s2, t0, w */
#define SG_MLDSA65_L 5 /* columns of A: polynomials in s1, y, z */
#define SG_MLDSA65_POLY_N 256

/* An expanded signing key (the precomputation FIPS 204 section 6.2 allows
 * before Algorithm 7): A-hat = ExpandA(rho) and NTT(s1), NTT(s2), NTT(t0),
 * with K and tr, so that signing skips skDecode, ExpandA (30 SHAKE128
 * streams) and 17 NTTs. About 47 KB; A-hat is public, the rest is as secret
 * as sk. Fill with sg_mldsa65_expand_sk, wipe with sg_mldsa65_xsk_wipe. */
typedef struct sg_mldsa65_xsk {
	int32_t a[SG_MLDSA65_K][SG_MLDSA65_L][SG_MLDSA65_POLY_N];
	int32_t s1hat[SG_MLDSA65_L][SG_MLDSA65_POLY_N];
	int32_t s2hat[SG_MLDSA65_K][SG_MLDSA65_POLY_N];
	int32_t t0hat[SG_MLDSA65_K][SG_MLDSA65_POLY_N];
	uint8_t key[32]; /* K */
	uint8_t tr[SG_MLDSA65_TR_LEN];
} sg_mldsa65_xsk;

/* Algorithm 6, ML-DSA.KeyGen_internal(xi): the key pair for a 32-byte seed.
 * The seed is the whole secret: keeping only it is enough to re-derive sk.
 * Returns 0. */
SG_API int sg_mldsa65_keypair(uint8_t pk[SG_MLDSA65_PK_LEN],
			      uint8_t sk[SG_MLDSA65_SK_LEN],
			      const uint8_t seed[SG_MLDSA65_SEED_LEN]);

/* Algorithm 2, ML-DSA.Sign: signs msg under the context string ctx (at most
 * 255 bytes; ctx may be NULL when ctx_len is 0). rnd is the 32-byte hedging
 * nonce; NULL selects the deterministic variant (rnd = 32 zero bytes).
 * Errors: SG_ERR_RANGE (ctx_len > 255; sig is then zeroed),
 * SG_ERR_CRYPTO (no acceptable signature within 2^16 / l attempts, which
 * does not happen with a valid key; sig is then zeroed). */
SG_API int sg_mldsa65_sign(uint8_t sig[SG_MLDSA65_SIG_LEN], const uint8_t *msg,
			   size_t msg_len, const uint8_t *ctx, size_t ctx_len,
			   const uint8_t sk[SG_MLDSA65_SK_LEN],
			   const uint8_t rnd[SG_MLDSA65_RND_LEN]);

/* Decodes sk (Algorithm 25) and precomputes for repeated signing. sk is
 * trusted to be a key this library (or FIPS 204 KeyGen) produced. */
SG_API void sg_mldsa65_expand_sk(sg_mldsa65_xsk *xsk,
				 const uint8_t sk[SG_MLDSA65_SK_LEN]);

/* sg_mldsa65_sign with an expanded key: the same signature, bit for bit,
 * as sg_mldsa65_sign with the sk it was expanded from. Errors as there. */
SG_API int sg_mldsa65_sign_expanded(uint8_t sig[SG_MLDSA65_SIG_LEN],
				    const uint8_t *msg, size_t msg_len,
				    const uint8_t *ctx, size_t ctx_len,
				    const sg_mldsa65_xsk *xsk,
				    const uint8_t rnd[SG_MLDSA65_RND_LEN]);

/* sg_mldsa65_sign_mu with an expanded key. Errors as there. */
SG_API int sg_mldsa65_sign_mu_expanded(uint8_t sig[SG_MLDSA65_SIG_LEN],
				       const uint8_t mu[SG_MLDSA65_MU_LEN],
				       const sg_mldsa65_xsk *xsk,
				       const uint8_t rnd[SG_MLDSA65_RND_LEN]);

/* Wipes the whole expanded key. */
SG_API void sg_mldsa65_xsk_wipe(sg_mldsa65_xsk *xsk);

/* Algorithm 3, ML-DSA.Verify. Returns 0 for a valid signature, and
 * SG_ERR_VERIFY for anything else: a wrong signature length, a malformed
 * encoding, z out of range, a mismatching challenge, ctx_len > 255. */
SG_API int sg_mldsa65_verify(const uint8_t *sig, size_t sig_len,
			     const uint8_t *msg, size_t msg_len,
			     const uint8_t *ctx, size_t ctx_len,
			     const uint8_t pk[SG_MLDSA65_PK_LEN]);

/* Algorithm 7, ML-DSA.Sign_internal(sk, M', rnd): mprime is the already
 * formatted message M'. rnd NULL means 32 zero bytes. Errors as for
 * sg_mldsa65_sign. */
SG_API int sg_mldsa65_sign_internal(uint8_t sig[SG_MLDSA65_SIG_LEN],
				    const uint8_t *mprime, size_t mprime_len,
				    const uint8_t sk[SG_MLDSA65_SK_LEN],
				    const uint8_t rnd[SG_MLDSA65_RND_LEN]);

/* Algorithm 7 from line 7 on, given mu = H(tr || M', 64) ("external mu").
 * Errors: SG_ERR_CRYPTO as above. */
SG_API int sg_mldsa65_sign_mu(uint8_t sig[SG_MLDSA65_SIG_LEN],
			      const uint8_t mu[SG_MLDSA65_MU_LEN],
			      const uint8_t sk[SG_MLDSA65_SK_LEN],
			      const uint8_t rnd[SG_MLDSA65_RND_LEN]);

/* Algorithm 8, ML-DSA.Verify_internal(pk, M', sigma): 0 or SG_ERR_VERIFY. */
SG_API int sg_mldsa65_verify_internal(const uint8_t *sig, size_t sig_len,
				      const uint8_t *mprime, size_t mprime_len,
				      const uint8_t pk[SG_MLDSA65_PK_LEN]);

/* Algorithm 8 given mu (external mu): 0 or SG_ERR_VERIFY. */
SG_API int sg_mldsa65_verify_mu(const uint8_t *sig, size_t sig_len,
				const uint8_t mu[SG_MLDSA65_MU_LEN],
				const uint8_t pk[SG_MLDSA65_PK_LEN]);

/* Streaming mu (section 6.2, Algorithm 7 line 6, external mu): compute
 *   tr = H(pk, 64)                           sg_mldsa65_tr
 *   sg_mldsa65_mu_init(&h, tr, ctx, ctx_len) absorbs tr || 0 || |ctx| || ctx
 *   sg_keccak_absorb(&h, piece, len) ...     the message, in any pieces
 *   sg_mldsa65_mu_final(mu, &h)              mu = H(tr || M', 64); wipes h
 * and pass mu to sg_mldsa65_sign_mu / sg_mldsa65_verify_mu. The result is
 * the same as sg_mldsa65_sign / sg_mldsa65_verify on the whole message.
 * mu_init errors: SG_ERR_RANGE (ctx_len > 255). */
SG_API void sg_mldsa65_tr(uint8_t tr[SG_MLDSA65_TR_LEN],
			  const uint8_t pk[SG_MLDSA65_PK_LEN]);
SG_API int sg_mldsa65_mu_init(sg_keccak *h, const uint8_t tr[SG_MLDSA65_TR_LEN],
			      const uint8_t *ctx, size_t ctx_len);
SG_API void sg_mldsa65_mu_final(uint8_t mu[SG_MLDSA65_MU_LEN], sg_keccak *h);

#endif
