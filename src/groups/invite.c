/*
 * Invites (docs/PROTOCOL.md, "Groups": invite). An invite is made by a
 * member for one invitee that is already in the roster: it carries the
 * group's id, name, epoch, current commit id and full roster, and the
 * group and epoch secrets wrapped to the invitee's ML-KEM-768 key, bound
 * to both PeerIds; the inviter signs it. Its text form is base64url.
 */
#include "grp.h"

#include <sodium.h>
#include <string.h>

#define INVITE_WRAPPED (2 * SG_GROUP_SECRET_LEN + 16)
#define INVITE_BINDING (SG_GROUP_ID_LEN + 8 + 2 * SG_PEER_ID_LEN)

static const sg_cbor_limits invite_limits = {5, 2048};

static void invite_binding(uint8_t out[INVITE_BINDING], const uint8_t *gid,
			   uint64_t epoch, const sg_peer_id *invitee,
			   const sg_peer_id *inviter)
{
	memcpy(out, gid, SG_GROUP_ID_LEN);
	grp_be64(out + SG_GROUP_ID_LEN, epoch);
	memcpy(out + SG_GROUP_ID_LEN + 8, invitee->bytes, SG_PEER_ID_LEN);
	memcpy(out + SG_GROUP_ID_LEN + 8 + SG_PEER_ID_LEN, inviter->bytes,
	       SG_PEER_ID_LEN);
}

/* invite = [4, body, sig]
 * body = [version, group_id, name, epoch, commit_id, inviter, invitee,
 *         expires_ms, [*card], kem_ct, wrapped] */
typedef struct invite_body {
	const sg_group *g;
	const sg_peer_id *inviter, *invitee;
	uint64_t expires_ms;
	const uint8_t *ct, *wrapped;
} invite_body;

static void put_invite_body(sg_cbor_enc *e, const void *arg)
{
	const invite_body *b = arg;
	const sg_group *g = b->g;
	size_t i;

	sg_cbor_put_array(e, 11);
	sg_cbor_put_uint(e, SG_GROUP_VERSION);
	sg_cbor_put_bytes(e, g->id, SG_GROUP_ID_LEN);
	sg_cbor_put_text(e, g->name, g->name_len);
	sg_cbor_put_uint(e, g->epoch);
	sg_cbor_put_bytes(e, g->commit_id, SG_GROUP_COMMIT_ID_LEN);
	sg_cbor_put_bytes(e, b->inviter->bytes, SG_PEER_ID_LEN);
	sg_cbor_put_bytes(e, b->invitee->bytes, SG_PEER_ID_LEN);
	sg_cbor_put_uint(e, b->expires_ms);
	sg_cbor_put_array(e, grp_count(g, GRP_CUR));
	for (i = 0; i < g->n; i++)
		if (g->pool[i].flags & GRP_CUR)
			grp_put_card(e, &g->pool[i]);
	sg_cbor_put_bytes(e, b->ct, SG_MLKEM768_CT_LEN);
	sg_cbor_put_bytes(e, b->wrapped, INVITE_WRAPPED);
}

size_t sg_group_invite_bound(const sg_group *g)
{
	return 2 + 1 + 1 + 34 + 2 + SG_GROUP_NAME_MAX + 9 + 34 + 34 + 34 + 9 +
	       3 + grp_count(g, GRP_CUR) * SG_GROUP_CARD_LEN + 3 +
	       SG_MLKEM768_CT_LEN + 2 + INVITE_WRAPPED + 3 + SG_MLDSA65_SIG_LEN;
}

long sg_group_invite(const sg_group *g, uint8_t *out, size_t out_cap,
		     const sg_identity *me, const sg_peer_id *invitee,
		     uint64_t now_ms, uint64_t valid_ms)
{
	uint8_t secrets[2 * SG_GROUP_SECRET_LEN], m[32], rnd[32];
	uint8_t ct[SG_MLKEM768_CT_LEN], wrapped[INVITE_WRAPPED];
	uint8_t bind[INVITE_BINDING];
	invite_body b;
	long k, n;
	int rc;

	if (!sg_peer_id_equal(&me->id, &g->self) ||
	    sg_peer_id_equal(invitee, &me->id))
		return SG_ERR_INVAL;
	if (g->left)
		return SG_ERR_STATE;
	if (now_ms > UINT64_MAX - valid_ms)
		return SG_ERR_RANGE;
	k = grp_find(g, invitee);
	if (k < 0 || !(g->pool[k].flags & GRP_CUR))
		return SG_ERR_NOTFOUND;
	if (out_cap < sg_group_invite_bound(g))
		return SG_ERR_BUFSIZE;
	if ((rc = sg_random(g->env, m, sizeof(m))) != 0 ||
	    (rc = sg_random(g->env, rnd, sizeof(rnd))) != 0)
		return rc;
	memcpy(secrets, g->group_secret, SG_GROUP_SECRET_LEN);
	memcpy(secrets + SG_GROUP_SECRET_LEN, g->epoch_secret,
	       SG_GROUP_SECRET_LEN);
	invite_binding(bind, g->id, g->epoch, invitee, &me->id);
	rc = grp_wrap(ct, wrapped, g->pool[k].ek, m, SG_CTX_GROUP_INVITE_KEY,
		      bind, sizeof(bind), secrets, sizeof(secrets));
	sg_wipe(secrets, sizeof(secrets));
	sg_wipe(m, sizeof(m));
	if (rc != 0)
		return rc;
	b.g = g;
	b.inviter = &me->id;
	b.invitee = invitee;
	b.expires_ms = now_ms + valid_ms;
	b.ct = ct;
	b.wrapped = wrapped;
	n = grp_sign_object(out, out_cap, SG_GROUP_FRAME_INVITE,
			    put_invite_body, &b, SG_SIGCTX_GROUP_INVITE, me,
			    rnd);
	sg_wipe(rnd, sizeof(rnd));
	return n;
}

