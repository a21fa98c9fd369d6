/*
 * The node's group manager (src/node/gman.h) with three members talking
 * over an in-memory group topic: create, invite and join, commits reaching
 * the others (early ones kept and applied later), group messages,
 * presence (online, goodbye, expiry), leave with the removal committed by
 * a remaining member, the state file round trip, group selectors, and
 * bad payloads refused and counted.
 */
#include "testutil.h"
#include "sg/err.h"
#include "../../src/node/gman.h"

#include <string.h>

#define T0 1800000000000ULL
#define NM 3

static sg_identity ids[NM], dave;
static sg_test_env tenv;
static const sg_env *env;

struct rec {
	int online[NM], messages, gone, removed, epochs, saves, subs, leaves;
	char last_msg[64];
	int invites, invite_status; /* INVITE events, the last one's status */
	uint64_t invite_ticket;
	size_t invite_len;
	sg_peer_id invitee;
};

static uint8_t invite_buf[NM][1 << 17]; /* the last INVITE's invite */

static sg_gman *mgr[NM];
static struct rec rec[NM];

static int who(const sg_peer_id *id)
{
	int i;
	for (i = 0; i < NM; i++)
		if (sg_peer_id_equal(id, &ids[i].id))
			return i;
	return -1;
}

static void fast(sg_gman_config *c)
{
	sg_gman_config_default(c);
	c->presence.interval_ms = 1000;
	c->presence.jitter_ms = 100;
	c->presence.validity_ms = 3000;
	c->presence.slice_ms = 10000;
	c->presence.max_validity_ms = 60000;
	c->presence.skew_ms = 2000;
	c->presence.answer_delay_ms = 100;
	c->presence.answer_gap_ms = 500;
}

static int setup(void **state)
{
	uint8_t seed[32];
	int i;
	(void)state;
	for (i = 0; i < NM; i++) {
		memset(seed, 0x31 + i, sizeof(seed));
		if (sg_identity_from_seed(&ids[i], seed) != 0)
			return -1;
	}
	memset(seed, 0xd4, sizeof(seed));
	if (sg_identity_from_seed(&dave, seed) != 0)
		return -1;
	sg_test_env_init(&tenv, 7, -1);
	env = &tenv.env;
	return 0;
}

static void start_all(void)
{
	sg_gman_config c;
	sg_addr a;
	int i;

	fast(&c);
	memset(&a, 0, sizeof(a));
	a.family = 4;
	a.ip[0] = 127;
	a.ip[3] = 1;
	memset(rec, 0, sizeof(rec));
	for (i = 0; i < NM; i++) {
		a.port = (uint16_t)(7000 + i);
		mgr[i] = sg_gman_new(env, &c, &ids[i], &a, 1);
		assert_non_null(mgr[i]);
	}
}

static void hist_free(void);

static void stop_all(void)
{
	int i;
	hist_free();
	for (i = 0; i < NM; i++) {
		sg_gman_del(mgr[i]);
		mgr[i] = NULL;
	}
}

static void events(int i)
{
	sg_gman_event ev;
	while (sg_gman_poll_event(mgr[i], &ev)) {
		int w = who(&ev.peer);
		switch (ev.type) {
		case SG_GMAN_EV_ONLINE:
			assert_true(w >= 0);
			rec[i].online[w] = 1;
			break;
		case SG_GMAN_EV_OFFLINE:
			assert_true(w >= 0);
			rec[i].online[w] = 0;
			break;
		case SG_GMAN_EV_MESSAGE:
			rec[i].messages++;
			assert_true(ev.len < sizeof(rec[i].last_msg));
			memcpy(rec[i].last_msg, ev.data, ev.len);
			rec[i].last_msg[ev.len] = '\0';
			break;
		case SG_GMAN_EV_GONE:
			rec[i].gone++;
			break;
		case SG_GMAN_EV_REMOVED:
			rec[i].removed++;
			break;
		case SG_GMAN_EV_EPOCH:
			rec[i].epochs++;
			break;
		case SG_GMAN_EV_SAVE:
			rec[i].saves++;
			break;
		case SG_GMAN_EV_SUBSCRIBE:
			rec[i].subs++;
			break;
		case SG_GMAN_EV_LEAVE_SEEN:
			rec[i].leaves++;
			break;
		case SG_GMAN_EV_INVITE:
			rec[i].invites++;
			rec[i].invite_status = ev.status;
			rec[i].invite_ticket = ev.ticket;
			rec[i].invitee = ev.peer;
			assert_true(ev.len <= sizeof(invite_buf[i]));
			if (ev.len > 0)
				memcpy(invite_buf[i], ev.data, ev.len);
			rec[i].invite_len = ev.len;
			break;
		}
	}
}

