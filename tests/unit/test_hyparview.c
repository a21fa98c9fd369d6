/*
 * HyParView core on a small in-memory network (FIFO links, no loss): joins
 * give symmetric, bounded, connected active views; a failed neighbour is
 * replaced from the passive view at once; an isolated node rejoins through
 * its contact by itself; frames whose sender is not the authenticated peer
 * are dropped and counted; views stay bounded under a flood of shuffles;
 * allocation failures are clean.
 */
#include "testutil.h"
#include "sg/err.h"
#include "sg/hyparview.h"

#include <string.h>

#define N 24
#define QMAX 20000

struct frame {
	int from, to;
	size_t len;
	uint8_t buf[SG_MEMB_MSG_MAX];
};

struct net {
	sg_test_env t;
	sg_hyparview_config cfg;
	sg_hyparview *hv[N];
	sg_memb_peer peer[N];
	int down[N]; /* crashed: frames to it vanish */
	struct frame *q;
	size_t qh, qn;
	uint64_t now;
	unsigned ups, downs;
};

static int index_of(struct net *n, const sg_peer_id *id)
{
	int i;

	for (i = 0; i < N; i++)
		if (memcmp(n->peer[i].id.bytes, id->bytes, SG_PEER_ID_LEN) == 0)
			return i;
	return -1;
}

static void collect(struct net *n, int i)
{
	const uint8_t *f;
	sg_peer_id to;
	sg_hyparview_event ev;
	size_t len;

	while ((len = sg_hyparview_poll_tx(n->hv[i], &to, &f)) > 0) {
		struct frame *fr;
		int j = index_of(n, &to);

		assert_true(j >= 0);
		assert_true(n->qn < QMAX);
		fr = &n->q[(n->qh + n->qn++) % QMAX];
		fr->from = i;
		fr->to = j;
		fr->len = len;
		memcpy(fr->buf, f, len);
	}
	while (sg_hyparview_poll_event(n->hv[i], &ev)) {
		if (ev.type == SG_HYPARVIEW_NEIGHBOR_UP)
			n->ups++;
		else
			n->downs++;
	}
}

static void deliver(struct net *n)
{
	int i;

	for (i = 0; i < N; i++)
		if (n->hv[i] != NULL)
			collect(n, i);
	while (n->qn > 0) {
		struct frame *fr = &n->q[n->qh];

		n->qh = (n->qh + 1) % QMAX;
		n->qn--;
		if (n->hv[fr->to] == NULL || n->down[fr->to])
			continue;
		sg_hyparview_recv(n->hv[fr->to], &n->peer[fr->from].id, fr->buf,
				  fr->len, n->now);
		collect(n, fr->to);
	}
}

static void run(struct net *n, uint64_t ms)
{
	uint64_t end = n->now + ms;
	int i;

	while (n->now < end) {
		n->now += 50;
		for (i = 0; i < N; i++)
			if (n->hv[i] != NULL && !n->down[i])
				sg_hyparview_tick(n->hv[i], n->now);
		deliver(n);
	}
}

static void net_init(struct net *n, uint64_t seed)
{
	int i;

	memset(n, 0, sizeof(*n));
	sg_test_env_init(&n->t, seed, -1);
	sg_hyparview_config_default(&n->cfg);
	n->cfg.active_target = 3;
	n->cfg.active_max = 5;
	n->cfg.passive_max = 10;
	n->cfg.shuffle_interval_ms = 5000;
	n->q = calloc(QMAX, sizeof(*n->q));
	assert_non_null(n->q);
	n->now = 1000;
	for (i = 0; i < N; i++) {
		sg_test_rng_bytes(&n->t.rng, n->peer[i].id.bytes,
				  SG_PEER_ID_LEN);
		n->peer[i].addr_len = 4;
		memcpy(n->peer[i].addr, &i, 4);
		n->hv[i] =
		    sg_hyparview_new(&n->t.env, &n->cfg, &n->peer[i], n->now);
		assert_non_null(n->hv[i]);
	}
}

static void net_fini(struct net *n)
{
	int i;

	for (i = 0; i < N; i++)
		sg_hyparview_del(n->hv[i]);
	free(n->q);
	assert_int_equal(n->t.allocs, n->t.frees);
}

