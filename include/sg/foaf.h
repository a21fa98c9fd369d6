/*
 * Friend-of-a-friend (FOAF) discovery: find how to reach a peer (or a
 * coordinator, or a member of a group) without a DHT, by asking the
 * neighbours, who ask theirs. A sans-IO core: frames and time in, frames
 * and events out; the node hosts it (SG_FRAME_DISCOVERY kinds 3 and 4).
 *
 * A query carries a random 16-byte id, a target (opaque 32 bytes: a
 * PeerId, or a group-blinded id that only members can compute), a kind and
 * a TTL. Each node remembers the neighbour a query id came from (bounded,
 * expiring), answers if its lookup callback knows the target, else forwards
 * it to `fanout` random neighbours other than the sender with TTL - 1.
 * Answers go back hop by hop along the remembered path, never to an
 * address a query claims; duplicates are dropped by query id; every
 * neighbour has a token bucket for the queries it may make us handle.
 * What an answer carries is opaque to this module (an address, or for a
 * group query an answer sealed under the group's key by the lookup
 * callback, so a non-member learns nothing).
 */
#ifndef SG_FOAF_H
#define SG_FOAF_H

#include "common.h"
#include "env.h"
#include "identity.h"

#define SG_FOAF_QID_LEN 16
#define SG_FOAF_TARGET_LEN 32
#define SG_FOAF_ANSWER_MAX 256
#define SG_FOAF_TTL_MAX 6

typedef enum sg_foaf_kind {
	SG_FOAF_PEER = 1,	 /* target: a PeerId; answer: its address */
	SG_FOAF_COORDINATOR = 2, /* target ignored: any coordinator's advert id+addr */
	SG_FOAF_GROUP = 3,	 /* target: group-blinded id; answer: sealed */
} sg_foaf_kind;

typedef struct sg_foaf sg_foaf;

typedef struct sg_foaf_config {
	size_t size;		 /* sizeof(sg_foaf_config) */
	unsigned fanout;	 /* 3 */
	uint8_t default_ttl;	 /* 3 */
	size_t max_routes;	 /* query ids remembered: 4096 */
	uint32_t route_ttl_ms;	 /* and for: 30000 */
	size_t max_pending;	 /* own queries awaiting answers: 64 */
	uint32_t query_timeout_ms; /* 5000 */
	/* Per-neighbour token bucket for queries handled (forwarded or
	 * answered): rate per second and burst. */
	uint32_t rate_per_s; /* 20 */
	uint32_t burst;	     /* 40 */
	size_t max_peers;    /* neighbours with a bucket: 64 */
	size_t max_tx;	     /* 1024 */
	size_t max_events;   /* 256 */
} sg_foaf_config;

SG_API void sg_foaf_config_default(sg_foaf_config *cfg);

/* Does this node know the target? Fill answer (at most
 * SG_FOAF_ANSWER_MAX bytes) and return its length, or 0 if not.
 * `from` is the neighbour that asked (the previous hop). */
typedef size_t (*sg_foaf_lookup_fn)(void *ud, sg_foaf_kind kind,
				    const uint8_t target[SG_FOAF_TARGET_LEN],
				    const sg_peer_id *from,
				    uint8_t answer[SG_FOAF_ANSWER_MAX]);

typedef enum sg_foaf_event_type {
	SG_FOAF_FOUND = 1,   /* an answer to one of our queries */
	SG_FOAF_TIMEOUT = 2, /* no answer within query_timeout_ms */
} sg_foaf_event_type;

typedef struct sg_foaf_event {
	sg_foaf_event_type type;
	uint8_t qid[SG_FOAF_QID_LEN];
	sg_foaf_kind kind;
	uint8_t target[SG_FOAF_TARGET_LEN];
	uint8_t answer[SG_FOAF_ANSWER_MAX];
	size_t answer_len;
	uint8_t hops; /* hops the answer travelled back */
} sg_foaf_event;

typedef struct sg_foaf_stats {
	uint64_t rx, rx_malformed, queries_started, queries_forwarded;
	uint64_t answers_sent, answers_relayed, answers_found, timeouts;
	uint64_t duplicates, rate_limited, no_route, tx_dropped;
	uint64_t events_dropped, routes_evicted;
} sg_foaf_stats;

/* NULL on SG_ERR_NOMEM or a bad config. */
SG_API sg_foaf *sg_foaf_new(const sg_env *env, const sg_foaf_config *cfg,
			    sg_foaf_lookup_fn lookup, void *lookup_ud);
SG_API void sg_foaf_del(sg_foaf *f);

/* Starts a query to up to fanout of the given neighbours. ttl 0: the
 * default. qid (may be NULL) receives the query id. SG_ERR_FULL (too many
 * pending), SG_ERR_NOTFOUND (no neighbours), SG_ERR_RANGE (ttl). */
SG_API int sg_foaf_query(sg_foaf *f, sg_foaf_kind kind,
			 const uint8_t target[SG_FOAF_TARGET_LEN], uint8_t ttl,
			 const sg_peer_id *nbrs, size_t n_nbrs,
			 uint64_t now_ms, uint8_t qid[SG_FOAF_QID_LEN]);

/* A FOAF frame body (kind byte included: 3 query, 4 answer) from the
 * authenticated neighbour `from`; nbrs: the node's current neighbours
 * (to forward to). Returns 0 or why it was dropped. */
SG_API int sg_foaf_recv(sg_foaf *f, const sg_peer_id *from,
			const uint8_t *body, size_t len,
			const sg_peer_id *nbrs, size_t n_nbrs,
			uint64_t now_ms);
SG_API void sg_foaf_tick(sg_foaf *f, uint64_t now_ms);
SG_API uint64_t sg_foaf_next_deadline(const sg_foaf *f);
/* Next frame body for *to (kind byte first), valid until the next call;
 * 0 when none. */
SG_API size_t sg_foaf_poll_tx(sg_foaf *f, sg_peer_id *to,
			      const uint8_t **body);
SG_API int sg_foaf_poll_event(sg_foaf *f, sg_foaf_event *ev);
SG_API void sg_foaf_stats_get(const sg_foaf *f, sg_foaf_stats *st);

#define SG_FOAF_KIND_QUERY 3
#define SG_FOAF_KIND_ANSWER 4

#endif
