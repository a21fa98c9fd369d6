/*
 * QUIC with the PQ handshake, two connections in memory exchanging
 * datagrams: the handshake completes and each side learns the other's
 * PeerId; messages of many sizes (up to the maximum) cross both ways,
 * whole and in order of completion; an over-long message is refused at
 * send time; a wrong expected PeerId closes the connection; corrupted
 * datagrams are dropped without harm; lost datagrams are recovered; a
 * server that answers with Retry (address validation) still connects, and
 * its tokens are refused for another address, connection id, key or time;
 * key updates from either side keep messages flowing.
 */
#include "testutil.h"
#include "sg/err.h"
#include "sg/handshake.h"
#include "sg/quic.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static sg_quic_config qcfg;

typedef struct pair {
	sg_test_env tenv;
	sg_identity ids[2];
	sg_quic_conn *c[2];
	struct sockaddr_in addr[2];
	uint64_t now;
	int connected[2];
	sg_peer_id peer[2];
	int closed[2], close_err[2];
	size_t got[2];
	uint8_t first[2][256]; /* each message's first byte, in arrival order */
	uint8_t *last[2];
	size_t last_len[2];
	sg_test_rng rng;
	int drop_every; /* drop every n-th datagram (0: none) */
	/* The path: datagrams longer than mtu are lost (0: 1500); writes get
	 * a buffer of cap bytes (0: 1500). Counts what was longest. */
	size_t mtu, cap, longest[2];
	int corrupt_every;
	unsigned long sent;
	/* Retry mode: the server side answers token-less Initials with a
	 * Retry (queued for the client) and starts only on a valid token. */
	int retry;
	uint8_t token_key[SG_QUIC_TOKEN_KEY_LEN];
	uint8_t retries[4][1500];
	size_t retry_len[4], nretry;
	unsigned long retries_sent, tokens_ok;
	uint8_t first_retry[1500], first_odcid[20];
	size_t first_retry_len, first_odcid_len;
} pair;

/* The server side of Retry mode for a datagram with no connection yet. */
static void retry_gate(pair *p, const uint8_t *buf, size_t n)
{
	sg_quic_initial ini;
	uint8_t odcid[SG_QUIC_MAX_CID_LEN];
	size_t odcid_len;
	int err;
	long r;

	if (sg_quic_initial_decode(&ini, buf, n) != 0)
		return;
	if (ini.token_len == 0) {
		if (p->nretry == 4)
			return;
		r = sg_quic_retry_write(p->retries[p->nretry], 1500,
					&p->tenv.env, p->token_key, &ini,
					(struct sockaddr *)&p->addr[0], p->now);
		assert_true(r > 0);
		assert_true((size_t)r < n); /* no amplification */
		if (p->retries_sent++ == 0) {
			memcpy(p->first_retry, p->retries[p->nretry], (size_t)r);
			p->first_retry_len = (size_t)r;
			memcpy(p->first_odcid, ini.dcid, ini.dcid_len);
			p->first_odcid_len = ini.dcid_len;
		}
		p->retry_len[p->nretry++] = (size_t)r;
		return;
	}
	if (sg_quic_retry_token_check(odcid, &odcid_len, p->token_key, &ini,
				      (struct sockaddr *)&p->addr[0], p->now,
				      10000) != 0)
		return;
	p->tokens_ok++;
	p->c[1] = sg_quic_server_new_validated(
		&p->tenv.env, &qcfg, &p->ids[1], buf, n, odcid, odcid_len,
		(struct sockaddr *)&p->addr[1], sizeof(p->addr[1]),
		(struct sockaddr *)&p->addr[0], sizeof(p->addr[0]), p->now, &err);
}