/* ---- decoding ------------------------------------------------------------ */

typedef struct invite_view {
	sg_group_invite_info info;
	const uint8_t *body, *sig, *commit_id, *ct, *wrapped;
	size_t body_len;
	sg_cbor_dec roster;
} invite_view;

static int decode_invite(invite_view *v, const uint8_t *buf, size_t len)
{
	grp_member card;
	uint8_t last[SG_PEER_ID_LEN];
	uint64_t version;
	sg_cbor_dec d;
	size_t n, i;
	int rc;

	memset(v, 0, sizeof(*v));
	if ((rc = sg_cbor_validate(buf, len, &invite_limits)) != 0)
		return rc;
	sg_cbor_dec_init(&d, buf, len);
	if ((rc = grp_get_head(&d, SG_GROUP_FRAME_INVITE, 3)) != 0)
		return rc;
	v->body = d.p;
	if ((rc = sg_cbor_get_array(&d, &n)) != 0)
		return rc;
	if (n != 11)
		return SG_ERR_MALFORMED;
	if ((rc = sg_cbor_get_uint(&d, &version)) != 0)
		return rc;
	if (version != SG_GROUP_VERSION)
		return SG_ERR_UNSUPPORTED;
	if ((rc = grp_get_fixed(&d, v->info.group_id, SG_GROUP_ID_LEN)) != 0 ||
	    (rc = sg_cbor_get_text(&d, &v->info.name, &v->info.name_len)) !=
		    0 ||
	    (rc = sg_cbor_get_uint(&d, &v->info.epoch)) != 0 ||
	    (rc = sg_cbor_get_bytes_len(&d, &v->commit_id,
					SG_GROUP_COMMIT_ID_LEN)) != 0 ||
	    (rc = grp_get_fixed(&d, v->info.inviter.bytes, SG_PEER_ID_LEN)) !=
		    0 ||
	    (rc = grp_get_fixed(&d, v->info.invitee.bytes, SG_PEER_ID_LEN)) !=
		    0 ||
	    (rc = sg_cbor_get_uint(&d, &v->info.expires_ms)) != 0 ||
	    (rc = sg_cbor_get_array(&d, &v->info.nmembers)) != 0)
		return rc;
	if (v->info.name_len == 0 || v->info.name_len > SG_GROUP_NAME_MAX ||
	    v->info.nmembers == 0 || v->info.nmembers > SG_GROUP_MAX_MEMBERS)
		return SG_ERR_RANGE;
	v->roster = d;
	for (i = 0; i < v->info.nmembers; i++) {
		if ((rc = grp_get_card(&d, &card)) != 0)
			return rc;
		if (i > 0 && memcmp(last, card.id.bytes, SG_PEER_ID_LEN) >= 0)
			return SG_ERR_MALFORMED;
		memcpy(last, card.id.bytes, SG_PEER_ID_LEN);
	}
	if ((rc = sg_cbor_get_bytes_len(&d, &v->ct, SG_MLKEM768_CT_LEN)) != 0 ||
	    (rc = sg_cbor_get_bytes_len(&d, &v->wrapped, INVITE_WRAPPED)) != 0)
		return rc;
	v->body_len = (size_t)(d.p - v->body);
	if ((rc = sg_cbor_get_bytes_len(&d, &v->sig, SG_MLDSA65_SIG_LEN)) != 0 ||
	    (rc = sg_cbor_dec_done(&d)) != 0)
		return rc;
	return 0;
}

int sg_group_invite_peek(sg_group_invite_info *info, const uint8_t *inv,
			 size_t len)
{
	invite_view v;
	int rc = decode_invite(&v, inv, len);

	if (rc == 0)
		*info = v.info;
	else
		memset(info, 0, sizeof(*info));
	return rc;
}

