/*
 * The hybrid PQ handshake (docs/PROTOCOL.md, "Handshake"): both sides run in
 * memory with seeded RNGs and must agree on every secret and on each other's
 * PeerId; expected-PeerId checks; every flipped byte and every truncation of
 * every message fails cleanly; reordered, replayed, duplicated and spliced
 * messages fail; one-byte delivery works; all-zero X25519 shares are
 * rejected; no randomness is drawn before a whole ClientHello; the
 * messages, signatures, MACs and keys match the spec's text recomputed with
 * BLAKE3 and ML-DSA directly; packet and header protection reproduce RFC
 * 9001 appendix A.5; the state machine never allocates.
 */
#include "testutil.h"
#include "sg/err.h"
#include "sg/blake3.h"
#include "sg/handshake.h"
#include "sg/mldsa65.h"

#include <string.h>

static sg_identity alice, bob, carol;
static const uint8_t ctp[] = "client transport parameters";
static const uint8_t stp[] = "server transport parameters, a few more";

/* One in-memory connection: both cores and the flights they sent. */
typedef struct pair {
	sg_test_env cenv, senv;
	sg_handshake c, s;
	/* Flights as sent: [0] client Initial, [1] server Initial,
	 * [2] server Handshake, [3] client Handshake. */
	uint8_t fl[4][16384];
	size_t fl_len[4];
	int crc, src; /* first errors seen from recv on each side */
} pair;

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
	return sg_identity_from_seed(&carol, seed);
}

/* Budget 0: any allocation would fail the handshake. */
static pair *pair_new(uint64_t seed, const sg_peer_id *expected)
{
	pair *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	sg_test_env_init(&p->cenv, seed, 0);
	sg_test_env_init(&p->senv, seed + 1000, 0);
	assert_int_equal(sg_handshake_init(&p->c, SG_HANDSHAKE_CLIENT, &alice,
					   expected, ctp, sizeof(ctp),
					   &p->cenv.env),
			 0);
	assert_int_equal(sg_handshake_init(&p->s, SG_HANDSHAKE_SERVER, &bob,
					   NULL, stp, sizeof(stp),
					   &p->senv.env),
			 0);
	return p;
}

static void pair_del(pair *p)
{
	sg_handshake_fini(&p->c);
	sg_handshake_fini(&p->s);
	free(p);
}

/* Moves what `from` has to send into `to`, chunk bytes at a time,
 * recording it; returns the number of bytes moved. */
static size_t move(pair *p, int from_client, size_t chunk)
{
	sg_handshake *from = from_client ? &p->c : &p->s;
	sg_handshake *to = from_client ? &p->s : &p->c;
	int *rc = from_client ? &p->src : &p->crc;
	sg_handshake_level lvl;
	uint8_t buf[1500];
	size_t moved = 0;
	long n;

	while ((n = sg_handshake_poll_tx(
		    from, &lvl, buf,
		    chunk < sizeof(buf) ? chunk : sizeof(buf))) > 0) {
		int f = from_client
			    ? (lvl == SG_HANDSHAKE_LEVEL_INITIAL ? 0 : 3)
			    : (lvl == SG_HANDSHAKE_LEVEL_INITIAL ? 1 : 2);
		int r;

		assert_true(p->fl_len[f] + (size_t)n <= sizeof(p->fl[f]));
		memcpy(p->fl[f] + p->fl_len[f], buf, (size_t)n);
		p->fl_len[f] += (size_t)n;
		r = sg_handshake_recv(to, lvl, buf, (size_t)n);
		if (r != 0 && *rc == 0)
			*rc = r;
		moved += (size_t)n;
	}
	return moved;
}

static void run(pair *p, size_t chunk)
{
	while (move(p, 1, chunk) + move(p, 0, chunk) > 0)
		;
}

static void assert_agree(pair *p)
{
	uint8_t a[32], b[32], c2[32];
	sg_handshake_pkt_keys ka, kb;
	int lvl;

	assert_true(sg_handshake_done(&p->c));
	assert_true(sg_handshake_done(&p->s));
	for (lvl = SG_HANDSHAKE_LEVEL_HANDSHAKE; lvl <= SG_HANDSHAKE_LEVEL_APP;
	     lvl++) {
		assert_int_equal(
		    sg_handshake_secret(&p->c, lvl, SG_HANDSHAKE_TX, a), 0);
		assert_int_equal(
		    sg_handshake_secret(&p->s, lvl, SG_HANDSHAKE_RX, b), 0);
		assert_memory_equal(a, b, 32);
		assert_int_equal(
		    sg_handshake_secret(&p->c, lvl, SG_HANDSHAKE_RX, c2), 0);
		assert_memory_not_equal(a, c2, 32);
		assert_int_equal(
		    sg_handshake_secret(&p->s, lvl, SG_HANDSHAKE_TX, b), 0);
		assert_memory_equal(c2, b, 32);
		assert_int_equal(
		    sg_handshake_keys(&p->c, lvl, SG_HANDSHAKE_RX, &ka), 0);
		assert_int_equal(
		    sg_handshake_keys(&p->s, lvl, SG_HANDSHAKE_TX, &kb), 0);
		assert_memory_equal(&ka, &kb, sizeof(ka));
	}
}

/* sg_handshake_poll_tx_ref hands out the same bytes as sg_handshake_poll_tx
 * (the same seeds give the same flights), each flight's whole pending output
 * at once, and the bytes stay in place, unchanged, until sg_handshake_fini:
 * QUIC keeps pointers to them until they are acknowledged. */
