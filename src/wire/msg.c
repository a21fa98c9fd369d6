/*
 * Frame headers, published-message envelopes and coordinator adverts
 * (docs/PROTOCOL.md). Every decoder validates the whole CBOR item first
 * (canonical form, depth, counts), then walks it with typed getters and
 * checks each field before anything is returned.
 */
#include "sg/msg.h"
#include "sg/blake3.h"
#include "sg/cbor.h"
#include "sg/err.h"

#include <string.h>

/* ---- Frames ------------------------------------------------------------ */

static int frame_type_known(unsigned t)
{
	return t >= SG_FRAME_MEMBERSHIP && t <= SG_FRAME_DIRECT;
}

int sg_frame_header_encode(uint8_t out[SG_FRAME_HEADER_LEN],
			   sg_frame_type type, size_t body_len, size_t max_body)
{
	if (!frame_type_known((unsigned)type) || body_len > max_body ||
	    body_len > UINT32_MAX)
		return SG_ERR_RANGE;
	out[0] = SG_FRAME_VERSION;
	out[1] = (uint8_t)type;
	out[2] = (uint8_t)(body_len >> 24);
	out[3] = (uint8_t)(body_len >> 16);
	out[4] = (uint8_t)(body_len >> 8);
	out[5] = (uint8_t)body_len;
	return 0;
}

int sg_frame_header_decode(sg_frame_type *type, size_t *body_len,
			   const uint8_t *in, size_t in_len, size_t max_body)
{
	uint32_t len;

	if (in_len < SG_FRAME_HEADER_LEN)
		return SG_ERR_TRUNCATED;
	if (in[0] != SG_FRAME_VERSION)
		return SG_ERR_UNSUPPORTED;
	if (!frame_type_known(in[1]))
		return SG_ERR_MALFORMED;
	len = (uint32_t)in[2] << 24 | (uint32_t)in[3] << 16 |
	      (uint32_t)in[4] << 8 | in[5];
	if (len > max_body)
		return SG_ERR_RANGE;
	*type = (sg_frame_type)in[1];
	*body_len = len;
	return 0;
}

/* ---- Published messages ---------------------------------------------- */

static void payload_hash(uint8_t out[32], const uint8_t *p, size_t len)
{
	sg_blake3_derive_key(out, 32, SG_CTX_PAYLOAD_HASH, p, len);
}

/* header = [version, topic, publisher, seq, publish_ms, expires_ms,
 *           payload_hash] */
static void put_header(sg_cbor_enc *e, const void *arg)
{
	const sg_msg_header *h = arg;

	sg_cbor_put_array(e, 7);
	sg_cbor_put_uint(e, SG_MSG_VERSION);
	sg_cbor_put_bytes(e, h->topic.bytes, SG_TOPIC_ID_LEN);
	sg_cbor_put_bytes(e, h->publisher.bytes, SG_PEER_ID_LEN);
	sg_cbor_put_uint(e, h->seq);
	sg_cbor_put_uint(e, h->publish_ms);
	sg_cbor_put_uint(e, h->expires_ms);
	sg_cbor_put_bytes(e, h->payload_hash, 32);
}

/* Encodes a body with put_body at out + 1 (after the one-byte head of the
 * enclosing array), where it will stay, and signs those exact bytes with
 * the given ML-DSA context. Returns the body's length or an error. */
static long sign_in_place(uint8_t *out, size_t out_cap,
			  void (*put_body)(sg_cbor_enc *, const void *),
			  const void *body, const char *ctx,
			  const sg_identity *ident, const uint8_t rnd[32],
			  uint8_t sig[SG_MLDSA65_SIG_LEN])
{
	sg_cbor_enc e;
	long blen;
	int rc;

	if (out_cap < 1)
		return SG_ERR_BUFSIZE;
	sg_cbor_enc_init(&e, out + 1, out_cap - 1);
	put_body(&e, body);
	blen = sg_cbor_enc_finish(&e);
	if (blen < 0)
		return blen;
	rc = sg_identity_sign(ident, sig, out + 1, (size_t)blen,
			      (const uint8_t *)ctx, strlen(ctx), rnd);
	return rc != 0 ? rc : blen;
}

