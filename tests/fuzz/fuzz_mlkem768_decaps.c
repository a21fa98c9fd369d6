/*
 * libFuzzer target for the ML-KEM-768 inputs a peer controls. The first
 * byte picks what the rest is:
 *   0: a ciphertext (zero-padded or cut to 1088 bytes) decapsulated with a
 *      fixed key; decapsulation must succeed, be deterministic, and agree
 *      with encapsulation when the input is a real ciphertext (mode 3).
 *   1: an encapsulation key of any length: check_ek, and encaps must
 *      succeed exactly when the check passes.
 *   2: a decapsulation key of any length: check_dk, and decaps must
 *      succeed exactly when the check passes.
 *   3: 32 bytes of encapsulation randomness m for the fixed key: encaps
 *      then decaps must agree, and one flipped bit must not.
 * Any disagreement aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sg/mlkem768.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t fixed_ek[SG_MLKEM768_EK_LEN], fixed_dk[SG_MLKEM768_DK_LEN];

static void fixed_key(void)
{
	static int ready;
	uint8_t seed[SG_MLKEM768_SEED_LEN];
	size_t i;

	if (ready)
		return;
	for (i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)i;
	if (sg_mlkem768_keypair(fixed_ek, fixed_dk, seed) != 0)
		abort();
	ready = 1;
}

static void fuzz_ciphertext(const uint8_t *in, size_t len)
{
	uint8_t ct[SG_MLKEM768_CT_LEN] = {0}, ss[32], ss2[32];

	memcpy(ct, in, len < sizeof(ct) ? len : sizeof(ct));
	if (sg_mlkem768_decaps(ss, ct, fixed_dk) != 0)
		abort();
	if (sg_mlkem768_decaps(ss2, ct, fixed_dk) != 0 ||
	    memcmp(ss, ss2, 32) != 0)
		abort();
}

static void fuzz_ek(const uint8_t *in, size_t len)
{
	uint8_t ct[SG_MLKEM768_CT_LEN], ss[32], m[32] = {0x5a};
	int ok = sg_mlkem768_check_ek(in, len) == 0;

	if (len != SG_MLKEM768_EK_LEN) {
		if (ok)
			abort();
		return;
	}
	if ((sg_mlkem768_encaps(ct, ss, in, m) == 0) != ok)
		abort();
}

static void fuzz_dk(const uint8_t *in, size_t len)
{
	uint8_t ct[SG_MLKEM768_CT_LEN] = {0}, ss[32];
	int ok = sg_mlkem768_check_dk(in, len) == 0;

	if (len != SG_MLKEM768_DK_LEN) {
		if (ok)
			abort();
		return;
	}
	if ((sg_mlkem768_decaps(ss, ct, in) == 0) != ok)
		abort();
}

static void fuzz_message(const uint8_t *in, size_t len)
{
	uint8_t m[32] = {0}, ct[SG_MLKEM768_CT_LEN], ss[32], ss2[32];
	size_t pos;

	memcpy(m, in, len < sizeof(m) ? len : sizeof(m));
	if (sg_mlkem768_encaps(ct, ss, fixed_ek, m) != 0)
		abort();
	if (sg_mlkem768_decaps(ss2, ct, fixed_dk) != 0 ||
	    memcmp(ss, ss2, 32) != 0)
		abort();
	pos = (m[0] | (size_t)m[1] << 8) % sizeof(ct);
	ct[pos] ^= (uint8_t)(1u << (m[2] & 7));
	if (sg_mlkem768_decaps(ss2, ct, fixed_dk) != 0 ||
	    memcmp(ss, ss2, 32) == 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	fixed_key();
	switch (data[0] & 3) {
	case 0:
		fuzz_ciphertext(data + 1, size - 1);
		break;
	case 1:
		fuzz_ek(data + 1, size - 1);
		break;
	case 2:
		fuzz_dk(data + 1, size - 1);
		break;
	default:
		fuzz_message(data + 1, size - 1);
		break;
	}
	return 0;
}