static void test_poll_tx_ref(void **state)
{
	pair *ref = pair_new(77, NULL), *p = pair_new(77, NULL);
	struct {
		const uint8_t *at;
		size_t len;
		int f;
		uint8_t copy[16384];
	} *piece = calloc(16, sizeof(*piece));
	size_t npiece = 0, got[4] = {0, 0, 0, 0}, i;
	const uint8_t *out = (const uint8_t *)"x";
	sg_handshake_level lvl;
	int moved = 1;
	(void)state;

	assert_non_null(piece);
	run(ref, 1500);
	assert_agree(ref);
	while (moved) {
		int from_client;

		moved = 0;
		for (from_client = 1; from_client >= 0; from_client--) {
			sg_handshake *from = from_client ? &p->c : &p->s;
			sg_handshake *to = from_client ? &p->s : &p->c;
			long n;

			while ((n = sg_handshake_poll_tx_ref(from, &lvl,
							     &out)) > 0) {
				int f = from_client
					    ? (lvl == SG_HANDSHAKE_LEVEL_INITIAL
						   ? 0
						   : 3)
					    : (lvl == SG_HANDSHAKE_LEVEL_INITIAL
						   ? 1
						   : 2);

				assert_true(npiece < 16);
				assert_true((size_t)n <=
					    sizeof(piece[0].copy));
				assert_true(got[f] + (size_t)n <=
					    ref->fl_len[f]);
				assert_memory_equal(out, ref->fl[f] + got[f],
						    (size_t)n);
				got[f] += (size_t)n;
				piece[npiece].at = out;
				piece[npiece].len = (size_t)n;
				piece[npiece].f = f;
				memcpy(piece[npiece].copy, out, (size_t)n);
				npiece++;
				assert_int_equal(
				    sg_handshake_recv(to, lvl, out, (size_t)n),
				    0);
				moved = 1;
			}
			assert_int_equal(n, 0);
		}
	}
	assert_agree(p);
	for (i = 0; i < 4; i++)
		assert_int_equal(got[i], ref->fl_len[i]);
	/* One piece per flight: the whole pending output at once. */
	assert_int_equal(npiece, 4);
	/* Still there, unchanged, after the handshake is done. */
	for (i = 0; i < npiece; i++)
		assert_memory_equal(piece[i].at, piece[i].copy, piece[i].len);
	/* Nothing left: 0, *out untouched; bad arguments refused. */
	out = NULL;
	assert_int_equal(sg_handshake_poll_tx_ref(&p->c, &lvl, &out), 0);
	assert_null(out);
	assert_int_equal(sg_handshake_poll_tx_ref(NULL, &lvl, &out),
			 SG_ERR_INVAL);
	assert_int_equal(sg_handshake_poll_tx_ref(&p->c, NULL, &out),
			 SG_ERR_INVAL);
	assert_int_equal(sg_handshake_poll_tx_ref(&p->c, &lvl, NULL),
			 SG_ERR_INVAL);
	free(piece);
	pair_del(ref);
	pair_del(p);
}

static void test_complete(void **state)
{
	pair *p = pair_new(1, NULL);
	const uint8_t *pk, *ek, *tp;
	sg_handshake_pkt_keys k;
	uint8_t sec[32], a[32], b[32];
	sg_peer_id id;
	size_t tp_len;
	(void)state;

	/* Nothing before the hellos; the server waits for a ClientHello. */
	assert_int_equal(sg_handshake_secret(&p->c,
					     SG_HANDSHAKE_LEVEL_HANDSHAKE,
					     SG_HANDSHAKE_TX, sec),
			 SG_ERR_AGAIN);
	assert_int_equal(sg_handshake_peer(&p->c, &id, NULL, NULL),
			 SG_ERR_AGAIN);
	assert_int_equal(sg_handshake_remote_tp(&p->s, &tp, &tp_len),
			 SG_ERR_AGAIN);
	assert_int_equal(move(p, 0, 1500), 0);

	/* H.6: with all of the ClientHello but its last byte, the server has
	 * drawn no random bytes (so no key, no encapsulation, no signature)
	 * and has nothing to send. */
	{
		uint8_t ch[4096];
		sg_test_rng before = p->senv.rng;
		sg_handshake_level l;
		long n = sg_handshake_poll_tx(&p->c, &l, ch, sizeof(ch));

		assert_true(n > 1000);
		memcpy(p->fl[0], ch, (size_t)n);
		p->fl_len[0] = (size_t)n;
		assert_int_equal(sg_handshake_recv(&p->s, l, ch, (size_t)n - 1),
				 0);
		assert_memory_equal(&before, &p->senv.rng, sizeof(before));
		assert_int_equal(
		    sg_handshake_poll_tx(&p->s, &l, ch, sizeof(ch)), 0);
		assert_int_equal(sg_handshake_recv(&p->s, l, ch + n - 1, 1), 0);
		assert_memory_not_equal(&before, &p->senv.rng, sizeof(before));
	}
	/* The ClientHello passes the cheap check. */
	assert_int_equal(
	    sg_handshake_check_client_hello(p->fl[0], p->fl_len[0]), 0);
	assert_int_equal(p->src, 0);
	assert_int_equal(sg_handshake_remote_tp(&p->s, &tp, &tp_len), 0);
	assert_int_equal(tp_len, sizeof(ctp));
	assert_memory_equal(tp, ctp, sizeof(ctp));
	/* No 0.5-RTT: the server has no 1-RTT keys yet. */
	assert_int_equal(sg_handshake_keys(&p->s, SG_HANDSHAKE_LEVEL_APP,
					   SG_HANDSHAKE_TX, &k),
			 SG_ERR_AGAIN);
	assert_int_equal(sg_handshake_keys(&p->s, SG_HANDSHAKE_LEVEL_HANDSHAKE,
					   SG_HANDSHAKE_TX, &k),
			 0);
	assert_false(sg_handshake_done(&p->s));

	move(p, 0, 1500);
	assert_int_equal(p->crc, 0);
	assert_true(sg_handshake_done(&p->c));
	assert_false(sg_handshake_done(&p->s));
	move(p, 1, 1500);
	assert_int_equal(p->src, 0);
	assert_agree(p);
	assert_int_equal(sg_handshake_keys(&p->c, SG_HANDSHAKE_LEVEL_INITIAL,
					   SG_HANDSHAKE_TX, &k),
			 SG_ERR_INVAL);

	/* Each side names the other by the key it verified. */
	assert_int_equal(sg_handshake_peer(&p->c, &id, &pk, &ek), 0);
	assert_true(sg_peer_id_equal(&id, &bob.id));
	assert_memory_equal(pk, bob.pk, SG_MLDSA65_PK_LEN);
	assert_memory_equal(ek, bob.kem_ek, SG_MLKEM768_EK_LEN);
	assert_int_equal(sg_handshake_peer(&p->s, &id, &pk, &ek), 0);
	assert_true(sg_peer_id_equal(&id, &alice.id));
	assert_memory_equal(pk, alice.pk, SG_MLDSA65_PK_LEN);
	assert_memory_equal(ek, alice.kem_ek, SG_MLKEM768_EK_LEN);
	assert_int_equal(sg_handshake_remote_tp(&p->c, &tp, &tp_len), 0);
	assert_int_equal(tp_len, sizeof(stp));
	assert_memory_equal(tp, stp, sizeof(stp));

	/* Key update: both sides step the same secret the same way. */
	assert_int_equal(sg_handshake_secret(&p->c, SG_HANDSHAKE_LEVEL_APP,
					     SG_HANDSHAKE_TX, a),
			 0);
	assert_int_equal(sg_handshake_secret(&p->s, SG_HANDSHAKE_LEVEL_APP,
					     SG_HANDSHAKE_RX, b),
			 0);
	sg_handshake_next_secret(a, a);
	sg_handshake_next_secret(b, b);
	assert_memory_equal(a, b, 32);
	assert_int_equal(sg_handshake_secret(&p->c, SG_HANDSHAKE_LEVEL_APP,
					     SG_HANDSHAKE_TX, b),
			 0);
	assert_memory_not_equal(a, b, 32);

	/* Anything more is unexpected. */
	assert_int_equal(sg_handshake_recv(&p->s, SG_HANDSHAKE_LEVEL_HANDSHAKE,
					   p->fl[3], 10),
			 SG_ERR_STATE);
	assert_int_equal(sg_handshake_error(&p->s), SG_ERR_STATE);
	assert_false(sg_handshake_done(&p->s));
	pair_del(p);
}

