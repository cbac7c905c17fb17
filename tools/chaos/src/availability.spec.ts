import type { OpRecord } from '@fog/sim';
import { availabilityByFault } from './availability';

const op = (id: number, startMs: number, ok: boolean): OpRecord => ({ id, kind: 'write', key: `k${id}`, frontend: 'f', startMs, endMs: startMs + 5, ok, ver: null, value: 'v' });

describe('availabilityByFault', () => {
  it('counts operations and failures by the fault in force when each started', () => {
    const rows = availabilityByFault(
      [op(1, 0, true), op(2, 100, false), op(3, 150, true), op(4, 300, false), op(5, 301, false), op(6, 500, true)],
      [{ kind: 'pause', startMs: 90, endMs: 200 }, { kind: 'outage', startMs: 250, endMs: 400 }],
    );
    expect(rows).toEqual([
      { during: 'outage', ops: 2, failed: 2 },
      { during: 'pause', ops: 2, failed: 1 },
      { during: 'none', ops: 2, failed: 0 },
    ]);
  });

  it('leaves out operations that never ended', () => {
    expect(availabilityByFault([{ ...op(1, 0, false), endMs: null, ok: null }], [])).toEqual([]);
  });
});
