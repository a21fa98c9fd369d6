/*
 * The UDP endpoint: a libuv UDP handle and timer driving sg_quic_conn
 * state machines. Datagrams are routed by their source address; a datagram
 * from an unknown address that starts a QUIC connection (an Initial packet,
 * which sg_quic_server_new checks) creates a server connection, anything
 * else from an unknown address is dropped and counted. Datagrams are read
 * in batches (libuv reads until the socket is empty, then says so with an
 * empty read): every datagram goes to its connection at once, and only at
 * the end of the batch are the touched connections flushed (sg_quic_write
 * until empty), so one acknowledgement and one window update answer a
 * whole batch. A connection's datagrams go out together too: up to
 * TX_BATCH of them in one sendmmsg() call where there is one (Linux),
 * runs of equal size as one UDP GSO send (UDP_SEGMENT: the kernel cuts
 * them apart, after its routing and checks ran once for the run), else
 * one uv_udp_try_send() each. Datagrams leave with the don't-fragment bit,
 * so the connections' Path MTU probes find what the path carries (64 KB
 * datagrams on loopback: a 45th of the packets to seal, send and open for
 * bulk data). A datagram that only needs acknowledging is answered at
 * the end of its batch, even during a handshake; one that moves a
 * handshake is answered at once. After every input the single timer is
 * re-armed for the earliest connection deadline.
 *
 * Relayed paths (docs/PROTOCOL.md, "Relay"): a connection whose remote is
 * a virtual address (100::/64) sends its datagrams as RELAY frames on the
 * connection to its relay and receives them from RELAYED frames arriving
 * there; QUIC runs over it unchanged. The endpoint takes relay frames out
 * of the message stream itself (they never reach the callback) and, when
 * configured as a relay, forwards RELAY frames under token buckets.
 */
#if defined(__linux__)
#define _GNU_SOURCE /* sendmmsg */
#define SG_HAVE_SENDMMSG 1
#endif
#define _POSIX_C_SOURCE 200809L
#include "sg/endpoint.h"
#include "sg/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#ifdef SG_HAVE_SENDMMSG
#include <netinet/udp.h>
#endif

/* Socket buffers asked for (the kernel caps them at net.core.rmem_max and
 * wmem_max): room for a burst of a few thousand datagrams, so the other
 * side's congestion window, not the default ~200 KB receive buffer, limits
 * a fast sender. */
#define SOCK_BUF_BYTES (4 << 20)
#define RCVBUF_DGRAMS 32
/* Datagrams go out in batches of at most TX_BATCH, written one after the
 * other into one buffer of TX_BYTES plus room for one more of the largest
 * size: 32 Ethernet-sized datagrams, or one of 64 KB on loopback. */
#define TX_BATCH 32
#define TX_BYTES (TX_BATCH * 1500)
#define TX_MIN_CAP 1452 /* sg_quic_write needs this much room */
/* One UDP GSO send: at most 64 segments (the kernel's UDP_MAX_SEGMENTS)
 * and an IP packet's length in all. */
#define GSO_MAX_SEGS 64
#define GSO_MAX_BYTES 65000

/* A message the caller sent before the connection it waits for was up. */
typedef struct ep_msg {
	uint8_t *buf;
	size_t len;
} ep_msg;

typedef struct ep_conn {
	sg_quic_conn *qc;
	struct sockaddr_storage remote;
	socklen_t remote_len;
	sg_peer_id peer;
	int connected;
	int is_client;
	int signed_seen; /* server: counted in handshakes_signed */
	int dirty; /* serviced inside a callback: events still to report */
	int pending; /* read in the current batch, not flushed yet */
	/* The PeerId the caller dialled here: messages sent to it before the
	 * handshake ends wait in pend (at most max_send_queue of them). */
	int has_expected;
	sg_peer_id expected;
	ep_msg *pend;
	size_t npend;
	/* A relayed path: remote is virtual; datagrams go through via. */
	int relayed;
	sg_peer_id via, far;
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
	size_t hi; /* conns[hi..max_conns) are all free: scans stop at hi */
	sg_endpoint_cb cb;
	void *ud;
	int in_cb; /* callbacks running (they may call back into us) */
	size_t npending; /* datagrams read since the last flush */
	uint8_t token_key[SG_QUIC_TOKEN_KEY_LEN]; /* Retry tokens; random */
	uint8_t rxbuf[65536];
	uint8_t *tx; /* datagrams on their way out, back to back */
	size_t txcap, txwrite; /* tx's size; room given to sg_quic_write */
	size_t txoff[TX_BATCH], txlen[TX_BATCH];
	sg_quic_config quic_relayed; /* cfg.quic for relayed paths */
	int gso; /* UDP_SEGMENT works here (cleared on the first refusal) */
	sg_relay_limiter *rl; /* relaying for others (cfg.relay) */
	uint64_t next_path;   /* numbers the relayed paths' addresses */
	sg_endpoint_stats st;
};

void sg_endpoint_config_default(sg_endpoint_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->size = sizeof(*cfg);
	sg_quic_config_default(&cfg->quic);
	cfg->max_conns = 256;
	cfg->max_pending_handshakes = 64;
	cfg->max_pending_per_addr = 4;
	cfg->retry_threshold = 16;
	cfg->retry_token_lifetime_ms = 10000;
	sg_relay_limits_default(&cfg->relay_limits);
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

/* Same IP address, any port: the unit of the per-address cap. */
static int same_ip(const struct sockaddr *a, const struct sockaddr_storage *b)
{
	if (a->sa_family != b->ss_family)
		return 0;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)a)
			       ->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)(const void *)b)
			       ->sin_addr.s_addr;
	if (a->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)(const void *)a)
					->sin6_addr,
			      &((const struct sockaddr_in6 *)(const void *)b)
					->sin6_addr,
			      16) == 0;
	return 0;
}

static uint64_t now_ms(const sg_endpoint *ep)
{
	return sg_now_ms(&ep->env);
}

static ep_conn *find_addr(sg_endpoint *ep, const struct sockaddr *sa)
{
	size_t i;
	for (i = 0; i < ep->hi; i++)
		if (ep->conns[i].qc != NULL && same_addr(sa, &ep->conns[i].remote))
			return &ep->conns[i];
	return NULL;
}

