/*
 * Three nodes (sg_node) in one process over real UDP sockets and control
 * sockets on loopback: a coordinator, a node with a pinned contact and one
 * with an unpinned contact (its PeerId then pinned in the peer cache).
 * Messages flow both ways; garbage datagrams and garbage on the control
 * socket are refused and counted while the nodes keep working; a node
 * leaves politely; a node restarted without any contact rejoins from its
 * peer cache.
 */
#define _DEFAULT_SOURCE
#include "testutil.h"
#include "nodefix.h"
#include "sg/cbor.h"
#include "sg/control.h"
#include "sg/err.h"
#include "sg/node.h"
#include "sg/peercache.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

typedef struct box {
	int got[64];
	size_t count;
	int left;
} box;

static nodefix F;

static void on_deliver(void *ud, const sg_topic_id *topic,
		       const sg_msg_view *msg, uint32_t hops)
{
	box *b = ud;
	(void)topic;
	(void)hops;
	if (msg->payload_len == 1 && msg->payload[0] < 64)
		b->got[msg->payload[0]]++;
	b->count++;
}

static int has_neighbour(void *ud)
{
	sg_node_stats st;
	sg_node_stats_get(ud, &st);
	return st.core.active >= 1;
}

static int both_neighbours(void *ud)
{
	sg_node **n = ud;
	return has_neighbour(n[0]) && has_neighbour(n[1]) &&
	       has_neighbour(n[2]);
}

static int got_msg(void *ud)
{
	box *b = ud;
	return b->got[b->left] > 0;
}

static int ctl_connect(int i)
{
	struct sockaddr_un su;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	snprintf(su.sun_path, sizeof(su.sun_path), "%s/n%d/%s", F.root, i,
		 SG_CTL_SOCKET_NAME);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&su, sizeof(su)), 0);
	return fd;
}

/* Reads one control message (after running the loop so the node answers). */
static size_t ctl_read(int fd, uint8_t *buf, size_t cap)
{
	uint8_t hdr[4];
	size_t n, got = 0;
	int tries;

	for (tries = 0; tries < 200; tries++) {
		ssize_t k;
		uv_run(&F.loop, UV_RUN_NOWAIT);
		k = recv(fd, hdr + got, 4 - got, MSG_DONTWAIT);
		if (k == 0)
			return 0; /* closed */
		if (k > 0)
			got += (size_t)k;
		if (got == 4)
			break;
		usleep(5000);
	}
	assert_int_equal(got, 4);
	n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 |
	    hdr[3];
	assert_true(n <= cap);
	got = 0;
	for (tries = 0; tries < 200 && got < n; tries++) {
		ssize_t k;
		uv_run(&F.loop, UV_RUN_NOWAIT);
		k = recv(fd, buf + got, n - got, MSG_DONTWAIT);
		if (k > 0)
			got += (size_t)k;
		else
			usleep(5000);
	}
	assert_int_equal(got, n);
	return n;
}

static void ctl_write(int fd, const uint8_t *body, size_t len, uint32_t hdrlen)
{
	uint8_t hdr[4] = {(uint8_t)(hdrlen >> 24), (uint8_t)(hdrlen >> 16),
			  (uint8_t)(hdrlen >> 8), (uint8_t)hdrlen};
	assert_int_equal(write(fd, hdr, 4), 4);
	if (len > 0)
		assert_int_equal(write(fd, body, len), (ssize_t)len);
}

static int adverts;

static void count_advert(void *ud, const sg_peer_id *id, const uint8_t *a,
			 size_t len)
{
	(void)id;
	(void)a;
	assert_true(len > 0);
	(*(int *)ud)++;
}

static void on_left(void *ud)
{
	*(int *)ud = 1;
}

static int flag_set(void *ud)
{
	return *(int *)ud;
}

