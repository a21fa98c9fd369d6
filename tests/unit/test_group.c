/*
 * Groups (include/sg/group.h): member cards, create, invite bound to the
 * invitee, accept, add and remove (the removed member cannot read the new
 * epoch, the others can), concurrent commits converging on the first in
 * the sibling order whatever the order of arrival, leave notices (and domain
 * separation of their signatures), group messages, the state file; every
 * flipped byte rejected; lying commits re-signed after the edit;
 * out-of-memory at every allocation.
 */
#include "testutil.h"
#include "sg/err.h"
#include "sg/group.h"
#include "sg/cbor.h"
#include "sg/blake3.h"

#include <string.h>

#define NOW 1800000000000ULL
#define DAY (24ULL * 3600 * 1000)

static sg_identity alice, bob, carol, dave;
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
	memset(seed, 0xd7, sizeof(seed));
	if (sg_identity_from_seed(&dave, seed) != 0)
		return -1;
	sg_test_env_init(&tenv, 42, -1);
	env = &tenv.env;
	return 0;
}

static uint8_t *card_of(const sg_identity *id, size_t *len)
{
	uint8_t *c = malloc(SG_GROUP_CARD_LEN);
	long n = sg_group_card_make(c, SG_GROUP_CARD_LEN, id, NULL);
	assert_int_equal(n, SG_GROUP_CARD_LEN);
	*len = (size_t)n;
	return c;
}

/* A commit into a fresh buffer (bound-sized). */
static uint8_t *commit_change(sg_group *g, const sg_identity *me,
			      const sg_group_change *c, size_t *len)
{
	size_t cap = sg_group_commit_bound(g, c ? c->nadd : 0);
	uint8_t *buf = malloc(cap);
	long n = sg_group_commit_encode(g, buf, cap, me, c);
	assert_true(n > 0);
	assert_int_equal(sg_cbor_validate(buf, (size_t)n, NULL), 0);
	*len = (size_t)n;
	return buf;
}

static uint8_t *invite_for(const sg_group *g, const sg_identity *me,
			   const sg_identity *who, size_t *len)
{
	size_t cap = sg_group_invite_bound(g);
	uint8_t *buf = malloc(cap);
	long n = sg_group_invite(g, buf, cap, me, &who->id, NOW, DAY);
	assert_true(n > 0);
	assert_int_equal(sg_cbor_validate(buf, (size_t)n, NULL), 0);
	*len = (size_t)n;
	return buf;
}

static void same_keys(const sg_group *a, const sg_group *b)
{
	sg_group_keys ka, kb;
	sg_topic_id ta, tb;

	assert_int_equal(sg_group_epoch(a), sg_group_epoch(b));
	assert_memory_equal(sg_group_commit_id(a), sg_group_commit_id(b), 32);
	assert_int_equal(sg_group_keys_get(a, 0, &ka), 0);
	assert_int_equal(sg_group_keys_get(b, 0, &kb), 0);
	assert_memory_equal(&ka, &kb, sizeof(ka));
	sg_group_topic(a, &ta);
	sg_group_topic(b, &tb);
	assert_memory_equal(&ta, &tb, sizeof(ta));
	assert_int_equal(sg_group_member_count(a), sg_group_member_count(b));
}

/* Alice creates the group, adds the given members in one commit and
 * invites each; every invitee joins. */
static void make_group(sg_group **ga, sg_group **out, const sg_identity **who,
		       size_t n)
{
	const uint8_t *cards[4];
	size_t lens[4], i, len;
	sg_group_change c;
	uint8_t *commit;

	assert_int_equal(sg_group_create(ga, env, &alice, "friends", 7), 0);
	for (i = 0; i < n; i++)
		cards[i] = card_of(who[i], &lens[i]);
	memset(&c, 0, sizeof(c));
	c.add_cards = cards;
	c.add_lens = lens;
	c.nadd = n;
	commit = commit_change(*ga, &alice, &c, &len);
	free(commit);
	for (i = 0; i < n; i++) {
		uint8_t *inv = invite_for(*ga, &alice, who[i], &len);
		assert_int_equal(sg_group_accept_invite(&out[i], env, who[i],
							inv, len, NOW), 0);
		same_keys(*ga, out[i]);
		free(inv);
		free((void *)cards[i]);
	}
}

static void test_card(void **state)
{
	uint8_t *card, *bad;
	sg_peer_id id;
	size_t len, i;
	(void)state;

	card = card_of(&bob, &len);
	assert_int_equal(sg_group_card_verify(&id, card, len), 0);
	assert_true(sg_peer_id_equal(&id, &bob.id));
	bad = malloc(len);
	/* Every flipped byte refused (structure, ML-KEM key check or the
	 * signature; a flip in the ML-DSA key changes the PeerId and the
	 * signature no longer verifies). */
	for (i = 0; i < len; i++) {
		memcpy(bad, card, len);
		bad[i] ^= 0x20;
		assert_int_not_equal(sg_group_card_verify(&id, bad, len), 0);
	}
	for (i = 0; i < len; i++)
		assert_int_not_equal(sg_group_card_verify(&id, card, i), 0);
	free(bad);
	free(card);
}

