/*
 * Fuzz target: FOAF frames (kind byte + CBOR) from two neighbours into a
 * FOAF core that has a query of its own pending and knows one target. The
 * input is split into frames at 0xF5 0xF5 markers; the first byte of each
 * picks the sender. Must not crash, leak or grow without bound.
 */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "sg/foaf.h"

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

static size_t lookup(void *ud, sg_foaf_kind kind, const uint8_t target[32],
		     const sg_peer_id *from, uint8_t answer[SG_FOAF_ANSWER_MAX])
{
	(void)ud;
	(void)from;
	if (kind == SG_FOAF_PEER && target[0] == 0x77) {
		answer[0] = 1;
		return 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sg_env env;
	sg_foaf_config cfg;
	sg_foaf *f;
	sg_peer_id nb[2], to;
	sg_foaf_event ev;
	uint8_t target[32];
	const uint8_t *b;
	uint64_t rng = 7, now = 1000;
	size_t start = 0, i;

	sg_env_default(&env);
	env.random = fixed_random;
	env.random_ud = &rng;
	sg_foaf_config_default(&cfg);
	cfg.max_routes = 64;
	cfg.max_tx = 64;
	cfg.max_events = 16;
	f = sg_foaf_new(&env, &cfg, lookup, NULL);
	if (f == NULL)
		return 0;
	memset(nb[0].bytes, 1, 32);
	memset(nb[1].bytes, 2, 32);
	memset(target, 0x33, sizeof(target));
	sg_foaf_query(f, SG_FOAF_PEER, target, 3, nb, 2, now, NULL);
	for (i = 0; i <= size; i++) {
		if (i + 1 < size && !(data[i] == 0xF5 && data[i + 1] == 0xF5))
			continue;
		if (i + 1 >= size)
			i = size;
		if (i > start) {
			sg_foaf_recv(f, &nb[data[start] & 1], data + start + 1,
				     i - start - 1, nb, 2, now);
			now += 100;
			sg_foaf_tick(f, now);
			while (sg_foaf_poll_tx(f, &to, &b) > 0)
				;
			while (sg_foaf_poll_event(f, &ev))
				;
		}
		start = i + 2;
		i++;
	}
	sg_foaf_del(f);
	return 0;
}
