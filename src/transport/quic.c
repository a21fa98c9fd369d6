/*
 * QUIC connections: ngtcp2 (RFC 9000/9002: packets, loss recovery,
 * congestion control, streams, flow control) with our handshake in place of
 * TLS, through ngtcp2's crypto callbacks (RFC 9001 section 4: CRYPTO data
 * per encryption level; section 5: packet and header protection with
 * ChaCha20-Poly1305 and ChaCha20, keys from src/transport/keysched.c).
 *
 * The AEAD and header-protection "native handles" ngtcp2 carries are
 * allocated 32-byte keys; ngtcp2 owns them once installed and frees them
 * through the delete callbacks. CRYPTO data handed to ngtcp2 is not copied
 * by it, so every flight is kept until the connection goes away.
 *
 * Sizes: the client's ClientHello goes out in three Initial datagrams
 * (PROTOCOL.md H.8) so the server's first flight is not held back by the
 * anti-amplification limit; after the handshake, Path MTU probes (RFC
 * 9000 section 14.3) raise the datagram size up to max_udp_payload.
 */
#include "sg/quic.h"
#include "sg/cbor.h"
#include "sg/err.h"
#include "sg/handshake.h"

#include <ngtcp2/ngtcp2.h>
#include <sodium.h>
#include <string.h>

#define NS_PER_MS 1000000ull
/* Path MTU probes (RFC 8899 section 5.3, sizes tried in this order; one
 * that fails rules out the larger ones): ngtcp2's defaults for common
 * tunnels, then Ethernet, jumbo frames and loopback less the IPv6 and UDP
 * headers; each connection stops at its max_udp_payload, its last probe. */
static const uint16_t pmtud_sizes[] = {1406, 1342, 1232, 1444, 1452,
				       8952, 16384, 65487};
#define MAX_PROBES (sizeof(pmtud_sizes) / sizeof(pmtud_sizes[0]) + 1)
/* H.8: the client's Initial flight is three datagrams (3,600 bytes) so the
 * server may answer with up to 10,800 before the client's address is
 * validated (RFC 9000 section 8.1), enough for its whole first flight;
 * two datagrams (7,200) would hold its last ~1 KB back for a round trip. */
#define INITIAL_DGRAMS 3
#define CID_LEN 18

typedef struct out_msg {
	int64_t sid; /* -1: not opened yet */
	uint8_t *buf; /* NULL: gone (its stream closed) */
	size_t len, sent;
	int done; /* all written with FIN; freed when the stream closes */
} out_msg;

typedef struct in_stream {
	int64_t sid; /* -1: free */
	uint8_t *buf;
	size_t len, cap;
	int failed, delivered;
} in_stream;

typedef struct ev_item {
	sg_quic_event_type type;
	uint8_t *data;
	size_t len;
	int error;
} ev_item;

struct sg_quic_conn {
	sg_env env;
	sg_quic_config cfg;
	const sg_identity *ident;
	sg_peer_id expected;
	int has_expected, is_server;
	ngtcp2_conn *conn;
	ngtcp2_path_storage ps;
	ngtcp2_crypto_ctx cctx;
	sg_handshake hs;
	uint8_t *ch_buf; /* server: the ClientHello, until it is whole */
	size_t ch_len;
	int hs_init, hs_keys, app_keys, remote_tp, completed, connected;
	int have_initial; /* Initial keys installed */
	int closing, closed, close_reported;
	int retried; /* client: followed a Retry */
	uint64_t key_gens; /* 1-RTT key generations derived by cb_update_key */
	ngtcp2_ccerr ccerr;
	uint64_t hs_steps; /* flights handed to ngtcp2, and completion */
	/* Client: the ClientHello goes out in INITIAL_DGRAMS parts, one per
	 * Initial datagram (H.8); the part of it not handed to ngtcp2 yet. */
	const uint8_t *ch_rest;
	size_t ch_rest_len, ch_part;
	/* The send queue, a ring of max_send_queue entries in the order the
	 * messages were queued: nout entries from out_head, holes (gone
	 * entries whose stream closed before an older one's) included, so a
	 * hole counts against the bound until the older ones go too. The
	 * first out_next entries are all written. Messages are written one
	 * after the other, never interleaved: the peer returns flow-control
	 * credit per whole message, so credit spread over several half-sent
	 * messages could leave none of them able to finish. */
	out_msg *out;
	size_t out_head, nout, out_next;
	in_stream *in;
	ev_item *evq; /* max_recv_streams + 8: see back-pressure below */
	size_t ev_head, ev_n, ev_cap;
	uint8_t *ev_last;
	sg_peer_id peer;
	ngtcp2_cid scid;  /* the connection id this side chose first */
	ngtcp2_cid dcid0; /* client: the DCID its Initial packets carry */
	uint64_t now_ms;
	int error;
	uint16_t probes[MAX_PROBES]; /* Path MTU probe sizes (ngtcp2 reads) */
};

/* A marker: ngtcp2 only checks the handles are non-NULL. */
static int aead_marker, hp_marker, md_marker;
/* Retry integrity (H.4): ngtcp2 passes RFC 9001's nonce for version 1, so
 * the encrypt callback recognises this AEAD and computes our tag. */
static int retry_marker;
static const ngtcp2_crypto_aead retry_aead = {&retry_marker,
					      SG_HANDSHAKE_TAG_LEN};

void sg_quic_config_default(sg_quic_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->size = sizeof(*cfg);
	cfg->max_message = 1u << 20;
	cfg->max_send_queue = 1024;
	cfg->max_recv_streams = 128;
	cfg->idle_timeout_ms = 30000;
	cfg->handshake_timeout_ms = 10000;
	cfg->keep_alive_ms = 10000;
	cfg->max_udp_payload = SG_QUIC_DEFAULT_UDP_PAYLOAD;
}

static ngtcp2_tstamp ts(uint64_t ms)
{
	return (ngtcp2_tstamp)(ms * NS_PER_MS);
}

/* The connection's clock: ngtcp2 requires that time never goes back for a
 * connection (it asserts it), and a caller may hand in a time it read
 * before another call (say, a relayed packet read in a nested callback)
 * gave this connection a later one. */
static uint64_t clock_in(sg_quic_conn *c, uint64_t now_ms)
{
	if (now_ms < c->now_ms)
		now_ms = c->now_ms;
	c->now_ms = now_ms;
	return now_ms;
}

static void fail(sg_quic_conn *c, int err)
{
	if (c->error == 0)
		c->error = err;
}

/* Back-pressure instead of loss: the peer gets credit for another stream
 * and for the bytes of a message only when the application has taken the
 * message, so at most max_recv_streams messages wait here, and the event
 * queue (max_recv_streams + 8) never overflows. */
static void push_event(sg_quic_conn *c, sg_quic_event_type type,
		       uint8_t *data, size_t len, int error)
{
	ev_item *e;

	if (c->ev_n == c->ev_cap) { /* cannot happen: see above */
		sg_free(&c->env, data);
		fail(c, SG_ERR_FULL);
		return;
	}
	e = &c->evq[(c->ev_head + c->ev_n++) % c->ev_cap];
	e->type = type;
	e->data = data;
	e->len = len;
	e->error = error;
}

/* ---- crypto callbacks (RFC 9001 section 5) -------------------------------- */

static void *key_copy(sg_quic_conn *c, const uint8_t key[32])
{
	uint8_t *k = sg_alloc(&c->env, 32);
	if (k != NULL)
		memcpy(k, key, 32);
	return k;
}

static int cb_encrypt(uint8_t *dest, const ngtcp2_crypto_aead *aead,
		      const ngtcp2_crypto_aead_ctx *ctx, const uint8_t *pt,
		      size_t ptlen, const uint8_t *nonce, size_t noncelen,
		      const uint8_t *aad, size_t aadlen)
{
	if (aead->native_handle == &retry_marker) {
		/* The Retry integrity tag: empty plaintext, the Retry
		 * pseudo-packet as associated data (RFC 9001 section 5.8),
		 * under the published key and nonce of H.4. */
		if (ptlen != 0 || sg_handshake_retry_tag(dest, aad, aadlen) != 0)
			return NGTCP2_ERR_CALLBACK_FAILURE;
		return 0;
	}
	if (noncelen != crypto_aead_chacha20poly1305_ietf_NPUBBYTES ||
	    ctx->native_handle == NULL)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	crypto_aead_chacha20poly1305_ietf_encrypt(dest, NULL, pt, ptlen, aad,
						  aadlen, NULL, nonce,
						  ctx->native_handle);
	return 0;
}