static void test_create(void **state)
{
	sg_group *g, *h;
	sg_group_keys k;
	sg_topic_id named, topic;
	sg_peer_id id;
	size_t nl;
	(void)state;

	assert_int_equal(sg_group_create(&g, env, &alice, "", 0), SG_ERR_INVAL);
	assert_int_equal(sg_group_create(&g, env, &alice, "\xff", 1),
			 SG_ERR_INVAL);
	assert_int_equal(sg_group_create(&g, env, &alice, "friends", 7), 0);
	assert_int_equal(sg_group_epoch(g), 0);
	assert_int_equal(sg_group_member_count(g), 1);
	assert_int_equal(sg_group_member(g, 0, &id), 0);
	assert_true(sg_peer_id_equal(&id, &alice.id));
	assert_int_equal(sg_group_member(g, 1, &id), SG_ERR_RANGE);
	assert_true(sg_group_is_member(g, &alice.id));
	assert_false(sg_group_is_member(g, &bob.id));
	assert_memory_equal(sg_group_member_pk(g, &alice.id), alice.pk,
			    SG_MLDSA65_PK_LEN);
	assert_null(sg_group_member_pk(g, &bob.id));
	assert_memory_equal(sg_group_name(g, &nl), "friends", 7);
	assert_int_equal(nl, 7);
	/* The topic is not the public name's topic. */
	sg_topic_id_from_name(&named, "friends", 7);
	sg_group_topic(g, &topic);
	assert_memory_not_equal(&named, &topic, sizeof(topic));
	/* Per-purpose keys differ from each other. */
	assert_int_equal(sg_group_keys_get(g, 0, &k), 0);
	assert_memory_not_equal(k.message_key, k.presence_key, 32);
	assert_memory_not_equal(k.message_key, k.tag_key, 32);
	assert_memory_not_equal(k.presence_key, k.tag_key, 32);
	assert_int_equal(sg_group_keys_get(g, 1, &k), SG_ERR_NOTFOUND);
	/* A second group with the same name: other id, topic and keys. */
	assert_int_equal(sg_group_create(&h, env, &alice, "friends", 7), 0);
	assert_memory_not_equal(sg_group_id(g), sg_group_id(h), 32);
	sg_group_topic(h, &named);
	assert_memory_not_equal(&named, &topic, sizeof(topic));
	sg_group_del(h);
	sg_group_del(g);
	sg_group_del(NULL);
}

