import fs from 'node:fs/promises';
import path from 'node:path';
import type { Entry } from '@fog/lww';
import type { Logger } from '@fog/http-kit';
import type { ReplicaEngine } from '@fog/storage-core';
import {
  SNAPSHOT_FILE, SNAPSHOT_FORMAT_VERSION, SNAPSHOT_TEMP_FILE, encodeRecord, parseSegmentFileName, readSnapshot, scanRecords, segmentFileName,
  type LogRecord,
} from '@fog/storage-log';
import { AppendLog, syncDir, type AppendLogEvents, type FsyncPolicy } from './append-log';
import type { FaultInjector } from './fault-injection';

export const PERSISTENCE_DEFAULTS = {
  fsync: 'everysec' as FsyncPolicy,
  /** everysec: pause between two fsyncs of the log. */
  everysecSyncIntervalMs: 1000,
  /** Take a snapshot once the log since the last one holds this many bytes (bounds replay time and disk use). */
  snapshotLogBytes: 64 * 1024 * 1024,
  /** Also take a snapshot this long after the last one if anything was logged since (0: only by size). */
  snapshotIntervalMs: 10 * 60_000,
  /** While the disk is failing: first pause between two attempts to write a recovery snapshot... */
  diskRetryIntervalMs: 1000,
  /** ...doubling after each failed attempt up to this, so a dead disk is not hammered. */
  diskRetryIntervalMaxMs: 30_000,
  /** How often the snapshot triggers are checked. */
  snapshotCheckIntervalMs: 1000,
  /** A snapshot is written in chunks of about this size, yielding to requests in between. */
  snapshotChunkBytes: 1024 * 1024,
} as const;

export interface PersistenceOptions {
  dataDir: string;
  fsync: FsyncPolicy;
  snapshotLogBytes: number;
  snapshotIntervalMs: number;
  faults: FaultInjector;
  log: Logger;
  /** Metrics hooks (the storage node turns them into prom-client series). */
  events: PersistenceEvents;
}

export interface PersistenceEvents {
  diskError(op: 'write' | 'fsync' | 'snapshot' | 'open'): void;
  synced(fsyncSeconds: number, lagSeconds: number): void;
  snapshot(outcome: 'ok' | 'failed', seconds: number, bytes: number): void;
}

export interface ReplayReport {
  snapshotEntries: number;
  logRecords: number;
  segments: number;
  bytesRead: number;
  corruptRecords: number;
  corruptBytes: number;
  tornBytes: number;
  seconds: number;
}

export const CORRUPT_SUFFIX = '.corrupt';
/** Holds the pid of the process using the data dir: two nodes appending to one log would corrupt it. */
export const LOCK_FILE = 'LOCK';

/**
 * The storage node's data on disk: a snapshot plus append-only log segments in `dataDir`.
 *
 * Start-up loads the snapshot and replays the segments it does not cover, cutting a torn tail
 * with a warning and counting corrupt records. From then on every entry the engine applies is
 * appended to the current segment. A snapshot rotates to a new segment first, then writes the
 * store (fuzzily: writes continue meanwhile; replaying the new segment over it gives the same
 * store because merging is idempotent and order-free), fsyncs it, renames it into place and
 * deletes the segments it covers.
 *
 * Disk failure: the first failed write or fsync marks the node not writable (every write is
 * refused with FOG_ERR_INSUFFICIENT_STORAGE through the engine's write gate); the records of
 * the failed group are answered with that error too, though they stay applied in memory (the
 * write was not acknowledged, so like any failed write in a Dynamo-style store it may or may
 * not take effect). Every diskRetryIntervalMs a recovery snapshot of memory is attempted into a
 * new segment and snapshot file; when it succeeds, memory and disk agree again and writes
 * resume.
 */
export class Persistence {
  private log!: AppendLog;
  /** Segments written since the last snapshot, oldest first, the current one last. */
  private segments: number[] = [];
  /** Bytes in the segments before the current one that no snapshot covers yet. */
  private olderSegmentsBytes = 0;
  private writableFlag = true;
  private snapshotting: Promise<void> | null = null;
  private lastSnapshotMs = Date.now();
  private lastSnapshotBytes = 0;
  private timers: NodeJS.Timeout[] = [];
  private retryDelayMs: number = PERSISTENCE_DEFAULTS.diskRetryIntervalMs;
  private nextRetryMs = 0;
  private stopped = false;
  replay: ReplayReport = { snapshotEntries: 0, logRecords: 0, segments: 0, bytesRead: 0, corruptRecords: 0, corruptBytes: 0, tornBytes: 0, seconds: 0 };
  snapshots = { ok: 0, failed: 0 };

  private constructor(private readonly engine: ReplicaEngine, private readonly opts: PersistenceOptions) {}

