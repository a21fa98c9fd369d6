/*
 * ML-KEM-768, written from FIPS 203 (August 2024): the NTT and its inverse
 * (section 4.3, Alg. 9-12), sampling (4.2.2, Alg. 7-8), encoding and
 * compression (4.2.1, Alg. 5-6), K-PKE (section 5, Alg. 13-15), the internal
 * ML-KEM algorithms (section 6, Alg. 16-18) and the input checks of 7.2/7.3.
 *
 * Coefficients are int16_t. Products are reduced with Montgomery reduction
 * (R = 2^16) and sums with Barrett reduction; the NTT twiddle factors are
 * stored in Montgomery form so that one Montgomery multiplication gives the
 * plain product. Code that touches secrets has no secret-dependent branch,
 * memory index or division: Compress divides by q with a multiply and a
 * shift, and decapsulation chooses between K' and K-bar with a mask. The
 * valgrind "ctgrind" test (tests/ct) checks this on the compiled code.
 */
#include "sg/mlkem768.h"
#include "sg/env.h"
#include "sg/err.h"
#include "sg/sha3.h"
#include "util/ct.h"

#include <string.h>

/* rho in KeyGen is public (FIPS 203) although derived from the secret
 * seed; its rejection sampling branches, so it is declassified for the
 * constant-time test (src/util/ct.h). */

#define Q 3329
#define K 3
#define POLY_BYTES 384                 /* ByteEncode_12 of one polynomial */
#define PVEC_BYTES (K * POLY_BYTES)    /* 1152: dk_PKE, or t-hat in ek */
#define U_BYTES (K * 320)              /* ByteEncode_10 of u: 960 */
#define V_BYTES 128                    /* ByteEncode_4 of v */
#define QINV 62209                     /* q^-1 mod 2^16 */
#define MONT_R2 1353                   /* 2^32 mod q */
#define INVNTT_F 1441                  /* 2^32 / 128 mod q */
#define BARRETT_V 20159                /* round(2^26 / q) */
#define COMPRESS_M 1290168u            /* ceil(2^32 / q) */

_Static_assert(SG_MLKEM768_EK_LEN == PVEC_BYTES + 32, "ek layout");
_Static_assert(SG_MLKEM768_DK_LEN == 2 * PVEC_BYTES + 32 + 32 + 32, "dk");
_Static_assert(SG_MLKEM768_CT_LEN == U_BYTES + V_BYTES, "ct layout");
/* Barrett and Montgomery reduction rely on arithmetic right shifts. */
_Static_assert((-1 >> 1) == -1, "arithmetic right shift");

typedef struct poly {
	int16_t c[256];
} poly;

typedef struct polyvec {
	poly p[K];
} polyvec;

/*
 * zetas[i] = 17^BitRev7(i) * 2^16 mod q, centred in (-q/2, q/2), for the NTT
 * (Alg. 9 and 10). Generated with
 *   [c(pow(17, br7(i), q) * 2**16) for i in range(128)]
 * where br7 reverses 7 bits and c centres a value mod q.
 */
static const int16_t zetas[128] = {
	-1044, -758,  -359,  -1517, 1493,  1422,  287,   202,   -171,  622,
	1577,  182,   962,   -1202, -1474, 1468,  573,   -1325, 264,   383,
	-829,  1458,  -1602, -130,  -681,  1017,  732,   608,   -1542, 411,
	-205,  -1571, 1223,  652,   -552,  1015,  -1293, 1491,  -282,  -1544,
	516,   -8,    -320,  -666,  -1618, -1162, 126,   1469,  -853,  -90,
	-271,  830,   107,   -1421, -247,  -951,  -398,  961,   -1508, -725,
	448,   -1065, 677,   -1275, -1103, 430,   555,   843,   -1251, 871,
	1550,  105,   422,   587,   177,   -235,  -291,  -460,  1574,  1653,
	-246,  778,   1159,  -147,  -777,  1483,  -602,  1119,  -1590, 644,
	-872,  349,   418,   329,   -156,  -75,   817,   1097,  603,   610,
	1322,  -1285, -1465, 384,   -1215, -136,  1218,  -1335, -874,  220,
	-1187, -1659, -1185, -1530, -1278, 794,   -1510, -854,  -870,  478,
	-108,  -308,  996,   991,   958,   -1460, 1522,  1628,
};

