import axios, { type AxiosInstance, type Method } from 'axios';
import http from 'node:http';
import {
  HEADERS, V1_PATHS, WATCH_LIMITS, type BatchRequestOp, type BatchResponse, type BucketListResponse, type ConsistencyLevel,
  type ErrorBody, type LocateResponse, type RestoreRequestEntry, type RestoreResponse, type ScanResponse, type TopologyResponse, type WriteResponse,
} from '@fog/protocol';
import { FogClientError, errorFromBody } from './client-error';
import { FrontendPool } from './frontend-pool';
import { FogSession } from './fog-session';

export const CLIENT_DEFAULTS = {
  /** How long one HTTP request to a frontend may take before it is abandoned. */
  requestTimeoutMs: 10_000,
  /** Kept-alive sockets per frontend. */
  socketsMaxPerFrontend: 16,
  /** How long a frontend that could not be reached is tried only after the others. */
  frontendDownForMs: 2_000,
  /** Largest answer accepted, bytes (a batch of large values is the biggest). */
  responseBytesMax: 64 * 1024 * 1024,
  /** With discovery on: how often the client asks a frontend for the cluster's frontends again. */
  discoverIntervalMs: 30_000,
} as const;

export interface FogClientOptions {
  /** Frontend addresses: host:port or http://host:port. Requests are spread over them. */
  frontends: string[];
  requestTimeoutMs?: number;
  socketsMaxPerFrontend?: number;
  frontendDownForMs?: number;
  responseBytesMax?: number;
  /** Wall clock, for the failover bookkeeping (tests pass their own). */
  nowMs?: () => number;
  /**
   * Learn the cluster's other frontends from the ones given (GET /v1/topology), before the
   * first request and every discoverIntervalMs after, and spread requests over all of them.
   * One address is then enough to start.
   */
  discover?: boolean;
  discoverIntervalMs?: number;
}

export type Bytes = Buffer | Uint8Array | string;

export interface ReadOptions {
  /** Replicas to read from: 1..K, 'one', 'quorum' (default) or 'all'. */
  r?: ConsistencyLevel;
  /** A receipt (a version a write answered): answer with it or a newer version (x-fog-after). */
  after?: string;
}

export interface WriteOptions {
  /** Replicas that must acknowledge: 1..K, 'one', 'quorum' (default) or 'all'. */
  w?: ConsistencyLevel;
  /** Write only if the stored version is this one ('*': if the key has a value). */
  ifMatch?: string;
  /** '*': write only if the key has no value (create). */
  ifNoneMatch?: '*';
  /** Time to live of the value written, e.g. '30s', '5m' (put and append; see docs/api.md, TTL). */
  ttl?: string;
}

/** What a watch saw: nothing within the wait, or the key's new state (value null: deleted or expired). */
export type WatchResult = { changed: false } | { changed: true; value: StoredValue | null; version?: string };

export interface ScanOptions extends ReadOptions {
  prefix?: string;
  /** The previous page's `next`. */
  after?: string;
  /** Items per page (default 100, at most scanItemsMax). */
  limit?: number;
  /** Names, versions and sizes only: no values. */
  keysOnly?: boolean;
  /** Only this partition (0..16^D-1). */
  partition?: number;
  /** List bucket items too, under their internal keys (bucket U+0001 item). */
  withBucketItems?: boolean;
}

/** A write's answer, with how many replicas acknowledged it (from x-fog-replicas). */
export type WriteResult = WriteResponse & { replicas: number };

export interface StoredValue {
  value: Buffer;
  version: string;
  partition: number;
  /** Milliseconds the value has left to live (from x-fog-ttl-ms); absent when it does not expire. */
  ttlMs?: number;
}

export type ClientBatchOp =
  | { op: 'get'; key: string }
  | { op: 'put'; key: string; value: Bytes; ttl?: string }
  | { op: 'delete'; key: string };

export interface ClientBatchResult {
  op: ClientBatchOp['op'];
  key: string;
  /** What the op alone would have answered: 200, 404, 503, ... */
  status: number;
  version?: string;
  value?: Buffer;
  error?: ErrorBody['error'];
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  frontend: string;
}

/**
 * How a request may be retried on another frontend. connect: only when it surely never
 * reached one (connection refused); any: also after a reset or a timeout, for requests that
 * are safe to repeat (reads, plain puts and deletes, which last-writer-wins makes repeatable).
 * Appends and conditional writes are `connect`: repeating one that was applied would apply it twice.
 */
