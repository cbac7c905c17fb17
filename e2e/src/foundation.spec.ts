import { randomBytes } from 'node:crypto';
import { partitionOf } from '@fog/partitioning';
import { parseVersion, type PartitionTable } from '@fog/protocol';
import {
  AppProcess, assertValidExposition, freePort, get, getJson, hasPromtool, installProcessSafetyNet, jsonOf, makeTempDir,
  promtoolCheckMetrics, removeTempDir, request, sampleValue, useCluster, waitFor, type Cluster, type HttpResponse, type Sample,
} from './harness';

installProcessSafetyNet();

// The oracle: numbers from the specification, not from the code under test.
const K = 3;
const D = 2;
const STORAGE = 4;
const FRONTENDS = 2;
const PARTITIONS = 16 ** D;
const KEY_BYTES_MAX = 1024;
const VALUE_BYTES_MAX = 1024 * 1024;
const USAGE_BODY_RE = /^(FOG_ERR_[A-Z_]+): \S.*\n?$/;

const enc = encodeURIComponent;
/** A run-unique key prefix, so that no key can be confused with one written by another test or run. */
const run = randomBytes(4).toString('hex');
const key = (name: string) => `${run}/${name}`;

const setUrl = (fe: string, k: string, v: string) => `${fe}/set/?key=${enc(k)}&value=${enc(v)}`;
const getUrl = (fe: string, k: string) => `${fe}/get/?key=${enc(k)}`;
const kvUrl = (fe: string, k: string, query = '') => `${fe}/v1/kv/${enc(k)}${query}`;

function show(res: HttpResponse): string {
  return `${res.status} ${JSON.stringify(res.text.slice(0, 300))}`;
}

/** Expect 200 and return the response; the message shows the body otherwise. */
function ok(res: HttpResponse, what: string): HttpResponse {
  if (res.status !== 200) throw new Error(`${what}: expected 200, got ${show(res)}`);
  return res;
}

function versionOf(res: HttpResponse): string {
  const v = res.headers['x-fog-version'];
  expect(v).toBeDefined();
  expect(parseVersion(v)).not.toBeNull();
  return v;
}

function expectUsageError(res: HttpResponse, code: string, what: string): void {
  expect({ what, status: res.status, body: res.text }).toEqual({ what, status: 501, body: expect.stringMatching(USAGE_BODY_RE) });
  expect(USAGE_BODY_RE.exec(res.text)?.[1]).toBe(code);
}

function expectJsonError(res: HttpResponse, status: number, code: string, what: string): void {
  expect({ what, status: res.status, contentType: res.headers['content-type'] }).toEqual({ what, status, contentType: expect.stringMatching(/^application\/json/) });
  const body = jsonOf<{ error?: { code?: string; message?: string } }>(res);
  expect({ what, code: body.error?.code, message: typeof body.error?.message }).toEqual({ what, code, message: 'string' });
}

async function metricsOf(url: string): Promise<{ text: string; samples: Sample[] }> {
  const res = ok(await get(`${url}/metrics`), `GET ${url}/metrics`);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4(;|$)/);
  const report = assertValidExposition(res.text, `${url}/metrics`, { requiredPrefix: 'fog_' });
  return { text: res.text, samples: report.samples };
}

async function counter(url: string, name: string, labels: Record<string, string>): Promise<number> {
  return sampleValue((await metricsOf(url)).samples, name, labels) ?? 0;
}

/** Which storage nodes hold each key (live entries only), from every node's /v1/keys. */
async function holdersByKey(c: Cluster): Promise<Map<string, { ids: string[]; partitions: number[] }>> {
  const out = new Map<string, { ids: string[]; partitions: number[] }>();
  for (let i = 0; i < c.storageCount; i++) {
    const body = await getJson<{ id: string; keys: Array<{ partition: number; key: string; tombstone: boolean }>; truncated: boolean }>(
      `${c.storageUrl(i)}/v1/keys?limit=100000`,
    );
    if (body.id !== c.storageId(i)) throw new Error(`storage ${i} says it is ${body.id}, expected ${c.storageId(i)}`);
    if (body.truncated) throw new Error(`storage ${body.id} truncated its key list`);
    for (const k of body.keys) {
      if (k.tombstone) continue;
      let h = out.get(k.key);
      if (!h) out.set(k.key, (h = { ids: [], partitions: [] }));
      h.ids.push(body.id);
      h.partitions.push(k.partition);
    }
  }
  for (const h of out.values()) h.ids.sort();
  return out;
}

