/*
 * Bounded outgoing-frame and event queues for the HyParView and SWIM cores
 * (see mqueue.h), and the uniform random index both cores draw from the
 * environment's RNG.
 */
#include "mqueue.h"

#include <string.h>

#include "sg/err.h"

void sg_mq_init(sg_mq *q, size_t max)
{
	memset(q, 0, sizeof(*q));
	q->max = max;
}

void sg_mq_fini(sg_mq *q, const sg_env *env)
{
	struct sg_mq_tx *t = q->head, *n;

	while (t != NULL) {
		n = t->next;
		sg_free(env, t);
		t = n;
	}
	sg_free(env, q->last);
	memset(q, 0, sizeof(*q));
}

int sg_mq_push(sg_mq *q, const sg_env *env, const sg_peer_id *to,
	       const sg_memb_msg *m)
{
	uint8_t tmp[SG_MEMB_MSG_MAX];
	struct sg_mq_tx *t;
	long len;

	if (q->count >= q->max)
		return SG_ERR_FULL;
	len = sg_memb_encode(tmp, sizeof(tmp), m);
	if (len < 0)
		return (int)len;
	t = sg_alloc(env, sizeof(*t) + (size_t)len);
	if (t == NULL)
		return SG_ERR_NOMEM;
	t->next = NULL;
	t->to = *to;
	t->len = (size_t)len;
	memcpy(t->buf, tmp, (size_t)len);
	if (q->tail != NULL)
		q->tail->next = t;
	else
		q->head = t;
	q->tail = t;
	q->count++;
	return 0;
}

size_t sg_mq_pop(sg_mq *q, const sg_env *env, sg_peer_id *to,
		 const uint8_t **frame)
{
	struct sg_mq_tx *t;

	sg_free(env, q->last);
	q->last = NULL;
	t = q->head;
	if (t == NULL)
		return 0;
	q->head = t->next;
	if (q->head == NULL)
		q->tail = NULL;
	q->count--;
	q->last = t;
	*to = t->to;
	*frame = t->buf;
	return t->len;
}

void sg_evq_init(sg_evq *q, size_t rec, size_t max)
{
	memset(q, 0, sizeof(*q));
	q->rec = rec;
	q->max = max;
}

void sg_evq_fini(sg_evq *q, const sg_env *env)
{
	sg_free(env, q->buf);
	q->buf = NULL;
	q->count = q->cap = q->head = 0;
}

int sg_evq_push(sg_evq *q, const sg_env *env, const void *ev)
{
	size_t i;

	if (q->count >= q->max)
		return SG_ERR_FULL;
	if (q->count == q->cap) {
		size_t ncap = q->cap ? q->cap * 2 : 4;
		uint8_t *nb;

		if (ncap > q->max)
			ncap = q->max;
		nb = sg_alloc(env, ncap * q->rec);
		if (nb == NULL)
			return SG_ERR_NOMEM;
		for (i = 0; i < q->count; i++)
			memcpy(nb + i * q->rec,
			       q->buf + ((q->head + i) % q->cap) * q->rec,
			       q->rec);
		sg_free(env, q->buf);
		q->buf = nb;
		q->cap = ncap;
		q->head = 0;
	}
	memcpy(q->buf + ((q->head + q->count) % q->cap) * q->rec, ev, q->rec);
	q->count++;
	return 0;
}

int sg_evq_pop(sg_evq *q, void *ev)
{
	if (q->count == 0)
		return 0;
	memcpy(ev, q->buf + q->head * q->rec, q->rec);
	q->head = (q->head + 1) % q->cap;
	q->count--;
	return 1;
}

size_t sg_mrand(const sg_env *env, size_t n)
{
	uint64_t v = 0;

	if (n <= 1)
		return 0;
	if (sg_random(env, (uint8_t *)&v, sizeof(v)) != 0)
		return 0;
	return (size_t)(v % n);
}
