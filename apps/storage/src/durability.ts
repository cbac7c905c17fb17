import express from 'express';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from '@fog/http-kit';
import { COMPRESSION_DEFAULTS } from '@fog/lww';
import { ANTI_ENTROPY_DEFAULTS, type SyncReply } from '@fog/replica-sync';
import { DEFAULT_LIMITS, type OpsRequest, type OpsResponse, type PartitionTable, type WireResult } from '@fog/protocol';
import type { ReplicaEngine } from '@fog/storage-core';
import { AntiEntropyLoop, type AeKind } from './anti-entropy-loop';
import { FaultInjector } from './fault-injection';
import type { PeerSyncClient } from './peer-sync-client';
import { PERSISTENCE_DEFAULTS, Persistence } from './persistence';
import type { StorageFlags } from './storage-options';

/** Flags as parsed; in memory with default anti-entropy when absent. */
export const DURABILITY_DEFAULTS: StorageFlags = {
  fsync: PERSISTENCE_DEFAULTS.fsync,
  snapshotLogBytes: PERSISTENCE_DEFAULTS.snapshotLogBytes,
  snapshotIntervalMs: PERSISTENCE_DEFAULTS.snapshotIntervalMs,
  maxMemoryBytes: 0,
  antiEntropyIntervalMs: ANTI_ENTROPY_DEFAULTS.intervalMs,
  antiEntropyPartitionsPerRoundMax: ANTI_ENTROPY_DEFAULTS.partitionsPerRoundMax,
  antiEntropyKeysPerRoundMax: ANTI_ENTROPY_DEFAULTS.keysPerRoundMax,
  tombstoneGraceMs: ANTI_ENTROPY_DEFAULTS.tombstoneGraceMs,
};

/** Seconds: from a group-commit fsync on a fast disk to an everysec interval and a slow disk. */
const FSYNC_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 5, 10];

/**
 * Everything that keeps a storage node's data: the disk log and snapshots (when --data-dir is
 * given), the memory limit, anti-entropy with peers and tombstone collection, and their
 * metrics. The storage node calls open() before it listens and routes write requests through
 * answerOps().
 */
export class Durability {
  private persistence: Persistence | null = null;
  private readonly ae: AntiEntropyLoop;
  private readonly faults: FaultInjector;
  private readonly m: {
    diskErrors: Counter<'op'>;
    fsyncSeconds: Histogram;
    fsyncLagSeconds: Histogram;
    snapshots: Counter<'outcome'>;
  };

  constructor(
    private readonly engine: ReplicaEngine,
    private readonly flags: StorageFlags,
    private readonly log: Logger,
    private readonly registry: Registry,
    refreshTable: () => Promise<void>,
    /** How anti-entropy speaks to peers (binary frames or signed HTTP). */
    peers: PeerSyncClient,
  ) {
    this.faults = new FaultInjector(flags.faultInjectFile);
    this.ae = new AntiEntropyLoop(engine, {
      antiEntropyIntervalMs: flags.antiEntropyIntervalMs,
      antiEntropyEnabled: flags.antiEntropy !== 'off',
      antiEntropyPartitionsPerRoundMax: flags.antiEntropyPartitionsPerRoundMax,
      antiEntropyKeysPerRoundMax: flags.antiEntropyKeysPerRoundMax,
      antiEntropyEntryBytesPerMessageMax: ANTI_ENTROPY_DEFAULTS.entryBytesPerMessageMax,
      antiEntropyRequestTimeoutMs: ANTI_ENTROPY_DEFAULTS.requestTimeoutMs,
      tombstoneGraceMs: flags.tombstoneGraceMs,
      dataDir: flags.dataDir,
    }, log, registry, null, refreshTable, peers);
    this.m = {
      diskErrors: new Counter({ name: 'fog_storage_disk_errors_total', help: 'Failed disk operations, by operation (write, fsync, snapshot, open).', labelNames: ['op'] as const, registers: [registry] }),
      fsyncSeconds: new Histogram({ name: 'fog_storage_log_fsync_duration_seconds', help: 'Time one fsync of the log took.', buckets: FSYNC_BUCKETS_SECONDS, registers: [registry] }),
      fsyncLagSeconds: new Histogram({
        name: 'fog_storage_log_fsync_lag_seconds',
        help: 'For each fsync of the log, how long the oldest write it made durable had been acknowledged-but-not-fsynced: the window an OS crash could lose.',
        buckets: FSYNC_BUCKETS_SECONDS, registers: [registry],
      }),
      snapshots: new Counter({ name: 'fog_storage_snapshots_total', help: 'Snapshots written, by outcome (ok, failed).', labelNames: ['outcome'] as const, registers: [registry] }),
    };
    engine.memoryLimitBytes = flags.maxMemoryBytes > 0 ? flags.maxMemoryBytes : null;
    engine.compression = flags.compress === 'on'
      ? { compressMinBytes: flags.compressMinBytes ?? COMPRESSION_DEFAULTS.compressMinBytes, compressLevel: COMPRESSION_DEFAULTS.compressLevel }
      : null;
    this.registerGauges();
  }

