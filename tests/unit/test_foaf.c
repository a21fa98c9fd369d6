/*
 * FOAF discovery over small in-memory graphs: an answer found TTL hops
 * away travels back along the query's path; a TTL too short times out;
 * duplicate queries are dropped; answers without a route, or about another
 * target, are refused; a neighbour past its rate limit is ignored; garbage
 * frames change nothing.
 */
#include "testutil.h"
#include "sg/err.h"
#include "sg/foaf.h"

#include <string.h>

#define MAXN 8

typedef struct net {
	sg_test_env tenv;
	int n;
	sg_peer_id ids[MAXN];
	sg_foaf *f[MAXN];
	int adj[MAXN][MAXN];
	int knows[MAXN]; /* index of the node whose address it knows, or -1 */
	uint64_t now;
	uint64_t frames;
} net;

typedef struct lctx {
	net *nt;
	int self;
} lctx;

static lctx lc[MAXN];

static size_t lookup(void *ud, sg_foaf_kind kind,
		     const uint8_t target[SG_FOAF_TARGET_LEN],
		     const sg_peer_id *from, uint8_t answer[SG_FOAF_ANSWER_MAX])
{
	lctx *c = ud;
	int k = c->nt->knows[c->self];
	(void)from;
	if (kind != SG_FOAF_PEER || k < 0 ||
	    memcmp(target, c->nt->ids[k].bytes, 32) != 0)
		return 0;
	answer[0] = (uint8_t)k;
	answer[1] = 0xAD;
	return 2;
}

static int node_of(net *nt, const sg_peer_id *id)
{
	int i;
	for (i = 0; i < nt->n; i++)
		if (sg_peer_id_equal(&nt->ids[i], id))
			return i;
	return -1;
}

static size_t nbrs_of(net *nt, int i, sg_peer_id *out)
{
	size_t k = 0;
	int j;
	for (j = 0; j < nt->n; j++)
		if (nt->adj[i][j])
			out[k++] = nt->ids[j];
	return k;
}

/* Delivers every queued frame (in rounds) until the network is quiet. */
static void settle(net *nt)
{
	int busy = 1;
	while (busy) {
		int i;
		busy = 0;
		nt->now += 10;
		for (i = 0; i < nt->n; i++) {
			sg_peer_id to, nb[MAXN];
			const uint8_t *b;
			size_t len;
			sg_foaf_tick(nt->f[i], nt->now);
			while ((len = sg_foaf_poll_tx(nt->f[i], &to, &b)) > 0) {
				int j = node_of(nt, &to);
				uint8_t copy[512];
				size_t nn;
				assert_true(j >= 0 && nt->adj[i][j]);
				assert_true(len <= sizeof(copy));
				memcpy(copy, b, len);
				nn = nbrs_of(nt, j, nb);
				(void)sg_foaf_recv(nt->f[j], &nt->ids[i], copy,
						   len, nb, nn, nt->now);
				nt->frames++;
				busy = 1;
			}
		}
	}
}

static net *make_net(int n)
{
	net *nt = calloc(1, sizeof(*nt));
	sg_foaf_config cfg;
	int i;

	assert_non_null(nt);
	sg_test_env_init(&nt->tenv, 3, -1);
	sg_foaf_config_default(&cfg);
	nt->n = n;
	nt->now = 1000;
	for (i = 0; i < n; i++) {
		memset(nt->ids[i].bytes, 0x10 + i, 32);
		lc[i].nt = nt;
		lc[i].self = i;
		nt->knows[i] = -1;
		nt->f[i] = sg_foaf_new(&nt->tenv.env, &cfg, lookup, &lc[i]);
		assert_non_null(nt->f[i]);
	}
	return nt;
}

static void free_net(net *nt)
{
	int i;
	for (i = 0; i < nt->n; i++)
		sg_foaf_del(nt->f[i]);
	free(nt);
}

static void line(net *nt)
{
	int i;
	for (i = 0; i + 1 < nt->n; i++)
		nt->adj[i][i + 1] = nt->adj[i + 1][i] = 1;
}

static int poll_found(net *nt, int i, sg_foaf_event *ev)
{
	while (sg_foaf_poll_event(nt->f[i], ev))
		if (ev->type == SG_FOAF_FOUND)
			return 1;
	return 0;
}

