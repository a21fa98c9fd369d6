/*
 * What an endpoint spends per client Initial under a handshake flood
 * (PROTOCOL.md, H.6): decoding the header and answering with a stateless
 * Retry (token sealed with XChaCha20-Poly1305), and checking the token of
 * an Initial that comes back with one. Beside them, one server handshake
 * (ML-KEM encapsulation, X25519, ML-DSA-65 signature) is what a flood
 * would cost without Retry: `sg-bench handshake`.
 */
#include "bench.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "sg/quic.h"

typedef struct retry_ctx {
	sg_env env;
	uint8_t key[SG_QUIC_TOKEN_KEY_LEN];
	uint8_t initial[1500], with_token[1500];
	size_t initial_len, with_token_len;
	struct sockaddr_in from;
} retry_ctx;

static void do_retry(void *arg)
{
	retry_ctx *x = arg;
	sg_quic_initial ini;
	uint8_t out[256];
	long n;

	if (sg_quic_initial_decode(&ini, x->initial, x->initial_len) != 0)
		abort();
	n = sg_quic_retry_write(out, sizeof(out), &x->env, x->key, &ini,
				(struct sockaddr *)&x->from, 1000);
	if (n <= 0)
		abort();
	sg_bench_sink(out, (size_t)n);
}

static void do_token_check(void *arg)
{
	retry_ctx *x = arg;
	sg_quic_initial ini;
	uint8_t odcid[SG_QUIC_MAX_CID_LEN];
	size_t odcid_len;

	if (sg_quic_initial_decode(&ini, x->with_token, x->with_token_len) !=
		    0 ||
	    sg_quic_retry_token_check(odcid, &odcid_len, x->key, &ini,
				      (struct sockaddr *)&x->from, 1000,
				      10000) != 0)
		abort();
	sg_bench_sink(odcid, odcid_len);
}

SG_BENCH_SUITE(bench_quic_retry, "quic-retry",
	       "handshake DoS: stateless Retry per Initial, token check")
{
	static retry_ctx x;
	sg_identity *id = calloc(1, sizeof(*id));
	struct sockaddr_in to;
	sg_quic_config cfg;
	sg_quic_conn *c;
	sg_quic_initial ini;
	sg_bench_result r;
	uint8_t seed[32], retry[256], dg[1500];
	long n;
	int err;

	if (id == NULL || sg_env_default(&x.env) != 0)
		abort();
	memset(seed, 0x51, sizeof(seed));
	memset(x.key, 0x17, sizeof(x.key));
	sg_identity_from_seed(id, seed);
	memset(&x.from, 0, sizeof(x.from));
	memset(&to, 0, sizeof(to));
	x.from.sin_family = to.sin_family = AF_INET;
	x.from.sin_port = htons(9100);
	to.sin_port = htons(9101);
	sg_quic_config_default(&cfg);
	c = sg_quic_client_new(&x.env, &cfg, id, NULL,
			       (struct sockaddr *)&x.from, sizeof(x.from),
			       (struct sockaddr *)&to, sizeof(to), 1000, &err);
	if (c == NULL)
		abort();
	n = sg_quic_write(c, x.initial, sizeof(x.initial), 1000);
	if (n <= 0 || sg_quic_initial_decode(&ini, x.initial, (size_t)n) != 0)
		abort();
	x.initial_len = (size_t)n;
	/* The client follows a Retry; its next Initial carries the token. */
	n = sg_quic_retry_write(retry, sizeof(retry), &x.env, x.key, &ini,
				(struct sockaddr *)&x.from, 1000);
	if (n <= 0 || sg_quic_read(c, retry, (size_t)n, 1000) != 0)
		abort();
	while ((n = sg_quic_write(c, dg, sizeof(dg), 1000)) > 0)
		if (sg_quic_initial_decode(&ini, dg, (size_t)n) == 0 &&
		    ini.token_len > 0)
			break;
	if (n <= 0)
		abort();
	memcpy(x.with_token, dg, (size_t)n);
	x.with_token_len = (size_t)n;
	sg_quic_conn_del(c);

	sg_bench_measure(&r, do_retry, &x, opts, 1000);
	sg_bench_print_ops("Initial -> stateless Retry", &r);
	sg_bench_measure(&r, do_token_check, &x, opts, 1000);
	sg_bench_print_ops("Initial with token -> checked", &r);
	free(id);
}
