/*
 * The node's groups and presence: see gman.h. Each group slot holds the
 * group, its presence tracker, the commits that came too early (kept and
 * retried after every commit we apply), the removals we owe after leave
 * notices, and our own latest commit (re-published when a concurrent one
 * loses to it, so its proposer converges sooner).
 */
#include "gman.h"

#include "sg/blake3.h"
#include "sg/cbor.h"
#include "sg/err.h"

#include <sodium.h>
#include <string.h>

#define MAX_REMOVALS 8

struct deferred {
	uint8_t *buf;
	size_t len;
};

struct removal {
	sg_peer_id leaver;
	uint64_t due_ms;
};

struct slot {
	sg_group *g;
	sg_presence *p;
	sg_topic_id topic;
	int presence_on;
	int leaving;
	uint64_t gone_ms;	  /* leaving: GONE at this time */
	uint64_t last_commit_ms;  /* an epoch started (or a sibling seen) */
	struct deferred *def;	  /* max_deferred, oldest first */
	size_t ndef;
	struct removal rem[MAX_REMOVALS];
	size_t nrem;
	uint8_t *own_commit;	  /* our commit of the current epoch */
	size_t own_commit_len;
	uint64_t own_commit_epoch;
	uint64_t last_rebroadcast_ms;
};

#define INVITE_BACKOFF_MS 200

/* An invite waiting for the epoch that adds its member to settle. */
struct pinvite {
	int used;
	uint64_t ticket;
	uint8_t group_id[SG_GROUP_ID_LEN];
	uint8_t card[SG_GROUP_CARD_LEN];
	sg_peer_id who;
	uint64_t valid_ms, give_up_ms;
	uint64_t not_before; /* after a full queue or no memory */
};

struct txq {
	sg_topic_id topic;
	uint8_t *buf; /* class byte + object */
	size_t len;
};

struct evq {
	sg_gman_event ev;
	uint8_t *data;
};

struct sg_gman {
	sg_env env;
	sg_gman_config cfg;
	const sg_identity *me;
	sg_addr addrs[SG_PRESENCE_MAX_ADDRS];
	size_t naddrs;
	struct slot *slots;
	size_t n;
	struct txq *tx;
	size_t tx_head, tx_n;
	uint8_t *tx_out; /* the one poll_tx handed out */
	struct evq *ev;
	size_t ev_head, ev_n;
	uint8_t *ev_out;
	size_t ev_out_len;
	struct pinvite *inv; /* max_invites */
	uint64_t next_ticket;
	sg_gman_stats st;
};

void sg_gman_config_default(sg_gman_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->size = sizeof(*cfg);
	cfg->max_groups = 32;
	cfg->max_deferred = 8;
	cfg->max_tx = 64;
	cfg->max_events = 256;
	cfg->settle_ms = 2000;
	cfg->removal_delay_ms = 3000;
	cfg->leave_grace_ms = 3000;
	cfg->max_invites = 8;
	cfg->invite_wait_ms = 30000;
	sg_presence_config_default(&cfg->presence);
}

/* ---- queues -------------------------------------------------------------- */

/* Queues data as an event (copied). Drops and counts when full. */
static void push_event(sg_gman *m, sg_gman_event_type type, const struct slot *s,
		       const sg_peer_id *peer, uint64_t epoch,
		       const uint8_t *data, size_t len)
{
	struct evq *q;

	if (m->ev_n == m->cfg.max_events) {
		m->st.events_dropped++;
		return;
	}
	q = &m->ev[(m->ev_head + m->ev_n) % m->cfg.max_events];
	memset(q, 0, sizeof(*q));
	q->ev.type = type;
	if (s != NULL) {
		memcpy(q->ev.group_id, sg_group_id(s->g), SG_GROUP_ID_LEN);
		q->ev.topic = s->topic;
	}
	if (peer != NULL)
		q->ev.peer = *peer;
	q->ev.epoch = epoch;
	if (len > 0) {
		q->data = sg_alloc(&m->env, len);
		if (q->data == NULL) {
			m->st.events_dropped++;
			return;
		}
		memcpy(q->data, data, len);
		q->ev.len = len;
	}
	m->ev_n++;
}

static int push_tx(sg_gman *m, const struct slot *s, uint8_t cls,
		   const uint8_t *obj, size_t len)
{
	struct txq *q;
	uint8_t *buf;

	if (m->tx_n == m->cfg.max_tx) {
		m->st.tx_dropped++;
		return SG_ERR_FULL;
	}
	buf = sg_alloc(&m->env, len + 1);
	if (buf == NULL)
		return SG_ERR_NOMEM;
	buf[0] = cls;
	memcpy(buf + 1, obj, len);
	q = &m->tx[(m->tx_head + m->tx_n) % m->cfg.max_tx];
	q->topic = s->topic;
	q->buf = buf;
	q->len = len + 1;
	m->tx_n++;
	return 0;
}

/* Moves the tracker's own beacons and events into the manager's queues. */
static void drain_presence(sg_gman *m, struct slot *s)
{
	const uint8_t *b;
	size_t len;
	sg_presence_event pe;

	while ((len = sg_presence_poll_tx(s->p, &b)) > 0)
		if (push_tx(m, s, SG_GMAN_CLASS_BEACON, b, len) == 0)
			m->st.beacons++;
	while (sg_presence_poll_event(s->p, &pe))
		push_event(m,
			   pe.type == SG_PRESENCE_ONLINE ? SG_GMAN_EV_ONLINE
							 : SG_GMAN_EV_OFFLINE,
			   s, &pe.member, sg_group_epoch(s->g), NULL, 0);
}

/* ---- slots --------------------------------------------------------------- */

static void slot_clear(sg_gman *m, struct slot *s)
{
	size_t i;

	sg_presence_del(s->p);
	sg_group_del(s->g);
	for (i = 0; i < s->ndef; i++)
		sg_free(&m->env, s->def[i].buf);
	sg_free(&m->env, s->def);
	sg_free(&m->env, s->own_commit);
	memset(s, 0, sizeof(*s));
}