static int cb_decrypt(uint8_t *dest, const ngtcp2_crypto_aead *aead,
		      const ngtcp2_crypto_aead_ctx *ctx, const uint8_t *ct,
		      size_t ctlen, const uint8_t *nonce, size_t noncelen,
		      const uint8_t *aad, size_t aadlen)
{
	(void)aead;
	if (noncelen != crypto_aead_chacha20poly1305_ietf_NPUBBYTES ||
	    ctx->native_handle == NULL ||
	    crypto_aead_chacha20poly1305_ietf_decrypt(dest, NULL, NULL, ct,
						      ctlen, aad, aadlen, nonce,
						      ctx->native_handle) != 0)
		return NGTCP2_ERR_DECRYPT;
	return 0;
}

static int cb_hp_mask(uint8_t *dest, const ngtcp2_crypto_cipher *hp,
		      const ngtcp2_crypto_cipher_ctx *ctx, const uint8_t *sample)
{
	(void)hp;
	sg_handshake_hp_mask(dest, ctx->native_handle, sample);
	return 0;
}

/* A key handle (key_copy()): wiped and freed, then cleared. */
static void key_free(sg_quic_conn *c, void **handle)
{
	if (*handle != NULL) {
		sg_wipe(*handle, 32);
		sg_free(&c->env, *handle);
		*handle = NULL;
	}
}

static void cb_delete_aead(ngtcp2_conn *conn, ngtcp2_crypto_aead_ctx *ctx,
			   void *ud)
{
	(void)conn;
	key_free(ud, &ctx->native_handle);
}

static void cb_delete_cipher(ngtcp2_conn *conn, ngtcp2_crypto_cipher_ctx *ctx,
			     void *ud)
{
	(void)conn;
	key_free(ud, &ctx->native_handle);
}

/* Key contexts for one direction's keys. */
static int make_ctx(sg_quic_conn *c, const sg_handshake_pkt_keys *k,
		    ngtcp2_crypto_aead_ctx *aead, ngtcp2_crypto_cipher_ctx *hp)
{
	aead->native_handle = key_copy(c, k->key);
	hp->native_handle = key_copy(c, k->hp);
	if (aead->native_handle == NULL || hp->native_handle == NULL) {
		cb_delete_aead(NULL, aead, c);
		cb_delete_cipher(NULL, hp, c);
		return SG_ERR_NOMEM;
	}
	return 0;
}

static int install_initial(sg_quic_conn *c, const ngtcp2_cid *dcid)
{
	uint8_t cs[SG_HANDSHAKE_SECRET_LEN], ss[SG_HANDSHAKE_SECRET_LEN];
	sg_handshake_pkt_keys ck, sk;
	ngtcp2_crypto_aead_ctx rx_a = {0}, tx_a = {0};
	ngtcp2_crypto_cipher_ctx rx_h = {0}, tx_h = {0};
	const sg_handshake_pkt_keys *rx, *tx;
	int rv = 0;

	if (sg_handshake_initial_secrets(cs, ss, dcid->data, dcid->datalen))
		return NGTCP2_ERR_CALLBACK_FAILURE;
	sg_handshake_pkt_keys_from_secret(&ck, cs);
	sg_handshake_pkt_keys_from_secret(&sk, ss);
	rx = c->is_server ? &ck : &sk;
	tx = c->is_server ? &sk : &ck;
	if (make_ctx(c, rx, &rx_a, &rx_h) != 0 ||
	    make_ctx(c, tx, &tx_a, &tx_h) != 0)
		rv = NGTCP2_ERR_CALLBACK_FAILURE;
	else if (ngtcp2_conn_install_initial_key(c->conn, &rx_a, rx->iv, &rx_h,
						 &tx_a, tx->iv, &tx_h,
						 SG_HANDSHAKE_IV_LEN) != 0)
		rv = NGTCP2_ERR_CALLBACK_FAILURE;
	else
		c->have_initial = 1;
	if (rv != 0) {
		cb_delete_aead(NULL, &rx_a, c);
		cb_delete_cipher(NULL, &rx_h, c);
		cb_delete_aead(NULL, &tx_a, c);
		cb_delete_cipher(NULL, &tx_h, c);
	}
	sg_wipe(cs, sizeof(cs));
	sg_wipe(ss, sizeof(ss));
	sg_wipe(&ck, sizeof(ck));
	sg_wipe(&sk, sizeof(sk));
	return rv;
}

/* Installs one direction's 1-RTT key once the handshake has it (the
 * secret goes to ngtcp2 too, for key updates). */
static int install_app_key(sg_quic_conn *c, sg_handshake_dir dir)
{
	int bit = dir == SG_HANDSHAKE_RX ? 1 : 2, rv = 0;
	uint8_t sec[SG_HANDSHAKE_SECRET_LEN];
	sg_handshake_pkt_keys k;
	ngtcp2_crypto_aead_ctx a = {0};
	ngtcp2_crypto_cipher_ctx h = {0};

	if ((c->app_keys & bit) ||
	    sg_handshake_secret(&c->hs, SG_HANDSHAKE_LEVEL_APP, dir, sec) != 0)
		return 0;
	sg_handshake_pkt_keys_from_secret(&k, sec);
	if (make_ctx(c, &k, &a, &h) != 0) {
		rv = NGTCP2_ERR_CALLBACK_FAILURE;
	} else if ((dir == SG_HANDSHAKE_RX
			    ? ngtcp2_conn_install_rx_key(c->conn, sec, sizeof(sec),
							 &a, k.iv,
							 SG_HANDSHAKE_IV_LEN, &h)
			    : ngtcp2_conn_install_tx_key(c->conn, sec, sizeof(sec),
							 &a, k.iv,
							 SG_HANDSHAKE_IV_LEN,
							 &h)) != 0) {
		cb_delete_aead(NULL, &a, c);
		cb_delete_cipher(NULL, &h, c);
		rv = NGTCP2_ERR_CALLBACK_FAILURE;
	}
	c->app_keys |= bit;
	sg_wipe(&k, sizeof(k));
	sg_wipe(sec, sizeof(sec));
	return rv;
}

/* Installs the Handshake and 1-RTT keys as the handshake releases them. */
static int install_keys(sg_quic_conn *c)
{
	sg_handshake_pkt_keys rk, tk;
	int rv = 0;

	if (!c->hs_keys &&
	    sg_handshake_keys(&c->hs, SG_HANDSHAKE_LEVEL_HANDSHAKE,
			      SG_HANDSHAKE_RX, &rk) == 0 &&
	    sg_handshake_keys(&c->hs, SG_HANDSHAKE_LEVEL_HANDSHAKE,
			      SG_HANDSHAKE_TX, &tk) == 0) {
		ngtcp2_crypto_aead_ctx ra = {0}, ta = {0};
		ngtcp2_crypto_cipher_ctx rh = {0}, th = {0};
		int rx_owned = 0;
		if (make_ctx(c, &rk, &ra, &rh) != 0 ||
		    make_ctx(c, &tk, &ta, &th) != 0 ||
		    !(rx_owned = ngtcp2_conn_install_rx_handshake_key(
				  c->conn, &ra, rk.iv, SG_HANDSHAKE_IV_LEN,
				  &rh) == 0) ||
		    ngtcp2_conn_install_tx_handshake_key(c->conn, &ta, tk.iv,
							 SG_HANDSHAKE_IV_LEN,
							 &th) != 0) {
			/* Contexts ngtcp2 did not take are ours to free. */
			if (!rx_owned) {
				cb_delete_aead(NULL, &ra, c);
				cb_delete_cipher(NULL, &rh, c);
			}
			cb_delete_aead(NULL, &ta, c);
			cb_delete_cipher(NULL, &th, c);
			rv = NGTCP2_ERR_CALLBACK_FAILURE;
		}
		c->hs_keys = 1;
	}
	/* 1-RTT: each direction as soon as it exists (the server's receive
	 * key comes only after the client's Finished). */
	if (rv == 0)
		rv = install_app_key(c, SG_HANDSHAKE_RX);
	if (rv == 0)
		rv = install_app_key(c, SG_HANDSHAKE_TX);
	sg_wipe(&rk, sizeof(rk));
	sg_wipe(&tk, sizeof(tk));
	return rv;
}