static ep_conn *find_peer(sg_endpoint *ep, const sg_peer_id *peer)
{
	size_t i;
	for (i = 0; i < ep->hi; i++)
		if (ep->conns[i].qc != NULL && ep->conns[i].connected &&
		    sg_peer_id_equal(&ep->conns[i].peer, peer))
			return &ep->conns[i];
	return NULL;
}

/* An open direct (not relayed) connection to peer: the only kind that
 * may carry relay frames. */
static ep_conn *find_direct(sg_endpoint *ep, const sg_peer_id *peer)
{
	size_t i;
	for (i = 0; i < ep->hi; i++)
		if (ep->conns[i].qc != NULL && ep->conns[i].connected &&
		    !ep->conns[i].relayed &&
		    sg_peer_id_equal(&ep->conns[i].peer, peer))
			return &ep->conns[i];
	return NULL;
}

/* The relayed path through via to far, in any state. */
static ep_conn *find_path(sg_endpoint *ep, const sg_peer_id *via,
			  const sg_peer_id *far)
{
	size_t i;
	for (i = 0; i < ep->hi; i++)
		if (ep->conns[i].qc != NULL && ep->conns[i].relayed &&
		    sg_peer_id_equal(&ep->conns[i].via, via) &&
		    sg_peer_id_equal(&ep->conns[i].far, far))
			return &ep->conns[i];
	return NULL;
}

int sg_endpoint_addr_is_virtual(const struct sockaddr *sa)
{
	static const uint8_t prefix[8] = {0x01, 0, 0, 0, 0, 0, 0, 0};
	const struct sockaddr_in6 *a = (const void *)sa;

	return sa->sa_family == AF_INET6 &&
	       memcmp(a->sin6_addr.s6_addr, prefix, sizeof(prefix)) == 0;
}

/* A fresh virtual address: 100::/64 (RFC 6666, discard only), the low 64
 * bits numbering the path, port 1. */
static void make_virtual(sg_endpoint *ep, struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *a = (void *)ss;
	uint64_t k = ++ep->next_path;
	int i;

	memset(ss, 0, sizeof(*ss));
	a->sin6_family = AF_INET6;
	a->sin6_port = htons(1);
	a->sin6_addr.s6_addr[0] = 0x01;
	for (i = 0; i < 8; i++)
		a->sin6_addr.s6_addr[8 + i] = (uint8_t)(k >> (56 - 8 * i));
}

/* The lowest free slot; the caller puts a connection in it (or leaves it
 * free: hi one too high costs a scan step, nothing else). */
static ep_conn *free_slot(sg_endpoint *ep)
{
	size_t i;
	for (i = 0; i < ep->cfg.max_conns; i++)
		if (ep->conns[i].qc == NULL) {
			if (i >= ep->hi)
				ep->hi = i + 1;
			return &ep->conns[i];
		}
	return NULL;
}

static void drop_pending(sg_endpoint *ep, ep_conn *ec)
{
	size_t i;

	for (i = 0; i < ec->npend; i++)
		sg_free(&ep->env, ec->pend[i].buf);
	ep->st.queued_dropped += ec->npend;
	sg_free(&ep->env, ec->pend);
	ec->pend = NULL;
	ec->npend = 0;
}

/* The handshake is done: the messages that waited for this peer go first,
 * in the order they were sent. The QUIC queue is empty now and as long as
 * ours, so only an allocation failure can refuse one. */
static void flush_pending(sg_endpoint *ep, ep_conn *ec)
{
	size_t i;

	if (ec->npend == 0)
		return;
	if (!ec->has_expected || !sg_peer_id_equal(&ec->peer, &ec->expected)) {
		drop_pending(ep, ec); /* someone else answered at that address */
		return;
	}
	for (i = 0; i < ec->npend; i++)
		if (sg_quic_send(ec->qc, ec->pend[i].buf, ec->pend[i].len) != 0)
			ep->st.queued_dropped++;
	for (i = 0; i < ec->npend; i++)
		sg_free(&ep->env, ec->pend[i].buf);
	sg_free(&ep->env, ec->pend);
	ec->pend = NULL;
	ec->npend = 0;
}

static void free_conn(sg_endpoint *ep, ep_conn *ec)
{
	drop_pending(ep, ec);
	sg_quic_conn_del(ec->qc);
	memset(ec, 0, sizeof(*ec));
	while (ep->hi > 0 && ep->conns[ep->hi - 1].qc == NULL)
		ep->hi--;
}

/* Sends txbuf[0..n) to the connection's peer. A datagram the socket
 * refuses (its buffer full, say) is counted and dropped: QUIC retransmits. */
