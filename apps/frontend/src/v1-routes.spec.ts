import express from 'express';
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import { HybridClock } from '@fog/clock';
import { Coordinator, type ReplicaReply, type ReplicaTransport } from '@fog/coordinator';
import { createLogger, errorMiddleware, notFoundHandler } from '@fog/http-kit';
import { DEFAULT_LIMITS, type OpsRequest, type PartitionTable, type WireOp } from '@fog/protocol';
import { partitionOf } from '@fog/partitioning';
import { ReplicaEngine } from '@fog/storage-core';
import { v1Router } from './v1-routes';

const LIMITS = { ...DEFAULT_LIMITS, keyBytesMax: 16, valueBytesMax: 8, batchItemsMax: 3, requestBodyBytesMax: 4096, listItemsMax: 5 };

/** Three in-process replicas; counts every op that reaches one. */
class Replicas implements ReplicaTransport {
  readonly engines = new Map(['a', 'b', 'c'].map((id) => [id, new ReplicaEngine(id)]));
  opsSent = 0;
  readonly table: PartitionTable = {
    epoch: 1, digits: 1, redundancy: 3,
    partitions: Array.from({ length: 16 }, () => ({ replicas: ['a', 'b', 'c'], pending: [] })),
    nodes: Object.fromEntries(['a', 'b', 'c'].map((id) => [id, { id, address: id, zone: 'z', weight: 1, state: 'up' as const }])),
  };
  constructor() {
    for (const e of this.engines.values()) e.offerTable(this.table);
  }
  async send(address: string, epoch: number, op: WireOp): Promise<ReplicaReply> {
    this.opsSent++;
    const res = this.engines.get(address)!.handle({ epoch, ops: [op] } as OpsRequest, Date.now());
    return { result: res.results[0], epoch: res.epoch, clock: res.clock };
  }
}

