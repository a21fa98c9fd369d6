/*
 * Membership scenarios shared by the sg-sim program and the scenario tests
 * (tests/sim/test_membership_*.c): each builds a simulator, drives it, prints
 * its figures (text or JSON) and checks its properties. A failing scenario
 * prints its seed; SG_SIM_SEED in the environment overrides the seed.
 */
#ifndef SG_SIM_SCENARIO_H
#define SG_SIM_SCENARIO_H

#include <stdint.h>
#include <stdio.h>

typedef struct sg_scn {
	const char *name; /* join, crash, partition, swim, churn, forged, run */
	size_t nodes;
	uint64_t seed;
	double loss; /* swim: 0.10 by default */
	/* run: virtual time; swim: measured phase; partition: its length */
	uint64_t duration_ms;
	uint64_t join_ms; /* joins spread over this long */
	int one_contact;  /* all join through node 0 */
	int separate;	  /* partition: require every cross link gone */
	int verify_every; /* verify every claim at every node (no memo) */
	int json;
	FILE *out;
} sg_scn;

/* Defaults for a scenario name (nodes, durations, loss). */
void sg_scn_default(sg_scn *s, const char *name);
/* Seed from SG_SIM_SEED when set. */
void sg_scn_seed_from_env(sg_scn *s);
/* Runs the scenario; 0 when its properties hold, 1 when they do not,
 * -1 for an unknown name or a setup failure. */
int sg_scn_run(const sg_scn *s);

/* The body of a scenario test: runs scenario name once per seed (only the
 * seed in $SG_SIM_SEED when that is set), each from the defaults adjusted
 * by tweak (NULL: none), and prints the seed of every failure. Returns 0
 * when all pass, 1 otherwise. */
int sg_scn_run_seeds(const char *name, const uint64_t *seeds, size_t n,
		     void (*tweak)(sg_scn *s));

#endif
