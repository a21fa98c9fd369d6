/*
 * Plumtree for one topic (Leitao, Pereira, Rodrigues, SRDS 2007), sans-IO.
 *
 * Section 3 of the paper: every neighbour starts in eagerPushPeers; a
 * message (GOSSIP here) is pushed to eager peers and announced (IHAVE) to
 * lazy ones; a duplicate from an eager peer demotes it (PRUNE); an
 * announced message that does not arrive in time is requested with GRAFT,
 * which also promotes the announcer, trying the next announcer on each
 * timeout; section 3.8's optimisation swaps an eager parent for a lazy
 * announcer whose path is optimize_hops shorter.
 *
 * One tree per publisher, not one per topic: eager/lazy is kept per
 * (publisher, neighbour), so a duplicate of one publisher's message prunes
 * that publisher's tree only. With a single shared tree, many publishers
 * at once prune different edges of the same cycles and cut the tree apart
 * (measured: RMR 1.7-4.8 with every node sending); per-publisher trees
 * converge each as the single-sender case does. A new publisher's tree
 * starts as a copy of the topic's shared tree (the paper's single tree,
 * updated by every PRUNE and GRAFT), so sequential publishers cost no
 * flooding either. PRUNE names the publisher; GRAFT names the ids it wants
 * and the publishers whose trees it rejoins.
 *
 * Additions of ours: messages are publisher-signed and verified once
 * before they are seen (a forged copy cannot suppress the real one);
 * a per-publisher replay window; a hop limit; IWANT (fetch without
 * changing the tree) answering periodic SUMMARY frames for catch-up;
 * publisher-key requests; neighbour scores with pruning and back-off.
 */
#include "sg/plumtree.h"
#include "sg/cbor.h"
#include "sg/err.h"
#include "idset.h"

#include <string.h>

enum {
	T_GOSSIP = 1,
	T_IHAVE = 2,
	T_IWANT = 3,
	T_GRAFT = 4,
	T_PRUNE = 5,
	T_SUMMARY = 6,
	T_KEYREQ = 7,
	T_KEYRESP = 8,
};

#define WINDOW_BITS 256
#define SCORE_FIRST 1
#define SCORE_INVALID (-100)
#define SCORE_UNANSWERED (-5) /* doubled per strike in a row, to -40 */
#define STRIKES_MAX 3
#define SCORE_MAX 10

typedef struct nbr {
	sg_peer_id id;
	int in_use;
	int32_t score;
	uint64_t backoff_until;
	uint32_t prunes;             /* times its score fell below */
	uint8_t strikes;             /* GRAFTs unanswered since its last
	                              * first copy (at most STRIKES_MAX) */
	uint64_t heard_ms;           /* its latest frame to us */
	uint64_t next_full;          /* next full SUMMARY to it */
	size_t lazy_n, lazy_cap;     /* queued IHAVE entries, room */
	uint8_t (*lazy_ids)[SG_ID_LEN]; /* grow up to ihave_batch_max */
	uint32_t *lazy_hops;
} nbr;

/* Per-id values of the tables (sg_idset values). */
typedef struct cache_val {
	uint8_t *buf; /* the envelope */
	size_t len;
	uint64_t time;
	sg_peer_id pub; /* its publisher */
	uint32_t hops;
	int parent; /* neighbour index it came from, -1 own */
} cache_val;

typedef struct miss_val {
	uint64_t deadline;
	uint32_t hops;
	uint8_t live, nann, next;
	sg_peer_id ann[]; /* max_announcers */
} miss_val;

typedef struct pub_val {
	uint64_t lazy; /* a bit per neighbour slot; 0 = eager */
	uint64_t max;  /* newest sequence number */
	uint64_t bits[WINDOW_BITS / 64]; /* bit i: max - i seen */
	uint8_t fresh; /* no sequence number seen yet */
} pub_val;

typedef struct txq_item {
	sg_peer_id to;
	uint8_t *buf;
	size_t len;
} txq_item;

typedef struct evq_item {
	sg_plumtree_event_type type;
	sg_peer_id peer;
	uint8_t *buf; /* DELIVER: the envelope */
	size_t len;
	uint32_t hops;
	int reason;
} evq_item;

typedef struct pending_key {
	int in_use;
	sg_peer_id from, publisher;
	uint8_t *buf;
	size_t len;
	uint32_t hops;
	uint64_t deadline;
} pending_key;

struct sg_plumtree {
	sg_env env;
	sg_plumtree_config cfg;
	sg_topic_id topic;
	sg_keycache *keys;

	nbr *nbrs;

	/* Every table starts small and grows on demand up to its bound
	 * (idset.h), so an idle topic costs a few KiB, not megabytes. */

	/* Cache of verified messages (answers GRAFT and IWANT). */
	sg_idset cache; /* values: cache_val */
	size_t cache_total;

	/* Ids of accepted messages; value: the time (now_ms) after which a
	 * copy would be refused as expired anyway, when the id is let go. */
	sg_idset seen;

	/* Announced but not yet received. */
	sg_idset miss; /* values: miss_val */
	size_t miss_live_n;

	/* Per publisher: replay window and tree. */
	sg_idset pubs; /* values: pub_val */
	uint64_t shared_lazy; /* the topic-wide tree new publishers start from */

	pending_key *pend; /* grows up to max_pending_key */
	size_t pend_cap;

	txq_item *txq; /* ring, grows on demand up to max_tx */
	size_t tx_head, tx_n, tx_cap;
	uint8_t *tx_last;

	evq_item *evq; /* ring, grows on demand up to max_events */
	size_t ev_head, ev_n, ev_cap;
	uint8_t *ev_last;

	uint64_t next_ihave, next_summary;
	sg_plumtree_stats st;
};

static cache_val *cval(const sg_plumtree *pt, size_t slot)
{
	return sg_idset_val(&pt->cache, slot);
}

static miss_val *mval(const sg_plumtree *pt, size_t slot)
{
	return sg_idset_val(&pt->miss, slot);
}

static pub_val *pval(const sg_plumtree *pt, size_t slot)
{
	return sg_idset_val(&pt->pubs, slot);
}

/* ---- configuration ------------------------------------------------------ */

void sg_plumtree_config_default(sg_plumtree_config *c)
{
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->max_neighbors = 32;
	c->ihave_interval_ms = 50;
	c->ihave_batch_max = 64;
	c->graft_timeout_ms = 500;
	c->graft_retry_ms = 250;
	c->max_announcers = 4;
	c->max_missing = 4096;
	c->max_hops = 32;
	c->optimize_hops = 3;
	c->cache_msgs = 1024;
	c->cache_bytes = 16u << 20;
	c->cache_age_ms = 120000;
	c->seen_max = 16384;
	c->max_publishers = 4096;
	c->summary_interval_ms = 2000;
	c->summary_max = 256;
	c->summary_settle_ms = 1000;
	c->summary_recent_ms = 10000;
	c->summary_full_ms = 60000;
	c->skew_ms = 300000;
	c->max_pending_key = 64;
	c->key_timeout_ms = 5000;
	c->max_tx = 8192;
	c->max_events = 4096;
	c->prune_score = -15;
	c->backoff_ms = 60000;
}

uint64_t sg_plumtree_initial_seq(uint64_t last_persisted, uint64_t wall_ms)
{
	return last_persisted + 1 > wall_ms ? last_persisted + 1 : wall_ms;
}

