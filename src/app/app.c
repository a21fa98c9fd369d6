/*
 * The embedding API (include/sg/app.h): an sg_node run for an application,
 * on a thread of its own or on the caller's libuv loop.
 *
 * Threads: in thread mode the node, its subscriptions table and the
 * neighbour list belong to the node thread. Other threads reach it through
 * commands: a command lives on the calling thread's stack, is appended to
 * a list under the mutex, the node thread is woken by a uv_async_t, runs
 * it, marks it done and broadcasts cv_done; the caller waits for that. The
 * delivery queue, the counters and the state are shared and only touched
 * under the mutex. A self-pipe mirrors "the queue is not empty" for
 * select()/poll() (a byte is written when the queue becomes non-empty and
 * read back when it becomes empty; after the stop it stays readable).
 *
 * States: NEW -> STARTING -> RUNNING -> STOPPING -> STOPPED, or STARTING ->
 * FAILED. Commands are accepted in RUNNING only, and the node thread fails
 * whatever is still listed (SG_ERR_CLOSED) when it leaves RUNNING, under
 * the same mutex, so no caller waits forever.
 */
#define _POSIX_C_SOURCE 200809L
#include "sg/app.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "sg/control.h"
#include "sg/err.h"
#include "sg/keystore.h"
#include "sg/msg.h"
#include "sg/node.h"
#include "sg/presence.h"

#define MOD "app"
#define MAX_SUBS 64  /* the core's default max_topics */
#define MAX_PEERS 64 /* neighbours compared for events (active view) */

_Static_assert(SG_APP_MAX_PAYLOAD == SG_MSG_MAX_PAYLOAD,
	       "SG_APP_MAX_PAYLOAD follows SG_MSG_MAX_PAYLOAD");
_Static_assert(SG_APP_TOPIC_MAX == SG_CTL_TOPIC_MAX,
	       "SG_APP_TOPIC_MAX follows the node's topic bound");

enum { ST_NEW, ST_STARTING, ST_RUNNING, ST_STOPPING, ST_STOPPED, ST_FAILED };
enum { C_SUB, C_UNSUB, C_PUB, C_PEERS, C_PSTART, C_PSTOP, C_ONLINE, C_REQ,
       C_RESP };

struct sg_app_event {
	void (*free_fn)(void *ud, void *p); /* NULL: borrowed (callbacks) */
	void *free_ud;
	sg_app_kind kind;
	sg_peer_id peer;
	char addr[SG_APP_ADDR_LEN];
	uint64_t seq, publish_ms;
	uint32_t hops;
	int status;
	uint8_t id[SG_MSG_ID_LEN];
	const char *topic;
	size_t topic_len;
	const uint8_t *payload;
	size_t payload_len;
	/* queued copies: the topic (with its NUL), then the payload */
};

struct sub {
	int used;
	sg_topic_id id;
	char name[SG_APP_TOPIC_MAX + 1];
	size_t len;
	sg_app_cb cb;
	void *ud;
};

struct cmd {
	struct cmd *next;
	int op;
	const char *topic;
	size_t topic_len;
	sg_app_cb cb;
	void *ud;
	const uint8_t *payload;
	size_t len;
	uint8_t *id;
	sg_app_peer *peers;
	sg_app_member *members;
	size_t max;
	const sg_peer_id *to;
	uint64_t req_id;
	uint32_t timeout_ms;
	int status;
	long rc;
	int done;
};

struct known {
	sg_peer_id id;
	char addr[SG_APP_ADDR_LEN];
};

/* The neighbour timer, allocated apart so that its close can finish after
 * sg_app_del in loop mode. */
struct ptimer {
	uv_timer_t t;
	sg_app *a;
	sg_env env;
};

struct sg_app {
	sg_env env;
	sg_app_config cfg;
	sg_identity *ident;
	char *bind, *data_dir;
	char **contacts;
	int tmp_dir;

	uv_mutex_t mu;
	uv_cond_t cv_done, cv_q;
	int state;
	int threaded, thread_made, joining, joined;
	uv_thread_t thread, loop_tid;
	int have_tid;
	struct cmd *cq_head, *cq_tail;
	int stop_requested;
	int start_rc;
	char local[SG_APP_ADDR_LEN];

	/* node thread */
	uv_loop_t own_loop;
	uv_loop_t *loop;
	uv_async_t wake;
	int wake_open;
	struct ptimer *pt;
	sg_node *node;
	int leaving;
	struct sub subs[MAX_SUBS];
	struct known known[MAX_PEERS];
	size_t n_known;

	/* the queue (mutex) */
	sg_app_event **ring;
	size_t qhead, qcount, qbytes;
	int pipe_r, pipe_w, signalled, closed_sig;
	sg_app_stats st;
};

/* ---- small helpers --------------------------------------------------- */

