import type { Entry } from '@fog/lww';
import { DEFAULT_LIMITS, isVersion } from '@fog/protocol';
import { crc32 } from './crc32';

/**
 * The on-disk record format, shared by log segments and snapshots.
 *
 *   frame   = length:u32le  crc:u32le  payload[length]
 *   crc     = CRC-32 over the 4 length bytes followed by the payload (a damaged length is caught
 *             too, not only a damaged payload)
 *   payload = kind:u8 body
 *
 * Bodies (integers little-endian; ms and c are float64s holding safe integers):
 *   entry      partition:u32 keyLen:u32 key[utf8] ms:f64 c:f64 writerLen:u16 writer[utf8]
 *              flags:u8 (bit 0: tombstone, bit 1: expires, bit 2: compressed) [exp:f64]
 *              [plainLen:u32] [valueLen:u32 value]
 *              (plainLen only with bit 2: the value is raw deflate of that many plain bytes)
 *              (exp only with bit 1, the expiry of a value written with a ttl; value only when
 *              not a tombstone; records without bit 1, all that older versions wrote, read as
 *              before)
 *   horizon    partition:u32 ms:f64        tombstones of this partition stamped at or before ms
 *                                          may have been purged (see libs/replica-sync)
 *   drop       partition:u32               the node stopped holding this partition
 *   snap-begin formatVersion:u32 createdAtMs:f64 firstSegment:u32
 *   snap-end   entries:u32 horizons:u32
 */
export const RECORD_HEADER_BYTES = 8;
/** Smallest payload: a drop record (kind + partition). */
export const RECORD_PAYLOAD_BYTES_MIN = 5;
/**
 * Largest payload. A record holds one key and one value, which arrived in one internal request,
 * so it cannot be larger than that request's body limit (plus the record's own fields); a
 * length field claiming more is damage, not data.
 */
export const RECORD_PAYLOAD_BYTES_MAX = DEFAULT_LIMITS.internalBodyBytesMax + 64 * 1024;
export const SNAPSHOT_FORMAT_VERSION = 1;

export const RECORD_KIND = {
  entry: 0x01,
  horizon: 0x02,
  drop: 0x03,
  snapBegin: 0x10,
  snapEnd: 0x11,
} as const;

const FLAG_TOMBSTONE = 0x01;
const FLAG_EXPIRES = 0x02;
const FLAG_COMPRESSED = 0x04;
const FLAGS_KNOWN = FLAG_TOMBSTONE | FLAG_EXPIRES | FLAG_COMPRESSED;

export type LogRecord =
  | { kind: 'entry'; partition: number; key: string; entry: Entry }
  | { kind: 'horizon'; partition: number; ms: number }
  | { kind: 'drop'; partition: number }
  | { kind: 'snap-begin'; formatVersion: number; createdAtMs: number; firstSegment: number }
  | { kind: 'snap-end'; entries: number; horizons: number };

function assertU32(n: number, what: string): void {
  if (!(Number.isInteger(n) && n >= 0 && n <= 0xffffffff)) throw new RangeError(`${what} must be a u32, got ${n}`);
}

function assertSafeMs(n: number, what: string): void {
  if (!(Number.isSafeInteger(n) && n >= 0)) throw new RangeError(`${what} must be a non-negative safe integer, got ${n}`);
}

/**
 * A buffer that lives only until it is written. Not from Node's shared 8 KiB pool: stored
 * values are cut from that pool too, and one live value keeps its whole pool slab alive, so
 * short-lived records interleaved with values there would stay in memory as long as the
 * values (measured: about 2.4x the RSS of the same data held without a log).
 */
function transient(size: number): Buffer {
  return Buffer.allocUnsafeSlow(size);
}

