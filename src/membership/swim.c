/*
 * SWIM (Das, Gupta, Motivala, DSN 2002) with Lifeguard (arXiv 1707.00788)
 * as a sans-IO core. Section 4.1/4.3 of SWIM: one probe per protocol
 * period in randomised round-robin order, a direct PING, then after the
 * ack timeout k PING-REQs through other members; section 4.2: a failed
 * probe makes the member suspect, suspicion carries the incarnation
 * number and the subject refutes it with a higher one; updates ride on
 * probe traffic a bounded number of times (lambda * log n). Lifeguard
 * section 4: the local health multiplier (LHM) stretches the probe period
 * and ack timeout after failed probes, missed nacks and refutations (and
 * shrinks on success); intermediaries send a nack when the target stays
 * silent; the suspicion timeout starts at its maximum and shrinks towards
 * the minimum with each independent confirmation (log scale); the buddy
 * system puts the suspicion first in every message to the suspect. Per
 * DESIGN section 7, third-party claims only start suspicion: a member is
 * declared dead by this node's own failed probes or by dead_reporters
 * distinct members' reports, and "left" only from the subject itself.
 */
#include "sg/swim.h"

#include <string.h>

#include "mqueue.h"
#include "sg/err.h"

#define MAX_CONF 8

struct member {
	sg_peer_id id;
	uint64_t inc;
	uint64_t suspect_start, suspect_deadline, last_probe;
	uint64_t rp_seq, rp_deadline; /* re-probe of a suspect in flight */
	uint8_t suspect, own_failed, n_conf;
	uint8_t conf[MAX_CONF][8]; /* reporters (PeerId prefixes) */
};

struct upd {
	sg_memb_gossip g;
	unsigned left;
};

struct relay {
	sg_peer_id requester, target;
	uint64_t req_seq, my_seq, deadline;
};

struct probe {
	int active, acked, indirect;
	sg_peer_id target;
	uint64_t seq, ack_deadline, end;
	size_t nacks_expected, nacks_got;
};

struct sg_swim {
	const sg_env *env;
	sg_swim_config cfg;
	sg_peer_id self;
	uint64_t inc, seq, next_probe;
	uint64_t now, refute_until; /* last time seen; refutation window */
	unsigned lhm;
	struct member *mem;
	size_t n_mem, rr;
	struct upd *upd;
	size_t n_upd, upd_rr;
	struct relay *relays;
	size_t n_relays;
	struct probe probe;
	sg_mq tx;
	sg_evq ev;
	sg_swim_stats st;
};

/* ln(1) .. ln(9) for Lifeguard's log-scaled suspicion timeout. */
static const double ln_tab[MAX_CONF + 1] = {
    0.0,      0.693147, 1.098612, 1.386294, 1.609438,
    1.791759, 1.945910, 2.079442, 2.197225,
};

void sg_swim_config_default(sg_swim_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->size = sizeof(*cfg);
	cfg->probe_interval_ms = 1000;
	cfg->ack_timeout_ms = 300;
	cfg->indirect_k = 3;
	cfg->lambda = 3;
	cfg->max_lhm = 4;
	cfg->suspicion_min_ms = 3000;
	cfg->suspicion_max_ms = 6000;
	cfg->dead_reporters = 3;
	cfg->own_failures = 2;
	cfg->members_max = 32;
	cfg->gossip_max = 64;
	cfg->relays_max = 16;
	cfg->max_tx = 1024;
	cfg->max_events = 256;
}

static int id_eq(const sg_peer_id *a, const sg_peer_id *b)
{
	return memcmp(a->bytes, b->bytes, SG_PEER_ID_LEN) == 0;
}

static struct member *find_member(const sg_swim *sw, const sg_peer_id *id)
{
	size_t i;

	for (i = 0; i < sw->n_mem; i++)
		if (id_eq(&sw->mem[i].id, id))
			return &sw->mem[i];
	return NULL;
}

static void emit(sg_swim *sw, sg_swim_event_type type, const sg_peer_id *p,
		 uint64_t inc)
{
	sg_swim_event e;

	memset(&e, 0, sizeof(e));
	e.type = type;
	e.peer = *p;
	e.incarnation = inc;
	if (sg_evq_push(&sw->ev, sw->env, &e) != 0)
		sw->st.events_dropped++;
}

