/*
 * Relay frames and the relay's rate limiter (docs/PROTOCOL.md, "Relay"):
 * pure code, no I/O. The endpoint (src/io/endpoint.c) carries the QUIC
 * datagrams of a relayed path in these frames and, on a node with the
 * relay role, forwards them under the limiter's token buckets.
 *
 * A relay frame is a whole discovery frame: the 6-byte frame header (type
 * SG_FRAME_DISCOVERY), a kind byte (SG_RELAY_KIND_RELAY: to the relay,
 * SG_RELAY_KIND_RELAYED: from it), then [peer: bstr(32), packet: bstr] in
 * deterministic CBOR.
 */
#ifndef SG_RELAY_H
#define SG_RELAY_H

#include "common.h"
#include "env.h"
#include "identity.h"

#define SG_RELAY_KIND_RELAY 5	/* A -> R: [to, packet] */
#define SG_RELAY_KIND_RELAYED 6 /* R -> B: [from, packet] */
#define SG_RELAY_PACKET_MAX 1452
/* header 6 + kind 1 + array 1 + bstr(32) 2+32 + bstr head 3 + packet */
#define SG_RELAY_FRAME_MAX (6 + 1 + 1 + 34 + 3 + SG_RELAY_PACKET_MAX)

/* Writes a relay frame into out: its length, or SG_ERR_RANGE (packet
 * empty or longer than SG_RELAY_PACKET_MAX, or cap too small),
 * SG_ERR_INVAL (unknown kind). */
SG_API long sg_relay_frame_encode(uint8_t *out, size_t cap, uint8_t kind,
				  const sg_peer_id *peer, const uint8_t *pkt,
				  size_t len);

/* Decodes a whole message as a relay frame; *pkt is a view into frame.
 * SG_ERR_NOTFOUND: not a relay frame (another frame type or discovery
 * kind, or too short to tell): the caller handles it as usual. Else 0 or
 * the error of a malformed relay frame: SG_ERR_MALFORMED (header length
 * disagrees, wrong shape), SG_ERR_RANGE (bad lengths), SG_ERR_TRUNCATED,
 * SG_ERR_NONCANONICAL, SG_ERR_TYPE, SG_ERR_TRAILING. */
SG_API int sg_relay_frame_decode(uint8_t *kind, sg_peer_id *peer,
				 const uint8_t **pkt, size_t *pkt_len,
				 const uint8_t *frame, size_t len);

/* Token buckets of a relay: per source (bytes and frames) and global
 * (bytes), refilled continuously. */
typedef struct sg_relay_limits {
	size_t size;		     /* sizeof(sg_relay_limits) */
	uint32_t bytes_per_s;	     /* per source, default 1 MiB */
	uint32_t burst_bytes;	     /* per source, default 256 KiB */
	uint32_t frames_per_s;	     /* per source, default 1000 */
	uint32_t burst_frames;	     /* per source, default 256 */
	uint32_t global_bytes_per_s; /* default 16 MiB */
	uint32_t global_burst_bytes; /* default 1 MiB */
	size_t max_sources;	     /* sources tracked, default 256 */
} sg_relay_limits;

SG_API void sg_relay_limits_default(sg_relay_limits *l);

typedef struct sg_relay_limiter sg_relay_limiter;

/* NULL with *err: SG_ERR_INVAL (size, zero rates or bursts, no sources),
 * SG_ERR_NOMEM. */
SG_API sg_relay_limiter *
sg_relay_limiter_new(const sg_env *env, const sg_relay_limits *l, int *err);
SG_API void sg_relay_limiter_del(sg_relay_limiter *rl);
/* 1 and the tokens taken if src may relay a frame of bytes now, else 0
 * (nothing taken). A source not in the table gets full buckets; when the
 * table is full, the source idle longest is forgotten to make room. */
SG_API int sg_relay_limiter_admit(sg_relay_limiter *rl, const sg_peer_id *src,
				  size_t bytes, uint64_t now_ms);
/* Sources currently tracked. */
SG_API size_t sg_relay_limiter_sources(const sg_relay_limiter *rl);

#endif
