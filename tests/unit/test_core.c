/*
 * The node core (HyParView + SWIM + per-topic Plumtree) over a small
 * in-memory network with a virtual clock: nodes join through a contact,
 * topic lists reach neighbours, every subscriber delivers every message
 * exactly once and non-subscribers none, unsubscribing stops delivery, a
 * crashed node is declared dead and the rest keep delivering, and garbage
 * frames change nothing. Topic swarms: two subscribers that are not
 * neighbours find each other through walks and link up, the link goes
 * when the peer crashes; a publisher's sequence numbers are consecutive;
 * malformed WALK and LINK frames are refused.
 */
#include "testutil.h"
#include "sg/cbor.h"
#include "sg/core.h"
#include "sg/err.h"

#include <string.h>

#define N 14
#define QMAX 200000
#define WALL0 1800000000000ULL

typedef struct frame {
	int from, to;
	uint64_t at;
	uint8_t *buf;
	size_t len;
} frame;

typedef struct net {
	sg_test_env tenv;
	sg_identity ids[N];
	sg_core *c[N];
	int down[N];
	frame *q;
	size_t qn;
	uint64_t now;
	sg_test_rng rng;
	int delivered[N][32];
	uint64_t seq[N][32];
	int dead_seen[N][N];
} net;

static int node_of(net *nt, const sg_peer_id *id)
{
	int i;
	for (i = 0; i < N; i++)
		if (sg_peer_id_equal(&nt->ids[i].id, id))
			return i;
	return -1;
}

static void addr_of(int i, uint8_t out[SG_MEMB_ADDR_MAX], size_t *len)
{
	sg_addr a;
	memset(&a, 0, sizeof(a));
	a.family = 4;
	a.ip[0] = 127;
	a.ip[3] = 1;
	a.port = (uint16_t)(7000 + i);
	*len = (size_t)sg_core_addr_encode(out, &a);
}

static void drain(net *nt, int i)
{
	sg_peer_id to;
	const uint8_t *f;
	size_t len;
	sg_core_event ev;

	while (sg_core_poll_event(nt->c[i], &ev)) {
		if (ev.type == SG_CORE_DELIVER) {
			assert_int_equal(ev.msg.payload_len, 1);
			nt->delivered[i][ev.msg.payload[0]]++;
			nt->seq[i][ev.msg.payload[0]] = ev.msg.hdr.seq;
		} else if (ev.type == SG_CORE_PEER_DEAD) {
			int j = node_of(nt, &ev.peer.id);
			assert_true(j >= 0);
			nt->dead_seen[i][j] = 1;
		}
	}
	while ((len = sg_core_poll_tx(nt->c[i], &to, &f)) > 0) {
		int j = node_of(nt, &to);
		frame *fr;
		assert_true(j >= 0);
		assert_true(nt->qn < QMAX);
		fr = &nt->q[nt->qn++];
		fr->from = i;
		fr->to = j;
		fr->at = nt->now + 5 + sg_test_rng_u64(&nt->rng) % 20;
		fr->buf = malloc(len);
		assert_non_null(fr->buf);
		memcpy(fr->buf, f, len);
		fr->len = len;
	}
}

static void run_until(net *nt, uint64_t t)
{
	while (nt->now < t) {
		size_t k = 0, i;
		int n;
		nt->now++;
		/* deliver due frames, keeping the rest in order */
		for (i = 0; i < nt->qn; i++) {
			frame fr = nt->q[i];
			if (fr.at > nt->now) {
				nt->q[k++] = fr;
				continue;
			}
			if (!nt->down[fr.to] && !nt->down[fr.from])
				sg_core_recv(nt->c[fr.to], &nt->ids[fr.from].id,
					     fr.buf, fr.len, nt->now,
					     WALL0 + nt->now);
			free(fr.buf);
		}
		nt->qn = k;
		for (n = 0; n < N; n++) {
			if (nt->down[n])
				continue;
			if (sg_core_next_deadline(nt->c[n]) <= nt->now)
				sg_core_tick(nt->c[n], nt->now);
			drain(nt, n);
		}
		/* frames queued for delivery this same millisecond */
		for (n = 0; n < N; n++)
			if (!nt->down[n])
				drain(nt, n);
	}
}

