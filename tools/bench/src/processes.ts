import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const STOP_WAIT_MS = 3000;

/** A process this tool started: stopped by its PID, never by name. */
export class Proc {
  private exited = false;
  private readonly tail: string[] = [];
  /** Where its /metrics is served, for a storage node (its fog_storage_bytes); null otherwise. */
  metricsUrl: string | null = null;
  constructor(readonly name: string, readonly child: ChildProcess) {
    child.once('exit', () => {
      this.exited = true;
    });
    const keep = (d: Buffer) => {
      this.tail.push(d.toString());
      if (this.tail.length > 50) this.tail.shift();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }
  get pid(): number {
    return this.child.pid ?? -1;
  }
  get running(): boolean {
    return !this.exited;
  }
  output(): string {
    return this.tail.join('');
  }
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_WAIT_MS);
    await gone;
    clearTimeout(timer);
  }
}

/** The secret of the bench's cluster, drawn per run: the data path is measured as deployed, authenticated. */
export const BENCH_CLUSTER_SECRET = randomBytes(24).toString('hex');

export function start(name: string, command: string, args: string[], cwd?: string): Proc {
  return new Proc(name, spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd, env: { ...process.env, FOG_CLUSTER_SECRET: BENCH_CLUSTER_SECRET } }));
}

/** Every process started, so that an interrupted run still stops them. */
export const started: Proc[] = [];
export function track(p: Proc): Proc {
  started.push(p);
  return p;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export function commandExists(cmd: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => {
    try {
      fs.accessSync(path.join(d, cmd), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `fog-bench-${prefix}-`));
}

/** One HTTP request on a fresh connection (set-up and checks only, never measured). */
export function httpRequest(url: string, method = 'GET', body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, timeout: 5000, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

/** Poll until check() is true; fails with what it waited for, and the process output when it died. */
export async function waitUntil(what: string, check: () => Promise<boolean>, procs: Proc[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = procs.find((p) => !p.running);
    if (dead) throw new Error(`${dead.name} exited while waiting for ${what}:\n${dead.output()}`);
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
