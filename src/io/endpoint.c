/*
 * The UDP endpoint: a libuv UDP handle and timer driving sg_quic_conn
 * state machines. Datagrams are routed by their source address; a datagram
 * from an unknown address that starts a QUIC connection (an Initial packet,
 * which sg_quic_server_new checks) creates a server connection, anything
 * else from an unknown address is dropped and counted. After every input
 * the touched connections are flushed (sg_quic_write until empty) and the
 * single timer is re-armed for the earliest connection deadline.
 */
#define _POSIX_C_SOURCE 200809L
#include "sg/endpoint.h"
#include "sg/err.h"

#include <string.h>

typedef struct ep_conn {
	sg_quic_conn *qc;
	struct sockaddr_storage remote;
	socklen_t remote_len;
	sg_peer_id peer;
	int connected;
} ep_conn;

struct sg_endpoint {
	sg_env env;
	sg_endpoint_config cfg;
	const sg_identity *ident;
	uv_loop_t *loop;
	uv_udp_t udp;
	uv_timer_t timer;
	int closing, handles_open;
	struct sockaddr_storage local;
	socklen_t local_len;
	ep_conn *conns;
	sg_endpoint_cb cb;
	void *ud;
	uint8_t rxbuf[65536];
	sg_endpoint_stats st;
};

void sg_endpoint_config_default(sg_endpoint_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->size = sizeof(*cfg);
	sg_quic_config_default(&cfg->quic);
	cfg->max_conns = 256;
}

static socklen_t addr_len(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6 ? (socklen_t)sizeof(struct sockaddr_in6)
					 : (socklen_t)sizeof(struct sockaddr_in);
}

static int same_addr(const struct sockaddr *a, const struct sockaddr_storage *b)
{
	if (a->sa_family != b->ss_family)
		return 0;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a;
		const struct sockaddr_in *y = (const void *)b;
		return x->sin_port == y->sin_port &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a;
		const struct sockaddr_in6 *y = (const void *)b;
		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
	}
	return 0;
}

static uint64_t now_ms(const sg_endpoint *ep)
{
	return sg_now_ms(&ep->env);
}

static ep_conn *find_addr(sg_endpoint *ep, const struct sockaddr *sa)
{
	size_t i;
	for (i = 0; i < ep->cfg.max_conns; i++)
		if (ep->conns[i].qc != NULL && same_addr(sa, &ep->conns[i].remote))
			return &ep->conns[i];
	return NULL;
}

static ep_conn *find_peer(sg_endpoint *ep, const sg_peer_id *peer)
{
	size_t i;
	for (i = 0; i < ep->cfg.max_conns; i++)
		if (ep->conns[i].qc != NULL && ep->conns[i].connected &&
		    sg_peer_id_equal(&ep->conns[i].peer, peer))
			return &ep->conns[i];
	return NULL;
}

static ep_conn *free_slot(sg_endpoint *ep)
{
	size_t i;
	for (i = 0; i < ep->cfg.max_conns; i++)
		if (ep->conns[i].qc == NULL)
			return &ep->conns[i];
	return NULL;
}

/* Sends what the connection has to send, reports its events, and frees
 * it once closed. */
static void service(sg_endpoint *ep, ep_conn *ec)
{
	uint8_t out[1500];
	sg_quic_event ev;
	long n;

	while ((n = sg_quic_write(ec->qc, out, sizeof(out), now_ms(ep))) > 0) {
		uv_buf_t b = uv_buf_init((char *)out, (unsigned)n);
		if (uv_udp_try_send(&ep->udp, &b, 1,
				    (const struct sockaddr *)&ec->remote) < 0)
			ep->st.send_errors++; /* QUIC retransmits */
		else
			ep->st.datagrams_out++;
	}
	while (sg_quic_poll_event(ec->qc, &ev)) {
		if (ev.type == SG_QUIC_CONNECTED) {
			ec->connected = 1;
			ec->peer = ev.peer;
		}
		if (ep->cb != NULL)
			ep->cb(ep->ud, ep, (const struct sockaddr *)&ec->remote,
			       &ev);
	}
	if (sg_quic_is_closed(ec->qc)) {
		sg_quic_conn_del(ec->qc);
		memset(ec, 0, sizeof(*ec));
	}
}

