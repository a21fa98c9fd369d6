/*
 * The hybrid post-quantum QUIC handshake (docs/PROTOCOL.md, "Handshake"):
 * message framing and reassembly (H.2), the transcript (H.3), the BLAKE3
 * key schedule (H.4), and the client and server state machines (H.5) with
 * the cheap ClientHello check of H.6. Every handler parses and checks its
 * whole message before it changes any state; any failure wipes the state
 * and leaves a sticky error. Pure: no sockets, no clock, no allocation.
 */
#include "sg/handshake.h"
#include "sg/blake3.h"
#include "sg/cbor.h"
#include "sg/err.h"
#include "sg/mldsa65.h"
#include "sg/mlkem768.h"

#include <sodium.h>
#include <string.h>

#include "hs_internal.h"

#define X25519_LEN 32
#define RANDOM_LEN 32
#define MAC_LEN 32
#define HDR_LEN SG_HANDSHAKE_HEADER_LEN
#define RX_CAP (HDR_LEN + SG_HANDSHAKE_MAX_BODY)
/* The largest flights (H.2): a ClientHello with the largest transport
 * parameters, and the server's Handshake flight likewise. */
#define TX_INITIAL_CAP 3584
#define TX_HANDSHAKE_CAP 8704
/* Encoded sizes at the limits: a byte string of n bytes takes n + 3 for
 * 256 <= n < 65536, a 32-byte one 34, the version and array heads 1. */
#define BSTR(n) ((n) + 3)
#define MAX_CH                                                                 \
	(HDR_LEN + 1 + 1 + 34 + 34 + BSTR(SG_MLKEM768_EK_LEN) +                \
	 BSTR(SG_HANDSHAKE_MAX_TP) + 34)
#define MAX_SID                                                                \
	(HDR_LEN + 1 + BSTR(SG_HANDSHAKE_MAX_TP) + BSTR(SG_MLDSA65_PK_LEN) +   \
	 BSTR(SG_MLKEM768_EK_LEN))
#define MAX_CV (HDR_LEN + 1 + BSTR(SG_MLDSA65_SIG_LEN))
#define MAX_FIN (HDR_LEN + 1 + 2 + 32)
_Static_assert(MAX_CH <= TX_INITIAL_CAP, "ClientHello does not fit");
_Static_assert(MAX_SID + MAX_CV + MAX_FIN <= TX_HANDSHAKE_CAP,
	       "server flight does not fit");
_Static_assert(MAX_SID <= RX_CAP && MAX_CH <= RX_CAP && MAX_CV <= RX_CAP,
	       "largest message exceeds SG_HANDSHAKE_MAX_BODY");

enum state {
	C_WAIT_SH,
	C_WAIT_S_ID,
	C_WAIT_S_CV,
	C_WAIT_S_FIN,
	S_WAIT_CH,
	S_WAIT_C_ID,
	S_WAIT_C_CV,
	S_WAIT_C_FIN,
	DONE,
};

typedef struct hs_state {
	const sg_env *env;
	const sg_identity *ident;
	int role;
	int state;
	int err;
	int hs_keys; /* handshake traffic secrets derived */

	int has_expected;
	sg_peer_id expected;
	uint8_t local_tp[SG_HANDSHAKE_MAX_TP];
	size_t local_tp_len;
	uint8_t remote_tp[SG_HANDSHAKE_MAX_TP];
	size_t remote_tp_len;
	int has_remote_tp;

	/* The peer's identity once its identity message parsed. */
	sg_peer_id peer_id;
	uint8_t peer_pk[SG_MLDSA65_PK_LEN];
	uint8_t peer_kem_ek[SG_MLKEM768_EK_LEN];

	/* Ephemeral secrets; wiped as soon as the hellos are processed. */
	uint8_t x_sk[X25519_LEN];
	uint8_t kem_dk[SG_MLKEM768_DK_LEN]; /* client only */

	/* Key schedule (H.4). */
	uint8_t chts[SECRET_LEN], shts[SECRET_LEN], ms[SECRET_LEN];
	uint8_t cats[SECRET_LEN], sats[SECRET_LEN];
	sg_blake3_hasher th;

	/* Reassembly of the one message in progress (H.2). */
	uint8_t rx[RX_CAP];
	size_t rx_len;
	size_t rx_body_len;

	uint8_t tx_initial[TX_INITIAL_CAP];
	uint8_t tx_handshake[TX_HANDSHAKE_CAP];
	size_t tx_len[2], tx_off[2];
} hs_state;

_Static_assert(sizeof(sg_handshake) >= sizeof(hs_state),
	       "SG_HANDSHAKE_OPAQUE_WORDS too small");
_Static_assert(_Alignof(sg_handshake) >= _Alignof(hs_state),
	       "sg_handshake under-aligned");

#define S(hs) ((hs_state *)(void *)(hs)->opaque)
#define CS(hs) ((const hs_state *)(const void *)(hs)->opaque)

