/*
 * The pure parts of the handshake key schedule (docs/PROTOCOL.md, section
 * H.4): the Extract and Expand primitives over BLAKE3, packet-protection
 * keys from a traffic secret, key updates, the Initial secrets of our
 * private QUIC version, the Retry integrity tag, and ChaCha20-Poly1305
 * packet protection with ChaCha20 header protection (RFC 9001 sections 5.3
 * and 5.4.4).
 */
#include "sg/blake3.h"
#include "sg/err.h"

#include <limits.h>
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "hs_internal.h"

/* ---- Key schedule (H.4) ------------------------------------------------ */

/* Extract(salt, ikm) = BLAKE3-keyed(salt, ikm). */
void sg_hs_extract(uint8_t out[SECRET_LEN], const uint8_t salt[SECRET_LEN],
		   const uint8_t *ikm, size_t ikm_len)
{
	sg_blake3_keyed(out, salt, ikm, ikm_len);
}

/* Expand(secret, label, ctx, L) = BLAKE3-derive-key(label, secret || ctx). */
void sg_hs_expand(uint8_t *out, size_t out_len, const uint8_t *secret,
		  const char *label, const uint8_t *ctx, size_t ctx_len)
{
	sg_blake3_hasher h;

	sg_blake3_init_derive_key(&h, label);
	sg_blake3_update(&h, secret, SECRET_LEN);
	if (ctx_len > 0)
		sg_blake3_update(&h, ctx, ctx_len);
	sg_blake3_final(&h, out, out_len);
	sg_blake3_wipe(&h);
}

void sg_handshake_pkt_keys_from_secret(sg_handshake_pkt_keys *keys,
				       const uint8_t secret[SECRET_LEN])
{
	sg_hs_expand(keys->key, sizeof(keys->key), secret, CTX_QUIC_KEY, NULL,
		     0);
	sg_hs_expand(keys->iv, sizeof(keys->iv), secret, CTX_QUIC_IV, NULL, 0);
	sg_hs_expand(keys->hp, sizeof(keys->hp), secret, CTX_QUIC_HP, NULL, 0);
}

void sg_handshake_next_secret(uint8_t next[SECRET_LEN],
			      const uint8_t cur[SECRET_LEN])
{
	uint8_t tmp[SECRET_LEN];

	sg_hs_expand(tmp, sizeof(tmp), cur, CTX_UPDATE, NULL, 0);
	memcpy(next, tmp, sizeof(tmp));
	sg_wipe(tmp, sizeof(tmp));
}

int sg_handshake_initial_secrets(uint8_t client[SECRET_LEN],
				 uint8_t server[SECRET_LEN],
				 const uint8_t *dcid, size_t dcid_len)
{
	uint8_t salt[SECRET_LEN], is[SECRET_LEN];

	if (!client || !server || (!dcid && dcid_len > 0))
		return SG_ERR_INVAL;
	if (dcid_len > SG_QUIC_MAX_CID_LEN)
		return SG_ERR_RANGE;
	sg_blake3_derive_key(salt, sizeof(salt), CTX_INITIAL_SALT, NULL, 0);
	sg_hs_extract(is, salt, dcid, dcid_len);
	sg_hs_expand(client, SECRET_LEN, is, CTX_C_INITIAL, NULL, 0);
	sg_hs_expand(server, SECRET_LEN, is, CTX_S_INITIAL, NULL, 0);
	sg_wipe(is, sizeof(is));
	return 0;
}

void sg_handshake_retry_key(uint8_t key[SG_HANDSHAKE_KEY_LEN],
			    uint8_t nonce[SG_HANDSHAKE_IV_LEN])
{
	sg_blake3_derive_key(key, SG_HANDSHAKE_KEY_LEN, CTX_RETRY_KEY, NULL, 0);
	sg_blake3_derive_key(nonce, SG_HANDSHAKE_IV_LEN, CTX_RETRY_NONCE, NULL,
			     0);
}