static void test_invite(void **state)
{
	sg_group *ga, *gb, *gc;
	sg_group_invite_info info;
	uint8_t *card, *commit, *inv, *bin;
	char *text;
	size_t len, clen, ilen, tcap;
	long n;
	(void)state;

	assert_int_equal(sg_group_create(&ga, env, &alice, "friends", 7), 0);
	/* Only members can be invited: add first. */
	{
		uint8_t one[1];
		assert_int_equal(sg_group_invite(ga, one, 1, &alice, &bob.id,
						 NOW, DAY),
				 SG_ERR_NOTFOUND);
	}
	card = card_of(&bob, &clen);
	len = sg_group_commit_bound(ga, 1);
	commit = malloc(len);
	assert_int_equal(sg_group_add_member(ga, commit, 100, &alice, card,
					     clen),
			 SG_ERR_BUFSIZE);
	assert_int_equal(sg_group_epoch(ga), 0);
	n = sg_group_add_member(ga, commit, len, &alice, card, clen);
	assert_true(n > 0);
	assert_int_equal(sg_group_epoch(ga), 1);
	assert_int_equal(sg_group_add_member(ga, commit, len, &alice, card,
					     clen),
			 SG_ERR_EXISTS);
	assert_int_equal(sg_group_invite(ga, commit, len, &alice, &alice.id,
					 NOW, DAY),
			 SG_ERR_INVAL);
	free(commit);
	inv = invite_for(ga, &alice, &bob, &ilen);

	/* Peek shows what it is before anything is checked. */
	assert_int_equal(sg_group_invite_peek(&info, inv, ilen), 0);
	assert_int_equal(info.name_len, 7);
	assert_memory_equal(info.name, "friends", 7);
	assert_int_equal(info.epoch, 1);
	assert_int_equal(info.nmembers, 2);
	assert_true(sg_peer_id_equal(&info.inviter, &alice.id));
	assert_true(sg_peer_id_equal(&info.invitee, &bob.id));
	assert_int_equal(info.expires_ms, NOW + DAY);

	/* Text form round trip, with white space around and inside. */
	tcap = ilen * 2 + 64;
	text = malloc(tcap);
	n = sg_group_invite_to_text(text, tcap, inv, ilen);
	assert_true(n > 0);
	assert_int_equal(strlen(text), (size_t)n);
	assert_memory_equal(text, SG_GROUP_INVITE_TEXT_PREFIX,
			    strlen(SG_GROUP_INVITE_TEXT_PREFIX));
	bin = malloc(ilen + 16);
	{
		char *spaced = malloc((size_t)n + 8);
		size_t p = strlen(SG_GROUP_INVITE_TEXT_PREFIX) + 10;
		spaced[0] = '\n';
		memcpy(spaced + 1, text, p);
		spaced[1 + p] = '\n';
		memcpy(spaced + 2 + p, text + p, (size_t)n - p);
		spaced[2 + n] = ' ';
		n = sg_group_invite_from_text(bin, ilen + 16, spaced,
					      (size_t)n + 3);
		assert_int_equal(n, (long)ilen);
		assert_memory_equal(bin, inv, ilen);
		free(spaced);
	}
	n = sg_group_invite_to_text(text, tcap, inv, ilen);
	assert_int_equal(sg_group_invite_to_text(text, 10, inv, ilen),
			 SG_ERR_BUFSIZE);
	n = sg_group_invite_to_text(text, tcap, inv, ilen);
	assert_int_equal(sg_group_invite_from_text(bin, ilen + 16, text + 1,
						   (size_t)n - 1),
			 SG_ERR_MALFORMED);
	text[n - 3] = '+'; /* not in the url-safe alphabet */
	assert_int_equal(sg_group_invite_from_text(bin, ilen + 16, text,
						   (size_t)n),
			 SG_ERR_MALFORMED);
	assert_int_equal(sg_group_invite_from_text(bin, 10, text, (size_t)n),
			 SG_ERR_BUFSIZE);

	/* Bound to the invitee: Carol's node refuses Bob's invite. */
	assert_int_equal(sg_group_accept_invite(&gc, env, &carol, inv, ilen,
						NOW),
			 SG_ERR_PERM);
	assert_null(gc);
	/* Late. */
	assert_int_equal(sg_group_accept_invite(&gb, env, &bob, inv, ilen,
						NOW + DAY + 1),
			 SG_ERR_EXPIRED);
	/* Bob joins and holds the same epoch, keys and topic. */
	assert_int_equal(sg_group_accept_invite(&gb, env, &bob, inv, ilen, NOW),
			 0);
	same_keys(ga, gb);
	assert_true(sg_peer_id_equal(sg_group_self(gb), &bob.id));
	{
		sg_group_keys k;
		assert_int_equal(sg_group_keys_get(gb, 1, &k), SG_ERR_NOTFOUND);
	}

	/* Every flipped byte refused: structure, the invitee check, the
	 * inviter's signature over the body, or its own. Sampled (every 7th
	 * byte) inside the cards' long keys, every byte elsewhere. */
	{
		uint8_t *bad = malloc(ilen);
		size_t i;
		for (i = 0; i < ilen;
		     i += (i < 200 || i > ilen - 4800) ? 1 : 7) {
			memcpy(bad, inv, ilen);
			bad[i] ^= 0x01;
			assert_int_not_equal(sg_group_accept_invite(
						     &gc, env, &bob, bad, ilen,
						     NOW),
					     0);
			assert_null(gc);
		}
		free(bad);
	}
	sg_group_del(gb);
	sg_group_del(ga);
	free(inv);
	free(card);
	free(text);
	free(bin);
}

static void test_messages(void **state)
{
	const sg_identity *who[1] = {&bob};
	sg_group *ga, *gb[1], *other;
	uint8_t pt[300], out[400], back[400], bad[400];
	uint64_t ep;
	long n, m;
	size_t i;
	(void)state;

	make_group(&ga, gb, who, 1);
	for (i = 0; i < sizeof(pt); i++)
		pt[i] = (uint8_t)i;
	n = sg_group_encrypt(ga, out, sizeof(out), pt, sizeof(pt));
	assert_true(n > 0 && (size_t)n <= sizeof(pt) + SG_GROUP_MSG_OVERHEAD);
	assert_int_equal(sg_cbor_validate(out, (size_t)n, NULL), 0);
	assert_int_equal(sg_group_frame_type(out, (size_t)n),
			 SG_GROUP_FRAME_MESSAGE);
	m = sg_group_decrypt(gb[0], back, sizeof(back), out, (size_t)n, &ep);
	assert_int_equal(m, (long)sizeof(pt));
	assert_memory_equal(back, pt, sizeof(pt));
	assert_int_equal(ep, 1);
	/* Random nonces: the same plaintext twice differs. */
	m = sg_group_encrypt(ga, bad, sizeof(bad), pt, sizeof(pt));
	assert_int_equal(m, n);
	assert_memory_not_equal(bad, out, (size_t)n);
	/* Empty message; too small buffers. */
	m = sg_group_encrypt(gb[0], bad, sizeof(bad), NULL, 0);
	assert_true(m > 0);
	assert_int_equal(sg_group_decrypt(ga, back, 0, bad, (size_t)m, NULL),
			 0);
	assert_int_equal(sg_group_encrypt(ga, bad, (size_t)n - 1, pt,
					  sizeof(pt)),
			 SG_ERR_BUFSIZE);
	assert_int_equal(sg_group_decrypt(gb[0], back, 10, out, (size_t)n,
					  NULL),
			 SG_ERR_BUFSIZE);
	/* Every flipped byte refused. */
	for (i = 0; i < (size_t)n; i++) {
		memcpy(bad, out, (size_t)n);
		bad[i] ^= 0x80;
		assert_true(sg_group_decrypt(gb[0], back, sizeof(back), bad,
					     (size_t)n, NULL) < 0);
	}
	/* Another group cannot read it. */
	assert_int_equal(sg_group_create(&other, env, &bob, "x", 1), 0);
	assert_int_equal(sg_group_decrypt(other, back, sizeof(back), out,
					  (size_t)n, NULL),
			 SG_ERR_NOTFOUND);
	sg_group_del(other);
	sg_group_del(gb[0]);
	sg_group_del(ga);
}