static int config_ok(const sg_plumtree_config *c)
{
	return c->size == sizeof(*c) && c->max_neighbors > 0 &&
	       c->max_neighbors <= 64 && c->ihave_batch_max > 0 &&
	       c->ihave_batch_max <= 1024 && c->max_announcers > 0 &&
	       c->max_announcers <= 16 && c->max_missing > 0 &&
	       c->cache_msgs > 0 && c->seen_max > 0 &&
	       c->max_publishers > 0 && c->max_pending_key > 0 &&
	       c->max_tx > 0 && c->max_events > 0 && c->summary_max <= 4096;
}

/* ---- life cycle ---------------------------------------------------------- */

sg_plumtree *sg_plumtree_new(const sg_env *env, const sg_plumtree_config *cfg,
			     const sg_topic_id *topic, sg_keycache *keys)
{
	sg_plumtree *pt;
	int ok;

	if (!config_ok(cfg) || keys == NULL)
		return NULL;
	pt = sg_calloc(env, 1, sizeof(*pt));
	if (pt == NULL)
		return NULL;
	pt->env = *env;
	pt->cfg = *cfg;
	pt->topic = *topic;
	pt->keys = keys;
	pt->nbrs = sg_calloc(env, cfg->max_neighbors, sizeof(nbr));
	ok = pt->nbrs != NULL &&
	     sg_idset_init(&pt->cache, env, cfg->cache_msgs,
			   sizeof(cache_val)) == 0 &&
	     sg_idset_init(&pt->seen, env, cfg->seen_max, sizeof(uint64_t)) ==
		     0 &&
	     sg_idset_init(&pt->miss, env, cfg->max_missing,
			   sizeof(miss_val) +
				   cfg->max_announcers * sizeof(sg_peer_id)) ==
		     0 &&
	     sg_idset_init(&pt->pubs, env, cfg->max_publishers,
			   sizeof(pub_val)) == 0;
	if (ok) {
		pt->tx_cap = cfg->max_tx < 16 ? cfg->max_tx : 16;
		pt->ev_cap = cfg->max_events < 16 ? cfg->max_events : 16;
		pt->txq = sg_calloc(env, pt->tx_cap, sizeof(txq_item));
		pt->evq = sg_calloc(env, pt->ev_cap, sizeof(evq_item));
		ok = pt->txq && pt->evq;
	}
	if (!ok) {
		sg_plumtree_del(pt);
		return NULL;
	}
	return pt;
}

void sg_plumtree_del(sg_plumtree *pt)
{
	sg_env env;
	size_t i;

	if (pt == NULL)
		return;
	env = pt->env;
	if (pt->nbrs != NULL) {
		for (i = 0; i < pt->cfg.max_neighbors; i++) {
			sg_free(&env, pt->nbrs[i].lazy_ids);
			sg_free(&env, pt->nbrs[i].lazy_hops);
		}
		sg_free(&env, pt->nbrs);
	}
	for (i = 0; i < pt->cache.count; i++)
		sg_free(&env, cval(pt, sg_idset_nth(&pt->cache, i))->buf);
	for (i = 0; i < pt->pend_cap; i++)
		sg_free(&env, pt->pend[i].buf);
	for (i = 0; pt->txq != NULL && i < pt->tx_n; i++)
		sg_free(&env, pt->txq[(pt->tx_head + i) % pt->tx_cap].buf);
	for (i = 0; pt->evq != NULL && i < pt->ev_n; i++)
		sg_free(&env, pt->evq[(pt->ev_head + i) % pt->ev_cap].buf);
	sg_free(&env, pt->tx_last);
	sg_free(&env, pt->ev_last);
	sg_idset_fini(&pt->cache, &env);
	sg_idset_fini(&pt->seen, &env);
	sg_idset_fini(&pt->miss, &env);
	sg_idset_fini(&pt->pubs, &env);
	sg_free(&env, pt->pend);
	sg_free(&env, pt->txq);
	sg_free(&env, pt->evq);
	sg_free(&env, pt);
}

/* ---- queues ---------------------------------------------------------------- */

static int find_nbr(const sg_plumtree *pt, const sg_peer_id *id)
{
	size_t i;

	for (i = 0; i < pt->cfg.max_neighbors; i++)
		if (pt->nbrs[i].in_use && sg_peer_id_equal(&pt->nbrs[i].id, id))
			return (int)i;
	return -1;
}

/* Doubles a ring of elem-sized items (up to max), keeping the order.
 * Returns 0, or -1 when it is at max or memory is short. */
static int ring_grow(const sg_env *env, void **ring, size_t elem, size_t *cap,
		     size_t *head, size_t n, size_t max)
{
	size_t ncap = *cap * 2 > max ? max : *cap * 2, i;
	uint8_t *nr;

	if (ncap <= *cap)
		return -1;
	nr = sg_calloc(env, ncap, elem);
	if (nr == NULL)
		return -1;
	for (i = 0; i < n; i++)
		memcpy(nr + i * elem,
		       (uint8_t *)*ring + ((*head + i) % *cap) * elem, elem);
	sg_free(env, *ring);
	*ring = nr;
	*cap = ncap;
	*head = 0;
	return 0;
}

/* Queues a frame (takes ownership of buf). */
static void tx_push(sg_plumtree *pt, const sg_peer_id *to, uint8_t *buf,
		    size_t len)
{
	txq_item *it;

	if (pt->tx_n == pt->tx_cap &&
	    ring_grow(&pt->env, (void **)&pt->txq, sizeof(txq_item),
		      &pt->tx_cap, &pt->tx_head, pt->tx_n, pt->cfg.max_tx) != 0) {
		pt->st.tx_dropped++;
		sg_free(&pt->env, buf);
		return;
	}
	it = &pt->txq[(pt->tx_head + pt->tx_n++) % pt->tx_cap];
	it->to = *to;
	it->buf = buf;
	it->len = len;
}

static void ev_push(sg_plumtree *pt, sg_plumtree_event_type type,
		    const sg_peer_id *peer, uint8_t *buf, size_t len,
		    uint32_t hops, int reason)
{
	evq_item *it;

	if (pt->ev_n == pt->ev_cap &&
	    ring_grow(&pt->env, (void **)&pt->evq, sizeof(evq_item),
		      &pt->ev_cap, &pt->ev_head, pt->ev_n,
		      pt->cfg.max_events) != 0) {
		pt->st.events_dropped++;
		sg_free(&pt->env, buf);
		return;
	}
	it = &pt->evq[(pt->ev_head + pt->ev_n++) % pt->ev_cap];
	it->type = type;
	it->peer = *peer;
	it->buf = buf;
	it->len = len;
	it->hops = hops;
	it->reason = reason;
}

static uint8_t *dup_bytes(sg_plumtree *pt, const uint8_t *p, size_t len)
{
	uint8_t *b = sg_alloc(&pt->env, len ? len : 1);
	if (b != NULL && len != 0)
		memcpy(b, p, len);
	return b;
}

/* ---- frame encoding --------------------------------------------------------- */

typedef void (*body_fn)(sg_cbor_enc *e, const void *arg);

/* Encodes [type, body...] twice: once to measure, once for real. */
static void send_frame(sg_plumtree *pt, const sg_peer_id *to, body_fn body,
		       const void *arg)
{
	sg_cbor_enc e;
	uint8_t *buf;
	long n;

	sg_cbor_enc_init(&e, NULL, 0);
	body(&e, arg);
	n = sg_cbor_enc_finish(&e);
	if (n < 0 && e.err != SG_ERR_BUFSIZE) {
		pt->st.tx_dropped++;
		return;
	}
	buf = sg_alloc(&pt->env, e.len);
	if (buf == NULL) {
		pt->st.tx_dropped++;
		return;
	}
	sg_cbor_enc_init(&e, buf, e.len);
	body(&e, arg);
	n = sg_cbor_enc_finish(&e);
	if (n < 0) {
		sg_free(&pt->env, buf);
		pt->st.tx_dropped++;
		return;
	}
	tx_push(pt, to, buf, (size_t)n);
}

