import type { WireScanItem } from '@fog/protocol';
import { mergeKeyspacePages, perPartitionScanLimit, type PartitionScanPage } from './scan-merge';
import { parseScanRequest, placeByOfKey } from './scan-request';
import { liveFrontends } from './topology';

const item = (key: string): WireScanItem => ({ key, ver: { ms: 1, c: 0, w: 'fe' }, size: 1 });

/** Partition pages as a partition answers them: its first `per` keys after the cursor. */
function pagesOf(partitions: string[][], after: string | null, per: number): PartitionScanPage[] {
  return partitions.map((keys) => {
    const rest = keys.filter((k) => after === null || k > after).sort();
    const page = rest.slice(0, per);
    return { items: page.map(item), next: rest.length > per ? page[page.length - 1] : null };
  });
}

describe('mergeKeyspacePages', () => {
  it('merges in key order and stops at the smallest partition cursor', () => {
    const merged = mergeKeyspacePages([
      { items: [item('a'), item('d')], next: 'd' },
      { items: [item('b'), item('c'), item('e')], next: null },
      { items: [], next: null },
    ], 10);
    expect(merged).toEqual({ items: ['a', 'b', 'c', 'd'].map(item), next: 'd' });
  });

  it('cuts at the limit and hands out the last key listed', () => {
    expect(mergeKeyspacePages([{ items: [item('a'), item('c')], next: null }, { items: [item('b')], next: null }], 2)).toEqual({ items: [item('a'), item('b')], next: 'b' });
  });

  it('ends with next null when every partition ended', () => {
    expect(mergeKeyspacePages([{ items: [item('a')], next: null }, { items: [], next: null }], 5)).toEqual({ items: [item('a')], next: null });
  });

  it.each([[1, 16, 5], [7, 16, 3], [100, 256, 2], [50, 1, 50]])('paging with limit %d over %d partitions (%d per partition asked) lists every key once, in order', (limit, partitionCount, per) => {
    let x = limit * 31 + partitionCount;
    const partitions: string[][] = Array.from({ length: partitionCount }, () => []);
    const all: string[] = [];
    for (let i = 0; i < 300; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      const key = `k${x.toString(36)}`;
      partitions[x % partitionCount].push(key);
      all.push(key);
    }
    const listed: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 1000; pages++) {
      const page = mergeKeyspacePages(pagesOf(partitions, after, per), limit);
      expect(page.items.length).toBeLessThanOrEqual(limit);
      listed.push(...page.items.map((i) => i.key));
      if (page.next === null) break;
      after = page.next;
    }
    expect(listed).toEqual([...new Set(all)].sort());
  });
});

describe('perPartitionScanLimit', () => {
  it.each([[100, 1, 100], [100, 16, 17], [100, 256, 5], [1, 256, 1], [1000, 65536, 5]])('limit %d over %d partitions asks each for %d', (limit, p, want) => {
    expect(perPartitionScanLimit(limit, p)).toBe(want);
  });
});

describe('parseScanRequest', () => {
  const limits = { keyBytesMax: 8, scanItemsMax: 50, scanItemsDefault: 10 };
  it('reads the defaults and every parameter', () => {
    expect(parseScanRequest({}, limits, 16)).toEqual({ prefix: '', after: null, limit: 10, keysOnly: false, partition: null, withBucketItems: false });
    expect(parseScanRequest({ prefix: 'a/', after: 'a/b', limit: '50', keys: 'only', partition: '15', buckets: 'include', r: 'one' }, limits, 16))
      .toEqual({ prefix: 'a/', after: 'a/b', limit: 50, keysOnly: true, partition: 15, withBucketItems: true });
  });
  it.each<[string, Record<string, unknown>, string]>([
    ['an unknown parameter', { prefx: 'a' }, 'FOG_ERR_UNKNOWN_FIELD'],
    ['a repeated prefix', { prefix: ['a', 'b'] }, 'FOG_ERR_BAD_REQUEST'],
    ['limit 0', { limit: '0' }, 'FOG_ERR_BAD_REQUEST'],
    ['limit over the max', { limit: '51' }, 'FOG_ERR_BAD_REQUEST'],
    ['keys=all', { keys: 'all' }, 'FOG_ERR_BAD_REQUEST'],
    ['partition out of range', { partition: '16' }, 'FOG_ERR_BAD_REQUEST'],
    ['a prefix over the key limit', { prefix: '123456789' }, 'FOG_ERR_KEY_TOO_LONG'],
    ['a cursor with a control character', { after: 'a\nb' }, 'FOG_ERR_BAD_REQUEST'],
  ])('refuses %s', (_name, q, code) => {
    let got: string | undefined;
    try {
      parseScanRequest(q, limits, 16);
    } catch (e) {
      got = (e as { code: string }).code;
    }
    expect(got).toBe(code);
  });
  it('takes a cursor that is a bucket item key, with or without bucket items listed', () => {
    expect(parseScanRequest({ after: 'b\u0001x' }, limits, 16).after).toBe('b\u0001x');
    expect(parseScanRequest({ after: 'b\u0001x', buckets: 'include' }, limits, 16).after).toBe('b\u0001x');
  });

  it('places a bucket item by its bucket', () => {
    expect(placeByOfKey('bkt\u0001item')).toBe('bkt');
    expect(placeByOfKey('plain')).toBe('plain');
  });
});

describe('liveFrontends', () => {
  const node = (id: string, role: 'frontend' | 'storage', state: 'up' | 'down', address: string) => ({ id, role, state, address, zone: 'z', weight: 1, lastHeartbeatAgoMs: 0 });
  it('lists the frontends that are up, by address, with the asking frontend always in', () => {
    const view = { nodes: [node('f2', 'frontend', 'up', 'h:8002'), node('s1', 'storage', 'up', 'h:7101'), node('f3', 'frontend', 'down', 'h:8003'), node('f1', 'frontend', 'up', 'h:8001')] };
    expect(liveFrontends(view, 'h:8001')).toEqual(['h:8001', 'h:8002']);
    expect(liveFrontends({ nodes: [] }, 'h:9')).toEqual(['h:9']);
  });
});
