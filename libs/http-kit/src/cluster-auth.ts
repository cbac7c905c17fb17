import type { AxiosInstance, InternalAxiosRequestConfig } from 'axios';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import { Counter, type Registry } from 'prom-client';
import {
  AUTH_HEADERS, CLUSTER_ID_RE, FogError, ReplayGuard, deriveAuthKeys, secretProblem, signConnection, signRequest, signTable, tableSignatureProblem,
  verifyConnection, verifyRequest, type AuthKeys, type AuthProblem, type PartitionTable,
} from '@fog/protocol';

/**
 * One node's side of cluster authentication: signs what it sends, verifies what it receives,
 * and knows the cluster id once a verified table told it. Insecure (no secret): signs nothing,
 * verifies nothing, and says so in `/health`.
 */
export class ClusterAuth {
  readonly keys: AuthKeys | null;
  private clusterId = '';
  private readonly replay = new ReplayGuard();
  private refusedCounter: Counter<'reason'> | null = null;

  constructor(secret: string | null, private readonly nowMs: () => number = () => Date.now()) {
    this.keys = secret === null ? null : deriveAuthKeys(secret);
  }

  get insecure(): boolean {
    return this.keys === null;
  }

  get cluster(): string {
    return this.clusterId;
  }

  /** Take the cluster id (from a verified table or this node's saved state); never changes once set. */
  learnCluster(id: string | undefined): void {
    if (!this.clusterId && id && CLUSTER_ID_RE.test(id)) this.clusterId = id;
  }

  private report: ((reason: string, message: string) => void) | null = null;

  /** Count refusals in `fog_<role>_auth_refused_total{reason}`, and tell `report` (a rate-limited log line). */
  registerMetrics(registry: Registry, role: string, report?: (reason: string, message: string) => void): void {
    this.report = report ?? null;
    this.refusedCounter = new Counter({
      name: `fog_${role}_auth_refused_total`,
      help: 'Internal or admin requests, binary connections and tables refused by cluster authentication, by reason: missing, malformed, clock_skew, replay, replay_cache_full, bad_signature, wrong_cluster, unsigned_table.',
      labelNames: ['reason'] as const,
      registers: [registry],
    });
  }

  countRefusal(reason: string, message = ''): void {
    this.refusedCounter?.inc({ reason });
    this.report?.(reason, message);
  }

  private nonce(): string {
    return randomBytes(12).toString('base64url');
  }

  /** Headers that authenticate a request (none when insecure). */
  headersFor(method: string, path: string, body: Buffer | string): Record<string, string> {
    if (!this.keys) return {};
    const headers: Record<string, string> = { [AUTH_HEADERS.auth]: signRequest(this.keys, { method, path, body, cluster: this.clusterId }, this.nowMs(), this.nonce()) };
    if (this.clusterId) headers[AUTH_HEADERS.cluster] = this.clusterId;
    return headers;
  }

  /** Why a received request is not authentic (null: it is, or this node is insecure). Counted. */
  check(method: string, path: string, headers: http.IncomingHttpHeaders, body: Buffer): AuthProblem | null {
    if (!this.keys) return null;
    const cluster = typeof headers[AUTH_HEADERS.cluster] === 'string' ? (headers[AUTH_HEADERS.cluster] as string) : '';
    const auth = headers[AUTH_HEADERS.auth];
    const problem = verifyRequest(this.keys, typeof auth === 'string' ? auth : undefined, { method, path, body, cluster }, this.clusterId, this.nowMs(), this.replay);
    if (problem) this.countRefusal(problem.reason, problem.message);
    return problem;
  }

  /** The opening line of a binary connection (empty when insecure). */
  connectionLine(): string {
    return this.keys ? signConnection(this.keys, this.clusterId, this.nowMs(), this.nonce()) : '';
  }

  checkConnection(line: string): AuthProblem | null {
    if (!this.keys) return null;
    const problem = verifyConnection(this.keys, line, this.clusterId, this.nowMs(), this.replay);
    if (problem) this.countRefusal(problem.reason, problem.message);
    return problem;
  }

  /** Sign a table the controller publishes (no-op when insecure). */
  sign(table: PartitionTable): PartitionTable {
    if (this.keys) table.sig = signTable(this.keys, table);
    return table;
  }

