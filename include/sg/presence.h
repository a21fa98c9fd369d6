/*
 * Presence beacons (issue 9, DESIGN section 7): who of a group is online,
 * as a pure (sans-IO) core: beacon bytes, the authenticated sender and the
 * time in; beacons to broadcast, events and the "who is online" list out.
 *
 * A beacon says "member M is online at these addresses until T". Inside,
 * the member's ML-DSA-65 signature (context SG_SIGCTX_PRESENCE_BEACON)
 * covers the group id and epoch, the member's PeerId, a sequence number,
 * the issue and expiry times, flags and addresses, so a beacon cannot be
 * replayed into another group or epoch. Outside, an envelope: a 16-byte
 * tag derived from the epoch's beacon tag key and the time slice
 * (floor(issue_ms / slice_ms)), then XChaCha20-Poly1305 under the epoch's
 * presence key. Outsiders see one tag per group and slice, which changes
 * every slice, so they cannot link beacons across slices; members find
 * the group and key from the tag. Non-members forward beacons without
 * opening them (sg_presence_beacon_peek gives the tag for routing).
 * docs/PROTOCOL.md, "Presence beacons", defines every byte.
 *
 * The tracker (sg_presence) checks, in this order and before anything
 * changes: the sender's rate (a token bucket per authenticated sender, in
 * a bounded table), the envelope, the tag (current epoch: this slice and
 * the adjacent ones; the previous epoch for a grace period after a
 * commit), the AEAD, the inner structure, group id and epoch against the
 * key that opened it, the time slice, membership in the current roster,
 * the time window, the sequence number (strictly increasing per member:
 * replays are refused), and last the signature with the member's key
 * from the roster. It lists members whose latest beacon has not expired
 * and drops them when it does (or on a goodbye, or when they leave the
 * roster). It also sends this node's own beacons once started: at once
 * with the HELLO flag, then every interval (less a random jitter); members
 * that see a HELLO answer with a beacon of their own within a couple of
 * seconds (at most once per answer gap), so a node that just came online
 * learns who else is online without waiting a whole interval.
 *
 * Time: every now_ms here is wall-clock Unix milliseconds (beacons carry
 * absolute times that other nodes compare with their own clocks).
 *
 * The tracker borrows the group (it must outlive the tracker) and follows
 * its commits by itself: whenever sg_group_commit_id() changes it takes
 * the new keys and roster, drops members that left and accepts beacons
 * under the previous epoch's keys for epoch_grace_ms more (from members of
 * the new roster only). Several trackers may share one group object.
 *
 * How a node uses it (`presence start|online|stop`): one tracker per
 * group; feed every presence frame of the group topic to
 * sg_presence_recv() (and forward it, verified or not), call
 * sg_presence_tick() at sg_presence_next_deadline(), broadcast what
 * sg_presence_poll_tx() returns on the group topic, report
 * sg_presence_poll_event(); `start` is sg_presence_start(), `stop`
 * sg_presence_stop() (a goodbye beacon), `online` sg_presence_online().
 */
#ifndef SG_PRESENCE_H
#define SG_PRESENCE_H

#include "common.h"
#include "env.h"
#include "group.h"
#include "identity.h"
#include "msg.h"

#define SG_PRESENCE_VERSION 1
#define SG_PRESENCE_TAG_LEN 16
#define SG_PRESENCE_MAX_ADDRS 8
/* The longest beacon (8 IPv6 addresses, largest integers). */
#define SG_PRESENCE_BEACON_MAX 3700
#define SG_SIGCTX_PRESENCE_BEACON "saorsa-gossip/v1 presence beacon"

/* Beacon flags (others must be 0). */
#define SG_PRESENCE_HELLO 1u /* first beacon after start: please answer */

/* A beacon's signed contents. expires_ms == issue_ms is a goodbye: the
 * member is going offline now. */
typedef struct sg_beacon {
	uint8_t group_id[SG_GROUP_ID_LEN];
	uint64_t epoch;
	sg_peer_id member;
	uint64_t seq;
	uint64_t issue_ms;   /* Unix ms */
	uint64_t expires_ms; /* Unix ms, >= issue_ms */
	uint32_t flags;
	sg_addr addrs[SG_PRESENCE_MAX_ADDRS];
	size_t naddrs;
} sg_beacon;