  /** Resolves once everything applied so far is on disk as the fsync policy promises. */
  commit(): Promise<void> {
    return this.persistence ? this.persistence.commit() : Promise.resolve();
  }

  get writable(): boolean {
    return this.persistence ? this.persistence.writable : true;
  }

  /** Replay the data dir (if any) and connect the engine to disk and anti-entropy. */
  async open(): Promise<void> {
    if (this.faults.enabled) this.log.warn('TEST-ONLY disk fault injection is enabled', { file: this.faults.file ?? null });
    if (this.flags.dataDir) {
      this.persistence = await Persistence.open(this.engine, {
        dataDir: this.flags.dataDir,
        fsync: this.flags.fsync,
        snapshotLogBytes: this.flags.snapshotLogBytes,
        snapshotIntervalMs: this.flags.snapshotIntervalMs,
        faults: this.faults,
        log: this.log,
        events: {
          diskError: (op) => this.m.diskErrors.inc({ op }),
          synced: (s, lag) => {
            this.m.fsyncSeconds.observe(s);
            this.m.fsyncLagSeconds.observe(lag);
          },
          snapshot: (outcome) => this.m.snapshots.inc({ outcome }),
        },
      });
      this.ae.setPersistence(this.persistence);
      const limit = this.engine.memoryLimitBytes;
      const held = this.engine.store.stats().bytes;
      if (limit !== null && held > limit) this.log.warn('the replayed data exceeds --max-memory-bytes: writes that add bytes are refused until deletes free room', { heldBytes: held, limitBytes: limit });
    } else {
      this.log.info('no --data-dir: data is kept in memory only and lost when the node stops');
    }
    const persistence = this.persistence;
    this.engine.writeGate = persistence ? () => (persistence.writable ? null : 'FOG_ERR_INSUFFICIENT_STORAGE') : null;
    this.engine.onApplied = persistence ? (partition, key, entry) => persistence.appendEntry(partition, key, entry) : null;
    this.engine.onDropped = persistence ? (partition) => persistence.append({ kind: 'drop', partition }) : null;
  }

  start(): void {
    this.persistence?.start();
    this.ae.start();
  }

  async stop(): Promise<void> {
    this.ae.stop();
    await this.persistence?.stop();
  }

  /** A new table was adopted (anti-entropy runs a pass at once when a node came back up). */
  onTable(before: PartitionTable | null, after: PartitionTable): void {
    this.ae.onTable(before, after);
  }

  /** Reconcile one partition with one peer (the second phase of a partition copy). */
  syncPartition(partition: number, peer: string, onBytes: (bytes: number) => Promise<void>): Promise<{ synced: boolean; pulled: number; bytes: number }> {
    return this.ae.syncPartition(partition, peer, onBytes);
  }

  /** True once every current replica of a released partition holds what this node holds of it. */
  confirmRelease(partition: number): Promise<boolean> {
    return this.ae.confirmRelease(partition);
  }

  /** Anti-entropy routes (storage ⇄ storage). */
  mount(app: express.Express): void {
    this.ae.mount(app, express.json({ limit: DEFAULT_LIMITS.internalBodyBytesMax }));
  }

  /** Answer one anti-entropy message (the binary form of the routes above); throws a FogError to refuse it. */
  answerSync(kind: AeKind, body: unknown): SyncReply {
    return this.ae.answer(kind, body);
  }

  /**
   * Answer an internal ops request. A request with writes is answered once the records it
   * appended are on disk as the fsync policy promises (group commit: one write, and under
   * `always` one fsync, for every request of the same event-loop turn). If that fails, its
   * writes are answered FOG_ERR_INSUFFICIENT_STORAGE: never acknowledged.
   */
  answerOps(body: OpsRequest, nowMs: number, finish: (status: number, body: unknown) => void): void {
    const res = this.engine.handle(body, nowMs);
    const p = this.persistence;
    if (!p || !body.ops.some((o) => o.op === 'put')) {
      finish(200, res);
      return;
    }
    p.commit().then(() => finish(200, res), () => finish(200, refusePuts(body, res)));
  }

