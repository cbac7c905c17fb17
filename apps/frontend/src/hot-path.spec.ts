import express from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HybridClock } from '@fog/clock';
import { Coordinator, type ReplicaReply, type ReplicaTransport } from '@fog/coordinator';
import { createHttpMetrics, createLogger, errorMiddleware, notFoundHandler } from '@fog/http-kit';
import { DEFAULT_LIMITS, type OpsRequest, type PartitionTable, type WireOp } from '@fog/protocol';
import { ReplicaEngine } from '@fog/storage-core';
import { HotPath, parseJsonBody } from './hot-path';
import { mountOriginalRoutes } from './original-routes';
import { v1Router } from './v1-routes';

const LIMITS = { ...DEFAULT_LIMITS, keyBytesMax: 16, valueBytesMax: 8, batchItemsMax: 3, requestBodyBytesMax: 256 };

/** Three in-process replicas. */
class Replicas implements ReplicaTransport {
  readonly engines = new Map(['a', 'b', 'c'].map((id) => [id, new ReplicaEngine(id)]));
  readonly table: PartitionTable = {
    epoch: 1, digits: 1, redundancy: 3,
    partitions: Array.from({ length: 16 }, () => ({ replicas: ['a', 'b', 'c'], pending: [] })),
    nodes: Object.fromEntries(['a', 'b', 'c'].map((id) => [id, { id, address: id, zone: 'z', weight: 1, state: 'up' as const }])),
  };
  /** While true every replica is unreachable. */
  down = false;
  constructor() {
    for (const e of this.engines.values()) e.offerTable(this.table);
  }
  async send(address: string, epoch: number, op: WireOp): Promise<ReplicaReply> {
    if (this.down) throw new Error('unreachable');
    const res = this.engines.get(address)?.handle({ epoch, ops: [op] } as OpsRequest, Date.now());
    if (!res) throw new Error(`no replica ${address}`);
    return { result: res.results[0], epoch: res.epoch, clock: res.clock };
  }
}

interface Server {
  server: http.Server;
  port: number;
  hotCount: () => Promise<number>;
  replicas: Replicas;
}