static void test_remove(void **state)
{
	const sg_identity *who[2] = {&bob, &carol};
	sg_group *ga, *g[2];
	sg_group_commit_info info;
	uint8_t *commit, out[200], back[200], old[200];
	size_t len;
	long n, on;
	(void)state;

	make_group(&ga, g, who, 2);
	on = sg_group_encrypt(ga, old, sizeof(old), (const uint8_t *)"before",
			      6);
	assert_true(on > 0);
	/* Alice removes Carol: epoch 2. */
	len = sg_group_commit_bound(ga, 0);
	commit = malloc(len);
	assert_int_equal(sg_group_remove_member(ga, commit, len, &alice,
						&alice.id),
			 SG_ERR_INVAL);
	assert_int_equal(sg_group_remove_member(ga, commit, len, &alice,
						&dave.id),
			 SG_ERR_NOTFOUND);
	n = sg_group_remove_member(ga, commit, len, &alice, &carol.id);
	assert_true(n > 0);
	len = (size_t)n;
	assert_int_equal(sg_group_epoch(ga), 2);
	assert_false(sg_group_is_member(ga, &carol.id));
	assert_int_equal(sg_group_commit_peek(&info, commit, len), 0);
	assert_int_equal(info.epoch, 2);
	assert_int_equal(info.nremove, 1);
	assert_true(sg_peer_id_equal(&info.proposer, &alice.id));
	assert_int_equal(sg_group_frame_type(commit, len), SG_GROUP_FRAME_COMMIT);

	/* Only the owner can process for itself. */
	assert_int_equal(sg_group_commit_process(g[0], commit, len, &carol,
						 &info),
			 SG_ERR_INVAL);
	assert_int_equal(sg_group_commit_process(g[0], commit, len, &bob,
						 &info),
			 0);
	assert_int_equal(info.outcome, SG_GROUP_COMMIT_APPLIED);
	same_keys(ga, g[0]);
	assert_int_equal(sg_group_commit_process(g[1], commit, len, &carol,
						 &info),
			 0);
	assert_int_equal(info.outcome, SG_GROUP_COMMIT_REMOVED);
	assert_int_equal(sg_group_epoch(g[1]), 1); /* unchanged */
	/* Our own commit coming back, and a repeat, are duplicates. */
	assert_int_equal(sg_group_commit_process(ga, commit, len, &alice,
						 &info),
			 0);
	assert_int_equal(info.outcome, SG_GROUP_COMMIT_DUPLICATE);

	/* The new epoch: Bob reads it, Carol cannot. */
	n = sg_group_encrypt(ga, out, sizeof(out), (const uint8_t *)"after", 5);
	assert_true(n > 0);
	assert_int_equal(sg_group_decrypt(g[0], back, sizeof(back), out,
					  (size_t)n, NULL),
			 5);
	assert_int_equal(sg_group_decrypt(g[1], back, sizeof(back), out,
					  (size_t)n, NULL),
			 SG_ERR_NOTFOUND);
	/* Her keys are not the new epoch's. */
	{
		sg_group_keys k1, k2;
		assert_int_equal(sg_group_keys_get(g[1], 0, &k1), 0);
		assert_int_equal(sg_group_keys_get(ga, 0, &k2), 0);
		assert_memory_not_equal(k1.message_key, k2.message_key, 32);
		assert_memory_not_equal(k1.presence_key, k2.presence_key, 32);
	}
	/* Messages of the previous epoch stay readable for the members. */
	assert_int_equal(sg_group_decrypt(g[0], back, sizeof(back), old,
					  (size_t)on, NULL),
			 6);
	/* Bob's next commit no longer wraps a secret for Carol. */
	free(commit);
	commit = commit_change(g[0], &bob, NULL, &len);
	assert_int_equal(sg_group_commit_process(ga, commit, len, &alice,
						 &info),
			 0);
	assert_int_equal(info.outcome, SG_GROUP_COMMIT_APPLIED);
	same_keys(ga, g[0]);
	/* Carol, two epochs behind, cannot use it. */
	assert_int_equal(sg_group_commit_process(g[1], commit, len, &carol,
						 &info),
			 SG_ERR_AGAIN);
	free(commit);
	sg_group_del(g[0]);
	sg_group_del(g[1]);
	sg_group_del(ga);
}

/* The sibling order of docs/PROTOCOL.md, computed here from its
 * definition: removals first, then rank, then commit id. */
