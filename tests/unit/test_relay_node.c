/*
 * Nodes falling back to a relay (docs/PROTOCOL.md, "Relay"), three sg_node
 * on loopback with real sockets: R runs the coordinator and relay roles;
 * A and B join through R and cannot reach each other (their endpoints'
 * transmit filter drops every datagram to the other's address, both
 * ways). A and B learn from R's advert that it relays; when a direct
 * dial between them fails, they dial through R, and a message A publishes
 * on a topic only A and B joined reaches B, and one from B reaches A,
 * carried by R as ciphertext it cannot open (R is not in the topic and
 * holds no connection of A and B's). Then the direct path heals (the
 * filter lets datagrams through): the nodes' periodic direct dial
 * supersedes the relayed connection, and messages flow directly.
 */
#define _DEFAULT_SOURCE
#define _GNU_SOURCE /* memmem */
#include "testutil.h"
#include "sg/err.h"
#include "sg/node.h"

#include <arpa/inet.h>
#include <string.h>
#include <unistd.h>

#define R 0
#define A 1
#define B 2

static const char marker[] = "relay-node-test PLAINTEXT 91c4";

static uv_loop_t loop;
static sg_env env;
static char root[64];
static sg_identity ids[3];
static struct sockaddr_storage addrs[3];
static size_t filtered;
static int blocked = 1; /* the filter drops A<->B datagrams */
static size_t tapped, marked_in_tap;
static size_t got[3];

static int filter(void *ud, const struct sockaddr *to)
{
	int self = (int)(intptr_t)ud, other = self == A ? B : A;
	const struct sockaddr_in *x = (const void *)to;
	const struct sockaddr_in *y = (const void *)&addrs[other];

	if (blocked && to->sa_family == AF_INET && y->sin_family == AF_INET &&
	    x->sin_port == y->sin_port &&
	    x->sin_addr.s_addr == y->sin_addr.s_addr) {
		filtered++;
		return 1;
	}
	return 0;
}

static void tap(void *ud, const sg_peer_id *from, const sg_peer_id *to,
		const uint8_t *pkt, size_t len)
{
	(void)ud;
	(void)from;
	(void)to;
	tapped++;
	if (memmem(pkt, len, marker, 12) != NULL)
		marked_in_tap++;
}

static void on_deliver(void *ud, const sg_topic_id *topic,
		       const sg_msg_view *msg, uint32_t hops)
{
	(void)topic;
	(void)hops;
	if (memmem(msg->payload, msg->payload_len, marker,
		   sizeof(marker) - 1) != NULL)
		got[(intptr_t)ud]++;
}

static void on_tick(uv_timer_t *t)
{
	(void)t;
}

