/*
 * The node-core simulator (see coresim.h): sg_core instances on the shared
 * event queue (simbase.h). Events: a node's timer (sg_core_tick), a frame
 * arriving (sg_core_recv), and a connection closed by the other side (the
 * peer saw this node misbehave and closed it: sg_core_peer_unreachable).
 * The node layer here does what a real node (src/node/node.c) does with
 * the core's output: sends its frames, closes the connection of a peer
 * reported as MISBEHAVED, and hands deliveries to the application (here:
 * the delivery table).
 */
#include "coresim.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "sg/blake3.h"
#include "sg/cbor.h"
#include "sg/err.h"
#include "simbase.h"

enum { EV_TIMER = 0, EV_DELIVER = 1, EV_CLOSED = 2 };

/* Pub/sub frame kind carrying a topic's Plumtree frame (src/node/core.c)
 * and Plumtree's GOSSIP type (docs/PROTOCOL.md). */
#define PS_TOPIC 1
#define PT_GOSSIP 1

struct node {
	sg_env env;
	uint64_t rng[4];
	sg_core *core;
	uint8_t addr[SG_MEMB_ADDR_MAX];
	size_t addr_len;
	uint64_t timer_at;
	uint32_t epoch;
	uint8_t alive, group;
	sg_coresim_mem mem; /* count_memory */
};

struct msg {
	sg_coresim_msg pub;
	int has_sig;
	uint8_t sig[SG_MLDSA65_SIG_LEN]; /* the publisher's */
	uint16_t *count; /* per node */
	uint32_t *lat;	 /* per node: ms to the first delivery */
};

struct memo {
	uint8_t key[32];
	int8_t val; /* 0 free, 1 valid, -1 invalid */
};

struct sg_coresim {
	sg_coresim_config cfg;
	sg_identity *ids;
	struct node *nodes;
	sg_simq q;
	uint64_t now;
	uint64_t rng[4];
	/* PeerId -> node + 1 (open addressing, 2^k >= 2 N slots) */
	uint32_t *idmap;
	size_t idmap_mask;
	/* messages, and id -> index + 1 */
	struct msg *msgs;
	size_t n_msgs, cap_msgs, sig_missing;
	uint32_t *msgmap;
	size_t msgmap_mask;
	/* memoised signature checks */
	struct memo *memo;
	size_t memo_n, memo_mask;
	sg_coresim_stats st;
};

static uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static uint64_t env_now(void *ud)
{
	return ((const sg_coresim *)ud)->now;
}

/* ---- memoised verification ----------------------------------------------- */

/* The key covers the message id (which covers the header) and a hash of
 * the signature and the key: a forged signature on a genuine header has
 * a key of its own and is verified for real. */
static void memo_key(uint8_t key[32], const sg_msg_view *m,
		     const uint8_t pk[SG_MLDSA65_PK_LEN])
{
	sg_blake3_hasher h;

	sg_blake3_init(&h);
	sg_blake3_update(&h, m->id, SG_MSG_ID_LEN);
	sg_blake3_update(&h, m->sig, SG_MLDSA65_SIG_LEN);
	sg_blake3_update(&h, pk, SG_MLDSA65_PK_LEN);
	sg_blake3_final(&h, key, 32);
}

static void memo_grow(sg_coresim *s)
{
	size_t ncap = s->memo_mask ? 2 * (s->memo_mask + 1) : 1024, i;
	struct memo *nm = calloc(ncap, sizeof(*nm));

	if (nm == NULL)
		abort();
	for (i = 0; s->memo != NULL && i <= s->memo_mask; i++) {
		size_t j;

		if (s->memo[i].val == 0)
			continue;
		for (j = load64(s->memo[i].key) & (ncap - 1); nm[j].val != 0;
		     j = (j + 1) & (ncap - 1))
			;
		nm[j] = s->memo[i];
	}
	free(s->memo);
	s->memo = nm;
	s->memo_mask = ncap - 1;
}

