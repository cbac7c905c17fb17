import express from 'express';
import type http from 'node:http';
import { Counter, Gauge } from 'prom-client';
import {
  ControllerLink, asyncHandler, createHttpMetrics, errorMiddleware, listen, metricsMiddleware, mountStandardRoutes,
  notFoundHandler, op, type HttpMetrics, type Logger, type RunningServer,
} from '@fog/http-kit';
import {
  DEFAULT_LIMITS, DEFAULT_TIMEOUTS, FogError, HEADERS, INTERNAL_PATHS, decodeTableMessage, formatVersion, type OpsRequest, type PartitionTable,
} from '@fog/protocol';
import { PARTITION_PAGE_DEFAULTS, ReplicaEngine, pagePartition, type PartitionPage } from '@fog/storage-core';
import { DURABILITY_DEFAULTS, Durability } from './durability';
import { HANDOFF_DEFAULTS, HANDOFF_PATH, HandoffWorker } from './handoff';
import type { StorageFlags } from './storage-options';

/** How long a node keeps a partition it was moved off (in-flight copies may still read it). */
export const PARTITION_DROP_DELAY_MS = 30_000;
const PARTITION_DROP_CHECK_INTERVAL_MS = 5_000;

export interface StorageConfig {
  id: string;
  address: string;
  host: string;
  port: number;
  controller: string;
  zone: string;
  weight: number;
  heartbeatIntervalMs: number;
  internalBodyBytesMax: number;
  internalBatchOpsMax: number;
  /** Persistence, memory limit, anti-entropy (storage-options.ts); absent: in memory, defaults. */
  durability?: StorageFlags;
  /** Ceiling on the rate at which this node copies partitions it is given. */
  handoffBytesPerSecMax?: number;
}

/** Wires the replica engine to HTTP, the controller and metrics. */
export class StorageNode {
  readonly engine: ReplicaEngine;
  private readonly metrics: HttpMetrics;
  private readonly link: ControllerLink;
  private server: RunningServer | null = null;
  private handoff!: HandoffWorker;
  /** Partitions the table no longer gives this node, with when they were given away. */
  private readonly releasedAtMs = new Map<number, number>();
  private dropTimer: NodeJS.Timeout | null = null;
  private readonly durability: Durability;

  constructor(private readonly cfg: StorageConfig, private readonly log: Logger) {
    this.engine = new ReplicaEngine(cfg.id);
    this.metrics = createHttpMetrics('storage');
    this.registerMetrics();
    this.link = new ControllerLink({
      controller: cfg.controller,
      self: { id: cfg.id, role: 'storage', address: cfg.address, zone: cfg.zone, weight: cfg.weight },
      log,
      requestTimeoutMs: DEFAULT_TIMEOUTS.controllerRequestTimeoutMs,
      registerRetryIntervalMs: DEFAULT_TIMEOUTS.registerRetryIntervalMs,
      heartbeatIntervalMs: cfg.heartbeatIntervalMs,
      onTable: (t) => this.adoptTable(t, 'controller'),
      currentEpoch: () => this.engine.epoch(),
      // A node that restarted without its data must copy before it serves reads again.
      registrationExtras: () => {
        const st = this.engine.store.stats();
        return { empty: st.keys + st.tombstones === 0 };
      },
    });
    this.durability = new Durability(this.engine, cfg.durability ?? DURABILITY_DEFAULTS, log, this.metrics.registry, () => this.link.refreshTable());
    // A copy is reported done only once it is on disk as the fsync policy promises: the old
    // replica is dropped after that report.
    this.handoff = new HandoffWorker(this.engine, this.link, log, { ...HANDOFF_DEFAULTS, bytesPerSecMax: cfg.handoffBytesPerSecMax ?? HANDOFF_DEFAULTS.bytesPerSecMax }, () => this.durability.commit());
  }

  async start(): Promise<number> {
    // Replay the data before listening: a node never answers from a half-loaded store.
    await this.durability.open();
    const app = this.expressApp();
    // The internal ops route is the hot path: it skips Express (about 4x its CPU per request).
    const handler: http.RequestListener = (req, res) => {
      if (req.method === 'POST' && req.url === INTERNAL_PATHS.ops) this.handleOps(req, res);
      else app(req, res);
    };
    this.server = await listen(handler, this.cfg.host, this.cfg.port);
    this.log.info('storage listening', { id: this.cfg.id, address: this.cfg.address, port: this.server.port });
    this.link.start();
    this.durability.start();
    this.dropTimer = setInterval(() => this.dropReleasedPartitions(Date.now()), PARTITION_DROP_CHECK_INTERVAL_MS);
    return this.server.port;
  }

  async stop(): Promise<void> {
    this.link.stop();
    this.handoff.stop();
    if (this.dropTimer) clearInterval(this.dropTimer);
    await this.server?.close();
    await this.durability.stop();
  }

