/*
 * HyParView (Leitao, Pereira, Rodrigues, DSN 2007) as a sans-IO core. The
 * join procedure (4.2: JOIN, FORWARDJOIN with active and passive random
 * walk lengths), active view management (4.3: NEIGHBOR with high or low
 * priority, DISCONNECT, replacement from the passive view on failure) and
 * passive view management (4.4: periodic SHUFFLE random walks answered with
 * SHUFFLEREPLY, preferring to replace the entries we sent). Two additions
 * the paper leaves to the implementation: a peer that fails is kept in a
 * bounded "failed" list and retried now and then (so two halves of a healed
 * partition find each other again), and an isolated node with an empty
 * passive view joins again through its configured contacts.
 */
#include "sg/hyparview.h"

#include <string.h>

#include "mqueue.h"
#include "sg/err.h"

struct pending {
	sg_memb_peer peer;
	uint64_t deadline;
};

struct failed {
	sg_memb_peer peer;
	uint64_t since;
};

struct sg_hyparview {
	const sg_env *env;
	sg_hyparview_config cfg;
	sg_memb_peer self;
	sg_memb_peer *active, *passive, *contacts;
	size_t n_active, n_passive, n_contacts;
	struct pending *pending;
	size_t n_pending;
	struct failed *failed;
	size_t n_failed, heal_next;
	sg_peer_id shuffled[SG_MEMB_MAX_PEERS]; /* last SHUFFLE we sent */
	size_t n_shuffled;
	uint64_t next_shuffle, next_repair, next_heal, last_join;
	uint64_t last_stranger;
	sg_mq tx;
	sg_evq ev;
	sg_hyparview_stats st;
};

void sg_hyparview_config_default(sg_hyparview_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->size = sizeof(*cfg);
	cfg->active_target = 8;
	cfg->active_max = 12;
	cfg->passive_max = 128;
	cfg->arwl = 6;
	cfg->prwl = 3;
	cfg->shuffle_active = 3;
	cfg->shuffle_passive = 4;
	cfg->shuffle_interval_ms = 30000;
	cfg->repair_interval_ms = 1000;
	cfg->neighbor_timeout_ms = 1000;
	cfg->failed_max = 16;
	cfg->heal_interval_ms = 10000;
	cfg->failed_ttl_ms = 600000;
	cfg->contacts_max = 8;
	cfg->stranger_interval_ms = 200;
	cfg->max_tx = 1024;
	cfg->max_events = 1024;
}

static int id_eq(const sg_peer_id *a, const sg_peer_id *b)
{
	return memcmp(a->bytes, b->bytes, SG_PEER_ID_LEN) == 0;
}

static long find(const sg_memb_peer *v, size_t n, const sg_peer_id *id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (id_eq(&v[i].id, id))
			return (long)i;
	return -1;
}

static long find_pending(const sg_hyparview *hv, const sg_peer_id *id)
{
	size_t i;

	for (i = 0; i < hv->n_pending; i++)
		if (id_eq(&hv->pending[i].peer.id, id))
			return (long)i;
	return -1;
}

static long find_failed(const sg_hyparview *hv, const sg_peer_id *id)
{
	size_t i;

	for (i = 0; i < hv->n_failed; i++)
		if (id_eq(&hv->failed[i].peer.id, id))
			return (long)i;
	return -1;
}

static void send_msg(sg_hyparview *hv, const sg_peer_id *to, sg_memb_msg *m)
{
	m->sender = hv->self.id;
	if (sg_mq_push(&hv->tx, hv->env, to, m) != 0)
		hv->st.tx_dropped++;
}

static void emit(sg_hyparview *hv, sg_hyparview_event_type type,
		 const sg_memb_peer *p)
{
	sg_hyparview_event e;

	memset(&e, 0, sizeof(e));
	e.type = type;
	e.peer = *p;
	if (sg_evq_push(&hv->ev, hv->env, &e) != 0)
		hv->st.events_dropped++;
}

static void send_simple(sg_hyparview *hv, const sg_peer_id *to, uint8_t type,
			uint8_t flag)
{
	sg_memb_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.flag = flag;
	m.peer = hv->self;
	send_msg(hv, to, &m);
}

