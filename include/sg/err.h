/*
 * Error codes. Every function that can fail returns 0 (or a non-negative
 * size) on success and a negative SG_ERR_* on failure. The table below is the
 * single definition of the codes and of their messages (an X-macro), so the
 * enum and sg_strerror() can never disagree.
 */
#ifndef SG_ERR_H
#define SG_ERR_H

#include "common.h"

/* X(name, value, message) */
#define SG_ERR_TABLE(X)                                                        \
	X(SG_ERR_INVAL, -1, "invalid argument")                                \
	X(SG_ERR_NOMEM, -2, "out of memory")                                   \
	X(SG_ERR_RANGE, -3, "value or length out of range")                    \
	X(SG_ERR_BUFSIZE, -4, "output buffer too small")                       \
	X(SG_ERR_TRUNCATED, -5, "input truncated")                             \
	X(SG_ERR_MALFORMED, -6, "input malformed")                             \
	X(SG_ERR_NONCANONICAL, -7, "input not in canonical (deterministic) form") \
	X(SG_ERR_DEPTH, -8, "nesting too deep")                                \
	X(SG_ERR_UNSUPPORTED, -9, "unsupported type or feature")               \
	X(SG_ERR_TRAILING, -10, "trailing bytes after the item")               \
	X(SG_ERR_TYPE, -11, "item of unexpected type")                         \
	X(SG_ERR_VERIFY, -12, "signature or authentication check failed")      \
	X(SG_ERR_KEY, -13, "key rejected by its validity check")               \
	X(SG_ERR_IO, -14, "input/output error")                                \
	X(SG_ERR_NOTFOUND, -15, "not found")                                   \
	X(SG_ERR_EXISTS, -16, "already exists")                                \
	X(SG_ERR_FULL, -17, "queue or table full")                             \
	X(SG_ERR_AGAIN, -18, "try again later")                                \
	X(SG_ERR_STATE, -19, "operation not valid in the current state")       \
	X(SG_ERR_TIMEOUT, -20, "timed out")                                    \
	X(SG_ERR_CLOSED, -21, "closed")                                        \
	X(SG_ERR_PERM, -22, "permission denied")                               \
	X(SG_ERR_CORRUPT, -23, "stored data corrupt")                          \
	X(SG_ERR_PASSPHRASE, -24, "wrong passphrase")                          \
	X(SG_ERR_EXPIRED, -25, "outside its validity window")                  \
	X(SG_ERR_REPLAY, -26, "replayed or stale")                             \
	X(SG_ERR_CRYPTO, -27, "cryptographic library failure")

enum sg_err {
#define SG_ERR_ENUM_(name, value, msg) name = value,
	SG_ERR_TABLE(SG_ERR_ENUM_)
#undef SG_ERR_ENUM_
};

/* A static message for any code: 0 gives "success", unknown codes
 * "unknown error". Never NULL. */
SG_API const char *sg_strerror(int err);

/* The code's symbolic name ("SG_ERR_INVAL"), or "SG_OK" for 0, or
 * "SG_ERR_UNKNOWN". Never NULL. */
SG_API const char *sg_errname(int err);

#endif