  private adoptTable(table: PartitionTable, from: string): boolean {
    const before = new Set(this.engine.heldPartitions());
    const adopted = this.engine.offerTable(table);
    if (!adopted) return false;
    this.log.info('table adopted', { epoch: table.epoch, from, partitions: this.engine.heldPartitions().length });
    const now = Date.now();
    for (const p of before) if (!this.engine.holds(p) && !this.releasedAtMs.has(p)) this.releasedAtMs.set(p, now);
    for (const p of this.engine.heldPartitions()) this.releasedAtMs.delete(p);
    this.handoff.onTable(table);
    return true;
  }

  /**
   * Forget partitions given away a while ago. The delay lets in-flight copies from this node
   * finish; writes for them are already fenced.
   */
  private dropReleasedPartitions(nowMs: number): void {
    for (const [p, at] of this.releasedAtMs) {
      if (nowMs - at < PARTITION_DROP_DELAY_MS) continue;
      this.releasedAtMs.delete(p);
      const dropped = this.engine.dropPartition(p); // through the engine: persistence logs the drop
      if (dropped > 0) this.log.info('partition dropped', { partition: p, entries: dropped });
    }
  }

  /** Serve one page of a partition to a node copying it (handoff source side). */
  private partitionPage(body: { epoch?: unknown; p?: unknown; after?: unknown; limit?: unknown }): PartitionPage {
    const p = body.p;
    const table = this.engine.currentTable();
    if (!table || typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p >= table.partitions.length) {
      throw new FogError('FOG_ERR_BAD_REQUEST', 'p must be a partition number');
    }
    if (body.after !== null && typeof body.after !== 'string') throw new FogError('FOG_ERR_BAD_REQUEST', 'after must be a key or null');
    const limit = typeof body.limit === 'number' && Number.isInteger(body.limit) && body.limit > 0 ? Math.min(body.limit, PARTITION_PAGE_DEFAULTS.pageKeysMax) : PARTITION_PAGE_DEFAULTS.pageKeysMax;
    if (!table.partitions[p].replicas.includes(this.cfg.id)) {
      throw new FogError('FOG_ERR_WRONG_NODE', `not an active replica of partition ${p}`, { epoch: this.engine.epoch() });
    }
    return pagePartition(this.engine.store, p, body.after as string | null, limit, PARTITION_PAGE_DEFAULTS.pageBytesMax);
  }

