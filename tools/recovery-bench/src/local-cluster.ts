import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The built apps (npm run build): <root>/dist/apps/<app>/main.js, found from this bundle's place. */
const WORKSPACE_ROOT = path.resolve(__dirname, '..', '..', '..');
const LOOPBACK = '127.0.0.1';
const START_TIMEOUT_MS = 300_000;
const STOP_GRACE_MS = 3000;
const HTTP_TIMEOUT_MS = 30_000;

type AppName = 'controller' | 'storage' | 'frontend';

export function appMain(app: AppName): string {
  const main = path.join(WORKSPACE_ROOT, 'dist', 'apps', app, 'main.js');
  if (!fs.existsSync(main)) throw new Error(`${main} is missing: run npm run build first`);
  return main;
}

/** GET on loopback; any status is returned, the body as text. */
export function httpGet(url: string, timeoutMs = HTTP_TIMEOUT_MS): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

export async function getJson<T>(url: string): Promise<T> {
  const res = await httpGet(url);
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${res.text.slice(0, 300)}`);
  return JSON.parse(res.text) as T;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: LOOPBACK, port: 0, exclusive: true }, () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

/** Poll until `probe` gives a value `until` accepts; a throwing probe counts as "not yet". */
export async function waitUntil<T>(what: string, probe: () => Promise<T>, until: (v: T) => boolean, timeoutMs: number, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = 'nothing yet';
  for (;;) {
    try {
      const v = await probe();
      if (until(v)) return v;
      last = v;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${JSON.stringify(last).slice(0, 300)}`);
    await sleep(intervalMs);
  }
}

/** One app as a child process, logs in <logDir>/<name>.log, signalled by its PID only while it runs. */
export class App {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  constructor(readonly app: AppName, readonly name: string, readonly port: number, private readonly args: string[], private readonly logDir: string) {}

  get url(): string {
    return `http://${LOOPBACK}:${this.port}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  start(): void {
    if (this.child) throw new Error(`${this.name} is already running`);
    const log = fs.openSync(path.join(this.logDir, `${this.name}.log`), 'a');
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FOG_')));
    try {
      this.child = spawn(process.execPath, [appMain(this.app), ...this.args], { cwd: WORKSPACE_ROOT, stdio: ['ignore', log, log], env });
    } finally {
      fs.closeSync(log);
    }
    const child = this.child;
    this.exited = new Promise((resolve) => child.once('exit', () => {
      if (this.child === child) this.child = null;
      resolve();
    }));
  }

  signal(sig: NodeJS.Signals): void {
    if (this.child?.pid !== undefined) process.kill(this.child.pid, sig);
  }

  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (continuing it first if it was stopped), SIGKILL after a grace period. */
  async stop(): Promise<void> {
    if (!this.child) return;
    this.signal('SIGTERM');
    this.signal('SIGCONT');
    const done = await Promise.race([this.exited.then(() => true), sleep(STOP_GRACE_MS, false)]);
    if (!done) await this.kill();
  }

  /** Wait until /health answers ok with a table (epoch >= 1 for nodes). */
  async waitHealthy(timeoutMs = START_TIMEOUT_MS): Promise<void> {
    await waitUntil(`${this.name} to answer ${this.url}/health`, async () => {
      if (!this.child) throw new Error(`${this.name} exited (see ${path.join(this.logDir, `${this.name}.log`)})`);
      return getJson<{ status: string; epoch?: number }>(`${this.url}/health`);
    }, (h) => h.status === 'ok' && (this.app === 'controller' || (h.epoch ?? 0) >= 1), timeoutMs);
  }
}

export interface LocalClusterOptions {
  storage: number;
  redundancy: number;
  digits: number;
  logDir: string;
  controllerArgs: string[];
  storageArgs: (i: number) => string[];
  frontendArgs: string[];
}

/** A controller, storage nodes and one frontend on free loopback ports. */
export class LocalCluster {
  private constructor(readonly controller: App, readonly storage: App[], readonly frontend: App) {}

  static async start(opts: LocalClusterOptions): Promise<LocalCluster> {
    const ctrlPort = await freePort();
    const controller = new App('controller', 'controller', ctrlPort, [
      '--port', String(ctrlPort), '--expected-storage', String(opts.storage), '--redundancy', String(opts.redundancy),
      '--partition-digits', String(opts.digits), ...opts.controllerArgs,
    ], opts.logDir);
    const ctrl = `${LOOPBACK}:${ctrlPort}`;
    const storage: App[] = [];
    for (let i = 0; i < opts.storage; i++) {
      const port = await freePort();
      storage.push(new App('storage', `storage-${i}`, port, [ctrl, `${LOOPBACK}:${port}`, ...opts.storageArgs(i)], opts.logDir));
    }
    const fePort = await freePort();
    const frontend = new App('frontend', 'frontend-0', fePort, [ctrl, `${LOOPBACK}:${fePort}`, ...opts.frontendArgs], opts.logDir);
    const cluster = new LocalCluster(controller, storage, frontend);
    try {
      controller.start();
      await controller.waitHealthy();
      for (const s of storage) s.start();
      frontend.start();
      await Promise.all([...storage, frontend].map((a) => a.waitHealthy()));
      // Formed, every node up, and no replica pending (a node seen down and back empty at
      // start-up would make its partitions copies).
      await waitUntil('the table to form and settle (every node up, no pending replica)', async () => {
        const v = await getJson<{ epoch: number; formed: boolean; movesPending: number; nodes: Array<{ state: string }> }>(`${controller.url}/v1/cluster`);
        return { epoch: v.epoch, formed: v.formed, movesPending: v.movesPending, notUp: v.nodes.filter((n) => n.state !== 'up').length };
      }, (v) => v.formed && v.movesPending === 0 && v.notUp === 0, START_TIMEOUT_MS);
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    await Promise.all([this.frontend, ...this.storage, this.controller].map((a) => a.stop()));
  }
}
