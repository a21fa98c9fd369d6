/*
 * The membership simulator (see sim.h): a binary-heap event queue in
 * virtual time, per-node seeded environments, links with uniform latency,
 * loss and partitions, and the node layer that routes events between the
 * two cores exactly as a real node does (HyParView neighbour up/down adds
 * and removes SWIM members; SWIM's dead declarations are reported to
 * HyParView as failures). Frames are routed by the recipient's PeerId and
 * handed to the cores with the sender's PeerId as the authenticated peer,
 * as the transport would. Every node has a real ML-DSA-65 identity (its
 * PeerId is the hash of its key), signs its own SWIM claims, and checks
 * the claims it receives through one memoised verification shared by all
 * nodes (DESIGN section 7: each unique claim is verified once; a forged
 * one has its own memo key and is verified for real).
 */
#include "sim.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "sg/blake3.h"
#include "sg/err.h"
#include "simbase.h"

enum { EV_TIMER = 0, EV_DELIVER = 1 };

struct node {
	sg_env env;
	uint64_t rng[4];
	sg_hyparview *hv;
	sg_swim *sw;
	sg_memb_peer self;
	uint64_t timer_at;
	uint64_t crash_at; /* virtual time of the last crash, 0: none */
	uint64_t first_suspect, first_dead;
	uint64_t started_at; /* virtual time of the current life's start */
	uint32_t epoch;
	uint8_t alive, group, crashed_once;
};

struct samples {
	double *v;
	size_t n, cap;
};

struct memo {
	uint8_t key[32];
	int8_t val; /* 0 free, 1 valid, -1 invalid */
};

struct sg_sim {
	sg_sim_config cfg;
	struct node *nodes;
	sg_identity *ids;
	/* PeerId -> node + 1 (open addressing, 2^k >= 2 N slots) */
	uint32_t *idmap;
	size_t idmap_mask;
	/* memoised claim checks */
	struct memo *memo;
	size_t memo_n, memo_mask;
	uint64_t verify_calls, verify_runs, verify_failed;
	sg_simq q;
	uint64_t now;
	uint64_t rng[4];
	uint64_t msgs, bytes, drop_loss, drop_part, drop_dead;
	uint64_t suspicions, false_suspicions, deaths, false_positives;
	uint64_t stale_deaths;
	struct samples dead_all;
};

static uint64_t env_now(void *ud)
{
	return ((const sg_sim *)ud)->now;
}

static uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* ---- memoised claim verification --------------------------------------- */

/* The key is a hash of everything the check reads (the signed bytes, the
 * key and the signature): a claim that differs in any byte from one
 * already checked is checked for real. */
static void memo_key(uint8_t key[32], const sg_memb_claim *c)
{
	uint8_t tbs[SG_MEMB_CLAIM_TBS_MAX];
	long n = sg_memb_claim_tbs(tbs, c);
	sg_blake3_hasher h;

	sg_blake3_init(&h);
	if (n > 0)
		sg_blake3_update(&h, tbs, (size_t)n);
	sg_blake3_update(&h, c->pk, SG_MLDSA65_PK_LEN);
	sg_blake3_update(&h, c->sig, SG_MLDSA65_SIG_LEN);
	sg_blake3_final(&h, key, 32);
}

static void memo_grow(sg_sim *sim)
{
	size_t ncap = sim->memo_mask ? 2 * (sim->memo_mask + 1) : 1024, i;
	struct memo *nm = calloc(ncap, sizeof(*nm));

	if (nm == NULL)
		abort();
	for (i = 0; sim->memo != NULL && i <= sim->memo_mask; i++) {
		size_t j;

		if (sim->memo[i].val == 0)
			continue;
		for (j = load64(sim->memo[i].key) & (ncap - 1); nm[j].val != 0;
		     j = (j + 1) & (ncap - 1))
			;
		nm[j] = sim->memo[i];
	}
	free(sim->memo);
	sim->memo = nm;
	sim->memo_mask = ncap - 1;
}

