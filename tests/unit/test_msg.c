/*
 * Wire formats: frame headers, published-message envelopes and coordinator
 * adverts: round trips, every truncation and every flipped byte rejected,
 * payload-hash and signature checks, domain separation between the two
 * signature purposes, time windows, and advert sequencing.
 */
#include "testutil.h"
#include "sg/err.h"
#include "sg/mldsa65.h"
#include "sg/msg.h"

#include <string.h>

static sg_identity alice, bob;

static int setup(void **state)
{
	uint8_t seed[32];
	(void)state;
	memset(seed, 0xa1, sizeof(seed));
	if (sg_identity_from_seed(&alice, seed) != 0)
		return -1;
	memset(seed, 0xb0, sizeof(seed));
	return sg_identity_from_seed(&bob, seed);
}

static void test_frame_header(void **state)
{
	uint8_t h[SG_FRAME_HEADER_LEN];
	sg_frame_type t;
	size_t len;
	(void)state;

	assert_int_equal(sg_frame_header_encode(h, SG_FRAME_PUBSUB, 70000,
						SG_FRAME_DEFAULT_MAX), 0);
	assert_int_equal(sg_frame_header_decode(&t, &len, h, sizeof(h),
						SG_FRAME_DEFAULT_MAX), 0);
	assert_int_equal(t, SG_FRAME_PUBSUB);
	assert_int_equal(len, 70000);
	assert_int_equal(sg_frame_header_decode(&t, &len, h, 5,
						SG_FRAME_DEFAULT_MAX),
			 SG_ERR_TRUNCATED);
	/* Checked against the maximum before anything is allocated. */
	assert_int_equal(sg_frame_header_decode(&t, &len, h, sizeof(h), 65536),
			 SG_ERR_RANGE);
	assert_int_equal(sg_frame_header_encode(h, SG_FRAME_PUBSUB, 65537,
						65536), SG_ERR_RANGE);
	h[0] = 2;
	assert_int_equal(sg_frame_header_decode(&t, &len, h, sizeof(h),
						SG_FRAME_DEFAULT_MAX),
			 SG_ERR_UNSUPPORTED);
	h[0] = 1;
	h[1] = 0;
	assert_int_equal(sg_frame_header_decode(&t, &len, h, sizeof(h),
						SG_FRAME_DEFAULT_MAX),
			 SG_ERR_MALFORMED);
	h[1] = 99;
	assert_int_equal(sg_frame_header_decode(&t, &len, h, sizeof(h),
						SG_FRAME_DEFAULT_MAX),
			 SG_ERR_MALFORMED);
	h[2] = h[3] = h[4] = h[5] = 0xff;
	h[1] = 1;
	assert_int_equal(sg_frame_header_decode(&t, &len, h, sizeof(h),
						SG_FRAME_DEFAULT_MAX),
			 SG_ERR_RANGE);
	assert_int_equal(sg_frame_header_encode(h, (sg_frame_type)7, 1, 10),
			 SG_ERR_RANGE);
}

static long make_msg(uint8_t *buf, size_t cap, const char *payload,
		     uint64_t seq)
{
	sg_msg_header h;
	memset(&h, 0, sizeof(h));
	sg_topic_id_from_name(&h.topic, "news", 4);
	h.seq = seq;
	h.publish_ms = 1700000000000ULL;
	h.expires_ms = h.publish_ms + 3600000;
	return sg_msg_sign(buf, cap, &h, (const uint8_t *)payload,
			   strlen(payload), &alice, NULL);
}