static net *make_net(void)
{
	net *nt = calloc(1, sizeof(*nt));
	sg_core_config cfg;
	int i;

	assert_non_null(nt);
	nt->q = calloc(QMAX, sizeof(frame));
	assert_non_null(nt->q);
	sg_test_env_init(&nt->tenv, 42, -1);
	sg_test_rng_seed(&nt->rng, 7);
	sg_core_config_default(&cfg);
	cfg.hv.active_target = 4;
	cfg.hv.active_max = 6;
	for (i = 0; i < N; i++) {
		uint8_t seed[32], addr[SG_MEMB_ADDR_MAX];
		size_t alen;
		memset(seed, i + 1, sizeof(seed));
		assert_int_equal(sg_identity_from_seed(&nt->ids[i], seed), 0);
		addr_of(i, addr, &alen);
		nt->c[i] = sg_core_new(&nt->tenv.env, &cfg, &nt->ids[i], addr,
				       alen, 0);
		assert_non_null(nt->c[i]);
	}
	/* Node 0 is the contact everyone joins through. */
	for (i = 1; i < N; i++) {
		sg_memb_peer p;
		size_t alen;
		memset(&p, 0, sizeof(p));
		p.id = nt->ids[0].id;
		addr_of(0, p.addr, &alen);
		p.addr_len = (uint8_t)alen;
		assert_int_equal(sg_core_add_contact(nt->c[i], &p), 0);
		assert_int_equal(sg_core_join(nt->c[i], nt->now), 0);
		drain(nt, i);
		run_until(nt, nt->now + 30);
	}
	return nt;
}

static void free_net(net *nt)
{
	size_t i;
	int n;
	for (i = 0; i < nt->qn; i++)
		free(nt->q[i].buf);
	for (n = 0; n < N; n++)
		sg_core_del(nt->c[n]);
	free(nt->q);
	free(nt);
}

static void publish(net *nt, int from, const sg_topic_id *t, uint8_t tag)
{
	uint8_t id[SG_MSG_ID_LEN];
	assert_int_equal(sg_core_publish(nt->c[from], t, &tag, 1, NULL,
					 nt->now, WALL0 + nt->now, id),
			 0);
	drain(nt, from);
}

static void test_join_topics_deliver(void **state)
{
	net *nt = make_net();
	sg_topic_id chat, other;
	sg_core_stats st;
	int i, m;
	(void)state;

	sg_topic_id_from_name(&chat, "chat", 4);
	sg_topic_id_from_name(&other, "other", 5);
	run_until(nt, 5000);
	for (i = 1; i < N; i++) {
		sg_core_stats_get(nt->c[i], &st);
		assert_true(st.active >= 1);
	}
	/* Everyone but node 0 subscribes to chat; 1..3 also to other. */
	for (i = 1; i < N; i++) {
		assert_int_equal(sg_core_subscribe(nt->c[i], &chat, nt->now), 0);
		drain(nt, i);
	}
	assert_int_equal(sg_core_subscribe(nt->c[1], &chat, nt->now),
			 SG_ERR_EXISTS);
	run_until(nt, nt->now + 1000);
	for (m = 0; m < 6; m++) {
		publish(nt, 1 + (m * 5) % (N - 1), &chat, (uint8_t)m);
		run_until(nt, nt->now + 300);
	}
	run_until(nt, nt->now + 5000);
	/* A publisher does not deliver its own message. */
	for (i = 0; i < N; i++)
		for (m = 0; m < 6; m++)
			assert_int_equal(nt->delivered[i][m],
					 i == 0 || i == 1 + (m * 5) % (N - 1)
						 ? 0
						 : 1);
	assert_true(sg_core_is_subscribed(nt->c[2], &chat));
	assert_false(sg_core_is_subscribed(nt->c[0], &chat));

	/* Node 5 leaves the topic: later messages do not reach it. */
	assert_int_equal(sg_core_unsubscribe(nt->c[5], &chat, nt->now), 0);
	assert_int_equal(sg_core_unsubscribe(nt->c[5], &chat, nt->now),
			 SG_ERR_NOTFOUND);
	drain(nt, 5);
	run_until(nt, nt->now + 1000);
	publish(nt, 2, &chat, 10);
	run_until(nt, nt->now + 5000);
	for (i = 1; i < N; i++)
		assert_int_equal(nt->delivered[i][10], i == 5 || i == 2 ? 0 : 1);

	/* Publishing to a topic subscribes the publisher. */
	publish(nt, 0, &other, 11);
	assert_true(sg_core_is_subscribed(nt->c[0], &other));
	free_net(nt);
}

