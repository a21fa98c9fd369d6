/*
 * Fuzz target: commits processed by Bob's group state at epoch 1 (the
 * fixture's, tests/fuzz/fuzz_group_fixture.h), and peeked. A commit that
 * changes the state must have moved it to the commit's epoch; the state
 * is restored from the fixture after any change.
 */
#include "fuzz_group_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static sg_group *g;
	sg_group_commit_info info, peek;
	uint8_t before[32];
	int rc;

	fx_init();
	if (g == NULL)
		g = fx_import(&fx.bob_state, &fx.bob);
	memcpy(before, sg_group_commit_id(g), 32);
	rc = sg_group_commit_process(g, data, size, &fx.bob, &info);
	if (rc == 0 && sg_group_commit_peek(&peek, data, size) != 0)
		__builtin_trap();
	if (memcmp(before, sg_group_commit_id(g), 32) != 0) {
		if (rc != 0 || (info.outcome != SG_GROUP_COMMIT_APPLIED &&
				info.outcome != SG_GROUP_COMMIT_SWITCHED) ||
		    sg_group_epoch(g) != info.epoch ||
		    !sg_group_is_member(g, &fx.bob.id))
			__builtin_trap();
		sg_group_del(g);
		g = fx_import(&fx.bob_state, &fx.bob);
	}
	return 0;
}
