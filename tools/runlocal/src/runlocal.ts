import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppChild, busyPorts, clusterReadiness, probeJson, signalNumber, stopChildren, tailFile, type ExitStatus } from '@fog/launcher';
import { buildAll, staleReason } from './build';
import { HOST, USAGE, parseRunlocalArgs, type RunlocalOptions } from './options';
import { planLocalCluster, planProcesses, readyBanner, type LocalPlan, type ProcessSpec } from './plan';

/** Between SIGTERM and SIGKILL when stopping. */
export const STOP_GRACE_MS = 5000;
/** Lines of a log shown when its process exits. */
export const LOG_TAIL_LINES = 20;
/** Between two looks at the controller's /health while it starts. */
const HEALTH_POLL_MS = 200;
/** Between two readiness checks of the whole cluster. */
const READY_POLL_MS = 300;

const say = (text: string) => process.stdout.write(`runlocal: ${text}\n`);
const warn = (text: string) => process.stderr.write(`runlocal: ${text}\n`);

class StartupError extends Error {}

/** `exited with status N` or `was killed by signal N`, as the shell version printed them. */
function describeStatus(s: ExitStatus): string {
  return s.signal ? `was killed by signal ${signalNumber(s.signal)}` : `exited with status ${s.code}`;
}

function printTail(log: string): void {
  const text = tailFile(log, LOG_TAIL_LINES);
  let size = 0;
  try {
    size = fs.statSync(log).size;
  } catch {
    // reported by tailFile's text
  }
  const lines = size > 0 || text.startsWith('(cannot read') ? text.split('\n').map((l) => `    | ${l}`) : ['    (log is empty)'];
  process.stderr.write(`${lines.join('\n')}\n`);
}

/**
 * A local cluster in the foreground: check ports, build if needed, start the controller, then
 * the storage nodes and frontends, wait until it serves, print every URL, and keep watching.
 * SIGINT or SIGTERM stops every process it started, by PID (SIGTERM, 5 s, SIGKILL). A process
 * that dies after start-up is reported and the rest keep running (watch the failover); when
 * none is left it exits 1.
 */
export class Runlocal {
  private readonly plan: LocalPlan;
  private readonly children: AppChild[] = [];
  private starting = true;
  private stopping: Promise<void> | null = null;
  private buildChild: ChildProcess | null = null;
  private startupFailure: string | null = null;
  private readyStatus = '';
  private onAllGone: (() => void) | null = null;

  constructor(private readonly o: RunlocalOptions, private readonly root: string) {
    this.plan = planLocalCluster(o);
  }

  /** Resolves with the exit status once the run is over. */
  async run(): Promise<number> {
    process.on('SIGINT', () => void this.onSignal('INT'));
    process.on('SIGTERM', () => void this.onSignal('TERM'));
    try {
      await this.startUp();
    } catch (err) {
      if (this.stopping) return new Promise<number>(() => undefined); // the signal handler exits
      warn(err instanceof StartupError ? `start-up failed: ${err.message}` : `error: ${(err as Error).message}`);
      await this.stopAll();
      return 1;
    }
    this.starting = false;
    process.stdout.write(readyBanner(this.plan, this.o, this.readyStatus));
    return new Promise<number>((resolve) => {
      this.onAllGone = () => resolve(1);
      this.checkAllGone();
    });
  }

  private async startUp(): Promise<void> {
    await this.checkPorts();
    if (this.o.build !== 'never') {
      const reason = this.o.build === 'always' ? '--build given' : staleReason(this.root);
      if (reason) {
        say(`building the apps and tools (${reason})`);
        const failed = await buildAll(this.root, (c) => {
          this.buildChild = c;
        });
        if (this.stopping) return;
        if (failed) throw new Error(failed);
      }
    }
    for (const spec of planProcesses(this.plan)) {
      const main = this.mainOf(spec);
      if (!fs.existsSync(main)) throw new Error(`${path.relative(this.root, main)} is missing: build first (drop --no-build)`);
    }
    fs.mkdirSync(this.plan.logDir, { recursive: true });
    ensureSecretFile(this.plan.secretFile);
    for (const spec of planProcesses(this.plan)) if (spec.dataDir) fs.mkdirSync(spec.dataDir, { recursive: true });
    await this.checkPorts(); // again: the build above may have taken a while

    const deadline = Date.now() + this.o.timeoutS * 1000;
    const o = this.o;
    say(`starting: 1 controller, ${o.storage} storage node(s) (K=${o.redundancy}, D=${o.partitionDigits}, ${o.zones} zone(s)), ${o.frontends} frontend(s)`);
    const controller = this.start(this.plan.controller);
    while (!(await probeJson(`${this.plan.controller.url}/health`))) {
      this.throwIfExited('the controller exited');
      if (Date.now() >= deadline) {
        warn(`last lines of ${controller.outLog}:`);
        printTail(controller.outLog);
        throw new StartupError(`the controller did not answer /health within ${o.timeoutS} s`);
      }
      await sleep(HEALTH_POLL_MS);
    }
    for (const spec of [...this.plan.storage, ...this.plan.frontends]) this.start(spec);

    let last = '';
    const frontendUrls = this.plan.frontends.map((f) => f.url);
    for (;;) {
      if (this.stopping) return;
      const r = await clusterReadiness(this.plan.controller.url, frontendUrls);
      if (r.ready) {
        this.readyStatus = r.summary;
        return;
      }
      this.throwIfExited('a process exited before the cluster was ready');
      if (r.summary !== last) {
        say(r.summary);
        last = r.summary;
      }
      if (Date.now() >= deadline) {
        warn(`last lines of ${controller.outLog}:`);
        printTail(controller.outLog);
        throw new StartupError(`not ready within ${o.timeoutS} s (${r.summary}); see the logs in ${this.plan.logDir}/`);
      }
      await sleep(READY_POLL_MS);
    }
  }

