import type { LwwStore } from '@fog/lww';

/**
 * Keys of one partition that start with `prefix` and sort after `after`, in key order
 * (JavaScript string order). The store keeps no ordered index, so this costs one pass over
 * the partition's keys plus a sort of the matches; a cursor in key order stays valid while
 * writes arrive. Shared by partition pages (handoff) and scans (bucket listing).
 */
export function sortedKeysAfter(store: LwwStore, partition: number, after: string | null, prefix = ''): string[] {
  const keys: string[] = [];
  for (const [key] of store.entries(partition)) {
    if (key.startsWith(prefix) && (after === null || key > after)) keys.push(key);
  }
  return keys.sort();
}
