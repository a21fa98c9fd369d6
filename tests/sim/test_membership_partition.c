/*
 * Scenario test (simulator, optimised build): 1,000 nodes split into two halves
 * for 60 s (each half stays connected on its own), then the partition heals:
 * one connected overlay within 120 s without any intervention. Seeds 1, 2, 3
 * run unless SG_SIM_SEED names one; a failure prints its seed.
 */
#include <stdio.h>
#include <stdlib.h>

#include "scenario.h"

int main(void)
{
	static const uint64_t seeds[] = {1, 2, 3};
	size_t i, n = sizeof(seeds) / sizeof(seeds[0]);
	int failed = 0;

	for (i = 0; i < n; i++) {
		sg_scn s;
		int rc;

		sg_scn_default(&s, "partition");
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