static unsigned retransmits(const sg_swim *sw)
{
	unsigned l = 1;
	size_t n = sw->n_mem + 1;

	while (n >= 10) { /* ceil(log10(n + 1)) */
		n /= 10;
		l++;
	}
	return sw->cfg.lambda * l;
}

/* Strength order for one subject: higher incarnation wins; at equal
 * incarnation dead/left > suspect > alive (SWIM 4.2 precedence). */
static int stronger(const sg_memb_gossip *a, const sg_memb_gossip *b)
{
	if (a->incarnation != b->incarnation)
		return a->incarnation > b->incarnation;
	return a->kind > b->kind;
}

static void enqueue(sg_swim *sw, uint8_t kind, const sg_peer_id *subject,
		    uint64_t inc)
{
	sg_memb_gossip g;
	size_t i, worst = 0;

	g.kind = kind;
	g.subject = *subject;
	g.incarnation = inc;
	for (i = 0; i < sw->n_upd; i++) {
		if (id_eq(&sw->upd[i].g.subject, subject)) {
			if (stronger(&g, &sw->upd[i].g) ||
			    sw->upd[i].left == 0) {
				sw->upd[i].g = g;
				sw->upd[i].left = retransmits(sw);
			}
			return;
		}
		if (sw->upd[i].left < sw->upd[worst].left)
			worst = i;
	}
	if (sw->n_upd >= sw->cfg.gossip_max) {
		sw->st.gossip_dropped++;
		i = worst;
	} else {
		i = sw->n_upd++;
	}
	sw->upd[i].g = g;
	sw->upd[i].left = retransmits(sw);
}

/* Piggybacks queued updates (round robin over the queue); the buddy
 * system puts the suspicion about `to` first when we suspect it. */
static void piggyback(sg_swim *sw, sg_memb_msg *m, const sg_peer_id *to)
{
	struct member *mb = find_member(sw, to);
	size_t i, k;

	m->n_gossip = 0;
	/* After a refutation every message carries our alive update for a
	 * suspicion timeout, so it reaches whoever suspects us even when the
	 * counted retransmissions are spent. */
	if (sw->now < sw->refute_until) {
		m->gossip[0].kind = SG_MEMB_ALIVE;
		m->gossip[0].subject = sw->self;
		m->gossip[0].incarnation = sw->inc;
		m->n_gossip = 1;
	}
	if (mb != NULL && mb->suspect) {
		m->gossip[m->n_gossip].kind = SG_MEMB_SUSPECT;
		m->gossip[m->n_gossip].subject = mb->id;
		m->gossip[m->n_gossip].incarnation = mb->inc;
		m->n_gossip++;
	}
	for (k = 0; k < sw->n_upd && m->n_gossip < SG_MEMB_MAX_GOSSIP; k++) {
		struct upd *u;

		i = (sw->upd_rr + k) % sw->n_upd;
		u = &sw->upd[i];
		if (u->left == 0)
			continue;
		m->gossip[m->n_gossip++] = u->g;
		u->left--;
	}
	if (sw->n_upd > 0)
		sw->upd_rr = (sw->upd_rr + k) % sw->n_upd;
	/* Drop the spent updates. */
	i = 0;
	while (i < sw->n_upd) {
		if (sw->upd[i].left == 0)
			sw->upd[i] = sw->upd[--sw->n_upd];
		else
			i++;
	}
}

static void send_msg(sg_swim *sw, const sg_peer_id *to, sg_memb_msg *m)
{
	m->sender = sw->self;
	piggyback(sw, m, to);
	if (sg_mq_push(&sw->tx, sw->env, to, m) != 0)
		sw->st.tx_dropped++;
}

static void send_ping(sg_swim *sw, const sg_peer_id *to, uint8_t type,
		      uint64_t seq)
{
	sg_memb_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.seq = seq;
	send_msg(sw, to, &m);
}

static void send_indack(sg_swim *sw, const struct relay *r, int ok)
{
	sg_memb_msg m;

	memset(&m, 0, sizeof(m));
	m.type = SG_MEMB_INDACK;
	m.seq = r->req_seq;
	m.target = r->target;
	m.flag = (uint8_t)(ok != 0);
	send_msg(sw, &r->requester, &m);
}

/* Lifeguard: the probe period and ack timeout stretch with the local
 * health multiplier. */
static uint64_t scaled(const sg_swim *sw, uint64_t v)
{
	return v * (sw->lhm + 1u);
}

