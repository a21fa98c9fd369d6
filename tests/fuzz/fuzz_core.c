/*
 * Fuzz target: arbitrary frames (with their frame header) from three
 * authenticated peers into a node core subscribed to two topics, with
 * timers run between frames. The input is split into frames at 0xF5 0xF5
 * markers; the first byte of each frame picks the sender. Must not crash,
 * leak or grow without bound; every frame it sends must have a valid
 * frame header.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sg/core.h"
#include "sg/err.h"

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
	size_t n;

	while (sg_core_poll_event(c, &ev))
		;
	while ((n = sg_core_poll_tx(c, &to, &f)) > 0) {
		sg_frame_type type;
		size_t body;
		if (sg_frame_header_decode(&type, &body, f, n,
					   SG_FRAME_DEFAULT_MAX) != 0 ||
		    body + SG_FRAME_HEADER_LEN != n)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static sg_identity ident, peers[3];
	static int ready;
	sg_env env;
	sg_core_config cfg;
	sg_core *c;
	sg_topic_id t1, t2;
	sg_addr a;
	uint8_t addr[SG_MEMB_ADDR_MAX];
	uint64_t rng = 42, now = 1000;
	size_t start = 0, i;
	long alen;
	int k;

	if (!ready) {
		uint8_t seed[32];
		memset(seed, 1, sizeof(seed));
		sg_identity_from_seed(&ident, seed);
		for (k = 0; k < 3; k++) {
			memset(seed, 2 + k, sizeof(seed));
			sg_identity_from_seed(&peers[k], seed);
		}
		ready = 1;
	}
	sg_env_default(&env);
	env.random = fixed_random;
	env.random_ud = &rng;
	sg_core_config_default(&cfg);
	cfg.max_tx = 256;
	cfg.max_events = 256;
	cfg.pt.max_tx = 256;
	cfg.pt.max_events = 256;
	memset(&a, 0, sizeof(a));
	a.family = 4;
	a.ip[0] = 127;
	a.ip[3] = 1;
	a.port = 7000;
	alen = sg_core_addr_encode(addr, &a);
	c = sg_core_new(&env, &cfg, &ident, addr, (size_t)alen, now);
	if (c == NULL)
		return 0;
	sg_topic_id_from_name(&t1, "a", 1);
	sg_topic_id_from_name(&t2, "b", 1);
	sg_core_subscribe(c, &t1, now);
	sg_core_subscribe(c, &t2, now);
	for (k = 0; k < 3; k++) {
		sg_memb_peer p;
		memset(&p, 0, sizeof(p));
		p.id = peers[k].id;
		a.port = (uint16_t)(7001 + k);
		p.addr_len = (uint8_t)sg_core_addr_encode(p.addr, &a);
		sg_core_add_contact(c, &p);
	}
	sg_core_join(c, now);
	drain(c);
	for (i = 0; i <= size; i++) {
		if (i + 1 < size && !(data[i] == 0xF5 && data[i + 1] == 0xF5))
			continue;
		if (i + 1 >= size)
			i = size;
		if (i > start) {
			const sg_identity *from = &peers[data[start] % 3];
			sg_core_recv(c, &from->id, data + start + 1,
				     i - start - 1, now, 1800000000000ULL + now);
			drain(c);
			now += 37;
			sg_core_tick(c, now);
			drain(c);
		}
		start = i + 2;
		i++;
	}
	now += 60000;
	sg_core_tick(c, now);
	drain(c);
	sg_core_del(c);
	return 0;
}