static int memo_verify(void *ud, const sg_msg_view *m,
		       const uint8_t pk[SG_MLDSA65_PK_LEN])
{
	sg_coresim *s = ud;
	uint8_t key[32];
	size_t i;
	int rc;

	s->st.verify_calls++;
	if (s->memo == NULL || 4 * (s->memo_n + 1) > 3 * (s->memo_mask + 1))
		memo_grow(s);
	memo_key(key, m, pk);
	for (i = load64(key) & s->memo_mask; s->memo[i].val != 0;
	     i = (i + 1) & s->memo_mask)
		if (memcmp(s->memo[i].key, key, 32) == 0)
			return s->memo[i].val > 0 ? 0 : SG_ERR_VERIFY;
	rc = sg_msg_verify(m, pk);
	s->st.verify_runs++;
	if (rc != 0)
		s->st.verify_failed++;
	memcpy(s->memo[i].key, key, 32);
	s->memo[i].val = rc == 0 ? 1 : -1;
	s->memo_n++;
	return rc;
}

/* Without memoisation: every call is a real verification (counted). */
static int plain_verify(void *ud, const sg_msg_view *m,
			const uint8_t pk[SG_MLDSA65_PK_LEN])
{
	sg_coresim *s = ud;
	int rc = sg_msg_verify(m, pk);

	s->st.verify_calls++;
	s->st.verify_runs++;
	if (rc != 0)
		s->st.verify_failed++;
	return rc;
}

/* ---- lookups ------------------------------------------------------------ */

long sg_coresim_node_of(const sg_coresim *s, const sg_peer_id *id)
{
	size_t i;

	for (i = load64(id->bytes) & s->idmap_mask; s->idmap[i] != 0;
	     i = (i + 1) & s->idmap_mask) {
		uint32_t k = s->idmap[i] - 1;

		if (sg_peer_id_equal(&s->ids[k].id, id))
			return (long)k;
	}
	return -1;
}

long sg_coresim_node_of_addr(const sg_coresim *s, const uint8_t *addr,
			     size_t len)
{
	sg_addr a;
	uint32_t i;

	if (sg_core_addr_decode(&a, addr, len) != 0 || a.family != 4 ||
	    a.ip[0] != 10 || a.port != 9000)
		return -1;
	i = ((uint32_t)a.ip[1] << 16) | ((uint32_t)a.ip[2] << 8) | a.ip[3];
	return i < s->cfg.nodes ? (long)i : -1;
}

static long msg_of(const sg_coresim *s, const uint8_t id[SG_MSG_ID_LEN])
{
	size_t i;

	if (s->msgmap == NULL)
		return -1;
	for (i = load64(id) & s->msgmap_mask; s->msgmap[i] != 0;
	     i = (i + 1) & s->msgmap_mask) {
		uint32_t k = s->msgmap[i] - 1;

		if (memcmp(s->msgs[k].pub.id, id, SG_MSG_ID_LEN) == 0)
			return (long)k;
	}
	return -1;
}

static void msgmap_insert(sg_coresim *s, size_t k)
{
	size_t i;

	if (s->msgmap == NULL || 2 * (s->n_msgs + 1) > s->msgmap_mask + 1) {
		size_t ncap = s->msgmap ? 2 * (s->msgmap_mask + 1) : 256, j;

		free(s->msgmap);
		s->msgmap = calloc(ncap, sizeof(*s->msgmap));
		if (s->msgmap == NULL)
			abort();
		s->msgmap_mask = ncap - 1;
		for (j = 0; j < k; j++) {
			for (i = load64(s->msgs[j].pub.id) & s->msgmap_mask;
			     s->msgmap[i] != 0; i = (i + 1) & s->msgmap_mask)
				;
			s->msgmap[i] = (uint32_t)j + 1;
		}
	}
	for (i = load64(s->msgs[k].pub.id) & s->msgmap_mask; s->msgmap[i] != 0;
	     i = (i + 1) & s->msgmap_mask)
		;
	s->msgmap[i] = (uint32_t)k + 1;
}

