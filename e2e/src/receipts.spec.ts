import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { FogClient } from '@fog/client';
import {
  assertValidExposition, get, getJson, installProcessSafetyNet, jsonOf, makeTempDir, removeTempDir, request, sampleValue, useCluster, type Cluster,
} from './harness';

installProcessSafetyNet();

const run = randomBytes(4).toString('hex');
const enc = encodeURIComponent;
const kvUrl = (fe: string, k: string, query = '') => `${fe}/v1/kv/${enc(k)}${query}`;

async function heldVersion(c: Cluster, i: number, key: string): Promise<string | undefined> {
  const body = await getJson<{ keys: Array<{ key: string; ver: string }> }>(`${c.storageUrl(i)}/v1/keys?limit=100000`);
  return body.keys.find((k) => k.key === key)?.ver;
}

async function extraReads(fe: string): Promise<number> {
  const res = await get(`${fe}/metrics`);
  return sampleValue(assertValidExposition(res.text, `${fe}/metrics`).samples, 'fog_frontend_receipt_extra_reads_total') ?? 0;
}

// Hints and anti-entropy off, so that a replica that missed a write keeps lagging until read
// repair: the receipt is the only thing that can make an r=1 read see the write.
describe('write receipts on the real stack (K=3, hints and anti-entropy off)', () => {
  const dataRoot = makeTempDir('receipts-data');
  const { cluster, it } = useCluster({
    storage: 3, frontends: 1, redundancy: 3, digits: 1, label: 'receipts',
    storageArgs: (i) => ['--data-dir', path.join(dataRoot, `storage-${i}`), '--fsync', 'always', '--anti-entropy', 'off'],
    frontendArgs: ['--hints-per-node-max', '0'],
    // The stopped replicas must not be replaced while the test runs.
    controllerArgs: ['--out-after-ms', '120000'],
  });
  afterAll(() => removeTempDir(dataRoot));

  it('an r=1 read with the write\'s receipt sees the write while two replicas lag; the client session does it by itself', async () => {
    const c = cluster();
    const fe = c.frontendUrl(0);
    const key = `${run}-ryw`;
    expect((await request('PUT', kvUrl(fe, key, '?w=all'), 'old')).status).toBe(200);
    // storage-1 and -2 miss the next write (w=1: storage-0 alone acknowledges it) and come back with "old".
    await c.killStorage(1, 'SIGKILL');
    await c.killStorage(2, 'SIGKILL');
    const put = await request('PUT', kvUrl(fe, key, '?w=1'), 'new');
    expect(put.status).toBe(200);
    const receipt = put.headers['x-fog-version'];
    expect(jsonOf<{ version: string }>(put).version).toBe(receipt);
    await c.restartStorage(1);
    await c.restartStorage(2);
    expect(await heldVersion(c, 0, key)).toBe(receipt);
    for (const i of [1, 2]) expect(await heldVersion(c, i, key)).not.toBe(receipt);

    // Plain r=1 reads may answer the old value (they ask one random replica).
    const extraBefore = await extraReads(fe);
    const seen = new Set<string>();
    for (let n = 0; n < 12; n++) {
      // Header and query forms, alternately.
      const res = n % 2 === 0
        ? await request('GET', kvUrl(fe, key, '?r=1'), undefined, { 'x-fog-after': receipt })
        : await request('GET', kvUrl(fe, key, `?r=1&after=${enc(receipt)}`));
      expect(res.status).toBe(200);
      expect(res.text).toBe('new');
      expect(res.headers['x-fog-version']).toBe(receipt);
      seen.add(res.text);
    }
    expect([...seen]).toEqual(['new']);
    // Some of those reads asked a lagging replica first and had to ask on (read repair then fixes it).
    expect(await extraReads(fe)).toBeGreaterThan(extraBefore);

    // The client library carries receipts per session.
    const fog = new FogClient({ frontends: [fe.replace('http://', '')] });
    try {
      const session = fog.session();
      const key2 = `${run}-session`;
      await fog.put(key2, 'one', { w: 'all' });
      await c.killStorage(1, 'SIGKILL');
      await c.killStorage(2, 'SIGKILL');
      const w = await session.put(key2, 'two', { w: 1 });
      await c.restartStorage(1);
      await c.restartStorage(2);
      expect(session.receipt(key2)).toBe(w.version);
      for (let n = 0; n < 6; n++) expect((await session.get(key2, { r: 1 }))?.value.toString()).toBe('two');
    } finally {
      fog.close();
    }
  });

  it('a receipt no live replica can meet is 503 FOG_ERR_RECEIPT_NOT_MET, and a malformed one is 400', async () => {
    const c = cluster();
    const fe = c.frontendUrl(0);
    const key = `${run}-unmet`;
    const put = await request('PUT', kvUrl(fe, key, '?w=all'), 'v');
    const [ms, counter, writer] = put.headers['x-fog-version'].split('.');
    const future = `${Number(ms) + 3_600_000}.${counter}.${writer}`;
    const res = await request('GET', kvUrl(fe, key, '?r=1'), undefined, { 'x-fog-after': future });
    expect(res.status).toBe(503);
    expect(jsonOf<{ error: { code: string; details: { asked: number } } }>(res).error).toMatchObject({ code: 'FOG_ERR_RECEIPT_NOT_MET', details: { asked: 3 } });
    const bad = await request('GET', kvUrl(fe, key, '?after=yesterday'));
    expect(bad.status).toBe(400);
    expect(jsonOf<{ error: { code: string } }>(bad).error.code).toBe('FOG_ERR_BAD_REQUEST');
    // An older receipt is met by the newer value.
    const older = await request('GET', kvUrl(fe, key, '?r=1'), undefined, { 'x-fog-after': '1.0.someone' });
    expect(older.status).toBe(200);
  });
});