static void test_nodes(void **state)
{
	sg_node *n[3];
	box bc, bb;
	char a_addr[80], pinned[200];
	const char *cb[1], *cc[1];
	int i, k, fd, left = 0;
	uint8_t buf[4096];
	size_t len;
	sg_node_stats st, st2;
	(void)state;

	memset(&bc, 0, sizeof(bc));
	memset(&bb, 0, sizeof(bb));
	n[0] = nodefix_start(&F, 0, NULL, 0,
			     SG_ROLE_COORDINATOR | SG_ROLE_REFLECTOR);
	nodefix_addr(&F, 0, a_addr, sizeof(a_addr));
	nodefix_contact(&F, 0, pinned, sizeof(pinned));
	cb[0] = pinned;
	cc[0] = a_addr;
	n[1] = nodefix_start(&F, 1, cb, 1, 0);
	n[2] = nodefix_start(&F, 2, cc, 1, 0);
	sg_node_set_deliver_cb(n[1], on_deliver, &bb);
	sg_node_set_deliver_cb(n[2], on_deliver, &bc);
	assert_true(nodefix_run_until(&F, both_neighbours, n, 20000));

	/* B and C on a topic; messages both ways. */
	assert_int_equal(sg_node_subscribe(n[1], "t", 1), 0);
	assert_int_equal(sg_node_subscribe(n[2], "t", 1), 0);
	assert_int_equal(sg_node_subscribe(n[2], "t", 1), SG_ERR_EXISTS);
	uv_run(&F.loop, UV_RUN_NOWAIT);
	{
		uint8_t m = 1;
		/* the swarm forms within a few hundred ms; retry until it
		 * carries the message */
		for (k = 0; k < 20 && bc.got[1] == 0; k++) {
			bc.left = 1;
			m = (uint8_t)(1 + k);
			bc.left = m;
			assert_int_equal(sg_node_publish(n[1], "t", 1, &m, 1,
							 NULL),
					 0);
			nodefix_run_until(&F, got_msg, &bc, 500);
			if (bc.got[m] > 0)
				break;
		}
		if (bc.count == 0)
			for (i = 0; i < 3; i++) {
				sg_node_stats s1;
				sg_plumtree_stats ps;
				sg_topic_id tt;
				sg_node_stats_get(n[i], &s1);
				sg_topic_id_from_name(&tt, "t", 1);
				memset(&ps, 0, sizeof(ps));
				fprintf(stderr,
					"node %d active %zu topics %zu notopic "
					"%llu topics_rx %llu q %llu\n",
					i, s1.core.active, s1.core.topics,
					(unsigned long long)s1.core.rx_no_topic,
					(unsigned long long)s1.core.topics_rx,
					(unsigned long long)s1.core.queries_sent);
			}
		assert_true(bc.count >= 1);
		m = 40;
		bb.left = 40;
		assert_int_equal(sg_node_publish(n[2], "t", 1, &m, 1, NULL), 0);
		assert_true(nodefix_run_until(&F, got_msg, &bb, 5000));
	}

	/* Garbage datagrams at the coordinator's port. */
	sg_node_stats_get(n[0], &st);
	{
		struct sockaddr_storage sa;
		sg_test_rng r;
		int u = socket(AF_INET, SOCK_DGRAM, 0);
		sg_node_local_addr(n[0], &sa);
		sg_test_rng_seed(&r, 5);
		for (k = 0; k < 200; k++) {
			uint8_t d[1300];
			size_t dl = 1 + sg_test_rng_u64(&r) % sizeof(d);
			sg_test_rng_bytes(&r, d, dl);
			if (k % 2 == 0)
				d[0] = 0xc0; /* looks like a long header */
			sendto(u, d, dl, 0, (struct sockaddr *)&sa,
			       sizeof(struct sockaddr_in));
		}
		close(u);
	}
	for (k = 0; k < 20; k++)
		uv_run(&F.loop, UV_RUN_NOWAIT);
	usleep(50000);
	for (k = 0; k < 20; k++)
		uv_run(&F.loop, UV_RUN_NOWAIT);
	sg_node_stats_get(n[0], &st2);
	assert_true(st2.ep.dropped_in > st.ep.dropped_in);

	/* Garbage on the control socket: bad CBOR and an unknown op get an
	 * error answer; an oversized length closes the connection. */
	fd = ctl_connect(2);
	{
		const uint8_t bad[3] = {0xff, 0x00, 0x13};
		const uint8_t unknown[3] = {0x81, 0x18, 0x63}; /* op 99 */
		const uint8_t status[2] = {0x81, 0x01};
		sg_cbor_dec d;
		size_t count;
		int64_t code;
		ctl_write(fd, bad, sizeof(bad), sizeof(bad));
		len = ctl_read(fd, buf, sizeof(buf));
		sg_cbor_dec_init(&d, buf, len);
		assert_int_equal(sg_cbor_get_array(&d, &count), 0);
		assert_int_equal(sg_cbor_get_int(&d, &code), 0);
		assert_true(code < 0);
		ctl_write(fd, unknown, sizeof(unknown), sizeof(unknown));
		len = ctl_read(fd, buf, sizeof(buf));
		sg_cbor_dec_init(&d, buf, len);
		assert_int_equal(sg_cbor_get_array(&d, &count), 0);
		assert_int_equal(sg_cbor_get_int(&d, &code), 0);
		assert_int_equal(code, SG_ERR_UNSUPPORTED);
		/* still serving */
		ctl_write(fd, status, sizeof(status), sizeof(status));
		len = ctl_read(fd, buf, sizeof(buf));
		sg_cbor_dec_init(&d, buf, len);
		assert_int_equal(sg_cbor_get_array(&d, &count), 0);
		assert_int_equal(count, 12);
		assert_int_equal(sg_cbor_get_int(&d, &code), 0);
		assert_int_equal(code, 0);
		ctl_write(fd, NULL, 0, 0xffffffffu);
		len = ctl_read(fd, buf, sizeof(buf)); /* the error, then EOF */
		assert_true(len > 0);
		assert_int_equal(ctl_read(fd, buf, sizeof(buf)), 0);
	}
	close(fd);
	sg_node_stats_get(n[2], &st);
	assert_true(st.ctl_rejected >= 3);

	/* C pinned the unpinned coordinator in its peer cache. */
	{
		char path[128];
		sg_peercache *pc;
		sg_peercache_entry e;
		int err;
		snprintf(path, sizeof(path), "%s/n2/peers.db", F.root);
		pc = sg_peercache_open(&F.env, path, 1024, &err);
		assert_non_null(pc);
		assert_int_equal(sg_peercache_get(pc, &F.ids[0].id, &e), 0);
		assert_true(e.flags & SG_PEER_PINNED);
		/* the coordinator's advert was verified and stored, and the
		 * coordinator marked as one */
		assert_true(e.flags & SG_PEER_COORDINATOR);
		adverts = 0;
		assert_int_equal(sg_peercache_each_advert(pc, 0, count_advert,
							  &adverts),
				 0);
		assert_int_equal(adverts, 1);
		sg_peercache_close(pc);
	}

	/* C leaves politely, then restarts with no contact at all: its
	 * peer cache brings it back. */
	sg_node_leave(n[2], on_left, &left);
	assert_true(nodefix_run_until(&F, flag_set, &left, 5000));
	sg_node_del(n[2]);
	uv_run(&F.loop, UV_RUN_NOWAIT);
	n[2] = nodefix_start(&F, 2, NULL, 0, 0);
	assert_true(nodefix_run_until(&F, has_neighbour, n[2], 20000));

	for (i = 0; i < 3; i++)
		sg_node_del(n[i]);
	uv_run(&F.loop, UV_RUN_DEFAULT);
}

