/*
 * Scenario test (simulator, optimised build): 10,000 nodes (joining over 20 s
 * through random earlier nodes), 50% crash at once; the survivors' active-view
 * graph is connected again within 30 s of virtual time. Seeds 1, 2 run unless
 * SG_SIM_SEED names one; a failure prints its seed.
 */
#include "scenario.h"

int main(void)
{
	static const uint64_t seeds[] = {1, 2};

	return sg_scn_run_seeds("crash", seeds, sizeof(seeds) / sizeof(seeds[0]),
				NULL);
}