static void on_timer(uv_timer_t *t);

/* One timer for every connection: the earliest deadline. */
static void rearm(sg_endpoint *ep)
{
	uint64_t d = UINT64_MAX, now = now_ms(ep);
	size_t i;

	if (ep->closing)
		return;
	for (i = 0; i < ep->cfg.max_conns; i++)
		if (ep->conns[i].qc != NULL) {
			uint64_t t = sg_quic_next_deadline(ep->conns[i].qc);
			if (t < d)
				d = t;
		}
	if (d == UINT64_MAX) {
		uv_timer_stop(&ep->timer);
		return;
	}
	uv_timer_start(&ep->timer, on_timer, d > now ? d - now : 0, 0);
}

static void on_timer(uv_timer_t *t)
{
	sg_endpoint *ep = t->data;
	uint64_t now = now_ms(ep);
	size_t i;

	for (i = 0; i < ep->cfg.max_conns; i++) {
		ep_conn *ec = &ep->conns[i];
		if (ec->qc == NULL)
			continue;
		if (sg_quic_next_deadline(ec->qc) <= now)
			sg_quic_tick(ec->qc, now);
		service(ep, ec);
	}
	rearm(ep);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	sg_endpoint *ep = h->data;
	(void)suggested;
	*buf = uv_buf_init((char *)ep->rxbuf, sizeof(ep->rxbuf));
}

static void on_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf,
		    const struct sockaddr *addr, unsigned flags)
{
	sg_endpoint *ep = u->data;
	ep_conn *ec;
	(void)flags;

	if (nread <= 0 || addr == NULL || ep->closing)
		return;
	ep->st.datagrams_in++;
	ec = find_addr(ep, addr);
	if (ec != NULL) {
		sg_quic_read(ec->qc, (const uint8_t *)buf->base, (size_t)nread,
			     now_ms(ep));
	} else {
		int err;
		ec = free_slot(ep);
		if (ec == NULL) {
			ep->st.dropped_in++;
			return;
		}
		ec->qc = sg_quic_server_new(
			&ep->env, &ep->cfg.quic, ep->ident,
			(const uint8_t *)buf->base, (size_t)nread,
			(const struct sockaddr *)&ep->local, ep->local_len, addr,
			addr_len(addr), now_ms(ep), &err);
		if (ec->qc == NULL) {
			ep->st.dropped_in++; /* not a connection's first packet */
			return;
		}
		memcpy(&ec->remote, addr, addr_len(addr));
		ec->remote_len = addr_len(addr);
	}
	service(ep, ec);
	rearm(ep);
}

sg_endpoint *sg_endpoint_new(uv_loop_t *loop, const sg_env *env,
			     const sg_endpoint_config *cfg,
			     const sg_identity *ident,
			     const struct sockaddr *bind_addr, sg_endpoint_cb cb,
			     void *ud, int *err)
{
	sg_endpoint *ep;
	int namelen;

	*err = SG_ERR_INVAL;
	if (cfg->size != sizeof(*cfg) || cfg->max_conns == 0)
		return NULL;
	*err = SG_ERR_NOMEM;
	ep = sg_calloc(env, 1, sizeof(*ep));
	if (ep == NULL)
		return NULL;
	ep->conns = sg_calloc(env, cfg->max_conns, sizeof(ep_conn));
	if (ep->conns == NULL) {
		sg_free(env, ep);
		return NULL;
	}
	ep->env = *env;
	ep->cfg = *cfg;
	ep->ident = ident;
	ep->loop = loop;
	ep->cb = cb;
	ep->ud = ud;
	uv_udp_init(loop, &ep->udp);
	uv_timer_init(loop, &ep->timer);
	ep->udp.data = ep;
	ep->timer.data = ep;
	ep->handles_open = 2;
	*err = SG_ERR_IO;
	if (uv_udp_bind(&ep->udp, bind_addr, 0) != 0)
		goto fail;
	namelen = (int)sizeof(ep->local);
	if (uv_udp_getsockname(&ep->udp, (struct sockaddr *)&ep->local,
			       &namelen) != 0)
		goto fail;
	ep->local_len = (socklen_t)namelen;
	if (uv_udp_recv_start(&ep->udp, on_alloc, on_recv) != 0)
		goto fail;
	*err = 0;
	return ep;
fail:
	sg_endpoint_del(ep);
	return NULL;
}