typedef struct gossip_arg {
	uint32_t hops;
	const uint8_t *env;
	size_t len;
} gossip_arg;

static void body_gossip(sg_cbor_enc *e, const void *a_)
{
	const gossip_arg *a = a_;
	sg_cbor_put_array(e, 3);
	sg_cbor_put_uint(e, T_GOSSIP);
	sg_cbor_put_uint(e, a->hops);
	sg_cbor_put_bytes(e, a->env, a->len);
}

typedef struct ids_arg {
	unsigned type;
	const uint8_t (*ids)[SG_ID_LEN];
	const uint32_t *hops; /* IHAVE only */
	size_t n;
} ids_arg;

static void body_ids(sg_cbor_enc *e, const void *a_)
{
	const ids_arg *a = a_;
	size_t i;

	sg_cbor_put_array(e, 2);
	sg_cbor_put_uint(e, a->type);
	sg_cbor_put_array(e, a->n);
	for (i = 0; i < a->n; i++) {
		if (a->type == T_IHAVE) {
			sg_cbor_put_array(e, 2);
			sg_cbor_put_bytes(e, a->ids[i], SG_ID_LEN);
			sg_cbor_put_uint(e, a->hops[i]);
		} else {
			sg_cbor_put_bytes(e, a->ids[i], SG_ID_LEN);
		}
	}
}

static void body_prune(sg_cbor_enc *e, const void *a)
{
	const sg_peer_id *publisher = a;
	sg_cbor_put_array(e, 2);
	sg_cbor_put_uint(e, T_PRUNE);
	sg_cbor_put_bytes(e, publisher->bytes, SG_PEER_ID_LEN);
}

typedef struct graft_arg {
	const uint8_t *id;            /* NULL: none */
	const sg_peer_id *publisher;  /* NULL: none */
} graft_arg;

static void body_graft(sg_cbor_enc *e, const void *a_)
{
	const graft_arg *a = a_;
	sg_cbor_put_array(e, 3);
	sg_cbor_put_uint(e, T_GRAFT);
	sg_cbor_put_array(e, a->id != NULL);
	if (a->id != NULL)
		sg_cbor_put_bytes(e, a->id, SG_ID_LEN);
	sg_cbor_put_array(e, a->publisher != NULL);
	if (a->publisher != NULL)
		sg_cbor_put_bytes(e, a->publisher->bytes, SG_PEER_ID_LEN);
}

typedef struct blob_arg {
	unsigned type;
	const uint8_t *p;
	size_t len;
} blob_arg;

static void body_blob(sg_cbor_enc *e, const void *a_)
{
	const blob_arg *a = a_;
	sg_cbor_put_array(e, 2);
	sg_cbor_put_uint(e, a->type);
	sg_cbor_put_bytes(e, a->p, a->len);
}

static void send_ids(sg_plumtree *pt, const sg_peer_id *to, unsigned type,
		     const uint8_t (*ids)[SG_ID_LEN], const uint32_t *hops,
		     size_t n)
{
	ids_arg a = {type, ids, hops, n};
	send_frame(pt, to, body_ids, &a);
}

static void send_gossip(sg_plumtree *pt, const sg_peer_id *to, uint32_t hops,
			const uint8_t *envb, size_t len)
{
	gossip_arg a = {hops, envb, len};
	send_frame(pt, to, body_gossip, &a);
	pt->st.eager_sent++;
}

static void send_prune(sg_plumtree *pt, const sg_peer_id *to,
		       const sg_peer_id *publisher)
{
	send_frame(pt, to, body_prune, publisher);
	pt->st.prune_sent++;
}

/* GRAFT: send me id (if any) and push me publisher's messages (if any). */
static void send_graft(sg_plumtree *pt, const sg_peer_id *to,
		       const uint8_t *id, const sg_peer_id *publisher)
{
	graft_arg a = {id, publisher};
	send_frame(pt, to, body_graft, &a);
	pt->st.graft_sent++;
}

/* ---- neighbours ------------------------------------------------------------- */

static void flush_lazy(sg_plumtree *pt, nbr *n)
{
	if (n->lazy_n == 0)
		return;
	send_ids(pt, &n->id, T_IHAVE,
		 (const uint8_t(*)[SG_ID_LEN])n->lazy_ids, n->lazy_hops,
		 n->lazy_n);
	pt->st.ihave_sent++;
	n->lazy_n = 0;
}

/* Makes room for one more queued IHAVE entry: doubles the neighbour's
 * batch (from 4 up to ihave_batch_max). 0, or -1 when memory is short. */
static int lazy_grow(sg_plumtree *pt, nbr *n)
{
	size_t ncap = n->lazy_cap ? n->lazy_cap * 2 : 4;
	void *ids, *hops;

	if (ncap > pt->cfg.ihave_batch_max)
		ncap = pt->cfg.ihave_batch_max;
	ids = sg_realloc(&pt->env, n->lazy_ids, ncap * SG_ID_LEN);
	if (ids == NULL)
		return -1;
	n->lazy_ids = ids;
	hops = sg_realloc(&pt->env, n->lazy_hops, ncap * sizeof(uint32_t));
	if (hops == NULL)
		return -1;
	n->lazy_hops = hops;
	n->lazy_cap = ncap;
	return 0;
}

static void queue_ihave(sg_plumtree *pt, nbr *n, const uint8_t id[SG_ID_LEN],
			uint32_t hops)
{
	if (n->lazy_n == n->lazy_cap && lazy_grow(pt, n) != 0) {
		/* Send what is queued now; without any room the
		 * announcement is lost (a SUMMARY still repairs it). */
		flush_lazy(pt, n);
		if (n->lazy_cap == 0) {
			pt->st.tx_dropped++;
			return;
		}
	}
	memcpy(n->lazy_ids[n->lazy_n], id, SG_ID_LEN);
	n->lazy_hops[n->lazy_n] = hops;
	if (++n->lazy_n == pt->cfg.ihave_batch_max)
		flush_lazy(pt, n);
}

/* The publisher slot of p, or -1 (peers never create slots: only
 * verified messages do, so a peer cannot flush the table). */
static long pub_find(const sg_plumtree *pt, const sg_peer_id *p)
{
	return sg_idset_find(&pt->pubs, p->bytes);
}

static int is_eager(const sg_plumtree *pt, long ps, int i)
{
	uint64_t lazy = ps < 0 ? pt->shared_lazy : pval(pt, (size_t)ps)->lazy;
	return !(lazy >> i & 1);
}

static void set_eager(sg_plumtree *pt, long ps, int i, uint64_t now_ms)
{
	if (pt->nbrs[i].backoff_until > now_ms)
		return;
	pt->shared_lazy &= ~((uint64_t)1 << i);
	if (ps >= 0)
		pval(pt, (size_t)ps)->lazy &= ~((uint64_t)1 << i);
}

static void set_lazy(sg_plumtree *pt, long ps, int i)
{
	pt->shared_lazy |= (uint64_t)1 << i;
	if (ps >= 0)
		pval(pt, (size_t)ps)->lazy |= (uint64_t)1 << i;
}

/* The slot of a verified message's publisher, created with the shared
 * tree (neighbours in back-off lazy). */
