/**
 * Time to live. A write may carry a ttl; the frontend turns it into an absolute expiry,
 * `exp = stamp.ms + ttlMs`, derived from the write's own hybrid-clock stamp, and the expiry
 * travels and is stored with the entry, so every replica (and every copy, hint, log record
 * and anti-entropy exchange of that version) agrees on it. A version names one write, so it
 * also names one expiry.
 */

/** Bounds of a ttl, in milliseconds. */
export const TTL_LIMITS = {
  /**
   * Shortest ttl. Expiry is judged against each frontend's clock, which the hybrid clocks keep
   * close but not equal: below a second, clock differences would be a visible part of the ttl.
   */
  ttlMsMin: 1000,
  /** Longest ttl: one year. Longer lives are better served by no ttl at all. */
  ttlMsMax: 365 * 24 * 3600 * 1000,
} as const;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const TTL_RE = /^(\d{1,13})(ms|s|m|h|d)?$/;

export type TtlParse = { ok: true; ttlMs: number } | { ok: false; message: string };

/**
 * A ttl as clients write it: a whole number with a unit (`500ms`, `30s`, `5m`, `2h`, `7d`);
 * a bare number is seconds, as Redis's EXPIRE counts.
 */
export function parseTtl(text: string, limits: { ttlMsMin: number; ttlMsMax: number } = TTL_LIMITS): TtlParse {
  const m = TTL_RE.exec(text.trim());
  if (!m) return { ok: false, message: 'ttl is a whole number with an optional unit: ms, s (default), m, h or d, e.g. 30s' };
  const ttlMs = Number(m[1]) * UNIT_MS[m[2] ?? 's'];
  if (!Number.isSafeInteger(ttlMs) || ttlMs < limits.ttlMsMin || ttlMs > limits.ttlMsMax) {
    return { ok: false, message: `ttl must be between ${limits.ttlMsMin} ms and ${limits.ttlMsMax} ms` };
  }
  return { ok: true, ttlMs };
}

/** An expiry as it travels: absent (no ttl), or a positive safe integer of ms since the epoch. */
export function isExpiry(x: unknown): boolean {
  return x === undefined || (Number.isSafeInteger(x) && (x as number) > 0);
}
