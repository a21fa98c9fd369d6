/*
 * SWIM/Lifeguard core driven frame by frame: probe and ack; a silent member
 * goes through PING-REQ (k = 3), suspicion and death by this node's own
 * re-probe rounds (directly and through every other member, counted at once
 * only when an intermediary's nack shows we can hear); a node that hears no
 * nack convicts only at the end of the suspicion timeout; k distinct
 * reporters with Lifeguard's shrinking
 * timeout; refutation with a signed alive claim (one signature per probe
 * interval); alive and left claims verified against the subject's key, so
 * a third party's forged alive cannot refute a suspicion and a forged left
 * cannot remove a member; the verification budget; PING-REQ relays answer
 * with ack or Lifeguard nack; the buddy system; a sender that is not the
 * authenticated peer is dropped.
 */
#include "testutil.h"
#include "sg/err.h"
#include "sg/swim.h"

#include <string.h>

#define NP 5 /* peers: 0 is the core under test */

/* Real identities: claims are verified against PeerId = hash(key). */
static sg_identity ids[NP];

struct rig {
	sg_test_env t;
	sg_swim_config cfg;
	sg_swim *sw;
	sg_peer_id id[NP];
	uint64_t now;
	uint64_t last_ping[NP]; /* run_until_event: last PING to each */
	/* run_until_event: peers answer PING-REQs as relays (ack through
	 * INDACK when the target answers, else a nack) */
	int relays;
};

static int setup_ids(void **state)
{
	uint8_t seed[SG_IDENTITY_SEED_LEN];
	int i;
	(void)state;

	for (i = 0; i < NP; i++) {
		memset(seed, 0x10 * (i + 1), sizeof(seed));
		if (sg_identity_from_seed(&ids[i], seed) != 0)
			return -1;
	}
	return 0;
}

static int teardown_ids(void **state)
{
	int i;
	(void)state;

	for (i = 0; i < NP; i++)
		sg_identity_wipe(&ids[i]);
	return 0;
}

static void rig_init_cfg(struct rig *r, int members, const sg_swim_config *c)
{
	int i;

	memset(r, 0, sizeof(*r));
	sg_test_env_init(&r->t, 11, -1);
	if (c != NULL)
		r->cfg = *c;
	else
		sg_swim_config_default(&r->cfg);
	for (i = 0; i < NP; i++)
		r->id[i] = ids[i].id;
	r->now = 1000;
	r->relays = 1;
	r->sw = sg_swim_new(&r->t.env, &r->cfg, &ids[0], r->now);
	assert_non_null(r->sw);
	for (i = 1; i <= members; i++)
		assert_int_equal(sg_swim_member_add(r->sw, &r->id[i], r->now),
				 0);
}

static void rig_init(struct rig *r, int members)
{
	rig_init_cfg(r, members, NULL);
}

static void rig_fini(struct rig *r)
{
	sg_swim_del(r->sw);
	assert_int_equal(r->t.allocs, r->t.frees);
}

static int peer_index(struct rig *r, const sg_peer_id *p)
{
	int i;

	for (i = 0; i < NP; i++)
		if (!memcmp(r->id[i].bytes, p->bytes, SG_PEER_ID_LEN))
			return i;
	return -1;
}

/* Sends a message from peer `from` into the core. */
static int inject(struct rig *r, int from, sg_memb_msg *m)
{
	uint8_t buf[SG_MEMB_MSG_MAX];
	long len;

	m->sender = r->id[from];
	len = sg_memb_encode(buf, sizeof(buf), m);
	assert_true(len > 0);
	return sg_swim_recv(r->sw, &r->id[from], buf, (size_t)len, r->now);
}

static void gossip_msg(sg_memb_msg *m, uint8_t kind, const sg_peer_id *subj,
		       uint64_t inc)
{
	memset(m, 0, sizeof(*m));
	m->type = SG_MEMB_PING;
	m->seq = 0;
	m->n_gossip = 1;
	m->gossip[0].kind = kind;
	m->gossip[0].subject = *subj;
	m->gossip[0].incarnation = inc;
}

/* Pops one frame; returns its recipient index or -1 when none. */
static int pop(struct rig *r, sg_memb_msg *m)
{
	const uint8_t *f;
	sg_peer_id to;
	size_t len = sg_swim_poll_tx(r->sw, &to, &f);

	if (len == 0)
		return -1;
	assert_int_equal(sg_memb_decode(m, f, len), 0);
	assert_memory_equal(m->sender.bytes, r->id[0].bytes, SG_PEER_ID_LEN);
	return peer_index(r, &to);
}

