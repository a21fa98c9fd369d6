/*
 * Strict deterministic CBOR codec: RFC 8949 section 3 (heads, major types
 * 0-5 and the simple values false/true/null of section 3.3), restricted to
 * the "core deterministic encoding" of section 4.2.1 (shortest arguments,
 * definite lengths only, map keys sorted bytewise by their encodings), with
 * the well-formedness rules of appendix F and UTF-8 as RFC 3629 defines it.
 * One routine, decode_item(), reads a head (and a string's body) with every
 * bound checked before use; the validator, the pull decoder and the skipper
 * all go through it, so they agree on what is accepted. Nothing allocates
 * and nothing recurses: the validator keeps a fixed stack of open
 * containers.
 */
#include "sg/cbor.h"
#include "sg/err.h"

#include <limits.h>
#include <string.h>

/* ---- UTF-8 (RFC 3629 section 4) ----------------------------------------- */

int sg_cbor_utf8_check(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i], lo = 0x80, hi = 0xbf;
		size_t n, k;

		if (c < 0x80) {
			/* ASCII runs, eight bytes at a time. */
			i++;
			while (len - i >= 8) {
				uint64_t w;
				memcpy(&w, s + i, 8);
				if (w & UINT64_C(0x8080808080808080))
					break;
				i += 8;
			}
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			if (c == 0xe0)
				lo = 0xa0; /* overlong */
			else if (c == 0xed)
				hi = 0x9f; /* surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			if (c == 0xf0)
				lo = 0x90; /* overlong */
			else if (c == 0xf4)
				hi = 0x8f; /* above U+10FFFF */
		} else {
			/* 80-bf continuation, c0/c1 overlong, f5-ff */
			return SG_ERR_MALFORMED;
		}
		if (len - i - 1 < n)
			return SG_ERR_MALFORMED;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return SG_ERR_MALFORMED;
		for (k = 2; k <= n; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return SG_ERR_MALFORMED;
		i += n + 1;
	}
	return 0;
}

/* ---- Decoding ------------------------------------------------------------ */

/* Smallest argument that needs additional information 24, 25, 26, 27. */
static const uint64_t min_arg[4] = {24, 0x100, 0x10000, UINT64_C(0x100000000)};