static void test_fresh_and_one_byte(void **state)
{
	pair *p = pair_new(2, &bob.id), *q = pair_new(3, &bob.id);
	uint8_t a[32], b[32];
	(void)state;

	/* Delivered one byte at a time, the handshake still completes. */
	run(p, 1);
	assert_int_equal(p->crc, 0);
	assert_int_equal(p->src, 0);
	assert_agree(p);
	run(q, 700);
	assert_agree(q);
	/* Fresh ephemeral keys every time: other messages, other keys. */
	assert_memory_not_equal(p->fl[0], q->fl[0], 200);
	assert_int_equal(sg_handshake_secret(&p->c, SG_HANDSHAKE_LEVEL_APP,
					     SG_HANDSHAKE_TX, a),
			 0);
	assert_int_equal(sg_handshake_secret(&q->c, SG_HANDSHAKE_LEVEL_APP,
					     SG_HANDSHAKE_TX, b),
			 0);
	assert_memory_not_equal(a, b, 32);
	pair_del(p);
	pair_del(q);
}

static void test_expected_peer(void **state)
{
	pair *p = pair_new(4, &carol.id);
	sg_handshake_level lvl;
	uint8_t buf[64];
	(void)state;

	/* The server refuses a ClientHello for another PeerId at once. */
	run(p, 1500);
	assert_int_equal(p->src, SG_ERR_NOTFOUND);
	assert_int_equal(sg_handshake_poll_tx(&p->s, &lvl, buf, sizeof(buf)),
			 SG_ERR_NOTFOUND);
	assert_int_equal(sg_handshake_alert(p->src), 112);
	pair_del(p);

	/* A man in the middle strips the expected PeerId (re-encoding the
	 * ClientHello): the server goes on, the client refuses the key. */
	p = pair_new(5, &carol.id);
	{
		uint8_t ch[4096];
		size_t n = 0, body;
		long r;

		while ((r = sg_handshake_poll_tx(&p->c, &lvl, ch + n,
						 sizeof(ch) - n)) > 0)
			n += (size_t)r;
		assert_int_equal(ch[n - 34], 0x58);
		ch[n - 34] = 0xf6; /* null */
		n -= 33;
		body = n - 4;
		ch[1] = (uint8_t)(body >> 16);
		ch[2] = (uint8_t)(body >> 8);
		ch[3] = (uint8_t)body;
		assert_int_equal(sg_handshake_check_client_hello(ch, n), 0);
		assert_int_equal(
		    sg_handshake_recv(&p->s, SG_HANDSHAKE_LEVEL_INITIAL, ch, n),
		    0);
	}
	run(p, 1500);
	assert_int_equal(p->crc, SG_ERR_VERIFY);
	assert_false(sg_handshake_done(&p->c));
	assert_false(sg_handshake_done(&p->s));
	pair_del(p);

	/* The right PeerId works (test_fresh_and_one_byte), and so does none.
	 */
	p = pair_new(6, NULL);
	run(p, 1500);
	assert_agree(p);
	pair_del(p);
}

/* The largest transport parameters both ways still fit every buffer. */
static void test_max_transport_params(void **state)
{
	static uint8_t big_c[SG_HANDSHAKE_MAX_TP], big_s[SG_HANDSHAKE_MAX_TP];
	pair *p = calloc(1, sizeof(*p));
	const uint8_t *tp;
	size_t tp_len;
	(void)state;

	assert_non_null(p);
	memset(big_c, 0xc1, sizeof(big_c));
	memset(big_s, 0x5e, sizeof(big_s));
	sg_test_env_init(&p->cenv, 30, 0);
	sg_test_env_init(&p->senv, 31, 0);
	assert_int_equal(sg_handshake_init(&p->c, SG_HANDSHAKE_CLIENT, &alice,
					   &bob.id, big_c, sizeof(big_c),
					   &p->cenv.env),
			 0);
	assert_int_equal(sg_handshake_init(&p->s, SG_HANDSHAKE_SERVER, &bob,
					   NULL, big_s, sizeof(big_s),
					   &p->senv.env),
			 0);
	run(p, 1200);
	assert_int_equal(p->crc, 0);
	assert_int_equal(p->src, 0);
	assert_agree(p);
	assert_int_equal(sg_handshake_remote_tp(&p->c, &tp, &tp_len), 0);
	assert_int_equal(tp_len, sizeof(big_s));
	assert_memory_equal(tp, big_s, sizeof(big_s));
	assert_int_equal(sg_handshake_remote_tp(&p->s, &tp, &tp_len), 0);
	assert_int_equal(tp_len, sizeof(big_c));
	assert_memory_equal(tp, big_c, sizeof(big_c));
	pair_del(p);
}