/* What was published, for a late joiner's catch-up (the node's topics
 * have it: Plumtree's summaries of recent messages). */
#define HIST_MAX 256
static struct {
	int from;
	sg_topic_id t;
	uint8_t *p;
	size_t len;
} hist[HIST_MAX];
static size_t nhist;

static void hist_free(void)
{
	while (nhist > 0)
		free(hist[--nhist].p);
}

/* Manager j gets everything published so far (repeats are no-ops). */
static void catch_up(int j, uint64_t now)
{
	size_t k;
	for (k = 0; k < nhist; k++)
		if (hist[k].from != j)
			(void)sg_gman_recv(mgr[j], &hist[k].t,
					   &ids[hist[k].from].id, hist[k].p,
					   hist[k].len, now);
	events(j);
}

/* Delivers every queued payload to every other manager (a group topic
 * that reaches everyone), until nothing is queued. skip: a manager that
 * is offline (-1: none). */
static void flush(uint64_t now, int skip)
{
	int again = 1, i, j;

	while (again) {
		again = 0;
		for (i = 0; i < NM; i++) {
			sg_topic_id t;
			const uint8_t *p;
			size_t len;
			if (mgr[i] == NULL || i == skip)
				continue;
			while ((len = sg_gman_poll_tx(mgr[i], &t, &p)) > 0) {
				again = 1;
				if (nhist < HIST_MAX) {
					hist[nhist].from = i;
					hist[nhist].t = t;
					hist[nhist].p = malloc(len);
					assert_non_null(hist[nhist].p);
					memcpy(hist[nhist].p, p, len);
					hist[nhist++].len = len;
				}
				for (j = 0; j < NM; j++)
					if (j != i && j != skip &&
					    mgr[j] != NULL)
						(void)sg_gman_recv(mgr[j], &t,
								   &ids[i].id,
								   p, len, now);
			}
			events(i);
		}
		for (i = 0; i < NM; i++)
			if (mgr[i] != NULL)
				events(i);
	}
}

static void tick_all(uint64_t now, int skip)
{
	int i;
	for (i = 0; i < NM; i++)
		if (mgr[i] != NULL && i != skip &&
		    sg_gman_next_deadline(mgr[i]) <= now)
			sg_gman_tick(mgr[i], now);
	flush(now, skip);
}

static void run(uint64_t *now, uint64_t ms, int skip)
{
	uint64_t end = *now + ms;
	while (*now < end) {
		*now += 50;
		tick_all(*now, skip);
	}
}

/* Runs until inviter i has the invite of ticket t (at most 5 s). */
static void await_invite(int i, uint64_t t, uint64_t *now)
{
	uint64_t end = *now + 5000;

	while (rec[i].invite_ticket != t && *now < end) {
		*now += 50;
		tick_all(*now, -1);
	}
	assert_true(rec[i].invite_ticket == t);
	assert_int_equal(rec[i].invite_status, 0);
	assert_true(rec[i].invite_len > 0);
}

