import { randomBytes } from 'node:crypto';
import { FogClient, FogClientError } from '@fog/client';
import { partitionOf } from '@fog/partitioning';
import { parseVersion, type BatchResponse, type BucketListResponse, type LocateResponse, type PartitionTable } from '@fog/protocol';
import {
  checkExposition, freePort, getJson, hostPort, installProcessSafetyNet, jsonOf, request, sampleValue, useCluster,
  type Cluster, type HttpResponse,
} from './harness';

installProcessSafetyNet();

// The oracle: the documented defaults (docs/api.md), and the overrides these frontends get.
const K = 3;
const D = 1;
const STORAGE = 4;
const KEY_BYTES_MAX = 1024;
const VALUE_BYTES_MAX = 1024 * 1024;
const BATCH_ITEMS_MAX = 200;
const REQUEST_BODY_BYTES_MAX = 2 * 1024 * 1024;
const FRONTEND_FLAGS = ['--batch-items-max', String(BATCH_ITEMS_MAX), '--request-body-bytes-max', String(REQUEST_BODY_BYTES_MAX)];

const run = randomBytes(4).toString('hex');
const key = (name: string) => `${run}/${name}`;
const enc = encodeURIComponent;
const kv = (fe: string, k: string, query = '') => `${fe}/v1/kv/${enc(k)}${query}`;
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

function show(res: HttpResponse): string {
  return `${res.status} ${JSON.stringify(res.text.slice(0, 300))}`;
}

function ok(res: HttpResponse, what: string): HttpResponse {
  if (res.status !== 200) throw new Error(`${what}: expected 200, got ${show(res)}`);
  return res;
}

function expectError(res: HttpResponse, status: number, code: string, what: string): { code: string; message: string; details?: Record<string, unknown> } {
  const body = res.headers['content-type']?.startsWith('application/json') ? jsonOf<{ error?: { code: string; message: string; details?: Record<string, unknown> } }>(res) : {};
  expect({ what, status: res.status, code: body.error?.code }).toEqual({ what, status, code });
  expect(typeof body.error?.message).toBe('string');
  return body.error!;
}

/** Operations this frontend has sent to storage replicas so far. */
async function replicaOps(fe: string): Promise<number> {
  const res = ok(await request('GET', `${fe}/metrics`), 'metrics');
  return sampleValue(checkExposition(res.text).samples, 'fog_frontend_replica_requests_total') ?? 0;
}

/** Internal requests a storage node has served so far. */
async function internalRequests(storage: string): Promise<number> {
  const res = ok(await request('GET', `${storage}/metrics`), 'metrics');
  return sampleValue(checkExposition(res.text).samples, 'fog_http_requests_total', { op: 'internal_ops' }) ?? 0;
}

