/*
 * The membership scenarios (see scenario.h): join through one contact,
 * mass crash, partition and heal, SWIM under loss, forged SWIM claims, and
 * a plain timed run used to measure the simulator's speed.
 */
#define _POSIX_C_SOURCE 200809L
#include "scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sg/err.h"
#include "sim.h"

void sg_scn_default(sg_scn *s, const char *name)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->seed = 1;
	s->out = stdout;
	s->nodes = 1000;
	s->join_ms = 10000;
	if (strcmp(name, "join") == 0) {
		s->one_contact = 1;
	} else if (strcmp(name, "crash") == 0) {
		s->nodes = 10000;
		s->join_ms = 20000;
	} else if (strcmp(name, "churn") == 0) {
		s->duration_ms = 300000;
	} else if (strcmp(name, "partition") == 0) {
		s->duration_ms = 60000;
	} else if (strcmp(name, "swim") == 0) {
		s->loss = 0.10;
		s->duration_ms = 600000;
	} else if (strcmp(name, "forged") == 0) {
		s->nodes = 300;
		s->duration_ms = 20000;
	} else if (strcmp(name, "run") == 0) {
		s->nodes = 10000;
		s->join_ms = 20000;
		s->duration_ms = 120000;
	}
}

void sg_scn_seed_from_env(sg_scn *s)
{
	const char *e = getenv("SG_SIM_SEED");

	if (e != NULL && *e != '\0')
		s->seed = strtoull(e, NULL, 0);
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static sg_sim *build(const sg_scn *s)
{
	sg_sim_config cfg;

	sg_sim_config_default(&cfg);
	cfg.nodes = s->nodes;
	cfg.seed = s->seed;
	cfg.verify_every = s->verify_every;
	return sg_sim_new(&cfg);
}

/* Node 0 starts; the others join in a wave over join_ms, through node 0
 * or through a random node that is already up. */
static int join_all(sg_sim *sim, const sg_scn *s)
{
	size_t i;
	uint64_t x = s->seed * 0x9e3779b97f4a7c15ULL + 7;

	if (sg_sim_start(sim, 0, -1) != 0)
		return -1;
	for (i = 1; i < s->nodes; i++) {
		long contact = 0;

		sg_sim_run_until(sim, s->join_ms * i / s->nodes);
		if (!s->one_contact) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			contact = (long)(x % i);
		}
		if (sg_sim_start(sim, i, contact) != 0)
			return -1;
		/* Every node also knows the well-known coordinators, nodes 0
		 * to 7 (as a deployment configures its bootstrap nodes). */
		sg_sim_add_contacts(sim, i, 8);
	}
	return 0;
}

static void show(const sg_scn *s, const char *label, sg_sim *sim)
{
	sg_sim_metrics m;

	sg_sim_metrics_get(sim, &m);
	if (s->json)
		fprintf(s->out,
			"{\"scenario\":\"%s\",\"phase\":\"%s\","
			"\"seed\":%llu,\"metrics\":",
			s->name, label, (unsigned long long)s->seed);
	else
		fprintf(s->out, "[%s/%s] ", s->name, label);
	sg_sim_metrics_print(&m, s->out, s->json);
	if (s->json)
		fprintf(s->out, "}\n");
}

static int fail(const sg_scn *s, const char *why)
{
	if (s->json)
		fprintf(s->out,
			"{\"scenario\":\"%s\",\"fail\":\"%s\","
			"\"seed\":%llu}\n",
			s->name, why, (unsigned long long)s->seed);
	else
		fprintf(s->out,
			"FAIL scenario %s: %s (seed %llu; replay with "
			"SG_SIM_SEED=%llu)\n",
			s->name, why, (unsigned long long)s->seed,
			(unsigned long long)s->seed);
	return 1;
}

static int check_overlay(const sg_scn *s, sg_sim *sim, int symmetric)
{
	sg_sim_metrics m;
	sg_hyparview_config hv;

	sg_hyparview_config_default(&hv);
	sg_sim_metrics_get(sim, &m);
	if (m.components != 1)
		return fail(s, "active-view graph not connected");
	if (symmetric && m.asymmetric != 0)
		return fail(s, "active views not symmetric");
	if (m.active_min < 1 || m.active_max > hv.active_max)
		return fail(s, "active view size out of bounds");
	if (m.passive_max > hv.passive_max)
		return fail(s, "passive view size out of bounds");
	return 0;
}

