import express from 'express';
import { randomInt } from 'node:crypto';
import { Counter, Gauge } from 'prom-client';
import { HybridClock } from '@fog/clock';
import { Coordinator, REPLICA_OUTCOMES, TOPOLOGY_DEFAULTS, liveFrontends, type CoordinatorEvents, type ReplicaOutcome } from '@fog/coordinator';
import {
  ClusterAuth, ControllerLink, InflightBytes, LISTEN_BACKLOG_DEFAULT, advertisedAt, tlsInUse, RefusalReporter, createHttpMetrics, decodePushedTable, errorMiddleware, internalJsonBody, listen, metricsMiddleware,
  mountStandardRoutes, notFoundHandler, op, type HttpMetrics, type Logger, type RunningServer,
} from '@fog/http-kit';
import {
  DEFAULT_LIMITS, DEFAULT_TIMEOUTS, FogError, INTERNAL_PATHS, quorumOf,
  tableProblem, type ClusterNodeView, type Limits, type PartitionTable, type TableProblem, type WeightBasis,
} from '@fog/protocol';
import { BatchingReplicaClient, BinaryReplicaClient, type ReplicaClient, type ReplicaTransportKind } from '@fog/replica-client';
import { HintDelivery, type HintDeliveryConfig } from './hint-delivery';
import { HotPath } from './hot-path';
import { Watches } from './watches';
import { mountOriginalRoutes } from './original-routes';
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
  /** binary: length-prefixed frames over persistent connections (default); http: JSON over HTTP. */
  replicaTransport?: ReplicaTransportKind;
  limits: Limits;
  /** Hinted handoff: bounds and delivery period (hint-delivery.ts). */
  hints: HintDeliveryConfig;
  /** Watches held open at once (default WATCH_LIMITS.watchersMax). */
  watchersMax?: number;
  /** Largest internal request body (a table push), and bytes of them buffered at once. */
  internalBodyBytesMax?: number;
  internalInflightBytesMax?: number;
  /** The cluster secret; null or absent: insecure (internal routes open). */
  secret?: string | null;
  /** A listener of its own for internal routes (table pushes); null/absent: they share `port`. */
  internalPort?: number | null;
  /** host:port the controller reaches the internal listener on. */
  internalAddress?: string | null;
}

/** The client-facing node: original API and v1 REST over the coordinator. */
export class FrontendNode {
  private table: PartitionTable | null = null;
  private readonly metrics: HttpMetrics;
  private readonly link: ControllerLink;
  private readonly transport: ReplicaClient;
  private readonly hints: HintDelivery;
  readonly coordinator: Coordinator;
  private server: RunningServer | null = null;
  private internalServer: RunningServer | null = null;
  private readonly refusals: RefusalReporter;
  readonly auth: ClusterAuth;
  private readonly internalBody: ReturnType<typeof internalJsonBody>;
  private readonly watches: Watches;

  constructor(private readonly cfg: FrontendConfig, private readonly log: Logger) {
    this.metrics = createHttpMetrics('frontend');
    this.refusals = new RefusalReporter(this.metrics.refused, log);
    this.auth = new ClusterAuth(cfg.secret ?? null);
    this.auth.registerMetrics(this.metrics.registry, 'frontend', (reason, message) => this.refusals.refuse('auth', reason, message));
    this.internalBody = internalJsonBody({
      bodyBytesMax: cfg.internalBodyBytesMax ?? DEFAULT_LIMITS.internalBodyBytesMax,
      inflight: new InflightBytes(cfg.internalInflightBytesMax ?? DEFAULT_LIMITS.internalInflightBytesMax),
      refused: (reason) => this.refusals.refuse('table_push', reason),
      auth: this.auth,
    });
    const transportOptions = {
      requestTimeoutMs: cfg.replicaRequestTimeoutMs,
      inflightRequestsMaxPerNode: cfg.replicaInflightRequestsMax,
      queueOpsMaxPerNode: cfg.replicaQueueOpsMax,
    };
    this.transport = cfg.replicaTransport === 'http'
      ? new BatchingReplicaClient(transportOptions, (i) => void this.auth.signAxios(i))
      : new BinaryReplicaClient(transportOptions, () => this.auth.connectionLine());
    this.link = new ControllerLink({
      controller: cfg.controller,
      self: { id: cfg.id, role: 'frontend', address: cfg.address, ...(cfg.internalAddress ? { internal: cfg.internalAddress } : {}), zone: cfg.zone, weight: 1 },
      log,
      auth: this.auth,
      requestTimeoutMs: DEFAULT_TIMEOUTS.controllerRequestTimeoutMs,
      registerRetryIntervalMs: DEFAULT_TIMEOUTS.registerRetryIntervalMs,
      heartbeatIntervalMs: cfg.heartbeatIntervalMs,
      onTable: (t) => this.adoptTable(t, 'controller'),
      currentEpoch: () => this.table?.epoch ?? 0,
    });
    this.hints = new HintDelivery({ transport: this.transport, table: () => this.table, log, registry: this.metrics.registry, config: cfg.hints });
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
    this.watches = new Watches({ coordinator: this.coordinator, table: () => this.table, log, registry: this.metrics.registry, watchersMax: cfg.watchersMax });
  }