static uint64_t suspicion_timeout(const sg_swim *sw, const struct member *mb)
{
	size_t k = sw->cfg.indirect_k, c = mb->n_conf ? mb->n_conf - 1u : 0;
	double frac;
	uint64_t lo = sw->cfg.suspicion_min_ms, hi = sw->cfg.suspicion_max_ms;
	uint64_t t;

	if (c > k)
		c = k;
	frac = ln_tab[c] / ln_tab[k];
	t = hi - (uint64_t)((double)(hi - lo) * frac);
	return t < lo ? lo : t;
}

static void add_conf(struct member *mb, const sg_peer_id *reporter)
{
	size_t i;

	for (i = 0; i < mb->n_conf; i++)
		if (memcmp(mb->conf[i], reporter->bytes, 8) == 0)
			return;
	if (mb->n_conf < MAX_CONF)
		memcpy(mb->conf[mb->n_conf++], reporter->bytes, 8);
}

static void remove_at(sg_swim *sw, struct member *mb)
{
	size_t i = (size_t)(mb - sw->mem);

	sw->mem[i] = sw->mem[--sw->n_mem];
	if (sw->rr > sw->n_mem)
		sw->rr = sw->n_mem;
}

static void declare_dead(sg_swim *sw, struct member *mb)
{
	sg_peer_id id = mb->id;
	uint64_t inc = mb->inc;

	sw->st.deaths++;
	remove_at(sw, mb);
	enqueue(sw, SG_MEMB_DEAD, &id, inc);
	emit(sw, SG_SWIM_DEAD, &id, inc);
}

/* Starts (or confirms) a suspicion. reporter NULL: our own probe failed. */
static void suspect(sg_swim *sw, struct member *mb, uint64_t inc,
		    const sg_peer_id *reporter, uint64_t now)
{
	if (!mb->suspect) {
		mb->suspect = 1;
		mb->inc = inc;
		mb->n_conf = 0;
		mb->own_failed = 0;
		mb->suspect_start = now;
		mb->rp_seq = 0;
		mb->rp_deadline = now; /* re-probe at once */
		sw->st.suspicions++;
		enqueue(sw, SG_MEMB_SUSPECT, &mb->id, inc);
		emit(sw, SG_SWIM_SUSPECT, &mb->id, inc);
	}
	if (reporter == NULL) {
		if (mb->own_failed < 255)
			mb->own_failed++;
		add_conf(mb, &sw->self);
	} else {
		add_conf(mb, reporter);
	}
	mb->suspect_deadline = mb->suspect_start + suspicion_timeout(sw, mb);
}

static void clear_suspect(sg_swim *sw, struct member *mb, uint64_t inc)
{
	mb->inc = inc;
	if (mb->suspect) {
		mb->suspect = 0;
		mb->own_failed = 0;
		mb->n_conf = 0;
		emit(sw, SG_SWIM_ALIVE, &mb->id, inc);
	}
}

/* SWIM 4.2: a node that hears it is suspected (or declared dead) raises
 * its incarnation and tells every member directly; Lifeguard counts the
 * refutation against its local health. */
static void refute(sg_swim *sw, uint64_t inc)
{
	size_t i;

	/* A suspicion of an older incarnation is stale, but whoever sent it
	 * missed our alive update: carry it again. */
	sw->refute_until = sw->now + 2 * sw->cfg.suspicion_max_ms;
	if (inc < sw->inc)
		return;
	sw->inc = inc + 1;
	sw->st.refutes++;
	if (sw->lhm < sw->cfg.max_lhm)
		sw->lhm++;
	enqueue(sw, SG_MEMB_ALIVE, &sw->self, sw->inc);
	for (i = 0; i < sw->n_mem; i++)
		send_ping(sw, &sw->mem[i].id, SG_MEMB_PING, 0);
}

