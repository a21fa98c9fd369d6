/*
 * QUIC with the PQ handshake, two connections in memory exchanging
 * datagrams: the handshake completes and each side learns the other's
 * PeerId; messages of many sizes (up to the maximum) cross both ways,
 * whole and in order of completion; an over-long message is refused at
 * send time; a wrong expected PeerId closes the connection; corrupted
 * datagrams are dropped without harm; lost datagrams are recovered.
 */
#include "testutil.h"
#include "sg/err.h"
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
	uint8_t *last[2];
	size_t last_len[2];
	sg_test_rng rng;
	int drop_every; /* drop every n-th datagram (0: none) */
	int corrupt_every;
	unsigned long sent;
} pair;

static void drain_events(pair *p, int i)
{
	sg_quic_event ev;
	while (sg_quic_poll_event(p->c[i], &ev)) {
		if (ev.type == SG_QUIC_CONNECTED) {
			p->connected[i] = 1;
			p->peer[i] = ev.peer;
		} else if (ev.type == SG_QUIC_MESSAGE) {
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
	static uint8_t buf[1500];
	uint64_t end = p->now + ms;
	int i, moved;

	for (;;) {
		moved = 0;
		for (i = 0; i < 2; i++) {
			long n;
			if (p->c[i] == NULL)
				continue;
			while ((n = sg_quic_write(p->c[i], buf, sizeof(buf),
						  p->now)) > 0) {
				moved = 1;
				p->sent++;
				if (p->drop_every &&
				    p->sent % (unsigned long)p->drop_every == 0)
					continue;
				if (p->corrupt_every &&
				    p->sent % (unsigned long)p->corrupt_every == 0)
					buf[sg_test_rng_u64(&p->rng) % (uint64_t)n] ^= 0x55;
				if (p->c[1 - i] == NULL) {
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

static pair *make_pair(int expect_right)
{
	pair *p = calloc(1, sizeof(*p));
	uint8_t seed[32];
	int err, i;
	sg_peer_id wrong;

	sg_quic_config_default(&qcfg);
	qcfg.max_message = 256 * 1024;
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_and_messages),
		cmocka_unit_test(test_wrong_peer_refused),
		cmocka_unit_test(test_loss_and_corruption),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
