/*
 * HyParView (Leitao, Pereira, Rodrigues, DSN 2007): a small symmetric active
 * view of neighbours kept by NEIGHBOR/DISCONNECT, a larger passive view kept
 * fresh by SHUFFLE random walks, JOIN/FORWARDJOIN random walks for new
 * nodes. A sans-IO core: frames and time in, frames and neighbour events
 * out. Failures are reported to it (sg_hyparview_peer_failed) by SWIM or by
 * the transport; the peer is replaced from the passive view at once.
 */
#ifndef SG_HYPARVIEW_H
#define SG_HYPARVIEW_H

#include "common.h"
#include "env.h"
#include "identity.h"
#include "membership.h"

typedef struct sg_hyparview sg_hyparview;

typedef struct sg_hyparview_config {
	size_t size; /* sizeof(sg_hyparview_config) */
	/* The node asks for neighbours until it has active_target, and
	 * accepts others' requests up to active_max (paper 4.1). */
	size_t active_target;	      /* 8 */
	size_t active_max;	      /* 12 */
	size_t passive_max;	      /* 128 */
	uint8_t arwl;		      /* active random walk length, 6 */
	uint8_t prwl;		      /* passive random walk length, 3 */
	size_t shuffle_active;	      /* ka: active entries per shuffle, 3 */
	size_t shuffle_passive;	      /* kp: passive entries per shuffle, 4 */
	uint64_t shuffle_interval_ms; /* 30000 */
	/* How often a short active view asks the passive view for more. */
	uint64_t repair_interval_ms; /* 1000 */
	/* A NEIGHBOR request without a reply counts as failed after this. */
	uint64_t neighbor_timeout_ms; /* 1000 */
	/* Peers that failed are kept (bounded) and one is retried every
	 * heal_interval_ms until failed_ttl_ms, so partitions heal. */
	size_t failed_max;	       /* 16 */
	uint64_t heal_interval_ms;     /* 10000 */
	uint64_t failed_ttl_ms;	       /* 600000 */
	size_t contacts_max;	       /* 8 */
	uint64_t stranger_interval_ms; /* 200 */
	size_t max_tx;		       /* 1024 queued frames */
	size_t max_events;	       /* 1024 queued events */
} sg_hyparview_config;

SG_API void sg_hyparview_config_default(sg_hyparview_config *cfg);

typedef enum sg_hyparview_event_type {
	SG_HYPARVIEW_NEIGHBOR_UP = 1,
	SG_HYPARVIEW_NEIGHBOR_DOWN = 2,
} sg_hyparview_event_type;

typedef struct sg_hyparview_event {
	sg_hyparview_event_type type;
	sg_memb_peer peer;
} sg_hyparview_event;

typedef struct sg_hyparview_stats {
	uint64_t rx, rx_malformed, rx_sender_mismatch, rx_unexpected;
	uint64_t tx_dropped, events_dropped, passive_evicted;
	uint64_t neighbor_timeouts, peers_failed, joins_sent, heal_probes;
	uint64_t shuffles_sent, strangers;
	size_t active, passive, pending, failed;
} sg_hyparview_stats;

/* self: this node's PeerId and address. NULL on SG_ERR_NOMEM / a config
 * that is not consistent (targets above maxima, zero sizes, wrong size). */
SG_API sg_hyparview *sg_hyparview_new(const sg_env *env,
				      const sg_hyparview_config *cfg,
				      const sg_memb_peer *self,
				      uint64_t now_ms);
SG_API void sg_hyparview_del(sg_hyparview *hv);

/* Adds a known contact (coordinator); an isolated node joins through it.
 * SG_ERR_FULL past contacts_max, SG_ERR_INVAL for self. */
SG_API int sg_hyparview_add_contact(sg_hyparview *hv,
				    const sg_memb_peer *contact);
/* Sends JOIN to a contact now (paper 4.2). SG_ERR_NOTFOUND without one. */
SG_API int sg_hyparview_join(sg_hyparview *hv, uint64_t now_ms);

/* A frame from the authenticated peer `from`. Returns 0 or the reason it
 * was dropped (decoding errors, SG_ERR_PERM: sender is not `from`,
 * SG_ERR_UNSUPPORTED: not a HyParView message). */
SG_API int sg_hyparview_recv(sg_hyparview *hv, const sg_peer_id *from,
			     const uint8_t *frame, size_t len, uint64_t now_ms);
SG_API void sg_hyparview_tick(sg_hyparview *hv, uint64_t now_ms);
SG_API uint64_t sg_hyparview_next_deadline(const sg_hyparview *hv);
/* Next frame: *frame valid until the next call. 0 when none. */
SG_API size_t sg_hyparview_poll_tx(sg_hyparview *hv, sg_peer_id *to,
				   const uint8_t **frame);
SG_API int sg_hyparview_poll_event(sg_hyparview *hv, sg_hyparview_event *ev);

/* The peer is gone (SWIM declared it dead, or its connection failed). */
SG_API void sg_hyparview_peer_failed(sg_hyparview *hv, const sg_peer_id *peer,
				     uint64_t now_ms);

/* The peer behaves as our neighbour (SWIM probes us) but is not in the
 * active view (a lost JOINACK or DISCONNECT, a partition): tell it with
 * DISCONNECT(alive) so that its view drops us too. Pending peers are left
 * alone; at most one such DISCONNECT per stranger_interval_ms. */
SG_API void sg_hyparview_not_neighbor(sg_hyparview *hv, const sg_peer_id *peer,
				      uint64_t now_ms);

/* Copies up to max active neighbours' ids; returns the active view size. */
SG_API size_t sg_hyparview_active(const sg_hyparview *hv, sg_peer_id *out,
				  size_t max);
SG_API int sg_hyparview_is_active(const sg_hyparview *hv,
				  const sg_peer_id *peer);
SG_API int sg_hyparview_is_passive(const sg_hyparview *hv,
				   const sg_peer_id *peer);
/* Where peer can be reached, from the active view, pending requests, the
 * passive view, the contacts or the recently failed: 0 and *out, or
 * SG_ERR_NOTFOUND. */
SG_API int sg_hyparview_lookup(const sg_hyparview *hv, const sg_peer_id *peer,
			       sg_memb_peer *out);
/* Asks p to become an active neighbour (a low-priority NEIGHBOR: it
 * accepts when it has room), e.g. a peer of a topic's swarm. SG_ERR_EXISTS
 * (active or pending), SG_ERR_FULL (no room here), SG_ERR_INVAL (self). */
SG_API int sg_hyparview_connect(sg_hyparview *hv, const sg_memb_peer *p,
				uint64_t now_ms);
/* Copies up to max passive view entries; returns how many were copied. */
SG_API size_t sg_hyparview_passive(const sg_hyparview *hv, sg_memb_peer *out,
				   size_t max);
SG_API void sg_hyparview_stats_get(const sg_hyparview *hv,
				   sg_hyparview_stats *st);

#endif
