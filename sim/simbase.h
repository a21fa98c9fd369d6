/*
 * What the two simulators (sim.c: HyParView + SWIM cores; coresim.c: whole
 * node cores) share: a seeded xoshiro256** RNG, per-node sg_env callbacks
 * that read a virtual clock, the event queue (a binary heap ordered by
 * time, then by insertion number, so equal times keep their order) and
 * the per-link latency hash (a link's one-way latency is fixed, so a link
 * keeps the order of its frames, as a QUIC stream does).
 */
#ifndef SG_SIM_SIMBASE_H
#define SG_SIM_SIMBASE_H

#include <stddef.h>
#include <stdint.h>

#include "sg/env.h"

/* ---- RNG: xoshiro256** seeded through splitmix64 ---------------------- */

uint64_t sg_simrng_next(uint64_t s[4]);
void sg_simrng_seed(uint64_t s[4], uint64_t seed);
/* Uniform in [0, 1). */
double sg_simrng_unit(uint64_t s[4]);

/* ---- per-node environment --------------------------------------------- */

/* env: malloc, random bytes from rng (uint64_t[4], borrowed), now_ms and
 * wall_ms from now(clock_ud). */
void sg_simenv_init(sg_env *env, uint64_t *rng, uint64_t (*now)(void *ud),
		    void *clock_ud);
/* The env's random callback: ud is a uint64_t[4] xoshiro state. */
int sg_simenv_random(void *ud, uint8_t *out, size_t len);

/* ---- event queue -------------------------------------------------------- */

typedef struct sg_simq_event {
	uint64_t t, order;
	uint32_t kind, dst, src, epoch;
	uint32_t len;
	uint8_t *data; /* malloc'd, owned by the event */
} sg_simq_event;

typedef struct sg_simq {
	sg_simq_event *heap;
	size_t n, cap;
	uint64_t order;
} sg_simq;

/* Stamps e->order and inserts a copy (aborts when memory runs out: the
 * simulator cannot go on). */
void sg_simq_push(sg_simq *q, sg_simq_event *e);
/* Removes the earliest event into *out; q must not be empty. */
void sg_simq_pop(sg_simq *q, sg_simq_event *out);
/* The earliest event's time, or UINT64_MAX when empty. */
uint64_t sg_simq_next(const sg_simq *q);
/* Frees the heap and every queued event's data. */
void sg_simq_fini(sg_simq *q);

/* A hash of (seed, unordered pair a, b): the same for both directions. */
uint64_t sg_sim_link_hash(uint64_t seed, uint32_t a, uint32_t b);

#endif
