/*
 * Hash throughput: BLAKE3 (official C, SIMD) and SHAKE256 (ours) at 64 B,
 * 1 KiB and 1 MiB. Target (DESIGN.md section 4): BLAKE3 >= 3 GB/s at 1 MiB.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg/blake3.h"
#include "sg/sha3.h"

typedef struct {
	const uint8_t *in;
	size_t len;
	uint8_t out[64];
} hash_arg;

static void do_blake3(void *p)
{
	hash_arg *a = p;
	sg_blake3(a->out, a->in, a->len);
	sg_bench_sink(a->out, 1);
}

static void do_shake256(void *p)
{
	hash_arg *a = p;
	sg_shake256(a->out, 32, a->in, a->len);
	sg_bench_sink(a->out, 1);
}

static void do_sha3_256(void *p)
{
	hash_arg *a = p;
	sg_sha3_256(a->out, a->in, a->len);
	sg_bench_sink(a->out, 1);
}

SG_BENCH_SUITE(bench_hash, "hash", "BLAKE3, SHAKE256, SHA3-256 throughput")
{
	static const size_t sizes[] = {64, 1024, 1 << 20};
	uint8_t *buf = malloc(1 << 20);
	size_t i;

	if (!buf)
		return;
	for (i = 0; i < (1u << 20); i++)
		buf[i] = (uint8_t)(i * 31u + 7u);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		hash_arg a = {buf, sizes[i], {0}};
		sg_bench_result r;
		sg_bench_measure(&r, do_blake3, &a, opts, 1000);
		sg_bench_print_rate("blake3", sizes[i], &r);
		sg_bench_measure(&r, do_shake256, &a, opts, 1000);
		sg_bench_print_rate("shake256", sizes[i], &r);
		sg_bench_measure(&r, do_sha3_256, &a, opts, 1000);
		sg_bench_print_rate("sha3-256", sizes[i], &r);
	}
	free(buf);
}
