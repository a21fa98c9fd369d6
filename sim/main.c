/*
 * sg-sim: runs one membership scenario of the deterministic simulator and
 * prints its figures as text or JSON (one object per line). Exit status 0
 * when the scenario's properties hold, 1 when they do not, 2 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: sg-sim [--scenario join|crash|partition|swim|churn|forged|run]\n"
		   "              [--nodes N] [--seed S] [--loss P]\n"
		   "              [--duration SECONDS] [--join-time SECONDS]\n"
		   "              [--one-contact] [--separate] [--verify-every]\n"
		   "              [--json]\n"
		   "SG_SIM_SEED=S overrides --seed (to replay a failure).\n");
}

int main(int argc, char **argv)
{
	const char *name = "run";
	sg_scn s;
	int i, rc;

	for (i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--scenario") == 0)
			name = argv[i + 1];
	sg_scn_default(&s, name);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--json") == 0) {
			s.json = 1;
		} else if (strcmp(a, "--one-contact") == 0) {
			s.one_contact = 1;
		} else if (strcmp(a, "--separate") == 0) {
			s.separate = 1;
		} else if (strcmp(a, "--verify-every") == 0) {
			s.verify_every = 1;
		} else if (strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (v == NULL) {
			usage(stderr);
			return 2;
		} else if (strcmp(a, "--scenario") == 0) {
			i++;
		} else if (strcmp(a, "--nodes") == 0) {
			s.nodes = (size_t)strtoul(v, NULL, 10);
			i++;
		} else if (strcmp(a, "--seed") == 0) {
			s.seed = strtoull(v, NULL, 0);
			i++;
		} else if (strcmp(a, "--loss") == 0) {
			s.loss = strtod(v, NULL);
			i++;
		} else if (strcmp(a, "--duration") == 0) {
			s.duration_ms = 1000 * strtoull(v, NULL, 10);
			i++;
		} else if (strcmp(a, "--join-time") == 0) {
			s.join_ms = 1000 * strtoull(v, NULL, 10);
			i++;
		} else {
			usage(stderr);
			return 2;
		}
	}
	sg_scn_seed_from_env(&s);
	if (s.loss < 0 || s.loss >= 1 || s.nodes < 2 || s.join_ms == 0) {
		usage(stderr);
		return 2;
	}
	rc = sg_scn_run(&s);
	if (rc < 0) {
		fprintf(stderr, "sg-sim: unknown scenario or setup failure\n");
		return 2;
	}
	return rc;
}
