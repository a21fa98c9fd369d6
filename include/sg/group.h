/*
 * Groups (issue 9, DESIGN section 7 "Groups and presence"): a small,
 * pure (sans-IO) group key agreement for saorsa-gossip. A group has a
 * random id, a name, a stable group secret (from which its topic id is
 * derived, so the topic cannot be found from a public name), an epoch
 * number and an epoch secret, from which the per-purpose keys of the
 * epoch come (message key, presence key, beacon tag key). A signed roster
 * lists the members: each member is a *member card*, its ML-DSA-65 public
 * key and its ML-KEM-768 encapsulation key signed by that ML-DSA key.
 *
 * A new epoch starts with a *commit*: any current member may propose one
 * (to add members, remove members, or only to re-key). It carries a fresh
 * epoch secret encapsulated once per member of the new roster (ML-KEM-768
 * encaps, a BLAKE3 KDF, ChaCha20-Poly1305 wrap) and is signed by its
 * proposer. Concurrent commits for the same epoch (on the same parent)
 * converge: every member ends on the first in one total order: a commit
 * that removes someone before one that does not, then the lower rank
 * (a hash of epoch, proposer and parent, which nobody can grind), then
 * the lower commit id (a hash of the signed body); members that applied
 * another switch to it ("losers adopt the winner").
 *
 * Invites are bound to the invitee: the group and epoch secrets travel
 * encapsulated to the invitee's ML-KEM-768 key (taken from its card in the
 * roster), with its PeerId in the signed part, so another peer's node
 * refuses it and could not open it anyway. An invite carries the full
 * roster so that the new member can check beacons and commits.
 *
 * Group messages are XChaCha20-Poly1305 under the epoch's message key,
 * random 24-byte nonces, associated data group id || epoch. They
 * authenticate group membership, not the sender (carry them inside a
 * signed published message for that).
 *
 * docs/PROTOCOL.md, "Groups", defines every byte and compares this with
 * MLS (RFC 9420). Nothing here touches a socket, a file or a clock: time
 * comes in as arguments, randomness through the sg_env the group was made
 * with. Secrets are wiped when the group is freed.
 *
 * How a node uses it (the CLI's `groups create|invite|join|leave|list`):
 *   create:  sg_group_create(), then sg_group_export() into its state file.
 *   invite:  get the invitee's card (sg_group_card_make() on its side; the
 *            node fetches it from the peer), sg_group_add_member() (returns
 *            a commit: broadcast it on the group topic), then
 *            sg_group_invite() for that PeerId and hand the text form
 *            (sg_group_invite_to_text()) to the invitee out of band.
 *   join:    sg_group_invite_from_text(), sg_group_invite_peek() to show
 *            it, sg_group_accept_invite(), subscribe to sg_group_topic().
 *   traffic: sg_group_frame_type() routes what arrives on the topic:
 *            messages to sg_group_decrypt(), commits to
 *            sg_group_commit_process(), leave notices to
 *            sg_group_leave_process() (then a member commits the removal).
 *   leave:   sg_group_leave() (a signed notice to broadcast), then delete
 *            the state; the remaining members re-key without the leaver.
 *   list:    sg_group_name(), sg_group_epoch(), sg_group_member_count(),
 *            sg_group_member().
 * Persist the state (sg_group_export()) after every change.
 *
 * Rules for the node: only siblings of one epoch converge, so do not
 * propose epoch e + 2 until epoch e + 1 has settled (no sibling seen for a
 * few seconds of topic delivery time); keep commits that return
 * SG_ERR_AGAIN (bounded) and retry them after each applied commit; on
 * SWITCHED with replaced_own, propose the lost changes again; after a
 * leave notice, let one member commit the removal (e.g. the lowest PeerId
 * at once, the others after a delay if none arrived: concurrent removals
 * converge anyway).
 */
#ifndef SG_GROUP_H
#define SG_GROUP_H

#include "common.h"
#include "env.h"
#include "identity.h"

