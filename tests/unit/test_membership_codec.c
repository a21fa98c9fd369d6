/*
 * Membership message codec: every message type round-trips through
 * deterministic CBOR; every truncation is rejected; every flipped byte is
 * rejected or decodes to a message that encodes back to exactly those bytes
 * (no second encoding of anything); field types, counts, lengths and limits
 * are enforced; the encoder refuses what the decoder would reject. Claims:
 * sign and verify, every changed field or flipped signature byte refused,
 * a key that is not the subject's refused, and the claim context separated
 * from every other signing purpose (DESIGN section 6).
 */
#include "testutil.h"
#include "sg/cbor.h"
#include "sg/err.h"
#include "sg/group.h"
#include "sg/handshake.h"
#include "sg/membership.h"
#include "sg/msg.h"
#include "sg/presence.h"

#include <string.h>

static const uint8_t types[] = {
    SG_MEMB_JOIN,	  SG_MEMB_FORWARDJOIN,
    SG_MEMB_NEIGHBOR,	  SG_MEMB_NEIGHBOR_REPLY,
    SG_MEMB_DISCONNECT,	  SG_MEMB_SHUFFLE,
    SG_MEMB_SHUFFLEREPLY, SG_MEMB_JOINACK,
    SG_MEMB_PING,	  SG_MEMB_ACK,
    SG_MEMB_PINGREQ,	  SG_MEMB_INDACK,
    SG_MEMB_CLAIM,
};

/* Key and signature bytes for codec tests (the codec does not verify). */
static uint8_t fake_pk[SG_MLDSA65_PK_LEN], fake_sig[SG_MLDSA65_SIG_LEN];

static void fill(sg_memb_msg *m, uint8_t type, sg_test_rng *r)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	m->type = type;
	sg_test_rng_bytes(r, m->sender.bytes, SG_PEER_ID_LEN);
	switch (type) {
	case SG_MEMB_JOIN:
	case SG_MEMB_JOINACK:
	case SG_MEMB_NEIGHBOR:
		m->peer.id = m->sender;
		m->peer.addr_len = 6;
		sg_test_rng_bytes(r, m->peer.addr, 6);
		m->flag = type == SG_MEMB_NEIGHBOR;
		break;
	case SG_MEMB_FORWARDJOIN:
	case SG_MEMB_SHUFFLE:
		sg_test_rng_bytes(r, m->peer.id.bytes, SG_PEER_ID_LEN);
		m->peer.addr_len = 18;
		sg_test_rng_bytes(r, m->peer.addr, 18);
		m->ttl = 6;
		break;
	case SG_MEMB_NEIGHBOR_REPLY:
	case SG_MEMB_DISCONNECT:
		m->flag = 1;
		break;
	case SG_MEMB_CLAIM:
		sg_test_rng_bytes(r, fake_pk, sizeof(fake_pk));
		sg_test_rng_bytes(r, fake_sig, sizeof(fake_sig));
		m->claim.kind = SG_MEMB_LEFT;
		m->claim.subject = m->sender;
		m->claim.incarnation = sg_test_rng_u64(r);
		m->claim.pk = fake_pk;
		m->claim.sig = fake_sig;
		break;
	case SG_MEMB_PINGREQ:
	case SG_MEMB_INDACK:
		sg_test_rng_bytes(r, m->target.bytes, SG_PEER_ID_LEN);
		m->flag = type == SG_MEMB_INDACK;
		/* fall through */
	case SG_MEMB_PING:
	case SG_MEMB_ACK:
		m->seq = sg_test_rng_u64(r);
		m->n_gossip = 3;
		for (i = 0; i < m->n_gossip; i++) {
			m->gossip[i].kind = (uint8_t)(SG_MEMB_SUSPECT + i % 2);
			sg_test_rng_bytes(r, m->gossip[i].subject.bytes,
					  SG_PEER_ID_LEN);
			m->gossip[i].incarnation = i * 1000003u;
		}
		break;
	default:
		break;
	}
	if (type == SG_MEMB_SHUFFLE || type == SG_MEMB_SHUFFLEREPLY) {
		m->n_peers = SG_MEMB_MAX_PEERS;
		for (i = 0; i < m->n_peers; i++) {
			sg_test_rng_bytes(r, m->peers[i].id.bytes,
					  SG_PEER_ID_LEN);
			m->peers[i].addr_len = (uint8_t)(i % 7);
			sg_test_rng_bytes(r, m->peers[i].addr,
					  m->peers[i].addr_len);
		}
	}
}

