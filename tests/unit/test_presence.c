/*
 * Presence beacons and the tracker (include/sg/presence.h): round trip,
 * every flipped byte refused, replays, another group, another epoch (and
 * the grace period after a commit), expired and future beacons, members
 * only, forged signatures, slice tags that change every slice yet are
 * accepted in the adjacent slices, rate limits and bounded tables,
 * goodbyes, expiry, answers to a newcomer's HELLO, out-of-memory.
 */
#include "testutil.h"
#include "sg/err.h"
#include "sg/presence.h"
#include "sg/cbor.h"

#include <string.h>

#define T0 1800000000000ULL

static sg_identity alice, bob, carol, eve;
static sg_test_env tenv;
static const sg_env *env;

static int setup(void **state)
{
	uint8_t seed[32];
	(void)state;
	memset(seed, 0xa1, sizeof(seed));
	if (sg_identity_from_seed(&alice, seed) != 0)
		return -1;
	memset(seed, 0xb0, sizeof(seed));
	if (sg_identity_from_seed(&bob, seed) != 0)
		return -1;
	memset(seed, 0xc4, sizeof(seed));
	if (sg_identity_from_seed(&carol, seed) != 0)
		return -1;
	memset(seed, 0xe5, sizeof(seed));
	if (sg_identity_from_seed(&eve, seed) != 0)
		return -1;
	sg_test_env_init(&tenv, 99, -1);
	env = &tenv.env;
	return 0;
}

/* A group of alice, bob and carol (one object; trackers may share it). */
static sg_group *make_group(void)
{
	uint8_t cb[SG_GROUP_CARD_LEN], cc[SG_GROUP_CARD_LEN], *commit;
	const uint8_t *cards[2] = {cb, cc};
	size_t lens[2] = {SG_GROUP_CARD_LEN, SG_GROUP_CARD_LEN}, cap;
	sg_group_change ch;
	sg_group *g;

	assert_int_equal(sg_group_create(&g, env, &alice, "presence", 8), 0);
	assert_int_equal(sg_group_card_make(cb, sizeof(cb), &bob, NULL),
			 SG_GROUP_CARD_LEN);
	assert_int_equal(sg_group_card_make(cc, sizeof(cc), &carol, NULL),
			 SG_GROUP_CARD_LEN);
	memset(&ch, 0, sizeof(ch));
	ch.add_cards = cards;
	ch.add_lens = lens;
	ch.nadd = 2;
	cap = sg_group_commit_bound(g, 2);
	commit = malloc(cap);
	assert_true(sg_group_commit_encode(g, commit, cap, &alice, &ch) > 0);
	free(commit);
	return g;
}

static void rekey(sg_group *g, const sg_peer_id *remove)
{
	size_t cap = sg_group_commit_bound(g, 0);
	uint8_t *commit = malloc(cap);
	sg_group_change ch;

	memset(&ch, 0, sizeof(ch));
	ch.remove = remove;
	ch.nremove = remove != NULL;
	assert_true(sg_group_commit_encode(g, commit, cap, &alice, &ch) > 0);
	free(commit);
}

/* Seconds-scale settings, as tests and the simulator's short runs use. */
static void fast_config(sg_presence_config *c)
{
	sg_presence_config_default(c);
	c->interval_ms = 1000;
	c->jitter_ms = 100;
	c->validity_ms = 3000;
	c->slice_ms = 10000;
	c->max_validity_ms = 60000;
	c->skew_ms = 2000;
	c->epoch_grace_ms = 5000;
	c->answer_delay_ms = 200;
	c->answer_gap_ms = 1000;
	c->rate_burst = 100000;
	c->rate_refill_ms = 1;
}

static sg_addr addr4(uint8_t last, uint16_t port)
{
	sg_addr a;
	memset(&a, 0, sizeof(a));
	a.family = 4;
	a.ip[0] = 10;
	a.ip[3] = last;
	a.port = port;
	return a;
}

static long make(uint8_t *out, const sg_group *g, const sg_identity *id,
		 uint64_t seq, uint64_t now, const sg_presence_config *cfg)
{
	sg_addr a = addr4(1, 9000);
	return sg_presence_beacon_make(out, SG_PRESENCE_BEACON_MAX, g, id, &a,
				       1, seq, now, 0, cfg, env);
}

/* A beacon with every field chosen by the caller, sealed under g's
 * current keys (or the given ones), signed by signer. */
static long seal(uint8_t *out, const sg_group_keys *k,
		 const sg_identity *signer, const sg_beacon *b,
		 const sg_presence_config *cfg)
{
	uint8_t nonce[24];
	memset(nonce, 0x5a, sizeof(nonce));
	nonce[0] = (uint8_t)b->seq;
	return sg_presence_beacon_seal(out, SG_PRESENCE_BEACON_MAX, k, signer,
				       b, cfg->slice_ms, nonce, NULL);
}