static const sg_handshake_level flight_level[4] = {
    SG_HANDSHAKE_LEVEL_INITIAL, SG_HANDSHAKE_LEVEL_INITIAL,
    SG_HANDSHAKE_LEVEL_HANDSHAKE, SG_HANDSHAKE_LEVEL_HANDSHAKE};

/* Records everything a core has to send into its flights. */
static void collect(pair *p, int client)
{
	sg_handshake_level l;
	uint8_t tmp[1500];
	long n;

	while ((n = sg_handshake_poll_tx(client ? &p->c : &p->s, &l, tmp,
					 sizeof(tmp))) > 0) {
		int f = client ? (l == SG_HANDSHAKE_LEVEL_INITIAL ? 0 : 3)
			       : (l == SG_HANDSHAKE_LEVEL_INITIAL ? 1 : 2);
		assert_true(p->fl_len[f] + (size_t)n <= sizeof(p->fl[f]));
		memcpy(p->fl[f] + p->fl_len[f], tmp, (size_t)n);
		p->fl_len[f] += (size_t)n;
	}
}

/* Delivers flight i (its recorded bytes, or msg[0..len) when msg is
 * given, as a man in the middle would) to its receiver and records what
 * the receiver sends in turn. Returns recv's result. */
static int step(pair *p, int i, const uint8_t *msg, size_t len)
{
	int to_server = i == 0 || i == 3;
	int rc;

	if (!msg) {
		msg = p->fl[i];
		len = p->fl_len[i];
	}
	rc = sg_handshake_recv(to_server ? &p->s : &p->c, flight_level[i], msg,
			       len);
	if (rc == 0)
		collect(p, !to_server);
	return rc;
}

/* Checkpoints of one connection: cp[f] holds both cores just before
 * flight f is delivered (cp[4]: complete). Cores are plain memory, so a
 * copy is a saved state; the damage tests resume from a copy. */
typedef struct checkpoints {
	pair *cp[5];
} checkpoints;

static void checkpoints_make(checkpoints *k, uint64_t seed)
{
	int i;

	k->cp[0] = pair_new(seed, NULL);
	collect(k->cp[0], 1);
	for (i = 1; i <= 4; i++) {
		k->cp[i] = malloc(sizeof(pair));
		assert_non_null(k->cp[i]);
		memcpy(k->cp[i], k->cp[i - 1], sizeof(pair));
		assert_int_equal(step(k->cp[i], i - 1, NULL, 0), 0);
	}
	assert_agree(k->cp[4]);
}

static void checkpoints_free(checkpoints *k)
{
	int i;

	for (i = 0; i <= 4; i++) {
		sg_handshake_fini(&k->cp[i]->c);
		sg_handshake_fini(&k->cp[i]->s);
		free(k->cp[i]);
	}
}

/* Resumes from cp[f] with flight f replaced by msg[0..len) and relays the
 * rest honestly; reports the first error of each side. The two sides
 * never both complete. */
static void replay_damaged(const checkpoints *k, int f, const uint8_t *msg,
			   size_t len, int *crc, int *src)
{
	static pair w;
	int i, rc = 0;

	memcpy(&w, k->cp[f], sizeof(w));
	w.fl_len[f] = 0;
	*crc = *src = 0;
	for (i = f; i < 4 && rc == 0; i++) {
		rc = step(&w, i, i == f ? msg : NULL, len);
		if (rc != 0)
			*(i == 0 || i == 3 ? src : crc) = rc;
	}
	assert_false(sg_handshake_done(&w.c) && sg_handshake_done(&w.s));
	sg_handshake_fini(&w.c);
	sg_handshake_fini(&w.s);
}

/* Splits a flight into its messages (offsets into fl). */
static size_t split(const uint8_t *fl, size_t len, size_t *off, size_t max)
{
	size_t n = 0, at = 0;

	while (at < len && n < max) {
		size_t body = (size_t)fl[at + 1] << 16 |
			      (size_t)fl[at + 2] << 8 | fl[at + 3];
		off[n++] = at;
		at += 4 + body;
	}
	assert_int_equal(at, len);
	off[n] = len;
	return n;
}

/* Whether byte i of flight f is in one of its messages' length fields. */
static int is_length_byte(const pair *p, int f, size_t i)
{
	size_t off[8], n = split(p->fl[f], p->fl_len[f], off, 7), m;

	for (m = 0; m < n; m++)
		if (i > off[m] && i < off[m] + 4)
			return 1;
	return 0;
}

/* BLAKE3-derive-key over the concatenation of messages msgs[0..n). */
static void derive_over(uint8_t out[32], const char *ctx,
			const uint8_t *const *msgs, const size_t *lens,
			size_t n)
{
	sg_blake3_hasher h;
	size_t i;

	sg_blake3_init_derive_key(&h, ctx);
	for (i = 0; i < n; i++)
		sg_blake3_update(&h, msgs[i], lens[i]);
	sg_blake3_final(&h, out, 32);
}

/* The spec, recomputed from its text with the BLAKE3 and ML-DSA APIs alone
 * (the context strings are copied from docs/PROTOCOL.md, not from the
 * implementation): the transcript hash (H.3), both signatures with their
 * contexts and nothing else (DESIGN section 6: a signature for one purpose
 * never verifies for another), both Finished MACs, the packet keys, the
 * key update and the Initial secrets (H.4). */
