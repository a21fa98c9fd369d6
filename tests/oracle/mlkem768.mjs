// Differential oracle for FIPS 203 ML-KEM-768: prints one JSON object per
// line with a random 64-byte key seed (d || z) and 32-byte encapsulation
// message m, and what @noble/post-quantum computes from them: ek, dk, the
// ciphertext and shared secret, plus a ciphertext with one random bit
// flipped and the (implicit-rejection) secret decapsulation gives for it.
// usage: node mlkem768.mjs COUNT SEED
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { bytesToHex } from '@noble/hashes/utils.js';

const count = Number(process.argv[2] ?? 1000);
let state = BigInt(process.argv[3] ?? 1);
function rnd32() { // xorshift64*, deterministic for a given seed
  state ^= state << 13n; state &= (1n << 64n) - 1n;
  state ^= state >> 7n;
  state ^= state << 17n; state &= (1n << 64n) - 1n;
  return Number(state & 0xffffffffn);
}
function bytes(n) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rnd32() & 0xff;
  return b;
}
for (let i = 0; i < count; i++) {
  const seed = bytes(64);
  const m = bytes(32);
  const { publicKey, secretKey } = ml_kem768.keygen(seed);
  const { cipherText, sharedSecret } = ml_kem768.encapsulate(publicKey, m);
  const bit = rnd32() % (8 * cipherText.length);
  const bad = cipherText.slice();
  bad[bit >> 3] ^= 1 << (bit & 7);
  const rejected = ml_kem768.decapsulate(bad, secretKey);
  process.stdout.write(JSON.stringify({
    seed: bytesToHex(seed), m: bytesToHex(m),
    ek: bytesToHex(publicKey), dk: bytesToHex(secretKey),
    ct: bytesToHex(cipherText), ss: bytesToHex(sharedSecret),
    bad_ct: bytesToHex(bad), bad_ss: bytesToHex(rejected),
  }) + '\n');
}
