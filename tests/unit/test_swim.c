/*
 * SWIM/Lifeguard core driven frame by frame: probe and ack; a silent member
 * goes through PING-REQ (k = 3), suspicion and death; refutation raises the
 * incarnation; independent confirmations shorten the suspicion; dead needs
 * this node's own failed probes or k distinct reporters; "left" counts only
 * from the subject; PING-REQ relays answer with ack or Lifeguard nack; the
 * buddy system; a sender that is not the authenticated peer is dropped.
 */
#include "testutil.h"
#include "sg/err.h"
#include "sg/swim.h"

#include <string.h>

#define NP 5 /* peers: 0 is the core under test */

struct rig {
	sg_test_env t;
	sg_swim_config cfg;
	sg_swim *sw;
	sg_peer_id id[NP];
	uint64_t now;
};

static void rig_init(struct rig *r, int members)
{
	int i;

	memset(r, 0, sizeof(*r));
	sg_test_env_init(&r->t, 11, -1);
	sg_swim_config_default(&r->cfg);
	for (i = 0; i < NP; i++)
		memset(r->id[i].bytes, 0x10 * (i + 1), SG_PEER_ID_LEN);
	r->now = 1000;
	r->sw = sg_swim_new(&r->t.env, &r->cfg, &r->id[0], r->now);
	assert_non_null(r->sw);
	for (i = 1; i <= members; i++)
		assert_int_equal(sg_swim_member_add(r->sw, &r->id[i], r->now),
				 0);
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

/* Advances time in 10 ms steps; answers PINGs from the peers listed in
 * `answer` (bit i: peer i acks); returns the first event of `type` for
 * `peer` and its time in *at, or 0 at `until`. */
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
	sg_memb_msg m;
	uint64_t t_susp, t_dead;
	int to, pingreqs = 0, buddy = 0;
	(void)state;

	rig_init(&r, 4);
	/* Peer 1 never answers; the others do. */
	assert_true(
	    run_until_event(&r, 0x1c, 30000, SG_SWIM_SUSPECT, 1, &t_susp));
	sg_swim_stats_get(r.sw, &st);
	assert_true(st.lhm >= 1); /* Lifeguard: a failed probe costs health */
	/* The re-probe of a suspect carries the suspicion (buddy system). */
	r.now += r.cfg.probe_interval_ms;
	sg_swim_tick(r.sw, r.now);
	while ((to = pop(&r, &m)) >= 0) {
		if (to == 1 && m.type == SG_MEMB_PING && m.n_gossip > 0 &&
		    m.gossip[0].kind == SG_MEMB_SUSPECT &&
		    peer_index(&r, &m.gossip[0].subject) == 1)
			buddy = 1;
		if (m.type == SG_MEMB_PINGREQ)
			pingreqs++;
	}
	assert_true(buddy);
	assert_true(run_until_event(&r, 0x1c, t_susp + 20000, SG_SWIM_DEAD, 1,
				    &t_dead));
	/* No confirmations: the full suspicion timeout (Lifeguard). */
	assert_true(t_dead - t_susp >= r.cfg.suspicion_max_ms);
	assert_true(t_dead - t_susp <=
		    r.cfg.suspicion_max_ms + 2 * r.cfg.probe_interval_ms);
	sg_swim_stats_get(r.sw, &st);
	assert_int_equal(st.members, 3);
	assert_true(st.probes_failed >= 1);
	assert_true(st.indirect_sent >= 3);
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
	sg_memb_msg m;
	uint64_t t0, t_one, t_three;
	(void)state;

	/* One reporter: the full timeout (plus our own failed re-probes). */
	rig_init(&r, 4);
	gossip_msg(&m, SG_MEMB_SUSPECT, &r.id[1], 0);
	assert_int_equal(inject(&r, 2, &m), 0);
	assert_true(sg_swim_is_suspect(r.sw, &r.id[1]));
	t0 = r.now;
	assert_true(
	    run_until_event(&r, 0x1c, t0 + 20000, SG_SWIM_DEAD, 1, &t_one));
	rig_fini(&r);

	/* Three independent reporters: shorter (log-scaled) timeout. */
	rig_init(&r, 4);
	gossip_msg(&m, SG_MEMB_SUSPECT, &r.id[1], 0);
	assert_int_equal(inject(&r, 2, &m), 0);
	assert_int_equal(inject(&r, 3, &m), 0);
	assert_int_equal(inject(&r, 4, &m), 0);
	inject(&r, 3, &m); /* the same reporter again counts once */
	t0 = r.now;
	assert_true(
	    run_until_event(&r, 0x1c, t0 + 20000, SG_SWIM_DEAD, 1, &t_three));
	rig_fini(&r);
	/* One reporter plus our own failed re-probe are two confirmations
	 * (timeout 6000 - 3000 * ln 2 / ln 4 = 4500 ms); three reporters
	 * and ours reach k = 3 (the minimum, 3000 ms). */
	assert_true(t_one - t0 >= 4500);
	assert_true(t_one - t0 < r.cfg.suspicion_max_ms);
	assert_true(t_three - t0 >= r.cfg.suspicion_min_ms);
	assert_true(t_three - t0 < t_one - t0);
}