/* ---- configuration and nodes ------------------------------------------ */

void sg_coresim_config_default(sg_coresim_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->size = sizeof(*cfg);
	cfg->nodes = 100;
	cfg->seed = 1;
	cfg->lat_min_ms = 10;
	cfg->lat_max_ms = 50;
	sg_core_config_default(&cfg->core);
	/* A peer's topic list takes max_topics ids in each of the
	 * max_remote_topics slots: 128 KiB per node with the defaults. */
	cfg->core.max_topics = 8;
	/* sg_calloc touches what it allocates: the default event ring
	 * (1,024 events of 344 bytes) would take 352 KB per node. The key
	 * cache grows on demand: its default bound (1,024 keys) stays. */
	cfg->core.max_events = 64;
}

/* Counting allocator (count_memory): a max_align_t-sized header in front
 * of each block holds its size. */
typedef union mem_hdr {
	size_t len;
	max_align_t align;
} mem_hdr;

static void *cnt_alloc(void *ud, size_t len)
{
	struct node *n = ud;
	mem_hdr *h = malloc(sizeof(*h) + len);

	if (h == NULL)
		return NULL;
	h->len = len;
	n->mem.bytes += len;
	n->mem.blocks++;
	if (n->mem.bytes > n->mem.peak)
		n->mem.peak = n->mem.bytes;
	return h + 1;
}

static void cnt_free(void *ud, void *p)
{
	struct node *n = ud;
	mem_hdr *h = p;

	if (h == NULL)
		return;
	h--;
	n->mem.bytes -= h->len;
	n->mem.blocks--;
	free(h);
}

static void *cnt_realloc(void *ud, void *p, size_t len)
{
	struct node *n = ud;
	mem_hdr *h;
	size_t old;

	if (p == NULL)
		return cnt_alloc(ud, len);
	h = (mem_hdr *)p - 1;
	old = h->len;
	h = realloc(h, sizeof(*h) + len);
	if (h == NULL)
		return NULL;
	h->len = len;
	n->mem.bytes = n->mem.bytes - old + len;
	if (n->mem.bytes > n->mem.peak)
		n->mem.peak = n->mem.bytes;
	return h + 1;
}

void sg_coresim_node_memory(const sg_coresim *s, size_t i, sg_coresim_mem *m)
{
	*m = s->nodes[i].mem;
}

sg_coresim *sg_coresim_new(const sg_coresim_config *cfg)
{
	sg_coresim *s;
	size_t i, cap;

	if (cfg == NULL || cfg->size != sizeof(*cfg) || cfg->nodes == 0 ||
	    cfg->nodes > 0xffffff || cfg->lat_max_ms < cfg->lat_min_ms ||
	    cfg->core.size != sizeof(cfg->core))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->cfg = *cfg;
	if (!cfg->verify_every) {
		s->cfg.core.pt.verify = memo_verify;
		s->cfg.core.pt.verify_ud = s;
	} else {
		s->cfg.core.pt.verify = plain_verify;
		s->cfg.core.pt.verify_ud = s;
	}
	for (cap = 1; cap < 2 * cfg->nodes; cap <<= 1)
		;
	s->ids = calloc(cfg->nodes, sizeof(*s->ids));
	s->nodes = calloc(cfg->nodes, sizeof(*s->nodes));
	s->idmap = calloc(cap, sizeof(*s->idmap));
	if (s->ids == NULL || s->nodes == NULL || s->idmap == NULL) {
		sg_coresim_del(s);
		return NULL;
	}
	s->idmap_mask = cap - 1;
	sg_simrng_seed(s->rng, cfg->seed);
	for (i = 0; i < cfg->nodes; i++) {
		struct node *n = &s->nodes[i];
		uint8_t seed[SG_IDENTITY_SEED_LEN];
		uint64_t r[4];
		sg_addr a;
		long alen;
		size_t j;

		sg_simrng_seed(r, cfg->seed ^ ((uint64_t)i * 0x2545f4914f6cdd1dULL));
		sg_simenv_random(r, seed, sizeof(seed));
		if (sg_identity_from_seed(&s->ids[i], seed) != 0) {
			sg_coresim_del(s);
			return NULL;
		}
		for (j = load64(s->ids[i].id.bytes) & s->idmap_mask;
		     s->idmap[j] != 0; j = (j + 1) & s->idmap_mask)
			;
		s->idmap[j] = (uint32_t)i + 1;
		memset(&a, 0, sizeof(a));
		a.family = 4;
		a.ip[0] = 10;
		a.ip[1] = (uint8_t)(i >> 16);
		a.ip[2] = (uint8_t)(i >> 8);
		a.ip[3] = (uint8_t)i;
		a.port = 9000;
		alen = sg_core_addr_encode(n->addr, &a);
		if (alen < 0) {
			sg_coresim_del(s);
			return NULL;
		}
		n->addr_len = (size_t)alen;
		sg_simenv_init(&n->env, n->rng, env_now, s);
		if (cfg->count_memory) {
			n->env.alloc = cnt_alloc;
			n->env.realloc = cnt_realloc;
			n->env.free = cnt_free;
			n->env.alloc_ud = n;
		}
	}
	return s;
}