static void drain_events(pair *p, int i)
{
	sg_quic_event ev;
	while (sg_quic_poll_event(p->c[i], &ev)) {
		if (ev.type == SG_QUIC_CONNECTED) {
			p->connected[i] = 1;
			p->peer[i] = ev.peer;
		} else if (ev.type == SG_QUIC_MESSAGE) {
			if (p->got[i] < sizeof(p->first[i]) && ev.len > 0)
				p->first[i][p->got[i]] = ev.data[0];
			p->got[i]++;
			free(p->last[i]);
			p->last[i] = malloc(ev.len ? ev.len : 1);
			if (ev.len > 0)
				memcpy(p->last[i], ev.data, ev.len);
			p->last_len[i] = ev.len;
		} else {
			p->closed[i] = 1;
			p->close_err[i] = ev.error;
		}
	}
}

/* Moves datagrams both ways and runs timers for ms of virtual time. */
static void pump(pair *p, uint64_t ms)
{
	static uint8_t buf[65536];
	uint64_t end = p->now + ms;
	size_t cap = p->cap ? p->cap : 1500, mtu = p->mtu ? p->mtu : 1500;
	int i, moved;

	for (;;) {
		moved = 0;
		for (i = 0; i < 2; i++) {
			long n;
			if (p->c[i] == NULL)
				continue;
			while ((n = sg_quic_write(p->c[i], buf, cap, p->now)) >
			       0) {
				moved = 1;
				p->sent++;
				if ((size_t)n > mtu)
					continue; /* too large for the path */
				if ((size_t)n > p->longest[i])
					p->longest[i] = (size_t)n;
				if (p->drop_every &&
				    p->sent % (unsigned long)p->drop_every == 0)
					continue;
				if (p->corrupt_every &&
				    p->sent % (unsigned long)p->corrupt_every == 0)
					buf[sg_test_rng_u64(&p->rng) % (uint64_t)n] ^= 0x55;
				if (p->c[1 - i] == NULL && p->retry) {
					retry_gate(p, buf, (size_t)n);
				} else if (p->c[1 - i] == NULL) {
					int err;
					p->c[1] = sg_quic_server_new(
						&p->tenv.env, &qcfg, &p->ids[1],
						buf, (size_t)n,
						(struct sockaddr *)&p->addr[1],
						sizeof(p->addr[1]),
						(struct sockaddr *)&p->addr[0],
						sizeof(p->addr[0]), p->now, &err);
				} else {
					sg_quic_read(p->c[1 - i], buf, (size_t)n,
						     p->now);
				}
			}
			drain_events(p, i);
		}
		if (p->nretry > 0) { /* Retries reach the client now */
			size_t k;
			for (k = 0; k < p->nretry; k++)
				sg_quic_read(p->c[0], p->retries[k],
					     p->retry_len[k], p->now);
			p->nretry = 0;
			drain_events(p, 0);
			moved = 1;
		}
		if (moved) {
			p->now += 1; /* a millisecond per exchange */
			if (p->now >= end)
				return;
			continue;
		}
		{
			uint64_t d = UINT64_MAX;
			for (i = 0; i < 2; i++)
				if (p->c[i] && sg_quic_next_deadline(p->c[i]) < d)
					d = sg_quic_next_deadline(p->c[i]);
			if (d >= end) {
				p->now = end;
				return;
			}
			/* A deadline already due (a pacing timer, say) is
			 * met by writing, at the next millisecond. */
			p->now = d > p->now ? d : p->now + 1;
			for (i = 0; i < 2; i++)
				if (p->c[i])
					sg_quic_tick(p->c[i], p->now);
		}
	}
}