  /** Load and replay `dataDir` into the engine, then open a new segment for appending. */
  static async open(engine: ReplicaEngine, opts: PersistenceOptions): Promise<Persistence> {
    const p = new Persistence(engine, opts);
    await p.load();
    return p;
  }

  get writable(): boolean {
    return this.writableFlag;
  }

  /** Bytes of log written since the last snapshot (all segments it does not cover). */
  get logBytes(): number {
    return this.olderSegmentsBytes + (this.log ? this.log.bytes : 0);
  }

  get unsyncedBytes(): number {
    return this.log ? this.log.unsyncedBytes : 0;
  }

  get snapshotBytes(): number {
    return this.lastSnapshotBytes;
  }

  appendEntry(partition: number, key: string, entry: Entry): void {
    this.log.append(encodeRecord({ kind: 'entry', partition, key, entry }));
  }

  append(rec: LogRecord): void {
    this.log.append(encodeRecord(rec));
  }

  /**
   * Resolves once every record appended so far is on disk as the fsync policy promises
   * (written; and fsynced under `always`); rejects when the disk failed.
   */
  commit(): Promise<void> {
    return this.log.commit();
  }

  start(): void {
    if (this.opts.fsync === 'everysec') {
      this.timers.push(setInterval(() => this.log.requestSync(), PERSISTENCE_DEFAULTS.everysecSyncIntervalMs));
    }
    this.timers.push(setInterval(() => this.tick(), Math.min(PERSISTENCE_DEFAULTS.snapshotCheckIntervalMs, PERSISTENCE_DEFAULTS.diskRetryIntervalMs)));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await this.snapshotting?.catch(() => undefined);
    await this.log.close();
    await fs.rm(path.join(this.opts.dataDir, LOCK_FILE), { force: true });
  }

  /** Take a snapshot now (also used by tests and after replaying a damaged log). */
  snapshotNow(reason: string): Promise<void> {
    if (!this.snapshotting) {
      this.snapshotting = this.snapshot(reason).finally(() => {
        this.snapshotting = null;
      });
    }
    return this.snapshotting;
  }

  private tick(): void {
    if (this.stopped || this.snapshotting) return;
    if (!this.writableFlag) {
      const now = Date.now();
      if (now < this.nextRetryMs) return;
      this.snapshotNow('disk recovery').then(
        () => {
          this.retryDelayMs = PERSISTENCE_DEFAULTS.diskRetryIntervalMs;
        },
        () => {
          this.nextRetryMs = Date.now() + this.retryDelayMs;
          this.retryDelayMs = Math.min(this.retryDelayMs * 2, PERSISTENCE_DEFAULTS.diskRetryIntervalMaxMs);
        },
      );
      return;
    }
    const bytes = this.logBytes;
    const bySize = bytes >= this.opts.snapshotLogBytes;
    const byAge = this.opts.snapshotIntervalMs > 0 && bytes > 0 && Date.now() - this.lastSnapshotMs >= this.opts.snapshotIntervalMs;
    if (bySize || byAge) this.snapshotNow(bySize ? 'log size' : 'interval').catch(() => undefined);
  }

  private logEvents(): AppendLogEvents {
    return {
      failed: (op, err) => {
        this.opts.events.diskError(op);
        if (this.writableFlag) {
          this.writableFlag = false;
          this.retryDelayMs = PERSISTENCE_DEFAULTS.diskRetryIntervalMs;
          this.nextRetryMs = Date.now() + this.retryDelayMs;
          this.opts.log.error('disk failure: writes refused until the disk recovers', {
            op, code: (err as NodeJS.ErrnoException).code ?? null, error: err.message, dataDir: this.opts.dataDir,
          });
        }
      },
      synced: (s, lag) => this.opts.events.synced(s, lag),
    };
  }

  // ---- start-up ----

