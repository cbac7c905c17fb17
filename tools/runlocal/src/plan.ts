import path from 'node:path';
import { HOST, RUNLOCAL_DEFAULTS, type RunlocalOptions } from './options';

export type AppName = 'controller' | 'storage' | 'frontend';

export interface ProcessSpec {
  /** controller, storage-1.., frontend-1.. */
  name: string;
  app: AppName;
  port: number;
  /** http://HOST:PORT */
  url: string;
  args: string[];
  /** Storage nodes only. */
  zone?: string;
  /** Controller and storage nodes: their own folder, kept between runs. */
  dataDir?: string;
}

export interface LocalPlan {
  controller: ProcessSpec;
  storage: ProcessSpec[];
  frontends: ProcessSpec[];
  logDir: string;
  dataDir: string;
  /** The cluster secret every process reads (made once, kept between runs, mode 0600). */
  secretFile: string;
}

/**
 * What to start: one controller (the original positional form PORT NUM_STORAGE REDUNDANCY),
 * storage nodes spread round-robin over zones z1..zN, and frontends, each with the original
 * CONTROLLER_HOST:PORT OWN_HOST:PORT form; every one bound to 127.0.0.1.
 */
export function planLocalCluster(o: RunlocalOptions): LocalPlan {
  const logDir = path.join(o.baseDir, 'logs');
  const dataDir = path.join(o.baseDir, 'data');
  const controllerAddress = `${HOST}:${o.controllerPort}`;
  const secretFile = path.join(o.baseDir, 'cluster-secret');
  const secret = ['--cluster-secret-file', secretFile];
  const controllerData = path.join(dataDir, 'controller');
  const controller: ProcessSpec = {
    name: 'controller', app: 'controller', port: o.controllerPort, url: `http://${controllerAddress}`, dataDir: controllerData,
    args: [
      String(o.controllerPort), String(o.storage), String(o.redundancy),
      '--partition-digits', String(o.partitionDigits), '--host', HOST, '--log-level', o.logLevel, '--data-dir', controllerData, ...secret,
    ],
  };
  const storage = Array.from({ length: o.storage }, (_, k): ProcessSpec => {
    const name = `storage-${k + 1}`;
    const port = o.storagePort + k;
    const zone = `z${(k % o.zones) + 1}`;
    const data = path.join(dataDir, name);
    return {
      name, app: 'storage', port, url: `http://${HOST}:${port}`, zone, dataDir: data,
      args: [controllerAddress, `${HOST}:${port}`, '--zone', zone, '--log-level', o.logLevel, '--data-dir', data, ...secret],
    };
  });
  const frontends = Array.from({ length: o.frontends }, (_, k): ProcessSpec => {
    const port = o.frontendPort + k;
    return {
      name: `frontend-${k + 1}`, app: 'frontend', port, url: `http://${HOST}:${port}`,
      args: [controllerAddress, `${HOST}:${port}`, '--log-level', o.logLevel, ...secret],
    };
  });
  return { controller, storage, frontends, logDir, dataDir, secretFile };
}

/** Every process of the plan, in start order. */
export function planProcesses(plan: LocalPlan): ProcessSpec[] {
  return [plan.controller, ...plan.storage, ...plan.frontends];
}

/** The lines printed once the cluster is ready: every URL, the logs, and commands to try. */
export function readyBanner(plan: LocalPlan, o: RunlocalOptions, status: string): string {
  const c = plan.controller.url;
  const f1 = plan.frontends[0].url;
  const f2 = plan.frontends[Math.min(1, plan.frontends.length - 1)].url;
  const fogctl = o.controllerPort === RUNLOCAL_DEFAULTS.controllerPort ? 'npx fogctl status' : `npx fogctl --controller ${HOST}:${o.controllerPort} status`;
  return [
    '',
    `runlocal: Velour Fog cluster is ready (${status}): 1 controller, ${o.storage} storage node(s), ${o.frontends} frontend(s)`,
    '',
    `  Controller status page  ${c}/`,
    `  Cluster (JSON)          ${c}/v1/cluster`,
    `  Partition table         ${c}/v1/table`,
    `  Controller metrics      ${c}/metrics`,
    '',
    '  Frontends (GET /get/?key=K, GET /set/?key=K&value=V, POST /set/?key=K, GET|PUT|DELETE /v1/kv/KEY)',
    ...plan.frontends.map((f) => `    ${f.name.padEnd(12)} API ${f.url}/   metrics ${f.url}/metrics`),
    '  Storage nodes',
    ...plan.storage.map((s) => `    ${s.name.padEnd(12)} zone ${(s.zone ?? '').padEnd(4)} metrics ${s.url}/metrics`),
    '',
    `  Logs                    ${plan.logDir}/`,
    `  Data                    ${plan.dataDir}/`,
    '',
    '  Try:',
    `    curl '${f1}/set/?key=hello&value=world'`,
    `    curl '${f2}/get/?key=hello'`,
    `    ${fogctl}`,
    `    FOG_CLUSTER_SECRET=$(cat ${plan.secretFile}) npx fogctl plan remove storage-127.0.0.1-${plan.storage[0].port}   (admin commands need the secret)`,
    '',
    'runlocal: running; press Ctrl-C to stop every process',
    '',
  ].join('\n');
}
