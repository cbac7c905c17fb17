/**
 * Carries out a planned fault on the real processes of a cluster and undoes it after its
 * duration: SIGKILL and restart, SIGKILL with the data directory wiped, SIGSTOP/SIGCONT, a cut
 * of the node's TCP relays, SIGKILL of the controller, and wall-clock skew through libfaketime.
 * Every process is signalled by its PID through the cluster harness.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster } from '@fog/e2e-harness';
import type { Fault, FaultKind } from './schedule';

/** Where Debian's libfaketime lives (package faketime), per architecture. */
const LIBFAKETIME_CANDIDATES = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/faketime/libfaketime.so.1',
];

export function findLibfaketime(): string | null {
  return LIBFAKETIME_CANDIDATES.find((p) => fs.existsSync(p)) ?? null;
}

/**
 * The clock of one process, shifted by libfaketime through a file it rereads at most once a
 * second (FAKETIME_CACHE_DURATION), so the skew changes while the process runs. The monotonic
 * clock is left alone: timers keep their pace, only the wall clock (Date) moves.
 */
export class SkewFile {
  constructor(readonly file: string) {
    this.set(0);
  }

  env(lib: string): NodeJS.ProcessEnv {
    return { LD_PRELOAD: lib, FAKETIME_TIMESTAMP_FILE: this.file, FAKETIME_CACHE_DURATION: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' };
  }

  set(skewMs: number): void {
    const sign = skewMs < 0 ? '-' : '+';
    fs.writeFileSync(this.file, `${sign}${(Math.abs(skewMs) / 1000).toFixed(3)}s\n`);
  }
}

export interface FaultTargets {
  cluster: Cluster;
  dataDirOf: (storageIndex: number) => string;
  /** Null when libfaketime is missing: clock-skew is then never planned. */
  skewOf: ((role: 'storage' | 'frontend', index: number) => SkewFile) | null;
}

export interface FaultOutcome {
  kind: FaultKind;
  /** How long the target took to answer again after the fault was undone (restarts only). */
  recoveryMs: number | null;
}

export async function applyFault(f: Fault, t: FaultTargets): Promise<FaultOutcome> {
  const { cluster } = t;
  const storage = (): number => {
    if (f.target.role !== 'storage') throw new Error(`${f.kind} needs a storage node as its target`);
    return f.target.index;
  };
  const timed = async (fn: () => Promise<void>): Promise<number> => {
    const t0 = Date.now();
    await fn();
    return Date.now() - t0;
  };
  switch (f.kind) {
    case 'kill':
    case 'outage': {
      const i = storage();
      await cluster.killStorage(i, 'SIGKILL');
      await sleep(f.durationMs);
      return { kind: f.kind, recoveryMs: await timed(() => cluster.restartStorage(i)) };
    }
    case 'disk-loss': {
      const i = storage();
      await cluster.killStorage(i, 'SIGKILL');
      const dir = t.dataDirOf(i);
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir, { recursive: true });
      await sleep(f.durationMs);
      return { kind: f.kind, recoveryMs: await timed(() => cluster.restartStorage(i)) };
    }
    case 'pause': {
      const i = storage();
      cluster.pauseStorage(i);
      try {
        await sleep(f.durationMs);
      } finally {
        cluster.resumeStorage(i);
      }
      return { kind: f.kind, recoveryMs: null };
    }
    case 'cut': {
      const i = storage();
      cluster.cutStorage(i);
      try {
        await sleep(f.durationMs);
      } finally {
        cluster.healStorage(i);
      }
      return { kind: f.kind, recoveryMs: null };
    }
    case 'controller-kill': {
      await cluster.stopController('SIGKILL');
      await sleep(f.durationMs);
      return { kind: f.kind, recoveryMs: await timed(() => cluster.restartController()) };
    }
    case 'clock-skew': {
      if (!t.skewOf || f.target.role === 'controller') throw new Error('clock-skew planned without libfaketime or at the controller');
      const skew = t.skewOf(f.target.role, f.target.index);
      skew.set(f.skewMs ?? 0);
      try {
        await sleep(f.durationMs);
      } finally {
        skew.set(0);
      }
      return { kind: f.kind, recoveryMs: null };
    }
  }
}

export function skewFilePath(dir: string, role: 'storage' | 'frontend', index: number): string {
  return path.join(dir, `faketime-${role}-${index}`);
}
