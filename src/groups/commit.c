/*
 * Commits: starting a new epoch (docs/PROTOCOL.md, "Groups": commit,
 * who may commit, convergence). A commit names its epoch and the commit it
 * builds on (parent), the proposer, the removed and added members, the
 * hash of the resulting roster and one ML-KEM-768-wrapped copy of a fresh
 * epoch secret per member of that roster but the proposer; the proposer
 * signs it. Concurrent commits for the same epoch converge on the first
 * in a total order (removals first, then a rank nobody can grind, then
 * the commit id): a member that applied a later one switches when it
 * sees the earlier one, which it can check against the parent roster it
 * keeps.
 */
#include "grp.h"

#include <stdlib.h>
#include <string.h>

#define SECRET_ENTRY_WRAPPED (SG_GROUP_SECRET_LEN + 16)
#define BINDING_LEN (SG_GROUP_ID_LEN + 8 + 2 * SG_PEER_ID_LEN)

static const sg_cbor_limits commit_limits = {6, 4096};

/* One wrapped secret: [recipient, kem_ct, wrapped]. */
typedef struct wrapped_secret {
	sg_peer_id to;
	uint8_t ct[SG_MLKEM768_CT_LEN];
	uint8_t wrapped[SECRET_ENTRY_WRAPPED];
} wrapped_secret;

/* A decoded commit: positions of its lists, checked for structure. */
typedef struct commit_view {
	const uint8_t *body, *sig, *gid, *parent, *roster_hash;
	size_t body_len;
	uint64_t epoch;
	sg_peer_id proposer;
	sg_cbor_dec removes, adds, secrets;
	size_t nremove, nadd, nsecret;
	uint8_t id[SG_GROUP_COMMIT_ID_LEN];
} commit_view;

static void binding(uint8_t out[BINDING_LEN], const uint8_t *gid,
		    uint64_t epoch, const sg_peer_id *to,
		    const sg_peer_id *proposer)
{
	memcpy(out, gid, SG_GROUP_ID_LEN);
	grp_be64(out + SG_GROUP_ID_LEN, epoch);
	memcpy(out + SG_GROUP_ID_LEN + 8, to->bytes, SG_PEER_ID_LEN);
	memcpy(out + SG_GROUP_ID_LEN + 8 + SG_PEER_ID_LEN, proposer->bytes,
	       SG_PEER_ID_LEN);
}

void grp_commit_rank(uint8_t out[32], uint64_t epoch,
		     const sg_peer_id *proposer, const uint8_t parent[32])
{
	uint8_t in[8 + SG_PEER_ID_LEN + 32];

	grp_be64(in, epoch);
	memcpy(in + 8, proposer->bytes, SG_PEER_ID_LEN);
	memcpy(in + 8 + SG_PEER_ID_LEN, parent, 32);
	sg_blake3_derive_key(out, 32, SG_CTX_GROUP_COMMIT_RANK, in, sizeof(in));
}

/* The order of two sibling commits (same epoch, same parent): < 0 when
 * a wins. A commit that removes someone beats one that does not (so a
 * member being removed cannot undo it with a re-key); then the lower
 * rank (not grindable); then, for two commits of one proposer, the lower
 * commit id. A total order, so every arrival order ends on the same
 * commit. */
static int sibling_order(int a_removes, const uint8_t a_rank[32],
			 const uint8_t a_id[32], int b_removes,
			 const uint8_t b_rank[32], const uint8_t b_id[32])
{
	int c;

	if (a_removes != b_removes)
		return a_removes ? -1 : 1;
	c = memcmp(a_rank, b_rank, 32);
	return c != 0 ? c : memcmp(a_id, b_id, 32);
}

static int id_less(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, SG_PEER_ID_LEN) < 0;
}

/* ---- decoding ----------------------------------------------------------- */

/* commit = [2, body, sig]
 * body = [version, group_id, epoch, parent, proposer, [*removed],
 *         [*card], roster_hash, [*[recipient, kem_ct, wrapped]]] */
