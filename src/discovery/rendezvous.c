/* Rendezvous shards (include/sg/rendezvous.h). */
#include "sg/rendezvous.h"

#include <stdio.h>
#include <string.h>

#include "sg/blake3.h"
#include "sg/cbor.h"
#include "sg/err.h"

#define SUMMARY_VERSION 1

uint16_t sg_rdv_shard(const char *cap, size_t len)
{
	uint8_t out[SG_BLAKE3_LEN];

	sg_blake3(out, cap, len);
	return (uint16_t)(out[0] << 8 | out[1]);
}

void sg_rdv_topic_name(char out[SG_RDV_TOPIC_NAME_LEN], uint16_t shard)
{
	snprintf(out, SG_RDV_TOPIC_NAME_LEN, "saorsa-gossip/rendezvous/%04x",
		 (unsigned)shard);
}

long sg_rdv_summary_encode(uint8_t *out, size_t cap, const sg_rdv_summary *s)
{
	sg_cbor_enc e;
	size_t i;

	if (s->cap_len == 0 || s->cap_len > SG_RDV_CAP_MAX ||
	    s->n_addrs > SG_RDV_ADDRS_MAX ||
	    sg_cbor_utf8_check((const uint8_t *)s->cap, s->cap_len) != 0)
		return SG_ERR_INVAL;
	for (i = 0; i < s->n_addrs; i++)
		if (s->addr_len[i] == 0 || s->addr_len[i] > SG_MEMB_ADDR_MAX)
			return SG_ERR_INVAL;
	sg_cbor_enc_init(&e, out, cap);
	sg_cbor_put_array(&e, 4);
	sg_cbor_put_uint(&e, SUMMARY_VERSION);
	sg_cbor_put_text(&e, s->cap, s->cap_len);
	sg_cbor_put_array(&e, s->n_addrs);
	for (i = 0; i < s->n_addrs; i++)
		sg_cbor_put_bytes(&e, s->addrs[i], s->addr_len[i]);
	sg_cbor_put_uint(&e, s->expires_ms);
	return sg_cbor_enc_finish(&e);
}

int sg_rdv_summary_decode(sg_rdv_summary *s, const uint8_t *buf, size_t len)
{
	sg_cbor_limits lim;
	sg_cbor_dec d;
	size_t count, i;
	uint64_t v;
	int rc;

	memset(s, 0, sizeof(*s));
	sg_cbor_limits_default(&lim);
	lim.max_depth = 2;
	lim.max_items = 6 + SG_RDV_ADDRS_MAX;
	if ((rc = sg_cbor_validate(buf, len, &lim)) != 0)
		return rc;
	sg_cbor_dec_init(&d, buf, len);
	if ((rc = sg_cbor_get_array(&d, &count)) != 0)
		return rc;
	if (count != 4)
		return SG_ERR_MALFORMED;
	if ((rc = sg_cbor_get_uint(&d, &v)) != 0)
		return rc;
	if (v != SUMMARY_VERSION)
		return SG_ERR_UNSUPPORTED;
	if ((rc = sg_cbor_get_text(&d, &s->cap, &s->cap_len)) != 0)
		return rc;
	if (s->cap_len == 0 || s->cap_len > SG_RDV_CAP_MAX)
		return SG_ERR_RANGE;
	if ((rc = sg_cbor_get_array(&d, &count)) != 0)
		return rc;
	if (count > SG_RDV_ADDRS_MAX)
		return SG_ERR_RANGE;
	for (i = 0; i < count; i++) {
		const uint8_t *a;
		size_t al;
		if ((rc = sg_cbor_get_bytes(&d, &a, &al)) != 0)
			return rc;
		if (al == 0 || al > SG_MEMB_ADDR_MAX)
			return SG_ERR_RANGE;
		memcpy(s->addrs[i], a, al);
		s->addr_len[i] = (uint8_t)al;
	}
	s->n_addrs = count;
	if ((rc = sg_cbor_get_uint(&d, &s->expires_ms)) != 0)
		return rc;
	return sg_cbor_dec_done(&d);
}