static void send_batch(sg_endpoint *ep, ep_conn *ec, size_t n)
{
	const struct sockaddr *to = (const struct sockaddr *)&ec->remote;
	size_t i = 0;
#ifdef SG_HAVE_SENDMMSG
	struct mmsghdr msgs[TX_BATCH];
	struct iovec iov[TX_BATCH];
	/* Control data for UDP_SEGMENT, aligned like a cmsghdr. */
	size_t ctl[TX_BATCH][(CMSG_SPACE(sizeof(uint16_t)) + sizeof(size_t) -
			      1) / sizeof(size_t)];
	size_t cnt[TX_BATCH], seg_of[TX_BATCH], nmsg = 0, m;
	size_t pmax = sg_quic_path_max_payload(ec->qc);
	uv_os_fd_t fd;

	if (ep->cfg.tx_filter != NULL &&
	    ep->cfg.tx_filter(ep->cfg.tx_filter_ud, to))
		return;
	if (uv_fileno((const uv_handle_t *)&ep->udp, &fd) != 0)
		goto one_by_one;
again:
	memset(msgs, 0, n * sizeof(msgs[0]));
	for (i = 0, nmsg = 0; i < n; nmsg++) {
		struct msghdr *h = &msgs[nmsg].msg_hdr;
		size_t j = i + 1, seg = ep->txlen[i], tot = seg;

		iov[i].iov_base = ep->tx + ep->txoff[i];
		iov[i].iov_len = ep->txlen[i];
		/* A GSO run: datagrams of one size, the last may be shorter,
		 * within the kernel's limits. A Path MTU probe (longer than
		 * what the path is known to carry) goes alone: if the path
		 * refuses it, it must not take others down with it. */
		while (ep->gso && seg <= pmax && j < n && ep->txlen[j] <= seg &&
		       j - i < GSO_MAX_SEGS &&
		       tot + ep->txlen[j] <= GSO_MAX_BYTES) {
			iov[j].iov_base = ep->tx + ep->txoff[j];
			iov[j].iov_len = ep->txlen[j];
			tot += ep->txlen[j];
			if (ep->txlen[j++] < seg)
				break;
		}
		h->msg_name = &ec->remote;
		h->msg_namelen = addr_len(to);
		h->msg_iov = &iov[i];
		h->msg_iovlen = j - i;
		if (j - i > 1) {
			struct cmsghdr *cm;
			uint16_t seg16 = (uint16_t)seg;
			h->msg_control = ctl[nmsg];
			h->msg_controllen = CMSG_SPACE(sizeof(seg16));
			cm = CMSG_FIRSTHDR(h);
			cm->cmsg_level = SOL_UDP;
			cm->cmsg_type = UDP_SEGMENT;
			cm->cmsg_len = CMSG_LEN(sizeof(seg16));
			memcpy(CMSG_DATA(cm), &seg16, sizeof(seg16));
		}
		cnt[nmsg] = j - i;
		seg_of[nmsg] = seg;
		i = j;
	}
	for (m = 0; m < nmsg;) {
		int r = sendmmsg(fd, msgs + m, (unsigned)(nmsg - m), 0);
		if (r > 0) {
			for (; r > 0; r--, m++) {
				ep->st.datagrams_out += cnt[m];
				if (seg_of[m] > ep->st.largest_out)
					ep->st.largest_out = seg_of[m];
			}
		} else if (r < 0 && errno == EINTR) {
			continue;
		} else if (r < 0 && m == 0 && cnt[0] > 1 &&
			   (errno == EIO || errno == EINVAL ||
			    errno == ENOPROTOOPT || errno == EOPNOTSUPP)) {
			ep->gso = 0; /* no GSO here: send them one by one */
			goto again;
		} else if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			ep->st.send_errors += cnt[m++]; /* this one only */
		} else {
			break; /* the socket buffer is full */
		}
	}
	for (; m < nmsg; m++)
		ep->st.send_errors += cnt[m];
	return;
one_by_one:
#else
	if (ep->cfg.tx_filter != NULL &&
	    ep->cfg.tx_filter(ep->cfg.tx_filter_ud, to))
		return;
#endif
	for (i = 0; i < n; i++) {
		uv_buf_t b = uv_buf_init((char *)ep->tx + ep->txoff[i],
					 (unsigned)ep->txlen[i]);
		if (uv_udp_try_send(&ep->udp, &b, 1, to) < 0) {
			ep->st.send_errors++;
		} else {
			ep->st.datagrams_out++;
			if (ep->txlen[i] > ep->st.largest_out)
				ep->st.largest_out = ep->txlen[i];
		}
	}
}

static void write_out(sg_endpoint *ep, ep_conn *ec);

/* A relayed path's datagrams: each in a RELAY frame on the connection to
 * the relay (which copies it), then that connection sends. A datagram
 * that finds no room is lost like one a full socket refuses: QUIC
 * retransmits. */
static void write_relayed(sg_endpoint *ep, ep_conn *ec)
{
	uint8_t frame[SG_RELAY_FRAME_MAX];
	ep_conn *via = find_direct(ep, &ec->via);
	uint64_t now = now_ms(ep);
	int sent = 0;
	long len, fl;

	while ((len = sg_quic_write(ec->qc, ep->tx, SG_RELAY_PACKET_MAX,
				    now)) > 0) {
		if (via == NULL ||
		    (fl = sg_relay_frame_encode(frame, sizeof(frame),
						SG_RELAY_KIND_RELAY, &ec->far,
						ep->tx, (size_t)len)) < 0 ||
		    sg_quic_send(via->qc, frame, (size_t)fl) != 0) {
			ep->st.relayed_dropped++;
			continue;
		}
		ep->st.relayed_out++;
		sent = 1;
	}
	if (sent)
		write_out(ep, via);
}

static void write_out(sg_endpoint *ep, ep_conn *ec)
{
	uint64_t now = now_ms(ep);
	size_t n = 0, off = 0;
	long len;

	if (ec->relayed) {
		write_relayed(ep, ec);
		return;
	}

	while ((len = sg_quic_write(ec->qc, ep->tx + off, ep->txwrite, now)) >
	       0) {
		ep->txoff[n] = off;
		ep->txlen[n++] = (size_t)len;
		off += (size_t)len;
		if (n == TX_BATCH || ep->txcap - off < ep->txwrite) {
			send_batch(ep, ec, n);
			n = 0;
			off = 0;
		}
	}
	if (n > 0)
		send_batch(ep, ec, n);
}

/* Sends what the connection has to send, reports its events, and frees
 * it once closed. Called from inside a callback (which may send, dial or
 * close), it only sends: reporting events there would free the data the
 * running callback is looking at, so the conn is marked and the outermost
 * call (or the timer, at once) reports them. */
static void supersede(sg_endpoint *ep, ep_conn *ec);
static int relay_intercept(sg_endpoint *ep, ep_conn *ec,
			   const sg_quic_event *ev);

/* Another open direct connection to ec's peer (a newer one superseding
 * it), which the paths through that peer may go on using. */
static int other_direct(sg_endpoint *ep, const ep_conn *ec)
{
	size_t i;
	for (i = 0; i < ep->hi; i++) {
		const ep_conn *o = &ep->conns[i];
		if (o != ec && o->qc != NULL && o->connected && !o->relayed &&
		    !sg_quic_is_closed(o->qc) &&
		    sg_peer_id_equal(&o->peer, &ec->peer))
			return 1;
	}
	return 0;
}

/* The relay's connection is gone: so are the paths through it. */
static void close_paths_via(sg_endpoint *ep, const sg_peer_id *via)
{
	size_t i;

	for (i = 0; i < ep->hi; i++) {
		ep_conn *o = &ep->conns[i];
		if (o->qc == NULL || !o->relayed ||
		    !sg_peer_id_equal(&o->via, via))
			continue;
		sg_quic_close(o->qc);
		o->dirty = 1;
	}
}

