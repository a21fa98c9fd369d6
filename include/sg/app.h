/*
 * The embedding API: a saorsa-gossip node for an application, in a few
 * calls. sg_app wraps a full node (include/sg/node.h: QUIC endpoint,
 * protocol core, peer cache) with what an application wants around it: the
 * identity taken from the keystore or held in memory, topics by name,
 * deliveries through a callback or a bounded queue that select()/poll()
 * can wait on, and a polite stop.
 *
 *   sg_app_config cfg;
 *   sg_app_config_default(&cfg);
 *   cfg.coordinators = (const char *[]){"203.0.113.7:7000"};
 *   cfg.n_coordinators = 1;
 *   sg_app *app = sg_app_new(&cfg, &err);
 *   sg_app_start(app, NULL);                 (a thread of its own)
 *   sg_app_subscribe(app, "news", NULL, NULL); (deliveries into the queue)
 *   sg_app_publish(app, "news", buf, len, NULL);
 *   while (sg_app_poll(app, &ev, 1000) == 0) { ...; sg_app_event_free(ev); }
 *   sg_app_del(app);                         (leaves, stops, frees)
 *
 * Two ways to run it:
 *  - sg_app_start(app, NULL): the node runs on a thread the app owns, with
 *    its own libuv loop. Every sg_app_* call is then thread-safe: it hands
 *    a command to the node thread (a uv_async_t wakes it; commands wait in
 *    a mutex-protected list, at most one per calling thread, so the list is
 *    bounded by the number of threads) and returns when the node thread
 *    has executed it, with its status. Called from the node thread itself
 *    (inside a callback), a call runs at once.
 *  - sg_app_start(app, loop): the node runs on the caller's libuv loop.
 *    Every sg_app_* call must then come from that loop's thread (others
 *    get SG_ERR_STATE); sg_app_poll never waits there. Deliveries are best
 *    taken with callbacks. (sg_node, include/sg/node.h, is the lower-level
 *    API for the same case.)
 *
 * Deliveries: each subscription names either a callback, called on the
 * node thread with an event valid for the duration of the call, or NULL:
 * its events go into the app's queue, which holds at most max_queued
 * events and max_queued_bytes of payload. When a new event does not fit,
 * the OLDEST queued events are dropped until it does, and counted in
 * sg_app_stats.dropped (a reader that falls behind loses old messages,
 * never new ones; the newest event is always kept). Neighbour events
 * (SG_APP_PEER_UP / _DOWN) go the same way when enabled in the config.
 *
 * Ownership: configs and strings are borrowed for the call (copied);
 * events taken from the queue belong to the caller until
 * sg_app_event_free() and stay valid after sg_app_del(); events passed to
 * a callback are borrowed for the call. Errors are negative SG_ERR_* codes
 * (include/sg/err.h, sg_strerror()). Callbacks and the env's log sink run
 * on the node thread: keep them short, and make the log sink thread-safe
 * when several apps share it.
 *
 * ABI: sg_app and sg_app_event are opaque; sg_app_config and sg_app_stats
 * carry their size, so fields are only ever added at their end and a
 * program built against an older header keeps working; sg_app_peer is
 * frozen.
 */
#ifndef SG_APP_H
#define SG_APP_H

#include "common.h"
#include "env.h"
#include "identity.h"

/* The libuv loop type, without requiring <uv.h> here. */
struct uv_loop_s;

typedef struct sg_app sg_app;
typedef struct sg_app_event sg_app_event;

/* Topic names are 1 to SG_APP_TOPIC_MAX bytes (any bytes but NUL). */
#define SG_APP_TOPIC_MAX 255
/* Longest text address, "[IPv6]:PORT" with its NUL. */
#define SG_APP_ADDR_LEN 64

typedef enum sg_app_kind {
	SG_APP_MESSAGE = 1,   /* a message on a subscribed topic */
	SG_APP_PEER_UP = 2,   /* a node became a neighbour (active view) */
	SG_APP_PEER_DOWN = 3, /* a neighbour went away */
	SG_APP_ONLINE = 4,    /* a member of a group came online (presence) */
	SG_APP_OFFLINE = 5,   /* ... went offline: goodbye or expired beacon */
	SG_APP_REQUEST = 6,   /* a direct request from a peer: answer it */
	SG_APP_RESPONSE = 7,  /* the outcome of a request this app sent */
} sg_app_kind;

