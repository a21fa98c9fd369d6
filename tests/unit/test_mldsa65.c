/*
 * ML-DSA-65 properties: the rounding helpers against FIPS 204's definitions
 * (exhaustively over Z_q), NTT multiplication against schoolbook
 * multiplication, the constant-time SampleInBall against the plain one,
 * sign/verify round trips, rejection of every single-bit flip of the
 * signature, message, context and public key, domain separation by context,
 * malformed signatures (lengths, z out of range, each kind of bad hint
 * encoding), streaming mu, and canaries around every output.
 */
#include "testutil.h"
#include "sg/mldsa65.h"
#include "sg/err.h"
#include "crypto/mldsa65_internal.h"

#include <stdlib.h>
#include <string.h>

#define Q SG_MLDSA65_Q
#define G2 ((Q - 1) / 32)
#define OMEGA 55
#define K 6
#define SIG_H (48 + 5 * 640)

/* Decompose exactly as Algorithm 36 writes it, with % and /. */
static void spec_decompose(int32_t r, int32_t *r1, int32_t *r0)
{
	int32_t rp = ((r % Q) + Q) % Q, a0 = rp % (2 * G2);

	if (a0 > G2)
		a0 -= 2 * G2;
	if (rp - a0 == Q - 1) {
		*r1 = 0;
		*r0 = a0 - 1;
	} else {
		*r1 = (rp - a0) / (2 * G2);
		*r0 = a0;
	}
}

static void test_decompose_exhaustive(void **state)
{
	int32_t r;
	(void)state;

	for (r = 0; r < Q; r++) {
		int32_t e1, e0, g0, g1 = sg_mldsa65_decompose(&g0, r);

		spec_decompose(r, &e1, &e0);
		if (g1 != e1 || g0 != e0)
			fail_msg("decompose(%d) = (%d, %d), want (%d, %d)", r,
				 g1, g0, e1, e0);
	}
}

static void test_power2round_exhaustive(void **state)
{
	int32_t r;
	(void)state;

	for (r = 0; r < Q; r++) {
		/* r0 = r mod+- 2^13, r1 = (r - r0) / 2^13 (Algorithm 35) */
		int32_t e0 = r % 8192, g0, g1;

		if (e0 > 4096)
			e0 -= 8192;
		g1 = sg_mldsa65_power2round(&g0, r);
		if (g0 != e0 || g1 != (r - e0) / 8192)
			fail_msg("power2round(%d)", r);
	}
}

static void test_ntt_multiplication(void **state)
{
	sg_test_rng rng;
	int round;
	(void)state;

	sg_test_rng_seed(&rng, 1);
	for (round = 0; round < 20; round++) {
		int32_t a[256], b[256], got[256];
		int64_t want[256] = {0};
		int i, j;

		for (i = 0; i < 256; i++) {
			/* Full range on a, and the extremes on some rounds. */
			a[i] = (int32_t)(sg_test_rng_u64(&rng) % (2 * Q - 1)) -
			       (Q - 1);
			b[i] = (int32_t)(sg_test_rng_u64(&rng) % (2 * Q - 1)) -
			       (Q - 1);
			if (round == 0)
				a[i] = b[i] = Q - 1;
			if (round == 1)
				a[i] = b[i] = -(Q - 1);
		}
		/* Schoolbook multiplication mod X^256 + 1. */
		for (i = 0; i < 256; i++)
			for (j = 0; j < 256; j++) {
				int64_t p = (int64_t)a[i] * b[j] % Q;

				if (i + j < 256)
					want[i + j] = (want[i + j] + p) % Q;
				else
					want[i + j - 256] =
					    (want[i + j - 256] - p) % Q;
			}
		sg_mldsa65_polymul(got, a, b);
		for (i = 0; i < 256; i++)
			assert_int_equal(got[i], (want[i] % Q + Q) % Q);
	}
}