static ngtcp2_encryption_level to_ngtcp2_level(sg_handshake_level l)
{
	return l == SG_HANDSHAKE_LEVEL_INITIAL ? NGTCP2_ENCRYPTION_LEVEL_INITIAL
	       : l == SG_HANDSHAKE_LEVEL_HANDSHAKE
		       ? NGTCP2_ENCRYPTION_LEVEL_HANDSHAKE
		       : NGTCP2_ENCRYPTION_LEVEL_1RTT;
}

/* Hands the next part of the client's ClientHello to ngtcp2 (which pads
 * the Initial datagram that carries it to 1,200 bytes). */
static int submit_hello_part(sg_quic_conn *c)
{
	size_t k = c->ch_rest_len < c->ch_part ? c->ch_rest_len : c->ch_part;

	if (k == 0)
		return 0;
	if (ngtcp2_conn_submit_crypto_data(c->conn,
					   NGTCP2_ENCRYPTION_LEVEL_INITIAL,
					   c->ch_rest, k) != 0)
		return SG_ERR_NOMEM;
	c->ch_rest += k;
	c->ch_rest_len -= k;
	return 0;
}

/* Moves the handshake's output into CRYPTO frames. ngtcp2 does not copy
 * them: they point into the handshake state's own output buffers, which
 * only grow and live in c until sg_quic_conn_del (after ngtcp2_conn_del). */
static int flush_handshake(sg_quic_conn *c)
{
	for (;;) {
		sg_handshake_level level;
		const uint8_t *buf;
		long n = sg_handshake_poll_tx_ref(&c->hs, &level, &buf);

		if (n <= 0)
			return n < 0 ? NGTCP2_ERR_CALLBACK_FAILURE : 0;
		c->hs_steps++;
		if (!c->is_server && level == SG_HANDSHAKE_LEVEL_INITIAL &&
		    c->ch_part == 0) {
			/* The ClientHello: its first part now, the others
			 * one per datagram (sg_quic_write). */
			c->ch_part = ((size_t)n + INITIAL_DGRAMS - 1) /
				     INITIAL_DGRAMS;
			c->ch_rest = buf;
			c->ch_rest_len = (size_t)n;
			if (submit_hello_part(c) != 0)
				return NGTCP2_ERR_CALLBACK_FAILURE;
			continue;
		}
		if (ngtcp2_conn_submit_crypto_data(c->conn,
						   to_ngtcp2_level(level), buf,
						   (size_t)n) != 0)
			return NGTCP2_ERR_CALLBACK_FAILURE;
	}
}

