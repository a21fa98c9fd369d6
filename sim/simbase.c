/*
 * The simulators' shared pieces (see simbase.h): RNG, per-node env, event
 * heap, link hash.
 */
#include "simbase.h"

#include <stdlib.h>
#include <string.h>

/* ---- RNG ---------------------------------------------------------------- */

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t sg_simrng_next(uint64_t s[4])
{
	uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

void sg_simrng_seed(uint64_t s[4], uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++) {
		uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		s[i] = z ^ (z >> 31);
	}
}

double sg_simrng_unit(uint64_t s[4])
{
	return (double)(sg_simrng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- environment -------------------------------------------------------- */

static void *env_alloc(void *ud, size_t len)
{
	(void)ud;
	return malloc(len);
}

static void *env_realloc(void *ud, void *p, size_t len)
{
	(void)ud;
	return realloc(p, len);
}

static void env_free(void *ud, void *p)
{
	(void)ud;
	free(p);
}

int sg_simenv_random(void *ud, uint8_t *out, size_t len)
{
	uint64_t *s = ud;

	while (len > 0) {
		uint64_t v = sg_simrng_next(s);
		size_t k = len < 8 ? len : 8;

		memcpy(out, &v, k);
		out += k;
		len -= k;
	}
	return 0;
}

void sg_simenv_init(sg_env *env, uint64_t *rng, uint64_t (*now)(void *ud),
		    void *clock_ud)
{
	memset(env, 0, sizeof(*env));
	env->size = sizeof(*env);
	env->alloc = env_alloc;
	env->realloc = env_realloc;
	env->free = env_free;
	env->random = sg_simenv_random;
	env->random_ud = rng;
	env->now_ms = now;
	env->wall_ms = now;
	env->clock_ud = clock_ud;
}

/* ---- event heap --------------------------------------------------------- */

static int ev_less(const sg_simq_event *a, const sg_simq_event *b)
{
	return a->t < b->t || (a->t == b->t && a->order < b->order);
}

void sg_simq_push(sg_simq *q, sg_simq_event *e)
{
	size_t i;

	if (q->n == q->cap) {
		size_t ncap = q->cap ? q->cap * 2 : 1024;
		sg_simq_event *nh = realloc(q->heap, ncap * sizeof(*nh));

		if (nh == NULL)
			abort(); /* the simulator cannot go on */
		q->heap = nh;
		q->cap = ncap;
	}
	e->order = q->order++;
	i = q->n++;
	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (!ev_less(e, &q->heap[p]))
			break;
		q->heap[i] = q->heap[p];
		i = p;
	}
	q->heap[i] = *e;
}

void sg_simq_pop(sg_simq *q, sg_simq_event *out)
{
	sg_simq_event last;
	size_t i = 0;

	*out = q->heap[0];
	last = q->heap[--q->n];
	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= q->n)
			break;
		if (c + 1 < q->n && ev_less(&q->heap[c + 1], &q->heap[c]))
			c++;
		if (!ev_less(&q->heap[c], &last))
			break;
		q->heap[i] = q->heap[c];
		i = c;
	}
	if (q->n > 0)
		q->heap[i] = last;
}

uint64_t sg_simq_next(const sg_simq *q)
{
	return q->n > 0 ? q->heap[0].t : UINT64_MAX;
}

void sg_simq_fini(sg_simq *q)
{
	size_t i;

	for (i = 0; i < q->n; i++)
		free(q->heap[i].data);
	free(q->heap);
	memset(q, 0, sizeof(*q));
}

uint64_t sg_sim_link_hash(uint64_t seed, uint32_t a, uint32_t b)
{
	uint64_t z;

	if (a > b) {
		uint32_t t = a;

		a = b;
		b = t;
	}
	z = seed ^ (((uint64_t)a << 32) | b);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}
