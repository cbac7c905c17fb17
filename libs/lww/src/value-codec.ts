import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Entry } from './entry';

/**
 * Values stored compressed. A storage node with compression on keeps a value of at least
 * `compressMinBytes` as raw deflate (node:zlib) when that is smaller, and marks the entry
 * with its plain length (`Entry.z`). Compression is local to the node: every entry leaves it
 * plain (reads, copies, anti-entropy), so replicas with and without it work together, and
 * memory and disk accounting count the bytes actually stored.
 */
export const COMPRESSION_DEFAULTS = {
  /**
   * Smallest value tried, bytes. Below about 1 KiB deflate saves little (short values carry
   * little redundancy, and a stored record carries a header of its own anyway) while every
   * write and read would pay the call.
   */
  compressMinBytes: 1024,
  /** zlib level: 1, the fastest; higher levels cost several times the CPU for a few % more (see docs/benchmarks.md). */
  compressLevel: 1,
} as const;

export interface CompressionConfig {
  compressMinBytes: number;
  compressLevel: number;
}

/** The entry as stored: compressed when that saves bytes, otherwise itself. */
export function compressEntry(e: Entry, cfg: CompressionConfig): Entry {
  if (e.value === null || e.z !== undefined || e.value.length < cfg.compressMinBytes) return e;
  const packed = deflateRawSync(e.value, { level: cfg.compressLevel, strategy: constants.Z_DEFAULT_STRATEGY });
  if (packed.length >= e.value.length) return e;
  // A copy of the exact length: the deflate output buffer may be larger than its content.
  const stored = Buffer.from(packed);
  return e.exp === undefined ? { ver: e.ver, value: stored, z: e.value.length } : { ver: e.ver, value: stored, exp: e.exp, z: e.value.length };
}

/** The entry with its value plain (what leaves the node). */
export function plainEntry(e: Entry): Entry {
  if (e.z === undefined || e.value === null) return e;
  const value = inflateRawSync(e.value, { maxOutputLength: e.z });
  if (value.length !== e.z) throw new Error(`a compressed value inflated to ${value.length} bytes, not the ${e.z} recorded`);
  return e.exp === undefined ? { ver: e.ver, value } : { ver: e.ver, value, exp: e.exp };
}

/** The length of the plain value (null for a tombstone), without inflating it. */
export function plainBytes(e: Entry): number | null {
  if (e.value === null) return null;
  return e.z ?? e.value.length;
}