static int run_until(int (*pred)(void *), void *ud, unsigned timeout_ms)
{
	uv_timer_t t;
	uint64_t end = uv_now(&loop) + timeout_ms;
	int ok;

	uv_timer_init(&loop, &t);
	uv_timer_start(&t, on_tick, 20, 20);
	while (!(ok = pred(ud)) && uv_now(&loop) < end)
		uv_run(&loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	return ok;
}

static sg_node *start(int i, const char *const *contacts, size_t nc,
		      uint32_t roles)
{
	sg_node_config cfg;
	char dir[128];
	sg_node *n;
	int err;

	sg_node_config_default(&cfg);
	snprintf(dir, sizeof(dir), "%s/n%d", root, i);
	cfg.data_dir = dir;
	cfg.bind = "127.0.0.1:0";
	cfg.contacts = contacts;
	cfg.n_contacts = nc;
	cfg.roles = roles;
	cfg.control = 0;
	cfg.ep.quic.handshake_timeout_ms = 1500;
	cfg.relay_direct_retry_ms = 1000;
	if (i == R)
		cfg.ep.relay_tap = tap;
	else {
		cfg.ep.tx_filter = filter;
		cfg.ep.tx_filter_ud = (void *)(intptr_t)i;
	}
	n = sg_node_new(&loop, &env, &cfg, &ids[i], &err);
	assert_non_null(n);
	sg_node_local_addr(n, &addrs[i]);
	return n;
}

static int relayed_both(void *ud)
{
	(void)ud;
	return got[A] > 0 && got[B] > 0;
}

static int direct_again(void *ud)
{
	sg_node **n = ud;
	sg_node_stats sa, sb;
	sg_node_stats_get(n[A], &sa);
	sg_node_stats_get(n[B], &sb);
	return sa.ep.relayed_conns == 0 && sb.ep.relayed_conns == 0;
}

static void test_relay_fallback(void **state)
{
	sg_node *n[3];
	sg_node_stats sr, sa, sb;
	char r_addr[80], pinned[200], hex[SG_PEER_ID_HEX_LEN];
	const char *c[1];
	uint8_t payload[64];
	int k;
	(void)state;

	n[R] = start(R, NULL, 0,
		     SG_ROLE_COORDINATOR | SG_ROLE_REFLECTOR | SG_ROLE_RELAY);
	sg_node_format_addr((const struct sockaddr *)&addrs[R], r_addr,
			    sizeof(r_addr));
	sg_peer_id_hex(hex, &ids[R].id);
	snprintf(pinned, sizeof(pinned), "%s@%s", hex, r_addr);
	c[0] = pinned;
	n[A] = start(A, c, 1, 0);
	n[B] = start(B, c, 1, 0);
	sg_node_set_deliver_cb(n[A], on_deliver, (void *)(intptr_t)A);
	sg_node_set_deliver_cb(n[B], on_deliver, (void *)(intptr_t)B);
	assert_int_equal(sg_node_subscribe(n[A], "relayed", 7), 0);
	assert_int_equal(sg_node_subscribe(n[B], "relayed", 7), 0);
	memcpy(payload, marker, sizeof(marker));
	/* Publish both ways until each side delivered the other's message:
	 * the swarm forms once a direct dial failed (1.5 s) and the relayed
	 * one connected. */
	for (k = 0; k < 40 && (got[A] == 0 || got[B] == 0); k++) {
		payload[sizeof(marker)] = (uint8_t)k;
		if (got[B] == 0)
			assert_int_equal(
			    sg_node_publish(n[A], "relayed", 7, payload,
					    sizeof(marker) + 1, NULL),
			    0);
		if (got[A] == 0)
			assert_int_equal(
			    sg_node_publish(n[B], "relayed", 7, payload,
					    sizeof(marker) + 1, NULL),
			    0);
		run_until(relayed_both, n, 500);
	}
	sg_node_stats_get(n[R], &sr);
	sg_node_stats_get(n[A], &sa);
	sg_node_stats_get(n[B], &sb);
	assert_true(got[A] > 0 && got[B] > 0);
	assert_true(filtered > 0); /* the direct path was really tried */
	assert_true(sa.relay_dials + sb.relay_dials >= 1);
	assert_true(sa.ep.relayed_conns + sb.ep.relayed_conns >= 1);
	assert_true(sr.ep.relay_forwarded > 0);
	assert_int_equal(tapped, sr.ep.relay_forwarded);
	assert_int_equal(marked_in_tap, 0);
	assert_int_equal(sr.ep.relayed_conns, 0);
	assert_int_equal(sr.core.topics, 0); /* R never joined the topic */

	/* The direct path heals: within a few retry periods (1 s here) the
	 * direct connection replaces the relayed one, and a message goes
	 * directly (R forwards nothing more). */
	blocked = 0;
	assert_true(run_until(direct_again, n, 15000));
	sg_node_stats_get(n[R], &sr);
	got[B] = 0;
	for (k = 0; k < 20 && got[B] == 0; k++) {
		payload[sizeof(marker)] = (uint8_t)(100 + k);
		assert_int_equal(sg_node_publish(n[A], "relayed", 7, payload,
						 sizeof(marker) + 1, NULL),
				 0);
		run_until(relayed_both, n, 300);
	}
	assert_true(got[B] > 0);
	sg_node_stats_get(n[R], &sa);
	assert_int_equal(sa.ep.relay_forwarded, sr.ep.relay_forwarded);
	for (k = 0; k < 3; k++)
		sg_node_del(n[k]);
	uv_run(&loop, UV_RUN_DEFAULT);
}

static void log_sink(void *ud, sg_log_level level, const char *module,
		     const char *msg)
{
	(void)ud;
	fprintf(stderr, "%llu %s %s: %s\n", (unsigned long long)uv_now(&loop),
		sg_log_level_name(level), module, msg);
}

static int setup(void **state)
{
	uint8_t seed[32];
	int i;
	(void)state;

	snprintf(root, sizeof(root), "/tmp/sg-relay-test-XXXXXX");
	assert_non_null(mkdtemp(root));
	assert_int_equal(sg_env_default(&env), 0);
	if (getenv("SG_TEST_LOG") != NULL) {
		env.log = log_sink;
		env.log_level = SG_LOG_DEBUG;
	}
	uv_loop_init(&loop);
	for (i = 0; i < 3; i++) {
		memset(seed, 0x70 + i, sizeof(seed));
		assert_int_equal(sg_identity_from_seed(&ids[i], seed), 0);
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	int k;
	(void)state;
	for (k = 0; k < 100; k++)
		uv_run(&loop, UV_RUN_NOWAIT);
	uv_loop_close(&loop);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_relay_fallback),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
