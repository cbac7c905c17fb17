import type { Entry } from './entry';

/**
 * One stored entry as bytes in a slab (little-endian):
 *
 *   0  u8   flags (below)
 *   1  u8   writer id, as an index into the store's writer table (WIDE_WRITER: 255 here, u32 below)
 *   2  u16  key length, bytes
 *   4  u32  value length, bytes (0 for a tombstone)
 *   8  u48  version ms (WIDE_MS: 0 here, f64 below)
 *  14  u16  version counter (WIDE_COUNTER: 0 here, f64 below)
 *  16  [f64 ms] [f64 counter] [u32 writer] [f64 expiry ms] [u32 plain length z]   each only when its flag is set
 *      key bytes (UTF-8), then value bytes
 *
 * The common record (a stamp of today, a small counter, one of few writers) has the 16-byte
 * header alone. Records are written once and never changed in place: a newer entry for a key
 * is a new record, so a value handed out as a view into a slab stays what it was.
 */
export const RECORD_HEADER_BYTES = 16;
/** Longest key a record can hold, UTF-8 bytes (the u16 length field). */
export const RECORD_KEY_BYTES_MAX = 0xffff;

const TOMBSTONE = 1;
const EXPIRY = 2;
const PLAIN_LENGTH = 4;
const WIDE_COUNTER = 8;
const WIDE_MS = 16;
const WIDE_WRITER = 32;

const U48_LIMIT = 2 ** 48;
const NARROW_WRITER_MAX = 254;

function flagsOf(e: Entry, writer: number): number {
  const { ms, c } = e.ver;
  return (e.value === null ? TOMBSTONE : 0) | (e.exp === undefined ? 0 : EXPIRY) | (e.z === undefined ? 0 : PLAIN_LENGTH)
    | (Number.isInteger(c) && c >= 0 && c <= 0xffff ? 0 : WIDE_COUNTER)
    | (Number.isInteger(ms) && ms >= 0 && ms < U48_LIMIT ? 0 : WIDE_MS)
    | (writer <= NARROW_WRITER_MAX ? 0 : WIDE_WRITER);
}

function extensionBytes(flags: number): number {
  return (flags & WIDE_MS ? 8 : 0) + (flags & WIDE_COUNTER ? 8 : 0) + (flags & WIDE_WRITER ? 4 : 0) + (flags & EXPIRY ? 8 : 0) + (flags & PLAIN_LENGTH ? 4 : 0);
}

/** Bytes the record of `e` takes with a key of `keyBytes` UTF-8 bytes (writer: its table index). */
export function recordBytes(keyBytes: number, e: Entry, writer = 0): number {
  return RECORD_HEADER_BYTES + extensionBytes(flagsOf(e, writer)) + keyBytes + (e.value === null ? 0 : e.value.length);
}

/**
 * Write the record of `e` at `off` in `slab`, its key taken from `key[0, keyBytes)`. Returns
 * the bytes written (recordBytes). The caller has checked that it fits.
 */
export function writeRecord(slab: Buffer, off: number, key: Uint8Array, keyBytes: number, e: Entry, writer: number): number {
  const flags = flagsOf(e, writer);
  slab[off] = flags;
  slab[off + 1] = flags & WIDE_WRITER ? 0xff : writer;
  slab.writeUInt16LE(keyBytes, off + 2);
  slab.writeUInt32LE(e.value === null ? 0 : e.value.length, off + 4);
  slab.writeUIntLE(flags & WIDE_MS ? 0 : e.ver.ms, off + 8, 6);
  slab.writeUInt16LE(flags & WIDE_COUNTER ? 0 : e.ver.c, off + 14);
  let at = off + RECORD_HEADER_BYTES;
  if (flags & WIDE_MS) { slab.writeDoubleLE(e.ver.ms, at); at += 8; }
  if (flags & WIDE_COUNTER) { slab.writeDoubleLE(e.ver.c, at); at += 8; }
  if (flags & WIDE_WRITER) { slab.writeUInt32LE(writer, at); at += 4; }
  if (e.exp !== undefined) { slab.writeDoubleLE(e.exp, at); at += 8; }
  if (e.z !== undefined) { slab.writeUInt32LE(e.z, at); at += 4; }
  slab.set(key.subarray(0, keyBytes), at);
  at += keyBytes;
  if (e.value !== null) {
    slab.set(e.value, at);
    at += e.value.length;
  }
  return at - off;
}

export function recordKeyBytes(slab: Buffer, off: number): number {
  return slab[off + 2] | (slab[off + 3] << 8);
}

/** Offset of the key bytes of the record at `off`. */
export function recordKeyStart(slab: Buffer, off: number): number {
  return off + RECORD_HEADER_BYTES + extensionBytes(slab[off]);
}

/** Total bytes of the record at `off`. */
export function recordLength(slab: Buffer, off: number): number {
  return RECORD_HEADER_BYTES + extensionBytes(slab[off]) + recordKeyBytes(slab, off) + slab.readUInt32LE(off + 4);
}

/**
 * The entry the record at `off` holds. Its value is a view into the slab, not a copy: slab
 * bytes are never written twice, so the view never changes.
 */
export function readRecord(slab: Buffer, off: number, writers: readonly string[]): Entry {
  const flags = slab[off];
  let at = off + RECORD_HEADER_BYTES;
  let ms: number;
  if (flags & WIDE_MS) { ms = slab.readDoubleLE(at); at += 8; } else ms = slab.readUIntLE(off + 8, 6);
  let c: number;
  if (flags & WIDE_COUNTER) { c = slab.readDoubleLE(at); at += 8; } else c = slab.readUInt16LE(off + 14);
  let writer: number;
  if (flags & WIDE_WRITER) { writer = slab.readUInt32LE(at); at += 4; } else writer = slab[off + 1];
  let exp: number | undefined;
  if (flags & EXPIRY) { exp = slab.readDoubleLE(at); at += 8; }
  let z: number | undefined;
  if (flags & PLAIN_LENGTH) { z = slab.readUInt32LE(at); at += 4; }
  at += recordKeyBytes(slab, off);
  const value = flags & TOMBSTONE ? null : slab.subarray(at, at + slab.readUInt32LE(off + 4));
  const ver = { ms, c, w: writers[writer] };
  // The same shapes the rest of the code builds (no undefined-valued keys: toEqual and JSON agree).
  if (exp === undefined) return z === undefined ? { ver, value } : { ver, value, z };
  return z === undefined ? { ver, value, exp } : { ver, value, exp, z };
}

/** When the record may be purged (goneSinceMs): a tombstone's stamp, a value's expiry, or null. */
export function recordGoneSinceMs(slab: Buffer, off: number): number | null {
  const flags = slab[off];
  const at = off + RECORD_HEADER_BYTES;
  if (flags & TOMBSTONE) return flags & WIDE_MS ? slab.readDoubleLE(at) : slab.readUIntLE(off + 8, 6);
  if (!(flags & EXPIRY)) return null;
  return slab.readDoubleLE(at + (flags & WIDE_MS ? 8 : 0) + (flags & WIDE_COUNTER ? 8 : 0) + (flags & WIDE_WRITER ? 4 : 0));
}