static void test_refute(void **state)
{
	struct rig r;
	sg_memb_msg m;
	sg_swim_stats st;
	int to, acked = 0, pings = 0;
	(void)state;

	rig_init(&r, 4);
	gossip_msg(&m, SG_MEMB_SUSPECT, &r.id[0], 0);
	m.seq = 5;
	assert_int_equal(inject(&r, 2, &m), 0);
	sg_swim_stats_get(r.sw, &st);
	assert_int_equal(st.incarnation, 1);
	assert_int_equal(st.refutes, 1);
	while ((to = pop(&r, &m)) >= 0) {
		size_t i;
		int alive = 0;

		for (i = 0; i < m.n_gossip; i++)
			if (m.gossip[i].kind == SG_MEMB_ALIVE &&
			    peer_index(&r, &m.gossip[i].subject) == 0 &&
			    m.gossip[i].incarnation == 1)
				alive = 1;
		assert_true(alive); /* every message carries the refutation */
		if (m.type == SG_MEMB_ACK && to == 2 && m.seq == 5)
			acked = 1;
		if (m.type == SG_MEMB_PING)
			pings++;
	}
	assert_true(acked);
	assert_int_equal(pings, 4); /* told every member directly */
	/* A stale suspicion (older incarnation) does not bump it again. */
	gossip_msg(&m, SG_MEMB_SUSPECT, &r.id[0], 0);
	assert_int_equal(inject(&r, 3, &m), 0);
	sg_swim_stats_get(r.sw, &st);
	assert_int_equal(st.incarnation, 1);
	drain(&r);
	rig_fini(&r);
}

static void test_alive_clears_suspicion(void **state)
{
	struct rig r;
	sg_memb_msg m;
	sg_swim_event ev;
	int alive_ev = 0;
	(void)state;

	rig_init(&r, 4);
	gossip_msg(&m, SG_MEMB_SUSPECT, &r.id[1], 3);
	inject(&r, 2, &m);
	assert_true(sg_swim_is_suspect(r.sw, &r.id[1]));
	gossip_msg(&m, SG_MEMB_ALIVE, &r.id[1], 3); /* same incarnation */
	inject(&r, 2, &m);
	assert_true(sg_swim_is_suspect(r.sw, &r.id[1]));
	gossip_msg(&m, SG_MEMB_ALIVE, &r.id[1], 4);
	inject(&r, 2, &m);
	assert_false(sg_swim_is_suspect(r.sw, &r.id[1]));
	while (sg_swim_poll_event(r.sw, &ev))
		if (ev.type == SG_SWIM_ALIVE && ev.incarnation == 4)
			alive_ev = 1;
	assert_true(alive_ev);
	drain(&r);
	rig_fini(&r);
}

static void test_reporters_and_left(void **state)
{
	struct rig r;
	sg_memb_msg m;
	sg_swim_event ev;
	sg_swim_stats st;
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
	/* "Left" about 2 from 3 is only a suspicion; from 2 itself, final. */
	gossip_msg(&m, SG_MEMB_LEFT, &r.id[2], 0);
	inject(&r, 3, &m);
	while (sg_swim_poll_event(r.sw, &ev))
		left |= ev.type == SG_SWIM_LEFT;
	assert_false(left);
	assert_true(sg_swim_is_suspect(r.sw, &r.id[2]));
	inject(&r, 2, &m);
	while (sg_swim_poll_event(r.sw, &ev))
		left |=
		    ev.type == SG_SWIM_LEFT && peer_index(&r, &ev.peer) == 2;
	assert_true(left);
	sg_swim_stats_get(r.sw, &st);
	assert_int_equal(st.members, 2);
	drain(&r);
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
	sg_peer_id self, p;
	sg_swim *sw;
	long budget;
	(void)state;

	memset(&self, 1, sizeof(self));
	memset(&p, 2, sizeof(p));
	sg_swim_config_default(&cfg);
	cfg.ack_timeout_ms = cfg.probe_interval_ms;
	sg_test_env_init(&t, 1, -1);
	assert_null(sg_swim_new(&t.env, &cfg, &self, 0));
	sg_swim_config_default(&cfg);
	for (budget = 0; budget < 6; budget++) {
		sg_test_env_init(&t, 1, budget);
		sw = sg_swim_new(&t.env, &cfg, &self, 0);
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
	    cmocka_unit_test(test_pingreq_fanout),
	    cmocka_unit_test(test_confirmations_shorten),
	    cmocka_unit_test(test_refute),
	    cmocka_unit_test(test_alive_clears_suspicion),
	    cmocka_unit_test(test_reporters_and_left),
	    cmocka_unit_test(test_relay),
	    cmocka_unit_test(test_sender_mismatch),
	    cmocka_unit_test(test_oom_and_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