/*
 * gammas[i] = 17^(2 BitRev7(i) + 1) * 2^16 mod q, centred, for
 * MultiplyNTTs (Alg. 11): the roots of the 128 quadratic factors.
 */
static const int16_t gammas[128] = {
	-1103, 1103,  430,   -430,  555,   -555,  843,   -843,  -1251, 1251,
	871,   -871,  1550,  -1550, 105,   -105,  422,   -422,  587,   -587,
	177,   -177,  -235,  235,   -291,  291,   -460,  460,   1574,  -1574,
	1653,  -1653, -246,  246,   778,   -778,  1159,  -1159, -147,  147,
	-777,  777,   1483,  -1483, -602,  602,   1119,  -1119, -1590, 1590,
	644,   -644,  -872,  872,   349,   -349,  418,   -418,  329,   -329,
	-156,  156,   -75,   75,    817,   -817,  1097,  -1097, 603,   -603,
	610,   -610,  1322,  -1322, -1285, 1285,  -1465, 1465,  384,   -384,
	-1215, 1215,  -136,  136,   1218,  -1218, -1335, 1335,  -874,  874,
	220,   -220,  -1187, 1187,  -1659, 1659,  -1185, 1185,  -1530, 1530,
	-1278, 1278,  794,   -794,  -1510, 1510,  -854,  854,   -870,  870,
	478,   -478,  -108,  108,   -308,  308,   996,   -996,  991,   -991,
	958,   -958,  -1460, 1460,  1522,  -1522, 1628,  -1628,
};

/* ---- Modular arithmetic -------------------------------------------------- */

/* a * 2^-16 mod q for |a| < q * 2^15; the result has |r| < q. */
static int16_t montgomery_reduce(int32_t a)
{
	int16_t t = (int16_t)(uint16_t)((uint32_t)a * QINV);

	return (int16_t)((a - (int32_t)t * Q) >> 16);
}

/* a * b * 2^-16 mod q. */
static int16_t fqmul(int16_t a, int16_t b)
{
	return montgomery_reduce((int32_t)a * b);
}

/* The representative of a mod q in about [-q/2, q/2]. */
static int16_t barrett_reduce(int16_t a)
{
	int16_t t = (int16_t)((BARRETT_V * (int32_t)a + (1 << 25)) >> 26);

	return (int16_t)(a - t * Q);
}

/* Maps (-q, q) to [0, q) without a branch. */
static int16_t caddq(int16_t a)
{
	return (int16_t)(a + ((a >> 15) & Q));
}

/* ---- Polynomials -------------------------------------------------------- */

static void poly_reduce(poly *r)
{
	unsigned i;

	for (i = 0; i < 256; i++)
		r->c[i] = barrett_reduce(r->c[i]);
}

/* Coefficients to [0, q), as ByteEncode_12 and Compress expect. */
static void poly_canonical(poly *r)
{
	unsigned i;

	for (i = 0; i < 256; i++)
		r->c[i] = caddq(barrett_reduce(r->c[i]));
}

static void poly_add(poly *r, const poly *a)
{
	unsigned i;

	for (i = 0; i < 256; i++)
		r->c[i] = (int16_t)(r->c[i] + a->c[i]);
}

static void poly_sub(poly *r, const poly *a, const poly *b)
{
	unsigned i;

	for (i = 0; i < 256; i++)
		r->c[i] = (int16_t)(a->c[i] - b->c[i]);
}

/* Multiplies by 2^16 (into Montgomery form). */
static void poly_tomont(poly *r)
{
	unsigned i;

	for (i = 0; i < 256; i++)
		r->c[i] = fqmul(r->c[i], MONT_R2);
}