describe('v1 routes', () => {
  /** Every page of GET /v1/kv from the start, following `next`. */
  async function scanAll(query: string): Promise<{ pages: number; items: Array<{ key: string; version: string; bytes: number; value?: string }> }> {
    const items: Array<{ key: string; version: string; bytes: number; value?: string }> = [];
    let after: string | null = null;
    for (let pages = 1; ; pages++) {
      const res = await fetch(`${base}/kv?${query}${after === null ? '' : `&after=${encodeURIComponent(after)}`}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { items: typeof items; next: string | null };
      items.push(...page.items);
      if (page.next === null) return { pages, items };
      after = page.next;
    }
  }

  let server: http.Server;
  let base: string;
  let replicas: Replicas;

  beforeAll(async () => {
    replicas = new Replicas();
    const coordinator = new Coordinator({
      transport: replicas, clock: new HybridClock(), nowMs: () => Date.now(), random: Math.random, writerId: 'fe-test',
      table: () => replicas.table, refreshTable: async () => undefined,
    });
    const app = express();
    app.use('/v1', v1Router({ coordinator, limits: LIMITS, table: () => replicas.table }));
    app.use(notFoundHandler());
    app.use(errorMiddleware(createLogger('frontend', 'error', () => undefined)));
    await new Promise<void>((resolve) => {
      server = app.listen(0, '127.0.0.1', () => resolve());
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const call = async (method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, { method, body, headers });
    const bytes = Buffer.from(await res.arrayBuffer());
    let json: { error?: { code: string; details?: Record<string, unknown> } } & Record<string, unknown> = {};
    try {
      json = JSON.parse(bytes.toString());
    } catch {
      // a raw value
    }
    return { status: res.status, headers: res.headers, bytes, json };
  };

  it('lists the whole keyspace in key order, page by page, with values or names alone, hiding deleted keys and bucket items', async () => {
    const written = new Map<string, string>();
    for (let i = 0; i < 40; i++) {
      const key = `scan/${String(i).padStart(2, '0')}`;
      expect((await call('PUT', `/kv/${encodeURIComponent(key)}`, `v${i}`)).status).toBe(200);
      written.set(key, `v${i}`);
    }
    for (const i of [3, 17, 39]) {
      expect((await call('DELETE', `/kv/${encodeURIComponent(`scan/${String(i).padStart(2, '0')}`)}`)).status).toBe(200);
      written.delete(`scan/${String(i).padStart(2, '0')}`);
    }
    expect((await call('PUT', '/buckets/scan/items/x', 'bucket')).status).toBe(200);
    const want = [...written.keys()].sort();
    const full = await scanAll('prefix=scan%2F&limit=7');
    expect(full.items.map((i) => i.key)).toEqual(want);
    expect(full.items.map((i) => i.value)).toEqual(want.map((k) => written.get(k)));
    expect(full.pages).toBeGreaterThan(5);
    const names = await scanAll('prefix=scan%2F&keys=only&limit=1000');
    expect(names.items.map((i) => i.key)).toEqual(want);
    expect(names.items.every((i) => i.value === undefined && i.bytes > 0)).toBe(true);
    // Pages of one: the first ends on the bucket item (listed as nothing), and paging goes on past it.
    const small = await scanAll('prefix=scan&keys=only&limit=1');
    expect(small.items.map((i) => i.key)).toEqual(want);
    // With bucket items asked for, the bucket's item appears under its internal key.
    const withBuckets = await scanAll('prefix=scan&keys=only&buckets=include');
    expect(withBuckets.items.map((i) => i.key)).toEqual(['scan\u0001x', ...want]);
    // One partition alone holds exactly the keys placed there.
    const one = await scanAll('prefix=scan%2F&keys=only&partition=0');
    expect(one.items.length).toBeLessThan(want.length);
  });

  it('ends a scan page with values before it holds more than requestBodyBytesMax value bytes, and pages on', async () => {
    const ops = Array.from({ length: 600 }, (_, i) => ({ key: `big/${String(i).padStart(3, '0')}`, value: '8 bytes!' }));
    // Stored straight into every replica: 600 client writes would cost more than the point.
    for (const [i, o] of ops.entries()) {
      for (const e of replicas.engines.values()) e.ingest('client', partitionOf(o.key, 1), o.key, { ver: { ms: 1000 + i, c: 0, w: 'fe-test' }, value: Buffer.from(o.value) });
    }
    const first = await call('GET', '/kv?prefix=big%2F&limit=1000');
    const items = first.json.items as Array<{ key: string; bytes: number }>;
    expect(items.length).toBe(LIMITS.requestBodyBytesMax / 8);
    expect(first.json.next).toBe(items[items.length - 1].key);
    const all = await scanAll('prefix=big%2F&limit=1000');
    expect(all.items.map((i) => i.key)).toEqual(ops.map((o) => o.key));
  });

  it('takes keys as percent-encoded path segments: slashes, dots, spaces and the rest are key characters', async () => {
    for (const key of ['a/b', '...', 'a b', 'ü?#%']) {
      const path = `/kv/${encodeURIComponent(key)}`;
      const put = await call('PUT', path, key);
      expect({ key, status: put.status, body: put.json }).toMatchObject({ key, status: 200 });
      const got = await call('GET', path);
      expect({ key, status: got.status, value: got.bytes.toString() }).toEqual({ key, status: 200, value: key });
    }
  });

  it.each<[string, string, string, string | undefined, number, string]>([
    ['no key', 'PUT', '/kv/', 'v', 400, 'FOG_ERR_KEY_MISSING'],
    ['a scan with an unknown parameter', 'GET', '/kv?prefx=a', undefined, 400, 'FOG_ERR_UNKNOWN_FIELD'],
    ['a scan with limit 0', 'GET', '/kv?limit=0', undefined, 400, 'FOG_ERR_BAD_REQUEST'],
    ['a scan with limit over scanItemsMax', 'GET', '/kv?limit=1001', undefined, 400, 'FOG_ERR_BAD_REQUEST'],
    ['a scan with keys=all', 'GET', '/kv?keys=all', undefined, 400, 'FOG_ERR_BAD_REQUEST'],
    ['a scan of a partition that does not exist', 'GET', '/kv?partition=16', undefined, 400, 'FOG_ERR_BAD_REQUEST'],
    ['a scan with a bad r', 'GET', '/kv?r=9', undefined, 400, 'FOG_ERR_BAD_CONSISTENCY'],
    // URL parsers resolve "." and ".." (even as %2E) as dot segments: the key never arrives.
    ['a key the client resolved as a dot segment', 'PUT', '/kv/%2E', 'v', 400, 'FOG_ERR_KEY_MISSING'],
    ['a key over keyBytesMax', 'PUT', `/kv/${'k'.repeat(17)}`, 'v', 400, 'FOG_ERR_KEY_TOO_LONG'],
    ['a control character', 'PUT', '/kv/a%0Ab', 'v', 400, 'FOG_ERR_KEY_INVALID'],
    ['bad percent-encoding', 'GET', '/kv/%E0%A4', undefined, 400, 'FOG_ERR_KEY_INVALID'],
    ['a value over valueBytesMax', 'PUT', '/kv/k', '123456789', 413, 'FOG_ERR_VALUE_TOO_LARGE'],
    ['an append over valueBytesMax', 'POST', '/kv/k/append', '123456789', 413, 'FOG_ERR_VALUE_TOO_LARGE'],
    ['a bad consistency level', 'PUT', '/kv/k?w=4', 'v', 400, 'FOG_ERR_BAD_CONSISTENCY'],
    ['a malformed If-Match', 'PUT', '/kv/k', 'v', 400, 'FOG_ERR_BAD_REQUEST'],
    ['a batch over batchItemsMax', 'POST', '/batch', JSON.stringify({ ops: [1, 2, 3, 4].map((i) => ({ op: 'get', key: `k${i}` })) }), 413, 'FOG_ERR_BATCH_TOO_LARGE'],
    ['a batch body over requestBodyBytesMax', 'POST', '/batch', JSON.stringify({ ops: [{ op: 'put', key: 'k', value: 'x'.repeat(5000) }] }), 413, 'FOG_ERR_BODY_TOO_LARGE'],
    ['a batch with one bad op', 'POST', '/batch', JSON.stringify({ ops: [{ op: 'put', key: 'ok', value: 'v' }, { op: 'put', key: 'k', value: '123456789' }] }), 413, 'FOG_ERR_VALUE_TOO_LARGE'],
    ['a bucket item whose internal key is over keyBytesMax', 'PUT', `/buckets/${'b'.repeat(8)}/items/${'i'.repeat(8)}`, 'v', 400, 'FOG_ERR_KEY_TOO_LONG'],
    ['a listing limit over listItemsMax', 'GET', '/buckets/b?limit=6', undefined, 400, 'FOG_ERR_BAD_REQUEST'],
  ])('refuses %s before any replica is touched', async (name, method, path, body, status, code) => {
    const before = replicas.opsSent;
    const headers: Record<string, string> = name === 'a malformed If-Match' ? { 'if-match': 'nonsense' } : {};
    const res = await call(method, path, body, headers);
    expect({ status: res.status, code: res.json.error?.code }).toEqual({ status, code });
    expect(replicas.opsSent).toBe(before);
  });

  it('answers a conditional put conflict with 409 and the stored version', async () => {
    const first = await call('PUT', '/kv/cas', 'one');
    const version = first.json.version as string;
    expect(first.headers.get('etag')).toBe(`"${version}"`);
    expect((await call('PUT', '/kv/cas', 'two', { 'if-match': `"${version}"` })).status).toBe(200);
    const stale = await call('PUT', '/kv/cas', 'three', { 'if-match': `"${version}"` });
    expect(stale.status).toBe(409);
    expect(stale.json.error?.details?.current).not.toBe(version);
    expect((await call('GET', '/kv/cas')).bytes.toString()).toBe('two');
  });

  it('appends and refuses an append that would take the value over the limit, changing nothing', async () => {
    expect((await call('POST', '/kv/log/append', 'abcd')).json.bytes).toBe(4);
    expect((await call('POST', '/kv/log/append', 'efgh')).json.bytes).toBe(8);
    expect((await call('POST', '/kv/log/append', 'i')).json.error?.code).toBe('FOG_ERR_VALUE_TOO_LARGE');
    expect((await call('GET', '/kv/log')).bytes.toString()).toBe('abcdefgh');
  });

  it('answers 404 for a missing key with the JSON error body', async () => {
    const res = await call('GET', '/kv/never');
    expect(res.status).toBe(404);
    expect(res.json.error?.code).toBe('FOG_ERR_NOT_FOUND');
  });
});
