/*
 * Scenario test (node-core simulator, optimised build): 1,000 real node
 * cores join through 4 coordinators; 10% of them subscribe to one topic and
 * another 10% to a second; 20 signed messages from random subscribers.
 * Every subscriber delivers every message of its topic exactly once, no
 * other node delivers any, no forgery; prints p50/p95 delivery latency and
 * RMR. Seeds 1-3 unless SG_SIM_SEED names one; a failure prints its seed.
 */
#include "corescn.h"

int main(void)
{
	static const uint64_t seeds[] = {1, 2, 3};

	return sg_cscn_run_seeds("pubsub", seeds,
				 sizeof(seeds) / sizeof(seeds[0]), NULL);
}
