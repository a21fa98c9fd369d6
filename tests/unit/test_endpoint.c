/*
 * UDP endpoints on loopback (real sockets, one libuv loop): two endpoints
 * exchange messages both ways; twenty endpoints each dial the next and
 * every message arrives; a dial naming the wrong PeerId is refused;
 * garbage datagrams are dropped and counted while the endpoint keeps
 * working; a peer that vanishes is reported when its idle timeout expires;
 * two endpoints that dial each other at the same moment end up with one
 * connection, one CONNECTED each, and the messages queued before it; a
 * flood of 10,000 client Initials from 200 addresses costs at most
 * retry_threshold signatures and a real client still connects through
 * Retry; the per-address and global caps hold; an idle connection with
 * keep-alive outlives the idle timeout, one without it closes; a client
 * that closes and dials again from the same port at once connects at once.
 * Over loopback, Path MTU discovery takes datagrams past 1,452 bytes.
 */
#include "testutil.h"
#include "epworld.h"
#include "sg/endpoint.h"
#include "sg/err.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXE 20

static epworld *W;
/* Answer a 7-byte message with an 8-byte one, in the callback. */
static int echo;
/* The keep-alive of the endpoints make_world_cfg configures itself;
 * UINT32_MAX: the default. */
static uint32_t world_keep_alive_ms = UINT32_MAX;

static void on_event(void *ud, epworld *w, int i, const struct sockaddr *remote,
		     const sg_quic_event *ev)
{
	(void)ud;
	(void)remote;
	if (ev->type != SG_QUIC_MESSAGE)
		return;
	/* Content check: every byte equals the length's low byte. */
	if (ev->len > 0)
		assert_int_equal(ev->data[ev->len - 1], (uint8_t)ev->len);
	if (echo && ev->len == 7) {
		uint8_t m[8];
		memset(m, 8, sizeof(m));
		assert_int_equal(sg_endpoint_send(w->ep[i], &ev->peer, m, 8),
				 0);
		/* ev->data stays valid after a call back into us. */
		assert_int_equal(ev->data[0], 7);
	}
}

typedef struct world_cfg {
	uint32_t idle_ms;
	const sg_endpoint_config *cfg1;
} world_cfg;

static void configure(void *ud, epworld *w, int i, sg_endpoint_config *cfg)
{
	const world_cfg *c = ud;
	(void)w;
	cfg->quic.idle_timeout_ms = c->idle_ms;
	if (world_keep_alive_ms != UINT32_MAX)
		cfg->quic.keep_alive_ms = world_keep_alive_ms;
	if (i == 1 && c->cfg1 != NULL)
		*cfg = *c->cfg1;
}

/* Endpoint 1 (the one flooded) may get its own configuration. */
static void make_world_cfg(int n, uint32_t idle_ms,
			   const sg_endpoint_config *cfg1)
{
	world_cfg c = {idle_ms, cfg1};
	epworld_opts o;

	memset(&o, 0, sizeof(o));
	o.n = n;
	o.seed = 0x40;
	o.config = configure;
	o.config_ud = &c;
	o.on_event = on_event;
	echo = 0;
	W = epworld_new(&o);
}

static void make_world(int n, uint32_t idle_ms)
{
	make_world_cfg(n, idle_ms, NULL);
}

static void free_world(void)
{
	epworld_del(W);
	W = NULL;
}

static int two_connected(epworld *w)
{
	return w->connected[0] == 1 && w->connected[1] == 1;
}