static int memo_verify(void *ud, const sg_memb_claim *c)
{
	sg_sim *sim = ud;
	uint8_t key[32];
	size_t i;
	int rc;

	sim->verify_calls++;
	if (sim->memo == NULL ||
	    4 * (sim->memo_n + 1) > 3 * (sim->memo_mask + 1))
		memo_grow(sim);
	memo_key(key, c);
	for (i = load64(key) & sim->memo_mask; sim->memo[i].val != 0;
	     i = (i + 1) & sim->memo_mask)
		if (memcmp(sim->memo[i].key, key, 32) == 0)
			return sim->memo[i].val > 0 ? 0 : SG_ERR_VERIFY;
	rc = sg_memb_claim_verify(c);
	sim->verify_runs++;
	if (rc != 0)
		sim->verify_failed++;
	memcpy(sim->memo[i].key, key, 32);
	sim->memo[i].val = rc == 0 ? 1 : -1;
	sim->memo_n++;
	return rc;
}

/* Without memoisation: every call is a real verification (counted). */
static int plain_verify(void *ud, const sg_memb_claim *c)
{
	sg_sim *sim = ud;
	int rc = sg_memb_claim_verify(c);

	sim->verify_calls++;
	sim->verify_runs++;
	if (rc != 0)
		sim->verify_failed++;
	return rc;
}

/* ---- samples ---------------------------------------------------------- */

static void sample_add(struct samples *s, double v)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 256;
		double *nv = realloc(s->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return;
		s->v = nv;
		s->cap = ncap;
	}
	s->v[s->n++] = v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void summarize(double *v, size_t n, double *mean, double *p99)
{
	double sum = 0;
	size_t i, k;

	*mean = *p99 = 0;
	if (n == 0)
		return;
	qsort(v, n, sizeof(*v), cmp_double);
	for (i = 0; i < n; i++)
		sum += v[i];
	*mean = sum / (double)n;
	k = (n * 99 + 99) / 100; /* nearest-rank p99 */
	*p99 = v[k - 1];
}

/* ---- nodes ------------------------------------------------------------ */

void sg_sim_config_default(sg_sim_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->size = sizeof(*cfg);
	cfg->nodes = 100;
	cfg->seed = 1;
	cfg->lat_min_ms = 10;
	cfg->lat_max_ms = 50;
	cfg->swim = 1;
	sg_hyparview_config_default(&cfg->hv);
	sg_swim_config_default(&cfg->sw);
}

static long node_of(const sg_sim *sim, const sg_peer_id *id)
{
	size_t i;

	for (i = load64(id->bytes) & sim->idmap_mask; sim->idmap[i] != 0;
	     i = (i + 1) & sim->idmap_mask) {
		uint32_t k = sim->idmap[i] - 1;

		if (memcmp(sim->nodes[k].self.id.bytes, id->bytes,
			   SG_PEER_ID_LEN) == 0)
			return (long)k;
	}
	return -1;
}

static void schedule(sg_sim *sim, struct node *n, uint32_t i)
{
	uint64_t d = sg_hyparview_next_deadline(n->hv);
	sg_simq_event e;

	if (n->sw != NULL) {
		uint64_t d2 = sg_swim_next_deadline(n->sw);

		if (d2 < d)
			d = d2;
	}
	if (d <= sim->now)
		d = sim->now + 1;
	if (d == n->timer_at)
		return;
	n->timer_at = d;
	memset(&e, 0, sizeof(e));
	e.t = d;
	e.kind = EV_TIMER;
	e.dst = i;
	e.epoch = n->epoch;
	sg_simq_push(&sim->q, &e);
}

/* Each link's one-way latency is fixed, drawn uniformly from [min, max]
 * by a hash of the seed and the (unordered) pair: a link keeps the order
 * of its frames, as the QUIC stream membership messages travel on does. */
