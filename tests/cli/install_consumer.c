/*
 * A program built outside the project, against an installed
 * libsaorsa-gossip, with nothing but `pkg-config --cflags --libs
 * saorsa-gossip` (tests/cli/test_install.sh): two apps join the coordinator
 * named on the command line, subscribe to one topic, and each must receive
 * what the other publishes. Prints the version it was built against and
 * the one it runs with; exit status 0 on success.
 *   usage: install_consumer COORDINATOR-ADDR
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sg/app.h>
#include <sg/err.h>

#define TOPIC "install-test"

static sg_app *start(const char *coordinator)
{
	const char *contacts[1] = {coordinator};
	sg_app_config cfg;
	sg_app *app;
	int err;

	sg_app_config_default(&cfg);
	cfg.bind = "127.0.0.1:0";
	cfg.coordinators = contacts;
	cfg.n_coordinators = 1;
	app = sg_app_new(&cfg, &err);
	if (app == NULL || (err = sg_app_start(app, NULL)) != 0 ||
	    (err = sg_app_subscribe(app, TOPIC, NULL, NULL)) != 0) {
		fprintf(stderr, "start: %s\n", sg_strerror(err));
		sg_app_del(app);
		return NULL;
	}
	return app;
}

/* Publishes msg from `from` (again every 500 ms: the topic's swarm forms
 * through the coordinator) until `to` receives it; 0 on success. */
static int exchange(sg_app *from, sg_app *to, const char *msg)
{
	time_t end = time(NULL) + 60;
	int rc;

	while (time(NULL) < end) {
		sg_app_event *ev;
		rc = sg_app_publish(from, TOPIC, (const uint8_t *)msg,
				    strlen(msg), NULL);
		if (rc != 0) {
			fprintf(stderr, "publish: %s\n", sg_strerror(rc));
			return 1;
		}
		while (sg_app_poll(to, &ev, 500) == 0) {
			size_t n;
			const uint8_t *p = sg_app_event_payload(ev, &n);
			int ok = sg_app_event_kind(ev) == SG_APP_MESSAGE &&
				 n == strlen(msg) && memcmp(p, msg, n) == 0 &&
				 sg_peer_id_equal(sg_app_event_peer(ev),
						  sg_app_id(from));
			sg_app_event_free(ev);
			if (ok) {
				printf("received: %s\n", msg);
				return 0;
			}
		}
	}
	fprintf(stderr, "'%s' never arrived\n", msg);
	return 1;
}

int main(int argc, char **argv)
{
	sg_app *a, *b;
	int rc = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: install_consumer COORDINATOR-ADDR\n");
		return 2;
	}
	printf("built against %s (0x%06x), running %s\n", SG_VERSION_STRING,
	       (unsigned)SG_VERSION_NUM, sg_version());
	if (strcmp(sg_version(), SG_VERSION_STRING) != 0)
		return 1;
	a = start(argv[1]);
	b = a != NULL ? start(argv[1]) : NULL;
	if (b != NULL && exchange(a, b, "from a to b") == 0 &&
	    exchange(b, a, "from b to a") == 0)
		rc = 0;
	sg_app_del(b);
	sg_app_del(a);
	return rc;
}