static void test_round_trip(void **state)
{
	uint8_t buf[SG_MEMB_MSG_MAX], buf2[SG_MEMB_MSG_MAX];
	sg_memb_msg m, d;
	sg_test_rng r;
	size_t t;
	(void)state;

	sg_test_rng_seed(&r, 1);
	for (t = 0; t < sizeof(types); t++) {
		long n, n2;

		fill(&m, types[t], &r);
		n = sg_memb_encode(buf, sizeof(buf), &m);
		assert_true(n > 0);
		assert_int_equal(sg_cbor_validate(buf, (size_t)n, NULL), 0);
		assert_int_equal(sg_memb_peek_type(buf, (size_t)n), types[t]);
		assert_int_equal(sg_memb_decode(&d, buf, (size_t)n), 0);
		assert_int_equal(d.type, m.type);
		assert_memory_equal(d.sender.bytes, m.sender.bytes,
				    SG_PEER_ID_LEN);
		assert_int_equal(d.n_peers, m.n_peers);
		assert_int_equal(d.n_gossip, m.n_gossip);
		if (m.type == SG_MEMB_CLAIM) {
			assert_int_equal(d.claim.kind, m.claim.kind);
			assert_true(d.claim.incarnation == m.claim.incarnation);
			assert_memory_equal(d.claim.subject.bytes,
					    m.claim.subject.bytes,
					    SG_PEER_ID_LEN);
			assert_memory_equal(d.claim.pk, fake_pk,
					    SG_MLDSA65_PK_LEN);
			assert_memory_equal(d.claim.sig, fake_sig,
					    SG_MLDSA65_SIG_LEN);
			/* the longest message fits the stated bound */
			assert_true(n <= SG_MEMB_MSG_MAX);
		}
		n2 = sg_memb_encode(buf2, sizeof(buf2), &d);
		assert_int_equal(n2, n);
		assert_memory_equal(buf, buf2, (size_t)n);
		/* Too small a buffer is reported, never overrun. */
		assert_int_equal(sg_memb_encode(buf2, (size_t)n - 1, &m),
				 SG_ERR_BUFSIZE);
	}
}

static void test_truncation_and_flips(void **state)
{
	uint8_t buf[SG_MEMB_MSG_MAX], mut[SG_MEMB_MSG_MAX];
	uint8_t re[SG_MEMB_MSG_MAX];
	sg_memb_msg m, d;
	sg_test_rng r;
	size_t t, i;
	int bit;
	(void)state;

	sg_test_rng_seed(&r, 2);
	for (t = 0; t < sizeof(types); t++) {
		long n;

		fill(&m, types[t], &r);
		n = sg_memb_encode(buf, sizeof(buf), &m);
		assert_true(n > 0);
		for (i = 0; i < (size_t)n; i++)
			assert_true(sg_memb_decode(&d, buf, i) < 0);
		for (i = 0; i < (size_t)n; i++) {
			for (bit = 0; bit < 8; bit += 3) {
				long k;

				memcpy(mut, buf, (size_t)n);
				mut[i] ^= (uint8_t)(1u << bit);
				if (sg_memb_decode(&d, mut, (size_t)n) != 0)
					continue;
				k = sg_memb_encode(re, sizeof(re), &d);
				assert_int_equal(k, n);
				assert_memory_equal(re, mut, (size_t)n);
			}
		}
	}
}