static void test_line(void **state)
{
	net *nt = make_net(6);
	sg_peer_id nb[MAXN];
	sg_foaf_event ev;
	sg_foaf_stats st;
	uint8_t target[32];
	(void)state;

	line(nt);
	nt->knows[4] = 5; /* node 4 knows node 5's address */
	memcpy(target, nt->ids[5].bytes, 32);
	/* TTL 4 reaches node 4 (hops 1..4) */
	assert_int_equal(sg_foaf_query(nt->f[0], SG_FOAF_PEER, target, 4, nb,
				       nbrs_of(nt, 0, nb), nt->now, NULL),
			 0);
	settle(nt);
	assert_true(poll_found(nt, 0, &ev));
	assert_int_equal(ev.answer_len, 2);
	assert_int_equal(ev.answer[0], 5);
	assert_int_equal(ev.hops, 4);
	/* TTL 3 does not: the query times out */
	assert_int_equal(sg_foaf_query(nt->f[0], SG_FOAF_PEER, target, 3, nb,
				       nbrs_of(nt, 0, nb), nt->now, NULL),
			 0);
	settle(nt);
	assert_false(poll_found(nt, 0, &ev));
	nt->now += 6000;
	sg_foaf_tick(nt->f[0], nt->now);
	assert_int_equal(sg_foaf_poll_event(nt->f[0], &ev), 1);
	assert_int_equal(ev.type, SG_FOAF_TIMEOUT);
	sg_foaf_stats_get(nt->f[0], &st);
	assert_int_equal(st.timeouts, 1);
	assert_int_equal(sg_foaf_query(nt->f[0], SG_FOAF_PEER, target, 7, nb,
				       1, nt->now, NULL),
			 SG_ERR_RANGE);
	assert_int_equal(sg_foaf_query(nt->f[0], SG_FOAF_PEER, target, 2, nb,
				       0, nt->now, NULL),
			 SG_ERR_NOTFOUND);
	free_net(nt);
}

static void test_duplicates_and_routes(void **state)
{
	net *nt = make_net(4);
	sg_peer_id nb[MAXN];
	sg_foaf_event ev;
	sg_foaf_stats st;
	uint8_t target[32], qid[SG_FOAF_QID_LEN];
	int i, j;
	(void)state;

	/* a clique: every query reaches each node by several paths */
	for (i = 0; i < 4; i++)
		for (j = 0; j < 4; j++)
			nt->adj[i][j] = i != j;
	memset(target, 0x77, 32); /* nobody knows it */
	assert_int_equal(sg_foaf_query(nt->f[0], SG_FOAF_PEER, target, 3, nb,
				       nbrs_of(nt, 0, nb), nt->now, qid),
			 0);
	settle(nt);
	for (i = 1, j = 0; i < 4; i++) {
		sg_foaf_stats_get(nt->f[i], &st);
		j += (int)st.duplicates;
	}
	assert_true(j > 0);
	/* an answer for a query id that never passed here: refused */
	{
		uint8_t body[200];
		sg_foaf_stats s2;
		size_t len = 0;
		/* [h'00..', 1, h'77..', 1, h'AB'] */
		body[len++] = SG_FOAF_KIND_ANSWER;
		body[len++] = 0x85;
		body[len++] = 0x50;
		memset(body + len, 0x42, 16);
		len += 16;
		body[len++] = 0x01;
		body[len++] = 0x58;
		body[len++] = 0x20;
		memset(body + len, 0x77, 32);
		len += 32;
		body[len++] = 0x01;
		body[len++] = 0x41;
		body[len++] = 0xAB;
		assert_int_equal(sg_foaf_recv(nt->f[1], &nt->ids[2], body, len,
					      nb, 0, nt->now),
				 SG_ERR_NOTFOUND);
		/* the same with our real query id but another target */
		memcpy(body + 3, qid, 16);
		body[3 + 16 + 1 + 3] = 0x78;
		assert_int_equal(sg_foaf_recv(nt->f[0], &nt->ids[2], body, len,
					      nb, 0, nt->now),
				 SG_ERR_MALFORMED);
		sg_foaf_stats_get(nt->f[1], &s2);
		assert_int_equal(s2.no_route, 1);
	}
	assert_false(poll_found(nt, 0, &ev));
	free_net(nt);
}

static void test_rate_limit_and_garbage(void **state)
{
	net *nt = make_net(2);
	sg_peer_id nb[MAXN];
	sg_foaf_stats st;
	sg_test_rng r;
	int k;
	(void)state;

	line(nt);
	for (k = 0; k < 100; k++) {
		uint8_t target[32];
		memset(target, k, 32);
		sg_foaf_query(nt->f[0], SG_FOAF_PEER, target, 2, nb,
			      nbrs_of(nt, 0, nb), nt->now, NULL);
		/* deliver at once, without time passing */
		{
			sg_peer_id to;
			const uint8_t *b;
			size_t len;
			while ((len = sg_foaf_poll_tx(nt->f[0], &to, &b)) > 0)
				sg_foaf_recv(nt->f[1], &nt->ids[0], b, len, nb,
					     0, nt->now);
		}
		if (k == 63)
			break; /* max_pending */
	}
	sg_foaf_stats_get(nt->f[1], &st);
	assert_int_equal(st.rate_limited, 64 - 40);
	sg_test_rng_seed(&r, 11);
	for (k = 0; k < 5000; k++) {
		uint8_t buf[120];
		size_t len = (size_t)(sg_test_rng_u64(&r) % sizeof(buf));
		sg_test_rng_bytes(&r, buf, len);
		if (len > 1)
			buf[0] = (uint8_t)(3 + k % 2);
		(void)sg_foaf_recv(nt->f[1], &nt->ids[0], buf, len, nb,
				   nbrs_of(nt, 1, nb), nt->now);
	}
	settle(nt);
	free_net(nt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_duplicates_and_routes),
		cmocka_unit_test(test_rate_limit_and_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
