import express from 'express';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type http from 'node:http';
import type net from 'node:net';
import { Counter, Gauge } from 'prom-client';
import { ANTI_ENTROPY_PATHS, SYNC_FRAME_PREFACE, type SyncKind, type SyncReply } from '@fog/replica-sync';
import { CLOCK_DEFAULTS } from '@fog/clock';
import {
  ClusterAuth, ControllerLink, InflightBytes, LISTEN_BACKLOG_DEFAULT, advertisedAt, tlsInUse, authError, authenticate, listen, RefusalReporter, asyncHandler, createHttpMetrics, decodePushedTable, errorMiddleware, internalJsonBody, listenWithPreface,
  metricsMiddleware, mountStandardRoutes, notFoundHandler, op, parseInternalJson, readInternalBody, requestsServed, type HttpMetrics,
  type InternalBodyLimits, type Logger, type RunningServer,
} from '@fog/http-kit';
import {
  CLUSTER_ID_RE, DEFAULT_LIMITS, DEFAULT_TIMEOUTS, FogError, HEADERS, INTERNAL_PATHS, OPS_FRAME_PREFACE, formatVersion, opsRequestProblem,
  opsVersionAheadProblem, partitionCount, tableProblem, versionAheadProblem, type OpsRequest, type PartitionTable, type TableProblem, type WeightBasis,
} from '@fog/protocol';
import { INGEST_SOURCES, PARTITION_PAGE_DEFAULTS, ReplicaEngine, pagePartition, type PartitionPage } from '@fog/storage-core';
import { BinaryOpsServer } from './binary-ops';
import { BinarySyncServer } from './binary-sync';
import { PeerSyncClient, type SyncTransportKind } from './peer-sync-client';
import { DURABILITY_DEFAULTS, Durability } from './durability';
import { HANDOFF_DEFAULTS, HANDOFF_PATH, HandoffWorker } from './handoff';
import type { StorageFlags } from './storage-options';

/**
 * How long a node keeps a partition it was moved off at least (frontends with an older table
 * may still be reading it). After that it is dropped only once its new replicas confirmed, by
 * an anti-entropy exchange, that they hold everything this node held of it.
 */
export const PARTITION_DROP_DELAY_MS = 10_000;
const PARTITION_DROP_CHECK_INTERVAL_MS = 2_000;
/** A released partition still unconfirmed after this long is reported (it stays until confirmed). */
const PARTITION_RELEASE_WARN_AFTER_MS = 5 * 60_000;

export interface StorageConfig {
  id: string;
  address: string;
  host: string;
  port: number;
  controller: string;
  zone: string;
  weight: number;
  /** Present when the weight was derived from the node's capacity (--weight auto): reported at registration. */
  weightBasis?: WeightBasis;
  heartbeatIntervalMs: number;
  internalBodyBytesMax: number;
  /** Bytes of internal request bodies buffered at once (DEFAULT_LIMITS.internalInflightBytesMax). */
  internalInflightBytesMax?: number;
  internalBatchOpsMax: number;
  /**
   * Versions stamped further ahead of this node's wall clock than this are refused (default:
   * the hybrid clock's forward-jump limit, beyond which no clock would follow them).
   */
  versionAheadMsMax?: number;
  /** Persistence, memory limit, anti-entropy (storage-options.ts); absent: in memory, defaults. */
  durability?: StorageFlags;
  /** Ceiling on the rate at which this node copies partitions it is given. */
  handoffBytesPerSecMax?: number;
  /** The cluster secret; null or absent: insecure (internal routes open). */
  secret?: string | null;
  /** A listener of its own for internal routes (null/absent: they share `port`). */
  internalPort?: number | null;
  /** host:port peers reach the internal listener on. */
  internalAddress?: string | null;
  /** How anti-entropy and partition copies speak to peers (default binary; http: JSON over HTTP). */
  replicaTransport?: SyncTransportKind;
}