static void base_beacon(sg_beacon *b, const sg_group *g,
			const sg_identity *who, uint64_t seq, uint64_t now,
			const sg_presence_config *cfg)
{
	memset(b, 0, sizeof(*b));
	memcpy(b->group_id, sg_group_id(g), SG_GROUP_ID_LEN);
	b->epoch = sg_group_epoch(g);
	b->member = who->id;
	b->seq = seq;
	b->issue_ms = now;
	b->expires_ms = now + cfg->validity_ms;
}

static int contains(const uint8_t *hay, size_t n, const uint8_t *needle,
		    size_t k)
{
	size_t i;
	for (i = 0; i + k <= n; i++)
		if (memcmp(hay + i, needle, k) == 0)
			return 1;
	return 0;
}

static void test_round_trip(void **state)
{
	sg_presence_config cfg;
	sg_presence *pa, *pb;
	sg_presence_entry e[4];
	sg_presence_event ev;
	sg_presence_stats st;
	sg_group_keys k;
	sg_addr addrs[2];
	uint8_t copy[SG_PRESENCE_BEACON_MAX], tag[16], want[16];
	const uint8_t *bcn;
	uint64_t dl;
	size_t n;
	sg_group *g = make_group();
	(void)state;

	fast_config(&cfg);
	pa = sg_presence_new(env, &cfg, g, &alice.id);
	pb = sg_presence_new(env, &cfg, g, &bob.id);
	assert_non_null(pa);
	assert_non_null(pb);
	addrs[0] = addr4(1, 9000);
	addrs[1].family = 6;
	memset(addrs[1].ip, 0, 16);
	addrs[1].ip[15] = 1;
	addrs[1].port = 9001;
	assert_int_equal(sg_presence_start(pa, &bob, addrs, 2, T0),
			 SG_ERR_INVAL);
	assert_int_equal(sg_presence_start(pa, &alice, addrs, 2, T0), 0);
	assert_int_equal(sg_presence_next_deadline(pa), T0);
	sg_presence_tick(pa, T0);
	n = sg_presence_poll_tx(pa, &bcn);
	assert_true(n > 0 && n <= SG_PRESENCE_BEACON_MAX);
	memcpy(copy, bcn, n);
	assert_int_equal(sg_presence_poll_tx(pa, &bcn), 0);
	/* The next beacon within [interval - jitter, interval]. */
	dl = sg_presence_next_deadline(pa);
	assert_true(dl >= T0 + 900 && dl <= T0 + 1000);
	/* The envelope's tag is the slice's; the PeerId is not in clear. */
	assert_int_equal(sg_presence_beacon_peek(tag, copy, n), 0);
	assert_int_equal(sg_group_keys_get(g, 0, &k), 0);
	sg_presence_tag(want, k.tag_key, T0 / cfg.slice_ms);
	assert_memory_equal(tag, want, 16);
	assert_false(contains(copy, n, alice.id.bytes, 8));

	assert_int_equal(sg_presence_recv(pb, copy, n, &alice.id, T0 + 30), 0);
	assert_int_equal(sg_presence_poll_event(pb, &ev), 1);
	assert_int_equal(ev.type, SG_PRESENCE_ONLINE);
	assert_true(sg_peer_id_equal(&ev.member, &alice.id));
	assert_int_equal(sg_presence_poll_event(pb, &ev), 0);
	assert_int_equal(sg_presence_online(pb, T0 + 30, e, 4), 1);
	assert_true(sg_peer_id_equal(&e[0].member, &alice.id));
	assert_int_equal(e[0].naddrs, 2);
	assert_int_equal(e[0].addrs[1].port, 9001);
	assert_int_equal(e[0].addrs[1].family, 6);
	assert_int_equal(e[0].last_seen_ms, T0 + 30);
	assert_int_equal(e[0].issue_ms, T0);
	assert_int_equal(e[0].expires_ms, T0 + cfg.validity_ms);
	assert_true(e[0].seq >= T0); /* seq = max(last + 1, now) */
	assert_true(sg_presence_is_online(pb, &alice.id, T0 + 30));
	assert_false(sg_presence_is_online(pb, &carol.id, T0 + 30));
	/* Our own beacon coming back is not listed. */
	assert_int_equal(sg_presence_recv(pa, copy, n, &bob.id, T0 + 30),
			 SG_ERR_EXISTS);
	assert_int_equal(sg_presence_online(pa, T0 + 30, e, 4), 0);
	/* The second beacon: no HELLO, higher seq, accepted. */
	sg_presence_tick(pa, dl);
	n = sg_presence_poll_tx(pa, &bcn);
	assert_true(n > 0);
	assert_int_equal(sg_presence_recv(pb, bcn, n, &alice.id, dl + 10), 0);
	assert_int_equal(sg_presence_online(pb, dl + 10, e, 4), 1);
	assert_true(e[0].seq > T0);
	sg_presence_stats_get(pb, &st);
	assert_int_equal(st.accepted, 2);
	assert_int_equal(st.online, 1);
	assert_int_equal(st.members, 3);
	sg_presence_stats_get(pa, &st);
	assert_int_equal(st.beacons_sent, 2);
	assert_int_equal(st.own, 1);
	sg_presence_del(pa);
	sg_presence_del(pb);
	sg_presence_del(NULL);
	sg_group_del(g);
}

