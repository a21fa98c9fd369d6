/*
 * The bounded id set against a naive model: random adds, lookups and pops,
 * with heavy wrap-around and eviction, and ids that collide in their first
 * bytes.
 */
#include "testutil.h"
#include "pubsub/idset.h"
#include "sg/err.h"

#include <string.h>

#define CAP 37
#define UNIVERSE 200

static void make_id(uint8_t id[SG_ID_LEN], unsigned v)
{
	memset(id, 0xee, SG_ID_LEN); /* shared prefix, distinct tail */
	id[30] = (uint8_t)(v >> 8);
	id[31] = (uint8_t)v;
}

static void test_model(void **state)
{
	sg_test_env t;
	sg_idset s;
	unsigned fifo[CAP], head = 0, count = 0, step, v, k;
	sg_test_rng rng;
	uint8_t id[SG_ID_LEN];
	(void)state;

	sg_test_env_init(&t, 1, -1);
	sg_test_rng_seed(&rng, 9);
	assert_int_equal(sg_idset_init(&s, &t.env, CAP), 0);
	for (step = 0; step < 100000; step++) {
		unsigned op = (unsigned)(sg_test_rng_u64(&rng) % 10);
		v = (unsigned)(sg_test_rng_u64(&rng) % UNIVERSE);
		make_id(id, v);
		if (op < 6) { /* add if absent */
			int present = 0;
			for (k = 0; k < count; k++)
				present |= fifo[(head + k) % CAP] == v;
			assert_int_equal(sg_idset_find(&s, id) >= 0, present);
			if (!present) {
				long ev;
				size_t slot = sg_idset_add(&s, id, &ev);
				if (count == CAP) {
					assert_true(ev >= 0);
					head = (head + 1) % CAP;
					count--;
				} else {
					assert_int_equal(ev, -1);
				}
				fifo[(head + count) % CAP] = v;
				count++;
				assert_int_equal(sg_idset_find(&s, id), (long)slot);
			}
		} else if (op < 9) { /* lookup */
			int present = 0;
			for (k = 0; k < count; k++)
				present |= fifo[(head + k) % CAP] == v;
			assert_int_equal(sg_idset_find(&s, id) >= 0, present);
		} else { /* pop oldest */
			long slot = sg_idset_pop_oldest(&s);
			if (count == 0) {
				assert_int_equal(slot, -1);
			} else {
				make_id(id, fifo[head]);
				assert_int_equal(sg_idset_find(&s, id), -1);
				head = (head + 1) % CAP;
				count--;
			}
		}
		assert_int_equal(s.count, count);
	}
	/* Every remaining id is still found. */
	for (k = 0; k < count; k++) {
		make_id(id, fifo[(head + k) % CAP]);
		assert_true(sg_idset_find(&s, id) >= 0);
	}
	sg_idset_fini(&s, &t.env);
	assert_int_equal(t.allocs, t.frees);
}

static void test_errors(void **state)
{
	sg_test_env t;
	sg_idset s;
	(void)state;
	sg_test_env_init(&t, 1, -1);
	assert_int_equal(sg_idset_init(&s, &t.env, 0), SG_ERR_RANGE);
	sg_test_env_init(&t, 1, 1); /* second allocation fails */
	assert_int_equal(sg_idset_init(&s, &t.env, 10), SG_ERR_NOMEM);
	assert_int_equal(t.allocs, t.frees);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