/* Runs in steps of 250 ms until the alive nodes' graph is one component;
 * returns the virtual ms that took, or UINT64_MAX after limit_ms. */
static uint64_t until_connected(sg_sim *sim, uint64_t limit_ms)
{
	uint64_t t0 = sg_sim_now(sim), t;
	sg_sim_metrics m;

	for (t = 0; t <= limit_ms; t += 250) {
		sg_sim_run_until(sim, t0 + t);
		sg_sim_metrics_get(sim, &m);
		if (m.components == 1)
			return t;
	}
	return UINT64_MAX;
}

static int scn_join(const sg_scn *s)
{
	sg_sim *sim = build(s);
	int rc;

	if (sim == NULL || join_all(sim, s) != 0) {
		sg_sim_del(sim);
		return -1;
	}
	sg_sim_run_until(sim, s->join_ms + 60000);
	show(s, "settled", sim);
	rc = check_overlay(s, sim, 1);
	sg_sim_del(sim);
	return rc;
}

static int scn_crash(const sg_scn *s)
{
	sg_sim *sim = build(s);
	uint64_t t_crash, took;
	size_t i;
	char buf[96];
	int rc = 0;

	if (sim == NULL || join_all(sim, s) != 0) {
		sg_sim_del(sim);
		return -1;
	}
	t_crash = s->join_ms + 40000;
	sg_sim_run_until(sim, t_crash);
	show(s, "before-crash", sim);
	for (i = 0; i < s->nodes; i += 2) /* every other node: 50% */
		sg_sim_crash(sim, i);
	sg_sim_run_until(sim, t_crash + 1);
	show(s, "after-crash", sim);
	took = until_connected(sim, 30000);
	show(s, "recovered", sim);
	if (took == UINT64_MAX) {
		rc = fail(s, "survivors not connected within 30 s");
	} else {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)took);
		if (s->json)
			fprintf(s->out,
				"{\"scenario\":\"crash\","
				"\"reconnected_after_ms\":%s}\n",
				buf);
		else
			fprintf(s->out,
				"[crash] survivors connected %s ms "
				"after the crash\n",
				buf);
		sg_sim_run_until(sim, t_crash + 30000);
		show(s, "crash+30s", sim);
		rc = check_overlay(s, sim, 0);
	}
	sg_sim_del(sim);
	return rc;
}

static int scn_partition(const sg_scn *s)
{
	sg_sim *sim = build(s);
	uint64_t t_part, took;
	sg_sim_metrics m;
	size_t i;
	int rc = 0;

	if (sim == NULL || join_all(sim, s) != 0) {
		sg_sim_del(sim);
		return -1;
	}
	t_part = s->join_ms + 40000;
	sg_sim_run_until(sim, t_part);
	show(s, "before", sim);
	for (i = 0; i < s->nodes; i++)
		sg_sim_set_group(sim, i, (uint8_t)(i < s->nodes / 2));
	sg_sim_run_until(sim, t_part + s->duration_ms);
	show(s, "partitioned", sim);
	sg_sim_metrics_get(sim, &m);
	for (i = 0; i < s->nodes; i++)
		sg_sim_set_group(sim, i, 0);
	took = until_connected(sim, 120000);
	show(s, "healed", sim);
	if (m.group_components != 2) {
		rc = fail(s, "a half was not connected on its own");
	} else if (s->separate && m.cross_group != 0) {
		rc = fail(s, "links across the partition were not all dropped");
	} else if (took == UINT64_MAX) {
		rc = fail(s, "not one overlay within 120 s of the heal");
	} else {
		if (s->json)
			fprintf(s->out,
				"{\"scenario\":\"partition\","
				"\"partition_ms\":%llu,"
				"\"cross_links_at_heal\":%zu,"
				"\"connected_after_heal_ms\":%llu}\n",
				(unsigned long long)s->duration_ms,
				m.cross_group, (unsigned long long)took);
		else
			fprintf(s->out,
				"[partition] %llu s partition, %zu "
				"links across it left at the heal; one "
				"overlay %llu ms after the heal\n",
				(unsigned long long)(s->duration_ms / 1000),
				m.cross_group, (unsigned long long)took);
		sg_sim_run_until(sim, sg_sim_now(sim) + 30000);
		show(s, "healed+30s", sim);
		rc = check_overlay(s, sim, 0);
	}
	sg_sim_del(sim);
	return rc;
}