static void test_tamper(void **state)
{
	sg_presence_config cfg;
	uint8_t good[SG_PRESENCE_BEACON_MAX], bad[SG_PRESENCE_BEACON_MAX];
	sg_presence_stats st;
	sg_presence *pb;
	long n;
	size_t i;
	sg_group *g = make_group();
	(void)state;

	fast_config(&cfg);
	pb = sg_presence_new(env, &cfg, g, &bob.id);
	n = make(good, g, &alice, 5, T0, &cfg);
	assert_true(n > 0);
	for (i = 0; i < (size_t)n; i++) {
		memcpy(bad, good, (size_t)n);
		bad[i] ^= 0x40;
		assert_int_not_equal(sg_presence_recv(pb, bad, (size_t)n,
						      &alice.id, T0),
				     0);
	}
	for (i = 0; i < (size_t)n; i++)
		assert_int_not_equal(sg_presence_recv(pb, good, i, &alice.id,
						      T0),
				     0);
	/* Nothing changed: the untouched beacon is still accepted. */
	assert_int_equal(sg_presence_online(pb, T0, NULL, 0), 0);
	assert_int_equal(sg_presence_recv(pb, good, (size_t)n, &alice.id, T0),
			 0);
	sg_presence_stats_get(pb, &st);
	assert_int_equal(st.accepted, 1);
	assert_int_equal(st.received, 2 * (uint64_t)n + 1);
	assert_int_equal(st.malformed + st.unknown_tag + st.bad_aead,
			 2 * (uint64_t)n);
	sg_presence_del(pb);
	sg_group_del(g);
}

static void test_replay(void **state)
{
	sg_presence_config cfg;
	uint8_t b1[SG_PRESENCE_BEACON_MAX], b2[SG_PRESENCE_BEACON_MAX];
	sg_presence *pb;
	long n1, n2;
	sg_group *g = make_group();
	(void)state;

	fast_config(&cfg);
	pb = sg_presence_new(env, &cfg, g, &bob.id);
	n1 = make(b1, g, &alice, 10, T0, &cfg);
	n2 = make(b2, g, &alice, 11, T0 + 100, &cfg);
	assert_int_equal(sg_presence_recv(pb, b2, (size_t)n2, &alice.id,
					  T0 + 100),
			 0);
	/* The same beacon again, and an older one: replays. */
	assert_int_equal(sg_presence_recv(pb, b2, (size_t)n2, &carol.id,
					  T0 + 200),
			 SG_ERR_REPLAY);
	assert_int_equal(sg_presence_recv(pb, b1, (size_t)n1, &alice.id,
					  T0 + 200),
			 SG_ERR_REPLAY);
	/* A member's sequence survives its entry's expiry: a still-valid
	 * old beacon cannot bring it back. */
	n1 = make(b1, g, &alice, 12, T0 + 200, &cfg);
	assert_int_equal(sg_presence_recv(pb, b1, (size_t)n1, &alice.id,
					  T0 + 200),
			 0);
	n2 = make(b2, g, &alice, 13, T0 + 300, &cfg);
	assert_int_equal(sg_presence_recv(pb, b2, (size_t)n2, &alice.id,
					  T0 + 300),
			 0);
	assert_int_equal(sg_presence_recv(pb, b1, (size_t)n1, &alice.id,
					  T0 + 400),
			 SG_ERR_REPLAY);
	sg_presence_del(pb);
	sg_group_del(g);
}

