/*
 * ML-DSA-65 against @noble/post-quantum 0.7.1 (an independent FIPS 204
 * implementation), both ways: for 1,000 random seeds, messages and contexts
 * noble's key pair and deterministic signature must equal ours byte for
 * byte, and ours must accept noble's signature; then 1,000 hedged
 * signatures of ours (every tenth deliberately corrupted, as a control) go
 * back to noble, which must accept exactly the uncorrupted ones.
 */
#include "testutil.h"
#include "json.h"
#include "sg/env.h"
#include "sg/err.h"
#include "sg/mldsa65.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CASES 1000

static void put_hex(FILE *f, const char *key, const uint8_t *p, size_t n,
		    int last)
{
	char *hex = malloc(2 * n + 1);

	assert_non_null(hex);
	assert_int_equal(sg_hex_encode(hex, 2 * n + 1, p, n), (long)(2 * n));
	fprintf(f, "\"%s\":\"%s\"%s", key, hex, last ? "" : ",");
	free(hex);
}

static void test_against_noble(void **state)
{
	char cmd[4096], path[] = "/tmp/sg_mldsa65_diff_XXXXXX";
	size_t out_len, cases = 0, corrupted = 0;
	char *text, *line, *save = NULL, *res;
	const json *m;
	json *r;
	sg_test_rng rng;
	FILE *f;
	int fd;
	(void)state;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);

	snprintf(cmd, sizeof(cmd), "node '%s/mldsa65.mjs' gen %d 20240813",
		 getenv("SG_ORACLE_DIR"), CASES);
	text = sg_test_run_capture(cmd, &out_len);
	assert_non_null(text);
	sg_test_rng_seed(&rng, 204);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		json *c = json_parse(line, strlen(line));
		size_t n, mlen, clen;
		uint8_t *seed, *pk, *sk, *msg, *ctx, *sig;
		uint8_t gpk[SG_MLDSA65_PK_LEN], gsk[SG_MLDSA65_SK_LEN];
		uint8_t gsig[SG_MLDSA65_SIG_LEN], rnd[32];
		int expect = 1;

		assert_non_null(c);
		seed = json_req_hex(c, "seed", &n);
		assert_int_equal(n, 32);
		pk = json_req_hex(c, "pk", &n);
		assert_int_equal(n, SG_MLDSA65_PK_LEN);
		sk = json_req_hex(c, "sk", &n);
		assert_int_equal(n, SG_MLDSA65_SK_LEN);
		sig = json_req_hex(c, "sig", &n);
		assert_int_equal(n, SG_MLDSA65_SIG_LEN);
		msg = json_req_hex(c, "msg", &mlen);
		ctx = json_req_hex(c, "ctx", &clen);

		/* noble -> us: same keys, same deterministic signature, and
		 * noble's signature verifies here. */
		assert_int_equal(sg_mldsa65_keypair(gpk, gsk, seed), 0);
		if (memcmp(gpk, pk, sizeof(gpk)) != 0 ||
		    memcmp(gsk, sk, sizeof(gsk)) != 0)
			fail_msg("case %zu: key pair differs", cases);
		assert_int_equal(
		    sg_mldsa65_sign(gsig, msg, mlen, ctx, clen, sk, NULL), 0);
		if (memcmp(gsig, sig, sizeof(gsig)) != 0)
			fail_msg("case %zu: signature differs", cases);
		assert_int_equal(
		    sg_mldsa65_verify(sig, n, msg, mlen, ctx, clen, pk), 0);

		/* us -> noble: a hedged signature of ours. */
		sg_test_rng_bytes(&rng, rnd, sizeof(rnd));
		assert_int_equal(
		    sg_mldsa65_sign(gsig, msg, mlen, ctx, clen, sk, rnd), 0);
		assert_int_equal(sg_mldsa65_verify(gsig, sizeof(gsig), msg,
						   mlen, ctx, clen, pk),
				 0);
		if (cases % 10 == 9) {
			gsig[sg_test_rng_u64(&rng) % sizeof(gsig)] ^=
			    (uint8_t)(1u << (sg_test_rng_u64(&rng) % 8));
			assert_int_equal(sg_mldsa65_verify(gsig, sizeof(gsig),
							   msg, mlen, ctx, clen,
							   pk),
					 SG_ERR_VERIFY);
			expect = 0;
			corrupted++;
		}
		fputc('{', f);
		put_hex(f, "pk", pk, SG_MLDSA65_PK_LEN, 0);
		put_hex(f, "msg", msg, mlen, 0);
		put_hex(f, "ctx", ctx, clen, 0);
		put_hex(f, "sig", gsig, sizeof(gsig), 0);
		fprintf(f, "\"expect\":%s}\n", expect ? "true" : "false");

		free(seed);
		free(pk);
		free(sk);
		free(sig);
		free(msg);
		free(ctx);
		json_free(c);
		cases++;
	}
	assert_int_equal(cases, CASES);
	free(text);
	assert_int_equal(fclose(f), 0);

	snprintf(cmd, sizeof(cmd), "node '%s/mldsa65.mjs' verify '%s'",
		 getenv("SG_ORACLE_DIR"), path);
	res = sg_test_run_capture(cmd, &out_len);
	unlink(path);
	assert_non_null(res);
	r = json_parse(res, out_len);
	assert_non_null(r);
	m = json_req(r, "checked", JSON_NUMBER);
	assert_int_equal(strtol(m->str, NULL, 10), CASES);
	assert_int_equal(json_req_int(r, "valid"), CASES - corrupted);
	assert_int_equal(json_req_int(r, "mismatches"), 0);
	assert_int_equal(corrupted, CASES / 10);
	json_free(r);
	free(res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_against_noble),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
