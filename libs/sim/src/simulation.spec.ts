import { PLANTED_BUGS, type PlantedBug } from './world';
import { PLANTED_BUG_FAULTS, formatFailure, runSimulation, type Invariant, type SimResult } from './simulation';

/** Seeds every change must pass (the runner covers many more: npm run sim -- --seeds 200). */
const FIXED_SEEDS = [1, 2, 3];
/** The fault phase of the seeds run here: shorter than the runner's, to keep this suite quick. */
const FAULT_PHASE_MS = 30_000;
/** A planted bug must be caught within this many seeds of its fault mix. */
const SEEDS_PER_BUG_MAX = 5;

/** The invariants each planted bug may break first. */
const EXPECTED: Record<PlantedBug, Invariant[]> = {
  'copy-one-source': ['stale-quorum-read', 'lost-write'],
  'lose-synced': ['stale-quorum-read', 'lost-write'],
  'no-repair': ['no-convergence', 'stale-quorum-read'],
  'ack-stale': ['order-inverted', 'stale-quorum-read'],
  throw: ['exception-escaped'],
  'stale-controller-state': ['epoch-regressed'],
  'k-minus-one': ['replicas-short'],
  'replay-stops-at-damage': ['replay-diverged'],
  'ack-unwritten': ['ack-not-durable'],
};

function passed(r: SimResult): void {
  if (r.failure) throw new Error(formatFailure(r));
}

describe('whole-cluster simulation', () => {
  jest.setTimeout(60_000);

  it('replays a seed exactly', async () => {
    const a = await runSimulation({ seed: 42, faultPhaseMs: 15_000 });
    const b = await runSimulation({ seed: 42, faultPhaseMs: 15_000 });
    passed(a);
    expect({ ...b }).toEqual({ ...a });
    expect(a.faults).toBeGreaterThan(0);
    expect(a.ops.writesAcked).toBeGreaterThan(100);
  });

  it('runs a seed with fsync everysec and the disk faults, every invariant kept', async () => {
    const r = await runSimulation({ seed: 5, faultPhaseMs: FAULT_PHASE_MS, fsync: 'everysec', faultKinds: ['crash', 'disk-full', 'fsync-error', 'corrupt-record', 'lossy'] });
    passed(r);
    expect(r.fsync).toBe('everysec');
    expect(r.disk.writeErrors + r.disk.fsyncErrors + r.disk.corruptions).toBeGreaterThan(0);
    expect(r.disk.snapshots).toBeGreaterThan(0);
  });

  it('runs a seed with every disk fault under fsync always, every invariant kept', async () => {
    const r = await runSimulation({ seed: 8, faultPhaseMs: FAULT_PHASE_MS, fsync: 'always', faultKinds: ['torn-crash', 'corrupt-record', 'disk-full', 'fsync-error', 'power-loss'] });
    passed(r);
    expect(r.disk.tornCrashes).toBeGreaterThan(0);
    expect(r.disk.writeErrors + r.disk.fsyncErrors + r.disk.corruptions).toBeGreaterThan(0);
  });

  it.each(FIXED_SEEDS)('seed %d keeps every invariant under faults and converges', async (seed) => {
    const r = await runSimulation({ seed, faultPhaseMs: FAULT_PHASE_MS });
    passed(r);
    expect(r.faults).toBeGreaterThan(0);
    expect(r.convergenceMs).not.toBeNull();
    expect(r.ops.readsOk).toBeGreaterThan(0);
  });

  it.each(PLANTED_BUGS)('catches the planted bug %s', async (plant) => {
    let caught: SimResult | null = null;
    for (let seed = 1; seed <= SEEDS_PER_BUG_MAX && !caught; seed++) {
      const r = await runSimulation({ seed, plant, faultKinds: PLANTED_BUG_FAULTS[plant] });
      if (r.failure) caught = r;
    }
    expect(caught).not.toBeNull();
    expect(EXPECTED[plant]).toContain(caught!.failure!.invariant);
    const text = formatFailure(caught!);
    expect(text).toContain(`seed ${caught!.seed}`);
    expect(text).toContain(`npm run sim -- --seed ${caught!.seed} --plant ${plant}`);
    expect(caught!.failure!.trace.length).toBeGreaterThan(0);
  });
});