/* send_queue: max_send_queue of both sides, 0 for the default. */
static pair *make_pair_q(int expect_right, size_t send_queue)
{
	pair *p = calloc(1, sizeof(*p));
	uint8_t seed[32];
	int err, i;
	sg_peer_id wrong;

	sg_quic_config_default(&qcfg);
	qcfg.max_message = 256 * 1024;
	if (send_queue > 0)
		qcfg.max_send_queue = send_queue;
	sg_test_env_init(&p->tenv, 5, -1);
	sg_test_rng_seed(&p->rng, 3);
	for (i = 0; i < 2; i++) {
		memset(seed, 0x10 + i, sizeof(seed));
		assert_int_equal(sg_identity_from_seed(&p->ids[i], seed), 0);
		p->addr[i].sin_family = AF_INET;
		p->addr[i].sin_port = htons((uint16_t)(7000 + i));
		p->addr[i].sin_addr.s_addr = htonl(0x7f000001);
	}
	p->now = 1000;
	memset(&wrong, 0x77, sizeof(wrong));
	p->c[0] = sg_quic_client_new(&p->tenv.env, &qcfg, &p->ids[0],
				     expect_right ? &p->ids[1].id : &wrong,
				     (struct sockaddr *)&p->addr[0],
				     sizeof(p->addr[0]),
				     (struct sockaddr *)&p->addr[1],
				     sizeof(p->addr[1]), p->now, &err);
	assert_non_null(p->c[0]);
	return p;
}

static pair *make_pair(int expect_right)
{
	return make_pair_q(expect_right, 0);
}

static void free_pair(pair *p)
{
	sg_quic_conn_del(p->c[0]);
	sg_quic_conn_del(p->c[1]);
	free(p->last[0]);
	free(p->last[1]);
	assert_int_equal(p->tenv.allocs, p->tenv.frees);
	free(p);
}

static void test_handshake_and_messages(void **state)
{
	pair *p = make_pair(1);
	size_t sizes[] = {0, 1, 100, 1200, 5000, 65536, 256 * 1024};
	size_t k;
	(void)state;

	pump(p, 2000);
	assert_non_null(p->c[1]);
	assert_true(p->connected[0]);
	assert_true(p->connected[1]);
	assert_true(sg_peer_id_equal(&p->peer[0], &p->ids[1].id));
	assert_true(sg_peer_id_equal(&p->peer[1], &p->ids[0].id));
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		int dir;
		for (dir = 0; dir < 2; dir++) {
			uint8_t *m = malloc(sizes[k] ? sizes[k] : 1);
			size_t before = p->got[1 - dir];
			sg_test_rng_bytes(&p->rng, m, sizes[k]);
			assert_int_equal(sg_quic_send(p->c[dir], m, sizes[k]), 0);
			pump(p, 1000);
			assert_int_equal(p->got[1 - dir], before + 1);
			assert_int_equal(p->last_len[1 - dir], sizes[k]);
			assert_memory_equal(p->last[1 - dir], m, sizes[k]);
			free(m);
		}
	}
	/* Too long: refused at once, never silently dropped. */
	{
		uint8_t *big = calloc(1, qcfg.max_message + 1);
		assert_int_equal(sg_quic_send(p->c[0], big, qcfg.max_message + 1),
				 SG_ERR_RANGE);
		free(big);
	}
	/* Many small messages at once. */
	for (k = 0; k < 300; k++) {
		uint8_t m[64];
		memset(m, (int)k, sizeof(m));
		assert_int_equal(sg_quic_send(p->c[0], m, sizeof(m)), 0);
	}
	pump(p, 5000);
	assert_int_equal(p->got[1], 7 + 300);
	/* A clean close reaches the other side. */
	sg_quic_close(p->c[0]);
	pump(p, 1000);
	assert_true(p->closed[0]);
	assert_true(p->closed[1]);
	free_pair(p);
}

/* A caller that hands in an earlier time than a previous call gave the
 * connection (a time read before a nested call) must not trip ngtcp2's
 * "time never goes back" assertion: the connection keeps its own clock. */
static void test_time_never_goes_back(void **state)
{
	pair *p = make_pair(1);
	uint8_t buf[2048], m[32];
	(void)state;

	pump(p, 2000);
	assert_true(p->connected[0]);
	memset(m, 7, sizeof(m));
	assert_int_equal(sg_quic_send(p->c[0], m, sizeof(m)), 0);
	sg_quic_tick(p->c[0], p->now + 50);
	assert_true(sg_quic_write(p->c[0], buf, sizeof(buf), p->now + 10) >= 0);
	sg_quic_tick(p->c[0], p->now);
	assert_true(sg_quic_write(p->c[0], buf, sizeof(buf), p->now) >= 0);
	p->now += 60;
	pump(p, 1000);
	assert_int_equal(p->got[1], 1);
	free_pair(p);
}