static size_t pub_slot(sg_plumtree *pt, const sg_peer_id *p, uint64_t now_ms)
{
	long s = pub_find(pt, p);
	size_t slot, i;
	pub_val *v;

	if (s >= 0)
		return (size_t)s;
	/* An evicted publisher's value is simply overwritten. */
	slot = sg_idset_add(&pt->pubs, &pt->env, p->bytes, NULL);
	v = pval(pt, slot);
	memset(v, 0, sizeof(*v));
	v->fresh = 1;
	v->lazy = pt->cfg.flood_new_publishers ? 0 : pt->shared_lazy;
	for (i = 0; i < pt->cfg.max_neighbors; i++)
		if (pt->nbrs[i].in_use && pt->nbrs[i].backoff_until > now_ms)
			v->lazy |= (uint64_t)1 << i;
	return slot;
}

static void adjust_score(sg_plumtree *pt, int idx, int32_t delta,
			 uint64_t now_ms)
{
	nbr *n = &pt->nbrs[idx];

	n->score += delta;
	if (n->score > SCORE_MAX)
		n->score = SCORE_MAX;
	if (n->score < pt->cfg.prune_score && n->backoff_until <= now_ms) {
		/* Out of every tree, and not grafted again for a while (it
		 * is told by PRUNE when it next pushes to us). */
		size_t k;
		set_lazy(pt, -1, idx);
		for (k = 0; k < pt->pubs.count; k++)
			set_lazy(pt, (long)sg_idset_nth(&pt->pubs, k), idx);
		n->backoff_until = now_ms + pt->cfg.backoff_ms;
		n->score = 0;
		n->strikes = 0;
		n->prunes++;
		pt->st.score_prunes++;
	}
}

int sg_plumtree_neighbor_up(sg_plumtree *pt, const sg_peer_id *peer,
			    uint64_t now_ms)
{
	size_t i, j;

	if (find_nbr(pt, peer) >= 0)
		return 0;
	for (i = 0; i < pt->cfg.max_neighbors; i++) {
		nbr *n = &pt->nbrs[i];
		if (n->in_use)
			continue;
		n->in_use = 1;
		n->id = *peer;
		n->score = 0;
		n->strikes = 0;
		n->backoff_until = 0;
		n->prunes = 0;
		n->heard_ms = now_ms;
		n->next_full = 0; /* a full summary at the next interval */
		n->lazy_n = 0;
		/* A new neighbour is eager in every tree (section 3.2). */
		pt->shared_lazy &= ~((uint64_t)1 << i);
		for (j = 0; j < pt->pubs.count; j++)
			pval(pt, sg_idset_nth(&pt->pubs, j))->lazy &=
				~((uint64_t)1 << i);
		return 0;
	}
	return SG_ERR_FULL;
}

void sg_plumtree_neighbor_down(sg_plumtree *pt, const sg_peer_id *peer)
{
	int i = find_nbr(pt, peer);
	size_t m;

	if (i < 0)
		return;
	pt->nbrs[i].in_use = 0;
	pt->nbrs[i].lazy_n = 0;
	pt->nbrs[i].lazy_cap = 0;
	sg_free(&pt->env, pt->nbrs[i].lazy_ids);
	sg_free(&pt->env, pt->nbrs[i].lazy_hops);
	pt->nbrs[i].lazy_ids = NULL;
	pt->nbrs[i].lazy_hops = NULL;
	for (m = 0; m < pt->cache.count; m++) {
		cache_val *c = cval(pt, sg_idset_nth(&pt->cache, m));
		if (c->parent == i)
			c->parent = -1;
	}
}

int sg_plumtree_peer_info_get(const sg_plumtree *pt, const sg_peer_id *peer,
			      sg_plumtree_peer_info *info)
{
	int i = find_nbr(pt, peer);

	if (i < 0)
		return SG_ERR_NOTFOUND;
	info->score = pt->nbrs[i].score;
	info->backoff_until = pt->nbrs[i].backoff_until;
	info->prunes = pt->nbrs[i].prunes;
	return 0;
}

int sg_plumtree_is_eager(const sg_plumtree *pt, const sg_peer_id *peer,
			 const sg_peer_id *publisher)
{
	int i = find_nbr(pt, peer);
	return i >= 0 && is_eager(pt, pub_find(pt, publisher), i);
}

/* ---- the message path --------------------------------------------------------- */

static void cache_evict_slot(sg_plumtree *pt, size_t slot)
{
	cache_val *c = cval(pt, slot);

	pt->cache_total -= c->len;
	sg_free(&pt->env, c->buf);
	c->buf = NULL;
	c->len = 0;
	pt->st.cache_evicted++;
}

static void cache_put(sg_plumtree *pt, const uint8_t id[SG_ID_LEN],
		      const sg_peer_id *publisher, const uint8_t *envb,
		      size_t len, uint32_t hops, int parent, uint64_t now_ms)
{
	uint8_t *copy = dup_bytes(pt, envb, len);
	cache_val *c;
	long ev;
	size_t slot;

	if (copy == NULL)
		return; /* the message was delivered; only repair is lost */
	while (pt->cache.count > 0 &&
	       pt->cache_total + len > pt->cfg.cache_bytes)
		cache_evict_slot(pt, (size_t)sg_idset_pop_oldest(&pt->cache));
	slot = sg_idset_add(&pt->cache, &pt->env, id, &ev);
	if (ev >= 0)
		cache_evict_slot(pt, (size_t)ev);
	c = cval(pt, slot);
	c->buf = copy;
	c->len = len;
	c->time = now_ms;
	c->hops = hops;
	c->parent = parent;
	c->pub = *publisher;
	pt->cache_total += len;
}

/* Replay window of publisher slot s: 0 if seq is new (and records it). */
static int replay_check(sg_plumtree *pt, size_t s, uint64_t seq)
{
	pub_val *pv = pval(pt, s);
	uint64_t *bits = pv->bits, max, off;

	if (pv->fresh) {
		pv->fresh = 0;
		pv->max = seq;
		memset(pv->bits, 0, sizeof(pv->bits));
		pv->bits[0] = 1;
		return 0;
	}
	max = pv->max;
	if (seq > max) {
		uint64_t shift = seq - max;
		int w;
		if (shift >= WINDOW_BITS) {
			memset(bits, 0, sizeof(pv->bits));
		} else {
			/* bit i means max - i; shift the window left. */
			unsigned ws = (unsigned)(shift / 64), bs = (unsigned)(shift % 64);
			for (w = WINDOW_BITS / 64 - 1; w >= 0; w--) {
				uint64_t v = 0;
				if ((unsigned)w >= ws) {
					v = bits[w - (int)ws] << bs;
					if (bs && (unsigned)w > ws)
						v |= bits[w - (int)ws - 1] >> (64 - bs);
				}
				bits[w] = v;
			}
		}
		bits[0] |= 1;
		pv->max = seq;
		return 0;
	}
	off = max - seq;
	if (off >= WINDOW_BITS)
		return SG_ERR_REPLAY;
	if (bits[off / 64] >> (off % 64) & 1)
		return SG_ERR_REPLAY;
	bits[off / 64] |= (uint64_t)1 << (off % 64);
	return 0;
}

/* Forwards a verified message: eager push, lazy announce (section 3.3). */
static void forward(sg_plumtree *pt, long ps, const uint8_t id[SG_ID_LEN],
		    const uint8_t *envb, size_t len, uint32_t hops, int from)
{
	size_t i;

	if (hops + 1 > pt->cfg.max_hops)
		return;
	for (i = 0; i < pt->cfg.max_neighbors; i++) {
		nbr *n = &pt->nbrs[i];
		if (!n->in_use || (int)i == from)
			continue;
		if (is_eager(pt, ps, (int)i))
			send_gossip(pt, &n->id, hops + 1, envb, len);
		else
			queue_ihave(pt, n, id, hops + 1);
	}
}

