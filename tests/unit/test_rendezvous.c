/*
 * Rendezvous: shard numbers and topic names, summary encoding (round trip,
 * every truncation and the limits refused), and the seeker's table (newer
 * sequence numbers replace, older are replays, withdrawals and expiry
 * remove, validity is capped, the bound holds).
 */
#include "testutil.h"
#include "sg/err.h"
#include "sg/blake3.h"
#include "sg/rendezvous.h"

#include <string.h>

static void summary(sg_rdv_summary *s, const char *cap, uint64_t exp)
{
	memset(s, 0, sizeof(*s));
	s->cap = cap;
	s->cap_len = strlen(cap);
	s->n_addrs = 1;
	s->addr_len[0] = 7;
	memcpy(s->addrs[0], "\x04\x7f\x00\x00\x01\x1b\x58", 7);
	s->expires_ms = exp;
}

static void test_shard(void **state)
{
	char name[SG_RDV_TOPIC_NAME_LEN];
	uint16_t a = sg_rdv_shard("printer", 7), b = sg_rdv_shard("printer", 7);
	uint8_t h[32];
	(void)state;

	assert_int_equal(a, b);
	sg_blake3(h, "printer", 7);
	assert_int_equal(a, (h[0] << 8) | h[1]);
	sg_rdv_topic_name(name, 0x0a0b);
	assert_string_equal(name, "saorsa-gossip/rendezvous/0a0b");
	sg_rdv_topic_name(name, 0xffff);
	assert_string_equal(name, "saorsa-gossip/rendezvous/ffff");
}

static void test_codec(void **state)
{
	sg_rdv_summary s, d;
	uint8_t buf[SG_RDV_SUMMARY_MAX];
	long n;
	size_t k;
	char big[300];
	(void)state;

	summary(&s, "storage/v1", 123456789);
	n = sg_rdv_summary_encode(buf, sizeof(buf), &s);
	assert_true(n > 0);
	assert_int_equal(sg_rdv_summary_decode(&d, buf, (size_t)n), 0);
	assert_int_equal(d.cap_len, s.cap_len);
	assert_memory_equal(d.cap, s.cap, s.cap_len);
	assert_int_equal(d.n_addrs, 1);
	assert_memory_equal(d.addrs[0], s.addrs[0], 7);
	assert_int_equal(d.expires_ms, 123456789);
	for (k = 0; k < (size_t)n; k++)
		assert_int_not_equal(sg_rdv_summary_decode(&d, buf, k), 0);
	buf[1] = 2; /* version */
	assert_int_equal(sg_rdv_summary_decode(&d, buf, (size_t)n),
			 SG_ERR_UNSUPPORTED);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	summary(&s, big, 1);
	assert_int_equal(sg_rdv_summary_encode(buf, sizeof(buf), &s),
			 SG_ERR_INVAL);
	summary(&s, "", 1);
	assert_int_equal(sg_rdv_summary_encode(buf, sizeof(buf), &s),
			 SG_ERR_INVAL);
	summary(&s, "\xff\xfe", 1);
	assert_int_equal(sg_rdv_summary_encode(buf, sizeof(buf), &s),
			 SG_ERR_INVAL);
}

static void test_table(void **state)
{
	sg_test_env te;
	sg_rdv_table *t;
	sg_rdv_summary s;
	sg_rdv_entry out[8];
	sg_peer_id p1, p2, p3;
	(void)state;

	sg_test_env_init(&te, 1, -1);
	t = sg_rdv_table_new(&te.env, 2);
	assert_non_null(t);
	memset(p1.bytes, 1, 32);
	memset(p2.bytes, 2, 32);
	memset(p3.bytes, 3, 32);
	summary(&s, "cap", 5000);
	assert_int_equal(sg_rdv_table_put(t, &p1, 10, &s, 1000, 600000), 0);
	assert_int_equal(sg_rdv_table_put(t, &p2, 10, &s, 1000, 600000), 0);
	assert_int_equal(sg_rdv_table_find(t, "cap", 3, 1000, out, 8), 2);
	assert_int_equal(sg_rdv_table_find(t, "ca", 2, 1000, out, 8), 0);
	/* an older summary from p1 is a replay */
	assert_int_equal(sg_rdv_table_put(t, &p1, 9, &s, 1000, 600000),
			 SG_ERR_REPLAY);
	/* full: a summary expiring later than the earliest replaces it */
	summary(&s, "cap", 9000);
	assert_int_equal(sg_rdv_table_put(t, &p3, 1, &s, 1000, 600000), 0);
	assert_int_equal(sg_rdv_table_count(t), 2);
	summary(&s, "cap", 2000);
	assert_int_equal(sg_rdv_table_put(t, &p1, 11, &s, 1000, 600000),
			 SG_ERR_FULL);
	/* validity is capped */
	summary(&s, "cap", UINT64_MAX);
	assert_int_equal(sg_rdv_table_put(t, &p3, 2, &s, 1000, 60000), 0);
	assert_int_equal(sg_rdv_table_find(t, "cap", 3, 1000, out, 8), 2);
	assert_true(out[0].expires_ms <= 61000 && out[1].expires_ms <= 61000);
	/* withdrawal */
	summary(&s, "cap", 500);
	assert_int_equal(sg_rdv_table_put(t, &p3, 3, &s, 1000, 60000), 0);
	assert_int_equal(sg_rdv_table_find(t, "cap", 3, 1000, out, 8), 1);
	/* expiry */
	assert_int_equal(sg_rdv_table_find(t, "cap", 3, 100000, out, 8), 0);
	assert_int_equal(sg_rdv_table_count(t), 0);
	sg_rdv_table_del(t);
	assert_null(sg_rdv_table_new(&te.env, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shard),
		cmocka_unit_test(test_codec),
		cmocka_unit_test(test_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