void sg_coresim_del(sg_coresim *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; s->nodes != NULL && i < s->cfg.nodes; i++)
		sg_core_del(s->nodes[i].core);
	for (i = 0; i < s->n_msgs; i++) {
		free(s->msgs[i].count);
		free(s->msgs[i].lat);
	}
	sg_simq_fini(&s->q);
	if (s->ids != NULL)
		sg_wipe(s->ids, s->cfg.nodes * sizeof(*s->ids));
	free(s->ids);
	free(s->nodes);
	free(s->idmap);
	free(s->msgs);
	free(s->msgmap);
	free(s->memo);
	free(s);
}

uint64_t sg_coresim_now(const sg_coresim *s)
{
	return s->now;
}

sg_core *sg_coresim_core(sg_coresim *s, size_t i)
{
	return i < s->cfg.nodes && s->nodes[i].alive ? s->nodes[i].core : NULL;
}

const sg_identity *sg_coresim_identity(const sg_coresim *s, size_t i)
{
	return &s->ids[i];
}

int sg_coresim_alive(const sg_coresim *s, size_t i)
{
	return i < s->cfg.nodes && s->nodes[i].alive;
}

void sg_coresim_set_group(sg_coresim *s, size_t i, uint8_t group)
{
	s->nodes[i].group = group;
}

void sg_coresim_set_loss(sg_coresim *s, double loss)
{
	s->cfg.loss = loss;
}

/* ---- the links ---------------------------------------------------------- */

static uint64_t latency(const sg_coresim *s, uint32_t a, uint32_t b)
{
	uint32_t span = s->cfg.lat_max_ms - s->cfg.lat_min_ms + 1;

	return s->cfg.lat_min_ms + sg_sim_link_hash(s->cfg.seed, a, b) % span;
}

static long gossip_msg(const sg_coresim *s, const uint8_t *f, size_t len,
		       sg_msg_view *v);

/* Puts a frame on the link src -> dst (copied). */
static void link_send(sg_coresim *s, uint32_t src, uint32_t dst,
		      const uint8_t *frame, size_t len, int tap)
{
	sg_simq_event e;

	if (s->nodes[src].group != s->nodes[dst].group) {
		s->st.dropped_partition++;
		return;
	}
	if (s->cfg.loss > 0 && sg_simrng_unit(s->rng) < s->cfg.loss) {
		s->st.dropped_loss++;
		return;
	}
	memset(&e, 0, sizeof(e));
	e.data = malloc(len ? len : 1);
	if (e.data == NULL)
		abort();
	memcpy(e.data, frame, len);
	if (tap && s->cfg.tap != NULL &&
	    s->cfg.tap(s->cfg.ud, src, dst, e.data, len) != 0) {
		s->st.dropped_tap++;
		free(e.data);
		return;
	}
	e.t = s->now + latency(s, src, dst);
	e.kind = EV_DELIVER;
	e.dst = dst;
	e.src = src;
	e.epoch = s->nodes[dst].epoch;
	e.len = (uint32_t)len;
	sg_simq_push(&s->q, &e);
}

