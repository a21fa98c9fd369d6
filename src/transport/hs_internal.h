/*
 * Internals shared by the handshake state machine (handshake.c) and the
 * pure key schedule and packet protection (keysched.c): the two BLAKE3
 * key-schedule primitives and the context strings of docs/PROTOCOL.md
 * sections H.3 and H.4.
 */
#ifndef SG_TRANSPORT_HS_INTERNAL_H
#define SG_TRANSPORT_HS_INTERNAL_H

#include "sg/handshake.h"

/* H.3, H.4: BLAKE3 derive-key contexts, one per use. */
#define CTX_TRANSCRIPT "saorsa-gossip 2026-11 handshake transcript v1"
#define CTX_C_HS "saorsa-gossip 2026-11 handshake client handshake traffic v1"
#define CTX_S_HS "saorsa-gossip 2026-11 handshake server handshake traffic v1"
#define CTX_DERIVED "saorsa-gossip 2026-11 handshake derived v1"
#define CTX_FINISHED "saorsa-gossip 2026-11 handshake finished v1"
#define CTX_C_AP "saorsa-gossip 2026-11 handshake client application traffic v1"
#define CTX_S_AP "saorsa-gossip 2026-11 handshake server application traffic v1"
#define CTX_UPDATE                                                             \
	"saorsa-gossip 2026-11 handshake application traffic update v1"
#define CTX_QUIC_KEY "saorsa-gossip 2026-11 quic key v1"
#define CTX_QUIC_IV "saorsa-gossip 2026-11 quic iv v1"
#define CTX_QUIC_HP "saorsa-gossip 2026-11 quic hp v1"
#define CTX_INITIAL_SALT "saorsa-gossip 2026-11 quic initial salt v1"
#define CTX_C_INITIAL "saorsa-gossip 2026-11 quic client initial v1"
#define CTX_S_INITIAL "saorsa-gossip 2026-11 quic server initial v1"
#define CTX_RETRY_KEY "saorsa-gossip 2026-11 quic retry integrity key v1"
#define CTX_RETRY_NONCE "saorsa-gossip 2026-11 quic retry integrity nonce v1"

#define SECRET_LEN SG_HANDSHAKE_SECRET_LEN

/* Extract(salt, ikm) = BLAKE3-keyed(key = salt, ikm) (H.4). */
void sg_hs_extract(uint8_t out[SECRET_LEN], const uint8_t salt[SECRET_LEN],
		   const uint8_t *ikm, size_t ikm_len);

/* Expand(secret, label, ctx, L) = BLAKE3-derive-key(label, secret || ctx),
 * the first out_len bytes (H.4). ctx may be NULL when ctx_len is 0. */
void sg_hs_expand(uint8_t *out, size_t out_len, const uint8_t *secret,
		  const char *label, const uint8_t *ctx, size_t ctx_len);

#endif