/* inviter i invites j into group sel of i; j joins. */
static void invite(int i, int j, const char *sel, uint64_t *now)
{
	uint8_t card[SG_GROUP_CARD_LEN];
	uint64_t ticket;
	size_t idx;

	assert_int_equal(sg_group_card_make(card, sizeof(card), &ids[j], NULL),
			 SG_GROUP_CARD_LEN);
	assert_int_equal(sg_gman_find(mgr[i], sel, strlen(sel), &idx), 0);
	assert_int_equal(sg_gman_invite(mgr[i], idx, card, sizeof(card), *now,
					60000, &ticket),
			 0);
	flush(*now, -1);
	/* the invite comes once the addition has settled */
	assert_true(rec[i].invite_ticket != ticket);
	await_invite(i, ticket, now);
	assert_true(sg_peer_id_equal(&rec[i].invitee, &ids[j].id));
	assert_int_equal(sg_gman_join(mgr[j], invite_buf[i], rec[i].invite_len,
				      *now, NULL),
			 0);
	/* a second join of the same group is refused */
	assert_int_equal(sg_gman_join(mgr[j], invite_buf[i], rec[i].invite_len,
				      *now, NULL),
			 SG_ERR_EXISTS);
	flush(*now, -1);
}

static uint64_t epoch_of(int i)
{
	return sg_group_epoch(sg_gman_group(mgr[i], 0));
}

static void test_lifecycle(void **state)
{
	uint64_t now = T0;
	size_t idx;
	int i;
	sg_gman_stats st;
	(void)state;

	start_all();
	assert_int_equal(sg_gman_create(mgr[0], "team", 4, now, &idx), 0);
	assert_int_equal(sg_gman_create(mgr[0], "team", 4, now, NULL),
			 SG_ERR_EXISTS);
	flush(now, -1);
	assert_int_equal(rec[0].subs, 1);
	assert_true(rec[0].saves >= 1);
	invite(0, 1, "team", &now);
	invite(0, 2, "team", &now);
	for (i = 0; i < NM; i++) {
		assert_int_equal(sg_gman_count(mgr[i]), 1);
		assert_int_equal(epoch_of(i), 2);
		assert_int_equal(
			sg_group_member_count(sg_gman_group(mgr[i], 0)), 3);
	}
	/* bob saw carol's addition as a commit */
	assert_int_equal(rec[1].epochs, 1);

	/* a group message reaches the two others */
	assert_int_equal(sg_gman_send(mgr[1], 0, (const uint8_t *)"hello", 5),
			 0);
	flush(now, -1);
	assert_int_equal(rec[0].messages, 1);
	assert_int_equal(rec[2].messages, 1);
	assert_string_equal(rec[2].last_msg, "hello");
	assert_int_equal(rec[1].messages, 0);

	/* presence: everyone online within one interval */
	for (i = 0; i < NM; i++)
		assert_int_equal(sg_gman_presence_start(mgr[i], 0, now), 0);
	run(&now, 1000, -1);
	for (i = 0; i < NM; i++) {
		sg_presence_entry e[4];
		int j;
		assert_int_equal(sg_gman_online(mgr[i], 0, now, e, 4), 2);
		for (j = 0; j < NM; j++)
			assert_int_equal(rec[i].online[j], j != i);
	}
	/* stop says goodbye: carol offline at once */
	assert_int_equal(sg_gman_presence_stop(mgr[2], 0, now), 0);
	assert_int_equal(sg_gman_presence_stop(mgr[2], 0, now), SG_ERR_STATE);
	flush(now, -1);
	assert_int_equal(rec[0].online[2], 0);
	assert_int_equal(rec[1].online[2], 0);
	/* bob goes silent (crash): dropped after its validity */
	run(&now, 4000, 1);
	assert_int_equal(rec[0].online[1], 0);
	assert_int_equal(rec[0].online[2], 0);

	/* carol leaves: alice or bob commits her removal */
	assert_int_equal(sg_gman_leave(mgr[2], 0, now), 0);
	assert_int_equal(sg_gman_leave(mgr[2], 0, now), SG_ERR_STATE);
	run(&now, 10000, -1);
	assert_int_equal(rec[2].gone, 1);
	assert_int_equal(sg_gman_count(mgr[2]), 0);
	assert_int_equal(rec[0].leaves, 1);
	assert_int_equal(epoch_of(0), 3);
	assert_int_equal(epoch_of(1), 3);
	assert_int_equal(sg_group_member_count(sg_gman_group(mgr[0], 0)), 2);
	assert_false(sg_group_is_member(sg_gman_group(mgr[1], 0), &ids[2].id));
	sg_gman_stats_get(mgr[0], &st);
	sg_gman_stats_get(mgr[1], &st);
	{
		sg_gman_stats a, b;
		sg_gman_stats_get(mgr[0], &a);
		sg_gman_stats_get(mgr[1], &b);
		/* exactly one of the two committed it */
		assert_int_equal(a.removals_committed + b.removals_committed,
				 1);
	}
	stop_all();
}