/* Takes g (freed on failure) into a new slot. */
static int slot_add(sg_gman *m, sg_group *g, uint64_t now_ms, size_t *idx)
{
	struct slot *s;

	if (m->n == m->cfg.max_groups) {
		sg_group_del(g);
		return SG_ERR_FULL;
	}
	s = &m->slots[m->n];
	memset(s, 0, sizeof(*s));
	s->g = g;
	sg_group_topic(g, &s->topic);
	s->p = sg_presence_new(&m->env, &m->cfg.presence, g, &m->me->id);
	s->def = sg_calloc(&m->env, m->cfg.max_deferred, sizeof(*s->def));
	if (s->p == NULL || s->def == NULL) {
		slot_clear(m, s);
		return SG_ERR_NOMEM;
	}
	s->last_commit_ms = now_ms;
	if (idx != NULL)
		*idx = m->n;
	m->n++;
	push_event(m, SG_GMAN_EV_SUBSCRIBE, s, NULL, sg_group_epoch(g), NULL, 0);
	return 0;
}

static void slot_remove(sg_gman *m, size_t i)
{
	slot_clear(m, &m->slots[i]);
	if (i + 1 < m->n)
		memmove(&m->slots[i], &m->slots[i + 1],
			(m->n - i - 1) * sizeof(struct slot));
	m->n--;
	memset(&m->slots[m->n], 0, sizeof(struct slot));
}

static void save(sg_gman *m, const struct slot *s)
{
	push_event(m, SG_GMAN_EV_SAVE, s, NULL, sg_group_epoch(s->g), NULL, 0);
}

/* Publishes a commit we made and remembers it as our current one. */
static int publish_own_commit(sg_gman *m, struct slot *s, const uint8_t *c,
			      size_t len, uint64_t now_ms)
{
	uint8_t *copy = sg_alloc(&m->env, len);
	int rc;

	if (copy != NULL) {
		memcpy(copy, c, len);
		sg_free(&m->env, s->own_commit);
		s->own_commit = copy;
		s->own_commit_len = len;
		s->own_commit_epoch = sg_group_epoch(s->g);
	}
	s->last_commit_ms = now_ms;
	m->st.commits_proposed++;
	rc = push_tx(m, s, SG_GMAN_CLASS_GROUP, c, len);
	save(m, s);
	return rc;
}

/* ---- lifecycle ------------------------------------------------------------- */

sg_gman *sg_gman_new(const sg_env *env, const sg_gman_config *cfg,
		     const sg_identity *me, const sg_addr *addrs,
		     size_t naddrs)
{
	sg_gman *m;
	sg_gman_config def;

	if (cfg == NULL) {
		sg_gman_config_default(&def);
		cfg = &def;
	}
	if (cfg->size != sizeof(*cfg) || cfg->max_groups == 0 ||
	    cfg->max_groups > 1024 || cfg->max_deferred == 0 ||
	    cfg->max_deferred > 256 || cfg->max_tx == 0 ||
	    cfg->max_tx > 65536 || cfg->max_events == 0 ||
	    cfg->max_events > 65536 || cfg->max_invites == 0 ||
	    cfg->max_invites > 256 || naddrs > SG_PRESENCE_MAX_ADDRS)
		return NULL;
	m = sg_calloc(env, 1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->env = *env;
	m->cfg = *cfg;
	m->me = me;
	if (naddrs > 0)
		memcpy(m->addrs, addrs, naddrs * sizeof(*addrs));
	m->naddrs = naddrs;
	m->slots = sg_calloc(env, cfg->max_groups, sizeof(*m->slots));
	m->tx = sg_calloc(env, cfg->max_tx, sizeof(*m->tx));
	m->ev = sg_calloc(env, cfg->max_events, sizeof(*m->ev));
	m->inv = sg_calloc(env, cfg->max_invites, sizeof(*m->inv));
	if (m->slots == NULL || m->tx == NULL || m->ev == NULL ||
	    m->inv == NULL) {
		sg_gman_del(m);
		return NULL;
	}
	{
		/* the tracker checks its own configuration: try it once */
		sg_presence *p;
		sg_group *g;
		if (sg_group_create(&g, env, me, "x", 1) != 0) {
			sg_gman_del(m);
			return NULL;
		}
		p = sg_presence_new(env, &cfg->presence, g, &me->id);
		sg_presence_del(p);
		sg_group_del(g);
		if (p == NULL) {
			sg_gman_del(m);
			return NULL;
		}
	}
	return m;
}

void sg_gman_del(sg_gman *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++)
		slot_clear(m, &m->slots[i]);
	if (m->tx != NULL)
		for (i = 0; i < m->tx_n; i++)
			sg_free(&m->env,
				m->tx[(m->tx_head + i) % m->cfg.max_tx].buf);
	if (m->ev != NULL)
		for (i = 0; i < m->ev_n; i++) {
			struct evq *q =
			    &m->ev[(m->ev_head + i) % m->cfg.max_events];
			if (q->data != NULL) /* plaintexts, invites */
				sg_wipe(q->data, q->ev.len);
			sg_free(&m->env, q->data);
		}
	sg_free(&m->env, m->tx_out);
	if (m->ev_out != NULL)
		sg_wipe(m->ev_out, m->ev_out_len);
	sg_free(&m->env, m->ev_out);
	sg_free(&m->env, m->slots);
	sg_free(&m->env, m->tx);
	sg_free(&m->env, m->ev);
	sg_free(&m->env, m->inv);
	sg_free(&m->env, m);
}

/* ---- lookups -------------------------------------------------------------- */

size_t sg_gman_count(const sg_gman *m) { return m->n; }

const sg_group *sg_gman_group(const sg_gman *m, size_t i)
{
	return i < m->n ? m->slots[i].g : NULL;
}

int sg_gman_presence_on(const sg_gman *m, size_t i)
{
	return i < m->n && m->slots[i].presence_on;
}

static int is_hex(const char *s, size_t len)
{
	size_t i;
	for (i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		      (c >= 'A' && c <= 'F')))
			return 0;
	}
	return 1;
}