type RetryMode = 'connect' | 'any';

const NEVER_SENT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

/**
 * Percent-encode a key as one path segment. The keys "." and ".." cannot travel in a path:
 * URL parsers (WHATWG, RFC 3986) resolve them as dot segments even percent-encoded, so the
 * request would name another resource. They are refused here; batch carries them in JSON.
 */
export function encodeKey(key: string): string {
  if (key === '.' || key === '..') {
    throw new FogClientError('FOG_ERR_KEY_INVALID', `the key ${JSON.stringify(key)} cannot be sent in a URL path (clients resolve it as a dot segment); use batch for it`);
  }
  try {
    return encodeURIComponent(key);
  } catch {
    throw new FogClientError('FOG_ERR_KEY_INVALID', 'the key is not well-formed Unicode (a lone surrogate)');
  }
}

function toBuffer(b: Bytes): Buffer {
  return typeof b === 'string' ? Buffer.from(b, 'utf8') : Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function query(params: Record<string, string | number | undefined>): string {
  const parts = Object.entries(params).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

function baseUrl(frontend: string): string {
  return /^https?:\/\//.test(frontend) ? frontend.replace(/\/+$/, '') : `http://${frontend}`;
}

/**
 * A typed client of the v1 API. Spreads requests over the frontends given, fails over to the
 * next when one cannot be reached, keeps connections alive, and throws FogClientError with the
 * server's code. One client per process: it holds a connection pool (call close() at the end).
 */
export class FogClient {
  private readonly http: AxiosInstance;
  private readonly agent: http.Agent;
  private readonly pool: FrontendPool;
  private readonly nowMs: () => number;
  private readonly requestTimeoutMs: number;
  private readonly discoverIntervalMs: number | null;
  private discoveredAtMs = -Infinity;
  private discovering: Promise<void> | null = null;

  constructor(options: FogClientOptions) {
    const o = { ...CLIENT_DEFAULTS, ...options };
    this.discoverIntervalMs = options.discover ? o.discoverIntervalMs : null;
    this.pool = new FrontendPool(options.frontends.map(baseUrl), o.frontendDownForMs);
    this.nowMs = options.nowMs ?? Date.now;
    this.requestTimeoutMs = o.requestTimeoutMs;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: o.socketsMaxPerFrontend });
    this.http = axios.create({
      httpAgent: this.agent,
      proxy: false,
      timeout: o.requestTimeoutMs,
      maxRedirects: 0,
      responseType: 'arraybuffer',
      transformResponse: [(d: unknown) => d],
      transitional: { clarifyTimeoutError: true },
      validateStatus: () => true,
      maxBodyLength: o.responseBytesMax,
      maxContentLength: o.responseBytesMax,
      decompress: false,
    });
  }

  get frontends(): readonly string[] {
    return this.pool.frontends;
  }

  /** The value and its version, or null when the key has none. */
  async get(key: string, opts: ReadOptions = {}): Promise<StoredValue | null> {
    const res = await this.send('GET', `${V1_PATHS.kv}/${encodeKey(key)}${query({ r: opts.r })}`, undefined, opts.after ? { [HEADERS.after]: opts.after } : {}, 'any');
    return this.valueOrNull(res);
  }

  async put(key: string, value: Bytes, opts: WriteOptions = {}): Promise<WriteResult> {
    const res = await this.send('PUT', `${V1_PATHS.kv}/${encodeKey(key)}${query({ w: opts.w, ttl: opts.ttl })}`, toBuffer(value), conditionHeaders(opts), retryOf(opts));
    return this.writeResult(res);
  }

  async delete(key: string, opts: WriteOptions = {}): Promise<WriteResult> {
    const res = await this.send('DELETE', `${V1_PATHS.kv}/${encodeKey(key)}${query({ w: opts.w })}`, undefined, conditionHeaders(opts), retryOf(opts));
    return this.writeResult(res);
  }

  /** Append bytes to the value (creating it); the answer carries the new length. */
  async append(key: string, bytes: Bytes, opts: WriteOptions = {}): Promise<WriteResult> {
    const res = await this.send('POST', `${V1_PATHS.kv}/${encodeKey(key)}/append${query({ w: opts.w, ttl: opts.ttl })}`, toBuffer(bytes), conditionHeaders(opts), 'connect');
    return this.writeResult(res);
  }

  /** Many operations in one request; one result per op, in order (a failed op does not fail the call). */
  async batch(ops: ClientBatchOp[], opts: ReadOptions & { w?: ConsistencyLevel } = {}): Promise<ClientBatchResult[]> {
    const wire: BatchRequestOp[] = ops.map((o) => {
      if (o.op !== 'put') return o;
      const ttl = o.ttl !== undefined ? { ttl: o.ttl } : {};
      return typeof o.value === 'string' ? { op: 'put', key: o.key, value: o.value, ...ttl } : { op: 'put', key: o.key, value: toBuffer(o.value).toString('base64'), encoding: 'base64', ...ttl };
    });
    const body = Buffer.from(JSON.stringify({ ops: wire }), 'utf8');
    const res = await this.send('POST', `${V1_PATHS.batch}${query({ r: opts.r, w: opts.w })}`, body, { 'content-type': 'application/json' }, 'any');
    const parsed = this.json<BatchResponse>(res);
    return parsed.results.map((r) => ({
      op: r.op, key: r.key, status: r.status,
      ...(r.version !== undefined ? { version: r.version } : {}),
      ...(r.value !== undefined ? { value: Buffer.from(r.value, r.encoding === 'base64' ? 'base64' : 'utf8') } : {}),
      ...(r.error !== undefined ? { error: r.error } : {}),
    }));
  }

  /**
   * One page of the keyspace in key order (GET /v1/kv): keys starting with `prefix`, after the
   * cursor `after`; pass the answer's `next` as `after` for the following page (null: the end).
   */
  async scan(opts: ScanOptions = {}): Promise<ScanResponse> {
    const path = `${V1_PATHS.kv}${query({
      prefix: opts.prefix || undefined, after: opts.after, limit: opts.limit, keys: opts.keysOnly ? 'only' : undefined, r: opts.r,
      partition: opts.partition, buckets: opts.withBucketItems ? 'include' : undefined,
    })}`;
    return this.json<ScanResponse>(await this.send('GET', path, undefined, {}, 'any'));
  }

  /** Every item of the keyspace (or under a prefix) in key order, page after page. */
  async *scanAll(opts: Omit<ScanOptions, 'after'> = {}): AsyncGenerator<ScanResponse['items'][number]> {
    let after: string | undefined;
    for (;;) {
      const page = await this.scan({ ...opts, after });
      yield* page.items;
      if (page.next === null) return;
      after = page.next;
    }
  }

  /** The table's shape (epoch, digits, partitions, K) and the frontends of the cluster. */
  async topology(): Promise<TopologyResponse> {
    return this.json<TopologyResponse>(await this.send('GET', V1_PATHS.topology, undefined, {}, 'any'));
  }

  /**
   * Ask a frontend for the cluster's frontends and add them to the ones this client uses.
   * Returns the addresses added. Called by itself with the `discover` option.
   */
  async discoverFrontends(): Promise<string[]> {
    const topo = this.json<TopologyResponse>(await this.sendRaw('GET', V1_PATHS.topology, undefined, {}, 'any'));
    this.discoveredAtMs = this.nowMs();
    return this.pool.add((topo.frontends ?? []).map(baseUrl));
  }

  /** With discovery on, learn the frontends when the list is older than the interval (a failure leaves the list as it is). */
  private async maybeDiscover(): Promise<void> {
    if (this.discoverIntervalMs === null || this.nowMs() - this.discoveredAtMs < this.discoverIntervalMs) return;
    if (!this.discovering) {
      this.discovering = this.discoverFrontends().then(() => undefined, () => {
        // Retry no sooner than the interval: the requests themselves still fail over.
        this.discoveredAtMs = this.nowMs();
      }).finally(() => {
        this.discovering = null;
      });
    }
    await this.discovering;
  }

  /**
   * Write back entries of a backup with their versions (POST /v1/restore): a key written since
   * with a newer version keeps it. One result per entry, in order. Repeating a restore is safe.
   */
  async restore(entries: RestoreRequestEntry[], opts: { w?: ConsistencyLevel } = {}): Promise<RestoreResponse['results']> {
    const body = Buffer.from(JSON.stringify({ entries }), 'utf8');
    return this.json<RestoreResponse>(await this.send('POST', `${V1_PATHS.restore}${query({ w: opts.w })}`, body, { 'content-type': 'application/json' }, 'any')).results;
  }

  /** The partition, epoch and replicas of a key, with why each replica holds it. */
  async locate(key: string): Promise<LocateResponse> {
    return this.json<LocateResponse>(await this.send('GET', `${V1_PATHS.locate}/${encodeKey(key)}`, undefined, {}, 'any'));
  }

  /**
   * Wait until KEY has a version newer than `version` (null: any version), at most `waitMs`
   * (the frontend's default when absent): the new state (value null: deleted or expired, with
   * the version that did it), or changed false when the wait ended first.
   */
  async watch(key: string, version: string | null, opts: { waitMs?: number } = {}): Promise<WatchResult> {
    const wait = opts.waitMs !== undefined ? `${Math.max(0, Math.round(opts.waitMs))}ms` : undefined;
    const waitBudgetMs = (opts.waitMs ?? WATCH_LIMITS.watchWaitMsMax) + this.requestTimeoutMs;
    const res = await this.send('GET', `${V1_PATHS.kv}/${encodeKey(key)}${query({ watch: version ?? '0', wait })}`, undefined, {}, 'any', waitBudgetMs);
    if (res.status === 304) return { changed: false };
    if (res.status === 404) {
      const e = errorFromBody(res.status, res.body, res.frontend);
      if (e.code !== 'FOG_ERR_NOT_FOUND') throw e;
      const v = res.headers[HEADERS.version];
      return v === undefined ? { changed: true, value: null } : { changed: true, value: null, version: v };
    }
    const value = this.valueOrNull(res)!;
    return { changed: true, value, version: value.version };
  }

  /** A session: reads of a key see the session's own writes of it, even at r=1 (see FogSession). */
  session(receiptsMax?: number): FogSession {
    return new FogSession(this, receiptsMax);
  }

  /** Operations on one bucket: its items live together in the bucket's partition. */
  bucket(name: string): FogBucket {
    return new FogBucket(this, name);
  }

  /** Close kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  // ---- plumbing shared with FogBucket ----

  /** @internal */
  async send(
    method: Method, path: string, body: Buffer | undefined, headers: Record<string, string>, retry: RetryMode, timeoutMs?: number,
  ): Promise<RawResponse> {
    await this.maybeDiscover();
    return this.sendRaw(method, path, body, headers, retry, timeoutMs);
  }

  private async sendRaw(
    method: Method, path: string, body: Buffer | undefined, headers: Record<string, string>, retry: RetryMode, timeoutMs?: number,
  ): Promise<RawResponse> {
    const tried: string[] = [];
    let last: FogClientError | null = null;
    for (const frontend of this.pool.order(this.nowMs())) {
      tried.push(frontend);
      try {
        const res = await this.http.request<ArrayBuffer>({
          method, url: `${frontend}${path}`, data: body, ...(timeoutMs !== undefined ? { timeout: timeoutMs } : {}),
          headers: { ...(body !== undefined && !headers['content-type'] ? { 'content-type': 'application/octet-stream' } : {}), ...headers },
        });
        this.pool.markUp(frontend);
        const raw: RawResponse = { status: res.status, headers: flatHeaders(res.headers), body: Buffer.from(res.data), frontend };
        // A frontend without a table yet refused without touching anything: another may have one.
        if (raw.status === 503 && isNoTable(raw.body)) {
          last = errorFromBody(raw.status, raw.body, frontend);
          continue;
        }
        return raw;
      } catch (err) {
        const code = (err as { code?: string }).code ?? '';
        this.pool.markDown(frontend, this.nowMs());
        if (NEVER_SENT.has(code)) {
          last = new FogClientError('FOG_CLIENT_UNREACHABLE', `${frontend}: ${code}`, undefined, undefined, frontend);
          continue;
        }
        const timedOut = code === 'ETIMEDOUT' || code === 'ECONNABORTED';
        last = new FogClientError(
          timedOut ? 'FOG_CLIENT_TIMEOUT' : 'FOG_CLIENT_UNREACHABLE',
          `${method} ${frontend}: ${timedOut ? 'no answer in time' : (err as Error).message}${retry === 'connect' ? ' (the request may have been applied)' : ''}`,
          undefined, undefined, frontend,
        );
        if (retry === 'any') continue;
        throw last;
      }
    }
    if (last && last.code !== 'FOG_CLIENT_UNREACHABLE' && last.code !== 'FOG_CLIENT_TIMEOUT') throw last;
    throw new FogClientError('FOG_CLIENT_UNREACHABLE', `no frontend answered (tried ${tried.join(', ')}): ${last?.message ?? ''}`, undefined, undefined, tried[tried.length - 1]);
  }

  /** @internal */
  json<T>(res: RawResponse): T {
    if (res.status < 200 || res.status >= 300) throw errorFromBody(res.status, res.body, res.frontend);
    try {
      return JSON.parse(res.body.toString('utf8')) as T;
    } catch {
      throw new FogClientError('FOG_CLIENT_BAD_RESPONSE', `${res.frontend} answered ${res.status} with a body that is not JSON`, res.status, undefined, res.frontend);
    }
  }

  /** @internal */
  writeResult(res: RawResponse): WriteResult {
    return { ...this.json<WriteResponse>(res), replicas: Number(res.headers[HEADERS.replicasAcked] ?? 0) };
  }

  /** @internal */
  valueOrNull(res: RawResponse): StoredValue | null {
    if (res.status === 404) {
      const e = errorFromBody(res.status, res.body, res.frontend);
      if (e.code === 'FOG_ERR_NOT_FOUND') return null;
      throw e;
    }
    if (res.status !== 200) throw errorFromBody(res.status, res.body, res.frontend);
    const out: StoredValue = { value: res.body, version: res.headers[HEADERS.version] ?? '', partition: parseInt(res.headers[HEADERS.partition] ?? '-1', 16) };
    const ttl = res.headers[HEADERS.ttlMs];
    if (ttl !== undefined) out.ttlMs = Number(ttl);
    return out;
  }
}

