/*
 * Fuzz target: control socket requests (sg_ctl_request_decode). Whatever
 * decodes must re-encode to the same bytes (the encoding is deterministic)
 * and carry a topic and payload within their limits.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sg/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sg_ctl_request r;
	uint8_t *out;
	long n;

	if (sg_ctl_request_decode(&r, data, size) != 0)
		return 0;
	if (r.topic_len > SG_CTL_TOPIC_MAX ||
	    r.payload_len > SG_MSG_MAX_PAYLOAD)
		abort();
	out = malloc(size + 1);
	if (out == NULL)
		return 0;
	n = sg_ctl_request_encode(out, size + 1, &r);
	if (n != (long)size || memcmp(out, data, size) != 0)
		abort();
	free(out);
	return 0;
}