/*
 * NTT (Alg. 9). Each layer grows coefficients by less than q, so inputs with
 * |c| < 9000 stay within int16_t; the output is Barrett-reduced.
 */
static void ntt(poly *f)
{
	unsigned len, start, j, i = 1;

	for (len = 128; len >= 2; len >>= 1) {
		for (start = 0; start < 256; start += 2 * len) {
			int16_t zeta = zetas[i++];

			for (j = start; j < start + len; j++) {
				int16_t t = fqmul(zeta, f->c[j + len]);

				f->c[j + len] = (int16_t)(f->c[j] - t);
				f->c[j] = (int16_t)(f->c[j] + t);
			}
		}
	}
	poly_reduce(f);
}

/*
 * NTT^-1 (Alg. 10), including the final multiplication by 128^-1. The input
 * carries the 2^-16 factor left by basemul_acc(); multiplying by
 * 2^32 / 128 at the end removes it. Output has |c| < q.
 */
static void invntt(poly *f)
{
	unsigned len, start, j, i = 127;

	for (len = 2; len <= 128; len <<= 1) {
		for (start = 0; start < 256; start += 2 * len) {
			int16_t zeta = zetas[i--];

			for (j = start; j < start + len; j++) {
				int16_t t = f->c[j];

				f->c[j] = barrett_reduce(
					(int16_t)(t + f->c[j + len]));
				f->c[j + len] = fqmul(
					zeta, (int16_t)(f->c[j + len] - t));
			}
		}
	}
	for (j = 0; j < 256; j++)
		f->c[j] = fqmul(f->c[j], INVNTT_F);
}

/*
 * r = sum_j a[j] o b[j] in the NTT domain, times 2^-16 (MultiplyNTTs,
 * Alg. 11, with BaseCaseMultiply, Alg. 12, summed before reduction).
 * Bounds: one operand has |c| < 2^12 (decoded keys and the matrix), the
 * other |c| <= q/2 (NTT outputs), so each 32-bit sum stays below
 * 3 * (4095 * 1665 + 3329 * 1665) < q * 2^15 as montgomery_reduce needs.
 * Output is Barrett-reduced.
 */
static void basemul_acc(poly *r, const polyvec *a, const polyvec *b)
{
	unsigned i, j;

	for (i = 0; i < 128; i++) {
		int32_t c0 = 0, c1 = 0;

		for (j = 0; j < K; j++) {
			const int16_t *x = &a->p[j].c[2 * i];
			const int16_t *y = &b->p[j].c[2 * i];
			int16_t a0 = x[0], a1 = x[1], b0 = y[0], b1 = y[1];

			c0 += (int32_t)a0 * b0 +
			      (int32_t)fqmul(a1, b1) * gammas[i];
			c1 += (int32_t)a0 * b1 + (int32_t)a1 * b0;
		}
		r->c[2 * i] = barrett_reduce(montgomery_reduce(c0));
		r->c[2 * i + 1] = barrett_reduce(montgomery_reduce(c1));
	}
}

/* ---- Sampling (section 4.2.2) ------------------------------------------- */

/* Accepts 12-bit candidates below q (Alg. 7, lines 5-13). Public data. */
static unsigned rej_uniform(int16_t *c, unsigned n, const uint8_t *buf,
			    size_t len)
{
	size_t pos;

	for (pos = 0; n < 256 && pos + 3 <= len; pos += 3) {
		uint16_t d1 = (uint16_t)(buf[pos] | (buf[pos + 1] & 0x0f) << 8);
		uint16_t d2 = (uint16_t)(buf[pos + 1] >> 4 | buf[pos + 2] << 4);

		if (d1 < Q)
			c[n++] = (int16_t)d1;
		if (d2 < Q && n < 256)
			c[n++] = (int16_t)d2;
	}
	return n;
}

/*
 * SampleNTT(rho || x || y) (Alg. 7). Three SHAKE128 blocks give 336
 * candidates, enough for 256 acceptances almost always; more blocks are
 * squeezed whole (168 is a multiple of 3, so no candidate straddles them).
 */