/** File in the data dir holding the id of the cluster the node's data belongs to. */
export const CLUSTER_ID_FILE = 'cluster-id';

/** Wires the replica engine to HTTP, the controller and metrics. */
export class StorageNode {
  readonly engine: ReplicaEngine;
  private readonly metrics: HttpMetrics;
  private readonly link: ControllerLink;
  private server: RunningServer | null = null;
  private internalServer: RunningServer | null = null;
  private handoff!: HandoffWorker;
  private readonly peers: PeerSyncClient;
  readonly auth: ClusterAuth;
  /** Partitions the table no longer gives this node, with when they were given away. */
  private readonly releasedAtMs = new Map<number, number>();
  private dropTimer: NodeJS.Timeout | null = null;
  private confirmingRelease = false;
  private readonly releaseWarned = new Set<number>();
  private readonly durability: Durability;
  /** This process run: a registration repeated by the same run cannot have lost data. */
  private readonly bootId = randomBytes(8).toString('hex');
  private readonly inflight: InflightBytes;
  private readonly refusals: RefusalReporter;
  private readonly versionAheadMsMax: number;

  constructor(private readonly cfg: StorageConfig, private readonly log: Logger) {
    this.engine = new ReplicaEngine(cfg.id);
    this.inflight = new InflightBytes(cfg.internalInflightBytesMax ?? DEFAULT_LIMITS.internalInflightBytesMax);
    this.versionAheadMsMax = cfg.versionAheadMsMax ?? CLOCK_DEFAULTS.forwardJumpMsMax;
    this.metrics = createHttpMetrics('storage');
    this.refusals = new RefusalReporter(this.metrics.refused, log);
    this.auth = new ClusterAuth(cfg.secret ?? null);
    this.auth.registerMetrics(this.metrics.registry, 'storage', (reason, message) => this.refusals.refuse('auth', reason, message));
    this.auth.learnCluster(this.readClusterId() ?? undefined);
    this.registerMetrics();
    this.link = new ControllerLink({
      controller: cfg.controller,
      self: {
        id: cfg.id, role: 'storage', address: cfg.address, ...(cfg.internalAddress ? { internal: cfg.internalAddress } : {}), zone: cfg.zone, weight: cfg.weight,
        ...(cfg.weightBasis ? { weightBasis: cfg.weightBasis } : {}),
      },
      log,
      auth: this.auth,
      requestTimeoutMs: DEFAULT_TIMEOUTS.controllerRequestTimeoutMs,
      registerRetryIntervalMs: DEFAULT_TIMEOUTS.registerRetryIntervalMs,
      heartbeatIntervalMs: cfg.heartbeatIntervalMs,
      onTable: (t) => this.adoptTable(t, 'controller'),
      currentEpoch: () => this.engine.epoch(),
      // A node that restarted without its data must copy before it serves reads again.
      registrationExtras: () => {
        const st = this.engine.store.stats();
        return { empty: st.keys + st.tombstones === 0, boot: this.bootId };
      },
      // Shown on the controller's status page.
      heartbeatLoad: async () => {
        const st = this.engine.store.stats();
        return { keys: st.keys, bytes: st.bytes, requestsTotal: await requestsServed(this.metrics) };
      },
    });
    const sign = (i: Parameters<ClusterAuth['signAxios']>[0]) => void this.auth.signAxios(i);
    this.peers = new PeerSyncClient(cfg.replicaTransport ?? 'binary', () => this.auth.connectionLine(), sign, log, this.metrics.registry, cfg.internalBodyBytesMax);
    this.durability = new Durability(this.engine, cfg.durability ?? DURABILITY_DEFAULTS, log, this.metrics.registry, () => this.link.refreshTable(), this.peers);
    // A copy is reported done only once it is on disk as the fsync policy promises: the old
    // replica is dropped after that report.
    this.handoff = new HandoffWorker(this.engine, this.link, log, this.durability, this.peers, { ...HANDOFF_DEFAULTS, bytesPerSecMax: cfg.handoffBytesPerSecMax ?? HANDOFF_DEFAULTS.bytesPerSecMax });
  }