static int expect_c1_wins(const uint8_t *c1, size_t l1, const uint8_t *c2,
			  size_t l2, const uint8_t parent[32])
{
	sg_group_commit_info i1, i2;
	uint8_t in[8 + 32 + 32], r1[32], r2[32];
	int c;

	assert_int_equal(sg_group_commit_peek(&i1, c1, l1), 0);
	assert_int_equal(sg_group_commit_peek(&i2, c2, l2), 0);
	if ((i1.nremove > 0) != (i2.nremove > 0))
		return i1.nremove > 0;
	memset(in, 0, 8);
	in[7] = (uint8_t)i1.epoch;
	memcpy(in + 40, parent, 32);
	memcpy(in + 8, i1.proposer.bytes, 32);
	sg_blake3_derive_key(r1, 32, SG_CTX_GROUP_COMMIT_RANK, in, sizeof(in));
	memcpy(in + 8, i2.proposer.bytes, 32);
	sg_blake3_derive_key(r2, 32, SG_CTX_GROUP_COMMIT_RANK, in, sizeof(in));
	c = memcmp(r1, r2, 32);
	if (c == 0)
		c = memcmp(i1.commit_id, i2.commit_id, 32);
	return c < 0;
}

/* Members p1 and p2 commit for epoch 2 at once (rm: a removal, or NULL
 * for a re-key); every member gets both, the others in the given order,
 * and everyone who stays ends on the same commit: the first in the
 * sibling order. Returns whether the first commit won. */
static int race(int p1, const sg_peer_id *rm1, int p2, const sg_peer_id *rm2,
		int c1_first)
{
	const sg_identity *who[3] = {&bob, &carol, &dave};
	const sg_identity *ids[4] = {&alice, &bob, &carol, &dave};
	sg_group *g[4], *ref = NULL;
	sg_group_commit_info info, i1, i2;
	uint8_t *c[2], parent[32], win[32];
	size_t l[2], i;
	int c1_wins, removed[4] = {0, 0, 0, 0};

	make_group(&g[0], &g[1], who, 3);
	memcpy(parent, sg_group_commit_id(g[0]), 32);
	{
		sg_group_change ch;
		memset(&ch, 0, sizeof(ch));
		ch.remove = rm1;
		ch.nremove = rm1 != NULL;
		c[0] = commit_change(g[p1], ids[p1], &ch, &l[0]);
		ch.remove = rm2;
		ch.nremove = rm2 != NULL;
		c[1] = commit_change(g[p2], ids[p2], &ch, &l[1]);
	}
	c1_wins = expect_c1_wins(c[0], l[0], c[1], l[1], parent);
	assert_int_equal(sg_group_commit_peek(&info, c[c1_wins ? 0 : 1],
					      l[c1_wins ? 0 : 1]),
			 0);
	memcpy(win, info.commit_id, 32);
	for (i = 0; i < 4; i++) {
		int a = c1_first ? 0 : 1, b = 1 - a;
		int ra = sg_group_commit_process(g[i], c[a], l[a], ids[i], &i1);
		int rb = sg_group_commit_process(g[i], c[b], l[b], ids[i], &i2);
		assert_int_equal(ra, 0);
		assert_int_equal(rb, 0);
		removed[i] = i1.outcome == SG_GROUP_COMMIT_REMOVED ||
			     i2.outcome == SG_GROUP_COMMIT_REMOVED;
		/* A proposer whose commit lost saw it replaced. */
		if ((int)i == (c1_wins ? p2 : p1)) {
			const sg_group_commit_info *w =
				(c1_wins ? 0 : 1) == a ? &i1 : &i2;
			if (w->outcome == SG_GROUP_COMMIT_SWITCHED)
				assert_true(w->replaced_own);
		}
	}
	for (i = 0; i < 4; i++) {
		const sg_peer_id *gone = c1_wins ? rm1 : rm2;
		if (gone != NULL && sg_peer_id_equal(gone, &ids[i]->id)) {
			/* Told, and never on the winner. */
			assert_true(removed[i]);
			assert_memory_not_equal(sg_group_commit_id(g[i]), win,
						32);
			continue;
		}
		assert_memory_equal(sg_group_commit_id(g[i]), win, 32);
		if (ref == NULL)
			ref = g[i];
		else
			same_keys(ref, g[i]);
		/* A repeat of either commit changes nothing. */
		assert_int_equal(sg_group_commit_process(g[i], c[0], l[0],
							 ids[i], &info),
				 0);
		assert_int_equal(sg_group_commit_process(g[i], c[1], l[1],
							 ids[i], &info),
				 0);
		assert_memory_equal(sg_group_commit_id(g[i]), win, 32);
	}
	for (i = 0; i < 4; i++)
		sg_group_del(g[i]);
	free(c[0]);
	free(c[1]);
	return c1_wins;
}

/* Concurrent commits converge whatever the order of arrival. */
static void test_concurrent(void **state)
{
	int order, seen[2] = {0, 0}, k;
	(void)state;

	for (order = 0; order < 2; order++) {
		/* A removal beats a re-key, whatever their ranks. */
		assert_true(race(0, &dave.id, 1, NULL, order));
		assert_false(race(1, NULL, 0, &dave.id, order));
		/* The member being removed cannot undo it by re-keying. */
		assert_true(race(0, &carol.id, 2, NULL, order));
		/* Two re-keys (or two removals): the rank decides; both
		 * outcomes occur over the proposer pairs. */
		for (k = 1; k < 4; k++)
			seen[race(0, NULL, k, NULL, order)] = 1;
		(void)race(1, &dave.id, 2, &alice.id, order);
	}
	assert_true(seen[0] && seen[1]);
}

