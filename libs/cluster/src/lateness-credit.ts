/**
 * How much later a controller that runs late gives its verdicts.
 *
 * A heartbeat is timed when the controller reads it. When the controller's event loop runs
 * late (a busy machine, a long publication, a collector pause), every heartbeat is read that
 * much later, and the controller answers it later, so the node's next one is sent later too:
 * gaps between heartbeats as the controller sees them grow with its own lateness, though
 * every node is sending on time. A fixed down-after would then turn an overloaded controller's
 * slowness into nodes marked down, which publishes an epoch and loads it further.
 *
 * The app measures its loop's lateness (the longest delay since the last tick) and passes it
 * in; this keeps the longest delay seen over a window and credits `factor` times it to every
 * node's silence, capped at `creditMsMax` so a controller that is always late still finds a
 * dead node. A controller that is not late (delay near 0) judges exactly as before.
 */
export const LATENESS_CREDIT_LIMITS = {
  /**
   * Credit per ms of measured delay: one for the late read of the heartbeat that ends a gap,
   * one for the late answer that delayed the next heartbeat's sending.
   */
  creditPerDelayMs: 2,
  /** Samples kept (one per tick); older ones fall out of the window anyway. */
  samplesMax: 1024,
} as const;

export interface LatenessCreditConfig {
  /** Delays older than this no longer count. Unit: ms. */
  windowMs: number;
  /** The most credited. Unit: ms. */
  creditMsMax: number;
}

export class LatenessCredit {
  /** (time, delay) samples in time order, the oldest first. */
  private readonly atMs: number[] = [];
  private readonly delayMs: number[] = [];

  constructor(private readonly config: LatenessCreditConfig) {
    if (!(config.windowMs > 0)) throw new Error('windowMs must be > 0');
    if (!(config.creditMsMax >= 0)) throw new Error('creditMsMax must be >= 0');
  }

  /** The loop was up to `delayMs` late since the previous observation. Bad numbers count as 0. */
  observe(nowMs: number, delayMs: number): void {
    const delay = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
    this.prune(nowMs);
    if (delay === 0) return;
    if (this.atMs.length >= LATENESS_CREDIT_LIMITS.samplesMax) {
      this.atMs.shift();
      this.delayMs.shift();
    }
    this.atMs.push(nowMs);
    this.delayMs.push(delay);
  }

  /** The credit owed now: factor × the longest delay within the window, capped. */
  creditMs(nowMs: number): number {
    this.prune(nowMs);
    let longest = 0;
    for (const d of this.delayMs) longest = Math.max(longest, d);
    return Math.min(this.config.creditMsMax, LATENESS_CREDIT_LIMITS.creditPerDelayMs * longest);
  }

  private prune(nowMs: number): void {
    while (this.atMs.length > 0 && nowMs - this.atMs[0] > this.config.windowMs) {
      this.atMs.shift();
      this.delayMs.shift();
    }
  }
}