static void test_file_roundtrip(void **state)
{
	uint64_t now = T0;
	uint8_t *buf;
	size_t bound, idx;
	long len;
	sg_gman_config c;
	sg_gman *m2;
	size_t k;
	(void)state;

	start_all();
	assert_int_equal(sg_gman_create(mgr[0], "files", 5, now, &idx), 0);
	invite(0, 1, "files", &now);
	assert_int_equal(sg_gman_presence_start(mgr[1], 0, now), 0);
	flush(now, -1);
	bound = sg_gman_export_bound(mgr[1], sg_group_id(sg_gman_group(mgr[1], 0)));
	assert_true(bound > 0);
	buf = malloc(bound);
	len = sg_gman_export(mgr[1], sg_group_id(sg_gman_group(mgr[1], 0)), buf,
			     bound);
	assert_true(len > 0);
	fast(&c);
	m2 = sg_gman_new(env, &c, &ids[1], NULL, 0);
	assert_non_null(m2);
	assert_int_equal(sg_gman_load(m2, buf, (size_t)len, now), 0);
	assert_int_equal(sg_gman_load(m2, buf, (size_t)len, now), SG_ERR_EXISTS);
	assert_int_equal(sg_gman_count(m2), 1);
	assert_int_equal(sg_gman_presence_on(m2, 0), 1);
	assert_int_equal(sg_group_epoch(sg_gman_group(m2, 0)), 1);
	/* another identity cannot load it */
	{
		sg_gman *m3 = sg_gman_new(env, &c, &ids[2], NULL, 0);
		assert_non_null(m3);
		assert_int_equal(sg_gman_load(m3, buf, (size_t)len, now),
				 SG_ERR_PERM);
		sg_gman_del(m3);
	}
	/* every truncation and a flipped byte in each position refused */
	for (k = 0; k < (size_t)len; k += 97) {
		assert_true(sg_gman_load(m2, buf, k, now) != 0);
		buf[k] ^= 0x40;
		assert_true(sg_gman_load(m2, buf, (size_t)len, now) != 0);
		buf[k] ^= 0x40;
	}
	assert_int_equal(sg_gman_count(m2), 1);
	free(buf);
	sg_gman_del(m2);
	stop_all();
}

