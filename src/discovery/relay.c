/*
 * Relay frames and the relay's token buckets (include/sg/relay.h;
 * docs/PROTOCOL.md, "Relay").
 *
 * Wire: frame header (version 1, type 5 discovery, body length), kind
 * byte 5 RELAY or 6 RELAYED, then [peer: bstr(32), packet: bstr(1..1452)].
 *
 * The limiter keeps, per source PeerId, a byte bucket and a frame bucket,
 * and one global byte bucket. Buckets hold milli-tokens and refill by
 * rate x elapsed milliseconds, so slow rates lose nothing to rounding.
 * The table is a fixed array (max_sources); a full table forgets the
 * source idle longest, whose buckets would be full by then anyway unless
 * it was flooding a moment ago: a flooder gains nothing by being evicted
 * unless max_sources other authenticated peers relay in between.
 */
#include "sg/relay.h"

#include <string.h>

#include "sg/cbor.h"
#include "sg/err.h"
#include "sg/msg.h"

long sg_relay_frame_encode(uint8_t *out, size_t cap, uint8_t kind,
			   const sg_peer_id *peer, const uint8_t *pkt,
			   size_t len)
{
	sg_cbor_enc e;
	long body;
	int rc;

	if (kind != SG_RELAY_KIND_RELAY && kind != SG_RELAY_KIND_RELAYED)
		return SG_ERR_INVAL;
	if (len == 0 || len > SG_RELAY_PACKET_MAX ||
	    cap < SG_FRAME_HEADER_LEN + 1)
		return SG_ERR_RANGE;
	sg_cbor_enc_init(&e, out + SG_FRAME_HEADER_LEN + 1,
			 cap - SG_FRAME_HEADER_LEN - 1);
	sg_cbor_put_array(&e, 2);
	sg_cbor_put_bytes(&e, peer->bytes, SG_PEER_ID_LEN);
	sg_cbor_put_bytes(&e, pkt, len);
	body = sg_cbor_enc_finish(&e);
	if (body < 0)
		return SG_ERR_RANGE;
	rc = sg_frame_header_encode(out, SG_FRAME_DISCOVERY, (size_t)body + 1,
				    SG_FRAME_DEFAULT_MAX);
	if (rc != 0)
		return rc;
	out[SG_FRAME_HEADER_LEN] = kind;
	return SG_FRAME_HEADER_LEN + 1 + body;
}

int sg_relay_frame_decode(uint8_t *kind, sg_peer_id *peer, const uint8_t **pkt,
			  size_t *pkt_len, const uint8_t *frame, size_t len)
{
	sg_frame_type type;
	sg_cbor_dec d;
	sg_cbor_limits lim;
	const uint8_t *body, *id;
	size_t body_len, n;
	int rc;

	if (len < SG_FRAME_HEADER_LEN + 1 ||
	    sg_frame_header_decode(&type, &body_len, frame, len,
				   SG_FRAME_DEFAULT_MAX) != 0 ||
	    type != SG_FRAME_DISCOVERY ||
	    (frame[SG_FRAME_HEADER_LEN] != SG_RELAY_KIND_RELAY &&
	     frame[SG_FRAME_HEADER_LEN] != SG_RELAY_KIND_RELAYED))
		return SG_ERR_NOTFOUND;
	if (body_len != len - SG_FRAME_HEADER_LEN)
		return SG_ERR_MALFORMED;
	if (len > SG_RELAY_FRAME_MAX)
		return SG_ERR_RANGE;
	body = frame + SG_FRAME_HEADER_LEN + 1;
	body_len--;
	sg_cbor_limits_default(&lim);
	lim.max_depth = 2;
	lim.max_items = 3;
	if ((rc = sg_cbor_validate(body, body_len, &lim)) != 0)
		return rc;
	sg_cbor_dec_init(&d, body, body_len);
	if ((rc = sg_cbor_get_array(&d, &n)) != 0)
		return rc;
	if (n != 2)
		return SG_ERR_MALFORMED;
	if ((rc = sg_cbor_get_bytes_len(&d, &id, SG_PEER_ID_LEN)) != 0 ||
	    (rc = sg_cbor_get_bytes(&d, pkt, pkt_len)) != 0 ||
	    (rc = sg_cbor_dec_done(&d)) != 0)
		return rc;
	if (*pkt_len == 0 || *pkt_len > SG_RELAY_PACKET_MAX)
		return SG_ERR_RANGE;
	memcpy(peer->bytes, id, SG_PEER_ID_LEN);
	*kind = frame[SG_FRAME_HEADER_LEN];
	return 0;
}

/* ---- token buckets --------------------------------------------------- */

struct bucket {
	uint64_t milli; /* tokens x 1000 */
	uint64_t at;	/* last refill, ms */
};

