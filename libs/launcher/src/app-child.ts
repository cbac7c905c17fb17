import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { tailFile } from './tail-file';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface AppChildOptions {
  /** Name of this process in messages and log file names, e.g. `storage-2`. */
  name: string;
  /** Which program it is (`controller`, `storage`, `frontend`), for messages. */
  app: string;
  /** The script node runs, e.g. dist/apps/storage/main.js. */
  main: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Where stdout goes. */
  stdoutPath: string;
  /** Where stderr goes; the same path as stdoutPath gives one combined log. */
  stderrPath: string;
  /** `append` (default) keeps what the files hold; `truncate` starts them empty. */
  logMode?: 'append' | 'truncate';
  /** Write a `# <time> <app> <args>` line at the top of stdout's log first. */
  header?: boolean;
}

/** `exited with code 1`, `killed by SIGKILL`, or `running`. */
export function describeExit(s: ExitStatus | null): string {
  if (!s) return 'running';
  return s.signal ? `killed by ${s.signal}` : `exited with code ${s.code}`;
}

/** The number of a signal name (SIGKILL -> 9), or 0 when unknown. */
export function signalNumber(signal: NodeJS.Signals): number {
  return (os.constants.signals as Record<string, number>)[signal] ?? 0;
}

/**
 * One app as a real child process, `node MAIN ...args`, its output written to log files. Signals
 * go to its PID only, and only while it has not been seen to exit, so a recycled PID is never
 * signalled. Shared by runlocal and the end-to-end harness.
 */
export class AppChild {
  readonly pid: number;
  /** Resolves once the process has exited and been reaped. */
  readonly exited: Promise<ExitStatus>;
  private status: ExitStatus | null = null;
  private expectingExit = false;
  private readonly child: ChildProcess;

  constructor(readonly opts: AppChildOptions) {
    const flags = opts.logMode === 'truncate' ? 'w' : 'a';
    const out = fs.openSync(opts.stdoutPath, flags);
    let err = out;
    try {
      if (opts.stderrPath !== opts.stdoutPath) err = fs.openSync(opts.stderrPath, flags);
      if (opts.header) fs.writeSync(out, `# ${new Date().toISOString()} ${opts.app} ${opts.args.join(' ')}\n`);
      this.child = spawn(process.execPath, [opts.main, ...opts.args], { cwd: opts.cwd, stdio: ['ignore', out, err], env: opts.env });
    } finally {
      // The child holds its own copies of the descriptors.
      fs.closeSync(out);
      if (err !== out) fs.closeSync(err);
    }
    this.exited = new Promise<ExitStatus>((resolve) => {
      const done = (s: ExitStatus) => {
        if (this.status) return;
        this.status = s;
        resolve(s);
      };
      this.child.once('exit', (code, signal) => done({ code, signal }));
      this.child.once('error', (e) => {
        fs.appendFileSync(opts.stderrPath, `# spawn error: ${e.message}\n`);
        if (this.child.pid === undefined) done({ code: null, signal: null });
      });
    });
    if (this.child.pid === undefined) throw new Error(`could not spawn ${opts.app} ${opts.args.join(' ')} (see ${opts.stderrPath})`);
    this.pid = this.child.pid;
  }

  get name(): string {
    return this.opts.name;
  }

  get outLog(): string {
    return this.opts.stdoutPath;
  }

  get errLog(): string {
    return this.opts.stderrPath;
  }

  /** Exit status once exited, else null. */
  get exitStatus(): ExitStatus | null {
    return this.status;
  }

  get running(): boolean {
    return this.status === null;
  }

  /** Exit status when the process exited without being asked to (a crash), else null. */
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
      fs.appendFileSync(this.errLog, `# no exit ${graceMs} ms after SIGTERM, sending SIGKILL\n`);
      return this.kill();
    }
  }

  stdoutText(): string {
    return fs.readFileSync(this.outLog, 'utf8');
  }

  stderrText(): string {
    return fs.readFileSync(this.errLog, 'utf8');
  }

  /** The last lines of its logs, for failure reports. */
  tail(lines = 30): string {
    const head = `---- ${this.name} (pid ${this.pid}, ${describeExit(this.status)}) ${this.opts.app} ${this.opts.args.join(' ')}`;
    if (this.outLog === this.errLog) return [head, `-- log (${this.outLog}):`, tailFile(this.outLog, lines)].join('\n');
    return [head, `-- stdout (${this.outLog}):`, tailFile(this.outLog, lines), `-- stderr (${this.errLog}):`, tailFile(this.errLog, lines)].join('\n');
  }
}

export interface StopReport {
  /** Names of the processes that were still running and got SIGTERM. */
  terminated: string[];
  /** Names of those still running after the grace period, which got SIGKILL. */
  killed: string[];
}

/**
 * Stop processes together: SIGTERM to every one still running, up to `graceMs` for all of them
 * to exit, then SIGKILL to what is left; resolves once every one has exited. `onKill` is told
 * before the SIGKILLs are sent.
 */
export async function stopChildren(children: readonly AppChild[], graceMs: number, onKill?: (names: string[]) => void): Promise<StopReport> {
  const live = children.filter((c) => c.running);
  for (const c of live) c.signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  await Promise.all(live.map((c) => c.waitExit(Math.max(0, deadline - Date.now())).catch(() => null)));
  const left = live.filter((c) => c.running);
  if (left.length) {
    onKill?.(left.map((c) => c.name));
    for (const c of left) fs.appendFileSync(c.errLog, `# no exit ${graceMs} ms after SIGTERM, sending SIGKILL\n`);
    await Promise.all(left.map((c) => c.kill()));
  }
  return { terminated: live.map((c) => c.name), killed: left.map((c) => c.name) };
}