static void misbehaved(sg_plumtree *pt, int idx, const sg_peer_id *peer,
		       int reason, uint64_t now_ms)
{
	if (idx >= 0)
		adjust_score(pt, idx, SCORE_INVALID, now_ms);
	ev_push(pt, SG_PLUMTREE_MISBEHAVED, peer, NULL, 0, 0, reason);
}

/* The first now_ms at which a copy of v would be refused as expired
 * (sg_msg_check_time at the wall time matching now_ms): until then its id
 * must stay in the seen set. Beyond it (and should the wall clock step
 * back) the replay window still refuses copies of tracked publishers. */
static uint64_t seen_until(const sg_plumtree *pt, const sg_msg_view *v,
			   uint64_t now_ms, uint64_t wall_ms)
{
	uint64_t last;

	if (v->hdr.expires_ms >= UINT64_MAX - pt->cfg.skew_ms)
		return UINT64_MAX;
	last = v->hdr.expires_ms + pt->cfg.skew_ms;
	if (last < wall_ms)
		return now_ms;
	if (last - wall_ms >= UINT64_MAX - now_ms)
		return UINT64_MAX;
	return now_ms + (last - wall_ms) + 1;
}

/* A verified, fresh, first copy: section 3.3's "deliver and forward". */
static void accept(sg_plumtree *pt, size_t ps, const sg_msg_view *v,
		   const uint8_t *envb, size_t len, uint32_t hops, int from,
		   const sg_peer_id *peer, uint64_t now_ms, uint64_t wall_ms)
{
	uint64_t until = seen_until(pt, v, now_ms, wall_ms);
	size_t slot;
	long m;

	slot = sg_idset_add(&pt->seen, &pt->env, v->id, NULL);
	memcpy(sg_idset_val(&pt->seen, slot), &until, sizeof(until));
	m = sg_idset_find(&pt->miss, v->id);
	if (m >= 0 && mval(pt, (size_t)m)->live) {
		mval(pt, (size_t)m)->live = 0;
		pt->miss_live_n--;
	}
	cache_put(pt, v->id, &v->hdr.publisher, envb, len, hops, from, now_ms);
	if (from >= 0) {
		/* Section 3.3: the sender of a first copy is (again) eager
		 * in this publisher's tree. */
		set_eager(pt, (long)ps, from, now_ms);
		pt->nbrs[from].strikes = 0;
		adjust_score(pt, from, SCORE_FIRST, now_ms);
		ev_push(pt, SG_PLUMTREE_DELIVER, peer, dup_bytes(pt, envb, len),
			len, hops, 0);
		pt->st.delivered++;
	}
	forward(pt, (long)ps, v->id, envb, len, hops, from);
}

/* Doubles the pending-key table (from 4 up to max_pending_key); the new
 * entries are free. 0, or -1 at the bound or when memory is short. */
static int pend_grow(sg_plumtree *pt)
{
	size_t ncap = pt->pend_cap ? pt->pend_cap * 2 : 4;
	pending_key *np;

	if (ncap > pt->cfg.max_pending_key)
		ncap = pt->cfg.max_pending_key;
	if (ncap <= pt->pend_cap)
		return -1;
	np = sg_realloc(&pt->env, pt->pend, ncap * sizeof(*np));
	if (np == NULL)
		return -1;
	memset(np + pt->pend_cap, 0, (ncap - pt->pend_cap) * sizeof(*np));
	pt->pend = np;
	pt->pend_cap = ncap;
	return 0;
}

/* Checks before anything is marked seen. Returns 0 when v may be accepted,
 * 1 when it waits for a key, or a negative error. */
static int check_message(sg_plumtree *pt, const sg_msg_view *v, int from,
			 const sg_peer_id *peer, const uint8_t *envb,
			 size_t len, uint32_t hops, uint64_t now_ms,
			 uint64_t wall_ms)
{
	const uint8_t *pk;
	size_t i;

	if (memcmp(v->hdr.topic.bytes, pt->topic.bytes, SG_TOPIC_ID_LEN) != 0) {
		pt->st.wrong_topic++;
		return SG_ERR_MALFORMED;
	}
	if (sg_msg_check_time(v, wall_ms, pt->cfg.skew_ms) != 0) {
		pt->st.expired++;
		return SG_ERR_EXPIRED;
	}
	pk = sg_keycache_get(pt->keys, &v->hdr.publisher);
	if (pk == NULL) {
		pending_key *p = NULL;
		if (from < 0)
			return SG_ERR_NOTFOUND;
		for (i = 0; i < pt->pend_cap && p == NULL; i++)
			if (!pt->pend[i].in_use)
				p = &pt->pend[i];
		if (p == NULL && pend_grow(pt) == 0)
			p = &pt->pend[i];
		if (p == NULL || (p->buf = dup_bytes(pt, envb, len)) == NULL) {
			pt->st.key_dropped++;
			return SG_ERR_FULL;
		}
		p->in_use = 1;
		p->from = *peer;
		p->publisher = v->hdr.publisher;
		p->len = len;
		p->hops = hops;
		p->deadline = now_ms + pt->cfg.key_timeout_ms;
		{
			blob_arg a = {T_KEYREQ, v->hdr.publisher.bytes,
				      SG_PEER_ID_LEN};
			send_frame(pt, peer, body_blob, &a);
		}
		pt->st.key_requests++;
		return 1;
	}
	if ((pt->cfg.verify != NULL ? pt->cfg.verify(pt->cfg.verify_ud, v, pk)
				    : sg_msg_verify(v, pk)) != 0) {
		pt->st.invalid++;
		return SG_ERR_VERIFY;
	}
	return 0;
}

static int on_gossip(sg_plumtree *pt, int from, const sg_peer_id *peer,
		     uint32_t hops, const uint8_t *envb, size_t len,
		     uint64_t now_ms, uint64_t wall_ms)
{
	sg_msg_view v;
	size_t ps;
	int rc;

	if (hops > pt->cfg.max_hops) {
		pt->st.too_many_hops++;
		return SG_ERR_RANGE;
	}
	rc = sg_msg_decode(&v, envb, len);
	if (rc != 0) {
		pt->st.malformed++;
		misbehaved(pt, from, peer, rc, now_ms);
		return rc;
	}
	if (sg_idset_find(&pt->seen, v.id) >= 0) {
		/* Section 3.3: a duplicate means a redundant edge of this
		 * publisher's tree; prune it (also when we already thought
		 * it lazy: the sender evidently thinks otherwise). */
		pt->st.duplicates++;
		set_lazy(pt, pub_find(pt, &v.hdr.publisher), from);
		send_prune(pt, peer, &v.hdr.publisher);
		return 0;
	}
	rc = check_message(pt, &v, from, peer, envb, len, hops, now_ms,
			   wall_ms);
	if (rc == 1)
		return 0;
	if (rc == SG_ERR_VERIFY || rc == SG_ERR_MALFORMED) {
		misbehaved(pt, from, peer, rc, now_ms);
		return rc;
	}
	if (rc != 0)
		return rc;
	ps = pub_slot(pt, &v.hdr.publisher, now_ms);
	if (replay_check(pt, ps, v.hdr.seq) != 0) {
		pt->st.replayed++;
		return SG_ERR_REPLAY;
	}
	accept(pt, ps, &v, envb, len, hops, from, peer, now_ms, wall_ms);
	return 0;
}