static size_t want_msgs;
static int two_msgs(epworld *w)
{
	return w->msgs[0] >= want_msgs && w->msgs[1] >= want_msgs;
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
	assert_int_equal(epworld_dial(W, 0, 1), 0);
	assert_true(epworld_run_until(W, two_connected, 10000));
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		send_sized(0, 1, sizes[k]);
		send_sized(1, 0, sizes[k]);
	}
	want_msgs = 4;
	assert_true(epworld_run_until(W, two_msgs, 20000));
	assert_int_equal(W->bytes[0], 1 + 1000 + 70000 + (1 << 20));
	assert_int_equal(W->bytes[1], W->bytes[0]);
	/* Loopback carries any datagram: Path MTU discovery took both sides
	 * past Ethernet's 1,452 bytes (to the default maximum, or what the
	 * receive buffer allows). */
	for (k = 0; k < 2; k++) {
		sg_endpoint_stats st;
		sg_endpoint_stats_get(W->ep[k], &st);
		assert_true(st.largest_out > 1452);
		assert_true(st.largest_out <= SG_QUIC_DEFAULT_UDP_PAYLOAD);
		assert_int_equal(st.send_errors, 0);
	}
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

static int ring_done(epworld *w)
{
	int i;
	for (i = 0; i < w->n; i++)
		if (w->msgs[i] < 10)
			return 0;
	return 1;
}

static int ring_connected(epworld *w)
{
	int i;
	for (i = 0; i < w->n; i++)
		if (w->connected[i] < 2)
			return 0;
	return 1;
}

static void test_twenty_endpoints(void **state)
{
	int i, k;
	(void)state;

	make_world(MAXE, 30000);
	for (i = 0; i < MAXE; i++)
		assert_int_equal(epworld_dial(W, i, (i + 1) % MAXE), 0);
	assert_true(epworld_run_until(W, ring_connected, 20000));
	/* Each sends 5 messages to each ring neighbour (both ways). */
	for (i = 0; i < MAXE; i++)
		for (k = 0; k < 5; k++) {
			send_sized(i, (i + 1) % MAXE, 100 + (size_t)k);
			send_sized(i, (i + MAXE - 1) % MAXE, 200 + (size_t)k);
		}
	assert_true(epworld_run_until(W, ring_done, 20000));
	for (i = 0; i < MAXE; i++)
		assert_int_equal(W->msgs[i], 10);
	free_world();
}

static int first_closed(epworld *w)
{
	return w->closed[0] > 0;
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
	assert_true(epworld_run_until(W, first_closed, 10000));
	assert_int_equal(W->connected[0], 0);
	assert_int_not_equal(W->close_err[0], 0);
	sg_endpoint_stats_get(W->ep[0], &st);
	assert_int_equal(st.queued_dropped, 1);
	sg_endpoint_stats_get(W->ep[1], &st);
	assert_true(st.dropped_in >= 50);
	/* And the endpoint still works: the right dial succeeds. */
	assert_int_equal(epworld_dial(W, 0, 1), 0);
	assert_true(epworld_run_until(W, two_connected, 10000));
	free_world();
}

static int first_connected(epworld *w)
{
	return w->connected[0] == 1;
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
	assert_true(epworld_run_until(W, first_connected, 10000));
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	assert_true(epworld_run_until(W, first_closed, 10000));
	assert_int_equal(W->close_err[0], SG_ERR_TIMEOUT);
	free_world();
	free(peer_id);
}

