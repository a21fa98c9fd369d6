/*
 * `saorsa-gossip groups ...` and `saorsa-gossip presence ...`: requests to
 * the running node's group manager over its control socket
 * (docs/PROTOCOL.md, "Control socket", ops 12-19).
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sg/cbor.h"
#include "sg/control.h"
#include "sg/err.h"
#include "sg/group.h"

#define INVITE_TEXT_MAX (4u << 20)

static const char groups_usage[] =
	"usage: saorsa-gossip groups create --name NAME\n"
	"       saorsa-gossip groups invite --group G --peer PEERID [--valid "
	"HOURS] [--out FILE]\n"
	"       saorsa-gossip groups join --invite TEXT | --invite-file FILE|-\n"
	"       saorsa-gossip groups leave --group G\n"
	"       saorsa-gossip groups send --group G [--message M]   (else "
	"standard input)\n"
	"       saorsa-gossip groups listen --group G\n"
	"       saorsa-gossip groups list\n"
	"  (each also takes [--data-dir DIR] [--json])\n"
	"\n"
	"Groups with a shared secret, run by the node on --data-dir (default\n"
	"CONFIG_DIR/node). G is a group's name, its id in hex, or a prefix of "
	"at\n"
	"least 8 hex digits of the id.\n"
	"\n"
	"  create  a new group with this node as its only member\n"
	"  invite  adds the peer (its node must be reachable: it sends its "
	"member card)\n"
	"          and, once the change has settled (2 s or more), prints an "
	"invite for it,\n"
	"          to be passed out of band; only that peer can use it. "
	"--valid: hours\n"
	"          the invite stays valid (default 24, at most 720)\n"
	"  join    joins a group with an invite made for this node\n"
	"  leave   leaves a group: a signed notice, then another member "
	"re-keys without\n"
	"          this node\n"
	"  send    a message to the group's members, encrypted under the "
	"epoch's key\n"
	"  listen  prints the group's messages as they arrive, until "
	"interrupted\n"
	"  list    the groups this node is in, with epoch and members\n";

static const char presence_usage[] =
	"usage: saorsa-gossip presence start|stop|online --topic G "
	"[--data-dir DIR] [--json]\n"
	"\n"
	"Who of a group is online, from encrypted, signed beacons (G: a group "
	"name or id,\n"
	"see 'groups').\n"
	"\n"
	"  start   the node sends a beacon to the group now and every few "
	"minutes\n"
	"          (network join --presence-interval), until 'stop'\n"
	"  stop    stops them with a goodbye beacon (the others drop this node "
	"at once)\n"
	"  online  the members online now, with when they were last seen\n";

enum { O_NAME = 2000, O_GROUP, O_PEER, O_VALID, O_INVITE, O_INVITE_FILE,
       O_OUT, O_DATA, O_JSON, O_MESSAGE };

typedef struct gargs {
	const char *name, *group, *peer, *valid, *invite, *invite_file, *out;
	const char *message, *data_dir;
} gargs;

/* Parses argv (argv[0] is the subcommand). -1: help printed; else 0 or an
 * exit code. */