  private readClusterId(): string | null {
    const dir = this.cfg.durability?.dataDir;
    if (!dir) return null;
    try {
      const id = readFileSync(path.join(dir, CLUSTER_ID_FILE), 'utf8').trim();
      return CLUSTER_ID_RE.test(id) ? id : null;
    } catch {
      return null;
    }
  }

  /** Remember the cluster the data belongs to: after a restart, tables of another cluster are refused. */
  private saveClusterId(id: string): void {
    const dir = this.cfg.durability?.dataDir;
    if (!dir) return;
    try {
      writeFileSync(path.join(dir, CLUSTER_ID_FILE), `${id}\n`);
    } catch (err) {
      this.log.warn('cannot save the cluster id in the data dir', { error: (err as Error).message });
    }
  }

  async start(): Promise<number> {
    // Replay the data before listening: a node never answers from a half-loaded store.
    await this.durability.open();
    const app = this.expressApp(true);
    // The internal ops route is the hot path: it skips Express (about 4x its CPU per request).
    const handler: http.RequestListener = (req, res) => {
      if (req.method === 'POST' && req.url === INTERNAL_PATHS.ops) this.handleOps(req, res);
      else app(req, res);
    };
    // Frontends may speak the binary form of the ops route on the same port (binary-ops.ts).
    const binary = new BinaryOpsServer({
      epoch: () => this.engine.epoch(), refreshTable: () => this.link.refreshTable(),
      // The same checks as the HTTP route: every op, and stamps too far ahead of our clock.
      answerOps: (body, nowMs, finish) => {
        const problem = this.opsProblem(body);
        if (problem) {
          this.refusals.refuse('internal_ops', problem.reason, problem.message);
          const err = new FogError(problem.code, problem.message);
          finish(err.status, err.toBody());
          return;
        }
        this.durability.answerOps(body, nowMs, finish);
      },
      frameBytesMax: this.cfg.internalBodyBytesMax, batchOpsMax: this.cfg.internalBatchOpsMax, metrics: this.metrics, log: this.log,
      checkOpening: (line) => this.checkOpening(line),
    });
    // Peers speak the binary form of anti-entropy and partition pages on the same port (binary-sync.ts).
    const sync = new BinarySyncServer({
      answer: (kind, body) => this.answerSync(kind, body),
      frameBytesMax: this.cfg.internalBodyBytesMax, metrics: this.metrics, log: this.log,
      checkOpening: (line) => this.checkOpening(line),
    });
    const prefaces = [OPS_FRAME_PREFACE, SYNC_FRAME_PREFACE];
    const onPreface = (socket: net.Socket, rest: Buffer, preface: Buffer) => (preface === SYNC_FRAME_PREFACE ? sync.accept(socket, rest) : binary.accept(socket, rest));
    const internalPort = this.cfg.internalPort ?? null;
    if (internalPort !== null) {
      // Internal routes on their own listener; the client port answers /health, /ready and /metrics only.
      this.internalServer = await listenWithPreface(handler, this.cfg.host, internalPort, prefaces, onPreface, tlsInUse());
      this.server = await listen(this.expressApp(false), this.cfg.host, this.cfg.port, LISTEN_BACKLOG_DEFAULT, tlsInUse());
      if (!this.cfg.internalAddress) this.cfg.internalAddress = advertisedAt(this.cfg.address, this.internalServer.port);
      this.link.setInternalAddress(this.cfg.internalAddress);
    } else {
      this.server = await listenWithPreface(handler, this.cfg.host, this.cfg.port, prefaces, onPreface, tlsInUse());
    }
    this.log.info('storage listening', {
      id: this.cfg.id, address: this.cfg.address, port: this.server.port,
      internalAddress: this.cfg.internalAddress ?? this.cfg.address, internalPort: this.internalServer?.port ?? this.server.port,
    });
    if (this.auth.insecure) this.log.warn('running with --insecure: internal routes accept requests from anyone who can reach them', { id: this.cfg.id });
    this.link.start();
    this.durability.start();
    this.dropTimer = setInterval(() => this.dropReleasedPartitions(Date.now()), PARTITION_DROP_CHECK_INTERVAL_MS);
    return this.server.port;
  }

