/*
 * sg-pubsub-grid: Plumtree (src/pubsub/plumtree.c, the same core the node
 * runs) for N nodes in one process, in virtual time, over a random overlay
 * shaped like HyParView's active views (a ring plus random links, degree 8
 * to 12, symmetric). Links delay each frame by a uniform 10-50 ms and may
 * lose it; nodes may crash mid-run, their neighbours learning of it after a
 * failure-detection delay. Same seed, same output.
 *
 * Per cell it prints missed deliveries, RMR (relative message redundancy:
 * payload copies received / (receivers) - 1, over the rounds after the
 * warm-up), LDH (hops of the last delivery, the maximum over messages),
 * publish-to-delivery latency percentiles and bytes sent per node per
 * second. With --assert it checks the targets of DESIGN.md section 4 and
 * exits 1 (printing the seed) when one is missed.
 *
 * Signatures are real ML-DSA-65 signatures checked by the core; as DESIGN.md
 * section 7 allows, each unique (header, signature, key) is verified once
 * and the answer reused by every node. --forge makes a few nodes forward
 * corrupted copies and checks that no node accepts one.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg/blake3.h"
#include "sg/cbor.h"
#include "sg/err.h"
#include "sg/plumtree.h"

#define WALL0 1800000000000ULL
#define MAX_DEG 12

typedef struct ev {
	uint64_t t;
	uint64_t seq;
	int type; /* 0 frame, 1 tick, 2 neighbour down */
	int node, from;
	uint8_t *buf;
	uint32_t len;
} ev;

typedef struct grid {
	int n, mode, rounds, warmup, forge, crash_round;
	double loss, crash;
	uint64_t seed, rng;
	sg_env env;
	sg_identity *ids;
	sg_keycache *kc;
	sg_plumtree **pt;
	int *alive;
	int (*adj)[MAX_DEG];
	int *deg;
	uint64_t *tick_at;
	ev *heap;
	size_t heap_n, heap_cap;
	uint64_t now, evseq;
	/* messages */
	int nmsg, maxmsg;
	uint64_t *pubseq; /* per node: messages it published (its seq) */
	uint64_t *sent_at;
	int *publisher;
	int *round_of;
	int *counted; /* in the RMR and latency statistics */
	uint8_t *got;  /* nmsg x n bits */
	uint64_t *copies;
	uint32_t *last_hops;
	uint64_t *delivered_n;
	uint64_t lat_hist[60001];
	uint64_t lat_n;
	uint64_t bytes_sent;
	uint64_t forged_accepted, forged_sent, frames;
	/* memoised verification */
	uint8_t (*memo_key)[32];
	int8_t *memo_val;
	size_t memo_cap;
	uint64_t verifications;
} grid;

