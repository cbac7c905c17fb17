import type { MoveView, MovesProgressView } from '@fog/protocol';
import { CLUSTER_VIEW_LIMITS } from './limits';

interface Sample {
  atMs: number;
  /** The counter's value then (it only grows). */
  value: number;
}

/**
 * The rate of one growing counter over a sliding window, from its first increase on: copies
 * start a moment after the moves do (the table reaches the nodes, copy slots free up), and
 * measuring from the batch's start would count that wait as a slow rate. The first increase's
 * own amount (done before it was reported) does not count.
 */
class WindowRate {
  private samples: Sample[] = [];
  private value = 0;

  constructor(private readonly windowMs: number, private readonly spanMinMs: number, private readonly samplesMax: number) {}

  add(amount: number, nowMs: number): void {
    if (!(amount > 0)) return;
    this.value += amount;
    if (this.samples.length === 0) this.samples = [{ atMs: nowMs, value: this.value }];
  }

  /** Called on every tick. */
  sample(nowMs: number): void {
    if (this.samples.length === 0) return;
    this.samples.push({ atMs: nowMs, value: this.value });
    // Keep one sample at or before the window's start, so the window is always fully covered.
    while (this.samples.length > 2 && this.samples[1].atMs <= nowMs - this.windowMs) this.samples.shift();
    while (this.samples.length > this.samplesMax) this.samples.shift();
  }

  /** Per second over the window ending now; null until measured over at least spanMinMs. */
  perSec(nowMs: number): number | null {
    const first = this.samples[0];
    if (!first || nowMs - first.atMs < this.spanMinMs) return null;
    return ((this.value - first.value) / (nowMs - first.atMs)) * 1000;
  }

  reset(): void {
    this.samples = [];
    this.value = 0;
  }
}

export interface MoveProgressOptions {
  rateWindowMs?: number;
  rateSpanMinMs?: number;
  samplesMax?: number;
}

/**
 * Totals, rate and ETA of the moves since the cluster last had none (one "batch": a join, a
 * failure, a decommission, or several overlapping). Rates are measured from what the
 * receiving nodes report, over a sliding window, so they follow throttling and contention as
 * they are now. Two estimates of the time left, and the longer one is the ETA:
 * - bytes: the bytes still to copy (from the sources' sizes; moves that have not reported yet
 *   count as the average of those that have — partitions are hash ranges, so their sizes are
 *   alike) over the byte rate;
 * - moves: the moves still to complete over the rate at which moves complete, which is what
 *   counts where partitions are small or empty and round trips, not bytes, take the time.
 */
export class MoveProgress {
  private batchStartedAtMs: number | null = null;
  private finishedMoves = 0;
  private finishedBytes = 0;
  /** Sizes the sources gave for the finished moves (many moves report only once, when done). */
  private finishedSized = 0;
  private finishedSizedBytes = 0;
  private readonly bytes: WindowRate;
  private readonly completions: WindowRate;
  private readonly windowMs: number;

  constructor(opts: MoveProgressOptions = {}) {
    this.windowMs = opts.rateWindowMs ?? CLUSTER_VIEW_LIMITS.moveRateWindowMs;
    const spanMinMs = opts.rateSpanMinMs ?? CLUSTER_VIEW_LIMITS.moveRateSpanMinMs;
    const samplesMax = opts.samplesMax ?? CLUSTER_VIEW_LIMITS.moveRateSamplesMax;
    if (!(spanMinMs > 0 && this.windowMs > spanMinMs && samplesMax >= 2)) throw new Error('need 0 < rateSpanMinMs < rateWindowMs and samplesMax >= 2');
    this.bytes = new WindowRate(this.windowMs, spanMinMs, samplesMax);
    this.completions = new WindowRate(this.windowMs, spanMinMs, samplesMax);
  }

  /** A move was created. The first one of a batch starts the batch. */
  started(nowMs: number): void {
    if (this.batchStartedAtMs === null) this.batchStartedAtMs = nowMs;
  }

  /** A node reported more bytes copied (a restarted copy reports less: that is not negative progress). */
  copied(deltaBytes: number, nowMs: number): void {
    if (this.batchStartedAtMs !== null) this.bytes.add(deltaBytes, nowMs);
  }

  /** A move completed and left the move list; `bytesTotal` is the size its source gave, if any. */
  finished(bytesCopied: number, bytesTotal: number | null, nowMs: number): void {
    this.finishedMoves++;
    this.finishedBytes += bytesCopied;
    if (bytesTotal !== null) {
      this.finishedSized++;
      this.finishedSizedBytes += bytesTotal;
    }
    if (this.batchStartedAtMs !== null) this.completions.add(1, nowMs);
  }

