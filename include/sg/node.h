/*
 * A running saorsa-gossip node: the protocol core (include/sg/core.h) over
 * the QUIC endpoint (include/sg/endpoint.h) on a libuv loop, with a peer
 * cache in SQLite (include/sg/peercache.h) and a local control socket
 * (include/sg/control.h) under its data directory.
 *
 * The node dials peers the core addresses frames to (frames wait, bounded,
 * while the connection is set up), reports unreachable peers back to the
 * core, remembers every peer it talks to, and rejoins from the peer cache
 * when restarted without a coordinator. Runs on the caller's loop; not
 * thread-safe.
 */
#ifndef SG_NODE_H
#define SG_NODE_H

#include <uv.h>

#include "common.h"
#include "core.h"
#include "endpoint.h"
#include "env.h"
#include "identity.h"
#include "msg.h"

typedef struct sg_node sg_node;

typedef struct sg_node_config {
	size_t size; /* sizeof(sg_node_config) */
	sg_core_config core;
	sg_endpoint_config ep;
	/* Directory for peers.db and control.sock (created 0700 if absent). */
	const char *data_dir;
	/* "IP:PORT" or "[IPv6]:PORT"; default "0.0.0.0:0". */
	const char *bind;
	/* Bootstrap contacts: "ADDR" or "PEERID@ADDR" (pinned). An unpinned
	 * contact's PeerId is learnt from its handshake and pinned in the
	 * peer cache. */
	const char *const *contacts;
	size_t n_contacts;
	/* SG_ROLE_COORDINATOR (publish a signed advert every
	 * advert_interval_ms and hand it to every new neighbour),
	 * SG_ROLE_REFLECTOR (tell each peer the address it comes from),
	 * SG_ROLE_RELAY (forward relay frames between peers that cannot
	 * reach each other: sets ep.relay; docs/PROTOCOL.md, "Relay"),
	 * SG_ROLE_RENDEZVOUS (see tools/coordinator.c). Any node uses the
	 * relays it learns from adverts when a direct dial fails. */
	uint32_t roles;
	uint64_t advert_interval_ms; /* 300000 */
	int control;		     /* serve the control socket: 1 */
	size_t max_cached_peers;     /* 1024 */
	size_t max_waiting_frames;   /* per peer being dialled: 256 */
	size_t max_waiting_bytes;    /* per peer being dialled: 4 MiB */
	size_t max_ctl_clients;	     /* 32 */
	/* Presence beacons in groups where presence is on (issue 9): one
	 * every presence_interval_ms, valid for presence_validity_ms (0:
	 * the defaults, 300000 and 720000). Short values are for tests. */
	uint32_t presence_interval_ms;
	uint32_t presence_validity_ms;
	/* A peer reached through a relay is dialled directly again every
	 * relay_direct_retry_ms (0: the default, 60000); when that dial
	 * succeeds, the direct connection supersedes the relayed one. */
	uint32_t relay_direct_retry_ms;
} sg_node_config;

SG_API void sg_node_config_default(sg_node_config *cfg);

/* A delivered message (first copy, signature verified). */
typedef void (*sg_node_deliver_cb)(void *ud, const sg_topic_id *topic,
				   const sg_msg_view *msg, uint32_t hops);

/* Creates the node: opens the peer cache, binds the endpoint, starts the
 * control socket, and starts joining (contacts first, then cached peers).
 * ident and the loop must outlive the node. NULL with *err on failure
 * (SG_ERR_IO with a log line saying what failed, SG_ERR_INVAL for a bad
 * address or contact, SG_ERR_EXISTS when another node serves the data
 * directory's control socket). */
SG_API sg_node *sg_node_new(uv_loop_t *loop, const sg_env *env,
			    const sg_node_config *cfg, const sg_identity *ident,
			    int *err);
SG_API void sg_node_set_deliver_cb(sg_node *n, sg_node_deliver_cb cb,
				   void *ud);

/* Topics by name (TopicId = sg_topic_id_from_name). */
SG_API int sg_node_subscribe(sg_node *n, const char *topic, size_t len);
SG_API int sg_node_unsubscribe(sg_node *n, const char *topic, size_t len);
SG_API int sg_node_publish(sg_node *n, const char *topic, size_t topic_len,
			   const uint8_t *payload, size_t len,
			   uint8_t id[SG_MSG_ID_LEN]);

/* Leaves politely: tells the members, flushes the peer cache, closes the
 * connections, then calls done (once) from the loop. */
SG_API void sg_node_leave(sg_node *n, void (*done)(void *ud), void *ud);
/* cb is called (once) when the node has left because a control client
 * asked it to (`network leave`); the program then stops its loop. */
SG_API void sg_node_set_exit_cb(sg_node *n, void (*cb)(void *ud), void *ud);
/* Frees the node. Its libuv handles close asynchronously: run the loop
 * until it has no more work (uv_run DEFAULT) after this call. */
SG_API void sg_node_del(sg_node *n);

/* Presence in the groups this node is in (groups are made and joined
 * through the control socket: `saorsa-gossip groups ...`). group is a
 * selector: a group's name, its id in hex, or a prefix of at least 8 hex
 * digits. start: beacons from now on (kept across restarts); stop: a
 * goodbye. Errors: SG_ERR_NOTFOUND (no such group), SG_ERR_EXISTS (the
 * selector names several), SG_ERR_STATE (stop: presence is not on),
 * SG_ERR_FULL (the node's queue for the group topic is full). */