function replicasOf(table: PartitionTable, k: string): string[] {
  return [...table.partitions[partitionOf(k, D)].replicas].sort();
}

describe(`foundation: 1 controller, ${STORAGE} storage, ${FRONTENDS} frontends, K=${K}, D=${D}`, () => {
  const { cluster, it: cit } = useCluster({ storage: STORAGE, frontends: FRONTENDS, redundancy: K, digits: D, label: 'foundation' });
  const A = () => cluster().frontendUrl(0);
  const B = () => cluster().frontendUrl(1);

  cit('forms from the original command lines: epoch 1, K, D and every node registered', async () => {
    const c = cluster();
    const view = await c.clusterView();
    expect(view).toMatchObject({ epoch: 1, redundancy: K, partitionDigits: D, partitions: PARTITIONS, formed: true });
    const storageIds = Array.from({ length: STORAGE }, (_, i) => c.storageId(i)).sort();
    const frontendIds = Array.from({ length: FRONTENDS }, (_, i) => c.frontendId(i)).sort();
    expect(view.nodes.filter((n) => n.role === 'storage').map((n) => n.id).sort()).toEqual(storageIds);
    expect(view.nodes.filter((n) => n.role === 'frontend').map((n) => n.id).sort()).toEqual(frontendIds);
    for (const n of view.nodes) expect({ id: n.id, state: n.state }).toEqual({ id: n.id, state: 'up' });

    const table = await c.table();
    expect({ epoch: table.epoch, digits: table.digits, redundancy: table.redundancy, partitions: table.partitions.length }).toEqual({
      epoch: 1, digits: D, redundancy: K, partitions: PARTITIONS,
    });
    expect(Object.keys(table.nodes).sort()).toEqual(storageIds);
    for (let i = 0; i < STORAGE; i++) expect(table.nodes[c.storageId(i)].address).toBe(c.storageUrl(i).replace('http://', ''));
    table.partitions.forEach((p, n) => {
      const distinct = new Set(p.replicas);
      if (p.replicas.length !== K || distinct.size !== K || !p.replicas.every((id) => storageIds.includes(id))) {
        throw new Error(`partition ${n} has replicas ${JSON.stringify(p.replicas)}: expected ${K} distinct storage ids`);
      }
    });
  });

  cit('original API: values set through A (GET and POST forms) read back byte-for-byte through B', async () => {
    const text = 'héllo wörld & = + ? # % / ✓ 🌫';
    const k1 = key('orig get-form ключ & = ?');
    const w1 = ok(await get(setUrl(A(), k1, text)), 'GET /set');
    expect(w1.text.trim()).toBe('OK');
    const v1 = versionOf(w1);

    const k2 = key('orig post-form');
    const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const w2 = ok(await request('POST', `${A()}/set/?key=${enc(k2)}`, binary), 'POST /set');
    expect(w2.text.trim()).toBe('OK');
    const v2 = versionOf(w2);

    const k3 = key('orig post-form large');
    const large = randomBytes(300 * 1024);
    ok(await request('POST', `${A()}/set/?key=${enc(k3)}`, large), 'POST /set large');

    for (const [fe, name] of [[B(), 'B'], [A(), 'A']] as const) {
      const r1 = ok(await get(getUrl(fe, k1)), `GET /get via ${name}`);
      expect(r1.body.equals(Buffer.from(text, 'utf8'))).toBe(true);
      expect(versionOf(r1)).toBe(v1);
      const r2 = ok(await get(getUrl(fe, k2)), `GET /get binary via ${name}`);
      expect(r2.body.toString('hex')).toBe(binary.toString('hex'));
      expect(versionOf(r2)).toBe(v2);
      const r3 = ok(await get(getUrl(fe, k3)), `GET /get large via ${name}`);
      expect(r3.body.length).toBe(large.length);
      expect(r3.body.equals(large)).toBe(true);
    }

    // An overwrite through B is what A reads next, with a newer version.
    const w4 = ok(await get(setUrl(B(), k1, 'second')), 'overwrite via B');
    const r4 = ok(await get(getUrl(A(), k1)), 'read overwrite via A');
    expect(r4.text).toBe('second');
    expect(versionOf(r4)).toBe(versionOf(w4));
    expect(versionOf(w4)).not.toBe(v1);
  });

  cit('v1: PUT through A reads back through B on v1 and the original API; DELETE makes it 404', async () => {
    const k = key('v1 dir/sub dir/ключ?#%&=+');
    const value = randomBytes(4096);
    const put = ok(await request('PUT', kvUrl(A(), k), value), 'v1 PUT');
    const body = jsonOf<{ key: string; version: string; partition: number }>(put);
    expect(body).toEqual({ key: k, version: versionOf(put), partition: partitionOf(k, D) });

    const viaV1 = ok(await get(kvUrl(B(), k)), 'v1 GET via B');
    expect(viaV1.body.equals(value)).toBe(true);
    expect(versionOf(viaV1)).toBe(body.version);
    const viaOriginal = ok(await get(getUrl(B(), k)), 'original GET via B');
    expect(viaOriginal.body.equals(value)).toBe(true);
    expect(versionOf(viaOriginal)).toBe(body.version);

    // Consistency levels by name and number are accepted.
    for (const q of ['?w=one', '?w=quorum', '?w=all', '?w=1', '?w=3']) ok(await request('PUT', kvUrl(A(), k, q), value), `v1 PUT ${q}`);
    for (const q of ['?r=one', '?r=quorum', '?r=all', '?r=2']) expect(ok(await get(kvUrl(B(), k, q)), `v1 GET ${q}`).body.equals(value)).toBe(true);

    const del = ok(await request('DELETE', kvUrl(B(), k)), 'v1 DELETE via B');
    expect(jsonOf(del)).toMatchObject({ key: k, deleted: true });
    versionOf(del);
    expectJsonError(await get(kvUrl(A(), k)), 404, 'FOG_ERR_NOT_FOUND', 'v1 GET after DELETE');
    expect((await get(getUrl(A(), k))).status).toBe(404);
  });

  cit('a missing key is 404, distinguishable from an empty value (200, empty body)', async () => {
    const missing = key('never written');
    const m1 = await get(getUrl(B(), missing));
    expect(m1.status).toBe(404);
    expectJsonError(await get(kvUrl(B(), missing)), 404, 'FOG_ERR_NOT_FOUND', 'v1 GET missing');

    const empty = key('empty value');
    ok(await get(setUrl(A(), empty, '')), 'GET /set value=');
    for (const fe of [A(), B()]) {
      const r = ok(await get(getUrl(fe, empty)), 'GET /get empty');
      expect(r.body.length).toBe(0);
      versionOf(r);
      const v = ok(await get(kvUrl(fe, empty)), 'v1 GET empty');
      expect(v.body.length).toBe(0);
    }

    const emptyV1 = key('empty value v1');
    ok(await request('PUT', kvUrl(B(), emptyV1), Buffer.alloc(0)), 'v1 PUT empty');
    const r = ok(await get(getUrl(A(), emptyV1)), 'GET /get v1-empty');
    expect(r.body.length).toBe(0);
  });

  cit(`every key written is held on exactly K=${K} storage nodes: the replicas the table lists for its partition`, async () => {
    const c = cluster();
    const keys: string[] = [];
    for (let i = 0; i < 90; i++) {
      const k = key(`placement-${i}`);
      keys.push(k);
      const fe = i % 2 === 0 ? A() : B();
      if (i % 3 === 0) ok(await get(setUrl(fe, k, `v${i}`)), `GET /set ${k}`);
      else if (i % 3 === 1) ok(await request('POST', `${fe}/set/?key=${enc(k)}`, `v${i}`), `POST /set ${k}`);
      else ok(await request('PUT', kvUrl(fe, k), `v${i}`), `v1 PUT ${k}`);
    }
    const table = await c.table();
    // The keys must exercise many replica sets for the check to mean anything.
    expect(new Set(keys.map((k) => replicasOf(table, k).join(','))).size).toBeGreaterThanOrEqual(3);

    // Quorum writes return after 2 of 3 acks: wait (briefly) for the third replica.
    const mismatches = await waitFor(
      async () => {
        const holders = await holdersByKey(c);
        const bad: Array<{ key: string; partition: number; expected: string[]; actual: string[]; reported?: number[] }> = [];
        for (const k of keys) {
          const h = holders.get(k);
          const p = partitionOf(k, D);
          const expected = replicasOf(table, k);
          if (!h || h.ids.join() !== expected.join() || h.partitions.some((x) => x !== p)) {
            bad.push({ key: k, partition: p, expected, actual: h?.ids ?? [], reported: h?.partitions });
          }
        }
        return bad;
      },
      { what: 'every key to be held on exactly its partition replicas', timeoutMs: 5000, until: (bad) => bad.length === 0 },
    );
    expect(mismatches).toEqual([]);
  });

  cit(`the table is balanced: each storage node holds ${PARTITIONS}*${K}/${STORAGE} partitions (±1)`, async () => {
    const c = cluster();
    const view = await c.clusterView();
    const share = (PARTITIONS * K) / STORAGE;
    const lo = Math.floor(share) - 1;
    const hi = Math.ceil(share) + 1;
    const storage = view.nodes.filter((n) => n.role === 'storage');
    expect(storage).toHaveLength(STORAGE);
    const counts = Object.fromEntries(storage.map((n) => [n.id, n.partitions]));
    for (const [id, n] of Object.entries(counts)) {
      expect({ id, partitions: n, inRange: typeof n === 'number' && n >= lo && n <= hi }).toEqual({ id, partitions: n, inRange: true });
    }
    expect(storage.reduce((s, n) => s + (n.partitions ?? 0), 0)).toBe(PARTITIONS * K);

    // The per-node counts agree with the table itself.
    const table = await c.table();
    const fromTable: Record<string, number> = {};
    for (const p of table.partitions) for (const id of p.replicas) fromTable[id] = (fromTable[id] ?? 0) + 1;
    expect(fromTable).toEqual(counts);
  });

  cit('bad usage of the original API is 501 with a FOG_ERR code, and stores nothing', async () => {
    const long = 'k'.repeat(KEY_BYTES_MAX + 1);
    const longMultibyte = 'é'.repeat(KEY_BYTES_MAX / 2 + 1); // 513 chars, 1026 bytes
    const noValue = key('set without value');
    const cases: Array<[string, string, string]> = [
      ['/get/ without key', `${A()}/get/`, 'FOG_ERR_KEY_MISSING'],
      ['/get/?key= (empty)', `${A()}/get/?key=`, 'FOG_ERR_KEY_MISSING'],
      ['/set/ without key', `${A()}/set/?value=v`, 'FOG_ERR_KEY_MISSING'],
      ['/set/ key=%01', `${A()}/set/?key=%01&value=v`, 'FOG_ERR_KEY_INVALID'],
      ['/get/ key with %7F inside', `${B()}/get/?key=a%7Fb`, 'FOG_ERR_KEY_INVALID'],
      ['/set/ key with newline', `${B()}/set/?key=${enc(key('a\nb'))}&value=v`, 'FOG_ERR_KEY_INVALID'],
      ['GET /set/ without value', `${A()}/set/?key=${enc(noValue)}`, 'FOG_ERR_VALUE_MISSING'],
      ['/set/ key of 1025 bytes', `${A()}/set/?key=${long}&value=v`, 'FOG_ERR_KEY_TOO_LONG'],
      ['/get/ key of 1025 bytes', `${B()}/get/?key=${long}`, 'FOG_ERR_KEY_TOO_LONG'],
      ['/set/ key of 513 two-byte chars', `${A()}/set/?key=${enc(longMultibyte)}&value=v`, 'FOG_ERR_KEY_TOO_LONG'],
    ];
    for (const [what, url, code] of cases) expectUsageError(await get(url), code, what);

    const tooBig = await request('POST', `${A()}/set/?key=${enc(key('too big'))}`, Buffer.alloc(VALUE_BYTES_MAX + 1, 0x61));
    expectUsageError(tooBig, 'FOG_ERR_VALUE_TOO_LARGE', 'POST /set/ value of 1 MiB + 1');
    // A 1 MiB query string is refused by the HTTP layer before the app sees it (Node's header
    // limit is 16 KiB): 431, and the server closes the connection, which the client may see as a
    // reset while it is still sending. Either way nothing may be stored.
    const tooBigGet = await get(`${A()}/set/?key=${enc(key('too big get'))}&value=${'b'.repeat(VALUE_BYTES_MAX + 1)}`)
      .then((r) => r.status, (e: NodeJS.ErrnoException) => e.code ?? e.message);
    expect([414, 431, 501, 'ECONNRESET', 'EPIPE']).toContain(tooBigGet);
    expect((await get(getUrl(B(), key('too big get')))).status).toBe(404);
    const repeated = await get(`${A()}/set/?key=a&key=b&value=v`);
    expect(repeated.status).toBe(501);

    // Nothing was stored by a refused request.
    expect((await get(getUrl(B(), noValue))).status).toBe(404);
    expect((await get(getUrl(B(), key('too big')))).status).toBe(404);

    // The limits are inclusive: a 1024-byte key and a 1 MiB value are accepted and read back.
    const edgeKey = `${run}-`.padEnd(KEY_BYTES_MAX, 'x');
    expect(Buffer.byteLength(edgeKey)).toBe(KEY_BYTES_MAX);
    ok(await get(setUrl(A(), edgeKey, 'edge')), 'set with a 1024-byte key');
    expect(ok(await get(getUrl(B(), edgeKey)), 'get with a 1024-byte key').text).toBe('edge');
    const maxValue = randomBytes(VALUE_BYTES_MAX);
    ok(await request('POST', `${A()}/set/?key=${enc(key('max value'))}`, maxValue), 'POST a 1 MiB value');
    expect(ok(await get(getUrl(B(), key('max value'))), 'get a 1 MiB value').body.equals(maxValue)).toBe(true);
  });

  cit('original API: a POST body beyond the request body limit is still a 501 usage error', async () => {
    // 9 MiB: over the value limit (1 MiB) and over the frontend's default request body limit
    // (8 MiB). The original API answers every usage error with 501 and a FOG_ERR text line.
    const k = key('nine MiB');
    const res = await request('POST', `${A()}/set/?key=${enc(k)}`, Buffer.alloc(9 * 1024 * 1024, 0x63));
    expect({ status: res.status, body: res.text.slice(0, 200) }).toEqual({ status: 501, body: expect.stringMatching(USAGE_BODY_RE) });
    expect(['FOG_ERR_VALUE_TOO_LARGE', 'FOG_ERR_BODY_TOO_LARGE']).toContain(USAGE_BODY_RE.exec(res.text)?.[1]);
    expect((await get(getUrl(B(), k))).status).toBe(404);
  });

  cit('bad v1 input is 400 with a JSON error code (413 for an oversized value)', async () => {
    const k = key('v1 bad input');
    const long = 'k'.repeat(KEY_BYTES_MAX + 1);
    const cases: Array<[string, 'GET' | 'PUT' | 'DELETE', string, number, string]> = [
      ['PUT control character key', 'PUT', `${A()}/v1/kv/%01`, 400, 'FOG_ERR_KEY_INVALID'],
      ['GET key with DEL inside', 'GET', `${B()}/v1/kv/a%7Fb`, 400, 'FOG_ERR_KEY_INVALID'],
      ['GET 1025-byte key', 'GET', `${A()}/v1/kv/${long}`, 400, 'FOG_ERR_KEY_TOO_LONG'],
      ['PUT 1025-byte key', 'PUT', `${B()}/v1/kv/${long}`, 400, 'FOG_ERR_KEY_TOO_LONG'],
      ['PUT w=4 (> K)', 'PUT', kvUrl(A(), k, '?w=4'), 400, 'FOG_ERR_BAD_CONSISTENCY'],
      ['PUT w=0', 'PUT', kvUrl(A(), k, '?w=0'), 400, 'FOG_ERR_BAD_CONSISTENCY'],
      ['PUT w=two', 'PUT', kvUrl(A(), k, '?w=two'), 400, 'FOG_ERR_BAD_CONSISTENCY'],
      ['PUT w given twice', 'PUT', kvUrl(A(), k, '?w=one&w=all'), 400, 'FOG_ERR_BAD_CONSISTENCY'],
      ['GET r=5', 'GET', kvUrl(B(), k, '?r=5'), 400, 'FOG_ERR_BAD_CONSISTENCY'],
      ['GET r=most', 'GET', kvUrl(B(), k, '?r=most'), 400, 'FOG_ERR_BAD_CONSISTENCY'],
      ['GET r=-1', 'GET', kvUrl(B(), k, '?r=-1'), 400, 'FOG_ERR_BAD_CONSISTENCY'],
      ['DELETE w=bogus', 'DELETE', kvUrl(A(), k, '?w=bogus'), 400, 'FOG_ERR_BAD_CONSISTENCY'],
    ];
    for (const [what, method, url, status, code] of cases) expectJsonError(await request(method, url, method === 'PUT' ? 'v' : undefined), status, code, what);
    expectJsonError(await request('PUT', kvUrl(A(), k), Buffer.alloc(VALUE_BYTES_MAX + 1, 0x62)), 413, 'FOG_ERR_VALUE_TOO_LARGE', 'PUT 1 MiB + 1');
    // None of the refused writes stored anything.
    expectJsonError(await get(kvUrl(B(), k)), 404, 'FOG_ERR_NOT_FOUND', 'GET after refused writes');
  });

  cit('bad v1 percent-encoding in the key is a 400 with a JSON error code', async () => {
    // A truncated escape and a lone surrogate (%ED%A0%80) cannot be decoded into a key.
    expectJsonError(await get(`${A()}/v1/kv/abc%E0%A4%A`), 400, 'FOG_ERR_KEY_INVALID', 'GET truncated %-escape');
    expectJsonError(await request('PUT', `${B()}/v1/kv/%ED%A0%80`, 'v'), 400, 'FOG_ERR_KEY_INVALID', 'PUT lone surrogate');
  });

  cit('no process crashed after the bad input: every /health answers 200', async () => {
    const c = cluster();
    expect(c.crashes()).toEqual([]);
    const statuses = await c.healthStatuses();
    expect(Object.values(statuses)).toHaveLength(1 + STORAGE + FRONTENDS);
    for (const [name, status] of Object.entries(statuses)) expect({ name, status }).toEqual({ name, status: 200 });
  });

  cit('every /metrics is valid Prometheus text, and request counters count the requests made', async () => {
    const c = cluster();
    const promtool = hasPromtool();
    for (const { name, url } of c.urls()) {
      const { text } = await metricsOf(url);
      if (promtool) {
        const r = promtoolCheckMetrics(text);
        if (r.status !== 0) throw new Error(`promtool check metrics failed for ${name} (exit ${r.status}):\n${r.output}`);
      }
    }

    // Frontend A: exact deltas per op and status.
    const requests = 'fog_http_requests_total';
    const before = (await metricsOf(A())).samples;
    const N = 3;
    for (let i = 0; i < N; i++) ok(await get(setUrl(A(), key(`metrics-${i}`), 'm')), 'set for metrics');
    ok(await request('PUT', kvUrl(A(), key('metrics-v1')), 'm'), 'v1 PUT for metrics');
    expect((await get(getUrl(A(), key('metrics-missing')))).status).toBe(404);
    expect((await get(`${A()}/get/?key=%01`)).status).toBe(501);
    const after = (await metricsOf(A())).samples;
    const delta = (name: string, labels: Record<string, string>) => (sampleValue(after, name, labels) ?? 0) - (sampleValue(before, name, labels) ?? 0);
    expect({
      set200: delta(requests, { op: 'set', status: '200' }),
      kvPut200: delta(requests, { op: 'kv_put', status: '200' }),
      get404: delta(requests, { op: 'get', status: '404' }),
      get501: delta(requests, { op: 'get', status: '501' }),
      set200Latency: delta('fog_http_request_duration_seconds_count', { op: 'set', status: '200' }),
    }).toEqual({ set200: N, kvPut200: 1, get404: 1, get501: 1, set200Latency: N });
    expect(sampleValue(after, requests, { op: 'set', status: '200' })).toBeGreaterThan(0);
    expect(sampleValue(after, 'fog_frontend_table_epoch')).toBe(1);
    expect(sampleValue(after, 'fog_frontend_replica_requests_total', { op: 'put', outcome: 'ok' })).toBeGreaterThan(0);

    // Storage: the replicas of the writes served internal requests and applied them.
    const storageTotals = async () => {
      let ops = 0;
      let applied = 0;
      for (let i = 0; i < c.storageCount; i++) {
        const s = (await metricsOf(c.storageUrl(i))).samples;
        expect(sampleValue(s, 'fog_storage_table_epoch')).toBe(1);
        ops += sampleValue(s, requests, { op: 'internal_ops', status: '200' }) ?? 0;
        applied += sampleValue(s, 'fog_storage_writes_total', { outcome: 'applied' }) ?? 0;
      }
      return { ops, applied };
    };
    const s0 = await storageTotals();
    for (let i = 0; i < N; i++) ok(await request('PUT', kvUrl(B(), key(`metrics-storage-${i}`), '?w=all'), 's'), 'v1 PUT w=all');
    const s1 = await storageTotals();
    // Every replica of every write applied it (background repair could only add to this).
    expect(s1.applied - s0.applied).toBeGreaterThanOrEqual(N * K);
    expect(s1.ops - s0.ops).toBeGreaterThanOrEqual(N * K);

    // Controller: every node registered; heartbeats keep arriving.
    const ctrl = (await metricsOf(c.controllerUrl)).samples;
    expect(sampleValue(ctrl, 'fog_controller_table_epoch')).toBe(1);
    expect(sampleValue(ctrl, requests, { op: 'register', status: '200' })).toBeGreaterThanOrEqual(STORAGE + FRONTENDS);
    expect(sampleValue(ctrl, 'fog_controller_nodes', { role: 'storage', state: 'up' })).toBe(STORAGE);
    expect(sampleValue(ctrl, 'fog_controller_nodes', { role: 'frontend', state: 'up' })).toBe(FRONTENDS);
    const hb0 = sampleValue(ctrl, requests, { op: 'heartbeat', status: '200' }) ?? 0;
    await waitFor(() => counter(c.controllerUrl, requests, { op: 'heartbeat', status: '200' }), {
      what: `the controller's heartbeat counter to rise above ${hb0}`,
      timeoutMs: 10_000,
      intervalMs: 200,
      until: (n) => n > hb0,
    });
  });
});