static void sample_ntt(poly *a, const uint8_t rho[32], uint8_t x, uint8_t y)
{
	uint8_t seed[34];
	uint8_t buf[3 * SG_SHAKE128_RATE];
	sg_keccak xof;
	unsigned n;

	memcpy(seed, rho, 32);
	seed[32] = x;
	seed[33] = y;
	sg_shake128_init(&xof);
	(void)sg_keccak_absorb(&xof, seed, sizeof(seed));
	sg_keccak_squeeze(&xof, buf, sizeof(buf));
	n = rej_uniform(a->c, 0, buf, sizeof(buf));
	while (n < 256) {
		sg_keccak_squeeze(&xof, buf, SG_SHAKE128_RATE);
		n = rej_uniform(a->c, n, buf, SG_SHAKE128_RATE);
	}
}

/*
 * The matrix A-hat (Alg. 13 lines 3-7): A[i][j] = SampleNTT(rho || j || i).
 * With transposed set, a[i][j] = A[j][i], as Alg. 14 line 19 needs.
 */
static void gen_matrix(polyvec a[K], const uint8_t rho[32], int transposed)
{
	unsigned i, j;

	for (i = 0; i < K; i++)
		for (j = 0; j < K; j++)
			sample_ntt(&a[i].p[j], rho,
				   (uint8_t)(transposed ? i : j),
				   (uint8_t)(transposed ? j : i));
}

static uint32_t load32_le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/*
 * SamplePolyCBD_2 (Alg. 8): coefficient i is (b[4i] + b[4i+1]) -
 * (b[4i+2] + b[4i+3]) over the input bits. Bits are paired up with masks,
 * eight coefficients per 32-bit word.
 */
static void cbd2(poly *r, const uint8_t buf[128])
{
	unsigned i, j;

	for (i = 0; i < 32; i++) {
		uint32_t t = load32_le(buf + 4 * i);
		uint32_t d = (t & 0x55555555u) + ((t >> 1) & 0x55555555u);

		for (j = 0; j < 8; j++) {
			int16_t x = (int16_t)((d >> (4 * j)) & 3);
			int16_t y = (int16_t)((d >> (4 * j + 2)) & 3);

			r->c[8 * i + j] = (int16_t)(x - y);
		}
	}
}

/* SamplePolyCBD_2(PRF_2(sigma, nonce)), PRF = SHAKE256 (section 4.1). */
static void sample_cbd(poly *r, const uint8_t sigma[32], uint8_t nonce)
{
	uint8_t in[33], buf[128];

	memcpy(in, sigma, 32);
	in[32] = nonce;
	sg_shake256(buf, sizeof(buf), in, sizeof(in));
	cbd2(r, buf);
	sg_wipe(in, sizeof(in));
	sg_wipe(buf, sizeof(buf));
}

/* ---- Encoding and compression (section 4.2.1) --------------------------- */

/* ByteEncode_12 of a polynomial with coefficients in [0, q). */
static void encode12(uint8_t r[POLY_BYTES], const poly *a)
{
	unsigned i;

	for (i = 0; i < 128; i++) {
		uint16_t t0 = (uint16_t)a->c[2 * i];
		uint16_t t1 = (uint16_t)a->c[2 * i + 1];

		r[3 * i] = (uint8_t)t0;
		r[3 * i + 1] = (uint8_t)(t0 >> 8 | t1 << 4);
		r[3 * i + 2] = (uint8_t)(t1 >> 4);
	}
}

/* ByteDecode_12 without the reduction mod q: values are in [0, 4096). The
 * arithmetic above accepts them and gives the same results mod q. */
static void decode12(poly *r, const uint8_t a[POLY_BYTES])
{
	unsigned i;

	for (i = 0; i < 128; i++) {
		uint16_t b0 = a[3 * i], b1 = a[3 * i + 1], b2 = a[3 * i + 2];

		r->c[2 * i] = (int16_t)(b0 | (b1 & 0x0f) << 8);
		r->c[2 * i + 1] = (int16_t)(b1 >> 4 | b2 << 4);
	}
}

