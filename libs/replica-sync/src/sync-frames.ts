/**
 * The binary form of storage ⇄ storage replica sync (anti-entropy and partition copies): the
 * same messages as the JSON routes (wire.ts, and the partition page route), on the framing of
 * the frontend → storage hop (libs/protocol ops-frames.ts): length-prefixed frames over a
 * persistent connection, multiplexed by request id, opened by a preface of its own and the
 * same signed opening line. Messages that carry entries (diff requests and replies, pushes,
 * pages) have a binary layout with values as raw bytes; the others (tree, summaries, digest,
 * a page request) travel as JSON inside their frame, since they carry no values.
 *
 *   connection = SYNC_FRAME_PREFACE opening-line frame*
 *   frame      = length:u32le  id:u32le  body[length - 4]
 *   request    = kind:u8 payload
 *   response   = 0:u8 kind:u8 payload
 *              | 1:u8 status:u16 json:bytes      (refused whole: ops-frames encodeOpsRefusal)
 *   kind       = 1 tree | 2 summaries | 3 digest | 4 diff | 5 push | 6 page
 *   string     = length:u16 utf8;  bytes = length:u32 raw;  version = ms:f64 c:f64 writer:string
 *   entry      = key:string version flags:u8 [exp:f64] [value:bytes]   (flags 1: tombstone, 4: exp follows)
 *   payloads   tree, summaries, digest (request and reply), page request: json:bytes
 *              diff request  = epoch:f64 from:string p:u32 buckets:u32 horizonMs:f64 keysMax:u32
 *                              ids:u32 u32{ids} versions:u32 (key:string ms:f64 c:f64 writer:string tombstone:u8){versions}
 *              diff reply    = epoch:f64 held:u8 horizonMs:f64 truncated:u8 entries:u32 entry{entries}
 *                              want:u32 string{want} covered:u32 string{covered}
 *              push request  = epoch:f64 from:string p:u32 entries:u32 entry{entries}
 *              push reply    = epoch:f64 held:u8 applied:u32 refused:u32
 *              page reply    = next:(0:u8 | 1:u8 key:string) partitionBytes:f64 (-1: absent) entries:u32 entry{entries}
 *
 * Values are base64 inside the in-memory messages (AeEntry, the JSON form); this codec turns
 * them into raw bytes at the edge, so no base64 crosses the network. Decoding checks layout
 * only: the receiver runs the same checks on the decoded message as on a JSON body.
 */
import { FrameBodyReader, FrameBodyWriter, FrameError, OPS_FRAME_HEADER_BYTES, type Version } from '@fog/protocol';
import type { KeyVersion } from './reconcile';
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

function version(w: FrameBodyWriter, v: Version): void {
  w.f64(v.ms);
  w.f64(v.c);
  str(w, v.w);
}

function entry(w: FrameBodyWriter, e: AeEntry): void {
  str(w, e.key);
  version(w, e.ver);
  w.u8((e.val === null ? FLAG_TOMBSTONE : 0) | (e.exp !== undefined ? FLAG_EXP : 0));
  if (e.exp !== undefined) w.f64(e.exp);
  if (e.val !== null) w.base64(e.val);
}

function entries(w: FrameBodyWriter, list: readonly AeEntry[]): void {
  w.u32(list.length);
  for (const e of list) entry(w, e);
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

function readEntry(r: FrameBodyReader): AeEntry {
  const key = r.str();
  const ver = r.version();
  const flags = r.u8();
  if (flags & ~FLAGS_KNOWN) throw new FrameError(`unknown entry flags ${flags}`);
  const exp = flags & FLAG_EXP ? r.f64() : undefined;
  const e: AeEntry = { key, ver, val: flags & FLAG_TOMBSTONE ? null : r.raw().toString('base64') };
  if (exp !== undefined) e.exp = exp;
  return e;
}

/** Smallest encoded entry: empty key, version with an empty writer, flags. */
const ENTRY_BYTES_MIN = 2 + 8 + 8 + 2 + 1;

function readEntries(r: FrameBodyReader, size: number): AeEntry[] {
  const n = count(r, size, ENTRY_BYTES_MIN);
  const out: AeEntry[] = [];
  for (let i = 0; i < n; i++) out.push(readEntry(r));
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
  const w = new FrameBodyWriter(req.kind === 'push' ? sizeHint(req.body.entries) : 256);
  w.u8(KIND_CODE[req.kind]);
  switch (req.kind) {
    case 'diff': {
      const b = req.body;
      w.f64(b.epoch);
      str(w, b.from);
      w.u32(b.p);
      w.u32(b.buckets);
      w.f64(b.horizonMs);
      w.u32(b.keysMax);
      w.u32(b.ids.length);
      for (const id of b.ids) w.u32(id);
      w.u32(b.versions.length);
      for (const v of b.versions) {
        str(w, v[0]);
        w.f64(v[1]);
        w.f64(v[2]);
        str(w, v[3]);
        w.u8(v[4]);
      }
      break;
    }
    case 'push':
      w.f64(req.body.epoch);
      str(w, req.body.from);
      w.u32(req.body.p);
      entries(w, req.body.entries);
      break;
    default:
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
    const nVersions = count(r, frame.length, 2 + 8 + 8 + 2 + 1);
    const versions: KeyVersion[] = [];
    for (let i = 0; i < nVersions; i++) {
      const key = r.str();
      const ms = r.f64();
      const c = r.f64();
      const writer = r.str();
      const tomb = r.u8();
      if (tomb > 1) throw new FrameError('a tombstone mark must be 0 or 1');
      versions.push([key, ms, c, writer, tomb as 0 | 1]);
    }
    body = { epoch, from, p, buckets, ids, horizonMs, keysMax, versions } satisfies DiffRequest;
  } else if (kind === 'push') {
    const epoch = r.f64();
    const from = r.str();
    const p = r.u32();
    body = { epoch, from, p, entries: readEntries(r, frame.length) } satisfies PushRequest;
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
      w.u32(reply.body.applied);
      w.u32(reply.body.refused);
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
    default:
      w.json(reply.body);
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
    const held = r.u8() === 1;
    const horizonMs = r.f64();
    const truncated = r.u8() === 1;
    const list = readEntries(r, frame.length);
    const want = readStrings(r, frame.length);
    const covered = readStrings(r, frame.length);
    body = { epoch, held, horizonMs, entries: list, want, covered, truncated } satisfies DiffReply;
  } else if (kind === 'push') {
    body = { epoch: r.f64(), held: r.u8() === 1, applied: r.u32(), refused: r.u32() } satisfies PushReply;
  } else if (kind === 'page') {
    const hasNext = r.u8();
    if (hasNext > 1) throw new FrameError('a page cursor mark must be 0 or 1');
    const next = hasNext ? r.str() : null;
    const partitionBytes = r.f64();
    const page: PageReply = { entries: readEntries(r, frame.length), next };
    if (partitionBytes >= 0) page.partitionBytes = partitionBytes;
    body = page;
  } else body = r.json();
  r.end();
  return { id, ok: true, kind, body };
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** A page reply's shape, every entry included. */
export function isPageReply(x: unknown): x is PageReply {
  return isObj(x) && Array.isArray(x.entries) && x.entries.every(isAeEntry) && (x.next === null || typeof x.next === 'string')
    && (x.partitionBytes === undefined || Number.isSafeInteger(x.partitionBytes));
}
