/*
 * ML-DSA-65 (FIPS 204): key generation (Algorithm 6), signing (Algorithms
 * 2 and 7) and verification (Algorithms 3 and 8) for k = 6, l = 5, eta = 4,
 * tau = 49, gamma1 = 2^19, gamma2 = (q - 1)/32, omega = 55, lambda = 192,
 * with the encodings of section 7.2, the hashing and sampling of section
 * 7.3 (ExpandA, ExpandS, ExpandMask, SampleInBall), the rounding of section
 * 7.4 (Power2Round, Decompose, MakeHint, UseHint) and the NTT of section
 * 7.5. Coefficients are int32; products use Montgomery reduction with
 * R = 2^32 (the zeta table below holds zeta^BitRev8(m) * R mod q, centred),
 * computed on unsigned 32-bit lanes with lazy reduction (mont_mul_u; each
 * function states the bounds it relies on).
 *
 * Secrets never reach a branch, an index or a divider. The public values
 * that do are declassified for the valgrind constant-time test: rho, the
 * signing loop's single accept/reject decision, the accepted signature, and
 * the accept/reject bit of each candidate in the secret-seeded rejection
 * samplers (ExpandS's nibbles, SampleInBall's index bytes). The latter is
 * statistically independent of the values kept (an accepted nibble is
 * uniform on [0, 8] and an accepted index uniform on [0, i] whatever came
 * before), so it reveals nothing about s1, s2 or c; where c's index j is
 * used, a masked scan over the whole polynomial replaces the memory access.
 * Signing reveals the loop's decision in two parts: first whether
 * ||z|| < gamma1 - beta, whose outcome does not depend on the secret (for
 * y uniform on [-gamma1 + 1, gamma1] and any shift |v| <= beta, exactly
 * 2(gamma1 - beta) - 1 values of y give |y + v| < gamma1 - beta), then the
 * r0, ct0 and hint-count conditions as one bit.
 */
#include "sg/mldsa65.h"
#include "sg/env.h"
#include "sg/err.h"
#include "sg/sha3.h"
#include "crypto/mldsa65_internal.h"

#include <string.h>

#include "util/ct.h"


#define N 256
#define Q SG_MLDSA65_Q
#define D 13
#define K 6
#define L 5
#define ETA 4
#define TAU 49
#define BETA (TAU * ETA)
#define GAMMA1 (1 << 19)
#define GAMMA2 ((Q - 1) / 32)
#define OMEGA 55
#define CTILDE_LEN 48
#define FZ 3975713 /* 41978 * -zetas[1] * 2^-32 mod q, for invntt_tomont */

#define T1_BYTES 320  /* 10-bit coefficients */
#define ETA_BYTES 128 /* 4-bit */
#define T0_BYTES 416  /* 13-bit */
#define Z_BYTES 640   /* 20-bit */
#define W1_BYTES 128  /* 4-bit */

#define SK_S1 128
#define SK_S2 (SK_S1 + L * ETA_BYTES)
#define SK_T0 (SK_S2 + K * ETA_BYTES)
#define SIG_Z CTILDE_LEN
#define SIG_H (SIG_Z + L * Z_BYTES)

#if SK_T0 + K * T0_BYTES != SG_MLDSA65_SK_LEN ||                               \
    SIG_H + OMEGA + K != SG_MLDSA65_SIG_LEN ||                                 \
    32 + K * T1_BYTES != SG_MLDSA65_PK_LEN
#error "ML-DSA-65 sizes do not add up"
#endif

typedef struct {
	int32_t c[N];
} poly;

/* zetas[m] = zeta^BitRev8(m) * 2^32 mod q, centred, zeta = 1753 (Appendix
 * B). zetas[0] is never used. */
/* clang-format off */
static const int32_t zetas[N] = {
	-4186625, 25847, -2608894, -518909, 237124, -777960, -876248,
	466468, 1826347, 2353451, -359251, -2091905, 3119733, -2884855,
	3111497, 2680103, 2725464, 1024112, -1079900, 3585928, -549488,
	-1119584, 2619752, -2108549, -2118186, -3859737, -1399561, -3277672,
	1757237, -19422, 4010497, 280005, 2706023, 95776, 3077325,
	3530437, -1661693, -3592148, -2537516, 3915439, -3861115, -3043716,
	3574422, -2867647, 3539968, -300467, 2348700, -539299, -1699267,
	-1643818, 3505694, -3821735, 3507263, -2140649, -1600420, 3699596,
	811944, 531354, 954230, 3881043, 3900724, -2556880, 2071892,
	-2797779, -3930395, -1528703, -3677745, -3041255, -1452451, 3475950,
	2176455, -1585221, -1257611, 1939314, -4083598, -1000202, -3190144,
	-3157330, -3632928, 126922, 3412210, -983419, 2147896, 2715295,
	-2967645, -3693493, -411027, -2477047, -671102, -1228525, -22981,
	-1308169, -381987, 1349076, 1852771, -1430430, -3343383, 264944,
	508951, 3097992, 44288, -1100098, 904516, 3958618, -3724342,
	-8578, 1653064, -3249728, 2389356, -210977, 759969, -1316856,
	189548, -3553272, 3159746, -1851402, -2409325, -177440, 1315589,
	1341330, 1285669, -1584928, -812732, -1439742, -3019102, -3881060,
	-3628969, 3839961, 2091667, 3407706, 2316500, 3817976, -3342478,
	2244091, -2446433, -3562462, 266997, 2434439, -1235728, 3513181,
	-3520352, -3759364, -1197226, -3193378, 900702, 1859098, 909542,
	819034, 495491, -1613174, -43260, -522500, -655327, -3122442,
	2031748, 3207046, -3556995, -525098, -768622, -3595838, 342297,
	286988, -2437823, 4108315, 3437287, -3342277, 1735879, 203044,
	2842341, 2691481, -2590150, 1265009, 4055324, 1247620, 2486353,
	1595974, -3767016, 1250494, 2635921, -3548272, -2994039, 1869119,
	1903435, -1050970, -1333058, 1237275, -3318210, -1430225, -451100,
	1312455, 3306115, -1962642, -1279661, 1917081, -2546312, -1374803,
	1500165, 777191, 2235880, 3406031, -542412, -2831860, -1671176,
	-1846953, -2584293, -3724270, 594136, -3776993, -2013608, 2432395,
	2454455, -164721, 1957272, 3369112, 185531, -1207385, -3183426,
	162844, 1616392, 3014001, 810149, 1652634, -3694233, -1799107,
	-3038916, 3523897, 3866901, 269760, 2213111, -975884, 1717735,
	472078, -426683, 1723600, -1803090, 1910376, -1667432, -1104333,
	-260646, -3833893, -2939036, -2235985, -420899, -2286327, 183443,
	-976891, 1612842, -3545687, -554416, 3919660, -48306, -1362209,
	3937738, 1400424, -846154, 1976782,
};
/* clang-format on */

