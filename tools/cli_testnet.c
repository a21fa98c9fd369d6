/*
 * saorsa-gossip testnet: a coordinator and N nodes as separate processes
 * on loopback. It subscribes every node to a topic through its control
 * socket, publishes messages from the nodes in turn, and reports who
 * received what and how fast (latency measured here, at the receivers'
 * control streams, from the moment the publish request was sent), the
 * nodes' memory and idle CPU; with --churn K it also kills K nodes,
 * publishes without them, stops the coordinator and restarts them so that
 * their peer caches bring them back, and publishes again. Then every node
 * is asked to leave and the processes are reaped.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "sg/cbor.h"
#include "sg/control.h"
#include "sg/err.h"
#include "sg/keystore.h"

#define TOPIC "testnet"
#define MAX_NODES 1000

typedef struct tnode {
	pid_t pid;
	int alive;
	int sub_fd;
	uint8_t *rbuf;
	size_t rlen, rcap;
	char dir[4096];
	char alias[32];
	sg_peer_id id;
	unsigned long long rss_kb;
	unsigned long long cpu_ticks;
} tnode;

typedef struct tmsg {
	uint8_t id[SG_MSG_ID_LEN];
	int publisher;
	uint64_t sent_us;
	int expected;
	int received;
	uint8_t *got; /* per node */
} tmsg;

typedef struct tnet {
	cli *c;
	char tmp[64];
	char self_dir[PATH_MAX];
	char coord_addr[64];
	char coord_hex[SG_PEER_ID_HEX_LEN];
	pid_t coord_pid;
	size_t n;
	tnode *nodes;
	tmsg *msgs;
	size_t nmsgs, cap_msgs;
	double *lat; /* ms, every delivery */
	size_t nlat, cap_lat;
	int verbose;
	size_t parallel; /* messages published at once (--parallel) */
} tnet;

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {(time_t)(ms / 1000),
			      (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int free_udp_port(void)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), port = -1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &l) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static pid_t spawn(tnet *t, char *const argv[], const char *log_path)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		int nul = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			close(nul);
		}
		setpgid(0, 0); /* a Ctrl-C on the terminal reaches us only */
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0)
		cli_err(t->c, "fork: %s", strerror(errno));
	return pid;
}

