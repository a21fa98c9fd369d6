/*
 * Plumtree over a small in-memory network with a virtual clock: delivery to
 * every node exactly once, the tree forming (duplicates stop), repair
 * through IHAVE/GRAFT when tree links drop frames, forged copies rejected
 * without suppressing the real message, replay and hop limits, catch-up
 * after a partition through SUMMARY/IWANT, publisher keys fetched from the
 * sending neighbour, malformed frames, and the score of a neighbour that
 * announces but never delivers.
 */
#include "testutil.h"
#include "sg/cbor.h"
#include "sg/err.h"
#include "sg/plumtree.h"

#include <string.h>

#define MAXN 16
#define QMAX 20000
#define WALL0 1800000000000ULL

typedef struct frame {
	int from, to;
	uint64_t at;
	uint8_t *buf;
	size_t len;
} frame;

typedef struct net {
	int n;
	sg_test_env tenv;
	sg_identity ids[MAXN];
	sg_keycache *kc[MAXN];
	sg_plumtree *pt[MAXN];
	int link[MAXN][MAXN]; /* 1 connected */
	int drop[MAXN][MAXN]; /* 1: frames on this directed link are lost */
	int isolated[MAXN];
	frame q[QMAX];
	int qn;
	uint64_t now;
	sg_test_rng rng;
	int delivered[MAXN][64]; /* by publish index */
	int misbehaved[MAXN];
	uint64_t payload_copies;
	uint64_t seq;
} net;

static int idx_of(net *w, const sg_peer_id *id)
{
	int i;
	for (i = 0; i < w->n; i++)
		if (sg_peer_id_equal(&w->ids[i].id, id))
			return i;
	return -1;
}

static void collect(net *w, int i)
{
	sg_peer_id to;
	const uint8_t *f;
	size_t len;
	sg_plumtree_event ev;

	while ((len = sg_plumtree_poll_tx(w->pt[i], &to, &f)) > 0) {
		int j = idx_of(w, &to);
		assert_true(j >= 0);
		assert_true(w->qn < QMAX);
		w->q[w->qn].from = i;
		w->q[w->qn].to = j;
		w->q[w->qn].at = w->now + 10 + sg_test_rng_u64(&w->rng) % 40;
		w->q[w->qn].buf = malloc(len);
		memcpy(w->q[w->qn].buf, f, len);
		w->q[w->qn].len = len;
		w->qn++;
	}
	while (sg_plumtree_poll_event(w->pt[i], &ev)) {
		if (ev.type == SG_PLUMTREE_DELIVER) {
			uint64_t k;
			assert_true(ev.msg.payload_len == 8);
			memcpy(&k, ev.msg.payload, 8);
			assert_true(k < 64);
			w->delivered[i][k]++;
		} else {
			w->misbehaved[i]++;
		}
	}
}

/* Runs the network until virtual time end. */
static void run_until(net *w, uint64_t end)
{
	int i;
	while (w->now < end) {
		uint64_t next = end;
		int k, best = -1;
		for (i = 0; i < w->n; i++) {
			uint64_t d = sg_plumtree_next_deadline(w->pt[i]);
			if (d < next)
				next = d;
		}
		for (k = 0; k < w->qn; k++)
			if (w->q[k].at <= next) {
				next = w->q[k].at;
				best = k;
			}
		if (next > w->now)
			w->now = next;
		if (best >= 0 && w->q[best].at <= w->now) {
			frame f = w->q[best];
			w->q[best] = w->q[--w->qn];
			if (!w->drop[f.from][f.to] && !w->isolated[f.from] &&
			    !w->isolated[f.to]) {
				/* Count payload copies (GOSSIP frames). */
				sg_cbor_dec d;
				size_t n;
				uint64_t t;
				sg_cbor_dec_init(&d, f.buf, f.len);
				if (sg_cbor_get_array(&d, &n) == 0 &&
				    sg_cbor_get_uint(&d, &t) == 0 && t == 1)
					w->payload_copies++;
				sg_plumtree_recv(w->pt[f.to], &w->ids[f.from].id,
						 f.buf, f.len, w->now,
						 WALL0 + w->now);
			}
			free(f.buf);
			collect(w, f.to);
			continue;
		}
		for (i = 0; i < w->n; i++) {
			sg_plumtree_tick(w->pt[i], w->now);
			collect(w, i);
		}
		if (best < 0 && next == end)
			break;
	}
	w->now = end;
}