#define SG_GROUP_ID_LEN 32
#define SG_GROUP_SECRET_LEN 32
#define SG_GROUP_KEY_LEN 32
#define SG_GROUP_COMMIT_ID_LEN 32
#define SG_GROUP_NAME_MAX 64      /* bytes of UTF-8, at least 1 */
#define SG_GROUP_MAX_MEMBERS 64   /* members in a roster */
#define SG_GROUP_VERSION 1
/* A member card: [[1, mldsa_pk, mlkem_ek], sig], always this long. */
#define SG_GROUP_CARD_LEN 6457
/* A group message adds at most this to its plaintext (array and version
 * heads, group id, epoch, nonce, ciphertext head, Poly1305 tag). */
#define SG_GROUP_MSG_OVERHEAD 93
#define SG_GROUP_MSG_MAX_PLAINTEXT ((1u << 20) - 8192)
#define SG_GROUP_NONCE_LEN 24
/* The prefix of an invite's text form; base64url (no padding) follows. */
#define SG_GROUP_INVITE_TEXT_PREFIX "sg-invite1:"

/* BLAKE3 derive-key contexts (docs/PROTOCOL.md, "Groups"), one purpose
 * each, in the style of identity.h. */
#define SG_CTX_GROUP_TOPIC "saorsa-gossip 2026-11 group topic id v1"
#define SG_CTX_GROUP_GENESIS "saorsa-gossip 2026-11 group genesis v1"
#define SG_CTX_GROUP_COMMIT_ID "saorsa-gossip 2026-11 group commit id v1"
#define SG_CTX_GROUP_COMMIT_RANK "saorsa-gossip 2026-11 group commit rank v1"
#define SG_CTX_GROUP_ROSTER "saorsa-gossip 2026-11 group roster v1"
#define SG_CTX_GROUP_MESSAGE_KEY "saorsa-gossip 2026-11 group message key v1"
#define SG_CTX_GROUP_PRESENCE_KEY "saorsa-gossip 2026-11 group presence key v1"
#define SG_CTX_GROUP_BEACON_TAG_KEY                                            \
	"saorsa-gossip 2026-11 group beacon tag key v1"
#define SG_CTX_GROUP_WRAP_KEY "saorsa-gossip 2026-11 group epoch secret wrap v1"
#define SG_CTX_GROUP_INVITE_KEY "saorsa-gossip 2026-11 group invite wrap v1"
#define SG_CTX_GROUP_STATE_CHECK "saorsa-gossip 2026-11 group state checksum v1"

/* ML-DSA-65 context strings, one per purpose (never reused). */
#define SG_SIGCTX_MEMBER_KEYS "saorsa-gossip/v1 member keys"
#define SG_SIGCTX_GROUP_COMMIT "saorsa-gossip/v1 group commit"
#define SG_SIGCTX_GROUP_INVITE "saorsa-gossip/v1 group invite"
#define SG_SIGCTX_GROUP_LEAVE "saorsa-gossip/v1 group leave"

/* Every group object is a CBOR array whose first element is its type. */
typedef enum sg_group_frame {
	SG_GROUP_FRAME_MESSAGE = 1, /* sg_group_encrypt */
	SG_GROUP_FRAME_COMMIT = 2,  /* sg_group_commit_encode */
	SG_GROUP_FRAME_LEAVE = 3,   /* sg_group_leave */
	SG_GROUP_FRAME_INVITE = 4,  /* sg_group_invite */
	SG_GROUP_FRAME_STATE = 5,   /* sg_group_export */
} sg_group_frame;

typedef struct sg_group sg_group;

/* One epoch's keys (not the epoch secret itself). Wipe after use. */
typedef struct sg_group_keys {
	uint8_t group_id[SG_GROUP_ID_LEN];
	uint64_t epoch;
	uint8_t message_key[SG_GROUP_KEY_LEN];
	uint8_t presence_key[SG_GROUP_KEY_LEN];
	uint8_t tag_key[SG_GROUP_KEY_LEN];
} sg_group_keys;