static void test_wrong_peer_refused(void **state)
{
	pair *p = make_pair(0);
	(void)state;
	pump(p, 3000);
	assert_false(p->connected[0]);
	assert_true(p->closed[0]);
	assert_int_not_equal(p->close_err[0], 0);
	free_pair(p);
}

static void test_loss_and_corruption(void **state)
{
	pair *p = make_pair(1);
	uint8_t m[20000];
	int k;
	(void)state;

	p->drop_every = 5;
	p->corrupt_every = 7;
	pump(p, 10000);
	assert_true(p->connected[0] && p->connected[1]);
	for (k = 0; k < 10; k++) {
		memset(m, k, sizeof(m));
		assert_int_equal(sg_quic_send(p->c[k % 2], m, sizeof(m)), 0);
	}
	pump(p, 20000);
	assert_int_equal(p->got[0] + p->got[1], 10);
	free_pair(p);
}

/* Messages of the maximum size, more than the receiver's flow-control
 * window (4 of them) at once, the sender's queue refilled as it drains:
 * they leave in the order they were queued, one after the other, so
 * without loss they arrive in that order, and with loss (ACKs out of
 * order, streams closing out of order) they all still arrive. Before the
 * send queue kept its order, a closed stream's slot took the newest
 * message, which was then written before older ones; the window ended up
 * spread over half-sent messages, none of which could finish (the
 * receiver returns credit per whole message), and the connection stalled
 * until its idle timeout. */
static void send_full_messages(pair *p, int count)
{
	uint8_t *m = malloc(qcfg.max_message);
	int k = 0, rc;

	while (k < count) {
		memset(m, k, qcfg.max_message);
		rc = sg_quic_send(p->c[0], m, qcfg.max_message);
		if (rc == SG_ERR_FULL) {
			pump(p, 20);
			continue;
		}
		assert_int_equal(rc, 0);
		k++;
	}
	free(m);
}

static void test_full_messages_in_order(void **state)
{
	pair *p = make_pair_q(1, 8);
	int k;
	(void)state;

	pump(p, 2000);
	assert_true(p->connected[0] && p->connected[1]);
	send_full_messages(p, 64);
	pump(p, 5000);
	assert_int_equal(p->got[1], 64);
	for (k = 0; k < 64; k++)
		assert_int_equal(p->first[1][k], k);
	/* With loss: every seventh datagram either way. */
	p->drop_every = 7;
	send_full_messages(p, 64);
	pump(p, 20000);
	assert_int_equal(p->got[1], 128);
	assert_false(p->closed[0] || p->closed[1]);
	free_pair(p);
}

/* H.8: the client's Initial flight is three datagrams of at least 1,200
 * bytes, so the server's anti-amplification allowance (three times what it
 * received) covers its whole first flight: the client completes the
 * handshake on that one flight, without acknowledging part of it first. */
