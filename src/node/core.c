/*
 * The node's protocol core (include/sg/core.h): routes frames to HyParView,
 * SWIM and the topics' Plumtree instances, wires their events to each
 * other, and keeps the topic lists of neighbours.
 *
 * Frame bodies (docs/PROTOCOL.md, "Node frames"):
 *   SG_FRAME_MEMBERSHIP  a membership message (HyParView or SWIM)
 *   SG_FRAME_PUBSUB      kind byte, then
 *                          1 TOPIC:  topic id (32 bytes) || Plumtree frame
 *                          2 TOPICS: CBOR array of topic ids (bstr 32)
 *                          3 QUERY:  topic id
 *                          4 PEERS:  topic id || CBOR [* [id, addr]]
 *                          5 WALK:   topic id || CBOR [ttl, id, addr]
 *                          6 LINK:   topic id || CBOR [op, addr] or
 *                                    [op, addr, [* [id, addr]]]
 *
 * Topic swarms. A topic's Plumtree runs over its swarm neighbours: the
 * active (HyParView) neighbours that announced the topic, plus swarm
 * links: per-topic connections outside the active view, at most
 * SWARM_LINKS_MAX per topic, so that a topic a small fraction of the
 * nodes joined still forms one connected swarm (the active view is
 * small and usually full). A topic with fewer than SWARM_TARGET swarm
 * neighbours sends WALKs: random walks over the active view (at most
 * WALK_TTL hops) that a node which knows a subscriber among its
 * neighbours hands to it, and that the first subscriber with a free link
 * slot answers with a LINK request to the walk's origin. The LINK frames
 * that set a link up name a few other swarm peers; each topic remembers
 * up to SWARM_KNOWN_MAX such peers and asks them first when it loses
 * links (as HyParView repairs from its passive view). A link that has
 * carried nothing for LINK_IDLE_MS is probed (a LINK request on an up
 * link is answered with an accept) every second, and dropped after
 * LINK_DEAD_MS of silence: link peers are not SWIM members (SWIM probes
 * the active view; more members would slow its round-robin for all).
 */
#include "sg/core.h"

#include <string.h>

#include "sg/cbor.h"
#include "sg/err.h"

#include "membership/mqueue.h"

#define PS_TOPIC 1
#define PS_TOPICS 2
#define PS_QUERY 3
#define PS_PEERS 4
#define PS_WALK 5
#define PS_LINK 6
#define PEERS_MAX 8
/* A topic with fewer swarm neighbours than SWARM_TARGET looks for more:
 * up to WALKS_PER_ROUND walks every WALK_INTERVAL_MS, the interval
 * doubling (to WALK_BACKOFF_MAX_MS) while rounds find nobody. */
#define SWARM_TARGET 4
#define SWARM_LINKS_MAX 8
/* Swarm peers remembered per topic (from links, LINK frames, walks and
 * PEERS), asked for a link first when the swarm thins out: a per-topic
 * passive view. A LINK that sets a link up names up to LINK_PEERS_MAX
 * of the sender's link peers. */
#define SWARM_KNOWN_MAX 16
#define LINK_PEERS_MAX 4
#define WALK_TTL 6
#define WALK_TTL_MAX 8
#define WALKS_PER_ROUND 2
#define WALK_INTERVAL_MS 2000
#define WALK_BACKOFF_MAX_MS 8000
/* Walks a node forwards or answers per second; the rest are dropped. */
#define WALK_BUDGET 64
/* A LINK request without an answer is dropped after this. */
#define LINK_TIMEOUT_MS 2000
/* An up link silent for LINK_IDLE_MS is probed every LINK_PROBE_MS, and
 * dropped once silent for LINK_DEAD_MS. */
#define LINK_IDLE_MS 2000
#define LINK_PROBE_MS 1000
#define LINK_DEAD_MS 5000

/* LINK operations. */
#define LINK_REQUEST 0
#define LINK_ACCEPT 1
#define LINK_REFUSE 2
#define LINK_CLOSE 3

enum { LINK_FREE = 0, LINK_PENDING = 1, LINK_UP = 2 };

struct slink {
	sg_memb_peer peer;
	uint8_t state;
	uint64_t deadline; /* PENDING: given up after; UP: next probe */
	uint64_t last_rx;  /* UP: the last frame from the peer */
};

struct topic {
	sg_topic_id id;
	sg_plumtree *pt;
	struct slink links[SWARM_LINKS_MAX];
	sg_memb_peer known[SWARM_KNOWN_MAX];
	size_t n_known;
	uint64_t next_walk, walk_gap;
	size_t walk_degree; /* swarm neighbours at the last walk round */
};

/* A peer's announced topics. Lists travel on separate QUIC streams and may
 * arrive out of order: each carries the sender's epoch (random per core
 * instance) and a sequence number, and an older list never replaces a
 * newer one of the same epoch. */
struct rtopics {
	sg_peer_id peer;
	uint64_t epoch, seq;
	uint64_t stamp; /* for replacement: oldest unused first */
	size_t n;
	sg_topic_id *ids; /* max_topics */
	int used;
};

struct txq_item {
	struct txq_item *next;
	sg_peer_id to;
	size_t len;
	uint8_t buf[];
};

/* Peers that said they leave: their HyParView messages still in flight
 * (each message travels on its own QUIC stream, so they can arrive after
 * the signed left) must not make them neighbours again. A JOIN (a fresh
 * start) lifts it. */
#define LEFT_QUARANTINE 16
#define LEFT_QUARANTINE_MS 10000

struct sg_core {
	sg_env env;
	sg_core_config cfg;
	struct {
		sg_peer_id id;
		uint64_t until;
	} left[LEFT_QUARANTINE];
	size_t left_next;
	const sg_identity *ident;
	sg_memb_peer self;
	sg_hyparview *hv;
	sg_swim *sw;
	sg_keycache *keys;
	struct topic *topics;
	size_t n_topics;
	struct rtopics *rt;
	uint64_t rt_clock;
	uint64_t last_seq;
	uint64_t topics_epoch, topics_seq; /* of our own list */
	uint64_t now; /* the latest time given to the core */
	uint64_t walk_window; /* start of the current second of WALK_BUDGET */
	size_t walk_used;
	/* the core's own frames (TOPICS) */
	struct txq_item *q_head, *q_tail, *q_last;
	size_t q_count;
	/* the core's own events (a ring growing up to max_events) */
	sg_evq evs;
	uint8_t *ev_last_data; /* the data of the last DISCOVERY returned */
	/* the frame returned by poll_tx */
	uint8_t *txbuf;
	size_t txcap;
	size_t tx_next; /* round robin over the sources */
	sg_core_stats st;
};

void sg_core_config_default(sg_core_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->size = sizeof(*cfg);
	sg_hyparview_config_default(&cfg->hv);
	sg_swim_config_default(&cfg->sw);
	sg_plumtree_config_default(&cfg->pt);
	/* Nodes see many publishers that each send a few messages: push a
	 * publisher's first message everywhere rather than wait for GRAFT
	 * repairs of a shared tree (docs/BENCHMARKS.md, node network). */
	cfg->pt.flood_new_publishers = 1;
	cfg->max_topics = 64;
	cfg->keycache_cap = 1024;
	cfg->msg_ttl_ms = 600000;
	cfg->max_tx = 1024;
	cfg->max_events = 1024;
	cfg->max_remote_topics = 64;
}

/* ---- addresses ---------------------------------------------------------- */

long sg_core_addr_encode(uint8_t out[SG_MEMB_ADDR_MAX], const sg_addr *a)
{
	size_t n;

	if (a->family == 4)
		n = 4;
	else if (a->family == 6)
		n = 16;
	else
		return SG_ERR_INVAL;
	out[0] = a->family;
	memcpy(out + 1, a->ip, n);
	out[1 + n] = (uint8_t)(a->port >> 8);
	out[2 + n] = (uint8_t)a->port;
	return (long)(n + 3);
}

int sg_core_addr_decode(sg_addr *a, const uint8_t *in, size_t len)
{
	size_t n;

	memset(a, 0, sizeof(*a));
	if (len == 7 && in[0] == 4)
		n = 4;
	else if (len == 19 && in[0] == 6)
		n = 16;
	else
		return SG_ERR_MALFORMED;
	a->family = in[0];
	memcpy(a->ip, in + 1, n);
	a->port = (uint16_t)((in[1 + n] << 8) | in[2 + n]);
	return 0;
}

/* ---- queues --------------------------------------------------------------- */

static void emit(sg_core *c, const sg_core_event *ev)
{
	if (sg_evq_push(&c->evs, &c->env, ev) != 0) {
		c->st.events_dropped++;
		if (ev->type == SG_CORE_DISCOVERY || ev->type == SG_CORE_DIRECT)
			sg_free(&c->env, (void *)(uintptr_t)ev->data);
	}
}