static void service(sg_endpoint *ep, ep_conn *ec)
{
	sg_quic_event ev;
	int polled = 0;

	write_out(ep, ec);
	if (!ec->is_client && !ec->signed_seen &&
	    sg_quic_handshake_started(ec->qc)) {
		ec->signed_seen = 1;
		ep->st.handshakes_signed++;
	}
	if (ep->in_cb > 0) {
		ec->dirty = 1;
		return;
	}
	ec->dirty = 0;
	while (sg_quic_poll_event(ec->qc, &ev)) {
		polled = 1;
		if (ev.type == SG_QUIC_MESSAGE && relay_intercept(ep, ec, &ev))
			continue;
		if (ev.type == SG_QUIC_CONNECTED && ec->relayed &&
		    !sg_peer_id_equal(&ev.peer, &ec->far)) {
			/* The relay named another sender than the one the
			 * handshake authenticated. */
			ep->st.relay_spoofed++;
			sg_quic_close(ec->qc);
			continue;
		}
		if (ev.type == SG_QUIC_CONNECTED) {
			ec->connected = 1;
			ec->peer = ev.peer;
			supersede(ep, ec);
			flush_pending(ep, ec);
		} else if (ev.type == SG_QUIC_CLOSED) {
			drop_pending(ep, ec);
			if (ec->connected && !ec->relayed &&
			    !other_direct(ep, ec))
				close_paths_via(ep, &ec->peer);
			/* From here on the peer is not reachable through this
			 * connection: the callback (and sends it makes) must
			 * see that, or a closed neighbour is never reported. */
			ec->connected = 0;
		}
		if (ep->cb != NULL) {
			ep->in_cb++;
			ep->cb(ep->ud, ep, (const struct sockaddr *)&ec->remote,
			       &ev);
			ep->in_cb--;
			if (ec->qc == NULL) /* the callback deleted the endpoint */
				return;
		}
	}
	if (polled)
		write_out(ep, ec);
	if (sg_quic_is_closed(ec->qc))
		free_conn(ep, ec);
}

static void on_timer(uv_timer_t *t);

/* One connection per peer: the newest wins. A peer that restarted (same
 * PeerId, new address) would otherwise have its messages sent into the
 * old, dead connection until that one timed out. The older connection is
 * closed; its CLOSED event follows from the timer. */
static void supersede(sg_endpoint *ep, ep_conn *ec)
{
	size_t i;

	for (i = 0; i < ep->hi; i++) {
		ep_conn *o = &ep->conns[i];
		if (o == ec || o->qc == NULL || !o->connected ||
		    !sg_peer_id_equal(&o->peer, &ec->peer))
			continue;
		o->connected = 0;
		sg_quic_close(o->qc);
		o->dirty = 1;
	}
}

/* One timer for every connection: the earliest deadline. */
static void rearm(sg_endpoint *ep)
{
	uint64_t d = UINT64_MAX, now = now_ms(ep);
	size_t i;

	if (ep->closing)
		return;
	for (i = 0; i < ep->hi; i++)
		if (ep->conns[i].qc != NULL) {
			uint64_t t = ep->conns[i].dirty
					     ? now
					     : sg_quic_next_deadline(
						       ep->conns[i].qc);
			if (t < d)
				d = t;
		}
	if (ep->npending > 0)
		d = now; /* on_timer flushes them */
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

	ep->npending = 0;
	for (i = 0; i < ep->hi; i++) {
		ep_conn *ec = &ep->conns[i];
		if (ec->qc == NULL)
			continue;
		if (sg_quic_next_deadline(ec->qc) <= now)
			sg_quic_tick(ec->qc, now);
		ec->pending = 0;
		service(ep, ec);
		if (ep->closing) /* a callback deleted the endpoint */
			return;
	}
	rearm(ep);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	sg_endpoint *ep = h->data;
	(void)suggested;
	*buf = uv_buf_init((char *)ep->rxbuf, sizeof(ep->rxbuf));
}

static void send_retry(sg_endpoint *ep, const sg_quic_initial *ini,
		       const struct sockaddr *addr)
{
	uint8_t out[256];
	long n = sg_quic_retry_write(out, sizeof(out), &ep->env, ep->token_key,
				     ini, addr, now_ms(ep));
	uv_buf_t b;

	if (n <= 0) {
		ep->st.dropped_in++;
		return;
	}
	b = uv_buf_init((char *)out, (unsigned)n);
	if (uv_udp_try_send(&ep->udp, &b, 1, addr) < 0)
		ep->st.send_errors++; /* the client sends its Initial again */
	else
		ep->st.datagrams_out++;
	ep->st.retries_sent++;
}

/* A datagram from an address with no connection: a new server connection
 * if it starts one and the handshake limits allow (H.6). Every check here
 * is cheap (a header decode, at most one AEAD open of a 45-byte token) and
 * keeps no state; the expensive work (ML-KEM, signature) happens only in
 * connections admitted here. */
/* A token, if the Initial has one: 1 if none or valid (odcid set), 0 if it
 * must be dropped (RFC 9000 section 8.1.3: the client times out; we issue
 * no NEW_TOKEN tokens, so any other token is bogus). */
static int check_token(sg_endpoint *ep, const sg_quic_initial *ini,
		       const struct sockaddr *addr,
		       uint8_t odcid[SG_QUIC_MAX_CID_LEN], size_t *odcid_len)
{
	*odcid_len = 0;
	if (ini->token_len == 0)
		return 1;
	if (sg_quic_retry_token_check(odcid, odcid_len, ep->token_key, ini,
				      addr, now_ms(ep),
				      ep->cfg.retry_token_lifetime_ms) == 0)
		return 1;
	ep->st.tokens_invalid++;
	return 0;
}

/* The QUIC configuration of a direct or a relayed connection. */
static const sg_quic_config *quic_cfg(const sg_endpoint *ep, int relayed)
{
	return relayed ? &ep->quic_relayed : &ep->cfg.quic;
}

