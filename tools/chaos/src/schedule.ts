/**
 * The fault schedule of a chaos run: a pure function of the seed and the run's shape, so the
 * same seed injects the same faults in the same order at the same offsets (the processes'
 * timing still varies from run to run; the schedule does not).
 */
import { Rng } from '@fog/sim';

export type FaultKind = 'kill' | 'disk-loss' | 'pause' | 'cut' | 'controller-kill' | 'clock-skew' | 'outage';

export const FAULT_KINDS: readonly FaultKind[] = ['kill', 'disk-loss', 'pause', 'cut', 'controller-kill', 'clock-skew', 'outage'];

export interface Fault {
  /** Offset from the start of the fault phase. */
  atMs: number;
  kind: FaultKind;
  /** Who is hit: a storage node's or a frontend's index, or the controller. */
  target: { role: 'storage' | 'frontend'; index: number } | { role: 'controller' };
  /** How long the fault lasts (a node stays down, paused, cut or skewed this long). */
  durationMs: number;
  /** clock-skew only: the offset given to the target's wall clock. */
  skewMs?: number;
}

export interface ScheduleInput {
  seed: number;
  /** Faults start within this window; the last one may end up to its duration after it. */
  phaseMs: number;
  storageCount: number;
  frontendCount: number;
  /** Kinds this machine can inject (clock-skew needs libfaketime). */
  kinds: readonly FaultKind[];
}

/** Bounds of the schedule, each with its unit in its name. */
export const SCHEDULE_LIMITS = {
  gapMsMin: 1000,
  gapMsMax: 3000,
  /** A node down this long is marked out by the controller when it runs with outAfterMs below it. */
  outageMsMin: 14_000,
  outageMsMax: 20_000,
  skewMsMax: 3000,
  skewMsMin: 500,
} as const;

const DURATION_MS: Record<FaultKind, [number, number]> = {
  kill: [1000, 4000],
  'disk-loss': [1000, 3000],
  pause: [1000, 4000],
  cut: [2000, 6000],
  'controller-kill': [1000, 4000],
  'clock-skew': [3000, 8000],
  outage: [SCHEDULE_LIMITS.outageMsMin, SCHEDULE_LIMITS.outageMsMax],
};

/**
 * One fault at a time, a gap of 1-3 s after each: with K=3 at most one replica of a partition
 * is impaired at any moment, so every quorum stays reachable and any lost or stale
 * acknowledged write is the store's fault, not the schedule's. The first faults are a seeded
 * permutation of every available kind, so a short run still meets each kind once; the rest
 * are drawn uniformly.
 */
export function planFaults(input: ScheduleInput): Fault[] {
  if (input.storageCount < 1) throw new Error('planFaults: no storage node to hit');
  if (input.frontendCount < 1) throw new Error('planFaults: no frontend');
  const rng = new Rng(input.seed);
  const kinds = [...new Set(input.kinds)];
  if (kinds.length === 0) return [];
  const firstRound = shuffle(kinds, rng);
  const faults: Fault[] = [];
  let t = rng.int(SCHEDULE_LIMITS.gapMsMin, SCHEDULE_LIMITS.gapMsMax);
  while (t < input.phaseMs) {
    const kind = faults.length < firstRound.length ? firstRound[faults.length] : rng.pick(kinds);
    const [lo, hi] = DURATION_MS[kind];
    const durationMs = rng.int(lo, hi);
    const fault: Fault = { atMs: t, kind, target: targetOf(kind, input, rng), durationMs };
    if (kind === 'clock-skew') {
      const size = rng.int(SCHEDULE_LIMITS.skewMsMin, SCHEDULE_LIMITS.skewMsMax);
      fault.skewMs = rng.chance(0.5) ? -size : size;
    }
    faults.push(fault);
    t += durationMs + rng.int(SCHEDULE_LIMITS.gapMsMin, SCHEDULE_LIMITS.gapMsMax);
  }
  return faults;
}

function targetOf(kind: FaultKind, input: ScheduleInput, rng: Rng): Fault['target'] {
  if (kind === 'controller-kill') return { role: 'controller' };
  if (kind === 'clock-skew' && rng.chance(0.5)) return { role: 'frontend', index: rng.int(0, input.frontendCount - 1) };
  return { role: 'storage', index: rng.int(0, input.storageCount - 1) };
}

function shuffle<T>(items: readonly T[], rng: Rng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** `storage-2`, `frontend-0`, `controller`. */
export function targetName(target: Fault['target']): string {
  return target.role === 'controller' ? 'controller' : `${target.role}-${target.index}`;
}

/** One line per fault, for the run's log and for comparing two runs of one seed. */
export function describeFault(f: Fault): string {
  const skew = f.skewMs === undefined ? '' : ` skew ${f.skewMs > 0 ? '+' : ''}${f.skewMs} ms`;
  return `t+${(f.atMs / 1000).toFixed(1)}s ${f.kind} ${targetName(f.target)} for ${(f.durationMs / 1000).toFixed(1)}s${skew}`;
}
