/*
 * Fuzz target: the node's group manager (src/node/gman.h). The first byte
 * picks: 0 the rest is a group file (sg_gman_load) for Bob of
 * tests/fuzz/fuzz_group_fixture.h, and an accepted one must export to the
 * same bytes; 1 the rest is a payload delivered on the fixture group's
 * topic from Alice to Bob's manager (class byte, then a group object or
 * a beacon), followed by a tick and a drain of everything queued.
 * Nothing may crash, leak, or move Bob off a state he can explain.
 *
 * Seeds: run the replay program with SG_FUZZ_SEED_DIR=tests/fuzz/corpus.
 */
#include "fuzz_group_fixture.h"
#include "node/gman.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fx_blob wrap_file(const fx_blob *state, unsigned flags)
{
	static uint8_t buf[1 << 17];
	sg_cbor_enc e;

	sg_cbor_enc_init(&e, buf, sizeof(buf));
	sg_cbor_put_array(&e, 3);
	sg_cbor_put_uint(&e, SG_GMAN_FILE_VERSION);
	sg_cbor_put_uint(&e, flags);
	sg_cbor_put_bytes(&e, state->p, state->n);
	return fx_keep(buf, sg_cbor_enc_finish(&e));
}

static fx_blob with_class(uint8_t cls, const fx_blob *b)
{
	uint8_t *p = malloc(b->n + 1);
	fx_blob r;

	if (p == NULL)
		abort();
	p[0] = cls;
	memcpy(p + 1, b->p, b->n);
	r = fx_keep(p, (long)b->n + 1);
	free(p);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[1 << 17];
	static int seeded;
	static fx_blob file;
	sg_gman *m;
	sg_gman_event ev;
	sg_topic_id t;
	const uint8_t *p;
	long n;

	fx_init();
	if (!seeded) {
		const char *dir = getenv("SG_FUZZ_SEED_DIR");
		seeded = 1;
		file = wrap_file(&fx.bob_state, 0);
		if (dir != NULL) {
			fx_blob f1 = wrap_file(&fx.bob_state, 1);
			fx_blob c1 = with_class(1, &fx.commit_rekey);
			fx_blob c2 = with_class(1, &fx.commit_remove);
			fx_blob l = with_class(1, &fx.leave);
			fx_blob msg = with_class(1, &fx.message);
			fx_blob b = with_class(2, &fx.beacon);
			fx_write(dir, "fuzz_gman", "file", 0, 1, &file);
			fx_write(dir, "fuzz_gman", "file-presence", 0, 1, &f1);
			fx_write(dir, "fuzz_gman", "commit-rekey", 1, 1, &c1);
			fx_write(dir, "fuzz_gman", "commit-remove", 1, 1, &c2);
			fx_write(dir, "fuzz_gman", "leave", 1, 1, &l);
			fx_write(dir, "fuzz_gman", "message", 1, 1, &msg);
			fx_write(dir, "fuzz_gman", "beacon", 1, 1, &b);
			free(f1.p);
			free(c1.p);
			free(c2.p);
			free(l.p);
			free(msg.p);
			free(b.p);
		}
	}
	if (size < 1)
		return 0;
	m = sg_gman_new(&fx.env, NULL, &fx.bob, NULL, 0);
	if (m == NULL)
		abort();
	if (data[0] == 0) {
		if (sg_gman_load(m, data + 1, size - 1, FX_NOW) == 0) {
			const uint8_t *gid = sg_group_id(sg_gman_group(m, 0));
			n = sg_gman_export(m, gid, out, sizeof(out));
			if (n < 0 || (size_t)n != size - 1 ||
			    memcmp(out, data + 1, size - 1) != 0)
				__builtin_trap();
		}
	} else {
		if (sg_gman_load(m, file.p, file.n, FX_NOW) != 0)
			abort();
		sg_group_topic(sg_gman_group(m, 0), &t);
		(void)sg_gman_recv(m, &t, &fx.alice.id, data + 1, size - 1,
				   FX_NOW);
		sg_gman_tick(m, FX_NOW + 60000);
		while (sg_gman_poll_tx(m, &t, &p) > 0)
			;
		while (sg_gman_poll_event(m, &ev))
			if (ev.type == SG_GMAN_EV_MESSAGE && ev.len > 0 &&
			    ev.data == NULL)
				__builtin_trap();
	}
	sg_gman_del(m);
	return 0;
}
