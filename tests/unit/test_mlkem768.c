/*
 * ML-KEM-768 properties (FIPS 203): round trips for random seeds, implicit
 * rejection on every single-bit flip of a ciphertext (the shared secret
 * must be J(z || c), computed here independently with SHAKE256), the input
 * checks of sections 7.2 and 7.3 (coefficients >= q in ek, a wrong H(ek)
 * in dk, wrong lengths), argument checks, and canary bytes around every
 * output buffer.
 */
#include "testutil.h"
#include "sg/err.h"
#include "sg/mlkem768.h"
#include "sg/sha3.h"

#include <string.h>

#define CANARY 16
#define EK_OFF 1152  /* ek inside dk */
#define H_OFF 2336   /* H(ek) inside dk */
#define Z_OFF 2368   /* z inside dk */

/* A buffer with CANARY guard bytes on each side. */
typedef struct guarded {
	uint8_t raw[CANARY + 2400 + CANARY];
	size_t len;
} guarded;

static uint8_t *guard_init(guarded *g, size_t len)
{
	assert_true(len <= 2400);
	g->len = len;
	memset(g->raw, 0xc3, sizeof(g->raw));
	return g->raw + CANARY;
}

static void guard_check(const guarded *g)
{
	size_t i;

	for (i = 0; i < CANARY; i++) {
		assert_int_equal(g->raw[i], 0xc3);
		assert_int_equal(g->raw[CANARY + g->len + i], 0xc3);
	}
}

static void fresh_key(sg_test_rng *rng, uint8_t ek[SG_MLKEM768_EK_LEN],
		      uint8_t dk[SG_MLKEM768_DK_LEN])
{
	uint8_t seed[SG_MLKEM768_SEED_LEN];

	sg_test_rng_bytes(rng, seed, sizeof(seed));
	assert_int_equal(sg_mlkem768_keypair(ek, dk, seed), 0);
}

static void test_round_trip(void **state)
{
	sg_test_rng rng;
	int iter;
	(void)state;

	sg_test_rng_seed(&rng, 1);
	for (iter = 0; iter < 100; iter++) {
		guarded gek, gdk, gct, gss, gss2;
		uint8_t *ek = guard_init(&gek, SG_MLKEM768_EK_LEN);
		uint8_t *dk = guard_init(&gdk, SG_MLKEM768_DK_LEN);
		uint8_t *ct = guard_init(&gct, SG_MLKEM768_CT_LEN);
		uint8_t *ss = guard_init(&gss, SG_MLKEM768_SS_LEN);
		uint8_t *ss2 = guard_init(&gss2, SG_MLKEM768_SS_LEN);
		uint8_t seed[64], m[32], ek2[SG_MLKEM768_EK_LEN], h[32];
		uint8_t dk2[SG_MLKEM768_DK_LEN];

		sg_test_rng_bytes(&rng, seed, sizeof(seed));
		sg_test_rng_bytes(&rng, m, sizeof(m));
		assert_int_equal(sg_mlkem768_keypair(ek, dk, seed), 0);
		assert_int_equal(sg_mlkem768_check_ek(ek, SG_MLKEM768_EK_LEN),
				 0);
		assert_int_equal(sg_mlkem768_check_dk(dk, SG_MLKEM768_DK_LEN),
				 0);
		/* dk layout: dk_PKE || ek || H(ek) || z. */
		assert_memory_equal(dk + EK_OFF, ek, SG_MLKEM768_EK_LEN);
		sg_sha3_256(h, ek, SG_MLKEM768_EK_LEN);
		assert_memory_equal(dk + H_OFF, h, 32);
		assert_memory_equal(dk + Z_OFF, seed + 32, 32);
		/* Deterministic in the seed. */
		assert_int_equal(sg_mlkem768_keypair(ek2, dk2, seed), 0);
		assert_memory_equal(ek2, ek, sizeof(ek2));
		assert_memory_equal(dk2, dk, sizeof(dk2));

		assert_int_equal(sg_mlkem768_encaps(ct, ss, ek, m), 0);
		assert_int_equal(sg_mlkem768_decaps(ss2, ct, dk), 0);
		assert_memory_equal(ss, ss2, 32);
		guard_check(&gek);
		guard_check(&gdk);
		guard_check(&gct);
		guard_check(&gss);
		guard_check(&gss2);
	}
}

