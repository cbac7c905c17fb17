import axios, { type AxiosInstance } from 'axios';
import express, { type Request, type Response } from 'express';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Histogram } from 'prom-client';
import { CLUSTER_VIEW_LIMITS, ClusterObserver, ControllerCore, NodeLoadTracker, selectMoves, validateLoad, type Member } from '@fog/cluster';
import { StateFile } from './state-file';
import {
  ClusterAuth, InflightBytes, RefusalReporter, authenticate, asyncHandler, internalJsonBody, internalUrl, sharedInternalHttpsAgent, tlsInUse, createHttpMetrics, errorMiddleware, listen, metricsMiddleware, mountStandardRoutes, notFoundHandler, op,
  type HttpMetrics, type Logger, type RunningServer,
} from '@fog/http-kit';
import {
  DEFAULT_TIMEOUTS, FogError, HEADERS, INTERNAL_PATHS, NODE_ID_RE, NODE_STATES, PARTITION_HEALTHS, ZONE_RE, tableProblem, type ClusterView, type PartitionTable,
} from '@fog/protocol';
import { STATUS_PAGE_LIMITS, renderStatusPage } from './status-page';
import { TablePublisher } from './table-publisher';
import { PLACEMENT_RUNNER_LIMITS, PlacementRunner } from './placement-runner';

export interface ControllerConfig {
  host: string;
  port: number;
  expectedStorage: number;
  redundancy: number;
  digits: number;
  downAfterMs: number;
  outAfterMs: number;
  suspectAfterMs: number;
  syncPublishIntervalMs: number;
  /** A frontend out this long is forgotten. */
  frontendForgetAfterMs?: number;
  /** How often failure detection runs and accumulated changes become one new table. */
  tickIntervalMs: number;
  /** Where the state file lives; null keeps state in memory only. */
  dataDir: string | null;
  /** A gap between ticks longer than this is the controller's own stall, not the nodes' silence. */
  stallAfterMs: number;
  /** The cluster secret; null or absent: insecure (node and admin routes open). */
  secret?: string | null;
  /** The most the controller's own lateness adds to the silence before a verdict (default: downAfterMs). Unit: ms. */
  latenessCreditMsMax?: number;
  /** The built placement worker (placement-worker.js); null: placements run on the event loop (logged). */
  placementWorkerFile?: string | null;
}

/** Largest body of a registration, report or admin request. Unit: bytes. */
export const CONTROLLER_BODY_BYTES_MAX = 64 * 1024;
/** Bytes of such bodies buffered at once. Unit: bytes. */
export const CONTROLLER_INFLIGHT_BYTES_MAX = 16 * 1024 * 1024;

/**
 * A tick (failure detection, placement, publication) that takes longer than this is logged as a
 * warning: it held up the event loop, heartbeats included. Unit: ms.
 */
export const TICK_SLOW_MS = 250;
/** Largest heartbeat body read (it is `{"epoch":N}`). Unit: bytes. */
export const HEARTBEAT_BODY_BYTES_MAX = 1024;
/**
 * Connections the kernel may queue for the controller before it accepts them: every node holds
 * one, and a thousand nodes (re)connecting at once must not see their SYNs dropped and retried
 * seconds later, which would read as silence. Unit: connections.
 */
export const CONTROLLER_LISTEN_BACKLOG_CONNECTIONS = 4096;
/**
 * How finely the event loop's lateness is sampled (monitorEventLoopDelay's resolution): a delay
 * shorter than this is not seen. Unit: ms.
 */
export const LOOP_DELAY_RESOLUTION_MS = 20;
const HEARTBEAT_PATH_RE = /^\/v1\/nodes\/([^/?]+)\/heartbeat(?:\?.*)?$/;

/** Wires the controller core to HTTP, time and table pushes. */
export class ControllerNode {
  readonly core: ControllerCore;
  private readonly metrics: HttpMetrics;
  private readonly http: AxiosInstance;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  private server: RunningServer | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private hadMoves = false;
  private recovering = false;
  private recoveryRefusedEpoch = -1;
  private readonly stateFile: StateFile | null;
  /** Events, partition health and node load: what the status page and `fogctl status` show. */
  private readonly observer = new ClusterObserver();
  private readonly load = new NodeLoadTracker();
  private readonly refusals: RefusalReporter;
  private readonly publisher: TablePublisher;
  private tickScheduled = false;
  private stopped = false;
  private readonly placement: PlacementRunner;
  /** How late the event loop runs: read and reset at every tick, credited by the failure detector. */
  private readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  private loopUtilization = performance.eventLoopUtilization();
  /** The longest loop delay seen since start. Unit: ms. */
  private loopDelayMaxMs = 0;
  private tickSeconds!: Histogram;
  private placementSeconds!: Histogram<'where' | 'outcome'>;
  private loopDelaySeconds!: Histogram;
  private heartbeats!: Counter<'outcome'>;
  readonly auth: ClusterAuth;

