import { setTimeout as sleep } from 'node:timers/promises';
import { AppProcess, describeExit, type Lifetime } from './app-process';
import type { AppName } from './app-paths';
import { get } from './http-client';
import { freePort, hostPort } from './ports';
import { waitFor } from './wait-for';

export interface ListeningApp {
  proc: AppProcess;
  port: number;
  /** http://127.0.0.1:PORT */
  url: string;
}

export interface StartListeningOptions {
  app: AppName;
  name: string;
  logDir: string;
  /** Command line for the app listening on `port`. */
  argsFor: (port: number) => string[];
  /** Reuse this port (a restart); otherwise pick a free one, and a new one after EADDRINUSE. */
  port?: number;
  /** Extra check on the parsed `/health` body (e.g. the node id is the expected one). */
  healthy?: (health: Record<string, unknown>, port: number) => boolean;
  timeoutMs?: number;
  attempts?: number;
  lifetime?: Lifetime;
  /** Extra environment for the process (e.g. libfaketime's variables). */
  env?: NodeJS.ProcessEnv;
}

const ADDRESS_IN_USE = /EADDRINUSE/;

/**
 * Spawn an app on a port and wait until its `/health` answers 200 for the right role. When the
 * app fails to bind (EADDRINUSE: the port was taken between choosing and binding) it is tried
 * again, on a fresh port unless the port is fixed.
 */
export async function startListeningApp(opts: StartListeningOptions): Promise<ListeningApp> {
  const attempts = opts.attempts ?? 5;
  let lastFailure = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const port = opts.port ?? (await freePort());
    const proc = AppProcess.spawn({ app: opts.app, name: opts.name, logDir: opts.logDir, args: opts.argsFor(port), lifetime: opts.lifetime, env: opts.env });
    const url = `http://${hostPort(port)}`;
    try {
      await waitFor(
        async () => {
          const res = await get(`${url}/health`);
          if (res.status !== 200) return false;
          const health = JSON.parse(res.text) as Record<string, unknown>;
          return health.status === 'ok' && health.role === opts.app && (opts.healthy?.(health, port) ?? true);
        },
        {
          what: `${opts.name} (${opts.app}, pid ${proc.pid}) to answer ${url}/health`,
          timeoutMs: opts.timeoutMs ?? 20_000,
          intervalMs: 50,
          abortIf: () => (proc.running ? null : `the process ${describeExit(proc.exitStatus)}`),
        },
      );
      return { proc, port, url };
    } catch (err) {
      await proc.stop(1000);
      const inUse = ADDRESS_IN_USE.test(proc.stdoutText() + proc.stderrText());
      lastFailure = `${(err as Error).message}\n${proc.tail(20)}`;
      if (!inUse) break;
      await sleep(100 * attempt);
    }
  }
  throw new Error(`could not start ${opts.name}: ${lastFailure}`);
}
