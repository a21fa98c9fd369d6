/*
 * FOAF discovery (include/sg/foaf.h).
 *
 * Wire (the body of an SG_FRAME_DISCOVERY frame, docs/PROTOCOL.md):
 *   3 QUERY   kind byte, then [qid: bstr(16), kind: uint, target: bstr(32),
 *             ttl: uint]
 *   4 ANSWER  kind byte, then [qid: bstr(16), kind: uint, target: bstr(32),
 *             hops: uint, answer: bstr(<= 256)]
 */
#include "sg/foaf.h"

#include <string.h>

#include "sg/cbor.h"
#include "sg/err.h"

struct route {
	uint8_t qid[SG_FOAF_QID_LEN];
	sg_peer_id prev;
	int own;      /* we asked */
	int answered; /* an answer went back already */
	uint64_t expires;
};

struct pending {
	int used;
	uint8_t qid[SG_FOAF_QID_LEN];
	sg_foaf_kind kind;
	uint8_t target[SG_FOAF_TARGET_LEN];
	uint64_t deadline;
};

struct bucket {
	int used;
	sg_peer_id peer;
	uint64_t milli; /* tokens * 1000 */
	uint64_t last;
};

struct txi {
	struct txi *next;
	sg_peer_id to;
	size_t len;
	uint8_t buf[];
};

struct sg_foaf {
	sg_env env;
	sg_foaf_config cfg;
	sg_foaf_lookup_fn lookup;
	void *lookup_ud;
	struct route *routes; /* a ring in insertion order */
	size_t r_head, r_count;
	struct pending *pend;
	struct bucket *buckets;
	struct txi *q_head, *q_tail, *q_last;
	size_t q_count;
	sg_foaf_event *evs;
	size_t ev_head, ev_count;
	sg_foaf_stats st;
};

void sg_foaf_config_default(sg_foaf_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->size = sizeof(*cfg);
	cfg->fanout = 3;
	cfg->default_ttl = 3;
	cfg->max_routes = 4096;
	cfg->route_ttl_ms = 30000;
	cfg->max_pending = 64;
	cfg->query_timeout_ms = 5000;
	cfg->rate_per_s = 20;
	cfg->burst = 40;
	cfg->max_peers = 64;
	cfg->max_tx = 1024;
	cfg->max_events = 256;
}

sg_foaf *sg_foaf_new(const sg_env *env, const sg_foaf_config *cfg,
		     sg_foaf_lookup_fn lookup, void *lookup_ud)
{
	sg_foaf *f;

	if (cfg->size != sizeof(*cfg) || cfg->fanout == 0 ||
	    cfg->default_ttl == 0 || cfg->default_ttl > SG_FOAF_TTL_MAX ||
	    cfg->max_routes == 0 || cfg->max_pending == 0 ||
	    cfg->max_peers == 0 || cfg->max_tx == 0 || cfg->max_events == 0 ||
	    cfg->burst == 0)
		return NULL;
	f = sg_calloc(env, 1, sizeof(*f));
	if (f == NULL)
		return NULL;
	f->env = *env;
	f->cfg = *cfg;
	f->lookup = lookup;
	f->lookup_ud = lookup_ud;
	f->routes = sg_calloc(env, cfg->max_routes, sizeof(struct route));
	f->pend = sg_calloc(env, cfg->max_pending, sizeof(struct pending));
	f->buckets = sg_calloc(env, cfg->max_peers, sizeof(struct bucket));
	f->evs = sg_calloc(env, cfg->max_events, sizeof(sg_foaf_event));
	if (f->routes == NULL || f->pend == NULL || f->buckets == NULL ||
	    f->evs == NULL) {
		sg_foaf_del(f);
		return NULL;
	}
	return f;
}

void sg_foaf_del(sg_foaf *f)
{
	struct txi *it, *nx;

	if (f == NULL)
		return;
	for (it = f->q_head; it != NULL; it = nx) {
		nx = it->next;
		sg_free(&f->env, it);
	}
	sg_free(&f->env, f->q_last);
	sg_free(&f->env, f->routes);
	sg_free(&f->env, f->pend);
	sg_free(&f->env, f->buckets);
	sg_free(&f->env, f->evs);
	sg_free(&f->env, f);
}

