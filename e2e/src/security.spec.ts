import net from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Method } from 'axios';
import {
  FrameReader, OPS_FRAME_PREFACE, decodeOpsResponse, encodeOpsRequest, type PartitionTable,
} from '@fog/protocol';
import { ClusterAuth } from '@fog/http-kit';
import { partitionOf } from '@fog/partitioning';
import { SYNC_FRAME_PREFACE, decodeSyncReply, encodeSyncRequest } from '@fog/replica-sync';
import {
  AppProcess, Cluster, E2E_CLUSTER_SECRET, assertValidExposition, freePort, get, getJson, hostPort, installProcessSafetyNet, jsonOf, makeTempDir, request,
  sampleValue, useCluster, waitFor, type HttpResponse,
} from './harness';

async function metric(url: string, name: string, labels: Record<string, string>): Promise<number> {
  const res = await get(`${url}/metrics`);
  return sampleValue(assertValidExposition(res.text, `${url}/metrics`).samples, name, labels) ?? 0;
}

installProcessSafetyNet();

/**
 * Cluster identity and authentication on real processes: with a secret set, every hostile
 * request of the security issue is refused (401/403) and changes nothing; a second cluster on
 * the same machine cannot join or push to the first; a node without a secret refuses to start
 * unless --insecure, and then says so; internal routes on their own listener.
 */
const run = randomBytes(4).toString('hex');
const D = 1;

type Probe = { name: string; method: Method; url: string; body?: string };

const errorOf = (res: HttpResponse) => jsonOf<{ error: { code: string; details?: { reason?: string } } }>(res).error;

