/*
 * Deterministic CBOR encoding and strict decoding of the HyParView (DSN
 * 2007, section 4.2-4.4) and SWIM/Lifeguard (DSN 2002, section 4) messages
 * of include/sg/membership.h. Each message is one array whose first two
 * elements are the type and the sender's PeerId; the decoder validates the
 * whole item first and then checks every field's type, length and range.
 * Also the subject-signed claims (alive, left) of DESIGN section 7: their
 * signed bytes, signing and verification.
 */
#include "sg/membership.h"

#include <string.h>

#include "sg/cbor.h"
#include "sg/err.h"

static size_t field_count(uint8_t type)
{
	switch (type) {
	case SG_MEMB_JOIN:
	case SG_MEMB_JOINACK:
	case SG_MEMB_NEIGHBOR_REPLY:
	case SG_MEMB_DISCONNECT:
	case SG_MEMB_SHUFFLEREPLY:
		return 3;
	case SG_MEMB_NEIGHBOR:
	case SG_MEMB_FORWARDJOIN:
	case SG_MEMB_PING:
	case SG_MEMB_ACK:
		return 4;
	case SG_MEMB_SHUFFLE:
	case SG_MEMB_PINGREQ:
		return 5;
	case SG_MEMB_INDACK:
		return 6;
	case SG_MEMB_CLAIM:
		return 7;
	default:
		return 0;
	}
}

static void put_peer(sg_cbor_enc *e, const sg_memb_peer *p)
{
	sg_cbor_put_array(e, 2);
	sg_cbor_put_bytes(e, p->id.bytes, SG_PEER_ID_LEN);
	sg_cbor_put_bytes(e, p->addr, p->addr_len);
}

static void put_gossip(sg_cbor_enc *e, const sg_memb_msg *m)
{
	size_t i;

	sg_cbor_put_array(e, m->n_gossip);
	for (i = 0; i < m->n_gossip; i++) {
		sg_cbor_put_array(e, 3);
		sg_cbor_put_uint(e, m->gossip[i].kind);
		sg_cbor_put_bytes(e, m->gossip[i].subject.bytes,
				  SG_PEER_ID_LEN);
		sg_cbor_put_uint(e, m->gossip[i].incarnation);
	}
}

long sg_memb_encode(uint8_t *out, size_t cap, const sg_memb_msg *m)
{
	sg_cbor_enc e;
	size_t n, i;

	if (m == NULL || (n = field_count(m->type)) == 0 ||
	    m->n_peers > SG_MEMB_MAX_PEERS ||
	    m->n_gossip > SG_MEMB_MAX_GOSSIP ||
	    m->peer.addr_len > SG_MEMB_ADDR_MAX || m->flag > 1)
		return SG_ERR_INVAL;
	for (i = 0; i < m->n_peers; i++)
		if (m->peers[i].addr_len > SG_MEMB_ADDR_MAX)
			return SG_ERR_INVAL;
	for (i = 0; i < m->n_gossip; i++)
		if (m->gossip[i].kind != SG_MEMB_SUSPECT &&
		    m->gossip[i].kind != SG_MEMB_DEAD)
			return SG_ERR_INVAL;
	if (m->type == SG_MEMB_CLAIM &&
	    ((m->claim.kind != SG_MEMB_ALIVE &&
	      m->claim.kind != SG_MEMB_LEFT) ||
	     m->claim.pk == NULL || m->claim.sig == NULL))
		return SG_ERR_INVAL;
	sg_cbor_enc_init(&e, out, cap);
	sg_cbor_put_array(&e, n);
	sg_cbor_put_uint(&e, m->type);
	sg_cbor_put_bytes(&e, m->sender.bytes, SG_PEER_ID_LEN);
	switch (m->type) {
	case SG_MEMB_JOIN:
	case SG_MEMB_JOINACK:
		sg_cbor_put_bytes(&e, m->peer.addr, m->peer.addr_len);
		break;
	case SG_MEMB_FORWARDJOIN:
		put_peer(&e, &m->peer);
		sg_cbor_put_uint(&e, m->ttl);
		break;
	case SG_MEMB_NEIGHBOR:
		sg_cbor_put_bytes(&e, m->peer.addr, m->peer.addr_len);
		sg_cbor_put_bool(&e, m->flag);
		break;
	case SG_MEMB_NEIGHBOR_REPLY:
	case SG_MEMB_DISCONNECT:
		sg_cbor_put_bool(&e, m->flag);
		break;
	case SG_MEMB_SHUFFLE:
		put_peer(&e, &m->peer);
		sg_cbor_put_uint(&e, m->ttl);
		/* the peer list ends both shuffle messages */
		/* fall through */
	case SG_MEMB_SHUFFLEREPLY:
		sg_cbor_put_array(&e, m->n_peers);
		for (i = 0; i < m->n_peers; i++)
			put_peer(&e, &m->peers[i]);
		break;
	case SG_MEMB_PING:
	case SG_MEMB_ACK:
		sg_cbor_put_uint(&e, m->seq);
		put_gossip(&e, m);
		break;
	case SG_MEMB_PINGREQ:
		sg_cbor_put_uint(&e, m->seq);
		sg_cbor_put_bytes(&e, m->target.bytes, SG_PEER_ID_LEN);
		put_gossip(&e, m);
		break;
	case SG_MEMB_INDACK:
		sg_cbor_put_uint(&e, m->seq);
		sg_cbor_put_bytes(&e, m->target.bytes, SG_PEER_ID_LEN);
		sg_cbor_put_bool(&e, m->flag);
		put_gossip(&e, m);
		break;
	case SG_MEMB_CLAIM:
		sg_cbor_put_uint(&e, m->claim.kind);
		sg_cbor_put_bytes(&e, m->claim.subject.bytes, SG_PEER_ID_LEN);
		sg_cbor_put_uint(&e, m->claim.incarnation);
		sg_cbor_put_bytes(&e, m->claim.pk, SG_MLDSA65_PK_LEN);
		sg_cbor_put_bytes(&e, m->claim.sig, SG_MLDSA65_SIG_LEN);
		break;
	default:
		return SG_ERR_INVAL;
	}
	return sg_cbor_enc_finish(&e);
}