  async stop(): Promise<void> {
    this.link.stop();
    this.handoff.stop();
    this.peers.close();
    if (this.dropTimer) clearInterval(this.dropTimer);
    await this.server?.close();
    await this.internalServer?.close();
    await this.durability.stop();
  }

  /** Why a table may not be adopted (null: it may). */
  private tableProblem(table: unknown): TableProblem | null {
    const held = this.engine.currentTable();
    return tableProblem(table, held ? { epoch: held.epoch, digits: held.digits, redundancy: held.redundancy } : null);
  }

  /**
   * Adopt a newer table, from whichever source (push, fetch, registration answer), once it
   * passed the strict checks: a table decides which partitions this node drops.
   */
  private adoptTable(table: PartitionTable, from: string): boolean {
    const problem = this.tableProblem(table);
    if (problem) {
      this.refusals.refuse(`table_${from}`, problem.reason, problem.message);
      return false;
    }
    // Signed by the cluster's controller, and of the cluster this node's data belongs to.
    const authProblem = this.auth.tableProblem(table);
    if (authProblem) {
      this.refusals.refuse(`table_${from}`, 'auth', authProblem);
      return false;
    }
    const previous = this.engine.currentTable();
    const before = new Set(this.engine.heldPartitions());
    const adopted = this.engine.offerTable(table);
    if (!adopted) return false;
    if (table.cluster && !this.auth.cluster) {
      this.auth.learnCluster(table.cluster);
      this.saveClusterId(table.cluster);
      this.log.info('cluster id learned', { cluster: table.cluster });
    }
    this.log.info('table adopted', { epoch: table.epoch, from, partitions: this.engine.heldPartitions().length });
    const now = Date.now();
    for (const p of before) if (!this.engine.holds(p) && !this.releasedAtMs.has(p)) this.releasedAtMs.set(p, now);
    for (const p of this.engine.heldPartitions()) this.releasedAtMs.delete(p);
    this.handoff.onTable(table);
    this.durability.onTable(previous, table);
    return true;
  }

  /**
   * Forget partitions given away, once their new replicas confirmed they hold what this node
   * held (a replaced replica keeps its copy until then: it may hold acknowledged writes the
   * others missed). One confirmation at a time; an unconfirmed partition is tried again later.
   */
  private dropReleasedPartitions(nowMs: number): void {
    if (this.confirmingRelease) return;
    for (const [p, at] of this.releasedAtMs) {
      if (nowMs - at < PARTITION_DROP_DELAY_MS) continue;
      if (nowMs - at > PARTITION_RELEASE_WARN_AFTER_MS && !this.releaseWarned.has(p)) {
        this.releaseWarned.add(p);
        this.log.warn('released partition kept: its new replicas have not confirmed they hold its data', { partition: p, releasedForMs: nowMs - at });
      }
      this.confirmingRelease = true;
      void this.durability.confirmRelease(p)
        .catch(() => false)
        .then((confirmed) => {
          this.confirmingRelease = false;
          if (!confirmed || this.engine.holds(p) || !this.releasedAtMs.has(p)) return;
          this.releasedAtMs.delete(p);
          this.releaseWarned.delete(p);
          const dropped = this.engine.dropPartition(p); // through the engine: persistence logs the drop
          this.log.info('partition dropped after its new replicas confirmed', { partition: p, entries: dropped });
        });
      return;
    }
  }

  /** A binary connection's opening line (the cluster's signature): null accepts it. */
  private checkOpening(line: string): FogError | null {
    const problem = this.auth.checkConnection(line);
    if (!problem) return null;
    this.refusals.refuse('internal_connection', problem.reason, problem.message);
    return authError(problem);
  }