/** The frontend's client routes: Express alone (the reference), or behind the hot path. */
async function startFrontend(withHotPath: boolean): Promise<Server> {
  const replicas = new Replicas();
  const coordinator = new Coordinator({
    transport: replicas, clock: new HybridClock(), nowMs: () => Date.now(), random: Math.random, writerId: 'fe-test',
    table: () => replicas.table, refreshTable: async () => undefined,
  });
  const ctx = { coordinator, limits: LIMITS, table: () => replicas.table };
  const log = createLogger('frontend', 'error', () => undefined);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  mountOriginalRoutes(app, ctx);
  app.use('/v1', v1Router(ctx));
  app.use(notFoundHandler());
  app.use(errorMiddleware(log));
  // Only the hot path counts requests here, so the counter says which requests it answered.
  const metrics = createHttpMetrics('frontend');
  const hot = new HotPath({ ...ctx, metrics, log });
  const server = http.createServer((req, res) => {
    if (!withHotPath || !hot.handle(req, res)) app(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const hotCount = async () => (await metrics.requests.get()).values.reduce((s, v) => s + v.value, 0);
  return { server, port: (server.address() as AddressInfo).port, hotCount, replicas };
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One raw request (so that odd paths reach the server as written). */
function send(port: number, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: body === undefined ? headers : { 'content-length': Buffer.byteLength(body), ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const keep = ['content-type', 'content-length', 'etag', 'x-fog-version', 'x-fog-partition', 'x-fog-replicas'];
        const h: Record<string, string> = {};
        for (const k of keep) if (res.headers[k] !== undefined) h[k] = String(res.headers[k]);
        resolve({ status: res.statusCode ?? 0, headers: h, body: Buffer.concat(chunks).toString() });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Versions carry the time they were stamped: the two servers stamp at different moments. */
const normalize = (a: Answer): Answer => {
  const v = (s: string) => s.replace(/\d+\.\d+\.fe-test/g, 'VERSION');
  const headers = Object.fromEntries(Object.entries(a.headers).map(([k, x]) => [k, v(x)]));
  // The length of a JSON body that holds a version varies with the version's digits.
  if (headers['content-type']?.startsWith('application/json')) delete headers['content-length'];
  return { status: a.status, headers, body: v(a.body) };
};

describe('hot path answers as the Express routes do', () => {
  let ref: Server;
  let hot: Server;
  beforeAll(async () => {
    [ref, hot] = await Promise.all([startFrontend(false), startFrontend(true)]);
  });
  afterAll(async () => {
    await Promise.all([ref, hot].map((s) => new Promise((r) => s.server.close(r))));
  });

  // [description, method, path, body, headers, answered by the hot path]
  const cases: Array<[string, string, string, string | undefined, Record<string, string>, boolean]> = [
    ['original set in the query', 'GET', '/set/?key=k1&value=hello', undefined, {}, true],
    ['original get', 'GET', '/get/?key=k1', undefined, {}, true],
    ['original get without the slash', 'GET', '/get?key=k1', undefined, {}, true],
    ['original get of a missing key', 'GET', '/get/?key=nope', undefined, {}, true],
    ['original set by POST body', 'POST', '/set/?key=k2', 'body-v', {}, true],
    ['original get of the posted value', 'GET', '/get/?key=k2', undefined, {}, true],
    ['original: an empty value is a value', 'GET', '/set/?key=empty&value=', undefined, {}, true],
    ['original get of an empty value', 'GET', '/get/?key=empty', undefined, {}, true],
    ['original without a key', 'GET', '/get/', undefined, {}, true],
    ['original with the key twice', 'GET', '/get/?key=a&key=b', undefined, {}, true],
    ['original with a key over the limit', 'GET', `/get/?key=${'k'.repeat(17)}`, undefined, {}, true],
    ['original set without a value', 'GET', '/set/?key=k3', undefined, {}, true],
    ['original set with the value twice', 'GET', '/set/?key=k3&value=1&value=2', undefined, {}, true],
    ['original set of a value over the limit', 'GET', '/set/?key=k3&value=123456789', undefined, {}, true],
    ['original POST over the body limit', 'POST', '/set/?key=k3', 'x'.repeat(300), {}, true],
    ['original POST over the value limit', 'POST', '/set/?key=k3', '123456789', {}, true],
    ['original POST with a value in the query and a body', 'POST', '/set/?key=k3&value=q', 'body', {}, true],
    ['original POST with a value in the query and an empty body', 'POST', '/set/?key=k3&value=q', '', {}, true],
    ['original get after the refused POST', 'GET', '/get/?key=k3', undefined, {}, true],
    ['original with a control character', 'GET', '/get/?key=a%0Ab', undefined, {}, true],
    ['v1 put', 'PUT', '/v1/kv/k4', 'v1-val', {}, true],
    ['v1 get', 'GET', '/v1/kv/k4', undefined, {}, true],
    ['v1 get with r=all', 'GET', '/v1/kv/k4?r=all', undefined, {}, true],
    ['v1 get with a bad r', 'GET', '/v1/kv/k4?r=9', undefined, {}, true],
    ['v1 get with r twice', 'GET', '/v1/kv/k4?r=1&r=2', undefined, {}, true],
    ['v1 get of a missing key', 'GET', '/v1/kv/missing', undefined, {}, true],
    ['v1 percent-encoded key', 'PUT', '/v1/kv/a%2Fb%20c', 'slash', {}, true],
    ['v1 get of a percent-encoded key', 'GET', '/v1/kv/a%2Fb%20c', undefined, {}, true],
    ['v1 put over the value limit', 'PUT', '/v1/kv/k5', '123456789', {}, true],
    ['v1 put with a key over the limit', 'PUT', `/v1/kv/${'k'.repeat(17)}`, 'v', {}, true],
    ['v1 put with a control character', 'PUT', '/v1/kv/a%0Ab', 'v', {}, true],
    ['v1 put with bad percent-encoding (Express)', 'PUT', '/v1/kv/%E0%A4', 'v', {}, false],
    ['v1 put with If-None-Match on a new key', 'PUT', '/v1/kv/cas1', 'one', { 'if-none-match': '*' }, true],
    ['v1 put with If-None-Match on an existing key', 'PUT', '/v1/kv/cas1', 'two', { 'if-none-match': '*' }, true],
    ['v1 put with a malformed If-Match', 'PUT', '/v1/kv/cas1', 'two', { 'if-match': 'nonsense' }, true],
    ['v1 put with both preconditions', 'PUT', '/v1/kv/cas1', 'two', { 'if-match': '*', 'if-none-match': '*' }, true],
    ['v1 delete', 'DELETE', '/v1/kv/k4', undefined, {}, true],
    ['v1 get after delete', 'GET', '/v1/kv/k4', undefined, {}, true],
    ['v1 delete with a bad w', 'DELETE', '/v1/kv/k4?w=zero', undefined, {}, true],
    ['v1 conditional get (Express)', 'GET', '/v1/kv/cas1', undefined, { 'if-none-match': '"x"' }, false],
    ['v1 append (Express)', 'POST', '/v1/kv/log/append', 'ab', {}, false],
    ['v1 empty key (Express)', 'GET', '/v1/kv/', undefined, {}, false],
    ['batch', 'POST', '/v1/batch', JSON.stringify({ ops: [{ op: 'put', key: 'b1', value: 'x' }, { op: 'get', key: 'b1' }, { op: 'get', key: 'nope' }] }), {}, true],
    ['batch with base64', 'POST', '/v1/batch', JSON.stringify({ ops: [{ op: 'get', key: 'b1', encoding: 'base64' }, { op: 'delete', key: 'b1' }] }), {}, true],
    ['batch over batchItemsMax', 'POST', '/v1/batch', JSON.stringify({ ops: [1, 2, 3, 4].map((i) => ({ op: 'get', key: `k${i}` })) }), {}, true],
    ['batch over the body limit', 'POST', '/v1/batch', JSON.stringify({ ops: [{ op: 'put', key: 'k', value: 'x'.repeat(300) }] }), {}, true],
    ['batch that is not JSON', 'POST', '/v1/batch', '{"ops": [', {}, true],
    ['batch that is a JSON string', 'POST', '/v1/batch', '"ops"', {}, true],
    ['batch with an empty body', 'POST', '/v1/batch', '', {}, true],
    ['batch without ops', 'POST', '/v1/batch', '{}', {}, true],
    ['batch with a bad op', 'POST', '/v1/batch', JSON.stringify({ ops: [{ op: 'scan', key: 'x' }] }), {}, true],
    ['batch with an unknown field in an op', 'POST', '/v1/batch', JSON.stringify({ ops: [{ op: 'put', key: 'b2', value: 'x', ifNoneMatch: '*' }] }), {}, true],
    ['batch get after the refused batch', 'POST', '/v1/batch', JSON.stringify({ ops: [{ op: 'get', key: 'b2' }] }), {}, true],
    ['batch with a bad w', 'POST', '/v1/batch?w=7', JSON.stringify({ ops: [] }), {}, true],
    ['batch in another charset (Express)', 'POST', '/v1/batch', '{"ops":[]}', { 'content-type': 'application/json; charset=latin1' }, false],
    ['a route the hot path does not serve', 'GET', '/v1/nothing', undefined, {}, false],
    ['HEAD of the original get (Express)', 'HEAD', '/get/?key=k1', undefined, {}, false],
  ];

  it.each(cases)('%s', async (_name, method, path, body, headers, answeredHot) => {
    const before = await hot.hotCount();
    const [a, b] = await Promise.all([send(ref.port, method, path, body, headers), send(hot.port, method, path, body, headers)]);
    expect(normalize(b)).toEqual(normalize(a));
    expect((await hot.hotCount()) - before).toBe(answeredHot ? 1 : 0);
  });

  it.each([
    ['GET', '/get/?key=k1', undefined],
    ['GET', '/set/?key=k1&value=v', undefined],
    ['POST', '/set/?key=k1', 'v'],
  ])('original %s %s answers 503 in the one-line text form when no replica answers', async (method, path, body) => {
    ref.replicas.down = true;
    hot.replicas.down = true;
    try {
      const [a, b] = await Promise.all([send(ref.port, method, path, body), send(hot.port, method, path, body)]);
      expect(normalize(b)).toEqual(normalize(a));
      expect(b.status).toBe(503);
      expect(b.headers['content-type']).toMatch(/^text\/plain/);
      expect(b.body).toMatch(/^FOG_ERR_QUORUM_NOT_MET: [^\n]+\n$/);
    } finally {
      ref.replicas.down = false;
      hot.replicas.down = false;
    }
  });
});

describe('parseJsonBody', () => {
  it.each([
    ['', {}],
    [' \n{"a":1}', { a: 1 }],
    ['[1]', [1]],
  ])('reads %p', (text, want) => {
    expect(parseJsonBody(Buffer.from(text))).toEqual(want);
  });
  it.each(['1', '"x"', ' ', '{', 'null'])('refuses %p as body-parser does', (text) => {
    expect(() => parseJsonBody(Buffer.from(text))).toThrow('the body is not valid JSON');
  });
});
