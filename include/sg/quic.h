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
	/* Keep-alive: after this long without a packet either way, send a
	 * PING, which the peer acknowledges, so neither side's idle timeout
	 * expires while both are up (a connection of the overlay may be quiet
	 * for long). Default 10000; 0: off. It has an effect only below the
	 * idle timeout (the smaller of ours and the peer's); one side with
	 * it keeps the connection open for both. */
	uint32_t keep_alive_ms;
	/* The largest UDP payload this side sends and accepts (its
	 * max_udp_payload_size transport parameter), between
	 * SG_QUIC_MIN_UDP_PAYLOAD and SG_QUIC_MAX_UDP_PAYLOAD; default
	 * SG_QUIC_DEFAULT_UDP_PAYLOAD. Packets start at 1,200 bytes and grow
	 * only as far as Path MTU probes (RFC 9000 section 14.3, RFC 8899)
	 * get through: 1,452 on an Ethernet path, more on loopback or jumbo
	 * frames. The datagrams must not be fragmented (the endpoint sets
	 * the socket's don't-fragment mode and caps this by its receive
	 * buffer), or a probe could pass in fragments. sg_quic_write only
	 * probes into a buffer this long. */
	size_t max_udp_payload;
} sg_quic_config;

#define SG_QUIC_MIN_UDP_PAYLOAD 1200
#define SG_QUIC_DEFAULT_UDP_PAYLOAD SG_QUIC_MAX_UDP_PAYLOAD
#define SG_QUIC_MAX_UDP_PAYLOAD 65487 /* 65,535 less IPv6 + UDP headers */

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

/* sg_quic_server_new for an Initial that carried a valid Retry token
 * (sg_quic_retry_token_check): odcid is the client's original DCID out of
 * the token. The connection tells the client both connection ids (RFC
 * 9000 section 7.3) and treats its address as validated (no
 * anti-amplification limit). Errors as sg_quic_server_new, and
 * SG_ERR_INVAL (odcid shorter than 8 bytes). */
SG_API sg_quic_conn *sg_quic_server_new_validated(
	const sg_env *env, const sg_quic_config *cfg, const sg_identity *ident,
	const uint8_t *pkt, size_t len, const uint8_t *odcid, size_t odcid_len,
	const struct sockaddr *local, socklen_t local_len,
	const struct sockaddr *remote, socklen_t remote_len, uint64_t now_ms,
	int *err);

/* A datagram for this connection. Errors close the connection (reported
 * as a CLOSED event); corrupted or unauthenticated datagrams are dropped
 * without error, as QUIC requires. */
SG_API int sg_quic_read(sg_quic_conn *c, const uint8_t *pkt, size_t len,
			uint64_t now_ms);
/* The next datagram to send into out (at least 1452 bytes; Path MTU
 * probes larger than cap are not sent): its length, 0 when there is
 * nothing to send now. A datagram longer than sg_quic_path_max_payload()
 * is a Path MTU probe: send it alone (not in a GSO run, which would fail
 * as a whole if the probe is too large for the path). */
SG_API long sg_quic_write(sg_quic_conn *c, uint8_t *out, size_t cap,
			  uint64_t now_ms);
/* Queues a message. Messages leave in the order they were queued, each
 * written whole before the next begins (a lost packet can still make a
 * later one arrive first). SG_ERR_RANGE (too long), SG_ERR_FULL (queue
 * full), SG_ERR_STATE (not connected or closing), SG_ERR_NOMEM. */
SG_API int sg_quic_send(sg_quic_conn *c, const uint8_t *msg, size_t len);
/* The largest datagram the path is known to carry now (1,200 bytes until
 * Path MTU probes succeed); sg_quic_write's datagrams are no longer, but
 * for probes. */
SG_API size_t sg_quic_path_max_payload(const sg_quic_conn *c);
/* Counts the handshake's steps: flights of handshake messages produced,
 * and its completion. If a datagram moved it, there is a flight (or the
 * CONNECTED event) to act on at once; if not, what the datagram asks for
 * is an acknowledgement, which may wait for the end of a read batch. */
