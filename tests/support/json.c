/*
 * Strict recursive-descent JSON parser (RFC 8259), for test vectors only.
 */
#include "json.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
	const char *p, *end;
	int depth;
} parser;

static void *xcalloc(size_t n, size_t s)
{
	void *p = calloc(n ? n : 1, s ? s : 1);
	if (!p) {
		fprintf(stderr, "json: out of memory\n");
		abort();
	}
	return p;
}

static void ws(parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
				   *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static json *value(parser *ps);

static int hex4(parser *ps, unsigned *out)
{
	unsigned v = 0;
	int i;
	if (ps->end - ps->p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		char c = *ps->p++;
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static char *string(parser *ps, size_t *len)
{
	const char *start;
	char *out;
	size_t n = 0;

	ps->p++; /* opening quote */
	start = ps->p;
	/* Escapes only shrink, so the raw length bounds the output. */
	while (ps->p < ps->end && *ps->p != '"') {
		if (*ps->p == '\\')
			ps->p++;
		ps->p++;
	}
	if (ps->p >= ps->end)
		return NULL;
	out = xcalloc((size_t)(ps->p - start) + 1, 1);
	ps->p = start;
	while (*ps->p != '"') {
		unsigned char c = (unsigned char)*ps->p++;
		if (c < 0x20)
			goto bad;
		if (c != '\\') {
			out[n++] = (char)c;
			continue;
		}
		c = (unsigned char)*ps->p++;
		switch (c) {
		case '"': out[n++] = '"'; break;
		case '\\': out[n++] = '\\'; break;
		case '/': out[n++] = '/'; break;
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'n': out[n++] = '\n'; break;
		case 'r': out[n++] = '\r'; break;
		case 't': out[n++] = '\t'; break;
		case 'u': {
			unsigned cp, lo;
			if (hex4(ps, &cp))
				goto bad;
			if (cp >= 0xd800 && cp < 0xdc00) {
				if (ps->end - ps->p < 6 || ps->p[0] != '\\' ||
				    ps->p[1] != 'u')
					goto bad;
				ps->p += 2;
				if (hex4(ps, &lo) || lo < 0xdc00 || lo > 0xdfff)
					goto bad;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				goto bad;
			}
			n += put_utf8(out + n, cp);
			break;
		}
		default:
			goto bad;
		}
	}
	ps->p++;
	*len = n;
	return out;
bad:
	free(out);
	return NULL;
}

static json *value(parser *ps)
{
	json *v;

	ws(ps);
	if (ps->p >= ps->end || ++ps->depth > 64)
		return NULL;
	v = xcalloc(1, sizeof(*v));
	switch (*ps->p) {
	case '{':
	case '[': {
		int obj = *ps->p == '{';
		size_t cap = 8;
		ps->p++;
		v->type = obj ? JSON_OBJECT : JSON_ARRAY;
		v->items = xcalloc(cap, sizeof(json *));
		if (obj)
			v->keys = xcalloc(cap, sizeof(char *));
		ws(ps);
		if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
			ps->p++;
			break;
		}
		for (;;) {
			if (v->n == cap) {
				cap *= 2;
				v->items = realloc(v->items, cap * sizeof(json *));
				if (obj)
					v->keys = realloc(v->keys, cap * sizeof(char *));
				if (!v->items || (obj && !v->keys))
					abort();
			}
			if (obj) {
				size_t kl;
				ws(ps);
				if (ps->p >= ps->end || *ps->p != '"')
					goto bad;
				v->keys[v->n] = string(ps, &kl);
				if (!v->keys[v->n])
					goto bad;
				ws(ps);
				if (ps->p >= ps->end || *ps->p != ':')
					goto bad_item;
				ps->p++;
			}
			v->items[v->n] = value(ps);
			if (!v->items[v->n])
				goto bad_item;
			v->n++;
			ws(ps);
			if (ps->p < ps->end && *ps->p == ',') {
				ps->p++;
				continue;
			}
			if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
				ps->p++;
				break;
			}
			goto bad;
		bad_item:
			if (obj)
				free(v->keys[v->n]);
			goto bad;
		}
		break;
	}
	case '"':
		v->type = JSON_STRING;
		v->str = string(ps, &v->str_len);
		if (!v->str)
			goto bad;
		break;
	case 't':
	case 'f':
	case 'n': {
		static const char *const words[] = {"true", "false", "null"};
		int i;
		for (i = 0; i < 3; i++) {
			size_t wl = strlen(words[i]);
			if ((size_t)(ps->end - ps->p) >= wl &&
			    memcmp(ps->p, words[i], wl) == 0) {
				ps->p += wl;
				v->type = i == 2 ? JSON_NULL : JSON_BOOL;
				v->boolean = i == 0;
				break;
			}
		}
		if (i == 3)
			goto bad;
		break;
	}
	default: {
		const char *s = ps->p;
		if (ps->p < ps->end && *ps->p == '-')
			ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			goto bad;
		while (ps->p < ps->end &&
		       ((*ps->p >= '0' && *ps->p <= '9') || *ps->p == '.' ||
			*ps->p == 'e' || *ps->p == 'E' || *ps->p == '+' ||
			*ps->p == '-'))
			ps->p++;
		v->type = JSON_NUMBER;
		v->str_len = (size_t)(ps->p - s);
		v->str = xcalloc(v->str_len + 1, 1);
		memcpy(v->str, s, v->str_len);
		break;
	}
	}
	ps->depth--;
	return v;
bad:
	json_free(v);
	return NULL;
}

json *json_parse(const char *text, size_t len)
{
	parser ps = {text, text + len, 0};
	json *v = value(&ps);
	ws(&ps);
	if (!v || ps.p != ps.end) {
		fprintf(stderr, "json: syntax error near offset %ld\n",
			(long)(ps.p - text));
		json_free(v);
		return NULL;
	}
	return v;
}

json *json_parse_file(const char *path)
{
	size_t len;
	char *text = sg_test_read_file(path, &len);
	json *v;
	if (!text)
		return NULL;
	v = json_parse(text, len);
	free(text);
	return v;
}

void json_free(json *v)
{
	size_t i;
	if (!v)
		return;
	for (i = 0; i < v->n; i++) {
		json_free(v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	free(v);
}

const json *json_get(const json *obj, const char *key)
{
	size_t i;
	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	for (i = 0; i < obj->n; i++)
		if (strcmp(obj->keys[i], key) == 0)
			return obj->items[i];
	return NULL;
}

const json *json_req(const json *obj, const char *key, json_type type)
{
	const json *v = json_get(obj, key);
	if (!v || v->type != type) {
		fprintf(stderr, "json: member '%s' missing or of wrong type\n",
			key);
		abort();
	}
	return v;
}

const char *json_req_str(const json *obj, const char *key)
{
	return json_req(obj, key, JSON_STRING)->str;
}

int json_req_bool(const json *obj, const char *key)
{
	return json_req(obj, key, JSON_BOOL)->boolean;
}

long long json_req_int(const json *obj, const char *key)
{
	return strtoll(json_req(obj, key, JSON_NUMBER)->str, NULL, 10);
}

uint8_t *json_req_hex(const json *obj, const char *key, size_t *len)
{
	const json *v = json_req(obj, key, JSON_STRING);
	return sg_test_unhex(v->str, v->str_len, len);
}
