// Differential oracle for ML-DSA-65 (FIPS 204) using @noble/post-quantum.
//
//   node mldsa65.mjs gen COUNT SEED
//     prints COUNT JSON lines {seed, pk, sk, msg, ctx, sig}: a random 32-byte
//     key seed, noble's key pair for it, a random message (0..299 bytes) and
//     context (0..255 bytes, the ends included), and noble's deterministic
//     signature (pure ML-DSA.Sign with rnd = 0^32).
//   node mldsa65.mjs verify FILE
//     reads JSON lines {pk, msg, ctx, sig, expect} and checks that noble's
//     verify(sig, msg, pk, {context: ctx}) equals expect for each; prints
//     {"checked": n, "valid": v, "mismatches": m} and exits 1 on a mismatch.
import { readFileSync } from 'node:fs';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';

const mode = process.argv[2];
if (mode === 'gen') {
  const count = Number(process.argv[3] ?? 1000);
  let state = BigInt(process.argv[4] ?? 1);
  const rnd32 = () => { // xorshift64*, deterministic for a given seed
    state ^= state << 13n; state &= (1n << 64n) - 1n;
    state ^= state >> 7n;
    state ^= state << 17n; state &= (1n << 64n) - 1n;
    return Number((state * 0x2545f4914f6cdd1dn >> 32n) & 0xffffffffn);
  };
  const bytes = (n) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = rnd32() & 0xff;
    return b;
  };
  const out = [];
  for (let i = 0; i < count; i++) {
    const seed = bytes(32);
    const { publicKey, secretKey } = ml_dsa65.keygen(seed);
    const msg = bytes(i === 0 ? 0 : rnd32() % 300);
    const clen = i === 1 ? 255 : i === 2 ? 0 : rnd32() % 256;
    const ctx = bytes(clen);
    const sig = ml_dsa65.sign(msg, secretKey, { context: ctx, extraEntropy: false });
    out.push(JSON.stringify({
      seed: bytesToHex(seed), pk: bytesToHex(publicKey), sk: bytesToHex(secretKey),
      msg: bytesToHex(msg), ctx: bytesToHex(ctx), sig: bytesToHex(sig),
    }));
    if (out.length === 50) { process.stdout.write(out.join('\n') + '\n'); out.length = 0; }
  }
  if (out.length) process.stdout.write(out.join('\n') + '\n');
} else if (mode === 'verify') {
  const lines = readFileSync(process.argv[3], 'utf8').split('\n').filter((l) => l.length);
  let checked = 0, valid = 0, mismatches = 0;
  for (const line of lines) {
    const c = JSON.parse(line);
    const ok = ml_dsa65.verify(hexToBytes(c.sig), hexToBytes(c.msg), hexToBytes(c.pk),
      { context: hexToBytes(c.ctx) });
    checked++;
    if (ok) valid++;
    if (ok !== c.expect) {
      mismatches++;
      process.stderr.write(`case ${checked - 1}: noble says ${ok}, expected ${c.expect}\n`);
    }
  }
  process.stdout.write(JSON.stringify({ checked, valid, mismatches }) + '\n');
  process.exit(mismatches ? 1 : 0);
} else {
  process.stderr.write('usage: node mldsa65.mjs gen COUNT SEED | verify FILE\n');
  process.exit(2);
}
