/*
 * FIPS 202 unit tests: published digests of "" and "abc", the 200-byte
 * 0xa3 message from the NIST examples, every split point of a message, and
 * squeezing in every chunk size gives the same stream.
 */
#include "testutil.h"
#include "sg/err.h"
#include "sg/sha3.h"

#include <string.h>

static void check_hex(const uint8_t *got, const char *hex)
{
	size_t n;
	uint8_t *exp = sg_test_unhex(hex, strlen(hex), &n);
	assert_memory_equal(got, exp, n);
	free(exp);
}

static void test_known_answers(void **state)
{
	uint8_t out[64], a3[200];
	(void)state;

	sg_sha3_256(out, "", 0);
	check_hex(out, "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
	sg_sha3_256(out, "abc", 3);
	check_hex(out, "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532");
	sg_sha3_512(out, "abc", 3);
	check_hex(out, "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e"
		       "10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0");
	sg_shake128(out, 32, "", 0);
	check_hex(out, "7f9c2ba4e88f827d616045507605853ed73b8093f6efbc88eb1a6eacfa66ef26");
	sg_shake256(out, 64, "", 0);
	check_hex(out, "46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762f"
		       "d75dc4ddd8c0f200cb05019d67b592f6fc821c49479ab48640292eacb3b7c4be");
	/* NIST example: 1600 bits of 0xa3. */
	memset(a3, 0xa3, sizeof(a3));
	sg_sha3_256(out, a3, sizeof(a3));
	check_hex(out, "79f38adec5c20307a98ef76e8324afbfd46cfd81b22e3973c65fa1bd9de31787");
}

static void test_split_points(void **state)
{
	uint8_t msg[400], ref[96], got[96];
	size_t split, algs;
	sg_test_rng rng;
	void (*inits[4])(sg_keccak *) = {sg_sha3_256_init, sg_sha3_512_init,
					 sg_shake128_init, sg_shake256_init};
	size_t outs[4] = {32, 64, 96, 96};
	(void)state;

	sg_test_rng_seed(&rng, 1);
	sg_test_rng_bytes(&rng, msg, sizeof(msg));
	for (algs = 0; algs < 4; algs++) {
		sg_keccak k;
		inits[algs](&k);
		sg_keccak_absorb(&k, msg, sizeof(msg));
		sg_keccak_squeeze(&k, ref, outs[algs]);
		for (split = 0; split <= sizeof(msg); split++) {
			inits[algs](&k);
			assert_int_equal(sg_keccak_absorb(&k, msg, split), 0);
			assert_int_equal(sg_keccak_absorb(&k, msg + split,
							  sizeof(msg) - split), 0);
			sg_keccak_squeeze(&k, got, outs[algs]);
			assert_memory_equal(got, ref, outs[algs]);
		}
	}
}

static void test_squeeze_chunks(void **state)
{
	uint8_t ref[1000], got[1000];
	size_t chunk, off;
	(void)state;

	sg_shake128(ref, sizeof(ref), "seed", 4);
	for (chunk = 1; chunk <= 400; chunk++) {
		sg_keccak k;
		sg_shake128_init(&k);
		sg_keccak_absorb(&k, "seed", 4);
		for (off = 0; off < sizeof(got); off += chunk)
			sg_keccak_squeeze(&k, got + off,
					  chunk < sizeof(got) - off ? chunk
								    : sizeof(got) - off);
		assert_memory_equal(got, ref, sizeof(ref));
	}
}

static void test_absorb_after_squeeze(void **state)
{
	sg_keccak k;
	uint8_t out[8];
	(void)state;
	sg_shake256_init(&k);
	sg_keccak_squeeze(&k, out, sizeof(out));
	assert_int_equal(sg_keccak_absorb(&k, "x", 1), SG_ERR_STATE);
	sg_keccak_wipe(&k);
	assert_int_equal(k.s[0], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_split_points),
		cmocka_unit_test(test_squeeze_chunks),
		cmocka_unit_test(test_absorb_after_squeeze),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
