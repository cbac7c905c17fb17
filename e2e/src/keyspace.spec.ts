import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { partitionOf } from '@fog/partitioning';
import type { BatchResponse, LocateResponse, ScanResponse } from '@fog/protocol';
import { installProcessSafetyNet, jsonOf, request, useCluster, type HttpResponse } from './harness';
import { useFogctl } from './fogctl-process';

installProcessSafetyNet();

const GiB = 1024 ** 3;
const K = 3;
const D = 2; // 256 partitions: a scan merges all of them
const KEYS = 1200;

const run = randomBytes(4).toString('hex');
const enc = encodeURIComponent;

function ok(res: HttpResponse, what: string): HttpResponse {
  if (res.status !== 200) throw new Error(`${what}: expected 200, got ${res.status} ${res.text.slice(0, 300)}`);
  return res;
}

describe('keyspace scans and the original API on the real stack', () => {
  // Storage 0 weighs by its memory limit (4 GiB: weight 2), storage 1 by its CPUs, storage 2 by the flag's default.
  const { cluster, it } = useCluster({
    storage: 3, frontends: 2, redundancy: K, digits: D, label: 'keyspace',
    storageArgs: (i) => (i === 0 ? ['--weight', 'auto:memory', '--max-memory-bytes', String(4 * GiB)] : i === 1 ? ['--weight', 'auto:cpu'] : []),
  });
  const fogctl = useFogctl();
  const fe = (i = 0) => cluster().frontendUrl(i);
  const written = new Map<string, string>();

  /** Every page of GET /v1/kv through one frontend, following `next`. */
  async function scanAll(frontend: string, query: string): Promise<{ pages: number; items: ScanResponse['items'] }> {
    const items: ScanResponse['items'] = [];
    let after: string | null = null;
    for (let pages = 1; ; pages++) {
      const page: ScanResponse = jsonOf<ScanResponse>(ok(await request('GET', `${frontend}/v1/kv?${query}${after === null ? '' : `&after=${enc(after)}`}`), 'scan page'));
      items.push(...page.items);
      if (page.next === null) return { pages, items };
      if (pages > 10_000) throw new Error('the scan does not end');
      after = page.next;
    }
  }

  it('lists every key written, across all partitions, in key order and page by page, through either frontend and fogctl ls', async () => {
    const ops = Array.from({ length: KEYS }, (_, i) => ({ op: 'put', key: `${run}/k${String(i).padStart(5, '0')}`, value: `value ${i}` }));
    for (let i = 0; i < ops.length; i += 400) {
      const res = jsonOf<BatchResponse>(ok(await request('POST', `${fe()}/v1/batch`, JSON.stringify({ ops: ops.slice(i, i + 400) }), { 'content-type': 'application/json' }), 'batch'));
      expect(res.results.every((r) => r.status === 200)).toBe(true);
    }
    for (const o of ops) written.set(o.key, o.value);
    // Deleted keys disappear from scans; bucket items stay out of them; other prefixes too.
    for (let i = 0; i < KEYS; i += 50) {
      ok(await request('DELETE', `${fe(1)}/v1/kv/${enc(ops[i].key)}`), 'delete');
      written.delete(ops[i].key);
    }
    ok(await request('PUT', `${fe()}/v1/buckets/${run}/items/x`, 'bucket item'), 'bucket put');
    ok(await request('PUT', `${fe()}/v1/kv/${enc(`other-${run}`)}`, 'elsewhere'), 'other prefix');
    const want = [...written.keys()].sort();
    expect(new Set(want.map((k) => partitionOf(k, D))).size).toBeGreaterThan(200);

    const names = await scanAll(fe(1), `prefix=${enc(`${run}/`)}&keys=only&limit=97`);
    expect(names.items.map((i) => i.key)).toEqual(want);
    expect(names.pages).toBeGreaterThanOrEqual(Math.ceil(want.length / 97));
    expect(names.items.every((i) => i.value === undefined && i.bytes === Buffer.byteLength(written.get(i.key)!))).toBe(true);

    const full = await scanAll(fe(0), `prefix=${enc(`${run}/`)}&limit=250`);
    expect(full.items.map((i) => [i.key, i.value])).toEqual(want.map((k) => [k, written.get(k)]));

    const ls = await fogctl(['ls', `${run}/`, '--frontend', fe(0).replace('http://', '')]);
    expect({ code: ls.code, err: ls.err }).toEqual({ code: 0, err: '' });
    expect(ls.out.split('\n').filter(Boolean)).toEqual(want);
    const first = await fogctl(['ls', `${run}/`, '--limit', '5', '--json', '--frontend', fe(1).replace('http://', '')]);
    expect(first.out.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { key: string }).key)).toEqual(want.slice(0, 5));
  });

  it('derives weights from capacity (--weight auto), reports them at registration, and locate says so', async () => {
    const c = cluster();
    const view = jsonOf<{ nodes: Array<{ id: string; weight: number; weightBasis?: Record<string, unknown> }> }>(ok(await request('GET', `${c.controllerUrl}/v1/cluster`), 'cluster'));
    const byId = new Map(view.nodes.map((n) => [n.id, n]));
    expect(byId.get(c.storageId(0))).toMatchObject({ weight: 2, weightBasis: { mode: 'auto:memory', memoryBytes: 4 * GiB, memorySource: 'limit', limitedBy: 'memory', cpus: os.availableParallelism() } });
    expect(byId.get(c.storageId(1))).toMatchObject({ weight: Math.min(100, os.availableParallelism()), weightBasis: { mode: 'auto:cpu', limitedBy: 'cpu' } });
    expect(byId.get(c.storageId(2))?.weight).toBe(1);
    expect(byId.get(c.storageId(2))?.weightBasis).toBeUndefined();
    // The table carries the derived weights (placement uses them).
    const table = await c.table();
    expect(table.nodes[c.storageId(0)].weight).toBe(2);

    const loc = jsonOf<LocateResponse>(ok(await request('GET', `${fe()}/v1/locate/${enc(`${run}/where`)}`), 'locate'));
    const replica = (i: number) => loc.replicas.find((r) => r.id === c.storageId(i))!;
    expect(replica(0).weightReason).toBe(`weight 2 from --weight auto:memory: ${os.availableParallelism()} CPUs, 4.0 GiB memory limit (by memory alone)`);
    expect(replica(2).weightReason).toBe('weight 1 (set by --weight)');
    const text = await fogctl(['locate', `${run}/where`, '--frontend', fe(1).replace('http://', '')]);
    expect(text.code).toBe(0);
    expect(text.out).toContain(`Its weight 2 from --weight auto:memory`);
    expect(text.out).toMatch(/WEIGHT/);
  });

  it('refuses a bad scan with a clear 400 and no listing', async () => {
    for (const [query, code] of [['prefx=a', 'FOG_ERR_UNKNOWN_FIELD'], ['limit=0', 'FOG_ERR_BAD_REQUEST'], ['limit=1001', 'FOG_ERR_BAD_REQUEST'], ['partition=256', 'FOG_ERR_BAD_REQUEST']]) {
      const res = await request('GET', `${fe()}/v1/kv?${query}`);
      expect({ query, status: res.status, code: jsonOf<{ error: { code: string } }>(res).error.code }).toEqual({ query, status: 400, code });
    }
  });

  it('original API: a POST with a value in the query and a body is a 501 that stores nothing; a batch op with an unknown field is a 400 that stores nothing', async () => {
    const k = `${run}/orig`;
    ok(await request('GET', `${fe()}/set/?key=${enc(k)}&value=first`), 'set');
    const both = await request('POST', `${fe()}/set/?key=${enc(k)}&value=query`, 'body');
    expect({ status: both.status, type: both.headers['content-type'] }).toEqual({ status: 501, type: 'text/plain; charset=utf-8' });
    expect(both.text).toMatch(/^FOG_ERR_BAD_REQUEST: [^\n]+\n$/);
    expect(ok(await request('GET', `${fe(1)}/get/?key=${enc(k)}`), 'get').text).toBe('first');

    const batch = await request('POST', `${fe()}/v1/batch`, JSON.stringify({ ops: [{ op: 'put', key: k, value: 'overwritten', ifNoneMatch: '*' }] }), { 'content-type': 'application/json' });
    expect(batch.status).toBe(400);
    expect(jsonOf<{ error: { code: string; details: unknown } }>(batch).error).toMatchObject({ code: 'FOG_ERR_UNKNOWN_FIELD', details: { index: 0, fields: ['ifNoneMatch'] } });
    expect(ok(await request('GET', `${fe(1)}/get/?key=${enc(k)}`), 'get').text).toBe('first');
  });

  it('original API: when the replicas cannot answer, /get/ and /set/ answer 503 in the same one-line text form as their 501s', async () => {
    const c = cluster();
    c.pauseStorage(1);
    c.pauseStorage(2);
    try {
      for (const url of [`${fe()}/get/?key=${enc(`${run}/orig`)}`, `${fe(1)}/set/?key=${enc(`${run}/orig`)}&value=x`]) {
        const res = await request('GET', url);
        expect({ url, status: res.status >= 503 && res.status <= 504, type: res.headers['content-type'] }).toEqual({ url, status: true, type: 'text/plain; charset=utf-8' });
        expect(res.text).toMatch(/^FOG_ERR_[A-Z_]+: [^\n]+\n$/);
      }
    } finally {
      c.resumeStorage(1);
      c.resumeStorage(2);
    }
  });
});
