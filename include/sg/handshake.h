/*
 * The hybrid post-quantum handshake that secures saorsa-gossip's QUIC
 * connections (docs/PROTOCOL.md, "Handshake", sections H.1-H.8): X25519 +
 * ML-KEM-768 key exchange, ML-DSA-65 signatures over the transcript (SIGMA-I
 * as in TLS 1.3), Finished MACs, and a BLAKE3 key schedule that yields the
 * QUIC traffic secrets and ChaCha20-Poly1305 packet-protection keys.
 *
 * A pure state machine: the caller feeds it the CRYPTO stream bytes it
 * receives at each encryption level (sg_handshake_recv), sends what
 * sg_handshake_poll_tx returns at the level it names, and installs the keys
 * of a level once sg_handshake_keys has them. Randomness comes from the
 * sg_env; nothing allocates; the object lives in caller storage.
 */
#ifndef SG_HANDSHAKE_H
#define SG_HANDSHAKE_H

#include "common.h"
#include "env.h"
#include "identity.h"

/* The handshake protocol version carried in the hellos (H.2). */
#define SG_HANDSHAKE_VERSION 1
/* The QUIC version in packet headers (H.4). Not a private number:
 * ngtcp2 1.x handles only QUIC v1 and v2 (ngtcp2_accept() refuses an
 * Initial packet of any other version, checked against 1.11), so our
 * packets say v1. They are still not QUIC v1: our Initial salt and key
 * labels differ from RFC 9001's, so a standard v1 endpoint cannot read our
 * Initial packets nor we its, and the handshake's own version field (H.2)
 * versions the protocol. */
#define SG_QUIC_VERSION 0x00000001u

#define SG_HANDSHAKE_SECRET_LEN 32
#define SG_HANDSHAKE_KEY_LEN 32 /* ChaCha20-Poly1305 key */
#define SG_HANDSHAKE_IV_LEN 12
#define SG_HANDSHAKE_HP_LEN 32 /* ChaCha20 header-protection key */
#define SG_HANDSHAKE_TAG_LEN 16
/* Largest transport-parameter blob either side may send (H.2). */
#define SG_HANDSHAKE_MAX_TP 2048
/* Largest message body accepted (H.2); the header adds 4 bytes. */
#define SG_HANDSHAKE_MAX_BODY 6144
#define SG_HANDSHAKE_HEADER_LEN 4
/* QUIC connection IDs are at most 20 bytes (RFC 9000 section 17.2). */
#define SG_QUIC_MAX_CID_LEN 20

/* ML-DSA-65 context strings (docs/PROTOCOL.md, names table). */
#define SG_SIGCTX_HANDSHAKE_SERVER "saorsa-gossip/v1 handshake server"
#define SG_SIGCTX_HANDSHAKE_CLIENT "saorsa-gossip/v1 handshake client"

typedef enum sg_handshake_role {
	SG_HANDSHAKE_CLIENT = 0,
	SG_HANDSHAKE_SERVER = 1,
} sg_handshake_role;

/* QUIC encryption levels that carry handshake data or use its keys. */
typedef enum sg_handshake_level {
	SG_HANDSHAKE_LEVEL_INITIAL = 0,
	SG_HANDSHAKE_LEVEL_HANDSHAKE = 1,
	SG_HANDSHAKE_LEVEL_APP = 2, /* 1-RTT: keys only, no handshake data */
} sg_handshake_level;

/* Direction as seen by the local endpoint. */
typedef enum sg_handshake_dir {
	SG_HANDSHAKE_TX = 0,
	SG_HANDSHAKE_RX = 1,
} sg_handshake_dir;

/* Handshake message types (H.2). */
enum {
	SG_HS_MSG_CLIENT_HELLO = 1,
	SG_HS_MSG_SERVER_HELLO = 2,
	SG_HS_MSG_SERVER_IDENTITY = 3,
	SG_HS_MSG_CLIENT_IDENTITY = 4,
	SG_HS_MSG_CERT_VERIFY = 5,
	SG_HS_MSG_FINISHED = 6,
};

/* Packet-protection material for one level and direction (H.4). */
typedef struct sg_handshake_pkt_keys {
	uint8_t key[SG_HANDSHAKE_KEY_LEN];
	uint8_t iv[SG_HANDSHAKE_IV_LEN];
	uint8_t hp[SG_HANDSHAKE_HP_LEN];
} sg_handshake_pkt_keys;

/* Caller storage for one handshake; contents are private. Holds secrets:
 * always end with sg_handshake_fini(). */
#define SG_HANDSHAKE_OPAQUE_WORDS 4352
typedef struct sg_handshake {
	uint64_t opaque[SG_HANDSHAKE_OPAQUE_WORDS];
} sg_handshake;

