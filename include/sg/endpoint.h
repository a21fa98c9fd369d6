/*
 * A UDP endpoint on a libuv loop that serves many QUIC connections
 * (include/sg/quic.h): it dials, accepts, routes datagrams to their
 * connection by the peer's address, runs the connections' timers, and
 * reports connections, messages and closes through one callback. This is
 * the only place where saorsa-gossip's transport touches a socket.
 *
 * One connection per remote address, and per peer: when a peer connects
 * again (a restart, a new address), the older connection is closed; connection migration is not
 * supported yet. Runs on the caller's loop; not thread-safe (use it from
 * the loop's thread).
 */
#ifndef SG_ENDPOINT_H
#define SG_ENDPOINT_H

#include <sys/socket.h>
#include <uv.h>

#include "common.h"
#include "env.h"
#include "identity.h"
#include "quic.h"
#include "relay.h"

typedef struct sg_endpoint sg_endpoint;

typedef struct sg_endpoint_config {
	size_t size; /* sizeof(sg_endpoint_config) */
	sg_quic_config quic;
	size_t max_conns; /* connections at once, default 256 */
	/* Handshake DoS limits (PROTOCOL.md, H.6). A "pending handshake" is
	 * a server connection that has not completed its handshake. An
	 * Initial from a new address is dropped (hellos_dropped_limit) when
	 * max_pending_handshakes (default 64) are pending, or
	 * max_pending_per_addr (default 4) from its IP address (any port);
	 * else, when retry_threshold (default 16; 0: always) or more are
	 * pending, it is answered with a Retry unless it carries a valid
	 * token, which proves the client receives at its address. Tokens are
	 * valid for retry_token_lifetime_ms (default 10000). */
	size_t max_pending_handshakes;
	size_t max_pending_per_addr;
	size_t retry_threshold;
	uint32_t retry_token_lifetime_ms;
	/* Relaying for others (docs/PROTOCOL.md, "Relay"): 1 forwards the
	 * RELAY frames of authenticated peers to the peers they name, under
	 * relay_limits; 0 (default) refuses them (relay_refused_role).
	 * Relayed paths of our own work either way. */
	int relay;
	sg_relay_limits relay_limits;
	/* Optional: sees every packet this endpoint relays, after the checks
	 * (tracing; tests show it is ciphertext). */
	void (*relay_tap)(void *ud, const sg_peer_id *from,
			  const sg_peer_id *to, const uint8_t *pkt, size_t len);
	void *relay_tap_ud;
	/* Optional test hook: a datagram to `to` is dropped (never sent, not
	 * counted as an error) when it returns nonzero. Simulates a path
	 * that does not work. */
	int (*tx_filter)(void *ud, const struct sockaddr *to);
	void *tx_filter_ud;
} sg_endpoint_config;

SG_API void sg_endpoint_config_default(sg_endpoint_config *cfg);

/* ev->type: SG_QUIC_CONNECTED (ev->peer authenticated), SG_QUIC_MESSAGE
 * (ev->data valid during the call), SG_QUIC_CLOSED (ev->error; 0 clean).
 * remote: the connection's address. Every connection reports CLOSED
 * exactly once, also one that never completed its handshake: then there
 * was no CONNECTED before it, ev->peer is all zero, and remote (the
 * address given to sg_endpoint_dial, for a dial) tells which dial or
 * incoming attempt failed; messages still waiting for it were dropped
 * (counted in queued_dropped). The callback may call sg_endpoint_send,
 * _dial, _close_peer and _del; events they cause are reported after it
 * returns. */
typedef void (*sg_endpoint_cb)(void *ud, sg_endpoint *ep,
			       const struct sockaddr *remote,
			       const sg_quic_event *ev);

/* Binds a UDP socket to bind_addr (port 0: any). env, ident and the loop
 * must outlive the endpoint. NULL on failure, with *err: SG_ERR_IO (bind),
 * SG_ERR_NOMEM, SG_ERR_INVAL. */
SG_API sg_endpoint *sg_endpoint_new(uv_loop_t *loop, const sg_env *env,
				    const sg_endpoint_config *cfg,
				    const sg_identity *ident,
				    const struct sockaddr *bind_addr,
				    sg_endpoint_cb cb, void *ud, int *err);
/* Closes every connection, the socket and the timer; the memory goes when
 * the loop has processed the closes (run it once more). */
SG_API void sg_endpoint_del(sg_endpoint *ep);

SG_API int sg_endpoint_local_addr(const sg_endpoint *ep,
				  struct sockaddr_storage *addr);

/* Starts a connection to remote. expected: the PeerId it must have, or
 * NULL. SG_ERR_EXISTS: a connection to that address already exists, in
 * any state (connected, our own dial under way, or the peer's dial to us
 * being accepted); the caller simply waits for SG_QUIC_CONNECTED from that
 * address (or CLOSED if it fails). If that connection is not up yet and
 * names no PeerId, expected is remembered for it, so messages to expected
 * can be queued (sg_endpoint_send). Also SG_ERR_FULL (max_conns),
 * SG_ERR_NOMEM, SG_ERR_STATE (endpoint closing).
 *
 * Simultaneous dial: if both sides dial each other at once, each side's
 * client Initial meets the other's unfinished dial. The endpoints agree
 * (sg_quic_crossed_initial) on one survivor: one side keeps its client
 * connection and ignores the peer's Initial, the other silently replaces
 * its client by a server connection for the peer's dial, in the same
 * slot. Either way each side reports one CONNECTED for the other, and
 * messages queued for the peer move with the slot. */