static void del_at(void *arr, size_t *n, size_t i, size_t rec)
{
	uint8_t *a = arr;

	(*n)--;
	if (i != *n)
		memcpy(a + i * rec, a + *n * rec, rec);
}

static void remove_failed(sg_hyparview *hv, const sg_peer_id *id)
{
	long i = find_failed(hv, id);

	if (i >= 0)
		del_at(hv->failed, &hv->n_failed, (size_t)i,
		       sizeof(*hv->failed));
}

static void remove_pending(sg_hyparview *hv, const sg_peer_id *id)
{
	long i = find_pending(hv, id);

	if (i >= 0)
		del_at(hv->pending, &hv->n_pending, (size_t)i,
		       sizeof(*hv->pending));
}

static void remove_passive(sg_hyparview *hv, const sg_peer_id *id)
{
	long i = find(hv->passive, hv->n_passive, id);

	if (i >= 0)
		del_at(hv->passive, &hv->n_passive, (size_t)i,
		       sizeof(*hv->passive));
}

/* Paper 4.4: the passive view drops a random entry (after those we just
 * shuffled away) when full. */
static void add_passive(sg_hyparview *hv, const sg_memb_peer *p)
{
	size_t i, victim;

	if (id_eq(&p->id, &hv->self.id) ||
	    find(hv->active, hv->n_active, &p->id) >= 0 ||
	    find(hv->passive, hv->n_passive, &p->id) >= 0 ||
	    find_failed(hv, &p->id) >= 0)
		return;
	if (hv->n_passive >= hv->cfg.passive_max) {
		victim = sg_mrand(hv->env, hv->n_passive);
		for (i = 0; i < hv->n_shuffled; i++) {
			long k =
			    find(hv->passive, hv->n_passive, &hv->shuffled[i]);
			if (k >= 0) {
				victim = (size_t)k;
				hv->shuffled[i] =
				    hv->shuffled[--hv->n_shuffled];
				break;
			}
		}
		hv->passive[victim] = *p;
		hv->st.passive_evicted++;
		return;
	}
	hv->passive[hv->n_passive++] = *p;
}

static void add_failed(sg_hyparview *hv, const sg_memb_peer *p, uint64_t now)
{
	if (find_failed(hv, &p->id) >= 0 || hv->cfg.failed_max == 0)
		return;
	if (hv->n_failed >= hv->cfg.failed_max) /* oldest goes */
		del_at(hv->failed, &hv->n_failed, 0, sizeof(*hv->failed));
	hv->failed[hv->n_failed].peer = *p;
	hv->failed[hv->n_failed].since = now;
	hv->n_failed++;
}

static void drop_active(sg_hyparview *hv, size_t i, int notify, int keep)
{
	sg_memb_peer p = hv->active[i];

	del_at(hv->active, &hv->n_active, i, sizeof(*hv->active));
	if (notify)
		send_simple(hv, &p.id, SG_MEMB_DISCONNECT, 1);
	emit(hv, SG_HYPARVIEW_NEIGHBOR_DOWN, &p);
	if (keep)
		add_passive(hv, &p);
}

/* Paper 4.3 addNodeActiveView: a full view drops a random member, which is
 * told with DISCONNECT and moves to the passive view. */
static void add_active(sg_hyparview *hv, const sg_memb_peer *p)
{
	if (id_eq(&p->id, &hv->self.id) ||
	    find(hv->active, hv->n_active, &p->id) >= 0)
		return;
	remove_passive(hv, &p->id);
	remove_pending(hv, &p->id);
	remove_failed(hv, &p->id);
	if (hv->n_active >= hv->cfg.active_max)
		drop_active(hv, sg_mrand(hv->env, hv->n_active), 1, 1);
	hv->active[hv->n_active++] = *p;
	emit(hv, SG_HYPARVIEW_NEIGHBOR_UP, p);
}

