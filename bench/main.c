/*
 * sg-bench: prints the figures quoted in docs/BENCHMARKS.md.
 *   sg-bench            every suite
 *   sg-bench NAME...    the named suites
 *   sg-bench --list     the suites
 *   sg-bench --quick    short runs (a smoke test, not for quoting)
 */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "sg/blake3.h"
#include "sg/common.h"

#define MAX_SUITES 32

static struct {
	const char *name, *what;
	void (*run)(const sg_bench_opts *);
} suites[MAX_SUITES];
static int nsuites;

void sg_bench_register(const char *name, const char *what,
		       void (*run)(const sg_bench_opts *))
{
	if (nsuites < MAX_SUITES) {
		suites[nsuites].name = name;
		suites[nsuites].what = what;
		suites[nsuites].run = run;
		nsuites++;
	}
}

double sg_bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

void sg_bench_sink(const void *p, size_t len)
{
	static volatile uint8_t acc;
	const uint8_t *b = p;
	size_t i;
	for (i = 0; i < len; i++)
		acc = (uint8_t)(acc ^ b[i]);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

#define MAX_SAMPLES 100000

void sg_bench_measure(sg_bench_result *res, sg_bench_fn fn, void *arg,
		      const sg_bench_opts *opts, double total_ms)
{
	static double samples[MAX_SAMPLES];
	double t0, t, start, elapsed = 0;
	uint64_t batch = 1, i, ops = 0;
	size_t n = 0;

	if (opts->quick)
		total_ms /= 20;
	/* Calibrate: grow the batch until it takes >= 20 us. */
	for (;;) {
		t0 = sg_bench_now_ns();
		for (i = 0; i < batch; i++)
			fn(arg);
		t = sg_bench_now_ns() - t0;
		if (t >= 20e3 || batch >= (1u << 24))
			break;
		batch *= 2;
	}
	start = sg_bench_now_ns();
	while (n < MAX_SAMPLES && (elapsed < total_ms * 1e6 || n < 5)) {
		t0 = sg_bench_now_ns();
		for (i = 0; i < batch; i++)
			fn(arg);
		t = sg_bench_now_ns();
		samples[n++] = (t - t0) / (double)batch;
		ops += batch;
		elapsed = t - start;
	}
	qsort(samples, n, sizeof(double), cmp_double);
	res->median_ns = samples[n / 2];
	res->p90_ns = samples[(n * 9) / 10];
	res->ops = ops;
	res->ops_per_s = (double)ops / (elapsed / 1e9);
}

void sg_bench_print_ops(const char *name, const sg_bench_result *res)
{
	printf("%-34s %12.0f ops/s   median %10.2f us   p90 %10.2f us\n",
	       name, res->ops_per_s, res->median_ns / 1e3, res->p90_ns / 1e3);
	fflush(stdout);
}

void sg_bench_print_rate(const char *name, size_t bytes_per_op,
			 const sg_bench_result *res)
{
	printf("%-34s %10zu B   %8.3f GB/s (median)   %8.3f GB/s (mean)\n",
	       name, bytes_per_op, (double)bytes_per_op / res->median_ns,
	       (double)bytes_per_op * res->ops_per_s / 1e9);
	fflush(stdout);
}

static void banner(void)
{
	struct utsname u;
	char model[256] = "unknown CPU";
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f) {
		char line[512];
		while (fgets(line, sizeof(line), f)) {
			if (strncmp(line, "model name", 10) == 0) {
				char *c = strchr(line, ':');
				if (c) {
					snprintf(model, sizeof(model), "%s", c + 2);
					model[strcspn(model, "\n")] = 0;
				}
				break;
			}
		}
		fclose(f);
	}
	uname(&u);
	printf("# sg-bench %s on %s (%s %s), one thread; BLAKE3 SIMD: %s\n",
	       sg_version(), model, u.sysname, u.machine, sg_blake3_simd());
}

int main(int argc, char **argv)
{
	sg_bench_opts opts = {0};
	int i, j, named = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			opts.quick = 1;
		} else if (strcmp(argv[i], "--list") == 0) {
			for (j = 0; j < nsuites; j++)
				printf("%-10s %s\n", suites[j].name, suites[j].what);
			return 0;
		} else if (strcmp(argv[i], "-h") == 0 ||
			   strcmp(argv[i], "--help") == 0) {
			printf("usage: sg-bench [--quick] [--list] [SUITE...]\n");
			return 0;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "sg-bench: unknown option %s\n", argv[i]);
			return 2;
		} else {
			for (j = 0; j < nsuites; j++)
				if (strcmp(argv[i], suites[j].name) == 0)
					break;
			if (j == nsuites) {
				fprintf(stderr, "sg-bench: no suite '%s' (see --list)\n",
					argv[i]);
				return 2;
			}
			named = 1;
		}
	}
	banner();
	for (j = 0; j < nsuites; j++) {
		int run = !named;
		for (i = 1; i < argc && !run; i++)
			run = strcmp(argv[i], suites[j].name) == 0;
		if (run) {
			printf("\n## %s: %s\n", suites[j].name, suites[j].what);
			suites[j].run(&opts);
		}
	}
	return 0;
}