/* The running transcript hash TH(m1 .. mn) (H.3). */
static void th_now(const hs_state *s, uint8_t out[SECRET_LEN])
{
	sg_blake3_final(&s->th, out, SECRET_LEN);
}

/* H.4: HS, CHTS, SHTS, MS from the two shared secrets and TH2. */
static void derive_handshake(hs_state *s, const uint8_t dh[X25519_LEN],
			     const uint8_t ss[SG_MLKEM768_SS_LEN])
{
	uint8_t zero[SECRET_LEN], ikm[X25519_LEN + SG_MLKEM768_SS_LEN];
	uint8_t hs[SECRET_LEN], derived[SECRET_LEN], th2[SECRET_LEN];

	memset(zero, 0, sizeof(zero));
	memcpy(ikm, dh, X25519_LEN);
	memcpy(ikm + X25519_LEN, ss, SG_MLKEM768_SS_LEN);
	sg_hs_extract(hs, zero, ikm, sizeof(ikm));
	th_now(s, th2);
	sg_hs_expand(s->chts, SECRET_LEN, hs, CTX_C_HS, th2, sizeof(th2));
	sg_hs_expand(s->shts, SECRET_LEN, hs, CTX_S_HS, th2, sizeof(th2));
	sg_hs_expand(derived, SECRET_LEN, hs, CTX_DERIVED, th2, sizeof(th2));
	sg_hs_extract(s->ms, derived, zero, sizeof(zero));
	s->hs_keys = 1;
	sg_wipe(ikm, sizeof(ikm));
	sg_wipe(hs, sizeof(hs));
	sg_wipe(derived, sizeof(derived));
}

/* H.4: CATS0 and SATS0 from MS and the full transcript. */
static void derive_application(hs_state *s)
{
	uint8_t thf[SECRET_LEN];

	th_now(s, thf);
	sg_hs_expand(s->cats, SECRET_LEN, s->ms, CTX_C_AP, thf, sizeof(thf));
	sg_hs_expand(s->sats, SECRET_LEN, s->ms, CTX_S_AP, thf, sizeof(thf));
	sg_wipe(s->ms, sizeof(s->ms));
}

/* The Finished MAC of a side (H.4, H.5): keyed with fk = Expand(its
 * handshake traffic secret, "finished") over the current transcript. */
static void finished_mac(const hs_state *s, int of_client, uint8_t mac[MAC_LEN])
{
	uint8_t fk[SECRET_LEN], th[SECRET_LEN];

	sg_hs_expand(fk, sizeof(fk), of_client ? s->chts : s->shts,
		     CTX_FINISHED, NULL, 0);
	th_now(s, th);
	sg_blake3_keyed(mac, fk, th, sizeof(th));
	sg_wipe(fk, sizeof(fk));
}

/* ---- Message decoding (H.2) ------------------------------------------ */

typedef struct client_hello {
	const uint8_t *random, *x25519, *kem_ek, *tp, *expected;
	size_t tp_len;
} client_hello;

typedef struct server_hello {
	const uint8_t *x25519, *kem_ct;
} server_hello;

typedef struct identity_msg {
	const uint8_t *tp, *pk, *kem_ek;
	size_t tp_len;
} identity_msg;

/* Validates body as strict CBOR (an array of scalars) and opens the array,
 * which must have exactly n elements. */
static int open_body(sg_cbor_dec *d, const uint8_t *body, size_t len, size_t n)
{
	sg_cbor_limits lim = {.max_depth = 1, .max_items = 16};
	size_t count;
	int rc;

	if ((rc = sg_cbor_validate(body, len, &lim)) != 0)
		return rc;
	sg_cbor_dec_init(d, body, len);
	if ((rc = sg_cbor_get_array(d, &count)) != 0)
		return rc;
	return count == n ? 0 : SG_ERR_MALFORMED;
}

static int get_version(sg_cbor_dec *d)
{
	uint64_t v;
	int rc = sg_cbor_get_uint(d, &v);

	if (rc != 0)
		return rc;
	return v == SG_HANDSHAKE_VERSION ? 0 : SG_ERR_UNSUPPORTED;
}

static int get_tp(sg_cbor_dec *d, const uint8_t **p, size_t *len)
{
	int rc = sg_cbor_get_bytes(d, p, len);

	if (rc != 0)
		return rc;
	return *len <= SG_HANDSHAKE_MAX_TP ? 0 : SG_ERR_RANGE;
}

/* ClientHello = [version, random, x25519, mlkem_ek, tp, expected/null];
 * includes the FIPS 203 section 7.2 check of the ephemeral key (H.6). */
