import { LwwStore } from '@fog/lww';
import type { PartitionTable } from '@fog/protocol';
import { OrderedKeyIndex } from './ordered-keys';
import { ReplicaEngine } from './replica-engine';

const entry = (ms: number, value: string | null) => ({ ver: { ms, c: 0, w: 'fe' }, value: value === null ? null : Buffer.from(value) });

/** Deterministic pseudo-random keys (a linear congruential generator). */
function keys(n: number, seed: number): string[] {
  let x = seed;
  return Array.from({ length: n }, () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return `k${(x % 5000).toString(36)}/${(x >> 8) % 7}`;
  });
}

/** What a full pass and a sort give: the oracle the index must match. */
function oracle(store: LwwStore, p: number, after: string | null, prefix: string, max: number): string[] {
  return [...store.entries(p)].map(([k]) => k).filter((k) => k.startsWith(prefix) && (after === null || k > after)).sort().slice(0, max);
}

describe('OrderedKeyIndex', () => {
  it.each<[string | null, string, number]>([
    [null, '', 10], [null, 'k1', 5], ['k2', '', 7], ['k2', 'k2', 100], ['k', 'k3', 3], ['zzz', '', 5], ['a', 'k4', 1000], ['k4', 'k3', 10],
  ])('lists keys after %j with prefix %j (at most %d) as a full pass and a sort do', (after, prefix, max) => {
    const store = new LwwStore();
    keys(800, 7).forEach((k, i) => store.merge(1, k, entry(i + 1, i % 5 === 0 ? null : 'v')));
    expect(new OrderedKeyIndex(store).keysAfter(1, after, prefix, max)).toEqual(oracle(store, 1, after, prefix, max));
  });

  it('stays in step while the engine stores new keys, purges tombstones and drops partitions', () => {
    const engine = new ReplicaEngine('n1');
    const table: PartitionTable = {
      epoch: 1, digits: 1, redundancy: 1,
      partitions: Array.from({ length: 16 }, () => ({ replicas: ['n1'], pending: [] })),
      nodes: { n1: { id: 'n1', address: 'a', zone: 'z', weight: 1, state: 'up' } },
    };
    engine.offerTable(table);
    const all = keys(600, 11);
    all.forEach((k, i) => {
      engine.ingest('client', i % 2, k, entry(i + 1, i % 3 === 0 ? null : 'v'));
      // Ask between writes, so that the index is built early and then kept up by `added`.
      if (i % 97 === 0) expect(engine.keys.keysAfter(0, null, '', 50)).toEqual(oracle(engine.store, 0, null, '', 50));
    });
    expect(engine.keys.keysAfter(0, 'k3', '', 1000)).toEqual(oracle(engine.store, 0, 'k3', '', 1000));
    engine.collectTombstones(10_000);
    expect(engine.keys.keysAfter(0, null, '', 1000)).toEqual(oracle(engine.store, 0, null, '', 1000));
    expect(engine.keys.keysAfter(1, null, 'k1', 1000)).toEqual(oracle(engine.store, 1, null, 'k1', 1000));
    engine.dropPartition(1);
    expect(engine.keys.keysAfter(1, null, '', 10)).toEqual([]);
  });
});
