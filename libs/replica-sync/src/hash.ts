/**
 * Small non-cryptographic hashes for digests. Every node runs the same code, so hashing
 * UTF-16 code units (no encoding step) is as deterministic as hashing UTF-8 bytes and cheaper.
 * A digest only has to notice differences between honest replicas, not resist an adversary.
 */
const FNV_PRIME = 0x01000193;

/** FNV-1a over the string's UTF-16 code units, starting from `seed`. */
export function fnv1a(text: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/** Murmur3's finaliser: every input bit affects every output bit. */
export function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function mix(h: number, word: number): number {
  return Math.imul((h ^ (word >>> 0)) >>> 0, FNV_PRIME) >>> 0;
}

const SEED_BUCKET = 0x811c9dc5;
const SEED_LANE_A = 0x9747b28c;
const SEED_LANE_B = 0x3c6ef372;

/** The digest bucket of a key (independent of the partition hash, which is SHA-1 of the key). */
export function bucketOf(key: string, buckets: number): number {
  return fmix32(fnv1a(key, SEED_BUCKET)) % buckets;
}

export interface VersionLike {
  ms: number;
  c: number;
  w: string;
}

/**
 * Two independent 32-bit hashes of (key, version, tombstone flag). The value is left out: a
 * version names one value (a frontend stamps each write with a fresh clock tick, and every
 * copy of that write carries the same value), so hashing values would cost bytes for nothing.
 * The same holds for a value's expiry (derived from the stamp) and for how a node stores it
 * (compressed or not): neither is hashed, so digests of replicas agree whatever each does.
 */
export function entryHash(key: string, ver: VersionLike, tombstone: boolean): [number, number] {
  const msLow = ver.ms % 0x100000000;
  const msHigh = Math.floor(ver.ms / 0x100000000);
  const lane = (seed: number) => {
    let h = fnv1a(key, seed);
    h = mix(h, 0xff);
    h = mix(h, msLow);
    h = mix(h, msHigh);
    h = mix(h, ver.c);
    h = fnv1a(ver.w, h);
    h = mix(h, tombstone ? 1 : 2);
    return fmix32(h);
  };
  return [lane(SEED_LANE_A), lane(SEED_LANE_B)];
}