static int decode_commit(commit_view *v, const uint8_t *buf, size_t len)
{
	const uint8_t *p, *prev;
	uint8_t last[SG_PEER_ID_LEN];
	grp_member card, *scratch = &card;
	uint64_t version;
	sg_cbor_dec d;
	size_t n, i;
	int rc;

	memset(v, 0, sizeof(*v));
	if ((rc = sg_cbor_validate(buf, len, &commit_limits)) != 0)
		return rc;
	sg_cbor_dec_init(&d, buf, len);
	if ((rc = grp_get_head(&d, SG_GROUP_FRAME_COMMIT, 3)) != 0)
		return rc;
	v->body = d.p;
	if ((rc = sg_cbor_get_array(&d, &n)) != 0)
		return rc;
	if (n != 9)
		return SG_ERR_MALFORMED;
	if ((rc = sg_cbor_get_uint(&d, &version)) != 0)
		return rc;
	if (version != SG_GROUP_VERSION)
		return SG_ERR_UNSUPPORTED;
	if ((rc = sg_cbor_get_bytes_len(&d, &v->gid, SG_GROUP_ID_LEN)) != 0 ||
	    (rc = sg_cbor_get_uint(&d, &v->epoch)) != 0 ||
	    (rc = sg_cbor_get_bytes_len(&d, &v->parent, 32)) != 0 ||
	    (rc = grp_get_fixed(&d, v->proposer.bytes, SG_PEER_ID_LEN)) != 0)
		return rc;
	if (v->epoch == 0)
		return SG_ERR_RANGE;
	/* removed: strictly increasing PeerIds */
	if ((rc = sg_cbor_get_array(&d, &v->nremove)) != 0)
		return rc;
	if (v->nremove > SG_GROUP_MAX_MEMBERS)
		return SG_ERR_RANGE;
	v->removes = d;
	for (i = 0, prev = NULL; i < v->nremove; i++, prev = p) {
		if ((rc = sg_cbor_get_bytes_len(&d, &p, SG_PEER_ID_LEN)) != 0)
			return rc;
		if (prev != NULL && !id_less(prev, p))
			return SG_ERR_MALFORMED;
	}
	/* added: cards in strictly increasing PeerId order */
	if ((rc = sg_cbor_get_array(&d, &v->nadd)) != 0)
		return rc;
	if (v->nadd > SG_GROUP_MAX_MEMBERS)
		return SG_ERR_RANGE;
	v->adds = d;
	for (i = 0; i < v->nadd; i++) {
		if ((rc = grp_get_card(&d, scratch)) != 0)
			return rc;
		if (i > 0 && !id_less(last, scratch->id.bytes))
			return SG_ERR_MALFORMED;
		memcpy(last, scratch->id.bytes, SG_PEER_ID_LEN);
	}
	if ((rc = sg_cbor_get_bytes_len(&d, &v->roster_hash, 32)) != 0)
		return rc;
	/* secrets: strictly increasing recipients */
	if ((rc = sg_cbor_get_array(&d, &v->nsecret)) != 0)
		return rc;
	if (v->nsecret > SG_GROUP_MAX_MEMBERS)
		return SG_ERR_RANGE;
	v->secrets = d;
	for (i = 0, prev = NULL; i < v->nsecret; i++, prev = p) {
		const uint8_t *x;
		if ((rc = sg_cbor_get_array(&d, &n)) != 0)
			return rc;
		if (n != 3)
			return SG_ERR_MALFORMED;
		if ((rc = sg_cbor_get_bytes_len(&d, &p, SG_PEER_ID_LEN)) != 0 ||
		    (rc = sg_cbor_get_bytes_len(&d, &x, SG_MLKEM768_CT_LEN)) !=
			    0 ||
		    (rc = sg_cbor_get_bytes_len(&d, &x,
						SECRET_ENTRY_WRAPPED)) != 0)
			return rc;
		if (prev != NULL && !id_less(prev, p))
			return SG_ERR_MALFORMED;
	}
	v->body_len = (size_t)(d.p - v->body);
	if ((rc = sg_cbor_get_bytes_len(&d, &v->sig, SG_MLDSA65_SIG_LEN)) != 0 ||
	    (rc = sg_cbor_dec_done(&d)) != 0)
		return rc;
	sg_blake3_derive_key(v->id, SG_GROUP_COMMIT_ID_LEN,
			     SG_CTX_GROUP_COMMIT_ID, v->body, v->body_len);
	return 0;
}