/** A bucket: items placed together in the bucket's partition, listable in pages. */
export class FogBucket {
  constructor(private readonly client: FogClient, readonly name: string) {}

  private path(item: string): string {
    return `${V1_PATHS.buckets}/${encodeKey(this.name)}/items/${encodeKey(item)}`;
  }

  async get(item: string, opts: ReadOptions = {}): Promise<StoredValue | null> {
    return this.client.valueOrNull(await this.client.send('GET', `${this.path(item)}${query({ r: opts.r })}`, undefined, {}, 'any'));
  }

  async put(item: string, value: Bytes, opts: WriteOptions = {}): Promise<WriteResult> {
    return this.client.writeResult(await this.client.send('PUT', `${this.path(item)}${query({ w: opts.w })}`, toBuffer(value), conditionHeaders(opts), retryOf(opts)));
  }

  async delete(item: string, opts: WriteOptions = {}): Promise<WriteResult> {
    return this.client.writeResult(await this.client.send('DELETE', `${this.path(item)}${query({ w: opts.w })}`, undefined, conditionHeaders(opts), retryOf(opts)));
  }

  async append(item: string, bytes: Bytes, opts: WriteOptions = {}): Promise<WriteResult> {
    return this.client.writeResult(await this.client.send('POST', `${this.path(item)}/append${query({ w: opts.w })}`, toBuffer(bytes), conditionHeaders(opts), 'connect'));
  }