static int scn_swim(const sg_scn *s)
{
	sg_sim *sim = build(s);
	sg_sim_metrics m;
	sg_sim_detect d;
	sg_swim_config sw;
	uint64_t t0, t;
	uint64_t x = s->seed * 0x2545f4914f6cdd1dULL + 3;
	size_t crashed = 0;
	int rc = 0;

	sg_swim_config_default(&sw);
	if (sim == NULL || join_all(sim, s) != 0) {
		sg_sim_del(sim);
		return -1;
	}
	t0 = s->join_ms + 40000;
	sg_sim_run_until(sim, t0);
	show(s, "before-loss", sim);
	sg_sim_metrics_get(sim, &m);
	if (m.false_positives != 0)
		rc = fail(s, "false positives before the loss phase");
	sg_sim_set_loss(sim, s->loss);
	/* One random node crashes every 10 s (stops 30 s before the end so
	 * every crash can be detected). */
	for (t = 10000; t <= s->duration_ms; t += 10000) {
		sg_sim_run_until(sim, t0 + t);
		if (t + 30000 <= s->duration_ms) {
			size_t i;

			do {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				i = (size_t)(x % s->nodes);
			} while (!sg_sim_alive(sim, i));
			sg_sim_crash(sim, i);
			crashed++;
		}
	}
	show(s, "end", sim);
	sg_sim_metrics_get(sim, &m);
	sg_sim_detect_get(sim, &d);
	if (s->json)
		fprintf(
		    s->out,
		    "{\"scenario\":\"swim\",\"loss\":%.2f,\"crashed\":%zu,"
		    "\"false_positives\":%llu,\"false_suspicions\":%llu,"
		    "\"first_suspicion_ms\":{\"n\":%zu,\"mean\":%.0f,"
		    "\"p99\":%.0f},\"first_dead_ms\":{\"n\":%zu,"
		    "\"mean\":%.0f,\"p99\":%.0f},\"every_observer_dead_ms\":"
		    "{\"n\":%zu,\"mean\":%.0f,\"p99\":%.0f},"
		    "\"undetected\":%zu}\n",
		    s->loss, crashed, (unsigned long long)m.false_positives,
		    (unsigned long long)m.false_suspicions, d.n_suspect,
		    d.suspect_mean, d.suspect_p99, d.n_dead, d.dead_mean,
		    d.dead_p99, d.n_dead_all, d.dead_all_mean, d.dead_all_p99,
		    d.undetected);
	else
		fprintf(
		    s->out,
		    "[swim] loss=%.0f%% crashed=%zu false_positives=%llu "
		    "false_suspicions=%llu\n"
		    "[swim] first suspicion after crash: n=%zu mean=%.0f ms "
		    "p99=%.0f ms\n"
		    "[swim] first dead declaration:      n=%zu mean=%.0f ms "
		    "p99=%.0f ms (undetected %zu)\n"
		    "[swim] every observer's dead:       n=%zu mean=%.0f ms "
		    "p99=%.0f ms\n",
		    s->loss * 100, crashed,
		    (unsigned long long)m.false_positives,
		    (unsigned long long)m.false_suspicions, d.n_suspect,
		    d.suspect_mean, d.suspect_p99, d.n_dead, d.dead_mean,
		    d.dead_p99, d.undetected, d.n_dead_all, d.dead_all_mean,
		    d.dead_all_p99);
	if (rc == 0 && m.false_positives != 0)
		rc = fail(s, "a live node was declared dead");
	if (rc == 0 && d.undetected != 0)
		rc = fail(s, "a crashed node was never declared dead");
	if (rc == 0 && d.suspect_mean > 3.0 * (double)sw.probe_interval_ms)
		rc = fail(s, "mean time to first suspicion above 3 periods");
	if (rc == 0 && d.dead_mean > 3.0 * (double)sw.probe_interval_ms)
		rc = fail(s, "mean time to dead above 3 periods");
	sg_sim_del(sim);
	return rc;
}

