/*
 * BLAKE3: every case of ../shared/vectors/blake3/test_vectors.json (35
 * inputs x hash, keyed_hash, derive_key), full 131-byte extended output and
 * the 32-byte default, through our sg_blake3_* API, one-shot and streamed.
 */
#include "testutil.h"
#include "json.h"
#include "sg/blake3.h"

#include <stdlib.h>
#include <string.h>

static void test_official_vectors(void **state)
{
	json *v = json_parse_file(sg_test_vector_path("blake3/test_vectors.json"));
	const json *cases;
	const char *key, *context;
	uint8_t *input;
	size_t i, ncases = 0;
	(void)state;

	assert_non_null(v);
	key = json_req_str(v, "key");
	context = json_req_str(v, "context_string");
	assert_int_equal(strlen(key), 32);
	cases = json_req(v, "cases", JSON_ARRAY);
	input = malloc(102400);
	assert_non_null(input);
	for (i = 0; i < 102400; i++)
		input[i] = (uint8_t)(i % 251);

	for (i = 0; i < cases->n; i++) {
		const json *c = cases->items[i];
		size_t len = (size_t)json_req_int(c, "input_len"), n, mode;
		const char *names[3] = {"hash", "keyed_hash", "derive_key"};

		for (mode = 0; mode < 3; mode++) {
			uint8_t *exp = json_req_hex(c, names[mode], &n);
			uint8_t got[131], got32[32];
			sg_blake3_hasher h;
			size_t off, step;

			assert_int_equal(n, 131);
			for (step = 0; step < 2; step++) {
				if (mode == 0)
					sg_blake3_init(&h);
				else if (mode == 1)
					sg_blake3_init_keyed(&h, (const uint8_t *)key);
				else
					sg_blake3_init_derive_key(&h, context);
				if (step == 0) {
					sg_blake3_update(&h, input, len);
				} else { /* streamed in odd pieces */
					for (off = 0; off < len; off += 1021)
						sg_blake3_update(&h, input + off,
								 len - off < 1021 ? len - off : 1021);
				}
				sg_blake3_final(&h, got, sizeof(got));
				assert_memory_equal(got, exp, 131);
				/* Seeking into the extended output. */
				sg_blake3_final_seek(&h, 100, got, 31);
				assert_memory_equal(got, exp + 100, 31);
			}
			if (mode == 0)
				sg_blake3(got32, input, len);
			else if (mode == 1)
				sg_blake3_keyed(got32, (const uint8_t *)key, input, len);
			else
				sg_blake3_derive_key(got32, 32, context, input, len);
			assert_memory_equal(got32, exp, 32);
			free(exp);
		}
		ncases++;
	}
	assert_int_equal(ncases, 35);
	free(input);
	json_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_official_vectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
