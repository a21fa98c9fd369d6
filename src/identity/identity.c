/*
 * Identities: PeerId and TopicId derivation (BLAKE3 derive-key, one context
 * per purpose) and the derivation of the ML-DSA-65 and ML-KEM-768 key pairs
 * from one 32-byte master seed, and signing with the identity's key, through
 * an optional expanded ML-DSA-65 key (FIPS 204 section 6.2's precomputation).
 */
#include "sg/identity.h"
#include "sg/blake3.h"
#include "sg/err.h"

#include <string.h>

void sg_peer_id_from_pk(sg_peer_id *id, const uint8_t pk[SG_MLDSA65_PK_LEN])
{
	sg_blake3_derive_key(id->bytes, SG_PEER_ID_LEN, SG_CTX_PEER_ID, pk,
			     SG_MLDSA65_PK_LEN);
}

void sg_topic_id_from_name(sg_topic_id *id, const char *name, size_t name_len)
{
	sg_blake3_derive_key(id->bytes, SG_TOPIC_ID_LEN, SG_CTX_TOPIC_ID, name,
			     name_len);
}

void sg_peer_id_hex(char out[SG_PEER_ID_HEX_LEN], const sg_peer_id *id)
{
	(void)sg_hex_encode(out, SG_PEER_ID_HEX_LEN, id->bytes, SG_PEER_ID_LEN);
}

void sg_peer_id_short(char out[SG_PEER_ID_SHORT_HEX_LEN], const sg_peer_id *id)
{
	(void)sg_hex_encode(out, SG_PEER_ID_SHORT_HEX_LEN, id->bytes, 8);
}

int sg_peer_id_parse(sg_peer_id *id, const char *hex, size_t len)
{
	if (len != 2 * SG_PEER_ID_LEN)
		return SG_ERR_MALFORMED;
	return sg_hex_decode(id->bytes, SG_PEER_ID_LEN, hex, len) ==
			       SG_PEER_ID_LEN
		       ? 0
		       : SG_ERR_MALFORMED;
}

int sg_peer_id_equal(const sg_peer_id *a, const sg_peer_id *b)
{
	return memcmp(a->bytes, b->bytes, SG_PEER_ID_LEN) == 0;
}

int sg_identity_from_seed(sg_identity *out,
			  const uint8_t seed[SG_IDENTITY_SEED_LEN])
{
	uint8_t xi[SG_MLDSA65_SEED_LEN], dz[SG_MLKEM768_SEED_LEN];
	int rc;

	/* out may be uninitialised: it starts unexpanded. */
	out->xsk = NULL;
	out->xsk_env = NULL;
	memcpy(out->seed, seed, SG_IDENTITY_SEED_LEN);
	sg_blake3_derive_key(xi, sizeof(xi), SG_CTX_IDENTITY_MLDSA, seed,
			     SG_IDENTITY_SEED_LEN);
	sg_blake3_derive_key(dz, sizeof(dz), SG_CTX_IDENTITY_MLKEM, seed,
			     SG_IDENTITY_SEED_LEN);
	rc = sg_mldsa65_keypair(out->pk, out->sk, xi);
	if (rc == 0)
		rc = sg_mlkem768_keypair(out->kem_ek, out->kem_dk, dz);
	sg_wipe(xi, sizeof(xi));
	sg_wipe(dz, sizeof(dz));
	if (rc != 0) {
		sg_identity_wipe(out);
		return rc;
	}
	sg_peer_id_from_pk(&out->id, out->pk);
	return 0;
}

int sg_identity_generate(sg_identity *out, const sg_env *env)
{
	uint8_t seed[SG_IDENTITY_SEED_LEN];
	int rc = sg_random(env, seed, sizeof(seed));

	if (rc == 0)
		rc = sg_identity_from_seed(out, seed);
	sg_wipe(seed, sizeof(seed));
	return rc;
}

void sg_identity_wipe(sg_identity *id)
{
	if (id->xsk != NULL) {
		sg_mldsa65_xsk_wipe(id->xsk);
		sg_free(id->xsk_env, id->xsk);
	}
	sg_wipe(id, sizeof(*id));
}

int sg_identity_expand(sg_identity *id, const sg_env *env)
{
	sg_mldsa65_xsk *x;

	if (id->xsk != NULL)
		return 0;
	if ((x = sg_alloc(env, sizeof(*x))) == NULL)
		return SG_ERR_NOMEM;
	sg_mldsa65_expand_sk(x, id->sk);
	id->xsk = x;
	id->xsk_env = env;
	return 0;
}

int sg_identity_sign(const sg_identity *id, uint8_t sig[SG_MLDSA65_SIG_LEN],
		     const uint8_t *msg, size_t msg_len, const uint8_t *ctx,
		     size_t ctx_len, const uint8_t rnd[SG_MLDSA65_RND_LEN])
{
	if (id->xsk != NULL)
		return sg_mldsa65_sign_expanded(sig, msg, msg_len, ctx, ctx_len,
						id->xsk, rnd);
	return sg_mldsa65_sign(sig, msg, msg_len, ctx, ctx_len, id->sk, rnd);
}
