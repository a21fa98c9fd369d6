/*
 * Presence beacon format (docs/PROTOCOL.md, "Presence beacons"): the
 * member-signed inner record and the envelope around it (slice tag,
 * XChaCha20-Poly1305 under the group's presence key).
 */
#include "sg/presence.h"
#include "sg/blake3.h"
#include "sg/cbor.h"
#include "sg/err.h"
#include "prs.h"

#include <sodium.h>
#include <string.h>

#define AEAD_TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
#define INNER_MAX (SG_PRESENCE_BEACON_MAX - 64)

static const sg_cbor_limits beacon_limits = {4, 128};

void sg_presence_tag(uint8_t tag[SG_PRESENCE_TAG_LEN],
		     const uint8_t tag_key[SG_GROUP_KEY_LEN], uint64_t slice)
{
	static const char label[] = "sg beacon tag";
	uint8_t in[sizeof(label) - 1 + 8], full[32];
	int i;

	memcpy(in, label, sizeof(label) - 1);
	for (i = 7; i >= 0; i--) {
		in[sizeof(label) - 1 + (size_t)i] = (uint8_t)slice;
		slice >>= 8;
	}
	sg_blake3_keyed(full, tag_key, in, sizeof(in));
	memcpy(tag, full, SG_PRESENCE_TAG_LEN);
}

static int addr_ok(const sg_addr *a)
{
	return (a->family == 4 || a->family == 6) && a->port != 0;
}

/* body = [version, group_id, epoch, member, seq, issue_ms, expires_ms,
 *         flags, [*addr]]; inner = [body, sig] */
static void put_body(sg_cbor_enc *e, const sg_beacon *b)
{
	size_t i;

	sg_cbor_put_array(e, 9);
	sg_cbor_put_uint(e, SG_PRESENCE_VERSION);
	sg_cbor_put_bytes(e, b->group_id, SG_GROUP_ID_LEN);
	sg_cbor_put_uint(e, b->epoch);
	sg_cbor_put_bytes(e, b->member.bytes, SG_PEER_ID_LEN);
	sg_cbor_put_uint(e, b->seq);
	sg_cbor_put_uint(e, b->issue_ms);
	sg_cbor_put_uint(e, b->expires_ms);
	sg_cbor_put_uint(e, b->flags);
	sg_cbor_put_array(e, b->naddrs);
	for (i = 0; i < b->naddrs; i++) {
		sg_cbor_put_array(e, 3);
		sg_cbor_put_uint(e, b->addrs[i].family);
		sg_cbor_put_bytes(e, b->addrs[i].ip,
				  b->addrs[i].family == 4 ? 4 : 16);
		sg_cbor_put_uint(e, b->addrs[i].port);
	}
}

