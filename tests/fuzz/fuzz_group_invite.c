/*
 * Fuzz target: invites, binary or in their text form (input starting
 * with the text prefix), peeked and accepted by Bob, the invitee of the
 * fixture's seed invite (tests/fuzz/fuzz_group_fixture.h). An accepted
 * invite must give a group whose owner is Bob and whose roster holds him.
 */
#include "fuzz_group_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t bin[1 << 18];
	size_t plen = strlen(SG_GROUP_INVITE_TEXT_PREFIX);
	sg_group_invite_info info;
	sg_group *g = NULL;

	fx_init();
	if (size >= plen && memcmp(data, SG_GROUP_INVITE_TEXT_PREFIX, plen) == 0) {
		long n = sg_group_invite_from_text(bin, sizeof(bin),
						   (const char *)data, size);
		if (n < 0)
			return 0;
		data = bin;
		size = (size_t)n;
	}
	if (sg_group_invite_peek(&info, data, size) == 0 &&
	    (info.name_len == 0 || info.name_len > SG_GROUP_NAME_MAX ||
	     info.nmembers == 0 || info.nmembers > SG_GROUP_MAX_MEMBERS))
		__builtin_trap();
	if (sg_group_accept_invite(&g, &fx.env, &fx.bob, data, size, FX_NOW) ==
	    0) {
		if (!sg_peer_id_equal(sg_group_self(g), &fx.bob.id) ||
		    !sg_group_is_member(g, &fx.bob.id))
			__builtin_trap();
		sg_group_del(g);
	} else if (g != NULL) {
		__builtin_trap();
	}
	return 0;
}