/*
 * Compress_d(x) = round(2^d x / q) mod 2^d for x in [0, q) (eq. 4.7).
 * round((2^d x) / q) = floor((2^d x + 1664) / q) because q is odd, and the
 * division is a multiplication by ceil(2^32 / q) and a shift, exact for all
 * numerators below 2^22 (checked exhaustively for d = 1, 4, 10).
 */
static uint16_t compress(int16_t x, unsigned d)
{
	uint64_t n = ((uint64_t)(uint16_t)x << d) + 1664;

	return (uint16_t)(((n * COMPRESS_M) >> 32) & ((1u << d) - 1));
}

/* Decompress_d(y) = round(q y / 2^d) (eq. 4.8). */
static int16_t decompress(uint16_t y, unsigned d)
{
	return (int16_t)(((uint32_t)y * Q + (1u << (d - 1))) >> d);
}

/* ByteEncode_10(Compress_10(u)), u canonical. */
static void compress_u(uint8_t r[U_BYTES], const polyvec *u)
{
	unsigned k, i;

	for (k = 0; k < K; k++) {
		for (i = 0; i < 64; i++) {
			const int16_t *c = &u->p[k].c[4 * i];
			uint16_t t0 = compress(c[0], 10);
			uint16_t t1 = compress(c[1], 10);
			uint16_t t2 = compress(c[2], 10);
			uint16_t t3 = compress(c[3], 10);
			uint8_t *o = r + 320 * k + 5 * i;

			o[0] = (uint8_t)t0;
			o[1] = (uint8_t)(t0 >> 8 | t1 << 2);
			o[2] = (uint8_t)(t1 >> 6 | t2 << 4);
			o[3] = (uint8_t)(t2 >> 4 | t3 << 6);
			o[4] = (uint8_t)(t3 >> 2);
		}
	}
}

/* Decompress_10(ByteDecode_10(c1)). */
static void decompress_u(polyvec *u, const uint8_t a[U_BYTES])
{
	unsigned k, i;

	for (k = 0; k < K; k++) {
		for (i = 0; i < 64; i++) {
			const uint8_t *b = a + 320 * k + 5 * i;
			int16_t *c = &u->p[k].c[4 * i];

			uint16_t t0 = (uint16_t)(b[0] | (b[1] & 0x03) << 8);
			uint16_t t1 = (uint16_t)(b[1] >> 2 | (b[2] & 15) << 6);
			uint16_t t2 = (uint16_t)(b[2] >> 4 | (b[3] & 63) << 4);
			uint16_t t3 = (uint16_t)(b[3] >> 6 | b[4] << 2);

			c[0] = decompress(t0, 10);
			c[1] = decompress(t1, 10);
			c[2] = decompress(t2, 10);
			c[3] = decompress(t3, 10);
		}
	}
}

/* ByteEncode_4(Compress_4(v)), v canonical. */
static void compress_v(uint8_t r[V_BYTES], const poly *v)
{
	unsigned i;

	for (i = 0; i < 128; i++)
		r[i] = (uint8_t)(compress(v->c[2 * i], 4) |
				 compress(v->c[2 * i + 1], 4) << 4);
}

/* Decompress_4(ByteDecode_4(c2)). */
static void decompress_v(poly *v, const uint8_t a[V_BYTES])
{
	unsigned i;

	for (i = 0; i < 128; i++) {
		v->c[2 * i] = decompress(a[i] & 0x0f, 4);
		v->c[2 * i + 1] = decompress((uint16_t)(a[i] >> 4), 4);
	}
}

/* Decompress_1(ByteDecode_1(m)): bit b becomes b * 1665, by masking. */
static void poly_frommsg(poly *r, const uint8_t m[32])
{
	unsigned i, j;

	for (i = 0; i < 32; i++)
		for (j = 0; j < 8; j++)
			r->c[8 * i + j] = (int16_t)(
				-(int16_t)((m[i] >> j) & 1) & ((Q + 1) / 2));
}