struct source {
	int used;
	sg_peer_id id;
	struct bucket bytes, frames;
};

struct sg_relay_limiter {
	sg_env env;
	sg_relay_limits l;
	struct source *src;
	struct bucket global;
	int global_started;
};

void sg_relay_limits_default(sg_relay_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->size = sizeof(*l);
	l->bytes_per_s = 1u << 20;
	l->burst_bytes = 256u << 10;
	l->frames_per_s = 1000;
	l->burst_frames = 256;
	l->global_bytes_per_s = 16u << 20;
	l->global_burst_bytes = 1u << 20;
	l->max_sources = 256;
}

sg_relay_limiter *sg_relay_limiter_new(const sg_env *env,
				       const sg_relay_limits *l, int *err)
{
	sg_relay_limiter *rl;

	*err = SG_ERR_INVAL;
	if (l->size != sizeof(*l) || l->bytes_per_s == 0 ||
	    l->burst_bytes == 0 || l->frames_per_s == 0 ||
	    l->burst_frames == 0 || l->global_bytes_per_s == 0 ||
	    l->global_burst_bytes == 0 || l->max_sources == 0 ||
	    l->max_sources > (1u << 20))
		return NULL;
	*err = SG_ERR_NOMEM;
	rl = sg_calloc(env, 1, sizeof(*rl));
	if (rl == NULL)
		return NULL;
	rl->src = sg_calloc(env, l->max_sources, sizeof(*rl->src));
	if (rl->src == NULL) {
		sg_free(env, rl);
		return NULL;
	}
	rl->env = *env;
	rl->l = *l;
	*err = 0;
	return rl;
}

void sg_relay_limiter_del(sg_relay_limiter *rl)
{
	sg_env env;

	if (rl == NULL)
		return;
	env = rl->env;
	sg_free(&env, rl->src);
	sg_free(&env, rl);
}

/* Refills b at rate tokens per second, capped at burst. The clock may
 * stand still; it never runs backwards for the caller's monotonic time,
 * but a smaller now is treated as no time passed. */
static void refill(struct bucket *b, uint32_t rate, uint32_t burst,
		   uint64_t now)
{
	uint64_t cap = (uint64_t)burst * 1000, dt;

	if (now <= b->at)
		return;
	dt = now - b->at;
	b->at = now;
	/* dt * rate overflows only after ~136 years at 4 GiB/s: clamp. */
	if (dt >= cap / rate + 1) {
		b->milli = cap;
		return;
	}
	b->milli += dt * rate;
	if (b->milli > cap)
		b->milli = cap;
}

static struct source *source_get(sg_relay_limiter *rl, const sg_peer_id *id,
				 uint64_t now)
{
	struct source *free_s = NULL, *oldest = NULL, *s;
	size_t i;

	for (i = 0; i < rl->l.max_sources; i++) {
		s = &rl->src[i];
		if (!s->used) {
			if (free_s == NULL)
				free_s = s;
			continue;
		}
		if (sg_peer_id_equal(&s->id, id))
			return s;
		if (oldest == NULL || s->bytes.at < oldest->bytes.at)
			oldest = s;
	}
	s = free_s != NULL ? free_s : oldest;
	s->used = 1;
	s->id = *id;
	s->bytes.milli = (uint64_t)rl->l.burst_bytes * 1000;
	s->frames.milli = (uint64_t)rl->l.burst_frames * 1000;
	s->bytes.at = s->frames.at = now;
	return s;
}

int sg_relay_limiter_admit(sg_relay_limiter *rl, const sg_peer_id *src,
			   size_t bytes, uint64_t now_ms)
{
	struct source *s = source_get(rl, src, now_ms);
	uint64_t need = (uint64_t)bytes * 1000;

	if (!rl->global_started) {
		rl->global.milli = (uint64_t)rl->l.global_burst_bytes * 1000;
		rl->global.at = now_ms;
		rl->global_started = 1;
	}
	refill(&s->bytes, rl->l.bytes_per_s, rl->l.burst_bytes, now_ms);
	refill(&s->frames, rl->l.frames_per_s, rl->l.burst_frames, now_ms);
	refill(&rl->global, rl->l.global_bytes_per_s, rl->l.global_burst_bytes,
	       now_ms);
	if (s->bytes.milli < need || s->frames.milli < 1000 ||
	    rl->global.milli < need)
		return 0;
	s->bytes.milli -= need;
	s->frames.milli -= 1000;
	rl->global.milli -= need;
	return 1;
}

size_t sg_relay_limiter_sources(const sg_relay_limiter *rl)
{
	size_t i, n = 0;

	for (i = 0; i < rl->l.max_sources; i++)
		n += rl->src[i].used != 0;
	return n;
}
