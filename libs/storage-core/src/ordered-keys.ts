import type { LwwStore } from '@fog/lww';

/**
 * The keys of each partition in key order (JavaScript string order), so that a listing page
 * costs a binary search plus the page, not a pass over the partition and a sort.
 *
 * The store keeps the order itself (an ordered index of record ids per partition, kept in
 * step on every insert, purge and drop: libs/lww partition-records.ts); this is the view
 * pages, scans and bucket listings read it through.
 */
export class OrderedKeyIndex {
  constructor(readonly store: LwwStore) {}

  /**
   * Keys of one partition that start with `prefix` and sort after `after` (null: from the
   * start), in order, at most `max` of them.
   */
  keysAfter(partition: number, after: string | null, prefix: string, max: number): string[] {
    return this.store.keysAfter(partition, after, prefix, max);
  }
}
