import { remainingTtlMs, type Entry } from '@fog/lww';
import { FogError, parseTtl, TTL_LIMITS } from '@fog/protocol';

/**
 * The `ttl` request parameter: null when absent, the ttl in ms when valid; FOG_ERR_BAD_TTL
 * otherwise (also for a ttl on a delete, which has no value to expire).
 */
export function ttlParam(text: unknown, isDelete = false): number | null {
  if (text === undefined) return null;
  if (typeof text !== 'string') throw new FogError('FOG_ERR_BAD_TTL', 'give ttl once', { ...TTL_LIMITS });
  if (isDelete) throw new FogError('FOG_ERR_BAD_TTL', 'a delete takes no ttl', { ...TTL_LIMITS });
  const r = parseTtl(text);
  if (!r.ok) throw new FogError('FOG_ERR_BAD_TTL', r.message, { ...TTL_LIMITS });
  return r.ttlMs;
}

/** The x-fog-ttl-ms header of a value read: its remaining ms, or null when it does not expire. */
export function ttlHeader(entry: Entry, nowMs: number): string | null {
  const left = remainingTtlMs(entry, nowMs);
  return left === null ? null : String(left);
}
