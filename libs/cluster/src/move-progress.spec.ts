import type { MoveView } from '@fog/protocol';
import { MoveProgress, moveRate, selectMoves } from './move-progress';

const move = (over: Partial<MoveView>): MoveView => ({
  partition: 0, node: 'n', reason: 'join', startedAtMs: 0, keysCopied: 0, bytesCopied: 0, bytesTotal: null, rateBytesPerSec: null, etaMs: null, done: false, ...over,
});

describe('move progress', () => {
  it('measures the rate over the window and turns the bytes left into an ETA', () => {
    const p = new MoveProgress({ rateWindowMs: 10_000, rateSpanMinMs: 1000 });
    p.started(0);
    // 1000 bytes/s for 20 s.
    for (let t = 1000; t <= 20_000; t += 1000) {
      p.copied(1000, t);
      p.sample(t, 2);
    }
    const moves = [move({ partition: 1, bytesCopied: 15_000, bytesTotal: 30_000 }), move({ partition: 2, bytesCopied: 5000, bytesTotal: 30_000 })];
    const v = p.view(moves, 20_000);
    expect(v.rateBytesPerSec).toBe(1000);
    expect(v.bytesCopied).toBe(20_000);
    expect(v.bytesTotal).toBe(60_000);
    expect(v.etaMs).toBe(40_000);
    expect(v.movesTotal).toBe(2);
    expect(v.startedAtMs).toBe(0);
  });

  it('follows a change of rate within one window', () => {
    const p = new MoveProgress({ rateWindowMs: 5000, rateSpanMinMs: 1000 });
    p.started(0);
    for (let t = 1000; t <= 30_000; t += 1000) {
      p.copied(t <= 15_000 ? 4000 : 1000, t);
      p.sample(t, 1);
    }
    expect(p.rateBytesPerSec(30_000)).toBe(1000);
  });

  it('has no rate before rateSpanMinMs, and no ETA while no source said how much there is', () => {
    const p = new MoveProgress({ rateWindowMs: 10_000, rateSpanMinMs: 1000 });
    p.started(0);
    p.copied(500, 400);
    p.sample(500, 1);
    const v = p.view([move({ bytesCopied: 500 })], 500);
    expect(v.rateBytesPerSec).toBeNull();
    expect(v.bytesTotal).toBeNull();
    expect(v.etaMs).toBeNull();
  });

  it('assumes moves that have not reported are as large as the average of those that have', () => {
    const p = new MoveProgress();
    p.started(0);
    const v = p.view([move({ partition: 1, bytesTotal: 100, bytesCopied: 100, done: true }), move({ partition: 2, bytesTotal: 300, bytesCopied: 50 }), move({ partition: 3 })], 0);
    expect(v.bytesTotal).toBe(100 + 300 + 200);
    expect(v.movesDone).toBe(1);
  });

  it('keeps finished moves in the totals until the batch ends, then starts again', () => {
    const p = new MoveProgress({ rateWindowMs: 10_000, rateSpanMinMs: 1000 });
    p.started(0);
    p.copied(1000, 0);
    p.finished(1000, 1000, 0);
    p.copied(500, 1000);
    p.sample(1000, 1);
    let v = p.view([move({ partition: 2, bytesTotal: 1000, bytesCopied: 500 })], 2000);
    expect([v.movesDone, v.movesTotal, v.bytesCopied, v.bytesTotal]).toEqual([1, 2, 1500, 2000]);
    // From the first report on: 500 bytes in 2 s.
    expect(v.rateBytesPerSec).toBe(250);
    expect(v.etaMs).toBe(2000);
    p.sample(3000, 0);
    v = p.view([], 3000);
    expect([v.movesDone, v.movesTotal, v.bytesCopied, v.bytesTotal, v.rateBytesPerSec, v.etaMs, v.startedAtMs]).toEqual([0, 0, 0, null, null, null, null]);
    p.started(5000);
    expect(p.view([move({})], 5000).startedAtMs).toBe(5000);
  });

  it('sizes the moves still waiting from those that finished: most moves report only once, when done', () => {
    const p = new MoveProgress({ rateWindowMs: 10_000, rateSpanMinMs: 1000 });
    p.started(0);
    p.copied(1000, 1000);
    p.finished(1000, 1000, 1000);
    p.copied(2000, 2000);
    p.finished(2000, 2000, 2000);
    p.sample(2000, 2);
    const v = p.view([move({ partition: 3 }), move({ partition: 4 })], 3000);
    expect(v.bytesTotal).toBe(3000 + 2 * 1500);
    expect(v.rateBytesPerSec).toBe(1000);
    // 3 s for the bytes at 1000 B/s; 4 s for two moves at one every 2 s: the longer one.
    expect(v.etaMs).toBe(4000);
  });

  it('does not take a restarted copy (fewer bytes reported) for negative progress', () => {
    const p = new MoveProgress({ rateWindowMs: 10_000, rateSpanMinMs: 1000 });
    p.started(0);
    p.copied(1000, 0);
    p.copied(1000, 1000);
    p.copied(-1000, 1500);
    p.sample(2000, 1);
    expect(p.rateBytesPerSec(2000)).toBe(500);
  });

  it('starts the clock at the first report: the wait before copies begin is not a slow rate', () => {
    const p = new MoveProgress({ rateWindowMs: 10_000, rateSpanMinMs: 1000 });
    p.started(0);
    for (let t = 100; t <= 5000; t += 100) p.sample(t, 1); // nothing copied for 5 s
    p.copied(2000, 5000); // the first report: copied before it
    p.copied(2000, 6000);
    p.copied(2000, 7000);
    p.sample(7000, 1);
    expect(p.rateBytesPerSec(7000)).toBe(2000);
  });

  it('where partitions are empty, the ETA comes from the rate at which moves complete', () => {
    const p = new MoveProgress({ rateWindowMs: 10_000, rateSpanMinMs: 1000 });
    p.started(0);
    p.finished(0, 0, 1000); // the first report: it starts the clock
    for (let t = 2000; t <= 5000; t += 1000) {
      for (let i = 0; i < 10; i++) p.finished(0, 0, t);
      p.sample(t, 1);
    }
    // 10 moves a second since the first report.
    const left = Array.from({ length: 30 }, (_, i) => move({ partition: i, bytesTotal: 0 }));
    const v = p.view(left, 5000);
    expect(p.rateMovesPerSec(5000)).toBe(10);
    expect([v.bytesTotal, v.bytesCopied, v.movesDone, v.movesTotal]).toEqual([0, 0, 41, 71]);
    expect(v.etaMs).toBe(3000);
  });

  it('starts each clock at its own first report: copies report bytes before any completes', () => {
    const p = new MoveProgress({ rateWindowMs: 10_000, rateSpanMinMs: 1000 });
    p.started(0);
    for (let t = 0; t <= 6000; t += 1000) {
      p.copied(1000, t);
      if (t >= 3000) p.finished(0, null, t);
      p.sample(t, 10);
    }
    expect(p.rateBytesPerSec(6000)).toBe(1000);
    expect(p.rateMovesPerSec(6000)).toBe(1);
  });

  it('takes the longer of the two estimates: bytes left at the byte rate, moves left at the move rate', () => {
    const p = new MoveProgress({ rateWindowMs: 10_000, rateSpanMinMs: 1000 });
    p.started(0);
    p.copied(100, 0);
    p.finished(100, 100, 0);
    p.copied(1000, 1000);
    p.finished(1000, 1000, 1000);
    p.sample(2000, 2);
    // 500 B/s and 0.5 moves/s. Two moves of 100 bytes: 400 ms by bytes, 4 s by moves.
    expect(p.view([move({ partition: 1, bytesTotal: 100 }), move({ partition: 2, bytesTotal: 100 })], 2000).etaMs).toBe(4000);
    // Two moves of 10,000 bytes: 40 s by bytes.
    expect(p.view([move({ partition: 1, bytesTotal: 10_000 }), move({ partition: 2, bytesTotal: 10_000 })], 2000).etaMs).toBe(40_000);
  });

  it('lists at most max moves, the copies under way first, in partition order', () => {
    const moves = [move({ partition: 1 }), move({ partition: 2, bytesCopied: 5 }), move({ partition: 3, done: true, bytesCopied: 9 }), move({ partition: 4 }), move({ partition: 5, bytesCopied: 1 })];
    expect(selectMoves(moves, 3).map((m) => m.partition)).toEqual([1, 2, 5]);
    expect(selectMoves(moves, 10)).toHaveLength(5);
    expect(selectMoves(moves, 0)).toEqual([]);
  });

  it('a single move: rate from its first report, ETA from its size', () => {
    expect(moveRate(undefined, 5, 10, 100)).toEqual({ rateBytesPerSec: null, etaMs: null });
    expect(moveRate({ atMs: 1000, bytes: 100 }, 1000, 100, 1000)).toEqual({ rateBytesPerSec: null, etaMs: null });
    expect(moveRate({ atMs: 1000, bytes: 100 }, 3000, 300, 1000)).toEqual({ rateBytesPerSec: 100, etaMs: 7000 });
    expect(moveRate({ atMs: 1000, bytes: 100 }, 3000, 300, null)).toEqual({ rateBytesPerSec: 100, etaMs: null });
  });
});