static void test_initial_flight_three_datagrams(void **state)
{
	pair *p = make_pair(1);
	static uint8_t buf[8][1500];
	size_t len[8], k, nc = 0, rx = 0, tx = 0;
	long n;
	int err;
	(void)state;

	while (nc < 8 && (n = sg_quic_write(p->c[0], buf[nc], sizeof(buf[0]),
					    p->now)) > 0) {
		assert_true(n >= 1200);
		len[nc++] = (size_t)n;
	}
	assert_int_equal(nc, 3);
	for (k = 0; k < nc; k++) {
		rx += len[k];
		if (k == 0) {
			p->c[1] = sg_quic_server_new(
				&p->tenv.env, &qcfg, &p->ids[1], buf[0], len[0],
				(struct sockaddr *)&p->addr[1], sizeof(p->addr[1]),
				(struct sockaddr *)&p->addr[0], sizeof(p->addr[0]),
				p->now, &err);
			assert_non_null(p->c[1]);
		} else {
			assert_int_equal(sg_quic_read(p->c[1], buf[k], len[k],
						      p->now),
					 0);
		}
	}
	p->now += 1;
	while ((n = sg_quic_write(p->c[1], buf[0], sizeof(buf[0]), p->now)) >
	       0) {
		tx += (size_t)n;
		assert_int_equal(sg_quic_read(p->c[0], buf[0], (size_t)n,
					      p->now),
				 0);
	}
	assert_true(tx <= 3 * rx);
	drain_events(p, 0);
	assert_true(p->connected[0]); /* the whole flight came at once */
	pump(p, 1000);
	assert_true(p->connected[1]);
	free_pair(p);
}

/* Path MTU discovery (RFC 9000 section 14.3): with room on the path, the
 * datagrams grow to max_udp_payload once probes get through; where the
 * path carries only 1,500 bytes, the larger probes are lost and the
 * connection goes on at the largest size that passed. Messages arrive
 * whole either way. */
static void test_path_mtu(void **state)
{
	static const size_t mtus[] = {65536, 1500};
	size_t t;
	(void)state;

	for (t = 0; t < 2; t++) {
		pair *p;
		uint8_t *m = malloc(200000);
		int i;

		sg_quic_config_default(&qcfg);
		assert_int_equal(qcfg.max_udp_payload, 65487);
		qcfg.max_message = 256 * 1024;
		p = make_pair_q(1, 0);
		p->cap = 65536;
		p->mtu = mtus[t];
		pump(p, 2000);
		assert_true(p->connected[0] && p->connected[1]);
		sg_test_rng_bytes(&p->rng, m, 200000);
		for (i = 0; i < 3; i++) {
			assert_int_equal(sg_quic_send(p->c[0], m, 200000), 0);
			pump(p, 1000);
		}
		assert_int_equal(p->got[1], 3);
		assert_int_equal(p->last_len[1], 200000);
		assert_memory_equal(p->last[1], m, 200000);
		if (t == 0) {
			assert_int_equal(sg_quic_path_max_payload(p->c[0]),
					 65487);
			assert_int_equal(p->longest[0], 65487);
		} else {
			assert_int_equal(sg_quic_path_max_payload(p->c[0]),
					 1452);
			assert_int_equal(p->longest[0], 1452);
		}
		assert_false(p->closed[0] || p->closed[1]);
		free(m);
		free_pair(p);
	}
	/* Out-of-range sizes are refused. */
	{
		sg_test_env te;
		sg_identity id;
		uint8_t seed[32] = {1};
		struct sockaddr_in a = {.sin_family = AF_INET};
		int err;
		size_t bad[] = {SG_QUIC_MIN_UDP_PAYLOAD - 1,
				SG_QUIC_MAX_UDP_PAYLOAD + 1};
		sg_test_env_init(&te, 5, -1);
		assert_int_equal(sg_identity_from_seed(&id, seed), 0);
		for (t = 0; t < 2; t++) {
			sg_quic_config_default(&qcfg);
			qcfg.max_udp_payload = bad[t];
			assert_null(sg_quic_client_new(
				&te.env, &qcfg, &id, NULL,
				(struct sockaddr *)&a, sizeof(a),
				(struct sockaddr *)&a, sizeof(a), 1000, &err));
		}
	}
}

/* A server's Initial (its first flight), arriving where no connection
 * exists any more (a late retransmission to a client that has gone), looks
 * like a client's first datagram but does not open under the keys of its
 * connection id: no server connection is made for it. */