int sg_gman_find(const sg_gman *m, const char *sel, size_t len, size_t *idx)
{
	size_t i, hits = 0, hit = 0;
	char hex[2 * SG_GROUP_ID_LEN + 1];

	if (len == 0)
		return SG_ERR_NOTFOUND;
	/* a name matches first: names are what people type */
	for (i = 0; i < m->n; i++) {
		size_t nl;
		const char *name = sg_group_name(m->slots[i].g, &nl);
		if (nl == len && memcmp(name, sel, len) == 0) {
			hits++;
			hit = i;
		}
	}
	if (hits == 0 && len >= 8 && len <= 2 * SG_GROUP_ID_LEN &&
	    is_hex(sel, len)) {
		for (i = 0; i < m->n; i++) {
			size_t k;
			sg_hex_encode(hex, sizeof(hex), sg_group_id(m->slots[i].g),
				      SG_GROUP_ID_LEN);
			for (k = 0; k < len; k++)
				if ((sel[k] | 0x20) != hex[k])
					break;
			if (k == len) {
				hits++;
				hit = i;
			}
		}
	}
	if (hits == 0)
		return SG_ERR_NOTFOUND;
	if (hits > 1)
		return SG_ERR_EXISTS;
	*idx = hit;
	return 0;
}

int sg_gman_by_topic(const sg_gman *m, const sg_topic_id *topic, size_t *idx)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (memcmp(m->slots[i].topic.bytes, topic->bytes,
			   SG_TOPIC_ID_LEN) == 0) {
			*idx = i;
			return 0;
		}
	return SG_ERR_NOTFOUND;
}

static int by_id(const sg_gman *m, const uint8_t *gid, size_t *idx)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (memcmp(sg_group_id(m->slots[i].g), gid, SG_GROUP_ID_LEN) ==
		    0) {
			*idx = i;
			return 0;
		}
	return SG_ERR_NOTFOUND;
}

/* ---- files ---------------------------------------------------------------- */

size_t sg_gman_export_bound(const sg_gman *m, const uint8_t *group_id)
{
	size_t i;

	if (by_id(m, group_id, &i) != 0)
		return 0;
	return sg_group_export_bound(m->slots[i].g) + 32;
}

long sg_gman_export(const sg_gman *m, const uint8_t *group_id, uint8_t *out,
		    size_t cap)
{
	size_t i, bound;
	uint8_t *st;
	long len;
	sg_cbor_enc e;

	if (by_id(m, group_id, &i) != 0)
		return SG_ERR_NOTFOUND;
	bound = sg_group_export_bound(m->slots[i].g);
	st = sg_alloc(&m->env, bound);
	if (st == NULL)
		return SG_ERR_NOMEM;
	len = sg_group_export(m->slots[i].g, st, bound);
	if (len >= 0) {
		sg_cbor_enc_init(&e, out, cap);
		sg_cbor_put_array(&e, 3);
		sg_cbor_put_uint(&e, SG_GMAN_FILE_VERSION);
		sg_cbor_put_uint(&e, m->slots[i].presence_on
					     ? SG_GMAN_FILE_PRESENCE
					     : 0);
		sg_cbor_put_bytes(&e, st, (size_t)len);
		len = sg_cbor_enc_finish(&e);
	}
	sg_wipe(st, bound);
	sg_free(&m->env, st);
	return len;
}

int sg_gman_load(sg_gman *m, const uint8_t *file, size_t len, uint64_t now_ms)
{
	sg_cbor_dec d;
	size_t n, idx;
	uint64_t ver, flags;
	const uint8_t *st;
	size_t st_len;
	sg_group *g;
	int rc;

	sg_cbor_dec_init(&d, file, len);
	if ((rc = sg_cbor_get_array(&d, &n)) != 0)
		return rc;
	if (n != 3)
		return SG_ERR_MALFORMED;
	if ((rc = sg_cbor_get_uint(&d, &ver)) != 0)
		return rc;
	if (ver != SG_GMAN_FILE_VERSION)
		return SG_ERR_UNSUPPORTED;
	if ((rc = sg_cbor_get_uint(&d, &flags)) != 0 ||
	    (rc = sg_cbor_get_bytes(&d, &st, &st_len)) != 0)
		return rc;
	if ((rc = sg_cbor_dec_done(&d)) != 0)
		return rc;
	if ((flags & ~(uint64_t)SG_GMAN_FILE_PRESENCE) != 0)
		return SG_ERR_MALFORMED;
	if ((rc = sg_group_import(&g, &m->env, &m->me->id, st, st_len)) != 0)
		return rc;
	if (by_id(m, sg_group_id(g), &idx) == 0) {
		sg_group_del(g);
		return SG_ERR_EXISTS;
	}
	if (sg_group_has_left(g)) {
		sg_group_del(g);
		return SG_ERR_STATE;
	}
	if ((rc = slot_add(m, g, now_ms, &idx)) != 0)
		return rc;
	if (flags & SG_GMAN_FILE_PRESENCE)
		(void)sg_gman_presence_start(m, idx, now_ms);
	return 0;
}

/* ---- operations ------------------------------------------------------------ */

/* The group at idx, unless it is gone (SG_ERR_NOTFOUND) or leaving
 * (SG_ERR_STATE): what every operation on a group starts with. */
static int live_slot(sg_gman *m, size_t idx, struct slot **s)
{
	if (idx >= m->n)
		return SG_ERR_NOTFOUND;
	*s = &m->slots[idx];
	return (*s)->leaving ? SG_ERR_STATE : 0;
}

int sg_gman_create(sg_gman *m, const char *name, size_t len, uint64_t now_ms,
		   size_t *idx)
{
	size_t i;
	sg_group *g;
	int rc;

	for (i = 0; i < m->n; i++) {
		size_t nl;
		const char *gn = sg_group_name(m->slots[i].g, &nl);
		if (nl == len && memcmp(gn, name, len) == 0)
			return SG_ERR_EXISTS;
	}
	if (m->n == m->cfg.max_groups)
		return SG_ERR_FULL;
	if ((rc = sg_group_create(&g, &m->env, m->me, name, len)) != 0)
		return rc;
	if ((rc = slot_add(m, g, now_ms, &i)) != 0)
		return rc;
	save(m, &m->slots[i]);
	if (idx != NULL)
		*idx = i;
	return 0;
}

