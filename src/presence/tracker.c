/*
 * The presence tracker (include/sg/presence.h; docs/PROTOCOL.md,
 * "Presence beacons": processing). A sans-IO core: beacons, the
 * authenticated sender and the wall-clock time in; own beacons, ONLINE /
 * OFFLINE events and the list of who is online out. Every table is
 * bounded: one slot per roster member (at most SG_GROUP_MAX_MEMBERS),
 * max_senders rate buckets (least recently used replaced), max_events
 * events and max_tx own beacons (newest dropped), each drop counted.
 */
#include "sg/presence.h"
#include "sg/err.h"
#include "prs.h"

#include <sodium.h>
#include <string.h>

#define AEAD_TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
#define OLD_KEYSETS 2

void sg_presence_config_default(sg_presence_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->size = sizeof(*cfg);
	cfg->interval_ms = 300000;
	cfg->jitter_ms = 30000;
	cfg->validity_ms = 720000;
	cfg->slice_ms = 600000;
	cfg->max_validity_ms = 3600000;
	cfg->skew_ms = 300000;
	cfg->epoch_grace_ms = 600000;
	cfg->answer_delay_ms = 2000;
	cfg->answer_gap_ms = 30000;
	cfg->max_senders = 64;
	cfg->rate_burst = 128;
	cfg->rate_refill_ms = 250;
	cfg->max_events = 256;
	cfg->max_tx = 4;
}

/* One epoch's keys and the tags of the slices around now. */
typedef struct keyset {
	int valid;
	uint64_t epoch;
	uint64_t until_ms; /* old keysets: accepted until then */
	uint8_t presence[SG_GROUP_KEY_LEN], tag_key[SG_GROUP_KEY_LEN];
	int have_tags;
	uint64_t tags_slice;
	uint8_t tags[3][SG_PRESENCE_TAG_LEN]; /* slice - 1, slice, slice + 1 */
} keyset;

typedef struct slot {
	sg_peer_id id;
	int online, have_seq;
	uint64_t last_seq, last_seen_ms, issue_ms, expires_ms;
	sg_addr addrs[SG_PRESENCE_MAX_ADDRS];
	size_t naddrs;
} slot;

typedef struct bucket {
	sg_peer_id from;
	uint64_t credit_ms, last_ms;
} bucket;

struct sg_presence {
	const sg_env *env;
	sg_presence_config cfg;
	const sg_group *g;
	sg_peer_id self;
	int synced;
	uint8_t commit_id[SG_GROUP_COMMIT_ID_LEN];
	keyset cur, old[OLD_KEYSETS];
	slot *slots, *spare; /* SG_GROUP_MAX_MEMBERS each, sorted by id */
	size_t nslots;
	bucket *buckets;
	size_t nbuckets;
	sg_presence_event *events;
	size_t ev_head, ev_n;
	uint8_t *tx;    /* max_tx beacons of SG_PRESENCE_BEACON_MAX */
	size_t *tx_len;
	size_t tx_head, tx_n;
	uint8_t out[SG_PRESENCE_BEACON_MAX];   /* what poll_tx hands out */
	uint8_t scratch[SG_PRESENCE_BEACON_MAX]; /* decrypted inner */
	/* own beacons */
	const sg_identity *me;
	int started, hello;
	sg_addr addrs[SG_PRESENCE_MAX_ADDRS];
	size_t naddrs;
	uint64_t last_seq, next_beacon_ms, last_answer_ms;
	int answered;
	sg_presence_stats st;
};

/* ---- helpers ------------------------------------------------------------ */

