/*
 * Memory of one node core (DESIGN section 4: "a node with 12 active and
 * 128 passive peers and 100 topics stays under 20 MB resident").
 *
 * The node-core simulator (sim/coresim.h) runs a network of real cores in
 * virtual time; every node's allocations go through a counting sg_env
 * allocator, so the figures are the bytes node 0's core holds (HyParView,
 * SWIM, the topic lists, 100 Plumtree instances, the key cache and the
 * queues), as requested of the allocator: malloc adds about 16 bytes per
 * live block, so the block count is printed too. Process RSS would
 * measure the whole simulated network, not the node, and is printed only
 * for scale.
 *
 * Node 0 subscribes to 100 topics; every other node to 5 of them, so each
 * topic's swarm has about N/20 subscribers. Every node may hold 12 active
 * (and targets 12) and 128 passive peers. Traffic: 10 messages a second,
 * each on a random topic from a random subscriber (node 0 among them),
 * 256-byte payloads, for 180 s: node 0 gets one message per topic per 10
 * s, and its message caches hold the last 120 s (cache_age_ms). Figures:
 * after the swarms formed (idle), at the end of the traffic (caches full),
 * and 150 s after it (caches aged out; what stays is the seen sets,
 * replay windows, keys and the tables' grown capacity).
 */
#include "bench.h"

#ifdef SG_BENCH_HAVE_SIM
#include "coresim.h"
#include "sg/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPICS 100
#define PER_NODE 5
#define RATE 10       /* messages per second, network-wide */
#define TRAFFIC_S 180
#define PAYLOAD 256

typedef struct subs {
	size_t n;
	uint8_t (*in)[TOPICS]; /* in[node][topic] */
	sg_topic_id topic[TOPICS];
} subs;

static uint64_t xs_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void report(sg_coresim *s, const char *when, size_t *blocks_out)
{
	sg_coresim_mem m;
	sg_core_stats st;
	sg_core *c = sg_coresim_core(s, 0);

	sg_coresim_node_memory(s, 0, &m);
	sg_core_stats_get(c, &st);
	printf("%-28s %8.2f MB held  %7zu blocks  (+%.2f MB malloc "
	       "headers)  active %zu passive %zu topics %zu\n",
	       when, (double)m.bytes / 1e6, m.blocks,
	       (double)m.blocks * 16 / 1e6, st.active, st.passive, st.topics);
	if (blocks_out != NULL)
		*blocks_out = m.blocks;
	fflush(stdout);
}

SG_BENCH_SUITE(bench_pubsub_mem, "pubsub-mem",
	       "memory of a node core with 12 active, 128 passive peers and "
	       "100 topics (counting allocator, node-core simulator)")
{
	sg_coresim_config cfg;
	sg_coresim *s;
	sg_coresim_mem m;
	sg_core_stats st;
	subs sb;
	size_t nodes = opts->quick ? 300 : 600, i, t, published = 0;
	size_t got0;
	uint64_t x = 0x9e3779b97f4a7c15ULL, t0, k;
	uint8_t payload[PAYLOAD];
	double w0 = sg_bench_now_ns();

	sg_coresim_config_default(&cfg);
	cfg.nodes = nodes;
	cfg.seed = 7;
	cfg.count_memory = 1;
	/* The library's node defaults (the simulator lowers some for
	 * networks of 10,000), except: 100 topics (default 64), and an
	 * active view kept full (target 12 of 12, default 8 of 12). */
	sg_core_config_default(&cfg.core);
	cfg.core.max_topics = TOPICS;
	cfg.core.hv.active_target = 12;
	cfg.core.hv.active_max = 12;
	cfg.core.hv.passive_max = 128;
	s = sg_coresim_new(&cfg);
	sb.n = nodes;
	sb.in = calloc(nodes, sizeof(*sb.in));
	if (s == NULL || sb.in == NULL) {
		printf("pubsub-mem: out of memory\n");
		sg_coresim_del(s);
		free(sb.in);
		return;
	}
	for (t = 0; t < TOPICS; t++) {
		char name[32];
		int n = snprintf(name, sizeof(name), "bench-topic-%zu", t);
		sg_topic_id_from_name(&sb.topic[t], name, (size_t)n);
	}
	/* Join: one node every 50 ms through node 0 or an earlier node,
	 * then 60 s for shuffles to fill the passive views. */
	(void)sg_coresim_start(s, 0, -1);
	for (i = 1; i < nodes; i++) {
		sg_coresim_run_until(s, 50 * i);
		(void)sg_coresim_start(s, i, (long)(xs_next(&x) % i));
		sg_coresim_add_contacts(s, i, 1);
	}
	sg_coresim_run_until(s, sg_coresim_now(s) + 60000);
	report(s, "joined, no topics", NULL);
	for (i = 0; i < nodes; i++) {
		size_t want = i == 0 ? TOPICS : PER_NODE, have = 0;
		while (have < want) {
			t = i == 0 ? have : (size_t)(xs_next(&x) % TOPICS);
			if (sb.in[i][t])
				continue;
			sb.in[i][t] = 1;
			(void)sg_coresim_subscribe(s, i, &sb.topic[t]);
			have++;
		}
	}
	sg_coresim_run_until(s, sg_coresim_now(s) + 30000);
	report(s, "100 topics, idle", NULL);
	/* Traffic. */
	memset(payload, 0xa5, sizeof(payload));
	t0 = sg_coresim_now(s);
	for (k = 0; k < (uint64_t)TRAFFIC_S * RATE; k++) {
		size_t p, tries;
		sg_coresim_run_until(s, t0 + k * 1000 / RATE);
		t = (size_t)(xs_next(&x) % TOPICS);
		/* A random subscriber of t (node 0 is one of them). */
		for (tries = 0;; tries++) {
			p = (size_t)(xs_next(&x) % nodes);
			if (sb.in[p][t] || tries > 10000)
				break;
		}
		if (!sb.in[p][t])
			p = 0;
		memcpy(payload, &k, sizeof(k));
		if (sg_coresim_publish(s, p, &sb.topic[t], payload,
				       sizeof(payload)) >= 0)
			published++;
	}
	sg_coresim_run_until(s, sg_coresim_now(s) + 2000);
	report(s, "after 180 s of traffic", NULL);
	sg_coresim_run_until(s, sg_coresim_now(s) + 150000);
	report(s, "150 s after the traffic", NULL);
	sg_coresim_node_memory(s, 0, &m);
	sg_core_stats_get(sg_coresim_core(s, 0), &st);
	got0 = 0;
	for (k = 0; k < sg_coresim_msg_count(s); k++) {
		const sg_coresim_msg *msg = sg_coresim_msg_get(s, k);
		if (msg->publisher != 0 &&
		    sg_coresim_delivered(s, k, 0, NULL) > 0)
			got0++;
		else if (msg->publisher == 0)
			got0++;
	}
	printf("%-28s %8.2f MB (target < 20 MB: %s)\n", "peak held",
	       (double)m.peak / 1e6, m.peak < 20000000 ? "met" : "MISSED");
	printf("messages published %zu, node 0 has %zu of them (own "
	       "included); %zu nodes, process peak RSS %.1f MB (whole "
	       "simulated network), %.1f s\n",
	       published, got0, nodes,
	       (double)sg_coresim_peak_rss_kb() / 1024,
	       (sg_bench_now_ns() - w0) / 1e9);
	sg_coresim_del(s);
	free(sb.in);
}
#else
SG_BENCH_SUITE(bench_pubsub_mem, "pubsub-mem",
	       "memory of a node core (needs the simulator: not in this build)")
{
	(void)opts;
}
#endif
