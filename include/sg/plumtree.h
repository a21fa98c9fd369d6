/*
 * Plumtree (Leitao, Pereira, Rodrigues, "Epidemic Broadcast Trees", SRDS
 * 2007) for one topic, as a pure state machine: bytes and time in, frames
 * and events out. It keeps one broadcast tree per publisher (eager/lazy per
 * publisher and neighbour) so that many publishers at once do not tear
 * each other's trees apart. The node runs one instance per subscribed topic over
 * that topic's swarm neighbours and tells it when neighbours come and go.
 *
 * Messages are publisher-signed envelopes (include/sg/msg.h) forwarded
 * verbatim. Each is checked once (structure, topic, freshness, per-publisher
 * replay window, ML-DSA-65 signature) before it is marked seen, delivered or
 * forwarded, so a forged copy can never suppress the real one. Publisher
 * keys come from a shared key cache; a missing key is asked of the
 * neighbour that sent the message (it verified it, so it holds the key).
 *
 * Every table is bounded by the configuration and counts what it drops;
 * each starts small and grows on demand up to its bound (an idle topic
 * holds a few KiB), and gives memory back as entries age out.
 * Wire messages are in docs/PROTOCOL.md ("Pub/sub: Plumtree").
 */
#ifndef SG_PLUMTREE_H
#define SG_PLUMTREE_H

#include "common.h"
#include "env.h"
#include "identity.h"
#include "msg.h"

/* ---- Publisher key cache (shared by every topic of a node) ------------ */

typedef struct sg_keycache sg_keycache;

/* cap: keys held; replacement is CLOCK (an LRU approximation).
 * NULL on SG_ERR_NOMEM or cap 0. */
SG_API sg_keycache *sg_keycache_new(const sg_env *env, size_t cap);
SG_API void sg_keycache_del(sg_keycache *kc);
/* The key of id, or NULL. Marks it recently used. */
SG_API const uint8_t *sg_keycache_get(sg_keycache *kc, const sg_peer_id *id);
/* Stores pk under the PeerId it hashes to. */
SG_API int sg_keycache_put(sg_keycache *kc, const uint8_t pk[SG_MLDSA65_PK_LEN]);

/* ---- Plumtree ----------------------------------------------------------- */

typedef struct sg_plumtree sg_plumtree;

typedef struct sg_plumtree_config {
	size_t size; /* sizeof(sg_plumtree_config) */
	size_t max_neighbors;     /* 32 (at most 64) */
	uint32_t ihave_interval_ms; /* IHAVE batching timer: 50 */
	size_t ihave_batch_max;   /* ids per IHAVE frame: 64 */
	uint32_t graft_timeout_ms; /* first wait for an announced id: 500 */
	uint32_t graft_retry_ms;   /* then per further announcer: 250 */
	size_t max_announcers;    /* remembered per missing id: 4 */
	size_t max_missing;       /* announced ids awaited, globally: 4096 */
	uint32_t max_hops;        /* hop limit: 32 */
	uint32_t optimize_hops;   /* lazy path this much shorter swaps: 3 */
	size_t cache_msgs;        /* messages kept to answer GRAFT/IWANT: 1024 */
	size_t cache_bytes;       /* and their total size: 16 MiB */
	uint32_t cache_age_ms;    /* and their age: 120000 */
	size_t seen_max;          /* ids remembered as seen: 16384 */
	size_t max_publishers;    /* replay windows kept: 4096 */
	uint32_t summary_interval_ms; /* catch-up summaries: 2000 */
	size_t summary_max;       /* ids per summary: 256 */
	uint32_t summary_settle_ms; /* ids younger than this are left out: 1000 */
	uint32_t summary_recent_ms; /* periodic summaries cover this: 10000 */
	uint32_t summary_full_ms; /* all cached ids, per neighbour: 60000 */
	uint64_t skew_ms;         /* clock skew allowed: 300000 */
	size_t max_pending_key;   /* messages waiting for a key: 64 */
	uint32_t key_timeout_ms;  /* then dropped: 5000 */
	size_t max_tx;            /* queued frames: 8192 */
	size_t max_events;        /* queued events: 4096 */
	int32_t prune_score;      /* a neighbour scored below is pruned: -15 */
	uint32_t backoff_ms;      /* and not grafted again for: 60000 */
	/* Signature check; NULL means sg_msg_verify(). A simulator running
	 * thousands of nodes in one process may pass a memoising verifier
	 * (every honest node computes the same answer for the same bytes). */
	int (*verify)(void *ud, const sg_msg_view *msg,
		      const uint8_t pk[SG_MLDSA65_PK_LEN]);
	void *verify_ud;
	/* A publisher's first message seen here is pushed to every neighbour
	 * (its tree starts all eager and duplicates prune it) instead of
	 * along the topic's shared tree. Costs redundant copies of each
	 * publisher's first message, saves the IHAVE/GRAFT round trip where
	 * the shared tree is cut apart by many publishers: 0. */
	int flood_new_publishers;
} sg_plumtree_config;

SG_API void sg_plumtree_config_default(sg_plumtree_config *cfg);

