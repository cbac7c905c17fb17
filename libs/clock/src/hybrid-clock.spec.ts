import { HybridClock, compareTimestamps } from './hybrid-clock';

describe('HybridClock', () => {
  it('follows the wall clock when it moves forward', () => {
    const clock = new HybridClock();
    expect(clock.now(1000)).toEqual({ ms: 1000, c: 0 });
    expect(clock.now(1005)).toEqual({ ms: 1005, c: 0 });
  });

  it('counts within one millisecond', () => {
    const clock = new HybridClock();
    expect(clock.now(1000)).toEqual({ ms: 1000, c: 0 });
    expect(clock.now(1000)).toEqual({ ms: 1000, c: 1 });
    expect(clock.now(1000)).toEqual({ ms: 1000, c: 2 });
  });

  it('never goes backwards when the wall clock does', () => {
    const clock = new HybridClock();
    const wall = [5000, 5001, 4000, 3000, 5001, 5002, 100, 6000];
    let prev = clock.now(wall[0]);
    for (const w of wall.slice(1)) {
      const next = clock.now(w);
      expect(compareTimestamps(next, prev)).toBe(1);
      prev = next;
    }
    expect(prev).toEqual({ ms: 6000, c: 0 });
  });

  it('issues timestamps after one it observed', () => {
    const clock = new HybridClock();
    clock.now(1000);
    expect(clock.observe({ ms: 1500, c: 7 }, 1000)).toBe(true);
    expect(clock.now(1001)).toEqual({ ms: 1500, c: 8 });
  });

  it('ignores an observed timestamp older than its own', () => {
    const clock = new HybridClock();
    clock.now(2000);
    expect(clock.observe({ ms: 1500, c: 7 }, 2000)).toBe(true);
    expect(clock.now(2000)).toEqual({ ms: 2000, c: 1 });
  });

  it('refuses a timestamp too far ahead of the wall clock', () => {
    const clock = new HybridClock({ forwardJumpMsMax: 100 });
    clock.now(1000);
    expect(clock.observe({ ms: 1101, c: 0 }, 1000)).toBe(false);
    expect(clock.now(1000)).toEqual({ ms: 1000, c: 1 });
    expect(clock.observe({ ms: 1100, c: 0 }, 1000)).toBe(true);
    expect(clock.now(1000)).toEqual({ ms: 1100, c: 1 });
  });

  it.each([
    [{ ms: 1, c: 0 }, { ms: 2, c: 0 }, -1],
    [{ ms: 2, c: 0 }, { ms: 1, c: 9 }, 1],
    [{ ms: 2, c: 3 }, { ms: 2, c: 4 }, -1],
    [{ ms: 2, c: 4 }, { ms: 2, c: 4 }, 0],
  ])('compares %j with %j as %d', (a, b, want) => {
    expect(compareTimestamps(a, b)).toBe(want);
  });
});
