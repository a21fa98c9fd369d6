/*
 * Helpers shared by the test programs: locating the vectors, reading files,
 * hex, a deterministic test RNG, a failing allocator, and canaries.
 */
#ifndef SG_TESTUTIL_H
#define SG_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <setjmp.h>
#include <cmocka.h>

#include "sg/env.h"

/* Path of a file under ../shared/vectors (from SG_VECTORS_DIR). The result
 * is a static buffer. */
const char *sg_test_vector_path(const char *rel);
/* Path of a file in the source tree (from SG_SOURCE_DIR). Static buffer. */
const char *sg_test_source_path(const char *rel);

/* Whole file into a malloc'd NUL-terminated buffer; NULL on error. */
char *sg_test_read_file(const char *path, size_t *len);

/* Hex string (either case) into a malloc'd buffer; aborts on bad input. */
uint8_t *sg_test_unhex(const char *hex, size_t hex_len, size_t *len);
/* Prints "label: hex" to stderr. */
void sg_test_dump(const char *label, const uint8_t *p, size_t len);

/* A tiny deterministic PRNG (xoshiro256**) for reproducible test inputs. */
typedef struct sg_test_rng {
	uint64_t s[4];
} sg_test_rng;
void sg_test_rng_seed(sg_test_rng *r, uint64_t seed);
uint64_t sg_test_rng_u64(sg_test_rng *r);
void sg_test_rng_bytes(sg_test_rng *r, uint8_t *out, size_t len);

/* An sg_env whose allocator fails after `budget` successful allocations
 * (-1: never) and whose RNG is deterministic. */
typedef struct sg_test_env {
	sg_env env;
	long budget;
	long allocs, frees;
	sg_test_rng rng;
} sg_test_env;
void sg_test_env_init(sg_test_env *t, uint64_t seed, long budget);

/* Runs an external command line and captures its standard output into a
 * malloc'd buffer; NULL if it failed to run or exited non-zero. */
char *sg_test_run_capture(const char *cmdline, size_t *len);

#endif
