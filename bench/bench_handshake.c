/*
 * Suite "handshake": complete hybrid PQ handshakes per second, both sides
 * in memory on one core (docs/PROTOCOL.md, "Handshake"; no packets, no
 * encryption of the flights), next to the crypto-only bound: the public-key
 * work each side must do per handshake, timed as one composite operation.
 *   client: ML-KEM-768 keygen + decaps, X25519 base + DH, ML-DSA-65 sign +
 *           verify
 *   server: ML-KEM-768 encaps, X25519 base + DH, ML-DSA-65 sign + verify
 * Both identities are expanded (sg_identity_expand), as a node's is, so
 * signing uses the precomputed ML-DSA key.
 * DESIGN.md section 4: over loopback, where each process does one side,
 * handshakes/s should reach 70% of the one-side bound (the slower side);
 * here both sides share one core, so the comparable bound is the sum.
 */
#include "bench.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "sg/handshake.h"

typedef struct {
	sg_env env;
	sg_identity client, server;
	sg_handshake c, s;
	uint8_t tp[128];
	uint64_t counter;
	/* For the crypto-only bound. */
	uint8_t ek[SG_MLKEM768_EK_LEN], dk[SG_MLKEM768_DK_LEN];
	uint8_t ct[SG_MLKEM768_CT_LEN], ss[SG_MLKEM768_SS_LEN];
	uint8_t sig[SG_MLDSA65_SIG_LEN], msg[32], rnd[32], seed[64];
	uint8_t xsk[32], xpk[32], dh[32], peer_xpk[32];
	int failures;
} hs_arg;

static void do_handshake(void *p)
{
	hs_arg *a = p;
	int progress = 1;

	if (sg_handshake_init(&a->c, SG_HANDSHAKE_CLIENT, &a->client,
			      &a->server.id, a->tp, sizeof(a->tp),
			      &a->env) != 0 ||
	    sg_handshake_init(&a->s, SG_HANDSHAKE_SERVER, &a->server, NULL,
			      a->tp, sizeof(a->tp), &a->env) != 0) {
		a->failures++;
		return;
	}
	while (progress) {
		sg_handshake *from[2] = {&a->c, &a->s}, *to[2] = {&a->s, &a->c};
		int i;

		progress = 0;
		for (i = 0; i < 2; i++) {
			static uint8_t buf[16384];
			sg_handshake_level l;
			long n;

			while ((n = sg_handshake_poll_tx(from[i], &l, buf,
							 sizeof(buf))) > 0) {
				if (sg_handshake_recv(to[i], l, buf,
						      (size_t)n) != 0)
					a->failures++;
				progress = 1;
			}
		}
	}
	if (!sg_handshake_done(&a->c) || !sg_handshake_done(&a->s))
		a->failures++;
	sg_handshake_fini(&a->c);
	sg_handshake_fini(&a->s);
}

static void next_input(hs_arg *a)
{
	a->counter++;
	memcpy(a->msg, &a->counter, sizeof(a->counter));
	memcpy(a->rnd, &a->counter, sizeof(a->counter));
	memcpy(a->seed, &a->counter, sizeof(a->counter));
	memcpy(a->xsk, &a->counter, sizeof(a->counter));
}

/* The shared part: X25519 key pair and DH, one signature and one
 * verification (of the peer's signature: same cost as verifying ours). */
static void common_crypto(hs_arg *a, const sg_identity *id)
{
	crypto_scalarmult_base(a->xpk, a->xsk);
	if (crypto_scalarmult(a->dh, a->xsk, a->peer_xpk) != 0)
		a->failures++;
	(void)sg_identity_sign(id, a->sig, a->msg, sizeof(a->msg),
			       (const uint8_t *)SG_SIGCTX_HANDSHAKE_CLIENT,
			       sizeof(SG_SIGCTX_HANDSHAKE_CLIENT) - 1, a->rnd);
	if (sg_mldsa65_verify(a->sig, sizeof(a->sig), a->msg, sizeof(a->msg),
			      (const uint8_t *)SG_SIGCTX_HANDSHAKE_CLIENT,
			      sizeof(SG_SIGCTX_HANDSHAKE_CLIENT) - 1,
			      id->pk) != 0)
		a->failures++;
	sg_bench_sink(a->dh, 1);
}

static void do_client_crypto(void *p)
{
	hs_arg *a = p;

	next_input(a);
	(void)sg_mlkem768_keypair(a->ek, a->dk, a->seed);
	(void)sg_mlkem768_decaps(a->ss, a->ct, a->dk);
	common_crypto(a, &a->client);
}

static void do_server_crypto(void *p)
{
	hs_arg *a = p;

	next_input(a);
	(void)sg_mlkem768_encaps(a->ct, a->ss, a->ek, a->rnd);
	common_crypto(a, &a->server);
}

SG_BENCH_SUITE(bench_handshake, "handshake",
	       "full in-memory PQ handshakes/s and the crypto-only bound")
{
	static hs_arg a;
	sg_bench_result full, cl, sv;
	uint8_t seed[32];
	double both_ns, one_ns;

	if (sg_env_default(&a.env) != 0)
		return;
	memset(seed, 0x11, sizeof(seed));
	(void)sg_identity_from_seed(&a.client, seed);
	memset(seed, 0x22, sizeof(seed));
	(void)sg_identity_from_seed(&a.server, seed);
	/* Both sign through expanded keys, as a node's identity does. */
	if (sg_identity_expand(&a.client, &a.env) != 0 ||
	    sg_identity_expand(&a.server, &a.env) != 0)
		return;
	memset(a.tp, 0x5a, sizeof(a.tp));
	randombytes_buf(a.peer_xpk, sizeof(a.peer_xpk));
	(void)sg_mlkem768_keypair(a.ek, a.dk, a.seed);
	(void)sg_mlkem768_encaps(a.ct, a.ss, a.ek, a.rnd);

	sg_bench_measure(&full, do_handshake, &a, opts, 3000);
	sg_bench_print_ops("handshake full, both sides", &full);
	sg_bench_measure(&cl, do_client_crypto, &a, opts, 1500);
	sg_bench_print_ops("handshake crypto, client side", &cl);
	sg_bench_measure(&sv, do_server_crypto, &a, opts, 1500);
	sg_bench_print_ops("handshake crypto, server side", &sv);

	both_ns = cl.median_ns + sv.median_ns;
	one_ns = cl.median_ns > sv.median_ns ? cl.median_ns : sv.median_ns;
	printf("%-34s %12.0f ops/s   (client + server medians)\n",
	       "handshake crypto bound, one core", 1e9 / both_ns);
	printf("%-34s %12.0f ops/s   (slower side, one core per side)\n",
	       "handshake crypto bound, per side", 1e9 / one_ns);
	printf("%-34s %12.1f %%      (medians: full vs both-sides bound)\n",
	       "handshake full / bound", 100.0 * both_ns / full.median_ns);
	/* Signing time is heavy-tailed (rejection sampling), so the means
	 * compare too: ops_per_s is total operations over total time. */
	printf("%-34s %12.1f %%      (means: full vs both-sides bound)\n",
	       "handshake full / bound",
	       100.0 * full.ops_per_s *
		   (1.0 / cl.ops_per_s + 1.0 / sv.ops_per_s));
	if (a.failures)
		printf("handshake: %d FAILURES\n", a.failures);
	fflush(stdout);
	sg_identity_wipe(&a.client);
	sg_identity_wipe(&a.server);
}