SG_API int sg_endpoint_dial(sg_endpoint *ep, const struct sockaddr *remote,
			    const sg_peer_id *expected);
/* Starts a connection to peer through the relay via (docs/PROTOCOL.md,
 * "Relay"): its datagrams travel in RELAY frames on our connection to via,
 * and the handshake authenticates peer end to end. *remote receives the
 * path's virtual address (100::/64, never on the wire), under which the
 * connection's events are reported. SG_ERR_NOTFOUND: no open connection
 * to via. SG_ERR_EXISTS: that path exists already (*remote set). Also
 * SG_ERR_INVAL (via or peer is us, or via == peer), SG_ERR_FULL,
 * SG_ERR_NOMEM, SG_ERR_STATE. Messages to peer wait as for
 * sg_endpoint_dial. */
SG_API int sg_endpoint_dial_relayed(sg_endpoint *ep, const sg_peer_id *via,
				    const sg_peer_id *peer,
				    struct sockaddr_storage *remote);
/* 1 if remote is the virtual address of a relayed path of ours (via and
 * peer, if not NULL, receive its relay and far peer), else 0. */
SG_API int sg_endpoint_relayed_path(const sg_endpoint *ep,
				    const struct sockaddr *remote,
				    sg_peer_id *via, sg_peer_id *peer);
/* 1 if sa lies in the relayed paths' virtual prefix 100::/64. */
SG_API int sg_endpoint_addr_is_virtual(const struct sockaddr *sa);

/* Sends a message to peer. Connected: queued on its connection (the
 * errors of sg_quic_send: SG_ERR_RANGE, SG_ERR_FULL, SG_ERR_NOMEM, ...).
 * Not yet connected but dialled with expected == peer (or named by a dial
 * that returned SG_ERR_EXISTS): held by the endpoint, at most
 * quic.max_send_queue messages per connection (SG_ERR_FULL beyond,
 * SG_ERR_RANGE if too long, SG_ERR_NOMEM), and handed to the connection in
 * order when it reports CONNECTED with that PeerId; dropped and counted
 * (queued_dropped) if it closes first or another PeerId answers.
 * SG_ERR_NOTFOUND: no connection to peer and no dial naming it. */
SG_API int sg_endpoint_send(sg_endpoint *ep, const sg_peer_id *peer,
			    const uint8_t *msg, size_t len);
/* 1 if a connection to peer has completed its handshake and is open. */
SG_API int sg_endpoint_is_connected(const sg_endpoint *ep,
				    const sg_peer_id *peer);
/* Starts a clean close of the connection to peer. */
SG_API int sg_endpoint_close_peer(sg_endpoint *ep, const sg_peer_id *peer);

typedef struct sg_endpoint_stats {
	uint64_t datagrams_in, datagrams_out, dropped_in, send_errors;
	/* The longest datagram sent: how far Path MTU discovery went (a
	 * probe the path refused, EMSGSIZE, counts in send_errors). */
	size_t largest_out;
	size_t conns;
	/* Simultaneous dials: the peer's Initial ignored because our dial
	 * won, or our dial given up for the peer's. */
	uint64_t dials_kept, dials_yielded;
	uint64_t queued_dropped; /* messages held for a dial that failed */
	/* Handshake DoS limits: server connections admitted (each may cost
	 * one signature), of them those whose ClientHello was whole and got
	 * the server's flight (signed: sg_quic_handshake_started), Retries
	 * sent, Initials dropped by the caps (or because max_conns
	 * connections exist), Initials whose token was forged, expired or
	 * for another address (dropped). */
	uint64_t handshakes_started, handshakes_signed;
	uint64_t retries_sent, hellos_dropped_limit, tokens_invalid;
	/* Relaying for others: frames forwarded and their packet bytes;
	 * refused because we are no relay, malformed (also RELAYED frames
	 * sent to us), over the rate limits, for a peer we have no
	 * connection to, dropped because its send queue was full. */
	uint64_t relay_forwarded, relay_bytes, relay_refused_role;
	uint64_t relay_malformed, relay_refused_rate, relay_no_route;
	uint64_t relay_dropped;
	/* Our relayed paths: datagrams sent and received through relays,
	 * datagrams lost because the relay's connection was gone or full,
	 * handshakes whose authenticated peer was not the one the relay
	 * named (closed). */
	uint64_t relayed_out, relayed_in, relayed_dropped, relay_spoofed;
	size_t relayed_conns;
} sg_endpoint_stats;
SG_API void sg_endpoint_stats_get(const sg_endpoint *ep,
				  sg_endpoint_stats *st);

#endif