/* Alive nodes' active graph: symmetric, bounded, connected. */
static void check_views(struct net *n)
{
	sg_peer_id act[16];
	int seen[N] = {0}, stack[N], sp = 0, i, count = 0, first = -1;
	size_t k, na;

	for (i = 0; i < N; i++) {
		if (n->down[i])
			continue;
		if (first < 0)
			first = i;
		na = sg_hyparview_active(n->hv[i], act, 16);
		assert_true(na >= 1 && na <= n->cfg.active_max);
		for (k = 0; k < na; k++) {
			int j = index_of(n, &act[k]);

			assert_true(j >= 0 && !n->down[j]);
			assert_true(
			    sg_hyparview_is_active(n->hv[j], &n->peer[i].id));
		}
	}
	seen[first] = 1;
	stack[sp++] = first;
	while (sp > 0) {
		int u = stack[--sp];

		count++;
		na = sg_hyparview_active(n->hv[u], act, 16);
		for (k = 0; k < na; k++) {
			int j = index_of(n, &act[k]);

			if (!seen[j]) {
				seen[j] = 1;
				stack[sp++] = j;
			}
		}
	}
	for (i = 0; i < N; i++)
		if (!n->down[i])
			count--;
	assert_int_equal(count, 0);
}

static void join_all(struct net *n)
{
	int i;

	for (i = 1; i < N; i++) {
		assert_int_equal(
		    sg_hyparview_add_contact(n->hv[i], &n->peer[0]), 0);
		assert_int_equal(sg_hyparview_join(n->hv[i], n->now), 0);
		run(n, 200);
	}
	run(n, 20000);
}

static void test_join(void **state)
{
	struct net *n = malloc(sizeof(*n));
	sg_hyparview_stats st;
	int i;
	(void)state;

	net_init(n, 1);
	join_all(n);
	check_views(n);
	assert_true(n->ups > 0);
	for (i = 0; i < N; i++) {
		sg_hyparview_stats_get(n->hv[i], &st);
		assert_true(st.passive <= n->cfg.passive_max);
		assert_int_equal(st.rx_malformed, 0);
		assert_int_equal(st.rx_sender_mismatch, 0);
	}
	/* After shuffles every node knows some passive peers. */
	sg_hyparview_stats_get(n->hv[N - 1], &st);
	assert_true(st.passive > 0);
	net_fini(n);
	free(n);
}

static void test_failure_replaced(void **state)
{
	struct net *n = malloc(sizeof(*n));
	sg_peer_id act[16];
	const uint8_t *f;
	sg_peer_id to;
	sg_memb_msg m;
	sg_hyparview_event ev;
	size_t na, len;
	int victim, got_down = 0, asked_passive = 0;
	(void)state;

	net_init(n, 2);
	join_all(n);
	na = sg_hyparview_active(n->hv[5], act, 16);
	assert_true(na >= 1);
	victim = index_of(n, &act[0]);
	n->down[victim] = 1;
	/* SWIM (or the transport) reports it: at once a DOWN event, and a
	 * NEIGHBOR request to a passive peer if the view is now short. */
	deliver(n);
	sg_hyparview_peer_failed(n->hv[5], &n->peer[victim].id, n->now);
	assert_false(sg_hyparview_is_active(n->hv[5], &n->peer[victim].id));
	while (sg_hyparview_poll_event(n->hv[5], &ev))
		if (ev.type == SG_HYPARVIEW_NEIGHBOR_DOWN &&
		    !memcmp(ev.peer.id.bytes, n->peer[victim].id.bytes, 32))
			got_down = 1;
	assert_true(got_down);
	while ((len = sg_hyparview_poll_tx(n->hv[5], &to, &f)) > 0) {
		assert_int_equal(sg_memb_decode(&m, f, len), 0);
		if (m.type == SG_MEMB_NEIGHBOR) {
			assert_true(memcmp(to.bytes, n->peer[victim].id.bytes,
					   32) != 0);
			asked_passive = 1;
		}
	}
	if (na - 1 < n->cfg.active_target)
		assert_true(asked_passive);
	/* Everyone else learns it too; the survivors reconnect. */
	{
		int i;

		for (i = 0; i < N; i++)
			if (!n->down[i])
				sg_hyparview_peer_failed(
				    n->hv[i], &n->peer[victim].id, n->now);
	}
	run(n, 10000);
	check_views(n);
	net_fini(n);
	free(n);
}

