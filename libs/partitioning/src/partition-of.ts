import { sha1 } from './sha1';

/**
 * Most hex digits a partition number may take: 13 digits = 52 bits, the widest integer a
 * double holds exactly. The protocol caps D far lower (PARTITION_DIGITS_MAX); this bound only
 * guards the arithmetic.
 */
export const PARTITION_DIGITS_EXACT_MAX = 13;
/** Hex digits per byte of the digest. */
const HEX_DIGITS_PER_BYTE = 2;
const NIBBLE_BITS = 4;
const NIBBLE_MASK = 0x0f;

function assertDigits(digits: number): void {
  if (!Number.isInteger(digits) || digits < 1 || digits > PARTITION_DIGITS_EXACT_MAX) {
    throw new Error(`partition digits must be an integer in 1..${PARTITION_DIGITS_EXACT_MAX}, got ${digits}`);
  }
}

// Reading nibbles from the raw digest avoids building the 40-character hex string on the hot
// path; the result is the same number as parseInt(hex.slice(0, digits), 16).
function leadingHexDigits(digest: Uint8Array, digits: number): number {
  let value = 0;
  for (let i = 0; i < digits; i++) {
    const byte = digest[Math.floor(i / HEX_DIGITS_PER_BYTE)];
    const nibble = i % HEX_DIGITS_PER_BYTE === 0 ? byte >> NIBBLE_BITS : byte & NIBBLE_MASK;
    value = value * 16 + nibble;
  }
  return value;
}

/**
 * Partition of a key: first `digits` hex digits of SHA-1(UTF-8 bytes of key), as a number
 * 0..16^digits-1. A lone surrogate is encoded as U+FFFD, as Node's UTF-8 encoder does; the
 * protocol rejects such keys before they get here.
 */
export function partitionOf(key: string, digits: number): number {
  assertDigits(digits);
  return leadingHexDigits(sha1(key), digits);
}

/** Same for a raw key given as bytes. */
export function partitionOfBytes(key: Uint8Array, digits: number): number {
  assertDigits(digits);
  return leadingHexDigits(sha1(key), digits);
}