static void test_crash_and_garbage(void **state)
{
	net *nt = make_net();
	sg_topic_id chat;
	sg_test_rng r;
	int i, k, dead_reports = 0;
	(void)state;

	sg_topic_id_from_name(&chat, "chat", 4);
	for (i = 0; i < N; i++) {
		assert_int_equal(sg_core_subscribe(nt->c[i], &chat, nt->now), 0);
		drain(nt, i);
	}
	run_until(nt, 5000);
	/* Garbage: random frames, wrong header, truncated, unknown kinds. */
	sg_test_rng_seed(&r, 99);
	for (k = 0; k < 2000; k++) {
		uint8_t buf[300];
		size_t len = (size_t)(sg_test_rng_u64(&r) % sizeof(buf));
		sg_test_rng_bytes(&r, buf, len);
		if (k % 3 == 0 && len >= 6) {
			/* a valid header around garbage */
			sg_frame_header_encode(buf, (sg_frame_type)(1 + k % 2),
					       len - 6, SG_FRAME_DEFAULT_MAX);
		}
		(void)sg_core_recv(nt->c[3], &nt->ids[4].id, buf, len, nt->now,
				   WALL0 + nt->now);
		drain(nt, 3);
	}
	/* Node 7 crashes. */
	nt->down[7] = 1;
	run_until(nt, nt->now + 20000);
	for (i = 0; i < N; i++)
		dead_reports += nt->dead_seen[i][7];
	assert_true(dead_reports >= 1);
	for (k = 0; k < 4; k++) {
		publish(nt, 1 + k, &chat, (uint8_t)(20 + k));
		run_until(nt, nt->now + 200);
	}
	run_until(nt, nt->now + 5000);
	for (i = 0; i < N; i++)
		for (k = 0; k < 4; k++)
			assert_int_equal(nt->delivered[i][20 + k],
					 i == 7 || i == 1 + k ? 0 : 1);
	free_net(nt);
}

/* A publisher's sequence numbers are consecutive, not the wall clock of
 * each message: receivers keep a window of 256 numbers per publisher, so
 * a message fetched after a newer one (catch-up) is still in it. */
static void test_publisher_seq(void **state)
{
	net *nt = make_net();
	sg_topic_id chat;
	int i;
	(void)state;

	sg_topic_id_from_name(&chat, "chat", 4);
	for (i = 0; i < N; i++) {
		assert_int_equal(sg_core_subscribe(nt->c[i], &chat, nt->now), 0);
		drain(nt, i);
	}
	run_until(nt, 5000);
	publish(nt, 1, &chat, 12);
	run_until(nt, nt->now + 1000);
	publish(nt, 1, &chat, 13);
	run_until(nt, nt->now + 3000);
	for (i = 2; i < N; i++) {
		assert_int_equal(nt->delivered[i][12], 1);
		assert_int_equal(nt->delivered[i][13], 1);
		assert_true(nt->seq[i][12] >= WALL0);
		assert_int_equal(nt->seq[i][13], nt->seq[i][12] + 1);
	}
	free_net(nt);
}

/* Whether b is one of a's swarm neighbours in topic t. */
static int swarm_has(net *nt, int a, int b, const sg_topic_id *t)
{
	sg_peer_id nb[64];
	size_t n = sg_core_topic_neighbors(nt->c[a], t, nb, 64), i;

	for (i = 0; i < n && i < 64; i++)
		if (sg_peer_id_equal(&nb[i], &nt->ids[b].id))
			return 1;
	return 0;
}

