/*
 * Test helpers: vector paths, file reading, hex, deterministic RNG and the
 * fault-injecting environment.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static const char *env_dir(const char *var, const char *fallback)
{
	const char *d = getenv(var);
	return d && *d ? d : fallback;
}

const char *sg_test_vector_path(const char *rel)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf), "%s/%s",
		 env_dir("SG_VECTORS_DIR", "../shared/vectors"), rel);
	return buf;
}

const char *sg_test_source_path(const char *rel)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf), "%s/%s", env_dir("SG_SOURCE_DIR", "."), rel);
	return buf;
}

/* The whole of a stream into a malloc'd NUL-terminated buffer. */
static char *read_stream(FILE *f, size_t *len)
{
	char *buf = NULL;
	size_t cap = 0, n = 0;

	for (;;) {
		size_t got;
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 1 << 20;
			buf = realloc(buf, cap + 1);
			if (!buf)
				abort();
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

char *sg_test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	if (!f) {
		fprintf(stderr, "cannot open %s\n", path);
		return NULL;
	}
	buf = read_stream(f, len);
	fclose(f);
	return buf;
}

uint8_t *sg_test_unhex(const char *hex, size_t hex_len, size_t *len)
{
	uint8_t *out = malloc(hex_len / 2 + 1);
	long n;
	if (!out)
		abort();
	n = sg_hex_decode(out, hex_len / 2 + 1, hex, hex_len);
	if (n < 0) {
		fprintf(stderr, "bad hex: %.40s\n", hex);
		abort();
	}
	*len = (size_t)n;
	return out;
}

void sg_test_dump(const char *label, const uint8_t *p, size_t len)
{
	size_t i;
	fprintf(stderr, "%s: ", label);
	for (i = 0; i < len; i++)
		fprintf(stderr, "%02x", p[i]);
	fprintf(stderr, "\n");
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void sg_test_rng_seed(sg_test_rng *r, uint64_t seed)
{
	int i;
	for (i = 0; i < 4; i++) { /* splitmix64 */
		uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		r->s[i] = z ^ (z >> 31);
	}
}

uint64_t sg_test_rng_u64(sg_test_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

void sg_test_rng_bytes(sg_test_rng *r, uint8_t *out, size_t len)
{
	while (len > 0) {
		uint64_t v = sg_test_rng_u64(r);
		size_t k = len < 8 ? len : 8;
		memcpy(out, &v, k);
		out += k;
		len -= k;
	}
}

static void *t_alloc(void *ud, size_t len)
{
	sg_test_env *t = ud;
	if (t->budget >= 0 && t->allocs >= t->budget)
		return NULL;
	t->allocs++;
	return malloc(len ? len : 1);
}

static void *t_realloc(void *ud, void *p, size_t len)
{
	sg_test_env *t = ud;
	if (t->budget >= 0 && t->allocs >= t->budget)
		return NULL;
	if (!p)
		t->allocs++;
	return realloc(p, len ? len : 1);
}

static void t_free(void *ud, void *p)
{
	sg_test_env *t = ud;
	if (p)
		t->frees++;
	free(p);
}

static int t_random(void *ud, uint8_t *out, size_t len)
{
	sg_test_env *t = ud;
	sg_test_rng_bytes(&t->rng, out, len);
	return 0;
}

void sg_test_env_init(sg_test_env *t, uint64_t seed, long budget)
{
	memset(t, 0, sizeof(*t));
	if (sg_env_default(&t->env) != 0)
		abort();
	t->budget = budget;
	sg_test_rng_seed(&t->rng, seed);
	t->env.alloc = t_alloc;
	t->env.realloc = t_realloc;
	t->env.free = t_free;
	t->env.alloc_ud = t;
	t->env.random = t_random;
	t->env.random_ud = t;
}

char *sg_test_run_capture(const char *cmdline, size_t *len)
{
	FILE *p = popen(cmdline, "r");
	char *buf;
	int st;

	if (!p)
		return NULL;
	buf = read_stream(p, len);
	st = pclose(p);
	if (st != 0) {
		fprintf(stderr, "command failed (status %d): %s\n", st, cmdline);
		free(buf);
		return NULL;
	}
	return buf;
}