/* A callback for deliveries or neighbour events, on the node thread; ev is
 * valid until it returns (also after it called back in). It may call
 * sg_app_publish, _subscribe, _unsubscribe, _peers, _stats_get and _poll
 * (which then never waits); not sg_app_del, nor sg_app_stop in thread
 * mode (SG_ERR_STATE). */
typedef void (*sg_app_cb)(void *ud, const sg_app_event *ev);

typedef struct sg_app_config {
	size_t size; /* sizeof(sg_app_config), set by sg_app_config_default */

	/* Allocator, randomness, clocks and log sink (copied). NULL: the
	 * process defaults (sg_env_default: no log). Its functions are
	 * called from the node thread; a custom allocator must stay usable
	 * until the last event taken from the queue is freed. */
	const sg_env *env;

	/* The node's identity, the first of these that is set:
	 *  identity: this one (copied; the copy is wiped by sg_app_del);
	 *  identity_alias: loaded from the keystore in keystore_dir (NULL:
	 *   the default keystore, see include/sg/keystore.h), unsealed with
	 *   passphrase when sealed; with create_identity a missing alias is
	 *   generated and saved there (unsealed, or sealed with passphrase);
	 *  neither: a fresh identity held in memory only. */
	const sg_identity *identity;
	const char *identity_alias;
	const char *keystore_dir;
	const char *passphrase;
	int create_identity;

	/* Local UDP address, "IP:PORT" or "[IPv6]:PORT" (port 0: any).
	 * Default "0.0.0.0:0". */
	const char *bind;
	/* Bootstrap contacts, "ADDR" or "PEERID@ADDR" (PEERID pins it: the
	 * handshake must prove that identity). None: the node rejoins
	 * through the peers in its peer cache, or waits to be contacted. */
	const char *const *coordinators;
	size_t n_coordinators;
	/* Directory of the peer cache (and of the control socket). NULL: a
	 * private temporary directory, removed by sg_app_del (the peer cache
	 * then does not outlive the app). */
	const char *data_dir;
	/* Serve the control socket in data_dir, so that `saorsa-gossip
	 * network status|peers|leave --data-dir DIR` and `pubsub ...` reach
	 * this node. Default 0. */
	int control;

	/* The delivery queue's bounds (both at least 1): events, default
	 * 1024; payload bytes, default 16 MiB. Drop policy: oldest first. */
	size_t max_queued;
	size_t max_queued_bytes;

	/* Neighbour events: on_peer is called for each when set; otherwise,
	 * with peer_events, they go into the queue. Neighbours are compared
	 * every peer_poll_ms (default 250): one that comes and goes between
	 * two looks is not reported. Default: no neighbour events. */
	int peer_events;
	sg_app_cb on_peer;
	void *on_peer_ud;
	uint32_t peer_poll_ms;

	/* Presence events (SG_APP_ONLINE / _OFFLINE: a member of one of the
	 * node's groups; the event's topic is the group's name): on_presence
	 * is called for each when set; otherwise, with presence_events, they
	 * go into the queue. Default: none. Groups are made and joined with
	 * `saorsa-gossip groups ...` against data_dir (with control on), and
	 * kept there across runs. */
	int presence_events;
	sg_app_cb on_presence;
	void *on_presence_ud;

	/* Direct requests (sg_app_request): requests from peers
	 * (SG_APP_REQUEST) go to on_request when set, else into the queue
	 * with accept_requests; with neither, the node answers each with
	 * SG_ERR_UNSUPPORTED. Responses (SG_APP_RESPONSE) go to on_response
	 * when set, else into the queue. */
	int accept_requests;
	sg_app_cb on_request;
	void *on_request_ud;
	sg_app_cb on_response;
	void *on_response_ud;
} sg_app_config;

/* Fills cfg with the defaults above. */
SG_API void sg_app_config_default(sg_app_config *cfg);

