import fs from 'node:fs';
import path from 'node:path';
import { runSequential } from './load';
import type { TargetName } from './options';
import { commandExists, freePort, httpRequest, start, tempDir, track, waitUntil, type Proc } from './processes';
import { benchValue, buildRequest, keyName, type Style } from './request-shapes';

/** Workspace root, from dist/tools/bench/main.js. */
const ROOT = path.resolve(__dirname, '..', '..', '..');
let appsDir = path.join(ROOT, 'dist', 'apps');
const app = (name: string) => path.join(appsDir, name, 'main.js');

/** Operations per /v1/batch request and batch requests in flight while preloading Velour Fog. */
const FOG_PRELOAD_BATCH_OPS = 500;
const FOG_PRELOAD_CONCURRENCY = 4;
/** etcd refuses transactions of more than 128 operations by default (--max-txn-ops). */
const ETCD_PRELOAD_TXN_OPS = 128;
const PRELOAD_CONNECTIONS = 16;

export interface Target {
  name: TargetName;
  host: string;
  port: number;
  style: Style;
  /** Processes whose CPU is charged to this target. */
  processes: Proc[];
  /** Preload keys 0..keys-1; resolves with the time it took and the refusals. */
  preload(keys: number, value: Buffer): Promise<{ elapsedS: number; bad: number }>;
}

const HOST = '127.0.0.1';

/** 1 controller, `storage` in-memory storage nodes (K = min(3, storage)) and 1 frontend, from dist/apps. */
export async function startFog(
  storage: number, dir: string | null, profileDir: string | null = null, frontendFlags: string[] = [], dataDir: string | null = null, storageFlags: string[] = [],
  storageNodeOptions: string[] = [],
): Promise<Target> {
  if (dir) appsDir = path.resolve(dir);
  const prof = profileDir ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(profileDir)] : [];
  for (const a of ['controller', 'storage', 'frontend']) {
    if (!fs.existsSync(app(a))) throw new Error(`${app(a)} is missing: run npm run build first`);
  }
  const k = Math.min(3, storage);
  const cport = await freePort();
  const controller = track(start('controller', process.execPath, [app('controller'), String(cport), String(storage), String(k), '--host', HOST, '--log-level', 'warn']));
  await waitUntil('the controller', async () => (await httpRequest(`http://${HOST}:${cport}/health`)).status === 200, [controller]);
  const nodes: Proc[] = [];
  for (let i = 1; i <= storage; i++) {
    const port = await freePort();
    const persist = dataDir ? ['--data-dir', path.join(path.resolve(dataDir), `storage-${i}`)] : [];
    const node = track(start(`storage-${i}`, process.execPath, [...prof, ...storageNodeOptions, app('storage'), `${HOST}:${cport}`, `${HOST}:${port}`, '--log-level', 'warn', ...persist, ...storageFlags]));
    node.metricsUrl = `http://${HOST}:${port}/metrics`;
    nodes.push(node);
  }
  const fport = await freePort();
  const frontend = track(start('frontend', process.execPath, [...prof, app('frontend'), `${HOST}:${cport}`, `${HOST}:${fport}`, '--log-level', 'warn', ...frontendFlags]));
  const all = [controller, ...nodes, frontend];
  await waitUntil('the frontend to hold a table', async () => {
    const h = await httpRequest(`http://${HOST}:${fport}/health`);
    return h.status === 200 && ((JSON.parse(h.text) as { epoch?: number }).epoch ?? 0) > 0;
  }, all);
  return existingFog(HOST, fport, [frontend, ...nodes, controller]);
}