static void test_early_commit_and_selectors(void **state)
{
	uint64_t now = T0;
	uint8_t card[SG_GROUP_CARD_LEN], *held[2];
	const uint8_t *p;
	size_t hl[2], idx;
	uint64_t ticket;
	sg_topic_id t;
	char hex[65];
	int k;
	(void)state;

	start_all();
	assert_int_equal(sg_gman_create(mgr[0], "early", 5, now, &idx), 0);
	assert_int_equal(sg_gman_create(mgr[0], "other", 5, now, NULL), 0);
	invite(0, 1, "early", &now);
	/* alice adds carol, then dave: two commits, which bob gets in
	 * reverse order (the second is kept until the first comes) */
	assert_int_equal(sg_gman_find(mgr[0], "early", 5, &idx), 0);
	for (k = 0; k < 2; k++) {
		assert_int_equal(sg_group_card_make(card, sizeof(card),
						    k == 0 ? &ids[2] : &dave,
						    NULL),
				 SG_GROUP_CARD_LEN);
		assert_int_equal(sg_gman_invite(mgr[0], idx, card,
						sizeof(card), now, 60000,
						&ticket),
				 0);
		hl[k] = sg_gman_poll_tx(mgr[0], &t, &p);
		assert_true(hl[k] > 0);
		held[k] = malloc(hl[k]);
		memcpy(held[k], p, hl[k]);
	}
	assert_int_equal(sg_gman_recv(mgr[1], &t, &ids[0].id, held[1], hl[1],
				      now),
			 0);
	assert_int_equal(epoch_of(1), 1);
	assert_int_equal(sg_gman_recv(mgr[1], &t, &ids[0].id, held[0], hl[0],
				      now),
			 0);
	assert_int_equal(epoch_of(1), 3);
	assert_int_equal(sg_group_member_count(sg_gman_group(mgr[1], 0)), 4);
	/* repeats change nothing */
	assert_int_equal(sg_gman_recv(mgr[1], &t, &ids[0].id, held[1], hl[1],
				      now),
			 0);
	assert_int_equal(epoch_of(1), 3);
	free(held[0]);
	free(held[1]);

	/* selectors: name, hex prefix, too short, unknown */
	sg_hex_encode(hex, sizeof(hex), sg_group_id(sg_gman_group(mgr[0], 0)),
		      SG_GROUP_ID_LEN);
	assert_int_equal(sg_gman_find(mgr[0], hex, 64, &idx), 0);
	assert_int_equal(idx, 0);
	assert_int_equal(sg_gman_find(mgr[0], hex, 8, &idx), 0);
	assert_int_equal(sg_gman_find(mgr[0], hex, 7, &idx), SG_ERR_NOTFOUND);
	assert_int_equal(sg_gman_find(mgr[0], "nope", 4, &idx),
			 SG_ERR_NOTFOUND);
	assert_int_equal(sg_gman_find(mgr[0], "", 0, &idx), SG_ERR_NOTFOUND);

	/* bad payloads on the group topic: refused, counted, nothing
	 * changes */
	sg_group_topic(sg_gman_group(mgr[1], 0), &t);
	{
		static const uint8_t bad[][6] = {
			{0}, {1}, {2}, {3, 0x82, 1, 2}, {1, 0x82, 9, 0},
			{1, 0xff, 0xff}, {2, 0x84, 1, 0x40, 0x40, 0x40}};
		static const size_t bl[] = {0, 1, 1, 4, 4, 3, 6};
		sg_gman_stats st;
		for (k = 0; k < 7; k++)
			assert_true(sg_gman_recv(mgr[1], &t, &ids[0].id, bad[k],
						 bl[k], now) != 0);
		sg_gman_stats_get(mgr[1], &st);
		assert_true(st.invalid + st.beacons_refused >= 6);
		assert_int_equal(epoch_of(1), 3);
	}
	/* another topic is not a group's */
	memset(&t, 0x77, sizeof(t));
	assert_int_equal(
		sg_gman_recv(mgr[1], &t, &ids[0].id, (const uint8_t *)"\1x", 2,
			     now),
		SG_ERR_NOTFOUND);
	stop_all();
}

/* Commits that arrive before the one they build on are kept and applied
 * once it comes. */