/* Creates an app (not started): checks the config, takes the identity.
 * Thread-safe (no shared state). NULL with *err (err may be NULL):
 *  SG_ERR_INVAL    cfg->size is 0 or larger than this library knows, a
 *                  bad bind address, a bad contact, a zero queue bound;
 *  SG_ERR_RANGE    a path too long;
 *  SG_ERR_NOTFOUND identity_alias is not in the keystore (and not
 *                  create_identity), or no home directory for the
 *                  default keystore;
 *  the errors of sg_keystore_load / sg_keystore_save (SG_ERR_PASSPHRASE,
 *  SG_ERR_CORRUPT, SG_ERR_IO, SG_ERR_PERM, ...); SG_ERR_IO (temporary
 *  directory, pipe); SG_ERR_NOMEM; SG_ERR_CRYPTO (libsodium).
 * A config with a smaller size (an older program) is accepted: the fields
 * past its size take their defaults. */
SG_API sg_app *sg_app_new(const sg_app_config *cfg, int *err);

/* Starts the node: loop NULL, on a thread of the app's own; else on the
 * caller's libuv loop, from that loop's thread (see above). Returns once
 * the node is bound and joining: 0, or SG_ERR_STATE (already started or
 * stopped), SG_ERR_IO (cannot bind, e.g. the port is taken; cannot create
 * the data directory or the thread), SG_ERR_EXISTS (control: another node
 * serves data_dir), SG_ERR_NOMEM, or the peer cache's errors
 * (SG_ERR_CORRUPT, SG_ERR_PERM, ...). After a failure the app can only be
 * deleted. */
SG_API int sg_app_start(sg_app *app, struct uv_loop_s *loop);

/* Subscribes to topic (a NUL-terminated name, 1 to SG_APP_TOPIC_MAX
 * bytes). cb NULL: its messages go into the queue; else cb(ud, ev) is
 * called for each, on the node thread. Only messages from others are
 * delivered (never the app's own). Errors: SG_ERR_INVAL (NULL or empty
 * name), SG_ERR_RANGE (name too long), SG_ERR_EXISTS (already subscribed
 * by this app), SG_ERR_FULL (64 topics), SG_ERR_NOMEM, SG_ERR_STATE (not
 * started; or the wrong thread in loop mode), SG_ERR_CLOSED (stopped or
 * stopping). */
SG_API int sg_app_subscribe(sg_app *app, const char *topic, sg_app_cb cb,
			    void *ud);
/* Ends the subscription; queued messages of the topic stay queued.
 * Errors: SG_ERR_NOTFOUND (not subscribed), and subscribe's. */
SG_API int sg_app_unsubscribe(sg_app *app, const char *topic);

/* Signs payload[0..len) and broadcasts it on topic. Subscribing is not
 * needed (the node joins the topic's swarm to publish; messages of a topic
 * the app did not subscribe to are not delivered to it). A message reaches
 * the nodes of the topic's swarm at the time; one published before the
 * node has neighbours subscribed to the topic reaches nobody. It returns
 * once the message is signed and handed to the neighbours' connections,
 * not once it has arrived: stopping at once may lose it (the leave travels
 * on another stream and can arrive first). id (may be
 * NULL) receives the message id (SG_MSG_ID_LEN = 32 bytes). Errors:
 * SG_ERR_RANGE (payload larger than SG_APP_MAX_PAYLOAD, or name too
 * long), SG_ERR_INVAL (NULL or empty name, NULL payload with len > 0),
 * SG_ERR_FULL (64 topics), SG_ERR_NOMEM, SG_ERR_STATE, SG_ERR_CLOSED. */
SG_API int sg_app_publish(sg_app *app, const char *topic,
			  const uint8_t *payload, size_t len, uint8_t id[32]);
/* The largest payload: 1 MiB less 4 KiB (SG_MSG_MAX_PAYLOAD). */
#define SG_APP_MAX_PAYLOAD ((1u << 20) - 4096u)

/* Takes the oldest queued event: 0 and *out (free it with
 * sg_app_event_free), waiting up to timeout_ms for one (0: do not wait;
 * negative: wait until one comes or the app stops). Thread-safe; several
 * threads may poll. SG_ERR_AGAIN: none within the timeout (always at
 * once on the node thread); SG_ERR_CLOSED: the app stopped and the queue
 * is empty; SG_ERR_STATE: not started. */
