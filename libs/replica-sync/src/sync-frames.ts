/**
 * The binary form of storage ⇄ storage replica sync (anti-entropy and partition copies): the
 * same messages as the JSON routes (wire.ts, and the partition page route), on the framing of
 * the frontend → storage hop (libs/protocol ops-frames.ts): length-prefixed frames over a
 * persistent connection, multiplexed by request id, opened by a preface of its own and the
 * same signed opening line. Every message has a binary layout, values as raw bytes and hash
 * sums as u32 (not decimal text); only a page request, a handful of fields, travels as JSON
 * inside its frame.
 *
 *   connection = SYNC_FRAME_PREFACE opening-line frame*
 *   frame      = length:u32le  id:u32le  body[length - 4]
 *   request    = kind:u8 payload
 *   response   = 0:u8 kind:u8 payload
 *              | 1:u8 status:u16 json:bytes      (refused whole: ops-frames encodeOpsRefusal)
 *   kind       = 1 tree | 2 summaries | 3 digest | 4 diff | 5 push | 6 page
 *   string     = length:u16 utf8;  bytes = length:u32 raw
 *   varint     = a u32 in 1..5 bytes, 7 bits each, low first (LEB128): a digest's empty buckets cost a byte a number
 *   writers    = count:u16 string{count}   (the distinct writer ids of a list, named once per message)
 *   version    = ms:f64 c:f64 writer:u16   (an index into the list's writers)
 *   entry      = key:string version flags:u8 [exp:f64] [value:bytes]   (flags 1: tombstone, 4: exp follows)
 *   entries    = count:u32 writers entry{count}
 *   payloads   page request  = json:bytes
 *              tree request  = epoch:f64 from:string total:u32 groups:u32 (g:u32 a:u32 b:u32 keys:f64 partitions:u32){groups}
 *              tree reply    = epoch:f64 groups:u32 u32{groups}
 *              summaries req = epoch:f64 from:string partitions:u32 (p:u32 a:u32 b:u32 keys:f64){partitions}
 *              summaries rep = epoch:f64 partitions:u32 (p:u32 held:u8){partitions}
 *              digest req    = epoch:f64 from:string buckets:u32 partitions:u32 (p:u32 n:u32 varint{n}){partitions}
 *              digest reply  = epoch:f64 partitions:u32 (p:u32 held:u8 horizonMs:f64 diff:u32 (bucket:u32 keys:f64){diff}){partitions}
 *              diff request  = epoch:f64 from:string p:u32 buckets:u32 horizonMs:f64 keysMax:u32
 *                              ids:u32 u32{ids} versions:u32 writers (key:string version tombstone:u8){versions}
 *              diff reply    = epoch:f64 held:u8 horizonMs:f64 truncated:u8 entries
 *                              want:u32 string{want} covered:u32 string{covered}
 *              push request  = epoch:f64 from:string p:u32 entries
 *              push reply    = epoch:f64 held:u8 applied:u32 refused:u32
 *              page reply    = next:(0:u8 | 1:u8 key:string) partitionBytes:f64 (-1: absent) entries
 *
 * Values are base64 inside the in-memory messages (AeEntry, the JSON form); this codec turns
 * them into raw bytes at the edge, so no base64 crosses the network. Decoding checks layout
 * only: the receiver runs the same checks on the decoded message as on a JSON body.
 */
import { FrameBodyReader, FrameBodyWriter, FrameError, OPS_FRAME_HEADER_BYTES, type Version } from '@fog/protocol';
import type { KeyVersion } from './reconcile';
import type { GroupSummary, PartitionSummaryEntry } from './tree';
import {
  isAeEntry, type AeEntry, type DiffReply, type DiffRequest, type DigestReply, type DigestRequest, type PushReply, type PushRequest,
  type SummaryReply, type SummaryRequest, type TreeReply, type TreeRequest,
} from './wire';

/** Sent once by a node opening a sync connection to a peer (then the signed opening line). */
export const SYNC_FRAME_PREFACE = Buffer.from('FOGS1\r\n\r\n', 'latin1');

/** What a copying node asks of a partition's active replica: one page of entries after `after`. */
export interface PageRequest {
  epoch: number;
  p: number;
  after: string | null;
  limit: number;
  bytesMax: number;
}

/** One page of a partition (storage-core PartitionPage on the wire). */
export interface PageReply {
  entries: AeEntry[];
  next: string | null;
  partitionBytes?: number;
}

