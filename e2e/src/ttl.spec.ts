import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { getJson, installProcessSafetyNet, jsonOf, makeTempDir, removeTempDir, request, useCluster, waitFor, type Cluster } from './harness';

installProcessSafetyNet();

const run = randomBytes(4).toString('hex');
const enc = encodeURIComponent;
const kvUrl = (fe: string, k: string, query = '') => `${fe}/v1/kv/${enc(k)}${query}`;

// Short anti-entropy interval and the smallest grace period it allows, so that expired values
// are purged within the test.
const AE_INTERVAL_MS = 200;
const GRACE_MS = 800;
const TTL_MS = 2000;

interface HeldKey {
  key: string;
  ver: string;
  tombstone: boolean;
  exp?: number;
}

async function heldKey(c: Cluster, i: number, key: string): Promise<HeldKey | undefined> {
  const body = await getJson<{ keys: HeldKey[]; truncated: boolean }>(`${c.storageUrl(i)}/v1/keys?limit=100000`);
  expect(body.truncated).toBe(false);
  return body.keys.find((k) => k.key === key);
}

describe('TTL on the real stack (K=3 on 3 storage nodes with logs on disk)', () => {
  const dataRoot = makeTempDir('ttl-data');
  const { cluster, it } = useCluster({
    storage: 3, frontends: 1, redundancy: 3, digits: 1, label: 'ttl',
    storageArgs: (i) => [
      '--data-dir', path.join(dataRoot, `storage-${i}`), '--fsync', 'always',
      '--anti-entropy-interval-ms', String(AE_INTERVAL_MS), '--tombstone-grace-ms', String(GRACE_MS),
    ],
  });
  afterAll(() => removeTempDir(dataRoot));

  it('a value written with a ttl reads with its remaining time, survives a restart with its expiry, then reads as missing everywhere and is purged', async () => {
    const c = cluster();
    const fe = c.frontendUrl(0);
    const key = `${run}-short`;
    const put = await request('PUT', kvUrl(fe, key, `?w=all&ttl=${TTL_MS}ms`), 'brief');
    expect(put.status).toBe(200);
    const body = jsonOf<{ version: string; expiresAtMs: number }>(put);
    const stampMs = Number(body.version.split('.')[0]);
    expect(body.expiresAtMs).toBe(stampMs + TTL_MS);

    // Every replica stores the same expiry with the version.
    for (const i of [0, 1, 2]) expect(await heldKey(c, i, key)).toMatchObject({ ver: body.version, tombstone: false, exp: body.expiresAtMs });

    // A crash and restart replays the log: the expiry comes back with the entry.
    await c.killStorage(0, 'SIGKILL');
    await c.restartStorage(0);
    expect(await heldKey(c, 0, key)).toMatchObject({ ver: body.version, exp: body.expiresAtMs });

    // The original API writes with a ttl too; both APIs give the remaining time on reads.
    const orig = `${run}-orig`;
    expect((await request('GET', `${fe}/set/?key=${enc(orig)}&value=old-api&ttl=${TTL_MS}ms`)).status).toBe(200);
    // And a batch put.
    const batchKey = `${run}-batch`;
    const batch = await request('POST', `${fe}/v1/batch`, JSON.stringify({ ops: [{ op: 'put', key: batchKey, value: 'b', ttl: `${TTL_MS}ms` }] }), { 'content-type': 'application/json' });
    expect(batch.status).toBe(200);
    expect(jsonOf<{ results: Array<{ status: number }> }>(batch).results[0].status).toBe(200);

    const got = await request('GET', kvUrl(fe, key));
    if (got.status === 200) {
      // (On a very slow machine the value may already have expired: then it must read as missing.)
      expect(got.text).toBe('brief');
      const left = Number(got.headers['x-fog-ttl-ms']);
      expect(left).toBeGreaterThanOrEqual(0);
      expect(left).toBeLessThanOrEqual(TTL_MS);
    } else expect(got.status).toBe(404);
    const origGot = await request('GET', `${fe}/get/?key=${enc(orig)}`);
    if (origGot.status === 200) expect(Number(origGot.headers['x-fog-ttl-ms'])).toBeLessThanOrEqual(TTL_MS);

    // Once the expiry has passed, every API reads the keys as missing.
    await waitFor(async () => (await request('GET', kvUrl(fe, key))).status, { what: 'the value to expire', timeoutMs: 20_000, intervalMs: 100, until: (s) => s === 404 });
    expect(jsonOf<{ error: { code: string } }>(await request('GET', kvUrl(fe, key))).error.code).toBe('FOG_ERR_NOT_FOUND');
    await waitFor(async () => (await request('GET', `${fe}/get/?key=${enc(orig)}`)).status, { what: 'the original-API value to expire', timeoutMs: 20_000, intervalMs: 100, until: (s) => s === 404 });
    await waitFor(async () => {
      const res = await request('POST', `${fe}/v1/batch`, JSON.stringify({ ops: [{ op: 'get', key: batchKey }] }), { 'content-type': 'application/json' });
      return jsonOf<{ results: Array<{ status: number }> }>(res).results[0].status;
    }, { what: 'the batch value to expire', timeoutMs: 20_000, intervalMs: 100, until: (s) => s === 404 });

    // After the grace period every replica purges it, as it purges tombstones.
    await waitFor(async () => Promise.all([0, 1, 2].map((i) => heldKey(c, i, key))), {
      what: 'every replica to purge the expired value', timeoutMs: 30_000, intervalMs: 200, until: (held) => held.every((k) => k === undefined),
    });
    expect((await request('GET', kvUrl(fe, key))).status).toBe(404);
  });

  it('a write without a ttl clears the expiry, and a bad ttl is refused with FOG_ERR_BAD_TTL and changes nothing', async () => {
    const c = cluster();
    const fe = c.frontendUrl(0);
    const key = `${run}-cleared`;
    expect((await request('PUT', kvUrl(fe, key, '?w=all&ttl=1h'), 'v1')).status).toBe(200);
    const plain = await request('PUT', kvUrl(fe, key, '?w=all'), 'v2');
    expect(plain.status).toBe(200);
    expect(jsonOf<Record<string, unknown>>(plain).expiresAtMs).toBeUndefined();
    const got = await request('GET', kvUrl(fe, key));
    expect(got.text).toBe('v2');
    expect(got.headers['x-fog-ttl-ms']).toBeUndefined();
    for (const i of [0, 1, 2]) expect((await heldKey(c, i, key))?.exp).toBeUndefined();

    for (const ttl of ['soon', '10ms', '400d', '-1s']) {
      const res = await request('PUT', kvUrl(fe, key, `?ttl=${enc(ttl)}`), 'bad');
      expect(res.status).toBe(400);
      expect(jsonOf<{ error: { code: string } }>(res).error.code).toBe('FOG_ERR_BAD_TTL');
    }
    const del = await request('DELETE', kvUrl(fe, key, '?ttl=5s'));
    expect(del.status).toBe(400);
    const batch = await request('POST', `${fe}/v1/batch`, JSON.stringify({ ops: [{ op: 'put', key, value: 'bad', ttl: 'forever' }] }), { 'content-type': 'application/json' });
    expect(batch.status).toBe(400);
    expect(jsonOf<{ error: { code: string } }>(batch).error.code).toBe('FOG_ERR_BAD_TTL');
    const orig = await request('GET', `${fe}/set/?key=${enc(key)}&value=bad&ttl=nope`);
    expect(orig.status).toBe(501);
    expect(orig.text).toMatch(/^FOG_ERR_BAD_TTL: /);
    expect((await request('GET', kvUrl(fe, key))).text).toBe('v2');
  });

  it('a replica that was down while a value with a ttl was written receives it with the same expiry', async () => {
    const c = cluster();
    const fe = c.frontendUrl(0);
    const key = `${run}-missed`;
    await c.killStorage(2, 'SIGKILL');
    const put = await request('PUT', kvUrl(fe, key, '?w=quorum&ttl=1h'), 'late');
    expect(put.status).toBe(200);
    const { version, expiresAtMs } = jsonOf<{ version: string; expiresAtMs: number }>(put);
    await c.restartStorage(2);
    // No read of the key: a hint or anti-entropy brings it, expiry included.
    const held = await waitFor(() => heldKey(c, 2, key), { what: 'storage-2 to receive the missed write', timeoutMs: 30_000, intervalMs: 200, until: (k) => k !== undefined });
    expect(held).toMatchObject({ ver: version, exp: expiresAtMs });
  });
});
