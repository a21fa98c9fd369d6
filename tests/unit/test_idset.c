/*
 * The bounded id set against a naive model: random adds, lookups and pops,
 * with heavy wrap-around, growth and eviction, and ids that collide in
 * their first bytes; each id's value must follow it through growth. Then
 * growth under allocation failure: the set keeps working at the size it
 * has, evicting the oldest.
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
	assert_int_equal(sg_idset_init(&s, &t.env, CAP, sizeof(unsigned)), 0);
	assert_true(s.cap < CAP); /* starts small */
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
				size_t slot = sg_idset_add(&s, &t.env, id, &ev);
				if (count == CAP) {
					assert_true(ev >= 0);
					assert_int_equal((size_t)ev, slot);
					/* the evicted value is still there */
					assert_int_equal(
						*(unsigned *)sg_idset_val(&s, slot),
						fifo[head] + 1000);
					head = (head + 1) % CAP;
					count--;
				} else {
					assert_int_equal(ev, -1);
					assert_int_equal(
						*(unsigned *)sg_idset_val(&s, slot),
						0);
				}
				fifo[(head + count) % CAP] = v;
				count++;
				assert_int_equal(sg_idset_find(&s, id), (long)slot);
				*(unsigned *)sg_idset_val(&s, slot) = v + 1000;
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
	/* Every remaining id is still found, in order, with its value. */
	assert_int_equal(s.cap, CAP);
	for (k = 0; k < count; k++) {
		long slot;
		make_id(id, fifo[(head + k) % CAP]);
		slot = sg_idset_find(&s, id);
		assert_int_equal(slot, (long)sg_idset_nth(&s, k));
		assert_int_equal(*(unsigned *)sg_idset_val(&s, (size_t)slot),
				 fifo[(head + k) % CAP] + 1000);
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
	assert_int_equal(sg_idset_init(&s, &t.env, 0, 0), SG_ERR_RANGE);
	assert_int_equal(sg_idset_init(&s, &t.env, 10, 1u << 20), SG_ERR_RANGE);
	sg_test_env_init(&t, 1, 1); /* second allocation fails */
	assert_int_equal(sg_idset_init(&s, &t.env, 10, 0), SG_ERR_NOMEM);
	assert_int_equal(t.allocs, t.frees);
}

/* Growth that finds no memory leaves the set at its current size, working:
 * adds evict the oldest, everything else is still found. */
static void test_grow_nomem(void **state)
{
	sg_test_env t;
	sg_idset s;
	uint8_t id[SG_ID_LEN];
	unsigned v;
	(void)state;

	sg_test_env_init(&t, 1, -1);
	assert_int_equal(sg_idset_init(&s, &t.env, 1000, 8), 0);
	for (v = 0; v < 100; v++) { /* grows 4 -> 128 */
		make_id(id, v);
		(void)sg_idset_add(&s, &t.env, id, NULL);
	}
	assert_int_equal(s.cap, 128);
	t.budget = t.allocs; /* no more memory */
	for (v = 100; v < 300; v++) {
		long ev;
		make_id(id, v);
		(void)sg_idset_add(&s, &t.env, id, &ev);
		assert_true(v < 128 ? ev == -1 : ev >= 0);
	}
	assert_int_equal(s.cap, 128);
	assert_int_equal(s.count, 128);
	assert_true(s.nomem > 0);
	for (v = 0; v < 300; v++) {
		make_id(id, v);
		assert_int_equal(sg_idset_find(&s, id) >= 0, v >= 300 - 128);
	}
	/* Memory is back: it grows again. */
	t.budget = -1;
	make_id(id, 300);
	(void)sg_idset_add(&s, &t.env, id, NULL);
	assert_int_equal(s.cap, 256);
	assert_int_equal(s.count, 129);
	sg_idset_fini(&s, &t.env);
	assert_int_equal(t.allocs, t.frees);
}

/* Shrinking gives memory back once a quarter full, keeping every id, its
 * order and its value. */
static void test_shrink(void **state)
{
	sg_test_env t;
	sg_idset s;
	uint8_t id[SG_ID_LEN];
	unsigned v;
	(void)state;

	sg_test_env_init(&t, 1, -1);
	assert_int_equal(sg_idset_init(&s, &t.env, 1000, sizeof(unsigned)), 0);
	for (v = 0; v < 100; v++) {
		make_id(id, v);
		*(unsigned *)sg_idset_val(&s, sg_idset_add(&s, &t.env, id,
							   NULL)) = v;
	}
	assert_int_equal(s.cap, 128);
	sg_idset_shrink(&s, &t.env); /* 100 of 128: stays */
	assert_int_equal(s.cap, 128);
	for (v = 0; v < 70; v++)
		assert_true(sg_idset_pop_oldest(&s) >= 0);
	sg_idset_shrink(&s, &t.env); /* 30 of 128 -> 64 */
	assert_int_equal(s.cap, 64);
	for (v = 70; v < 97; v++)
		assert_true(sg_idset_pop_oldest(&s) >= 0);
	sg_idset_shrink(&s, &t.env); /* 3 of 64 -> 8 */
	assert_int_equal(s.cap, 8);
	for (v = 0; v < 100; v++) {
		long slot;
		make_id(id, v);
		slot = sg_idset_find(&s, id);
		assert_int_equal(slot >= 0, v >= 97);
		if (slot >= 0) {
			assert_int_equal(slot, (long)sg_idset_nth(&s, v - 97));
			assert_int_equal(*(unsigned *)sg_idset_val(
						 &s, (size_t)slot),
					 v);
		}
	}
	/* Short of memory: it stays as it is. */
	while (s.count > 0)
		(void)sg_idset_pop_oldest(&s);
	t.budget = t.allocs;
	sg_idset_shrink(&s, &t.env);
	assert_int_equal(s.cap, 8);
	t.budget = -1;
	sg_idset_shrink(&s, &t.env);
	assert_int_equal(s.cap, SG_IDSET_INITIAL);
	sg_idset_fini(&s, &t.env);
	assert_int_equal(t.allocs, t.frees);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_grow_nomem),
		cmocka_unit_test(test_shrink),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