/*
 * Starts a handshake. ident is borrowed and must stay valid until
 * sg_handshake_fini (it signs). A client may name the PeerId it expects
 * (expected, else NULL); a server passes NULL. tp: this side's transport
 * parameters (copied; at most SG_HANDSHAKE_MAX_TP bytes). env supplies
 * randomness and is borrowed for the lifetime of hs. A client draws its
 * ephemeral keys here and has its ClientHello ready in poll_tx.
 * Errors: SG_ERR_INVAL (NULL argument, expected given to a server),
 * SG_ERR_RANGE (tp too long), an error of env->random.
 */
SG_API int sg_handshake_init(sg_handshake *hs, sg_handshake_role role,
			     const sg_identity *ident,
			     const sg_peer_id *expected, const uint8_t *tp,
			     size_t tp_len, const sg_env *env);

/* Wipes every secret and the whole state. NULL is a no-op. */
SG_API void sg_handshake_fini(sg_handshake *hs);

/*
 * Consumes CRYPTO stream bytes received at a level, in stream order, in
 * chunks of any size, and processes every message they complete (H.5):
 * verification, key derivation and, for a server receiving a ClientHello,
 * the whole server flight. After an error the handshake is dead: the same
 * error is returned by every later call and its secrets are wiped.
 * Errors: SG_ERR_STATE (unexpected message, level or data), SG_ERR_RANGE
 * (message too long), SG_ERR_TRUNCATED / SG_ERR_MALFORMED /
 * SG_ERR_NONCANONICAL / SG_ERR_TYPE / SG_ERR_TRAILING / SG_ERR_UNSUPPORTED
 * (decoding), SG_ERR_KEY (bad ephemeral or identity key, all-zero X25519),
 * SG_ERR_VERIFY (signature, Finished, expected PeerId), SG_ERR_NOTFOUND
 * (server: the client expects another PeerId), SG_ERR_INVAL, or an error of
 * env->random.
 */
SG_API int sg_handshake_recv(sg_handshake *hs, sg_handshake_level level,
			     const uint8_t *in, size_t len);

/*
 * Copies up to cap bytes of pending output into out and sets *level to
 * the level they must be sent at (the lowest level with pending data; one
 * call never mixes levels). Returns the number of bytes (0: nothing to
 * send), or the sticky error. The bytes are consumed: keep them until QUIC
 * has them acknowledged.
 */
SG_API long sg_handshake_poll_tx(sg_handshake *hs, sg_handshake_level *level,
				 uint8_t *out, size_t cap);

/*
 * sg_handshake_poll_tx without the copy: points *out at all the pending
 * output of the lowest level with any, sets *level, and consumes it.
 * Returns its length (0: nothing to send, *out untouched), or the sticky
 * error. The state only appends to its output, so the bytes stay where
 * they are, unchanged, until sg_handshake_fini: a caller that keeps hs
 * alive as long as its transport needs them (QUIC, until they are
 * acknowledged) need not copy them.
 */
SG_API long sg_handshake_poll_tx_ref(sg_handshake *hs,
				     sg_handshake_level *level,
				     const uint8_t **out);

/* 1 once the handshake completed (client: its Finished is queued; server:
 * the client's Finished verified), else 0. */
SG_API int sg_handshake_done(const sg_handshake *hs);

/* The sticky error, or 0. */
SG_API int sg_handshake_error(const sg_handshake *hs);

/*
 * The traffic secret of a level (HANDSHAKE or APP) and direction, once
 * available: HANDSHAKE after the hellos, APP when done. Initial secrets
 * come from sg_handshake_initial_secrets (they need the connection ID).
 * Errors: SG_ERR_AGAIN (not yet), SG_ERR_INVAL, the sticky error.
 */
SG_API int sg_handshake_secret(const sg_handshake *hs, sg_handshake_level level,
			       sg_handshake_dir dir,
			       uint8_t out[SG_HANDSHAKE_SECRET_LEN]);
/* The packet-protection keys of the same secret. Same errors. */
SG_API int sg_handshake_keys(const sg_handshake *hs, sg_handshake_level level,
			     sg_handshake_dir dir, sg_handshake_pkt_keys *keys);

/*
 * The authenticated peer, once done: its PeerId (derived from the key it
 * proved), and views (valid until fini) of its ML-DSA-65 public key and
 * ML-KEM-768 identity key. Any output may be NULL.
 * Errors: SG_ERR_AGAIN (not done), the sticky error.
 */
SG_API int sg_handshake_peer(const sg_handshake *hs, sg_peer_id *id,
			     const uint8_t **pk, const uint8_t **kem_ek);

