import express, { type Request, type Response } from 'express';
import { randomInt } from 'node:crypto';
import { Counter, Gauge } from 'prom-client';
import { HybridClock } from '@fog/clock';
import { Coordinator, REPLICA_OUTCOMES, type CoordinatorEvents } from '@fog/coordinator';
import {
  ControllerLink, asyncHandler, createHttpMetrics, errorMiddleware, listen, metricsMiddleware, mountStandardRoutes,
  notFoundHandler, op, type HttpMetrics, type Logger, type RunningServer,
} from '@fog/http-kit';
import {
  DEFAULT_LIMITS, DEFAULT_TIMEOUTS, FogError, HEADERS, INTERNAL_PATHS, checkKey, decodeTableMessage, formatVersion, resolveConsistency,
  type Limits, type PartitionTable,
} from '@fog/protocol';
import { BatchingReplicaClient } from '@fog/replica-client';
import { v1Router } from './v1-routes';

export interface FrontendConfig {
  id: string;
  address: string;
  host: string;
  port: number;
  controller: string;
  zone: string;
  heartbeatIntervalMs: number;
  replicaRequestTimeoutMs: number;
  replicaInflightRequestsMax: number;
  replicaQueueOpsMax: number;
  limits: Limits;
}

/** The client-facing node: original API and v1 REST over the coordinator. */
export class FrontendNode {
  private table: PartitionTable | null = null;
  private readonly metrics: HttpMetrics;
  private readonly link: ControllerLink;
  private readonly transport: BatchingReplicaClient;
  readonly coordinator: Coordinator;
  private server: RunningServer | null = null;

  constructor(private readonly cfg: FrontendConfig, private readonly log: Logger) {
    this.metrics = createHttpMetrics('frontend');
    this.transport = new BatchingReplicaClient({
      requestTimeoutMs: cfg.replicaRequestTimeoutMs,
      inflightRequestsMaxPerNode: cfg.replicaInflightRequestsMax,
      queueOpsMaxPerNode: cfg.replicaQueueOpsMax,
    });
    this.link = new ControllerLink({
      controller: cfg.controller,
      self: { id: cfg.id, role: 'frontend', address: cfg.address, zone: cfg.zone, weight: 1 },
      log,
      requestTimeoutMs: DEFAULT_TIMEOUTS.controllerRequestTimeoutMs,
      registerRetryIntervalMs: DEFAULT_TIMEOUTS.registerRetryIntervalMs,
      heartbeatIntervalMs: cfg.heartbeatIntervalMs,
      onTable: (t) => this.adoptTable(t, 'controller'),
      currentEpoch: () => this.table?.epoch ?? 0,
    });
    this.coordinator = new Coordinator({
      transport: this.transport,
      clock: new HybridClock(),
      nowMs: () => Date.now(),
      random: () => randomInt(0, 2 ** 32) / 2 ** 32,
      writerId: cfg.id,
      table: () => this.table,
      refreshTable: () => this.link.refreshTable(),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      events: this.registerMetrics(),
    });
  }

  async start(): Promise<number> {
    this.server = await listen(this.expressApp(), this.cfg.host, this.cfg.port);
    this.log.info('frontend listening', { id: this.cfg.id, address: this.cfg.address, port: this.server.port });
    this.link.start();
    return this.server.port;
  }

  async stop(): Promise<void> {
    this.link.stop();
    await this.server?.close();
    this.transport.close();
  }

  private adoptTable(table: PartitionTable, from: string): boolean {
    if (this.table && table.epoch <= this.table.epoch) return false;
    this.table = table;
    this.log.info('table adopted', { epoch: table.epoch, from });
    return true;
  }

  private redundancy(): number {
    if (!this.table) throw new FogError('FOG_ERR_NO_TABLE');
    return this.table.redundancy;
  }

  private expressApp(): express.Express {
    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);
    app.use(metricsMiddleware(this.metrics));
    mountStandardRoutes(app, this.metrics, () => ({
      id: this.cfg.id, role: 'frontend', epoch: this.table?.epoch ?? 0, registered: this.link.isRegistered(),
    }));
    const raw = express.raw({ type: () => true, limit: this.cfg.limits.requestBodyBytesMax });

    // ---- original API: 200 on success, 501 for incorrect usage, 404 for a missing key ----
    app.get('/get', op('get'), asyncHandler((req, res) => this.originalGet(req, res)));
    app.get('/set', op('set'), asyncHandler((req, res) => this.originalSet(req, res, undefined)));
    // The original API answers every usage error with 501, an oversized body included.
    const rawOriginal: express.RequestHandler = (req, res, next) =>
      raw(req, res, (err?: unknown) => (err ? this.usage(res, 'FOG_ERR_VALUE_TOO_LARGE', `the body is larger than ${this.cfg.limits.requestBodyBytesMax} bytes`) : next()));
    app.post('/set', op('set'), rawOriginal, asyncHandler((req, res) => this.originalSet(req, res, req.body as Buffer)));

