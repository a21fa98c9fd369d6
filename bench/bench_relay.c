/*
 * sg-bench relay: the same QUIC connection direct and through a relay
 * (docs/PROTOCOL.md, "Relay"), in one process on loopback. Endpoints A and
 * B talk directly; A2 and B2 talk through the relay R (the relayed path's
 * datagrams travel in RELAY frames over A2<->R and RELAYED frames over
 * R<->B2). All five run on one libuv loop, one core: a relayed packet
 * costs the relay's decryption and encryption twice on the same core, so
 * the ratio of the two figures is the total CPU work per byte, not what
 * two machines and a separate relay would see.
 *
 * Figures: the round trip of a 64-byte message (B echoes it; median and
 * 90th percentile over many), and bulk MB/s of 64 KiB messages (at most
 * 16 in flight), each direct and relayed. The relay's limits are raised
 * so they do not cap the measurement.
 */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"
#include "sg/endpoint.h"
#include "sg/err.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { EA, EB, EA2, EB2, ER, NEP };

typedef struct rb {
	uv_loop_t loop;
	sg_env env;
	sg_identity ids[NEP];
	sg_endpoint *ep[NEP];
	struct sockaddr_storage addr[NEP];
	int connected[NEP];
	uint64_t rx_msgs[NEP], rx_bytes[NEP];
	int echo;
} rb;

static rb *X;

static int idx(sg_endpoint *ep)
{
	int i;
	for (i = 0; i < NEP; i++)
		if (X->ep[i] == ep)
			return i;
	return -1;
}

