/*
 * A broken path between two endpoints of a table of addresses, for tests
 * on loopback: while the cut is on, the datagrams each of the two sends to
 * the other's address are dropped (through sg_endpoint_config.tx_filter)
 * and counted; everything else goes through. The relay tests use it to
 * make two peers that cannot reach each other directly but both reach a
 * relay.
 */
#ifndef SG_TEST_NETCUT_H
#define SG_TEST_NETCUT_H

#include <stddef.h>
#include <sys/socket.h>

#include "sg/endpoint.h"

typedef struct netcut netcut;

/* What one side's filter is handed: the cut and which side it is. */
typedef struct netcut_side {
	netcut *cut;
	int self;
} netcut_side;

struct netcut {
	/* addrs[a] and addrs[b], read at every datagram (so the table may
	 * be filled after netcut_install); IPv4 only. */
	const struct sockaddr_storage *addrs;
	int a, b;
	int on;		/* 1 (netcut_init's): datagrams are dropped */
	size_t dropped; /* datagrams dropped so far */
	netcut_side side[2];
};

/* The cut between addrs[a] and addrs[b], on. */
void netcut_init(netcut *c, const struct sockaddr_storage *addrs, int a, int b);

/* Makes cfg (endpoint `self`, which is a or b) drop its datagrams to the
 * other one's address while c->on. c must outlive the endpoint. */
void netcut_install(netcut *c, int self, sg_endpoint_config *cfg);

#endif
