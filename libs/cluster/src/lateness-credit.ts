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
 * The app measures its loop's lateness (the longest delay since the last tick) and how busy the
 * loop was (the fraction of the time it was running, not waiting for I/O), and passes both in.
 * This keeps the worst of each over a window and credits every node's silence with
 * `creditPerDelayMs` times the longest delay, plus a share of `creditMsMax` that grows as the
 * loop nears saturation: a loop that is always busy never looks late to its own timers, but
 * heartbeats then queue unread in its sockets. The sum is capped at `creditMsMax`, so a
 * controller that is always late still finds a dead node. A controller that is neither late
 * nor saturated judges exactly as before.
 */
export const LATENESS_CREDIT_LIMITS = {
  /**
   * Credit per ms of measured delay: one for the late read of the heartbeat that ends a gap,
   * one for the late answer that delayed the next heartbeat's sending.
   */
  creditPerDelayMs: 2,
  /** Samples kept (one per tick); older ones fall out of the window anyway. */
  samplesMax: 1024,
  /**
   * A loop busier than this fraction of the time starts to earn saturation credit, the whole of
   * creditMsMax when it is busy all the time.
   */
  busyFractionFrom: 0.75,
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
  private readonly busy: number[] = [];

  constructor(private readonly config: LatenessCreditConfig) {
    if (!(config.windowMs > 0)) throw new Error('windowMs must be > 0');
    if (!(config.creditMsMax >= 0)) throw new Error('creditMsMax must be >= 0');
  }

  /**
   * Since the previous observation the loop was up to `delayMs` late and busy `busyFraction` of
   * the time (0..1). Bad numbers count as 0.
   */
  observe(nowMs: number, delayMs: number, busyFraction = 0): void {
    const delay = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
    const busy = Number.isFinite(busyFraction) && busyFraction > 0 ? Math.min(1, busyFraction) : 0;
    this.prune(nowMs);
    if (delay === 0 && busy <= LATENESS_CREDIT_LIMITS.busyFractionFrom) return;
    if (this.atMs.length >= LATENESS_CREDIT_LIMITS.samplesMax) this.drop();
    this.atMs.push(nowMs);
    this.delayMs.push(delay);
    this.busy.push(busy);
  }

  /** The credit owed now (see the class comment), capped at creditMsMax. */
  creditMs(nowMs: number): number {
    this.prune(nowMs);
    let longest = 0;
    let busiest = 0;
    for (let i = 0; i < this.atMs.length; i++) {
      longest = Math.max(longest, this.delayMs[i]);
      busiest = Math.max(busiest, this.busy[i]);
    }
    const from = LATENESS_CREDIT_LIMITS.busyFractionFrom;
    const saturation = busiest > from ? (busiest - from) / (1 - from) : 0;
    return Math.min(this.config.creditMsMax, LATENESS_CREDIT_LIMITS.creditPerDelayMs * longest + saturation * this.config.creditMsMax);
  }

  private prune(nowMs: number): void {
    while (this.atMs.length > 0 && nowMs - this.atMs[0] > this.config.windowMs) this.drop();
  }

  private drop(): void {
    this.atMs.shift();
    this.delayMs.shift();
    this.busy.shift();
  }
}
