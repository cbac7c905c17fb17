/**
 * A token bucket in bytes: one per node for every partition copy together, so that N copies
 * at once still stay under the node's ceiling (a per-copy throttle lets N copies run at N
 * times it). Time is passed in; the caller sleeps for what `reserve` returns.
 */
export class ByteThrottle {
  /** Bytes that may still go without waiting (negative: owed). */
  private tokens: number;
  private lastMs: number | null = null;

  /**
   * @param bytesPerSecMax the ceiling, averaged over time
   * @param burstBytesMax what may go at once after a quiet period (at least one page)
   */
  constructor(readonly bytesPerSecMax: number, readonly burstBytesMax: number) {
    if (!(bytesPerSecMax > 0) || !(burstBytesMax > 0)) throw new RangeError('throttle needs positive bytesPerSecMax and burstBytesMax');
    this.tokens = burstBytesMax;
  }

  /** Take `bytes` now; returns how long the caller must wait before going on (0: no wait). */
  reserve(bytes: number, nowMs: number): number {
    this.refill(nowMs);
    this.tokens -= bytes;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.bytesPerSecMax) * 1000);
  }

  private refill(nowMs: number): void {
    if (this.lastMs !== null && nowMs > this.lastMs) {
      this.tokens = Math.min(this.burstBytesMax, this.tokens + ((nowMs - this.lastMs) / 1000) * this.bytesPerSecMax);
    }
    if (this.lastMs === null || nowMs > this.lastMs) this.lastMs = nowMs;
  }
}
