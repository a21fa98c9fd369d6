/*
 * The node (include/sg/node.h): the protocol core driven over the QUIC
 * endpoint on a libuv loop, the peer cache, the control socket.
 *
 * Data flow: a datagram -> endpoint -> QUIC message (a frame) ->
 * sg_core_recv -> pump(): the core's events (deliveries to control
 * subscribers and the embedding callback, neighbours into the peer cache,
 * misbehaving peers disconnected) and its frames (sent on the peer's
 * connection, or held while the node dials it). One timer follows the
 * core's next deadline and the node's housekeeping.
 */
#define _POSIX_C_SOURCE 200809L
#include "sg/node.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sg/cbor.h"
#include "sg/control.h"
#include "sg/err.h"
#include "sg/foaf.h"
#include "sg/peercache.h"
#include "sg/rendezvous.h"
#include "node/direct.h"
#include "node/gman.h"

#define MOD "node"
#define HOUSEKEEP_MS 1000
#define DIAL_TIMEOUT_MS 15000
#define LEAVE_GRACE_MS 300
#define GOODBYE_GRACE_MS 1000
/* Messages are accepted up to this long past their expiry (clock skew,
 * include/sg/msg.h); delivered ids are remembered as long. */
#define SKEW_MS 300000
#define CTL_MAX_PENDING (16u << 20) /* bytes queued to one control client */
#define BOOT_CACHED 24 /* cached peers tried as contacts at start */
#define RELAYS_MAX 8 /* relays remembered (from their adverts) */
#define DISC_ADVERT 1
#define DISC_OBSERVED 2
/* Member cards for group invites (docs/PROTOCOL.md, "Groups in the
 * node"): a request (empty) and the card. */
#define DISC_CARD_REQ 7
#define DISC_CARD 8
#define CARD_WAIT_MS 10000
#define GROUPS_DIR "groups"
#define MAX_REQUESTS 256 /* direct requests outstanding */
#define GROUP_FILE_MAX (4u << 20)
/* Rendezvous: capabilities this node provides, their summaries' validity
 * and how often they are re-published; summaries a seeker keeps. */
#define RDV_MAX_REGISTERED 16
#define RDV_TTL_MS 300000
#define RDV_REPUBLISH_MS 60000
#define RDV_TABLE_MAX 1024
#define RDV_PREFIX "saorsa-gossip/rendezvous/"
/* A seeker stays in a shard it looked into this long after the find
 * (updates and withdrawals then reach it at once), and a provider after
 * its withdrawal (so that it can still be fetched); at most RDV_LINGER
 * shards. */
#define RDV_LINGER 16
#define RDV_LINGER_MS 60000

/* Frames held for a peer while its connection is set up. */
struct wframe {
	struct wframe *next;
	size_t len;
	uint8_t buf[];
};

struct dial {
	int used;
	int has_id;  /* id known (pinned, or from the core) */
	int contact; /* a bootstrap contact without PeerId: join on connect */
	sg_peer_id id;
	struct sockaddr_storage addr;
	uint64_t started;
	int relayed; /* a relayed path (addr virtual): the last resort */
	struct wframe *head, *tail;
	size_t frames, bytes;
};

/* Live connections, by address: who is behind them. */
struct conn {
	int used;
	struct sockaddr_storage addr;
	sg_peer_id id;
};

struct tname {
	sg_topic_id id;
	char name[SG_CTL_TOPIC_MAX + 1];
};

struct ctl_client {
	sg_node *n;
	uv_pipe_t pipe;
	int used, closing;
	uint8_t *rbuf;
	size_t rlen, rcap;
	size_t pending; /* bytes written, not yet acknowledged */
	int subscribed;
	int rdv_finding; /* an RDV_FIND waits until rdv_deadline */
	int rdv_unsub;	 /* and then unsubscribes its shard */
	uint64_t rdv_deadline;
	char rdv_cap[SG_RDV_CAP_MAX + 1];
	int finding; /* a FIND waits for FOAF: its query id */
	uint8_t find_qid[SG_FOAF_QID_LEN];
	sg_topic_id sub;
	char sub_name[SG_CTL_TOPIC_MAX + 1];
	int card_waiting; /* a GROUP_INVITE waits for card_peer's card */
	int card_finding; /* ... or for FOAF to find card_peer first */
	int invite_settling; /* ... then for invite_ticket to settle */
	uint64_t invite_ticket;
	int member_finding; /* a FIND_MEMBER waits: group_sel, card_peer */
	int group_listening; /* a GROUP_LISTEN streams listen_gid's messages */
	uint8_t listen_gid[SG_GROUP_ID_LEN];
	sg_peer_id card_peer;
	uint64_t card_deadline, invite_valid_ms;
	char group_sel[2 * SG_GROUP_ID_LEN + 1];
};

struct sg_node {
	sg_env env;
	sg_node_config cfg;
	const sg_identity *ident;
	uv_loop_t *loop;
	sg_endpoint *ep;
	sg_core *core;
	sg_foaf *foaf;
	sg_rdv_table *rdv;
	sg_gman *gman;
	uint8_t card[SG_GROUP_CARD_LEN]; /* this node's member card */
	char rdv_caps[RDV_MAX_REGISTERED][SG_RDV_CAP_MAX + 1];
	struct {
		char cap[SG_RDV_CAP_MAX + 1]; /* "" when free */
		uint64_t until;
	} rdv_linger[RDV_LINGER];
	size_t n_rdv_caps;
	uint64_t next_rdv_publish;
	sg_peercache *pc;
	uv_timer_t timer;
	uv_pipe_t ctl;
	int ctl_open, timer_open, handles;
	char ctl_path[4096];
	struct ctl_client *clients;
	struct dial *dials;
	size_t max_dials;
	struct conn *conns;
	struct tname *tnames;
	size_t n_tnames;
	struct sockaddr_storage local;
	uint8_t self_addr[SG_MEMB_ADDR_MAX];
	size_t self_addr_len;
	uint64_t started, next_housekeep, next_advert;
	uint8_t *advert;
	size_t advert_len;
	uint64_t advert_seq;
	sg_node_deliver_cb deliver_cb;
	void *deliver_ud;
	sg_node_presence_cb presence_cb;
	void *presence_ud;
	sg_node_request_cb request_cb;
	void *request_ud;
	sg_node_response_cb response_cb;
	void *response_ud;
	struct request {
		int used;
		sg_peer_id to;
		uint64_t id, deadline;
	} *requests;
	uint64_t next_request_id;
	int leaving, left, freeing;
	int saying_goodbye;   /* leaving: goodbye beacons in flight until */
	uint64_t goodbye_end; /* this time, then the overlay is left */
	void (*leave_done)(void *);
	void *leave_ud;
	void (*exit_cb)(void *);
	void *exit_ud;
	sg_peer_id relays[RELAYS_MAX]; /* relays known from adverts */
	size_t n_relays;
	uint64_t next_direct_retry;
	sg_node_stats st;
};

static uint64_t now_ms(const sg_node *n)
{
	return sg_now_ms(&n->env);
}

static uint64_t wall_ms(const sg_node *n)
{
	return sg_wall_ms(&n->env);
}

void sg_node_config_default(sg_node_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->size = sizeof(*cfg);
	sg_core_config_default(&cfg->core);
	sg_endpoint_config_default(&cfg->ep);
	cfg->bind = "0.0.0.0:0";
	cfg->advert_interval_ms = 300000;
	cfg->control = 1;
	cfg->max_cached_peers = 1024;
	cfg->max_waiting_frames = 256;
	cfg->max_waiting_bytes = 4u << 20;
	cfg->max_ctl_clients = 32;
	/* Room for the configured coordinators and BOOT_CACHED peers from the
	 * cache: after a restart many cached addresses may be stale (peers
	 * that restarted elsewhere), and JOIN picks a random contact. */
	cfg->core.hv.contacts_max = BOOT_CACHED + 8;
}

/* ---- addresses ----------------------------------------------------------- */

int sg_node_parse_addr(const char *s, struct sockaddr_storage *sa)
{
	char host[64];
	const char *colon, *h;
	size_t hl;
	char *end;
	unsigned long port;

	memset(sa, 0, sizeof(*sa));
	if (s == NULL)
		return SG_ERR_INVAL;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (rb == NULL || rb[1] != ':')
			return SG_ERR_INVAL;
		h = s + 1;
		hl = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return SG_ERR_INVAL;
		h = s;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= sizeof(host) || colon[1] == '\0')
		return SG_ERR_INVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || port > 65535 || colon[1] == '-' ||
	    colon[1] == '+')
		return SG_ERR_INVAL;
	if (s[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)sa;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return SG_ERR_INVAL;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)sa;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return SG_ERR_INVAL;
	}
	return 0;
}

void sg_node_format_addr(const struct sockaddr *sa, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)sa;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		snprintf(out, cap, "[%s]:%u", ip, ntohs(a->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)sa;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		snprintf(out, cap, "%s:%u", ip, ntohs(a->sin_port));
	} else {
		snprintf(out, cap, "?");
	}
}

static int sa_to_memb(const struct sockaddr *sa, uint8_t out[SG_MEMB_ADDR_MAX],
		      size_t *len)
{
	sg_addr a;
	long n;

	memset(&a, 0, sizeof(a));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)sa;
		a.family = 4;
		memcpy(a.ip, &x->sin_addr, 4);
		a.port = ntohs(x->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)sa;
		a.family = 6;
		memcpy(a.ip, &x->sin6_addr, 16);
		a.port = ntohs(x->sin6_port);
	} else {
		return SG_ERR_INVAL;
	}
	n = sg_core_addr_encode(out, &a);
	if (n < 0)
		return (int)n;
	*len = (size_t)n;
	return 0;
}

static int memb_to_sa(const uint8_t *in, size_t len,
		      struct sockaddr_storage *sa)
{
	sg_addr a;

	memset(sa, 0, sizeof(*sa));
	if (sg_core_addr_decode(&a, in, len) != 0 || a.port == 0)
		return SG_ERR_MALFORMED;
	if (a.family == 4) {
		struct sockaddr_in *x = (struct sockaddr_in *)sa;
		x->sin_family = AF_INET;
		memcpy(&x->sin_addr, a.ip, 4);
		x->sin_port = htons(a.port);
	} else {
		struct sockaddr_in6 *x = (struct sockaddr_in6 *)sa;
		x->sin6_family = AF_INET6;
		memcpy(&x->sin6_addr, a.ip, 16);
		x->sin6_port = htons(a.port);
	}
	return 0;
}

static int same_sa(const struct sockaddr_storage *a,
		   const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a;
		const struct sockaddr_in *y = (const void *)b;
		return x->sin_port == y->sin_port &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a;
		const struct sockaddr_in6 *y = (const void *)b;
		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
	}
	return 0;
}

static int is_unspecified(const struct sockaddr_storage *sa)
{
	if (sa->ss_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr ==
		       htonl(INADDR_ANY);
	if (sa->ss_family == AF_INET6) {
		static const uint8_t zero[16];
		return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr,
			      zero, 16) == 0;
	}
	return 0;
}

/* The local address the kernel would use towards dst (a connected UDP
 * socket's name); for a node bound to the unspecified address. */
static int route_source(const struct sockaddr_storage *dst,
			struct sockaddr_storage *src)
{
	int fd = socket(dst->ss_family, SOCK_DGRAM, 0), ok = 0;
	socklen_t sl = sizeof(*src);

	if (fd < 0)
		return SG_ERR_IO;
	if (connect(fd, (const struct sockaddr *)dst,
		    dst->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					       : sizeof(struct sockaddr_in)) ==
		    0 &&
	    getsockname(fd, (struct sockaddr *)src, &sl) == 0)
		ok = 1;
	close(fd);
	return ok ? 0 : SG_ERR_IO;
}

/* ---- connections and dials ------------------------------------------- */

static struct conn *conn_by_addr(sg_node *n, const struct sockaddr_storage *a)
{
	size_t i;

	for (i = 0; i < n->cfg.ep.max_conns; i++)
		if (n->conns[i].used && same_sa(&n->conns[i].addr, a))
			return &n->conns[i];
	return NULL;
}

static struct dial *dial_by_id(sg_node *n, const sg_peer_id *id)
{
	size_t i;

	for (i = 0; i < n->max_dials; i++)
		if (n->dials[i].used && n->dials[i].has_id &&
		    sg_peer_id_equal(&n->dials[i].id, id))
			return &n->dials[i];
	return NULL;
}

static struct dial *dial_by_addr(sg_node *n, const struct sockaddr_storage *a)
{
	size_t i;

	for (i = 0; i < n->max_dials; i++)
		if (n->dials[i].used && same_sa(&n->dials[i].addr, a))
			return &n->dials[i];
	return NULL;
}

static void dial_free(sg_node *n, struct dial *d)
{
	struct wframe *f, *nx;

	for (f = d->head; f != NULL; f = nx) {
		nx = f->next;
		sg_free(&n->env, f);
	}
	memset(d, 0, sizeof(*d));
}

static void log_peer(sg_node *n, sg_log_level lvl, const char *what,
		     const sg_peer_id *id, const struct sockaddr_storage *sa)
{
	char hex[SG_PEER_ID_SHORT_HEX_LEN], addr[80] = "";

	if (n->env.log == NULL || lvl > n->env.log_level)
		return;
	sg_peer_id_short(hex, id);
	if (sa != NULL)
		sg_node_format_addr((const struct sockaddr *)sa, addr,
				    sizeof(addr));
	sg_log(&n->env, lvl, MOD, "%s peer=%s%s%s", what, hex,
	       sa != NULL ? " addr=" : "", addr);
}

/* ---- relays (docs/PROTOCOL.md, "Relay") ------------------------------- */

/* A verified advert with the relay role: remembered (newest first; the
 * oldest goes when the list is full). */
static void relay_remember(sg_node *n, const sg_peer_id *id)
{
	size_t i;

	if (sg_peer_id_equal(id, &n->ident->id))
		return;
	for (i = 0; i < n->n_relays; i++)
		if (sg_peer_id_equal(&n->relays[i], id))
			return;
	if (n->n_relays == RELAYS_MAX)
		n->n_relays--;
	memmove(&n->relays[1], &n->relays[0],
		n->n_relays * sizeof(n->relays[0]));
	n->relays[0] = *id;
	n->n_relays++;
	log_peer(n, SG_LOG_INFO, "relay known:", id, NULL);
}

/* A direct dial to a known PeerId failed: the same peer through a relay
 * we are connected to, keeping the frames held for it. 1 if a relayed
 * dial is under way. */
static int relay_dial(sg_node *n, struct dial *d, const char *why)
{
	struct sockaddr_storage va;
	char addr[80], rh[SG_PEER_ID_SHORT_HEX_LEN];
	size_t i;
	int rc;

	if (!d->has_id || d->relayed || n->leaving)
		return 0;
	for (i = 0; i < n->n_relays; i++) {
		const sg_peer_id *via = &n->relays[i];
		if (sg_peer_id_equal(via, &d->id) ||
		    !sg_endpoint_is_connected(n->ep, via))
			continue;
		rc = sg_endpoint_dial_relayed(n->ep, via, &d->id, &va);
		if (rc != 0 && rc != SG_ERR_EXISTS)
			continue;
		sg_node_format_addr((const struct sockaddr *)&d->addr, addr,
				    sizeof(addr));
		sg_peer_id_short(rh, via);
		sg_log(&n->env, SG_LOG_INFO, MOD,
		       "dial %s failed: %s; through relay %s", addr, why, rh);
		n->st.dial_failures++;
		n->st.relay_dials++;
		d->addr = va;
		d->relayed = 1;
		d->started = now_ms(n);
		return 1;
	}
	return 0;
}

/* Back to direct: every relay_direct_retry_ms, each peer we reach through
 * a relay is dialled at its known address. The dial has no entry in the
 * dial table, so its failure is silent (the relayed connection carries on);
 * its success supersedes the relayed connection (one connection per peer,
 * the newest wins), whose close then finds the peer still connected. */
static int peer_address(sg_node *n, const sg_peer_id *id,
			struct sockaddr_storage *sa);

