/*
 * Minimal publish/subscribe with saorsa-gossip (include/sg/app.h).
 *   sg-pubsub [-b IP:PORT] [-j PEERID@IP:PORT]... TOPIC
 *       subscribes and prints each message (publisher, then payload)
 *   sg-pubsub [-b IP:PORT] [-j PEERID@IP:PORT]... TOPIC MESSAGE
 *       joins, publishes MESSAGE once a neighbour is there, and leaves
 * The first one started prints the contact the others join with.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "sg/app.h"
#include "sg/err.h"

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	const char *joins[8];
	char hex[SG_PEER_ID_HEX_LEN], addr[SG_APP_ADDR_LEN];
	size_t nj = 0, len;
	sg_app_config cfg;
	sg_app *app;
	sg_app_event *ev;
	int ch, i, err = 0;

	sg_app_config_default(&cfg);
	cfg.bind = "127.0.0.1:0";
	while ((ch = getopt(argc, argv, "b:j:")) != -1 && ch != '?') {
		if (ch == 'b')
			cfg.bind = optarg;
		else if (nj < 8)
			joins[nj++] = optarg;
	}
	if (ch == '?' || argc - optind < 1 || argc - optind > 2) {
		fputs("usage: sg-pubsub [-b IP:PORT] [-j PEERID@IP:PORT]... "
		      "TOPIC [MESSAGE]\n",
		      stderr);
		return 2;
	}
	cfg.coordinators = joins;
	cfg.n_coordinators = nj;
	app = sg_app_new(&cfg, &err);
	/* Subscribing also joins the topic's swarm before publishing. */
	if (app == NULL || (err = sg_app_start(app, NULL)) != 0 ||
	    (err = sg_app_subscribe(app, argv[optind], NULL, NULL)) != 0) {
		fprintf(stderr, "sg-pubsub: %s\n", sg_strerror(err));
		sg_app_del(app);
		return 1;
	}
	sg_peer_id_hex(hex, sg_app_id(app));
	sg_app_local_addr(app, addr, sizeof(addr));
	fprintf(stderr, "contact: %s@%s\n", hex, addr);
	if (argc - optind == 2) {
		for (i = 0; i < 300 && sg_app_peers(app, NULL, 0) == 0; i++)
			sleep_ms(100); /* up to 30 s for a neighbour */
		sleep_ms(1000);	       /* and a second for the topic's swarm */
		err = sg_app_publish(app, argv[optind],
				     (const uint8_t *)argv[optind + 1],
				     strlen(argv[optind + 1]), NULL);
		if (err != 0)
			fprintf(stderr, "sg-pubsub: %s\n", sg_strerror(err));
		sleep_ms(1000);	 /* the message out before the leave, which */
		sg_app_del(app); /* travels apart and could overtake it */
		return err != 0;
	}
	while (sg_app_poll(app, &ev, -1) == 0) {
		const uint8_t *p = sg_app_event_payload(ev, &len);
		sg_peer_id_hex(hex, sg_app_event_peer(ev));
		printf("%s %.*s\n", hex, (int)len, (const char *)p);
		fflush(stdout);
		sg_app_event_free(ev);
	}
	sg_app_del(app);
	return 0;
}