static int gparse(cli *c, int argc, char **argv, gargs *a, const char *usage)
{
	static const struct option opts[] = {
		{"name", required_argument, NULL, O_NAME},
		{"group", required_argument, NULL, O_GROUP},
		{"topic", required_argument, NULL, O_GROUP},
		{"peer", required_argument, NULL, O_PEER},
		{"valid", required_argument, NULL, O_VALID},
		{"invite", required_argument, NULL, O_INVITE},
		{"invite-file", required_argument, NULL, O_INVITE_FILE},
		{"out", required_argument, NULL, O_OUT},
		{"message", required_argument, NULL, O_MESSAGE},
		{"data-dir", required_argument, NULL, O_DATA},
		{"json", no_argument, NULL, O_JSON},
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
		case O_NAME: a->name = optarg; break;
		case O_GROUP: a->group = optarg; break;
		case O_PEER: a->peer = optarg; break;
		case O_VALID: a->valid = optarg; break;
		case O_INVITE: a->invite = optarg; break;
		case O_INVITE_FILE: a->invite_file = optarg; break;
		case O_OUT: a->out = optarg; break;
		case O_MESSAGE: a->message = optarg; break;
		case O_DATA: a->data_dir = optarg; break;
		case O_JSON: c->json = 1; break;
		case 'v': c->verbose = 1; break;
		case 'c': c->config_dir = optarg; break;
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
	return 0;
}

/* Only the options in allowed ("ngpvifom": name, group, peer, valid,
 * invite, invite-file, out, message) may be given to sub. */
static int only(cli *c, const gargs *a, const char *sub, const char *allowed)
{
	static const char *const names[] = {"--name",	     "--group",
					    "--peer",	     "--valid",
					    "--invite",	     "--invite-file",
					    "--out",	     "--message"};
	const char *given[] = {a->name,	  a->group,	  a->peer, a->valid,
			       a->invite, a->invite_file, a->out,  a->message};
	static const char keys[] = "ngpvifom";
	size_t i;

	for (i = 0; i < 8; i++)
		if (given[i] != NULL && strchr(allowed, keys[i]) == NULL) {
			cli_err(c, "%s is not an option of '%s'", names[i], sub);
			return CLI_USAGE;
		}
	return 0;
}

/* A command about one group: only the allowed options, and --group given
 * (`what` names the command in the message). */
static int need_group(cli *c, const gargs *a, const char *sub,
		      const char *allowed, const char *what)
{
	int rc = only(c, a, sub, allowed);

	if (rc == 0 && a->group == NULL) {
		cli_err(c, "%s needs --group G", what);
		rc = CLI_USAGE;
	}
	return rc;
}

static void put_hex(const uint8_t *p, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		printf("%02x", p[i]);
}

static void put_time(uint64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fputs(buf, stdout);
}

/* Sends r and opens the answer: 0 with d positioned after the status, or
 * an exit code (the message printed). *resp is the caller's to free. */
static int ask(cli *c, const char *dir, const sg_ctl_request *r,
	       uint8_t **resp, sg_cbor_dec *d, size_t *count)
{
	size_t len;
	int rc = cli_ctl_call(c, dir, r, resp, &len);

	if (rc != 0) {
		*resp = NULL;
		return rc;
	}
	return cli_ctl_status(c, d, *resp, len, count) == 0 ? 0 : CLI_FAIL;
}

static int malformed(cli *c, uint8_t *resp)
{
	cli_err(c, "malformed answer from the node");
	free(resp);
	return CLI_FAIL;
}

static int g_create(cli *c, const char *dir, const gargs *a)
{
	sg_ctl_request r = {.op = SG_CTL_GROUP_CREATE};
	const uint8_t *gid;
	uint8_t *resp;
	sg_cbor_dec d;
	size_t count;
	int rc;

	if (a->name == NULL || strlen(a->name) == 0 ||
	    strlen(a->name) > SG_GROUP_NAME_MAX) {
		cli_err(c, "groups create needs --name NAME (1-%d bytes)",
			SG_GROUP_NAME_MAX);
		return CLI_USAGE;
	}
	r.topic = a->name;
	r.topic_len = strlen(a->name);
	if ((rc = ask(c, dir, &r, &resp, &d, &count)) != 0) {
		free(resp);
		return rc;
	}
	if (count != 2 || sg_cbor_get_bytes_len(&d, &gid, SG_GROUP_ID_LEN) != 0)
		return malformed(c, resp);
	if (c->json) {
		printf("{\"group\":\"");
		put_hex(gid, SG_GROUP_ID_LEN);
		printf("\",\"name\":");
		cli_json_str(stdout, a->name);
		printf("}\n");
	} else {
		printf("Created group '%s' (", a->name);
		put_hex(gid, SG_GROUP_ID_LEN);
		printf(").\n");
	}
	free(resp);
	return CLI_OK;
}

static int g_invite(cli *c, const char *dir, const gargs *a)
{
	sg_ctl_request r = {.op = SG_CTL_GROUP_INVITE};
	sg_peer_id peer;
	unsigned long hours = 24;
	const uint8_t *inv;
	uint8_t *resp;
	char *text;
	size_t count, ilen, tcap;
	sg_cbor_dec d;
	long tl;
	int rc;

	if (a->group == NULL || a->peer == NULL) {
		cli_err(c, "groups invite needs --group G and --peer PEERID");
		return CLI_USAGE;
	}
	if (sg_peer_id_parse(&peer, a->peer, strlen(a->peer)) != 0) {
		cli_err(c, "--peer: '%s' is not a PeerId (64 hex digits)",
			a->peer);
		return CLI_USAGE;
	}
	if (a->valid != NULL) {
		char *end;
		hours = strtoul(a->valid, &end, 10);
		if (*a->valid == '\0' || *end != '\0' || a->valid[0] == '-' ||
		    hours < 1 || hours > 720) {
			cli_err(c, "--valid: 1 to 720 hours, not '%s'", a->valid);
			return CLI_USAGE;
		}
	}
	r.topic = a->group;
	r.topic_len = strlen(a->group);
	r.target = peer.bytes;
	r.valid_ms = (uint64_t)hours * 3600000u;
	if ((rc = ask(c, dir, &r, &resp, &d, &count)) != 0) {
		free(resp);
		return rc;
	}
	if (count != 2 || sg_cbor_get_bytes(&d, &inv, &ilen) != 0)
		return malformed(c, resp);
	tcap = ilen / 3 * 4 + 64;
	text = malloc(tcap);
	if (text == NULL ||
	    (tl = sg_group_invite_to_text(text, tcap, inv, ilen)) < 0) {
		free(text);
		return malformed(c, resp);
	}
	free(resp);
	if (a->out != NULL) {
		text[tl] = '\n';
		rc = cli_write_file(c, a->out, text, (size_t)tl + 1);
		text[tl] = '\0';
		if (rc != 0) {
			free(text);
			return CLI_FAIL;
		}
	}
	if (c->json) {
		printf("{\"invite\":\"%s\",\"peer_id\":\"%s\",\"valid_hours\":%lu}\n",
		       a->out != NULL ? "" : text, a->peer, hours);
	} else if (a->out != NULL) {
		printf("Invite for %s written to %s (valid %lu hours).\n",
		       a->peer, a->out, hours);
	} else {
		printf("%s\n", text);
	}
	free(text);
	return CLI_OK;
}

static int g_join(cli *c, const char *dir, const gargs *a)
{
	sg_ctl_request r = {.op = SG_CTL_GROUP_JOIN};
	char *owned = NULL;
	const char *text;
	size_t tlen, count;
	uint8_t *inv, *resp;
	const uint8_t *gid;
	sg_cbor_dec d;
	long ilen;
	int rc;

	if ((a->invite == NULL) == (a->invite_file == NULL)) {
		cli_err(c, "groups join needs --invite TEXT or --invite-file "
			   "FILE (- for standard input)");
		return CLI_USAGE;
	}
	if (a->invite != NULL) {
		text = a->invite;
		tlen = strlen(text);
	} else {
		owned = cli_read_text(c, strcmp(a->invite_file, "-") == 0
						 ? "/dev/stdin"
						 : a->invite_file,
				      INVITE_TEXT_MAX, &tlen);
		if (owned == NULL)
			return CLI_FAIL;
		text = owned;
	}
	inv = malloc(tlen / 4 * 3 + 8);
	if (inv == NULL) {
		free(owned);
		return CLI_FAIL;
	}
	ilen = sg_group_invite_from_text(inv, tlen / 4 * 3 + 8, text, tlen);
	free(owned);
	if (ilen <= 0) {
		cli_err(c, "not an invite (it starts with '%s'): %s",
			SG_GROUP_INVITE_TEXT_PREFIX,
			sg_strerror(ilen < 0 ? (int)ilen : SG_ERR_TRUNCATED));
		free(inv);
		return CLI_USAGE;
	}
	r.payload = inv;
	r.payload_len = (size_t)ilen;
	rc = ask(c, dir, &r, &resp, &d, &count);
	free(inv);
	if (rc != 0) {
		free(resp);
		return rc;
	}
	if (count != 2 || sg_cbor_get_bytes_len(&d, &gid, SG_GROUP_ID_LEN) != 0)
		return malformed(c, resp);
	if (c->json) {
		printf("{\"group\":\"");
		put_hex(gid, SG_GROUP_ID_LEN);
		printf("\"}\n");
	} else {
		printf("Joined group ");
		put_hex(gid, SG_GROUP_ID_LEN);
		printf(" ('groups list' shows it).\n");
	}
	free(resp);
	return CLI_OK;
}

static int g_list(cli *c, const char *dir)
{
	sg_ctl_request r = {.op = SG_CTL_GROUP_LIST};
	uint8_t *resp;
	sg_cbor_dec d;
	size_t count, n, i, j, k, m, nl;
	const uint8_t *gid, *mid;
	const char *name;
	uint64_t epoch;
	int pres, rc;

	if ((rc = ask(c, dir, &r, &resp, &d, &count)) != 0) {
		free(resp);
		return rc;
	}
	if (count != 2 || sg_cbor_get_array(&d, &n) != 0)
		return malformed(c, resp);
	if (c->json)
		printf("[");
	for (i = 0; i < n; i++) {
		char *nm;
		if (sg_cbor_get_array(&d, &k) != 0 || k != 5 ||
		    sg_cbor_get_bytes_len(&d, &gid, SG_GROUP_ID_LEN) != 0 ||
		    sg_cbor_get_text(&d, &name, &nl) != 0 ||
		    sg_cbor_get_uint(&d, &epoch) != 0 ||
		    sg_cbor_get_bool(&d, &pres) != 0 ||
		    sg_cbor_get_array(&d, &m) != 0)
			return malformed(c, resp);
		nm = malloc(nl + 1);
		if (nm == NULL)
			return malformed(c, resp);
		memcpy(nm, name, nl);
		nm[nl] = '\0';
		if (c->json) {
			printf("%s{\"group\":\"", i > 0 ? "," : "");
			put_hex(gid, SG_GROUP_ID_LEN);
			printf("\",\"name\":");
			cli_json_str(stdout, nm);
			printf(",\"epoch\":%llu,\"presence\":%s,\"members\":[",
			       (unsigned long long)epoch,
			       pres ? "true" : "false");
		} else {
			printf("%s  ", nm);
			put_hex(gid, SG_GROUP_ID_LEN);
			printf("  epoch %llu  %zu member%s  presence %s\n",
			       (unsigned long long)epoch, m, m == 1 ? "" : "s",
			       pres ? "on" : "off");
		}
		free(nm);
		for (j = 0; j < m; j++) {
			if (sg_cbor_get_bytes_len(&d, &mid, SG_PEER_ID_LEN) != 0)
				return malformed(c, resp);
			if (c->json) {
				printf("%s\"", j > 0 ? "," : "");
				put_hex(mid, SG_PEER_ID_LEN);
				printf("\"");
			} else {
				printf("    ");
				put_hex(mid, SG_PEER_ID_LEN);
				printf("\n");
			}
		}
		if (c->json)
			printf("]}");
	}
	if (c->json)
		printf("]\n");
	else if (n == 0)
		printf("This node is in no group.\n");
	free(resp);
	return CLI_OK;
}

/* A request about group with a [0] answer: 0 or an exit code. */
static int g_simple_req(cli *c, const char *dir, sg_ctl_request *r,
			const char *group)
{
	uint8_t *resp;
	sg_cbor_dec d;
	size_t count;
	int rc;

	r->topic = group;
	r->topic_len = strlen(group);
	rc = ask(c, dir, r, &resp, &d, &count);
	free(resp);
	return rc;
}

/* leave, presence start and stop: [0] answers. */
static int g_simple(cli *c, const char *dir, sg_ctl_op op, const char *group,
		    const char *done)
{
	sg_ctl_request r = {.op = op};
	int rc = g_simple_req(c, dir, &r, group);

	if (rc != 0)
		return rc;
	if (c->json) {
		printf("{\"group\":");
		cli_json_str(stdout, group);
		printf(",\"done\":");
		cli_json_str(stdout, done);
		printf("}\n");
	} else {
		printf("%s: %s.\n", group, done);
	}
	return CLI_OK;
}

static int g_send(cli *c, const char *dir, const gargs *a)
{
	sg_ctl_request r = {.op = SG_CTL_GROUP_SEND};
	char *owned = NULL;
	size_t len;
	int rc;

	if (a->message != NULL) {
		len = strlen(a->message);
		r.payload = (const uint8_t *)a->message;
	} else {
		owned = cli_read_text(c, "/dev/stdin", SG_GROUP_MSG_MAX_PLAINTEXT,
				      &len);
		if (owned == NULL)
			return CLI_FAIL;
		r.payload = (const uint8_t *)owned;
	}
	if (len > SG_GROUP_MSG_MAX_PLAINTEXT) {
		cli_err(c, "a group message has at most %u bytes",
			(unsigned)SG_GROUP_MSG_MAX_PLAINTEXT);
		free(owned);
		return CLI_USAGE;
	}
	r.payload_len = len;
	rc = g_simple_req(c, dir, &r, a->group);
	free(owned);
	if (rc != 0)
		return rc;
	if (c->json) {
		printf("{\"group\":");
		cli_json_str(stdout, a->group);
		printf(",\"bytes\":%zu}\n", len);
	}
	else
		printf("Sent %zu bytes to '%s'.\n", len, a->group);
	return CLI_OK;
}

/* One group message of a GROUP_LISTEN stream: printed. */
static int g_message(cli *c, const uint8_t *m, size_t len, void *ud)
{
	sg_cbor_dec d;
	size_t count, nl, pl;
	uint64_t code, epoch;
	const char *name;
	const uint8_t *sender, *p;
	(void)ud;

	sg_cbor_dec_init(&d, m, len);
	if (sg_cbor_get_array(&d, &count) != 0 || count != 5 ||
	    sg_cbor_get_uint(&d, &code) != 0 ||
	    code != SG_CTL_EV_GROUP_MESSAGE ||
	    sg_cbor_get_text(&d, &name, &nl) != 0 ||
	    sg_cbor_get_bytes_len(&d, &sender, SG_PEER_ID_LEN) != 0 ||
	    sg_cbor_get_uint(&d, &epoch) != 0 ||
	    sg_cbor_get_bytes(&d, &p, &pl) != 0)
		return -1;
	if (c->json) {
		printf("{\"sender\":\"");
		put_hex(sender, SG_PEER_ID_LEN);
		printf("\",\"epoch\":%llu", (unsigned long long)epoch);
		cli_print_payload_json(p, pl);
		printf("}\n");
	} else {
		printf("[");
		put_hex(sender, 8);
		printf("] ");
		cli_print_payload_text(p, pl);
	}
	return 0;
}

static int p_online(cli *c, const char *dir, const char *group)
{
	sg_ctl_request r = {.op = SG_CTL_PRESENCE_ONLINE};
	uint8_t *resp;
	sg_cbor_dec d;
	size_t count, n, i, j, k, na, tl;
	const uint8_t *mid;
	const char *t;
	uint64_t seen, exp;
	int rc;

	r.topic = group;
	r.topic_len = strlen(group);
	if ((rc = ask(c, dir, &r, &resp, &d, &count)) != 0) {
		free(resp);
		return rc;
	}
	if (count != 2 || sg_cbor_get_array(&d, &n) != 0)
		return malformed(c, resp);
	if (c->json)
		printf("[");
	else if (n > 0)
		printf("%-64s  %-20s  %-20s  %s\n", "MEMBER", "LAST SEEN",
		       "UNTIL", "ADDRESSES");
	for (i = 0; i < n; i++) {
		if (sg_cbor_get_array(&d, &k) != 0 || k != 4 ||
		    sg_cbor_get_bytes_len(&d, &mid, SG_PEER_ID_LEN) != 0 ||
		    sg_cbor_get_uint(&d, &seen) != 0 ||
		    sg_cbor_get_uint(&d, &exp) != 0 ||
		    sg_cbor_get_array(&d, &na) != 0)
			return malformed(c, resp);
		if (c->json) {
			printf("%s{\"peer_id\":\"", i > 0 ? "," : "");
			put_hex(mid, SG_PEER_ID_LEN);
			printf("\",\"last_seen_ms\":%llu,\"expires_ms\":%llu,"
			       "\"addresses\":[",
			       (unsigned long long)seen,
			       (unsigned long long)exp);
		} else {
			put_hex(mid, SG_PEER_ID_LEN);
			printf("  ");
			put_time(seen);
			printf("  ");
			put_time(exp);
		}
		for (j = 0; j < na; j++) {
			if (sg_cbor_get_text(&d, &t, &tl) != 0)
				return malformed(c, resp);
			if (c->json)
				printf("%s\"%.*s\"", j > 0 ? "," : "", (int)tl,
				       t);
			else
				printf("  %.*s", (int)tl, t);
		}
		if (c->json)
			printf("]}");
		else
			printf("\n");
	}
	if (c->json)
		printf("]\n");
	else if (n == 0)
		printf("Nobody else in '%s' is online.\n", group);
	free(resp);
	return CLI_OK;
}

/* Usage, --help and options for `groups SUB` and `presence SUB`.
 * Returns 1 with *code set when the caller is done. */
static int prologue(cli *c, int argc, char **argv, gargs *a,
		    const char *usage, char *dir, size_t dlen, int *code)
{
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		*code = argc < 2 ? CLI_USAGE : CLI_OK;
		return 1;
	}
	rc = gparse(c, argc - 1, argv + 1, a, usage);
	if (rc != 0) {
		*code = rc < 0 ? CLI_OK : rc;
		return 1;
	}
	if ((rc = cli_data_dir(c, a->data_dir, dir, dlen)) != 0) {
		*code = rc;
		return 1;
	}
	return 0;
}