static net *make_net(int n, int complete, sg_plumtree_config *cfg_in)
{
	net *w = calloc(1, sizeof(*w));
	sg_plumtree_config cfg;
	sg_topic_id topic;
	int i, j;

	if (cfg_in)
		cfg = *cfg_in;
	else
		sg_plumtree_config_default(&cfg);
	w->n = n;
	sg_test_env_init(&w->tenv, 42, -1);
	sg_test_rng_seed(&w->rng, 7);
	sg_topic_id_from_name(&topic, "chat", 4);
	for (i = 0; i < n; i++) {
		uint8_t seed[32];
		memset(seed, i + 1, sizeof(seed));
		assert_int_equal(sg_identity_from_seed(&w->ids[i], seed), 0);
		w->kc[i] = sg_keycache_new(&w->tenv.env, 64);
		assert_non_null(w->kc[i]);
		/* Each node knows only its own key at first. */
		sg_keycache_put(w->kc[i], w->ids[i].pk);
		w->pt[i] = sg_plumtree_new(&w->tenv.env, &cfg, &topic, w->kc[i]);
		assert_non_null(w->pt[i]);
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++) {
			int on = i != j && (complete ||
					    (j == (i + 1) % n || i == (j + 1) % n ||
					     j == (i + 3) % n || i == (j + 3) % n));
			w->link[i][j] = on;
			if (on)
				assert_int_equal(sg_plumtree_neighbor_up(
							 w->pt[i], &w->ids[j].id, 0),
						 0);
		}
	return w;
}

static void free_net(net *w)
{
	int i;
	for (i = 0; i < w->qn; i++)
		free(w->q[i].buf);
	for (i = 0; i < w->n; i++) {
		sg_plumtree_del(w->pt[i]);
		sg_keycache_del(w->kc[i]);
	}
	assert_int_equal(w->tenv.allocs, w->tenv.frees);
	free(w);
}

/* Node i publishes message number k. */
static void publish(net *w, int i, uint64_t k, uint8_t *out, size_t *outlen)
{
	static uint8_t buf[8192];
	sg_msg_header h;
	long n;

	memset(&h, 0, sizeof(h));
	sg_topic_id_from_name(&h.topic, "chat", 4);
	h.seq = ++w->seq;
	h.publish_ms = WALL0 + w->now;
	h.expires_ms = h.publish_ms + 600000;
	n = sg_msg_sign(buf, sizeof(buf), &h, (const uint8_t *)&k, 8,
			&w->ids[i], NULL);
	assert_true(n > 0);
	assert_int_equal(sg_plumtree_publish(w->pt[i], buf, (size_t)n, w->now,
					     WALL0 + w->now), 0);
	if (out) {
		memcpy(out, buf, (size_t)n);
		*outlen = (size_t)n;
	}
	collect(w, i);
}

static void expect_all_delivered(net *w, int publisher, uint64_t k)
{
	int i;
	for (i = 0; i < w->n; i++) {
		if (i == publisher || w->isolated[i])
			continue;
		if (w->delivered[i][k] != 1)
			fprintf(stderr, "node %d delivered message %llu %d times\n",
				i, (unsigned long long)k, w->delivered[i][k]);
		assert_int_equal(w->delivered[i][k], 1);
	}
}

static void test_delivery_and_tree(void **state)
{
	net *w = make_net(12, 1, NULL);
	uint64_t k, before;
	(void)state;

	for (k = 0; k < 20; k++) {
		before = w->payload_copies;
		publish(w, (int)(k % 3), k, NULL, NULL);
		run_until(w, w->now + 3000);
		expect_all_delivered(w, (int)(k % 3), k);
		if (k >= 10) {
			/* Once the tree has formed, each node gets one copy
			 * (a few extra copies at most, from repairs). */
			assert_true(w->payload_copies - before <= 11 + 3);
		}
	}
	free_net(w);
}

