/*
 * Fuzz target for the shared wire formats: the first byte picks frame
 * header, published message or coordinator advert; the rest is the input.
 * Accepted messages are re-verified against a fixed key (must not crash);
 * nothing may read out of bounds or allocate.
 */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "sg/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pk[SG_MLDSA65_PK_LEN];
	sg_msg_view v;
	sg_advert a;
	sg_frame_type t;
	size_t len;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		if (sg_frame_header_decode(&t, &len, data + 1, size - 1,
					   SG_FRAME_DEFAULT_MAX) == 0 &&
		    len > SG_FRAME_DEFAULT_MAX)
			__builtin_trap();
		break;
	case 1:
		if (sg_msg_decode(&v, data + 1, size - 1) == 0) {
			if (v.signed_part < data + 1 ||
			    v.payload + v.payload_len > data + size)
				__builtin_trap();
			(void)sg_msg_verify(&v, pk);
			(void)sg_msg_check_time(&v, 1, 300000);
		}
		break;
	default:
		(void)sg_advert_decode_verify(&a, data + 1, size - 1,
					      1700000000000ULL, 300000);
		break;
	}
	return 0;
}