/* Proposes adding the member of this card with a commit of ours. */
static int propose_add(sg_gman *m, struct slot *s, const uint8_t *card,
		       size_t card_len, uint64_t now_ms)
{
	size_t bound = sg_group_commit_bound(s->g, 1);
	uint8_t *c;
	long clen;

	if (m->tx_n == m->cfg.max_tx)
		return SG_ERR_FULL;
	c = sg_alloc(&m->env, bound);
	if (c == NULL)
		return SG_ERR_NOMEM;
	clen = sg_group_add_member(s->g, c, bound, m->me, card, card_len);
	if (clen >= 0)
		(void)publish_own_commit(m, s, c, (size_t)clen, now_ms);
	sg_free(&m->env, c);
	if (clen < 0)
		return (int)clen;
	drain_presence(m, s); /* the tracker follows the new epoch */
	return 0;
}

int sg_gman_invite(sg_gman *m, size_t idx, const uint8_t *card,
		   size_t card_len, uint64_t now_ms, uint64_t valid_ms,
		   uint64_t *ticket)
{
	struct pinvite *p = NULL;
	struct slot *s;
	sg_peer_id who;
	size_t i;
	int rc;

	if ((rc = live_slot(m, idx, &s)) != 0)
		return rc;
	if ((rc = sg_group_card_verify(&who, card, card_len)) != 0)
		return rc;
	if (card_len != SG_GROUP_CARD_LEN)
		return SG_ERR_MALFORMED;
	for (i = 0; i < m->cfg.max_invites && p == NULL; i++)
		if (!m->inv[i].used)
			p = &m->inv[i];
	if (p == NULL)
		return SG_ERR_FULL;
	if (!sg_group_is_member(s->g, &who) &&
	    (rc = propose_add(m, s, card, card_len, now_ms)) != 0)
		return rc;
	memset(p, 0, sizeof(*p));
	p->used = 1;
	p->ticket = ++m->next_ticket;
	memcpy(p->group_id, sg_group_id(s->g), SG_GROUP_ID_LEN);
	memcpy(p->card, card, card_len);
	p->who = who;
	p->valid_ms = valid_ms;
	p->give_up_ms = now_ms + m->cfg.invite_wait_ms;
	*ticket = p->ticket;
	return 0;
}

/* Whether an invite into this group waits (its addition can be redone). */
static int invites_waiting(const sg_gman *m, const struct slot *s)
{
	size_t i;

	for (i = 0; i < m->cfg.max_invites; i++)
		if (m->inv[i].used &&
		    memcmp(m->inv[i].group_id, sg_group_id(s->g),
			   SG_GROUP_ID_LEN) == 0)
			return 1;
	return 0;
}

/* Ends a waiting invite with an INVITE event: the invite, or status.
 * When the event cannot be queued the invite waits a little and the next
 * tick tries again. */
static void invite_done(sg_gman *m, struct pinvite *p, const struct slot *s,
			int status, const uint8_t *inv, size_t len,
			uint64_t now_ms)
{
	size_t at = (m->ev_head + m->ev_n) % m->cfg.max_events;
	size_t before = m->ev_n;

	push_event(m, SG_GMAN_EV_INVITE, s, &p->who, 0, inv, len);
	if (m->ev_n == before) {
		p->not_before = now_ms + INVITE_BACKOFF_MS;
		return;
	}
	m->ev[at].ev.ticket = p->ticket;
	m->ev[at].ev.status = status;
	if (s == NULL)
		memcpy(m->ev[at].ev.group_id, p->group_id, SG_GROUP_ID_LEN);
	if (status == 0)
		m->st.invites++;
	else
		m->st.invites_failed++;
	memset(p, 0, sizeof(*p));
}

/* Waiting invites: made once the epoch with their member has settled;
 * proposed again when a concurrent commit replaced the addition. */
static void invites_tick(sg_gman *m, uint64_t now_ms)
{
	size_t i, idx;

	for (i = 0; i < m->cfg.max_invites; i++) {
		struct pinvite *p = &m->inv[i];
		struct slot *s;
		int rc;
		if (!p->used || now_ms < p->not_before)
			continue;
		if (by_id(m, p->group_id, &idx) != 0) {
			invite_done(m, p, NULL, SG_ERR_NOTFOUND, NULL, 0, now_ms);
			continue;
		}
		s = &m->slots[idx];
		if (s->leaving) {
			invite_done(m, p, s, SG_ERR_STATE, NULL, 0, now_ms);
			continue;
		}
		if (now_ms >= p->give_up_ms) {
			invite_done(m, p, s, SG_ERR_TIMEOUT, NULL, 0, now_ms);
			continue;
		}
		if (now_ms < s->last_commit_ms + m->cfg.settle_ms)
			continue;
		if (!sg_group_is_member(s->g, &p->who)) {
			/* a concurrent commit won over our addition */
			rc = propose_add(m, s, p->card, sizeof(p->card),
					 now_ms);
			if (rc == SG_ERR_FULL || rc == SG_ERR_NOMEM)
				p->not_before = now_ms + INVITE_BACKOFF_MS;
			else if (rc != 0)
				invite_done(m, p, s, rc, NULL, 0, now_ms);
			else
				m->st.invites_reproposed++;
			continue;
		}
		{
			size_t cap = sg_group_invite_bound(s->g);
			uint8_t *buf = sg_alloc(&m->env, cap);
			long len;
			if (buf == NULL) {
				p->not_before = now_ms + INVITE_BACKOFF_MS;
				continue;
			}
			len = sg_group_invite(s->g, buf, cap, m->me, &p->who,
					      now_ms, p->valid_ms);
			if (len < 0)
				invite_done(m, p, s, (int)len, NULL, 0, now_ms);
			else
				invite_done(m, p, s, 0, buf, (size_t)len,
					    now_ms);
			sg_wipe(buf, cap);
			sg_free(&m->env, buf);
		}
	}
}

