/*
 * The node-core simulator: N copies of the real node core (include/sg/core.h:
 * HyParView + SWIM + one Plumtree per subscribed topic, unchanged code) in
 * one process and in virtual time, on the event queue, links and per-node
 * environments the membership simulator uses (simbase.h): fixed per-link
 * latency, loss, partitions, crashes and restarts. Frames travel whole:
 * what sg_core_poll_tx() gives for (to, frame) is handed, after the link's
 * latency, to the recipient's sg_core_recv() with the sender's PeerId as
 * the authenticated peer, as the transport would.
 *
 * Every node has a real identity (sg_identity_from_seed) and an IPv4
 * address 10.x.y.z:9000 derived from its index. Publishing signs with
 * ML-DSA-65. Signatures are checked by the cores; by default through a
 * memoising verifier shared by all nodes (DESIGN section 7): the answer is
 * keyed by the message id AND a hash of the signature and key, so a copy
 * with a forged signature is verified for real, never given the answer of
 * the genuine one. A tap sees (and may alter or drop) every frame, to
 * model faulty or malicious forwarders.
 *
 * The simulator keeps the messages published through it and, per message
 * and node, how often it was delivered and when, the payload copies that
 * travelled (for RMR) and deliveries whose signature differs from the
 * publisher's (forgeries accepted: must stay 0). Same seed, same run.
 */
#ifndef SG_SIM_CORESIM_H
#define SG_SIM_CORESIM_H

#include <stddef.h>
#include <stdint.h>

#include "sg/core.h"

/* Wall clock of the simulated nodes: this plus virtual time. */
#define SG_CORESIM_WALL0 1800000000000ULL

typedef struct sg_coresim sg_coresim;

typedef struct sg_coresim_config {
	size_t size; /* sizeof(sg_coresim_config) */
	size_t nodes;
	uint64_t seed;
	uint32_t lat_min_ms, lat_max_ms; /* one-way, per link: 10, 50 */
	double loss;			 /* per frame: 0 */
	/* Every node's core configuration. The defaults are the library's
	 * except max_topics 8 and max_events 64 (memory at 10,000 nodes:
	 * sg_calloc touches what it allocates);
	 * pt.verify is replaced by the memoising verifier unless
	 * verify_every is set. */
	sg_core_config core;
	int verify_every; /* every node runs ML-DSA verification itself */
	/* Every node's allocations go through a counter (a size header per
	 * block): sg_coresim_node_memory() reports what each core holds. */
	int count_memory;
	/* Sees every frame a live node sends, before the link: may change
	 * it in place (same length) or return nonzero to drop it. */
	int (*tap)(void *ud, size_t from, size_t to, uint8_t *frame,
		   size_t len);
	/* Every event a core emits, after the simulator's bookkeeping. */
	void (*on_event)(void *ud, size_t node, const sg_core_event *ev);
	void *ud;
} sg_coresim_config;

void sg_coresim_config_default(sg_coresim_config *cfg);

/* Builds the nodes (identities and addresses; none started). NULL on a
 * bad configuration or when memory runs out. */
sg_coresim *sg_coresim_new(const sg_coresim_config *cfg);
void sg_coresim_del(sg_coresim *s);

uint64_t sg_coresim_now(const sg_coresim *s);
/* Starts node i with a fresh core and, when contact >= 0, joins through
 * that node. SG_ERR_INVAL (already running), SG_ERR_NOMEM. */
int sg_coresim_start(sg_coresim *s, size_t i, long contact);
/* Adds nodes 0 .. k-1 as node i's contacts (coordinators). */
void sg_coresim_add_contacts(sg_coresim *s, size_t i, size_t k);
/* The node stops: its core is gone, frames to it are lost. */
void sg_coresim_crash(sg_coresim *s, size_t i);
int sg_coresim_alive(const sg_coresim *s, size_t i);
/* Partition group; frames between groups are dropped. */
void sg_coresim_set_group(sg_coresim *s, size_t i, uint8_t group);
void sg_coresim_set_loss(sg_coresim *s, double loss);
/* Runs every event up to and including virtual time t_ms. */
void sg_coresim_run_until(sg_coresim *s, uint64_t t_ms);