  constructor(private readonly cfg: ControllerConfig, private readonly log: Logger) {
    this.auth = new ClusterAuth(cfg.secret ?? null);
    const coreConfig = {
      // The cluster's id if its first table forms here (saved state or a recovered table keep theirs).
      clusterId: randomBytes(8).toString('hex'),
      expectedStorage: cfg.expectedStorage, redundancy: cfg.redundancy, digits: cfg.digits,
      downAfterMs: cfg.downAfterMs, outAfterMs: cfg.outAfterMs, suspectAfterMs: cfg.suspectAfterMs,
      syncPublishIntervalMs: cfg.syncPublishIntervalMs, frontendForgetAfterMs: cfg.frontendForgetAfterMs, stallAfterMs: cfg.stallAfterMs,
      latenessCreditMsMax: cfg.latenessCreditMsMax,
      // Placements are computed on a worker thread (PlacementRunner) and handed back.
      deferPlacement: true,
    };
    this.placement = new PlacementRunner(cfg.placementWorkerFile ?? null, log);
    if (!cfg.placementWorkerFile) log.warn('no placement worker: placements run on the controller thread and hold its event loop');
    this.stateFile = cfg.dataDir ? new StateFile(cfg.dataDir) : null;
    const saved = this.stateFile?.load() ?? null;
    this.core = saved ? ControllerCore.restore(saved, coreConfig, Date.now()) : new ControllerCore(coreConfig);
    if (saved) log.info('state restored', { file: this.stateFile!.file, epoch: this.core.epoch(), nodes: this.core.listMembers().length, cluster: this.core.clusterId() || null });
    // Signed again with the secret this run has (it may have been rotated while stopped).
    const restored = this.core.table();
    if (restored) delete restored.sig;
    this.metrics = createHttpMetrics('controller');
    this.auth.registerMetrics(this.metrics.registry, 'controller', (reason, message) => this.refusals.refuse('auth', reason, message));
    this.refusals = new RefusalReporter(this.metrics.refused, log);
    this.http = axios.create({ httpAgent: this.agent, httpsAgent: sharedInternalHttpsAgent(), timeout: DEFAULT_TIMEOUTS.controllerRequestTimeoutMs, maxRedirects: 0, validateStatus: () => true, maxBodyLength: Infinity });
    this.auth.signAxios(this.http);
    this.registerMetrics();
    this.publisher = new TablePublisher(log, this.metrics.registry, (method, path, body) => this.auth.headersFor(method, path, body));
  }

  /**
   * The current table, signed: every table that leaves the controller (pushes, registration
   * answers, GET /v1/table) goes through here. Tables are immutable once published, so each
   * epoch is signed once.
   */
  private table(): PartitionTable | null {
    const t = this.core.table();
    this.auth.learnCluster(this.core.clusterId());
    if (t && t.sig === undefined) this.auth.sign(t);
    return t;
  }

  async start(): Promise<number> {
    const app = this.expressApp();
    // Heartbeats are the controller's hot path (a thousand nodes: a thousand a second): they are
    // answered on bare node:http, ahead of Express, which costs several times more per request.
    this.server = await listen((req, res) => {
      const m = req.method === 'POST' ? HEARTBEAT_PATH_RE.exec(req.url ?? '') : null;
      if (m) this.heartbeat(decodeURIComponent(m[1]), req, res);
      else app(req, res);
    }, this.cfg.host, this.cfg.port, CONTROLLER_LISTEN_BACKLOG_CONNECTIONS, tlsInUse());
    if (this.auth.insecure) this.log.warn('running with --insecure: node registrations, reports and admin routes accept requests from anyone who can reach them');
    this.log.info('controller listening', {
      port: this.server.port, cluster: this.core.clusterId() || null, expectedStorage: this.cfg.expectedStorage, redundancy: this.cfg.redundancy, digits: this.cfg.digits,
    });
    this.loopDelay.enable();
    this.ticker = setInterval(() => this.tick(), this.cfg.tickIntervalMs);
    // A restored table is pushed at once: nodes that missed the last one catch up.
    if (this.table()) this.pushTable();
    return this.server.port;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    this.loopDelay.disable();
    await this.placement.close();
    await this.server?.close();
    this.agent.destroy();
    this.publisher.close();
  }