  /**
   * Answer one binary sync message as its HTTP route answers it: the same checks (stamps too far
   * ahead in a push, ownership of a page's partition), the same engine door; throws a FogError
   * to refuse it with nothing applied.
   */
  private answerSync(kind: SyncKind, body: unknown): SyncReply {
    if (kind === 'page') return { kind, body: this.partitionPage(body) };
    if (kind === 'push') this.checkPushAhead(body);
    return this.durability.answerSync(kind, body);
  }

  /**
   * Anti-entropy entries are stored as they come: a stamp far in the future would win every
   * later write of its key, so a push carrying one is refused before the exchange sees it.
   */
  private checkPushAhead(body: unknown): void {
    const entries = (body as { entries?: unknown } | null)?.entries;
    const ahead = Array.isArray(entries) ? versionAheadProblem(entries.map((e) => (e as { ver?: unknown } | null)?.ver), Date.now(), this.versionAheadMsMax) : null;
    if (ahead) {
      this.refusals.refuse('ae_push', ahead.reason, ahead.message);
      throw new FogError(ahead.code, ahead.message);
    }
  }

  /** Serve one page of a partition to a node copying it (handoff source side). */
  private partitionPage(input: unknown): PartitionPage {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new FogError('FOG_ERR_BAD_REQUEST', 'expected {epoch, p, after, limit, bytesMax}');
    const body = input as { epoch?: unknown; p?: unknown; after?: unknown; limit?: unknown; bytesMax?: unknown };
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
    // The copier may ask for smaller pages (its throttle's burst); never larger than ours.
    const bytesMax = typeof body.bytesMax === 'number' && Number.isSafeInteger(body.bytesMax) && body.bytesMax > 0
      ? Math.min(body.bytesMax, PARTITION_PAGE_DEFAULTS.pageBytesMax) : PARTITION_PAGE_DEFAULTS.pageBytesMax;
    return pagePartition(this.engine.keys, p, body.after as string | null, limit, bytesMax);
  }

  /** Body limits of internal routes, counting refusals under `op`. */
  private bodyLimits(opName: string): InternalBodyLimits {
    return {
      bodyBytesMax: this.cfg.internalBodyBytesMax,
      inflight: this.inflight,
      refused: (reason) => this.refusals.refuse(opName, reason),
    };
  }

  /**
   * The hot internal route, on bare node:http. Every request is checked whole before anything
   * is applied; whatever goes wrong becomes a JSON answer and a counter, never an exception
   * that reaches the process.
   */
  /** Why an ops request (HTTP or binary) is refused, or null: every op checked, no stamp too far ahead. */
  private opsProblem(body: unknown): { code: FogError['code']; reason: string; message: string } | null {
    const table = this.engine.currentTable();
    const problem = opsRequestProblem(body, { batchOpsMax: this.cfg.internalBatchOpsMax, partitions: table ? partitionCount(table.digits) : null });
    if (problem) return problem;
    return opsVersionAheadProblem(body as OpsRequest, Date.now(), this.versionAheadMsMax);
  }