  /** Called on every tick: records rate samples, and ends the batch when no move is left. */
  sample(nowMs: number, movesLeft: number): void {
    if (this.batchStartedAtMs === null) return;
    if (movesLeft === 0) {
      this.batchStartedAtMs = null;
      this.finishedMoves = 0;
      this.finishedBytes = 0;
      this.finishedSized = 0;
      this.finishedSizedBytes = 0;
      this.bytes.reset();
      this.completions.reset();
      return;
    }
    this.bytes.sample(nowMs);
    this.completions.sample(nowMs);
  }

  /** Bytes/s over the window ending now; null until measured. */
  rateBytesPerSec(nowMs: number): number | null {
    return this.bytes.perSec(nowMs);
  }

  /** Moves completed per second over the window ending now; null until measured. */
  rateMovesPerSec(nowMs: number): number | null {
    return this.completions.perSec(nowMs);
  }

  view(moves: readonly MoveView[], nowMs: number): MovesProgressView {
    if (moves.length === 0) {
      return { startedAtMs: null, movesTotal: 0, movesDone: 0, bytesCopied: 0, bytesTotal: null, rateBytesPerSec: null, etaMs: null, rateWindowMs: this.windowMs };
    }
    const known = moves.filter((m) => m.bytesTotal !== null);
    const sized = known.length + this.finishedSized;
    const averageBytes = sized ? (known.reduce((n, m) => n + m.bytesTotal!, 0) + this.finishedSizedBytes) / sized : null;
    let remaining: number | null = 0;
    let movesLeft = 0;
    for (const m of moves) {
      if (m.done) continue;
      movesLeft++;
      const total = m.bytesTotal ?? averageBytes;
      if (total === null || remaining === null) {
        remaining = null;
        continue;
      }
      remaining += Math.max(0, total - m.bytesCopied);
    }
    const bytesCopied = this.finishedBytes + moves.reduce((n, m) => n + m.bytesCopied, 0);
    const byteRate = this.rateBytesPerSec(nowMs);
    const moveRate = this.rateMovesPerSec(nowMs);
    const byBytes = remaining !== null && remaining > 0 && byteRate ? (remaining / byteRate) * 1000 : null;
    const byMoves = movesLeft > 0 && moveRate ? (movesLeft / moveRate) * 1000 : null;
    const etaMs = movesLeft === 0 ? 0 : byBytes === null && byMoves === null ? null : Math.round(Math.max(byBytes ?? 0, byMoves ?? 0));
    return {
      startedAtMs: this.batchStartedAtMs,
      movesTotal: this.finishedMoves + moves.length,
      movesDone: this.finishedMoves + moves.filter((m) => m.done).length,
      bytesCopied,
      bytesTotal: remaining === null ? null : Math.round(bytesCopied + remaining),
      rateBytesPerSec: byteRate === null ? null : Math.round(byteRate),
      etaMs,
      rateWindowMs: this.windowMs,
    };
  }
}

/**
 * At most `max` moves for a view, the copies under way first (they are the ones to watch),
 * returned in partition order.
 */
export function selectMoves<T extends Pick<MoveView, 'partition' | 'bytesCopied' | 'done'>>(moves: readonly T[], max: number): T[] {
  if (moves.length <= max) return [...moves];
  const rank = (m: T) => (m.done ? 2 : m.bytesCopied > 0 ? 0 : 1);
  const chosen = [...moves].sort((a, b) => rank(a) - rank(b) || a.partition - b.partition).slice(0, Math.max(0, max));
  return chosen.sort((a, b) => a.partition - b.partition);
}

/**
 * Rate and ETA of one move, from its first progress report to its latest: the time before the
 * first report may be spent waiting for a copy slot, so it does not count.
 */
export function moveRate(first: { atMs: number; bytes: number } | undefined, nowMs: number, bytesCopied: number, bytesTotal: number | null): { rateBytesPerSec: number | null; etaMs: number | null } {
  if (!first || nowMs <= first.atMs) return { rateBytesPerSec: null, etaMs: null };
  const rate = ((bytesCopied - first.bytes) / (nowMs - first.atMs)) * 1000;
  if (!(rate > 0)) return { rateBytesPerSec: null, etaMs: null };
  const etaMs = bytesTotal === null ? null : Math.round((Math.max(0, bytesTotal - bytesCopied) / rate) * 1000);
  return { rateBytesPerSec: Math.round(rate), etaMs };
}