export type SyncRequest =
  | { kind: 'tree'; body: TreeRequest }
  | { kind: 'summaries'; body: SummaryRequest }
  | { kind: 'digest'; body: DigestRequest }
  | { kind: 'diff'; body: DiffRequest }
  | { kind: 'push'; body: PushRequest }
  | { kind: 'page'; body: PageRequest };

export type SyncReply =
  | { kind: 'tree'; body: TreeReply }
  | { kind: 'summaries'; body: SummaryReply }
  | { kind: 'digest'; body: DigestReply }
  | { kind: 'diff'; body: DiffReply }
  | { kind: 'push'; body: PushReply }
  | { kind: 'page'; body: PageReply };

export type SyncKind = SyncRequest['kind'];

export const SYNC_KINDS: readonly SyncKind[] = ['tree', 'summaries', 'digest', 'diff', 'push', 'page'];
const KIND_CODE: Record<SyncKind, number> = { tree: 1, summaries: 2, digest: 3, diff: 4, push: 5, page: 6 };
const STRING_BYTES_MAX = 0xffff;
/** Distinct writer ids one message can name (they index as u16; writers are the cluster's frontends). */
export const WRITERS_PER_MESSAGE_MAX = 0xffff;
const FLAG_TOMBSTONE = 1;
const FLAG_EXP = 4;
const FLAGS_KNOWN = FLAG_TOMBSTONE | FLAG_EXP;

/**
 * A decoded message: its body has the layout of its kind but has not been judged (the JSON
 * kinds are whatever the sender put there), so it is `unknown` until the receiver's checks.
 */
export interface DecodedSyncRequest {
  id: number;
  kind: SyncKind;
  body: unknown;
}

export type DecodedSyncReply =
  | { id: number; ok: true; kind: SyncKind; body: unknown }
  | { id: number; ok: false; status: number; body: unknown };

function kindOf(code: number): SyncKind {
  const kind = SYNC_KINDS[code - 1];
  if (!kind) throw new FrameError(`unknown sync message kind ${code}`);
  return kind;
}

function str(w: FrameBodyWriter, s: string): void {
  if (s.length * 3 > STRING_BYTES_MAX && Buffer.byteLength(s, 'utf8') > STRING_BYTES_MAX) throw new FrameError(`a string of more than ${STRING_BYTES_MAX} bytes`);
  w.str(s);
}

/** A field the receiver's checks bound to u32 (a partition, a hash sum, a bucket). */
function u32(w: FrameBodyWriter, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new FrameError(`${v} is not a u32`);
  w.u32(v);
}

/** A u32 as LEB128 (the caller checked the range). */
function varint(w: FrameBodyWriter, v: number): void {
  let x = v;
  while (x >= 0x80) {
    w.u8((x & 0x7f) | 0x80);
    x = Math.floor(x / 128);
  }
  w.u8(x);
}

function readVarint(r: FrameBodyReader): number {
  let v = 0;
  for (let i = 0; i < 5; i++) {
    const b = r.u8();
    v += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) {
      if (v > 0xffffffff) throw new FrameError('a varint over u32');
      return v;
    }
  }
  throw new FrameError('a varint longer than 5 bytes');
}

/**
 * The distinct writer ids of a list, each named once in the message: a list of entries names
 * a handful of frontends thousands of times, and the ids are as long as the rest of a version.
 */
class WriterTable {
  readonly names: string[] = [];
  private readonly index = new Map<string, number>();

  constructor(writers: Iterable<string>) {
    for (const name of writers) {
      if (this.index.has(name)) continue;
      if (this.names.length >= WRITERS_PER_MESSAGE_MAX) throw new FrameError(`more than ${WRITERS_PER_MESSAGE_MAX} writer ids in one message`);
      this.index.set(name, this.names.length);
      this.names.push(name);
    }
  }

  write(w: FrameBodyWriter): void {
    w.u16(this.names.length);
    for (const name of this.names) str(w, name);
  }

  version(w: FrameBodyWriter, v: Version): void {
    w.f64(v.ms);
    w.f64(v.c);
    w.u16(this.index.get(v.w) as number);
  }
}

function readWriters(r: FrameBodyReader): string[] {
  const n = r.u16();
  const names: string[] = [];
  for (let i = 0; i < n; i++) names.push(r.str());
  return names;
}

