import {
  RECORD_HEADER_BYTES, RECORD_KIND, RECORD_PAYLOAD_BYTES_MAX, RECORD_PAYLOAD_BYTES_MIN, decodePayload, frameCrc, type LogRecord,
} from './record';

const KINDS: ReadonlySet<number> = new Set(Object.values(RECORD_KIND));

export type CorruptReason = 'bad-length' | 'bad-checksum' | 'bad-payload';

/** A damaged stretch of a file that valid records follow: skipped, counted, reported. */
export interface CorruptRegion {
  offset: number;
  bytes: number;
  reason: CorruptReason;
}

export interface ScanResult {
  records: LogRecord[];
  /**
   * Where the intact part of the file ends. Everything after it is a torn tail (a record cut
   * short by a crash, or damage that no valid record follows): the caller truncates there.
   */
  validBytes: number;
  /** Bytes after validBytes (0 when the file ends on a record boundary). */
  tornBytes: number;
  /** Why the tail was cut, when tornBytes > 0. */
  tornReason: CorruptReason | 'short' | null;
  corrupt: CorruptRegion[];
}

type Frame =
  | { ok: true; end: number; record: LogRecord }
  | { ok: false; reason: CorruptReason | 'short' };

function readFrame(buf: Buffer, offset: number): Frame {
  if (buf.length - offset < RECORD_HEADER_BYTES) return { ok: false, reason: 'short' };
  const length = buf.readUInt32LE(offset);
  if (length < RECORD_PAYLOAD_BYTES_MIN || length > RECORD_PAYLOAD_BYTES_MAX) return { ok: false, reason: 'bad-length' };
  const end = offset + RECORD_HEADER_BYTES + length;
  if (end > buf.length) return { ok: false, reason: 'short' };
  if (frameCrc(buf, offset, length) !== buf.readUInt32LE(offset + 4)) return { ok: false, reason: 'bad-checksum' };
  const record = decodePayload(buf, offset + RECORD_HEADER_BYTES, end);
  if (!record) return { ok: false, reason: 'bad-payload' };
  return { ok: true, end, record };
}

/**
 * Decode every record of a log segment or snapshot held in `buf`.
 *
 * At a damaged offset the scan looks for the next offset where a whole, checksummed record
 * starts. If one exists, the stretch in between is a corrupt region: counted and skipped, never
 * silently. If none does, the damage is the file's tail (the usual result of a crash during
 * an append) and the scan stops there: `validBytes` is where the caller cuts the file.
 * A false resynchronisation needs a random 32-bit checksum to match: about 1 in 4 billion.
 */
export function scanRecords(buf: Buffer): ScanResult {
  const records: LogRecord[] = [];
  const corrupt: CorruptRegion[] = [];
  let offset = 0;
  while (offset < buf.length) {
    const frame = readFrame(buf, offset);
    if (frame.ok) {
      records.push(frame.record);
      offset = frame.end;
      continue;
    }
    // A record whose frame is intact but whose content is damaged: the next one most likely
    // starts right after it, so try there before scanning byte by byte. The checksum covers
    // the length field too, so the length may be the damaged part: the record's own fields
    // (key, writer and value lengths) tell where it ends too. Of the two, the earlier place
    // where a whole record starts is the next one: a damaged length, in the header or inside,
    // that points exactly at a later record must not take the intact records in between.
    const length = buf.length - offset >= 4 ? buf.readUInt32LE(offset) : 0;
    const after = offset + RECORD_HEADER_BYTES + length;
    const own = structuralEnd(buf, offset + RECORD_HEADER_BYTES);
    const candidates = [own, frame.reason === 'bad-checksum' || frame.reason === 'bad-payload' ? after : -1]
      .filter((o) => o > offset && o < buf.length)
      .sort((a, b) => a - b);
    const next = candidates.find((o) => readFrame(buf, o).ok) ?? resync(buf, offset + 1);
    if (next < 0) {
      return { records, validBytes: offset, tornBytes: buf.length - offset, tornReason: frame.reason, corrupt };
    }
    corrupt.push({ offset, bytes: next - offset, reason: frame.reason === 'short' ? 'bad-length' : frame.reason });
    offset = next;
  }
  return { records, validBytes: offset, tornBytes: 0, tornReason: null, corrupt };
}

/**
 * Where the payload starting at `start` ends by its own fields (kind, and for an entry its key,
 * writer and value lengths and flags), whatever its length field says; -1 when that cannot be
 * told (unknown kind, fields past the end of the buffer).
 */
function structuralEnd(buf: Buffer, start: number): number {
  if (start >= buf.length) return -1;
  switch (buf[start]) {
    case RECORD_KIND.horizon: return start + 13;
    case RECORD_KIND.drop: return start + 5;
    case RECORD_KIND.snapBegin: return start + 17;
    case RECORD_KIND.snapEnd: return start + 9;
    case RECORD_KIND.entry: {
      let o = start + 5;
      if (o + 4 > buf.length) return -1;
      o += 4 + buf.readUInt32LE(o) + 16;
      if (o + 2 > buf.length) return -1;
      o += 2 + buf.readUInt16LE(o);
      if (o + 1 > buf.length) return -1;
      const flags = buf[o];
      o += 1 + (flags & 0x02 ? 8 : 0) + (flags & 0x04 ? 4 : 0);
      if (flags & 0x01) return o;
      if (o + 4 > buf.length) return -1;
      return o + 4 + buf.readUInt32LE(o);
    }
    default: return -1;
  }
}

function resync(buf: Buffer, from: number): number {
  for (let o = from; o + RECORD_HEADER_BYTES + RECORD_PAYLOAD_BYTES_MIN <= buf.length; o++) {
    // Cheap filters first: a plausible length that fits in the file and a known record kind,
    // then the checksum (which costs a pass over the claimed payload).
    const length = buf.readUInt32LE(o);
    if (length < RECORD_PAYLOAD_BYTES_MIN || length > RECORD_PAYLOAD_BYTES_MAX) continue;
    if (o + RECORD_HEADER_BYTES + length > buf.length) continue;
    if (!KINDS.has(buf[o + RECORD_HEADER_BYTES])) continue;
    if (readFrame(buf, o).ok) return o;
  }
  return -1;
}
