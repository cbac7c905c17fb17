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
