/*
 * The node's protocol core: HyParView, SWIM and one Plumtree per subscribed
 * topic, composed into one sans-IO state machine. Frames (with their
 * 6-byte frame header) and time go in; frames addressed to PeerIds and
 * events come out. The real node (include/sg/node.h) drives it over QUIC;
 * the simulator drives thousands of them in virtual time. Nothing in here
 * touches a socket, a file or a clock.
 *
 * Topic swarms: every node tells its active neighbours which topics it
 * subscribes to (a TOPICS frame, sent when a neighbour comes up and when
 * the set changes). A topic's Plumtree runs over its swarm neighbours:
 * the active neighbours that subscribe to it, and swarm links, per-topic
 * connections outside the active view (at most 8 per topic). A topic
 * with fewer than 4 swarm neighbours sends random walks over the active
 * view (WALK, at most 6 hops); a node that knows a subscriber among its
 * neighbours hands the walk to it, and the first subscriber with a free
 * link slot asks the walk's origin for a link (LINK). A link silent for 2
 * s is probed, and dropped after 5 s of silence. Publishing to a topic
 * subscribes the node.
 *
 * Wiring between the cores (docs/ARCHITECTURE.md): HyParView's active view
 * is SWIM's member list; SWIM's dead and left verdicts are HyParView
 * failures; a SWIM probe from a non-neighbour makes HyParView disconnect
 * it; a neighbour that Plumtree reports as misbehaving is dropped.
 */
#ifndef SG_CORE_H
#define SG_CORE_H

#include "common.h"
#include "env.h"
#include "hyparview.h"
#include "identity.h"
#include "membership.h"
#include "msg.h"
#include "plumtree.h"
#include "swim.h"

typedef struct sg_core sg_core;

typedef struct sg_core_config {
	size_t size; /* sizeof(sg_core_config) */
	sg_hyparview_config hv;
	sg_swim_config sw;
	sg_plumtree_config pt;
	size_t max_topics;	  /* subscribed topics: 64 */
	size_t keycache_cap;	  /* publisher keys: 1024 */
	uint64_t msg_ttl_ms;	  /* a published message expires after: 600000 */
	size_t max_tx;		  /* the core's own queued frames: 1024 */
	size_t max_events;	  /* the core's own queued events: 1024 */
	size_t max_remote_topics; /* topic lists remembered (peers): 64 */
} sg_core_config;

SG_API void sg_core_config_default(sg_core_config *cfg);

typedef enum sg_core_event_type {
	/* A verified message on a subscribed topic, first copy; msg views
	 * memory valid until the next sg_core_poll_event() call. */
	SG_CORE_DELIVER = 1,
	SG_CORE_NEIGHBOR_UP = 2,   /* peer joined the active view */
	SG_CORE_NEIGHBOR_DOWN = 3, /* peer left the active view */
	SG_CORE_PEER_DEAD = 4,	   /* SWIM declared peer dead */
	SG_CORE_PEER_LEFT = 5,	   /* peer said it leaves */
	/* peer sent what only a faulty or malicious node sends: close the
	 * connection (reason: the SG_ERR_* that triggered it). */
	SG_CORE_MISBEHAVED = 6,
	/* A discovery frame from peer: kind and data (valid until the next
	 * sg_core_poll_event() call); the node interprets it. */
	SG_CORE_DISCOVERY = 7,
	/* A direct frame from peer (a request or response between two
	 * nodes, include/sg/node.h): data valid until the next
	 * sg_core_poll_event() call; the node interprets it. */
	SG_CORE_DIRECT = 8,
} sg_core_event_type;

typedef struct sg_core_event {
	sg_core_event_type type;
	sg_memb_peer peer; /* id always; addr when known */
	sg_topic_id topic; /* DELIVER */
	sg_msg_view msg;   /* DELIVER */
	uint32_t hops;	   /* DELIVER */
	int reason;	   /* MISBEHAVED */
	uint8_t kind;	   /* DISCOVERY */
	const uint8_t *data; /* DISCOVERY, DIRECT */
	size_t len;	     /* DISCOVERY, DIRECT */
} sg_core_event;

/* Largest discovery frame body. */
#define SG_CORE_DISCOVERY_MAX 8192

typedef struct sg_core_stats {
	uint64_t rx_frames, rx_malformed, rx_unknown_type, rx_no_topic;
	uint64_t tx_dropped, events_dropped, published, delivered;
	/* queries_sent: swarm walks started; swarm_connects: swarm links
	 * that came up */
	uint64_t topics_rx, misbehaved, queries_sent, swarm_connects;
	uint64_t topics_stale;
	/* HyParView messages ignored from a peer that had just left */
	uint64_t rx_after_left;
	size_t topics, active, passive, members;
	/* walks passed on, answered with a link request, dropped over the
	 * per-second budget; links dropped after silence; swarm links up
	 * now (all topics) */
	uint64_t walks_forwarded, walks_answered, walks_dropped, links_lost;
	size_t links;
} sg_core_stats;

/* ident: this node's identity (borrowed; signs what it publishes).
 * self_addr: its transport address as carried in membership messages
 * (sg_core_addr_encode). NULL on SG_ERR_NOMEM / an inconsistent config. */
SG_API sg_core *sg_core_new(const sg_env *env, const sg_core_config *cfg,
			    const sg_identity *ident, const uint8_t *self_addr,
			    size_t self_addr_len, uint64_t now_ms);
SG_API void sg_core_del(sg_core *c);

