/*
 * Publisher key cache: PeerId -> ML-DSA-65 public key, bounded, with CLOCK
 * replacement (second chance: a key used since it was last passed over is
 * moved to the back instead of evicted). Keys are stored under the PeerId
 * they hash to, so a key can never be filed under someone else's name.
 */
#include "sg/plumtree.h"
#include "sg/err.h"
#include "idset.h"

#include <string.h>

struct sg_keycache {
	sg_env env;
	sg_idset ids;
	uint8_t (*pk)[SG_MLDSA65_PK_LEN];
	uint8_t *referenced;
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
	kc->pk = sg_calloc(env, cap, SG_MLDSA65_PK_LEN);
	kc->referenced = sg_calloc(env, cap, 1);
	if (kc->pk == NULL || kc->referenced == NULL ||
	    sg_idset_init(&kc->ids, env, cap) != 0) {
		sg_keycache_del(kc);
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
	if (kc->ids.ids != NULL)
		sg_idset_fini(&kc->ids, &env);
	sg_free(&env, kc->pk);
	sg_free(&env, kc->referenced);
	sg_free(&env, kc);
}

const uint8_t *sg_keycache_get(sg_keycache *kc, const sg_peer_id *id)
{
	long slot = sg_idset_find(&kc->ids, id->bytes);

	if (slot < 0)
		return NULL;
	kc->referenced[slot] = 1;
	return kc->pk[slot];
}

int sg_keycache_put(sg_keycache *kc, const uint8_t pk[SG_MLDSA65_PK_LEN])
{
	uint8_t key[SG_MLDSA65_PK_LEN];
	sg_peer_id id;
	size_t slot, tries;

	sg_peer_id_from_pk(&id, pk);
	if (sg_idset_find(&kc->ids, id.bytes) >= 0)
		return 0;
	/* CLOCK: give each referenced key at the front a second chance (at
	 * most one full turn, after which every bit is clear). */
	for (tries = 0; kc->ids.count == kc->ids.cap && tries < kc->ids.cap;
	     tries++) {
		long old = sg_idset_oldest(&kc->ids);
		sg_peer_id old_id;
		if (!kc->referenced[old])
			break;
		kc->referenced[old] = 0;
		memcpy(old_id.bytes, kc->ids.ids[old], SG_PEER_ID_LEN);
		memcpy(key, kc->pk[old], SG_MLDSA65_PK_LEN);
		sg_idset_pop_oldest(&kc->ids);
		slot = sg_idset_add(&kc->ids, old_id.bytes, NULL);
		memcpy(kc->pk[slot], key, SG_MLDSA65_PK_LEN);
		kc->referenced[slot] = 0;
	}
	slot = sg_idset_add(&kc->ids, id.bytes, NULL);
	memcpy(kc->pk[slot], pk, SG_MLDSA65_PK_LEN);
	kc->referenced[slot] = 0;
	return 0;
}
