/*
 * Nodes in one process on one libuv loop, on loopback (nodefix.h).
 */
#include "nodefix.h"
#include "looprun.h"
#include "testutil.h"

#include <string.h>

static void log_sink(void *ud, sg_log_level level, const char *module,
		     const char *msg)
{
	nodefix *f = ud;

	fprintf(stderr, "%llu %s %s: %s\n",
		(unsigned long long)uv_now(&f->loop), sg_log_level_name(level),
		module, msg);
}

int nodefix_init(nodefix *f, const char *name, int n, uint8_t seed)
{
	uint8_t s[32];
	int i;

	assert_true(n >= 1 && n <= NODEFIX_MAX);
	memset(f, 0, sizeof(*f));
	f->n = n;
	assert_true(snprintf(f->root, sizeof(f->root), "/tmp/sg-%s-XXXXXX",
			     name) < (int)sizeof(f->root));
	assert_non_null(mkdtemp(f->root));
	assert_int_equal(sg_env_default(&f->env), 0);
	if (getenv("SG_TEST_LOG") != NULL) {
		f->env.log = log_sink;
		f->env.log_ud = f;
		f->env.log_level = SG_LOG_DEBUG;
	}
	assert_int_equal(uv_loop_init(&f->loop), 0);
	for (i = 0; i < n; i++) {
		memset(s, (uint8_t)(seed + i), sizeof(s));
		assert_int_equal(sg_identity_from_seed(&f->ids[i], s), 0);
	}
	return 0;
}

int nodefix_fini(nodefix *f)
{
	char cmd[128];
	int k;

	/* After a failed test nodes may still run: do not wait for them. */
	for (k = 0; k < 100; k++)
		uv_run(&f->loop, UV_RUN_NOWAIT);
	uv_loop_close(&f->loop);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->root);
	return system(cmd) == 0 ? 0 : -1;
}

sg_node *nodefix_start(nodefix *f, int i, const char *const *contacts,
		       size_t nc, uint32_t roles)
{
	sg_node_config cfg;
	char dir[128];
	sg_node *n;
	int err;

	assert_true(i >= 0 && i < f->n);
	sg_node_config_default(&cfg);
	snprintf(dir, sizeof(dir), "%s/n%d", f->root, i);
	cfg.data_dir = dir;
	cfg.bind = "127.0.0.1:0";
	cfg.contacts = contacts;
	cfg.n_contacts = nc;
	cfg.roles = roles;
	if (f->config != NULL)
		f->config(f->config_ud, f, i, &cfg);
	n = sg_node_new(&f->loop, &f->env, &cfg, &f->ids[i], &err);
	assert_non_null(n);
	sg_node_local_addr(n, &f->addrs[i]);
	return n;
}

void nodefix_addr(const nodefix *f, int i, char *out, size_t cap)
{
	assert_true(i >= 0 && i < f->n);
	assert_int_not_equal(f->addrs[i].ss_family, 0);
	sg_node_format_addr((const struct sockaddr *)&f->addrs[i], out, cap);
}

void nodefix_contact(const nodefix *f, int i, char *out, size_t cap)
{
	char hex[SG_PEER_ID_HEX_LEN], addr[80];

	nodefix_addr(f, i, addr, sizeof(addr));
	sg_peer_id_hex(hex, &f->ids[i].id);
	assert_true(snprintf(out, cap, "%s@%s", hex, addr) < (int)cap);
}

int nodefix_run_until(nodefix *f, int (*pred)(void *ud), void *ud,
		      uint64_t timeout_ms)
{
	return loop_run_until(&f->loop, pred, ud, timeout_ms);
}