int sg_gman_join(sg_gman *m, const uint8_t *inv, size_t len, uint64_t now_ms,
		 size_t *idx)
{
	sg_group_invite_info info;
	sg_group *g;
	size_t i;
	int rc;

	if ((rc = sg_group_invite_peek(&info, inv, len)) != 0)
		return rc;
	if (by_id(m, info.group_id, &i) == 0)
		return SG_ERR_EXISTS;
	if (m->n == m->cfg.max_groups)
		return SG_ERR_FULL;
	if ((rc = sg_group_accept_invite(&g, &m->env, m->me, inv, len,
					 now_ms)) != 0)
		return rc;
	if ((rc = slot_add(m, g, now_ms, &i)) != 0)
		return rc;
	save(m, &m->slots[i]);
	if (idx != NULL)
		*idx = i;
	return 0;
}

int sg_gman_leave(sg_gman *m, size_t idx, uint64_t now_ms)
{
	struct slot *s;
	size_t bound;
	uint8_t *buf;
	long len;
	int rc;

	if ((rc = live_slot(m, idx, &s)) != 0)
		return rc;
	if (m->tx_n + 2 > m->cfg.max_tx)
		return SG_ERR_FULL;
	if (s->presence_on) {
		(void)sg_presence_stop(s->p, now_ms);
		s->presence_on = 0;
		drain_presence(m, s);
	}
	bound = 8192;
	buf = sg_alloc(&m->env, bound);
	if (buf == NULL)
		return SG_ERR_NOMEM;
	len = sg_group_leave(s->g, buf, bound, m->me);
	if (len < 0) {
		sg_free(&m->env, buf);
		return (int)len;
	}
	rc = push_tx(m, s, SG_GMAN_CLASS_GROUP, buf, (size_t)len);
	sg_free(&m->env, buf);
	s->leaving = 1;
	s->gone_ms = now_ms + m->cfg.leave_grace_ms;
	return rc;
}

int sg_gman_send(sg_gman *m, size_t idx, const uint8_t *pt, size_t len)
{
	struct slot *s;
	uint8_t *buf;
	size_t cap = len + SG_GROUP_MSG_OVERHEAD;
	long clen;
	int rc;

	if ((rc = live_slot(m, idx, &s)) != 0)
		return rc;
	if (m->tx_n == m->cfg.max_tx)
		return SG_ERR_FULL;
	buf = sg_alloc(&m->env, cap);
	if (buf == NULL)
		return SG_ERR_NOMEM;
	clen = sg_group_encrypt(s->g, buf, cap, pt, len);
	rc = clen < 0 ? (int)clen : push_tx(m, s, SG_GMAN_CLASS_GROUP, buf,
					     (size_t)clen);
	sg_free(&m->env, buf);
	return rc;
}

int sg_gman_presence_start(sg_gman *m, size_t idx, uint64_t now_ms)
{
	struct slot *s;
	int rc;

	if ((rc = live_slot(m, idx, &s)) != 0)
		return rc;
	rc = sg_presence_start(s->p, m->me, m->addrs, m->naddrs, now_ms);
	if (rc != 0)
		return rc;
	if (!s->presence_on) {
		s->presence_on = 1;
		save(m, s);
	}
	sg_presence_tick(s->p, now_ms);
	drain_presence(m, s);
	return 0;
}

int sg_gman_presence_stop(sg_gman *m, size_t idx, uint64_t now_ms)
{
	struct slot *s;
	int rc;

	if (idx >= m->n)
		return SG_ERR_NOTFOUND;
	s = &m->slots[idx];
	if (!s->presence_on)
		return SG_ERR_STATE;
	rc = sg_presence_stop(s->p, now_ms);
	s->presence_on = 0;
	save(m, s);
	drain_presence(m, s);
	return rc;
}

size_t sg_gman_online(sg_gman *m, size_t idx, uint64_t now_ms,
		      sg_presence_entry *out, size_t cap)
{
	size_t k;

	if (idx >= m->n)
		return 0;
	k = sg_presence_online(m->slots[idx].p, now_ms, out, cap);
	drain_presence(m, &m->slots[idx]);
	return k;
}

size_t sg_gman_goodbye_all(sg_gman *m, uint64_t now_ms)
{
	size_t i, k = 0;

	for (i = 0; i < m->n; i++)
		if (m->slots[i].presence_on && !m->slots[i].leaving &&
		    sg_presence_stop(m->slots[i].p, now_ms) == 0) {
			drain_presence(m, &m->slots[i]);
			k++;
		}
	return k;
}

/* ---- FOAF ------------------------------------------------------------------ */

#define FOAF_NONCE 24
#define FOAF_TAG 16

/* The foaf key of group slot s for the current (previous = 0) or the
 * previous epoch. */
static int foaf_key(const struct slot *s, int previous, uint8_t key[32])
{
	sg_group_keys k;
	sg_blake3_hasher h;
	int rc = sg_group_keys_get(s->g, previous, &k);

	if (rc != 0)
		return rc;
	sg_blake3_init_derive_key(&h, SG_CTX_GROUP_FOAF_KEY);
	sg_blake3_update(&h, k.presence_key, sizeof(k.presence_key));
	sg_blake3_final(&h, key, 32);
	sg_blake3_wipe(&h);
	sg_wipe(&k, sizeof(k));
	return 0;
}

static void foaf_blind(const uint8_t key[32], const sg_peer_id *member,
		       uint8_t target[32])
{
	sg_blake3_hasher h;

	sg_blake3_init_keyed(&h, key);
	sg_blake3_update(&h, member->bytes, SG_PEER_ID_LEN);
	sg_blake3_final(&h, target, 32);
	sg_blake3_wipe(&h);
}

int sg_gman_foaf_target(const sg_gman *m, size_t idx, const sg_peer_id *member,
			uint8_t target[32])
{
	uint8_t key[32];
	int rc;

	if (idx >= m->n)
		return SG_ERR_NOTFOUND;
	if ((rc = foaf_key(&m->slots[idx], 0, key)) != 0)
		return rc;
	foaf_blind(key, member, target);
	sg_wipe(key, sizeof(key));
	return 0;
}

