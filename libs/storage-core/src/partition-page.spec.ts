import { LwwStore } from '@fog/lww';
import { OrderedKeyIndex } from './ordered-keys';
import { pagePartition } from './partition-page';

describe('pagePartition', () => {
  const store = new LwwStore();
  for (const k of ['d', 'a', 'c', 'b', 'e']) store.merge(3, k, { ver: { ms: 1, c: 0, w: 'w' }, value: Buffer.from(k.repeat(10)) });
  store.merge(3, 'f', { ver: { ms: 1, c: 0, w: 'w' }, value: null });
  store.merge(4, 'other', { ver: { ms: 1, c: 0, w: 'w' }, value: Buffer.from('x') });

  it('walks a partition in key order with a cursor, tombstones included', () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const page = pagePartition(new OrderedKeyIndex(store), 3, after, 2, 1 << 20);
      seen.push(...page.entries.map((e) => e.key));
      after = page.next;
      pages++;
    } while (after !== null);
    expect(seen).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(pages).toBe(3);
  });

  it('ends a page early at the byte limit but always sends one entry', () => {
    const page = pagePartition(new OrderedKeyIndex(store), 3, null, 100, 15);
    expect(page.entries.map((e) => e.key)).toEqual(['a']);
    expect(page.next).toBe('a');
  });

  it('says on the first page how many value bytes the partition holds, the figure a copy counts', () => {
    expect(pagePartition(new OrderedKeyIndex(store), 3, null, 2, 1 << 20).partitionBytes).toBe(50);
    expect(pagePartition(new OrderedKeyIndex(store), 3, 'b', 2, 1 << 20).partitionBytes).toBeUndefined();
    expect(pagePartition(new OrderedKeyIndex(store), 9, null, 2, 1 << 20).partitionBytes).toBe(0);
  });

  it('is empty for a partition it does not hold', () => {
    expect(pagePartition(new OrderedKeyIndex(store), 9, null, 10, 100)).toEqual({ entries: [], next: null, partitionBytes: 0 });
  });
});
