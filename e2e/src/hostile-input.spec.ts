import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Method } from 'axios';
import type { PartitionTable } from '@fog/protocol';
import { assertValidExposition, get, getJson, installProcessSafetyNet, jsonOf, request, sampleValue, useCluster, type HttpResponse } from './harness';

installProcessSafetyNet();

/**
 * Malformed and oversized input to every internal and admin route (and the client routes that
 * take bodies) of a running cluster: no process exits, every answer is a 4xx/5xx JSON error,
 * the data written before is still there, the tables do not move, memory stays bounded, and
 * no key reaches a log line.
 */
const run = randomBytes(4).toString('hex');
const D = 1;
const BODY_MAX = 1024 * 1024;
const INFLIGHT_MAX = 4 * BODY_MAX;
const LIMIT_FLAGS = ['--internal-body-bytes-max', String(BODY_MAX), '--internal-inflight-bytes-max', String(INFLIGHT_MAX)];
/** Growth of a storage node's resident memory tolerated over 100 concurrent bodies at the limit (100 MiB of traffic). */
const RSS_GROWTH_BYTES_MAX = 150 * 1024 * 1024;
/** Marks every key this test uses, so that logs can be searched for them. */
const KEY_MARK = `hostile-key-${run}`;

interface Probe {
  name: string;
  method: Method;
  path: string;
  body?: string | Buffer;
}

/** Bodies every JSON route gets: wrong types, nulls, NaN/huge numbers, truncated JSON. */
const GENERIC_BODIES: Array<[string, string]> = [
  ['null', 'null'],
  ['an empty array', '[]'],
  ['an array of null', '[null]'],
  ['a string', '"text"'],
  ['a huge number', '1e309'],
  ['truncated JSON', '{"epoch": 1, "ops": [{"op": "get", '],
  ['not JSON', 'NaN'],
  ['an object of wrong types', '{"epoch": "1", "ops": "x", "p": null, "id": 7, "partition": -1, "entries": {}, "partitions": 5, "digits": null}'],
  ['numbers out of range', '{"epoch": 1e300, "p": 9007199254740993, "partition": 1e20, "limit": -5, "keysCopied": NaN}'],
];

const version = (ms: number) => ({ ms, c: 0, w: 'intruder' });
const FAR_MS = Number.MAX_SAFE_INTEGER;