static int two_connected_one_msg(epworld *w)
{
	return two_connected(w) && w->msgs[0] >= 1 && w->msgs[1] >= 1;
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
		sg_endpoint_config cfg;
		sg_endpoint_stats st[2];
		int i;

		/* Every other round endpoint 1 asks every client for a Retry:
		 * a crossed dial is accepted without one. */
		sg_endpoint_config_default(&cfg);
		cfg.retry_threshold = (size_t)(round % 2 == 0 ? 16 : 0);
		make_world_cfg(2, 30000, &cfg);
		echo = 1;
		for (i = 0; i < 2; i++)
			assert_int_equal(epworld_dial(W, i, 1 - i), 0);
		for (i = 0; i < 2; i++) {
			send_sized(i, 1 - i, 7);
			assert_int_equal(
				sg_endpoint_dial(W->ep[i],
						 (struct sockaddr *)&W->addr[1 - i],
						 NULL),
				SG_ERR_EXISTS);
		}
		assert_true(epworld_run_until(W, two_connected_one_msg, 10000));
		want_msgs = 2; /* the 7-byte message and the 8-byte echo */
		assert_true(epworld_run_until(W, two_msgs, 10000));
		epworld_run_for(W, 100); /* nothing more may happen */
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

static int second_has_conn(epworld *w)
{
	sg_endpoint_stats st;
	sg_endpoint_stats_get(w->ep[1], &st);
	return st.conns == 1;
}

/* The peer's dial arrived first: ours returns SG_ERR_EXISTS and names the
 * PeerId, so a message queued for it is delivered once connected. */
static void test_dial_exists_queues(void **state)
{
	(void)state;

	make_world(2, 30000);
	assert_int_equal(epworld_dial(W, 0, 1), 0);
	assert_int_equal(sg_endpoint_send(W->ep[1], &W->ids[0].id,
					  (const uint8_t *)"x", 1),
			 SG_ERR_NOTFOUND);
	assert_true(epworld_run_until(W, second_has_conn, 5000));
	assert_int_equal(epworld_dial(W, 1, 0), SG_ERR_EXISTS);
	send_sized(1, 0, 5);
	send_sized(0, 1, 6);
	assert_true(epworld_run_until(W, two_connected_one_msg, 10000));
	assert_int_equal(W->bytes[0], 5);
	assert_int_equal(W->bytes[1], 6);
	free_world();
}

/* ---- handshake DoS limits (H.6) ---------------------------------------- */

#define NFLIGHTS 8
#define MAXDG 4

/* The first flights (ClientHello datagrams) of fresh client connections to
 * endpoint 1: what a flooder replays. */
typedef struct flights {
	uint8_t dg[NFLIGHTS][MAXDG][1500];
	size_t len[NFLIGHTS][MAXDG];
	int n[NFLIGHTS];
} flights;

static flights *make_flights(void)
{
	flights *f = calloc(1, sizeof(*f));
	struct sockaddr_in me;
	int i, err;

	memset(&me, 0, sizeof(me));
	me.sin_family = AF_INET;
	me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	me.sin_port = htons(9);
	for (i = 0; i < NFLIGHTS; i++) {
		sg_quic_config qc;
		sg_quic_conn *c;
		long n;
		sg_quic_config_default(&qc);
		c = sg_quic_client_new(&W->env, &qc, &W->ids[0], NULL,
				       (struct sockaddr *)&me, sizeof(me),
				       (struct sockaddr *)&W->addr[1],
				       sizeof(me), 1000, &err);
		assert_non_null(c);
		while (f->n[i] < MAXDG &&
		       (n = sg_quic_write(c, f->dg[i][f->n[i]], 1500, 1000)) >
			       0)
			f->len[i][f->n[i]++] = (size_t)n;
		assert_int_equal(f->n[i], 3); /* the Initial flight (H.8) */
		sg_quic_conn_del(c);
	}
	return f;
}

static uint64_t flood_sent;
static int flood_drained(epworld *w)
{
	sg_endpoint_stats st;
	sg_endpoint_stats_get(w->ep[1], &st);
	return st.datagrams_in >= flood_sent;
}

/* count flights from source IPs 127.0.0.(first .. first + nips - 1), each
 * from a fresh socket (a new port), to endpoint 1; the loop runs every 20
 * flights so that the socket buffer never overflows. */
static void flood(const flights *f, int count, int first, int nips)
{
	int k, d;

	for (k = 0; k < count; k++) {
		struct sockaddr_in src;
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		const int i = k % NFLIGHTS;
		assert_true(fd >= 0);
		memset(&src, 0, sizeof(src));
		src.sin_family = AF_INET;
		src.sin_addr.s_addr =
			htonl(INADDR_LOOPBACK + (uint32_t)(first + k % nips) - 1);
		assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof(src)),
				 0);
		for (d = 0; d < f->n[i]; d++) {
			assert_int_equal(
				sendto(fd, f->dg[i][d], f->len[i][d], 0,
				       (struct sockaddr *)&W->addr[1],
				       sizeof(struct sockaddr_in)),
				(ssize_t)f->len[i][d]);
			flood_sent++;
		}
		close(fd);
		if (k % 20 == 19 || k == count - 1)
			epworld_run_until(W, flood_drained, 2000);
	}
}

