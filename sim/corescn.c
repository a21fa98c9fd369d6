/*
 * Topic-swarm scenarios over the node-core simulator (see corescn.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "corescn.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coresim.h"
#include "sg/cbor.h"
#include "sg/err.h"

#define MAX_TOPICS 2
#define MAX_DROPPERS 16
/* Pub/sub frame kind and Plumtree frame types (src/node/core.c,
 * docs/PROTOCOL.md). */
#define PS_TOPIC 1
#define PT_GOSSIP 1
#define PT_IHAVE 2
#define PT_GRAFT 4

void sg_cscn_default(sg_cscn *s, const char *name)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->nodes = 1000;
	s->seed = 1;
	s->coordinators = 4;
	s->join_ms = 10000;
	s->settle_ms = 20000;
	s->topics = 2;
	s->sub_frac = 0.10;
	s->swarm_ms = 20000;
	s->msgs = 20;
	s->msg_gap_ms = 500;
	s->drain_ms = 10000;
	s->warmup = 5;
	s->bound_ms = 30000;
	s->crash_delay_ms = 1000;
	s->out = stdout;
	if (strcmp(name, "crash") == 0) {
		s->topics = 1;
		s->crash_frac = 0.5;
		s->msgs = 20;
		s->msg_gap_ms = 1000;
		s->drain_ms = 30000;
	} else if (strcmp(name, "forge") == 0) {
		s->topics = 1;
		s->forgers = 5;
	} else if (strcmp(name, "drop") == 0) {
		/* Trees form over 300 messages (about 95 publishers' trees),
		 * then 5 droppers turn and 300 more follow, 20 a second.
		 * A dropper harms a neighbour once per tree in which it was
		 * its parent (the GRAFT that repairs it adds an honest
		 * parent), so the trees must be many for the harm, and the
		 * penalties, to add up (with 100 + 200 messages 1 of 5
		 * droppers went unpruned in one seed of 3). */
		s->topics = 1;
		s->droppers = 5;
		s->drop_warmup = 300;
		s->msgs = 600;
		s->msg_gap_ms = 50;
		s->warmup = 300;
	} else if (strcmp(name, "partition") == 0) {
		s->topics = 1;
		s->cut = 3;
		s->cut_ms = 30000;
		s->msgs = 10;
		s->msg_gap_ms = 1000;
		s->drain_ms = 60000;
	}
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t xs(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* ---- one run ------------------------------------------------------------ */

struct run {
	const sg_cscn *s;
	sg_coresim *sim;
	uint64_t x; /* scenario RNG */
	sg_topic_id topic[MAX_TOPICS];
	uint8_t *sub[MAX_TOPICS]; /* per node */
	size_t n_sub[MAX_TOPICS];
	uint8_t *forger;
	uint8_t *cut;
	/* per message: counted in latency/RMR; checked; bound */
	uint8_t *counted, *checked;
	/* misbehaviour reports: in all, about honest nodes, about peers
	 * still swarm neighbours after the report, per forger */
	uint64_t mis_reports, mis_honest, mis_still_nbr;
	uint32_t *mis_per;
	/* drop: the droppers (node ids), whether they have turned (from
	 * turn_ms), per (dropper, node) pair: ever swarm neighbours, time
	 * of the first prune (0: none); GRAFTs to droppers, those during a
	 * back-off; per node: pruned an honest neighbour */
	uint8_t *dropper;
	size_t drop_id[MAX_DROPPERS], n_drop;
	int turned;
	uint64_t turn_ms, backoff_ms;
	uint8_t *pair_nbr;
	uint64_t *pair_prune;
	uint64_t grafts_to_droppers, grafts_in_backoff;
	uint8_t *pruned_honest;
	int failed;
};

static int bad(const struct run *r, size_t i)
{
	return (r->forger != NULL && r->forger[i]) ||
	       (r->dropper != NULL && r->dropper[i]);
}

static int fail(struct run *r, const char *why)
{
	const sg_cscn *s = r->s;

	if (s->json)
		fprintf(s->out,
			"{\"scenario\":\"core-%s\",\"fail\":\"%s\","
			"\"seed\":%llu}\n",
			s->name, why, (unsigned long long)s->seed);
	else
		fprintf(s->out,
			"FAIL core scenario %s: %s (seed %llu; replay with "
			"SG_SIM_SEED=%llu)\n",
			s->name, why, (unsigned long long)s->seed,
			(unsigned long long)s->seed);
	r->failed = 1;
	return 1;
}

static void on_event(void *ud, size_t node, const sg_core_event *ev)
{
	struct run *r = ud;
	sg_core *c = sg_coresim_core(r->sim, node);
	sg_peer_id nb[64];
	size_t t, n, q;
	long j;

	if (ev->type != SG_CORE_MISBEHAVED)
		return;
	r->mis_reports++;
	j = sg_coresim_node_of(r->sim, &ev->peer.id);
	if (j < 0 || r->forger == NULL || !r->forger[j])
		r->mis_honest++;
	else
		r->mis_per[j]++;
	/* The core drops the peer as it reports it: no longer an active
	 * neighbour, nor a swarm neighbour of any topic. */
	if (sg_core_is_active(c, &ev->peer.id))
		r->mis_still_nbr++;
	for (t = 0; t < r->s->topics; t++) {
		n = sg_core_topic_neighbors(c, &r->topic[t], nb, 64);
		for (q = 0; q < n && q < 64; q++)
			if (sg_peer_id_equal(&nb[q], &ev->peer.id))
				r->mis_still_nbr++;
	}
}

/* Why node i lacks message k (printed for the first few). */
static void diagnose(struct run *r, size_t k, size_t i, size_t t)
{
	const sg_coresim_msg *m = sg_coresim_msg_get(r->sim, k);
	sg_core *c = sg_coresim_core(r->sim, i);
	sg_peer_id nb[64];
	sg_core_stats cs;
	size_t n, q, live = 0;

	n = sg_core_topic_neighbors(c, &r->topic[t], nb, 64);
	for (q = 0; q < n && q < 64; q++) {
		long j = sg_coresim_node_of(r->sim, &nb[q]);
		live += j >= 0 && sg_coresim_alive(r->sim, (size_t)j);
	}
	sg_core_stats_get(c, &cs);
	fprintf(r->s->out,
		"  node %zu missed message %zu (node %zu, t=%llu ms): %zu "
		"swarm neighbours (%zu live), %zu links, %zu active, %llu "
		"walks\n",
		i, k, m->publisher, (unsigned long long)m->published_ms, n,
		live, cs.links, cs.active, (unsigned long long)cs.queries_sent);
}

/* An honest node grafts a dropper: never while the dropper is in back-off
 * for it (its score fell below the threshold). */
static void graft_seen(struct run *r, size_t from, size_t to,
		       const uint8_t *topic)
{
	sg_core *c = sg_coresim_core(r->sim, from);
	sg_plumtree_peer_info info;
	sg_topic_id t;

	memcpy(t.bytes, topic, SG_TOPIC_ID_LEN);
	r->grafts_to_droppers++;
	if (c != NULL &&
	    sg_core_topic_peer_info(c, &t, &sg_coresim_identity(r->sim, to)->id,
				    &info) == 0 &&
	    info.backoff_until > sg_coresim_now(r->sim))
		r->grafts_in_backoff++;
}

/* A dropper's GOSSIP to `to` becomes an IHAVE for the same message
 * claiming 1 hop (a short path invites a GRAFT), sent now. */
static void announce_instead(struct run *r, size_t from, size_t to,
			     const uint8_t *frame, size_t len)
{
	size_t pre = 6 + 1 + 32, elen, n;
	uint8_t out[6 + 1 + 32 + 64];
	const uint8_t *env;
	uint64_t type, hops;
	sg_cbor_dec d;
	sg_cbor_enc e;
	sg_msg_view v;
	long body;

	sg_cbor_dec_init(&d, frame + pre, len - pre);
	if (sg_cbor_get_array(&d, &n) != 0 || n != 3 ||
	    sg_cbor_get_uint(&d, &type) != 0 ||
	    sg_cbor_get_uint(&d, &hops) != 0 ||
	    sg_cbor_get_bytes(&d, &env, &elen) != 0 ||
	    sg_msg_decode(&v, env, elen) != 0)
		return;
	memcpy(out + 6, frame + 6, 1 + 32);
	sg_cbor_enc_init(&e, out + pre, sizeof(out) - pre);
	sg_cbor_put_array(&e, 2);
	sg_cbor_put_uint(&e, PT_IHAVE);
	sg_cbor_put_array(&e, 1);
	sg_cbor_put_array(&e, 2);
	sg_cbor_put_bytes(&e, v.id, SG_MSG_ID_LEN);
	sg_cbor_put_uint(&e, 1);
	body = sg_cbor_enc_finish(&e);
	if (body < 0 ||
	    sg_frame_header_encode(out, SG_FRAME_PUBSUB, 1 + 32 + (size_t)body,
				   SG_FRAME_DEFAULT_MAX) != 0)
		return;
	sg_coresim_inject(r->sim, from, to, out, pre + (size_t)body);
}

/* drop: records, for every honest subscriber, which droppers are its
 * swarm neighbours and when it first pruned one, and whether it pruned
 * an honest neighbour. */
static void drop_poll(struct run *r)
{
	const sg_cscn *s = r->s;
	sg_peer_id nb[64];
	size_t i, q, n, k;

	for (i = 0; i < s->nodes; i++) {
		sg_core *c = sg_coresim_core(r->sim, i);
		if (!r->sub[0][i] || bad(r, i) || c == NULL)
			continue;
		n = sg_core_topic_neighbors(c, &r->topic[0], nb, 64);
		for (q = 0; q < n && q < 64; q++) {
			sg_plumtree_peer_info info;
			long j = sg_coresim_node_of(r->sim, &nb[q]);
			if (j < 0 ||
			    sg_core_topic_peer_info(c, &r->topic[0], &nb[q],
						    &info) != 0)
				continue;
			if (!r->dropper[j]) {
				if (info.prunes > 0)
					r->pruned_honest[i] = 1;
				continue;
			}
			for (k = 0; k < r->n_drop; k++)
				if (r->drop_id[k] == (size_t)j)
					break;
			if (k == r->n_drop || !r->turned)
				continue;
			r->pair_nbr[k * s->nodes + i] = 1;
			if (info.prunes > 0 && r->pair_prune[k * s->nodes + i] == 0)
				r->pair_prune[k * s->nodes + i] =
					info.backoff_until -
					r->backoff_ms;
		}
	}
}

/* A forger damages the signature of every GOSSIP it sends (the
 * envelope, and so the signature, ends the frame). */
static int tap(void *ud, size_t from, size_t to, uint8_t *frame, size_t len)
{
	struct run *r = ud;
	size_t pre = 6 + 1 + 32;
	int topic_frame = len > pre + 2 && frame[1] == SG_FRAME_PUBSUB &&
			  frame[6] == PS_TOPIC;

	if (r->forger != NULL && r->forger[from] && len > pre + 3400 &&
	    topic_frame && frame[pre] == 0x83 && frame[pre + 1] == PT_GOSSIP)
		frame[len - 7] ^= 0x10;
	if (r->dropper == NULL || !topic_frame)
		return 0;
	if (r->dropper[to] && !r->dropper[from] && frame[pre] == 0x83 &&
	    frame[pre + 1] == PT_GRAFT)
		graft_seen(r, from, to, frame + 7);
	if (r->turned && r->dropper[from] && frame[pre] == 0x83 &&
	    frame[pre + 1] == PT_GOSSIP) {
		announce_instead(r, from, to, frame, len);
		return 1;
	}
	return 0;
}

static int join_all(struct run *r)
{
	const sg_cscn *s = r->s;
	size_t i, k = s->coordinators ? s->coordinators : 1;

	if (sg_coresim_start(r->sim, 0, -1) != 0)
		return -1;
	for (i = 1; i < s->nodes; i++) {
		long contact = i < k ? 0 : (long)(xs(&r->x) % k);

		sg_coresim_run_until(r->sim, s->join_ms * i / s->nodes);
		if (sg_coresim_start(r->sim, i, contact) != 0)
			return -1;
		sg_coresim_add_contacts(r->sim, i, k);
	}
	return 0;
}

/* A random live subscriber of topic t that is not in `not` (may be NULL),
 * or -1. */
static long pick(struct run *r, size_t t, const uint8_t *not)
{
	size_t tries;

	for (tries = 0; tries < 100000; tries++) {
		size_t i = (size_t)(xs(&r->x) % r->s->nodes);

		if (r->sub[t][i] && sg_coresim_alive(r->sim, i) &&
		    (not == NULL || !not[i]))
			return (long)i;
	}
	return -1;
}

static void show_swarms(struct run *r, const char *phase)
{
	const sg_cscn *s = r->s;
	size_t t, comps, largest, members;
	sg_coresim_stats st;

	sg_coresim_stats_get(r->sim, &st);
	comps = sg_coresim_components(r->sim, NULL, &largest, &members);
	if (s->json)
		fprintf(s->out,
			"{\"scenario\":\"core-%s\",\"seed\":%llu,"
			"\"phase\":\"%s\",\"t_ms\":%llu,\"overlay\":"
			"{\"nodes\":%zu,\"components\":%zu,\"largest\":%zu,"
			"\"active\":{\"min\":%zu,\"mean\":%.2f,\"max\":%zu}}",
			s->name, (unsigned long long)s->seed, phase,
			(unsigned long long)sg_coresim_now(r->sim), members,
			comps, largest, st.active_min, st.active_mean,
			st.active_max);
	else
		fprintf(s->out,
			"[core-%s/%s] t=%.1fs overlay: %zu nodes, %zu "
			"components (largest %zu), active %zu/%.2f/%zu",
			s->name, phase,
			(double)sg_coresim_now(r->sim) / 1000.0, members, comps,
			largest, st.active_min, st.active_mean, st.active_max);
	for (t = 0; t < s->topics; t++) {
		comps = sg_coresim_components(r->sim, &r->topic[t], &largest,
					      &members);
		if (s->json)
			fprintf(s->out,
				",\"swarm%zu\":{\"subscribers\":%zu,"
				"\"components\":%zu,\"largest\":%zu}",
				t, members, comps, largest);
		else
			fprintf(s->out,
				"; swarm %zu: %zu subscribers, %zu components "
				"(largest %zu)",
				t, members, comps, largest);
	}
	fprintf(s->out, s->json ? "}\n" : "\n");
}

/* Node p publishes a message on topic t (p < 0: a random live subscriber
 * not in `not`). Returns the message's index or < 0. */
static long publish_by(struct run *r, long p, size_t t, const uint8_t *not)
{
	long k;
	uint8_t payload[64];
	size_t n = sg_coresim_msg_count(r->sim);

	if (p < 0)
		p = pick(r, t, not);
	if (p < 0)
		return -1;
	memset(payload, 0, sizeof(payload));
	memcpy(payload, &n, sizeof(n) < 8 ? sizeof(n) : 8);
	k = sg_coresim_publish(r->sim, (size_t)p, &r->topic[t], payload,
			       sizeof(payload));
	return k;
}

static long publish(struct run *r, size_t t, const uint8_t *not)
{
	return publish_by(r, -1, t, not);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* drop: every dropper pruned by honest neighbours, none grafted during
 * its back-off, no honest neighbour pruned. */
static void check_drop(struct run *r)
{
	const sg_cscn *s = r->s;
	uint64_t pairs = 0, pruned = 0, honest = 0, *dt;
	size_t k, i, unpruned = 0, nd = 0;
	double p50 = 0, pmax = 0;

	dt = calloc(r->n_drop * s->nodes + 1, sizeof(*dt));
	if (dt == NULL)
		abort();
	for (k = 0; k < r->n_drop; k++) {
		size_t by = 0;
		for (i = 0; i < s->nodes; i++) {
			uint64_t at = r->pair_prune[k * s->nodes + i];
			if (!r->pair_nbr[k * s->nodes + i])
				continue;
			pairs++;
			if (at == 0)
				continue;
			pruned++;
			by++;
			dt[nd++] = at > r->turn_ms ? at - r->turn_ms : 0;
		}
		unpruned += by == 0;
	}
	for (i = 0; i < s->nodes; i++)
		honest += r->pruned_honest[i];
	if (nd > 0) {
		qsort(dt, nd, sizeof(*dt), cmp_u64);
		p50 = (double)dt[(nd * 50 + 99) / 100 - 1];
		pmax = (double)dt[nd - 1];
	}
	free(dt);
	if (s->json)
		fprintf(s->out,
			"{\"scenario\":\"core-%s\",\"droppers\":%zu,"
			"\"pairs\":%llu,\"pruned\":%llu,\"unpruned_droppers\":"
			"%zu,\"prune_ms\":{\"p50\":%.0f,\"max\":%.0f},"
			"\"grafts_to_droppers\":%llu,\"grafts_in_backoff\":"
			"%llu,\"honest_pruned\":%llu}\n",
			s->name, r->n_drop, (unsigned long long)pairs,
			(unsigned long long)pruned, unpruned, p50, pmax,
			(unsigned long long)r->grafts_to_droppers,
			(unsigned long long)r->grafts_in_backoff,
			(unsigned long long)honest);
	else
		fprintf(s->out,
			"[core-%s] %zu droppers: pruned by %llu of their %llu "
			"honest swarm neighbours (%zu droppers by none), "
			"%.0f/%.0f ms (p50/max) from the turn to a prune; "
			"%llu GRAFTs to droppers, %llu during a back-off; "
			"%llu honest nodes pruned an honest neighbour\n",
			s->name, r->n_drop, (unsigned long long)pruned,
			(unsigned long long)pairs, unpruned, p50, pmax,
			(unsigned long long)r->grafts_to_droppers,
			(unsigned long long)r->grafts_in_backoff,
			(unsigned long long)honest);
	if (s->result != NULL) {
		s->result->drop_pairs = pairs;
		s->result->drop_pruned = pruned;
		s->result->grafts_in_backoff = r->grafts_in_backoff;
		s->result->honest_pruned = honest;
		s->result->prune_p50_ms = p50;
		s->result->prune_max_ms = pmax;
	}
	if (r->n_drop == 0)
		fail(r, "no dropper");
	if (unpruned != 0)
		fail(r, "a dropper was pruned by none of its neighbours");
	if (r->grafts_in_backoff != 0)
		fail(r, "a dropper was grafted during its back-off");
	if (honest != 0)
		fail(r, "an honest neighbour was pruned for its score");
}

/* Checks the deliveries of the messages marked checked; prints the
 * figures. */
static void check(struct run *r)
{
	const sg_cscn *s = r->s;
	size_t nm = sg_coresim_msg_count(r->sim), k, i, t;
	uint64_t expected = 0, missed = 0, late = 0, unexpected = 0;
	uint64_t dups = 0, forged = 0, copies = 0, delivered = 0;
	uint64_t forged_delivered = 0;
	uint32_t *lat = NULL;
	size_t n_lat = 0, cap_lat = 0;
	double p50 = 0, p95 = 0, p99 = 0, pmax = 0, rmr;
	sg_coresim_stats st;

	for (k = 0; k < nm; k++) {
		const sg_coresim_msg *m = sg_coresim_msg_get(r->sim, k);
		int by_forger = r->forger != NULL && r->forger[m->publisher];

		for (t = 0; t < s->topics; t++)
			if (!memcmp(&m->topic, &r->topic[t], sizeof(m->topic)))
				break;
		dups += m->duplicates;
		forged += m->forged;
		if (by_forger) {
			/* Every copy of it was forged: nobody may take it. */
			forged_delivered += m->delivered;
			continue;
		}
		if (!r->checked[k])
			continue;
		if (r->counted[k]) {
			copies += m->copies;
			delivered += m->delivered;
		}
		for (i = 0; i < s->nodes; i++) {
			uint64_t l;
			unsigned c = sg_coresim_delivered(r->sim, k, i, &l);
			int want = t < s->topics && r->sub[t][i] &&
				   sg_coresim_alive(r->sim, i) &&
				   i != m->publisher && !bad(r, i);

			if (bad(r, i))
				continue;
			if (!want) {
				if (c != 0 && !(t < s->topics && r->sub[t][i]))
					unexpected++;
				continue;
			}
			expected++;
			if (c == 0) {
				missed++;
				if (missed <= 10)
					diagnose(r, k, i, t);
				continue;
			}
			if (s->crash_frac > 0 && l > s->bound_ms)
				late++;
			if (!r->counted[k])
				continue;
			if (n_lat == cap_lat) {
				cap_lat = cap_lat ? 2 * cap_lat : 4096;
				lat = realloc(lat, cap_lat * sizeof(*lat));
				if (lat == NULL)
					abort();
			}
			lat[n_lat++] = (uint32_t)l;
		}
	}
	if (n_lat > 0) {
		qsort(lat, n_lat, sizeof(*lat), cmp_u32);
		p50 = lat[(n_lat * 50 + 99) / 100 - 1];
		p95 = lat[(n_lat * 95 + 99) / 100 - 1];
		p99 = lat[(n_lat * 99 + 99) / 100 - 1];
		pmax = lat[n_lat - 1];
	}
	free(lat);
	rmr = delivered ? (double)copies / (double)delivered - 1.0 : 0;
	sg_coresim_stats_get(r->sim, &st);
	if (s->json) /* no wall time or memory: same seed, same output */
		fprintf(s->out,
			"{\"scenario\":\"core-%s\",\"seed\":%llu,"
			"\"nodes\":%zu,\"alive\":%zu,\"messages\":%zu,"
			"\"expected\":%llu,\"missed\":%llu,\"late\":%llu,"
			"\"unexpected\":%llu,\"duplicates\":%llu,"
			"\"forged_accepted\":%llu,\"forgers_msgs_delivered\":"
			"%llu,\"latency_ms\":{\"p50\":%.0f,\"p95\":%.0f,"
			"\"p99\":%.0f,\"max\":%.0f},\"rmr\":%.3f,"
			"\"frames\":%llu,\"bytes\":%llu,\"verify\":{\"calls\":"
			"%llu,\"runs\":%llu,\"failed\":%llu},"
			"\"misbehaved\":%llu,\"false_dead\":%llu,"
			"\"walks\":%llu,\"links_up\":%llu,"
			"\"core_tx_dropped\":%llu}\n",
			s->name, (unsigned long long)s->seed, s->nodes,
			st.alive, nm, (unsigned long long)expected,
			(unsigned long long)missed, (unsigned long long)late,
			(unsigned long long)unexpected,
			(unsigned long long)dups, (unsigned long long)forged,
			(unsigned long long)forged_delivered, p50, p95, p99,
			pmax, rmr, (unsigned long long)st.frames,
			(unsigned long long)st.bytes,
			(unsigned long long)st.verify_calls,
			(unsigned long long)st.verify_runs,
			(unsigned long long)st.verify_failed,
			(unsigned long long)st.misbehaved,
			(unsigned long long)st.false_dead,
			(unsigned long long)st.queries_sent,
			(unsigned long long)st.swarm_connects,
			(unsigned long long)st.core_tx_dropped);
	else
		fprintf(s->out,
			"[core-%s] %zu nodes (%zu alive), %zu messages: "
			"%llu deliveries expected, missed %llu, late %llu, "
			"unexpected %llu, duplicates %llu, forged accepted "
			"%llu (forgers' messages delivered %llu)\n"
			"[core-%s] latency p50/p95/p99/max %.0f/%.0f/%.0f/%.0f "
			"ms, RMR %.3f, %llu frames (%.1f MB), verify "
			"calls/runs/failed %llu/%llu/%llu, misbehaved %llu, "
			"false dead %llu, walks %llu, links up %llu, "
			"core tx dropped %llu\n",
			s->name, s->nodes, st.alive, nm,
			(unsigned long long)expected,
			(unsigned long long)missed, (unsigned long long)late,
			(unsigned long long)unexpected,
			(unsigned long long)dups, (unsigned long long)forged,
			(unsigned long long)forged_delivered, s->name, p50, p95,
			p99, pmax, rmr, (unsigned long long)st.frames,
			(double)st.bytes / 1e6,
			(unsigned long long)st.verify_calls,
			(unsigned long long)st.verify_runs,
			(unsigned long long)st.verify_failed,
			(unsigned long long)st.misbehaved,
			(unsigned long long)st.false_dead,
			(unsigned long long)st.queries_sent,
			(unsigned long long)st.swarm_connects,
			(unsigned long long)st.core_tx_dropped);
	if (s->result != NULL) {
		sg_cscn_result *o = s->result;

		o->messages = nm;
		o->expected = expected;
		o->missed = missed;
		o->late = late;
		o->unexpected = unexpected;
		o->duplicates = dups;
		o->forged_accepted = forged + forged_delivered;
		o->reports = r->mis_reports;
		o->reports_honest = r->mis_honest;
		o->p50_ms = p50;
		o->p95_ms = p95;
		o->p99_ms = p99;
		o->max_ms = pmax;
		o->rmr = rmr;
	}
	if (expected == 0)
		fail(r, "no delivery was expected: the scenario tests nothing");
	if (missed != 0)
		fail(r, "a subscriber missed a message");
	if (late != 0)
		fail(r, "a message arrived after the bound");
	if (unexpected != 0)
		fail(r, "a non-subscriber delivered a message");
	if (dups != 0)
		fail(r, "a message was delivered twice to one node");
	if (forged != 0 || forged_delivered != 0)
		fail(r, "a forged message was accepted");
	if (st.unknown_deliveries != 0)
		fail(r, "a message nobody published was delivered");
	if (s->forgers > 0) {
		size_t n_forgers = 0, unreported = 0;

		for (i = 0; i < s->nodes; i++)
			if (r->forger[i]) {
				n_forgers++;
				unreported += r->mis_per[i] == 0;
			}
		if (s->json)
			fprintf(s->out,
				"{\"scenario\":\"core-%s\",\"forgers\":%zu,"
				"\"reports\":%llu,\"unreported_forgers\":%zu,"
				"\"forged_signatures_checked\":%llu}\n",
				s->name, n_forgers,
				(unsigned long long)r->mis_reports, unreported,
				(unsigned long long)st.verify_failed);
		else
			fprintf(s->out,
				"[core-%s] %zu forgers: %llu misbehaviour "
				"reports (every one about a forger, which was "
				"then no neighbour: %s), %zu forgers never "
				"reported, %llu forged signatures checked and "
				"refused\n",
				s->name, n_forgers,
				(unsigned long long)r->mis_reports,
				r->mis_honest == 0 && r->mis_still_nbr == 0
					? "yes"
					: "NO",
				unreported, (unsigned long long)st.verify_failed);
		if (n_forgers == 0)
			fail(r, "no forger");
		if (st.verify_failed == 0)
			fail(r, "no forged signature was ever checked");
		if (unreported != 0)
			fail(r, "a forger was never reported as misbehaving");
		if (r->mis_honest != 0)
			fail(r, "an honest node was reported as misbehaving");
		if (r->mis_still_nbr != 0)
			fail(r, "a misbehaving peer stayed a neighbour");
	} else if (st.misbehaved != 0) {
		fail(r, "misbehaviour reported without a forger");
	}
	if (s->droppers > 0)
		check_drop(r);
}

static int scenario(const sg_cscn *s)
{
	struct run r;
	sg_coresim_config cfg;
	double w0 = wall_s();
	size_t t, i, k, nm;
	uint64_t t0;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	r.s = s;
	r.x = s->seed * 0x9e3779b97f4a7c15ULL + 17;
	if (r.x == 0)
		r.x = 1;
	if (s->topics < 1 || s->topics > MAX_TOPICS || s->nodes < 8)
		return -1;
	sg_coresim_config_default(&cfg);
	cfg.nodes = s->nodes;
	cfg.seed = s->seed;
	cfg.loss = s->loss;
	cfg.verify_every = s->verify_every;
	cfg.on_event = on_event;
	cfg.tap = tap;
	cfg.ud = &r;
	r.sim = sg_coresim_new(&cfg);
	r.forger = calloc(s->nodes, 1);
	r.dropper = calloc(s->nodes, 1);
	r.pruned_honest = calloc(s->nodes, 1);
	r.pair_nbr = calloc(MAX_DROPPERS * s->nodes, 1);
	r.pair_prune = calloc(MAX_DROPPERS * s->nodes, sizeof(uint64_t));
	r.backoff_ms = cfg.core.pt.backoff_ms;
	r.mis_per = calloc(s->nodes, sizeof(*r.mis_per));
	r.cut = calloc(s->nodes, 1);
	r.counted = calloc(s->msgs + s->forgers + 16, 1);
	r.checked = calloc(s->msgs + s->forgers + 16, 1);
	for (t = 0; t < s->topics; t++)
		r.sub[t] = calloc(s->nodes, 1);
	if (r.sim == NULL || r.forger == NULL || r.mis_per == NULL ||
	    r.dropper == NULL || r.pruned_honest == NULL ||
	    r.pair_nbr == NULL || r.pair_prune == NULL ||
	    r.cut == NULL ||
	    r.counted == NULL || r.checked == NULL || r.sub[s->topics - 1] ==
	    NULL || join_all(&r) != 0)
		goto out;
	t0 = s->join_ms + s->settle_ms;
	sg_coresim_run_until(r.sim, t0);
	/* Subscribers: a random sample of the nodes per topic. */
	for (t = 0; t < s->topics; t++) {
		char name[32];
		size_t want = (size_t)((double)s->nodes * s->sub_frac + 0.5);

		snprintf(name, sizeof(name), "topic-%zu", t);
		sg_topic_id_from_name(&r.topic[t], name, strlen(name));
		if (want < 2)
			want = 2;
		while (r.n_sub[t] < want) {
			i = (size_t)(xs(&r.x) % s->nodes);
			if (r.sub[t][i])
				continue;
			r.sub[t][i] = 1;
			r.n_sub[t]++;
			if (sg_coresim_subscribe(r.sim, i, &r.topic[t]) != 0)
				goto out;
		}
	}
	for (k = 0; k < s->forgers && k < r.n_sub[0] / 2; k++) {
		long f = pick(&r, 0, r.forger);

		if (f >= 0)
			r.forger[f] = 1;
	}
	while (r.n_drop < s->droppers && r.n_drop < MAX_DROPPERS &&
	       r.n_drop < r.n_sub[0] / 2) {
		long f = pick(&r, 0, r.dropper);

		if (f < 0)
			break;
		r.dropper[f] = 1;
		r.drop_id[r.n_drop++] = (size_t)f;
	}
	sg_coresim_run_until(r.sim, t0 + s->swarm_ms);
	show_swarms(&r, "swarms");
	t0 = sg_coresim_now(r.sim);
	rc = 0;
	if (s->crash_frac > 0) {
		/* Half of the messages before the crash (not checked), the
		 * rest from crash + delay on, each checked against the
		 * bound. */
		size_t before = s->msgs / 2, want, done = 0;

		for (k = 0; k < before; k++) {
			publish(&r, 0, NULL);
			sg_coresim_run_until(r.sim, sg_coresim_now(r.sim) +
						       s->msg_gap_ms);
		}
		sg_coresim_run_until(r.sim, sg_coresim_now(r.sim) + 5000);
		want = (size_t)((double)s->nodes * s->crash_frac);
		while (done < want) {
			i = (size_t)(xs(&r.x) % s->nodes);
			if (!sg_coresim_alive(r.sim, i))
				continue;
			sg_coresim_crash(r.sim, i);
			done++;
		}
		show_swarms(&r, "crashed");
		t0 = sg_coresim_now(r.sim);
		sg_coresim_run_until(r.sim, t0 + s->crash_delay_ms);
		for (k = before; k < s->msgs; k++) {
			long m = publish(&r, 0, NULL);

			if (m >= 0) {
				r.checked[m] = 1;
				r.counted[m] = 1;
			}
			sg_coresim_run_until(r.sim, sg_coresim_now(r.sim) +
						       s->msg_gap_ms);
		}
		sg_coresim_run_until(r.sim, t0 + s->bound_ms);
		show_swarms(&r, "crash+bound");
	} else if (s->cut > 0) {
		uint64_t heal;

		for (k = 0; k < s->cut; k++) {
			long c = pick(&r, 0, r.cut);

			if (c >= 0) {
				r.cut[c] = 1;
				sg_coresim_set_group(r.sim, (size_t)c, 1);
			}
		}
		heal = t0 + s->cut_ms;
		sg_coresim_run_until(r.sim, t0 + 2000);
		for (k = 0; k < s->msgs; k++) {
			long m = publish(&r, 0, r.cut);

			if (m >= 0)
				r.checked[m] = r.counted[m] = 1;
			sg_coresim_run_until(r.sim, sg_coresim_now(r.sim) +
						       s->msg_gap_ms);
		}
		sg_coresim_run_until(r.sim, heal);
		show_swarms(&r, "partitioned");
		/* Nothing crossed the partition. */
		nm = sg_coresim_msg_count(r.sim);
		for (k = 0; k < nm; k++)
			for (i = 0; i < s->nodes; i++)
				if (r.cut[i] &&
				    sg_coresim_delivered(r.sim, k, i, NULL))
					rc = fail(&r, "a message crossed the "
						      "partition");
		for (i = 0; i < s->nodes; i++)
			sg_coresim_set_group(r.sim, i, 0);
	} else {
		/* Forgers publish first (every copy they send is forged),
		 * then honest subscribers. */
		for (i = 0; s->forgers > 0 && i < s->nodes; i++) {
			if (!r.forger[i])
				continue;
			publish_by(&r, (long)i, 0, NULL);
			sg_coresim_run_until(r.sim, sg_coresim_now(r.sim) +
						       s->msg_gap_ms);
		}
		const uint8_t *not = s->forgers > 0    ? r.forger
				     : s->droppers > 0 ? r.dropper
						       : NULL;

		for (k = 0; k < s->msgs; k++) {
			long m;

			if (s->droppers > 0 && k == s->drop_warmup) {
				r.turned = 1;
				r.turn_ms = sg_coresim_now(r.sim);
			}
			m = publish(&r, k % s->topics, not);
			if (m >= 0) {
				r.checked[m] = 1;
				r.counted[m] = k >= s->warmup;
			}
			sg_coresim_run_until(r.sim, sg_coresim_now(r.sim) +
						       s->msg_gap_ms);
			if (r.turned && k % 5 == 0)
				drop_poll(&r);
		}
	}
	sg_coresim_run_until(r.sim, sg_coresim_now(r.sim) + s->drain_ms);
	if (r.turned)
		drop_poll(&r);
	show_swarms(&r, "end");
	if (sg_coresim_msg_count(r.sim) < s->msgs + s->forgers)
		rc = fail(&r, "fewer messages published than asked");
	check(&r);
	if (s->result != NULL)
		s->result->failed = r.failed;
	if (!s->json)
		fprintf(s->out, "[core-%s] %.1f s wall, peak RSS %ld MiB\n",
			s->name, wall_s() - w0,
			sg_coresim_peak_rss_kb() / 1024);
	if (r.failed)
		rc = 1;
out:
	sg_coresim_del(r.sim);
	free(r.forger);
	free(r.dropper);
	free(r.pruned_honest);
	free(r.pair_nbr);
	free(r.pair_prune);
	free(r.mis_per);
	free(r.cut);
	free(r.counted);
	free(r.checked);
	for (t = 0; t < MAX_TOPICS; t++)
		free(r.sub[t]);
	return rc;
}

int sg_cscn_run(const sg_cscn *s)
{
	if (strcmp(s->name, "pubsub") != 0 && strcmp(s->name, "crash") != 0 &&
	    strcmp(s->name, "forge") != 0 && strcmp(s->name, "partition") != 0 &&
	    strcmp(s->name, "drop") != 0)
		return -1;
	return scenario(s);
}

int sg_cscn_run_seeds(const char *name, const uint64_t *seeds, size_t n,
		      void (*tweak)(sg_cscn *s))
{
	size_t i;
	int failed = 0;

	for (i = 0; i < n; i++) {
		sg_cscn s;
		const char *e = getenv("SG_SIM_SEED");
		int rc;

		sg_cscn_default(&s, name);
		if (tweak != NULL)
			tweak(&s);
		s.seed = seeds[i];
		if (e != NULL && *e != '\0') {
			s.seed = strtoull(e, NULL, 0);
			i = n;
		}
		rc = sg_cscn_run(&s);
		if (rc != 0) {
			printf("FAILED (rc %d) with seed %llu\n", rc,
			       (unsigned long long)s.seed);
			failed = 1;
		}
	}
	return failed;
}
