/*
 * Deterministic CBOR (RFC 8949 section 4.2.1) codec throughput on two
 * typical messages: a signed publication (a map of ints, two 32-byte ids, a
 * 256-byte payload, a small array and a 3,309-byte ML-DSA-65 signature,
 * about 3.7 KB) and a hop-local control message (an IHAVE-like map with a
 * sender id and eight 32-byte message ids, about 300 B). "decode" is what a
 * message decoder does: sg_cbor_validate() over the frame, then a walk with
 * the typed getters; "encode" writes the same message into a buffer.
 */
#include "bench.h"

#include <stdio.h>
#include <string.h>

#include "sg/cbor.h"
#include "sg/err.h"

#define SIG_LEN 3309
#define ID_LEN 32
#define PAYLOAD_LEN 256
#define NIDS 8

typedef struct pub_msg {
	uint64_t version, seq;
	int64_t expiry;
	uint8_t topic[ID_LEN], publisher[ID_LEN];
	uint8_t payload[PAYLOAD_LEN];
	uint64_t hops[3];
	uint8_t sig[SIG_LEN];
} pub_msg;

typedef struct ctl_msg {
	uint64_t kind, round;
	uint8_t sender[ID_LEN];
	uint8_t ids[NIDS][ID_LEN];
} ctl_msg;

typedef struct cbor_arg {
	pub_msg pub;
	ctl_msg ctl;
	uint8_t buf[8192];
	size_t len;
	int ok;
} cbor_arg;

static void pub_encode(sg_cbor_enc *e, const pub_msg *m)
{
	size_t i;

	sg_cbor_put_map(e, 8);
	sg_cbor_put_uint(e, 1);
	sg_cbor_put_uint(e, m->version);
	sg_cbor_put_uint(e, 2);
	sg_cbor_put_bytes(e, m->topic, ID_LEN);
	sg_cbor_put_uint(e, 3);
	sg_cbor_put_bytes(e, m->publisher, ID_LEN);
	sg_cbor_put_uint(e, 4);
	sg_cbor_put_uint(e, m->seq);
	sg_cbor_put_uint(e, 5);
	sg_cbor_put_int(e, m->expiry);
	sg_cbor_put_uint(e, 6);
	sg_cbor_put_bytes(e, m->payload, PAYLOAD_LEN);
	sg_cbor_put_uint(e, 7);
	sg_cbor_put_array(e, 3);
	for (i = 0; i < 3; i++)
		sg_cbor_put_uint(e, m->hops[i]);
	sg_cbor_put_uint(e, 8);
	sg_cbor_put_bytes(e, m->sig, SIG_LEN);
}

static int expect_key(sg_cbor_dec *d, uint64_t key)
{
	uint64_t k;
	int rc = sg_cbor_get_uint(d, &k);

	if (rc != 0)
		return rc;
	return k == key ? 0 : SG_ERR_MALFORMED;
}

static int pub_decode(const uint8_t *buf, size_t len, pub_msg *m)
{
	const uint8_t *p;
	sg_cbor_dec d;
	size_t n, i;
	int rc;

	if ((rc = sg_cbor_validate(buf, len, NULL)) != 0)
		return rc;
	sg_cbor_dec_init(&d, buf, len);
	if ((rc = sg_cbor_get_map(&d, &n)) != 0)
		return rc;
	if (n != 8)
		return SG_ERR_MALFORMED;
	if ((rc = expect_key(&d, 1)) ||
	    (rc = sg_cbor_get_uint(&d, &m->version)))
		return rc;
	if ((rc = expect_key(&d, 2)) ||
	    (rc = sg_cbor_get_bytes_len(&d, &p, ID_LEN)))
		return rc;
	memcpy(m->topic, p, ID_LEN);
	if ((rc = expect_key(&d, 3)) ||
	    (rc = sg_cbor_get_bytes_len(&d, &p, ID_LEN)))
		return rc;
	memcpy(m->publisher, p, ID_LEN);
	if ((rc = expect_key(&d, 4)) || (rc = sg_cbor_get_uint(&d, &m->seq)))
		return rc;
	if ((rc = expect_key(&d, 5)) || (rc = sg_cbor_get_int(&d, &m->expiry)))
		return rc;
	if ((rc = expect_key(&d, 6)) ||
	    (rc = sg_cbor_get_bytes_len(&d, &p, PAYLOAD_LEN)))
		return rc;
	memcpy(m->payload, p, PAYLOAD_LEN);
	if ((rc = expect_key(&d, 7)) || (rc = sg_cbor_get_array(&d, &n)))
		return rc;
	if (n != 3)
		return SG_ERR_MALFORMED;
	for (i = 0; i < 3; i++)
		if ((rc = sg_cbor_get_uint(&d, &m->hops[i])) != 0)
			return rc;
	if ((rc = expect_key(&d, 8)) ||
	    (rc = sg_cbor_get_bytes_len(&d, &p, SIG_LEN)))
		return rc;
	memcpy(m->sig, p, SIG_LEN);
	return sg_cbor_dec_done(&d);
}

