/*
 * Scenario test (node-core simulator, optimised build): after the topic
 * swarms formed, 50% of all nodes crash at once; every message a survivor
 * publishes from 1 s after the crash on reaches every surviving subscriber
 * within 30 s of virtual time. 1,000 nodes with a 10% topic (seeds 1-3),
 * and the DESIGN section 7 case: 10,000 nodes, a topic 1% of them (100)
 * joined (seed 1). SG_SIM_SEED replays one seed of both.
 */
#include "corescn.h"

static void ten_thousand(sg_cscn *s)
{
	s->nodes = 10000;
	s->sub_frac = 0.01;
	s->join_ms = 20000;
}

int main(void)
{
	static const uint64_t seeds[] = {1, 2, 3};
	static const uint64_t big[] = {1};
	int failed = sg_cscn_run_seeds("crash", seeds,
				       sizeof(seeds) / sizeof(seeds[0]), NULL);

	failed |= sg_cscn_run_seeds("crash", big, 1, ten_thousand);
	return failed;
}