static int ctl_fd(const char *dir)
{
	struct sockaddr_un su;
	int fd;

	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	if (snprintf(su.sun_path, sizeof(su.sun_path), "%s/%s", dir,
		     SG_CTL_SOCKET_NAME) >= (int)sizeof(su.sun_path))
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&su, sizeof(su)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* STATUS of node i: its active neighbour count, or -1. */
static long node_active(tnet *t, size_t i)
{
	sg_ctl_request r = {.op = SG_CTL_STATUS};
	int fd = ctl_fd(t->nodes[i].dir);
	uint8_t *m;
	size_t len, count;
	sg_cbor_dec d;
	int64_t st;
	uint64_t up, act;
	const uint8_t *id;
	const char *a;
	size_t al;
	long res = -1;

	if (fd < 0)
		return -1;
	if (cli_ctl_request(fd, &r) == 0 && (m = cli_ctl_read(fd, &len))) {
		sg_cbor_dec_init(&d, m, len);
		if (sg_cbor_get_array(&d, &count) == 0 && count == 12 &&
		    sg_cbor_get_int(&d, &st) == 0 && st == 0 &&
		    sg_cbor_get_bytes_len(&d, &id, SG_PEER_ID_LEN) == 0 &&
		    sg_cbor_get_text(&d, &a, &al) == 0 &&
		    sg_cbor_get_uint(&d, &up) == 0 &&
		    sg_cbor_get_uint(&d, &act) == 0)
			res = (long)act;
		free(m);
	}
	close(fd);
	return res;
}

/* LIST of node i: its swarm neighbours on TOPIC, or -1. */
static long node_swarm(tnet *t, size_t i)
{
	sg_ctl_request r = {.op = SG_CTL_LIST};
	int fd = ctl_fd(t->nodes[i].dir);
	uint8_t *m;
	size_t len, count, n, k;
	sg_cbor_dec d;
	int64_t st;
	long res = -1;

	if (fd < 0)
		return -1;
	if (cli_ctl_request(fd, &r) == 0 && (m = cli_ctl_read(fd, &len))) {
		sg_cbor_dec_init(&d, m, len);
		if (sg_cbor_get_array(&d, &count) == 0 && count == 2 &&
		    sg_cbor_get_int(&d, &st) == 0 && st == 0 &&
		    sg_cbor_get_array(&d, &n) == 0)
			for (k = 0; k < n; k++) {
				size_t f, tl;
				const char *tn;
				const uint8_t *tid;
				uint64_t nb;
				if (sg_cbor_get_array(&d, &f) != 0 || f != 3 ||
				    sg_cbor_get_text(&d, &tn, &tl) != 0 ||
				    sg_cbor_get_bytes_len(&d, &tid, 32) != 0 ||
				    sg_cbor_get_uint(&d, &nb) != 0)
					break;
				if (tl == strlen(TOPIC) &&
				    memcmp(tn, TOPIC, tl) == 0)
					res = (long)nb;
			}
		free(m);
	}
	close(fd);
	return res;
}

/* Waits (at most timeout_ms) until every alive node has a neighbour in
 * the topic's swarm; a node without one after that gets its messages by
 * catch-up, later. */
static void wait_swarm(tnet *t, unsigned timeout_ms)
{
	uint64_t end = mono_us() + (uint64_t)timeout_ms * 1000;
	size_t i;

	while (mono_us() < end) {
		size_t ok = 0, alive = 0;
		for (i = 0; i < t->n; i++) {
			if (!t->nodes[i].alive)
				continue;
			alive++;
			ok += node_swarm(t, i) >= 1;
		}
		if (ok == alive)
			return;
		sleep_ms(200);
	}
}

static int start_node(tnet *t, size_t i)
{
	tnode *nd = &t->nodes[i];
	char exe[PATH_MAX + 32], coord[160], logp[4200];
	char *argv[20];
	int k = 0;

	snprintf(exe, sizeof(exe), "%s/saorsa-gossip", t->self_dir);
	snprintf(coord, sizeof(coord), "%s@%s", t->coord_hex, t->coord_addr);
	snprintf(logp, sizeof(logp), "%s.log", nd->dir);
	argv[k++] = exe;
	argv[k++] = "-c";
	argv[k++] = t->tmp;
	argv[k++] = "network";
	argv[k++] = "join";
	argv[k++] = "--identity";
	argv[k++] = nd->alias;
	argv[k++] = "--coordinator";
	argv[k++] = coord;
	argv[k++] = "--bind";
	argv[k++] = "127.0.0.1:0";
	argv[k++] = "--data-dir";
	argv[k++] = nd->dir;
	if (t->verbose)
		argv[k++] = "-v";
	argv[k] = NULL;
	nd->pid = spawn(t, argv, logp);
	nd->alive = nd->pid > 0;
	return nd->alive ? 0 : -1;
}

static int start_coordinator(tnet *t)
{
	char exe[PATH_MAX + 48], idp[160], ddir[160], logp[160];
	char *argv[16];
	int k = 0;

	snprintf(exe, sizeof(exe), "%s/saorsa-gossip-coordinator", t->self_dir);
	snprintf(idp, sizeof(idp), "%s/keystore/coordinator.key", t->tmp);
	snprintf(ddir, sizeof(ddir), "%s/coordinator", t->tmp);
	snprintf(logp, sizeof(logp), "%s/coordinator.log", t->tmp);
	argv[k++] = exe;
	argv[k++] = "--bind";
	argv[k++] = t->coord_addr;
	argv[k++] = "--identity-path";
	argv[k++] = idp;
	argv[k++] = "--data-dir";
	argv[k++] = ddir;
	argv[k++] = "--publish-interval";
	argv[k++] = "60";
	if (t->verbose)
		argv[k++] = "-v";
	argv[k] = NULL;
	t->coord_pid = spawn(t, argv, logp);
	return t->coord_pid > 0 ? 0 : -1;
}

/* Waits until every alive node answers and has a neighbour. */
static int wait_joined(tnet *t, unsigned timeout_ms)
{
	uint64_t end = mono_us() + (uint64_t)timeout_ms * 1000;
	size_t i;

	for (;;) {
		size_t ok = 0, alive = 0;
		for (i = 0; i < t->n; i++) {
			if (!t->nodes[i].alive)
				continue;
			alive++;
			if (node_active(t, i) >= 1)
				ok++;
		}
		if (ok == alive)
			return 0;
		if (mono_us() > end) {
			cli_err(t->c, "%zu of %zu nodes joined within %u s "
				      "(logs in %s)",
				ok, alive, timeout_ms / 1000, t->tmp);
			return -1;
		}
		sleep_ms(200);
	}
}

static int subscribe(tnet *t, size_t i)
{
	tnode *nd = &t->nodes[i];
	sg_ctl_request r = {.op = SG_CTL_SUBSCRIBE, .topic = TOPIC, .topic_len = strlen(TOPIC)};
	uint8_t *m;
	size_t len;
	int fd = ctl_fd(nd->dir);

	if (fd < 0)
		return -1;
	if (cli_ctl_request(fd, &r) != 0 || (m = cli_ctl_read(fd, &len)) == NULL) {
		close(fd);
		return -1;
	}
	if (len != 2 || m[0] != 0x81 || m[1] != 0x00) {
		free(m);
		close(fd);
		return -1;
	}
	free(m);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (nd->sub_fd >= 0)
		close(nd->sub_fd);
	nd->sub_fd = fd;
	nd->rlen = 0;
	return 0;
}

static void on_delivery(tnet *t, size_t node, const uint8_t *body,
			size_t len, uint64_t now)
{
	cli_message ev;
	size_t j;

	if (sg_cbor_validate(body, len, NULL) != 0 ||
	    cli_message_decode(&ev, body, len) != 0)
		return;
	for (j = 0; j < t->nmsgs; j++) {
		tmsg *m = &t->msgs[j];
		if (memcmp(m->id, ev.id, SG_MSG_ID_LEN) != 0)
			continue;
		if (!m->got[node]) {
			m->got[node] = 1;
			m->received++;
			if (t->nlat < t->cap_lat)
				t->lat[t->nlat++] =
					(double)(now - m->sent_us) / 1000.0;
		}
		return;
	}
}

/* Reads what the subscription streams have, for up to wait_ms. */
static void collect(tnet *t, unsigned wait_ms)
{
	struct pollfd *p = calloc(t->n, sizeof(*p));
	size_t i, np = 0;
	size_t *map = calloc(t->n, sizeof(*map));

	if (p == NULL || map == NULL) {
		free(p);
		free(map);
		return;
	}
	for (i = 0; i < t->n; i++)
		if (t->nodes[i].alive && t->nodes[i].sub_fd >= 0) {
			p[np].fd = t->nodes[i].sub_fd;
			p[np].events = POLLIN;
			map[np++] = i;
		}
	if (poll(p, np, (int)wait_ms) > 0) {
		uint64_t now = mono_us();
		for (i = 0; i < np; i++) {
			tnode *nd = &t->nodes[map[i]];
			if (!(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			for (;;) {
				ssize_t k;
				if (nd->rcap - nd->rlen < 65536) {
					size_t nc = nd->rcap * 2 + 65536;
					uint8_t *b;
					if (nc > 8u << 20)
						break;
					b = realloc(nd->rbuf, nc);
					if (b == NULL)
						break;
					nd->rbuf = b;
					nd->rcap = nc;
				}
				k = read(nd->sub_fd, nd->rbuf + nd->rlen,
					 nd->rcap - nd->rlen);
				if (k <= 0) {
					if (k == 0) {
						close(nd->sub_fd);
						nd->sub_fd = -1;
					}
					break;
				}
				nd->rlen += (size_t)k;
			}
			while (nd->rlen >= 4) {
				size_t ml = (size_t)nd->rbuf[0] << 24 |
					    (size_t)nd->rbuf[1] << 16 |
					    (size_t)nd->rbuf[2] << 8 |
					    nd->rbuf[3];
				if (nd->rlen < 4 + ml)
					break;
				on_delivery(t, map[i], nd->rbuf + 4, ml, now);
				memmove(nd->rbuf, nd->rbuf + 4 + ml,
					nd->rlen - 4 - ml);
				nd->rlen -= 4 + ml;
			}
		}
	}
	free(p);
	free(map);
}

/* Sends a PUBLISH to node's control socket: its fd, or -1. The message
 * is recorded by publish_done() once the node answered with its id. */
static int publish_send(tnet *t, size_t node, const char *text,
			uint64_t *sent)
{
	sg_ctl_request r = {.op = SG_CTL_PUBLISH,
			    .topic = TOPIC,
			    .topic_len = strlen(TOPIC),
			    .payload = (const uint8_t *)text,
			    .payload_len = strlen(text)};
	int fd = ctl_fd(t->nodes[node].dir);

	if (fd < 0)
		return -1;
	*sent = mono_us();
	if (cli_ctl_request(fd, &r) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads the node's answer [0, id] on fd (closed) and records the message
 * as sent at `sent` by node. */
static int publish_done(tnet *t, size_t node, int fd, uint64_t sent)
{
	uint8_t *m;
	size_t len, i;
	tmsg *msg;

	m = cli_ctl_read(fd, &len);
	close(fd);
	if (m == NULL)
		return -1;
	if (t->nmsgs == t->cap_msgs || len != 2 + 2 + SG_MSG_ID_LEN ||
	    m[0] != 0x82 || m[1] != 0x00) {
		free(m);
		return -1;
	}
	msg = &t->msgs[t->nmsgs];
	memset(msg, 0, sizeof(*msg));
	msg->got = calloc(t->n, 1);
	if (msg->got == NULL) {
		free(m);
		return -1;
	}
	memcpy(msg->id, m + 4, SG_MSG_ID_LEN);
	free(m);
	msg->publisher = (int)node;
	msg->sent_us = sent;
	for (i = 0; i < t->n; i++) {
		if (t->nodes[i].alive && i != node)
			msg->expected++;
		else /* the publisher itself, or a node down at the time: a
		      * later catch-up delivery is not counted */
			msg->got[i] = 1;
	}
	t->nmsgs++;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p)
{
	size_t i;
	if (n == 0)
		return 0;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

/* At most this many messages published at once (--parallel). */
#define PUBLISH_BATCH 64

typedef struct round_res {
	size_t msgs, expected, received, incomplete;
	double p50, p95, p99, max, secs, rate;
} round_res;

/* Publishes m messages from the alive nodes in turn and waits for them. */
static int run_round(tnet *t, int round, size_t m, unsigned timeout_ms,
		     round_res *res)
{
	size_t first = t->nmsgs, first_lat = t->nlat, i, pub = 0;
	uint64_t start = mono_us(), end;
	char text[128];

	memset(res, 0, sizeof(*res));
	/* --parallel P nodes publish at once (requests sent, then the answers
	 * read; P = 1: one after the other), so the offered load can exceed
	 * one signature at a time; deliveries are collected between
	 * batches. */
	for (i = 0; i < m;) {
		int fds[PUBLISH_BATCH];
		size_t who[PUBLISH_BATCH], k, nb = 0;
		uint64_t sent[PUBLISH_BATCH];
		for (; nb < t->parallel && i < m; i++, nb++) {
			size_t tries = 0;
			while (!t->nodes[pub % t->n].alive && tries++ < t->n)
				pub++;
			who[nb] = pub % t->n;
			snprintf(text, sizeof(text),
				 "round %d message %zu from %s", round, i,
				 t->nodes[who[nb]].alias);
			fds[nb] = publish_send(t, who[nb], text, &sent[nb]);
			pub++;
		}
		for (k = 0; k < nb; k++)
			if (fds[k] < 0 ||
			    publish_done(t, who[k], fds[k], sent[k]) != 0) {
				size_t bad = k;
				for (k++; k < nb; k++)
					if (fds[k] >= 0)
						close(fds[k]);
				cli_err(t->c, "publishing through %s failed",
					t->nodes[who[bad]].alias);
				return -1;
			}
		collect(t, 0);
	}
	end = mono_us() + (uint64_t)timeout_ms * 1000;
	for (;;) {
		size_t done = 0;
		for (i = first; i < t->nmsgs; i++)
			done += t->msgs[i].received >= t->msgs[i].expected;
		if (done == t->nmsgs - first || mono_us() > end)
			break;
		collect(t, 50);
	}
	res->secs = (double)(mono_us() - start) / 1e6;
	res->msgs = t->nmsgs - first;
	for (i = first; i < t->nmsgs; i++) {
		res->expected += (size_t)t->msgs[i].expected;
		res->received += (size_t)t->msgs[i].received;
		res->incomplete += t->msgs[i].received < t->msgs[i].expected;
	}
	qsort(t->lat + first_lat, t->nlat - first_lat, sizeof(double),
	      cmp_double);
	res->p50 = pct(t->lat + first_lat, t->nlat - first_lat, 0.50);
	res->p95 = pct(t->lat + first_lat, t->nlat - first_lat, 0.95);
	res->p99 = pct(t->lat + first_lat, t->nlat - first_lat, 0.99);
	res->max = t->nlat > first_lat ? t->lat[t->nlat - 1] : 0;
	/* throughput: messages over the time until the last delivery */
	{
		double last = res->max / 1000.0;
		double span = (double)(t->msgs[t->nmsgs - 1].sent_us -
				       t->msgs[first].sent_us) /
				      1e6 +
			      last;
		res->rate = span > 0 ? (double)res->msgs / span : 0;
	}
	return 0;
}

static void print_round(tnet *t, const char *name, const round_res *r,
			int *first_json)
{
	if (t->c->json) {
		printf("%s{\"round\":\"%s\",\"messages\":%zu,\"expected\":%zu,"
		       "\"received\":%zu,\"incomplete\":%zu,"
		       "\"latency_ms\":{\"p50\":%.1f,\"p95\":%.1f,\"p99\":%.1f,"
		       "\"max\":%.1f},\"msgs_per_s\":%.1f}",
		       *first_json ? "" : ",", name, r->msgs, r->expected,
		       r->received, r->incomplete, r->p50, r->p95, r->p99,
		       r->max, r->rate);
		*first_json = 0;
		return;
	}
	printf("%-9s %4zu messages: %zu of %zu deliveries%s; latency p50 "
	       "%.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms; %.1f msgs/s\n",
	       name, r->msgs, r->received, r->expected,
	       r->incomplete ? " (INCOMPLETE)" : "", r->p50, r->p95, r->p99,
	       r->max, r->rate);
}

static void sample_proc(tnode *nd)
{
	char path[64], buf[1024];
	FILE *f;

	nd->rss_kb = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)nd->pid);
	if ((f = fopen(path, "r")) != NULL) {
		while (fgets(buf, sizeof(buf), f) != NULL)
			if (strncmp(buf, "VmRSS:", 6) == 0)
				nd->rss_kb = strtoull(buf + 6, NULL, 10);
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)nd->pid);
	if ((f = fopen(path, "r")) != NULL) {
		if (fgets(buf, sizeof(buf), f) != NULL) {
			/* fields after the ')' of comm: state is 3rd; utime
			 * and stime are the 14th and 15th */
			char *p = strrchr(buf, ')');
			unsigned long long ut = 0, st = 0;
			if (p != NULL &&
			    sscanf(p + 2,
				   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
				   "%*u %llu %llu",
				   &ut, &st) == 2)
				nd->cpu_ticks = ut + st;
		}
		fclose(f);
	}
}

static void reap(tnet *t, unsigned grace_ms, size_t *clean)
{
	uint64_t end = mono_us() + (uint64_t)grace_ms * 1000;
	size_t i;
	int status;

	*clean = 0;
	for (;;) {
		size_t left = 0;
		for (i = 0; i < t->n; i++) {
			tnode *nd = &t->nodes[i];
			if (nd->pid <= 0)
				continue;
			if (waitpid(nd->pid, &status, WNOHANG) == nd->pid) {
				if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
					(*clean)++;
				nd->pid = 0;
				nd->alive = 0;
			} else {
				left++;
			}
		}
		if (t->coord_pid > 0 &&
		    waitpid(t->coord_pid, &status, WNOHANG) == t->coord_pid)
			t->coord_pid = 0;
		else if (t->coord_pid > 0)
			left++;
		if (left == 0)
			return;
		if (mono_us() > end)
			break;
		sleep_ms(50);
	}
	for (i = 0; i < t->n; i++)
		if (t->nodes[i].pid > 0) {
			kill(t->nodes[i].pid, SIGKILL);
			waitpid(t->nodes[i].pid, &status, 0);
			t->nodes[i].pid = 0;
		}
	if (t->coord_pid > 0) {
		kill(t->coord_pid, SIGKILL);
		waitpid(t->coord_pid, &status, 0);
		t->coord_pid = 0;
	}
}

static void rm_rf(const char *dir)
{
	pid_t pid = fork();
	if (pid == 0) {
		execlp("rm", "rm", "-rf", dir, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static const char testnet_usage[] =
	"usage: saorsa-gossip testnet [--nodes N] [--messages M] "
	"[--parallel P] [--churn K]\n"
	"                             [--keep] [--json] [-v]\n"
	"\n"
	"Starts a coordinator and N nodes (default 10, at most 1000) as "
	"separate processes\n"
	"on 127.0.0.1, subscribes every node to the topic 'testnet', "
	"publishes M messages\n"
	"(default 20) from the nodes in turn, and reports how many of the "
	"expected deliveries\n"
	"arrived and the latency from publishing to delivery (p50/p95/p99/"
	"max), the\n"
	"message rate, and each node's memory and idle CPU. Exits 0 when "
	"every message\n"
	"reached every node.\n"
	"\n"
	"  --parallel P  P nodes publish at once (default 1, at most 64): "
	"the offered load\n"
	"             for a throughput figure; latency is then queueing "
	"too\n"
	"  --churn K  then SIGKILL K nodes, publish M messages among the "
	"rest, stop the\n"
	"             coordinator, restart the K nodes (their peer caches "
	"bring them back)\n"
	"             and publish M messages to all\n"
	"  --keep     keep the temporary directory (identities, data "
	"directories, logs)\n";

int cli_testnet(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"nodes", required_argument, NULL, 'n'},
		{"messages", required_argument, NULL, 'm'},
		{"churn", required_argument, NULL, 'k'},
		{"parallel", required_argument, NULL, 'p'},
		{"keep", no_argument, NULL, 'K'},
		{"json", no_argument, NULL, 'j'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	tnet t;
	unsigned long nodes = 10, msgs = 20, churn = 0, parallel = 1;
	int keep = 0, ch, ok = 1, first_json = 1, port;
	size_t i, clean = 0;
	ssize_t sl;
	sg_identity *id;
	char ks[128];
	round_res r1, r2, r3;
	unsigned long long rss_sum = 0, rss_max = 0, cpu0 = 0, cpu1 = 0;
	long hz = sysconf(_SC_CLK_TCK);

	optind = 1;
	while ((ch = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		char *end;
		unsigned long *dst = ch == 'n'	 ? &nodes
				     : ch == 'm' ? &msgs
				     : ch == 'p' ? &parallel
						 : &churn;
		switch (ch) {
		case 'n':
		case 'm':
		case 'k':
		case 'p':
			*dst = strtoul(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' ||
			    optarg[0] == '-') {
				cli_err(c, "--%s needs a number",
					ch == 'n'   ? "nodes"
					: ch == 'm' ? "messages"
					: ch == 'p' ? "parallel"
						    : "churn");
				return CLI_USAGE;
			}
			break;
		case 'K':
			keep = 1;
			break;
		case 'j':
			c->json = 1;
			break;
		case 'v':
			c->verbose = 1;
			break;
		case 'h':
			fputs(testnet_usage, stdout);
			return CLI_OK;
		default:
			fputs(testnet_usage, stderr);
			return CLI_USAGE;
		}
	}
	if (optind < argc) {
		cli_err(c, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if (nodes < 2 || nodes > MAX_NODES || msgs < 1 || msgs > 100000 ||
	    churn >= nodes || parallel < 1 || parallel > PUBLISH_BATCH) {
		cli_err(c, "want 2 <= --nodes <= %d, 1 <= --messages <= "
			   "100000, --churn < --nodes, 1 <= --parallel <= %d",
			MAX_NODES, PUBLISH_BATCH);
		return CLI_USAGE;
	}
	memset(&t, 0, sizeof(t));
	t.c = c;
	t.n = nodes;
	t.verbose = c->verbose;
	t.parallel = parallel;
	sl = readlink("/proc/self/exe", t.self_dir, sizeof(t.self_dir) - 1);
	if (sl <= 0) {
		cli_err(c, "cannot find this program's directory");
		return CLI_FAIL;
	}
	t.self_dir[sl] = '\0';
	*strrchr(t.self_dir, '/') = '\0';
	snprintf(t.tmp, sizeof(t.tmp), "/tmp/sg-testnet-XXXXXX");
	if (mkdtemp(t.tmp) == NULL) {
		cli_err(c, "cannot create a temporary directory: %s",
			strerror(errno));
		return CLI_FAIL;
	}
	t.nodes = calloc(t.n, sizeof(tnode));
	t.cap_msgs = msgs * 3;
	t.msgs = calloc(t.cap_msgs, sizeof(tmsg));
	t.cap_lat = t.cap_msgs * t.n;
	t.lat = calloc(t.cap_lat, sizeof(double));
	id = malloc(sizeof(*id));
	if (t.nodes == NULL || t.msgs == NULL || t.lat == NULL || id == NULL) {
		cli_err(c, "out of memory");
		ok = 0;
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Identities: the coordinator's and one per node, unsealed, in a
	 * temporary keystore. */
	snprintf(ks, sizeof(ks), "%s/keystore", t.tmp);
	for (i = 0; i <= t.n; i++) {
		char alias[32];
		if (i == t.n)
			snprintf(alias, sizeof(alias), "coordinator");
		else
			snprintf(alias, sizeof(alias), "node%zu", i + 1);
		if (sg_identity_generate(id, &c->env) != 0 ||
		    sg_keystore_save(ks, alias, id, NULL, NULL, 0, &c->env) !=
			    0) {
			cli_err(c, "cannot create identity %s", alias);
			ok = 0;
			goto out;
		}
		if (i == t.n) {
			sg_peer_id_hex(t.coord_hex, &id->id);
		} else {
			tnode *nd = &t.nodes[i];
			snprintf(nd->alias, sizeof(nd->alias), "%s", alias);
			snprintf(nd->dir, sizeof(nd->dir), "%s/%s", t.tmp,
				 alias);
			nd->id = id->id;
			nd->sub_fd = -1;
		}
	}
	sg_identity_wipe(id);
	port = free_udp_port();
	if (port <= 0) {
		cli_err(c, "no free UDP port on 127.0.0.1");
		ok = 0;
		goto out;
	}
	snprintf(t.coord_addr, sizeof(t.coord_addr), "127.0.0.1:%d", port);
	if (!c->json)
		printf("testnet: coordinator %.16s on %s, %zu nodes, logs in "
		       "%s\n",
		       t.coord_hex, t.coord_addr, t.n, t.tmp);
	if (start_coordinator(&t) != 0) {
		ok = 0;
		goto out;
	}
	sleep_ms(300);
	for (i = 0; i < t.n; i++)
		if (start_node(&t, i) != 0) {
			ok = 0;
			goto out;
		}
	if (wait_joined(&t, 60000) != 0) {
		ok = 0;
		goto out;
	}
	for (i = 0; i < t.n; i++)
		if (subscribe(&t, i) != 0) {
			cli_err(c, "cannot subscribe %s", t.nodes[i].alias);
			ok = 0;
			goto out;
		}
	wait_swarm(&t, 15000);
	/* Let topic lists reach the neighbours, and measure idle CPU. */
	for (i = 0; i < t.n; i++) {
		sample_proc(&t.nodes[i]);
		cpu0 += t.nodes[i].cpu_ticks;
	}
	sleep_ms(3000);
	for (i = 0; i < t.n; i++) {
		sample_proc(&t.nodes[i]);
		cpu1 += t.nodes[i].cpu_ticks;
	}
	if (c->json)
		printf("{\"nodes\":%zu,\"rounds\":[", t.n);
	if (run_round(&t, 1, msgs, 30000, &r1) != 0) {
		ok = 0;
		goto out;
	}
	print_round(&t, "all", &r1, &first_json);
	ok = r1.incomplete == 0;
	for (i = 0; i < t.n; i++) {
		sample_proc(&t.nodes[i]);
		rss_sum += t.nodes[i].rss_kb;
		if (t.nodes[i].rss_kb > rss_max)
			rss_max = t.nodes[i].rss_kb;
	}
	if (churn > 0) {
		size_t k;
		/* Kill nodes 2 .. K+1 (node 1 keeps publishing). */
		for (k = 1; k <= churn; k++) {
			kill(t.nodes[k].pid, SIGKILL);
			waitpid(t.nodes[k].pid, NULL, 0);
			t.nodes[k].pid = 0;
			t.nodes[k].alive = 0;
			if (t.nodes[k].sub_fd >= 0)
				close(t.nodes[k].sub_fd);
			t.nodes[k].sub_fd = -1;
		}
		if (run_round(&t, 2, msgs, 30000, &r2) != 0) {
			ok = 0;
			goto out;
		}
		print_round(&t, "survivors", &r2, &first_json);
		ok = ok && r2.incomplete == 0;
		/* Coordinator down: the restarted nodes rejoin from their
		 * peer caches. */
		kill(t.coord_pid, SIGTERM);
		waitpid(t.coord_pid, NULL, 0);
		t.coord_pid = 0;
		for (k = 1; k <= churn; k++)
			if (start_node(&t, k) != 0)
				ok = 0;
		if (wait_joined(&t, 60000) != 0) {
			ok = 0;
			goto out;
		}
		for (k = 1; k <= churn; k++)
			if (subscribe(&t, k) != 0)
				ok = 0;
		wait_swarm(&t, 15000);
		sleep_ms(1000);
		if (run_round(&t, 3, msgs, 30000, &r3) != 0) {
			ok = 0;
			goto out;
		}
		print_round(&t, "restarted", &r3, &first_json);
		ok = ok && r3.incomplete == 0;
	}
	{
		double idle_cpu =
			hz > 0 ? (double)(cpu1 - cpu0) / (double)hz / 3.0 /
					 (double)t.n * 100.0
			       : 0;
		if (c->json)
			printf("],\"rss_kb\":{\"mean\":%llu,\"max\":%llu},"
			       "\"idle_cpu_percent_per_node\":%.2f,"
			       "\"complete\":%s}\n",
			       rss_sum / t.n, rss_max, idle_cpu,
			       ok ? "true" : "false");
		else
			printf("memory: %llu KiB resident per node on average, "
			       "%llu KiB at most; idle CPU %.2f%% of a core "
			       "per node\n",
			       rss_sum / t.n, rss_max, idle_cpu);
	}
out:
	/* Every node leaves politely; the coordinator is stopped. */
	for (i = 0; t.nodes != NULL && i < t.n; i++) {
		tnode *nd = &t.nodes[i];
		if (nd->alive) {
			sg_ctl_request r = {.op = SG_CTL_LEAVE};
			int fd = ctl_fd(nd->dir);
			if (fd >= 0) {
				uint8_t *m;
				size_t len;
				if (cli_ctl_request(fd, &r) == 0 &&
				    (m = cli_ctl_read(fd, &len)) != NULL)
					free(m);
				close(fd);
			} else if (nd->pid > 0) {
				kill(nd->pid, SIGTERM);
			}
		}
		if (nd->sub_fd >= 0)
			close(nd->sub_fd);
		free(nd->rbuf);
	}
	if (t.coord_pid > 0)
		kill(t.coord_pid, SIGTERM);
	if (t.nodes != NULL)
		reap(&t, 10000, &clean);
	if (!c->json && t.nodes != NULL)
		printf("shutdown: %zu of %zu nodes left the overlay and exited "
		       "cleanly\n",
		       clean, t.n);
	for (i = 0; i < t.nmsgs; i++)
		free(t.msgs[i].got);
	free(t.msgs);
	free(t.lat);
	free(t.nodes);
	free(id);
	if (!keep)
		rm_rf(t.tmp);
	else if (!c->json)
		printf("kept %s\n", t.tmp);
	if (!ok && !c->json)
		printf("testnet: NOT every message reached every node\n");
	return ok ? CLI_OK : CLI_FAIL;
}
