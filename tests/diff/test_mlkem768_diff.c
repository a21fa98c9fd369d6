/*
 * ML-KEM-768 against @noble/post-quantum 0.7.1 (an independent FIPS 203
 * implementation, tests/oracle/mlkem768.mjs): for 1,000 random key seeds
 * and messages, our keypair, encaps and decaps must produce byte-identical
 * ek, dk, ciphertext and shared secret, and decapsulating the oracle's
 * ciphertext with one flipped bit must give its implicit-rejection secret.
 */
#include "testutil.h"
#include "json.h"
#include "sg/mlkem768.h"

#include <stdlib.h>
#include <string.h>

#define CASES 1000

static uint8_t *hex_exact(const json *t, const char *key, size_t len)
{
	size_t n;
	uint8_t *p = json_req_hex(t, key, &n);

	assert_int_equal(n, len);
	return p;
}

static void test_against_noble(void **state)
{
	char cmd[4096];
	size_t out_len, cases = 0;
	char *text, *line, *save = NULL;
	(void)state;

	snprintf(cmd, sizeof(cmd), "node '%s/mlkem768.mjs' %d 203",
		 getenv("SG_ORACLE_DIR"), CASES);
	text = sg_test_run_capture(cmd, &out_len);
	assert_non_null(text);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		json *c = json_parse(line, strlen(line));
		uint8_t *seed, *m, *ek, *dk, *ct, *ss, *bad_ct, *bad_ss;
		uint8_t got_ek[SG_MLKEM768_EK_LEN], got_dk[SG_MLKEM768_DK_LEN];
		uint8_t got_ct[SG_MLKEM768_CT_LEN], got_ss[32], got_ss2[32];

		assert_non_null(c);
		seed = hex_exact(c, "seed", SG_MLKEM768_SEED_LEN);
		m = hex_exact(c, "m", 32);
		ek = hex_exact(c, "ek", SG_MLKEM768_EK_LEN);
		dk = hex_exact(c, "dk", SG_MLKEM768_DK_LEN);
		ct = hex_exact(c, "ct", SG_MLKEM768_CT_LEN);
		ss = hex_exact(c, "ss", 32);
		bad_ct = hex_exact(c, "bad_ct", SG_MLKEM768_CT_LEN);
		bad_ss = hex_exact(c, "bad_ss", 32);

		assert_int_equal(sg_mlkem768_keypair(got_ek, got_dk, seed), 0);
		if (memcmp(got_ek, ek, sizeof(got_ek)) != 0 ||
		    memcmp(got_dk, dk, sizeof(got_dk)) != 0) {
			sg_test_dump("seed", seed, SG_MLKEM768_SEED_LEN);
			fail_msg("keypair differs in case %zu", cases);
		}
		assert_int_equal(sg_mlkem768_encaps(got_ct, got_ss, ek, m), 0);
		if (memcmp(got_ct, ct, sizeof(got_ct)) != 0 ||
		    memcmp(got_ss, ss, 32) != 0) {
			sg_test_dump("m", m, 32);
			fail_msg("encaps differs in case %zu", cases);
		}
		assert_int_equal(sg_mlkem768_decaps(got_ss2, ct, dk), 0);
		assert_memory_equal(got_ss2, ss, 32);
		assert_int_equal(sg_mlkem768_decaps(got_ss2, bad_ct, dk), 0);
		if (memcmp(got_ss2, bad_ss, 32) != 0)
			fail_msg("implicit rejection differs in case %zu",
				 cases);
		assert_memory_not_equal(got_ss2, ss, 32);

		free(seed);
		free(m);
		free(ek);
		free(dk);
		free(ct);
		free(ss);
		free(bad_ct);
		free(bad_ss);
		json_free(c);
		cases++;
	}
	assert_int_equal(cases, CASES);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_noble),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
