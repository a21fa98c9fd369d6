/*
 * Wire formats shared by every protocol (docs/PROTOCOL.md, "Frames",
 * "Published message", "Coordinator advert"):
 *
 * - the frame header that precedes every protocol message on a stream:
 *   version, message type, body length; the length is checked against a
 *   maximum before anything is allocated;
 * - the published-message envelope: a header signed once by its publisher
 *   (ML-DSA-65, context SG_SIGCTX_MESSAGE) and forwarded verbatim; its id is
 *   derived from the signed header so every receiver can recompute it;
 * - the coordinator advert: a signed, expiring, sequenced record of a
 *   peer's key, roles and addresses.
 *
 * Decoders return views into the caller's buffer and check every field
 * before returning; signatures are checked separately (they need a key).
 */
#ifndef SG_MSG_H
#define SG_MSG_H

#include "common.h"
#include "identity.h"

/* ML-DSA-65 context strings, one per purpose (never reused). */
#define SG_SIGCTX_MESSAGE "saorsa-gossip/v1 published message"
#define SG_SIGCTX_ADVERT "saorsa-gossip/v1 coordinator advert"
/* BLAKE3 derive-key contexts. */
#define SG_CTX_MESSAGE_ID "saorsa-gossip 2026-11 message id v1"
#define SG_CTX_PAYLOAD_HASH "saorsa-gossip 2026-11 payload hash v1"

/* ---- Frames ------------------------------------------------------------ */

#define SG_FRAME_VERSION 1
#define SG_FRAME_HEADER_LEN 6
#define SG_FRAME_DEFAULT_MAX (1u << 20) /* 1 MiB body */

typedef enum sg_frame_type {
	SG_FRAME_MEMBERSHIP = 1,
	SG_FRAME_PUBSUB = 2,
	SG_FRAME_PRESENCE = 3,
	SG_FRAME_SYNC = 4,
	SG_FRAME_DISCOVERY = 5,
	SG_FRAME_DIRECT = 6,
} sg_frame_type;

/* Writes the 6-byte header: version, type, body length (u32 big-endian).
 * SG_ERR_RANGE if body_len > max_body or type unknown. */
SG_API int sg_frame_header_encode(uint8_t out[SG_FRAME_HEADER_LEN],
				  sg_frame_type type, size_t body_len,
				  size_t max_body);
/* Parses a header from the first 6 bytes of in. SG_ERR_TRUNCATED (fewer
 * than 6 bytes), SG_ERR_UNSUPPORTED (other version), SG_ERR_MALFORMED
 * (unknown type), SG_ERR_RANGE (body longer than max_body). */
SG_API int sg_frame_header_decode(sg_frame_type *type, size_t *body_len,
				  const uint8_t *in, size_t in_len,
				  size_t max_body);

/* ---- Published messages ---------------------------------------------- */

#define SG_MSG_VERSION 1
#define SG_MSG_ID_LEN 32
#define SG_MSG_MAX_PAYLOAD (SG_FRAME_DEFAULT_MAX - 4096)
/* Bytes an envelope adds to its payload, at most: outer array head 1,
 * header 131 (array head 1, version 1, three 32-byte strings at 34 each,
 * three integers at up to 9 each), payload string head 5, signature
 * string 3 + 3309. */
#define SG_MSG_OVERHEAD 3449

typedef struct sg_msg_header {
	sg_topic_id topic;
	sg_peer_id publisher;
	uint64_t seq;             /* per publisher, strictly increasing */
	uint64_t publish_ms;      /* Unix milliseconds */
	uint64_t expires_ms;      /* Unix milliseconds, > publish_ms */
	uint8_t payload_hash[32]; /* BLAKE3 derive-key(SG_CTX_PAYLOAD_HASH) */
} sg_msg_header;

/* A decoded envelope: views into the buffer it was decoded from. */
typedef struct sg_msg_view {
	sg_msg_header hdr;
	const uint8_t *signed_part; /* the encoded header: what is signed */
	size_t signed_len;
	const uint8_t *payload;
	size_t payload_len;
	const uint8_t *sig; /* SG_MLDSA65_SIG_LEN bytes */
	uint8_t id[SG_MSG_ID_LEN];
} sg_msg_view;

