/*
 * Bounded FIFO queues shared by the membership cores: outgoing frames (each
 * encoded once into an exactly sized allocation) and fixed-size events.
 * Both grow on demand up to a configured bound; what does not fit is
 * dropped and counted by the caller. Internal to the library (the
 * membership cores and the node core).
 */
#ifndef SG_MEMBERSHIP_MQUEUE_H
#define SG_MEMBERSHIP_MQUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "sg/env.h"
#include "sg/identity.h"
#include "sg/membership.h"

struct sg_mq_tx {
	struct sg_mq_tx *next;
	sg_peer_id to;
	size_t len;
	uint8_t buf[];
};

typedef struct sg_mq {
	struct sg_mq_tx *head, *tail;
	struct sg_mq_tx *last; /* returned by the previous pop, freed next */
	size_t count, max;
} sg_mq;

void sg_mq_init(sg_mq *q, size_t max);
void sg_mq_fini(sg_mq *q, const sg_env *env);
/* Encodes m for `to` and appends it. 0, SG_ERR_FULL, SG_ERR_NOMEM, or an
 * encoding error. */
int sg_mq_push(sg_mq *q, const sg_env *env, const sg_peer_id *to,
	       const sg_memb_msg *m);
size_t sg_mq_pop(sg_mq *q, const sg_env *env, sg_peer_id *to,
		 const uint8_t **frame);

/* A ring of fixed-size records that doubles up to max records. */
typedef struct sg_evq {
	uint8_t *buf;
	size_t rec, head, count, cap, max;
} sg_evq;

void sg_evq_init(sg_evq *q, size_t rec, size_t max);
void sg_evq_fini(sg_evq *q, const sg_env *env);
int sg_evq_push(sg_evq *q, const sg_env *env, const void *ev);
int sg_evq_pop(sg_evq *q, void *ev);

/* Uniform random integer in [0, n) from the env RNG (n > 0). */
size_t sg_mrand(const sg_env *env, size_t n);

#endif
