/*
 * The embedding API (include/sg/app.h) with real nodes on loopback, in one
 * process: two apps exchange messages through the thread API both ways
 * (queue and callback, a callback that publishes from the node thread,
 * four threads publishing at once, the pollable fd); the queue's count and
 * byte bounds drop the oldest and count it; neighbour events; errors (bad
 * config, bad bind, port taken, subscribe twice, publish too large, calls
 * before start and after stop, a keystore alias); an app on the caller's
 * own loop; and clean stops (a blocked poller is woken, queued and taken
 * events outlive the stop and the app).
 */
#include "testutil.h"
#include "sg/app.h"
#include "sg/err.h"
#include "sg/keystore.h"

#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#define WAIT_MS 20000

static uint64_t ms_now(void)
{
	return uv_hrtime() / 1000000u;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {(time_t)(ms / 1000),
			      (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* An app on 127.0.0.1, optionally joining `contact` ("PEERID@ADDR"). */
static sg_app *app_on_loopback(const char *contact, sg_app_config *over)
{
	sg_app_config cfg;
	const char *contacts[1];
	sg_app *a;
	int err;

	if (over != NULL)
		cfg = *over;
	else
		sg_app_config_default(&cfg);
	cfg.bind = "127.0.0.1:0";
	if (contact != NULL) {
		contacts[0] = contact;
		cfg.coordinators = contacts;
		cfg.n_coordinators = 1;
	}
	a = sg_app_new(&cfg, &err);
	assert_non_null(a);
	assert_int_equal(err, 0);
	assert_int_equal(sg_app_start(a, NULL), 0);
	return a;
}

/* "PEERID@ADDR" of a. */
static void contact_of(sg_app *a, char *out, size_t cap)
{
	char hex[SG_PEER_ID_HEX_LEN], addr[SG_APP_ADDR_LEN];

	sg_peer_id_hex(hex, sg_app_id(a));
	assert_int_equal(sg_app_local_addr(a, addr, sizeof(addr)), 0);
	snprintf(out, cap, "%s@%s", hex, addr);
}

static void wait_neighbours(sg_app *a, sg_app *b)
{
	uint64_t end = ms_now() + WAIT_MS;
	sg_app_peer p[4];

	while (ms_now() < end) {
		if (sg_app_peers(a, p, 4) >= 1 && sg_app_peers(b, p, 4) >= 1)
			return;
		sleep_ms(20);
	}
	fail_msg("no neighbours within %d ms", WAIT_MS);
}

static int is_warm(const sg_app_event *ev)
{
	size_t n;
	const uint8_t *p = sg_app_event_payload(ev, &n);
	return n >= 4 && memcmp(p, "warm", 4) == 0;
}

/* Publishes "warm" messages from `from` until `to` has one in its queue
 * (the topic's swarm has formed); drains them. */
static void warm_up(sg_app *from, sg_app *to, const char *topic)
{
	uint64_t end = ms_now() + WAIT_MS;
	sg_app_event *ev;

	while (ms_now() < end) {
		assert_int_equal(sg_app_publish(from, topic,
						(const uint8_t *)"warm", 4,
						NULL),
				 0);
		if (sg_app_poll(to, &ev, 200) == 0) {
			int warm = is_warm(ev);
			sg_app_event_free(ev);
			if (warm)
				return;
		}
	}
	fail_msg("topic %s: nothing arrived within %d ms", topic, WAIT_MS);
}

/* Polls until n messages (not warm-ups) arrived; returns them. */
static void collect(sg_app *a, sg_app_event **evs, size_t n)
{
	uint64_t end = ms_now() + WAIT_MS;
	size_t got = 0;

	while (got < n && ms_now() < end) {
		sg_app_event *ev;
		if (sg_app_poll(a, &ev, 200) != 0)
			continue;
		if (sg_app_event_kind(ev) != SG_APP_MESSAGE || is_warm(ev)) {
			sg_app_event_free(ev);
			continue;
		}
		evs[got++] = ev;
	}
	if (got < n)
		fail_msg("%zu of %zu messages within %d ms", got, n, WAIT_MS);
}

static int fd_readable(sg_app *a)
{
	struct pollfd p = {sg_app_fd(a), POLLIN, 0};
	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* ---- exchange ------------------------------------------------------------ */

typedef struct cbstate {
	sg_app *self;
	uv_mutex_t mu;
	int calls;
	int reply_rc;
	char last[64];
} cbstate;

/* On B's node thread: counts, remembers, and answers on "pong" by
 * publishing from inside the callback. */
static void on_ping(void *ud, const sg_app_event *ev)
{
	cbstate *s = ud;
	size_t n, tl;
	const uint8_t *p = sg_app_event_payload(ev, &n);
	const char *t = sg_app_event_topic(ev, &tl);
	int rc;

	assert_int_equal(sg_app_event_kind(ev), SG_APP_MESSAGE);
	assert_string_equal(t, "ping");
	assert_int_equal(tl, 4);
	if (n >= 4 && memcmp(p, "warm", 4) == 0)
		return;
	rc = sg_app_publish(s->self, "pong", p, n, NULL);
	uv_mutex_lock(&s->mu);
	s->calls++;
	s->reply_rc = rc;
	snprintf(s->last, sizeof(s->last), "%.*s", (int)n, (const char *)p);
	uv_mutex_unlock(&s->mu);
}

typedef struct pubthread {
	sg_app *app;
	int index;
	int fails;
} pubthread;

static void publisher(void *arg)
{
	pubthread *t = arg;
	int i;
	char m[32];

	for (i = 0; i < 10; i++) {
		int len = snprintf(m, sizeof(m), "t%d-%d", t->index, i);
		if (sg_app_publish(t->app, "chat", (const uint8_t *)m,
				   (size_t)len, NULL) != 0)
			t->fails++;
	}
}

static void test_exchange(void **state)
{
	sg_app *a, *b;
	char contact[200];
	sg_app_event *evs[40];
	uint8_t id[32];
	cbstate cs;
	pubthread pt[4];
	uv_thread_t th[4];
	int seen[40];
	size_t i;
	sg_app_stats st;
	(void)state;

	a = app_on_loopback(NULL, NULL);
	contact_of(a, contact, sizeof(contact));
	b = app_on_loopback(contact, NULL);
	assert_false(sg_peer_id_equal(sg_app_id(a), sg_app_id(b)));
	assert_int_equal(sg_app_subscribe(a, "chat", NULL, NULL), 0);
	assert_int_equal(sg_app_subscribe(b, "chat", NULL, NULL), 0);
	wait_neighbours(a, b);

	/* A to B, through the queue; the fd follows the queue. */
	warm_up(a, b, "chat");
	while (sg_app_poll(b, &evs[0], 300) == 0)
		sg_app_event_free(evs[0]); /* late warm-ups */
	assert_false(fd_readable(b));
	assert_int_equal(
	    sg_app_publish(a, "chat", (const uint8_t *)"hello b", 7, id), 0);
	collect(b, evs, 1);
	{
		size_t pl, tl;
		const uint8_t *p = sg_app_event_payload(evs[0], &pl);
		const char *t = sg_app_event_topic(evs[0], &tl);
		assert_int_equal(pl, 7);
		assert_memory_equal(p, "hello b", 7);
		assert_string_equal(t, "chat");
		assert_true(
		    sg_peer_id_equal(sg_app_event_peer(evs[0]), sg_app_id(a)));
		assert_memory_equal(sg_app_event_msg_id(evs[0]), id, 32);
		assert_true(sg_app_event_hops(evs[0]) >= 1);
		assert_true(sg_app_event_seq(evs[0]) > 0);
		assert_true(sg_app_event_publish_ms(evs[0]) > 1700000000000ull);
		assert_string_equal(sg_app_event_addr(evs[0]), "");
		sg_app_event_free(evs[0]);
	}
	/* the fd: readable while something is queued */
	assert_int_equal(
	    sg_app_publish(a, "chat", (const uint8_t *)"fd", 2, NULL), 0);
	{
		uint64_t end = ms_now() + WAIT_MS;
		while (!fd_readable(b) && ms_now() < end)
			sleep_ms(10);
		assert_true(fd_readable(b));
		collect(b, evs, 1);
		sg_app_event_free(evs[0]);
		assert_false(fd_readable(b));
	}

	/* B to A. A never gets its own messages. */
	warm_up(b, a, "chat");
	assert_int_equal(
	    sg_app_publish(b, "chat", (const uint8_t *)"hello a", 7, NULL), 0);
	collect(a, evs, 1);
	assert_true(sg_peer_id_equal(sg_app_event_peer(evs[0]), sg_app_id(b)));
	sg_app_event_free(evs[0]);

	/* Four threads of A publish at once; B gets all 40. */
	for (i = 0; i < 4; i++) {
		pt[i].app = a;
		pt[i].index = (int)i;
		pt[i].fails = 0;
		assert_int_equal(uv_thread_create(&th[i], publisher, &pt[i]),
				 0);
	}
	for (i = 0; i < 4; i++) {
		uv_thread_join(&th[i]);
		assert_int_equal(pt[i].fails, 0);
	}
	collect(b, evs, 40);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < 40; i++) {
		size_t pl;
		const char *p = (const char *)sg_app_event_payload(evs[i], &pl);
		int t, k;
		char buf[32];
		assert_true(pl < sizeof(buf));
		memcpy(buf, p, pl);
		buf[pl] = '\0';
		assert_int_equal(sscanf(buf, "t%d-%d", &t, &k), 2);
		assert_true(t >= 0 && t < 4 && k >= 0 && k < 10);
		seen[t * 10 + k]++;
		assert_true(
		    sg_peer_id_equal(sg_app_event_peer(evs[i]), sg_app_id(a)));
		sg_app_event_free(evs[i]);
	}
	for (i = 0; i < 40; i++)
		assert_int_equal(seen[i], 1);

	/* Callback mode on B; its callback publishes back from the node
	 * thread, A reads the answers from its queue. */
	memset(&cs, 0, sizeof(cs));
	cs.self = b;
	assert_int_equal(uv_mutex_init(&cs.mu), 0);
	assert_int_equal(sg_app_subscribe(b, "ping", on_ping, &cs), 0);
	assert_int_equal(sg_app_subscribe(a, "pong", NULL, NULL), 0);
	{
		uint64_t end = ms_now() + WAIT_MS;
		int calls = 0;
		while (calls == 0 && ms_now() < end) {
			assert_int_equal(
			    sg_app_publish(a, "ping", (const uint8_t *)"ping!",
					   5, NULL),
			    0);
			sleep_ms(200);
			uv_mutex_lock(&cs.mu);
			calls = cs.calls;
			uv_mutex_unlock(&cs.mu);
		}
		assert_true(calls > 0);
	}
	uv_mutex_lock(&cs.mu);
	assert_int_equal(cs.reply_rc, 0);
	assert_string_equal(cs.last, "ping!");
	uv_mutex_unlock(&cs.mu);
	/* A's pong swarm may need a moment: the callback keeps answering. */
	{
		uint64_t end = ms_now() + WAIT_MS;
		int got = 0;
		while (!got && ms_now() < end) {
			sg_app_event *ev;
			if (sg_app_poll(a, &ev, 200) == 0) {
				size_t tl;
				const char *t = sg_app_event_topic(ev, &tl);
				got = t != NULL && strcmp(t, "pong") == 0;
				sg_app_event_free(ev);
			} else {
				sg_app_publish(a, "ping",
					       (const uint8_t *)"ping!", 5,
					       NULL);
			}
		}
		assert_true(got);
	}

	st.size = sizeof(st);
	assert_int_equal(sg_app_stats_get(b, &st), 0);
	assert_true(st.delivered >= 43);
	assert_true(st.published >= 1);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.nomem, 0);
	/* A published on ping without subscribing: it was never handed
	 * its own messages, nor anything of ping. */
	assert_int_equal(sg_app_stats_get(a, &st), 0);
	assert_int_equal(st.dropped, 0);
	sg_app_del(b);
	sg_app_del(a);
	uv_mutex_destroy(&cs.mu);
}

/* ---- queue bounds ---------------------------------------------------- */

static void wait_delivered(sg_app *a, uint64_t want)
{
	uint64_t end = ms_now() + WAIT_MS;
	sg_app_stats st;

	st.size = sizeof(st);
	while (ms_now() < end) {
		assert_int_equal(sg_app_stats_get(a, &st), 0);
		if (st.delivered >= want)
			return;
		sleep_ms(20);
	}
	fail_msg("delivered %llu of %llu", (unsigned long long)st.delivered,
		 (unsigned long long)want);
}

static void test_queue_bound(void **state)
{
	sg_app_config cfg;
	sg_app *a, *b;
	char contact[200];
	sg_app_stats st;
	sg_app_event *ev;
	uint8_t big[150];
	uint64_t base, dropped0;
	int i;
	(void)state;

	a = app_on_loopback(NULL, NULL);
	contact_of(a, contact, sizeof(contact));
	sg_app_config_default(&cfg);
	cfg.max_queued = 4;
	cfg.max_queued_bytes = 100;
	b = app_on_loopback(contact, &cfg);
	assert_int_equal(sg_app_subscribe(b, "q", NULL, NULL), 0);
	wait_neighbours(a, b);
	warm_up(a, b, "q");
	sleep_ms(500);
	while (sg_app_poll(b, &ev, 0) == 0)
		sg_app_event_free(ev);
	st.size = sizeof(st);
	assert_int_equal(sg_app_stats_get(b, &st), 0);
	base = st.delivered;
	dropped0 = st.dropped;

	/* Count bound: 10 small messages, 4 kept, 6 dropped. */
	for (i = 0; i < 10; i++) {
		char m[8];
		int len = snprintf(m, sizeof(m), "m%d", i);
		assert_int_equal(sg_app_publish(a, "q", (const uint8_t *)m,
						(size_t)len, NULL),
				 0);
	}
	wait_delivered(b, base + 10);
	assert_int_equal(sg_app_stats_get(b, &st), 0);
	assert_int_equal(st.queued, 4);
	assert_int_equal(st.dropped - dropped0, 6);
	assert_true(fd_readable(b));
	for (i = 0; i < 4; i++) {
		size_t n;
		assert_int_equal(sg_app_poll(b, &ev, 0), 0);
		assert_non_null(sg_app_event_payload(ev, &n));
		assert_true(n == 2);
		sg_app_event_free(ev);
	}
	assert_int_equal(sg_app_poll(b, &ev, 0), SG_ERR_AGAIN);
	assert_null(ev);
	assert_false(fd_readable(b));

	/* Byte bound: 40-byte messages, 100 bytes: 2 kept. */
	memset(big, 'x', sizeof(big));
	for (i = 0; i < 5; i++)
		assert_int_equal(sg_app_publish(a, "q", big, 40, NULL), 0);
	wait_delivered(b, base + 15);
	assert_int_equal(sg_app_stats_get(b, &st), 0);
	assert_int_equal(st.queued, 2);
	assert_int_equal(st.queued_bytes, 80);
	assert_int_equal(st.dropped - dropped0, 9);
	/* One larger than the whole bound is kept, alone. */
	assert_int_equal(sg_app_publish(a, "q", big, sizeof(big), NULL), 0);
	wait_delivered(b, base + 16);
	assert_int_equal(sg_app_stats_get(b, &st), 0);
	assert_int_equal(st.queued, 1);
	assert_int_equal(st.queued_bytes, sizeof(big));
	assert_int_equal(st.dropped - dropped0, 11);
	/* A stats struct from an "older program" gets only its part. */
	{
		struct {
			sg_app_stats s;
			uint8_t canary[8];
		} small;
		memset(&small, 0xa5, sizeof(small));
		small.s.size = offsetof(sg_app_stats, ignored);
		assert_int_equal(sg_app_stats_get(b, &small.s), 0);
		assert_true(small.s.delivered >= base + 16);
		assert_int_equal(((uint8_t *)&small.s.ignored)[0], 0xa5);
		small.s.size = 1;
		assert_int_equal(sg_app_stats_get(b, &small.s), SG_ERR_INVAL);
	}
	sg_app_del(b);
	sg_app_del(a);
}

/* ---- errors ---------------------------------------------------------- */

static void test_errors(void **state)
{
	sg_app_config cfg;
	sg_app *a, *b;
	sg_app_event *ev;
	int err;
	char addr[SG_APP_ADDR_LEN], big_topic[300];
	uint8_t *big;
	const char *bad_contact[] = {"not-an-address"};
	(void)state;

	/* configs */
	assert_null(sg_app_new(NULL, &err));
	assert_int_equal(err, SG_ERR_INVAL);
	sg_app_config_default(&cfg);
	cfg.bind = "localhost:7000";
	assert_null(sg_app_new(&cfg, &err));
	assert_int_equal(err, SG_ERR_INVAL);
	cfg.bind = "127.0.0.1:70000";
	assert_null(sg_app_new(&cfg, &err));
	assert_int_equal(err, SG_ERR_INVAL);
	sg_app_config_default(&cfg);
	cfg.coordinators = bad_contact;
	cfg.n_coordinators = 1;
	assert_null(sg_app_new(&cfg, &err));
	assert_int_equal(err, SG_ERR_INVAL);
	sg_app_config_default(&cfg);
	cfg.max_queued = 0;
	assert_null(sg_app_new(&cfg, NULL));
	sg_app_config_default(&cfg);
	cfg.size = sizeof(cfg) + 8;
	assert_null(sg_app_new(&cfg, &err));
	assert_int_equal(err, SG_ERR_INVAL);
	/* An older, shorter config: the rest takes the defaults. */
	sg_app_config_default(&cfg);
	cfg.bind = "127.0.0.1:0";
	cfg.size = offsetof(sg_app_config, data_dir);
	cfg.max_queued = 0; /* past its size: ignored */
	a = sg_app_new(&cfg, &err);
	assert_non_null(a);
	sg_app_del(a);

	/* before start */
	sg_app_config_default(&cfg);
	cfg.bind = "127.0.0.1:0";
	a = sg_app_new(&cfg, &err);
	assert_non_null(a);
	assert_int_equal(sg_app_subscribe(a, "t", NULL, NULL), SG_ERR_STATE);
	assert_int_equal(sg_app_publish(a, "t", NULL, 0, NULL), SG_ERR_STATE);
	assert_int_equal(sg_app_poll(a, &ev, 0), SG_ERR_STATE);
	assert_int_equal(sg_app_local_addr(a, addr, sizeof(addr)),
			 SG_ERR_STATE);
	assert_int_equal(sg_app_peers(a, NULL, 0), SG_ERR_STATE);
	assert_true(sg_app_fd(a) >= 0);
	assert_int_equal(sg_app_start(a, NULL), 0);
	assert_int_equal(sg_app_start(a, NULL), SG_ERR_STATE);
	assert_int_equal(sg_app_local_addr(a, addr, 4), SG_ERR_BUFSIZE);
	assert_int_equal(sg_app_local_addr(a, addr, sizeof(addr)), 0);
	assert_int_equal(strncmp(addr, "127.0.0.1:", 10), 0);

	/* the port is taken */
	sg_app_config_default(&cfg);
	cfg.bind = addr;
	b = sg_app_new(&cfg, &err);
	assert_non_null(b);
	assert_int_equal(sg_app_start(b, NULL), SG_ERR_IO);
	assert_int_equal(sg_app_subscribe(b, "t", NULL, NULL), SG_ERR_CLOSED);
	assert_int_equal(sg_app_poll(b, &ev, 100), SG_ERR_CLOSED);
	assert_int_equal(sg_app_stop(b), 0);
	sg_app_del(b);

	/* topics and payloads */
	assert_int_equal(sg_app_subscribe(a, "t", NULL, NULL), 0);
	assert_int_equal(sg_app_subscribe(a, "t", NULL, NULL), SG_ERR_EXISTS);
	assert_int_equal(sg_app_unsubscribe(a, "t"), 0);
	assert_int_equal(sg_app_unsubscribe(a, "t"), SG_ERR_NOTFOUND);
	assert_int_equal(sg_app_subscribe(a, "t", NULL, NULL), 0);
	assert_int_equal(sg_app_subscribe(a, "", NULL, NULL), SG_ERR_INVAL);
	assert_int_equal(sg_app_subscribe(a, NULL, NULL, NULL), SG_ERR_INVAL);
	memset(big_topic, 'a', sizeof(big_topic));
	big_topic[SG_APP_TOPIC_MAX] = '\0';
	assert_int_equal(sg_app_subscribe(a, big_topic, NULL, NULL), 0);
	big_topic[SG_APP_TOPIC_MAX] = 'a';
	big_topic[SG_APP_TOPIC_MAX + 1] = '\0';
	assert_int_equal(sg_app_subscribe(a, big_topic, NULL, NULL),
			 SG_ERR_RANGE);
	assert_int_equal(sg_app_publish(a, big_topic, NULL, 0, NULL),
			 SG_ERR_RANGE);
	big = calloc(1, SG_APP_MAX_PAYLOAD + 1);
	assert_non_null(big);
	assert_int_equal(
	    sg_app_publish(a, "t", big, SG_APP_MAX_PAYLOAD + 1, NULL),
	    SG_ERR_RANGE);
	assert_int_equal(sg_app_publish(a, "t", big, SG_APP_MAX_PAYLOAD, NULL),
			 0);
	free(big);
	assert_int_equal(sg_app_publish(a, "t", NULL, 5, NULL), SG_ERR_INVAL);
	assert_int_equal(sg_app_publish(a, "t", NULL, 0, NULL), 0);
	{
		/* 64 topics at most (the two above count) */
		int i, rc = 0;
		char t[24];
		for (i = 0; i < 70 && rc == 0; i++) {
			snprintf(t, sizeof(t), "topic-%d", i);
			rc = sg_app_subscribe(a, t, NULL, NULL);
		}
		assert_int_equal(rc, SG_ERR_FULL);
		assert_int_equal(i, 63);
	}
	assert_int_equal(sg_app_poll(a, &ev, 50), SG_ERR_AGAIN);

	/* presence: only in groups the node is in (tests/cli/chat_pty.c
	 * shows it working) */
	{
		sg_app_member m[2];
		assert_int_equal(sg_app_presence_start(a, "room"),
				 SG_ERR_NOTFOUND);
		assert_int_equal(sg_app_presence_stop(a, "room"),
				 SG_ERR_NOTFOUND);
		assert_int_equal(sg_app_presence_online(a, "room", m, 2),
				 SG_ERR_NOTFOUND);
		assert_int_equal(sg_app_presence_start(a, NULL), SG_ERR_INVAL);
		assert_int_equal(sg_app_presence_online(a, "room", NULL, 2),
				 SG_ERR_INVAL);
		assert_int_equal(sg_app_presence_start(a, big_topic),
				 SG_ERR_RANGE);
	}

	/* after stop */
	assert_int_equal(sg_app_stop(a), 0);
	assert_int_equal(sg_app_stop(a), 0);
	assert_int_equal(sg_app_subscribe(a, "u", NULL, NULL), SG_ERR_CLOSED);
	assert_int_equal(sg_app_publish(a, "t", NULL, 0, NULL), SG_ERR_CLOSED);
	assert_int_equal(sg_app_peers(a, NULL, 0), SG_ERR_CLOSED);
	assert_int_equal(sg_app_presence_start(a, "room"), SG_ERR_CLOSED);
	assert_int_equal(sg_app_poll(a, &ev, -1), SG_ERR_CLOSED);
	assert_true(fd_readable(a));
	sg_app_del(a);
	sg_app_del(NULL);
	sg_app_event_free(NULL);
}

static void test_identity_and_control(void **state)
{
	char dir[256], data[300], ks[300];
	const char *tmp = getenv("TMPDIR");
	sg_app_config cfg;
	sg_app *a, *b;
	sg_peer_id first;
	int err;
	char cmd[600];
	(void)state;

	snprintf(dir, sizeof(dir), "%s/sg-app-test-XXXXXX",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(ks, sizeof(ks), "%s/keystore", dir);
	snprintf(data, sizeof(data), "%s/node", dir);

	sg_app_config_default(&cfg);
	cfg.bind = "127.0.0.1:0";
	cfg.keystore_dir = ks;
	cfg.identity_alias = "Alice";
	assert_null(sg_app_new(&cfg, &err));
	assert_int_equal(err, SG_ERR_NOTFOUND);
	cfg.create_identity = 1;
	a = sg_app_new(&cfg, &err);
	assert_non_null(a);
	first = *sg_app_id(a);
	sg_app_del(a);
	cfg.create_identity = 0;
	a = sg_app_new(&cfg, &err);
	assert_non_null(a);
	assert_true(sg_peer_id_equal(&first, sg_app_id(a)));
	{
		sg_keystore_info info;
		assert_int_equal(sg_keystore_info_get(ks, "Alice", &info), 0);
		assert_true(sg_peer_id_equal(&info.id, &first));
	}
	/* an identity given in memory */
	{
		sg_identity id;
		sg_app_config c2;
		sg_env env;
		assert_int_equal(sg_env_default(&env), 0);
		assert_int_equal(sg_identity_generate(&id, &env), 0);
		sg_app_config_default(&c2);
		c2.identity = &id;
		b = sg_app_new(&c2, &err);
		assert_non_null(b);
		assert_true(sg_peer_id_equal(&id.id, sg_app_id(b)));
		sg_identity_wipe(&id);
		sg_app_del(b);
	}

	/* The control socket: one node per data directory. */
	sg_app_del(a);
	cfg.data_dir = data;
	cfg.control = 1;
	a = sg_app_new(&cfg, &err);
	assert_non_null(a);
	assert_int_equal(sg_app_start(a, NULL), 0);
	b = sg_app_new(&cfg, &err);
	assert_non_null(b);
	assert_int_equal(sg_app_start(b, NULL), SG_ERR_EXISTS);
	sg_app_del(b);
	sg_app_del(a);
	/* the data directory is the caller's: kept, with the peer cache */
	snprintf(cmd, sizeof(cmd), "test -f '%s/peers.db'", data);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* ---- neighbour events and stopping --------------------------------- */

typedef struct waiter {
	sg_app *app;
	int rc;
} waiter;

static void blocked_poll(void *arg)
{
	waiter *w = arg;
	sg_app_event *ev;
	w->rc = sg_app_poll(w->app, &ev, -1);
}

static sg_app_event *wait_kind(sg_app *a, sg_app_kind kind)
{
	uint64_t end = ms_now() + WAIT_MS;
	sg_app_event *ev;

	while (ms_now() < end) {
		if (sg_app_poll(a, &ev, 200) != 0)
			continue;
		if (sg_app_event_kind(ev) == kind)
			return ev;
		sg_app_event_free(ev);
	}
	fail_msg("no event of kind %d within %d ms", (int)kind, WAIT_MS);
	return NULL;
}

static void test_peer_events(void **state)
{
	sg_app_config cfg;
	sg_app *a, *b;
	char contact[200], addr[SG_APP_ADDR_LEN];
	sg_app_event *ev;
	sg_app_peer peers[4];
	sg_app_stats st;
	(void)state;

	sg_app_config_default(&cfg);
	cfg.peer_events = 1;
	cfg.peer_poll_ms = 50;
	a = app_on_loopback(NULL, &cfg);
	contact_of(a, contact, sizeof(contact));
	b = app_on_loopback(contact, NULL);
	ev = wait_kind(a, SG_APP_PEER_UP);
	assert_true(sg_peer_id_equal(sg_app_event_peer(ev), sg_app_id(b)));
	assert_int_equal(sg_app_local_addr(b, addr, sizeof(addr)), 0);
	assert_string_equal(sg_app_event_addr(ev), addr);
	assert_null(sg_app_event_topic(ev, NULL));
	assert_null(sg_app_event_msg_id(ev));
	assert_int_equal(sg_app_event_seq(ev), 0);
	sg_app_event_free(ev);
	assert_int_equal(sg_app_peers(a, peers, 4), 1);
	assert_true(sg_peer_id_equal(&peers[0].id, sg_app_id(b)));
	assert_string_equal(peers[0].addr, addr);
	assert_int_equal(sg_app_peers(a, NULL, 0), 1);

	/* B leaves politely: A sees it go. */
	sg_app_del(b);
	ev = wait_kind(a, SG_APP_PEER_DOWN);
	assert_string_equal(sg_app_event_addr(ev), addr);
	sg_app_event_free(ev);
	assert_int_equal(sg_app_peers(a, peers, 4), 0);
	st.size = sizeof(st);
	assert_int_equal(sg_app_stats_get(a, &st), 0);
	assert_int_equal(st.peer_events, 2);
	assert_int_equal(st.peers, 0);
	sg_app_del(a);
}

static void test_stop_wakes_and_events_outlive(void **state)
{
	sg_app_config cfg;
	sg_app *a, *b;
	char contact[200];
	sg_app_event *ev, *kept;
	uv_thread_t th;
	waiter w;
	uint64_t t0;
	(void)state;

	sg_app_config_default(&cfg);
	cfg.peer_events = 1;
	cfg.peer_poll_ms = 50;
	a = app_on_loopback(NULL, &cfg);
	contact_of(a, contact, sizeof(contact));
	b = app_on_loopback(contact, NULL);
	kept = wait_kind(a, SG_APP_PEER_UP);
	sg_app_del(b);
	/* wait until the down is queued, then stop with it queued */
	{
		sg_app_stats st;
		uint64_t end = ms_now() + WAIT_MS;
		st.size = sizeof(st);
		do {
			sleep_ms(20);
			assert_int_equal(sg_app_stats_get(a, &st), 0);
		} while (st.queued == 0 && ms_now() < end);
		assert_int_equal(st.queued, 1);
	}
	assert_int_equal(sg_app_stop(a), 0);
	assert_int_equal(sg_app_poll(a, &ev, -1), 0);
	assert_int_equal(sg_app_event_kind(ev), SG_APP_PEER_DOWN);
	sg_app_event_free(ev);
	assert_int_equal(sg_app_poll(a, &ev, -1), SG_ERR_CLOSED);
	sg_app_del(a);
	/* the event taken earlier is still whole */
	assert_int_equal(sg_app_event_kind(kept), SG_APP_PEER_UP);
	assert_int_equal(sg_app_event_addr(kept)[0] != '\0', 1);
	sg_app_event_free(kept);

	/* a poller blocked without a timeout is woken by the stop */
	a = app_on_loopback(NULL, NULL);
	w.app = a;
	w.rc = 1;
	assert_int_equal(uv_thread_create(&th, blocked_poll, &w), 0);
	sleep_ms(100);
	t0 = ms_now();
	assert_int_equal(sg_app_stop(a), 0);
	uv_thread_join(&th);
	assert_int_equal(w.rc, SG_ERR_CLOSED);
	assert_true(ms_now() - t0 < 5000);
	sg_app_del(a);
}

/* ---- the caller's loop --------------------------------------------- */

typedef struct loopstate {
	int got;
	sg_app *self;
	int cross_rc;
} loopstate;

static void on_loop_msg(void *ud, const sg_app_event *ev)
{
	loopstate *s = ud;
	size_t n;
	const uint8_t *p = sg_app_event_payload(ev, &n);
	if (n == 5 && memcmp(p, "loop!", 5) == 0)
		s->got++;
}

static void cross_thread(void *arg)
{
	loopstate *s = arg;
	s->cross_rc = sg_app_publish(s->self, "l", NULL, 0, NULL);
}

static void on_tick(uv_timer_t *t)
{
	sg_app *pub = t->data;
	/* the other app runs on its own thread: publish from here */
	sg_app_publish(pub, "l", (const uint8_t *)"loop!", 5, NULL);
}

static void test_caller_loop(void **state)
{
	uv_loop_t loop;
	uv_timer_t tick;
	sg_app_config cfg;
	sg_app *a, *b;
	char contact[200];
	loopstate s;
	uv_thread_t th;
	sg_app_event *ev;
	uint64_t end;
	int err;
	(void)state;

	assert_int_equal(uv_loop_init(&loop), 0);
	b = app_on_loopback(NULL, NULL); /* the publisher, its own thread */
	contact_of(b, contact, sizeof(contact));
	{
		const char *contacts[] = {contact};
		sg_app_config_default(&cfg);
		cfg.bind = "127.0.0.1:0";
		cfg.coordinators = contacts;
		cfg.n_coordinators = 1;
		a = sg_app_new(&cfg, &err);
		assert_non_null(a);
	}
	assert_int_equal(sg_app_start(a, &loop), 0);
	memset(&s, 0, sizeof(s));
	s.self = a;
	assert_int_equal(sg_app_subscribe(a, "l", on_loop_msg, &s), 0);
	/* another thread may not call in */
	assert_int_equal(uv_thread_create(&th, cross_thread, &s), 0);
	uv_thread_join(&th);
	assert_int_equal(s.cross_rc, SG_ERR_STATE);
	assert_int_equal(sg_app_stop(NULL), SG_ERR_INVAL);

	uv_timer_init(&loop, &tick);
	tick.data = b;
	uv_timer_start(&tick, on_tick, 100, 100);
	end = ms_now() + WAIT_MS;
	while (s.got == 0 && ms_now() < end)
		uv_run(&loop, UV_RUN_ONCE);
	assert_true(s.got > 0);
	/* the queue is empty (callback mode) and poll never waits here */
	assert_int_equal(sg_app_poll(a, &ev, 1000), SG_ERR_AGAIN);
	uv_timer_stop(&tick);
	uv_close((uv_handle_t *)&tick, NULL);

	/* stop: the leave completes as the loop runs, then it is empty */
	assert_int_equal(sg_app_stop(a), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(sg_app_poll(a, &ev, 0), SG_ERR_CLOSED);
	assert_int_equal(sg_app_subscribe(a, "m", NULL, NULL), SG_ERR_CLOSED);
	sg_app_del(a);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	sg_app_del(b);

	/* deleted while running on the loop: cut short, still clean */
	assert_int_equal(uv_loop_init(&loop), 0);
	sg_app_config_default(&cfg);
	cfg.bind = "127.0.0.1:0";
	a = sg_app_new(&cfg, &err);
	assert_int_equal(sg_app_start(a, &loop), 0);
	assert_int_equal(sg_app_subscribe(a, "x", NULL, NULL), 0);
	uv_run(&loop, UV_RUN_NOWAIT);
	sg_app_del(a);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* Takes the next event of the queue (waits up to WAIT_MS). */
static sg_app_event *next_event(sg_app *a)
{
	sg_app_event *ev = NULL;
	assert_int_equal(sg_app_poll(a, &ev, WAIT_MS), 0);
	return ev;
}

/* An echo server for test_requests (on B's node thread). */
static sg_app *echo_app;

static void echo(void *ud, const sg_app_event *ev)
{
	sg_app *b = echo_app;
	size_t n;
	const uint8_t *p = sg_app_event_payload(ev, &n);

	(void)ud;
	if (n == 4 && memcmp(p, "fail", 4) == 0)
		assert_int_equal(sg_app_respond(b, sg_app_event_peer(ev),
						sg_app_event_seq(ev),
						SG_ERR_PERM, NULL, 0),
				 0);
	else
		assert_int_equal(sg_app_respond(b, sg_app_event_peer(ev),
						sg_app_event_seq(ev), 0, p, n),
				 0);
}

/* Direct requests: answered through the queue and by a callback, an
 * error status, a request nobody answers (timeout), a node that accepts
 * none (UNSUPPORTED), and bad arguments. */
static void test_requests(void **state)
{
	sg_app *a, *b, *c;
	sg_app_config cfg;
	char contact[200];
	sg_app_event *ev;
	uint64_t id, id2;
	size_t n;
	const uint8_t *p;
	sg_peer_id nobody;
	(void)state;

	a = app_on_loopback(NULL, NULL);
	contact_of(a, contact, sizeof(contact));
	sg_app_config_default(&cfg);
	cfg.accept_requests = 1;
	b = app_on_loopback(contact, &cfg);
	c = app_on_loopback(contact, NULL); /* accepts no requests */
	wait_neighbours(a, b);

	/* A asks B; B answers from its queue */
	assert_int_equal(sg_app_request(a, sg_app_id(b),
					(const uint8_t *)"ping", 4, 5000, &id),
			 0);
	ev = next_event(b);
	assert_int_equal(sg_app_event_kind(ev), SG_APP_REQUEST);
	assert_true(sg_peer_id_equal(sg_app_event_peer(ev), sg_app_id(a)));
	assert_int_equal(sg_app_event_seq(ev), id);
	p = sg_app_event_payload(ev, &n);
	assert_int_equal(n, 4);
	assert_memory_equal(p, "ping", 4);
	assert_int_equal(sg_app_respond(b, sg_app_id(a), id, 0,
					(const uint8_t *)"pong!", 5),
			 0);
	sg_app_event_free(ev);
	ev = next_event(a);
	assert_int_equal(sg_app_event_kind(ev), SG_APP_RESPONSE);
	assert_int_equal(sg_app_event_seq(ev), id);
	assert_int_equal(sg_app_event_status(ev), 0);
	assert_true(sg_peer_id_equal(sg_app_event_peer(ev), sg_app_id(b)));
	p = sg_app_event_payload(ev, &n);
	assert_int_equal(n, 5);
	assert_memory_equal(p, "pong!", 5);
	sg_app_event_free(ev);
	/* a second answer to the same request matches nothing */
	assert_int_equal(sg_app_respond(b, sg_app_id(a), id, 0, NULL, 0), 0);
	assert_int_equal(sg_app_poll(a, &ev, 300), SG_ERR_AGAIN);

	/* B's error status comes back as the response's status */
	assert_int_equal(sg_app_request(a, sg_app_id(b),
					(const uint8_t *)"x", 1, 5000, &id),
			 0);
	ev = next_event(b);
	assert_int_equal(sg_app_respond(b, sg_app_id(a), sg_app_event_seq(ev),
					SG_ERR_PERM, NULL, 0),
			 0);
	sg_app_event_free(ev);
	ev = next_event(a);
	assert_int_equal(sg_app_event_status(ev), SG_ERR_PERM);
	sg_app_event_free(ev);

	/* unanswered: a timeout */
	assert_int_equal(sg_app_request(a, sg_app_id(b),
					(const uint8_t *)"y", 1, 200, &id2),
			 0);
	sg_app_event_free(next_event(b));
	ev = next_event(a);
	assert_int_equal(sg_app_event_kind(ev), SG_APP_RESPONSE);
	assert_int_equal(sg_app_event_seq(ev), id2);
	assert_int_equal(sg_app_event_status(ev), SG_ERR_TIMEOUT);
	sg_app_event_free(ev);

	/* C accepts no requests: the node answers UNSUPPORTED */
	assert_int_equal(sg_app_request(a, sg_app_id(c),
					(const uint8_t *)"z", 1, 5000, NULL),
			 0);
	ev = next_event(a);
	assert_int_equal(sg_app_event_status(ev), SG_ERR_UNSUPPORTED);
	assert_true(sg_peer_id_equal(sg_app_event_peer(ev), sg_app_id(c)));
	sg_app_event_free(ev);

	/* bad arguments */
	memset(&nobody, 0x5a, sizeof(nobody));
	assert_int_equal(sg_app_request(a, &nobody, NULL, 0, 1000, NULL),
			 SG_ERR_NOTFOUND);
	assert_int_equal(sg_app_request(a, sg_app_id(a), NULL, 0, 1000, NULL),
			 SG_ERR_INVAL);
	assert_int_equal(sg_app_request(a, sg_app_id(b), NULL, 0, 99, NULL),
			 SG_ERR_RANGE);
	assert_int_equal(sg_app_request(a, NULL, NULL, 0, 1000, NULL),
			 SG_ERR_INVAL);
	assert_int_equal(sg_app_request(a, sg_app_id(b), NULL, 1, 1000, NULL),
			 SG_ERR_INVAL);
	assert_int_equal(sg_app_respond(a, sg_app_id(b), 1, 5, NULL, 0),
			 SG_ERR_RANGE);
	sg_app_del(c);
	sg_app_del(b);

	/* a server answering from its callback */
	sg_app_config_default(&cfg);
	cfg.on_request = echo;
	echo_app = b = app_on_loopback(contact, &cfg);
	wait_neighbours(a, b);
	assert_int_equal(sg_app_request(a, sg_app_id(b),
					(const uint8_t *)"hello", 5, 5000, &id),
			 0);
	ev = next_event(a);
	assert_int_equal(sg_app_event_status(ev), 0);
	p = sg_app_event_payload(ev, &n);
	assert_int_equal(n, 5);
	assert_memory_equal(p, "hello", 5);
	sg_app_event_free(ev);
	assert_int_equal(sg_app_request(a, sg_app_id(b),
					(const uint8_t *)"fail", 4, 5000, &id),
			 0);
	ev = next_event(a);
	assert_int_equal(sg_app_event_status(ev), SG_ERR_PERM);
	sg_app_event_free(ev);
	sg_app_del(b);
	sg_app_del(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_identity_and_control),
	    cmocka_unit_test(test_exchange),
	    cmocka_unit_test(test_queue_bound),
	    cmocka_unit_test(test_peer_events),
	    cmocka_unit_test(test_stop_wakes_and_events_outlive),
	    cmocka_unit_test(test_caller_loop),
	    cmocka_unit_test(test_requests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
