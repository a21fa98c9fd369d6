/*
 * ML-DSA-65 (FIPS 204) key generation, signing and verification, one core.
 * Signing repeats a random number of times (rejection sampling), so each
 * signing call uses a fresh message and the median is what counts.
 * "sign, expanded sk" is signing with sg_mldsa65_xsk (what sg_identity_sign
 * does for an expanded identity, as a node's is).
 * Targets (DESIGN.md section 4, PQClean "clean" on these machines): keygen
 * >= 6,000/s, sign >= 1,900/s (median), verify >= 6,200/s.
 */
#include "bench.h"

#include <stdio.h>
#include <string.h>

#include "sg/mldsa65.h"

typedef struct {
	uint8_t seed[SG_MLDSA65_SEED_LEN];
	uint8_t pk[SG_MLDSA65_PK_LEN];
	uint8_t sk[SG_MLDSA65_SK_LEN];
	sg_mldsa65_xsk xsk;
	uint8_t sig[SG_MLDSA65_SIG_LEN];
	uint8_t msg[64];
	uint64_t counter;
} dsa_arg;

static void do_keygen(void *p)
{
	dsa_arg *a = p;

	a->seed[0]++;
	(void)sg_mldsa65_keypair(a->pk, a->sk, a->seed);
	sg_bench_sink(a->pk, 1);
}

static void do_sign(void *p)
{
	dsa_arg *a = p;

	/* A different message each time, so the number of attempts varies
	 * as it does in use. */
	a->counter++;
	memcpy(a->msg, &a->counter, sizeof(a->counter));
	(void)sg_mldsa65_sign(a->sig, a->msg, sizeof(a->msg),
			      (const uint8_t *)"bench", 5, a->sk, NULL);
	sg_bench_sink(a->sig, 1);
}

/* The same with the key expanded once (sg_identity_sign's path). */
static void do_sign_expanded(void *p)
{
	dsa_arg *a = p;

	a->counter++;
	memcpy(a->msg, &a->counter, sizeof(a->counter));
	(void)sg_mldsa65_sign_expanded(a->sig, a->msg, sizeof(a->msg),
				       (const uint8_t *)"bench", 5, &a->xsk,
				       NULL);
	sg_bench_sink(a->sig, 1);
}

static void do_expand(void *p)
{
	dsa_arg *a = p;

	sg_mldsa65_expand_sk(&a->xsk, a->sk);
	sg_bench_sink(a->xsk.a[0][0], 4);
}

static void do_verify(void *p)
{
	dsa_arg *a = p;
	int rc =
	    sg_mldsa65_verify(a->sig, sizeof(a->sig), a->msg, sizeof(a->msg),
			      (const uint8_t *)"bench", 5, a->pk);

	sg_bench_sink(&rc, sizeof(rc));
}

SG_BENCH_SUITE(bench_mldsa65, "mldsa", "ML-DSA-65 keygen, sign, verify")
{
	static dsa_arg a;
	sg_bench_result r;

	memset(&a, 0, sizeof(a));
	memset(a.seed, 0x42, sizeof(a.seed));
	sg_bench_measure(&r, do_keygen, &a, opts, 2000);
	sg_bench_print_ops("mldsa65 keygen", &r);

	(void)sg_mldsa65_keypair(a.pk, a.sk, a.seed);
	sg_bench_measure(&r, do_sign, &a, opts, 3000);
	sg_bench_print_ops("mldsa65 sign", &r);

	sg_bench_measure(&r, do_expand, &a, opts, 2000);
	sg_bench_print_ops("mldsa65 expand sk", &r);
	sg_bench_measure(&r, do_sign_expanded, &a, opts, 3000);
	sg_bench_print_ops("mldsa65 sign, expanded sk", &r);

	do_sign(&a);
	if (sg_mldsa65_verify(a.sig, sizeof(a.sig), a.msg, sizeof(a.msg),
			      (const uint8_t *)"bench", 5, a.pk) != 0) {
		fprintf(stderr, "mldsa65: signature does not verify\n");
		return;
	}
	sg_bench_measure(&r, do_verify, &a, opts, 2000);
	sg_bench_print_ops("mldsa65 verify", &r);
}