static void relay_housekeep(sg_node *n, uint64_t now)
{
	uint64_t every = n->cfg.relay_direct_retry_ms != 0
				 ? n->cfg.relay_direct_retry_ms
				 : 60000;
	struct sockaddr_storage sa;
	size_t i;

	if (now < n->next_direct_retry || n->leaving)
		return;
	n->next_direct_retry = now + every;
	for (i = 0; i < n->cfg.ep.max_conns; i++) {
		const struct conn *c = &n->conns[i];
		if (!c->used ||
		    !sg_endpoint_addr_is_virtual((const struct sockaddr *)&c->addr) ||
		    peer_address(n, &c->id, &sa) != 0 ||
		    sg_endpoint_addr_is_virtual((const struct sockaddr *)&sa) ||
		    conn_by_addr(n, &sa) != NULL || dial_by_addr(n, &sa) != NULL)
			continue;
		if (sg_endpoint_dial(n->ep, (const struct sockaddr *)&sa,
				     &c->id) == 0)
			log_peer(n, SG_LOG_DEBUG, "trying direct again", &c->id,
				 &sa);
	}
}

/* The dial failed or timed out: its frames are dropped and the core
 * learns that the peer is unreachable. */
static void dial_failed(sg_node *n, struct dial *d, const char *why)
{
	char addr[80];

	if (relay_dial(n, d, why))
		return;
	n->st.dial_failures++;
	n->st.frames_waiting_dropped += d->frames;
	sg_node_format_addr((const struct sockaddr *)&d->addr, addr,
			    sizeof(addr));
	sg_log(&n->env, SG_LOG_INFO, MOD, "dial %s failed: %s", addr, why);
	if (d->has_id)
		sg_core_peer_unreachable(n->core, &d->id, now_ms(n));
	dial_free(n, d);
}

static int start_dial(sg_node *n, const struct sockaddr_storage *addr,
		      const sg_peer_id *id, int contact, struct dial **out)
{
	struct dial *d = NULL;
	size_t i;
	int rc;

	for (i = 0; i < n->max_dials && d == NULL; i++)
		if (!n->dials[i].used)
			d = &n->dials[i];
	if (d == NULL)
		return SG_ERR_FULL;
	rc = sg_endpoint_dial(n->ep, (const struct sockaddr *)addr, id);
	if (rc != 0 && rc != SG_ERR_EXISTS)
		return rc;
	memset(d, 0, sizeof(*d));
	d->used = 1;
	d->addr = *addr;
	d->contact = contact;
	if (id != NULL) {
		d->id = *id;
		d->has_id = 1;
	}
	d->started = now_ms(n);
	n->st.dials++;
	*out = d;
	return 0;
}

static void hold_frame(sg_node *n, struct dial *d, const uint8_t *f,
		       size_t len)
{
	struct wframe *w;

	if (d->frames >= n->cfg.max_waiting_frames ||
	    d->bytes + len > n->cfg.max_waiting_bytes) {
		n->st.frames_waiting_dropped++;
		return;
	}
	w = sg_alloc(&n->env, sizeof(*w) + len);
	if (w == NULL) {
		n->st.frames_waiting_dropped++;
		return;
	}
	w->next = NULL;
	w->len = len;
	memcpy(w->buf, f, len);
	if (d->tail != NULL)
		d->tail->next = w;
	else
		d->head = w;
	d->tail = w;
	d->frames++;
	d->bytes += len;
}

/* Where to reach peer: the core's views, then the peer cache. */
static int peer_address(sg_node *n, const sg_peer_id *id,
			struct sockaddr_storage *sa)
{
	sg_memb_peer p;
	sg_peercache_entry e;

	if (sg_core_peer_addr(n->core, id, &p) == 0 &&
	    memb_to_sa(p.addr, p.addr_len, sa) == 0)
		return 0;
	if (n->pc != NULL && sg_peercache_get(n->pc, id, &e) == 0 &&
	    memb_to_sa(e.addr, e.addr_len, sa) == 0)
		return 0;
	return SG_ERR_NOTFOUND;
}

static void send_frame(sg_node *n, const sg_peer_id *to, const uint8_t *f,
		       size_t len)
{
	struct dial *d;
	struct sockaddr_storage sa;
	int rc;

	if (sg_peer_id_equal(to, &n->ident->id))
		return;
	rc = sg_endpoint_send(n->ep, to, f, len);
	if (rc == 0)
		return;
	if (rc != SG_ERR_NOTFOUND) {
		/* the connection's queue is full: QUIC back-pressure */
		n->st.frames_waiting_dropped++;
		return;
	}
	d = dial_by_id(n, to);
	if (d == NULL) {
		if (peer_address(n, to, &sa) != 0) {
			n->st.frames_waiting_dropped++;
			sg_core_peer_unreachable(n->core, to, now_ms(n));
			return;
		}
		if ((d = dial_by_addr(n, &sa)) == NULL) {
			rc = start_dial(n, &sa, to, 0, &d);
			if (rc != 0) {
				n->st.frames_waiting_dropped++;
				return;
			}
		}
	}
	hold_frame(n, d, f, len);
}

/* ---- control clients ----------------------------------------------------- */

struct wreq {
	uv_write_t req;
	struct ctl_client *cl;
	size_t len;
	uint8_t buf[];
};

static void ctl_close(struct ctl_client *cl);

static void on_ctl_written(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct ctl_client *cl = w->cl;
	sg_node *n = cl->n;

	cl->pending -= w->len;
	sg_free(&n->env, w);
	if (status < 0 && !cl->closing)
		ctl_close(cl);
}

/* Sends one control message (4-byte length, then body). */
static int ctl_send(struct ctl_client *cl, const uint8_t *body, size_t len)
{
	sg_node *n = cl->n;
	struct wreq *w;
	uv_buf_t b;

	if (cl->closing)
		return SG_ERR_CLOSED;
	if (cl->pending + len + 4 > CTL_MAX_PENDING) {
		sg_log(&n->env, SG_LOG_WARN, MOD,
		       "control client too slow, disconnected");
		ctl_close(cl);
		return SG_ERR_FULL;
	}
	w = sg_alloc(&n->env, sizeof(*w) + 4 + len);
	if (w == NULL)
		return SG_ERR_NOMEM;
	w->cl = cl;
	w->len = len + 4;
	w->buf[0] = (uint8_t)(len >> 24);
	w->buf[1] = (uint8_t)(len >> 16);
	w->buf[2] = (uint8_t)(len >> 8);
	w->buf[3] = (uint8_t)len;
	memcpy(w->buf + 4, body, len);
	b = uv_buf_init((char *)w->buf, (unsigned)(len + 4));
	if (uv_write(&w->req, (uv_stream_t *)&cl->pipe, &b, 1,
		     on_ctl_written) != 0) {
		sg_free(&n->env, w);
		ctl_close(cl);
		return SG_ERR_IO;
	}
	cl->pending += w->len;
	return 0;
}

static void ctl_error(struct ctl_client *cl, int code, const char *what)
{
	uint8_t buf[512];
	sg_cbor_enc e;
	long len;
	char msg[400];

	snprintf(msg, sizeof(msg), "%s: %s", what, sg_strerror(code));
	sg_cbor_enc_init(&e, buf, sizeof(buf));
	sg_cbor_put_array(&e, 2);
	sg_cbor_put_int(&e, code);
	sg_cbor_put_text(&e, msg, strlen(msg));
	len = sg_cbor_enc_finish(&e);
	if (len > 0)
		ctl_send(cl, buf, (size_t)len);
}

static void ctl_ok_simple(struct ctl_client *cl)
{
	const uint8_t ok[2] = {0x81, 0x00}; /* [0] */
	ctl_send(cl, ok, sizeof(ok));
}

/* A successful answer [0, field...] being built in a heap buffer. */
struct ctl_answer {
	sg_cbor_enc e;
	uint8_t *buf;
	size_t cap;
};

/* Starts an answer of `fields` fields after the 0 in `cap` bytes. On
 * failure the client has been told (`what`: no memory) and -1 returned. */
static int answer_begin(struct ctl_client *cl, struct ctl_answer *a,
			size_t cap, size_t fields, const char *what)
{
	a->cap = cap;
	a->buf = sg_alloc(&cl->n->env, cap);
	if (a->buf == NULL) {
		ctl_error(cl, SG_ERR_NOMEM, what);
		return -1;
	}
	sg_cbor_enc_init(&a->e, a->buf, cap);
	sg_cbor_put_array(&a->e, fields + 1);
	sg_cbor_put_uint(&a->e, 0);
	return 0;
}

/* Sends the answer (or the encoder's error, for `what`) and frees it. */
static void answer_end(struct ctl_client *cl, struct ctl_answer *a,
		       const char *what)
{
	long len = sg_cbor_enc_finish(&a->e);

	if (len > 0)
		ctl_send(cl, a->buf, (size_t)len);
	else
		ctl_error(cl, (int)len, what);
	sg_free(&cl->n->env, a->buf);
	a->buf = NULL;
}

static void free_all(sg_node *n);

/* One of the node's handles finished closing. */
static void handle_gone(sg_node *n)
{
	if (--n->handles > 0 || !n->left)
		return;
	if (n->leave_done != NULL) {
		void (*done)(void *) = n->leave_done;
		n->leave_done = NULL;
		done(n->leave_ud);
	}
	if (n->freeing)
		free_all(n);
}

static void rdv_release(sg_node *n, const char *cap, size_t len);

static void on_ctl_closed(uv_handle_t *h)
{
	struct ctl_client *cl = h->data;
	sg_node *n = cl->n;

	if (cl->rdv_finding) { /* gone before its find was answered */
		cl->rdv_finding = 0;
		if (cl->rdv_unsub && n->core != NULL)
			rdv_release(n, cl->rdv_cap, strlen(cl->rdv_cap));
	}
	sg_free(&n->env, cl->rbuf);
	memset(cl, 0, sizeof(*cl));
	cl->n = n;
	handle_gone(n);
}

static void ctl_close(struct ctl_client *cl)
{
	if (cl->closing || !cl->used)
		return;
	cl->closing = 1;
	uv_close((uv_handle_t *)&cl->pipe, on_ctl_closed);
}

static struct tname *tname_find(sg_node *n, const sg_topic_id *id)
{
	size_t i;

	for (i = 0; i < n->n_tnames; i++)
		if (memcmp(n->tnames[i].id.bytes, id->bytes, SG_TOPIC_ID_LEN) ==
		    0)
			return &n->tnames[i];
	return NULL;
}

static void tname_remember(sg_node *n, const sg_topic_id *id,
			   const char *name, size_t len)
{
	struct tname *t = tname_find(n, id);

	if (t == NULL) {
		if (n->n_tnames == n->cfg.core.max_topics)
			return;
		t = &n->tnames[n->n_tnames++];
	}
	t->id = *id;
	memcpy(t->name, name, len);
	t->name[len] = '\0';
}

static void tname_forget(sg_node *n, const sg_topic_id *id)
{
	struct tname *t = tname_find(n, id);

	if (t != NULL)
		*t = n->tnames[--n->n_tnames];
}

static void pump(sg_node *n);

static void ctl_status(struct ctl_client *cl)
{
	sg_node *n = cl->n;
	sg_node_stats st;
	char addr[80];
	struct ctl_answer a;

	sg_node_stats_get(n, &st);
	sg_node_format_addr((const struct sockaddr *)&n->local, addr,
			    sizeof(addr));
	if (answer_begin(cl, &a, 512, 11, "status") != 0)
		return;
	sg_cbor_put_bytes(&a.e, n->ident->id.bytes, SG_PEER_ID_LEN);
	sg_cbor_put_text(&a.e, addr, strlen(addr));
	sg_cbor_put_uint(&a.e, st.uptime_ms);
	sg_cbor_put_uint(&a.e, st.core.active);
	sg_cbor_put_uint(&a.e, st.core.passive);
	sg_cbor_put_uint(&a.e, st.core.topics);
	sg_cbor_put_uint(&a.e, st.core.published);
	sg_cbor_put_uint(&a.e, st.core.delivered);
	sg_cbor_put_uint(&a.e, st.ep.conns);
	sg_cbor_put_uint(&a.e, n->cfg.roles);
	sg_cbor_put_uint(&a.e, (uint64_t)SG_CTL_VERSION);
	answer_end(cl, &a, "status");
}

static void put_peer(sg_cbor_enc *e, const sg_peer_id *id,
		     const uint8_t *maddr, size_t alen, unsigned kind)
{
	struct sockaddr_storage sa;
	char addr[80] = "";

	if (memb_to_sa(maddr, alen, &sa) == 0)
		sg_node_format_addr((const struct sockaddr *)&sa, addr,
				    sizeof(addr));
	sg_cbor_put_array(e, 3);
	sg_cbor_put_bytes(e, id->bytes, SG_PEER_ID_LEN);
	sg_cbor_put_text(e, addr, strlen(addr));
	sg_cbor_put_uint(e, kind);
}

static void ctl_peers(struct ctl_client *cl)
{
	sg_node *n = cl->n;
	sg_peer_id act[64];
	sg_memb_peer *pas;
	size_t na, np, i;
	struct ctl_answer a;

	na = sg_core_active(n->core, act, 64);
	if (na > 64)
		na = 64;
	pas = sg_calloc(&n->env, 256, sizeof(*pas));
	if (pas == NULL) {
		ctl_error(cl, SG_ERR_NOMEM, "peers");
		return;
	}
	np = sg_core_passive(n->core, pas, 256);
	if (answer_begin(cl, &a, 64 + (na + np) * 160, 1, "peers") != 0) {
		sg_free(&n->env, pas);
		return;
	}
	sg_cbor_put_array(&a.e, na + np);
	for (i = 0; i < na; i++) {
		sg_memb_peer p;
		if (sg_core_peer_addr(n->core, &act[i], &p) != 0) {
			memset(&p, 0, sizeof(p));
			p.id = act[i];
		}
		put_peer(&a.e, &act[i], p.addr, p.addr_len, 1);
	}
	for (i = 0; i < np; i++)
		put_peer(&a.e, &pas[i].id, pas[i].addr, pas[i].addr_len, 2);
	answer_end(cl, &a, "peers");
	sg_free(&n->env, pas);
}

static void ctl_list(struct ctl_client *cl)
{
	sg_node *n = cl->n;
	sg_topic_id ids[256];
	size_t k = sg_core_topics(n->core, ids, 256), i;
	struct ctl_answer a;

	if (k > 256)
		k = 256;
	if (answer_begin(cl, &a, 32 + k * (SG_CTL_TOPIC_MAX + 48), 1,
			 "list") != 0)
		return;
	sg_cbor_put_array(&a.e, k);
	for (i = 0; i < k; i++) {
		struct tname *t = tname_find(n, &ids[i]);
		const char *name = t != NULL ? t->name : "";
		sg_peer_id nb[64];
		sg_cbor_put_array(&a.e, 3);
		sg_cbor_put_text(&a.e, name, strlen(name));
		sg_cbor_put_bytes(&a.e, ids[i].bytes, SG_TOPIC_ID_LEN);
		sg_cbor_put_uint(&a.e, sg_core_topic_neighbors(n->core, &ids[i],
							       nb, 64));
	}
	answer_end(cl, &a, "list");
}

static void leave_now(sg_node *n);
static void leave_overlay(sg_node *n);

/* FOAF: what this node can answer. A peer: its address (from the views,
 * the peer cache, or our own); a coordinator: PeerId then address. */
/* Where a member of one of our groups is: this node, its latest beacon,
 * or the core's views and the peer cache. */
static size_t member_addr(void *ud, const sg_peer_id *member,
			  uint8_t out[SG_GMAN_FOAF_ADDR_MAX])
{
	sg_node *n = ud;
	struct sockaddr_storage sa;
	size_t len;

	if (sg_peer_id_equal(member, &n->ident->id)) {
		if (n->self_addr_len > SG_GMAN_FOAF_ADDR_MAX)
			return 0;
		memcpy(out, n->self_addr, n->self_addr_len);
		return n->self_addr_len;
	}
	if ((len = sg_gman_member_addr(n->gman, member, wall_ms(n), out)) > 0)
		return len;
	if (peer_address(n, member, &sa) == 0) {
		uint8_t m[SG_MEMB_ADDR_MAX];
		if (sa_to_memb((const struct sockaddr *)&sa, m, &len) == 0 &&
		    len <= SG_GMAN_FOAF_ADDR_MAX) {
			memcpy(out, m, len);
			return len;
		}
	}
	return 0;
}

