/*
 * A broken path between two endpoints on loopback (netcut.h).
 */
#include "netcut.h"
#include "testutil.h"

#include <netinet/in.h>
#include <string.h>

static int cut_filter(void *ud, const struct sockaddr *to)
{
	const netcut_side *s = ud;
	netcut *c = s->cut;
	const int other = s->self == c->a ? c->b : c->a;
	const struct sockaddr_in *x = (const void *)to;
	const struct sockaddr_in *y = (const void *)&c->addrs[other];

	if (c->on && to->sa_family == AF_INET && y->sin_family == AF_INET &&
	    x->sin_port == y->sin_port &&
	    x->sin_addr.s_addr == y->sin_addr.s_addr) {
		c->dropped++;
		return 1;
	}
	return 0;
}

void netcut_init(netcut *c, const struct sockaddr_storage *addrs, int a, int b)
{
	assert_true(a != b);
	memset(c, 0, sizeof(*c));
	c->addrs = addrs;
	c->a = a;
	c->b = b;
	c->on = 1;
	c->side[0].cut = c;
	c->side[0].self = a;
	c->side[1].cut = c;
	c->side[1].self = b;
}

void netcut_install(netcut *c, int self, sg_endpoint_config *cfg)
{
	assert_true(self == c->a || self == c->b);
	cfg->tx_filter = cut_filter;
	cfg->tx_filter_ud = &c->side[self == c->a ? 0 : 1];
}
