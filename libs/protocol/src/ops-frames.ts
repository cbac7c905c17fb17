/**
 * The binary form of the frontend → storage hop: the same OpsRequest / OpsResponse as the JSON
 * route (wire.ts), as length-prefixed frames over a persistent connection, multiplexed by
 * request id, values as raw bytes. Gets, puts and their results, which carry the load, have
 * a binary layout; every other operation or result travels as JSON inside its frame, so the
 * two forms always say the same thing.
 *
 *   connection = PREFACE frame*            (the client sends the preface once)
 *   frame      = length:u32le  id:u32le  body[length - 4]
 *   request    = epoch:f64  count:u16  op{count}
 *   response   = 0:u8  epoch:f64  clock.ms:f64  clock.c:f64  count:u16  result{count}
 *              | 1:u8  status:u16  jsonLength:u32  json   (the request was refused whole)
 *   string     = length:u16  utf8
 *   version    = ms:f64  c:f64  writer:string
 *   bytes      = length:u32  raw
 *   op         = 1:u8 p:u32 key:string                                     (get)
 *              | 2:u8 p:u32 key:string version flags:u8 [exp:f64] [bytes] (put; flags 1: tombstone, 2: cas, 4: exp follows)
 *              | 255:u8 json:bytes                                          (anything else)
 *   result     = 1:u8                                                       (get: no entry)
 *              | 2:u8 version flags:u8 [exp:f64] [bytes]                    (get: entry; flags 1: tombstone, 4: exp follows)
 *              | 3:u8 outcome:u8 hasCur:u8 [version]                        (put)
 *              | 4:u8 code:string hasMessage:u8 [message:string]            (refused)
 *              | 255:u8 json:bytes                                          (anything else)
 *
 * Values are base64 inside WireOp and WireResult (the JSON form); this codec converts them to
 * and from raw bytes at the edge, so no base64 crosses the network.
 */
import type { ErrorCode } from './errors';
import type { Timestamp, Version } from './version';
import type { OpsResponse, PutOutcome, WireEntry, WireOp, WireResult } from './wire';

/** Sent once by the client when it opens a connection: tells the server this is not HTTP. */
export const OPS_FRAME_PREFACE = Buffer.from('FOGB2\r\n\r\n', 'latin1');
/**
 * After the preface the client sends one line (ended by \n) before its frames: the cluster's
 * signed connection opening (auth.ts signConnection), or an empty line in an insecure cluster.
 * Longer lines close the connection. Unit: bytes.
 */
export const OPS_OPENING_LINE_BYTES_MAX = 256;
/** length + id. */
export const OPS_FRAME_HEADER_BYTES = 8;
const STRING_BYTES_MAX = 0xffff;
/** Strings up to this many characters are tried as ASCII and copied byte by byte. */
const ASCII_INLINE_CHARS_MAX = 64;
/** Put and entry flag: an expiry (f64) follows the flags. */
const FLAG_EXP = 4;
const OUTCOMES: readonly PutOutcome[] = ['applied', 'duplicate', 'stale'];

export class FrameError extends Error {}

/** Appends fields to a growing buffer (one allocation per frame in the common case). */
class Writer {
  buf: Buffer;
  pos = OPS_FRAME_HEADER_BYTES;
  // Frames live until written: not from Node's shared pool, where stored values are cut too and
  // a live value would keep the dead frames of its pool slab in memory.
  constructor(sizeHint: number) {
    this.buf = Buffer.allocUnsafeSlow(Math.max(64, sizeHint));
  }
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }
  u16(v: number): void {
    this.room(2);
    this.buf.writeUInt16LE(v, this.pos);
    this.pos += 2;
  }
  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32LE(v, this.pos);
    this.pos += 4;
  }
  f64(v: number): void {
    this.room(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }
  /** A string of at most STRING_BYTES_MAX UTF-8 bytes (the caller checked). */
  str(s: string): void {
    // Short ASCII strings (keys, writer ids) are copied here: two native calls cost more.
    const len = s.length;
    if (len <= ASCII_INLINE_CHARS_MAX) {
      this.room(2 + len);
      const buf = this.buf;
      const start = this.pos + 2;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + i] = c;
      }
      if (i === len) {
        buf[this.pos] = len & 0xff;
        buf[this.pos + 1] = len >>> 8;
        this.pos = start + len;
        return;
      }
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.u16(n);
    this.room(n);
    this.buf.write(s, this.pos, n, 'utf8');
    this.pos += n;
  }
  raw(b: Uint8Array): void {
    this.u32(b.length);
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  /** A base64 text written as the bytes it stands for. */
  base64(s: string): void {
    // At most what the text stands for (padding and stray characters only make it less).
    const n = Math.ceil((s.length * 3) / 4);
    this.u32(0);
    this.room(n);
    const written = this.buf.write(s, this.pos, n, 'base64');
    this.buf.writeUInt32LE(written, this.pos - 4);
    this.pos += written;
  }
  json(v: unknown): void {
    this.raw(Buffer.from(JSON.stringify(v), 'utf8'));
  }
  version(v: Version): void {
    this.f64(v.ms);
    this.f64(v.c);
    this.str(v.w);
  }
  /** The finished frame: length and id filled in. */
  frame(id: number): Buffer {
    this.buf.writeUInt32LE(this.pos - 4, 0);
    this.buf.writeUInt32LE(id >>> 0, 4);
    return this.buf.subarray(0, this.pos);
  }
}

