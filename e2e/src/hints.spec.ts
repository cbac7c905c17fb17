import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  assertValidExposition, get, getJson, installProcessSafetyNet, makeTempDir, removeTempDir, request, sampleValue, useCluster, waitFor,
  type Cluster,
} from './harness';

installProcessSafetyNet();

const run = randomBytes(4).toString('hex');
const enc = encodeURIComponent;

// Anti-entropy effectively off (one round an hour; the grace period must be 4 intervals), so
// that only hints bring a replica the writes it missed, and no test reads the keys before the
// check (a quorum read would repair them).
const AE_OFF = ['--anti-entropy', 'off'];
const KEYS = 200;

async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const res = await get(`${url}/metrics`);
  return sampleValue(assertValidExposition(res.text, `${url}/metrics`).samples, name, labels) ?? 0;
}

const hints = (fe: string, outcome: string) => metric(fe, 'fog_frontend_hints_total', { outcome });

/** The live keys with this prefix that storage node i holds (its own view, no quorum read). */
async function heldKeys(c: Cluster, i: number, prefix: string): Promise<Set<string>> {
  const body = await getJson<{ keys: Array<{ key: string; tombstone: boolean }>; truncated: boolean }>(`${c.storageUrl(i)}/v1/keys?limit=100000`);
  expect(body.truncated).toBe(false);
  return new Set(body.keys.filter((k) => k.key.startsWith(prefix) && !k.tombstone).map((k) => k.key));
}

async function put(fe: string, key: string, value: string, w = 'quorum'): Promise<void> {
  const res = await request('PUT', `${fe}/v1/kv/${enc(key)}?w=${w}`, value);
  if (res.status !== 200) throw new Error(`PUT ${key} w=${w}: ${res.status} ${res.text}`);
}

function waitNodeState(c: Cluster, i: number, state: string): Promise<unknown> {
  return waitFor(async () => (await c.clusterView()).nodes.find((n) => n.id === c.storageId(i))?.state, {
    what: `the controller to see storage-${i} ${state}`, timeoutMs: 20_000, intervalMs: 100, until: (s) => s === state,
  });
}

/** Write keys prefix0..n-1 at w=quorum; wait until the frontend queued a hint for each (the stopped replica's replies are in). */
async function writeWhileAway(fe: string, prefix: string, n: number, queuedBefore: number): Promise<void> {
  for (let i = 0; i < n; i++) await put(fe, `${prefix}${i}`, `value-${i}`);
  await waitFor(() => hints(fe, 'queued'), {
    what: `the frontend to queue a hint for each of the ${n} writes`, timeoutMs: 20_000, intervalMs: 100, until: (q) => q >= queuedBefore + n,
  });
}