int sg_group_accept_invite(sg_group **out, const sg_env *env,
			   const sg_identity *me, const uint8_t *inv,
			   size_t len, uint64_t now_ms)
{
	uint8_t secrets[2 * SG_GROUP_SECRET_LEN], bind[INVITE_BINDING];
	invite_view v;
	sg_group *g;
	long k;
	size_t i;
	int rc;

	*out = NULL;
	if ((rc = decode_invite(&v, inv, len)) != 0)
		return rc;
	/* Bound to the invitee: refused by anyone else before any work. */
	if (!sg_peer_id_equal(&v.info.invitee, &me->id))
		return SG_ERR_PERM;
	if (now_ms > v.info.expires_ms)
		return SG_ERR_EXPIRED;
	if (sg_peer_id_equal(&v.info.inviter, &v.info.invitee))
		return SG_ERR_VERIFY;
	g = grp_alloc(env);
	if (g == NULL)
		return SG_ERR_NOMEM;
	for (i = 0; i < v.info.nmembers; i++) {
		grp_member m;
		(void)grp_get_card(&v.roster, &m);
		m.flags = GRP_CUR;
		if ((rc = grp_insert(g, &m)) != 0)
			goto fail;
	}
	/* Inviter and invitee are members, the inviter signed, the roster's
	 * cards are valid, and the invitee's card holds our key. */
	k = grp_find(g, &v.info.inviter);
	if (k < 0 || grp_find(g, &me->id) < 0) {
		rc = SG_ERR_VERIFY;
		goto fail;
	}
	if ((rc = grp_verify(v.sig, v.body, v.body_len, SG_SIGCTX_GROUP_INVITE,
			     g->pool[k].pk)) != 0)
		goto fail;
	for (i = 0; i < g->n; i++)
		if ((rc = grp_card_check(&g->pool[i])) != 0)
			goto fail;
	k = grp_find(g, &me->id);
	if (memcmp(g->pool[k].ek, me->kem_ek, SG_MLKEM768_EK_LEN) != 0) {
		rc = SG_ERR_VERIFY;
		goto fail;
	}
	invite_binding(bind, v.info.group_id, v.info.epoch, &me->id,
		       &v.info.inviter);
	if ((rc = grp_unwrap(secrets, sizeof(secrets), me->kem_dk, v.ct,
			     v.wrapped, SG_CTX_GROUP_INVITE_KEY, bind,
			     sizeof(bind))) != 0) {
		rc = SG_ERR_VERIFY;
		goto fail;
	}
	g->self = me->id;
	memcpy(g->id, v.info.group_id, SG_GROUP_ID_LEN);
	memcpy(g->name, v.info.name, v.info.name_len);
	g->name_len = v.info.name_len;
	memcpy(g->group_secret, secrets, SG_GROUP_SECRET_LEN);
	memcpy(g->epoch_secret, secrets + SG_GROUP_SECRET_LEN,
	       SG_GROUP_SECRET_LEN);
	sg_wipe(secrets, sizeof(secrets));
	g->epoch = v.info.epoch;
	memcpy(g->commit_id, v.commit_id, SG_GROUP_COMMIT_ID_LEN);
	g->proposer = v.info.inviter;
	grp_derive_keys(g);
	*out = g;
	return 0;
fail:
	sg_group_del(g);
	return rc;
}

/* ---- text form ---------------------------------------------------------- */

#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING

long sg_group_invite_to_text(char *out, size_t out_cap, const uint8_t *inv,
			     size_t len)
{
	size_t plen = sizeof(SG_GROUP_INVITE_TEXT_PREFIX) - 1;
	size_t need = sodium_base64_ENCODED_LEN(len, B64_VARIANT);

	if (out_cap < plen || out_cap - plen < need)
		return SG_ERR_BUFSIZE;
	memcpy(out, SG_GROUP_INVITE_TEXT_PREFIX, plen);
	sodium_bin2base64(out + plen, out_cap - plen, inv, len, B64_VARIANT);
	return (long)(plen + need - 1);
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

long sg_group_invite_from_text(uint8_t *out, size_t out_cap,
			       const char *text, size_t len)
{
	size_t plen = sizeof(SG_GROUP_INVITE_TEXT_PREFIX) - 1, bin_len = 0;
	const char *end = text + len, *b64_end = NULL;

	while (text < end && is_space(*text))
		text++;
	while (end > text && is_space(end[-1]))
		end--;
	if ((size_t)(end - text) < plen ||
	    memcmp(text, SG_GROUP_INVITE_TEXT_PREFIX, plen) != 0)
		return SG_ERR_MALFORMED;
	text += plen;
	/* sodium reports a too small buffer and a bad character alike, so
	 * ask for room for the longest possible result up front. */
	if (out_cap < (size_t)(end - text) / 4 * 3 + 3)
		return SG_ERR_BUFSIZE;
	if (sodium_base642bin(out, out_cap, text, (size_t)(end - text),
			      " \t\r\n", &bin_len, &b64_end, B64_VARIANT) != 0 ||
	    b64_end != end)
		return SG_ERR_MALFORMED;
	return (long)bin_len;
}
