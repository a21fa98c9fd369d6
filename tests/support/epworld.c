/*
 * A world of UDP endpoints on loopback on one libuv loop (epworld.h).
 */
#include "epworld.h"
#include "looprun.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

int epworld_index(const epworld *w, const sg_endpoint *ep)
{
	int i;

	for (i = 0; i < w->n; i++)
		if (w->ep[i] == ep)
			return i;
	return -1;
}

static void on_event(void *ud, sg_endpoint *ep, const struct sockaddr *remote,
		     const sg_quic_event *ev)
{
	epworld *w = ud;
	int i = epworld_index(w, ep);

	if (i < 0)
		return;
	if (ev->type == SG_QUIC_CONNECTED) {
		w->connected[i]++;
		if (sg_endpoint_addr_is_virtual(remote))
			w->relayed_connected[i]++;
	} else if (ev->type == SG_QUIC_MESSAGE) {
		w->msgs[i]++;
		w->bytes[i] += ev->len;
		w->last_from[i] = ev->peer;
	} else {
		w->closed[i]++;
		w->close_err[i] = ev->error;
	}
	if (w->opts.on_event != NULL)
		w->opts.on_event(w->opts.event_ud, w, i, remote, ev);
}

epworld *epworld_new(const epworld_opts *opts)
{
	epworld *w;
	int i, err;

	assert_true(opts->n >= 1 && opts->n <= EPWORLD_MAX);
	w = calloc(1, sizeof(*w));
	assert_non_null(w);
	w->n = opts->n;
	w->opts = *opts;
	assert_int_equal(uv_loop_init(&w->loop), 0);
	assert_int_equal(sg_env_default(&w->env), 0);
	if (opts->cut_a != opts->cut_b) {
		assert_true(opts->cut_a >= 0 && opts->cut_a < w->n);
		assert_true(opts->cut_b >= 0 && opts->cut_b < w->n);
		netcut_init(&w->cut, w->addr, opts->cut_a, opts->cut_b);
	}
	for (i = 0; i < w->n; i++) {
		sg_endpoint_config cfg;
		struct sockaddr_in a;
		uint8_t seed[32];

		sg_endpoint_config_default(&cfg);
		if (opts->cut_a != opts->cut_b &&
		    (i == opts->cut_a || i == opts->cut_b))
			netcut_install(&w->cut, i, &cfg);
		if (opts->config != NULL)
			opts->config(opts->config_ud, w, i, &cfg);
		memset(seed, (uint8_t)(opts->seed + i), sizeof(seed));
		assert_int_equal(sg_identity_from_seed(&w->ids[i], seed), 0);
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		w->ep[i] =
		    sg_endpoint_new(&w->loop, &w->env, &cfg, &w->ids[i],
				    (struct sockaddr *)&a, on_event, w, &err);
		assert_non_null(w->ep[i]);
		sg_endpoint_local_addr(w->ep[i], &w->addr[i]);
	}
	/* The config hook's ud need not outlive this call. */
	w->opts.config = NULL;
	w->opts.config_ud = NULL;
	return w;
}

void epworld_del(epworld *w)
{
	int i;

	if (w == NULL)
		return;
	for (i = 0; i < w->n; i++)
		sg_endpoint_del(w->ep[i]);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&w->loop), 0);
	free(w);
}

typedef struct cond_call {
	epworld *w;
	int (*cond)(epworld *w);
} cond_call;

static int call_cond(void *ud)
{
	const cond_call *c = ud;
	return c->cond(c->w);
}

int epworld_run_until(epworld *w, int (*cond)(epworld *w), uint64_t ms)
{
	cond_call c = {w, cond};
	return loop_run_until(&w->loop, call_cond, &c, ms);
}

void epworld_run_for(epworld *w, uint64_t ms)
{
	loop_run_for(&w->loop, ms);
}

int epworld_dial(epworld *w, int from, int to)
{
	return sg_endpoint_dial(w->ep[from], (struct sockaddr *)&w->addr[to],
				&w->ids[to].id);
}
