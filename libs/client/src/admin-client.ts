import axios, { type AxiosInstance } from 'axios';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { deriveAuthKeys, signRequest, type AuthKeys, type ClusterView } from '@fog/protocol';
import { FogClientError, errorFromBody } from './client-error';

export const ADMIN_DEFAULTS = {
  /** How long one request to the controller may take. */
  requestTimeoutMs: 5_000,
} as const;

export type { ClusterNodeView, ClusterView, MoveView as ClusterMoveView } from '@fog/protocol';

/** `GET /v1/cluster/plan`: the partitions that would move if a node were added or removed. */
export interface ClusterPlan {
  epoch: number;
  moves: Array<{ partition: number; added: string[]; removed: string[] }>;
  replicasMoved: number;
  /** Replica slots moved, as a fraction of all P*K slots. */
  fractionMoved: number;
}

export type PlanChange = { add: string; zone?: string; weight?: number } | { remove: string };

/** The controller's admin API, for operators and fogctl. */
export class FogAdmin {
  private readonly http: AxiosInstance;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
  readonly url: string;
  private readonly keys: AuthKeys | null;

  /**
   * `clusterSecret`: the cluster's shared secret, which the admin routes (decommission, forget,
   * plan) need; reading the cluster view does not.
   */
  constructor(controller: string, requestTimeoutMs: number = ADMIN_DEFAULTS.requestTimeoutMs, clusterSecret?: string) {
    this.keys = clusterSecret ? deriveAuthKeys(clusterSecret) : null;
    this.url = /^https?:\/\//.test(controller) ? controller.replace(/\/+$/, '') : `http://${controller}`;
    this.http = axios.create({
      baseURL: this.url, httpAgent: this.agent, proxy: false, timeout: requestTimeoutMs, maxRedirects: 0,
      responseType: 'arraybuffer', transformResponse: [(d: unknown) => d], transitional: { clarifyTimeoutError: true },
      validateStatus: () => true,
    });
  }

  cluster(): Promise<ClusterView> {
    return this.request<ClusterView>('GET', '/v1/cluster');
  }

  /** Start moving every partition off a storage node; the answer comes at once (202). */
  decommission(nodeId: string): Promise<Record<string, unknown>> {
    return this.request('POST', `/v1/cluster/nodes/${encodeURIComponent(nodeId)}/decommission`);
  }

  /** A dry run: what adding or removing a storage node would move (nothing changes). */
  plan(change: PlanChange): Promise<ClusterPlan> {
    const q = new URLSearchParams();
    if ('add' in change) {
      q.set('add', change.add);
      if (change.zone !== undefined) q.set('zone', change.zone);
      if (change.weight !== undefined) q.set('weight', String(change.weight));
    } else {
      q.set('remove', change.remove);
    }
    return this.request<ClusterPlan>('GET', `/v1/cluster/plan?${q.toString()}`);
  }

  /**
   * Remove a `left` node, an `out` storage node the table no longer names, or an `out`
   * frontend from the membership; anything else is refused (409 FOG_ERR_NODE_NOT_REMOVABLE).
   */
  forget(nodeId: string): Promise<Record<string, unknown>> {
    return this.request('DELETE', `/v1/cluster/nodes/${encodeURIComponent(nodeId)}`);
  }

  close(): void {
    this.agent.destroy();
  }

  private async request<T>(method: 'GET' | 'POST' | 'DELETE', path: string): Promise<T> {
    let res;
    try {
      // Signed over method, path and (empty) body, as every internal and admin request is.
      const headers = this.keys ? { 'x-fog-auth': signRequest(this.keys, { method, path, body: '', cluster: '' }, Date.now(), randomBytes(12).toString('base64url')) } : {};
      res = await this.http.request<ArrayBuffer>({ method, url: path, headers });
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      const timedOut = code === 'ETIMEDOUT' || code === 'ECONNABORTED';
      throw new FogClientError(timedOut ? 'FOG_CLIENT_TIMEOUT' : 'FOG_CLIENT_UNREACHABLE', `controller ${this.url}: ${timedOut ? 'no answer in time' : code || (err as Error).message}`, undefined, undefined, this.url);
    }
    const body = Buffer.from(res.data);
    if (res.status < 200 || res.status >= 300) throw errorFromBody(res.status, body, this.url);
    try {
      return JSON.parse(body.toString('utf8')) as T;
    } catch {
      throw new FogClientError('FOG_CLIENT_BAD_RESPONSE', `controller ${this.url} answered ${res.status} with a body that is not JSON`, res.status, undefined, this.url);
    }
  }
}
