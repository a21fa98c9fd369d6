/*
 * The fixed world the group and presence fuzz targets share: a
 * deterministic environment, three identities (Alice, Bob, Carol), a group
 * of Alice and Bob at epoch 1 (both members' exported states), and one
 * valid object of every kind, built in the same order every time so that
 * the committed seeds stay valid inputs.
 *
 * Seeds: run any of these targets' replay programs with
 * SG_FUZZ_SEED_DIR=tests/fuzz/corpus and the fixture writes its objects
 * into the fuzz_group_... and fuzz_presence_beacon folders under it.
 */
#ifndef SG_FUZZ_GROUP_FIXTURE_H
#define SG_FUZZ_GROUP_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sg/group.h"
#include "sg/presence.h"
#include "sg/cbor.h"

#define FX_NOW 1800000000000ULL

typedef struct fx_blob {
	uint8_t *p;
	size_t n;
} fx_blob;

static struct fx {
	int ready;
	uint64_t rng;
	sg_env env;
	sg_identity alice, bob, carol;
	fx_blob alice_state, bob_state, alice_state2;
	fx_blob invite, invite_text, commit_rekey, commit_remove, commit_add;
	fx_blob leave, message, message_empty, beacon, goodbye, inner;
} fx;

static int fx_random(void *ud, uint8_t *out, size_t len)
{
	(void)ud;
	while (len > 0) {
		uint64_t z = (fx.rng += 0x9e3779b97f4a7c15ULL);
		size_t k = len < 8 ? len : 8;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		memcpy(out, &z, k);
		out += k;
		len -= k;
	}
	return 0;
}

static fx_blob fx_keep(const uint8_t *p, long n)
{
	fx_blob b = {NULL, 0};
	if (n <= 0)
		abort();
	b.p = malloc((size_t)n);
	if (b.p == NULL)
		abort();
	memcpy(b.p, p, (size_t)n);
	b.n = (size_t)n;
	return b;
}

static void fx_write(const char *dir, const char *target, const char *name,
		     uint8_t prefix, int use_prefix, const fx_blob *b)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
	f = fopen(path, "wb");
	if (f == NULL)
		return;
	if (use_prefix)
		fputc(prefix, f);
	fwrite(b->p, 1, b->n, f);
	fclose(f);
}

static sg_group *fx_import(const fx_blob *st, const sg_identity *who)
{
	sg_group *g = NULL;
	if (sg_group_import(&g, &fx.env, &who->id, st->p, st->n) != 0)
		abort();
	return g;
}

