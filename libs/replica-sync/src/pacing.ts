import { ANTI_ENTROPY_DEFAULTS } from './limits';

/** What the last pass found, for deciding when the next one runs. */
export interface PassOutcome {
  /** Something differing was left for the next pass (a bound was reached, an exchange failed, new writes arrived). */
  workLeft: boolean;
  /** Entries the pass moved (pulled or pushed) that were older than settleMs: real divergence, not writes in flight. */
  settledMoved: number;
  /** Entries the pass moved that were younger than settleMs (most likely still reaching every replica). */
  youngMoved: number;
  /** A bound left differing partitions or buckets unexamined (PassStats.boundReached). */
  boundReached: boolean;
  /** Exchanges with peers that failed. */
  failedExchanges: number;
  /** Wall time of the pass, ms. */
  passMs: number;
}

export interface PacingConfig {
  intervalMs: number;
  catchUpDelayMs: number;
  inFlightDutyMax: number;
}

/**
 * When the next anti-entropy pass runs, ms after the last one ended.
 *
 * - Nothing left: the regular interval.
 * - Real divergence moved (entries older than settleMs: a replica that was away, a lost
 *   write) and more left: catch up at once, so that a returning replica repairs in seconds.
 * - Work left but everything moved was young: under a steady write load replicas always
 *   differ by the writes in flight, which reach every replica by themselves. Such passes are
 *   paced so that anti-entropy takes at most `inFlightDutyMax` of the wall time (it took two
 *   thirds of a storage node's CPU during a bulk load when it ran back to back):
 *   - when a bound left part of the difference unexamined (it may hide real divergence), the
 *     pause is the paced one but never longer than the regular interval;
 *   - when everything differing was examined and only writes in flight were found, the pause
 *     is the regular interval, or longer when the pass itself was long.
 * - Failed exchanges with nothing moved: the regular interval (a peer that is down is not
 *   asked again 20 ms later).
 */
export function nextPassDelayMs(o: PassOutcome, cfg: PacingConfig = {
  intervalMs: ANTI_ENTROPY_DEFAULTS.intervalMs, catchUpDelayMs: ANTI_ENTROPY_DEFAULTS.catchUpDelayMs, inFlightDutyMax: ANTI_ENTROPY_DEFAULTS.inFlightDutyMax,
}): number {
  if (!o.workLeft) return cfg.intervalMs;
  if (o.settledMoved > 0) return cfg.catchUpDelayMs;
  if (o.failedExchanges > 0 && o.youngMoved === 0) return cfg.intervalMs;
  const duty = Math.min(1, Math.max(0.01, cfg.inFlightDutyMax));
  const paced = Math.ceil(Math.max(0, o.passMs) * (1 - duty) / duty);
  if (o.boundReached) return Math.min(cfg.intervalMs, Math.max(cfg.catchUpDelayMs, paced));
  return Math.max(cfg.intervalMs, paced);
}
