/*
 * Fuzz target: group state files. The first byte picks the owner (even:
 * Alice, odd: Bob of tests/fuzz/fuzz_group_fixture.h), the rest is the
 * file. An accepted file must export again to exactly the same bytes
 * (deterministic encoding, nothing lost).
 */
#include "fuzz_group_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[1 << 20];
	const sg_identity *who;
	sg_group *g = NULL;
	long n;

	fx_init();
	if (size < 1)
		return 0;
	who = (data[0] & 1) ? &fx.bob : &fx.alice;
	if (sg_group_import(&g, &fx.env, &who->id, data + 1, size - 1) != 0) {
		if (g != NULL)
			__builtin_trap();
		return 0;
	}
	n = sg_group_export(g, out, sizeof(out));
	if (n < 0 || (size_t)n != size - 1 || memcmp(out, data + 1, size - 1))
		__builtin_trap();
	sg_group_del(g);
	return 0;
}
