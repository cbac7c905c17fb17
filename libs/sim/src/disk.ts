import type { Entry } from '@fog/lww';

/** What the storage node's log holds, record by record (the app's log, minus its byte format). */
export type DiskRecord =
  | { kind: 'entry'; partition: number; key: string; entry: Entry }
  | { kind: 'drop'; partition: number }
  | { kind: 'horizon'; partition: number; ms: number };

/** `always`: every record is synced before the write it carries is acknowledged; `everysec`: once a second. */
export type FsyncPolicy = 'always' | 'everysec';

/**
 * One node's disk: an append-only list of records and how many of them are synced. A crash
 * keeps the synced prefix and loses the rest; a disk loss loses everything. `lastContactMs`
 * stands for the small file the anti-entropy loop keeps beside the log.
 */
export class SimDisk {
  private records: DiskRecord[] = [];
  private synced = 0;
  lastContactMs: number | null = null;
  /** Planted bug: appends are not synced as the policy says, only by the once-a-second timer. */
  skipFsync = false;

  constructor(readonly fsync: FsyncPolicy) {}

  append(r: DiskRecord): void {
    this.records.push(r);
    if (this.fsync === 'always' && !this.skipFsync) this.synced = this.records.length;
  }

  /** An fsync (the everysec timer, or a commit before a copy is reported). */
  sync(): void {
    this.synced = this.records.length;
  }

  get unsynced(): number {
    return this.records.length - this.synced;
  }

  get size(): number {
    return this.records.length;
  }

  crash(): number {
    const keep = this.synced;
    const lost = this.records.length - keep;
    this.records.length = keep;
    this.synced = keep;
    return lost;
  }

  wipe(): void {
    this.records = [];
    this.synced = 0;
    this.lastContactMs = null;
  }

  /** The records a restart replays, in order. */
  replay(): readonly DiskRecord[] {
    return this.records;
  }

  /** Rewrite the log as a snapshot of what it holds (keeps replay short across many restarts). */
  compact(snapshot: DiskRecord[]): void {
    this.records = snapshot;
    this.synced = snapshot.length;
  }
}
