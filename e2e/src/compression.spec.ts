import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { assertValidExposition, get, installProcessSafetyNet, makeTempDir, removeTempDir, request, sampleValue, useCluster, type Cluster } from './harness';

installProcessSafetyNet();

const run = randomBytes(4).toString('hex');
const enc = encodeURIComponent;
const VALUE_BYTES = 100 * 1024;

async function metric(c: Cluster, i: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const url = c.storageUrl(i);
  const res = await get(`${url}/metrics`);
  return sampleValue(assertValidExposition(res.text, `${url}/metrics`).samples, name, labels) ?? Number.NaN;
}

const valueBytes = (c: Cluster, i: number, form: 'stored' | 'plain') => metric(c, i, 'fog_storage_value_bytes', { form });

async function snapshot(c: Cluster): Promise<Array<{ stored: number; plain: number; log: number }>> {
  return Promise.all([0, 1, 2].map(async (i) => ({
    stored: await valueBytes(c, i, 'stored'), plain: await valueBytes(c, i, 'plain'), log: await metric(c, i, 'fog_storage_log_bytes'),
  })));
}

describe('compression on the real stack (storage-0 and -1 with --compress on, storage-2 off; K=3)', () => {
  const dataRoot = makeTempDir('compression-data');
  const { cluster, it } = useCluster({
    storage: 3, frontends: 1, redundancy: 3, digits: 1, label: 'compression',
    storageArgs: (i) => ['--data-dir', path.join(dataRoot, `storage-${i}`), '--fsync', 'always', '--compress', i < 2 ? 'on' : 'off'],
  });
  afterAll(() => removeTempDir(dataRoot));

  it('a compressible 100 KB value is stored in a fraction of its bytes where compression is on, reads back byte for byte, and stays compressed across a restart', async () => {
    const c = cluster();
    const fe = c.frontendUrl(0);
    const key = `${run}-doc`;
    const value = Buffer.from(Array.from({ length: 4000 }, (_, i) => `{"row":${i},"state":"ok","zone":"z${i % 3}"}\n`).join('')).subarray(0, VALUE_BYTES);
    expect(value.length).toBe(VALUE_BYTES);
    const before = await snapshot(c);
    expect((await request('PUT', `${fe}/v1/kv/${enc(key)}?w=all`, value)).status).toBe(200);
    const after = await snapshot(c);
    const grew = after.map((a, i) => ({ stored: a.stored - before[i].stored, plain: a.plain - before[i].plain, log: a.log - before[i].log }));
    for (const g of grew) expect(g.plain).toBe(VALUE_BYTES);
    // Compressed where it is on (JSON-like text deflates to well under a fifth), in memory and in the log ...
    for (const i of [0, 1]) {
      expect(grew[i].stored).toBeLessThan(VALUE_BYTES / 5);
      expect(grew[i].log).toBeLessThan(VALUE_BYTES / 5);
    }
    // ... and kept as written where it is off.
    expect(grew[2].stored).toBe(VALUE_BYTES);
    expect(grew[2].log).toBeGreaterThan(VALUE_BYTES);

    // Clients see the value as written, whichever replicas answer.
    for (const r of ['1', 'all']) {
      for (let n = 0; n < 3; n++) {
        const got = await request('GET', `${fe}/v1/kv/${enc(key)}?r=${r}`);
        expect(got.status).toBe(200);
        expect(got.body.equals(value)).toBe(true);
      }
    }

    // The log keeps it compressed: after a crash and restart storage-0 holds it in as few bytes, and serves it plain.
    await c.killStorage(0, 'SIGKILL');
    await c.killStorage(2, 'SIGKILL');
    await c.restartStorage(0);
    const replayed = await valueBytes(c, 0, 'stored');
    expect(replayed).toBeLessThan(before[0].stored + VALUE_BYTES / 5);
    expect(await valueBytes(c, 0, 'plain')).toBe(after[0].plain);
    const got = await request('GET', `${fe}/v1/kv/${enc(key)}?r=2`);
    expect(got.status).toBe(200);
    expect(got.body.equals(value)).toBe(true);
    await c.restartStorage(2);
  });

  it('an incompressible value is stored as written even where compression is on', async () => {
    const c = cluster();
    const fe = c.frontendUrl(0);
    const value = randomBytes(VALUE_BYTES);
    const before = await snapshot(c);
    expect((await request('PUT', `${fe}/v1/kv/${enc(`${run}-noise`)}?w=all`, value)).status).toBe(200);
    const after = await snapshot(c);
    for (const i of [0, 1, 2]) expect(after[i].stored - before[i].stored).toBe(VALUE_BYTES);
    expect((await request('GET', `${fe}/v1/kv/${enc(`${run}-noise`)}`)).body.equals(value)).toBe(true);
  });
});