static void drain(struct rig *r)
{
	sg_memb_msg m;

	while (pop(r, &m) >= 0)
		;
}

/* A claim about peer `subj` signed by peer `signer` (a forgery unless
 * they are the same), presenting the key of peer `keyof`. */
static void claim_msg(sg_memb_msg *m, uint8_t sig[SG_MLDSA65_SIG_LEN],
		      uint8_t kind, int subj, uint64_t inc, int signer,
		      int keyof)
{
	uint8_t tbs[SG_MEMB_CLAIM_TBS_MAX];
	long n;

	memset(m, 0, sizeof(*m));
	m->type = SG_MEMB_CLAIM;
	m->claim.kind = kind;
	m->claim.subject = ids[subj].id;
	m->claim.incarnation = inc;
	n = sg_memb_claim_tbs(tbs, &m->claim);
	assert_true(n > 0);
	assert_int_equal(sg_mldsa65_sign(sig, tbs, (size_t)n,
					 (const uint8_t *)SG_SIGCTX_MEMB_CLAIM,
					 sizeof(SG_SIGCTX_MEMB_CLAIM) - 1,
					 ids[signer].sk, NULL),
			 0);
	m->claim.sig = sig;
	m->claim.pk = ids[keyof].pk;
}

/* Advances time in 10 ms steps; answers PINGs from the peers listed in
 * `answer` (bit i: peer i acks) and, when r->relays, PING-REQs as a relay
 * would (an INDACK: acked if the target is in `answer`, else a nack);
 * returns the first event of `type` for `peer` and its time in *at, or 0
 * at `until`. */
static int run_until_event(struct rig *r, unsigned answer, uint64_t until,
			   sg_swim_event_type type, int peer, uint64_t *at)
{
	sg_swim_event ev;
	sg_memb_msg m, a;
	int to;

	while (r->now < until) {
		r->now += 10;
		sg_swim_tick(r->sw, r->now);
		while ((to = pop(r, &m)) >= 0) {
			if (m.type == SG_MEMB_PING && to >= 0)
				r->last_ping[to] = r->now;
			if (m.type == SG_MEMB_PINGREQ && r->relays) {
				int tg = peer_index(r, &m.target);

				memset(&a, 0, sizeof(a));
				a.type = SG_MEMB_INDACK;
				a.seq = m.seq;
				a.target = m.target;
				a.flag = (uint8_t)(tg >= 0 &&
						   (answer & (1u << tg)) != 0);
				inject(r, to, &a);
				continue;
			}
			if (m.type != SG_MEMB_PING || !(answer & (1u << to)))
				continue;
			memset(&a, 0, sizeof(a));
			a.type = SG_MEMB_ACK;
			a.seq = m.seq;
			inject(r, to, &a);
		}
		while (sg_swim_poll_event(r->sw, &ev))
			if (ev.type == type &&
			    peer_index(r, &ev.peer) == peer) {
				*at = r->now;
				return 1;
			}
	}
	return 0;
}

static void test_probe_ack(void **state)
{
	struct rig r;
	sg_swim_stats st;
	uint64_t at;
	(void)state;

	rig_init(&r, 4);
	/* Everyone answers: a minute without any suspicion. */
	assert_false(run_until_event(&r, 0x1e, 61000, SG_SWIM_SUSPECT, 1, &at));
	sg_swim_stats_get(r.sw, &st);
	assert_true(st.probes >= 55);
	assert_int_equal(st.probes_failed, 0);
	assert_int_equal(st.suspicions, 0);
	assert_int_equal(st.lhm, 0);
	rig_fini(&r);
}

