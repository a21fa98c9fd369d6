/*
 * ML-DSA-65 against the NIST ACVP vectors (FIPS 204 final) in
 * ../shared/vectors/mldsa: keyGen (Algorithm 6), sigGen FIPS204 and
 * FIPS204-tr1 (prompt joined with expectedResults on tgId/tcId; external
 * pure with context, internal with mu, internal with M'; deterministic and
 * hedged; expanded and seed key formats) and sigVer. HashML-DSA (preHash)
 * groups are skipped by their preHash field and counted, and the exact
 * numbers of cases run and skipped are asserted.
 */
#include "testutil.h"
#include "json.h"
#include "sg/mldsa65.h"
#include "sg/err.h"

#include <stdlib.h>
#include <string.h>

static json *load(const char *name)
{
	char rel[256];
	json *v;

	snprintf(rel, sizeof(rel), "mldsa/%s", name);
	v = json_parse_file(sg_test_vector_path(rel));
	assert_non_null(v);
	return v;
}

static uint8_t *hex_len(const json *obj, const char *key, size_t want)
{
	size_t n;
	uint8_t *p = json_req_hex(obj, key, &n);

	assert_int_equal(n, want);
	return p;
}

static void test_keygen(void **state)
{
	json *v = load("ML-DSA-65-keyGen-FIPS204-internalProjection.json");
	const json *groups = json_req(v, "testGroups", JSON_ARRAY);
	size_t g, t, run = 0;
	(void)state;

	for (g = 0; g < groups->n; g++) {
		const json *tests =
		    json_req(groups->items[g], "tests", JSON_ARRAY);
		assert_string_equal(
		    json_req_str(groups->items[g], "parameterSet"),
		    "ML-DSA-65");
		for (t = 0; t < tests->n; t++) {
			const json *c = tests->items[t];
			uint8_t *seed = hex_len(c, "seed", 32);
			uint8_t *pk = hex_len(c, "pk", SG_MLDSA65_PK_LEN);
			uint8_t *sk = hex_len(c, "sk", SG_MLDSA65_SK_LEN);
			uint8_t gpk[SG_MLDSA65_PK_LEN], gsk[SG_MLDSA65_SK_LEN];

			assert_int_equal(sg_mldsa65_keypair(gpk, gsk, seed), 0);
			assert_memory_equal(gpk, pk, sizeof(gpk));
			assert_memory_equal(gsk, sk, sizeof(gsk));
			free(seed);
			free(pk);
			free(sk);
			run++;
		}
	}
	assert_int_equal(run, 25);
	json_free(v);
}

static const json *find_by_id(const json *arr, const char *key, long long id)
{
	size_t i;

	for (i = 0; i < arr->n; i++)
		if (json_req_int(arr->items[i], key) == id)
			return arr->items[i];
	fail_msg("%s %lld not found", key, id);
	return NULL;
}

static int is_str(const json *obj, const char *key, const char *want)
{
	const json *m = json_get(obj, key);

	return m && m->type == JSON_STRING && strcmp(m->str, want) == 0;
}