static size_t foaf_lookup(void *ud, sg_foaf_kind kind,
			  const uint8_t target[SG_FOAF_TARGET_LEN],
			  const sg_peer_id *from,
			  uint8_t answer[SG_FOAF_ANSWER_MAX])
{
	sg_node *n = ud;
	sg_peer_id id;
	sg_memb_peer p;
	sg_peercache_entry e[64];
	long k, i;
	(void)from;

	if (kind == SG_FOAF_PEER) {
		memcpy(id.bytes, target, SG_PEER_ID_LEN);
		if (sg_peer_id_equal(&id, &n->ident->id)) {
			memcpy(answer, n->self_addr, n->self_addr_len);
			return n->self_addr_len;
		}
		if (sg_core_peer_addr(n->core, &id, &p) == 0 &&
		    p.addr_len > 0) {
			memcpy(answer, p.addr, p.addr_len);
			return p.addr_len;
		}
		if (n->pc != NULL && sg_peercache_get(n->pc, &id, &e[0]) == 0 &&
		    e[0].addr_len > 0) {
			memcpy(answer, e[0].addr, e[0].addr_len);
			return e[0].addr_len;
		}
		return 0;
	}
	if (kind == SG_FOAF_GROUP) /* only a member can place the target */
		return sg_gman_foaf_answer(n->gman, target, member_addr, n,
					   answer, SG_FOAF_ANSWER_MAX);
	if (kind != SG_FOAF_COORDINATOR)
		return 0;
	if (n->cfg.roles & SG_ROLE_COORDINATOR) {
		memcpy(answer, n->ident->id.bytes, SG_PEER_ID_LEN);
		memcpy(answer + SG_PEER_ID_LEN, n->self_addr, n->self_addr_len);
		return SG_PEER_ID_LEN + n->self_addr_len;
	}
	k = n->pc != NULL ? sg_peercache_recent(n->pc, e, 64) : 0;
	for (i = 0; i < k; i++)
		if ((e[i].flags & SG_PEER_COORDINATOR) && e[i].addr_len > 0) {
			memcpy(answer, e[i].id.bytes, SG_PEER_ID_LEN);
			memcpy(answer + SG_PEER_ID_LEN, e[i].addr,
			       e[i].addr_len);
			return SG_PEER_ID_LEN + e[i].addr_len;
		}
	return 0;
}

/* Answers a FIND: [0, address: text, hops, peer: bstr(32)]. */
static void ctl_found(struct ctl_client *cl, sg_foaf_kind kind,
		      const uint8_t *target, const uint8_t *ans, size_t alen,
		      unsigned hops)
{
	struct sockaddr_storage sa;
	const uint8_t *peer = target, *addr = ans;
	char text[80];
	struct ctl_answer a;

	if (kind == SG_FOAF_COORDINATOR) {
		if (alen <= SG_PEER_ID_LEN) {
			ctl_error(cl, SG_ERR_MALFORMED, "find");
			return;
		}
		peer = ans;
		addr = ans + SG_PEER_ID_LEN;
		alen -= SG_PEER_ID_LEN;
	}
	if (memb_to_sa(addr, alen, &sa) != 0) {
		ctl_error(cl, SG_ERR_MALFORMED, "find: answer");
		return;
	}
	sg_node_format_addr((const struct sockaddr *)&sa, text, sizeof(text));
	if (answer_begin(cl, &a, 160, 3, "find") != 0)
		return;
	sg_cbor_put_text(&a.e, text, strlen(text));
	sg_cbor_put_uint(&a.e, hops);
	sg_cbor_put_bytes(&a.e, peer, SG_PEER_ID_LEN);
	answer_end(cl, &a, "find");
}

static void ctl_find(struct ctl_client *cl, const sg_ctl_request *r)
{
	sg_node *n = cl->n;
	uint8_t ans[SG_FOAF_ANSWER_MAX];
	sg_peer_id act[64];
	size_t alen, na;
	int rc;

	if (cl->finding) {
		ctl_error(cl, SG_ERR_STATE, "find: one at a time");
		return;
	}
	alen = foaf_lookup(n, (sg_foaf_kind)r->find_kind, r->target, NULL,
			   ans);
	if (alen > 0) { /* known here */
		ctl_found(cl, (sg_foaf_kind)r->find_kind, r->target, ans, alen,
			  0);
		return;
	}
	na = sg_core_active(n->core, act, 64);
	if (na > 64)
		na = 64;
	rc = sg_foaf_query(n->foaf, (sg_foaf_kind)r->find_kind, r->target,
			   (uint8_t)r->ttl, act, na, now_ms(n), cl->find_qid);
	if (rc != 0) {
		ctl_error(cl, rc, "find");
		return;
	}
	cl->finding = 1;
}

/* ---- rendezvous -------------------------------------------------------- */

static void rdv_topic(const char *cap, size_t len, char name[SG_RDV_TOPIC_NAME_LEN],
		      sg_topic_id *tid)
{
	sg_rdv_topic_name(name, sg_rdv_shard(cap, len));
	sg_topic_id_from_name(tid, name, strlen(name));
}

/* Publishes this node's summary for cap (expires 0: a withdrawal). */
static int rdv_publish(sg_node *n, const char *cap, size_t len, int withdraw)
{
	sg_rdv_summary s;
	uint8_t buf[SG_RDV_SUMMARY_MAX], rnd[32];
	char name[SG_RDV_TOPIC_NAME_LEN];
	sg_topic_id tid;
	long bl;
	int rc;

	memset(&s, 0, sizeof(s));
	s.cap = cap;
	s.cap_len = len;
	s.n_addrs = 1;
	s.addr_len[0] = (uint8_t)n->self_addr_len;
	memcpy(s.addrs[0], n->self_addr, n->self_addr_len);
	s.expires_ms = withdraw ? 0 : wall_ms(n) + RDV_TTL_MS;
	bl = sg_rdv_summary_encode(buf, sizeof(buf), &s);
	if (bl < 0)
		return (int)bl;
	if ((rc = sg_random(&n->env, rnd, sizeof(rnd))) != 0)
		return rc;
	rdv_topic(cap, len, name, &tid);
	rc = sg_core_publish(n->core, &tid, buf, (size_t)bl, rnd, now_ms(n),
			     wall_ms(n), NULL);
	if (rc == 0)
		tname_remember(n, &tid, name, strlen(name));
	return rc;
}

static long rdv_registered(const sg_node *n, const char *cap, size_t len)
{
	size_t i;

	for (i = 0; i < n->n_rdv_caps; i++)
		if (strlen(n->rdv_caps[i]) == len &&
		    memcmp(n->rdv_caps[i], cap, len) == 0)
			return (long)i;
	return -1;
}

/* Whether this node still needs the shard topic tid (a registered
 * capability or a waiting find on it). */
static int rdv_shard_in_use(const sg_node *n, const sg_topic_id *tid)
{
	char name[SG_RDV_TOPIC_NAME_LEN];
	sg_topic_id t;
	size_t i;

	for (i = 0; i < n->n_rdv_caps; i++) {
		rdv_topic(n->rdv_caps[i], strlen(n->rdv_caps[i]), name, &t);
		if (memcmp(t.bytes, tid->bytes, SG_TOPIC_ID_LEN) == 0)
			return 1;
	}
	for (i = 0; i < n->cfg.max_ctl_clients; i++) {
		const struct ctl_client *cl = &n->clients[i];
		if (!cl->used || !cl->rdv_finding)
			continue;
		rdv_topic(cl->rdv_cap, strlen(cl->rdv_cap), name, &t);
		if (memcmp(t.bytes, tid->bytes, SG_TOPIC_ID_LEN) == 0)
			return 1;
	}
	for (i = 0; i < RDV_LINGER; i++) {
		if (n->rdv_linger[i].cap[0] == '\0')
			continue;
		rdv_topic(n->rdv_linger[i].cap, strlen(n->rdv_linger[i].cap),
			  name, &t);
		if (memcmp(t.bytes, tid->bytes, SG_TOPIC_ID_LEN) == 0)
			return 1;
	}
	return 0;
}

/* Ends a lingering stay in a shard (slot i), unless it is still used. */
static void rdv_linger_end(sg_node *n, size_t i)
{
	char cap[SG_RDV_CAP_MAX + 1];

	memcpy(cap, n->rdv_linger[i].cap, sizeof(cap));
	n->rdv_linger[i].cap[0] = '\0';
	rdv_release(n, cap, strlen(cap));
}

/* The lingering slot of capability cap, or -1. */
static long rdv_linger_find(const sg_node *n, const char *cap)
{
	size_t i;

	for (i = 0; i < RDV_LINGER; i++)
		if (strcmp(n->rdv_linger[i].cap, cap) == 0)
			return (long)i;
	return -1;
}

/* After a find: stay in the shard for RDV_LINGER_MS (the oldest stay
 * ends when the table is full). */
static void rdv_linger_start(sg_node *n, const char *cap)
{
	size_t i, pick = 0;
	long k = rdv_linger_find(n, cap);

	if (k >= 0) {
		n->rdv_linger[k].until = now_ms(n) + RDV_LINGER_MS;
		return;
	}
	for (i = 0; i < RDV_LINGER; i++) {
		if (n->rdv_linger[i].cap[0] == '\0') {
			pick = i;
			break;
		}
		if (n->rdv_linger[i].until < n->rdv_linger[pick].until)
			pick = i;
	}
	if (n->rdv_linger[pick].cap[0] != '\0')
		rdv_linger_end(n, pick);
	snprintf(n->rdv_linger[pick].cap, sizeof(n->rdv_linger[pick].cap), "%s",
		 cap);
	n->rdv_linger[pick].until = now_ms(n) + RDV_LINGER_MS;
}

static void rdv_release(sg_node *n, const char *cap, size_t len)
{
	char name[SG_RDV_TOPIC_NAME_LEN];
	sg_topic_id tid;

	rdv_topic(cap, len, name, &tid);
	if (!rdv_shard_in_use(n, &tid) &&
	    sg_core_unsubscribe(n->core, &tid, now_ms(n)) == 0)
		tname_forget(n, &tid);
}

/* A delivered message on a shard topic: a provider's summary. */
static void rdv_deliver(sg_node *n, const sg_core_event *ev)
{
	sg_rdv_summary s;
	int rc = sg_rdv_summary_decode(&s, ev->msg.payload, ev->msg.payload_len);

	if (rc == 0)
		rc = sg_rdv_table_put(n->rdv, &ev->msg.hdr.publisher,
				      ev->msg.hdr.seq, &s, wall_ms(n),
				      2 * RDV_TTL_MS);
	if (rc != 0 && rc != SG_ERR_REPLAY)
		sg_log(&n->env, SG_LOG_DEBUG, MOD,
		       "rendezvous summary refused: %s", sg_strerror(rc));
}

/* [0, [ *[provider: bstr(32), [ *address: text ], expires_ms] ]] */
static void rdv_answer(struct ctl_client *cl)
{
	sg_node *n = cl->n;
	sg_rdv_entry *e;
	size_t k, i, j;
	struct ctl_answer a;

	e = sg_calloc(&n->env, 64, sizeof(*e));
	if (e == NULL) {
		ctl_error(cl, SG_ERR_NOMEM, "find");
		return;
	}
	k = sg_rdv_table_find(n->rdv, cl->rdv_cap, strlen(cl->rdv_cap),
			      wall_ms(n), e, 64);
	if (k > 64)
		k = 64;
	if (answer_begin(cl, &a, 32 + k * (48 + SG_RDV_ADDRS_MAX * 64), 1,
			 "find") != 0) {
		sg_free(&n->env, e);
		return;
	}
	sg_cbor_put_array(&a.e, k);
	for (i = 0; i < k; i++) {
		sg_cbor_put_array(&a.e, 3);
		sg_cbor_put_bytes(&a.e, e[i].provider.bytes, SG_PEER_ID_LEN);
		sg_cbor_put_array(&a.e, e[i].n_addrs);
		for (j = 0; j < e[i].n_addrs; j++) {
			struct sockaddr_storage sa;
			char text[80] = "?";
			if (memb_to_sa(e[i].addrs[j], e[i].addr_len[j], &sa) ==
			    0)
				sg_node_format_addr((const struct sockaddr *)&sa,
						    text, sizeof(text));
			sg_cbor_put_text(&a.e, text, strlen(text));
		}
		sg_cbor_put_uint(&a.e, e[i].expires_ms);
	}
	answer_end(cl, &a, "find");
	sg_free(&n->env, e);
	cl->rdv_finding = 0;
	if (cl->rdv_unsub)
		rdv_linger_start(n, cl->rdv_cap);
}

static void ctl_rdv(struct ctl_client *cl, const sg_ctl_request *r)
{
	sg_node *n = cl->n;
	char name[SG_RDV_TOPIC_NAME_LEN];
	sg_topic_id tid;
	long i;
	int rc;

	if (memchr(r->topic, 0, r->topic_len) != NULL) {
		ctl_error(cl, SG_ERR_INVAL, "capability");
		return;
	}
	rdv_topic(r->topic, r->topic_len, name, &tid);
	i = rdv_registered(n, r->topic, r->topic_len);
	switch (r->op) {
	case SG_CTL_RDV_REGISTER: {
		struct ctl_answer a;
		if (i < 0 && n->n_rdv_caps == RDV_MAX_REGISTERED) {
			ctl_error(cl, SG_ERR_FULL, "register");
			return;
		}
		if ((rc = rdv_publish(n, r->topic, r->topic_len, 0)) != 0) {
			ctl_error(cl, rc, "register");
			return;
		}
		if (i < 0) {
			memcpy(n->rdv_caps[n->n_rdv_caps], r->topic,
			       r->topic_len);
			n->rdv_caps[n->n_rdv_caps++][r->topic_len] = '\0';
		}
		sg_log(&n->env, SG_LOG_INFO, MOD,
		       "rendezvous: registered '%s' (shard %04x)",
		       n->rdv_caps[i < 0 ? (long)n->n_rdv_caps - 1 : i],
		       (unsigned)sg_rdv_shard(r->topic, r->topic_len));
		if (answer_begin(cl, &a, 16, 1, "register") != 0)
			return;
		sg_cbor_put_uint(&a.e, sg_rdv_shard(r->topic, r->topic_len));
		answer_end(cl, &a, "register");
		return;
	}
	case SG_CTL_RDV_UNREGISTER:
		if (i < 0) {
			ctl_error(cl, SG_ERR_NOTFOUND, "unregister");
			return;
		}
		memcpy(n->rdv_caps[i], n->rdv_caps[n->n_rdv_caps - 1],
		       sizeof(n->rdv_caps[i]));
		n->n_rdv_caps--;
		(void)rdv_publish(n, r->topic, r->topic_len, 1);
		/* stay a while: a lazy link only announces the withdrawal,
		 * and the others fetch it from us */
		{
			char cap[SG_RDV_CAP_MAX + 1];
			snprintf(cap, sizeof(cap), "%.*s", (int)r->topic_len,
				 r->topic);
			rdv_linger_start(n, cap);
		}
		ctl_ok_simple(cl);
		return;
	default: /* RDV_FIND */
		if (cl->rdv_finding) {
			ctl_error(cl, SG_ERR_STATE, "find: one at a time");
			return;
		}
		memcpy(cl->rdv_cap, r->topic, r->topic_len);
		cl->rdv_cap[r->topic_len] = '\0';
		cl->rdv_unsub = rdv_linger_find(n, cl->rdv_cap) >= 0;
		if (!sg_core_is_subscribed(n->core, &tid)) {
			rc = sg_core_subscribe(n->core, &tid, now_ms(n));
			if (rc != 0) {
				ctl_error(cl, rc, "find");
				return;
			}
			tname_remember(n, &tid, name, strlen(name));
			cl->rdv_unsub = 1;
		}
		cl->rdv_finding = 1;
		cl->rdv_deadline = now_ms(n) + r->wait_ms;
		if (r->wait_ms == 0)
			rdv_answer(cl);
		return;
	}
}

/* Finds whose wait is over are answered; registered summaries are
 * re-published before they expire. */