typedef struct sg_presence_config {
	size_t size;                /* sizeof(sg_presence_config) */
	uint32_t interval_ms;       /* own beacons every: 300000 (5 min) */
	uint32_t jitter_ms;         /* minus up to: 30000 */
	uint32_t validity_ms;       /* own beacons valid for: 720000 (12 min) */
	uint32_t slice_ms;          /* tag time slice: 600000 (group-wide) */
	uint32_t max_validity_ms;   /* longer claims refused: 3600000 */
	uint64_t skew_ms;           /* clock skew allowed: 300000 */
	uint32_t epoch_grace_ms;    /* previous epoch accepted: 600000 */
	uint32_t answer_delay_ms;   /* answer a HELLO within: 2000 */
	uint32_t answer_gap_ms;     /* at most one answer per: 30000 (0: never
				     * answer) */
	size_t max_senders;         /* rate buckets kept: 64 */
	uint32_t rate_burst;        /* beacons a sender may send at once: 128 */
	uint32_t rate_refill_ms;    /* then one per: 250 */
	size_t max_events;          /* queued events: 256 */
	size_t max_tx;              /* queued own beacons: 4 */
	/* Signature check; NULL means sg_mldsa65_verify with the beacon
	 * context. A simulator running many trackers in one process may pass
	 * a memoising verifier (every honest node computes the same answer
	 * for the same bytes). Returns 0 when valid. */
	int (*verify)(void *ud, const uint8_t *sig, const uint8_t *body,
		      size_t body_len, const uint8_t *pk);
	void *verify_ud;
} sg_presence_config;

SG_API void sg_presence_config_default(sg_presence_config *cfg);

/* ---- Beacons ------------------------------------------------------------ */

/* The envelope tag of a time slice: the first 16 bytes of
 * BLAKE3-keyed(tag_key, "sg beacon tag" || u64be(slice)). */
SG_API void sg_presence_tag(uint8_t tag[SG_PRESENCE_TAG_LEN],
			    const uint8_t tag_key[SG_GROUP_KEY_LEN],
			    uint64_t slice);

/* Signs b (as given: the caller fills every field) with me's key and
 * seals it under keys->presence_key with the tag of slice
 * floor(b->issue_ms / slice_ms) from keys->tag_key. nonce: 24 random
 * bytes; rnd: 32 for hedged signing (NULL: deterministic). Returns the
 * length, or SG_ERR_BUFSIZE, SG_ERR_RANGE (more than 8 addresses, a bad
 * address, expires before issue, unknown flags, slice_ms 0). Tests use it
 * to build beacons that lie. */
SG_API long sg_presence_beacon_seal(uint8_t *out, size_t out_cap,
				    const sg_group_keys *keys,
				    const sg_identity *me, const sg_beacon *b,
				    uint64_t slice_ms, const uint8_t nonce[24],
				    const uint8_t *rnd);

/* A beacon of me for the current epoch of g: seq, issue time now_ms,
 * valid for cfg->validity_ms (cfg NULL: defaults), flags, the addresses;
 * randomness from env. Returns the length or the errors of
 * sg_presence_beacon_seal, SG_ERR_PERM (me is not a member). */
SG_API long sg_presence_beacon_make(uint8_t *out, size_t out_cap,
				    const sg_group *g, const sg_identity *me,
				    const sg_addr *addrs, size_t naddrs,
				    uint64_t seq, uint64_t now_ms,
				    uint32_t flags,
				    const sg_presence_config *cfg,
				    const sg_env *env);

/* The envelope's tag, without opening it (for routing to a group, or by
 * non-members that only forward). CBOR errors, SG_ERR_UNSUPPORTED,
 * SG_ERR_RANGE. */
SG_API int sg_presence_beacon_peek(uint8_t tag[SG_PRESENCE_TAG_LEN],
				   const uint8_t *beacon, size_t len);

/* The decoder the tracker runs on a decrypted envelope: structure, field
 * ranges, addresses. The signed part (*body, *body_len bytes) and the
 * signature (*sig) view inner. Exported for tests and fuzzing. */
SG_API int sg_presence_inner_decode(sg_beacon *b, const uint8_t **body,
				    size_t *body_len, const uint8_t **sig,
				    const uint8_t *inner, size_t len);

/* ---- The tracker -------------------------------------------------------- */

typedef struct sg_presence sg_presence;

typedef enum sg_presence_event_type {
	SG_PRESENCE_ONLINE = 1,  /* a member is listed (again) */
	SG_PRESENCE_OFFLINE = 2, /* expired, said goodbye, or left the roster */
} sg_presence_event_type;

