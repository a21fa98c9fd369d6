/*
 * SWIM failure detection (Das, Gupta, Motivala, DSN 2002) with Lifeguard's
 * refinements (Dadgar, Phillips, Currey, arXiv 1707.00788): round-robin
 * probes with k indirect probes, suspicion with incarnation numbers and
 * refutation, piggybacked updates with a bounded retransmit count, the
 * local health multiplier, suspicion timeouts that shrink with independent
 * confirmations, and the buddy system. The members are the peers the node
 * layer adds (HyParView's active view); a sans-IO core.
 *
 * Trust (DESIGN section 7): a member is declared dead only after this
 * node's own probes of it failed own_failures times, or when
 * dead_reporters distinct members reported it suspect or dead. Alive (a
 * refutation, with its incarnation) and left are claims signed by their
 * subject (sg_memb_claim, ML-DSA-65) and carry its public key; every
 * receiver verifies them before acting, and an incarnation only rises
 * through a verified alive claim.
 */
#ifndef SG_SWIM_H
#define SG_SWIM_H

#include "common.h"
#include "env.h"
#include "identity.h"
#include "membership.h"

typedef struct sg_swim sg_swim;

typedef struct sg_swim_config {
	size_t size;		    /* sizeof(sg_swim_config) */
	uint64_t probe_interval_ms; /* 1000 */
	uint64_t ack_timeout_ms;    /* 300: then indirect probes */
	size_t indirect_k;	    /* 3 */
	/* A suspect is probed in rounds of reprobe_ms, directly and through up
	 * to reprobe_k other members at once. A round counts as a failure of
	 * our own when nobody got an answer and either an intermediary's nack
	 * showed that our own path works or there was no intermediary to ask
	 * (Lifeguard's nack idea: a node that cannot hear cannot convict). */
	uint64_t reprobe_ms; /* 500 */
	size_t reprobe_k;    /* 8 */
	/* Updates are sent lambda * ceil(log10(members + 1)) times. */
	unsigned lambda;  /* 3 */
	unsigned max_lhm; /* Lifeguard local health maximum, 4 */
	/* Lifeguard suspicion timeout: from suspicion_max_ms down to
	 * suspicion_min_ms as confirmations reach indirect_k. */
	uint64_t suspicion_min_ms; /* 3000 */
	uint64_t suspicion_max_ms; /* 6000 */
	size_t dead_reporters;	   /* 3 */
	/* This node's own failed probes (the first one and the re-probe
	 * rounds during the suspicion) that declare a member dead at once. */
	unsigned own_failures; /* 3 */
	/* Claim signatures verified per second at most; the rest are
	 * dropped (counted) and the sender's next copy is checked later. */
	unsigned verify_per_s; /* 64 */
	/* This node's first incarnation. A node gives the wall clock in
	 * seconds, so that claims signed in an earlier life (a left, an
	 * alive) are older than its new ones and cannot be replayed against
	 * it after a restart. 0 in the simulator. */
	uint64_t initial_incarnation;
	/* Claim check; NULL means sg_memb_claim_verify(). A simulator may
	 * share one memoised check between its nodes (DESIGN section 7). */
	int (*verify)(void *ud, const sg_memb_claim *claim);
	void *verify_ud;
	size_t members_max; /* 32 */
	size_t gossip_max;  /* 64 queued updates */
	size_t relays_max;  /* 16 ping-req relays in flight */
	size_t max_tx;	    /* 1024 */
	size_t max_events;  /* 256 */
} sg_swim_config;

SG_API void sg_swim_config_default(sg_swim_config *cfg);

typedef enum sg_swim_event_type {
	SG_SWIM_SUSPECT = 1, /* this node now suspects the member */
	SG_SWIM_ALIVE = 2,   /* a suspicion was refuted */
	SG_SWIM_DEAD = 3,    /* declared dead (and removed) */
	SG_SWIM_LEFT = 4,    /* the member said it leaves (and removed) */
	/* A probe came from a peer that is not a member: it holds us as a
	 * neighbour that we do not hold (see sg_hyparview_not_neighbor). */
	SG_SWIM_STRANGER = 5,
} sg_swim_event_type;

typedef struct sg_swim_event {
	sg_swim_event_type type;
	sg_peer_id peer;
	uint64_t incarnation;
} sg_swim_event;

typedef struct sg_swim_stats {
	uint64_t rx, rx_malformed, rx_sender_mismatch, rx_unexpected;
	uint64_t tx_dropped, events_dropped, gossip_dropped, relays_dropped;
	uint64_t members_dropped;
	uint64_t probes, probes_failed, indirect_sent, suspicions, refutes;
	uint64_t deaths, nacks_missed;
	/* claims: received, verified, refused (bad key or signature),
	 * stale or not about a member (not checked), over the verification
	 * budget, sent; signatures made */
	uint64_t claims_rx, claims_ok, claims_forged, claims_ignored;
	uint64_t claims_dropped, claims_tx, signs;
	unsigned lhm;
	uint64_t incarnation;
	size_t members;
} sg_swim_stats;

/* ident (borrowed, must outlive the core) names this node and signs its
 * claims. NULL on a bad config or SG_ERR_NOMEM. */
SG_API sg_swim *sg_swim_new(const sg_env *env, const sg_swim_config *cfg,
			    const sg_identity *ident, uint64_t now_ms);
SG_API void sg_swim_del(sg_swim *sw);

/* Adds a member (alive) to probe; SG_ERR_EXISTS, SG_ERR_FULL (counted). */
SG_API int sg_swim_member_add(sg_swim *sw, const sg_peer_id *peer,
			      uint64_t now_ms);
/* Stops probing a member (it left the active view). */
SG_API void sg_swim_member_remove(sg_swim *sw, const sg_peer_id *peer);
/* Tells every member this node leaves (a signed left claim). */
SG_API void sg_swim_leave(sg_swim *sw, uint64_t now_ms);

/* Same contract as sg_hyparview_recv (SG_ERR_UNSUPPORTED for a HyParView
 * message); a claim that fails verification returns SG_ERR_VERIFY or
 * SG_ERR_KEY (counted in claims_forged), one over the verification budget
 * SG_ERR_AGAIN. */
SG_API int sg_swim_recv(sg_swim *sw, const sg_peer_id *from,
			const uint8_t *frame, size_t len, uint64_t now_ms);
SG_API void sg_swim_tick(sg_swim *sw, uint64_t now_ms);
SG_API uint64_t sg_swim_next_deadline(const sg_swim *sw);
SG_API size_t sg_swim_poll_tx(sg_swim *sw, sg_peer_id *to,
			      const uint8_t **frame);
SG_API int sg_swim_poll_event(sg_swim *sw, sg_swim_event *ev);
SG_API void sg_swim_stats_get(const sg_swim *sw, sg_swim_stats *st);
/* 1 if peer is a member and currently suspected by this node. */
SG_API int sg_swim_is_suspect(const sg_swim *sw, const sg_peer_id *peer);

#endif