static void test_sample_in_ball(void **state)
{
	sg_test_rng rng;
	int round;
	(void)state;

	sg_test_rng_seed(&rng, 2);
	for (round = 0; round < 2000; round++) {
		uint8_t ct[48];
		int32_t c1[256], c2[256];
		int i, weight = 0;

		sg_test_rng_bytes(&rng, ct, sizeof(ct));
		sg_mldsa65_sample_in_ball(c1, ct, 1);
		sg_mldsa65_sample_in_ball(c2, ct, 0);
		assert_memory_equal(c1, c2, sizeof(c1));
		for (i = 0; i < 256; i++) {
			assert_true(c1[i] >= -1 && c1[i] <= 1);
			weight += c1[i] != 0;
		}
		assert_int_equal(weight, 49);
	}
}

/* Test fixture: one key, a short message, a context, a signature. */
static uint8_t pk[SG_MLDSA65_PK_LEN], sk[SG_MLDSA65_SK_LEN];
static uint8_t sig[SG_MLDSA65_SIG_LEN];
static const uint8_t msg[] = "saorsa-gossip test message";
static const uint8_t ctx[] = "sg-test-v1";

static int setup(void **state)
{
	uint8_t seed[32];
	sg_test_rng rng;
	(void)state;

	sg_test_rng_seed(&rng, 3);
	sg_test_rng_bytes(&rng, seed, sizeof(seed));
	if (sg_mldsa65_keypair(pk, sk, seed) != 0)
		return -1;
	return sg_mldsa65_sign(sig, msg, sizeof(msg), ctx, sizeof(ctx), sk,
			       NULL);
}

static int verify_fixture(const uint8_t *s, const uint8_t *m, size_t mlen,
			  const uint8_t *c, size_t clen, const uint8_t *p)
{
	return sg_mldsa65_verify(s, SG_MLDSA65_SIG_LEN, m, mlen, c, clen, p);
}

static void test_round_trips(void **state)
{
	sg_test_rng rng;
	int i;
	(void)state;

	assert_int_equal(
	    verify_fixture(sig, msg, sizeof(msg), ctx, sizeof(ctx), pk), 0);
	sg_test_rng_seed(&rng, 4);
	for (i = 0; i < 12; i++) {
		uint8_t seed[32], rnd[32], m[300], c[255];
		uint8_t p[SG_MLDSA65_PK_LEN], s[SG_MLDSA65_SK_LEN];
		uint8_t p2[SG_MLDSA65_PK_LEN], s2[SG_MLDSA65_SK_LEN];
		uint8_t g1[SG_MLDSA65_SIG_LEN], g2[SG_MLDSA65_SIG_LEN];
		uint8_t tr[64];
		size_t mlen = (size_t)(sg_test_rng_u64(&rng) % sizeof(m));
		size_t clen = i == 0   ? 255
			      : i == 1 ? 0
				       : (size_t)(sg_test_rng_u64(&rng) % 256);

		sg_test_rng_bytes(&rng, seed, sizeof(seed));
		sg_test_rng_bytes(&rng, rnd, sizeof(rnd));
		sg_test_rng_bytes(&rng, m, sizeof(m));
		sg_test_rng_bytes(&rng, c, sizeof(c));
		if (i == 2)
			mlen = 0;
		assert_int_equal(sg_mldsa65_keypair(p, s, seed), 0);
		/* Deterministic in the seed; tr in sk is H(pk). */
		assert_int_equal(sg_mldsa65_keypair(p2, s2, seed), 0);
		assert_memory_equal(p, p2, sizeof(p));
		assert_memory_equal(s, s2, sizeof(s));
		sg_mldsa65_tr(tr, p);
		assert_memory_equal(tr, s + 64, 64);

		/* Hedged signing verifies and differs from deterministic. */
		assert_int_equal(sg_mldsa65_sign(g1, m, mlen, c, clen, s, rnd),
				 0);
		assert_int_equal(
		    sg_mldsa65_verify(g1, sizeof(g1), m, mlen, c, clen, p), 0);
		assert_int_equal(sg_mldsa65_sign(g2, m, mlen, c, clen, s, NULL),
				 0);
		assert_int_equal(
		    sg_mldsa65_verify(g2, sizeof(g2), m, mlen, c, clen, p), 0);
		assert_memory_not_equal(g1, g2, sizeof(g1));
		/* rnd = NULL is 32 zero bytes. */
		memset(rnd, 0, sizeof(rnd));
		assert_int_equal(sg_mldsa65_sign(g1, m, mlen, c, clen, s, rnd),
				 0);
		assert_memory_equal(g1, g2, sizeof(g1));
		/* A signature under another key does not verify. */
		assert_int_equal(
		    sg_mldsa65_verify(g1, sizeof(g1), m, mlen, c, clen, pk),
		    SG_ERR_VERIFY);
	}
}