static void test_spec_conformance(void **state)
{
	static const char th_ctx[] =
	    "saorsa-gossip 2026-11 handshake transcript v1";
	static const char *const ctxs[] = {
	    "saorsa-gossip/v1 handshake server",
	    "saorsa-gossip/v1 handshake client",
	    "saorsa-gossip/v1 published message",
	};
	pair *p = pair_new(40, &bob.id);
	const uint8_t *m[8];
	size_t len[8], off[8], i, n = 0;
	uint8_t th[32], fk[32], mac[32], sec[32], want[32], salt[32], is[32];
	uint8_t dcid[8] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
	sg_handshake_pkt_keys k;
	int f, c;
	(void)state;

	run(p, 1500);
	assert_agree(p);
	/* Messages in flow order: CH, SH, S_ID, S_CV, S_FIN, C_ID, C_CV,
	 * C_FIN. */
	for (f = 0; f < 4; f++) {
		size_t k2 = split(p->fl[f], p->fl_len[f], off, 7);
		for (i = 0; i < k2; i++) {
			m[n] = p->fl[f] + off[i];
			len[n++] = off[i + 1] - off[i];
		}
	}
	assert_int_equal(n, 8);
	for (i = 0; i < 8; i++) {
		static const uint8_t types[8] = {1, 2, 3, 5, 6, 4, 5, 6};
		assert_int_equal(m[i][0], types[i]);
	}

	/* CertificateVerify bodies: [bstr(3309)] = 81 59 0c ed sig. */
	for (c = 0; c < 2; c++) {
		const uint8_t *cv = c == 0 ? m[3] : m[6];
		const uint8_t *pk = c == 0 ? bob.pk : alice.pk;
		size_t upto = c == 0 ? 3 : 6;
		int x;

		assert_int_equal(cv[4], 0x81);
		assert_int_equal(cv[5], 0x59);
		derive_over(th, th_ctx, m, len, upto);
		for (x = 0; x < 3; x++)
			assert_int_equal(
			    sg_mldsa65_verify(cv + 8, SG_MLDSA65_SIG_LEN, th,
					      32, (const uint8_t *)ctxs[x],
					      strlen(ctxs[x]), pk),
			    x == c ? 0 : SG_ERR_VERIFY);
	}

	/* Finished: keyed(Expand(own handshake secret, finished), TH). */
	for (c = 0; c < 2; c++) {
		const uint8_t *fin = c == 0 ? m[4] : m[7];
		size_t upto = c == 0 ? 4 : 7;

		assert_int_equal(sg_handshake_secret(
				     &p->c, SG_HANDSHAKE_LEVEL_HANDSHAKE,
				     c == 0 ? SG_HANDSHAKE_RX : SG_HANDSHAKE_TX,
				     sec),
				 0);
		sg_blake3_derive_key(
		    fk, 32, "saorsa-gossip 2026-11 handshake finished v1", sec,
		    32);
		derive_over(th, th_ctx, m, len, upto);
		sg_blake3_keyed(mac, fk, th, 32);
		assert_int_equal(len[upto], 4 + 1 + 2 + 32);
		assert_memory_equal(fin + 7, mac, 32);
	}

	/* Packet keys and the key update from a traffic secret. */
	assert_int_equal(sg_handshake_secret(&p->c, SG_HANDSHAKE_LEVEL_APP,
					     SG_HANDSHAKE_TX, sec),
			 0);
	sg_handshake_pkt_keys_from_secret(&k, sec);
	sg_blake3_derive_key(want, 32, "saorsa-gossip 2026-11 quic key v1", sec,
			     32);
	assert_memory_equal(k.key, want, 32);
	sg_blake3_derive_key(want, 12, "saorsa-gossip 2026-11 quic iv v1", sec,
			     32);
	assert_memory_equal(k.iv, want, 12);
	sg_blake3_derive_key(want, 32, "saorsa-gossip 2026-11 quic hp v1", sec,
			     32);
	assert_memory_equal(k.hp, want, 32);
	sg_blake3_derive_key(
	    want, 32,
	    "saorsa-gossip 2026-11 handshake application traffic update v1",
	    sec, 32);
	sg_handshake_next_secret(sec, sec);
	assert_memory_equal(sec, want, 32);

	/* Initial secrets. */
	sg_blake3_derive_key(
	    salt, 32, "saorsa-gossip 2026-11 quic initial salt v1", NULL, 0);
	sg_blake3_keyed(is, salt, dcid, sizeof(dcid));
	sg_blake3_derive_key(
	    want, 32, "saorsa-gossip 2026-11 quic client initial v1", is, 32);
	assert_int_equal(
	    sg_handshake_initial_secrets(sec, th, dcid, sizeof(dcid)), 0);
	assert_memory_equal(sec, want, 32);
	sg_blake3_derive_key(
	    want, 32, "saorsa-gossip 2026-11 quic server initial v1", is, 32);
	assert_memory_equal(th, want, 32);
	pair_del(p);
}

static void test_flipped_bytes(void **state)
{
	checkpoints k;
	const pair *ref;
	static uint8_t buf[16384];
	int f;
	(void)state;

	checkpoints_make(&k, 7);
	ref = k.cp[4];
	for (f = 0; f < 4; f++) {
		size_t i;

		for (i = 0; i < ref->fl_len[f]; i++) {
			int crc, src;

			memcpy(buf, ref->fl[f], ref->fl_len[f]);
			buf[i] ^= (uint8_t)(1u << (i % 8));
			replay_damaged(&k, f, buf, ref->fl_len[f], &crc, &src);
			/* A flipped length byte that makes a message longer
			 * leaves the stream waiting for more: not complete,
			 * as replay_damaged checked. Anything else fails. */
			if (crc != 0 || src != 0 || is_length_byte(ref, f, i))
				continue;
			fail_msg("flight %d byte %zu accepted", f, i);
		}
	}
	checkpoints_free(&k);
}

/* Feeds msg at a level to one core of a copy of checkpoint cp[steps];
 * returns recv's result. */
