/*
 * The environment every saorsa-gossip component takes: allocator, random
 * bytes, clock and log sink. Protocol cores never reach the outside world
 * except through it, which is what lets the simulator run thousands of them
 * deterministically in virtual time and lets tests inject allocation
 * failures.
 *
 * Fill one with sg_env_default() and override what you need. The library
 * never prints, exits or aborts: without a log callback, log lines are
 * dropped.
 */
#ifndef SG_ENV_H
#define SG_ENV_H

#include "common.h"

typedef enum sg_log_level {
	SG_LOG_ERROR = 0,
	SG_LOG_WARN = 1,
	SG_LOG_INFO = 2,
	SG_LOG_DEBUG = 3,
} sg_log_level;

typedef struct sg_env {
	/* sizeof(sg_env) as the caller compiled it; set by sg_env_default(). */
	size_t size;

	/* Allocator: malloc/realloc/free semantics. alloc may return NULL, and
	 * every caller handles that with SG_ERR_NOMEM. */
	void *(*alloc)(void *ud, size_t len);
	void *(*realloc)(void *ud, void *ptr, size_t len);
	void (*free)(void *ud, void *ptr);
	void *alloc_ud;

	/* Fills out[0..len) with random bytes; returns 0 or a negative
	 * SG_ERR_*. The default uses the operating system's CSPRNG. */
	int (*random)(void *ud, uint8_t *out, size_t len);
	void *random_ud;

	/* Monotonic time in milliseconds (virtual time in the simulator) and
	 * wall-clock time in milliseconds since the Unix epoch. */
	uint64_t (*now_ms)(void *ud);
	uint64_t (*wall_ms)(void *ud);
	void *clock_ud;

	/* Log sink; NULL drops everything. msg has no trailing newline. */
	void (*log)(void *ud, sg_log_level level, const char *module,
		    const char *msg);
	void *log_ud;
	sg_log_level log_level; /* lines above this level are not formatted */
} sg_env;

/* Fills env with the process defaults: malloc, the OS CSPRNG (libsodium),
 * CLOCK_MONOTONIC and CLOCK_REALTIME, no log sink, level INFO.
 * Errors: SG_ERR_CRYPTO if libsodium cannot be initialised. */
SG_API int sg_env_default(sg_env *env);

/* Convenience wrappers that go through env. */
SG_API void *sg_alloc(const sg_env *env, size_t len);
SG_API void *sg_calloc(const sg_env *env, size_t n, size_t size);
SG_API void *sg_realloc(const sg_env *env, void *ptr, size_t len);
SG_API void sg_free(const sg_env *env, void *ptr);
SG_API int sg_random(const sg_env *env, uint8_t *out, size_t len);
SG_API uint64_t sg_now_ms(const sg_env *env);
SG_API uint64_t sg_wall_ms(const sg_env *env);
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 4, 5)))
#endif
SG_API void sg_log(const sg_env *env, sg_log_level level, const char *module,
		   const char *fmt, ...);

/* Human-readable level name: "error", "warn", "info", "debug". */
SG_API const char *sg_log_level_name(sg_log_level level);

/* Overwrites len bytes at p with zeros in a way the compiler cannot elide.
 * Used on every secret before its storage goes away. */
SG_API void sg_wipe(void *p, size_t len);

/* Constant-time comparison of two len-byte buffers; 0 when equal, -1 when
 * not. Time depends on len only. */
SG_API int sg_ct_memcmp(const void *a, const void *b, size_t len);

/* Lower-case hex. sg_hex_encode writes 2*in_len chars plus a NUL and returns
 * 2*in_len, or SG_ERR_BUFSIZE. sg_hex_decode accepts upper or lower case
 * and returns the number of bytes written, SG_ERR_MALFORMED on a bad digit
 * or odd length, SG_ERR_BUFSIZE when out is too small. */
SG_API long sg_hex_encode(char *out, size_t out_len, const uint8_t *in,
			  size_t in_len);
SG_API long sg_hex_decode(uint8_t *out, size_t out_len, const char *in,
			  size_t in_len);

#endif