static void ctl_encode(sg_cbor_enc *e, const ctl_msg *m)
{
	size_t i;

	sg_cbor_put_map(e, 4);
	sg_cbor_put_uint(e, 1);
	sg_cbor_put_uint(e, m->kind);
	sg_cbor_put_uint(e, 2);
	sg_cbor_put_bytes(e, m->sender, ID_LEN);
	sg_cbor_put_uint(e, 3);
	sg_cbor_put_array(e, NIDS);
	for (i = 0; i < NIDS; i++)
		sg_cbor_put_bytes(e, m->ids[i], ID_LEN);
	sg_cbor_put_uint(e, 4);
	sg_cbor_put_uint(e, m->round);
}

static int ctl_decode(const uint8_t *buf, size_t len, ctl_msg *m)
{
	const uint8_t *p;
	sg_cbor_dec d;
	size_t n, i;
	int rc;

	if ((rc = sg_cbor_validate(buf, len, NULL)) != 0)
		return rc;
	sg_cbor_dec_init(&d, buf, len);
	if ((rc = sg_cbor_get_map(&d, &n)) != 0)
		return rc;
	if (n != 4)
		return SG_ERR_MALFORMED;
	if ((rc = expect_key(&d, 1)) || (rc = sg_cbor_get_uint(&d, &m->kind)))
		return rc;
	if ((rc = expect_key(&d, 2)) ||
	    (rc = sg_cbor_get_bytes_len(&d, &p, ID_LEN)))
		return rc;
	memcpy(m->sender, p, ID_LEN);
	if ((rc = expect_key(&d, 3)) || (rc = sg_cbor_get_array(&d, &n)))
		return rc;
	if (n != NIDS)
		return SG_ERR_MALFORMED;
	for (i = 0; i < NIDS; i++) {
		if ((rc = sg_cbor_get_bytes_len(&d, &p, ID_LEN)) != 0)
			return rc;
		memcpy(m->ids[i], p, ID_LEN);
	}
	if ((rc = expect_key(&d, 4)) || (rc = sg_cbor_get_uint(&d, &m->round)))
		return rc;
	return sg_cbor_dec_done(&d);
}

static void do_pub_encode(void *p)
{
	cbor_arg *a = p;
	sg_cbor_enc e;

	sg_cbor_enc_init(&e, a->buf, sizeof(a->buf));
	pub_encode(&e, &a->pub);
	a->ok &= sg_cbor_enc_finish(&e) == (long)a->len;
	sg_bench_sink(a->buf + a->len - 1, 1);
}

static void do_pub_decode(void *p)
{
	cbor_arg *a = p;
	pub_msg m;

	a->ok &= pub_decode(a->buf, a->len, &m) == 0;
	sg_bench_sink(&m.seq, 1);
}

static void do_pub_validate(void *p)
{
	cbor_arg *a = p;

	a->ok &= sg_cbor_validate(a->buf, a->len, NULL) == 0;
}