/* A contact (coordinator, or a peer from the peer cache) to join through. */
SG_API int sg_core_add_contact(sg_core *c, const sg_memb_peer *contact);
/* Sends JOIN to a contact. SG_ERR_NOTFOUND without one. */
SG_API int sg_core_join(sg_core *c, uint64_t now_ms);
/* Tells the members this node leaves (SWIM LEFT). */
SG_API void sg_core_leave(sg_core *c, uint64_t now_ms);

/* A whole frame (header included) from the authenticated peer `from`.
 * Returns 0 or why it was dropped; bad input never stops the core. */
SG_API int sg_core_recv(sg_core *c, const sg_peer_id *from,
			const uint8_t *frame, size_t len, uint64_t now_ms,
			uint64_t wall_ms);
SG_API void sg_core_tick(sg_core *c, uint64_t now_ms);
/* The next time tick() has work, or UINT64_MAX. */
SG_API uint64_t sg_core_next_deadline(const sg_core *c);
/* Next frame (header included) for peer *to: valid until the next call.
 * Returns its length, or 0 when there is nothing to send. */
SG_API size_t sg_core_poll_tx(sg_core *c, sg_peer_id *to,
			      const uint8_t **frame);
/* 1 and fills ev when an event is pending, else 0. */
SG_API int sg_core_poll_event(sg_core *c, sg_core_event *ev);

/* The transport could not reach peer, or lost it. */
SG_API void sg_core_peer_unreachable(sg_core *c, const sg_peer_id *peer,
				     uint64_t now_ms);

/* SG_ERR_EXISTS (already), SG_ERR_FULL (max_topics), SG_ERR_NOMEM. */
SG_API int sg_core_subscribe(sg_core *c, const sg_topic_id *topic,
			     uint64_t now_ms);
/* SG_ERR_NOTFOUND when not subscribed. */
SG_API int sg_core_unsubscribe(sg_core *c, const sg_topic_id *topic,
			       uint64_t now_ms);
SG_API int sg_core_is_subscribed(const sg_core *c, const sg_topic_id *topic);
/* Copies up to max subscribed topics; returns how many there are. */
SG_API size_t sg_core_topics(const sg_core *c, sg_topic_id *out, size_t max);
/* Signs and broadcasts payload on topic (subscribing first if needed).
 * rnd: 32 random bytes for hedged signing, or NULL. id (may be NULL)
 * receives the message id. Errors: subscribe's, SG_ERR_RANGE (too large),
 * SG_ERR_NOMEM. */
SG_API int sg_core_publish(sg_core *c, const sg_topic_id *topic,
			   const uint8_t *payload, size_t len,
			   const uint8_t rnd[32], uint64_t now_ms,
			   uint64_t wall_ms, uint8_t id[SG_MSG_ID_LEN]);

/* Queues a discovery frame (SG_FRAME_DISCOVERY: kind byte, then data)
 * for peer. SG_ERR_RANGE past SG_CORE_DISCOVERY_MAX, SG_ERR_FULL. */
SG_API int sg_core_send_discovery(sg_core *c, const sg_peer_id *to,
				  uint8_t kind, const uint8_t *data,
				  size_t len);
/* Queues a direct frame (opaque to the core, at most SG_FRAME_DEFAULT_MAX
 * bytes) for peer. SG_ERR_RANGE, SG_ERR_FULL, SG_ERR_NOMEM. */
SG_API int sg_core_send_direct(sg_core *c, const sg_peer_id *to,
			       const uint8_t *data, size_t len);

/* Where peer can be reached, from the membership views and the swarm
 * links: 0 and *out, or SG_ERR_NOTFOUND. */
SG_API int sg_core_peer_addr(const sg_core *c, const sg_peer_id *peer,
			     sg_memb_peer *out);
SG_API int sg_core_is_active(const sg_core *c, const sg_peer_id *peer);
/* Active neighbours (ids), like sg_hyparview_active. */
SG_API size_t sg_core_active(const sg_core *c, sg_peer_id *out, size_t max);
/* Passive view entries, up to max; returns how many were copied. */
SG_API size_t sg_core_passive(const sg_core *c, sg_memb_peer *out,
			      size_t max);
SG_API void sg_core_stats_get(const sg_core *c, sg_core_stats *st);
/* Topic's swarm neighbours (its Plumtree neighbours: active neighbours in
 * the topic and swarm links): copies up to max, returns how many there
 * are (0 when not subscribed). */
SG_API size_t sg_core_topic_neighbors(const sg_core *c,
				      const sg_topic_id *topic,
				      sg_peer_id *out, size_t max);
/* Statistics of the Plumtree instance of topic: SG_ERR_NOTFOUND. */
SG_API int sg_core_topic_stats(const sg_core *c, const sg_topic_id *topic,
			       sg_plumtree_stats *st);

/* A topic's Plumtree view of a swarm neighbour (its score and back-off):
 * SG_ERR_NOTFOUND when not subscribed or peer is no swarm neighbour. */
SG_API int sg_core_topic_peer_info(const sg_core *c, const sg_topic_id *topic,
				   const sg_peer_id *peer,
				   sg_plumtree_peer_info *info);

/* Transport addresses in membership messages: family (4 or 6), the
 * address bytes (4 or 16) and the port (big-endian): 7 or 19 bytes.
 * encode returns the length or SG_ERR_INVAL; decode 0 or SG_ERR_MALFORMED. */
SG_API long sg_core_addr_encode(uint8_t out[SG_MEMB_ADDR_MAX],
				const sg_addr *a);
SG_API int sg_core_addr_decode(sg_addr *a, const uint8_t *in, size_t len);

#endif
