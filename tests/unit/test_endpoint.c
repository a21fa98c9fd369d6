/*
 * UDP endpoints on loopback (real sockets, one libuv loop): two endpoints
 * exchange messages both ways; twenty endpoints each dial the next and
 * every message arrives; a dial naming the wrong PeerId is refused;
 * garbage datagrams are dropped and counted while the endpoint keeps
 * working; a peer that vanishes is reported when its idle timeout expires;
 * two endpoints that dial each other at the same moment end up with one
 * connection, one CONNECTED each, and the messages queued before it.
 */
#include "testutil.h"
#include "sg/endpoint.h"
#include "sg/err.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXE 20

typedef struct world {
	uv_loop_t loop;
	sg_env env;
	sg_identity ids[MAXE];
	sg_endpoint *ep[MAXE];
	struct sockaddr_storage addr[MAXE];
	int n;
	int connected[MAXE];
	int closed[MAXE];
	int close_err[MAXE];
	size_t msgs[MAXE];
	size_t bytes[MAXE];
	int echo; /* answer a 7-byte message with an 8-byte one, in the callback */
} world;

static world *W;

static int index_of(sg_endpoint *ep)
{
	int i;
	for (i = 0; i < W->n; i++)
		if (W->ep[i] == ep)
			return i;
	return -1;
}

static void on_event(void *ud, sg_endpoint *ep, const struct sockaddr *remote,
		     const sg_quic_event *ev)
{
	int i = index_of(ep);
	(void)ud;
	(void)remote;
	if (i < 0)
		return;
	if (ev->type == SG_QUIC_CONNECTED) {
		W->connected[i]++;
	} else if (ev->type == SG_QUIC_MESSAGE) {
		W->msgs[i]++;
		W->bytes[i] += ev->len;
		/* Content check: every byte equals the length's low byte. */
		if (ev->len > 0)
			assert_int_equal(ev->data[ev->len - 1], (uint8_t)ev->len);
		if (W->echo && ev->len == 7) {
			uint8_t m[8];
			memset(m, 8, sizeof(m));
			assert_int_equal(sg_endpoint_send(ep, &ev->peer, m, 8),
					 0);
			/* ev->data stays valid after a call back into us. */
			assert_int_equal(ev->data[0], 7);
		}
	} else {
		W->closed[i]++;
		W->close_err[i] = ev->error;
	}
}

static void on_stop(uv_timer_t *t)
{
	*(int *)t->data = 1;
}

/* Runs the loop until cond() holds or ms pass; returns cond(). */
static int run_until(int (*cond)(void), uint64_t ms)
{
	uv_timer_t t;
	int expired = 0;

	uv_timer_init(&W->loop, &t);
	t.data = &expired;
	uv_timer_start(&t, on_stop, ms, 0);
	while (!expired && !cond())
		uv_run(&W->loop, UV_RUN_ONCE);
	uv_timer_stop(&t);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&W->loop, UV_RUN_NOWAIT);
	return cond();
}

static void make_world(int n, uint32_t idle_ms)
{
	sg_endpoint_config cfg;
	int i, err;

	W = calloc(1, sizeof(*W));
	W->n = n;
	assert_int_equal(uv_loop_init(&W->loop), 0);
	assert_int_equal(sg_env_default(&W->env), 0);
	sg_endpoint_config_default(&cfg);
	cfg.quic.idle_timeout_ms = idle_ms;
	for (i = 0; i < n; i++) {
		struct sockaddr_in a;
		uint8_t seed[32];
		memset(seed, 0x40 + i, sizeof(seed));
		assert_int_equal(sg_identity_from_seed(&W->ids[i], seed), 0);
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		W->ep[i] = sg_endpoint_new(&W->loop, &W->env, &cfg, &W->ids[i],
					   (struct sockaddr *)&a, on_event, NULL,
					   &err);
		assert_non_null(W->ep[i]);
		sg_endpoint_local_addr(W->ep[i], &W->addr[i]);
	}
}

static void free_world(void)
{
	int i;
	for (i = 0; i < W->n; i++)
		sg_endpoint_del(W->ep[i]);
	uv_run(&W->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&W->loop), 0);
	free(W);
	W = NULL;
}

static int two_connected(void)
{
	return W->connected[0] == 1 && W->connected[1] == 1;
}

static size_t want_msgs;
static int two_msgs(void)
{
	return W->msgs[0] >= want_msgs && W->msgs[1] >= want_msgs;
}

static void send_sized(int from, int to, size_t len)
{
	uint8_t *m = malloc(len ? len : 1);
	memset(m, (int)(uint8_t)len, len);
	assert_int_equal(sg_endpoint_send(W->ep[from], &W->ids[to].id, m, len),
			 0);
	free(m);
}

