/*
 * Deterministic CBOR codec (RFC 8949 section 4.2.1) unit and property
 * tests: random structures round-trip (encode -> validate -> walk -> re-encode
 * gives identical bytes), every prefix of a valid encoding is truncated and
 * never read past (exact-size heap copies, so ASan sees any over-read), one
 * hand-made example per rejection class, the limits, the typed getters, and
 * the encoder's shortest forms, sticky errors, measure mode and canaries.
 */
#include "testutil.h"
#include "cbor_reencode.h"
#include "sg/cbor.h"
#include "sg/err.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers */

/* An exact-size heap copy of a hex string (ASan flags reads past it). */
static uint8_t *hexbuf(const char *hex, size_t *len)
{
	return sg_test_unhex(hex, strlen(hex), len);
}

static int validate_hex_lim(const char *hex, size_t depth, size_t items)
{
	sg_cbor_limits lim = {depth, items};
	size_t len;
	uint8_t *b = hexbuf(hex, &len);
	int rc = sg_cbor_validate(b, len, &lim);

	free(b);
	return rc;
}

/* Expects the validator to return err; a failure names the input. */
static void expect(const char *hex, int err)
{
	size_t len;
	uint8_t *b = hexbuf(hex, &len);
	int rc = sg_cbor_validate(b, len, NULL);

	if (rc != err)
		fprintf(stderr, "%s: got %s, want %s\n", hex, sg_errname(rc),
			sg_errname(err));
	assert_int_equal(rc, err);
	free(b);
}

/* ---- random structures */

typedef struct node {
	sg_cbor_type type;
	uint64_t val; /* uint, nint argument, bool; string length */
	uint8_t *str;
	size_t nkids; /* arrays: elements; maps: 2 x pairs (k, v, k, v...) */
	struct node **kids;
} node;

static uint64_t rnd(sg_test_rng *r, uint64_t n)
{
	return n ? sg_test_rng_u64(r) % n : 0;
}

/* Integers spread over every head width, with the boundaries likely. */
static uint64_t rand_arg(sg_test_rng *r)
{
	static const uint64_t edge[] = {
	    0,	       23,	   24,
	    255,       256,	   65535,
	    65536,     0xffffffff, UINT64_C(0x100000000),
	    UINT64_MAX};
	switch (rnd(r, 6)) {
	case 0:
		return edge[rnd(r, sizeof(edge) / sizeof(edge[0]))];
	case 1:
		return rnd(r, 24);
	case 2:
		return rnd(r, 256);
	case 3:
		return rnd(r, 65536);
	case 4:
		return rnd(r, UINT64_C(0x100000000));
	default:
		return sg_test_rng_u64(r);
	}
}