static void test_isolated_rejoins(void **state)
{
	struct net *n = malloc(sizeof(*n));
	sg_peer_id act[16];
	size_t na, k;
	int i, lone = N - 1;
	(void)state;

	net_init(n, 3);
	join_all(n);
	/* Every neighbour and passive peer of `lone` fails, except node 0,
	 * its contact: the lone node must find its way back by itself. */
	na = sg_hyparview_active(n->hv[lone], act, 16);
	for (k = 0; k < na; k++) {
		int j = index_of(n, &act[k]);

		if (j == 0)
			continue;
		sg_hyparview_peer_failed(n->hv[lone], &act[k], n->now);
		sg_hyparview_peer_failed(n->hv[j], &n->peer[lone].id, n->now);
	}
	if (sg_hyparview_is_active(n->hv[lone], &n->peer[0].id)) {
		sg_hyparview_peer_failed(n->hv[lone], &n->peer[0].id, n->now);
		sg_hyparview_peer_failed(n->hv[0], &n->peer[lone].id, n->now);
	}
	for (i = 0; i < N; i++)
		if (i != lone && i != 0)
			sg_hyparview_peer_failed(n->hv[lone], &n->peer[i].id,
						 n->now);
	assert_int_equal(sg_hyparview_active(n->hv[lone], NULL, 0), 0);
	run(n, 15000);
	assert_true(sg_hyparview_active(n->hv[lone], NULL, 0) >= 1);
	check_views(n);
	net_fini(n);
	free(n);
}

static void test_sender_mismatch_and_junk(void **state)
{
	sg_test_env t;
	sg_hyparview_config cfg;
	sg_hyparview *hv;
	sg_memb_peer self, a, b;
	sg_hyparview_stats st;
	sg_memb_msg m;
	uint8_t buf[SG_MEMB_MSG_MAX];
	long len;
	(void)state;

	sg_test_env_init(&t, 4, -1);
	sg_hyparview_config_default(&cfg);
	memset(&self, 1, sizeof(self));
	self.addr_len = 4;
	memset(&a, 2, sizeof(a));
	a.addr_len = 4;
	memset(&b, 3, sizeof(b));
	b.addr_len = 4;
	hv = sg_hyparview_new(&t.env, &cfg, &self, 0);
	assert_non_null(hv);
	memset(&m, 0, sizeof(m));
	m.type = SG_MEMB_JOIN;
	m.sender = a.id;
	m.peer = a;
	len = sg_memb_encode(buf, sizeof(buf), &m);
	assert_true(len > 0);
	/* Claims to be a, arrives from b: dropped, nothing changes. */
	assert_int_equal(sg_hyparview_recv(hv, &b.id, buf, (size_t)len, 10),
			 SG_ERR_PERM);
	assert_false(sg_hyparview_is_active(hv, &a.id));
	assert_false(sg_hyparview_is_active(hv, &b.id));
	/* The real a joins. */
	assert_int_equal(sg_hyparview_recv(hv, &a.id, buf, (size_t)len, 10), 0);
	assert_true(sg_hyparview_is_active(hv, &a.id));
	/* Junk and SWIM frames are refused. */
	assert_true(sg_hyparview_recv(hv, &a.id, buf, (size_t)len - 1, 10) < 0);
	m.type = SG_MEMB_PING;
	len = sg_memb_encode(buf, sizeof(buf), &m);
	assert_int_equal(sg_hyparview_recv(hv, &a.id, buf, (size_t)len, 10),
			 SG_ERR_UNSUPPORTED);
	sg_hyparview_stats_get(hv, &st);
	assert_int_equal(st.rx_sender_mismatch, 1);
	assert_int_equal(st.rx_malformed, 2);
	assert_int_equal(st.active, 1);
	/* A peer that treats us as its neighbour without being ours is told
	 * so (DISCONNECT), at most once per stranger_interval_ms; a real
	 * neighbour is not. */
	{
		const uint8_t *f;
		sg_peer_id to;
		size_t flen;
		int disc = 0;

		while (sg_hyparview_poll_tx(hv, &to, &f) > 0)
			;
		sg_hyparview_not_neighbor(hv, &a.id, 1000);
		assert_int_equal(sg_hyparview_poll_tx(hv, &to, &f), 0);
		sg_hyparview_not_neighbor(hv, &b.id, 1000);
		sg_hyparview_not_neighbor(hv, &b.id, 1001);
		while ((flen = sg_hyparview_poll_tx(hv, &to, &f)) > 0) {
			assert_int_equal(sg_memb_decode(&m, f, flen), 0);
			assert_int_equal(m.type, SG_MEMB_DISCONNECT);
			assert_memory_equal(to.bytes, b.id.bytes, 32);
			disc++;
		}
		assert_int_equal(disc, 1);
	}
	sg_hyparview_del(hv);
	sg_hyparview_del(NULL);
	assert_int_equal(t.allocs, t.frees);
}

