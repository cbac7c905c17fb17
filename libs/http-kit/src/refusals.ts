import type { Counter } from 'prom-client';
import type { Logger } from './logger';

/** At most one log line per (operation, reason) in this many ms; the rest are counted in it. */
export const REFUSAL_LOG_INTERVAL_MS = 10_000;

/**
 * Counts every internal message refused before it changed anything, and logs it: the first of
 * each (operation, reason) at once, then at most one line per interval saying how many were
 * refused meanwhile, so a flood of bad messages cannot flood the log. Operations and reasons
 * come from small fixed sets; problems never name keys or values.
 */
export class RefusalReporter {
  private readonly last = new Map<string, { atMs: number; suppressed: number }>();

  constructor(
    private readonly counter: Counter<'op' | 'reason'>,
    private readonly log: Logger,
    private readonly intervalMs: number = REFUSAL_LOG_INTERVAL_MS,
    private readonly nowMs: () => number = () => Date.now(),
  ) {}

  refuse(op: string, reason: string, problem?: string): void {
    this.counter.inc({ op, reason });
    const key = `${op}\u0000${reason}`;
    const now = this.nowMs();
    const seen = this.last.get(key);
    if (seen && now - seen.atMs < this.intervalMs) {
      seen.suppressed++;
      return;
    }
    this.log.warn('internal message refused', { op, reason, problem: problem ?? null, refusedSinceLastLine: seen?.suppressed ?? 0 });
    this.last.set(key, { atMs: now, suppressed: 0 });
  }
}