SG_API int sg_app_poll(sg_app *app, sg_app_event **out, int timeout_ms);
/* A file descriptor that is readable while the queue holds an event (and
 * for good once the app has stopped), for select()/poll()/epoll or a
 * libuv uv_poll_t; valid from sg_app_new to sg_app_del. Only wait on it:
 * never read, write or close it. Then call sg_app_poll(app, &ev, 0) until
 * it returns SG_ERR_AGAIN. */
SG_API int sg_app_fd(const sg_app *app);

/* ---- Events --------------------------------------------------------- */

SG_API sg_app_kind sg_app_event_kind(const sg_app_event *ev);
/* The topic's name, NUL-terminated (*len without the NUL, len may be
 * NULL); for presence events the group's name; NULL for neighbour
 * events. */
SG_API const char *sg_app_event_topic(const sg_app_event *ev, size_t *len);
/* The payload (*len bytes; not NUL-terminated); NULL and 0 for neighbour
 * events. */
SG_API const uint8_t *sg_app_event_payload(const sg_app_event *ev, size_t *len);
/* The publisher (verified: the message carries its ML-DSA-65 signature),
 * the neighbour, or the group member. */
SG_API const sg_peer_id *sg_app_event_peer(const sg_app_event *ev);
/* The neighbour's address "IP:PORT", or "" (messages, or unknown). */
SG_API const char *sg_app_event_addr(const sg_app_event *ev);
/* Message fields (0 / NULL for neighbour events): the publisher's
 * sequence number, its clock when it published (Unix ms), the hops the
 * message travelled, the 32-byte message id. For SG_APP_REQUEST and
 * SG_APP_RESPONSE, seq is the request's id. */
SG_API uint64_t sg_app_event_seq(const sg_app_event *ev);
SG_API uint64_t sg_app_event_publish_ms(const sg_app_event *ev);
SG_API uint32_t sg_app_event_hops(const sg_app_event *ev);
SG_API const uint8_t *sg_app_event_msg_id(const sg_app_event *ev);
/* SG_APP_RESPONSE: 0, the peer's error, or SG_ERR_TIMEOUT; else 0. */
SG_API int sg_app_event_status(const sg_app_event *ev);
/* Frees an event taken from sg_app_poll (not one given to a callback).
 * NULL is a no-op. Any thread, also after sg_app_del. */
SG_API void sg_app_event_free(sg_app_event *ev);

/* ---- Queries -------------------------------------------------------- */

/* This node's PeerId (valid from sg_app_new to sg_app_del). */
SG_API const sg_peer_id *sg_app_id(const sg_app *app);
/* The address the node is bound to, "IP:PORT", into out (at least
 * SG_APP_ADDR_LEN bytes; an unspecified bind shows as 0.0.0.0). Others
 * join it with "PEERID@ADDR" (sg_peer_id_hex). SG_ERR_STATE before a
 * successful start, SG_ERR_BUFSIZE. Thread-safe. */
SG_API int sg_app_local_addr(const sg_app *app, char *out, size_t cap);

/* ---- Direct requests ------------------------------------------------- */

/* Sends req (up to SG_APP_MAX_PAYLOAD bytes) to one peer over the
 * authenticated connection between the two nodes (dialled if needed) and
 * returns at once; *id (may be NULL) gets the request's id. Exactly one
 * SG_APP_RESPONSE event follows, with that id (sg_app_event_seq), the peer,
 * and sg_app_event_status(): 0 and the peer's payload, the peer's error,
 * or SG_ERR_TIMEOUT after timeout_ms (100 to 600000; checked about once a
 * second) without an answer. At most once, no retries: a lost request
 * times out. Errors: SG_ERR_RANGE (size, timeout), SG_ERR_INVAL (to is
 * this node, NULL), SG_ERR_NOTFOUND (no address known for the peer),
 * SG_ERR_FULL (256 outstanding), SG_ERR_STATE, SG_ERR_CLOSED. */
SG_API int sg_app_request(sg_app *app, const sg_peer_id *to,
			  const uint8_t *req, size_t len, uint32_t timeout_ms,
			  uint64_t *id);
/* Answers the request id from peer `to` (an SG_APP_REQUEST event: its
 * sg_app_event_peer and sg_app_event_seq) with resp, or with a negative
 * SG_ERR_* status (resp ignored). Once per request; unanswered requests
 * time out at the sender. Errors: SG_ERR_RANGE, SG_ERR_INVAL, SG_ERR_FULL,
 * SG_ERR_STATE, SG_ERR_CLOSED. */
