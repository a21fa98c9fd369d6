/*
 * Scenario test (simulator, optimised build): churn. 1,000 nodes; every 5 s
 * 2% of them crash and those that crashed 30 s earlier restart with fresh
 * state (same PeerId) and join again, for 5 minutes: afterwards the overlay
 * is connected with views in bounds and no live node was declared dead
 * (except declarations that end a suspicion of a restarted node's previous
 * life, reported as "stale"). Seeds 1, 2 run unless SG_SIM_SEED names one.
 */
#include "scenario.h"

int main(void)
{
	static const uint64_t seeds[] = {1, 2};

	return sg_scn_run_seeds("churn", seeds, sizeof(seeds) / sizeof(seeds[0]),
				NULL);
}
