import type { Version } from '@fog/protocol';
import { compareEntries, isGone, remainingTtlMs, type Entry } from './entry';
import { LwwStore } from './lww-store';
import { RECORD_HEADER_BYTES } from './record-layout';

const v = (ms: number, c: number, w: string): Version => ({ ms, c, w });
const put = (ver: Version, value: string): Entry => ({ ver, value: Buffer.from(value) });
const del = (ver: Version): Entry => ({ ver, value: null });

describe('compareEntries', () => {
  it.each<[string, Entry, Entry, number]>([
    ['later ms wins', put(v(2, 0, 'a'), 'x'), put(v(1, 9, 'z'), 'z'), 1],
    ['higher counter wins at the same ms', put(v(1, 2, 'a'), 'x'), put(v(1, 1, 'z'), 'z'), 1],
    ['greater writer id wins at the same timestamp', put(v(1, 1, 'fe-b'), 'a'), put(v(1, 1, 'fe-a'), 'z'), 1],
    ['greater value wins on a complete version tie', put(v(1, 1, 'a'), 'b'), put(v(1, 1, 'a'), 'a'), 1],
    ['byte order, not string length', put(v(1, 1, 'a'), '\u00ff'), put(v(1, 1, 'a'), 'zzzz'), 1],
    ['longer value wins when one is a prefix', put(v(1, 1, 'a'), 'ab'), put(v(1, 1, 'a'), 'a'), 1],
    ['tombstone beats a value on a complete version tie', del(v(1, 1, 'a')), put(v(1, 1, 'a'), 'zzz'), 1],
    ['newer value beats an older tombstone', put(v(1, 2, 'a'), ''), del(v(1, 1, 'a')), 1],
    ['identical entries are equal', put(v(1, 1, 'a'), 'x'), put(v(1, 1, 'a'), 'x'), 0],
    ['identical tombstones are equal', del(v(1, 1, 'a')), del(v(1, 1, 'a')), 0],
  ])('%s', (_name, a, b, want) => {
    expect(Math.sign(compareEntries(a, b))).toBe(want);
    expect(Math.sign(compareEntries(b, a))).toBe(want === 0 ? 0 : -want);
  });
});