int sg_plumtree_publish(sg_plumtree *pt, const uint8_t *envb, size_t len,
			uint64_t now_ms, uint64_t wall_ms)
{
	sg_msg_view v;
	sg_peer_id self;
	size_t ps;
	int rc = sg_msg_decode(&v, envb, len);

	if (rc != 0)
		return rc;
	if (sg_idset_find(&pt->seen, v.id) >= 0)
		return SG_ERR_EXISTS;
	memset(&self, 0, sizeof(self));
	rc = check_message(pt, &v, -1, &self, envb, len, 0, now_ms, wall_ms);
	if (rc != 0)
		return rc == SG_ERR_NOTFOUND ? SG_ERR_STATE : rc;
	ps = pub_slot(pt, &v.hdr.publisher, now_ms);
	if (replay_check(pt, ps, v.hdr.seq) != 0)
		return SG_ERR_REPLAY;
	accept(pt, ps, &v, envb, len, 0, -1, &self, now_ms, wall_ms);
	return 0;
}

/* ---- control frames ----------------------------------------------------------- */

static void remember_announcer(sg_plumtree *pt, const uint8_t id[SG_ID_LEN],
			       const sg_peer_id *peer, uint32_t hops,
			       uint64_t now_ms)
{
	long m = sg_idset_find(&pt->miss, id);
	size_t k;
	miss_val *mv;

	if (m < 0) {
		long ev;
		size_t slot = sg_idset_add(&pt->miss, &pt->env, id, &ev);
		mv = mval(pt, slot);
		if (ev >= 0 && mv->live) {
			pt->st.missing_dropped++;
			pt->miss_live_n--;
		}
		mv->live = 1;
		pt->miss_live_n++;
		mv->nann = 0;
		mv->next = 0;
		mv->hops = hops;
		mv->deadline = now_ms + pt->cfg.graft_timeout_ms;
	} else {
		mv = mval(pt, (size_t)m);
		if (!mv->live)
			return;
	}
	for (k = 0; k < mv->nann; k++)
		if (sg_peer_id_equal(&mv->ann[k], peer))
			return;
	if (mv->nann < pt->cfg.max_announcers)
		mv->ann[mv->nann++] = *peer;
	if (hops < mv->hops)
		mv->hops = hops;
}

/* Section 3.8: an announcement on a path optimize_hops shorter than the
 * one the message took makes the announcer our parent instead. */
static void maybe_optimize(sg_plumtree *pt, int from, long slot, uint32_t hops,
			   uint64_t now_ms)
{
	cache_val *c = cval(pt, (size_t)slot);
	int parent = c->parent;
	const sg_peer_id *pub = &c->pub;
	long ps = pub_find(pt, pub);
	nbr *n = &pt->nbrs[from];

	if (ps < 0 || parent < 0 || parent == from || is_eager(pt, ps, from) ||
	    n->backoff_until > now_ms ||
	    c->hops < hops + pt->cfg.optimize_hops)
		return;
	set_eager(pt, ps, from, now_ms);
	send_graft(pt, &n->id, NULL, pub);
	if (pt->nbrs[parent].in_use && is_eager(pt, ps, parent)) {
		set_lazy(pt, ps, parent);
		send_prune(pt, &pt->nbrs[parent].id, pub);
	}
	c->parent = from;
	c->hops = hops;
}

static int on_ihave(sg_plumtree *pt, int from, const sg_peer_id *peer,
		    sg_cbor_dec *d, uint64_t now_ms)
{
	size_t n, i, k;
	int rc;

	if ((rc = sg_cbor_get_array(d, &n)) != 0)
		return rc;
	if (n > pt->cfg.ihave_batch_max)
		return SG_ERR_RANGE;
	for (i = 0; i < n; i++) {
		const uint8_t *id;
		uint64_t hops;
		long slot;
		if ((rc = sg_cbor_get_array(d, &k)) != 0)
			return rc;
		if (k != 2)
			return SG_ERR_MALFORMED;
		if ((rc = sg_cbor_get_bytes_len(d, &id, SG_ID_LEN)) != 0 ||
		    (rc = sg_cbor_get_uint(d, &hops)) != 0)
			return rc;
		if (hops > pt->cfg.max_hops)
			continue;
		if (sg_idset_find(&pt->seen, id) >= 0) {
			slot = sg_idset_find(&pt->cache, id);
			if (slot >= 0)
				maybe_optimize(pt, from, slot, (uint32_t)hops,
					       now_ms);
			continue;
		}
		remember_announcer(pt, id, peer, (uint32_t)hops, now_ms);
	}
	return 0;
}

/* Reads an id list (IWANT, GRAFT, SUMMARY) of at most max entries and
 * applies fn to each. */
static int each_id(sg_plumtree *pt, sg_cbor_dec *d, size_t max,
		   void (*fn)(sg_plumtree *, int, const uint8_t *, void *),
		   int from, void *arg)
{
	size_t n, i;
	int rc;

	if ((rc = sg_cbor_get_array(d, &n)) != 0)
		return rc;
	if (n > max)
		return SG_ERR_RANGE;
	for (i = 0; i < n; i++) {
		const uint8_t *id;
		if ((rc = sg_cbor_get_bytes_len(d, &id, SG_ID_LEN)) != 0)
			return rc;
		fn(pt, from, id, arg);
	}
	return 0;
}

/* IWANT and GRAFT: send a cached message; for GRAFT (arg: the time) also
 * push that publisher's later messages to the requester. */
static void serve_id(sg_plumtree *pt, int from, const uint8_t *id, void *arg)
{
	long slot = sg_idset_find(&pt->cache, id);
	cache_val *c;

	if (slot < 0)
		return;
	c = cval(pt, (size_t)slot);
	if (arg != NULL)
		set_eager(pt, pub_find(pt, &c->pub), from,
			  *(const uint64_t *)arg);
	send_gossip(pt, &pt->nbrs[from].id, c->hops + 1, c->buf, c->len);
}

/* GRAFT's publisher list: rejoin those publishers' trees. */
static void graft_pub(sg_plumtree *pt, int from, const uint8_t *id, void *arg)
{
	sg_peer_id p;
	memcpy(p.bytes, id, SG_PEER_ID_LEN);
	set_eager(pt, pub_find(pt, &p), from, *(const uint64_t *)arg);
}

typedef struct want_list {
	uint8_t (*ids)[SG_ID_LEN];
	size_t n, cap;
} want_list;

static void want_unknown(sg_plumtree *pt, int from, const uint8_t *id,
			 void *arg)
{
	want_list *w = arg;
	long m;
	(void)from;
	if (sg_idset_find(&pt->seen, id) >= 0 || w->n == w->cap)
		return;
	m = sg_idset_find(&pt->miss, id);
	if (m >= 0 && mval(pt, (size_t)m)->live)
		return; /* already being fetched through the tree */
	memcpy(w->ids[w->n++], id, SG_ID_LEN);
}

static void on_keyresp(sg_plumtree *pt, const sg_peer_id *peer,
		       const uint8_t pk[SG_MLDSA65_PK_LEN], uint64_t now_ms,
		       uint64_t wall_ms)
{
	sg_peer_id id;
	size_t i;
	int wanted = 0;

	sg_peer_id_from_pk(&id, pk);
	/* Only keys we asked this neighbour for are taken. */
	for (i = 0; i < pt->pend_cap; i++)
		if (pt->pend[i].in_use &&
		    sg_peer_id_equal(&pt->pend[i].publisher, &id) &&
		    sg_peer_id_equal(&pt->pend[i].from, peer))
			wanted = 1;
	if (!wanted)
		return;
	sg_keycache_put(pt->keys, pk);
	for (i = 0; i < pt->pend_cap; i++) {
		pending_key p = pt->pend[i];
		int from;
		if (!p.in_use || !sg_peer_id_equal(&p.publisher, &id))
			continue;
		/* Released before on_gossip(), which may grow (move) the
		 * table. */
		pt->pend[i].in_use = 0;
		pt->pend[i].buf = NULL;
		from = find_nbr(pt, &p.from);
		if (from >= 0)
			on_gossip(pt, from, &p.from, p.hops, p.buf, p.len,
				  now_ms, wall_ms);
		sg_free(&pt->env, p.buf);
	}
}

