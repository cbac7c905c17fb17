import axios, { type AxiosInstance } from 'axios';
import http from 'node:http';
import { decodeTableMessage, type ClusterView, type HandoffReport, type NodeLoadReport, type NodeRegistration, type PartitionTable } from '@fog/protocol';

/** Fewest ms between two reports about the same unreachable node. */
export const SUSPECT_REPORT_INTERVAL_MS = 1000;
import type { ClusterAuth } from './cluster-auth';
import { internalHttpsAgent, internalUrl } from './tls';
import type { Logger } from './logger';

export interface ControllerLinkOptions {
  /** host:port of the controller. */
  controller: string;
  self: NodeRegistration;
  log: Logger;
  requestTimeoutMs: number;
  registerRetryIntervalMs: number;
  heartbeatIntervalMs: number;
  /** Called with every table newer than the last one accepted. */
  onTable: (table: PartitionTable) => void;
  /** Epoch currently held, so the link only fetches what is newer. */
  currentEpoch: () => number;
  /** What the node says about its state at each registration (e.g. that it holds no data). */
  registrationExtras?: () => Partial<NodeRegistration>;
  /** The node's load, sent with each heartbeat (keys, bytes, requests served). */
  heartbeatLoad?: () => Promise<NodeLoadReport>;
  /** Signs every request to the controller (absent or insecure: unsigned). */
  auth?: ClusterAuth;
}

/**
 * A node's side of the controller conversation: register (retrying while the controller is
 * away), heartbeat, re-register when the controller no longer knows us, and fetch the table
 * when someone shows us a newer epoch. The controller being away never stops the data path:
 * the node keeps its last table.
 */
export class ControllerLink {
  private readonly http: AxiosInstance;
  private registered = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private fetching: Promise<void> | null = null;
  private readonly lastReport = new Map<string, number>();
  /** This node's state as the controller last reported it. */
  private state: string | null = null;

  constructor(private readonly opts: ControllerLinkOptions) {
    this.http = axios.create({
      baseURL: internalUrl(opts.controller),
      timeout: opts.requestTimeoutMs,
      httpAgent: new http.Agent({ keepAlive: true, maxSockets: 4 }),
      httpsAgent: internalHttpsAgent({ maxSockets: 4 }),
      maxRedirects: 0,
      validateStatus: () => true,
    });
    opts.auth?.signAxios(this.http);
  }

  start(): void {
    void this.loop();
  }

  /** The internal listener's address, once known (a node given --internal-port 0); before start. */
  setInternalAddress(address: string): void {
    this.opts.self.internal = address;
  }

  isRegistered(): boolean {
    return this.registered;
  }

  /** up, down, leaving, left...: as the controller said in its last heartbeat answer. */
  nodeState(): string | null {
    return this.state;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /**
   * Tell the controller a storage node did not answer. At most one report per node per
   * `suspectReportIntervalMs`: a burst of failed requests is one piece of evidence.
   */
  reportUnreachable(nodeId: string, nowMs: number): void {
    const last = this.lastReport.get(nodeId) ?? -Infinity;
    if (nowMs - last < SUSPECT_REPORT_INTERVAL_MS) return;
    this.lastReport.set(nodeId, nowMs);
    this.http.post(`/v1/nodes/${encodeURIComponent(nodeId)}/suspect`, { reporter: this.opts.self.id }).catch(() => undefined);
  }

  /** Report copy progress of a partition this node is pending for. */
  async reportHandoff(report: HandoffReport): Promise<boolean> {
    const res = await this.http.post(`/v1/nodes/${encodeURIComponent(this.opts.self.id)}/handoff`, report);
    if (res.status !== 200) {
      this.opts.log.warn('handoff report refused', { partition: report.partition, status: res.status, code: res.data?.error?.code });
      return false;
    }
    return true;
  }

  /** The controller's cluster view (GET /v1/cluster): membership, health, moves. Throws when it cannot be had. */
  async clusterView(): Promise<ClusterView> {
    const res = await this.http.get('/v1/cluster');
    if (res.status !== 200 || typeof res.data !== 'object' || res.data === null || !Array.isArray(res.data.nodes)) {
      throw new Error(`the controller answered GET /v1/cluster with ${res.status}`);
    }
    return res.data as ClusterView;
  }

  /** Fetch the controller's table (one fetch at a time however many callers ask). */
  refreshTable(): Promise<void> {
    if (!this.fetching) {
      this.fetching = this.fetchTable().finally(() => {
        this.fetching = null;
      });
    }
    return this.fetching;
  }

  private async fetchTable(): Promise<void> {
    try {
      const res = await this.http.get('/v1/table', { params: { format: 'compact' } });
      if (res.status === 200) this.offerTable(res.data, 'fetch');
    } catch (err) {
      this.opts.log.warn('table fetch failed', { error: (err as Error).message });
    }
  }

  /** A whole table from the controller (compact or plain), checked against its checksum. */
  private offerTable(body: unknown, from: string): void {
    if (typeof (body as { epoch?: unknown })?.epoch !== 'number' || (body as { epoch: number }).epoch <= this.opts.currentEpoch()) return;
    try {
      const table = decodeTableMessage(null, body);
      if (table) this.opts.onTable(table);
    } catch (err) {
      this.opts.log.warn('table from the controller refused', { from, error: (err as Error).message });
    }
  }

  private async loop(): Promise<void> {
    if (this.stopped) return;
    let delay = this.opts.heartbeatIntervalMs;
    try {
      if (!this.registered) {
        const res = await this.http.post('/v1/nodes', { ...this.opts.self, epoch: this.opts.currentEpoch(), ...this.opts.registrationExtras?.() });
        if (res.status === 200 || res.status === 201) {
          this.registered = true;
          this.opts.log.info('registered with controller', { controller: this.opts.controller, id: this.opts.self.id });
          if (res.data?.table) this.offerTable(res.data.table, 'registration');
        } else {
          this.opts.log.error('controller refused registration', { status: res.status, code: res.data?.error?.code });
          delay = this.opts.registerRetryIntervalMs;
        }
      } else {
        const load = this.opts.heartbeatLoad ? await this.opts.heartbeatLoad().catch(() => undefined) : undefined;
        const res = await this.http.post(`/v1/nodes/${encodeURIComponent(this.opts.self.id)}/heartbeat`, { epoch: this.opts.currentEpoch(), ...(load ? { load } : {}) });
        if (res.status === 404) {
          // The controller lost us (restarted without state, or we were removed): join again.
          this.registered = false;
          delay = 0;
        } else if (res.status === 200) {
          if (typeof res.data?.epoch === 'number' && res.data.epoch > this.opts.currentEpoch()) void this.refreshTable();
          const state = typeof res.data?.state === 'string' ? (res.data.state as string) : null;
          if (state !== this.state && state === 'left') this.opts.log.info('decommissioned: this node holds no partitions and may be stopped', { id: this.opts.self.id });
          this.state = state;
        }
      }
    } catch (err) {
      if (this.registered) this.opts.log.warn('controller unreachable', { error: (err as Error).message });
      delay = this.registered ? this.opts.heartbeatIntervalMs : this.opts.registerRetryIntervalMs;
    }
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.loop(), delay);
  }
}