  private heartbeat(id: string, req: http.IncomingMessage, res: http.ServerResponse): void {
    const arrivedMs = Date.now();
    const started = process.hrtime.bigint();
    const chunks: Buffer[] = [];
    let size = 0;
    const answer = (status: number, body: unknown, outcome: string): void => {
      this.heartbeats.inc({ outcome });
      // Counted like every other route (op="heartbeat"), though it bypasses Express.
      const labels = { op: 'heartbeat', status: String(status) };
      this.metrics.requests.inc(labels);
      this.metrics.latency.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= HEARTBEAT_BODY_BYTES_MAX) chunks.push(c);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      if (size > HEARTBEAT_BODY_BYTES_MAX) return answer(413, new FogError('FOG_ERR_BODY_TOO_LARGE').toBody(), 'bad');
      try {
        authenticate(this.auth, req, Buffer.concat(chunks));
      } catch (err) {
        this.refusals.refuse('heartbeat', 'auth', (err as Error).message);
        return answer((err as FogError).status, (err as FogError).toBody(), 'refused');
      }
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString());
      } catch {
        return answer(400, new FogError('FOG_ERR_BAD_REQUEST', 'heartbeat body must be JSON').toBody(), 'bad');
      }
      const hb = body as { epoch?: unknown; load?: unknown } | null;
      if (typeof hb !== 'object' || hb === null || Array.isArray(hb) || (hb.epoch !== undefined && !(Number.isSafeInteger(hb.epoch) && (hb.epoch as number) >= 0))) {
        return answer(400, new FogError('FOG_ERR_BAD_REQUEST', 'a heartbeat is {"epoch": N} with N the epoch of the table held').toBody(), 'bad');
      }
      let load: ReturnType<typeof validateLoad>;
      try {
        load = validateLoad(hb.load);
      } catch (err) {
        return answer(400, (err as FogError).toBody(), 'bad');
      }
      // Silence is measured from when the heartbeat was read, not from when a tick looks.
      if (!this.core.heartbeat(id, arrivedMs)) return answer(404, new FogError('FOG_ERR_NODE_NOT_FOUND').toBody(), 'unknown');
      if (load) this.load.report(id, load, arrivedMs);
      this.publisher.noteHeld(id, hb.epoch);
      answer(200, { epoch: this.core.epoch(), state: this.core.member(id)!.state }, 'ok');
    });
  }

  /** A recovered table must carry this cluster's signature (insecure: anything passes). */
  private recoveredTableAuthProblem(table: PartitionTable): { message: string } | null {
    const problem = this.auth.tableProblem(table);
    return problem ? { message: problem } : null;
  }

  /** While the controller has no table but registered nodes do, fetch the newest one (one fetch at a time). */
  private maybeRecoverTable(): void {
    const from = this.core.recoveryCandidate();
    if (!from || this.recovering || from.epoch === this.recoveryRefusedEpoch) return;
    this.recovering = true;
    this.http.get(internalUrl(from.address, INTERNAL_PATHS.table)).then(
      (res) => {
        const table = res.data as PartitionTable;
        // The node's claim to hold a table came with its registration: check what it sends
        // as strictly as a node checks a pushed table before adopting any of it.
        const problem = res.status === 200 ? (tableProblem(table, null) ?? this.recoveredTableAuthProblem(table)) : null;
        if (res.status !== 200 || problem) {
          // A malformed table stays malformed: said once, not at every tick.
          if (problem) this.recoveryRefusedEpoch = from.epoch;
          this.log.warn('table recovery failed', { from: from.id, status: res.status, problem: problem?.message ?? null });
          return;
        }
        try {
          this.core.recoverTable(table, Date.now());
          this.log.warn('controller state recovered from a node: it had no saved state (start it with --data-dir to keep it)', { from: from.id, epoch: table.epoch });
          this.persist();
        } catch (err) {
          // Said once per table: retrying every tick cannot fix flags that contradict the cluster.
          this.recoveryRefusedEpoch = from.epoch;
          this.log.error('cannot adopt the cluster\'s table; fix the flags and restart', { from: from.id, error: (err as Error).message });
        }
      },
      (err: Error) => this.log.warn('table recovery failed', { from: from.id, error: err.message }),
    ).finally(() => {
      this.recovering = false;
    });
  }

  /**
   * A change a request asked for (a join, a decommission) is planned right after the answer is
   * sent, off the request path: the answer goes out first, and nothing else arriving meanwhile
   * waits for the placement inside a request.
   */
  private scheduleTick(): void {
    if (this.tickScheduled || !this.core.hasPendingChanges()) return;
    this.tickScheduled = true;
    setImmediate(() => {
      this.tickScheduled = false;
      this.tick();
    });
  }

  private tick(): void {
    const started = performance.now();
    try {
      this.tickOnce();
    } finally {
      const ms = performance.now() - started;
      this.tickSeconds.observe(ms / 1000);
      if (ms > TICK_SLOW_MS) this.log.warn('slow controller tick', { ms: Math.round(ms), epoch: this.core.epoch(), ...this.tickParts });
    }
  }

  /** Where the last tick's time went (shown with a slow tick). Unit: ms. */
  private tickParts = { coreMs: 0, publishMs: 0, observeMs: 0 };

  private tickOnce(): void {
    this.maybeRecoverTable();
    const before = new Map(this.core.listMembers().map((m) => [m.id, m.state]));
    const t0 = performance.now();
    const nowMs = Date.now();
    const published = this.core.tick(nowMs, this.takeLoopDelayMs(), this.takeLoopBusyFraction());
    const t1 = performance.now();
    const after = new Set(this.core.listMembers().map((m) => m.id));
    const forgotten = [...before.keys()].filter((id) => !after.has(id));
    for (const id of forgotten) this.log.info('frontend forgotten: out longer than --frontend-forget-after-ms', { node: id });
    if (forgotten.length && !published) this.persist();
    const moves = this.core.listMoves().length;
    if (this.hadMoves && moves === 0) this.log.info('all moves complete', { epoch: this.core.epoch() });
    this.hadMoves = moves > 0;
    for (const m of this.core.listMembers()) {
      const was = before.get(m.id);
      if (was === m.state) continue;
      // A verdict says how long the node was silent and how much the controller's own lateness added.
      const verdict = m.state === 'down' || m.state === 'out' ? { silentMs: nowMs - m.lastHeartbeatMs, latenessCreditMs: Math.round(this.core.latenessCreditMs(nowMs)) } : {};
      this.log[m.state === 'up' || m.state === 'left' ? 'info' : 'warn']('node state changed', { node: m.id, role: m.role, from: was, to: m.state, ...verdict });
    }
    const t2 = performance.now();
    if (published) this.afterTableChange();
    const t3 = performance.now();
    this.observe();
    this.tickParts = { coreMs: Math.round(t1 - t0), publishMs: Math.round(t3 - t2), observeMs: Math.round(performance.now() - t3) };
    this.dispatchPlan();
  }

  /** How much of the time since the last call the event loop was busy, 0..1 (event-loop utilization). */
  private takeLoopBusyFraction(): number {
    const now = performance.eventLoopUtilization();
    const since = performance.eventLoopUtilization(now, this.loopUtilization);
    this.loopUtilization = now;
    return since.utilization;
  }

  /** The longest event-loop delay since the last call (the sampling interval taken off). Unit: ms. */
  private takeLoopDelayMs(): number {
    const ms = this.loopDelay.count > 0 ? Math.max(0, this.loopDelay.max / 1e6 - LOOP_DELAY_RESOLUTION_MS) : 0;
    this.loopDelay.reset();
    this.loopDelayMaxMs = Math.max(this.loopDelayMaxMs, ms);
    this.loopDelaySeconds.observe(ms / 1000);
    return ms;
  }

  /**
   * A placement the core asked for goes to the worker thread; its result comes back on a later
   * turn and is applied then (or dropped, when the membership changed so that it no longer
   * fits: the core asks again at the next tick).
   */
  private dispatchPlan(): void {
    const req = this.core.takePlanRequest();
    if (!req) return;
    this.log.debug('placement started', { plan: req.id, first: req.first, nodes: req.input.nodes.length, partitions: req.input.partitions });
    this.placement.run(req.input).then(
      (run) => {
        if (this.stopped) return;
        const before = this.core.epoch();
        const applyStarted = performance.now();
        const done = this.core.completePlan(req.id, run.placement, Date.now());
        if (this.core.epoch() !== before) this.afterTableChange();
        const applyMs = performance.now() - applyStarted;
        this.placementSeconds.observe({ where: run.where, outcome: done.outcome }, run.wallMs / 1000);
        // ms: request to result; ownThreadMs: what the event loop spent (input encoding, result
        // decoding); applyMs: making it the target (and publishing a first table).
        const fields = {
          plan: req.id, first: req.first, ms: Math.round(run.wallMs), ownThreadMs: Math.round(run.ownThreadMs), applyMs: Math.round(applyMs), where: run.where, outcome: done.outcome, epoch: this.core.epoch(),
        };
        if (run.wallMs > PLACEMENT_RUNNER_LIMITS.planWarnMs) this.log.warn('slow placement', { ...fields, warnMs: PLACEMENT_RUNNER_LIMITS.planWarnMs });
        else this.log.info(done.outcome === 'applied' ? 'placement computed' : 'placement dropped: the membership changed while it was computed', fields);
        // The new target (or the plan owed again) is published by a tick right away, not at the next interval.
        this.scheduleTick();
      },
      (err: Error) => {
        if (this.stopped) return;
        // The placement failed on the controller's own thread too: an assertion, as it would
        // have been inside a tick before. Serving on without placements would hide it.
        this.log.error('placement failed; stopping', { plan: req.id, error: err.message });
        process.exit(1);
      },
    ).catch((err: Error) => {
      // A table that fails its assertions when the placement is applied: crash loudly.
      this.log.error('applying a placement failed; stopping', { plan: req.id, error: err.message, stack: err.stack ?? null });
      process.exit(1);
    });
  }

  /** Record what changed since the last look; a change of partition health is a warning. */
  private observe(): void {
    const { healthChange } = this.observer.observe(Date.now(), {
      members: this.core.listMembers(), table: this.core.table(), movesPending: this.core.movesPendingCount(),
    });
    if (healthChange) {
      this.log.warn('partition health changed', {
        epoch: this.core.epoch(), redundancy: this.cfg.redundancy, ...healthChange.to, noneUp: healthChange.noneUp,
        ...(healthChange.from ? { healthyBefore: healthChange.from.healthy, underReplicatedBefore: healthChange.from.underReplicated, unavailableBefore: healthChange.from.unavailable } : {}),
      });
    }
  }

  /** Persist first, then tell the nodes: a pushed epoch is never one a restart would forget. */
  private afterTableChange(): void {
    this.persist();
    const t = this.core.table()!;
    const pending = t.partitions.reduce((n, e) => n + e.pending.length, 0);
    this.log.info('table published', { epoch: t.epoch, pendingReplicas: pending });
    this.pushTable();
  }

  private persist(): void {
    if (!this.stateFile) return;
    try {
      this.stateFile.save(this.core.snapshot());
    } catch (err) {
      // Serving on with state the disk does not have would break the restart promise silently.
      this.log.error('cannot save controller state; stopping', { file: this.stateFile.file, error: (err as Error).message });
      process.exit(1);
    }
  }

  /**
   * Push the current table to every registered node, as a delta where the node holds the epoch
   * before. Failures are logged: heartbeats carry the epoch, so a missed push is caught up by a
   * fetch.
   */
  private pushTable(): void {
    const table = this.table();
    if (!table) return;
    this.publisher.push(table, this.core.listMembers().filter((m) => m.state !== 'out'));
  }

  private expressApp(): express.Express {
    const app = express();
    app.disable('x-powered-by');
    app.use(metricsMiddleware(this.metrics));
    mountStandardRoutes(app, this.metrics, () => ({
      role: 'controller', epoch: this.core.epoch(), cluster: this.core.clusterId() || null, internalAuth: this.auth.insecure ? 'open (--insecure)' : 'cluster secret',
    }), () => (this.core.table() ? [] : ['no_table']));
    // Node registrations and reports, and the admin routes (decommission, forget, plan), need
    // a request signed with the cluster secret; reading the table and the cluster view does not.
    app.use(['/v1/nodes', '/v1/cluster/nodes', '/v1/cluster/plan'], internalJsonBody({
      bodyBytesMax: CONTROLLER_BODY_BYTES_MAX, inflight: new InflightBytes(CONTROLLER_INFLIGHT_BYTES_MAX),
      refused: (reason) => this.refusals.refuse('admin', reason), auth: this.auth,
    }));
    app.use('/v1', express.json({ limit: '64kb' }));
    app.post('/v1/nodes', op('register'), (req, res) => {
      const epochBefore = this.core.epoch();
      let registered: ReturnType<ControllerCore['register']>;
      try {
        registered = this.core.register(req.body, Date.now());
      } catch (err) {
        if (err instanceof FogError && err.code === 'FOG_ERR_CLUSTER_MISMATCH') {
          const reason = (err.details?.reason as string | undefined) ?? 'cluster_mismatch';
          this.refusals.refuse('register', reason, err.message);
        }
        throw err;
      }
      const { member, previousAddress } = registered;
      if (previousAddress) this.log.warn('node id moved to another address (its old node was not alive)', { node: member.id, from: previousAddress, to: member.address, oldState: member.state });
      this.log.info('node registered', { node: member.id, role: member.role, address: member.address, zone: member.zone, empty: req.body?.empty === true });
      // Most changes wait for the tick; the first table, and a returning node that lost its
      // data, are published at once. Persisted either way.
      if (this.core.epoch() !== epochBefore) this.afterTableChange();
      else this.persist();
      this.observe();
      const table = this.table();
      // The registering node gets the whole table in compact form (it is new or restarting).
      const body = `{"node":${JSON.stringify(publicMember(member))},"table":${table ? this.publisher.compactBody(table).toString() : 'null'}}`;
      res.status(200).set(HEADERS.epoch, String(this.core.epoch())).type('json').send(body);
      this.scheduleTick();
    });
    app.post('/v1/nodes/:id/suspect', op('suspect'), (req, res) => {
      const reporter = (req.body as { reporter?: unknown } | undefined)?.reporter;
      if (typeof reporter !== 'string' || !NODE_ID_RE.test(reporter)) throw new FogError('FOG_ERR_BAD_REQUEST', 'a report names its reporter: {"reporter": NODE_ID}');
      if (!this.core.member(req.params.id as string)) throw new FogError('FOG_ERR_NODE_NOT_FOUND');
      const marked = this.core.suspect(req.params.id as string, Date.now());
      if (marked) this.log.warn('node suspected down on a frontend report', { node: req.params.id as string, reporter });
      res.json({ marked });
    });
    app.post('/v1/nodes/:id/handoff', op('handoff'), (req, res) => {
      let move: ReturnType<ControllerCore['handoff']>;
      try {
        move = this.core.handoff(req.params.id as string, req.body, Date.now());
      } catch (err) {
        const reason = err instanceof FogError ? (err.details?.reason as string | undefined) : undefined;
        if (reason) {
          this.refusals.refuse('handoff', reason, (err as Error).message);
        }
        throw err;
      }
      // Persist before answering: the node stops reporting once told its copy was accepted, and a
      // restart that forgot the acceptance would leave the replica pending.
      if (move.done) this.persist();
      if (move.done) this.log.debug('partition copy complete', { node: move.node, partition: move.partition, keys: move.keysCopied, bytes: move.bytesCopied });
      res.json({ move });
    });
    app.post('/v1/cluster/nodes/:id/decommission', op('decommission'), (req, res) => {
      const m = this.core.decommission(req.params.id as string, Date.now());
      this.persist();
      this.observe();
      this.log.info('decommission started', { node: m.id });
      res.status(202).json({ node: publicMember(m), movesPending: this.core.listMoves().length });
      this.scheduleTick();
    });
    app.delete('/v1/cluster/nodes/:id', op('forget'), (req, res) => {
      const m = this.core.forget(req.params.id as string);
      this.log.info('node forgotten', { node: m.id, role: m.role, state: m.state });
      // A change of the table's node list waits for the tick; the membership is saved now.
      this.persist();
      res.json({ forgotten: publicMember(m) });
    });
    app.get('/v1/cluster/plan', op('plan'), asyncHandler(async (req: Request, res: Response) => {
      const add = typeof req.query.add === 'string' ? req.query.add : undefined;
      const remove = typeof req.query.remove === 'string' ? req.query.remove : undefined;
      if (!add === !remove) throw new FogError('FOG_ERR_BAD_REQUEST', 'give exactly one of add=ID or remove=ID');
      const zone = typeof req.query.zone === 'string' ? req.query.zone : 'default';
      const weight = req.query.weight === undefined ? 1 : Number(req.query.weight);
      if (add && !(NODE_ID_RE.test(add) && ZONE_RE.test(zone) && weight > 0 && weight <= 100)) throw new FogError('FOG_ERR_BAD_REQUEST', 'add needs a valid id, zone and weight in (0, 100]');
      // Computed on the placement thread like a real plan: a dry run at D=4 must not hold the loop either.
      const epoch = this.core.epoch();
      const input = this.core.planInput(add ? { add: { id: add, zone, weight } } : { remove });
      const run = await this.placement.run(input);
      res.json({ epoch, ...this.core.planOutcome(input, run.placement) });
    }));
    app.get('/v1/table', op('table'), (req, res) => {
      const table = this.table();
      if (!table) throw new FogError('FOG_ERR_NO_TABLE', undefined, this.formationProgress());
      const format = req.query.format ?? 'plain';
      if (format !== 'plain' && format !== 'compact') throw new FogError('FOG_ERR_BAD_REQUEST', 'format must be plain or compact');
      res.set(HEADERS.epoch, String(table.epoch));
      if (format === 'compact') res.type('json').send(this.publisher.compactBody(table));
      else res.json(table);
    });
    app.get('/v1/cluster', op('cluster'), (req, res) => {
      res.json(this.clusterView(movesMaxOf(req.query.movesMax)));
    });
    app.get('/', op('status_page'), asyncHandler(async (_req: Request, res: Response) => {
      res.type('html').send(renderStatusPage(this.clusterView(STATUS_PAGE_LIMITS.movesShownMax)));
    }));
    app.use(notFoundHandler());
    app.use(errorMiddleware(this.log));
    return app;
  }

  private formationProgress(): { storageRegistered: number; storageExpected: number } {
    return { storageRegistered: this.core.listMembers().filter((m) => m.role === 'storage').length, storageExpected: this.cfg.expectedStorage };
  }

  clusterView(movesMax: number = CLUSTER_VIEW_LIMITS.clusterViewMovesMax): ClusterView {
    const table = this.core.table();
    const counts = partitionCounts(table);
    const now = Date.now();
    const moves = this.core.moveViews();
    const listed = selectMoves(moves, movesMax);
    return {
      epoch: this.core.epoch(),
      redundancy: this.cfg.redundancy,
      partitionDigits: this.cfg.digits,
      partitions: 16 ** this.cfg.digits,
      formed: table !== null,
      ...this.formationProgress(),
      nodes: this.core.listMembers().map((m) => ({
        ...publicMember(m),
        lastHeartbeatAgoMs: now - m.lastHeartbeatMs,
        partitions: m.role === 'storage' ? counts.get(m.id)?.active ?? 0 : undefined,
        pendingPartitions: m.role === 'storage' ? counts.get(m.id)?.pending ?? 0 : undefined,
        load: this.load.view(m.id),
      })),
      moves: listed,
      movesPending: moves.filter((m) => !m.done).length,
      planning: this.core.planning(),
      movesOmitted: moves.length - listed.length,
      atMs: now,
      health: this.observer.health(table),
      progress: this.core.movesProgress(now),
      events: this.observer.events(),
    };
  }

  private registerMetrics(): void {
    const reg = this.metrics.registry;
    const core = this.core;
    this.heartbeats = new Counter({ name: 'fog_controller_heartbeats_total', help: 'Heartbeats received, by outcome (ok, unknown node, bad request).', labelNames: ['outcome'] as const, registers: [reg] });
    for (const outcome of ['ok', 'unknown', 'bad']) this.heartbeats.inc({ outcome }, 0);
    this.tickSeconds = new Histogram({
      name: 'fog_controller_tick_seconds',
      help: 'How long one controller tick (failure detection, placement, publication) held the event loop.',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [reg],
    });
    this.placementSeconds = new Histogram({
      name: 'fog_controller_placement_seconds',
      help: 'Wall time of one placement, from the request to the result (where: worker thread or in-thread; outcome: applied, stale, unknown).',
      labelNames: ['where', 'outcome'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [reg],
    });
    this.loopDelaySeconds = new Histogram({
      name: 'fog_controller_event_loop_delay_seconds',
      help: 'The longest event-loop delay between two ticks: how late the controller reads heartbeats; credited to their silence.',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [reg],
    });
    const maxDelay = (): number => this.loopDelayMaxMs;
    new Gauge({ name: 'fog_controller_event_loop_delay_max_seconds', help: 'The longest event-loop delay since the controller started.', registers: [reg], collect() { this.set(maxDelay() / 1000); } });
    new Gauge({ name: 'fog_controller_lateness_credit_seconds', help: 'Time added to down-after and out-after now for the controller\'s own lateness.', registers: [reg], collect() { this.set(core.latenessCreditMs(Date.now()) / 1000); } });
    new Gauge({ name: 'fog_controller_table_epoch', help: 'Epoch of the current partition table (0 before the first).', registers: [reg], collect() { this.set(core.epoch()); } });
    new Gauge({
      name: 'fog_controller_nodes',
      help: 'Registered nodes by role and state.',
      labelNames: ['role', 'state'] as const,
      registers: [reg],
      collect() {
        for (const role of ['storage', 'frontend']) for (const state of NODE_STATES) this.set({ role, state }, 0);
        for (const m of core.listMembers()) this.inc({ role: m.role, state: m.state });
      },
    });
    new Gauge({ name: 'fog_controller_moves_pending', help: 'Replicas being copied to a new node (pending in the table).', registers: [reg], collect() { this.set(core.listMoves().filter((m) => !m.done).length); } });
    const observer = this.observer;
    new Gauge({
      name: 'fog_controller_partitions',
      help: 'Partitions by health against K: healthy (K active replicas up), under_replicated (fewer), unavailable (none up).',
      labelNames: ['health'] as const,
      registers: [reg],
      collect() {
        const h = observer.health(core.table());
        const by = { healthy: h?.healthy ?? 0, under_replicated: h?.underReplicated ?? 0, unavailable: h?.unavailable ?? 0 };
        for (const health of PARTITION_HEALTHS) this.set({ health }, by[health]);
      },
    });
    new Gauge({ name: 'fog_controller_moves_eta_seconds', help: 'Estimated seconds until the moves in progress are copied (0 when there are none or the rate is not known yet).', registers: [reg], collect() { this.set((core.movesProgress(Date.now()).etaMs ?? 0) / 1000); } });
    new Gauge({ name: 'fog_controller_moves_rate_bytes_per_second', help: 'Bytes per second the moves in progress copy, measured over the last seconds.', registers: [reg], collect() { this.set(core.movesProgress(Date.now()).rateBytesPerSec ?? 0); } });
    new Gauge({ name: 'fog_controller_moves_remaining_bytes', help: 'Estimated bytes the moves in progress still have to copy (from the sources\' sizes).', registers: [reg], collect() { const p = core.movesProgress(Date.now()); this.set(p.bytesTotal === null ? 0 : Math.max(0, p.bytesTotal - p.bytesCopied)); } });
    new Gauge({ name: 'fog_controller_handoff_copied_bytes', help: 'Bytes copied so far by the moves in progress, as the receiving nodes report.', registers: [reg], collect() { this.set(core.listMoves().reduce((n, m) => n + m.bytesCopied, 0)); } });
    new Gauge({ name: 'fog_controller_handoff_copied_keys', help: 'Keys copied so far by the moves in progress.', registers: [reg], collect() { this.set(core.listMoves().reduce((n, m) => n + m.keysCopied, 0)); } });
  }
}


