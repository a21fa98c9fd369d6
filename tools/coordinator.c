/*
 * saorsa-gossip-coordinator: a bootstrap node. It is a full node (same
 * core, same transport) that also hands out its signed advert, tells
 * peers the address it sees them at, and relays QUIC packets between
 * peers that cannot reach each other (docs/PROTOCOL.md, "Relay"). Its
 * advert lists its roles, which is how peers learn that it relays.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "sg/err.h"
#include "sg/keystore.h"
#include "sg/node.h"

static const char usage[] =
	"usage: saorsa-gossip-coordinator [--bind ADDR] [--roles LIST]\n"
	"                                 [--publish-interval SECS] "
	"[--identity-path PATH]\n"
	"                                 [--data-dir DIR] [--log-format "
	"text|json] [--verbose]\n"
	"\n"
	"A saorsa-gossip bootstrap node: a full node that joining peers "
	"contact first.\n"
	"\n"
	"  --bind ADDR              IP:PORT or [IPv6]:PORT to listen on "
	"(default 0.0.0.0:7000)\n"
	"  --roles LIST             comma-separated, from: coordinator "
	"(hand every new\n"
	"                           neighbour this node's signed advert and "
	"re-sign it every\n"
	"                           interval), reflector (tell each peer "
	"the address it is\n"
	"                           seen at), relay (forward packets between "
	"peers that\n"
	"                           cannot reach each other; they stay "
	"end-to-end encrypted;\n"
	"                           rate-limited per peer), rendezvous "
	"(announced in the\n"
	"                           advert only: every node serves "
	"rendezvous shards, which\n"
	"                           are pub/sub topics). Default: "
	"coordinator,reflector,relay\n"
	"  --publish-interval SECS  advert interval (default 300)\n"
	"  --identity-path PATH     keystore file of this node's identity, "
	"created on first\n"
	"                           run (default CONFIG_DIR/coordinator.key)\n"
	"  --data-dir DIR           peer cache and control socket (default "
	"CONFIG_DIR/coordinator)\n"
	"  --log-format text|json   log lines on stderr (default text)\n"
	"  -v, --verbose            debug log lines\n"
	"  -c, --config-dir DIR     configuration directory (default "
	"$SAORSA_GOSSIP_HOME\n"
	"                           or ~/.saorsa-gossip)\n"
	"\n"
	"Control it with 'saorsa-gossip network status|peers|leave "
	"--data-dir DIR'.\n";

static int parse_roles(cli *c, const char *s, uint32_t *roles)
{
	char buf[256], *tok, *save = NULL;

	if (strlen(s) >= sizeof(buf)) {
		cli_err(c, "--roles: list too long");
		return CLI_USAGE;
	}
	strcpy(buf, s);
	*roles = 0;
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "coordinator") == 0)
			*roles |= SG_ROLE_COORDINATOR;
		else if (strcmp(tok, "reflector") == 0)
			*roles |= SG_ROLE_REFLECTOR;
		else if (strcmp(tok, "relay") == 0)
			*roles |= SG_ROLE_RELAY;
		else if (strcmp(tok, "rendezvous") == 0)
			*roles |= SG_ROLE_RENDEZVOUS;
		else {
			cli_err(c, "unknown role '%s' (known: coordinator, "
				   "reflector, relay, rendezvous)",
				tok);
			return CLI_USAGE;
		}
	}
	if (*roles == 0) {
		cli_err(c, "--roles: name at least one role");
		return CLI_USAGE;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"bind", required_argument, NULL, 'b'},
		{"roles", required_argument, NULL, 'r'},
		{"publish-interval", required_argument, NULL, 'p'},
		{"identity-path", required_argument, NULL, 'i'},
		{"data-dir", required_argument, NULL, 'd'},
		{"log-format", required_argument, NULL, 'l'},
		{"config-dir", required_argument, NULL, 'c'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	cli c;
	sg_node_config cfg;
	sg_identity *id;
	const char *bind = "0.0.0.0:7000", *idpath = NULL, *ddir = NULL;
	const char *logfmt = "text";
	char base[4096], idbuf[4200], dbuf[4200], hex[SG_PEER_ID_HEX_LEN];
	uint32_t roles =
		SG_ROLE_COORDINATOR | SG_ROLE_REFLECTOR | SG_ROLE_RELAY;
	unsigned long interval = 300;
	int ch, rc, created;
	struct sockaddr_storage sa;

	memset(&c, 0, sizeof(c));
	c.prog = "saorsa-gossip-coordinator";
	if (sg_env_default(&c.env) != 0) {
		cli_err(&c, "cannot initialise libsodium");
		return CLI_FAIL;
	}
	while ((ch = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		char *end;
		switch (ch) {
		case 'b':
			bind = optarg;
			break;
		case 'r':
			if ((rc = parse_roles(&c, optarg, &roles)) != 0)
				return rc;
			break;
		case 'p':
			interval = strtoul(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || interval == 0 ||
			    interval > 86400 || optarg[0] == '-') {
				cli_err(&c, "--publish-interval: 1 to 86400 "
					    "seconds, not '%s'",
					optarg);
				return CLI_USAGE;
			}
			break;
		case 'i':
			idpath = optarg;
			break;
		case 'd':
			ddir = optarg;
			break;
		case 'l':
			logfmt = optarg;
			if (strcmp(logfmt, "text") != 0 &&
			    strcmp(logfmt, "json") != 0) {
				cli_err(&c, "--log-format is text or json");
				return CLI_USAGE;
			}
			break;
		case 'c':
			c.config_dir = optarg;
			break;
		case 'v':
			c.verbose = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_OK;
		default:
			fputs(usage, stderr);
			return CLI_USAGE;
		}
	}
	if (optind < argc) {
		cli_err(&c, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if (sg_node_parse_addr(bind, &sa) != 0) {
		cli_err(&c, "--bind: '%s' is not IP:PORT or [IPv6]:PORT", bind);
		return CLI_USAGE;
	}
	if ((idpath == NULL || ddir == NULL) &&
	    sg_config_dir(base, sizeof(base), c.config_dir) != 0) {
		cli_err(&c, "cannot locate the configuration directory (set "
			    "--config-dir or SAORSA_GOSSIP_HOME)");
		return CLI_FAIL;
	}
	if (idpath == NULL) {
		snprintf(idbuf, sizeof(idbuf), "%s/coordinator.key", base);
		idpath = idbuf;
	}
	if (ddir == NULL) {
		snprintf(dbuf, sizeof(dbuf), "%s/coordinator", base);
		ddir = dbuf;
	}
	cli_log_setup(&c, strcmp(logfmt, "json") == 0);
	if ((roles & (SG_ROLE_RELAY | SG_ROLE_RENDEZVOUS)) != 0 &&
	    (roles & SG_ROLE_COORDINATOR) == 0)
		sg_log(&c.env, SG_LOG_WARN, "coordinator",
		       "relay and rendezvous are announced in the coordinator "
		       "advert: without the coordinator role no peer learns "
		       "of them");
	id = malloc(sizeof(*id));
	if (id == NULL)
		return CLI_FAIL;
	if ((rc = cli_identity_at(&c, idpath, id, &created)) != 0) {
		free(id);
		return rc;
	}
	sg_peer_id_hex(hex, &id->id);
	sg_log(&c.env, SG_LOG_INFO, "coordinator", "%s identity %s (%s)",
	       created ? "created" : "loaded", hex, idpath);
	sg_node_config_default(&cfg);
	cfg.bind = bind;
	cfg.data_dir = ddir;
	cfg.roles = roles;
	cfg.advert_interval_ms = (uint64_t)interval * 1000;
	/* A coordinator accepts more neighbours than an ordinary node. */
	cfg.core.hv.active_max = 32;
	/* Expanded once, the signing key signs every handshake faster. */
	rc = sg_identity_expand(id, &c.env);
	if (rc == 0)
		rc = cli_run_node(&c, &cfg, id);
	else
		rc = CLI_FAIL;
	sg_identity_wipe(id);
	free(id);
	return rc;
}