/* ByteEncode_1(Compress_1(w)), w canonical. */
static void poly_tomsg(uint8_t m[32], const poly *w)
{
	unsigned i, j;

	for (i = 0; i < 32; i++) {
		uint8_t b = 0;

		for (j = 0; j < 8; j++)
			b = (uint8_t)(b | compress(w->c[8 * i + j], 1) << j);
		m[i] = b;
	}
}

/* ---- K-PKE (section 5) -------------------------------------------------- */

/*
 * K-PKE.KeyGen(d) (Alg. 13): writes ek_PKE (1184 bytes) and
 * dk_PKE (1152 bytes).
 */
static void pke_keygen(uint8_t ek[SG_MLKEM768_EK_LEN], uint8_t dk[PVEC_BYTES],
		       const uint8_t d[32])
{
	uint8_t in[33], rs[64]; /* rs = rho || sigma */
	polyvec a[K], s, e, t;
	unsigned i;

	memcpy(in, d, 32);
	in[32] = K; /* G(d || k): domain separation by parameter set */
	sg_sha3_512(rs, in, sizeof(in));
	/* rho goes into ek: public, and the matrix sampling branches on it. */
	SG_DECLASSIFY(rs, 32);
	gen_matrix(a, rs, 0);
	for (i = 0; i < K; i++)
		sample_cbd(&s.p[i], rs + 32, (uint8_t)i);
	for (i = 0; i < K; i++)
		sample_cbd(&e.p[i], rs + 32, (uint8_t)(K + i));
	for (i = 0; i < K; i++) {
		ntt(&s.p[i]);
		ntt(&e.p[i]);
	}
	for (i = 0; i < K; i++) {
		basemul_acc(&t.p[i], &a[i], &s);
		poly_tomont(&t.p[i]);
		poly_add(&t.p[i], &e.p[i]);
		poly_canonical(&t.p[i]);
		poly_canonical(&s.p[i]);
		encode12(ek + POLY_BYTES * i, &t.p[i]);
		encode12(dk + POLY_BYTES * i, &s.p[i]);
	}
	memcpy(ek + PVEC_BYTES, rs, 32);

	sg_wipe(in, sizeof(in));
	sg_wipe(rs, sizeof(rs));
	sg_wipe(&s, sizeof(s));
	sg_wipe(&e, sizeof(e));
	sg_wipe(&t, sizeof(t));
}

/*
 * K-PKE.Encrypt(ek_PKE, m, r) (Alg. 14). ek must have passed the modulus
 * check (decaps uses the ek stored in a hash-checked dk).
 */
static void pke_encrypt(uint8_t c[SG_MLKEM768_CT_LEN],
			const uint8_t ek[SG_MLKEM768_EK_LEN],
			const uint8_t m[32], const uint8_t r[32])
{
	polyvec a[K], t, y, u;
	poly e2, v, mu;
	unsigned i;

	for (i = 0; i < K; i++)
		decode12(&t.p[i], ek + POLY_BYTES * i);
	gen_matrix(a, ek + PVEC_BYTES, 1);
	for (i = 0; i < K; i++)
		sample_cbd(&y.p[i], r, (uint8_t)i);
	for (i = 0; i < K; i++)
		sample_cbd(&u.p[i], r, (uint8_t)(K + i)); /* e1, added below */
	sample_cbd(&e2, r, 2 * K);
	for (i = 0; i < K; i++)
		ntt(&y.p[i]);

	/* u = NTT^-1(A^T o y) + e1 */
	for (i = 0; i < K; i++) {
		poly tmp;

		basemul_acc(&tmp, &a[i], &y);
		invntt(&tmp);
		poly_add(&u.p[i], &tmp);
		poly_canonical(&u.p[i]);
		sg_wipe(&tmp, sizeof(tmp));
	}
	/* v = NTT^-1(t^T o y) + e2 + Decompress_1(m) */
	poly_frommsg(&mu, m);
	basemul_acc(&v, &t, &y);
	invntt(&v);
	poly_add(&v, &e2);
	poly_add(&v, &mu);
	poly_canonical(&v);

	compress_u(c, &u);
	compress_v(c + U_BYTES, &v);

	sg_wipe(&y, sizeof(y));
	sg_wipe(&u, sizeof(u));
	sg_wipe(&e2, sizeof(e2));
	sg_wipe(&v, sizeof(v));
	sg_wipe(&mu, sizeof(mu));
}

