import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { AUTH_HEADERS, deriveAuthKeys, signRequest } from '@fog/protocol';
import { AppChild, LOOPBACK, describeExit, freePort, stopChildren, waitFor } from '@fog/launcher';

/** The built apps (npm run build): <root>/dist/apps/<app>/main.js, found from this bundle's place. */
const WORKSPACE_ROOT = path.resolve(__dirname, '..', '..', '..');
const START_TIMEOUT_MS = 300_000;
const STOP_GRACE_MS = 3000;
const HTTP_TIMEOUT_MS = 30_000;

type AppName = 'controller' | 'storage' | 'frontend';

function appMain(app: AppName): string {
  const main = path.join(WORKSPACE_ROOT, 'dist', 'apps', app, 'main.js');
  if (!fs.existsSync(main)) throw new Error(`${main} is missing: run npm run build first`);
  return main;
}

/** The secret of the bench's cluster (drawn per run); its own requests are signed with it. */
export const BENCH_CLUSTER_SECRET = randomBytes(24).toString('hex');
const benchKeys = deriveAuthKeys(BENCH_CLUSTER_SECRET);

/** GET that must answer 200 with JSON (signed: storage nodes' operator routes need the secret). */
export async function getJson<T>(url: string, timeoutMs = HTTP_TIMEOUT_MS): Promise<T> {
  const u = new URL(url);
  const auth = signRequest(benchKeys, { method: 'GET', path: u.pathname + u.search, body: '', cluster: '' }, Date.now(), randomBytes(12).toString('base64url'));
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { [AUTH_HEADERS.auth]: auth } });
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  return (await res.json()) as T;
}

/** One app on a fixed loopback port that can be killed and started again; log in <logDir>/<name>.log. */
export class App {
  private child: AppChild | null = null;

  constructor(readonly app: AppName, readonly name: string, readonly port: number, private readonly args: string[], private readonly logDir: string) {}

  get url(): string {
    return `http://${LOOPBACK}:${this.port}`;
  }

  get process(): AppChild | null {
    return this.child;
  }

  start(): void {
    if (this.child?.running) throw new Error(`${this.name} is already running (pid ${this.child.pid})`);
    const log = path.join(this.logDir, `${this.name}.log`);
    const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FOG_'))), FOG_CLUSTER_SECRET: BENCH_CLUSTER_SECRET };
    this.child = new AppChild({ name: this.name, app: this.app, main: appMain(this.app), args: this.args, cwd: WORKSPACE_ROOT, env, stdoutPath: log, stderrPath: log, header: true });
  }

  /** SIGKILL (kill -9) and wait until reaped. */
  async kill(): Promise<void> {
    await this.child?.kill();
  }

  /** SIGSTOP / SIGCONT by its PID while it runs. */
  pause(): void {
    if (this.child?.running) process.kill(this.child.pid, 'SIGSTOP');
  }

  resume(): void {
    if (this.child?.running) process.kill(this.child.pid, 'SIGCONT');
  }

  /** Wait until /health answers ok, with a table (epoch >= 1) for nodes. */
  async waitHealthy(timeoutMs = START_TIMEOUT_MS): Promise<void> {
    await waitFor(() => getJson<{ status: string; epoch?: number }>(`${this.url}/health`), {
      what: `${this.name} to answer ${this.url}/health with a table`, timeoutMs, intervalMs: 100,
      until: (h) => h.status === 'ok' && (this.app === 'controller' || (h.epoch ?? 0) >= 1),
      abortIf: () => (this.child?.running ? null : `${this.name} ${describeExit(this.child?.exitStatus ?? null)} (see ${path.join(this.logDir, `${this.name}.log`)})`),
    });
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
      await waitFor(async () => {
        const v = await getJson<{ epoch: number; formed: boolean; movesPending: number; planning?: boolean; nodes: Array<{ state: string }> }>(`${controller.url}/v1/cluster`);
        return { epoch: v.epoch, formed: v.formed, movesPending: v.movesPending + (v.planning ? 1 : 0), notUp: v.nodes.filter((n) => n.state !== 'up').length };
      }, {
        what: 'the table to form and settle (every node up, no pending replica)', timeoutMs: START_TIMEOUT_MS, intervalMs: 200,
        until: (v) => v.formed && v.movesPending === 0 && v.notUp === 0,
      });
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  /** SIGTERM to every process still running (continued first if stopped), SIGKILL after a grace period. */
  async stop(): Promise<void> {
    const apps = [this.frontend, ...this.storage, this.controller];
    for (const a of apps) a.resume();
    await stopChildren(apps.flatMap((a) => (a.process ? [a.process] : [])), STOP_GRACE_MS);
  }
}
