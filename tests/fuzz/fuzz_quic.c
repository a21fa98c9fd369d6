/*
 * Fuzz target: arbitrary datagrams into QUIC connections running the PQ
 * handshake. The input is split into datagrams at 0xF5 0xF5 markers; the
 * first starts a server connection (or is refused), the rest are read by
 * it and by a client connection, with timers run between them. Nothing may
 * crash, leak or loop.
 */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include <netinet/in.h>

#include "sg/quic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static sg_identity ids[2];
	static int ready;
	struct sockaddr_in a, b;
	sg_quic_config cfg;
	sg_quic_conn *srv = NULL, *cli;
	sg_quic_event ev;
	sg_env env;
	uint8_t out[1500];
	size_t start = 0, i;
	uint64_t now = 1000;
	int err, first = 1;

	if (sg_env_default(&env) != 0)
		return 0;
	if (!ready) {
		uint8_t seed[32];
		memset(seed, 1, sizeof(seed));
		sg_identity_from_seed(&ids[0], seed);
		memset(seed, 2, sizeof(seed));
		sg_identity_from_seed(&ids[1], seed);
		ready = 1;
	}
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.sin_family = b.sin_family = AF_INET;
	a.sin_port = htons(1000);
	b.sin_port = htons(2000);
	sg_quic_config_default(&cfg);
	cfg.max_message = 4096;
	cfg.max_recv_streams = 8;
	cli = sg_quic_client_new(&env, &cfg, &ids[0], NULL,
				 (struct sockaddr *)&a, sizeof(a),
				 (struct sockaddr *)&b, sizeof(b), now, &err);
	if (cli != NULL)
		while (sg_quic_write(cli, out, sizeof(out), now) > 0)
			;
	for (i = 0; i <= size; i++) {
		size_t end = i;
		if (i < size && !(i + 1 < size && data[i] == 0xf5 &&
				  data[i + 1] == 0xf5))
			continue;
		if (first) {
			srv = sg_quic_server_new(&env, &cfg, &ids[1],
						 data + start, end - start,
						 (struct sockaddr *)&b, sizeof(b),
						 (struct sockaddr *)&a, sizeof(a),
						 now, &err);
			first = 0;
		} else {
			if (srv != NULL)
				sg_quic_read(srv, data + start, end - start, now);
			if (cli != NULL)
				sg_quic_read(cli, data + start, end - start, now);
		}
		now += 10;
		if (srv != NULL) {
			sg_quic_tick(srv, now);
			while (sg_quic_write(srv, out, sizeof(out), now) > 0)
				;
			while (sg_quic_poll_event(srv, &ev))
				;
		}
		if (cli != NULL) {
			sg_quic_tick(cli, now);
			while (sg_quic_write(cli, out, sizeof(out), now) > 0)
				;
			while (sg_quic_poll_event(cli, &ev))
				;
		}
		start = i + 2;
		i++;
	}
	sg_quic_conn_del(srv);
	sg_quic_conn_del(cli);
	return 0;
}
