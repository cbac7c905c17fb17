import type { Timestamp } from '@fog/protocol';

/** Order of two timestamps: physical milliseconds, then the logical counter. */
export function compareTimestamps(a: Timestamp, b: Timestamp): number {
  if (a.ms !== b.ms) return a.ms < b.ms ? -1 : 1;
  if (a.c !== b.c) return a.c < b.c ? -1 : 1;
  return 0;
}

export const CLOCK_DEFAULTS = {
  /**
   * A remote timestamp further ahead of our wall clock than this is not adopted: one node with a
   * clock years in the future must not drag every clock (and every later write) with it.
   */
  forwardJumpMsMax: 60_000,
} as const;

/**
 * Hybrid logical clock (Kulkarni et al.): never goes backwards, even when the wall clock
 * does, and moves past every timestamp it observes. The wall clock is passed in, never read.
 */
export class HybridClock {
  private last: Timestamp = { ms: 0, c: 0 };
  private readonly forwardJumpMsMax: number;

  constructor(options: { forwardJumpMsMax?: number } = {}) {
    this.forwardJumpMsMax = options.forwardJumpMsMax ?? CLOCK_DEFAULTS.forwardJumpMsMax;
    if (!(this.forwardJumpMsMax >= 0)) throw new Error('forwardJumpMsMax must be >= 0');
  }

  /** A new timestamp, greater than every one issued or observed before. */
  now(physicalMs: number): Timestamp {
    const wall = Math.floor(physicalMs);
    this.last = wall > this.last.ms ? { ms: wall, c: 0 } : { ms: this.last.ms, c: this.last.c + 1 };
    return this.last;
  }

  /**
   * Take a timestamp seen elsewhere into account, so that the next `now` is after it.
   * Returns false (and ignores it) when it is implausibly far ahead of the wall clock.
   */
  observe(remote: Timestamp, physicalMs: number): boolean {
    if (remote.ms - physicalMs > this.forwardJumpMsMax) return false;
    if (compareTimestamps(remote, this.last) > 0) this.last = { ms: remote.ms, c: remote.c };
    return true;
  }

  /** The latest timestamp issued or observed, without advancing. */
  peek(): Timestamp {
    return this.last;
  }
}
