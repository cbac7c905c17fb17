import type { PartitionTable } from '@fog/protocol';
import { bucketOf, entryHash, fnv1a } from './hash';
import { DIGEST_BUCKETS, TOMBSTONE_GRACE_FACTOR_MIN, tombstoneGraceProblem } from './limits';
import { diffDigests, digestEntries, isDigest, pickBuckets } from './digest';
import { NO_HORIZON_MS, compareKeyVersions, reconcile, type KeyVersion } from './reconcile';
import { nextPartitions, peersOf } from './schedule';
import { diffRequestProblem, digestRequestProblem, isDiffReply, pushRequestProblem } from './wire';

const v = (ms: number, c = 0, w = 'fe') => ({ ms, c, w });

describe('hashes', () => {
  it('are deterministic and spread keys over the buckets', () => {
    expect(fnv1a('hello', 0x811c9dc5)).toBe(fnv1a('hello', 0x811c9dc5));
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 16_000; i++) counts[bucketOf(`key-${i}`, 16)]++;
    for (const n of counts) expect(n).toBeGreaterThan(800);
  });

  it('tell apart versions, writers and tombstones of the same key', () => {
    const seen = new Set([
      entryHash('k', v(1), false), entryHash('k', v(2), false), entryHash('k', v(1, 1), false),
      entryHash('k', v(1, 0, 'fe2'), false), entryHash('k', v(1), true), entryHash('k2', v(1), false),
      entryHash('k', v(2 ** 40), false), entryHash('k', v(2 ** 40 + 2 ** 32), false),
    ].map((h) => h.join()));
    expect(seen.size).toBe(8);
  });
});

describe('digests', () => {
  const entries: Array<[string, { ver: ReturnType<typeof v>; value: Buffer | null }]> = Array.from({ length: 200 }, (_, i) => [`k${i}`, { ver: v(i), value: i % 7 ? Buffer.from('x') : null }]);

  it('do not depend on the order entries are visited in', () => {
    expect(digestEntries([...entries].reverse(), DIGEST_BUCKETS)).toEqual(digestEntries(entries, DIGEST_BUCKETS));
  });

  it('differ in exactly the buckets whose keys differ', () => {
    const a = digestEntries(entries, DIGEST_BUCKETS);
    const changed = entries.map(([k, e]): [string, typeof e] => (k === 'k5' ? [k, { ver: v(999), value: e.value }] : [k, e]));
    const missing = entries.filter(([k]) => k !== 'k9');
    expect(diffDigests(a, digestEntries(changed, DIGEST_BUCKETS)).map(([b]) => b)).toEqual([bucketOf('k5', DIGEST_BUCKETS)]);
    const d = diffDigests(a, digestEntries(missing, DIGEST_BUCKETS));
    expect(d).toEqual([[bucketOf('k9', DIGEST_BUCKETS), d[0][1]]]);
    expect(diffDigests(a, a)).toEqual([]);
    expect(isDigest(a, DIGEST_BUCKETS)).toBe(true);
    expect(isDigest(a.slice(1), DIGEST_BUCKETS)).toBe(false);
  });

  it('pick whole buckets, cheapest first, within the key budget, and always one', () => {
    expect(pickBuckets([[1, 50], [2, 10], [3, 30]], 45)).toEqual({ buckets: [2, 3], keys: 40 });
    expect(pickBuckets([[1, 500]], 45)).toEqual({ buckets: [1], keys: 500 });
    expect(pickBuckets([], 45)).toEqual({ buckets: [], keys: 0 });
  });
});