/* Signing through an expanded key gives the bytes sg_mldsa65_sign and
 * sg_mldsa65_sign_mu give, for hedged and deterministic signing, and the
 * same errors; wiping clears the whole key. */
static void test_expanded_key(void **state)
{
	static sg_mldsa65_xsk xsk;
	static const uint8_t zero[sizeof(sg_mldsa65_xsk)];
	sg_test_rng rng;
	int i;
	(void)state;

	sg_test_rng_seed(&rng, 11);
	for (i = 0; i < 6; i++) {
		uint8_t seed[32], rnd[32], m[200], c[255], mu[64];
		uint8_t p[SG_MLDSA65_PK_LEN], s[SG_MLDSA65_SK_LEN];
		uint8_t g1[SG_MLDSA65_SIG_LEN], g2[SG_MLDSA65_SIG_LEN];
		size_t mlen = (size_t)(sg_test_rng_u64(&rng) % sizeof(m));
		size_t clen = (size_t)(sg_test_rng_u64(&rng) % 256);
		const uint8_t *r = i % 2 ? rnd : NULL;

		sg_test_rng_bytes(&rng, seed, sizeof(seed));
		sg_test_rng_bytes(&rng, rnd, sizeof(rnd));
		sg_test_rng_bytes(&rng, m, sizeof(m));
		sg_test_rng_bytes(&rng, c, sizeof(c));
		sg_test_rng_bytes(&rng, mu, sizeof(mu));
		assert_int_equal(sg_mldsa65_keypair(p, s, seed), 0);
		sg_mldsa65_expand_sk(&xsk, s);
		assert_memory_equal(xsk.tr, s + 64, 64);

		assert_int_equal(sg_mldsa65_sign(g1, m, mlen, c, clen, s, r),
				 0);
		memset(g2, 0xa5, sizeof(g2));
		assert_int_equal(
		    sg_mldsa65_sign_expanded(g2, m, mlen, c, clen, &xsk, r), 0);
		assert_memory_equal(g1, g2, sizeof(g1));
		assert_int_equal(
		    sg_mldsa65_verify(g2, sizeof(g2), m, mlen, c, clen, p), 0);

		assert_int_equal(sg_mldsa65_sign_mu(g1, mu, s, r), 0);
		assert_int_equal(sg_mldsa65_sign_mu_expanded(g2, mu, &xsk, r),
				 0);
		assert_memory_equal(g1, g2, sizeof(g1));
		assert_int_equal(sg_mldsa65_verify_mu(g2, sizeof(g2), mu, p),
				 0);

		/* A context over 255 bytes: an error and a zeroed output. */
		memset(g2, 0xa5, sizeof(g2));
		assert_int_equal(
		    sg_mldsa65_sign_expanded(g2, m, mlen, c, 256, &xsk, r),
		    SG_ERR_RANGE);
		memset(g1, 0, sizeof(g1));
		assert_memory_equal(g1, g2, sizeof(g2));
	}
	sg_mldsa65_xsk_wipe(&xsk);
	assert_memory_equal(&xsk, zero, sizeof(xsk));
}