static void test_silent_member_dies(void **state)
{
	struct rig r;
	sg_swim_stats st;
	sg_memb_msg m, a;
	uint64_t t_susp, t_dead;
	int to, pingreqs = 0, buddy = 0;
	(void)state;

	rig_init(&r, 4);
	/* Peer 1 never answers; the others do, and relay. */
	assert_true(
	    run_until_event(&r, 0x1c, 30000, SG_SWIM_SUSPECT, 1, &t_susp));
	sg_swim_stats_get(r.sw, &st);
	assert_int_equal(st.probes_failed, 1);
	assert_true(st.lhm >= 1); /* Lifeguard: a failed probe costs health */
	/* Every intermediary nacked at once: the probe ended then, not at
	 * the end of its period. */
	assert_true(t_susp - r.last_ping[1] <= r.cfg.ack_timeout_ms + 10);
	/* The first re-probe round: directly, carrying the suspicion (the
	 * buddy system), and through every other member at once. */
	r.now += 10;
	sg_swim_tick(r.sw, r.now);
	while ((to = pop(&r, &m)) >= 0) {
		if (to == 1 && m.type == SG_MEMB_PING && m.n_gossip > 0 &&
		    m.gossip[0].kind == SG_MEMB_SUSPECT &&
		    peer_index(&r, &m.gossip[0].subject) == 1)
			buddy = 1;
		if (m.type == SG_MEMB_PINGREQ) {
			assert_int_equal(peer_index(&r, &m.target), 1);
			pingreqs++;
			memset(&a, 0, sizeof(a));
			a.type = SG_MEMB_INDACK;
			a.seq = m.seq;
			a.target = m.target;
			inject(&r, to, &a); /* a nack */
		}
	}
	assert_true(buddy);
	assert_int_equal(pingreqs, 3);
	/* Own evidence: the failed probe and two unanswered rounds. */
	assert_true(run_until_event(&r, 0x1c, t_susp + 20000, SG_SWIM_DEAD, 1,
				    &t_dead));
	assert_true(t_dead - t_susp >= 2 * r.cfg.reprobe_ms);
	assert_true(t_dead - t_susp <= 2 * r.cfg.reprobe_ms + 30);
	sg_swim_stats_get(r.sw, &st);
	assert_int_equal(st.members, 3);
	assert_int_equal(st.deaths, 1);
	rig_fini(&r);
}

/* Lifeguard: without any intermediary's nack this node may be the one
 * that cannot hear; its failed rounds convict only at the end of the
 * suspicion timeout (6 s without confirmations), not after two rounds.
 * With nacks, two rounds decide. */
static void test_no_nack_waits_for_timeout(void **state)
{
	struct rig r;
	sg_swim_stats st;
	uint64_t t_susp, t_dead;
	(void)state;

	rig_init(&r, 4);
	r.relays = 0;
	assert_true(
	    run_until_event(&r, 0x1c, 30000, SG_SWIM_SUSPECT, 1, &t_susp));
	assert_false(run_until_event(&r, 0x1c,
				     t_susp + r.cfg.suspicion_max_ms - 10,
				     SG_SWIM_DEAD, 1, &t_dead));
	assert_true(sg_swim_is_suspect(r.sw, &r.id[1]));
	assert_true(run_until_event(&r, 0x1c, t_susp + 30000, SG_SWIM_DEAD, 1,
				    &t_dead));
	assert_true(t_dead - t_susp >= r.cfg.suspicion_max_ms);
	assert_true(t_dead - t_susp <= r.cfg.suspicion_max_ms + 20);
	sg_swim_stats_get(r.sw, &st);
	assert_true(st.nacks_missed >= 1);
	rig_fini(&r);

	/* The same with nacks: the failed probe and two rounds. */
	rig_init(&r, 4);
	assert_true(
	    run_until_event(&r, 0x1c, 30000, SG_SWIM_SUSPECT, 1, &t_susp));
	assert_true(
	    run_until_event(&r, 0x1c, t_susp + 5000, SG_SWIM_DEAD, 1, &t_dead));
	assert_true(t_dead - t_susp <= 2 * r.cfg.reprobe_ms + 30);
	rig_fini(&r);
}

static void test_pingreq_fanout(void **state)
{
	struct rig r;
	sg_memb_msg m;
	int to, target = -1, n = 0, seen[NP] = {0};
	(void)state;

	rig_init(&r, 4);
	while (target < 0) {
		r.now += 10;
		sg_swim_tick(r.sw, r.now);
		while ((to = pop(&r, &m)) >= 0)
			if (m.type == SG_MEMB_PING)
				target = to;
	}
	/* No ack: after the ack timeout, k = 3 PING-REQs to the others. */
	r.now += r.cfg.ack_timeout_ms;
	sg_swim_tick(r.sw, r.now);
	while ((to = pop(&r, &m)) >= 0) {
		if (m.type != SG_MEMB_PINGREQ)
			continue;
		assert_int_not_equal(to, target);
		assert_int_equal(peer_index(&r, &m.target), target);
		assert_false(seen[to]);
		seen[to] = 1;
		n++;
	}
	assert_int_equal(n, 3);
	rig_fini(&r);
}

