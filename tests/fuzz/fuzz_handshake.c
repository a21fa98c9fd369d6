/*
 * Fuzz target for the handshake cores (docs/PROTOCOL.md, "Handshake"). The
 * first byte picks where the input goes, the second how it is chunked
 * (0: in one piece, n: n bytes at a time), the rest is a CRYPTO stream:
 *
 *   0 server waiting for ClientHello        (Initial)
 *   1 client waiting for ServerHello        (Initial)
 *   2 client waiting for ServerIdentity     (Handshake)
 *   3 client waiting for CertificateVerify  (Handshake)
 *   4 client waiting for Finished           (Handshake)
 *   5 server waiting for ClientIdentity     (Handshake)
 *   6 server waiting for CertificateVerify  (Handshake)
 *   7 server waiting for Finished           (Handshake)
 *   8 sg_handshake_check_client_hello
 *
 * Bit 7 of the first byte delivers at the other level. The states come from
 * the recorded vector's session (tests/kat/handshake_vector.json: same
 * identities, parameters and random bytes), so the seed corpus is that
 * vector's messages (tests/fuzz/corpus/fuzz_handshake/: each file is the
 * case byte, the chunk byte and the message or flight from the vector).
 * Checks: no crash, errors are sticky, a core waiting for a Finished
 * completes only on the genuine message, and always on it.
 */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "sg/err.h"
#include "sg/handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const cseed_hex =
    "7e9c784ea7b2028f9b68427a8b1ae5f4a19da143aa203f05a7edb75244ed86ac";
static const char *const sseed_hex =
    "6fd349fb7e7c49a7a969448d6f71b1f702fbd1dff7822c8c9e3c0cc93906dd65";
static const char *const crand_hex =
    "f256d62bcf53a8802b3b0503a04ff9d3683b0e93eae7c8825d6064cd77eb7778"
    "b87a3a4cee601fe408f0a6543ae171f90b7335a38c1ab41b815f33beafa50a18"
    "538547e315c2afe4aea1b420d3a84e40b46f1be574e0b776cd418076337b4ddf"
    "b84f781593b9b0e8cc0867493f2734bc5fa36d2a5089452e6542e985f8702d32"
    "e83b821784420c99170a15188f315b9bc17354e82aa4abb2a0240dfc2fc3ed6f";
static const char *const srand_hex =
    "8149a45d3bd867a4e687f2f963d02c785d12501c81c7cf6403fb296866faa4fb"
    "92da77a5064b5f0b022593df06220d87b93825b074209cbe0cb6806ac12806d5"
    "a0be886ef99b2976c0e65326235cde9c527c91edd2d185520b48f842980f92c3"
    "59230d7f5bca668bf77c004d363ff47f54fdbb87981cf86650ac860c96a64ec2";
static const char ctp[] = "saorsa-gossip test client parameters";
static const char stp[] = "saorsa-gossip test server parameters!";

/* Serves the recorded bytes, then a counter pattern (never fails). */
typedef struct fixed_rng {
	uint8_t buf[160];
	size_t len, used;
} fixed_rng;

static int fixed_random(void *ud, uint8_t *out, size_t len)
{
	fixed_rng *r = ud;
	size_t i;

	for (i = 0; i < len; i++, r->used++)
		out[i] = r->used < r->len ? r->buf[r->used]
					  : (uint8_t)(r->used * 131u);
	return 0;
}

static sg_identity ci, si;
static fixed_rng cr, sr;
static sg_env ce, se;
/* cp[k] is the core of case k just before its message; genuine[k] that
 * message. */
static sg_handshake cp[8], work;
static uint8_t genuine[8][6200];
static size_t genuine_len[8];