  /**
   * Why a table may not be adopted on authentication grounds (null: it may): unsigned or
   * wrongly signed, or of another cluster than the one this node belongs to. Counted.
   */
  tableProblem(table: PartitionTable): string | null {
    if (!this.keys) return null;
    const sigProblem = tableSignatureProblem(this.keys, table);
    if (sigProblem) {
      this.countRefusal(table.sig === undefined ? 'unsigned_table' : 'bad_signature', sigProblem);
      return sigProblem;
    }
    if (this.clusterId && table.cluster !== this.clusterId) {
      const message = `the table belongs to cluster ${table.cluster ?? '(none)'}; this node belongs to cluster ${this.clusterId}`;
      this.countRefusal('wrong_cluster', message);
      return message;
    }
    return null;
  }

  /** Sign every request an axios instance sends (bodies are serialized here, so the signature covers the bytes sent). */
  signAxios(instance: AxiosInstance): AxiosInstance {
    if (!this.keys) return instance;
    instance.interceptors.request.use((config: InternalAxiosRequestConfig) => {
      let body: Buffer | string = '';
      if (config.data !== undefined && config.data !== null) {
        if (typeof config.data === 'string' || Buffer.isBuffer(config.data)) body = config.data;
        else {
          body = JSON.stringify(config.data);
          config.headers.set('content-type', 'application/json');
        }
        config.data = body;
      }
      const url = new URL(axiosUrl(instance, config), 'http://placeholder');
      let path = url.pathname + url.search;
      if (config.params && typeof config.params === 'object') {
        // Serialize the query here so the path signed is the path sent.
        const search = new URLSearchParams(url.search);
        for (const [k, v] of Object.entries(config.params as Record<string, unknown>)) if (v !== undefined && v !== null) search.append(k, String(v));
        const q = search.toString();
        path = url.pathname + (q ? `?${q}` : '');
        config.url = axiosUrlWithPath(instance, config, path);
        config.params = undefined;
      }
      for (const [k, v] of Object.entries(this.headersFor((config.method ?? 'get').toUpperCase(), path, body))) config.headers.set(k, v);
      return config;
    });
    return instance;
  }
}

function axiosUrl(instance: AxiosInstance, config: InternalAxiosRequestConfig): string {
  const base = config.baseURL ?? instance.defaults.baseURL ?? '';
  const url = config.url ?? '';
  return /^https?:\/\//.test(url) ? url : base.replace(/\/+$/, '') + url;
}

function axiosUrlWithPath(instance: AxiosInstance, config: InternalAxiosRequestConfig, path: string): string {
  const url = config.url ?? '';
  if (/^https?:\/\//.test(url)) {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${path}`;
  }
  return path;
}

/** Where a node's cluster secret comes from: a file, or FOG_CLUSTER_SECRET. */
export interface SecretSource {
  clusterSecretFile?: string;
  /** The secret itself (the FOG_CLUSTER_SECRET environment variable). */
  clusterSecret?: string;
  insecure?: boolean;
}

/**
 * The secret a node runs with, or null for an explicitly insecure node. Throws (with a message
 * for the operator) when there is no secret and no --insecure, or the secret is unusable.
 */
export function loadClusterSecret(src: SecretSource): string | null {
  let secret: string | undefined;
  if (src.clusterSecretFile !== undefined) {
    try {
      secret = readFileSync(src.clusterSecretFile, 'utf8');
    } catch (err) {
      throw new Error(`cannot read --cluster-secret-file ${src.clusterSecretFile}: ${(err as Error).message}`);
    }
  } else if (src.clusterSecret !== undefined && src.clusterSecret !== '') secret = src.clusterSecret;
  if (secret === undefined) {
    if (src.insecure) return null;
    throw new Error('no cluster secret: give --cluster-secret-file PATH or FOG_CLUSTER_SECRET (the same on every node of the cluster), or --insecure to run with open internal routes (see docs/security.md)');
  }
  if (src.insecure) throw new Error('--insecure and a cluster secret exclude each other');
  const problem = secretProblem(secret);
  if (problem) throw new Error(problem);
  return secret.trim();
}

/** The FogError answering an authentication problem. */
export function authError(problem: AuthProblem): FogError {
  const code = problem.status === 403 ? 'FOG_ERR_WRONG_CLUSTER' : problem.status === 503 ? 'FOG_ERR_AUTH_BUSY' : 'FOG_ERR_UNAUTHENTICATED';
  return new FogError(code, problem.message, { reason: problem.reason });
}