static uint32_t rand32(const sg_presence *p)
{
	uint8_t b[4];
	if (sg_random(p->env, b, sizeof(b)) != 0)
		return 0;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

static void push_event(sg_presence *p, sg_presence_event_type type,
		       const sg_peer_id *member, uint64_t now_ms)
{
	sg_presence_event *ev;

	if (p->ev_n == p->cfg.max_events) {
		p->st.events_dropped++;
		return;
	}
	ev = &p->events[(p->ev_head + p->ev_n) % p->cfg.max_events];
	ev->type = type;
	ev->member = *member;
	ev->at_ms = now_ms;
	p->ev_n++;
}

static long find_slot(const slot *s, size_t n, const sg_peer_id *id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(s[mid].id.bytes, id->bytes, SG_PEER_ID_LEN);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static void keyset_from(keyset *k, const sg_group_keys *gk)
{
	memset(k, 0, sizeof(*k));
	k->valid = 1;
	k->epoch = gk->epoch;
	memcpy(k->presence, gk->presence_key, SG_GROUP_KEY_LEN);
	memcpy(k->tag_key, gk->tag_key, SG_GROUP_KEY_LEN);
}

static void keyset_tags(keyset *k, uint64_t slice)
{
	int i;

	if (k->have_tags && k->tags_slice == slice)
		return;
	for (i = 0; i < 3; i++)
		sg_presence_tag(k->tags[i], k->tag_key,
				slice + (uint64_t)i - 1);
	k->tags_slice = slice;
	k->have_tags = 1;
}

/* Keeps an outgoing keyset for the grace period, replacing the old one
 * that ends first. */
static void retire(sg_presence *p, const keyset *k, uint64_t until_ms)
{
	size_t i, j = 0;

	for (i = 1; i < OLD_KEYSETS; i++)
		if (!p->old[i].valid ||
		    (p->old[j].valid && p->old[i].until_ms < p->old[j].until_ms))
			j = i;
	if (!p->old[0].valid)
		j = 0;
	sg_wipe(&p->old[j], sizeof(p->old[j]));
	p->old[j] = *k;
	p->old[j].until_ms = until_ms;
}

/* Follows the group: on a new commit, new keys and roster. */
static void sync(sg_presence *p, uint64_t now_ms)
{
	const uint8_t *cid = sg_group_commit_id(p->g);
	sg_group_keys gk;
	size_t i, n, k = 0;
	slot *ns;

	if (p->synced && memcmp(cid, p->commit_id, SG_GROUP_COMMIT_ID_LEN) == 0)
		return;
	if (p->synced) {
		retire(p, &p->cur, now_ms + p->cfg.epoch_grace_ms);
	} else if (sg_group_keys_get(p->g, 1, &gk) == 0) {
		keyset prev;
		keyset_from(&prev, &gk);
		retire(p, &prev, now_ms + p->cfg.epoch_grace_ms);
		sg_wipe(&prev, sizeof(prev));
	}
	(void)sg_group_keys_get(p->g, 0, &gk);
	sg_wipe(&p->cur, sizeof(p->cur));
	keyset_from(&p->cur, &gk);
	sg_wipe(&gk, sizeof(gk));
	memcpy(p->commit_id, cid, SG_GROUP_COMMIT_ID_LEN);
	p->synced = 1;
	/* The roster: keep the slots of members that stayed. */
	ns = p->spare;
	n = sg_group_member_count(p->g);
	for (i = 0; i < n && k < SG_GROUP_MAX_MEMBERS; i++) {
		sg_peer_id id;
		long j;
		(void)sg_group_member(p->g, i, &id);
		j = find_slot(p->slots, p->nslots, &id);
		if (j >= 0) {
			ns[k] = p->slots[j];
			p->slots[j].online = 0; /* carried over: no OFFLINE */
		} else {
			memset(&ns[k], 0, sizeof(ns[k]));
			ns[k].id = id;
		}
		k++;
	}
	/* Members that left the roster. */
	for (i = 0; i < p->nslots; i++)
		if (p->slots[i].online)
			push_event(p, SG_PRESENCE_OFFLINE, &p->slots[i].id,
				   now_ms);
	p->spare = p->slots;
	p->slots = ns;
	p->nslots = k;
}

static void expire(sg_presence *p, uint64_t now_ms)
{
	size_t i;

	for (i = 0; i < p->nslots; i++) {
		slot *s = &p->slots[i];
		if (s->online && now_ms > s->expires_ms) {
			s->online = 0;
			push_event(p, SG_PRESENCE_OFFLINE, &s->id, now_ms);
		}
	}
}

/* Token bucket per authenticated sender; 1 if the beacon may pass. */
static int rate_ok(sg_presence *p, const sg_peer_id *from, uint64_t now_ms)
{
	uint64_t cap = (uint64_t)p->cfg.rate_burst * p->cfg.rate_refill_ms;
	size_t i, lru = 0;
	bucket *b = NULL;

	for (i = 0; i < p->nbuckets; i++) {
		if (sg_peer_id_equal(&p->buckets[i].from, from)) {
			b = &p->buckets[i];
			break;
		}
		if (p->buckets[i].last_ms < p->buckets[lru].last_ms)
			lru = i;
	}
	if (b == NULL) {
		if (p->nbuckets < p->cfg.max_senders) {
			b = &p->buckets[p->nbuckets++];
		} else {
			b = &p->buckets[lru];
			p->st.senders_evicted++;
		}
		b->from = *from;
		b->credit_ms = cap;
		b->last_ms = now_ms;
	}
	if (now_ms > b->last_ms) {
		uint64_t add = now_ms - b->last_ms;
		b->credit_ms = add >= cap - b->credit_ms ? cap : b->credit_ms + add;
	}
	b->last_ms = now_ms > b->last_ms ? now_ms : b->last_ms;
	if (b->credit_ms < p->cfg.rate_refill_ms)
		return 0;
	b->credit_ms -= p->cfg.rate_refill_ms;
	return 1;
}

/* ---- life cycle ----------------------------------------------------------- */

sg_presence *sg_presence_new(const sg_env *env, const sg_presence_config *cfg,
			     const sg_group *g, const sg_peer_id *self)
{
	sg_presence_config def;
	sg_presence *p;

	if (cfg == NULL) {
		sg_presence_config_default(&def);
		cfg = &def;
	}
	if (cfg->size != sizeof(*cfg) || cfg->interval_ms == 0 ||
	    cfg->slice_ms == 0 || cfg->rate_refill_ms == 0 ||
	    cfg->validity_ms > cfg->max_validity_ms ||
	    cfg->jitter_ms >= cfg->interval_ms || cfg->max_senders == 0 ||
	    cfg->rate_burst == 0 || cfg->max_events == 0 || cfg->max_tx == 0 ||
	    cfg->max_tx > 64 || cfg->max_senders > 65536 ||
	    cfg->max_events > 65536)
		return NULL;
	p = sg_calloc(env, 1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->env = env;
	p->cfg = *cfg;
	p->g = g;
	p->self = *self;
	p->slots = sg_calloc(env, SG_GROUP_MAX_MEMBERS, sizeof(slot));
	p->spare = sg_calloc(env, SG_GROUP_MAX_MEMBERS, sizeof(slot));
	p->buckets = sg_calloc(env, cfg->max_senders, sizeof(bucket));
	p->events = sg_calloc(env, cfg->max_events, sizeof(sg_presence_event));
	p->tx = sg_calloc(env, cfg->max_tx, SG_PRESENCE_BEACON_MAX);
	p->tx_len = sg_calloc(env, cfg->max_tx, sizeof(size_t));
	if (p->slots == NULL || p->spare == NULL || p->buckets == NULL ||
	    p->events == NULL || p->tx == NULL || p->tx_len == NULL) {
		sg_presence_del(p);
		return NULL;
	}
	return p;
}

void sg_presence_del(sg_presence *p)
{
	const sg_env *env;

	if (p == NULL)
		return;
	env = p->env;
	sg_free(env, p->slots);
	sg_free(env, p->spare);
	sg_free(env, p->buckets);
	sg_free(env, p->events);
	sg_free(env, p->tx);
	sg_free(env, p->tx_len);
	sg_wipe(p, sizeof(*p)); /* keys and the last decrypted beacon */
	sg_free(env, p);
}

/* ---- receiving ------------------------------------------------------------ */

static void maybe_answer(sg_presence *p, uint64_t now_ms)
{
	uint64_t at;

	if (!p->started || p->cfg.answer_gap_ms == 0 ||
	    (p->answered && now_ms < p->last_answer_ms + p->cfg.answer_gap_ms))
		return;
	at = now_ms + rand32(p) % ((uint64_t)p->cfg.answer_delay_ms + 1);
	if (at < p->next_beacon_ms)
		p->next_beacon_ms = at;
	p->answered = 1;
	p->last_answer_ms = now_ms;
	p->st.answers++;
}

int sg_presence_recv(sg_presence *p, const uint8_t *beacon, size_t len,
		     const sg_peer_id *from, uint64_t now_ms)
{
	uint8_t ad[1 + SG_PRESENCE_TAG_LEN];
	const uint8_t *tagp, *nonce, *body, *sig, *ct, *pk;
	unsigned long long plen;
	keyset *ks[1 + OLD_KEYSETS], *k = NULL;
	uint64_t slice = now_ms / p->cfg.slice_ms, bslice = 0;
	size_t nks = 0, i, ct_len, body_len;
	sg_beacon b;
	slot *s;
	long j;
	int rc, t;

	p->st.received++;
	if (!rate_ok(p, from, now_ms)) {
		p->st.rate_limited++;
		return SG_ERR_AGAIN;
	}
	sync(p, now_ms);
	if ((rc = prs_envelope(beacon, len, &tagp, &nonce, &ct, &ct_len)) != 0) {
		p->st.malformed++;
		return rc;
	}
	/* Which of our keys made this tag? */
	ks[nks++] = &p->cur;
	for (i = 0; i < OLD_KEYSETS; i++)
		if (p->old[i].valid && now_ms <= p->old[i].until_ms)
			ks[nks++] = &p->old[i];
	for (i = 0; i < nks && k == NULL; i++) {
		keyset_tags(ks[i], slice);
		for (t = 0; t < 3; t++) {
			if (slice == 0 && t == 0)
				continue;
			if (sg_ct_memcmp(tagp, ks[i]->tags[t],
					 SG_PRESENCE_TAG_LEN) == 0) {
				k = ks[i];
				bslice = slice + (uint64_t)t - 1;
				break;
			}
		}
	}
	if (k == NULL) {
		p->st.unknown_tag++;
		return SG_ERR_NOTFOUND;
	}
	ad[0] = SG_PRESENCE_VERSION;
	memcpy(ad + 1, tagp, SG_PRESENCE_TAG_LEN);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    p->scratch, &plen, NULL, ct, ct_len, ad, sizeof(ad), nonce,
		    k->presence) != 0) {
		p->st.bad_aead++;
		return SG_ERR_VERIFY;
	}
	if ((rc = sg_presence_inner_decode(&b, &body, &body_len, &sig,
					   p->scratch, (size_t)plen)) != 0) {
		p->st.malformed++;
		return rc;
	}
	/* The signed contents must match the envelope that carried them. */
	if (memcmp(b.group_id, sg_group_id(p->g), SG_GROUP_ID_LEN) != 0 ||
	    b.epoch != k->epoch || b.issue_ms / p->cfg.slice_ms != bslice) {
		p->st.wrong_group++;
		return SG_ERR_VERIFY;
	}
	if (sg_peer_id_equal(&b.member, &p->self)) {
		p->st.own++;
		return SG_ERR_EXISTS;
	}
	j = find_slot(p->slots, p->nslots, &b.member);
	pk = sg_group_member_pk(p->g, &b.member);
	if (j < 0 || pk == NULL) {
		p->st.not_member++;
		return SG_ERR_PERM;
	}
	s = &p->slots[j];
	if (b.expires_ms - b.issue_ms > p->cfg.max_validity_ms) {
		p->st.malformed++;
		return SG_ERR_RANGE;
	}
	if (b.issue_ms > now_ms + p->cfg.skew_ms ||
	    (b.expires_ms == b.issue_ms
		     ? now_ms > b.issue_ms + p->cfg.skew_ms
		     : now_ms > b.expires_ms)) {
		p->st.expired++;
		return SG_ERR_EXPIRED;
	}
	if (s->have_seq && b.seq <= s->last_seq) {
		p->st.replayed++;
		return SG_ERR_REPLAY;
	}
	rc = p->cfg.verify != NULL
		     ? p->cfg.verify(p->cfg.verify_ud, sig, body, body_len, pk)
		     : sg_mldsa65_verify(
			       sig, SG_MLDSA65_SIG_LEN, body, body_len,
			       (const uint8_t *)SG_SIGCTX_PRESENCE_BEACON,
			       sizeof(SG_SIGCTX_PRESENCE_BEACON) - 1, pk);
	if (rc != 0) {
		p->st.bad_sig++;
		return SG_ERR_VERIFY;
	}
	/* Accepted: only now does anything change. */
	p->st.accepted++;
	s->have_seq = 1;
	s->last_seq = b.seq;
	if (b.expires_ms == b.issue_ms) {
		p->st.goodbyes++;
		if (s->online) {
			s->online = 0;
			push_event(p, SG_PRESENCE_OFFLINE, &s->id, now_ms);
		}
		return 0;
	}
	if (!s->online)
		push_event(p, SG_PRESENCE_ONLINE, &s->id, now_ms);
	s->online = 1;
	s->last_seen_ms = now_ms;
	s->issue_ms = b.issue_ms;
	s->expires_ms = b.expires_ms;
	memcpy(s->addrs, b.addrs, sizeof(s->addrs));
	s->naddrs = b.naddrs;
	if (b.flags & SG_PRESENCE_HELLO)
		maybe_answer(p, now_ms);
	return 0;
}

/* ---- own beacons ------------------------------------------------------------ */

static int emit(sg_presence *p, uint64_t now_ms, int goodbye)
{
	sg_presence_config c = p->cfg;
	uint8_t *slotp;
	uint32_t flags = 0;
	uint64_t seq;
	long n;

	if (p->tx_n == p->cfg.max_tx) {
		p->st.tx_dropped++;
		return SG_ERR_FULL;
	}
	seq = p->last_seq + 1 > now_ms ? p->last_seq + 1 : now_ms;
	if (goodbye)
		c.validity_ms = 0;
	else if (p->hello)
		flags = SG_PRESENCE_HELLO;
	slotp = p->tx + ((p->tx_head + p->tx_n) % p->cfg.max_tx) *
				SG_PRESENCE_BEACON_MAX;
	n = sg_presence_beacon_make(slotp, SG_PRESENCE_BEACON_MAX, p->g, p->me,
				    p->addrs, p->naddrs, seq, now_ms, flags, &c,
				    p->env);
	if (n < 0) {
		p->st.tx_dropped++;
		return (int)n;
	}
	p->tx_len[(p->tx_head + p->tx_n) % p->cfg.max_tx] = (size_t)n;
	p->tx_n++;
	p->last_seq = seq;
	p->hello = 0;
	p->st.beacons_sent++;
	return 0;
}

int sg_presence_start(sg_presence *p, const sg_identity *me,
		      const sg_addr *addrs, size_t naddrs, uint64_t now_ms)
{
	if (!sg_peer_id_equal(&me->id, &p->self) ||
	    naddrs > SG_PRESENCE_MAX_ADDRS || (naddrs > 0 && addrs == NULL))
		return SG_ERR_INVAL;
	sync(p, now_ms);
	if (!sg_group_is_member(p->g, &me->id))
		return SG_ERR_PERM;
	p->me = me;
	memset(p->addrs, 0, sizeof(p->addrs));
	if (naddrs > 0)
		memcpy(p->addrs, addrs, naddrs * sizeof(*addrs));
	p->naddrs = naddrs;
	if (!p->started) {
		p->started = 1;
		p->hello = 1;
		p->next_beacon_ms = now_ms;
	}
	return 0;
}

int sg_presence_stop(sg_presence *p, uint64_t now_ms)
{
	int rc;

	if (!p->started)
		return SG_ERR_STATE;
	sync(p, now_ms);
	rc = emit(p, now_ms, 1);
	p->started = 0;
	p->me = NULL;
	return rc;
}

void sg_presence_tick(sg_presence *p, uint64_t now_ms)
{
	sync(p, now_ms);
	expire(p, now_ms);
	if (p->started && now_ms >= p->next_beacon_ms) {
		uint64_t jit = p->cfg.jitter_ms
				       ? rand32(p) % ((uint64_t)p->cfg.jitter_ms + 1)
				       : 0;
		(void)emit(p, now_ms, 0);
		p->next_beacon_ms = now_ms + p->cfg.interval_ms - jit;
	}
}

uint64_t sg_presence_next_deadline(const sg_presence *p)
{
	uint64_t t = p->started ? p->next_beacon_ms : UINT64_MAX;
	size_t i;

	for (i = 0; i < p->nslots; i++)
		if (p->slots[i].online && p->slots[i].expires_ms < t &&
		    p->slots[i].expires_ms < UINT64_MAX - 1)
			t = p->slots[i].expires_ms + 1;
	return t;
}

size_t sg_presence_poll_tx(sg_presence *p, const uint8_t **beacon)
{
	size_t n;

	if (p->tx_n == 0)
		return 0;
	n = p->tx_len[p->tx_head];
	memcpy(p->out, p->tx + p->tx_head * SG_PRESENCE_BEACON_MAX, n);
	p->tx_head = (p->tx_head + 1) % p->cfg.max_tx;
	p->tx_n--;
	*beacon = p->out;
	return n;
}

int sg_presence_poll_event(sg_presence *p, sg_presence_event *ev)
{
	if (p->ev_n == 0)
		return 0;
	*ev = p->events[p->ev_head];
	p->ev_head = (p->ev_head + 1) % p->cfg.max_events;
	p->ev_n--;
	return 1;
}

/* ---- queries ------------------------------------------------------------- */

size_t sg_presence_online(sg_presence *p, uint64_t now_ms,
			  sg_presence_entry *out, size_t cap)
{
	size_t i, c = 0;

	sync(p, now_ms);
	expire(p, now_ms);
	for (i = 0; i < p->nslots; i++) {
		const slot *s = &p->slots[i];
		if (!s->online)
			continue;
		if (c < cap && out != NULL) {
			sg_presence_entry *e = &out[c];
			e->member = s->id;
			e->last_seen_ms = s->last_seen_ms;
			e->issue_ms = s->issue_ms;
			e->expires_ms = s->expires_ms;
			e->seq = s->last_seq;
			memcpy(e->addrs, s->addrs, sizeof(e->addrs));
			e->naddrs = s->naddrs;
		}
		c++;
	}
	return c;
}

int sg_presence_is_online(const sg_presence *p, const sg_peer_id *member,
			  uint64_t now_ms)
{
	long j = find_slot(p->slots, p->nslots, member);
	return j >= 0 && p->slots[j].online && now_ms <= p->slots[j].expires_ms;
}

void sg_presence_stats_get(const sg_presence *p, sg_presence_stats *st)
{
	size_t i;

	*st = p->st;
	st->online = 0;
	for (i = 0; i < p->nslots; i++)
		if (p->slots[i].online)
			st->online++;
	st->members = p->nslots;
}
