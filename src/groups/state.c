/*
 * The group state file (docs/PROTOCOL.md, "Groups": state file): the whole
 * state as one deterministic CBOR item, secrets included, so a node can
 * keep a group across restarts. Import checks it as strictly as anything
 * from the network: a damaged or edited file is refused, never half used.
 */
#include "grp.h"

#include <string.h>

static const sg_cbor_limits state_limits = {5, 4096};

/* state = [5, version, self, group_id, name, group_secret, epoch,
 *          epoch_secret, commit_id, proposer, removal, left, prev,
 *          [*[flags, card]], checksum]
 * prev  = null / [parent_id, prev_epoch, message_key, presence_key,
 *                 tag_key]
 * checksum = derive-key(SG_CTX_GROUP_STATE_CHECK, every byte before the
 * checksum's own 2-byte head): damage is detected before anything is
 * parsed (it is not a MAC: whoever can write the file can recompute it). */
#define CHECK_LEN 32
#define CHECK_ITEM (2 + CHECK_LEN)

size_t sg_group_export_bound(const sg_group *g)
{
	return 1 + 1 + 1 + 34 + 34 + 2 + SG_GROUP_NAME_MAX + 34 + 9 + 34 + 34 +
	       34 + 1 + 1 + (1 + 34 + 9 + 3 * 34) + 3 +
	       g->n * (1 + 1 + SG_GROUP_CARD_LEN) + CHECK_ITEM;
}

static void checksum(uint8_t out[CHECK_LEN], const uint8_t *buf, size_t len)
{
	sg_blake3_derive_key(out, CHECK_LEN, SG_CTX_GROUP_STATE_CHECK, buf, len);
}

long sg_group_export(const sg_group *g, uint8_t *out, size_t out_cap)
{
	sg_cbor_enc e;
	size_t i;

	uint8_t check[CHECK_LEN];
	long n;

	sg_cbor_enc_init(&e, out, out_cap);
	sg_cbor_put_array(&e, 15);
	sg_cbor_put_uint(&e, SG_GROUP_FRAME_STATE);
	sg_cbor_put_uint(&e, SG_GROUP_VERSION);
	sg_cbor_put_bytes(&e, g->self.bytes, SG_PEER_ID_LEN);
	sg_cbor_put_bytes(&e, g->id, SG_GROUP_ID_LEN);
	sg_cbor_put_text(&e, g->name, g->name_len);
	sg_cbor_put_bytes(&e, g->group_secret, SG_GROUP_SECRET_LEN);
	sg_cbor_put_uint(&e, g->epoch);
	sg_cbor_put_bytes(&e, g->epoch_secret, SG_GROUP_SECRET_LEN);
	sg_cbor_put_bytes(&e, g->commit_id, SG_GROUP_COMMIT_ID_LEN);
	sg_cbor_put_bytes(&e, g->proposer.bytes, SG_PEER_ID_LEN);
	sg_cbor_put_bool(&e, g->removal);
	sg_cbor_put_bool(&e, g->left);
	if (g->have_parent) {
		sg_cbor_put_array(&e, 5);
		sg_cbor_put_bytes(&e, g->parent_id, SG_GROUP_COMMIT_ID_LEN);
		sg_cbor_put_uint(&e, g->prev_keys.epoch);
		sg_cbor_put_bytes(&e, g->prev_keys.message, SG_GROUP_KEY_LEN);
		sg_cbor_put_bytes(&e, g->prev_keys.presence, SG_GROUP_KEY_LEN);
		sg_cbor_put_bytes(&e, g->prev_keys.tag, SG_GROUP_KEY_LEN);
	} else {
		sg_cbor_put_null(&e);
	}
	sg_cbor_put_array(&e, g->n);
	for (i = 0; i < g->n; i++) {
		sg_cbor_put_array(&e, 2);
		sg_cbor_put_uint(&e, g->pool[i].flags);
		grp_put_card(&e, &g->pool[i]);
	}
	if ((n = sg_cbor_enc_finish(&e)) < 0)
		return n;
	if ((size_t)n + CHECK_ITEM > out_cap)
		return SG_ERR_BUFSIZE;
	checksum(check, out, (size_t)n);
	sg_cbor_put_bytes(&e, check, CHECK_LEN);
	return sg_cbor_enc_finish(&e);
}