describe('hostile input to a running cluster', () => {
  const { cluster, it } = useCluster({
    storage: 3, frontends: 1, redundancy: 3, digits: D, label: 'hostile',
    storageArgs: () => LIMIT_FLAGS, frontendArgs: LIMIT_FLAGS,
  });

  const written = new Map<string, string>();
  let tableBefore = '';

  const kv = (key: string) => `${cluster().frontendUrl(0)}/v1/kv/${encodeURIComponent(key)}`;
  const tableOf = (t: PartitionTable) => JSON.stringify({ epoch: t.epoch, partitions: t.partitions.map((e) => [e.replicas, e.pending]), nodes: Object.keys(t.nodes).sort() });

  /** Every storage node and the frontend hold the controller's table, unchanged since the start. */
  async function expectTablesUnchanged(): Promise<void> {
    const c = cluster();
    const controller = tableOf(await c.table());
    expect(controller).toBe(tableBefore);
    for (let i = 0; i < c.storageCount; i++) expect(tableOf(await getJson<PartitionTable>(`${c.storageUrl(i)}/internal/v1/table`))).toBe(tableBefore);
    expect(tableOf(await getJson<PartitionTable>(`${c.frontendUrl(0)}/internal/v1/table`))).toBe(tableBefore);
  }

  async function expectDataIntact(): Promise<void> {
    for (const [key, value] of written) {
      const res = await request('GET', `${kv(key)}?r=all`);
      expect({ key, status: res.status, text: res.text }).toEqual({ key, status: 200, text: value });
    }
  }

  function expectErrorJson(p: Probe, res: HttpResponse): void {
    const what = `${p.method} ${p.path} with ${p.name}: ${res.status} ${res.text.slice(0, 200)}`;
    expect({ what, refused: res.status >= 400 && res.status < 600 }).toEqual({ what, refused: true });
    expect({ what, json: (res.headers['content-type'] ?? '').includes('application/json') }).toEqual({ what, json: true });
    const body = jsonOf<{ error?: { code?: string } }>(res);
    expect({ what, code: body.error?.code }).toEqual({ what, code: expect.stringMatching(/^FOG_ERR_[A-Z_]+$/) });
  }

  async function send(p: Probe): Promise<HttpResponse> {
    return request(p.method, p.path, p.body, { 'content-type': 'application/json' });
  }

  it('stores keys to check later', async () => {
    for (let i = 0; i < 20; i++) {
      const key = `${KEY_MARK}-${i}`;
      const value = `value-${i}-${run}`;
      const res = await request('PUT', kv(key), value);
      expect(res.status).toBe(200);
      written.set(key, value);
    }
    tableBefore = tableOf(await cluster().table());
    await expectTablesUnchanged();
  });

  it('refuses each hostile request listed in the issue, and changes nothing', async () => {
    const c = cluster();
    const hostileTable = JSON.stringify({ epoch: 1e15, partitions: [] });
    const probes: Array<Probe & { status: number; code: string }> = [];
    for (let i = 0; i < c.storageCount; i++) {
      const s = c.storageUrl(i);
      probes.push(
        { name: 'the 1e15 table', method: 'PUT', path: `${s}/internal/v1/table`, body: hostileTable, status: 400, code: 'FOG_ERR_BAD_TABLE' },
        { name: 'ops with a null', method: 'POST', path: `${s}/internal/v1/ops`, body: JSON.stringify({ epoch: 1, ops: [null] }), status: 400, code: 'FOG_ERR_BAD_REQUEST' },
        {
          name: 'a write stamped ms=2^53-1', method: 'POST', path: `${s}/internal/v1/ops`,
          body: JSON.stringify({ epoch: 1, ops: [{ op: 'put', p: 0, key: `${KEY_MARK}-far`, ver: version(FAR_MS), val: null }] }), status: 400, code: 'FOG_ERR_VERSION_AHEAD',
        },
        {
          name: 'an anti-entropy push stamped ms=2^53-1', method: 'POST', path: `${s}/internal/v1/ae/push`,
          body: JSON.stringify({ epoch: 1, from: 'intruder', p: 0, entries: [{ key: `${KEY_MARK}-0`, ver: version(FAR_MS), val: null }] }), status: 400, code: 'FOG_ERR_VERSION_AHEAD',
        },
      );
    }
    probes.push({ name: 'the 1e15 table on the client port', method: 'PUT', path: `${c.frontendUrl(0)}/internal/v1/table`, body: hostileTable, status: 400, code: 'FOG_ERR_BAD_TABLE' });
    probes.push({
      name: 'an existing storage id at another address', method: 'POST', path: `${c.controllerUrl}/v1/nodes`,
      body: JSON.stringify({ id: c.storageId(0), role: 'storage', address: '127.0.0.1:1', zone: 'default', weight: 100 }), status: 409, code: 'FOG_ERR_CLUSTER_MISMATCH',
    });
    probes.push({
      name: 'a copy-done report from a node that is not pending', method: 'POST', path: `${c.controllerUrl}/v1/nodes/${c.storageId(1)}/handoff`,
      body: JSON.stringify({ partition: 0, epoch: 1, keysCopied: 0, bytesCopied: 0, done: true }), status: 421, code: 'FOG_ERR_WRONG_NODE',
    });
    probes.push({
      name: 'a copy-done report from a made-up node', method: 'POST', path: `${c.controllerUrl}/v1/nodes/made-up/handoff`,
      body: JSON.stringify({ partition: 0, epoch: 1, keysCopied: 0, bytesCopied: 0, done: true }), status: 404, code: 'FOG_ERR_NODE_NOT_FOUND',
    });
    for (const p of probes) {
      const res = await send(p);
      expectErrorJson(p, res);
      expect({ probe: `${p.name} → ${p.path}`, status: res.status, code: jsonOf<{ error: { code: string } }>(res).error.code }).toEqual({ probe: `${p.name} → ${p.path}`, status: p.status, code: p.code });
    }
    // The frontend still serves, with its table.
    const res = await request('GET', kv(`${KEY_MARK}-0`));
    expect(res.status).toBe(200);
    expect((await get(`${c.frontendUrl(0)}/ready`)).status).toBe(200);
    const refused = sampleValue(assertValidExposition((await get(`${c.storageUrl(0)}/metrics`)).text, 'storage metrics').samples, 'fog_internal_refused_total', { reason: 'version_ahead' });
    expect(refused).toBe(2);
    await expectTablesUnchanged();
    await expectDataIntact();
    expect(c.crashes()).toEqual([]);
  });

  it('answers every malformed body on every internal and admin route with a JSON error', async () => {
    const c = cluster();
    const opsBodies: Array<[string, string]> = [
      ['ops with nulls and wrong types', JSON.stringify({ epoch: 1, ops: [{ op: 'get', p: 0, key: `${KEY_MARK}-0` }, { op: 'put', p: null, key: 5, ver: 'x' }, null] })],
      ['ops with huge numbers', '{"epoch": 1, "ops": [{"op": "get", "p": 1e400, "key": "k"}]}'],
      ['a put with a NaN-like version', JSON.stringify({ epoch: 1, ops: [{ op: 'put', p: 0, key: `${KEY_MARK}-0`, ver: { ms: 'NaN', c: 0, w: 'x' }, val: null }] })],
    ];
    const tableBodies: Array<[string, string]> = [
      ['a table with null partitions', JSON.stringify({ epoch: 2 ** 52, digits: D, redundancy: 3, partitions: Array.from({ length: 16 }, () => null), nodes: {} })],
    ];
    const batchBodies: Array<[string, string]> = [['a batch with nulls', JSON.stringify({ ops: [null, { op: 'put', key: null, value: 5 }] })]];
    const routes: Array<{ method: Method; path: string; bodies?: Array<[string, string]> }> = [];
    for (let i = 0; i < c.storageCount; i++) {
      const s = c.storageUrl(i);
      routes.push(
        { method: 'POST', path: `${s}/internal/v1/ops`, bodies: opsBodies },
        { method: 'PUT', path: `${s}/internal/v1/table`, bodies: tableBodies },
        { method: 'POST', path: `${s}/internal/v1/partition-page` },
        { method: 'POST', path: `${s}/internal/v1/ae/tree` },
        { method: 'POST', path: `${s}/internal/v1/ae/summaries` },
        { method: 'POST', path: `${s}/internal/v1/ae/digest` },
        { method: 'POST', path: `${s}/internal/v1/ae/diff` },
        { method: 'POST', path: `${s}/internal/v1/ae/push` },
      );
    }
    const fe = c.frontendUrl(0);
    const ctl = c.controllerUrl;
    routes.push(
      { method: 'PUT', path: `${fe}/internal/v1/table`, bodies: tableBodies },
      { method: 'POST', path: `${fe}/v1/batch`, bodies: batchBodies },
      { method: 'POST', path: `${ctl}/v1/nodes` },
      { method: 'POST', path: `${ctl}/v1/nodes/${c.storageId(0)}/handoff` },
      { method: 'POST', path: `${ctl}/v1/nodes/${c.storageId(0)}/suspect` },
      { method: 'POST', path: `${ctl}/v1/nodes/${c.storageId(0)}/heartbeat` },
      { method: 'POST', path: `${ctl}/v1/nodes/made-up/heartbeat` },
      { method: 'POST', path: `${ctl}/v1/cluster/nodes/made-up/decommission` },
      { method: 'DELETE', path: `${ctl}/v1/cluster/nodes/${c.storageId(0)}` },
      { method: 'DELETE', path: `${ctl}/v1/cluster/nodes/made-up` },
    );
    let probes = 0;
    for (const { bodies, ...route } of routes) {
      for (const [name, body] of [...GENERIC_BODIES, ...(bodies ?? [])]) {
        const p: Probe = { name, ...route, body };
        expectErrorJson(p, await send(p));
        probes++;
      }
    }
    // Admin reads with malformed parameters.
    for (const path of [`${ctl}/v1/cluster/plan?add=a&weight=NaN`, `${ctl}/v1/cluster/plan?remove=nobody`, `${ctl}/v1/cluster/plan?add=x&remove=y`, `${ctl}/v1/cluster/plan?add[]=x`]) {
      expectErrorJson({ name: 'bad parameters', method: 'GET', path }, await get(path));
      probes++;
    }
    expect(probes).toBeGreaterThan(200);
    await expectTablesUnchanged();
    await expectDataIntact();
    expect(c.crashes()).toEqual([]);
  });

  it('keeps memory bounded under 100 concurrent bodies at the internal limit', async () => {
    const c = cluster();
    const target = c.storageProcess(0);
    const rssBefore = rssBytes(target.pid);
    // Valid JSON padded to exactly the limit, with a null op at the end: a node that read it
    // would refuse it (400); one over its in-flight budget refuses it before reading (503).
    const head = `{"epoch":1,"ops":[{"op":"get","p":0,"key":"`;
    const tail = `"},null]}`;
    const body = Buffer.from(`${head}${'k'.repeat(BODY_MAX - head.length - tail.length)}${tail}`);
    expect(body.length).toBe(BODY_MAX);
    const answers = await Promise.all(Array.from({ length: 100 }, () => request('POST', `${c.storageUrl(0)}/internal/v1/ops`, body, { 'content-type': 'application/json' })));
    const statuses = new Map<number, number>();
    for (const res of answers) {
      expectErrorJson({ name: 'a body at the limit', method: 'POST', path: '/internal/v1/ops' }, res);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
    expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([503]));
    expect([...statuses.keys()].every((s) => s === 400 || s === 503)).toBe(true);
    const rssAfter = rssBytes(target.pid);
    process.stdout.write(`hostile-input: storage RSS ${Math.round(rssBefore / 2 ** 20)} MiB before, ${Math.round(rssAfter / 2 ** 20)} MiB after 100 concurrent ${BODY_MAX} B bodies; answers ${JSON.stringify(Object.fromEntries(statuses))}\n`);
    expect(rssAfter - rssBefore).toBeLessThan(RSS_GROWTH_BYTES_MAX);
    // One byte over the limit is refused as too large, before it is buffered.
    const over = await request('POST', `${c.storageUrl(0)}/internal/v1/ops`, Buffer.concat([body, Buffer.from(' ')]), { 'content-type': 'application/json' });
    expect(over.status).toBe(413);
    expect(jsonOf<{ error: { code: string } }>(over).error.code).toBe('FOG_ERR_BODY_TOO_LARGE');
    // The node serves again once the bodies are gone.
    await expectDataIntact();
    expect(c.crashes()).toEqual([]);
  });

  it('never writes a key into a log line', async () => {
    const c = cluster();
    // Refused client requests whose paths hold keys: a bad parameter (400), and a value whose
    // internal request exceeds the storage nodes' body limit (a value of the largest size the
    // frontend takes, plus its key and framing, whichever transport carries it), so that every
    // replica refuses it and the frontend answers 503 and logs the refusal.
    expect((await request('GET', `${kv(`${KEY_MARK}-refused`)}?r=nonsense`)).status).toBe(400);
    const big = await request('PUT', kv(`${KEY_MARK}-too-big-inside`), Buffer.alloc(1024 * 1024, 1));
    expect(big.status).toBe(503);
    const frontendLog = fs.readFileSync(c.processes().find((p) => p.name === 'frontend-0')!.outLog, 'utf8');
    expect(frontendLog).toMatch(/"msg":"request refused".*"route":"\/v1\/kv\/:key"/);
    // Refused internal messages are logged (at most one line per kind and interval), not silent.
    const storageLog = fs.readFileSync(c.storageProcess(0).outLog, 'utf8');
    expect(storageLog).toMatch(/"msg":"internal message refused","op":"internal_ops","reason":"version_ahead"/);
    expect(storageLog).toMatch(/"msg":"internal message refused","op":"table_push","reason":"malformed"/);
    for (const proc of c.processes()) {
      const text = fs.readFileSync(proc.outLog, 'utf8') + fs.readFileSync(proc.errLog, 'utf8');
      expect({ name: proc.name, hasKey: text.includes(KEY_MARK) }).toEqual({ name: proc.name, hasKey: false });
    }
    expect(c.crashes()).toEqual([]);
  });
});

/** Resident set size of a process, from /proc. */
function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}
