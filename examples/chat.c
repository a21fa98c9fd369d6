/* A terminal chat over saorsa-gossip (include/sg/app.h): lines typed are signed
 * and published on TOPIC; others' lines appear marked with their sender's
 * PeerId; neighbours come and go. With -d DIR, `saorsa-gossip groups ...
 * --data-dir DIR` reaches the chat's node, and "/who GROUP" turns presence on
 * in that group and lists who is online (then shown coming and going). Ctrl-D
 * leaves. sg-chat [-b IP:PORT] [-j PEERID@IP:PORT]... [-n NAME] [-d DIR] TOPIC */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "sg/app.h"
#include "sg/err.h"

static void show(const sg_app_event *ev)
{
	static const char *what[] = {"", "", "joined", "left", "is online in", "went offline in"};
	char who[SG_PEER_ID_SHORT_HEX_LEN];
	size_t n, i;
	const uint8_t *p = sg_app_event_payload(ev, &n);
	sg_app_kind k = sg_app_event_kind(ev);
	sg_peer_id_short(who, sg_app_event_peer(ev));
	if (k != SG_APP_MESSAGE)
		printf("* %.8s %s %s", who, what[k],
		       k > 3 ? sg_app_event_topic(ev, NULL) : sg_app_event_addr(ev));
	else
		printf("[%.8s] ", who);
	for (i = 0; i < n; i++) /* no terminal control from others */
		putchar(p[i] >= 0x20 && p[i] != 0x7f ? p[i] : '?');
	putchar('\n');
}

/* "/who GROUP": presence on in GROUP, and who of it is online. */
static void who(sg_app *app, const char *group)
{
	sg_app_member m[64];
	char id[SG_PEER_ID_SHORT_HEX_LEN];
	long k = sg_app_presence_start(app, group), i;
	if (k == 0)
		k = sg_app_presence_online(app, group, m, 64);
	for (i = 0; i < k && i < 64; i++)
		sg_peer_id_short(id, &m[i].id), printf("* %.8s is in %s (%s)\n", id, group, m[i].addr);
	printf("* %s: %s\n", group, k < 0 ? sg_strerror((int)k) : "that is all");
}

int main(int argc, char **argv)
{
	const char *joins[8], *name = "anon", *topic;
	char in[1024], line[1100], addr[SG_APP_ADDR_LEN], hex[SG_PEER_ID_HEX_LEN], *l, *save;
	size_t nj = 0;
	int ch, err = 0, n;
	sg_app_config cfg;
	sg_app *app; sg_app_event *ev;
	setvbuf(stdout, NULL, _IOLBF, 0), sg_app_config_default(&cfg); /* lines at once */
	cfg.bind = "127.0.0.1:0";
	while ((ch = getopt(argc, argv, "b:j:n:d:")) != -1 && ch != '?') {
		if (ch == 'j' && nj < 8)
			joins[nj++] = optarg;
		else if (ch != 'j')
			*(ch == 'b' ? &cfg.bind : ch == 'n' ? &name : &cfg.data_dir) = optarg;
	}
	if (ch == '?' || optind != argc - 1 || !(topic = argv[optind])) {
		fputs("usage: sg-chat [-b IP:PORT] [-j PEERID@IP:PORT]... "
		      "[-n NAME] [-d DIR] TOPIC\n", stderr);
		return 2;
	}
	cfg.coordinators = joins, cfg.n_coordinators = nj;
	cfg.control = cfg.data_dir != NULL; /* for `groups ... --data-dir` */
	cfg.peer_events = cfg.presence_events = 1;
	app = sg_app_new(&cfg, &err);
	if (app == NULL || (err = sg_app_start(app, NULL)) != 0 ||
	    (err = sg_app_subscribe(app, topic, NULL, NULL)) != 0) {
		fprintf(stderr, "sg-chat: %s\n", sg_strerror(err));
		sg_app_del(app);
		return 1;
	}
	sg_peer_id_hex(hex, sg_app_id(app)), sg_app_local_addr(app, addr, sizeof(addr));
	printf("Others join with: sg-chat -j %s@%s %s\n", hex, addr, topic);
	for (;;) { /* the terminal and the app's queue (EINTR: no revents) */
		struct pollfd fd[] = {{0, POLLIN, 0}, {sg_app_fd(app), POLLIN, 0}};
		ssize_t k = 0;
		poll(fd, 2, -1);
		for (; sg_app_poll(app, &ev, 0) == 0; sg_app_event_free(ev))
			show(ev);
		if (fd[0].revents && (k = read(0, in, sizeof(in) - 1)) <= 0)
			break; /* Ctrl-D */
		in[k] = '\0'; /* a terminal reads a line at a time */
		for (l = strtok_r(in, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			n = snprintf(line, sizeof(line), "%.32s: %s", name, l);
			if (strncmp(l, "/who ", 5) == 0)
				who(app, l + 5);
			else if ((err = sg_app_publish(app, topic, (uint8_t *)line,
						       (size_t)n, NULL)) != 0)
				fprintf(stderr, "%s\n", sg_strerror(err));
		}
	}
	sg_app_del(app); /* leaves politely */
	return 0;
}
