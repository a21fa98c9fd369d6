/*
 * A terminal chat over saorsa-gossip (include/sg/app.h): each line typed is
 * signed and published on the topic; lines from the others appear as they
 * arrive, marked with their sender's PeerId, and neighbours are shown
 * joining and leaving. Ctrl-D leaves.
 *   sg-chat [-b IP:PORT] [-j PEERID@IP:PORT]... [-n NAME] TOPIC
 */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "sg/app.h"
#include "sg/err.h"

static void show(const sg_app_event *ev)
{
	char who[SG_PEER_ID_SHORT_HEX_LEN];
	size_t n, i;
	const uint8_t *p = sg_app_event_payload(ev, &n);
	sg_peer_id_short(who, sg_app_event_peer(ev));
	if (sg_app_event_kind(ev) == SG_APP_PEER_UP)
		printf("* %.8s joined (%s)\n", who, sg_app_event_addr(ev));
	else if (sg_app_event_kind(ev) == SG_APP_PEER_DOWN)
		printf("* %.8s left\n", who);
	else {
		printf("[%.8s] ", who);
		for (i = 0; i < n; i++) /* no terminal control from others */
			putchar(p[i] >= 0x20 && p[i] != 0x7f ? p[i] : '?');
		putchar('\n');
	}
}

int main(int argc, char **argv)
{
	const char *joins[8], *name = "anon", *topic;
	char in[1024], line[1100], addr[SG_APP_ADDR_LEN];
	char hex[SG_PEER_ID_HEX_LEN];
	size_t nj = 0;
	sg_app_config cfg;
	sg_app *app;
	sg_app_event *ev;
	int ch, err = 0, afd;
	setvbuf(stdout, NULL, _IOLBF, 0); /* a line as soon as it is there */
	sg_app_config_default(&cfg);
	cfg.bind = "127.0.0.1:0";
	while ((ch = getopt(argc, argv, "b:j:n:")) != -1 && ch != '?') {
		if (ch == 'b')
			cfg.bind = optarg;
		else if (ch == 'j' && nj < 8)
			joins[nj++] = optarg;
		else if (ch == 'n')
			name = optarg;
	}
	if (ch == '?' || optind != argc - 1) {
		fputs("usage: sg-chat [-b IP:PORT] [-j PEERID@IP:PORT]... "
		      "[-n NAME] TOPIC\n",
		      stderr);
		return 2;
	}
	topic = argv[optind];
	cfg.coordinators = joins;
	cfg.n_coordinators = nj;
	cfg.peer_events = 1; /* neighbours (presence will come later) */
	app = sg_app_new(&cfg, &err);
	if (app == NULL || (err = sg_app_start(app, NULL)) != 0 ||
	    (err = sg_app_subscribe(app, topic, NULL, NULL)) != 0) {
		fprintf(stderr, "sg-chat: %s\n", sg_strerror(err));
		sg_app_del(app);
		return 1;
	}
	sg_peer_id_hex(hex, sg_app_id(app));
	sg_app_local_addr(app, addr, sizeof(addr));
	printf("Others join with: sg-chat -j %s@%s %s\n", hex, addr, topic);
	afd = sg_app_fd(app);
	for (;;) { /* the terminal and the app's queue */
		struct pollfd fd[] = {{0, POLLIN, 0}, {afd, POLLIN, 0}};
		ssize_t k = 0;
		char *l, *save;
		if (poll(fd, 2, -1) < 0)
			continue; /* EINTR */
		for (; sg_app_poll(app, &ev, 0) == 0; sg_app_event_free(ev))
			show(ev);
		if (fd[0].revents && (k = read(0, in, sizeof(in) - 1)) <= 0)
			break; /* Ctrl-D */
		in[k] = '\0';  /* a terminal reads a line at a time */
		for (l = strtok_r(in, "\n", &save); l != NULL;
		     l = strtok_r(NULL, "\n", &save)) {
			int n =
			    snprintf(line, sizeof(line), "%.32s: %s", name, l);
			err = sg_app_publish(app, topic, (const uint8_t *)line,
					     (size_t)n, NULL);
			if (err != 0)
				fprintf(stderr, "%s\n", sg_strerror(err));
		}
	}
	sg_app_del(app); /* leaves politely */
	return 0;
}