/** A frontend someone else started (no CPU figures unless processes are given). */
export function existingFog(host: string, port: number, processes: Proc[] = []): Target {
  return {
    name: 'fog', host, port, style: 'original', processes,
    preload: (keys, value) => {
      const v = value.toString('utf8');
      const batches = Math.ceil(keys / FOG_PRELOAD_BATCH_OPS);
      return runSequential(host, port, 'http', batches, FOG_PRELOAD_CONCURRENCY, (n) => {
        const ops: string[] = [];
        for (let i = n * FOG_PRELOAD_BATCH_OPS; i < Math.min(keys, (n + 1) * FOG_PRELOAD_BATCH_OPS); i++) ops.push(`{"op":"put","key":"${keyName(i)}","value":"${v}"}`);
        const body = `{"ops":[${ops.join(',')}]}`;
        return Buffer.from(`POST /v1/batch HTTP/1.1\r\nHost: ${host}:${port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      });
    },
  };
}

export async function startAnchor(kind: 'bare' | 'express'): Promise<Target> {
  const port = await freePort();
  const p = track(start(kind, process.execPath, [path.join(__dirname, 'main.js'), '--serve-anchor', kind, '--port', String(port)]));
  await waitUntil(`the ${kind} anchor`, async () => (await httpRequest(`http://${HOST}:${port}/get/?key=x`)).status === 404, [p]);
  return {
    name: kind, host: HOST, port, style: 'original', processes: [p],
    preload: (keys, value) => runSequential(HOST, port, 'http', keys, PRELOAD_CONNECTIONS, (i) => buildRequest('original', true, i, value, `${HOST}:${port}`)),
  };
}

export async function startRedis(): Promise<Target | null> {
  if (!commandExists('redis-server')) return null;
  const port = await freePort();
  const p = track(start('redis', 'redis-server', ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning']));
  await waitUntil('redis', async () => {
    const r = await runSequential(HOST, port, 'resp', 1, 1, () => Buffer.from('*1\r\n$4\r\nPING\r\n'));
    return r.bad === 0;
  }, [p]);
  return {
    name: 'redis', host: HOST, port, style: 'redis', processes: [p],
    preload: (keys, value) => runSequential(HOST, port, 'resp', keys, PRELOAD_CONNECTIONS, (i) => buildRequest('redis', true, i, value, '')),
  };
}

/** One etcd member (v3 JSON gateway), its data in a temporary folder. */
export async function startEtcd(): Promise<Target | null> {
  if (!commandExists('etcd')) return null;
  const port = await freePort();
  const peer = await freePort();
  const dir = tempDir('etcd');
  const p = track(start('etcd', 'etcd', [
    '--name', 'bench', '--data-dir', dir,
    '--listen-client-urls', `http://${HOST}:${port}`, '--advertise-client-urls', `http://${HOST}:${port}`,
    '--listen-peer-urls', `http://${HOST}:${peer}`, '--initial-advertise-peer-urls', `http://${HOST}:${peer}`,
    '--initial-cluster', `bench=http://${HOST}:${peer}`, '--log-level', 'error', '--logger', 'zap',
  ]));
  p.child.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  await waitUntil('etcd', async () => (await httpRequest(`http://${HOST}:${port}/v3/kv/range`, 'POST', '{"key":"eA=="}')).status === 200, [p]);
  return {
    name: 'etcd', host: HOST, port, style: 'etcd', processes: [p],
    preload: (keys, value) => {
      const v = value.toString('base64');
      return runSequential(HOST, port, 'http', Math.ceil(keys / ETCD_PRELOAD_TXN_OPS), PRELOAD_CONNECTIONS, (n) => {
        const puts: string[] = [];
        for (let i = n * ETCD_PRELOAD_TXN_OPS; i < Math.min(keys, (n + 1) * ETCD_PRELOAD_TXN_OPS); i++) {
          puts.push(`{"requestPut":{"key":"${Buffer.from(keyName(i)).toString('base64')}","value":"${v}"}}`);
        }
        const body = `{"success":[${puts.join(',')}]}`;
        return Buffer.from(`POST /v3/kv/txn HTTP/1.1\r\nHost: ${HOST}:${port}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      });
    },
  };
}

export { benchValue };