static void emit_peer(sg_core *c, sg_core_event_type type,
		      const sg_peer_id *peer, int reason)
{
	sg_core_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	if (sg_hyparview_lookup(c->hv, peer, &ev.peer) != 0)
		ev.peer.id = *peer;
	ev.reason = reason;
	emit(c, &ev);
}

static int push_frame(sg_core *c, const sg_peer_id *to, sg_frame_type type,
		       const uint8_t *body, size_t len)
{
	struct txq_item *it;

	if (c->q_count == c->cfg.max_tx) {
		c->st.tx_dropped++;
		return SG_ERR_FULL;
	}
	it = sg_alloc(&c->env, sizeof(*it) + SG_FRAME_HEADER_LEN + len);
	if (it == NULL) {
		c->st.tx_dropped++;
		return SG_ERR_NOMEM;
	}
	it->next = NULL;
	it->to = *to;
	it->len = SG_FRAME_HEADER_LEN + len;
	if (sg_frame_header_encode(it->buf, type, len, SG_FRAME_DEFAULT_MAX) !=
	    0) {
		sg_free(&c->env, it);
		c->st.tx_dropped++;
		return SG_ERR_RANGE;
	}
	memcpy(it->buf + SG_FRAME_HEADER_LEN, body, len);
	if (c->q_tail != NULL)
		c->q_tail->next = it;
	else
		c->q_head = it;
	c->q_tail = it;
	c->q_count++;
	return 0;
}

/* ---- topics ------------------------------------------------------------- */

static long find_topic(const sg_core *c, const sg_topic_id *t)
{
	size_t i;

	for (i = 0; i < c->n_topics; i++)
		if (memcmp(c->topics[i].id.bytes, t->bytes, SG_TOPIC_ID_LEN) ==
		    0)
			return (long)i;
	return -1;
}

static struct rtopics *find_rt(const sg_core *c, const sg_peer_id *peer)
{
	size_t i;

	for (i = 0; i < c->cfg.max_remote_topics; i++)
		if (c->rt[i].used && sg_peer_id_equal(&c->rt[i].peer, peer))
			return &c->rt[i];
	return NULL;
}

static int rt_has(const struct rtopics *r, const sg_topic_id *t)
{
	size_t i;

	for (i = 0; r != NULL && i < r->n; i++)
		if (memcmp(r->ids[i].bytes, t->bytes, SG_TOPIC_ID_LEN) == 0)
			return 1;
	return 0;
}

/* A slot for peer's list: its own, a free one, or the oldest of a peer
 * that is not an active neighbour (then the oldest of any). */
static struct rtopics *rt_slot(sg_core *c, const sg_peer_id *peer)
{
	struct rtopics *r = find_rt(c, peer), *best = NULL;
	size_t i;
	int best_active = 1;

	if (r != NULL)
		return r;
	for (i = 0; i < c->cfg.max_remote_topics; i++) {
		struct rtopics *x = &c->rt[i];
		int act;
		if (!x->used)
			return x;
		act = sg_hyparview_is_active(c->hv, &x->peer);
		if (best == NULL || act < best_active ||
		    (act == best_active && x->stamp < best->stamp)) {
			best = x;
			best_active = act;
		}
	}
	return best;
}

static void send_topics(sg_core *c, const sg_peer_id *to)
{
	uint8_t buf[1 + 1 + 9 + 9 + 3 + 64 * 34];
	uint8_t *big = buf;
	size_t cap = sizeof(buf), i;
	sg_cbor_enc e;
	long n;

	if (c->n_topics > 64) {
		cap = 1 + 1 + 9 + 9 + 9 + c->n_topics * 34;
		big = sg_alloc(&c->env, cap);
		if (big == NULL) {
			c->st.tx_dropped++;
			return;
		}
	}
	big[0] = PS_TOPICS;
	sg_cbor_enc_init(&e, big + 1, cap - 1);
	sg_cbor_put_array(&e, 3);
	sg_cbor_put_uint(&e, c->topics_epoch);
	sg_cbor_put_uint(&e, c->topics_seq);
	sg_cbor_put_array(&e, c->n_topics);
	for (i = 0; i < c->n_topics; i++)
		sg_cbor_put_bytes(&e, c->topics[i].id.bytes, SG_TOPIC_ID_LEN);
	n = sg_cbor_enc_finish(&e);
	if (n > 0)
		(void)push_frame(c, to, SG_FRAME_PUBSUB, big, (size_t)n + 1);
	else
		c->st.tx_dropped++;
	if (big != buf)
		sg_free(&c->env, big);
}

static void announce_topics(sg_core *c)
{
	sg_peer_id act[64];
	size_t n = sg_hyparview_active(c->hv, act, 64), i;

	c->topics_seq++;
	if (n > 64)
		n = 64;
	for (i = 0; i < n; i++)
		send_topics(c, &act[i]);
}

/* Brings topic t's Plumtree neighbours in line with the active view and
 * the neighbours' lists. */
static void sync_topic(sg_core *c, struct topic *t, uint64_t now)
{
	sg_peer_id act[64];
	size_t n = sg_hyparview_active(c->hv, act, 64), i;

	if (n > 64)
		n = 64;
	for (i = 0; i < n; i++)
		if (rt_has(find_rt(c, &act[i]), &t->id))
			sg_plumtree_neighbor_up(t->pt, &act[i], now);
}

/* ---- swarm links --------------------------------------------------------- */

static size_t rand_below(sg_core *c, size_t n)
{
	uint64_t r = 0;

	if (n <= 1)
		return 0;
	(void)sg_random(&c->env, (uint8_t *)&r, sizeof(r));
	return (size_t)(r % n);
}

static long link_find(const struct topic *t, const sg_peer_id *peer)
{
	size_t i;

	for (i = 0; i < SWARM_LINKS_MAX; i++)
		if (t->links[i].state != LINK_FREE &&
		    sg_peer_id_equal(&t->links[i].peer.id, peer))
			return (long)i;
	return -1;
}

static long link_free_slot(const struct topic *t)
{
	size_t i;

	for (i = 0; i < SWARM_LINKS_MAX; i++)
		if (t->links[i].state == LINK_FREE)
			return (long)i;
	return -1;
}

static int link_is_up(const struct topic *t, const sg_peer_id *peer)
{
	long i = link_find(t, peer);

	return i >= 0 && t->links[i].state == LINK_UP;
}

static void known_remove(struct topic *t, const sg_peer_id *peer)
{
	size_t i;

	for (i = 0; i < t->n_known; i++)
		if (sg_peer_id_equal(&t->known[i].id, peer)) {
			t->known[i] = t->known[--t->n_known];
			return;
		}
}

/* Remembers p as a peer of t's swarm (a random entry makes room). */
static void known_add(sg_core *c, struct topic *t, const sg_memb_peer *p)
{
	size_t i;

	if (p->addr_len == 0 || sg_peer_id_equal(&p->id, &c->self.id))
		return;
	for (i = 0; i < t->n_known; i++)
		if (sg_peer_id_equal(&t->known[i].id, &p->id)) {
			t->known[i] = *p; /* the newer address */
			return;
		}
	if (t->n_known < SWARM_KNOWN_MAX)
		t->known[t->n_known++] = *p;
	else
		t->known[rand_below(c, SWARM_KNOWN_MAX)] = *p;
}

/* Whether peer is one of topic t's swarm neighbours. */
static int in_swarm(const sg_core *c, const struct topic *t,
		    const sg_peer_id *peer)
{
	return link_is_up(t, peer) ||
	       (sg_hyparview_is_active(c->hv, peer) &&
		rt_has(find_rt(c, peer), &t->id));
}

/* Swarm neighbours of t: active neighbours in the topic and up links. */
static size_t topic_degree(const sg_core *c, const struct topic *t)
{
	sg_peer_id act[64];
	size_t n = sg_hyparview_active(c->hv, act, 64), i, d = 0;

	if (n > 64)
		n = 64;
	for (i = 0; i < n; i++)
		if (rt_has(find_rt(c, &act[i]), &t->id) &&
		    !link_is_up(t, &act[i]))
			d++;
	for (i = 0; i < SWARM_LINKS_MAX; i++)
		d += t->links[i].state == LINK_UP ? 1u : 0u;
	return d;
}

/* Brings every topic's Plumtree in line with peer's state. */
static void sync_peer(sg_core *c, const sg_peer_id *peer, uint64_t now)
{
	size_t i;

	for (i = 0; i < c->n_topics; i++) {
		if (in_swarm(c, &c->topics[i], peer))
			sg_plumtree_neighbor_up(c->topics[i].pt, peer, now);
		else
			sg_plumtree_neighbor_down(c->topics[i].pt, peer);
	}
}