size_t sg_gman_foaf_answer(sg_gman *m, const uint8_t target[32],
			   sg_gman_addr_fn addr, void *ud, uint8_t *answer,
			   size_t cap)
{
	size_t i, j, alen = 0;
	int prev;
	uint8_t key[32], t[32], a[SG_GMAN_FOAF_ADDR_MAX];
	unsigned long long clen;

	if (cap < FOAF_NONCE + SG_GMAN_FOAF_ADDR_MAX + FOAF_TAG)
		return 0;
	for (i = 0; i < m->n; i++) {
		const struct slot *s = &m->slots[i];
		size_t k = sg_group_member_count(s->g);
		if (s->leaving)
			continue;
		for (prev = 0; prev < 2; prev++) {
			if (foaf_key(s, prev, key) != 0)
				continue;
			for (j = 0; j < k; j++) {
				sg_peer_id id;
				if (sg_group_member(s->g, j, &id) != 0)
					break;
				foaf_blind(key, &id, t);
				if (sg_ct_memcmp(t, target, 32) != 0)
					continue;
				alen = addr(ud, &id, a);
				if (alen == 0 || alen > sizeof(a))
					goto none; /* a member we cannot place */
				if (sg_random(&m->env, answer, FOAF_NONCE) != 0)
					goto none;
				crypto_aead_xchacha20poly1305_ietf_encrypt(
					answer + FOAF_NONCE, &clen, a, alen,
					target, 32, NULL, answer, key);
				sg_wipe(key, sizeof(key));
				return FOAF_NONCE + (size_t)clen;
			}
		}
	}
none:
	sg_wipe(key, sizeof(key));
	return 0;
}

long sg_gman_foaf_open(const sg_gman *m, size_t idx, const uint8_t target[32],
		       const uint8_t *answer, size_t len,
		       uint8_t out[SG_GMAN_FOAF_ADDR_MAX])
{
	uint8_t key[32];
	unsigned long long plen;
	int prev;

	if (idx >= m->n)
		return SG_ERR_NOTFOUND;
	if (len < FOAF_NONCE + FOAF_TAG + 1 ||
	    len > FOAF_NONCE + FOAF_TAG + SG_GMAN_FOAF_ADDR_MAX)
		return SG_ERR_MALFORMED;
	for (prev = 0; prev < 2; prev++) {
		if (foaf_key(&m->slots[idx], prev, key) != 0)
			continue;
		if (crypto_aead_xchacha20poly1305_ietf_decrypt(
			    out, &plen, NULL, answer + FOAF_NONCE,
			    len - FOAF_NONCE, target, 32, answer, key) == 0) {
			sg_wipe(key, sizeof(key));
			return (long)plen;
		}
	}
	sg_wipe(key, sizeof(key));
	return SG_ERR_VERIFY;
}

/* The address of a member from its latest beacon, in the node's form
 * (family byte, address, port): for sg_gman_foaf_answer's callers. */
size_t sg_gman_member_addr(sg_gman *m, const sg_peer_id *member, uint64_t now_ms,
			   uint8_t out[SG_GMAN_FOAF_ADDR_MAX])
{
	size_t i, j;
	sg_presence_entry e[SG_GROUP_MAX_MEMBERS];

	for (i = 0; i < m->n; i++) {
		size_t k = sg_presence_online(m->slots[i].p, now_ms, e,
					      SG_GROUP_MAX_MEMBERS);
		for (j = 0; j < k && j < SG_GROUP_MAX_MEMBERS; j++) {
			const sg_addr *a = &e[j].addrs[0];
			size_t al = a->family == 4 ? 4 : 16;
			if (!sg_peer_id_equal(&e[j].member, member) ||
			    e[j].naddrs == 0)
				continue;
			out[0] = a->family;
			memcpy(out + 1, a->ip, al);
			out[1 + al] = (uint8_t)(a->port >> 8);
			out[2 + al] = (uint8_t)a->port;
			return 3 + al;
		}
		drain_presence(m, &m->slots[i]);
	}
	return 0;
}

/* ---- what arrives on a group topic ------------------------------------------ */

static void defer_commit(sg_gman *m, struct slot *s, const uint8_t *c,
			 size_t len)
{
	uint8_t *copy;
	size_t i;

	for (i = 0; i < s->ndef; i++)
		if (s->def[i].len == len && memcmp(s->def[i].buf, c, len) == 0)
			return;
	copy = sg_alloc(&m->env, len);
	if (copy == NULL)
		return;
	memcpy(copy, c, len);
	if (s->ndef == m->cfg.max_deferred) {
		sg_free(&m->env, s->def[0].buf);
		memmove(&s->def[0], &s->def[1],
			(s->ndef - 1) * sizeof(*s->def));
		s->ndef--;
		m->st.deferred_dropped++;
	}
	s->def[s->ndef].buf = copy;
	s->def[s->ndef].len = len;
	s->ndef++;
	m->st.deferred++;
}

static void forget_removal(struct slot *s, size_t i)
{
	s->rem[i] = s->rem[s->nrem - 1];
	s->nrem--;
}

/* After an epoch change: removals already done are dropped. */
static void prune_removals(struct slot *s)
{
	size_t i = 0;

	while (i < s->nrem)
		if (!sg_group_is_member(s->g, &s->rem[i].leaver))
			forget_removal(s, i);
		else
			i++;
}

static int process_commit(sg_gman *m, size_t idx, const uint8_t *c,
			  size_t len, uint64_t now_ms, int retry);

/* Retries early commits until none applies any more: each round takes
 * the list out; those still early come back through process_commit. */
static void retry_deferred(sg_gman *m, size_t idx, uint64_t now_ms)
{
	size_t round, i, n;

	for (round = 0; round <= m->cfg.max_deferred; round++) {
		struct slot *s = &m->slots[idx];
		struct deferred *list = s->def;
		int applied = 0, gone = 0;

		n = s->ndef;
		if (n == 0)
			return;
		s->def = sg_calloc(&m->env, m->cfg.max_deferred,
				   sizeof(*s->def));
		if (s->def == NULL) {
			s->def = list;
			return;
		}
		s->ndef = 0;
		for (i = 0; i < n; i++) {
			if (!gone) {
				int rc = process_commit(m, idx, list[i].buf,
							list[i].len, now_ms, 1);
				if (rc == 0)
					applied = 1;
				else if (rc == 2)
					gone = 1;
			}
			sg_free(&m->env, list[i].buf);
		}
		sg_free(&m->env, list);
		if (gone || !applied)
			return;
	}
}