static void send_neighbor(sg_hyparview *hv, const sg_memb_peer *p, int high,
			  uint64_t now)
{
	sg_memb_msg m;

	if (hv->n_pending >= hv->cfg.active_max ||
	    find_pending(hv, &p->id) >= 0)
		return;
	memset(&m, 0, sizeof(m));
	m.type = SG_MEMB_NEIGHBOR;
	m.peer = hv->self;
	m.flag = (uint8_t)(high != 0);
	send_msg(hv, &p->id, &m);
	hv->pending[hv->n_pending].peer = *p;
	hv->pending[hv->n_pending].deadline = now + hv->cfg.neighbor_timeout_ms;
	hv->n_pending++;
}

static int send_join(sg_hyparview *hv, uint64_t now)
{
	sg_memb_msg m;
	const sg_memb_peer *c;

	if (hv->n_contacts == 0)
		return SG_ERR_NOTFOUND;
	c = &hv->contacts[sg_mrand(hv->env, hv->n_contacts)];
	memset(&m, 0, sizeof(m));
	m.type = SG_MEMB_JOIN;
	m.peer = hv->self;
	send_msg(hv, &c->id, &m);
	hv->last_join = now;
	hv->st.joins_sent++;
	return 0;
}

/* Paper 4.3: while the active view is short, ask random passive peers
 * (high priority when it is empty); an isolated node with nothing in its
 * passive view joins again through a contact. */
static void repair(sg_hyparview *hv, uint64_t now)
{
	size_t want, tries;

	if (hv->n_active + hv->n_pending >= hv->cfg.active_target)
		return;
	want = hv->cfg.active_target - hv->n_active - hv->n_pending;
	for (tries = 0; want > 0 && tries < 2 * hv->cfg.active_target;
	     tries++) {
		size_t i;

		if (hv->n_passive == 0)
			break;
		i = sg_mrand(hv->env, hv->n_passive);
		if (find_pending(hv, &hv->passive[i].id) >= 0)
			continue;
		send_neighbor(hv, &hv->passive[i], hv->n_active == 0, now);
		want--;
	}
	if (hv->n_active == 0 && hv->n_pending == 0 &&
	    (hv->last_join == 0 ||
	     now >= hv->last_join + hv->cfg.neighbor_timeout_ms))
		send_join(hv, now);
}

sg_hyparview *sg_hyparview_new(const sg_env *env,
			       const sg_hyparview_config *cfg,
			       const sg_memb_peer *self, uint64_t now_ms)
{
	sg_hyparview *hv;

	if (env == NULL || cfg == NULL || self == NULL ||
	    cfg->size != sizeof(*cfg) || cfg->active_max == 0 ||
	    cfg->active_target == 0 || cfg->active_target > cfg->active_max ||
	    cfg->passive_max == 0 || cfg->contacts_max == 0 ||
	    cfg->max_tx == 0 || cfg->max_events == 0 ||
	    cfg->shuffle_active + cfg->shuffle_passive + 1 >
		SG_MEMB_MAX_PEERS ||
	    cfg->prwl > cfg->arwl || self->addr_len > SG_MEMB_ADDR_MAX)
		return NULL;
	hv = sg_calloc(env, 1, sizeof(*hv));
	if (hv == NULL)
		return NULL;
	hv->env = env;
	hv->cfg = *cfg;
	hv->self = *self;
	hv->active = sg_calloc(env, cfg->active_max, sizeof(*hv->active));
	hv->passive = sg_calloc(env, cfg->passive_max, sizeof(*hv->passive));
	hv->contacts = sg_calloc(env, cfg->contacts_max, sizeof(*hv->contacts));
	hv->pending = sg_calloc(env, cfg->active_max, sizeof(*hv->pending));
	hv->failed = cfg->failed_max
			 ? sg_calloc(env, cfg->failed_max, sizeof(*hv->failed))
			 : NULL;
	if (hv->active == NULL || hv->passive == NULL || hv->contacts == NULL ||
	    hv->pending == NULL || (cfg->failed_max && hv->failed == NULL)) {
		sg_hyparview_del(hv);
		return NULL;
	}
	sg_mq_init(&hv->tx, cfg->max_tx);
	sg_evq_init(&hv->ev, sizeof(sg_hyparview_event), cfg->max_events);
	/* Spread periodic work so that nodes started together do not act in
	 * lockstep. The passive view starts empty: the first shuffle comes
	 * at the fast pace of a thin passive view (see sg_hyparview_tick). */
	hv->next_shuffle =
	    now_ms + 1 +
	    sg_mrand(env, (size_t)cfg->shuffle_interval_ms / 6 + 1);
	hv->next_repair =
	    now_ms + 1 + sg_mrand(env, (size_t)cfg->repair_interval_ms + 1);
	hv->next_heal =
	    now_ms + 1 + sg_mrand(env, (size_t)cfg->heal_interval_ms + 1);
	return hv;
}

