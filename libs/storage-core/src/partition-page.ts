import { plainBytes, plainEntry, type LwwStore } from '@fog/lww';
import { encodeWireEntry, type WireEntry } from '@fog/protocol';
import type { OrderedKeyIndex } from './ordered-keys';

export const PARTITION_PAGE_DEFAULTS = {
  /** Most entries in one page of a partition copy. */
  pageKeysMax: 1000,
  /** Most value bytes in one page (a page ends early rather than exceed it, but always holds one entry). */
  pageBytesMax: 4 * 1024 * 1024,
} as const;

export interface PartitionPage {
  entries: Array<{ key: string } & WireEntry>;
  /** Cursor for the next page (the last key sent), or null when the partition is exhausted. */
  next: string | null;
  /**
   * Value bytes the whole partition holds at the source, on the first page only (cursor null):
   * the copying node's estimate of what there is to copy, for progress and ETA.
   */
  partitionBytes?: number;
}

/**
 * One page of a partition in key order, after the cursor. Key order (not insertion order)
 * makes the cursor stable while writes keep arriving: a key written behind the cursor during
 * a copy reaches the new replica as a direct write, since the frontends already send it writes.
 */
export function pagePartition(index: OrderedKeyIndex, partition: number, after: string | null, keysMax: number, bytesMax: number): PartitionPage {
  const store = index.store;
  const keys = index.keysAfter(partition, after, '', keysMax + 1);
  const entries: PartitionPage['entries'] = [];
  let bytes = 0;
  for (const key of keys) {
    if (entries.length >= keysMax) break;
    const e = store.get(partition, key)!;
    // Plain bytes: what the entry costs on the wire (a compressed one leaves the node plain).
    const size = plainBytes(e) ?? 0;
    if (entries.length > 0 && bytes + size > bytesMax) break;
    bytes += size;
    entries.push({ key, ...encodeWireEntry(plainEntry(e)) });
  }
  const exhausted = entries.length === keys.length;
  const page: PartitionPage = { entries, next: exhausted ? null : entries[entries.length - 1].key };
  if (after === null) page.partitionBytes = partitionValueBytes(store, partition);
  return page;
}

/** Value bytes held in a partition (tombstones hold none), counted as a copy counts them. */
export function partitionValueBytes(store: LwwStore, partition: number): number {
  let bytes = 0;
  for (const [, e] of store.entries(partition)) bytes += plainBytes(e) ?? 0;
  return bytes;
}
