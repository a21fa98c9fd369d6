/*
 * Rendezvous shards: meeting points for providers and seekers of a
 * capability, without a DHT. The capability's shard is the first 16 bits of
 * its BLAKE3 hash (65,536 shards); each shard is a topic, named
 * "saorsa-gossip/rendezvous/XXXX" (four hex digits). A provider publishes a
 * summary to the shard's topic (a publisher-signed message, include/sg/
 * msg.h, so the provider's PeerId is authenticated by its signature) and
 * re-publishes it before it expires; a seeker subscribes to the shard and
 * collects the summaries (Plumtree catch-up hands a new subscriber the
 * recent ones). Pure code: the node does the publishing and subscribing.
 */
#ifndef SG_RENDEZVOUS_H
#define SG_RENDEZVOUS_H

#include "common.h"
#include "env.h"
#include "identity.h"
#include "membership.h"

#define SG_RDV_SHARDS 65536u
#define SG_RDV_CAP_MAX 255
#define SG_RDV_ADDRS_MAX 4
#define SG_RDV_TOPIC_NAME_LEN 30 /* "saorsa-gossip/rendezvous/XXXX" + NUL */
#define SG_RDV_SUMMARY_MAX (16 + SG_RDV_CAP_MAX + SG_RDV_ADDRS_MAX * 50)

/* The shard of a capability: the first 16 bits (big-endian) of its
 * BLAKE3 hash. */
SG_API uint16_t sg_rdv_shard(const char *cap, size_t len);
/* The shard's topic name (NUL-terminated). */
SG_API void sg_rdv_topic_name(char out[SG_RDV_TOPIC_NAME_LEN], uint16_t shard);

typedef struct sg_rdv_summary {
	const char *cap; /* view into the decoded buffer */
	size_t cap_len;
	size_t n_addrs;
	uint8_t addr_len[SG_RDV_ADDRS_MAX];
	uint8_t addrs[SG_RDV_ADDRS_MAX][SG_MEMB_ADDR_MAX];
	uint64_t expires_ms; /* wall clock; <= now: withdrawn */
} sg_rdv_summary;

/* Payload of a summary: [1, capability: text, [ *addr: bstr ], expires_ms].
 * encode: length or SG_ERR_INVAL / SG_ERR_BUFSIZE. decode: 0 or
 * SG_ERR_MALFORMED / SG_ERR_UNSUPPORTED (version) / SG_ERR_RANGE / the CBOR
 * errors. */
SG_API long sg_rdv_summary_encode(uint8_t *out, size_t cap,
				  const sg_rdv_summary *s);
SG_API int sg_rdv_summary_decode(sg_rdv_summary *s, const uint8_t *buf,
				 size_t len);

/* What a seeker has collected: (capability, provider) entries, bounded;
 * when full, the entry that expires first makes room. */
typedef struct sg_rdv_table sg_rdv_table;

typedef struct sg_rdv_entry {
	char cap[SG_RDV_CAP_MAX + 1];
	sg_peer_id provider;
	size_t n_addrs;
	uint8_t addr_len[SG_RDV_ADDRS_MAX];
	uint8_t addrs[SG_RDV_ADDRS_MAX][SG_MEMB_ADDR_MAX];
	uint64_t expires_ms;
	uint64_t seq; /* the message's sequence number: newer replaces */
} sg_rdv_entry;

SG_API sg_rdv_table *sg_rdv_table_new(const sg_env *env, size_t max);
SG_API void sg_rdv_table_del(sg_rdv_table *t);
/* A verified summary from provider (with its message sequence number).
 * An older sequence number than the stored one is ignored (SG_ERR_REPLAY);
 * an expiry at or before now removes the entry (a withdrawal); an expiry
 * more than max_validity_ms ahead is cut to it. */
SG_API int sg_rdv_table_put(sg_rdv_table *t, const sg_peer_id *provider,
			    uint64_t seq, const sg_rdv_summary *s,
			    uint64_t now_ms, uint64_t max_validity_ms);
/* Copies up to max live entries for cap; returns how many there are. */
SG_API size_t sg_rdv_table_find(sg_rdv_table *t, const char *cap,
				size_t cap_len, uint64_t now_ms,
				sg_rdv_entry *out, size_t max);
SG_API size_t sg_rdv_table_count(const sg_rdv_table *t);

#endif