static void fill_info(sg_group_commit_info *info, const commit_view *v)
{
	memset(info, 0, sizeof(*info));
	info->epoch = v->epoch;
	info->proposer = v->proposer;
	memcpy(info->commit_id, v->id, SG_GROUP_COMMIT_ID_LEN);
	memcpy(info->group_id, v->gid, SG_GROUP_ID_LEN);
	info->nadd = v->nadd;
	info->nremove = v->nremove;
}

int sg_group_commit_peek(sg_group_commit_info *info, const uint8_t *commit,
			 size_t len)
{
	commit_view v;
	int rc = decode_commit(&v, commit, len);

	if (rc == 0)
		fill_info(info, &v);
	return rc;
}

/* ---- the staged roster ---------------------------------------------------- */

/* Drops what stage() added: the NEW flag everywhere, and entries that had
 * only it. */
static void unstage(sg_group *g)
{
	size_t i;
	for (i = 0; i < g->n; i++)
		g->pool[i].flags &= ~GRP_NEW;
	grp_compact(g);
}

/* Marks the roster that results from base (GRP_CUR or GRP_PARENT) minus
 * rm plus adds with GRP_NEW. rm and adds are sorted and unique; the cards
 * in adds were checked. Errors: SG_ERR_NOTFOUND (a removal is not in
 * base), SG_ERR_INVAL (the proposer removed), SG_ERR_EXISTS (an add is in
 * base, or is known with other keys), SG_ERR_FULL, SG_ERR_PERM (proposer
 * not in base), SG_ERR_NOMEM. On error nothing stays staged. */
static int stage(sg_group *g, unsigned base, const sg_peer_id *proposer,
		 const sg_peer_id *rm, size_t nrm, const grp_member *adds,
		 size_t nadd)
{
	size_t i;
	long k;
	int rc;

	k = grp_find(g, proposer);
	if (k < 0 || !(g->pool[k].flags & base))
		return SG_ERR_PERM;
	for (i = 0; i < g->n; i++)
		if (g->pool[i].flags & base)
			g->pool[i].flags |= GRP_NEW;
	for (i = 0; i < nrm; i++) {
		k = grp_find(g, &rm[i]);
		if (k < 0 || !(g->pool[k].flags & base)) {
			rc = SG_ERR_NOTFOUND;
			goto fail;
		}
		if (sg_peer_id_equal(&rm[i], proposer)) {
			rc = SG_ERR_INVAL;
			goto fail;
		}
		g->pool[k].flags &= ~GRP_NEW;
	}
	for (i = 0; i < nadd; i++) {
		k = grp_find(g, &adds[i].id);
		if (k >= 0) {
			/* Known from another roster: same keys, or refused. */
			if ((g->pool[k].flags & base) ||
			    memcmp(g->pool[k].ek, adds[i].ek,
				   SG_MLKEM768_EK_LEN) != 0) {
				rc = SG_ERR_EXISTS;
				goto fail;
			}
			g->pool[k].flags |= GRP_NEW;
		} else {
			grp_member m = adds[i];
			m.flags = GRP_NEW;
			if ((rc = grp_insert(g, &m)) != 0)
				goto fail;
		}
	}
	if (grp_count(g, GRP_NEW) > SG_GROUP_MAX_MEMBERS) {
		rc = SG_ERR_FULL;
		goto fail;
	}
	return 0;
fail:
	unstage(g);
	return rc;
}

/* Makes the staged roster current. next: a new epoch on top of the current
 * one (the current roster becomes the parent); else a sibling replaces the
 * current epoch (the parent stays). */
