/*
 * Bounded FIFO id set: ring + linear-probing index with backward-shift
 * deletion (no tombstones), hashed with SipHash-2-4 (libsodium
 * crypto_shorthash) under a random per-set key. The ring grows by
 * doubling (entries are copied oldest first, so head returns to 0) and
 * the index is rebuilt at twice the ring's size, keeping the load at most
 * one half.
 */
#include "idset.h"
#include "sg/err.h"

#include <sodium.h>
#include <string.h>

#define IDSET_MAX (1u << 24)
#define VLEN_MAX 4096

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

static size_t index_size(size_t cap)
{
	size_t t = 1;

	while (t < 2 * cap)
		t <<= 1;
	return t;
}

int sg_idset_init(sg_idset *s, const sg_env *env, size_t max, size_t vlen)
{
	int rc;

	memset(s, 0, sizeof(*s));
	if (max == 0 || max > IDSET_MAX || vlen > VLEN_MAX)
		return SG_ERR_RANGE;
	s->max = max;
	s->cap = max < SG_IDSET_INITIAL ? max : SG_IDSET_INITIAL;
	s->tcap = index_size(s->cap);
	s->vlen = vlen;
	/* Values start 8-aligned (SG_ID_LEN is a multiple of 8). */
	s->stride = (SG_ID_LEN + vlen + 7) & ~(size_t)7;
	s->ent = sg_calloc(env, s->cap, s->stride);
	s->index = sg_calloc(env, s->tcap, sizeof(uint32_t));
	if (s->ent == NULL || s->index == NULL) {
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
	sg_free(env, s->ent);
	sg_free(env, s->index);
	memset(s, 0, sizeof(*s));
}

long sg_idset_find(const sg_idset *s, const uint8_t id[SG_ID_LEN])
{
	size_t i;

	if (s->ent == NULL)
		return -1;
	i = hash(s, id);
	while (s->index[i] != 0) {
		size_t slot = s->index[i] - 1;
		if (memcmp(sg_idset_id(s, slot), id, SG_ID_LEN) == 0)
			return (long)slot;
		i = (i + 1) & (s->tcap - 1);
	}
	return -1;
}

/* Removes slot's entry from the index (backward-shift deletion). */
static void unindex(sg_idset *s, size_t slot)
{
	size_t i = hash(s, sg_idset_id(s, slot)), j, k;

	while (s->index[i] != slot + 1)
		i = (i + 1) & (s->tcap - 1);
	for (j = i;;) {
		s->index[i] = 0;
		for (;;) {
			j = (j + 1) & (s->tcap - 1);
			if (s->index[j] == 0)
				return;
			k = hash(s, sg_idset_id(s, s->index[j] - 1));
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

static void index_put(sg_idset *s, size_t slot)
{
	size_t i = hash(s, sg_idset_id(s, slot));

	while (s->index[i] != 0)
		i = (i + 1) & (s->tcap - 1);
	s->index[i] = (uint32_t)slot + 1;
}

/* Moves the entries, oldest first, into a ring of ncap >= count slots and
 * rebuilds the index. 0, or -1 when memory is short (the set is left as
 * it was). */
static int resize(sg_idset *s, const sg_env *env, size_t ncap)
{
	size_t ntcap = index_size(ncap), k;
	uint8_t *ent = sg_calloc(env, ncap, s->stride);
	uint32_t *index = sg_calloc(env, ntcap, sizeof(uint32_t));

	if (ent == NULL || index == NULL) {
		sg_free(env, ent);
		sg_free(env, index);
		return -1;
	}
	for (k = 0; k < s->count; k++)
		memcpy(ent + k * s->stride,
		       s->ent + sg_idset_nth(s, k) * s->stride, s->stride);
	sg_free(env, s->ent);
	sg_free(env, s->index);
	s->ent = ent;
	s->index = index;
	s->cap = ncap;
	s->tcap = ntcap;
	s->head = 0;
	for (k = 0; k < s->count; k++)
		index_put(s, k);
	return 0;
}

/* Doubles the ring, up to max. */
static int grow(sg_idset *s, const sg_env *env)
{
	if (resize(s, env, s->cap * 2 > s->max ? s->max : s->cap * 2) != 0) {
		s->nomem++;
		return -1;
	}
	return 0;
}

void sg_idset_shrink(sg_idset *s, const sg_env *env)
{
	size_t ncap = s->cap;

	while (ncap / 2 >= SG_IDSET_INITIAL && s->count <= ncap / 4)
		ncap /= 2;
	if (ncap < s->cap)
		(void)resize(s, env, ncap);
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

size_t sg_idset_add(sg_idset *s, const sg_env *env,
		    const uint8_t id[SG_ID_LEN], long *evicted)
{
	size_t slot;
	long ev = -1;

	if (s->count == s->cap && (s->cap == s->max || grow(s, env) != 0))
		ev = sg_idset_pop_oldest(s);
	slot = (s->head + s->count) % s->cap;
	s->count++;
	memcpy(s->ent + slot * s->stride, id, SG_ID_LEN);
	if (ev < 0)
		memset(s->ent + slot * s->stride + SG_ID_LEN, 0,
		       s->stride - SG_ID_LEN);
	index_put(s, slot);
	if (evicted != NULL)
		*evicted = ev;
	return slot;
}