static int deliver_after(const checkpoints *k, int steps, int to_server,
			 sg_handshake_level lvl, const uint8_t *msg, size_t len)
{
	static pair w;
	int rc;

	memcpy(&w, k->cp[steps], sizeof(w));
	rc = sg_handshake_recv(to_server ? &w.s : &w.c, lvl, msg, len);
	sg_handshake_fini(&w.c);
	sg_handshake_fini(&w.s);
	return rc;
}

static void test_truncations(void **state)
{
	checkpoints k;
	const pair *ref;
	static uint8_t buf[16384];
	int f;
	(void)state;

	checkpoints_make(&k, 8);
	ref = k.cp[4];
	/* The cheap check wants the whole ClientHello, and nothing more. */
	for (size_t i = 0; i < ref->fl_len[0]; i++)
		assert_int_equal(sg_handshake_check_client_hello(ref->fl[0], i),
				 SG_ERR_TRUNCATED);
	memcpy(buf, ref->fl[0], ref->fl_len[0]);
	assert_int_equal(
	    sg_handshake_check_client_hello(buf, ref->fl_len[0] + 1),
	    SG_ERR_TRAILING);

	for (f = 0; f < 4; f++) {
		size_t off[8], n = split(ref->fl[f], ref->fl_len[f], off, 7);
		size_t m;

		for (m = 0; m < n; m++) {
			size_t mlen = off[m + 1] - off[m], j;

			for (j = 4; j < mlen; j++) {
				/* The message cut to j bytes with its header
				 * re-written to match, then the rest of the
				 * flight: a decoding error. */
				size_t blen = j - 4, len;
				int crc, src;

				memcpy(buf, ref->fl[f], off[m] + j);
				buf[off[m] + 1] = (uint8_t)(blen >> 16);
				buf[off[m] + 2] = (uint8_t)(blen >> 8);
				buf[off[m] + 3] = (uint8_t)blen;
				len = off[m] + j;
				memcpy(buf + len, ref->fl[f] + off[m + 1],
				       ref->fl_len[f] - off[m + 1]);
				len += ref->fl_len[f] - off[m + 1];
				replay_damaged(&k, f, buf, len, &crc, &src);
				assert_true(crc < 0 || src < 0);
			}
			for (j = 0; j < mlen; j++) {
				/* Cut short: the receiver waits for more. */
				assert_int_equal(
				    deliver_after(&k, f, f == 0 || f == 3,
						  flight_level[f], ref->fl[f],
						  off[m] + j),
				    0);
			}
		}
	}
	checkpoints_free(&k);
}

static void test_order_and_replay(void **state)
{
	checkpoints k, ko;
	const pair *ref, *other;
	size_t so[8], co[8];
	const int I = SG_HANDSHAKE_LEVEL_INITIAL,
		  H = SG_HANDSHAKE_LEVEL_HANDSHAKE;
	(void)state;

	checkpoints_make(&k, 9);
	checkpoints_make(&ko, 10);
	ref = k.cp[4];
	other = ko.cp[4];
	split(ref->fl[2], ref->fl_len[2], so, 7);
	split(ref->fl[3], ref->fl_len[3], co, 7);

	/* Replayed ClientHello, duplicated server flight, data after the
	 * end: all unexpected. */
	assert_int_equal(deliver_after(&k, 1, 1, I, ref->fl[0], ref->fl_len[0]),
			 SG_ERR_STATE);
	assert_int_equal(deliver_after(&k, 3, 0, H, ref->fl[2], ref->fl_len[2]),
			 SG_ERR_STATE);
	assert_int_equal(deliver_after(&k, 2, 0, I, ref->fl[1], ref->fl_len[1]),
			 SG_ERR_STATE);
	assert_int_equal(deliver_after(&k, 4, 1, H, ref->fl[3], 4),
			 SG_ERR_STATE);
	/* Reordered: the server's CertificateVerify before its identity,
	 * its Finished first, the client's flight before its hello, a
	 * Handshake message at the Initial level. */
	assert_int_equal(
	    deliver_after(&k, 2, 0, H, ref->fl[2] + so[1], so[2] - so[1]),
	    SG_ERR_STATE);
	assert_int_equal(
	    deliver_after(&k, 2, 0, H, ref->fl[2] + so[2], so[3] - so[2]),
	    SG_ERR_STATE);
	assert_int_equal(deliver_after(&k, 0, 1, H, ref->fl[3], ref->fl_len[3]),
			 SG_ERR_STATE);
	assert_int_equal(deliver_after(&k, 2, 0, I, ref->fl[2], ref->fl_len[2]),
			 SG_ERR_STATE);
	assert_int_equal(
	    deliver_after(&k, 3, 1, H, ref->fl[3] + co[1], co[2] - co[1]),
	    SG_ERR_STATE);
	/* A ServerHello sent to a server, a ClientHello to a client. */
	assert_int_equal(deliver_after(&k, 0, 1, I, ref->fl[1], ref->fl_len[1]),
			 SG_ERR_STATE);
	assert_int_equal(deliver_after(&k, 1, 0, I, ref->fl[0], ref->fl_len[0]),
			 SG_ERR_STATE);
	/* The 1-RTT level carries no handshake data. */
	assert_int_equal(deliver_after(&k, 0, 1, SG_HANDSHAKE_LEVEL_APP,
				       ref->fl[0], ref->fl_len[0]),
			 SG_ERR_STATE);

	/* Replays across sessions: another session's server flight to this
	 * client, another client's flight to this server. */
	assert_int_equal(
	    deliver_after(&k, 2, 0, H, other->fl[2], other->fl_len[2]),
	    SG_ERR_VERIFY);
	assert_int_equal(
	    deliver_after(&k, 3, 1, H, other->fl[3], other->fl_len[3]),
	    SG_ERR_VERIFY);
	/* A message longer than the maximum is refused from its header. */
	{
		uint8_t h[4] = {SG_HS_MSG_CLIENT_HELLO, 0, 0x18, 0x01};
		assert_int_equal(deliver_after(&k, 0, 1, I, h, 4),
				 SG_ERR_RANGE);
		assert_int_equal(sg_handshake_check_client_hello(h, 4),
				 SG_ERR_RANGE);
	}
	checkpoints_free(&k);
	checkpoints_free(&ko);
}