static void test_internal_interfaces(void **state)
{
	uint8_t mprime[2 + sizeof(ctx) + sizeof(msg)];
	uint8_t g[SG_MLDSA65_SIG_LEN], tr[64], mu[64];
	sg_keccak h;
	(void)state;

	/* M' = 0 || |ctx| || ctx || M (Algorithm 2 line 10). */
	mprime[0] = 0;
	mprime[1] = sizeof(ctx);
	memcpy(mprime + 2, ctx, sizeof(ctx));
	memcpy(mprime + 2 + sizeof(ctx), msg, sizeof(msg));
	assert_int_equal(
	    sg_mldsa65_sign_internal(g, mprime, sizeof(mprime), sk, NULL), 0);
	assert_memory_equal(g, sig, sizeof(g));
	assert_int_equal(sg_mldsa65_verify_internal(sig, sizeof(sig), mprime,
						    sizeof(mprime), pk),
			 0);
	mprime[0] = 1; /* the HashML-DSA domain must not verify */
	assert_int_equal(sg_mldsa65_verify_internal(sig, sizeof(sig), mprime,
						    sizeof(mprime), pk),
			 SG_ERR_VERIFY);

	/* mu = H(tr || M', 64) */
	mprime[0] = 0;
	sg_mldsa65_tr(tr, pk);
	sg_shake256_init(&h);
	sg_keccak_absorb(&h, tr, 64);
	sg_keccak_absorb(&h, mprime, sizeof(mprime));
	sg_keccak_squeeze(&h, mu, 64);
	assert_int_equal(sg_mldsa65_sign_mu(g, mu, sk, NULL), 0);
	assert_memory_equal(g, sig, sizeof(g));
	assert_int_equal(sg_mldsa65_verify_mu(sig, sizeof(sig), mu, pk), 0);
	mu[5] ^= 1;
	assert_int_equal(sg_mldsa65_verify_mu(sig, sizeof(sig), mu, pk),
			 SG_ERR_VERIFY);
}

static void test_streaming_mu(void **state)
{
	static uint8_t big[100000];
	uint8_t tr[64], mu[64], g1[SG_MLDSA65_SIG_LEN], g2[SG_MLDSA65_SIG_LEN];
	uint8_t rnd[32];
	sg_test_rng rng;
	sg_keccak h;
	size_t off = 0;
	(void)state;

	sg_test_rng_seed(&rng, 5);
	sg_test_rng_bytes(&rng, big, sizeof(big));
	sg_test_rng_bytes(&rng, rnd, sizeof(rnd));
	sg_mldsa65_tr(tr, pk);
	assert_int_equal(sg_mldsa65_mu_init(&h, tr, ctx, sizeof(ctx)), 0);
	while (off < sizeof(big)) {
		size_t step = 1 + (size_t)(sg_test_rng_u64(&rng) % 5000);

		if (step > sizeof(big) - off)
			step = sizeof(big) - off;
		assert_int_equal(sg_keccak_absorb(&h, big + off, step), 0);
		off += step;
	}
	sg_mldsa65_mu_final(mu, &h);
	assert_int_equal(sg_mldsa65_sign_mu(g1, mu, sk, rnd), 0);
	assert_int_equal(
	    sg_mldsa65_sign(g2, big, sizeof(big), ctx, sizeof(ctx), sk, rnd),
	    0);
	assert_memory_equal(g1, g2, sizeof(g1));
	assert_int_equal(sg_mldsa65_verify(g1, sizeof(g1), big, sizeof(big),
					   ctx, sizeof(ctx), pk),
			 0);
	assert_int_equal(sg_mldsa65_verify_mu(g2, sizeof(g2), mu, pk), 0);

	/* Context length limit. */
	assert_int_equal(sg_mldsa65_mu_init(&h, tr, big, 256), SG_ERR_RANGE);
	assert_int_equal(sg_mldsa65_mu_init(&h, tr, big, 255), 0);
	sg_keccak_wipe(&h);
}

