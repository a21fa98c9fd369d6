/*
 * Fuzz target: arbitrary frames from an authenticated neighbour into a
 * fresh Plumtree core (with a second neighbour, a known publisher key, and
 * timers run between frames). The input is split into frames at 0xF5 0xF5
 * ... markers; each must be handled without a crash, a leak or unbounded
 * growth.
 */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "sg/plumtree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static sg_identity ids[2];
	static int ready;
	sg_env env;
	sg_plumtree_config cfg;
	sg_keycache *kc;
	sg_plumtree *pt;
	sg_topic_id topic;
	sg_plumtree_event ev;
	sg_peer_id to;
	const uint8_t *f;
	size_t start = 0, i;
	uint64_t now = 1000;

	if (sg_env_default(&env) != 0)
		return 0;
	if (!ready) {
		uint8_t seed[32];
		memset(seed, 1, 32);
		sg_identity_from_seed(&ids[0], seed);
		memset(seed, 2, 32);
		sg_identity_from_seed(&ids[1], seed);
		ready = 1;
	}
	sg_plumtree_config_default(&cfg);
	cfg.max_tx = 64;
	cfg.max_events = 16;
	kc = sg_keycache_new(&env, 4);
	sg_topic_id_from_name(&topic, "chat", 4);
	pt = kc ? sg_plumtree_new(&env, &cfg, &topic, kc) : NULL;
	if (pt == NULL) {
		sg_keycache_del(kc);
		return 0;
	}
	sg_keycache_put(kc, ids[0].pk);
	sg_plumtree_neighbor_up(pt, &ids[0].id, 0);
	sg_plumtree_neighbor_up(pt, &ids[1].id, 0);
	for (i = 0; i <= size; i++) {
		if (i + 1 < size && data[i] == 0xf5 && data[i + 1] == 0xf5) {
			sg_plumtree_recv(pt, &ids[0].id, data + start, i - start,
					 now, 1800000000000ULL + now);
			start = i + 2;
			i++;
			now += 100;
			sg_plumtree_tick(pt, now);
		}
	}
	sg_plumtree_recv(pt, &ids[1].id, data + start, size - start, now,
			 1800000000000ULL + now);
	sg_plumtree_tick(pt, now + 10000);
	while (sg_plumtree_poll_tx(pt, &to, &f) > 0)
		;
	while (sg_plumtree_poll_event(pt, &ev))
		;
	sg_plumtree_del(pt);
	sg_keycache_del(kc);
	return 0;
}
