/*
 * RFC 8949 appendix A: all 82 entries of ../shared/vectors/cbor/appendix_a.json
 * (see vectors/SOURCES.md section 3). Entries inside our subset must
 * validate, decode to the JSON "decoded" value (or the "diagnostic" text),
 * compared through one rendering in diagnostic notation (integers exactly
 * as decimal text, strings byte for byte), and re-encode with our encoder
 * to the same bytes. The others are rejected with the error of their class,
 * which the test derives from the entry itself: floats, bignums, tags and
 * simple values other than false/true/null are SG_ERR_UNSUPPORTED, the
 * two-byte simple(24) is not well-formed (SG_ERR_MALFORMED), and the
 * remaining roundtrip:false entries use indefinite lengths
 * (SG_ERR_NONCANONICAL).
 */
#include "testutil.h"
#include "json.h"
#include "cbor_reencode.h"
#include "sg/cbor.h"
#include "sg/err.h"

#include <stdlib.h>
#include <string.h>

/* A growing string for the renderings. */
typedef struct sbuf {
	char *s;
	size_t len, cap;
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		assert_non_null(b->s);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = 0;
}

static void sb_puts(sbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

/* A text string in diagnostic notation (JSON escapes, UTF-8 kept). */
static void sb_text(sbuf *b, const char *s, size_t n)
{
	size_t i;
	char esc[8];

	sb_puts(b, "\"");
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			sb_putn(b, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			sb_puts(b, esc);
		} else {
			sb_putn(b, (const char *)&c, 1);
		}
	}
	sb_puts(b, "\"");
}

/* Decimal text of v + 1 for any 64-bit v (so up to 2^64). */
static void u64_plus_one(char *out, size_t cap, uint64_t v)
{
	if (v == UINT64_MAX)
		snprintf(out, cap, "18446744073709551616");
	else
		snprintf(out, cap, "%llu", (unsigned long long)(v + 1));
}

/* Renders the next item of d (recursively: test code, bounded input). */
static int render_cbor(sbuf *b, sg_cbor_dec *d)
{
	sg_cbor_item it;
	char num[32];
	uint64_t i;
	int rc = sg_cbor_next(d, &it);

	if (rc != 0)
		return rc;
	switch (it.type) {
	case SG_CBOR_UINT:
		snprintf(num, sizeof(num), "%llu", (unsigned long long)it.val);
		sb_puts(b, num);
		break;
	case SG_CBOR_NINT:
		sb_puts(b, "-");
		u64_plus_one(num, sizeof(num), it.val);
		sb_puts(b, num);
		break;
	case SG_CBOR_BYTES:
		sb_puts(b, "h'");
		for (i = 0; i < it.val; i++) {
			snprintf(num, sizeof(num), "%02x", it.ptr[i]);
			sb_puts(b, num);
		}
		sb_puts(b, "'");
		break;
	case SG_CBOR_TEXT:
		sb_text(b, (const char *)it.ptr, (size_t)it.val);
		break;
	case SG_CBOR_ARRAY:
	case SG_CBOR_MAP:
		sb_puts(b, it.type == SG_CBOR_ARRAY ? "[" : "{");
		for (i = 0; i < it.val; i++) {
			if (i)
				sb_puts(b, ", ");
			if ((rc = render_cbor(b, d)) != 0)
				return rc;
			if (it.type == SG_CBOR_MAP) {
				sb_puts(b, ": ");
				if ((rc = render_cbor(b, d)) != 0)
					return rc;
			}
		}
		sb_puts(b, it.type == SG_CBOR_ARRAY ? "]" : "}");
		break;
	case SG_CBOR_BOOL:
		sb_puts(b, it.val ? "true" : "false");
		break;
	case SG_CBOR_NULL:
		sb_puts(b, "null");
		break;
	}
	return 0;
}

static void render_json(sbuf *b, const json *v)
{
	size_t i;

	switch (v->type) {
	case JSON_NULL:
		sb_puts(b, "null");
		break;
	case JSON_BOOL:
		sb_puts(b, v->boolean ? "true" : "false");
		break;
	case JSON_NUMBER:
		sb_puts(b, v->str);
		break;
	case JSON_STRING:
		sb_text(b, v->str, v->str_len);
		break;
	case JSON_ARRAY:
	case JSON_OBJECT:
		sb_puts(b, v->type == JSON_ARRAY ? "[" : "{");
		for (i = 0; i < v->n; i++) {
			if (i)
				sb_puts(b, ", ");
			if (v->type == JSON_OBJECT) {
				sb_text(b, v->keys[i], strlen(v->keys[i]));
				sb_puts(b, ": ");
			}
			render_json(b, v->items[i]);
		}
		sb_puts(b, v->type == JSON_ARRAY ? "]" : "}");
		break;
	}
}