static void test_bounded_views(void **state)
{
	sg_test_env t;
	sg_hyparview_config cfg;
	sg_hyparview *hv;
	sg_memb_peer self, a;
	sg_hyparview_stats st;
	sg_memb_msg m;
	uint8_t buf[SG_MEMB_MSG_MAX];
	const uint8_t *f;
	sg_peer_id to;
	long len;
	unsigned round, i;
	(void)state;

	sg_test_env_init(&t, 5, -1);
	sg_hyparview_config_default(&cfg);
	cfg.passive_max = 20;
	cfg.active_max = 4;
	cfg.active_target = 2;
	memset(&self, 1, sizeof(self));
	memset(&a, 2, sizeof(a));
	hv = sg_hyparview_new(&t.env, &cfg, &self, 0);
	assert_non_null(hv);
	for (round = 0; round < 50; round++) {
		memset(&m, 0, sizeof(m));
		m.type = SG_MEMB_SHUFFLEREPLY;
		m.sender = a.id;
		m.n_peers = SG_MEMB_MAX_PEERS;
		for (i = 0; i < m.n_peers; i++) {
			sg_test_rng_bytes(&t.rng, m.peers[i].id.bytes, 32);
			m.peers[i].addr_len = 3;
		}
		len = sg_memb_encode(buf, sizeof(buf), &m);
		assert_int_equal(
		    sg_hyparview_recv(hv, &a.id, buf, (size_t)len, round), 0);
		/* High-priority NEIGHBOR requests from strangers. */
		memset(&m, 0, sizeof(m));
		m.type = SG_MEMB_NEIGHBOR;
		sg_test_rng_bytes(&t.rng, m.sender.bytes, 32);
		m.peer.id = m.sender;
		m.flag = 1;
		len = sg_memb_encode(buf, sizeof(buf), &m);
		assert_int_equal(
		    sg_hyparview_recv(hv, &m.sender, buf, (size_t)len, round),
		    0);
		while (sg_hyparview_poll_tx(hv, &to, &f) > 0)
			;
	}
	sg_hyparview_stats_get(hv, &st);
	assert_int_equal(st.passive, cfg.passive_max);
	assert_int_equal(st.active, cfg.active_max);
	assert_true(st.passive_evicted > 0);
	sg_hyparview_del(hv);
	assert_int_equal(t.allocs, t.frees);
}

static void test_config_and_oom(void **state)
{
	sg_test_env t;
	sg_hyparview_config cfg;
	sg_hyparview *hv;
	sg_memb_peer self;
	long budget;
	(void)state;

	memset(&self, 1, sizeof(self));
	sg_test_env_init(&t, 6, -1);
	sg_hyparview_config_default(&cfg);
	cfg.active_target = cfg.active_max + 1;
	assert_null(sg_hyparview_new(&t.env, &cfg, &self, 0));
	sg_hyparview_config_default(&cfg);
	cfg.size = 1;
	assert_null(sg_hyparview_new(&t.env, &cfg, &self, 0));
	sg_hyparview_config_default(&cfg);
	for (budget = 0; budget < 8; budget++) {
		sg_test_env_init(&t, 6, budget);
		hv = sg_hyparview_new(&t.env, &cfg, &self, 0);
		if (hv != NULL) {
			/* Queue pushes fail cleanly too (counted). */
			sg_memb_peer c;

			memset(&c, 9, sizeof(c));
			c.addr_len = 1;
			sg_hyparview_add_contact(hv, &c);
			sg_hyparview_join(hv, 1);
			sg_hyparview_tick(hv, 100000);
			sg_hyparview_del(hv);
		}
		assert_int_equal(t.allocs, t.frees);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_join),
	    cmocka_unit_test(test_failure_replaced),
	    cmocka_unit_test(test_isolated_rejoins),
	    cmocka_unit_test(test_sender_mismatch_and_junk),
	    cmocka_unit_test(test_bounded_views),
	    cmocka_unit_test(test_config_and_oom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