  /** One page of item names in order; pass the answer's `next` as `after` for the following page. */
  async list(opts: ReadOptions & { limit?: number; after?: string } = {}): Promise<BucketListResponse> {
    const path = `${V1_PATHS.buckets}/${encodeKey(this.name)}${query({ limit: opts.limit, after: opts.after, r: opts.r })}`;
    return this.client.json(await this.client.send('GET', path, undefined, {}, 'any'));
  }

  /** Every item, page after page. */
  async *items(opts: ReadOptions & { pageSize?: number } = {}): AsyncGenerator<BucketListResponse['items'][number]> {
    let after: string | undefined;
    for (;;) {
      const page = await this.list({ r: opts.r, limit: opts.pageSize, after });
      yield* page.items;
      if (page.next === null) return;
      after = page.next;
    }
  }
}

function conditionHeaders(opts: WriteOptions): Record<string, string> {
  const h: Record<string, string> = {};
  if (opts.ifMatch !== undefined) h['if-match'] = opts.ifMatch === '*' ? '*' : `"${opts.ifMatch}"`;
  if (opts.ifNoneMatch !== undefined) h['if-none-match'] = opts.ifNoneMatch;
  return h;
}

function retryOf(opts: WriteOptions): RetryMode {
  return opts.ifMatch !== undefined || opts.ifNoneMatch !== undefined ? 'connect' : 'any';
}

function flatHeaders(h: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && v !== null) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  return out;
}

function isNoTable(body: Buffer): boolean {
  try {
    return (JSON.parse(body.toString('utf8')) as ErrorBody).error?.code === 'FOG_ERR_NO_TABLE';
  } catch {
    return false;
  }
}
