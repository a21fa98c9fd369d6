/*
 * saorsa-gossip network ... and pubsub ...: running a node in the
 * foreground, and talking to a running node through its control socket
 * (include/sg/control.h, docs/PROTOCOL.md "Control socket").
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "sg/cbor.h"
#include "sg/control.h"
#include "sg/err.h"
#include "sg/keystore.h"
#include "sg/node.h"

/* ---- logging ------------------------------------------------------------ */

static int log_json;

void cli_log_sink(void *ud, sg_log_level level, const char *module,
		  const char *msg)
{
	struct timespec ts;
	struct tm tm;
	char when[96];
	(void)ud;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	if (log_json) {
		fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"%s\",\"module\":",
			when, sg_log_level_name(level));
		cli_json_str(stderr, module);
		fprintf(stderr, ",\"msg\":");
		cli_json_str(stderr, msg);
		fprintf(stderr, "}\n");
	} else {
		const char *lv = level == SG_LOG_ERROR  ? "ERROR"
				 : level == SG_LOG_WARN ? "WARN"
				 : level == SG_LOG_INFO ? "INFO"
							: "DEBUG";
		fprintf(stderr, "%s %-5s %s: %s\n", when, lv, module, msg);
	}
	fflush(stderr);
}

void cli_log_setup(cli *c, int json)
{
	log_json = json;
	c->env.log = cli_log_sink;
	c->env.log_level = c->verbose ? SG_LOG_DEBUG : SG_LOG_INFO;
}

/* ---- running a node --------------------------------------------------- */

typedef struct runner {
	uv_loop_t loop;
	uv_signal_t sigint, sigterm;
	sg_node *node;
	const sg_env *env;
	int stopping;
} runner;

static void on_left(void *ud)
{
	runner *r = ud;
	uv_close((uv_handle_t *)&r->sigint, NULL);
	uv_close((uv_handle_t *)&r->sigterm, NULL);
}

static void on_signal(uv_signal_t *s, int signum)
{
	runner *r = s->data;

	if (r->stopping) {
		/* a second signal: do not wait any longer */
		on_left(r);
		uv_stop(&r->loop);
		return;
	}
	r->stopping = 1;
	sg_log(r->env, SG_LOG_INFO, "node",
	       "%s received: leaving the overlay",
	       signum == SIGINT ? "SIGINT" : "SIGTERM");
	sg_node_leave(r->node, on_left, r);
}

int cli_run_node(cli *c, sg_node_config *cfg, const sg_identity *id)
{
	runner r;
	int err;

	memset(&r, 0, sizeof(r));
	r.env = &c->env;
	signal(SIGPIPE, SIG_IGN);
	if (uv_loop_init(&r.loop) != 0) {
		cli_err(c, "cannot start the event loop");
		return CLI_FAIL;
	}
	r.node = sg_node_new(&r.loop, &c->env, cfg, id, &err);
	if (r.node == NULL) {
		cli_err(c, "cannot start the node: %s", sg_strerror(err));
		uv_run(&r.loop, UV_RUN_DEFAULT);
		uv_loop_close(&r.loop);
		return CLI_FAIL;
	}
	sg_node_set_exit_cb(r.node, on_left, &r);
	uv_signal_init(&r.loop, &r.sigint);
	uv_signal_init(&r.loop, &r.sigterm);
	r.sigint.data = r.sigterm.data = &r;
	uv_signal_start(&r.sigint, on_signal, SIGINT);
	uv_signal_start(&r.sigterm, on_signal, SIGTERM);
	uv_run(&r.loop, UV_RUN_DEFAULT);
	sg_log(&c->env, SG_LOG_INFO, "node", "stopped");
	sg_node_del(r.node);
	uv_run(&r.loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&r.loop) != 0) {
		/* handles left by a forced stop */
		uv_walk(&r.loop, NULL, NULL);
	}
	return CLI_OK;
}

/* ---- control client ----------------------------------------------------- */

/* Set by SIGINT/SIGTERM while `pubsub subscribe` waits. */
static volatile sig_atomic_t interrupted;

int cli_data_dir(cli *c, const char *given, char *out, size_t len)
{
	char base[4096];
	int rc;

	if (given != NULL) {
		if (snprintf(out, len, "%s", given) >= (int)len) {
			cli_err(c, "data directory path too long");
			return CLI_USAGE;
		}
		return 0;
	}
	rc = sg_config_dir(base, sizeof(base), c->config_dir);
	if (rc != 0 || snprintf(out, len, "%s/node", base) >= (int)len) {
		cli_err(c, "cannot locate the data directory (set --data-dir, "
			   "--config-dir or SAORSA_GOSSIP_HOME)");
		return CLI_FAIL;
	}
	return 0;
}

