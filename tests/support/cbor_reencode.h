/*
 * Walks one CBOR item with the pull decoder and re-encodes it item by item
 * with the encoder: the canonical-form property (a strict decoder accepts
 * exactly what the encoder produces) is checked by comparing the result
 * with the input. Shared by the CBOR tests and the fuzz target.
 */
#ifndef SG_TEST_CBOR_REENCODE_H
#define SG_TEST_CBOR_REENCODE_H

#include <stddef.h>
#include <stdint.h>

/* Bytes written to out, or a negative SG_ERR_* from decoding/encoding. */
long sg_test_cbor_reencode(const uint8_t *in, size_t len, uint8_t *out,
			   size_t cap);

#endif
