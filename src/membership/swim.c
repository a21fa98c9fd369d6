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
 * DESIGN section 7, third-party reports only start suspicion: a member is
 * declared dead by this node's own failed probes or by dead_reporters
 * distinct members' reports. A suspect is re-probed out of turn in short
 * rounds through many members at once (SWIM 4.1's indirect probe, widened),
 * so that own evidence is both fast and strong; a round counts only when
 * an intermediary's nack shows our own path works (Lifeguard 4.2). Alive
 * and left are claims signed by their subject (include/sg/membership.h):
 * the subject signs its refutation (SWIM 4.2) and its departure, receivers
 * verify before acting, and incarnations rise only through verified alive
 * claims, so no third party can refute a suspicion or remove a member.
 */
#include "sg/swim.h"

#include <string.h>

#include "mqueue.h"
#include "sg/err.h"

#define MAX_CONF 8

struct member {
	sg_peer_id id;
	uint64_t inc; /* the highest verified incarnation */
	uint64_t suspect_start, suspect_deadline, last_probe;
	uint64_t rp_seq, rp_deadline; /* re-probe round of a suspect */
	uint64_t claim_tx;	      /* when we last sent it our claim */
	/* own failures: proven (a relay's nack showed we hear, or there was
	 * no relay) and unproven (no nack came back) */
	uint8_t suspect, own_failed, own_silent, n_conf;
	uint8_t rp_paths, rp_nacks; /* intermediaries asked, nacks back */
	uint8_t conf[MAX_CONF][8];  /* reporters (PeerId prefixes) */
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
	const sg_identity *ident;
	sg_peer_id self;
	uint64_t inc, seq, next_probe;
	uint64_t now; /* the latest time seen */
	/* Our own signed claim (alive at inc, or left), signatures made no
	 * more often than once per probe interval (next_sign), a refutation
	 * that waits for that, and the verification budget's window. */
	sg_memb_claim claim;
	uint8_t claim_sig[SG_MLDSA65_SIG_LEN];
	int have_claim, refute_pending, leaving;
	uint64_t next_sign;
	uint64_t verify_window;
	unsigned verify_used;
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
	cfg->reprobe_ms = 500;
	cfg->reprobe_k = 8;
	cfg->lambda = 3;
	cfg->max_lhm = 4;
	cfg->suspicion_min_ms = 3000;
	cfg->suspicion_max_ms = 6000;
	cfg->dead_reporters = 3;
	cfg->own_failures = 3;
	cfg->verify_per_s = 64;
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
	if (sw->probe.active && id_eq(&sw->probe.target, &id))
		sw->probe.active = 0;
	remove_at(sw, mb);
	enqueue(sw, SG_MEMB_DEAD, &id, inc);
	emit(sw, SG_SWIM_DEAD, &id, inc);
}

/* Starts (or confirms) a suspicion of the member's current incarnation.
 * reporter NULL: our own probe failed. */
static void suspect(sg_swim *sw, struct member *mb, const sg_peer_id *reporter,
		    uint64_t now)
{
	if (!mb->suspect) {
		mb->suspect = 1;
		mb->n_conf = 0;
		mb->own_failed = 0;
		mb->own_silent = 0;
		mb->suspect_start = now;
		mb->rp_seq = 0;
		mb->rp_deadline = now; /* re-probe at once */
		sw->st.suspicions++;
		enqueue(sw, SG_MEMB_SUSPECT, &mb->id, mb->inc);
		emit(sw, SG_SWIM_SUSPECT, &mb->id, mb->inc);
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

static void clear_suspect(sg_swim *sw, struct member *mb)
{
	if (mb->suspect) {
		mb->suspect = 0;
		mb->own_failed = 0;
		mb->own_silent = 0;
		mb->n_conf = 0;
		mb->rp_seq = 0;
		emit(sw, SG_SWIM_ALIVE, &mb->id, mb->inc);
	}
}

/* Sends our current claim (alive or left) to one peer. A CLAIM carries no
 * piggybacked updates. */
static void send_claim(sg_swim *sw, const sg_peer_id *to)
{
	sg_memb_msg m;

	memset(&m, 0, sizeof(m));
	m.type = SG_MEMB_CLAIM;
	m.sender = sw->self;
	m.claim = sw->claim;
	if (sg_mq_push(&sw->tx, sw->env, to, &m) != 0)
		sw->st.tx_dropped++;
	else
		sw->st.claims_tx++;
}

/* Signs a new claim about ourselves; 0 or an SG_ERR_*. */
static int sign_claim(sg_swim *sw, uint8_t kind)
{
	uint8_t rnd[SG_MLDSA65_RND_LEN];
	int rc;

	if (sg_random(sw->env, rnd, sizeof(rnd)) != 0)
		return SG_ERR_CRYPTO;
	memset(&sw->claim, 0, sizeof(sw->claim));
	sw->claim.kind = kind;
	sw->claim.incarnation = sw->inc;
	rc = sg_memb_claim_sign(&sw->claim, sw->claim_sig, sw->ident, rnd);
	sg_wipe(rnd, sizeof(rnd));
	sw->have_claim = rc == 0;
	if (rc == 0)
		sw->st.signs++;
	sw->next_sign = sw->now + sw->cfg.probe_interval_ms;
	return rc;
}

/* SWIM 4.2: a node that hears it is suspected (or declared dead) raises
 * its incarnation and tells every member, here with an alive claim that
 * it signs (DESIGN section 7); Lifeguard counts the refutation against
 * its local health. One signature per probe interval at most: a member
 * repeating suspicions cannot make us sign at its rate. */
static void do_refute(sg_swim *sw)
{
	size_t i;

	sw->refute_pending = 0;
	sw->inc++;
	sw->st.refutes++;
	if (sw->lhm < sw->cfg.max_lhm)
		sw->lhm++;
	if (sign_claim(sw, SG_MEMB_ALIVE) != 0)
		return;
	for (i = 0; i < sw->n_mem; i++) {
		sw->mem[i].claim_tx = sw->now;
		send_claim(sw, &sw->mem[i].id);
	}
}

static void refute(sg_swim *sw, uint64_t inc, const sg_peer_id *from)
{
	struct member *mb;

	if (sw->leaving)
		return;
	if (inc < sw->inc) {
		/* A suspicion of an older incarnation: the sender missed our
		 * claim. A member gets it again, once per probe interval. */
		mb = find_member(sw, from);
		if (mb != NULL && sw->have_claim &&
		    sw->now >= mb->claim_tx + sw->cfg.probe_interval_ms) {
			mb->claim_tx = sw->now;
			send_claim(sw, from);
		}
		return;
	}
	/* A report of an incarnation above ours is a lie or a replay from
	 * an earlier life: one step above our own refutes it as well, as
	 * receivers never raise an incarnation without a signature. */
	if (sw->now < sw->next_sign)
		sw->refute_pending = 1;
	else
		do_refute(sw);
}

/* A piggybacked suspicion or death report (SWIM 4.2) from `from`. */
static void apply(sg_swim *sw, const sg_memb_gossip *g, const sg_peer_id *from,
		  uint64_t now)
{
	struct member *mb;

	if (id_eq(&g->subject, &sw->self)) {
		refute(sw, g->incarnation, from);
		return;
	}
	mb = find_member(sw, &g->subject);
	if (mb == NULL)
		return; /* not ours to judge (see DESIGN section 7) */
	/* A report about an incarnation the subject has since refuted is
	 * stale. One about a higher incarnation than we verified concerns
	 * the member as we know it: incarnations rise only by signature. */
	if (g->incarnation < mb->inc)
		return;
	suspect(sw, mb, from, now);
	if (g->kind == SG_MEMB_DEAD && mb->n_conf >= sw->cfg.dead_reporters)
		declare_dead(sw, mb);
}

/* The verification budget: verify_per_s checks per second of time. */
static int verify_budget(sg_swim *sw, uint64_t now)
{
	if (now >= sw->verify_window + 1000) {
		sw->verify_window = now;
		sw->verify_used = 0;
	}
	if (sw->verify_used >= sw->cfg.verify_per_s)
		return 0;
	sw->verify_used++;
	return 1;
}

/* A subject-signed alive or left (DESIGN section 7). Checked only when it
 * would change something: about a member, and (alive) above the
 * incarnation already verified, so a repeated claim costs nothing. */
static int on_claim(sg_swim *sw, const sg_memb_claim *c, uint64_t now)
{
	struct member *mb;
	int rc;

	sw->st.claims_rx++;
	mb =
	    id_eq(&c->subject, &sw->self) ? NULL : find_member(sw, &c->subject);
	if (mb == NULL ||
	    (c->kind == SG_MEMB_ALIVE && c->incarnation <= mb->inc) ||
	    (c->kind == SG_MEMB_LEFT && c->incarnation < mb->inc)) {
		sw->st.claims_ignored++;
		return 0;
	}
	if (!verify_budget(sw, now)) {
		sw->st.claims_dropped++;
		return SG_ERR_AGAIN;
	}
	rc = sw->cfg.verify != NULL ? sw->cfg.verify(sw->cfg.verify_ud, c)
				    : sg_memb_claim_verify(c);
	if (rc != 0) {
		sw->st.claims_forged++;
		return rc == SG_ERR_KEY ? SG_ERR_KEY : SG_ERR_VERIFY;
	}
	sw->st.claims_ok++;
	if (c->kind == SG_MEMB_LEFT) {
		sg_peer_id id = mb->id;

		if (sw->probe.active && id_eq(&sw->probe.target, &id))
			sw->probe.active = 0;
		remove_at(sw, mb);
		emit(sw, SG_SWIM_LEFT, &id, c->incarnation);
		return 0;
	}
	mb->inc = c->incarnation;
	clear_suspect(sw, mb);
	return 0;
}

sg_swim *sg_swim_new(const sg_env *env, const sg_swim_config *cfg,
		     const sg_identity *ident, uint64_t now_ms)
{
	sg_swim *sw;

	if (env == NULL || cfg == NULL || ident == NULL ||
	    cfg->size != sizeof(*cfg) || cfg->probe_interval_ms == 0 ||
	    cfg->ack_timeout_ms >= cfg->probe_interval_ms ||
	    cfg->indirect_k == 0 || cfg->indirect_k > MAX_CONF ||
	    cfg->reprobe_ms < cfg->ack_timeout_ms || cfg->reprobe_k > 255 ||
	    cfg->dead_reporters == 0 || cfg->dead_reporters > MAX_CONF ||
	    cfg->own_failures == 0 || cfg->own_failures > 255 ||
	    cfg->lambda == 0 || cfg->suspicion_min_ms == 0 ||
	    cfg->suspicion_min_ms > cfg->suspicion_max_ms ||
	    cfg->members_max == 0 || cfg->gossip_max == 0 ||
	    cfg->relays_max == 0 || cfg->max_tx == 0 || cfg->max_events == 0 ||
	    cfg->max_lhm > 64 || cfg->verify_per_s == 0)
		return NULL;
	sw = sg_calloc(env, 1, sizeof(*sw));
	if (sw == NULL)
		return NULL;
	sw->env = env;
	sw->cfg = *cfg;
	sw->ident = ident;
	sw->self = ident->id;
	sw->seq = 1;
	sw->inc = cfg->initial_incarnation;
	sw->now = now_ms;
	sw->verify_window = now_ms;
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

	if (sw == NULL || sw->leaving)
		return;
	if (now_ms > sw->now)
		sw->now = now_ms;
	sw->leaving = 1;
	if (sign_claim(sw, SG_MEMB_LEFT) != 0)
		return;
	for (i = 0; i < sw->n_mem; i++)
		send_claim(sw, &sw->mem[i].id);
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
		clear_suspect(sw, mb);
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

static void finish_probe(sg_swim *sw, uint64_t now);

static void on_indack(sg_swim *sw, const sg_memb_msg *m, uint64_t now)
{
	struct member *mb = find_member(sw, &m->target);

	if (mb != NULL && mb->suspect && mb->rp_seq != 0 &&
	    m->seq == mb->rp_seq) {
		if (m->flag) /* a re-probe answered through a relay */
			clear_suspect(sw, mb);
		else if (mb->rp_nacks < 255)
			mb->rp_nacks++;
		return;
	}
	if (!sw->probe.active || m->seq != sw->probe.seq ||
	    !id_eq(&m->target, &sw->probe.target)) {
		sw->st.rx_unexpected++;
		return;
	}
	if (m->flag) {
		sw->probe.acked = 1;
		return;
	}
	sw->probe.nacks_got++;
	/* Every intermediary reached us and none reached the target: the
	 * probe has failed, and waiting for the end of the period would
	 * only delay the suspicion. */
	if (!sw->probe.acked && sw->probe.nacks_expected > 0 &&
	    sw->probe.nacks_got >= sw->probe.nacks_expected)
		finish_probe(sw, now);
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
	if (m.type == SG_MEMB_CLAIM)
		return on_claim(sw, &m.claim, now_ms);
	/* Everything is parsed; now act. The message itself is direct
	 * evidence that its sender is alive, but SWIM clears a suspicion only
	 * by a higher incarnation (a signed claim) or by our own probe. */
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
		on_indack(sw, &m, now_ms);
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

/* PING-REQs about target to up to k members that are not suspect
 * themselves, starting at a random one; the number sent. */
static size_t send_pingreqs(sg_swim *sw, const sg_peer_id *target, uint64_t seq,
			    size_t k)
{
	size_t i, n = 0, start;
	sg_memb_msg m;

	if (sw->n_mem < 2)
		return 0;
	start = sg_mrand(sw->env, sw->n_mem);
	for (i = 0; i < sw->n_mem && n < k; i++) {
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
			clear_suspect(sw, mb);
		return;
	}
	sw->st.probes_failed++;
	/* A member we already suspect failing again says nothing new about
	 * our own health (a crashed member would otherwise slow us down). It
	 * is one more failure of our own under the rule of the re-probe
	 * rounds: only if an intermediary's nack shows we can hear. */
	if (mb != NULL && mb->suspect) {
		if (!p->indirect || p->nacks_expected == 0 || p->nacks_got > 0)
			suspect(sw, mb, NULL, now);
		else if (mb->own_silent < 255)
			mb->own_silent++;
		return;
	}
	if (sw->lhm < sw->cfg.max_lhm)
		sw->lhm++;
	if (p->indirect && p->nacks_got < p->nacks_expected) {
		sw->st.nacks_missed++;
		if (sw->lhm < sw->cfg.max_lhm)
			sw->lhm++;
	}
	if (mb != NULL)
		suspect(sw, mb, NULL, now);
}

/* One re-probe round of a suspect ends (or the first one starts): an
 * unanswered round is one more proven failure of our own if an
 * intermediary's nack shows that we can hear, or if there was nobody to
 * ask; else an unproven one, which only counts at the end of Lifeguard's
 * suspicion timeout (a node whose relays all died, or that cannot hear,
 * decides as slowly as before, never faster). Returns 1 when the member
 * was declared dead (and removed). */
static int reprobe(sg_swim *sw, struct member *mb, uint64_t now)
{
	size_t n;

	if (mb->rp_seq != 0) {
		if (mb->rp_paths == 0 || mb->rp_nacks > 0) {
			if (mb->own_failed < 255)
				mb->own_failed++;
		} else if (mb->own_silent < 255) {
			mb->own_silent++;
		}
	}
	if (mb->own_failed >= sw->cfg.own_failures) {
		declare_dead(sw, mb);
		return 1;
	}
	mb->rp_seq = sw->seq++;
	/* Not stretched by the local health: a round counts only with a
	 * nack, which is itself the proof that we hear in time. */
	mb->rp_deadline = now + sw->cfg.reprobe_ms;
	mb->rp_nacks = 0;
	/* Directly, carrying the suspicion (the buddy system), and through
	 * up to reprobe_k others at once, so one bad link cannot convict a
	 * live member. */
	send_ping(sw, &mb->id, SG_MEMB_PING, mb->rp_seq);
	n = send_pingreqs(sw, &mb->id, mb->rp_seq, sw->cfg.reprobe_k);
	mb->rp_paths = (uint8_t)n;
	return 0;
}

void sg_swim_tick(sg_swim *sw, uint64_t now_ms)
{
	size_t i;

	if (sw == NULL)
		return;
	if (now_ms > sw->now)
		sw->now = now_ms;
	if (sw->refute_pending && now_ms >= sw->next_sign)
		do_refute(sw);
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
		sw->probe.nacks_expected = send_pingreqs(
		    sw, &sw->probe.target, sw->probe.seq, sw->cfg.indirect_k);
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
	/* Suspects: re-probe rounds out of the round-robin order (own
	 * evidence, see reprobe()), and Lifeguard's suspicion timeout (4.3):
	 * at its end dead_reporters distinct reporters convict, and so do
	 * own_failures failures of our own, proven or not; with less the
	 * suspicion waits for more evidence. */
	i = 0;
	while (i < sw->n_mem) {
		struct member *mb = &sw->mem[i];

		if (mb->suspect && now_ms >= mb->rp_deadline &&
		    reprobe(sw, mb, now_ms))
			continue;
		if (mb->suspect && now_ms >= mb->suspect_deadline) {
			if (mb->n_conf >= sw->cfg.dead_reporters ||
			    (unsigned)mb->own_failed + mb->own_silent >=
				sw->cfg.own_failures) {
				declare_dead(sw, mb);
				continue;
			}
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
	if (sw->refute_pending && sw->next_sign < d)
		d = sw->next_sign;
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
