import type { PartitionTable } from '@fog/protocol';
import { serving } from './schedule';

/**
 * A partition copy, as a state machine that does no I/O: the app asks `next()` what to do,
 * does it (fetch a page, reconcile with a peer, report), and tells the job how it went.
 *
 * The rule it enforces: a copy is complete only when it holds every version that any active
 * replica of the partition held when the copy began. It pages the whole partition from one
 * active replica (the primary), then reconciles digests with every other active replica
 * (pulling what the primary lacked), and only then reports done, naming the sources. A source
 * that cannot be reached is retried; a replica that is down stays required until the table
 * drops it (it goes `out`), since it may hold acknowledged writes the others missed.
 */
export type CopyStep =
  | { kind: 'page'; source: string; after: string | null }
  | { kind: 'reconcile'; peer: string }
  | { kind: 'report'; sources: string[] }
  | { kind: 'wait'; untilMs: number; reason: 'retry' | 'no_source' | 'source_down' }
  | { kind: 'done' };

export interface CopyOptions {
  retryDelayMs: number;
  retryDelayMaxMs: number;
}

export const COPY_DEFAULTS: Readonly<CopyOptions> = {
  /** Pause before retrying after a failed page, reconciliation or report (doubling per failure). */
  retryDelayMs: 500,
  /** Longest pause between retries. */
  retryDelayMaxMs: 10_000,
};

export interface CopyProgress {
  keys: number;
  bytes: number;
  /** Entries stored from the reconciliation with non-primary replicas: what the primary lacked. */
  recoveredKeys: number;
}

export class CopyJob {
  private primary: string | null = null;
  /** The current primary's paging began at the first page. */
  private primaryFromStart = false;
  /** Page cursor (the last key received); null before the first page. */
  private after: string | null = null;
  private pageDone = false;
  /** A primary paged from the first page to the last: it needs no reconciliation. */
  private readonly fullyPaged = new Set<string>();
  /** Replicas whose reconciliation with this node completed. */
  private readonly reconciled = new Set<string>();
  private failures = 0;
  private retryAtMs = 0;
  private reported = false;
  readonly progress: CopyProgress = { keys: 0, bytes: 0, recoveredKeys: 0 };

  constructor(readonly partition: number, readonly self: string, readonly startedAtMs: number, private readonly opts: Readonly<CopyOptions> = COPY_DEFAULTS) {}

  /** What to do now, given the newest table and the time. */
  next(table: PartitionTable, nowMs: number): CopyStep {
    if (this.reported) return { kind: 'done' };
    if (nowMs < this.retryAtMs) return { kind: 'wait', untilMs: this.retryAtMs, reason: 'retry' };
    const active = activeSources(table, this.partition, this.self);
    if (active.length === 0) return { kind: 'wait', untilMs: nowMs + this.opts.retryDelayMs, reason: 'no_source' };
    // A leaving node still serves (it is handing its partitions away): it is a source like an up one.
    const up = active.filter((id) => serving(table.nodes[id]?.state));
    if (!this.pageDone) {
      if (this.primary === null || !up.includes(this.primary)) {
        if (up.length === 0) return { kind: 'wait', untilMs: nowMs + this.opts.retryDelayMs, reason: 'source_down' };
        // A new primary continues from the cursor: the keys before it on this primary are
        // covered by reconciling with it afterwards (it is not "fully paged").
        this.primary = up[(this.partition + this.failures) % up.length];
        this.primaryFromStart = this.after === null;
      }
      return { kind: 'page', source: this.primary, after: this.after };
    }
    for (const id of active) {
      if (this.fullyPaged.has(id) || this.reconciled.has(id)) continue;
      if (!up.includes(id)) return { kind: 'wait', untilMs: nowMs + this.opts.retryDelayMs, reason: 'source_down' };
      return { kind: 'reconcile', peer: id };
    }
    return { kind: 'report', sources: active };
  }

  /** A page arrived from `source`; `next` is its cursor (null: the partition is exhausted). */
  onPage(source: string, entries: number, bytes: number, next: string | null): void {
    if (source !== this.primary || this.pageDone) return;
    this.progress.keys += entries;
    this.progress.bytes += bytes;
    this.after = next;
    if (next === null) {
      this.pageDone = true;
      if (this.primaryFromStart) this.fullyPaged.add(source);
    }
  }

  /** Reconciliation with `peer` finished (synced: every difference exchanged), or must be tried again. */
  onReconciled(peer: string, synced: boolean, recoveredKeys: number, recoveredBytes: number, nowMs: number): void {
    this.progress.recoveredKeys += recoveredKeys;
    this.progress.keys += recoveredKeys;
    this.progress.bytes += recoveredBytes;
    if (synced) this.reconciled.add(peer);
    else this.onFailure(peer, nowMs);
  }

  /** A page, reconciliation or report failed: wait (doubling), and try another source first. */
  onFailure(source: string, nowMs: number): void {
    this.failures++;
    if (source === this.primary && !this.pageDone) this.primary = null;
    this.retryAtMs = nowMs + Math.min(this.opts.retryDelayMaxMs, this.opts.retryDelayMs * 2 ** Math.min(this.failures - 1, 10));
  }

  /** The controller accepted the completed copy. */
  onReported(): void {
    this.reported = true;
  }

  get done(): boolean {
    return this.reported;
  }

  get failureCount(): number {
    return this.failures;
  }

  get primarySource(): string | null {
    return this.primary;
  }
}

/** The active replicas of a partition other than this node: every one is a source a complete copy needs. */
export function activeSources(table: PartitionTable, partition: number, self: string): string[] {
  const entry = table.partitions[partition];
  if (!entry) return [];
  return entry.replicas.filter((id) => id !== self && table.nodes[id] !== undefined && table.nodes[id].state !== 'out' && table.nodes[id].state !== 'left');
}
