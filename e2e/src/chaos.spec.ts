// The chaos suite's short variant: the built chaos tool (tools/chaos) starts a real cluster,
// injects one seed's faults (kill -9, disk loss, SIGSTOP/SIGCONT, relay cuts, controller kill,
// clock skew when libfaketime is installed) under a recorded workload, and checks the history.
// The long variant is `npm run chaos -- --long` (docs/reliability.md).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { WORKSPACE_ROOT, childEnv } from './harness';

const CHAOS = path.join(WORKSPACE_ROOT, 'dist', 'tools', 'chaos', 'main.js');
/** A fixed seed, so that a failure here replays with the same faults (FOG_E2E_CHAOS_SEED to explore others). */
const SEED = Number(process.env.FOG_E2E_CHAOS_SEED ?? 20261130);
const FAULT_PHASE_SECONDS = 40;
/** Cluster start, the fault phase, convergence and teardown on a busy 2-core machine. */
const RUN_TIMEOUT_MS = 170_000;

function runChaos(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }> {
  const env = { ...childEnv() };
  // The harness settings the tool shares with this run (where the apps are built, keeping logs).
  for (const name of ['FOG_E2E_DIST_DIR', 'FOG_E2E_KEEP_LOGS']) if (process.env[name]) env[name] = process.env[name];
  const child = spawn(process.execPath, [CHAOS, ...args], { cwd: WORKSPACE_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // The tool stops its cluster on SIGTERM; past the timeout it is stopped by its PID.
  const timer = setTimeout(() => child.kill('SIGTERM'), RUN_TIMEOUT_MS);
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, err });
    }),
  );
}

/** The value of one row of the closing table, e.g. `lost acknowledged writes  0`. */
function figure(out: string, name: string): string {
  const m = new RegExp(`^ {2}${name} +(.*)$`, 'm').exec(out);
  if (!m) throw new Error(`no "${name}" row in the chaos report:\n${out}`);
  return m[1];
}

describe('chaos suite, short variant', () => {
  it(`one seed's faults on a real cluster: no acknowledged write lost, no order inverted, no stale quorum read, replicas converge`, async () => {
    const run = await runChaos(['--seed', String(SEED), '--seconds', String(FAULT_PHASE_SECONDS), '--clients', '3', '--think-ms', '25']);
    const report = run.out.slice(run.out.indexOf('chaos run, seed'));
    process.stdout.write(`${report}\n`);
    for (const line of run.out.split('\n')) if (/ skipped: /.test(line)) process.stdout.write(`${line}\n`);
    expect({ code: run.code, signal: run.signal, err: run.err }).toEqual({ code: 0, signal: null, err: '' });
    expect(figure(run.out, 'result')).toBe('PASS');
    // The run did what it claims: faults were injected and the workload was acknowledged under them.
    expect(Number(figure(run.out, 'faults injected').split(' ')[0])).toBeGreaterThanOrEqual(5);
    expect(Number(figure(run.out, 'writes acknowledged').split(' ')[0])).toBeGreaterThan(100);
    expect(figure(run.out, 'lost acknowledged writes')).toBe('0');
    expect(figure(run.out, 'order inversions')).toBe('0');
    expect(figure(run.out, 'stale quorum reads')).toBe('0');
    expect(figure(run.out, 'convergence after faults stop')).toMatch(/^\d+\.\d s$/);
  }, RUN_TIMEOUT_MS + 10_000);
});