static char *dup_str(const sg_env *env, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = sg_alloc(env, n);
	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

/* 0, SG_ERR_INVAL (NULL or empty) or SG_ERR_RANGE (too long). */
static int topic_len(const char *topic, size_t *len)
{
	if (topic == NULL || topic[0] == '\0')
		return SG_ERR_INVAL;
	*len = strnlen(topic, SG_APP_TOPIC_MAX + 1);
	return *len > SG_APP_TOPIC_MAX ? SG_ERR_RANGE : 0;
}

static int on_loop_thread(const sg_app *a)
{
	uv_thread_t self = uv_thread_self();
	return a->have_tid && uv_thread_equal(&self, &a->loop_tid);
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
		return -1;
	return 0;
}

/* Under the mutex. */
static void fd_signal(sg_app *a)
{
	if (!a->signalled) {
		ssize_t k;
		do
			k = write(a->pipe_w, "", 1);
		while (k < 0 && errno == EINTR);
		a->signalled = 1;
	}
}

/* Under the mutex. */
static void fd_unsignal(sg_app *a)
{
	uint8_t buf[16];

	if (!a->signalled || a->closed_sig)
		return;
	for (;;) {
		ssize_t k = read(a->pipe_r, buf, sizeof(buf));
		if (k > 0 || (k < 0 && errno == EINTR))
			continue;
		break; /* empty (EAGAIN) */
	}
	a->signalled = 0;
}

/* Under the mutex: the app will not deliver any more. */
static void mark_closed(sg_app *a, int state)
{
	a->state = state;
	fd_signal(a);
	a->closed_sig = 1;
	uv_cond_broadcast(&a->cv_q);
	uv_cond_broadcast(&a->cv_done);
}

/* Under the mutex: commands still listed fail. */
static void fail_commands(sg_app *a)
{
	struct cmd *c, *next;

	for (c = a->cq_head; c != NULL; c = next) {
		next = c->next;
		c->rc = SG_ERR_CLOSED;
		c->done = 1;
	}
	a->cq_head = a->cq_tail = NULL;
	uv_cond_broadcast(&a->cv_done);
}

/* ---- the queue --------------------------------------------------------- */

/* Queues a copy of ev (which may be borrowed). Drop policy: oldest first,
 * until the new event fits both bounds; the newest is always kept. */
static void enqueue(sg_app *a, const sg_app_event *ev)
{
	size_t tl = ev->topic != NULL ? ev->topic_len + 1 : 0;
	sg_app_event *c = sg_alloc(&a->env, sizeof(*c) + tl + ev->payload_len);
	uint8_t *tail;

	if (c == NULL) {
		uv_mutex_lock(&a->mu);
		a->st.nomem++;
		uv_mutex_unlock(&a->mu);
		return;
	}
	*c = *ev;
	/* Events may outlive the app: each carries the allocator's free. */
	c->free_fn = a->env.free;
	c->free_ud = a->env.alloc_ud;
	tail = (uint8_t *)(c + 1);
	if (ev->topic != NULL) {
		memcpy(tail, ev->topic, ev->topic_len);
		tail[ev->topic_len] = '\0';
		c->topic = (const char *)tail;
	}
	if (ev->payload_len > 0) {
		memcpy(tail + tl, ev->payload, ev->payload_len);
		c->payload = tail + tl;
	} else {
		c->payload = NULL;
	}
	uv_mutex_lock(&a->mu);
	while (a->qcount > 0 &&
	       (a->qcount == a->cfg.max_queued ||
		a->qbytes + c->payload_len > a->cfg.max_queued_bytes)) {
		sg_app_event *old = a->ring[a->qhead];
		a->qhead = (a->qhead + 1) % a->cfg.max_queued;
		a->qcount--;
		a->qbytes -= old->payload_len;
		a->st.dropped++;
		sg_free(&a->env, old);
	}
	a->ring[(a->qhead + a->qcount) % a->cfg.max_queued] = c;
	a->qcount++;
	a->qbytes += c->payload_len;
	if (c->kind == SG_APP_MESSAGE)
		a->st.delivered++;
	fd_signal(a);
	uv_cond_signal(&a->cv_q);
	uv_mutex_unlock(&a->mu);
}

/* ---- on the node thread ---------------------------------------------- */

static struct sub *sub_find(sg_app *a, const sg_topic_id *id)
{
	size_t i;
	for (i = 0; i < MAX_SUBS; i++)
		if (a->subs[i].used && memcmp(a->subs[i].id.bytes, id->bytes,
					      SG_TOPIC_ID_LEN) == 0)
			return &a->subs[i];
	return NULL;
}

static void on_deliver(void *ud, const sg_topic_id *topic,
		       const sg_msg_view *msg, uint32_t hops)
{
	sg_app *a = ud;
	struct sub *s = sub_find(a, topic);
	sg_app_event ev;
	sg_app_cb cb;
	void *cb_ud;
	char name[SG_APP_TOPIC_MAX + 1];
	uint8_t *copy = NULL;

	if (s == NULL) {
		uv_mutex_lock(&a->mu);
		a->st.ignored++;
		uv_mutex_unlock(&a->mu);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.kind = SG_APP_MESSAGE;
	ev.peer = msg->hdr.publisher;
	ev.seq = msg->hdr.seq;
	ev.publish_ms = msg->hdr.publish_ms;
	ev.hops = hops;
	memcpy(ev.id, msg->id, SG_MSG_ID_LEN);
	ev.topic = s->name;
	ev.topic_len = s->len;
	ev.payload = msg->payload;
	ev.payload_len = msg->payload_len;
	if (s->cb == NULL) {
		enqueue(a, &ev);
		return;
	}
	/* The callback may unsubscribe (clearing s): use copies. And when it
	 * calls back in (publish, subscribe), the node runs its core again,
	 * which reuses the memory the payload is in: the callback gets a
	 * copy, valid until it returns whatever it calls. */
	cb = s->cb;
	cb_ud = s->ud;
	memcpy(name, s->name, s->len + 1);
	ev.topic = name;
	if (ev.payload_len > 0) {
		copy = sg_alloc(&a->env, ev.payload_len);
		if (copy != NULL)
			memcpy(copy, ev.payload, ev.payload_len);
		ev.payload = copy;
	}
	uv_mutex_lock(&a->mu);
	if (ev.payload_len > 0 && copy == NULL) {
		a->st.nomem++;
		uv_mutex_unlock(&a->mu);
		return;
	}
	a->st.delivered++;
	uv_mutex_unlock(&a->mu);
	cb(cb_ud, &ev);
	sg_free(&a->env, copy);
}

static void peer_event(sg_app *a, sg_app_kind kind, const struct known *k)
{
	sg_app_event ev;

	uv_mutex_lock(&a->mu);
	a->st.peer_events++;
	uv_mutex_unlock(&a->mu);
	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.peer = k->id;
	memcpy(ev.addr, k->addr, sizeof(ev.addr));
	if (a->cfg.on_peer != NULL)
		a->cfg.on_peer(a->cfg.on_peer_ud, &ev);
	else
		enqueue(a, &ev);
}

static int known_has(const struct known *k, size_t n, const sg_peer_id *id)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (sg_peer_id_equal(&k[i].id, id))
			return 1;
	return 0;
}

/* Compares the active view with the last look. */
static void on_ptimer(uv_timer_t *t)
{
	struct ptimer *pt = t->data;
	sg_app *a = pt->a;
	sg_peer_id ids[MAX_PEERS];
	struct sockaddr_storage addrs[MAX_PEERS];
	struct known now[MAX_PEERS];
	size_t n, i;
	int events = a->cfg.peer_events || a->cfg.on_peer != NULL;

	if (a->node == NULL || a->leaving)
		return;
	n = sg_node_active_peers(a->node, ids, addrs, MAX_PEERS);
	if (n > MAX_PEERS)
		n = MAX_PEERS;
	for (i = 0; i < n; i++) {
		now[i].id = ids[i];
		now[i].addr[0] = '\0';
		if (addrs[i].ss_family != AF_UNSPEC)
			sg_node_format_addr((const struct sockaddr *)&addrs[i],
					    now[i].addr, sizeof(now[i].addr));
	}
	for (i = 0; events && i < a->n_known; i++)
		if (!known_has(now, n, &a->known[i].id))
			peer_event(a, SG_APP_PEER_DOWN, &a->known[i]);
	for (i = 0; events && i < n; i++)
		if (!known_has(a->known, a->n_known, &now[i].id))
			peer_event(a, SG_APP_PEER_UP, &now[i]);
	/* A callback may have stopped the app (loop mode). */
	if (a->node == NULL || a->leaving)
		return;
	memcpy(a->known, now, n * sizeof(now[0]));
	a->n_known = n;
	uv_mutex_lock(&a->mu);
	a->st.peers = n;
	uv_mutex_unlock(&a->mu);
}

static void on_ptimer_closed(uv_handle_t *h)
{
	struct ptimer *pt = h->data;
	sg_env env = pt->env;
	sg_free(&env, pt);
}

static void close_ptimer(sg_app *a)
{
	if (a->pt != NULL) {
		uv_timer_stop(&a->pt->t);
		uv_close((uv_handle_t *)&a->pt->t, on_ptimer_closed);
		a->pt = NULL;
	}
}

/* "IP:PORT" of a presence address. */
static void format_sg_addr(const sg_addr *in, char *out, size_t cap)
{
	struct sockaddr_storage sa;

	memset(&sa, 0, sizeof(sa));
	if (in->family == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, in->ip, 4);
		s4->sin_port = htons(in->port);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, in->ip, 16);
		s6->sin6_port = htons(in->port);
	}
	sg_node_format_addr((const struct sockaddr *)&sa, out, cap);
}

