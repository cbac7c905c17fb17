import { cpuUsPerRequest, median, percentile, summarizeLatencies } from './stats';

describe('percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
  it.each([
    [0.5, 50],
    [0.99, 99],
    [0.999, 100],
    [1, 100],
    [0, 1],
    [0.01, 1],
    [0.011, 2],
  ])('q=%p of 1..100 is %p', (q, want) => {
    expect(percentile(hundred, q)).toBe(want);
  });
  it('is NaN for no samples and refuses a quantile outside [0,1]', () => {
    expect(percentile([], 0.5)).toBeNaN();
    expect(() => percentile([1], 1.5)).toThrow(RangeError);
  });
  it('p99.9 of 1000 samples is the 999th, not the maximum', () => {
    const s = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentile(s, 0.999)).toBe(999);
  });
});

describe('summarizeLatencies', () => {
  it('sorts a copy and reports p50, p99, p99.9 and max', () => {
    const samples = [5, 1, 4, 2, 3];
    expect(summarizeLatencies(samples)).toEqual({ p50Us: 3, p99Us: 5, p999Us: 5, maxUs: 5 });
    expect(samples).toEqual([5, 1, 4, 2, 3]);
  });
});

describe('median of rounds', () => {
  it.each([
    [[3, 1, 2], 2],
    [[4, 1, 3, 2], 2.5],
    [[7], 7],
    [[NaN, 5, 9], 7],
    [[], NaN],
  ])('%p -> %p', (v, want) => {
    expect(median(v)).toEqual(want);
  });
});

describe('cpuUsPerRequest', () => {
  it('turns ticks into microseconds per request', () => {
    // 150 ticks at 100/s = 1.5 s of CPU over 10,000 requests = 150 µs each.
    expect(cpuUsPerRequest(150, 100, 10_000)).toBe(150);
    expect(cpuUsPerRequest(10, 100, 0)).toBeNaN();
  });
});