static void test_confirmations_shorten(void **state)
{
	struct rig r;
	sg_swim_config cfg;
	sg_memb_msg m;
	uint64_t t0, t_dead;
	(void)state;

	/* Reports alone (own evidence off: own_failures 255, and no nack
	 * reaches us, so our failed probes are no confirmation either): two
	 * distinct reporters never convict. */
	sg_swim_config_default(&cfg);
	cfg.own_failures = 255;
	rig_init_cfg(&r, 4, &cfg);
	r.relays = 0;
	gossip_msg(&m, SG_MEMB_SUSPECT, &r.id[1], 0);
	assert_int_equal(inject(&r, 2, &m), 0);
	assert_true(sg_swim_is_suspect(r.sw, &r.id[1]));
	assert_int_equal(inject(&r, 3, &m), 0);
	inject(&r, 3, &m); /* the same reporter again counts once */
	t0 = r.now;
	assert_false(
	    run_until_event(&r, 0x1c, t0 + 20000, SG_SWIM_DEAD, 1, &t_dead));
	rig_fini(&r);

	/* Three distinct reporters convict when Lifeguard's timeout ends:
	 * two confirmations beyond the first, 6000 - 3000 ln 3 / ln 4 =
	 * 3623 ms (the minimum needs k = 3 beyond the first). */
	rig_init_cfg(&r, 4, &cfg);
	r.relays = 0;
	gossip_msg(&m, SG_MEMB_SUSPECT, &r.id[1], 0);
	assert_int_equal(inject(&r, 2, &m), 0);
	assert_int_equal(inject(&r, 3, &m), 0);
	assert_int_equal(inject(&r, 4, &m), 0);
	t0 = r.now;
	assert_true(
	    run_until_event(&r, 0x1c, t0 + 20000, SG_SWIM_DEAD, 1, &t_dead));
	assert_true(t_dead - t0 >= 3623);
	assert_true(t_dead - t0 < 3623 + 30);
	rig_fini(&r);

	/* One report makes us probe the member at once, out of turn: three
	 * unanswered rounds of our own (with nacks) convict it. */
	rig_init(&r, 4);
	gossip_msg(&m, SG_MEMB_SUSPECT, &r.id[1], 0);
	assert_int_equal(inject(&r, 2, &m), 0);
	t0 = r.now;
	assert_true(
	    run_until_event(&r, 0x1c, t0 + 20000, SG_SWIM_DEAD, 1, &t_dead));
	assert_true(t_dead - t0 >= 3 * r.cfg.reprobe_ms);
	assert_true(t_dead - t0 <= 3 * r.cfg.reprobe_ms + 30);
	rig_fini(&r);
}

/* Counts the CLAIMs in the queue: each must verify, be about us, of kind
 * `kind` at incarnation `inc`; returns a bit per recipient. */
static unsigned pop_claims(struct rig *r, uint8_t kind, uint64_t inc,
			   int *acked_to, uint64_t ack_seq)
{
	sg_memb_msg m;
	unsigned to_mask = 0;
	int to;

	while ((to = pop(r, &m)) >= 0) {
		if (m.type == SG_MEMB_ACK && m.seq == ack_seq &&
		    acked_to != NULL)
			*acked_to = to;
		if (m.type != SG_MEMB_CLAIM)
			continue;
		assert_int_equal(sg_memb_claim_verify(&m.claim), 0);
		assert_int_equal(m.claim.kind, kind);
		assert_true(m.claim.incarnation == inc);
		assert_int_equal(peer_index(r, &m.claim.subject), 0);
		assert_false(to_mask & (1u << to));
		to_mask |= 1u << to;
	}
	return to_mask;
}

