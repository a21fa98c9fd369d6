/*
 * The relay (docs/PROTOCOL.md, "Relay"): the relay frame codec (round
 * trip, every malformed shape refused, other frames passed on), the token
 * buckets (burst, refill, bounded table), and endpoints on loopback (real
 * sockets, one libuv loop): A and B cannot reach each other (a transmit
 * filter drops their datagrams to each other, both ways), both reach the
 * relay R; A's direct dial to B fails, its dial through R connects with B
 * authenticated end to end, and messages flow both ways. Every byte R
 * forwards is inspected: the plaintext marker in the messages never
 * appears in it, and R holds no connection (so no keys) of A and B's. A
 * flood of relay frames is refused by the rate limit and counted;
 * garbage relay frames, frames for a peer R has no connection to, and
 * relay frames sent to a node without the relay role are refused and
 * counted, while ordinary messages still reach the callback.
 */
#define _GNU_SOURCE /* memmem */
#include "testutil.h"
#include "epworld.h"
#include "sg/endpoint.h"
#include "sg/err.h"
#include "sg/msg.h"
#include "sg/relay.h"

#include <stdlib.h>
#include <string.h>

#define NE 4
#define R 0
#define A 1
#define B 2
#define C 3

static const char marker[] = "PLAINTEXT-MARKER-7f3a-relay-test";

static epworld *W;
/* Messages carrying the marker, per endpoint. */
static size_t marked[NE];
/* Every packet R forwarded, concatenated (bounded). */
static struct {
	uint8_t *buf;
	size_t len, cap, tapped;
} T;

static void on_event(void *ud, epworld *w, int i, const struct sockaddr *remote,
		     const sg_quic_event *ev)
{
	(void)ud;
	(void)w;
	(void)remote;
	if (ev->type == SG_QUIC_MESSAGE &&
	    memmem(ev->data, ev->len, marker, sizeof(marker) - 1))
		marked[i]++;
}

static void tap(void *ud, const sg_peer_id *from, const sg_peer_id *to,
		const uint8_t *pkt, size_t len)
{
	(void)ud;
	(void)from;
	(void)to;
	T.tapped++;
	if (T.len + len > T.cap)
		return;
	memcpy(T.buf + T.len, pkt, len);
	T.len += len;
}

static void configure(void *ud, epworld *w, int i, sg_endpoint_config *cfg)
{
	const sg_relay_limits *lim = ud;
	(void)w;
	cfg->quic.handshake_timeout_ms = 1500;
	if (i == R) {
		cfg->relay = 1;
		if (lim != NULL)
			cfg->relay_limits = *lim;
		cfg->relay_tap = tap;
	}
}

/* R relays (with limits lim, or the defaults) and taps; the path between
 * A and B is cut (both ways); C is an ordinary endpoint. */
static void make_world(const sg_relay_limits *lim)
{
	sg_relay_limits l;
	epworld_opts o;

	memset(&o, 0, sizeof(o));
	o.n = NE;
	o.seed = 0x60;
	o.cut_a = A;
	o.cut_b = B;
	o.config = configure;
	if (lim != NULL) {
		l = *lim;
		o.config_ud = &l;
	}
	o.on_event = on_event;
	memset(marked, 0, sizeof(marked));
	T.cap = 8u << 20;
	T.buf = malloc(T.cap);
	assert_non_null(T.buf);
	T.len = 0;
	T.tapped = 0;
	W = epworld_new(&o);
}

static void free_world(void)
{
	epworld_del(W);
	W = NULL;
	free(T.buf);
	T.buf = NULL;
}

static int ab_at_r(epworld *w)
{
	return sg_endpoint_is_connected(w->ep[A], &w->ids[R].id) &&
	       sg_endpoint_is_connected(w->ep[B], &w->ids[R].id) &&
	       sg_endpoint_is_connected(w->ep[R], &w->ids[A].id) &&
	       sg_endpoint_is_connected(w->ep[R], &w->ids[B].id);
}