int sg_handshake_retry_tag(uint8_t tag[SG_HANDSHAKE_TAG_LEN],
			   const uint8_t *pseudo, size_t pseudo_len)
{
	uint8_t key[SG_HANDSHAKE_KEY_LEN], nonce[SG_HANDSHAKE_IV_LEN];
	unsigned long long tag_len = 0;
	uint8_t none[1]; /* the empty ciphertext (libsodium wants a pointer) */
	int rc;

	if (!tag || (!pseudo && pseudo_len > 0))
		return SG_ERR_INVAL;
	sg_handshake_retry_key(key, nonce);
	rc = crypto_aead_chacha20poly1305_ietf_encrypt_detached(
	    none, tag, &tag_len, none, 0, pseudo, pseudo_len, NULL, nonce, key);
	return rc == 0 && tag_len == SG_HANDSHAKE_TAG_LEN ? 0 : SG_ERR_CRYPTO;
}

/* RFC 9001 section 5.3: the 62-bit packet number, left-padded to the IV's
 * length and XORed with it. */
void sg_handshake_pkt_nonce(uint8_t nonce[SG_HANDSHAKE_IV_LEN],
			    const uint8_t iv[SG_HANDSHAKE_IV_LEN], uint64_t pn)
{
	int i;

	memcpy(nonce, iv, SG_HANDSHAKE_IV_LEN);
	for (i = 0; i < 8; i++)
		nonce[SG_HANDSHAKE_IV_LEN - 1 - i] ^= (uint8_t)(pn >> (8 * i));
}

long sg_handshake_pkt_seal(uint8_t *out, size_t out_cap,
			   const sg_handshake_pkt_keys *keys, uint64_t pn,
			   const uint8_t *ad, size_t ad_len, const uint8_t *pt,
			   size_t pt_len)
{
	uint8_t nonce[SG_HANDSHAKE_IV_LEN];
	unsigned long long clen = 0;
	int rc;

	if (!out || !keys || (!ad && ad_len > 0) || (!pt && pt_len > 0))
		return SG_ERR_INVAL;
	if (pt_len > SIZE_MAX - SG_HANDSHAKE_TAG_LEN ||
	    pt_len > (size_t)(LONG_MAX - SG_HANDSHAKE_TAG_LEN))
		return SG_ERR_RANGE;
	if (out_cap < pt_len + SG_HANDSHAKE_TAG_LEN)
		return SG_ERR_BUFSIZE;
	sg_handshake_pkt_nonce(nonce, keys->iv, pn);
	rc = crypto_aead_chacha20poly1305_ietf_encrypt(
	    out, &clen, pt_len ? pt : out, pt_len, ad, ad_len, NULL, nonce,
	    keys->key);
	return rc == 0 ? (long)clen : SG_ERR_CRYPTO;
}

long sg_handshake_pkt_open(uint8_t *out, size_t out_cap,
			   const sg_handshake_pkt_keys *keys, uint64_t pn,
			   const uint8_t *ad, size_t ad_len, const uint8_t *ct,
			   size_t ct_len)
{
	uint8_t nonce[SG_HANDSHAKE_IV_LEN];
	unsigned long long plen = 0;

	if (!out || !keys || !ct || (!ad && ad_len > 0))
		return SG_ERR_INVAL;
	if (ct_len < SG_HANDSHAKE_TAG_LEN)
		return SG_ERR_VERIFY;
	if (ct_len - SG_HANDSHAKE_TAG_LEN > (size_t)LONG_MAX)
		return SG_ERR_RANGE;
	if (out_cap < ct_len - SG_HANDSHAKE_TAG_LEN)
		return SG_ERR_BUFSIZE;
	sg_handshake_pkt_nonce(nonce, keys->iv, pn);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &plen, NULL, ct,
						      ct_len, ad, ad_len, nonce,
						      keys->key) != 0)
		return SG_ERR_VERIFY;
	return (long)plen;
}

/* RFC 9001 section 5.4.4: ChaCha20 keyed with hp, block counter = the
 * sample's first 4 bytes (little-endian), nonce = its other 12; the mask is
 * the first 5 bytes of the keystream. */
void sg_handshake_hp_mask(uint8_t mask[SG_HANDSHAKE_HP_MASK_LEN],
			  const uint8_t hp[SG_HANDSHAKE_HP_LEN],
			  const uint8_t sample[SG_HANDSHAKE_HP_SAMPLE_LEN])
{
	static const uint8_t zero[SG_HANDSHAKE_HP_MASK_LEN];
	uint32_t counter = (uint32_t)sample[0] | (uint32_t)sample[1] << 8 |
			   (uint32_t)sample[2] << 16 |
			   (uint32_t)sample[3] << 24;

	crypto_stream_chacha20_ietf_xor_ic(mask, zero, sizeof(zero), sample + 4,
					   counter, hp);
}
