/*
 * Foundation: the error table, hex, constant-time compare, wiping, and the
 * environment's allocator / RNG plumbing.
 */
#include "testutil.h"
#include "sg/err.h"
#include "sg/env.h"

#include <string.h>

static void test_error_table(void **state)
{
	(void)state;
	assert_string_equal(sg_strerror(0), "success");
	assert_string_equal(sg_strerror(SG_ERR_NOMEM), "out of memory");
	assert_string_equal(sg_errname(SG_ERR_VERIFY), "SG_ERR_VERIFY");
	assert_string_equal(sg_strerror(-9999), "unknown error");
	assert_string_equal(sg_errname(12345), "SG_ERR_UNKNOWN");
	/* Every code is distinct, negative and has a message. */
#define CHECK_(name, value, msg)                                               \
	assert_true(name < 0);                                                 \
	assert_string_equal(sg_strerror(name), msg);                          \
	assert_string_equal(sg_errname(name), #name);
	SG_ERR_TABLE(CHECK_)
#undef CHECK_
}

static void test_hex(void **state)
{
	uint8_t in[3] = {0x00, 0xab, 0xff}, out[3];
	char s[7];
	(void)state;
	assert_int_equal(sg_hex_encode(s, sizeof(s), in, 3), 6);
	assert_string_equal(s, "00abff");
	assert_int_equal(sg_hex_encode(s, 6, in, 3), SG_ERR_BUFSIZE);
	assert_int_equal(sg_hex_decode(out, 3, "00ABfF", 6), 3);
	assert_memory_equal(out, in, 3);
	assert_int_equal(sg_hex_decode(out, 3, "0g", 2), SG_ERR_MALFORMED);
	assert_int_equal(sg_hex_decode(out, 3, "abc", 3), SG_ERR_MALFORMED);
	assert_int_equal(sg_hex_decode(out, 1, "abcd", 4), SG_ERR_BUFSIZE);
}

static void test_ct_and_wipe(void **state)
{
	uint8_t a[32], b[32];
	size_t i;
	(void)state;
	memset(a, 7, sizeof(a));
	memcpy(b, a, sizeof(a));
	assert_int_equal(sg_ct_memcmp(a, b, 32), 0);
	assert_int_equal(sg_ct_memcmp(a, b, 0), 0);
	for (i = 0; i < 32 * 8; i++) {
		b[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(sg_ct_memcmp(a, b, 32), -1);
		b[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	sg_wipe(a, sizeof(a));
	for (i = 0; i < 32; i++)
		assert_int_equal(a[i], 0);
	sg_wipe(NULL, 5); /* no-op */
}

static void test_env(void **state)
{
	sg_test_env t;
	sg_env def;
	uint8_t r1[16], r2[16];
	void *p;
	(void)state;

	assert_int_equal(sg_env_default(&def), 0);
	assert_int_equal(def.size, sizeof(sg_env));
	assert_true(sg_now_ms(&def) > 0);
	assert_true(sg_wall_ms(&def) > 1700000000000ULL);
	assert_int_equal(sg_env_default(NULL), SG_ERR_INVAL);

	sg_test_env_init(&t, 1, 2);
	p = sg_alloc(&t.env, 10);
	assert_non_null(p);
	sg_free(&t.env, p);
	assert_null(sg_calloc(&t.env, SIZE_MAX / 2, 4)); /* overflow */
	p = sg_calloc(&t.env, 2, 8);
	assert_non_null(p);
	assert_null(sg_alloc(&t.env, 1)); /* budget exhausted */
	sg_free(&t.env, p);
	sg_free(&t.env, NULL);
	assert_int_equal(t.allocs, t.frees);

	/* Same seed, same bytes. */
	sg_test_env_init(&t, 5, -1);
	sg_random(&t.env, r1, sizeof(r1));
	sg_test_env_init(&t, 5, -1);
	sg_random(&t.env, r2, sizeof(r2));
	assert_memory_equal(r1, r2, sizeof(r1));
}

static int log_calls;
static void count_log(void *ud, sg_log_level level, const char *module,
		      const char *msg)
{
	(void)ud;
	(void)level;
	assert_string_equal(module, "test");
	assert_string_equal(msg, "value 42");
	log_calls++;
}

static void test_log(void **state)
{
	sg_env env;
	(void)state;
	sg_env_default(&env);
	sg_log(&env, SG_LOG_ERROR, "test", "value %d", 42); /* no sink: dropped */
	env.log = count_log;
	env.log_level = SG_LOG_INFO;
	sg_log(&env, SG_LOG_DEBUG, "test", "value %d", 42); /* filtered */
	sg_log(&env, SG_LOG_WARN, "test", "value %d", 42);
	assert_int_equal(log_calls, 1);
	assert_string_equal(sg_log_level_name(SG_LOG_DEBUG), "debug");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_table),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_ct_and_wipe),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_log),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