static void test_message_round_trip(void **state)
{
	static uint8_t buf[8192];
	sg_msg_view v, v2;
	sg_topic_id topic;
	long n;
	(void)state;

	n = make_msg(buf, sizeof(buf), "hello, world", 7);
	assert_true(n > 0);
	assert_true((size_t)n <= strlen("hello, world") + SG_MSG_OVERHEAD);
	assert_int_equal(sg_msg_decode(&v, buf, (size_t)n), 0);
	sg_topic_id_from_name(&topic, "news", 4);
	assert_memory_equal(v.hdr.topic.bytes, topic.bytes, 32);
	assert_true(sg_peer_id_equal(&v.hdr.publisher, &alice.id));
	assert_int_equal(v.hdr.seq, 7);
	assert_int_equal(v.payload_len, 12);
	assert_memory_equal(v.payload, "hello, world", 12);
	assert_int_equal(sg_msg_verify(&v, alice.pk), 0);
	/* Someone else's key, even one hashing elsewhere, does not verify. */
	assert_int_equal(sg_msg_verify(&v, bob.pk), SG_ERR_VERIFY);
	/* The id is a function of the signed header only. */
	assert_int_equal(sg_msg_decode(&v2, buf, (size_t)n), 0);
	assert_memory_equal(v.id, v2.id, 32);
	n = make_msg(buf, sizeof(buf), "hello, world", 8);
	assert_int_equal(sg_msg_decode(&v2, buf, (size_t)n), 0);
	assert_memory_not_equal(v.id, v2.id, 32);
	/* Time window. */
	assert_int_equal(sg_msg_check_time(&v2, v2.hdr.publish_ms, 0), 0);
	assert_int_equal(sg_msg_check_time(&v2, v2.hdr.expires_ms + 1, 0),
			 SG_ERR_EXPIRED);
	assert_int_equal(sg_msg_check_time(&v2, v2.hdr.expires_ms + 1, 300000),
			 0);
	assert_int_equal(sg_msg_check_time(&v2, v2.hdr.publish_ms - 300001,
					   300000), SG_ERR_EXPIRED);
	/* Too small a buffer is reported, not overrun. */
	assert_int_equal(make_msg(buf, 100, "x", 1), SG_ERR_BUFSIZE);
}

static void test_message_damage(void **state)
{
	static uint8_t buf[8192], bad[8192];
	sg_msg_view v;
	long n;
	size_t i, cut;
	(void)state;

	n = make_msg(buf, sizeof(buf), "payload to protect", 1);
	assert_true(n > 0);
	for (cut = 0; cut < (size_t)n; cut++) {
		uint8_t *t = malloc(cut ? cut : 1);
		memcpy(t, buf, cut);
		assert_int_not_equal(sg_msg_decode(&v, t, cut), 0);
		free(t);
	}
	/* Every flipped byte: decode fails, or the signature does. */
	for (i = 0; i < (size_t)n; i++) {
		int rc;
		memcpy(bad, buf, (size_t)n);
		bad[i] ^= 0x01;
		rc = sg_msg_decode(&v, bad, (size_t)n);
		if (rc == 0)
			rc = sg_msg_verify(&v, alice.pk);
		assert_int_not_equal(rc, 0);
	}
	/* Trailing bytes. */
	memcpy(bad, buf, (size_t)n);
	bad[n] = 0;
	assert_int_equal(sg_msg_decode(&v, bad, (size_t)n + 1), SG_ERR_TRAILING);
}

/* A signature made for one purpose never verifies for another. */
static void test_domain_separation(void **state)
{
	static uint8_t buf[8192];
	sg_msg_view v;
	long n;
	(void)state;

	n = make_msg(buf, sizeof(buf), "x", 1);
	assert_int_equal(sg_msg_decode(&v, buf, (size_t)n), 0);
	assert_int_equal(sg_mldsa65_verify(v.sig, SG_MLDSA65_SIG_LEN,
					   v.signed_part, v.signed_len,
					   (const uint8_t *)SG_SIGCTX_MESSAGE,
					   strlen(SG_SIGCTX_MESSAGE), alice.pk), 0);
	assert_int_equal(sg_mldsa65_verify(v.sig, SG_MLDSA65_SIG_LEN,
					   v.signed_part, v.signed_len,
					   (const uint8_t *)SG_SIGCTX_ADVERT,
					   strlen(SG_SIGCTX_ADVERT), alice.pk),
			 SG_ERR_VERIFY);
}