long sg_msg_sign(uint8_t *out, size_t out_cap, sg_msg_header *hdr,
		 const uint8_t *payload, size_t payload_len,
		 const sg_identity *ident, const uint8_t rnd[32])
{
	uint8_t sig[SG_MLDSA65_SIG_LEN];
	sg_cbor_enc e;
	long hlen;

	if (payload_len > SG_MSG_MAX_PAYLOAD ||
	    hdr->expires_ms <= hdr->publish_ms)
		return SG_ERR_RANGE;
	hdr->publisher = ident->id;
	payload_hash(hdr->payload_hash, payload, payload_len);
	hlen = sign_in_place(out, out_cap, put_header, hdr, SG_SIGCTX_MESSAGE,
			     ident, rnd, sig);
	if (hlen < 0)
		return hlen;
	sg_cbor_enc_init(&e, out, out_cap);
	sg_cbor_put_array(&e, 3);
	sg_cbor_put_encoded(&e, out + 1, (size_t)hlen); /* already in place */
	sg_cbor_put_bytes(&e, payload, payload_len);
	sg_cbor_put_bytes(&e, sig, sizeof(sig));
	return sg_cbor_enc_finish(&e);
}

static int get_fixed(sg_cbor_dec *d, uint8_t *out, size_t len)
{
	const uint8_t *p;
	int rc = sg_cbor_get_bytes_len(d, &p, len);
	if (rc == 0)
		memcpy(out, p, len);
	return rc;
}

int sg_msg_decode(sg_msg_view *v, const uint8_t *buf, size_t len)
{
	sg_cbor_dec d;
	uint8_t hash[32];
	uint64_t version;
	size_t n;
	int rc;

	memset(v, 0, sizeof(*v));
	if ((rc = sg_cbor_validate(buf, len, NULL)) != 0)
		return rc;
	sg_cbor_dec_init(&d, buf, len);
	if ((rc = sg_cbor_get_array(&d, &n)) != 0)
		return rc;
	if (n != 3)
		return SG_ERR_MALFORMED;
	v->signed_part = d.p;
	if ((rc = sg_cbor_get_array(&d, &n)) != 0)
		return rc;
	if (n != 7)
		return SG_ERR_MALFORMED;
	if ((rc = sg_cbor_get_uint(&d, &version)) != 0)
		return rc;
	if (version != SG_MSG_VERSION)
		return SG_ERR_UNSUPPORTED;
	if ((rc = get_fixed(&d, v->hdr.topic.bytes, SG_TOPIC_ID_LEN)) != 0 ||
	    (rc = get_fixed(&d, v->hdr.publisher.bytes, SG_PEER_ID_LEN)) != 0 ||
	    (rc = sg_cbor_get_uint(&d, &v->hdr.seq)) != 0 ||
	    (rc = sg_cbor_get_uint(&d, &v->hdr.publish_ms)) != 0 ||
	    (rc = sg_cbor_get_uint(&d, &v->hdr.expires_ms)) != 0 ||
	    (rc = get_fixed(&d, v->hdr.payload_hash, 32)) != 0)
		return rc;
	v->signed_len = (size_t)(d.p - v->signed_part);
	if ((rc = sg_cbor_get_bytes(&d, &v->payload, &v->payload_len)) != 0 ||
	    (rc = sg_cbor_get_bytes_len(&d, &v->sig, SG_MLDSA65_SIG_LEN)) != 0)
		return rc;
	if ((rc = sg_cbor_dec_done(&d)) != 0)
		return rc;
	if (v->payload_len > SG_MSG_MAX_PAYLOAD ||
	    v->hdr.expires_ms <= v->hdr.publish_ms)
		return SG_ERR_RANGE;
	payload_hash(hash, v->payload, v->payload_len);
	if (memcmp(hash, v->hdr.payload_hash, 32) != 0)
		return SG_ERR_VERIFY;
	sg_blake3_derive_key(v->id, SG_MSG_ID_LEN, SG_CTX_MESSAGE_ID,
			     v->signed_part, v->signed_len);
	return 0;
}

int sg_msg_verify(const sg_msg_view *v, const uint8_t pk[SG_MLDSA65_PK_LEN])
{
	sg_peer_id owner;

	sg_peer_id_from_pk(&owner, pk);
	if (!sg_peer_id_equal(&owner, &v->hdr.publisher))
		return SG_ERR_VERIFY;
	return sg_mldsa65_verify(v->sig, SG_MLDSA65_SIG_LEN, v->signed_part,
				 v->signed_len,
				 (const uint8_t *)SG_SIGCTX_MESSAGE,
				 sizeof(SG_SIGCTX_MESSAGE) - 1, pk) == 0
		       ? 0
		       : SG_ERR_VERIFY;
}