function readVersion(r: FrameBodyReader, writers: readonly string[]): Version {
  const ms = r.f64();
  const c = r.f64();
  const i = r.u16();
  if (i >= writers.length) throw new FrameError(`writer ${i} is not in the message's ${writers.length} writers`);
  return { ms, c, w: writers[i] };
}

function entries(w: FrameBodyWriter, list: readonly AeEntry[]): void {
  w.u32(list.length);
  const writers = new WriterTable(list.map((e) => e.ver.w));
  writers.write(w);
  for (const e of list) {
    str(w, e.key);
    writers.version(w, e.ver);
    w.u8((e.val === null ? FLAG_TOMBSTONE : 0) | (e.exp !== undefined ? FLAG_EXP : 0));
    if (e.exp !== undefined) w.f64(e.exp);
    if (e.val !== null) w.base64(e.val);
  }
}

function strings(w: FrameBodyWriter, list: readonly string[]): void {
  w.u32(list.length);
  for (const s of list) str(w, s);
}

/** A count read from the frame, bounded by the bytes left (each element takes at least `minBytes`). */
function count(r: FrameBodyReader, left: number, minBytes: number): number {
  const n = r.u32();
  if (n * minBytes > left - r.pos) throw new FrameError(`a count of ${n} does not fit in the frame`);
  return n;
}

function flag(r: FrameBodyReader): boolean {
  const v = r.u8();
  if (v > 1) throw new FrameError('a boolean must be 0 or 1');
  return v === 1;
}

function readEntry(r: FrameBodyReader, writers: readonly string[]): AeEntry {
  const key = r.str();
  const ver = readVersion(r, writers);
  const flags = r.u8();
  if (flags & ~FLAGS_KNOWN) throw new FrameError(`unknown entry flags ${flags}`);
  const exp = flags & FLAG_EXP ? r.f64() : undefined;
  const e: AeEntry = { key, ver, val: flags & FLAG_TOMBSTONE ? null : r.raw().toString('base64') };
  if (exp !== undefined) e.exp = exp;
  return e;
}

/** Smallest encoded entry (empty key, version, flags) and version of a diff request (empty key, version, mark). */
const ENTRY_BYTES_MIN = 2 + 8 + 8 + 2 + 1;

function readEntries(r: FrameBodyReader, size: number): AeEntry[] {
  const n = count(r, size, ENTRY_BYTES_MIN);
  const writers = readWriters(r);
  const out: AeEntry[] = [];
  for (let i = 0; i < n; i++) out.push(readEntry(r, writers));
  return out;
}

function readStrings(r: FrameBodyReader, size: number): string[] {
  const n = count(r, size, 2);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(r.str());
  return out;
}

function sizeHint(list: readonly AeEntry[]): number {
  let n = 64;
  for (const e of list) n += 40 + e.key.length * 3 + e.ver.w.length * 3 + (e.val === null ? 0 : e.val.length);
  return n;
}

export function encodeSyncRequest(id: number, req: SyncRequest): Buffer {
  const w = new FrameBodyWriter(req.kind === 'push' ? sizeHint(req.body.entries) : req.kind === 'digest' ? 64 + req.body.partitions.length * (8 + req.body.buckets * 12) : 256);
  w.u8(KIND_CODE[req.kind]);
  switch (req.kind) {
    case 'diff': {
      const b = req.body;
      w.f64(b.epoch);
      str(w, b.from);
      u32(w, b.p);
      u32(w, b.buckets);
      w.f64(b.horizonMs);
      u32(w, b.keysMax);
      w.u32(b.ids.length);
      for (const id of b.ids) u32(w, id);
      w.u32(b.versions.length);
      const writers = new WriterTable(b.versions.map((v) => v[3]));
      writers.write(w);
      for (const v of b.versions) {
        str(w, v[0]);
        writers.version(w, { ms: v[1], c: v[2], w: v[3] });
        w.u8(v[4]);
      }
      break;
    }
    case 'push':
      w.f64(req.body.epoch);
      str(w, req.body.from);
      u32(w, req.body.p);
      entries(w, req.body.entries);
      break;
    case 'tree':
      w.f64(req.body.epoch);
      str(w, req.body.from);
      u32(w, req.body.total);
      w.u32(req.body.groups.length);
      for (const g of req.body.groups) {
        u32(w, g[0]);
        u32(w, g[1]);
        u32(w, g[2]);
        w.f64(g[3]);
        u32(w, g[4]);
      }
      break;
    case 'summaries':
      w.f64(req.body.epoch);
      str(w, req.body.from);
      w.u32(req.body.partitions.length);
      for (const x of req.body.partitions) {
        u32(w, x[0]);
        u32(w, x[1]);
        u32(w, x[2]);
        w.f64(x[3]);
      }
      break;
    case 'digest':
      w.f64(req.body.epoch);
      str(w, req.body.from);
      u32(w, req.body.buckets);
      w.u32(req.body.partitions.length);
      for (const x of req.body.partitions) {
        u32(w, x.p);
        w.u32(x.digest.length);
        for (const n of x.digest) {
          if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new FrameError(`${n} is not a u32`);
          varint(w, n);
        }
      }
      break;
    case 'page':
      w.json(req.body);
  }
  return w.frame(id);
}

