/*
 * The benchmark harness: suites register themselves at load time, and
 * measure operations with a median over many samples (robust against the
 * other core's noise on shared machines).
 */
#ifndef SG_BENCH_H
#define SG_BENCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct sg_bench_opts {
	int quick; /* shorter runs (smoke test) */
} sg_bench_opts;

typedef struct sg_bench_result {
	double median_ns; /* per operation, median over samples */
	double p90_ns;
	double ops_per_s; /* total operations / total time */
	uint64_t ops;
} sg_bench_result;

typedef void (*sg_bench_fn)(void *arg);

void sg_bench_register(const char *name, const char *what,
		       void (*run)(const sg_bench_opts *opts));

/* Registers a suite from a bench_*.c file, at load time. */
#define SG_BENCH_SUITE(ident, name, what)                                      \
	static void ident(const sg_bench_opts *opts);                          \
	__attribute__((constructor)) static void ident##_register(void)       \
	{                                                                      \
		sg_bench_register(name, what, ident);                          \
	}                                                                      \
	static void ident(const sg_bench_opts *opts)

/* Runs fn(arg) repeatedly: each sample times a batch sized so the sample
 * lasts at least ~20 us, for at least total_ms overall. */
void sg_bench_measure(sg_bench_result *res, sg_bench_fn fn, void *arg,
		      const sg_bench_opts *opts, double total_ms);

/* Standard lines: "name  ops/s  median us" and "name  size  GB/s". */
void sg_bench_print_ops(const char *name, const sg_bench_result *res);
void sg_bench_print_rate(const char *name, size_t bytes_per_op,
			 const sg_bench_result *res);

double sg_bench_now_ns(void);

/* Keeps the compiler from discarding a computed result. */
void sg_bench_sink(const void *p, size_t len);

#endif