static void test_splice(void **state)
{
	checkpoints ka, kb;
	const pair *a, *b;
	static uint8_t buf[16384];
	int crc, src;
	(void)state;

	checkpoints_make(&ka, 11);
	checkpoints_make(&kb, 12);
	a = ka.cp[4];
	b = kb.cp[4];

	/* A man in the middle relays the hellos of session a but the
	 * server's Handshake flight of session b (same server identity). */
	replay_damaged(&ka, 2, b->fl[2], b->fl_len[2], &crc, &src);
	assert_int_equal(crc, SG_ERR_VERIFY);
	/* ... or b's ServerHello with a's server flight. */
	replay_damaged(&ka, 1, b->fl[1], b->fl_len[1], &crc, &src);
	assert_int_equal(crc, SG_ERR_VERIFY);
	/* ... or b's client flight to a's server. */
	replay_damaged(&ka, 3, b->fl[3], b->fl_len[3], &crc, &src);
	assert_int_equal(src, SG_ERR_VERIFY);
	/* ... or replaces the client's X25519 share with another valid one
	 * (b's): the server signs a transcript the client never saw. */
	memcpy(buf, a->fl[0], a->fl_len[0]);
	memcpy(buf + 42, b->fl[0] + 42, 32);
	replay_damaged(&ka, 0, buf, a->fl_len[0], &crc, &src);
	assert_int_equal(src, 0);
	assert_int_equal(crc, SG_ERR_VERIFY);
	/* ... or alters the client's transport parameters. */
	memcpy(buf, a->fl[0], a->fl_len[0]);
	buf[a->fl_len[0] - 2] ^= 0x20;
	replay_damaged(&ka, 0, buf, a->fl_len[0], &crc, &src);
	assert_int_equal(crc, SG_ERR_VERIFY);
	checkpoints_free(&ka);
	checkpoints_free(&kb);
}

static void test_zero_x25519(void **state)
{
	checkpoints k;
	const pair *ref;
	static uint8_t buf[16384];
	/* All-zero and another small-order point (the identity's encoding
	 * 1 and a point of order 8, RFC 7748 section 6.1). */
	static const uint8_t order8[32] = {
	    0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
	    0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
	    0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00};
	int crc, src, f, v;
	(void)state;

	checkpoints_make(&k, 13);
	ref = k.cp[4];

	for (f = 0; f < 2; f++) {
		for (v = 0; v < 3; v++) {
			memcpy(buf, ref->fl[f], ref->fl_len[f]);
			/* The share sits at offset 42 of both hellos. */
			assert_int_equal(buf[40], 0x58);
			assert_int_equal(buf[41], 0x20);
			memset(buf + 42, 0, 32);
			if (v == 1)
				buf[42] = 1;
			if (v == 2)
				memcpy(buf + 42, order8, 32);
			replay_damaged(&k, f, buf, ref->fl_len[f], &crc, &src);
			assert_int_equal(f == 0 ? src : crc, SG_ERR_KEY);
		}
	}
	checkpoints_free(&k);
}

static void test_api_edges(void **state)
{
	sg_test_env t;
	sg_handshake *hs = malloc(sizeof(*hs));
	uint8_t tp[SG_HANDSHAKE_MAX_TP + 1], c[32], s[32], c2[32], tag[16],
	    tag2[16], key[32], nonce[12];
	uint8_t dcid[21] = {1, 2, 3, 4, 5, 6, 7, 8};
	sg_handshake_pkt_keys k1, k2;
	sg_handshake_level lvl;
	uint8_t out[8];
	(void)state;

	assert_non_null(hs);
	sg_test_env_init(&t, 20, 0);
	memset(tp, 0, sizeof(tp));
	assert_int_equal(sg_handshake_init(hs, SG_HANDSHAKE_CLIENT, &alice,
					   NULL, tp, sizeof(tp), &t.env),
			 SG_ERR_RANGE);
	assert_int_equal(sg_handshake_init(hs, SG_HANDSHAKE_SERVER, &bob,
					   &alice.id, NULL, 0, &t.env),
			 SG_ERR_INVAL);
	assert_int_equal(sg_handshake_init(hs, SG_HANDSHAKE_CLIENT, NULL, NULL,
					   NULL, 0, &t.env),
			 SG_ERR_INVAL);
	assert_int_equal(sg_handshake_init(hs, (sg_handshake_role)7, &alice,
					   NULL, NULL, 0, &t.env),
			 SG_ERR_INVAL);
	assert_int_equal(
	    sg_handshake_recv(hs, SG_HANDSHAKE_LEVEL_INITIAL, tp, 1),
	    SG_ERR_INVAL);
	assert_int_equal(sg_handshake_init(hs, SG_HANDSHAKE_CLIENT, &alice,
					   NULL, tp, SG_HANDSHAKE_MAX_TP,
					   &t.env),
			 0);
	/* Small output buffers: the bytes come out in pieces. */
	assert_int_equal(sg_handshake_poll_tx(hs, &lvl, out, 0),
			 SG_ERR_BUFSIZE);
	assert_int_equal(sg_handshake_poll_tx(hs, &lvl, out, sizeof(out)), 8);
	assert_int_equal(lvl, SG_HANDSHAKE_LEVEL_INITIAL);
	assert_int_equal(out[0], SG_HS_MSG_CLIENT_HELLO);
	sg_handshake_fini(hs);
	sg_handshake_fini(NULL);

	/* Initial secrets: deterministic, distinct per DCID and direction. */
	assert_int_equal(sg_handshake_initial_secrets(c, s, dcid, 8), 0);
	assert_memory_not_equal(c, s, 32);
	assert_int_equal(sg_handshake_initial_secrets(c2, s, dcid, 8), 0);
	assert_memory_equal(c, c2, 32);
	assert_int_equal(sg_handshake_initial_secrets(c2, s, dcid, 7), 0);
	assert_memory_not_equal(c, c2, 32);
	assert_int_equal(sg_handshake_initial_secrets(c2, s, dcid, 21),
			 SG_ERR_RANGE);
	sg_handshake_pkt_keys_from_secret(&k1, c);
	sg_handshake_pkt_keys_from_secret(&k2, s);
	assert_memory_not_equal(k1.key, k2.key, 32);
	assert_memory_not_equal(k1.key, k1.hp, 32);

	/* Retry tags bind every byte of the pseudo-packet. */
	assert_int_equal(sg_handshake_retry_tag(tag, dcid, sizeof(dcid)), 0);
	dcid[20] ^= 1;
	assert_int_equal(sg_handshake_retry_tag(tag2, dcid, sizeof(dcid)), 0);
	assert_memory_not_equal(tag, tag2, 16);
	sg_handshake_retry_key(key, nonce);
	assert_memory_not_equal(key, nonce, 12);

	assert_int_equal(sg_handshake_alert(SG_ERR_VERIFY), 51);
	assert_int_equal(sg_handshake_alert(SG_ERR_MALFORMED), 50);
	assert_int_equal(sg_handshake_alert(SG_ERR_NOMEM), 40);
	free(hs);
}