describe('a cluster with a secret refuses unauthenticated requests', () => {
  const { cluster, it } = useCluster({ storage: 3, frontends: 1, redundancy: 3, digits: D, label: 'secured' });
  const written = new Map<string, string>();
  let tableBefore = '';
  const kv = (key: string) => `${cluster().frontendUrl(0)}/v1/kv/${encodeURIComponent(key)}`;
  const tableOf = (t: PartitionTable) => JSON.stringify({ epoch: t.epoch, cluster: t.cluster, partitions: t.partitions.map((e) => [e.replicas, e.pending]), nodes: Object.keys(t.nodes).sort() });

  async function expectNothingChanged(): Promise<void> {
    const c = cluster();
    expect(tableOf(await c.table())).toBe(tableBefore);
    for (let i = 0; i < c.storageCount; i++) expect(tableOf(await getJson<PartitionTable>(`${c.storageUrl(i)}/internal/v1/table`))).toBe(tableBefore);
    for (const [key, value] of written) {
      const res = await request('GET', `${kv(key)}?r=all`);
      expect({ key, status: res.status, text: res.text }).toEqual({ key, status: 200, text: value });
    }
    expect(c.crashes()).toEqual([]);
    expect((await c.clusterView()).nodes.map((n) => n.id).sort()).toEqual([...Array.from({ length: c.storageCount }, (_, i) => c.storageId(i)), c.frontendId(0)].sort());
  }

  it('forms a cluster with an id, signed tables, and says its internal routes need the secret', async () => {
    const c = cluster();
    for (let i = 0; i < 20; i++) {
      const key = `sec-${run}-${i}`;
      expect((await request('PUT', kv(key), `v${i}`)).status).toBe(200);
      written.set(key, `v${i}`);
    }
    const table = await c.table();
    expect(table.cluster).toMatch(/^[0-9a-f]{16}$/);
    expect(table.sig).toMatch(/^[A-Za-z0-9_-]{43}$/);
    tableBefore = tableOf(table);
    for (const url of [c.controllerUrl, c.storageUrl(0), c.frontendUrl(0)]) {
      const health = await getJson<{ cluster: string | null; internalAuth: string }>(`${url}/health`);
      expect(health).toMatchObject({ cluster: table.cluster, internalAuth: 'cluster secret' });
    }
  });

  it('refuses each hostile request of the issue without a signature (401), or signed with another secret (401)', async () => {
    const c = cluster();
    const hostileTable = JSON.stringify({ epoch: 1e15, partitions: [] });
    const probes: Probe[] = [];
    for (let i = 0; i < c.storageCount; i++) {
      const s = c.storageUrl(i);
      probes.push(
        { name: 'the 1e15 table', method: 'PUT', url: `${s}/internal/v1/table`, body: hostileTable },
        { name: 'ops with a null', method: 'POST', url: `${s}/internal/v1/ops`, body: JSON.stringify({ epoch: 1, ops: [null] }) },
        { name: 'an anti-entropy push', method: 'POST', url: `${s}/internal/v1/ae/push`, body: JSON.stringify({ epoch: 1, from: 'intruder', p: 0, entries: [] }) },
        { name: 'the key listing', method: 'GET', url: `${s}/v1/keys` },
      );
    }
    probes.push(
      { name: 'the 1e15 table on a frontend', method: 'PUT', url: `${c.frontendUrl(0)}/internal/v1/table`, body: hostileTable },
      { name: 'a made-up node registering', method: 'POST', url: `${c.controllerUrl}/v1/nodes`, body: JSON.stringify({ id: `made-up-${run}`, role: 'storage', address: '127.0.0.1:1', zone: 'default', weight: 100 }) },
      { name: 'an existing id at another address', method: 'POST', url: `${c.controllerUrl}/v1/nodes`, body: JSON.stringify({ id: c.storageId(0), role: 'storage', address: '127.0.0.1:2', zone: 'default', weight: 100 }) },
      { name: 'a heartbeat for a made-up node', method: 'POST', url: `${c.controllerUrl}/v1/nodes/made-up/heartbeat`, body: '{"epoch":1}' },
      { name: 'a copy-done report', method: 'POST', url: `${c.controllerUrl}/v1/nodes/${c.storageId(1)}/handoff`, body: JSON.stringify({ partition: 0, epoch: 1, keysCopied: 0, bytesCopied: 0, done: true }) },
      { name: 'a decommission', method: 'POST', url: `${c.controllerUrl}/v1/cluster/nodes/${c.storageId(2)}/decommission` },
      { name: 'a forget', method: 'DELETE', url: `${c.controllerUrl}/v1/cluster/nodes/${c.frontendId(0)}` },
      { name: 'a plan', method: 'GET', url: `${c.controllerUrl}/v1/cluster/plan?remove=${c.storageId(0)}` },
    );
    const forger = new ClusterAuth('a-different-secret-of-enough-bytes');
    for (const p of probes) {
      const unsigned = await request(p.method, p.url, p.body, { 'content-type': 'application/json' }, false);
      expect({ probe: p.name, url: p.url, status: unsigned.status, code: errorOf(unsigned).code }).toEqual({ probe: p.name, url: p.url, status: 401, code: 'FOG_ERR_UNAUTHENTICATED' });
      const u = new URL(p.url);
      const forged = await request(p.method, p.url, p.body, { 'content-type': 'application/json', ...forger.headersFor(p.method, u.pathname + u.search, p.body ?? '') }, false);
      expect({ probe: p.name, status: forged.status, reason: errorOf(forged).details?.reason }).toEqual({ probe: p.name, status: 401, reason: 'bad_signature' });
    }
    // Reading the cluster view and the table stays open (status page, fogctl status).
    expect((await request('GET', `${c.controllerUrl}/v1/cluster`, undefined, {}, false)).status).toBe(200);
    expect((await request('GET', `${c.controllerUrl}/v1/table`, undefined, {}, false)).status).toBe(200);
    await expectNothingChanged();
    expect(await metric(c.storageUrl(0), 'fog_storage_auth_refused_total', { reason: 'missing' })).toBeGreaterThanOrEqual(4);
  });

  it('refuses a replayed signed request', async () => {
    const c = cluster();
    const auth = new ClusterAuth(E2E_CLUSTER_SECRET);
    const url = `${c.storageUrl(0)}/internal/v1/table`;
    const headers = auth.headersFor('GET', '/internal/v1/table', '');
    expect((await request('GET', url, undefined, headers, false)).status).toBe(200);
    const again = await request('GET', url, undefined, headers, false);
    expect({ status: again.status, reason: errorOf(again).details?.reason }).toEqual({ status: 401, reason: 'replay' });
  });

  it('closes a binary connection whose opening is not signed with the secret, before reading a frame', async () => {
    const c = cluster();
    const port = Number(new URL(c.storageUrl(0)).port);
    const forger = new ClusterAuth('a-different-secret-of-enough-bytes');
    const key = `sec-${run}-binary`;
    const socket = net.connect({ host: '127.0.0.1', port });
    const reader = new FrameReader(1 << 20);
    const frames: Buffer[] = [];
    socket.on('data', (d: Buffer) => reader.push(d, frames));
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.write(Buffer.concat([
      OPS_FRAME_PREFACE, Buffer.from(`${forger.connectionLine()}\n`),
      encodeOpsRequest(5, 1, [{ op: 'put', p: 0, key, ver: { ms: Date.now(), c: 0, w: 'intruder' }, val: Buffer.from('x').toString('base64') }]),
    ]));
    await closed;
    expect(frames.map((f) => decodeOpsResponse(f))).toMatchObject([{ id: 0, ok: false, status: 401 }]);
    expect((await request('GET', `${kv(key)}?r=all`)).status).toBe(404);
  });

  it('closes a binary sync connection (anti-entropy, copies) whose opening is not signed with the secret; a signed one is served', async () => {
    const c = cluster();
    const port = Number(new URL(c.storageUrl(0)).port);
    const key = `sec-${run}-sync`;
    const push = (id: number) => encodeSyncRequest(id, {
      kind: 'push', body: { epoch: 1_000_000, from: 'intruder', p: partitionOf(key, D), entries: [{ key, ver: { ms: Date.now(), c: 0, w: 'intruder' }, val: Buffer.from('x').toString('base64') }] },
    });
    const exchange = async (opening: string, frame: Buffer) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      const reader = new FrameReader(1 << 20);
      const frames: Buffer[] = [];
      socket.on('data', (d: Buffer) => reader.push(d, frames));
      const closed = new Promise<void>((r) => socket.on('close', () => r()));
      socket.write(Buffer.concat([SYNC_FRAME_PREFACE, Buffer.from(`${opening}\n`), frame]));
      for (let i = 0; i < 200 && frames.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      return { frames, closed, socket };
    };
    const forged = await exchange(new ClusterAuth('a-different-secret-of-enough-bytes').connectionLine(), push(5));
    await forged.closed;
    expect(forged.frames.map((f) => decodeSyncReply(f))).toMatchObject([{ id: 0, ok: false, status: 401 }]);
    // An unsigned (empty) opening is refused the same way.
    const unsigned = await exchange('', push(6));
    await unsigned.closed;
    expect(unsigned.frames.map((f) => decodeSyncReply(f))).toMatchObject([{ id: 0, ok: false, status: 401 }]);
    expect((await request('GET', `${kv(key)}?r=all`)).status).toBe(404);
    // The same connection signed with the cluster's secret is answered (a tree request changes nothing).
    const auth = new ClusterAuth(E2E_CLUSTER_SECRET);
    auth.learnCluster((await c.table()).cluster);
    const signed = await exchange(auth.connectionLine(), encodeSyncRequest(7, { kind: 'tree', body: { epoch: 1, from: 'probe', total: 16, groups: [] } }));
    signed.socket.destroy();
    expect(signed.frames.map((f) => decodeSyncReply(f))).toMatchObject([{ id: 7, ok: true, kind: 'tree' }]);
  });

  it('still serves, and after 60 s nothing has changed', async () => {
    await new Promise((r) => setTimeout(r, 60_000));
    await expectNothingChanged();
    expect((await get(`${cluster().frontendUrl(0)}/ready`)).status).toBe(200);
  }, 120_000);
});

