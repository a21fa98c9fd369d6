/*
 * Fuzz target: the relay frame decoder and the relay's token buckets
 * (include/sg/relay.h). The input is split into pieces at 0xF5 0xF5
 * markers. Each piece is decoded as a relay frame; a piece that decodes
 * must re-encode to exactly the same bytes (one encoding per frame), and
 * its packet must lie inside the piece. Then the piece's first bytes
 * drive the limiter: a source (one of 300, more than the table holds), a
 * size and a time step; the table must stay within its bound and a frame
 * refused must not have taken tokens. Must not crash, leak or grow.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sg/err.h"
#include "sg/relay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(sg_relay_limiter *rl, const uint8_t *p, size_t len,
		uint64_t *now)
{
	uint8_t kind, re[SG_RELAY_FRAME_MAX];
	sg_peer_id peer, src;
	const uint8_t *pkt;
	size_t pkt_len;
	long n;

	if (sg_relay_frame_decode(&kind, &peer, &pkt, &pkt_len, p, len) == 0) {
		if (pkt < p || pkt + pkt_len > p + len || pkt_len == 0 ||
		    pkt_len > SG_RELAY_PACKET_MAX)
			abort();
		n = sg_relay_frame_encode(re, sizeof(re), kind, &peer, pkt,
					  pkt_len);
		if (n < 0 || (size_t)n != len || memcmp(re, p, len) != 0)
			abort();
	}
	if (len >= 4) {
		uint16_t s = (uint16_t)(((p[0] << 8) | p[1]) % 300);
		size_t bytes = (size_t)p[2] * 16;
		memset(&src, 0, sizeof(src));
		memcpy(src.bytes, &s, sizeof(s));
		*now += p[3];
		if (!sg_relay_limiter_admit(rl, &src, bytes, *now) &&
		    sg_relay_limiter_admit(rl, &src, bytes, *now) == 1 &&
		    bytes > 0)
			abort(); /* refused, then admitted at the same time */
		if (sg_relay_limiter_sources(rl) > 64)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sg_env env;
	sg_relay_limits l;
	sg_relay_limiter *rl;
	uint64_t now = 1000;
	size_t start = 0, i;
	int err;

	sg_env_default(&env);
	sg_relay_limits_default(&l);
	l.max_sources = 64;
	l.frames_per_s = 50;
	l.burst_frames = 10;
	l.bytes_per_s = 20000;
	l.burst_bytes = 8000;
	l.global_bytes_per_s = 100000;
	l.global_burst_bytes = 30000;
	rl = sg_relay_limiter_new(&env, &l, &err);
	if (rl == NULL)
		return 0;
	for (i = 0; i + 1 < size; i++) {
		if (data[i] == 0xF5 && data[i + 1] == 0xF5) {
			one(rl, data + start, i - start, &now);
			start = i + 2;
			i++;
		}
	}
	if (start <= size)
		one(rl, data + start, size - start, &now);
	sg_relay_limiter_del(rl);
	return 0;
}
