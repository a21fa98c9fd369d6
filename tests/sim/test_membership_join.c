/*
 * Scenario test (simulator, optimised build): 1,000 nodes join through one
 * contact over 10 s; after 60 s the active-view graph is connected and
 * symmetric and every view is within its bounds. Seeds 1, 2, 3 run unless
 * SG_SIM_SEED names one; a failure prints its seed.
 */
#include "scenario.h"

int main(void)
{
	static const uint64_t seeds[] = {1, 2, 3};

	return sg_scn_run_seeds("join", seeds, sizeof(seeds) / sizeof(seeds[0]),
				NULL);
}