/* Offsets in a commit of a 2-member group at a small epoch:
 * [2, body, sig], body = [1, gid, epoch, parent, proposer, [], [],
 * roster_hash, [[to, ct, wrapped]]]. */
#define BODY_AT 2
#define PROPOSER_AT (BODY_AT + 1 + 1 + 34 + 1 + 34 + 2)
#define ROSTER_HASH_AT (PROPOSER_AT + 32 + 1 + 1 + 2)

/* Signs a commit's body again with signer's key, in place. */
static void resign(uint8_t *c, size_t len, const sg_identity *signer)
{
	size_t body_len = len - BODY_AT - 3 - SG_MLDSA65_SIG_LEN;
	assert_int_equal(sg_mldsa65_sign(c + len - SG_MLDSA65_SIG_LEN,
					 c + BODY_AT, body_len,
					 (const uint8_t *)SG_SIGCTX_GROUP_COMMIT,
					 strlen(SG_SIGCTX_GROUP_COMMIT),
					 signer->sk, NULL),
			 0);
}

static void test_commit_checks(void **state)
{
	const sg_identity *who[1] = {&bob};
	sg_group *ga, *gb[1], *gx;
	sg_group_commit_info info;
	uint8_t *c1, *c2, *bad, saved[32];
	size_t l1, l2, i;
	(void)state;

	make_group(&ga, gb, who, 1);
	c1 = commit_change(ga, &alice, NULL, &l1); /* epoch 2 */
	c2 = commit_change(ga, &alice, NULL, &l2); /* epoch 3 */
	/* Out of order: epoch 3 before 2 cannot be used yet. */
	assert_int_equal(sg_group_commit_process(gb[0], c2, l2, &bob, &info),
			 SG_ERR_AGAIN);
	assert_int_equal(info.epoch, 3);
	/* Every flipped byte of epoch 2's commit refused, state untouched. */
	memcpy(saved, sg_group_commit_id(gb[0]), 32);
	bad = malloc(l1);
	for (i = 0; i < l1; i++) {
		memcpy(bad, c1, l1);
		bad[i] ^= 0x10;
		assert_int_not_equal(sg_group_commit_process(gb[0], bad, l1,
							     &bob, &info),
				     0);
		assert_memory_equal(sg_group_commit_id(gb[0]), saved, 32);
	}
	for (i = 0; i < l1; i++)
		assert_int_not_equal(sg_group_commit_process(gb[0], c1, i, &bob,
							     &info),
				     0);
	free(bad);
	assert_int_equal(sg_group_commit_process(gb[0], c1, l1, &bob, &info), 0);
	assert_int_equal(info.outcome, SG_GROUP_COMMIT_APPLIED);
	assert_int_equal(sg_group_commit_process(gb[0], c2, l2, &bob, &info), 0);
	assert_int_equal(info.outcome, SG_GROUP_COMMIT_APPLIED);
	same_keys(ga, gb[0]);
	/* Old commits are stale now. */
	assert_int_equal(sg_group_commit_process(gb[0], c1, l1, &bob, &info),
			 SG_ERR_REPLAY);
	/* Another group's commit. */
	assert_int_equal(sg_group_create(&gx, env, &bob, "x", 1), 0);
	assert_int_equal(sg_group_commit_process(gx, c2, l2, &bob, &info),
			 SG_ERR_NOTFOUND);
	free(c1);
	free(c2);
	/* Well-formed, signed commits that lie (re-signed after the edit). */
	c1 = commit_change(ga, &alice, NULL, &l1); /* epoch 4 */
	bad = malloc(l1);
	/* A proposer that is not a member, signing for itself. */
	memcpy(bad, c1, l1);
	memcpy(bad + PROPOSER_AT, dave.id.bytes, 32);
	resign(bad, l1, &dave);
	assert_int_equal(sg_group_commit_process(gb[0], bad, l1, &bob, &info),
			 SG_ERR_PERM);
	/* A member named as proposer, signed by another. */
	memcpy(bad, c1, l1);
	memcpy(bad + PROPOSER_AT, bob.id.bytes, 32);
	resign(bad, l1, &alice);
	assert_int_equal(sg_group_commit_process(gb[0], bad, l1, &bob, &info),
			 SG_ERR_VERIFY);
	/* The roster hash of another roster. */
	memcpy(bad, c1, l1);
	bad[ROSTER_HASH_AT] ^= 1;
	resign(bad, l1, &alice);
	assert_int_equal(sg_group_commit_process(gb[0], bad, l1, &bob, &info),
			 SG_ERR_VERIFY);
	/* Bob's wrapped secret damaged: the AEAD refuses it. */
	memcpy(bad, c1, l1);
	bad[l1 - 3 - SG_MLDSA65_SIG_LEN - 5] ^= 1;
	resign(bad, l1, &alice);
	assert_int_equal(sg_group_commit_process(gb[0], bad, l1, &bob, &info),
			 SG_ERR_VERIFY);
	/* Bob's KEM ciphertext damaged: implicit rejection, then the AEAD. */
	memcpy(bad, c1, l1);
	bad[l1 - 3 - SG_MLDSA65_SIG_LEN - 50 - 500] ^= 1;
	resign(bad, l1, &alice);
	assert_int_equal(sg_group_commit_process(gb[0], bad, l1, &bob, &info),
			 SG_ERR_VERIFY);
	assert_int_equal(sg_group_epoch(gb[0]), 3);
	assert_int_equal(sg_group_commit_process(gb[0], c1, l1, &bob, &info), 0);
	same_keys(ga, gb[0]);
	free(bad);
	free(c1);
	/* Leaving: no more commits. */
	{
		uint8_t notice[4000];
		sg_peer_id who_left;
		long n = sg_group_leave(ga, notice, sizeof(notice), &alice);
		assert_true(n > 0);
		assert_int_equal(sg_group_leave(ga, notice, sizeof(notice),
						&alice),
				 SG_ERR_STATE);
		assert_true(sg_group_has_left(ga));
		assert_int_equal(sg_group_commit_encode(ga, notice,
							sizeof(notice), &alice,
							NULL),
				 SG_ERR_STATE);
		(void)who_left;
	}
	sg_group_del(gx);
	sg_group_del(gb[0]);
	sg_group_del(ga);
}