/* 0 when the commit moved us (applied or switched), 2 when it removed us
 * (the slot is gone), 1 for an outcome that changed nothing, else its
 * error. Early commits (SG_ERR_AGAIN) are kept for later. */
static int process_commit(sg_gman *m, size_t idx, const uint8_t *c,
			  size_t len, uint64_t now_ms, int retry)
{
	struct slot *s = &m->slots[idx];
	sg_group_commit_info info;
	int rc;

	rc = sg_group_commit_process(s->g, c, len, m->me, &info);
	if (rc == SG_ERR_AGAIN) {
		defer_commit(m, s, c, len);
		return rc;
	}
	if (rc != 0)
		return rc;
	switch (info.outcome) {
	case SG_GROUP_COMMIT_APPLIED:
	case SG_GROUP_COMMIT_SWITCHED:
		s->last_commit_ms = now_ms;
		if (info.outcome == SG_GROUP_COMMIT_APPLIED)
			m->st.commits_applied++;
		else
			m->st.commits_switched++;
		if (info.outcome == SG_GROUP_COMMIT_SWITCHED &&
		    info.replaced_own) {
			/* our changes were lost: removals are owed again (the
			 * removal list still holds them); an add means the
			 * invite we handed out is void */
			if (s->own_commit != NULL) {
				sg_group_commit_info mine;
				if (sg_group_commit_peek(&mine, s->own_commit,
							 s->own_commit_len) ==
					    0 &&
				    mine.nadd > 0) {
					if (invites_waiting(m, s))
						sg_log(&m->env, SG_LOG_INFO,
						       "gman",
						       "a concurrent commit "
						       "replaced ours: the "
						       "addition is proposed "
						       "again");
					else
						sg_log(&m->env, SG_LOG_WARN,
						       "gman",
						       "a concurrent commit "
						       "replaced ours: an "
						       "invite handed out "
						       "before is void; invite "
						       "again");
				}
			}
		}
		sg_free(&m->env, s->own_commit);
		s->own_commit = NULL;
		s->own_commit_len = 0;
		prune_removals(s);
		save(m, s);
		push_event(m, SG_GMAN_EV_EPOCH, s, &info.proposer, info.epoch,
			   NULL, 0);
		/* the tracker takes the new keys at its next call */
		sg_presence_tick(s->p, now_ms);
		drain_presence(m, s);
		if (!retry)
			retry_deferred(m, idx, now_ms);
		return 0;
	case SG_GROUP_COMMIT_OUTRANKED:
		s->last_commit_ms = now_ms;
		if (s->own_commit != NULL &&
		    s->own_commit_epoch == sg_group_epoch(s->g) &&
		    now_ms >= s->last_rebroadcast_ms + m->cfg.settle_ms) {
			s->last_rebroadcast_ms = now_ms;
			(void)push_tx(m, s, SG_GMAN_CLASS_GROUP, s->own_commit,
				      s->own_commit_len);
		}
		return 1;
	case SG_GROUP_COMMIT_REMOVED:
		push_event(m, SG_GMAN_EV_REMOVED, s, &info.proposer, info.epoch,
			   NULL, 0);
		push_event(m, SG_GMAN_EV_GONE, s, NULL, info.epoch, NULL, 0);
		slot_remove(m, idx);
		return 2;
	case SG_GROUP_COMMIT_DUPLICATE:
	default:
		return 1;
	}
}

/* Who commits a leaver's removal: the remaining members in PeerId order,
 * the first at once, each next one removal_delay_ms later if it is still
 * owed (concurrent removals converge anyway). */
static void owe_removal(sg_gman *m, struct slot *s, const sg_peer_id *leaver,
			uint64_t now_ms)
{
	size_t i, k = sg_group_member_count(s->g), rank = 0;

	for (i = 0; i < s->nrem; i++)
		if (sg_peer_id_equal(&s->rem[i].leaver, leaver))
			return;
	if (s->nrem == MAX_REMOVALS)
		return;
	for (i = 0; i < k; i++) {
		sg_peer_id id;
		if (sg_group_member(s->g, i, &id) != 0)
			break;
		if (sg_peer_id_equal(&id, leaver))
			continue;
		if (sg_peer_id_equal(&id, &m->me->id))
			break;
		rank++;
	}
	s->rem[s->nrem].leaver = *leaver;
	s->rem[s->nrem].due_ms = now_ms + rank * m->cfg.removal_delay_ms;
	s->nrem++;
}