static long exec_cmd(sg_app *a, struct cmd *c)
{
	size_t i;
	int rc;
	struct sub *free_slot = NULL;
	sg_topic_id tid;

	switch (c->op) {
	case C_SUB:
		sg_topic_id_from_name(&tid, c->topic, c->topic_len);
		if (sub_find(a, &tid) != NULL)
			return SG_ERR_EXISTS;
		for (i = 0; i < MAX_SUBS && free_slot == NULL; i++)
			if (!a->subs[i].used)
				free_slot = &a->subs[i];
		if (free_slot == NULL)
			return SG_ERR_FULL;
		rc = sg_node_subscribe(a->node, c->topic, c->topic_len);
		/* EXISTS: the node joined the swarm to publish there. */
		if (rc != 0 && rc != SG_ERR_EXISTS)
			return rc;
		memset(free_slot, 0, sizeof(*free_slot));
		free_slot->used = 1;
		free_slot->id = tid;
		memcpy(free_slot->name, c->topic, c->topic_len);
		free_slot->len = c->topic_len;
		free_slot->cb = c->cb;
		free_slot->ud = c->ud;
		return 0;
	case C_UNSUB: {
		struct sub *s;
		sg_topic_id_from_name(&tid, c->topic, c->topic_len);
		if ((s = sub_find(a, &tid)) == NULL)
			return SG_ERR_NOTFOUND;
		memset(s, 0, sizeof(*s));
		rc = sg_node_unsubscribe(a->node, c->topic, c->topic_len);
		return rc == SG_ERR_NOTFOUND ? 0 : rc;
	}
	case C_PUB:
		rc = sg_node_publish(a->node, c->topic, c->topic_len,
				     c->payload, c->len, c->id);
		if (rc == 0) {
			uv_mutex_lock(&a->mu);
			a->st.published++;
			uv_mutex_unlock(&a->mu);
		}
		return rc;
	case C_PEERS: {
		sg_peer_id ids[MAX_PEERS];
		struct sockaddr_storage addrs[MAX_PEERS];
		size_t n = sg_node_active_peers(a->node, ids, addrs, MAX_PEERS);
		for (i = 0; i < n && i < MAX_PEERS && i < c->max; i++) {
			c->peers[i].id = ids[i];
			c->peers[i].addr[0] = '\0';
			if (addrs[i].ss_family != AF_UNSPEC)
				sg_node_format_addr(
				    (const struct sockaddr *)&addrs[i],
				    c->peers[i].addr, sizeof(c->peers[i].addr));
		}
		return (long)n;
	}
	case C_REQ:
		return sg_node_request(a->node, c->to, c->payload, c->len,
				       c->timeout_ms, c->id != NULL ? &c->req_id
								    : NULL);
	case C_RESP:
		return sg_node_respond(a->node, c->to, c->req_id, c->status,
				       c->payload, c->len);
	case C_PSTART:
		return sg_node_presence_start(a->node, c->topic, c->topic_len);
	case C_PSTOP:
		return sg_node_presence_stop(a->node, c->topic, c->topic_len);
	case C_ONLINE: {
		sg_presence_entry e[SG_GROUP_MAX_MEMBERS];
		long k = sg_node_presence_online(a->node, c->topic,
						 c->topic_len, e,
						 SG_GROUP_MAX_MEMBERS);
		for (i = 0; k > 0 && i < (size_t)k && i < c->max &&
			    i < SG_GROUP_MAX_MEMBERS;
		     i++) {
			sg_app_member *m = &c->members[i];
			memset(m, 0, sizeof(*m));
			m->id = e[i].member;
			m->last_seen_ms = e[i].last_seen_ms;
			m->expires_ms = e[i].expires_ms;
			if (e[i].naddrs > 0)
				format_sg_addr(&e[i].addrs[0], m->addr,
					       sizeof(m->addr));
		}
		return k;
	}
	}
	return SG_ERR_INVAL;
}

