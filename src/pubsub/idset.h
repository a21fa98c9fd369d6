/*
 * A bounded FIFO set of 32-byte ids (message ids, PeerIds) with O(1)
 * lookup and a fixed-size value per id: a ring of slots plus an
 * open-addressing index hashed with a per-set random SipHash key (ids in
 * IHAVE frames are chosen by peers, so the index must not be predictable).
 *
 * The ring starts small (SG_IDSET_INITIAL slots) and doubles on demand up
 * to its maximum, so a topic with little traffic holds little memory.
 * sg_idset_shrink() gives memory back once the set has emptied to a quarter.
 * Adding to a set at its maximum evicts the oldest id; so does adding to a
 * full set whose growth finds no memory (counted in nomem): a short
 * allocator degrades the set to a smaller bound, it never fails an add.
 *
 * Growing and shrinking move entries: a slot number is valid until the
 * next add or shrink.
 */
#ifndef SG_PUBSUB_IDSET_H
#define SG_PUBSUB_IDSET_H

#include "sg/env.h"

#define SG_ID_LEN 32
#define SG_IDSET_INITIAL 4

typedef struct sg_idset {
	uint8_t *ent;    /* ring of cap entries of stride bytes: id, value */
	uint32_t *index; /* slot + 1, 0 = empty; tcap entries */
	size_t cap, max, tcap, count, head; /* head: oldest slot */
	size_t vlen, stride;
	uint64_t nomem; /* growths that found no memory */
	uint8_t key[16];
} sg_idset;

/* max: the bound on ids held; vlen: value bytes per id (may be 0).
 * SG_ERR_NOMEM, SG_ERR_RANGE (max 0 or too large, vlen too large). */
int sg_idset_init(sg_idset *s, const sg_env *env, size_t max, size_t vlen);
/* Safe on a zeroed or finalised set. */
void sg_idset_fini(sg_idset *s, const sg_env *env);
/* Slot holding id, or -1. */
long sg_idset_find(const sg_idset *s, const uint8_t id[SG_ID_LEN]);
/* Adds id (which must not be present) and returns its slot, growing the
 * ring first when it is full and below its maximum. Otherwise, when the
 * set is full, the oldest id is evicted and *evicted (if not NULL) gets
 * its slot (the same slot is reused, and its value bytes are left as they
 * were so the caller can release what they refer to); else *evicted is
 * -1 and the new value is zeroed. */
size_t sg_idset_add(sg_idset *s, const sg_env *env,
		    const uint8_t id[SG_ID_LEN], long *evicted);
/* Halves the ring (repeatedly, not below SG_IDSET_INITIAL) while it is
 * at most a quarter full, so a burst's memory is given back; the hysteresis
 * keeps add/shrink from thrashing. Moves entries. Memory being short
 * leaves the set as it is. */
void sg_idset_shrink(sg_idset *s, const sg_env *env);
/* Removes the oldest id; returns its slot (its value stays readable until
 * the next add) or -1 when empty. */
long sg_idset_pop_oldest(sg_idset *s);
/* Slot of the oldest id, or -1. */
long sg_idset_oldest(const sg_idset *s);
/* Slot of the k-th oldest id (k < count). */
static inline size_t sg_idset_nth(const sg_idset *s, size_t k)
{
	return (s->head + k) % s->cap;
}
static inline const uint8_t *sg_idset_id(const sg_idset *s, size_t slot)
{
	return s->ent + slot * s->stride;
}
static inline void *sg_idset_val(const sg_idset *s, size_t slot)
{
	return s->ent + slot * s->stride + SG_ID_LEN;
}
/* Bytes allocated for the set now. */
static inline size_t sg_idset_bytes(const sg_idset *s)
{
	return s->cap * s->stride + s->tcap * sizeof(uint32_t);
}

#endif