static void test_leave(void **state)
{
	const sg_identity *who[2] = {&bob, &carol};
	sg_group *ga, *g[2];
	sg_group_commit_info info;
	uint8_t notice[4000], bad[4000], pt[8], out[100];
	sg_peer_id left;
	uint8_t *commit;
	size_t len, i;
	long n;
	(void)state;

	make_group(&ga, g, who, 2);
	n = sg_group_leave(g[1], notice, sizeof(notice), &alice);
	assert_int_equal(n, SG_ERR_INVAL);
	n = sg_group_leave(g[1], notice, sizeof(notice), &carol);
	assert_true(n > 0);
	assert_int_equal(sg_group_frame_type(notice, (size_t)n),
			 SG_GROUP_FRAME_LEAVE);
	assert_int_equal(sg_group_encrypt(g[1], out, sizeof(out), pt, 1),
			 SG_ERR_STATE);
	assert_int_equal(sg_group_leave_process(ga, notice, (size_t)n, &left),
			 0);
	assert_true(sg_peer_id_equal(&left, &carol.id));
	assert_int_equal(sg_group_leave_process(g[1], notice, (size_t)n, &left),
			 SG_ERR_INVAL);
	for (i = 0; i < (size_t)n; i++) {
		memcpy(bad, notice, (size_t)n);
		bad[i] ^= 0x02;
		assert_int_not_equal(sg_group_leave_process(ga, bad, (size_t)n,
							    &left),
				     0);
	}
	/* Domain separation: the notice's signature verifies with the leave
	 * context only, not as any other signed object. */
	{
		static const char *const others[] = {
			SG_SIGCTX_MEMBER_KEYS, SG_SIGCTX_GROUP_COMMIT,
			SG_SIGCTX_GROUP_INVITE, "saorsa-gossip/v1 presence beacon",
			"saorsa-gossip/v1 published message",
			"saorsa-gossip/v1 coordinator advert"};
		size_t body_len = (size_t)n - 2 - 3 - SG_MLDSA65_SIG_LEN, k;
		const uint8_t *sig = notice + n - SG_MLDSA65_SIG_LEN;
		assert_int_equal(sg_mldsa65_verify(sig, SG_MLDSA65_SIG_LEN,
						   notice + 2, body_len,
						   (const uint8_t *)SG_SIGCTX_GROUP_LEAVE,
						   strlen(SG_SIGCTX_GROUP_LEAVE),
						   carol.pk),
				 0);
		for (k = 0; k < sizeof(others) / sizeof(others[0]); k++)
			assert_int_equal(sg_mldsa65_verify(
						 sig, SG_MLDSA65_SIG_LEN,
						 notice + 2, body_len,
						 (const uint8_t *)others[k],
						 strlen(others[k]), carol.pk),
					 SG_ERR_VERIFY);
	}
	/* A member commits the removal; the notice is then not a member's. */
	len = sg_group_commit_bound(ga, 0);
	commit = malloc(len);
	n = sg_group_leave(g[1], notice, sizeof(notice), &carol);
	assert_int_equal(n, SG_ERR_STATE);
	n = sg_group_remove_member(g[0], commit, len, &bob, &carol.id);
	assert_true(n > 0);
	assert_int_equal(sg_group_commit_process(ga, commit, (size_t)n, &alice,
						 &info),
			 0);
	assert_int_equal(sg_group_member_count(ga), 2);
	free(commit);
	sg_group_del(g[0]);
	sg_group_del(g[1]);
	sg_group_del(ga);
}

