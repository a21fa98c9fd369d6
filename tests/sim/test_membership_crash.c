/*
 * Scenario test (simulator, optimised build): 10,000 nodes (joining over 20 s
 * through random earlier nodes), 50% crash at once; the survivors' active-view
 * graph is connected again within 30 s of virtual time. Seeds 1, 2 run unless
 * SG_SIM_SEED names one; a failure prints its seed.
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

		sg_scn_default(&s, "crash");
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
