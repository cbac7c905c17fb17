import { isGone, plainBytes } from '@fog/lww';
import type { WireScanItem } from '@fog/protocol';
import type { OrderedKeyIndex } from './ordered-keys';

export interface ScanPage {
  items: WireScanItem[];
  /** True when the limit cut the page short: entries follow the last item. */
  more: boolean;
}

/**
 * Entries of one partition whose key starts with `prefix` and sorts after `after`, in key
 * order (JavaScript string order, as partition pages use), at most `limit` of them.
 * Tombstones are included so that a reader merging several replicas can tell a deleted item
 * from one a replica has not received. A value expired at `nowMs` is listed as a tombstone.
 * Sizes are of the plain values.
 */
export function scanPartition(
  index: OrderedKeyIndex, partition: number, prefix: string, after: string | null, limit: number, nowMs = Number.NEGATIVE_INFINITY,
): ScanPage {
  const keys = index.keysAfter(partition, after, prefix, limit + 1);
  const items: WireScanItem[] = [];
  for (const key of keys) {
    if (items.length >= limit) break;
    const e = index.store.get(partition, key)!;
    items.push({ key, ver: e.ver, size: isGone(e, nowMs) ? null : plainBytes(e) });
  }
  return { items, more: keys.length > items.length };
}