function payloadOf(rec: LogRecord): Buffer {
  switch (rec.kind) {
    case 'entry': {
      assertU32(rec.partition, 'partition');
      assertSafeMs(rec.entry.ver.ms, 'ms');
      assertSafeMs(rec.entry.ver.c, 'counter');
      const keyBytes = Buffer.byteLength(rec.key, 'utf8');
      const writerBytes = Buffer.byteLength(rec.entry.ver.w, 'utf8');
      if (writerBytes > 0xffff) throw new RangeError('writer id too long');
      const value = rec.entry.value;
      const exp = rec.entry.exp;
      if (exp !== undefined) assertSafeMs(exp, 'exp');
      const z = value ? rec.entry.z : undefined;
      if (z !== undefined) assertU32(z, 'plain length');
      const size = 1 + 4 + 4 + keyBytes + 8 + 8 + 2 + writerBytes + 1 + (exp !== undefined ? 8 : 0) + (z !== undefined ? 4 : 0) + (value ? 4 + value.length : 0);
      const b = transient(size);
      let o = b.writeUInt8(RECORD_KIND.entry, 0);
      o = b.writeUInt32LE(rec.partition, o);
      o = b.writeUInt32LE(keyBytes, o);
      o += b.write(rec.key, o, keyBytes, 'utf8');
      o = b.writeDoubleLE(rec.entry.ver.ms, o);
      o = b.writeDoubleLE(rec.entry.ver.c, o);
      o = b.writeUInt16LE(writerBytes, o);
      o += b.write(rec.entry.ver.w, o, writerBytes, 'utf8');
      o = b.writeUInt8((value ? 0 : FLAG_TOMBSTONE) | (exp !== undefined ? FLAG_EXPIRES : 0) | (z !== undefined ? FLAG_COMPRESSED : 0), o);
      if (exp !== undefined) o = b.writeDoubleLE(exp, o);
      if (z !== undefined) o = b.writeUInt32LE(z, o);
      if (value) value.copy(b, b.writeUInt32LE(value.length, o));
      return b;
    }
    case 'horizon': {
      assertU32(rec.partition, 'partition');
      assertSafeMs(rec.ms, 'ms');
      const b = Buffer.allocUnsafe(13);
      b.writeDoubleLE(rec.ms, b.writeUInt32LE(rec.partition, b.writeUInt8(RECORD_KIND.horizon, 0)));
      return b;
    }
    case 'drop': {
      assertU32(rec.partition, 'partition');
      const b = Buffer.allocUnsafe(5);
      b.writeUInt32LE(rec.partition, b.writeUInt8(RECORD_KIND.drop, 0));
      return b;
    }
    case 'snap-begin': {
      assertU32(rec.formatVersion, 'formatVersion');
      assertSafeMs(rec.createdAtMs, 'createdAtMs');
      assertU32(rec.firstSegment, 'firstSegment');
      const b = Buffer.allocUnsafe(17);
      let o = b.writeUInt8(RECORD_KIND.snapBegin, 0);
      o = b.writeUInt32LE(rec.formatVersion, o);
      o = b.writeDoubleLE(rec.createdAtMs, o);
      b.writeUInt32LE(rec.firstSegment, o);
      return b;
    }
    case 'snap-end': {
      assertU32(rec.entries, 'entries');
      assertU32(rec.horizons, 'horizons');
      const b = Buffer.allocUnsafe(9);
      b.writeUInt32LE(rec.horizons, b.writeUInt32LE(rec.entries, b.writeUInt8(RECORD_KIND.snapEnd, 0)));
      return b;
    }
  }
}

