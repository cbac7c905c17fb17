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
 * A duration as clients write it (`500ms`, `30s`, `5m`; a bare number is seconds) within
 * [minMs, maxMs]; `what` names it in the message.
 */
export function parseDurationMs(text: string, minMs: number, maxMs: number, what: string): { ok: true; ms: number } | { ok: false; message: string } {
  const m = TTL_RE.exec(text.trim());
  if (!m) return { ok: false, message: `${what} is a whole number with an optional unit: ms, s (default), m, h or d, e.g. 30s` };
  const ms = Number(m[1]) * UNIT_MS[m[2] ?? 's'];
  if (!Number.isSafeInteger(ms) || ms < minMs || ms > maxMs) return { ok: false, message: `${what} must be between ${minMs} ms and ${maxMs} ms` };
  return { ok: true, ms };
}

/**
 * A ttl as clients write it: a whole number with a unit (`500ms`, `30s`, `5m`, `2h`, `7d`);
 * a bare number is seconds, as Redis's EXPIRE counts.
 */
export function parseTtl(text: string, limits: { ttlMsMin: number; ttlMsMax: number } = TTL_LIMITS): TtlParse {
  const r = parseDurationMs(text, limits.ttlMsMin, limits.ttlMsMax, 'ttl');
  return r.ok ? { ok: true, ttlMs: r.ms } : r;
}

/** An expiry as it travels: absent (no ttl), or a positive safe integer of ms since the epoch. */
export function isExpiry(x: unknown): boolean {
  return x === undefined || (Number.isSafeInteger(x) && (x as number) > 0);
}