  private async checkPorts(): Promise<void> {
    const busy = await busyPorts(HOST, planProcesses(this.plan).map((p) => p.port));
    if (busy.length) throw new Error(`refusing to start: port(s) already in use on ${HOST}: ${busy.join(', ')}. Stop whatever is listening there first.`);
  }

  private mainOf(spec: ProcessSpec): string {
    return path.join(this.root, 'dist', 'apps', spec.app, 'main.js');
  }

  private start(spec: ProcessSpec): AppChild {
    if (this.stopping) throw new Error('stopping');
    const log = path.join(this.plan.logDir, `${spec.name}.log`);
    // The apps read FOG_* variables as flags: keep the caller's out of them, as the flags say all.
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('FOG_')) env[k] = v;
    const child = new AppChild({
      name: spec.name, app: spec.app, main: this.mainOf(spec), args: spec.args, cwd: this.root, env,
      stdoutPath: log, stderrPath: log, logMode: 'truncate',
    });
    this.children.push(child);
    say(`started ${spec.name} (pid ${child.pid}) -> ${log}`);
    void child.exited.then((status) => this.onExit(child, status));
    return child;
  }

  private onExit(child: AppChild, status: ExitStatus): void {
    if (this.stopping) return;
    warn(`${child.name} (pid ${child.pid}) ${describeStatus(status)}; last lines of ${child.outLog}:`);
    printTail(child.outLog);
    if (this.starting) {
      this.startupFailure ??= child.name;
      return;
    }
    const alive = this.children.filter((c) => c.running).length;
    if (alive > 0) warn(`${alive} process(es) still running; the cluster keeps going without the one(s) above`);
    this.checkAllGone();
  }

  private checkAllGone(): void {
    if (this.children.some((c) => c.running) || !this.onAllGone) return;
    warn('every process has exited; nothing left to run');
    this.onAllGone();
  }

  private throwIfExited(message: string): void {
    if (this.startupFailure) throw new StartupError(message);
  }

  private async onSignal(sig: 'INT' | 'TERM'): Promise<void> {
    if (this.stopping) return; // a second Ctrl-C must not interrupt the clean-up
    process.stdout.write('\n');
    say(`received SIG${sig}, shutting down`);
    await this.stopAll();
    process.exit(0);
  }

  /** SIGTERM every process still running, 5 s grace, SIGKILL what is left, wait for all. Safe to call twice. */
  stopAll(): Promise<void> {
    this.stopping ??= (async () => {
      this.buildChild?.kill('SIGTERM');
      const live = this.children.filter((c) => c.running);
      if (live.length > 0) {
        say(`stopping ${live.length} process(es): ${live.map((c) => c.name).join(' ')}`);
        await stopChildren(live, STOP_GRACE_MS, (names) => warn(`still running after ${STOP_GRACE_MS / 1000} s, sending SIGKILL: ${names.join(' ')}`));
      }
      await Promise.all(this.children.map((c) => c.exited));
      if (this.children.length > 0) say('all processes stopped');
    })();
    return this.stopping;
  }
}

/** The whole program: parse, run, exit status. */
export async function main(argv: string[], root: string): Promise<number> {
  const parsed = parseRunlocalArgs(argv, process.cwd(), root);
  if (parsed.kind === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (parsed.kind === 'usage') {
    warn(`error: ${parsed.message}`);
    warn("run './runlocal.sh --help' for usage");
    return 2;
  }
  const runlocal = new Runlocal(parsed.options, root);
  const code = await runlocal.run();
  await runlocal.stopAll();
  return code;
}

/** The local cluster's secret: made once at random (readable by the owner only), then reused. */
export function ensureSecretFile(file: string): void {
  if (fs.existsSync(file)) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
}