static void test_refute(void **state)
{
	struct rig r;
	sg_memb_msg m;
	sg_swim_stats st;
	int acked = -1;
	(void)state;

	rig_init(&r, 4);
	gossip_msg(&m, SG_MEMB_SUSPECT, &r.id[0], 0);
	m.seq = 5;
	assert_int_equal(inject(&r, 2, &m), 0);
	sg_swim_stats_get(r.sw, &st);
	assert_int_equal(st.incarnation, 1);
	assert_int_equal(st.refutes, 1);
	assert_int_equal(st.signs, 1);
	/* A signed alive at incarnation 1 to every member directly. */
	assert_int_equal(pop_claims(&r, SG_MEMB_ALIVE, 1, &acked, 5), 0x1e);
	assert_int_equal(acked, 2);
	/* A stale suspicion (older incarnation) does not bump it again;
	 * its sender missed our claim and gets it again, once per probe
	 * interval. */
	gossip_msg(&m, SG_MEMB_SUSPECT, &r.id[0], 0);
	assert_int_equal(inject(&r, 3, &m), 0);
	assert_int_equal(pop_claims(&r, SG_MEMB_ALIVE, 1, NULL, 0), 0);
	r.now += r.cfg.probe_interval_ms;
	assert_int_equal(inject(&r, 3, &m), 0);
	assert_int_equal(inject(&r, 3, &m), 0);
	assert_int_equal(pop_claims(&r, SG_MEMB_ALIVE, 1, NULL, 0), 1u << 3);
	sg_swim_stats_get(r.sw, &st);
	assert_int_equal(st.incarnation, 1);
	assert_int_equal(st.signs, 1);
	/* A suspicion of the current incarnation: refuted at 2. */
	gossip_msg(&m, SG_MEMB_SUSPECT, &r.id[0], 1);
	assert_int_equal(inject(&r, 4, &m), 0);
	assert_int_equal(pop_claims(&r, SG_MEMB_ALIVE, 2, NULL, 0), 0x1e);
	/* Another at once (or a made-up higher incarnation, here the
	 * largest) waits: one signature per probe interval, and one step. */
	gossip_msg(&m, SG_MEMB_DEAD, &r.id[0], UINT64_MAX);
	assert_int_equal(inject(&r, 4, &m), 0);
	sg_swim_stats_get(r.sw, &st);
	assert_int_equal(st.incarnation, 2);
	assert_int_equal(st.signs, 2);
	assert_int_equal(pop_claims(&r, SG_MEMB_ALIVE, 2, NULL, 0), 0);
	assert_true(sg_swim_next_deadline(r.sw) <=
		    r.now + r.cfg.probe_interval_ms);
	r.now += r.cfg.probe_interval_ms;
	sg_swim_tick(r.sw, r.now);
	sg_swim_stats_get(r.sw, &st);
	assert_int_equal(st.incarnation, 3);
	assert_int_equal(st.signs, 3);
	assert_int_equal(pop_claims(&r, SG_MEMB_ALIVE, 3, NULL, 0), 0x1e);
	rig_fini(&r);
}

/* A third party's forged alive cannot refute a suspicion; the subject's
 * own, relayed by anyone, does; repeated claims are not verified again. */