int sg_msg_check_time(const sg_msg_view *v, uint64_t now_ms, uint64_t skew_ms)
{
	if (now_ms + skew_ms < v->hdr.publish_ms)
		return SG_ERR_EXPIRED; /* from the future */
	if (v->hdr.expires_ms < UINT64_MAX - skew_ms &&
	    now_ms > v->hdr.expires_ms + skew_ms)
		return SG_ERR_EXPIRED;
	return 0;
}

/* ---- Coordinator adverts ---------------------------------------------- */

/* body = [version, peer_id, pk, kem_ek, roles, nat, [addr...], seq,
 *         not_before_ms, not_after_ms]; addr = [family, ip, port];
 * advert = [body, signature] with the signature over the encoded body. */
static void put_advert_body(sg_cbor_enc *e, const void *arg)
{
	const sg_advert *a = arg;
	size_t i;

	sg_cbor_put_array(e, 10);
	sg_cbor_put_uint(e, SG_ADVERT_VERSION);
	sg_cbor_put_bytes(e, a->id.bytes, SG_PEER_ID_LEN);
	sg_cbor_put_bytes(e, a->pk, SG_MLDSA65_PK_LEN);
	sg_cbor_put_bytes(e, a->kem_ek, SG_MLKEM768_EK_LEN);
	sg_cbor_put_uint(e, a->roles);
	sg_cbor_put_uint(e, (uint64_t)a->nat);
	sg_cbor_put_array(e, a->naddrs);
	for (i = 0; i < a->naddrs; i++) {
		sg_cbor_put_array(e, 3);
		sg_cbor_put_uint(e, a->addrs[i].family);
		sg_cbor_put_bytes(e, a->addrs[i].ip,
				  a->addrs[i].family == 4 ? 4 : 16);
		sg_cbor_put_uint(e, a->addrs[i].port);
	}
	sg_cbor_put_uint(e, a->seq);
	sg_cbor_put_uint(e, a->not_before_ms);
	sg_cbor_put_uint(e, a->not_after_ms);
}

static int advert_fields_ok(const sg_advert *a)
{
	size_t i;

	if ((a->roles & ~(uint32_t)SG_ROLE_ALL) != 0 ||
	    (unsigned)a->nat > SG_NAT_SYMMETRIC ||
	    a->naddrs > SG_ADVERT_MAX_ADDRS ||
	    a->not_after_ms <= a->not_before_ms ||
	    a->not_after_ms - a->not_before_ms > SG_ADVERT_MAX_VALIDITY_MS)
		return 0;
	for (i = 0; i < a->naddrs; i++)
		if ((a->addrs[i].family != 4 && a->addrs[i].family != 6) ||
		    a->addrs[i].port == 0)
			return 0;
	return 1;
}

long sg_advert_sign(uint8_t *out, size_t out_cap, sg_advert *adv,
		    const sg_identity *ident, const uint8_t rnd[32])
{
	uint8_t sig[SG_MLDSA65_SIG_LEN];
	sg_cbor_enc e;
	long blen;

	adv->id = ident->id;
	memcpy(adv->pk, ident->pk, SG_MLDSA65_PK_LEN);
	memcpy(adv->kem_ek, ident->kem_ek, SG_MLKEM768_EK_LEN);
	if (!advert_fields_ok(adv))
		return SG_ERR_RANGE;
	blen = sign_in_place(out, out_cap, put_advert_body, adv,
			     SG_SIGCTX_ADVERT, ident, rnd, sig);
	if (blen < 0)
		return blen;
	sg_cbor_enc_init(&e, out, out_cap);
	sg_cbor_put_array(&e, 2);
	sg_cbor_put_encoded(&e, out + 1, (size_t)blen); /* already in place */
	sg_cbor_put_bytes(&e, sig, sizeof(sig));
	return sg_cbor_enc_finish(&e);
}