static void test_bad_config(void **state)
{
	sg_node_config cfg;
	const char *bad[1] = {"not-an-address"};
	int err;
	char dir[128];
	(void)state;

	snprintf(dir, sizeof(dir), "%s/bad", F.root);
	sg_node_config_default(&cfg);
	cfg.data_dir = dir;
	cfg.bind = "127.0.0.1:99999";
	assert_null(sg_node_new(&F.loop, &F.env, &cfg, &F.ids[0], &err));
	assert_int_equal(err, SG_ERR_INVAL);
	cfg.bind = "127.0.0.1:0";
	cfg.contacts = bad;
	cfg.n_contacts = 1;
	assert_null(sg_node_new(&F.loop, &F.env, &cfg, &F.ids[0], &err));
	assert_int_equal(err, SG_ERR_INVAL);
	uv_run(&F.loop, UV_RUN_DEFAULT);
	{
		struct sockaddr_storage sa;
		char out[80];
		assert_int_equal(sg_node_parse_addr("[::1]:7000", &sa), 0);
		sg_node_format_addr((struct sockaddr *)&sa, out, sizeof(out));
		assert_string_equal(out, "[::1]:7000");
		assert_int_equal(sg_node_parse_addr("1.2.3.4:-1", &sa),
				 SG_ERR_INVAL);
		assert_int_equal(sg_node_parse_addr("1.2.3.4", &sa),
				 SG_ERR_INVAL);
		assert_int_equal(sg_node_parse_addr("[::1]7000", &sa),
				 SG_ERR_INVAL);
	}
}

static int setup(void **state)
{
	(void)state;
	return nodefix_init(&F, "node-test", 3, 0x30);
}

static int teardown(void **state)
{
	(void)state;
	return nodefix_fini(&F);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_nodes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