static int get_id(sg_cbor_dec *d, sg_peer_id *id)
{
	const uint8_t *p;
	int rc = sg_cbor_get_bytes_len(d, &p, SG_PEER_ID_LEN);

	if (rc == 0)
		memcpy(id->bytes, p, SG_PEER_ID_LEN);
	return rc;
}

static int get_addr(sg_cbor_dec *d, sg_memb_peer *peer)
{
	const uint8_t *p;
	size_t len;
	int rc = sg_cbor_get_bytes(d, &p, &len);

	if (rc != 0)
		return rc;
	if (len > SG_MEMB_ADDR_MAX)
		return SG_ERR_RANGE;
	peer->addr_len = (uint8_t)len;
	if (len > 0)
		memcpy(peer->addr, p, len);
	return 0;
}

static int get_peer(sg_cbor_dec *d, sg_memb_peer *peer)
{
	size_t n;
	int rc = sg_cbor_get_array(d, &n);

	if (rc != 0)
		return rc;
	if (n != 2)
		return SG_ERR_MALFORMED;
	if ((rc = get_id(d, &peer->id)) != 0)
		return rc;
	return get_addr(d, peer);
}

static int get_flag(sg_cbor_dec *d, uint8_t *flag)
{
	int v, rc = sg_cbor_get_bool(d, &v);

	if (rc == 0)
		*flag = (uint8_t)(v != 0);
	return rc;
}

static int get_small(sg_cbor_dec *d, uint8_t *out, uint64_t max)
{
	uint64_t v;
	int rc = sg_cbor_get_uint(d, &v);

	if (rc != 0)
		return rc;
	if (v > max)
		return SG_ERR_RANGE;
	*out = (uint8_t)v;
	return 0;
}

static int get_peers(sg_cbor_dec *d, sg_memb_msg *m)
{
	size_t n, i;
	int rc = sg_cbor_get_array(d, &n);

	if (rc != 0)
		return rc;
	if (n > SG_MEMB_MAX_PEERS)
		return SG_ERR_RANGE;
	for (i = 0; i < n; i++)
		if ((rc = get_peer(d, &m->peers[i])) != 0)
			return rc;
	m->n_peers = n;
	return 0;
}