static void apply(sg_swim *sw, const sg_memb_gossip *g, const sg_peer_id *from,
		  uint64_t now)
{
	struct member *mb;

	if (id_eq(&g->subject, &sw->self)) {
		if (g->kind == SG_MEMB_SUSPECT || g->kind == SG_MEMB_DEAD)
			refute(sw, g->incarnation);
		return;
	}
	mb = find_member(sw, &g->subject);
	if (mb == NULL)
		return; /* not ours to judge (see DESIGN section 7) */
	switch (g->kind) {
	case SG_MEMB_ALIVE:
		if (g->incarnation > mb->inc ||
		    (g->incarnation == mb->inc && !mb->suspect)) {
			if (g->incarnation > mb->inc)
				enqueue(sw, SG_MEMB_ALIVE, &mb->id,
					g->incarnation);
			clear_suspect(sw, mb, g->incarnation);
		}
		break;
	case SG_MEMB_LEFT:
		if (id_eq(from, &g->subject)) {
			sg_peer_id id = mb->id;

			remove_at(sw, mb);
			emit(sw, SG_SWIM_LEFT, &id, g->incarnation);
			break;
		}
		/* A third party's "left" is only a suspicion. */
		/* fall through */
	case SG_MEMB_SUSPECT:
	case SG_MEMB_DEAD:
		if (g->incarnation < mb->inc)
			break;
		if (mb->suspect && g->incarnation > mb->inc)
			clear_suspect(sw, mb, g->incarnation);
		suspect(sw, mb, g->incarnation, from, now);
		if (mb->n_conf >= sw->cfg.dead_reporters &&
		    g->kind != SG_MEMB_SUSPECT)
			declare_dead(sw, mb);
		break;
	default:
		break;
	}
}

sg_swim *sg_swim_new(const sg_env *env, const sg_swim_config *cfg,
		     const sg_peer_id *self, uint64_t now_ms)
{
	sg_swim *sw;

	if (env == NULL || cfg == NULL || self == NULL ||
	    cfg->size != sizeof(*cfg) || cfg->probe_interval_ms == 0 ||
	    cfg->ack_timeout_ms >= cfg->probe_interval_ms ||
	    cfg->indirect_k == 0 || cfg->indirect_k > MAX_CONF ||
	    cfg->dead_reporters == 0 || cfg->dead_reporters > MAX_CONF ||
	    cfg->own_failures == 0 || cfg->lambda == 0 ||
	    cfg->suspicion_min_ms == 0 ||
	    cfg->suspicion_min_ms > cfg->suspicion_max_ms ||
	    cfg->members_max == 0 || cfg->gossip_max == 0 ||
	    cfg->relays_max == 0 || cfg->max_tx == 0 || cfg->max_events == 0 ||
	    cfg->max_lhm > 64)
		return NULL;
	sw = sg_calloc(env, 1, sizeof(*sw));
	if (sw == NULL)
		return NULL;
	sw->env = env;
	sw->cfg = *cfg;
	sw->self = *self;
	sw->seq = 1;
	sw->mem = sg_calloc(env, cfg->members_max, sizeof(*sw->mem));
	sw->upd = sg_calloc(env, cfg->gossip_max, sizeof(*sw->upd));
	sw->relays = sg_calloc(env, cfg->relays_max, sizeof(*sw->relays));
	if (sw->mem == NULL || sw->upd == NULL || sw->relays == NULL) {
		sg_swim_del(sw);
		return NULL;
	}
	sg_mq_init(&sw->tx, cfg->max_tx);
	sg_evq_init(&sw->ev, sizeof(sg_swim_event), cfg->max_events);
	sw->next_probe =
	    now_ms + 1 + sg_mrand(env, (size_t)cfg->probe_interval_ms);
	return sw;
}

void sg_swim_del(sg_swim *sw)
{
	const sg_env *env;

	if (sw == NULL)
		return;
	env = sw->env;
	sg_mq_fini(&sw->tx, env);
	sg_evq_fini(&sw->ev, env);
	sg_free(env, sw->mem);
	sg_free(env, sw->upd);
	sg_free(env, sw->relays);
	sg_free(env, sw);
}

int sg_swim_member_add(sg_swim *sw, const sg_peer_id *peer, uint64_t now_ms)
{
	struct member *mb;
	size_t j;

	if (sw == NULL || peer == NULL || id_eq(peer, &sw->self))
		return SG_ERR_INVAL;
	if (find_member(sw, peer) != NULL)
		return SG_ERR_EXISTS;
	if (sw->n_mem >= sw->cfg.members_max) {
		sw->st.members_dropped++;
		return SG_ERR_FULL;
	}
	/* Insert at a random position so the probe order stays random. */
	j = sg_mrand(sw->env, sw->n_mem + 1);
	sw->mem[sw->n_mem++] = sw->mem[j];
	mb = &sw->mem[j];
	memset(mb, 0, sizeof(*mb));
	mb->id = *peer;
	mb->last_probe = now_ms;
	return 0;
}

