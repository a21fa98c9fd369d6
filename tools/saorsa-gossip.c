/*
 * saorsa-gossip: the command-line program. Global options stand before the
 * command; each command has its own --help.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "sg/common.h"
#include "sg/err.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: saorsa-gossip [-v] [-c DIR] [--json] COMMAND [ARGS]\n"
		"\n"
		"Post-quantum secure peer-to-peer gossip.\n"
		"\n"
		"Commands:\n"
		"  identity   create, list, show, delete and export identities;\n"
		"             sign and verify files\n"
		"  network    join the overlay (run a node), status, peers, leave\n"
		"  pubsub     subscribe, publish, unsubscribe, list topics\n"
		"  rendezvous register, unregister and find providers of a "
		"capability\n"
		"  groups     create, invite, join, leave and list groups\n"
		"  presence   start, stop and list who of a group is online\n"
		"  testnet    a coordinator and N nodes on loopback: publish, "
		"show who\n"
		"             received what and how fast, shut down\n"
		"\n"
		"Global options:\n"
		"  -c, --config-dir DIR  configuration directory (default\n"
		"                        $SAORSA_GOSSIP_HOME or ~/.saorsa-gossip)\n"
		"  -v, --verbose         more detail on stderr\n"
		"      --json            machine-readable output\n"
		"  -V, --version         print the version\n"
		"  -h, --help            this help\n"
		"\n"
		"Run 'saorsa-gossip COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config-dir", required_argument, NULL, 'c'},
		{"verbose", no_argument, NULL, 'v'},
		{"json", no_argument, NULL, 'j'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	cli c;
	int ch;

	memset(&c, 0, sizeof(c));
	c.prog = "saorsa-gossip";
	if (sg_env_default(&c.env) != 0) {
		cli_err(&c, "cannot initialise libsodium");
		return CLI_FAIL;
	}
	/* "+": stop at the command so its own options are its own. */
	while ((ch = getopt_long(argc, argv, "+c:vVh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			c.config_dir = optarg;
			break;
		case 'v':
			c.verbose = 1;
			break;
		case 'j':
			c.json = 1;
			break;
		case 'V':
			printf("saorsa-gossip %s\n", sg_version());
			return CLI_OK;
		case 'h':
			usage(stdout);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[optind], "identity") == 0) {
		int sub_argc = argc - optind;
		char **sub_argv = argv + optind;
		return cli_identity(&c, sub_argc, sub_argv);
	}
	if (strcmp(argv[optind], "network") == 0)
		return cli_network(&c, argc - optind, argv + optind);
	if (strcmp(argv[optind], "pubsub") == 0)
		return cli_pubsub(&c, argc - optind, argv + optind);
	if (strcmp(argv[optind], "rendezvous") == 0)
		return cli_rendezvous(&c, argc - optind, argv + optind);
	if (strcmp(argv[optind], "groups") == 0)
		return cli_groups(&c, argc - optind, argv + optind);
	if (strcmp(argv[optind], "presence") == 0)
		return cli_presence(&c, argc - optind, argv + optind);
	if (strcmp(argv[optind], "testnet") == 0)
		return cli_testnet(&c, argc - optind, argv + optind);
	cli_err(&c, "unknown command '%s'", argv[optind]);
	usage(stderr);
	return CLI_USAGE;
}
