import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { BatchResponse, ScanResponse } from '@fog/protocol';
import { Cluster, installProcessSafetyNet, jsonOf, makeTempDir, removeTempDir, request, type HttpResponse } from './harness';
import { useFogctl } from './fogctl-process';

installProcessSafetyNet();

const OPTS = { storage: 3, frontends: 2, redundancy: 3, digits: 1 };
const KEYS = 300;
const run = randomBytes(4).toString('hex');
const enc = encodeURIComponent;

function ok(res: HttpResponse, what: string): HttpResponse {
  if (res.status !== 200) throw new Error(`${what}: expected 200, got ${res.status} ${res.text.slice(0, 300)}`);
  return res;
}

/** Every key with its version and value (base64), bucket items included, as a quorum scan lists them. */
async function contents(frontend: string): Promise<Array<[string, string, string]>> {
  const out: Array<[string, string, string]> = [];
  let after: string | null = null;
  for (;;) {
    const page: ScanResponse = jsonOf<ScanResponse>(ok(await request('GET', `${frontend}/v1/kv?buckets=include&limit=1000${after === null ? '' : `&after=${enc(after)}`}`), 'scan'));
    for (const i of page.items) out.push([i.key, i.version, Buffer.from(i.value!, i.encoding === 'base64' ? 'base64' : 'utf8').toString('base64')]);
    if (page.next === null) return out;
    after = page.next;
  }
}

describe('backup and restore through fogctl', () => {
  const fogctl = useFogctl();
  let dir = '';
  let first: Cluster | undefined;
  let second: Cluster | undefined;
  beforeAll(() => {
    dir = makeTempDir('backup');
  });
  afterAll(async () => {
    await first?.stop();
    await second?.stop();
    removeTempDir(dir);
  });

  it('writes, backs up, restores into a fresh cluster with the same versions, and keeps a newer write made meanwhile', async () => {
    first = await Cluster.start({ ...OPTS, label: 'backup-source' });
    const fe = first.frontendUrl(0);
    const ops = Array.from({ length: KEYS }, (_, i) => ({ op: 'put', key: `${run}/k${i}`, value: i % 3 === 0 ? randomBytes(40).toString('base64') : `text ${i}`, ...(i % 3 === 0 ? { encoding: 'base64' } : {}), ...(i === 5 ? { ttl: '1h' } : {}) }));
    const res = jsonOf<BatchResponse>(ok(await request('POST', `${fe}/v1/batch`, JSON.stringify({ ops }), { 'content-type': 'application/json' }), 'batch'));
    expect(res.results.every((r) => r.status === 200)).toBe(true);
    ok(await request('PUT', `${fe}/v1/buckets/${run}-bucket/items/photo`, randomBytes(64)), 'bucket item');
    ok(await request('DELETE', `${fe}/v1/kv/${enc(`${run}/k1`)}`), 'delete');
    const before = await contents(first.frontendUrl(1));
    expect(before.length).toBe(KEYS); // 300 keys - 1 deleted + 1 bucket item

    const file = path.join(dir, 'fog.backup');
    const backup = await fogctl(['backup', file, '--frontend', fe.replace('http://', '')]);
    expect({ code: backup.code, out: backup.out }).toEqual({ code: 0, out: `backup of ${KEYS} keys (${before.reduce((n, [, , v]) => n + Buffer.from(v, 'base64').length, 0)} value bytes, 16 partitions) written to ${file}\n` });
    expect(backup.err).toMatch(/partition 16\/16/); // progress on stderr
    expect(fs.readFileSync(file, 'utf8')).not.toContain(`${run}/k1"`);

    // Wipe: the first cluster is gone; a fresh one starts empty.
    await first.stop();
    first = undefined;
    // The new cluster's frontends take smaller batches than fogctl sends: it splits its requests.
    second = await Cluster.start({ ...OPTS, label: 'backup-target', frontendArgs: ['--batch-items-max', '100'] });
    const fe2 = second.frontendUrl(0);
    expect(await contents(fe2)).toEqual([]);
    // A write made on the new cluster before the restore is newer than the backed-up one: it wins.
    const newer = ok(await request('PUT', `${fe2}/v1/kv/${enc(`${run}/k2`)}`, 'written after the backup'), 'newer put').headers['x-fog-version'];

    const restore = await fogctl(['restore', file, '--json', '--frontend', second.frontendUrl(1).replace('http://', '')]);
    expect({ code: restore.code, err: restore.err }).toEqual({ code: 0, err: '' });
    expect(JSON.parse(restore.out)).toEqual({ file, keys: KEYS, restored: KEYS - 1, newer: 1, failed: 0, complete: true });

    // A key written with a ttl comes back with its expiry.
    const withTtl = ok(await request('GET', `${fe2}/v1/kv/${enc(`${run}/k5`)}`), 'key with a ttl');
    expect(Number(withTtl.headers['x-fog-ttl-ms'])).toBeGreaterThan(0);
    expect(Number(withTtl.headers['x-fog-ttl-ms'])).toBeLessThanOrEqual(3_600_000);
    const after = await contents(second.frontendUrl(0));
    const want = before.map(([k, v, val]) => (k === `${run}/k2` ? [k, newer, Buffer.from('written after the backup').toString('base64')] : [k, v, val]));
    expect(after).toEqual(want);

    // Repeating the restore is safe: nothing changes.
    const again = await fogctl(['restore', file, '--json', '--frontend', fe2.replace('http://', '')]);
    expect(JSON.parse(again.out)).toMatchObject({ keys: KEYS, failed: 0, complete: true });
    expect(await contents(second.frontendUrl(1))).toEqual(want);

    // A cut-short file restores what it holds and says so (exit 1).
    const cut = path.join(dir, 'cut.backup');
    fs.writeFileSync(cut, fs.readFileSync(file, 'utf8').split('\n').slice(0, 11).join('\n'));
    const partial = await fogctl(['restore', cut, '--frontend', fe2.replace('http://', '')]);
    expect(partial.code).toBe(1);
    expect(partial.err).toMatch(/cut short/);
    const notBackup = await fogctl(['restore', path.join(dir, 'nothing-here'), '--frontend', fe2.replace('http://', '')]);
    expect(notBackup.code).toBe(2);
  }, 240_000);
});
