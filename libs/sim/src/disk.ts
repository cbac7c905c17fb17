import type { Entry } from '@fog/lww';
import { SNAPSHOT_FORMAT_VERSION, encodeRecord } from '@fog/storage-log';

/** What the storage node appends to its log (a subset of libs/storage-log's `LogRecord`). */
export type DiskRecord =
  | { kind: 'entry'; partition: number; key: string; entry: Entry }
  | { kind: 'drop'; partition: number }
  | { kind: 'horizon'; partition: number; ms: number };

/** `always`: every record is synced before the write it carries is acknowledged; `everysec`: once a second. */
export type FsyncPolicy = 'always' | 'everysec';

/** A process dies (the OS keeps what was written) or the machine does (only what was synced survives). */
export type CrashKind = 'process' | 'machine';

/**
 * What the disk was given, record by record, beside its bytes: the harness's knowledge, never
 * read by the simulated node. A restart must replay exactly the records still intact on disk.
 */
interface Shadow {
  rec: DiskRecord;
  start: number;
  end: number;
  damaged: boolean;
}

/** One log segment file: `log-NNNNNNNNNN.fog`, with how much of it is written and synced. */
class Segment {
  private buf = Buffer.alloc(1024);
  bytes = 0;
  syncedBytes = 0;
  readonly shadow: Shadow[] = [];

  constructor(readonly seq: number) {}

  write(frame: Buffer, rec: DiskRecord | null): void {
    if (this.bytes + frame.length > this.buf.length) {
      const next = Buffer.alloc(Math.max(this.buf.length * 2, this.bytes + frame.length));
      this.buf.copy(next, 0, 0, this.bytes);
      this.buf = next;
    }
    frame.copy(this.buf, this.bytes);
    if (rec) this.shadow.push({ rec, start: this.bytes, end: this.bytes + frame.length, damaged: false });
    this.bytes += frame.length;
  }

  /** Keep the first `n` bytes (a crash, a torn write, replay cutting a torn tail). */
  truncate(n: number): void {
    this.bytes = Math.min(this.bytes, n);
    this.syncedBytes = Math.min(this.syncedBytes, this.bytes);
    while (this.shadow.length > 0 && this.shadow[this.shadow.length - 1].end > this.bytes) this.shadow.pop();
  }

  /** The file's contents as replay reads them (a copy: replay must not see later writes). */
  contents(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.bytes));
  }

  /** Media damage: XOR one byte at `offset`. */
  flip(offset: number, mask: number): void {
    this.buf[offset] ^= mask;
  }
}

/** The snapshot file: written to a temporary name, fsynced and renamed (so atomic here). */
interface SnapshotFile {
  bytes: Buffer;
  shadow: Shadow[];
}

/**
 * One node's data directory, as bytes in libs/storage-log's record format: a snapshot file and
 * log segments, written as apps/storage's `Persistence` and `AppendLog` write them. A process
 * crash keeps what was written; a machine crash keeps what was synced (and, torn, a prefix of
 * the write in flight); a disk loss loses everything. Faults: the disk fills up (writes fail
 * until space returns), the next fsync fails, a synced record's bytes are damaged.
 *
 * `lastContactMs` stands for the small file the anti-entropy loop keeps beside the log.
 */
export class SimDisk {
  private snapshotFile: SnapshotFile | null = null;
  private segments: Segment[] = [];
  /** The segment open for appending, or null between two processes. */
  private current: Segment | null = null;
  /** The open segment failed (AppendLog's `failure`): it takes nothing more. */
  failed: 'write' | 'fsync' | null = null;
  /** No space left: every write fails (ENOSPC) until this is cleared. */
  full = false;
  /** The next fsync fails (EIO), once. */
  fsyncFailsNext = false;
  lastContactMs: number | null = null;
  /** Planted bug: appends are not synced as the policy says, only by the once-a-second timer. */
  skipFsync = false;
  readonly stats = { appends: 0, writeErrors: 0, fsyncErrors: 0, snapshots: 0, snapshotsFailed: 0, tornCrashes: 0, corruptions: 0 };

  constructor(readonly fsync: FsyncPolicy) {}

  // ---- what a running process does (AppendLog, Persistence) ----

  /** A process starts: segment files in order of their number, and the snapshot. */
  files(): { snapshot: Buffer | null; segments: Array<{ seq: number; bytes: Buffer }> } {
    return { snapshot: this.snapshotFile ? Buffer.from(this.snapshotFile.bytes) : null, segments: this.segments.map((s) => ({ seq: s.seq, bytes: s.contents() })) };
  }