void sg_hyparview_del(sg_hyparview *hv)
{
	const sg_env *env;

	if (hv == NULL)
		return;
	env = hv->env;
	sg_mq_fini(&hv->tx, env);
	sg_evq_fini(&hv->ev, env);
	sg_free(env, hv->active);
	sg_free(env, hv->passive);
	sg_free(env, hv->contacts);
	sg_free(env, hv->pending);
	sg_free(env, hv->failed);
	sg_free(env, hv);
}

int sg_hyparview_add_contact(sg_hyparview *hv, const sg_memb_peer *contact)
{
	if (hv == NULL || contact == NULL ||
	    id_eq(&contact->id, &hv->self.id) ||
	    contact->addr_len > SG_MEMB_ADDR_MAX)
		return SG_ERR_INVAL;
	if (find(hv->contacts, hv->n_contacts, &contact->id) >= 0)
		return SG_ERR_EXISTS;
	if (hv->n_contacts >= hv->cfg.contacts_max)
		return SG_ERR_FULL;
	hv->contacts[hv->n_contacts++] = *contact;
	return 0;
}

int sg_hyparview_join(sg_hyparview *hv, uint64_t now_ms)
{
	if (hv == NULL)
		return SG_ERR_INVAL;
	return send_join(hv, now_ms);
}

/* A random active member other than `not` (NULL when there is none). */
static const sg_memb_peer *
random_active(sg_hyparview *hv, const sg_peer_id *not1, const sg_peer_id *not2)
{
	size_t i, start, n = hv->n_active;

	if (n == 0)
		return NULL;
	start = sg_mrand(hv->env, n);
	for (i = 0; i < n; i++) {
		const sg_memb_peer *p = &hv->active[(start + i) % n];

		if ((not1 == NULL || !id_eq(&p->id, not1)) &&
		    (not2 == NULL || !id_eq(&p->id, not2)))
			return p;
	}
	return NULL;
}

/* Paper 4.2: the contact adds the new node and starts a random walk of
 * length ARWL through each of its other neighbours. */
static void on_join(sg_hyparview *hv, const sg_memb_msg *m)
{
	sg_memb_msg f;
	size_t i;

	long i0 = find(hv->active, hv->n_active, &m->sender);

	if (i0 >= 0) {
		/* It joins again (it restarted): its address may be new.
		 * (recv checked that peer.id is the sender.) */
		hv->active[i0].addr_len = m->peer.addr_len;
		memcpy(hv->active[i0].addr, m->peer.addr, m->peer.addr_len);
		send_simple(hv, &m->sender, SG_MEMB_JOINACK, 0);
		return;
	}
	add_active(hv, &m->peer);
	send_simple(hv, &m->sender, SG_MEMB_JOINACK, 0);
	memset(&f, 0, sizeof(f));
	f.type = SG_MEMB_FORWARDJOIN;
	f.peer = m->peer;
	f.ttl = hv->cfg.arwl;
	for (i = 0; i < hv->n_active; i++)
		if (!id_eq(&hv->active[i].id, &m->sender))
			send_msg(hv, &hv->active[i].id, &f);
}

/* Paper 4.2 ForwardJoin: accept the new node at the walk's end (or when
 * this node has no one else to pass it to), keep it in the passive view
 * at PRWL, otherwise pass it on. */
