/*
 * The local control protocol between the CLI and a running node, over a
 * Unix domain socket (<data-dir>/control.sock, mode 0600). Each message is
 * a 4-byte big-endian length followed by that many bytes of deterministic
 * CBOR; docs/PROTOCOL.md ("Control socket") lists every request and
 * response. The node decodes requests with sg_ctl_request_decode (fuzzed);
 * responses are arrays whose first element is 0 or a negative SG_ERR_*.
 */
#ifndef SG_CONTROL_H
#define SG_CONTROL_H

#include "common.h"
#include "msg.h"

#define SG_CTL_VERSION 1
#define SG_CTL_SOCKET_NAME "control.sock"
/* Largest control message body: a full payload plus room for the rest. */
#define SG_CTL_MAX_MSG (SG_MSG_MAX_PAYLOAD + 1024)
#define SG_CTL_TOPIC_MAX 255

typedef enum sg_ctl_op {
	SG_CTL_STATUS = 1,	/* [1] */
	SG_CTL_PEERS = 2,	/* [2] */
	SG_CTL_LEAVE = 3,	/* [3] */
	SG_CTL_SUBSCRIBE = 4,	/* [4, topic: text] then a stream */
	SG_CTL_UNSUBSCRIBE = 5, /* [5, topic: text] */
	SG_CTL_PUBLISH = 6,	/* [6, topic: text, payload: bstr] */
	SG_CTL_LIST = 7,	/* [7] */
	SG_CTL_FIND = 8,	/* [8, kind, target: bstr(32), ttl] (FOAF) */
	SG_CTL_RDV_REGISTER = 9,   /* [9, capability: text] */
	SG_CTL_RDV_UNREGISTER = 10, /* [10, capability: text] */
	SG_CTL_RDV_FIND = 11,	    /* [11, capability: text, wait_ms] */
	/* Groups and presence: "group" is a selector (a name, the id in
	 * hex, or a prefix of at least 8 hex digits of it). */
	SG_CTL_GROUP_CREATE = 12,     /* [12, name: text] */
	SG_CTL_GROUP_INVITE = 13,     /* [13, group, peer: bstr(32), valid_ms] */
	SG_CTL_GROUP_JOIN = 14,	      /* [14, invite: bstr] */
	SG_CTL_GROUP_LEAVE = 15,      /* [15, group] */
	SG_CTL_GROUP_LIST = 16,	      /* [16] */
	SG_CTL_PRESENCE_START = 17,   /* [17, group] */
	SG_CTL_PRESENCE_STOP = 18,    /* [18, group] */
	SG_CTL_PRESENCE_ONLINE = 19,  /* [19, group] */
	SG_CTL_FIND_MEMBER = 20,      /* [20, group, peer: bstr(32), ttl] */
	SG_CTL_GROUP_SEND = 21,	      /* [21, group, message: bstr] */
	SG_CTL_GROUP_LISTEN = 22,     /* [22, group] then a stream */
} sg_ctl_op;

#define SG_CTL_OP_MAX SG_CTL_GROUP_LISTEN
/* GROUP_INVITE validity bounds (ms). */
#define SG_CTL_INVITE_MIN_MS 60000ULL
#define SG_CTL_INVITE_MAX_MS (30ULL * 86400000ULL)
#define SG_CTL_WAIT_MAX_MS 60000

/* Response and stream codes. */
#define SG_CTL_OK 0
#define SG_CTL_EV_MESSAGE 1 /* a delivered message on a subscription */
#define SG_CTL_EV_GROUP_MESSAGE 2 /* a group message on a GROUP_LISTEN */

typedef struct sg_ctl_request {
	sg_ctl_op op;
	/* topic name, the capability for RDV_*, the name or selector for
	 * GROUP_* and PRESENCE_*: views into the decoded buffer; not
	 * NUL-ended */
	const char *topic;
	size_t topic_len;
	const uint8_t *payload; /* PUBLISH, GROUP_SEND; GROUP_JOIN: the invite */
	size_t payload_len;
	unsigned find_kind;	/* FIND: sg_foaf_kind (1 peer, 2 coordinator) */
	const uint8_t *target;	/* FIND, GROUP_INVITE, FIND_MEMBER: 32 bytes */
	unsigned ttl;		/* FIND, FIND_MEMBER: 0 (default) to 6 */
	uint32_t wait_ms;	/* RDV_FIND: 0 to SG_CTL_WAIT_MAX_MS */
	uint64_t valid_ms;	/* GROUP_INVITE: SG_CTL_INVITE_MIN_MS to _MAX_MS */
} sg_ctl_request;

/* Decodes one request body. 0, or SG_ERR_MALFORMED / SG_ERR_UNSUPPORTED
 * (unknown op) / SG_ERR_RANGE (topic empty or longer than
 * SG_CTL_TOPIC_MAX, payload too large) / the CBOR errors. */
SG_API int sg_ctl_request_decode(sg_ctl_request *r, const uint8_t *buf,
				 size_t len);
/* Encodes a request body; returns its length or SG_ERR_BUFSIZE /
 * SG_ERR_INVAL. */
SG_API long sg_ctl_request_encode(uint8_t *out, size_t cap,
				  const sg_ctl_request *r);

#endif