/* Moves everything `from` sends into `to`, recording each message. */
static void relay(sg_handshake *from, sg_handshake *to, sg_handshake *snap,
		  int first_case)
{
	static uint8_t fl[16384];
	sg_handshake_level l[64];
	size_t off[64], n = 0, len = 0, at = 0;
	long r;
	int k = first_case;

	while ((r = sg_handshake_poll_tx(from, &l[n], fl + len,
					 sizeof(fl) - len)) > 0) {
		off[n++] = len;
		len += (size_t)r;
	}
	/* Deliver message by message, snapshotting before each one. */
	while (at < len) {
		size_t mlen = 4 + ((size_t)fl[at + 1] << 16 |
				   (size_t)fl[at + 2] << 8 | fl[at + 3]);
		sg_handshake_level lvl = l[0];
		size_t i;

		for (i = 0; i < n; i++)
			if (off[i] <= at)
				lvl = l[i];
		if (k >= 0 && k < 8) {
			memcpy(&snap[k], to, sizeof(*to));
			memcpy(genuine[k], fl + at, mlen);
			genuine_len[k] = mlen;
		}
		if (sg_handshake_recv(to, lvl, fl + at, mlen) != 0)
			__builtin_trap();
		at += mlen;
		k++;
	}
}

static void setup(void)
{
	static sg_handshake c, s;
	uint8_t seed[32];
	sg_peer_id expected;

	if (sg_env_default(&ce) != 0)
		__builtin_trap();
	se = ce;
	ce.random = fixed_random;
	ce.random_ud = &cr;
	se.random = fixed_random;
	se.random_ud = &sr;
	cr.len = (size_t)sg_hex_decode(cr.buf, sizeof(cr.buf), crand_hex,
				       strlen(crand_hex));
	sr.len = (size_t)sg_hex_decode(sr.buf, sizeof(sr.buf), srand_hex,
				       strlen(srand_hex));
	sg_hex_decode(seed, 32, cseed_hex, 64);
	sg_identity_from_seed(&ci, seed);
	sg_hex_decode(seed, 32, sseed_hex, 64);
	sg_identity_from_seed(&si, seed);
	expected = si.id;
	if (sg_handshake_init(&c, SG_HANDSHAKE_CLIENT, &ci, &expected,
			      (const uint8_t *)ctp, sizeof(ctp) - 1,
			      &ce) != 0 ||
	    sg_handshake_init(&s, SG_HANDSHAKE_SERVER, &si, NULL,
			      (const uint8_t *)stp, sizeof(stp) - 1, &se) != 0)
		__builtin_trap();
	/* Case 0: the server before the ClientHello. */
	relay(&c, &s, cp, 0);
	/* Cases 1-4: the client before each server message. */
	relay(&s, &c, cp, 1);
	/* Cases 5-7: the server before each client message. */
	relay(&c, &s, cp, 5);
	if (!sg_handshake_done(&c) || !sg_handshake_done(&s))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	sg_handshake_level lvl;
	size_t chunk, at = 0;
	int k, rc = 0;
	uint8_t out[64];

	if (!ready) {
		setup();
		ready = 1;
	}
	if (size < 2)
		return 0;
	k = (data[0] & 0x7f) % 9;
	chunk = data[1] ? data[1] : size;
	data += 2;
	size -= 2;
	if (k == 8) {
		(void)sg_handshake_check_client_hello(data, size);
		return 0;
	}
	lvl =
	    k <= 1 ? SG_HANDSHAKE_LEVEL_INITIAL : SG_HANDSHAKE_LEVEL_HANDSHAKE;
	if (data[-2] & 0x80)
		lvl = lvl == SG_HANDSHAKE_LEVEL_INITIAL
			  ? SG_HANDSHAKE_LEVEL_HANDSHAKE
			  : SG_HANDSHAKE_LEVEL_INITIAL;
	memcpy(&work, &cp[k], sizeof(work));
	/* Each side draws its recorded bytes again (H.5 order). */
	sr.used = 0;
	cr.used = 32 + 32 + 64;
	while (at < size && rc == 0) {
		size_t n = size - at < chunk ? size - at : chunk;
		rc = sg_handshake_recv(&work, lvl, data + at, n);
		at += n;
	}
	/* Errors are sticky and end everything. */
	if (rc != 0 &&
	    (sg_handshake_error(&work) != rc ||
	     sg_handshake_poll_tx(&work, &lvl, out, sizeof(out)) != rc ||
	     sg_handshake_done(&work)))
		__builtin_trap();
	/* Only the genuine Finished completes a handshake, and it does. */
	if (k == 4 || k == 7) {
		int real = size == genuine_len[k] &&
			   memcmp(data, genuine[k], size) == 0 &&
			   !(data[-2] & 0x80);
		if (sg_handshake_done(&work) != real)
			__builtin_trap();
	}
	sg_handshake_fini(&work);
	return 0;
}