/** The storage node ids that hold a key (a live value, not a tombstone), from each node's own listing. */
async function holders(c: Cluster, internalKey: string, alive: number[] = Array.from({ length: STORAGE }, (_, i) => i)): Promise<Array<{ id: string; partition: number }>> {
  const out: Array<{ id: string; partition: number }> = [];
  for (const i of alive) {
    const listing = await getJson<{ id: string; keys: Array<{ key: string; partition: number; tombstone: boolean }> }>(`${c.storageUrl(i)}/v1/keys?limit=100000`);
    const hit = listing.keys.find((k) => k.key === internalKey && !k.tombstone);
    if (hit) out.push({ id: listing.id, partition: hit.partition });
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** Expect a refusal that touched no replica. */
async function expectRefusedUntouched(fe: string, what: string, send: () => Promise<HttpResponse>, status: number, code: string): Promise<void> {
  const before = await replicaOps(fe);
  expectError(await send(), status, code, what);
  expect({ what, replicaOps: await replicaOps(fe) }).toEqual({ what, replicaOps: before });
}

describe('client surface: REST v1 and the client library', () => {
  const { cluster, it } = useCluster({ storage: STORAGE, frontends: 2, redundancy: K, digits: D, label: 'client-surface', frontendArgs: FRONTEND_FLAGS });
  const fe = (i = 0) => cluster().frontendUrl(i);

  it('stores any bytes: all 256 byte values, an empty value, with the version as header and ETag', async () => {
    const put = ok(await request('PUT', kv(fe(), key('bytes')), ALL_BYTES, { 'content-type': 'image/png' }), 'PUT all bytes');
    const version = put.headers['x-fog-version'];
    expect(parseVersion(version)).not.toBeNull();
    expect(put.headers.etag).toBe(`"${version}"`);
    expect(jsonOf(put)).toMatchObject({ key: key('bytes'), version, partition: partitionOf(key('bytes'), D) });
    // Read back through the other frontend.
    const got = ok(await request('GET', kv(fe(1), key('bytes'))), 'GET all bytes');
    expect(got.body.equals(ALL_BYTES)).toBe(true);
    expect(got.headers['x-fog-version']).toBe(version);
    expect(got.headers.etag).toBe(`"${version}"`);

    ok(await request('PUT', kv(fe(), key('empty')), Buffer.alloc(0)), 'PUT empty');
    const empty = ok(await request('GET', kv(fe(1), key('empty'))), 'GET empty');
    expect(empty.body.length).toBe(0);
    expectError(await request('GET', kv(fe(), key('never-written'))), 404, 'FOG_ERR_NOT_FOUND', 'missing key');
    ok(await request('DELETE', kv(fe(), key('empty'))), 'DELETE');
    expectError(await request('GET', kv(fe(1), key('empty'))), 404, 'FOG_ERR_NOT_FOUND', 'deleted key');
  });

  it('takes any UTF-8 key without control characters as a percent-encoded path segment, up to keyBytesMax bytes', async () => {
    for (const k of [key('a/b?c#d%e'), key('spaces and ünïcødé 日本'), key('...')]) {
      ok(await request('PUT', kv(fe(), k), k), `PUT ${k}`);
      expect(ok(await request('GET', kv(fe(1), k)), `GET ${k}`).text).toBe(k);
    }
    // At the limit in bytes (2-byte characters), and one byte over.
    const atLimit = 'é'.repeat(KEY_BYTES_MAX / 2);
    ok(await request('PUT', kv(fe(), atLimit), 'at the limit'), 'key of keyBytesMax bytes');
    expect(ok(await request('GET', kv(fe(), atLimit)), 'GET at limit').text).toBe('at the limit');
    await expectRefusedUntouched(fe(), 'key one byte over', () => request('PUT', kv(fe(), `${atLimit}x`), 'v'), 400, 'FOG_ERR_KEY_TOO_LONG');
    await expectRefusedUntouched(fe(), 'control character', () => request('PUT', kv(fe(), 'a\nb'), 'v'), 400, 'FOG_ERR_KEY_INVALID');
    await expectRefusedUntouched(fe(), 'no key', () => request('PUT', `${fe()}/v1/kv/`, 'v'), 400, 'FOG_ERR_KEY_MISSING');
    await expectRefusedUntouched(fe(), 'undecodable key', () => request('GET', `${fe()}/v1/kv/%E0%A4`), 400, 'FOG_ERR_KEY_INVALID');
  });

  it('takes a value of valueBytesMax bytes and refuses one byte more before touching a replica', async () => {
    const big = randomBytes(VALUE_BYTES_MAX);
    ok(await request('PUT', kv(fe(), key('big')), big), 'value at the limit');
    expect(ok(await request('GET', kv(fe(1), key('big'))), 'GET big').body.equals(big)).toBe(true);
    await expectRefusedUntouched(fe(), 'value one byte over', () => request('PUT', kv(fe(), key('big')), Buffer.concat([big, Buffer.from('x')])), 413, 'FOG_ERR_VALUE_TOO_LARGE');
    // The stored value is unchanged.
    expect(ok(await request('GET', kv(fe(), key('big'))), 'GET big').body.equals(big)).toBe(true);
  });

  it('reads and writes at the consistency asked for, and refuses a level that is not one', async () => {
    const w = ok(await request('PUT', kv(fe(), key('levels'), '?w=all'), 'v'), 'w=all');
    expect(w.headers['x-fog-replicas']).toBe(String(K));
    const r = ok(await request('GET', kv(fe(1), key('levels'), '?r=all')), 'r=all');
    expect(r.headers['x-fog-replicas']).toBe(String(K));
    expect(ok(await request('GET', kv(fe(1), key('levels'), '?r=1')), 'r=1').headers['x-fog-replicas']).toBe('1');
    for (const bad of ['0', '4', 'two', 'most']) {
      await expectRefusedUntouched(fe(), `w=${bad}`, () => request('PUT', kv(fe(), key('levels'), `?w=${bad}`), 'v'), 400, 'FOG_ERR_BAD_CONSISTENCY');
    }
  });

  it('puts conditionally on the version: a stale If-Match is 409, and of concurrent ones on the same version exactly one wins', async () => {
    const k = key('cas');
    const v1 = ok(await request('PUT', kv(fe(), k), 'one'), 'PUT').headers['x-fog-version'];
    const v2 = ok(await request('PUT', kv(fe(1), k), 'two', { 'if-match': `"${v1}"` }), 'If-Match current').headers['x-fog-version'];
    const stale = expectError(await request('PUT', kv(fe(), k), 'three', { 'if-match': `"${v1}"` }), 409, 'FOG_ERR_VERSION_CONFLICT', 'If-Match stale');
    expect(stale.details).toEqual({ current: v2 });
    expectError(await request('PUT', kv(fe(), k), 'x', { 'if-none-match': '*' }), 409, 'FOG_ERR_VERSION_CONFLICT', 'If-None-Match on an existing key');
    ok(await request('PUT', kv(fe(), key('cas-new')), 'created', { 'if-none-match': '*' }), 'If-None-Match on a new key');
    expect(ok(await request('GET', kv(fe(), k)), 'GET').text).toBe('two');

    // Eight writers, both frontends, all expecting v2: one wins, seven are told who did.
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => request('PUT', kv(fe(i % 2), k), `writer-${i}`, { 'if-match': `"${v2}"` })));
    const winners = results.flatMap((res, i) => (res.status === 200 ? [i] : []));
    expect(winners).toHaveLength(1);
    for (const res of results) if (res.status !== 200) expectError(res, 409, 'FOG_ERR_VERSION_CONFLICT', 'a losing writer');
    expect(ok(await request('GET', kv(fe(1), k, '?r=all')), 'GET').text).toBe(`writer-${winners[0]}`);
  });

  it('appends: concurrent appenders through both frontends never get 200 for bytes missing from the final value', async () => {
    const k = key('log');
    const APPENDERS = 6;
    const EACH = 6;
    const outcomes = new Map<string, { status: number; code?: string }>();
    await Promise.all(Array.from({ length: APPENDERS }, async (_, a) => {
      for (let n = 0; n < EACH; n++) {
        const token = `<${a}.${n}>`;
        const res = await request('POST', `${kv(fe(a % 2), k)}/append`, token);
        outcomes.set(token, { status: res.status, code: res.status === 200 ? undefined : jsonOf<{ error: { code: string } }>(res).error.code });
      }
    }));
    const final = ok(await request('GET', kv(fe(), k, '?r=all')), 'final value').text;
    let acknowledged = 0;
    for (const [token, o] of outcomes) {
      const count = final.split(token).length - 1;
      if (o.status === 200) {
        acknowledged++;
        expect({ token, count }).toEqual({ token, count: 1 });
      } else if (o.code === 'FOG_ERR_OUTCOME_UNKNOWN') expect(count).toBeLessThanOrEqual(1);
      else expect({ token, outcome: o, count }).toEqual({ token, outcome: { status: 503, code: 'FOG_ERR_WRITE_CONTENDED' }, count: 0 });
    }
    // Under this mild contention every append should go through.
    expect(acknowledged).toBeGreaterThanOrEqual(APPENDERS * EACH - 2);
    expect(final.length).toBe([...outcomes.keys()].filter((t) => final.includes(t)).reduce((n, t) => n + t.length, 0));
    // The answer carries the new length.
    const res = ok(await request('POST', `${kv(fe(), key('log2'))}/append`, ALL_BYTES), 'append');
    expect(jsonOf<{ bytes: number }>(res).bytes).toBe(256);
    expect(jsonOf<{ bytes: number }>(ok(await request('POST', `${kv(fe(1), key('log2'))}/append`, ALL_BYTES), 'append')).bytes).toBe(512);
    expect(ok(await request('GET', kv(fe(), key('log2'))), 'GET').body.equals(Buffer.concat([ALL_BYTES, ALL_BYTES]))).toBe(true);
  });

  it('runs a batch with one result per op in order, and refuses a bad batch whole', async () => {
    ok(await request('PUT', kv(fe(), key('b-existing')), 'old'), 'PUT');
    const ops = [
      { op: 'put', key: key('b1'), value: 'héllo' },
      { op: 'put', key: key('b2'), value: ALL_BYTES.toString('base64'), encoding: 'base64' },
      { op: 'get', key: key('b1') },
      { op: 'get', key: key('b2') },
      { op: 'get', key: key('b-missing') },
      { op: 'delete', key: key('b-existing') },
      { op: 'get', key: key('b-existing') },
    ];
    const res = ok(await request('POST', `${fe()}/v1/batch`, JSON.stringify({ ops }), { 'content-type': 'application/json' }), 'batch');
    const { results } = jsonOf<BatchResponse>(res);
    expect(results.map((r) => [r.op, r.key, r.status])).toEqual(ops.map((o, i) => [o.op, o.key, [200, 200, 200, 200, 404, 200, 404][i]]));
    expect(results[2]).toMatchObject({ value: 'héllo', encoding: 'utf8', version: results[0].version });
    expect(results[3].encoding).toBe('base64');
    expect(Buffer.from(results[3].value!, 'base64').equals(ALL_BYTES)).toBe(true);
    expect(results[4].error?.code).toBe('FOG_ERR_NOT_FOUND');
    expect(ok(await request('GET', kv(fe(1), key('b2'))), 'GET b2').body.equals(ALL_BYTES)).toBe(true);

    // batchItemsMax (overridden to 200 on these frontends): 200 ops go, 201 are refused untouched.
    const gets = (n: number) => JSON.stringify({ ops: Array.from({ length: n }, (_, i) => ({ op: 'get', key: key(`g${i}`) })) });
    expect(jsonOf<BatchResponse>(ok(await request('POST', `${fe()}/v1/batch`, gets(BATCH_ITEMS_MAX)), 'batch at limit')).results).toHaveLength(BATCH_ITEMS_MAX);
    await expectRefusedUntouched(fe(), 'batch over batchItemsMax', () => request('POST', `${fe()}/v1/batch`, gets(BATCH_ITEMS_MAX + 1)), 413, 'FOG_ERR_BATCH_TOO_LARGE');
    // requestBodyBytesMax (overridden to 2 MiB): two values of 1 MiB cannot travel in one body.
    const fat = JSON.stringify({ ops: [0, 1].map((i) => ({ op: 'put', key: key(`fat${i}`), value: 'x'.repeat(VALUE_BYTES_MAX) })) });
    await expectRefusedUntouched(fe(), 'batch body over requestBodyBytesMax', () => request('POST', `${fe()}/v1/batch`, fat), 413, 'FOG_ERR_BODY_TOO_LARGE');
    // One bad op refuses the batch: the good put before it is not applied.
    const bad = JSON.stringify({ ops: [{ op: 'put', key: key('b-not-applied'), value: 'v' }, { op: 'put', key: 'a\u0001b', value: 'v' }] });
    const refused = expectError(await request('POST', `${fe()}/v1/batch`, bad), 400, 'FOG_ERR_KEY_INVALID', 'batch with a bad key');
    expect(refused.details).toMatchObject({ index: 1 });
    expectError(await request('GET', kv(fe(), key('b-not-applied'))), 404, 'FOG_ERR_NOT_FOUND', 'the good op of a refused batch');
    expectError(await request('POST', `${fe()}/v1/batch`, '{"ops": [}'), 400, 'FOG_ERR_BAD_REQUEST', 'malformed JSON');
  });

  it('packs a batch into few internal requests per storage node', async () => {
    const c = cluster();
    const before = await Promise.all(Array.from({ length: STORAGE }, (_, i) => internalRequests(c.storageUrl(i))));
    const N = BATCH_ITEMS_MAX;
    const body = JSON.stringify({ ops: Array.from({ length: N }, (_, i) => ({ op: 'put', key: key(`packed-${i}`), value: `v${i}` })) });
    const { results } = jsonOf<BatchResponse>(ok(await request('POST', `${fe()}/v1/batch?w=all`, body), 'batch'));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const after = await Promise.all(Array.from({ length: STORAGE }, (_, i) => internalRequests(c.storageUrl(i))));
    // Each node holds 3/4 of the partitions, so receives about 150 of the 200 puts.
    const perNode = after.map((a, i) => a - before[i]);
    for (const n of perNode) expect(n).toBeLessThan(N / 4);
  });

  it('keeps a bucket in its partition: items, listing in pages, no collision with plain keys', async () => {
    const c = cluster();
    const bucket = key('photos');
    const items = ['b/2', 'a', 'c 3', 'd', 'é'];
    for (const item of items) ok(await request('PUT', `${fe(items.indexOf(item) % 2)}/v1/buckets/${enc(bucket)}/items/${enc(item)}`, `v:${item}`), `PUT ${item}`);
    ok(await request('PUT', `${fe()}/v1/buckets/${enc(bucket)}/items/bin`, ALL_BYTES), 'PUT bin');
    ok(await request('PUT', kv(fe(), bucket), 'a plain key named like the bucket'), 'PUT plain');
    ok(await request('PUT', kv(fe(), `${bucket}/a`), 'a plain key named like an item'), 'PUT plain');
    expect(ok(await request('GET', `${fe(1)}/v1/buckets/${enc(bucket)}/items/${enc('b/2')}`), 'GET item').text).toBe('v:b/2');
    expect(ok(await request('GET', `${fe(1)}/v1/buckets/${enc(bucket)}/items/bin`), 'GET bin').body.equals(ALL_BYTES)).toBe(true);
    ok(await request('DELETE', `${fe()}/v1/buckets/${enc(bucket)}/items/d`), 'DELETE d');
    expectError(await request('GET', `${fe()}/v1/buckets/${enc(bucket)}/items/d`), 404, 'FOG_ERR_NOT_FOUND', 'deleted item');
    expect(ok(await request('GET', kv(fe(), bucket)), 'GET plain').text).toBe('a plain key named like the bucket');

    // Paginated listing, in key order, without the deleted item or the plain keys.
    const seen: BucketListResponse['items'] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const page: BucketListResponse = jsonOf<BucketListResponse>(ok(await request('GET', `${fe(pages % 2)}/v1/buckets/${enc(bucket)}?limit=2${after === null ? '' : `&after=${enc(after)}`}`), 'list'));
      expect(page.partition).toBe(partitionOf(bucket, D));
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items);
      after = page.next;
      pages++;
    } while (after !== null && pages < 10);
    expect(seen.map((i) => i.item)).toEqual(['a', 'b/2', 'bin', 'c 3', 'é']);
    expect(seen.find((i) => i.item === 'bin')?.bytes).toBe(256);
    expect(pages).toBe(3);
    expectError(await request('GET', `${fe()}/v1/buckets/${enc(bucket)}?limit=0`), 400, 'FOG_ERR_BAD_REQUEST', 'limit 0');

    // Every item lives in the bucket's partition on the bucket's replicas, and only there.
    const table = await c.table();
    const replicas = [...table.partitions[partitionOf(bucket, D)].replicas].sort();
    for (const item of ['a', 'bin', 'é']) {
      const where = await holders(c, `${bucket}\u0001${item}`);
      expect(where).toEqual(replicas.map((id) => ({ id, partition: partitionOf(bucket, D) })));
    }
  });

  it('locates a key where its data really is, with why each replica was chosen', async () => {
    const c = cluster();
    const table: PartitionTable = await c.table();
    for (const name of ['loc-1', 'loc-2', 'loc-3']) {
      const k = key(name);
      ok(await request('PUT', kv(fe(), k, '?w=all'), 'here'), 'PUT');
      const loc = jsonOf<LocateResponse>(ok(await request('GET', `${fe(1)}/v1/locate/${enc(k)}`), 'locate'));
      const p = partitionOf(k, D);
      expect(loc).toMatchObject({ key: k, partition: p, partitionHex: p.toString(16), epoch: table.epoch });
      expect(loc.replicas.map((r) => r.id)).toEqual(table.partitions[p].replicas);
      for (const r of loc.replicas) {
        expect(r).toMatchObject({ address: table.nodes[r.id].address, zone: table.nodes[r.id].zone, state: 'up', role: 'active' });
        expect(['kept', 'rank', 'zone', 'fallback']).toContain(r.why);
        expect(r.reason.length).toBeGreaterThan(20);
      }
      expect(loc.preferred).toBe(loc.replicas[0].id);
      expect((await holders(c, k)).map((h) => h.id)).toEqual([...loc.replicas.map((r) => r.id)].sort());
    }
    expectError(await request('GET', `${fe()}/v1/locate/${enc('x'.repeat(KEY_BYTES_MAX + 1))}`), 400, 'FOG_ERR_KEY_TOO_LONG', 'locate a long key');
  });

  it('client library: typed calls, spread over frontends, failover from a dead one, typed errors', async () => {
    const dead = hostPort(await freePort());
    const client = new FogClient({ frontends: [dead, fe(0), fe(1)], requestTimeoutMs: 10_000 });
    try {
      const before = await Promise.all([0, 1].map((i) => replicaOps(fe(i))));
      const k = key('client');
      const put = await client.put(k, ALL_BYTES);
      expect(await client.get(k)).toEqual({ value: ALL_BYTES, version: put.version, partition: put.partition });
      expect((await client.append(k, 'tail')).bytes).toBe(260);
      expect((await client.get(k, { r: 'all' }))?.value.subarray(256).toString()).toBe('tail');
      const conflict = await client.put(k, 'x', { ifMatch: put.version }).catch((e: unknown) => e);
      expect(conflict).toBeInstanceOf(FogClientError);
      expect(conflict).toMatchObject({ code: 'FOG_ERR_VERSION_CONFLICT', status: 409 });
      await client.delete(k, { w: 'all' });
      expect(await client.get(k)).toBeNull();
      const results = await client.batch([{ op: 'put', key: key('cb'), value: Buffer.from([0, 255]) }, { op: 'get', key: key('cb') }, { op: 'get', key: key('cb-missing') }]);
      expect(results.map((r) => r.status)).toEqual([200, 200, 404]);
      expect(results[1].value).toEqual(Buffer.from([0, 255]));
      expect((await client.locate(k)).partition).toBe(partitionOf(k, D));
      const bucket = client.bucket(key('client-bucket'));
      for (const item of ['x', 'y', 'z']) await bucket.put(item, item);
      const listed: string[] = [];
      for await (const item of bucket.items({ pageSize: 2 })) listed.push(item.item);
      expect(listed).toEqual(['x', 'y', 'z']);
      expect((await bucket.get('y'))?.value.toString()).toBe('y');
      await expect(client.put(key('too-big'), Buffer.alloc(VALUE_BYTES_MAX + 1))).rejects.toMatchObject({ code: 'FOG_ERR_VALUE_TOO_LARGE', status: 413 });
      // Both live frontends did work: requests were spread, and the dead one never stopped a call.
      const after = await Promise.all([0, 1].map((i) => replicaOps(fe(i))));
      expect(after[0]).toBeGreaterThan(before[0]);
      expect(after[1]).toBeGreaterThan(before[1]);
    } finally {
      client.close();
    }
    const nobody = new FogClient({ frontends: [dead], requestTimeoutMs: 2000 });
    await expect(nobody.get('k')).rejects.toMatchObject({ code: 'FOG_CLIENT_UNREACHABLE' });
    nobody.close();
  });

  // Last: it kills storage nodes.
  it('says how many replicas answered when a quorum cannot be met, and serves what it can', async () => {
    const c = cluster();
    const k = key('quorum');
    ok(await request('PUT', kv(fe(), k, '?w=all'), 'before'), 'PUT');
    const loc = jsonOf<LocateResponse>(ok(await request('GET', `${fe()}/v1/locate/${enc(k)}`), 'locate'));
    const victims = loc.replicas.slice(0, 2).map((r) => c.storageIndexOf(r.id));
    for (const i of victims) await c.killStorage(i);

    const read = expectError(await request('GET', kv(fe(), k)), 503, 'FOG_ERR_QUORUM_NOT_MET', 'read at quorum');
    expect(read.details).toEqual({ required: 2, answered: 1, replicas: K });
    expect(read.message).toMatch(/needed 2 replica\(s\), 1 of 3 answered/);
    // One replica still answers r=one.
    expect(ok(await request('GET', kv(fe(), k, '?r=one')), 'r=one').text).toBe('before');
    const write = expectError(await request('PUT', kv(fe(1), k), 'after'), 503, 'FOG_ERR_QUORUM_NOT_MET', 'write at quorum');
    expect(write.details).toMatchObject({ required: 2, answered: 1, replicas: K });
    const append = expectError(await request('POST', `${kv(fe(), k)}/append`, 'x'), 503, 'FOG_ERR_QUORUM_NOT_MET', 'append');
    expect(append.details).toMatchObject({ required: 2, answered: 1 });
    // The append needed a majority for its first phase: nothing of it was written. The failed
    // plain write, like any write refused for its quorum, may be on the replica that answered.
    expect(['before', 'after']).toContain(ok(await request('GET', kv(fe(), k, '?r=one')), 'r=one').text);
    ok(await request('PUT', kv(fe(), k, '?w=one'), 'w=one'), 'w=one');
    expect(ok(await request('GET', kv(fe(1), k, '?r=one')), 'r=one').text).toBe('w=one');
    // A batch reports per op: the get of this key fails, a key whose partition kept a quorum works.
    const table = await c.table();
    const dead = new Set(victims.map((i) => c.storageId(i)));
    const healthy = Array.from({ length: 64 }, (_, i) => key(`healthy-${i}`)).find((h) => table.partitions[partitionOf(h, D)].replicas.filter((id) => dead.has(id)).length < 2)!;
    const { results } = jsonOf<BatchResponse>(ok(await request('POST', `${fe()}/v1/batch`, JSON.stringify({ ops: [{ op: 'get', key: k }, { op: 'put', key: healthy, value: 'v' }] })), 'batch'));
    expect(results.map((r) => [r.status, r.error?.code])).toEqual([[503, 'FOG_ERR_QUORUM_NOT_MET'], [200, undefined]]);
  });
});