long sg_presence_beacon_seal(uint8_t *out, size_t out_cap,
			     const sg_group_keys *keys, const sg_identity *me,
			     const sg_beacon *b, uint64_t slice_ms,
			     const uint8_t nonce[24], const uint8_t *rnd)
{
	uint8_t inner[INNER_MAX], sig[SG_MLDSA65_SIG_LEN];
	uint8_t tag[SG_PRESENCE_TAG_LEN], ad[1 + SG_PRESENCE_TAG_LEN];
	unsigned long long clen;
	size_t i, body_len, inner_len, at, ct_len;
	sg_cbor_enc e;
	long n;
	int rc;

	if (b->naddrs > SG_PRESENCE_MAX_ADDRS || b->expires_ms < b->issue_ms ||
	    (b->flags & ~SG_PRESENCE_HELLO) != 0 || slice_ms == 0)
		return SG_ERR_RANGE;
	for (i = 0; i < b->naddrs; i++)
		if (!addr_ok(&b->addrs[i]))
			return SG_ERR_RANGE;
	/* inner = [body, sig]: the body at inner + 1, signed in place. */
	sg_cbor_enc_init(&e, inner + 1, sizeof(inner) - 1);
	put_body(&e, b);
	if ((n = sg_cbor_enc_finish(&e)) < 0)
		return n;
	body_len = (size_t)n;
	rc = sg_identity_sign(me, sig, inner + 1, body_len,
			      (const uint8_t *)SG_SIGCTX_PRESENCE_BEACON,
			      sizeof(SG_SIGCTX_PRESENCE_BEACON) - 1, rnd);
	if (rc != 0)
		return rc;
	sg_cbor_enc_init(&e, inner, sizeof(inner));
	sg_cbor_put_array(&e, 2);
	sg_cbor_put_encoded(&e, inner + 1, body_len);
	sg_cbor_put_bytes(&e, sig, sizeof(sig));
	if ((n = sg_cbor_enc_finish(&e)) < 0)
		return n;
	inner_len = (size_t)n;
	/* beacon = [version, tag, nonce, ciphertext], the ciphertext
	 * encrypted in place (as in group messages). */
	sg_presence_tag(tag, keys->tag_key, b->issue_ms / slice_ms);
	ct_len = inner_len + AEAD_TAG;
	sg_cbor_enc_init(&e, NULL, 0);
	sg_cbor_put_array(&e, 4);
	sg_cbor_put_uint(&e, SG_PRESENCE_VERSION);
	sg_cbor_put_bytes(&e, tag, sizeof(tag));
	sg_cbor_put_bytes(&e, nonce, 24);
	sg_cbor_put_bytes(&e, inner, ct_len);
	at = e.len - ct_len;
	if (e.len > out_cap) {
		sg_wipe(inner, sizeof(inner));
		return SG_ERR_BUFSIZE;
	}
	ad[0] = SG_PRESENCE_VERSION;
	memcpy(ad + 1, tag, sizeof(tag));
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + at, &clen, inner,
						   inner_len, ad, sizeof(ad),
						   NULL, nonce,
						   keys->presence_key);
	sg_wipe(inner, sizeof(inner));
	sg_cbor_enc_init(&e, out, out_cap);
	sg_cbor_put_array(&e, 4);
	sg_cbor_put_uint(&e, SG_PRESENCE_VERSION);
	sg_cbor_put_bytes(&e, tag, sizeof(tag));
	sg_cbor_put_bytes(&e, nonce, 24);
	sg_cbor_put_bytes(&e, out + at, ct_len); /* already in place */
	return sg_cbor_enc_finish(&e);
}

long sg_presence_beacon_make(uint8_t *out, size_t out_cap, const sg_group *g,
			     const sg_identity *me, const sg_addr *addrs,
			     size_t naddrs, uint64_t seq, uint64_t now_ms,
			     uint32_t flags, const sg_presence_config *cfg,
			     const sg_env *env)
{
	sg_presence_config def;
	uint8_t rnd[56];
	sg_group_keys keys;
	sg_beacon b;
	long n;
	int rc;

	if (cfg == NULL) {
		sg_presence_config_default(&def);
		cfg = &def;
	}
	if (!sg_group_is_member(g, &me->id))
		return SG_ERR_PERM;
	if (naddrs > SG_PRESENCE_MAX_ADDRS ||
	    now_ms > UINT64_MAX - cfg->validity_ms)
		return SG_ERR_RANGE;
	memset(&b, 0, sizeof(b));
	memcpy(b.group_id, sg_group_id(g), SG_GROUP_ID_LEN);
	b.epoch = sg_group_epoch(g);
	b.member = me->id;
	b.seq = seq;
	b.issue_ms = now_ms;
	b.expires_ms = now_ms + cfg->validity_ms;
	b.flags = flags;
	if (naddrs > 0)
		memcpy(b.addrs, addrs, naddrs * sizeof(*addrs));
	b.naddrs = naddrs;
	if ((rc = sg_random(env, rnd, sizeof(rnd))) != 0)
		return rc;
	(void)sg_group_keys_get(g, 0, &keys);
	n = sg_presence_beacon_seal(out, out_cap, &keys, me, &b, cfg->slice_ms,
				    rnd, rnd + 24);
	sg_wipe(&keys, sizeof(keys));
	return n;
}

/* ---- decoding ------------------------------------------------------------ */

int prs_envelope(const uint8_t *beacon, size_t len, const uint8_t **tag,
		 const uint8_t **nonce, const uint8_t **ct, size_t *ct_len)
{
	uint64_t version;
	sg_cbor_dec d;
	size_t n;
	int rc;

	if ((rc = sg_cbor_validate(beacon, len, &beacon_limits)) != 0)
		return rc;
	sg_cbor_dec_init(&d, beacon, len);
	if ((rc = sg_cbor_get_array(&d, &n)) != 0)
		return rc;
	if (n != 4)
		return SG_ERR_MALFORMED;
	if ((rc = sg_cbor_get_uint(&d, &version)) != 0)
		return rc;
	if (version != SG_PRESENCE_VERSION)
		return SG_ERR_UNSUPPORTED;
	if ((rc = sg_cbor_get_bytes_len(&d, tag, SG_PRESENCE_TAG_LEN)) != 0 ||
	    (rc = sg_cbor_get_bytes_len(&d, nonce, 24)) != 0 ||
	    (rc = sg_cbor_get_bytes(&d, ct, ct_len)) != 0 ||
	    (rc = sg_cbor_dec_done(&d)) != 0)
		return rc;
	if (*ct_len <= AEAD_TAG || *ct_len > INNER_MAX + AEAD_TAG)
		return SG_ERR_RANGE;
	return 0;
}