void sg_swim_member_remove(sg_swim *sw, const sg_peer_id *peer)
{
	struct member *mb;

	if (sw == NULL || peer == NULL)
		return;
	mb = find_member(sw, peer);
	if (mb != NULL)
		remove_at(sw, mb);
	if (sw->probe.active && id_eq(&sw->probe.target, peer))
		sw->probe.active = 0;
}

void sg_swim_leave(sg_swim *sw, uint64_t now_ms)
{
	size_t i;

	(void)now_ms;
	if (sw == NULL)
		return;
	enqueue(sw, SG_MEMB_LEFT, &sw->self, sw->inc);
	for (i = 0; i < sw->n_mem; i++)
		send_ping(sw, &sw->mem[i].id, SG_MEMB_PING, 0);
}

static struct relay *find_relay(sg_swim *sw, uint64_t my_seq,
				const sg_peer_id *target)
{
	size_t i;

	for (i = 0; i < sw->n_relays; i++)
		if (sw->relays[i].my_seq == my_seq &&
		    id_eq(&sw->relays[i].target, target))
			return &sw->relays[i];
	return NULL;
}

static void on_pingreq(sg_swim *sw, const sg_memb_msg *m, uint64_t now)
{
	struct relay *r;

	if (id_eq(&m->target, &sw->self) || id_eq(&m->target, &m->sender)) {
		sw->st.rx_unexpected++;
		return;
	}
	if (sw->n_relays >= sw->cfg.relays_max) {
		sw->st.relays_dropped++;
		return;
	}
	r = &sw->relays[sw->n_relays++];
	r->requester = m->sender;
	r->target = m->target;
	r->req_seq = m->seq;
	r->my_seq = sw->seq++;
	/* Lifeguard: answer with a nack at 80% of our ack timeout. */
	r->deadline = now + scaled(sw, sw->cfg.ack_timeout_ms) * 4 / 5;
	send_ping(sw, &m->target, SG_MEMB_PING, r->my_seq);
}

static void on_ack(sg_swim *sw, const sg_memb_msg *m)
{
	struct member *mb;
	struct relay *r;

	if (sw->probe.active && m->seq == sw->probe.seq &&
	    id_eq(&m->sender, &sw->probe.target)) {
		sw->probe.acked = 1;
		return;
	}
	mb = find_member(sw, &m->sender);
	if (mb != NULL && mb->suspect && mb->rp_seq != 0 &&
	    m->seq == mb->rp_seq) {
		/* Our own re-probe answered: first-hand evidence. */
		mb->rp_seq = 0;
		clear_suspect(sw, mb, mb->inc);
		return;
	}
	r = find_relay(sw, m->seq, &m->sender);
	if (r != NULL) {
		send_indack(sw, r, 1);
		*r = sw->relays[--sw->n_relays];
		return;
	}
	if (m->seq != 0)
		sw->st.rx_unexpected++;
}

static void on_indack(sg_swim *sw, const sg_memb_msg *m)
{
	struct member *mb = find_member(sw, &m->target);

	if (mb != NULL && mb->suspect && mb->rp_seq != 0 &&
	    m->seq == mb->rp_seq) {
		if (m->flag) { /* a re-probe answered through a relay */
			mb->rp_seq = 0;
			clear_suspect(sw, mb, mb->inc);
		}
		return;
	}
	if (!sw->probe.active || m->seq != sw->probe.seq ||
	    !id_eq(&m->target, &sw->probe.target)) {
		sw->st.rx_unexpected++;
		return;
	}
	if (m->flag)
		sw->probe.acked = 1;
	else
		sw->probe.nacks_got++;
}