/* ---- Arithmetic mod q ---------------------------------------------------- */

/* r = a mod q with |r| <= 6283008, for a <= 2^31 - 2^22 - 1. For a value
 * congruent to a small integer v (|v| < 2^22 - q/2) with |a| < 3q/2 this is
 * exactly v. */
static int32_t reduce32(int32_t a)
{
	int32_t t = (a + (1 << 22)) >> 23;

	return a - t * Q;
}

/* Adds q when a is negative. */
static int32_t caddq(int32_t a)
{
	return a + ((a >> 31) & Q);
}

/* The representative in [0, q). */
static int32_t freeze(int32_t a)
{
	return caddq(reduce32(a));
}

/* 1 when |a| >= bound, else 0, without a branch. */
static uint32_t ge_bound(int32_t a, int32_t bound)
{
	int32_t s = a >> 31;
	int32_t abs = (a ^ s) - s;

	return (uint32_t)(bound - 1 - abs) >> 31;
}

/* Montgomery product on unsigned lanes: a * b * 2^-32 mod q, in [0, 2q),
 * for a * b < q * 2^32. m = -p / q mod 2^32 makes p + m q divisible by
 * 2^32, and (p + m q) / 2^32 < (q 2^32 + 2^32 q) / 2^32 = 2q. The NTTs and
 * the pointwise products use this rather than a signed 64-bit reduction: an
 * unsigned 32 x 32 -> 64-bit multiply vectorises (SSE2 pmuludq; a signed
 * one needs SSE4.1), and is cheaper even in scalar code. */
#define QNEG 4236238847u /* -q^-1 mod 2^32 */

static uint32_t mont_mul_u(uint32_t a, uint32_t b)
{
	uint64_t p = (uint64_t)a * b;
	uint32_t m = (uint32_t)p * QNEG;

	return (uint32_t)((p + (uint64_t)m * Q) >> 32);
}

/* Algorithm 41, NTT(w), for |w| < q (every caller's input: y, z, s1, s2,
 * t0, c, t1 * 2^d <= q - 1); outputs |w| < 9q, congruent but not reduced.
 * The lanes are worked on as unsigned (the same object read through the
 * corresponding unsigned type, C11 6.5p7): w + q is in [0, 2q); a layer
 * adds less than 2q to each lane (t < 2q, and a[j] + 2q - t > a[j] >= 0),
 * so after 8 layers every lane is below 18q (and 18q * zeta < q * 2^32 for
 * mont_mul_u); subtracting 9q centres the result. */
static void ntt(int32_t a[N])
{
	uint32_t *u = (uint32_t *)a;
	unsigned len, start, j, m = 0;

	for (j = 0; j < N; j++)
		u[j] += Q;
	for (len = 128; len >= 4; len >>= 1) {
		for (start = 0; start < N; start = j + len) {
			uint32_t z = (uint32_t)caddq(zetas[++m]);

			for (j = start; j < start + len; j++) {
				uint32_t t = mont_mul_u(u[j + len], z);

				u[j + len] = u[j] + 2 * Q - t;
				u[j] += t;
			}
		}
	}
	/* The last two layers (len = 2: zetas[64..127], len = 1:
	 * zetas[128..255]) loop over blocks, so that the compiler vectorises
	 * across blocks instead of running two-element loops. */
	for (j = 0; j < N / 4; j++) {
		uint32_t z = (uint32_t)caddq(zetas[64 + j]), *b = u + 4 * j;
		uint32_t t0 = mont_mul_u(b[2], z), t1 = mont_mul_u(b[3], z);

		b[2] = b[0] + 2 * Q - t0;
		b[3] = b[1] + 2 * Q - t1;
		b[0] += t0;
		b[1] += t1;
	}
	for (j = 0; j < N / 2; j++) {
		uint32_t z = (uint32_t)caddq(zetas[128 + j]);
		uint32_t t = mont_mul_u(u[2 * j + 1], z);

		u[2 * j + 1] = u[2 * j] + 2 * Q - t;
		u[2 * j] += t;
	}
	for (j = 0; j < N; j++)
		u[j] -= 9 * Q;
}

/* Algorithm 42, NTT^-1(w), multiplied by R = 2^32 to cancel the R^-1 of a
 * preceding Montgomery product. Needs |w| < q; outputs |w| < q. Unsigned
 * lanes as in ntt(): w + q is in [0, 2q). Before the layer of half-size len
 * every lane is below off = 2 len q (true for len = 1; a layer turns a pair
 * below off into a sum below 2 off and a product below 2q), so
 * t + off - a[j + len] is in (0, 2 off) with 2 off <= 256q, and the
 * product with zeta < q stays below q * 2^32. */
static void invntt_tomont(int32_t a[N])
{
	const uint32_t f = 41978; /* R^2 / 256 mod q */
	const uint32_t fz = FZ;
	uint32_t *u = (uint32_t *)a;
	unsigned len, start, j, m = N / 4;

	for (j = 0; j < N; j++)
		u[j] += Q;
	/* The first two layers (len = 1: zetas[255..128], len = 2:
	 * zetas[127..64], with off = 2q and 4q) loop over blocks, as in
	 * ntt(). */
	for (j = 0; j < N / 2; j++) {
		uint32_t z = (uint32_t)caddq(-zetas[255 - j]);
		uint32_t t = u[2 * j], h = u[2 * j + 1];

		u[2 * j] = t + h;
		u[2 * j + 1] = mont_mul_u(t + 2 * Q - h, z);
	}
	for (j = 0; j < N / 4; j++) {
		uint32_t z = (uint32_t)caddq(-zetas[127 - j]), *b = u + 4 * j;
		uint32_t t0 = b[0], t1 = b[1];

		b[0] = t0 + b[2];
		b[1] = t1 + b[3];
		b[2] = mont_mul_u(t0 + 4 * Q - b[2], z);
		b[3] = mont_mul_u(t1 + 4 * Q - b[3], z);
	}
	for (len = 4; len < N / 2; len <<= 1) {
		const uint32_t off = 2 * len * Q;

		for (start = 0; start < N; start = j + len) {
			uint32_t z = (uint32_t)caddq(-zetas[--m]);

			for (j = start; j < start + len; j++) {
				uint32_t t = u[j];

				u[j] = t + u[j + len];
				u[j + len] = mont_mul_u(t + off - u[j + len], z);
			}
		}
	}
	/* The last layer (len = 128, zeta = -zetas[1]) with the scaling by f
	 * folded in: fz = f * -zetas[1] * R^-1 mod q. Lanes are below 256q,
	 * so both operands below are under 512q, and 512q * q < q * 2^32
	 * (512q = 4290773504 < 2^32). The results are in [0, 2q). */
	for (j = 0; j < N / 2; j++) {
		uint32_t t = u[j];

		u[j] = mont_mul_u(t + u[j + N / 2], f) - Q;
		u[j + N / 2] =
		    mont_mul_u(t + 256 * Q - u[j + N / 2], fz) - Q;
	}
}

