/*
 * Bounded FIFO id set: ring + linear-probing index with backward-shift
 * deletion (no tombstones), hashed with SipHash-2-4 (libsodium
 * crypto_shorthash) under a random per-set key.
 */
#include "idset.h"
#include "sg/err.h"

#include <sodium.h>
#include <string.h>

static size_t hash(const sg_idset *s, const uint8_t id[SG_ID_LEN])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v = 0;
	int i;

	crypto_shorthash(h, id, SG_ID_LEN, s->key);
	for (i = 7; i >= 0; i--)
		v = v << 8 | h[i];
	return (size_t)(v & (s->tcap - 1));
}

int sg_idset_init(sg_idset *s, const sg_env *env, size_t cap)
{
	int rc;

	memset(s, 0, sizeof(*s));
	if (cap == 0 || cap > (1u << 24))
		return SG_ERR_RANGE;
	s->cap = cap;
	s->tcap = 1;
	while (s->tcap < 2 * cap)
		s->tcap <<= 1;
	s->ids = sg_calloc(env, cap, SG_ID_LEN);
	s->index = sg_calloc(env, s->tcap, sizeof(uint32_t));
	if (s->ids == NULL || s->index == NULL) {
		sg_idset_fini(s, env);
		return SG_ERR_NOMEM;
	}
	rc = sg_random(env, s->key, sizeof(s->key));
	if (rc != 0)
		sg_idset_fini(s, env);
	return rc;
}

void sg_idset_fini(sg_idset *s, const sg_env *env)
{
	sg_free(env, s->ids);
	sg_free(env, s->index);
	memset(s, 0, sizeof(*s));
}

long sg_idset_find(const sg_idset *s, const uint8_t id[SG_ID_LEN])
{
	size_t i = hash(s, id);

	while (s->index[i] != 0) {
		size_t slot = s->index[i] - 1;
		if (memcmp(s->ids[slot], id, SG_ID_LEN) == 0)
			return (long)slot;
		i = (i + 1) & (s->tcap - 1);
	}
	return -1;
}

/* Removes slot's entry from the index (backward-shift deletion). */
static void unindex(sg_idset *s, size_t slot)
{
	size_t i = hash(s, s->ids[slot]), j, k;

	while (s->index[i] != slot + 1)
		i = (i + 1) & (s->tcap - 1);
	for (j = i;;) {
		s->index[i] = 0;
		for (;;) {
			j = (j + 1) & (s->tcap - 1);
			if (s->index[j] == 0)
				return;
			k = hash(s, s->ids[s->index[j] - 1]);
			/* Move j's entry to i unless its home k lies
			 * cyclically in (i, j]. */
			if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			break;
		}
		s->index[i] = s->index[j];
		i = j;
	}
}

long sg_idset_oldest(const sg_idset *s)
{
	return s->count == 0 ? -1 : (long)s->head;
}

long sg_idset_pop_oldest(sg_idset *s)
{
	size_t slot;

	if (s->count == 0)
		return -1;
	slot = s->head;
	unindex(s, slot);
	s->head = (s->head + 1) % s->cap;
	s->count--;
	return (long)slot;
}

size_t sg_idset_add(sg_idset *s, const uint8_t id[SG_ID_LEN], long *evicted)
{
	size_t slot, i;
	long ev = -1;

	if (s->count == s->cap)
		ev = sg_idset_pop_oldest(s);
	slot = (s->head + s->count) % s->cap;
	s->count++;
	memcpy(s->ids[slot], id, SG_ID_LEN);
	i = hash(s, id);
	while (s->index[i] != 0)
		i = (i + 1) & (s->tcap - 1);
	s->index[i] = (uint32_t)slot + 1;
	if (evicted != NULL)
		*evicted = ev;
	return slot;
}