/* ---- queues ------------------------------------------------------------- */

static void push(sg_foaf *f, const sg_peer_id *to, uint8_t kind,
		 const uint8_t *cbor, size_t len)
{
	struct txi *it;

	if (f->q_count == f->cfg.max_tx ||
	    (it = sg_alloc(&f->env, sizeof(*it) + 1 + len)) == NULL) {
		f->st.tx_dropped++;
		return;
	}
	it->next = NULL;
	it->to = *to;
	it->len = 1 + len;
	it->buf[0] = kind;
	memcpy(it->buf + 1, cbor, len);
	if (f->q_tail != NULL)
		f->q_tail->next = it;
	else
		f->q_head = it;
	f->q_tail = it;
	f->q_count++;
}

static void emit(sg_foaf *f, const sg_foaf_event *ev)
{
	if (f->ev_count == f->cfg.max_events) {
		f->st.events_dropped++;
		return;
	}
	f->evs[(f->ev_head + f->ev_count) % f->cfg.max_events] = *ev;
	f->ev_count++;
}

size_t sg_foaf_poll_tx(sg_foaf *f, sg_peer_id *to, const uint8_t **body)
{
	struct txi *it = f->q_head;

	sg_free(&f->env, f->q_last);
	f->q_last = NULL;
	if (it == NULL)
		return 0;
	f->q_head = it->next;
	if (f->q_head == NULL)
		f->q_tail = NULL;
	f->q_count--;
	f->q_last = it;
	*to = it->to;
	*body = it->buf;
	return it->len;
}

int sg_foaf_poll_event(sg_foaf *f, sg_foaf_event *ev)
{
	if (f->ev_count == 0)
		return 0;
	*ev = f->evs[f->ev_head];
	f->ev_head = (f->ev_head + 1) % f->cfg.max_events;
	f->ev_count--;
	return 1;
}

/* ---- routes, buckets ---------------------------------------------------- */

static struct route *route_find(sg_foaf *f, const uint8_t *qid, uint64_t now)
{
	size_t i;

	for (i = 0; i < f->r_count; i++) {
		struct route *r =
			&f->routes[(f->r_head + i) % f->cfg.max_routes];
		if (r->expires > now &&
		    memcmp(r->qid, qid, SG_FOAF_QID_LEN) == 0)
			return r;
	}
	return NULL;
}

static struct route *route_add(sg_foaf *f, const uint8_t *qid, uint64_t now)
{
	struct route *r;

	/* expired routes at the head go first */
	while (f->r_count > 0 && f->routes[f->r_head].expires <= now) {
		f->r_head = (f->r_head + 1) % f->cfg.max_routes;
		f->r_count--;
	}
	if (f->r_count == f->cfg.max_routes) {
		f->r_head = (f->r_head + 1) % f->cfg.max_routes;
		f->r_count--;
		f->st.routes_evicted++;
	}
	r = &f->routes[(f->r_head + f->r_count) % f->cfg.max_routes];
	f->r_count++;
	memset(r, 0, sizeof(*r));
	memcpy(r->qid, qid, SG_FOAF_QID_LEN);
	r->expires = now + f->cfg.route_ttl_ms;
	return r;
}

/* Takes one token from from's bucket; 0 when it has none. */
static int take_token(sg_foaf *f, const sg_peer_id *from, uint64_t now)
{
	struct bucket *b = NULL, *old = NULL;
	uint64_t cap = (uint64_t)f->cfg.burst * 1000;
	size_t i;

	for (i = 0; i < f->cfg.max_peers; i++) {
		struct bucket *x = &f->buckets[i];
		if (x->used && sg_peer_id_equal(&x->peer, from)) {
			b = x;
			break;
		}
		if (old == NULL || !x->used ||
		    (old->used && x->last < old->last))
			old = x;
	}
	if (b == NULL) {
		b = old;
		b->used = 1;
		b->peer = *from;
		b->milli = cap;
		b->last = now;
	}
	if (now > b->last) {
		b->milli += (now - b->last) * f->cfg.rate_per_s;
		if (b->milli > cap)
			b->milli = cap;
	}
	b->last = now;
	if (b->milli < 1000)
		return 0;
	b->milli -= 1000;
	return 1;
}

