/*
 * ML-KEM-768 against every NIST ACVP case in ../shared/vectors/mlkem
 * (FIPS 203 final; formats in vectors/SOURCES.md): keyGen (25), encapDecap
 * FIPS203 (encapsulation, decapsulation, both key checks: 55) and
 * encapDecap FIPS203-tr1 (65, including decapsulation from a seed-format
 * key, where the dk derived from d || z must equal the given one). The exact
 * number of cases of each kind is asserted, so an empty loop cannot pass.
 */
#include "testutil.h"
#include "json.h"
#include "sg/err.h"
#include "sg/mlkem768.h"

#include <stdlib.h>
#include <string.h>

static const json *load_groups(json **root, const char *rel)
{
	*root = json_parse_file(sg_test_vector_path(rel));
	assert_non_null(*root);
	return json_req(*root, "testGroups", JSON_ARRAY);
}

/* Decodes a hex member that must have exactly len bytes. */
static uint8_t *hex_exact(const json *t, const char *key, size_t len)
{
	size_t n;
	uint8_t *p = json_req_hex(t, key, &n);

	assert_int_equal(n, len);
	return p;
}

static void test_keygen(void **state)
{
	json *root;
	const json *groups = load_groups(
		&root, "mlkem/ML-KEM-768-keyGen-FIPS203-internalProjection"
		       ".json");
	size_t g, i, cases = 0;
	(void)state;

	for (g = 0; g < groups->n; g++) {
		const json *tests = json_req(groups->items[g], "tests",
					     JSON_ARRAY);

		assert_string_equal(json_req_str(groups->items[g],
						 "parameterSet"),
				    "ML-KEM-768");
		for (i = 0; i < tests->n; i++) {
			const json *t = tests->items[i];
			uint8_t *d = hex_exact(t, "d", 32);
			uint8_t *z = hex_exact(t, "z", 32);
			uint8_t *ek = hex_exact(t, "ek", SG_MLKEM768_EK_LEN);
			uint8_t *dk = hex_exact(t, "dk", SG_MLKEM768_DK_LEN);
			uint8_t seed[64], got_ek[SG_MLKEM768_EK_LEN];
			uint8_t got_dk[SG_MLKEM768_DK_LEN];

			memcpy(seed, d, 32);
			memcpy(seed + 32, z, 32);
			assert_int_equal(sg_mlkem768_keypair(got_ek, got_dk,
							     seed), 0);
			assert_memory_equal(got_ek, ek, sizeof(got_ek));
			assert_memory_equal(got_dk, dk, sizeof(got_dk));
			assert_int_equal(sg_mlkem768_check_ek(
						 got_ek, sizeof(got_ek)), 0);
			assert_int_equal(sg_mlkem768_check_dk(
						 got_dk, sizeof(got_dk)), 0);
			free(d);
			free(z);
			free(ek);
			free(dk);
			cases++;
		}
	}
	assert_int_equal(cases, 25);
	json_free(root);
}

typedef struct counts {
	size_t encaps, decaps, decaps_seed, dk_check, ek_check;
	size_t dk_bad, ek_bad, decaps_modified;
} counts;

static void run_encapsulation(const json *t, counts *n)
{
	uint8_t *ek = hex_exact(t, "ek", SG_MLKEM768_EK_LEN);
	uint8_t *dk = hex_exact(t, "dk", SG_MLKEM768_DK_LEN);
	uint8_t *m = hex_exact(t, "m", 32);
	uint8_t *c = hex_exact(t, "c", SG_MLKEM768_CT_LEN);
	uint8_t *k = hex_exact(t, "k", 32);
	uint8_t got_c[SG_MLKEM768_CT_LEN], got_k[32], got_k2[32];

	assert_int_equal(sg_mlkem768_encaps(got_c, got_k, ek, m), 0);
	assert_memory_equal(got_c, c, sizeof(got_c));
	assert_memory_equal(got_k, k, 32);
	/* The round trip through the given dk. */
	assert_int_equal(sg_mlkem768_decaps(got_k2, got_c, dk), 0);
	assert_memory_equal(got_k2, k, 32);
	free(ek);
	free(dk);
	free(m);
	free(c);
	free(k);
	n->encaps++;
}