/* r = a o b * R^-1 (Algorithm 45 with Montgomery products), for |a|, |b|
 * < 9q (NTT outputs, or A-hat's [0, q)); |r| < q. a + 9q and b + 9q are
 * below 18q, and 18q * 18q < q * 2^32 (324q < 2^32). */
static void poly_pointwise(int32_t r[N], const int32_t a[N], const int32_t b[N])
{
	unsigned i;

	for (i = 0; i < N; i++)
		r[i] = (int32_t)(mont_mul_u((uint32_t)(a[i] + 9 * Q),
					    (uint32_t)(b[i] + 9 * Q)) -
				 Q);
}

/* r = sum_j a[j] o b[j] * R^-1, reduced so that NTT^-1 may follow; a and b
 * point to L consecutive polynomials (a[j] is a + j * N). */
static void poly_dot_l(int32_t r[N], const int32_t *a, const int32_t *b)
{
	unsigned i, j;

	for (i = 0; i < N; i++) {
		uint32_t acc = 0;

		/* L products in [0, 2q) each: acc < 10q < 2^31 - 2^22. */
		for (j = 0; j < L; j++)
			acc += mont_mul_u((uint32_t)(a[j * N + i] + 9 * Q),
					  (uint32_t)(b[j * N + i] + 9 * Q));
		r[i] = reduce32((int32_t)acc);
	}
}

static void poly_reduce(poly *a)
{
	unsigned i;

	for (i = 0; i < N; i++)
		a->c[i] = reduce32(a->c[i]);
}

/* ---- Rounding (section 7.4) ---------------------------------------------- */

/* Algorithm 35 for r in [0, q): r1 = ceil((r - 2^12) / 2^13). */
static int32_t power2round(int32_t *r0, int32_t r)
{
	int32_t r1 = (r + (1 << (D - 1)) - 1) >> D;

	*r0 = r - (r1 << D);
	return r1;
}

/* Algorithm 36 for r in [0, q) and 2 gamma2 = 523776 = 128 * 4092: r1 is
 * round(r / 2gamma2) computed as ceil(r / 128) * 1025 / 2^22 (1025 / 2^22
 * approximates 1/4092 closely enough for every r < q), taken mod 16 so that
 * the top interval (r1 = 16) becomes r1 = 0, where r0 = r - q as the
 * standard's "r0 - 1" case asks. Checked exhaustively by the unit test. */
static int32_t decompose(int32_t *r0, int32_t r)
{
	int32_t r1 = (r + 127) >> 7;

	r1 = (r1 * 1025 + (1 << 21)) >> 22;
	r1 &= 15;
	*r0 = r - r1 * 2 * GAMMA2;
	*r0 -= (((Q - 1) / 2 - *r0) >> 31) & Q;
	return r1;
}

/* Algorithm 40, UseHint(h, r) for r in [0, q) (public data only). */
static int32_t use_hint(int32_t r, int h)
{
	int32_t r0, r1 = decompose(&r0, r);

	if (!h)
		return r1;
	return r0 > 0 ? (r1 + 1) & 15 : (r1 - 1) & 15;
}

int32_t sg_mldsa65_decompose(int32_t *r0, int32_t r)
{
	return decompose(r0, r);
}

int32_t sg_mldsa65_power2round(int32_t *r0, int32_t r)
{
	return power2round(r0, r);
}

void sg_mldsa65_polymul(int32_t r[N], const int32_t a[N], const int32_t b[N])
{
	poly x, y;
	unsigned i;

	memcpy(x.c, a, sizeof(x.c));
	memcpy(y.c, b, sizeof(y.c));
	ntt(x.c);
	ntt(y.c);
	poly_pointwise(x.c, x.c, y.c);
	invntt_tomont(x.c);
	for (i = 0; i < N; i++)
		r[i] = freeze(x.c[i]);
}

/* ---- Bit packing (section 7.1/7.2) --------------------------------------- */

/* Packs n values of `bits` bits, least significant bit first (BitPack /
 * SimpleBitPack: the value written is b - a[i] when neg, a[i] otherwise). */
static void pack(uint8_t *out, const int32_t *a, unsigned n, unsigned bits,
		 int32_t b, int neg)
{
	uint64_t acc = 0;
	unsigned nacc = 0, i;

	for (i = 0; i < n; i++) {
		uint32_t v = (uint32_t)(neg ? b - a[i] : a[i]);

		acc |= (uint64_t)(v & ((1u << bits) - 1)) << nacc;
		nacc += bits;
		while (nacc >= 8) {
			*out++ = (uint8_t)acc;
			acc >>= 8;
			nacc -= 8;
		}
	}
}

/* The inverse: a[i] = b - v when neg, v otherwise. */
static void unpack(int32_t *a, const uint8_t *in, unsigned n, unsigned bits,
		   int32_t b, int neg)
{
	uint64_t acc = 0;
	unsigned nacc = 0, i;
	const uint32_t mask = (1u << bits) - 1;

	for (i = 0; i < n; i++) {
		int32_t v;

		while (nacc < bits) {
			acc |= (uint64_t)*in++ << nacc;
			nacc += 8;
		}
		v = (int32_t)(acc & mask);
		acc >>= bits;
		nacc -= bits;
		a[i] = neg ? b - v : v;
	}
}

/* unpack(a, in, N, 20, GAMMA1, 1) unrolled (two coefficients in every five
 * bytes), for ExpandMask's and sigDecode's z. */