static void test_alive_claims(void **state)
{
	struct rig r;
	sg_memb_msg m;
	sg_swim_event ev;
	sg_swim_stats st;
	uint8_t sig[SG_MLDSA65_SIG_LEN];
	int alive_ev = 0;
	(void)state;

	rig_init(&r, 4);
	gossip_msg(&m, SG_MEMB_SUSPECT, &r.id[1], 3);
	inject(&r, 2, &m);
	assert_true(sg_swim_is_suspect(r.sw, &r.id[1]));
	/* Peer 2 signs "1 is alive at 4" with its own key, showing 1's. */
	claim_msg(&m, sig, SG_MEMB_ALIVE, 1, 4, 2, 1);
	assert_int_equal(inject(&r, 2, &m), SG_ERR_VERIFY);
	/* ...or its own key under 1's name. */
	claim_msg(&m, sig, SG_MEMB_ALIVE, 1, 4, 2, 2);
	assert_int_equal(inject(&r, 2, &m), SG_ERR_KEY);
	/* 1's genuine claim with one signature byte flipped. */
	claim_msg(&m, sig, SG_MEMB_ALIVE, 1, 4, 1, 1);
	sig[100] ^= 4;
	assert_int_equal(inject(&r, 2, &m), SG_ERR_VERIFY);
	assert_true(sg_swim_is_suspect(r.sw, &r.id[1]));
	sg_swim_stats_get(r.sw, &st);
	assert_int_equal(st.claims_forged, 3);
	assert_int_equal(st.claims_ok, 0);
	while (sg_swim_poll_event(r.sw, &ev))
		assert_int_not_equal(ev.type, SG_SWIM_ALIVE);
	/* The genuine claim, relayed by 2: the suspicion is refuted. */
	sig[100] ^= 4;
	assert_int_equal(inject(&r, 2, &m), 0);
	assert_false(sg_swim_is_suspect(r.sw, &r.id[1]));
	while (sg_swim_poll_event(r.sw, &ev))
		if (ev.type == SG_SWIM_ALIVE && ev.incarnation == 4)
			alive_ev = 1;
	assert_true(alive_ev);
	/* Again: not verified again (nothing to change). */
	assert_int_equal(inject(&r, 3, &m), 0);
	sg_swim_stats_get(r.sw, &st);
	assert_int_equal(st.claims_ok, 1);
	assert_int_equal(st.claims_ignored, 1);
	/* A suspicion of the refuted incarnation is stale; one of the new
	 * incarnation holds, and the old claim cannot refute it. */
	gossip_msg(&m, SG_MEMB_SUSPECT, &r.id[1], 3);
	inject(&r, 2, &m);
	assert_false(sg_swim_is_suspect(r.sw, &r.id[1]));
	gossip_msg(&m, SG_MEMB_SUSPECT, &r.id[1], 4);
	inject(&r, 2, &m);
	assert_true(sg_swim_is_suspect(r.sw, &r.id[1]));
	claim_msg(&m, sig, SG_MEMB_ALIVE, 1, 4, 1, 1);
	assert_int_equal(inject(&r, 3, &m), 0);
	assert_true(sg_swim_is_suspect(r.sw, &r.id[1]));
	/* A claim about a non-member is not ours to check. */
	claim_msg(&m, sig, SG_MEMB_ALIVE, 0, 9, 2, 0);
	assert_int_equal(inject(&r, 2, &m), 0);
	sg_swim_stats_get(r.sw, &st);
	assert_int_equal(st.claims_forged, 3);
	assert_int_equal(st.claims_ignored, 3);
	assert_int_equal(st.incarnation, 0);
	drain(&r);
	rig_fini(&r);
}

static void test_reporters_and_left(void **state)
{
	struct rig r;
	sg_memb_msg m;
	sg_swim_event ev;
	sg_swim_stats st;
	uint8_t sig[SG_MLDSA65_SIG_LEN];
	int dead = 0, left = 0;
	(void)state;

	rig_init(&r, 4);
	/* Two reporters of "dead": only a suspicion. */
	gossip_msg(&m, SG_MEMB_DEAD, &r.id[1], 0);
	inject(&r, 2, &m);
	inject(&r, 3, &m);
	while (sg_swim_poll_event(r.sw, &ev))
		dead |= ev.type == SG_SWIM_DEAD;
	assert_false(dead);
	assert_true(sg_swim_is_suspect(r.sw, &r.id[1]));
	/* The third distinct reporter: dead. */
	inject(&r, 4, &m);
	while (sg_swim_poll_event(r.sw, &ev))
		dead |=
		    ev.type == SG_SWIM_DEAD && peer_index(&r, &ev.peer) == 1;
	assert_true(dead);
	/* A "left" about 2 that 3 forged: refused, not even a suspicion. */
	claim_msg(&m, sig, SG_MEMB_LEFT, 2, 0, 3, 2);
	assert_int_equal(inject(&r, 3, &m), SG_ERR_VERIFY);
	while (sg_swim_poll_event(r.sw, &ev))
		left |= ev.type == SG_SWIM_LEFT;
	assert_false(left);
	assert_false(sg_swim_is_suspect(r.sw, &r.id[2]));
	sg_swim_stats_get(r.sw, &st);
	assert_int_equal(st.members, 3);
	assert_int_equal(st.claims_forged, 1);
	/* 2's own signed left, relayed by 3: final. */
	claim_msg(&m, sig, SG_MEMB_LEFT, 2, 0, 2, 2);
	assert_int_equal(inject(&r, 3, &m), 0);
	while (sg_swim_poll_event(r.sw, &ev))
		left |=
		    ev.type == SG_SWIM_LEFT && peer_index(&r, &ev.peer) == 2;
	assert_true(left);
	sg_swim_stats_get(r.sw, &st);
	assert_int_equal(st.members, 2);
	/* A left of an incarnation that 4 has since refuted is stale. */
	claim_msg(&m, sig, SG_MEMB_ALIVE, 4, 2, 4, 4);
	assert_int_equal(inject(&r, 4, &m), 0);
	claim_msg(&m, sig, SG_MEMB_LEFT, 4, 1, 4, 4);
	assert_int_equal(inject(&r, 3, &m), 0);
	sg_swim_stats_get(r.sw, &st);
	assert_int_equal(st.members, 2);
	drain(&r);
	rig_fini(&r);
}