int sg_plumtree_recv(sg_plumtree *pt, const sg_peer_id *peer,
		     const uint8_t *frame, size_t len, uint64_t now_ms,
		     uint64_t wall_ms)
{
	sg_cbor_dec d;
	uint64_t type, hops;
	size_t n;
	int from = find_nbr(pt, peer), rc;

	if (from < 0) {
		pt->st.unknown_peer++;
		return SG_ERR_NOTFOUND;
	}
	pt->nbrs[from].heard_ms = now_ms;
	rc = sg_cbor_validate(frame, len, NULL);
	sg_cbor_dec_init(&d, frame, len);
	if (rc == 0)
		rc = sg_cbor_get_array(&d, &n);
	if (rc == 0)
		rc = sg_cbor_get_uint(&d, &type);
	if (rc != 0)
		goto bad;
	switch (type) {
	case T_GOSSIP: {
		const uint8_t *envb;
		size_t elen;
		if (n != 3) {
			rc = SG_ERR_MALFORMED;
			goto bad;
		}
		if ((rc = sg_cbor_get_uint(&d, &hops)) != 0 ||
		    (rc = sg_cbor_get_bytes(&d, &envb, &elen)) != 0)
			goto bad;
		if (hops > UINT32_MAX)
			hops = UINT32_MAX;
		return on_gossip(pt, from, peer, (uint32_t)hops, envb, elen,
				 now_ms, wall_ms);
	}
	case T_IHAVE:
		if (n != 2) {
			rc = SG_ERR_MALFORMED;
			goto bad;
		}
		if ((rc = on_ihave(pt, from, peer, &d, now_ms)) != 0)
			goto bad;
		return 0;
	case T_IWANT:
		if (n != 2) {
			rc = SG_ERR_MALFORMED;
			goto bad;
		}
		if ((rc = each_id(pt, &d, pt->cfg.ihave_batch_max, serve_id,
				  from, NULL)) != 0)
			goto bad;
		return 0;
	case T_GRAFT:
		if (n != 3) {
			rc = SG_ERR_MALFORMED;
			goto bad;
		}
		if ((rc = each_id(pt, &d, pt->cfg.ihave_batch_max, serve_id,
				  from, &now_ms)) != 0 ||
		    (rc = each_id(pt, &d, pt->cfg.ihave_batch_max, graft_pub,
				  from, &now_ms)) != 0)
			goto bad;
		return 0;
	case T_PRUNE: {
		const uint8_t *who;
		sg_peer_id p;
		if (n != 2) {
			rc = SG_ERR_MALFORMED;
			goto bad;
		}
		if ((rc = sg_cbor_get_bytes_len(&d, &who, SG_PEER_ID_LEN)) != 0)
			goto bad;
		memcpy(p.bytes, who, SG_PEER_ID_LEN);
		set_lazy(pt, pub_find(pt, &p), from);
		return 0;
	}
	case T_SUMMARY: {
		uint8_t ids[64][SG_ID_LEN];
		want_list w = {ids, 0, 64};
		if (n != 2) {
			rc = SG_ERR_MALFORMED;
			goto bad;
		}
		if ((rc = each_id(pt, &d, pt->cfg.summary_max, want_unknown,
				  from, &w)) != 0)
			goto bad;
		if (w.n > 0) {
			send_ids(pt, peer, T_IWANT,
				 (const uint8_t(*)[SG_ID_LEN])ids, NULL, w.n);
			pt->st.iwant_sent++;
		}
		return 0;
	}
	case T_KEYREQ: {
		const uint8_t *who, *pk;
		sg_peer_id id;
		if (n != 2) {
			rc = SG_ERR_MALFORMED;
			goto bad;
		}
		if ((rc = sg_cbor_get_bytes_len(&d, &who, SG_PEER_ID_LEN)) != 0)
			goto bad;
		memcpy(id.bytes, who, SG_PEER_ID_LEN);
		pk = sg_keycache_get(pt->keys, &id);
		if (pk != NULL) {
			blob_arg a = {T_KEYRESP, pk, SG_MLDSA65_PK_LEN};
			send_frame(pt, peer, body_blob, &a);
		}
		return 0;
	}
	case T_KEYRESP: {
		const uint8_t *pk;
		if (n != 2) {
			rc = SG_ERR_MALFORMED;
			goto bad;
		}
		if ((rc = sg_cbor_get_bytes_len(&d, &pk, SG_MLDSA65_PK_LEN)) != 0)
			goto bad;
		on_keyresp(pt, peer, pk, now_ms, wall_ms);
		return 0;
	}
	default:
		rc = SG_ERR_MALFORMED;
		goto bad;
	}
bad:
	pt->st.malformed++;
	misbehaved(pt, from, peer, rc, now_ms);
	return rc;
}

/* ---- timers -------------------------------------------------------------------- */

/* Cached ids with settle <= age <= max_age, newest first, into ids. */
static size_t collect_ids(sg_plumtree *pt, uint8_t (*ids)[SG_ID_LEN],
			  size_t cap, uint64_t max_age, uint64_t now_ms)
{
	size_t n = 0, k;

	for (k = pt->cache.count; k > 0 && n < cap; k--) {
		size_t slot = sg_idset_nth(&pt->cache, k - 1);
		const cache_val *c = cval(pt, slot);
		uint64_t age = now_ms - c->time;
		if (c->buf == NULL || age > max_age ||
		    age < pt->cfg.summary_settle_ms)
			continue;
		memcpy(ids[n++], sg_idset_id(&pt->cache, slot), SG_ID_LEN);
	}
	return n;
}

/* Catch-up: every summary interval each neighbour hears the ids of the
 * last summary_recent_ms (cheap, repairs recent losses); a new neighbour,
 * and every neighbour every summary_full_ms, hears every cached id (so a
 * node back from a partition fetches what it missed within the cache
 * window). Ids younger than summary_settle_ms may still be in flight
 * through the tree and are left out. */
static void summaries(sg_plumtree *pt, uint64_t now_ms)
{
	uint8_t(*recent)[SG_ID_LEN], (*full)[SG_ID_LEN] = NULL;
	size_t nrecent, nfull = 0, i, cap = pt->cfg.summary_max;

	if (cap == 0 || pt->cache.count == 0)
		return;
	recent = sg_alloc(&pt->env, cap * SG_ID_LEN);
	if (recent == NULL)
		return;
	nrecent = collect_ids(pt, recent, cap, pt->cfg.summary_recent_ms,
			      now_ms);
	for (i = 0; i < pt->cfg.max_neighbors; i++) {
		nbr *n = &pt->nbrs[i];
		if (!n->in_use)
			continue;
		if (n->next_full <= now_ms) {
			if (full == NULL) {
				full = sg_alloc(&pt->env, cap * SG_ID_LEN);
				if (full == NULL)
					break;
				nfull = collect_ids(pt, full, cap,
						    pt->cfg.cache_age_ms, now_ms);
			}
			n->next_full = now_ms + pt->cfg.summary_full_ms;
			if (nfull > 0)
				send_ids(pt, &n->id, T_SUMMARY,
					 (const uint8_t(*)[SG_ID_LEN])full,
					 NULL, nfull);
		} else if (nrecent > 0) {
			send_ids(pt, &n->id, T_SUMMARY,
				 (const uint8_t(*)[SG_ID_LEN])recent, NULL,
				 nrecent);
		}
	}
	sg_free(&pt->env, recent);
	sg_free(&pt->env, full);
}