describe('a second cluster on the same machine', () => {
  const { cluster: first, it } = useCluster({ storage: 2, frontends: 1, redundancy: 2, digits: D, label: 'first' });

  it('cannot join the first: its node (another cluster id, same secret) is refused 403; one with another secret 401', async () => {
    const a = first();
    const idA = (await a.table()).cluster;
    // The second cluster forms with the same secret but its own id; its node's data dir remembers it.
    const dataDir = makeTempDir(`second-${run}`);
    const b = await Cluster.start({ storage: 1, frontends: 0, redundancy: 1, digits: D, label: 'second', storageArgs: () => ['--data-dir', dataDir] });
    try {
      const idB = (await b.table()).cluster;
      expect(idB).toMatch(/^[0-9a-f]{16}$/);
      expect(idB).not.toBe(idA);
      // Cluster B's controller pushes its (validly signed) table to cluster A's storage node.
      const tableB = await b.table();
      const auth = new ClusterAuth(E2E_CLUSTER_SECRET);
      auth.learnCluster(idB);
      const body = JSON.stringify(tableB);
      const push = await request('PUT', `${a.storageUrl(0)}/internal/v1/table`, body, { 'content-type': 'application/json', ...auth.headersFor('PUT', '/internal/v1/table', body) }, false);
      expect({ status: push.status, code: errorOf(push).code }).toEqual({ status: 403, code: 'FOG_ERR_WRONG_CLUSTER' });
      // B's storage node is restarted pointing at A's controller: it carries B's id and is refused.
      await b.killStorage(0, 'SIGTERM');
      const port = await freePort();
      const stray = AppProcess.spawn({
        app: 'storage', name: 'stray', logDir: b.logDir,
        args: [new URL(a.controllerUrl).host, hostPort(port), '--data-dir', dataDir, '--id', `stray-${run}`],
      });
      await waitFor(async () => /wrong_cluster|FOG_ERR_WRONG_CLUSTER/.test(stray.stdoutText() + stray.stderrText()), { what: 'the stray node to be refused', timeoutMs: 15_000 });
      const lonely = AppProcess.spawn({
        app: 'storage', name: 'other-secret', logDir: b.logDir,
        args: [new URL(a.controllerUrl).host, hostPort(await freePort()), '--id', `other-secret-${run}`], env: { FOG_CLUSTER_SECRET: 'yet-another-secret-of-enough-bytes' },
      });
      await waitFor(async () => /FOG_ERR_UNAUTHENTICATED|status":401/.test(lonely.stdoutText() + lonely.stderrText()), { what: 'the node with another secret to be refused', timeoutMs: 15_000 });
      await stray.stop();
      await lonely.stop();
      const view = await a.clusterView();
      expect(view.nodes.map((n) => n.id)).not.toEqual(expect.arrayContaining([`stray-${run}`]));
      expect(view.nodes.map((n) => n.id)).not.toEqual(expect.arrayContaining([`other-secret-${run}`]));
      expect((await a.table()).cluster).toBe(idA);
      expect(await metric(a.controllerUrl, 'fog_controller_auth_refused_total', { reason: 'wrong_cluster' })).toBeGreaterThanOrEqual(1);
    } finally {
      await b.stop();
    }
  }, 90_000);
});

describe('starting without a secret', () => {
  it('refuses to start unless --insecure, and an insecure node says so in its log and /health', async () => {
    const logDir = makeTempDir(`insecure-${run}`);
    // The harness gives every app the e2e secret unless told otherwise: an empty FOG_CLUSTER_SECRET means none.
    const refused = AppProcess.spawn({ app: 'controller', name: 'no-secret', logDir, args: [String(await freePort()), '1', '1'], env: { FOG_CLUSTER_SECRET: '' }, lifetime: 'test' });
    const status = await refused.exited;
    expect(status.code).toBe(2);
    expect(refused.stderrText()).toMatch(/no cluster secret/);

    const port = await freePort();
    const open = AppProcess.spawn({ app: 'controller', name: 'insecure', logDir, args: [String(port), '1', '1', '--insecure'], lifetime: 'test' });
    await waitFor(async () => (await get(`http://${hostPort(port)}/health`)).status === 200, { what: 'the insecure controller', timeoutMs: 15_000 });
    expect(await getJson(`http://${hostPort(port)}/health`)).toMatchObject({ internalAuth: 'open (--insecure)' });
    expect(open.stdoutText() + open.stderrText()).toMatch(/running with --insecure/);
    await open.stop();
  }, 60_000);
});

describe('internal routes on their own listener', () => {
  // Port 0: each node takes a free port and advertises it at registration.
  const { cluster, it } = useCluster({
    storage: 2, frontends: 1, redundancy: 2, digits: D, label: 'split',
    storageArgs: () => ['--internal-port', '0'], frontendArgs: ['--internal-port', '0'],
  });

  it('serves the data path with internal traffic on the internal ports; the client ports answer no internal route', async () => {
    const c = cluster();
    const key = `split-${run}`;
    expect((await request('PUT', `${c.frontendUrl(0)}/v1/kv/${key}?w=all`, 'hello')).status).toBe(200);
    expect((await request('GET', `${c.frontendUrl(0)}/v1/kv/${key}?r=all`)).text).toBe('hello');
    const table = await c.table();
    for (let i = 0; i < c.storageCount; i++) {
      const internal = table.nodes[c.storageId(i)].internal;
      expect(internal).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(internal).not.toBe(new URL(c.storageUrl(i)).host);
      expect((await get(`${c.storageUrl(i)}/internal/v1/table`)).status).toBe(404);
      expect((await get(`${c.storageUrl(i)}/metrics`)).status).toBe(200);
      expect((await getJson<PartitionTable>(`http://${internal}/internal/v1/table`)).epoch).toBe(table.epoch);
    }
    expect((await get(`${c.frontendUrl(0)}/internal/v1/table`)).status).toBe(404);
  });
});
