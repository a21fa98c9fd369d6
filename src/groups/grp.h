/*
 * Internals shared by the group files (src/groups/): the group state,
 * the member pool with its roster flags, and the small codec and key
 * helpers every group object uses. docs/PROTOCOL.md, "Groups".
 */
#ifndef SG_GROUPS_GRP_H
#define SG_GROUPS_GRP_H

#include "sg/blake3.h"
#include "sg/cbor.h"
#include "sg/err.h"
#include "sg/group.h"

/* Roster flags of a pool entry. A member is in the current roster (CUR),
 * in the roster of the previous epoch (PARENT, kept to check concurrent
 * commits), or in the roster a commit being checked proposes (NEW). */
#define GRP_CUR 1u
#define GRP_PARENT 2u
#define GRP_NEW 4u
/* The pool holds the union of the three rosters. */
#define GRP_POOL_MAX (3 * SG_GROUP_MAX_MEMBERS)

/* One member card, kept whole so that invites and the state file can
 * carry it again (card = [[1, pk, ek], sig]). */
typedef struct grp_member {
	sg_peer_id id;
	unsigned flags;
	uint8_t pk[SG_MLDSA65_PK_LEN];
	uint8_t ek[SG_MLKEM768_EK_LEN];
	uint8_t sig[SG_MLDSA65_SIG_LEN];
} grp_member;

/* Per-epoch derived keys. */
typedef struct grp_epoch_keys {
	uint64_t epoch;
	uint8_t message[SG_GROUP_KEY_LEN];
	uint8_t presence[SG_GROUP_KEY_LEN];
	uint8_t tag[SG_GROUP_KEY_LEN];
} grp_epoch_keys;

struct sg_group {
	const sg_env *env;
	sg_peer_id self;
	uint8_t id[SG_GROUP_ID_LEN];
	char name[SG_GROUP_NAME_MAX];
	size_t name_len;
	uint8_t group_secret[SG_GROUP_SECRET_LEN];
	uint64_t epoch;
	uint8_t epoch_secret[SG_GROUP_SECRET_LEN];
	uint8_t commit_id[SG_GROUP_COMMIT_ID_LEN];
	sg_peer_id proposer; /* of the current epoch's commit (or creator) */
	int removal;         /* that commit removed someone */
	/* The previous epoch: its commit id and roster (GRP_PARENT) while
	 * have_parent, its keys while have_prev. */
	int have_parent;
	uint8_t parent_id[SG_GROUP_COMMIT_ID_LEN];
	int have_prev;
	grp_epoch_keys cur_keys, prev_keys;
	int left;
	/* Sorted by id; n entries, cap allocated. */
	grp_member *pool;
	size_t n, cap;
};

/* Limits for every group decoder: depth 4 is enough for all of them. */
extern const sg_cbor_limits grp_limits;

/* ---- pool and roster --------------------------------------------------- */

sg_group *grp_alloc(const sg_env *env);
/* Index of id in the pool, or -1. */
long grp_find(const sg_group *g, const sg_peer_id *id);
/* Inserts (sorted) a copy of m; SG_ERR_EXISTS, SG_ERR_FULL, SG_ERR_NOMEM. */
int grp_insert(sg_group *g, const grp_member *m);
/* Drops pool entries whose flags are 0. */
void grp_compact(sg_group *g);
/* Members with all of the given flags. */
size_t grp_count(const sg_group *g, unsigned flags);
/* The roster hash over the members with flag, in PeerId order: over the
 * signed bodies of their cards (so a card re-signed with the same keys
 * leaves it unchanged). */
void grp_roster_hash(uint8_t out[32], const sg_group *g, unsigned flag);
/* Derives cur_keys for the current epoch secret. */
void grp_derive_keys(sg_group *g);
void grp_topic(sg_topic_id *topic, const uint8_t id[SG_GROUP_ID_LEN],
	       const uint8_t secret[SG_GROUP_SECRET_LEN]);
void grp_genesis_id(uint8_t out[32], const uint8_t id[SG_GROUP_ID_LEN],
		    const sg_peer_id *creator);

/* ---- codec helpers ----------------------------------------------------- */

int grp_get_fixed(sg_cbor_dec *d, uint8_t *out, size_t len);
/* Writes the card of m. */
void grp_put_card(sg_cbor_enc *e, const grp_member *m);
/* Reads one card into m (structure only: no signature check). */
int grp_get_card(sg_cbor_dec *d, grp_member *m);
/* Checks m's ML-KEM key and signature and sets m->id. */
int grp_card_check(grp_member *m);
void grp_member_from_identity(grp_member *m, const sg_identity *me,
			      const uint8_t *rnd);
/* Reads [type, ...] and checks the type and the array length. */
int grp_get_head(sg_cbor_dec *d, unsigned type, size_t count);

/* Encodes [type, body, sig]: put_body writes the body at out + 2, where it
 * stays, and it is signed there with ctx by ident. Returns the length. */
long grp_sign_object(uint8_t *out, size_t out_cap, unsigned type,
		     void (*put_body)(sg_cbor_enc *, const void *),
		     const void *arg, const char *ctx,
		     const sg_identity *ident, const uint8_t rnd[32]);
int grp_verify(const uint8_t *sig, const uint8_t *body, size_t body_len,
	       const char *ctx, const uint8_t *pk);

/* KEM wrap of secret (secret_len bytes) to ek: writes ct (1088) and
 * wrapped (secret_len + 16). The key is derive-key(ctx, ss || ct ||
 * binding); the AEAD is ChaCha20-Poly1305 (IETF) with a zero nonce
 * (every key is used once) and binding as associated data. m: 32
 * random bytes. */
int grp_wrap(uint8_t *ct, uint8_t *wrapped, const uint8_t *ek,
	     const uint8_t m[32], const char *ctx, const uint8_t *binding,
	     size_t binding_len, const uint8_t *secret, size_t secret_len);
int grp_unwrap(uint8_t *secret, size_t secret_len, const uint8_t *dk,
	       const uint8_t *ct, const uint8_t *wrapped, const char *ctx,
	       const uint8_t *binding, size_t binding_len);

void grp_be64(uint8_t out[8], uint64_t v);

/* The rank of a commit among its siblings: derive-key(
 * SG_CTX_GROUP_COMMIT_RANK, u64be(epoch) || proposer || parent). It
 * depends only on who proposes on which parent, so nobody can grind it. */
void grp_commit_rank(uint8_t out[32], uint64_t epoch,
		     const sg_peer_id *proposer, const uint8_t parent[32]);

#endif