static void adopt(sg_group *g, int next, const uint8_t id[32], uint64_t epoch,
		  const sg_peer_id *proposer, int removal,
		  const uint8_t secret[SG_GROUP_SECRET_LEN])
{
	size_t i;

	for (i = 0; i < g->n; i++) {
		unsigned f = g->pool[i].flags;
		if (next)
			f = (f & GRP_CUR) ? GRP_PARENT : 0;
		else
			f &= GRP_PARENT;
		if (g->pool[i].flags & GRP_NEW)
			f |= GRP_CUR;
		g->pool[i].flags = f;
	}
	grp_compact(g);
	if (next) {
		memcpy(g->parent_id, g->commit_id, 32);
		g->have_parent = 1;
		g->prev_keys = g->cur_keys;
		g->have_prev = 1;
	}
	memcpy(g->commit_id, id, 32);
	g->proposer = *proposer;
	g->removal = removal;
	g->epoch = epoch;
	memcpy(g->epoch_secret, secret, SG_GROUP_SECRET_LEN);
	grp_derive_keys(g);
}

/* ---- encoding ------------------------------------------------------------ */

typedef struct commit_body {
	const sg_group *g;
	uint64_t epoch;
	const sg_peer_id *proposer;
	const sg_peer_id *rm;
	size_t nrm;
	const uint8_t *roster_hash;
	const wrapped_secret *ws;
	size_t nws;
} commit_body;

static void put_commit_body(sg_cbor_enc *e, const void *arg)
{
	const commit_body *b = arg;
	const sg_group *g = b->g;
	size_t i;

	sg_cbor_put_array(e, 9);
	sg_cbor_put_uint(e, SG_GROUP_VERSION);
	sg_cbor_put_bytes(e, g->id, SG_GROUP_ID_LEN);
	sg_cbor_put_uint(e, b->epoch);
	sg_cbor_put_bytes(e, g->commit_id, 32);
	sg_cbor_put_bytes(e, b->proposer->bytes, SG_PEER_ID_LEN);
	sg_cbor_put_array(e, b->nrm);
	for (i = 0; i < b->nrm; i++)
		sg_cbor_put_bytes(e, b->rm[i].bytes, SG_PEER_ID_LEN);
	/* added: staged (NEW) but not in the current roster */
	sg_cbor_put_array(e, grp_count(g, GRP_NEW) -
				     (grp_count(g, GRP_CUR) - b->nrm));
	for (i = 0; i < g->n; i++)
		if ((g->pool[i].flags & (GRP_NEW | GRP_CUR)) == GRP_NEW)
			grp_put_card(e, &g->pool[i]);
	sg_cbor_put_bytes(e, b->roster_hash, 32);
	sg_cbor_put_array(e, b->nws);
	for (i = 0; i < b->nws; i++) {
		sg_cbor_put_array(e, 3);
		sg_cbor_put_bytes(e, b->ws[i].to.bytes, SG_PEER_ID_LEN);
		sg_cbor_put_bytes(e, b->ws[i].ct, SG_MLKEM768_CT_LEN);
		sg_cbor_put_bytes(e, b->ws[i].wrapped, SECRET_ENTRY_WRAPPED);
	}
}

size_t sg_group_commit_bound(const sg_group *g, size_t nadd)
{
	size_t cur = grp_count(g, GRP_CUR);

	if (nadd > SG_GROUP_MAX_MEMBERS)
		nadd = SG_GROUP_MAX_MEMBERS;
	return 2 + 1 + 1 + 34 + 9 + 34 + 34 + 3 + cur * 34 + 3 +
	       nadd * SG_GROUP_CARD_LEN + 34 + 3 +
	       (cur + nadd) * (1 + 34 + 3 + SG_MLKEM768_CT_LEN + 2 +
			       SECRET_ENTRY_WRAPPED) +
	       3 + SG_MLDSA65_SIG_LEN;
}

static int cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, SG_PEER_ID_LEN);
}

static int cmp_member(const void *a, const void *b)
{
	return memcmp(((const grp_member *)a)->id.bytes,
		      ((const grp_member *)b)->id.bytes, SG_PEER_ID_LEN);
}