/** `?movesMax=N`: how many moves a view lists, 0 up to the limit. */
function movesMaxOf(q: unknown): number {
  if (q === undefined) return CLUSTER_VIEW_LIMITS.clusterViewMovesMax;
  const n = typeof q === 'string' && /^\d{1,9}$/.test(q) ? Number(q) : NaN;
  if (!(n >= 0 && n <= CLUSTER_VIEW_LIMITS.clusterViewMovesMax)) {
    throw new FogError('FOG_ERR_BAD_REQUEST', `movesMax must be a whole number from 0 to ${CLUSTER_VIEW_LIMITS.clusterViewMovesMax}`, { limit: CLUSTER_VIEW_LIMITS.clusterViewMovesMax });
  }
  return n;
}

function publicMember(m: Member) {
  return { id: m.id, role: m.role, address: m.address, zone: m.zone, weight: m.weight, ...(m.weightBasis ? { weightBasis: m.weightBasis } : {}), state: m.state };
}

function partitionCounts(table: PartitionTable | null): Map<string, { active: number; pending: number }> {
  const out = new Map<string, { active: number; pending: number }>();
  if (!table) return out;
  const get = (id: string) => {
    let c = out.get(id);
    if (!c) out.set(id, (c = { active: 0, pending: 0 }));
    return c;
  };
  for (const e of table.partitions) {
    for (const id of e.replicas) get(id).active++;
    for (const id of e.pending) get(id).pending++;
  }
  return out;
}

