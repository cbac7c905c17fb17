import type { MoveView, MovesProgressView } from '@fog/protocol';
import { CLUSTER_VIEW_LIMITS } from './limits';

interface Sample {
  atMs: number;
  /** Bytes copied by every move so far (only ever grows). */
  bytes: number;
}

export interface MoveProgressOptions {
  rateWindowMs?: number;
  rateSpanMinMs?: number;
  samplesMax?: number;
}

/**
 * Totals, rate and ETA of the moves since the cluster last had none (one "batch": a join, a
 * failure, a decommission, or several overlapping). The rate is measured from the bytes the
 * receiving nodes report, over a sliding window, so it follows throttling and contention as
 * they are now; the bytes still to copy come from the sources' sizes, and moves that have not
 * reported yet are assumed to be as large as the average of those that have (partitions are
 * hash ranges, so their sizes are alike).
 */
export class MoveProgress {
  private batchStartedAtMs: number | null = null;
  private finishedMoves = 0;
  private finishedBytes = 0;
  /** Sizes the sources gave for the finished moves (most moves report only once, when done). */
  private finishedSized = 0;
  private finishedSizedBytes = 0;
  private copiedBytes = 0;
  private samples: Sample[] = [];
  /** Some move of this batch reported bytes: the rate is measured from that report on. */
  private progressSeen = false;
  private readonly windowMs: number;
  private readonly spanMinMs: number;
  private readonly samplesMax: number;

  constructor(opts: MoveProgressOptions = {}) {
    this.windowMs = opts.rateWindowMs ?? CLUSTER_VIEW_LIMITS.moveRateWindowMs;
    this.spanMinMs = opts.rateSpanMinMs ?? CLUSTER_VIEW_LIMITS.moveRateSpanMinMs;
    this.samplesMax = opts.samplesMax ?? CLUSTER_VIEW_LIMITS.moveRateSamplesMax;
    if (!(this.spanMinMs > 0 && this.windowMs > this.spanMinMs && this.samplesMax >= 2)) throw new Error('need 0 < rateSpanMinMs < rateWindowMs and samplesMax >= 2');
  }

  /** A move was created. The first one of a batch starts the clock. */
  started(nowMs: number): void {
    if (this.batchStartedAtMs !== null) return;
    this.batchStartedAtMs = nowMs;
    this.samples = [{ atMs: nowMs, bytes: this.copiedBytes }];
  }

  /** A node reported more bytes copied (a restarted copy reports less: that is not negative progress). */
  copied(deltaBytes: number, nowMs: number): void {
    if (!(deltaBytes > 0)) return;
    this.copiedBytes += deltaBytes;
    if (!this.progressSeen && this.batchStartedAtMs !== null) {
      // Copies start a moment after the moves do (the table reaches the nodes, copy slots free
      // up): measuring from the batch's start would count that wait as a slow rate. The clock
      // starts at the first report, whose own bytes were copied before it and do not count.
      this.progressSeen = true;
      this.samples = [{ atMs: nowMs, bytes: this.copiedBytes }];
    }
  }

  /** A move completed and left the move list; `bytesTotal` is the size its source gave, if any. */
  finished(bytesCopied: number, bytesTotal: number | null): void {
    this.finishedMoves++;
    this.finishedBytes += bytesCopied;
    if (bytesTotal !== null) {
      this.finishedSized++;
      this.finishedSizedBytes += bytesTotal;
    }
  }

  /** Called on every tick: records a rate sample, and ends the batch when no move is left. */
  sample(nowMs: number, movesLeft: number): void {
    if (this.batchStartedAtMs === null) return;
    if (movesLeft === 0) {
      this.batchStartedAtMs = null;
      this.finishedMoves = 0;
      this.finishedBytes = 0;
      this.finishedSized = 0;
      this.finishedSizedBytes = 0;
      this.progressSeen = false;
      this.samples = [];
      return;
    }
    this.samples.push({ atMs: nowMs, bytes: this.copiedBytes });
    // Keep one sample at or before the window's start, so the window is always fully covered.
    while (this.samples.length > 2 && this.samples[1].atMs <= nowMs - this.windowMs) this.samples.shift();
    while (this.samples.length > this.samplesMax) this.samples.shift();
  }

  /** Bytes/s over the window ending now; null until measured over at least rateSpanMinMs. */
  rateBytesPerSec(nowMs: number): number | null {
    const first = this.samples[0];
    if (!first) return null;
    const spanMs = nowMs - first.atMs;
    if (spanMs < this.spanMinMs) return null;
    return ((this.copiedBytes - first.bytes) / spanMs) * 1000;
  }

  view(moves: readonly MoveView[], nowMs: number): MovesProgressView {
    const known = moves.filter((m) => m.bytesTotal !== null);
    const sized = known.length + this.finishedSized;
    const averageBytes = sized ? (known.reduce((n, m) => n + m.bytesTotal!, 0) + this.finishedSizedBytes) / sized : null;
    let remaining: number | null = 0;
    for (const m of moves) {
      if (m.done) continue;
      const total = m.bytesTotal ?? averageBytes;
      if (total === null) {
        remaining = null;
        break;
      }
      remaining += Math.max(0, total - m.bytesCopied);
    }
    const bytesCopied = this.finishedBytes + moves.reduce((n, m) => n + m.bytesCopied, 0);
    const rate = moves.length ? this.rateBytesPerSec(nowMs) : null;
    const etaMs = remaining === null ? null : remaining === 0 ? 0 : rate && rate > 0 ? Math.round((remaining / rate) * 1000) : null;
    return {
      startedAtMs: moves.length ? this.batchStartedAtMs : null,
      movesTotal: moves.length ? this.finishedMoves + moves.length : 0,
      movesDone: moves.length ? this.finishedMoves + moves.filter((m) => m.done).length : 0,
      bytesCopied: moves.length ? bytesCopied : 0,
      bytesTotal: moves.length === 0 ? null : remaining === null ? null : Math.round(bytesCopied + remaining),
      rateBytesPerSec: rate === null ? null : Math.round(rate),
      etaMs: moves.length ? etaMs : null,
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
