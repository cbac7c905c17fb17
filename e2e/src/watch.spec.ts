import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  WORKSPACE_ROOT, appNodePath, assertValidExposition, installProcessSafetyNet, sampleValue, jsonOf, makeTempDir, removeTempDir, request, useCluster, waitFor, type HttpResponse,
} from './harness';

installProcessSafetyNet();

const run = randomBytes(4).toString('hex');
const enc = encodeURIComponent;
const kvUrl = (fe: string, k: string, query = '') => `${fe}/v1/kv/${enc(k)}${query}`;
const WATCHERS_MAX = 3;

/** A watch request in flight: settled tells whether it has answered yet. */
function watch(url: string): { settled: () => boolean; done: Promise<HttpResponse> } {
  let settled = false;
  const done = request('GET', url).finally(() => {
    settled = true;
  });
  return { settled: () => settled, done };
}

/** Give a request time to reach the frontend and be registered (watches are counted in a metric). */
async function openWatches(fe: string, n: number): Promise<void> {
  await waitFor(async () => {
    const res = await request('GET', `${fe}/metrics`);
    return sampleValue(assertValidExposition(res.text, `${fe}/metrics`).samples, 'fog_frontend_watches') ?? -1;
  }, { what: `${n} open watch(es) at ${fe}`, timeoutMs: 10_000, intervalMs: 50, until: (v) => v === n });
}

