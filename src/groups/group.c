/*
 * The group state (include/sg/group.h): creation, the member pool and its
 * rosters, key derivation for an epoch, accessors, member cards and the
 * codec and KEM-wrap helpers the other group files share
 * (docs/PROTOCOL.md, "Groups": names, keys, member cards).
 */
#include "grp.h"

#include <sodium.h>
#include <string.h>

const sg_cbor_limits grp_limits = {4, 2048};

void grp_be64(uint8_t out[8], uint64_t v)
{
	int i;
	for (i = 7; i >= 0; i--) {
		out[i] = (uint8_t)v;
		v >>= 8;
	}
}

static void put_card_body(sg_cbor_enc *e, const grp_member *m);

/* ---- pool -------------------------------------------------------------- */

sg_group *grp_alloc(const sg_env *env)
{
	sg_group *g = sg_calloc(env, 1, sizeof(*g));
	if (g != NULL)
		g->env = env;
	return g;
}

static int id_cmp(const sg_peer_id *a, const sg_peer_id *b)
{
	return memcmp(a->bytes, b->bytes, SG_PEER_ID_LEN);
}

long grp_find(const sg_group *g, const sg_peer_id *id)
{
	size_t lo = 0, hi = g->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = id_cmp(&g->pool[mid].id, id);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int grp_insert(sg_group *g, const grp_member *m)
{
	size_t pos = 0;

	if (grp_find(g, &m->id) >= 0)
		return SG_ERR_EXISTS;
	if (g->n >= GRP_POOL_MAX)
		return SG_ERR_FULL;
	if (g->n == g->cap) {
		size_t ncap = g->cap ? 2 * g->cap : 4;
		grp_member *np;
		if (ncap > GRP_POOL_MAX)
			ncap = GRP_POOL_MAX;
		/* Fresh memory and a copy (the allocator in sg_env has no
		 * realloc failure mode to test; cards are public data). */
		np = sg_alloc(g->env, ncap * sizeof(*np));
		if (np == NULL)
			return SG_ERR_NOMEM;
		if (g->n)
			memcpy(np, g->pool, g->n * sizeof(*np));
		sg_free(g->env, g->pool);
		g->pool = np;
		g->cap = ncap;
	}
	while (pos < g->n && id_cmp(&g->pool[pos].id, &m->id) < 0)
		pos++;
	memmove(&g->pool[pos + 1], &g->pool[pos],
		(g->n - pos) * sizeof(*g->pool));
	g->pool[pos] = *m;
	g->n++;
	return 0;
}

void grp_compact(sg_group *g)
{
	size_t i, j = 0;

	for (i = 0; i < g->n; i++) {
		if (g->pool[i].flags == 0)
			continue;
		if (i != j)
			g->pool[j] = g->pool[i];
		j++;
	}
	g->n = j;
}

size_t grp_count(const sg_group *g, unsigned flags)
{
	size_t i, c = 0;
	for (i = 0; i < g->n; i++)
		if ((g->pool[i].flags & flags) == flags)
			c++;
	return c;
}

void grp_roster_hash(uint8_t out[32], const sg_group *g, unsigned flag)
{
	uint8_t body[SG_GROUP_CARD_LEN];
	sg_blake3_hasher h;
	sg_cbor_enc e;
	size_t i;

	sg_blake3_init_derive_key(&h, SG_CTX_GROUP_ROSTER);
	sg_blake3_update(&h, g->id, SG_GROUP_ID_LEN);
	for (i = 0; i < g->n; i++) {
		if (!(g->pool[i].flags & flag))
			continue;
		sg_cbor_enc_init(&e, body, sizeof(body));
		put_card_body(&e, &g->pool[i]);
		sg_blake3_update(&h, body, e.len);
	}
	sg_blake3_final(&h, out, 32);
}

/* ---- keys -------------------------------------------------------------- */

static void derive(uint8_t out[SG_GROUP_KEY_LEN], const char *ctx,
		   const sg_group *g)
{
	uint8_t in[SG_GROUP_SECRET_LEN + SG_GROUP_ID_LEN + 8];

	memcpy(in, g->epoch_secret, SG_GROUP_SECRET_LEN);
	memcpy(in + SG_GROUP_SECRET_LEN, g->id, SG_GROUP_ID_LEN);
	grp_be64(in + SG_GROUP_SECRET_LEN + SG_GROUP_ID_LEN, g->epoch);
	sg_blake3_derive_key(out, SG_GROUP_KEY_LEN, ctx, in, sizeof(in));
	sg_wipe(in, sizeof(in));
}

void grp_derive_keys(sg_group *g)
{
	g->cur_keys.epoch = g->epoch;
	derive(g->cur_keys.message, SG_CTX_GROUP_MESSAGE_KEY, g);
	derive(g->cur_keys.presence, SG_CTX_GROUP_PRESENCE_KEY, g);
	derive(g->cur_keys.tag, SG_CTX_GROUP_BEACON_TAG_KEY, g);
}

void grp_topic(sg_topic_id *topic, const uint8_t id[SG_GROUP_ID_LEN],
	       const uint8_t secret[SG_GROUP_SECRET_LEN])
{
	uint8_t in[SG_GROUP_SECRET_LEN + SG_GROUP_ID_LEN];

	memcpy(in, secret, SG_GROUP_SECRET_LEN);
	memcpy(in + SG_GROUP_SECRET_LEN, id, SG_GROUP_ID_LEN);
	sg_blake3_derive_key(topic->bytes, SG_TOPIC_ID_LEN, SG_CTX_GROUP_TOPIC,
			     in, sizeof(in));
	sg_wipe(in, sizeof(in));
}

void grp_genesis_id(uint8_t out[32], const uint8_t id[SG_GROUP_ID_LEN],
		    const sg_peer_id *creator)
{
	uint8_t in[SG_GROUP_ID_LEN + SG_PEER_ID_LEN];

	memcpy(in, id, SG_GROUP_ID_LEN);
	memcpy(in + SG_GROUP_ID_LEN, creator->bytes, SG_PEER_ID_LEN);
	sg_blake3_derive_key(out, 32, SG_CTX_GROUP_GENESIS, in, sizeof(in));
}

/* ---- codec helpers ----------------------------------------------------- */

int grp_get_fixed(sg_cbor_dec *d, uint8_t *out, size_t len)
{
	const uint8_t *p;
	int rc = sg_cbor_get_bytes_len(d, &p, len);
	if (rc == 0)
		memcpy(out, p, len);
	return rc;
}

static void put_card_body(sg_cbor_enc *e, const grp_member *m)
{
	sg_cbor_put_array(e, 3);
	sg_cbor_put_uint(e, SG_GROUP_VERSION);
	sg_cbor_put_bytes(e, m->pk, SG_MLDSA65_PK_LEN);
	sg_cbor_put_bytes(e, m->ek, SG_MLKEM768_EK_LEN);
}

void grp_put_card(sg_cbor_enc *e, const grp_member *m)
{
	sg_cbor_put_array(e, 2);
	put_card_body(e, m);
	sg_cbor_put_bytes(e, m->sig, SG_MLDSA65_SIG_LEN);
}

int grp_get_card(sg_cbor_dec *d, grp_member *m)
{
	uint64_t version;
	size_t n;
	int rc;

	if ((rc = sg_cbor_get_array(d, &n)) != 0)
		return rc;
	if (n != 2)
		return SG_ERR_MALFORMED;
	if ((rc = sg_cbor_get_array(d, &n)) != 0)
		return rc;
	if (n != 3)
		return SG_ERR_MALFORMED;
	if ((rc = sg_cbor_get_uint(d, &version)) != 0)
		return rc;
	if (version != SG_GROUP_VERSION)
		return SG_ERR_UNSUPPORTED;
	if ((rc = grp_get_fixed(d, m->pk, SG_MLDSA65_PK_LEN)) != 0 ||
	    (rc = grp_get_fixed(d, m->ek, SG_MLKEM768_EK_LEN)) != 0 ||
	    (rc = grp_get_fixed(d, m->sig, SG_MLDSA65_SIG_LEN)) != 0)
		return rc;
	sg_peer_id_from_pk(&m->id, m->pk);
	m->flags = 0;
	return 0;
}

int grp_verify(const uint8_t *sig, const uint8_t *body, size_t body_len,
	       const char *ctx, const uint8_t *pk)
{
	return sg_mldsa65_verify(sig, SG_MLDSA65_SIG_LEN, body, body_len,
				 (const uint8_t *)ctx, strlen(ctx), pk) == 0
		       ? 0
		       : SG_ERR_VERIFY;
}

int grp_card_check(grp_member *m)
{
	uint8_t body[SG_GROUP_CARD_LEN];
	sg_cbor_enc e;

	if (sg_mlkem768_check_ek(m->ek, SG_MLKEM768_EK_LEN) != 0)
		return SG_ERR_KEY;
	sg_cbor_enc_init(&e, body, sizeof(body));
	put_card_body(&e, m);
	sg_peer_id_from_pk(&m->id, m->pk);
	return grp_verify(m->sig, body, e.len, SG_SIGCTX_MEMBER_KEYS, m->pk);
}

void grp_member_from_identity(grp_member *m, const sg_identity *me,
			      const uint8_t *rnd)
{
	uint8_t body[SG_GROUP_CARD_LEN];
	sg_cbor_enc e;

	memset(m, 0, sizeof(*m));
	m->id = me->id;
	memcpy(m->pk, me->pk, SG_MLDSA65_PK_LEN);
	memcpy(m->ek, me->kem_ek, SG_MLKEM768_EK_LEN);
	sg_cbor_enc_init(&e, body, sizeof(body));
	put_card_body(&e, m);
	/* Cannot fail with a valid key and a short constant context. */
	(void)sg_identity_sign(me, m->sig, body, e.len,
			       (const uint8_t *)SG_SIGCTX_MEMBER_KEYS,
			       strlen(SG_SIGCTX_MEMBER_KEYS), rnd);
}

int grp_get_head(sg_cbor_dec *d, unsigned type, size_t count)
{
	uint64_t t;
	size_t n;
	int rc;

	if ((rc = sg_cbor_get_array(d, &n)) != 0)
		return rc;
	if ((rc = sg_cbor_get_uint(d, &t)) != 0)
		return rc;
	if (t != type || n != count)
		return SG_ERR_MALFORMED;
	return 0;
}

long grp_sign_object(uint8_t *out, size_t out_cap, unsigned type,
		     void (*put_body)(sg_cbor_enc *, const void *),
		     const void *arg, const char *ctx,
		     const sg_identity *ident, const uint8_t rnd[32])
{
	uint8_t sig[SG_MLDSA65_SIG_LEN];
	sg_cbor_enc e;
	long blen;
	int rc;

	/* [type, body, sig]: the array head and the type take one byte each
	 * (type < 24), so the body starts at out + 2 where it stays. */
	if (out_cap < 2)
		return SG_ERR_BUFSIZE;
	sg_cbor_enc_init(&e, out + 2, out_cap - 2);
	put_body(&e, arg);
	blen = sg_cbor_enc_finish(&e);
	if (blen < 0)
		return blen;
	rc = sg_identity_sign(ident, sig, out + 2, (size_t)blen,
			      (const uint8_t *)ctx, strlen(ctx), rnd);
	if (rc != 0)
		return rc;
	sg_cbor_enc_init(&e, out, out_cap);
	sg_cbor_put_array(&e, 3);
	sg_cbor_put_uint(&e, type);
	sg_cbor_put_encoded(&e, out + 2, (size_t)blen); /* already in place */
	sg_cbor_put_bytes(&e, sig, sizeof(sig));
	return sg_cbor_enc_finish(&e);
}

/* ---- KEM wrap ------------------------------------------------------------ */

#define WRAP_BINDING_MAX 128

static void wrap_key(uint8_t key[32], const uint8_t ss[32], const uint8_t *ct,
		     const char *ctx, const uint8_t *binding,
		     size_t binding_len)
{
	sg_blake3_hasher h;

	sg_blake3_init_derive_key(&h, ctx);
	sg_blake3_update(&h, ss, SG_MLKEM768_SS_LEN);
	sg_blake3_update(&h, ct, SG_MLKEM768_CT_LEN);
	sg_blake3_update(&h, binding, binding_len);
	sg_blake3_final(&h, key, 32);
	sg_blake3_wipe(&h);
}

int grp_wrap(uint8_t *ct, uint8_t *wrapped, const uint8_t *ek,
	     const uint8_t m[32], const char *ctx, const uint8_t *binding,
	     size_t binding_len, const uint8_t *secret, size_t secret_len)
{
	static const uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
	uint8_t ss[SG_MLKEM768_SS_LEN], key[32];
	unsigned long long clen;
	int rc;

	rc = sg_mlkem768_encaps(ct, ss, ek, m);
	if (rc != 0)
		return rc;
	wrap_key(key, ss, ct, ctx, binding, binding_len);
	rc = crypto_aead_chacha20poly1305_ietf_encrypt(
		wrapped, &clen, secret, secret_len, binding, binding_len, NULL,
		nonce, key);
	sg_wipe(ss, sizeof(ss));
	sg_wipe(key, sizeof(key));
	return rc == 0 ? 0 : SG_ERR_CRYPTO;
}

int grp_unwrap(uint8_t *secret, size_t secret_len, const uint8_t *dk,
	       const uint8_t *ct, const uint8_t *wrapped, const char *ctx,
	       const uint8_t *binding, size_t binding_len)
{
	static const uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
	uint8_t ss[SG_MLKEM768_SS_LEN], key[32];
	unsigned long long plen;
	int rc;

	rc = sg_mlkem768_decaps(ss, ct, dk);
	if (rc != 0)
		return rc;
	wrap_key(key, ss, ct, ctx, binding, binding_len);
	rc = crypto_aead_chacha20poly1305_ietf_decrypt(
		secret, &plen, NULL, wrapped,
		secret_len + crypto_aead_chacha20poly1305_IETF_ABYTES, binding,
		binding_len, nonce, key);
	sg_wipe(ss, sizeof(ss));
	sg_wipe(key, sizeof(key));
	if (rc != 0) {
		sg_wipe(secret, secret_len);
		return SG_ERR_VERIFY;
	}
	return 0;
}

/* ---- member cards ------------------------------------------------------ */

long sg_group_card_make(uint8_t *out, size_t out_cap, const sg_identity *me,
			const uint8_t *rnd)
{
	grp_member m;
	sg_cbor_enc e;

	if (out_cap < SG_GROUP_CARD_LEN)
		return SG_ERR_BUFSIZE;
	grp_member_from_identity(&m, me, rnd);
	sg_cbor_enc_init(&e, out, out_cap);
	grp_put_card(&e, &m);
	return sg_cbor_enc_finish(&e);
}

int sg_group_card_verify(sg_peer_id *id, const uint8_t *card, size_t len)
{
	grp_member m;
	sg_cbor_dec d;
	int rc;

	if ((rc = sg_cbor_validate(card, len, &grp_limits)) != 0)
		return rc;
	sg_cbor_dec_init(&d, card, len);
	if ((rc = grp_get_card(&d, &m)) != 0)
		return rc;
	if ((rc = sg_cbor_dec_done(&d)) != 0)
		return rc;
	if ((rc = grp_card_check(&m)) != 0)
		return rc;
	if (id != NULL)
		*id = m.id;
	return 0;
}

/* ---- creation and accessors --------------------------------------------- */

int sg_group_create(sg_group **out, const sg_env *env, const sg_identity *me,
		    const char *name, size_t name_len)
{
	uint8_t rnd[32];
	grp_member m;
	sg_group *g;
	int rc;

	*out = NULL;
	if (name == NULL || name_len == 0 || name_len > SG_GROUP_NAME_MAX ||
	    sg_cbor_utf8_check((const uint8_t *)name, name_len) != 0)
		return SG_ERR_INVAL;
	g = grp_alloc(env);
	if (g == NULL)
		return SG_ERR_NOMEM;
	g->self = me->id;
	memcpy(g->name, name, name_len);
	g->name_len = name_len;
	if ((rc = sg_random(env, g->id, sizeof(g->id))) != 0 ||
	    (rc = sg_random(env, g->group_secret, sizeof(g->group_secret))) !=
		    0 ||
	    (rc = sg_random(env, g->epoch_secret, sizeof(g->epoch_secret))) !=
		    0 ||
	    (rc = sg_random(env, rnd, sizeof(rnd))) != 0)
		goto fail;
	grp_member_from_identity(&m, me, rnd);
	m.flags = GRP_CUR;
	g->proposer = me->id;
	if ((rc = grp_insert(g, &m)) != 0)
		goto fail;
	g->epoch = 0;
	grp_genesis_id(g->commit_id, g->id, &me->id);
	grp_derive_keys(g);
	*out = g;
	return 0;
fail:
	sg_group_del(g);
	return rc;
}

void sg_group_del(sg_group *g)
{
	const sg_env *env;

	if (g == NULL)
		return;
	env = g->env;
	if (g->pool != NULL) {
		sg_wipe(g->pool, g->cap * sizeof(*g->pool));
		sg_free(env, g->pool);
	}
	sg_wipe(g, sizeof(*g));
	sg_free(env, g);
}

const uint8_t *sg_group_id(const sg_group *g)
{
	return g->id;
}

const char *sg_group_name(const sg_group *g, size_t *len)
{
	if (len != NULL)
		*len = g->name_len;
	return g->name;
}

uint64_t sg_group_epoch(const sg_group *g)
{
	return g->epoch;
}

const uint8_t *sg_group_commit_id(const sg_group *g)
{
	return g->commit_id;
}

const sg_peer_id *sg_group_self(const sg_group *g)
{
	return &g->self;
}

void sg_group_topic(const sg_group *g, sg_topic_id *topic)
{
	grp_topic(topic, g->id, g->group_secret);
}

int sg_group_has_left(const sg_group *g)
{
	return g->left;
}

size_t sg_group_member_count(const sg_group *g)
{
	return grp_count(g, GRP_CUR);
}

int sg_group_member(const sg_group *g, size_t i, sg_peer_id *id)
{
	size_t k, c = 0;

	for (k = 0; k < g->n; k++) {
		if (!(g->pool[k].flags & GRP_CUR))
			continue;
		if (c++ == i) {
			*id = g->pool[k].id;
			return 0;
		}
	}
	return SG_ERR_RANGE;
}

int sg_group_is_member(const sg_group *g, const sg_peer_id *id)
{
	long i = grp_find(g, id);
	return i >= 0 && (g->pool[i].flags & GRP_CUR) != 0;
}

const uint8_t *sg_group_member_pk(const sg_group *g, const sg_peer_id *id)
{
	long i = grp_find(g, id);
	if (i < 0 || !(g->pool[i].flags & GRP_CUR))
		return NULL;
	return g->pool[i].pk;
}

int sg_group_keys_get(const sg_group *g, int previous, sg_group_keys *out)
{
	const grp_epoch_keys *k = previous ? &g->prev_keys : &g->cur_keys;

	if (previous && !g->have_prev)
		return SG_ERR_NOTFOUND;
	memcpy(out->group_id, g->id, SG_GROUP_ID_LEN);
	out->epoch = k->epoch;
	memcpy(out->message_key, k->message, SG_GROUP_KEY_LEN);
	memcpy(out->presence_key, k->presence, SG_GROUP_KEY_LEN);
	memcpy(out->tag_key, k->tag, SG_GROUP_KEY_LEN);
	return 0;
}

int sg_group_frame_type(const uint8_t *buf, size_t len)
{
	sg_cbor_dec d;
	uint64_t t;
	size_t n;
	int rc;

	sg_cbor_dec_init(&d, buf, len);
	if ((rc = sg_cbor_get_array(&d, &n)) != 0)
		return rc == SG_ERR_TRUNCATED ? rc : SG_ERR_MALFORMED;
	if ((rc = sg_cbor_get_uint(&d, &t)) != 0)
		return rc == SG_ERR_TRUNCATED ? rc : SG_ERR_MALFORMED;
	if (n < 2 || t < SG_GROUP_FRAME_MESSAGE || t > SG_GROUP_FRAME_STATE)
		return SG_ERR_MALFORMED;
	return (int)t;
}