static void unpack_z(int32_t a[N], const uint8_t *in)
{
	unsigned i;

	for (i = 0; i < N / 2; i++, in += 5) {
		uint32_t v0 = (uint32_t)in[0] | (uint32_t)in[1] << 8 |
			      ((uint32_t)in[2] & 15) << 16;
		uint32_t v1 = (uint32_t)in[2] >> 4 | (uint32_t)in[3] << 4 |
			      (uint32_t)in[4] << 12;

		a[2 * i] = GAMMA1 - (int32_t)v0;
		a[2 * i + 1] = GAMMA1 - (int32_t)v1;
	}
}

/* pack(out, a, N, 4, 0, 0) unrolled: Algorithm 28, w1Encode, for
 * coefficients in [0, 16). */
static void pack_w1(uint8_t out[W1_BYTES], const int32_t a[N])
{
	unsigned i;

	for (i = 0; i < N / 2; i++)
		out[i] = (uint8_t)(a[2 * i] | a[2 * i + 1] << 4);
}

/* Algorithm 20, HintBitPack(h), h[i][j] in {0, 1} and public. */
static void hint_pack(uint8_t y[OMEGA + K], const poly h[K])
{
	unsigned i, j, idx = 0;

	memset(y, 0, OMEGA + K);
	for (i = 0; i < K; i++) {
		for (j = 0; j < N; j++) {
			if (h[i].c[j] != 0 && idx < OMEGA)
				y[idx++] = (uint8_t)j;
		}
		y[OMEGA + i] = (uint8_t)idx;
	}
}

/* Algorithm 21, HintBitUnpack(y): 0, or -1 for a malformed encoding
 * (counts decreasing or above omega, indices not strictly increasing within
 * a polynomial, nonzero padding). */
static int hint_unpack(poly h[K], const uint8_t y[OMEGA + K])
{
	unsigned i, idx = 0;

	memset(h, 0, sizeof(poly) * K);
	for (i = 0; i < K; i++) {
		unsigned first = idx, end = y[OMEGA + i];

		if (end < idx || end > OMEGA)
			return -1;
		for (; idx < end; idx++) {
			if (idx > first && y[idx - 1] >= y[idx])
				return -1;
			h[i].c[y[idx]] = 1;
		}
	}
	for (; idx < OMEGA; idx++) {
		if (y[idx] != 0)
			return -1;
	}
	return 0;
}

/* ---- Sampling (section 7.3) ---------------------------------------------- */

/* Algorithm 30, RejNTTPoly: A[r][s] from SHAKE128(rho || s || r). rho is
 * public. */
static void rej_ntt_poly(int32_t a[N], const uint8_t rho[32], uint8_t s,
			 uint8_t r)
{
	uint8_t seed[34], buf[5 * SG_SHAKE128_RATE];
	size_t len = sizeof(buf), p;
	unsigned ctr = 0;
	sg_keccak h;

	memcpy(seed, rho, 32);
	seed[32] = s;
	seed[33] = r;
	sg_shake128_init(&h);
	(void)sg_keccak_absorb(&h, seed, sizeof(seed));
	for (;;) {
		sg_keccak_squeeze(&h, buf, len);
		/* Algorithm 14, CoeffFromThreeBytes; len is a multiple of 3. */
		for (p = 0; p + 3 <= len && ctr < N; p += 3) {
			uint32_t v = (uint32_t)buf[p] |
				     ((uint32_t)buf[p + 1] << 8) |
				     ((uint32_t)(buf[p + 2] & 0x7f) << 16);

			if (v < Q)
				a[ctr++] = (int32_t)v;
		}
		if (ctr == N)
			break;
		len = SG_SHAKE128_RATE;
	}
}

/* Algorithm 32, ExpandA(rho): A in NTT form, row-major. */
static void expand_a(int32_t a[K][L][N], const uint8_t rho[32])
{
	unsigned r, s;

	for (r = 0; r < K; r++)
		for (s = 0; s < L; s++)
			rej_ntt_poly(a[r][s], rho, (uint8_t)s, (uint8_t)r);
}

/* Algorithm 31, RejBoundedPoly for eta = 4 from SHAKE256(rho' || le16(r)):
 * each nibble b < 9 gives 4 - b (Algorithm 15). rho' is secret; see the
 * file comment for why the per-nibble accept bit may be revealed. */
static void rej_bounded_poly(poly *a, const uint8_t rhop[64], uint16_t r)
{
	uint8_t seed[66], buf[2 * SG_SHAKE256_RATE];
	size_t len = sizeof(buf), p;
	unsigned ctr = 0;
	sg_keccak h;

	memcpy(seed, rhop, 64);
	seed[64] = (uint8_t)r;
	seed[65] = (uint8_t)(r >> 8);
	sg_shake256_init(&h);
	(void)sg_keccak_absorb(&h, seed, sizeof(seed));
	for (;;) {
		sg_keccak_squeeze(&h, buf, len);
		for (p = 0; p < len && ctr < N; p++) {
			int32_t z[2];
			unsigned t;

			z[0] = buf[p] & 15;
			z[1] = buf[p] >> 4;
			for (t = 0; t < 2; t++) {
				uint32_t ok = (uint32_t)(z[t] - 9) >> 31;

				SG_DECLASSIFY(&ok, sizeof(ok));
				if (ok && ctr < N)
					a->c[ctr++] = ETA - z[t];
			}
		}
		if (ctr == N)
			break;
		len = SG_SHAKE256_RATE;
	}
	sg_wipe(buf, sizeof(buf));
	sg_wipe(seed, sizeof(seed));
	sg_keccak_wipe(&h);
}

/* Algorithm 34, ExpandMask(rho'', kappa): y[r] from the first 640 bytes of
 * SHAKE256(rho'' || le16(kappa + r)), 20-bit values v giving gamma1 - v. */
static void expand_mask(poly y[L], const uint8_t rhopp[64], unsigned kappa)
{
	uint8_t seed[66], buf[Z_BYTES];
	unsigned r;
	sg_keccak h;

	memcpy(seed, rhopp, 64);
	for (r = 0; r < L; r++) {
		seed[64] = (uint8_t)(kappa + r);
		seed[65] = (uint8_t)((kappa + r) >> 8);
		sg_shake256_init(&h);
		(void)sg_keccak_absorb(&h, seed, sizeof(seed));
		sg_keccak_squeeze(&h, buf, sizeof(buf));
		unpack_z(y[r].c, buf);
	}
	sg_wipe(buf, sizeof(buf));
	sg_wipe(seed, sizeof(seed));
	sg_keccak_wipe(&h);
}