static void test_deferred_commit(void **state)
{
	uint64_t now = T0;
	uint8_t *held[2];
	size_t hl[2], idx;
	const uint8_t *p;
	sg_topic_id t;
	int k;
	(void)state;

	start_all();
	assert_int_equal(sg_gman_create(mgr[0], "order", 5, now, &idx), 0);
	invite(0, 1, "order", &now);
	invite(0, 2, "order", &now);
	/* carol leaves; alice and bob see the notice, alice (or bob)
	 * commits the removal; we intercept commits by hand */
	assert_int_equal(sg_gman_leave(mgr[2], 0, now), 0);
	flush(now, -1);
	/* let the owed removal fall due at the manager that owes it first,
	 * and hold its commit */
	for (k = 0; k < 2; k++)
		hl[k] = 0;
	now += 10000;
	for (k = 0; k < 2; k++) {
		sg_gman_tick(mgr[k], now);
		if ((hl[0] = sg_gman_poll_tx(mgr[k], &t, &p)) > 0) {
			held[0] = malloc(hl[0]);
			memcpy(held[0], p, hl[0]);
			/* the committer sends a message in the new epoch */
			assert_int_equal(
				sg_gman_send(mgr[k], 0,
					     (const uint8_t *)"after", 5),
				0);
			hl[1] = sg_gman_poll_tx(mgr[k], &t, &p);
			assert_true(hl[1] > 0);
			held[1] = malloc(hl[1]);
			memcpy(held[1], p, hl[1]);
			/* the other member gets the message first: it cannot
			 * read it yet (an epoch it has no key of) */
			assert_int_equal(
				sg_gman_recv(mgr[1 - k], &t, &ids[k].id,
					     held[1], hl[1], now),
				SG_ERR_NOTFOUND);
			assert_int_equal(sg_gman_recv(mgr[1 - k], &t,
						      &ids[k].id, held[0],
						      hl[0], now),
					 0);
			assert_int_equal(epoch_of(1 - k), epoch_of(k));
			assert_int_equal(sg_gman_recv(mgr[1 - k], &t,
						      &ids[k].id, held[1],
						      hl[1], now),
					 0);
			free(held[0]);
			free(held[1]);
			break;
		}
	}
	assert_true(hl[0] > 0);
	assert_int_equal(epoch_of(0), 3);
	assert_int_equal(epoch_of(1), 3);
	stop_all();
}

/* Two members add someone at the same time: both commits start the same
 * epoch and one wins everywhere. The loser's addition is proposed again on
 * top of the winner, and each inviter hands out its invite only once the
 * epoch with its member has settled: both invites work (before, the
 * loser's was void and its member held an epoch nobody else was in). */
static void test_invite_race(void **state)
{
	uint64_t now = T0, tk[2], end;
	uint8_t card[SG_GROUP_CARD_LEN];
	size_t idx;
	sg_gman_stats a, b;
	int joined = 0;
	(void)state;

	start_all();
	assert_int_equal(sg_gman_create(mgr[0], "race", 4, now, NULL), 0);
	invite(0, 1, "race", &now);
	now += 3000;
	tick_all(now, -1);
	/* alice adds carol while bob adds dave, before either sees the
	 * other's commit */
	assert_int_equal(sg_group_card_make(card, sizeof(card), &ids[2], NULL),
			 SG_GROUP_CARD_LEN);
	assert_int_equal(sg_gman_find(mgr[0], "race", 4, &idx), 0);
	assert_int_equal(sg_gman_invite(mgr[0], idx, card, sizeof(card), now,
					60000, &tk[0]),
			 0);
	assert_int_equal(sg_group_card_make(card, sizeof(card), &dave, NULL),
			 SG_GROUP_CARD_LEN);
	assert_int_equal(sg_gman_find(mgr[1], "race", 4, &idx), 0);
	assert_int_equal(sg_gman_invite(mgr[1], idx, card, sizeof(card), now,
					60000, &tk[1]),
			 0);
	assert_int_equal(epoch_of(0), 2);
	assert_int_equal(epoch_of(1), 2);
	flush(now, -1);
	/* carol joins as soon as her invite comes, and catches up on what
	 * the group's topic carried meanwhile */
	end = now + 10000;
	while (now < end && (rec[0].invite_ticket != tk[0] ||
			     rec[1].invite_ticket != tk[1])) {
		now += 50;
		tick_all(now, -1);
		if (!joined && rec[0].invite_ticket == tk[0]) {
			assert_int_equal(rec[0].invite_status, 0);
			assert_int_equal(sg_gman_join(mgr[2], invite_buf[0],
						      rec[0].invite_len, now,
						      NULL),
					 0);
			joined = 1;
			catch_up(2, now);
			flush(now, -1);
		}
	}
	assert_true(joined);
	assert_true(rec[1].invite_ticket == tk[1]);
	assert_int_equal(rec[1].invite_status, 0);
	assert_true(sg_peer_id_equal(&rec[1].invitee, &dave.id));
	run(&now, 3000, -1);
	sg_gman_stats_get(mgr[0], &a);
	sg_gman_stats_get(mgr[1], &b);
	assert_int_equal(a.invites_reproposed + b.invites_reproposed, 1);
	assert_int_equal(a.invites + b.invites, 3); /* bob, carol, dave */
	assert_int_equal(epoch_of(0), 3);
	assert_int_equal(epoch_of(1), 3);
	assert_int_equal(epoch_of(2), 3);
	for (idx = 0; idx < NM; idx++) {
		const sg_group *g = sg_gman_group(mgr[idx], 0);
		assert_int_equal(sg_group_member_count(g), 4);
		assert_true(sg_group_is_member(g, &ids[2].id));
		assert_true(sg_group_is_member(g, &dave.id));
	}
	/* dave's invite opens for dave only */
	{
		sg_gman_config c;
		sg_gman *dm;
		fast(&c);
		dm = sg_gman_new(env, &c, &dave, NULL, 0);
		assert_non_null(dm);
		assert_int_equal(sg_gman_join(dm, invite_buf[1],
					      rec[1].invite_len, now, NULL),
				 0);
		assert_int_equal(sg_group_epoch(sg_gman_group(dm, 0)),
				 epoch_of(0));
		sg_gman_del(dm);
	}
	stop_all();
}

