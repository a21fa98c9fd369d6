/*
 * Scenario test (node-core simulator, optimised build): 5 of the 100
 * subscribers of a topic (1,000 nodes) corrupt the signature of every
 * GOSSIP they send, their own messages and what they forward. No node
 * accepts a forged copy, each forger is reported as misbehaving (and is
 * then no neighbour of the reporter), no honest node is, and the genuine
 * messages still reach every honest subscriber exactly once.
 *
 * The run uses the simulator's memoised signature check (DESIGN section
 * 7); the same seed is run again with every node verifying every
 * signature itself, and the two runs must agree on every figure: the
 * memo changes the cost, not an outcome.
 */
#include <stdio.h>
#include <string.h>

#include "corescn.h"

static int run(uint64_t seed, int verify_every, sg_cscn_result *res)
{
	sg_cscn s;

	sg_cscn_default(&s, "forge");
	s.seed = seed;
	s.verify_every = verify_every;
	memset(res, 0, sizeof(*res));
	s.result = res;
	if (sg_cscn_run(&s) != 0) {
		printf("FAILED with seed %llu (verify_every %d)\n",
		       (unsigned long long)seed, verify_every);
		return 1;
	}
	return 0;
}

int main(void)
{
	sg_cscn_result memo, every;
	int failed = 0;

	failed |= run(1, 0, &memo);
	failed |= run(1, 1, &every);
	if (memo.expected != every.expected || memo.missed != every.missed ||
	    memo.reports != every.reports ||
	    memo.forged_accepted != every.forged_accepted ||
	    memo.p50_ms != every.p50_ms || memo.max_ms != every.max_ms ||
	    memo.rmr != every.rmr) {
		printf("FAILED: the memoised and the full verification runs "
		       "differ (reports %llu / %llu, p50 %.0f / %.0f)\n",
		       (unsigned long long)memo.reports,
		       (unsigned long long)every.reports, memo.p50_ms,
		       every.p50_ms);
		failed = 1;
	} else {
		printf("memoised and full verification agree: %llu reports, "
		       "%llu deliveries, p50 %.0f ms\n",
		       (unsigned long long)memo.reports,
		       (unsigned long long)memo.expected, memo.p50_ms);
	}
	failed |= run(2, 0, &memo);
	return failed;
}