static void send_frame(sg_coresim *s, uint32_t src, const sg_peer_id *to,
		       const uint8_t *frame, size_t len)
{
	long dst = sg_coresim_node_of(s, to);

	s->st.frames++;
	s->st.bytes += len;
	if (s->sig_missing > 0) {
		/* The publisher's own copy carries the genuine signature:
		 * deliveries of any other are forgeries accepted. */
		sg_msg_view v;
		long k = gossip_msg(s, frame, len, &v);

		if (k >= 0 && !s->msgs[k].has_sig &&
		    s->msgs[k].pub.publisher == src) {
			memcpy(s->msgs[k].sig, v.sig, SG_MLDSA65_SIG_LEN);
			s->msgs[k].has_sig = 1;
			s->sig_missing--;
		}
	}
	if (dst < 0) {
		s->st.no_route++;
		return;
	}
	link_send(s, src, (uint32_t)dst, frame, len, 1);
}

void sg_coresim_inject(sg_coresim *s, size_t from, size_t to,
		       const uint8_t *frame, size_t len)
{
	if (from >= s->cfg.nodes || to >= s->cfg.nodes)
		return;
	link_send(s, (uint32_t)from, (uint32_t)to, frame, len, 0);
}

/* The message a GOSSIP frame carries (*v: its envelope), or -1. */
static long gossip_msg(const sg_coresim *s, const uint8_t *f, size_t len,
		       sg_msg_view *v)
{
	sg_cbor_dec d;
	size_t n, elen;
	uint64_t type, hops;
	const uint8_t *env;
	size_t pre = SG_FRAME_HEADER_LEN + 1 + SG_TOPIC_ID_LEN;

	if (len < pre + 2 || f[1] != SG_FRAME_PUBSUB ||
	    f[SG_FRAME_HEADER_LEN] != PS_TOPIC || f[pre + 1] != PT_GOSSIP)
		return -1;
	sg_cbor_dec_init(&d, f + pre, len - pre);
	if (sg_cbor_get_array(&d, &n) != 0 || n != 3 ||
	    sg_cbor_get_uint(&d, &type) != 0 || type != PT_GOSSIP ||
	    sg_cbor_get_uint(&d, &hops) != 0 ||
	    sg_cbor_get_bytes(&d, &env, &elen) != 0 ||
	    sg_msg_decode(v, env, elen) != 0)
		return -1;
	return msg_of(s, v->id);
}

/* ---- the node layer ------------------------------------------------------ */

static void schedule(sg_coresim *s, uint32_t i)
{
	struct node *n = &s->nodes[i];
	uint64_t d = sg_core_next_deadline(n->core);
	sg_simq_event e;

	if (d <= s->now)
		d = s->now + 1;
	if (d == n->timer_at || d == UINT64_MAX)
		return;
	n->timer_at = d;
	memset(&e, 0, sizeof(e));
	e.t = d;
	e.kind = EV_TIMER;
	e.dst = i;
	e.epoch = n->epoch;
	sg_simq_push(&s->q, &e);
}

static void on_deliver(sg_coresim *s, uint32_t i, const sg_core_event *ev)
{
	long k = msg_of(s, ev->msg.id);
	struct msg *m;

	if (k < 0) {
		s->st.unknown_deliveries++;
		return;
	}
	m = &s->msgs[k];
	if (!m->has_sig || memcmp(ev->msg.sig, m->sig, SG_MLDSA65_SIG_LEN) != 0)
		m->pub.forged++;
	if (m->count[i] == 0) {
		uint64_t lat = s->now - m->pub.published_ms;

		m->lat[i] = lat > UINT32_MAX ? UINT32_MAX : (uint32_t)lat;
		m->pub.delivered++;
	} else {
		m->pub.duplicates++;
	}
	if (m->count[i] < UINT16_MAX)
		m->count[i]++;
}