int sg_swim_recv(sg_swim *sw, const sg_peer_id *from, const uint8_t *frame,
		 size_t len, uint64_t now_ms)
{
	sg_memb_msg m;
	size_t i;
	int rc;

	if (sw == NULL || from == NULL || (frame == NULL && len > 0))
		return SG_ERR_INVAL;
	sw->st.rx++;
	if (now_ms > sw->now)
		sw->now = now_ms;
	rc = sg_memb_decode(&m, frame, len);
	if (rc != 0) {
		sw->st.rx_malformed++;
		return rc;
	}
	if (m.type < SG_MEMB_PING) {
		sw->st.rx_malformed++;
		return SG_ERR_UNSUPPORTED;
	}
	if (!id_eq(&m.sender, from)) {
		sw->st.rx_sender_mismatch++;
		return SG_ERR_PERM;
	}
	if (id_eq(from, &sw->self)) {
		sw->st.rx_unexpected++;
		return SG_ERR_INVAL;
	}
	/* Everything is parsed; now act. The message itself is direct
	 * evidence that its sender is alive, but SWIM clears a suspicion only
	 * by a higher incarnation (its refutation rides in the gossip). */
	for (i = 0; i < m.n_gossip; i++)
		apply(sw, &m.gossip[i], from, now_ms);
	switch (m.type) {
	case SG_MEMB_PING:
		send_ping(sw, from, SG_MEMB_ACK, m.seq);
		if (m.seq != 0 && find_member(sw, from) == NULL)
			emit(sw, SG_SWIM_STRANGER, from, 0);
		break;
	case SG_MEMB_ACK:
		on_ack(sw, &m);
		break;
	case SG_MEMB_PINGREQ:
		on_pingreq(sw, &m, now_ms);
		break;
	case SG_MEMB_INDACK:
		on_indack(sw, &m);
		break;
	default:
		break;
	}
	return 0;
}

/* The next member to probe in the randomised round-robin order (SWIM
 * 4.3), reshuffled every round. */
static struct member *next_target(sg_swim *sw)
{
	size_t i;

	if (sw->n_mem == 0)
		return NULL;
	if (sw->rr >= sw->n_mem) {
		for (i = sw->n_mem - 1; i > 0; i--) {
			size_t j = sg_mrand(sw->env, i + 1);
			struct member t = sw->mem[i];

			sw->mem[i] = sw->mem[j];
			sw->mem[j] = t;
		}
		sw->rr = 0;
	}
	return &sw->mem[sw->rr++];
}

static size_t send_pingreqs(sg_swim *sw, const sg_peer_id *target, uint64_t seq)
{
	size_t i, n = 0, start;
	sg_memb_msg m;

	if (sw->n_mem < 2)
		return 0;
	start = sg_mrand(sw->env, sw->n_mem);
	for (i = 0; i < sw->n_mem && n < sw->cfg.indirect_k; i++) {
		struct member *mb = &sw->mem[(start + i) % sw->n_mem];

		if (id_eq(&mb->id, target) || mb->suspect)
			continue;
		memset(&m, 0, sizeof(m));
		m.type = SG_MEMB_PINGREQ;
		m.seq = seq;
		m.target = *target;
		send_msg(sw, &mb->id, &m);
		n++;
	}
	sw->st.indirect_sent += n;
	return n;
}

static void finish_probe(sg_swim *sw, uint64_t now)
{
	struct probe *p = &sw->probe;
	struct member *mb = find_member(sw, &p->target);

	p->active = 0;
	if (p->acked) {
		if (sw->lhm > 0)
			sw->lhm--;
		/* The member answered our own probe (directly or through a
		 * PING-REQ): first-hand evidence outweighs a suspicion that
		 * came from a lost frame or from third parties. */
		if (mb != NULL && mb->suspect)
			clear_suspect(sw, mb, mb->inc);
		return;
	}
	sw->st.probes_failed++;
	/* A member we already suspect failing again says nothing new about
	 * our own health (a crashed member would otherwise slow us down). */
	if (mb != NULL && mb->suspect) {
		suspect(sw, mb, mb->inc, NULL, now);
		return; /* no news about our own health */
	}
	if (sw->lhm < sw->cfg.max_lhm)
		sw->lhm++;
	if (p->indirect && p->nacks_got < p->nacks_expected) {
		sw->st.nacks_missed++;
		if (sw->lhm < sw->cfg.max_lhm)
			sw->lhm++;
	}
	if (mb != NULL)
		suspect(sw, mb, mb->inc, NULL, now);
}

