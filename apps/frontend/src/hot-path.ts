import type http from 'node:http';
import querystring from 'node:querystring';
import type { Counter, Histogram } from 'prom-client';
import { afterParam, formatBatchResults, parseBatchRequest, parsePreconditions, replaceIf, runBatch, ttlHeader, ttlParam, type Coordinator } from '@fog/coordinator';
import type { HttpMetrics, Logger } from '@fog/http-kit';
import { ORIGINAL_VALUE_TWICE, originalErrorLine } from './original-errors';
import {
  FogError, HEADERS, checkKey, formatVersion, resolveConsistency, type BatchResponse, type Limits, type PartitionTable,
  type Version, type WriteResponse,
} from '@fog/protocol';

/**
 * The client routes that carry the load, answered on bare node:http: the original API
 * (/get/, /set/), GET|PUT|DELETE /v1/kv/{key} and POST /v1/batch. Express costs several
 * times the CPU of node:http per request, and every client request pays it once, so these
 * routes skip it. Behaviour, errors and limits are those of the Express routes (a test sends
 * the same requests to both and compares the answers); anything unusual — a HEAD, a
 * conditional GET, a compressed body, another charset, a path Express would match only
 * case-insensitively — is left to Express, which stays the reference for the other routes.
 *
 * Nothing is allocated per request that could be shared: constant headers and bodies are
 * built once, metric children are bound once per (operation, status), bodies are read by
 * shared listeners into one state object, and nothing is logged unless a request fails.
 */

export interface HotPathDeps {
  coordinator: Coordinator;
  limits: Limits;
  table: () => PartitionTable | null;
  metrics: HttpMetrics;
  log: Logger;
  /** Told the key of every write answered here (watches of it wake at once). */
  onWrite?: (key: string) => void;
}

const enum Route {
  OriginalGet,
  OriginalSet,
  KvGet,
  KvPut,
  KvDelete,
  Batch,
}

const OP_NAMES = ['get', 'set', 'kv_get', 'kv_put', 'kv_delete', 'batch'] as const;
/** What a log line names for each route: the method and the route pattern, never the path (it holds the key). */
const ROUTE_LOG = [
  { method: 'GET', route: '/get' }, { method: 'GET|POST', route: '/set' }, { method: 'GET', route: '/v1/kv/:key' },
  { method: 'PUT', route: '/v1/kv/:key' }, { method: 'DELETE', route: '/v1/kv/:key' }, { method: 'POST', route: '/v1/batch' },
] as const;

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';
const OCTETS = 'application/octet-stream';
const OK_BODY = Buffer.from('OK\n');
const NOT_FOUND_BODY = Buffer.from('FOG_ERR_NOT_FOUND: no such key\n');
const NOT_FOUND_HEADERS = { 'Content-Type': TEXT, 'Content-Length': NOT_FOUND_BODY.length };
const EMPTY_QUERY: querystring.ParsedUrlQuery = Object.freeze(Object.create(null) as querystring.ParsedUrlQuery);
const EMPTY = Buffer.alloc(0);
const KV_PREFIX = '/v1/kv/';
const JSON_WHITESPACE = ' \t\n\r';
const HAS_CHARSET_RE = /charset/i;
const UTF8_CHARSET_RE = /charset="?utf-8"?\s*(;|$)/i;

/** What a request with a body carries until the body has arrived (one object per request). */
interface BodyState {
  hot: HotPath;
  res: http.ServerResponse;
  route: Route;
  key: string;
  query: querystring.ParsedUrlQuery;
  startMs: number;
  limit: number;
  size: number;
  tooLarge: boolean;
  chunks: Buffer[];
}

const BODY = Symbol('fogBody');
type BodyRequest = http.IncomingMessage & { [BODY]?: BodyState };

function onBodyData(this: BodyRequest, chunk: Buffer): void {
  const s = this[BODY]!;
  s.size += chunk.length;
  if (s.size > s.limit) s.tooLarge = true;
  // Past the limit the rest is read and dropped, so that the answer can be sent and the
  // connection kept (as body-parser does).
  else s.chunks.push(chunk);
}

function onBodyEnd(this: BodyRequest): void {
  const s = this[BODY]!;
  this[BODY] = undefined;
  s.hot.bodyDone(this, s);
}

