/*
 * Scenario test (simulator, optimised build): forged SWIM claims (DESIGN
 * section 7). 300 nodes; every active neighbour of ten victims receives
 * from a third node a forged left, a forged alive (the victim's key shown,
 * or the forger's own) and the victim's genuine left with a flipped
 * signature byte: all refused and counted at every node, with the shared
 * memoised verification and with every node verifying for itself; the
 * victims stay members everywhere and their genuine claims are accepted.
 * Seed 1 unless SG_SIM_SEED names one; a failure prints its seed.
 */
#include "scenario.h"

static void every(sg_scn *s)
{
	s->verify_every = 1;
}

int main(void)
{
	static const uint64_t seeds[] = {1};
	int rc;

	rc = sg_scn_run_seeds("forged", seeds, 1, NULL);
	return rc | sg_scn_run_seeds("forged", seeds, 1, every);
}
