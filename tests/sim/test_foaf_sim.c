/*
 * FOAF discovery at N = 1,000: success rate and messages per query for
 * TTL 2, 3 and 4 (fanout 3). The overlay is a random graph shaped like
 * HyParView's views: every node has 8 active neighbours (queries travel
 * on these) and knows the addresses of its active neighbours and of 30
 * random passive peers (what its lookup answers). Each query looks for a
 * random node from a random other node; 400 queries per TTL, one seed.
 * Asserts the success rate grows with the TTL and reaches 90% at TTL 4,
 * and prints the figures for docs/BENCHMARKS.md.
 */
#include "testutil.h"
#include "sg/foaf.h"

#include <string.h>

#define N 1000
#define ACTIVE 8
#define PASSIVE 30
#define QUERIES 400

static sg_peer_id ids[N];
static int act[N][ACTIVE + 4];
static int nact[N];
static int known[N][ACTIVE + 4 + PASSIVE];
static int nknown[N];
static sg_foaf *fo[N];
static int self_of[N];
static uint64_t frames;

static size_t lookup(void *ud, sg_foaf_kind kind,
		     const uint8_t target[SG_FOAF_TARGET_LEN],
		     const sg_peer_id *from, uint8_t answer[SG_FOAF_ANSWER_MAX])
{
	int i = *(int *)ud, k;
	(void)from;
	if (kind != SG_FOAF_PEER)
		return 0;
	for (k = 0; k < nknown[i]; k++)
		if (memcmp(ids[known[i][k]].bytes, target, 32) == 0) {
			answer[0] = 1;
			return 1;
		}
	return 0;
}

static int idx_of(const sg_peer_id *id)
{
	int v;
	memcpy(&v, id->bytes, sizeof(v));
	return v;
}

static size_t nbrs(int i, sg_peer_id *out)
{
	int k;
	for (k = 0; k < nact[i]; k++)
		out[k] = ids[act[i][k]];
	return (size_t)nact[i];
}

static int linked(int a, int b)
{
	int k;
	for (k = 0; k < nact[a]; k++)
		if (act[a][k] == b)
			return 1;
	return 0;
}

static void build(sg_test_rng *r)
{
	int i, k, tries;
	for (i = 0; i < N; i++) {
		memset(ids[i].bytes, 0, 32);
		memcpy(ids[i].bytes, &i, sizeof(i));
		ids[i].bytes[31] = 0x5a;
	}
	/* random graph, degree about ACTIVE (symmetric) */
	for (i = 0; i < N; i++)
		for (tries = 0; nact[i] < ACTIVE && tries < 200; tries++) {
			int j = (int)(sg_test_rng_u64(r) % N);
			if (j == i || linked(i, j) || nact[j] >= ACTIVE + 4)
				continue;
			act[i][nact[i]++] = j;
			act[j][nact[j]++] = i;
		}
	for (i = 0; i < N; i++) {
		for (k = 0; k < nact[i]; k++)
			known[i][nknown[i]++] = act[i][k];
		for (k = 0; k < PASSIVE; k++)
			known[i][nknown[i]++] = (int)(sg_test_rng_u64(r) % N);
	}
}

static void run(sg_test_env *te, unsigned ttl, sg_test_rng *r, double *rate,
		double *msgs)
{
	sg_foaf_config cfg;
	int i, q, found = 0;
	uint64_t now = 1000, f0;

	sg_foaf_config_default(&cfg);
	for (i = 0; i < N; i++) {
		self_of[i] = i;
		fo[i] = sg_foaf_new(&te->env, &cfg, lookup, &self_of[i]);
		assert_non_null(fo[i]);
	}
	f0 = frames;
	for (q = 0; q < QUERIES; q++) {
		int src = (int)(sg_test_rng_u64(r) % N), dst;
		sg_peer_id nb[ACTIVE + 4];
		sg_foaf_event ev;
		int busy = 1;
		do
			dst = (int)(sg_test_rng_u64(r) % N);
		while (dst == src);
		assert_int_equal(sg_foaf_query(fo[src], SG_FOAF_PEER,
					       ids[dst].bytes, (uint8_t)ttl, nb,
					       nbrs(src, nb), now, NULL),
				 0);
		/* hop by hop: queue at each node, deliver, repeat */
		while (busy) {
			busy = 0;
			now += 20;
			for (i = 0; i < N; i++) {
				sg_peer_id to, nb2[ACTIVE + 4];
				const uint8_t *b;
				size_t len;
				while ((len = sg_foaf_poll_tx(fo[i], &to, &b)) >
				       0) {
					int j = idx_of(&to);
					uint8_t copy[512];
					memcpy(copy, b, len);
					sg_foaf_recv(fo[j], &ids[i], copy, len,
						     nb2, nbrs(j, nb2), now);
					frames++;
					busy = 1;
				}
			}
		}
		now += 6000;
		sg_foaf_tick(fo[src], now);
		while (sg_foaf_poll_event(fo[src], &ev))
			found += ev.type == SG_FOAF_FOUND;
	}
	*rate = (double)found / QUERIES;
	*msgs = (double)(frames - f0) / QUERIES;
	for (i = 0; i < N; i++)
		sg_foaf_del(fo[i]);
}

static void test_foaf_ttl(void **state)
{
	sg_test_env te;
	sg_test_rng r;
	double rate[5], msgs[5];
	unsigned ttl;
	(void)state;

	sg_test_env_init(&te, 1, -1);
	sg_test_rng_seed(&r, 2026);
	build(&r);
	for (ttl = 2; ttl <= 4; ttl++) {
		run(&te, ttl, &r, &rate[ttl], &msgs[ttl]);
		printf("foaf N=%d fanout 3 TTL %u: success %.1f%%, %.1f "
		       "messages per query (seed 2026, %d queries)\n",
		       N, ttl, rate[ttl] * 100, msgs[ttl], QUERIES);
	}
	assert_true(rate[3] > rate[2]);
	assert_true(rate[4] > rate[3]);
	assert_true(rate[4] >= 0.90);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_foaf_ttl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