static void on_handle_closed(uv_handle_t *h)
{
	sg_endpoint *ep = h->data;
	if (--ep->handles_open == 0) {
		sg_env env = ep->env;
		sg_free(&env, ep->conns);
		sg_free(&env, ep);
	}
}

void sg_endpoint_del(sg_endpoint *ep)
{
	size_t i;

	if (ep == NULL || ep->closing)
		return;
	ep->closing = 1;
	for (i = 0; i < ep->cfg.max_conns; i++) {
		ep_conn *ec = &ep->conns[i];
		if (ec->qc == NULL)
			continue;
		/* Tell the peer (best effort), then free. */
		sg_quic_close(ec->qc);
		service(ep, ec);
		if (ec->qc != NULL) {
			sg_quic_conn_del(ec->qc);
			ec->qc = NULL;
		}
	}
	uv_udp_recv_stop(&ep->udp);
	uv_timer_stop(&ep->timer);
	uv_close((uv_handle_t *)&ep->udp, on_handle_closed);
	uv_close((uv_handle_t *)&ep->timer, on_handle_closed);
}

int sg_endpoint_local_addr(const sg_endpoint *ep, struct sockaddr_storage *addr)
{
	memcpy(addr, &ep->local, sizeof(*addr));
	return 0;
}

int sg_endpoint_dial(sg_endpoint *ep, const struct sockaddr *remote,
		     const sg_peer_id *expected)
{
	ep_conn *ec;
	int err;

	if (ep->closing)
		return SG_ERR_STATE;
	if (find_addr(ep, remote) != NULL)
		return SG_ERR_EXISTS;
	ec = free_slot(ep);
	if (ec == NULL)
		return SG_ERR_FULL;
	ec->qc = sg_quic_client_new(&ep->env, &ep->cfg.quic, ep->ident,
				    expected, (const struct sockaddr *)&ep->local,
				    ep->local_len, remote, addr_len(remote),
				    now_ms(ep), &err);
	if (ec->qc == NULL)
		return err != 0 ? err : SG_ERR_NOMEM;
	memcpy(&ec->remote, remote, addr_len(remote));
	ec->remote_len = addr_len(remote);
	service(ep, ec);
	rearm(ep);
	return 0;
}

int sg_endpoint_send(sg_endpoint *ep, const sg_peer_id *peer,
		     const uint8_t *msg, size_t len)
{
	ep_conn *ec = find_peer(ep, peer);
	int rc;

	if (ec == NULL)
		return SG_ERR_NOTFOUND;
	rc = sg_quic_send(ec->qc, msg, len);
	if (rc == 0) {
		service(ep, ec);
		rearm(ep);
	}
	return rc;
}

int sg_endpoint_close_peer(sg_endpoint *ep, const sg_peer_id *peer)
{
	ep_conn *ec = find_peer(ep, peer);

	if (ec == NULL)
		return SG_ERR_NOTFOUND;
	sg_quic_close(ec->qc);
	service(ep, ec);
	rearm(ep);
	return 0;
}

void sg_endpoint_stats_get(const sg_endpoint *ep, sg_endpoint_stats *st)
{
	size_t i;

	*st = ep->st;
	st->conns = 0;
	for (i = 0; i < ep->cfg.max_conns; i++)
		st->conns += ep->conns[i].qc != NULL;
}