describe('LwwStore', () => {
  it('reports applied, duplicate and stale outcomes', () => {
    const s = new LwwStore();
    expect(s.merge(1, 'k', put(v(5, 0, 'a'), 'one')).outcome).toBe('applied');
    expect(s.merge(1, 'k', put(v(5, 0, 'a'), 'one')).outcome).toBe('duplicate');
    const stale = s.merge(1, 'k', put(v(4, 0, 'a'), 'old'));
    expect(stale.outcome).toBe('stale');
    expect(stale.current.value?.toString()).toBe('one');
    expect(s.merge(1, 'k', put(v(6, 0, 'a'), 'two')).outcome).toBe('applied');
    expect(s.get(1, 'k')?.value?.toString()).toBe('two');
  });

  it('keeps partitions apart', () => {
    const s = new LwwStore();
    s.merge(1, 'k', put(v(1, 0, 'a'), 'p1'));
    s.merge(2, 'k', put(v(1, 0, 'a'), 'p2'));
    expect(s.get(1, 'k')?.value?.toString()).toBe('p1');
    expect(s.get(2, 'k')?.value?.toString()).toBe('p2');
    expect(s.dropPartition(1)).toBe(1);
    expect(s.get(1, 'k')).toBeUndefined();
    expect(s.stats()).toMatchObject({ keys: 1, partitions: 1 });
  });

  it('tells an empty value from a tombstone and from a missing key', () => {
    const s = new LwwStore();
    s.merge(0, 'empty', put(v(1, 0, 'a'), ''));
    s.merge(0, 'gone', del(v(1, 0, 'a')));
    expect(s.get(0, 'empty')?.value).toEqual(Buffer.alloc(0));
    expect(s.get(0, 'gone')?.value).toBeNull();
    expect(s.get(0, 'never')).toBeUndefined();
    expect(s.stats()).toMatchObject({ keys: 1, tombstones: 1 });
  });

  it('ends in the same state whatever order writes arrive in', () => {
    // A deterministic PRNG so that a failure can be replayed.
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const writes: Array<[string, Entry]> = [];
    for (let i = 0; i < 300; i++) {
      const key = `k${Math.floor(rand() * 10)}`;
      const ver = v(Math.floor(rand() * 5), Math.floor(rand() * 3), `w${Math.floor(rand() * 3)}`);
      writes.push([key, rand() < 0.2 ? del(ver) : put(ver, `val${Math.floor(rand() * 4)}`)]);
    }
    const dump = (s: LwwStore) => JSON.stringify([...s.entries(0)].sort(([a], [b]) => (a < b ? -1 : 1)));
    const reference = new LwwStore();
    for (const [k, e] of writes) reference.merge(0, k, e);
    for (let trial = 0; trial < 20; trial++) {
      const shuffled = [...writes];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
      }
      const replica = new LwwStore();
      // Resends happen: apply some writes twice.
      for (const [k, e] of shuffled) {
        replica.merge(0, k, e);
        if (rand() < 0.1) replica.merge(0, k, e);
      }
      expect(dump(replica)).toBe(dump(reference));
      // Bytes held depend on history (superseded records wait for compaction); the rest does not.
      expect({ ...replica.stats(), bytes: 0 }).toEqual({ ...reference.stats(), bytes: 0 });
    }
  });

  it('accounts bytes as entries are replaced, reclaimed and dropped', () => {
    const s = new LwwStore();
    s.merge(0, 'k', put(v(1, 0, 'w'), 'x'.repeat(100)));
    const before = s.stats().bytes;
    expect(before).toBeGreaterThan(100);
    expect(s.growthBytes(0, 'k', put(v(2, 0, 'w'), 'x'.repeat(10)))).toBe(-90);
    s.merge(0, 'k', put(v(2, 0, 'w'), 'x'.repeat(10)));
    // The superseded record is dead space until compaction: held, and counted, until then.
    expect(s.deadBytes()).toBe(RECORD_HEADER_BYTES + 1 + 100);
    expect(s.stats().bytes).toBe(before + RECORD_HEADER_BYTES + 1 + 10);
    expect(s.reclaim()).toBe(RECORD_HEADER_BYTES + 1 + 100);
    expect(s.deadBytes()).toBe(0);
    expect(s.stats().bytes).toBe(before - 90);
    expect(s.get(0, 'k')?.value?.toString()).toBe('x'.repeat(10));
    s.dropPartition(0);
    expect(s.stats().bytes).toBe(0);
  });

  it('purges only tombstones older than the horizon', () => {
    const s = new LwwStore();
    s.merge(0, 'old', del(v(100, 0, 'a')));
    s.merge(0, 'new', del(v(900, 0, 'a')));
    s.merge(0, 'value', put(v(1, 0, 'a'), 'x'));
    expect(s.purgeTombstones(500)).toBe(1);
    expect(s.get(0, 'old')).toBeUndefined();
    expect(s.get(0, 'new')?.value).toBeNull();
    expect(s.get(0, 'value')?.value?.toString()).toBe('x');
  });
});

describe('expiring entries', () => {
  const ver = { ms: 1000, c: 0, w: 'fe' };
  it('read as gone from their expiry on, tombstones always', () => {
    const e = { ver, value: Buffer.from('v'), exp: 5000 };
    expect(isGone(e, 4999)).toBe(false);
    expect(isGone(e, 5000)).toBe(true);
    expect(isGone({ ver, value: Buffer.from('v') }, Number.MAX_SAFE_INTEGER)).toBe(false);
    expect(isGone({ ver, value: null }, 0)).toBe(true);
    expect(remainingTtlMs(e, 2000)).toBe(3000);
    expect(remainingTtlMs({ ver, value: Buffer.from('v') }, 2000)).toBeNull();
  });

  it('keep the order total when only the expiry differs', () => {
    const a = { ver, value: Buffer.from('v'), exp: 5000 };
    const b = { ver, value: Buffer.from('v'), exp: 6000 };
    const c = { ver, value: Buffer.from('v') };
    expect(compareEntries(a, b)).toBeLessThan(0);
    expect(compareEntries(b, a)).toBeGreaterThan(0);
    expect(compareEntries(b, c)).toBeLessThan(0);
    expect(compareEntries(a, { ...a })).toBe(0);
  });

  it('are purged from their expiry on, not from their stamp', () => {
    const s = new LwwStore();
    s.merge(1, 'ttl', { ver, value: Buffer.from('v'), exp: 5000 });
    s.merge(1, 'plain', { ver, value: Buffer.from('v') });
    expect(s.purgeTombstones(5000)).toBe(0);
    expect(s.purgeTombstones(5001)).toBe(1);
    expect(s.get(1, 'ttl')).toBeUndefined();
    expect(s.get(1, 'plain')).toBeDefined();
    expect(s.stats().keys).toBe(1);
  });
});
