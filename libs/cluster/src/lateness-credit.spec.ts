import { LATENESS_CREDIT_LIMITS, LatenessCredit } from './lateness-credit';

describe('LatenessCredit', () => {
  const f = LATENESS_CREDIT_LIMITS.creditPerDelayMs;

  it('credits nothing to a controller that is on time', () => {
    const c = new LatenessCredit({ windowMs: 4000, creditMsMax: 3000 });
    for (let t = 0; t < 10_000; t += 200) c.observe(t, 0);
    expect(c.creditMs(10_000)).toBe(0);
  });

  it('credits the longest delay in the window, times the factor, until it falls out of the window', () => {
    const c = new LatenessCredit({ windowMs: 4000, creditMsMax: 3000 });
    c.observe(1000, 300);
    c.observe(1200, 100);
    expect(c.creditMs(1200)).toBe(300 * f);
    c.observe(3000, 200);
    expect(c.creditMs(5000)).toBe(300 * f);
    expect(c.creditMs(5001)).toBe(200 * f);
    expect(c.creditMs(7001)).toBe(0);
  });

  it('caps the credit, so a controller that is always late still reaches verdicts', () => {
    const c = new LatenessCredit({ windowMs: 4000, creditMsMax: 3000 });
    c.observe(0, 60_000);
    expect(c.creditMs(0)).toBe(3000);
  });

  it('treats bad measurements as no delay', () => {
    const c = new LatenessCredit({ windowMs: 4000, creditMsMax: 3000 });
    for (const d of [NaN, -5, Infinity]) c.observe(0, d, d);
    expect(c.creditMs(0)).toBe(0);
  });

  it('keeps a bounded number of samples', () => {
    const c = new LatenessCredit({ windowMs: 1e9, creditMsMax: 1e9 });
    c.observe(0, 500);
    for (let i = 1; i <= LATENESS_CREDIT_LIMITS.samplesMax; i++) c.observe(i, 1);
    // The 500 ms sample was the oldest and is gone: only the 1 ms ones remain.
    expect(c.creditMs(LATENESS_CREDIT_LIMITS.samplesMax)).toBe(f);
  });

  it('credits a saturated loop, in proportion to how busy it was above busyFractionFrom, even when its timers ran on time', () => {
    const from = LATENESS_CREDIT_LIMITS.busyFractionFrom;
    const c = new LatenessCredit({ windowMs: 4000, creditMsMax: 3000 });
    c.observe(0, 0, from);
    expect(c.creditMs(0)).toBe(0);
    c.observe(200, 0, from + (1 - from) / 2);
    expect(c.creditMs(200)).toBeCloseTo(1500, 6);
    c.observe(400, 100, 1);
    // Delay credit and saturation credit add up, within the cap.
    expect(c.creditMs(400)).toBe(3000);
    // Out of the window: nothing.
    expect(c.creditMs(4401)).toBe(0);
  });

  it('refuses a window or cap that makes no sense', () => {
    expect(() => new LatenessCredit({ windowMs: 0, creditMsMax: 1 })).toThrow(/windowMs/);
    expect(() => new LatenessCredit({ windowMs: 1, creditMsMax: -1 })).toThrow(/creditMsMax/);
  });
});
