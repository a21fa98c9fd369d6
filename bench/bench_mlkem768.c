/*
 * ML-KEM-768 operations per second on one core: keygen (from a 64-byte
 * seed), encaps (including the section 7.2 ek check) and decaps (including
 * the section 7.3 dk check). Seeds and messages change on every call so
 * the matrix sampling does its average amount of rejection work.
 * Targets (DESIGN.md section 4, PQClean "clean" on these machines):
 * keygen >= 19,000/s, encaps >= 16,000/s, decaps >= 13,000/s.
 */
#include "bench.h"

#include <string.h>

#include "sg/mlkem768.h"

typedef struct {
	uint8_t seed[SG_MLKEM768_SEED_LEN];
	uint8_t m[SG_MLKEM768_MSG_LEN];
	uint8_t ek[SG_MLKEM768_EK_LEN];
	uint8_t dk[SG_MLKEM768_DK_LEN];
	uint8_t ct[SG_MLKEM768_CT_LEN];
	uint8_t ss[SG_MLKEM768_SS_LEN];
	uint64_t counter;
} kem_arg;

/* Makes the next input differ from the last one. */
static void bump(uint8_t *p, uint64_t *counter)
{
	uint64_t c = ++*counter;
	unsigned i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(c >> (8 * i));
}

static void do_keygen(void *p)
{
	kem_arg *a = p;

	bump(a->seed, &a->counter);
	(void)sg_mlkem768_keypair(a->ek, a->dk, a->seed);
	sg_bench_sink(a->ek, 1);
}

static void do_encaps(void *p)
{
	kem_arg *a = p;

	bump(a->m, &a->counter);
	(void)sg_mlkem768_encaps(a->ct, a->ss, a->ek, a->m);
	sg_bench_sink(a->ss, 1);
}

static void do_decaps(void *p)
{
	kem_arg *a = p;

	(void)sg_mlkem768_decaps(a->ss, a->ct, a->dk);
	sg_bench_sink(a->ss, 1);
}

SG_BENCH_SUITE(bench_mlkem, "mlkem", "ML-KEM-768 keygen, encaps, decaps")
{
	static kem_arg a;
	sg_bench_result r;
	unsigned i;

	for (i = 0; i < sizeof(a.seed); i++)
		a.seed[i] = (uint8_t)(i * 7 + 1);
	for (i = 0; i < sizeof(a.m); i++)
		a.m[i] = (uint8_t)(i * 13 + 5);
	sg_bench_measure(&r, do_keygen, &a, opts, 1500);
	sg_bench_print_ops("mlkem768 keygen", &r);

	(void)sg_mlkem768_keypair(a.ek, a.dk, a.seed);
	sg_bench_measure(&r, do_encaps, &a, opts, 1500);
	sg_bench_print_ops("mlkem768 encaps", &r);

	(void)sg_mlkem768_encaps(a.ct, a.ss, a.ek, a.m);
	sg_bench_measure(&r, do_decaps, &a, opts, 1500);
	sg_bench_print_ops("mlkem768 decaps", &r);
}