static void test_server_initial_starts_nothing(void **state)
{
	pair *p = make_pair(1);
	uint8_t buf[1500];
	long n;
	int err;
	sg_quic_conn *c;
	(void)state;

	while ((n = sg_quic_write(p->c[0], buf, sizeof(buf), p->now)) > 0) {
		if (p->c[1] == NULL)
			p->c[1] = sg_quic_server_new(
				&p->tenv.env, &qcfg, &p->ids[1], buf, (size_t)n,
				(struct sockaddr *)&p->addr[1], sizeof(p->addr[1]),
				(struct sockaddr *)&p->addr[0], sizeof(p->addr[0]),
				p->now, &err);
		else
			sg_quic_read(p->c[1], buf, (size_t)n, p->now);
	}
	assert_non_null(p->c[1]);
	n = sg_quic_write(p->c[1], buf, sizeof(buf), p->now);
	assert_true(n >= 1200);
	assert_int_equal(sg_quic_initial_decode(&(sg_quic_initial){0}, buf,
						(size_t)n), 0);
	c = sg_quic_server_new(&p->tenv.env, &qcfg, &p->ids[0], buf, (size_t)n,
			       (struct sockaddr *)&p->addr[0],
			       sizeof(p->addr[0]),
			       (struct sockaddr *)&p->addr[1],
			       sizeof(p->addr[1]), p->now, &err);
	assert_null(c);
	assert_int_equal(err, SG_ERR_MALFORMED);
	free_pair(p);
}

/* The client follows a Retry (H.9): the handshake completes over the new
 * connection id, the server's transport parameters name both ids, and the
 * Retry's integrity tag is the one H.4 defines. */
static void test_retry(void **state)
{
	pair *p = make_pair(1);
	uint8_t pseudo[1600], tag[16];
	size_t n;
	(void)state;

	p->retry = 1;
	memset(p->token_key, 0x5a, sizeof(p->token_key));
	pump(p, 3000);
	assert_true(p->retries_sent >= 1);
	assert_int_equal(p->tokens_ok, 1);
	assert_non_null(p->c[1]);
	assert_true(p->connected[0] && p->connected[1]);
	assert_true(sg_quic_retried(p->c[0]));
	assert_true(sg_quic_handshake_started(p->c[1]));
	assert_int_equal(sg_quic_send(p->c[0], (const uint8_t *)"hello", 5), 0);
	assert_int_equal(sg_quic_send(p->c[1], (const uint8_t *)"there", 5), 0);
	pump(p, 1000);
	assert_int_equal(p->got[0], 1);
	assert_int_equal(p->got[1], 1);
	assert_memory_equal(p->last[1], "hello", 5);
	/* RFC 9001 section 5.8: ODCID length || ODCID || Retry minus tag. */
	n = p->first_retry_len;
	pseudo[0] = (uint8_t)p->first_odcid_len;
	memcpy(pseudo + 1, p->first_odcid, p->first_odcid_len);
	memcpy(pseudo + 1 + p->first_odcid_len, p->first_retry, n - 16);
	assert_int_equal(sg_handshake_retry_tag(tag, pseudo,
						1 + p->first_odcid_len + n - 16),
			 0);
	assert_memory_equal(tag, p->first_retry + n - 16, 16);
	free_pair(p);
}

/* A Retry whose tag is wrong is ignored (no connection id change); the
 * client keeps waiting for a real answer. */
static void test_retry_forged_tag(void **state)
{
	pair *p = make_pair(1);
	uint8_t buf[1500];
	sg_quic_initial ini;
	long n, r;
	(void)state;

	memset(p->token_key, 1, sizeof(p->token_key));
	n = sg_quic_write(p->c[0], buf, sizeof(buf), p->now);
	assert_true(n > 0);
	assert_int_equal(sg_quic_initial_decode(&ini, buf, (size_t)n), 0);
	assert_int_equal(ini.token_len, 0);
	r = sg_quic_retry_write(p->retries[0], 1500, &p->tenv.env,
				p->token_key, &ini,
				(struct sockaddr *)&p->addr[0], p->now);
	assert_true(r > 16);
	p->retries[0][r - 1] ^= 1;
	assert_int_equal(sg_quic_read(p->c[0], p->retries[0], (size_t)r,
				      p->now), 0);
	assert_false(sg_quic_retried(p->c[0]));
	free_pair(p);
}