  /** Replay cut a torn tail off a segment (fs.truncate). */
  truncateSegment(seq: number, validBytes: number): void {
    this.segments.find((s) => s.seq === seq)?.truncate(validBytes);
  }

  /** Drop the segments a sound snapshot covers (a crash came between its rename and their deletion). */
  deleteSegmentsBefore(seq: number): void {
    this.segments = this.segments.filter((s) => s.seq >= seq);
  }

  /** AppendLog.open: a new segment after every one there is. */
  openSegment(): void {
    const seq = this.segments.reduce((m, s) => Math.max(m, s.seq), 0) + 1;
    this.current = new Segment(seq);
    this.segments.push(this.current);
    this.failed = null;
  }

  /**
   * Append one record: write(2), then under `always` fsync. False when it did not become durable
   * as the policy promises: the log has failed (now or before) and takes nothing more.
   */
  append(r: DiskRecord): boolean {
    const seg = this.current;
    if (!seg || this.failed) return false;
    this.stats.appends++;
    if (this.full) {
      // ENOSPC: the app truncates the partial write off, the segment ends on a record boundary.
      this.stats.writeErrors++;
      this.failed = 'write';
      return false;
    }
    seg.write(encodeRecord(r), r);
    if (this.fsync === 'always' && !this.skipFsync) return this.sync();
    return true;
  }

  /** An fsync (every append under `always`, the everysec timer, a commit before a copy is reported). */
  sync(): boolean {
    const seg = this.current;
    if (!seg || this.failed) return false;
    if (seg.syncedBytes === seg.bytes) return true;
    if (this.fsyncFailsNext) {
      // EIO. The kernel may have dropped the dirty pages (PostgreSQL's fsyncgate): what was not
      // synced is gone from the file, and the log is failed for good (append-log.ts).
      this.fsyncFailsNext = false;
      this.stats.fsyncErrors++;
      this.failed = 'fsync';
      seg.truncate(seg.syncedBytes);
      return false;
    }
    seg.syncedBytes = seg.bytes;
    return true;
  }

  /**
   * Persistence.snapshot: rotate to a new segment, write the store to the snapshot file, fsync,
   * rename, delete the segments it covers. False (nothing changed but the rotation) when the
   * disk refuses a write or the fsync.
   */
  writeSnapshot(nowMs: number, entries: Array<{ partition: number; key: string; entry: Entry }>, horizons: Array<{ partition: number; ms: number }>): boolean {
    let seg = this.current;
    if (!seg || this.failed || seg.bytes > 0) {
      this.openSegment();
      seg = this.current as Segment | null;
    }
    const firstSegment = seg ? seg.seq : 1;
    if (this.full || this.fsyncFailsNext) {
      if (!this.full) this.fsyncFailsNext = false;
      this.stats.snapshotsFailed++;
      return false;
    }
    const frames: Buffer[] = [encodeRecord({ kind: 'snap-begin', formatVersion: SNAPSHOT_FORMAT_VERSION, createdAtMs: Math.max(0, Math.round(nowMs)), firstSegment })];
    let bytes = frames[0].length;
    const shadow: Shadow[] = [];
    const add = (rec: DiskRecord) => {
      const frame = encodeRecord(rec);
      frames.push(frame);
      shadow.push({ rec, start: bytes, end: bytes + frame.length, damaged: false });
      bytes += frame.length;
    };
    for (const h of horizons) add({ kind: 'horizon', partition: h.partition, ms: h.ms });
    for (const e of entries) add({ kind: 'entry', partition: e.partition, key: e.key, entry: e.entry });
    frames.push(encodeRecord({ kind: 'snap-end', entries: entries.length, horizons: horizons.length }));
    this.snapshotFile = { bytes: Buffer.concat(frames), shadow };
    this.deleteSegmentsBefore(firstSegment);
    this.stats.snapshots++;
    return true;
  }

  get unsynced(): number {
    return this.current ? this.current.bytes - this.current.syncedBytes : 0;
  }

  /** Bytes on disk (snapshot and segments). */
  get size(): number {
    return (this.snapshotFile?.bytes.length ?? 0) + this.segments.reduce((n, s) => n + s.bytes, 0);
  }

  /**
   * Persistence.commit: true once every record appended so far is on disk as the policy
   * promises (written; and fsynced under `always`, unless the planted bug skips it); false when
   * the log has failed.
   */
  commit(): boolean {
    if (this.failed) return false;
    return this.fsync === 'always' && !this.skipFsync ? this.sync() : true;
  }