/* A and B each connected to R. */
static void connect_to_relay(void)
{
	assert_int_equal(epworld_dial(W, A, R), 0);
	assert_int_equal(epworld_dial(W, B, R), 0);
	assert_true(epworld_run_until(W, ab_at_r, 10000));
}

/* ---- codec ----------------------------------------------------------- */

static void test_frame_codec(void **state)
{
	uint8_t f[SG_RELAY_FRAME_MAX + 8], pkt[SG_RELAY_PACKET_MAX + 1], kind;
	const uint8_t *v;
	sg_peer_id id, got;
	size_t vl, i;
	long n;
	(void)state;

	memset(id.bytes, 0xab, sizeof(id.bytes));
	for (i = 0; i < sizeof(pkt); i++)
		pkt[i] = (uint8_t)(i * 7);
	/* Round trip at the extremes, both kinds. */
	n = sg_relay_frame_encode(f, sizeof(f), SG_RELAY_KIND_RELAY, &id, pkt,
				  SG_RELAY_PACKET_MAX);
	assert_int_equal(n, SG_RELAY_FRAME_MAX);
	assert_int_equal(
	    sg_relay_frame_decode(&kind, &got, &v, &vl, f, (size_t)n), 0);
	assert_int_equal(kind, SG_RELAY_KIND_RELAY);
	assert_memory_equal(got.bytes, id.bytes, 32);
	assert_int_equal(vl, SG_RELAY_PACKET_MAX);
	assert_memory_equal(v, pkt, vl);
	n = sg_relay_frame_encode(f, sizeof(f), SG_RELAY_KIND_RELAYED, &id, pkt,
				  1);
	assert_true(n > 0);
	assert_int_equal(
	    sg_relay_frame_decode(&kind, &got, &v, &vl, f, (size_t)n), 0);
	assert_int_equal(kind, SG_RELAY_KIND_RELAYED);
	assert_int_equal(vl, 1);
	/* Encoder refusals. */
	assert_int_equal(sg_relay_frame_encode(f, sizeof(f), 5, &id, pkt, 0),
			 SG_ERR_RANGE);
	assert_int_equal(sg_relay_frame_encode(f, sizeof(f), 5, &id, pkt,
					       SG_RELAY_PACKET_MAX + 1),
			 SG_ERR_RANGE);
	assert_int_equal(sg_relay_frame_encode(f, sizeof(f), 4, &id, pkt, 9),
			 SG_ERR_INVAL);
	assert_int_equal(sg_relay_frame_encode(f, 40, 5, &id, pkt, 9),
			 SG_ERR_RANGE);
	/* Every truncation and every single flipped byte of a valid frame:
	 * never accepted with different content, never a crash. */
	n = sg_relay_frame_encode(f, sizeof(f), SG_RELAY_KIND_RELAY, &id, pkt,
				  100);
	for (i = 0; i < (size_t)n; i++)
		assert_int_not_equal(
		    sg_relay_frame_decode(&kind, &got, &v, &vl, f, i), 0);
	for (i = 0; i < (size_t)n; i++) {
		int rc;
		f[i] ^= 0x01;
		rc = sg_relay_frame_decode(&kind, &got, &v, &vl, f, (size_t)n);
		if (rc == 0) /* only the id or the packet may change */
			assert_true(i >= 6 + 1 + 1 + 2);
		f[i] ^= 0x01;
	}
	/* Not relay frames: another discovery kind, another frame type. */
	f[6] = 3;
	assert_int_equal(
	    sg_relay_frame_decode(&kind, &got, &v, &vl, f, (size_t)n),
	    SG_ERR_NOTFOUND);
	f[6] = 7; /* a member card request (src/io/node.c) */
	assert_int_equal(
	    sg_relay_frame_decode(&kind, &got, &v, &vl, f, (size_t)n),
	    SG_ERR_NOTFOUND);
	f[6] = SG_RELAY_KIND_RELAY;
	f[1] = SG_FRAME_PUBSUB;
	assert_int_equal(
	    sg_relay_frame_decode(&kind, &got, &v, &vl, f, (size_t)n),
	    SG_ERR_NOTFOUND);
	f[1] = SG_FRAME_DISCOVERY;
	/* Trailing byte (header length adjusted), wrong id length, empty
	 * packet, a three-element array. */
	f[n] = 0;
	f[5]++;
	assert_int_equal(
	    sg_relay_frame_decode(&kind, &got, &v, &vl, f, (size_t)n + 1),
	    SG_ERR_TRAILING);
	{
		static const uint8_t shortid[] = {1,	5,    0, 0, 0,	  7, 5,
						  0x82, 0x42, 1, 2, 0x41, 9};
		static const uint8_t empty[] = {
		    1, 5, 0, 0, 0, 37, 5, 0x82, 0x58, 32, 0, 0, 0,   0, 0,
		    0, 0, 0, 0, 0, 0,  0, 0,	0,    0,  0, 0, 0,   0, 0,
		    0, 0, 0, 0, 0, 0,  0, 0,	0,    0,  0, 0, 0x40};
		static const uint8_t three[] = {1, 5,	 0, 0, 0, 5,
						5, 0x83, 1, 2, 3};
		static const uint8_t lenlie[] = {1, 5, 0, 0, 0, 9, 5, 0x80};
		assert_int_equal(sg_relay_frame_decode(&kind, &got, &v, &vl,
						       shortid,
						       sizeof(shortid)),
				 SG_ERR_RANGE);
		assert_int_equal(sg_relay_frame_decode(&kind, &got, &v, &vl,
						       empty, sizeof(empty)),
				 SG_ERR_RANGE);
		static const uint8_t ints[] = {1, 5, 0, 0, 0, 4, 5, 0x82, 1, 2};
		static const uint8_t one[] = {1, 5, 0, 0, 0, 3, 5, 0x81, 0x40};
		/* three items exceed the validator's item limit */
		assert_int_equal(sg_relay_frame_decode(&kind, &got, &v, &vl,
						       three, sizeof(three)),
				 SG_ERR_RANGE);
		assert_int_equal(sg_relay_frame_decode(&kind, &got, &v, &vl,
						       ints, sizeof(ints)),
				 SG_ERR_TYPE);
		assert_int_equal(sg_relay_frame_decode(&kind, &got, &v, &vl,
						       one, sizeof(one)),
				 SG_ERR_MALFORMED);
		assert_int_equal(sg_relay_frame_decode(&kind, &got, &v, &vl,
						       lenlie, sizeof(lenlie)),
				 SG_ERR_MALFORMED);
	}
}