/* Tokens bind the key, the client's IP and port, the connection id the
 * Retry chose and the time. */
static void test_retry_tokens(void **state)
{
	pair *p = make_pair(1);
	uint8_t buf[1500], retry[1500], key[SG_QUIC_TOKEN_KEY_LEN];
	uint8_t odcid[SG_QUIC_MAX_CID_LEN], tok[SG_QUIC_RETRY_TOKEN_MAX];
	sg_quic_initial ini, ini2, bad;
	struct sockaddr_in other;
	size_t odcid_len, k;
	long n, r;
	(void)state;

	memset(key, 7, sizeof(key));
	n = sg_quic_write(p->c[0], buf, sizeof(buf), p->now);
	assert_int_equal(sg_quic_initial_decode(&ini, buf, (size_t)n), 0);
	assert_int_equal(sg_quic_initial_decode(&ini, buf, 1199),
			 SG_ERR_MALFORMED);
	assert_int_equal(sg_quic_initial_decode(&ini, buf, (size_t)n), 0);
	r = sg_quic_retry_write(retry, sizeof(retry), &p->tenv.env, key, &ini,
				(struct sockaddr *)&p->addr[0], 5000);
	assert_true(r > 0);
	assert_int_equal(sg_quic_retry_write(retry, 40, &p->tenv.env, key,
					     &ini, (struct sockaddr *)&p->addr[0],
					     5000),
			 SG_ERR_BUFSIZE);
	assert_int_equal(sg_quic_read(p->c[0], retry, (size_t)r, p->now), 0);
	assert_true(sg_quic_retried(p->c[0]));
	while ((n = sg_quic_write(p->c[0], buf, sizeof(buf), p->now)) > 0)
		if (sg_quic_initial_decode(&ini2, buf, (size_t)n) == 0 &&
		    ini2.token_len > 0)
			break;
	assert_true(n > 0);
	assert_true(ini2.token_len <= SG_QUIC_RETRY_TOKEN_MAX);
	/* Good: the original DCID comes back. */
	assert_int_equal(sg_quic_retry_token_check(odcid, &odcid_len, key, &ini2,
						   (struct sockaddr *)&p->addr[0],
						   5000 + 10000, 10000),
			 0);
	assert_int_equal(odcid_len, ini.dcid_len);
	assert_memory_equal(odcid, ini.dcid, odcid_len);
	/* Too late, or from the future. */
	assert_int_equal(sg_quic_retry_token_check(odcid, &odcid_len, key, &ini2,
						   (struct sockaddr *)&p->addr[0],
						   5000 + 10001, 10000),
			 SG_ERR_EXPIRED);
	assert_int_equal(sg_quic_retry_token_check(odcid, &odcid_len, key, &ini2,
						   (struct sockaddr *)&p->addr[0],
						   4999, 10000),
			 SG_ERR_EXPIRED);
	/* Another port, another IP address. */
	other = p->addr[0];
	other.sin_port = htons(7002);
	assert_int_equal(sg_quic_retry_token_check(odcid, &odcid_len, key, &ini2,
						   (struct sockaddr *)&other,
						   5000, 10000),
			 SG_ERR_VERIFY);
	other = p->addr[0];
	other.sin_addr.s_addr = htonl(0x7f000002);
	assert_int_equal(sg_quic_retry_token_check(odcid, &odcid_len, key, &ini2,
						   (struct sockaddr *)&other,
						   5000, 10000),
			 SG_ERR_VERIFY);
	/* Another key; another connection id (the pre-Retry one). */
	key[0] ^= 1;
	assert_int_equal(sg_quic_retry_token_check(odcid, &odcid_len, key, &ini2,
						   (struct sockaddr *)&p->addr[0],
						   5000, 10000),
			 SG_ERR_VERIFY);
	key[0] ^= 1;
	bad = ini2;
	memcpy(bad.dcid, ini.dcid, ini.dcid_len);
	bad.dcid_len = ini.dcid_len;
	assert_int_equal(sg_quic_retry_token_check(odcid, &odcid_len, key, &bad,
						   (struct sockaddr *)&p->addr[0],
						   5000, 10000),
			 SG_ERR_VERIFY);
	/* Every flipped byte and every truncation is refused. */
	bad = ini2;
	bad.token = tok;
	for (k = 0; k < ini2.token_len; k++) {
		memcpy(tok, ini2.token, ini2.token_len);
		tok[k] ^= 0x20;
		assert_true(sg_quic_retry_token_check(
				    odcid, &odcid_len, key, &bad,
				    (struct sockaddr *)&p->addr[0], 5000,
				    10000) < 0);
	}
	memcpy(tok, ini2.token, ini2.token_len);
	for (k = 0; k < ini2.token_len; k++) {
		bad.token_len = k;
		assert_true(sg_quic_retry_token_check(
				    odcid, &odcid_len, key, &bad,
				    (struct sockaddr *)&p->addr[0], 5000,
				    10000) < 0);
	}
	free_pair(p);
}

