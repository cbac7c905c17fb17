import { nextPassDelayMs, type PassOutcome } from './pacing';

const cfg = { intervalMs: 1000, catchUpDelayMs: 20, inFlightDutyMax: 0.25 };
const outcome = (o: Partial<PassOutcome>): PassOutcome => ({ workLeft: true, settledMoved: 0, youngMoved: 0, boundReached: false, failedExchanges: 0, passMs: 10, ...o });

describe('nextPassDelayMs', () => {
  it('waits the interval when nothing was left', () => {
    expect(nextPassDelayMs(outcome({ workLeft: false, settledMoved: 50, passMs: 400 }), cfg)).toBe(1000);
  });

  it('catches up at once while real divergence is being repaired', () => {
    expect(nextPassDelayMs(outcome({ settledMoved: 1, youngMoved: 900, passMs: 300 }), cfg)).toBe(20);
  });

  it('waits at least the interval when everything examined differed only by writes in flight', () => {
    expect(nextPassDelayMs(outcome({ youngMoved: 200, passMs: 30 }), cfg)).toBe(1000);
    // A long pass waits three times its length (25% duty).
    expect(nextPassDelayMs(outcome({ youngMoved: 200, passMs: 800 }), cfg)).toBe(2400);
  });

  it('paces passes that reached a bound to the duty bound, within the interval', () => {
    // 30 ms of work at 25% duty: 90 ms of pause.
    expect(nextPassDelayMs(outcome({ youngMoved: 200, boundReached: true, passMs: 30 }), cfg)).toBe(90);
    // Never shorter than the catch-up delay, never longer than the interval.
    expect(nextPassDelayMs(outcome({ youngMoved: 5, boundReached: true, passMs: 1 }), cfg)).toBe(20);
    expect(nextPassDelayMs(outcome({ youngMoved: 5, boundReached: true, passMs: 2000 }), cfg)).toBe(1000);
    // Nothing moved yet, partitions unexamined.
    expect(nextPassDelayMs(outcome({ boundReached: true, passMs: 100 }), cfg)).toBe(300);
  });

  it('does not hammer a peer whose exchanges failed', () => {
    expect(nextPassDelayMs(outcome({ failedExchanges: 2, passMs: 5 }), cfg)).toBe(1000);
    // ...but keeps repairing with the others while it moves old entries.
    expect(nextPassDelayMs(outcome({ failedExchanges: 2, settledMoved: 3 }), cfg)).toBe(20);
  });

  it('keeps the duty bound sane whatever it is configured to', () => {
    expect(nextPassDelayMs(outcome({ boundReached: true, passMs: 10 }), { ...cfg, inFlightDutyMax: 0 })).toBe(990);
    expect(nextPassDelayMs(outcome({ boundReached: true, passMs: 10 }), { ...cfg, inFlightDutyMax: 5 })).toBe(20);
  });
});