  private handleOps(req: http.IncomingMessage, res: http.ServerResponse): void {
    const started = process.hrtime.bigint();
    const opName = 'internal_ops';
    const finish = (status: number, body: unknown, extraHeaders: Record<string, string> = {}) => {
      if (res.headersSent || res.writableEnded || res.destroyed) return;
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...extraHeaders });
      res.end(text);
      const labels = { op: opName, status: String(status) };
      this.metrics.requests.inc(labels);
      this.metrics.latency.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    };
    const fail = (err: unknown) => {
      let fog: FogError;
      if (err instanceof FogError) fog = err;
      else {
        this.log.error('request failed', { method: 'POST', route: INTERNAL_PATHS.ops, error: (err as Error)?.message ?? String(err) });
        fog = new FogError('FOG_ERR_INTERNAL');
      }
      this.metrics.errors.inc({ op: opName, code: fog.code });
      finish(fog.status, fog.toBody(), fog.status === 503 ? { 'retry-after': '1' } : {});
    };
    const refuse = (problem: { code: FogError['code']; reason: string; message: string }) => {
      this.refusals.refuse(opName, problem.reason, problem.message);
      fail(new FogError(problem.code, problem.message));
    };
    readInternalBody(req, res, this.bodyLimits(opName)).then((buf) => {
      authenticate(this.auth, req, buf);
      const body = parseInternalJson(buf);
      const problem = this.opsProblem(body);
      if (problem) return refuse(problem);
      const ops = body as OpsRequest;
      const answer = () => {
        try {
          this.durability.answerOps(ops, Date.now(), finish);
        } catch (err) {
          fail(err);
        }
      };
      // A sender with a newer table knows something we do not: catch up before judging
      // ownership, so that a legitimate write is not fenced by our stale view.
      if (ops.epoch > this.engine.epoch()) this.link.refreshTable().then(answer, answer);
      else answer();
    }).catch(fail);
    req.on('error', () => res.destroy());
  }

  /** internal: the app of the internal routes (with /health, /ready, /metrics too); otherwise those three only. */
  private expressApp(internal: boolean): express.Express {
    const app = express();
    app.disable('x-powered-by');
    app.use(metricsMiddleware(this.metrics));
    mountStandardRoutes(app, this.metrics, () => ({
      id: this.cfg.id, role: 'storage', epoch: this.engine.epoch(), registered: this.link.isRegistered(), state: this.link.nodeState(),
      writable: this.durability.writable, cluster: this.auth.cluster || null, internalAuth: this.auth.insecure ? 'open (--insecure)' : 'cluster secret',
    }), () => this.notReadyReasons());
    if (!internal) {
      app.use(notFoundHandler());
      app.use(errorMiddleware(this.log));
      return app;
    }
    // Every internal body is read within the body limit and the node's in-flight budget, and
    // its signature checked, before any route sees it (the routes' own JSON parsers then find it
    // consumed). The operator routes under /v1 (stats, keys) need the secret too.
    app.use(['/internal', '/v1'], internalJsonBody({ ...this.bodyLimits('internal'), auth: this.auth }));
    // Stamps too far ahead in a push are refused before the exchange sees them.
    app.post(ANTI_ENTROPY_PATHS.push, op('ae_push'), (req, _res, next) => {
      this.checkPushAhead(req.body);
      next();
    });
    this.durability.mount(app);
    // The table this node holds: a controller that lost its state recovers it from the nodes.
    app.get(INTERNAL_PATHS.table, op('table_get'), (_req, res) => {
      const table = this.engine.currentTable();
      if (!table) throw new FogError('FOG_ERR_NO_TABLE');
      res.json(table);
    });
    app.put(INTERNAL_PATHS.table, op('table_push'), (req, res) => {
      // A delta, a compact table or a plain one (a delta must start from the epoch held), then checked strictly.
      const table = decodePushedTable(this.engine.currentTable(), req.body, (t) => this.tableProblem(t), this.refusals);
      const adopted = table !== null && this.adoptTable(table, 'push');
      res.set(HEADERS.epoch, String(this.engine.epoch())).json({ adopted, epoch: this.engine.epoch() });
    });
    app.post(HANDOFF_PATH, op('partition_page'), (req, res) => {
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
      const keys: Array<{ partition: number; key: string; tombstone: boolean; ver: string; exp?: number }> = [];
      outer: for (const p of this.engine.store.partitionIds()) {
        for (const [key, e] of this.engine.store.entries(p)) {
          if (keys.length >= limit) break outer;
          keys.push({ partition: p, key, tombstone: e.value === null, ver: formatVersion(e.ver), ...(e.exp !== undefined ? { exp: e.exp } : {}) });
        }
      }
      res.json({ id: this.cfg.id, keys, truncated: keys.length >= limit });
    }));
    app.use(notFoundHandler());
    app.use(errorMiddleware(this.log));
    return app;
  }

  /** Why this node cannot serve now (empty: ready). */
  private notReadyReasons(): string[] {
    const reasons: string[] = [];
    if (!this.engine.currentTable()) reasons.push('no_table');
    if (!this.durability.writable) reasons.push('disk_not_writable');
    return reasons;
  }

  private registerMetrics(): void {
    const reg = this.metrics.registry;
    const engine = this.engine;
    new Gauge({ name: 'fog_storage_table_epoch', help: 'Epoch of the partition table this node holds.', registers: [reg], collect() { this.set(engine.epoch()); } });
    new Gauge({ name: 'fog_storage_keys', help: 'Live keys held (tombstones excluded).', registers: [reg], collect() { this.set(engine.store.stats().keys); } });
    new Gauge({ name: 'fog_storage_tombstones', help: 'Tombstones held.', registers: [reg], collect() { this.set(engine.store.stats().tombstones); } });
    new Gauge({ name: 'fog_storage_bytes', help: 'Bytes the store holds in memory: record slabs (space of superseded records included until compaction), indexes, per-partition overhead.', registers: [reg], collect() { this.set(engine.store.stats().bytes); } });
    new Gauge({ name: 'fog_storage_partitions', help: 'Partitions this node holds in its table.', registers: [reg], collect() { this.set(engine.heldPartitions().length); } });
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client binds `this` in collect()
    const node = this;
    new Gauge({ name: 'fog_storage_handoff_partitions_active', help: 'Partitions being copied to this node now.', registers: [reg], collect() { this.set(node.handoff?.stats.active ?? 0); } });
    new Gauge({ name: 'fog_storage_handoff_copied_bytes', help: 'Value bytes copied to this node by completed partition handoffs since start.', registers: [reg], collect() { this.set(node.handoff?.stats.bytesCopied ?? 0); } });
    new Gauge({ name: 'fog_storage_handoff_copied_keys', help: 'Entries copied to this node by partition handoffs since start.', registers: [reg], collect() { this.set(node.handoff?.stats.keysCopied ?? 0); } });
    new Gauge({ name: 'fog_storage_handoff_failures', help: 'Partition copy steps that failed and were retried, since start.', registers: [reg], collect() { this.set(node.handoff?.stats.failures ?? 0); } });
    new Gauge({ name: 'fog_storage_handoff_recovered_keys', help: 'Entries partition copies took from a reconciled replica because the paged replica lacked them, since start.', registers: [reg], collect() { this.set(node.handoff?.stats.keysRecovered ?? 0); } });
    new Gauge({
      name: 'fog_storage_handoff_sources', help: 'Sources used by completed partition copies since start, by role: paged (read whole) or reconciled (compared by digest).',
      labelNames: ['role'] as const, registers: [reg],
      collect() {
        this.set({ role: 'paged' }, node.handoff?.stats.sourcesPaged ?? 0);
        this.set({ role: 'reconciled' }, node.handoff?.stats.sourcesReconciled ?? 0);
      },
    });
    new Gauge({ name: 'fog_storage_released_partitions', help: 'Partitions this node was moved off and keeps until their new replicas confirm they hold its data.', registers: [reg], collect() { this.set(node.releasedAtMs.size); } });
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
    let seenBy = { ...engineCounters.appliedBy };
    new Counter({
      name: 'fog_storage_entries_applied_total',
      help: 'Entries stored (newer than what was held), by what brought them: client, repair (read repair), hint, copy, anti_entropy, retire, replay.',
      labelNames: ['source'] as const,
      registers: [reg],
      collect() {
        for (const source of INGEST_SOURCES) this.inc({ source }, engineCounters.appliedBy[source] - seenBy[source]);
        seenBy = { ...engineCounters.appliedBy };
      },
    });
  }
}