static void test_repair_when_tree_links_fail(void **state)
{
	net *w = make_net(10, 0, NULL);
	uint64_t k;
	int i, j, victim;
	sg_plumtree_stats st;
	(void)state;

	for (k = 0; k < 5; k++) {
		publish(w, 0, k, NULL, NULL);
		run_until(w, w->now + 3000);
		expect_all_delivered(w, 0, k);
	}
	/* Pick a node with both tree (eager) and lazy links; its tree links
	 * now silently lose frames in both directions, so it can only get
	 * messages through IHAVE + GRAFT over a lazy link. */
	victim = -1;
	for (i = 1; i < w->n && victim < 0; i++) {
		int eager = 0, lazy = 0;
		for (j = 0; j < w->n; j++) {
			if (!w->link[i][j])
				continue;
			if (sg_plumtree_is_eager(w->pt[i], &w->ids[j].id,
						 &w->ids[0].id))
				eager++;
			else
				lazy++;
		}
		if (eager > 0 && lazy > 0)
			victim = i;
	}
	assert_true(victim > 0);
	for (j = 0; j < w->n; j++)
		if (w->link[victim][j] &&
		    sg_plumtree_is_eager(w->pt[victim], &w->ids[j].id,
					 &w->ids[0].id))
			w->drop[victim][j] = w->drop[j][victim] = 1;
	for (k = 5; k < 15; k++) {
		publish(w, 0, k, NULL, NULL);
		run_until(w, w->now + 5000);
		expect_all_delivered(w, 0, k);
	}
	/* The repair went through GRAFT. */
	sg_plumtree_stats_get(w->pt[victim], &st);
	assert_true(st.graft_sent > 0);
	free_net(w);
}

static void test_forged_copy_does_not_suppress(void **state)
{
	net *w = make_net(4, 1, NULL);
	static uint8_t real[8192], forged[8192];
	size_t len;
	(void)state;

	/* Warm up so every node has node 0's key. */
	publish(w, 0, 0, NULL, NULL);
	run_until(w, w->now + 3000);
	expect_all_delivered(w, 0, 0);
	/* Node 0 signs message 1 but nobody sees it yet: take it back off
	 * the queue. */
	publish(w, 0, 1, real, &len);
	while (w->qn > 0)
		free(w->q[--w->qn].buf);
	/* Node 2 forwards a copy with a damaged signature (same id). */
	memcpy(forged, real, len);
	forged[len - 5] ^= 0x40;
	{
		sg_cbor_enc e;
		uint8_t fr[9000];
		long n;
		sg_cbor_enc_init(&e, fr, sizeof(fr));
		sg_cbor_put_array(&e, 3);
		sg_cbor_put_uint(&e, 1);
		sg_cbor_put_uint(&e, 1);
		sg_cbor_put_bytes(&e, forged, len);
		n = sg_cbor_enc_finish(&e);
		assert_int_equal(sg_plumtree_recv(w->pt[1], &w->ids[2].id, fr,
						  (size_t)n, w->now,
						  WALL0 + w->now),
				 SG_ERR_VERIFY);
		collect(w, 1);
		assert_int_equal(w->misbehaved[1], 1);
		assert_int_equal(w->delivered[1][1], 0);
		/* The genuine copy is still accepted. */
		sg_cbor_enc_init(&e, fr, sizeof(fr));
		sg_cbor_put_array(&e, 3);
		sg_cbor_put_uint(&e, 1);
		sg_cbor_put_uint(&e, 1);
		sg_cbor_put_bytes(&e, real, len);
		n = sg_cbor_enc_finish(&e);
		assert_int_equal(sg_plumtree_recv(w->pt[1], &w->ids[0].id, fr,
						  (size_t)n, w->now,
						  WALL0 + w->now), 0);
		collect(w, 1);
		assert_int_equal(w->delivered[1][1], 1);
		/* Replaying it, even after it left the seen set, fails: the
		 * per-publisher window remembers its sequence number. */
		assert_int_equal(sg_plumtree_recv(w->pt[1], &w->ids[0].id, fr,
						  (size_t)n, w->now,
						  WALL0 + w->now), 0);
		collect(w, 1);
		assert_int_equal(w->delivered[1][1], 1);
	}
	free_net(w);
}