static void test_limits(void **state)
{
	uint8_t buf[SG_MEMB_MSG_MAX + 1];
	uint8_t id[SG_PEER_ID_LEN];
	sg_memb_msg m;
	sg_cbor_enc e;
	size_t i;
	long n;
	(void)state;

	memset(id, 7, sizeof(id));
	memset(&m, 0, sizeof(m));
	/* Encoder refuses unknown types, long addresses, bad flags. */
	m.type = 99;
	assert_int_equal(sg_memb_encode(buf, sizeof(buf), &m), SG_ERR_INVAL);
	m.type = SG_MEMB_JOIN;
	m.peer.addr_len = SG_MEMB_ADDR_MAX + 1;
	assert_int_equal(sg_memb_encode(buf, sizeof(buf), &m), SG_ERR_INVAL);
	m.peer.addr_len = 0;
	m.type = SG_MEMB_DISCONNECT;
	m.flag = 2;
	assert_int_equal(sg_memb_encode(buf, sizeof(buf), &m), SG_ERR_INVAL);
	m.flag = 0;
	m.type = SG_MEMB_PING;
	m.n_gossip = SG_MEMB_MAX_GOSSIP + 1;
	assert_int_equal(sg_memb_encode(buf, sizeof(buf), &m), SG_ERR_INVAL);
	/* Alive and left are never plain gossip, only signed claims. */
	m.n_gossip = 1;
	m.gossip[0].kind = SG_MEMB_ALIVE;
	assert_int_equal(sg_memb_encode(buf, sizeof(buf), &m), SG_ERR_INVAL);
	m.gossip[0].kind = SG_MEMB_LEFT;
	assert_int_equal(sg_memb_encode(buf, sizeof(buf), &m), SG_ERR_INVAL);
	m.n_gossip = 0;
	/* A claim needs a key, a signature and an alive/left kind. */
	m.type = SG_MEMB_CLAIM;
	m.claim.kind = SG_MEMB_ALIVE;
	m.claim.pk = fake_pk;
	assert_int_equal(sg_memb_encode(buf, sizeof(buf), &m), SG_ERR_INVAL);
	m.claim.sig = fake_sig;
	assert_true(sg_memb_encode(buf, sizeof(buf), &m) > 0);
	m.claim.kind = SG_MEMB_SUSPECT;
	assert_int_equal(sg_memb_encode(buf, sizeof(buf), &m), SG_ERR_INVAL);
	memset(&m, 0, sizeof(m));

	/* Decoder: a claim of kind SUSPECT, and one with a short key. */
	sg_cbor_enc_init(&e, buf, sizeof(buf));
	sg_cbor_put_array(&e, 7);
	sg_cbor_put_uint(&e, SG_MEMB_CLAIM);
	sg_cbor_put_bytes(&e, id, sizeof(id));
	sg_cbor_put_uint(&e, SG_MEMB_SUSPECT);
	sg_cbor_put_bytes(&e, id, sizeof(id));
	sg_cbor_put_uint(&e, 1);
	sg_cbor_put_bytes(&e, fake_pk, SG_MLDSA65_PK_LEN);
	sg_cbor_put_bytes(&e, fake_sig, SG_MLDSA65_SIG_LEN);
	n = sg_cbor_enc_finish(&e);
	assert_true(n > 0);
	assert_int_equal(sg_memb_decode(&m, buf, (size_t)n), SG_ERR_RANGE);
	sg_cbor_enc_init(&e, buf, sizeof(buf));
	sg_cbor_put_array(&e, 7);
	sg_cbor_put_uint(&e, SG_MEMB_CLAIM);
	sg_cbor_put_bytes(&e, id, sizeof(id));
	sg_cbor_put_uint(&e, SG_MEMB_ALIVE);
	sg_cbor_put_bytes(&e, id, sizeof(id));
	sg_cbor_put_uint(&e, 1);
	sg_cbor_put_bytes(&e, fake_pk, SG_MLDSA65_PK_LEN - 1);
	sg_cbor_put_bytes(&e, fake_sig, SG_MLDSA65_SIG_LEN);
	n = sg_cbor_enc_finish(&e);
	assert_true(n > 0);
	assert_true(sg_memb_decode(&m, buf, (size_t)n) < 0);

	/* Decoder: a SHUFFLEREPLY with one peer too many. */
	sg_cbor_enc_init(&e, buf, sizeof(buf));
	sg_cbor_put_array(&e, 3);
	sg_cbor_put_uint(&e, SG_MEMB_SHUFFLEREPLY);
	sg_cbor_put_bytes(&e, id, sizeof(id));
	sg_cbor_put_array(&e, SG_MEMB_MAX_PEERS + 1);
	for (i = 0; i < SG_MEMB_MAX_PEERS + 1; i++) {
		sg_cbor_put_array(&e, 2);
		sg_cbor_put_bytes(&e, id, sizeof(id));
		sg_cbor_put_bytes(&e, id, 4);
	}
	n = sg_cbor_enc_finish(&e);
	assert_true(n > 0);
	assert_int_equal(sg_memb_decode(&m, buf, (size_t)n), SG_ERR_RANGE);

	/* A sender that is not 32 bytes. */
	sg_cbor_enc_init(&e, buf, sizeof(buf));
	sg_cbor_put_array(&e, 3);
	sg_cbor_put_uint(&e, SG_MEMB_DISCONNECT);
	sg_cbor_put_bytes(&e, id, 31);
	sg_cbor_put_bool(&e, 1);
	n = sg_cbor_enc_finish(&e);
	assert_int_equal(sg_memb_decode(&m, buf, (size_t)n), SG_ERR_RANGE);

	/* A flag that is an integer, not a bool. */
	sg_cbor_enc_init(&e, buf, sizeof(buf));
	sg_cbor_put_array(&e, 3);
	sg_cbor_put_uint(&e, SG_MEMB_DISCONNECT);
	sg_cbor_put_bytes(&e, id, sizeof(id));
	sg_cbor_put_uint(&e, 1);
	n = sg_cbor_enc_finish(&e);
	assert_int_equal(sg_memb_decode(&m, buf, (size_t)n), SG_ERR_TYPE);

	/* Wrong field count for the type; unknown type. */
	sg_cbor_enc_init(&e, buf, sizeof(buf));
	sg_cbor_put_array(&e, 4);
	sg_cbor_put_uint(&e, SG_MEMB_DISCONNECT);
	sg_cbor_put_bytes(&e, id, sizeof(id));
	sg_cbor_put_bool(&e, 1);
	sg_cbor_put_bool(&e, 1);
	n = sg_cbor_enc_finish(&e);
	assert_int_equal(sg_memb_decode(&m, buf, (size_t)n), SG_ERR_MALFORMED);
	sg_cbor_enc_init(&e, buf, sizeof(buf));
	sg_cbor_put_array(&e, 3);
	sg_cbor_put_uint(&e, 9);
	sg_cbor_put_bytes(&e, id, sizeof(id));
	sg_cbor_put_bool(&e, 1);
	n = sg_cbor_enc_finish(&e);
	assert_int_equal(sg_memb_decode(&m, buf, (size_t)n),
			 SG_ERR_UNSUPPORTED);
	assert_int_equal(sg_memb_peek_type(buf, (size_t)n), SG_ERR_UNSUPPORTED);

	/* A gossip kind above LEFT; trailing bytes. */
	sg_cbor_enc_init(&e, buf, sizeof(buf));
	sg_cbor_put_array(&e, 4);
	sg_cbor_put_uint(&e, SG_MEMB_PING);
	sg_cbor_put_bytes(&e, id, sizeof(id));
	sg_cbor_put_uint(&e, 5);
	sg_cbor_put_array(&e, 1);
	sg_cbor_put_array(&e, 3);
	sg_cbor_put_uint(&e, 4);
	sg_cbor_put_bytes(&e, id, sizeof(id));
	sg_cbor_put_uint(&e, 0);
	n = sg_cbor_enc_finish(&e);
	assert_int_equal(sg_memb_decode(&m, buf, (size_t)n), SG_ERR_RANGE);
	/* The same bytes with the kind set to DEAD (kind, 34-byte id, inc
	 * end the message) decode; ALIVE and LEFT do not (claims only). */
	assert_int_equal(buf[n - 36], 0x04);
	buf[n - 36] = 0x00;
	assert_int_equal(sg_memb_decode(&m, buf, (size_t)n), SG_ERR_RANGE);
	buf[n - 36] = 0x03;
	assert_int_equal(sg_memb_decode(&m, buf, (size_t)n), SG_ERR_RANGE);
	buf[n - 36] = 0x02;
	assert_int_equal(sg_memb_decode(&m, buf, (size_t)n), 0);
	buf[n] = 0;
	assert_int_equal(sg_memb_decode(&m, buf, (size_t)n + 1),
			 SG_ERR_TRAILING);

	/* Oversized input and NULL arguments. */
	assert_int_equal(sg_memb_decode(&m, buf, SG_MEMB_MSG_MAX + 1),
			 SG_ERR_RANGE);
	assert_int_equal(sg_memb_decode(NULL, buf, 1), SG_ERR_INVAL);
	assert_int_equal(sg_memb_decode(&m, NULL, 1), SG_ERR_INVAL);
	assert_int_equal(sg_memb_encode(buf, sizeof(buf), NULL), SG_ERR_INVAL);
}

