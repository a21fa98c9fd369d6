/*
 * Fuzz target: arbitrary frames from an authenticated peer into a fresh
 * HyParView core and a fresh SWIM core (each with a few neighbours/members),
 * with timers run between frames, plus the decoder on the whole input. The
 * input is split into frames at 0xF5 0xF5 markers; the first byte of each
 * frame picks which of three peers sends it. Peer 0 and the core have real
 * identities (from fixed seeds) so that the corpus can hold a valid signed
 * claim (tests/fuzz/corpus/fuzz_membership_recv/claim_*). Must not crash,
 * leak or grow without bound.
 */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "sg/env.h"
#include "sg/hyparview.h"
#include "sg/identity.h"
#include "sg/swim.h"

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

static void drain(sg_hyparview *hv, sg_swim *sw)
{
	const uint8_t *f;
	sg_peer_id to;
	sg_hyparview_event he;
	sg_swim_event se;

	while (sg_hyparview_poll_tx(hv, &to, &f) > 0)
		;
	while (sg_swim_poll_tx(sw, &to, &f) > 0)
		;
	while (sg_hyparview_poll_event(hv, &he))
		;
	while (sg_swim_poll_event(sw, &se))
		;
}

/* The core's identity (seed 0x11...) and peer 0's (seed 0x22...), made
 * once: key generation per input would dominate the run. */
static sg_identity ident[2];
static int have_ident;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sg_env env;
	sg_hyparview_config hc;
	sg_swim_config sc;
	sg_hyparview *hv;
	sg_swim *sw;
	sg_memb_peer self, peers[3];
	sg_memb_msg m;
	uint64_t rng = 42, now = 1000;
	size_t start = 0, i;
	int k;

	if (!have_ident) {
		uint8_t seed[SG_IDENTITY_SEED_LEN];

		for (k = 0; k < 2; k++) {
			memset(seed, 0x11 * (k + 1), sizeof(seed));
			if (sg_identity_from_seed(&ident[k], seed) != 0)
				return 0;
		}
		have_ident = 1;
	}
	if (sg_env_default(&env) != 0)
		return 0;
	env.random = fixed_random;
	env.random_ud = &rng;
	memset(&self, 0x11, sizeof(self));
	self.id = ident[0].id;
	self.addr_len = 4;
	for (k = 0; k < 3; k++) {
		memset(&peers[k], 0x22 + k, sizeof(peers[k]));
		peers[k].addr_len = 4;
	}
	peers[0].id = ident[1].id;
	sg_hyparview_config_default(&hc);
	sg_swim_config_default(&sc);
	hv = sg_hyparview_new(&env, &hc, &self, now);
	sw = sg_swim_new(&env, &sc, &ident[0], now);
	if (hv == NULL || sw == NULL)
		goto out;
	sg_hyparview_add_contact(hv, &peers[0]);
	for (k = 0; k < 3; k++)
		sg_swim_member_add(sw, &peers[k].id, now);
	sg_memb_decode(&m, data, size);
	for (i = 0; i <= size; i++) {
		const uint8_t *f;
		size_t len;

		if (!(i == size ||
		      (i + 1 < size && data[i] == 0xf5 && data[i + 1] == 0xf5)))
			continue;
		f = data + start;
		len = i - start;
		if (len > 0) {
			const sg_peer_id *from = &peers[f[0] % 3].id;

			sg_hyparview_recv(hv, from, f + 1, len - 1, now);
			sg_swim_recv(sw, from, f + 1, len - 1, now);
		}
		now += 250;
		sg_hyparview_tick(hv, now);
		sg_swim_tick(sw, now);
		drain(hv, sw);
		start = i + 2;
		i++;
	}
out:
	sg_hyparview_del(hv);
	sg_swim_del(sw);
	return 0;
}