SG_API int sg_node_presence_start(sg_node *n, const char *group, size_t len);
SG_API int sg_node_presence_stop(sg_node *n, const char *group, size_t len);
/* Who of the group is online now (this node not included): up to cap
 * entries into out (include/sg/presence.h), in PeerId order. Returns how
 * many are online (possibly more than cap), or the errors above. */
struct sg_presence_entry;
SG_API long sg_node_presence_online(sg_node *n, const char *group,
				    size_t len, struct sg_presence_entry *out,
				    size_t cap);
/* Called when a member of one of the node's groups comes online (online
 * 1) or goes offline (0); name is the group's name (not NUL-ended). */
typedef void (*sg_node_presence_cb)(void *ud, const char *name,
				    size_t name_len, const sg_peer_id *member,
				    int online);
SG_API void sg_node_set_presence_cb(sg_node *n, sg_node_presence_cb cb,
				    void *ud);

/* Direct messages: a request to one peer and its response, over the
 * authenticated connection between the two nodes (docs/PROTOCOL.md,
 * "Direct requests"). Bodies are at most SG_NODE_DIRECT_MAX bytes. */
#define SG_NODE_DIRECT_MAX ((1u << 20) - 4096u)
/* A request arrived from `from`: answer it with sg_node_respond(from, id)
 * (now or later; once). body is valid for the call. Without a request
 * callback the node answers every request with SG_ERR_UNSUPPORTED. */
typedef void (*sg_node_request_cb)(void *ud, const sg_peer_id *from,
				   uint64_t id, const uint8_t *body,
				   size_t len);
/* The outcome of a request this node sent: status 0 and the peer's
 * response body, the peer's error (negative SG_ERR_*), or SG_ERR_TIMEOUT
 * when no response came in time. body is valid for the call. */
typedef void (*sg_node_response_cb)(void *ud, const sg_peer_id *from,
				    uint64_t id, int status,
				    const uint8_t *body, size_t len);
SG_API void sg_node_set_request_cb(sg_node *n, sg_node_request_cb cb,
				   void *ud);
SG_API void sg_node_set_response_cb(sg_node *n, sg_node_response_cb cb,
				    void *ud);
/* Sends a request; *id (may be NULL) gets its id, which the response
 * callback names. timeout_ms: 100 to 600000. Errors: SG_ERR_RANGE (body or
 * timeout), SG_ERR_INVAL (to is this node), SG_ERR_NOTFOUND (no
 * connection to to and no address known for it: find it first, e.g. with
 * FOAF), SG_ERR_FULL (256 requests outstanding, or the queue), NOMEM. */
SG_API int sg_node_request(sg_node *n, const sg_peer_id *to,
			   const uint8_t *body, size_t len, uint32_t timeout_ms,
			   uint64_t *id);
/* Answers request id of to: status 0 with a body, or a negative SG_ERR_*
 * (body ignored). SG_ERR_RANGE, SG_ERR_FULL, SG_ERR_NOMEM. */
SG_API int sg_node_respond(sg_node *n, const sg_peer_id *to, uint64_t id,
			   int status, const uint8_t *body, size_t len);

SG_API const sg_peer_id *sg_node_id(const sg_node *n);
SG_API int sg_node_local_addr(const sg_node *n, struct sockaddr_storage *sa);

typedef struct sg_node_stats {
	sg_core_stats core;
	sg_endpoint_stats ep;
	uint64_t dials, dial_failures, frames_waiting_dropped, ctl_rejected;
	uint64_t bad_cards; /* member cards refused (group invites) */
	/* messages not delivered again: delivered before a restart (the
	 * peer cache remembers their ids until they expire) */
	uint64_t redelivered_dropped;
	/* direct frames refused (malformed) and responses matching no
	 * request (late, or never asked) */
	uint64_t direct_refused, responses_unmatched;
	uint64_t relay_dials; /* failed direct dials retried through a relay */
	uint64_t uptime_ms;
} sg_node_stats;
SG_API void sg_node_stats_get(const sg_node *n, sg_node_stats *st);

/* Parses "IP:PORT" / "[IPv6]:PORT" into sa. SG_ERR_INVAL. */
SG_API int sg_node_parse_addr(const char *s, struct sockaddr_storage *sa);
/* Formats sa as "IP:PORT" / "[IPv6]:PORT" into out (at least 64 bytes). */
SG_API void sg_node_format_addr(const struct sockaddr *sa, char *out,
				size_t cap);

/* ---- For embedding applications (include/sg/app.h) ------------------- */

/* The active neighbours (HyParView's active view): up to max PeerIds into
 * ids and, when addrs is not NULL, the address each is reached at into
 * addrs (ss_family AF_UNSPEC when the membership views do not know it).
 * Returns how many neighbours there are, which may exceed max. Like every
 * sg_node call: from the loop's thread only. */
SG_API size_t sg_node_active_peers(const sg_node *n, sg_peer_id *ids,
				   struct sockaddr_storage *addrs, size_t max);

#endif