static int start_handshake(sg_quic_conn *c)
{
	uint8_t tp[SG_HANDSHAKE_MAX_TP];
	ngtcp2_ssize n = ngtcp2_conn_encode_local_transport_params(
		c->conn, tp, sizeof(tp));
	int rc;

	if (n < 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	if (c->is_server) {
		/* ngtcp2 adds the server's initial_source_connection_id
		 * (RFC 9000 section 7.3, required) only when Handshake keys
		 * are installed, which in our handshake is after these
		 * parameters are committed to; add it now (the value ngtcp2
		 * will use: the id we chose). */
		ngtcp2_transport_params p;
		if (ngtcp2_transport_params_decode(&p, tp, (size_t)n) != 0)
			return NGTCP2_ERR_CALLBACK_FAILURE;
		p.initial_scid = c->scid;
		p.initial_scid_present = 1;
		n = ngtcp2_transport_params_encode(tp, sizeof(tp), &p);
		if (n < 0)
			return NGTCP2_ERR_CALLBACK_FAILURE;
	}
	rc = sg_handshake_init(&c->hs,
			       c->is_server ? SG_HANDSHAKE_SERVER
					    : SG_HANDSHAKE_CLIENT,
			       c->ident, c->has_expected ? &c->expected : NULL,
			       tp, (size_t)n, &c->env);
	if (rc != 0) {
		fail(c, rc);
		return NGTCP2_ERR_CALLBACK_FAILURE;
	}
	c->hs_init = 1;
	return 0;
}

static int cb_client_initial(ngtcp2_conn *conn, void *ud)
{
	sg_quic_conn *c = ud;
	int rv = install_initial(c, ngtcp2_conn_get_dcid(conn));
	if (rv == 0)
		rv = start_handshake(c);
	if (rv == 0)
		rv = flush_handshake(c);
	return rv;
}

static int cb_recv_client_initial(ngtcp2_conn *conn, const ngtcp2_cid *dcid,
				  void *ud)
{
	(void)conn;
	return install_initial(ud, dcid);
}

/* The client's transport parameters out of a whole, checked ClientHello
 * (H.2: [version, random, x25519, mlkem_ek, transport_params, ...]). */
static int client_hello_tp(const uint8_t *msg, size_t len, const uint8_t **tp,
			   size_t *tplen)
{
	sg_cbor_dec d;
	size_t n, skip;
	uint64_t v;
	const uint8_t *p;

	sg_cbor_dec_init(&d, msg + SG_HANDSHAKE_HEADER_LEN,
			 len - SG_HANDSHAKE_HEADER_LEN);
	if (sg_cbor_get_array(&d, &n) != 0 || n < 5 ||
	    sg_cbor_get_uint(&d, &v) != 0)
		return SG_ERR_MALFORMED;
	for (skip = 0; skip < 3; skip++)
		if (sg_cbor_get_bytes(&d, &p, &n) != 0)
			return SG_ERR_MALFORMED;
	return sg_cbor_get_bytes(&d, tp, tplen) == 0 ? 0 : SG_ERR_MALFORMED;
}

/* Server: the QUIC layer must see the client's transport parameters before
 * it can encode its own (the negotiated version, among others), and ours
 * go into the handshake at its start; so the ClientHello is gathered first,
 * checked cheaply, and only then is the handshake started with it. */
static int server_gather_hello(sg_quic_conn *c, ngtcp2_conn *conn,
			       const uint8_t *data, size_t len)
{
	const size_t max = SG_HANDSHAKE_HEADER_LEN + SG_HANDSHAKE_MAX_BODY;
	const uint8_t *tp;
	size_t tplen;
	int rc;

	if (c->ch_buf == NULL && (c->ch_buf = sg_alloc(&c->env, max)) == NULL)
		return NGTCP2_ERR_NOMEM;
	if (len > max - c->ch_len) {
		fail(c, SG_ERR_RANGE);
		return NGTCP2_ERR_CRYPTO;
	}
	memcpy(c->ch_buf + c->ch_len, data, len);
	c->ch_len += len;
	rc = sg_handshake_check_client_hello(c->ch_buf, c->ch_len);
	if (rc == SG_ERR_TRUNCATED)
		return 0;
	if (rc == 0)
		rc = client_hello_tp(c->ch_buf, c->ch_len, &tp, &tplen);
	if (rc != 0) {
		fail(c, rc);
		ngtcp2_conn_set_tls_alert(conn, sg_handshake_alert(rc));
		return NGTCP2_ERR_CRYPTO;
	}
	if (ngtcp2_conn_decode_and_set_remote_transport_params(conn, tp,
							       tplen) != 0) {
		fail(c, SG_ERR_MALFORMED);
		return NGTCP2_ERR_CRYPTO;
	}
	c->remote_tp = 1;
	return start_handshake(c);
}

static int cb_recv_crypto_data(ngtcp2_conn *conn,
			       ngtcp2_encryption_level level, uint64_t offset,
			       const uint8_t *data, size_t len, void *ud)
{
	sg_quic_conn *c = ud;
	sg_handshake_level l;
	const uint8_t *tp;
	size_t tplen;
	int rc;
	(void)offset;

	if (c->is_server && !c->hs_init) {
		if (level != NGTCP2_ENCRYPTION_LEVEL_INITIAL)
			return NGTCP2_ERR_CRYPTO;
		rc = server_gather_hello(c, conn, data, len);
		if (rc != 0 || !c->hs_init)
			return rc;
		data = c->ch_buf; /* the whole ClientHello, once */
		len = c->ch_len;
	}
	if (level == NGTCP2_ENCRYPTION_LEVEL_INITIAL)
		l = SG_HANDSHAKE_LEVEL_INITIAL;
	else if (level == NGTCP2_ENCRYPTION_LEVEL_HANDSHAKE)
		l = SG_HANDSHAKE_LEVEL_HANDSHAKE;
	else
		return NGTCP2_ERR_CRYPTO; /* no handshake data after it */
	rc = sg_handshake_recv(&c->hs, l, data, len);
	if (rc != 0) {
		fail(c, rc);
		ngtcp2_conn_set_tls_alert(conn, sg_handshake_alert(rc));
		return NGTCP2_ERR_CRYPTO;
	}
	if (!c->remote_tp && sg_handshake_remote_tp(&c->hs, &tp, &tplen) == 0) {
		if (ngtcp2_conn_decode_and_set_remote_transport_params(
			    conn, tp, tplen) != 0) {
			fail(c, SG_ERR_MALFORMED);
			return NGTCP2_ERR_CALLBACK_FAILURE;
		}
		c->remote_tp = 1;
	}
	if ((rc = install_keys(c)) != 0 || (rc = flush_handshake(c)) != 0)
		return rc;
	if (sg_handshake_done(&c->hs) && !c->completed) {
		c->completed = 1;
		c->hs_steps++;
		ngtcp2_conn_tls_handshake_completed(conn);
	}
	return 0;
}

static int cb_handshake_completed(ngtcp2_conn *conn, void *ud)
{
	sg_quic_conn *c = ud;
	const uint8_t *pk, *ek;
	(void)conn;
	if (sg_handshake_peer(&c->hs, &c->peer, &pk, &ek) != 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	c->connected = 1;
	push_event(c, SG_QUIC_CONNECTED, NULL, 0, 0);
	return 0;
}

static int cb_update_key(ngtcp2_conn *conn, uint8_t *rx_secret,
			 uint8_t *tx_secret, ngtcp2_crypto_aead_ctx *rx_aead,
			 uint8_t *rx_iv, ngtcp2_crypto_aead_ctx *tx_aead,
			 uint8_t *tx_iv, const uint8_t *cur_rx,
			 const uint8_t *cur_tx, size_t secretlen, void *ud)
{
	sg_quic_conn *c = ud;
	sg_handshake_pkt_keys k;
	(void)conn;

	if (secretlen != SG_HANDSHAKE_SECRET_LEN)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	/* RFC 9001 section 6: next secrets; header protection unchanged. */
	sg_handshake_next_secret(rx_secret, cur_rx);
	sg_handshake_next_secret(tx_secret, cur_tx);
	sg_handshake_pkt_keys_from_secret(&k, rx_secret);
	rx_aead->native_handle = key_copy(c, k.key);
	memcpy(rx_iv, k.iv, SG_HANDSHAKE_IV_LEN);
	sg_handshake_pkt_keys_from_secret(&k, tx_secret);
	tx_aead->native_handle = key_copy(c, k.key);
	memcpy(tx_iv, k.iv, SG_HANDSHAKE_IV_LEN);
	sg_wipe(&k, sizeof(k));
	if (rx_aead->native_handle == NULL || tx_aead->native_handle == NULL) {
		cb_delete_aead(NULL, rx_aead, c);
		cb_delete_aead(NULL, tx_aead, c);
		return NGTCP2_ERR_CALLBACK_FAILURE;
	}
	c->key_gens++;
	return 0;
}

/* RFC 9000 section 17.2.5.2: ngtcp2 has checked the Retry's integrity tag
 * and that it names our original DCID; the client's Initial packets now go
 * to the connection id the server chose, under Initial keys from it (H.9),
 * and ngtcp2 sends the whole Initial flight again with the token. */
static int cb_recv_retry(ngtcp2_conn *conn, const ngtcp2_pkt_hd *hd, void *ud)
{
	sg_quic_conn *c = ud;
	(void)conn;
	if (install_initial(c, &hd->scid) != 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	c->dcid0 = hd->scid; /* what the server sees our dial as now */
	c->retried = 1;
	return 0;
}

static void cb_rand(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx)
{
	const sg_quic_conn *c = ctx->native_handle;
	if (sg_random(&c->env, dest, len) != 0)
		randombytes_buf(dest, len);
}

static int cb_new_cid(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token,
		      size_t cidlen, void *ud)
{
	sg_quic_conn *c = ud;
	(void)conn;
	if (cidlen > NGTCP2_MAX_CIDLEN ||
	    sg_random(&c->env, cid->data, cidlen) != 0 ||
	    sg_random(&c->env, token, NGTCP2_STATELESS_RESET_TOKENLEN) != 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	cid->datalen = cidlen;
	return 0;
}

static int cb_path_challenge(ngtcp2_conn *conn, uint8_t *data, void *ud)
{
	sg_quic_conn *c = ud;
	(void)conn;
	return sg_random(&c->env, data, NGTCP2_PATH_CHALLENGE_DATALEN) == 0
		       ? 0
		       : NGTCP2_ERR_CALLBACK_FAILURE;
}

static int cb_version_negotiation(ngtcp2_conn *conn, uint32_t version,
				  const ngtcp2_cid *client_dcid, void *ud)
{
	(void)conn;
	(void)version;
	(void)client_dcid;
	(void)ud;
	return 0;
}

/* ---- streams ------------------------------------------------------------------ */

static in_stream *find_in(sg_quic_conn *c, int64_t sid, int create)
{
	size_t i;
	in_stream *free_slot = NULL;

	for (i = 0; i < c->cfg.max_recv_streams; i++) {
		if (c->in[i].sid == sid)
			return &c->in[i];
		if (c->in[i].sid < 0 && free_slot == NULL)
			free_slot = &c->in[i];
	}
	if (create && free_slot != NULL) {
		free_slot->sid = sid;
		free_slot->len = 0;
		free_slot->failed = 0;
		free_slot->delivered = 0;
	}
	return create ? free_slot : NULL;
}

static void release_in(sg_quic_conn *c, in_stream *s)
{
	sg_free(&c->env, s->buf);
	s->buf = NULL;
	s->cap = s->len = 0;
	s->sid = -1;
}

static int cb_recv_stream_data(ngtcp2_conn *conn, uint32_t flags,
			       int64_t sid, uint64_t offset,
			       const uint8_t *data, size_t len, void *ud,
			       void *sud)
{
	sg_quic_conn *c = ud;
	in_stream *s = find_in(c, sid, 1);
	(void)sud;
	(void)offset; /* ngtcp2 delivers stream data in order */

	/* A stream carries one message no longer than its window
	 * (max_message), so stream credit is never extended; connection
	 * credit comes back when the application takes the message. */
	if (s == NULL) { /* cannot happen: stream credit <= slots */
		ngtcp2_conn_extend_max_offset(conn, len);
		ngtcp2_conn_shutdown_stream_read(conn, 0, sid, 1);
		return 0;
	}
	if (s->failed || s->delivered)
		ngtcp2_conn_extend_max_offset(conn, len);
	if (!s->failed && len > 0) {
		if (s->len + len > c->cfg.max_message) {
			s->failed = 1;
			ngtcp2_conn_extend_max_offset(conn, s->len + len);
			ngtcp2_conn_shutdown_stream_read(conn, 0, sid, 2);
		} else {
			if (s->len + len > s->cap) {
				size_t ncap = s->cap ? s->cap : 4096;
				uint8_t *nb;
				while (ncap < s->len + len)
					ncap *= 2;
				if (ncap > c->cfg.max_message)
					ncap = c->cfg.max_message;
				nb = sg_realloc(&c->env, s->buf, ncap);
				if (nb == NULL)
					return NGTCP2_ERR_NOMEM;
				s->buf = nb;
				s->cap = ncap;
			}
			memcpy(s->buf + s->len, data, len);
			s->len += len;
		}
	}
	if ((flags & NGTCP2_STREAM_DATA_FLAG_FIN) && !s->failed &&
	    !s->delivered) {
		push_event(c, SG_QUIC_MESSAGE, s->buf, s->len, 0);
		s->buf = NULL; /* the event owns it now */
		s->cap = 0;
		s->delivered = 1;
	}
	return 0;
}

/* The i-th entry of the send queue, counting from the oldest. */
static out_msg *out_at(sg_quic_conn *c, size_t i)
{
	return &c->out[(c->out_head + i) % c->cfg.max_send_queue];
}

static int cb_stream_close(ngtcp2_conn *conn, uint32_t flags, int64_t sid,
			   uint64_t app_error_code, void *ud, void *sud)
{
	sg_quic_conn *c = ud;
	in_stream *s = find_in(c, sid, 0);
	size_t i;
	int remote = (sid & 1) == (c->is_server ? 0 : 1);
	(void)flags;
	(void)app_error_code;
	(void)sud;

	if (s != NULL) {
		/* A delivered message returns its stream's credit when it is
		 * polled; any other stream returns it now. */
		if (!s->delivered) {
			ngtcp2_conn_extend_max_offset(conn, s->len);
			ngtcp2_conn_extend_max_streams_uni(conn, 1);
		}
		release_in(c, s);
	} else if (remote) {
		ngtcp2_conn_extend_max_streams_uni(conn, 1);
	}
	/* Streams mostly close in the order they were opened: search from
	 * the oldest, then drop the gone entries at the front. */
	for (i = 0; i < c->nout; i++) {
		out_msg *m = out_at(c, i);
		if (m->buf == NULL || m->sid != sid)
			continue;
		sg_free(&c->env, m->buf);
		m->buf = NULL;
		break;
	}
	while (c->nout > 0 && out_at(c, 0)->buf == NULL) {
		c->out_head = (c->out_head + 1) % c->cfg.max_send_queue;
		c->nout--;
		if (c->out_next > 0)
			c->out_next--;
	}
	return 0;
}

/* ---- life cycle ------------------------------------------------------------- */

static sg_quic_conn *conn_alloc(const sg_env *env, const sg_quic_config *cfg,
				const sg_identity *ident, int is_server)
{
	sg_quic_conn *c;
	size_t i;

	if (cfg->size != sizeof(*cfg) || cfg->max_message == 0 ||
	    cfg->max_send_queue == 0 || cfg->max_recv_streams == 0 ||
	    cfg->max_udp_payload < SG_QUIC_MIN_UDP_PAYLOAD ||
	    cfg->max_udp_payload > SG_QUIC_MAX_UDP_PAYLOAD)
		return NULL;
	c = sg_calloc(env, 1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->env = *env;
	c->cfg = *cfg;
	c->ident = ident;
	c->is_server = is_server;
	/* The send queue (max_send_queue entries, 40 KB by default) comes
	 * with the first message: many connections never send one (a dial
	 * that fails, a handshake flood). */
	c->in = sg_calloc(env, cfg->max_recv_streams, sizeof(in_stream));
	c->ev_cap = cfg->max_recv_streams + 8;
	c->evq = sg_calloc(env, c->ev_cap, sizeof(ev_item));
	if (c->in == NULL || c->evq == NULL) {
		sg_free(env, c->in);
		sg_free(env, c->evq);
		sg_free(env, c);
		return NULL;
	}
	for (i = 0; i < cfg->max_recv_streams; i++)
		c->in[i].sid = -1;
	ngtcp2_ccerr_default(&c->ccerr);
	c->cctx.aead.native_handle = &aead_marker;
	c->cctx.aead.max_overhead = SG_HANDSHAKE_TAG_LEN;
	c->cctx.md.native_handle = &md_marker;
	c->cctx.hp.native_handle = &hp_marker;
	/* RFC 9001 section 6.6 for AEAD_CHACHA20_POLY1305. */
	c->cctx.max_encryption = 1ull << 62;
	c->cctx.max_decryption_failure = 1ull << 36;
	return c;
}

static void fill_callbacks(ngtcp2_callbacks *cb, int is_server)
{
	memset(cb, 0, sizeof(*cb));
	if (is_server)
		cb->recv_client_initial = cb_recv_client_initial;
	else {
		cb->client_initial = cb_client_initial;
		cb->recv_retry = cb_recv_retry;
	}
	cb->recv_crypto_data = cb_recv_crypto_data;
	cb->handshake_completed = cb_handshake_completed;
	cb->encrypt = cb_encrypt;
	cb->decrypt = cb_decrypt;
	cb->hp_mask = cb_hp_mask;
	cb->recv_stream_data = cb_recv_stream_data;
	cb->stream_close = cb_stream_close;
	cb->rand = cb_rand;
	cb->get_new_connection_id = cb_new_cid;
	cb->update_key = cb_update_key;
	cb->delete_crypto_aead_ctx = cb_delete_aead;
	cb->delete_crypto_cipher_ctx = cb_delete_cipher;
	cb->get_path_challenge_data = cb_path_challenge;
	cb->version_negotiation = cb_version_negotiation;
}

static void fill_settings(sg_quic_conn *c, ngtcp2_settings *st,
			  ngtcp2_transport_params *tp, uint64_t now_ms)
{
	size_t i, n = 0;

	ngtcp2_settings_default(st);
	st->initial_ts = ts(now_ms);
	st->rand_ctx.native_handle = c;
	st->max_tx_udp_payload_size = c->cfg.max_udp_payload;
	for (i = 0; i < MAX_PROBES - 1; i++)
		if (pmtud_sizes[i] < c->cfg.max_udp_payload)
			c->probes[n++] = pmtud_sizes[i];
	c->probes[n++] = (uint16_t)c->cfg.max_udp_payload;
	st->pmtud_probes = c->probes;
	st->pmtud_probeslen = n;
	st->handshake_timeout = ts(c->cfg.handshake_timeout_ms);
	ngtcp2_transport_params_default(tp);
	tp->initial_max_streams_uni = c->cfg.max_recv_streams;
	tp->initial_max_stream_data_uni = c->cfg.max_message;
	tp->initial_max_data = 4 * c->cfg.max_message;
	tp->max_idle_timeout = ts(c->cfg.idle_timeout_ms);
	tp->active_connection_id_limit = 4;
	tp->max_udp_payload_size = c->cfg.max_udp_payload;
}

/* RFC 9000 section 10.1.2: a PING after keep_alive_ms without traffic
 * (ngtcp2 arms it once the handshake is confirmed). */
static void set_keep_alive(sg_quic_conn *c)
{
	if (c->cfg.keep_alive_ms > 0)
		ngtcp2_conn_set_keep_alive_timeout(c->conn,
						   ts(c->cfg.keep_alive_ms));
}

sg_quic_conn *sg_quic_client_new(const sg_env *env, const sg_quic_config *cfg,
				 const sg_identity *ident,
				 const sg_peer_id *expected,
				 const struct sockaddr *local,
				 socklen_t local_len,
				 const struct sockaddr *remote,
				 socklen_t remote_len, uint64_t now_ms, int *err)
{
	sg_quic_conn *c = conn_alloc(env, cfg, ident, 0);
	ngtcp2_callbacks cb;
	ngtcp2_settings st;
	ngtcp2_transport_params tp;
	ngtcp2_cid dcid, scid;
	int rv;

	*err = SG_ERR_NOMEM;
	if (c == NULL)
		return NULL;
	if (expected != NULL) {
		c->expected = *expected;
		c->has_expected = 1;
	}
	c->now_ms = now_ms;
	ngtcp2_path_storage_init(&c->ps, (const ngtcp2_sockaddr *)local,
				 (ngtcp2_socklen)local_len,
				 (const ngtcp2_sockaddr *)remote,
				 (ngtcp2_socklen)remote_len, NULL);
	dcid.datalen = CID_LEN;
	scid.datalen = CID_LEN;
	if (sg_random(env, dcid.data, CID_LEN) != 0 ||
	    sg_random(env, scid.data, CID_LEN) != 0) {
		sg_quic_conn_del(c);
		*err = SG_ERR_CRYPTO;
		return NULL;
	}
	fill_callbacks(&cb, 0);
	fill_settings(c, &st, &tp, now_ms);
	c->scid = scid;
	c->dcid0 = dcid;
	rv = ngtcp2_conn_client_new(&c->conn, &dcid, &scid, &c->ps.path,
				    SG_QUIC_VERSION, &cb, &st, &tp, NULL, c);
	if (rv != 0) {
		sg_quic_conn_del(c);
		return NULL;
	}
	ngtcp2_conn_set_initial_crypto_ctx(c->conn, &c->cctx);
	ngtcp2_conn_set_crypto_ctx(c->conn, &c->cctx);
	set_keep_alive(c);
	/* ngtcp2 checks a Retry's integrity tag with this context before it
	 * calls recv_retry (found by fuzzing: without one it encrypts with a
	 * NULL key). cb_encrypt computes the tag of H.4 for retry_aead; the
	 * context holds a copy of the published key only because ngtcp2
	 * frees it through cb_delete_aead like any other. */
	{
		uint8_t rk[SG_HANDSHAKE_KEY_LEN], rn[SG_HANDSHAKE_IV_LEN];
		ngtcp2_crypto_aead_ctx ra = {0};
		sg_handshake_retry_key(rk, rn);
		ra.native_handle = key_copy(c, rk);
		if (ra.native_handle == NULL) {
			sg_quic_conn_del(c);
			*err = SG_ERR_NOMEM;
			return NULL;
		}
		ngtcp2_conn_set_retry_aead(c->conn, &retry_aead, &ra);
	}
	*err = 0;
	return c;
}

/* A server connection; odcid: the client's original DCID out of a valid
 * Retry token (then this Initial's DCID is the one our Retry chose, and
 * the address counts as validated), or NULL. */
static sg_quic_conn *server_new(const sg_env *env, const sg_quic_config *cfg,
				const sg_identity *ident, const uint8_t *pkt,
				size_t len, const uint8_t *odcid,
				size_t odcid_len, const struct sockaddr *local,
				socklen_t local_len,
				const struct sockaddr *remote,
				socklen_t remote_len, uint64_t now_ms, int *err)
{
	ngtcp2_pkt_hd hd;
	ngtcp2_callbacks cb;
	ngtcp2_settings st;
	ngtcp2_transport_params tp;
	ngtcp2_cid scid;
	sg_quic_conn *c;
	int rv;

	if (ngtcp2_accept(&hd, pkt, len) != 0 ||
	    odcid_len > SG_QUIC_MAX_CID_LEN) {
		*err = SG_ERR_MALFORMED;
		return NULL;
	}
	c = conn_alloc(env, cfg, ident, 1);
	*err = SG_ERR_NOMEM;
	if (c == NULL)
		return NULL;
	c->now_ms = now_ms;
	ngtcp2_path_storage_init(&c->ps, (const ngtcp2_sockaddr *)local,
				 (ngtcp2_socklen)local_len,
				 (const ngtcp2_sockaddr *)remote,
				 (ngtcp2_socklen)remote_len, NULL);
	scid.datalen = CID_LEN;
	if (sg_random(env, scid.data, CID_LEN) != 0) {
		sg_quic_conn_del(c);
		*err = SG_ERR_CRYPTO;
		return NULL;
	}
	fill_callbacks(&cb, 1);
	fill_settings(c, &st, &tp, now_ms);
	if (odcid != NULL) {
		/* RFC 9000 section 7.3: the client checks both. */
		ngtcp2_cid_init(&tp.original_dcid, odcid, odcid_len);
		tp.retry_scid = hd.dcid;
		tp.retry_scid_present = 1;
		st.token = hd.token;
		st.tokenlen = hd.tokenlen;
		st.token_type = NGTCP2_TOKEN_TYPE_RETRY;
	} else {
		tp.original_dcid = hd.dcid;
	}
	tp.original_dcid_present = 1;
	c->scid = scid;
	rv = ngtcp2_conn_server_new(&c->conn, &hd.scid, &scid, &c->ps.path,
				    hd.version, &cb, &st, &tp, NULL, c);
	if (rv != 0) {
		sg_quic_conn_del(c);
		return NULL;
	}
	ngtcp2_conn_set_initial_crypto_ctx(c->conn, &c->cctx);
	ngtcp2_conn_set_crypto_ctx(c->conn, &c->cctx);
	set_keep_alive(c);
	*err = 0;
	rv = sg_quic_read(c, pkt, len, now_ms);
	if (!c->have_initial || (c->ch_len == 0 && !c->hs_init)) {
		/* The datagram looked like an Initial packet but did not
		 * start a connection: no Initial keys (found by fuzzing:
		 * ngtcp2 must not be asked to write before it has them), or
		 * nothing of a ClientHello, as when the packet does not open
		 * under the keys of its connection id: a server's Initial
		 * that reaches a client's address after the client has gone
		 * (found by sg-bench loopback: such a connection sat there
		 * until its handshake timeout, and the next dial to that
		 * address was refused with SG_ERR_EXISTS). */
		*err = rv != 0 ? rv : SG_ERR_MALFORMED;
		sg_quic_conn_del(c);
		return NULL;
	}
	return c;
}

sg_quic_conn *sg_quic_server_new(const sg_env *env, const sg_quic_config *cfg,
				 const sg_identity *ident, const uint8_t *pkt,
				 size_t len, const struct sockaddr *local,
				 socklen_t local_len,
				 const struct sockaddr *remote,
				 socklen_t remote_len, uint64_t now_ms, int *err)
{
	return server_new(env, cfg, ident, pkt, len, NULL, 0, local, local_len,
			  remote, remote_len, now_ms, err);
}

sg_quic_conn *sg_quic_server_new_validated(
	const sg_env *env, const sg_quic_config *cfg, const sg_identity *ident,
	const uint8_t *pkt, size_t len, const uint8_t *odcid, size_t odcid_len,
	const struct sockaddr *local, socklen_t local_len,
	const struct sockaddr *remote, socklen_t remote_len, uint64_t now_ms,
	int *err)
{
	if (odcid == NULL || odcid_len < NGTCP2_MIN_INITIAL_DCIDLEN) {
		*err = SG_ERR_INVAL;
		return NULL;
	}
	return server_new(env, cfg, ident, pkt, len, odcid, odcid_len, local,
			  local_len, remote, remote_len, now_ms, err);
}

void sg_quic_conn_del(sg_quic_conn *c)
{
	size_t i;
	sg_env env;

	if (c == NULL)
		return;
	env = c->env;
	if (c->conn != NULL)
		ngtcp2_conn_del(c->conn);
	if (c->hs_init)
		sg_handshake_fini(&c->hs);
	sg_free(&env, c->ch_buf);
	for (i = 0; i < c->nout; i++)
		sg_free(&env, out_at(c, i)->buf);
	for (i = 0; c->in != NULL && i < c->cfg.max_recv_streams; i++)
		sg_free(&env, c->in[i].buf);
	for (i = 0; c->evq != NULL && i < c->ev_n; i++)
		sg_free(&env, c->evq[(c->ev_head + i) % c->ev_cap].data);
	sg_free(&env, c->evq);
	sg_free(&env, c->ev_last);
	sg_free(&env, c->out);
	sg_free(&env, c->in);
	sg_free(&env, c);
}

/* ---- I/O ---------------------------------------------------------------------- */

static int ngtcp2_to_err(int rv)
{
	switch (rv) {
	case NGTCP2_ERR_NOMEM:
		return SG_ERR_NOMEM;
	case NGTCP2_ERR_IDLE_CLOSE:
		return SG_ERR_TIMEOUT;
	case NGTCP2_ERR_DRAINING:
	case NGTCP2_ERR_CLOSING:
		return SG_ERR_CLOSED;
	case NGTCP2_ERR_CRYPTO:
		return SG_ERR_VERIFY;
	default:
		return SG_ERR_MALFORMED;
	}
}

static void mark_closed(sg_quic_conn *c, int err)
{
	if (c->closed)
		return;
	c->closed = 1;
	fail(c, err);
	if (!c->close_reported) {
		c->close_reported = 1;
		push_event(c, SG_QUIC_CLOSED, NULL, 0, c->error);
	}
}

/* The peer's CONNECTION_CLOSE: 0 for a clean close, SG_ERR_VERIFY for a
 * handshake failure (crypto error 0x100-0x1ff), else SG_ERR_CLOSED. */
static int peer_close_error(sg_quic_conn *c)
{
	const ngtcp2_ccerr *r = ngtcp2_conn_get_ccerr(c->conn);

	if (r->error_code == 0)
		return 0;
	if (r->type == NGTCP2_CCERR_TYPE_TRANSPORT &&
	    (r->error_code & ~(uint64_t)0xff) == 0x100)
		return SG_ERR_VERIFY;
	return SG_ERR_CLOSED;
}

int sg_quic_read(sg_quic_conn *c, const uint8_t *pkt, size_t len,
		 uint64_t now_ms)
{
	ngtcp2_pkt_info pi = {0};
	int rv;

	if (c->closed)
		return SG_ERR_CLOSED;
	now_ms = clock_in(c, now_ms);
	rv = ngtcp2_conn_read_pkt(c->conn, &c->ps.path, &pi, pkt, len,
				  ts(now_ms));
	if (rv == 0)
		return 0;
	if (rv == NGTCP2_ERR_DRAINING) {
		mark_closed(c, peer_close_error(c));
		return 0;
	}
	if (rv == NGTCP2_ERR_CRYPTO || rv == NGTCP2_ERR_CALLBACK_FAILURE ||
	    rv == NGTCP2_ERR_PROTO || rv == NGTCP2_ERR_TRANSPORT_PARAM ||
	    rv == NGTCP2_ERR_NOMEM) {
		/* Fatal: tell the peer why with CONNECTION_CLOSE. */
		if (rv == NGTCP2_ERR_CRYPTO)
			ngtcp2_ccerr_set_tls_alert(
				&c->ccerr, ngtcp2_conn_get_tls_alert(c->conn),
				NULL, 0);
		else
			ngtcp2_ccerr_set_liberr(&c->ccerr, rv, NULL, 0);
		fail(c, c->error ? c->error : ngtcp2_to_err(rv));
		c->closing = 1;
		return c->error;
	}
	/* Anything else (a packet that did not decrypt, a stray packet) is
	 * dropped, as RFC 9000 section 12.2 asks. */
	return 0;
}

long sg_quic_write(sg_quic_conn *c, uint8_t *out, size_t cap, uint64_t now_ms)
{
	ngtcp2_pkt_info pi;
	ngtcp2_ssize n;
	size_t i;

	now_ms = clock_in(c, now_ms);
	if (c->closed)
		return 0;
	if (c->closing) {
		n = ngtcp2_conn_write_connection_close(c->conn, &c->ps.path, &pi,
						       out, cap, &c->ccerr,
						       ts(now_ms));
		mark_closed(c, c->error);
		return n < 0 ? 0 : (long)n;
	}
	/* Stream data first: the oldest message not yet written, then the
	 * next (each on a new stream). */
	for (i = c->out_next; i < c->nout; i++) {
		out_msg *m = out_at(c, i);
		ngtcp2_vec v;
		ngtcp2_ssize wlen = -1;
		int64_t sid;

		if (m->buf == NULL || m->done) {
			if (i == c->out_next)
				c->out_next++;
			continue;
		}
		if (m->sid < 0) {
			if (ngtcp2_conn_open_uni_stream(c->conn, &sid, NULL) != 0)
				break; /* out of stream credit: wait */
			m->sid = sid;
		}
		v.base = m->buf + m->sent;
		v.len = m->len - m->sent;
		n = ngtcp2_conn_writev_stream(c->conn, &c->ps.path, &pi, out,
					      cap, &wlen,
					      NGTCP2_WRITE_STREAM_FLAG_FIN,
					      m->sid, &v, 1, ts(now_ms));
		if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED)
			continue; /* longer than the peer's stream window */
		if (n < 0) {
			ngtcp2_ccerr_set_liberr(&c->ccerr, (int)n, NULL, 0);
			fail(c, ngtcp2_to_err((int)n));
			c->closing = 1;
			return sg_quic_write(c, out, cap, now_ms);
		}
		if (wlen >= 0) {
			m->sent += (size_t)wlen;
			if (m->sent == m->len) {
				m->done = 1;
				if (i == c->out_next)
					c->out_next++;
			}
		}
		if (n > 0)
			return (long)n;
		break; /* congestion or flow control: nothing goes now */
	}
	/* The next part of the ClientHello, one per Initial datagram. */
	if (c->ch_rest_len > 0 && submit_hello_part(c) != 0) {
		ngtcp2_ccerr_set_liberr(&c->ccerr, NGTCP2_ERR_NOMEM, NULL, 0);
		fail(c, SG_ERR_NOMEM);
		c->closing = 1;
		return sg_quic_write(c, out, cap, now_ms);
	}
	n = ngtcp2_conn_write_pkt(c->conn, &c->ps.path, &pi, out, cap,
				  ts(now_ms));
	if (n < 0) {
		if (n == NGTCP2_ERR_DRAINING || n == NGTCP2_ERR_CLOSING) {
			mark_closed(c, 0);
			return 0;
		}
		ngtcp2_ccerr_set_liberr(&c->ccerr, (int)n, NULL, 0);
		fail(c, ngtcp2_to_err((int)n));
		c->closing = 1;
		return sg_quic_write(c, out, cap, now_ms);
	}
	return (long)n;
}

int sg_quic_send(sg_quic_conn *c, const uint8_t *msg, size_t len)
{
	out_msg *m;

	if (len > c->cfg.max_message)
		return SG_ERR_RANGE;
	if (!c->connected || c->closing || c->closed)
		return SG_ERR_STATE;
	if (c->nout == c->cfg.max_send_queue)
		return SG_ERR_FULL;
	if (c->out == NULL &&
	    (c->out = sg_calloc(&c->env, c->cfg.max_send_queue,
				sizeof(out_msg))) == NULL)
		return SG_ERR_NOMEM;
	m = out_at(c, c->nout);
	memset(m, 0, sizeof(*m));
	m->sid = -1;
	m->buf = sg_alloc(&c->env, len ? len : 1);
	if (m->buf == NULL)
		return SG_ERR_NOMEM;
	if (len)
		memcpy(m->buf, msg, len);
	m->len = len;
	c->nout++;
	return 0;
}

uint64_t sg_quic_handshake_steps(const sg_quic_conn *c)
{
	return c->hs_steps;
}

size_t sg_quic_path_max_payload(const sg_quic_conn *c)
{
	return ngtcp2_conn_get_path_max_tx_udp_payload_size(c->conn);
}

int sg_quic_poll_event(sg_quic_conn *c, sg_quic_event *ev)
{
	ev_item *e;

	sg_free(&c->env, c->ev_last);
	c->ev_last = NULL;
	if (c->ev_n == 0)
		return 0;
	e = &c->evq[c->ev_head];
	c->ev_head = (c->ev_head + 1) % c->ev_cap;
	c->ev_n--;
	if (e->type == SG_QUIC_MESSAGE && !c->closed) {
		/* Taken: the peer may send another message of this size. */
		ngtcp2_conn_extend_max_offset(c->conn, e->len);
		ngtcp2_conn_extend_max_streams_uni(c->conn, 1);
	}
	memset(ev, 0, sizeof(*ev));
	ev->type = e->type;
	ev->peer = c->peer;
	ev->data = e->data;
	ev->len = e->len;
	ev->error = e->error;
	c->ev_last = e->data;
	return 1;
}

uint64_t sg_quic_next_deadline(const sg_quic_conn *c)
{
	ngtcp2_tstamp t;

	if (c->closed)
		return UINT64_MAX;
	if (c->closing)
		return c->now_ms;
	t = ngtcp2_conn_get_expiry(c->conn);
	if (t == UINT64_MAX)
		return UINT64_MAX;
	/* Rounded up: a tick at the returned millisecond is at or after the
	 * expiry, so it handles it. Rounded down, a tick in the same
	 * millisecond would come too early, change nothing and leave the
	 * deadline in the past: a caller's timer would spin until the clock
	 * reached the next millisecond. */
	return t / NS_PER_MS + (t % NS_PER_MS != 0);
}

void sg_quic_tick(sg_quic_conn *c, uint64_t now_ms)
{
	int rv;

	if (c->closed || c->closing)
		return;
	now_ms = clock_in(c, now_ms);
	rv = ngtcp2_conn_handle_expiry(c->conn, ts(now_ms));
	if (rv == NGTCP2_ERR_IDLE_CLOSE || rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
		/* Silent close (RFC 9000 section 10.1). */
		mark_closed(c, SG_ERR_TIMEOUT);
	} else if (rv != 0) {
		ngtcp2_ccerr_set_liberr(&c->ccerr, rv, NULL, 0);
		fail(c, ngtcp2_to_err(rv));
		c->closing = 1;
	}
}

void sg_quic_close(sg_quic_conn *c)
{
	if (!c->closed && !c->closing) {
		ngtcp2_ccerr_set_application_error(&c->ccerr, 0, NULL, 0);
		c->closing = 1;
	}
}

int sg_quic_is_closed(const sg_quic_conn *c)
{
	return c->closed;
}

/* Simultaneous open. A client's first packets are Initial packets whose
 * Destination Connection ID the client chose at random (RFC 9000 section
 * 7.2); the server's Initial packets to us carry our Source Connection ID
 * instead. So an acceptable first packet (ngtcp2_accept: Initial, padded,
 * DCID of 8+ bytes) with another DCID is the peer dialling us. Both sides
 * see the same two client-chosen DCIDs, so comparing them (length, then
 * bytes) picks the same survivor on both without any shared view of
 * addresses (which NAT would break). Equal DCIDs mean our own packet came
 * back to us: not a crossing. */
sg_quic_cross sg_quic_crossed_initial(const sg_quic_conn *c,
				      const uint8_t *pkt, size_t len)
{
	ngtcp2_pkt_hd hd;
	const ngtcp2_cid *a, *b;
	int cmp;

	if (c->is_server || c->connected || c->closing || c->closed ||
	    ngtcp2_accept(&hd, pkt, len) != 0 ||
	    ngtcp2_cid_eq(&hd.dcid, &c->scid))
		return SG_QUIC_CROSS_NONE;
	a = &c->dcid0;
	b = &hd.dcid;
	if (a->datalen != b->datalen)
		cmp = a->datalen < b->datalen ? -1 : 1;
	else
		cmp = memcmp(a->data, b->data, a->datalen);
	if (cmp == 0)
		return SG_QUIC_CROSS_NONE;
	return cmp < 0 ? SG_QUIC_CROSS_KEEP : SG_QUIC_CROSS_YIELD;
}

int sg_quic_update_keys(sg_quic_conn *c, uint64_t now_ms)
{
	if (!c->connected || c->closing || c->closed)
		return SG_ERR_STATE;
	now_ms = clock_in(c, now_ms);
	/* RFC 9001 section 6.1: refused until the previous update is
	 * confirmed (and, in ngtcp2, a little longer). */
	return ngtcp2_conn_initiate_key_update(c->conn, ts(now_ms)) == 0
		       ? 0
		       : SG_ERR_STATE;
}

uint64_t sg_quic_key_generations(const sg_quic_conn *c)
{
	return c->key_gens;
}

int sg_quic_handshake_started(const sg_quic_conn *c)
{
	return c->hs_init;
}

int sg_quic_retried(const sg_quic_conn *c)
{
	return c->retried;
}

/* ---- Address validation with Retry (RFC 9000 section 8.1.2) ------------- */

int sg_quic_initial_decode(sg_quic_initial *ini, const uint8_t *pkt,
			   size_t len)
{
	ngtcp2_pkt_hd hd;

	memset(ini, 0, sizeof(*ini));
	if (ngtcp2_accept(&hd, pkt, len) != 0 ||
	    hd.type != NGTCP2_PKT_INITIAL)
		return SG_ERR_MALFORMED;
	ini->version = hd.version;
	memcpy(ini->dcid, hd.dcid.data, hd.dcid.datalen);
	ini->dcid_len = hd.dcid.datalen;
	memcpy(ini->scid, hd.scid.data, hd.scid.datalen);
	ini->scid_len = hd.scid.datalen;
	ini->token = hd.token;
	ini->token_len = hd.tokenlen;
	return 0;
}

#define TOKEN_FORMAT 0x01
#define TOKEN_HEAD (1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
#define TOKEN_PT_MIN (8 + 1 + NGTCP2_MIN_INITIAL_DCIDLEN)
#define TOKEN_AD_MAX (TOKEN_HEAD + 19 + 1 + SG_QUIC_MAX_CID_LEN)

/* The client's address as bound into a token: family, port, address. */
static size_t addr_bytes(uint8_t out[19], const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)sa;
		out[0] = 4;
		memcpy(out + 1, &a->sin_port, 2);
		memcpy(out + 3, &a->sin_addr, 4);
		return 7;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)sa;
		out[0] = 6;
		memcpy(out + 1, &a->sin6_port, 2);
		memcpy(out + 3, &a->sin6_addr, 16);
		return 19;
	}
	return 0;
}

/* Associated data: the token's head, the client's address and the
 * connection id our Retry told it to use. */
static size_t token_ad(uint8_t ad[TOKEN_AD_MAX], const uint8_t *head,
		       const struct sockaddr *remote, const uint8_t *rscid,
		       size_t rscid_len)
{
	size_t n = TOKEN_HEAD, k;

	memcpy(ad, head, TOKEN_HEAD);
	k = addr_bytes(ad + n, remote);
	if (k == 0)
		return 0;
	n += k;
	ad[n++] = (uint8_t)rscid_len;
	memcpy(ad + n, rscid, rscid_len);
	return n + rscid_len;
}

long sg_quic_retry_write(uint8_t *out, size_t cap, const sg_env *env,
			 const uint8_t key[SG_QUIC_TOKEN_KEY_LEN],
			 const sg_quic_initial *ini,
			 const struct sockaddr *remote, uint64_t now_ms)
{
	uint8_t token[SG_QUIC_RETRY_TOKEN_MAX], ad[TOKEN_AD_MAX];
	uint8_t pt[8 + 1 + SG_QUIC_MAX_CID_LEN];
	unsigned long long clen;
	ngtcp2_cid dcid, scid, odcid;
	ngtcp2_crypto_aead_ctx actx;
	size_t adlen, ptlen, i;
	ngtcp2_ssize n;

	if (ini->dcid_len < NGTCP2_MIN_INITIAL_DCIDLEN ||
	    ini->dcid_len > SG_QUIC_MAX_CID_LEN ||
	    ini->scid_len > SG_QUIC_MAX_CID_LEN)
		return SG_ERR_INVAL;
	scid.datalen = CID_LEN;
	token[0] = TOKEN_FORMAT;
	if (sg_random(env, scid.data, CID_LEN) != 0 ||
	    sg_random(env, token + 1, TOKEN_HEAD - 1) != 0)
		return SG_ERR_CRYPTO;
	adlen = token_ad(ad, token, remote, scid.data, scid.datalen);
	if (adlen == 0)
		return SG_ERR_INVAL;
	for (i = 0; i < 8; i++)
		pt[i] = (uint8_t)(now_ms >> (56 - 8 * i));
	pt[8] = (uint8_t)ini->dcid_len;
	memcpy(pt + 9, ini->dcid, ini->dcid_len);
	ptlen = 9 + ini->dcid_len;
	crypto_aead_xchacha20poly1305_ietf_encrypt(token + TOKEN_HEAD, &clen,
						   pt, ptlen, ad, adlen, NULL,
						   token + 1, key);
	ngtcp2_cid_init(&dcid, ini->scid, ini->scid_len);
	ngtcp2_cid_init(&odcid, ini->dcid, ini->dcid_len);
	actx.native_handle = &retry_marker;
	n = ngtcp2_pkt_write_retry(out, cap, ini->version, &dcid, &scid, &odcid,
				   token, TOKEN_HEAD + (size_t)clen, cb_encrypt,
				   &retry_aead, &actx);
	if (n == NGTCP2_ERR_NOBUF)
		return SG_ERR_BUFSIZE;
	return n < 0 ? SG_ERR_CRYPTO : (long)n;
}

int sg_quic_retry_token_check(uint8_t odcid[SG_QUIC_MAX_CID_LEN],
			      size_t *odcid_len,
			      const uint8_t key[SG_QUIC_TOKEN_KEY_LEN],
			      const sg_quic_initial *ini,
			      const struct sockaddr *remote, uint64_t now_ms,
			      uint64_t lifetime_ms)
{
	uint8_t ad[TOKEN_AD_MAX], pt[SG_QUIC_RETRY_TOKEN_MAX];
	unsigned long long ptlen;
	const uint8_t *t = ini->token;
	size_t adlen, i;
	uint64_t issued = 0;

	*odcid_len = 0;
	if (ini->token_len < TOKEN_HEAD + TOKEN_PT_MIN +
				     crypto_aead_xchacha20poly1305_ietf_ABYTES ||
	    ini->token_len > SG_QUIC_RETRY_TOKEN_MAX || t[0] != TOKEN_FORMAT ||
	    ini->dcid_len > SG_QUIC_MAX_CID_LEN)
		return SG_ERR_MALFORMED;
	adlen = token_ad(ad, t, remote, ini->dcid, ini->dcid_len);
	if (adlen == 0)
		return SG_ERR_INVAL;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    pt, &ptlen, NULL, t + TOKEN_HEAD, ini->token_len - TOKEN_HEAD,
		    ad, adlen, t + 1, key) != 0)
		return SG_ERR_VERIFY; /* forged, or another address or CID */
	if (ptlen < TOKEN_PT_MIN || pt[8] != ptlen - 9)
		return SG_ERR_MALFORMED; /* cannot happen: we sealed it */
	for (i = 0; i < 8; i++)
		issued = issued << 8 | pt[i];
	if (issued > now_ms || now_ms - issued > lifetime_ms)
		return SG_ERR_EXPIRED;
	memcpy(odcid, pt + 9, pt[8]);
	*odcid_len = pt[8];
	return 0;
}