/* 0xff when a == b, else 0, without a branch. */
static uint8_t eq_mask8(uint8_t a, uint8_t b)
{
	uint8_t x = (uint8_t)(a ^ b);

	return (uint8_t)((uint8_t)((uint8_t)(x | (uint8_t)(0u - x)) >> 7) - 1u);
}

/* Algorithm 29, SampleInBall(c~): tau coefficients +-1. With secret set,
 * the swap c[i] <- c[j], c[j] <- +-1 reads and writes every position up to
 * i under a mask, so the secret index j never addresses memory; that path
 * works on a byte array w8 (0, 1, 0xff for -1) copied into c at the end. */
static void sample_in_ball(poly *c, const uint8_t ctilde[CTILDE_LEN],
			   int secret)
{
	uint8_t buf[SG_SHAKE256_RATE], w8[2 * N];
	uint64_t signs = 0;
	unsigned pos, i, t;
	sg_keccak h;

	/* w8[N + t] = t: byte-wide positions, so that the masked pass below
	 * vectorises without widening. */
	memset(w8, 0, N);
	for (t = 0; t < N; t++)
		w8[N + t] = (uint8_t)t;
	sg_shake256_init(&h);
	(void)sg_keccak_absorb(&h, ctilde, CTILDE_LEN);
	sg_keccak_squeeze(&h, buf, sizeof(buf));
	for (t = 0; t < 8; t++)
		signs |= (uint64_t)buf[t] << (8 * t);
	pos = 8;
	memset(c, 0, sizeof(*c));
	for (i = N - TAU; i < N; i++) {
		uint32_t j, rej;
		int32_t sgn = 1 - 2 * (int32_t)(signs & 1);

		signs >>= 1;
		for (;;) {
			if (pos == sizeof(buf)) {
				sg_keccak_squeeze(&h, buf, sizeof(buf));
				pos = 0;
			}
			j = buf[pos++];
			rej = (i - j) >> 31; /* j > i */
			if (secret)
				SG_DECLASSIFY(&rej, sizeof(rej));
			if (!rej)
				break;
		}
		if (secret) {
			/* One masked pass over byte lanes (16 to a vector
			 * register) reads c[j] and writes the sign there;
			 * c[i] (still 0) becomes the old c[j], or the sign
			 * when j = i. */
			uint8_t cj = 0, m, s8 = (uint8_t)sgn;

			for (t = 0; t < i; t++) {
				uint8_t v = w8[t];

				m = eq_mask8(w8[N + t], (uint8_t)j);
				cj |= (uint8_t)(v & m);
				w8[t] = (uint8_t)((v & ~m) | (s8 & m));
			}
			m = eq_mask8((uint8_t)i, (uint8_t)j);
			w8[i] = (uint8_t)((cj & ~m) | (s8 & m));
		} else {
			c->c[i] = c->c[j];
			c->c[j] = sgn;
		}
	}
	if (secret) {
		/* Bytes 0, 1, 0xff to 0, 1, -1. */
		for (t = 0; t < N; t++)
			c->c[t] = (int32_t)w8[t] - ((int32_t)(w8[t] & 0x80) << 1);
	}
	sg_wipe(w8, sizeof(w8));
	sg_wipe(buf, sizeof(buf));
	sg_wipe(&signs, sizeof(signs));
	sg_keccak_wipe(&h);
}

void sg_mldsa65_sample_in_ball(int32_t c[N], const uint8_t ctilde[48],
			       int secret)
{
	poly p;

	sample_in_ball(&p, ctilde, secret);
	memcpy(c, p.c, sizeof(p.c));
}

/* ---- Key generation (Algorithm 6) ---------------------------------------- */

/* Secret working state of key generation, wiped as one block. */
struct keygen_ws {
	uint8_t seedbuf[34];
	uint8_t hashed[128]; /* rho || rho' || K */
	poly s1[L], s2[K], t[K];
	int32_t s1hat[L][N];
	int32_t t0[N];
	sg_keccak h;
};

int sg_mldsa65_keypair(uint8_t pk[SG_MLDSA65_PK_LEN],
		       uint8_t sk[SG_MLDSA65_SK_LEN],
		       const uint8_t seed[SG_MLDSA65_SEED_LEN])
{
	int32_t a[K][L][N];
	struct keygen_ws ws;
	const uint8_t *rho = ws.hashed, *rhop = ws.hashed + 32;
	unsigned i, j;

	/* (rho, rho', K) = H(xi || k || l, 128) */
	memcpy(ws.seedbuf, seed, 32);
	ws.seedbuf[32] = K;
	ws.seedbuf[33] = L;
	sg_shake256(ws.hashed, sizeof(ws.hashed), ws.seedbuf,
		    sizeof(ws.seedbuf));
	/* rho is the public half of the public key. */
	SG_DECLASSIFY(ws.hashed, 32);

	expand_a(a, rho);
	for (i = 0; i < L; i++)
		rej_bounded_poly(&ws.s1[i], rhop, (uint16_t)i);
	for (i = 0; i < K; i++)
		rej_bounded_poly(&ws.s2[i], rhop, (uint16_t)(L + i));

	/* t = NTT^-1(A o NTT(s1)) + s2 */
	for (j = 0; j < L; j++)
		memcpy(ws.s1hat[j], ws.s1[j].c, sizeof(ws.s1hat[j]));
	for (j = 0; j < L; j++)
		ntt(ws.s1hat[j]);
	for (i = 0; i < K; i++) {
		poly_dot_l(ws.t[i].c, a[i][0], ws.s1hat[0]);
		invntt_tomont(ws.t[i].c);
		for (j = 0; j < N; j++)
			ws.t[i].c[j] = freeze(ws.t[i].c[j] + ws.s2[i].c[j]);
	}

	/* pk = rho || t1 (Algorithm 22), sk = rho || K || tr || s1 || s2 ||
	 * t0 (Algorithm 24). t is overwritten by t1. */
	memcpy(pk, rho, 32);
	memcpy(sk, rho, 32);
	memcpy(sk + 32, ws.hashed + 96, 32);
	for (i = 0; i < L; i++)
		pack(sk + SK_S1 + i * ETA_BYTES, ws.s1[i].c, N, 4, ETA, 1);
	for (i = 0; i < K; i++) {
		pack(sk + SK_S2 + i * ETA_BYTES, ws.s2[i].c, N, 4, ETA, 1);
		for (j = 0; j < N; j++)
			ws.t[i].c[j] = power2round(&ws.t0[j], ws.t[i].c[j]);
		pack(sk + SK_T0 + i * T0_BYTES, ws.t0, N, 13, 1 << (D - 1), 1);
		pack(pk + 32 + i * T1_BYTES, ws.t[i].c, N, 10, 0, 0);
	}
	sg_mldsa65_tr(sk + 64, pk);
	sg_wipe(&ws, sizeof(ws));
	return 0;
}

