/*
 * Publisher key cache: PeerId -> ML-DSA-65 public key, bounded, with CLOCK
 * replacement (second chance: a key used since it was last passed over is
 * moved to the back instead of evicted). Keys are stored under the PeerId
 * they hash to, so a key can never be filed under someone else's name.
 * The table starts small and grows with the number of publishers seen
 * (a key is 1,952 bytes: 1,024 of them are 2 MB).
 */
#include "sg/plumtree.h"
#include "sg/err.h"
#include "idset.h"

#include <string.h>

typedef struct kc_val {
	uint8_t pk[SG_MLDSA65_PK_LEN];
	uint8_t referenced;
} kc_val;

struct sg_keycache {
	sg_env env;
	sg_idset ids; /* values: kc_val */
};

sg_keycache *sg_keycache_new(const sg_env *env, size_t cap)
{
	sg_keycache *kc;

	if (cap == 0)
		return NULL;
	kc = sg_calloc(env, 1, sizeof(*kc));
	if (kc == NULL)
		return NULL;
	kc->env = *env;
	if (sg_idset_init(&kc->ids, env, cap, sizeof(kc_val)) != 0) {
		sg_free(env, kc);
		return NULL;
	}
	return kc;
}

void sg_keycache_del(sg_keycache *kc)
{
	sg_env env;

	if (kc == NULL)
		return;
	env = kc->env;
	sg_idset_fini(&kc->ids, &env);
	sg_free(&env, kc);
}

const uint8_t *sg_keycache_get(sg_keycache *kc, const sg_peer_id *id)
{
	long slot = sg_idset_find(&kc->ids, id->bytes);
	kc_val *v;

	if (slot < 0)
		return NULL;
	v = sg_idset_val(&kc->ids, (size_t)slot);
	v->referenced = 1;
	return v->pk;
}

int sg_keycache_put(sg_keycache *kc, const uint8_t pk[SG_MLDSA65_PK_LEN])
{
	sg_idset *s = &kc->ids;
	sg_peer_id id;
	kc_val *v;
	size_t slot, tries;

	sg_peer_id_from_pk(&id, pk);
	if (sg_idset_find(s, id.bytes) >= 0)
		return 0;
	/* CLOCK: once the table is at its bound, give each referenced key
	 * at the front a second chance (at most one full turn, after which
	 * every bit is clear). */
	for (tries = 0; s->count == s->max && tries < s->max; tries++) {
		size_t old = (size_t)sg_idset_oldest(s);
		uint8_t old_id[SG_ID_LEN];
		kc_val keep;
		v = sg_idset_val(s, old);
		if (!v->referenced)
			break;
		memcpy(old_id, sg_idset_id(s, old), SG_ID_LEN);
		memcpy(keep.pk, v->pk, SG_MLDSA65_PK_LEN);
		sg_idset_pop_oldest(s);
		slot = sg_idset_add(s, &kc->env, old_id, NULL);
		v = sg_idset_val(s, slot);
		memcpy(v->pk, keep.pk, SG_MLDSA65_PK_LEN);
		v->referenced = 0;
	}
	slot = sg_idset_add(s, &kc->env, id.bytes, NULL);
	v = sg_idset_val(s, slot);
	memcpy(v->pk, pk, SG_MLDSA65_PK_LEN);
	v->referenced = 0;
	return 0;
}
