/*
 * Strict deterministic CBOR (RFC 8949): the encoding of every saorsa-gossip
 * wire message. The accepted subset is the "core deterministic encoding" of
 * RFC 8949 section 4.2.1 restricted to the data model of section 3.1:
 * unsigned and negative integers (down to -2^64), byte strings, UTF-8 text
 * strings, definite-length arrays and maps, false, true and null. Anything
 * else is rejected with a specific error (docs/PROTOCOL.md lists them):
 *
 *   SG_ERR_TRUNCATED    input ends inside an item, or a declared length or
 *                       count exceeds the bytes that remain
 *   SG_ERR_MALFORMED    not well-formed (RFC 8949 section 3, appendix F):
 *                       reserved additional information 28-30, indefinite
 *                       length on an integer or tag, a stray break (0xff),
 *                       a two-byte simple value below 32 (f8 00..f8 1f);
 *                       also text that is not valid UTF-8
 *   SG_ERR_NONCANONICAL an integer, length or count not in its shortest
 *                       form, an indefinite-length string, array or map,
 *                       map keys not in strictly increasing bytewise order
 *                       of their encodings (duplicates included)
 *   SG_ERR_UNSUPPORTED  tags (major type 6, bignums included), floating
 *                       point numbers, undefined, simple values other than
 *                       false/true/null
 *   SG_ERR_DEPTH        containers nested deeper than the limit
 *   SG_ERR_RANGE        more items than the limit; in getters, a value
 *                       outside the requested C type or size
 *   SG_ERR_TRAILING     bytes after the top-level item
 *   SG_ERR_TYPE         a typed getter found another type
 *
 * Intended use by a message decoder: call sg_cbor_validate() once over the
 * whole frame (well-formedness, subset, shortest forms, map key order,
 * UTF-8, depth and item limits), then walk it with the typed getters. The
 * pull decoder on its own also enforces shortest-form heads, bounds and
 * UTF-8, and never reads outside its buffer, but it does NOT check map key
 * ordering (it sees one item at a time): never skip the validation step.
 *
 * Nothing here allocates. Decoded strings are views into the input.
 */
#ifndef SG_CBOR_H
#define SG_CBOR_H

#include "common.h"

/* Default limits (used when a NULL sg_cbor_limits is passed). */
#define SG_CBOR_DEFAULT_MAX_DEPTH 16
#define SG_CBOR_DEFAULT_MAX_ITEMS 4096
/* The largest max_depth sg_cbor_validate() accepts (its stack is fixed). */
#define SG_CBOR_MAX_DEPTH 64

/* The longest head: initial byte + 8-byte argument. */
#define SG_CBOR_HEAD_MAX 9

typedef struct sg_cbor_limits {
	/* Containers may nest this deep: 0 allows only a scalar at the top,
	 * 1 an array or map of scalars, ... At most SG_CBOR_MAX_DEPTH. */
	size_t max_depth;
	/* Total number of data items, counting every container, key, value
	 * and element (the top-level item included). */
	size_t max_items;
} sg_cbor_limits;

/* Fills *limits with the defaults (depth 16, items 4096). */
SG_API void sg_cbor_limits_default(sg_cbor_limits *limits);

/*
 * Validates that buf[0..len) holds exactly one data item that is
 * well-formed, inside the subset above, in deterministic form, and within
 * the limits (NULL: the defaults). Runs in time linear in the number of
 * items, without recursion. Returns 0 or SG_ERR_TRUNCATED, SG_ERR_MALFORMED,
 * SG_ERR_NONCANONICAL, SG_ERR_UNSUPPORTED, SG_ERR_DEPTH, SG_ERR_RANGE (too
 * many items), SG_ERR_TRAILING, or SG_ERR_INVAL (buf NULL with len > 0, or
 * limits->max_depth > SG_CBOR_MAX_DEPTH).
 */
SG_API int sg_cbor_validate(const uint8_t *buf, size_t len,
			    const sg_cbor_limits *limits);

/* ---- Pull decoder ------------------------------------------------------- */

typedef enum sg_cbor_type {
	SG_CBOR_UINT,  /* major 0: val is the value */
	SG_CBOR_NINT,  /* major 1: the value is -1 - val */
	SG_CBOR_BYTES, /* major 2: val is the length, ptr the bytes */
	SG_CBOR_TEXT,  /* major 3: val is the length, ptr the UTF-8 bytes */
	SG_CBOR_ARRAY, /* major 4: val is the element count */
	SG_CBOR_MAP,   /* major 5: val is the number of key/value pairs */
	SG_CBOR_BOOL,  /* simple 20/21: val is 0 or 1 */
	SG_CBOR_NULL,  /* simple 22: val is 0 */
} sg_cbor_type;

typedef struct sg_cbor_item {
	sg_cbor_type type;
	uint64_t val;
	const uint8_t *ptr; /* string body (views the input), else NULL */
} sg_cbor_item;

/* A cursor over caller memory; copyable (a copy is a saved position). */
typedef struct sg_cbor_dec {
	const uint8_t *p;
	const uint8_t *end;
} sg_cbor_dec;

SG_API void sg_cbor_dec_init(sg_cbor_dec *d, const uint8_t *buf, size_t len);