  private async load(): Promise<void> {
    const started = process.hrtime.bigint();
    const dir = this.opts.dataDir;
    await fs.mkdir(dir, { recursive: true });
    await this.lock();
    const names = await fs.readdir(dir);
    if (names.includes(SNAPSHOT_TEMP_FILE)) await fs.rm(path.join(dir, SNAPSHOT_TEMP_FILE), { force: true });
    let firstSegment = 0;
    let damaged = false;
    if (names.includes(SNAPSHOT_FILE)) {
      const buf = await fs.readFile(path.join(dir, SNAPSHOT_FILE));
      this.replay.bytesRead += buf.length;
      this.lastSnapshotBytes = buf.length;
      const scan = scanRecords(buf);
      const snap = readSnapshot(scan);
      for (const { partition, key, entry } of snap.entries) this.engine.ingest('replay', partition, key, entry);
      for (const { partition, ms } of snap.horizons) this.engine.raiseHorizon(partition, ms);
      this.replay.snapshotEntries = snap.entries.length;
      firstSegment = snap.firstSegment;
      if (snap.problems.length) {
        damaged = true;
        this.replay.corruptRecords += scan.corrupt.length;
        this.replay.corruptBytes += scan.corrupt.reduce((n, c) => n + c.bytes, 0) + scan.tornBytes;
        this.opts.log.error('snapshot is damaged: loaded what could be read', {
          file: SNAPSHOT_FILE, problems: snap.problems.join('; '), entriesLoaded: snap.entries.length, corruptRecords: scan.corrupt.length,
        });
        // The log segments it should cover may be gone: replay whatever is left.
        firstSegment = 0;
      }
    }
    const segs = names.map((n) => [n, parseSegmentFileName(n)] as const).filter((x): x is [string, number] => x[1] !== null).sort((a, b) => a[1] - b[1]);
    let maxSeq = Math.max(0, firstSegment - 1);
    const corruptFiles: string[] = [];
    for (const [name, seq] of segs) {
      maxSeq = Math.max(maxSeq, seq);
      const file = path.join(dir, name);
      if (seq < firstSegment) {
        // Covered by the snapshot: a crash came between renaming the snapshot and deleting these.
        await fs.rm(file, { force: true });
        continue;
      }
      const buf = await fs.readFile(file);
      this.replay.bytesRead += buf.length;
      this.replay.segments++;
      const scan = scanRecords(buf);
      for (const rec of scan.records) this.applyReplayed(rec);
      this.replay.logRecords += scan.records.length;
      if (scan.tornBytes > 0) {
        this.replay.tornBytes += scan.tornBytes;
        this.opts.log.warn('log segment ends with a torn record: cut off', {
          file: name, validBytes: scan.validBytes, tornBytes: scan.tornBytes, reason: scan.tornReason,
        });
        await fs.truncate(file, scan.validBytes);
      }
      if (scan.corrupt.length > 0) {
        damaged = true;
        corruptFiles.push(file);
        const bytes = scan.corrupt.reduce((n, c) => n + c.bytes, 0);
        this.replay.corruptRecords += scan.corrupt.length;
        this.replay.corruptBytes += bytes;
        this.opts.log.error('log segment has corrupt records: skipped them, replayed the rest', {
          file: name, corruptRecords: scan.corrupt.length, corruptBytes: bytes, firstCorruptOffset: scan.corrupt[0].offset,
          reasons: [...new Set(scan.corrupt.map((c) => c.reason))].join(','), keptAs: `${name}${CORRUPT_SUFFIX}`,
        });
      }
      this.segments.push(seq);
      this.olderSegmentsBytes += scan.validBytes;
    }
    this.log = await AppendLog.open(dir, maxSeq + 1, this.opts.fsync, this.opts.faults, this.logEvents());
    this.segments.push(this.log.seq);
    this.replay.seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const s = this.engine.store.stats();
    this.opts.log.info('data replayed', {
      dataDir: dir, fsync: this.opts.fsync, snapshotEntries: this.replay.snapshotEntries, logRecords: this.replay.logRecords,
      segments: this.replay.segments, bytesRead: this.replay.bytesRead, keys: s.keys, tombstones: s.tombstones,
      corruptRecords: this.replay.corruptRecords, tornBytes: this.replay.tornBytes, ms: Math.round(this.replay.seconds * 1000),
    });
    if (damaged) {
      // Supersede the damaged files at once, so the damage is reported once and not replayed
      // again; keep a copy of each beside the data for inspection. (Copied, not renamed: if
      // the snapshot fails, the original is still replayed next time.)
      for (const file of corruptFiles) {
        // Best effort: a full disk must not stop the node from starting (it then starts not
        // writable and retries the snapshot like any disk failure).
        await fs.copyFile(file, `${file}${CORRUPT_SUFFIX}`).catch((err: Error) => {
          this.opts.log.warn('could not keep a copy of a damaged log segment', { file: path.basename(file), error: err.message });
        });
      }
      try {
        await this.snapshotNow('replay found damage');
      } catch {
        this.writableFlag = false; // retried like any disk failure once the node runs
      }
    }
  }