void sg_mldsa65_tr(uint8_t tr[SG_MLDSA65_TR_LEN],
		   const uint8_t pk[SG_MLDSA65_PK_LEN])
{
	sg_shake256(tr, SG_MLDSA65_TR_LEN, pk, SG_MLDSA65_PK_LEN);
}

int sg_mldsa65_mu_init(sg_keccak *h, const uint8_t tr[SG_MLDSA65_TR_LEN],
		       const uint8_t *ctx, size_t ctx_len)
{
	uint8_t pre[2];

	if (ctx_len > SG_MLDSA65_CTX_MAX)
		return SG_ERR_RANGE;
	/* M' = 0 || IntegerToBytes(|ctx|, 1) || ctx || M (Algorithm 2) */
	pre[0] = 0;
	pre[1] = (uint8_t)ctx_len;
	sg_shake256_init(h);
	(void)sg_keccak_absorb(h, tr, SG_MLDSA65_TR_LEN);
	(void)sg_keccak_absorb(h, pre, sizeof(pre));
	if (ctx_len > 0)
		(void)sg_keccak_absorb(h, ctx, ctx_len);
	return 0;
}

void sg_mldsa65_mu_final(uint8_t mu[SG_MLDSA65_MU_LEN], sg_keccak *h)
{
	sg_keccak_squeeze(h, mu, SG_MLDSA65_MU_LEN);
	sg_keccak_wipe(h);
}

/* mu = H(tr || M') for a message and a context the caller has checked
 * (ctx_len <= SG_MLDSA65_CTX_MAX): the pure ML-DSA of signing and
 * verification alike. */
static void message_mu(uint8_t mu[SG_MLDSA65_MU_LEN],
		       const uint8_t tr[SG_MLDSA65_TR_LEN], const uint8_t *msg,
		       size_t msg_len, const uint8_t *ctx, size_t ctx_len)
{
	sg_keccak h;

	(void)sg_mldsa65_mu_init(&h, tr, ctx, ctx_len);
	if (msg_len > 0)
		(void)sg_keccak_absorb(&h, msg, msg_len);
	sg_mldsa65_mu_final(mu, &h);
}

/* ---- Signing (Algorithm 7) ----------------------------------------------- */

/* Algorithm 25, skDecode, and Algorithm 7 lines 1-5: the part of signing
 * that depends on the key only. rho is public (it is in pk). */
void sg_mldsa65_expand_sk(sg_mldsa65_xsk *xsk,
			  const uint8_t sk[SG_MLDSA65_SK_LEN])
{
	uint8_t rho[32];
	unsigned i;

	memcpy(rho, sk, 32);
	SG_DECLASSIFY(rho, sizeof(rho));
	memcpy(xsk->key, sk + 32, 32);
	memcpy(xsk->tr, sk + 64, SG_MLDSA65_TR_LEN);
	for (i = 0; i < L; i++) {
		unpack(xsk->s1hat[i], sk + SK_S1 + i * ETA_BYTES, N, 4, ETA, 1);
		ntt(xsk->s1hat[i]);
	}
	for (i = 0; i < K; i++) {
		unpack(xsk->s2hat[i], sk + SK_S2 + i * ETA_BYTES, N, 4, ETA, 1);
		ntt(xsk->s2hat[i]);
		unpack(xsk->t0hat[i], sk + SK_T0 + i * T0_BYTES, N, 13,
		       1 << (D - 1), 1);
		ntt(xsk->t0hat[i]);
	}
	expand_a(xsk->a, rho);
}

void sg_mldsa65_xsk_wipe(sg_mldsa65_xsk *xsk)
{
	sg_wipe(xsk, sizeof(*xsk));
}

/* The secret parts of an expanded key (A-hat is public and need not be
 * wiped on the per-signature path). */
static void xsk_wipe_secret(sg_mldsa65_xsk *xsk)
{
	sg_wipe(xsk->s1hat, sizeof(xsk->s1hat));
	sg_wipe(xsk->s2hat, sizeof(xsk->s2hat));
	sg_wipe(xsk->t0hat, sizeof(xsk->t0hat));
	sg_wipe(xsk->key, sizeof(xsk->key));
	sg_wipe(xsk->tr, sizeof(xsk->tr));
}

/* Secret working state of signing, wiped as one block. */
struct sign_ws {
	uint8_t rhopp[64]; /* rho'' */
	uint8_t ctilde[CTILDE_LEN];
	uint8_t w1buf[K * W1_BYTES];
	int32_t yhat[L][N];
	poly y[L], z[L];
	poly w[K], w1[K], h[K];
	poly c, tmp;
	sg_keccak hs;
};