static void rdv_housekeep(sg_node *n, uint64_t now)
{
	size_t i;

	for (i = 0; i < n->cfg.max_ctl_clients; i++) {
		struct ctl_client *cl = &n->clients[i];
		if (cl->used && !cl->closing && cl->rdv_finding &&
		    now >= cl->rdv_deadline)
			rdv_answer(cl);
	}
	for (i = 0; i < RDV_LINGER; i++)
		if (n->rdv_linger[i].cap[0] != '\0' &&
		    now >= n->rdv_linger[i].until)
			rdv_linger_end(n, i);
	if (n->n_rdv_caps > 0 && now >= n->next_rdv_publish) {
		for (i = 0; i < n->n_rdv_caps; i++)
			(void)rdv_publish(n, n->rdv_caps[i],
					  strlen(n->rdv_caps[i]), 0);
		n->next_rdv_publish = now + RDV_REPUBLISH_MS;
	}
}

static void invite_found(struct ctl_client *cl, const sg_foaf_event *ev);
static void member_found(struct ctl_client *cl, const sg_foaf_event *ev);
static void remember_peer(sg_node *n, const sg_peer_id *id,
			  const struct sockaddr_storage *sa, uint32_t flags);

static void foaf_event(sg_node *n, const sg_foaf_event *ev)
{
	size_t i;

	for (i = 0; i < n->cfg.max_ctl_clients; i++) {
		struct ctl_client *cl = &n->clients[i];
		if (!cl->used || cl->closing || !cl->finding ||
		    memcmp(cl->find_qid, ev->qid, SG_FOAF_QID_LEN) != 0)
			continue;
		cl->finding = 0;
		if (cl->card_finding) {
			invite_found(cl, ev);
			continue;
		}
		if (cl->member_finding) {
			member_found(cl, ev);
			continue;
		}
		if (ev->type == SG_FOAF_FOUND)
			ctl_found(cl, ev->kind, ev->target, ev->answer,
				  ev->answer_len, ev->hops);
		else
			ctl_error(cl, SG_ERR_NOTFOUND,
				  "find: no answer within the TTL");
	}
}

/* ---- groups and presence (src/node/gman.h) ------------------------------ */

/* Wall-clock deadline of the group manager, as a monotonic one. */
static uint64_t gman_deadline(const sg_node *n)
{
	uint64_t d = sg_gman_next_deadline(n->gman), w = wall_ms(n);

	if (d == UINT64_MAX)
		return UINT64_MAX;
	return d <= w ? now_ms(n) : now_ms(n) + (d - w);
}

static int group_path(const sg_node *n, const uint8_t *gid, char *out,
		      size_t cap, const char *suffix)
{
	char hex[2 * SG_GROUP_ID_LEN + 1];

	sg_hex_encode(hex, sizeof(hex), gid, SG_GROUP_ID_LEN);
	return snprintf(out, cap, "%s/%s/%s%s", n->cfg.data_dir, GROUPS_DIR,
			hex, suffix) >= (int)cap
		       ? SG_ERR_RANGE
		       : 0;
}

/* Writes a group's state file: a temporary file (0600), fsync, rename,
 * so a crash leaves the old or the new state, never a torn one. */