static void test_state_file(void **state)
{
	const sg_identity *who[2] = {&bob, &carol};
	sg_group *ga, *g[2], *back;
	sg_group_commit_info info;
	uint8_t *buf, *buf2, *bad, *commit, pt[4] = {1, 2, 3, 4}, msg[200],
							    out[16];
	size_t cap, len, clen, i;
	long n, m;
	(void)state;

	make_group(&ga, g, who, 2);
	/* A removal so that a parent roster and previous keys exist. */
	{
		sg_group_change rm;
		memset(&rm, 0, sizeof(rm));
		rm.remove = &carol.id;
		rm.nremove = 1;
		commit = commit_change(ga, &alice, &rm, &clen);
	}
	cap = sg_group_export_bound(ga);
	buf = malloc(cap);
	buf2 = malloc(cap);
	n = sg_group_export(ga, buf, cap);
	assert_true(n > 0);
	len = (size_t)n;
	assert_int_equal(sg_group_frame_type(buf, len), SG_GROUP_FRAME_STATE);
	assert_int_equal(sg_group_export(ga, buf, 100), SG_ERR_BUFSIZE);
	n = sg_group_export(ga, buf, cap);
	assert_int_equal(sg_group_import(&back, env, &bob.id, buf, len),
			 SG_ERR_PERM);
	assert_int_equal(sg_group_import(&back, env, &alice.id, buf, len), 0);
	same_keys(ga, back);
	m = sg_group_export(back, buf2, cap);
	assert_int_equal(m, (long)len);
	assert_memory_equal(buf, buf2, len);
	/* The imported state works: it reads, and it can take a sibling
	 * (it kept the parent roster). */
	n = sg_group_encrypt(ga, msg, sizeof(msg), pt, sizeof(pt));
	assert_int_equal(sg_group_decrypt(back, out, sizeof(out), msg,
					  (size_t)n, NULL),
			 4);
	{
		uint8_t *c2;
		size_t l2;
		c2 = commit_change(g[0], &bob, NULL, &l2);
		assert_int_equal(sg_group_commit_process(back, c2, l2, &alice,
							 &info),
				 0);
		assert_true(info.outcome == SG_GROUP_COMMIT_SWITCHED ||
			    info.outcome == SG_GROUP_COMMIT_OUTRANKED);
		free(c2);
	}
	sg_group_del(back);
	/* Every flipped byte and every truncation refused. */
	bad = malloc(len);
	for (i = 0; i < len; i++) {
		memcpy(bad, buf, len);
		bad[i] ^= 0x08;
		assert_int_not_equal(sg_group_import(&back, env, &alice.id, bad,
						     len),
				     0);
		assert_null(back);
	}
	for (i = 0; i < len; i++)
		assert_int_not_equal(sg_group_import(&back, env, &alice.id, buf,
						     i),
				     0);
	free(bad);
	free(buf);
	free(buf2);
	free(commit);
	sg_group_del(g[0]);
	sg_group_del(g[1]);
	sg_group_del(ga);
}

/* Every allocation failing in turn: clean errors, no leaks (ASan). */
static void test_out_of_memory(void **state)
{
	sg_test_env t;
	sg_group *g = NULL, *gb = NULL, *gi = NULL;
	uint8_t *card, *buf, *inv, *st;
	size_t clen, cap, icap, scap;
	long budget, n;
	(void)state;

	card = card_of(&bob, &clen);
	for (budget = 0; budget < 64; budget++) {
		int rc;
		sg_test_env_init(&t, 7, budget);
		rc = sg_group_create(&g, &t.env, &alice, "oom", 3);
		if (rc != 0) {
			assert_int_equal(rc, SG_ERR_NOMEM);
			assert_null(g);
			assert_int_equal(t.allocs, t.frees);
			continue;
		}
		cap = sg_group_commit_bound(g, 1);
		buf = malloc(cap);
		n = sg_group_add_member(g, buf, cap, &alice, card, clen);
		if (n < 0) {
			assert_int_equal(n, SG_ERR_NOMEM);
			assert_int_equal(sg_group_epoch(g), 0);
			assert_int_equal(sg_group_member_count(g), 1);
			sg_group_del(g);
			free(buf);
			assert_int_equal(t.allocs, t.frees);
			continue;
		}
		icap = sg_group_invite_bound(g);
		inv = malloc(icap);
		n = sg_group_invite(g, inv, icap, &alice, &bob.id, NOW, DAY);
		assert_true(n > 0);
		rc = sg_group_accept_invite(&gb, &t.env, &bob, inv, (size_t)n,
					    NOW);
		scap = sg_group_export_bound(g);
		st = malloc(scap);
		if (rc == 0) {
			n = sg_group_export(g, st, scap);
			rc = sg_group_import(&gi, &t.env, &alice.id, st,
					     (size_t)n);
			if (rc != 0)
				assert_int_equal(rc, SG_ERR_NOMEM);
		} else {
			assert_int_equal(rc, SG_ERR_NOMEM);
		}
		sg_group_del(gi);
		sg_group_del(gb);
		sg_group_del(g);
		gi = gb = g = NULL;
		free(buf);
		free(inv);
		free(st);
		assert_int_equal(t.allocs, t.frees);
		if (rc == 0)
			break;
	}
	assert_true(budget < 64);
	free(card);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_card),
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_invite),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_commit_checks),
		cmocka_unit_test(test_leave),
		cmocka_unit_test(test_state_file),
		cmocka_unit_test(test_out_of_memory),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