static void send_frame(sg_sim *sim, uint32_t src, const sg_peer_id *to,
		       const uint8_t *frame, size_t len)
{
	long dst = node_of(sim, to);
	sg_simq_event e;
	uint32_t span;

	sim->msgs++;
	sim->bytes += len;
	if (dst < 0) {
		sim->drop_dead++;
		return;
	}
	if (sim->nodes[src].group != sim->nodes[dst].group) {
		sim->drop_part++;
		return;
	}
	if (sim->cfg.loss > 0 && sg_simrng_unit(sim->rng) < sim->cfg.loss) {
		sim->drop_loss++;
		return;
	}
	memset(&e, 0, sizeof(e));
	span = sim->cfg.lat_max_ms - sim->cfg.lat_min_ms + 1;
	e.t = sim->now + sim->cfg.lat_min_ms +
	      sg_sim_link_hash(sim->cfg.seed, src, (uint32_t)dst) % span;
	e.kind = EV_DELIVER;
	e.dst = (uint32_t)dst;
	e.src = src;
	e.epoch = sim->nodes[dst].epoch;
	e.len = (uint32_t)len;
	e.data = malloc(len ? len : 1);
	if (e.data == NULL)
		abort();
	memcpy(e.data, frame, len);
	sg_simq_push(&sim->q, &e);
}

static void on_swim_event(sg_sim *sim, struct node *n, const sg_swim_event *ev)
{
	long j = node_of(sim, &ev->peer);
	struct node *subj = j >= 0 ? &sim->nodes[j] : NULL;
	int dead = subj == NULL || !subj->alive;

	switch (ev->type) {
	case SG_SWIM_SUSPECT:
		sim->suspicions++;
		if (!dead)
			sim->false_suspicions++;
		else if (subj->first_suspect == 0)
			subj->first_suspect = sim->now;
		break;
	case SG_SWIM_DEAD:
		sim->deaths++;
		if (!dead && subj->crashed_once &&
		    sim->now < subj->started_at + 60000) {
			/* Restarted less than a minute ago: most likely the
			 * end of a suspicion of its previous life. */
			sim->stale_deaths++;
		} else if (!dead) {
			sim->false_positives++;
		} else {
			if (subj->first_dead == 0)
				subj->first_dead = sim->now;
			sample_add(&sim->dead_all,
				   (double)(sim->now - subj->crash_at));
		}
		sg_hyparview_peer_failed(n->hv, &ev->peer, sim->now);
		break;
	case SG_SWIM_LEFT:
		sg_hyparview_peer_failed(n->hv, &ev->peer, sim->now);
		break;
	case SG_SWIM_STRANGER:
		sg_hyparview_not_neighbor(n->hv, &ev->peer, sim->now);
		break;
	default:
		break;
	}
}

/* The node layer: route events between the cores, then send. */
static void drain(sg_sim *sim, uint32_t i)
{
	struct node *n = &sim->nodes[i];
	sg_hyparview_event hev;
	sg_swim_event sev;
	const uint8_t *frame;
	sg_peer_id to;
	size_t len;
	int more = 1;

	while (more) {
		more = 0;
		while (sg_hyparview_poll_event(n->hv, &hev)) {
			more = 1;
			if (n->sw == NULL)
				continue;
			if (hev.type == SG_HYPARVIEW_NEIGHBOR_UP)
				sg_swim_member_add(n->sw, &hev.peer.id,
						   sim->now);
			else
				sg_swim_member_remove(n->sw, &hev.peer.id);
		}
		while (n->sw != NULL && sg_swim_poll_event(n->sw, &sev)) {
			more = 1;
			on_swim_event(sim, n, &sev);
		}
	}
	while ((len = sg_hyparview_poll_tx(n->hv, &to, &frame)) > 0)
		send_frame(sim, i, &to, frame, len);
	while (n->sw != NULL && (len = sg_swim_poll_tx(n->sw, &to, &frame)) > 0)
		send_frame(sim, i, &to, frame, len);
	schedule(sim, n, i);
}