static void group_save(sg_node *n, const uint8_t *gid)
{
	char path[4096], tmp[4200];
	size_t cap = sg_gman_export_bound(n->gman, gid);
	uint8_t *buf;
	long len;
	int fd, ok = 0;

	if (cap == 0 || group_path(n, gid, path, sizeof(path), ".group") != 0)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	buf = sg_alloc(&n->env, cap);
	if (buf == NULL)
		return;
	len = sg_gman_export(n->gman, gid, buf, cap);
	if (len > 0 &&
	    (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) >=
		    0) {
		size_t off = 0;
		while (off < (size_t)len) {
			ssize_t w = write(fd, buf + off, (size_t)len - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		ok = off == (size_t)len && fsync(fd) == 0;
		ok = close(fd) == 0 && ok;
		ok = ok && rename(tmp, path) == 0;
		if (!ok)
			unlink(tmp);
	}
	sg_wipe(buf, cap);
	sg_free(&n->env, buf);
	if (!ok)
		sg_log(&n->env, SG_LOG_ERROR, MOD, "cannot save group state %s: %s",
		       path, len < 0 ? sg_strerror((int)len) : strerror(errno));
}

/* Loads every <id>.group file of the groups directory. A file that does
 * not load is reported and left as it is. */
static void groups_load(sg_node *n)
{
	char dir[4096], path[4400];
	DIR *dp;
	struct dirent *de;

	if (snprintf(dir, sizeof(dir), "%s/%s", n->cfg.data_dir, GROUPS_DIR) >=
	    (int)sizeof(dir))
		return;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		sg_log(&n->env, SG_LOG_ERROR, MOD, "cannot create %s: %s", dir,
		       strerror(errno));
		return;
	}
	if ((dp = opendir(dir)) == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		size_t nl = strlen(de->d_name), len;
		uint8_t *buf;
		FILE *f;
		int rc;
		if (nl != 2 * SG_GROUP_ID_LEN + 6 ||
		    strcmp(de->d_name + 2 * SG_GROUP_ID_LEN, ".group") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((f = fopen(path, "rb")) == NULL)
			continue;
		buf = sg_alloc(&n->env, GROUP_FILE_MAX);
		len = buf != NULL ? fread(buf, 1, GROUP_FILE_MAX, f) : 0;
		fclose(f);
		rc = len == GROUP_FILE_MAX ? SG_ERR_RANGE
		     : buf == NULL	     ? SG_ERR_NOMEM
					     : sg_gman_load(n->gman, buf, len,
							    wall_ms(n));
		if (buf != NULL) {
			sg_wipe(buf, len);
			sg_free(&n->env, buf);
		}
		if (rc != 0)
			sg_log(&n->env, SG_LOG_ERROR, MOD,
			       "group state %s not loaded (left as it is): %s",
			       path, sg_strerror(rc));
	}
	closedir(dp);
}

static void log_group(sg_node *n, sg_log_level lvl, const uint8_t *gid,
		      const char *what, const sg_peer_id *peer)
{
	char g[17], p[SG_PEER_ID_SHORT_HEX_LEN];
	size_t idx;
	const char *name = "?";
	size_t nl = 1;

	sg_hex_encode(g, sizeof(g), gid, 8);
	if (sg_gman_find(n->gman, g, 16, &idx) == 0)
		name = sg_group_name(sg_gman_group(n->gman, idx), &nl);
	if (peer != NULL)
		sg_peer_id_short(p, peer);
	sg_log(&n->env, lvl, MOD, "group %.*s (%s): %s%s%s", (int)nl, name, g,
	       what, peer != NULL ? " " : "", peer != NULL ? p : "");
}

/* [2, group name, sender: bstr(32), epoch, message: bstr] to every
 * client listening to the group. */
static void group_message_to_clients(sg_node *n, const sg_gman_event *ev)
{
	size_t i, idx, nl, cap = ev->len + SG_GROUP_NAME_MAX + 96;
	const char *name = "";
	uint8_t *buf = NULL;
	long len = 0;

	if (sg_gman_by_topic(n->gman, &ev->topic, &idx) == 0)
		name = sg_group_name(sg_gman_group(n->gman, idx), &nl);
	else
		nl = 0;
	for (i = 0; i < n->cfg.max_ctl_clients; i++) {
		struct ctl_client *cl = &n->clients[i];
		if (!cl->used || cl->closing || !cl->group_listening ||
		    memcmp(cl->listen_gid, ev->group_id, SG_GROUP_ID_LEN) != 0)
			continue;
		if (buf == NULL) {
			sg_cbor_enc e;
			if ((buf = sg_alloc(&n->env, cap)) == NULL)
				return;
			sg_cbor_enc_init(&e, buf, cap);
			sg_cbor_put_array(&e, 5);
			sg_cbor_put_uint(&e, SG_CTL_EV_GROUP_MESSAGE);
			sg_cbor_put_text(&e, name, nl);
			sg_cbor_put_bytes(&e, ev->peer.bytes, SG_PEER_ID_LEN);
			sg_cbor_put_uint(&e, ev->epoch);
			sg_cbor_put_bytes(&e, ev->len > 0 ? ev->data
							  : (const uint8_t *)"",
					  ev->len);
			len = sg_cbor_enc_finish(&e);
		}
		if (len > 0)
			ctl_send(cl, buf, (size_t)len);
	}
	if (buf != NULL) {
		sg_wipe(buf, cap);
		sg_free(&n->env, buf);
	}
}

static void gman_invite_ready(sg_node *n, const sg_gman_event *ev);

static void gman_event(sg_node *n, const sg_gman_event *ev)
{
	char path[4096], buf[64];
	int rc;

	switch (ev->type) {
	case SG_GMAN_EV_SAVE:
		group_save(n, ev->group_id);
		break;
	case SG_GMAN_EV_SUBSCRIBE:
		rc = sg_core_subscribe(n->core, &ev->topic, now_ms(n));
		if (rc != 0 && rc != SG_ERR_EXISTS)
			log_group(n, SG_LOG_ERROR, ev->group_id,
				  "cannot join the group's topic", NULL);
		break;
	case SG_GMAN_EV_GONE:
		(void)sg_core_unsubscribe(n->core, &ev->topic, now_ms(n));
		if (group_path(n, ev->group_id, path, sizeof(path), ".group") ==
			    0 &&
		    unlink(path) != 0 && errno != ENOENT)
			sg_log(&n->env, SG_LOG_ERROR, MOD, "cannot remove %s: %s",
			       path, strerror(errno));
		break;
	case SG_GMAN_EV_EPOCH:
		snprintf(buf, sizeof(buf), "epoch %llu by",
			 (unsigned long long)ev->epoch);
		log_group(n, SG_LOG_INFO, ev->group_id, buf, &ev->peer);
		break;
	case SG_GMAN_EV_ONLINE:
	case SG_GMAN_EV_OFFLINE: {
		int on = ev->type == SG_GMAN_EV_ONLINE;
		size_t idx;
		log_group(n, SG_LOG_INFO, ev->group_id,
			  on ? "online:" : "offline:", &ev->peer);
		if (n->presence_cb != NULL &&
		    sg_gman_by_topic(n->gman, &ev->topic, &idx) == 0) {
			size_t nl;
			const char *name =
				sg_group_name(sg_gman_group(n->gman, idx), &nl);
			n->presence_cb(n->presence_ud, name, nl, &ev->peer, on);
		}
		break;
	}
	case SG_GMAN_EV_LEAVE_SEEN:
		log_group(n, SG_LOG_INFO, ev->group_id, "leaves:", &ev->peer);
		break;
	case SG_GMAN_EV_REMOVED:
		log_group(n, SG_LOG_WARN, ev->group_id,
			  "this node was removed by", &ev->peer);
		break;
	case SG_GMAN_EV_MESSAGE:
		log_group(n, SG_LOG_DEBUG, ev->group_id, "message from",
			  &ev->peer);
		group_message_to_clients(n, ev);
		break;
	case SG_GMAN_EV_INVITE:
		gman_invite_ready(n, ev);
		break;
	}
}

/* Publishes what the group manager queued, then handles its events. */
static void gman_pump(sg_node *n)
{
	sg_topic_id t;
	const uint8_t *p;
	size_t len;
	sg_gman_event ev;

	while ((len = sg_gman_poll_tx(n->gman, &t, &p)) > 0) {
		uint8_t rnd[32], id[SG_MSG_ID_LEN];
		int rc = sg_random(&n->env, rnd, sizeof(rnd));
		if (rc == 0)
			rc = sg_core_publish(n->core, &t, p, len, rnd,
					     now_ms(n), wall_ms(n), id);
		if (rc != 0)
			sg_log(&n->env, SG_LOG_WARN, MOD,
			       "group payload not published: %s",
			       sg_strerror(rc));
	}
	while (sg_gman_poll_event(n->gman, &ev))
		gman_event(n, &ev);
}

/* Finds the request's group for a control client, or answers the error. */
static int ctl_group_sel(struct ctl_client *cl, const sg_ctl_request *r,
			 size_t *idx)
{
	char msg[SG_CTL_TOPIC_MAX + 80];
	int rc = sg_gman_find(cl->n->gman, r->topic, r->topic_len, idx);

	if (rc == 0)
		return 0;
	snprintf(msg, sizeof(msg),
		 rc == SG_ERR_EXISTS ? "'%.*s' names more than one group (use "
				       "its id)"
				     : "no group '%.*s' on this node",
		 (int)r->topic_len, r->topic);
	ctl_error(cl, rc, msg);
	return rc;
}

/* Sends [0, bytes] to a control client. */
static void ctl_ok_bytes(struct ctl_client *cl, const uint8_t *p, size_t len)
{
	struct ctl_answer a;

	if (answer_begin(cl, &a, len + 16, 1, "answer") != 0)
		return;
	sg_cbor_put_bytes(&a.e, p, len);
	answer_end(cl, &a, "answer");
}

/* Answers a waiting GROUP_INVITE once the invitee's card is here. */
static void ctl_invite_card(struct ctl_client *cl, const uint8_t *card,
			    size_t card_len)
{
	sg_node *n = cl->n;
	size_t idx;
	int rc;

	cl->card_waiting = 0;
	rc = sg_gman_find(n->gman, cl->group_sel, strlen(cl->group_sel), &idx);
	if (rc != 0) {
		ctl_error(cl, rc, "invite: the group is gone");
		return;
	}
	rc = sg_gman_invite(n->gman, idx, card, card_len, wall_ms(n),
			    cl->invite_valid_ms, &cl->invite_ticket);
	if (rc != 0) {
		ctl_error(cl, rc, "invite");
		return;
	}
	cl->invite_settling = 1; /* answered by gman_invite_ready() */
}

/* The group manager made the invite a client waits for (once the epoch
 * that adds the member settled), or gave up on it. */
static void gman_invite_ready(sg_node *n, const sg_gman_event *ev)
{
	size_t i;

	if (ev->status == 0)
		log_group(n, SG_LOG_INFO, ev->group_id, "invite ready for",
			  &ev->peer);
	else
		log_group(n, SG_LOG_WARN, ev->group_id, "no invite for",
			  &ev->peer);
	for (i = 0; i < n->cfg.max_ctl_clients; i++) {
		struct ctl_client *cl = &n->clients[i];
		if (!cl->used || cl->closing || !cl->invite_settling ||
		    cl->invite_ticket != ev->ticket)
			continue;
		cl->invite_settling = 0;
		if (ev->status == 0)
			ctl_ok_bytes(cl, ev->data, ev->len);
		else
			ctl_error(cl, ev->status,
				  ev->status == SG_ERR_TIMEOUT
				      ? "invite: the group kept changing; "
					"the addition did not settle"
				      : "invite");
	}
}

/* Asks the invitee for its member card; answers the client on failure. */
static int invite_ask_card(struct ctl_client *cl)
{
	sg_node *n = cl->n;
	int rc = sg_core_send_discovery(n->core, &cl->card_peer, DISC_CARD_REQ,
					NULL, 0);

	if (rc != 0) {
		ctl_error(cl, rc, "invite: card request");
		return rc;
	}
	cl->card_waiting = 1;
	cl->card_deadline = now_ms(n) + CARD_WAIT_MS;
	return 0;
}

/* The FOAF answer to where the invitee is: kept in the peer cache (so
 * the node can dial it), then its card is asked for. */
static void invite_found(struct ctl_client *cl, const sg_foaf_event *ev)
{
	sg_node *n = cl->n;
	struct sockaddr_storage sa;

	cl->card_finding = 0;
	if (ev->type != SG_FOAF_FOUND ||
	    memb_to_sa(ev->answer, ev->answer_len, &sa) != 0) {
		ctl_error(cl, SG_ERR_NOTFOUND,
			  "invite: the peer was not found (friends of "
			  "friends did not answer; is it online?)");
		return;
	}
	remember_peer(n, &cl->card_peer, &sa, 0);
	(void)invite_ask_card(cl);
}

/* The answer to a FIND_MEMBER: opened with the group's key. */
static void member_found(struct ctl_client *cl, const sg_foaf_event *ev)
{
	sg_node *n = cl->n;
	uint8_t addr[SG_GMAN_FOAF_ADDR_MAX];
	size_t idx;
	long al;

	cl->member_finding = 0;
	if (ev->type != SG_FOAF_FOUND) {
		ctl_error(cl, SG_ERR_NOTFOUND, "find: no answer within the TTL");
		return;
	}
	if (sg_gman_find(n->gman, cl->group_sel, strlen(cl->group_sel),
			 &idx) != 0) {
		ctl_error(cl, SG_ERR_NOTFOUND, "find: the group is gone");
		return;
	}
	al = sg_gman_foaf_open(n->gman, idx, ev->target, ev->answer,
			       ev->answer_len, addr);
	if (al < 0) {
		ctl_error(cl, (int)al, "find: the answer does not open");
		return;
	}
	ctl_found(cl, SG_FOAF_PEER, cl->card_peer.bytes, addr, (size_t)al,
		  ev->hops);
}

/* A member card arrived (DISC_CARD): checked, then handed to the control
 * clients waiting for that peer's card. */
static void on_card(sg_node *n, const sg_peer_id *from, const uint8_t *card,
		    size_t len)
{
	sg_peer_id id;
	size_t i;

	if (sg_group_card_verify(&id, card, len) != 0 ||
	    !sg_peer_id_equal(&id, from)) {
		n->st.bad_cards++;
		log_peer(n, SG_LOG_WARN, "invalid member card from", from,
			 NULL);
		return;
	}
	for (i = 0; i < n->cfg.max_ctl_clients; i++) {
		struct ctl_client *cl = &n->clients[i];
		if (cl->used && !cl->closing && cl->card_waiting &&
		    sg_peer_id_equal(&cl->card_peer, from))
			ctl_invite_card(cl, card, len);
	}
}

static void ctl_group_list(struct ctl_client *cl)
{
	sg_node *n = cl->n;
	size_t k = sg_gman_count(n->gman), i, j;
	struct ctl_answer a;

	if (answer_begin(cl, &a,
			 64 + k * (SG_GROUP_NAME_MAX + 96 +
				   SG_GROUP_MAX_MEMBERS * (SG_PEER_ID_LEN + 4)),
			 1, "list") != 0)
		return;
	sg_cbor_put_array(&a.e, k);
	for (i = 0; i < k; i++) {
		const sg_group *g = sg_gman_group(n->gman, i);
		size_t nl, m = sg_group_member_count(g);
		const char *name = sg_group_name(g, &nl);
		sg_cbor_put_array(&a.e, 5);
		sg_cbor_put_bytes(&a.e, sg_group_id(g), SG_GROUP_ID_LEN);
		sg_cbor_put_text(&a.e, name, nl);
		sg_cbor_put_uint(&a.e, sg_group_epoch(g));
		sg_cbor_put_bool(&a.e, sg_gman_presence_on(n->gman, i));
		sg_cbor_put_array(&a.e, m);
		for (j = 0; j < m; j++) {
			sg_peer_id id;
			memset(&id, 0, sizeof(id));
			(void)sg_group_member(g, j, &id);
			sg_cbor_put_bytes(&a.e, id.bytes, SG_PEER_ID_LEN);
		}
	}
	answer_end(cl, &a, "list");
}

static void ctl_presence_online(struct ctl_client *cl, size_t idx)
{
	sg_node *n = cl->n;
	sg_presence_entry *ents;
	size_t k, i, j;
	struct ctl_answer a;

	ents = sg_calloc(&n->env, SG_GROUP_MAX_MEMBERS, sizeof(*ents));
	if (ents == NULL) {
		ctl_error(cl, SG_ERR_NOMEM, "online");
		return;
	}
	if (answer_begin(cl, &a,
			 64 + SG_GROUP_MAX_MEMBERS *
				      (SG_PEER_ID_LEN + 48 +
				       SG_PRESENCE_MAX_ADDRS * 64),
			 1, "online") != 0) {
		sg_free(&n->env, ents);
		return;
	}
	k = sg_gman_online(n->gman, idx, wall_ms(n), ents, SG_GROUP_MAX_MEMBERS);
	if (k > SG_GROUP_MAX_MEMBERS)
		k = SG_GROUP_MAX_MEMBERS;
	sg_cbor_put_array(&a.e, k);
	for (i = 0; i < k; i++) {
		sg_cbor_put_array(&a.e, 4);
		sg_cbor_put_bytes(&a.e, ents[i].member.bytes, SG_PEER_ID_LEN);
		sg_cbor_put_uint(&a.e, ents[i].last_seen_ms);
		sg_cbor_put_uint(&a.e, ents[i].expires_ms);
		sg_cbor_put_array(&a.e, ents[i].naddrs);
		for (j = 0; j < ents[i].naddrs; j++) {
			uint8_t m[SG_MEMB_ADDR_MAX];
			struct sockaddr_storage sa;
			char text[80] = "?";
			long ml = sg_core_addr_encode(m, &ents[i].addrs[j]);
			if (ml > 0 && memb_to_sa(m, (size_t)ml, &sa) == 0)
				sg_node_format_addr((const struct sockaddr *)&sa,
						    text, sizeof(text));
			sg_cbor_put_text(&a.e, text, strlen(text));
		}
	}
	answer_end(cl, &a, "online");
	sg_free(&n->env, ents);
}

static void ctl_group(struct ctl_client *cl, const sg_ctl_request *r)
{
	sg_node *n = cl->n;
	uint64_t wall = wall_ms(n);
	size_t idx;
	int rc;

	switch (r->op) {
	case SG_CTL_GROUP_CREATE:
		rc = sg_gman_create(n->gman, r->topic, r->topic_len, wall, &idx);
		if (rc != 0) {
			ctl_error(cl, rc,
				  rc == SG_ERR_EXISTS
					  ? "create: this node has a group of "
					    "that name"
					  : "create");
			return;
		}
		log_group(n, SG_LOG_INFO, sg_group_id(sg_gman_group(n->gman, idx)),
			  "created", NULL);
		ctl_ok_bytes(cl, sg_group_id(sg_gman_group(n->gman, idx)),
			     SG_GROUP_ID_LEN);
		return;
	case SG_CTL_GROUP_JOIN:
		rc = sg_gman_join(n->gman, r->payload, r->payload_len, wall,
				  &idx);
		if (rc != 0) {
			ctl_error(cl, rc,
				  rc == SG_ERR_PERM ? "join: the invite is for "
						      "another peer"
				  : rc == SG_ERR_EXISTS
					  ? "join: already in this group"
					  : "join: invite refused");
			return;
		}
		log_group(n, SG_LOG_INFO, sg_group_id(sg_gman_group(n->gman, idx)),
			  "joined", NULL);
		ctl_ok_bytes(cl, sg_group_id(sg_gman_group(n->gman, idx)),
			     SG_GROUP_ID_LEN);
		return;
	case SG_CTL_GROUP_LIST:
		ctl_group_list(cl);
		return;
	default:
		break;
	}
	if (ctl_group_sel(cl, r, &idx) != 0)
		return;
	switch (r->op) {
	case SG_CTL_GROUP_INVITE: {
		sg_peer_id to;
		memcpy(to.bytes, r->target, SG_PEER_ID_LEN);
		if (sg_peer_id_equal(&to, &n->ident->id)) {
			ctl_error(cl, SG_ERR_INVAL,
				  "invite: a node cannot invite itself");
			return;
		}
		if (cl->card_waiting || cl->card_finding ||
		    cl->invite_settling || cl->finding) {
			ctl_error(cl, SG_ERR_STATE, "invite: one at a time");
			return;
		}
		cl->card_peer = to;
		cl->invite_valid_ms = r->valid_ms;
		if (!sg_endpoint_is_connected(n->ep, &to)) {
			struct sockaddr_storage sa;
			if (peer_address(n, &to, &sa) != 0) {
				/* ask friends of friends where it is first */
				sg_peer_id act[64];
				size_t na = sg_core_active(n->core, act, 64);
				if (na > 64)
					na = 64;
				rc = sg_foaf_query(n->foaf, SG_FOAF_PEER,
						   to.bytes, 0, act, na,
						   now_ms(n), cl->find_qid);
				if (rc != 0) {
					ctl_error(cl, rc, "invite: find peer");
					return;
				}
				cl->finding = 1;
				cl->card_finding = 1;
			}
		}
		if (!cl->card_finding && (rc = invite_ask_card(cl)) != 0)
			return;
		/* the group by its id: names may repeat */
		sg_hex_encode(cl->group_sel, sizeof(cl->group_sel),
			      sg_group_id(sg_gman_group(n->gman, idx)),
			      SG_GROUP_ID_LEN);
		return;
	}
	case SG_CTL_GROUP_LEAVE:
		rc = sg_gman_leave(n->gman, idx, wall);
		if (rc != 0) {
			ctl_error(cl, rc, "leave");
			return;
		}
		log_group(n, SG_LOG_INFO, sg_group_id(sg_gman_group(n->gman, idx)),
			  "leaving", NULL);
		ctl_ok_simple(cl);
		return;
	case SG_CTL_PRESENCE_START:
		rc = sg_gman_presence_start(n->gman, idx, wall);
		if (rc != 0) {
			ctl_error(cl, rc, "presence start");
			return;
		}
		ctl_ok_simple(cl);
		return;
	case SG_CTL_PRESENCE_STOP:
		rc = sg_gman_presence_stop(n->gman, idx, wall);
		if (rc != 0) {
			ctl_error(cl, rc,
				  rc == SG_ERR_STATE
					  ? "presence stop: presence is not on"
					  : "presence stop");
			return;
		}
		ctl_ok_simple(cl);
		return;
	case SG_CTL_PRESENCE_ONLINE:
		ctl_presence_online(cl, idx);
		return;
	case SG_CTL_GROUP_SEND:
		rc = sg_gman_send(n->gman, idx, r->payload, r->payload_len);
		if (rc != 0) {
			ctl_error(cl, rc, "send");
			return;
		}
		ctl_ok_simple(cl);
		return;
	case SG_CTL_GROUP_LISTEN:
		if (cl->group_listening || cl->subscribed) {
			ctl_error(cl, SG_ERR_STATE, "listen: one stream per "
						    "connection");
			return;
		}
		memcpy(cl->listen_gid, sg_group_id(sg_gman_group(n->gman, idx)),
		       SG_GROUP_ID_LEN);
		cl->group_listening = 1;
		ctl_ok_simple(cl);
		return;
	case SG_CTL_FIND_MEMBER: {
		uint8_t target[32];
		sg_peer_id act[64];
		size_t na;
		if (cl->finding) {
			ctl_error(cl, SG_ERR_STATE, "find: one at a time");
			return;
		}
		memcpy(cl->card_peer.bytes, r->target, SG_PEER_ID_LEN);
		if (!sg_group_is_member(sg_gman_group(n->gman, idx),
					&cl->card_peer)) {
			ctl_error(cl, SG_ERR_NOTFOUND,
				  "find: not a member of that group");
			return;
		}
		rc = sg_gman_foaf_target(n->gman, idx, &cl->card_peer, target);
		na = sg_core_active(n->core, act, 64);
		if (na > 64)
			na = 64;
		if (rc == 0)
			rc = sg_foaf_query(n->foaf, SG_FOAF_GROUP, target,
					   (uint8_t)r->ttl, act, na, now_ms(n),
					   cl->find_qid);
		if (rc != 0) {
			ctl_error(cl, rc, "find");
			return;
		}
		sg_hex_encode(cl->group_sel, sizeof(cl->group_sel),
			      sg_group_id(sg_gman_group(n->gman, idx)),
			      SG_GROUP_ID_LEN);
		cl->finding = 1;
		cl->member_finding = 1;
		return;
	}
	default:
		ctl_error(cl, SG_ERR_UNSUPPORTED, "request");
		return;
	}
}

static void ctl_request(struct ctl_client *cl, const uint8_t *body,
			size_t len)
{
	sg_node *n = cl->n;
	sg_ctl_request r;
	sg_topic_id tid;
	int rc = sg_ctl_request_decode(&r, body, len);

	if (rc != 0) {
		n->st.ctl_rejected++;
		sg_log(&n->env, SG_LOG_WARN, MOD,
		       "control request rejected: %s", sg_strerror(rc));
		ctl_error(cl, rc, "request");
		return;
	}
	if (r.topic != NULL)
		sg_topic_id_from_name(&tid, r.topic, r.topic_len);
	switch (r.op) {
	case SG_CTL_STATUS:
		ctl_status(cl);
		break;
	case SG_CTL_PEERS:
		ctl_peers(cl);
		break;
	case SG_CTL_LIST:
		ctl_list(cl);
		break;
	case SG_CTL_FIND:
		ctl_find(cl, &r);
		break;
	case SG_CTL_RDV_REGISTER:
	case SG_CTL_RDV_UNREGISTER:
	case SG_CTL_RDV_FIND:
		ctl_rdv(cl, &r);
		break;
	case SG_CTL_GROUP_CREATE:
	case SG_CTL_GROUP_INVITE:
	case SG_CTL_GROUP_JOIN:
	case SG_CTL_GROUP_LEAVE:
	case SG_CTL_GROUP_LIST:
	case SG_CTL_PRESENCE_START:
	case SG_CTL_PRESENCE_STOP:
	case SG_CTL_PRESENCE_ONLINE:
	case SG_CTL_FIND_MEMBER:
	case SG_CTL_GROUP_SEND:
	case SG_CTL_GROUP_LISTEN:
		ctl_group(cl, &r);
		break;
	case SG_CTL_LEAVE:
		ctl_ok_simple(cl);
		sg_log(&n->env, SG_LOG_INFO, MOD, "leave requested");
		leave_now(n);
		break;
	case SG_CTL_SUBSCRIBE:
		rc = sg_core_subscribe(n->core, &tid, now_ms(n));
		if (rc != 0 && rc != SG_ERR_EXISTS) {
			ctl_error(cl, rc, "subscribe");
			break;
		}
		tname_remember(n, &tid, r.topic, r.topic_len);
		cl->subscribed = 1;
		cl->sub = tid;
		memcpy(cl->sub_name, r.topic, r.topic_len);
		cl->sub_name[r.topic_len] = '\0';
		ctl_ok_simple(cl);
		sg_log(&n->env, SG_LOG_INFO, MOD, "subscribed topic=%s",
		       cl->sub_name);
		break;
	case SG_CTL_UNSUBSCRIBE:
		rc = sg_core_unsubscribe(n->core, &tid, now_ms(n));
		if (rc != 0) {
			ctl_error(cl, rc, "unsubscribe");
			break;
		}
		tname_forget(n, &tid);
		ctl_ok_simple(cl);
		break;
	case SG_CTL_PUBLISH: {
		uint8_t id[SG_MSG_ID_LEN], rnd[32];
		if (sg_random(&n->env, rnd, sizeof(rnd)) != 0) {
			ctl_error(cl, SG_ERR_CRYPTO, "publish");
			break;
		}
		rc = sg_core_publish(n->core, &tid, r.payload, r.payload_len,
				     rnd, now_ms(n), wall_ms(n), id);
		if (rc != 0) {
			ctl_error(cl, rc, "publish");
			break;
		}
		tname_remember(n, &tid, r.topic, r.topic_len);
		ctl_ok_bytes(cl, id, sizeof(id));
		break;
	}
	}
	pump(n);
}

static void on_ctl_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct ctl_client *cl = h->data;
	sg_node *n = cl->n;
	size_t want = cl->rlen + 65536;
	(void)suggested;

	if (want > 4 + SG_CTL_MAX_MSG)
		want = 4 + SG_CTL_MAX_MSG;
	if (want > cl->rcap) {
		uint8_t *p = sg_realloc(&n->env, cl->rbuf, want);
		if (p != NULL) {
			cl->rbuf = p;
			cl->rcap = want;
		}
	}
	if (cl->rbuf == NULL || cl->rlen >= cl->rcap) {
		*buf = uv_buf_init(NULL, 0);
		return;
	}
	*buf = uv_buf_init((char *)cl->rbuf + cl->rlen,
			   (unsigned)(cl->rcap - cl->rlen));
}

static void on_ctl_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ctl_client *cl = s->data;
	sg_node *n = cl->n;
	(void)buf;

	if (nread < 0) {
		ctl_close(cl);
		return;
	}
	if (nread == 0)
		return;
	if (buf->base == NULL) {
		ctl_close(cl);
		return;
	}
	cl->rlen += (size_t)nread;
	while (!cl->closing && cl->rlen >= 4) {
		size_t len = (size_t)cl->rbuf[0] << 24 |
			     (size_t)cl->rbuf[1] << 16 |
			     (size_t)cl->rbuf[2] << 8 | cl->rbuf[3];
		if (len > SG_CTL_MAX_MSG) {
			n->st.ctl_rejected++;
			sg_log(&n->env, SG_LOG_WARN, MOD,
			       "control client sent a %zu-byte message "
			       "(limit %u): disconnected",
			       len, (unsigned)SG_CTL_MAX_MSG);
			ctl_error(cl, SG_ERR_RANGE, "message length");
			ctl_close(cl);
			return;
		}
		if (cl->rlen < 4 + len)
			break;
		ctl_request(cl, cl->rbuf + 4, len);
		memmove(cl->rbuf, cl->rbuf + 4 + len, cl->rlen - 4 - len);
		cl->rlen -= 4 + len;
	}
}