describe('hinted handoff: a replica away while writes are acknowledged gets them when it answers again', () => {
  const dataRoot = makeTempDir('hints-data');
  const { cluster, it } = useCluster({
    storage: 3, frontends: 1, redundancy: 3, digits: 1, label: 'hints-deliver',
    storageArgs: (i) => ['--data-dir', path.join(dataRoot, `storage-${i}`), ...AE_OFF],
    // An absent node must go down, not out (out would copy its partitions to it again).
    controllerArgs: ['--out-after-ms', '120000'],
    frontendArgs: ['--replica-request-timeout-ms', '500'],
  });
  afterAll(() => removeTempDir(dataRoot));

  it(`a SIGSTOPped replica holds all ${KEYS} keys written meanwhile soon after SIGCONT`, async () => {
    const c = cluster();
    const fe = c.frontendUrl(0);
    const prefix = `${run}-stop-`;
    const stopped = c.storageProcess(2);
    stopped.signal('SIGSTOP');
    try {
      await writeWhileAway(fe, prefix, KEYS, await hints(fe, 'queued'));
      for (const i of [0, 1]) expect((await heldKeys(c, i, prefix)).size).toBe(KEYS);
      expect(await metric(fe, 'fog_frontend_hints')).toBe(KEYS);
      await waitNodeState(c, 2, 'down');
    } finally {
      stopped.signal('SIGCONT');
    }
    // (The requests that timed out while it was stopped sit in its socket buffers and may land
    // too; the hints are what is owed whatever happened to them, and they must all be settled.)
    const held = await waitFor(() => heldKeys(c, 2, prefix), {
      what: `storage-2 to hold all ${KEYS} keys`, timeoutMs: 30_000, intervalMs: 200, until: (keys) => keys.size === KEYS,
    });
    expect(held.size).toBe(KEYS);
    await waitFor(() => metric(fe, 'fog_frontend_hints'), { what: 'the hint queue to empty', timeoutMs: 30_000, intervalMs: 200, until: (n) => n === 0 });
    expect(await hints(fe, 'delivered')).toBe(KEYS);
    expect(await hints(fe, 'expired') + await hints(fe, 'dropped')).toBe(0);
    expect(await metric(fe, 'fog_frontend_read_repairs_total')).toBe(0);
  }, 90_000);

  it(`a replica killed and restarted with its disk gets the ${KEYS} keys it missed from hints alone`, async () => {
    const c = cluster();
    const fe = c.frontendUrl(0);
    const prefix = `${run}-kill-`;
    // Some keys every replica holds, so the node comes back with data (not as an empty replica that copies its partitions).
    for (let i = 0; i < 10; i++) await put(fe, `${prefix}before-${i}`, 'before', 'all');
    const deliveredBefore = await hints(fe, 'delivered');
    await c.killStorage(1, 'SIGKILL');
    // Refused connections: nothing of these writes reaches storage-1 but the hints.
    await writeWhileAway(fe, `${prefix}away-`, KEYS, await hints(fe, 'queued'));
    await waitNodeState(c, 1, 'down');
    await c.restartStorage(1);
    const held = await waitFor(() => heldKeys(c, 1, `${prefix}away-`), {
      what: `storage-1 to hold all ${KEYS} keys written while it was away`, timeoutMs: 30_000, intervalMs: 200, until: (keys) => keys.size === KEYS,
    });
    expect(held.size).toBe(KEYS);
    expect((await heldKeys(c, 1, `${prefix}before-`)).size).toBe(10);
    await waitFor(() => metric(fe, 'fog_frontend_hints'), { what: 'the hint queue to empty', timeoutMs: 30_000, intervalMs: 200, until: (n) => n === 0 });
    expect(await hints(fe, 'delivered')).toBe(deliveredBefore + KEYS);
    expect(await metric(fe, 'fog_frontend_read_repairs_total')).toBe(0);
    expect(await metric(c.storageUrl(1), 'fog_storage_anti_entropy_rounds_total')).toBe(0);
  }, 90_000);
});

describe('hinted handoff: hints for a replica that never returns expire', () => {
  const AGE_MS = 1_500;
  const { cluster, it } = useCluster({
    storage: 3, frontends: 1, redundancy: 3, digits: 1, label: 'hints-expire',
    storageArgs: () => AE_OFF,
    controllerArgs: ['--out-after-ms', '120000'],
    frontendArgs: ['--replica-request-timeout-ms', '500', '--hint-age-max-ms', String(AGE_MS)],
  });

  it(`gives up hints older than --hint-age-max-ms ${AGE_MS}, counts them and logs the count at warn, never the keys`, async () => {
    const c = cluster();
    const fe = c.frontendUrl(0);
    const prefix = `${run}-gone-`;
    const n = 50;
    await c.killStorage(2, 'SIGKILL');
    await writeWhileAway(fe, prefix, n, 0);
    await waitFor(() => hints(fe, 'expired'), { what: `all ${n} hints to expire`, timeoutMs: 20_000, intervalMs: 200, until: (e) => e === n });
    expect(await metric(fe, 'fog_frontend_hints')).toBe(0);
    expect(await hints(fe, 'delivered')).toBe(0);
    const log = fs.readFileSync(path.join(c.logDir, 'frontend-0.out.log'), 'utf8');
    const warns = log.split('\n').filter((l) => l.includes('"level":"warn"') && l.includes('hints given up'));
    expect(warns.length).toBeGreaterThan(0);
    const expired = warns.map((l) => JSON.parse(l) as { expired: number }).reduce((a, w) => a + w.expired, 0);
    expect(expired).toBe(n);
    expect(log).not.toContain(prefix);
  }, 60_000);
});
