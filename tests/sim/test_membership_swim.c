/*
 * Scenario test (simulator, optimised build): SWIM at 10% packet loss, 1,000
 * nodes, 10 minutes, one crash every 10 s: zero false positives, every crash
 * declared dead, mean time to first suspicion within 3 probe periods (mean and
 * p99 printed). Seeds 1, 2 run unless SG_SIM_SEED names one; a failure prints
 * its seed.
 */
#include "scenario.h"

int main(void)
{
	static const uint64_t seeds[] = {1, 2};

	return sg_scn_run_seeds("swim", seeds, sizeof(seeds) / sizeof(seeds[0]),
				NULL);
}