/* The node has left (asked by us, or through its control socket). */
static void on_left(void *ud)
{
	sg_app *a = ud;

	a->leaving = 1;
	close_ptimer(a);
	uv_mutex_lock(&a->mu);
	if (a->threaded) {
		if (a->state == ST_RUNNING)
			a->state = ST_STOPPING;
		fail_commands(a);
		if (a->wake_open) {
			a->wake_open = 0;
			uv_close((uv_handle_t *)&a->wake, NULL);
		}
	} else {
		mark_closed(a, ST_STOPPED);
	}
	uv_mutex_unlock(&a->mu);
}

static void begin_leave(sg_app *a)
{
	if (a->leaving || a->node == NULL)
		return;
	a->leaving = 1;
	close_ptimer(a);
	sg_node_leave(a->node, on_left, a);
}

static void on_wake(uv_async_t *h)
{
	sg_app *a = h->data;
	struct cmd *list, *c, *next;
	int stop;

	uv_mutex_lock(&a->mu);
	list = a->cq_head;
	a->cq_head = a->cq_tail = NULL;
	stop = a->stop_requested;
	uv_mutex_unlock(&a->mu);
	for (c = list; c != NULL; c = c->next)
		c->rc = a->leaving ? SG_ERR_CLOSED : exec_cmd(a, c);
	uv_mutex_lock(&a->mu);
	for (c = list; c != NULL; c = next) {
		next = c->next; /* c belongs to its caller once done */
		c->done = 1;
	}
	uv_cond_broadcast(&a->cv_done);
	uv_mutex_unlock(&a->mu);
	if (stop)
		begin_leave(a);
}

/* Creates the node on a->loop (on the loop's thread). */
static void on_presence(void *ud, const char *name, size_t name_len,
			const sg_peer_id *member, int online)
{
	sg_app *a = ud;
	sg_app_event ev;
	char nm[SG_GROUP_NAME_MAX + 1];

	if (!a->cfg.presence_events && a->cfg.on_presence == NULL)
		return;
	if (name_len > SG_GROUP_NAME_MAX)
		name_len = SG_GROUP_NAME_MAX;
	memcpy(nm, name, name_len);
	nm[name_len] = '\0';
	memset(&ev, 0, sizeof(ev));
	ev.kind = online ? SG_APP_ONLINE : SG_APP_OFFLINE;
	ev.peer = *member;
	ev.topic = nm;
	ev.topic_len = name_len;
	if (a->cfg.on_presence != NULL)
		a->cfg.on_presence(a->cfg.on_presence_ud, &ev);
	else
		enqueue(a, &ev);
}

/* A request or response from the node: to its callback or the queue. */
static void direct_event(sg_app *a, sg_app_kind kind, const sg_peer_id *peer,
			 uint64_t id, int status, const uint8_t *body,
			 size_t len)
{
	sg_app_event ev;
	sg_app_cb cb = kind == SG_APP_REQUEST ? a->cfg.on_request
					      : a->cfg.on_response;
	void *ud = kind == SG_APP_REQUEST ? a->cfg.on_request_ud
					  : a->cfg.on_response_ud;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.peer = *peer;
	ev.seq = id;
	ev.status = status;
	ev.payload = len > 0 ? body : NULL;
	ev.payload_len = len;
	if (cb == NULL) {
		enqueue(a, &ev);
		return;
	}
	/* A callback that calls back in runs the node, which frees the
	 * memory body is in: it gets a copy (as deliveries do). */
	if (len > 0) {
		uint8_t *copy = sg_alloc(&a->env, len);
		if (copy == NULL) {
			uv_mutex_lock(&a->mu);
			a->st.nomem++;
			uv_mutex_unlock(&a->mu);
			return;
		}
		memcpy(copy, body, len);
		ev.payload = copy;
	}
	cb(ud, &ev);
	sg_free(&a->env, (void *)(uintptr_t)ev.payload);
}

static void on_request(void *ud, const sg_peer_id *from, uint64_t id,
		       const uint8_t *body, size_t len)
{
	direct_event(ud, SG_APP_REQUEST, from, id, 0, body, len);
}

static void on_response(void *ud, const sg_peer_id *from, uint64_t id,
			int status, const uint8_t *body, size_t len)
{
	direct_event(ud, SG_APP_RESPONSE, from, id, status, body, len);
}

static int node_up(sg_app *a)
{
	sg_node_config nc;
	struct sockaddr_storage sa;
	int err;

	sg_node_config_default(&nc);
	nc.data_dir = a->data_dir;
	nc.bind = a->bind;
	nc.contacts = (const char *const *)a->contacts;
	nc.n_contacts = a->cfg.n_coordinators;
	nc.control = a->cfg.control != 0;
	a->node = sg_node_new(a->loop, &a->env, &nc, a->ident, &err);
	if (a->node == NULL)
		return err != 0 ? err : SG_ERR_IO;
	sg_node_set_deliver_cb(a->node, on_deliver, a);
	sg_node_set_presence_cb(a->node, on_presence, a);
	sg_node_set_response_cb(a->node, on_response, a);
	if (a->cfg.accept_requests || a->cfg.on_request != NULL)
		sg_node_set_request_cb(a->node, on_request, a);
	sg_node_set_exit_cb(a->node, on_left, a);
	a->pt = sg_alloc(&a->env, sizeof(*a->pt));
	if (a->pt == NULL)
		return SG_ERR_NOMEM;
	a->pt->a = a;
	a->pt->env = a->env;
	uv_timer_init(a->loop, &a->pt->t);
	a->pt->t.data = a->pt;
	uv_timer_start(&a->pt->t, on_ptimer, a->cfg.peer_poll_ms,
		       a->cfg.peer_poll_ms);
	sg_node_local_addr(a->node, &sa);
	uv_mutex_lock(&a->mu);
	sg_node_format_addr((const struct sockaddr *)&sa, a->local,
			    sizeof(a->local));
	uv_mutex_unlock(&a->mu);
	return 0;
}

/* Frees the node and runs the loop until its handles are closed (thread
 * mode). */