static void free_node(struct node *n)
{
	sg_swim_del(n->sw);
	sg_hyparview_del(n->hv);
	n->sw = NULL;
	n->hv = NULL;
}

sg_sim *sg_sim_new(const sg_sim_config *cfg)
{
	sg_sim *sim;
	size_t i, cap;

	if (cfg == NULL || cfg->size != sizeof(*cfg) || cfg->nodes == 0 ||
	    cfg->nodes > 0xffffff || cfg->lat_max_ms < cfg->lat_min_ms)
		return NULL;
	sim = calloc(1, sizeof(*sim));
	if (sim == NULL)
		return NULL;
	sim->cfg = *cfg;
	sim->cfg.sw.verify = cfg->verify_every ? plain_verify : memo_verify;
	sim->cfg.sw.verify_ud = sim;
	for (cap = 1; cap < 2 * cfg->nodes; cap <<= 1)
		;
	sim->nodes = calloc(cfg->nodes, sizeof(*sim->nodes));
	sim->ids = calloc(cfg->nodes, sizeof(*sim->ids));
	sim->idmap = calloc(cap, sizeof(*sim->idmap));
	if (sim->nodes == NULL || sim->ids == NULL || sim->idmap == NULL) {
		sg_sim_del(sim);
		return NULL;
	}
	sim->idmap_mask = cap - 1;
	sg_simrng_seed(sim->rng, cfg->seed);
	for (i = 0; i < cfg->nodes; i++) {
		struct node *n = &sim->nodes[i];
		uint8_t seed[SG_IDENTITY_SEED_LEN];
		uint64_t s[4];
		size_t j;

		/* A real identity from a seed drawn from the run's seed. */
		sg_simrng_seed(s, cfg->seed ^
				      ((uint64_t)i * 0x2545f4914f6cdd1dULL));
		sg_simenv_random(s, seed, sizeof(seed));
		if (sg_identity_from_seed(&sim->ids[i], seed) != 0) {
			sg_sim_del(sim);
			return NULL;
		}
		n->self.id = sim->ids[i].id;
		for (j = load64(n->self.id.bytes) & sim->idmap_mask;
		     sim->idmap[j] != 0; j = (j + 1) & sim->idmap_mask)
			;
		sim->idmap[j] = (uint32_t)i + 1;
		n->self.addr_len = 6; /* a 10.x.y.z:port stand-in */
		n->self.addr[0] = 10;
		n->self.addr[1] = (uint8_t)(i >> 16);
		n->self.addr[2] = (uint8_t)(i >> 8);
		n->self.addr[3] = (uint8_t)i;
		n->self.addr[4] = 0x23;
		n->self.addr[5] = 0x28;
		sg_simenv_init(&n->env, n->rng, env_now, sim);
	}
	return sim;
}

void sg_sim_del(sg_sim *sim)
{
	size_t i;

	if (sim == NULL)
		return;
	for (i = 0; sim->nodes != NULL && i < sim->cfg.nodes; i++)
		free_node(&sim->nodes[i]);
	sg_simq_fini(&sim->q);
	if (sim->ids != NULL)
		sg_wipe(sim->ids, sim->cfg.nodes * sizeof(*sim->ids));
	free(sim->ids);
	free(sim->idmap);
	free(sim->memo);
	free(sim->nodes);
	free(sim->dead_all.v);
	free(sim);
}

uint64_t sg_sim_now(const sg_sim *sim)
{
	return sim->now;
}