static int parse_client_hello(client_hello *m, const uint8_t *body, size_t len)
{
	sg_cbor_dec d;
	sg_cbor_item it;
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = open_body(&d, body, len, 6)) != 0 ||
	    (rc = get_version(&d)) != 0 ||
	    (rc = sg_cbor_get_bytes_len(&d, &m->random, RANDOM_LEN)) != 0 ||
	    (rc = sg_cbor_get_bytes_len(&d, &m->x25519, X25519_LEN)) != 0 ||
	    (rc = sg_cbor_get_bytes_len(&d, &m->kem_ek, SG_MLKEM768_EK_LEN)) !=
		0 ||
	    (rc = get_tp(&d, &m->tp, &m->tp_len)) != 0 ||
	    (rc = sg_cbor_peek(&d, &it)) != 0)
		return rc;
	if (it.type == SG_CBOR_NULL)
		rc = sg_cbor_get_null(&d);
	else
		rc = sg_cbor_get_bytes_len(&d, &m->expected, SG_PEER_ID_LEN);
	if (rc != 0 || (rc = sg_cbor_dec_done(&d)) != 0)
		return rc;
	return sg_mlkem768_check_ek(m->kem_ek, SG_MLKEM768_EK_LEN);
}

/* ServerHello = [version, random, x25519, mlkem_ct]. */
static int parse_server_hello(server_hello *m, const uint8_t *body, size_t len)
{
	const uint8_t *random;
	sg_cbor_dec d;
	int rc;

	if ((rc = open_body(&d, body, len, 4)) != 0 ||
	    (rc = get_version(&d)) != 0 ||
	    (rc = sg_cbor_get_bytes_len(&d, &random, RANDOM_LEN)) != 0 ||
	    (rc = sg_cbor_get_bytes_len(&d, &m->x25519, X25519_LEN)) != 0 ||
	    (rc = sg_cbor_get_bytes_len(&d, &m->kem_ct, SG_MLKEM768_CT_LEN)) !=
		0)
		return rc;
	return sg_cbor_dec_done(&d);
}

/* ServerIdentity = [tp, mldsa_pk, mlkem_ek]; ClientIdentity = [mldsa_pk,
 * mlkem_ek]. The identity ML-KEM key is checked (FIPS 203 section 7.2). */
static int parse_identity(identity_msg *m, const uint8_t *body, size_t len,
			  int with_tp)
{
	sg_cbor_dec d;
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = open_body(&d, body, len, with_tp ? 3 : 2)) != 0)
		return rc;
	if (with_tp && (rc = get_tp(&d, &m->tp, &m->tp_len)) != 0)
		return rc;
	if ((rc = sg_cbor_get_bytes_len(&d, &m->pk, SG_MLDSA65_PK_LEN)) != 0 ||
	    (rc = sg_cbor_get_bytes_len(&d, &m->kem_ek, SG_MLKEM768_EK_LEN)) !=
		0 ||
	    (rc = sg_cbor_dec_done(&d)) != 0)
		return rc;
	return sg_mlkem768_check_ek(m->kem_ek, SG_MLKEM768_EK_LEN);
}

/* CertificateVerify = [signature]; Finished = [mac]: one fixed string. */
static int parse_one_bytes(const uint8_t **p, size_t n, const uint8_t *body,
			   size_t len)
{
	sg_cbor_dec d;
	int rc;

	if ((rc = open_body(&d, body, len, 1)) != 0 ||
	    (rc = sg_cbor_get_bytes_len(&d, p, n)) != 0)
		return rc;
	return sg_cbor_dec_done(&d);
}