static void test_small_topic_links(void **state)
{
	net *nt = make_net();
	sg_topic_id rare;
	sg_core_stats st;
	int a = 2, b = -1, i, k;
	(void)state;

	sg_topic_id_from_name(&rare, "rare", 4);
	run_until(nt, 5000);
	/* Two subscribers that are not neighbours (nor neighbours'
	 * neighbours, when there is such a pair). */
	for (i = N - 1; i > 0 && b < 0; i--) {
		sg_peer_id act[64];
		size_t n, j;
		int close = i == a || sg_core_is_active(nt->c[a], &nt->ids[i].id);
		n = sg_core_active(nt->c[i], act, 64);
		for (j = 0; j < n && !close; j++)
			close = sg_core_is_active(nt->c[a], &act[j]);
		if (!close)
			b = i;
	}
	for (i = N - 1; i > 0 && b < 0; i--)
		if (i != a && !sg_core_is_active(nt->c[a], &nt->ids[i].id))
			b = i;
	assert_true(b > 0);
	assert_int_equal(sg_core_subscribe(nt->c[a], &rare, nt->now), 0);
	assert_int_equal(sg_core_subscribe(nt->c[b], &rare, nt->now), 0);
	drain(nt, a);
	drain(nt, b);
	run_until(nt, nt->now + 10000);
	/* A link each way, outside the active views. */
	assert_true(swarm_has(nt, a, b, &rare));
	assert_true(swarm_has(nt, b, a, &rare));
	sg_core_stats_get(nt->c[a], &st);
	assert_true(st.queries_sent >= 1);
	assert_int_equal(st.links, 1);
	for (k = 0; k < 3; k++) {
		publish(nt, k % 2 ? a : b, &rare, (uint8_t)(5 + k));
		run_until(nt, nt->now + 1000);
	}
	run_until(nt, nt->now + 3000);
	for (i = 0; i < N; i++)
		for (k = 0; k < 3; k++)
			assert_int_equal(nt->delivered[i][5 + k],
					 i == (k % 2 ? b : a) ? 1 : 0);
	/* Consecutive sequence numbers from one publisher (a window of 256
	 * numbers then spans 256 messages). */
	assert_int_equal(nt->seq[a][7], nt->seq[a][5] + 1);

	/* b crashes: a's link goes after 5 s of silence. */
	nt->down[b] = 1;
	run_until(nt, nt->now + 8000);
	assert_false(swarm_has(nt, a, b, &rare));
	sg_core_stats_get(nt->c[a], &st);
	assert_int_equal(st.links, 0);
	assert_true(st.links_lost >= 1);
	/* Unsubscribing says goodbye: no link and no walks are left. */
	assert_int_equal(sg_core_unsubscribe(nt->c[a], &rare, nt->now), 0);
	assert_int_equal(sg_core_topic_neighbors(nt->c[a], &rare, NULL, 0),
			 0);
	free_net(nt);
}

/* A pub/sub frame: kind, topic, then CBOR built by the caller. */
static size_t ps_frame(uint8_t *out, size_t cap, uint8_t kind,
		       const sg_topic_id *t, const uint8_t *cbor, size_t len)
{
	assert_true(6 + 1 + 32 + len <= cap);
	sg_frame_header_encode(out, SG_FRAME_PUBSUB, 1 + 32 + len,
			       SG_FRAME_DEFAULT_MAX);
	out[6] = kind;
	memcpy(out + 7, t->bytes, 32);
	memcpy(out + 39, cbor, len);
	return 39 + len;
}