int sg_sim_start(sg_sim *sim, size_t i, long contact)
{
	struct node *n;

	if (i >= sim->cfg.nodes || sim->nodes[i].alive)
		return SG_ERR_INVAL;
	n = &sim->nodes[i];
	/* A restart is a fresh process: new state, new randomness. */
	sg_simrng_seed(n->rng, sim->cfg.seed * 0x9e3779b97f4a7c15ULL + i +
				   ((uint64_t)n->epoch << 40));
	n->epoch++;
	n->hv = sg_hyparview_new(&n->env, &sim->cfg.hv, &n->self, sim->now);
	n->sw = sim->cfg.swim
		    ? sg_swim_new(&n->env, &sim->cfg.sw, &sim->ids[i], sim->now)
		    : NULL;
	if (n->hv == NULL || (sim->cfg.swim && n->sw == NULL)) {
		free_node(n);
		return SG_ERR_NOMEM;
	}
	n->alive = 1;
	n->started_at = sim->now;
	n->timer_at = 0;
	n->crash_at = 0;
	n->first_suspect = n->first_dead = 0;
	if (contact >= 0 && (size_t)contact < sim->cfg.nodes &&
	    (size_t)contact != i) {
		sg_hyparview_add_contact(n->hv, &sim->nodes[contact].self);
		sg_hyparview_join(n->hv, sim->now);
	}
	drain(sim, (uint32_t)i);
	return 0;
}

void sg_sim_add_contacts(sg_sim *sim, size_t i, size_t k)
{
	size_t j;

	if (i >= sim->cfg.nodes || !sim->nodes[i].alive)
		return;
	for (j = 0; j < k && j < sim->cfg.nodes; j++)
		if (j != i)
			sg_hyparview_add_contact(sim->nodes[i].hv,
						 &sim->nodes[j].self);
}

void sg_sim_crash(sg_sim *sim, size_t i)
{
	struct node *n = &sim->nodes[i];

	if (!n->alive)
		return;
	free_node(n);
	n->alive = 0;
	n->crash_at = sim->now;
	n->crashed_once = 1;
	n->first_suspect = n->first_dead = 0;
	n->epoch++;
}

long sg_sim_node_of(const sg_sim *sim, const sg_peer_id *id)
{
	return node_of(sim, id);
}

const sg_identity *sg_sim_identity(const sg_sim *sim, size_t i)
{
	return i < sim->cfg.nodes ? &sim->ids[i] : NULL;
}

sg_swim *sg_sim_swim(sg_sim *sim, size_t i)
{
	return i < sim->cfg.nodes && sim->nodes[i].alive ? sim->nodes[i].sw
							 : NULL;
}

sg_hyparview *sg_sim_hyparview(sg_sim *sim, size_t i)
{
	return i < sim->cfg.nodes && sim->nodes[i].alive ? sim->nodes[i].hv
							 : NULL;
}

/* Hands one frame to node dst's cores as coming from src. */
static int deliver(sg_sim *sim, uint32_t src, uint32_t dst, const uint8_t *data,
		   size_t len)
{
	struct node *n = &sim->nodes[dst];
	const sg_peer_id *from = &sim->nodes[src].self.id;
	int type = sg_memb_peek_type(data, len);

	if (type >= SG_MEMB_PING && n->sw != NULL)
		return sg_swim_recv(n->sw, from, data, len, sim->now);
	return sg_hyparview_recv(n->hv, from, data, len, sim->now);
}

int sg_sim_inject(sg_sim *sim, size_t from, size_t to, const uint8_t *frame,
		  size_t len)
{
	int rc;

	if (from >= sim->cfg.nodes || to >= sim->cfg.nodes ||
	    !sim->nodes[to].alive)
		return SG_ERR_INVAL;
	rc = deliver(sim, (uint32_t)from, (uint32_t)to, frame, len);
	drain(sim, (uint32_t)to);
	return rc;
}

int sg_sim_alive(const sg_sim *sim, size_t i)
{
	return i < sim->cfg.nodes && sim->nodes[i].alive;
}

void sg_sim_set_group(sg_sim *sim, size_t i, uint8_t group)
{
	sim->nodes[i].group = group;
}

void sg_sim_set_loss(sg_sim *sim, double loss)
{
	sim->cfg.loss = loss;
}

