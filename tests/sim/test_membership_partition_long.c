/*
 * Scenario test (simulator, optimised build): as test_membership_partition but
 * for 180 s, long enough that every link across the partition is dropped
 * (asserted); the halves then find each other again through the failed-peer
 * retries. Seeds 1, 2 run unless SG_SIM_SEED names one; a failure prints its
 * seed.
 */
#include "scenario.h"

/* The long variant: the halves are apart long enough for every cross
 * link to be dropped. */
static void separate(sg_scn *s)
{
	s->duration_ms = 180000;
	s->separate = 1;
}

int main(void)
{
	static const uint64_t seeds[] = {1, 2};

	return sg_scn_run_seeds("partition", seeds, sizeof(seeds) / sizeof(seeds[0]),
				separate);
}