static void run_siggen(const char *prompt_name, const char *exp_name,
		       size_t want_run, size_t want_skip)
{
	json *pv = load(prompt_name), *ev = load(exp_name);
	const json *pgroups = json_req(pv, "testGroups", JSON_ARRAY);
	const json *egroups = json_req(ev, "testGroups", JSON_ARRAY);
	size_t g, t, run = 0, skip = 0, by_kind[6] = {0};
	sg_mldsa65_xsk *xsk = malloc(sizeof(*xsk));
	uint8_t xsig[SG_MLDSA65_SIG_LEN];

	assert_non_null(xsk);

	for (g = 0; g < pgroups->n; g++) {
		const json *grp = pgroups->items[g];
		long long tgid = json_req_int(grp, "tgId");
		const json *tests = json_req(grp, "tests", JSON_ARRAY);
		const json *etests = json_req(find_by_id(egroups, "tgId", tgid),
					      "tests", JSON_ARRAY);
		int det = json_req_bool(grp, "deterministic");
		int external = is_str(grp, "signatureInterface", "external");
		int seedkey = is_str(grp, "keyFormat", "seed");
		int emu = 0;

		assert_string_equal(json_req_str(grp, "parameterSet"),
				    "ML-DSA-65");
		if (external) {
			const char *ph = json_req_str(grp, "preHash");

			if (strcmp(ph, "preHash") == 0) {
				skip += tests->n; /* HashML-DSA: not offered */
				continue;
			}
			assert_string_equal(ph, "pure");
		} else {
			assert_true(
			    is_str(grp, "signatureInterface", "internal"));
			emu = json_req_bool(grp, "externalMu");
		}
		for (t = 0; t < tests->n; t++) {
			const json *c = tests->items[t];
			long long tcid = json_req_int(c, "tcId");
			uint8_t *exp = hex_len(find_by_id(etests, "tcId", tcid),
					       "signature", SG_MLDSA65_SIG_LEN);
			uint8_t sig[SG_MLDSA65_SIG_LEN];
			uint8_t pk[SG_MLDSA65_PK_LEN], *sk, *rnd = NULL;

			if (seedkey) {
				uint8_t *seed = hex_len(c, "seed", 32);

				sk = malloc(SG_MLDSA65_SK_LEN);
				assert_non_null(sk);
				assert_int_equal(
				    sg_mldsa65_keypair(pk, sk, seed), 0);
				free(seed);
			} else {
				sk = hex_len(c, "sk", SG_MLDSA65_SK_LEN);
			}
			if (!det)
				rnd = hex_len(c, "rnd", 32);
			else
				assert_null(json_get(c, "rnd"));

			if (external) {
				size_t mlen, clen;
				uint8_t *msg =
				    json_req_hex(c, "message", &mlen);
				uint8_t *ctx =
				    json_req_hex(c, "context", &clen);

				assert_int_equal(sg_mldsa65_sign(sig, msg, mlen,
								 ctx, clen, sk,
								 rnd),
						 0);
				if (seedkey)
					assert_int_equal(
					    sg_mldsa65_verify(sig, sizeof(sig),
							      msg, mlen, ctx,
							      clen, pk),
					    0);
				/* The expanded key gives the same bytes. */
				sg_mldsa65_expand_sk(xsk, sk);
				assert_int_equal(
				    sg_mldsa65_sign_expanded(
					xsig, msg, mlen, ctx, clen, xsk, rnd),
				    0);
				assert_memory_equal(xsig, exp, sizeof(xsig));
				free(msg);
				free(ctx);
				by_kind[0]++;
			} else if (emu) {
				uint8_t *m = hex_len(c, "mu", 64);

				assert_int_equal(
				    sg_mldsa65_sign_mu(sig, m, sk, rnd), 0);
				sg_mldsa65_expand_sk(xsk, sk);
				assert_int_equal(sg_mldsa65_sign_mu_expanded(
						     xsig, m, xsk, rnd),
						 0);
				assert_memory_equal(xsig, exp, sizeof(xsig));
				if (seedkey)
					assert_int_equal(
					    sg_mldsa65_verify_mu(
						sig, sizeof(sig), m, pk),
					    0);
				free(m);
				by_kind[1]++;
			} else {
				size_t mlen;
				uint8_t *msg =
				    json_req_hex(c, "message", &mlen);

				assert_int_equal(sg_mldsa65_sign_internal(
						     sig, msg, mlen, sk, rnd),
						 0);
				if (seedkey)
					assert_int_equal(
					    sg_mldsa65_verify_internal(
						sig, sizeof(sig), msg, mlen,
						pk),
					    0);
				free(msg);
				by_kind[2]++;
			}
			if (memcmp(sig, exp, sizeof(sig)) != 0)
				fail_msg("%s tgId %lld tcId %lld: signature "
					 "differs",
					 prompt_name, tgid, tcid);
			by_kind[3 + (det ? 0 : 1)]++;
			free(exp);
			free(sk);
			free(rnd);
			run++;
		}
	}
	assert_int_equal(run, want_run);
	assert_int_equal(skip, want_skip);
	/* Every interface, deterministic and hedged, was exercised. */
	assert_int_equal(by_kind[0], want_run / 3);
	assert_int_equal(by_kind[1], want_run / 3);
	assert_int_equal(by_kind[2], want_run / 3);
	assert_int_equal(by_kind[3], want_run / 2);
	assert_int_equal(by_kind[4], want_run / 2);
	sg_mldsa65_xsk_wipe(xsk);
	free(xsk);
	json_free(pv);
	json_free(ev);
}

