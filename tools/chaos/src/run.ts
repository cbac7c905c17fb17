/**
 * One chaos run: start a real cluster (controller, storage nodes behind TCP relays, frontends)
 * through the e2e harness, run the workload, inject the seed's faults one after another, stop
 * the faults and the load, wait until every replica agrees, then check the history.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster } from '@fog/e2e-harness';
import { Rng } from '@fog/sim';
import { availabilityByFault, type AvailabilityRow, type FaultWindow } from './availability';
import { checkHistory, type CheckResult, type FinalEntry } from './checker';
import { applyFault, findLibfaketime, SkewFile, skewFilePath } from './faults';
import { newestEntries, readReplicas, type ReplicaView } from './replicas';
import { describeFault, FAULT_KINDS, planFaults, type Fault, type FaultKind } from './schedule';
import { Workload } from './workload';

export interface ChaosOptions {
  seed: number;
  /** Faults start within this window after the cluster formed. */
  faultPhaseMs: number;
  storage: number;
  frontends: number;
  clients: number;
  thinkMs: number;
  /** Down this long, a node is out and its partitions re-replicated (outage faults exceed it). */
  outAfterMs: number;
  /** Replicas that still disagree this long after the faults and the load stopped fail the run. */
  convergenceTimeoutMs: number;
  log: (line: string) => void;
}

export const CHAOS_SHAPE = { redundancy: 3, digits: 1, hotKeys: 8 } as const;
/** A phase shorter than this plans no outage (an outage alone lasts 14-20 s). */
export const OUTAGE_PHASE_MS_MIN = 90_000;
const CONVERGENCE_POLL_MS = 500;