void sg_sim_run_until(sg_sim *sim, uint64_t t_ms)
{
	sg_simq_event e;

	while (sg_simq_next(&sim->q) <= t_ms) {
		struct node *n;

		sg_simq_pop(&sim->q, &e);
		sim->now = e.t;
		n = &sim->nodes[e.dst];
		if (!n->alive || n->epoch != e.epoch) {
			if (e.kind == EV_DELIVER)
				sim->drop_dead++;
			free(e.data);
			continue;
		}
		if (e.kind == EV_TIMER) {
			if (e.t != n->timer_at)
				continue; /* superseded */
			n->timer_at = 0;
			sg_hyparview_tick(n->hv, sim->now);
			if (n->sw != NULL)
				sg_swim_tick(n->sw, sim->now);
		} else {
			deliver(sim, e.src, e.dst, e.data, e.len);
			free(e.data);
		}
		drain(sim, e.dst);
	}
	if (sim->now < t_ms)
		sim->now = t_ms;
}

/* ---- metrics ---------------------------------------------------------- */

/* Connected components of the alive nodes (breadth-first); same_group:
 * ignore edges between partition groups. */
static size_t components(const sg_sim *sim, const uint32_t *adj_off,
			 const uint32_t *adj, uint32_t *comp, uint32_t *queue,
			 int same_group, size_t *largest)
{
	size_t N = sim->cfg.nodes, i, k, head, tail, n = 0;

	*largest = 0;
	for (i = 0; i < N; i++)
		comp[i] = UINT32_MAX;
	for (i = 0; i < N; i++) {
		size_t size = 0;

		if (!sim->nodes[i].alive || comp[i] != UINT32_MAX)
			continue;
		head = tail = 0;
		queue[tail++] = (uint32_t)i;
		comp[i] = (uint32_t)n;
		while (head < tail) {
			uint32_t u = queue[head++];

			size++;
			for (k = adj_off[u]; k < adj_off[u + 1]; k++) {
				uint32_t v = adj[k];

				if (same_group &&
				    sim->nodes[v].group != sim->nodes[u].group)
					continue;
				if (comp[v] == UINT32_MAX) {
					comp[v] = (uint32_t)n;
					queue[tail++] = v;
				}
			}
		}
		n++;
		if (size > *largest)
			*largest = size;
	}
	return n;
}

