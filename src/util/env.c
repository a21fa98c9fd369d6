/*
 * The default environment (malloc, libsodium's CSPRNG, POSIX clocks) and the
 * wrappers that route every allocation, random byte, clock reading and log
 * line through an sg_env.
 */
#define _POSIX_C_SOURCE 200809L
#include "sg/env.h"
#include "sg/err.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void *default_alloc(void *ud, size_t len)
{
	(void)ud;
	return malloc(len ? len : 1);
}

static void *default_realloc(void *ud, void *ptr, size_t len)
{
	(void)ud;
	return realloc(ptr, len ? len : 1);
}

static void default_free(void *ud, void *ptr)
{
	(void)ud;
	free(ptr);
}

static int default_random(void *ud, uint8_t *out, size_t len)
{
	(void)ud;
	randombytes_buf(out, len);
	return 0;
}

static uint64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t default_now_ms(void *ud)
{
	(void)ud;
	return clock_ms(CLOCK_MONOTONIC);
}

static uint64_t default_wall_ms(void *ud)
{
	(void)ud;
	return clock_ms(CLOCK_REALTIME);
}

int sg_env_default(sg_env *env)
{
	if (env == NULL)
		return SG_ERR_INVAL;
	if (sodium_init() < 0)
		return SG_ERR_CRYPTO;
	memset(env, 0, sizeof(*env));
	env->size = sizeof(*env);
	env->alloc = default_alloc;
	env->realloc = default_realloc;
	env->free = default_free;
	env->random = default_random;
	env->now_ms = default_now_ms;
	env->wall_ms = default_wall_ms;
	env->log_level = SG_LOG_INFO;
	return 0;
}

void *sg_alloc(const sg_env *env, size_t len)
{
	return env->alloc(env->alloc_ud, len);
}

void *sg_calloc(const sg_env *env, size_t n, size_t size)
{
	void *p;
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	p = env->alloc(env->alloc_ud, n * size);
	if (p != NULL)
		memset(p, 0, n * size);
	return p;
}

void *sg_realloc(const sg_env *env, void *ptr, size_t len)
{
	return env->realloc(env->alloc_ud, ptr, len);
}

void sg_free(const sg_env *env, void *ptr)
{
	if (ptr != NULL)
		env->free(env->alloc_ud, ptr);
}

int sg_random(const sg_env *env, uint8_t *out, size_t len)
{
	return env->random(env->random_ud, out, len);
}

uint64_t sg_now_ms(const sg_env *env)
{
	return env->now_ms(env->clock_ud);
}

uint64_t sg_wall_ms(const sg_env *env)
{
	return env->wall_ms(env->clock_ud);
}

void sg_log(const sg_env *env, sg_log_level level, const char *module,
	    const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (env == NULL || env->log == NULL || level > env->log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap); /* truncation is acceptable */
	va_end(ap);
	env->log(env->log_ud, level, module, line);
}

const char *sg_log_level_name(sg_log_level level)
{
	switch (level) {
	case SG_LOG_ERROR:
		return "error";
	case SG_LOG_WARN:
		return "warn";
	case SG_LOG_INFO:
		return "info";
	case SG_LOG_DEBUG:
		return "debug";
	}
	return "unknown";
}
