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
#include "netcut.h"
#include "nodefix.h"
#include "sg/err.h"
#include "sg/node.h"

#include <stdint.h>
#include <string.h>

#define R 0
#define A 1
#define B 2

static const char marker[] = "relay-node-test PLAINTEXT 91c4";

static nodefix F;
static netcut cut; /* A<->B */
static size_t tapped, marked_in_tap;
static size_t got[3];

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

static void configure(void *ud, nodefix *f, int i, sg_node_config *cfg)
{
	(void)ud;
	(void)f;
	cfg->control = 0;
	cfg->ep.quic.handshake_timeout_ms = 1500;
	cfg->relay_direct_retry_ms = 1000;
	if (i == R)
		cfg->ep.relay_tap = tap;
	else
		netcut_install(&cut, i, &cfg->ep);
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
	char pinned[200];
	const char *c[1];
	uint8_t payload[64];
	int k;
	(void)state;

	n[R] = nodefix_start(&F, R, NULL, 0,
			     SG_ROLE_COORDINATOR | SG_ROLE_REFLECTOR |
				 SG_ROLE_RELAY);
	nodefix_contact(&F, R, pinned, sizeof(pinned));
	c[0] = pinned;
	n[A] = nodefix_start(&F, A, c, 1, 0);
	n[B] = nodefix_start(&F, B, c, 1, 0);
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
		nodefix_run_until(&F, relayed_both, n, 500);
	}
	sg_node_stats_get(n[R], &sr);
	sg_node_stats_get(n[A], &sa);
	sg_node_stats_get(n[B], &sb);
	assert_true(got[A] > 0 && got[B] > 0);
	assert_true(cut.dropped > 0); /* the direct path was really tried */
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
	cut.on = 0;
	assert_true(nodefix_run_until(&F, direct_again, n, 15000));
	sg_node_stats_get(n[R], &sr);
	got[B] = 0;
	for (k = 0; k < 20 && got[B] == 0; k++) {
		payload[sizeof(marker)] = (uint8_t)(100 + k);
		assert_int_equal(sg_node_publish(n[A], "relayed", 7, payload,
						 sizeof(marker) + 1, NULL),
				 0);
		nodefix_run_until(&F, relayed_both, n, 300);
	}
	assert_true(got[B] > 0);
	sg_node_stats_get(n[R], &sa);
	assert_int_equal(sa.ep.relay_forwarded, sr.ep.relay_forwarded);
	for (k = 0; k < 3; k++)
		sg_node_del(n[k]);
	uv_run(&F.loop, UV_RUN_DEFAULT);
}

static int setup(void **state)
{
	(void)state;
	if (nodefix_init(&F, "relay-test", 3, 0x70) != 0)
		return -1;
	F.config = configure;
	netcut_init(&cut, F.addrs, A, B);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return nodefix_fini(&F);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_relay_fallback),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
