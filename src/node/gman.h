/*
 * The node's groups and presence (issue 9), as a pure (sans-IO) layer
 * between the group and presence modules (include/sg/group.h, presence.h)
 * and the node core: it owns this node's groups, one presence tracker per
 * group, the commits that arrived too early, the removals it owes after a
 * member's leave notice, and the file form of each group's state. Bytes,
 * PeerIds and wall-clock time in; payloads to publish on group topics,
 * and events (save a state file, delete it, subscribe, who came online)
 * out. src/io/node.c does the I/O: it publishes what sg_gman_poll_tx()
 * gives on the node core, feeds what the core delivers on a group topic
 * to sg_gman_recv(), writes and deletes the files the events name, and
 * serves the control socket's group and presence requests.
 *
 * Everything on a group topic is a *group payload*: one class byte, then
 * a group object (class 1: a commit, leave notice or group message,
 * sg_group_frame_type()) or a presence beacon (class 2). It travels as the
 * payload of an ordinary publisher-signed message on the group's topic,
 * whose id derives from the group secret: only members know it, so only
 * members join its swarm (docs/PROTOCOL.md, "Groups in the node").
 *
 * Time: every now_ms here is wall-clock Unix milliseconds (beacons and
 * invites carry absolute times).
 *
 * Not thread-safe; one owner. The identity is borrowed for the manager's
 * lifetime.
 */
#ifndef SG_NODE_GMAN_H
#define SG_NODE_GMAN_H

#include "sg/common.h"
#include "sg/env.h"
#include "sg/group.h"
#include "sg/identity.h"
#include "sg/presence.h"

#define SG_GMAN_CLASS_GROUP 1
#define SG_GMAN_CLASS_BEACON 2
/* The file form: [1, flags, state: bstr] (flags bit 0: presence on). */
#define SG_GMAN_FILE_VERSION 1
#define SG_GMAN_FILE_PRESENCE 1u

typedef struct sg_gman sg_gman;

typedef struct sg_gman_config {
	size_t size;		   /* sizeof(sg_gman_config) */
	size_t max_groups;	   /* groups this node is in: 32 */
	size_t max_deferred;	   /* early commits kept per group: 8 */
	size_t max_tx;		   /* payloads waiting to be published: 64 */
	size_t max_events;	   /* events waiting: 256 */
	uint32_t settle_ms;	   /* no new epoch within this of the last: 2000 */
	uint32_t removal_delay_ms; /* per rank, before committing a leaver's
				    * removal: 3000 */
	uint32_t leave_grace_ms;   /* a left group stays subscribed (its
				    * notice can still be fetched): 3000 */
	size_t max_invites;	   /* invites waiting to settle: 8 */
	uint32_t invite_wait_ms;   /* ... at most this long: 30000 */
	sg_presence_config presence;
} sg_gman_config;

void sg_gman_config_default(sg_gman_config *cfg);

typedef enum sg_gman_event_type {
	SG_GMAN_EV_SAVE = 1,	    /* write sg_gman_export(group_id) */
	SG_GMAN_EV_GONE = 2,	    /* delete the state file, unsubscribe */
	SG_GMAN_EV_SUBSCRIBE = 3,   /* subscribe to topic */
	SG_GMAN_EV_EPOCH = 4,	    /* a commit started epoch (peer proposed) */
	SG_GMAN_EV_ONLINE = 5,	    /* peer came online */
	SG_GMAN_EV_OFFLINE = 6,	    /* peer went offline */
	SG_GMAN_EV_MESSAGE = 7,	    /* a group message from peer: data */
	SG_GMAN_EV_LEAVE_SEEN = 8,  /* peer said it leaves */
	SG_GMAN_EV_REMOVED = 9,	    /* we were removed by peer's commit */
	SG_GMAN_EV_INVITE = 10,	    /* invite `ticket` settled: data, or
				     * status < 0 */
} sg_gman_event_type;

typedef struct sg_gman_event {
	sg_gman_event_type type;
	uint8_t group_id[SG_GROUP_ID_LEN];
	sg_topic_id topic;
	sg_peer_id peer;
	uint64_t epoch;
	const uint8_t *data; /* MESSAGE: plaintext, INVITE: the invite; valid
			      * until the next poll (then wiped) */
	size_t len;
	uint64_t ticket; /* INVITE: what sg_gman_invite returned */
	int status;	 /* INVITE: 0, or why there is no invite */
} sg_gman_event;