/* RFC 9001 section 6: repeated key updates, started by either side, on a
 * long-lived connection; messages keep arriving in both directions, also
 * ones in flight while the keys change. */
static void test_key_update(void **state)
{
	pair *p = make_pair(1);
	uint8_t m[3000];
	int round, k;
	(void)state;

	pump(p, 2000);
	assert_true(p->connected[0] && p->connected[1]);
	assert_int_equal(sg_quic_key_generations(p->c[0]), 1);
	assert_int_equal(sg_quic_key_generations(p->c[1]), 1);
	for (round = 0; round < 6; round++) {
		int side = round % 2;
		size_t got0 = p->got[0], got1 = p->got[1];
		for (k = 0; k < 3; k++) { /* queued before the update */
			memset(m, round * 3 + k, sizeof(m));
			assert_int_equal(sg_quic_send(p->c[k % 2], m, sizeof(m)),
					 0);
		}
		assert_int_equal(sg_quic_update_keys(p->c[side], p->now), 0);
		/* Not again before the peer has confirmed this one. */
		assert_int_equal(sg_quic_update_keys(p->c[side], p->now),
				 SG_ERR_STATE);
		for (k = 0; k < 3; k++) { /* and after it */
			memset(m, 0x80 + round * 3 + k, sizeof(m));
			assert_int_equal(
				sg_quic_send(p->c[(k + 1) % 2], m, sizeof(m)),
				0);
		}
		pump(p, 3000);
		assert_int_equal(p->got[0] + p->got[1], got0 + got1 + 6);
		assert_int_equal(p->last_len[0], sizeof(m));
		/* ngtcp2 keeps the old keys for 3 PTO after the update is
		 * confirmed, then derives the next generation ahead. */
		pump(p, 5000);
		assert_int_equal(sg_quic_key_generations(p->c[0]),
				 (uint64_t)round + 2);
		assert_int_equal(sg_quic_key_generations(p->c[1]),
				 (uint64_t)round + 2);
	}
	assert_false(p->closed[0] || p->closed[1]);
	free_pair(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_and_messages),
		cmocka_unit_test(test_wrong_peer_refused),
		cmocka_unit_test(test_loss_and_corruption),
		cmocka_unit_test(test_full_messages_in_order),
		cmocka_unit_test(test_server_initial_starts_nothing),
		cmocka_unit_test(test_initial_flight_three_datagrams),
		cmocka_unit_test(test_path_mtu),
		cmocka_unit_test(test_retry),
		cmocka_unit_test(test_retry_forged_tag),
		cmocka_unit_test(test_retry_tokens),
		cmocka_unit_test(test_key_update),
		cmocka_unit_test(test_time_never_goes_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