/* A server connection from pkt; odcid_len > 0: validated by a token. */
static sg_quic_conn *server_conn(sg_endpoint *ep, const uint8_t *pkt,
				 size_t len, const struct sockaddr *addr,
				 const uint8_t *odcid, size_t odcid_len,
				 int relayed)
{
	const struct sockaddr *local = (const struct sockaddr *)&ep->local;
	const sg_quic_config *qcfg = quic_cfg(ep, relayed);
	sg_quic_conn *qc;
	int err;

	if (odcid_len > 0)
		qc = sg_quic_server_new_validated(
			&ep->env, qcfg, ep->ident, pkt, len, odcid,
			odcid_len, local, ep->local_len, addr, addr_len(addr),
			now_ms(ep), &err);
	else
		qc = sg_quic_server_new(&ep->env, qcfg, ep->ident,
					pkt, len, local, ep->local_len, addr,
					addr_len(addr), now_ms(ep), &err);
	if (qc == NULL)
		ep->st.dropped_in++;
	else
		ep->st.handshakes_started++;
	return qc;
}

/* A datagram from an address with no connection: a new server connection
 * if it starts one and the handshake limits allow (H.6). Every check here
 * is cheap (a header decode, at most one AEAD open of a 70-byte token) and
 * keeps no state; the expensive work (ML-KEM, signature) happens only in
 * connections admitted here. */
static ep_conn *admit(sg_endpoint *ep, const uint8_t *pkt, size_t len,
		      const struct sockaddr *addr)
{
	sg_quic_initial ini;
	uint8_t odcid[SG_QUIC_MAX_CID_LEN];
	size_t odcid_len, pending = 0, from_ip = 0, i;
	ep_conn *ec;

	if (sg_quic_initial_decode(&ini, pkt, len) != 0) {
		ep->st.dropped_in++; /* not a connection's first packet */
		return NULL;
	}
	if (!check_token(ep, &ini, addr, odcid, &odcid_len))
		return NULL;
	for (i = 0; i < ep->hi; i++) {
		const ep_conn *c = &ep->conns[i];
		if (c->qc == NULL || c->is_client || c->connected)
			continue;
		pending++;
		if (same_ip(addr, &c->remote))
			from_ip++;
	}
	if (pending >= ep->cfg.max_pending_handshakes ||
	    from_ip >= ep->cfg.max_pending_per_addr) {
		ep->st.hellos_dropped_limit++;
		return NULL;
	}
	if (odcid_len == 0 && pending >= ep->cfg.retry_threshold) {
		send_retry(ep, &ini, addr);
		return NULL;
	}
	ec = free_slot(ep);
	if (ec == NULL) {
		ep->st.hellos_dropped_limit++; /* max_conns */
		return NULL;
	}
	ec->qc = server_conn(ep, pkt, len, addr, odcid, odcid_len, 0);
	if (ec->qc == NULL)
		return NULL;
	memcpy(&ec->remote, addr, addr_len(addr));
	ec->remote_len = addr_len(addr);
	return ec;
}

/* Simultaneous open: the datagram came from the address our unfinished
 * dial goes to. Returns 1 if it was dealt with here. */
static int crossed_dial(sg_endpoint *ep, ep_conn *ec, const uint8_t *pkt,
			size_t len, const struct sockaddr *addr)
{
	sg_quic_initial ini;
	uint8_t odcid[SG_QUIC_MAX_CID_LEN];
	size_t odcid_len = 0;
	sg_quic_conn *qc;

	switch (sg_quic_crossed_initial(ec->qc, pkt, len)) {
	case SG_QUIC_CROSS_KEEP:
		ep->st.dials_kept++; /* the peer will yield to ours */
		return 1;
	case SG_QUIC_CROSS_YIELD:
		break;
	default:
		return 0;
	}
	/* The peer's Initial may carry a token from a Retry we sent before
	 * we dialled: its client then expects the ids of RFC 9000 section
	 * 7.3, so the token is checked and used like any other. The limits
	 * do not apply: this handshake replaces the one our dial costs. */
	if (sg_quic_initial_decode(&ini, pkt, len) != 0 ||
	    !check_token(ep, &ini, addr, odcid, &odcid_len))
		return 1;
	/* Replace our client in place (same slot, same waiting messages and
	 * expected PeerId) by a server connection for the peer's dial. Our
	 * client goes silently: the peer dropped its packets, and a
	 * CONNECTION_CLOSE would only reach the peer's new server side. */
	qc = server_conn(ep, pkt, len, addr, odcid, odcid_len, ec->relayed);
	if (qc == NULL)
		return 1;
	sg_quic_conn_del(ec->qc);
	ec->qc = qc;
	ec->is_client = 0;
	ep->st.dials_yielded++;
	service(ep, ec);
	rearm(ep);
	return 1;
}

/* A connection to flush at the end of the batch of datagrams being read
 * (or, if libuv stops reading before the socket is empty, at the next
 * turn of the loop). */
static void schedule_flush(sg_endpoint *ep, ep_conn *ec)
{
	ec->pending = 1;
	if (ep->npending++ == 0)
		rearm(ep); /* the timer, due now */
}

/* The end of a batch of datagrams: the connections they went to send
 * what they have (acknowledgements for the whole batch at once) and
 * report their events. */
static void flush_scheduled(sg_endpoint *ep)
{
	size_t i;

	ep->npending = 0;
	for (i = 0; i < ep->hi; i++) {
		ep_conn *ec = &ep->conns[i];
		if (ec->qc == NULL || !ec->pending)
			continue;
		ec->pending = 0;
		service(ep, ec);
		if (ep->closing) /* a callback deleted the endpoint */
			return;
	}
	rearm(ep);
}

/* ---- relaying (docs/PROTOCOL.md, "Relay") ---------------------------- */

/* A RELAY frame from src for peer `to`: the checks of PROTOCOL.md in their
 * order, then a RELAYED frame on our connection to `to`. */
