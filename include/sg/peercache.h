/*
 * The node's persistent peer cache: one SQLite database (normally
 * <data-dir>/peers.db) holding the peers a node has seen, the verified
 * coordinator adverts it has received, and a few named counters of node
 * state. It is what brings a restarted node back into the overlay without
 * a coordinator (../shared/DESIGN.md section 2: SQLite in WAL mode). The
 * schema, its bounds and its versioning are in docs/PROTOCOL.md ("Peer
 * cache").
 *
 * Every table is bounded (peers and adverts by max_peers, one advert per
 * publisher), every row read back is checked before it is used (a row that
 * fails is skipped, deleted and counted), and a file that is not a peer
 * cache is refused without being modified. Several handles, in one process
 * or several, may open the same file: WAL lets readers and the one writer
 * run together, and a writer waits up to about two seconds for another
 * (then SG_ERR_AGAIN). One handle must not be used from two threads at
 * once. SQLite's process-wide configuration is never touched; SQLite
 * allocates its own memory, the handle itself comes from env.
 */
#ifndef SG_PEERCACHE_H
#define SG_PEERCACHE_H

#include "common.h"
#include "env.h"
#include "identity.h"
#include "membership.h"

/* The schema version this library writes (PRAGMA user_version); version
 * 1 files are migrated to it when opened. */
#define SG_PEERCACHE_SCHEMA_VERSION 2
/* Delivered message ids kept (version 2): the most recent ones by
 * expiry beyond this are dropped. */
#define SG_PEERCACHE_DELIVERED_MAX 65536
/* PRAGMA application_id of a peer cache: "SGpc". */
#define SG_PEERCACHE_APPLICATION_ID 0x53477063
/* Largest stored coordinator advert. A signed advert with eight addresses
 * is about 6.7 KB (docs/PROTOCOL.md, "Coordinator advert"). */
#define SG_PEERCACHE_ADVERT_MAX 8192
/* Longest key of the key/value store. */
#define SG_PEERCACHE_KEY_MAX 64

typedef struct sg_peercache sg_peercache;

enum { SG_PEER_COORDINATOR = 1u, SG_PEER_PINNED = 2u };

typedef struct sg_peercache_entry {
	sg_peer_id id;
	uint8_t addr_len;		/* 0..SG_MEMB_ADDR_MAX */
	uint8_t addr[SG_MEMB_ADDR_MAX]; /* opaque transport address */
	uint64_t last_seen_ms;		/* wall clock, ms since epoch */
	int32_t score;
	uint32_t flags; /* SG_PEER_* */
} sg_peercache_entry;

/* What this handle has dropped since it was opened. */
typedef struct sg_peercache_stats {
	uint64_t evicted;	  /* peers evicted by the max_peers bound */
	uint64_t evicted_adverts; /* adverts evicted by the same bound */
	uint64_t refused_full;	  /* puts refused with SG_ERR_FULL */
	uint64_t corrupt_rows;	  /* rows that failed their checks, deleted */
	uint64_t expired_adverts; /* adverts deleted as expired */
	uint64_t stale_adverts;	  /* adverts refused for their seq */
	uint64_t delivered_dropped; /* delivered ids dropped by the bound */
} sg_peercache_stats;

/*
 * Opens the database at path, creating it (mode 0600; SQLite gives its -wal
 * and -shm files the same mode) if absent, in WAL mode with a busy timeout
 * of 2 s. The directory must exist, and path's last component must not be
 * a symbolic link. An existing cache is checked (PRAGMA quick_check), rows
 * that fail their checks are deleted, and the peers table is trimmed to
 * max_peers (> 0; also the bound of the adverts table). env is copied.
 * Returns NULL and sets *err (err may be NULL) to: SG_ERR_INVAL (arguments),
 * SG_ERR_CORRUPT (not a peer cache, damaged, or an unknown schema),
 * SG_ERR_UNSUPPORTED (a newer schema version), SG_ERR_IO (cannot be
 * opened or created, not a regular file, WAL refused), SG_ERR_PERM (the
 * file or its directory is read-only to us), SG_ERR_AGAIN
 * (locked by another writer for longer than the timeout), SG_ERR_NOMEM.
 */
SG_API sg_peercache *sg_peercache_open(const sg_env *env, const char *path,
				       size_t max_peers, int *err);
/* Finalizes everything and closes the database. NULL is a no-op. */
SG_API void sg_peercache_close(sg_peercache *pc);