describe('reconcile', () => {
  const kv = (key: string, ms: number, tomb: 0 | 1 = 0, c = 0, w = 'fe'): KeyVersion => [key, ms, c, w, tomb];

  it('orders versions like last-writer-wins, the tombstone winning a complete tie', () => {
    expect(compareKeyVersions(kv('k', 2), kv('k', 1))).toBe(1);
    expect(compareKeyVersions(kv('k', 1, 0, 2), kv('k', 1, 0, 1))).toBe(1);
    expect(compareKeyVersions(kv('k', 1, 0, 0, 'b'), kv('k', 1, 0, 0, 'a'))).toBe(1);
    expect(compareKeyVersions(kv('k', 1, 1), kv('k', 1, 0))).toBe(1);
    expect(compareKeyVersions(kv('k', 1), kv('k', 1))).toBe(0);
  });

  it.each<[string, KeyVersion[], KeyVersion[], number, number, Partial<Record<'send' | 'want' | 'coveredThere' | 'coveredHere', string[]>>]>([
    ['equal sides', [kv('a', 1)], [kv('a', 1)], NO_HORIZON_MS, NO_HORIZON_MS, {}],
    ['newer here', [kv('a', 2)], [kv('a', 1)], NO_HORIZON_MS, NO_HORIZON_MS, { send: ['a'] }],
    ['newer there', [kv('a', 1)], [kv('a', 2)], NO_HORIZON_MS, NO_HORIZON_MS, { want: ['a'] }],
    ['missing there', [kv('a', 1)], [], NO_HORIZON_MS, NO_HORIZON_MS, { send: ['a'] }],
    ['missing here', [], [kv('a', 1)], NO_HORIZON_MS, NO_HORIZON_MS, { want: ['a'] }],
    ['a tombstone missing there', [kv('a', 5, 1)], [], NO_HORIZON_MS, NO_HORIZON_MS, { send: ['a'] }],
    ['a value missing there, covered by its horizon', [kv('a', 5)], [], NO_HORIZON_MS, 5, { coveredThere: ['a'] }],
    ['a value missing there, newer than its horizon', [kv('a', 6)], [], NO_HORIZON_MS, 5, { send: ['a'] }],
    ['a tombstone missing there, covered: nothing to do', [kv('a', 3, 1)], [], NO_HORIZON_MS, 5, {}],
    ['a value missing here, covered by our horizon', [], [kv('a', 4)], 4, NO_HORIZON_MS, { coveredHere: ['a'] }],
    ['a tombstone missing here, covered: nothing to do', [], [kv('a', 4, 1)], 4, NO_HORIZON_MS, {}],
    ['horizons do not matter for keys both hold', [kv('a', 1)], [kv('a', 2)], 10, 10, { want: ['a'] }],
  ])('%s', (_name, local, remote, lh, rh, want) => {
    expect(reconcile(local, remote, lh, rh)).toEqual({ send: [], want: [], coveredThere: [], coveredHere: [], ...want });
  });
});

describe('scheduling', () => {
  it('walks the held partitions round-robin', () => {
    const held = [1, 4, 7, 9];
    expect(nextPartitions(held, -1, 2)).toEqual([1, 4]);
    expect(nextPartitions(held, 4, 2)).toEqual([7, 9]);
    expect(nextPartitions(held, 9, 3)).toEqual([1, 4, 7]);
    expect(nextPartitions(held, 8, 10)).toEqual([9, 1, 4, 7]);
    expect(nextPartitions([], 0, 3)).toEqual([]);
  });

  it('compares with the other replicas that are up, pending ones included', () => {
    const table: PartitionTable = {
      epoch: 3, digits: 1, redundancy: 3,
      partitions: [{ replicas: ['a', 'b', 'c'], pending: ['d'] }],
      nodes: {
        a: { id: 'a', address: 'a:1', zone: 'z', weight: 1, state: 'up' },
        b: { id: 'b', address: 'b:1', zone: 'z', weight: 1, state: 'down' },
        c: { id: 'c', address: 'c:1', zone: 'z', weight: 1, state: 'up' },
        d: { id: 'd', address: 'd:1', zone: 'z', weight: 1, state: 'up' },
      },
    };
    expect(peersOf(table, 0, 'a')).toEqual(['c', 'd']);
    expect(peersOf(table, 5, 'a')).toEqual([]);
  });
});