static sg_advert base_advert(void)
{
	sg_advert a;
	memset(&a, 0, sizeof(a));
	a.roles = SG_ROLE_COORDINATOR | SG_ROLE_RELAY;
	a.nat = SG_NAT_NONE;
	a.naddrs = 2;
	a.addrs[0].family = 4;
	a.addrs[0].ip[0] = 127;
	a.addrs[0].ip[3] = 1;
	a.addrs[0].port = 7000;
	a.addrs[1].family = 6;
	a.addrs[1].ip[15] = 1;
	a.addrs[1].port = 7001;
	a.seq = 5;
	a.not_before_ms = 1700000000000ULL;
	a.not_after_ms = a.not_before_ms + 3600000;
	return a;
}

static void test_advert(void **state)
{
	static uint8_t buf[16384], bad[16384];
	sg_advert a = base_advert(), back, newer;
	uint64_t now = 1700000100000ULL;
	long n;
	size_t i;
	(void)state;

	n = sg_advert_sign(buf, sizeof(buf), &a, &alice, NULL);
	assert_true(n > 0);
	assert_int_equal(sg_advert_decode_verify(&back, buf, (size_t)n, now,
						 300000), 0);
	assert_true(sg_peer_id_equal(&back.id, &alice.id));
	assert_memory_equal(back.pk, alice.pk, SG_MLDSA65_PK_LEN);
	assert_memory_equal(back.kem_ek, alice.kem_ek, SG_MLKEM768_EK_LEN);
	assert_int_equal(back.roles, a.roles);
	assert_int_equal(back.naddrs, 2);
	assert_int_equal(back.addrs[1].port, 7001);
	assert_int_equal(back.addrs[0].ip[0], 127);
	assert_int_equal(back.seq, 5);

	/* Outside its window (with and without skew). */
	assert_int_equal(sg_advert_decode_verify(&back, buf, (size_t)n,
						 a.not_after_ms + 300001, 300000),
			 SG_ERR_EXPIRED);
	assert_int_equal(sg_advert_decode_verify(&back, buf, (size_t)n,
						 a.not_before_ms - 1, 0),
			 SG_ERR_EXPIRED);
	/* Every flipped byte rejected (the PeerId check, the signature or
	 * the structure catches it). Sampled inside the long keys. */
	for (i = 0; i < (size_t)n; i += (i < 60 || i > (size_t)n - 3400) ? 1 : 37) {
		memcpy(bad, buf, (size_t)n);
		bad[i] ^= 0x04;
		assert_int_not_equal(sg_advert_decode_verify(&back, bad, (size_t)n,
							     now, 300000), 0);
	}
	/* Sequencing: only a higher seq replaces. */
	newer = a;
	newer.seq = 6;
	assert_true(sg_advert_newer(&newer, &a));
	assert_false(sg_advert_newer(&a, &newer));
	assert_false(sg_advert_newer(&a, &a));

	/* Validity capped at 24 h; bad roles, ports and families refused. */
	a = base_advert();
	a.not_after_ms = a.not_before_ms + SG_ADVERT_MAX_VALIDITY_MS + 1;
	assert_int_equal(sg_advert_sign(buf, sizeof(buf), &a, &alice, NULL),
			 SG_ERR_RANGE);
	a = base_advert();
	a.roles = 1u << 7;
	assert_int_equal(sg_advert_sign(buf, sizeof(buf), &a, &alice, NULL),
			 SG_ERR_RANGE);
	a = base_advert();
	a.addrs[0].port = 0;
	assert_int_equal(sg_advert_sign(buf, sizeof(buf), &a, &alice, NULL),
			 SG_ERR_RANGE);
	a = base_advert();
	a.addrs[0].family = 5;
	assert_int_equal(sg_advert_sign(buf, sizeof(buf), &a, &alice, NULL),
			 SG_ERR_RANGE);
	a = base_advert();
	a.naddrs = SG_ADVERT_MAX_ADDRS + 1;
	assert_int_equal(sg_advert_sign(buf, sizeof(buf), &a, &alice, NULL),
			 SG_ERR_RANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_header),
		cmocka_unit_test(test_message_round_trip),
		cmocka_unit_test(test_message_damage),
		cmocka_unit_test(test_domain_separation),
		cmocka_unit_test(test_advert),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