/* LINK: [op, addr] or, when share is given (a link being set up), [op,
 * addr, [* [id, addr]]] with up to LINK_PEERS_MAX of share's other up
 * links. */
static void send_link(sg_core *c, const sg_peer_id *to, const sg_topic_id *t,
		      uint64_t op, const struct topic *share)
{
	uint8_t buf[1 + SG_TOPIC_ID_LEN + 16 + SG_MEMB_ADDR_MAX +
		    LINK_PEERS_MAX * (4 + SG_PEER_ID_LEN + SG_MEMB_ADDR_MAX)];
	const sg_memb_peer *peers[LINK_PEERS_MAX];
	size_t np = 0, i, k;
	sg_cbor_enc e;
	long n;

	if (share != NULL)
		for (i = 0, k = rand_below(c, SWARM_LINKS_MAX);
		     i < SWARM_LINKS_MAX && np < LINK_PEERS_MAX; i++) {
			const struct slink *l =
				&share->links[(k + i) % SWARM_LINKS_MAX];
			if (l->state == LINK_UP &&
			    !sg_peer_id_equal(&l->peer.id, to))
				peers[np++] = &l->peer;
		}
	buf[0] = PS_LINK;
	memcpy(buf + 1, t->bytes, SG_TOPIC_ID_LEN);
	sg_cbor_enc_init(&e, buf + 1 + SG_TOPIC_ID_LEN,
			 sizeof(buf) - 1 - SG_TOPIC_ID_LEN);
	sg_cbor_put_array(&e, share != NULL ? 3 : 2);
	sg_cbor_put_uint(&e, op);
	sg_cbor_put_bytes(&e, c->self.addr, c->self.addr_len);
	if (share != NULL) {
		sg_cbor_put_array(&e, np);
		for (i = 0; i < np; i++) {
			sg_cbor_put_array(&e, 2);
			sg_cbor_put_bytes(&e, peers[i]->id.bytes,
					  SG_PEER_ID_LEN);
			sg_cbor_put_bytes(&e, peers[i]->addr,
					  peers[i]->addr_len);
		}
	}
	n = sg_cbor_enc_finish(&e);
	if (n > 0)
		(void)push_frame(c, to, SG_FRAME_PUBSUB, buf,
				 1 + SG_TOPIC_ID_LEN + (size_t)n);
	else
		c->st.tx_dropped++;
}

static void link_drop(sg_core *c, struct topic *t, size_t k, int notify,
		      uint64_t now)
{
	sg_peer_id peer = t->links[k].peer.id;

	if (notify)
		send_link(c, &peer, &t->id, LINK_CLOSE, NULL);
	memset(&t->links[k], 0, sizeof(t->links[k]));
	sync_peer(c, &peer, now);
}

/* The link is up: a Plumtree neighbour of its topic. */
static void link_up(sg_core *c, struct topic *t, size_t k, uint64_t now)
{
	t->links[k].state = LINK_UP;
	t->links[k].last_rx = now;
	t->links[k].deadline = now + LINK_IDLE_MS;
	known_add(c, t, &t->links[k].peer);
	c->st.swarm_connects++;
	sync_peer(c, &t->links[k].peer.id, now);
}

/* Any frame from peer shows its links alive. */
static void links_heard(sg_core *c, const sg_peer_id *peer, uint64_t now)
{
	size_t i;

	for (i = 0; i < c->n_topics; i++) {
		long k = link_find(&c->topics[i], peer);
		if (k >= 0 && c->topics[i].links[k].state == LINK_UP) {
			c->topics[i].links[k].last_rx = now;
			c->topics[i].links[k].deadline = now + LINK_IDLE_MS;
		}
	}
}

/* peer is gone (dead, left, unreachable, misbehaving): its links too. */
static void links_drop_peer(sg_core *c, const sg_peer_id *peer, uint64_t now)
{
	size_t i;

	for (i = 0; i < c->n_topics; i++) {
		long k = link_find(&c->topics[i], peer);
		if (k >= 0)
			link_drop(c, &c->topics[i], (size_t)k, 0, now);
		known_remove(&c->topics[i], peer);
	}
}

/* Asks p for a link in topic t. */
static int link_request(sg_core *c, struct topic *t, const sg_memb_peer *p,
			uint64_t now)
{
	long k;

	if (sg_peer_id_equal(&p->id, &c->self.id) || p->addr_len == 0 ||
	    link_find(t, &p->id) >= 0 || in_swarm(c, t, &p->id))
		return SG_ERR_EXISTS;
	if ((k = link_free_slot(t)) < 0)
		return SG_ERR_FULL;
	t->links[k].peer = *p;
	t->links[k].state = LINK_PENDING;
	t->links[k].deadline = now + LINK_TIMEOUT_MS;
	send_link(c, &p->id, &t->id, LINK_REQUEST, t);
	return 0;
}

static void send_walk(sg_core *c, const sg_peer_id *to, const sg_topic_id *t,
		      uint64_t ttl, const sg_memb_peer *origin)
{
	uint8_t buf[1 + SG_TOPIC_ID_LEN + 16 + 3 + SG_PEER_ID_LEN + 2 +
		    SG_MEMB_ADDR_MAX];
	sg_cbor_enc e;
	long n;

	buf[0] = PS_WALK;
	memcpy(buf + 1, t->bytes, SG_TOPIC_ID_LEN);
	sg_cbor_enc_init(&e, buf + 1 + SG_TOPIC_ID_LEN,
			 sizeof(buf) - 1 - SG_TOPIC_ID_LEN);
	sg_cbor_put_array(&e, 3);
	sg_cbor_put_uint(&e, ttl);
	sg_cbor_put_bytes(&e, origin->id.bytes, SG_PEER_ID_LEN);
	sg_cbor_put_bytes(&e, origin->addr, origin->addr_len);
	n = sg_cbor_enc_finish(&e);
	if (n > 0)
		(void)push_frame(c, to, SG_FRAME_PUBSUB, buf,
				 1 + SG_TOPIC_ID_LEN + (size_t)n);
	else
		c->st.tx_dropped++;
}

/* Per topic: pending links time out; a thin swarm sends walks. */
static void swarm_tick(sg_core *c, uint64_t now)
{
	sg_peer_id act[64];
	size_t n = sg_hyparview_active(c->hv, act, 64), i, k;

	if (n > 64)
		n = 64;
	for (i = 0; i < c->n_topics; i++) {
		struct topic *t = &c->topics[i];
		size_t d, w, j, walks;

		for (k = 0; k < SWARM_LINKS_MAX; k++) {
			struct slink *l = &t->links[k];
			if (l->state == LINK_PENDING && now >= l->deadline) {
				/* No answer: gone, most likely. */
				known_remove(t, &l->peer.id);
				link_drop(c, t, k, 0, now);
			} else if (l->state == LINK_UP &&
				   now >= l->last_rx + LINK_DEAD_MS) {
				c->st.links_lost++;
				known_remove(t, &l->peer.id);
				link_drop(c, t, k, 1, now);
			} else if (l->state == LINK_UP && now >= l->deadline) {
				/* Silent for a while: is it still there? */
				l->deadline = now + LINK_PROBE_MS;
				send_link(c, &l->peer.id, &t->id, LINK_REQUEST,
					  NULL);
			}
		}
		d = topic_degree(c, t);
		if (d >= SWARM_TARGET) {
			t->walk_gap = 0; /* the next shortage walks at once */
			continue;
		}
		if (now < t->next_walk)
			continue;
		/* No progress since the last round: back off. */
		if (t->walk_gap == 0 || d > t->walk_degree)
			t->walk_gap = WALK_INTERVAL_MS;
		else if (t->walk_gap < WALK_BACKOFF_MAX_MS)
			t->walk_gap *= 2;
		if (t->walk_gap > WALK_BACKOFF_MAX_MS)
			t->walk_gap = WALK_BACKOFF_MAX_MS;
		t->walk_degree = d;
		t->next_walk = now + t->walk_gap;
		/* Remembered swarm peers first (as many as are missing,
		 * pending requests included), and walks for new ones. */
		for (k = 0, w = 0; k < SWARM_LINKS_MAX; k++)
			w += t->links[k].state == LINK_PENDING ? 1u : 0u;
		for (k = rand_below(c, t->n_known), j = 0;
		     j < t->n_known && d + w < SWARM_TARGET; j++)
			if (link_request(c, t, &t->known[(k + j) % t->n_known],
					 now) == 0)
				w++;
		walks = SWARM_TARGET - d;
		if (walks > WALKS_PER_ROUND)
			walks = WALKS_PER_ROUND;
		if (walks > n)
			walks = n;
		/* Distinct first hops: a random start in the active view. */
		k = n > 0 ? rand_below(c, n) : 0;
		for (w = 0; w < walks; w++) {
			c->st.queries_sent++;
			send_walk(c, &act[(k + w) % n], &t->id, WALK_TTL,
				  &c->self);
		}
	}
}