  private handleOps(req: http.IncomingMessage, res: http.ServerResponse): void {
    const started = process.hrtime.bigint();
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    const finish = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      const labels = { op: 'internal_ops', status: String(status) };
      this.metrics.requests.inc(labels);
      this.metrics.latency.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    };
    req.on('data', (c: Buffer) => {
      if (refused) return;
      size += c.length;
      if (size > this.cfg.internalBodyBytesMax) {
        refused = true;
        finish(413, new FogError('FOG_ERR_BODY_TOO_LARGE', undefined, { limitBytes: this.cfg.internalBodyBytesMax }).toBody());
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (refused) return;
      let body: OpsRequest;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OpsRequest;
      } catch {
        finish(400, new FogError('FOG_ERR_BAD_REQUEST', 'the body is not valid JSON').toBody());
        return;
      }
      if (!body || !Array.isArray(body.ops) || typeof body.epoch !== 'number') {
        finish(400, new FogError('FOG_ERR_BAD_REQUEST', 'expected {epoch, ops[]}').toBody());
        return;
      }
      if (body.ops.length > this.cfg.internalBatchOpsMax) {
        finish(413, new FogError('FOG_ERR_BATCH_TOO_LARGE', undefined, { limit: this.cfg.internalBatchOpsMax }).toBody());
        return;
      }
      const answer = () => this.durability.answerOps(body, Date.now(), finish);
      // A sender with a newer table knows something we do not: catch up before judging
      // ownership, so that a legitimate write is not fenced by our stale view.
      if (body.epoch > this.engine.epoch()) this.link.refreshTable().then(answer, answer);
      else answer();
    });
    req.on('error', () => res.destroy());
  }

  private expressApp(): express.Express {
    const app = express();
    app.disable('x-powered-by');
    app.use(metricsMiddleware(this.metrics));
    mountStandardRoutes(app, this.metrics, () => ({
      id: this.cfg.id, role: 'storage', epoch: this.engine.epoch(), registered: this.link.isRegistered(), state: this.link.nodeState(),
      writable: this.durability.writable,
    }));
    this.durability.mount(app);
    // The table this node holds: a controller that lost its state recovers it from the nodes.
    app.get(INTERNAL_PATHS.table, op('table_get'), (_req, res) => {
      const table = this.engine.currentTable();
      if (!table) throw new FogError('FOG_ERR_NO_TABLE');
      res.json(table);
    });
    app.put(INTERNAL_PATHS.table, op('table_push'), express.json({ limit: DEFAULT_LIMITS.internalBodyBytesMax }), (req, res) => {
      // A delta, a compact table or a plain one; a delta must start from the epoch held.
      const table = decodeTableMessage(this.engine.currentTable(), req.body);
      const adopted = table !== null && this.adoptTable(table, 'push');
      res.set(HEADERS.epoch, String(this.engine.epoch())).json({ adopted, epoch: this.engine.epoch() });
    });
    app.post(HANDOFF_PATH, op('partition_page'), express.json({ limit: '64kb' }), (req, res) => {
      res.json(this.partitionPage(req.body ?? {}));
    });
    app.get('/v1/stats', op('stats'), (_req, res) => {
      const s = this.engine.store.stats();
      res.json({
        id: this.cfg.id, epoch: this.engine.epoch(), ...s, heldPartitions: this.engine.heldPartitions().length, counters: this.engine.counters,
        durability: this.durability.stats(),
      });
    });
    // Which keys this node holds: for operators and tests checking placement. Bounded by `limit`.
    app.get('/v1/keys', op('keys'), asyncHandler(async (req, res) => {
      const limit = Math.min(Number(req.query.limit ?? 1000) || 1000, 100_000);
      const keys: Array<{ partition: number; key: string; tombstone: boolean; ver: string }> = [];
      outer: for (const p of this.engine.store.partitionIds()) {
        for (const [key, e] of this.engine.store.entries(p)) {
          if (keys.length >= limit) break outer;
          keys.push({ partition: p, key, tombstone: e.value === null, ver: formatVersion(e.ver) });
        }
      }
      res.json({ id: this.cfg.id, keys, truncated: keys.length >= limit });
    }));
    app.use(notFoundHandler());
    app.use(errorMiddleware(this.log));
    return app;
  }

  private registerMetrics(): void {
    const reg = this.metrics.registry;
    const engine = this.engine;
    new Gauge({ name: 'fog_storage_table_epoch', help: 'Epoch of the partition table this node holds.', registers: [reg], collect() { this.set(engine.epoch()); } });
    new Gauge({ name: 'fog_storage_keys', help: 'Live keys held (tombstones excluded).', registers: [reg], collect() { this.set(engine.store.stats().keys); } });
    new Gauge({ name: 'fog_storage_tombstones', help: 'Tombstones held.', registers: [reg], collect() { this.set(engine.store.stats().tombstones); } });
    new Gauge({ name: 'fog_storage_bytes', help: 'Bytes held by keys, values and entry overhead.', registers: [reg], collect() { this.set(engine.store.stats().bytes); } });
    new Gauge({ name: 'fog_storage_partitions', help: 'Partitions this node holds in its table.', registers: [reg], collect() { this.set(engine.heldPartitions().length); } });
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client binds `this` in collect()
    const node = this;
    new Gauge({ name: 'fog_storage_handoff_partitions_active', help: 'Partitions being copied to this node now.', registers: [reg], collect() { this.set(node.handoff?.stats.active ?? 0); } });
    new Gauge({ name: 'fog_storage_handoff_copied_bytes', help: 'Value bytes copied to this node by completed partition handoffs since start.', registers: [reg], collect() { this.set(node.handoff?.stats.bytesCopied ?? 0); } });
    new Gauge({ name: 'fog_storage_handoff_copied_keys', help: 'Entries copied to this node by partition handoffs since start.', registers: [reg], collect() { this.set(node.handoff?.stats.keysCopied ?? 0); } });
    new Gauge({ name: 'fog_storage_handoff_failures', help: 'Partition copies that failed and were retried, since start.', registers: [reg], collect() { this.set(node.handoff?.stats.failures ?? 0); } });
    const engineCounters = engine.counters;
    // The counts live in the pure engine; the exposition catches up with them at scrape time.
    let seen = { ...engineCounters };
    new Counter({
      name: 'fog_storage_writes_total',
      help: 'Writes received, by outcome: applied, duplicate, lww_discarded (lost last-writer-wins on arrival), fenced (partition not held), refused_disk (disk log failing), refused_memory (over --max-memory-bytes), horizon_refused (older than a purged tombstone).',
      labelNames: ['outcome'] as const,
      registers: [reg],
      collect() {
        const c = engineCounters;
        this.inc({ outcome: 'applied' }, c.applied - seen.applied);
        this.inc({ outcome: 'duplicate' }, c.duplicates - seen.duplicates);
        this.inc({ outcome: 'lww_discarded' }, c.lwwDiscarded - seen.lwwDiscarded);
        this.inc({ outcome: 'fenced' }, c.fenced - seen.fenced);
        this.inc({ outcome: 'refused_disk' }, c.refusedDisk - seen.refusedDisk);
        this.inc({ outcome: 'refused_memory' }, c.refusedMemory - seen.refusedMemory);
        this.inc({ outcome: 'horizon_refused' }, c.horizonRefused - seen.horizonRefused);
        seen = { ...c };
      },
    });
  }
}