/* Hands node i's events to the bookkeeping and its frames to the links,
 * until the core has nothing more. */
static void drain(sg_coresim *s, uint32_t i)
{
	struct node *n = &s->nodes[i];
	sg_core_event ev;
	const uint8_t *frame;
	sg_peer_id to;
	size_t len;
	int more = 1;

	while (more && n->alive) {
		more = 0;
		while (sg_core_poll_event(n->core, &ev)) {
			long j;

			more = 1;
			switch (ev.type) {
			case SG_CORE_DELIVER:
				on_deliver(s, i, &ev);
				break;
			case SG_CORE_MISBEHAVED:
				/* The node closes the connection: the peer
				 * learns it after the link's latency. */
				s->st.misbehaved++;
				j = sg_coresim_node_of(s, &ev.peer.id);
				if (j >= 0) {
					sg_simq_event e;

					memset(&e, 0, sizeof(e));
					e.t = s->now + latency(s, i, (uint32_t)j);
					e.kind = EV_CLOSED;
					e.dst = (uint32_t)j;
					e.src = i;
					e.epoch = s->nodes[j].epoch;
					sg_simq_push(&s->q, &e);
				}
				break;
			case SG_CORE_PEER_DEAD:
				s->st.peer_dead++;
				j = sg_coresim_node_of(s, &ev.peer.id);
				if (j >= 0 && s->nodes[j].alive)
					s->st.false_dead++;
				break;
			default:
				break;
			}
			if (s->cfg.on_event != NULL)
				s->cfg.on_event(s->cfg.ud, i, &ev);
		}
		while ((len = sg_core_poll_tx(n->core, &to, &frame)) > 0) {
			more = 1;
			send_frame(s, i, &to, frame, len);
		}
	}
	if (n->alive)
		schedule(s, i);
}

int sg_coresim_start(sg_coresim *s, size_t i, long contact)
{
	struct node *n;

	if (i >= s->cfg.nodes || s->nodes[i].alive)
		return SG_ERR_INVAL;
	n = &s->nodes[i];
	/* A restart is a fresh process: new state, new randomness. */
	sg_simrng_seed(n->rng, s->cfg.seed * 0x9e3779b97f4a7c15ULL + i +
				   ((uint64_t)n->epoch << 40));
	n->epoch++;
	n->core = sg_core_new(&n->env, &s->cfg.core, &s->ids[i], n->addr,
			      n->addr_len, s->now);
	if (n->core == NULL)
		return SG_ERR_NOMEM;
	n->alive = 1;
	n->timer_at = 0;
	if (contact >= 0 && (size_t)contact < s->cfg.nodes &&
	    (size_t)contact != i) {
		sg_memb_peer p;

		memset(&p, 0, sizeof(p));
		p.id = s->ids[contact].id;
		memcpy(p.addr, s->nodes[contact].addr,
		       s->nodes[contact].addr_len);
		p.addr_len = (uint8_t)s->nodes[contact].addr_len;
		sg_core_add_contact(n->core, &p);
		sg_core_join(n->core, s->now);
	}
	drain(s, (uint32_t)i);
	return 0;
}

void sg_coresim_add_contacts(sg_coresim *s, size_t i, size_t k)
{
	size_t j;

	if (i >= s->cfg.nodes || !s->nodes[i].alive)
		return;
	for (j = 0; j < k && j < s->cfg.nodes; j++) {
		sg_memb_peer p;

		if (j == i)
			continue;
		memset(&p, 0, sizeof(p));
		p.id = s->ids[j].id;
		memcpy(p.addr, s->nodes[j].addr, s->nodes[j].addr_len);
		p.addr_len = (uint8_t)s->nodes[j].addr_len;
		sg_core_add_contact(s->nodes[i].core, &p);
	}
}

