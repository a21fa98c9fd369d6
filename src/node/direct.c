/* Direct frames: see direct.h. */
#include "direct.h"

#include "sg/cbor.h"
#include "sg/err.h"

int sg_direct_decode(sg_direct *d, const uint8_t *buf, size_t len)
{
	sg_cbor_dec dec;
	size_t count;
	uint64_t type;
	int64_t status = 0;
	int rc;

	d->type = 0;
	sg_cbor_dec_init(&dec, buf, len);
	if ((rc = sg_cbor_get_array(&dec, &count)) != 0 ||
	    (rc = sg_cbor_get_uint(&dec, &type)) != 0)
		return rc;
	if (!((type == SG_DIRECT_REQUEST && count == 3) ||
	      (type == SG_DIRECT_RESPONSE && count == 4)))
		return SG_ERR_MALFORMED;
	if ((rc = sg_cbor_get_uint(&dec, &d->id)) != 0)
		return rc;
	if (type == SG_DIRECT_RESPONSE) {
		if ((rc = sg_cbor_get_int(&dec, &status)) != 0)
			return rc;
		if (status > 0 || status < SG_DIRECT_STATUS_MIN)
			return SG_ERR_RANGE;
	}
	if ((rc = sg_cbor_get_bytes(&dec, &d->body, &d->len)) != 0)
		return rc;
	if (d->len > SG_DIRECT_BODY_MAX)
		return SG_ERR_RANGE;
	if ((rc = sg_cbor_dec_done(&dec)) != 0)
		return rc;
	d->type = (int)type;
	d->status = (int)status;
	return 0;
}

long sg_direct_encode(uint8_t *out, size_t cap, const sg_direct *d)
{
	sg_cbor_enc e;

	if (d->type != SG_DIRECT_REQUEST && d->type != SG_DIRECT_RESPONSE)
		return SG_ERR_INVAL;
	if (d->len > SG_DIRECT_BODY_MAX || d->status > 0 ||
	    d->status < SG_DIRECT_STATUS_MIN)
		return SG_ERR_RANGE;
	sg_cbor_enc_init(&e, out, cap);
	sg_cbor_put_array(&e, d->type == SG_DIRECT_REQUEST ? 3 : 4);
	sg_cbor_put_uint(&e, (uint64_t)d->type);
	sg_cbor_put_uint(&e, d->id);
	if (d->type == SG_DIRECT_RESPONSE)
		sg_cbor_put_int(&e, d->status);
	sg_cbor_put_bytes(&e, d->len > 0 ? d->body : (const uint8_t *)"",
			  d->len);
	return sg_cbor_enc_finish(&e);
}