/*
 * The peer's transport parameters (a view valid until fini), as soon as
 * they arrived: a server has the client's after the ClientHello, a client
 * the server's after ServerIdentity. Authenticated only once done.
 * Errors: SG_ERR_AGAIN, the sticky error.
 */
SG_API int sg_handshake_remote_tp(const sg_handshake *hs, const uint8_t **tp,
				  size_t *tp_len);

/*
 * The cheap check of H.6: whether msg[0..len) is exactly one complete,
 * well-formed ClientHello (header, strict CBOR, sizes, version, ML-KEM key
 * modulus check). No state, no expensive crypto. Returns 0,
 * SG_ERR_TRUNCATED (incomplete: more CRYPTO data needed), or a decoding
 * error as for sg_handshake_recv.
 */
SG_API int sg_handshake_check_client_hello(const uint8_t *msg, size_t len);

/* QUIC CRYPTO_ERROR alert (the error code is 0x0100 + alert) for a
 * handshake error, per H.5. */
SG_API uint8_t sg_handshake_alert(int err);

/* ---- Pure key schedule (H.4) ------------------------------------------ */

/* key, iv and hp for a traffic secret. */
SG_API void sg_handshake_pkt_keys_from_secret(
    sg_handshake_pkt_keys *keys, const uint8_t secret[SG_HANDSHAKE_SECRET_LEN]);

/* The next generation of a 1-RTT secret (QUIC key update). next may alias
 * cur. */
SG_API void
sg_handshake_next_secret(uint8_t next[SG_HANDSHAKE_SECRET_LEN],
			 const uint8_t cur[SG_HANDSHAKE_SECRET_LEN]);

/* Initial secrets from the client's first Destination Connection ID.
 * Errors: SG_ERR_RANGE (dcid longer than 20 bytes), SG_ERR_INVAL. */
SG_API int sg_handshake_initial_secrets(uint8_t client[SG_HANDSHAKE_SECRET_LEN],
					uint8_t server[SG_HANDSHAKE_SECRET_LEN],
					const uint8_t *dcid, size_t dcid_len);

/* The fixed Retry integrity key and nonce. */
SG_API void sg_handshake_retry_key(uint8_t key[SG_HANDSHAKE_KEY_LEN],
				   uint8_t nonce[SG_HANDSHAKE_IV_LEN]);

/* The Retry integrity tag over the Retry pseudo-packet (RFC 9001 section
 * 5.8). Errors: SG_ERR_INVAL, SG_ERR_CRYPTO. */
SG_API int sg_handshake_retry_tag(uint8_t tag[SG_HANDSHAKE_TAG_LEN],
				  const uint8_t *pseudo, size_t pseudo_len);

/* ---- Packet protection (H.4; RFC 9001 sections 5.3, 5.4.4) ------------ */

#define SG_HANDSHAKE_HP_SAMPLE_LEN 16
#define SG_HANDSHAKE_HP_MASK_LEN 5

/* nonce = iv XOR the packet number, left-padded (RFC 9001 section 5.3). */
SG_API void sg_handshake_pkt_nonce(uint8_t nonce[SG_HANDSHAKE_IV_LEN],
				   const uint8_t iv[SG_HANDSHAKE_IV_LEN],
				   uint64_t pn);

/* AEAD_CHACHA20_POLY1305 over a packet payload with the header as
 * associated data: writes ciphertext || tag (pt_len + 16 bytes; out may
 * equal pt) and returns its length. Errors: SG_ERR_INVAL, SG_ERR_RANGE,
 * SG_ERR_BUFSIZE, SG_ERR_CRYPTO. */
SG_API long sg_handshake_pkt_seal(uint8_t *out, size_t out_cap,
				  const sg_handshake_pkt_keys *keys,
				  uint64_t pn, const uint8_t *ad, size_t ad_len,
				  const uint8_t *pt, size_t pt_len);

/* The inverse: returns the plaintext length (ct_len - 16; out may equal
 * ct), or SG_ERR_VERIFY (forged, damaged or shorter than a tag),
 * SG_ERR_INVAL, SG_ERR_RANGE, SG_ERR_BUFSIZE. */
SG_API long sg_handshake_pkt_open(uint8_t *out, size_t out_cap,
				  const sg_handshake_pkt_keys *keys,
				  uint64_t pn, const uint8_t *ad, size_t ad_len,
				  const uint8_t *ct, size_t ct_len);

/* The 5-byte header-protection mask for a 16-byte ciphertext sample
 * (RFC 9001 section 5.4.4, ChaCha20). */
SG_API void
sg_handshake_hp_mask(uint8_t mask[SG_HANDSHAKE_HP_MASK_LEN],
		     const uint8_t hp[SG_HANDSHAKE_HP_LEN],
		     const uint8_t sample[SG_HANDSHAKE_HP_SAMPLE_LEN]);

#endif