void sg_coresim_crash(sg_coresim *s, size_t i)
{
	struct node *n;

	if (i >= s->cfg.nodes || !s->nodes[i].alive)
		return;
	n = &s->nodes[i];
	sg_core_del(n->core);
	n->core = NULL;
	n->alive = 0;
	n->epoch++;
}

int sg_coresim_subscribe(sg_coresim *s, size_t i, const sg_topic_id *t)
{
	int rc;

	if (!sg_coresim_alive(s, i))
		return SG_ERR_INVAL;
	rc = sg_core_subscribe(s->nodes[i].core, t, s->now);
	drain(s, (uint32_t)i);
	return rc;
}

int sg_coresim_unsubscribe(sg_coresim *s, size_t i, const sg_topic_id *t)
{
	int rc;

	if (!sg_coresim_alive(s, i))
		return SG_ERR_INVAL;
	rc = sg_core_unsubscribe(s->nodes[i].core, t, s->now);
	drain(s, (uint32_t)i);
	return rc;
}

long sg_coresim_publish(sg_coresim *s, size_t i, const sg_topic_id *t,
			const uint8_t *payload, size_t len)
{
	uint8_t id[SG_MSG_ID_LEN];
	struct msg *m;
	int rc;

	if (!sg_coresim_alive(s, i))
		return SG_ERR_INVAL;
	if (s->n_msgs == s->cap_msgs) {
		size_t ncap = s->cap_msgs ? 2 * s->cap_msgs : 64;
		struct msg *nm = realloc(s->msgs, ncap * sizeof(*nm));

		if (nm == NULL)
			return SG_ERR_NOMEM;
		s->msgs = nm;
		s->cap_msgs = ncap;
	}
	rc = sg_core_publish(s->nodes[i].core, t, payload, len, NULL, s->now,
			     SG_CORESIM_WALL0 + s->now, id);
	if (rc != 0) {
		drain(s, (uint32_t)i);
		return rc;
	}
	m = &s->msgs[s->n_msgs];
	memset(m, 0, sizeof(*m));
	memcpy(m->pub.id, id, SG_MSG_ID_LEN);
	m->pub.topic = *t;
	m->pub.publisher = i;
	m->pub.published_ms = s->now;
	m->count = calloc(s->cfg.nodes, sizeof(*m->count));
	m->lat = calloc(s->cfg.nodes, sizeof(*m->lat));
	if (m->count == NULL || m->lat == NULL)
		abort();
	s->n_msgs++;
	s->sig_missing++;
	msgmap_insert(s, s->n_msgs - 1);
	drain(s, (uint32_t)i);
	return (long)s->n_msgs - 1;
}

size_t sg_coresim_msg_count(const sg_coresim *s)
{
	return s->n_msgs;
}

const sg_coresim_msg *sg_coresim_msg_get(const sg_coresim *s, size_t k)
{
	return k < s->n_msgs ? &s->msgs[k].pub : NULL;
}

unsigned sg_coresim_delivered(const sg_coresim *s, size_t k, size_t i,
			      uint64_t *latency_ms)
{
	if (k >= s->n_msgs || i >= s->cfg.nodes)
		return 0;
	if (latency_ms != NULL)
		*latency_ms = s->msgs[k].count[i] ? s->msgs[k].lat[i] : 0;
	return s->msgs[k].count[i];
}

/* ---- running ---------------------------------------------------------- */

