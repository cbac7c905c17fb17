import { FAULT_KINDS, SCHEDULE_LIMITS, describeFault, planFaults, type FaultKind, type ScheduleInput } from './schedule';

const base: ScheduleInput = { seed: 7, phaseMs: 60_000, storageCount: 4, frontendCount: 2, kinds: FAULT_KINDS };

describe('planFaults', () => {
  it('gives the same schedule for the same seed and a different one for another seed', () => {
    const a = planFaults(base).map(describeFault);
    expect(planFaults(base).map(describeFault)).toEqual(a);
    expect(planFaults({ ...base, seed: 8 }).map(describeFault)).not.toEqual(a);
  });

  it.each([1, 2, 3, 99, 12345])('seed %i: one fault at a time, each within the phase, with a gap after it', (seed) => {
    const faults = planFaults({ ...base, seed });
    expect(faults.length).toBeGreaterThan(3);
    for (let i = 0; i < faults.length; i++) {
      expect(faults[i].atMs).toBeLessThan(base.phaseMs);
      if (i > 0) expect(faults[i].atMs - (faults[i - 1].atMs + faults[i - 1].durationMs)).toBeGreaterThanOrEqual(SCHEDULE_LIMITS.gapMsMin);
    }
  });

  it('meets every available kind first, and draws no kind that is not available', () => {
    const kinds: FaultKind[] = ['kill', 'pause', 'cut', 'controller-kill'];
    const faults = planFaults({ ...base, kinds });
    expect(new Set(faults.slice(0, kinds.length).map((f) => f.kind))).toEqual(new Set(kinds));
    expect(faults.every((f) => kinds.includes(f.kind))).toBe(true);
  });

  it('aims node faults at nodes that exist, the controller fault at the controller, and skews within bounds', () => {
    for (let seed = 1; seed <= 30; seed++) {
      for (const f of planFaults({ ...base, seed })) {
        if (f.kind === 'controller-kill') expect(f.target).toEqual({ role: 'controller' });
        else if (f.target.role === 'storage') expect(f.target.index).toBeLessThan(base.storageCount);
        else if (f.target.role === 'frontend') {
          expect(f.kind).toBe('clock-skew');
          expect(f.target.index).toBeLessThan(base.frontendCount);
        }
        if (f.kind === 'clock-skew') expect(Math.abs(f.skewMs!)).toBeLessThanOrEqual(SCHEDULE_LIMITS.skewMsMax);
        else expect(f.skewMs).toBeUndefined();
      }
    }
  });

  it('plans nothing when no kind can be injected', () => {
    expect(planFaults({ ...base, kinds: [] })).toEqual([]);
  });
});
