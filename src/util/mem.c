/*
 * Secret hygiene and byte helpers: wiping, constant-time comparison, hex.
 */
#include "sg/env.h"
#include "sg/err.h"

#include <limits.h>
#include <sodium.h>
#include <stdint.h>

void sg_wipe(void *p, size_t len)
{
	if (p != NULL && len != 0)
		sodium_memzero(p, len);
}

int sg_ct_memcmp(const void *a, const void *b, size_t len)
{
	const volatile uint8_t *x = a;
	const volatile uint8_t *y = b;
	uint8_t d = 0;
	size_t i;

	for (i = 0; i < len; i++)
		d = (uint8_t)(d | (x[i] ^ y[i]));
	/* (d - 1) >> 8 is 1 only when d == 0; no branch on the data. */
	return (int)((((unsigned)d - 1u) >> 8) & 1u) - 1;
}

long sg_hex_encode(char *out, size_t out_len, const uint8_t *in, size_t in_len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	if (in_len > (SIZE_MAX - 1) / 2 || out_len < 2 * in_len + 1 ||
	    2 * in_len > (size_t)LONG_MAX)
		return SG_ERR_BUFSIZE;
	for (i = 0; i < in_len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * in_len] = '\0';
	return (long)(2 * in_len);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long sg_hex_decode(uint8_t *out, size_t out_len, const char *in, size_t in_len)
{
	size_t i;

	if (in_len % 2 != 0)
		return SG_ERR_MALFORMED;
	if (out_len < in_len / 2 || in_len / 2 > (size_t)LONG_MAX)
		return SG_ERR_BUFSIZE;
	for (i = 0; i < in_len / 2; i++) {
		int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return SG_ERR_MALFORMED;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(in_len / 2);
}