static void test_wrong_group_epoch(void **state)
{
	sg_presence_config cfg;
	uint8_t b[SG_PRESENCE_BEACON_MAX];
	sg_presence *pb;
	sg_group_keys k;
	sg_beacon bc;
	sg_group *g = make_group(), *h;
	sg_presence_stats st;
	long n;
	(void)state;

	fast_config(&cfg);
	pb = sg_presence_new(env, &cfg, g, &bob.id);
	/* Another group (Alice is a member there too). */
	assert_int_equal(sg_group_create(&h, env, &alice, "other", 5), 0);
	n = make(b, h, &alice, 1, T0, &cfg);
	assert_int_equal(sg_presence_recv(pb, b, (size_t)n, &alice.id, T0),
			 SG_ERR_NOTFOUND);
	/* Sealed under our keys, but signed for another group or epoch:
	 * the signature covers them, the envelope must match. */
	assert_int_equal(sg_group_keys_get(g, 0, &k), 0);
	base_beacon(&bc, g, &alice, 2, T0, &cfg);
	memcpy(bc.group_id, sg_group_id(h), 32);
	n = seal(b, &k, &alice, &bc, &cfg);
	assert_int_equal(sg_presence_recv(pb, b, (size_t)n, &alice.id, T0),
			 SG_ERR_VERIFY);
	base_beacon(&bc, g, &alice, 3, T0, &cfg);
	bc.epoch++;
	n = seal(b, &k, &alice, &bc, &cfg);
	assert_int_equal(sg_presence_recv(pb, b, (size_t)n, &alice.id, T0),
			 SG_ERR_VERIFY);
	sg_presence_stats_get(pb, &st);
	assert_int_equal(st.wrong_group, 2);
	/* A beacon of epoch 1; then the group moves to epoch 2. */
	n = make(b, g, &alice, 4, T0, &cfg);
	assert_int_equal(sg_presence_recv(pb, b, (size_t)n, &alice.id, T0), 0);
	n = make(b, g, &alice, 5, T0 + 10, &cfg);
	rekey(g, NULL);
	/* Within the grace period the old epoch is still accepted... */
	assert_int_equal(sg_presence_recv(pb, b, (size_t)n, &alice.id,
					  T0 + 20),
			 0);
	/* ...after it, not (its tag is no longer one of ours). */
	n = make(b, g, &alice, 6, T0 + 5100, &cfg); /* epoch 2 */
	{
		uint8_t old[SG_PRESENCE_BEACON_MAX];
		long m;
		sg_group_keys k1 = k; /* epoch 1 keys */
		base_beacon(&bc, g, &alice, 7, T0 + 5100, &cfg);
		bc.epoch = k1.epoch;
		m = seal(old, &k1, &alice, &bc, &cfg);
		assert_int_equal(sg_presence_recv(pb, old, (size_t)m,
						  &alice.id, T0 + 5100),
				 SG_ERR_NOTFOUND);
	}
	assert_int_equal(sg_presence_recv(pb, b, (size_t)n, &alice.id,
					  T0 + 5100),
			 0);
	sg_presence_del(pb);
	sg_group_del(h);
	sg_group_del(g);
}

static void test_time(void **state)
{
	sg_presence_config cfg;
	uint8_t b[SG_PRESENCE_BEACON_MAX];
	sg_presence *pb;
	sg_group_keys k;
	sg_beacon bc;
	long n;
	sg_group *g = make_group();
	(void)state;

	fast_config(&cfg);
	pb = sg_presence_new(env, &cfg, g, &bob.id);
	assert_int_equal(sg_group_keys_get(g, 0, &k), 0);
	/* Expired on arrival. */
	n = make(b, g, &alice, 1, T0, &cfg);
	assert_int_equal(sg_presence_recv(pb, b, (size_t)n, &alice.id,
					  T0 + cfg.validity_ms + 1),
			 SG_ERR_EXPIRED);
	/* From further in the future than the skew allows. */
	n = make(b, g, &alice, 2, T0 + cfg.skew_ms + 1, &cfg);
	assert_int_equal(sg_presence_recv(pb, b, (size_t)n, &alice.id, T0),
			 SG_ERR_EXPIRED);
	/* Within the skew. */
	n = make(b, g, &alice, 3, T0 + cfg.skew_ms, &cfg);
	assert_int_equal(sg_presence_recv(pb, b, (size_t)n, &alice.id, T0), 0);
	/* A validity above the maximum. */
	base_beacon(&bc, g, &alice, 4, T0, &cfg);
	bc.expires_ms = T0 + cfg.max_validity_ms + 1;
	n = seal(b, &k, &alice, &bc, &cfg);
	assert_int_equal(sg_presence_recv(pb, b, (size_t)n, &alice.id, T0),
			 SG_ERR_RANGE);
	/* Expires before it is issued: refused when built, and when read. */
	base_beacon(&bc, g, &alice, 5, T0, &cfg);
	bc.expires_ms = T0 - 1;
	assert_int_equal(seal(b, &k, &alice, &bc, &cfg), SG_ERR_RANGE);
	sg_presence_del(pb);
	sg_group_del(g);
}