int sg_presence_beacon_peek(uint8_t tag[SG_PRESENCE_TAG_LEN],
			    const uint8_t *beacon, size_t len)
{
	const uint8_t *t, *nonce, *ct;
	size_t ct_len;
	int rc = prs_envelope(beacon, len, &t, &nonce, &ct, &ct_len);

	if (rc == 0)
		memcpy(tag, t, SG_PRESENCE_TAG_LEN);
	return rc;
}

int sg_presence_inner_decode(sg_beacon *b, const uint8_t **body,
			     size_t *body_len, const uint8_t **sig,
			     const uint8_t *inner, size_t len)
{
	uint64_t version, v;
	sg_cbor_dec d;
	size_t n, i;
	int rc;

	memset(b, 0, sizeof(*b));
	if ((rc = sg_cbor_validate(inner, len, &beacon_limits)) != 0)
		return rc;
	sg_cbor_dec_init(&d, inner, len);
	if ((rc = sg_cbor_get_array(&d, &n)) != 0)
		return rc;
	if (n != 2)
		return SG_ERR_MALFORMED;
	*body = d.p;
	if ((rc = sg_cbor_get_array(&d, &n)) != 0)
		return rc;
	if (n != 9)
		return SG_ERR_MALFORMED;
	if ((rc = sg_cbor_get_uint(&d, &version)) != 0)
		return rc;
	if (version != SG_PRESENCE_VERSION)
		return SG_ERR_UNSUPPORTED;
	{
		const uint8_t *p;
		if ((rc = sg_cbor_get_bytes_len(&d, &p, SG_GROUP_ID_LEN)) != 0)
			return rc;
		memcpy(b->group_id, p, SG_GROUP_ID_LEN);
		if ((rc = sg_cbor_get_uint(&d, &b->epoch)) != 0 ||
		    (rc = sg_cbor_get_bytes_len(&d, &p, SG_PEER_ID_LEN)) != 0)
			return rc;
		memcpy(b->member.bytes, p, SG_PEER_ID_LEN);
	}
	if ((rc = sg_cbor_get_uint(&d, &b->seq)) != 0 ||
	    (rc = sg_cbor_get_uint(&d, &b->issue_ms)) != 0 ||
	    (rc = sg_cbor_get_uint(&d, &b->expires_ms)) != 0 ||
	    (rc = sg_cbor_get_uint(&d, &v)) != 0)
		return rc;
	if ((v & ~(uint64_t)SG_PRESENCE_HELLO) != 0 ||
	    b->expires_ms < b->issue_ms)
		return SG_ERR_RANGE;
	b->flags = (uint32_t)v;
	if ((rc = sg_cbor_get_array(&d, &n)) != 0)
		return rc;
	if (n > SG_PRESENCE_MAX_ADDRS)
		return SG_ERR_RANGE;
	for (i = 0; i < n; i++) {
		const uint8_t *ip;
		uint64_t fam, port;
		size_t k, iplen;
		if ((rc = sg_cbor_get_array(&d, &k)) != 0)
			return rc;
		if (k != 3)
			return SG_ERR_MALFORMED;
		if ((rc = sg_cbor_get_uint(&d, &fam)) != 0)
			return rc;
		if (fam != 4 && fam != 6)
			return SG_ERR_RANGE;
		iplen = fam == 4 ? 4 : 16;
		if ((rc = sg_cbor_get_bytes_len(&d, &ip, iplen)) != 0 ||
		    (rc = sg_cbor_get_uint(&d, &port)) != 0)
			return rc;
		if (port == 0 || port > 65535)
			return SG_ERR_RANGE;
		b->addrs[i].family = (uint8_t)fam;
		memcpy(b->addrs[i].ip, ip, iplen);
		b->addrs[i].port = (uint16_t)port;
	}
	b->naddrs = n;
	*body_len = (size_t)(d.p - *body);
	if ((rc = sg_cbor_get_bytes_len(&d, sig, SG_MLDSA65_SIG_LEN)) != 0 ||
	    (rc = sg_cbor_dec_done(&d)) != 0)
		return rc;
	return 0;
}