typedef struct sg_gman_stats {
	uint64_t received, invalid, deferred, deferred_dropped, commits_applied;
	uint64_t commits_switched, commits_proposed, removals_committed;
	uint64_t messages, beacons, beacons_refused, tx_dropped, events_dropped;
	uint64_t invites, invites_reproposed, invites_failed;
} sg_gman_stats;

/* A manager for identity me; addrs (up to SG_PRESENCE_MAX_ADDRS) go into
 * this node's beacons. NULL on SG_ERR_NOMEM or a bad configuration. */
sg_gman *sg_gman_new(const sg_env *env, const sg_gman_config *cfg,
			    const sg_identity *me, const sg_addr *addrs,
			    size_t naddrs);
/* Wipes every secret and frees. NULL is a no-op. */
void sg_gman_del(sg_gman *m);

/* Adds a group from its file form (sg_gman_export); resumes its beacons if
 * they were on. Errors: CBOR errors, SG_ERR_UNSUPPORTED, those of
 * sg_group_import, SG_ERR_EXISTS (already loaded), SG_ERR_FULL. */
int sg_gman_load(sg_gman *m, const uint8_t *file, size_t len,
			uint64_t now_ms);
/* The file form of a group: its length, or SG_ERR_NOTFOUND,
 * SG_ERR_BUFSIZE (see sg_gman_export_bound). */
size_t sg_gman_export_bound(const sg_gman *m, const uint8_t *group_id);
long sg_gman_export(const sg_gman *m, const uint8_t *group_id,
			   uint8_t *out, size_t cap);

/* Groups, by index 0..count-1 (indices change when a group goes). */
size_t sg_gman_count(const sg_gman *m);
const sg_group *sg_gman_group(const sg_gman *m, size_t i);
int sg_gman_presence_on(const sg_gman *m, size_t i);
/* Picks a group by selector: its name, its id in hex, or a prefix of at
 * least 8 hex digits of it. SG_ERR_NOTFOUND, or SG_ERR_EXISTS when the
 * selector names more than one group. */
int sg_gman_find(const sg_gman *m, const char *sel, size_t len,
			size_t *idx);
/* The group whose topic is topic: its index, or SG_ERR_NOTFOUND. */
int sg_gman_by_topic(const sg_gman *m, const sg_topic_id *topic,
			    size_t *idx);

/* A new group named name with me as its only member. SG_ERR_EXISTS when
 * one of ours already has that name; the errors of sg_group_create;
 * SG_ERR_FULL. *idx (may be NULL) gets its index. */
int sg_gman_create(sg_gman *m, const char *name, size_t len,
			  uint64_t now_ms, size_t *idx);
/* Adds the member whose card this is (unless it is one already) with a
 * commit to publish. The invite (valid for valid_ms from when it is made)
 * comes later, as an INVITE event carrying *ticket, once the newest epoch
 * with the member in it has stood settle_ms without another commit: an
 * invite handed out at once would be void if a concurrent commit of
 * another member replaced ours, and the member would hold an invite to an
 * epoch nobody else is in. When that happens the addition is proposed
 * again on top of the commit that won. An INVITE with status < 0 ends it
 * otherwise: SG_ERR_TIMEOUT after invite_wait_ms, SG_ERR_NOTFOUND or
 * SG_ERR_STATE when the group went away or is being left, or the error of
 * sg_group_add_member / sg_group_invite. Returns 0, the errors of
 * sg_group_card_verify and sg_group_add_member, SG_ERR_FULL (too many
 * invites waiting, or the commit cannot be queued). */
int sg_gman_invite(sg_gman *m, size_t idx, const uint8_t *card,
		   size_t card_len, uint64_t now_ms, uint64_t valid_ms,
		   uint64_t *ticket);
/* Joins a group with an invite (sg_group_accept_invite), SG_ERR_EXISTS
 * when already in it, SG_ERR_FULL. *idx (may be NULL) gets its index. */
int sg_gman_join(sg_gman *m, const uint8_t *inv, size_t len,
			uint64_t now_ms, size_t *idx);