static void flood_config(sg_endpoint_config *cfg)
{
	sg_endpoint_config_default(cfg);
	/* Nobody answers the flood: keep its handshakes pending for the
	 * whole test, so the bound below is exact rather than per 10 s. */
	cfg->quic.handshake_timeout_ms = 120000;
}

/* 10,000 Initials from 200 addresses that never answer: the first
 * retry_threshold addresses get a handshake (and a signature), everyone
 * else a Retry, which they ignore. A real client then connects via Retry. */
static void test_hello_flood(void **state)
{
	sg_endpoint_config cfg;
	sg_endpoint_stats st, st0;
	flights *f;
	(void)state;

	flood_config(&cfg);
	make_world_cfg(2, 30000, &cfg);
	f = make_flights();
	flood_sent = 0;
	flood(f, 10000, 2, 200);
	sg_endpoint_stats_get(W->ep[1], &st);
	print_message("flood: %llu datagrams in, %llu handshakes started, "
		      "%llu signed, %llu retries, %llu dropped by caps\n",
		      (unsigned long long)st.datagrams_in,
		      (unsigned long long)st.handshakes_started,
		      (unsigned long long)st.handshakes_signed,
		      (unsigned long long)st.retries_sent,
		      (unsigned long long)st.hellos_dropped_limit);
	assert_true(st.datagrams_in >= 29000);
	assert_true(st.handshakes_started <= cfg.retry_threshold);
	assert_true(st.handshakes_signed <= cfg.retry_threshold);
	assert_true(st.retries_sent >= 9900);
	assert_int_equal(st.tokens_invalid, 0);
	assert_int_equal(st.conns, st.handshakes_started);
	/* A legitimate client: Retry, then a validated handshake. */
	assert_int_equal(epworld_dial(W, 0, 1), 0);
	send_sized(0, 1, 3);
	assert_true(epworld_run_until(W, two_connected, 10000));
	send_sized(1, 0, 4);
	assert_true(epworld_run_until(W, two_connected_one_msg, 5000));
	sg_endpoint_stats_get(W->ep[1], &st0);
	assert_true(st0.retries_sent > st.retries_sent);
	assert_int_equal(st0.handshakes_started, st.handshakes_started + 1);
	free_world();
	free(f);
}

/* Without Retry (threshold above the caps): at most max_pending_per_addr
 * handshakes from one IP address whatever its ports, and at most
 * max_pending_handshakes in all. */
static void test_handshake_caps(void **state)
{
	sg_endpoint_config cfg;
	sg_endpoint_stats st;
	flights *f;
	(void)state;

	flood_config(&cfg);
	cfg.retry_threshold = 1000;
	make_world_cfg(2, 30000, &cfg);
	f = make_flights();
	flood_sent = 0;
	flood(f, 100, 9, 1); /* one address, 100 ports */
	sg_endpoint_stats_get(W->ep[1], &st);
	assert_int_equal(st.handshakes_started, cfg.max_pending_per_addr);
	assert_true(st.hellos_dropped_limit >= 96);
	flood(f, 300, 10, 150); /* 150 more addresses */
	sg_endpoint_stats_get(W->ep[1], &st);
	assert_int_equal(st.handshakes_started, cfg.max_pending_handshakes);
	assert_int_equal(st.handshakes_signed, cfg.max_pending_handshakes);
	assert_int_equal(st.retries_sent, 0);
	assert_int_equal(st.conns, cfg.max_pending_handshakes);
	free_world();
	free(f);
}

/* retry_threshold 0: every client validates its address first; a token
 * from elsewhere is refused. */