static void node_down(sg_app *a)
{
	close_ptimer(a);
	sg_node_del(a->node);
	a->node = NULL;
	uv_mutex_lock(&a->mu);
	if (a->wake_open) {
		a->wake_open = 0;
		uv_close((uv_handle_t *)&a->wake, NULL);
	}
	uv_mutex_unlock(&a->mu);
	uv_run(a->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(a->loop) != 0)
		sg_log(&a->env, SG_LOG_WARN, MOD,
		       "the node's loop closed with handles left");
}

static void thread_main(void *arg)
{
	sg_app *a = arg;
	int rc, loop_ok;

	/* Before anything can call back: calls from this thread run at
	 * once instead of waiting for themselves. */
	uv_mutex_lock(&a->mu);
	a->loop_tid = uv_thread_self();
	a->have_tid = 1;
	uv_mutex_unlock(&a->mu);
	a->loop = &a->own_loop;
	loop_ok = uv_loop_init(a->loop) == 0;
	rc = loop_ok ? 0 : SG_ERR_IO;
	if (rc == 0) {
		uv_async_init(a->loop, &a->wake, on_wake);
		a->wake.data = a;
		a->wake_open = 1;
		rc = node_up(a);
	}
	uv_mutex_lock(&a->mu);
	a->start_rc = rc;
	a->state = rc == 0 ? ST_RUNNING : ST_FAILED;
	uv_cond_broadcast(&a->cv_done);
	uv_mutex_unlock(&a->mu);
	if (rc == 0)
		uv_run(a->loop, UV_RUN_DEFAULT);
	if (loop_ok)
		node_down(a);
	uv_mutex_lock(&a->mu);
	fail_commands(a);
	mark_closed(a, rc == 0 ? ST_STOPPED : ST_FAILED);
	uv_mutex_unlock(&a->mu);
}

/* ---- the API ------------------------------------------------------------ */

void sg_app_config_default(sg_app_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->size = sizeof(*cfg);
	cfg->bind = "0.0.0.0:0";
	cfg->max_queued = 1024;
	cfg->max_queued_bytes = 16u << 20;
	cfg->peer_poll_ms = 250;
}

static int load_identity(sg_app *a, const sg_app_config *cfg)
{
	char dir[4096];
	int rc;

	if (cfg->identity != NULL) {
		*a->ident = *cfg->identity;
		/* The caller's expansion, if any, stays the caller's. */
		a->ident->xsk = NULL;
		a->ident->xsk_env = NULL;
		return 0;
	}
	if (cfg->identity_alias == NULL)
		return sg_identity_generate(a->ident, &a->env);
	if (cfg->keystore_dir != NULL) {
		if (snprintf(dir, sizeof(dir), "%s", cfg->keystore_dir) >=
		    (int)sizeof(dir))
			return SG_ERR_RANGE;
	} else if ((rc = sg_keystore_dir(dir, sizeof(dir), NULL)) != 0) {
		return rc == SG_ERR_BUFSIZE ? SG_ERR_RANGE : rc;
	}
	rc = sg_keystore_load(dir, cfg->identity_alias, cfg->passphrase,
			      a->ident);
	if (rc == SG_ERR_NOTFOUND && cfg->create_identity) {
		if ((rc = sg_identity_generate(a->ident, &a->env)) != 0)
			return rc;
		rc = sg_keystore_save(dir, cfg->identity_alias, a->ident,
				      cfg->passphrase, NULL, 0, &a->env);
		if (rc == 0)
			sg_log(&a->env, SG_LOG_INFO, MOD,
			       "created identity '%s' in %s",
			       cfg->identity_alias, dir);
	}
	return rc;
}

static int make_tmp_dir(sg_app *a)
{
	const char *base = getenv("TMPDIR");
	char path[4096];

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	if (snprintf(path, sizeof(path), "%s/sg-app-XXXXXX", base) >=
	    (int)sizeof(path))
		return SG_ERR_RANGE;
	if (mkdtemp(path) == NULL) {
		sg_log(&a->env, SG_LOG_ERROR, MOD,
		       "cannot create a temporary directory in %s: %s", base,
		       strerror(errno));
		return SG_ERR_IO;
	}
	if ((a->data_dir = dup_str(&a->env, path)) == NULL) {
		rmdir(path);
		return SG_ERR_NOMEM;
	}
	a->tmp_dir = 1;
	return 0;
}

/* Removes the private data directory: only the node's own files are in
 * it (peers.db and its journal files, control.sock). */