static void on_forwardjoin(sg_hyparview *hv, const sg_memb_msg *m)
{
	const sg_memb_peer *next;
	sg_memb_msg f;

	if (id_eq(&m->peer.id, &hv->self.id) ||
	    find(hv->active, hv->n_active, &m->peer.id) >= 0)
		return;
	if (m->ttl == 0 || hv->n_active <= 1) {
		add_active(hv, &m->peer);
		send_simple(hv, &m->peer.id, SG_MEMB_JOINACK, 0);
		return;
	}
	if (m->ttl == hv->cfg.prwl)
		add_passive(hv, &m->peer);
	next = random_active(hv, &m->sender, &m->peer.id);
	if (next == NULL) {
		add_active(hv, &m->peer);
		send_simple(hv, &m->peer.id, SG_MEMB_JOINACK, 0);
		return;
	}
	f = *m;
	f.ttl = (uint8_t)(m->ttl - 1);
	send_msg(hv, &next->id, &f);
}

/* Paper 4.3: a high-priority request is always accepted; a low-priority
 * one only while there is room. */
static void on_neighbor(sg_hyparview *hv, const sg_memb_msg *m)
{
	int ok;

	if (find(hv->active, hv->n_active, &m->sender) >= 0) {
		send_simple(hv, &m->sender, SG_MEMB_NEIGHBOR_REPLY, 1);
		return;
	}
	ok = m->flag || hv->n_active < hv->cfg.active_max;
	if (ok) {
		add_active(hv, &m->peer);
	} else {
		remove_failed(hv, &m->sender);
		add_passive(hv, &m->peer);
	}
	send_simple(hv, &m->sender, SG_MEMB_NEIGHBOR_REPLY, (uint8_t)ok);
}

static void on_neighbor_reply(sg_hyparview *hv, const sg_memb_msg *m)
{
	long i = find_pending(hv, &m->sender);
	sg_memb_peer p;

	if (i < 0) {
		/* Our request timed out meanwhile: undo the other side's
		 * accept so the views stay symmetric. */
		if (m->flag && find(hv->active, hv->n_active, &m->sender) < 0)
			send_simple(hv, &m->sender, SG_MEMB_DISCONNECT, 1);
		else
			hv->st.rx_unexpected++;
		return;
	}
	p = hv->pending[i].peer;
	del_at(hv->pending, &hv->n_pending, (size_t)i, sizeof(*hv->pending));
	remove_failed(hv, &p.id);
	/* A refusal is not retried at once: the next repair round asks
	 * someone else (no request storms among full nodes). */
	if (m->flag)
		add_active(hv, &p);
	else
		add_passive(hv, &p);
}

static void on_disconnect(sg_hyparview *hv, const sg_memb_msg *m, uint64_t now)
{
	long i = find(hv->active, hv->n_active, &m->sender);

	if (i < 0) {
		hv->st.rx_unexpected++;
		return;
	}
	drop_active(hv, (size_t)i, 0, m->flag);
	repair(hv, now);
}

/* A sample of up to n distinct entries of view v into out. */
static size_t sample(sg_hyparview *hv, sg_memb_peer *out, size_t n,
		     const sg_memb_peer *v, size_t vn)
{
	size_t i, k = 0, start;

	if (vn == 0 || n == 0)
		return 0;
	start = sg_mrand(hv->env, vn);
	for (i = 0; i < vn && k < n; i++)
		out[k++] = v[(start + i) % vn];
	return k;
}

static void integrate(sg_hyparview *hv, const sg_memb_peer *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		add_passive(hv, &v[i]);
}

/* Paper 4.4: a SHUFFLE walks ARWL hops; the node where it ends answers the
 * origin with as many passive entries and merges the received ones. */