static void test_retry_always(void **state)
{
	sg_endpoint_config cfg;
	sg_endpoint_stats st;
	(void)state;

	sg_endpoint_config_default(&cfg);
	cfg.retry_threshold = 0;
	make_world_cfg(2, 30000, &cfg);
	assert_int_equal(epworld_dial(W, 0, 1), 0);
	send_sized(0, 1, 9);
	send_sized(0, 1, 10);
	assert_true(epworld_run_until(W, two_connected, 10000));
	send_sized(1, 0, 11);
	assert_true(epworld_run_until(W, two_connected_one_msg, 5000));
	sg_endpoint_stats_get(W->ep[1], &st);
	assert_true(st.retries_sent >= 1);
	assert_int_equal(st.handshakes_started, 1);
	assert_int_equal(st.handshakes_signed, 1);
	free_world();
}

static int both_closed(epworld *w)
{
	return w->closed[0] > 0 && w->closed[1] > 0;
}

/* A connection nobody sends on, idle timeout 300 ms on both sides. Without
 * keep-alive both sides report a timeout (after 300 ms, or 3 PTO if that
 * is longer: on a loaded machine the handshake's RTT samples can make it
 * a second or more). With keep-alive (100 ms, on one side only: the PINGs
 * and their ACKs reset both sides' idle timers) it is still up after
 * twice that long, at least 1.5 s, and carries a message each way. */
static void test_keep_alive(void **state)
{
	uint64_t closed_after = 0;
	int keep;
	(void)state;

	for (keep = 0; keep <= 1; keep++) {
		sg_endpoint_config cfg;
		uint64_t t0;

		sg_endpoint_config_default(&cfg);
		cfg.quic.idle_timeout_ms = 300;
		cfg.quic.keep_alive_ms = keep ? 100 : 0;
		world_keep_alive_ms = 0;
		make_world_cfg(2, 300, &cfg);
		world_keep_alive_ms = UINT32_MAX;
		assert_int_equal(epworld_dial(W, 0, 1), 0);
		assert_true(epworld_run_until(W, two_connected, 10000));
		t0 = sg_now_ms(&W->env);
		if (keep) {
			uint64_t wait = 2 * closed_after;
			assert_false(epworld_run_until(W, first_closed,
					       wait > 1500 ? wait : 1500));
			assert_int_equal(W->closed[1], 0);
			send_sized(0, 1, 5);
			send_sized(1, 0, 6);
			want_msgs = 1;
			assert_true(epworld_run_until(W, two_msgs, 5000));
		} else {
			assert_true(epworld_run_until(W, both_closed, 10000));
			assert_int_equal(W->close_err[0], SG_ERR_TIMEOUT);
			assert_int_equal(W->close_err[1], SG_ERR_TIMEOUT);
			closed_after = sg_now_ms(&W->env) - t0;
			assert_true(closed_after >= 250);
		}
		free_world();
	}
}

static int nth_connected(epworld *w)
{
	return w->connected[0] == (int)want_msgs &&
	       w->connected[1] == (int)want_msgs;
}

/* The CONNECTION_CLOSE and the next dial's Initial from the same address
 * reach the server in one batch of datagrams: the closed connection must
 * be gone before the Initial is routed, or the Initial is lost and the
 * client waits for its retransmission (about 1 s). */
static void test_redial_same_port(void **state)
{
	sg_endpoint_stats st;
	uint64_t t0;
	int k;
	(void)state;

	make_world(2, 30000);
	t0 = sg_now_ms(&W->env);
	for (k = 1; k <= 5; k++) {
		assert_int_equal(epworld_dial(W, 0, 1), 0);
		want_msgs = (size_t)k;
		assert_true(epworld_run_until(W, nth_connected, 10000));
		assert_int_equal(sg_endpoint_close_peer(W->ep[0],
							&W->ids[1].id), 0);
		assert_int_equal(W->closed[0], k); /* reported at once */
	}
	assert_true(sg_now_ms(&W->env) - t0 < 3000);
	epworld_run_for(W, 100);
	sg_endpoint_stats_get(W->ep[1], &st);
	assert_int_equal(st.conns, 0);
	assert_int_equal(W->closed[1], 5);
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
		cmocka_unit_test(test_hello_flood),
		cmocka_unit_test(test_handshake_caps),
		cmocka_unit_test(test_retry_always),
		cmocka_unit_test(test_keep_alive),
		cmocka_unit_test(test_redial_same_port),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