int sg_advert_decode_verify(sg_advert *a, const uint8_t *buf, size_t len,
			    uint64_t now_ms, uint64_t skew_ms)
{
	const uint8_t *body, *sig, *ip;
	sg_cbor_dec d;
	sg_peer_id derived;
	uint64_t version, v;
	size_t n, i, body_len, iplen;
	int rc;

	memset(a, 0, sizeof(*a));
	if ((rc = sg_cbor_validate(buf, len, NULL)) != 0)
		return rc;
	sg_cbor_dec_init(&d, buf, len);
	if ((rc = sg_cbor_get_array(&d, &n)) != 0)
		return rc;
	if (n != 2)
		return SG_ERR_MALFORMED;
	body = d.p;
	if ((rc = sg_cbor_get_array(&d, &n)) != 0)
		return rc;
	if (n != 10)
		return SG_ERR_MALFORMED;
	if ((rc = sg_cbor_get_uint(&d, &version)) != 0)
		return rc;
	if (version != SG_ADVERT_VERSION)
		return SG_ERR_UNSUPPORTED;
	if ((rc = get_fixed(&d, a->id.bytes, SG_PEER_ID_LEN)) != 0 ||
	    (rc = get_fixed(&d, a->pk, SG_MLDSA65_PK_LEN)) != 0 ||
	    (rc = get_fixed(&d, a->kem_ek, SG_MLKEM768_EK_LEN)) != 0 ||
	    (rc = sg_cbor_get_uint(&d, &v)) != 0)
		return rc;
	if (v > SG_ROLE_ALL)
		return SG_ERR_RANGE;
	a->roles = (uint32_t)v;
	if ((rc = sg_cbor_get_uint(&d, &v)) != 0)
		return rc;
	if (v > SG_NAT_SYMMETRIC)
		return SG_ERR_RANGE;
	a->nat = (sg_nat_class)v;
	if ((rc = sg_cbor_get_array(&d, &n)) != 0)
		return rc;
	if (n > SG_ADVERT_MAX_ADDRS)
		return SG_ERR_RANGE;
	a->naddrs = n;
	for (i = 0; i < n; i++) {
		size_t k;
		if ((rc = sg_cbor_get_array(&d, &k)) != 0)
			return rc;
		if (k != 3)
			return SG_ERR_MALFORMED;
		if ((rc = sg_cbor_get_uint(&d, &v)) != 0)
			return rc;
		if (v != 4 && v != 6)
			return SG_ERR_RANGE;
		a->addrs[i].family = (uint8_t)v;
		if ((rc = sg_cbor_get_bytes(&d, &ip, &iplen)) != 0)
			return rc;
		if (iplen != (v == 4 ? 4u : 16u))
			return SG_ERR_MALFORMED;
		memcpy(a->addrs[i].ip, ip, iplen);
		if ((rc = sg_cbor_get_uint(&d, &v)) != 0)
			return rc;
		if (v == 0 || v > UINT16_MAX)
			return SG_ERR_RANGE;
		a->addrs[i].port = (uint16_t)v;
	}
	if ((rc = sg_cbor_get_uint(&d, &a->seq)) != 0 ||
	    (rc = sg_cbor_get_uint(&d, &a->not_before_ms)) != 0 ||
	    (rc = sg_cbor_get_uint(&d, &a->not_after_ms)) != 0)
		return rc;
	body_len = (size_t)(d.p - body);
	if ((rc = sg_cbor_get_bytes_len(&d, &sig, SG_MLDSA65_SIG_LEN)) != 0 ||
	    (rc = sg_cbor_dec_done(&d)) != 0)
		return rc;
	if (!advert_fields_ok(a))
		return SG_ERR_RANGE;
	sg_peer_id_from_pk(&derived, a->pk);
	if (!sg_peer_id_equal(&derived, &a->id))
		return SG_ERR_VERIFY;
	if (now_ms + skew_ms < a->not_before_ms ||
	    (a->not_after_ms < UINT64_MAX - skew_ms &&
	     now_ms > a->not_after_ms + skew_ms))
		return SG_ERR_EXPIRED;
	if (sg_mldsa65_verify(sig, SG_MLDSA65_SIG_LEN, body, body_len,
			      (const uint8_t *)SG_SIGCTX_ADVERT,
			      sizeof(SG_SIGCTX_ADVERT) - 1, a->pk) != 0)
		return SG_ERR_VERIFY;
	return 0;
}

int sg_advert_newer(const sg_advert *incoming, const sg_advert *current)
{
	return sg_peer_id_equal(&incoming->id, &current->id) &&
	       incoming->seq > current->seq;
}