static void relay_forward(sg_endpoint *ep, ep_conn *src, const sg_peer_id *to,
			  const uint8_t *pkt, size_t len)
{
	uint8_t frame[SG_RELAY_FRAME_MAX];
	ep_conn *dst;
	long fl;

	if (!ep->cfg.relay || ep->rl == NULL) {
		ep->st.relay_refused_role++;
		return;
	}
	if (sg_peer_id_equal(to, &src->peer) ||
	    sg_peer_id_equal(to, &ep->ident->id)) {
		ep->st.relay_malformed++;
		return;
	}
	if (!sg_relay_limiter_admit(ep->rl, &src->peer, len, now_ms(ep))) {
		ep->st.relay_refused_rate++;
		return;
	}
	if ((dst = find_direct(ep, to)) == NULL) {
		ep->st.relay_no_route++;
		return;
	}
	fl = sg_relay_frame_encode(frame, sizeof(frame), SG_RELAY_KIND_RELAYED,
				   &src->peer, pkt, len);
	if (fl < 0 || sg_quic_send(dst->qc, frame, (size_t)fl) != 0) {
		ep->st.relay_dropped++;
		return;
	}
	ep->st.relay_forwarded++;
	ep->st.relay_bytes += len;
	if (ep->cfg.relay_tap != NULL)
		ep->cfg.relay_tap(ep->cfg.relay_tap_ud, &src->peer, to, pkt,
				  len);
	schedule_flush(ep, dst);
}

/* A relayed Initial from far through via: a new server connection on a
 * new path, under the handshake limits (per relay instead of per IP; no
 * Retry: the relay's connection already vouches for where it came from,
 * and we never issue tokens on relayed paths). */
static ep_conn *admit_relayed(sg_endpoint *ep, const ep_conn *via,
			      const sg_peer_id *far, const uint8_t *pkt,
			      size_t len)
{
	sg_quic_initial ini;
	struct sockaddr_storage va;
	size_t pending = 0, from_via = 0, i;
	ep_conn *ec;

	if (sg_quic_initial_decode(&ini, pkt, len) != 0) {
		ep->st.dropped_in++; /* not a connection's first packet */
		return NULL;
	}
	if (ini.token_len != 0) {
		ep->st.tokens_invalid++;
		return NULL;
	}
	for (i = 0; i < ep->hi; i++) {
		const ep_conn *c = &ep->conns[i];
		if (c->qc == NULL || c->is_client || c->connected)
			continue;
		pending++;
		if (c->relayed && sg_peer_id_equal(&c->via, &via->peer))
			from_via++;
	}
	if (pending >= ep->cfg.max_pending_handshakes ||
	    from_via >= ep->cfg.max_pending_per_addr ||
	    (ec = free_slot(ep)) == NULL) {
		ep->st.hellos_dropped_limit++;
		return NULL;
	}
	make_virtual(ep, &va);
	ec->qc = server_conn(ep, pkt, len, (const struct sockaddr *)&va, NULL,
			     0, 1);
	if (ec->qc == NULL)
		return NULL;
	ec->remote = va;
	ec->remote_len = (socklen_t)sizeof(struct sockaddr_in6);
	ec->relayed = 1;
	ec->via = via->peer;
	ec->far = *far;
	return ec;
}

/* A RELAYED frame: a datagram from far through the relay `via`. */
static void relay_arrive(sg_endpoint *ep, ep_conn *via, const sg_peer_id *far,
			 const uint8_t *pkt, size_t len)
{
	ep_conn *pc;

	if (sg_peer_id_equal(far, &ep->ident->id) ||
	    sg_peer_id_equal(far, &via->peer)) {
		ep->st.relay_malformed++;
		return;
	}
	pc = find_path(ep, &via->peer, far);
	if (pc != NULL && sg_quic_is_closed(pc->qc)) {
		/* Its CLOSED is still to be reported (the timer, now); a new
		 * connection on this path may start once it is gone. */
		ep->st.dropped_in++;
		pc->dirty = 1;
		return;
	}
	ep->st.relayed_in++;
	if (pc != NULL) {
		if (pc->is_client && !pc->connected &&
		    crossed_dial(ep, pc, pkt, len,
				 (const struct sockaddr *)&pc->remote))
			return;
		sg_quic_read(pc->qc, pkt, len, now_ms(ep));
	} else if ((pc = admit_relayed(ep, via, far, pkt, len)) == NULL) {
		return;
	}
	schedule_flush(ep, pc);
}

/* Takes relay frames out of a connection's messages: 1 if ev was one
 * (handled here, not reported), 0 for any other message. Work it causes on
 * other connections only writes and marks them (in_cb), so no callback
 * runs from here. */
static int relay_intercept(sg_endpoint *ep, ep_conn *ec,
			   const sg_quic_event *ev)
{
	const uint8_t *pkt;
	sg_peer_id peer;
	size_t len;
	uint8_t kind;
	int rc;

	rc = sg_relay_frame_decode(&kind, &peer, &pkt, &len, ev->data,
				   ev->len);
	if (rc == SG_ERR_NOTFOUND)
		return 0;
	ep->in_cb++;
	if (rc != 0 || ec->relayed)
		ep->st.relay_malformed++; /* no relaying through a relay */
	else if (kind == SG_RELAY_KIND_RELAY)
		relay_forward(ep, ec, &peer, pkt, len);
	else
		relay_arrive(ep, ec, &peer, pkt, len);
	ep->in_cb--;
	return 1;
}

static void on_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf,
		    const struct sockaddr *addr, unsigned flags)
{
	sg_endpoint *ep = u->data;
	const uint8_t *pkt = (const uint8_t *)buf->base;
	size_t len = (size_t)nread;
	uint64_t steps = 0;
	ep_conn *ec;
	(void)flags;

	if (ep->closing)
		return;
	if (addr == NULL) {
		/* Nothing more to read now (or a read error). libuv may also
		 * stop a long batch without saying so: then the timer, armed
		 * for now by rearm(), flushes it. */
		if (ep->npending > 0)
			flush_scheduled(ep);
		return;
	}
	if (nread <= 0)
		return;
	ep->st.datagrams_in++;
	if (sg_endpoint_addr_is_virtual(addr)) {
		ep->st.dropped_in++; /* spoofed: that prefix is ours */
		return;
	}
	ec = find_addr(ep, addr);
	if (ec != NULL && sg_quic_is_closed(ec->qc)) {
		/* It closed earlier in this batch (the peer's CONNECTION_CLOSE,
		 * say): report and free it now, so that this datagram may
		 * start a new connection from the same address. */
		ec->pending = 0;
		service(ep, ec);
		if (ep->closing)
			return;
		ec = find_addr(ep, addr);
	}
	if (ec != NULL) {
		if (ec->is_client && !ec->connected &&
		    crossed_dial(ep, ec, pkt, len, addr))
			return;
		steps = sg_quic_handshake_steps(ec->qc);
		sg_quic_read(ec->qc, pkt, len, now_ms(ep));
	} else if ((ec = admit(ep, pkt, len, addr)) == NULL) {
		return;
	}
	if (!ec->connected && sg_quic_handshake_steps(ec->qc) != steps) {
		/* The handshake moved: its flight (or its completion) goes at
		 * once, so that the peer works on its part while we read the
		 * rest of the batch (which may hold more handshakes, each
		 * costing a signature). A datagram that did not move it (a
		 * part of a flight, an acknowledgement) is answered with the
		 * rest of the batch: one acknowledgement for a whole flight. */
		service(ep, ec);
		rearm(ep);
		return;
	}
	schedule_flush(ep, ec);
}