void sg_coresim_run_until(sg_coresim *s, uint64_t t_ms)
{
	sg_simq_event e;

	while (sg_simq_next(&s->q) <= t_ms) {
		struct node *n;

		sg_simq_pop(&s->q, &e);
		s->now = e.t;
		n = &s->nodes[e.dst];
		if (!n->alive || n->epoch != e.epoch) {
			if (e.kind == EV_DELIVER)
				s->st.dropped_dead++;
			free(e.data);
			continue;
		}
		if (e.kind == EV_TIMER) {
			if (e.t != n->timer_at)
				continue; /* superseded */
			n->timer_at = 0;
			sg_core_tick(n->core, s->now);
		} else if (e.kind == EV_DELIVER) {
			sg_msg_view v;
			long k = gossip_msg(s, e.data, e.len, &v);

			if (k >= 0) {
				s->msgs[k].pub.copies++;
				s->st.gossip_copies++;
			}
			sg_core_recv(n->core, &s->ids[e.src].id, e.data, e.len,
				     s->now, SG_CORESIM_WALL0 + s->now);
			free(e.data);
		} else {
			sg_core_peer_unreachable(n->core, &s->ids[e.src].id,
						 s->now);
		}
		drain(s, e.dst);
	}
	if (s->now < t_ms)
		s->now = t_ms;
}

/* ---- figures -------------------------------------------------------------- */

void sg_coresim_stats_get(const sg_coresim *s, sg_coresim_stats *st)
{
	size_t i;

	double sum = 0;

	*st = s->st;
	st->alive = 0;
	st->active_min = SIZE_MAX;
	st->active_max = 0;
	for (i = 0; i < s->cfg.nodes; i++) {
		sg_core_stats cs;

		if (!s->nodes[i].alive)
			continue;
		st->alive++;
		sg_core_stats_get(s->nodes[i].core, &cs);
		sum += (double)cs.active;
		if (cs.active < st->active_min)
			st->active_min = cs.active;
		if (cs.active > st->active_max)
			st->active_max = cs.active;
		st->core_tx_dropped += cs.tx_dropped;
		st->core_events_dropped += cs.events_dropped;
		st->core_malformed += cs.rx_malformed;
		st->queries_sent += cs.queries_sent;
		st->swarm_connects += cs.swarm_connects;
	}
	if (st->alive == 0)
		st->active_min = 0;
	else
		st->active_mean = sum / (double)st->alive;
}

static size_t find_root(uint32_t *parent, size_t x)
{
	while (parent[x] != x) {
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

size_t sg_coresim_components(const sg_coresim *s, const sg_topic_id *topic,
			     size_t *largest, size_t *members)
{
	size_t N = s->cfg.nodes, i, k, comps = 0, big = 0, cnt = 0;
	uint32_t *parent = malloc(N * sizeof(*parent));
	uint32_t *size = calloc(N, sizeof(*size));
	uint8_t *in = calloc(N, 1);
	sg_peer_id act[64];

	if (parent == NULL || size == NULL || in == NULL)
		abort();
	for (i = 0; i < N; i++) {
		parent[i] = (uint32_t)i;
		in[i] = s->nodes[i].alive &&
			(topic == NULL ||
			 sg_core_is_subscribed(s->nodes[i].core, topic));
		cnt += in[i];
	}
	for (i = 0; i < N; i++) {
		size_t na;

		if (!in[i])
			continue;
		na = topic == NULL
			 ? sg_core_active(s->nodes[i].core, act, 64)
			 : sg_core_topic_neighbors(s->nodes[i].core, topic,
						   act, 64);
		for (k = 0; k < na && k < 64; k++) {
			long j = sg_coresim_node_of(s, &act[k]);
			size_t a, b;

			if (j < 0 || !in[j])
				continue;
			a = find_root(parent, i);
			b = find_root(parent, (size_t)j);
			if (a != b)
				parent[a] = (uint32_t)b;
		}
	}
	for (i = 0; i < N; i++) {
		if (!in[i])
			continue;
		k = find_root(parent, i);
		if (size[k]++ == 0)
			comps++;
		if (size[k] > big)
			big = size[k];
	}
	free(parent);
	free(size);
	free(in);
	if (largest != NULL)
		*largest = big;
	if (members != NULL)
		*members = cnt;
	return comps;
}

long sg_coresim_peak_rss_kb(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return ru.ru_maxrss;
}
