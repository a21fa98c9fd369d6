/*
 * Scenario test (node-core simulator, optimised build): 5 of the 100
 * subscribers of a topic (1,000 nodes) forward honestly while the trees
 * form (300 messages), then turn: every GOSSIP they would send becomes an
 * IHAVE claiming 1 hop, and they deliver nothing, not even when grafted
 * (DESIGN section 7: "a node that drops what it forwards ... being
 * pruned"). Asserted (sim/corescn.c): every honest subscriber still
 * delivers every message exactly once; every dropper's score falls below
 * the threshold at one or more of its honest swarm neighbours, which prune
 * it; no GRAFT reaches a dropper during its back-off; no honest neighbour
 * is pruned. Seeds 1-2 unless SG_SIM_SEED names one.
 */
#include "corescn.h"

int main(void)
{
	static const uint64_t seeds[] = {1, 2};

	return sg_cscn_run_seeds("drop", seeds,
				 sizeof(seeds) / sizeof(seeds[0]), NULL);
}