static void test_members_only(void **state)
{
	sg_presence_config cfg;
	uint8_t b[SG_PRESENCE_BEACON_MAX];
	sg_presence *pb;
	sg_presence_event ev;
	sg_group_keys k;
	sg_beacon bc;
	long n;
	sg_group *g = make_group();
	(void)state;

	fast_config(&cfg);
	pb = sg_presence_new(env, &cfg, g, &bob.id);
	assert_int_equal(sg_group_keys_get(g, 0, &k), 0);
	/* Eve holds the keys (say, leaked) but is not in the roster. */
	base_beacon(&bc, g, &eve, 1, T0, &cfg);
	n = seal(b, &k, &eve, &bc, &cfg);
	assert_int_equal(sg_presence_recv(pb, b, (size_t)n, &eve.id, T0),
			 SG_ERR_PERM);
	assert_int_equal(sg_presence_beacon_make(b, sizeof(b), g, &eve, NULL,
						 0, 1, T0, 0, &cfg, env),
			 SG_ERR_PERM);
	/* Forged: Eve, then Carol (a member), sign as Alice. */
	base_beacon(&bc, g, &alice, 2, T0, &cfg);
	n = seal(b, &k, &eve, &bc, &cfg);
	assert_int_equal(sg_presence_recv(pb, b, (size_t)n, &eve.id, T0),
			 SG_ERR_VERIFY);
	n = seal(b, &k, &carol, &bc, &cfg);
	assert_int_equal(sg_presence_recv(pb, b, (size_t)n, &carol.id, T0),
			 SG_ERR_VERIFY);
	/* A forged beacon did not burn Alice's sequence number. */
	n = seal(b, &k, &alice, &bc, &cfg);
	assert_int_equal(sg_presence_recv(pb, b, (size_t)n, &alice.id, T0), 0);
	/* Carol online, then removed: dropped at once (OFFLINE), and her
	 * beacons under the old keys (grace period) are refused. */
	n = make(b, g, &carol, 3, T0, &cfg);
	assert_int_equal(sg_presence_recv(pb, b, (size_t)n, &carol.id, T0), 0);
	while (sg_presence_poll_event(pb, &ev))
		;
	n = make(b, g, &carol, 4, T0 + 10, &cfg);
	rekey(g, &carol.id);
	assert_int_equal(sg_presence_online(pb, T0 + 20, NULL, 0), 1);
	assert_int_equal(sg_presence_poll_event(pb, &ev), 1);
	assert_int_equal(ev.type, SG_PRESENCE_OFFLINE);
	assert_true(sg_peer_id_equal(&ev.member, &carol.id));
	assert_int_equal(sg_presence_recv(pb, b, (size_t)n, &carol.id, T0 + 20),
			 SG_ERR_PERM);
	/* Alice, still a member, stayed listed across the epoch change. */
	assert_true(sg_presence_is_online(pb, &alice.id, T0 + 20));
	sg_presence_del(pb);
	sg_group_del(g);
}