struct sg_rdv_table {
	sg_env env;
	size_t max, count;
	sg_rdv_entry *e;
};

sg_rdv_table *sg_rdv_table_new(const sg_env *env, size_t max)
{
	sg_rdv_table *t;

	if (max == 0)
		return NULL;
	t = sg_calloc(env, 1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->env = *env;
	t->max = max;
	t->e = sg_calloc(env, max, sizeof(sg_rdv_entry));
	if (t->e == NULL) {
		sg_free(env, t);
		return NULL;
	}
	return t;
}

void sg_rdv_table_del(sg_rdv_table *t)
{
	if (t == NULL)
		return;
	sg_free(&t->env, t->e);
	sg_free(&t->env, t);
}

static int cap_eq(const sg_rdv_entry *e, const char *cap, size_t len)
{
	return strlen(e->cap) == len && memcmp(e->cap, cap, len) == 0;
}

/* Drops expired entries (keeps the array dense). */
static void expire(sg_rdv_table *t, uint64_t now)
{
	size_t i = 0;

	while (i < t->count) {
		if (t->e[i].expires_ms <= now)
			t->e[i] = t->e[--t->count];
		else
			i++;
	}
}

int sg_rdv_table_put(sg_rdv_table *t, const sg_peer_id *provider,
		     uint64_t seq, const sg_rdv_summary *s, uint64_t now_ms,
		     uint64_t max_validity_ms)
{
	sg_rdv_entry *e = NULL;
	size_t i;
	uint64_t expires = s->expires_ms;

	if (s->cap_len == 0 || s->cap_len > SG_RDV_CAP_MAX ||
	    memchr(s->cap, 0, s->cap_len) != NULL)
		return SG_ERR_INVAL;
	expire(t, now_ms);
	if (expires > now_ms + max_validity_ms)
		expires = now_ms + max_validity_ms;
	for (i = 0; i < t->count && e == NULL; i++)
		if (sg_peer_id_equal(&t->e[i].provider, provider) &&
		    cap_eq(&t->e[i], s->cap, s->cap_len))
			e = &t->e[i];
	if (e != NULL && seq < e->seq)
		return SG_ERR_REPLAY;
	if (expires <= now_ms) { /* withdrawn */
		if (e != NULL)
			*e = t->e[--t->count];
		return 0;
	}
	if (e == NULL) {
		if (t->count == t->max) {
			/* the entry that expires first makes room, unless
			 * this one expires even sooner */
			size_t k = 0;
			for (i = 1; i < t->count; i++)
				if (t->e[i].expires_ms < t->e[k].expires_ms)
					k = i;
			if (t->e[k].expires_ms >= expires)
				return SG_ERR_FULL;
			e = &t->e[k];
		} else {
			e = &t->e[t->count++];
		}
	}
	memset(e, 0, sizeof(*e));
	memcpy(e->cap, s->cap, s->cap_len);
	e->provider = *provider;
	e->n_addrs = s->n_addrs;
	for (i = 0; i < s->n_addrs; i++) {
		e->addr_len[i] = s->addr_len[i];
		memcpy(e->addrs[i], s->addrs[i], s->addr_len[i]);
	}
	e->expires_ms = expires;
	e->seq = seq;
	return 0;
}

size_t sg_rdv_table_find(sg_rdv_table *t, const char *cap, size_t cap_len,
			 uint64_t now_ms, sg_rdv_entry *out, size_t max)
{
	size_t i, n = 0;

	expire(t, now_ms);
	for (i = 0; i < t->count; i++)
		if (cap_eq(&t->e[i], cap, cap_len)) {
			if (n < max)
				out[n] = t->e[i];
			n++;
		}
	return n;
}

size_t sg_rdv_table_count(const sg_rdv_table *t)
{
	return t->count;
}