static void test_replay_window_and_limits(void **state)
{
	sg_plumtree_config cfg;
	net *w;
	static uint8_t env1[8192];
	size_t len, i;
	uint8_t fr[9000];
	sg_cbor_enc e;
	long n;
	(void)state;

	sg_plumtree_config_default(&cfg);
	cfg.seen_max = 4; /* forgets quickly */
	cfg.cache_msgs = 4;
	w = make_net(3, 1, &cfg);
	publish(w, 0, 0, env1, &len);
	run_until(w, w->now + 3000);
	expect_all_delivered(w, 0, 0);
	for (i = 1; i < 10; i++) {
		publish(w, 0, i, NULL, NULL);
		run_until(w, w->now + 3000);
	}
	/* Message 0 is out of the seen set; the window still rejects it. */
	sg_cbor_enc_init(&e, fr, sizeof(fr));
	sg_cbor_put_array(&e, 3);
	sg_cbor_put_uint(&e, 1);
	sg_cbor_put_uint(&e, 1);
	sg_cbor_put_bytes(&e, env1, len);
	n = sg_cbor_enc_finish(&e);
	assert_int_equal(sg_plumtree_recv(w->pt[1], &w->ids[0].id, fr,
					  (size_t)n, w->now, WALL0 + w->now),
			 SG_ERR_REPLAY);
	collect(w, 1);
	assert_int_equal(w->delivered[1][0], 1);
	/* A hop count beyond the limit is refused before any work. */
	sg_cbor_enc_init(&e, fr, sizeof(fr));
	sg_cbor_put_array(&e, 3);
	sg_cbor_put_uint(&e, 1);
	sg_cbor_put_uint(&e, cfg.max_hops + 1);
	sg_cbor_put_bytes(&e, env1, len);
	n = sg_cbor_enc_finish(&e);
	assert_int_equal(sg_plumtree_recv(w->pt[2], &w->ids[0].id, fr,
					  (size_t)n, w->now, WALL0 + w->now),
			 SG_ERR_RANGE);
	/* Frames from a peer that is not a neighbour are ignored. */
	assert_int_equal(sg_plumtree_recv(w->pt[2], &w->ids[2].id, fr,
					  (size_t)n, w->now, WALL0 + w->now),
			 SG_ERR_NOTFOUND);
	free_net(w);
}

static void test_catch_up_after_partition(void **state)
{
	net *w = make_net(8, 0, NULL);
	uint64_t k;
	(void)state;

	publish(w, 0, 0, NULL, NULL);
	run_until(w, w->now + 3000);
	expect_all_delivered(w, 0, 0);
	w->isolated[5] = 1;
	for (k = 1; k < 6; k++) {
		publish(w, 0, k, NULL, NULL);
		run_until(w, w->now + 1000);
	}
	for (k = 1; k < 6; k++)
		assert_int_equal(w->delivered[5][k], 0);
	/* Membership notices the partition both ways, then the heal. */
	for (k = 0; k < (uint64_t)w->n; k++)
		if (w->link[5][k]) {
			sg_plumtree_neighbor_down(w->pt[5], &w->ids[k].id);
			sg_plumtree_neighbor_down(w->pt[k], &w->ids[5].id);
		}
	w->isolated[5] = 0;
	for (k = 0; k < (uint64_t)w->n; k++)
		if (w->link[5][k]) {
			sg_plumtree_neighbor_up(w->pt[5], &w->ids[k].id, w->now);
			sg_plumtree_neighbor_up(w->pt[k], &w->ids[5].id, w->now);
		}
	/* A new neighbour gets a full summary at the next interval (2 s),
	 * so it fetches what it missed. */
	run_until(w, w->now + 6000);
	for (k = 1; k < 6; k++)
		assert_int_equal(w->delivered[5][k], 1);
	free_net(w);
}