static void test_two_endpoints(void **state)
{
	size_t sizes[] = {1, 1000, 70000, 1 << 20};
	size_t k;
	(void)state;

	make_world(2, 30000);
	assert_int_equal(sg_endpoint_dial(W->ep[0],
					  (struct sockaddr *)&W->addr[1],
					  &W->ids[1].id), 0);
	assert_true(run_until(two_connected, 10000));
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		send_sized(0, 1, sizes[k]);
		send_sized(1, 0, sizes[k]);
	}
	want_msgs = 4;
	assert_true(run_until(two_msgs, 20000));
	assert_int_equal(W->bytes[0], 1 + 1000 + 70000 + (1 << 20));
	assert_int_equal(W->bytes[1], W->bytes[0]);
	/* Too long for the default maximum: refused at once. */
	{
		uint8_t *big = calloc(1, (1 << 20) + 1);
		assert_int_equal(sg_endpoint_send(W->ep[0], &W->ids[1].id, big,
						  (1 << 20) + 1),
				 SG_ERR_RANGE);
		free(big);
	}
	assert_int_equal(sg_endpoint_dial(W->ep[0],
					  (struct sockaddr *)&W->addr[1], NULL),
			 SG_ERR_EXISTS);
	free_world();
}

static int ring_done(void)
{
	int i;
	for (i = 0; i < W->n; i++)
		if (W->msgs[i] < 10)
			return 0;
	return 1;
}

static int ring_connected(void)
{
	int i;
	for (i = 0; i < W->n; i++)
		if (W->connected[i] < 2)
			return 0;
	return 1;
}

static void test_twenty_endpoints(void **state)
{
	int i, k;
	(void)state;

	make_world(MAXE, 30000);
	for (i = 0; i < MAXE; i++)
		assert_int_equal(sg_endpoint_dial(
					 W->ep[i],
					 (struct sockaddr *)&W->addr[(i + 1) % MAXE],
					 &W->ids[(i + 1) % MAXE].id), 0);
	assert_true(run_until(ring_connected, 20000));
	/* Each sends 5 messages to each ring neighbour (both ways). */
	for (i = 0; i < MAXE; i++)
		for (k = 0; k < 5; k++) {
			send_sized(i, (i + 1) % MAXE, 100 + (size_t)k);
			send_sized(i, (i + MAXE - 1) % MAXE, 200 + (size_t)k);
		}
	assert_true(run_until(ring_done, 20000));
	for (i = 0; i < MAXE; i++)
		assert_int_equal(W->msgs[i], 10);
	free_world();
}

static int first_closed(void)
{
	return W->closed[0] > 0;
}

static void test_wrong_peer_and_garbage(void **state)
{
	sg_endpoint_stats st;
	int fd, k;
	(void)state;

	make_world(2, 30000);
	/* Garbage at endpoint 1 from a plain socket: dropped, counted. */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	for (k = 0; k < 50; k++) {
		uint8_t junk[1200];
		memset(junk, k, sizeof(junk));
		junk[0] = (uint8_t)(0xc0 | k); /* long-header-looking */
		sendto(fd, junk, (size_t)(k * 24 + 1), 0,
		       (struct sockaddr *)&W->addr[1], sizeof(struct sockaddr_in));
	}
	close(fd);
	/* A dial that names another PeerId fails. */
	assert_int_equal(sg_endpoint_dial(W->ep[0],
					  (struct sockaddr *)&W->addr[1],
					  &W->ids[0].id), 0);
	/* Held for the dial, dropped when it fails. */
	send_sized(0, 0, 10);
	assert_false(sg_endpoint_is_connected(W->ep[0], &W->ids[0].id));
	assert_true(run_until(first_closed, 10000));
	assert_int_equal(W->connected[0], 0);
	assert_int_not_equal(W->close_err[0], 0);
	sg_endpoint_stats_get(W->ep[0], &st);
	assert_int_equal(st.queued_dropped, 1);
	sg_endpoint_stats_get(W->ep[1], &st);
	assert_true(st.dropped_in >= 50);
	/* And the endpoint still works: the right dial succeeds. */
	assert_int_equal(sg_endpoint_dial(W->ep[0],
					  (struct sockaddr *)&W->addr[1],
					  &W->ids[1].id), 0);
	assert_true(run_until(two_connected, 10000));
	free_world();
}

static int first_connected(void)
{
	return W->connected[0] == 1;
}

/* The peer is a separate process, killed with SIGKILL once connected: no
 * goodbye, so only the idle timeout can tell. */