long sg_group_commit_encode(sg_group *g, uint8_t *out, size_t out_cap,
			    const sg_identity *me,
			    const sg_group_change *change)
{
	static const sg_group_change none = {NULL, NULL, 0, NULL, 0};
	uint8_t secret[SG_GROUP_SECRET_LEN], rnd[32], m[32], roster_hash[32];
	uint8_t bind[BINDING_LEN], id[32];
	sg_peer_id rm[SG_GROUP_MAX_MEMBERS];
	grp_member *adds = NULL;
	wrapped_secret *ws = NULL;
	commit_body b;
	size_t i, nws = 0;
	long n = 0;
	int rc;

	if (change == NULL)
		change = &none;
	if (!sg_peer_id_equal(&me->id, &g->self))
		return SG_ERR_INVAL;
	if (g->left)
		return SG_ERR_STATE;
	if (!sg_group_is_member(g, &me->id))
		return SG_ERR_PERM;
	if (g->epoch == UINT64_MAX)
		return SG_ERR_RANGE;
	if (change->nremove > SG_GROUP_MAX_MEMBERS ||
	    change->nadd > SG_GROUP_MAX_MEMBERS)
		return SG_ERR_FULL;
	if ((change->nremove > 0 && change->remove == NULL) ||
	    (change->nadd > 0 &&
	     (change->add_cards == NULL || change->add_lens == NULL)))
		return SG_ERR_INVAL;
	/* removals: sorted, unique */
	if (change->nremove > 0)
		memcpy(rm, change->remove, change->nremove * sizeof(*rm));
	qsort(rm, change->nremove, sizeof(*rm), cmp_id);
	for (i = 1; i < change->nremove; i++)
		if (sg_peer_id_equal(&rm[i - 1], &rm[i]))
			return SG_ERR_INVAL;
	/* additions: checked cards, sorted, unique */
	if (change->nadd > 0) {
		adds = sg_alloc(g->env, change->nadd * sizeof(*adds));
		if (adds == NULL)
			return SG_ERR_NOMEM;
	}
	for (i = 0; i < change->nadd; i++) {
		sg_cbor_dec d;
		rc = sg_cbor_validate(change->add_cards[i], change->add_lens[i],
				      &grp_limits);
		if (rc != 0)
			goto out;
		sg_cbor_dec_init(&d, change->add_cards[i], change->add_lens[i]);
		if ((rc = grp_get_card(&d, &adds[i])) != 0 ||
		    (rc = sg_cbor_dec_done(&d)) != 0 ||
		    (rc = grp_card_check(&adds[i])) != 0)
			goto out;
	}
	if (change->nadd > 1)
		qsort(adds, change->nadd, sizeof(*adds), cmp_member);
	for (i = 1; i < change->nadd; i++)
		if (sg_peer_id_equal(&adds[i - 1].id, &adds[i].id)) {
			rc = SG_ERR_INVAL;
			goto out;
		}
	if ((rc = stage(g, GRP_CUR, &me->id, rm, change->nremove, adds,
			change->nadd)) != 0)
		goto out;
	if (out_cap < sg_group_commit_bound(g, change->nadd)) {
		rc = SG_ERR_BUFSIZE;
		goto unstage;
	}
	/* The fresh epoch secret, wrapped to every new member but me. */
	ws = sg_alloc(g->env, SG_GROUP_MAX_MEMBERS * sizeof(*ws));
	if (ws == NULL) {
		rc = SG_ERR_NOMEM;
		goto unstage;
	}
	if ((rc = sg_random(g->env, secret, sizeof(secret))) != 0 ||
	    (rc = sg_random(g->env, rnd, sizeof(rnd))) != 0)
		goto unstage;
	for (i = 0; i < g->n; i++) {
		const grp_member *r = &g->pool[i];
		if (!(r->flags & GRP_NEW) || sg_peer_id_equal(&r->id, &me->id))
			continue;
		ws[nws].to = r->id;
		binding(bind, g->id, g->epoch + 1, &r->id, &me->id);
		if ((rc = sg_random(g->env, m, sizeof(m))) != 0 ||
		    (rc = grp_wrap(ws[nws].ct, ws[nws].wrapped, r->ek, m,
				   SG_CTX_GROUP_WRAP_KEY, bind, sizeof(bind),
				   secret, sizeof(secret))) != 0)
			goto unstage;
		nws++;
	}
	grp_roster_hash(roster_hash, g, GRP_NEW);
	b.g = g;
	b.epoch = g->epoch + 1;
	b.proposer = &me->id;
	b.rm = rm;
	b.nrm = change->nremove;
	b.roster_hash = roster_hash;
	b.ws = ws;
	b.nws = nws;
	n = grp_sign_object(out, out_cap, SG_GROUP_FRAME_COMMIT,
			    put_commit_body, &b, SG_SIGCTX_GROUP_COMMIT, me,
			    rnd);
	if (n < 0) {
		rc = (int)n;
		goto unstage;
	}
	/* The body sits at out + 2, before the 3,312-byte signature. */
	sg_blake3_derive_key(id, 32, SG_CTX_GROUP_COMMIT_ID, out + 2,
			     (size_t)n - 2 - 3 - SG_MLDSA65_SIG_LEN);
	adopt(g, 1, id, g->epoch + 1, &me->id, change->nremove > 0, secret);
	rc = 0;
	goto out;
unstage:
	unstage(g);
out:
	sg_wipe(secret, sizeof(secret));
	sg_wipe(m, sizeof(m));
	sg_wipe(rnd, sizeof(rnd));
	sg_free(g->env, adds);
	sg_free(g->env, ws);
	return rc != 0 ? rc : n;
}