  /** Take the data dir, or refuse to start when a live process holds it. */
  private async lock(): Promise<void> {
    const file = path.join(this.opts.dataDir, LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await fs.writeFile(file, String(process.pid), { flag: 'wx' });
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new Error(`the data dir ${this.opts.dataDir} is in use by process ${holder} (${file}); give each storage node its own --data-dir`);
      }
      // Left by a process that is gone (killed): take it over.
      await fs.rm(file, { force: true });
    }
    throw new Error(`could not lock the data dir ${this.opts.dataDir}`);
  }

  private applyReplayed(rec: LogRecord): void {
    // Straight into the store: replay restores what was on disk, without the admission and
    // horizon checks of live traffic (a present key may legitimately be older than a horizon).
    if (rec.kind === 'entry') this.engine.ingest('replay', rec.partition, rec.key, rec.entry);
    else if (rec.kind === 'horizon') this.engine.raiseHorizon(rec.partition, rec.ms);
    else if (rec.kind === 'drop') this.engine.dropPartition(rec.partition);
  }

  // ---- snapshots ----

  private async snapshot(reason: string): Promise<void> {
    const started = process.hrtime.bigint();
    const dir = this.opts.dataDir;
    const tmp = path.join(dir, SNAPSHOT_TEMP_FILE);
    let bytes = 0;
    try {
      // 1. Rotate, so that everything logged from here on is in segments the snapshot does not
      //    claim to cover. A failed log is replaced; a healthy one is drained and closed.
      const old = this.log;
      if (old.failed || old.bytes > 0) {
        const next = await AppendLog.open(dir, old.seq + 1, this.opts.fsync, this.opts.faults, this.logEvents());
        this.log = next;
        this.segments.push(next.seq);
        this.olderSegmentsBytes += old.bytes;
        await old.close();
      }
      const firstSegment = this.log.seq;
      // 2. Write the store as of now (and whatever arrives while we write: harmless).
      bytes = await this.writeSnapshotFile(tmp, firstSegment);
      await fs.rename(tmp, path.join(dir, SNAPSHOT_FILE));
      await syncDir(dir);
      // 3. The segments before firstSegment are covered now.
      for (const seq of this.segments.filter((s) => s < firstSegment)) {
        await fs.rm(path.join(dir, segmentFileName(seq)), { force: true });
      }
      this.segments = this.segments.filter((s) => s >= firstSegment);
      this.olderSegmentsBytes = 0;
      this.lastSnapshotMs = Date.now();
      this.lastSnapshotBytes = bytes;
      this.snapshots.ok++;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.opts.events.snapshot('ok', seconds, bytes);
      const s = this.engine.store.stats();
      this.opts.log.info('snapshot written', { reason, bytes, keys: s.keys, tombstones: s.tombstones, firstSegment, ms: Math.round(seconds * 1000) });
      if (!this.writableFlag && !this.log.failed) {
        this.writableFlag = true;
        this.opts.log.warn('disk writable again: memory written to a fresh snapshot, writes accepted', { dataDir: dir });
      }
    } catch (err) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      this.snapshots.failed++;
      this.opts.events.snapshot('failed', Number(process.hrtime.bigint() - started) / 1e9, bytes);
      this.opts.events.diskError('snapshot');
      const e = err as NodeJS.ErrnoException;
      // While the disk is failing this repeats every retry interval: log it at debug then.
      const level = this.writableFlag ? 'error' : 'debug';
      this.opts.log[level]('snapshot failed', { reason, code: e.code ?? null, error: e.message });
      throw err;
    }
  }

  private async writeSnapshotFile(file: string, firstSegment: number): Promise<number> {
    const fh = await fs.open(file, 'w');
    let written = 0;
    try {
      let chunk: Buffer[] = [];
      let chunkBytes = 0;
      const flush = async () => {
        if (chunkBytes === 0) return;
        this.opts.faults.check('write');
        const buf = Buffer.concat(chunk, chunkBytes);
        chunk = [];
        chunkBytes = 0;
        let done = 0;
        while (done < buf.length) done += (await fh.write(buf, done, buf.length - done)).bytesWritten;
        written += buf.length;
      };
      /** Queue a record; true when the chunk is full and should be flushed. */
      const add = (rec: LogRecord): boolean => {
        const frame = encodeRecord(rec);
        chunk.push(frame);
        chunkBytes += frame.length;
        return chunkBytes >= PERSISTENCE_DEFAULTS.snapshotChunkBytes;
      };
      add({ kind: 'snap-begin', formatVersion: SNAPSHOT_FORMAT_VERSION, createdAtMs: Date.now(), firstSegment });
      const horizons = this.engine.allHorizons();
      for (const h of horizons) add({ kind: 'horizon', partition: h.partition, ms: h.ms });
      let entries = 0;
      for (const p of this.engine.store.partitionIds()) {
        // The iterator stays valid while requests change the map between chunks.
        for (const [key, entry] of this.engine.store.entries(p)) {
          if (add({ kind: 'entry', partition: p, key, entry })) await flush();
          entries++;
        }
      }
      add({ kind: 'snap-end', entries, horizons: horizons.length });
      await flush();
      this.opts.faults.check('fsync');
      await fh.sync();
    } finally {
      await fh.close();
    }
    return written;
  }
}


function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