/* Leaving: a signed left to every member; no refutation afterwards. */
static void test_leave(void **state)
{
	struct rig r;
	sg_memb_msg m;
	sg_swim_stats st;
	(void)state;

	rig_init(&r, 4);
	sg_swim_leave(r.sw, r.now);
	assert_int_equal(pop_claims(&r, SG_MEMB_LEFT, 0, NULL, 0), 0x1e);
	gossip_msg(&m, SG_MEMB_SUSPECT, &r.id[0], 0);
	assert_int_equal(inject(&r, 2, &m), 0);
	sg_swim_stats_get(r.sw, &st);
	assert_int_equal(st.refutes, 0);
	assert_int_equal(st.signs, 1);
	assert_int_equal(pop_claims(&r, SG_MEMB_ALIVE, 0, NULL, 0), 0);
	rig_fini(&r);
}

/* At most verify_per_s checks per second; the rest are dropped. */
static void test_verify_budget(void **state)
{
	struct rig r;
	sg_swim_config cfg;
	sg_memb_msg m;
	sg_swim_stats st;
	uint8_t sig[SG_MLDSA65_SIG_LEN];
	(void)state;

	sg_swim_config_default(&cfg);
	cfg.verify_per_s = 2;
	rig_init_cfg(&r, 4, &cfg);
	claim_msg(&m, sig, SG_MEMB_ALIVE, 1, 5, 2, 1);
	assert_int_equal(inject(&r, 2, &m), SG_ERR_VERIFY);
	assert_int_equal(inject(&r, 2, &m), SG_ERR_VERIFY);
	assert_int_equal(inject(&r, 2, &m), SG_ERR_AGAIN);
	claim_msg(&m, sig, SG_MEMB_ALIVE, 1, 5, 1, 1);
	assert_int_equal(inject(&r, 2, &m), SG_ERR_AGAIN);
	r.now += 1000;
	assert_int_equal(inject(&r, 2, &m), 0);
	sg_swim_stats_get(r.sw, &st);
	assert_int_equal(st.claims_forged, 2);
	assert_int_equal(st.claims_dropped, 2);
	assert_int_equal(st.claims_ok, 1);
	rig_fini(&r);
}

static void test_relay(void **state)
{
	struct rig r;
	sg_memb_msg m, a;
	int to, pinged = 0, answered = 0, nacked = 0;
	uint64_t myseq = 0;
	(void)state;

	rig_init(&r, 4);
	memset(&m, 0, sizeof(m));
	m.type = SG_MEMB_PINGREQ;
	m.seq = 77;
	m.target = r.id[3];
	assert_int_equal(inject(&r, 2, &m), 0);
	while ((to = pop(&r, &a)) >= 0)
		if (to == 3 && a.type == SG_MEMB_PING) {
			pinged = 1;
			myseq = a.seq;
		}
	assert_true(pinged);
	memset(&a, 0, sizeof(a));
	a.type = SG_MEMB_ACK;
	a.seq = myseq;
	inject(&r, 3, &a);
	while ((to = pop(&r, &a)) >= 0)
		if (to == 2 && a.type == SG_MEMB_INDACK && a.seq == 77 &&
		    a.flag == 1 && peer_index(&r, &a.target) == 3)
			answered = 1;
	assert_true(answered);
	/* A silent target: a nack before our ack timeout ends. */
	m.seq = 78;
	m.target = r.id[4];
	inject(&r, 2, &m);
	drain(&r);
	r.now += r.cfg.ack_timeout_ms;
	sg_swim_tick(r.sw, r.now);
	while ((to = pop(&r, &a)) >= 0)
		if (to == 2 && a.type == SG_MEMB_INDACK && a.seq == 78 &&
		    a.flag == 0)
			nacked = 1;
	assert_true(nacked);
	rig_fini(&r);
}

