/*
 * Identities: every peer is an ML-DSA-65 key pair (FIPS 204), named by a
 * 32-byte PeerId derived from its public key, and also holds an ML-KEM-768
 * key pair (FIPS 203) to which group secrets are encapsulated.
 *
 * Both key pairs derive from one 32-byte master seed, so that seed is the
 * only secret a keystore file has to hold:
 *   ML-DSA xi   = BLAKE3-derive-key(SG_CTX_IDENTITY_MLDSA, seed), 32 bytes
 *   ML-KEM d||z = BLAKE3-derive-key(SG_CTX_IDENTITY_MLKEM, seed), 64 bytes
 *   PeerId      = BLAKE3-derive-key(SG_CTX_PEER_ID, ML-DSA public key)
 *   TopicId     = BLAKE3-derive-key(SG_CTX_TOPIC_ID, topic name)
 */
#ifndef SG_IDENTITY_H
#define SG_IDENTITY_H

#include "common.h"
#include "env.h"
#include "mldsa65.h"
#include "mlkem768.h"

#define SG_PEER_ID_LEN 32
#define SG_TOPIC_ID_LEN 32
#define SG_IDENTITY_SEED_LEN 32
/* Hex forms: full (64 digits) and short (first 8 bytes, 16 digits). */
#define SG_PEER_ID_HEX_LEN 65
#define SG_PEER_ID_SHORT_HEX_LEN 17

/* BLAKE3 derive-key contexts. Each is used for exactly one purpose. */
#define SG_CTX_PEER_ID "saorsa-gossip 2026-11 peer id v1"
#define SG_CTX_TOPIC_ID "saorsa-gossip 2026-11 topic id v1"
#define SG_CTX_IDENTITY_MLDSA "saorsa-gossip 2026-11 identity ml-dsa-65 seed v1"
#define SG_CTX_IDENTITY_MLKEM "saorsa-gossip 2026-11 identity ml-kem-768 seed v1"

typedef struct sg_peer_id {
	uint8_t bytes[SG_PEER_ID_LEN];
} sg_peer_id;

typedef struct sg_topic_id {
	uint8_t bytes[SG_TOPIC_ID_LEN];
} sg_topic_id;

/* A full identity, secret parts included. Wipe with sg_identity_wipe().
 * An identity may be copied by assignment only while it is not expanded
 * (xsk == NULL): a copy would share the expansion that wiping frees. */
typedef struct sg_identity {
	uint8_t seed[SG_IDENTITY_SEED_LEN];
	uint8_t pk[SG_MLDSA65_PK_LEN];
	uint8_t sk[SG_MLDSA65_SK_LEN];
	uint8_t kem_ek[SG_MLKEM768_EK_LEN];
	uint8_t kem_dk[SG_MLKEM768_DK_LEN];
	sg_peer_id id;
	/* Optional ML-DSA-65 expanded signing key (sg_identity_expand), owned
	 * by this identity and freed through xsk_env by sg_identity_wipe.
	 * NULL: sg_identity_sign decodes sk on every call. */
	sg_mldsa65_xsk *xsk;
	const sg_env *xsk_env;
} sg_identity;

SG_API void sg_peer_id_from_pk(sg_peer_id *id,
			       const uint8_t pk[SG_MLDSA65_PK_LEN]);
SG_API void sg_topic_id_from_name(sg_topic_id *id, const char *name,
				  size_t name_len);

/* Writes 64 lower-case hex digits + NUL into out[SG_PEER_ID_HEX_LEN]. */
SG_API void sg_peer_id_hex(char out[SG_PEER_ID_HEX_LEN], const sg_peer_id *id);
/* The first 8 bytes as 16 hex digits + NUL, for logs. */
SG_API void sg_peer_id_short(char out[SG_PEER_ID_SHORT_HEX_LEN],
			     const sg_peer_id *id);
/* Parses 64 hex digits. SG_ERR_MALFORMED otherwise. */
SG_API int sg_peer_id_parse(sg_peer_id *id, const char *hex, size_t len);
SG_API int sg_peer_id_equal(const sg_peer_id *a, const sg_peer_id *b);

/* Derives both key pairs and the PeerId from a 32-byte master seed. */
SG_API int sg_identity_from_seed(sg_identity *out,
				 const uint8_t seed[SG_IDENTITY_SEED_LEN]);
/* A fresh identity from env's random source. */
SG_API int sg_identity_generate(sg_identity *out, const sg_env *env);
/* Wipes the identity; an expanded signing key is wiped and freed too. */
SG_API void sg_identity_wipe(sg_identity *id);

/* Precomputes the ML-DSA-65 expanded signing key (sg_mldsa65_xsk, about
 * 47 KB from env's allocator) so that sg_identity_sign skips decoding sk,
 * ExpandA and 17 NTTs per signature. For the few long-lived identities that
 * sign often (a node's own); env must outlive the identity. Does nothing if
 * already expanded. Errors: SG_ERR_NOMEM. */
SG_API int sg_identity_expand(sg_identity *id, const sg_env *env);

/* sg_mldsa65_sign(sig, msg, msg_len, ctx, ctx_len, id->sk, rnd), through
 * the expanded key when there is one: the signature is the same either
 * way. Errors as for sg_mldsa65_sign. */
SG_API int sg_identity_sign(const sg_identity *id,
			    uint8_t sig[SG_MLDSA65_SIG_LEN], const uint8_t *msg,
			    size_t msg_len, const uint8_t *ctx, size_t ctx_len,
			    const uint8_t rnd[SG_MLDSA65_RND_LEN]);

#endif