static void test_malformed_frames(void **state)
{
	net *w = make_net(2, 1, NULL);
	static const uint8_t bad[][8] = {
		{0x81, 0x09},             /* unknown type */
		{0x82, 0x05, 0x00},       /* PRUNE with an int publisher */
		{0x83, 0x01, 0x00, 0x01}, /* GOSSIP with an int envelope */
		{0xff},                   /* not CBOR */
		{0x82, 0x02, 0x81, 0x00}, /* IHAVE entry not a pair */
	};
	static const size_t lens[] = {2, 3, 4, 1, 4};
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		assert_true(sg_plumtree_recv(w->pt[1], &w->ids[0].id, bad[i],
					     lens[i], 0, WALL0) < 0);
	collect(w, 1);
	assert_int_equal(w->misbehaved[1], (int)(sizeof(lens) / sizeof(lens[0])));
	/* An IHAVE with more entries than a batch may hold. */
	{
		sg_cbor_enc e;
		static uint8_t fr[8192];
		long n;
		size_t k;
		sg_cbor_enc_init(&e, fr, sizeof(fr));
		sg_cbor_put_array(&e, 2);
		sg_cbor_put_uint(&e, 2);
		sg_cbor_put_array(&e, 65);
		for (k = 0; k < 65; k++) {
			uint8_t id[32] = {0};
			id[0] = (uint8_t)k;
			sg_cbor_put_array(&e, 2);
			sg_cbor_put_bytes(&e, id, 32);
			sg_cbor_put_uint(&e, 1);
		}
		n = sg_cbor_enc_finish(&e);
		assert_int_equal(sg_plumtree_recv(w->pt[1], &w->ids[0].id, fr,
						  (size_t)n, 0, WALL0),
				 SG_ERR_RANGE);
	}
	free_net(w);
}

/* A counting allocator over malloc: bytes held now and at most. */
typedef struct counting {
	size_t now, peak;
} counting;

static void *c_alloc(void *ud, size_t len)
{
	counting *c = ud;
	size_t *p = malloc(sizeof(size_t) + len);
	if (p == NULL)
		return NULL;
	*p = len;
	c->now += len;
	if (c->now > c->peak)
		c->peak = c->now;
	return p + 1;
}

static void c_free(void *ud, void *ptr)
{
	counting *c = ud;
	size_t *p = ptr;
	if (p == NULL)
		return;
	c->now -= p[-1];
	free(p - 1);
}

static void *c_realloc(void *ud, void *ptr, size_t len)
{
	counting *c = ud;
	size_t *p = ptr, old = p ? p[-1] : 0;
	size_t *q = realloc(p ? p - 1 : NULL, sizeof(size_t) + len);
	if (q == NULL)
		return NULL;
	*q = len;
	c->now = c->now - old + len;
	if (c->now > c->peak)
		c->peak = c->now;
	return q + 1;
}

/* Tables start small: a topic with 32 neighbours and no traffic holds a
 * few KiB, not the ~2 MiB its bounds allow; traffic grows them, and they
 * shrink back once the messages expire. */
