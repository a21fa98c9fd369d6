/*
 * A "world" of UDP endpoints (sg_endpoint) on loopback, on one libuv loop
 * in one process, for the endpoint and relay tests: n endpoints bound to
 * 127.0.0.1 (any port), each with the identity derived from 32 bytes of
 * (seed + i), whose events the world counts per endpoint. A test varies
 * the endpoints' configuration through a config hook (called for each
 * endpoint after sg_endpoint_config_default), may cut the path between
 * two of them (netcut.h), and looks at every event through an event hook
 * (called after the counting). The functions fail the running cmocka test
 * on any error.
 */
#ifndef SG_TEST_EPWORLD_H
#define SG_TEST_EPWORLD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "netcut.h"
#include "sg/endpoint.h"

#define EPWORLD_MAX 20

typedef struct epworld epworld;

typedef struct epworld_opts {
	int n; /* endpoints, 1 .. EPWORLD_MAX */
	uint8_t seed;
	/* cut_a != cut_b: the path between these two is cut (w->cut, on;
	 * installed before the config hook runs). */
	int cut_a, cut_b;
	/* Optional: adjusts endpoint i's configuration; called from
	 * epworld_new only (config_ud need not outlive it). w->addr is not
	 * known yet; pointers into w may be kept (the world does not move). */
	void (*config)(void *ud, epworld *w, int i, sg_endpoint_config *cfg);
	void *config_ud;
	/* Optional: sees each event of endpoint i after the counters. */
	void (*on_event)(void *ud, epworld *w, int i,
			 const struct sockaddr *remote,
			 const sg_quic_event *ev);
	void *event_ud;
} epworld_opts;

struct epworld {
	uv_loop_t loop;
	sg_env env;
	int n;
	sg_identity ids[EPWORLD_MAX];
	sg_endpoint *ep[EPWORLD_MAX];
	/* Each one's local address. */
	struct sockaddr_storage addr[EPWORLD_MAX];
	/* Counted per endpoint: CONNECTED events (those whose remote is a
	 * relayed path's virtual address also in relayed_connected),
	 * MESSAGE events with their bytes and the last sender, CLOSED
	 * events with the last one's error. */
	int connected[EPWORLD_MAX];
	int relayed_connected[EPWORLD_MAX];
	int closed[EPWORLD_MAX];
	int close_err[EPWORLD_MAX];
	size_t msgs[EPWORLD_MAX];
	size_t bytes[EPWORLD_MAX];
	sg_peer_id last_from[EPWORLD_MAX];
	netcut cut;
	epworld_opts opts;
};

/* The world of opts->n endpoints, each bound and its address known. */
epworld *epworld_new(const epworld_opts *opts);

/* Deletes the endpoints, runs the loop until their handles are closed,
 * closes the loop (which must then be empty) and frees w. NULL: no-op. */
void epworld_del(epworld *w);

/* The index of ep in w, -1 if it is none of w's. */
int epworld_index(const epworld *w, const sg_endpoint *ep);

/* Runs w's loop until cond(w) holds or ms pass; returns cond(w) after
 * (looprun.h, loop_run_until). */
int epworld_run_until(epworld *w, int (*cond)(epworld *w), uint64_t ms);

/* Runs w's loop for ms. */
void epworld_run_for(epworld *w, uint64_t ms);

/* Endpoint `from` dials endpoint `to` at its address, naming its PeerId;
 * returns sg_endpoint_dial's result. */
int epworld_dial(epworld *w, int from, int to);

#endif