static void remove_tmp_dir(sg_app *a)
{
	DIR *d;
	struct dirent *e;
	char path[4400];

	if (!a->tmp_dir || a->data_dir == NULL)
		return;
	if ((d = opendir(a->data_dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			if (snprintf(path, sizeof(path), "%s/%s", a->data_dir,
				     e->d_name) < (int)sizeof(path))
				unlink(path);
		}
		closedir(d);
	}
	if (rmdir(a->data_dir) != 0)
		sg_log(&a->env, SG_LOG_WARN, MOD, "cannot remove %s: %s",
		       a->data_dir, strerror(errno));
}

static void app_free(sg_app *a)
{
	size_t i;
	sg_env env = a->env;

	while (a->qcount > 0) {
		sg_free(&env, a->ring[a->qhead]);
		a->qhead = (a->qhead + 1) % a->cfg.max_queued;
		a->qcount--;
	}
	sg_free(&env, a->ring);
	if (a->pipe_r >= 0)
		close(a->pipe_r);
	if (a->pipe_w >= 0)
		close(a->pipe_w);
	remove_tmp_dir(a);
	if (a->ident != NULL) {
		sg_identity_wipe(a->ident);
		sg_free(&env, a->ident);
	}
	for (i = 0; a->contacts != NULL && i < a->cfg.n_coordinators; i++)
		sg_free(&env, a->contacts[i]);
	sg_free(&env, a->contacts);
	sg_free(&env, a->bind);
	sg_free(&env, a->data_dir);
	uv_cond_destroy(&a->cv_q);
	uv_cond_destroy(&a->cv_done);
	uv_mutex_destroy(&a->mu);
	sg_free(&env, a);
}

/* The config as this library knows it: an older, shorter one is padded
 * with the defaults. */
static int check_config(const sg_app_config *in, sg_app_config *c)
{
	struct sockaddr_storage sa;
	size_t i;

	sg_app_config_default(c);
	if (in == NULL || in->size < sizeof(in->size) || in->size > sizeof(*c))
		return SG_ERR_INVAL;
	memcpy(c, in, in->size);
	c->size = sizeof(*c);
	if (c->bind == NULL)
		c->bind = "0.0.0.0:0";
	if (sg_node_parse_addr(c->bind, &sa) != 0 || c->max_queued == 0 ||
	    c->max_queued_bytes == 0 || c->peer_poll_ms == 0 ||
	    (c->n_coordinators > 0 && c->coordinators == NULL))
		return SG_ERR_INVAL;
	for (i = 0; i < c->n_coordinators; i++) {
		const char *s = c->coordinators[i], *at;
		sg_peer_id id;
		if (s == NULL)
			return SG_ERR_INVAL;
		if ((at = strchr(s, '@')) != NULL) {
			if (sg_peer_id_parse(&id, s, (size_t)(at - s)) != 0)
				return SG_ERR_INVAL;
			s = at + 1;
		}
		if (sg_node_parse_addr(s, &sa) != 0)
			return SG_ERR_INVAL;
	}
	return 0;
}

sg_app *sg_app_new(const sg_app_config *cfg, int *err)
{
	sg_app_config c;
	sg_env env;
	sg_app *a;
	int fds[2], rc, dummy;
	size_t i;

	if (err == NULL)
		err = &dummy;
	if ((rc = check_config(cfg, &c)) != 0) {
		*err = rc;
		return NULL;
	}
	if (c.env != NULL) {
		env = *c.env;
	} else if ((rc = sg_env_default(&env)) != 0) {
		*err = rc;
		return NULL;
	}
	*err = SG_ERR_NOMEM;
	a = sg_calloc(&env, 1, sizeof(*a));
	if (a == NULL)
		return NULL;
	a->env = env;
	a->cfg = c;
	a->cfg.env = NULL;
	a->pipe_r = a->pipe_w = -1;
	if (uv_mutex_init(&a->mu) != 0) {
		sg_free(&env, a);
		return NULL;
	}
	if (uv_cond_init(&a->cv_done) != 0) {
		uv_mutex_destroy(&a->mu);
		sg_free(&env, a);
		return NULL;
	}
	if (uv_cond_init(&a->cv_q) != 0) {
		uv_cond_destroy(&a->cv_done);
		uv_mutex_destroy(&a->mu);
		sg_free(&env, a);
		return NULL;
	}
	/* From here on app_free() undoes whatever was done. */
	a->ring = sg_calloc(&env, c.max_queued, sizeof(*a->ring));
	a->ident = sg_calloc(&env, 1, sizeof(*a->ident));
	a->bind = dup_str(&env, c.bind);
	if (c.n_coordinators > 0)
		a->contacts =
		    sg_calloc(&env, c.n_coordinators, sizeof(*a->contacts));
	if (a->ring == NULL || a->ident == NULL || a->bind == NULL ||
	    (c.n_coordinators > 0 && a->contacts == NULL))
		goto fail;
	for (i = 0; i < c.n_coordinators; i++)
		if ((a->contacts[i] = dup_str(&env, c.coordinators[i])) == NULL)
			goto fail;
	a->cfg.coordinators = NULL;
	a->cfg.bind = NULL;
	a->cfg.identity = NULL;
	a->cfg.passphrase = NULL;
	if (pipe(fds) != 0) {
		*err = SG_ERR_IO;
		goto fail;
	}
	a->pipe_r = fds[0];
	a->pipe_w = fds[1];
	if (set_nonblock(a->pipe_r) != 0 || set_nonblock(a->pipe_w) != 0) {
		*err = SG_ERR_IO;
		goto fail;
	}
	/* The node signs every handshake, claim and publication with this
	 * identity: expand its ML-DSA key once (about 47 KB). */
	if ((rc = load_identity(a, &c)) != 0 ||
	    (rc = sg_identity_expand(a->ident, &a->env)) != 0) {
		*err = rc;
		goto fail;
	}
	if (c.data_dir != NULL) {
		if ((a->data_dir = dup_str(&env, c.data_dir)) == NULL)
			goto fail;
	} else if ((rc = make_tmp_dir(a)) != 0) {
		*err = rc;
		goto fail;
	}
	a->cfg.data_dir = NULL;
	a->cfg.identity_alias = NULL;
	a->cfg.keystore_dir = NULL;
	a->state = ST_NEW;
	*err = 0;
	return a;
fail:
	app_free(a);
	return NULL;
}

int sg_app_start(sg_app *a, struct uv_loop_s *loop)
{
	int rc;

	if (a == NULL)
		return SG_ERR_INVAL;
	uv_mutex_lock(&a->mu);
	if (a->state != ST_NEW) {
		uv_mutex_unlock(&a->mu);
		return SG_ERR_STATE;
	}
	a->state = ST_STARTING;
	a->threaded = loop == NULL;
	uv_mutex_unlock(&a->mu);
	if (loop != NULL) {
		a->loop = loop;
		a->loop_tid = uv_thread_self();
		a->have_tid = 1;
		rc = node_up(a);
		if (rc != 0) {
			close_ptimer(a);
			sg_node_del(a->node);
			a->node = NULL;
		}
		uv_mutex_lock(&a->mu);
		a->start_rc = rc;
		if (rc == 0)
			a->state = ST_RUNNING;
		else
			mark_closed(a, ST_FAILED);
		uv_mutex_unlock(&a->mu);
		return rc;
	}
	if (uv_thread_create(&a->thread, thread_main, a) != 0) {
		uv_mutex_lock(&a->mu);
		mark_closed(a, ST_FAILED);
		uv_mutex_unlock(&a->mu);
		return SG_ERR_IO;
	}
	uv_mutex_lock(&a->mu);
	a->thread_made = 1;
	while (a->state == ST_STARTING)
		uv_cond_wait(&a->cv_done, &a->mu);
	rc = a->state == ST_FAILED ? a->start_rc : 0;
	uv_mutex_unlock(&a->mu);
	if (rc != 0) {
		uv_thread_join(&a->thread);
		uv_mutex_lock(&a->mu);
		a->joined = 1;
		uv_mutex_unlock(&a->mu);
	}
	return rc;
}

/* Runs c on the node thread and returns its result. */
static long run_cmd(sg_app *a, struct cmd *c)
{
	uv_mutex_lock(&a->mu);
	if (a->state == ST_NEW || a->state == ST_STARTING) {
		uv_mutex_unlock(&a->mu);
		return SG_ERR_STATE;
	}
	if (on_loop_thread(a)) {
		uv_mutex_unlock(&a->mu);
		if (a->leaving || a->node == NULL)
			return SG_ERR_CLOSED;
		return exec_cmd(a, c);
	}
	if (!a->threaded) {
		uv_mutex_unlock(&a->mu);
		return SG_ERR_STATE;
	}
	if (a->state != ST_RUNNING) {
		uv_mutex_unlock(&a->mu);
		return SG_ERR_CLOSED;
	}
	c->next = NULL;
	c->done = 0;
	if (a->cq_tail != NULL)
		a->cq_tail->next = c;
	else
		a->cq_head = c;
	a->cq_tail = c;
	/* Under the mutex: the handle is open while the state is RUNNING. */
	uv_async_send(&a->wake);
	while (!c->done)
		uv_cond_wait(&a->cv_done, &a->mu);
	uv_mutex_unlock(&a->mu);
	return c->rc;
}

int sg_app_subscribe(sg_app *a, const char *topic, sg_app_cb cb, void *ud)
{
	struct cmd c;
	int rc;

	if (a == NULL)
		return SG_ERR_INVAL;
	memset(&c, 0, sizeof(c));
	if ((rc = topic_len(topic, &c.topic_len)) != 0)
		return rc;
	c.op = C_SUB;
	c.topic = topic;
	c.cb = cb;
	c.ud = ud;
	return (int)run_cmd(a, &c);
}

int sg_app_unsubscribe(sg_app *a, const char *topic)
{
	struct cmd c;
	int rc;

	if (a == NULL)
		return SG_ERR_INVAL;
	memset(&c, 0, sizeof(c));
	if ((rc = topic_len(topic, &c.topic_len)) != 0)
		return rc;
	c.op = C_UNSUB;
	c.topic = topic;
	return (int)run_cmd(a, &c);
}

int sg_app_publish(sg_app *a, const char *topic, const uint8_t *payload,
		   size_t len, uint8_t id[32])
{
	static const uint8_t empty[1];
	struct cmd c;
	int rc;

	if (a == NULL || (payload == NULL && len > 0))
		return SG_ERR_INVAL;
	memset(&c, 0, sizeof(c));
	if ((rc = topic_len(topic, &c.topic_len)) != 0)
		return rc;
	if (len > SG_APP_MAX_PAYLOAD)
		return SG_ERR_RANGE;
	c.op = C_PUB;
	c.topic = topic;
	c.payload = payload != NULL ? payload : empty;
	c.len = len;
	c.id = id;
	return (int)run_cmd(a, &c);
}

long sg_app_peers(sg_app *a, sg_app_peer *out, size_t max)
{
	struct cmd c;

	if (a == NULL || (out == NULL && max > 0))
		return SG_ERR_INVAL;
	memset(&c, 0, sizeof(c));
	c.op = C_PEERS;
	c.peers = out;
	c.max = max;
	return run_cmd(a, &c);
}

int sg_app_request(sg_app *a, const sg_peer_id *to, const uint8_t *req,
		   size_t len, uint32_t timeout_ms, uint64_t *id)
{
	struct cmd c;
	uint8_t dummy;
	int rc;

	if (a == NULL || to == NULL || (req == NULL && len > 0))
		return SG_ERR_INVAL;
	if (len > SG_APP_MAX_PAYLOAD || timeout_ms < 100 ||
	    timeout_ms > 600000)
		return SG_ERR_RANGE;
	memset(&c, 0, sizeof(c));
	c.op = C_REQ;
	c.to = to;
	c.payload = req;
	c.len = len;
	c.timeout_ms = timeout_ms;
	c.id = &dummy; /* ask for the id */
	rc = (int)run_cmd(a, &c);
	if (rc == 0 && id != NULL)
		*id = c.req_id;
	return rc;
}

int sg_app_respond(sg_app *a, const sg_peer_id *to, uint64_t id, int status,
		   const uint8_t *resp, size_t len)
{
	struct cmd c;

	if (a == NULL || to == NULL || (resp == NULL && len > 0 && status == 0))
		return SG_ERR_INVAL;
	if (len > SG_APP_MAX_PAYLOAD || status > 0 || status < -1000)
		return SG_ERR_RANGE;
	memset(&c, 0, sizeof(c));
	c.op = C_RESP;
	c.to = to;
	c.req_id = id;
	c.status = status;
	c.payload = resp;
	c.len = len;
	return (int)run_cmd(a, &c);
}

static long presence_cmd(sg_app *a, int op, const char *group,
			 sg_app_member *out, size_t max)
{
	struct cmd c;
	int rc;

	if (a == NULL || (out == NULL && max > 0))
		return SG_ERR_INVAL;
	memset(&c, 0, sizeof(c));
	if ((rc = topic_len(group, &c.topic_len)) != 0)
		return rc;
	c.op = op;
	c.topic = group;
	c.members = out;
	c.max = max;
	return run_cmd(a, &c);
}

int sg_app_presence_start(sg_app *a, const char *group)
{
	return (int)presence_cmd(a, C_PSTART, group, NULL, 0);
}

int sg_app_presence_stop(sg_app *a, const char *group)
{
	return (int)presence_cmd(a, C_PSTOP, group, NULL, 0);
}

long sg_app_presence_online(sg_app *a, const char *group, sg_app_member *out,
			    size_t max)
{
	return presence_cmd(a, C_ONLINE, group, out, max);
}

int sg_app_poll(sg_app *a, sg_app_event **out, int timeout_ms)
{
	uint64_t deadline = 0, now;
	int wait;

	if (out != NULL)
		*out = NULL;
	if (a == NULL || out == NULL)
		return SG_ERR_INVAL;
	uv_mutex_lock(&a->mu);
	if (a->state == ST_NEW || a->state == ST_STARTING) {
		uv_mutex_unlock(&a->mu);
		return SG_ERR_STATE;
	}
	wait = timeout_ms != 0 && !on_loop_thread(a);
	if (timeout_ms > 0)
		deadline = uv_hrtime() + (uint64_t)timeout_ms * 1000000u;
	while (a->qcount == 0) {
		if (a->state == ST_STOPPED || a->state == ST_FAILED) {
			uv_mutex_unlock(&a->mu);
			return SG_ERR_CLOSED;
		}
		if (!wait) {
			uv_mutex_unlock(&a->mu);
			return SG_ERR_AGAIN;
		}
		if (timeout_ms < 0) {
			uv_cond_wait(&a->cv_q, &a->mu);
			continue;
		}
		now = uv_hrtime();
		if (now >= deadline) {
			uv_mutex_unlock(&a->mu);
			return SG_ERR_AGAIN;
		}
		/* A timeout, a wake-up or a spurious one: look again. */
		(void)uv_cond_timedwait(&a->cv_q, &a->mu, deadline - now);
	}
	*out = a->ring[a->qhead];
	a->qhead = (a->qhead + 1) % a->cfg.max_queued;
	a->qcount--;
	a->qbytes -= (*out)->payload_len;
	if (a->qcount == 0)
		fd_unsignal(a);
	uv_mutex_unlock(&a->mu);
	return 0;
}

int sg_app_fd(const sg_app *a)
{
	return a != NULL ? a->pipe_r : -1;
}

sg_app_kind sg_app_event_kind(const sg_app_event *ev)
{
	return ev->kind;
}

const char *sg_app_event_topic(const sg_app_event *ev, size_t *len)
{
	if (len != NULL)
		*len = ev->topic != NULL ? ev->topic_len : 0;
	return ev->topic;
}

const uint8_t *sg_app_event_payload(const sg_app_event *ev, size_t *len)
{
	if (len != NULL)
		*len = ev->payload_len;
	return ev->payload;
}

const sg_peer_id *sg_app_event_peer(const sg_app_event *ev)
{
	return &ev->peer;
}

const char *sg_app_event_addr(const sg_app_event *ev)
{
	return ev->addr;
}

uint64_t sg_app_event_seq(const sg_app_event *ev)
{
	return ev->seq;
}

uint64_t sg_app_event_publish_ms(const sg_app_event *ev)
{
	return ev->publish_ms;
}

uint32_t sg_app_event_hops(const sg_app_event *ev)
{
	return ev->hops;
}

const uint8_t *sg_app_event_msg_id(const sg_app_event *ev)
{
	return ev->kind == SG_APP_MESSAGE ? ev->id : NULL;
}

int sg_app_event_status(const sg_app_event *ev)
{
	return ev->kind == SG_APP_RESPONSE ? ev->status : 0;
}

void sg_app_event_free(sg_app_event *ev)
{
	if (ev != NULL && ev->free_fn != NULL)
		ev->free_fn(ev->free_ud, ev);
}

const sg_peer_id *sg_app_id(const sg_app *a)
{
	return &a->ident->id;
}

int sg_app_local_addr(const sg_app *a, char *out, size_t cap)
{
	sg_app *m = (sg_app *)a; /* the mutex only */
	int rc = 0;

	uv_mutex_lock(&m->mu);
	if (a->local[0] == '\0')
		rc = SG_ERR_STATE;
	else if (strlen(a->local) >= cap)
		rc = SG_ERR_BUFSIZE;
	else
		memcpy(out, a->local, strlen(a->local) + 1);
	uv_mutex_unlock(&m->mu);
	return rc;
}

int sg_app_stats_get(sg_app *a, sg_app_stats *st)
{
	sg_app_stats s;
	size_t n;

	if (a == NULL || st == NULL || st->size < sizeof(st->size))
		return SG_ERR_INVAL;
	uv_mutex_lock(&a->mu);
	s = a->st;
	s.queued = a->qcount;
	s.queued_bytes = a->qbytes;
	uv_mutex_unlock(&a->mu);
	n = st->size < sizeof(s) ? st->size : sizeof(s);
	s.size = st->size;
	memcpy(st, &s, n);
	return 0;
}

int sg_app_stop(sg_app *a)
{
	if (a == NULL)
		return SG_ERR_INVAL;
	uv_mutex_lock(&a->mu);
	switch (a->state) {
	case ST_NEW:
		mark_closed(a, ST_STOPPED);
		uv_mutex_unlock(&a->mu);
		return 0;
	case ST_STARTING:
		uv_mutex_unlock(&a->mu);
		return SG_ERR_STATE;
	case ST_FAILED:
		uv_mutex_unlock(&a->mu);
		return 0;
	default:
		break;
	}
	if (!a->threaded) {
		int self = on_loop_thread(a);
		uv_mutex_unlock(&a->mu);
		if (!self)
			return SG_ERR_STATE;
		begin_leave(a);
		return 0;
	}
	if (on_loop_thread(a)) {
		uv_mutex_unlock(&a->mu);
		return SG_ERR_STATE;
	}
	if (a->state == ST_RUNNING) {
		a->stop_requested = 1;
		a->state = ST_STOPPING;
		uv_async_send(&a->wake);
	}
	if (!a->joining) {
		a->joining = 1;
		uv_mutex_unlock(&a->mu);
		uv_thread_join(&a->thread);
		uv_mutex_lock(&a->mu);
		a->joined = 1;
		uv_cond_broadcast(&a->cv_done);
	}
	while (!a->joined)
		uv_cond_wait(&a->cv_done, &a->mu);
	uv_mutex_unlock(&a->mu);
	return 0;
}

void sg_app_del(sg_app *a)
{
	if (a == NULL)
		return;
	if (a->threaded) {
		if (on_loop_thread(a)) {
			sg_log(&a->env, SG_LOG_ERROR, MOD,
			       "sg_app_del called from the node thread: "
			       "ignored");
			return;
		}
		if (a->thread_made)
			sg_app_stop(a);
	} else if (a->loop != NULL) {
		/* Loop mode: the node's handles close as the caller's loop
		 * runs on; the node frees itself then. */
		close_ptimer(a);
		sg_node_del(a->node);
		a->node = NULL;
	}
	app_free(a);
}