/* ---- lifecycle -------------------------------------------------------- */

sg_core *sg_core_new(const sg_env *env, const sg_core_config *cfg,
		     const sg_identity *ident, const uint8_t *self_addr,
		     size_t self_addr_len, uint64_t now_ms)
{
	sg_core *c;
	size_t i;

	if (cfg->size != sizeof(*cfg) || cfg->max_topics == 0 ||
	    cfg->max_tx == 0 || cfg->max_events == 0 ||
	    cfg->max_remote_topics == 0 || cfg->keycache_cap == 0 ||
	    self_addr_len > SG_MEMB_ADDR_MAX || cfg->msg_ttl_ms == 0)
		return NULL;
	c = sg_calloc(env, 1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->env = *env;
	c->cfg = *cfg;
	c->ident = ident;
	c->self.id = ident->id;
	c->self.addr_len = (uint8_t)self_addr_len;
	if (self_addr_len > 0)
		memcpy(c->self.addr, self_addr, self_addr_len);
	c->hv = sg_hyparview_new(&c->env, &cfg->hv, &c->self, now_ms);
	c->sw = sg_swim_new(&c->env, &cfg->sw, ident, now_ms);
	c->keys = sg_keycache_new(&c->env, cfg->keycache_cap);
	c->topics = sg_calloc(env, cfg->max_topics, sizeof(struct topic));
	c->rt = sg_calloc(env, cfg->max_remote_topics, sizeof(struct rtopics));
	sg_evq_init(&c->evs, sizeof(sg_core_event), cfg->max_events);
	if (c->hv == NULL || c->sw == NULL || c->keys == NULL ||
	    c->topics == NULL || c->rt == NULL)
		goto fail;
	{
		uint8_t r8[8];
		size_t k;
		if (sg_random(env, r8, sizeof(r8)) != 0)
			goto fail;
		for (k = 0; k < 8; k++)
			c->topics_epoch = c->topics_epoch << 8 | r8[k];
		/* CBOR integers: keep it at most 63 bits, any value works */
		c->topics_epoch >>= 1;
	}
	for (i = 0; i < cfg->max_remote_topics; i++) {
		c->rt[i].ids =
			sg_calloc(env, cfg->max_topics, sizeof(sg_topic_id));
		if (c->rt[i].ids == NULL)
			goto fail;
	}
	return c;
fail:
	sg_core_del(c);
	return NULL;
}

void sg_core_del(sg_core *c)
{
	size_t i;
	struct txq_item *it, *nx;

	if (c == NULL)
		return;
	for (i = 0; i < c->n_topics; i++)
		sg_plumtree_del(c->topics[i].pt);
	sg_free(&c->env, c->topics);
	if (c->rt != NULL)
		for (i = 0; i < c->cfg.max_remote_topics; i++)
			sg_free(&c->env, c->rt[i].ids);
	sg_free(&c->env, c->rt);
	for (it = c->q_head; it != NULL; it = nx) {
		nx = it->next;
		sg_free(&c->env, it);
	}
	sg_free(&c->env, c->q_last);
	{
		sg_core_event e;
		while (sg_evq_pop(&c->evs, &e))
			if (e.type == SG_CORE_DISCOVERY ||
			    e.type == SG_CORE_DIRECT)
				sg_free(&c->env, (void *)(uintptr_t)e.data);
	}
	sg_free(&c->env, c->ev_last_data);
	sg_evq_fini(&c->evs, &c->env);
	sg_free(&c->env, c->txbuf);
	sg_keycache_del(c->keys);
	sg_swim_del(c->sw);
	sg_hyparview_del(c->hv);
	sg_free(&c->env, c);
}

int sg_core_add_contact(sg_core *c, const sg_memb_peer *contact)
{
	return sg_hyparview_add_contact(c->hv, contact);
}

int sg_core_join(sg_core *c, uint64_t now_ms)
{
	return sg_hyparview_join(c->hv, now_ms);
}

void sg_core_leave(sg_core *c, uint64_t now_ms)
{
	sg_swim_leave(c->sw, now_ms);
}

/* ---- wiring between the cores --------------------------------------- */

/* Handles what HyParView and SWIM report; surfaces what the node needs. */
static void process(sg_core *c, uint64_t now)
{
	sg_hyparview_event hev;
	sg_swim_event sev;
	int more = 1;

	while (more) {
		more = 0;
		while (sg_hyparview_poll_event(c->hv, &hev)) {
			sg_core_event ev;
			more = 1;
			memset(&ev, 0, sizeof(ev));
			ev.peer = hev.peer;
			if (hev.type == SG_HYPARVIEW_NEIGHBOR_UP) {
				sg_swim_member_add(c->sw, &hev.peer.id, now);
				send_topics(c, &hev.peer.id);
				sync_peer(c, &hev.peer.id, now);
				ev.type = SG_CORE_NEIGHBOR_UP;
			} else {
				/* A link peer stays a Plumtree neighbour of
				 * its topic. */
				sg_swim_member_remove(c->sw, &hev.peer.id);
				sync_peer(c, &hev.peer.id, now);
				ev.type = SG_CORE_NEIGHBOR_DOWN;
			}
			emit(c, &ev);
		}
		while (sg_swim_poll_event(c->sw, &sev)) {
			more = 1;
			switch (sev.type) {
			case SG_SWIM_DEAD:
				emit_peer(c, SG_CORE_PEER_DEAD, &sev.peer, 0);
				links_drop_peer(c, &sev.peer, now);
				sg_hyparview_peer_failed(c->hv, &sev.peer, now);
				break;
			case SG_SWIM_LEFT:
				c->left[c->left_next].id = sev.peer;
				c->left[c->left_next].until =
					now + LEFT_QUARANTINE_MS;
				c->left_next = (c->left_next + 1) % LEFT_QUARANTINE;
				emit_peer(c, SG_CORE_PEER_LEFT, &sev.peer, 0);
				links_drop_peer(c, &sev.peer, now);
				sg_hyparview_peer_failed(c->hv, &sev.peer, now);
				break;
			case SG_SWIM_STRANGER:
				sg_hyparview_not_neighbor(c->hv, &sev.peer,
							  now);
				break;
			default:
				break;
			}
		}
	}
}

/* ---- input ------------------------------------------------------------- */

static int recv_topics(sg_core *c, const sg_peer_id *from, const uint8_t *p,
		       size_t len, uint64_t now)
{
	sg_cbor_limits lim;
	sg_cbor_dec d;
	sg_topic_id *ids;
	struct rtopics *r;
	size_t count, i, n = 0;
	int rc;

	uint64_t epoch, seq;

	sg_cbor_limits_default(&lim);
	lim.max_depth = 2;
	lim.max_items = 4 + c->cfg.max_topics;
	if ((rc = sg_cbor_validate(p, len, &lim)) != 0)
		return rc;
	sg_cbor_dec_init(&d, p, len);
	if ((rc = sg_cbor_get_array(&d, &count)) != 0)
		return rc;
	if (count != 3)
		return SG_ERR_MALFORMED;
	if ((rc = sg_cbor_get_uint(&d, &epoch)) != 0 ||
	    (rc = sg_cbor_get_uint(&d, &seq)) != 0 ||
	    (rc = sg_cbor_get_array(&d, &count)) != 0)
		return rc;
	if (count > c->cfg.max_topics)
		return SG_ERR_RANGE;
	r = find_rt(c, from);
	if (r != NULL && r->epoch == epoch && seq <= r->seq) {
		c->st.topics_stale++;
		return 0; /* an older list overtaken by a newer one */
	}
	r = rt_slot(c, from);
	if (r == NULL)
		return SG_ERR_FULL;
	ids = r->ids;
	if (!r->used || !sg_peer_id_equal(&r->peer, from)) {
		/* Replacing another peer's list: it leaves that peer's
		 * topics, as far as this node knows. */
		int was = r->used;
		r->used = 0;
		r->n = 0;
		if (was)
			sync_peer(c, &r->peer, now);
	}
	/* Decode into a scratch copy first so a bad list changes nothing. */
	{
		sg_topic_id tmp[64];
		sg_topic_id *dst = count <= 64 ? tmp
					       : sg_alloc(&c->env,
							  count * sizeof(*dst));
		if (dst == NULL)
			return SG_ERR_NOMEM;
		for (i = 0; i < count; i++) {
			const uint8_t *b;
			rc = sg_cbor_get_bytes_len(&d, &b, SG_TOPIC_ID_LEN);
			if (rc != 0)
				break;
			memcpy(dst[n++].bytes, b, SG_TOPIC_ID_LEN);
		}
		if (rc == 0)
			rc = sg_cbor_dec_done(&d);
		if (rc == 0) {
			/* Topics it joined and left, as seen from here. */
			memcpy(ids, dst, n * sizeof(*dst));
			r->n = n;
			r->peer = *from;
			r->epoch = epoch;
			r->seq = seq;
			r->used = 1;
			r->stamp = ++c->rt_clock;
			c->st.topics_rx++;
			sync_peer(c, from, now);
		}
		if (dst != tmp)
			sg_free(&c->env, dst);
	}
	return rc;
}

/* A neighbour asks which of our neighbours are in topic's swarm (an older
 * way to find a swarm, still answered; this core sends WALKs). */
static int recv_query(sg_core *c, const sg_peer_id *from, const uint8_t *p,
		      size_t len)
{
	sg_peer_id act[64];
	uint8_t buf[1 + SG_TOPIC_ID_LEN + 2 + PEERS_MAX * (3 + 34 + 2 +
							  SG_MEMB_ADDR_MAX)];
	sg_memb_peer found[PEERS_MAX];
	size_t n, i, k = 0;
	sg_topic_id t;
	sg_cbor_enc e;
	long el;

	if (len != SG_TOPIC_ID_LEN)
		return SG_ERR_MALFORMED;
	memcpy(t.bytes, p, SG_TOPIC_ID_LEN);
	n = sg_hyparview_active(c->hv, act, 64);
	if (n > 64)
		n = 64;
	for (i = 0; i < n && k < PEERS_MAX; i++)
		if (!sg_peer_id_equal(&act[i], from) &&
		    rt_has(find_rt(c, &act[i]), &t) &&
		    sg_hyparview_lookup(c->hv, &act[i], &found[k]) == 0)
			k++;
	if (k == 0)
		return 0;
	buf[0] = PS_PEERS;
	memcpy(buf + 1, t.bytes, SG_TOPIC_ID_LEN);
	sg_cbor_enc_init(&e, buf + 1 + SG_TOPIC_ID_LEN,
			 sizeof(buf) - 1 - SG_TOPIC_ID_LEN);
	sg_cbor_put_array(&e, k);
	for (i = 0; i < k; i++) {
		sg_cbor_put_array(&e, 2);
		sg_cbor_put_bytes(&e, found[i].id.bytes, SG_PEER_ID_LEN);
		sg_cbor_put_bytes(&e, found[i].addr, found[i].addr_len);
	}
	el = sg_cbor_enc_finish(&e);
	if (el < 0)
		return (int)el;
	return push_frame(c, from, SG_FRAME_PUBSUB, buf,
			  1 + SG_TOPIC_ID_LEN + (size_t)el);
}

/* Peers of a topic's swarm, from a neighbour we asked: ask them for
 * links (while there are free link slots). */
static int recv_peers(sg_core *c, const uint8_t *p, size_t len, uint64_t now)
{
	sg_cbor_limits lim;
	sg_cbor_dec d;
	sg_topic_id t;
	sg_memb_peer mp[PEERS_MAX];
	size_t count, i;
	long ti;
	int rc;

	if (len < SG_TOPIC_ID_LEN)
		return SG_ERR_MALFORMED;
	memcpy(t.bytes, p, SG_TOPIC_ID_LEN);
	p += SG_TOPIC_ID_LEN;
	len -= SG_TOPIC_ID_LEN;
	sg_cbor_limits_default(&lim);
	lim.max_depth = 2;
	lim.max_items = 1 + 3 * PEERS_MAX;
	if ((rc = sg_cbor_validate(p, len, &lim)) != 0)
		return rc;
	sg_cbor_dec_init(&d, p, len);
	if ((rc = sg_cbor_get_array(&d, &count)) != 0)
		return rc;
	if (count > PEERS_MAX)
		return SG_ERR_RANGE;
	if ((ti = find_topic(c, &t)) < 0)
		return SG_ERR_NOTFOUND;
	for (i = 0; i < count; i++) {
		const uint8_t *id, *addr;
		size_t k, alen;
		if ((rc = sg_cbor_get_array(&d, &k)) != 0)
			return rc;
		if (k != 2)
			return SG_ERR_MALFORMED;
		if ((rc = sg_cbor_get_bytes_len(&d, &id, SG_PEER_ID_LEN)) != 0 ||
		    (rc = sg_cbor_get_bytes(&d, &addr, &alen)) != 0)
			return rc;
		if (alen > SG_MEMB_ADDR_MAX)
			return SG_ERR_RANGE;
		memset(&mp[i], 0, sizeof(mp[i]));
		memcpy(mp[i].id.bytes, id, SG_PEER_ID_LEN);
		memcpy(mp[i].addr, addr, alen);
		mp[i].addr_len = (uint8_t)alen;
	}
	if ((rc = sg_cbor_dec_done(&d)) != 0)
		return rc;
	/* All of it checked: now act on it. */
	for (i = 0; i < count; i++) {
		known_add(c, &c->topics[ti], &mp[i]);
		(void)link_request(c, &c->topics[ti], &mp[i], now);
	}
	return 0;
}

static int dec_addr(sg_cbor_dec *d, sg_memb_peer *peer)
{
	const uint8_t *b;
	size_t blen;
	int rc;

	if ((rc = sg_cbor_get_bytes(d, &b, &blen)) != 0)
		return rc;
	if (blen > SG_MEMB_ADDR_MAX)
		return SG_ERR_RANGE;
	memcpy(peer->addr, b, blen);
	peer->addr_len = (uint8_t)blen;
	return 0;
}

/* Decodes topic id || CBOR [ttl, id, addr] (WALK) or [op, addr] / [op,
 * addr, [* [id, addr]]] (LINK: up to LINK_PEERS_MAX peers into peers,
 * their number into *np). */
static int dec_swarm(sg_topic_id *t, uint64_t *num, sg_memb_peer *peer,
		     sg_memb_peer *peers, size_t *np, const uint8_t *p,
		     size_t len, int walk)
{
	sg_cbor_limits lim;
	sg_cbor_dec d;
	const uint8_t *b;
	size_t count, i, k;
	int rc;

	if (len < SG_TOPIC_ID_LEN)
		return SG_ERR_MALFORMED;
	memcpy(t->bytes, p, SG_TOPIC_ID_LEN);
	p += SG_TOPIC_ID_LEN;
	len -= SG_TOPIC_ID_LEN;
	sg_cbor_limits_default(&lim);
	lim.max_depth = 3;
	lim.max_items = 5 + 3 * LINK_PEERS_MAX;
	if ((rc = sg_cbor_validate(p, len, &lim)) != 0)
		return rc;
	sg_cbor_dec_init(&d, p, len);
	if ((rc = sg_cbor_get_array(&d, &count)) != 0)
		return rc;
	if (walk ? count != 3 : count != 2 && count != 3)
		return SG_ERR_MALFORMED;
	if ((rc = sg_cbor_get_uint(&d, num)) != 0)
		return rc;
	memset(peer, 0, sizeof(*peer));
	if (walk) {
		if ((rc = sg_cbor_get_bytes_len(&d, &b, SG_PEER_ID_LEN)) != 0)
			return rc;
		memcpy(peer->id.bytes, b, SG_PEER_ID_LEN);
	}
	if ((rc = dec_addr(&d, peer)) != 0)
		return rc;
	if (np != NULL)
		*np = 0;
	if (!walk && count == 3) {
		if ((rc = sg_cbor_get_array(&d, &k)) != 0)
			return rc;
		if (k > LINK_PEERS_MAX)
			return SG_ERR_RANGE;
		for (i = 0; i < k; i++) {
			size_t two;
			memset(&peers[i], 0, sizeof(peers[i]));
			if ((rc = sg_cbor_get_array(&d, &two)) != 0)
				return rc;
			if (two != 2)
				return SG_ERR_MALFORMED;
			if ((rc = sg_cbor_get_bytes_len(&d, &b,
							 SG_PEER_ID_LEN)) != 0)
				return rc;
			memcpy(peers[i].id.bytes, b, SG_PEER_ID_LEN);
			if ((rc = dec_addr(&d, &peers[i])) != 0)
				return rc;
		}
		*np = k;
	}
	return sg_cbor_dec_done(&d);
}

/* A random element of cand[0..n) other than a and b, or NULL. */
static const sg_peer_id *pick_other(sg_core *c, const sg_peer_id *cand,
				    size_t n, const sg_peer_id *a,
				    const sg_peer_id *b)
{
	size_t i, k = rand_below(c, n);

	for (i = 0; i < n; i++) {
		const sg_peer_id *p = &cand[(k + i) % n];
		if (!sg_peer_id_equal(p, a) && !sg_peer_id_equal(p, b))
			return p;
	}
	return NULL;
}

/* A walk looking for topic t's swarm on behalf of origin. A subscriber
 * with a free link slot answers it (LINK request to the origin); a node
 * that knows a subscriber among its active neighbours hands it there;
 * otherwise it goes on to a random neighbour while its ttl lasts. Every
 * hop but a hand-off costs one ttl, and a hand-off goes to a subscriber,
 * which answers or passes it on only while ttl lasts: walks end. */
static int recv_walk(sg_core *c, const sg_peer_id *from, const uint8_t *p,
		     size_t len, uint64_t now)
{
	sg_peer_id act[64], cand[64 + SWARM_LINKS_MAX];
	sg_topic_id t;
	sg_memb_peer origin;
	const sg_peer_id *next = NULL;
	uint64_t ttl;
	size_t n, i, k = 0;
	long ti;
	int rc;

	if ((rc = dec_swarm(&t, &ttl, &origin, NULL, NULL, p, len, 1)) != 0)
		return rc;
	if (ttl > WALK_TTL_MAX || origin.addr_len == 0)
		return SG_ERR_RANGE;
	if (sg_peer_id_equal(&origin.id, &c->self.id))
		return 0;
	if (now >= c->walk_window + 1000) {
		c->walk_window = now;
		c->walk_used = 0;
	}
	if (c->walk_used >= WALK_BUDGET) {
		c->st.walks_dropped++;
		return SG_ERR_FULL;
	}
	c->walk_used++;
	ti = find_topic(c, &t);
	n = sg_hyparview_active(c->hv, act, 64);
	if (n > 64)
		n = 64;
	if (ti >= 0) {
		struct topic *tp = &c->topics[ti];
		known_add(c, tp, &origin); /* it is in the topic too */
		if (link_request(c, tp, &origin, now) == 0) {
			c->st.walks_answered++;
			return 0;
		}
		/* Linked with the origin already, or full: on through the
		 * swarm, to someone who may have room. */
		if (ttl == 0)
			return 0;
		for (i = 0; i < n; i++)
			if (in_swarm(c, tp, &act[i]))
				cand[k++] = act[i];
		for (i = 0; i < SWARM_LINKS_MAX; i++)
			if (tp->links[i].state == LINK_UP &&
			    !sg_hyparview_is_active(c->hv,
						    &tp->links[i].peer.id))
				cand[k++] = tp->links[i].peer.id;
		next = pick_other(c, cand, k, from, &origin.id);
		ttl--;
	} else {
		for (i = 0; i < n; i++)
			if (rt_has(find_rt(c, &act[i]), &t))
				cand[k++] = act[i];
		next = pick_other(c, cand, k, from, &origin.id);
		if (next == NULL && ttl > 0) {
			next = pick_other(c, act, n, from, &origin.id);
			ttl--;
		}
	}
	if (next == NULL)
		return 0;
	c->st.walks_forwarded++;
	send_walk(c, next, &t, ttl, &origin);
	return 0;
}

/* A link request, its answer, or the end of a link. */
static int recv_link(sg_core *c, const sg_peer_id *from, const uint8_t *p,
		     size_t len, uint64_t now)
{
	sg_topic_id t;
	sg_memb_peer peer, peers[LINK_PEERS_MAX];
	struct topic *tp;
	uint64_t op;
	size_t np, i;
	long ti, k;
	int rc;

	if ((rc = dec_swarm(&t, &op, &peer, peers, &np, p, len, 0)) != 0)
		return rc;
	if (op > LINK_CLOSE)
		return SG_ERR_MALFORMED;
	peer.id = *from;
	ti = find_topic(c, &t);
	if (ti < 0) {
		/* Not (or no longer) in the topic. */
		if (op == LINK_REQUEST)
			send_link(c, from, &t, LINK_REFUSE, NULL);
		else if (op == LINK_ACCEPT)
			send_link(c, from, &t, LINK_CLOSE, NULL);
		return 0;
	}
	tp = &c->topics[ti];
	for (i = 0; i < np; i++)
		known_add(c, tp, &peers[i]);
	if (op == LINK_REQUEST || op == LINK_ACCEPT || op == LINK_REFUSE)
		known_add(c, tp, &peer); /* in the topic, and alive */
	k = link_find(tp, from);
	switch (op) {
	case LINK_REQUEST:
		if (k >= 0 && tp->links[k].state == LINK_UP) {
			/* A probe of a silent link (or a repeat). */
			send_link(c, from, &t, LINK_ACCEPT, NULL);
			return 0;
		}
		if (k < 0)
			k = link_free_slot(tp);
		if (k < 0 || peer.addr_len == 0) {
			send_link(c, from, &t, LINK_REFUSE, NULL);
			return 0;
		}
		/* (A crossed request is accepted too: both ends agree.) */
		tp->links[k].peer = peer;
		link_up(c, tp, (size_t)k, now);
		send_link(c, from, &t, LINK_ACCEPT, tp);
		return 0;
	case LINK_ACCEPT:
		if (k < 0) {
			/* too late */
			send_link(c, from, &t, LINK_CLOSE, NULL);
			return 0;
		}
		if (tp->links[k].state == LINK_PENDING)
			link_up(c, tp, (size_t)k, now);
		return 0;
	default: /* REFUSE, CLOSE */
		if (k >= 0)
			link_drop(c, tp, (size_t)k, 0, now);
		return 0;
	}
}

static int recv_pubsub(sg_core *c, const sg_peer_id *from, const uint8_t *p,
		       size_t len, uint64_t now, uint64_t wall)
{
	sg_topic_id t;
	long i;

	if (len < 1)
		return SG_ERR_MALFORMED;
	if (p[0] == PS_TOPICS)
		return recv_topics(c, from, p + 1, len - 1, now);
	if (p[0] == PS_QUERY)
		return recv_query(c, from, p + 1, len - 1);
	if (p[0] == PS_PEERS)
		return recv_peers(c, p + 1, len - 1, now);
	if (p[0] == PS_WALK)
		return recv_walk(c, from, p + 1, len - 1, now);
	if (p[0] == PS_LINK)
		return recv_link(c, from, p + 1, len - 1, now);
	if (p[0] != PS_TOPIC || len < 1 + SG_TOPIC_ID_LEN)
		return SG_ERR_MALFORMED;
	memcpy(t.bytes, p + 1, SG_TOPIC_ID_LEN);
	i = find_topic(c, &t);
	if (i < 0) {
		/* Not (or no longer) subscribed: our new list is on its way
		 * to the sender already. */
		c->st.rx_no_topic++;
		return SG_ERR_NOTFOUND;
	}
	if (!sg_hyparview_is_active(c->hv, from) &&
	    link_find(&c->topics[i], from) < 0) {
		/* It holds a link we no longer have (a lost CLOSE). */
		c->st.rx_no_topic++;
		send_link(c, from, &t, LINK_CLOSE, NULL);
		return SG_ERR_NOTFOUND;
	}
	return sg_plumtree_recv(c->topics[i].pt, from, p + 1 + SG_TOPIC_ID_LEN,
				len - 1 - SG_TOPIC_ID_LEN, now, wall);
}

static int recv_discovery(sg_core *c, const sg_peer_id *from,
			  const uint8_t *p, size_t len)
{
	sg_core_event ev;
	uint8_t *copy;

	if (len < 1 || len > 1 + SG_CORE_DISCOVERY_MAX)
		return SG_ERR_MALFORMED;
	copy = sg_alloc(&c->env, len - 1 > 0 ? len - 1 : 1);
	if (copy == NULL)
		return SG_ERR_NOMEM;
	memcpy(copy, p + 1, len - 1);
	memset(&ev, 0, sizeof(ev));
	ev.type = SG_CORE_DISCOVERY;
	if (sg_hyparview_lookup(c->hv, from, &ev.peer) != 0)
		ev.peer.id = *from;
	ev.kind = p[0];
	ev.data = copy;
	ev.len = len - 1;
	emit(c, &ev);
	return 0;
}

static int recv_direct(sg_core *c, const sg_peer_id *from, const uint8_t *p,
		       size_t len)
{
	sg_core_event ev;
	uint8_t *copy = sg_alloc(&c->env, len > 0 ? len : 1);

	if (copy == NULL)
		return SG_ERR_NOMEM;
	if (len > 0)
		memcpy(copy, p, len);
	memset(&ev, 0, sizeof(ev));
	ev.type = SG_CORE_DIRECT;
	if (sg_hyparview_lookup(c->hv, from, &ev.peer) != 0)
		ev.peer.id = *from;
	ev.data = copy;
	ev.len = len;
	emit(c, &ev);
	return 0;
}

int sg_core_send_direct(sg_core *c, const sg_peer_id *to, const uint8_t *data,
			size_t len)
{
	if (len > SG_FRAME_DEFAULT_MAX)
		return SG_ERR_RANGE;
	return push_frame(c, to, SG_FRAME_DIRECT, data, len);
}

int sg_core_send_discovery(sg_core *c, const sg_peer_id *to, uint8_t kind,
			   const uint8_t *data, size_t len)
{
	uint8_t *buf;
	int rc;

	if (len > SG_CORE_DISCOVERY_MAX)
		return SG_ERR_RANGE;
	buf = sg_alloc(&c->env, len + 1);
	if (buf == NULL)
		return SG_ERR_NOMEM;
	buf[0] = kind;
	if (len > 0)
		memcpy(buf + 1, data, len);
	rc = push_frame(c, to, SG_FRAME_DISCOVERY, buf, len + 1);
	sg_free(&c->env, buf);
	return rc;
}

/* 1 when from said it leaves less than LEFT_QUARANTINE_MS ago (a JOIN
 * lifts that: the peer started again). */
static int left_recently(sg_core *c, const sg_peer_id *from, int join,
			 uint64_t now)
{
	size_t i;

	for (i = 0; i < LEFT_QUARANTINE; i++)
		if (c->left[i].until > now &&
		    sg_peer_id_equal(&c->left[i].id, from)) {
			if (!join)
				return 1;
			c->left[i].until = 0;
		}
	return 0;
}

int sg_core_recv(sg_core *c, const sg_peer_id *from, const uint8_t *frame,
		 size_t len, uint64_t now_ms, uint64_t wall_ms)
{
	sg_frame_type type;
	size_t body_len;
	const uint8_t *body = frame + SG_FRAME_HEADER_LEN;
	int rc;

	c->st.rx_frames++;
	c->now = now_ms;
	rc = sg_frame_header_decode(&type, &body_len, frame, len,
				    SG_FRAME_DEFAULT_MAX);
	if (rc == 0 && body_len != len - SG_FRAME_HEADER_LEN)
		rc = SG_ERR_MALFORMED;
	if (rc != 0) {
		c->st.rx_malformed++;
		return rc;
	}
	links_heard(c, from, now_ms);
	switch (type) {
	case SG_FRAME_MEMBERSHIP:
		rc = sg_memb_peek_type(body, body_len);
		if (rc < 0)
			break;
		if (rc >= SG_MEMB_PING) {
			rc = sg_swim_recv(c->sw, from, body, body_len, now_ms);
		} else if (left_recently(c, from, rc == SG_MEMB_JOIN,
					 now_ms)) {
			c->st.rx_after_left++;
			rc = 0;
		} else {
			rc = sg_hyparview_recv(c->hv, from, body, body_len,
					       now_ms);
		}
		break;
	case SG_FRAME_PUBSUB:
		rc = recv_pubsub(c, from, body, body_len, now_ms, wall_ms);
		break;
	case SG_FRAME_DISCOVERY:
		rc = recv_discovery(c, from, body, body_len);
		break;
	case SG_FRAME_DIRECT:
		rc = recv_direct(c, from, body, body_len);
		break;
	default:
		c->st.rx_unknown_type++;
		return SG_ERR_UNSUPPORTED;
	}
	if (rc == SG_ERR_MALFORMED || rc == SG_ERR_TRUNCATED ||
	    rc == SG_ERR_NONCANONICAL || rc == SG_ERR_TYPE ||
	    rc == SG_ERR_TRAILING)
		c->st.rx_malformed++;
	process(c, now_ms);
	return rc;
}

void sg_core_tick(sg_core *c, uint64_t now_ms)
{
	size_t i;

	c->now = now_ms;
	if (sg_hyparview_next_deadline(c->hv) <= now_ms)
		sg_hyparview_tick(c->hv, now_ms);
	if (sg_swim_next_deadline(c->sw) <= now_ms)
		sg_swim_tick(c->sw, now_ms);
	for (i = 0; i < c->n_topics; i++)
		if (sg_plumtree_next_deadline(c->topics[i].pt) <= now_ms)
			sg_plumtree_tick(c->topics[i].pt, now_ms);
	process(c, now_ms);
	swarm_tick(c, now_ms);
	process(c, now_ms);
}

uint64_t sg_core_next_deadline(const sg_core *c)
{
	uint64_t d = sg_hyparview_next_deadline(c->hv), t;
	size_t i, k;

	if ((t = sg_swim_next_deadline(c->sw)) < d)
		d = t;
	for (i = 0; i < c->n_topics; i++) {
		const struct topic *tp = &c->topics[i];
		if ((t = sg_plumtree_next_deadline(tp->pt)) < d)
			d = t;
		for (k = 0; k < SWARM_LINKS_MAX; k++)
			if (tp->links[k].state != LINK_FREE &&
			    tp->links[k].deadline < d)
				d = tp->links[k].deadline;
		if (tp->next_walk < d && topic_degree(c, tp) < SWARM_TARGET)
			d = tp->next_walk;
	}
	return d;
}

void sg_core_peer_unreachable(sg_core *c, const sg_peer_id *peer,
			      uint64_t now_ms)
{
	links_drop_peer(c, peer, now_ms);
	sg_hyparview_peer_failed(c->hv, peer, now_ms);
	process(c, now_ms);
}

/* ---- output -------------------------------------------------------------- */

static int reserve(sg_core *c, size_t need)
{
	uint8_t *p;

	if (need <= c->txcap)
		return 0;
	p = sg_realloc(&c->env, c->txbuf, need);
	if (p == NULL)
		return SG_ERR_NOMEM;
	c->txbuf = p;
	c->txcap = need;
	return 0;
}

/* Wraps body (of a sub-core) into c->txbuf with the frame header and, for
 * a topic frame, the kind byte and topic id. */
static size_t wrap(sg_core *c, sg_frame_type type, const sg_topic_id *topic,
		   const uint8_t *body, size_t len, const uint8_t **frame)
{
	size_t pre = topic != NULL ? 1 + SG_TOPIC_ID_LEN : 0;
	size_t total = SG_FRAME_HEADER_LEN + pre + len;

	if (reserve(c, total) != 0 ||
	    sg_frame_header_encode(c->txbuf, type, pre + len,
				   SG_FRAME_DEFAULT_MAX) != 0) {
		c->st.tx_dropped++;
		return 0;
	}
	if (topic != NULL) {
		c->txbuf[SG_FRAME_HEADER_LEN] = PS_TOPIC;
		memcpy(c->txbuf + SG_FRAME_HEADER_LEN + 1, topic->bytes,
		       SG_TOPIC_ID_LEN);
	}
	memcpy(c->txbuf + SG_FRAME_HEADER_LEN + pre, body, len);
	*frame = c->txbuf;
	return total;
}

size_t sg_core_poll_tx(sg_core *c, sg_peer_id *to, const uint8_t **frame)
{
	const uint8_t *body;
	size_t n, i;

	/* The previous own frame is freed now. */
	sg_free(&c->env, c->q_last);
	c->q_last = NULL;
	if (c->q_head != NULL) {
		struct txq_item *it = c->q_head;
		c->q_head = it->next;
		if (c->q_head == NULL)
			c->q_tail = NULL;
		c->q_count--;
		c->q_last = it;
		*to = it->to;
		*frame = it->buf;
		return it->len;
	}
	for (;;) {
		n = sg_hyparview_poll_tx(c->hv, to, &body);
		if (n > 0) {
			n = wrap(c, SG_FRAME_MEMBERSHIP, NULL, body, n, frame);
			if (n > 0)
				return n;
			continue;
		}
		break;
	}
	for (;;) {
		n = sg_swim_poll_tx(c->sw, to, &body);
		if (n > 0) {
			n = wrap(c, SG_FRAME_MEMBERSHIP, NULL, body, n, frame);
			if (n > 0)
				return n;
			continue;
		}
		break;
	}
	/* Topics round robin, so one busy topic does not starve another. */
	for (i = 0; i < c->n_topics; i++) {
		struct topic *t = &c->topics[(c->tx_next + i) % c->n_topics];
		while ((n = sg_plumtree_poll_tx(t->pt, to, &body)) > 0) {
			n = wrap(c, SG_FRAME_PUBSUB, &t->id, body, n, frame);
			if (n > 0) {
				c->tx_next = (c->tx_next + i) % c->n_topics;
				return n;
			}
		}
	}
	return 0;
}

int sg_core_poll_event(sg_core *c, sg_core_event *ev)
{
	sg_plumtree_event pe;
	size_t i;

	sg_free(&c->env, c->ev_last_data);
	c->ev_last_data = NULL;
	for (;;) {
		if (sg_evq_pop(&c->evs, ev)) {
			if (ev->type == SG_CORE_DISCOVERY ||
			    ev->type == SG_CORE_DIRECT)
				c->ev_last_data = (uint8_t *)(uintptr_t)ev->data;
			return 1;
		}
		for (i = 0; i < c->n_topics; i++)
			if (sg_plumtree_poll_event(c->topics[i].pt, &pe))
				break;
		if (i == c->n_topics)
			return 0;
		memset(ev, 0, sizeof(*ev));
		if (pe.type == SG_PLUMTREE_DELIVER) {
			ev->type = SG_CORE_DELIVER;
			ev->topic = c->topics[i].id;
			if (sg_hyparview_lookup(c->hv, &pe.peer, &ev->peer) != 0)
				ev->peer.id = pe.peer;
			ev->msg = pe.msg;
			ev->hops = pe.hops;
			c->st.delivered++;
			return 1;
		}
		if (pe.type == SG_PLUMTREE_MISBEHAVED) {
			c->st.misbehaved++;
			emit_peer(c, SG_CORE_MISBEHAVED, &pe.peer, pe.reason);
			/* The connection is closed by the node; the view
			 * and the links drop the peer now. */
			links_drop_peer(c, &pe.peer, c->now);
			sg_hyparview_peer_failed(c->hv, &pe.peer, c->now);
			process(c, c->now);
		}
	}
}

/* ---- topics API --------------------------------------------------------- */

int sg_core_subscribe(sg_core *c, const sg_topic_id *topic, uint64_t now_ms)
{
	struct topic *t;

	if (find_topic(c, topic) >= 0)
		return SG_ERR_EXISTS;
	if (c->n_topics == c->cfg.max_topics)
		return SG_ERR_FULL;
	t = &c->topics[c->n_topics];
	t->pt = sg_plumtree_new(&c->env, &c->cfg.pt, topic, c->keys);
	if (t->pt == NULL)
		return SG_ERR_NOMEM;
	t->id = *topic;
	memset(t->links, 0, sizeof(t->links));
	t->n_known = 0;
	t->next_walk = now_ms;
	t->walk_gap = 0;
	t->walk_degree = 0;
	c->n_topics++;
	sync_topic(c, t, now_ms);
	announce_topics(c);
	return 0;
}

int sg_core_unsubscribe(sg_core *c, const sg_topic_id *topic, uint64_t now_ms)
{
	long i = find_topic(c, topic);
	struct slink links[SWARM_LINKS_MAX];
	size_t k;

	if (i < 0)
		return SG_ERR_NOTFOUND;
	memcpy(links, c->topics[i].links, sizeof(links));
	sg_plumtree_del(c->topics[i].pt);
	c->topics[i] = c->topics[c->n_topics - 1];
	memset(&c->topics[c->n_topics - 1], 0, sizeof(struct topic));
	c->n_topics--;
	c->tx_next = 0;
	for (k = 0; k < SWARM_LINKS_MAX; k++) {
		if (links[k].state == LINK_FREE)
			continue;
		send_link(c, &links[k].peer.id, topic, LINK_CLOSE, NULL);
		sync_peer(c, &links[k].peer.id, now_ms);
	}
	announce_topics(c);
	return 0;
}

int sg_core_is_subscribed(const sg_core *c, const sg_topic_id *topic)
{
	return find_topic(c, topic) >= 0;
}

size_t sg_core_topics(const sg_core *c, sg_topic_id *out, size_t max)
{
	size_t i;

	for (i = 0; i < c->n_topics && i < max; i++)
		out[i] = c->topics[i].id;
	return c->n_topics;
}

int sg_core_publish(sg_core *c, const sg_topic_id *topic,
		    const uint8_t *payload, size_t len, const uint8_t rnd[32],
		    uint64_t now_ms, uint64_t wall_ms,
		    uint8_t id[SG_MSG_ID_LEN])
{
	sg_msg_header hdr;
	sg_msg_view v;
	uint8_t *buf;
	size_t cap;
	long n, ti = find_topic(c, topic);
	int rc;

	if (len > SG_MSG_MAX_PAYLOAD)
		return SG_ERR_RANGE;
	if (ti < 0) {
		if ((rc = sg_core_subscribe(c, topic, now_ms)) != 0)
			return rc;
		ti = (long)c->n_topics - 1;
	}
	cap = len + SG_MSG_OVERHEAD;
	buf = sg_alloc(&c->env, cap);
	if (buf == NULL)
		return SG_ERR_NOMEM;
	memset(&hdr, 0, sizeof(hdr));
	hdr.topic = *topic;
	/* The first message after a start takes the wall clock (never a
	 * replay after a restart), later ones last + 1: receivers keep a
	 * window of 256 sequence numbers per publisher, which then spans 256
	 * messages, not 256 ms, so a message fetched after a newer one (catch-
	 * up after a partition or a crash) is not taken for a replay. */
	hdr.seq = c->last_seq != 0 ? c->last_seq + 1
				   : sg_plumtree_initial_seq(0, wall_ms);
	hdr.publish_ms = wall_ms;
	hdr.expires_ms = wall_ms + c->cfg.msg_ttl_ms;
	n = sg_msg_sign(buf, cap, &hdr, payload, len, c->ident, rnd);
	if (n < 0) {
		sg_free(&c->env, buf);
		return (int)n;
	}
	c->last_seq = hdr.seq;
	/* Our own key, so neighbours asking for it get an answer. */
	sg_keycache_put(c->keys, c->ident->pk);
	rc = sg_plumtree_publish(c->topics[ti].pt, buf, (size_t)n, now_ms,
				 wall_ms);
	if (rc == 0) {
		c->st.published++;
		if (id != NULL && sg_msg_decode(&v, buf, (size_t)n) == 0)
			memcpy(id, v.id, SG_MSG_ID_LEN);
	}
	sg_free(&c->env, buf);
	return rc;
}

/* ---- queries ------------------------------------------------------------- */

int sg_core_peer_addr(const sg_core *c, const sg_peer_id *peer,
		      sg_memb_peer *out)
{
	size_t i;

	if (sg_hyparview_lookup(c->hv, peer, out) == 0)
		return 0;
	for (i = 0; i < c->n_topics; i++) {
		long k = link_find(&c->topics[i], peer);
		if (k >= 0) {
			*out = c->topics[i].links[k].peer;
			return 0;
		}
	}
	return SG_ERR_NOTFOUND;
}

size_t sg_core_topic_neighbors(const sg_core *c, const sg_topic_id *topic,
			       sg_peer_id *out, size_t max)
{
	sg_peer_id act[64];
	long ti = find_topic(c, topic);
	size_t n, i, k = 0;
	const struct topic *t;

	if (ti < 0)
		return 0;
	t = &c->topics[ti];
	n = sg_hyparview_active(c->hv, act, 64);
	if (n > 64)
		n = 64;
	for (i = 0; i < n; i++)
		if (rt_has(find_rt(c, &act[i]), topic) &&
		    !link_is_up(t, &act[i])) {
			if (k < max)
				out[k] = act[i];
			k++;
		}
	for (i = 0; i < SWARM_LINKS_MAX; i++)
		if (t->links[i].state == LINK_UP) {
			if (k < max)
				out[k] = t->links[i].peer.id;
			k++;
		}
	return k;
}

int sg_core_is_active(const sg_core *c, const sg_peer_id *peer)
{
	return sg_hyparview_is_active(c->hv, peer);
}

size_t sg_core_active(const sg_core *c, sg_peer_id *out, size_t max)
{
	return sg_hyparview_active(c->hv, out, max);
}

size_t sg_core_passive(const sg_core *c, sg_memb_peer *out, size_t max)
{
	return sg_hyparview_passive(c->hv, out, max);
}

void sg_core_stats_get(const sg_core *c, sg_core_stats *st)
{
	sg_hyparview_stats hs;
	sg_swim_stats ss;
	size_t i, k;

	*st = c->st;
	sg_hyparview_stats_get(c->hv, &hs);
	sg_swim_stats_get(c->sw, &ss);
	st->topics = c->n_topics;
	st->links = 0;
	for (i = 0; i < c->n_topics; i++)
		for (k = 0; k < SWARM_LINKS_MAX; k++)
			st->links += c->topics[i].links[k].state == LINK_UP;
	st->active = hs.active;
	st->passive = hs.passive;
	st->members = ss.members;
}

int sg_core_topic_stats(const sg_core *c, const sg_topic_id *topic,
			sg_plumtree_stats *st)
{
	long i = find_topic(c, topic);

	if (i < 0)
		return SG_ERR_NOTFOUND;
	sg_plumtree_stats_get(c->topics[i].pt, st);
	return 0;
}

int sg_core_topic_peer_info(const sg_core *c, const sg_topic_id *topic,
			    const sg_peer_id *peer, sg_plumtree_peer_info *info)
{
	long i = find_topic(c, topic);

	if (i < 0)
		return SG_ERR_NOTFOUND;
	return sg_plumtree_peer_info_get(c->topics[i].pt, peer, info);
}