/* Builds and signs an envelope. The header's publisher and payload_hash
 * are filled in from the identity and payload; topic, seq, publish_ms and
 * expires_ms come from the caller. rnd: 32 random bytes for hedged
 * signing (NULL: deterministic). Returns the length written, or
 * SG_ERR_BUFSIZE / SG_ERR_RANGE (payload too large, expires <= publish). */
SG_API long sg_msg_sign(uint8_t *out, size_t out_cap, sg_msg_header *hdr,
			const uint8_t *payload, size_t payload_len,
			const sg_identity *ident, const uint8_t rnd[32]);

/* Parses an envelope (strict deterministic CBOR), checks the version, the
 * field sizes, the payload against its hash and the time fields' order,
 * and computes the message id. Does not check the signature. Errors:
 * SG_ERR_MALFORMED / SG_ERR_NONCANONICAL / SG_ERR_TRUNCATED / SG_ERR_TYPE /
 * SG_ERR_TRAILING (CBOR), SG_ERR_UNSUPPORTED (version), SG_ERR_VERIFY
 * (payload hash), SG_ERR_RANGE. */
SG_API int sg_msg_decode(sg_msg_view *v, const uint8_t *buf, size_t len);

/* Checks the publisher's signature with its public key, which must hash to
 * the header's publisher PeerId. 0 or SG_ERR_VERIFY. */
SG_API int sg_msg_verify(const sg_msg_view *v,
			 const uint8_t pk[SG_MLDSA65_PK_LEN]);

/* Freshness: SG_ERR_EXPIRED when now is past expires_ms + skew or before
 * publish_ms - skew. */
SG_API int sg_msg_check_time(const sg_msg_view *v, uint64_t now_ms,
			     uint64_t skew_ms);

/* ---- Coordinator adverts ---------------------------------------------- */

#define SG_ADVERT_VERSION 1
#define SG_ADVERT_MAX_ADDRS 8
#define SG_ADVERT_MAX_VALIDITY_MS (24ull * 3600 * 1000)

enum {
	SG_ROLE_COORDINATOR = 1u << 0,
	SG_ROLE_REFLECTOR = 1u << 1,
	SG_ROLE_RELAY = 1u << 2,
	SG_ROLE_RENDEZVOUS = 1u << 3,
	SG_ROLE_ALL = 0xfu,
};

typedef enum sg_nat_class {
	SG_NAT_UNKNOWN = 0,
	SG_NAT_NONE = 1,            /* publicly reachable */
	SG_NAT_ENDPOINT_INDEPENDENT = 2,
	SG_NAT_ADDRESS_DEPENDENT = 3,
	SG_NAT_SYMMETRIC = 4,
} sg_nat_class;

typedef struct sg_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t ip[16]; /* first 4 bytes for IPv4 */
	uint16_t port;
} sg_addr;

typedef struct sg_advert {
	sg_peer_id id;
	uint8_t pk[SG_MLDSA65_PK_LEN];
	uint8_t kem_ek[SG_MLKEM768_EK_LEN];
	uint32_t roles;
	sg_nat_class nat;
	sg_addr addrs[SG_ADVERT_MAX_ADDRS];
	size_t naddrs;
	uint64_t seq;
	uint64_t not_before_ms;
	uint64_t not_after_ms;
} sg_advert;

/* Encodes and signs adv (its id, pk and kem_ek are taken from ident).
 * Returns the length, or SG_ERR_BUFSIZE / SG_ERR_RANGE (bad window, too
 * many addresses, unknown roles). */
SG_API long sg_advert_sign(uint8_t *out, size_t out_cap, sg_advert *adv,
			   const sg_identity *ident, const uint8_t rnd[32]);

/* Decodes and fully checks an advert: structure, PeerId == hash of the
 * key, roles, addresses, validity window (not longer than
 * SG_ADVERT_MAX_VALIDITY_MS, and containing now within skew), and the
 * signature. Errors: CBOR errors, SG_ERR_UNSUPPORTED, SG_ERR_RANGE,
 * SG_ERR_VERIFY (signature or PeerId), SG_ERR_EXPIRED. */
SG_API int sg_advert_decode_verify(sg_advert *adv, const uint8_t *buf,
				   size_t len, uint64_t now_ms,
				   uint64_t skew_ms);

/* Whether incoming may replace current for the same PeerId: only a
 * strictly higher sequence number wins. */
SG_API int sg_advert_newer(const sg_advert *incoming, const sg_advert *current);

#endif
