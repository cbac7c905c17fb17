import type { Version, WireScanItem } from '@fog/protocol';

export interface ScanPageReply {
  items: WireScanItem[];
  more: boolean;
}

export interface ScanResult {
  /** Live entries (tombstones removed), in key order. */
  items: WireScanItem[];
  /**
   * Cursor to pass as `after` for the next page, or null when every replica asked reached the
   * end. It can be non-null with fewer than `limit` items (tombstones took the room).
   */
  next: string | null;
  partition: number;
  answered: number;
}

function newer(a: Version, b: Version): boolean {
  if (a.ms !== b.ms) return a.ms > b.ms;
  if (a.c !== b.c) return a.c > b.c;
  return a.w > b.w;
}

/**
 * Merge scan pages from several replicas of one partition: newest version per key wins (a
 * tombstone hides the item). Each page holds a replica's first `limit` keys after the cursor,
 * so the first `limit` keys of the union are exact; beyond them a replica that stopped early
 * may hold keys the others lack, so the merged page stops there and hands out a cursor.
 */
export function mergeScanPages(pages: ScanPageReply[], limit: number): { items: WireScanItem[]; next: string | null } {
  const byKey = new Map<string, WireScanItem>();
  let cut: string | null = null;
  for (const page of pages) {
    for (const item of page.items) {
      const seen = byKey.get(item.key);
      // On an exact version tie a tombstone wins, as in the stores' merge order.
      if (!seen || newer(item.ver, seen.ver) || (!newer(seen.ver, item.ver) && item.size === null)) byKey.set(item.key, item);
    }
    // A full page ends at its last key: nothing is known past the smallest such end.
    if (page.more && page.items.length > 0) {
      const last = page.items[page.items.length - 1].key;
      if (cut === null || last < cut) cut = last;
    }
  }
  const keys = [...byKey.keys()].filter((k) => cut === null || k <= cut).sort();
  const window = keys.slice(0, limit);
  const items = window.map((k) => byKey.get(k)!).filter((i) => i.size !== null);
  const exhausted = cut === null && window.length === keys.length;
  return { items, next: exhausted || window.length === 0 ? null : window[window.length - 1] };
}

export const KEYSPACE_SCAN_DEFAULTS = {
  /** Most items one page of a keyspace scan (GET /v1/kv) returns. */
  scanItemsMax: 1000,
  /** Items a page returns when the request names no limit. */
  scanItemsDefault: 100,
  /** Most partitions whose replicas a frontend asks at once for one scan page. */
  scanPartitionsInFlightMax: 16,
} as const;

/**
 * How many items to ask each partition for, for a page of `limit` over `partitions`
 * partitions. Keys are spread over partitions by hash, so the first `limit` keys in order hold
 * about limit/partitions of each partition: asking each for twice that (and a few more) keeps
 * the merged page nearly full while moving a small fraction of limit x partitions items. A page
 * cut short is still exact (see mergeKeyspacePages), it only hands out its cursor earlier.
 */
export function perPartitionScanLimit(limit: number, partitions: number): number {
  if (partitions <= 1) return limit;
  return Math.min(limit, Math.ceil((2 * limit) / partitions) + 4);
}

/** One partition's merged page, as Coordinator.scanPartition returns it. */
export interface PartitionScanPage {
  items: WireScanItem[];
  next: string | null;
}

/**
 * Merge the pages of every partition into one page of the whole keyspace, in key order.
 * A partition's page is exact up to its `next` cursor (its last listed key) and says nothing
 * past it, so the merged page stops at the smallest such cursor: no key beyond it can be
 * listed before a key of that partition that was not fetched. The cursor handed out is the
 * last key listed (or the stop point when no key precedes it), null when every partition ended.
 */
export function mergeKeyspacePages(pages: PartitionScanPage[], limit: number): { items: WireScanItem[]; next: string | null } {
  let stop: string | null = null;
  for (const p of pages) if (p.next !== null && (stop === null || p.next < stop)) stop = p.next;
  const all: WireScanItem[] = [];
  for (const p of pages) for (const item of p.items) if (stop === null || item.key <= stop) all.push(item);
  all.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  if (all.length > limit) return { items: all.slice(0, limit), next: all[limit - 1].key };
  return { items: all, next: stop };
}