/* Churn: every 5 s, 2% of the nodes crash and the nodes that crashed 30 s
 * earlier restart with fresh state and join again through a live node. */
static int scn_churn(const sg_scn *s)
{
	sg_sim *sim = build(s);
	uint64_t t0, t, x = s->seed * 0x9e3779b97f4a7c15ULL + 11;
	size_t *down = NULL, n_down = 0, i, per = s->nodes / 50, restarts = 0;
	uint64_t *when = NULL;
	int rc = 0;

	if (per == 0)
		per = 1;
	down = calloc(s->nodes, sizeof(*down));
	when = calloc(s->nodes, sizeof(*when));
	if (sim == NULL || down == NULL || when == NULL ||
	    join_all(sim, s) != 0) {
		free(down);
		free(when);
		sg_sim_del(sim);
		return -1;
	}
	t0 = s->join_ms + 40000;
	sg_sim_run_until(sim, t0);
	show(s, "before", sim);
	for (t = 5000; t <= s->duration_ms; t += 5000) {
		size_t k = 0;

		sg_sim_run_until(sim, t0 + t);
		/* Restart those down for 30 s (oldest first). */
		while (k < n_down && when[k] + 30000 <= t0 + t) {
			size_t j, contact;

			do {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				contact = (size_t)(x % s->nodes);
			} while (!sg_sim_alive(sim, contact));
			j = down[k++];
			if (sg_sim_start(sim, j, (long)contact) == 0) {
				sg_sim_add_contacts(sim, j, 8);
				restarts++;
			}
		}
		memmove(down, down + k, (n_down - k) * sizeof(*down));
		memmove(when, when + k, (n_down - k) * sizeof(*when));
		n_down -= k;
		if (t + 30000 > s->duration_ms)
			continue; /* the last 30 s: no new crashes */
		for (i = 0; i < per; i++) {
			size_t j;

			do {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				j = (size_t)(x % s->nodes);
			} while (!sg_sim_alive(sim, j));
			sg_sim_crash(sim, j);
			down[n_down] = j;
			when[n_down++] = t0 + t;
		}
	}
	/* The last restarts happened just now: give them 30 s to join. */
	sg_sim_run_until(sim, t0 + s->duration_ms + 30000);
	show(s, "end", sim);
	if (s->json)
		fprintf(s->out, "{\"scenario\":\"churn\",\"restarts\":%zu}\n",
			restarts);
	else
		fprintf(s->out, "[churn] %zu restarts\n", restarts);
	rc = check_overlay(s, sim, 0);
	if (rc == 0) {
		sg_sim_metrics m;

		sg_sim_metrics_get(sim, &m);
		if (m.false_positives != 0)
			rc = fail(s, "a live node was declared dead");
	}
	free(down);
	free(when);
	sg_sim_del(sim);
	return rc;
}

static int scn_run(const sg_scn *s)
{
	sg_sim *sim = build(s);
	double w0 = wall_s(), w;
	uint64_t t;

	if (sim == NULL || join_all(sim, s) != 0) {
		sg_sim_del(sim);
		return -1;
	}
	for (t = 10000; t <= s->duration_ms; t += 10000) {
		sg_sim_run_until(sim, t);
		if (t % 30000 == 0 || t == s->duration_ms)
			show(s, "progress", sim);
	}
	w = wall_s() - w0;
	if (s->json)
		fprintf(s->out,
			"{\"scenario\":\"run\",\"nodes\":%zu,"
			"\"virtual_s\":%.0f,\"wall_s\":%.2f,"
			"\"peak_rss_kb\":%ld}\n",
			s->nodes, (double)s->duration_ms / 1000.0, w,
			sg_sim_peak_rss_kb());
	else
		fprintf(s->out,
			"[run] %zu nodes, %.0f s virtual in %.2f s "
			"wall, peak RSS %ld KiB\n",
			s->nodes, (double)s->duration_ms / 1000.0, w,
			sg_sim_peak_rss_kb());
	sg_sim_del(sim);
	return 0;
}

/* Sums the SWIM claims refused as forged by the alive nodes. */
static uint64_t forged_total(sg_sim *sim)
{
	sg_sim_metrics m;

	sg_sim_metrics_get(sim, &m);
	return m.claims_forged;
}