/* Algorithm 7 from line 6 on (rho'' and the rejection loop), mu given. */
int sg_mldsa65_sign_mu_expanded(uint8_t sig[SG_MLDSA65_SIG_LEN],
				const uint8_t mu[SG_MLDSA65_MU_LEN],
				const sg_mldsa65_xsk *xsk,
				const uint8_t rnd[SG_MLDSA65_RND_LEN])
{
	static const uint8_t zero_rnd[SG_MLDSA65_RND_LEN];
	struct sign_ws ws;
	unsigned i, j, kappa;
	int ret = SG_ERR_CRYPTO;

	if (!rnd)
		rnd = zero_rnd;

	/* rho'' = H(K || rnd || mu, 64) */
	sg_shake256_init(&ws.hs);
	(void)sg_keccak_absorb(&ws.hs, xsk->key, 32);
	(void)sg_keccak_absorb(&ws.hs, rnd, SG_MLDSA65_RND_LEN);
	(void)sg_keccak_absorb(&ws.hs, mu, SG_MLDSA65_MU_LEN);
	sg_keccak_squeeze(&ws.hs, ws.rhopp, sizeof(ws.rhopp));

	/* kappa is a 16-bit counter (IntegerToBytes(kappa + r, 2)). */
	for (kappa = 0; kappa + L <= 0xffff; kappa += L) {
		uint32_t bad = 0, hints = 0;

		/* w = NTT^-1(A o NTT(y)), w1 = HighBits(w) */
		expand_mask(ws.y, ws.rhopp, kappa);
		for (j = 0; j < L; j++) {
			memcpy(ws.yhat[j], ws.y[j].c, sizeof(ws.yhat[j]));
			ntt(ws.yhat[j]);
		}
		for (i = 0; i < K; i++) {
			poly_dot_l(ws.w[i].c, xsk->a[i][0], ws.yhat[0]);
			invntt_tomont(ws.w[i].c);
			for (j = 0; j < N; j++) {
				int32_t r0;

				ws.w[i].c[j] = caddq(ws.w[i].c[j]);
				ws.w1[i].c[j] = decompose(&r0, ws.w[i].c[j]);
			}
			/* Algorithm 28, w1Encode */
			pack_w1(ws.w1buf + i * W1_BYTES, ws.w1[i].c);
		}

		/* c~ = H(mu || w1Encode(w1), 48), c = SampleInBall(c~) */
		sg_shake256_init(&ws.hs);
		(void)sg_keccak_absorb(&ws.hs, mu, SG_MLDSA65_MU_LEN);
		(void)sg_keccak_absorb(&ws.hs, ws.w1buf, sizeof(ws.w1buf));
		sg_keccak_squeeze(&ws.hs, ws.ctilde, CTILDE_LEN);
		sample_in_ball(&ws.c, ws.ctilde, 1);
		ntt(ws.c.c);

		/* z = y + <<c s1>>; ||z|| < gamma1 - beta. This outcome is
		 * independent of s1 (see the file comment), so it is
		 * revealed on its own and the rest is skipped when it fails,
		 * as Algorithm 7 line 23 does. */
		for (j = 0; j < L; j++) {
			poly_pointwise(ws.tmp.c, ws.c.c, xsk->s1hat[j]);
			invntt_tomont(ws.tmp.c);
			for (i = 0; i < N; i++) {
				ws.z[j].c[i] =
				    ws.y[j].c[i] + reduce32(ws.tmp.c[i]);
				bad |= ge_bound(ws.z[j].c[i], GAMMA1 - BETA);
			}
		}
		SG_DECLASSIFY(&bad, sizeof(bad));
		if (bad)
			continue;

		/* r0 = LowBits(w - <<c s2>>), ||r0|| < gamma2 - beta;
		 * <<c t0>>, ||c t0|| < gamma2;
		 * h = MakeHint(-ct0, w - cs2 + ct0), i.e. whether adding ct0
		 * to w - cs2 changes its high bits; at most omega ones.
		 * These three conditions are combined into one decision. */
		for (i = 0; i < K; i++) {
			poly_pointwise(ws.tmp.c, ws.c.c, xsk->s2hat[i]);
			invntt_tomont(ws.tmp.c);
			for (j = 0; j < N; j++) {
				int32_t r0, r1;

				ws.w[i].c[j] = freeze(ws.w[i].c[j] -
						      reduce32(ws.tmp.c[j]));
				r1 = decompose(&r0, ws.w[i].c[j]);
				ws.h[i].c[j] = r1;
				bad |= ge_bound(r0, GAMMA2 - BETA);
			}
			poly_pointwise(ws.tmp.c, ws.c.c, xsk->t0hat[i]);
			invntt_tomont(ws.tmp.c);
			for (j = 0; j < N; j++) {
				int32_t r0, r1, ct0 = reduce32(ws.tmp.c[j]);
				uint32_t x;

				bad |= ge_bound(ct0, GAMMA2);
				r1 = decompose(&r0, freeze(ws.w[i].c[j] + ct0));
				x = (uint32_t)(r1 ^ ws.h[i].c[j]);
				x = (x | (0u - x)) >> 31;
				ws.h[i].c[j] = (int32_t)x;
				hints += x;
			}
		}
		bad |= (uint32_t)(OMEGA - (int32_t)hints) >> 31;

		/* The accept/reject decision is public. */
		SG_DECLASSIFY(&bad, sizeof(bad));
		if (bad)
			continue;

		/* Accepted: c~, z and h are the signature (Algorithm 26). */
		SG_DECLASSIFY(&ws.ctilde, sizeof(ws.ctilde));
		SG_DECLASSIFY(ws.z, sizeof(ws.z));
		SG_DECLASSIFY(ws.h, sizeof(ws.h));
		memcpy(sig, ws.ctilde, CTILDE_LEN);
		for (j = 0; j < L; j++)
			pack(sig + SIG_Z + j * Z_BYTES, ws.z[j].c, N, 20,
			     GAMMA1, 1);
		hint_pack(sig + SIG_H, ws.h);
		ret = 0;
		break;
	}
	if (ret != 0)
		memset(sig, 0, SG_MLDSA65_SIG_LEN);
	sg_wipe(&ws, sizeof(ws));
	return ret;
}

int sg_mldsa65_sign_mu(uint8_t sig[SG_MLDSA65_SIG_LEN],
		       const uint8_t mu[SG_MLDSA65_MU_LEN],
		       const uint8_t sk[SG_MLDSA65_SK_LEN],
		       const uint8_t rnd[SG_MLDSA65_RND_LEN])
{
	sg_mldsa65_xsk xsk;
	int ret;

	sg_mldsa65_expand_sk(&xsk, sk);
	ret = sg_mldsa65_sign_mu_expanded(sig, mu, &xsk, rnd);
	xsk_wipe_secret(&xsk);
	return ret;
}

int sg_mldsa65_sign_internal(uint8_t sig[SG_MLDSA65_SIG_LEN],
			     const uint8_t *mprime, size_t mprime_len,
			     const uint8_t sk[SG_MLDSA65_SK_LEN],
			     const uint8_t rnd[SG_MLDSA65_RND_LEN])
{
	uint8_t mu[SG_MLDSA65_MU_LEN];
	sg_keccak h;
	int ret;

	/* mu = H(tr || M', 64), tr from sk */
	sg_shake256_init(&h);
	(void)sg_keccak_absorb(&h, sk + 64, SG_MLDSA65_TR_LEN);
	if (mprime_len > 0)
		(void)sg_keccak_absorb(&h, mprime, mprime_len);
	sg_mldsa65_mu_final(mu, &h);
	ret = sg_mldsa65_sign_mu(sig, mu, sk, rnd);
	sg_wipe(mu, sizeof(mu));
	return ret;
}