void sg_plumtree_tick(sg_plumtree *pt, uint64_t now_ms)
{
	size_t i, k;

	if (now_ms >= pt->next_ihave) {
		for (i = 0; i < pt->cfg.max_neighbors; i++)
			if (pt->nbrs[i].in_use)
				flush_lazy(pt, &pt->nbrs[i]);
		pt->next_ihave = now_ms + pt->cfg.ihave_interval_ms;
	}
	/* Section 3.5: an announced message still missing is requested with
	 * GRAFT from the next announcer, which joins the tree. */
	for (k = 0; pt->miss_live_n > 0 && k < pt->miss.count; k++) {
		miss_val *mv = mval(pt, sg_idset_nth(&pt->miss, k));
		int idx;
		if (!mv->live || mv->deadline > now_ms)
			continue;
		/* The previous announcer did not deliver in time. It loses
		 * score only if it spoke to us since the GRAFT: a peer that
		 * announces but does not deliver is cheating, one that went
		 * silent is gone or restarting (and must not come back into
		 * a back-off for what it could not answer). Strikes in a row,
		 * with no first copy from it between them, cost twice as much
		 * each time: a loss costs an honest peer little, while one
		 * that never delivers is pruned after three or four however
		 * much credit it earned before. */
		if (mv->next > 0) {
			idx = find_nbr(pt, &mv->ann[mv->next - 1]);
			if (idx >= 0) {
				nbr *a = &pt->nbrs[idx];
				pt->st.unanswered++;
				if (a->heard_ms + pt->cfg.graft_retry_ms >=
				    mv->deadline) {
					int32_t pen = SCORE_UNANSWERED *
						      (1 << a->strikes);
					if (a->strikes < STRIKES_MAX)
						a->strikes++;
					adjust_score(pt, idx, pen, now_ms);
				}
			}
		}
		idx = -1;
		while (mv->next < mv->nann && idx < 0) {
			idx = find_nbr(pt, &mv->ann[mv->next++]);
			if (idx >= 0 && pt->nbrs[idx].backoff_until > now_ms)
				idx = -1;
		}
		if (idx < 0) {
			mv->live = 0;
			pt->miss_live_n--;
			pt->st.missing_gave_up++;
			continue;
		}
		/* The announcer makes us eager in the message's tree when
		 * it gets this; we do when its copy arrives (accept()). */
		send_graft(pt, &pt->nbrs[idx].id,
			   sg_idset_id(&pt->miss, sg_idset_nth(&pt->miss, k)),
			   NULL);
		mv->deadline = now_ms + pt->cfg.graft_retry_ms;
	}
	/* Pending key requests time out. */
	for (i = 0; i < pt->pend_cap; i++) {
		pending_key *p = &pt->pend[i];
		if (p->in_use && p->deadline <= now_ms) {
			p->in_use = 0;
			sg_free(&pt->env, p->buf);
			p->buf = NULL;
			pt->st.key_dropped++;
		}
	}
	/* Cache age. */
	while (pt->cache.count > 0) {
		long slot = sg_idset_oldest(&pt->cache);
		const cache_val *c = cval(pt, (size_t)slot);
		if (c->buf != NULL &&
		    now_ms - c->time <= pt->cfg.cache_age_ms)
			break;
		sg_idset_pop_oldest(&pt->cache);
		if (c->buf != NULL)
			cache_evict_slot(pt, (size_t)slot);
	}
	/* Seen ids whose messages can no longer be accepted (FIFO: one
	 * with a longer life holds later ones back, within seen_max). */
	while (pt->seen.count > 0) {
		uint64_t until;
		memcpy(&until,
		       sg_idset_val(&pt->seen,
				    (size_t)sg_idset_oldest(&pt->seen)),
		       sizeof(until));
		if (until > now_ms)
			break;
		sg_idset_pop_oldest(&pt->seen);
	}
	/* Missing ids that arrived or were given up (ones still awaited
	 * hold later ones back). */
	while (pt->miss.count > 0 &&
	       !mval(pt, (size_t)sg_idset_oldest(&pt->miss))->live)
		sg_idset_pop_oldest(&pt->miss);
	/* Give back what a burst grew. */
	sg_idset_shrink(&pt->cache, &pt->env);
	sg_idset_shrink(&pt->seen, &pt->env);
	sg_idset_shrink(&pt->miss, &pt->env);
	if (pt->cfg.summary_interval_ms > 0 && now_ms >= pt->next_summary) {
		if (pt->next_summary != 0)
			summaries(pt, now_ms);
		pt->next_summary = now_ms + pt->cfg.summary_interval_ms;
	}
}

uint64_t sg_plumtree_next_deadline(const sg_plumtree *pt)
{
	uint64_t d = UINT64_MAX;
	size_t i, k;

	for (i = 0; i < pt->cfg.max_neighbors; i++)
		if (pt->nbrs[i].in_use && pt->nbrs[i].lazy_n > 0)
			d = pt->next_ihave;
	for (k = 0; pt->miss_live_n > 0 && k < pt->miss.count; k++) {
		const miss_val *mv = mval(pt, sg_idset_nth(&pt->miss, k));
		if (mv->live && mv->deadline < d)
			d = mv->deadline;
	}
	for (i = 0; i < pt->pend_cap; i++)
		if (pt->pend[i].in_use && pt->pend[i].deadline < d)
			d = pt->pend[i].deadline;
	if (pt->cfg.summary_interval_ms > 0 && pt->next_summary < d)
		d = pt->next_summary;
	return d;
}

/* ---- output ---------------------------------------------------------------------- */

size_t sg_plumtree_poll_tx(sg_plumtree *pt, sg_peer_id *to,
			   const uint8_t **frame)
{
	txq_item *it;

	sg_free(&pt->env, pt->tx_last);
	pt->tx_last = NULL;
	if (pt->tx_n == 0)
		return 0;
	it = &pt->txq[pt->tx_head];
	pt->tx_head = (pt->tx_head + 1) % pt->tx_cap;
	pt->tx_n--;
	*to = it->to;
	*frame = pt->tx_last = it->buf;
	return it->len;
}

int sg_plumtree_poll_event(sg_plumtree *pt, sg_plumtree_event *ev)
{
	evq_item *it;

	sg_free(&pt->env, pt->ev_last);
	pt->ev_last = NULL;
	for (;;) {
		if (pt->ev_n == 0)
			return 0;
		it = &pt->evq[pt->ev_head];
		pt->ev_head = (pt->ev_head + 1) % pt->ev_cap;
		pt->ev_n--;
		memset(ev, 0, sizeof(*ev));
		ev->type = it->type;
		ev->peer = it->peer;
		ev->hops = it->hops;
		ev->reason = it->reason;
		if (it->type != SG_PLUMTREE_DELIVER)
			return 1;
		if (it->buf == NULL) { /* the copy could not be made */
			pt->st.events_dropped++;
			continue;
		}
		pt->ev_last = it->buf;
		/* Decoding cannot fail: the same bytes were accepted. */
		if (sg_msg_decode(&ev->msg, it->buf, it->len) != 0)
			continue;
		return 1;
	}
}

void sg_plumtree_stats_get(const sg_plumtree *pt, sg_plumtree_stats *st)
{
	size_t i, k;

	*st = pt->st;
	st->eager = st->lazy = 0;
	for (k = 0; k < pt->pubs.count; k++) {
		long ps = (long)sg_idset_nth(&pt->pubs, k);
		for (i = 0; i < pt->cfg.max_neighbors; i++) {
			if (!pt->nbrs[i].in_use)
				continue;
			if (is_eager(pt, ps, (int)i))
				st->eager++;
			else
				st->lazy++;
		}
	}
	st->cached = pt->cache.count;
	st->missing = pt->miss_live_n;
}