/** A request frame (header included); throws FrameError when its layout is wrong. */
export function decodeSyncRequest(frame: Buffer): DecodedSyncRequest {
  if (frame.length < OPS_FRAME_HEADER_BYTES) throw new FrameError('frame shorter than its header');
  const id = frame.readUInt32LE(4);
  const r = new FrameBodyReader(frame, OPS_FRAME_HEADER_BYTES);
  const kind = kindOf(r.u8());
  let body: unknown;
  if (kind === 'diff') {
    const epoch = r.f64();
    const from = r.str();
    const p = r.u32();
    const buckets = r.u32();
    const horizonMs = r.f64();
    const keysMax = r.u32();
    const nIds = count(r, frame.length, 4);
    const ids: number[] = [];
    for (let i = 0; i < nIds; i++) ids.push(r.u32());
    const nVersions = count(r, frame.length, ENTRY_BYTES_MIN);
    const writers = readWriters(r);
    const versions: KeyVersion[] = [];
    for (let i = 0; i < nVersions; i++) {
      const key = r.str();
      const ver = readVersion(r, writers);
      const tomb = r.u8();
      if (tomb > 1) throw new FrameError('a tombstone mark must be 0 or 1');
      versions.push([key, ver.ms, ver.c, ver.w, tomb as 0 | 1]);
    }
    body = { epoch, from, p, buckets, ids, horizonMs, keysMax, versions } satisfies DiffRequest;
  } else if (kind === 'push') {
    const epoch = r.f64();
    const from = r.str();
    const p = r.u32();
    body = { epoch, from, p, entries: readEntries(r, frame.length) } satisfies PushRequest;
  } else if (kind === 'tree') {
    const epoch = r.f64();
    const from = r.str();
    const total = r.u32();
    const n = count(r, frame.length, 24);
    const groups: GroupSummary[] = [];
    for (let i = 0; i < n; i++) groups.push([r.u32(), r.u32(), r.u32(), r.f64(), r.u32()]);
    body = { epoch, from, total, groups } satisfies TreeRequest;
  } else if (kind === 'summaries') {
    const epoch = r.f64();
    const from = r.str();
    const n = count(r, frame.length, 20);
    const partitions: PartitionSummaryEntry[] = [];
    for (let i = 0; i < n; i++) partitions.push([r.u32(), r.u32(), r.u32(), r.f64()]);
    body = { epoch, from, partitions } satisfies SummaryRequest;
  } else if (kind === 'digest') {
    const epoch = r.f64();
    const from = r.str();
    const buckets = r.u32();
    const n = count(r, frame.length, 8);
    const partitions: DigestRequest['partitions'] = [];
    for (let i = 0; i < n; i++) {
      const p = r.u32();
      const len = count(r, frame.length, 1);
      const digest: number[] = [];
      for (let j = 0; j < len; j++) digest.push(readVarint(r));
      partitions.push({ p, digest });
    }
    body = { epoch, from, buckets, partitions } satisfies DigestRequest;
  } else body = r.json();
  r.end();
  return { id, kind, body };
}

