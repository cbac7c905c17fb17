import { hash } from 'node:crypto';

/**
 * SHA-1 digest via node:crypto, for keys (any length, hashed as UTF-8 when a string). The
 * one-shot crypto.hash costs about half of createHash().update().digest().
 */
export function sha1(data: string | Uint8Array): Buffer {
  return hash('sha1', data, 'buffer');
}

/** SHA-1 block size and the bytes its length trailer takes. Units: bytes. */
const BLOCK_BYTES = 64;
const LENGTH_TRAILER_BYTES = 8;
/** Longest string sha1Prefix hashes without growing its scratch buffer. Unit: UTF-16 code units. */
const SCRATCH_CHARS = 256;
/** UTF-8 takes at most 3 bytes per UTF-16 code unit. */
const UTF8_BYTES_PER_CHAR_MAX = 3;

const encoder = new TextEncoder();
let scratch = new Uint8Array(SCRATCH_CHARS * UTF8_BYTES_PER_CHAR_MAX + BLOCK_BYTES + LENGTH_TRAILER_BYTES);
const words = new Int32Array(80);

/**
 * First 8 bytes of SHA-1(UTF-8 of text), as two unsigned 32-bit words. Placement hashes every
 * (partition, node) pair, P * n of them (80,000 for P = 4096, n = 20); for such short inputs a
 * plain JS compression is several times cheaper than a call into node:crypto, which costs
 * microseconds of fixed overhead each. Cross-checked against node:crypto in sha1.spec.ts.
 */
export function sha1Prefix(text: string): [number, number] {
  const worstBytes = text.length * UTF8_BYTES_PER_CHAR_MAX + BLOCK_BYTES + LENGTH_TRAILER_BYTES;
  if (worstBytes > scratch.length) scratch = new Uint8Array(worstBytes);
  const length = encoder.encodeInto(text, scratch).written;
  const total = Math.ceil((length + 1 + LENGTH_TRAILER_BYTES) / BLOCK_BYTES) * BLOCK_BYTES;
  scratch.fill(0, length, total);
  scratch[length] = 0x80;
  // Bit length, big-endian, in the last 8 bytes; inputs here are far below 2^32 bits.
  const bits = length * 8;
  scratch[total - 4] = bits >>> 24;
  scratch[total - 3] = (bits >>> 16) & 0xff;
  scratch[total - 2] = (bits >>> 8) & 0xff;
  scratch[total - 1] = bits & 0xff;

  let h0 = 0x67452301;
  let h1 = 0xefcdab89 | 0;
  let h2 = 0x98badcfe | 0;
  let h3 = 0x10325476;
  let h4 = 0xc3d2e1f0 | 0;
  for (let offset = 0; offset < total; offset += BLOCK_BYTES) {
    for (let i = 0; i < 16; i++) {
      const j = offset + i * 4;
      words[i] = (scratch[j] << 24) | (scratch[j + 1] << 16) | (scratch[j + 2] << 8) | scratch[j + 3];
    }
    for (let i = 16; i < 80; i++) {
      const x = words[i - 3] ^ words[i - 8] ^ words[i - 14] ^ words[i - 16];
      words[i] = (x << 1) | (x >>> 31);
    }
    let a = h0;
    let b = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    for (let i = 0; i < 80; i++) {
      let f: number;
      let k: number;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc | 0;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6 | 0;
      }
      const t = (((a << 5) | (a >>> 27)) + f + e + k + words[i]) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = t;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
  }
  return [h0 >>> 0, h1 >>> 0];
}