/* ---- encoding ----------------------------------------------------------- */

static long enc_query(uint8_t *out, size_t cap, const uint8_t *qid,
		      unsigned kind, const uint8_t *target, unsigned ttl)
{
	sg_cbor_enc e;

	sg_cbor_enc_init(&e, out, cap);
	sg_cbor_put_array(&e, 4);
	sg_cbor_put_bytes(&e, qid, SG_FOAF_QID_LEN);
	sg_cbor_put_uint(&e, kind);
	sg_cbor_put_bytes(&e, target, SG_FOAF_TARGET_LEN);
	sg_cbor_put_uint(&e, ttl);
	return sg_cbor_enc_finish(&e);
}

static long enc_answer(uint8_t *out, size_t cap, const uint8_t *qid,
		       unsigned kind, const uint8_t *target, unsigned hops,
		       const uint8_t *answer, size_t alen)
{
	sg_cbor_enc e;

	sg_cbor_enc_init(&e, out, cap);
	sg_cbor_put_array(&e, 5);
	sg_cbor_put_bytes(&e, qid, SG_FOAF_QID_LEN);
	sg_cbor_put_uint(&e, kind);
	sg_cbor_put_bytes(&e, target, SG_FOAF_TARGET_LEN);
	sg_cbor_put_uint(&e, hops);
	sg_cbor_put_bytes(&e, answer, alen);
	return sg_cbor_enc_finish(&e);
}

/* Sends a query to up to fanout random neighbours other than `not`. */
static size_t fan_out(sg_foaf *f, const uint8_t *qid, unsigned kind,
		      const uint8_t *target, unsigned ttl,
		      const sg_peer_id *nbrs, size_t n, const sg_peer_id *not)
{
	uint8_t buf[128];
	size_t idx[64], m = 0, i, sent = 0;
	long len = enc_query(buf, sizeof(buf), qid, kind, target, ttl);

	if (len < 0)
		return 0;
	for (i = 0; i < n && m < 64; i++)
		if (not == NULL || !sg_peer_id_equal(&nbrs[i], not))
			idx[m++] = i;
	while (m > 0 && sent < f->cfg.fanout) {
		uint32_t r = 0;
		size_t k;
		(void)sg_random(&f->env, (uint8_t *)&r, sizeof(r));
		k = r % m;
		push(f, &nbrs[idx[k]], SG_FOAF_KIND_QUERY, buf, (size_t)len);
		idx[k] = idx[--m];
		sent++;
	}
	return sent;
}

/* ---- API ------------------------------------------------------------------ */

int sg_foaf_query(sg_foaf *f, sg_foaf_kind kind,
		  const uint8_t target[SG_FOAF_TARGET_LEN], uint8_t ttl,
		  const sg_peer_id *nbrs, size_t n_nbrs, uint64_t now_ms,
		  uint8_t qid_out[SG_FOAF_QID_LEN])
{
	struct pending *p = NULL;
	struct route *r;
	uint8_t qid[SG_FOAF_QID_LEN];
	size_t i;
	int rc;

	if (ttl == 0)
		ttl = f->cfg.default_ttl;
	if (ttl > SG_FOAF_TTL_MAX || kind < SG_FOAF_PEER ||
	    kind > SG_FOAF_GROUP)
		return SG_ERR_RANGE;
	if (n_nbrs == 0)
		return SG_ERR_NOTFOUND;
	for (i = 0; i < f->cfg.max_pending && p == NULL; i++)
		if (!f->pend[i].used)
			p = &f->pend[i];
	if (p == NULL)
		return SG_ERR_FULL;
	if ((rc = sg_random(&f->env, qid, sizeof(qid))) != 0)
		return rc;
	p->used = 1;
	memcpy(p->qid, qid, sizeof(qid));
	p->kind = kind;
	memcpy(p->target, target, SG_FOAF_TARGET_LEN);
	p->deadline = now_ms + f->cfg.query_timeout_ms;
	r = route_add(f, qid, now_ms);
	r->own = 1;
	f->st.queries_started++;
	fan_out(f, qid, (unsigned)kind, target, ttl, nbrs, n_nbrs, NULL);
	if (qid_out != NULL)
		memcpy(qid_out, qid, sizeof(qid));
	return 0;
}