int sg_gman_recv(sg_gman *m, const sg_topic_id *topic,
		 const sg_peer_id *publisher, const uint8_t *payload,
		 size_t len, uint64_t now_ms)
{
	size_t idx, olen;
	struct slot *s;
	const uint8_t *obj;
	int rc, type;

	if (sg_gman_by_topic(m, topic, &idx) != 0)
		return SG_ERR_NOTFOUND;
	m->st.received++;
	s = &m->slots[idx];
	if (len < 2) {
		m->st.invalid++;
		return SG_ERR_TRUNCATED;
	}
	obj = payload + 1;
	olen = len - 1;
	if (payload[0] == SG_GMAN_CLASS_BEACON) {
		rc = sg_presence_recv(s->p, obj, olen, publisher, now_ms);
		if (rc != 0)
			m->st.beacons_refused++;
		drain_presence(m, s);
		return rc;
	}
	if (payload[0] != SG_GMAN_CLASS_GROUP) {
		m->st.invalid++;
		return SG_ERR_UNSUPPORTED;
	}
	type = sg_group_frame_type(obj, olen);
	switch (type) {
	case SG_GROUP_FRAME_COMMIT:
		rc = process_commit(m, idx, obj, olen, now_ms, 0);
		if (rc < 0 && rc != SG_ERR_AGAIN && rc != SG_ERR_REPLAY)
			m->st.invalid++;
		return rc < 0 && rc != SG_ERR_AGAIN ? rc : 0;
	case SG_GROUP_FRAME_LEAVE: {
		sg_peer_id leaver;
		rc = sg_group_leave_process(s->g, obj, olen, &leaver);
		if (rc != 0) {
			if (rc != SG_ERR_REPLAY && rc != SG_ERR_INVAL)
				m->st.invalid++;
			return rc == SG_ERR_INVAL ? 0 : rc;
		}
		push_event(m, SG_GMAN_EV_LEAVE_SEEN, s, &leaver,
			   sg_group_epoch(s->g), NULL, 0);
		if (!s->leaving)
			owe_removal(m, s, &leaver, now_ms);
		return 0;
	}
	case SG_GROUP_FRAME_MESSAGE: {
		uint8_t *pt = sg_alloc(&m->env, olen);
		long pl;
		if (pt == NULL)
			return SG_ERR_NOMEM;
		pl = sg_group_decrypt(s->g, pt, olen, obj, olen, NULL);
		if (pl >= 0) {
			m->st.messages++;
			push_event(m, SG_GMAN_EV_MESSAGE, s, publisher,
				   sg_group_epoch(s->g), pt, (size_t)pl);
		} else {
			m->st.invalid++;
		}
		sg_wipe(pt, olen);
		sg_free(&m->env, pt);
		return pl < 0 ? (int)pl : 0;
	}
	default:
		m->st.invalid++;
		return type < 0 ? type : SG_ERR_UNSUPPORTED;
	}
}

/* ---- time ------------------------------------------------------------------- */

static void commit_removal(sg_gman *m, struct slot *s, size_t ri,
			   uint64_t now_ms)
{
	size_t bound = sg_group_commit_bound(s->g, 0);
	uint8_t *c;
	long clen;

	if (m->tx_n == m->cfg.max_tx)
		return; /* retried at the next tick */
	c = sg_alloc(&m->env, bound);
	if (c == NULL)
		return;
	clen = sg_group_remove_member(s->g, c, bound, m->me,
				      &s->rem[ri].leaver);
	if (clen > 0) {
		m->st.removals_committed++;
		(void)publish_own_commit(m, s, c, (size_t)clen, now_ms);
		push_event(m, SG_GMAN_EV_EPOCH, s, &m->me->id,
			   sg_group_epoch(s->g), NULL, 0);
		sg_presence_tick(s->p, now_ms);
		drain_presence(m, s);
	}
	forget_removal(s, ri);
	sg_free(&m->env, c);
}

void sg_gman_tick(sg_gman *m, uint64_t now_ms)
{
	size_t i = 0;

	while (i < m->n) {
		struct slot *s = &m->slots[i];
		size_t r;
		if (s->leaving) {
			if (now_ms >= s->gone_ms) {
				push_event(m, SG_GMAN_EV_GONE, s, NULL,
					   sg_group_epoch(s->g), NULL, 0);
				slot_remove(m, i);
				continue;
			}
			i++;
			continue;
		}
		prune_removals(s);
		for (r = 0; r < s->nrem; r++)
			if (now_ms >= s->rem[r].due_ms &&
			    now_ms >= s->last_commit_ms + m->cfg.settle_ms) {
				commit_removal(m, s, r, now_ms);
				break; /* one epoch at a time */
			}
		if (sg_presence_next_deadline(s->p) <= now_ms)
			sg_presence_tick(s->p, now_ms);
		drain_presence(m, s);
		i++;
	}
	invites_tick(m, now_ms);
}

uint64_t sg_gman_next_deadline(const sg_gman *m)
{
	uint64_t d = UINT64_MAX, t;
	size_t i, r;

	for (i = 0; i < m->n; i++) {
		const struct slot *s = &m->slots[i];
		if (s->leaving) {
			if (s->gone_ms < d)
				d = s->gone_ms;
			continue;
		}
		for (r = 0; r < s->nrem; r++) {
			t = s->rem[r].due_ms;
			if (t < s->last_commit_ms + m->cfg.settle_ms)
				t = s->last_commit_ms + m->cfg.settle_ms;
			if (t < d)
				d = t;
		}
		t = sg_presence_next_deadline(s->p);
		if (t < d)
			d = t;
	}
	for (i = 0; i < m->cfg.max_invites; i++) {
		const struct pinvite *p = &m->inv[i];
		size_t idx;
		if (!p->used)
			continue;
		t = p->give_up_ms;
		if (by_id(m, p->group_id, &idx) != 0 || m->slots[idx].leaving)
			t = 0; /* ends at the next tick */
		else if (m->slots[idx].last_commit_ms + m->cfg.settle_ms < t)
			t = m->slots[idx].last_commit_ms + m->cfg.settle_ms;
		if (t < p->not_before)
			t = p->not_before;
		if (t < d)
			d = t;
	}
	return d;
}

size_t sg_gman_poll_tx(sg_gman *m, sg_topic_id *topic, const uint8_t **payload)
{
	struct txq *q;

	sg_free(&m->env, m->tx_out);
	m->tx_out = NULL;
	if (m->tx_n == 0)
		return 0;
	q = &m->tx[m->tx_head];
	m->tx_head = (m->tx_head + 1) % m->cfg.max_tx;
	m->tx_n--;
	*topic = q->topic;
	*payload = m->tx_out = q->buf;
	q->buf = NULL;
	return q->len;
}

int sg_gman_poll_event(sg_gman *m, sg_gman_event *ev)
{
	struct evq *q;

	if (m->ev_out != NULL) {
		sg_wipe(m->ev_out, m->ev_out_len); /* a message's plaintext */
		sg_free(&m->env, m->ev_out);
		m->ev_out = NULL;
	}
	if (m->ev_n == 0)
		return 0;
	q = &m->ev[m->ev_head];
	m->ev_head = (m->ev_head + 1) % m->cfg.max_events;
	m->ev_n--;
	*ev = q->ev;
	ev->data = m->ev_out = q->data;
	m->ev_out_len = q->ev.len;
	q->data = NULL;
	return 1;
}

void sg_gman_stats_get(const sg_gman *m, sg_gman_stats *st) { *st = m->st; }