static void test_vanished_peer(void **state)
{
	int pipefd[2], status;
	pid_t child;
	uint16_t port = 0;
	struct sockaddr_in peer;
	uint8_t seed[32];
	sg_identity *peer_id = calloc(1, sizeof(*peer_id));
	(void)state;

	memset(seed, 0x41, sizeof(seed)); /* the identity of endpoint 1 */
	assert_int_equal(sg_identity_from_seed(peer_id, seed), 0);
	assert_int_equal(pipe(pipefd), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		uv_loop_t loop;
		sg_env env;
		sg_endpoint_config cfg;
		struct sockaddr_in a;
		struct sockaddr_storage local;
		sg_endpoint *ep;
		int err;
		uv_loop_init(&loop);
		sg_env_default(&env);
		sg_endpoint_config_default(&cfg);
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ep = sg_endpoint_new(&loop, &env, &cfg, peer_id,
				     (struct sockaddr *)&a, NULL, NULL, &err);
		if (ep == NULL)
			_exit(1);
		sg_endpoint_local_addr(ep, &local);
		port = ((struct sockaddr_in *)&local)->sin_port;
		if (write(pipefd[1], &port, sizeof(port)) != sizeof(port))
			_exit(1);
		uv_run(&loop, UV_RUN_DEFAULT); /* until killed */
		_exit(0);
	}
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], &port, sizeof(port)), sizeof(port));
	close(pipefd[0]);
	make_world(1, 1500);
	memset(&peer, 0, sizeof(peer));
	peer.sin_family = AF_INET;
	peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	peer.sin_port = port;
	assert_int_equal(sg_endpoint_dial(W->ep[0], (struct sockaddr *)&peer,
					  &peer_id->id), 0);
	assert_true(run_until(first_connected, 10000));
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	assert_true(run_until(first_closed, 10000));
	assert_int_equal(W->close_err[0], SG_ERR_TIMEOUT);
	free_world();
	free(peer_id);
}

static int two_connected_one_msg(void)
{
	return two_connected() && W->msgs[0] >= 1 && W->msgs[1] >= 1;
}

static int never(void)
{
	return 0;
}

/* Both endpoints dial each other before either has received anything, and
 * each sends a message to the other before the handshake: exactly one of
 * them gives its dial up, both report one CONNECTED, both messages arrive
 * (and an answer sent from inside the callback too). */
static void test_simultaneous_dial(void **state)
{
	int round;
	(void)state;

	for (round = 0; round < 20; round++) {
		sg_endpoint_stats st[2];
		int i;

		make_world(2, 30000);
		W->echo = 1;
		for (i = 0; i < 2; i++)
			assert_int_equal(
				sg_endpoint_dial(W->ep[i],
						 (struct sockaddr *)&W->addr[1 - i],
						 &W->ids[1 - i].id),
				0);
		for (i = 0; i < 2; i++) {
			send_sized(i, 1 - i, 7);
			assert_int_equal(
				sg_endpoint_dial(W->ep[i],
						 (struct sockaddr *)&W->addr[1 - i],
						 NULL),
				SG_ERR_EXISTS);
		}
		assert_true(run_until(two_connected_one_msg, 10000));
		want_msgs = 2; /* the 7-byte message and the 8-byte echo */
		assert_true(run_until(two_msgs, 10000));
		run_until(never, 100); /* nothing more may happen */
		for (i = 0; i < 2; i++) {
			assert_int_equal(W->connected[i], 1);
			assert_int_equal(W->closed[i], 0);
			assert_int_equal(W->msgs[i], 2);
			assert_int_equal(W->bytes[i], 15);
			assert_true(sg_endpoint_is_connected(W->ep[i],
							     &W->ids[1 - i].id));
			sg_endpoint_stats_get(W->ep[i], &st[i]);
			assert_int_equal(st[i].conns, 1);
			assert_int_equal(st[i].queued_dropped, 0);
		}
		assert_int_equal(st[0].dials_yielded + st[1].dials_yielded, 1);
		assert_true(st[0].dials_kept + st[1].dials_kept >= 1);
		free_world();
	}
}

static int second_has_conn(void)
{
	sg_endpoint_stats st;
	sg_endpoint_stats_get(W->ep[1], &st);
	return st.conns == 1;
}

/* The peer's dial arrived first: ours returns SG_ERR_EXISTS and names the
 * PeerId, so a message queued for it is delivered once connected. */
static void test_dial_exists_queues(void **state)
{
	(void)state;

	make_world(2, 30000);
	assert_int_equal(sg_endpoint_dial(W->ep[0],
					  (struct sockaddr *)&W->addr[1],
					  &W->ids[1].id), 0);
	assert_int_equal(sg_endpoint_send(W->ep[1], &W->ids[0].id,
					  (const uint8_t *)"x", 1),
			 SG_ERR_NOTFOUND);
	assert_true(run_until(second_has_conn, 5000));
	assert_int_equal(sg_endpoint_dial(W->ep[1],
					  (struct sockaddr *)&W->addr[0],
					  &W->ids[0].id), SG_ERR_EXISTS);
	send_sized(1, 0, 5);
	send_sized(0, 1, 6);
	assert_true(run_until(two_connected_one_msg, 10000));
	assert_int_equal(W->bytes[0], 5);
	assert_int_equal(W->bytes[1], 6);
	free_world();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_endpoints),
		cmocka_unit_test(test_twenty_endpoints),
		cmocka_unit_test(test_wrong_peer_and_garbage),
		cmocka_unit_test(test_vanished_peer),
		cmocka_unit_test(test_simultaneous_dial),
		cmocka_unit_test(test_dial_exists_queues),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