static void test_context_limits(void **state)
{
	uint8_t c[256], g[SG_MLDSA65_SIG_LEN];
	(void)state;

	memset(c, 'x', sizeof(c));
	memset(g, 0xaa, sizeof(g));
	assert_int_equal(sg_mldsa65_sign(g, msg, sizeof(msg), c, 256, sk, NULL),
			 SG_ERR_RANGE);
	for (size_t i = 0; i < sizeof(g); i++)
		assert_int_equal(g[i], 0);
	assert_int_equal(
	    sg_mldsa65_verify(sig, sizeof(sig), msg, sizeof(msg), c, 256, pk),
	    SG_ERR_VERIFY);
	assert_int_equal(sg_mldsa65_sign(g, msg, sizeof(msg), c, 255, sk, NULL),
			 0);
	assert_int_equal(
	    sg_mldsa65_verify(g, sizeof(g), msg, sizeof(msg), c, 255, pk), 0);
	assert_int_equal(
	    sg_mldsa65_verify(g, sizeof(g), msg, sizeof(msg), c, 254, pk),
	    SG_ERR_VERIFY);
	/* Empty context: NULL and a zero-length buffer are the same. */
	assert_int_equal(
	    sg_mldsa65_sign(g, msg, sizeof(msg), NULL, 0, sk, NULL), 0);
	assert_int_equal(
	    sg_mldsa65_verify(g, sizeof(g), msg, sizeof(msg), c, 0, pk), 0);
}

static void test_domain_separation(void **state)
{
	uint8_t g[SG_MLDSA65_SIG_LEN];
	(void)state;

	assert_int_equal(sg_mldsa65_sign(g, msg, sizeof(msg),
					 (const uint8_t *)"A", 1, sk, NULL),
			 0);
	assert_int_equal(sg_mldsa65_verify(g, sizeof(g), msg, sizeof(msg),
					   (const uint8_t *)"A", 1, pk),
			 0);
	assert_int_equal(sg_mldsa65_verify(g, sizeof(g), msg, sizeof(msg),
					   (const uint8_t *)"B", 1, pk),
			 SG_ERR_VERIFY);
	assert_int_equal(
	    sg_mldsa65_verify(g, sizeof(g), msg, sizeof(msg), NULL, 0, pk),
	    SG_ERR_VERIFY);
	assert_int_equal(sg_mldsa65_verify(g, sizeof(g), msg, sizeof(msg),
					   (const uint8_t *)"AA", 2, pk),
			 SG_ERR_VERIFY);
}

