/*
 * Group messages and leave notices (docs/PROTOCOL.md, "Groups": group
 * message, leave notice). A message is XChaCha20-Poly1305 under the
 * epoch's message key with a random 24-byte nonce and group id || epoch
 * as associated data; a leave notice is signed by the member leaving.
 */
#include "grp.h"

#include <sodium.h>
#include <string.h>

#define TAG_LEN crypto_aead_xchacha20poly1305_ietf_ABYTES

static void msg_ad(uint8_t ad[SG_GROUP_ID_LEN + 8], const uint8_t *gid,
		   uint64_t epoch)
{
	memcpy(ad, gid, SG_GROUP_ID_LEN);
	grp_be64(ad + SG_GROUP_ID_LEN, epoch);
}

static void put_msg_head(sg_cbor_enc *e, const sg_group *g,
			 const uint8_t nonce[SG_GROUP_NONCE_LEN])
{
	sg_cbor_put_array(e, 6);
	sg_cbor_put_uint(e, SG_GROUP_FRAME_MESSAGE);
	sg_cbor_put_uint(e, SG_GROUP_VERSION);
	sg_cbor_put_bytes(e, g->id, SG_GROUP_ID_LEN);
	sg_cbor_put_uint(e, g->epoch);
	sg_cbor_put_bytes(e, nonce, SG_GROUP_NONCE_LEN);
}

/* message = [1, version, group_id, epoch, nonce, ciphertext] */
long sg_group_encrypt(const sg_group *g, uint8_t *out, size_t out_cap,
		      const uint8_t *pt, size_t pt_len)
{
	uint8_t nonce[SG_GROUP_NONCE_LEN], ad[SG_GROUP_ID_LEN + 8];
	unsigned long long clen;
	size_t ct_len = pt_len + TAG_LEN, at;
	sg_cbor_enc e;
	int rc;

	if (g->left)
		return SG_ERR_STATE;
	if (pt_len > SG_GROUP_MSG_MAX_PLAINTEXT)
		return SG_ERR_RANGE;
	/* Measure where the ciphertext goes, encrypt it there, then let the
	 * encoder write the heads around it (put_bytes accepts bytes that
	 * are already in place). */
	sg_cbor_enc_init(&e, NULL, 0);
	put_msg_head(&e, g, ad);
	sg_cbor_put_bytes(&e, ad, ct_len);
	at = e.len - ct_len;
	if (at > out_cap || ct_len > out_cap - at)
		return SG_ERR_BUFSIZE;
	if ((rc = sg_random(g->env, nonce, sizeof(nonce))) != 0)
		return rc;
	msg_ad(ad, g->id, g->epoch);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + at, &clen, pt, pt_len,
						   ad, sizeof(ad), NULL, nonce,
						   g->cur_keys.message);
	sg_cbor_enc_init(&e, out, out_cap);
	put_msg_head(&e, g, nonce);
	sg_cbor_put_bytes(&e, out + at, ct_len); /* already in place */
	return sg_cbor_enc_finish(&e);
}

long sg_group_decrypt(const sg_group *g, uint8_t *out, size_t out_cap,
		      const uint8_t *msg, size_t len, uint64_t *epoch)
{
	uint8_t ad[SG_GROUP_ID_LEN + 8];
	const uint8_t *gid, *nonce, *ct, *key;
	unsigned long long plen;
	uint64_t version, ep;
	size_t ct_len;
	sg_cbor_dec d;
	int rc;

	if ((rc = sg_cbor_validate(msg, len, &grp_limits)) != 0)
		return rc;
	sg_cbor_dec_init(&d, msg, len);
	if ((rc = grp_get_head(&d, SG_GROUP_FRAME_MESSAGE, 6)) != 0 ||
	    (rc = sg_cbor_get_uint(&d, &version)) != 0)
		return rc;
	if (version != SG_GROUP_VERSION)
		return SG_ERR_UNSUPPORTED;
	if ((rc = sg_cbor_get_bytes_len(&d, &gid, SG_GROUP_ID_LEN)) != 0 ||
	    (rc = sg_cbor_get_uint(&d, &ep)) != 0 ||
	    (rc = sg_cbor_get_bytes_len(&d, &nonce, SG_GROUP_NONCE_LEN)) != 0 ||
	    (rc = sg_cbor_get_bytes(&d, &ct, &ct_len)) != 0 ||
	    (rc = sg_cbor_dec_done(&d)) != 0)
		return rc;
	if (ct_len < TAG_LEN || ct_len - TAG_LEN > SG_GROUP_MSG_MAX_PLAINTEXT)
		return SG_ERR_RANGE;
	if (epoch != NULL)
		*epoch = ep;
	if (memcmp(gid, g->id, SG_GROUP_ID_LEN) != 0)
		return SG_ERR_NOTFOUND;
	if (ep == g->cur_keys.epoch)
		key = g->cur_keys.message;
	else if (g->have_prev && ep == g->prev_keys.epoch)
		key = g->prev_keys.message;
	else
		return SG_ERR_NOTFOUND;
	if (out_cap < ct_len - TAG_LEN)
		return SG_ERR_BUFSIZE;
	msg_ad(ad, gid, ep);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &plen, NULL, ct,
						       ct_len, ad, sizeof(ad),
						       nonce, key) != 0) {
		sg_wipe(out, ct_len - TAG_LEN);
		return SG_ERR_VERIFY;
	}
	return (long)plen;
}