    // ---- v1 REST (docs/api.md) ----
    app.use('/v1', v1Router({ coordinator: this.coordinator, limits: this.cfg.limits, table: () => this.table }));

    // The table this frontend holds: a controller that lost its state recovers it from the nodes.
    app.get(INTERNAL_PATHS.table, op('table_get'), (_req, res) => {
      if (!this.table) throw new FogError('FOG_ERR_NO_TABLE');
      res.json(this.table);
    });
    app.put(INTERNAL_PATHS.table, op('table_push'), express.json({ limit: DEFAULT_LIMITS.internalBodyBytesMax }), (req, res) => {
      // A delta, a compact table or a plain one; a delta must start from the epoch held.
      const table = decodeTableMessage(this.table, req.body);
      const adopted = table !== null && this.adoptTable(table, 'push');
      res.json({ adopted, epoch: this.table?.epoch ?? 0 });
    });
    app.use(notFoundHandler());
    app.use(errorMiddleware(this.log));
    return app;
  }

  /** The original API answers usage errors with 501 and a one-line text body naming the code. */
  private usage(res: Response, code: string, message: string): void {
    res.status(501).type('text/plain').send(`${code}: ${message}\n`);
  }

  private originalKey(req: Request, res: Response): string | null {
    const key = req.query.key;
    if (Array.isArray(key)) {
      this.usage(res, 'FOG_ERR_BAD_REQUEST', 'give key once');
      return null;
    }
    const bad = checkKey(key, this.cfg.limits.keyBytesMax);
    if (bad) {
      this.usage(res, bad, new FogError(bad).message);
      return null;
    }
    return key as string;
  }

  private async originalGet(req: Request, res: Response): Promise<void> {
    const key = this.originalKey(req, res);
    if (key === null) return;
    const r = resolveConsistency(undefined, this.redundancy());
    const result = await this.coordinator.read(key, r!);
    if (!result.entry || result.entry.value === null) {
      res.status(404).type('text/plain').send('FOG_ERR_NOT_FOUND: no such key\n');
      return;
    }
    res.set(HEADERS.version, formatVersion(result.entry.ver)).type('application/octet-stream').send(result.entry.value);
  }

  private async originalSet(req: Request, res: Response, body: Buffer | undefined): Promise<void> {
    const key = this.originalKey(req, res);
    if (key === null) return;
    const q = req.query.value;
    let value: Buffer;
    if (typeof q === 'string') value = Buffer.from(q, 'utf8');
    else if (q !== undefined) return this.usage(res, 'FOG_ERR_BAD_REQUEST', 'give value once');
    else if (body !== undefined && Buffer.isBuffer(body)) value = body;
    else return this.usage(res, 'FOG_ERR_VALUE_MISSING', 'give value=V in the query string or POST the value as the body');
    if (value.length > this.cfg.limits.valueBytesMax) return this.usage(res, 'FOG_ERR_VALUE_TOO_LARGE', `values are at most ${this.cfg.limits.valueBytesMax} bytes`);
    const w = resolveConsistency(undefined, this.redundancy());
    const result = await this.coordinator.write(key, value, w!);
    res.set(HEADERS.version, formatVersion(result.ver)).type('text/plain').send('OK\n');
  }

  private registerMetrics(): CoordinatorEvents {
    const reg = this.metrics.registry;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client binds `this` in collect()
    const self = this;
    new Gauge({ name: 'fog_frontend_table_epoch', help: 'Epoch of the partition table this frontend holds.', registers: [reg], collect() { this.set(self.table?.epoch ?? 0); } });
    const replica = new Counter({
      name: 'fog_frontend_replica_requests_total',
      help: 'Operations sent to storage replicas, by operation and outcome.',
      labelNames: ['op', 'outcome'] as const,
      registers: [reg],
    });
    for (const o of REPLICA_OUTCOMES) for (const k of ['get', 'put']) replica.inc({ op: k, outcome: o }, 0);
    const repairs = new Counter({ name: 'fog_frontend_read_repairs_total', help: 'Stale replicas written back after a read.', registers: [reg] });
    const restamps = new Counter({ name: 'fog_frontend_restamps_total', help: 'Writes re-stamped above a newer version a replica reported.', registers: [reg] });
    new Gauge({
      name: 'fog_frontend_replica_queue_ops',
      help: 'Operations waiting to be sent to storage nodes, summed over nodes.',
      registers: [reg],
      collect() {
        let n = 0;
        for (const d of self.transport.queueDepths().values()) n += d;
        this.set(n);
      },
    });
    return {
      replicaOutcome: (k, outcome) => replica.inc({ op: k, outcome }),
      readRepair: (n) => repairs.inc(n),
      restamp: () => restamps.inc(),
      unreachable: (id) => this.link.reportUnreachable(id, Date.now()),
    };
  }
}