int sg_group_import(sg_group **out, const sg_env *env, const sg_peer_id *self,
		    const uint8_t *buf, size_t len)
{
	const char *name;
	uint64_t version, flags;
	sg_cbor_dec d;
	sg_group *g;
	size_t n, i;
	int left, rc;
	long k;

	*out = NULL;
	if ((rc = sg_cbor_validate(buf, len, &state_limits)) != 0)
		return rc;
	{
		uint8_t check[CHECK_LEN];
		if (len < CHECK_ITEM + 1 || buf[len - CHECK_ITEM] != 0x58 ||
		    buf[len - CHECK_ITEM + 1] != CHECK_LEN)
			return SG_ERR_MALFORMED;
		checksum(check, buf, len - CHECK_ITEM);
		if (memcmp(check, buf + len - CHECK_LEN, CHECK_LEN) != 0)
			return SG_ERR_CORRUPT;
	}
	g = grp_alloc(env);
	if (g == NULL)
		return SG_ERR_NOMEM;
	sg_cbor_dec_init(&d, buf, len);
	if ((rc = grp_get_head(&d, SG_GROUP_FRAME_STATE, 15)) != 0 ||
	    (rc = sg_cbor_get_uint(&d, &version)) != 0)
		goto fail;
	if (version != SG_GROUP_VERSION) {
		rc = SG_ERR_UNSUPPORTED;
		goto fail;
	}
	if ((rc = grp_get_fixed(&d, g->self.bytes, SG_PEER_ID_LEN)) != 0 ||
	    (rc = grp_get_fixed(&d, g->id, SG_GROUP_ID_LEN)) != 0 ||
	    (rc = sg_cbor_get_text(&d, &name, &g->name_len)) != 0)
		goto fail;
	if (g->name_len == 0 || g->name_len > SG_GROUP_NAME_MAX) {
		rc = SG_ERR_RANGE;
		goto fail;
	}
	memcpy(g->name, name, g->name_len);
	if ((rc = grp_get_fixed(&d, g->group_secret, SG_GROUP_SECRET_LEN)) !=
		    0 ||
	    (rc = sg_cbor_get_uint(&d, &g->epoch)) != 0 ||
	    (rc = grp_get_fixed(&d, g->epoch_secret, SG_GROUP_SECRET_LEN)) !=
		    0 ||
	    (rc = grp_get_fixed(&d, g->commit_id, SG_GROUP_COMMIT_ID_LEN)) !=
		    0 ||
	    (rc = grp_get_fixed(&d, g->proposer.bytes, SG_PEER_ID_LEN)) != 0 ||
	    (rc = sg_cbor_get_bool(&d, &g->removal)) != 0 ||
	    (rc = sg_cbor_get_bool(&d, &left)) != 0)
		goto fail;
	g->left = left;
	if (sg_cbor_get_null(&d) != 0) {
		if ((rc = sg_cbor_get_array(&d, &n)) != 0)
			goto fail;
		if (n != 5) {
			rc = SG_ERR_MALFORMED;
			goto fail;
		}
		if ((rc = grp_get_fixed(&d, g->parent_id, 32)) != 0 ||
		    (rc = sg_cbor_get_uint(&d, &g->prev_keys.epoch)) != 0 ||
		    (rc = grp_get_fixed(&d, g->prev_keys.message, 32)) != 0 ||
		    (rc = grp_get_fixed(&d, g->prev_keys.presence, 32)) != 0 ||
		    (rc = grp_get_fixed(&d, g->prev_keys.tag, 32)) != 0)
			goto fail;
		if (g->epoch == 0 || g->prev_keys.epoch != g->epoch - 1) {
			rc = SG_ERR_RANGE;
			goto fail;
		}
		g->have_parent = g->have_prev = 1;
	}
	if ((rc = sg_cbor_get_array(&d, &n)) != 0)
		goto fail;
	if (n == 0 || n > GRP_POOL_MAX) {
		rc = SG_ERR_RANGE;
		goto fail;
	}
	for (i = 0; i < n; i++) {
		grp_member m;
		size_t two;
		if ((rc = sg_cbor_get_array(&d, &two)) != 0 ||
		    (rc = two == 2 ? 0 : SG_ERR_MALFORMED) != 0 ||
		    (rc = sg_cbor_get_uint(&d, &flags)) != 0 ||
		    (rc = grp_get_card(&d, &m)) != 0)
			goto fail;
		if (flags == 0 || flags > (GRP_CUR | GRP_PARENT) ||
		    ((flags & GRP_PARENT) && !g->have_parent)) {
			rc = SG_ERR_RANGE;
			goto fail;
		}
		/* Strictly increasing ids: each must sort after the last. */
		if (g->n > 0 && memcmp(g->pool[g->n - 1].id.bytes, m.id.bytes,
				       SG_PEER_ID_LEN) >= 0) {
			rc = SG_ERR_MALFORMED;
			goto fail;
		}
		if ((rc = grp_card_check(&m)) != 0)
			goto fail;
		m.flags = (unsigned)flags;
		if ((rc = grp_insert(g, &m)) != 0)
			goto fail;
	}
	{
		const uint8_t *c;
		if ((rc = sg_cbor_get_bytes_len(&d, &c, CHECK_LEN)) != 0 ||
		    (rc = sg_cbor_dec_done(&d)) != 0)
			goto fail;
	}
	if (grp_count(g, GRP_CUR) == 0 ||
	    grp_count(g, GRP_CUR) > SG_GROUP_MAX_MEMBERS ||
	    grp_count(g, GRP_PARENT) > SG_GROUP_MAX_MEMBERS ||
	    (g->have_parent && grp_count(g, GRP_PARENT) == 0)) {
		rc = SG_ERR_RANGE;
		goto fail;
	}
	if (!sg_peer_id_equal(&g->self, self)) {
		rc = SG_ERR_PERM;
		goto fail;
	}
	k = grp_find(g, self);
	if (k < 0 || !(g->pool[k].flags & GRP_CUR)) {
		rc = SG_ERR_MALFORMED;
		goto fail;
	}
	grp_derive_keys(g);
	*out = g;
	return 0;
fail:
	sg_group_del(g);
	return rc;
}