/* Node i's core (NULL when it is down) and identity. */
sg_core *sg_coresim_core(sg_coresim *s, size_t i);
const sg_identity *sg_coresim_identity(const sg_coresim *s, size_t i);
/* The node with this PeerId / this encoded address, or -1. */
long sg_coresim_node_of(const sg_coresim *s, const sg_peer_id *id);
long sg_coresim_node_of_addr(const sg_coresim *s, const uint8_t *addr,
			     size_t len);

/* sg_core_subscribe / sg_core_unsubscribe on node i, then sends. */
int sg_coresim_subscribe(sg_coresim *s, size_t i, const sg_topic_id *t);
int sg_coresim_unsubscribe(sg_coresim *s, size_t i, const sg_topic_id *t);
/* Node i signs and publishes payload on t now. Returns the message's
 * index in the simulator's table (>= 0), or an SG_ERR_* (node down:
 * SG_ERR_INVAL). */
long sg_coresim_publish(sg_coresim *s, size_t i, const sg_topic_id *t,
			const uint8_t *payload, size_t len);
/* Sends frame from node `from` to node `to` now, through the link (as if
 * from's core had queued it; the tap is not applied). */
void sg_coresim_inject(sg_coresim *s, size_t from, size_t to,
		       const uint8_t *frame, size_t len);

typedef struct sg_coresim_msg {
	uint8_t id[SG_MSG_ID_LEN];
	sg_topic_id topic;
	size_t publisher;
	uint64_t published_ms;
	uint64_t copies;     /* GOSSIP frames carrying it that reached a
				live node */
	size_t delivered;    /* nodes that delivered it (first copies) */
	uint64_t duplicates; /* deliveries past the first at one node */
	uint64_t forged;     /* deliveries with a signature that is not
				the publisher's */
} sg_coresim_msg;

size_t sg_coresim_msg_count(const sg_coresim *s);
const sg_coresim_msg *sg_coresim_msg_get(const sg_coresim *s, size_t k);
/* How often node i delivered message k (0, 1; more is a bug) and, when
 * it did, the virtual ms from publishing to its first delivery. */
unsigned sg_coresim_delivered(const sg_coresim *s, size_t k, size_t i,
			      uint64_t *latency_ms);

typedef struct sg_coresim_stats {
	uint64_t frames, bytes; /* sent by live nodes, before the link */
	uint64_t dropped_loss, dropped_partition, dropped_dead, dropped_tap;
	uint64_t no_route; /* to a PeerId that is no node */
	uint64_t gossip_copies; /* GOSSIP frames that reached a live node */
	uint64_t misbehaved;	/* MISBEHAVED events (connections closed) */
	uint64_t peer_dead, false_dead; /* dead verdicts; about live nodes */
	uint64_t verify_calls, verify_runs, verify_failed; /* memo: calls,
		real ML-DSA verifications, and those that failed */
	uint64_t unknown_deliveries; /* DELIVER of an id not published here */
	/* Sums over the live cores. */
	uint64_t core_tx_dropped, core_events_dropped, core_malformed;
	uint64_t queries_sent, swarm_connects;
	size_t alive;
	size_t active_min, active_max; /* active view sizes */
	double active_mean;
} sg_coresim_stats;

void sg_coresim_stats_get(const sg_coresim *s, sg_coresim_stats *st);

/* Connected components of a graph over the live nodes, edges taken as
 * undirected: the active views (topic NULL), or a topic's swarm (live
 * subscribers; an edge where one holds the other as a swarm neighbour,
 * sg_core_topic_neighbors).
 * *largest receives the largest component's size, *members the number of
 * nodes counted. */
size_t sg_coresim_components(const sg_coresim *s, const sg_topic_id *topic,
			     size_t *largest, size_t *members);

/* With count_memory: the bytes node i's core holds now (as requested of
 * the allocator, headers not included), its live blocks, and the most
 * bytes it held at once since the simulator was built. */
typedef struct sg_coresim_mem {
	size_t bytes, blocks, peak;
} sg_coresim_mem;
void sg_coresim_node_memory(const sg_coresim *s, size_t i,
			    sg_coresim_mem *m);

/* Process peak resident memory in KiB. */
long sg_coresim_peak_rss_kb(void);

#endif
