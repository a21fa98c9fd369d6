/*
 * Our own recorded handshake vector (tests/kat/handshake_vector.json): a
 * client and a server run with fixed identities, transport parameters and
 * random bytes (drawn in the order docs/PROTOCOL.md H.5 states), and every
 * message, traffic secret, packet-protection key, the key update, the
 * Initial secrets for a fixed DCID and a Retry tag must come out exactly as
 * recorded. Any change to the protocol's bytes shows up here.
 *
 * To re-record after an intended protocol change (and only then), run
 *   SG_HS_VECTOR_WRITE=tests/kat/handshake_vector.json test_handshake_vector
 */
#include "json.h"
#include "testutil.h"
#include "sg/err.h"
#include "sg/handshake.h"

#include <string.h>

/* An RNG that serves a fixed byte string and fails once it runs out. */
typedef struct fixed_rng {
	const uint8_t *p;
	size_t len, used;
} fixed_rng;

static int fixed_random(void *ud, uint8_t *out, size_t len)
{
	fixed_rng *r = ud;

	if (r->len - r->used < len)
		return SG_ERR_RANGE;
	memcpy(out, r->p + r->used, len);
	r->used += len;
	return 0;
}

typedef struct inputs {
	uint8_t cseed[32], sseed[32];
	uint8_t *ctp, *stp, *crand, *srand, *dcid, *retry;
	size_t ctp_len, stp_len, crand_len, srand_len, dcid_len, retry_len;
	int expect_server; /* the client names the server's PeerId */
} inputs;

#define MAX_OUT 48
typedef struct outputs {
	const char *name[MAX_OUT];
	uint8_t *val[MAX_OUT];
	size_t len[MAX_OUT];
	size_t n;
} outputs;

static void out_add(outputs *o, const char *name, const uint8_t *p, size_t len)
{
	assert_true(o->n < MAX_OUT);
	o->name[o->n] = name;
	o->val[o->n] = malloc(len ? len : 1);
	assert_non_null(o->val[o->n]);
	memcpy(o->val[o->n], p, len);
	o->len[o->n] = len;
	o->n++;
}

static void out_free(outputs *o)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		free(o->val[i]);
}

static const char *const msg_names[4][3] = {
    {"client_hello"},
    {"server_hello"},
    {"server_identity", "server_certificate_verify", "server_finished"},
    {"client_identity", "client_certificate_verify", "client_finished"},
};

static void add_keys(outputs *o, const char *const names[4],
		     const uint8_t secret[32])
{
	sg_handshake_pkt_keys k;

	out_add(o, names[0], secret, 32);
	sg_handshake_pkt_keys_from_secret(&k, secret);
	out_add(o, names[1], k.key, sizeof(k.key));
	out_add(o, names[2], k.iv, sizeof(k.iv));
	out_add(o, names[3], k.hp, sizeof(k.hp));
}

