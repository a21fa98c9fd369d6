/*
 * libFuzzer target for ML-DSA-65 verification (FIPS 204 Algorithms 3/8 and
 * the decoders of section 7.2): the input is split as
 *   pk (1952 bytes, zero-padded if short) || sig (up to 3309 bytes; shorter
 *   is a wrong length) || ctx_len (1 byte) || ctx || msg
 * and run through verify, verify_internal and verify_mu. Nothing may crash
 * or read out of bounds, a result is 0 or SG_ERR_VERIFY, and the same input
 * always gives the same answer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sg/err.h"
#include "sg/mldsa65.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t pk[SG_MLDSA65_PK_LEN] = {0}, tr[64], mu[64];
	const uint8_t *sig, *ctx = NULL, *msg = NULL;
	size_t n, sig_len, ctx_len = 0, msg_len = 0;
	sg_keccak h;
	int r1, r2;

	n = size < sizeof(pk) ? size : sizeof(pk);
	memcpy(pk, data, n);
	data += n;
	size -= n;
	sig = data;
	sig_len = size < SG_MLDSA65_SIG_LEN ? size : SG_MLDSA65_SIG_LEN;
	data += sig_len;
	size -= sig_len;
	if (size > 0) {
		ctx_len = data[0];
		data++;
		size--;
		if (ctx_len > size)
			ctx_len = size;
		ctx = data;
		msg = data + ctx_len;
		msg_len = size - ctx_len;
	}

	r1 = sg_mldsa65_verify(sig, sig_len, msg, msg_len, ctx, ctx_len, pk);
	r2 = sg_mldsa65_verify(sig, sig_len, msg, msg_len, ctx, ctx_len, pk);
	if ((r1 != 0 && r1 != SG_ERR_VERIFY) || r1 != r2)
		abort();

	/* The same through streaming mu and verify_mu. */
	sg_mldsa65_tr(tr, pk);
	if (sg_mldsa65_mu_init(&h, tr, ctx, ctx_len) != 0)
		abort();
	if (msg_len > 0)
		(void)sg_keccak_absorb(&h, msg, msg_len);
	sg_mldsa65_mu_final(mu, &h);
	if (sg_mldsa65_verify_mu(sig, sig_len, mu, pk) != r1)
		abort();

	/* The tail as M' for the internal interface. */
	r2 = sg_mldsa65_verify_internal(sig, sig_len, msg, msg_len, pk);
	if (r2 != 0 && r2 != SG_ERR_VERIFY)
		abort();
	return 0;
}
