/*
 * Nodes (sg_node) in one process on one libuv loop, on loopback, for the
 * node tests: the loop, an sg_env (with a log sink on stderr when
 * SG_TEST_LOG is set), a fresh temporary directory under /tmp that holds
 * each node's data directory (root/n<i>), and n identities derived from 32
 * bytes of (seed + i). nodefix_start starts node i bound to 127.0.0.1 (any
 * port) with the given contacts and roles; a config hook may adjust the
 * configuration first. Meant for cmocka's group setup and teardown; the
 * functions fail the running test on any error.
 */
#ifndef SG_TEST_NODEFIX_H
#define SG_TEST_NODEFIX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "sg/node.h"

#define NODEFIX_MAX 8

typedef struct nodefix nodefix;

struct nodefix {
	uv_loop_t loop;
	sg_env env;
	char root[64];
	int n;
	sg_identity ids[NODEFIX_MAX];
	/* Node i's local address, set by nodefix_start. */
	struct sockaddr_storage addrs[NODEFIX_MAX];
	/* Optional: adjusts node i's configuration in nodefix_start. */
	void (*config)(void *ud, nodefix *f, int i, sg_node_config *cfg);
	void *config_ud;
};

/* The loop, env, identities and the directory /tmp/sg-<name>-XXXXXX.
 * Returns 0 (for a cmocka setup function). f must not move after. */
int nodefix_init(nodefix *f, const char *name, int n, uint8_t seed);

/* Runs the loop briefly without waiting for nodes that may still run (a
 * failed test leaves them), closes it and removes the directory. Returns
 * 0, or -1 if the directory could not be removed (for a cmocka teardown). */
int nodefix_fini(nodefix *f);

/* Node i, data directory root/n<i>, bound to 127.0.0.1:0, with contacts
 * (nc of them) and roles, after the config hook. */
sg_node *nodefix_start(nodefix *f, int i, const char *const *contacts,
		       size_t nc, uint32_t roles);

/* Node i's address as "IP:PORT" (sg_node_format_addr), and as a pinned
 * contact "PEERID@IP:PORT"; node i must have been started. */
void nodefix_addr(const nodefix *f, int i, char *out, size_t cap);
void nodefix_contact(const nodefix *f, int i, char *out, size_t cap);

/* Runs the loop until pred(ud) holds or timeout_ms pass; returns pred(ud)
 * after (looprun.h, loop_run_until). */
int nodefix_run_until(nodefix *f, int (*pred)(void *ud), void *ud,
		      uint64_t timeout_ms);

#endif
