/*
 * Scenario test (simulator, optimised build): churn. 1,000 nodes; every 5 s
 * 2% of them crash and those that crashed 30 s earlier restart with fresh
 * state (same PeerId) and join again, for 5 minutes: afterwards the overlay
 * is connected with views in bounds and no live node was declared dead
 * (except declarations that end a suspicion of a restarted node's previous
 * life, reported as "stale"). Seeds 1, 2 run unless SG_SIM_SEED names one.
 */
#include <stdio.h>
#include <stdlib.h>

#include "scenario.h"

int main(void)
{
	static const uint64_t seeds[] = {1, 2};
	size_t i, n = sizeof(seeds) / sizeof(seeds[0]);
	int failed = 0;

	for (i = 0; i < n; i++) {
		sg_scn s;
		int rc;

		sg_scn_default(&s, "churn");
		s.seed = seeds[i];
		if (getenv("SG_SIM_SEED") != NULL) {
			sg_scn_seed_from_env(&s);
			i = n;
		}
		rc = sg_scn_run(&s);
		if (rc != 0) {
			printf("FAILED (rc %d) with seed %llu\n", rc,
			       (unsigned long long)s.seed);
			failed = 1;
		}
	}
	return failed;
}
