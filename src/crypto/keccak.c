/*
 * Keccak-f[1600] and the sponge construction (FIPS 202 sections 3 and 4),
 * giving SHA3-256, SHA3-512 (section 6.1) and SHAKE128/256 (section 6.2).
 *
 * State lanes are little-endian 64-bit words, A[x + 5y] as in section 3.1.2.
 * The permutation is written as theta, rho+pi, chi, iota on 25 locals so the
 * compiler keeps the state in registers; it has no data-dependent branches
 * or indices, so it is constant time for secret inputs.
 */
#include "sg/sha3.h"
#include "sg/env.h"
#include "sg/err.h"

#include <string.h>

/* Round constants RC[i] (section 3.2.5, computed by rc(t)). */
static const uint64_t RC[24] = {
	0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL,
	0x8000000080008000ULL, 0x000000000000808bULL, 0x0000000080000001ULL,
	0x8000000080008081ULL, 0x8000000000008009ULL, 0x000000000000008aULL,
	0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
	0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL,
	0x8000000000008003ULL, 0x8000000000008002ULL, 0x8000000000000080ULL,
	0x000000000000800aULL, 0x800000008000000aULL, 0x8000000080008081ULL,
	0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

#define ROL(a, n) (((a) << (n)) | ((a) >> ((64 - (n)) & 63)))

void sg_keccak_f1600(uint64_t st[25])
{
	uint64_t a00 = st[0], a01 = st[1], a02 = st[2], a03 = st[3], a04 = st[4];
	uint64_t a05 = st[5], a06 = st[6], a07 = st[7], a08 = st[8], a09 = st[9];
	uint64_t a10 = st[10], a11 = st[11], a12 = st[12], a13 = st[13];
	uint64_t a14 = st[14], a15 = st[15], a16 = st[16], a17 = st[17];
	uint64_t a18 = st[18], a19 = st[19], a20 = st[20], a21 = st[21];
	uint64_t a22 = st[22], a23 = st[23], a24 = st[24];
	int r;

	for (r = 0; r < 24; r++) {
		uint64_t c0, c1, c2, c3, c4, d0, d1, d2, d3, d4;
		uint64_t b00, b01, b02, b03, b04, b05, b06, b07, b08, b09;
		uint64_t b10, b11, b12, b13, b14, b15, b16, b17, b18, b19;
		uint64_t b20, b21, b22, b23, b24;

		/* theta (3.2.1) */
		c0 = a00 ^ a05 ^ a10 ^ a15 ^ a20;
		c1 = a01 ^ a06 ^ a11 ^ a16 ^ a21;
		c2 = a02 ^ a07 ^ a12 ^ a17 ^ a22;
		c3 = a03 ^ a08 ^ a13 ^ a18 ^ a23;
		c4 = a04 ^ a09 ^ a14 ^ a19 ^ a24;
		d0 = c4 ^ ROL(c1, 1);
		d1 = c0 ^ ROL(c2, 1);
		d2 = c1 ^ ROL(c3, 1);
		d3 = c2 ^ ROL(c4, 1);
		d4 = c3 ^ ROL(c0, 1);

		/* rho (3.2.2) and pi (3.2.3): B[y, 2x+3y] = ROT(A[x,y], r[x,y]),
		 * written with b<index of destination> = rot(a<source>). */
		b00 = a00 ^ d0;
		b10 = ROL(a01 ^ d1, 1);
		b20 = ROL(a02 ^ d2, 62);
		b05 = ROL(a03 ^ d3, 28);
		b15 = ROL(a04 ^ d4, 27);
		b16 = ROL(a05 ^ d0, 36);
		b01 = ROL(a06 ^ d1, 44);
		b11 = ROL(a07 ^ d2, 6);
		b21 = ROL(a08 ^ d3, 55);
		b06 = ROL(a09 ^ d4, 20);
		b07 = ROL(a10 ^ d0, 3);
		b17 = ROL(a11 ^ d1, 10);
		b02 = ROL(a12 ^ d2, 43);
		b12 = ROL(a13 ^ d3, 25);
		b22 = ROL(a14 ^ d4, 39);
		b23 = ROL(a15 ^ d0, 41);
		b08 = ROL(a16 ^ d1, 45);
		b18 = ROL(a17 ^ d2, 15);
		b03 = ROL(a18 ^ d3, 21);
		b13 = ROL(a19 ^ d4, 8);
		b14 = ROL(a20 ^ d0, 18);
		b24 = ROL(a21 ^ d1, 2);
		b09 = ROL(a22 ^ d2, 61);
		b19 = ROL(a23 ^ d3, 56);
		b04 = ROL(a24 ^ d4, 14);

		/* chi (3.2.4) */
		a00 = b00 ^ (~b01 & b02);
		a01 = b01 ^ (~b02 & b03);
		a02 = b02 ^ (~b03 & b04);
		a03 = b03 ^ (~b04 & b00);
		a04 = b04 ^ (~b00 & b01);
		a05 = b05 ^ (~b06 & b07);
		a06 = b06 ^ (~b07 & b08);
		a07 = b07 ^ (~b08 & b09);
		a08 = b08 ^ (~b09 & b05);
		a09 = b09 ^ (~b05 & b06);
		a10 = b10 ^ (~b11 & b12);
		a11 = b11 ^ (~b12 & b13);
		a12 = b12 ^ (~b13 & b14);
		a13 = b13 ^ (~b14 & b10);
		a14 = b14 ^ (~b10 & b11);
		a15 = b15 ^ (~b16 & b17);
		a16 = b16 ^ (~b17 & b18);
		a17 = b17 ^ (~b18 & b19);
		a18 = b18 ^ (~b19 & b15);
		a19 = b19 ^ (~b15 & b16);
		a20 = b20 ^ (~b21 & b22);
		a21 = b21 ^ (~b22 & b23);
		a22 = b22 ^ (~b23 & b24);
		a23 = b23 ^ (~b24 & b20);
		a24 = b24 ^ (~b20 & b21);

		/* iota (3.2.5) */
		a00 ^= RC[r];
	}

	st[0] = a00; st[1] = a01; st[2] = a02; st[3] = a03; st[4] = a04;
	st[5] = a05; st[6] = a06; st[7] = a07; st[8] = a08; st[9] = a09;
	st[10] = a10; st[11] = a11; st[12] = a12; st[13] = a13; st[14] = a14;
	st[15] = a15; st[16] = a16; st[17] = a17; st[18] = a18; st[19] = a19;
	st[20] = a20; st[21] = a21; st[22] = a22; st[23] = a23; st[24] = a24;
}

/* Byte i of the state, in the lane order of section 3.1.2 / B.1. */
static void xor_byte(uint64_t s[25], unsigned i, uint8_t b)
{
	s[i / 8] ^= (uint64_t)b << (8 * (i % 8));
}

static uint8_t get_byte(const uint64_t s[25], unsigned i)
{
	return (uint8_t)(s[i / 8] >> (8 * (i % 8)));
}

static uint64_t load64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;
	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void store64(uint8_t *p, uint64_t v)
{
	int i;
	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void init(sg_keccak *ctx, unsigned rate, uint8_t dsep)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->rate = rate;
	ctx->dsep = dsep;
}

/* SHA-3 appends 01 then pad10*1 (0x06 in the first pad byte); SHAKE appends
 * 1111 then pad10*1 (0x1f). Section 6 and Appendix B.2. */
void sg_sha3_256_init(sg_keccak *ctx) { init(ctx, SG_SHA3_256_RATE, 0x06); }
void sg_sha3_512_init(sg_keccak *ctx) { init(ctx, SG_SHA3_512_RATE, 0x06); }
void sg_shake128_init(sg_keccak *ctx) { init(ctx, SG_SHAKE128_RATE, 0x1f); }
void sg_shake256_init(sg_keccak *ctx) { init(ctx, SG_SHAKE256_RATE, 0x1f); }

int sg_keccak_absorb(sg_keccak *ctx, const void *in_, size_t len)
{
	const uint8_t *in = in_;

	if (ctx->squeezing)
		return SG_ERR_STATE;
	while (len > 0) {
		if (ctx->pos == 0 && len >= ctx->rate) {
			/* A whole block, a lane at a time. */
			unsigned i;
			for (i = 0; i < ctx->rate / 8; i++)
				ctx->s[i] ^= load64(in + 8 * i);
			in += ctx->rate;
			len -= ctx->rate;
			ctx->pos = ctx->rate;
		} else if (ctx->pos % 8 == 0 && len >= 8) {
			/* Lane-aligned inside a block (rates are multiples
			 * of 8, so the lane never crosses the block). */
			ctx->s[ctx->pos / 8] ^= load64(in);
			in += 8;
			len -= 8;
			ctx->pos += 8;
		} else {
			xor_byte(ctx->s, ctx->pos++, *in++);
			len--;
		}
		if (ctx->pos == ctx->rate) {
			sg_keccak_f1600(ctx->s);
			ctx->pos = 0;
		}
	}
	return 0;
}

static void finalize(sg_keccak *ctx)
{
	xor_byte(ctx->s, ctx->pos, ctx->dsep);
	xor_byte(ctx->s, ctx->rate - 1, 0x80);
	sg_keccak_f1600(ctx->s);
	ctx->pos = 0;
	ctx->squeezing = 1;
}

void sg_keccak_squeeze(sg_keccak *ctx, uint8_t *out, size_t len)
{
	if (!ctx->squeezing)
		finalize(ctx);
	/* pos counts bytes of the current block already handed out; a block
	 * is permuted only when more output is actually requested. */
	while (len > 0) {
		if (ctx->pos == ctx->rate) {
			sg_keccak_f1600(ctx->s);
			ctx->pos = 0;
		}
		if (ctx->pos == 0 && len >= ctx->rate) {
			unsigned i;
			for (i = 0; i < ctx->rate / 8; i++)
				store64(out + 8 * i, ctx->s[i]);
			out += ctx->rate;
			len -= ctx->rate;
			ctx->pos = ctx->rate;
			continue;
		}
		while (len > 0 && ctx->pos < ctx->rate) {
			if (ctx->pos % 8 == 0 && len >= 8) {
				store64(out, ctx->s[ctx->pos / 8]);
				out += 8;
				len -= 8;
				ctx->pos += 8;
			} else {
				*out++ = get_byte(ctx->s, ctx->pos++);
				len--;
			}
		}
	}
}

void sg_keccak_wipe(sg_keccak *ctx)
{
	sg_wipe(ctx, sizeof(*ctx));
}

static void oneshot(void (*init_fn)(sg_keccak *), uint8_t *out, size_t out_len,
		    const void *in, size_t len)
{
	sg_keccak ctx;
	init_fn(&ctx);
	(void)sg_keccak_absorb(&ctx, in, len);
	sg_keccak_squeeze(&ctx, out, out_len);
	sg_keccak_wipe(&ctx);
}

void sg_sha3_256(uint8_t out[SG_SHA3_256_LEN], const void *in, size_t len)
{
	oneshot(sg_sha3_256_init, out, SG_SHA3_256_LEN, in, len);
}

void sg_sha3_512(uint8_t out[SG_SHA3_512_LEN], const void *in, size_t len)
{
	oneshot(sg_sha3_512_init, out, SG_SHA3_512_LEN, in, len);
}

void sg_shake128(uint8_t *out, size_t out_len, const void *in, size_t len)
{
	oneshot(sg_shake128_init, out, out_len, in, len);
}

void sg_shake256(uint8_t *out, size_t out_len, const void *in, size_t len)
{
	oneshot(sg_shake256_init, out, out_len, in, len);
}