/* Is the decimal integer text s (optional '-') outside [-2^64, 2^64-1]? */
static int beyond_64_bits(const char *s)
{
	const char *lim = "18446744073709551615";
	size_t n;

	if (*s == '-') {
		s++;
		lim = "18446744073709551616";
	}
	n = strlen(s);
	if (n != strlen(lim))
		return n > strlen(lim);
	return strcmp(s, lim) > 0;
}

/* The error an entry outside the subset must get, or 0 if it is inside. */
static int expected_error(const json *e)
{
	const json *dec = json_get(e, "decoded");
	const json *diag = json_get(e, "diagnostic");

	if (dec != NULL && dec->type == JSON_NUMBER) {
		if (strpbrk(dec->str, ".eE") != NULL)
			return SG_ERR_UNSUPPORTED; /* float */
		if (beyond_64_bits(dec->str))
			return SG_ERR_UNSUPPORTED; /* bignum: tag 2 or 3 */
	}
	if (diag != NULL) {
		const char *t = diag->str;
		unsigned n;

		if (strcmp(t, "Infinity") == 0 || strcmp(t, "-Infinity") == 0 ||
		    strcmp(t, "NaN") == 0 || strcmp(t, "undefined") == 0)
			return SG_ERR_UNSUPPORTED;
		if (sscanf(t, "simple(%u)", &n) == 1)
			/* 24..31 have no well-formed encoding (8949 3.3) */
			return n >= 24 && n < 32 ? SG_ERR_MALFORMED
						 : SG_ERR_UNSUPPORTED;
		if (t[0] >= '0' && t[0] <= '9' && strchr(t, '(') != NULL)
			return SG_ERR_UNSUPPORTED; /* tag N(...) */
	}
	/* Valid but not deterministic: the indefinite-length entries. */
	if (!json_req_bool(e, "roundtrip"))
		return SG_ERR_NONCANONICAL;
	return 0;
}

static void test_appendix_a(void **state)
{
	json *v = json_parse_file(sg_test_vector_path("cbor/appendix_a.json"));
	size_t i, accepted = 0, n_unsup = 0, n_malf = 0, n_noncanon = 0;
	(void)state;

	assert_non_null(v);
	assert_int_equal(v->type, JSON_ARRAY);
	assert_int_equal(v->n, 82);
	for (i = 0; i < v->n; i++) {
		const json *e = v->items[i];
		const char *hex = json_req_str(e, "hex");
		size_t len;
		uint8_t *in = sg_test_unhex(hex, strlen(hex), &len);
		int exp = expected_error(e);
		int rc = sg_cbor_validate(in, len, NULL);
		sg_cbor_dec d;

		if (rc != exp)
			fprintf(stderr, "entry %zu (%s): got %s, want %s\n", i,
				hex, sg_errname(rc), sg_errname(exp));
		assert_int_equal(rc, exp);
		/* The pull decoder meets the same head errors. */
		sg_cbor_dec_init(&d, in, len);
		assert_int_equal(sg_cbor_skip(&d), exp);
		if (exp == 0) {
			sbuf got = {0}, want = {0};
			const json *dec = json_get(e, "decoded");
			uint8_t *out = malloc(len);

			assert_int_equal(sg_cbor_dec_done(&d), 0);
			sg_cbor_dec_init(&d, in, len);
			assert_int_equal(render_cbor(&got, &d), 0);
			assert_int_equal(sg_cbor_dec_done(&d), 0);
			if (dec != NULL)
				render_json(&want, dec);
			else
				sb_puts(&want, json_req_str(e, "diagnostic"));
			if (strcmp(got.s, want.s) != 0)
				fprintf(stderr, "entry %zu: %s != %s\n", i,
					got.s, want.s);
			assert_string_equal(got.s, want.s);

			assert_non_null(out);
			assert_int_equal(sg_test_cbor_reencode(in, len, out, len),
					 (long)len);
			assert_memory_equal(out, in, len);
			/* ... and not in one byte less. */
			assert_int_equal(sg_test_cbor_reencode(in, len, out, len - 1),
					 SG_ERR_BUFSIZE);
			free(out);
			free(got.s);
			free(want.s);
			accepted++;
		} else if (exp == SG_ERR_UNSUPPORTED) {
			n_unsup++;
		} else if (exp == SG_ERR_MALFORMED) {
			n_malf++;
		} else {
			n_noncanon++;
		}
		free(in);
	}
	/* 37 inside the subset; outside: 22 floats, 2 bignums, 6 other tags,
	 * undefined, simple(16), simple(255); f818; 11 indefinite. */
	assert_int_equal(accepted, 37);
	assert_int_equal(n_unsup, 33);
	assert_int_equal(n_malf, 1);
	assert_int_equal(n_noncanon, 11);
	json_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_appendix_a),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
