/* Control protocol requests (include/sg/control.h). */
#include "sg/control.h"

#include <string.h>

#include "sg/cbor.h"
#include "sg/err.h"

static int has_topic(sg_ctl_op op)
{
	return op == SG_CTL_SUBSCRIBE || op == SG_CTL_UNSUBSCRIBE ||
	       op == SG_CTL_PUBLISH || op == SG_CTL_RDV_REGISTER ||
	       op == SG_CTL_RDV_UNREGISTER || op == SG_CTL_RDV_FIND ||
	       op == SG_CTL_GROUP_CREATE || op == SG_CTL_GROUP_INVITE ||
	       op == SG_CTL_GROUP_LEAVE || op == SG_CTL_PRESENCE_START ||
	       op == SG_CTL_PRESENCE_STOP || op == SG_CTL_PRESENCE_ONLINE ||
	       op == SG_CTL_FIND_MEMBER || op == SG_CTL_GROUP_SEND ||
	       op == SG_CTL_GROUP_LISTEN;
}

static size_t fields(sg_ctl_op op)
{
	return op == SG_CTL_FIND || op == SG_CTL_GROUP_INVITE ||
			       op == SG_CTL_FIND_MEMBER
		       ? 4
	       : op == SG_CTL_PUBLISH || op == SG_CTL_RDV_FIND ||
			       op == SG_CTL_GROUP_SEND
		       ? 3
	       : has_topic(op) || op == SG_CTL_GROUP_JOIN      ? 2
							       : 1;
}

int sg_ctl_request_decode(sg_ctl_request *r, const uint8_t *buf, size_t len)
{
	sg_cbor_limits lim;
	sg_cbor_dec d;
	size_t count;
	uint64_t op;
	int rc;

	memset(r, 0, sizeof(*r));
	sg_cbor_limits_default(&lim);
	lim.max_depth = 1;
	lim.max_items = 5;
	if ((rc = sg_cbor_validate(buf, len, &lim)) != 0)
		return rc;
	sg_cbor_dec_init(&d, buf, len);
	if ((rc = sg_cbor_get_array(&d, &count)) != 0)
		return rc;
	if (count < 1)
		return SG_ERR_MALFORMED;
	if ((rc = sg_cbor_get_uint(&d, &op)) != 0)
		return rc;
	if (op < SG_CTL_STATUS || op > SG_CTL_OP_MAX)
		return SG_ERR_UNSUPPORTED;
	r->op = (sg_ctl_op)op;
	if (count != fields(r->op))
		return SG_ERR_MALFORMED;
	if (has_topic(r->op)) {
		if ((rc = sg_cbor_get_text(&d, &r->topic, &r->topic_len)) != 0)
			return rc;
		if (r->topic_len == 0 || r->topic_len > SG_CTL_TOPIC_MAX)
			return SG_ERR_RANGE;
	}
	if (r->op == SG_CTL_PUBLISH || r->op == SG_CTL_GROUP_JOIN ||
	    r->op == SG_CTL_GROUP_SEND) {
		if ((rc = sg_cbor_get_bytes(&d, &r->payload,
					    &r->payload_len)) != 0)
			return rc;
		if (r->payload_len > SG_MSG_MAX_PAYLOAD)
			return SG_ERR_RANGE;
	}
	if (r->op == SG_CTL_FIND_MEMBER) {
		uint64_t ttl;
		if ((rc = sg_cbor_get_bytes_len(&d, &r->target, 32)) != 0 ||
		    (rc = sg_cbor_get_uint(&d, &ttl)) != 0)
			return rc;
		if (ttl > 6)
			return SG_ERR_RANGE;
		r->ttl = (unsigned)ttl;
	}
	if (r->op == SG_CTL_GROUP_INVITE) {
		if ((rc = sg_cbor_get_bytes_len(&d, &r->target, 32)) != 0 ||
		    (rc = sg_cbor_get_uint(&d, &r->valid_ms)) != 0)
			return rc;
		if (r->valid_ms < SG_CTL_INVITE_MIN_MS ||
		    r->valid_ms > SG_CTL_INVITE_MAX_MS)
			return SG_ERR_RANGE;
	}
	if (r->op == SG_CTL_RDV_FIND) {
		uint64_t w;
		if ((rc = sg_cbor_get_uint(&d, &w)) != 0)
			return rc;
		if (w > SG_CTL_WAIT_MAX_MS)
			return SG_ERR_RANGE;
		r->wait_ms = (uint32_t)w;
	}
	if (r->op == SG_CTL_FIND) {
		uint64_t kind, ttl;
		if ((rc = sg_cbor_get_uint(&d, &kind)) != 0 ||
		    (rc = sg_cbor_get_bytes_len(&d, &r->target, 32)) != 0 ||
		    (rc = sg_cbor_get_uint(&d, &ttl)) != 0)
			return rc;
		if (kind < 1 || kind > 2 || ttl > 6)
			return SG_ERR_RANGE;
		r->find_kind = (unsigned)kind;
		r->ttl = (unsigned)ttl;
	}
	return sg_cbor_dec_done(&d);
}