static void compute(const inputs *in, outputs *o)
{
	static sg_identity ci, si;
	static sg_handshake c, s;
	static const char *const kn[6][4] = {
	    {"client_handshake_secret", "client_handshake_key",
	     "client_handshake_iv", "client_handshake_hp"},
	    {"server_handshake_secret", "server_handshake_key",
	     "server_handshake_iv", "server_handshake_hp"},
	    {"client_app_secret", "client_app_key", "client_app_iv",
	     "client_app_hp"},
	    {"server_app_secret", "server_app_key", "server_app_iv",
	     "server_app_hp"},
	    {"client_initial_secret", "client_initial_key", "client_initial_iv",
	     "client_initial_hp"},
	    {"server_initial_secret", "server_initial_key", "server_initial_iv",
	     "server_initial_hp"},
	};
	fixed_rng cr = {in->crand, in->crand_len, 0};
	fixed_rng sr = {in->srand, in->srand_len, 0};
	uint8_t fl[4][16384], sec[32], sec2[32], tag[16], key[32], nonce[12];
	size_t fl_len[4] = {0, 0, 0, 0}, i;
	sg_env ce, se;
	sg_peer_id id;
	int progress = 1;

	assert_int_equal(sg_identity_from_seed(&ci, in->cseed), 0);
	assert_int_equal(sg_identity_from_seed(&si, in->sseed), 0);
	assert_int_equal(sg_env_default(&ce), 0);
	se = ce;
	ce.random = fixed_random;
	ce.random_ud = &cr;
	se.random = fixed_random;
	se.random_ud = &sr;
	assert_int_equal(sg_handshake_init(&c, SG_HANDSHAKE_CLIENT, &ci,
					   in->expect_server ? &si.id : NULL,
					   in->ctp, in->ctp_len, &ce),
			 0);
	assert_int_equal(sg_handshake_init(&s, SG_HANDSHAKE_SERVER, &si, NULL,
					   in->stp, in->stp_len, &se),
			 0);
	while (progress) {
		int side;

		progress = 0;
		for (side = 0; side < 2; side++) {
			sg_handshake *from = side == 0 ? &c : &s;
			sg_handshake_level l;
			uint8_t buf[1200];
			long n;

			while ((n = sg_handshake_poll_tx(from, &l, buf,
							 sizeof(buf))) > 0) {
				int f = side == 0 ? (l == 0 ? 0 : 3)
						  : (l == 0 ? 1 : 2);
				memcpy(fl[f] + fl_len[f], buf, (size_t)n);
				fl_len[f] += (size_t)n;
				assert_int_equal(
				    sg_handshake_recv(side == 0 ? &s : &c, l,
						      buf, (size_t)n),
				    0);
				progress = 1;
			}
			assert_true(n == 0);
		}
	}
	assert_true(sg_handshake_done(&c));
	assert_true(sg_handshake_done(&s));
	/* Every fixed random byte was used, in the stated order. */
	assert_int_equal(cr.used, cr.len);
	assert_int_equal(sr.used, sr.len);

	/* The messages, one by one. */
	for (i = 0; i < 4; i++) {
		size_t at = 0, m = 0;

		while (at < fl_len[i]) {
			size_t len =
			    4 + ((size_t)fl[i][at + 1] << 16 |
				 (size_t)fl[i][at + 2] << 8 | fl[i][at + 3]);
			assert_true(m < 3 && msg_names[i][m]);
			out_add(o, msg_names[i][m++], fl[i] + at, len);
			at += len;
		}
	}
	assert_int_equal(sg_handshake_secret(&c, SG_HANDSHAKE_LEVEL_HANDSHAKE,
					     SG_HANDSHAKE_TX, sec),
			 0);
	add_keys(o, kn[0], sec);
	assert_int_equal(sg_handshake_secret(&s, SG_HANDSHAKE_LEVEL_HANDSHAKE,
					     SG_HANDSHAKE_TX, sec),
			 0);
	add_keys(o, kn[1], sec);
	assert_int_equal(sg_handshake_secret(&c, SG_HANDSHAKE_LEVEL_APP,
					     SG_HANDSHAKE_TX, sec),
			 0);
	add_keys(o, kn[2], sec);
	sg_handshake_next_secret(sec2, sec);
	out_add(o, "client_app_secret_update_1", sec2, 32);
	assert_int_equal(sg_handshake_secret(&s, SG_HANDSHAKE_LEVEL_APP,
					     SG_HANDSHAKE_TX, sec),
			 0);
	add_keys(o, kn[3], sec);
	sg_handshake_next_secret(sec2, sec);
	out_add(o, "server_app_secret_update_1", sec2, 32);
	/* The peers agree with each other too. */
	assert_int_equal(sg_handshake_secret(&c, SG_HANDSHAKE_LEVEL_APP,
					     SG_HANDSHAKE_RX, sec2),
			 0);
	assert_memory_equal(sec, sec2, 32);

	assert_int_equal(sg_handshake_peer(&c, &id, NULL, NULL), 0);
	assert_true(sg_peer_id_equal(&id, &si.id));
	out_add(o, "server_peer_id", id.bytes, 32);
	assert_int_equal(sg_handshake_peer(&s, &id, NULL, NULL), 0);
	assert_true(sg_peer_id_equal(&id, &ci.id));
	out_add(o, "client_peer_id", id.bytes, 32);

	assert_int_equal(
	    sg_handshake_initial_secrets(sec, sec2, in->dcid, in->dcid_len), 0);
	add_keys(o, kn[4], sec);
	add_keys(o, kn[5], sec2);
	sg_handshake_retry_key(key, nonce);
	out_add(o, "retry_key", key, sizeof(key));
	out_add(o, "retry_nonce", nonce, sizeof(nonce));
	assert_int_equal(sg_handshake_retry_tag(tag, in->retry, in->retry_len),
			 0);
	out_add(o, "retry_tag", tag, sizeof(tag));

	sg_handshake_fini(&c);
	sg_handshake_fini(&s);
	sg_identity_wipe(&ci);
	sg_identity_wipe(&si);
}

static void put_hex(FILE *f, const char *name, const uint8_t *p, size_t len,
		    int last)
{
	size_t i;

	fprintf(f, "  \"%s\": \"", name);
	for (i = 0; i < len; i++)
		fprintf(f, "%02x", p[i]);
	fprintf(f, "\"%s\n", last ? "" : ",");
}