static void on_refused_closed(uv_handle_t *h)
{
	sg_node *n = h->data;

	sg_free(&n->env, h);
	handle_gone(n);
}

static void on_ctl_connection(uv_stream_t *server, int status)
{
	sg_node *n = server->data;
	struct ctl_client *cl = NULL;
	size_t i;

	if (status < 0)
		return;
	for (i = 0; i < n->cfg.max_ctl_clients && cl == NULL; i++)
		if (!n->clients[i].used)
			cl = &n->clients[i];
	if (cl == NULL) {
		/* Accept and close at once, so the client is not left
		 * waiting. */
		uv_pipe_t *tmp = sg_alloc(&n->env, sizeof(*tmp));
		n->st.ctl_rejected++;
		sg_log(&n->env, SG_LOG_WARN, MOD,
		       "too many control clients: one refused");
		if (tmp == NULL)
			return;
		uv_pipe_init(n->loop, tmp, 0);
		tmp->data = n;
		n->handles++;
		(void)uv_accept(server, (uv_stream_t *)tmp);
		uv_close((uv_handle_t *)tmp, on_refused_closed);
		return;
	}
	memset(cl, 0, sizeof(*cl));
	cl->n = n;
	cl->used = 1;
	uv_pipe_init(n->loop, &cl->pipe, 0);
	cl->pipe.data = cl;
	n->handles++;
	if (uv_accept(server, (uv_stream_t *)&cl->pipe) != 0 ||
	    uv_read_start((uv_stream_t *)&cl->pipe, on_ctl_alloc,
			  on_ctl_read) != 0)
		ctl_close(cl);
}

/* ---- direct requests --------------------------------------------------- */

static int direct_send(sg_node *n, const sg_peer_id *to, int type,
		       uint64_t id, int status, const uint8_t *body,
		       size_t len)
{
	size_t cap = len + SG_DIRECT_OVERHEAD;
	uint8_t *buf = sg_alloc(&n->env, cap);
	sg_direct d = {type, id, status, body, len};
	long el;
	int rc;

	if (buf == NULL)
		return SG_ERR_NOMEM;
	el = sg_direct_encode(buf, cap, &d);
	rc = el < 0 ? (int)el : sg_core_send_direct(n->core, to, buf, (size_t)el);
	sg_free(&n->env, buf);
	pump(n);
	return rc;
}

static void on_direct(sg_node *n, const sg_core_event *ev)
{
	sg_direct d;
	size_t i;

	if (sg_direct_decode(&d, ev->data, ev->len) != 0) {
		n->st.direct_refused++;
		log_peer(n, SG_LOG_WARN, "malformed direct frame from",
			 &ev->peer.id, NULL);
		return;
	}
	if (d.type == SG_DIRECT_REQUEST) {
		if (n->request_cb != NULL)
			n->request_cb(n->request_ud, &ev->peer.id, d.id, d.body,
				      d.len);
		else
			(void)direct_send(n, &ev->peer.id, SG_DIRECT_RESPONSE,
					  d.id, SG_ERR_UNSUPPORTED, NULL, 0);
		return;
	}
	for (i = 0; i < MAX_REQUESTS; i++) {
		struct request *r = &n->requests[i];
		if (r->used && r->id == d.id &&
		    sg_peer_id_equal(&r->to, &ev->peer.id)) {
			r->used = 0;
			if (n->response_cb != NULL)
				n->response_cb(n->response_ud, &ev->peer.id,
					       d.id, d.status, d.body, d.len);
			return;
		}
	}
	n->st.responses_unmatched++;
}

static void requests_expire(sg_node *n, uint64_t now)
{
	size_t i;

	for (i = 0; i < MAX_REQUESTS; i++) {
		struct request *r = &n->requests[i];
		if (r->used && now >= r->deadline) {
			r->used = 0;
			if (n->response_cb != NULL)
				n->response_cb(n->response_ud, &r->to, r->id,
					       SG_ERR_TIMEOUT, NULL, 0);
		}
	}
}

void sg_node_set_request_cb(sg_node *n, sg_node_request_cb cb, void *ud)
{
	n->request_cb = cb;
	n->request_ud = ud;
}

void sg_node_set_response_cb(sg_node *n, sg_node_response_cb cb, void *ud)
{
	n->response_cb = cb;
	n->response_ud = ud;
}

int sg_node_request(sg_node *n, const sg_peer_id *to, const uint8_t *body,
		    size_t len, uint32_t timeout_ms, uint64_t *id)
{
	struct sockaddr_storage sa;
	struct request *slot = NULL;
	size_t i;
	int rc;

	if (len > SG_NODE_DIRECT_MAX || timeout_ms < 100 ||
	    timeout_ms > 600000)
		return SG_ERR_RANGE;
	if (sg_peer_id_equal(to, &n->ident->id))
		return SG_ERR_INVAL;
	if (n->leaving || n->left)
		return SG_ERR_CLOSED;
	if (!sg_endpoint_is_connected(n->ep, to) && dial_by_id(n, to) == NULL &&
	    peer_address(n, to, &sa) != 0)
		return SG_ERR_NOTFOUND;
	for (i = 0; i < MAX_REQUESTS && slot == NULL; i++)
		if (!n->requests[i].used)
			slot = &n->requests[i];
	if (slot == NULL)
		return SG_ERR_FULL;
	slot->id = n->next_request_id++;
	rc = direct_send(n, to, SG_DIRECT_REQUEST, slot->id, 0, body, len);
	if (rc != 0)
		return rc;
	slot->used = 1;
	slot->to = *to;
	slot->deadline = now_ms(n) + timeout_ms;
	if (id != NULL)
		*id = slot->id;
	return 0;
}

int sg_node_respond(sg_node *n, const sg_peer_id *to, uint64_t id, int status,
		    const uint8_t *body, size_t len)
{
	if (len > SG_NODE_DIRECT_MAX || status > 0 ||
	    status < SG_DIRECT_STATUS_MIN)
		return SG_ERR_RANGE;
	if (n->leaving || n->left)
		return SG_ERR_CLOSED;
	return direct_send(n, to, SG_DIRECT_RESPONSE, id, status,
			   status == 0 ? body : NULL, status == 0 ? len : 0);
}

/* The group manager, this node's member card, and the groups it is in. */
static int groups_start(sg_node *n)
{
	sg_gman_config gc;
	sg_addr a;
	uint8_t rnd[32];
	int rc;

	sg_gman_config_default(&gc);
	if (n->cfg.presence_interval_ms > 0) {
		gc.presence.interval_ms = n->cfg.presence_interval_ms;
		gc.presence.jitter_ms = n->cfg.presence_interval_ms / 10;
	}
	if (n->cfg.presence_validity_ms > 0)
		gc.presence.validity_ms = n->cfg.presence_validity_ms;
	if (gc.presence.validity_ms < gc.presence.interval_ms) {
		sg_log(&n->env, SG_LOG_ERROR, MOD,
		       "presence beacons must stay valid for at least one "
		       "interval");
		return SG_ERR_INVAL;
	}
	rc = sg_core_addr_decode(&a, n->self_addr, n->self_addr_len);
	n->gman = sg_gman_new(&n->env, &gc, n->ident, &a, rc == 0 ? 1 : 0);
	if (n->gman == NULL) {
		sg_log(&n->env, SG_LOG_ERROR, MOD,
		       "bad presence settings (interval %u ms, validity %u ms)",
		       gc.presence.interval_ms, gc.presence.validity_ms);
		return SG_ERR_INVAL;
	}
	if ((rc = sg_random(&n->env, rnd, sizeof(rnd))) != 0)
		return rc;
	if (sg_group_card_make(n->card, sizeof(n->card), n->ident, rnd) !=
	    (long)sizeof(n->card))
		return SG_ERR_CRYPTO;
	groups_load(n);
	return 0;
}

/* ---- events from the core --------------------------------------------- */

static void deliver_to_clients(sg_node *n, const sg_core_event *ev)
{
	size_t i, cap;
	uint8_t *buf = NULL;
	long len = 0;

	for (i = 0; i < n->cfg.max_ctl_clients; i++) {
		struct ctl_client *cl = &n->clients[i];
		if (!cl->used || cl->closing || !cl->subscribed ||
		    memcmp(cl->sub.bytes, ev->topic.bytes, SG_TOPIC_ID_LEN) !=
			    0)
			continue;
		if (buf == NULL) {
			sg_cbor_enc e;
			cap = ev->msg.payload_len + SG_CTL_TOPIC_MAX + 256;
			buf = sg_alloc(&n->env, cap);
			if (buf == NULL)
				return;
			sg_cbor_enc_init(&e, buf, cap);
			sg_cbor_put_array(&e, 8);
			sg_cbor_put_uint(&e, SG_CTL_EV_MESSAGE);
			sg_cbor_put_text(&e, cl->sub_name,
					 strlen(cl->sub_name));
			sg_cbor_put_bytes(&e, ev->msg.hdr.publisher.bytes,
					  SG_PEER_ID_LEN);
			sg_cbor_put_uint(&e, ev->msg.hdr.seq);
			sg_cbor_put_uint(&e, ev->msg.hdr.publish_ms);
			sg_cbor_put_uint(&e, ev->hops);
			sg_cbor_put_bytes(&e, ev->msg.id, SG_MSG_ID_LEN);
			sg_cbor_put_bytes(&e, ev->msg.payload,
					  ev->msg.payload_len);
			len = sg_cbor_enc_finish(&e);
		}
		if (len > 0)
			ctl_send(cl, buf, (size_t)len);
	}
	sg_free(&n->env, buf);
}

static void remember_peer(sg_node *n, const sg_peer_id *id,
			  const struct sockaddr_storage *sa, uint32_t flags)
{
	sg_peercache_entry e;
	size_t alen = 0;
	int rc;

	if (n->pc == NULL)
		return;
	memset(&e, 0, sizeof(e));
	e.id = *id;
	if (sa_to_memb((const struct sockaddr *)sa, e.addr, &alen) != 0)
		return;
	e.addr_len = (uint8_t)alen;
	e.last_seen_ms = wall_ms(n);
	e.flags = flags;
	rc = sg_peercache_put(n->pc, &e);
	if (rc != 0)
		sg_log(&n->env, SG_LOG_WARN, MOD, "peer cache: %s",
		       sg_strerror(rc));
}

static void on_discovery(sg_node *n, const sg_core_event *ev)
{
	if (ev->kind == DISC_ADVERT) {
		sg_advert adv;
		int rc = sg_advert_decode_verify(&adv, ev->data, ev->len,
						 wall_ms(n), 300000);
		if (rc != 0) {
			log_peer(n, SG_LOG_WARN, "invalid advert from",
				 &ev->peer.id, NULL);
			return;
		}
		if (n->pc != NULL &&
		    !sg_peer_id_equal(&adv.id, &n->ident->id)) {
			rc = sg_peercache_put_advert(n->pc, &adv.id, adv.seq,
						     adv.not_after_ms,
						     ev->data, ev->len);
			if (rc == 0) {
				uint8_t m[SG_MEMB_ADDR_MAX];
				struct sockaddr_storage sa;
				long ml;
				log_peer(n, SG_LOG_INFO, "stored advert of",
					 &adv.id, NULL);
				/* The coordinator itself, at the address it
				 * signed: kept in the cache for rejoining. */
				if (adv.naddrs > 0 &&
				    (ml = sg_core_addr_encode(m, &adv.addrs[0])) >
					    0 &&
				    memb_to_sa(m, (size_t)ml, &sa) == 0)
					remember_peer(n, &adv.id, &sa,
						      SG_PEER_COORDINATOR);
			}
		}
		if (adv.roles & SG_ROLE_RELAY)
			relay_remember(n, &adv.id);
	} else if (ev->kind == SG_FOAF_KIND_QUERY ||
		   ev->kind == SG_FOAF_KIND_ANSWER) {
		uint8_t body[1 + SG_CORE_DISCOVERY_MAX];
		sg_peer_id act[64];
		size_t na = sg_core_active(n->core, act, 64);
		if (na > 64)
			na = 64;
		body[0] = ev->kind;
		memcpy(body + 1, ev->data, ev->len);
		(void)sg_foaf_recv(n->foaf, &ev->peer.id, body, ev->len + 1,
				   act, na, now_ms(n));
	} else if (ev->kind == DISC_CARD_REQ) {
		(void)sg_core_send_discovery(n->core, &ev->peer.id, DISC_CARD,
					     n->card, sizeof(n->card));
	} else if (ev->kind == DISC_CARD) {
		on_card(n, &ev->peer.id, ev->data, ev->len);
	} else if (ev->kind == DISC_OBSERVED) {
		struct sockaddr_storage sa;
		char addr[80];
		if (memb_to_sa(ev->data, ev->len, &sa) != 0)
			return;
		sg_node_format_addr((const struct sockaddr *)&sa, addr,
				    sizeof(addr));
		sg_log(&n->env, SG_LOG_INFO, MOD,
		       "reflector sees this node at %s", addr);
	}
}

struct advert_ctx {
	sg_node *n;
	const sg_peer_id *to;
	size_t sent;
};

#define ADVERTS_FORWARDED_MAX 8

static void forward_advert(void *ud, const sg_peer_id *id,
			   const uint8_t *advert, size_t len)
{
	struct advert_ctx *ac = ud;

	if (ac->sent >= ADVERTS_FORWARDED_MAX || sg_peer_id_equal(id, ac->to))
		return;
	if (sg_core_send_discovery(ac->n->core, ac->to, DISC_ADVERT, advert,
				   len) == 0)
		ac->sent++;
}

static void handle_event(sg_node *n, const sg_core_event *ev)
{
	struct sockaddr_storage sa;

	switch (ev->type) {
	case SG_CORE_DELIVER:
		/* at most once per message, also across restarts */
		if (n->pc != NULL &&
		    sg_peercache_delivered(n->pc, ev->msg.id,
					   ev->msg.hdr.expires_ms + SKEW_MS,
					   wall_ms(n)) == 1) {
			n->st.redelivered_dropped++;
			break;
		}
		if (n->env.log != NULL && n->env.log_level >= SG_LOG_DEBUG) {
			char pub[SG_PEER_ID_SHORT_HEX_LEN];
			sg_peer_id_short(pub, &ev->msg.hdr.publisher);
			sg_log(&n->env, SG_LOG_DEBUG, MOD,
			       "deliver publisher=%s seq=%llu bytes=%zu hops=%u",
			       pub, (unsigned long long)ev->msg.hdr.seq,
			       ev->msg.payload_len, ev->hops);
		}
		if (sg_gman_recv(n->gman, &ev->topic, &ev->msg.hdr.publisher,
				 ev->msg.payload, ev->msg.payload_len,
				 wall_ms(n)) != SG_ERR_NOTFOUND)
			break; /* a group topic: the group manager's */
		{
			struct tname *t = tname_find(n, &ev->topic);
			if (t != NULL && strncmp(t->name, RDV_PREFIX,
						 strlen(RDV_PREFIX)) == 0)
				rdv_deliver(n, ev);
		}
		deliver_to_clients(n, ev);
		if (n->deliver_cb != NULL)
			n->deliver_cb(n->deliver_ud, &ev->topic, &ev->msg,
				      ev->hops);
		break;
	case SG_CORE_NEIGHBOR_UP:
		if (memb_to_sa(ev->peer.addr, ev->peer.addr_len, &sa) == 0) {
			log_peer(n, SG_LOG_INFO, "neighbour up", &ev->peer.id,
				 &sa);
			remember_peer(n, &ev->peer.id, &sa, 0);
		}
		if ((n->cfg.roles & SG_ROLE_COORDINATOR) && n->advert != NULL) {
			struct advert_ctx ac = {n, &ev->peer.id, 0};
			sg_core_send_discovery(n->core, &ev->peer.id,
					       DISC_ADVERT, n->advert,
					       n->advert_len);
			/* and the other coordinators' adverts it knows */
			if (n->pc != NULL)
				sg_peercache_each_advert(n->pc, wall_ms(n),
							 forward_advert, &ac);
		}
		break;
	case SG_CORE_NEIGHBOR_DOWN:
		log_peer(n, SG_LOG_INFO, "neighbour down", &ev->peer.id, NULL);
		break;
	case SG_CORE_PEER_DEAD:
		log_peer(n, SG_LOG_INFO, "peer declared dead", &ev->peer.id,
			 NULL);
		break;
	case SG_CORE_PEER_LEFT:
		log_peer(n, SG_LOG_INFO, "peer left", &ev->peer.id, NULL);
		break;
	case SG_CORE_MISBEHAVED:
		log_peer(n, SG_LOG_WARN, "misbehaving peer disconnected",
			 &ev->peer.id, NULL);
		sg_endpoint_close_peer(n->ep, &ev->peer.id);
		break;
	case SG_CORE_DISCOVERY:
		on_discovery(n, ev);
		break;
	case SG_CORE_DIRECT:
		on_direct(n, ev);
		break;
	}
}