export function encodeSyncReply(id: number, reply: SyncReply): Buffer {
  const w = new FrameBodyWriter(reply.kind === 'diff' || reply.kind === 'page' ? sizeHint(reply.body.entries) : 256);
  w.u8(0);
  w.u8(KIND_CODE[reply.kind]);
  switch (reply.kind) {
    case 'diff': {
      const b = reply.body;
      w.f64(b.epoch);
      w.u8(b.held ? 1 : 0);
      w.f64(b.horizonMs);
      w.u8(b.truncated ? 1 : 0);
      entries(w, b.entries);
      strings(w, b.want);
      strings(w, b.covered);
      break;
    }
    case 'push':
      w.f64(reply.body.epoch);
      w.u8(reply.body.held ? 1 : 0);
      u32(w, reply.body.applied);
      u32(w, reply.body.refused);
      break;
    case 'tree':
      w.f64(reply.body.epoch);
      w.u32(reply.body.groups.length);
      for (const g of reply.body.groups) u32(w, g);
      break;
    case 'summaries':
      w.f64(reply.body.epoch);
      w.u32(reply.body.partitions.length);
      for (const x of reply.body.partitions) {
        u32(w, x.p);
        w.u8(x.held ? 1 : 0);
      }
      break;
    case 'digest':
      w.f64(reply.body.epoch);
      w.u32(reply.body.partitions.length);
      for (const x of reply.body.partitions) {
        u32(w, x.p);
        w.u8(x.held ? 1 : 0);
        w.f64(x.horizonMs);
        w.u32(x.diff.length);
        for (const [b, n] of x.diff) {
          u32(w, b);
          w.f64(n);
        }
      }
      break;
    case 'page':
      if (reply.body.next === null) w.u8(0);
      else {
        w.u8(1);
        str(w, reply.body.next);
      }
      w.f64(reply.body.partitionBytes ?? -1);
      entries(w, reply.body.entries);
      break;
  }
  return w.frame(id);
}

/** A response frame (header included); throws FrameError when its layout is wrong. */
export function decodeSyncReply(frame: Buffer): DecodedSyncReply {
  if (frame.length < OPS_FRAME_HEADER_BYTES) throw new FrameError('frame shorter than its header');
  const id = frame.readUInt32LE(4);
  const r = new FrameBodyReader(frame, OPS_FRAME_HEADER_BYTES);
  const tag = r.u8();
  if (tag === 1) {
    const status = r.u16();
    const body = r.json();
    r.end();
    return { id, ok: false, status, body };
  }
  if (tag !== 0) throw new FrameError(`unknown response tag ${tag}`);
  const kind = kindOf(r.u8());
  let body: unknown;
  if (kind === 'diff') {
    const epoch = r.f64();
    const held = flag(r);
    const horizonMs = r.f64();
    const truncated = flag(r);
    const list = readEntries(r, frame.length);
    const want = readStrings(r, frame.length);
    const covered = readStrings(r, frame.length);
    body = { epoch, held, horizonMs, entries: list, want, covered, truncated } satisfies DiffReply;
  } else if (kind === 'push') {
    body = { epoch: r.f64(), held: flag(r), applied: r.u32(), refused: r.u32() } satisfies PushReply;
  } else if (kind === 'page') {
    const hasNext = r.u8();
    if (hasNext > 1) throw new FrameError('a page cursor mark must be 0 or 1');
    const next = hasNext ? r.str() : null;
    const partitionBytes = r.f64();
    const page: PageReply = { entries: readEntries(r, frame.length), next };
    if (partitionBytes >= 0) page.partitionBytes = partitionBytes;
    body = page;
  } else if (kind === 'tree') {
    const epoch = r.f64();
    const n = count(r, frame.length, 4);
    const groups: number[] = [];
    for (let i = 0; i < n; i++) groups.push(r.u32());
    body = { epoch, groups } satisfies TreeReply;
  } else if (kind === 'summaries') {
    const epoch = r.f64();
    const n = count(r, frame.length, 5);
    const partitions: SummaryReply['partitions'] = [];
    for (let i = 0; i < n; i++) partitions.push({ p: r.u32(), held: flag(r) });
    body = { epoch, partitions } satisfies SummaryReply;
  } else {
    const epoch = r.f64();
    const n = count(r, frame.length, 17);
    const partitions: DigestReply['partitions'] = [];
    for (let i = 0; i < n; i++) {
      const p = r.u32();
      const held = flag(r);
      const horizonMs = r.f64();
      const len = count(r, frame.length, 12);
      const diff: Array<[number, number]> = [];
      for (let j = 0; j < len; j++) diff.push([r.u32(), r.f64()]);
      partitions.push({ p, held, horizonMs, diff });
    }
    body = { epoch, partitions } satisfies DigestReply;
  }
  r.end();
  return { id, ok: true, kind, body };
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** A page reply's shape, every entry included. */
export function isPageReply(x: unknown): x is PageReply {
  return isObj(x) && Array.isArray(x.entries) && x.entries.every(isAeEntry) && (x.next === null || typeof x.next === 'string')
    && (x.partitionBytes === undefined || Number.isSafeInteger(x.partitionBytes));
}