static void test_slices(void **state)
{
	sg_presence_config cfg;
	uint8_t b[SG_PRESENCE_BEACON_MAX], t1[16], t2[16], t3[16];
	sg_presence *pb;
	sg_group_keys k, kh;
	sg_group *g = make_group(), *h;
	uint64_t s;
	long n;
	(void)state;

	fast_config(&cfg);
	cfg.slice_ms = 1000;
	pb = sg_presence_new(env, &cfg, g, &bob.id);
	assert_int_equal(sg_group_create(&h, env, &alice, "other", 5), 0);
	assert_int_equal(sg_group_keys_get(g, 0, &k), 0);
	assert_int_equal(sg_group_keys_get(h, 0, &kh), 0);
	s = T0 / cfg.slice_ms;
	/* Tags change every slice and differ between groups. */
	sg_presence_tag(t1, k.tag_key, s);
	sg_presence_tag(t2, k.tag_key, s + 1);
	sg_presence_tag(t3, kh.tag_key, s);
	assert_memory_not_equal(t1, t2, 16);
	assert_memory_not_equal(t1, t3, 16);
	/* Two of Alice's beacons in different slices carry different tags;
	 * Alice's and Carol's in one slice the same (the group's). */
	n = make(b, g, &alice, 1, s * 1000 + 900, &cfg);
	assert_int_equal(sg_presence_beacon_peek(t2, b, (size_t)n), 0);
	assert_memory_equal(t1, t2, 16);
	n = make(b, g, &alice, 2, (s + 1) * 1000 + 10, &cfg);
	assert_int_equal(sg_presence_beacon_peek(t2, b, (size_t)n), 0);
	assert_memory_not_equal(t1, t2, 16);
	n = make(b, g, &carol, 1, s * 1000 + 10, &cfg);
	assert_int_equal(sg_presence_beacon_peek(t2, b, (size_t)n), 0);
	assert_memory_equal(t1, t2, 16);
	/* Accepted in its slice and the adjacent ones... */
	n = make(b, g, &alice, 3, s * 1000 + 900, &cfg);
	assert_int_equal(sg_presence_recv(pb, b, (size_t)n, &alice.id,
					  (s + 1) * 1000 + 100),
			 0);
	n = make(b, g, &alice, 4, (s + 2) * 1000 + 10, &cfg); /* clock ahead */
	assert_int_equal(sg_presence_recv(pb, b, (size_t)n, &alice.id,
					  (s + 1) * 1000 + 990),
			 0);
	n = make(b, g, &alice, 5, (s + 2) * 1000 + 20, &cfg);
	assert_int_equal(sg_presence_recv(pb, b, (size_t)n, &alice.id,
					  (s + 2) * 1000 + 30),
			 0);
	/* ...not two slices away, though still within its validity. */
	n = make(b, g, &alice, 6, (s + 2) * 1000 + 900, &cfg);
	assert_int_equal(sg_presence_recv(pb, b, (size_t)n, &alice.id,
					  (s + 4) * 1000 + 10),
			 SG_ERR_NOTFOUND);
	sg_presence_del(pb);
	sg_group_del(h);
	sg_group_del(g);
}

static void test_rate_limit(void **state)
{
	sg_presence_config cfg;
	uint8_t b[SG_PRESENCE_BEACON_MAX];
	sg_presence *pb;
	sg_presence_stats st;
	sg_peer_id x, y, z;
	long n;
	int i;
	sg_group *g = make_group();
	(void)state;

	fast_config(&cfg);
	cfg.rate_burst = 5;
	cfg.rate_refill_ms = 1000;
	cfg.max_senders = 2;
	pb = sg_presence_new(env, &cfg, g, &bob.id);
	memset(&x, 1, sizeof(x));
	memset(&y, 2, sizeof(y));
	memset(&z, 3, sizeof(z));
	n = make(b, g, &alice, 1, T0, &cfg);
	/* Neighbour x forwards garbage and copies: 5 pass the bucket. */
	for (i = 0; i < 5; i++)
		assert_int_not_equal(sg_presence_recv(pb, b, 3, &x, T0),
				     SG_ERR_AGAIN);
	assert_int_equal(sg_presence_recv(pb, b, (size_t)n, &x, T0),
			 SG_ERR_AGAIN);
	/* Another neighbour is not affected. */
	assert_int_equal(sg_presence_recv(pb, b, (size_t)n, &y, T0), 0);
	/* One more for x after one refill period. */
	n = make(b, g, &alice, 2, T0 + 1000, &cfg);
	assert_int_equal(sg_presence_recv(pb, b, (size_t)n, &x, T0 + 1000), 0);
	assert_int_equal(sg_presence_recv(pb, b, 3, &x, T0 + 1000),
			 SG_ERR_AGAIN);
	/* The table holds two senders: a third replaces the least recent. */
	(void)sg_presence_recv(pb, b, 3, &z, T0 + 1000);
	sg_presence_stats_get(pb, &st);
	assert_int_equal(st.senders_evicted, 1);
	assert_int_equal(st.rate_limited, 2);
	sg_presence_del(pb);
	sg_group_del(g);
}