static void test_swarm_frames_malformed(void **state)
{
	net *nt = make_net();
	sg_topic_id t;
	uint8_t cb[512], fr[600], addr[SG_MEMB_ADDR_MAX];
	sg_cbor_enc e;
	sg_core_stats before, after;
	sg_peer_id to;
	const uint8_t *f;
	size_t alen, n, i;
	(void)state;

	sg_topic_id_from_name(&t, "t", 1);
	addr_of(5, addr, &alen);
	assert_int_equal(sg_core_subscribe(nt->c[3], &t, nt->now), 0);
	drain(nt, 3);
	sg_core_stats_get(nt->c[3], &before);
	/* WALK with a ttl above the maximum. */
	sg_cbor_enc_init(&e, cb, sizeof(cb));
	sg_cbor_put_array(&e, 3);
	sg_cbor_put_uint(&e, 100);
	sg_cbor_put_bytes(&e, nt->ids[5].id.bytes, 32);
	sg_cbor_put_bytes(&e, addr, alen);
	n = ps_frame(fr, sizeof(fr), 5, &t, cb, (size_t)sg_cbor_enc_finish(&e));
	assert_int_equal(sg_core_recv(nt->c[3], &nt->ids[5].id, fr, n, nt->now,
				      WALL0),
			 SG_ERR_RANGE);
	/* WALK with a short origin id. */
	sg_cbor_enc_init(&e, cb, sizeof(cb));
	sg_cbor_put_array(&e, 3);
	sg_cbor_put_uint(&e, 1);
	sg_cbor_put_bytes(&e, nt->ids[5].id.bytes, 31);
	sg_cbor_put_bytes(&e, addr, alen);
	n = ps_frame(fr, sizeof(fr), 5, &t, cb, (size_t)sg_cbor_enc_finish(&e));
	assert_true(sg_core_recv(nt->c[3], &nt->ids[5].id, fr, n, nt->now,
				 WALL0) < 0);
	/* LINK with an unknown operation. */
	sg_cbor_enc_init(&e, cb, sizeof(cb));
	sg_cbor_put_array(&e, 2);
	sg_cbor_put_uint(&e, 9);
	sg_cbor_put_bytes(&e, addr, alen);
	n = ps_frame(fr, sizeof(fr), 6, &t, cb, (size_t)sg_cbor_enc_finish(&e));
	assert_int_equal(sg_core_recv(nt->c[3], &nt->ids[5].id, fr, n, nt->now,
				      WALL0),
			 SG_ERR_MALFORMED);
	/* LINK naming more peers than allowed. */
	sg_cbor_enc_init(&e, cb, sizeof(cb));
	sg_cbor_put_array(&e, 3);
	sg_cbor_put_uint(&e, 0);
	sg_cbor_put_bytes(&e, addr, alen);
	sg_cbor_put_array(&e, 5);
	for (i = 0; i < 5; i++) {
		sg_cbor_put_array(&e, 2);
		sg_cbor_put_bytes(&e, nt->ids[i].id.bytes, 32);
		sg_cbor_put_bytes(&e, addr, alen);
	}
	n = ps_frame(fr, sizeof(fr), 6, &t, cb, (size_t)sg_cbor_enc_finish(&e));
	assert_true(sg_core_recv(nt->c[3], &nt->ids[5].id, fr, n, nt->now,
				 WALL0) < 0);
	/* Trailing bytes after a valid LINK. */
	sg_cbor_enc_init(&e, cb, sizeof(cb));
	sg_cbor_put_array(&e, 2);
	sg_cbor_put_uint(&e, 0);
	sg_cbor_put_bytes(&e, addr, alen);
	n = (size_t)sg_cbor_enc_finish(&e);
	cb[n++] = 0;
	n = ps_frame(fr, sizeof(fr), 6, &t, cb, n);
	assert_true(sg_core_recv(nt->c[3], &nt->ids[5].id, fr, n, nt->now,
				 WALL0) < 0);
	sg_core_stats_get(nt->c[3], &after);
	assert_int_equal(after.links, before.links);
	/* Nothing was answered to any of them. */
	while (sg_core_poll_tx(nt->c[3], &to, &f) > 0)
		assert_false(sg_peer_id_equal(&to, &nt->ids[5].id) &&
			     f[6] == 6);
	/* A valid request for a topic this node is not in: refused. */
	{
		sg_topic_id other;
		int refused = 0;
		sg_topic_id_from_name(&other, "other", 5);
		sg_cbor_enc_init(&e, cb, sizeof(cb));
		sg_cbor_put_array(&e, 2);
		sg_cbor_put_uint(&e, 0);
		sg_cbor_put_bytes(&e, addr, alen);
		n = ps_frame(fr, sizeof(fr), 6, &other, cb,
			     (size_t)sg_cbor_enc_finish(&e));
		assert_int_equal(sg_core_recv(nt->c[3], &nt->ids[5].id, fr, n,
					      nt->now, WALL0),
				 0);
		while ((n = sg_core_poll_tx(nt->c[3], &to, &f)) > 0)
			if (sg_peer_id_equal(&to, &nt->ids[5].id) &&
			    f[6] == 6 && f[n - alen - 2] == 2)
				refused = 1; /* [2, addr]: op REFUSE */
		assert_true(refused);
	}
	free_net(nt);
}

static void test_addr_codec(void **state)
{
	sg_addr a, b;
	uint8_t buf[SG_MEMB_ADDR_MAX];
	long n;
	(void)state;

	memset(&a, 0, sizeof(a));
	a.family = 6;
	a.ip[15] = 1;
	a.port = 65535;
	n = sg_core_addr_encode(buf, &a);
	assert_int_equal(n, 19);
	assert_int_equal(sg_core_addr_decode(&b, buf, (size_t)n), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	a.family = 5;
	assert_int_equal(sg_core_addr_encode(buf, &a), SG_ERR_INVAL);
	buf[0] = 4;
	assert_int_equal(sg_core_addr_decode(&b, buf, 19), SG_ERR_MALFORMED);
	assert_int_equal(sg_core_addr_decode(&b, buf, 0), SG_ERR_MALFORMED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_codec),
		cmocka_unit_test(test_join_topics_deliver),
		cmocka_unit_test(test_crash_and_garbage),
		cmocka_unit_test(test_publisher_seq),
		cmocka_unit_test(test_small_topic_links),
		cmocka_unit_test(test_swarm_frames_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