/* ---- Member cards ------------------------------------------------------- */

/* Writes this identity's card (SG_GROUP_CARD_LEN bytes): its ML-DSA-65 and
 * ML-KEM-768 public keys signed by the ML-DSA key, context
 * SG_SIGCTX_MEMBER_KEYS. rnd: 32 random bytes for hedged signing, NULL for
 * the deterministic signature. Returns the length or SG_ERR_BUFSIZE. */
SG_API long sg_group_card_make(uint8_t *out, size_t out_cap,
			       const sg_identity *me, const uint8_t *rnd);

/* Checks a card (structure, ML-KEM key check, signature) and gives its
 * PeerId. Errors: CBOR errors, SG_ERR_UNSUPPORTED (version), SG_ERR_KEY
 * (ML-KEM key), SG_ERR_VERIFY (signature). */
SG_API int sg_group_card_verify(sg_peer_id *id, const uint8_t *card,
				size_t len);

/* ---- The group ---------------------------------------------------------- */

/* A new group with `me` as its only member, at epoch 0: random id, group
 * secret and epoch secret from env (borrowed for the group's lifetime).
 * name: 1..SG_GROUP_NAME_MAX bytes of UTF-8. Errors: SG_ERR_INVAL (bad
 * name), SG_ERR_NOMEM, the env's random errors. */
SG_API int sg_group_create(sg_group **out, const sg_env *env,
			   const sg_identity *me, const char *name,
			   size_t name_len);
/* Wipes every secret and frees. NULL is a no-op. */
SG_API void sg_group_del(sg_group *g);

SG_API const uint8_t *sg_group_id(const sg_group *g); /* 32 bytes */
/* The name (not NUL-terminated) and its length. */
SG_API const char *sg_group_name(const sg_group *g, size_t *len);
SG_API uint64_t sg_group_epoch(const sg_group *g);
/* The id of the commit that started the current epoch (32 bytes; for
 * epoch 0 the genesis value of docs/PROTOCOL.md). It changes whenever the
 * epoch or the roster changes. */
SG_API const uint8_t *sg_group_commit_id(const sg_group *g);
/* The owner's PeerId (the identity the state belongs to). */
SG_API const sg_peer_id *sg_group_self(const sg_group *g);
/* The group's topic: BLAKE3-derive-key(SG_CTX_GROUP_TOPIC, group secret
 * || group id). Stable across epochs. */
SG_API void sg_group_topic(const sg_group *g, sg_topic_id *topic);
/* 1 once sg_group_leave() was called (the group then refuses to encrypt,
 * commit or invite), else 0. */
SG_API int sg_group_has_left(const sg_group *g);

/* The current roster, in increasing PeerId order. */
SG_API size_t sg_group_member_count(const sg_group *g);
/* The i-th member's PeerId; SG_ERR_RANGE past the end. */
SG_API int sg_group_member(const sg_group *g, size_t i, sg_peer_id *id);
SG_API int sg_group_is_member(const sg_group *g, const sg_peer_id *id);
/* A current member's ML-DSA-65 public key (valid until the group next
 * changes), or NULL. */
SG_API const uint8_t *sg_group_member_pk(const sg_group *g,
					 const sg_peer_id *id);

/* The current epoch's keys (previous = 0) or the previous epoch's
 * (previous = 1: kept until the next commit so that traffic in flight
 * across an epoch change is still readable; SG_ERR_NOTFOUND when there is
 * none, e.g. at epoch 0 or right after joining). */
SG_API int sg_group_keys_get(const sg_group *g, int previous,
			     sg_group_keys *out);

/* ---- Commits: changing the roster, starting an epoch ------------------- */

/* Who may commit: any member of the current roster, for any change (there
 * are no admin roles; see docs/PROTOCOL.md). A proposer cannot remove
 * itself (it would know the next secret): it leaves with
 * sg_group_leave() and another member commits the removal. */