  async start(): Promise<number> {
    const split = (this.cfg.internalPort ?? null) !== null;
    // With an internal listener of its own, the client port serves no internal route.
    const app = this.expressApp({ client: true, internal: !split });
    const hot = new HotPath({
      coordinator: this.coordinator, limits: this.cfg.limits, table: () => this.table, metrics: this.metrics, log: this.log,
      onWrite: (key) => this.watches.poke(key),
    });
    if (split) {
      this.internalServer = await listen(this.expressApp({ client: false, internal: true }), this.cfg.host, this.cfg.internalPort!, LISTEN_BACKLOG_DEFAULT, tlsInUse());
      if (!this.cfg.internalAddress) this.cfg.internalAddress = advertisedAt(this.cfg.address, this.internalServer.port);
      this.link.setInternalAddress(this.cfg.internalAddress);
    }
    // The data routes answer on bare node:http; Express answers everything else (hot-path.ts).
    this.server = await listen((req, res) => {
      if (!hot.handle(req, res)) app(req, res);
    }, this.cfg.host, this.cfg.port, LISTEN_BACKLOG_DEFAULT, tlsInUse());
    this.log.info('frontend listening', {
      id: this.cfg.id, address: this.cfg.address, port: this.server.port, internalAddress: this.cfg.internalAddress ?? this.cfg.address,
      internalPort: this.internalServer?.port ?? this.server.port,
    });
    if (this.auth.insecure) this.log.warn('running with --insecure: internal routes accept requests from anyone who can reach them', { id: this.cfg.id });
    this.link.start();
    this.hints.start();
    this.watches.start();
    return this.server.port;
  }

  async stop(): Promise<void> {
    this.link.stop();
    this.hints.stop();
    this.watches.stop();
    await this.server?.close();
    await this.internalServer?.close();
    this.transport.close();
  }

  private tableProblem(table: unknown): TableProblem | null {
    const t = this.table;
    return tableProblem(table, t ? { epoch: t.epoch, digits: t.digits, redundancy: t.redundancy } : null);
  }

  /** Adopt a newer table that passed the strict checks, from any source. */
  private adoptTable(table: PartitionTable, from: string): boolean {
    const problem = this.tableProblem(table);
    if (problem) {
      this.refusals.refuse(`table_${from}`, problem.reason, problem.message);
      return false;
    }
    if (this.table && table.epoch <= this.table.epoch) return false;
    const authProblem = this.auth.tableProblem(table);
    if (authProblem) {
      this.refusals.refuse(`table_${from}`, 'auth', authProblem);
      return false;
    }
    this.auth.learnCluster(table.cluster);
    this.table = table;
    this.log.info('table adopted', { epoch: table.epoch, from });
    return true;
  }

  private membersKnown: { nodes: ClusterNodeView[]; atMs: number } | null = null;
  private membersFetch: Promise<ClusterNodeView[] | null> | null = null;

  /**
   * The cluster's members as the controller lists them, reused for frontendListMaxAgeMs;
   * while the controller cannot be asked, the last list known (null: none yet). One fetch at a
   * time however many clients ask.
   */
  private members(): Promise<ClusterNodeView[] | null> {
    const known = this.membersKnown;
    if (known && Date.now() - known.atMs < TOPOLOGY_DEFAULTS.frontendListMaxAgeMs) return Promise.resolve(known.nodes);
    if (!this.membersFetch) {
      this.membersFetch = this.link.clusterView().then(
        (view) => {
          this.membersKnown = { nodes: view.nodes, atMs: Date.now() };
          return view.nodes;
        },
        (err: Error) => {
          this.log.warn('cluster members unavailable', { error: err.message });
          return known?.nodes ?? null;
        },
      ).finally(() => {
        this.membersFetch = null;
      });
    }
    return this.membersFetch;
  }

  /** The frontends of the cluster that are up (at least this one). */
  private async frontendList(): Promise<string[]> {
    return liveFrontends({ nodes: (await this.members()) ?? [] }, this.cfg.address);
  }