static void test_goodbye_expiry_events(void **state)
{
	sg_presence_config cfg;
	sg_presence *pa, *pb;
	sg_presence_event ev;
	sg_presence_stats st;
	const uint8_t *bcn;
	uint8_t b[SG_PRESENCE_BEACON_MAX];
	size_t n;
	long m;
	sg_group *g = make_group();
	(void)state;

	fast_config(&cfg);
	cfg.max_events = 2;
	pa = sg_presence_new(env, &cfg, g, &alice.id);
	pb = sg_presence_new(env, &cfg, g, &bob.id);
	assert_int_equal(sg_presence_stop(pa, T0), SG_ERR_STATE);
	assert_int_equal(sg_presence_start(pa, &alice, NULL, 0, T0), 0);
	sg_presence_tick(pa, T0);
	n = sg_presence_poll_tx(pa, &bcn);
	assert_int_equal(sg_presence_recv(pb, bcn, n, &alice.id, T0), 0);
	/* Expiry: listed until expires_ms, dropped after, with an event. */
	assert_int_equal(sg_presence_next_deadline(pb),
			 T0 + cfg.validity_ms + 1);
	assert_int_equal(sg_presence_online(pb, T0 + cfg.validity_ms, NULL, 0),
			 1);
	assert_int_equal(sg_presence_poll_event(pb, &ev), 1);
	assert_int_equal(ev.type, SG_PRESENCE_ONLINE);
	sg_presence_tick(pb, T0 + cfg.validity_ms + 1);
	assert_int_equal(sg_presence_online(pb, T0 + cfg.validity_ms + 1, NULL,
					    0),
			 0);
	assert_int_equal(sg_presence_poll_event(pb, &ev), 1);
	assert_int_equal(ev.type, SG_PRESENCE_OFFLINE);
	assert_int_equal(sg_presence_next_deadline(pb), UINT64_MAX);
	/* Back, then a goodbye: dropped at once. */
	sg_presence_tick(pa, T0 + 5000);
	n = sg_presence_poll_tx(pa, &bcn);
	assert_int_equal(sg_presence_recv(pb, bcn, n, &alice.id, T0 + 5000), 0);
	assert_int_equal(sg_presence_stop(pa, T0 + 5001), 0);
	n = sg_presence_poll_tx(pa, &bcn);
	assert_true(n > 0);
	assert_int_equal(sg_presence_recv(pb, bcn, n, &alice.id, T0 + 5002), 0);
	assert_false(sg_presence_is_online(pb, &alice.id, T0 + 5002));
	assert_int_equal(sg_presence_next_deadline(pa), UINT64_MAX);
	/* Events beyond the queue's bound are dropped and counted. */
	m = make(b, g, &carol, 1, T0 + 5003, &cfg);
	assert_int_equal(sg_presence_recv(pb, b, (size_t)m, &carol.id,
					  T0 + 5003),
			 0);
	sg_presence_stats_get(pb, &st);
	assert_int_equal(st.goodbyes, 1);
	assert_int_equal(st.events_dropped, 1);
	sg_presence_del(pa);
	sg_presence_del(pb);
	sg_group_del(g);
}

static void test_hello_answer(void **state)
{
	sg_presence_config cfg;
	sg_presence *pa, *pb;
	sg_presence_stats st;
	const uint8_t *bcn;
	uint64_t dl, before;
	size_t n;
	sg_group *g = make_group();
	(void)state;

	fast_config(&cfg);
	cfg.interval_ms = 60000;
	cfg.jitter_ms = 0;
	cfg.validity_ms = 150000;
	cfg.max_validity_ms = 600000;
	cfg.slice_ms = 600000;
	cfg.answer_gap_ms = 10000;
	pa = sg_presence_new(env, &cfg, g, &alice.id);
	pb = sg_presence_new(env, &cfg, g, &bob.id);
	/* Bob has been online for a while. */
	assert_int_equal(sg_presence_start(pb, &bob, NULL, 0, T0), 0);
	sg_presence_tick(pb, T0);
	(void)sg_presence_poll_tx(pb, &bcn);
	before = sg_presence_next_deadline(pb);
	assert_int_equal(before, T0 + 60000);
	/* Alice comes online: her first beacon says HELLO... */
	assert_int_equal(sg_presence_start(pa, &alice, NULL, 0, T0 + 1000), 0);
	sg_presence_tick(pa, T0 + 1000);
	n = sg_presence_poll_tx(pa, &bcn);
	assert_int_equal(sg_presence_recv(pb, bcn, n, &alice.id, T0 + 1010), 0);
	/* ...so Bob answers within answer_delay, not a minute later. */
	dl = sg_presence_next_deadline(pb);
	assert_true(dl >= T0 + 1010 && dl <= T0 + 1010 + cfg.answer_delay_ms);
	sg_presence_tick(pb, dl);
	n = sg_presence_poll_tx(pb, &bcn);
	assert_true(n > 0);
	assert_int_equal(sg_presence_recv(pa, bcn, n, &bob.id, dl + 10), 0);
	assert_true(sg_presence_is_online(pa, &bob.id, dl + 10));
	assert_int_equal(sg_presence_next_deadline(pb), dl + 60000);
	/* A second HELLO within the answer gap is not answered. */
	assert_int_equal(sg_presence_stop(pa, dl + 20), 0);
	(void)sg_presence_poll_tx(pa, &bcn);
	assert_int_equal(sg_presence_start(pa, &alice, NULL, 0, dl + 30), 0);
	sg_presence_tick(pa, dl + 30);
	n = sg_presence_poll_tx(pa, &bcn);
	assert_int_equal(sg_presence_recv(pb, bcn, n, &alice.id, dl + 40), 0);
	assert_int_equal(sg_presence_next_deadline(pb), dl + 60000);
	sg_presence_stats_get(pb, &st);
	assert_int_equal(st.answers, 1);
	sg_presence_del(pa);
	sg_presence_del(pb);
	sg_group_del(g);
}