typedef struct sg_group_change {
	const uint8_t *const *add_cards; /* nadd member cards */
	const size_t *add_lens;
	size_t nadd;
	const sg_peer_id *remove; /* nremove PeerIds */
	size_t nremove;
} sg_group_change;

/* An upper bound of the size of a commit adding nadd members (and of
 * everything sg_group_commit_encode writes). */
SG_API size_t sg_group_commit_bound(const sg_group *g, size_t nadd);

/* Builds a commit for epoch + 1 proposed by me (a current member): the
 * change (NULL or empty: re-key only) applied to the current roster, a
 * fresh epoch secret from env encapsulated to every member of the new
 * roster but me, signed by me. The group moves to the new epoch at once
 * (as if it had processed its own commit). Broadcast the result on the
 * group topic. Returns its length, or SG_ERR_BUFSIZE (nothing changed;
 * see sg_group_commit_bound), SG_ERR_INVAL (me is not the owner, a
 * removal of me, a card given twice), SG_ERR_STATE (left), SG_ERR_PERM
 * (me not a member), SG_ERR_NOTFOUND (removing a non-member),
 * SG_ERR_EXISTS (adding a member), SG_ERR_FULL (more than
 * SG_GROUP_MAX_MEMBERS), SG_ERR_RANGE (epoch overflow), card errors
 * (sg_group_card_verify), SG_ERR_NOMEM, random and crypto errors. */
SG_API long sg_group_commit_encode(sg_group *g, uint8_t *out, size_t out_cap,
				   const sg_identity *me,
				   const sg_group_change *change);
/* One-change shorthands for sg_group_commit_encode(). */
SG_API long sg_group_add_member(sg_group *g, uint8_t *out, size_t out_cap,
				const sg_identity *me, const uint8_t *card,
				size_t card_len);
SG_API long sg_group_remove_member(sg_group *g, uint8_t *out, size_t out_cap,
				   const sg_identity *me,
				   const sg_peer_id *member);

typedef enum sg_group_outcome {
	/* The commit started epoch + 1 on top of our epoch: applied. */
	SG_GROUP_COMMIT_APPLIED = 1,
	/* A concurrent commit for our current epoch that comes first in the
	 * sibling order: it replaced the one we were on (ours, if
	 * replaced_own). Changes of the replaced one are lost: its proposer
	 * proposes them again on the new epoch. */
	SG_GROUP_COMMIT_SWITCHED = 2,
	/* The commit we are on (our own coming back, or a repeat). */
	SG_GROUP_COMMIT_DUPLICATE = 3,
	/* A valid concurrent commit for our epoch that loses to ours:
	 * ignored. Re-broadcasting ours lets its sender converge sooner. */
	SG_GROUP_COMMIT_OUTRANKED = 4,
	/* A valid commit whose new roster leaves us out: we were removed.
	 * Nothing changed; the node should delete the group. */
	SG_GROUP_COMMIT_REMOVED = 5,
} sg_group_outcome;

typedef struct sg_group_commit_info {
	sg_group_outcome outcome;
	uint64_t epoch;             /* the commit's epoch */
	sg_peer_id proposer;
	uint8_t commit_id[SG_GROUP_COMMIT_ID_LEN];
	uint8_t group_id[SG_GROUP_ID_LEN];
	size_t nadd, nremove;       /* the commit's changes */
	int replaced_own;           /* SWITCHED: the replaced one was ours */
} sg_group_commit_info;

/* Processes a commit received on the group topic, for the owner me. Every
 * check happens before anything changes: structure; group id; position
 * (epoch + 1 on our current commit, or a sibling of our current commit:
 * same epoch, same parent, which we can check only while we hold the
 * parent roster); the proposer is a member of the roster it builds on;
 * its signature; removals are members, added cards are new and valid;
 * the new roster's size and hash; one wrapped secret for each member of
 * the new roster but the proposer; then our wrapped secret opens. The
 * outcome goes to info (may be NULL). Errors (state unchanged):
 * CBOR errors, SG_ERR_UNSUPPORTED (version), SG_ERR_MALFORMED (lists not
 * sorted or not matching the roster), SG_ERR_NOTFOUND (another group),
 * SG_ERR_REPLAY (an older epoch, or our epoch on a parent we do not hold),
 * SG_ERR_AGAIN (a later epoch, or one built on a commit we do not have:
 * keep it and retry after processing others, or re-join), SG_ERR_PERM
 * (proposer not a member), SG_ERR_VERIFY (signature, card, roster hash,
 * our wrapped secret), SG_ERR_FULL, SG_ERR_STATE (left), SG_ERR_INVAL (me
 * is not the owner), SG_ERR_NOMEM. */