/* Fresh inputs for a re-recording: fixed, from a seeded PRNG. */
static void make_inputs(inputs *in)
{
	static const char ctp[] = "saorsa-gossip test client parameters";
	static const char stp[] = "saorsa-gossip test server parameters!";
	sg_test_rng r;

	sg_test_rng_seed(&r, 20261124);
	sg_test_rng_bytes(&r, in->cseed, 32);
	sg_test_rng_bytes(&r, in->sseed, 32);
	in->ctp_len = sizeof(ctp) - 1;
	in->ctp = malloc(in->ctp_len);
	memcpy(in->ctp, ctp, in->ctp_len);
	in->stp_len = sizeof(stp) - 1;
	in->stp = malloc(in->stp_len);
	memcpy(in->stp, stp, in->stp_len);
	in->crand_len = 32 + 32 + 64 + 32;
	in->crand = malloc(in->crand_len);
	sg_test_rng_bytes(&r, in->crand, in->crand_len);
	in->srand_len = 32 + 32 + 32 + 32;
	in->srand = malloc(in->srand_len);
	sg_test_rng_bytes(&r, in->srand, in->srand_len);
	in->dcid_len = 8;
	in->dcid = malloc(8);
	sg_test_rng_bytes(&r, in->dcid, 8);
	in->retry_len = 40;
	in->retry = malloc(40);
	sg_test_rng_bytes(&r, in->retry, 40);
	in->expect_server = 1;
}

static void write_vector(const char *path)
{
	inputs in;
	outputs o = {0};
	FILE *f;
	size_t i;

	memset(&in, 0, sizeof(in));
	make_inputs(&in);
	compute(&in, &o);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "{\n  \"description\": \"saorsa-gossip handshake v1, "
		   "docs/PROTOCOL.md Handshake; random bytes in the order of "
		   "H.5\",\n");
	fprintf(f, "  \"client_expects_server_peer_id\": true,\n");
	put_hex(f, "client_identity_seed", in.cseed, 32, 0);
	put_hex(f, "server_identity_seed", in.sseed, 32, 0);
	put_hex(f, "client_transport_params", in.ctp, in.ctp_len, 0);
	put_hex(f, "server_transport_params", in.stp, in.stp_len, 0);
	put_hex(f, "client_random_bytes", in.crand, in.crand_len, 0);
	put_hex(f, "server_random_bytes", in.srand, in.srand_len, 0);
	put_hex(f, "initial_dcid", in.dcid, in.dcid_len, 0);
	put_hex(f, "retry_pseudo_packet", in.retry, in.retry_len, 0);
	for (i = 0; i < o.n; i++)
		put_hex(f, o.name[i], o.val[i], o.len[i], i + 1 == o.n);
	fprintf(f, "}\n");
	fclose(f);
	out_free(&o);
	free(in.ctp), free(in.stp), free(in.crand), free(in.srand);
	free(in.dcid), free(in.retry);
}

static void test_vector(void **state)
{
	const char *w = getenv("SG_HS_VECTOR_WRITE");
	json *v;
	inputs in;
	outputs o = {0};
	uint8_t *p;
	size_t len, i;
	(void)state;

	if (w && *w) {
		write_vector(w);
		fprintf(stderr, "wrote %s\n", w);
	}
	v = json_parse_file(
	    sg_test_source_path("tests/kat/handshake_vector.json"));
	assert_non_null(v);
	memset(&in, 0, sizeof(in));
	p = json_req_hex(v, "client_identity_seed", &len);
	assert_int_equal(len, 32);
	memcpy(in.cseed, p, 32);
	free(p);
	p = json_req_hex(v, "server_identity_seed", &len);
	assert_int_equal(len, 32);
	memcpy(in.sseed, p, 32);
	free(p);
	in.ctp = json_req_hex(v, "client_transport_params", &in.ctp_len);
	in.stp = json_req_hex(v, "server_transport_params", &in.stp_len);
	in.crand = json_req_hex(v, "client_random_bytes", &in.crand_len);
	in.srand = json_req_hex(v, "server_random_bytes", &in.srand_len);
	in.dcid = json_req_hex(v, "initial_dcid", &in.dcid_len);
	in.retry = json_req_hex(v, "retry_pseudo_packet", &in.retry_len);
	in.expect_server = json_req_bool(v, "client_expects_server_peer_id");

	compute(&in, &o);
	assert_int_equal(o.n, 39);
	for (i = 0; i < o.n; i++) {
		p = json_req_hex(v, o.name[i], &len);
		if (len != o.len[i] || memcmp(p, o.val[i], len) != 0) {
			sg_test_dump("got", o.val[i], o.len[i]);
			fail_msg("%s differs from the recorded vector",
				 o.name[i]);
		}
		free(p);
	}
	out_free(&o);
	free(in.ctp), free(in.stp), free(in.crand), free(in.srand);
	free(in.dcid), free(in.retry);
	json_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vector),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