static void test_bit_flips(void **state)
{
	uint8_t s[SG_MLDSA65_SIG_LEN], m[sizeof(msg)], c[sizeof(ctx)];
	uint8_t p[SG_MLDSA65_PK_LEN];
	size_t i, n = 0;
	(void)state;

	memcpy(s, sig, sizeof(s));
	memcpy(m, msg, sizeof(m));
	memcpy(c, ctx, sizeof(c));
	memcpy(p, pk, sizeof(p));
	for (i = 0; i < 8 * sizeof(s); i++, n++) {
		s[i / 8] ^= (uint8_t)(1u << (i % 8));
		if (verify_fixture(s, m, sizeof(m), c, sizeof(c), p) !=
		    SG_ERR_VERIFY)
			fail_msg("signature bit %zu flipped still verifies", i);
		s[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	for (i = 0; i < 8 * sizeof(m); i++, n++) {
		m[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(
		    verify_fixture(s, m, sizeof(m), c, sizeof(c), p),
		    SG_ERR_VERIFY);
		m[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	for (i = 0; i < 8 * sizeof(c); i++, n++) {
		c[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(
		    verify_fixture(s, m, sizeof(m), c, sizeof(c), p),
		    SG_ERR_VERIFY);
		c[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	for (i = 0; i < 8 * sizeof(p); i++, n++) {
		p[i / 8] ^= (uint8_t)(1u << (i % 8));
		if (verify_fixture(s, m, sizeof(m), c, sizeof(c), p) !=
		    SG_ERR_VERIFY)
			fail_msg("public key bit %zu flipped still verifies",
				 i);
		p[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	assert_int_equal(n,
			 8 * (sizeof(s) + sizeof(m) + sizeof(c) + sizeof(p)));
	/* Everything restored: the original still verifies. */
	assert_int_equal(verify_fixture(s, m, sizeof(m), c, sizeof(c), p), 0);
}

static void expect_reject(const uint8_t *s, size_t len, const char *what)
{
	if (sg_mldsa65_verify(s, len, msg, sizeof(msg), ctx, sizeof(ctx), pk) !=
	    SG_ERR_VERIFY)
		fail_msg("%s accepted", what);
}

/* Writes the 20-bit field of z coefficient idx (value gamma1 - z). */
static void set_z_field(uint8_t *s, unsigned idx, uint32_t v)
{
	unsigned bit = idx * 20, k;

	for (k = 0; k < 20; k++, bit++) {
		uint8_t *b = s + 48 + bit / 8;

		*b = (uint8_t)((*b & ~(1u << (bit % 8))) |
			       (((v >> k) & 1u) << (bit % 8)));
	}
}

static void test_malformed(void **state)
{
	uint8_t s[SG_MLDSA65_SIG_LEN + 1];
	const uint8_t *y = sig + SIG_H;
	unsigned i, total = y[OMEGA + K - 1], multi = K;
	(void)state;

	/* Lengths. */
	expect_reject(sig, SG_MLDSA65_SIG_LEN - 1, "short signature");
	memcpy(s, sig, SG_MLDSA65_SIG_LEN);
	s[SG_MLDSA65_SIG_LEN] = 0;
	expect_reject(s, SG_MLDSA65_SIG_LEN + 1, "long signature");
	expect_reject(sig, 0, "empty signature");
	expect_reject(NULL, 0, "NULL signature");

	/* z at and beyond the bound gamma1 - beta = 524092 (field value
	 * gamma1 - z = 196 means z = gamma1 - beta; 0 means z = gamma1). */
	memcpy(s, sig, SG_MLDSA65_SIG_LEN);
	set_z_field(s, 7, 196);
	expect_reject(s, SG_MLDSA65_SIG_LEN, "z = gamma1 - beta");
	set_z_field(s, 7, 0);
	expect_reject(s, SG_MLDSA65_SIG_LEN, "z = gamma1");
	set_z_field(s, 7, (1u << 20) - 1);
	expect_reject(s, SG_MLDSA65_SIG_LEN, "z = gamma1 - 2^20 + 1");
	memcpy(s, sig, SG_MLDSA65_SIG_LEN);
	set_z_field(s, 5 * 256 - 1, 2 * (1u << 19) - 196);
	expect_reject(s, SG_MLDSA65_SIG_LEN, "z = -(gamma1 - beta)");

	/* The fixture needs some hints and room for padding. */
	assert_true(total >= 2 && total < OMEGA);
	/* Counts decreasing. */
	for (i = 0; i + 1 < K; i++) {
		if (y[OMEGA + i] > 0) {
			memcpy(s, sig, SG_MLDSA65_SIG_LEN);
			s[SIG_H + OMEGA + i + 1] = (uint8_t)(y[OMEGA + i] - 1);
			expect_reject(s, SG_MLDSA65_SIG_LEN,
				      "decreasing count");
			break;
		}
	}
	/* A count above omega. */
	memcpy(s, sig, SG_MLDSA65_SIG_LEN);
	s[SIG_H + OMEGA + K - 1] = OMEGA + 1;
	expect_reject(s, SG_MLDSA65_SIG_LEN, "count > omega");
	/* Nonzero padding after the last index. */
	memcpy(s, sig, SG_MLDSA65_SIG_LEN);
	s[SIG_H + OMEGA - 1] = 1;
	expect_reject(s, SG_MLDSA65_SIG_LEN, "nonzero padding");
	/* Indices not strictly increasing within one polynomial: swap two,
	 * then repeat one. */
	for (i = 0; i < K; i++) {
		unsigned first = i ? y[OMEGA + i - 1] : 0;

		if (y[OMEGA + i] - first >= 2) {
			multi = i;
			memcpy(s, sig, SG_MLDSA65_SIG_LEN);
			s[SIG_H + first] = y[first + 1];
			s[SIG_H + first + 1] = y[first];
			expect_reject(s, SG_MLDSA65_SIG_LEN, "indices swapped");
			memcpy(s, sig, SG_MLDSA65_SIG_LEN);
			s[SIG_H + first + 1] = y[first];
			expect_reject(s, SG_MLDSA65_SIG_LEN, "index repeated");
			break;
		}
	}
	assert_true(multi < K);
	/* The same hints counted into the next polynomial are a different
	 * (well-formed) h, which must fail the challenge check. */
	for (i = 0; i + 1 < K; i++) {
		if (y[OMEGA + i] > (i ? y[OMEGA + i - 1] : 0)) {
			memcpy(s, sig, SG_MLDSA65_SIG_LEN);
			s[SIG_H + OMEGA + i] = (uint8_t)(y[OMEGA + i] - 1);
			expect_reject(s, SG_MLDSA65_SIG_LEN, "moved hint");
			break;
		}
	}
	/* The unmodified copy still verifies (the edits above were real). */
	memcpy(s, sig, SG_MLDSA65_SIG_LEN);
	assert_int_equal(sg_mldsa65_verify(s, SG_MLDSA65_SIG_LEN, msg,
					   sizeof(msg), ctx, sizeof(ctx), pk),
			 0);
}

#define CANARY 0x5c
static void check_canary(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		assert_int_equal(p[i], CANARY);
}

static void test_canaries(void **state)
{
	static uint8_t pkb[16 + SG_MLDSA65_PK_LEN + 16];
	static uint8_t skb[16 + SG_MLDSA65_SK_LEN + 16];
	static uint8_t sigb[16 + SG_MLDSA65_SIG_LEN + 16];
	static uint8_t trb[16 + 64 + 16], mub[16 + 64 + 16];
	uint8_t seed[32] = {1, 2, 3};
	sg_keccak h;
	(void)state;

	memset(pkb, CANARY, sizeof(pkb));
	memset(skb, CANARY, sizeof(skb));
	memset(sigb, CANARY, sizeof(sigb));
	memset(trb, CANARY, sizeof(trb));
	memset(mub, CANARY, sizeof(mub));
	assert_int_equal(sg_mldsa65_keypair(pkb + 16, skb + 16, seed), 0);
	assert_int_equal(sg_mldsa65_sign(sigb + 16, msg, sizeof(msg), ctx,
					 sizeof(ctx), skb + 16, seed),
			 0);
	sg_mldsa65_tr(trb + 16, pkb + 16);
	assert_int_equal(sg_mldsa65_mu_init(&h, trb + 16, NULL, 0), 0);
	sg_mldsa65_mu_final(mub + 16, &h);
	assert_int_equal(
	    sg_mldsa65_sign_mu(sigb + 16, mub + 16, skb + 16, NULL), 0);
	check_canary(pkb, 16);
	check_canary(pkb + 16 + SG_MLDSA65_PK_LEN, 16);
	check_canary(skb, 16);
	check_canary(skb + 16 + SG_MLDSA65_SK_LEN, 16);
	check_canary(sigb, 16);
	check_canary(sigb + 16 + SG_MLDSA65_SIG_LEN, 16);
	check_canary(trb, 16);
	check_canary(trb + 16 + 64, 16);
	check_canary(mub, 16);
	check_canary(mub + 16 + 64, 16);
	assert_int_equal(sg_mldsa65_verify_mu(sigb + 16, SG_MLDSA65_SIG_LEN,
					      mub + 16, pkb + 16),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decompose_exhaustive),
	    cmocka_unit_test(test_power2round_exhaustive),
	    cmocka_unit_test(test_ntt_multiplication),
	    cmocka_unit_test(test_sample_in_ball),
	    cmocka_unit_test(test_round_trips),
	    cmocka_unit_test(test_expanded_key),
	    cmocka_unit_test(test_internal_interfaces),
	    cmocka_unit_test(test_streaming_mu),
	    cmocka_unit_test(test_context_limits),
	    cmocka_unit_test(test_domain_separation),
	    cmocka_unit_test(test_bit_flips),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_canaries),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
