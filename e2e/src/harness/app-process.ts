import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WORKSPACE_ROOT, appMain, appNodePath, releaseDistSnapshot, type AppName } from './app-paths';
import { tailFile } from './temp-dir';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export type Lifetime = 'suite' | 'test';

export interface SpawnAppOptions {
  app: AppName;
  args: string[];
  /** Base name of the log files, e.g. `storage-2`. */
  name: string;
  logDir: string;
  /** `test`: the safety net kills it after the current test; `suite` (default): after the file. */
  lifetime?: Lifetime;
  env?: NodeJS.ProcessEnv;
}

/**
 * The runner's environment without FOG_* variables: the apps read FOG_* as options and refuse
 * unknown ones, so the harness's own settings (FOG_E2E_*) or a developer's shell must not leak
 * into an app's configuration. Tests pass FOG_* explicitly through `env` when they mean to.
 */
export function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('FOG_')) env[k] = v;
  return env;
}

/** Every child this test file started and that has not been seen to exit. */
const live = new Set<AppProcess>();

export function describeExit(s: ExitStatus | null): string {
  if (!s) return 'running';
  return s.signal ? `killed by ${s.signal}` : `exited with code ${s.code}`;
}

/**
 * One app running as a real child process: `node dist/apps/<app>/main.js ...args`, stdout and
 * stderr written to <logDir>/<name>.out.log and .err.log. Signals go to its PID only, and only
 * while it has not exited (so a recycled PID is never signalled).
 */
export class AppProcess {
  readonly pid: number;
  readonly outLog: string;
  readonly errLog: string;
  /** Resolves once the process has exited and been reaped. */
  readonly exited: Promise<ExitStatus>;
  readonly lifetime: Lifetime;
  private status: ExitStatus | null = null;
  private expectingExit = false;
  private readonly child: ChildProcess;

  private constructor(readonly opts: SpawnAppOptions) {
    this.lifetime = opts.lifetime ?? 'suite';
    fs.mkdirSync(opts.logDir, { recursive: true });
    this.outLog = path.join(opts.logDir, `${opts.name}.out.log`);
    this.errLog = path.join(opts.logDir, `${opts.name}.err.log`);
    const out = fs.openSync(this.outLog, 'a');
    const err = fs.openSync(this.errLog, 'a');
    const header = `# ${new Date().toISOString()} ${opts.app} ${opts.args.join(' ')}\n`;
    fs.writeSync(out, header);
    try {
      this.child = spawn(process.execPath, [appMain(opts.app), ...opts.args], {
        cwd: WORKSPACE_ROOT,
        stdio: ['ignore', out, err],
        env: { ...childEnv(), NODE_PATH: appNodePath(), ...opts.env },
      });
    } finally {
      // The child holds its own copies of the descriptors.
      fs.closeSync(out);
      fs.closeSync(err);
    }
    this.exited = new Promise<ExitStatus>((resolve) => {
      const done = (s: ExitStatus) => {
        if (this.status) return;
        this.status = s;
        live.delete(this);
        resolve(s);
      };
      this.child.once('exit', (code, signal) => done({ code, signal }));
      this.child.once('error', (e) => {
        fs.appendFileSync(this.errLog, `# spawn error: ${e.message}\n`);
        if (this.child.pid === undefined) done({ code: null, signal: null });
      });
    });
    if (this.child.pid === undefined) throw new Error(`could not spawn ${opts.app} ${opts.args.join(' ')} (see ${this.errLog})`);
    this.pid = this.child.pid;
    live.add(this);
  }

  static spawn(opts: SpawnAppOptions): AppProcess {
    return new AppProcess(opts);
  }

  get name(): string {
    return this.opts.name;
  }

  /** Exit status once exited, else null. */
  get exitStatus(): ExitStatus | null {
    return this.status;
  }

  get running(): boolean {
    return this.status === null;
  }

  /** Exit status when the process exited without the harness asking it to (a crash), else null. */
  get unexpectedExit(): ExitStatus | null {
    return this.status && !this.expectingExit ? this.status : null;
  }

  /** Send a signal to this PID if it is still ours (not yet exited). */
  signal(sig: NodeJS.Signals): void {
    this.expectingExit = true;
    if (this.status) return;
    try {
      process.kill(this.pid, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }

  /** Resolve with the exit status, or throw if it has not exited within `timeoutMs`. */
  async waitExit(timeoutMs: number): Promise<ExitStatus> {
    const cancel = new AbortController();
    const timer = sleep(timeoutMs, 'timeout' as const, { signal: cancel.signal }).catch(() => 'cancelled' as const);
    try {
      const r = await Promise.race([this.exited, timer]);
      if (r === 'timeout' || r === 'cancelled') throw new Error(`${this.name} (pid ${this.pid}) did not exit within ${timeoutMs} ms`);
      return r;
    } finally {
      cancel.abort();
    }
  }

  /** SIGKILL and wait until reaped. */
  async kill(): Promise<ExitStatus> {
    this.signal('SIGKILL');
    return this.waitExit(10_000);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has certainly exited. */
  async stop(graceMs = 3000): Promise<ExitStatus> {
    if (this.status) {
      this.expectingExit = true;
      return this.status;
    }
    this.signal('SIGTERM');
    try {
      return await this.waitExit(graceMs);
    } catch {
      fs.appendFileSync(this.errLog, `# harness: no exit ${graceMs} ms after SIGTERM, sending SIGKILL\n`);
      return this.kill();
    }
  }

  stdoutText(): string {
    return fs.readFileSync(this.outLog, 'utf8');
  }

  stderrText(): string {
    return fs.readFileSync(this.errLog, 'utf8');
  }

  /** The last lines of stdout and stderr, for failure reports. */
  tail(lines = 30): string {
    return [
      `---- ${this.name} (pid ${this.pid}, ${describeExit(this.status)}) ${this.opts.app} ${this.opts.args.join(' ')}`,
      `-- stdout (${this.outLog}):`,
      tailFile(this.outLog, lines),
      `-- stderr (${this.errLog}):`,
      tailFile(this.errLog, lines),
    ].join('\n');
  }
}

/** Processes started by this file that are still running. */
export function liveProcesses(): AppProcess[] {
  return [...live];
}

/** Stop every live process (of one lifetime, or all) and wait until each has exited. */
export async function stopAll(lifetime?: Lifetime): Promise<AppProcess[]> {
  const victims = [...live].filter((p) => lifetime === undefined || p.lifetime === lifetime);
  await Promise.all(victims.map((p) => p.stop(2000)));
  return victims;
}

let installed = false;

/**
 * Safety net for a test file: after each test, stop processes started with lifetime `test`;
 * after the file, stop everything still running; and if the runner itself exits, SIGKILL
 * whatever is left. Call once at the top of a spec file.
 */
export function installProcessSafetyNet(): void {
  if (installed) return;
  installed = true;
  const onExit = () => {
    for (const p of live) p.signal('SIGKILL');
  };
  process.on('exit', onExit);
  afterEach(async () => {
    const left = await stopAll('test');
    if (left.length) process.stderr.write(`e2e safety net stopped ${left.map((p) => p.name).join(', ')} after the test\n`);
  });
  afterAll(async () => {
    const left = await stopAll();
    process.off('exit', onExit);
    releaseDistSnapshot();
    installed = false;
    if (left.length) process.stderr.write(`e2e safety net stopped ${left.map((p) => p.name).join(', ')} after the file\n`);
  });
}
