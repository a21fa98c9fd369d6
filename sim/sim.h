/*
 * The deterministic membership simulator: N nodes, each running exactly the
 * library's HyParView and SWIM cores, in one process and in virtual time.
 * An event queue (binary heap ordered by time, then by insertion number)
 * carries frame deliveries and node timers; links have a uniform latency,
 * a loss probability and partitions; nodes crash and restart. One seeded
 * RNG per node (its sg_env) and one for the links make a run a function
 * of its seed: same seed, same output, byte for byte.
 */
#ifndef SG_SIM_H
#define SG_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sg/hyparview.h"
#include "sg/swim.h"

typedef struct sg_sim sg_sim;

typedef struct sg_sim_config {
	size_t size;
	size_t nodes;
	uint64_t seed;
	uint32_t lat_min_ms, lat_max_ms; /* 10, 50 */
	double loss;			 /* per frame, 0 */
	int swim;			 /* run SWIM next to HyParView: 1 */
	/* Verify every claim at every node instead of once per unique
	 * claim (the shared memo): 0 */
	int verify_every;
	sg_hyparview_config hv;
	sg_swim_config sw;
} sg_sim_config;

void sg_sim_config_default(sg_sim_config *cfg);

sg_sim *sg_sim_new(const sg_sim_config *cfg);
void sg_sim_del(sg_sim *sim);

uint64_t sg_sim_now(const sg_sim *sim);
/* Starts node i (fresh state) and, when contact >= 0, joins through it. */
int sg_sim_start(sg_sim *sim, size_t i, long contact);
/* Adds nodes 0 .. k-1 as node i's contacts (coordinators). */
void sg_sim_add_contacts(sg_sim *sim, size_t i, size_t k);
/* The node stops: its state is gone, frames to it are lost. */
void sg_sim_crash(sg_sim *sim, size_t i);
int sg_sim_alive(const sg_sim *sim, size_t i);
/* The node whose PeerId is id, or -1. */
long sg_sim_node_of(const sg_sim *sim, const sg_peer_id *id);
/* Node i's identity (its PeerId is ids->id), its cores (NULL when it is
 * down). */
const sg_identity *sg_sim_identity(const sg_sim *sim, size_t i);
sg_swim *sg_sim_swim(sg_sim *sim, size_t i);
sg_hyparview *sg_sim_hyparview(sg_sim *sim, size_t i);
/* Hands frame to node `to` now, as if it came from node `from` over their
 * authenticated connection (a misbehaving peer), then lets the node act.
 * The core's return code, or SG_ERR_INVAL when `to` is down. */
int sg_sim_inject(sg_sim *sim, size_t from, size_t to, const uint8_t *frame,
		  size_t len);
/* Node i's partition group; frames between groups are dropped. */
void sg_sim_set_group(sg_sim *sim, size_t i, uint8_t group);
void sg_sim_set_loss(sg_sim *sim, double loss);
/* Runs every event up to and including virtual time t. */
void sg_sim_run_until(sg_sim *sim, uint64_t t_ms);

typedef struct sg_sim_metrics {
	uint64_t now_ms;
	size_t alive, components, largest;
	size_t active_min, active_max, passive_min, passive_max;
	double active_mean, passive_mean;
	size_t asymmetric; /* directed active edges without their reverse */
	/* Components when edges between partition groups are ignored, and
	 * the number of directed active edges between groups. */
	size_t group_components, cross_group;
	uint64_t msgs, bytes, dropped_loss, dropped_partition, dropped_dead;
	double msgs_per_node_s, bytes_per_node_s;
	uint64_t suspicions, false_suspicions, deaths, false_positives;
	/* Dead declarations about a node restarted < 60 s before (not
	 * counted as false positives). */
	uint64_t stale_deaths;
	uint64_t tx_dropped, sender_mismatch, malformed;
	/* SWIM claims (alive nodes): refused as forged, signatures made;
	 * claim checks asked for and really run (the memo answers the rest) */
	uint64_t claims_forged, signs, verify_calls, verify_runs;
	/* Lifeguard local health multiplier of the alive nodes */
	double lhm_mean;
	unsigned lhm_max;
} sg_sim_metrics;

/* Views and connectivity of the alive nodes' active-view graph (edges
 * taken as undirected), traffic since the start. */
void sg_sim_metrics_get(sg_sim *sim, sg_sim_metrics *m);
/* One line of text (newline included), or one JSON object without a
 * newline (so that callers can embed it). */
void sg_sim_metrics_print(const sg_sim_metrics *m, FILE *f, int json);

/* Failure detection samples (ms from crash): for every crashed node, the
 * first suspicion and first dead declaration by any observer; and every
 * observer's dead declaration. */
typedef struct sg_sim_detect {
	size_t n_suspect, n_dead, n_dead_all, undetected;
	double suspect_mean, suspect_p99, dead_mean, dead_p99;
	double dead_all_mean, dead_all_p99;
} sg_sim_detect;
void sg_sim_detect_get(sg_sim *sim, sg_sim_detect *d);

/* Process peak resident memory in KiB (from getrusage). */
long sg_sim_peak_rss_kb(void);

#endif