static int recv_query(sg_foaf *f, const sg_peer_id *from, sg_cbor_dec *d,
		      const sg_peer_id *nbrs, size_t n, uint64_t now)
{
	const uint8_t *qid, *target;
	uint64_t kind, ttl;
	uint8_t answer[SG_FOAF_ANSWER_MAX];
	struct route *r;
	size_t alen = 0;
	int rc;

	if ((rc = sg_cbor_get_bytes_len(d, &qid, SG_FOAF_QID_LEN)) != 0 ||
	    (rc = sg_cbor_get_uint(d, &kind)) != 0 ||
	    (rc = sg_cbor_get_bytes_len(d, &target, SG_FOAF_TARGET_LEN)) != 0 ||
	    (rc = sg_cbor_get_uint(d, &ttl)) != 0 ||
	    (rc = sg_cbor_dec_done(d)) != 0)
		return rc;
	if (kind < SG_FOAF_PEER || kind > SG_FOAF_GROUP || ttl == 0 ||
	    ttl > SG_FOAF_TTL_MAX)
		return SG_ERR_RANGE;
	if (route_find(f, qid, now) != NULL) {
		f->st.duplicates++;
		return SG_ERR_EXISTS;
	}
	if (!take_token(f, from, now)) {
		f->st.rate_limited++;
		return SG_ERR_AGAIN;
	}
	r = route_add(f, qid, now);
	r->prev = *from;
	if (f->lookup != NULL)
		alen = f->lookup(f->lookup_ud, (sg_foaf_kind)kind, target, from,
				 answer);
	if (alen > SG_FOAF_ANSWER_MAX)
		alen = 0;
	if (alen > 0) {
		uint8_t buf[SG_FOAF_ANSWER_MAX + 96];
		long len = enc_answer(buf, sizeof(buf), qid, (unsigned)kind,
				      target, 1, answer, alen);
		if (len > 0) {
			push(f, from, SG_FOAF_KIND_ANSWER, buf, (size_t)len);
			r->answered = 1;
			f->st.answers_sent++;
		}
		return 0;
	}
	if (ttl > 1 && fan_out(f, qid, (unsigned)kind, target,
			       (unsigned)ttl - 1, nbrs, n, from) > 0)
		f->st.queries_forwarded++;
	return 0;
}

