/*
 * A small strict JSON reader for tests (RFC 8259): loads the vector files
 * in ../shared/vectors. Numbers are kept as their source text so that
 * 64-bit and larger integers survive exactly; strings are decoded to UTF-8
 * (surrogate pairs joined).
 */
#ifndef SG_TEST_JSON_H
#define SG_TEST_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
} json_type;

typedef struct json {
	json_type type;
	int boolean;
	char *str;      /* string bytes (NUL-terminated) or number text */
	size_t str_len;
	struct json **items; /* array elements or object values */
	char **keys;         /* object keys (NULL for arrays) */
	size_t n;
} json;

/* NULL on a syntax error (with a message on stderr). */
json *json_parse(const char *text, size_t len);
json *json_parse_file(const char *path);
void json_free(json *v);

/* Object member or NULL. */
const json *json_get(const json *obj, const char *key);
/* Member that must exist with the given type; fails the test otherwise. */
const json *json_req(const json *obj, const char *key, json_type type);
const char *json_req_str(const json *obj, const char *key);
int json_req_bool(const json *obj, const char *key);
long long json_req_int(const json *obj, const char *key);
/* Decodes a hex string member into a malloc'd buffer; *len gets its size. */
uint8_t *json_req_hex(const json *obj, const char *key, size_t *len);

#endif
