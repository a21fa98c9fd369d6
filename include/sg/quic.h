/*
 * A QUIC connection (ngtcp2, RFC 9000) secured by our post-quantum
 * handshake (include/sg/handshake.h), as a pure state machine: datagrams
 * and time in, datagrams and events out. No sockets: the endpoint in
 * src/io (or a test, or the simulator) moves the bytes.
 *
 * Messages are carried one per unidirectional stream (the stream's FIN
 * ends the message), so a lost packet delays only its own message; a
 * message longer than the configured maximum is refused at send time with
 * SG_ERR_RANGE and, when received, closes the stream with an error. The
 * send queue is bounded (SG_ERR_FULL is back-pressure for the caller).
 */
#ifndef SG_QUIC_H
#define SG_QUIC_H

#include <sys/socket.h>

#include "common.h"
#include "env.h"
#include "identity.h"

typedef struct sg_quic_conn sg_quic_conn;

typedef struct sg_quic_config {
	size_t size;              /* sizeof(sg_quic_config) */
	size_t max_message;       /* bytes, default 1 MiB */
	size_t max_send_queue;    /* messages queued, default 1024 */
	size_t max_recv_streams;  /* concurrent incoming messages, 128 */
	uint32_t idle_timeout_ms; /* default 30000 */
	uint32_t handshake_timeout_ms; /* default 10000 */
} sg_quic_config;

SG_API void sg_quic_config_default(sg_quic_config *cfg);

typedef enum sg_quic_event_type {
	SG_QUIC_CONNECTED = 1, /* handshake done; peer authenticated */
	SG_QUIC_MESSAGE = 2,   /* data valid until the next poll_event */
	SG_QUIC_CLOSED = 3,    /* error: 0 for a clean close */
} sg_quic_event_type;

typedef struct sg_quic_event {
	sg_quic_event_type type;
	sg_peer_id peer;
	const uint8_t *data;
	size_t len;
	int error;
} sg_quic_event;

/* A client connection to remote. expected: the PeerId the server must
 * have, or NULL to accept any (logged by the caller as unpinned). The
 * identity and env must outlive the connection. NULL on failure (*err). */
SG_API sg_quic_conn *sg_quic_client_new(const sg_env *env,
					const sg_quic_config *cfg,
					const sg_identity *ident,
					const sg_peer_id *expected,
					const struct sockaddr *local,
					socklen_t local_len,
					const struct sockaddr *remote,
					socklen_t remote_len, uint64_t now_ms,
					int *err);

/* A server connection from a client's first datagram (which it then
 * reads). NULL and *err: SG_ERR_MALFORMED for a datagram that does not
 * start a connection, SG_ERR_NOMEM, SG_ERR_CRYPTO. */
SG_API sg_quic_conn *sg_quic_server_new(const sg_env *env,
					const sg_quic_config *cfg,
					const sg_identity *ident,
					const uint8_t *pkt, size_t len,
					const struct sockaddr *local,
					socklen_t local_len,
					const struct sockaddr *remote,
					socklen_t remote_len, uint64_t now_ms,
					int *err);
SG_API void sg_quic_conn_del(sg_quic_conn *c);

/* A datagram for this connection. Errors close the connection (reported
 * as a CLOSED event); corrupted or unauthenticated datagrams are dropped
 * without error, as QUIC requires. */
SG_API int sg_quic_read(sg_quic_conn *c, const uint8_t *pkt, size_t len,
			uint64_t now_ms);
/* The next datagram to send into out (at least 1452 bytes): its length,
 * 0 when there is nothing to send now. */
SG_API long sg_quic_write(sg_quic_conn *c, uint8_t *out, size_t cap,
			  uint64_t now_ms);
/* Queues a message. SG_ERR_RANGE (too long), SG_ERR_FULL (queue full),
 * SG_ERR_STATE (not connected or closing), SG_ERR_NOMEM. */
SG_API int sg_quic_send(sg_quic_conn *c, const uint8_t *msg, size_t len);
SG_API int sg_quic_poll_event(sg_quic_conn *c, sg_quic_event *ev);
/* When tick() must run next (UINT64_MAX: never). */
SG_API uint64_t sg_quic_next_deadline(const sg_quic_conn *c);
SG_API void sg_quic_tick(sg_quic_conn *c, uint64_t now_ms);
/* Starts a clean close; the CONNECTION_CLOSE goes out with write(). */
SG_API void sg_quic_close(sg_quic_conn *c);
SG_API int sg_quic_is_closed(const sg_quic_conn *c);

/* Simultaneous open: both sides dialled each other, so each side's client
 * Initial reaches the other's client connection. For a datagram from the
 * address a client connection c dials, before c has connected:
 * SG_QUIC_CROSS_NONE   not the peer's own client Initial: sg_quic_read it;
 * SG_QUIC_CROSS_KEEP   the peer's client Initial, and c wins the tie: drop
 *                      the datagram (the peer yields when it sees ours);
 * SG_QUIC_CROSS_YIELD  the peer's client Initial, and the peer's wins:
 *                      delete c without a word (sg_quic_conn_del) and
 *                      accept the datagram with sg_quic_server_new.
 * The tie is broken by the two client-chosen Destination Connection IDs
 * (the lower one's client survives), which both sides see alike. Always
 * NONE for a server connection or once c is connected or closing. */
typedef enum sg_quic_cross {
	SG_QUIC_CROSS_NONE = 0,
	SG_QUIC_CROSS_KEEP = 1,
	SG_QUIC_CROSS_YIELD = 2,
} sg_quic_cross;
SG_API sg_quic_cross sg_quic_crossed_initial(const sg_quic_conn *c,
					     const uint8_t *pkt, size_t len);

#endif