static int recv_answer(sg_foaf *f, const sg_peer_id *from, sg_cbor_dec *d,
		       uint64_t now)
{
	const uint8_t *qid, *target, *answer;
	uint64_t kind, hops;
	size_t alen, i;
	struct route *r;
	int rc;
	(void)from;

	if ((rc = sg_cbor_get_bytes_len(d, &qid, SG_FOAF_QID_LEN)) != 0 ||
	    (rc = sg_cbor_get_uint(d, &kind)) != 0 ||
	    (rc = sg_cbor_get_bytes_len(d, &target, SG_FOAF_TARGET_LEN)) != 0 ||
	    (rc = sg_cbor_get_uint(d, &hops)) != 0 ||
	    (rc = sg_cbor_get_bytes(d, &answer, &alen)) != 0 ||
	    (rc = sg_cbor_dec_done(d)) != 0)
		return rc;
	if (kind < SG_FOAF_PEER || kind > SG_FOAF_GROUP || hops == 0 ||
	    hops > SG_FOAF_TTL_MAX || alen == 0 || alen > SG_FOAF_ANSWER_MAX)
		return SG_ERR_RANGE;
	r = route_find(f, qid, now);
	if (r == NULL || r->answered) {
		/* no query of that id went through here, or answered */
		f->st.no_route++;
		return SG_ERR_NOTFOUND;
	}
	r->answered = 1;
	if (r->own) {
		for (i = 0; i < f->cfg.max_pending; i++) {
			struct pending *p = &f->pend[i];
			sg_foaf_event ev;
			if (!p->used ||
			    memcmp(p->qid, qid, SG_FOAF_QID_LEN) != 0)
				continue;
			/* the answer must be about what we asked */
			if ((unsigned)p->kind != kind ||
			    memcmp(p->target, target, SG_FOAF_TARGET_LEN) != 0)
				return SG_ERR_MALFORMED;
			memset(&ev, 0, sizeof(ev));
			ev.type = SG_FOAF_FOUND;
			memcpy(ev.qid, qid, SG_FOAF_QID_LEN);
			ev.kind = p->kind;
			memcpy(ev.target, target, SG_FOAF_TARGET_LEN);
			memcpy(ev.answer, answer, alen);
			ev.answer_len = alen;
			ev.hops = (uint8_t)hops;
			emit(f, &ev);
			p->used = 0;
			f->st.answers_found++;
			return 0;
		}
		f->st.no_route++; /* timed out already */
		return SG_ERR_NOTFOUND;
	}
	if (hops >= SG_FOAF_TTL_MAX)
		return SG_ERR_RANGE;
	{
		uint8_t buf[SG_FOAF_ANSWER_MAX + 96];
		long len = enc_answer(buf, sizeof(buf), qid, (unsigned)kind,
				      target, (unsigned)hops + 1, answer, alen);
		if (len > 0) {
			push(f, &r->prev, SG_FOAF_KIND_ANSWER, buf,
			     (size_t)len);
			f->st.answers_relayed++;
		}
	}
	return 0;
}

int sg_foaf_recv(sg_foaf *f, const sg_peer_id *from, const uint8_t *body,
		 size_t len, const sg_peer_id *nbrs, size_t n_nbrs,
		 uint64_t now_ms)
{
	sg_cbor_limits lim;
	sg_cbor_dec d;
	size_t count;
	int rc;

	f->st.rx++;
	if (len < 2) {
		f->st.rx_malformed++;
		return SG_ERR_MALFORMED;
	}
	sg_cbor_limits_default(&lim);
	lim.max_depth = 1;
	lim.max_items = 6;
	rc = sg_cbor_validate(body + 1, len - 1, &lim);
	if (rc == 0) {
		sg_cbor_dec_init(&d, body + 1, len - 1);
		rc = sg_cbor_get_array(&d, &count);
	}
	if (rc == 0 && body[0] == SG_FOAF_KIND_QUERY && count == 4)
		rc = recv_query(f, from, &d, nbrs, n_nbrs, now_ms);
	else if (rc == 0 && body[0] == SG_FOAF_KIND_ANSWER && count == 5)
		rc = recv_answer(f, from, &d, now_ms);
	else if (rc == 0)
		rc = SG_ERR_MALFORMED;
	if (rc != 0 && rc != SG_ERR_EXISTS && rc != SG_ERR_AGAIN &&
	    rc != SG_ERR_NOTFOUND)
		f->st.rx_malformed++;
	return rc;
}

void sg_foaf_tick(sg_foaf *f, uint64_t now_ms)
{
	size_t i;

	for (i = 0; i < f->cfg.max_pending; i++) {
		struct pending *p = &f->pend[i];
		sg_foaf_event ev;
		if (!p->used || p->deadline > now_ms)
			continue;
		memset(&ev, 0, sizeof(ev));
		ev.type = SG_FOAF_TIMEOUT;
		memcpy(ev.qid, p->qid, SG_FOAF_QID_LEN);
		ev.kind = p->kind;
		memcpy(ev.target, p->target, SG_FOAF_TARGET_LEN);
		emit(f, &ev);
		p->used = 0;
		f->st.timeouts++;
	}
}

uint64_t sg_foaf_next_deadline(const sg_foaf *f)
{
	uint64_t d = UINT64_MAX;
	size_t i;

	for (i = 0; i < f->cfg.max_pending; i++)
		if (f->pend[i].used && f->pend[i].deadline < d)
			d = f->pend[i].deadline;
	return d;
}

void sg_foaf_stats_get(const sg_foaf *f, sg_foaf_stats *st)
{
	*st = f->st;
}