static void unhex(uint8_t *out, size_t len, const char *hex)
{
	assert_int_equal(sg_hex_decode(out, len, hex, strlen(hex)), (long)len);
}

/* RFC 9001 appendix A.5: the ChaCha20-Poly1305 short-header packet, from
 * its key, iv and hp (our secrets differ; the packet protection is RFC
 * 9001's unchanged). */
static void test_rfc9001_chacha_packet(void **state)
{
	sg_handshake_pkt_keys k, k2;
	uint8_t hdr[4], pkt[21], want[21], buf[32], mask[5], nonce[12];
	const uint64_t pn = 654360564;
	const uint8_t one = 1;
	long n;
	(void)state;

	unhex(k.key, 32,
	      "c6d98ff3441c3fe1b2182094f69caa2ed4b716b65488960a7a98"
	      "4979fb23e1c8");
	unhex(k.iv, 12, "e0459b3474bdd0e44a41c144");
	unhex(k.hp, 32,
	      "25a282b9e82f06f21f488917a4fc8f1b73573685608597d0efcb"
	      "076b0ab7a7a4");
	unhex(hdr, 4, "4200bff4");
	unhex(want, 21, "4cfe4189655e5cd55c41f69080575d7999c25a5bfb");

	n = sg_handshake_pkt_seal(pkt + 4, sizeof(pkt) - 4, &k, pn, hdr, 4,
				  &one, 1);
	assert_int_equal(n, 17);
	memcpy(pkt, hdr, 4);
	/* Sample at the packet number offset (1) + 4. */
	sg_handshake_hp_mask(mask, k.hp, pkt + 5);
	unhex(buf, 5, "aefefe7d03");
	assert_memory_equal(mask, buf, 5);
	pkt[0] ^= mask[0] & 0x1f;
	pkt[1] ^= mask[1];
	pkt[2] ^= mask[2];
	pkt[3] ^= mask[3];
	assert_memory_equal(pkt, want, 21);

	/* Open it again, in place; any flipped bit fails. */
	n = sg_handshake_pkt_open(buf, sizeof(buf), &k, pn, hdr, 4, want + 4,
				  17);
	assert_int_equal(n, 1);
	assert_int_equal(buf[0], 1);
	memcpy(buf, want + 4, 17);
	assert_int_equal(
	    sg_handshake_pkt_open(buf, 17, &k, pn, hdr, 4, buf, 17), 1);
	for (size_t i = 0; i < 17 * 8; i++) {
		memcpy(buf, want + 4, 17);
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(sg_handshake_pkt_open(buf + 17, 15, &k, pn,
						       hdr, 4, buf, 17),
				 SG_ERR_VERIFY);
	}
	assert_int_equal(
	    sg_handshake_pkt_open(buf, 17, &k, pn + 1, hdr, 4, want + 4, 17),
	    SG_ERR_VERIFY);
	assert_int_equal(
	    sg_handshake_pkt_open(buf, 17, &k, pn, want, 4, want + 4, 17),
	    SG_ERR_VERIFY);
	assert_int_equal(
	    sg_handshake_pkt_open(buf, 17, &k, pn, hdr, 4, want + 4, 15),
	    SG_ERR_VERIFY);
	assert_int_equal(
	    sg_handshake_pkt_open(buf, 0, &k, pn, hdr, 4, want + 4, 17),
	    SG_ERR_BUFSIZE);
	assert_int_equal(
	    sg_handshake_pkt_seal(buf, 16, &k, pn, hdr, 4, &one, 1),
	    SG_ERR_BUFSIZE);
	sg_handshake_pkt_nonce(nonce, k.iv, 0);
	assert_memory_equal(nonce, k.iv, 12);
	sg_handshake_pkt_nonce(nonce, k.iv, pn);
	unhex(buf, 12, "e0459b3474bdd0e46d417eb0"); /* iv ^ 0x2700bff4 */
	assert_memory_equal(nonce, buf, 12);

	/* A key update changes key and iv; the hp key is kept by the QUIC
	 * layer (RFC 9001 section 6). */
	memset(buf, 7, 32);
	sg_handshake_pkt_keys_from_secret(&k, buf);
	sg_handshake_next_secret(buf, buf);
	sg_handshake_pkt_keys_from_secret(&k2, buf);
	assert_memory_not_equal(k.key, k2.key, 32);
	assert_memory_not_equal(k.iv, k2.iv, 12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_complete),
	    cmocka_unit_test(test_fresh_and_one_byte),
	    cmocka_unit_test(test_expected_peer),
	    cmocka_unit_test(test_max_transport_params),
	    cmocka_unit_test(test_spec_conformance),
	    cmocka_unit_test(test_order_and_replay),
	    cmocka_unit_test(test_splice),
	    cmocka_unit_test(test_zero_x25519),
	    cmocka_unit_test(test_api_edges),
	    cmocka_unit_test(test_poll_tx_ref),
	    cmocka_unit_test(test_rfc9001_chacha_packet),
	    cmocka_unit_test(test_truncations),
	    cmocka_unit_test(test_flipped_bytes),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