long sg_ctl_request_encode(uint8_t *out, size_t cap, const sg_ctl_request *r)
{
	sg_cbor_enc e;

	if (r->op < SG_CTL_STATUS || r->op > SG_CTL_OP_MAX)
		return SG_ERR_INVAL;
	if (r->op == SG_CTL_FIND &&
	    (r->target == NULL || r->find_kind < 1 || r->find_kind > 2 ||
	     r->ttl > 6))
		return SG_ERR_INVAL;
	if (has_topic(r->op) &&
	    (r->topic_len == 0 || r->topic_len > SG_CTL_TOPIC_MAX))
		return SG_ERR_INVAL;
	if (has_topic(r->op) &&
	    sg_cbor_utf8_check((const uint8_t *)r->topic, r->topic_len) != 0)
		return SG_ERR_INVAL;
	if ((r->op == SG_CTL_PUBLISH || r->op == SG_CTL_GROUP_JOIN ||
	     r->op == SG_CTL_GROUP_SEND) &&
	    r->payload_len > SG_MSG_MAX_PAYLOAD)
		return SG_ERR_INVAL;
	if (r->op == SG_CTL_FIND_MEMBER && (r->target == NULL || r->ttl > 6))
		return SG_ERR_INVAL;
	if (r->op == SG_CTL_GROUP_INVITE &&
	    (r->target == NULL || r->valid_ms < SG_CTL_INVITE_MIN_MS ||
	     r->valid_ms > SG_CTL_INVITE_MAX_MS))
		return SG_ERR_INVAL;
	if (r->op == SG_CTL_RDV_FIND && r->wait_ms > SG_CTL_WAIT_MAX_MS)
		return SG_ERR_INVAL;
	sg_cbor_enc_init(&e, out, cap);
	sg_cbor_put_array(&e, fields(r->op));
	sg_cbor_put_uint(&e, (uint64_t)r->op);
	if (has_topic(r->op))
		sg_cbor_put_text(&e, r->topic, r->topic_len);
	if (r->op == SG_CTL_PUBLISH || r->op == SG_CTL_GROUP_JOIN ||
	    r->op == SG_CTL_GROUP_SEND)
		sg_cbor_put_bytes(&e, r->payload, r->payload_len);
	if (r->op == SG_CTL_GROUP_INVITE) {
		sg_cbor_put_bytes(&e, r->target, 32);
		sg_cbor_put_uint(&e, r->valid_ms);
	}
	if (r->op == SG_CTL_FIND_MEMBER) {
		sg_cbor_put_bytes(&e, r->target, 32);
		sg_cbor_put_uint(&e, r->ttl);
	}
	if (r->op == SG_CTL_RDV_FIND)
		sg_cbor_put_uint(&e, r->wait_ms);
	if (r->op == SG_CTL_FIND) {
		sg_cbor_put_uint(&e, r->find_kind);
		sg_cbor_put_bytes(&e, r->target, 32);
		sg_cbor_put_uint(&e, r->ttl);
	}
	return sg_cbor_enc_finish(&e);
}