describe(`replica failures: K=${K} with one and then two replicas of a partition killed`, () => {
  const { cluster, it: cit } = useCluster({ storage: STORAGE, frontends: FRONTENDS, redundancy: K, digits: D, label: 'failures' });
  const A = () => cluster().frontendUrl(0);
  const B = () => cluster().frontendUrl(1);
  const k = key('failure target');
  /** Storage indexes of the key's K replicas, in table order. */
  const replicaIndexes = async (c: Cluster) => (await c.table()).partitions[partitionOf(k, D)].replicas.map((id) => c.storageIndexOf(id));

  cit('with one of the three replicas SIGKILLed, both frontends read and write the key on both APIs', async () => {
    const c = cluster();
    const victims = await replicaIndexes(c);
    expect(victims).toHaveLength(K);
    ok(await request('PUT', kvUrl(A(), k, '?w=all'), 'before'), 'write to all 3 replicas');

    const status = await c.killStorage(victims[0]);
    expect(status.signal).toBe('SIGKILL');
    expect((await get(`${c.storageUrl(victims[0])}/health`).catch((e: Error) => e)) instanceof Error).toBe(true);

    let n = 0;
    for (const [writer, reader] of [[A(), B()], [B(), A()]] as const) {
      expect(ok(await get(getUrl(reader, k)), 'original read with one replica down').text).toBe(n === 0 ? 'before' : `v1-${n - 1}`);
      ok(await get(setUrl(writer, k, `orig-${n}`)), 'original write with one replica down');
      expect(ok(await get(getUrl(reader, k)), 'original read back').text).toBe(`orig-${n}`);
      expect(ok(await get(kvUrl(reader, k)), 'v1 read back').text).toBe(`orig-${n}`);
      const put = ok(await request('PUT', kvUrl(writer, k), `v1-${n}`), 'v1 write with one replica down');
      expect(put.headers['x-fog-replicas']).toBe('2');
      expect(ok(await get(kvUrl(reader, k)), 'v1 read with one replica down').text).toBe(`v1-${n}`);
      n++;
    }
    // All three replicas are needed for w=all: with one down it cannot be met.
    expectJsonError(await request('PUT', kvUrl(A(), k, '?w=all'), 'x'), 503, 'FOG_ERR_QUORUM_NOT_MET', 'w=all with one replica down');
  });

  cit('with two of three killed, a default (quorum) v1 write is 503 FOG_ERR_QUORUM_NOT_MET and w=one succeeds', async () => {
    const c = cluster();
    const victims = await replicaIndexes(c);
    for (const v of victims.slice(0, 2)) if (c.storageProcess(v).running) await c.killStorage(v);
    expect(victims.map((v) => c.storageProcess(v).running)).toEqual([false, false, true]);

    const refused = await request('PUT', kvUrl(A(), k), 'quorum');
    expectJsonError(refused, 503, 'FOG_ERR_QUORUM_NOT_MET', 'quorum write with two replicas down');
    expect(jsonOf<{ error: { details?: Record<string, unknown> } }>(refused).error.details).toMatchObject({ required: 2, replicas: K });
    expect(jsonOf<{ error: { details: { answered: number } } }>(refused).error.details.answered).toBeLessThan(2);
    expectJsonError(await request('PUT', kvUrl(B(), k, '?w=quorum'), 'quorum'), 503, 'FOG_ERR_QUORUM_NOT_MET', 'w=quorum via B');
    expectJsonError(await get(kvUrl(A(), k)), 503, 'FOG_ERR_QUORUM_NOT_MET', 'quorum read with two replicas down');

    const one = ok(await request('PUT', kvUrl(B(), k, '?w=one'), 'only-one'), 'w=one with two replicas down');
    expect(one.headers['x-fog-replicas']).toBe('1');
    expect(ok(await get(kvUrl(A(), k, '?r=one')), 'r=one read').text).toBe('only-one');
  });

  cit('killed storage nodes restart on the same port and id, copy back what they lost, and w=all writes succeed again', async () => {
    const c = cluster();
    const before = await c.clusterView();
    const victims = await replicaIndexes(c);
    for (const v of victims.slice(0, 2)) if (!c.storageProcess(v).running) await c.restartStorage(v);
    expect(victims.map((v) => c.storageProcess(v).running)).toEqual([true, true, true]);
    // They came back empty (no --data-dir): pending replicas that copy before serving again.
    const after = await waitFor(() => c.clusterView(), {
      what: 'the restarted replicas to finish copying their partitions back',
      timeoutMs: 30_000,
      until: (v) => !v.planning && v.movesPending === 0 && v.nodes.every((n) => !n.pendingPartitions),
    });
    // The restarted nodes hold the controller's current table under their old ids.
    for (const v of victims.slice(0, 2)) {
      await waitFor(() => getJson<{ id: string; epoch: number }>(`${c.storageUrl(v)}/health`), {
        what: `restarted ${c.storageId(v)} to hold epoch ${after.epoch}`,
        timeoutMs: 10_000,
        until: (h) => h.id === c.storageId(v) && h.epoch === after.epoch,
      });
    }
    expect(after.nodes.map((n) => `${n.id}@${n.address}`).sort()).toEqual(before.nodes.map((n) => `${n.id}@${n.address}`).sort());

    ok(await request('PUT', kvUrl(A(), k, '?w=all'), 'after-restart'), 'w=all after restart');
    expect(ok(await get(kvUrl(B(), k, '?r=all')), 'r=all after restart').text).toBe('after-restart');
    expect(c.crashes()).toEqual([]);
  });
});