/* Leaves: a goodbye beacon if presence was on, a signed leave notice,
 * then (after leave_grace_ms) GONE. SG_ERR_STATE when already leaving. */
int sg_gman_leave(sg_gman *m, size_t idx, uint64_t now_ms);
/* Encrypts a group message and queues it. Errors of sg_group_encrypt,
 * SG_ERR_FULL. */
int sg_gman_send(sg_gman *m, size_t idx, const uint8_t *pt,
			size_t len);

/* Presence: start (or update addresses), stop (a goodbye), and who is
 * online (as sg_presence_online). */
int sg_gman_presence_start(sg_gman *m, size_t idx, uint64_t now_ms);
int sg_gman_presence_stop(sg_gman *m, size_t idx, uint64_t now_ms);
size_t sg_gman_online(sg_gman *m, size_t idx, uint64_t now_ms,
			     sg_presence_entry *out, size_t cap);

/* The node is going away: a goodbye beacon in every group where presence
 * is on (which stays on in the state files, so it resumes at the next
 * start). Returns how many goodbyes it queued. */
size_t sg_gman_goodbye_all(sg_gman *m, uint64_t now_ms);

/* ---- FOAF: where is a member of my group? (docs/PROTOCOL.md, FOAF) ----- */

#define SG_CTX_GROUP_FOAF_KEY "saorsa-gossip 2026-11 group foaf key v1"
#define SG_GMAN_FOAF_ADDR_MAX 19 /* the node's address form, at most */

/* The FOAF target for member of group idx: BLAKE3-keyed(foaf key of the
 * current epoch, member PeerId); only members can compute it.
 * SG_ERR_NOTFOUND (no such group). */
int sg_gman_foaf_target(const sg_gman *m, size_t idx, const sg_peer_id *member,
			uint8_t target[32]);
/* Looks a group query's target up: if it is the blinded id of a member of
 * one of our groups (current or previous epoch) whose address `addr` gives
 * (or that this node itself is, self_addr), writes the sealed answer
 * (nonce || XChaCha20-Poly1305 of the address under the foaf key, the
 * target as associated data) to answer and returns its length; else 0.
 * addr(ud, member, out) returns the address length or 0. */
typedef size_t (*sg_gman_addr_fn)(void *ud, const sg_peer_id *member,
				  uint8_t out[SG_GMAN_FOAF_ADDR_MAX]);
size_t sg_gman_foaf_answer(sg_gman *m, const uint8_t target[32],
			   sg_gman_addr_fn addr, void *ud, uint8_t *answer,
			   size_t cap);
/* Opens an answer to a query for target in group idx (current or
 * previous epoch): the address into out (returns its length), or
 * SG_ERR_VERIFY / SG_ERR_NOTFOUND / SG_ERR_MALFORMED. */
long sg_gman_foaf_open(const sg_gman *m, size_t idx, const uint8_t target[32],
		       const uint8_t *answer, size_t len,
		       uint8_t out[SG_GMAN_FOAF_ADDR_MAX]);

/* The address (node form) of a member from its latest beacon in any of
 * our groups, or 0. */
size_t sg_gman_member_addr(sg_gman *m, const sg_peer_id *member,
			   uint64_t now_ms, uint8_t out[SG_GMAN_FOAF_ADDR_MAX]);

/* A payload delivered on topic, published by publisher (authenticated by
 * its signature). SG_ERR_NOTFOUND when topic is no group's; otherwise 0,
 * or the error of the object's own check (counted; nothing changed). */
int sg_gman_recv(sg_gman *m, const sg_topic_id *topic,
			const sg_peer_id *publisher, const uint8_t *payload,
			size_t len, uint64_t now_ms);

void sg_gman_tick(sg_gman *m, uint64_t now_ms);
uint64_t sg_gman_next_deadline(const sg_gman *m);
/* The next payload to publish on *topic; valid until the next call. Its
 * length, or 0. Drain it before sg_gman_poll_event(): a GONE follows the
 * leave notice it must not overtake. */
size_t sg_gman_poll_tx(sg_gman *m, sg_topic_id *topic,
			      const uint8_t **payload);
int sg_gman_poll_event(sg_gman *m, sg_gman_event *ev);
void sg_gman_stats_get(const sg_gman *m, sg_gman_stats *st);

#endif