SG_API int sg_app_respond(sg_app *app, const sg_peer_id *to, uint64_t id,
			  int status, const uint8_t *resp, size_t len);

/* ---- Presence (issue 9: "who of a group is online") ------------------- */

/* An online member. Frozen: this layout never changes. */
typedef struct sg_app_member {
	sg_peer_id id;
	uint64_t last_seen_ms; /* Unix ms: its latest beacon arrived */
	uint64_t expires_ms;   /* Unix ms: listed until then without news */
	char addr[SG_APP_ADDR_LEN]; /* the first address it announced, or "" */
} sg_app_member;

/* Starts this node's presence beacons in a group it is in (group: its
 * name, its id in hex, or a prefix of at least 8 hex digits), or stops
 * them with a goodbye. Presence stays on across runs until stopped.
 * Errors: SG_ERR_INVAL / SG_ERR_RANGE (name), SG_ERR_NOTFOUND (the node is
 * in no such group), SG_ERR_EXISTS (the selector names several),
 * SG_ERR_STATE (stop: not on; or not started, wrong thread),
 * SG_ERR_CLOSED. */
SG_API int sg_app_presence_start(sg_app *app, const char *group);
SG_API int sg_app_presence_stop(sg_app *app, const char *group);
/* The members of group online now (this node not included), up to max
 * into out, in PeerId order. Returns how many are online (possibly more
 * than max), or the errors above. Works whether or not this node's own
 * presence is on. */
SG_API long sg_app_presence_online(sg_app *app, const char *group,
				   sg_app_member *out, size_t max);

/* A neighbour. Frozen: this layout never changes. */
typedef struct sg_app_peer {
	sg_peer_id id;
	char addr[SG_APP_ADDR_LEN]; /* "IP:PORT" or "" when unknown */
} sg_app_peer;

/* The node's neighbours (active view): up to max into out (out may be
 * NULL when max is 0). Returns how many there are (possibly more than
 * max), or SG_ERR_STATE / SG_ERR_CLOSED / SG_ERR_NOMEM. */
SG_API long sg_app_peers(sg_app *app, sg_app_peer *out, size_t max);

typedef struct sg_app_stats {
	size_t size;	      /* set by the caller: sizeof(sg_app_stats) */
	uint64_t delivered;   /* messages handed to callbacks or the queue */
	uint64_t ignored;     /* messages of topics the app did not subscribe */
	uint64_t dropped;     /* queued events dropped, oldest first (bound) */
	uint64_t nomem;	      /* events lost because memory ran out */
	uint64_t published;   /* successful sg_app_publish calls */
	uint64_t peer_events; /* neighbour events generated */
	size_t queued;	      /* events in the queue now */
	size_t queued_bytes;  /* their payload bytes */
	size_t peers;	      /* neighbours at the last look */
} sg_app_stats;

/* Copies the counters into st, up to st->size bytes (fields past it are
 * not written). Thread-safe. SG_ERR_INVAL when st->size is smaller than
 * the size field itself. */
SG_API int sg_app_stats_get(sg_app *app, sg_app_stats *st);

/* ---- Stopping ------------------------------------------------------- */

/* Leaves the overlay politely (neighbours are told; the peer cache is
 * flushed) and stops the node. Thread mode: returns when the node thread
 * has ended (about 300 ms); queued events stay readable, then
 * sg_app_poll returns SG_ERR_CLOSED. Loop mode: starts the leave and
 * returns at once; the node's handles close while the loop runs, and
 * sg_app_del may follow at any time. Callbacks are not called after it
 * returns (thread mode). Idempotent: 0, or SG_ERR_STATE from the node
 * thread itself (thread mode) or another thread (loop mode). A node told
 * to leave through its control socket stops the same way by itself. */
SG_API int sg_app_stop(sg_app *app);

/* Stops the app if needed (as sg_app_stop), frees everything, removes the
 * private temporary directory and wipes the identity. Events already
 * taken with sg_app_poll stay valid. NULL is a no-op. Not from a callback.
 * Loop mode: run the loop until it has no more work afterwards (as after
 * sg_node_del), before closing it. */
SG_API void sg_app_del(sg_app *app);

#endif
