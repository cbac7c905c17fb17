import { plainEntry } from '@fog/lww';
import { DEFAULT_LIMITS, encodeWireEntry, isExpiry, isVersion, type WireEntry, type WireOp, type WireResult } from '@fog/protocol';
import type { CasRegisters } from './cas-registers';
import type { OrderedKeyIndex } from './ordered-keys';
import { scanPartition } from './scan';

/** Most entries one scan may return, whatever the sender asks. */
export const SCAN_ITEMS_MAX = DEFAULT_LIMITS.listItemsMax;

function isWireEntry(x: unknown): x is WireEntry {
  const e = x as WireEntry;
  return typeof e === 'object' && e !== null && isVersion(e.ver) && (e.val === null || typeof e.val === 'string') && isExpiry(e.exp);
}

/**
 * The operations behind bucket listings (scan) and conditional writes (prepare, propose), for
 * a partition the caller has already checked this node holds. Null for an op it does not know.
 */
export function applySurfaceOp(index: OrderedKeyIndex, cas: CasRegisters, op: WireOp, nowMs: number): WireResult | null {
  const store = index.store;
  switch (op.op) {
    case 'scan': {
      if (!Number.isSafeInteger(op.limit) || op.limit < 1 || (op.after !== null && typeof op.after !== 'string')) {
        return { ok: false, code: 'FOG_ERR_BAD_REQUEST', message: 'scan needs a limit >= 1 and a string or null cursor' };
      }
      const page = scanPartition(index, op.p, op.prefix, op.after, Math.min(op.limit, SCAN_ITEMS_MAX), nowMs);
      return { ok: true, items: page.items, more: page.more };
    }
    case 'prepare': {
      if (!isVersion(op.ballot)) return { ok: false, code: 'FOG_ERR_BAD_REQUEST' };
      const promise = cas.prepare(op.p, op.key, op.ballot, nowMs);
      if (!promise) return { ok: false, code: 'FOG_ERR_OVERLOADED', message: 'too many keys with conditional writes in flight' };
      if (promise.granted) {
        // Read in the same step as the promise: no write can slip between the two.
        const e = store.get(op.p, op.key);
        promise.entry = e ? encodeWireEntry(plainEntry(e)) : null;
      }
      return { ok: true, promise };
    }
    case 'propose': {
      if (!isVersion(op.ballot) || !isWireEntry(op.entry) || (op.base !== null && !isVersion(op.base))) return { ok: false, code: 'FOG_ERR_BAD_REQUEST' };
      const vote = cas.propose(op.p, op.key, { ballot: op.ballot, entry: op.entry, base: op.base }, nowMs);
      if (!vote) return { ok: false, code: 'FOG_ERR_OVERLOADED', message: 'too many keys with conditional writes in flight' };
      return { ok: true, vote };
    }
    default:
      return null;
  }
}