  private async weightBases(): Promise<ReadonlyMap<string, WeightBasis>> {
    const out = new Map<string, WeightBasis>();
    for (const n of (await this.members()) ?? []) if (n.weightBasis) out.set(n.id, n.weightBasis);
    return out;
  }

  private redundancy(): number {
    if (!this.table) throw new FogError('FOG_ERR_NO_TABLE');
    return this.table.redundancy;
  }

  /** client: the client API; internal: the internal routes (table pushes and reads). */
  private expressApp(serve: { client: boolean; internal: boolean }): express.Express {
    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);
    app.use(metricsMiddleware(this.metrics));
    mountStandardRoutes(app, this.metrics, () => ({
      id: this.cfg.id, role: 'frontend', epoch: this.table?.epoch ?? 0, registered: this.link.isRegistered(),
      cluster: this.auth.cluster || null, internalAuth: this.auth.insecure ? 'open (--insecure)' : 'cluster secret',
    }), () => this.notReadyReasons());
    if (serve.client) {
      const ctx = {
        coordinator: this.coordinator, limits: this.cfg.limits, table: () => this.table, watches: this.watches,
        frontends: () => this.frontendList(), weightBases: () => this.weightBases(),
      };
      mountOriginalRoutes(app, ctx);
      // ---- v1 REST (docs/api.md) ----
      app.use('/v1', v1Router(ctx));
    }
    if (serve.internal) this.mountInternalRoutes(app);
    app.use(notFoundHandler());
    app.use(errorMiddleware(this.log));
    return app;
  }

  private mountInternalRoutes(app: express.Express): void {
    // Every internal request is signed with the cluster secret; bodies are bounded.
    app.use('/internal', this.internalBody);
    // The table this frontend holds: a controller that lost its state recovers it from the nodes.
    app.get(INTERNAL_PATHS.table, op('table_get'), (_req, res) => {
      if (!this.table) throw new FogError('FOG_ERR_NO_TABLE');
      res.json(this.table);
    });
    app.put(INTERNAL_PATHS.table, op('table_push'), (req, res) => {
      // A delta, a compact table or a plain one (a delta must start from the epoch held), then checked strictly.
      const table = decodePushedTable(this.table, req.body, (t) => this.tableProblem(t), this.refusals);
      const adopted = table !== null && this.adoptTable(table, 'push');
      res.json({ adopted, epoch: this.table?.epoch ?? 0 });
    });
  }

  /**
   * Why this frontend cannot serve now (empty: ready): no table, or some partition with fewer
   * active replicas serving (up or leaving, as the controller last said) than a default quorum.
   */
  private notReadyReasons(): string[] {
    const t = this.table;
    if (!t) return ['no_table'];
    const quorum = quorumOf(t.redundancy);
    const serving = (id: string) => t.nodes[id]?.state === 'up' || t.nodes[id]?.state === 'leaving';
    const short = t.partitions.some((e) => e.replicas.filter(serving).length < quorum);
    return short ? ['replicas_unavailable'] : [];
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
    // Children bound once: every replica reply counts here, so no label lookup per reply.
    const bind = (op: 'get' | 'put') => Object.fromEntries(REPLICA_OUTCOMES.map((o) => [o, replica.labels({ op, outcome: o })])) as Record<ReplicaOutcome, ReturnType<typeof replica.labels>>;
    const bound = { get: bind('get'), put: bind('put') };
    for (const o of REPLICA_OUTCOMES) for (const k of ['get', 'put'] as const) bound[k][o].inc(0);
    const repairs = new Counter({ name: 'fog_frontend_read_repairs_total', help: 'Stale replicas written back after a read.', registers: [reg] });
    const restamps = new Counter({ name: 'fog_frontend_restamps_total', help: 'Writes re-stamped above a newer version a replica reported.', registers: [reg] });
    const receiptReads = new Counter({
      name: 'fog_frontend_receipt_extra_reads_total',
      help: 'Replicas asked beyond r by reads with a receipt (x-fog-after) whose first replicas held only older versions.',
      registers: [reg],
    });
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
      replicaOutcome: (k, outcome) => bound[k][outcome].inc(),
      replicaOutcomes: (k, outcome, count) => bound[k][outcome].inc(count),
      readRepair: (n) => repairs.inc(n),
      restamp: () => restamps.inc(),
      receiptRead: (n) => receiptReads.inc(n),
      unreachable: (id) => this.link.reportUnreachable(id, Date.now()),
      missedWrite: (id, partition, key, ver, val, exp) => this.hints.missedWrite(id, partition, key, ver, val, exp),
    };
  }
}
