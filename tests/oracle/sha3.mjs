// Differential oracle for FIPS 202: prints one JSON object per line with a
// random message and the digest @noble/hashes computes for it. Lengths cover
// 0..600 bytes (every offset around the 72/136/168-byte rates) and a few
// multi-block sizes; SHAKE outputs of 1..700 bytes.
// usage: node sha3.mjs COUNT SEED
import { sha3_256, sha3_512, shake128, shake256 } from '@noble/hashes/sha3.js';
import { bytesToHex } from '@noble/hashes/utils.js';

const count = Number(process.argv[2] ?? 2000);
let seed = BigInt(process.argv[3] ?? 1);
function rnd32() { // xorshift64*, deterministic for a given seed
  seed ^= seed << 13n; seed &= (1n << 64n) - 1n;
  seed ^= seed >> 7n;
  seed ^= seed << 17n; seed &= (1n << 64n) - 1n;
  return Number(seed & 0xffffffffn);
}
const algs = [
  ['sha3-256', (m) => sha3_256(m), () => 32],
  ['sha3-512', (m) => sha3_512(m), () => 64],
  ['shake128', (m, n) => shake128(m, { dkLen: n }), () => 1 + (rnd32() % 700)],
  ['shake256', (m, n) => shake256(m, { dkLen: n }), () => 1 + (rnd32() % 700)],
];
for (let i = 0; i < count; i++) {
  const len = i < 601 ? i : [1000, 1344, 2000, 4096, 8191, 20000][i % 6];
  const msg = new Uint8Array(len);
  for (let j = 0; j < len; j++) msg[j] = rnd32() & 0xff;
  const [name, fn, outLen] = algs[i % 4];
  const n = outLen();
  process.stdout.write(JSON.stringify({ alg: name, msg: bytesToHex(msg), outlen: n,
    out: bytesToHex(fn(msg, n)) }) + '\n');
}