static void fx_init(void)
{
	static uint8_t buf[1 << 18];
	uint8_t seed[32], card[SG_GROUP_CARD_LEN];
	sg_presence_config pc;
	sg_group *ga, *gb, *tmp;
	const char *dir;
	long n;

	if (fx.ready)
		return;
	if (sg_env_default(&fx.env) != 0)
		abort();
	fx.env.random = fx_random;
	fx.rng = 1;
	memset(seed, 0xa1, 32);
	sg_identity_from_seed(&fx.alice, seed);
	memset(seed, 0xb0, 32);
	sg_identity_from_seed(&fx.bob, seed);
	memset(seed, 0xc4, 32);
	sg_identity_from_seed(&fx.carol, seed);
	if (sg_group_create(&ga, &fx.env, &fx.alice, "fuzz", 4) != 0)
		abort();
	sg_group_card_make(card, sizeof(card), &fx.bob, NULL);
	n = sg_group_add_member(ga, buf, sizeof(buf), &fx.alice, card,
				sizeof(card));
	n = sg_group_invite(ga, buf, sizeof(buf), &fx.alice, &fx.bob.id, FX_NOW,
			    24ULL * 3600 * 1000);
	fx.invite = fx_keep(buf, n);
	n = sg_group_invite_to_text((char *)buf, sizeof(buf), fx.invite.p,
				    fx.invite.n);
	fx.invite_text = fx_keep(buf, n);
	if (sg_group_accept_invite(&gb, &fx.env, &fx.bob, fx.invite.p,
				   fx.invite.n, FX_NOW) != 0)
		abort();
	fx.alice_state = fx_keep(buf, sg_group_export(ga, buf, sizeof(buf)));
	fx.bob_state = fx_keep(buf, sg_group_export(gb, buf, sizeof(buf)));
	/* Commits Alice could send next (each from a copy at epoch 1). */
	tmp = fx_import(&fx.alice_state, &fx.alice);
	fx.commit_rekey = fx_keep(buf, sg_group_commit_encode(
					       tmp, buf, sizeof(buf), &fx.alice,
					       NULL));
	sg_group_del(tmp);
	tmp = fx_import(&fx.alice_state, &fx.alice);
	fx.commit_remove = fx_keep(buf, sg_group_remove_member(
						tmp, buf, sizeof(buf),
						&fx.alice, &fx.bob.id));
	fx.alice_state2 = fx_keep(buf, sg_group_export(tmp, buf, sizeof(buf)));
	sg_group_del(tmp);
	tmp = fx_import(&fx.alice_state, &fx.alice);
	sg_group_card_make(card, sizeof(card), &fx.carol, NULL);
	fx.commit_add = fx_keep(buf, sg_group_add_member(tmp, buf, sizeof(buf),
							 &fx.alice, card,
							 sizeof(card)));
	sg_group_del(tmp);
	/* Bob's leave notice (from a copy), a message, beacons. */
	tmp = fx_import(&fx.bob_state, &fx.bob);
	fx.leave = fx_keep(buf, sg_group_leave(tmp, buf, sizeof(buf),
					       &fx.bob));
	sg_group_del(tmp);
	fx.message = fx_keep(buf, sg_group_encrypt(ga, buf, sizeof(buf),
						   (const uint8_t *)"hello",
						   5));
	fx.message_empty = fx_keep(buf, sg_group_encrypt(ga, buf, sizeof(buf),
							 NULL, 0));
	sg_presence_config_default(&pc);
	{
		sg_addr a;
		memset(&a, 0, sizeof(a));
		a.family = 4;
		a.ip[0] = 10;
		a.ip[3] = 1;
		a.port = 9000;
		fx.beacon = fx_keep(buf, sg_presence_beacon_make(
						 buf, sizeof(buf), ga,
						 &fx.alice, &a, 1, 5, FX_NOW,
						 SG_PRESENCE_HELLO, &pc,
						 &fx.env));
	}
	pc.validity_ms = 0;
	fx.goodbye = fx_keep(buf, sg_presence_beacon_make(
					  buf, sizeof(buf), ga, &fx.alice,
					  NULL, 0, 6, FX_NOW, 0, &pc,
					  &fx.env));
	/* The inner item of the first beacon, decrypted here. */
	{
		sg_group_keys k;
		const uint8_t *ct = fx.beacon.p + fx.beacon.n;
		unsigned long long plen;
		uint8_t ad[17];
		size_t ct_len;
		/* [1, tag(16), nonce(24), ct]: 1 + 1 + 17 + 26 + 3 bytes of
		 * heads before the ciphertext. */
		ct_len = fx.beacon.n - 48;
		ct = fx.beacon.p + 48;
		sg_group_keys_get(ga, 0, &k);
		ad[0] = 1;
		memcpy(ad + 1, fx.beacon.p + 3, 16);
		if (crypto_aead_xchacha20poly1305_ietf_decrypt(
			    buf, &plen, NULL, ct, ct_len, ad, sizeof(ad),
			    fx.beacon.p + 21, k.presence_key) != 0)
			abort();
		fx.inner = fx_keep(buf, (long)plen);
	}
	sg_group_del(ga);
	sg_group_del(gb);
	fx.ready = 1;

	dir = getenv("SG_FUZZ_SEED_DIR");
	if (dir != NULL) {
		fx_write(dir, "fuzz_group_invite", "invite", 0, 0, &fx.invite);
		fx_write(dir, "fuzz_group_invite", "invite-text", 0, 0,
			 &fx.invite_text);
		fx_write(dir, "fuzz_group_commit", "rekey", 0, 0,
			 &fx.commit_rekey);
		fx_write(dir, "fuzz_group_commit", "remove", 0, 0,
			 &fx.commit_remove);
		fx_write(dir, "fuzz_group_commit", "add", 0, 0, &fx.commit_add);
		fx_write(dir, "fuzz_group_import", "alice", 0, 1,
			 &fx.alice_state);
		fx_write(dir, "fuzz_group_import", "bob", 1, 1, &fx.bob_state);
		fx_write(dir, "fuzz_group_import", "alice-parent", 0, 1,
			 &fx.alice_state2);
		fx_write(dir, "fuzz_group_msg", "message", 0, 0, &fx.message);
		fx_write(dir, "fuzz_group_msg", "message-empty", 0, 0,
			 &fx.message_empty);
		fx_write(dir, "fuzz_group_msg", "leave", 0, 0, &fx.leave);
		fx_write(dir, "fuzz_presence_beacon", "beacon", 0, 1,
			 &fx.beacon);
		fx_write(dir, "fuzz_presence_beacon", "goodbye", 0, 1,
			 &fx.goodbye);
		fx_write(dir, "fuzz_presence_beacon", "inner", 1, 1, &fx.inner);
		fx_write(dir, "fuzz_presence_beacon", "inner-sealed", 2, 1,
			 &fx.inner);
	}
}

#endif
