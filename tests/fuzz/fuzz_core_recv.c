/*
 * Fuzz target: arbitrary frames from three authenticated peers into a node
 * core (include/sg/core.h) subscribed to two topics, with timers run
 * between frames: topic lists, QUERY/PEERS, WALK, LINK, Plumtree frames,
 * membership and discovery frames. The input is split into frames at
 * 0xF5 0xF5 markers; the first byte of each picks the sender (low two
 * bits) and the frame type (next two bits: membership, pub/sub, discovery,
 * or the bytes taken whole, header included); the core gets the rest with
 * a frame header in front. Must not crash, leak or grow without bound.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sg/core.h"
#include "sg/env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fixed_random(void *ud, uint8_t *out, size_t len)
{
	uint64_t *s = ud;
	size_t i;

	for (i = 0; i < len; i++) {
		*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
		out[i] = (uint8_t)(*s >> 56);
	}
	return 0;
}

static void drain(sg_core *c)
{
	const uint8_t *f;
	sg_peer_id to;
	sg_core_event ev;

	while (sg_core_poll_tx(c, &to, &f) > 0)
		;
	while (sg_core_poll_event(c, &ev))
		;
}

static sg_identity *identity(void)
{
	static sg_identity *id;
	uint8_t seed[SG_IDENTITY_SEED_LEN];

	if (id == NULL) {
		id = malloc(sizeof(*id));
		memset(seed, 7, sizeof(seed));
		if (id == NULL || sg_identity_from_seed(id, seed) != 0)
			abort();
	}
	return id;
}

static void feed(sg_core *c, const sg_peer_id *peers, const uint8_t *p,
		 size_t n, uint64_t now)
{
	static const sg_frame_type types[3] = {
		SG_FRAME_MEMBERSHIP, SG_FRAME_PUBSUB, SG_FRAME_DISCOVERY};
	uint8_t *buf;
	unsigned how;

	if (n == 0)
		return;
	how = (p[0] >> 2) & 3;
	if (how == 3) { /* whole, header included */
		sg_core_recv(c, &peers[p[0] % 3], p + 1, n - 1, now,
			     1800000000000ULL + now);
		return;
	}
	buf = malloc(SG_FRAME_HEADER_LEN + n);
	if (buf == NULL)
		return;
	if (sg_frame_header_encode(buf, types[how], n - 1,
				   SG_FRAME_DEFAULT_MAX) == 0) {
		memcpy(buf + SG_FRAME_HEADER_LEN, p + 1, n - 1);
		sg_core_recv(c, &peers[p[0] % 3], buf,
			     SG_FRAME_HEADER_LEN + n - 1, now,
			     1800000000000ULL + now);
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sg_env env;
	sg_core_config cfg;
	sg_core *c;
	sg_peer_id peers[3];
	sg_topic_id t;
	uint8_t addr[SG_MEMB_ADDR_MAX];
	sg_addr a;
	uint64_t rng = 42, now = 1000;
	size_t start = 0, i;
	long alen;
	int k;

	if (sg_env_default(&env) != 0)
		return 0;
	env.random = fixed_random;
	env.random_ud = &rng;
	memset(&a, 0, sizeof(a));
	a.family = 4;
	a.ip[0] = 10;
	a.port = 9000;
	alen = sg_core_addr_encode(addr, &a);
	sg_core_config_default(&cfg);
	/* Small tables: the same code paths, many more runs per second. */
	cfg.max_topics = 4;
	cfg.keycache_cap = 8;
	cfg.max_events = 64;
	cfg.max_remote_topics = 8;
	cfg.pt.seen_max = 256;
	cfg.pt.cache_msgs = 32;
	cfg.pt.max_missing = 64;
	cfg.pt.max_publishers = 16;
	cfg.pt.max_pending_key = 8;
	c = sg_core_new(&env, &cfg, identity(), addr, (size_t)alen, now);
	if (c == NULL)
		return 0;
	/* Topics whose ids are easy to write: 32 x 0xAA and 32 x 0xBB. */
	memset(t.bytes, 0xAA, sizeof(t.bytes));
	sg_core_subscribe(c, &t, now);
	memset(t.bytes, 0xBB, sizeof(t.bytes));
	sg_core_subscribe(c, &t, now);
	for (k = 0; k < 3; k++)
		memset(peers[k].bytes, 0x22 + k, sizeof(peers[k].bytes));
	drain(c);
	for (i = 0; i + 1 < size; i++) {
		if (data[i] != 0xF5 || data[i + 1] != 0xF5)
			continue;
		feed(c, peers, data + start, i - start, now);
		drain(c);
		now += 700;
		sg_core_tick(c, now);
		drain(c);
		start = i + 2;
		i++;
	}
	feed(c, peers, data + start, size - start, now);
	drain(c);
	now += 3000;
	sg_core_tick(c, now);
	drain(c);
	sg_core_del(c);
	return 0;
}
