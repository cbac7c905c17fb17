import { randomBytes } from 'node:crypto';
import path from 'node:path';
import {
  assertValidExposition, get, getJson, installProcessSafetyNet, makeTempDir, removeTempDir, request, sampleValue, useCluster, waitFor,
  type Cluster,
} from './harness';

installProcessSafetyNet();

const run = randomBytes(4).toString('hex');
const enc = encodeURIComponent;
const kvUrl = (fe: string, k: string, query = '') => `${fe}/v1/kv/${enc(k)}${query}`;

// Short intervals so that rounds and tombstone collection happen within a test; the grace
// period is the smallest the node accepts for this interval (4 x).
const AE_INTERVAL_MS = 200;
const GRACE_MS = 2_000;
const STORAGE = 3;

interface HeldKey {
  key: string;
  ver: string;
  tombstone: boolean;
}

async function held(c: Cluster, i: number, prefix: string): Promise<HeldKey[]> {
  const body = await getJson<{ keys: HeldKey[]; truncated: boolean }>(`${c.storageUrl(i)}/v1/keys?limit=100000`);
  expect(body.truncated).toBe(false);
  return body.keys.filter((k) => k.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** What a node holds of a prefix as a comparable text: live keys with their versions. */
const live = (keys: HeldKey[]) => keys.filter((k) => !k.tombstone).map((k) => `${k.key}@${k.ver}`).join('\n');

async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const res = await get(`${url}/metrics`);
  return sampleValue(assertValidExposition(res.text, `${url}/metrics`).samples, name, labels) ?? 0;
}

async function put(fe: string, key: string, value: string, w: string): Promise<void> {
  const res = await request('PUT', kvUrl(fe, key, `?w=${w}`), value);
  if (res.status !== 200) throw new Error(`PUT ${key} w=${w}: ${res.status} ${res.text}`);
}

async function del(fe: string, key: string, w: string): Promise<void> {
  const res = await request('DELETE', kvUrl(fe, key, `?w=${w}`));
  if (res.status !== 200) throw new Error(`DELETE ${key} w=${w}: ${res.status} ${res.text}`);
}

describe('anti-entropy and deletes with real processes (K=3 on 3 storage nodes: every node holds every key)', () => {
  const dataRoot = makeTempDir('anti-entropy-data');
  const { cluster, it } = useCluster({
    storage: STORAGE, frontends: 1, redundancy: 3, digits: 1, label: 'anti-entropy',
    storageArgs: (i) => [
      '--data-dir', path.join(dataRoot, `storage-${i}`), '--anti-entropy-interval-ms', String(AE_INTERVAL_MS), '--tombstone-grace-ms', String(GRACE_MS),
    ],
    // Hinted handoff off: these tests are about what anti-entropy alone repairs (hints.spec.ts covers hints).
    frontendArgs: ['--hints-per-node-max', '0'],
  });
  afterAll(() => removeTempDir(dataRoot));

  it('a replica stopped while keys are written converges to its peers without any read', async () => {
    const c = cluster();
    const fe = c.frontendUrl(0);
    const prefix = `${run}-converge-`;
    // Some keys everyone has, then storage-2 stops and misses writes, overwrites and deletes.
    for (let i = 0; i < 30; i++) await put(fe, `${prefix}${i}`, 'first', 'all');
    await c.killStorage(2, 'SIGKILL');
    for (let i = 0; i < 200; i++) await put(fe, `${prefix}${i}`, `second-${i}`, 'quorum');
    for (let i = 0; i < 10; i++) await del(fe, `${prefix}${i}`, 'quorum');
    const before = await held(c, 0, prefix);
    expect(live(before).split('\n')).toHaveLength(190);
    expect(live(await held(c, 1, prefix))).toBe(live(before));
    await c.restartStorage(2);
    // No client reads: only anti-entropy can bring storage-2 up to date.
    const converged = await waitFor(async () => Promise.all([0, 1, 2].map(async (i) => live(await held(c, i, prefix)))), {
      what: 'storage-2 to hold the same live keys and versions as its peers', timeoutMs: 20_000, intervalMs: 200,
      until: (views) => views[0] === views[1] && views[1] === views[2] && views[0].split('\n').length === 190,
    });
    expect(converged[2]).toBe(live(before));
    // The deleted keys are not live anywhere.
    for (let i = 0; i < STORAGE; i++) {
      const deleted = (await held(c, i, prefix)).filter((k) => Number(k.key.slice(prefix.length)) < 10);
      expect(deleted.every((k) => k.tombstone)).toBe(true);
    }
    expect(await metric(fe, 'fog_frontend_read_repairs_total')).toBe(0);
    const repaired = await Promise.all([0, 1, 2].map((i) => metric(c.storageUrl(i), 'fog_storage_anti_entropy_keys_repaired_total')));
    expect(repaired.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(200);
    expect(await metric(c.storageUrl(2), 'fog_storage_anti_entropy_rounds_total')).toBeGreaterThan(0);
    await waitFor(() => Promise.all([0, 1, 2].map((i) => metric(c.storageUrl(i), 'fog_storage_divergent_partitions'))), {
      what: 'no divergent partitions left', timeoutMs: 10_000, until: (d) => d.every((n) => n === 0),
    });
    // By default the exchange went over binary frames, not HTTP.
    for (let i = 0; i < STORAGE; i++) {
      expect(await metric(c.storageUrl(i), 'fog_storage_replica_sync_bytes_total', { transport: 'binary', direction: 'received' })).toBeGreaterThan(0);
      expect(await metric(c.storageUrl(i), 'fog_storage_replica_sync_bytes_total', { transport: 'http', direction: 'sent' })).toBe(0);
    }
  }, 60_000);

  it('a key deleted while a replica was down stays deleted when the replica returns', async () => {
    const c = cluster();
    const fe = c.frontendUrl(0);
    const prefix = `${run}-short-`;
    for (let i = 0; i < 20; i++) await put(fe, `${prefix}${i}`, 'doomed', 'all');
    await c.killStorage(1, 'SIGKILL');
    for (let i = 0; i < 20; i++) await del(fe, `${prefix}${i}`, 'quorum');
    await c.restartStorage(1);
    await waitFor(() => held(c, 1, prefix), {
      what: 'storage-1 to drop its stale values', timeoutMs: 15_000, intervalMs: 100, until: (keys) => keys.every((k) => k.tombstone),
    });
    for (let i = 0; i < 20; i++) expect((await request('GET', kvUrl(fe, `${prefix}${i}`, '?r=all'))).status).toBe(404);
  }, 40_000);

  it(`a key deleted while a replica was away longer than the grace period (${GRACE_MS} ms) does not come back`, async () => {
    const c = cluster();
    const fe = c.frontendUrl(0);
    const prefix = `${run}-long-`;
    const n = 20;
    for (let i = 0; i < n; i++) await put(fe, `${prefix}${i}`, 'doomed', 'all');
    for (let i = 0; i < n; i++) await put(fe, `${prefix}kept-${i}`, 'kept', 'all');
    // Let a round record the contact, so that the away time is measured from here.
    await new Promise((r) => setTimeout(r, 3 * AE_INTERVAL_MS));
    await c.killStorage(1, 'SIGKILL');
    for (let i = 0; i < n; i++) await del(fe, `${prefix}${i}`, 'quorum');
    // The peers purge the tombstones once the grace period has passed: the delete is forgotten.
    await waitFor(() => Promise.all([0, 2].map((i) => held(c, i, `${prefix}`))), {
      what: 'storage-0 and storage-2 to purge the tombstones', timeoutMs: 15_000, intervalMs: 200,
      until: (views) => views.every((keys) => keys.length === n && keys.every((k) => k.key.includes('kept-'))),
    });
    // storage-1 comes back with the old values on disk.
    await c.restartStorage(1);
    const revived: string[] = [];
    await waitFor(async () => {
      for (const i of [0, 2]) for (const k of await held(c, i, prefix)) if (!k.key.includes('kept-')) revived.push(`${k.key} on storage-${i}`);
      return held(c, 1, prefix);
    }, {
      what: 'storage-1 to retire the values whose deletes its peers forgot', timeoutMs: 15_000, intervalMs: 100,
      until: (keys) => revived.length > 0 || keys.every((k) => k.key.includes('kept-') || k.tombstone),
    });
    expect(revived).toEqual([]);
    await waitFor(() => metric(c.storageUrl(1), 'fog_storage_anti_entropy_covered_keys_total', { action: 'retired' }), {
      what: `storage-1 to count ${n} retired values`, timeoutMs: 5_000, until: (v) => v === n,
    });
    for (let i = 0; i < n; i++) expect((await request('GET', kvUrl(fe, `${prefix}${i}`, '?r=all'))).status).toBe(404);
    for (let i = 0; i < n; i++) expect((await request('GET', kvUrl(fe, `${prefix}kept-${i}`, '?r=all'))).text).toBe('kept');
    expect(c.storageProcess(1).stdoutText()).toMatch(/"level":"warn".*"msg":"rejoining: out of contact with peers for longer than the tombstone grace period/);
  }, 60_000);
});

/** The table settled: every partition on its 3 replicas, none pending, every node up. */
async function settled(c: Cluster, what: string): Promise<void> {
  await waitFor(() => c.table(), {
    what, timeoutMs: 30_000, intervalMs: 200,
    until: (t) => t.partitions.every((e) => e.replicas.length === 3 && e.pending.length === 0) && Object.values(t.nodes).every((n) => n.state === 'up'),
  });
}

describe('anti-entropy between nodes on different replica transports (one node on --replica-transport http)', () => {
  const dataRoot = makeTempDir('anti-entropy-mixed-data');
  const { cluster, it } = useCluster({
    storage: STORAGE, frontends: 1, redundancy: 3, digits: 1, label: 'anti-entropy-mixed',
    // Data dirs: a node that restarts comes back with its data and keeps its partitions (an empty one would be copied to).
    storageArgs: (i) => [
      '--data-dir', path.join(dataRoot, `storage-${i}`), '--anti-entropy-interval-ms', String(AE_INTERVAL_MS), '--tombstone-grace-ms', String(GRACE_MS),
      ...(i === 2 ? ['--replica-transport', 'http'] : []),
    ],
    frontendArgs: ['--hints-per-node-max', '0'],
  });
  afterAll(() => removeTempDir(dataRoot));

  it('every replica converges: the HTTP node asks over HTTP, its peers ask it over binary frames', async () => {
    const c = cluster();
    const fe = c.frontendUrl(0);
    const prefix = `${run}-mixed-`;
    // A settled table first (a registration retried under load can start copies at start-up).
    await settled(c, 'every partition on its 3 replicas, none pending, every node up');
    // Each node in turn misses writes, so every node must both pull and be pulled from.
    for (const away of [2, 0]) {
      await c.killStorage(away, 'SIGKILL');
      for (let i = 0; i < 50; i++) {
        const res = await request('PUT', kvUrl(fe, `${prefix}${away}-${i}`, '?w=quorum'), Buffer.from([away, i, 0, 255]));
        expect(res.status).toBe(200);
      }
      await c.restartStorage(away);
      // Back up in the table, and taking writes at the frontend, before the next node goes away.
      await settled(c, `storage-${away} up again with its partitions`);
      await waitFor(() => request('PUT', kvUrl(fe, `${run}-probe-${away}`, '?w=all'), 'x'), {
        what: `storage-${away} to take writes again`, timeoutMs: 20_000, intervalMs: 200, until: (res) => res.status === 200,
      });
    }
    const views = await waitFor(async () => Promise.all([0, 1, 2].map(async (i) => live(await held(c, i, prefix)))), {
      what: 'every node to hold the same 100 live keys and versions', timeoutMs: 20_000, intervalMs: 200,
      until: (v) => v[0] === v[1] && v[1] === v[2] && v[0].split('\n').length === 100,
    });
    expect(views[0].split('\n')).toHaveLength(100);
    expect(await metric(c.storageUrl(2), 'fog_storage_replica_sync_bytes_total', { transport: 'http', direction: 'sent' })).toBeGreaterThan(0);
    expect(await metric(c.storageUrl(2), 'fog_storage_replica_sync_bytes_total', { transport: 'binary', direction: 'sent' })).toBe(0);
    expect(await metric(c.storageUrl(0), 'fog_storage_replica_sync_bytes_total', { transport: 'binary', direction: 'sent' })).toBeGreaterThan(0);
    for (let i = 0; i < 50; i++) expect((await request('GET', kvUrl(fe, `${prefix}2-${i}`, '?r=all'))).body).toEqual(Buffer.from([2, i, 0, 255]));
  }, 60_000);
});