static int get_gossip(sg_cbor_dec *d, sg_memb_msg *m)
{
	size_t n, i, k;
	int rc = sg_cbor_get_array(d, &n);

	if (rc != 0)
		return rc;
	if (n > SG_MEMB_MAX_GOSSIP)
		return SG_ERR_RANGE;
	for (i = 0; i < n; i++) {
		sg_memb_gossip *g = &m->gossip[i];

		if ((rc = sg_cbor_get_array(d, &k)) != 0)
			return rc;
		if (k != 3)
			return SG_ERR_MALFORMED;
		/* Alive and left travel only as signed claims. */
		if ((rc = get_small(d, &g->kind, SG_MEMB_DEAD)) != 0 ||
		    (rc = get_id(d, &g->subject)) != 0 ||
		    (rc = sg_cbor_get_uint(d, &g->incarnation)) != 0)
			return rc;
		if (g->kind != SG_MEMB_SUSPECT && g->kind != SG_MEMB_DEAD)
			return SG_ERR_RANGE;
	}
	m->n_gossip = n;
	return 0;
}

static int decode_body(sg_cbor_dec *d, sg_memb_msg *m)
{
	int rc = 0;

	switch (m->type) {
	case SG_MEMB_JOIN:
	case SG_MEMB_JOINACK:
		m->peer.id = m->sender;
		return get_addr(d, &m->peer);
	case SG_MEMB_FORWARDJOIN:
		if ((rc = get_peer(d, &m->peer)) != 0)
			return rc;
		return get_small(d, &m->ttl, 255);
	case SG_MEMB_NEIGHBOR:
		m->peer.id = m->sender;
		if ((rc = get_addr(d, &m->peer)) != 0)
			return rc;
		return get_flag(d, &m->flag);
	case SG_MEMB_NEIGHBOR_REPLY:
	case SG_MEMB_DISCONNECT:
		return get_flag(d, &m->flag);
	case SG_MEMB_SHUFFLE:
		if ((rc = get_peer(d, &m->peer)) != 0 ||
		    (rc = get_small(d, &m->ttl, 255)) != 0)
			return rc;
		return get_peers(d, m);
	case SG_MEMB_SHUFFLEREPLY:
		return get_peers(d, m);
	case SG_MEMB_PING:
	case SG_MEMB_ACK:
		if ((rc = sg_cbor_get_uint(d, &m->seq)) != 0)
			return rc;
		return get_gossip(d, m);
	case SG_MEMB_PINGREQ:
		if ((rc = sg_cbor_get_uint(d, &m->seq)) != 0 ||
		    (rc = get_id(d, &m->target)) != 0)
			return rc;
		return get_gossip(d, m);
	case SG_MEMB_INDACK:
		if ((rc = sg_cbor_get_uint(d, &m->seq)) != 0 ||
		    (rc = get_id(d, &m->target)) != 0 ||
		    (rc = get_flag(d, &m->flag)) != 0)
			return rc;
		return get_gossip(d, m);
	case SG_MEMB_CLAIM:
		if ((rc = get_small(d, &m->claim.kind, SG_MEMB_LEFT)) != 0 ||
		    (rc = get_id(d, &m->claim.subject)) != 0 ||
		    (rc = sg_cbor_get_uint(d, &m->claim.incarnation)) != 0 ||
		    (rc = sg_cbor_get_bytes_len(d, &m->claim.pk,
						SG_MLDSA65_PK_LEN)) != 0 ||
		    (rc = sg_cbor_get_bytes_len(d, &m->claim.sig,
						SG_MLDSA65_SIG_LEN)) != 0)
			return rc;
		if (m->claim.kind != SG_MEMB_ALIVE &&
		    m->claim.kind != SG_MEMB_LEFT)
			return SG_ERR_RANGE;
		return 0;
	default:
		return SG_ERR_UNSUPPORTED;
	}
}

