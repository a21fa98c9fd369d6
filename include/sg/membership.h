/*
 * Membership wire messages: the HyParView (Leitao, Pereira, Rodrigues, DSN
 * 2007, section 4) and SWIM (Das, Gupta, Motivala, DSN 2002, section 4;
 * Lifeguard, arXiv 1707.00788) messages as deterministic CBOR arrays. Every
 * message starts [type, sender, ...] and names its sender, which the cores
 * compare with the authenticated peer the frame came from. The body travels
 * in an SG_FRAME_MEMBERSHIP frame; docs/PROTOCOL.md ("Membership") lists the
 * fields.
 */
#ifndef SG_MEMBERSHIP_H
#define SG_MEMBERSHIP_H

#include "common.h"
#include "identity.h"
#include "mldsa65.h"

/* Longest opaque transport address a peer entry carries. */
#define SG_MEMB_ADDR_MAX 48
/* Most peer entries in one SHUFFLE / SHUFFLEREPLY. */
#define SG_MEMB_MAX_PEERS 16
/* Most piggybacked SWIM updates in one message. */
#define SG_MEMB_MAX_GOSSIP 12
/* An upper bound on any encoded membership message (a CLAIM, which
 * carries a public key and a signature, is the longest: 5,347 bytes). */
#define SG_MEMB_MSG_MAX 6144
/* ML-DSA-65 context of a membership claim (DESIGN section 6). */
#define SG_SIGCTX_MEMB_CLAIM "saorsa-gossip/v1 membership claim"
/* The signed part of a claim: CBOR [kind, subject, incarnation]. */
#define SG_MEMB_CLAIM_TBS_MAX 48

typedef enum sg_memb_type {
	/* HyParView */
	SG_MEMB_JOIN = 1,
	SG_MEMB_FORWARDJOIN = 2,
	SG_MEMB_NEIGHBOR = 3,
	SG_MEMB_NEIGHBOR_REPLY = 4,
	SG_MEMB_DISCONNECT = 5,
	SG_MEMB_SHUFFLE = 6,
	SG_MEMB_SHUFFLEREPLY = 7,
	SG_MEMB_JOINACK = 8,
	/* SWIM */
	SG_MEMB_PING = 16,
	SG_MEMB_ACK = 17,
	SG_MEMB_PINGREQ = 18,
	SG_MEMB_INDACK = 19,
	/* A subject-signed alive or left (DESIGN section 7). */
	SG_MEMB_CLAIM = 20,
} sg_memb_type;

/* SWIM update kinds (paper section 4.2, Lifeguard section 4). */
typedef enum sg_memb_state {
	SG_MEMB_ALIVE = 0,
	SG_MEMB_SUSPECT = 1,
	SG_MEMB_DEAD = 2,
	SG_MEMB_LEFT = 3,
} sg_memb_state;

typedef struct sg_memb_peer {
	sg_peer_id id;
	uint8_t addr_len;
	uint8_t addr[SG_MEMB_ADDR_MAX];
} sg_memb_peer;

/* A piggybacked update: only SG_MEMB_SUSPECT and SG_MEMB_DEAD travel this
 * way; alive and left are claims signed by their subject. */
typedef struct sg_memb_gossip {
	uint8_t kind; /* sg_memb_state */
	sg_peer_id subject;
	uint64_t incarnation;
} sg_memb_gossip;

/*
 * A claim the subject makes about itself: alive at an incarnation (a
 * refutation) or left. sig is its ML-DSA-65 signature under
 * SG_SIGCTX_MEMB_CLAIM over CBOR [kind, subject, incarnation]; pk is its
 * public key, whose PeerId must be subject. Decoded claims point into the
 * frame; for encoding, pk and sig are borrowed for the call.
 */
typedef struct sg_memb_claim {
	uint8_t kind; /* SG_MEMB_ALIVE or SG_MEMB_LEFT */
	sg_peer_id subject;
	uint64_t incarnation;
	const uint8_t *pk;  /* SG_MLDSA65_PK_LEN bytes */
	const uint8_t *sig; /* SG_MLDSA65_SIG_LEN bytes */
} sg_memb_claim;

/*
 * One decoded message. Which fields are meaningful depends on type:
 *  JOIN, JOINACK      peer (the sender's own address in peer.addr)
 *  FORWARDJOIN        peer (the joining node), ttl
 *  NEIGHBOR           peer (sender's address), flag = high priority
 *  NEIGHBOR_REPLY     flag = accepted
 *  DISCONNECT         flag = sender stays alive (keep it in the passive view)
 *  SHUFFLE            peer (origin), ttl, peers
 *  SHUFFLEREPLY       peers
 *  PING, ACK          seq, gossip
 *  PINGREQ            seq, target, gossip
 *  INDACK             seq, target, flag = target answered, gossip
 *  CLAIM              claim
 */
typedef struct sg_memb_msg {
	uint8_t type;
	uint8_t flag;
	uint8_t ttl;
	sg_peer_id sender;
	sg_peer_id target;
	uint64_t seq;
	sg_memb_peer peer;
	size_t n_peers;
	sg_memb_peer peers[SG_MEMB_MAX_PEERS];
	size_t n_gossip;
	sg_memb_gossip gossip[SG_MEMB_MAX_GOSSIP];
	sg_memb_claim claim;
} sg_memb_msg;

/*
 * Encodes m into out[0..cap). Returns the length or SG_ERR_INVAL (unknown
 * type, counts above the limits, address too long), SG_ERR_BUFSIZE.
 */
SG_API long sg_memb_encode(uint8_t *out, size_t cap, const sg_memb_msg *m);

/*
 * Decodes buf[0..len) into *m after validating it as deterministic CBOR;
 * unknown types, wrong lengths, extra or missing fields, flags other than
 * 0/1 and counts above the limits are rejected. Returns 0 or SG_ERR_MALFORMED,
 * SG_ERR_TYPE, SG_ERR_RANGE, SG_ERR_UNSUPPORTED and the sg_cbor_validate()
 * errors.
 */
SG_API int sg_memb_decode(sg_memb_msg *m, const uint8_t *buf, size_t len);

/*
 * The bytes a claim's signature covers: CBOR [kind, subject, incarnation]
 * into out[SG_MEMB_CLAIM_TBS_MAX]. Returns the length or SG_ERR_INVAL
 * (kind neither alive nor left).
 */
SG_API long sg_memb_claim_tbs(uint8_t out[SG_MEMB_CLAIM_TBS_MAX],
			      const sg_memb_claim *c);

/*
 * Signs a claim about ident itself: sets c->subject and c->pk (pointing
 * into ident) and writes the signature into sig, to which c->sig then
 * points. rnd: 32 random bytes (hedged signing), NULL for deterministic.
 * Returns 0, SG_ERR_INVAL (kind), SG_ERR_CRYPTO.
 */
SG_API int sg_memb_claim_sign(sg_memb_claim *c, uint8_t sig[SG_MLDSA65_SIG_LEN],
			      const sg_identity *ident,
			      const uint8_t rnd[SG_MLDSA65_RND_LEN]);

/*
 * Verifies a claim: the PeerId of c->pk is c->subject and c->sig is the
 * subject's signature. 0, SG_ERR_INVAL (kind or NULL keys), SG_ERR_KEY (key
 * of another peer), SG_ERR_VERIFY.
 */
SG_API int sg_memb_claim_verify(const sg_memb_claim *c);

/*
 * The type of an encoded message without decoding the rest (for routing a
 * frame to HyParView or SWIM), or a negative SG_ERR_*.
 */
SG_API int sg_memb_peek_type(const uint8_t *buf, size_t len);

#endif