/* Datagrams leave with the don't-fragment bit and are never cut into IP
 * fragments (RFC 9000 section 14: QUIC datagrams must not be fragmented;
 * RFC 8899: a Path MTU probe too large for the path must be lost, not
 * fragmented). IP_PMTUDISC_PROBE rather than _DO: the kernel's cached
 * path MTU, which ICMP messages an attacker can forge lower, plays no
 * part; QUIC's own probes find the size. 0 if set, else -1. */
static int set_dont_fragment(sg_endpoint *ep)
{
#if defined(IP_MTU_DISCOVER) && defined(IPV6_MTU_DISCOVER)
	uv_os_fd_t fd;
	int v4 = IP_PMTUDISC_PROBE, v6 = IPV6_PMTUDISC_PROBE;

	if (uv_fileno((const uv_handle_t *)&ep->udp, &fd) != 0)
		return -1;
	if (ep->local.ss_family == AF_INET6) {
		/* IPv4-mapped peers of a dual-stack socket: best effort. */
		(void)setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v4,
				 sizeof(v4));
		return setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v6,
				  sizeof(v6)) == 0
			       ? 0
			       : -1;
	}
	return setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v4, sizeof(v4)) ==
			       0
		       ? 0
		       : -1;
#else
	(void)ep;
	return -1;
#endif
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
	if (cfg->size != sizeof(*cfg) || cfg->max_conns == 0 ||
	    cfg->max_pending_handshakes == 0 || cfg->max_pending_per_addr == 0 ||
	    cfg->retry_token_lifetime_ms == 0 ||
	    cfg->quic.max_udp_payload < SG_QUIC_MIN_UDP_PAYLOAD ||
	    cfg->quic.max_udp_payload > SG_QUIC_MAX_UDP_PAYLOAD)
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
	/* A relayed path carries datagrams of at most SG_RELAY_PACKET_MAX
	 * bytes in RELAY frames: its Path MTU probes stop there. */
	ep->quic_relayed = cfg->quic;
	if (ep->quic_relayed.max_udp_payload > SG_RELAY_PACKET_MAX)
		ep->quic_relayed.max_udp_payload = SG_RELAY_PACKET_MAX;
	ep->loop = loop;
	ep->cb = cb;
	ep->ud = ud;
	uv_udp_init(loop, &ep->udp);
	uv_timer_init(loop, &ep->timer);
	ep->udp.data = ep;
	ep->timer.data = ep;
	ep->handles_open = 2;
#ifdef SG_HAVE_SENDMMSG
	ep->gso = 1;
#endif
	if (cfg->relay) {
		ep->rl = sg_relay_limiter_new(env, &cfg->relay_limits, err);
		if (ep->rl == NULL)
			goto fail;
	}
	*err = SG_ERR_CRYPTO;
	if (sg_random(env, ep->token_key, sizeof(ep->token_key)) != 0)
		goto fail;
	*err = SG_ERR_IO;
	if (uv_udp_bind(&ep->udp, bind_addr, 0) != 0)
		goto fail;
	namelen = (int)sizeof(ep->local);
	if (uv_udp_getsockname(&ep->udp, (struct sockaddr *)&ep->local,
			       &namelen) != 0)
		goto fail;
	ep->local_len = (socklen_t)namelen;
	if (set_dont_fragment(ep) != 0) {
		/* Datagrams could leave in fragments: no Path MTU probing
		 * beyond what an Ethernet path carries. */
		if (ep->cfg.quic.max_udp_payload > SG_RELAY_PACKET_MAX)
			ep->cfg.quic.max_udp_payload = SG_RELAY_PACKET_MAX;
	}
	{
		int sz = SOCK_BUF_BYTES; /* best effort */
		uv_recv_buffer_size((uv_handle_t *)&ep->udp, &sz);
		sz = SOCK_BUF_BYTES;
		uv_send_buffer_size((uv_handle_t *)&ep->udp, &sz);
		/* What we accept (and send: the two sides of a path are
		 * alike) is bounded by what the receive buffer holds: at
		 * least RCVBUF_DGRAMS of the largest datagrams, so a burst
		 * of a congestion window is not dropped here. */
		sz = 0;
		if (uv_recv_buffer_size((uv_handle_t *)&ep->udp, &sz) == 0 &&
		    sz > 0 &&
		    (size_t)sz / RCVBUF_DGRAMS < ep->cfg.quic.max_udp_payload)
			ep->cfg.quic.max_udp_payload =
				(size_t)sz / RCVBUF_DGRAMS > SG_RELAY_PACKET_MAX
					? (size_t)sz / RCVBUF_DGRAMS
					: SG_RELAY_PACKET_MAX;
	}
	*err = SG_ERR_NOMEM;
	ep->txwrite = ep->cfg.quic.max_udp_payload > TX_MIN_CAP
			      ? ep->cfg.quic.max_udp_payload
			      : TX_MIN_CAP;
	ep->txcap = TX_BYTES + ep->txwrite;
	if ((ep->tx = sg_alloc(env, ep->txcap)) == NULL)
		goto fail;
	*err = SG_ERR_IO;
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
		sg_wipe(ep->token_key, sizeof(ep->token_key));
		sg_relay_limiter_del(ep->rl);
		sg_free(&env, ep->tx);
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
	for (i = 0; i < ep->hi; i++) {
		ep_conn *ec = &ep->conns[i];
		if (ec->qc == NULL)
			continue;
		/* Tell the peer (best effort), then free; no more events. */
		sg_quic_close(ec->qc);
		write_out(ep, ec);
		free_conn(ep, ec);
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
	if (sg_endpoint_addr_is_virtual(remote))
		return SG_ERR_INVAL; /* relayed paths: sg_endpoint_dial_relayed */
	if ((ec = find_addr(ep, remote)) != NULL) {
		/* Already on its way (our dial, or the peer's): the caller
		 * waits for CONNECTED, and may queue messages to expected. */
		if (expected != NULL && !ec->connected && !ec->has_expected) {
			ec->expected = *expected;
			ec->has_expected = 1;
		}
		return SG_ERR_EXISTS;
	}
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
	ec->is_client = 1;
	if (expected != NULL) {
		ec->expected = *expected;
		ec->has_expected = 1;
	}
	service(ep, ec);
	rearm(ep);
	return 0;
}

