import { secretEnv } from './cluster-secret';
import fs from 'node:fs';
import path from 'node:path';
import { AppChild, stopChildren } from '@fog/launcher';
import { WORKSPACE_ROOT, appMain, appNodePath, releaseDistSnapshot, type AppName } from './app-paths';

export { describeExit, type ExitStatus } from '@fog/launcher';

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

/** SIGTERM to SIGKILL for the safety net. */
const STOP_GRACE_MS = 2000;

/** Every child this test file started and that has not been seen to exit. */
const live = new Set<AppProcess>();

/**
 * One app running as a real child process: `node dist/apps/<app>/main.js ...args` (from the
 * run's private copy of dist), stdout and stderr written to <logDir>/<name>.out.log and
 * .err.log. The process handling itself is the shared launcher's (`@fog/launcher`, also used by
 * runlocal); this adds the test lifetime and the safety net's bookkeeping.
 */
export class AppProcess extends AppChild {
  readonly lifetime: Lifetime;

  private constructor(readonly spawnOptions: SpawnAppOptions) {
    fs.mkdirSync(spawnOptions.logDir, { recursive: true });
    super({
      name: spawnOptions.name,
      app: spawnOptions.app,
      main: appMain(spawnOptions.app),
      args: spawnOptions.args,
      cwd: WORKSPACE_ROOT,
      env: { ...childEnv(), NODE_PATH: appNodePath(), ...secretEnv(spawnOptions.args, spawnOptions.env), ...spawnOptions.env },
      stdoutPath: path.join(spawnOptions.logDir, `${spawnOptions.name}.out.log`),
      stderrPath: path.join(spawnOptions.logDir, `${spawnOptions.name}.err.log`),
      header: true,
    });
    this.lifetime = spawnOptions.lifetime ?? 'suite';
    live.add(this);
    void this.exited.then(() => live.delete(this));
  }

  static spawn(opts: SpawnAppOptions): AppProcess {
    return new AppProcess(opts);
  }
}

/** Processes started by this file that are still running. */
export function liveProcesses(): AppProcess[] {
  return [...live];
}

/** Stop every live process (of one lifetime, or all) and wait until each has exited. */
export async function stopAll(lifetime?: Lifetime): Promise<AppProcess[]> {
  const victims = [...live].filter((p) => lifetime === undefined || p.lifetime === lifetime);
  await stopChildren(victims, STOP_GRACE_MS);
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