/* Connects to the node serving dir; -1 with a message when none does. */
static int ctl_connect(cli *c, const char *dir)
{
	struct sockaddr_un su;
	int fd;
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, SG_CTL_SOCKET_NAME);
	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(su.sun_path)) {
		cli_err(c, "control socket path too long: %s", path);
		return -1;
	}
	memcpy(su.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&su, sizeof(su)) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		if (e == ENOENT || e == ECONNREFUSED)
			cli_err(c, "no node is running on %s (start one with "
				   "'saorsa-gossip network join')",
				dir);
		else
			cli_err(c, "cannot reach the node on %s: %s", dir,
				strerror(e));
		return -1;
	}
	return fd;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t k = write(fd, p, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

static int read_all(int fd, uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t k = read(fd, p, len);
		if (k < 0 && errno == EINTR && !interrupted)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

int cli_ctl_request(int fd, const sg_ctl_request *r)
{
	uint8_t *buf;
	size_t cap = 64 + r->topic_len + r->payload_len;
	long n;
	int rc = -1;

	buf = malloc(cap + 4);
	if (buf == NULL)
		return -1;
	n = sg_ctl_request_encode(buf + 4, cap, r);
	if (n > 0) {
		buf[0] = (uint8_t)(n >> 24);
		buf[1] = (uint8_t)(n >> 16);
		buf[2] = (uint8_t)(n >> 8);
		buf[3] = (uint8_t)n;
		rc = write_all(fd, buf, (size_t)n + 4);
	}
	free(buf);
	return rc;
}

/* Reads one message into a malloc'd, validated buffer; NULL at the end
 * of the stream or on a malformed message. */
uint8_t *cli_ctl_read(int fd, size_t *len)
{
	uint8_t hdr[4], *buf;
	size_t n;

	if (read_all(fd, hdr, 4) != 0)
		return NULL;
	n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 |
	    hdr[3];
	if (n == 0 || n > SG_CTL_MAX_MSG)
		return NULL;
	buf = malloc(n);
	if (buf == NULL)
		return NULL;
	if (read_all(fd, buf, n) != 0 || sg_cbor_validate(buf, n, NULL) != 0) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* Opens a response: the array header and status. A status other than 0
 * is printed (with the node's message) and returned. */
int cli_ctl_status(cli *c, sg_cbor_dec *d, const uint8_t *buf, size_t len,
		   size_t *count)
{
	int64_t st;
	const char *msg;
	size_t ml;

	sg_cbor_dec_init(d, buf, len);
	if (sg_cbor_get_array(d, count) != 0 || *count < 1 ||
	    sg_cbor_get_int(d, &st) != 0) {
		cli_err(c, "malformed answer from the node");
		return SG_ERR_MALFORMED;
	}
	if (st != 0) {
		if (*count == 2 && sg_cbor_get_text(d, &msg, &ml) == 0)
			cli_err(c, "the node refused: %.*s", (int)ml, msg);
		else
			cli_err(c, "the node refused: %s",
				sg_strerror((int)st));
		return st < INT32_MIN ? SG_ERR_INVAL : (int)st;
	}
	return 0;
}

/* One request, one answer; *resp is malloc'd. Exit code. */
int cli_ctl_call(cli *c, const char *dir, const sg_ctl_request *r,
		 uint8_t **resp, size_t *len)
{
	int fd = ctl_connect(c, dir);

	if (fd < 0)
		return CLI_FAIL;
	if (cli_ctl_request(fd, r) != 0 ||
	    (*resp = cli_ctl_read(fd, len)) == NULL) {
		cli_err(c, "the node on %s did not answer", dir);
		close(fd);
		return CLI_FAIL;
	}
	close(fd);
	return 0;
}

/* ---- options ------------------------------------------------------------ */

enum {
	O_COORD = 1000,
	O_IDENTITY,
	O_BIND,
	O_DATA,
	O_TOPIC,
	O_MESSAGE,
	O_JSON,
	O_LOGFMT,
	O_PEER,
	O_TTL,
	O_ANYCOORD,
	O_CAP,
	O_WAIT,
	O_PINTERVAL,
	O_PTTL,
	O_GROUP,
};

typedef struct nargs {
	const char *coordinators[8];
	size_t ncoord;
	const char *identity, *bind, *data_dir, *topic, *message, *logfmt;
	const char *peer, *ttl, *capability, *wait;
	const char *presence_interval, *presence_ttl, *group;
	int any_coordinator;
} nargs;

static int nparse(cli *c, int argc, char **argv, nargs *a, const char *usage)
{
	static const struct option opts[] = {
		{"coordinator", required_argument, NULL, O_COORD},
		{"identity", required_argument, NULL, O_IDENTITY},
		{"bind", required_argument, NULL, O_BIND},
		{"data-dir", required_argument, NULL, O_DATA},
		{"topic", required_argument, NULL, O_TOPIC},
		{"message", required_argument, NULL, O_MESSAGE},
		{"json", no_argument, NULL, O_JSON},
		{"log-format", required_argument, NULL, O_LOGFMT},
		{"peer", required_argument, NULL, O_PEER},
		{"ttl", required_argument, NULL, O_TTL},
		{"any-coordinator", no_argument, NULL, O_ANYCOORD},
		{"capability", required_argument, NULL, O_CAP},
		{"wait", required_argument, NULL, O_WAIT},
		{"presence-interval", required_argument, NULL, O_PINTERVAL},
		{"presence-ttl", required_argument, NULL, O_PTTL},
		{"group", required_argument, NULL, O_GROUP},
		{"verbose", no_argument, NULL, 'v'},
		{"config-dir", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (ch) {
		case O_COORD:
			if (a->ncoord == 8) {
				cli_err(c, "at most 8 --coordinator options");
				return CLI_USAGE;
			}
			a->coordinators[a->ncoord++] = optarg;
			break;
		case O_IDENTITY:
			a->identity = optarg;
			break;
		case O_BIND:
			a->bind = optarg;
			break;
		case O_DATA:
			a->data_dir = optarg;
			break;
		case O_TOPIC:
			a->topic = optarg;
			break;
		case O_MESSAGE:
			a->message = optarg;
			break;
		case O_JSON:
			c->json = 1;
			break;
		case O_LOGFMT:
			a->logfmt = optarg;
			break;
		case O_PEER:
			a->peer = optarg;
			break;
		case O_TTL:
			a->ttl = optarg;
			break;
		case O_ANYCOORD:
			a->any_coordinator = 1;
			break;
		case O_CAP:
			a->capability = optarg;
			break;
		case O_WAIT:
			a->wait = optarg;
			break;
		case O_PINTERVAL:
			a->presence_interval = optarg;
			break;
		case O_PTTL:
			a->presence_ttl = optarg;
			break;
		case O_GROUP:
			a->group = optarg;
			break;
		case 'v':
			c->verbose = 1;
			break;
		case 'c':
			c->config_dir = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return -1;
		default:
			fputs(usage, stderr);
			return CLI_USAGE;
		}
	}
	if (optind < argc) {
		cli_err(c, "unexpected argument '%s'", argv[optind]);
		fputs(usage, stderr);
		return CLI_USAGE;
	}
	if (a->logfmt != NULL && strcmp(a->logfmt, "text") != 0 &&
	    strcmp(a->logfmt, "json") != 0) {
		cli_err(c, "--log-format is text or json, not '%s'", a->logfmt);
		return CLI_USAGE;
	}
	if (a->topic != NULL &&
	    (strlen(a->topic) == 0 || strlen(a->topic) > SG_CTL_TOPIC_MAX)) {
		cli_err(c, "a topic name has 1-%d bytes", SG_CTL_TOPIC_MAX);
		return CLI_USAGE;
	}
	return 0;
}

/* The start of every `network|pubsub|rendezvous SUB ...` command: no
 * subcommand or --help prints usage; then the subcommand's options. Returns
 * 1 with *code set when the caller is done, else 0 with *sub set. */
static int sub_prologue(cli *c, int argc, char **argv, nargs *a,
			const char *usage, const char **sub, int *code)
{
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		*code = argc < 2 ? CLI_USAGE : CLI_OK;
		return 1;
	}
	*sub = argv[1];
	rc = nparse(c, argc - 1, argv + 1, a, usage);
	if (rc != 0) {
		*code = rc < 0 ? CLI_OK : rc;
		return 1;
	}
	return 0;
}

/* ---- network ------------------------------------------------------------ */

static const char network_usage[] =
	"usage: saorsa-gossip network join --identity ALIAS [--coordinator "
	"[PEERID@]ADDR]...\n"
	"                                  [--bind ADDR] [--data-dir DIR] "
	"[--log-format text|json] [-v]\n"
	"       saorsa-gossip network status|peers|leave [--data-dir DIR] "
	"[--json]\n"
	"       saorsa-gossip network find --peer PEERID [--group G] | "
	"--any-coordinator [--ttl 1-6]\n"
	"                                  [--data-dir DIR] [--json]\n"
	"\n"
	"  join    run a node in the foreground (until SIGINT/SIGTERM or "
	"'network leave').\n"
	"          --coordinator  a bootstrap contact, IP:PORT or "
	"[IPv6]:PORT; PEERID@ADDR pins\n"
	"                         its PeerId (without it, the PeerId it "
	"answers with is pinned).\n"
	"                         Without any, the node rejoins from its "
	"peer cache.\n"
	"          --bind         local address (default 0.0.0.0:0)\n"
	"          --presence-interval SECS  presence beacons every SECS "
	"(default 300)\n"
	"          --presence-ttl SECS       each valid for SECS (default "
	"720, at least\n"
	"                                    the interval, at most 3600)\n"
	"  status  the running node's PeerId, address and counters\n"
	"  peers   its active and passive neighbours\n"
	"  leave   asks it to leave the overlay and exit\n"
	"  find    asks friends of friends (FOAF: fanout 3, TTL default 3) "
	"for the address\n"
	"          of a peer, or of any coordinator; with --group, of a "
	"member of group G\n"
	"          (a query only G's members can read or answer)\n"
	"\n"
	"  --data-dir DIR  the node's directory (peer cache, control socket);\n"
	"                  default CONFIG_DIR/node\n";

static void print_hex_json(const uint8_t *p, size_t n)
{
	size_t i;
	putchar('"');
	for (i = 0; i < n; i++)
		printf("%02x", p[i]);
	putchar('"');
}

static int net_status(cli *c, const char *dir)
{
	sg_ctl_request r = {.op = SG_CTL_STATUS};
	uint8_t *resp;
	size_t len, count;
	sg_cbor_dec d;
	const uint8_t *id;
	const char *addr;
	size_t alen;
	uint64_t v[9];
	int rc, i;
	char hex[SG_PEER_ID_HEX_LEN];
	sg_peer_id pid;

	if ((rc = cli_ctl_call(c, dir, &r, &resp, &len)) != 0)
		return rc;
	rc = cli_ctl_status(c, &d, resp, len, &count);
	if (rc == 0 && (count != 12 ||
			sg_cbor_get_bytes_len(&d, &id, SG_PEER_ID_LEN) != 0 ||
			sg_cbor_get_text(&d, &addr, &alen) != 0))
		rc = SG_ERR_MALFORMED;
	for (i = 0; rc == 0 && i < 9; i++)
		rc = sg_cbor_get_uint(&d, &v[i]);
	if (rc != 0) {
		if (rc == SG_ERR_MALFORMED || rc == SG_ERR_TYPE)
			cli_err(c, "malformed status from the node");
		free(resp);
		return CLI_FAIL;
	}
	memcpy(pid.bytes, id, SG_PEER_ID_LEN);
	sg_peer_id_hex(hex, &pid);
	if (c->json) {
		printf("{\"peer_id\":\"%s\",\"address\":\"%.*s\","
		       "\"uptime_ms\":%llu,\"active\":%llu,\"passive\":%llu,"
		       "\"topics\":%llu,\"published\":%llu,\"delivered\":%llu,"
		       "\"connections\":%llu,\"roles\":%llu,\"data_dir\":",
		       hex, (int)alen, addr, (unsigned long long)v[0],
		       (unsigned long long)v[1], (unsigned long long)v[2],
		       (unsigned long long)v[3], (unsigned long long)v[4],
		       (unsigned long long)v[5], (unsigned long long)v[6],
		       (unsigned long long)v[7]);
		cli_json_str(stdout, dir);
		printf("}\n");
	} else {
		printf("Node: %s\n", hex);
		printf("  Address:     %.*s\n", (int)alen, addr);
		printf("  Uptime:      %llu s\n",
		       (unsigned long long)(v[0] / 1000));
		printf("  Neighbours:  %llu active, %llu passive\n",
		       (unsigned long long)v[1], (unsigned long long)v[2]);
		printf("  Topics:      %llu\n", (unsigned long long)v[3]);
		printf("  Messages:    %llu published, %llu delivered\n",
		       (unsigned long long)v[4], (unsigned long long)v[5]);
		printf("  Connections: %llu\n", (unsigned long long)v[6]);
		printf("  Data dir:    %s\n", dir);
	}
	free(resp);
	return CLI_OK;
}

static int net_peers(cli *c, const char *dir)
{
	sg_ctl_request r = {.op = SG_CTL_PEERS};
	uint8_t *resp;
	size_t len, count, n, i;
	sg_cbor_dec d;
	int rc;

	if ((rc = cli_ctl_call(c, dir, &r, &resp, &len)) != 0)
		return rc;
	rc = cli_ctl_status(c, &d, resp, len, &count);
	if (rc == 0 && (count != 2 || sg_cbor_get_array(&d, &n) != 0))
		rc = SG_ERR_MALFORMED;
	if (rc != 0)
		goto bad;
	if (c->json)
		printf("[");
	else
		printf("%-64s  %-8s  %s\n", "PEER", "VIEW", "ADDRESS");
	for (i = 0; i < n; i++) {
		size_t k, alen;
		const uint8_t *id;
		const char *addr;
		uint64_t kind;
		sg_peer_id pid;
		char hex[SG_PEER_ID_HEX_LEN];
		if (sg_cbor_get_array(&d, &k) != 0 || k != 3 ||
		    sg_cbor_get_bytes_len(&d, &id, SG_PEER_ID_LEN) != 0 ||
		    sg_cbor_get_text(&d, &addr, &alen) != 0 ||
		    sg_cbor_get_uint(&d, &kind) != 0) {
			rc = SG_ERR_MALFORMED;
			goto bad;
		}
		memcpy(pid.bytes, id, SG_PEER_ID_LEN);
		sg_peer_id_hex(hex, &pid);
		if (c->json)
			printf("%s{\"peer_id\":\"%s\",\"view\":\"%s\","
			       "\"address\":\"%.*s\"}",
			       i > 0 ? "," : "", hex,
			       kind == 1 ? "active" : "passive", (int)alen,
			       addr);
		else
			printf("%s  %-8s  %.*s\n", hex,
			       kind == 1 ? "active" : "passive", (int)alen,
			       addr);
	}
	if (c->json)
		printf("]\n");
	free(resp);
	return CLI_OK;
bad:
	if (rc == SG_ERR_MALFORMED)
		cli_err(c, "malformed peer list from the node");
	free(resp);
	return CLI_FAIL;
}

static int net_leave(cli *c, const char *dir)
{
	sg_ctl_request r = {.op = SG_CTL_LEAVE};
	uint8_t *resp;
	size_t len, count;
	sg_cbor_dec d;
	int rc;

	if ((rc = cli_ctl_call(c, dir, &r, &resp, &len)) != 0)
		return rc;
	rc = cli_ctl_status(c, &d, resp, len, &count);
	free(resp);
	if (rc != 0)
		return CLI_FAIL;
	if (c->json)
		printf("{\"left\":true}\n");
	else
		printf("The node on %s is leaving the overlay.\n", dir);
	return CLI_OK;
}

static int net_find(cli *c, const nargs *a, const char *dir)
{
	sg_ctl_request r = {.op = SG_CTL_FIND};
	uint8_t target[32], *resp;
	size_t len, count, alen;
	sg_cbor_dec d;
	const char *addr;
	const uint8_t *peer;
	uint64_t hops;
	unsigned long ttl = 0;
	int rc;

	memset(target, 0, sizeof(target));
	if ((a->peer == NULL) == (a->any_coordinator == 0)) {
		cli_err(c, "network find needs --peer PEERID or "
			   "--any-coordinator");
		return CLI_USAGE;
	}
	if (a->peer != NULL) {
		sg_peer_id id;
		if (sg_peer_id_parse(&id, a->peer, strlen(a->peer)) != 0) {
			cli_err(c, "--peer: '%s' is not a PeerId (64 hex "
				   "digits)",
				a->peer);
			return CLI_USAGE;
		}
		memcpy(target, id.bytes, 32);
	}
	if (a->ttl != NULL) {
		char *end;
		ttl = strtoul(a->ttl, &end, 10);
		if (*a->ttl == '\0' || *end != '\0' || ttl < 1 || ttl > 6) {
			cli_err(c, "--ttl: 1 to 6, not '%s'", a->ttl);
			return CLI_USAGE;
		}
	}
	r.find_kind = a->peer != NULL ? 1 : 2;
	r.target = target;
	r.ttl = (unsigned)ttl;
	if (a->group != NULL) {
		if (a->peer == NULL || strlen(a->group) == 0 ||
		    strlen(a->group) > SG_CTL_TOPIC_MAX) {
			cli_err(c, "--group G finds a member of G: give its "
				   "--peer PEERID");
			return CLI_USAGE;
		}
		r.op = SG_CTL_FIND_MEMBER;
		r.topic = a->group;
		r.topic_len = strlen(a->group);
	}
	if ((rc = cli_ctl_call(c, dir, &r, &resp, &len)) != 0)
		return rc;
	rc = cli_ctl_status(c, &d, resp, len, &count);
	if (rc == 0 && (count != 4 || sg_cbor_get_text(&d, &addr, &alen) != 0 ||
			sg_cbor_get_uint(&d, &hops) != 0 ||
			sg_cbor_get_bytes_len(&d, &peer, 32) != 0)) {
		cli_err(c, "malformed answer from the node");
		rc = SG_ERR_MALFORMED;
	}
	if (rc == 0) {
		sg_peer_id pid;
		char hex[SG_PEER_ID_HEX_LEN];
		memcpy(pid.bytes, peer, 32);
		sg_peer_id_hex(hex, &pid);
		if (c->json)
			printf("{\"peer_id\":\"%s\",\"address\":\"%.*s\","
			       "\"hops\":%llu}\n",
			       hex, (int)alen, addr, (unsigned long long)hops);
		else
			printf("%s is at %.*s (%llu hops away%s)\n", hex,
			       (int)alen, addr, (unsigned long long)hops,
			       hops == 0 ? ": known to this node" : "");
	}
	free(resp);
	return rc == 0 ? CLI_OK : CLI_FAIL;
}

/* A number of seconds, 1 to 3600, as milliseconds; absent leaves *ms. */
static int secs_opt(cli *c, const char *flag, const char *v, uint32_t *ms)
{
	char *end;
	unsigned long s;

	if (v == NULL)
		return 0;
	s = strtoul(v, &end, 10);
	if (*v == '\0' || *end != '\0' || v[0] == '-' || s < 1 || s > 3600) {
		cli_err(c, "%s: 1 to 3600 seconds, not '%s'", flag, v);
		return CLI_USAGE;
	}
	*ms = (uint32_t)(s * 1000);
	return 0;
}

static int net_join(cli *c, const nargs *a, const char *dir)
{
	sg_node_config cfg;
	sg_identity *id;
	int rc;

	if (a->identity == NULL) {
		cli_err(c, "network join needs --identity ALIAS (create one "
			   "with 'saorsa-gossip identity create')");
		return CLI_USAGE;
	}
	sg_node_config_default(&cfg);
	if ((rc = secs_opt(c, "--presence-interval", a->presence_interval,
			   &cfg.presence_interval_ms)) != 0 ||
	    (rc = secs_opt(c, "--presence-ttl", a->presence_ttl,
			   &cfg.presence_validity_ms)) != 0)
		return rc;
	id = malloc(sizeof(*id));
	if (id == NULL)
		return CLI_FAIL;
	if ((rc = cli_load_identity(c, a->identity, id)) != 0) {
		free(id);
		return rc;
	}
	cli_log_setup(c, a->logfmt != NULL && strcmp(a->logfmt, "json") == 0);
	cfg.data_dir = dir;
	if (a->bind != NULL)
		cfg.bind = a->bind;
	cfg.contacts = a->coordinators;
	cfg.n_contacts = a->ncoord;
	/* Expanded once, the signing key signs every handshake faster. */
	rc = sg_identity_expand(id, &c->env);
	if (rc == 0)
		rc = cli_run_node(c, &cfg, id);
	else
		rc = CLI_FAIL;
	sg_identity_wipe(id);
	free(id);
	return rc;
}

int cli_network(cli *c, int argc, char **argv)
{
	nargs a;
	char dir[4096];
	const char *sub;
	int rc;

	if (sub_prologue(c, argc, argv, &a, network_usage, &sub, &rc))
		return rc;
	if ((rc = cli_data_dir(c, a.data_dir, dir, sizeof(dir))) != 0)
		return rc;
	if (strcmp(sub, "join") == 0)
		return net_join(c, &a, dir);
	if (a.ncoord > 0 || a.identity != NULL || a.bind != NULL ||
	    a.presence_interval != NULL || a.presence_ttl != NULL) {
		cli_err(c, "--coordinator, --identity, --bind and --presence-* "
			   "are options of 'network join'");
		return CLI_USAGE;
	}
	if ((a.peer != NULL || a.ttl != NULL || a.any_coordinator ||
	     a.group != NULL) &&
	    strcmp(sub, "find") != 0) {
		cli_err(c, "--peer, --group, --ttl and --any-coordinator are "
			   "options of 'network find'");
		return CLI_USAGE;
	}
	if (strcmp(sub, "status") == 0)
		return net_status(c, dir);
	if (strcmp(sub, "peers") == 0)
		return net_peers(c, dir);
	if (strcmp(sub, "leave") == 0)
		return net_leave(c, dir);
	if (strcmp(sub, "find") == 0)
		return net_find(c, &a, dir);
	cli_err(c, "unknown network command '%s'", sub);
	fputs(network_usage, stderr);
	return CLI_USAGE;
}

/* ---- pubsub --------------------------------------------------------------- */

static const char pubsub_usage[] =
	"usage: saorsa-gossip pubsub subscribe --topic T [--data-dir DIR] "
	"[--json]\n"
	"       saorsa-gossip pubsub publish --topic T [--message M] "
	"[--data-dir DIR] [--json]\n"
	"       saorsa-gossip pubsub unsubscribe --topic T [--data-dir DIR]\n"
	"       saorsa-gossip pubsub list [--data-dir DIR] [--json]\n"
	"\n"
	"  subscribe    subscribes the running node to T and prints each "
	"message as it\n"
	"               arrives, until interrupted (the node stays "
	"subscribed)\n"
	"  publish      signs and broadcasts M (without --message: standard "
	"input, up to\n"
	"               1 MiB less 4 KiB); the node subscribes to T\n"
	"  unsubscribe  the node leaves T's swarm\n"
	"  list         the node's topics\n";

static void on_sigint(int s)
{
	(void)s;
	interrupted = 1;
}

/* A payload as text (other control bytes as \xNN escapes), then a newline
 * unless it ends with one. */
void cli_print_payload_text(const uint8_t *p, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		unsigned char ch = p[i];
		if (ch == '\n' || ch == '\t' || (ch >= 0x20 && ch != 0x7f))
			putchar(ch);
		else
			printf("\\x%02x", ch);
	}
	if (n == 0 || p[n - 1] != '\n')
		putchar('\n');
}

/* ,"payload_hex":"..." and, when it is UTF-8 text, ,"payload":"..." */
void cli_print_payload_json(const uint8_t *p, size_t n)
{
	char *ps = malloc(n + 1);

	printf(",\"payload_hex\":");
	print_hex_json(p, n);
	if (ps != NULL && memchr(p, 0, n) == NULL &&
	    sg_cbor_utf8_check(p, n) == 0) {
		memcpy(ps, p, n);
		ps[n] = '\0';
		printf(",\"payload\":");
		cli_json_str(stdout, ps);
	}
	free(ps);
}

/* Opens a stream (SUBSCRIBE, GROUP_LISTEN) and hands each message to
 * on_msg until SIGINT/SIGTERM or the node closes it; `started` is printed
 * (text mode) once the node accepted. Exit code. */
int cli_ctl_stream(cli *c, const char *dir, const sg_ctl_request *r,
		   const char *started,
		   int (*on_msg)(cli *c, const uint8_t *m, size_t len, void *ud),
		   void *ud)
{
	struct sigaction sa;
	uint8_t *msg;
	size_t len, count;
	sg_cbor_dec d;
	int fd = ctl_connect(c, dir), rc;

	if (fd < 0)
		return CLI_FAIL;
	if (cli_ctl_request(fd, r) != 0 ||
	    (msg = cli_ctl_read(fd, &len)) == NULL) {
		cli_err(c, "the node on %s did not answer", dir);
		close(fd);
		return CLI_FAIL;
	}
	rc = cli_ctl_status(c, &d, msg, len, &count);
	free(msg);
	if (rc != 0) {
		close(fd);
		return CLI_FAIL;
	}
	if (!c->json) {
		printf("%s (Ctrl-C to stop).\n", started);
		fflush(stdout);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!interrupted) {
		msg = cli_ctl_read(fd, &len);
		if (msg == NULL)
			break;
		rc = on_msg(c, msg, len, ud);
		free(msg);
		fflush(stdout);
		if (rc != 0) {
			cli_err(c, "malformed message from the node");
			close(fd);
			return CLI_FAIL;
		}
	}
	close(fd);
	if (!interrupted) {
		cli_err(c, "the node closed the stream (it stopped?)");
		return CLI_FAIL;
	}
	return CLI_OK;
}

int cli_message_decode(cli_message *out, const uint8_t *m, size_t len)
{
	uint64_t code;
	const char *tn;
	size_t tl, count;
	sg_cbor_dec d;

	sg_cbor_dec_init(&d, m, len);
	if (sg_cbor_get_array(&d, &count) != 0 || count != 8 ||
	    sg_cbor_get_uint(&d, &code) != 0 || code != SG_CTL_EV_MESSAGE ||
	    sg_cbor_get_text(&d, &tn, &tl) != 0 ||
	    sg_cbor_get_bytes_len(&d, &out->publisher, SG_PEER_ID_LEN) != 0 ||
	    sg_cbor_get_uint(&d, &out->seq) != 0 ||
	    sg_cbor_get_uint(&d, &out->publish_ms) != 0 ||
	    sg_cbor_get_uint(&d, &out->hops) != 0 ||
	    sg_cbor_get_bytes_len(&d, &out->id, SG_MSG_ID_LEN) != 0 ||
	    sg_cbor_get_bytes(&d, &out->payload, &out->payload_len) != 0)
		return -1;
	return 0;
}

/* One delivered message of a subscription: printed. */
static int ps_message(cli *c, const uint8_t *msg, size_t len, void *ud)
{
	const char *topic = ud;
	cli_message m;
	sg_peer_id pid;
	char hex[SG_PEER_ID_HEX_LEN];

	if (cli_message_decode(&m, msg, len) != 0)
		return -1;
	memcpy(pid.bytes, m.publisher, SG_PEER_ID_LEN);
	sg_peer_id_hex(hex, &pid);
	if (c->json) {
		printf("{\"topic\":");
		cli_json_str(stdout, topic);
		printf(",\"publisher\":\"%s\",\"seq\":%llu,"
		       "\"publish_ms\":%llu,\"hops\":%llu,\"id\":",
		       hex, (unsigned long long)m.seq,
		       (unsigned long long)m.publish_ms,
		       (unsigned long long)m.hops);
		print_hex_json(m.id, SG_MSG_ID_LEN);
		cli_print_payload_json(m.payload, m.payload_len);
		printf("}\n");
	} else {
		printf("[%.16s seq %llu, %llu hops] ", hex,
		       (unsigned long long)m.seq, (unsigned long long)m.hops);
		cli_print_payload_text(m.payload, m.payload_len);
	}
	return 0;
}

static int ps_subscribe(cli *c, const char *dir, const char *topic)
{
	sg_ctl_request r = {.op = SG_CTL_SUBSCRIBE,
			    .topic = topic,
			    .topic_len = strlen(topic)};
	char started[SG_CTL_TOPIC_MAX + 64];

	snprintf(started, sizeof(started),
		 "Subscribed to '%s'; waiting for messages", topic);
	return cli_ctl_stream(c, dir, &r, started, ps_message, (void *)topic);
}

static int ps_publish(cli *c, const char *dir, const char *topic,
		      const char *message)
{
	sg_ctl_request r = {.op = SG_CTL_PUBLISH, .topic = topic, .topic_len = strlen(topic)};
	uint8_t *buf = NULL, *resp;
	size_t len, count;
	sg_cbor_dec d;
	const uint8_t *id;
	int rc;

	if (message != NULL) {
		r.payload = (const uint8_t *)message;
		r.payload_len = strlen(message);
	} else {
		size_t cap = SG_MSG_MAX_PAYLOAD + 1, n = 0;
		buf = malloc(cap);
		if (buf == NULL)
			return CLI_FAIL;
		for (;;) {
			ssize_t k = read(0, buf + n, cap - n);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				cli_err(c, "reading standard input: %s",
					strerror(errno));
				free(buf);
				return CLI_FAIL;
			}
			if (k == 0)
				break;
			n += (size_t)k;
			if (n == cap) {
				cli_err(c, "message too large (at most %u "
					   "bytes)",
					(unsigned)SG_MSG_MAX_PAYLOAD);
				free(buf);
				return CLI_FAIL;
			}
		}
		r.payload = buf;
		r.payload_len = n;
	}
	if (r.payload_len > SG_MSG_MAX_PAYLOAD) {
		cli_err(c, "message too large (at most %u bytes)",
			(unsigned)SG_MSG_MAX_PAYLOAD);
		free(buf);
		return CLI_FAIL;
	}
	rc = cli_ctl_call(c, dir, &r, &resp, &len);
	free(buf);
	if (rc != 0)
		return rc;
	rc = cli_ctl_status(c, &d, resp, len, &count);
	if (rc == 0 && (count != 2 ||
			sg_cbor_get_bytes_len(&d, &id, SG_MSG_ID_LEN) != 0)) {
		cli_err(c, "malformed answer from the node");
		rc = SG_ERR_MALFORMED;
	}
	if (rc == 0) {
		if (c->json) {
			printf("{\"topic\":");
			cli_json_str(stdout, topic);
			printf(",\"bytes\":%zu,\"id\":", r.payload_len);
			print_hex_json(id, SG_MSG_ID_LEN);
			printf("}\n");
		} else {
			size_t i;
			printf("Published %zu bytes to '%s' (id ",
			       r.payload_len, topic);
			for (i = 0; i < SG_MSG_ID_LEN; i++)
				printf("%02x", id[i]);
			printf(")\n");
		}
	}
	free(resp);
	return rc == 0 ? CLI_OK : CLI_FAIL;
}

static int ps_simple(cli *c, const char *dir, sg_ctl_op op,
		     const char *topic)
{
	sg_ctl_request r = {.op = op, .topic = topic, .topic_len = topic != NULL ? strlen(topic) : 0};
	uint8_t *resp;
	size_t len, count, n, i;
	sg_cbor_dec d;
	int rc;

	if ((rc = cli_ctl_call(c, dir, &r, &resp, &len)) != 0)
		return rc;
	rc = cli_ctl_status(c, &d, resp, len, &count);
	if (rc != 0) {
		free(resp);
		return CLI_FAIL;
	}
	if (op == SG_CTL_UNSUBSCRIBE) {
		if (c->json) {
			printf("{\"unsubscribed\":");
			cli_json_str(stdout, topic);
			printf("}\n");
		} else {
			printf("Unsubscribed from '%s'.\n", topic);
		}
		free(resp);
		return CLI_OK;
	}
	if (count != 2 || sg_cbor_get_array(&d, &n) != 0)
		goto bad;
	if (c->json)
		printf("[");
	for (i = 0; i < n; i++) {
		size_t k, tl;
		const char *tn;
		const uint8_t *tid;
		char *name;
		uint64_t nbrs;
		if (sg_cbor_get_array(&d, &k) != 0 || k != 3 ||
		    sg_cbor_get_text(&d, &tn, &tl) != 0 ||
		    sg_cbor_get_bytes_len(&d, &tid, SG_TOPIC_ID_LEN) != 0 ||
		    sg_cbor_get_uint(&d, &nbrs) != 0)
			goto bad;
		name = malloc(tl + 1);
		if (name == NULL)
			goto bad;
		memcpy(name, tn, tl);
		name[tl] = '\0';
		if (c->json) {
			printf("%s{\"topic\":", i > 0 ? "," : "");
			cli_json_str(stdout, name);
			printf(",\"topic_id\":");
			print_hex_json(tid, SG_TOPIC_ID_LEN);
			printf(",\"neighbours\":%llu}", (unsigned long long)nbrs);
		} else {
			size_t j;
			for (j = 0; j < SG_TOPIC_ID_LEN; j++)
				printf("%02x", tid[j]);
			printf("  %3llu neighbours  %s\n", (unsigned long long)nbrs,
			       tl > 0 ? name : "(unnamed)");
		}
		free(name);
	}
	if (c->json)
		printf("]\n");
	else if (n == 0)
		printf("The node has no topics.\n");
	free(resp);
	return CLI_OK;
bad:
	cli_err(c, "malformed topic list from the node");
	free(resp);
	return CLI_FAIL;
}

int cli_pubsub(cli *c, int argc, char **argv)
{
	nargs a;
	char dir[4096];
	const char *sub;
	int rc;

	if (sub_prologue(c, argc, argv, &a, pubsub_usage, &sub, &rc))
		return rc;
	if (a.group != NULL) {
		cli_err(c, "--group is an option of 'network find'");
		return CLI_USAGE;
	}
	if (a.ncoord > 0 || a.identity != NULL || a.bind != NULL) {
		cli_err(c, "--coordinator, --identity and --bind are options "
			   "of 'network join'");
		return CLI_USAGE;
	}
	if ((rc = cli_data_dir(c, a.data_dir, dir, sizeof(dir))) != 0)
		return rc;
	if (strcmp(sub, "list") == 0)
		return ps_simple(c, dir, SG_CTL_LIST, NULL);
	if (strcmp(sub, "subscribe") != 0 && strcmp(sub, "publish") != 0 &&
	    strcmp(sub, "unsubscribe") != 0) {
		cli_err(c, "unknown pubsub command '%s'", sub);
		fputs(pubsub_usage, stderr);
		return CLI_USAGE;
	}
	if (a.topic == NULL) {
		cli_err(c, "pubsub %s needs --topic T", sub);
		return CLI_USAGE;
	}
	if (a.message != NULL && strcmp(sub, "publish") != 0) {
		cli_err(c, "--message is an option of 'pubsub publish'");
		return CLI_USAGE;
	}
	if (strcmp(sub, "subscribe") == 0)
		return ps_subscribe(c, dir, a.topic);
	if (strcmp(sub, "publish") == 0)
		return ps_publish(c, dir, a.topic, a.message);
	return ps_simple(c, dir, SG_CTL_UNSUBSCRIBE, a.topic);
}

/* ---- rendezvous ----------------------------------------------------------- */

static const char rendezvous_usage[] =
	"usage: saorsa-gossip rendezvous register|unregister --capability C "
	"[--data-dir DIR] [--json]\n"
	"       saorsa-gossip rendezvous find --capability C [--wait SECS] "
	"[--data-dir DIR] [--json]\n"
	"\n"
	"Meeting points without a DHT: the capability's shard (the first 16 "
	"bits of its\n"
	"BLAKE3 hash, one of 65,536) is a topic. 'register' has the running "
	"node publish a\n"
	"signed summary (its PeerId and address, valid 5 minutes, re-published "
	"every minute)\n"
	"to the shard; 'unregister' withdraws it; 'find' joins the shard for "
	"--wait seconds\n"
	"(default 5, at most 60) and lists the providers it heard of.\n";

int cli_rendezvous(cli *c, int argc, char **argv)
{
	nargs a;
	char dir[4096];
	const char *sub;
	sg_ctl_request r;
	uint8_t *resp;
	size_t len, count, n, i;
	sg_cbor_dec d;
	int rc;

	if (sub_prologue(c, argc, argv, &a, rendezvous_usage, &sub, &rc))
		return rc;
	if (a.ncoord > 0 || a.identity != NULL || a.bind != NULL ||
	    a.topic != NULL || a.message != NULL || a.peer != NULL ||
	    a.ttl != NULL || a.any_coordinator || a.group != NULL) {
		cli_err(c, "rendezvous takes --capability, --wait, --data-dir "
			   "and --json");
		return CLI_USAGE;
	}
	memset(&r, 0, sizeof(r));
	if (strcmp(sub, "register") == 0)
		r.op = SG_CTL_RDV_REGISTER;
	else if (strcmp(sub, "unregister") == 0)
		r.op = SG_CTL_RDV_UNREGISTER;
	else if (strcmp(sub, "find") == 0)
		r.op = SG_CTL_RDV_FIND;
	else {
		cli_err(c, "unknown rendezvous command '%s'", sub);
		fputs(rendezvous_usage, stderr);
		return CLI_USAGE;
	}
	if (a.capability == NULL || strlen(a.capability) == 0 ||
	    strlen(a.capability) > SG_CTL_TOPIC_MAX) {
		cli_err(c, "rendezvous %s needs --capability C (1-%d bytes)",
			sub, SG_CTL_TOPIC_MAX);
		return CLI_USAGE;
	}
	if (a.wait != NULL && r.op != SG_CTL_RDV_FIND) {
		cli_err(c, "--wait is an option of 'rendezvous find'");
		return CLI_USAGE;
	}
	r.wait_ms = 5000;
	if (a.wait != NULL) {
		char *end;
		unsigned long w = strtoul(a.wait, &end, 10);
		if (*a.wait == '\0' || *end != '\0' || a.wait[0] == '-' ||
		    w > SG_CTL_WAIT_MAX_MS / 1000) {
			cli_err(c, "--wait: 0 to %d seconds, not '%s'",
				SG_CTL_WAIT_MAX_MS / 1000, a.wait);
			return CLI_USAGE;
		}
		r.wait_ms = (uint32_t)(w * 1000);
	}
	r.topic = a.capability;
	r.topic_len = strlen(a.capability);
	if ((rc = cli_data_dir(c, a.data_dir, dir, sizeof(dir))) != 0)
		return rc;
	if ((rc = cli_ctl_call(c, dir, &r, &resp, &len)) != 0)
		return rc;
	rc = cli_ctl_status(c, &d, resp, len, &count);
	if (rc != 0) {
		free(resp);
		return CLI_FAIL;
	}
	if (r.op == SG_CTL_RDV_REGISTER) {
		uint64_t shard;
		if (count != 2 || sg_cbor_get_uint(&d, &shard) != 0)
			goto bad;
		if (c->json) {
			printf("{\"capability\":");
			cli_json_str(stdout, a.capability);
			printf(",\"shard\":%llu}\n", (unsigned long long)shard);
		} else {
			printf("Registered '%s' (rendezvous shard %04llx).\n",
			       a.capability, (unsigned long long)shard);
		}
		free(resp);
		return CLI_OK;
	}
	if (r.op == SG_CTL_RDV_UNREGISTER) {
		if (c->json) {
			printf("{\"unregistered\":");
			cli_json_str(stdout, a.capability);
			printf("}\n");
		} else {
			printf("Unregistered '%s'.\n", a.capability);
		}
		free(resp);
		return CLI_OK;
	}
	if (count != 2 || sg_cbor_get_array(&d, &n) != 0)
		goto bad;
	if (c->json)
		printf("[");
	for (i = 0; i < n; i++) {
		const uint8_t *pid;
		size_t k, na, j;
		uint64_t exp;
		sg_peer_id id;
		char hex[SG_PEER_ID_HEX_LEN];
		if (sg_cbor_get_array(&d, &k) != 0 || k != 3 ||
		    sg_cbor_get_bytes_len(&d, &pid, SG_PEER_ID_LEN) != 0 ||
		    sg_cbor_get_array(&d, &na) != 0)
			goto bad;
		memcpy(id.bytes, pid, SG_PEER_ID_LEN);
		sg_peer_id_hex(hex, &id);
		if (c->json)
			printf("%s{\"peer_id\":\"%s\",\"addresses\":[",
			       i > 0 ? "," : "", hex);
		else
			printf("%s", hex);
		for (j = 0; j < na; j++) {
			const char *t;
			size_t tl;
			if (sg_cbor_get_text(&d, &t, &tl) != 0)
				goto bad;
			if (c->json)
				printf("%s\"%.*s\"", j > 0 ? "," : "", (int)tl,
				       t);
			else
				printf("  %.*s", (int)tl, t);
		}
		if (sg_cbor_get_uint(&d, &exp) != 0)
			goto bad;
		if (c->json)
			printf("],\"expires_ms\":%llu}",
			       (unsigned long long)exp);
		else
			printf("\n");
	}
	if (c->json)
		printf("]\n");
	else if (n == 0)
		printf("No provider of '%s' found.\n", a.capability);
	free(resp);
	return n > 0 ? CLI_OK : CLI_FAIL;
bad:
	cli_err(c, "malformed answer from the node");
	free(resp);
	return CLI_FAIL;
}