/* ---- leave notices ------------------------------------------------------ */

/* leave = [3, body, sig]; body = [version, group_id, epoch, leaver] */
typedef struct leave_body {
	const uint8_t *gid;
	uint64_t epoch;
	const sg_peer_id *leaver;
} leave_body;

static void put_leave_body(sg_cbor_enc *e, const void *arg)
{
	const leave_body *b = arg;

	sg_cbor_put_array(e, 4);
	sg_cbor_put_uint(e, SG_GROUP_VERSION);
	sg_cbor_put_bytes(e, b->gid, SG_GROUP_ID_LEN);
	sg_cbor_put_uint(e, b->epoch);
	sg_cbor_put_bytes(e, b->leaver->bytes, SG_PEER_ID_LEN);
}

long sg_group_leave(sg_group *g, uint8_t *out, size_t out_cap,
		    const sg_identity *me)
{
	uint8_t rnd[32];
	leave_body b;
	long n;
	int rc;

	if (!sg_peer_id_equal(&me->id, &g->self))
		return SG_ERR_INVAL;
	if (g->left)
		return SG_ERR_STATE;
	if ((rc = sg_random(g->env, rnd, sizeof(rnd))) != 0)
		return rc;
	b.gid = g->id;
	b.epoch = g->epoch;
	b.leaver = &me->id;
	n = grp_sign_object(out, out_cap, SG_GROUP_FRAME_LEAVE, put_leave_body,
			    &b, SG_SIGCTX_GROUP_LEAVE, me, rnd);
	if (n >= 0)
		g->left = 1;
	return n;
}

int sg_group_leave_process(const sg_group *g, const uint8_t *buf, size_t len,
			   sg_peer_id *leaver)
{
	const uint8_t *body, *gid, *sig, *pk;
	uint64_t version, ep;
	sg_peer_id who;
	size_t n, body_len;
	sg_cbor_dec d;
	int rc;

	if ((rc = sg_cbor_validate(buf, len, &grp_limits)) != 0)
		return rc;
	sg_cbor_dec_init(&d, buf, len);
	if ((rc = grp_get_head(&d, SG_GROUP_FRAME_LEAVE, 3)) != 0)
		return rc;
	body = d.p;
	if ((rc = sg_cbor_get_array(&d, &n)) != 0)
		return rc;
	if (n != 4)
		return SG_ERR_MALFORMED;
	if ((rc = sg_cbor_get_uint(&d, &version)) != 0)
		return rc;
	if (version != SG_GROUP_VERSION)
		return SG_ERR_UNSUPPORTED;
	if ((rc = sg_cbor_get_bytes_len(&d, &gid, SG_GROUP_ID_LEN)) != 0 ||
	    (rc = sg_cbor_get_uint(&d, &ep)) != 0 ||
	    (rc = grp_get_fixed(&d, who.bytes, SG_PEER_ID_LEN)) != 0)
		return rc;
	body_len = (size_t)(d.p - body);
	if ((rc = sg_cbor_get_bytes_len(&d, &sig, SG_MLDSA65_SIG_LEN)) != 0 ||
	    (rc = sg_cbor_dec_done(&d)) != 0)
		return rc;
	if (memcmp(gid, g->id, SG_GROUP_ID_LEN) != 0)
		return SG_ERR_NOTFOUND;
	/* The current epoch, or the previous one (a notice sent before the
	 * sender saw our latest commit); older ones are replays. */
	if (ep > g->epoch)
		return SG_ERR_AGAIN;
	if (ep + 1 < g->epoch)
		return SG_ERR_REPLAY;
	if (sg_peer_id_equal(&who, &g->self))
		return SG_ERR_INVAL;
	pk = sg_group_member_pk(g, &who);
	if (pk == NULL)
		return SG_ERR_NOTFOUND;
	if ((rc = grp_verify(sig, body, body_len, SG_SIGCTX_GROUP_LEAVE, pk)) !=
	    0)
		return rc;
	*leaver = who;
	return 0;
}