int sg_mldsa65_sign(uint8_t sig[SG_MLDSA65_SIG_LEN], const uint8_t *msg,
		    size_t msg_len, const uint8_t *ctx, size_t ctx_len,
		    const uint8_t sk[SG_MLDSA65_SK_LEN],
		    const uint8_t rnd[SG_MLDSA65_RND_LEN])
{
	uint8_t mu[SG_MLDSA65_MU_LEN];
	int ret;

	if (ctx_len > SG_MLDSA65_CTX_MAX) {
		memset(sig, 0, SG_MLDSA65_SIG_LEN);
		return SG_ERR_RANGE;
	}
	message_mu(mu, sk + 64, msg, msg_len, ctx, ctx_len);
	ret = sg_mldsa65_sign_mu(sig, mu, sk, rnd);
	sg_wipe(mu, sizeof(mu));
	return ret;
}

int sg_mldsa65_sign_expanded(uint8_t sig[SG_MLDSA65_SIG_LEN],
			     const uint8_t *msg, size_t msg_len,
			     const uint8_t *ctx, size_t ctx_len,
			     const sg_mldsa65_xsk *xsk,
			     const uint8_t rnd[SG_MLDSA65_RND_LEN])
{
	uint8_t mu[SG_MLDSA65_MU_LEN];
	int ret;

	if (ctx_len > SG_MLDSA65_CTX_MAX) {
		memset(sig, 0, SG_MLDSA65_SIG_LEN);
		return SG_ERR_RANGE;
	}
	message_mu(mu, xsk->tr, msg, msg_len, ctx, ctx_len);
	ret = sg_mldsa65_sign_mu_expanded(sig, mu, xsk, rnd);
	sg_wipe(mu, sizeof(mu));
	return ret;
}

/* ---- Verification (Algorithm 8) ------------------------------------------ */

int sg_mldsa65_verify_mu(const uint8_t *sig, size_t sig_len,
			 const uint8_t mu[SG_MLDSA65_MU_LEN],
			 const uint8_t pk[SG_MLDSA65_PK_LEN])
{
	int32_t a[K][L][N], z[L][N];
	poly h[K], w[K], c, t1;
	uint8_t w1buf[K * W1_BYTES], ctilde[CTILDE_LEN];
	unsigned i, j;
	sg_keccak hs;

	if (sig == NULL || sig_len != SG_MLDSA65_SIG_LEN)
		return SG_ERR_VERIFY;

	/* Algorithm 27, sigDecode, and the norm check on z. */
	for (j = 0; j < L; j++) {
		unpack_z(z[j], sig + SIG_Z + j * Z_BYTES);
		for (i = 0; i < N; i++) {
			if (ge_bound(z[j][i], GAMMA1 - BETA))
				return SG_ERR_VERIFY;
		}
	}
	if (hint_unpack(h, sig + SIG_H) != 0)
		return SG_ERR_VERIFY;

	/* w'approx = NTT^-1(A o NTT(z) - NTT(c) o NTT(t1 * 2^d)) */
	expand_a(a, pk);
	sample_in_ball(&c, sig, 0);
	ntt(c.c);
	for (j = 0; j < L; j++)
		ntt(z[j]);
	for (i = 0; i < K; i++) {
		unpack(t1.c, pk + 32 + i * T1_BYTES, N, 10, 0, 0);
		for (j = 0; j < N; j++)
			t1.c[j] <<= D;
		ntt(t1.c);
		poly_pointwise(t1.c, t1.c, c.c);
		poly_dot_l(w[i].c, a[i][0], z[0]);
		for (j = 0; j < N; j++)
			w[i].c[j] -= t1.c[j];
		poly_reduce(&w[i]);
		invntt_tomont(w[i].c);
		/* w1' = UseHint(h, w'approx) */
		for (j = 0; j < N; j++)
			w[i].c[j] = use_hint(caddq(w[i].c[j]), h[i].c[j]);
		pack_w1(w1buf + i * W1_BYTES, w[i].c);
	}

	/* c~' = H(mu || w1Encode(w1'), 48) must equal c~ */
	sg_shake256_init(&hs);
	(void)sg_keccak_absorb(&hs, mu, SG_MLDSA65_MU_LEN);
	(void)sg_keccak_absorb(&hs, w1buf, sizeof(w1buf));
	sg_keccak_squeeze(&hs, ctilde, CTILDE_LEN);
	if (memcmp(ctilde, sig, CTILDE_LEN) != 0)
		return SG_ERR_VERIFY;
	return 0;
}

int sg_mldsa65_verify_internal(const uint8_t *sig, size_t sig_len,
			       const uint8_t *mprime, size_t mprime_len,
			       const uint8_t pk[SG_MLDSA65_PK_LEN])
{
	uint8_t tr[SG_MLDSA65_TR_LEN], mu[SG_MLDSA65_MU_LEN];
	sg_keccak h;

	if (sig == NULL || sig_len != SG_MLDSA65_SIG_LEN)
		return SG_ERR_VERIFY;
	sg_mldsa65_tr(tr, pk);
	sg_shake256_init(&h);
	(void)sg_keccak_absorb(&h, tr, sizeof(tr));
	if (mprime_len > 0)
		(void)sg_keccak_absorb(&h, mprime, mprime_len);
	sg_mldsa65_mu_final(mu, &h);
	return sg_mldsa65_verify_mu(sig, sig_len, mu, pk);
}

int sg_mldsa65_verify(const uint8_t *sig, size_t sig_len, const uint8_t *msg,
		      size_t msg_len, const uint8_t *ctx, size_t ctx_len,
		      const uint8_t pk[SG_MLDSA65_PK_LEN])
{
	uint8_t tr[SG_MLDSA65_TR_LEN], mu[SG_MLDSA65_MU_LEN];

	if (sig == NULL || sig_len != SG_MLDSA65_SIG_LEN ||
	    ctx_len > SG_MLDSA65_CTX_MAX)
		return SG_ERR_VERIFY;
	sg_mldsa65_tr(tr, pk);
	message_mu(mu, tr, msg, msg_len, ctx, ctx_len);
	return sg_mldsa65_verify_mu(sig, sig_len, mu, pk);
}