static void run_decapsulation(const json *t, const char *format, counts *n)
{
	uint8_t *dk = hex_exact(t, "dk", SG_MLKEM768_DK_LEN);
	uint8_t *c = hex_exact(t, "c", SG_MLKEM768_CT_LEN);
	uint8_t *k = hex_exact(t, "k", 32);
	const char *reason = json_req_str(t, "reason");
	uint8_t got_k[32], key[SG_MLKEM768_DK_LEN];

	if (strcmp(format, "seed") == 0) {
		/* The private key is d || z: expand it, and check that the
		 * expansion equals the expanded form the vector also shows. */
		uint8_t *d = hex_exact(t, "d", 32);
		uint8_t *z = hex_exact(t, "z", 32);
		uint8_t *ek = hex_exact(t, "ek", SG_MLKEM768_EK_LEN);
		uint8_t seed[64], got_ek[SG_MLKEM768_EK_LEN];

		memcpy(seed, d, 32);
		memcpy(seed + 32, z, 32);
		assert_int_equal(sg_mlkem768_keypair(got_ek, key, seed), 0);
		assert_memory_equal(key, dk, sizeof(key));
		assert_memory_equal(got_ek, ek, sizeof(got_ek));
		free(d);
		free(z);
		free(ek);
		n->decaps_seed++;
	} else {
		memcpy(key, dk, sizeof(key));
	}
	assert_int_equal(sg_mlkem768_decaps(got_k, c, key), 0);
	assert_memory_equal(got_k, k, 32);
	if (strcmp(reason, "modified ciphertext") == 0)
		n->decaps_modified++;
	else
		assert_string_equal(reason, "valid decapsulation");
	free(dk);
	free(c);
	free(k);
	n->decaps++;
}

static void run_dk_check(const json *t, counts *n)
{
	uint8_t *dk = hex_exact(t, "dk", SG_MLKEM768_DK_LEN);
	int pass = json_req_bool(t, "testPassed");
	uint8_t ct[SG_MLKEM768_CT_LEN] = {0}, ss[32];

	assert_int_equal(sg_mlkem768_check_dk(dk, SG_MLKEM768_DK_LEN),
			 pass ? 0 : SG_ERR_KEY);
	/* Decapsulation runs the same check first. */
	memset(ss, 0xa5, sizeof(ss));
	assert_int_equal(sg_mlkem768_decaps(ss, ct, dk),
			 pass ? 0 : SG_ERR_KEY);
	if (!pass) {
		static const uint8_t zero[32];

		assert_memory_equal(ss, zero, 32);
		n->dk_bad++;
	}
	free(dk);
	n->dk_check++;
}

static void run_ek_check(const json *t, counts *n)
{
	uint8_t *ek = hex_exact(t, "ek", SG_MLKEM768_EK_LEN);
	int pass = json_req_bool(t, "testPassed");
	uint8_t m[32] = {1}, ct[SG_MLKEM768_CT_LEN], ss[32];

	assert_int_equal(sg_mlkem768_check_ek(ek, SG_MLKEM768_EK_LEN),
			 pass ? 0 : SG_ERR_KEY);
	assert_int_equal(sg_mlkem768_encaps(ct, ss, ek, m),
			 pass ? 0 : SG_ERR_KEY);
	if (!pass)
		n->ek_bad++;
	free(ek);
	n->ek_check++;
}

static counts run_encap_decap_file(const char *rel)
{
	json *root;
	const json *groups = load_groups(&root, rel);
	counts n;
	size_t g, i;

	memset(&n, 0, sizeof(n));
	for (g = 0; g < groups->n; g++) {
		const json *grp = groups->items[g];
		const json *tests = json_req(grp, "tests", JSON_ARRAY);
		const char *fn = json_req_str(grp, "function");
		const json *kf = json_get(grp, "keyFormat");
		const char *format = kf ? kf->str : "expanded";

		assert_string_equal(json_req_str(grp, "parameterSet"),
				    "ML-KEM-768");
		for (i = 0; i < tests->n; i++) {
			const json *t = tests->items[i];

			if (strcmp(fn, "encapsulation") == 0)
				run_encapsulation(t, &n);
			else if (strcmp(fn, "decapsulation") == 0)
				run_decapsulation(t, format, &n);
			else if (strcmp(fn, "decapsulationKeyCheck") == 0)
				run_dk_check(t, &n);
			else if (strcmp(fn, "encapsulationKeyCheck") == 0)
				run_ek_check(t, &n);
			else
				fail_msg("unknown function %s", fn);
		}
	}
	json_free(root);
	return n;
}

static void test_encap_decap(void **state)
{
	counts n = run_encap_decap_file(
		"mlkem/ML-KEM-768-encapDecap-FIPS203-internalProjection.json");
	(void)state;

	assert_int_equal(n.encaps, 25);
	assert_int_equal(n.decaps, 10);
	assert_int_equal(n.decaps_modified, 5);
	assert_int_equal(n.decaps_seed, 0);
	assert_int_equal(n.dk_check, 10);
	assert_int_equal(n.dk_bad, 5);
	assert_int_equal(n.ek_check, 10);
	assert_int_equal(n.ek_bad, 5);
}

static void test_encap_decap_tr1(void **state)
{
	counts n = run_encap_decap_file("mlkem/ML-KEM-768-encapDecap-"
					"FIPS203-tr1-internalProjection.json");
	(void)state;

	assert_int_equal(n.encaps, 25);
	assert_int_equal(n.decaps, 20);
	assert_int_equal(n.decaps_modified, 10);
	assert_int_equal(n.decaps_seed, 10);
	assert_int_equal(n.dk_check, 10);
	assert_int_equal(n.dk_bad, 5);
	assert_int_equal(n.ek_check, 10);
	assert_int_equal(n.ek_bad, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keygen),
		cmocka_unit_test(test_encap_decap),
		cmocka_unit_test(test_encap_decap_tr1),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