export interface ChaosReport {
  seed: number;
  faultPhaseMs: number;
  plan: Fault[];
  skipped: Array<{ kind: FaultKind; reason: string }>;
  injected: Partial<Record<FaultKind, number>>;
  recoveryMsMax: number | null;
  faultErrors: string[];
  loadMs: number;
  ops: { writes: number; writesAcked: number; reads: number; readsOk: number; failed: number };
  errors: Array<[string, number]>;
  convergenceMs: number | null;
  keysChecked: number;
  disagreeingAtEnd: number;
  check: CheckResult;
  availability: AvailabilityRow[];
  processExits: string[];
  passed: boolean;
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const skipped: ChaosReport['skipped'] = [];
  const lib = findLibfaketime();
  let kinds = [...FAULT_KINDS];
  if (!lib) {
    skipped.push({ kind: 'clock-skew', reason: 'libfaketime not found (install the Debian package faketime)' });
    kinds = kinds.filter((k) => k !== 'clock-skew');
  }
  if (o.faultPhaseMs < OUTAGE_PHASE_MS_MIN) {
    skipped.push({ kind: 'outage', reason: `the fault phase is shorter than ${OUTAGE_PHASE_MS_MIN / 1000} s` });
    kinds = kinds.filter((k) => k !== 'outage');
  }
  for (const s of skipped) o.log(`chaos: ${s.kind} skipped: ${s.reason}`);
  const plan = planFaults({ seed: o.seed, phaseMs: o.faultPhaseMs, storageCount: o.storage, frontendCount: o.frontends, kinds });
  o.log(`chaos: seed ${o.seed}: ${plan.length} faults planned over ${Math.round(o.faultPhaseMs / 1000)} s`);
  for (const f of plan) o.log(`chaos: plan: ${describeFault(f)}`);

  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), `fog-chaos-${o.seed}-`));
  const dataDirOf = (i: number) => path.join(runDir, `storage-${i}`);
  const skews = new Map<string, SkewFile>();
  const skewOf = (role: 'storage' | 'frontend', index: number): SkewFile => {
    const file = skewFilePath(runDir, role, index);
    let s = skews.get(file);
    if (!s) skews.set(file, (s = new SkewFile(file)));
    return s;
  };
  const envOf = (role: 'storage' | 'frontend') => (i: number) => (lib ? skewOf(role, i).env(lib) : {});
  const cluster = await Cluster.start({
    storage: o.storage,
    frontends: o.frontends,
    redundancy: CHAOS_SHAPE.redundancy,
    digits: CHAOS_SHAPE.digits,
    label: `chaos-${o.seed}`,
    timeoutMs: 60_000,
    storageLinks: true,
    storageArgs: (i) => ['--data-dir', dataDirOf(i), '--fsync', 'always', '--anti-entropy-interval-ms', '1000'],
    controllerArgs: ['--data-dir', path.join(runDir, 'controller'), '--out-after-ms', String(o.outAfterMs)],
    storageEnv: envOf('storage'),
    frontendEnv: envOf('frontend'),
  }).catch((err: Error) => {
    fs.rmSync(runDir, { recursive: true, force: true });
    throw err;
  });
  let passed = false;
  try {
    o.log(`chaos: cluster formed: ${o.storage} storage nodes (K=${CHAOS_SHAPE.redundancy}, D=${CHAOS_SHAPE.digits}), ${o.frontends} frontends; logs in ${cluster.logDir}`);
    const frontendUrls = Array.from({ length: o.frontends }, (_, i) => cluster.frontendUrl(i));
    const workload = new Workload(() => frontendUrls, new Rng(o.seed).fork(), {
      clients: o.clients, thinkMs: o.thinkMs, hotKeys: CHAOS_SHAPE.hotKeys, keyPrefix: `c${o.seed}-`,
    });
    const injected: ChaosReport['injected'] = {};
    const faultErrors: string[] = [];
    const windows: FaultWindow[] = [];
    let recoveryMsMax: number | null = null;
    const loadStart = workload.now();
    workload.start();
    const phaseStart = Date.now();
    for (const f of plan) {
      const wait = phaseStart + f.atMs - Date.now();
      if (wait > 0) await sleep(wait);
      o.log(`chaos: ${describeFault(f)} (at t+${((Date.now() - phaseStart) / 1000).toFixed(1)}s)`);
      const startMs = workload.now();
      try {
        const out = await applyFault(f, { cluster, dataDirOf, skewOf: lib ? skewOf : null });
        windows.push({ kind: f.kind, startMs, endMs: workload.now() });
        injected[f.kind] = (injected[f.kind] ?? 0) + 1;
        if (out.recoveryMs !== null) recoveryMsMax = Math.max(recoveryMsMax ?? 0, out.recoveryMs);
      } catch (err) {
        faultErrors.push(`${describeFault(f)}: ${(err as Error).message.split('\n')[0]}`);
        o.log(`chaos: fault failed: ${faultErrors[faultErrors.length - 1]}`);
        break;
      }
    }
    const rest = phaseStart + o.faultPhaseMs - Date.now();
    if (rest > 0 && faultErrors.length === 0) await sleep(rest);
    await workload.stop();
    const loadMs = workload.now() - loadStart;
    o.log(`chaos: faults and load stopped; waiting for the replicas to agree`);

    const keys = [...new Set(workload.history.ops.map((op) => op.key))];
    const t0 = Date.now();
    let view: ReplicaView | null = null;
    let convergenceMs: number | null = null;
    while (Date.now() - t0 < o.convergenceTimeoutMs) {
      try {
        view = await readReplicas(await cluster.table(), keys);
        if (view.disagreeing.length === 0) {
          convergenceMs = Date.now() - t0;
          break;
        }
      } catch {
        // the controller may still be starting; ask again
      }
      await sleep(CONVERGENCE_POLL_MS);
    }
    const final: Map<string, FinalEntry> = view ? newestEntries(view) : new Map();
    const check = checkHistory(workload.history.ops, final);
    const counts = workload.history.counts();
    const processExits = cluster.crashes().map((c) => `${c.name}: ${JSON.stringify(c.status)}`);
    passed = faultErrors.length === 0 && convergenceMs !== null && check.findings.length === 0 && processExits.length === 0;
    return {
      seed: o.seed, faultPhaseMs: o.faultPhaseMs, plan, skipped, injected, recoveryMsMax, faultErrors, loadMs,
      ops: { ...counts, failed: counts.writes - counts.writesAcked + counts.reads - counts.readsOk },
      errors: [...workload.errors].sort((a, b) => b[1] - a[1]),
      convergenceMs, keysChecked: keys.length, disagreeingAtEnd: view?.disagreeing.length ?? keys.length,
      check, availability: availabilityByFault(workload.history.ops, windows), processExits, passed,
    };
  } finally {
    if (!passed) {
      o.log(`chaos: cluster logs kept in ${cluster.logDir}`);
      // Marks the cluster failed, so that stop() keeps its logs.
      await cluster.withLogsOnFailure(() => Promise.reject(new Error('chaos run failed'))).catch(() => undefined);
    }
    await cluster.stop();
    fs.rmSync(runDir, { recursive: true, force: true });
  }
}