static void on_shuffle(sg_hyparview *hv, const sg_memb_msg *m)
{
	const sg_memb_peer *next = NULL;
	sg_memb_msg r;

	if (id_eq(&m->peer.id, &hv->self.id))
		return;
	if (m->ttl > 1 && hv->n_active > 1)
		next = random_active(hv, &m->sender, &m->peer.id);
	if (next != NULL) {
		r = *m;
		r.ttl = (uint8_t)(m->ttl - 1);
		send_msg(hv, &next->id, &r);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.type = SG_MEMB_SHUFFLEREPLY;
	r.n_peers =
	    sample(hv, r.peers, m->n_peers + 1, hv->passive, hv->n_passive);
	send_msg(hv, &m->peer.id, &r);
	integrate(hv, m->peers, m->n_peers);
	add_passive(hv, &m->peer);
}

static void start_shuffle(sg_hyparview *hv)
{
	const sg_memb_peer *next = random_active(hv, NULL, NULL);
	sg_memb_msg m;
	size_t i;

	if (next == NULL)
		return;
	memset(&m, 0, sizeof(m));
	m.type = SG_MEMB_SHUFFLE;
	m.peer = hv->self;
	m.ttl = hv->cfg.arwl;
	m.n_peers = sample(hv, m.peers, hv->cfg.shuffle_active, hv->active,
			   hv->n_active);
	m.n_peers += sample(hv, m.peers + m.n_peers, hv->cfg.shuffle_passive,
			    hv->passive, hv->n_passive);
	hv->n_shuffled = 0;
	for (i = 0; i < m.n_peers; i++)
		if (find(hv->passive, hv->n_passive, &m.peers[i].id) >= 0)
			hv->shuffled[hv->n_shuffled++] = m.peers[i].id;
	send_msg(hv, &next->id, &m);
	hv->st.shuffles_sent++;
}

int sg_hyparview_recv(sg_hyparview *hv, const sg_peer_id *from,
		      const uint8_t *frame, size_t len, uint64_t now_ms)
{
	sg_memb_msg m;
	int rc;

	if (hv == NULL || from == NULL || (frame == NULL && len > 0))
		return SG_ERR_INVAL;
	hv->st.rx++;
	rc = sg_memb_decode(&m, frame, len);
	if (rc != 0) {
		hv->st.rx_malformed++;
		return rc;
	}
	if (m.type >= SG_MEMB_PING) {
		hv->st.rx_malformed++;
		return SG_ERR_UNSUPPORTED;
	}
	if (!id_eq(&m.sender, from)) {
		hv->st.rx_sender_mismatch++;
		return SG_ERR_PERM;
	}
	if (id_eq(from, &hv->self.id)) {
		hv->st.rx_unexpected++;
		return SG_ERR_INVAL;
	}
	/* JOIN, JOINACK and NEIGHBOR describe their sender: a peer entry
	 * naming someone else would let a node push a third party (at an
	 * address of its choosing) into our active view. */
	if ((m.type == SG_MEMB_JOIN || m.type == SG_MEMB_JOINACK ||
	     m.type == SG_MEMB_NEIGHBOR) &&
	    !id_eq(&m.peer.id, &m.sender)) {
		hv->st.rx_sender_mismatch++;
		return SG_ERR_PERM;
	}
	switch (m.type) {
	case SG_MEMB_JOIN:
		on_join(hv, &m);
		break;
	case SG_MEMB_JOINACK:
		/* The end of our join walk (a contact or the node where a
		 * FORWARDJOIN stopped). Accepted while joining or while there
		 * is room; otherwise undone, so nobody can push itself into
		 * a full view. */
		if (find(hv->active, hv->n_active, &m.sender) >= 0)
			break;
		if (hv->n_active < hv->cfg.active_max ||
		    (hv->last_join != 0 &&
		     now_ms < hv->last_join + 10 * hv->cfg.neighbor_timeout_ms))
			add_active(hv, &m.peer);
		else
			send_simple(hv, &m.sender, SG_MEMB_DISCONNECT, 1);
		break;
	case SG_MEMB_FORWARDJOIN:
		on_forwardjoin(hv, &m);
		break;
	case SG_MEMB_NEIGHBOR:
		on_neighbor(hv, &m);
		break;
	case SG_MEMB_NEIGHBOR_REPLY:
		on_neighbor_reply(hv, &m);
		break;
	case SG_MEMB_DISCONNECT:
		on_disconnect(hv, &m, now_ms);
		break;
	case SG_MEMB_SHUFFLE:
		on_shuffle(hv, &m);
		break;
	case SG_MEMB_SHUFFLEREPLY:
		integrate(hv, m.peers, m.n_peers);
		break;
	default:
		break;
	}
	return 0;
}

void sg_hyparview_peer_failed(sg_hyparview *hv, const sg_peer_id *peer,
			      uint64_t now_ms)
{
	long i;

	if (hv == NULL || peer == NULL)
		return;
	if ((i = find(hv->active, hv->n_active, peer)) >= 0) {
		sg_memb_peer p = hv->active[i];

		hv->st.peers_failed++;
		/* Best effort: if it is alive after all, it drops us too. */
		send_simple(hv, peer, SG_MEMB_DISCONNECT, 0);
		drop_active(hv, (size_t)i, 0, 0);
		add_failed(hv, &p, now_ms);
	} else if ((i = find_pending(hv, peer)) >= 0) {
		add_failed(hv, &hv->pending[i].peer, now_ms);
		remove_pending(hv, peer);
	} else if ((i = find(hv->passive, hv->n_passive, peer)) >= 0) {
		add_failed(hv, &hv->passive[i], now_ms);
		remove_passive(hv, peer);
	}
	repair(hv, now_ms);
}

void sg_hyparview_not_neighbor(sg_hyparview *hv, const sg_peer_id *peer,
			       uint64_t now_ms)
{
	if (hv == NULL || peer == NULL || id_eq(peer, &hv->self.id) ||
	    find(hv->active, hv->n_active, peer) >= 0 ||
	    find_pending(hv, peer) >= 0)
		return;
	if (hv->last_stranger != 0 &&
	    now_ms < hv->last_stranger + hv->cfg.stranger_interval_ms)
		return;
	hv->last_stranger = now_ms;
	hv->st.strangers++;
	send_simple(hv, peer, SG_MEMB_DISCONNECT, 1);
}

/* One failed peer (round robin) is asked again; an answer brings it back
 * into the views. This is what joins the halves of a healed partition. */
static void heal(sg_hyparview *hv, uint64_t now)
{
	size_t i = 0;

	while (i < hv->n_failed) {
		if (now >= hv->failed[i].since + hv->cfg.failed_ttl_ms)
			del_at(hv->failed, &hv->n_failed, i,
			       sizeof(*hv->failed));
		else
			i++;
	}
	if (hv->n_failed == 0 || hv->n_pending >= hv->cfg.active_max)
		return;
	if (hv->heal_next >= hv->n_failed)
		hv->heal_next = 0;
	send_neighbor(hv, &hv->failed[hv->heal_next].peer, hv->n_active == 0,
		      now);
	hv->heal_next++;
	hv->st.heal_probes++;
}

void sg_hyparview_tick(sg_hyparview *hv, uint64_t now_ms)
{
	size_t i = 0;
	int expired = 0;

	if (hv == NULL)
		return;
	while (i < hv->n_pending) {
		if (now_ms >= hv->pending[i].deadline) {
			sg_memb_peer p = hv->pending[i].peer;

			del_at(hv->pending, &hv->n_pending, i,
			       sizeof(*hv->pending));
			remove_passive(hv, &p.id);
			add_failed(hv, &p, now_ms);
			hv->st.neighbor_timeouts++;
			expired = 1;
		} else {
			i++;
		}
	}
	if (expired || now_ms >= hv->next_repair) {
		repair(hv, now_ms);
		if (now_ms >= hv->next_repair)
			hv->next_repair = now_ms + hv->cfg.repair_interval_ms;
	}
	/* A short active view with an empty passive view (a node whose join
	 * reached few peers) has nobody to ask for more: it shuffles at the
	 * repair pace, as a shuffle reply is how it learns more peers. */
	if (hv->n_passive == 0 && hv->n_active > 0 &&
	    hv->n_active + hv->n_pending < hv->cfg.active_target &&
	    hv->next_shuffle > now_ms + hv->cfg.repair_interval_ms)
		hv->next_shuffle = now_ms + hv->cfg.repair_interval_ms;
	if (now_ms >= hv->next_shuffle) {
		start_shuffle(hv);
		/* A passive view below a quarter of its size (a new node, or
		 * one whose passive peers failed) shuffles six times as
		 * often until it has filled up. */
		hv->next_shuffle =
		    now_ms + (hv->n_passive < hv->cfg.passive_max / 4
				  ? hv->cfg.shuffle_interval_ms / 6
				  : hv->cfg.shuffle_interval_ms);
	}
	if (now_ms >= hv->next_heal) {
		heal(hv, now_ms);
		hv->next_heal = now_ms + hv->cfg.heal_interval_ms;
	}
}

uint64_t sg_hyparview_next_deadline(const sg_hyparview *hv)
{
	uint64_t d;
	size_t i;

	if (hv == NULL)
		return UINT64_MAX;
	d = hv->next_shuffle;
	if (hv->next_heal < d)
		d = hv->next_heal;
	if (hv->next_repair < d)
		d = hv->next_repair;
	for (i = 0; i < hv->n_pending; i++)
		if (hv->pending[i].deadline < d)
			d = hv->pending[i].deadline;
	return d;
}

size_t sg_hyparview_poll_tx(sg_hyparview *hv, sg_peer_id *to,
			    const uint8_t **frame)
{
	if (hv == NULL || to == NULL || frame == NULL)
		return 0;
	return sg_mq_pop(&hv->tx, hv->env, to, frame);
}

int sg_hyparview_poll_event(sg_hyparview *hv, sg_hyparview_event *ev)
{
	if (hv == NULL || ev == NULL)
		return 0;
	return sg_evq_pop(&hv->ev, ev);
}

size_t sg_hyparview_active(const sg_hyparview *hv, sg_peer_id *out, size_t max)
{
	size_t i;

	if (hv == NULL)
		return 0;
	for (i = 0; out != NULL && i < hv->n_active && i < max; i++)
		out[i] = hv->active[i].id;
	return hv->n_active;
}

int sg_hyparview_is_active(const sg_hyparview *hv, const sg_peer_id *peer)
{
	return hv != NULL && peer != NULL &&
	       find(hv->active, hv->n_active, peer) >= 0;
}

int sg_hyparview_is_passive(const sg_hyparview *hv, const sg_peer_id *peer)
{
	return hv != NULL && peer != NULL &&
	       find(hv->passive, hv->n_passive, peer) >= 0;
}

void sg_hyparview_stats_get(const sg_hyparview *hv, sg_hyparview_stats *st)
{
	if (hv == NULL || st == NULL)
		return;
	*st = hv->st;
	st->active = hv->n_active;
	st->passive = hv->n_passive;
	st->pending = hv->n_pending;
	st->failed = hv->n_failed;
}

int sg_hyparview_lookup(const sg_hyparview *hv, const sg_peer_id *peer,
			sg_memb_peer *out)
{
	long i;

	if ((i = find(hv->active, hv->n_active, peer)) >= 0)
		*out = hv->active[i];
	else if ((i = find_pending(hv, peer)) >= 0)
		*out = hv->pending[i].peer;
	else if ((i = find(hv->passive, hv->n_passive, peer)) >= 0)
		*out = hv->passive[i];
	else if ((i = find(hv->contacts, hv->n_contacts, peer)) >= 0)
		*out = hv->contacts[i];
	else if ((i = find_failed(hv, peer)) >= 0)
		*out = hv->failed[i].peer;
	else
		return SG_ERR_NOTFOUND;
	return 0;
}

size_t sg_hyparview_passive(const sg_hyparview *hv, sg_memb_peer *out,
			    size_t max)
{
	size_t i, n = hv->n_passive < max ? hv->n_passive : max;

	for (i = 0; i < n; i++)
		out[i] = hv->passive[i];
	return n;
}

int sg_hyparview_connect(sg_hyparview *hv, const sg_memb_peer *p,
			 uint64_t now_ms)
{
	if (id_eq(&p->id, &hv->self.id) || p->addr_len > SG_MEMB_ADDR_MAX)
		return SG_ERR_INVAL;
	if (find(hv->active, hv->n_active, &p->id) >= 0 ||
	    find_pending(hv, &p->id) >= 0)
		return SG_ERR_EXISTS;
	if (hv->n_active + hv->n_pending >= hv->cfg.active_max)
		return SG_ERR_FULL;
	send_neighbor(hv, p, 0, now_ms);
	return 0;
}
