/*
 * Fuzz target: presence beacons into a tracker of Bob's view of the
 * fixture group (tests/fuzz/fuzz_group_fixture.h). The first byte picks:
 * 0 the bytes are a beacon, fed to sg_presence_recv from Alice's link;
 * 1 they are an inner record for sg_presence_inner_decode; 2 they are an
 * inner record that this target seals under the group's presence key
 * with the current slice's tag, so the tracker's own inner checks run on
 * arbitrary plaintext. Nothing may crash, leak or list a non-member.
 */
#include "fuzz_group_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t seal_raw(uint8_t *out, size_t cap, const sg_group *g,
		       const uint8_t *inner, size_t len)
{
	sg_group_keys k;
	uint8_t tag[16], nonce[24], ad[17];
	unsigned long long clen;
	sg_cbor_enc e;
	size_t at;

	sg_group_keys_get(g, 0, &k);
	sg_presence_tag(tag, k.tag_key, FX_NOW / 600000);
	memset(nonce, 0x33, sizeof(nonce));
	sg_cbor_enc_init(&e, NULL, 0);
	sg_cbor_put_array(&e, 4);
	sg_cbor_put_uint(&e, 1);
	sg_cbor_put_bytes(&e, tag, 16);
	sg_cbor_put_bytes(&e, nonce, 24);
	sg_cbor_put_bytes(&e, tag, len + 16);
	if (e.len > cap)
		return 0;
	at = e.len - len - 16;
	ad[0] = 1;
	memcpy(ad + 1, tag, 16);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + at, &clen, inner, len,
						   ad, sizeof(ad), NULL, nonce,
						   k.presence_key);
	sg_cbor_enc_init(&e, out, cap);
	sg_cbor_put_array(&e, 4);
	sg_cbor_put_uint(&e, 1);
	sg_cbor_put_bytes(&e, tag, 16);
	sg_cbor_put_bytes(&e, nonce, 24);
	sg_cbor_put_bytes(&e, out + at, len + 16);
	return e.len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[1 << 16];
	static sg_group *g;
	sg_presence_entry e[4];
	sg_presence_event ev;
	sg_presence *p;
	sg_beacon b;
	const uint8_t *body, *sig;
	size_t body_len, n, i;

	fx_init();
	if (size < 1)
		return 0;
	if (g == NULL)
		g = fx_import(&fx.bob_state, &fx.bob);
	if (data[0] == 1) {
		if (sg_presence_inner_decode(&b, &body, &body_len, &sig,
					     data + 1, size - 1) == 0 &&
		    (b.naddrs > SG_PRESENCE_MAX_ADDRS ||
		     body + body_len > data + size))
			__builtin_trap();
		return 0;
	}
	p = sg_presence_new(&fx.env, NULL, g, &fx.bob.id);
	if (p == NULL)
		return 0;
	if (data[0] == 2) {
		n = seal_raw(buf, sizeof(buf), g, data + 1, size - 1);
		if (n > 0)
			(void)sg_presence_recv(p, buf, n, &fx.alice.id, FX_NOW);
	} else {
		(void)sg_presence_recv(p, data + 1, size - 1, &fx.alice.id,
				       FX_NOW);
	}
	n = sg_presence_online(p, FX_NOW, e, 4);
	for (i = 0; i < n && i < 4; i++)
		if (!sg_group_is_member(g, &e[i].member) ||
		    sg_peer_id_equal(&e[i].member, &fx.bob.id))
			__builtin_trap();
	sg_presence_tick(p, FX_NOW + 3600000);
	while (sg_presence_poll_event(p, &ev))
		;
	if (sg_presence_online(p, FX_NOW + 3600000, NULL, 0) != 0)
		__builtin_trap();
	sg_presence_del(p);
	return 0;
}
