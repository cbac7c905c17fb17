import type { ControllerLink, Logger } from '@fog/http-kit';
import { decodeWireEntry, internalAddressOf, isExpiry, type PartitionTable } from '@fog/protocol';
import { ByteThrottle, COPY_DEFAULTS, CopyJob } from '@fog/replica-sync';
import { PARTITION_PAGE_DEFAULTS, type ReplicaEngine } from '@fog/storage-core';
import type { PeerSyncClient } from './peer-sync-client';

export { HANDOFF_PATH } from './peer-sync-client';

export const HANDOFF_DEFAULTS = {
  /** Partitions copied at the same time (most are small: the cost is round trips). */
  partitionsConcurrentMax: 4,
  /** Copy rate ceiling of the whole node (every copy together), so a join does not starve client traffic. */
  bytesPerSecMax: 32 * 1024 * 1024,
  pageKeysMax: PARTITION_PAGE_DEFAULTS.pageKeysMax,
  /** Pause before retrying a failed copy step (another source is tried), doubling per failure. */
  retryDelayMs: COPY_DEFAULTS.retryDelayMs,
  /** Most progress reports per partition per second. */
  progressReportIntervalMs: 1000,
  requestTimeoutMs: 10_000,
} as const;

export type HandoffOptions = { -readonly [K in keyof typeof HANDOFF_DEFAULTS]: number };

export interface HandoffStats {
  partitionsCopied: number;
  keysCopied: number;
  bytesCopied: number;
  failures: number;
  active: number;
  /** Entries the paged source lacked and a reconciled replica held. */
  keysRecovered: number;
  /** Sources used by completed copies, by role. */
  sourcesPaged: number;
  sourcesReconciled: number;
}

/** Where copy steps read and reconcile: the anti-entropy exchange and the disk commit. */
export interface CopySync {
  /** Reconcile one partition with one peer; onBytes throttles what it pulls. */
  syncPartition(partition: number, peer: string, onBytes: (bytes: number) => Promise<void>): Promise<{ synced: boolean; pulled: number; bytes: number }>;
  /** Resolves when what was stored so far is durable as the fsync policy promises. */
  commit(): Promise<void>;
}

interface Slot {
  job: CopyJob;
  epoch: number;
  cancelled: boolean;
  queued: boolean;
  /** Epoch of the table in which the completion was last reported. */
  reportedEpoch: number;
  /** The sources the accepted report named. */
  reportedSources: string[];
  lastProgressMs: number;
  /** The partition's value bytes at the first source, as its first page said (for the controller's ETA). */
  bytesTotal?: number;
}

/**
 * Copies the partitions this node is pending for. The decisions (which source, which page,
 * which replicas to reconcile with, when the copy is complete) are the CopyJob's
 * (libs/replica-sync); this class carries them out over the peer client (binary frames or HTTP), through the engine's one door
 * (`ingest('copy')`: disk gate, memory limit and horizon apply), under one throttle for the
 * whole node, and reports to the controller.
 */
export class HandoffWorker {
  private readonly slots = new Map<number, Slot>();
  private readonly queue: number[] = [];
  private running = 0;
  private stopped = false;
  private table: PartitionTable | null = null;
  private readonly throttle: ByteThrottle;
  private readonly pageBytesMax: number;
  private readonly timers = new Set<NodeJS.Timeout>();
  readonly stats: HandoffStats = { partitionsCopied: 0, keysCopied: 0, bytesCopied: 0, failures: 0, active: 0, keysRecovered: 0, sourcesPaged: 0, sourcesReconciled: 0 };