/* Encodes a CLAIM from node `from` about node v; the signature is made by
 * node `signer` with the key of node `keyof` presented (a forgery unless
 * signer == keyof == v); flip > 0 flips signature byte flip - 1. */
static long forge(uint8_t *buf, size_t cap, sg_sim *sim, size_t from, size_t v,
		  uint8_t kind, uint64_t inc, size_t signer, size_t keyof,
		  size_t flip)
{
	static uint8_t sig[SG_MLDSA65_SIG_LEN];
	uint8_t tbs[SG_MEMB_CLAIM_TBS_MAX];
	sg_memb_msg m;
	long n;

	memset(&m, 0, sizeof(m));
	m.type = SG_MEMB_CLAIM;
	m.sender = sg_sim_identity(sim, from)->id;
	m.claim.kind = kind;
	m.claim.subject = sg_sim_identity(sim, v)->id;
	m.claim.incarnation = inc;
	n = sg_memb_claim_tbs(tbs, &m.claim);
	if (n < 0 ||
	    sg_mldsa65_sign(sig, tbs, (size_t)n,
			    (const uint8_t *)SG_SIGCTX_MEMB_CLAIM,
			    sizeof(SG_SIGCTX_MEMB_CLAIM) - 1,
			    sg_sim_identity(sim, signer)->sk, NULL) != 0)
		return -1;
	if (flip > 0)
		sig[(flip - 1) % SG_MLDSA65_SIG_LEN] ^= 0x20;
	m.claim.sig = sig;
	m.claim.pk = sg_sim_identity(sim, keyof)->pk;
	return sg_memb_encode(buf, cap, &m);
}

/*
 * Forged SWIM claims (DESIGN section 7): after the overlay settles, every
 * active neighbour N of each of ten victims V receives, from a third node
 * M, a left about V and an alive about V at a high incarnation signed by M
 * with V's key shown, an alive under M's own key, and V's genuine left with
 * one signature byte flipped (a different byte at every N, so that no
 * shared memo entry can answer for it). Every one must be refused at every
 * node, also when all nodes share one memoised verification; V stays a
 * member everywhere; then V's genuine alive is accepted everywhere.
 */