static void test_siggen(void **state)
{
	(void)state;
	/* 8 groups x 15: 6 pure (90 cases), 2 preHash (30 skipped). */
	run_siggen("ML-DSA-65-sigGen-FIPS204-prompt.json",
		   "ML-DSA-65-sigGen-FIPS204-expectedResults.json", 90, 30);
}

static void test_siggen_tr1(void **state)
{
	(void)state;
	/* 16 groups x 15: 12 pure (180 cases), 4 preHash (60 skipped). */
	run_siggen("ML-DSA-65-sigGen-FIPS204-tr1-prompt.json",
		   "ML-DSA-65-sigGen-FIPS204-tr1-expectedResults.json", 180,
		   60);
}

static void test_sigver(void **state)
{
	json *v = load("ML-DSA-65-sigVer-FIPS204-internalProjection.json");
	const json *groups = json_req(v, "testGroups", JSON_ARRAY);
	size_t g, t, run = 0, skip = 0, accepted = 0, rejected = 0;
	(void)state;

	for (g = 0; g < groups->n; g++) {
		const json *grp = groups->items[g];
		const json *tests = json_req(grp, "tests", JSON_ARRAY);
		const char *ph = json_req_str(grp, "preHash");
		int external = is_str(grp, "signatureInterface", "external");
		int emu = json_req_bool(grp, "externalMu");

		if (strcmp(ph, "preHash") == 0) {
			skip += tests->n;
			continue;
		}
		for (t = 0; t < tests->n; t++) {
			const json *c = tests->items[t];
			uint8_t *pk = hex_len(c, "pk", SG_MLDSA65_PK_LEN);
			size_t slen, mlen, clen;
			uint8_t *sig = json_req_hex(c, "signature", &slen);
			int want = json_req_bool(c, "testPassed"), rc;

			if (external) {
				uint8_t *msg =
				    json_req_hex(c, "message", &mlen);
				uint8_t *ctx =
				    json_req_hex(c, "context", &clen);

				rc = sg_mldsa65_verify(sig, slen, msg, mlen,
						       ctx, clen, pk);
				free(msg);
				free(ctx);
			} else if (emu) {
				uint8_t *m = hex_len(c, "mu", 64);

				rc = sg_mldsa65_verify_mu(sig, slen, m, pk);
				free(m);
			} else {
				uint8_t *msg =
				    json_req_hex(c, "message", &mlen);

				rc = sg_mldsa65_verify_internal(sig, slen, msg,
								mlen, pk);
				free(msg);
			}
			if (want) {
				assert_int_equal(rc, 0);
				accepted++;
			} else {
				if (rc != SG_ERR_VERIFY)
					fail_msg("tcId %lld (%s) not rejected",
						 json_req_int(c, "tcId"),
						 json_req_str(c, "reason"));
				rejected++;
			}
			free(pk);
			free(sig);
			run++;
		}
	}
	assert_int_equal(run, 45);
	assert_int_equal(skip, 15);
	assert_int_equal(accepted, 9);
	assert_int_equal(rejected, 36);
	json_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keygen),
	    cmocka_unit_test(test_siggen),
	    cmocka_unit_test(test_siggen_tr1),
	    cmocka_unit_test(test_sigver),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
