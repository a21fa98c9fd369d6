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
 * dead_reporters distinct members reported it suspect or dead; "left" is
 * accepted only from the subject itself. Updates are NOT signed: alive and left
 * are authenticated only by the connection they arrive on.
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
	/* Updates are sent lambda * ceil(log10(members + 1)) times. */
	unsigned lambda;  /* 3 */
	unsigned max_lhm; /* Lifeguard local health maximum, 4 */
	/* Lifeguard suspicion timeout: from suspicion_max_ms down to
	 * suspicion_min_ms as confirmations reach indirect_k. */
	uint64_t suspicion_min_ms; /* 3000 */
	uint64_t suspicion_max_ms; /* 6000 */
	size_t dead_reporters;	   /* 3 */
	/* This node's own failed probes (the first one and re-probes during
	 * the suspicion) needed to declare a member dead by itself. */
	unsigned own_failures; /* 2 */
	size_t members_max;    /* 32 */
	size_t gossip_max;     /* 64 queued updates */
	size_t relays_max;     /* 16 ping-req relays in flight */
	size_t max_tx;	       /* 1024 */
	size_t max_events;     /* 256 */
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
	unsigned lhm;
	uint64_t incarnation;
	size_t members;
} sg_swim_stats;

SG_API sg_swim *sg_swim_new(const sg_env *env, const sg_swim_config *cfg,
			    const sg_peer_id *self, uint64_t now_ms);
SG_API void sg_swim_del(sg_swim *sw);

/* Adds a member (alive) to probe; SG_ERR_EXISTS, SG_ERR_FULL (counted). */
SG_API int sg_swim_member_add(sg_swim *sw, const sg_peer_id *peer,
			      uint64_t now_ms);
/* Stops probing a member (it left the active view). */
SG_API void sg_swim_member_remove(sg_swim *sw, const sg_peer_id *peer);
/* Tells every member this node leaves. */
SG_API void sg_swim_leave(sg_swim *sw, uint64_t now_ms);

/* Same contract as sg_hyparview_recv (SG_ERR_UNSUPPORTED for a HyParView
 * message). */
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