describe('limits', () => {
  it(`requires the grace period to be at least ${TOMBSTONE_GRACE_FACTOR_MIN} anti-entropy intervals`, () => {
    expect(tombstoneGraceProblem(600_000, 5_000)).toBeNull();
    expect(tombstoneGraceProblem(4 * 5_000, 5_000)).toBeNull();
    expect(tombstoneGraceProblem(4 * 5_000 - 1, 5_000)).toMatch(/at least 4 x/);
    expect(tombstoneGraceProblem(0, 5_000)).toMatch(/positive/);
  });
});

describe('wire validation', () => {
  it.each<[string, unknown, RegExp | null]>([
    ['a good request', { epoch: 1, from: 'a', buckets: DIGEST_BUCKETS, partitions: [{ p: 1, digest: digestEntries([], DIGEST_BUCKETS) }] }, null],
    ['not an object', 'x', /expected/],
    ['wrong bucket count', { epoch: 1, from: 'a', buckets: 3, partitions: [] }, /buckets must be/],
    ['a short digest', { epoch: 1, from: 'a', buckets: DIGEST_BUCKETS, partitions: [{ p: 1, digest: [1, 2, 3] }] }, /digest/],
    ['too many partitions', { epoch: 1, from: 'a', buckets: DIGEST_BUCKETS, partitions: [{ p: 1, digest: digestEntries([], DIGEST_BUCKETS) }, { p: 2, digest: digestEntries([], DIGEST_BUCKETS) }] }, /at most 1/],
  ])('digest request: %s', (_name, body, problem) => {
    const got = digestRequestProblem(body, DIGEST_BUCKETS, 1);
    if (problem) expect(got).toMatch(problem);
    else expect(got).toBeNull();
  });

  it.each<[string, unknown, RegExp | null]>([
    ['a good request', { epoch: 1, from: 'a', p: 2, buckets: DIGEST_BUCKETS, ids: [3], horizonMs: -1, keysMax: 10, versions: [['k', 1, 0, 'fe', 0]] }, null],
    ['a bad bucket id', { epoch: 1, from: 'a', p: 2, buckets: DIGEST_BUCKETS, ids: [DIGEST_BUCKETS], horizonMs: -1, keysMax: 10, versions: [] }, /bucket numbers/],
    ['a bad version', { epoch: 1, from: 'a', p: 2, buckets: DIGEST_BUCKETS, ids: [], horizonMs: -1, keysMax: 10, versions: [['k', -1, 0, 'fe', 0]] }, /each version/],
    ['too many versions', { epoch: 1, from: 'a', p: 2, buckets: DIGEST_BUCKETS, ids: [], horizonMs: -1, keysMax: 10, versions: [['a', 1, 0, 'fe', 0], ['b', 1, 0, 'fe', 0]] }, /at most 1 versions/],
    ['a bad horizon', { epoch: 1, from: 'a', p: 2, buckets: DIGEST_BUCKETS, ids: [], horizonMs: -2, keysMax: 10, versions: [] }, /horizonMs/],
  ])('diff request: %s', (_name, body, problem) => {
    const got = diffRequestProblem(body, DIGEST_BUCKETS, 1);
    if (problem) expect(got).toMatch(problem);
    else expect(got).toBeNull();
  });

  it('push request and diff reply', () => {
    expect(pushRequestProblem({ epoch: 1, from: 'a', p: 0, entries: [{ key: 'k', ver: v(1), val: null }] }, 5)).toBeNull();
    expect(pushRequestProblem({ epoch: 1, from: 'a', p: 0, entries: [{ key: 'k', ver: v(1), val: 5 }] }, 5)).toMatch(/each entry/);
    expect(isDiffReply({ epoch: 1, held: true, horizonMs: -1, entries: [], want: ['a'], covered: [], truncated: false })).toBe(true);
    expect(isDiffReply({ epoch: 1, held: true, horizonMs: -1, entries: [], want: [1], covered: [], truncated: false })).toBe(false);
  });
});
