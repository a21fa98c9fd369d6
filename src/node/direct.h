/*
 * Direct frames between two nodes (docs/PROTOCOL.md, "Direct requests"):
 * a request [1, id, body] or a response [2, id, status, body], carried in
 * frames of type 6 over the authenticated connection of the two nodes.
 * Pure codec; the node (src/io/node.c) matches responses to requests.
 */
#ifndef SG_NODE_DIRECT_H
#define SG_NODE_DIRECT_H

#include "sg/common.h"

#define SG_DIRECT_REQUEST 1
#define SG_DIRECT_RESPONSE 2
/* Largest body, and the status range of a response (0 or an SG_ERR_*). */
#define SG_DIRECT_BODY_MAX ((1u << 20) - 4096u)
#define SG_DIRECT_STATUS_MIN (-1000)
#define SG_DIRECT_OVERHEAD 32 /* at most, beyond the body */

typedef struct sg_direct {
	int type;	    /* SG_DIRECT_REQUEST or _RESPONSE */
	uint64_t id;
	int status;	    /* response: 0 or a negative SG_ERR_* */
	const uint8_t *body; /* views the decoded buffer */
	size_t len;
} sg_direct;

/* Decodes one frame body: 0, or CBOR errors, SG_ERR_MALFORMED (shape,
 * type), SG_ERR_RANGE (status, body size). */
int sg_direct_decode(sg_direct *d, const uint8_t *buf, size_t len);
/* Encodes d into out (cap >= d->len + SG_DIRECT_OVERHEAD): its length, or
 * SG_ERR_BUFSIZE / SG_ERR_INVAL / SG_ERR_RANGE. */
long sg_direct_encode(uint8_t *out, size_t cap, const sg_direct *d);

#endif
