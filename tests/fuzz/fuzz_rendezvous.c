/*
 * Fuzz target: rendezvous summaries (sg_rdv_summary_decode); whatever
 * decodes must re-encode to the same bytes and go into a small table.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sg/rendezvous.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static sg_rdv_table *t;
	static sg_env env;
	sg_rdv_summary s;
	sg_peer_id p;
	uint8_t out[SG_RDV_SUMMARY_MAX + 16];
	long n;

	if (t == NULL) {
		sg_env_default(&env);
		t = sg_rdv_table_new(&env, 16);
	}
	if (sg_rdv_summary_decode(&s, data, size) != 0)
		return 0;
	n = sg_rdv_summary_encode(out, sizeof(out), &s);
	if (n >= 0 && (n != (long)size || memcmp(out, data, size) != 0))
		abort();
	memset(p.bytes, size & 0xff, sizeof(p.bytes));
	sg_rdv_table_put(t, &p, size, &s, 1000, 600000);
	return 0;
}