static void on_timer(uv_timer_t *t);

static void rearm(sg_node *n)
{
	uint64_t d, now = now_ms(n);

	if (n->left || (n->leaving && !n->saying_goodbye))
		return; /* the timer waits out the leave grace */
	d = sg_core_next_deadline(n->core);
	if (sg_foaf_next_deadline(n->foaf) < d)
		d = sg_foaf_next_deadline(n->foaf);
	if (gman_deadline(n) < d)
		d = gman_deadline(n);
	if (n->next_housekeep < d)
		d = n->next_housekeep;
	if (n->saying_goodbye && n->goodbye_end < d)
		d = n->goodbye_end;
	uv_timer_start(&n->timer, on_timer, d > now ? d - now : 0, 0);
}

/* Events first (they may queue frames), then frames. */
static void pump(sg_node *n)
{
	sg_core_event ev;
	sg_peer_id to;
	const uint8_t *f;
	size_t len;
	int again = 1;

	if (n->left)
		return;
	while (again) {
		sg_foaf_event fev;
		const uint8_t *fb;
		again = 0;
		while (sg_core_poll_event(n->core, &ev))
			handle_event(n, &ev);
		while (sg_foaf_poll_event(n->foaf, &fev))
			foaf_event(n, &fev);
		while ((len = sg_foaf_poll_tx(n->foaf, &to, &fb)) > 0)
			sg_core_send_discovery(n->core, &to, fb[0], fb + 1,
					       len - 1);
		gman_pump(n);
		while ((len = sg_core_poll_tx(n->core, &to, &f)) > 0) {
			send_frame(n, &to, f, len);
			again = 1;
		}
	}
	rearm(n);
}

/* ---- endpoint events ------------------------------------------------- */

static void on_connected(sg_node *n, const struct sockaddr *remote,
			 const sg_peer_id *peer)
{
	struct sockaddr_storage sa;
	struct conn *c = NULL;
	struct dial *d;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	memcpy(&sa, remote,
	       remote->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					     : sizeof(struct sockaddr_in));
	c = conn_by_addr(n, &sa);
	for (i = 0; i < n->cfg.ep.max_conns && c == NULL; i++)
		if (!n->conns[i].used)
			c = &n->conns[i];
	if (c != NULL) {
		c->used = 1;
		c->addr = sa;
		c->id = *peer;
	}
	if (sg_endpoint_addr_is_virtual(remote)) {
		sg_peer_id via;
		char rh[SG_PEER_ID_SHORT_HEX_LEN] = "?";
		if (sg_endpoint_relayed_path(n->ep, remote, &via, NULL))
			sg_peer_id_short(rh, &via);
		log_peer(n, SG_LOG_INFO, "connected through relay", peer,
			 NULL);
		sg_log(&n->env, SG_LOG_DEBUG, MOD, "relay of that path: %s",
		       rh);
	} else {
		log_peer(n, SG_LOG_DEBUG, "connected", peer, &sa);
	}
	if ((n->cfg.roles & SG_ROLE_REFLECTOR) != 0 &&
	    !sg_endpoint_addr_is_virtual(remote)) {
		uint8_t m[SG_MEMB_ADDR_MAX];
		size_t ml = 0;
		if (sa_to_memb(remote, m, &ml) == 0)
			sg_core_send_discovery(n->core, peer, DISC_OBSERVED, m,
					       ml);
	}
	/* Frames held for it, by address (a contact without PeerId) or by
	 * PeerId (a dial that ended up on another address). */
	while ((d = dial_by_addr(n, &sa)) != NULL ||
	       (d = dial_by_id(n, peer)) != NULL) {
		struct wframe *f;
		if (d->contact) {
			sg_memb_peer p;
			size_t alen = 0;
			char hex[SG_PEER_ID_HEX_LEN];
			memset(&p, 0, sizeof(p));
			p.id = *peer;
			sa_to_memb(remote, p.addr, &alen);
			p.addr_len = (uint8_t)alen;
			sg_peer_id_hex(hex, peer);
			sg_log(&n->env, SG_LOG_INFO, MOD,
			       "unpinned contact answered as %s: pinned in "
			       "the peer cache",
			       hex);
			remember_peer(n, peer, &sa, SG_PEER_PINNED);
			sg_core_add_contact(n->core, &p);
			sg_core_join(n->core, now_ms(n));
		} else if (d->has_id && !sg_peer_id_equal(&d->id, peer)) {
			log_peer(n, SG_LOG_WARN,
				 "dialled peer answered with another PeerId",
				 peer, &sa);
		}
		for (f = d->head; f != NULL; f = f->next)
			if (sg_endpoint_send(n->ep, peer, f->buf, f->len) != 0)
				n->st.frames_waiting_dropped++;
		dial_free(n, d);
	}
}

static void on_closed(sg_node *n, const struct sockaddr *remote, int error)
{
	struct sockaddr_storage sa;
	struct conn *c;
	struct dial *d;

	memset(&sa, 0, sizeof(sa));
	memcpy(&sa, remote,
	       remote->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					     : sizeof(struct sockaddr_in));
	c = conn_by_addr(n, &sa);
	if (c != NULL) {
		sg_peer_id id = c->id;
		memset(c, 0, sizeof(*c));
		log_peer(n, SG_LOG_DEBUG, "connection closed", &id, &sa);
		/* A neighbour's connection is the neighbour; other
		 * connections (idle passive peers, or one superseded by the
		 * peer's newer connection) just end. */
		if (sg_core_is_active(n->core, &id) &&
		    !sg_endpoint_is_connected(n->ep, &id))
			sg_core_peer_unreachable(n->core, &id, now_ms(n));
	} else if ((d = dial_by_addr(n, &sa)) != NULL) {
		dial_failed(n, d, error != 0 ? sg_strerror(error) : "closed");
	}
}

static void on_endpoint(void *ud, sg_endpoint *ep, const struct sockaddr *remote,
			const sg_quic_event *ev)
{
	sg_node *n = ud;
	(void)ep;

	if (n->left)
		return;
	switch (ev->type) {
	case SG_QUIC_CONNECTED:
		on_connected(n, remote, &ev->peer);
		break;
	case SG_QUIC_MESSAGE: {
		int rc = sg_core_recv(n->core, &ev->peer, ev->data, ev->len,
				      now_ms(n), wall_ms(n));
		if (rc != 0 && n->env.log != NULL &&
		    n->env.log_level >= SG_LOG_DEBUG) {
			char hex[SG_PEER_ID_SHORT_HEX_LEN];
			sg_peer_id_short(hex, &ev->peer);
			sg_log(&n->env, SG_LOG_DEBUG, MOD,
			       "frame from %s dropped: %s", hex,
			       sg_strerror(rc));
		}
		break;
	}
	case SG_QUIC_CLOSED:
		on_closed(n, remote, ev->error);
		break;
	default:
		break;
	}
	pump(n);
}

/* ---- timer: core deadlines and housekeeping -------------------------- */

static void make_advert(sg_node *n)
{
	sg_advert adv;
	uint8_t rnd[32], buf[8192];
	long len;
	sg_addr a;

	memset(&adv, 0, sizeof(adv));
	adv.roles = n->cfg.roles;
	adv.nat = SG_NAT_UNKNOWN;
	if (sg_core_addr_decode(&a, n->self_addr, n->self_addr_len) == 0) {
		adv.addrs[0] = a;
		adv.naddrs = 1;
	}
	adv.seq = ++n->advert_seq;
	adv.not_before_ms = wall_ms(n) - 60000;
	adv.not_after_ms = wall_ms(n) + 3 * n->cfg.advert_interval_ms;
	if (adv.not_after_ms - adv.not_before_ms > SG_ADVERT_MAX_VALIDITY_MS)
		adv.not_after_ms = adv.not_before_ms + SG_ADVERT_MAX_VALIDITY_MS;
	if (sg_random(&n->env, rnd, sizeof(rnd)) != 0)
		return;
	len = sg_advert_sign(buf, sizeof(buf), &adv, n->ident, rnd);
	if (len < 0) {
		sg_log(&n->env, SG_LOG_WARN, MOD, "advert: %s",
		       sg_strerror((int)len));
		return;
	}
	sg_free(&n->env, n->advert);
	n->advert = sg_alloc(&n->env, (size_t)len);
	if (n->advert == NULL)
		return;
	memcpy(n->advert, buf, (size_t)len);
	n->advert_len = (size_t)len;
	if (n->pc != NULL)
		sg_peercache_set_u64(n->pc, "advert_seq", n->advert_seq);
}

/* The coordinator re-signs its advert and hands it to its neighbours,
 * which keep it in their peer caches. */
static void publish_advert(sg_node *n)
{
	sg_peer_id act[64];
	size_t k, i;

	make_advert(n);
	if (n->advert == NULL)
		return;
	k = sg_core_active(n->core, act, 64);
	if (k > 64)
		k = 64;
	for (i = 0; i < k; i++)
		sg_core_send_discovery(n->core, &act[i], DISC_ADVERT,
				       n->advert, n->advert_len);
	sg_log(&n->env, SG_LOG_INFO, MOD, "advert seq %llu sent to %zu peers",
	       (unsigned long long)n->advert_seq, k);
}

static void housekeep(sg_node *n, uint64_t now)
{
	size_t i;

	for (i = 0; i < n->max_dials; i++)
		if (n->dials[i].used &&
		    now >= n->dials[i].started + DIAL_TIMEOUT_MS)
			dial_failed(n, &n->dials[i], "timed out");
	rdv_housekeep(n, now);
	requests_expire(n, now);
	relay_housekeep(n, now);
	for (i = 0; i < n->cfg.max_ctl_clients; i++) {
		struct ctl_client *cl = &n->clients[i];
		if (cl->used && !cl->closing && cl->card_waiting &&
		    now >= cl->card_deadline) {
			cl->card_waiting = 0;
			ctl_error(cl, SG_ERR_TIMEOUT,
				  "invite: the peer did not send its member "
				  "card (is it online and reachable?)");
		}
	}
	if ((n->cfg.roles & SG_ROLE_COORDINATOR) && now >= n->next_advert) {
		publish_advert(n);
		n->next_advert = now + n->cfg.advert_interval_ms;
	}
}

static void on_timer(uv_timer_t *t)
{
	sg_node *n = t->data;
	uint64_t now = now_ms(n);

	if (n->left)
		return;
	if (now >= n->next_housekeep) {
		housekeep(n, now);
		n->next_housekeep = now + HOUSEKEEP_MS;
	}
	if (sg_core_next_deadline(n->core) <= now)
		sg_core_tick(n->core, now);
	if (sg_foaf_next_deadline(n->foaf) <= now)
		sg_foaf_tick(n->foaf, now);
	if (sg_gman_next_deadline(n->gman) <= wall_ms(n))
		sg_gman_tick(n->gman, wall_ms(n));
	pump(n);
	if (n->saying_goodbye && now >= n->goodbye_end)
		leave_overlay(n);
}

/* ---- lifecycle -------------------------------------------------------- */

static int mkdir_p(const char *path)
{
	char buf[4096];
	size_t i, len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return SG_ERR_INVAL;
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] == '/' || buf[i] == '\0') {
			char c = buf[i];
			buf[i] = '\0';
			if (mkdir(buf, 0700) != 0 && errno != EEXIST)
				return SG_ERR_IO;
			buf[i] = c;
		}
	}
	return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
	handle_gone(h->data);
}

/* Closes the node's handles (the endpoint closes its own). */
static void shut(sg_node *n)
{
	size_t i;

	if (n->left)
		return;
	n->left = 1;
	if (n->ep != NULL) {
		sg_endpoint_del(n->ep);
		n->ep = NULL;
	}
	for (i = 0; n->clients != NULL && i < n->cfg.max_ctl_clients; i++)
		if (n->clients[i].used)
			ctl_close(&n->clients[i]);
	if (n->ctl_open) {
		n->ctl_open = 0;
		uv_close((uv_handle_t *)&n->ctl, on_handle_closed);
		unlink(n->ctl_path);
	}
	if (n->timer_open) {
		n->timer_open = 0;
		uv_timer_stop(&n->timer);
		uv_close((uv_handle_t *)&n->timer, on_handle_closed);
	}
}

static int open_control(sg_node *n)
{
	int rc;
	mode_t old;

	if (snprintf(n->ctl_path, sizeof(n->ctl_path), "%s/%s",
		     n->cfg.data_dir, SG_CTL_SOCKET_NAME) >=
	    (int)sizeof(n->ctl_path))
		return SG_ERR_RANGE;
	{
		/* A socket file that answers belongs to a running node. */
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		struct sockaddr_un su;
		if (strlen(n->ctl_path) >= sizeof(su.sun_path)) {
			if (fd >= 0)
				close(fd);
			sg_log(&n->env, SG_LOG_ERROR, MOD,
			       "control socket path too long: %s",
			       n->ctl_path);
			return SG_ERR_RANGE;
		}
		memset(&su, 0, sizeof(su));
		su.sun_family = AF_UNIX;
		memcpy(su.sun_path, n->ctl_path, strlen(n->ctl_path));
		if (fd >= 0 && connect(fd, (struct sockaddr *)&su,
				       sizeof(su)) == 0) {
			close(fd);
			sg_log(&n->env, SG_LOG_ERROR, MOD,
			       "another node is running on %s",
			       n->cfg.data_dir);
			return SG_ERR_EXISTS;
		}
		if (fd >= 0)
			close(fd);
		unlink(n->ctl_path); /* stale */
	}
	if (uv_pipe_init(n->loop, &n->ctl, 0) != 0)
		return SG_ERR_IO;
	n->ctl.data = n;
	n->ctl_open = 1;
	n->handles++;
	old = umask(0177);
	rc = uv_pipe_bind(&n->ctl, n->ctl_path);
	umask(old);
	if (rc != 0 || chmod(n->ctl_path, 0600) != 0 ||
	    uv_listen((uv_stream_t *)&n->ctl, 16, on_ctl_connection) != 0) {
		sg_log(&n->env, SG_LOG_ERROR, MOD,
		       "cannot serve the control socket %s: %s", n->ctl_path,
		       uv_strerror(rc));
		return SG_ERR_IO;
	}
	return 0;
}

static int parse_contact(const char *s, sg_peer_id *id, int *has_id,
			 struct sockaddr_storage *sa)
{
	const char *at = strchr(s, '@');

	*has_id = 0;
	if (at != NULL) {
		if (sg_peer_id_parse(id, s, (size_t)(at - s)) != 0)
			return SG_ERR_INVAL;
		*has_id = 1;
		s = at + 1;
	}
	return sg_node_parse_addr(s, sa);
}