typedef enum sg_plumtree_event_type {
	/* A verified message, first copy. msg views memory valid until the
	 * next sg_plumtree_poll_event() call. */
	SG_PLUMTREE_DELIVER = 1,
	/* A neighbour sent something only a faulty or malicious peer sends
	 * (an invalid signature, a malformed frame, a wrong topic): the node
	 * should disconnect it. */
	SG_PLUMTREE_MISBEHAVED = 2,
} sg_plumtree_event_type;

typedef struct sg_plumtree_event {
	sg_plumtree_event_type type;
	sg_peer_id peer;  /* DELIVER: the neighbour it came from */
	sg_msg_view msg;  /* DELIVER */
	uint32_t hops;    /* DELIVER: hops it travelled */
	int reason;       /* MISBEHAVED: the SG_ERR_* that triggered it */
} sg_plumtree_event;

typedef struct sg_plumtree_stats {
	uint64_t delivered, duplicates, invalid, expired, replayed;
	uint64_t too_many_hops, wrong_topic, malformed, unknown_peer;
	uint64_t eager_sent, ihave_sent, graft_sent, prune_sent, iwant_sent;
	uint64_t key_requests, key_dropped, missing_dropped, missing_gave_up;
	uint64_t tx_dropped, events_dropped, cache_evicted;
	/* GRAFTs for a missing id that the neighbour did not answer in
	 * time; neighbours whose score fell below prune_score (each then
	 * in back-off) */
	uint64_t unanswered, score_prunes;
	/* eager, lazy: (publisher, neighbour) pairs over the tracked
	 * publishers' trees */
	size_t eager, lazy, cached, missing;
} sg_plumtree_stats;

/* topic: the topic this instance serves; keys: shared cache (borrowed for
 * the instance's lifetime). NULL on SG_ERR_NOMEM / bad config. */
SG_API sg_plumtree *sg_plumtree_new(const sg_env *env,
				    const sg_plumtree_config *cfg,
				    const sg_topic_id *topic, sg_keycache *keys);
SG_API void sg_plumtree_del(sg_plumtree *pt);

/* Neighbours (from the topic's membership): new ones start eager. */
SG_API int sg_plumtree_neighbor_up(sg_plumtree *pt, const sg_peer_id *peer,
				   uint64_t now_ms);
SG_API void sg_plumtree_neighbor_down(sg_plumtree *pt, const sg_peer_id *peer);

/* Broadcasts an envelope this node signed (sg_msg_sign). SG_ERR_* from
 * decoding, SG_ERR_EXISTS if already seen. */
SG_API int sg_plumtree_publish(sg_plumtree *pt, const uint8_t *envelope,
			       size_t len, uint64_t now_ms, uint64_t wall_ms);

/* A frame from an authenticated neighbour. Errors are also reported as
 * events where the node must act; the return value is informative. */
SG_API int sg_plumtree_recv(sg_plumtree *pt, const sg_peer_id *from,
			    const uint8_t *frame, size_t len, uint64_t now_ms,
			    uint64_t wall_ms);

SG_API void sg_plumtree_tick(sg_plumtree *pt, uint64_t now_ms);
/* The next time tick() has work, or UINT64_MAX. */
SG_API uint64_t sg_plumtree_next_deadline(const sg_plumtree *pt);

/* Next frame to send: *frame is valid until the next call. Returns its
 * length, or 0 when there is nothing to send. */
SG_API size_t sg_plumtree_poll_tx(sg_plumtree *pt, sg_peer_id *to,
				  const uint8_t **frame);
/* 1 and fills ev when an event is pending, else 0. */
SG_API int sg_plumtree_poll_event(sg_plumtree *pt, sg_plumtree_event *ev);

SG_API void sg_plumtree_stats_get(const sg_plumtree *pt, sg_plumtree_stats *st);
/* A neighbour's standing: its score (+1 per first copy it delivered, up
 * to +10; -5 per GRAFT it left unanswered, doubled for each one in a row
 * without a first copy between them; -100 per invalid frame; below
 * prune_score it is pruned from every tree, not grafted again until
 * backoff_until, and its score restarts at 0) and how often that
 * happened since it came up. */
typedef struct sg_plumtree_peer_info {
	int32_t score;
	uint64_t backoff_until; /* 0: never pruned for its score */
	uint32_t prunes;
} sg_plumtree_peer_info;

/* SG_ERR_NOTFOUND when peer is no neighbour. */
SG_API int sg_plumtree_peer_info_get(const sg_plumtree *pt,
				     const sg_peer_id *peer,
				     sg_plumtree_peer_info *info);

/* Whether peer is an eager (tree) neighbour in publisher's tree (for a
 * publisher not seen yet: in the topic's shared tree). */
SG_API int sg_plumtree_is_eager(const sg_plumtree *pt, const sg_peer_id *peer,
				const sg_peer_id *publisher);

/* The first sequence number a publisher uses after it starts:
 * max(last persisted + 1, wall_ms), so a restarted publisher is never
 * taken for a replay even when it lost its state (DESIGN section 7). Later
 * messages use last + 1: receivers keep a 256-number window per publisher
 * and treat anything older than the newest - 255 as a replay. */
SG_API uint64_t sg_plumtree_initial_seq(uint64_t last_persisted,
					uint64_t wall_ms);

#endif