/* ---- token buckets --------------------------------------------------- */

static void test_limiter(void **state)
{
	sg_relay_limits l;
	sg_relay_limiter *rl;
	sg_peer_id a, b, x;
	sg_env env;
	uint64_t now = 5000;
	int err, i, ok;
	(void)state;

	assert_int_equal(sg_env_default(&env), 0);
	sg_relay_limits_default(&l);
	l.frames_per_s = 10;
	l.burst_frames = 20;
	l.bytes_per_s = 100000;
	l.burst_bytes = 30000;
	l.max_sources = 4;
	rl = sg_relay_limiter_new(&env, &l, &err);
	assert_non_null(rl);
	memset(a.bytes, 1, 32);
	memset(b.bytes, 2, 32);
	/* The frame burst: 20 admitted, then refused. */
	for (i = 0, ok = 0; i < 50; i++)
		ok += sg_relay_limiter_admit(rl, &a, 100, now);
	assert_int_equal(ok, 20);
	/* Another source is not affected. */
	assert_int_equal(sg_relay_limiter_admit(rl, &b, 100, now), 1);
	/* 500 ms refill 5 frames. */
	now += 500;
	for (i = 0, ok = 0; i < 50; i++)
		ok += sg_relay_limiter_admit(rl, &a, 100, now);
	assert_int_equal(ok, 5);
	/* The byte bucket: 30,000 burst for b, already 100 used. */
	now += 100000;
	for (i = 0, ok = 0; i < 20; i++)
		ok += sg_relay_limiter_admit(rl, &b, 1452, now);
	assert_int_equal(ok, 20); /* 29,040 bytes */
	assert_int_equal(sg_relay_limiter_admit(rl, &b, 1452, now), 0);
	/* Bounded table: 10 more sources, never more than 4 tracked. */
	for (i = 0; i < 10; i++) {
		memset(x.bytes, 0x40 + i, 32);
		assert_int_equal(
		    sg_relay_limiter_admit(rl, &x, 1, now + 1 + (uint64_t)i),
		    1);
		assert_true(sg_relay_limiter_sources(rl) <= 4);
	}
	sg_relay_limiter_del(rl);
	l.frames_per_s = 0;
	assert_null(sg_relay_limiter_new(&env, &l, &err));
	assert_int_equal(err, SG_ERR_INVAL);
	sg_relay_limiter_del(NULL);
}

