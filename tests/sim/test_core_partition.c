/*
 * Scenario test (node-core simulator, optimised build): 3 of the 100
 * subscribers of a topic (1,000 nodes) are cut off for 30 s; the 10
 * messages published meanwhile do not reach them during the partition and
 * reach them (exactly once) after it heals, through Plumtree's catch-up
 * within its cache window. Seeds 1-2 unless SG_SIM_SEED names one.
 */
#include "corescn.h"

int main(void)
{
	static const uint64_t seeds[] = {1, 2};

	return sg_cscn_run_seeds("partition", seeds,
				 sizeof(seeds) / sizeof(seeds[0]), NULL);
}