  constructor(
    private readonly engine: ReplicaEngine,
    private readonly link: ControllerLink,
    private readonly log: Logger,
    private readonly sync: CopySync,
    /** How pages are read from the source (binary frames or signed HTTP). */
    private readonly peers: PeerSyncClient,
    private readonly opts: HandoffOptions = { ...HANDOFF_DEFAULTS },
  ) {
    // A burst of one full page at most: the average stays under the ceiling for every copy together.
    const burst = Math.min(opts.bytesPerSecMax, PARTITION_PAGE_DEFAULTS.pageBytesMax);
    this.throttle = new ByteThrottle(opts.bytesPerSecMax, burst);
    // Pages are charged after they arrive, so the copies in flight together may overshoot by one
    // page each: pages of burst / copies keep the overshoot within one burst.
    this.pageBytesMax = Math.max(1, Math.floor(burst / opts.partitionsConcurrentMax));
  }

  /** Start copies for new pending partitions; cancel those no longer pending. */
  onTable(table: PartitionTable): void {
    this.table = table;
    const id = this.engine.nodeId;
    table.partitions.forEach((entry, p) => {
      const pending = entry.pending.includes(id);
      const slot = this.slots.get(p);
      if (pending && !slot) {
        this.slots.set(p, { job: new CopyJob(p, id, Date.now(), { ...COPY_DEFAULTS, retryDelayMs: this.opts.retryDelayMs }), epoch: table.epoch, cancelled: false, queued: false, reportedEpoch: 0, reportedSources: [], lastProgressMs: 0 });
        this.enqueue(p);
      } else if (pending && slot?.job.done && table.epoch > slot.reportedEpoch + 1) {
        // Still pending several tables after the copy was reported: the report was lost (or the
        // controller restarted without it). Say it again; the controller takes it idempotently.
        slot.reportedEpoch = table.epoch;
        const pr = slot.job.progress;
        void this.link.reportHandoff({ partition: p, epoch: table.epoch, keysCopied: pr.keys, bytesCopied: pr.bytes, bytesTotal: slot.bytesTotal, done: true, sources: slot.reportedSources, keysRecovered: pr.recoveredKeys }).catch(() => undefined);
      } else if (!pending && slot) {
        slot.cancelled = true;
        this.slots.delete(p);
      } else if (pending && slot && !slot.job.done && !slot.queued) {
        // A new table may bring a source back up or name a new one: look again now.
        this.enqueue(p);
      }
    });
    this.pump();
  }

  stop(): void {
    this.stopped = true;
    for (const slot of this.slots.values()) slot.cancelled = true;
    for (const t of this.timers) clearTimeout(t);
  }

  private enqueue(p: number): void {
    const slot = this.slots.get(p);
    if (!slot || slot.queued || slot.cancelled) return;
    slot.queued = true;
    this.queue.push(p);
  }

