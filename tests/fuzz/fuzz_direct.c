/*
 * Fuzz target: direct frames between nodes (src/node/direct.h). Whatever
 * decodes must re-encode to the same bytes (deterministic CBOR) and stay
 * within its bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "node/direct.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sg_direct d;
	uint8_t *out;
	long n;

	if (sg_direct_decode(&d, data, size) != 0)
		return 0;
	if (d.len > SG_DIRECT_BODY_MAX || d.status > 0 ||
	    (d.type == SG_DIRECT_REQUEST && d.status != 0))
		abort();
	out = malloc(d.len + SG_DIRECT_OVERHEAD);
	if (out == NULL)
		return 0;
	n = sg_direct_encode(out, d.len + SG_DIRECT_OVERHEAD, &d);
	if (n != (long)size || memcmp(out, data, size) != 0)
		abort();
	free(out);
	return 0;
}
