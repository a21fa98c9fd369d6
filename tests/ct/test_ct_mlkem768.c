/*
 * Constant-time check of ML-KEM-768 under valgrind memcheck ("ctgrind"):
 * the key seed, the secret parts of dk (dk_PKE and z) and the encapsulation
 * message m are marked undefined, so memcheck reports any branch or memory
 * index that depends on them, and ctest's --error-exitcode=3 fails the test.
 * Only what FIPS 203 makes public is declassified: ek and the ciphertext
 * (outputs that are sent), the ek and H(ek) copies inside dk, and (inside
 * the library) rho before the matrix is sampled. Runs keypair, encaps and
 * decaps on valid, bit-flipped and random ciphertexts, so both outcomes of
 * the implicit-rejection choice are exercised.
 */
#include "testutil.h"
#include "sg/mlkem768.h"

#include <string.h>
#include <valgrind/memcheck.h>

#define secret(p, len) VALGRIND_MAKE_MEM_UNDEFINED((p), (len))
#define public(p, len) VALGRIND_MAKE_MEM_DEFINED((p), (len))

#define EK_OFF 1152
#define Z_OFF 2368

static void test_constant_time(void **state)
{
	uint8_t seed[SG_MLKEM768_SEED_LEN], m[32];
	uint8_t ek[SG_MLKEM768_EK_LEN], dk[SG_MLKEM768_DK_LEN];
	uint8_t ct[SG_MLKEM768_CT_LEN], bad[SG_MLKEM768_CT_LEN];
	uint8_t ss[32], ss2[32], ss3[32];
	sg_test_rng rng;
	int iter;
	(void)state;

	sg_test_rng_seed(&rng, 11);
	for (iter = 0; iter < 3; iter++) {
		sg_test_rng_bytes(&rng, seed, sizeof(seed));
		sg_test_rng_bytes(&rng, m, sizeof(m));
		secret(seed, sizeof(seed));
		secret(m, sizeof(m));

		assert_int_equal(sg_mlkem768_keypair(ek, dk, seed), 0);
		/* Public: ek, and its copy and hash inside dk. */
		public(ek, sizeof(ek));
		public(dk + EK_OFF, Z_OFF - EK_OFF);
		/* dk_PKE came from secrets and must still count as secret
		 * (the test is only meaningful if taint flows through). */
		if (RUNNING_ON_VALGRIND) {
			uint8_t vbits[EK_OFF];
			size_t i, undefined = 0;

			assert_int_equal(VALGRIND_GET_VBITS(dk, vbits, EK_OFF),
					 1);
			for (i = 0; i < EK_OFF; i++)
				undefined += vbits[i] != 0;
			assert_int_equal(undefined, EK_OFF);
		}

		assert_int_equal(sg_mlkem768_encaps(ct, ss, ek, m), 0);
		public(ct, sizeof(ct));

		/* Valid ciphertext: K' is chosen. */
		assert_int_equal(sg_mlkem768_decaps(ss2, ct, dk), 0);
		/* A flipped bit: K-bar is chosen. */
		memcpy(bad, ct, sizeof(ct));
		bad[(size_t)iter * 301 % sizeof(bad)] ^= 0x08;
		assert_int_equal(sg_mlkem768_decaps(ss3, bad, dk), 0);

		/* Checking the results is the test's business, not the
		 * library's: declassify them only now. */
		public(ss, sizeof(ss));
		public(ss2, sizeof(ss2));
		public(ss3, sizeof(ss3));
		assert_memory_equal(ss, ss2, 32);
		assert_memory_not_equal(ss, ss3, 32);

		/* A random ciphertext. */
		sg_test_rng_bytes(&rng, bad, sizeof(bad));
		assert_int_equal(sg_mlkem768_decaps(ss3, bad, dk), 0);
		public(ss3, sizeof(ss3));
		assert_memory_not_equal(ss, ss3, 32);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_constant_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