  private later(p: number, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.enqueue(p);
      this.pump();
    }, Math.max(1, ms));
    this.timers.add(t);
  }

  private pump(): void {
    while (!this.stopped && this.running < this.opts.partitionsConcurrentMax && this.queue.length > 0) {
      const p = this.queue.shift()!;
      const slot = this.slots.get(p);
      if (!slot || slot.cancelled) continue;
      slot.queued = false;
      this.running++;
      this.stats.active = this.running;
      void this.run(p, slot).finally(() => {
        this.running--;
        this.stats.active = this.running;
        this.pump();
      });
    }
  }

  /** Carry out the job's steps until it waits (then it gives its slot up) or is done. */
  private async run(p: number, slot: Slot): Promise<void> {
    const job = slot.job;
    while (!slot.cancelled && !this.stopped && this.table) {
      const step = job.next(this.table, Date.now());
      if (step.kind === 'done') return;
      if (step.kind === 'wait') {
        this.later(p, step.untilMs - Date.now());
        return;
      }
      const source = step.kind === 'page' ? step.source : step.kind === 'reconcile' ? step.peer : '';
      try {
        if (step.kind === 'page') await this.page(p, slot, step.source, step.after);
        else if (step.kind === 'reconcile') await this.reconcile(p, slot, step.peer);
        else await this.report(p, slot, step.sources);
      } catch (err) {
        if (slot.cancelled || this.stopped) return;
        this.stats.failures++;
        job.onFailure(source, Date.now());
        this.log.warn('partition copy step failed; will retry', { partition: p, step: step.kind, source: source || null, error: (err as Error).message, keys: job.progress.keys });
      }
    }
  }

  private async page(p: number, slot: Slot, source: string, after: string | null): Promise<void> {
    const node = this.table?.nodes[source];
    if (!node) throw new Error(`no address for ${source}`);
    const page = await this.peers.call(internalAddressOf(node), {
      kind: 'page', body: { epoch: this.engine.epoch(), p, after, limit: this.opts.pageKeysMax, bytesMax: this.pageBytesMax },
    }, this.opts.requestTimeoutMs);
    if (slot.cancelled) return;
    if (after === null && Number.isSafeInteger(page.partitionBytes)) slot.bytesTotal = page.partitionBytes;
    let bytes = 0;
    for (const e of page.entries) {
      if (!isExpiry(e.exp)) throw new Error('a copied entry carries a malformed expiry');
      const entry = decodeWireEntry(e);
      const value = entry.value;
      const r = this.engine.ingest('copy', p, e.key, entry);
      // A refused entry (disk failing, memory limit) means the copy cannot be complete: retry
      // later. A horizon refusal is a value this node knows was deleted: not needed.
      if (r.outcome === 'refused') throw new Error(`entry refused: ${r.code}`);
      bytes += value ? value.length : 0;
    }
    this.stats.keysCopied += page.entries.length;
    this.stats.bytesCopied += bytes;
    slot.job.onPage(source, page.entries.length, bytes, page.next);
    await this.wait(this.throttle.reserve(bytes, Date.now()));
    this.reportProgress(p, slot);
  }

  private async reconcile(p: number, slot: Slot, peer: string): Promise<void> {
    const r = await this.sync.syncPartition(p, peer, (bytes) => this.wait(this.throttle.reserve(bytes, Date.now())));
    if (slot.cancelled) return;
    slot.job.onReconciled(peer, r.synced, r.pulled, r.bytes, Date.now());
    this.stats.keysRecovered += r.pulled;
    this.stats.keysCopied += r.pulled;
    this.stats.bytesCopied += r.bytes;
    if (r.pulled > 0) {
      this.log.warn('partition copy: the paged replica lacked entries another active replica held; recovered them', {
        partition: p, paged: slot.job.primarySource, reconciledWith: peer, recovered: r.pulled,
      });
    }
  }

  private async report(p: number, slot: Slot, sources: string[]): Promise<void> {
    // A copy is reported done only once it is on disk as the fsync policy promises: the old
    // replica may be released after that report.
    await this.sync.commit();
    const pr = slot.job.progress;
    const accepted = await this.link.reportHandoff({ partition: p, epoch: slot.epoch, keysCopied: pr.keys, bytesCopied: pr.bytes, bytesTotal: slot.bytesTotal, done: true, sources, keysRecovered: pr.recoveredKeys });
    if (!accepted) throw new Error('controller did not accept the completed copy');
    slot.job.onReported();
    slot.reportedSources = sources;
    slot.reportedEpoch = this.table?.epoch ?? slot.epoch;
    this.stats.partitionsCopied++;
    this.stats.sourcesPaged++;
    this.stats.sourcesReconciled += Math.max(0, sources.length - 1);
    this.log.debug('partition copied', { partition: p, sources: sources.join(','), keys: pr.keys, bytes: pr.bytes, recovered: pr.recoveredKeys });
  }

  private reportProgress(p: number, slot: Slot): void {
    const now = Date.now();
    if (now - slot.lastProgressMs < this.opts.progressReportIntervalMs) return;
    slot.lastProgressMs = now;
    const pr = slot.job.progress;
    void this.link.reportHandoff({ partition: p, epoch: slot.epoch, keysCopied: pr.keys, bytesCopied: pr.bytes, bytesTotal: slot.bytesTotal, done: false }).catch(() => undefined);
  }

  private wait(ms: number): Promise<void> {
    if (ms <= 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }
}
