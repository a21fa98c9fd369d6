/*
 * Scenario test (simulator, optimised build): 1,000 nodes split into two halves
 * for 60 s (each half stays connected on its own), then the partition heals:
 * one connected overlay within 120 s without any intervention. Seeds 1, 2, 3
 * run unless SG_SIM_SEED names one; a failure prints its seed.
 */
#include "scenario.h"

int main(void)
{
	static const uint64_t seeds[] = {1, 2, 3};

	return sg_scn_run_seeds("partition", seeds, sizeof(seeds) / sizeof(seeds[0]),
				NULL);
}