describe('watching one key on the real stack (2 frontends)', () => {
  const { cluster, it } = useCluster({
    storage: 3, frontends: 2, redundancy: 3, digits: 1, label: 'watch',
    frontendArgs: ['--watchers-max', String(WATCHERS_MAX)],
  });

  it('a watch on one frontend is woken by a write through the other, and answers the new value and version', async () => {
    const c = cluster();
    const [fe0, fe1] = [c.frontendUrl(0), c.frontendUrl(1)];
    const key = `${run}-cross`;
    const v1 = (await request('PUT', kvUrl(fe0, key), 'one')).headers['x-fog-version'];
    const w = watch(kvUrl(fe0, key, `?watch=${enc(v1)}&wait=60s`));
    await openWatches(fe0, 1);
    expect(w.settled()).toBe(false);
    const put = await request('PUT', kvUrl(fe1, key), 'two');
    const res = await w.done;
    expect(res.status).toBe(200);
    expect(res.text).toBe('two');
    expect(res.headers['x-fog-version']).toBe(put.headers['x-fog-version']);
    await openWatches(fe0, 0);
  });

  it('a watch is woken at once by a write through its own frontend, by a delete (404 with its version), and by the first write of a new key (watch=0)', async () => {
    const c = cluster();
    const fe = c.frontendUrl(1);
    const key = `${run}-local`;
    const v1 = (await request('PUT', kvUrl(fe, key), 'a')).headers['x-fog-version'];
    const w = watch(kvUrl(fe, key, `?watch=${enc(v1)}`));
    await openWatches(fe, 1);
    await request('PUT', kvUrl(fe, key, '?w=all'), 'b');
    expect((await w.done).text).toBe('b');
    const v2 = (await request('GET', kvUrl(fe, key))).headers['x-fog-version'];

    const d = watch(kvUrl(fe, key, `?watch=${enc(v2)}`));
    await openWatches(fe, 1);
    const del = await request('DELETE', kvUrl(fe, key));
    const gone = await d.done;
    expect(gone.status).toBe(404);
    expect(gone.headers['x-fog-version']).toBe(del.headers['x-fog-version']);

    const fresh = `${run}-new`;
    const n = watch(kvUrl(fe, fresh, '?watch=0'));
    await openWatches(fe, 1);
    await request('PUT', kvUrl(c.frontendUrl(0), fresh), 'born');
    expect((await n.done).text).toBe('born');
  });

  it('a watch whose version is already old answers at once; one that sees no change answers 304 when its wait ends', async () => {
    const c = cluster();
    const fe = c.frontendUrl(0);
    const key = `${run}-wait`;
    const v1 = (await request('PUT', kvUrl(fe, key), 'x')).headers['x-fog-version'];
    await request('PUT', kvUrl(fe, key), 'y');
    const stale = await request('GET', kvUrl(fe, key, `?watch=${enc(v1)}`));
    expect(stale.status).toBe(200);
    expect(stale.text).toBe('y');
    const v2 = stale.headers['x-fog-version'];
    const idle = await request('GET', kvUrl(fe, key, `?watch=${enc(v2)}&wait=1s`));
    expect(idle.status).toBe(304);
    expect(idle.headers['x-fog-version']).toBe(v2);
    for (const bad of ['?watch=yesterday', `?watch=${enc(v2)}&wait=10m`, `?watch=${enc(v2)}&wait=soon`]) {
      const res = await request('GET', kvUrl(fe, key, bad));
      expect(res.status).toBe(400);
      expect(jsonOf<{ error: { code: string } }>(res).error.code).toBe('FOG_ERR_BAD_REQUEST');
    }
  });

  it(`a frontend holds at most ${WATCHERS_MAX} watches: one more is refused 429 FOG_ERR_TOO_MANY_WATCHES, and a freed slot is taken again`, async () => {
    const c = cluster();
    const fe = c.frontendUrl(0);
    const key = `${run}-limit`;
    const v = (await request('PUT', kvUrl(fe, key), 'v')).headers['x-fog-version'];
    const held = Array.from({ length: WATCHERS_MAX }, () => watch(kvUrl(fe, key, `?watch=${enc(v)}&wait=60s`)));
    await openWatches(fe, WATCHERS_MAX);
    const refused = await request('GET', kvUrl(fe, key, `?watch=${enc(v)}&wait=60s`));
    expect(refused.status).toBe(429);
    expect(jsonOf<{ error: { code: string } }>(refused).error.code).toBe('FOG_ERR_TOO_MANY_WATCHES');
    // Plain reads are not watches: still served.
    expect((await request('GET', kvUrl(fe, key))).status).toBe(200);
    await request('PUT', kvUrl(fe, key), 'w');
    for (const h of held) expect((await h.done).status).toBe(200);
    await openWatches(fe, 0);
    const again = await request('GET', kvUrl(fe, key, `?watch=${enc(v)}&wait=1s`));
    expect(again.status).toBe(200);
  });

  it('fogctl watch KEY --once prints the value written through the other frontend; fogctl put --ttl stores an expiry', async () => {
    const c = cluster();
    const [fe0, fe1] = [c.frontendUrl(0), c.frontendUrl(1)];
    const key = `${run}-fogctl`;
    await request('PUT', kvUrl(fe0, key), 'before');
    const built = path.join(WORKSPACE_ROOT, 'dist', 'tools', 'fogctl', 'main.js');
    if (!fs.existsSync(built)) throw new Error(`${built} is missing: build it with NX_DAEMON=false npx nx run fogctl:build`);
    const dir = makeTempDir('fogctl-watch');
    try {
      const main = path.join(dir, 'main.js');
      fs.copyFileSync(built, main);
      const child = spawn(process.execPath, [main, 'watch', key, '--once', '--wait', '20s', '--frontend', fe0.replace('http://', '')], {
        cwd: WORKSPACE_ROOT, env: { PATH: process.env.PATH ?? '', NODE_PATH: appNodePath() }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      try {
        await openWatches(fe0, 1);
        await request('PUT', kvUrl(fe1, key), 'after');
        expect({ code: await exited, err: Buffer.concat(err).toString() }).toEqual({ code: 0, err: '' });
        expect(Buffer.concat(out).toString()).toBe('after\n');
      } finally {
        clearTimeout(timer);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      // And fogctl put --ttl: the value is stored with its expiry.
      const put = spawn(process.execPath, [main, 'put', key, 'short-lived', '--ttl', '1h', '--frontend', fe1.replace('http://', '')], {
        cwd: WORKSPACE_ROOT, env: { PATH: process.env.PATH ?? '', NODE_PATH: appNodePath() }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      const putOut: Buffer[] = [];
      put.stdout.on('data', (b: Buffer) => putOut.push(b));
      const putTimer = setTimeout(() => put.kill('SIGKILL'), 60_000);
      const putCode = await new Promise<number | null>((resolve) => put.on('close', resolve));
      clearTimeout(putTimer);
      expect(putCode).toBe(0);
      expect(Buffer.concat(putOut).toString()).toMatch(/^OK put version \S+ .* expires \d{4}-/);
      const got = await request('GET', kvUrl(fe0, key));
      expect(got.text).toBe('short-lived');
      const left = Number(got.headers['x-fog-ttl-ms']);
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(3_600_000);
    } finally {
      removeTempDir(dir);
    }
  });
});