typedef struct sg_presence_event {
	sg_presence_event_type type;
	sg_peer_id member;
	uint64_t at_ms;
} sg_presence_event;

typedef struct sg_presence_entry {
	sg_peer_id member;
	uint64_t last_seen_ms; /* when its latest beacon was accepted */
	uint64_t issue_ms, expires_ms, seq;
	sg_addr addrs[SG_PRESENCE_MAX_ADDRS];
	size_t naddrs;
} sg_presence_entry;

typedef struct sg_presence_stats {
	uint64_t received, accepted, goodbyes;
	/* refused, by the first check that failed */
	uint64_t rate_limited, malformed, unknown_tag, bad_aead, wrong_group;
	uint64_t own, not_member, expired, replayed, bad_sig;
	/* bounded tables */
	uint64_t senders_evicted, events_dropped, tx_dropped;
	/* own beacons and answers */
	uint64_t beacons_sent, answers;
	size_t online, members;
} sg_presence_stats;

/* A tracker for group g (borrowed; must outlive the tracker) seen by self
 * (its own beacons are never listed). cfg NULL: defaults. NULL on
 * SG_ERR_NOMEM or a bad configuration (size, zero interval or slice,
 * validity above max_validity, zero tables). */
SG_API sg_presence *sg_presence_new(const sg_env *env,
				    const sg_presence_config *cfg,
				    const sg_group *g, const sg_peer_id *self);
/* Wipes the keys it copied and frees. NULL is a no-op. */
SG_API void sg_presence_del(sg_presence *p);

/* A beacon that arrived from the authenticated peer from (the neighbour
 * that sent the bytes: the rate limit is keyed by it). Returns 0 when it
 * was accepted (and the member listed or refreshed, or dropped for a
 * goodbye), else the first failed check: SG_ERR_AGAIN (rate), CBOR errors
 * and SG_ERR_UNSUPPORTED / SG_ERR_RANGE (structure), SG_ERR_NOTFOUND (no
 * tag of ours: another group, epoch or slice), SG_ERR_VERIFY (AEAD; group
 * id, epoch or slice inside not matching the envelope; signature),
 * SG_ERR_EXISTS (our own), SG_ERR_PERM (not a member), SG_ERR_EXPIRED,
 * SG_ERR_REPLAY. Each is counted in the stats. */
SG_API int sg_presence_recv(sg_presence *p, const uint8_t *beacon,
			    size_t len, const sg_peer_id *from,
			    uint64_t now_ms);

/* Starts (or, when started, updates the addresses of) this node's
 * beacons: me must be the tracker's self and a member, and is borrowed
 * until sg_presence_stop() or sg_presence_del(). A first beacon with the
 * HELLO flag is sent at the next tick (at once). Sequence numbers are
 * max(last + 1, now_ms), so a restarted node needs no saved counter.
 * Errors: SG_ERR_INVAL (another identity, > 8 addresses), SG_ERR_PERM. */
SG_API int sg_presence_start(sg_presence *p, const sg_identity *me,
			     const sg_addr *addrs, size_t naddrs,
			     uint64_t now_ms);
/* Stops beaconing and queues a goodbye beacon (members drop us at once).
 * SG_ERR_STATE when not started; build errors. */
SG_API int sg_presence_stop(sg_presence *p, uint64_t now_ms);

/* Sends due beacons and drops expired entries. */
SG_API void sg_presence_tick(sg_presence *p, uint64_t now_ms);
/* When tick() next has work (a beacon or an expiry), or UINT64_MAX. */
SG_API uint64_t sg_presence_next_deadline(const sg_presence *p);
/* The next beacon to broadcast on the group topic: *beacon is valid until
 * the next call. Its length, or 0. */
SG_API size_t sg_presence_poll_tx(sg_presence *p, const uint8_t **beacon);
/* 1 and fills ev when an event is pending, else 0. */
SG_API int sg_presence_poll_event(sg_presence *p, sg_presence_event *ev);

/* Who is online at now_ms (expired entries are dropped first, with their
 * events): fills up to cap entries in PeerId order and returns how many
 * members are online (which may exceed cap). */
SG_API size_t sg_presence_online(sg_presence *p, uint64_t now_ms,
				 sg_presence_entry *out, size_t cap);
/* 1 if member is listed at now_ms (its latest beacon has not expired). */
SG_API int sg_presence_is_online(const sg_presence *p,
				 const sg_peer_id *member, uint64_t now_ms);

SG_API void sg_presence_stats_get(const sg_presence *p, sg_presence_stats *st);

#endif