long sg_group_add_member(sg_group *g, uint8_t *out, size_t out_cap,
			 const sg_identity *me, const uint8_t *card,
			 size_t card_len)
{
	sg_group_change c = {&card, &card_len, 1, NULL, 0};
	return sg_group_commit_encode(g, out, out_cap, me, &c);
}

long sg_group_remove_member(sg_group *g, uint8_t *out, size_t out_cap,
			    const sg_identity *me, const sg_peer_id *member)
{
	sg_group_change c = {NULL, NULL, 0, member, 1};
	return sg_group_commit_encode(g, out, out_cap, me, &c);
}

/* ---- processing ------------------------------------------------------------ */

int sg_group_commit_process(sg_group *g, const uint8_t *commit, size_t len,
			    const sg_identity *me, sg_group_commit_info *info)
{
	uint8_t secret[SG_GROUP_SECRET_LEN], hash[32], bind[BINDING_LEN];
	sg_peer_id rm[SG_GROUP_MAX_MEMBERS];
	sg_group_commit_info local;
	grp_member *adds = NULL;
	const uint8_t *mine_ct = NULL, *mine_wrapped = NULL;
	commit_view v;
	unsigned base;
	int next, rc;
	size_t i, k;
	long pk;

	if (info == NULL)
		info = &local;
	memset(info, 0, sizeof(*info));
	if ((rc = decode_commit(&v, commit, len)) != 0)
		return rc;
	fill_info(info, &v);
	if (!sg_peer_id_equal(&me->id, &g->self))
		return SG_ERR_INVAL;
	if (g->left)
		return SG_ERR_STATE;
	if (memcmp(v.gid, g->id, SG_GROUP_ID_LEN) != 0)
		return SG_ERR_NOTFOUND;
	/* Where does it fit? */
	if (v.epoch == g->epoch &&
	    memcmp(v.id, g->commit_id, SG_GROUP_COMMIT_ID_LEN) == 0) {
		info->outcome = SG_GROUP_COMMIT_DUPLICATE;
		return 0;
	}
	if (g->epoch < UINT64_MAX && v.epoch == g->epoch + 1 &&
	    memcmp(v.parent, g->commit_id, 32) == 0) {
		next = 1;
		base = GRP_CUR;
	} else if (v.epoch == g->epoch && g->have_parent &&
		   memcmp(v.parent, g->parent_id, 32) == 0) {
		next = 0;
		base = GRP_PARENT;
	} else if (v.epoch <= g->epoch) {
		return SG_ERR_REPLAY;
	} else {
		return SG_ERR_AGAIN;
	}
	/* The proposer must be a member of the roster it builds on. */
	pk = grp_find(g, &v.proposer);
	if (pk < 0 || !(g->pool[pk].flags & base))
		return SG_ERR_PERM;
	if ((rc = grp_verify(v.sig, v.body, v.body_len,
			     SG_SIGCTX_GROUP_COMMIT, g->pool[pk].pk)) != 0)
		return rc;
	/* Changes. */
	for (i = 0; i < v.nremove; i++) {
		const uint8_t *p;
		(void)sg_cbor_get_bytes_len(&v.removes, &p, SG_PEER_ID_LEN);
		memcpy(rm[i].bytes, p, SG_PEER_ID_LEN);
	}
	if (v.nadd > 0) {
		adds = sg_alloc(g->env, v.nadd * sizeof(*adds));
		if (adds == NULL)
			return SG_ERR_NOMEM;
	}
	for (i = 0; i < v.nadd; i++) {
		(void)grp_get_card(&v.adds, &adds[i]);
		if ((rc = grp_card_check(&adds[i])) != 0)
			goto out;
	}
	rc = stage(g, base, &v.proposer, rm, v.nremove, adds, v.nadd);
	if (rc == SG_ERR_NOTFOUND || rc == SG_ERR_EXISTS ||
	    rc == SG_ERR_INVAL)
		rc = SG_ERR_MALFORMED; /* lists that do not fit the roster */
	if (rc != 0)
		goto out;
	grp_roster_hash(hash, g, GRP_NEW);
	if (memcmp(hash, v.roster_hash, 32) != 0) {
		rc = SG_ERR_VERIFY;
		goto unstage;
	}
	/* One wrapped secret per new member but the proposer, in order. */
	for (i = 0, k = 0; i < g->n; i++) {
		const grp_member *r = &g->pool[i];
		const uint8_t *to, *ct, *w;
		size_t n3;
		if (!(r->flags & GRP_NEW) ||
		    sg_peer_id_equal(&r->id, &v.proposer))
			continue;
		if (k == v.nsecret) {
			rc = SG_ERR_MALFORMED;
			goto unstage;
		}
		(void)sg_cbor_get_array(&v.secrets, &n3);
		(void)sg_cbor_get_bytes_len(&v.secrets, &to, SG_PEER_ID_LEN);
		(void)sg_cbor_get_bytes_len(&v.secrets, &ct, SG_MLKEM768_CT_LEN);
		(void)sg_cbor_get_bytes_len(&v.secrets, &w,
					    SECRET_ENTRY_WRAPPED);
		k++;
		if (memcmp(to, r->id.bytes, SG_PEER_ID_LEN) != 0) {
			rc = SG_ERR_MALFORMED;
			goto unstage;
		}
		if (sg_peer_id_equal(&r->id, &me->id)) {
			mine_ct = ct;
			mine_wrapped = w;
		}
	}
	if (k != v.nsecret) {
		rc = SG_ERR_MALFORMED;
		goto unstage;
	}
	/* Convergence: of two commits for the same epoch on the same
	 * parent, the first in sibling_order wins. */
	if (!next) {
		uint8_t r_new[32], r_cur[32];
		grp_commit_rank(r_new, v.epoch, &v.proposer, v.parent);
		grp_commit_rank(r_cur, g->epoch, &g->proposer, g->parent_id);
		if (sibling_order(v.nremove > 0, r_new, v.id, g->removal, r_cur,
				  g->commit_id) > 0) {
			info->outcome = SG_GROUP_COMMIT_OUTRANKED;
			rc = 0;
			goto unstage;
		}
	}
	if (mine_ct == NULL) {
		/* Valid, and we are not in the new roster (a commit by us
		 * always includes us, so this is a removal). */
		info->outcome = SG_GROUP_COMMIT_REMOVED;
		rc = 0;
		goto unstage;
	}
	binding(bind, g->id, v.epoch, &me->id, &v.proposer);
	if ((rc = grp_unwrap(secret, sizeof(secret), me->kem_dk, mine_ct,
			     mine_wrapped, SG_CTX_GROUP_WRAP_KEY, bind,
			     sizeof(bind))) != 0) {
		rc = SG_ERR_VERIFY;
		goto unstage;
	}
	info->outcome = next ? SG_GROUP_COMMIT_APPLIED : SG_GROUP_COMMIT_SWITCHED;
	info->replaced_own = !next && sg_peer_id_equal(&g->proposer, &g->self);
	adopt(g, next, v.id, v.epoch, &v.proposer, v.nremove > 0, secret);
	sg_wipe(secret, sizeof(secret));
	rc = 0;
	goto out;
unstage:
	unstage(g);
out:
	sg_free(g->env, adds);
	return rc;
}