void sg_swim_tick(sg_swim *sw, uint64_t now_ms)
{
	size_t i;

	if (sw == NULL)
		return;
	if (now_ms > sw->now)
		sw->now = now_ms;
	i = 0;
	while (i < sw->n_relays) {
		if (now_ms >= sw->relays[i].deadline) {
			send_indack(sw, &sw->relays[i], 0);
			sw->relays[i] = sw->relays[--sw->n_relays];
		} else {
			i++;
		}
	}
	if (sw->probe.active && !sw->probe.acked && !sw->probe.indirect &&
	    now_ms >= sw->probe.ack_deadline) {
		sw->probe.indirect = 1;
		sw->probe.nacks_expected =
		    send_pingreqs(sw, &sw->probe.target, sw->probe.seq);
	}
	if (sw->probe.active && now_ms >= sw->probe.end)
		finish_probe(sw, now_ms);
	if (!sw->probe.active && now_ms >= sw->next_probe) {
		struct member *mb = next_target(sw);
		uint64_t period = scaled(sw, sw->cfg.probe_interval_ms);

		sw->next_probe = now_ms + period;
		if (mb != NULL) {
			struct probe *p = &sw->probe;

			memset(p, 0, sizeof(*p));
			p->active = 1;
			p->target = mb->id;
			p->seq = sw->seq++;
			p->ack_deadline =
			    now_ms + scaled(sw, sw->cfg.ack_timeout_ms);
			p->end = now_ms + period;
			mb->last_probe = now_ms;
			sw->st.probes++;
			send_ping(sw, &mb->id, SG_MEMB_PING, p->seq);
		}
	}
	/* Suspicion timeouts (Lifeguard 4.3); without enough failures of our
	 * own or distinct reporters the suspicion waits for more evidence.
	 * Meanwhile a suspect is probed once a period, directly (carrying the
	 * suspicion: the buddy system) and through k PING-REQs, outside the
	 * round-robin order; every unanswered round is one more failure of
	 * our own. */
	i = 0;
	while (i < sw->n_mem) {
		struct member *mb = &sw->mem[i];

		if (mb->suspect && now_ms >= mb->rp_deadline) {
			if (mb->rp_seq != 0 && mb->own_failed < 255)
				mb->own_failed++;
			mb->rp_seq = sw->seq++;
			mb->rp_deadline = now_ms + sw->cfg.probe_interval_ms;
			send_ping(sw, &mb->id, SG_MEMB_PING, mb->rp_seq);
			/* ...and through k others at once, so one bad link
			 * cannot convict a live member. */
			send_pingreqs(sw, &mb->id, mb->rp_seq);
		}

		if (mb->suspect && now_ms >= mb->suspect_deadline) {
			if (mb->own_failed >= sw->cfg.own_failures ||
			    mb->n_conf >= sw->cfg.dead_reporters) {
				declare_dead(sw, mb);
				continue;
			}
			/* Not enough evidence yet: look again after our
			 * next probe of it. */
			mb->suspect_deadline =
			    now_ms + scaled(sw, sw->cfg.probe_interval_ms);
		}
		i++;
	}
}

uint64_t sg_swim_next_deadline(const sg_swim *sw)
{
	uint64_t d;
	size_t i;

	if (sw == NULL)
		return UINT64_MAX;
	d = sw->next_probe;
	if (sw->probe.active) {
		if (!sw->probe.acked && !sw->probe.indirect &&
		    sw->probe.ack_deadline < d)
			d = sw->probe.ack_deadline;
		if (sw->probe.end < d)
			d = sw->probe.end;
	}
	for (i = 0; i < sw->n_relays; i++)
		if (sw->relays[i].deadline < d)
			d = sw->relays[i].deadline;
	for (i = 0; i < sw->n_mem; i++) {
		if (!sw->mem[i].suspect)
			continue;
		if (sw->mem[i].suspect_deadline < d)
			d = sw->mem[i].suspect_deadline;
		if (sw->mem[i].rp_deadline < d)
			d = sw->mem[i].rp_deadline;
	}
	return d;
}

size_t sg_swim_poll_tx(sg_swim *sw, sg_peer_id *to, const uint8_t **frame)
{
	if (sw == NULL || to == NULL || frame == NULL)
		return 0;
	return sg_mq_pop(&sw->tx, sw->env, to, frame);
}

int sg_swim_poll_event(sg_swim *sw, sg_swim_event *ev)
{
	if (sw == NULL || ev == NULL)
		return 0;
	return sg_evq_pop(&sw->ev, ev);
}

void sg_swim_stats_get(const sg_swim *sw, sg_swim_stats *st)
{
	if (sw == NULL || st == NULL)
		return;
	*st = sw->st;
	st->lhm = sw->lhm;
	st->incarnation = sw->inc;
	st->members = sw->n_mem;
}

int sg_swim_is_suspect(const sg_swim *sw, const sg_peer_id *peer)
{
	const struct member *mb;

	if (sw == NULL || peer == NULL)
		return 0;
	mb = find_member(sw, peer);
	return mb != NULL && mb->suspect;
}