static size_t addr_of(void *ud, const sg_peer_id *member, uint8_t out[19])
{
	(void)ud;
	if (!sg_peer_id_equal(member, &ids[1].id))
		return 0;
	memcpy(out, "\x04\x7f\x00\x00\x01\x1b\x59", 7); /* 127.0.0.1:7001 */
	return 7;
}

/* FOAF for a member: only members compute the target, answer, and open. */
static void test_foaf_member(void **state)
{
	uint64_t now = T0;
	uint8_t target[32], ans[256], addr[19];
	size_t idx, alen;
	sg_gman_config c;
	sg_gman *outsider;
	(void)state;

	start_all();
	assert_int_equal(sg_gman_create(mgr[0], "f", 1, now, &idx), 0);
	invite(0, 1, "f", &now);
	invite(0, 2, "f", &now);
	/* alice looks for bob; carol knows where bob is */
	assert_int_equal(sg_gman_foaf_target(mgr[0], 0, &ids[1].id, target), 0);
	alen = sg_gman_foaf_answer(mgr[2], target, addr_of, NULL, ans,
				   sizeof(ans));
	assert_true(alen > 0 && alen <= 256);
	assert_int_equal(sg_gman_foaf_open(mgr[0], 0, target, ans, alen, addr),
			 7);
	assert_memory_equal(addr, "\x04\x7f\x00\x00\x01\x1b\x59", 7);
	/* a flipped byte, or another target, does not open */
	ans[alen - 1] ^= 1;
	assert_int_equal(sg_gman_foaf_open(mgr[0], 0, target, ans, alen, addr),
			 SG_ERR_VERIFY);
	ans[alen - 1] ^= 1;
	target[0] ^= 1;
	assert_int_equal(sg_gman_foaf_open(mgr[0], 0, target, ans, alen, addr),
			 SG_ERR_VERIFY);
	/* a target that is nobody's: no answer; carol cannot place alice */
	assert_int_equal(sg_gman_foaf_answer(mgr[2], target, addr_of, NULL,
					     ans, sizeof(ans)),
			 0);
	target[0] ^= 1;
	/* an outsider (no group) answers nothing */
	fast(&c);
	outsider = sg_gman_new(env, &c, &dave, NULL, 0);
	assert_non_null(outsider);
	assert_int_equal(sg_gman_foaf_answer(outsider, target, addr_of, NULL,
					     ans, sizeof(ans)),
			 0);
	assert_int_equal(sg_gman_foaf_target(outsider, 0, &ids[1].id, target),
			 SG_ERR_NOTFOUND);
	sg_gman_del(outsider);
	stop_all();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_file_roundtrip),
		cmocka_unit_test(test_early_commit_and_selectors),
		cmocka_unit_test(test_deferred_commit),
		cmocka_unit_test(test_invite_race),
		cmocka_unit_test(test_foaf_member),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