SG_API int sg_group_commit_process(sg_group *g, const uint8_t *commit,
				   size_t len, const sg_identity *me,
				   sg_group_commit_info *info);

/* Decodes a commit without any state or signature check (for routing and
 * logs): info gets epoch, proposer, commit id, group id and the counts;
 * outcome is 0. CBOR and structure errors as above. */
SG_API int sg_group_commit_peek(sg_group_commit_info *info,
				const uint8_t *commit, size_t len);

/* ---- Invites ------------------------------------------------------------ */

typedef struct sg_group_invite_info {
	uint8_t group_id[SG_GROUP_ID_LEN];
	const char *name; /* views the invite */
	size_t name_len;
	uint64_t epoch;
	sg_peer_id inviter, invitee;
	uint64_t expires_ms;
	size_t nmembers;
} sg_group_invite_info;

/* An upper bound of the size of an invite of this group. */
SG_API size_t sg_group_invite_bound(const sg_group *g);

/* An invite for invitee, who must already be a member of the current
 * roster (sg_group_add_member() first): the group id, name, epoch, commit
 * ids, the full roster, and the group and epoch secrets encapsulated to
 * the invitee's ML-KEM-768 key; valid until now_ms + valid_ms (Unix ms),
 * signed by me. Returns the length, or SG_ERR_BUFSIZE, SG_ERR_NOTFOUND
 * (invitee not in the roster), SG_ERR_INVAL (me is not the owner, or
 * invites itself), SG_ERR_STATE (left), SG_ERR_RANGE (time overflow),
 * random and crypto errors. */
SG_API long sg_group_invite(const sg_group *g, uint8_t *out, size_t out_cap,
			    const sg_identity *me, const sg_peer_id *invitee,
			    uint64_t now_ms, uint64_t valid_ms);

/* Decodes an invite without checking signatures (to show it before
 * joining). CBOR errors, SG_ERR_UNSUPPORTED, SG_ERR_MALFORMED,
 * SG_ERR_RANGE. */
SG_API int sg_group_invite_peek(sg_group_invite_info *info,
				const uint8_t *inv, size_t len);

/* Joins with an invite: checks that it names me as invitee (SG_ERR_PERM:
 * an invite made for another peer), that it is within its validity
 * (SG_ERR_EXPIRED), every card of the roster, that inviter and invitee
 * are members, the inviter's signature and the roster (SG_ERR_VERIFY),
 * then opens the secrets with my ML-KEM key (SG_ERR_VERIFY). The new group
 * uses env (borrowed for its lifetime). Also CBOR errors,
 * SG_ERR_UNSUPPORTED, SG_ERR_MALFORMED, SG_ERR_RANGE, SG_ERR_NOMEM. */
SG_API int sg_group_accept_invite(sg_group **out, const sg_env *env,
				  const sg_identity *me, const uint8_t *inv,
				  size_t len, uint64_t now_ms);

/* Text form: SG_GROUP_INVITE_TEXT_PREFIX then base64url without padding.
 * to_text writes a NUL-terminated string and returns its length (without
 * the NUL), or SG_ERR_BUFSIZE. from_text ignores surrounding and embedded
 * white space, returns the number of bytes written, or SG_ERR_MALFORMED
 * (prefix, alphabet), SG_ERR_BUFSIZE (out_cap below 3/4 of the text's
 * length + 3: the most it can decode to). */