int sg_endpoint_dial_relayed(sg_endpoint *ep, const sg_peer_id *via,
			     const sg_peer_id *peer,
			     struct sockaddr_storage *remote)
{
	ep_conn *ec;
	int err;

	if (ep->closing)
		return SG_ERR_STATE;
	if (sg_peer_id_equal(via, peer) ||
	    sg_peer_id_equal(via, &ep->ident->id) ||
	    sg_peer_id_equal(peer, &ep->ident->id))
		return SG_ERR_INVAL;
	if ((ec = find_path(ep, via, peer)) != NULL) {
		*remote = ec->remote;
		if (!ec->connected && !ec->has_expected) {
			ec->expected = *peer;
			ec->has_expected = 1;
		}
		return SG_ERR_EXISTS;
	}
	if (find_direct(ep, via) == NULL)
		return SG_ERR_NOTFOUND;
	if ((ec = free_slot(ep)) == NULL)
		return SG_ERR_FULL;
	make_virtual(ep, &ec->remote);
	ec->qc = sg_quic_client_new(&ep->env, quic_cfg(ep, 1), ep->ident, peer,
				    (const struct sockaddr *)&ep->local,
				    ep->local_len,
				    (const struct sockaddr *)&ec->remote,
				    (socklen_t)sizeof(struct sockaddr_in6),
				    now_ms(ep), &err);
	if (ec->qc == NULL) {
		memset(ec, 0, sizeof(*ec));
		return err != 0 ? err : SG_ERR_NOMEM;
	}
	ec->remote_len = (socklen_t)sizeof(struct sockaddr_in6);
	ec->is_client = 1;
	ec->relayed = 1;
	ec->via = *via;
	ec->far = *peer;
	ec->expected = *peer;
	ec->has_expected = 1;
	*remote = ec->remote;
	service(ep, ec);
	rearm(ep);
	return 0;
}

int sg_endpoint_relayed_path(const sg_endpoint *ep,
			     const struct sockaddr *remote, sg_peer_id *via,
			     sg_peer_id *peer)
{
	size_t i;

	if (!sg_endpoint_addr_is_virtual(remote))
		return 0;
	for (i = 0; i < ep->hi; i++) {
		const ep_conn *c = &ep->conns[i];
		if (c->qc != NULL && c->relayed &&
		    same_addr(remote, &c->remote)) {
			if (via != NULL)
				*via = c->via;
			if (peer != NULL)
				*peer = c->far;
			return 1;
		}
	}
	return 0;
}

/* An unfinished connection the caller dialled (or named) peer at. */
static ep_conn *find_expected(sg_endpoint *ep, const sg_peer_id *peer)
{
	size_t i;
	for (i = 0; i < ep->hi; i++)
		if (ep->conns[i].qc != NULL && !ep->conns[i].connected &&
		    ep->conns[i].has_expected &&
		    sg_peer_id_equal(&ep->conns[i].expected, peer))
			return &ep->conns[i];
	return NULL;
}

static int queue_pending(sg_endpoint *ep, ep_conn *ec, const uint8_t *msg,
			 size_t len)
{
	ep_msg *m;

	if (len > ep->cfg.quic.max_message)
		return SG_ERR_RANGE;
	if (ec->npend == ep->cfg.quic.max_send_queue)
		return SG_ERR_FULL;
	if (ec->pend == NULL) {
		ec->pend = sg_calloc(&ep->env, ep->cfg.quic.max_send_queue,
				     sizeof(ep_msg));
		if (ec->pend == NULL)
			return SG_ERR_NOMEM;
	}
	m = &ec->pend[ec->npend];
	m->buf = sg_alloc(&ep->env, len ? len : 1);
	if (m->buf == NULL)
		return SG_ERR_NOMEM;
	if (len)
		memcpy(m->buf, msg, len);
	m->len = len;
	ec->npend++;
	return 0;
}

int sg_endpoint_send(sg_endpoint *ep, const sg_peer_id *peer,
		     const uint8_t *msg, size_t len)
{
	ep_conn *ec = find_peer(ep, peer);
	int rc;

	if (ep->closing)
		return SG_ERR_STATE;
	if (ec == NULL) {
		ec = find_expected(ep, peer);
		return ec != NULL ? queue_pending(ep, ec, msg, len)
				  : SG_ERR_NOTFOUND;
	}
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

int sg_endpoint_is_connected(const sg_endpoint *ep, const sg_peer_id *peer)
{
	size_t i;
	for (i = 0; i < ep->hi; i++)
		if (ep->conns[i].qc != NULL && ep->conns[i].connected &&
		    sg_peer_id_equal(&ep->conns[i].peer, peer))
			return 1;
	return 0;
}

void sg_endpoint_stats_get(const sg_endpoint *ep, sg_endpoint_stats *st)
{
	size_t i;

	*st = ep->st;
	st->conns = 0;
	st->relayed_conns = 0;
	for (i = 0; i < ep->hi; i++) {
		st->conns += ep->conns[i].qc != NULL;
		st->relayed_conns +=
			ep->conns[i].qc != NULL && ep->conns[i].relayed;
	}
}