function onBodyError(this: BodyRequest): void {
  // The client went away mid-body: nobody is left to answer.
  this[BODY] = undefined;
}

interface Bound {
  requests: ReturnType<Counter<'op' | 'status'>['labels']>;
  latency: ReturnType<Histogram<'op' | 'status'>['labels']>;
}

export class HotPath {
  private readonly coordinator: Coordinator;
  private readonly limits: Limits;
  /** Per route, the metric children bound to each status code seen so far. */
  private readonly bound: Array<Map<number, Bound>> = OP_NAMES.map(() => new Map());

  constructor(private readonly deps: HotPathDeps) {
    this.coordinator = deps.coordinator;
    this.limits = deps.limits;
  }

  /** Answer the request and return true, or return false without touching it (Express answers). */
  handle(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const url = req.url!;
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method;
    let route: Route;
    let key = '';
    if (path === '/get/' || path === '/get') {
      if (method !== 'GET') return false;
      route = Route.OriginalGet;
    } else if (path === '/set/' || path === '/set') {
      if (method === 'GET') route = Route.OriginalSet;
      else if (method === 'POST') route = Route.OriginalSet;
      else return false;
    } else if (path.startsWith(KV_PREFIX)) {
      const raw = path.slice(KV_PREFIX.length);
      if (raw.length === 0 || raw.includes('/')) return false;
      if (raw.includes('%')) {
        try {
          key = decodeURIComponent(raw);
        } catch {
          return false; // Express answers undecodable segments (FOG_ERR_KEY_INVALID)
        }
      } else key = raw;
      if (method === 'GET') {
        // Express answers a conditional GET with 304 when the ETag matches.
        if (req.headers['if-none-match'] !== undefined || req.headers['if-modified-since'] !== undefined) return false;
        route = Route.KvGet;
      } else if (method === 'PUT') route = Route.KvPut;
      else if (method === 'DELETE') route = Route.KvDelete;
      else return false;
    } else if (path === '/v1/batch') {
      if (method !== 'POST') return false;
      const type = req.headers['content-type'];
      if (type !== undefined && HAS_CHARSET_RE.test(type) && !UTF8_CHARSET_RE.test(type)) return false;
      route = Route.Batch;
    } else return false;
    // body-parser inflates compressed bodies: leave those to it.
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;

    const startMs = performance.now();
    const query = q < 0 ? EMPTY_QUERY : querystring.parse(url.slice(q + 1));
    switch (route) {
      case Route.OriginalGet:
        void this.originalGet(res, query, startMs);
        return true;
      case Route.KvGet:
        // A watch waits: Express answers it (watches.ts).
        if (query.watch !== undefined) return false;
        void this.kvGet(req, res, key, query, startMs);
        return true;
      case Route.KvDelete:
        void this.kvWrite(req, res, Route.KvDelete, key, query, null, startMs);
        return true;
      case Route.OriginalSet:
        if (method === 'GET') {
          void this.originalSet(res, query, undefined, startMs);
          return true;
        }
        break;
      default:
        break;
    }
    const limit = route === Route.KvPut ? this.limits.valueBytesMax : this.limits.requestBodyBytesMax;
    const state: BodyState = { hot: this, res, route, key, query, startMs, limit, size: 0, tooLarge: false, chunks: [] };
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) state.tooLarge = true;
    (req as BodyRequest)[BODY] = state;
    req.on('data', onBodyData);
    req.on('end', onBodyEnd);
    req.on('error', onBodyError);
    return true;
  }

  /** Called once the whole body arrived (shared listener). */
  bodyDone(req: http.IncomingMessage, s: BodyState): void {
    const body = s.chunks.length === 1 ? s.chunks[0] : s.chunks.length === 0 ? EMPTY : Buffer.concat(s.chunks, s.size);
    switch (s.route) {
      case Route.OriginalSet:
        if (s.tooLarge) {
          this.usage(s.res, Route.OriginalSet, 'FOG_ERR_VALUE_TOO_LARGE', `the body is larger than ${this.limits.requestBodyBytesMax} bytes`, s.startMs);
          return;
        }
        void this.originalSet(s.res, s.query, body, s.startMs);
        return;
      case Route.KvPut:
        if (s.tooLarge) {
          const max = this.limits.valueBytesMax;
          this.fail(req, s.res, Route.KvPut, new FogError('FOG_ERR_VALUE_TOO_LARGE', `values are at most ${max} bytes`, { valueBytesMax: max }), s.startMs);
          return;
        }
        void this.kvWrite(req, s.res, Route.KvPut, s.key, s.query, body, s.startMs);
        return;
      case Route.Batch:
        if (s.tooLarge) {
          this.fail(req, s.res, Route.Batch, new FogError('FOG_ERR_BODY_TOO_LARGE', undefined, { limitBytes: this.limits.requestBodyBytesMax }), s.startMs);
          return;
        }
        void this.batch(req, s.res, s.query, body, s.startMs);
        return;
      default:
        throw new Error(`route ${s.route} has no body`);
    }
  }

  // ---- original API: 200 on success, 501 for incorrect usage, 404 for a missing key ----

  private originalKey(res: http.ServerResponse, route: Route, query: querystring.ParsedUrlQuery, startMs: number): string | null {
    const key = query.key;
    if (Array.isArray(key)) {
      this.usage(res, route, 'FOG_ERR_BAD_REQUEST', 'give key once', startMs);
      return null;
    }
    const bad = checkKey(key, this.limits.keyBytesMax);
    if (bad) {
      this.usage(res, route, bad, new FogError(bad).message, startMs);
      return null;
    }
    return key as string;
  }

  private async originalGet(res: http.ServerResponse, query: querystring.ParsedUrlQuery, startMs: number): Promise<void> {
    try {
      const key = this.originalKey(res, Route.OriginalGet, query, startMs);
      if (key === null) return;
      const result = await this.coordinator.read(key, resolveConsistency(undefined, this.redundancy())!);
      if (!result.entry || result.entry.value === null) {
        res.writeHead(404, NOT_FOUND_HEADERS).end(NOT_FOUND_BODY);
        this.count(Route.OriginalGet, 404, startMs);
        return;
      }
      const value = result.entry.value;
      const headers: http.OutgoingHttpHeaders = { [HEADERS.version]: formatVersion(result.entry.ver), 'Content-Type': OCTETS, 'Content-Length': value.length };
      const ttl = ttlHeader(result.entry, Date.now());
      if (ttl !== null) headers[HEADERS.ttlMs] = ttl;
      res.writeHead(200, headers).end(value);
      this.count(Route.OriginalGet, 200, startMs);
    } catch (err) {
      this.originalFail(res, Route.OriginalGet, err, startMs);
    }
  }

  private async originalSet(res: http.ServerResponse, query: querystring.ParsedUrlQuery, body: Buffer | undefined, startMs: number): Promise<void> {
    try {
      const key = this.originalKey(res, Route.OriginalSet, query, startMs);
      if (key === null) return;
      const q = query.value;
      let value: Buffer;
      if (typeof q === 'string') {
        if (body !== undefined && body.length > 0) return this.usage(res, Route.OriginalSet, 'FOG_ERR_BAD_REQUEST', ORIGINAL_VALUE_TWICE, startMs);
        value = Buffer.from(q, 'utf8');
      } else if (q !== undefined) return this.usage(res, Route.OriginalSet, 'FOG_ERR_BAD_REQUEST', 'give value once', startMs);
      else if (body !== undefined) value = body;
      else return this.usage(res, Route.OriginalSet, 'FOG_ERR_VALUE_MISSING', 'give value=V in the query string or POST the value as the body', startMs);
      if (value.length > this.limits.valueBytesMax) return this.usage(res, Route.OriginalSet, 'FOG_ERR_VALUE_TOO_LARGE', `values are at most ${this.limits.valueBytesMax} bytes`, startMs);
      let ttlMs: number | null;
      try {
        ttlMs = ttlParam(query.ttl);
      } catch (err) {
        return this.usage(res, Route.OriginalSet, 'FOG_ERR_BAD_TTL', (err as Error).message, startMs);
      }
      const result = await this.coordinator.write(key, value, resolveConsistency(undefined, this.redundancy())!, {}, ttlMs);
      res.writeHead(200, { [HEADERS.version]: formatVersion(result.ver), 'Content-Type': TEXT, 'Content-Length': OK_BODY.length }).end(OK_BODY);
      this.count(Route.OriginalSet, 200, startMs);
      this.deps.onWrite?.(key);
    } catch (err) {
      this.originalFail(res, Route.OriginalSet, err, startMs);
    }
  }

  /** The original API answers usage errors with 501 and a one-line text body naming the code. */
  private usage(res: http.ServerResponse, route: Route, code: string, message: string, startMs: number): void {
    const body = `${code}: ${message}\n`;
    res.writeHead(501, { 'Content-Type': TEXT, 'Content-Length': Buffer.byteLength(body) }).end(body);
    this.count(route, 501, startMs);
  }

  /**
   * A failure of an original route past usage checks (no table, quorum not met, timeout, an
   * internal error): answered with its own status in the same one-line text form as the 501s,
   * so that a client of the original API parses one shape of error.
   */
  private originalFail(res: http.ServerResponse, route: Route, err: unknown, startMs: number): void {
    const fog = this.logFailure(route, err);
    if (res.headersSent) return;
    const body = originalErrorLine(fog);
    res.writeHead(fog.status, { 'Content-Type': TEXT, 'Content-Length': Buffer.byteLength(body) }).end(body);
    this.count(route, fog.status, startMs);
  }

  // ---- v1 ----

  private async kvGet(req: http.IncomingMessage, res: http.ServerResponse, key: string, query: querystring.ParsedUrlQuery, startMs: number): Promise<void> {
    let partitionHex: string | null = null;
    try {
      this.checkKeyParam(key);
      const r = this.level(query, 'r');
      const after = afterParam(req.headers[HEADERS.after], query.after);
      const result = await this.coordinator.read(key, r, {}, undefined, after);
      partitionHex = result.partition.toString(16);
      if (!result.entry || result.entry.value === null) throw new FogError('FOG_ERR_NOT_FOUND');
      const v = formatVersion(result.entry.ver);
      const value = result.entry.value;
      const headers: http.OutgoingHttpHeaders = {
        [HEADERS.partition]: partitionHex, [HEADERS.version]: v, ETag: `"${v}"`, [HEADERS.replicasAcked]: String(result.answered),
        'Content-Type': OCTETS, 'Content-Length': value.length,
      };
      const ttl = ttlHeader(result.entry, Date.now());
      if (ttl !== null) headers[HEADERS.ttlMs] = ttl;
      res.writeHead(200, headers).end(value);
      this.count(Route.KvGet, 200, startMs);
    } catch (err) {
      // Express answers a missing key with the partition header already set.
      if (partitionHex !== null) res.setHeader(HEADERS.partition, partitionHex);
      this.fail(null, res, Route.KvGet, err, startMs);
    }
  }

  /** PUT (value) or DELETE (null), conditional when If-Match or If-None-Match is given. */
  private async kvWrite(
    req: http.IncomingMessage, res: http.ServerResponse, route: Route, key: string, query: querystring.ParsedUrlQuery, value: Buffer | null, startMs: number,
  ): Promise<void> {
    try {
      this.checkKeyParam(key);
      const w = this.level(query, 'w');
      const ttlMs = ttlParam(query.ttl, value === null);
      const ifMatch = req.headers['if-match'];
      const ifNoneMatch = req.headers['if-none-match'];
      let ver: Version;
      let partition: number;
      let acks: number;
      let exp: number | undefined;
      if (ifMatch === undefined && ifNoneMatch === undefined) {
        ({ ver, partition, acks, exp } = await this.coordinator.write(key, value, w, {}, ttlMs));
      } else {
        const r = await this.coordinator.conditionalWrite(key, replaceIf(parsePreconditions(ifMatch, ifNoneMatch), value), w, {}, ttlMs);
        ({ ver, exp } = r.entry);
        ({ partition, acks } = r);
      }
      const version = formatVersion(ver);
      const partitionHex = partition.toString(16);
      const body: WriteResponse = value === null ? { key, version, partition, deleted: true } : { key, version, partition };
      if (exp !== undefined) body.expiresAtMs = exp;
      const text = JSON.stringify(body);
      res.writeHead(200, {
        [HEADERS.version]: version, ETag: `"${version}"`, [HEADERS.partition]: partitionHex, [HEADERS.replicasAcked]: String(acks),
        'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(text),
      }).end(text);
      this.count(route, 200, startMs);
      this.deps.onWrite?.(key);
    } catch (err) {
      this.fail(req, res, route, err, startMs);
    }
  }

  private async batch(req: http.IncomingMessage, res: http.ServerResponse, query: querystring.ParsedUrlQuery, body: Buffer, startMs: number): Promise<void> {
    try {
      const parsed = parseJsonBody(body);
      // Everything is checked before anything is sent: a bad op refuses the whole batch.
      const r = this.level(query, 'r');
      const w = this.level(query, 'w');
      const { ops, base64 } = parseBatchRequest(parsed, this.limits);
      const outcomes = await runBatch(this.coordinator, ops, r, w);
      const out: BatchResponse = { results: formatBatchResults(outcomes, base64) };
      const text = JSON.stringify(out);
      res.writeHead(200, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(text) }).end(text);
      this.count(Route.Batch, 200, startMs);
    } catch (err) {
      this.fail(req, res, Route.Batch, err, startMs);
    }
  }

  private checkKeyParam(key: string): void {
    const bad = checkKey(key, this.limits.keyBytesMax);
    if (bad) throw new FogError(bad, `key: ${new FogError(bad).message}`, { keyBytesMax: this.limits.keyBytesMax });
  }

  /** The replicas `r` or `w` asks for, from the query string (default quorum). */
  private level(query: querystring.ParsedUrlQuery, name: 'r' | 'w'): number {
    const text = query[name];
    const k = this.redundancy();
    if (text !== undefined && typeof text !== 'string') throw new FogError('FOG_ERR_BAD_CONSISTENCY', `give ${name} once`);
    const n = resolveConsistency(text, k);
    if (n === null) throw new FogError('FOG_ERR_BAD_CONSISTENCY', `${name}=${text} is not one of 1..${k}, one, quorum, all`, { redundancy: k });
    return n;
  }

  private redundancy(): number {
    const t = this.deps.table();
    if (!t) throw new FogError('FOG_ERR_NO_TABLE');
    return t.redundancy;
  }

  /** A failed request, answered as the Express error middleware answers it (and logged alike). */
  private fail(req: http.IncomingMessage | null, res: http.ServerResponse, route: Route, err: unknown, startMs: number): void {
    const fog = this.logFailure(route, err);
    if (res.headersSent) return;
    const text = JSON.stringify(fog.toBody());
    res.writeHead(fog.status, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(text) }).end(text);
    this.count(route, fog.status, startMs);
  }

  /** The FogError a failure is answered with, logged as the Express error middleware logs it. */
  private logFailure(route: Route, err: unknown): FogError {
    let fog: FogError;
    if (err instanceof FogError) fog = err;
    else {
      const e = err as Error;
      this.deps.log.error('request failed', { ...ROUTE_LOG[route], error: e?.message ?? String(err) });
      fog = new FogError('FOG_ERR_INTERNAL');
    }
    if (fog.status >= 500 && fog.code !== 'FOG_ERR_INTERNAL') this.deps.log.warn('request refused', { ...ROUTE_LOG[route], code: fog.code });
    return fog;
  }

  private count(route: Route, status: number, startMs: number): void {
    const byStatus = this.bound[route];
    let b = byStatus.get(status);
    if (!b) {
      const labels = { op: OP_NAMES[route], status: String(status) };
      b = { requests: this.deps.metrics.requests.labels(labels), latency: this.deps.metrics.latency.labels(labels) };
      byStatus.set(status, b);
    }
    b.requests.inc();
    b.latency.observe((performance.now() - startMs) / 1000);
  }
}


/**
 * A JSON body as body-parser's strict mode reads it: empty is {}, anything but an object or
 * an array at the top is refused, so is text that does not parse.
 */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return {};
  const text = body.toString('utf8');
  let i = 0;
  while (i < text.length && JSON_WHITESPACE.includes(text[i])) i++;
  const first = text[i];
  if (first !== '{' && first !== '[') throw new FogError('FOG_ERR_BAD_REQUEST', 'the body is not valid JSON');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new FogError('FOG_ERR_BAD_REQUEST', 'the body is not valid JSON');
  }
}