SG_API uint64_t sg_quic_handshake_steps(const sg_quic_conn *c);
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

/* Starts a key update (RFC 9001 section 6; secrets stepped as in H.4):
 * the next packets use the next 1-RTT keys, and the peer follows. ngtcp2
 * also updates on its own before a key's AEAD limit. SG_ERR_STATE: not
 * connected, closing, or the previous update is not confirmed yet. */
SG_API int sg_quic_update_keys(sg_quic_conn *c, uint64_t now_ms);
/* How many 1-RTT key generations after the first this side has derived.
 * ngtcp2 derives the next generation ahead of use: once the handshake is
 * confirmed, and again some 3 PTO after each update is confirmed (when it
 * drops the old keys); so after n completed updates this is n + 1. */
SG_API uint64_t sg_quic_key_generations(const sg_quic_conn *c);

/* Server: 1 once the whole ClientHello is in and the handshake has run on
 * it, which is when the server spends its ML-DSA signature (H.5, H.6).
 * Client: 1 once its handshake has started. */
SG_API int sg_quic_handshake_started(const sg_quic_conn *c);
/* Client: 1 if it followed a Retry. */
SG_API int sg_quic_retried(const sg_quic_conn *c);

/* ---- Address validation with Retry (RFC 9000 section 8.1.2) ----------
 * Stateless: the server answers an Initial with a Retry carrying a token
 * and keeps nothing; the token comes back in the client's next Initial
 * and proves the client receives at its address. Tokens are sealed with
 * XChaCha20-Poly1305 under a key only the server knows, bind the client's
 * address (IP and port), its original DCID, the DCID the Retry chose and
 * the time of issue (PROTOCOL.md, H.6). */

#define SG_QUIC_TOKEN_KEY_LEN 32
#define SG_QUIC_RETRY_TOKEN_MAX 70
#ifndef SG_QUIC_MAX_CID_LEN
#define SG_QUIC_MAX_CID_LEN 20 /* RFC 9000 section 17.2; handshake.h too */
#endif

/* The header of a datagram that may start a connection. */
typedef struct sg_quic_initial {
	uint32_t version;
	uint8_t dcid[SG_QUIC_MAX_CID_LEN], scid[SG_QUIC_MAX_CID_LEN];
	size_t dcid_len, scid_len;
	const uint8_t *token; /* a view into the datagram; NULL if none */
	size_t token_len;
} sg_quic_initial;

/* Decodes pkt if it is an acceptable first packet of a connection (an
 * Initial packet, in a datagram of at least 1,200 bytes, with a DCID of 8
 * to 20 bytes); SG_ERR_MALFORMED otherwise. */
SG_API int sg_quic_initial_decode(sg_quic_initial *ini, const uint8_t *pkt,
				  size_t len);

/* Writes a Retry for ini (from remote) into out, with a fresh connection
 * id and a token sealed under key with the time now_ms. Returns its
 * length; SG_ERR_BUFSIZE, SG_ERR_INVAL (CIDs, address family),
 * SG_ERR_CRYPTO (no randomness). The Retry is smaller than the Initial
 * that caused it. */
SG_API long sg_quic_retry_write(uint8_t *out, size_t cap, const sg_env *env,
				const uint8_t key[SG_QUIC_TOKEN_KEY_LEN],
				const sg_quic_initial *ini,
				const struct sockaddr *remote, uint64_t now_ms);

/* Checks the token of ini (from remote) and returns the client's original
 * DCID in odcid/odcid_len. SG_ERR_MALFORMED (not one of our tokens),
 * SG_ERR_VERIFY (forged, or another address or connection id),
 * SG_ERR_EXPIRED (issued more than lifetime_ms before now_ms, or in the
 * future), SG_ERR_INVAL. */
SG_API int sg_quic_retry_token_check(uint8_t odcid[SG_QUIC_MAX_CID_LEN],
				     size_t *odcid_len,
				     const uint8_t key[SG_QUIC_TOKEN_KEY_LEN],
				     const sg_quic_initial *ini,
				     const struct sockaddr *remote,
				     uint64_t now_ms, uint64_t lifetime_ms);

#endif