/* K-PKE.Decrypt(dk_PKE, c) (Alg. 15). */
static void pke_decrypt(uint8_t m[32], const uint8_t dk[PVEC_BYTES],
			const uint8_t c[SG_MLKEM768_CT_LEN])
{
	polyvec u, s;
	poly v, w;
	unsigned i;

	decompress_u(&u, c);
	decompress_v(&v, c + U_BYTES);
	for (i = 0; i < K; i++) {
		decode12(&s.p[i], dk + POLY_BYTES * i);
		ntt(&u.p[i]);
	}
	basemul_acc(&w, &s, &u);
	invntt(&w);
	poly_sub(&w, &v, &w);
	poly_canonical(&w);
	poly_tomsg(m, &w);

	sg_wipe(&u, sizeof(u));
	sg_wipe(&s, sizeof(s));
	sg_wipe(&v, sizeof(v));
	sg_wipe(&w, sizeof(w));
}

/* ---- ML-KEM (sections 6 and 7) ----------------------------------------- */

/* Hides a value from the optimiser so it cannot turn a masked select back
 * into a branch. */
static uint8_t value_barrier(uint8_t x)
{
#if defined(__GNUC__) || defined(__clang__)
	__asm__("" : "+r"(x));
#endif
	return x;
}

/* 0xff when a and b differ, 0x00 when equal; time depends on len only. */
static uint8_t ct_differ_mask(const uint8_t *a, const uint8_t *b, size_t len)
{
	uint32_t d = 0;
	size_t i;

	for (i = 0; i < len; i++)
		d |= (uint32_t)(a[i] ^ b[i]);
	/* d < 256, so the top bit of -d is set exactly when d != 0. */
	return (uint8_t)(0u - ((0u - value_barrier((uint8_t)d)) >> 31));
}

int sg_mlkem768_check_ek(const uint8_t *ek, size_t ek_len)
{
	unsigned i;

	if (ek == NULL || ek_len != SG_MLKEM768_EK_LEN)
		return SG_ERR_KEY;
	/* ek_PKE == ByteEncode_12(ByteDecode_12(ek_PKE)) holds exactly when
	 * every 12-bit value is already below q. The key is public. */
	for (i = 0; i < PVEC_BYTES / 3; i++) {
		uint16_t b0 = ek[3 * i], b1 = ek[3 * i + 1], b2 = ek[3 * i + 2];

		if ((b0 | (b1 & 0x0f) << 8) >= Q || (b1 >> 4 | b2 << 4) >= Q)
			return SG_ERR_KEY;
	}
	return 0;
}

int sg_mlkem768_check_dk(const uint8_t *dk, size_t dk_len)
{
	uint8_t h[32];

	if (dk == NULL || dk_len != SG_MLKEM768_DK_LEN)
		return SG_ERR_KEY;
	/* H(dk[384k : 768k + 32]) == dk[768k + 32 : 768k + 64]; both sides are
	 * public (ek and its hash). */
	sg_sha3_256(h, dk + PVEC_BYTES, SG_MLKEM768_EK_LEN);
	if (sg_ct_memcmp(h, dk + PVEC_BYTES + SG_MLKEM768_EK_LEN, 32) != 0)
		return SG_ERR_KEY;
	return 0;
}

