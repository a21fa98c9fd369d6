/*
 * Fuzz target: what arrives on a group's topic besides commits: group
 * messages (decrypted by Bob's state of tests/fuzz/fuzz_group_fixture.h)
 * and leave notices, routed by sg_group_frame_type as a node does.
 */
#include "fuzz_group_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[1 << 20];
	static sg_group *g;
	sg_peer_id who;
	uint64_t epoch;
	long n;

	fx_init();
	if (g == NULL)
		g = fx_import(&fx.bob_state, &fx.bob);
	switch (sg_group_frame_type(data, size)) {
	case SG_GROUP_FRAME_MESSAGE:
	default:
		n = sg_group_decrypt(g, out, sizeof(out), data, size, &epoch);
		if (n > 0 && (size_t)n > size)
			__builtin_trap();
		if (sg_group_leave_process(g, data, size, &who) == 0)
			__builtin_trap();
		break;
	case SG_GROUP_FRAME_LEAVE:
		if (sg_group_leave_process(g, data, size, &who) == 0 &&
		    !sg_group_is_member(g, &who))
			__builtin_trap();
		break;
	}
	return 0;
}
