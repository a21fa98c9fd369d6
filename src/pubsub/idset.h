/*
 * A bounded FIFO set of 32-byte ids (message ids, PeerIds) with O(1)
 * lookup: a ring of slots plus an open-addressing index hashed with a
 * per-set random SipHash key (ids in IHAVE frames are chosen by peers, so
 * the index must not be predictable). Adding to a full set evicts the
 * oldest id. Callers keep per-id data in arrays indexed by slot.
 */
#ifndef SG_PUBSUB_IDSET_H
#define SG_PUBSUB_IDSET_H

#include "sg/env.h"

#define SG_ID_LEN 32

typedef struct sg_idset {
	uint8_t (*ids)[SG_ID_LEN]; /* ring of cap slots */
	uint32_t *index;           /* slot + 1, 0 = empty; tcap entries */
	size_t cap, tcap, count, head; /* head: oldest slot */
	uint8_t key[16];
} sg_idset;

/* SG_ERR_NOMEM, SG_ERR_RANGE (cap 0 or too large). */
int sg_idset_init(sg_idset *s, const sg_env *env, size_t cap);
void sg_idset_fini(sg_idset *s, const sg_env *env);
/* Slot holding id, or -1. */
long sg_idset_find(const sg_idset *s, const uint8_t id[SG_ID_LEN]);
/* Adds id (which must not be present) and returns its slot. When the set
 * is full the oldest id is evicted first; *evicted (if not NULL) gets its
 * slot (the same slot is reused) or -1. */
size_t sg_idset_add(sg_idset *s, const uint8_t id[SG_ID_LEN], long *evicted);
/* Removes the oldest id; returns its slot or -1 when empty. */
long sg_idset_pop_oldest(sg_idset *s);
/* Slot of the oldest id, or -1. */
long sg_idset_oldest(const sg_idset *s);

#endif