/** Reads fields from one frame body; any overrun is a FrameError. */
class Reader {
  pos: number;
  constructor(private readonly buf: Buffer, start: number) {
    this.pos = start;
  }
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new FrameError('frame ends early');
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }
  str(): string {
    const n = this.u16();
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  raw(): Buffer {
    const n = this.u32();
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  /** Bytes, as the base64 text that stands for them (no Buffer made for them on the way). */
  base64(): string {
    const n = this.u32();
    this.need(n);
    const s = this.buf.toString('base64', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  json(): unknown {
    const b = this.raw();
    try {
      return JSON.parse(b.toString('utf8')) as unknown;
    } catch {
      throw new FrameError('an embedded JSON value does not parse');
    }
  }
  version(): Version {
    const ms = this.f64();
    const c = this.f64();
    return { ms, c, w: this.str() };
  }
  end(): void {
    if (this.pos !== this.buf.length) throw new FrameError('trailing bytes after the frame body');
  }
}

const fits = (s: string): boolean => s.length * 3 <= STRING_BYTES_MAX || Buffer.byteLength(s, 'utf8') <= STRING_BYTES_MAX;

export function encodeOpsRequest(id: number, epoch: number, ops: readonly WireOp[]): Buffer {
  let hint = OPS_FRAME_HEADER_BYTES + 10;
  for (const op of ops) hint += 48 + ('key' in op ? op.key.length * 3 : 0) + (op.op === 'put' && op.val !== null ? op.val.length : 0);
  const w = new Writer(hint);
  w.f64(epoch);
  w.u16(ops.length);
  for (const op of ops) {
    if (op.op === 'get' && fits(op.key)) {
      w.u8(1);
      w.u32(op.p);
      w.str(op.key);
    } else if (op.op === 'put' && fits(op.key) && fits(op.ver.w)) {
      w.u8(2);
      w.u32(op.p);
      w.str(op.key);
      w.version(op.ver);
      w.u8((op.val === null ? 1 : 0) | (op.cas ? 2 : 0) | (op.exp !== undefined ? FLAG_EXP : 0));
      if (op.exp !== undefined) w.f64(op.exp);
      if (op.val !== null) w.base64(op.val);
    } else {
      w.u8(255);
      w.json(op);
    }
  }
  return w.frame(id);
}

/** A request frame's body (after length and id); throws FrameError when malformed. */
export function decodeOpsRequest(frame: Buffer): { id: number; epoch: number; ops: WireOp[] } {
  if (frame.length < OPS_FRAME_HEADER_BYTES) throw new FrameError('frame shorter than its header');
  const id = frame.readUInt32LE(4);
  const r = new Reader(frame, OPS_FRAME_HEADER_BYTES);
  const epoch = r.f64();
  const n = r.u16();
  const ops: WireOp[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const kind = r.u8();
    if (kind === 1) {
      const p = r.u32();
      ops[i] = { op: 'get', p, key: r.str() };
    } else if (kind === 2) {
      const p = r.u32();
      const key = r.str();
      const ver = r.version();
      const flags = r.u8();
      const exp = flags & FLAG_EXP ? r.f64() : undefined;
      const val = flags & 1 ? null : r.base64();
      const op: WireOp = flags & 2 ? { op: 'put', p, key, ver, val, cas: true } : { op: 'put', p, key, ver, val };
      if (exp !== undefined) op.exp = exp;
      ops[i] = op;
    } else if (kind === 255) {
      ops[i] = r.json() as WireOp;
    } else throw new FrameError(`unknown operation kind ${kind}`);
  }
  r.end();
  return { id, epoch, ops };
}

export function encodeOpsResponse(id: number, res: OpsResponse): Buffer {
  let hint = OPS_FRAME_HEADER_BYTES + 32;
  for (const x of res.results) hint += 40 + ('entry' in x && x.entry && x.entry.val !== null ? x.entry.val.length : 0);
  const w = new Writer(hint);
  w.u8(0);
  w.f64(res.epoch);
  w.f64(res.clock.ms);
  w.f64(res.clock.c);
  w.u16(res.results.length);
  for (const x of res.results) {
    if (x.ok && 'entry' in x) {
      if (x.entry === null) w.u8(1);
      else if (fits(x.entry.ver.w)) {
        w.u8(2);
        w.version(x.entry.ver);
        w.u8((x.entry.val === null ? 1 : 0) | (x.entry.exp !== undefined ? FLAG_EXP : 0));
        if (x.entry.exp !== undefined) w.f64(x.entry.exp);
        if (x.entry.val !== null) w.base64(x.entry.val);
      } else {
        w.u8(255);
        w.json(x);
      }
    } else if (x.ok && 'outcome' in x && (!x.cur || fits(x.cur.w))) {
      w.u8(3);
      w.u8(OUTCOMES.indexOf(x.outcome));
      w.u8(x.cur ? 1 : 0);
      if (x.cur) w.version(x.cur);
    } else if (!x.ok && fits(x.code) && (x.message === undefined || fits(x.message))) {
      w.u8(4);
      w.str(x.code);
      w.u8(x.message === undefined ? 0 : 1);
      if (x.message !== undefined) w.str(x.message);
    } else {
      w.u8(255);
      w.json(x);
    }
  }
  return w.frame(id);
}

/** A refusal of the whole request (what the HTTP route answers with a 4xx and a JSON body). */
export function encodeOpsRefusal(id: number, status: number, body: unknown): Buffer {
  const w = new Writer(64);
  w.u8(1);
  w.u16(status);
  w.json(body);
  return w.frame(id);
}

export type DecodedOpsResponse =
  | { id: number; ok: true; epoch: number; clock: Timestamp; results: WireResult[] }
  | { id: number; ok: false; status: number; body: unknown };

export function decodeOpsResponse(frame: Buffer): DecodedOpsResponse {
  if (frame.length < OPS_FRAME_HEADER_BYTES) throw new FrameError('frame shorter than its header');
  const id = frame.readUInt32LE(4);
  const r = new Reader(frame, OPS_FRAME_HEADER_BYTES);
  const kind = r.u8();
  if (kind === 1) {
    const status = r.u16();
    const body = r.json();
    r.end();
    return { id, ok: false, status, body };
  }
  if (kind !== 0) throw new FrameError(`unknown response kind ${kind}`);
  const epoch = r.f64();
  const ms = r.f64();
  const c = r.f64();
  const n = r.u16();
  const results: WireResult[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const t = r.u8();
    if (t === 1) results[i] = { ok: true, entry: null };
    else if (t === 2) {
      const ver = r.version();
      const flags = r.u8();
      const exp = flags & FLAG_EXP ? r.f64() : undefined;
      const entry: WireEntry = { ver, val: flags & 1 ? null : r.base64() };
      if (exp !== undefined) entry.exp = exp;
      results[i] = { ok: true, entry };
    } else if (t === 3) {
      const outcome = OUTCOMES[r.u8()];
      if (!outcome) throw new FrameError('unknown put outcome');
      results[i] = r.u8() ? { ok: true, outcome, cur: r.version() } : { ok: true, outcome };
    } else if (t === 4) {
      const code = r.str() as ErrorCode;
      results[i] = r.u8() ? { ok: false, code, message: r.str() } : { ok: false, code };
    } else if (t === 255) results[i] = r.json() as WireResult;
    else throw new FrameError(`unknown result kind ${t}`);
  }
  r.end();
  return { id, ok: true, epoch, clock: { ms, c }, results };
}

/**
 * Splits a byte stream into frames. Refuses (FrameError) a frame whose declared length is over
 * frameBytesMax before buffering it.
 */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly frameBytesMax: number) {}

  /** Feed bytes; returns the complete frames they finish (each a view into the stream). */
  push(chunk: Buffer, out: Buffer[]): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let pos = 0;
    while (this.buf.length - pos >= 4) {
      const len = this.buf.readUInt32LE(pos);
      if (len < 4 || len > this.frameBytesMax) throw new FrameError(`a frame of ${len} bytes is outside 4..${this.frameBytesMax}`);
      if (this.buf.length - pos < 4 + len) break;
      out.push(this.buf.subarray(pos, pos + 4 + len));
      pos += 4 + len;
    }
    this.buf = pos === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(pos);
  }

  /** Bytes held of an incomplete frame. */
  get pending(): number {
    return this.buf.length;
  }
}

/**
 * The field writer and reader of frame bodies, for other frame vocabularies on the same
 * framing (anti-entropy and partition copies: libs/replica-sync sync-frames.ts).
 */
export { Writer as FrameBodyWriter, Reader as FrameBodyReader };