SG_API long sg_group_invite_to_text(char *out, size_t out_cap,
				    const uint8_t *inv, size_t len);
SG_API long sg_group_invite_from_text(uint8_t *out, size_t out_cap,
				      const char *text, size_t len);

/* ---- Leaving ------------------------------------------------------------ */

/* A leave notice for the current epoch signed by me; the group is marked
 * left (sg_group_has_left). Broadcast it, then delete the state. Returns
 * the length, or SG_ERR_BUFSIZE, SG_ERR_INVAL (me is not the owner),
 * SG_ERR_STATE (already left), random and crypto errors. */
SG_API long sg_group_leave(sg_group *g, uint8_t *out, size_t out_cap,
			   const sg_identity *me);
/* Checks a leave notice: this group, the current or previous epoch, a
 * current member other than us, its signature. On success *leaver names
 * it; a member then removes it (sg_group_remove_member). Nothing in g
 * changes. Errors: CBOR errors, SG_ERR_UNSUPPORTED, SG_ERR_NOTFOUND
 * (another group, or not a member), SG_ERR_REPLAY (an older epoch),
 * SG_ERR_AGAIN (a later epoch than ours), SG_ERR_VERIFY, SG_ERR_INVAL (our
 * own notice). */
SG_API int sg_group_leave_process(const sg_group *g, const uint8_t *buf,
				  size_t len, sg_peer_id *leaver);

/* ---- Group messages ----------------------------------------------------- */

/* Encrypts pt under the current epoch's message key with a random nonce
 * from env. Returns the length (at most pt_len + SG_GROUP_MSG_OVERHEAD),
 * or SG_ERR_BUFSIZE, SG_ERR_RANGE (pt_len > SG_GROUP_MSG_MAX_PLAINTEXT),
 * SG_ERR_STATE (left), random errors. */
SG_API long sg_group_encrypt(const sg_group *g, uint8_t *out, size_t out_cap,
			     const uint8_t *pt, size_t pt_len);
/* Decrypts a group message of the current or previous epoch into out
 * (views nothing). Returns the plaintext length, or CBOR errors,
 * SG_ERR_UNSUPPORTED, SG_ERR_NOTFOUND (another group, or an epoch whose
 * key we do not hold), SG_ERR_VERIFY (authentication), SG_ERR_BUFSIZE.
 * epoch (may be NULL) gets the message's epoch. */
SG_API long sg_group_decrypt(const sg_group *g, uint8_t *out, size_t out_cap,
			     const uint8_t *msg, size_t len, uint64_t *epoch);

/* The type of a group object (a value of sg_group_frame) from its first
 * bytes, or SG_ERR_MALFORMED / SG_ERR_TRUNCATED. No other check. */
SG_API int sg_group_frame_type(const uint8_t *buf, size_t len);

/* ---- State file --------------------------------------------------------- */

/* An upper bound of the size of sg_group_export's output. */
SG_API size_t sg_group_export_bound(const sg_group *g);
/* Serialises the whole state (secrets included: store it like a key,
 * mode 0600, sealed if the keystore is) as one CBOR item. Returns the
 * length or SG_ERR_BUFSIZE. */
SG_API long sg_group_export(const sg_group *g, uint8_t *out, size_t out_cap);
/* Rebuilds a group from sg_group_export's output for owner self,
 * checking everything a peer could have sent (it is a file: strict CBOR,
 * the trailing checksum, every card's signature, sizes, order, flags, the
 * owner in the roster). The new group uses env (borrowed for its
 * lifetime). Errors: CBOR errors, SG_ERR_CORRUPT (checksum),
 * SG_ERR_UNSUPPORTED (version), SG_ERR_MALFORMED, SG_ERR_RANGE,
 * SG_ERR_VERIFY / SG_ERR_KEY (a card), SG_ERR_PERM (another owner),
 * SG_ERR_NOMEM. */
SG_API int sg_group_import(sg_group **out, const sg_env *env,
			   const sg_peer_id *self, const uint8_t *buf,
			   size_t len);

#endif