/* ---- endpoints on loopback ------------------------------------------- */

static int a_direct_closed(epworld *w)
{
	return w->closed[A] >= 1;
}

static int relayed_up(epworld *w)
{
	return w->relayed_connected[A] >= 1 && w->relayed_connected[B] >= 1;
}

static size_t want_b, want_a;
static int msgs_arrived(epworld *w)
{
	(void)w;
	return marked[B] >= want_b && marked[A] >= want_a;
}

static void test_relay_ciphertext(void **state)
{
	struct sockaddr_storage va, va2;
	sg_endpoint_stats sr, sa, sb;
	sg_peer_id via, far;
	uint8_t *big;
	size_t i, big_len = 200000;
	(void)state;

	make_world(NULL);
	connect_to_relay();
	/* The direct path does not work: A's dial to B fails. */
	assert_int_equal(epworld_dial(W, A, B), 0);
	assert_true(epworld_run_until(W, a_direct_closed, 8000));
	assert_int_equal(W->connected[A], 1); /* R only */
	assert_true(W->cut.dropped > 0);
	/* Through R. */
	assert_int_equal(sg_endpoint_dial_relayed(W->ep[A], &W->ids[R].id,
						  &W->ids[B].id, &va),
			 0);
	assert_true(sg_endpoint_addr_is_virtual((struct sockaddr *)&va));
	assert_int_equal(sg_endpoint_dial_relayed(W->ep[A], &W->ids[R].id,
						  &W->ids[B].id, &va2),
			 SG_ERR_EXISTS);
	assert_memory_equal(&va, &va2, sizeof(struct sockaddr_in6));
	assert_int_equal(sg_endpoint_relayed_path(
			     W->ep[A], (struct sockaddr *)&va, &via, &far),
			 1);
	assert_memory_equal(via.bytes, W->ids[R].id.bytes, 32);
	assert_memory_equal(far.bytes, W->ids[B].id.bytes, 32);
	/* A message queued before the handshake ends waits for it. */
	assert_int_equal(sg_endpoint_send(W->ep[A], &W->ids[B].id,
					  (const uint8_t *)marker,
					  sizeof(marker)),
			 0);
	assert_true(epworld_run_until(W, relayed_up, 10000));
	assert_true(sg_endpoint_is_connected(W->ep[A], &W->ids[B].id));
	assert_true(sg_endpoint_is_connected(W->ep[B], &W->ids[A].id));
	/* 20 small messages each way and a 200 KB one from A. */
	big = malloc(big_len);
	assert_non_null(big);
	for (i = 0; i < big_len; i++)
		big[i] = (uint8_t)(i * 31 + 5);
	memcpy(big + 1000, marker, sizeof(marker) - 1);
	memcpy(big + big_len - 100, marker, sizeof(marker) - 1);
	for (i = 0; i < 20; i++) {
		assert_int_equal(sg_endpoint_send(W->ep[A], &W->ids[B].id,
						  (const uint8_t *)marker,
						  sizeof(marker)),
				 0);
		assert_int_equal(sg_endpoint_send(W->ep[B], &W->ids[A].id,
						  (const uint8_t *)marker,
						  sizeof(marker)),
				 0);
	}
	assert_int_equal(
	    sg_endpoint_send(W->ep[A], &W->ids[B].id, big, big_len), 0);
	want_b = 22;
	want_a = 20;
	assert_true(epworld_run_until(W, msgs_arrived, 15000));
	assert_memory_equal(W->last_from[B].bytes, W->ids[A].id.bytes, 32);
	free(big);
	/* R forwarded every packet of it, and none holds the plaintext. */
	sg_endpoint_stats_get(W->ep[R], &sr);
	sg_endpoint_stats_get(W->ep[A], &sa);
	sg_endpoint_stats_get(W->ep[B], &sb);
	assert_true(sr.relay_forwarded > 150); /* 200 KB in 1.4 KB packets */
	assert_int_equal(T.tapped, sr.relay_forwarded);
	assert_true(T.len > big_len);
	assert_null(memmem(T.buf, T.len, marker, sizeof(marker) - 1));
	/* Nor a shorter piece of it. */
	assert_null(memmem(T.buf, T.len, marker, 12));
	/* R holds no connection of A and B's, so no key of it: only its
	 * own two connections, no relayed path. */
	assert_int_equal(sr.conns, 2);
	assert_int_equal(sr.relayed_conns, 0);
	assert_int_equal(W->connected[R], 2);
	assert_int_equal(W->msgs[R], 0); /* relay frames never surface */
	assert_int_equal(sa.relayed_conns, 1);
	assert_int_equal(sb.relayed_conns, 1);
	assert_true(sa.relayed_out > 0 && sb.relayed_in > 0);
	assert_int_equal(sr.relay_refused_rate + sr.relay_malformed +
			     sr.relay_no_route + sr.relay_refused_role,
			 0);
	assert_int_equal(sb.relay_spoofed, 0);
	/* A datagram from the virtual prefix is never taken as the path. */
	assert_int_equal(
	    sg_endpoint_dial(W->ep[A], (struct sockaddr *)&va, &W->ids[B].id),
	    SG_ERR_INVAL);
	/* The relay's connection closes: the path closes too. */
	sg_endpoint_close_peer(W->ep[A], &W->ids[R].id);
	epworld_run_for(W, 1500);
	sg_endpoint_stats_get(W->ep[A], &sa);
	assert_int_equal(sa.relayed_conns, 0);
	assert_false(sg_endpoint_is_connected(W->ep[A], &W->ids[B].id));
	free_world();
}