static void test_claims(void **state)
{
	static const char *const other_ctx[] = {
	    SG_SIGCTX_MESSAGE,		SG_SIGCTX_ADVERT,
	    SG_SIGCTX_MEMBER_KEYS,	SG_SIGCTX_GROUP_COMMIT,
	    SG_SIGCTX_GROUP_INVITE,	SG_SIGCTX_GROUP_LEAVE,
	    SG_SIGCTX_PRESENCE_BEACON,	SG_SIGCTX_HANDSHAKE_SERVER,
	    SG_SIGCTX_HANDSHAKE_CLIENT,
	};
	static sg_identity a, b;
	uint8_t seed[SG_IDENTITY_SEED_LEN], sig[SG_MLDSA65_SIG_LEN];
	uint8_t sig2[SG_MLDSA65_SIG_LEN], tbs[SG_MEMB_CLAIM_TBS_MAX];
	uint8_t buf[SG_MEMB_MSG_MAX];
	sg_memb_claim c, x;
	sg_memb_msg m, d;
	size_t i;
	long n;
	(void)state;

	memset(seed, 0xa1, sizeof(seed));
	assert_int_equal(sg_identity_from_seed(&a, seed), 0);
	memset(seed, 0xb2, sizeof(seed));
	assert_int_equal(sg_identity_from_seed(&b, seed), 0);
	memset(&c, 0, sizeof(c));
	c.kind = SG_MEMB_ALIVE;
	c.incarnation = 7;
	assert_int_equal(sg_memb_claim_sign(&c, sig, &a, NULL), 0);
	assert_memory_equal(c.subject.bytes, a.id.bytes, SG_PEER_ID_LEN);
	assert_ptr_equal(c.pk, a.pk);
	assert_int_equal(sg_memb_claim_verify(&c), 0);
	/* Through the wire, relayed by b. */
	memset(&m, 0, sizeof(m));
	m.type = SG_MEMB_CLAIM;
	m.sender = b.id;
	m.claim = c;
	n = sg_memb_encode(buf, sizeof(buf), &m);
	assert_true(n > 0);
	assert_int_equal(sg_memb_decode(&d, buf, (size_t)n), 0);
	assert_int_equal(sg_memb_claim_verify(&d.claim), 0);
	/* Any other incarnation or kind: refused. */
	x = c;
	x.incarnation = 8;
	assert_int_equal(sg_memb_claim_verify(&x), SG_ERR_VERIFY);
	x = c;
	x.kind = SG_MEMB_LEFT;
	assert_int_equal(sg_memb_claim_verify(&x), SG_ERR_VERIFY);
	x.kind = SG_MEMB_DEAD;
	assert_int_equal(sg_memb_claim_verify(&x), SG_ERR_INVAL);
	/* Every flipped signature byte (one bit per byte): refused. */
	memcpy(sig2, sig, sizeof(sig2));
	x = c;
	x.sig = sig2;
	for (i = 0; i < SG_MLDSA65_SIG_LEN; i++) {
		sig2[i] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(sg_memb_claim_verify(&x), SG_ERR_VERIFY);
		sig2[i] ^= (uint8_t)(1u << (i % 8));
	}
	/* b's key under a's name: not the subject's key. b's key and name
	 * with a's signature: refused. */
	x = c;
	x.pk = b.pk;
	assert_int_equal(sg_memb_claim_verify(&x), SG_ERR_KEY);
	x.subject = b.id;
	assert_int_equal(sg_memb_claim_verify(&x), SG_ERR_VERIFY);
	/* A third party cannot make a claim about a: b signs "a is alive at
	 * 9" with its own key and presents a's key. */
	x = c;
	x.incarnation = 9;
	n = sg_memb_claim_tbs(tbs, &x);
	assert_true(n > 0);
	assert_int_equal(sg_mldsa65_sign(sig2, tbs, (size_t)n,
					 (const uint8_t *)SG_SIGCTX_MEMB_CLAIM,
					 sizeof(SG_SIGCTX_MEMB_CLAIM) - 1, b.sk,
					 NULL),
			 0);
	x.sig = sig2;
	assert_int_equal(sg_memb_claim_verify(&x), SG_ERR_VERIFY);
	/* Domain separation: the claim's signature verifies under no other
	 * context, and a's signature of the same bytes under any other
	 * context is no claim. */
	n = sg_memb_claim_tbs(tbs, &c);
	assert_true(n > 0);
	for (i = 0; i < sizeof(other_ctx) / sizeof(other_ctx[0]); i++) {
		size_t cl = strlen(other_ctx[i]);

		assert_int_not_equal(strcmp(other_ctx[i], SG_SIGCTX_MEMB_CLAIM),
				     0);
		assert_int_equal(
		    sg_mldsa65_verify(sig, SG_MLDSA65_SIG_LEN, tbs, (size_t)n,
				      (const uint8_t *)other_ctx[i], cl, a.pk),
		    SG_ERR_VERIFY);
		assert_int_equal(sg_mldsa65_sign(sig2, tbs, (size_t)n,
						 (const uint8_t *)other_ctx[i],
						 cl, a.sk, NULL),
				 0);
		x = c;
		x.sig = sig2;
		assert_int_equal(sg_memb_claim_verify(&x), SG_ERR_VERIFY);
	}
	/* Argument checks. */
	x = c;
	x.pk = NULL;
	assert_int_equal(sg_memb_claim_verify(&x), SG_ERR_INVAL);
	assert_int_equal(sg_memb_claim_verify(NULL), SG_ERR_INVAL);
	x = c;
	x.kind = SG_MEMB_SUSPECT;
	assert_int_equal(sg_memb_claim_sign(&x, sig2, &a, NULL), SG_ERR_INVAL);
	sg_identity_wipe(&a);
	sg_identity_wipe(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_truncation_and_flips),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_claims),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