void sg_sim_metrics_get(sg_sim *sim, sg_sim_metrics *m)
{
	size_t N = sim->cfg.nodes, i, k;
	uint32_t *comp = malloc(N * sizeof(*comp));
	uint32_t *queue = malloc(N * sizeof(*queue));
	uint32_t *adj_off = calloc(N + 1, sizeof(*adj_off));
	uint32_t *adj, *fill;
	sg_peer_id act[64];
	size_t edges = 0;
	double asum = 0, psum = 0;

	memset(m, 0, sizeof(*m));
	m->now_ms = sim->now;
	m->active_min = m->passive_min = (size_t)-1;
	if (comp == NULL || queue == NULL || adj_off == NULL)
		abort();
	/* Undirected adjacency (both directions of every active edge). */
	for (i = 0; i < N; i++) {
		struct node *n = &sim->nodes[i];
		sg_hyparview_stats st;

		if (!n->alive)
			continue;
		sg_hyparview_stats_get(n->hv, &st);
		m->alive++;
		if (st.active < m->active_min)
			m->active_min = st.active;
		if (st.active > m->active_max)
			m->active_max = st.active;
		if (st.passive < m->passive_min)
			m->passive_min = st.passive;
		if (st.passive > m->passive_max)
			m->passive_max = st.passive;
		asum += (double)st.active;
		psum += (double)st.passive;
		m->tx_dropped += st.tx_dropped;
		m->sender_mismatch += st.rx_sender_mismatch;
		m->malformed += st.rx_malformed;
		if (n->sw != NULL) {
			sg_swim_stats ss;

			sg_swim_stats_get(n->sw, &ss);
			m->tx_dropped += ss.tx_dropped;
			m->sender_mismatch += ss.rx_sender_mismatch;
			m->malformed += ss.rx_malformed;
			m->claims_forged += ss.claims_forged;
			m->signs += ss.signs;
			m->lhm_mean += ss.lhm;
			if (ss.lhm > m->lhm_max)
				m->lhm_max = ss.lhm;
		}
		edges += 2 * st.active;
	}
	adj = malloc((edges ? edges : 1) * sizeof(*adj));
	fill = calloc(N, sizeof(*fill));
	if (adj == NULL || fill == NULL)
		abort();
	for (i = 0; i < N; i++) {
		size_t na;

		if (!sim->nodes[i].alive)
			continue;
		na = sg_hyparview_active(sim->nodes[i].hv, act, 64);
		for (k = 0; k < na && k < 64; k++) {
			long j = node_of(sim, &act[k]);

			if (j < 0 || !sim->nodes[j].alive)
				continue;
			if (!sg_hyparview_is_active(sim->nodes[j].hv,
						    &sim->nodes[i].self.id))
				m->asymmetric++;
			if (sim->nodes[j].group != sim->nodes[i].group)
				m->cross_group++;
			adj_off[i + 1]++;
			adj_off[j + 1]++;
		}
	}
	for (i = 0; i < N; i++)
		adj_off[i + 1] += adj_off[i];
	for (i = 0; i < N; i++) {
		size_t na;

		if (!sim->nodes[i].alive)
			continue;
		na = sg_hyparview_active(sim->nodes[i].hv, act, 64);
		for (k = 0; k < na && k < 64; k++) {
			long j = node_of(sim, &act[k]);

			if (j < 0 || !sim->nodes[j].alive)
				continue;
			adj[adj_off[i] + fill[i]++] = (uint32_t)j;
			adj[adj_off[j] + fill[j]++] = (uint32_t)i;
		}
	}
	m->components =
	    components(sim, adj_off, adj, comp, queue, 0, &m->largest);
	m->group_components = components(sim, adj_off, adj, comp, queue, 1, &k);
	if (m->alive > 0) {
		m->active_mean = asum / (double)m->alive;
		m->lhm_mean /= (double)m->alive;
		m->passive_mean = psum / (double)m->alive;
	} else {
		m->active_min = m->passive_min = 0;
	}
	m->msgs = sim->msgs;
	m->bytes = sim->bytes;
	m->dropped_loss = sim->drop_loss;
	m->dropped_partition = sim->drop_part;
	m->dropped_dead = sim->drop_dead;
	if (sim->now > 0 && N > 0) {
		double ns = (double)N * ((double)sim->now / 1000.0);

		m->msgs_per_node_s = (double)sim->msgs / ns;
		m->bytes_per_node_s = (double)sim->bytes / ns;
	}
	m->suspicions = sim->suspicions;
	m->false_suspicions = sim->false_suspicions;
	m->deaths = sim->deaths;
	m->false_positives = sim->false_positives;
	m->stale_deaths = sim->stale_deaths;
	m->verify_calls = sim->verify_calls;
	m->verify_runs = sim->verify_runs;
	free(comp);
	free(queue);
	free(adj_off);
	free(adj);
	free(fill);
}