int sg_memb_decode(sg_memb_msg *m, const uint8_t *buf, size_t len)
{
	sg_cbor_limits lim;
	sg_cbor_dec d;
	size_t n;
	int rc;

	if (m == NULL || (buf == NULL && len > 0))
		return SG_ERR_INVAL;
	if (len > SG_MEMB_MSG_MAX)
		return SG_ERR_RANGE;
	lim.max_depth = 4;
	lim.max_items = 512;
	if ((rc = sg_cbor_validate(buf, len, &lim)) != 0)
		return rc;
	sg_cbor_dec_init(&d, buf, len);
	m->n_peers = 0;
	m->n_gossip = 0;
	m->flag = 0;
	m->ttl = 0;
	m->seq = 0;
	m->peer.addr_len = 0;
	memset(&m->claim, 0, sizeof(m->claim));
	if ((rc = sg_cbor_get_array(&d, &n)) != 0)
		return rc;
	if (n < 2)
		return SG_ERR_MALFORMED;
	if ((rc = get_small(&d, &m->type, 255)) != 0)
		return rc;
	if (field_count(m->type) == 0)
		return SG_ERR_UNSUPPORTED;
	if (n != field_count(m->type))
		return SG_ERR_MALFORMED;
	if ((rc = get_id(&d, &m->sender)) != 0)
		return rc;
	if ((rc = decode_body(&d, m)) != 0)
		return rc;
	return sg_cbor_dec_done(&d);
}

int sg_memb_peek_type(const uint8_t *buf, size_t len)
{
	sg_cbor_dec d;
	uint64_t t;
	size_t n;
	int rc;

	if (buf == NULL)
		return SG_ERR_INVAL;
	sg_cbor_dec_init(&d, buf, len);
	if ((rc = sg_cbor_get_array(&d, &n)) != 0)
		return rc;
	if ((rc = sg_cbor_get_uint(&d, &t)) != 0)
		return rc;
	if (t > 255 || field_count((uint8_t)t) == 0)
		return SG_ERR_UNSUPPORTED;
	return (int)t;
}

/* ---- claims (DESIGN section 7) -------------------------------------- */

long sg_memb_claim_tbs(uint8_t out[SG_MEMB_CLAIM_TBS_MAX],
		       const sg_memb_claim *c)
{
	sg_cbor_enc e;

	if (c == NULL || (c->kind != SG_MEMB_ALIVE && c->kind != SG_MEMB_LEFT))
		return SG_ERR_INVAL;
	sg_cbor_enc_init(&e, out, SG_MEMB_CLAIM_TBS_MAX);
	sg_cbor_put_array(&e, 3);
	sg_cbor_put_uint(&e, c->kind);
	sg_cbor_put_bytes(&e, c->subject.bytes, SG_PEER_ID_LEN);
	sg_cbor_put_uint(&e, c->incarnation);
	return sg_cbor_enc_finish(&e);
}

int sg_memb_claim_sign(sg_memb_claim *c, uint8_t sig[SG_MLDSA65_SIG_LEN],
		       const sg_identity *ident,
		       const uint8_t rnd[SG_MLDSA65_RND_LEN])
{
	uint8_t tbs[SG_MEMB_CLAIM_TBS_MAX];
	long n;
	int rc;

	if (c == NULL || sig == NULL || ident == NULL)
		return SG_ERR_INVAL;
	c->subject = ident->id;
	n = sg_memb_claim_tbs(tbs, c);
	if (n < 0)
		return (int)n;
	rc = sg_identity_sign(ident, sig, tbs, (size_t)n,
			      (const uint8_t *)SG_SIGCTX_MEMB_CLAIM,
			      sizeof(SG_SIGCTX_MEMB_CLAIM) - 1, rnd);
	if (rc != 0)
		return rc;
	c->pk = ident->pk;
	c->sig = sig;
	return 0;
}

int sg_memb_claim_verify(const sg_memb_claim *c)
{
	uint8_t tbs[SG_MEMB_CLAIM_TBS_MAX];
	sg_peer_id id;
	long n;

	if (c == NULL || c->pk == NULL || c->sig == NULL)
		return SG_ERR_INVAL;
	n = sg_memb_claim_tbs(tbs, c);
	if (n < 0)
		return (int)n;
	sg_peer_id_from_pk(&id, c->pk);
	if (!sg_peer_id_equal(&id, &c->subject))
		return SG_ERR_KEY;
	if (sg_mldsa65_verify(c->sig, SG_MLDSA65_SIG_LEN, tbs, (size_t)n,
			      (const uint8_t *)SG_SIGCTX_MEMB_CLAIM,
			      sizeof(SG_SIGCTX_MEMB_CLAIM) - 1, c->pk) != 0)
		return SG_ERR_VERIFY;
	return 0;
}