/* z only enters the rejection key: another z changes the dk tail only. */
static void test_z_only_in_dk(void **state)
{
	uint8_t seed[64], ek1[SG_MLKEM768_EK_LEN], ek2[SG_MLKEM768_EK_LEN];
	uint8_t dk1[SG_MLKEM768_DK_LEN], dk2[SG_MLKEM768_DK_LEN];
	sg_test_rng rng;
	(void)state;

	sg_test_rng_seed(&rng, 2);
	sg_test_rng_bytes(&rng, seed, sizeof(seed));
	assert_int_equal(sg_mlkem768_keypair(ek1, dk1, seed), 0);
	seed[40] ^= 1;
	assert_int_equal(sg_mlkem768_keypair(ek2, dk2, seed), 0);
	assert_memory_equal(ek1, ek2, sizeof(ek1));
	assert_memory_equal(dk1, dk2, Z_OFF);
	assert_memory_not_equal(dk1 + Z_OFF, dk2 + Z_OFF, 32);
	/* ...and d changes everything. */
	seed[3] ^= 1;
	assert_int_equal(sg_mlkem768_keypair(ek2, dk2, seed), 0);
	assert_memory_not_equal(ek1, ek2, sizeof(ek1));
}

/* Every single-bit flip of c gives K-bar = J(z || c), never K. */
static void test_implicit_rejection_every_bit(void **state)
{
	uint8_t ek[SG_MLKEM768_EK_LEN], dk[SG_MLKEM768_DK_LEN];
	uint8_t ct[SG_MLKEM768_CT_LEN], ss[32], m[32];
	uint8_t zc[32 + SG_MLKEM768_CT_LEN], expect[32], got[32];
	sg_test_rng rng;
	size_t bit, flips = 0;
	(void)state;

	sg_test_rng_seed(&rng, 3);
	fresh_key(&rng, ek, dk);
	sg_test_rng_bytes(&rng, m, sizeof(m));
	assert_int_equal(sg_mlkem768_encaps(ct, ss, ek, m), 0);
	memcpy(zc, dk + Z_OFF, 32);
	for (bit = 0; bit < 8 * SG_MLKEM768_CT_LEN; bit++) {
		memcpy(zc + 32, ct, SG_MLKEM768_CT_LEN);
		zc[32 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		sg_shake256(expect, 32, zc, sizeof(zc));
		assert_int_equal(sg_mlkem768_decaps(got, zc + 32, dk), 0);
		if (memcmp(got, expect, 32) != 0) {
			fprintf(stderr, "bit %zu: not J(z || c)\n", bit);
			fail();
		}
		assert_memory_not_equal(got, ss, 32);
		flips++;
	}
	assert_int_equal(flips, 8704);
	/* The unmodified ciphertext still gives K, and K != J(z || c). */
	assert_int_equal(sg_mlkem768_decaps(got, ct, dk), 0);
	assert_memory_equal(got, ss, 32);
	memcpy(zc + 32, ct, SG_MLKEM768_CT_LEN);
	sg_shake256(expect, 32, zc, sizeof(zc));
	assert_memory_not_equal(got, expect, 32);
}

/* Sets 12-bit coefficient i of the encoded t-hat to v. */
static void set_coeff(uint8_t *ek, size_t i, unsigned v)
{
	uint8_t *p = ek + 3 * (i / 2);

	if (i % 2 == 0) {
		p[0] = (uint8_t)v;
		p[1] = (uint8_t)((p[1] & 0xf0) | (v >> 8));
	} else {
		p[1] = (uint8_t)((p[1] & 0x0f) | (v << 4));
		p[2] = (uint8_t)(v >> 4);
	}
}

static void test_ek_check(void **state)
{
	static const unsigned bad[] = {3329, 3330, 4000, 4095};
	static const uint8_t zero_ct[SG_MLKEM768_CT_LEN], zero_ss[32];
	uint8_t ek[SG_MLKEM768_EK_LEN], dk[SG_MLKEM768_DK_LEN];
	uint8_t bad_ek[SG_MLKEM768_EK_LEN], ct[SG_MLKEM768_CT_LEN], ss[32];
	uint8_t m[32] = {7};
	sg_test_rng rng;
	size_t i, rejected = 0;
	(void)state;

	sg_test_rng_seed(&rng, 4);
	fresh_key(&rng, ek, dk);
	/* Every coefficient position, each out-of-range value. */
	for (i = 0; i < 768; i++) {
		size_t b;

		for (b = 0; b < 4; b++) {
			memcpy(bad_ek, ek, sizeof(ek));
			set_coeff(bad_ek, i, bad[(i + b) % 4]);
			assert_int_equal(sg_mlkem768_check_ek(bad_ek,
							      sizeof(bad_ek)),
					 SG_ERR_KEY);
			if (b == 0) {
				memset(ct, 0x55, sizeof(ct));
				memset(ss, 0x55, sizeof(ss));
				assert_int_equal(sg_mlkem768_encaps(ct, ss,
								    bad_ek, m),
						 SG_ERR_KEY);
				assert_memory_equal(ct, zero_ct, sizeof(ct));
				assert_memory_equal(ss, zero_ss, sizeof(ss));
			}
			rejected++;
		}
		/* q - 1 is the largest valid value. */
		memcpy(bad_ek, ek, sizeof(ek));
		set_coeff(bad_ek, i, 3328);
		assert_int_equal(sg_mlkem768_check_ek(bad_ek, sizeof(bad_ek)),
				 0);
	}
	assert_int_equal(rejected, 4 * 768);
	/* rho is not checked: any 32 bytes are valid. */
	memcpy(bad_ek, ek, sizeof(ek));
	memset(bad_ek + 1152, 0xff, 32);
	assert_int_equal(sg_mlkem768_check_ek(bad_ek, sizeof(bad_ek)), 0);
	/* Wrong lengths and NULL. */
	assert_int_equal(sg_mlkem768_check_ek(ek, 1183), SG_ERR_KEY);
	assert_int_equal(sg_mlkem768_check_ek(ek, 1185), SG_ERR_KEY);
	assert_int_equal(sg_mlkem768_check_ek(ek, 0), SG_ERR_KEY);
	assert_int_equal(sg_mlkem768_check_ek(NULL, 1184), SG_ERR_KEY);
	assert_int_equal(sg_mlkem768_check_ek(ek, sizeof(ek)), 0);
}

static void test_dk_check(void **state)
{
	static const uint8_t zero_ss[32];
	uint8_t ek[SG_MLKEM768_EK_LEN], dk[SG_MLKEM768_DK_LEN];
	uint8_t bad[SG_MLKEM768_DK_LEN], ct[SG_MLKEM768_CT_LEN], ss[32];
	uint8_t m[32] = {9};
	sg_test_rng rng;
	size_t i;
	(void)state;

	sg_test_rng_seed(&rng, 5);
	fresh_key(&rng, ek, dk);
	assert_int_equal(sg_mlkem768_encaps(ct, ss, ek, m), 0);
	assert_int_equal(sg_mlkem768_check_dk(dk, sizeof(dk)), 0);
	/* Any change to the embedded ek or to H(ek) fails the hash check. */
	for (i = EK_OFF; i < Z_OFF; i += 37) {
		memcpy(bad, dk, sizeof(dk));
		bad[i] ^= 0x10;
		assert_int_equal(sg_mlkem768_check_dk(bad, sizeof(bad)),
				 SG_ERR_KEY);
		memset(ss, 0x55, sizeof(ss));
		assert_int_equal(sg_mlkem768_decaps(ss, ct, bad), SG_ERR_KEY);
		assert_memory_equal(ss, zero_ss, 32);
	}
	memcpy(bad, dk, sizeof(dk));
	bad[Z_OFF - 1] ^= 1; /* last byte of H(ek) */
	assert_int_equal(sg_mlkem768_check_dk(bad, sizeof(bad)), SG_ERR_KEY);
	/* dk_PKE and z are outside the check (section 7.3). */
	memcpy(bad, dk, sizeof(dk));
	bad[0] ^= 1;
	bad[Z_OFF] ^= 1;
	assert_int_equal(sg_mlkem768_check_dk(bad, sizeof(bad)), 0);
	/* Wrong lengths and NULL. */
	assert_int_equal(sg_mlkem768_check_dk(dk, 2399), SG_ERR_KEY);
	assert_int_equal(sg_mlkem768_check_dk(dk, 2401), SG_ERR_KEY);
	assert_int_equal(sg_mlkem768_check_dk(dk, 0), SG_ERR_KEY);
	assert_int_equal(sg_mlkem768_check_dk(NULL, 2400), SG_ERR_KEY);
}

static void test_null_arguments(void **state)
{
	uint8_t ek[SG_MLKEM768_EK_LEN], dk[SG_MLKEM768_DK_LEN];
	uint8_t ct[SG_MLKEM768_CT_LEN], ss[32], seed[64] = {0}, m[32] = {0};
	(void)state;

	assert_int_equal(sg_mlkem768_keypair(NULL, dk, seed), SG_ERR_INVAL);
	assert_int_equal(sg_mlkem768_keypair(ek, NULL, seed), SG_ERR_INVAL);
	assert_int_equal(sg_mlkem768_keypair(ek, dk, NULL), SG_ERR_INVAL);
	assert_int_equal(sg_mlkem768_keypair(ek, dk, seed), 0);
	assert_int_equal(sg_mlkem768_encaps(NULL, ss, ek, m), SG_ERR_INVAL);
	assert_int_equal(sg_mlkem768_encaps(ct, NULL, ek, m), SG_ERR_INVAL);
	assert_int_equal(sg_mlkem768_encaps(ct, ss, NULL, m), SG_ERR_INVAL);
	assert_int_equal(sg_mlkem768_encaps(ct, ss, ek, NULL), SG_ERR_INVAL);
	assert_int_equal(sg_mlkem768_encaps(ct, ss, ek, m), 0);
	assert_int_equal(sg_mlkem768_decaps(NULL, ct, dk), SG_ERR_INVAL);
	assert_int_equal(sg_mlkem768_decaps(ss, NULL, dk), SG_ERR_INVAL);
	assert_int_equal(sg_mlkem768_decaps(ss, ct, NULL), SG_ERR_INVAL);
}

/* Different messages give different ciphertexts and secrets, and the
 * secret is not the bare message. */
static void test_distinct_outputs(void **state)
{
	uint8_t ek[SG_MLKEM768_EK_LEN], dk[SG_MLKEM768_DK_LEN];
	uint8_t ct1[SG_MLKEM768_CT_LEN], ct2[SG_MLKEM768_CT_LEN];
	uint8_t ss1[32], ss2[32], m[32];
	sg_test_rng rng;
	(void)state;

	sg_test_rng_seed(&rng, 6);
	fresh_key(&rng, ek, dk);
	sg_test_rng_bytes(&rng, m, sizeof(m));
	assert_int_equal(sg_mlkem768_encaps(ct1, ss1, ek, m), 0);
	assert_memory_not_equal(ss1, m, 32);
	m[31] ^= 0x80;
	assert_int_equal(sg_mlkem768_encaps(ct2, ss2, ek, m), 0);
	assert_memory_not_equal(ct1, ct2, sizeof(ct1));
	assert_memory_not_equal(ss1, ss2, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_z_only_in_dk),
		cmocka_unit_test(test_implicit_rejection_every_bit),
		cmocka_unit_test(test_ek_check),
		cmocka_unit_test(test_dk_check),
		cmocka_unit_test(test_null_arguments),
		cmocka_unit_test(test_distinct_outputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