static int scn_forged(const sg_scn *s)
{
	sg_sim *sim = build(s);
	sg_sim_metrics m;
	uint8_t buf[SG_MEMB_MSG_MAX];
	uint64_t before;
	size_t v, injected = 0, refused = 0, genuine = 0, kept = 0, nb = 0;
	size_t flip = 1;
	int rc = 0;

	if (sim == NULL || join_all(sim, s) != 0) {
		sg_sim_del(sim);
		return -1;
	}
	sg_sim_run_until(sim, s->join_ms + 20000);
	show(s, "settled", sim);
	before = forged_total(sim);
	for (v = 1; v <= 10 && v < s->nodes; v++) {
		sg_peer_id act[64];
		size_t na, k;

		if (!sg_sim_alive(sim, v))
			continue;
		na = sg_hyparview_active(sg_sim_hyparview(sim, v), act, 64);
		for (k = 0; k < na && k < 64; k++) {
			long nn = sg_sim_node_of(sim, &act[k]);
			size_t mm, t;
			long len;

			if (nn < 0 || !sg_sim_alive(sim, (size_t)nn))
				continue;
			nb++;
			mm =
			    ((size_t)nn + 1 + (v == (size_t)nn + 1)) % s->nodes;
			if (mm == v)
				mm = (mm + 1) % s->nodes;
			for (t = 0; t < 4; t++) {
				int r;

				if (t == 0)
					len =
					    forge(buf, sizeof(buf), sim, mm, v,
						  SG_MEMB_LEFT, 0, mm, v, 0);
				else if (t == 1)
					len = forge(buf, sizeof(buf), sim, mm,
						    v, SG_MEMB_ALIVE, 1000, mm,
						    v, 0);
				else if (t == 2)
					len = forge(buf, sizeof(buf), sim, mm,
						    v, SG_MEMB_ALIVE, 1000, mm,
						    mm, 0);
				else
					len = forge(buf, sizeof(buf), sim, mm,
						    v, SG_MEMB_LEFT, 0, v, v,
						    flip++);
				if (len < 0) {
					sg_sim_del(sim);
					return -1;
				}
				injected++;
				r = sg_sim_inject(sim, mm, (size_t)nn, buf,
						  (size_t)len);
				refused +=
				    r == SG_ERR_VERIFY || r == SG_ERR_KEY;
			}
			if (sg_hyparview_is_active(
				sg_sim_hyparview(sim, (size_t)nn),
				&sg_sim_identity(sim, v)->id) &&
			    !sg_swim_is_suspect(sg_sim_swim(sim, (size_t)nn),
						&sg_sim_identity(sim, v)->id))
				kept++;
			/* V's own alive claim, relayed by M: accepted. */
			len = forge(buf, sizeof(buf), sim, mm, v, SG_MEMB_ALIVE,
				    1000, v, v, 0);
			if (len >= 0 && sg_sim_inject(sim, mm, (size_t)nn, buf,
						      (size_t)len) == 0)
				genuine++;
		}
	}
	sg_sim_run_until(sim, s->join_ms + 20000 + s->duration_ms);
	show(s, "end", sim);
	sg_sim_metrics_get(sim, &m);
	if (s->json)
		fprintf(s->out,
			"{\"scenario\":\"forged\",\"neighbours\":%zu,"
			"\"injected\":%zu,\"refused\":%zu,\"counted\":%llu,"
			"\"kept\":%zu,\"genuine_accepted\":%zu,"
			"\"verify_runs\":%llu,\"verify_calls\":%llu,"
			"\"false_positives\":%llu}\n",
			nb, injected, refused,
			(unsigned long long)(m.claims_forged - before), kept,
			genuine, (unsigned long long)m.verify_runs,
			(unsigned long long)m.verify_calls,
			(unsigned long long)m.false_positives);
	else
		fprintf(s->out,
			"[forged] neighbours=%zu injected=%zu refused=%zu "
			"counted=%llu kept=%zu genuine_accepted=%zu "
			"verify runs/calls=%llu/%llu false_positives=%llu\n",
			nb, injected, refused,
			(unsigned long long)(m.claims_forged - before), kept,
			genuine, (unsigned long long)m.verify_runs,
			(unsigned long long)m.verify_calls,
			(unsigned long long)m.false_positives);
	if (nb == 0)
		rc = fail(s, "no victim had a neighbour");
	if (rc == 0 && refused != injected)
		rc = fail(s, "a forged claim was accepted");
	if (rc == 0 && m.claims_forged - before != injected)
		rc = fail(s, "a refused claim was not counted");
	if (rc == 0 && kept != nb)
		rc = fail(s, "a forged claim removed or suspected a member");
	if (rc == 0 && genuine != nb)
		rc = fail(s, "a genuine claim was refused");
	if (rc == 0 && m.false_positives != 0)
		rc = fail(s, "a live node was declared dead");
	sg_sim_del(sim);
	return rc;
}

int sg_scn_run(const sg_scn *s)
{
	if (s->nodes < 2)
		return -1;
	if (strcmp(s->name, "join") == 0)
		return scn_join(s);
	if (strcmp(s->name, "crash") == 0)
		return scn_crash(s);
	if (strcmp(s->name, "partition") == 0)
		return scn_partition(s);
	if (strcmp(s->name, "swim") == 0)
		return scn_swim(s);
	if (strcmp(s->name, "run") == 0)
		return scn_run(s);
	if (strcmp(s->name, "churn") == 0)
		return scn_churn(s);
	if (strcmp(s->name, "forged") == 0)
		return scn_forged(s);
	return -1;
}

int sg_scn_run_seeds(const char *name, const uint64_t *seeds, size_t n,
		     void (*tweak)(sg_scn *s))
{
	size_t i;
	int failed = 0;

	for (i = 0; i < n; i++) {
		sg_scn s;
		int rc;

		sg_scn_default(&s, name);
		if (tweak != NULL)
			tweak(&s);
		s.seed = seeds[i];
		if (getenv("SG_SIM_SEED") != NULL) {
			sg_scn_seed_from_env(&s);
			i = n;
		}
		rc = sg_scn_run(&s);
		if (rc != 0) {
			printf("FAILED (rc %d) with seed %llu\n", rc,
			       (unsigned long long)s.seed);
			failed = 1;
		}
	}
	return failed;
}