/** One framed record, ready to append. */
export function encodeRecord(rec: LogRecord): Buffer {
  const payload = payloadOf(rec);
  if (payload.length > RECORD_PAYLOAD_BYTES_MAX) throw new RangeError(`record payload of ${payload.length} bytes exceeds ${RECORD_PAYLOAD_BYTES_MAX}`);
  const frame = transient(RECORD_HEADER_BYTES + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  payload.copy(frame, RECORD_HEADER_BYTES);
  frame.writeUInt32LE(frameCrc(frame, 0, payload.length), 4);
  return frame;
}

/** CRC of the frame at `offset` whose payload is `length` bytes: over length field + payload. */
export function frameCrc(buf: Uint8Array, offset: number, length: number): number {
  const c = crc32(buf, 0, offset, offset + 4);
  return crc32(buf, c, offset + RECORD_HEADER_BYTES, offset + RECORD_HEADER_BYTES + length);
}

/**
 * Decode a payload whose checksum already matched. Returns null when its structure is invalid
 * (unknown kind, lengths that do not add up, an impossible version): damage the checksum did
 * not catch, or a record written by a newer format.
 */
export function decodePayload(buf: Buffer, start: number, end: number): LogRecord | null {
  try {
    const rec = decodeUnchecked(buf, start, end);
    return rec;
  } catch {
    return null;
  }
}

function decodeUnchecked(buf: Buffer, start: number, end: number): LogRecord | null {
  let o = start;
  const need = (n: number) => {
    if (o + n > end) throw new RangeError('short payload');
  };
  need(1);
  const kind = buf.readUInt8(o);
  o += 1;
  switch (kind) {
    case RECORD_KIND.entry: {
      need(8);
      const partition = buf.readUInt32LE(o);
      const keyLen = buf.readUInt32LE(o + 4);
      o += 8;
      need(keyLen);
      const key = buf.toString('utf8', o, o + keyLen);
      o += keyLen;
      need(18);
      const ms = buf.readDoubleLE(o);
      const c = buf.readDoubleLE(o + 8);
      const writerLen = buf.readUInt16LE(o + 16);
      o += 18;
      need(writerLen + 1);
      const w = buf.toString('utf8', o, o + writerLen);
      o += writerLen;
      const flags = buf.readUInt8(o);
      o += 1;
      const ver = { ms, c, w };
      if (!isVersion(ver) || (flags & ~FLAGS_KNOWN) !== 0) return null;
      let exp: number | undefined;
      if (flags & FLAG_EXPIRES) {
        need(8);
        exp = buf.readDoubleLE(o);
        o += 8;
        if (!Number.isSafeInteger(exp) || exp <= 0) return null;
      }
      let z: number | undefined;
      if (flags & FLAG_COMPRESSED) {
        if (flags & FLAG_TOMBSTONE) return null;
        need(4);
        z = buf.readUInt32LE(o);
        o += 4;
      }
      let value: Buffer | null = null;
      if (!(flags & FLAG_TOMBSTONE)) {
        need(4);
        const valueLen = buf.readUInt32LE(o);
        o += 4;
        need(valueLen);
        // A copy: a slice would pin the whole segment buffer in memory for as long as the value lives.
        value = Buffer.from(buf.subarray(o, o + valueLen));
        o += valueLen;
      }
      if (o !== end) return null;
      const entry: { ver: typeof ver; value: Buffer | null; exp?: number; z?: number } = { ver, value };
      if (exp !== undefined) entry.exp = exp;
      if (z !== undefined) entry.z = z;
      return { kind: 'entry', partition, key, entry };
    }
    case RECORD_KIND.horizon: {
      need(12);
      const partition = buf.readUInt32LE(o);
      const ms = buf.readDoubleLE(o + 4);
      if (o + 12 !== end || !Number.isSafeInteger(ms) || ms < 0) return null;
      return { kind: 'horizon', partition, ms };
    }
    case RECORD_KIND.drop: {
      need(4);
      if (o + 4 !== end) return null;
      return { kind: 'drop', partition: buf.readUInt32LE(o) };
    }
    case RECORD_KIND.snapBegin: {
      need(16);
      const formatVersion = buf.readUInt32LE(o);
      const createdAtMs = buf.readDoubleLE(o + 4);
      const firstSegment = buf.readUInt32LE(o + 12);
      if (o + 16 !== end || !Number.isSafeInteger(createdAtMs)) return null;
      return { kind: 'snap-begin', formatVersion, createdAtMs, firstSegment };
    }
    case RECORD_KIND.snapEnd: {
      need(8);
      if (o + 8 !== end) return null;
      return { kind: 'snap-end', entries: buf.readUInt32LE(o), horizons: buf.readUInt32LE(o + 4) };
    }
    default:
      return null;
  }
}