static uint64_t rnd(grid *g)
{
	/* splitmix64: deterministic for a seed */
	uint64_t z = (g->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double rndf(grid *g)
{
	return (double)(rnd(g) >> 11) / 9007199254740992.0;
}

static int env_random(void *ud, uint8_t *out, size_t len)
{
	grid *g = ud;
	while (len > 0) {
		uint64_t v = rnd(g);
		size_t k = len < 8 ? len : 8;
		memcpy(out, &v, k);
		out += k;
		len -= k;
	}
	return 0;
}

/* ---- event heap ordered by (t, seq) ---------------------------------- */

static int ev_less(const ev *a, const ev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void push(grid *g, ev e)
{
	size_t i;
	if (g->heap_n == g->heap_cap) {
		g->heap_cap = g->heap_cap ? 2 * g->heap_cap : 1 << 16;
		g->heap = realloc(g->heap, g->heap_cap * sizeof(ev));
		if (!g->heap)
			abort();
	}
	e.seq = g->evseq++;
	i = g->heap_n++;
	while (i > 0 && ev_less(&e, &g->heap[(i - 1) / 2])) {
		g->heap[i] = g->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	g->heap[i] = e;
}

static ev pop(grid *g)
{
	ev top = g->heap[0], last = g->heap[--g->heap_n];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= g->heap_n)
			break;
		if (c + 1 < g->heap_n && ev_less(&g->heap[c + 1], &g->heap[c]))
			c++;
		if (!ev_less(&g->heap[c], &last))
			break;
		g->heap[i] = g->heap[c];
		i = c;
	}
	if (g->heap_n > 0)
		g->heap[i] = last;
	return top;
}

/* ---- memoised verification ----------------------------------------------- */

static int memo_verify(void *ud, const sg_msg_view *m,
		       const uint8_t pk[SG_MLDSA65_PK_LEN])
{
	grid *g = ud;
	sg_blake3_hasher h;
	uint8_t key[32];
	size_t i;
	uint64_t hv;

	sg_blake3_init(&h);
	sg_blake3_update(&h, m->signed_part, m->signed_len);
	sg_blake3_update(&h, m->sig, SG_MLDSA65_SIG_LEN);
	sg_blake3_update(&h, pk, SG_MLDSA65_PK_LEN);
	sg_blake3_final(&h, key, 32);
	memcpy(&hv, key, 8);
	for (i = hv & (g->memo_cap - 1);; i = (i + 1) & (g->memo_cap - 1)) {
		if (g->memo_val[i] == 0) {
			int rc = sg_msg_verify(m, pk);
			memcpy(g->memo_key[i], key, 32);
			g->memo_val[i] = rc == 0 ? 1 : -1;
			g->verifications++;
			return rc;
		}
		if (memcmp(g->memo_key[i], key, 32) == 0)
			return g->memo_val[i] == 1 ? 0 : SG_ERR_VERIFY;
	}
}

/* ---- the network ------------------------------------------------------------ */

static void schedule_tick(grid *g, int i)
{
	uint64_t d = sg_plumtree_next_deadline(g->pt[i]);
	ev e = {0};
	if (d == UINT64_MAX)
		return;
	if (d <= g->now)
		d = g->now + 1;
	if (g->tick_at[i] > g->now && g->tick_at[i] <= d)
		return; /* an earlier tick is already due */
	g->tick_at[i] = d;
	e.t = d;
	e.type = 1;
	e.node = i;
	push(g, e);
}

static int msg_index(const sg_msg_view *v)
{
	uint32_t k;
	if (v->payload_len < 4)
		return -1;
	memcpy(&k, v->payload, 4);
	return (int)k;
}

static void drain(grid *g, int i)
{
	sg_peer_id to;
	const uint8_t *f;
	size_t len;
	sg_plumtree_event pe;

	while ((len = sg_plumtree_poll_tx(g->pt[i], &to, &f)) > 0) {
		ev e = {0};
		int j, k;
		if (!g->alive[i])
			continue;
		g->bytes_sent += len;
		if (g->loss > 0 && rndf(g) < g->loss)
			continue;
		for (k = 0, j = -1; k < g->deg[i]; k++)
			if (sg_peer_id_equal(&g->ids[g->adj[i][k]].id, &to))
				j = g->adj[i][k];
		if (j < 0)
			abort();
		e.t = g->now + 10 + rnd(g) % 41;
		e.type = 0;
		e.node = j;
		e.from = i;
		e.len = (uint32_t)len;
		e.buf = malloc(len);
		memcpy(e.buf, f, len);
		push(g, e);
	}
	while (sg_plumtree_poll_event(g->pt[i], &pe)) {
		int k;
		if (pe.type != SG_PLUMTREE_DELIVER)
			continue;
		k = msg_index(&pe.msg);
		if (k < 0 || k >= g->nmsg) {
			g->forged_accepted++;
			continue;
		}
		if (g->got[(size_t)k * (size_t)g->n + (size_t)i]++ == 0) {
			uint64_t lat = g->now - g->sent_at[k];
			g->delivered_n[k]++;
			if (pe.hops > g->last_hops[k])
				g->last_hops[k] = pe.hops;
			if (g->counted[k]) {
				g->lat_hist[lat > 60000 ? 60000 : lat]++;
				g->lat_n++;
			}
		}
	}
	schedule_tick(g, i);
}

/* Counts a GOSSIP frame's payload copy for its message. */
static void count_copy(grid *g, const uint8_t *buf, size_t len)
{
	sg_cbor_dec d;
	size_t n;
	uint64_t t, hops;
	const uint8_t *envb;
	size_t elen;
	sg_msg_view v;
	int k;

	sg_cbor_dec_init(&d, buf, len);
	if (sg_cbor_get_array(&d, &n) || sg_cbor_get_uint(&d, &t) || t != 1 ||
	    sg_cbor_get_uint(&d, &hops) || sg_cbor_get_bytes(&d, &envb, &elen))
		return;
	if (sg_msg_decode(&v, envb, elen) != 0)
		return;
	k = msg_index(&v);
	if (k >= 0 && k < g->nmsg)
		g->copies[k]++;
}

static void corrupt_and_forward(grid *g, int i, const uint8_t *buf, size_t len)
{
	/* A faulty node also sends a copy with a damaged signature to every
	 * neighbour: it must be rejected everywhere. */
	int k;
	for (k = 0; k < g->deg[i]; k++) {
		ev e = {0};
		e.t = g->now + 5;
		e.type = 3; /* a frame, but never forged again */
		e.node = g->adj[i][k];
		e.from = i;
		e.len = (uint32_t)len;
		e.buf = malloc(len);
		memcpy(e.buf, buf, len);
		e.buf[len - 7] ^= 0x10; /* inside the signature */
		push(g, e);
		g->forged_sent++;
	}
}

static void run_until(grid *g, uint64_t end)
{
	while (g->heap_n > 0 && g->heap[0].t <= end) {
		ev e = pop(g);
		g->now = e.t;
		if (e.type == 0 || e.type == 3) {
			if (g->alive[e.node] && g->alive[e.from]) {
				g->frames++;
				if (e.type == 0)
					count_copy(g, e.buf, e.len);
				if (g->forge && e.type == 0 && e.from % 97 == 13 &&
				    e.len > 3400 &&
				    e.buf[0] == 0x83 && e.buf[1] == 0x01)
					corrupt_and_forward(g, e.from, e.buf, e.len);
				sg_plumtree_recv(g->pt[e.node], &g->ids[e.from].id,
						 e.buf, e.len, g->now,
						 WALL0 + g->now);
				drain(g, e.node);
			}
			free(e.buf);
		} else if (e.type == 1) {
			if (e.t != g->tick_at[e.node] || !g->alive[e.node])
				continue;
			sg_plumtree_tick(g->pt[e.node], g->now);
			drain(g, e.node);
		} else {
			if (g->alive[e.node]) {
				sg_plumtree_neighbor_down(g->pt[e.node],
							  &g->ids[e.from].id);
				drain(g, e.node);
			}
		}
	}
	g->now = end;
}

static void publish(grid *g, int i)
{
	static uint8_t buf[8192];
	sg_msg_header h;
	uint8_t payload[64];
	uint32_t k = (uint32_t)g->nmsg;
	long n;

	if (g->nmsg == g->maxmsg)
		abort();
	memset(payload, 0, sizeof(payload));
	memcpy(payload, &k, 4);
	memset(&h, 0, sizeof(h));
	sg_topic_id_from_name(&h.topic, "grid", 4);
	/* As a node numbers its messages: one after the other per
	 * publisher (a global counter would put a publisher's consecutive
	 * messages N apart, beyond the 256-message replay window when rounds
	 * overtake each other). */
	h.seq = sg_plumtree_initial_seq(0, WALL0) + g->pubseq[i]++;
	h.publish_ms = WALL0 + g->now;
	h.expires_ms = h.publish_ms + 3600000;
	n = sg_msg_sign(buf, sizeof(buf), &h, payload, sizeof(payload),
			&g->ids[i], NULL);
	if (n < 0)
		abort();
	g->sent_at[k] = g->now;
	g->publisher[k] = i;
	g->counted[k] = g->round_of[k] >= g->warmup &&
			(g->crash_round < 0 || g->round_of[k] >= g->crash_round);
	g->nmsg++;
	g->got[(size_t)k * (size_t)g->n + (size_t)i] = 1;
	if (sg_plumtree_publish(g->pt[i], buf, (size_t)n, g->now,
				WALL0 + g->now) != 0)
		abort();
	drain(g, i);
}

static void build_overlay(grid *g)
{
	int i, tries;
	for (i = 0; i < g->n; i++) { /* a ring keeps it connected */
		int j = (i + 1) % g->n;
		if (g->n < 2 || (g->n == 2 && i == 1))
			continue;
		g->adj[i][g->deg[i]++] = j;
		g->adj[j][g->deg[j]++] = i;
	}
	for (i = 0; i < g->n; i++) {
		for (tries = 0; g->deg[i] < 8 && tries < 200; tries++) {
			int j = (int)(rnd(g) % (uint64_t)g->n), k, dup = 0;
			if (j == i || g->deg[j] >= MAX_DEG)
				continue;
			for (k = 0; k < g->deg[i]; k++)
				dup |= g->adj[i][k] == j;
			if (dup)
				continue;
			g->adj[i][g->deg[i]++] = j;
			g->adj[j][g->deg[j]++] = i;
		}
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: sg-pubsub-grid --nodes N [--mode single|random|all]\n"
		"       [--rounds R] [--seed S] [--loss P] [--crash F]\n"
		"       [--graft-ms MS] [--optimize-hops H]\n"
		"       [--forge] [--assert] [--json]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	grid g;
	sg_plumtree_config cfg;
	sg_topic_id topic;
	int i, r, k, assert_targets = 0, json = 0, crash_round;
	uint64_t missed = 0, counted_msgs = 0, copies = 0, receivers = 0;
	uint32_t ldh = 0;
	uint64_t ldh_sum = 0; /* for the mean over messages (the paper's) */
	double rmr, p50 = 0, p95 = 0, p99 = 0, secs;
	const char *mode = "single";
	const char *seed_env = getenv("SG_SIM_SEED");
	long graft_ms = -1, opt_hops = -1;

	memset(&g, 0, sizeof(g));
	g.n = 100;
	g.rounds = 30;
	g.warmup = 5;
	g.seed = 1;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--nodes") && i + 1 < argc)
			g.n = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			g.rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			g.seed = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--loss") && i + 1 < argc)
			g.loss = atof(argv[++i]);
		else if (!strcmp(argv[i], "--crash") && i + 1 < argc)
			g.crash = atof(argv[++i]);
		else if (!strcmp(argv[i], "--mode") && i + 1 < argc)
			mode = argv[++i];
		else if (!strcmp(argv[i], "--graft-ms") && i + 1 < argc)
			graft_ms = atol(argv[++i]);
		else if (!strcmp(argv[i], "--optimize-hops") && i + 1 < argc)
			opt_hops = atol(argv[++i]);
		else if (!strcmp(argv[i], "--forge"))
			g.forge = 1;
		else if (!strcmp(argv[i], "--assert"))
			assert_targets = 1;
		else if (!strcmp(argv[i], "--json"))
			json = 1;
		else
			usage();
	}
	if (seed_env && *seed_env)
		g.seed = strtoull(seed_env, NULL, 10);
	if (!strcmp(mode, "single"))
		g.mode = 0;
	else if (!strcmp(mode, "random"))
		g.mode = 1;
	else if (!strcmp(mode, "all"))
		g.mode = 2;
	else
		usage();
	if (g.n < 2 || g.n > 100000 || g.rounds < 1 || g.rounds > 1000 ||
	    g.loss < 0 || g.loss >= 1 || g.crash < 0 || g.crash >= 1)
		usage();
	g.rng = g.seed;
	if (sg_env_default(&g.env) != 0)
		return 1;
	g.env.random = env_random;
	g.env.random_ud = &g;

	g.maxmsg = g.rounds * (g.mode == 2 ? g.n : 1);
	g.ids = calloc((size_t)g.n, sizeof(sg_identity));
	g.pt = calloc((size_t)g.n, sizeof(sg_plumtree *));
	g.alive = calloc((size_t)g.n, sizeof(int));
	g.pubseq = calloc((size_t)g.n, sizeof(uint64_t));
	g.adj = calloc((size_t)g.n, sizeof(*g.adj));
	g.deg = calloc((size_t)g.n, sizeof(int));
	g.tick_at = calloc((size_t)g.n, sizeof(uint64_t));
	g.sent_at = calloc((size_t)g.maxmsg, sizeof(uint64_t));
	g.publisher = calloc((size_t)g.maxmsg, sizeof(int));
	g.counted = calloc((size_t)g.maxmsg, sizeof(int));
	g.round_of = calloc((size_t)g.maxmsg, sizeof(int));
	g.got = calloc((size_t)g.maxmsg * (size_t)g.n, 1);
	g.copies = calloc((size_t)g.maxmsg, sizeof(uint64_t));
	g.last_hops = calloc((size_t)g.maxmsg, sizeof(uint32_t));
	g.delivered_n = calloc((size_t)g.maxmsg, sizeof(uint64_t));
	g.memo_cap = 1;
	while (g.memo_cap < 4 * (size_t)g.maxmsg + 1024)
		g.memo_cap <<= 1;
	g.memo_key = calloc(g.memo_cap, 32);
	g.memo_val = calloc(g.memo_cap, 1);
	g.kc = sg_keycache_new(&g.env, (size_t)g.n);
	if (!g.ids || !g.pt || !g.alive || !g.pubseq || !g.adj || !g.deg || !g.tick_at ||
	    !g.sent_at || !g.publisher || !g.counted || !g.round_of || !g.got ||
	    !g.copies ||
	    !g.last_hops || !g.delivered_n || !g.memo_key || !g.memo_val ||
	    !g.kc) {
		fprintf(stderr, "sg-pubsub-grid: out of memory\n");
		return 1;
	}

	sg_plumtree_config_default(&cfg);
	cfg.max_neighbors = MAX_DEG;
	cfg.seen_max = g.mode == 2 ? 8192 : 1024;
	cfg.cache_msgs = g.mode == 2 ? 2048 : 128;
	cfg.max_missing = g.mode == 2 ? 4096 : 256;
	cfg.max_publishers = g.mode == 0 ? 16 : (size_t)g.n;
	cfg.max_tx = 4096;
	cfg.max_events = 4096;
	if (graft_ms > 0)
		cfg.graft_timeout_ms = (uint32_t)graft_ms;
	if (opt_hops >= 0)
		cfg.optimize_hops = (uint32_t)opt_hops;
	cfg.verify = memo_verify;
	cfg.verify_ud = &g;
	sg_topic_id_from_name(&topic, "grid", 4);
	secs = 0;
	for (i = 0; i < g.n; i++) {
		uint8_t seed[32];
		env_random(&g, seed, sizeof(seed));
		if (sg_identity_from_seed(&g.ids[i], seed) != 0)
			return 1;
		/* Keys are shared: every honest node ends up with the same. */
		sg_keycache_put(g.kc, g.ids[i].pk);
		g.pt[i] = sg_plumtree_new(&g.env, &cfg, &topic, g.kc);
		if (!g.pt[i]) {
			fprintf(stderr, "sg-pubsub-grid: out of memory\n");
			return 1;
		}
		g.alive[i] = 1;
	}
	build_overlay(&g);
	for (i = 0; i < g.n; i++)
		for (k = 0; k < g.deg[i]; k++)
			sg_plumtree_neighbor_up(g.pt[i], &g.ids[g.adj[i][k]].id, 0);

	crash_round = g.crash > 0 ? g.rounds / 2 : -1;
	g.crash_round = crash_round;
	for (r = 0; r < g.rounds; r++) {
		uint64_t t0 = (uint64_t)r * 1000 + 1000;
		run_until(&g, t0);
		if (r == crash_round) {
			int want = (int)(g.crash * g.n), done = 0;
			while (done < want) {
				int v = (int)(rnd(&g) % (uint64_t)g.n);
				if (!g.alive[v] || v == 0)
					continue;
				g.alive[v] = 0;
				done++;
				/* Neighbours notice after 2 s (SWIM detection). */
				for (k = 0; k < g.deg[v]; k++) {
					ev e = {0};
					e.t = g.now + 2000;
					e.type = 2;
					e.node = g.adj[v][k];
					e.from = v;
					push(&g, e);
				}
			}
			/* Later messages start after the detection. */
			run_until(&g, g.now + 3000);
		}
		if (g.mode == 2) {
			for (i = 0; i < g.n; i++) {
				if (!g.alive[i])
					continue;
				run_until(&g, g.now + (uint64_t)(i % 2));
				g.round_of[g.nmsg] = r;
				publish(&g, i);
			}
		} else {
			int p = 0;
			if (g.mode == 1)
				do
					p = (int)(rnd(&g) % (uint64_t)g.n);
				while (!g.alive[p]);
			g.round_of[g.nmsg] = r;
			publish(&g, p);
		}
	}
	run_until(&g, g.now + 20000);
	secs = (double)g.now / 1000.0;

	/* Every message must reach every live node (after a crash: every
	 * message published after it); RMR and LDH cover the rounds after the
	 * warm-up. */
	for (k = 0; k < g.nmsg; k++) {
		uint64_t live = 0;
		if (crash_round >= 0 && g.round_of[k] < crash_round)
			continue;
		for (i = 0; i < g.n; i++)
			if (g.alive[i] && i != g.publisher[k]) {
				live++;
				if (!g.got[(size_t)k * (size_t)g.n + (size_t)i])
					missed++;
			}
		if (!g.counted[k])
			continue;
		counted_msgs++;
		copies += g.copies[k];
		receivers += live;
		if (g.last_hops[k] > ldh)
			ldh = g.last_hops[k];
		ldh_sum += g.last_hops[k];
	}
	rmr = receivers ? (double)copies / (double)receivers - 1.0 : 0;
	{
		uint64_t acc = 0, t;
		int have50 = 0, have95 = 0;
		for (t = 0; t <= 60000 && g.lat_n > 0; t++) {
			acc += g.lat_hist[t];
			if (!have50 && acc * 2 >= g.lat_n) {
				p50 = (double)t;
				have50 = 1;
			}
			if (!have95 && acc * 100 >= g.lat_n * 95) {
				p95 = (double)t;
				have95 = 1;
			}
			if (acc * 100 >= g.lat_n * 99) {
				p99 = (double)t;
				break;
			}
		}
	}
	if (json)
		printf("{\"nodes\":%d,\"mode\":\"%s\",\"seed\":%llu,\"rounds\":%d,"
		       "\"loss\":%.3f,\"crash\":%.3f,\"messages\":%llu,"
		       "\"missed\":%llu,\"rmr\":%.4f,\"ldh\":%u,"
		       "\"ldh_mean\":%.2f,\"p50_ms\":%.0f,"
		       "\"p95_ms\":%.0f,\"p99_ms\":%.0f,"
		       "\"bytes_per_node_s\":%.0f,\"verifications\":%llu,"
		       "\"forged_accepted\":%llu}\n",
		       g.n, mode, (unsigned long long)g.seed, g.rounds, g.loss,
		       g.crash, (unsigned long long)counted_msgs,
		       (unsigned long long)missed, rmr, ldh,
		       counted_msgs ? (double)ldh_sum / (double)counted_msgs : 0,
		       p50, p95, p99, (double)g.bytes_sent / g.n / secs,
		       (unsigned long long)g.verifications,
		       (unsigned long long)g.forged_accepted);
	else
		printf("N=%-6d %-6s seed=%-3llu loss=%.2f crash=%.2f msgs=%-5llu "
		       "missed=%llu RMR=%.3f LDH=%u (mean %.1f) "
		       "lat p50/p95/p99=%.0f/%.0f/%.0f ms "
		       "%.0f B/node/s%s\n",
		       g.n, mode, (unsigned long long)g.seed, g.loss, g.crash,
		       (unsigned long long)counted_msgs,
		       (unsigned long long)missed, rmr, ldh,
		       counted_msgs ? (double)ldh_sum / (double)counted_msgs : 0,
		       p50, p95, p99, (double)g.bytes_sent / g.n / secs,
		       g.forge ? " (forged copies sent, none accepted)" : "");
	if (g.forge)
		printf("forged copies sent %llu, accepted %llu\n",
		       (unsigned long long)g.forged_sent,
		       (unsigned long long)g.forged_accepted);
	if (getenv("SG_GRID_DEBUG")) {
		sg_plumtree_stats tot, st;
		memset(&tot, 0, sizeof(tot));
		for (i = 0; i < g.n; i++) {
			sg_plumtree_stats_get(g.pt[i], &st);
			tot.graft_sent += st.graft_sent;
			tot.prune_sent += st.prune_sent;
			tot.duplicates += st.duplicates;
			tot.eager += st.eager;
			tot.lazy += st.lazy;
			tot.iwant_sent += st.iwant_sent;
			tot.missing_gave_up += st.missing_gave_up;
			tot.eager_sent += st.eager_sent;
			tot.missing_dropped += st.missing_dropped;
			tot.tx_dropped += st.tx_dropped;
			tot.events_dropped += st.events_dropped;
			tot.unanswered += st.unanswered;
			tot.score_prunes += st.score_prunes;
			tot.replayed += st.replayed;
			tot.too_many_hops += st.too_many_hops;
		}
		fprintf(stderr, "grafts %llu prunes %llu dups %llu iwant %llu "
			"gaveup %llu eager_sent %llu; eager links %zu lazy %zu\n",
			(unsigned long long)tot.graft_sent,
			(unsigned long long)tot.prune_sent,
			(unsigned long long)tot.duplicates,
			(unsigned long long)tot.iwant_sent,
			(unsigned long long)tot.missing_gave_up,
			(unsigned long long)tot.eager_sent, tot.eager, tot.lazy);
		fprintf(stderr, "missing dropped %llu tx dropped %llu events "
			"dropped %llu unanswered grafts %llu score prunes %llu "
			"replayed %llu too many hops %llu\n",
			(unsigned long long)tot.missing_dropped,
			(unsigned long long)tot.tx_dropped,
			(unsigned long long)tot.events_dropped,
			(unsigned long long)tot.unanswered,
			(unsigned long long)tot.score_prunes,
			(unsigned long long)tot.replayed,
			(unsigned long long)tot.too_many_hops);
	}
	if (assert_targets) {
		int bad = 0;
		double ldh_max = 2 * log2((double)g.n);
		if (missed != 0) {
			fprintf(stderr, "FAIL: %llu missed deliveries\n",
				(unsigned long long)missed);
			bad = 1;
		}
		/* The hop bound is DESIGN.md's for a network without loss or
		 * crashes; with them, repairs take detours and what is asked
		 * is missed = 0 (the figures are reported all the same). */
		if (g.loss == 0 && g.crash == 0 && (double)ldh > ldh_max) {
			fprintf(stderr, "FAIL: LDH %u > 2 log2 N = %.1f\n", ldh,
				ldh_max);
			bad = 1;
		}
		if (g.mode == 0 && g.n >= 1000 && g.loss == 0 && g.crash == 0 &&
		    rmr > 0.1) {
			fprintf(stderr, "FAIL: RMR %.3f > 0.1\n", rmr);
			bad = 1;
		}
		if (g.forge && g.forged_sent == 0) {
			fprintf(stderr, "FAIL: no forged copy was sent\n");
			bad = 1;
		}
		if (g.forged_accepted != 0) {
			fprintf(stderr, "FAIL: %llu forged messages accepted\n",
				(unsigned long long)g.forged_accepted);
			bad = 1;
		}
		if (bad) {
			fprintf(stderr, "replay with SG_SIM_SEED=%llu\n",
				(unsigned long long)g.seed);
			return 1;
		}
	}
	for (i = 0; i < g.n; i++)
		sg_plumtree_del(g.pt[i]);
	sg_keycache_del(g.kc);
	while (g.heap_n > 0)
		free(pop(&g).buf);
	free(g.heap);
	free(g.ids);
	free(g.pt);
	free(g.alive);
	free(g.pubseq);
	free(g.adj);
	free(g.deg);
	free(g.tick_at);
	free(g.sent_at);
	free(g.publisher);
	free(g.counted);
	free(g.round_of);
	free(g.got);
	free(g.copies);
	free(g.last_hops);
	free(g.delivered_n);
	free(g.memo_key);
	free(g.memo_val);
	return 0;
}
