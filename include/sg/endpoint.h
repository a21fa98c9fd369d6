/*
 * A UDP endpoint on a libuv loop that serves many QUIC connections
 * (include/sg/quic.h): it dials, accepts, routes datagrams to their
 * connection by the peer's address, runs the connections' timers, and
 * reports connections, messages and closes through one callback. This is
 * the only place where saorsa-gossip's transport touches a socket.
 *
 * One connection per remote address; connection migration is not
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

typedef struct sg_endpoint sg_endpoint;

typedef struct sg_endpoint_config {
	size_t size; /* sizeof(sg_endpoint_config) */
	sg_quic_config quic;
	size_t max_conns; /* connections at once, default 256 */
} sg_endpoint_config;

SG_API void sg_endpoint_config_default(sg_endpoint_config *cfg);

/* ev->type: SG_QUIC_CONNECTED (ev->peer authenticated), SG_QUIC_MESSAGE
 * (ev->data valid during the call), SG_QUIC_CLOSED (ev->error; 0 clean).
 * remote: the connection's address. */
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
 * NULL. SG_ERR_EXISTS (already connected to that address), SG_ERR_FULL,
 * SG_ERR_NOMEM. */
SG_API int sg_endpoint_dial(sg_endpoint *ep, const struct sockaddr *remote,
			    const sg_peer_id *expected);
/* Queues a message to the connected peer. SG_ERR_NOTFOUND (no connection
 * to it), and the errors of sg_quic_send. */
SG_API int sg_endpoint_send(sg_endpoint *ep, const sg_peer_id *peer,
			    const uint8_t *msg, size_t len);
/* Starts a clean close of the connection to peer. */
SG_API int sg_endpoint_close_peer(sg_endpoint *ep, const sg_peer_id *peer);

typedef struct sg_endpoint_stats {
	uint64_t datagrams_in, datagrams_out, dropped_in, send_errors;
	size_t conns;
} sg_endpoint_stats;
SG_API void sg_endpoint_stats_get(const sg_endpoint *ep,
				  sg_endpoint_stats *st);

#endif
