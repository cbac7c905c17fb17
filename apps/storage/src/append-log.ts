import fs from 'node:fs/promises';
import path from 'node:path';
import { segmentFileName } from '@fog/storage-log';
import type { FaultInjector } from './fault-injection';

/**
 * always:   fsync before a write is acknowledged (one fsync per group of writes that arrived
 *           together: group commit).
 * everysec: write(2) before acknowledging, fsync once a second.
 * no:       write(2) before acknowledging, never fsync (the kernel writes back when it likes).
 */
export type FsyncPolicy = 'always' | 'everysec' | 'no';
export const FSYNC_POLICIES: readonly FsyncPolicy[] = ['always', 'everysec', 'no'];

export interface AppendLogEvents {
  /** A write or fsync failed: the log refuses everything from now on. */
  failed(op: 'write' | 'fsync', err: Error): void;
  /** An fsync completed: how long it took, and how old the oldest write it made durable was. */
  synced(fsyncSeconds: number, lagSeconds: number): void;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * One log segment open for appending, with group commit: records appended during one turn of
 * the event loop are written with one write(2) (and, under `always`, one fsync) and every
 * request that appended them is answered when that completes. Writes and fsyncs run one at a
 * time on a single worker, in order; while one runs, the next group collects.
 */
export class AppendLog {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private waiters: Waiter[] = [];
  private running = false;
  private scheduled = false;
  private syncRequested = false;
  /** When the oldest byte written but not yet fsynced was written; null when all is synced. */
  private unsyncedSinceMs: number | null = null;
  private unsyncedBytesCount = 0;
  private closed = false;
  private failure: Error | null = null;
  private idleWaiters: Array<() => void> = [];

  private constructor(
    readonly seq: number,
    readonly file: string,
    private readonly fh: fs.FileHandle,
    private size: number,
    private readonly policy: FsyncPolicy,
    private readonly faults: FaultInjector,
    private readonly events: AppendLogEvents,
  ) {}

  /** Create (or open for appending) segment `seq` in `dir`, and make its directory entry durable. */
  static async open(dir: string, seq: number, policy: FsyncPolicy, faults: FaultInjector, events: AppendLogEvents): Promise<AppendLog> {
    const file = path.join(dir, segmentFileName(seq));
    const fh = await fs.open(file, 'a');
    try {
      const { size } = await fh.stat();
      await syncDir(dir);
      return new AppendLog(seq, file, fh, size, policy, faults, events);
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  }

  get bytes(): number {
    return this.size;
  }

  get failed(): Error | null {
    return this.failure;
  }

  get unsyncedBytes(): number {
    return this.unsyncedBytesCount;
  }

  /** Queue a framed record; it is written on the next turn of the event loop. */
  append(frame: Buffer): void {
    if (this.failure || this.closed) return; // the recovery snapshot will carry it (see Persistence)
    this.buffered.push(frame);
    this.bufferedBytes += frame.length;
    this.schedule();
  }

  /**
   * Resolves once everything appended so far is written (and fsynced under `always`);
   * rejects if that failed.
   */
  commit(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('the log segment is closed'));
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  /** everysec: fsync what was written since the last fsync. */
  requestSync(): void {
    if (this.unsyncedBytesCount === 0 || this.failure || this.closed) return;
    this.syncRequested = true;
    this.schedule();
  }

  /** Write what is queued, fsync (unless the policy is `no`), and close. Safe on a failed log. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.failure) {
      if (this.policy !== 'no') this.syncRequested = true;
      this.schedule();
      await this.idle();
    }
    this.closed = true;
    await this.fh.close().catch(() => undefined);
  }

  private idle(): Promise<void> {
    if (!this.running && !this.scheduled) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    // setImmediate runs after the I/O callbacks of this turn: every request that arrived in it
    // has appended its records by then, so they share one write and one fsync.
    setImmediate(() => void this.work());
  }

  private async work(): Promise<void> {
    this.scheduled = false;
    this.running = true;
    try {
      while (!this.failure && (this.buffered.length > 0 || this.waiters.length > 0 || this.syncRequested)) {
        const frames = this.buffered;
        const bytes = this.bufferedBytes;
        const waiters = this.waiters;
        this.buffered = [];
        this.bufferedBytes = 0;
        this.waiters = [];
        try {
          if (bytes > 0) await this.write(Buffer.concat(frames, bytes));
          if (this.policy === 'always' || this.syncRequested) {
            this.syncRequested = false;
            await this.sync();
          }
          for (const w of waiters) w.resolve();
        } catch (err) {
          for (const w of waiters) w.reject(this.failure ?? (err as Error));
        }
      }
      if (this.failure) {
        for (const w of this.waiters) w.reject(this.failure);
        this.waiters = [];
        this.buffered = [];
        this.bufferedBytes = 0;
      }
    } finally {
      this.running = false;
      const idle = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of idle) resolve();
    }
  }

  private async write(buf: Buffer): Promise<void> {
    const start = this.size;
    try {
      this.faults.check('write');
      let done = 0;
      while (done < buf.length) {
        const { bytesWritten } = await this.fh.write(buf, done, buf.length - done, start + done);
        done += bytesWritten;
      }
      this.size += buf.length;
      this.unsyncedBytesCount += buf.length;
      this.unsyncedSinceMs ??= Date.now();
    } catch (err) {
      // Cut a partial record off, so that the segment ends on a record boundary if the disk
      // recovers; a failure here leaves a torn tail that replay cuts anyway.
      await this.fh.truncate(start).catch(() => undefined);
      this.fail('write', err as Error);
      throw err;
    }
  }

  private async sync(): Promise<void> {
    if (this.unsyncedBytesCount === 0) return;
    const started = process.hrtime.bigint();
    const oldest = this.unsyncedSinceMs ?? Date.now();
    try {
      this.faults.check('fsync');
      await this.fh.datasync();
    } catch (err) {
      // After a failed fsync the kernel may have dropped the dirty pages: retrying the fsync
      // could "succeed" without the data (PostgreSQL's fsyncgate). The log is failed for good;
      // recovery rewrites the data from memory into a new snapshot instead.
      this.fail('fsync', err as Error);
      throw err;
    }
    this.unsyncedBytesCount = 0;
    this.unsyncedSinceMs = null;
    this.events.synced(Number(process.hrtime.bigint() - started) / 1e9, (Date.now() - oldest) / 1000);
  }

  private fail(op: 'write' | 'fsync', err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.events.failed(op, err);
  }
}

/** Make a directory's entries (a created or renamed file) durable. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
