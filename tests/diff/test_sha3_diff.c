/*
 * SHA3-256/512 and SHAKE128/256 against @noble/hashes (an independent
 * implementation): 2,000 random messages of every length 0..600 (all block
 * boundaries of the 72, 136 and 168-byte rates) and larger, each computed
 * one-shot and incrementally with random absorb splits and squeeze chunks.
 */
#include "testutil.h"
#include "json.h"
#include "sg/sha3.h"

#include <stdlib.h>
#include <string.h>

static void init_alg(sg_keccak *c, const char *alg)
{
	if (strcmp(alg, "sha3-256") == 0)
		sg_sha3_256_init(c);
	else if (strcmp(alg, "sha3-512") == 0)
		sg_sha3_512_init(c);
	else if (strcmp(alg, "shake128") == 0)
		sg_shake128_init(c);
	else
		sg_shake256_init(c);
}

static void test_against_noble(void **state)
{
	char cmd[4096];
	size_t out_len, cases = 0;
	char *text, *line, *save = NULL;
	sg_test_rng rng;
	(void)state;

	snprintf(cmd, sizeof(cmd), "node '%s/sha3.mjs' 2000 7",
		 getenv("SG_ORACLE_DIR"));
	text = sg_test_run_capture(cmd, &out_len);
	assert_non_null(text);
	sg_test_rng_seed(&rng, 99);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		json *c = json_parse(line, strlen(line));
		size_t mlen, elen, n, off;
		uint8_t *msg, *exp, got[1024];
		const char *alg;
		sg_keccak k;

		assert_non_null(c);
		alg = json_req_str(c, "alg");
		msg = json_req_hex(c, "msg", &mlen);
		exp = json_req_hex(c, "out", &elen);
		n = (size_t)json_req_int(c, "outlen");
		assert_int_equal(n, elen);
		assert_true(n <= sizeof(got));

		/* One-shot. */
		if (strcmp(alg, "sha3-256") == 0)
			sg_sha3_256(got, msg, mlen);
		else if (strcmp(alg, "sha3-512") == 0)
			sg_sha3_512(got, msg, mlen);
		else if (strcmp(alg, "shake128") == 0)
			sg_shake128(got, n, msg, mlen);
		else
			sg_shake256(got, n, msg, mlen);
		if (memcmp(got, exp, n) != 0) {
			fprintf(stderr, "%s mismatch at len %zu\n", alg, mlen);
			fail();
		}

		/* Incremental: random absorb splits, random squeeze chunks. */
		memset(got, 0, sizeof(got));
		init_alg(&k, alg);
		for (off = 0; off < mlen;) {
			size_t step = 1 + sg_test_rng_u64(&rng) % 200;
			if (step > mlen - off)
				step = mlen - off;
			assert_int_equal(sg_keccak_absorb(&k, msg + off, step), 0);
			off += step;
		}
		for (off = 0; off < n;) {
			size_t step = 1 + sg_test_rng_u64(&rng) % 300;
			if (step > n - off)
				step = n - off;
			sg_keccak_squeeze(&k, got + off, step);
			off += step;
		}
		assert_memory_equal(got, exp, n);
		free(msg);
		free(exp);
		json_free(c);
		cases++;
	}
	assert_int_equal(cases, 2000);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_noble),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
