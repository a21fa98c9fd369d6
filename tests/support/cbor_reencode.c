/*
 * sg_test_cbor_reencode: decode item by item, encode item by item.
 */
#include "cbor_reencode.h"

#include "sg/cbor.h"

long sg_test_cbor_reencode(const uint8_t *in, size_t len, uint8_t *out,
			   size_t cap)
{
	sg_cbor_dec d;
	sg_cbor_enc e;
	sg_cbor_item it;
	uint64_t pending = 1;
	int rc;

	sg_cbor_dec_init(&d, in, len);
	sg_cbor_enc_init(&e, out, cap);
	while (pending) {
		if ((rc = sg_cbor_next(&d, &it)) != 0)
			return rc;
		pending--;
		switch (it.type) {
		case SG_CBOR_UINT:
			sg_cbor_put_uint(&e, it.val);
			break;
		case SG_CBOR_NINT:
			sg_cbor_put_nint_arg(&e, it.val);
			break;
		case SG_CBOR_BYTES:
			sg_cbor_put_bytes(&e, it.ptr, (size_t)it.val);
			break;
		case SG_CBOR_TEXT:
			sg_cbor_put_text(&e, (const char *)it.ptr,
					 (size_t)it.val);
			break;
		case SG_CBOR_ARRAY:
			sg_cbor_put_array(&e, (size_t)it.val);
			pending += it.val;
			break;
		case SG_CBOR_MAP:
			sg_cbor_put_map(&e, (size_t)it.val);
			pending += 2 * it.val;
			break;
		case SG_CBOR_BOOL:
			sg_cbor_put_bool(&e, (int)it.val);
			break;
		case SG_CBOR_NULL:
			sg_cbor_put_null(&e);
			break;
		default:
			return -1;
		}
	}
	if ((rc = sg_cbor_dec_done(&d)) != 0)
		return rc;
	return sg_cbor_enc_finish(&e);
}