  /**
   * Whether the last record written to the open segment is this key at this version and still
   * there (not refused by a full disk, not dropped by a failed fsync).
   */
  lastAppendWritten(partition: number, key: string, ver: Entry['ver']): boolean {
    const seg = this.current;
    const last = seg?.shadow[seg.shadow.length - 1];
    if (!seg || !last || last.rec.kind !== 'entry') return false;
    return last.rec.partition === partition && last.rec.key === key && last.rec.entry.ver.ms === ver.ms && last.rec.entry.ver.c === ver.c && last.rec.entry.ver.w === ver.w;
  }

  // ---- faults ----

  /**
   * The process (or machine) dies. A process crash keeps every byte written (the kernel writes
   * its dirty pages back); a machine crash keeps what was synced. Torn (machine crash only): a
   * write was in flight and a prefix of it, `tornFraction` of its bytes, reached the disk. The
   * write in flight is the unsynced tail when there is one, else a record whose write(2) had
   * begun and whose request was never answered. Returns the bytes lost.
   */
  crash(kind: CrashKind, tornFraction: number | null = null): number {
    const seg = this.current;
    this.current = null;
    this.failed = null;
    if (!seg) return 0;
    if (kind === 'process') {
      seg.syncedBytes = seg.bytes;
      return 0;
    }
    const synced = seg.syncedBytes;
    const lost = seg.bytes - synced;
    if (tornFraction === null) {
      seg.truncate(synced);
      return lost;
    }
    this.stats.tornCrashes++;
    const clamp = (n: number) => Math.min(n - 1, Math.max(1, Math.floor(n * tornFraction)));
    if (lost > 1) {
      // The records of the tail that survive whole stay expected; the cut one is not.
      const keep = clamp(lost);
      seg.truncate(synced + keep);
      seg.syncedBytes = seg.bytes;
      return lost - keep;
    }
    seg.truncate(synced);
    const frame = inFlightFrame(seg.seq);
    seg.write(frame.subarray(0, clamp(frame.length)), null);
    seg.syncedBytes = seg.bytes;
    return lost;
  }

  /**
   * Media damage: flip one byte (`at`: 0..1 picks the byte inside the record) of one synced
   * record (`which`: 0..1 picks the record, in file order: the snapshot's entries and horizons,
   * then the log segments'). Returns where, or null when no synced record is there to damage.
   */
  corrupt(which: number, at: number, mask: number): string | null {
    const candidates: Array<{ seg: Segment | null; s: Shadow }> = [];
    for (const s of this.snapshotFile?.shadow ?? []) if (!s.damaged) candidates.push({ seg: null, s });
    for (const seg of this.segments) for (const s of seg.shadow) if (!s.damaged && s.end <= seg.syncedBytes) candidates.push({ seg, s });
    if (candidates.length === 0) return null;
    const { seg, s } = candidates[Math.min(candidates.length - 1, Math.floor(which * candidates.length))];
    const byte = Math.min(s.end - s.start - 1, Math.floor(at * (s.end - s.start)));
    const m = mask & 0xff || 1;
    if (seg) seg.flip(s.start + byte, m);
    else if (this.snapshotFile) this.snapshotFile.bytes[s.start + byte] ^= m;
    s.damaged = true;
    this.stats.corruptions++;
    const what = s.rec.kind === 'entry' ? `entry ${s.rec.key}` : s.rec.kind;
    return `${seg ? `segment ${seg.seq}` : 'snapshot'} offset ${s.start}: ${what} record of ${s.end - s.start} bytes, byte ${byte} xor 0x${m.toString(16)}`;
  }

  wipe(): void {
    this.snapshotFile = null;
    this.segments = [];
    this.current = null;
    this.failed = null;
    this.full = false;
    this.fsyncFailsNext = false;
    this.lastContactMs = null;
  }

  /**
   * The harness's expectation of a replay: the snapshot's undamaged records, then every
   * record of the segments it does not cover that is still whole and undamaged, in order.
   */
  expectedReplay(): DiskRecord[] {
    const out: DiskRecord[] = (this.snapshotFile?.shadow ?? []).filter((s) => !s.damaged).map((s) => s.rec);
    for (const seg of this.segments) for (const s of seg.shadow) if (!s.damaged && s.end <= seg.bytes) out.push(s.rec);
    return out;
  }
}

/** A record whose write(2) a machine crash interrupted: its request was never answered. */
function inFlightFrame(seq: number): Buffer {
  return encodeRecord({ kind: 'entry', partition: 0, key: `in-flight-${seq}`, entry: { ver: { ms: 1, c: 0, w: 'in-flight' }, value: Buffer.from('never acknowledged') } });
}