int sg_mlkem768_keypair(uint8_t ek[SG_MLKEM768_EK_LEN],
			uint8_t dk[SG_MLKEM768_DK_LEN],
			const uint8_t seed[SG_MLKEM768_SEED_LEN])
{
	if (ek == NULL || dk == NULL || seed == NULL)
		return SG_ERR_INVAL;
	/* Alg. 16: dk = dk_PKE || ek || H(ek) || z */
	pke_keygen(ek, dk, seed);
	memcpy(dk + PVEC_BYTES, ek, SG_MLKEM768_EK_LEN);
	sg_sha3_256(dk + PVEC_BYTES + SG_MLKEM768_EK_LEN, ek,
		    SG_MLKEM768_EK_LEN);
	memcpy(dk + PVEC_BYTES + SG_MLKEM768_EK_LEN + 32, seed + 32, 32);
	return 0;
}

int sg_mlkem768_encaps(uint8_t ct[SG_MLKEM768_CT_LEN],
		       uint8_t ss[SG_MLKEM768_SS_LEN],
		       const uint8_t ek[SG_MLKEM768_EK_LEN],
		       const uint8_t m[SG_MLKEM768_MSG_LEN])
{
	uint8_t in[64], kr[64]; /* in = m || H(ek); kr = K || r */

	if (ct == NULL || ss == NULL || ek == NULL || m == NULL)
		return SG_ERR_INVAL;
	if (sg_mlkem768_check_ek(ek, SG_MLKEM768_EK_LEN) != 0) {
		memset(ct, 0, SG_MLKEM768_CT_LEN);
		memset(ss, 0, SG_MLKEM768_SS_LEN);
		return SG_ERR_KEY;
	}
	/* Alg. 17 */
	memcpy(in, m, 32);
	sg_sha3_256(in + 32, ek, SG_MLKEM768_EK_LEN);
	sg_sha3_512(kr, in, sizeof(in));
	pke_encrypt(ct, ek, m, kr + 32);
	memcpy(ss, kr, 32);

	sg_wipe(in, sizeof(in));
	sg_wipe(kr, sizeof(kr));
	return 0;
}

int sg_mlkem768_decaps(uint8_t ss[SG_MLKEM768_SS_LEN],
		       const uint8_t ct[SG_MLKEM768_CT_LEN],
		       const uint8_t dk[SG_MLKEM768_DK_LEN])
{
	const uint8_t *ek = dk + PVEC_BYTES;
	const uint8_t *h = ek + SG_MLKEM768_EK_LEN;
	const uint8_t *z = h + 32;
	uint8_t in[64], kr[64], kbar[32], cmp[SG_MLKEM768_CT_LEN];
	sg_keccak j;
	uint8_t mask;
	unsigned i;

	if (ss == NULL || ct == NULL || dk == NULL)
		return SG_ERR_INVAL;
	if (sg_mlkem768_check_dk(dk, SG_MLKEM768_DK_LEN) != 0) {
		memset(ss, 0, SG_MLKEM768_SS_LEN);
		return SG_ERR_KEY;
	}
	/* Alg. 18: m' = Decrypt(dk_PKE, c); (K', r') = G(m' || h) */
	pke_decrypt(in, dk, ct);
	memcpy(in + 32, h, 32);
	sg_sha3_512(kr, in, sizeof(in));
	/* K-bar = J(z || c) */
	sg_shake256_init(&j);
	(void)sg_keccak_absorb(&j, z, 32);
	(void)sg_keccak_absorb(&j, ct, SG_MLKEM768_CT_LEN);
	sg_keccak_squeeze(&j, kbar, sizeof(kbar));
	/* c' = Encrypt(ek_PKE, m', r'); K' unless c != c' */
	pke_encrypt(cmp, ek, in, kr + 32);
	mask = ct_differ_mask(ct, cmp, SG_MLKEM768_CT_LEN);
	for (i = 0; i < 32; i++)
		ss[i] = (uint8_t)(kr[i] ^ (mask & (kr[i] ^ kbar[i])));

	sg_wipe(in, sizeof(in));
	sg_wipe(kr, sizeof(kr));
	sg_wipe(kbar, sizeof(kbar));
	sg_wipe(cmp, sizeof(cmp));
	sg_wipe(&mask, sizeof(mask));
	sg_keccak_wipe(&j);
	return 0;
}
