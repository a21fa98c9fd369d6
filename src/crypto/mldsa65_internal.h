/*
 * Private to ML-DSA-65 (FIPS 204): hooks into the arithmetic of
 * src/crypto/mldsa65.c that the unit tests check against the standard's
 * definitions. Not part of the public API (hidden in the shared library).
 */
#ifndef SG_MLDSA65_INTERNAL_H
#define SG_MLDSA65_INTERNAL_H

#include <stdint.h>

#define SG_MLDSA65_Q 8380417
#define SG_MLDSA65_N 256

/* Algorithm 36, Decompose(r) for gamma2 = (q - 1)/32, r in [0, q): returns
 * r1 and stores r0 (centred), computed without division. */
int32_t sg_mldsa65_decompose(int32_t *r0, int32_t r);

/* Algorithm 35, Power2Round(r) for r in [0, q): returns r1, stores r0. */
int32_t sg_mldsa65_power2round(int32_t *r0, int32_t r);

/* r = a * b in Z_q[X]/(X^256 + 1) through NTT (Algorithm 41), pointwise
 * Montgomery products and NTT^-1 (Algorithm 42). Inputs with |coefficient|
 * < q; output in [0, q). */
void sg_mldsa65_polymul(int32_t r[SG_MLDSA65_N], const int32_t a[SG_MLDSA65_N],
			const int32_t b[SG_MLDSA65_N]);

/* Algorithm 29, SampleInBall(c~) with the 48-byte c~ of ML-DSA-65, in its
 * constant-time (secret = 1) or plain (secret = 0) form. */
void sg_mldsa65_sample_in_ball(int32_t c[SG_MLDSA65_N],
			       const uint8_t ctilde[48], int secret);

#endif