/*
 * Reads one head and, for a string, its body; for an array or map only the
 * head (the children follow). A string's length and a container's count
 * are checked against the remaining input before anything uses them (a map
 * needs two bytes per pair), so counts always fit in size_t. On error the
 * cursor does not move. Returns 0 or SG_ERR_TRUNCATED, SG_ERR_MALFORMED,
 * SG_ERR_NONCANONICAL, SG_ERR_UNSUPPORTED.
 */
SG_API int sg_cbor_next(sg_cbor_dec *d, sg_cbor_item *it);

/* Like sg_cbor_next() without moving the cursor. */
SG_API int sg_cbor_peek(const sg_cbor_dec *d, sg_cbor_item *it);

/*
 * Skips one whole item, children included, iteratively (no recursion, no
 * depth limit needed). Same errors as sg_cbor_next(); on error the cursor
 * does not move.
 */
SG_API int sg_cbor_skip(sg_cbor_dec *d);

/*
 * Typed getters: read the next item if it has the expected type, otherwise
 * return SG_ERR_TYPE (or a decoding error) and leave the cursor in place.
 */
SG_API int sg_cbor_get_uint(sg_cbor_dec *d, uint64_t *v);
/* Major 0 or 1; SG_ERR_RANGE outside [INT64_MIN, INT64_MAX]. */
SG_API int sg_cbor_get_int(sg_cbor_dec *d, int64_t *v);
SG_API int sg_cbor_get_bytes(sg_cbor_dec *d, const uint8_t **p, size_t *len);
/* A byte string of exactly exact_len bytes (ids, keys, signatures);
 * SG_ERR_RANGE for any other length. */
SG_API int sg_cbor_get_bytes_len(sg_cbor_dec *d, const uint8_t **p,
				 size_t exact_len);
/* Text is valid UTF-8 (checked); it is not NUL-terminated. */
SG_API int sg_cbor_get_text(sg_cbor_dec *d, const char **p, size_t *len);
SG_API int sg_cbor_get_array(sg_cbor_dec *d, size_t *count);
SG_API int sg_cbor_get_map(sg_cbor_dec *d, size_t *count);
SG_API int sg_cbor_get_bool(sg_cbor_dec *d, int *v);
SG_API int sg_cbor_get_null(sg_cbor_dec *d);

/* 0 when the cursor reached the end of its buffer, else SG_ERR_TRAILING. */
SG_API int sg_cbor_dec_done(const sg_cbor_dec *d);

/* ---- Encoder ------------------------------------------------------------ */

/*
 * Writes deterministic CBOR into caller memory: every head in its shortest
 * form. The caller gives counts up front and must emit map keys in
 * increasing bytewise order of their encodings (the encoder does not track
 * structure; message encoders' tests run sg_cbor_validate over the output).
 * Errors are sticky: after the first one nothing more is written, and
 * sg_cbor_enc_finish() reports it. After SG_ERR_BUFSIZE, len keeps counting,
 * so it holds the size that would have been needed.
 */
typedef struct sg_cbor_enc {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int err;
} sg_cbor_enc;

/* buf NULL: measure mode, nothing is written and len counts the size. */
SG_API void sg_cbor_enc_init(sg_cbor_enc *e, uint8_t *buf, size_t cap);

SG_API void sg_cbor_put_uint(sg_cbor_enc *e, uint64_t v);
SG_API void sg_cbor_put_int(sg_cbor_enc *e, int64_t v);
/* The negative integer -1 - arg (down to -2^64 with arg = UINT64_MAX). */
SG_API void sg_cbor_put_nint_arg(sg_cbor_enc *e, uint64_t arg);
/* p may be NULL only if len is 0 (else SG_ERR_INVAL). */
SG_API void sg_cbor_put_bytes(sg_cbor_enc *e, const void *p, size_t len);
/* p must be valid UTF-8, else SG_ERR_INVAL (the encoder never produces
 * what the decoder would reject). */
SG_API void sg_cbor_put_text(sg_cbor_enc *e, const char *p, size_t len);
/* Appends len bytes that already hold one encoded item (the caller's
 * responsibility; validate what you build in tests). p may point at the
 * encoder's own current position, for an item encoded there in place, e.g.
 * a signed header that must be sent as the very bytes that were signed. */
SG_API void sg_cbor_put_encoded(sg_cbor_enc *e, const void *p, size_t len);
SG_API void sg_cbor_put_array(sg_cbor_enc *e, size_t count);
SG_API void sg_cbor_put_map(sg_cbor_enc *e, size_t count);
SG_API void sg_cbor_put_bool(sg_cbor_enc *e, int v);
SG_API void sg_cbor_put_null(sg_cbor_enc *e);

/* Bytes written (or measured), or an error: SG_ERR_INVAL or SG_ERR_RANGE
 * (size overflow) if one occurred (a bigger buffer would not help, so these
 * outrank a buffer-size error), else SG_ERR_BUFSIZE if the buffer was too
 * small. */
SG_API long sg_cbor_enc_finish(const sg_cbor_enc *e);

/* Returns 0 if p[0..len) is valid UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), else SG_ERR_MALFORMED. */
SG_API int sg_cbor_utf8_check(const uint8_t *p, size_t len);

#endif