void sg_sim_metrics_print(const sg_sim_metrics *m, FILE *f, int json)
{
	if (json) {
		fprintf(
		    f,
		    "{\"t_ms\":%llu,\"alive\":%zu,\"components\":%zu,"
		    "\"largest\":%zu,\"group_components\":%zu,"
		    "\"cross_group\":%zu,\"active\":{\"min\":%zu,\"mean\":%.2f,"
		    "\"max\":%zu},\"passive\":{\"min\":%zu,\"mean\":%.2f,"
		    "\"max\":%zu},\"asymmetric\":%zu,\"msgs\":%llu,"
		    "\"bytes\":%llu,\"msgs_per_node_s\":%.3f,"
		    "\"bytes_per_node_s\":%.1f,\"dropped\":{\"loss\":%llu,"
		    "\"partition\":%llu,\"dead\":%llu},\"suspicions\":%llu,"
		    "\"false_suspicions\":%llu,\"deaths\":%llu,"
		    "\"false_positives\":%llu,\"stale_deaths\":%llu,"
		    "\"tx_dropped\":%llu}",
		    (unsigned long long)m->now_ms, m->alive, m->components,
		    m->largest, m->group_components, m->cross_group,
		    m->active_min, m->active_mean, m->active_max,
		    m->passive_min, m->passive_mean, m->passive_max,
		    m->asymmetric, (unsigned long long)m->msgs,
		    (unsigned long long)m->bytes, m->msgs_per_node_s,
		    m->bytes_per_node_s, (unsigned long long)m->dropped_loss,
		    (unsigned long long)m->dropped_partition,
		    (unsigned long long)m->dropped_dead,
		    (unsigned long long)m->suspicions,
		    (unsigned long long)m->false_suspicions,
		    (unsigned long long)m->deaths,
		    (unsigned long long)m->false_positives,
		    (unsigned long long)m->stale_deaths,
		    (unsigned long long)m->tx_dropped);
		return;
	}
	fprintf(f,
		"t=%.1fs alive=%zu components=%zu largest=%zu "
		"group_components=%zu cross_group=%zu "
		"active=%zu/%.2f/%zu passive=%zu/%.2f/%zu asymmetric=%zu "
		"msgs/node/s=%.2f bytes/node/s=%.0f suspicions=%llu "
		"(false %llu) deaths=%llu false_positives=%llu stale=%llu "
		"lhm=%.2f/%u signs=%llu forged=%llu verify=%llu/%llu\n",
		(double)m->now_ms / 1000.0, m->alive, m->components, m->largest,
		m->group_components, m->cross_group, m->active_min,
		m->active_mean, m->active_max, m->passive_min, m->passive_mean,
		m->passive_max, m->asymmetric, m->msgs_per_node_s,
		m->bytes_per_node_s, (unsigned long long)m->suspicions,
		(unsigned long long)m->false_suspicions,
		(unsigned long long)m->deaths,
		(unsigned long long)m->false_positives,
		(unsigned long long)m->stale_deaths, m->lhm_mean, m->lhm_max,
		(unsigned long long)m->signs,
		(unsigned long long)m->claims_forged,
		(unsigned long long)m->verify_runs,
		(unsigned long long)m->verify_calls);
}

void sg_sim_detect_get(sg_sim *sim, sg_sim_detect *d)
{
	size_t N = sim->cfg.nodes, i;
	double *s = malloc((N ? N : 1) * sizeof(*s));
	double *t = malloc((N ? N : 1) * sizeof(*t));

	memset(d, 0, sizeof(*d));
	if (s == NULL || t == NULL)
		abort();
	for (i = 0; i < N; i++) {
		struct node *n = &sim->nodes[i];

		if (n->alive || !n->crashed_once)
			continue;
		if (n->first_suspect)
			s[d->n_suspect++] =
			    (double)(n->first_suspect - n->crash_at);
		if (n->first_dead)
			t[d->n_dead++] = (double)(n->first_dead - n->crash_at);
		else
			d->undetected++;
	}
	summarize(s, d->n_suspect, &d->suspect_mean, &d->suspect_p99);
	summarize(t, d->n_dead, &d->dead_mean, &d->dead_p99);
	d->n_dead_all = sim->dead_all.n;
	summarize(sim->dead_all.v, sim->dead_all.n, &d->dead_all_mean,
		  &d->dead_all_p99);
	free(s);
	free(t);
}

long sg_sim_peak_rss_kb(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return ru.ru_maxrss;
}