static void test_config_and_oom(void **state)
{
	sg_presence_config cfg;
	sg_test_env t;
	sg_presence *p;
	long budget;
	sg_group *g = make_group();
	(void)state;

	sg_presence_config_default(&cfg);
	assert_int_equal(cfg.interval_ms, 300000);
	assert_int_equal(cfg.validity_ms, 720000);
	cfg.size = 1;
	assert_null(sg_presence_new(env, &cfg, g, &bob.id));
	sg_presence_config_default(&cfg);
	cfg.slice_ms = 0;
	assert_null(sg_presence_new(env, &cfg, g, &bob.id));
	sg_presence_config_default(&cfg);
	cfg.validity_ms = cfg.max_validity_ms + 1;
	assert_null(sg_presence_new(env, &cfg, g, &bob.id));
	for (budget = 0; budget < 16; budget++) {
		sg_test_env_init(&t, 3, budget);
		p = sg_presence_new(&t.env, NULL, g, &bob.id);
		if (p != NULL) {
			sg_presence_del(p);
			assert_int_equal(t.allocs, t.frees);
			break;
		}
		assert_int_equal(t.allocs, t.frees);
	}
	assert_true(budget > 0 && budget < 16);
	sg_group_del(g);
}

/* The inner decoder on its own: what seal writes, it reads back. */
static void test_inner(void **state)
{
	uint8_t inner[4000];
	sg_beacon b, back;
	const uint8_t *body, *sig;
	size_t body_len, i;
	(void)state;

	memset(&b, 0, sizeof(b));
	b.epoch = 7;
	b.member = alice.id;
	b.seq = 9;
	b.issue_ms = T0;
	b.expires_ms = T0 + 1;
	b.flags = SG_PRESENCE_HELLO;
	b.naddrs = SG_PRESENCE_MAX_ADDRS;
	for (i = 0; i < b.naddrs; i++)
		b.addrs[i] = addr4((uint8_t)i, (uint16_t)(1000 + i));
	/* Build the inner item as the sealer does: [body, sig]. */
	{
		sg_cbor_enc e;
		uint8_t sigb[SG_MLDSA65_SIG_LEN];
		memset(sigb, 7, sizeof(sigb));
		sg_cbor_enc_init(&e, inner, sizeof(inner));
		sg_cbor_put_array(&e, 2);
		sg_cbor_put_array(&e, 9);
		sg_cbor_put_uint(&e, 1);
		sg_cbor_put_bytes(&e, b.group_id, 32);
		sg_cbor_put_uint(&e, b.epoch);
		sg_cbor_put_bytes(&e, b.member.bytes, 32);
		sg_cbor_put_uint(&e, b.seq);
		sg_cbor_put_uint(&e, b.issue_ms);
		sg_cbor_put_uint(&e, b.expires_ms);
		sg_cbor_put_uint(&e, b.flags);
		sg_cbor_put_array(&e, b.naddrs);
		for (i = 0; i < b.naddrs; i++) {
			sg_cbor_put_array(&e, 3);
			sg_cbor_put_uint(&e, 4);
			sg_cbor_put_bytes(&e, b.addrs[i].ip, 4);
			sg_cbor_put_uint(&e, b.addrs[i].port);
		}
		sg_cbor_put_bytes(&e, sigb, sizeof(sigb));
		assert_true(sg_cbor_enc_finish(&e) > 0);
		assert_int_equal(sg_presence_inner_decode(&back, &body,
							  &body_len, &sig,
							  inner, e.len),
				 0);
		assert_int_equal(back.naddrs, 8);
		assert_int_equal(back.addrs[7].port, 1007);
		assert_int_equal(back.flags, SG_PRESENCE_HELLO);
		assert_int_equal(back.seq, 9);
		assert_ptr_equal(body, inner + 1);
		assert_int_equal(sig[0], 7);
		for (i = 0; i < e.len; i++)
			assert_int_not_equal(sg_presence_inner_decode(
						     &back, &body, &body_len,
						     &sig, inner, i),
					     0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_wrong_group_epoch),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_members_only),
		cmocka_unit_test(test_slices),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_goodbye_expiry_events),
		cmocka_unit_test(test_hello_answer),
		cmocka_unit_test(test_config_and_oom),
		cmocka_unit_test(test_inner),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