static void test_sender_mismatch(void **state)
{
	struct rig r;
	sg_memb_msg m;
	sg_swim_stats st;
	uint8_t buf[SG_MEMB_MSG_MAX];
	long len;
	(void)state;

	rig_init(&r, 4);
	gossip_msg(&m, SG_MEMB_DEAD, &r.id[1], 0);
	m.sender = r.id[2];
	len = sg_memb_encode(buf, sizeof(buf), &m);
	assert_int_equal(sg_swim_recv(r.sw, &r.id[3], buf, (size_t)len, r.now),
			 SG_ERR_PERM);
	assert_false(sg_swim_is_suspect(r.sw, &r.id[1]));
	assert_int_equal(pop(&r, &m), -1); /* not even an ack */
	m.type = SG_MEMB_JOIN;
	len = sg_memb_encode(buf, sizeof(buf), &m);
	assert_int_equal(sg_swim_recv(r.sw, &r.id[2], buf, (size_t)len, r.now),
			 SG_ERR_UNSUPPORTED);
	sg_swim_stats_get(r.sw, &st);
	assert_int_equal(st.rx_sender_mismatch, 1);
	assert_int_equal(st.rx_malformed, 1);
	rig_fini(&r);

	/* A probe from a non-member is answered and reported (STRANGER);
	 * one from a member is not. */
	{
		sg_swim_event ev;
		int strangers = 0;

		rig_init(&r, 3);
		memset(&m, 0, sizeof(m));
		m.type = SG_MEMB_PING;
		m.seq = 9;
		assert_int_equal(inject(&r, 2, &m), 0);
		assert_int_equal(inject(&r, 4, &m), 0);
		while (sg_swim_poll_event(r.sw, &ev)) {
			assert_int_equal(ev.type, SG_SWIM_STRANGER);
			assert_int_equal(peer_index(&r, &ev.peer), 4);
			strangers++;
		}
		assert_int_equal(strangers, 1);
		assert_int_equal(pop(&r, &m), 2);
		assert_int_equal(m.type, SG_MEMB_ACK);
		assert_int_equal(pop(&r, &m), 4);
		assert_int_equal(m.type, SG_MEMB_ACK);
		rig_fini(&r);
	}
}

static void test_oom_and_config(void **state)
{
	sg_test_env t;
	sg_swim_config cfg;
	sg_peer_id p;
	sg_swim *sw;
	long budget;
	(void)state;

	memset(&p, 2, sizeof(p));
	sg_test_env_init(&t, 1, -1);
	sg_swim_config_default(&cfg);
	cfg.ack_timeout_ms = cfg.probe_interval_ms;
	assert_null(sg_swim_new(&t.env, &cfg, &ids[0], 0));
	sg_swim_config_default(&cfg);
	cfg.reprobe_ms = cfg.ack_timeout_ms - 1;
	assert_null(sg_swim_new(&t.env, &cfg, &ids[0], 0));
	sg_swim_config_default(&cfg);
	cfg.verify_per_s = 0;
	assert_null(sg_swim_new(&t.env, &cfg, &ids[0], 0));
	sg_swim_config_default(&cfg);
	assert_null(sg_swim_new(&t.env, &cfg, NULL, 0));
	for (budget = 0; budget < 6; budget++) {
		sg_test_env_init(&t, 1, budget);
		sw = sg_swim_new(&t.env, &cfg, &ids[0], 0);
		if (sw != NULL) {
			sg_swim_member_add(sw, &p, 0);
			sg_swim_tick(sw, 5000);
			sg_swim_tick(sw, 9000);
			sg_swim_del(sw);
		}
		assert_int_equal(t.allocs, t.frees);
	}
	sg_swim_del(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_probe_ack),
	    cmocka_unit_test(test_silent_member_dies),
	    cmocka_unit_test(test_no_nack_waits_for_timeout),
	    cmocka_unit_test(test_pingreq_fanout),
	    cmocka_unit_test(test_confirmations_shorten),
	    cmocka_unit_test(test_refute),
	    cmocka_unit_test(test_alive_claims),
	    cmocka_unit_test(test_reporters_and_left),
	    cmocka_unit_test(test_leave),
	    cmocka_unit_test(test_verify_budget),
	    cmocka_unit_test(test_relay),
	    cmocka_unit_test(test_sender_mismatch),
	    cmocka_unit_test(test_oom_and_config),
	};
	return cmocka_run_group_tests(tests, setup_ids, teardown_ids);
}
