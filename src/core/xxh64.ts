/** xxHash64 (seed 0 by default) over UTF-8 bytes, as python-xxhash's `xxh64_hexdigest`: the PV path contract. */

const MASK = (1n << 64n) - 1n;
const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;

const rotl = (value: bigint, bits: bigint): bigint => ((value << bits) | (value >> (64n - bits))) & MASK;
const mul = (a: bigint, b: bigint): bigint => (a * b) & MASK;

function round(acc: bigint, lane: bigint): bigint {
  return mul(rotl((acc + mul(lane, P2)) & MASK, 31n), P1);
}

function mergeRound(acc: bigint, value: bigint): bigint {
  return (mul(acc ^ round(0n, value), P1) + P4) & MASK;
}

export function xxh64(input: Uint8Array | string, seed = 0n): bigint {
  const bytes = typeof input === "string" ? new TextEncoder().encode(input) : input;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = bytes.length;
  let offset = 0;
  let hash: bigint;
  if (length >= 32) {
    let v1 = (seed + P1 + P2) & MASK;
    let v2 = (seed + P2) & MASK;
    let v3 = seed;
    let v4 = (seed - P1) & MASK;
    for (; offset + 32 <= length; offset += 32) {
      v1 = round(v1, view.getBigUint64(offset, true));
      v2 = round(v2, view.getBigUint64(offset + 8, true));
      v3 = round(v3, view.getBigUint64(offset + 16, true));
      v4 = round(v4, view.getBigUint64(offset + 24, true));
    }
    hash = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & MASK;
    for (const v of [v1, v2, v3, v4]) hash = mergeRound(hash, v);
  } else {
    hash = (seed + P5) & MASK;
  }
  hash = (hash + BigInt(length)) & MASK;
  for (; offset + 8 <= length; offset += 8) {
    hash = (mul(rotl(hash ^ round(0n, view.getBigUint64(offset, true)), 27n), P1) + P4) & MASK;
  }
  if (offset + 4 <= length) {
    hash = (mul(rotl(hash ^ mul(BigInt(view.getUint32(offset, true)), P1), 23n), P2) + P3) & MASK;
    offset += 4;
  }
  for (; offset < length; offset += 1) {
    hash = mul(rotl(hash ^ mul(BigInt(bytes[offset]!), P5), 11n), P1);
  }
  hash = mul(hash ^ (hash >> 33n), P2);
  hash = mul(hash ^ (hash >> 29n), P3);
  return hash ^ (hash >> 32n);
}

export function xxh64Hex(input: Uint8Array | string): string {
  return xxh64(input).toString(16).padStart(16, "0");
}
