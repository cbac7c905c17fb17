import axios, { type AxiosInstance } from 'axios';
import express, { type Request, type Response } from 'express';
import http from 'node:http';
import { Gauge } from 'prom-client';
import { ControllerCore, type Member } from '@fog/cluster';
import {
  asyncHandler, createHttpMetrics, errorMiddleware, listen, metricsMiddleware, mountStandardRoutes, notFoundHandler, op,
  type HttpMetrics, type Logger, type RunningServer,
} from '@fog/http-kit';
import { DEFAULT_TIMEOUTS, FogError, HEADERS, INTERNAL_PATHS, NODE_STATES, partitionLabel, type PartitionTable } from '@fog/protocol';
import { renderStatusPage } from './status-page';

export interface ControllerConfig {
  host: string;
  port: number;
  expectedStorage: number;
  redundancy: number;
  digits: number;
}

/** Wires the controller core to HTTP, time and table pushes. */
export class ControllerNode {
  readonly core: ControllerCore;
  private readonly metrics: HttpMetrics;
  private readonly http: AxiosInstance;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  private server: RunningServer | null = null;

  constructor(private readonly cfg: ControllerConfig, private readonly log: Logger) {
    this.core = new ControllerCore({ expectedStorage: cfg.expectedStorage, redundancy: cfg.redundancy, digits: cfg.digits });
    this.metrics = createHttpMetrics('controller');
    this.http = axios.create({ httpAgent: this.agent, timeout: DEFAULT_TIMEOUTS.controllerRequestTimeoutMs, maxRedirects: 0, validateStatus: () => true, maxBodyLength: Infinity });
    this.registerMetrics();
  }

  async start(): Promise<number> {
    this.server = await listen(this.expressApp(), this.cfg.host, this.cfg.port);
    this.log.info('controller listening', {
      port: this.server.port, expectedStorage: this.cfg.expectedStorage, redundancy: this.cfg.redundancy, digits: this.cfg.digits,
    });
    return this.server.port;
  }

  async stop(): Promise<void> {
    await this.server?.close();
    this.agent.destroy();
  }

  /** Push the current table to every registered node. Failures are logged: heartbeats carry the epoch, so a missed push is caught up by a fetch. */
  private pushTable(): void {
    const table = this.core.table();
    if (!table) return;
    for (const m of this.core.listMembers()) {
      if (m.state === 'out') continue;
      this.http.put(`http://${m.address}${INTERNAL_PATHS.table}`, table).then(
        (res) => {
          if (res.status !== 200) this.log.warn('table push refused', { node: m.id, status: res.status, epoch: table.epoch });
        },
        (err: Error) => this.log.warn('table push failed', { node: m.id, epoch: table.epoch, error: err.message }),
      );
    }
  }

  private expressApp(): express.Express {
    const app = express();
    app.disable('x-powered-by');
    app.use(metricsMiddleware(this.metrics));
    mountStandardRoutes(app, this.metrics, () => ({ role: 'controller', epoch: this.core.epoch() }));
    app.use('/v1', express.json({ limit: '64kb' }));
    app.post('/v1/nodes', op('register'), (req, res) => {
      const { member, tableChanged } = this.core.register(req.body, Date.now());
      this.log.info('node registered', { node: member.id, role: member.role, address: member.address, zone: member.zone });
      if (tableChanged) {
        this.log.info('table published', { epoch: this.core.epoch() });
        this.pushTable();
      }
      res.status(200).set(HEADERS.epoch, String(this.core.epoch())).json({ node: publicMember(member), table: this.core.table() });
    });
    app.post('/v1/nodes/:id/heartbeat', op('heartbeat'), (req, res) => {
      if (!this.core.heartbeat(req.params.id as string, Date.now())) throw new FogError('FOG_ERR_NODE_NOT_FOUND');
      res.json({ epoch: this.core.epoch() });
    });
    app.get('/v1/table', op('table'), (_req, res) => {
      const table = this.core.table();
      if (!table) throw new FogError('FOG_ERR_NO_TABLE', undefined, this.formationProgress());
      res.set(HEADERS.epoch, String(table.epoch)).json(table);
    });
    app.get('/v1/cluster', op('cluster'), (_req, res) => {
      res.json(this.clusterView());
    });
    app.get('/', op('status_page'), asyncHandler(async (_req: Request, res: Response) => {
      res.type('html').send(renderStatusPage(this.clusterView()));
    }));
    app.use(notFoundHandler());
    app.use(errorMiddleware(this.log));
    return app;
  }

  private formationProgress(): { storageRegistered: number; storageExpected: number } {
    return { storageRegistered: this.core.listMembers().filter((m) => m.role === 'storage').length, storageExpected: this.cfg.expectedStorage };
  }

  clusterView(): ClusterView {
    const table = this.core.table();
    const counts = partitionCounts(table);
    const now = Date.now();
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
      })),
    };
  }

  private registerMetrics(): void {
    const reg = this.metrics.registry;
    const core = this.core;
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
  }
}

export interface ClusterView {
  epoch: number;
  redundancy: number;
  partitionDigits: number;
  partitions: number;
  formed: boolean;
  storageRegistered: number;
  storageExpected: number;
  nodes: Array<ReturnType<typeof publicMember> & { lastHeartbeatAgoMs: number; partitions?: number; pendingPartitions?: number }>;
}

function publicMember(m: Member) {
  return { id: m.id, role: m.role, address: m.address, zone: m.zone, weight: m.weight, state: m.state };
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

export { partitionLabel };