static void test_tables_grow_on_demand(void **state)
{
	counting cnt = {0, 0};
	sg_env env;
	sg_plumtree_config cfg;
	sg_keycache *kc;
	sg_plumtree *pt;
	sg_topic_id topic;
	sg_identity pub, nb;
	size_t idle, k;
	uint8_t seed[32];
	static uint8_t buf[8192], fr[9000];
	(void)state;

	assert_int_equal(sg_env_default(&env), 0);
	env.alloc = c_alloc;
	env.realloc = c_realloc;
	env.free = c_free;
	env.alloc_ud = &cnt;
	sg_plumtree_config_default(&cfg);
	sg_topic_id_from_name(&topic, "chat", 4);
	memset(seed, 1, sizeof(seed));
	assert_int_equal(sg_identity_from_seed(&pub, seed), 0);
	kc = sg_keycache_new(&env, 1024);
	assert_non_null(kc);
	assert_int_equal(sg_keycache_put(kc, pub.pk), 0);
	pt = sg_plumtree_new(&env, &cfg, &topic, kc);
	assert_non_null(pt);
	for (k = 0; k < cfg.max_neighbors; k++) {
		sg_peer_id p;
		memset(p.bytes, (int)k + 1, sizeof(p.bytes));
		assert_int_equal(sg_plumtree_neighbor_up(pt, &p, 0), 0);
	}
	idle = cnt.now;
	assert_true(idle < 24 * 1024);
	/* 300 messages from one publisher through neighbour 1. */
	memset(seed, 2, sizeof(seed));
	assert_int_equal(sg_identity_from_seed(&nb, seed), 0);
	for (k = 0; k < 300; k++) {
		sg_msg_header h;
		sg_cbor_enc e;
		sg_peer_id from, to;
		const uint8_t *f;
		long n;
		memset(&h, 0, sizeof(h));
		h.topic = topic;
		h.seq = k + 1;
		h.publish_ms = WALL0 + k;
		h.expires_ms = h.publish_ms + 600000;
		n = sg_msg_sign(buf, sizeof(buf), &h, (const uint8_t *)&k, 8,
				&pub, NULL);
		assert_true(n > 0);
		sg_cbor_enc_init(&e, fr, sizeof(fr));
		sg_cbor_put_array(&e, 3);
		sg_cbor_put_uint(&e, 1);
		sg_cbor_put_uint(&e, 1);
		sg_cbor_put_bytes(&e, buf, (size_t)n);
		n = sg_cbor_enc_finish(&e);
		memset(from.bytes, 1, sizeof(from.bytes));
		assert_int_equal(sg_plumtree_recv(pt, &from, fr, (size_t)n, k,
						  WALL0 + k),
				 0);
		while (sg_plumtree_poll_tx(pt, &to, &f) > 0)
			;
		{
			sg_plumtree_event ev;
			while (sg_plumtree_poll_event(pt, &ev))
				;
		}
	}
	/* Seen set and cache grew to 512 slots (ids + values); the cached
	 * envelopes themselves are the bulk. */
	assert_true(cnt.now > idle + 300 * 3000);
	/* Once the messages have expired (10 min + 5 min skew) their ids
	 * leave the seen set, the cache has aged out, and the tables give
	 * their memory back. */
	sg_plumtree_tick(pt, 300 + 900001);
	{
		sg_plumtree_stats st;
		sg_plumtree_stats_get(pt, &st);
		assert_int_equal(st.cached, 0);
	}
	/* What stays: the publisher's window, grown queue rings. */
	assert_true(cnt.now < idle + 4096);
	sg_plumtree_del(pt);
	sg_keycache_del(kc);
	assert_int_equal(cnt.now, 0);
}

/* Memory running out at any point while messages flow: nothing crashes
 * or leaks, and once memory is back every new message reaches everyone. */
static void test_out_of_memory(void **state)
{
	static const long extra[] = {0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144};
	size_t t;
	(void)state;

	for (t = 0; t < sizeof(extra) / sizeof(extra[0]); t++) {
		net *w = make_net(6, 1, NULL);
		uint64_t k;
		int i;
		for (k = 0; k < 3; k++) {
			publish(w, 0, k, NULL, NULL);
			run_until(w, w->now + 2000);
		}
		w->tenv.budget = w->tenv.allocs + extra[t];
		for (k = 3; k < 8; k++) {
			publish(w, (int)k % 6, k, NULL, NULL);
			run_until(w, w->now + 2000);
		}
		w->tenv.budget = -1;
		/* Trees damaged by lost frames repair within a few rounds
		 * (GRAFT); the first message after may need a summary. */
		run_until(w, w->now + 5000);
		for (k = 8; k < 12; k++) {
			publish(w, (int)k % 6, k, NULL, NULL);
			run_until(w, w->now + 5000);
			expect_all_delivered(w, (int)k % 6, k);
		}
		for (i = 0; i < w->n; i++) {
			sg_plumtree_stats st;
			sg_plumtree_stats_get(w->pt[i], &st);
			assert_true(st.delivered <= 12);
		}
		free_net(w);
	}
}

/* Node `from` announces a message that does not exist (an IHAVE claiming
 * 1 hop for an id made of `tag` bytes) to node `to`. */