static size_t send_raw(int from, int to, uint8_t kind, const sg_peer_id *peer,
		       size_t pkt_len, int count)
{
	uint8_t f[SG_RELAY_FRAME_MAX], pkt[SG_RELAY_PACKET_MAX];
	long n;
	int i;
	size_t sent = 0;

	memset(pkt, 0x5a, sizeof(pkt));
	n = sg_relay_frame_encode(f, sizeof(f), kind, peer, pkt, pkt_len);
	assert_true(n > 0);
	for (i = 0; i < count; i++)
		if (sg_endpoint_send(W->ep[from], &W->ids[to].id, f,
				     (size_t)n) == 0)
			sent++;
	return sent;
}

static uint64_t stat_target;
static uint64_t *stat_ptr;
static sg_endpoint *stat_ep;
static sg_endpoint_stats stat_st;
static int stat_reached(epworld *w)
{
	(void)w;
	sg_endpoint_stats_get(stat_ep, &stat_st);
	return *stat_ptr >= stat_target;
}

static void wait_stat(int e, uint64_t *field, uint64_t target)
{
	stat_ep = W->ep[e];
	stat_ptr = field;
	stat_target = target;
	assert_true(epworld_run_until(W, stat_reached, 5000));
}

static int c_connected(epworld *w)
{
	return sg_endpoint_is_connected(w->ep[A], &w->ids[C].id);
}