  stats(): Record<string, unknown> {
    const p = this.persistence;
    return {
      persistent: p !== null,
      dataDir: this.flags.dataDir ?? null,
      fsync: p ? this.flags.fsync : null,
      writable: this.writable,
      memoryLimitBytes: this.engine.memoryLimitBytes,
      logBytes: p?.logBytes ?? 0,
      unsyncedBytes: p?.unsyncedBytes ?? 0,
      snapshotBytes: p?.snapshotBytes ?? 0,
      snapshots: p?.snapshots ?? null,
      replay: p?.replay ?? null,
      antiEntropy: this.ae.stats(),
    };
  }

  private registerGauges(): void {
    const reg = this.registry;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client binds `this` in collect()
    const d = this;
    const engine = this.engine;
    const fsync = this.flags.fsync;
    new Gauge({ name: 'fog_storage_disk_writable', help: '1 while the node accepts writes; 0 while its disk log is failing (writes get FOG_ERR_INSUFFICIENT_STORAGE, reads work).', registers: [reg], collect() { this.set(d.writable ? 1 : 0); } });
    new Gauge({
      name: 'fog_storage_value_bytes',
      help: 'Bytes of the values held, by form: stored (as kept in memory and written to disk; compressed ones compressed, see --compress) and plain (as clients wrote them).',
      labelNames: ['form'] as const, registers: [reg],
      collect() {
        const s = engine.store.stats();
        this.set({ form: 'stored' }, s.valueBytes);
        this.set({ form: 'plain' }, s.plainValueBytes);
      },
    });
    new Gauge({ name: 'fog_storage_compression', help: '1 when this node stores values compressed (--compress on).', registers: [reg], collect() { this.set(engine.compression ? 1 : 0); } });
    new Gauge({ name: 'fog_storage_memory_limit_bytes', help: 'The --max-memory-bytes limit on bytes held (0: no limit); compare with fog_storage_bytes.', registers: [reg], collect() { this.set(engine.memoryLimitBytes ?? 0); } });
    new Gauge({ name: 'fog_storage_log_bytes', help: 'Bytes of log on disk not yet covered by a snapshot.', registers: [reg], collect() { this.set(d.persistence?.logBytes ?? 0); } });
    new Gauge({ name: 'fog_storage_log_unsynced_bytes', help: 'Bytes written to the log but not yet fsynced.', registers: [reg], collect() { this.set(d.persistence?.unsyncedBytes ?? 0); } });
    new Gauge({ name: 'fog_storage_snapshot_bytes', help: 'Size of the last snapshot.', registers: [reg], collect() { this.set(d.persistence?.snapshotBytes ?? 0); } });
    new Gauge({
      name: 'fog_storage_fsync_policy', help: 'The --fsync policy in force (1 for the active one; none when the node keeps data in memory only).', labelNames: ['policy'] as const, registers: [reg],
      collect() {
        if (d.persistence) this.set({ policy: fsync }, 1);
      },
    });
    new Gauge({ name: 'fog_storage_replay_seconds', help: 'Time the last start-up took to load the snapshot and replay the log.', registers: [reg], collect() { this.set(d.persistence?.replay.seconds ?? 0); } });
    new Gauge({ name: 'fog_storage_replay_records', help: 'Records loaded at the last start-up (snapshot entries and log records).', registers: [reg], collect() { const r = d.persistence?.replay; this.set(r ? r.snapshotEntries + r.logRecords : 0); } });
    new Gauge({ name: 'fog_storage_replay_corrupt_records', help: 'Corrupt records found (and skipped) at the last start-up; the damaged files are kept as *.corrupt.', registers: [reg], collect() { this.set(d.persistence?.replay.corruptRecords ?? 0); } });
    new Gauge({ name: 'fog_storage_replay_torn_bytes', help: 'Bytes of torn log tail cut off at the last start-up.', registers: [reg], collect() { this.set(d.persistence?.replay.tornBytes ?? 0); } });
  }
}

/** Every write of a request whose records could not be made durable is refused. */
function refusePuts(body: OpsRequest, res: OpsResponse): OpsResponse {
  const results = res.results.map((r, i): WireResult => (body.ops[i]?.op === 'put' && r.ok
    ? { ok: false, code: 'FOG_ERR_INSUFFICIENT_STORAGE', message: 'the write could not be made durable: the disk failed' }
    : r));
  return { ...res, results };
}
