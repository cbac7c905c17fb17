import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { E2E_CLUSTER_SECRET, WORKSPACE_ROOT, appNodePath, makeTempDir, removeTempDir } from './harness';

export interface FogctlResult {
  code: number | null;
  stdout: Buffer;
  out: string;
  err: string;
}

export interface FogctlOptions {
  stdin?: Buffer | string;
  timeoutMs?: number;
  /** Added to its environment (which holds the e2e cluster secret, as an operator's shell would for the admin commands). */
  env?: Record<string, string>;
}

/**
 * The built fogctl as a real process, from a private copy (a concurrent rebuild cannot change
 * it mid-run). Call in a describe block or at the top of a file: the copy is made in beforeAll
 * and removed in afterAll.
 */
export function useFogctl(): (args: string[], opts?: FogctlOptions) => Promise<FogctlResult> {
  let main = '';
  let dir = '';
  beforeAll(() => {
    const built = path.join(WORKSPACE_ROOT, 'dist', 'tools', 'fogctl', 'main.js');
    if (!fs.existsSync(built)) throw new Error(`${built} is missing: build it with NX_DAEMON=false npx nx run fogctl:build`);
    dir = makeTempDir('fogctl');
    main = path.join(dir, 'main.js');
    fs.copyFileSync(built, main);
  });
  afterAll(() => removeTempDir(dir));
  return (args, opts = {}) => new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], {
      cwd: WORKSPACE_ROOT,
      env: { PATH: process.env.PATH ?? '', NODE_PATH: appNodePath(), FOG_CLUSTER_SECRET: E2E_CLUSTER_SECRET, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out);
      resolve({ code, stdout, out: stdout.toString('utf8'), err: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}