static void announce_fake(net *w, int from, int to, uint8_t tag)
{
	uint8_t fr[64], id[32];
	sg_cbor_enc e;
	long n;

	memset(id, tag, sizeof(id));
	sg_cbor_enc_init(&e, fr, sizeof(fr));
	sg_cbor_put_array(&e, 2);
	sg_cbor_put_uint(&e, 2); /* IHAVE */
	sg_cbor_put_array(&e, 1);
	sg_cbor_put_array(&e, 2);
	sg_cbor_put_bytes(&e, id, sizeof(id));
	sg_cbor_put_uint(&e, 1);
	n = sg_cbor_enc_finish(&e);
	assert_true(n > 0);
	assert_int_equal(sg_plumtree_recv(w->pt[to], &w->ids[from].id, fr,
					  (size_t)n, w->now, WALL0 + w->now),
			 0);
	collect(w, to);
}

static int32_t score_of(net *w, int at, int peer)
{
	sg_plumtree_peer_info info;

	assert_int_equal(
	    sg_plumtree_peer_info_get(w->pt[at], &w->ids[peer].id, &info), 0);
	return info.score;
}

/* A neighbour that keeps announcing what it never delivers: each GRAFT it
 * leaves unanswered while it goes on talking costs twice the one before
 * (-5, -10, -20), so the third prunes it from full credit (+10), where a
 * flat -5 would take six. A first copy from it clears its strikes. */
static void test_unanswered_strikes(void **state)
{
	sg_plumtree_peer_info info;
	net *w;
	uint64_t k;
	(void)state;

	w = make_net(2, 1, NULL);
	for (k = 0; k < 12; k++) {
		publish(w, 0, k, NULL, NULL);
		run_until(w, w->now + 200);
	}
	assert_int_equal(score_of(w, 1, 0), 10);
	w->drop[1][0] = 1; /* node 1's GRAFTs go unanswered */
	/* Each step announces one more id (node 0 "speaks") and runs past
	 * the GRAFT of this id (500 ms) and the deadline of the previous
	 * one (250 ms after its GRAFT). */
	announce_fake(w, 0, 1, 0xa0);
	run_until(w, w->now + 501);
	assert_int_equal(score_of(w, 1, 0), 10);
	announce_fake(w, 0, 1, 0xa1);
	run_until(w, w->now + 501);
	assert_int_equal(score_of(w, 1, 0), 5);
	announce_fake(w, 0, 1, 0xa2);
	run_until(w, w->now + 501);
	assert_int_equal(score_of(w, 1, 0), -5);
	announce_fake(w, 0, 1, 0xa3);
	run_until(w, w->now + 501);
	assert_int_equal(
	    sg_plumtree_peer_info_get(w->pt[1], &w->ids[0].id, &info), 0);
	assert_int_equal(info.prunes, 1);
	assert_int_equal(info.score, 0);
	assert_true(info.backoff_until > w->now);
	free_net(w);

	w = make_net(2, 1, NULL);
	for (k = 0; k < 12; k++) {
		publish(w, 0, k, NULL, NULL);
		run_until(w, w->now + 200);
	}
	w->drop[1][0] = 1;
	announce_fake(w, 0, 1, 0xb0);
	run_until(w, w->now + 501);
	announce_fake(w, 0, 1, 0xb1);
	run_until(w, w->now + 501);
	assert_int_equal(score_of(w, 1, 0), 5); /* 0xb0: strike 1 */
	/* A first copy (+1) before 0xb1's deadline: the next strike is the
	 * first again. */
	publish(w, 0, 12, NULL, NULL);
	run_until(w, w->now + 300);
	assert_int_equal(w->delivered[1][12], 1);
	assert_int_equal(score_of(w, 1, 0), 1); /* 5 + 1 - 5 */
	free_net(w);
}

static void test_initial_seq(void **state)
{
	(void)state;
	assert_int_equal(sg_plumtree_initial_seq(0, 1000), 1000);
	assert_int_equal(sg_plumtree_initial_seq(5000, 1000), 5001);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delivery_and_tree),
		cmocka_unit_test(test_repair_when_tree_links_fail),
		cmocka_unit_test(test_forged_copy_does_not_suppress),
		cmocka_unit_test(test_replay_window_and_limits),
		cmocka_unit_test(test_catch_up_after_partition),
		cmocka_unit_test(test_malformed_frames),
		cmocka_unit_test(test_tables_grow_on_demand),
		cmocka_unit_test(test_out_of_memory),
		cmocka_unit_test(test_initial_seq),
		cmocka_unit_test(test_unanswered_strikes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
