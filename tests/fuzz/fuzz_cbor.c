/*
 * libFuzzer target for the deterministic CBOR codec (RFC 8949 section
 * 4.2.1). Property: a canonical decoder accepts exactly what the encoder
 * produces, so any input sg_cbor_validate() accepts must decode item by
 * item and re-encode to the identical bytes, and the skipper must agree on
 * its extent. Rejected inputs are fine, but the pull decoder and the typed
 * getters are still run over them (nothing may read out of bounds or
 * crash). Any violation aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cbor_reencode.h"
#include "sg/cbor.h"
#include "sg/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[1 << 20];

/* Typed getters over arbitrary input: each either succeeds and moves the
 * cursor forward within bounds, or fails and leaves it. */
static void getters(const uint8_t *data, size_t size)
{
	sg_cbor_dec d;
	unsigned step;

	sg_cbor_dec_init(&d, data, size);
	for (step = 0; step < 4096 && d.p != d.end; step++) {
		const uint8_t *before = d.p, *p;
		const char *t;
		uint64_t u;
		int64_t s;
		size_t n;
		int b, rc;

		switch (step % 10) {
		case 0:
			rc = sg_cbor_get_uint(&d, &u);
			break;
		case 1:
			rc = sg_cbor_get_int(&d, &s);
			break;
		case 2:
			rc = sg_cbor_get_bytes(&d, &p, &n);
			if (rc == 0 && (p < data || n > (size_t)(d.p - p)))
				abort();
			break;
		case 3:
			rc = sg_cbor_get_bytes_len(&d, &p, 32);
			break;
		case 4:
			rc = sg_cbor_get_text(&d, &t, &n);
			if (rc == 0 &&
			    sg_cbor_utf8_check((const uint8_t *)t, n) != 0)
				abort();
			break;
		case 5:
			rc = sg_cbor_get_array(&d, &n);
			if (rc == 0 && n > (size_t)(d.end - d.p))
				abort();
			break;
		case 6:
			rc = sg_cbor_get_map(&d, &n);
			if (rc == 0 && n > (size_t)(d.end - d.p) / 2)
				abort();
			break;
		case 7:
			rc = sg_cbor_get_bool(&d, &b);
			break;
		case 8:
			rc = sg_cbor_get_null(&d);
			break;
		default:
			rc = sg_cbor_skip(&d);
			break;
		}
		if (d.p < before || d.p > d.end)
			abort();
		if (rc != 0 && d.p != before)
			abort();
		if (rc == 0 && d.p == before)
			abort();
		if (rc != 0 && rc != SG_ERR_TYPE && rc != SG_ERR_RANGE) {
			/* A malformed head: step over one byte to go on. */
			d.p++;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sg_cbor_limits lim = {SG_CBOR_MAX_DEPTH, 1u << 20};
	int rc = sg_cbor_validate(data, size, NULL);
	int rc_wide = sg_cbor_validate(data, size, &lim);
	sg_cbor_dec d;

	/* Wider limits never reject what the defaults accept. */
	if (rc == 0 && rc_wide != 0)
		abort();
	if (rc_wide == 0) {
		if (sg_test_cbor_reencode(data, size, out, sizeof(out)) !=
			(long)size ||
		    memcmp(out, data, size) != 0)
			abort();
		sg_cbor_dec_init(&d, data, size);
		if (sg_cbor_skip(&d) != 0 || sg_cbor_dec_done(&d) != 0)
			abort();
	} else if (rc_wide != SG_ERR_TRUNCATED && rc_wide != SG_ERR_MALFORMED &&
		   rc_wide != SG_ERR_NONCANONICAL &&
		   rc_wide != SG_ERR_UNSUPPORTED &&
		   rc_wide != SG_ERR_TRAILING && rc_wide != SG_ERR_DEPTH &&
		   rc_wide != SG_ERR_RANGE) {
		abort();
	}
	getters(data, size);
	return 0;
}