static size_t header_body_len(const uint8_t *h)
{
	return (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
}

int sg_handshake_check_client_hello(const uint8_t *msg, size_t len)
{
	client_hello ch;
	size_t body_len;

	if (!msg && len > 0)
		return SG_ERR_INVAL;
	if (len < HDR_LEN)
		return SG_ERR_TRUNCATED;
	if (msg[0] != SG_HS_MSG_CLIENT_HELLO)
		return SG_ERR_STATE;
	body_len = header_body_len(msg);
	if (body_len > SG_HANDSHAKE_MAX_BODY)
		return SG_ERR_RANGE;
	if (len - HDR_LEN < body_len)
		return SG_ERR_TRUNCATED;
	if (len - HDR_LEN > body_len)
		return SG_ERR_TRAILING;
	return parse_client_hello(&ch, msg + HDR_LEN, body_len);
}

/* ---- Message encoding --------------------------------------------------- */

/* Appends one message (header + body built by the caller's encoder calls
 * between begin and end) to the tx buffer of a level, and to the
 * transcript. */
typedef struct msg_writer {
	hs_state *s;
	int level;
	uint8_t *start;
	sg_cbor_enc e;
} msg_writer;

static void msg_begin(msg_writer *w, hs_state *s, int level)
{
	uint8_t *buf = level == SG_HANDSHAKE_LEVEL_INITIAL ? s->tx_initial
							   : s->tx_handshake;
	size_t cap = level == SG_HANDSHAKE_LEVEL_INITIAL ? TX_INITIAL_CAP
							 : TX_HANDSHAKE_CAP;

	w->s = s;
	w->level = level;
	w->start = buf + s->tx_len[level];
	/* The caps hold the largest flights (H.2); if that ever broke, the
	 * encoder's sticky SG_ERR_BUFSIZE would fail the handshake. */
	if (cap - s->tx_len[level] < HDR_LEN) {
		sg_cbor_enc_init(&w->e, w->start, 0);
		w->e.err = SG_ERR_BUFSIZE;
	} else {
		sg_cbor_enc_init(&w->e, w->start + HDR_LEN,
				 cap - s->tx_len[level] - HDR_LEN);
	}
}

static int msg_end(msg_writer *w, uint8_t type)
{
	long blen = sg_cbor_enc_finish(&w->e);
	size_t total;

	if (blen < 0)
		return (int)blen;
	w->start[0] = type;
	w->start[1] = (uint8_t)(blen >> 16);
	w->start[2] = (uint8_t)(blen >> 8);
	w->start[3] = (uint8_t)blen;
	total = HDR_LEN + (size_t)blen;
	sg_blake3_update(&w->s->th, w->start, total);
	w->s->tx_len[w->level] += total;
	return 0;
}

/* ClientIdentity or ServerIdentity, CertificateVerify and Finished: the
 * Handshake flight of either side (H.5 client step 6, server step 1). */
static int send_auth_flight(hs_state *s, const uint8_t rnd[32])
{
	int server = s->role == SG_HANDSHAKE_SERVER;
	const char *ctx =
	    server ? SG_SIGCTX_HANDSHAKE_SERVER : SG_SIGCTX_HANDSHAKE_CLIENT;
	uint8_t sig[SG_MLDSA65_SIG_LEN], th[SECRET_LEN], mac[MAC_LEN];
	msg_writer w;
	int rc;

	msg_begin(&w, s, SG_HANDSHAKE_LEVEL_HANDSHAKE);
	sg_cbor_put_array(&w.e, server ? 3 : 2);
	if (server)
		sg_cbor_put_bytes(&w.e, s->local_tp, s->local_tp_len);
	sg_cbor_put_bytes(&w.e, s->ident->pk, SG_MLDSA65_PK_LEN);
	sg_cbor_put_bytes(&w.e, s->ident->kem_ek, SG_MLKEM768_EK_LEN);
	if ((rc = msg_end(&w, server ? SG_HS_MSG_SERVER_IDENTITY
				     : SG_HS_MSG_CLIENT_IDENTITY)) != 0)
		return rc;

	th_now(s, th);
	rc = sg_identity_sign(s->ident, sig, th, sizeof(th),
			      (const uint8_t *)ctx, strlen(ctx), rnd);
	if (rc != 0)
		return rc;
	msg_begin(&w, s, SG_HANDSHAKE_LEVEL_HANDSHAKE);
	sg_cbor_put_array(&w.e, 1);
	sg_cbor_put_bytes(&w.e, sig, sizeof(sig));
	if ((rc = msg_end(&w, SG_HS_MSG_CERT_VERIFY)) != 0)
		return rc;

	finished_mac(s, !server, mac);
	msg_begin(&w, s, SG_HANDSHAKE_LEVEL_HANDSHAKE);
	sg_cbor_put_array(&w.e, 1);
	sg_cbor_put_bytes(&w.e, mac, sizeof(mac));
	rc = msg_end(&w, SG_HS_MSG_FINISHED);
	sg_wipe(mac, sizeof(mac));
	return rc;
}

/* X25519 with the all-zero result rejected (RFC 7748 section 6.1). */
static int x25519(uint8_t dh[X25519_LEN], const uint8_t sk[X25519_LEN],
		  const uint8_t pk[X25519_LEN])
{
	if (crypto_scalarmult(dh, sk, pk) != 0 ||
	    sodium_is_zero(dh, X25519_LEN)) {
		sg_wipe(dh, X25519_LEN);
		return SG_ERR_KEY;
	}
	return 0;
}

/* ---- Handlers (H.5) ----------------------------------------------------- */

/* Server step 1: a complete ClientHello; the server flight. */
static int on_client_hello(hs_state *s, const uint8_t *msg, size_t len)
{
	uint8_t random[RANDOM_LEN], x_pk[X25519_LEN], m[SG_MLKEM768_MSG_LEN];
	uint8_t rnd[SG_MLDSA65_RND_LEN], dh[X25519_LEN];
	uint8_t ct[SG_MLKEM768_CT_LEN], ss[SG_MLKEM768_SS_LEN];
	client_hello ch;
	msg_writer w;
	int rc;

	if ((rc = parse_client_hello(&ch, msg + HDR_LEN, len - HDR_LEN)) != 0)
		return rc;
	if (ch.expected &&
	    memcmp(ch.expected, s->ident->id.bytes, SG_PEER_ID_LEN) != 0)
		return SG_ERR_NOTFOUND;
	memcpy(s->remote_tp, ch.tp, ch.tp_len);
	s->remote_tp_len = ch.tp_len;
	s->has_remote_tp = 1;
	sg_blake3_update(&s->th, msg, len);

	/* Only now, with a well-formed ClientHello, the expensive part. */
	if ((rc = sg_random(s->env, random, sizeof(random))) != 0 ||
	    (rc = sg_random(s->env, s->x_sk, sizeof(s->x_sk))) != 0 ||
	    (rc = sg_random(s->env, m, sizeof(m))) != 0 ||
	    (rc = sg_random(s->env, rnd, sizeof(rnd))) != 0)
		goto out;
	crypto_scalarmult_base(x_pk, s->x_sk);
	if ((rc = x25519(dh, s->x_sk, ch.x25519)) != 0)
		goto out;
	if ((rc = sg_mlkem768_encaps(ct, ss, ch.kem_ek, m)) != 0)
		goto out;

	msg_begin(&w, s, SG_HANDSHAKE_LEVEL_INITIAL);
	sg_cbor_put_array(&w.e, 4);
	sg_cbor_put_uint(&w.e, SG_HANDSHAKE_VERSION);
	sg_cbor_put_bytes(&w.e, random, sizeof(random));
	sg_cbor_put_bytes(&w.e, x_pk, sizeof(x_pk));
	sg_cbor_put_bytes(&w.e, ct, sizeof(ct));
	if ((rc = msg_end(&w, SG_HS_MSG_SERVER_HELLO)) != 0)
		goto out;
	derive_handshake(s, dh, ss);
	if ((rc = send_auth_flight(s, rnd)) != 0)
		goto out;
	s->state = S_WAIT_C_ID;
out:
	sg_wipe(s->x_sk, sizeof(s->x_sk));
	sg_wipe(m, sizeof(m));
	sg_wipe(rnd, sizeof(rnd));
	sg_wipe(dh, sizeof(dh));
	sg_wipe(ss, sizeof(ss));
	return rc;
}

/* Client step 2: ServerHello; handshake secrets. */
static int on_server_hello(hs_state *s, const uint8_t *msg, size_t len)
{
	uint8_t dh[X25519_LEN], ss[SG_MLKEM768_SS_LEN];
	server_hello sh;
	int rc;

	if ((rc = parse_server_hello(&sh, msg + HDR_LEN, len - HDR_LEN)) != 0)
		return rc;
	if ((rc = x25519(dh, s->x_sk, sh.x25519)) != 0)
		return rc;
	rc = sg_mlkem768_decaps(ss, sh.kem_ct, s->kem_dk);
	if (rc == 0) {
		sg_blake3_update(&s->th, msg, len);
		derive_handshake(s, dh, ss);
		sg_wipe(s->x_sk, sizeof(s->x_sk));
		sg_wipe(s->kem_dk, sizeof(s->kem_dk));
		s->state = C_WAIT_S_ID;
	}
	sg_wipe(dh, sizeof(dh));
	sg_wipe(ss, sizeof(ss));
	return rc;
}

/* Client step 3 / server step 2: the peer's identity. */
static int on_identity(hs_state *s, const uint8_t *msg, size_t len)
{
	int from_server = s->role == SG_HANDSHAKE_CLIENT;
	identity_msg id;
	sg_peer_id pid;
	int rc;

	rc = parse_identity(&id, msg + HDR_LEN, len - HDR_LEN, from_server);
	if (rc != 0)
		return rc;
	sg_peer_id_from_pk(&pid, id.pk);
	if (s->has_expected && !sg_peer_id_equal(&pid, &s->expected))
		return SG_ERR_VERIFY;
	s->peer_id = pid;
	memcpy(s->peer_pk, id.pk, SG_MLDSA65_PK_LEN);
	memcpy(s->peer_kem_ek, id.kem_ek, SG_MLKEM768_EK_LEN);
	if (from_server) {
		memcpy(s->remote_tp, id.tp, id.tp_len);
		s->remote_tp_len = id.tp_len;
		s->has_remote_tp = 1;
	}
	sg_blake3_update(&s->th, msg, len);
	s->state = from_server ? C_WAIT_S_CV : S_WAIT_C_CV;
	return 0;
}

/* Client step 4 / server step 2: the peer's signature over
 * TH(ClientHello .. its identity message). */
static int on_cert_verify(hs_state *s, const uint8_t *msg, size_t len)
{
	int from_server = s->role == SG_HANDSHAKE_CLIENT;
	const char *ctx = from_server ? SG_SIGCTX_HANDSHAKE_SERVER
				      : SG_SIGCTX_HANDSHAKE_CLIENT;
	const uint8_t *sig;
	uint8_t th[SECRET_LEN];
	int rc;

	rc = parse_one_bytes(&sig, SG_MLDSA65_SIG_LEN, msg + HDR_LEN,
			     len - HDR_LEN);
	if (rc != 0)
		return rc;
	th_now(s, th);
	if (sg_mldsa65_verify(sig, SG_MLDSA65_SIG_LEN, th, sizeof(th),
			      (const uint8_t *)ctx, strlen(ctx),
			      s->peer_pk) != 0)
		return SG_ERR_VERIFY;
	sg_blake3_update(&s->th, msg, len);
	s->state = from_server ? C_WAIT_S_FIN : S_WAIT_C_FIN;
	return 0;
}

/* Client step 5 (then 6) / server step 2: the peer's Finished. */
static int on_finished(hs_state *s, const uint8_t *msg, size_t len)
{
	int from_server = s->role == SG_HANDSHAKE_CLIENT;
	uint8_t want[MAC_LEN], rnd[SG_MLDSA65_RND_LEN];
	const uint8_t *mac;
	int rc;

	rc = parse_one_bytes(&mac, MAC_LEN, msg + HDR_LEN, len - HDR_LEN);
	if (rc != 0)
		return rc;
	finished_mac(s, !from_server, want);
	rc = sg_ct_memcmp(want, mac, MAC_LEN) == 0 ? 0 : SG_ERR_VERIFY;
	sg_wipe(want, sizeof(want));
	if (rc != 0)
		return rc;
	sg_blake3_update(&s->th, msg, len);
	if (from_server) {
		/* Client step 6: our own flight, then the 1-RTT secrets. */
		if ((rc = sg_random(s->env, rnd, sizeof(rnd))) != 0)
			return rc;
		rc = send_auth_flight(s, rnd);
		sg_wipe(rnd, sizeof(rnd));
		if (rc != 0)
			return rc;
	}
	derive_application(s);
	s->state = DONE;
	return 0;
}

/* The level and message type a state waits for (H.1). */
static void expect(int state, int *level, int *type)
{
	static const struct {
		int level, type;
	} tab[] = {
	    [C_WAIT_SH] = {SG_HANDSHAKE_LEVEL_INITIAL, SG_HS_MSG_SERVER_HELLO},
	    [C_WAIT_S_ID] = {SG_HANDSHAKE_LEVEL_HANDSHAKE,
			     SG_HS_MSG_SERVER_IDENTITY},
	    [C_WAIT_S_CV] = {SG_HANDSHAKE_LEVEL_HANDSHAKE,
			     SG_HS_MSG_CERT_VERIFY},
	    [C_WAIT_S_FIN] = {SG_HANDSHAKE_LEVEL_HANDSHAKE, SG_HS_MSG_FINISHED},
	    [S_WAIT_CH] = {SG_HANDSHAKE_LEVEL_INITIAL, SG_HS_MSG_CLIENT_HELLO},
	    [S_WAIT_C_ID] = {SG_HANDSHAKE_LEVEL_HANDSHAKE,
			     SG_HS_MSG_CLIENT_IDENTITY},
	    [S_WAIT_C_CV] = {SG_HANDSHAKE_LEVEL_HANDSHAKE,
			     SG_HS_MSG_CERT_VERIFY},
	    [S_WAIT_C_FIN] = {SG_HANDSHAKE_LEVEL_HANDSHAKE, SG_HS_MSG_FINISHED},
	    [DONE] = {-1, -1},
	};

	*level = tab[state].level;
	*type = tab[state].type;
}

static int dispatch(hs_state *s, const uint8_t *msg, size_t len)
{
	switch (s->state) {
	case S_WAIT_CH:
		return on_client_hello(s, msg, len);
	case C_WAIT_SH:
		return on_server_hello(s, msg, len);
	case C_WAIT_S_ID:
	case S_WAIT_C_ID:
		return on_identity(s, msg, len);
	case C_WAIT_S_CV:
	case S_WAIT_C_CV:
		return on_cert_verify(s, msg, len);
	default:
		return on_finished(s, msg, len);
	}
}

/* Kills the handshake: everything is wiped, the error stays. */
static int fail(hs_state *s, int err)
{
	sg_wipe(s, sizeof(*s));
	s->err = err;
	return err;
}

/* ---- Public API -------------------------------------------------------- */

int sg_handshake_init(sg_handshake *hs, sg_handshake_role role,
		      const sg_identity *ident, const sg_peer_id *expected,
		      const uint8_t *tp, size_t tp_len, const sg_env *env)
{
	uint8_t random[RANDOM_LEN], x_pk[X25519_LEN];
	uint8_t seed[SG_MLKEM768_SEED_LEN], ek[SG_MLKEM768_EK_LEN];
	hs_state *s;
	msg_writer w;
	int rc;

	if (!hs)
		return SG_ERR_INVAL;
	s = S(hs);
	memset(s, 0, sizeof(*s));
	if (!ident || !env || (!tp && tp_len > 0) ||
	    (role != SG_HANDSHAKE_CLIENT && role != SG_HANDSHAKE_SERVER) ||
	    (role == SG_HANDSHAKE_SERVER && expected))
		return fail(s, SG_ERR_INVAL);
	if (tp_len > SG_HANDSHAKE_MAX_TP)
		return fail(s, SG_ERR_RANGE);
	s->env = env;
	s->ident = ident;
	s->role = (int)role;
	if (tp_len > 0)
		memcpy(s->local_tp, tp, tp_len);
	s->local_tp_len = tp_len;
	if (expected) {
		s->has_expected = 1;
		s->expected = *expected;
	}
	sg_blake3_init_derive_key(&s->th, CTX_TRANSCRIPT);
	if (role == SG_HANDSHAKE_SERVER) {
		s->state = S_WAIT_CH;
		return 0;
	}

	/* Client step 1: ephemeral keys and the ClientHello. */
	if ((rc = sg_random(env, random, sizeof(random))) != 0 ||
	    (rc = sg_random(env, s->x_sk, sizeof(s->x_sk))) != 0 ||
	    (rc = sg_random(env, seed, sizeof(seed))) != 0)
		goto out;
	crypto_scalarmult_base(x_pk, s->x_sk);
	if ((rc = sg_mlkem768_keypair(ek, s->kem_dk, seed)) != 0)
		goto out;
	msg_begin(&w, s, SG_HANDSHAKE_LEVEL_INITIAL);
	sg_cbor_put_array(&w.e, 6);
	sg_cbor_put_uint(&w.e, SG_HANDSHAKE_VERSION);
	sg_cbor_put_bytes(&w.e, random, sizeof(random));
	sg_cbor_put_bytes(&w.e, x_pk, sizeof(x_pk));
	sg_cbor_put_bytes(&w.e, ek, sizeof(ek));
	sg_cbor_put_bytes(&w.e, s->local_tp, s->local_tp_len);
	if (expected)
		sg_cbor_put_bytes(&w.e, expected->bytes, SG_PEER_ID_LEN);
	else
		sg_cbor_put_null(&w.e);
	rc = msg_end(&w, SG_HS_MSG_CLIENT_HELLO);
	s->state = C_WAIT_SH;
out:
	sg_wipe(seed, sizeof(seed));
	return rc != 0 ? fail(s, rc) : 0;
}

void sg_handshake_fini(sg_handshake *hs)
{
	if (hs)
		sg_wipe(hs, sizeof(*hs));
}

int sg_handshake_recv(sg_handshake *hs, sg_handshake_level level,
		      const uint8_t *in, size_t len)
{
	hs_state *s;
	int exp_level, exp_type, rc;

	if (!hs)
		return SG_ERR_INVAL;
	s = S(hs);
	if (s->err)
		return s->err;
	if (!in && len > 0)
		return fail(s, SG_ERR_INVAL);
	while (len > 0) {
		size_t need, n, before = s->rx_len;

		/* H.5: data after the end, or at a level where nothing is
		 * expected now, is an unexpected message. */
		if (s->state == DONE)
			return fail(s, SG_ERR_STATE);
		expect(s->state, &exp_level, &exp_type);
		if ((int)level != exp_level)
			return fail(s, SG_ERR_STATE);
		need = s->rx_len < HDR_LEN
			   ? HDR_LEN - s->rx_len
			   : HDR_LEN + s->rx_body_len - s->rx_len;
		n = len < need ? len : need;
		memcpy(s->rx + s->rx_len, in, n);
		s->rx_len += n;
		in += n;
		len -= n;
		if (before < HDR_LEN && s->rx_len == HDR_LEN) {
			/* H.2: the header is checked before the body is
			 * buffered. */
			if (s->rx[0] != exp_type)
				return fail(s, SG_ERR_STATE);
			s->rx_body_len = header_body_len(s->rx);
			if (s->rx_body_len > SG_HANDSHAKE_MAX_BODY)
				return fail(s, SG_ERR_RANGE);
		}
		if (s->rx_len < HDR_LEN || s->rx_len < HDR_LEN + s->rx_body_len)
			continue;
		rc = dispatch(s, s->rx, s->rx_len);
		if (rc != 0)
			return fail(s, rc);
		sg_wipe(s->rx, s->rx_len);
		s->rx_len = 0;
		s->rx_body_len = 0;
	}
	return 0;
}

/* The lowest level with output not yet taken: its level, where the
 * output starts and how long it is (0: none). */
static size_t pending_tx(const hs_state *s, int *level, const uint8_t **p)
{
	int l;

	for (l = SG_HANDSHAKE_LEVEL_INITIAL; l <= SG_HANDSHAKE_LEVEL_HANDSHAKE;
	     l++) {
		const uint8_t *buf = l == SG_HANDSHAKE_LEVEL_INITIAL
					 ? s->tx_initial
					 : s->tx_handshake;
		size_t left = s->tx_len[l] - s->tx_off[l];

		if (left == 0)
			continue;
		*level = l;
		*p = buf + s->tx_off[l];
		return left;
	}
	return 0;
}

long sg_handshake_poll_tx(sg_handshake *hs, sg_handshake_level *level,
			  uint8_t *out, size_t cap)
{
	const uint8_t *p;
	hs_state *s;
	size_t left;
	int l;

	if (!hs || !level || (!out && cap > 0))
		return SG_ERR_INVAL;
	s = S(hs);
	if (s->err)
		return s->err;
	if ((left = pending_tx(s, &l, &p)) == 0)
		return 0;
	if (cap == 0)
		return SG_ERR_BUFSIZE;
	if (left > cap)
		left = cap;
	memcpy(out, p, left);
	s->tx_off[l] += left;
	*level = (sg_handshake_level)l;
	return (long)left;
}

long sg_handshake_poll_tx_ref(sg_handshake *hs, sg_handshake_level *level,
			      const uint8_t **out)
{
	hs_state *s;
	size_t left;
	int l;

	if (!hs || !level || !out)
		return SG_ERR_INVAL;
	s = S(hs);
	if (s->err)
		return s->err;
	if ((left = pending_tx(s, &l, out)) == 0)
		return 0;
	s->tx_off[l] += left;
	*level = (sg_handshake_level)l;
	return (long)left;
}

int sg_handshake_done(const sg_handshake *hs)
{
	return hs && !CS(hs)->err && CS(hs)->state == DONE;
}

int sg_handshake_error(const sg_handshake *hs)
{
	return hs ? CS(hs)->err : SG_ERR_INVAL;
}

int sg_handshake_secret(const sg_handshake *hs, sg_handshake_level level,
			sg_handshake_dir dir, uint8_t out[SECRET_LEN])
{
	const hs_state *s;
	const uint8_t *c, *sv;
	int tx_is_client;

	if (!hs || !out || (dir != SG_HANDSHAKE_TX && dir != SG_HANDSHAKE_RX))
		return SG_ERR_INVAL;
	s = CS(hs);
	if (s->err)
		return s->err;
	if (level == SG_HANDSHAKE_LEVEL_HANDSHAKE) {
		if (!s->hs_keys)
			return SG_ERR_AGAIN;
		c = s->chts;
		sv = s->shts;
	} else if (level == SG_HANDSHAKE_LEVEL_APP) {
		if (s->state != DONE)
			return SG_ERR_AGAIN;
		c = s->cats;
		sv = s->sats;
	} else {
		return SG_ERR_INVAL;
	}
	tx_is_client = s->role == SG_HANDSHAKE_CLIENT;
	memcpy(out, (dir == SG_HANDSHAKE_TX) == tx_is_client ? c : sv,
	       SECRET_LEN);
	return 0;
}

int sg_handshake_keys(const sg_handshake *hs, sg_handshake_level level,
		      sg_handshake_dir dir, sg_handshake_pkt_keys *keys)
{
	uint8_t secret[SECRET_LEN];
	int rc;

	if (!keys)
		return SG_ERR_INVAL;
	rc = sg_handshake_secret(hs, level, dir, secret);
	if (rc == 0)
		sg_handshake_pkt_keys_from_secret(keys, secret);
	sg_wipe(secret, sizeof(secret));
	return rc;
}

int sg_handshake_peer(const sg_handshake *hs, sg_peer_id *id,
		      const uint8_t **pk, const uint8_t **kem_ek)
{
	const hs_state *s;

	if (!hs)
		return SG_ERR_INVAL;
	s = CS(hs);
	if (s->err)
		return s->err;
	if (s->state != DONE)
		return SG_ERR_AGAIN;
	if (id)
		*id = s->peer_id;
	if (pk)
		*pk = s->peer_pk;
	if (kem_ek)
		*kem_ek = s->peer_kem_ek;
	return 0;
}

int sg_handshake_remote_tp(const sg_handshake *hs, const uint8_t **tp,
			   size_t *tp_len)
{
	const hs_state *s;

	if (!hs || !tp || !tp_len)
		return SG_ERR_INVAL;
	s = CS(hs);
	if (s->err)
		return s->err;
	if (!s->has_remote_tp)
		return SG_ERR_AGAIN;
	*tp = s->remote_tp;
	*tp_len = s->remote_tp_len;
	return 0;
}

uint8_t sg_handshake_alert(int err)
{
	switch (err) {
	case SG_ERR_TRUNCATED:
	case SG_ERR_MALFORMED:
	case SG_ERR_NONCANONICAL:
	case SG_ERR_TYPE:
	case SG_ERR_TRAILING:
	case SG_ERR_RANGE:
	case SG_ERR_DEPTH:
		return 50; /* decode_error */
	case SG_ERR_STATE:
		return 10; /* unexpected_message */
	case SG_ERR_UNSUPPORTED:
		return 70; /* protocol_version */
	case SG_ERR_KEY:
		return 47; /* illegal_parameter */
	case SG_ERR_VERIFY:
		return 51; /* decrypt_error */
	case SG_ERR_NOTFOUND:
		return 112; /* unrecognized_name */
	default:
		return 40; /* handshake_failure */
	}
}