static void do_ctl_encode(void *p)
{
	cbor_arg *a = p;
	sg_cbor_enc e;

	sg_cbor_enc_init(&e, a->buf, sizeof(a->buf));
	ctl_encode(&e, &a->ctl);
	a->ok &= sg_cbor_enc_finish(&e) == (long)a->len;
	sg_bench_sink(a->buf + a->len - 1, 1);
}

static void do_ctl_decode(void *p)
{
	cbor_arg *a = p;
	ctl_msg m;

	a->ok &= ctl_decode(a->buf, a->len, &m) == 0;
	sg_bench_sink(&m.round, 1);
}

static void run_case(const char *label, cbor_arg *a, sg_bench_fn enc,
		     sg_bench_fn dec, sg_bench_fn val,
		     const sg_bench_opts *opts)
{
	sg_bench_result r;
	char name[64];

	if (val) {
		snprintf(name, sizeof(name), "cbor validate %s", label);
		sg_bench_measure(&r, val, a, opts, 1000);
		sg_bench_print_ops(name, &r);
		sg_bench_print_rate(name, a->len, &r);
	}
	snprintf(name, sizeof(name), "cbor decode %s", label);
	sg_bench_measure(&r, dec, a, opts, 1000);
	sg_bench_print_ops(name, &r);
	sg_bench_print_rate(name, a->len, &r);
	snprintf(name, sizeof(name), "cbor encode %s", label);
	sg_bench_measure(&r, enc, a, opts, 1000);
	sg_bench_print_ops(name, &r);
	sg_bench_print_rate(name, a->len, &r);
}

SG_BENCH_SUITE(bench_cbor, "cbor",
	       "deterministic CBOR: validate+decode and encode of messages")
{
	static cbor_arg a;
	sg_cbor_enc e;
	size_t i;
	long n;
	char label[32];

	a.pub.version = 1;
	a.pub.seq = UINT64_C(1718000000123);
	a.pub.expiry = 1718003600;
	for (i = 0; i < ID_LEN; i++) {
		a.pub.topic[i] = (uint8_t)(i * 7 + 1);
		a.pub.publisher[i] = (uint8_t)(i * 13 + 5);
		a.ctl.sender[i] = (uint8_t)(i * 3);
	}
	for (i = 0; i < PAYLOAD_LEN; i++)
		a.pub.payload[i] = (uint8_t)(i ^ 0x5a);
	for (i = 0; i < SIG_LEN; i++)
		a.pub.sig[i] = (uint8_t)(i * 31 + 7);
	a.pub.hops[0] = 3;
	a.pub.hops[1] = 300;
	a.pub.hops[2] = 70000;
	a.ctl.kind = 5;
	a.ctl.round = 123456;
	for (i = 0; i < NIDS * ID_LEN; i++)
		a.ctl.ids[i / ID_LEN][i % ID_LEN] = (uint8_t)(i * 17);

	sg_cbor_enc_init(&e, a.buf, sizeof(a.buf));
	pub_encode(&e, &a.pub);
	n = sg_cbor_enc_finish(&e);
	if (n <= 0) {
		printf("cbor: encoding failed (%ld)\n", n);
		return;
	}
	a.len = (size_t)n;
	a.ok = 1;
	snprintf(label, sizeof(label), "pub %zuB", a.len);
	run_case(label, &a, do_pub_encode, do_pub_decode, do_pub_validate,
		 opts);

	sg_cbor_enc_init(&e, a.buf, sizeof(a.buf));
	ctl_encode(&e, &a.ctl);
	n = sg_cbor_enc_finish(&e);
	if (n <= 0) {
		printf("cbor: encoding failed (%ld)\n", n);
		return;
	}
	a.len = (size_t)n;
	snprintf(label, sizeof(label), "ihave %zuB", a.len);
	run_case(label, &a, do_ctl_encode, do_ctl_decode, NULL, opts);
	if (!a.ok)
		printf("cbor: A ROUND TRIP FAILED during the benchmark\n");
}
