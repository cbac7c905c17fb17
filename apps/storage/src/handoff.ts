import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import http from 'node:http';
import type { ControllerLink, Logger } from '@fog/http-kit';
import { DEFAULT_LIMITS, type PartitionTable } from '@fog/protocol';
import { PARTITION_PAGE_DEFAULTS, type PartitionPage, type ReplicaEngine } from '@fog/storage-core';

export const HANDOFF_PATH = '/internal/v1/partition-page';

export const HANDOFF_DEFAULTS = {
  /** Partitions copied at the same time (most are small: the cost is round trips). */
  partitionsConcurrentMax: 4,
  /** Copy rate ceiling, so a join does not starve client traffic. */
  bytesPerSecMax: 32 * 1024 * 1024,
  pageKeysMax: PARTITION_PAGE_DEFAULTS.pageKeysMax,
  /** Pause before retrying a failed copy (another source is tried). */
  retryDelayMs: 1000,
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
}

interface Job {
  partition: number;
  epoch: number;
  cancelled: boolean;
  /** The copy finished and was reported; the table still lists the node as pending until the controller's next tick. */
  done: { keys: number; bytes: number } | null;
  /** Epoch of the table in which the completion was last reported. */
  reportedEpoch: number;
}

/**
 * Copies the partitions this node is pending for from an active replica: paged, in key order,
 * throttled, merged last-writer-wins (the frontends already send the node every new write),
 * then reported complete so the controller makes the node active.
 */
export class HandoffWorker {
  private readonly http: AxiosInstance;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  private readonly jobs = new Map<number, Job>();
  private readonly queue: number[] = [];
  private running = 0;
  private stopped = false;
  private table: PartitionTable | null = null;
  readonly stats: HandoffStats = { partitionsCopied: 0, keysCopied: 0, bytesCopied: 0, failures: 0, active: 0 };

  constructor(
    private readonly engine: ReplicaEngine,
    private readonly link: ControllerLink,
    private readonly log: Logger,
    private readonly opts: HandoffOptions = { ...HANDOFF_DEFAULTS },
    /** Resolves when what was merged so far is durable (persistence), before a copy is reported done. */
    private readonly flush: () => Promise<void> = () => Promise.resolve(),
  ) {
    this.http = axios.create({
      httpAgent: this.agent, timeout: opts.requestTimeoutMs, maxRedirects: 0,
      maxContentLength: DEFAULT_LIMITS.internalBodyBytesMax, validateStatus: (s) => s === 200,
    });
  }

  /** Start copies for new pending partitions; cancel those no longer pending. */
  onTable(table: PartitionTable): void {
    this.table = table;
    const id = this.engine.nodeId;
    table.partitions.forEach((entry, p) => {
      const pending = entry.pending.includes(id);
      const job = this.jobs.get(p);
      if (pending && !job) {
        this.jobs.set(p, { partition: p, epoch: table.epoch, cancelled: false, done: null, reportedEpoch: 0 });
        this.queue.push(p);
      } else if (pending && job?.done && table.epoch > job.reportedEpoch + 1) {
        // Still pending several tables after the copy was reported: the report was lost (or the
        // controller restarted without it). Say it again; the controller takes it idempotently.
        job.reportedEpoch = table.epoch;
        void this.link.reportHandoff({ partition: p, epoch: table.epoch, keysCopied: job.done.keys, bytesCopied: job.done.bytes, done: true }).catch(() => undefined);
      } else if (!pending && job) {
        job.cancelled = true;
        this.jobs.delete(p);
      }
    });
    this.pump();
  }

  stop(): void {
    this.stopped = true;
    for (const job of this.jobs.values()) job.cancelled = true;
    this.agent.destroy();
  }

  private pump(): void {
    while (!this.stopped && this.running < this.opts.partitionsConcurrentMax && this.queue.length > 0) {
      const p = this.queue.shift()!;
      const job = this.jobs.get(p);
      if (!job || job.cancelled) continue;
      this.running++;
      this.stats.active = this.running;
      void this.copy(job).finally(() => {
        this.running--;
        this.stats.active = this.running;
        this.pump();
      });
    }
  }

  private async copy(job: Job): Promise<void> {
    const p = job.partition;
    let keys = 0;
    let bytes = 0;
    try {
      const source = this.pickSource(p);
      if (!source) throw new Error('no active replica to copy from');
      const started = Date.now();
      let lastReport = 0;
      let after: string | null = null;
      do {
        if (job.cancelled || this.stopped) return;
        const res: AxiosResponse<PartitionPage> = await this.http.post<PartitionPage>(`http://${source.address}${HANDOFF_PATH}`, {
          epoch: this.engine.epoch(), p, after, limit: this.opts.pageKeysMax,
        });
        for (const e of res.data.entries) {
          const value = e.val === null ? null : Buffer.from(e.val, 'base64');
          this.engine.mergeEntry(p, e.key, { ver: e.ver, value });
          keys++;
          bytes += value ? value.length : 0;
        }
        this.stats.keysCopied += res.data.entries.length;
        after = res.data.next;
        // Throttle: stay under bytesPerSecMax averaged over the copy.
        const aheadMs = (bytes / this.opts.bytesPerSecMax) * 1000 - (Date.now() - started);
        if (aheadMs > 0) await sleep(aheadMs);
        if (Date.now() - lastReport >= this.opts.progressReportIntervalMs && after !== null) {
          lastReport = Date.now();
          void this.link.reportHandoff({ partition: p, epoch: job.epoch, keysCopied: keys, bytesCopied: bytes, done: false }).catch(() => undefined);
        }
      } while (after !== null);
      if (job.cancelled || this.stopped) return;
      await this.flush();
      const accepted = await this.link.reportHandoff({ partition: p, epoch: job.epoch, keysCopied: keys, bytesCopied: bytes, done: true });
      if (!accepted) throw new Error('controller did not accept the completed copy');
      job.done = { keys, bytes };
      job.reportedEpoch = this.table?.epoch ?? job.epoch;
      this.stats.partitionsCopied++;
      this.stats.bytesCopied += bytes;
      this.log.debug('partition copied', { partition: p, source: source.id, keys, bytes });
    } catch (err) {
      if (job.cancelled || this.stopped) return;
      this.stats.failures++;
      this.log.warn('partition copy failed; will retry', { partition: p, error: (err as Error).message, keys });
      await sleep(this.opts.retryDelayMs);
      if (!job.cancelled && !this.stopped && this.jobs.get(p) === job) this.queue.push(p);
    }
  }

  /** An active replica, preferring nodes that are up; a different one on each retry. */
  private pickSource(p: number): { id: string; address: string } | null {
    const t = this.table;
    if (!t) return null;
    const candidates = t.partitions[p].replicas
      .filter((id) => id !== this.engine.nodeId)
      .map((id) => t.nodes[id])
      .filter((n) => n && n.state !== 'out' && n.state !== 'left');
    if (candidates.length === 0) return null;
    const up = candidates.filter((n) => n.state === 'up');
    const pool = up.length > 0 ? up : candidates;
    return pool[(this.stats.failures + p) % pool.length];
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