/*
 * Inserts e, or updates the entry with the same id: address (kept when
 * e->addr_len is 0), last_seen_ms and score are replaced, flags are OR-ed
 * into the stored ones. When the table would then exceed max_peers, the
 * entry that is neither SG_PEER_PINNED nor SG_PEER_COORDINATOR with the
 * oldest last_seen_ms (then the lowest score, then the lowest id) is
 * evicted; if that is e itself, or there is no such entry, nothing changes
 * and SG_ERR_FULL is returned. Errors: SG_ERR_INVAL (addr_len above
 * SG_MEMB_ADDR_MAX), SG_ERR_RANGE (last_seen_ms above INT64_MAX),
 * SG_ERR_FULL, SG_ERR_AGAIN, SG_ERR_IO, SG_ERR_PERM, SG_ERR_CORRUPT,
 * SG_ERR_NOMEM, SG_ERR_STATE (called from an each_advert callback).
 */
SG_API int sg_peercache_put(sg_peercache *pc, const sg_peercache_entry *e);
/* The entry for id into *out. SG_ERR_NOTFOUND (also when the stored row
 * failed its checks and was deleted), and the errors of put. */
SG_API int sg_peercache_get(sg_peercache *pc, const sg_peer_id *id,
			    sg_peercache_entry *out);
/* Removes id's entry (not its advert). SG_ERR_NOTFOUND if there was none. */
SG_API int sg_peercache_remove(sg_peercache *pc, const sg_peer_id *id);
/* Up to max entries, the most recently seen first (ties: higher score,
 * then higher id). Returns how many were written, or a negative SG_ERR_*. */
SG_API long sg_peercache_recent(sg_peercache *pc, sg_peercache_entry *out,
				size_t max);
/* How many peers are stored, or a negative SG_ERR_*. */
SG_API long sg_peercache_count(sg_peercache *pc);

/*
 * Stores a coordinator advert (already verified by the caller) under its
 * publisher's PeerId, replacing the stored one only when seq is strictly
 * higher (else SG_ERR_REPLAY, the code for "replayed or stale"). When a new
 * publisher would take the adverts table past max_peers, the stored advert
 * that expires first is dropped, unless the new one expires before it
 * (then SG_ERR_FULL). Errors also: SG_ERR_INVAL (len 0 or advert NULL),
 * SG_ERR_RANGE (len above SG_PEERCACHE_ADVERT_MAX, expires_ms above
 * INT64_MAX), and the storage errors of put.
 */
SG_API int sg_peercache_put_advert(sg_peercache *pc, const sg_peer_id *id,
				   uint64_t seq, uint64_t expires_ms,
				   const uint8_t *advert, size_t len);
/*
 * Deletes the adverts expired at now_wall_ms (expires_ms < now_wall_ms),
 * then calls fn for each remaining one, in PeerId order. advert is valid
 * during the call only. fn must not call into pc (such calls return
 * SG_ERR_STATE). Returns 0 or the storage errors of put.
 */
SG_API int sg_peercache_each_advert(sg_peercache *pc, uint64_t now_wall_ms,
				    void (*fn)(void *ud, const sg_peer_id *id,
					       const uint8_t *advert,
					       size_t len),
				    void *ud);

/* A small key/value store for node state (e.g. "last_seq"). Keys are 1 to
 * SG_PEERCACHE_KEY_MAX bytes (SG_ERR_INVAL otherwise); values are full
 * 64-bit. get: SG_ERR_NOTFOUND. */
SG_API int sg_peercache_set_u64(sg_peercache *pc, const char *key, uint64_t v);
SG_API int sg_peercache_get_u64(sg_peercache *pc, const char *key, uint64_t *v);

/*
 * Delivered messages (version 2): records that the message with this id
 * (SG_MSG_ID_LEN bytes) was delivered, kept until expires_ms (wall clock;
 * the message is refused as expired after that anyway). Returns 0 when it
 * is new (and now recorded), 1 when it was recorded before (a restarted
 * node being offered it again: do not deliver it twice), or the storage
 * errors of put; SG_ERR_RANGE for expires_ms above INT64_MAX. Expired ids
 * are deleted now and then, and the table is held to
 * SG_PEERCACHE_DELIVERED_MAX rows (the soonest to expire go first).
 */
SG_API int sg_peercache_delivered(sg_peercache *pc, const uint8_t *id,
				  uint64_t expires_ms, uint64_t now_wall_ms);

/* This handle's drop counters. */
SG_API void sg_peercache_stats_get(const sg_peercache *pc,
				   sg_peercache_stats *out);

#endif
