/*
 * sg-coresim: runs one topic-swarm scenario of the node-core simulator
 * (corescn.h) and prints its figures as text or JSON. Exit status 0 when
 * the scenario's properties hold, 1 when they do not, 2 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corescn.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sg-coresim [--scenario pubsub|crash|forge|partition|drop]\n"
		"       [--nodes N] [--seed S] [--topics 1|2] [--sub-frac F]\n"
		"       [--msgs M] [--gap-ms MS] [--join-time S] [--settle S]\n"
		"       [--swarm-time S] [--drain S] [--crash-frac F]\n"
		"       [--bound S] [--forgers K] [--cut K] [--cut-time S]\n"
		"       [--droppers K] [--drop-warmup M]\n"
		"       [--coordinators K] [--loss P] [--verify-every]\n"
		"       [--json]\n"
		"SG_SIM_SEED=S overrides --seed (to replay a failure).\n");
}

int main(int argc, char **argv)
{
	const char *name = "pubsub";
	const char *e = getenv("SG_SIM_SEED");
	sg_cscn s;
	int i, rc;

	for (i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--scenario") == 0)
			name = argv[i + 1];
	sg_cscn_default(&s, name);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--json") == 0) {
			s.json = 1;
			continue;
		}
		if (strcmp(a, "--verify-every") == 0) {
			s.verify_every = 1;
			continue;
		}
		if (strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (v == NULL) {
			usage(stderr);
			return 2;
		}
		i++;
		if (strcmp(a, "--scenario") == 0)
			continue;
		else if (strcmp(a, "--nodes") == 0)
			s.nodes = (size_t)strtoul(v, NULL, 10);
		else if (strcmp(a, "--seed") == 0)
			s.seed = strtoull(v, NULL, 0);
		else if (strcmp(a, "--topics") == 0)
			s.topics = (size_t)strtoul(v, NULL, 10);
		else if (strcmp(a, "--sub-frac") == 0)
			s.sub_frac = strtod(v, NULL);
		else if (strcmp(a, "--msgs") == 0)
			s.msgs = (size_t)strtoul(v, NULL, 10);
		else if (strcmp(a, "--gap-ms") == 0)
			s.msg_gap_ms = strtoull(v, NULL, 10);
		else if (strcmp(a, "--join-time") == 0)
			s.join_ms = 1000 * strtoull(v, NULL, 10);
		else if (strcmp(a, "--settle") == 0)
			s.settle_ms = 1000 * strtoull(v, NULL, 10);
		else if (strcmp(a, "--swarm-time") == 0)
			s.swarm_ms = 1000 * strtoull(v, NULL, 10);
		else if (strcmp(a, "--drain") == 0)
			s.drain_ms = 1000 * strtoull(v, NULL, 10);
		else if (strcmp(a, "--crash-frac") == 0)
			s.crash_frac = strtod(v, NULL);
		else if (strcmp(a, "--bound") == 0)
			s.bound_ms = 1000 * strtoull(v, NULL, 10);
		else if (strcmp(a, "--forgers") == 0)
			s.forgers = (size_t)strtoul(v, NULL, 10);
		else if (strcmp(a, "--droppers") == 0)
			s.droppers = (size_t)strtoul(v, NULL, 10);
		else if (strcmp(a, "--drop-warmup") == 0)
			s.drop_warmup = (size_t)strtoul(v, NULL, 10);
		else if (strcmp(a, "--cut") == 0)
			s.cut = (size_t)strtoul(v, NULL, 10);
		else if (strcmp(a, "--cut-time") == 0)
			s.cut_ms = 1000 * strtoull(v, NULL, 10);
		else if (strcmp(a, "--coordinators") == 0)
			s.coordinators = (size_t)strtoul(v, NULL, 10);
		else if (strcmp(a, "--loss") == 0)
			s.loss = strtod(v, NULL);
		else {
			usage(stderr);
			return 2;
		}
	}
	if (e != NULL && *e != '\0')
		s.seed = strtoull(e, NULL, 0);
	if (s.nodes < 8 || s.nodes > 0xffffff || s.topics < 1 ||
	    s.topics > 2 || s.sub_frac <= 0 || s.sub_frac > 1 ||
	    s.loss < 0 || s.loss >= 1 || s.crash_frac < 0 ||
	    s.crash_frac >= 1 || s.coordinators < 1) {
		usage(stderr);
		return 2;
	}
	rc = sg_cscn_run(&s);
	if (rc < 0) {
		fprintf(stderr, "sg-coresim: unknown scenario or setup "
				"failure\n");
		return 2;
	}
	return rc;
}