describe('command lines', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeTempDir('cli');
  });
  afterAll(() => removeTempDir(dir));

  const refusals: Array<[string, (port: number) => string[], RegExp]> = [
    ['REDUNDANCY > NUM_STORAGE', (p) => [String(p), '2', '3'], /redundancy 3 needs at least 3 storage nodes/],
    ['a non-numeric NUM_STORAGE', (p) => [String(p), 'four', '3'], /expected-storage .*must be an integer/],
    ['REDUNDANCY 0', (p) => [String(p), '4', '0'], /redundancy must be/],
    ['too many positionals', (p) => [String(p), '4', '3', '9'], /too many positional arguments/],
    ['partition digits out of range', (p) => [String(p), '4', '3', '--partition-digits', '9'], /partition-digits must be/],
    ['an unknown flag', (p) => [String(p), '4', '3', '--bogus-flag'], /Unknown argument.*bogus-flag/i],
  ];

  it.each(refusals)('the controller refuses %s with a non-zero exit and a message on stderr', async (_what, argsFor, message) => {
    const port = await freePort();
    const proc = AppProcess.spawn({ app: 'controller', name: `controller-bad-${port}`, logDir: dir, args: argsFor(port), lifetime: 'test' });
    const status = await proc.waitExit(15_000).catch(async (err: Error) => {
      throw new Error(`${err.message}: it should have refused its arguments\n${proc.tail()}`);
    });
    expect(status.signal).toBeNull();
    expect(status.code).not.toBe(0);
    expect(status.code).not.toBeNull();
    expect(proc.stderrText()).toMatch(message);
    // It never listened.
    expect((await get(`http://127.0.0.1:${port}/health`).catch((e: Error) => e)) instanceof Error).toBe(true);
  });

  it('storage and frontend refuse a malformed OWN_HOST:PORT with a non-zero exit and a message on stderr', async () => {
    const port = await freePort();
    for (const app of ['storage', 'frontend'] as const) {
      const proc = AppProcess.spawn({ app, name: `${app}-bad`, logDir: dir, args: [`127.0.0.1:${port}`, 'not-an-address'], lifetime: 'test' });
      const status = await proc.waitExit(15_000);
      expect({ app, signal: status.signal, failed: status.code !== 0 && status.code !== null, stderr: proc.stderrText() }).toEqual({
        app, signal: null, failed: true, stderr: expect.stringMatching(/address must be host:port/),
      });
    }
  });

  it('a controller started with the original arguments answers /health and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const proc = AppProcess.spawn({ app: 'controller', name: 'controller-ok', logDir: dir, args: [String(port), '1', '1'], lifetime: 'test' });
    const health = await waitFor(() => getJson<{ status: string; role: string; epoch: number }>(`http://127.0.0.1:${port}/health`), {
      what: 'the controller to answer /health',
      timeoutMs: 15_000,
      abortIf: () => (proc.running ? null : `it exited:\n${proc.tail()}`),
    });
    expect(health).toMatchObject({ status: 'ok', role: 'controller', epoch: 0 });
    expectJsonError(await get(`http://127.0.0.1:${port}/v1/table`), 503, 'FOG_ERR_NO_TABLE', 'table before formation');
    const status = await proc.stop(5000);
    expect(status).toEqual({ code: 0, signal: null });
  });
});