int cli_groups(cli *c, int argc, char **argv)
{
	gargs a;
	char dir[4096];
	const char *sub;
	int rc;

	if (prologue(c, argc, argv, &a, groups_usage, dir, sizeof(dir), &rc))
		return rc;
	sub = argv[1];
	if (strcmp(sub, "create") == 0)
		return (rc = only(c, &a, sub, "n")) != 0 ? rc
							  : g_create(c, dir, &a);
	if (strcmp(sub, "invite") == 0)
		return (rc = only(c, &a, sub, "gpvo")) != 0
			       ? rc
			       : g_invite(c, dir, &a);
	if (strcmp(sub, "join") == 0)
		return (rc = only(c, &a, sub, "if")) != 0 ? rc
							   : g_join(c, dir, &a);
	if (strcmp(sub, "list") == 0)
		return (rc = only(c, &a, sub, "")) != 0 ? rc : g_list(c, dir);
	if (strcmp(sub, "send") == 0 || strcmp(sub, "listen") == 0) {
		char what[32];
		snprintf(what, sizeof(what), "groups %s", sub);
		if ((rc = need_group(c, &a, sub, sub[1] == 'e' ? "gm" : "g",
				     what)) != 0)
			return rc;
		if (sub[1] == 'e')
			return g_send(c, dir, &a);
		{
			sg_ctl_request r = {.op = SG_CTL_GROUP_LISTEN,
					    .topic = a.group,
					    .topic_len = strlen(a.group)};
			char started[200];
			snprintf(started, sizeof(started),
				 "Listening to group '%s'", a.group);
			return cli_ctl_stream(c, dir, &r, started, g_message,
					      NULL);
		}
	}
	if (strcmp(sub, "leave") == 0) {
		if ((rc = need_group(c, &a, sub, "g", "groups leave")) != 0)
			return rc;
		return g_simple(c, dir, SG_CTL_GROUP_LEAVE, a.group,
				"leaving (the others re-key without this "
				"node)");
	}
	cli_err(c, "unknown groups command '%s'", sub);
	fputs(groups_usage, stderr);
	return CLI_USAGE;
}

int cli_presence(cli *c, int argc, char **argv)
{
	gargs a;
	char dir[4096];
	const char *sub;
	int rc;

	if (prologue(c, argc, argv, &a, presence_usage, dir, sizeof(dir), &rc))
		return rc;
	sub = argv[1];
	if (strcmp(sub, "start") != 0 && strcmp(sub, "stop") != 0 &&
	    strcmp(sub, "online") != 0) {
		cli_err(c, "unknown presence command '%s'", sub);
		fputs(presence_usage, stderr);
		return CLI_USAGE;
	}
	if ((rc = only(c, &a, sub, "g")) != 0)
		return rc;
	if (a.group == NULL) {
		cli_err(c, "presence %s needs --topic G (a group)", sub);
		return CLI_USAGE;
	}
	if (strcmp(sub, "start") == 0)
		return g_simple(c, dir, SG_CTL_PRESENCE_START, a.group,
				"presence on");
	if (strcmp(sub, "stop") == 0)
		return g_simple(c, dir, SG_CTL_PRESENCE_STOP, a.group,
				"presence off");
	return p_online(c, dir, a.group);
}