static void on_ev(void *ud, sg_endpoint *ep, const struct sockaddr *remote,
		  const sg_quic_event *ev)
{
	int i = idx(ep);
	(void)ud;
	(void)remote;
	if (i < 0)
		return;
	if (ev->type == SG_QUIC_CONNECTED) {
		X->connected[i]++;
	} else if (ev->type == SG_QUIC_MESSAGE) {
		X->rx_msgs[i]++;
		X->rx_bytes[i] += ev->len;
		if (X->echo && (i == EB || i == EB2) && ev->len == 64)
			sg_endpoint_send(ep, &ev->peer, ev->data, ev->len);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int spin_until(uint64_t *v, uint64_t target, double max_s)
{
	double end = sg_bench_now_ns() + max_s * 1e9;
	while (*v < target && sg_bench_now_ns() < end)
		uv_run(&X->loop, UV_RUN_ONCE);
	return *v >= target;
}

static int spin_conn(int i, int n, double max_s)
{
	double end = sg_bench_now_ns() + max_s * 1e9;
	while (X->connected[i] < n && sg_bench_now_ns() < end)
		uv_run(&X->loop, UV_RUN_ONCE);
	return X->connected[i] >= n;
}

/* Round trips of 64-byte messages from `from` to `to`. */
static void rtt(const char *name, int from, int to, int count)
{
	uint8_t m[64];
	double *lat = calloc((size_t)count, sizeof(double));
	int k;

	if (lat == NULL)
		return;
	memset(m, 0x33, sizeof(m));
	X->echo = 1;
	for (k = 0; k < count; k++) {
		uint64_t before = X->rx_msgs[from];
		double t0 = sg_bench_now_ns();
		if (sg_endpoint_send(X->ep[from], &X->ids[to].id, m,
				     sizeof(m)) != 0 ||
		    !spin_until(&X->rx_msgs[from], before + 1, 5.0)) {
			printf("%-36s failed at %d\n", name, k);
			free(lat);
			return;
		}
		lat[k] = sg_bench_now_ns() - t0;
	}
	X->echo = 0;
	qsort(lat, (size_t)count, sizeof(double), cmp_double);
	printf("%-36s %10.1f us median %10.1f us p90  (%d round trips)\n", name,
	       lat[count / 2] / 1e3, lat[count * 9 / 10] / 1e3, count);
	free(lat);
}

/* Bulk: total bytes of 64 KiB messages, at most 16 queued. */
static double bulk(const char *name, int from, int to, size_t total)
{
	static uint8_t m[65536];
	size_t sent = 0, len = sizeof(m);
	uint64_t base = X->rx_bytes[to];
	double t0 = sg_bench_now_ns(), secs;

	memset(m, 0x44, sizeof(m));
	while (X->rx_bytes[to] - base < total) {
		while (sent < total &&
		       sent - (X->rx_bytes[to] - base) < 16 * len &&
		       sg_endpoint_send(X->ep[from], &X->ids[to].id, m, len) ==
			   0)
			sent += len;
		uv_run(&X->loop, UV_RUN_ONCE);
		if (sg_bench_now_ns() - t0 > 60e9) {
			printf("%-36s timed out\n", name);
			return 0;
		}
	}
	secs = (sg_bench_now_ns() - t0) / 1e9;
	printf("%-36s %10.1f MB/s  (%zu MB in %.2f s)\n", name,
	       (double)total / secs / 1e6, total >> 20, secs);
	return (double)total / secs;
}

SG_BENCH_SUITE(bench_relay, "relay",
	       "one connection direct and through a relay, one process on "
	       "loopback: round trip of 64 B, bulk MB/s")
{
	sg_endpoint_config cfg;
	struct sockaddr_storage va;
	sg_endpoint_stats st;
	int i, err, rtts = opts->quick ? 200 : 2000;
	size_t total = (opts->quick ? 16u : 128u) << 20;
	double d, r;

	X = calloc(1, sizeof(*X));
	if (X == NULL || uv_loop_init(&X->loop) != 0 ||
	    sg_env_default(&X->env) != 0)
		return;
	for (i = 0; i < NEP; i++) {
		struct sockaddr_in a;
		uint8_t seed[32];
		sg_endpoint_config_default(&cfg);
		if (i == ER) {
			cfg.relay = 1;
			cfg.relay_limits.bytes_per_s = UINT32_MAX / 2;
			cfg.relay_limits.burst_bytes = UINT32_MAX / 2;
			cfg.relay_limits.frames_per_s = UINT32_MAX / 2;
			cfg.relay_limits.burst_frames = UINT32_MAX / 2;
			cfg.relay_limits.global_bytes_per_s = UINT32_MAX / 2;
			cfg.relay_limits.global_burst_bytes = UINT32_MAX / 2;
		}
		memset(seed, 0x90 + i, sizeof(seed));
		sg_identity_from_seed(&X->ids[i], seed);
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		X->ep[i] =
		    sg_endpoint_new(&X->loop, &X->env, &cfg, &X->ids[i],
				    (struct sockaddr *)&a, on_ev, NULL, &err);
		if (X->ep[i] == NULL) {
			fprintf(stderr, "relay: endpoint: %s\n",
				sg_strerror(err));
			return;
		}
		sg_endpoint_local_addr(X->ep[i], &X->addr[i]);
	}
	sg_endpoint_dial(X->ep[EA], (struct sockaddr *)&X->addr[EB],
			 &X->ids[EB].id);
	sg_endpoint_dial(X->ep[EA2], (struct sockaddr *)&X->addr[ER],
			 &X->ids[ER].id);
	sg_endpoint_dial(X->ep[EB2], (struct sockaddr *)&X->addr[ER],
			 &X->ids[ER].id);
	if (!spin_conn(EA, 1, 10) || !spin_conn(EA2, 1, 10) ||
	    !spin_conn(EB2, 1, 10)) {
		fprintf(stderr, "relay: connections did not come up\n");
		return;
	}
	if (sg_endpoint_dial_relayed(X->ep[EA2], &X->ids[ER].id,
				     &X->ids[EB2].id, &va) != 0 ||
	    !spin_conn(EA2, 2, 10)) {
		fprintf(stderr, "relay: the relayed path did not come up\n");
		return;
	}
	rtt("relay: direct round trip 64 B", EA, EB, rtts);
	rtt("relay: relayed round trip 64 B", EA2, EB2, rtts);
	d = bulk("relay: direct bulk 64 KiB msgs", EA, EB, total);
	r = bulk("relay: relayed bulk 64 KiB msgs", EA2, EB2, total);
	if (d > 0)
		printf("%-36s %10.2f\n", "relay: relayed / direct bulk", r / d);
	sg_endpoint_stats_get(X->ep[ER], &st);
	printf("%-36s %10llu packets, %llu refused, %llu dropped\n",
	       "relay: relay forwarded", (unsigned long long)st.relay_forwarded,
	       (unsigned long long)st.relay_refused_rate,
	       (unsigned long long)st.relay_dropped);
	sg_endpoint_stats_get(X->ep[EA2], &st);
	printf("%-36s %10llu datagrams lost at the relay link\n",
	       "relay: sender", (unsigned long long)st.relayed_dropped);
	for (i = 0; i < NEP; i++)
		sg_endpoint_del(X->ep[i]);
	uv_run(&X->loop, UV_RUN_DEFAULT);
	uv_loop_close(&X->loop);
	free(X);
	X = NULL;
}