static void test_relay_limits_and_garbage(void **state)
{
	sg_relay_limits lim;
	sg_endpoint_stats st;
	sg_peer_id nobody;
	uint8_t junk[64];
	size_t i;
	(void)state;

	sg_relay_limits_default(&lim);
	lim.frames_per_s = 20;
	lim.burst_frames = 50;
	make_world(&lim);
	connect_to_relay();
	/* A flood of 400 relay frames to B within a moment: the burst (50,
	 * plus what refills meanwhile) goes through, the rest is refused. */
	assert_int_equal(
	    send_raw(A, R, SG_RELAY_KIND_RELAY, &W->ids[B].id, 1200, 400), 400);
	wait_stat(R, &stat_st.relay_refused_rate, 300);
	epworld_run_for(W, 300);
	sg_endpoint_stats_get(W->ep[R], &st);
	assert_int_equal(st.relay_forwarded + st.relay_refused_rate, 400);
	assert_true(st.relay_forwarded >= 50 && st.relay_forwarded < 100);
	/* B got them as RELAYED from A, none of them a QUIC Initial: each
	 * dropped, no connection made. */
	wait_stat(B, &stat_st.relayed_in, st.relay_forwarded);
	sg_endpoint_stats_get(W->ep[B], &st);
	assert_int_equal(st.relayed_conns, 0);
	assert_int_equal(W->connected[B], 1);
	/* Garbage: a relay frame with a bad body, one with trailing bytes,
	 * one to a peer R has no connection to, one naming the sender. */
	memset(junk, 0xff, sizeof(junk));
	{
		uint8_t f[80];
		f[0] = 1;
		f[1] = SG_FRAME_DISCOVERY;
		f[2] = f[3] = f[4] = 0;
		f[5] = 1 + sizeof(junk);
		f[6] = SG_RELAY_KIND_RELAY;
		memcpy(f + 7, junk, sizeof(junk));
		for (i = 0; i < 3; i++)
			assert_int_equal(sg_endpoint_send(W->ep[A],
							  &W->ids[R].id, f,
							  7 + sizeof(junk)),
					 0);
	}
	memset(nobody.bytes, 0x99, 32);
	send_raw(A, R, SG_RELAY_KIND_RELAY, &nobody, 100, 2);
	send_raw(A, R, SG_RELAY_KIND_RELAY, &W->ids[A].id, 100, 1);
	/* A RELAYED frame sent to R about itself: malformed. */
	send_raw(A, R, SG_RELAY_KIND_RELAYED, &W->ids[R].id, 100, 1);
	epworld_run_for(W, 1200); /* the buckets refill */
	sg_endpoint_stats_get(W->ep[R], &st);
	assert_int_equal(st.relay_malformed, 5);
	assert_int_equal(st.relay_no_route, 2);
	/* An ordinary message still reaches R's callback. */
	{
		uint8_t m[10];
		memset(m, 1, sizeof(m));
		m[0] = 1;
		m[1] = SG_FRAME_DIRECT;
		assert_int_equal(
		    sg_endpoint_send(W->ep[A], &W->ids[R].id, m, sizeof(m)), 0);
		epworld_run_for(W, 300);
		assert_int_equal(W->msgs[R], 1);
	}
	/* C has no relay role: it refuses relay frames. */
	assert_int_equal(epworld_dial(W, A, C), 0);
	assert_true(epworld_run_until(W, c_connected, 5000));
	send_raw(A, C, SG_RELAY_KIND_RELAY, &W->ids[R].id, 100, 3);
	wait_stat(C, &stat_st.relay_refused_role, 3);
	sg_endpoint_stats_get(W->ep[C], &st);
	assert_int_equal(st.relay_forwarded, 0);
	assert_int_equal(W->msgs[C], 0);
	/* A dial through a peer we have no connection to. */
	{
		struct sockaddr_storage va;
		assert_int_equal(sg_endpoint_dial_relayed(W->ep[C],
							  &W->ids[R].id,
							  &W->ids[B].id, &va),
				 SG_ERR_NOTFOUND);
		assert_int_equal(sg_endpoint_dial_relayed(W->ep[A],
							  &W->ids[R].id,
							  &W->ids[R].id, &va),
				 SG_ERR_INVAL);
	}
	free_world();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frame_codec),
	    cmocka_unit_test(test_limiter),
	    cmocka_unit_test(test_relay_ciphertext),
	    cmocka_unit_test(test_relay_limits_and_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