static size_t put_cp(uint8_t *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (uint8_t)(0xc0 | (cp >> 6));
		o[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (uint8_t)(0xe0 | (cp >> 12));
		o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (uint8_t)(0xf0 | (cp >> 18));
	o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

static size_t node_encode(sg_cbor_enc *e, const node *n);

static long encode_alloc(const node *n, uint8_t **out)
{
	sg_cbor_enc e;
	long len;

	sg_cbor_enc_init(&e, NULL, 0);
	node_encode(&e, n);
	len = sg_cbor_enc_finish(&e);
	assert_true(len > 0);
	*out = malloc((size_t)len);
	assert_non_null(*out);
	sg_cbor_enc_init(&e, *out, (size_t)len);
	node_encode(&e, n);
	/* Measure mode gave the exact size. */
	assert_int_equal(sg_cbor_enc_finish(&e), len);
	return len;
}

typedef struct pair {
	node *k, *v;
	uint8_t *kenc;
	size_t klen;
} pair;

static int pair_cmp(const void *a, const void *b)
{
	const pair *x = a, *y = b;
	size_t m = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->kenc, y->kenc, m);

	if (c)
		return c;
	return (x->klen > y->klen) - (x->klen < y->klen);
}

static void node_free(node *n);

static node *gen(sg_test_rng *r, int depth)
{
	node *n = calloc(1, sizeof(*n));
	size_t i, cnt;
	int t;

	assert_non_null(n);
	t = (int)rnd(r, depth >= 5 ? 6 : 8);
	/* scalars 0-5, containers 6-7 */
	switch (t) {
	case 0:
		n->type = SG_CBOR_UINT;
		n->val = rand_arg(r);
		break;
	case 1:
		n->type = SG_CBOR_NINT;
		n->val = rand_arg(r);
		break;
	case 2:
		n->type = SG_CBOR_BYTES;
		n->val = rnd(r, 8) == 0 ? rnd(r, 400) : rnd(r, 40);
		n->str = malloc((size_t)n->val + 1);
		sg_test_rng_bytes(r, n->str, (size_t)n->val);
		break;
	case 3: {
		size_t cap = 1 + rnd(r, 30) * 4, len = 0;
		n->type = SG_CBOR_TEXT;
		n->str = malloc(cap + 4);
		while (len + 4 <= cap) {
			uint32_t cp;
			switch (rnd(r, 4)) {
			case 0:
				cp = (uint32_t)rnd(r, 0x80);
				break;
			case 1:
				cp = 0x80 + (uint32_t)rnd(r, 0x800 - 0x80);
				break;
			case 2:
				do
					cp = 0x800 + (uint32_t)rnd(r, 0xf800);
				while (cp >= 0xd800 && cp <= 0xdfff);
				break;
			default:
				cp = 0x10000 + (uint32_t)rnd(r, 0x100000);
				break;
			}
			len += put_cp(n->str + len, cp);
		}
		n->val = len;
		break;
	}
	case 4:
		n->type = SG_CBOR_BOOL;
		n->val = rnd(r, 2);
		break;
	case 5:
		n->type = SG_CBOR_NULL;
		break;
	case 6:
		n->type = SG_CBOR_ARRAY;
		cnt = rnd(r, 10) == 0 ? rnd(r, 40) : rnd(r, 6);
		n->val = cnt;
		n->nkids = cnt;
		n->kids = calloc(cnt + 1, sizeof(node *));
		for (i = 0; i < cnt; i++)
			n->kids[i] = gen(r, depth + 1);
		break;
	default: {
		pair *ps;
		size_t u = 0;
		cnt = rnd(r, 7);
		ps = calloc(cnt + 1, sizeof(pair));
		for (i = 0; i < cnt; i++) {
			ps[i].k = gen(r, depth + 2);
			ps[i].v = gen(r, depth + 1);
			ps[i].klen = (size_t)encode_alloc(ps[i].k, &ps[i].kenc);
		}
		qsort(ps, cnt, sizeof(pair), pair_cmp);
		n->type = SG_CBOR_MAP;
		n->kids = calloc(2 * cnt + 1, sizeof(node *));
		for (i = 0; i < cnt; i++) {
			if (u > 0 && pair_cmp(&ps[i], &ps[i - 1]) == 0) {
				node_free(ps[i].k);
				node_free(ps[i].v);
			} else {
				n->kids[2 * u] = ps[i].k;
				n->kids[2 * u + 1] = ps[i].v;
				u++;
			}
		}
		for (i = 0; i < cnt; i++)
			free(ps[i].kenc);
		free(ps);
		n->val = u;
		n->nkids = 2 * u;
		break;
	}
	}
	return n;
}

static void node_free(node *n)
{
	size_t i;

	for (i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n);
}

/* Encodes the tree; returns the number of items. */
static size_t node_encode(sg_cbor_enc *e, const node *n)
{
	size_t i, items = 1;

	switch (n->type) {
	case SG_CBOR_UINT:
		sg_cbor_put_uint(e, n->val);
		break;
	case SG_CBOR_NINT:
		if (n->val <= (uint64_t)INT64_MAX)
			sg_cbor_put_int(e, -1 - (int64_t)n->val);
		else
			sg_cbor_put_nint_arg(e, n->val);
		break;
	case SG_CBOR_BYTES:
		sg_cbor_put_bytes(e, n->str, (size_t)n->val);
		break;
	case SG_CBOR_TEXT:
		sg_cbor_put_text(e, (const char *)n->str, (size_t)n->val);
		break;
	case SG_CBOR_ARRAY:
		sg_cbor_put_array(e, (size_t)n->val);
		break;
	case SG_CBOR_MAP:
		sg_cbor_put_map(e, (size_t)n->val);
		break;
	case SG_CBOR_BOOL:
		sg_cbor_put_bool(e, (int)n->val);
		break;
	case SG_CBOR_NULL:
		sg_cbor_put_null(e);
		break;
	}
	for (i = 0; i < n->nkids; i++)
		items += node_encode(e, n->kids[i]);
	return items;
}

static size_t node_depth(const node *n)
{
	size_t i, d = 0, k;

	if (n->type != SG_CBOR_ARRAY && n->type != SG_CBOR_MAP)
		return 0;
	for (i = 0; i < n->nkids; i++)
		if ((k = node_depth(n->kids[i])) > d)
			d = k;
	return d + 1;
}

/* Walks d against the tree, with the generic and the typed getters. */
static void node_check(sg_cbor_dec *d, const node *n, int typed)
{
	sg_cbor_item it;
	size_t i;

	if (typed) {
		uint64_t u;
		int64_t s;
		const uint8_t *p;
		const char *t;
		size_t len;
		int b;

		switch (n->type) {
		case SG_CBOR_UINT:
			assert_int_equal(sg_cbor_get_uint(d, &u), 0);
			assert_true(u == n->val);
			break;
		case SG_CBOR_NINT:
			if (n->val <= (uint64_t)INT64_MAX) {
				assert_int_equal(sg_cbor_get_int(d, &s), 0);
				assert_true(s == -1 - (int64_t)n->val);
			} else {
				assert_int_equal(sg_cbor_get_int(d, &s),
						 SG_ERR_RANGE);
				assert_int_equal(sg_cbor_skip(d), 0);
			}
			break;
		case SG_CBOR_BYTES:
			assert_int_equal(sg_cbor_get_bytes(d, &p, &len), 0);
			assert_int_equal(len, n->val);
			assert_memory_equal(p, n->str, len);
			break;
		case SG_CBOR_TEXT:
			assert_int_equal(sg_cbor_get_text(d, &t, &len), 0);
			assert_int_equal(len, n->val);
			assert_memory_equal(t, n->str, len);
			break;
		case SG_CBOR_ARRAY:
			assert_int_equal(sg_cbor_get_array(d, &len), 0);
			assert_int_equal(len, n->val);
			break;
		case SG_CBOR_MAP:
			assert_int_equal(sg_cbor_get_map(d, &len), 0);
			assert_int_equal(len, n->val);
			break;
		case SG_CBOR_BOOL:
			assert_int_equal(sg_cbor_get_bool(d, &b), 0);
			assert_int_equal(b, n->val);
			break;
		case SG_CBOR_NULL:
			assert_int_equal(sg_cbor_get_null(d), 0);
			break;
		}
	} else {
		assert_int_equal(sg_cbor_next(d, &it), 0);
		assert_int_equal(it.type, n->type);
		assert_true(it.val == n->val);
		if (n->type == SG_CBOR_BYTES || n->type == SG_CBOR_TEXT)
			assert_memory_equal(it.ptr, n->str, (size_t)n->val);
	}
	for (i = 0; i < n->nkids; i++)
		node_check(d, n->kids[i], typed);
}

static void test_random_roundtrip(void **state)
{
	sg_test_rng r;
	size_t iter, total = 0, maxlen = 0;
	(void)state;

	sg_test_rng_seed(&r, 0xcb0c);
	for (iter = 0; iter < 3000; iter++) {
		node *n = gen(&r, 0);
		uint8_t *enc, *out;
		long len = encode_alloc(n, &enc);
		size_t items, depth = node_depth(n);
		sg_cbor_limits lim;
		sg_cbor_enc e;
		sg_cbor_dec d;
		int typed;

		sg_cbor_enc_init(&e, NULL, 0);
		items = node_encode(&e, n);
		total += (size_t)len;
		if ((size_t)len > maxlen)
			maxlen = (size_t)len;
		/* Exactly at the limits passes; one below fails. */
		lim.max_depth = depth;
		lim.max_items = items;
		assert_int_equal(sg_cbor_validate(enc, (size_t)len, &lim), 0);
		if (depth > 0) {
			lim.max_depth = depth - 1;
			assert_int_equal(
			    sg_cbor_validate(enc, (size_t)len, &lim),
			    SG_ERR_DEPTH);
			lim.max_depth = depth;
		}
		lim.max_items = items - 1;
		assert_int_equal(sg_cbor_validate(enc, (size_t)len, &lim),
				 SG_ERR_RANGE);
		if (depth <= SG_CBOR_DEFAULT_MAX_DEPTH &&
		    items <= SG_CBOR_DEFAULT_MAX_ITEMS)
			assert_int_equal(
			    sg_cbor_validate(enc, (size_t)len, NULL), 0);

		for (typed = 0; typed < 2; typed++) {
			sg_cbor_dec_init(&d, enc, (size_t)len);
			node_check(&d, n, typed);
			assert_int_equal(sg_cbor_dec_done(&d), 0);
		}
		sg_cbor_dec_init(&d, enc, (size_t)len);
		assert_int_equal(sg_cbor_skip(&d), 0);
		assert_int_equal(sg_cbor_dec_done(&d), 0);

		out = malloc((size_t)len);
		assert_int_equal(sg_test_cbor_reencode(enc, (size_t)len, out, (size_t)len),
				 len);
		assert_memory_equal(out, enc, (size_t)len);
		free(out);
		free(enc);
		node_free(n);
	}
	/* The generator reaches multi-KB items and covers a real volume. */
	assert_true(maxlen > 2000);
	assert_true(total > 300000);
}

/* Every proper prefix of a valid encoding is SG_ERR_TRUNCATED, for the
 * validator and the skipper, read from an exact-size heap copy. */
static void test_truncations(void **state)
{
	sg_test_rng r;
	size_t iter, cut;
	(void)state;

	sg_test_rng_seed(&r, 77);
	for (iter = 0; iter < 400; iter++) {
		node *n = gen(&r, 1);
		uint8_t *enc;
		long len = encode_alloc(n, &enc);
		sg_cbor_limits lim = {SG_CBOR_MAX_DEPTH, (size_t)-1};

		for (cut = 0; cut < (size_t)len; cut++) {
			uint8_t *pre = malloc(cut ? cut : 1);
			sg_cbor_dec d;

			memcpy(pre, enc, cut);
			assert_int_equal(sg_cbor_validate(pre, cut, &lim),
					 SG_ERR_TRUNCATED);
			sg_cbor_dec_init(&d, pre, cut);
			assert_int_equal(sg_cbor_skip(&d), SG_ERR_TRUNCATED);
			/* The cursor did not move. */
			assert_ptr_equal(d.p, pre);
			free(pre);
		}
		free(enc);
		node_free(n);
	}
}

/* Mutated valid encodings: whatever the validator accepts re-encodes to the
 * identical bytes, and the skipper agrees on its extent. */
static void test_mutations(void **state)
{
	sg_test_rng r;
	size_t iter, accepted = 0, rejected = 0;
	(void)state;

	sg_test_rng_seed(&r, 4242);
	for (iter = 0; iter < 3000; iter++) {
		node *n = gen(&r, 2);
		uint8_t *enc, *mut, *out;
		long len = encode_alloc(n, &enc);
		size_t k, mlen = (size_t)len;
		int rc;

		mut = malloc(mlen);
		memcpy(mut, enc, mlen);
		for (k = 0; k < 1 + rnd(&r, 3); k++) {
			size_t pos = (size_t)rnd(&r, mlen);
			switch (rnd(&r, 3)) {
			case 0:
				mut[pos] ^= (uint8_t)(1u << rnd(&r, 8));
				break;
			case 1:
				mut[pos] = (uint8_t)rnd(&r, 256);
				break;
			default:
				mut[pos] = (uint8_t)(mut[pos] + 1);
				break;
			}
		}
		rc = sg_cbor_validate(mut, mlen, NULL);
		if (rc == 0) {
			sg_cbor_dec d;

			out = malloc(mlen);
			assert_int_equal(sg_test_cbor_reencode(mut, mlen, out, mlen),
					 (long)mlen);
			assert_memory_equal(out, mut, mlen);
			free(out);
			sg_cbor_dec_init(&d, mut, mlen);
			assert_int_equal(sg_cbor_skip(&d), 0);
			assert_int_equal(sg_cbor_dec_done(&d), 0);
			accepted++;
		} else {
			assert_true(
			    rc == SG_ERR_TRUNCATED || rc == SG_ERR_MALFORMED ||
			    rc == SG_ERR_NONCANONICAL ||
			    rc == SG_ERR_UNSUPPORTED || rc == SG_ERR_TRAILING ||
			    rc == SG_ERR_DEPTH || rc == SG_ERR_RANGE);
			rejected++;
		}
		free(mut);
		free(enc);
		node_free(n);
	}
	assert_true(accepted > 100);
	assert_true(rejected > 100);
}

/* ---- rejection classes, one hand-made example each */

static void test_reject_unsupported(void **state)
{
	(void)state;
	expect("c06161", SG_ERR_UNSUPPORTED);		      /* tag 0 */
	expect("c249010000000000000000", SG_ERR_UNSUPPORTED); /* bignum */
	expect("c349010000000000000000", SG_ERR_UNSUPPORTED); /* -bignum */
	expect("d9d9f700", SG_ERR_UNSUPPORTED);	  /* self-describe tag */
	expect("c2", SG_ERR_UNSUPPORTED);	  /* a tag, even cut short */
	expect("f90000", SG_ERR_UNSUPPORTED);	  /* half float */
	expect("fa47c35000", SG_ERR_UNSUPPORTED); /* single */
	expect("fb3ff199999999999a", SG_ERR_UNSUPPORTED); /* double */
	expect("f7", SG_ERR_UNSUPPORTED);		  /* undefined */
	expect("e0", SG_ERR_UNSUPPORTED);		  /* simple(0) */
	expect("f3", SG_ERR_UNSUPPORTED);		  /* simple(19) */
	expect("f820", SG_ERR_UNSUPPORTED);		  /* simple(32) */
	expect("f8ff", SG_ERR_UNSUPPORTED);		  /* simple(255) */
	expect("8201f7", SG_ERR_UNSUPPORTED);		  /* nested */
}

static void test_reject_malformed(void **state)
{
	(void)state;
	/* Two-byte simple values below 32 (RFC 8949 section 3.3). */
	expect("f800", SG_ERR_MALFORMED);
	expect("f814", SG_ERR_MALFORMED); /* even "false" in two bytes */
	expect("f818", SG_ERR_MALFORMED);
	expect("f81f", SG_ERR_MALFORMED);
	/* Reserved additional information 28-30, every major type. */
	expect("1c", SG_ERR_MALFORMED);
	expect("3d", SG_ERR_MALFORMED);
	expect("5e", SG_ERR_MALFORMED);
	expect("7c", SG_ERR_MALFORMED);
	expect("9d", SG_ERR_MALFORMED);
	expect("be", SG_ERR_MALFORMED);
	expect("dc", SG_ERR_MALFORMED);
	expect("fd", SG_ERR_MALFORMED);
	/* Indefinite length where none exists, and a stray break. */
	expect("1f", SG_ERR_MALFORMED);
	expect("3f", SG_ERR_MALFORMED);
	expect("df", SG_ERR_MALFORMED);
	expect("ff", SG_ERR_MALFORMED);
	expect("8201ff", SG_ERR_MALFORMED);
}

static void test_reject_utf8(void **state)
{
	static const char *bad[] = {
	    "6180",		    /* lone continuation byte */
	    "61bf",	  "62c080", /* overlong NUL */
	    "62c1bf",		    /* overlong U+007F */
	    "63e08080",		    /* overlong 3-byte */
	    "63e09fbf",		    /* overlong U+07FF */
	    "63eda080",		    /* surrogate U+D800 */
	    "63edbfbf",		    /* surrogate U+DFFF */
	    "64f0808080",	    /* overlong 4-byte */
	    "64f08fbfbf",	    /* overlong U+FFFF */
	    "64f4908080",	    /* U+110000 */
	    "64f7bfbfbf",	    /* U+1FFFFF */
	    "61f5",	  "61f8",   "61fe",
	    "61ff",	  "62c328", /* bad continuation */
	    "62e282",		    /* sequence cut by the string end */
	    "6461e28228",	    /* bad third byte */
	    "63f09080",		    /* 4-byte sequence cut short */
	    "a16261c000",	    /* in a map key */
	};
	static const char *good[] = {
	    "6100",
	    "617f",
	    "62c280",
	    "62dfbf",
	    "63e0a080",
	    "63ed9fbf",
	    "63ee8080",
	    "63efbfbf",
	    "64f0908080",
	    "64f48fbfbf",
	    "6b68656c6c6f20776f726c64", /* ASCII, past the 8-byte step */
	};
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect(bad[i], SG_ERR_MALFORMED);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		expect(good[i], 0);
	/* Long ASCII runs with a bad byte at every position. */
	for (i = 0; i < 40; i++) {
		uint8_t s[41];
		memset(s, 'a', sizeof(s));
		assert_int_equal(sg_cbor_utf8_check(s, sizeof(s)), 0);
		s[i] = 0x80;
		assert_int_equal(sg_cbor_utf8_check(s, sizeof(s)),
				 SG_ERR_MALFORMED);
		/* The checker stops at the given length. */
		assert_int_equal(sg_cbor_utf8_check(s, i), 0);
	}
}

static void test_reject_noncanonical(void **state)
{
	(void)state;
	/* Arguments not in shortest form, each width and type. */
	expect("1817", SG_ERR_NONCANONICAL);
	expect("1800", SG_ERR_NONCANONICAL);
	expect("1900ff", SG_ERR_NONCANONICAL);
	expect("1a0000ffff", SG_ERR_NONCANONICAL);
	expect("1b00000000ffffffff", SG_ERR_NONCANONICAL);
	expect("3817", SG_ERR_NONCANONICAL);
	expect("5800", SG_ERR_NONCANONICAL);
	expect("780161", SG_ERR_NONCANONICAL);
	expect("9800", SG_ERR_NONCANONICAL);
	expect("b800", SG_ERR_NONCANONICAL);
	expect("81190001", SG_ERR_NONCANONICAL);
	/* ... while the smallest value of each width is accepted. */
	expect("1818", 0);
	expect("190100", 0);
	expect("1a00010000", 0);
	expect("1b0000000100000000", 0);
	expect("3b0000000100000000", 0);
	/* Indefinite-length strings, arrays, maps. */
	expect("5f4101ff", SG_ERR_NONCANONICAL);
	expect("7fff", SG_ERR_NONCANONICAL);
	expect("9fff", SG_ERR_NONCANONICAL);
	expect("bfff", SG_ERR_NONCANONICAL);
	expect("819f00ff", SG_ERR_NONCANONICAL);
	/* Map keys: strictly increasing bytewise order of encodings. */
	expect("a201000200", 0);
	expect("a202000100", SG_ERR_NONCANONICAL);
	expect("a201000100", SG_ERR_NONCANONICAL);     /* duplicate */
	expect("a3010002000100", SG_ERR_NONCANONICAL); /* dup not adjacent */
	expect("a218180020f6", 0); /* 24 (18 18) before -1 (20) */
	expect("a22000181800", SG_ERR_NONCANONICAL);
	expect("a2616200626161f5", 0); /* "b" sorts before "aa" */
	expect("a262616100616200", SG_ERR_NONCANONICAL);
	expect("a20a006161f6", 0);     /* 10 before "a" */
	expect("a2810100820000f4", 0); /* [1] before [0, 0] */
	expect("a2820000f4810100", SG_ERR_NONCANONICAL);
	/* Same key in different maps is fine; order is checked in
	 * nested maps too, and per map. */
	expect("82a10100a10100", 0);
	expect("81a202000100", SG_ERR_NONCANONICAL);
	expect("a201a20200010002a0", SG_ERR_NONCANONICAL);
	expect("a201a20100020002a0", 0);
	/* A map as a key, compared by its whole encoding. */
	expect("a2a1010000a1020000", 0);
	expect("a2a1020000a1010000", SG_ERR_NONCANONICAL);
}

static void test_reject_truncated_trailing(void **state)
{
	(void)state;
	expect("", SG_ERR_TRUNCATED);
	expect("18", SG_ERR_TRUNCATED);
	expect("1901", SG_ERR_TRUNCATED);
	expect("1b00000000000000", SG_ERR_TRUNCATED);
	expect("41", SG_ERR_TRUNCATED);
	expect("62c3", SG_ERR_TRUNCATED);
	expect("5affffffff00", SG_ERR_TRUNCATED);
	expect("8200", SG_ERR_TRUNCATED);
	expect("a100", SG_ERR_TRUNCATED);
	expect("a20000", SG_ERR_TRUNCATED);
	expect("f8", SG_ERR_TRUNCATED);
	/* A declared length of 2^63 (and 2^64 - 1) never reaches memcpy or
	 * pointer arithmetic. */
	expect("5b800000000000000000", SG_ERR_TRUNCATED);
	expect("7b8000000000000000616161", SG_ERR_TRUNCATED);
	expect("5bffffffffffffffff00", SG_ERR_TRUNCATED);
	expect("9b8000000000000000000000", SG_ERR_TRUNCATED);
	expect("bb8000000000000000000000", SG_ERR_TRUNCATED);
	expect("bbffffffffffffffff0000", SG_ERR_TRUNCATED);
	expect("9bffffffffffffffff", SG_ERR_TRUNCATED);

	expect("0000", SG_ERR_TRAILING);
	expect("80ff", SG_ERR_TRAILING);
	expect("a0a0", SG_ERR_TRAILING);
	expect("f6f6", SG_ERR_TRAILING);
	assert_int_equal(sg_cbor_validate(NULL, 0, NULL), SG_ERR_TRUNCATED);
	assert_int_equal(sg_cbor_validate(NULL, 5, NULL), SG_ERR_INVAL);
}

static char *nested_hex(size_t depth, const char *open, const char *leaf)
{
	size_t ol = strlen(open), ll = strlen(leaf);
	char *s = malloc(depth * ol + ll + 1);
	size_t i;

	for (i = 0; i < depth; i++)
		memcpy(s + i * ol, open, ol);
	memcpy(s + depth * ol, leaf, ll + 1);
	return s;
}

static void test_limits(void **state)
{
	char *h;
	size_t len, i;
	uint8_t *b;
	sg_cbor_dec d;
	sg_cbor_limits lim;
	(void)state;

	sg_cbor_limits_default(&lim);
	assert_int_equal(lim.max_depth, 16);
	assert_int_equal(lim.max_items, 4096);

	/* Default depth 16: 16 nested arrays pass, 17 fail. */
	h = nested_hex(16, "81", "00");
	expect(h, 0);
	free(h);
	h = nested_hex(17, "81", "00");
	expect(h, SG_ERR_DEPTH);
	free(h);
	/* An empty container counts as a level too. */
	h = nested_hex(16, "81", "80");
	expect(h, SG_ERR_DEPTH);
	free(h);
	h = nested_hex(16, "a100", "a0");
	expect(h, SG_ERR_DEPTH);
	free(h);
	/* Depth 0: scalars only. */
	assert_int_equal(validate_hex_lim("00", 0, 10), 0);
	assert_int_equal(validate_hex_lim("80", 0, 10), SG_ERR_DEPTH);
	assert_int_equal(validate_hex_lim("a0", 0, 10), SG_ERR_DEPTH);
	assert_int_equal(validate_hex_lim("80", 1, 10), 0);
	/* The fixed stack's full size, and no more. */
	h = nested_hex(SG_CBOR_MAX_DEPTH, "81", "00");
	assert_int_equal(validate_hex_lim(h, SG_CBOR_MAX_DEPTH, 1000), 0);
	assert_int_equal(validate_hex_lim(h, SG_CBOR_MAX_DEPTH + 1, 1000),
			 SG_ERR_INVAL);
	assert_int_equal(validate_hex_lim(h, SG_CBOR_MAX_DEPTH - 1, 1000),
			 SG_ERR_DEPTH);
	free(h);

	/* Items: 1 array + 4095 elements = 4096 pass; one more fails. */
	b = malloc(3 + 4096);
	b[0] = 0x99;
	b[1] = 0x0f;
	b[2] = 0xff;
	memset(b + 3, 0, 4096);
	assert_int_equal(sg_cbor_validate(b, 3 + 4095, NULL), 0);
	b[2] = 0x00;
	b[1] = 0x10;
	assert_int_equal(sg_cbor_validate(b, 3 + 4096, NULL), SG_ERR_RANGE);
	lim.max_depth = 1;
	lim.max_items = 4097;
	assert_int_equal(sg_cbor_validate(b, 3 + 4096, &lim), 0);
	lim.max_items = 0;
	assert_int_equal(sg_cbor_validate(b, 3 + 4096, &lim), SG_ERR_RANGE);
	free(b);
	/* Items nested in many small containers count as well. */
	assert_int_equal(validate_hex_lim("8281008100", 4, 5), 0);
	assert_int_equal(validate_hex_lim("8281008100", 4, 4), SG_ERR_RANGE);
	assert_int_equal(validate_hex_lim("a1010a", 4, 3), 0);
	assert_int_equal(validate_hex_lim("a1010a", 4, 2), SG_ERR_RANGE);

	/* Very deep nesting: the validator stops at its limit and the
	 * skipper, which has none, needs no recursion. */
	len = 200001;
	b = malloc(len);
	memset(b, 0x81, len - 1);
	b[len - 1] = 0x00;
	assert_int_equal(sg_cbor_validate(b, len, NULL), SG_ERR_DEPTH);
	sg_cbor_dec_init(&d, b, len);
	assert_int_equal(sg_cbor_skip(&d), 0);
	assert_int_equal(sg_cbor_dec_done(&d), 0);
	sg_cbor_dec_init(&d, b, len - 1);
	assert_int_equal(sg_cbor_skip(&d), SG_ERR_TRUNCATED);
	free(b);

	/* Counts far beyond the input are refused before any child. */
	for (i = 0; i < 2; i++) {
		b = hexbuf(i ? "9a00010000" : "ba00010000", &len);
		assert_int_equal(sg_cbor_validate(b, len, NULL),
				 SG_ERR_TRUNCATED);
		free(b);
	}
}

/* ---- pull decoder */

static void test_getters(void **state)
{
	/* [0, 2^63-1, 2^63, -2^63, -2^63-1, h'0102', "hi", true, null, {1: []}]
	 */
	const char *hex = "8a00"
			  "1b7fffffffffffffff"
			  "1b8000000000000000"
			  "3b7fffffffffffffff"
			  "3b8000000000000000"
			  "420102"
			  "626869"
			  "f5"
			  "f6"
			  "a10180";
	size_t len, n;
	uint8_t *b = hexbuf(hex, &len);
	sg_cbor_dec d, save;
	sg_cbor_item it;
	uint64_t u;
	int64_t s;
	const uint8_t *p;
	const char *t;
	int v;
	(void)state;

	assert_int_equal(sg_cbor_validate(b, len, NULL), 0);
	sg_cbor_dec_init(&d, b, len);
	/* Wrong type: SG_ERR_TYPE and the cursor stays. */
	save = d;
	assert_int_equal(sg_cbor_get_map(&d, &n), SG_ERR_TYPE);
	assert_int_equal(sg_cbor_get_uint(&d, &u), SG_ERR_TYPE);
	assert_int_equal(sg_cbor_get_null(&d), SG_ERR_TYPE);
	assert_ptr_equal(d.p, save.p);
	assert_int_equal(sg_cbor_peek(&d, &it), 0);
	assert_int_equal(it.type, SG_CBOR_ARRAY);
	assert_ptr_equal(d.p, save.p);
	assert_int_equal(sg_cbor_get_array(&d, &n), 0);
	assert_int_equal(n, 10);
	assert_int_equal(sg_cbor_get_int(&d, &s), 0);
	assert_true(s == 0);
	assert_int_equal(sg_cbor_get_int(&d, &s), 0);
	assert_true(s == INT64_MAX);
	save = d;
	assert_int_equal(sg_cbor_get_int(&d, &s), SG_ERR_RANGE);
	assert_ptr_equal(d.p, save.p);
	assert_int_equal(sg_cbor_get_uint(&d, &u), 0);
	assert_true(u == UINT64_C(0x8000000000000000));
	assert_int_equal(sg_cbor_get_uint(&d, &u), SG_ERR_TYPE);
	assert_int_equal(sg_cbor_get_int(&d, &s), 0);
	assert_true(s == INT64_MIN);
	assert_int_equal(sg_cbor_get_int(&d, &s), SG_ERR_RANGE);
	assert_int_equal(sg_cbor_next(&d, &it), 0);
	assert_int_equal(it.type, SG_CBOR_NINT);
	assert_true(it.val == UINT64_C(0x8000000000000000));
	save = d;
	assert_int_equal(sg_cbor_get_bytes_len(&d, &p, 3), SG_ERR_RANGE);
	assert_ptr_equal(d.p, save.p);
	assert_int_equal(sg_cbor_get_text(&d, &t, &n), SG_ERR_TYPE);
	assert_int_equal(sg_cbor_get_bytes_len(&d, &p, 2), 0);
	assert_int_equal(p[0], 1);
	assert_int_equal(p[1], 2);
	assert_ptr_equal(p, d.p - 2); /* a view, not a copy */
	assert_int_equal(sg_cbor_get_bytes(&d, &p, &n), SG_ERR_TYPE);
	assert_int_equal(sg_cbor_get_text(&d, &t, &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(t, "hi", 2);
	assert_int_equal(sg_cbor_get_bool(&d, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(sg_cbor_get_bool(&d, &v), SG_ERR_TYPE);
	assert_int_equal(sg_cbor_dec_done(&d), SG_ERR_TRAILING);
	assert_int_equal(sg_cbor_get_null(&d), 0);
	assert_int_equal(sg_cbor_get_map(&d, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(sg_cbor_get_uint(&d, &u), 0);
	assert_int_equal(sg_cbor_get_array(&d, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(sg_cbor_dec_done(&d), 0);
	/* At the end: truncated, cursor stays. */
	assert_int_equal(sg_cbor_next(&d, &it), SG_ERR_TRUNCATED);
	assert_int_equal(sg_cbor_get_uint(&d, &u), SG_ERR_TRUNCATED);
	assert_int_equal(sg_cbor_skip(&d), SG_ERR_TRUNCATED);
	assert_int_equal(sg_cbor_dec_done(&d), 0);
	free(b);

	/* A NULL buffer is an empty one. */
	sg_cbor_dec_init(&d, NULL, 0);
	assert_int_equal(sg_cbor_next(&d, &it), SG_ERR_TRUNCATED);
	assert_int_equal(sg_cbor_dec_done(&d), 0);
}

/* Without the validator, the pull decoder still refuses non-canonical heads,
 * unsupported items and out-of-bounds lengths; only key order is left. */
static void test_decoder_alone(void **state)
{
	static const struct {
		const char *hex;
		int err;
	} cases[] = {
	    {"1817", SG_ERR_NONCANONICAL},
	    {"9f", SG_ERR_NONCANONICAL},
	    {"5800", SG_ERR_NONCANONICAL},
	    {"c0", SG_ERR_UNSUPPORTED},
	    {"f97c00", SG_ERR_UNSUPPORTED},
	    {"f818", SG_ERR_MALFORMED},
	    {"1e", SG_ERR_MALFORMED},
	    {"ff", SG_ERR_MALFORMED},
	    {"62c0af", SG_ERR_MALFORMED},
	    {"5b8000000000000000", SG_ERR_TRUNCATED},
	    {"43010203", 0},
	    {"a20100", SG_ERR_TRUNCATED},
	};
	size_t i, len;
	(void)state;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *b = hexbuf(cases[i].hex, &len);
		sg_cbor_dec d;
		sg_cbor_item it;

		sg_cbor_dec_init(&d, b, len);
		assert_int_equal(sg_cbor_next(&d, &it), cases[i].err);
		if (cases[i].err != 0)
			assert_ptr_equal(d.p, b);
		free(b);
	}
	/* Key order is the validator's job (documented). */
	{
		uint8_t *b = hexbuf("a202000100", &len);
		sg_cbor_dec d;

		sg_cbor_dec_init(&d, b, len);
		assert_int_equal(sg_cbor_skip(&d), 0);
		assert_int_equal(sg_cbor_validate(b, len, NULL),
				 SG_ERR_NONCANONICAL);
		free(b);
	}
}

/* ---- encoder */

static void enc_expect(void (*fill)(sg_cbor_enc *), const char *hex)
{
	uint8_t buf[64];
	size_t len;
	uint8_t *exp = hexbuf(hex, &len);
	sg_cbor_enc e;

	sg_cbor_enc_init(&e, buf, sizeof(buf));
	fill(&e);
	assert_int_equal(sg_cbor_enc_finish(&e), (long)len);
	assert_memory_equal(buf, exp, len);
	sg_cbor_enc_init(&e, NULL, 0);
	fill(&e);
	assert_int_equal(sg_cbor_enc_finish(&e), (long)len);
	free(exp);
}

static void f_uints(sg_cbor_enc *e)
{
	sg_cbor_put_uint(e, 0);
	sg_cbor_put_uint(e, 23);
	sg_cbor_put_uint(e, 24);
	sg_cbor_put_uint(e, 255);
	sg_cbor_put_uint(e, 256);
	sg_cbor_put_uint(e, 65535);
	sg_cbor_put_uint(e, 65536);
	sg_cbor_put_uint(e, 0xffffffff);
	sg_cbor_put_uint(e, UINT64_C(0x100000000));
	sg_cbor_put_uint(e, UINT64_MAX);
}

static void f_ints(sg_cbor_enc *e)
{
	sg_cbor_put_int(e, -1);
	sg_cbor_put_int(e, -24);
	sg_cbor_put_int(e, -25);
	sg_cbor_put_int(e, -256);
	sg_cbor_put_int(e, -257);
	sg_cbor_put_int(e, INT64_MIN);
	sg_cbor_put_int(e, INT64_MAX);
	sg_cbor_put_nint_arg(e, UINT64_MAX); /* -2^64 */
}

static void f_misc(sg_cbor_enc *e)
{
	sg_cbor_put_map(e, 2);
	sg_cbor_put_text(e, "a", 1);
	sg_cbor_put_bytes(e, "\x01\x02", 2);
	sg_cbor_put_text(e, "\xc3\xbc", 2);
	sg_cbor_put_array(e, 4);
	sg_cbor_put_bool(e, 0);
	sg_cbor_put_bool(e, 7);
	sg_cbor_put_null(e);
	sg_cbor_put_bytes(e, NULL, 0);
}

static void test_encoder_forms(void **state)
{
	(void)state;
	enc_expect(f_uints, "00"
			    "17"
			    "1818"
			    "18ff"
			    "190100"
			    "19ffff"
			    "1a00010000"
			    "1affffffff"
			    "1b0000000100000000"
			    "1bffffffffffffffff");
	enc_expect(f_ints, "20"
			   "37"
			   "3818"
			   "38ff"
			   "390100"
			   "3b7fffffffffffffff"
			   "1b7fffffffffffffff"
			   "3bffffffffffffffff");
	enc_expect(f_misc, "a2616142010262c3bc84f4f5f640");
}

static void test_encoder_errors(void **state)
{
	uint8_t buf[16];
	sg_cbor_enc e;
	(void)state;

	/* Invalid UTF-8 and NULL with a length are refused, sticky. */
	sg_cbor_enc_init(&e, buf, sizeof(buf));
	sg_cbor_put_text(&e, "\xed\xa0\x80", 3);
	sg_cbor_put_uint(&e, 1);
	assert_int_equal(sg_cbor_enc_finish(&e), SG_ERR_INVAL);
	assert_int_equal(e.len, 0);
	sg_cbor_enc_init(&e, buf, sizeof(buf));
	sg_cbor_put_bytes(&e, NULL, 3);
	assert_int_equal(sg_cbor_enc_finish(&e), SG_ERR_INVAL);
	sg_cbor_enc_init(&e, buf, sizeof(buf));
	sg_cbor_put_text(&e, NULL, 1);
	assert_int_equal(sg_cbor_enc_finish(&e), SG_ERR_INVAL);
	/* INVAL outranks BUFSIZE (a bigger buffer would not help). */
	sg_cbor_enc_init(&e, buf, 1);
	sg_cbor_put_uint(&e, 1000);
	sg_cbor_put_text(&e, "\xff", 1);
	assert_int_equal(sg_cbor_enc_finish(&e), SG_ERR_INVAL);
	/* BUFSIZE keeps counting the size needed. */
	sg_cbor_enc_init(&e, buf, 2);
	sg_cbor_put_uint(&e, 1000);
	sg_cbor_put_uint(&e, 1);
	assert_int_equal(sg_cbor_enc_finish(&e), SG_ERR_BUFSIZE);
	assert_int_equal(e.len, 4);
	/* A size that cannot be represented. */
	sg_cbor_enc_init(&e, NULL, 0);
	e.len = SIZE_MAX - 1;
	sg_cbor_put_uint(&e, 1000);
	assert_int_equal(sg_cbor_enc_finish(&e), SG_ERR_RANGE);
	sg_cbor_enc_init(&e, NULL, 0);
	e.len = (size_t)LONG_MAX;
	sg_cbor_put_null(&e);
	assert_int_equal(sg_cbor_enc_finish(&e), SG_ERR_RANGE);
}

/* Every buffer size below the need: SG_ERR_BUFSIZE, nothing written outside
 * the buffer (canaries on both sides), and len reports the full size. */
static void test_encoder_canaries(void **state)
{
	sg_test_rng r;
	size_t iter, cap, i;
	(void)state;

	sg_test_rng_seed(&r, 99);
	for (iter = 0; iter < 60; iter++) {
		node *n = gen(&r, 1);
		uint8_t *enc, *area;
		long len = encode_alloc(n, &enc);
		size_t L = (size_t)len;

		area = malloc(L + 32);
		for (cap = 0; cap <= L; cap++) {
			sg_cbor_enc e;

			memset(area, 0xa5, L + 32);
			sg_cbor_enc_init(&e, area + 16, cap);
			node_encode(&e, n);
			for (i = 0; i < 16; i++)
				assert_int_equal(area[i], 0xa5);
			for (i = 16 + cap; i < L + 32; i++)
				assert_int_equal(area[i], 0xa5);
			assert_int_equal(e.len, L);
			if (cap < L) {
				assert_int_equal(sg_cbor_enc_finish(&e),
						 SG_ERR_BUFSIZE);
			} else {
				assert_int_equal(sg_cbor_enc_finish(&e), len);
				assert_memory_equal(area + 16, enc, L);
			}
		}
		free(area);
		free(enc);
		node_free(n);
	}
}

/* Pre-encoded items, appended from elsewhere or already in place. */
static void test_put_encoded(void **state)
{
	uint8_t inner[16], buf[32], ref[32];
	sg_cbor_enc e;
	long n, m;
	(void)state;

	sg_cbor_enc_init(&e, inner, sizeof(inner));
	sg_cbor_put_array(&e, 2);
	sg_cbor_put_uint(&e, 500);
	sg_cbor_put_bool(&e, 1);
	n = sg_cbor_enc_finish(&e);
	assert_true(n > 0);
	/* Reference: the same structure encoded directly. */
	sg_cbor_enc_init(&e, ref, sizeof(ref));
	sg_cbor_put_array(&e, 2);
	sg_cbor_put_array(&e, 2);
	sg_cbor_put_uint(&e, 500);
	sg_cbor_put_bool(&e, 1);
	sg_cbor_put_null(&e);
	m = sg_cbor_enc_finish(&e);
	/* From another buffer. */
	sg_cbor_enc_init(&e, buf, sizeof(buf));
	sg_cbor_put_array(&e, 2);
	sg_cbor_put_encoded(&e, inner, (size_t)n);
	sg_cbor_put_null(&e);
	assert_int_equal(sg_cbor_enc_finish(&e), m);
	assert_memory_equal(buf, ref, (size_t)m);
	/* In place: the inner item was written at the position it takes. */
	memset(buf, 0, sizeof(buf));
	memcpy(buf + 1, inner, (size_t)n);
	sg_cbor_enc_init(&e, buf, sizeof(buf));
	sg_cbor_put_array(&e, 2);
	sg_cbor_put_encoded(&e, buf + 1, (size_t)n);
	sg_cbor_put_null(&e);
	assert_int_equal(sg_cbor_enc_finish(&e), m);
	assert_memory_equal(buf, ref, (size_t)m);
	assert_int_equal(sg_cbor_validate(buf, (size_t)m, NULL), 0);
	/* Too small a buffer, and NULL with a length. */
	sg_cbor_enc_init(&e, buf, 3);
	sg_cbor_put_encoded(&e, inner, (size_t)n);
	assert_int_equal(sg_cbor_enc_finish(&e), SG_ERR_BUFSIZE);
	sg_cbor_enc_init(&e, buf, sizeof(buf));
	sg_cbor_put_encoded(&e, NULL, 1);
	assert_int_equal(sg_cbor_enc_finish(&e), SG_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_roundtrip),
	    cmocka_unit_test(test_truncations),
	    cmocka_unit_test(test_mutations),
	    cmocka_unit_test(test_reject_unsupported),
	    cmocka_unit_test(test_reject_malformed),
	    cmocka_unit_test(test_reject_utf8),
	    cmocka_unit_test(test_reject_noncanonical),
	    cmocka_unit_test(test_reject_truncated_trailing),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_getters),
	    cmocka_unit_test(test_decoder_alone),
	    cmocka_unit_test(test_encoder_forms),
	    cmocka_unit_test(test_encoder_errors),
	    cmocka_unit_test(test_encoder_canaries),
	    cmocka_unit_test(test_put_encoded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
