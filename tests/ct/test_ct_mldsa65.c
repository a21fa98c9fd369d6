/*
 * Constant-time check of ML-DSA-65 key generation and signing ("ctgrind"):
 * the seed, the secret key and rnd are marked undefined for valgrind's
 * memcheck, which then reports any branch, memory index or system call
 * that depends on them. The library declassifies only what FIPS 204 makes
 * public (rho, the accept/reject decisions of rejection sampling, the
 * accepted signature); this test declassifies the outputs pk and sig before
 * using them. Run under `valgrind -q --error-exitcode=3`: any report fails.
 */
#include <stdio.h>
#include <string.h>

#include <valgrind/memcheck.h>

#include "sg/mldsa65.h"

#define SECRET(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#define PUBLIC(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))

int main(void)
{
	static uint8_t pk[SG_MLDSA65_PK_LEN], sk[SG_MLDSA65_SK_LEN];
	static uint8_t sig[SG_MLDSA65_SIG_LEN];
	static sg_mldsa65_xsk xsk_storage;
	sg_mldsa65_xsk *xsk = &xsk_storage;
	uint8_t seed[32], rnd[32], msg[40], mu[64], tr[64];
	const uint8_t ctx[] = "ct";
	int i, rc, failures = 0, signs = 0;

	if (!RUNNING_ON_VALGRIND)
		fprintf(stderr, "note: not under valgrind, nothing is "
				"checked beyond correctness\n");
	for (i = 0; i < 3; i++) {
		memset(seed, 0x11 * (i + 1), sizeof(seed));
		memset(rnd, 0x5a + i, sizeof(rnd));
		memset(msg, 'm' + i, sizeof(msg));

		/* Key generation from a secret seed. */
		SECRET(seed, sizeof(seed));
		rc = sg_mldsa65_keypair(pk, sk, seed);
		PUBLIC(pk, sizeof(pk));
		failures += rc != 0;

		/* Hedged and deterministic signing with a secret key and a
		 * secret rnd, through each entry point. */
		SECRET(sk, sizeof(sk));
		SECRET(rnd, sizeof(rnd));
		rc = sg_mldsa65_sign(sig, msg, sizeof(msg), ctx, sizeof(ctx),
				     sk, rnd);
		PUBLIC(sig, sizeof(sig));
		failures += rc != 0;
		failures +=
		    sg_mldsa65_verify(sig, sizeof(sig), msg, sizeof(msg), ctx,
				      sizeof(ctx), pk) != 0;
		signs++;

		rc = sg_mldsa65_sign(sig, msg, sizeof(msg), NULL, 0, sk, NULL);
		PUBLIC(sig, sizeof(sig));
		failures += rc != 0;
		failures += sg_mldsa65_verify(sig, sizeof(sig), msg,
					      sizeof(msg), NULL, 0, pk) != 0;
		signs++;

		rc = sg_mldsa65_sign_internal(sig, msg, sizeof(msg), sk, rnd);
		PUBLIC(sig, sizeof(sig));
		failures += rc != 0;
		failures += sg_mldsa65_verify_internal(sig, sizeof(sig), msg,
						       sizeof(msg), pk) != 0;
		signs++;

		/* Through an expanded key: expansion and signing. */
		sg_mldsa65_expand_sk(xsk, sk);
		rc = sg_mldsa65_sign_expanded(sig, msg, sizeof(msg), ctx,
					      sizeof(ctx), xsk, rnd);
		PUBLIC(sig, sizeof(sig));
		failures += rc != 0;
		failures +=
		    sg_mldsa65_verify(sig, sizeof(sig), msg, sizeof(msg), ctx,
				      sizeof(ctx), pk) != 0;
		signs++;

		sg_mldsa65_tr(tr, pk);
		memcpy(mu, tr, sizeof(mu)); /* any 64 public bytes */
		rc = sg_mldsa65_sign_mu(sig, mu, sk, rnd);
		PUBLIC(sig, sizeof(sig));
		failures += rc != 0;
		failures += sg_mldsa65_verify_mu(sig, sizeof(sig), mu, pk) != 0;
		signs++;

		rc = sg_mldsa65_sign_mu_expanded(sig, mu, xsk, rnd);
		PUBLIC(sig, sizeof(sig));
		failures += rc != 0;
		failures += sg_mldsa65_verify_mu(sig, sizeof(sig), mu, pk) != 0;
		signs++;
	}
	sg_mldsa65_xsk_wipe(xsk);
	printf("ML-DSA-65: 3 key pairs, %d signatures, %d failures\n", signs,
	       failures);
	return failures == 0 && signs == 18 ? 0 : 1;
}
