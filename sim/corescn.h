/*
 * Topic-swarm scenarios over the node-core simulator (coresim.h), shared by
 * the sg-coresim program and the tests in tests/sim/test_core_*.c. Each
 * builds N nodes that join through a few coordinators, lets a fraction of
 * them subscribe to one or two topics, publishes signed messages from
 * random subscribers and checks what was delivered: every live subscriber
 * exactly once, nobody else, no forgery. Scenarios:
 *
 *   pubsub     the above, with delivery latency and RMR
 *   crash      after the swarms formed, a fraction of all nodes crash; the
 *              messages survivors publish from crash + delay on must reach
 *              every surviving subscriber within a bound (30 s)
 *   forge      some subscribers corrupt the signature of every GOSSIP they
 *              send (their own messages and what they forward): no node
 *              accepts a forged copy, the forwarders are reported as
 *              misbehaving and disconnected, the genuine messages still
 *              reach every honest subscriber
 *   partition  a few subscribers are cut off; messages published meanwhile
 *              reach them after the heal (Plumtree catch-up)
 *   drop       some subscribers turn bad after a warm-up (300 messages): they announce
 *              (IHAVE, at once, claiming 1 hop) every message they would
 *              forward and deliver none, not even when grafted. Honest
 *              neighbours' scores for them fall below the threshold, they
 *              are pruned and not grafted again during the back-off, no
 *              honest neighbour is pruned, and every honest subscriber
 *              still gets every message
 *
 * A failing scenario prints its seed; SG_SIM_SEED overrides the seed.
 */
#ifndef SG_SIM_CORESCN_H
#define SG_SIM_CORESCN_H

#include <stdint.h>
#include <stdio.h>

/* What a run measured (sg_cscn.result, when set). */
typedef struct sg_cscn_result {
	size_t messages;
	uint64_t expected, missed, late, unexpected, duplicates;
	uint64_t forged_accepted, reports, reports_honest;
	/* drop: (honest subscriber, dropper) swarm-neighbour pairs, those
	 * where the dropper was pruned for its score, GRAFTs sent to a
	 * dropper in back-off, honest neighbours pruned; from the turn to
	 * each pair's prune */
	uint64_t drop_pairs, drop_pruned, grafts_in_backoff, honest_pruned;
	double prune_p50_ms, prune_max_ms;
	double p50_ms, p95_ms, p99_ms, max_ms, rmr;
	int failed;
} sg_cscn_result;

typedef struct sg_cscn {
	const char *name;
	size_t nodes;
	uint64_t seed;
	size_t coordinators; /* nodes 0 .. k-1; joins go through them: 4 */
	uint64_t join_ms;    /* joins spread over this long */
	uint64_t settle_ms;  /* then the overlay settles this long */
	size_t topics;	     /* 1 or 2 */
	double sub_frac;     /* fraction of the nodes in each topic */
	uint64_t swarm_ms;   /* from subscribing to the first message */
	size_t msgs;	     /* published from random subscribers */
	uint64_t msg_gap_ms; /* between two messages */
	uint64_t drain_ms;   /* after the last one, before checking */
	size_t warmup;	     /* messages left out of latency and RMR */
	double crash_frac;   /* crash: fraction of all nodes */
	uint64_t bound_ms;   /* crash: a message must arrive within this */
	uint64_t crash_delay_ms; /* crash: first message this long after */
	size_t forgers;	     /* forge: subscribers that corrupt */
	size_t droppers;     /* drop: subscribers that turn bad */
	size_t drop_warmup;  /* drop: messages before they turn */
	size_t cut;	     /* partition: subscribers cut off */
	uint64_t cut_ms;     /* partition: how long */
	double loss;
	int verify_every; /* no memoised signature checks */
	int json;
	FILE *out;
	sg_cscn_result *result; /* filled in when not NULL */
} sg_cscn;

/* Defaults for a scenario name. */
void sg_cscn_default(sg_cscn *s, const char *name);
/* Runs it: 0 when its properties hold, 1 when not, -1 for an unknown
 * name or a setup failure. */
int sg_cscn_run(const sg_cscn *s);
/* Runs name once per seed (only $SG_SIM_SEED when set), each from the
 * defaults adjusted by tweak (may be NULL); prints failing seeds. 0 when
 * all pass. */
int sg_cscn_run_seeds(const char *name, const uint64_t *seeds, size_t n,
		      void (*tweak)(sg_cscn *s));

#endif