static uint64_t load_be(const uint8_t *p, unsigned ai)
{
	switch (ai) {
	case 24:
		return p[0];
	case 25:
		return (uint64_t)p[0] << 8 | p[1];
	case 26:
		return (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 |
		       (uint64_t)p[2] << 8 | p[3];
	default:
		return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 |
		       (uint64_t)p[2] << 40 | (uint64_t)p[3] << 32 |
		       (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
		       (uint64_t)p[6] << 8 | p[7];
	}
}

/* Major type 7 (RFC 8949 section 3.3): only false, true and null. */
static int decode_simple(const uint8_t *p, const uint8_t *end, unsigned ai,
			 sg_cbor_item *it, const uint8_t **after)
{
	switch (ai) {
	case 20:
	case 21:
		it->type = SG_CBOR_BOOL;
		it->val = ai - 20u;
		break;
	case 22:
		it->type = SG_CBOR_NULL;
		it->val = 0;
		break;
	case 24:
		/* f8 xx: values below 32 are not well-formed (section 3.3);
		 * the others are simple values we do not support. */
		if (p == end)
			return SG_ERR_TRUNCATED;
		return *p < 32 ? SG_ERR_MALFORMED : SG_ERR_UNSUPPORTED;
	default:
		/* 0-19 unassigned, 23 undefined, 25-27 floats */
		return SG_ERR_UNSUPPORTED;
	}
	it->ptr = NULL;
	*after = p;
	return 0;
}

/*
 * Reads the item starting at p (p < end unless truncated): its head and, for
 * a string, its body; containers only their head. *after gets the first byte
 * past what was read. Every declared length or count is compared with what
 * remains before it is used.
 */
static int decode_item(const uint8_t *p, const uint8_t *end, sg_cbor_item *it,
		       const uint8_t **after)
{
	unsigned ib, major, ai;
	uint64_t arg;
	size_t left;

	if (p == end)
		return SG_ERR_TRUNCATED;
	ib = *p++;
	major = ib >> 5;
	ai = ib & 31u;
	if (ai >= 28) {
		/* 31 on a string, array or map is an indefinite length:
		 * well-formed, never deterministic (section 4.2.1). 31 on
		 * 0, 1, 6 and the break code 0xff on its own, and 28-30
		 * anywhere, are not well-formed (appendix F). */
		if (ai == 31 && major >= 2 && major <= 5)
			return SG_ERR_NONCANONICAL;
		return SG_ERR_MALFORMED;
	}
	if (major == 6)
		return SG_ERR_UNSUPPORTED; /* tags, bignums included */
	if (major == 7)
		return decode_simple(p, end, ai, it, after);

	left = (size_t)(end - p);
	if (ai < 24) {
		arg = ai;
	} else {
		size_t n = (size_t)1 << (ai - 24);

		if (left < n)
			return SG_ERR_TRUNCATED;
		arg = load_be(p, ai);
		if (arg < min_arg[ai - 24])
			return SG_ERR_NONCANONICAL;
		p += n;
		left -= n;
	}

	it->type = (sg_cbor_type)major;
	it->val = arg;
	it->ptr = NULL;
	switch (major) {
	case 2:
	case 3:
		if (arg > left)
			return SG_ERR_TRUNCATED;
		if (major == 3 && sg_cbor_utf8_check(p, (size_t)arg) != 0)
			return SG_ERR_MALFORMED;
		it->ptr = p;
		p += (size_t)arg;
		break;
	case 4:
		/* Every element takes at least one byte. */
		if (arg > left)
			return SG_ERR_TRUNCATED;
		break;
	case 5:
		/* Every pair takes at least two. */
		if (arg > left / 2)
			return SG_ERR_TRUNCATED;
		break;
	default:
		break;
	}
	*after = p;
	return 0;
}

void sg_cbor_limits_default(sg_cbor_limits *limits)
{
	limits->max_depth = SG_CBOR_DEFAULT_MAX_DEPTH;
	limits->max_items = SG_CBOR_DEFAULT_MAX_ITEMS;
}

/* An open container in the validator. */
struct frame {
	uint64_t left;	    /* children still to come (2 per map pair) */
	const uint8_t *key; /* the previous key's encoding, or NULL */
	size_t key_len;
	const uint8_t *cur; /* where the key being read started */
	int is_map;
};

/* Is a strictly before b in bytewise lexicographic order (section 4.2.1)?
 * A proper prefix sorts first. */
static int key_less(const uint8_t *a, size_t alen, const uint8_t *b,
		    size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c < 0;
	return alen < blen;
}

int sg_cbor_validate(const uint8_t *buf, size_t len,
		     const sg_cbor_limits *limits)
{
	struct frame st[SG_CBOR_MAX_DEPTH + 1];
	size_t depth = 0, items = 0, max_depth, max_items;
	const uint8_t *p, *end;
	sg_cbor_item it;
	int rc;

	if (limits != NULL) {
		if (limits->max_depth > SG_CBOR_MAX_DEPTH)
			return SG_ERR_INVAL;
		max_depth = limits->max_depth;
		max_items = limits->max_items;
	} else {
		max_depth = SG_CBOR_DEFAULT_MAX_DEPTH;
		max_items = SG_CBOR_DEFAULT_MAX_ITEMS;
	}
	if (len == 0)
		return SG_ERR_TRUNCATED;
	if (buf == NULL)
		return SG_ERR_INVAL;
	p = buf;
	end = buf + len;

	/* st[0] stands for the top level: exactly one item. */
	st[0].left = 1;
	st[0].is_map = 0;
	for (;;) {
		struct frame *f = &st[depth];
		const uint8_t *start = p;

		if (items == max_items)
			return SG_ERR_RANGE;
		items++;
		rc = decode_item(p, end, &it, &p);
		if (rc != 0)
			return rc;
		if (f->is_map && (f->left & 1) == 0)
			f->cur = start;
		if (it.type == SG_CBOR_ARRAY || it.type == SG_CBOR_MAP) {
			uint64_t n = it.val;

			if (depth == max_depth)
				return SG_ERR_DEPTH;
			if (it.type == SG_CBOR_MAP)
				n *= 2; /* n <= len / 2: cannot wrap */
			/* Reject a count the item limit cannot hold before
			 * reading its children. */
			if (n > max_items - items)
				return SG_ERR_RANGE;
			if (n != 0) {
				f = &st[++depth];
				f->left = n;
				f->key = NULL;
				f->key_len = 0;
				f->cur = NULL;
				f->is_map = it.type == SG_CBOR_MAP;
				continue;
			}
		}
		/* The item is complete; so may be its enclosing containers. */
		for (;;) {
			f = &st[depth];
			if (f->is_map && (f->left & 1) == 0) {
				size_t klen = (size_t)(p - f->cur);

				if (f->key != NULL &&
				    !key_less(f->key, f->key_len, f->cur, klen))
					return SG_ERR_NONCANONICAL;
				f->key = f->cur;
				f->key_len = klen;
			}
			if (--f->left != 0)
				break;
			if (depth == 0)
				return p == end ? 0 : SG_ERR_TRAILING;
			depth--;
		}
	}
}

void sg_cbor_dec_init(sg_cbor_dec *d, const uint8_t *buf, size_t len)
{
	d->p = buf;
	d->end = buf == NULL ? buf : buf + len;
}

int sg_cbor_next(sg_cbor_dec *d, sg_cbor_item *it)
{
	const uint8_t *p;
	int rc = decode_item(d->p, d->end, it, &p);

	if (rc == 0)
		d->p = p;
	return rc;
}

int sg_cbor_peek(const sg_cbor_dec *d, sg_cbor_item *it)
{
	const uint8_t *p;

	return decode_item(d->p, d->end, it, &p);
}

int sg_cbor_skip(sg_cbor_dec *d)
{
	const uint8_t *p = d->p;
	uint64_t pending = 1;
	sg_cbor_item it;
	int rc;

	while (pending != 0) {
		rc = decode_item(p, d->end, &it, &p);
		if (rc != 0)
			return rc;
		pending--;
		if (it.type == SG_CBOR_ARRAY)
			pending += it.val;
		else if (it.type == SG_CBOR_MAP)
			pending += 2 * it.val;
		/* Each pending item needs a byte: this also keeps the
		 * counter far from wrapping. */
		if (pending > (uint64_t)(d->end - p))
			return SG_ERR_TRUNCATED;
	}
	d->p = p;
	return 0;
}

static int get_typed(sg_cbor_dec *d, sg_cbor_type type, sg_cbor_item *it)
{
	const uint8_t *p;
	int rc = decode_item(d->p, d->end, it, &p);

	if (rc != 0)
		return rc;
	if (it->type != type)
		return SG_ERR_TYPE;
	d->p = p;
	return 0;
}

int sg_cbor_get_uint(sg_cbor_dec *d, uint64_t *v)
{
	sg_cbor_item it;
	int rc = get_typed(d, SG_CBOR_UINT, &it);

	if (rc == 0)
		*v = it.val;
	return rc;
}

int sg_cbor_get_int(sg_cbor_dec *d, int64_t *v)
{
	const uint8_t *p;
	sg_cbor_item it;
	int rc = decode_item(d->p, d->end, &it, &p);

	if (rc != 0)
		return rc;
	if (it.type != SG_CBOR_UINT && it.type != SG_CBOR_NINT)
		return SG_ERR_TYPE;
	if (it.val > (uint64_t)INT64_MAX)
		return SG_ERR_RANGE;
	/* -1 - val >= INT64_MIN exactly when val <= INT64_MAX. */
	*v = it.type == SG_CBOR_UINT ? (int64_t)it.val : -1 - (int64_t)it.val;
	d->p = p;
	return 0;
}

int sg_cbor_get_bytes(sg_cbor_dec *d, const uint8_t **p, size_t *len)
{
	sg_cbor_item it;
	int rc = get_typed(d, SG_CBOR_BYTES, &it);

	if (rc == 0) {
		*p = it.ptr;
		*len = (size_t)it.val;
	}
	return rc;
}

int sg_cbor_get_bytes_len(sg_cbor_dec *d, const uint8_t **p, size_t exact_len)
{
	sg_cbor_dec save = *d;
	size_t len;
	int rc = sg_cbor_get_bytes(d, p, &len);

	if (rc == 0 && len != exact_len) {
		*d = save;
		return SG_ERR_RANGE;
	}
	return rc;
}

int sg_cbor_get_text(sg_cbor_dec *d, const char **p, size_t *len)
{
	sg_cbor_item it;
	int rc = get_typed(d, SG_CBOR_TEXT, &it);

	if (rc == 0) {
		*p = (const char *)it.ptr;
		*len = (size_t)it.val;
	}
	return rc;
}

int sg_cbor_get_array(sg_cbor_dec *d, size_t *count)
{
	sg_cbor_item it;
	int rc = get_typed(d, SG_CBOR_ARRAY, &it);

	if (rc == 0)
		*count = (size_t)it.val; /* <= remaining bytes */
	return rc;
}

int sg_cbor_get_map(sg_cbor_dec *d, size_t *count)
{
	sg_cbor_item it;
	int rc = get_typed(d, SG_CBOR_MAP, &it);

	if (rc == 0)
		*count = (size_t)it.val; /* <= remaining bytes / 2 */
	return rc;
}

int sg_cbor_get_bool(sg_cbor_dec *d, int *v)
{
	sg_cbor_item it;
	int rc = get_typed(d, SG_CBOR_BOOL, &it);

	if (rc == 0)
		*v = (int)it.val;
	return rc;
}

int sg_cbor_get_null(sg_cbor_dec *d)
{
	sg_cbor_item it;

	return get_typed(d, SG_CBOR_NULL, &it);
}

int sg_cbor_dec_done(const sg_cbor_dec *d)
{
	return d->p == d->end ? 0 : SG_ERR_TRAILING;
}

/* ---- Encoding ------------------------------------------------------------ */

void sg_cbor_enc_init(sg_cbor_enc *e, uint8_t *buf, size_t cap)
{
	e->buf = buf;
	e->cap = buf == NULL ? 0 : cap;
	e->len = 0;
	e->err = 0;
}

/* Records an error; one a bigger buffer would not fix wins over BUFSIZE. */
static void set_err(sg_cbor_enc *e, int err)
{
	if (e->err == 0 || e->err == SG_ERR_BUFSIZE)
		e->err = err;
}

/* Appends n bytes; past a buffer-size error it only counts them. */
static void put_raw(sg_cbor_enc *e, const void *p, size_t n)
{
	if (e->err != 0 && e->err != SG_ERR_BUFSIZE)
		return;
	if (n > SIZE_MAX - e->len) {
		set_err(e, SG_ERR_RANGE);
		return;
	}
	if (e->buf != NULL && e->err == 0) {
		if (n > e->cap - e->len)
			e->err = SG_ERR_BUFSIZE;
		else if (n != 0)
			memmove(e->buf + e->len, p, n); /* p may be in place */
	}
	e->len += n;
}

/* A head with its argument in the shortest form (section 4.2.1). */
static void put_head(sg_cbor_enc *e, unsigned major, uint64_t arg)
{
	uint8_t h[SG_CBOR_HEAD_MAX];
	uint8_t mt = (uint8_t)(major << 5);
	size_t n, i;

	if (arg < 24) {
		h[0] = (uint8_t)(mt | arg);
		n = 1;
	} else if (arg <= 0xff) {
		h[0] = (uint8_t)(mt | 24);
		n = 2;
	} else if (arg <= 0xffff) {
		h[0] = (uint8_t)(mt | 25);
		n = 3;
	} else if (arg <= 0xffffffff) {
		h[0] = (uint8_t)(mt | 26);
		n = 5;
	} else {
		h[0] = (uint8_t)(mt | 27);
		n = 9;
	}
	for (i = n - 1; i >= 1; i--) {
		h[i] = (uint8_t)arg;
		arg >>= 8;
	}
	put_raw(e, h, n);
}

void sg_cbor_put_uint(sg_cbor_enc *e, uint64_t v)
{
	put_head(e, 0, v);
}

void sg_cbor_put_int(sg_cbor_enc *e, int64_t v)
{
	if (v >= 0)
		put_head(e, 0, (uint64_t)v);
	else
		put_head(e, 1, ~(uint64_t)v); /* -1 - v */
}

void sg_cbor_put_nint_arg(sg_cbor_enc *e, uint64_t arg)
{
	put_head(e, 1, arg);
}

void sg_cbor_put_bytes(sg_cbor_enc *e, const void *p, size_t len)
{
	if (p == NULL && len != 0) {
		set_err(e, SG_ERR_INVAL);
		return;
	}
	put_head(e, 2, (uint64_t)len);
	put_raw(e, p, len);
}

void sg_cbor_put_text(sg_cbor_enc *e, const char *p, size_t len)
{
	if ((p == NULL && len != 0) ||
	    sg_cbor_utf8_check((const uint8_t *)p, len) != 0) {
		set_err(e, SG_ERR_INVAL);
		return;
	}
	put_head(e, 3, (uint64_t)len);
	put_raw(e, p, len);
}

void sg_cbor_put_encoded(sg_cbor_enc *e, const void *p, size_t len)
{
	if (p == NULL && len != 0) {
		set_err(e, SG_ERR_INVAL);
		return;
	}
	put_raw(e, p, len);
}

void sg_cbor_put_array(sg_cbor_enc *e, size_t count)
{
	put_head(e, 4, (uint64_t)count);
}

void sg_cbor_put_map(sg_cbor_enc *e, size_t count)
{
	put_head(e, 5, (uint64_t)count);
}

void sg_cbor_put_bool(sg_cbor_enc *e, int v)
{
	uint8_t b = v ? 0xf5 : 0xf4;

	put_raw(e, &b, 1);
}

void sg_cbor_put_null(sg_cbor_enc *e)
{
	uint8_t b = 0xf6;

	put_raw(e, &b, 1);
}

long sg_cbor_enc_finish(const sg_cbor_enc *e)
{
	if (e->err != 0)
		return e->err;
	if (e->len > (size_t)LONG_MAX)
		return SG_ERR_RANGE;
	return (long)e->len;
}