/* Contacts from the configuration, then the peer cache. */
static int bootstrap(sg_node *n)
{
	sg_peercache_entry cached[BOOT_CACHED];
	size_t i, added = 0;
	long k = 0;
	int rc;

	for (i = 0; i < n->cfg.n_contacts; i++) {
		sg_peer_id id;
		struct sockaddr_storage sa;
		int has_id;
		char hex[SG_PEER_ID_HEX_LEN];

		rc = parse_contact(n->cfg.contacts[i], &id, &has_id, &sa);
		if (rc != 0) {
			sg_log(&n->env, SG_LOG_ERROR, MOD,
			       "bad contact '%s' (want ADDR or PEERID@ADDR)",
			       n->cfg.contacts[i]);
			return SG_ERR_INVAL;
		}
		if (has_id) {
			sg_memb_peer p;
			size_t alen = 0;
			memset(&p, 0, sizeof(p));
			p.id = id;
			sa_to_memb((const struct sockaddr *)&sa, p.addr, &alen);
			p.addr_len = (uint8_t)alen;
			if (sg_core_add_contact(n->core, &p) == 0)
				added++;
			sg_peer_id_hex(hex, &id);
			sg_log(&n->env, SG_LOG_INFO, MOD,
			       "contact %s pinned to %s", n->cfg.contacts[i],
			       hex);
		} else {
			struct dial *d;
			sg_log(&n->env, SG_LOG_INFO, MOD,
			       "contact %s is not pinned (no PEERID@): its "
			       "PeerId is taken from its handshake",
			       n->cfg.contacts[i]);
			rc = start_dial(n, &sa, NULL, 1, &d);
			if (rc != 0 && rc != SG_ERR_EXISTS) {
				sg_log(&n->env, SG_LOG_ERROR, MOD,
				       "cannot dial %s: %s",
				       n->cfg.contacts[i], sg_strerror(rc));
				return rc;
			}
		}
	}
	if (n->pc != NULL)
		k = sg_peercache_recent(n->pc, cached, BOOT_CACHED);
	for (i = 0; k > 0 && i < (size_t)k; i++) {
		sg_memb_peer p;
		if (sg_peer_id_equal(&cached[i].id, &n->ident->id))
			continue;
		memset(&p, 0, sizeof(p));
		p.id = cached[i].id;
		p.addr_len = cached[i].addr_len;
		memcpy(p.addr, cached[i].addr, p.addr_len);
		if (sg_core_add_contact(n->core, &p) == 0)
			added++;
	}
	if (k > 0)
		sg_log(&n->env, SG_LOG_INFO, MOD,
		       "%ld peers from the peer cache as contacts", k);
	if (added > 0)
		sg_core_join(n->core, now_ms(n));
	return 0;
}

sg_node *sg_node_new(uv_loop_t *loop, const sg_env *env,
		     const sg_node_config *cfg, const sg_identity *ident,
		     int *err)
{
	sg_node *n;
	struct sockaddr_storage bind_sa;
	char path[4096], addr[80];
	int rc;
	uint64_t seq;

	*err = SG_ERR_INVAL;
	if (cfg->size != sizeof(*cfg) || cfg->data_dir == NULL ||
	    cfg->max_ctl_clients == 0 || cfg->max_waiting_frames == 0 ||
	    cfg->advert_interval_ms == 0 || cfg->ep.max_conns == 0)
		return NULL;
	if (sg_node_parse_addr(cfg->bind != NULL ? cfg->bind : "0.0.0.0:0",
			       &bind_sa) != 0) {
		sg_log(env, SG_LOG_ERROR, MOD, "bad bind address '%s'",
		       cfg->bind);
		return NULL;
	}
	*err = SG_ERR_NOMEM;
	n = sg_calloc(env, 1, sizeof(*n));
	if (n == NULL)
		return NULL;
	n->env = *env;
	n->cfg = *cfg;
	n->ident = ident;
	n->loop = loop;
	n->started = now_ms(n);
	n->max_dials = 64;
	n->dials = sg_calloc(env, n->max_dials, sizeof(struct dial));
	n->conns = sg_calloc(env, cfg->ep.max_conns, sizeof(struct conn));
	n->clients =
		sg_calloc(env, cfg->max_ctl_clients, sizeof(struct ctl_client));
	n->tnames = sg_calloc(env, cfg->core.max_topics, sizeof(struct tname));
	n->requests = sg_calloc(env, MAX_REQUESTS, sizeof(struct request));
	if (n->dials == NULL || n->conns == NULL || n->clients == NULL ||
	    n->tnames == NULL || n->requests == NULL)
		goto fail;
	if (sg_random(env, (uint8_t *)&n->next_request_id,
		      sizeof(n->next_request_id)) != 0)
		goto fail;
	n->next_request_id >>= 1; /* ids stay far from wrapping */
	{
		size_t i;
		for (i = 0; i < cfg->max_ctl_clients; i++)
			n->clients[i].n = n;
	}
	if ((rc = mkdir_p(cfg->data_dir)) != 0) {
		sg_log(env, SG_LOG_ERROR, MOD, "cannot create %s: %s",
		       cfg->data_dir, strerror(errno));
		*err = rc;
		goto fail;
	}
	if (snprintf(path, sizeof(path), "%s/peers.db", cfg->data_dir) >=
	    (int)sizeof(path)) {
		*err = SG_ERR_RANGE;
		goto fail;
	}
	n->pc = sg_peercache_open(env, path, cfg->max_cached_peers, &rc);
	if (n->pc == NULL) {
		sg_log(env, SG_LOG_ERROR, MOD, "peer cache %s: %s", path,
		       sg_strerror(rc));
		*err = rc;
		goto fail;
	}
	if (sg_peercache_get_u64(n->pc, "advert_seq", &seq) == 0)
		n->advert_seq = seq;
	if (cfg->roles & SG_ROLE_RELAY)
		n->cfg.ep.relay = 1;
	n->ep = sg_endpoint_new(loop, env, &n->cfg.ep, ident,
				(const struct sockaddr *)&bind_sa, on_endpoint,
				n, &rc);
	if (n->ep == NULL) {
		sg_log(env, SG_LOG_ERROR, MOD, "cannot bind %s: %s",
		       cfg->bind, sg_strerror(rc));
		*err = rc;
		goto fail;
	}
	sg_endpoint_local_addr(n->ep, &n->local);
	{
		/* The address others reach us at: the bound one, or for an
		 * unspecified bind the route towards the first contact (or
		 * loopback). */
		struct sockaddr_storage self = n->local;
		if (is_unspecified(&self)) {
			struct sockaddr_storage dst, src;
			sg_peer_id id;
			int has_id;
			if (cfg->n_contacts > 0 &&
			    parse_contact(cfg->contacts[0], &id, &has_id,
					  &dst) == 0 &&
			    dst.ss_family == self.ss_family &&
			    route_source(&dst, &src) == 0) {
				if (src.ss_family == AF_INET)
					((struct sockaddr_in *)&self)->sin_addr =
						((struct sockaddr_in *)&src)
							->sin_addr;
				else
					((struct sockaddr_in6 *)&self)
						->sin6_addr =
						((struct sockaddr_in6 *)&src)
							->sin6_addr;
			} else if (self.ss_family == AF_INET) {
				((struct sockaddr_in *)&self)->sin_addr.s_addr =
					htonl(INADDR_LOOPBACK);
			} else {
				((struct sockaddr_in6 *)&self)->sin6_addr =
					in6addr_loopback;
			}
		}
		if (sa_to_memb((const struct sockaddr *)&self, n->self_addr,
			       &n->self_addr_len) != 0)
			goto fail;
		sg_node_format_addr((const struct sockaddr *)&self, addr,
				    sizeof(addr));
	}
	{
		/* incarnations from the wall clock: claims of an earlier life
		 * cannot be replayed against this one (PROTOCOL.md, SWIM) */
		sg_core_config cc = cfg->core;
		cc.sw.initial_incarnation = wall_ms(n) / 1000;
		n->core = sg_core_new(&n->env, &cc, ident, n->self_addr,
				      n->self_addr_len, now_ms(n));
	}
	if (n->core == NULL) {
		*err = SG_ERR_NOMEM;
		goto fail;
	}
	{
		sg_foaf_config fc;
		sg_foaf_config_default(&fc);
		n->foaf = sg_foaf_new(&n->env, &fc, foaf_lookup, n);
		n->rdv = sg_rdv_table_new(&n->env, RDV_TABLE_MAX);
		if (n->foaf == NULL || n->rdv == NULL) {
			*err = SG_ERR_NOMEM;
			goto fail;
		}
	}
	if ((rc = groups_start(n)) != 0) {
		*err = rc;
		goto fail;
	}
	uv_timer_init(loop, &n->timer);
	n->timer.data = n;
	n->timer_open = 1;
	n->handles++;
	if (cfg->control && (rc = open_control(n)) != 0) {
		*err = rc;
		goto fail;
	}
	{
		char hex[SG_PEER_ID_HEX_LEN];
		sg_peer_id_hex(hex, &ident->id);
		sg_log(env, SG_LOG_INFO, MOD, "node %s listening on %s", hex,
		       addr);
	}
	n->next_housekeep = now_ms(n) + HOUSEKEEP_MS;
	n->next_advert = now_ms(n);
	if ((rc = bootstrap(n)) != 0) {
		*err = rc;
		goto fail;
	}
	if (cfg->roles & SG_ROLE_COORDINATOR)
		make_advert(n);
	pump(n);
	*err = 0;
	return n;
fail:
	sg_node_del(n);
	return NULL;
}

void sg_node_set_deliver_cb(sg_node *n, sg_node_deliver_cb cb, void *ud)
{
	n->deliver_cb = cb;
	n->deliver_ud = ud;
}

void sg_node_set_exit_cb(sg_node *n, void (*cb)(void *), void *ud)
{
	n->exit_cb = cb;
	n->exit_ud = ud;
}

int sg_node_subscribe(sg_node *n, const char *topic, size_t len)
{
	sg_topic_id tid;
	int rc;

	if (len == 0 || len > SG_CTL_TOPIC_MAX)
		return SG_ERR_RANGE;
	sg_topic_id_from_name(&tid, topic, len);
	rc = sg_core_subscribe(n->core, &tid, now_ms(n));
	if (rc == 0)
		tname_remember(n, &tid, topic, len);
	pump(n);
	return rc;
}

int sg_node_unsubscribe(sg_node *n, const char *topic, size_t len)
{
	sg_topic_id tid;
	int rc;

	sg_topic_id_from_name(&tid, topic, len);
	rc = sg_core_unsubscribe(n->core, &tid, now_ms(n));
	if (rc == 0)
		tname_forget(n, &tid);
	pump(n);
	return rc;
}

int sg_node_publish(sg_node *n, const char *topic, size_t topic_len,
		    const uint8_t *payload, size_t len,
		    uint8_t id[SG_MSG_ID_LEN])
{
	sg_topic_id tid;
	uint8_t rnd[32];
	int rc;

	if (topic_len == 0 || topic_len > SG_CTL_TOPIC_MAX)
		return SG_ERR_RANGE;
	if ((rc = sg_random(&n->env, rnd, sizeof(rnd))) != 0)
		return rc;
	sg_topic_id_from_name(&tid, topic, topic_len);
	rc = sg_core_publish(n->core, &tid, payload, len, rnd, now_ms(n),
			     wall_ms(n), id);
	if (rc == 0)
		tname_remember(n, &tid, topic, topic_len);
	pump(n);
	return rc;
}

static void on_leave_grace(uv_timer_t *t)
{
	sg_node *n = t->data;
	shut(n);
}

/* Leaves the overlay: SWIM tells the members, then the node closes. */
static void leave_overlay(sg_node *n)
{
	n->saying_goodbye = 0;
	sg_core_leave(n->core, now_ms(n));
	pump(n);
	/* Give the LEFT messages a moment on the wire, then close. */
	uv_timer_stop(&n->timer);
	uv_timer_start(&n->timer, on_leave_grace, LEAVE_GRACE_MS, 0);
}

/* A polite leave: goodbye beacons first in groups where presence is on,
 * with the node running as usual for GOODBYE_GRACE_MS so that they reach
 * the group (a lazy Plumtree link announces them on a timer, and the
 * other side fetches them), then the overlay. */
static void leave_now(sg_node *n)
{
	if (n->leaving || n->left)
		return;
	n->leaving = 1;
	if (n->leave_done == NULL && n->exit_cb != NULL) {
		n->leave_done = n->exit_cb;
		n->leave_ud = n->exit_ud;
	}
	if (sg_gman_goodbye_all(n->gman, wall_ms(n)) > 0) {
		n->saying_goodbye = 1;
		n->goodbye_end = now_ms(n) + GOODBYE_GRACE_MS;
		pump(n);
		return;
	}
	leave_overlay(n);
}

void sg_node_leave(sg_node *n, void (*done)(void *ud), void *ud)
{
	n->leave_done = done;
	n->leave_ud = ud;
	leave_now(n);
}

static void free_all(sg_node *n)
{
	sg_env env = n->env;

	sg_free(&env, n->dials);
	sg_free(&env, n->conns);
	sg_free(&env, n->clients);
	sg_free(&env, n->tnames);
	sg_free(&env, n->requests);
	sg_free(&env, n);
}

void sg_node_del(sg_node *n)
{
	size_t i;

	if (n == NULL)
		return;
	n->leave_done = NULL;
	shut(n);
	for (i = 0; n->dials != NULL && i < n->max_dials; i++)
		if (n->dials[i].used)
			dial_free(n, &n->dials[i]);
	sg_foaf_del(n->foaf);
	n->foaf = NULL;
	sg_rdv_table_del(n->rdv);
	n->rdv = NULL;
	sg_gman_del(n->gman);
	n->gman = NULL;
	sg_core_del(n->core);
	n->core = NULL;
	sg_peercache_close(n->pc);
	n->pc = NULL;
	sg_free(&n->env, n->advert);
	n->advert = NULL;
	/* Handles still closing point into n: the last one frees it. */
	if (n->handles == 0)
		free_all(n);
	else
		n->freeing = 1;
}

int sg_node_presence_start(sg_node *n, const char *group, size_t len)
{
	size_t idx;
	int rc = sg_gman_find(n->gman, group, len, &idx);

	if (rc == 0)
		rc = sg_gman_presence_start(n->gman, idx, wall_ms(n));
	pump(n);
	return rc;
}

int sg_node_presence_stop(sg_node *n, const char *group, size_t len)
{
	size_t idx;
	int rc = sg_gman_find(n->gman, group, len, &idx);

	if (rc == 0)
		rc = sg_gman_presence_stop(n->gman, idx, wall_ms(n));
	pump(n);
	return rc;
}

long sg_node_presence_online(sg_node *n, const char *group, size_t len,
			     sg_presence_entry *out, size_t cap)
{
	size_t idx, k;
	int rc = sg_gman_find(n->gman, group, len, &idx);

	if (rc != 0)
		return rc;
	k = sg_gman_online(n->gman, idx, wall_ms(n), out, cap);
	pump(n);
	return (long)k;
}

void sg_node_set_presence_cb(sg_node *n, sg_node_presence_cb cb, void *ud)
{
	n->presence_cb = cb;
	n->presence_ud = ud;
}

const sg_peer_id *sg_node_id(const sg_node *n)
{
	return &n->ident->id;
}

int sg_node_local_addr(const sg_node *n, struct sockaddr_storage *sa)
{
	*sa = n->local;
	return 0;
}

void sg_node_stats_get(const sg_node *n, sg_node_stats *st)
{
	*st = n->st;
	if (n->core != NULL)
		sg_core_stats_get(n->core, &st->core);
	if (n->ep != NULL)
		sg_endpoint_stats_get(n->ep, &st->ep);
	st->uptime_ms = now_ms(n) - n->started;
}

/* ---- For embedding applications (include/sg/app.h) ------------------- */

size_t sg_node_active_peers(const sg_node *n, sg_peer_id *ids,
			    struct sockaddr_storage *addrs, size_t max)
{
	size_t total, i;

	if (n->core == NULL)
		return 0;
	total = sg_core_active(n->core, ids, max);
	for (i = 0; addrs != NULL && i < total && i < max; i++) {
		sg_memb_peer p;
		if (sg_core_peer_addr(n->core, &ids[i], &p) != 0 ||
		    memb_to_sa(p.addr, p.addr_len, &addrs[i]) != 0)
			memset(&addrs[i], 0, sizeof(addrs[i]));
	}
	return total;
}
