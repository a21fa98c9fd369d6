/*
 * QUIC with the PQ handshake, in memory (no sockets, one thread): full
 * connection set-ups per second, 1 KiB messages per second and bulk
 * throughput of 1 MiB messages, beside the single-core ChaCha20-Poly1305
 * speed that bounds any encrypted transport. The loopback benchmark between
 * two processes (issue 5) needs the UDP endpoint, which is not written yet;
 * these figures are its upper bound on one core.
 */
#include "bench.h"

#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg/quic.h"

typedef struct qpair {
	sg_env env;
	sg_quic_config cfg;
	sg_identity *ids;
	sg_quic_conn *c[2];
	struct sockaddr_in a[2];
	uint64_t now;
	uint64_t got, bytes;
	int connected;
} qpair;

static uint8_t dgram[1500];

static void drain(qpair *p, int i)
{
	sg_quic_event ev;
	while (sg_quic_poll_event(p->c[i], &ev)) {
		if (ev.type == SG_QUIC_CONNECTED)
			p->connected |= 1 << i;
		else if (ev.type == SG_QUIC_MESSAGE) {
			p->got++;
			p->bytes += ev.len;
		}
	}
}

/* Moves datagrams until both sides are quiet (advancing virtual time to
 * deadlines only when nothing moves), at most ms of virtual time. */
static void pump(qpair *p, uint64_t ms)
{
	uint64_t end = p->now + ms;
	int i;

	for (;;) {
		int moved = 0;
		for (i = 0; i < 2; i++) {
			long n;
			if (p->c[i] == NULL)
				continue;
			while ((n = sg_quic_write(p->c[i], dgram, sizeof(dgram),
						  p->now)) > 0) {
				moved = 1;
				if (p->c[1 - i] == NULL) {
					int err;
					p->c[1] = sg_quic_server_new(
						&p->env, &p->cfg, &p->ids[1], dgram,
						(size_t)n, (struct sockaddr *)&p->a[1],
						sizeof(p->a[1]),
						(struct sockaddr *)&p->a[0],
						sizeof(p->a[0]), p->now, &err);
				} else {
					sg_quic_read(p->c[1 - i], dgram, (size_t)n,
						     p->now);
				}
			}
			drain(p, i);
		}
		if (moved)
			continue;
		{
			uint64_t d = UINT64_MAX;
			for (i = 0; i < 2; i++)
				if (p->c[i] && sg_quic_next_deadline(p->c[i]) < d)
					d = sg_quic_next_deadline(p->c[i]);
			if (d >= end)
				return;
			p->now = d > p->now ? d : p->now + 1;
			for (i = 0; i < 2; i++)
				if (p->c[i])
					sg_quic_tick(p->c[i], p->now);
		}
	}
}

static void connect_pair(qpair *p)
{
	int err;
	p->connected = 0;
	p->c[0] = sg_quic_client_new(&p->env, &p->cfg, &p->ids[0], &p->ids[1].id,
				     (struct sockaddr *)&p->a[0], sizeof(p->a[0]),
				     (struct sockaddr *)&p->a[1], sizeof(p->a[1]),
				     p->now, &err);
	pump(p, 1000);
}

static void close_pair(qpair *p)
{
	sg_quic_conn_del(p->c[0]);
	sg_quic_conn_del(p->c[1]);
	p->c[0] = p->c[1] = NULL;
}

static void do_setup(void *arg)
{
	qpair *p = arg;
	connect_pair(p);
	if (p->connected != 3)
		abort();
	close_pair(p);
}

static void do_aead(void *arg)
{
	static uint8_t buf[1 << 20], out[(1 << 20) + 16], key[32], nonce[12];
	(void)arg;
	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, buf, sizeof(buf),
						  NULL, 0, NULL, nonce, key);
	sg_bench_sink(out, 1);
}

SG_BENCH_SUITE(bench_quic, "quic",
	       "QUIC + PQ handshake in memory: set-ups/s, 1 KiB msgs/s, bulk")
{
	static qpair p;
	sg_bench_result r;
	uint8_t seed[32];
	static uint8_t msg[1 << 20];
	double t0, t;
	int i, k, count;

	if (sg_env_default(&p.env) != 0)
		return;
	sg_quic_config_default(&p.cfg);
	p.ids = calloc(2, sizeof(sg_identity));
	for (i = 0; i < 2; i++) {
		memset(seed, 0x31 + i, sizeof(seed));
		sg_identity_from_seed(&p.ids[i], seed);
		p.a[i].sin_family = AF_INET;
		p.a[i].sin_port = htons((uint16_t)(9000 + i));
	}
	p.now = 1000;

	sg_bench_measure(&r, do_setup, &p, opts, 3000);
	sg_bench_print_ops("quic connection set-up (both sides)", &r);

	connect_pair(&p);
	/* 1 KiB messages: batches of 100 through the connection. */
	count = opts->quick ? 2000 : 20000;
	memset(msg, 7, sizeof(msg));
	p.got = 0;
	t0 = sg_bench_now_ns();
	for (k = 0; k < count; k += 100) {
		for (i = 0; i < 100; i++)
			if (sg_quic_send(p.c[0], msg, 1024) != 0)
				abort();
		pump(&p, 1000);
	}
	t = sg_bench_now_ns() - t0;
	printf("%-34s %12.0f msgs/s   (%d messages of 1 KiB, %llu delivered)\n",
	       "quic 1 KiB messages, one way", (double)count / (t / 1e9), count,
	       (unsigned long long)p.got);
	/* Bulk: 1 MiB messages. */
	count = opts->quick ? 4 : 64;
	p.bytes = 0;
	t0 = sg_bench_now_ns();
	for (k = 0; k < count; k++) {
		if (sg_quic_send(p.c[0], msg, sizeof(msg)) != 0)
			abort();
		pump(&p, 5000);
	}
	t = sg_bench_now_ns() - t0;
	printf("%-34s %12.1f MB/s     (%d MiB, %llu bytes delivered)\n",
	       "quic bulk, 1 MiB messages", (double)p.bytes / (t / 1e3), count,
	       (unsigned long long)p.bytes);
	close_pair(&p);

	sg_bench_measure(&r, do_aead, NULL, opts, 1000);
	sg_bench_print_rate("chacha20-poly1305 seal (reference)", 1 << 20, &r);
	free(p.ids);
}
