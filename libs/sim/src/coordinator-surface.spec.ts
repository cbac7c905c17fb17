// The coordinator's client surface (batches, scans, bucket items) against real replica engines
// on the simulation's clock and network.
import { bucketItemKey, bucketPrefix, itemOfKey, runBatch } from '@fog/coordinator';
import { partitionOf } from '@fog/partitioning';
import { DIGITS, ReplicaCluster, tableFor } from './testing/replica-cluster';

const ids = ['a', 'b', 'c'];
function setup() {
  const cluster = new ReplicaCluster(ids);
  const table = { current: tableFor(ids) };
  cluster.publish(table.current);
  return { cluster, table, fe: cluster.frontend(table, 'fe1') };
}

describe('runBatch', () => {
  it('answers one result per op in request order, a get after a put of its key seeing it', async () => {
    const { fe } = setup();
    await fe.write('old', Buffer.from('x'), 2);
    const out = await runBatch(fe, [
      { op: 'put', key: 'k', value: Buffer.from('v') },
      { op: 'get', key: 'k' },
      { op: 'get', key: 'missing' },
      { op: 'delete', key: 'old' },
      { op: 'get', key: 'old' },
    ], 2, 2);
    expect(out.map((o) => o.op)).toEqual(['put', 'get', 'get', 'delete', 'get']);
    expect(out[1]).toMatchObject({ ok: true, entry: { value: Buffer.from('v') } });
    expect(out[2]).toMatchObject({ ok: true, entry: null });
    expect(out[4]).toMatchObject({ ok: true, entry: { value: null } });
  });

  it('fails the ops of a partition that lost its quorum and only those', async () => {
    const cluster = new ReplicaCluster(['a', 'b', 'c', 'd']);
    const t = tableFor(['a', 'b', 'c']);
    // Partition of 'k1' lives on a, b, c; every other partition on b, c, d.
    const p1 = partitionOf('k1', DIGITS);
    t.nodes.d = { id: 'd', address: 'd', zone: 'z', weight: 1, state: 'up' };
    t.partitions = t.partitions.map((e, p) => (p === p1 ? e : { ...e, replicas: ['b', 'c', 'd'] }));
    cluster.publish(t);
    const fe = cluster.frontend({ current: t }, 'fe1');
    const other = ['k2', 'k3', 'k4', 'k5'].find((k) => partitionOf(k, DIGITS) !== p1)!;
    cluster.down.add('a');
    cluster.down.add('b');
    const out = await runBatch(fe, [{ op: 'put', key: 'k1', value: Buffer.from('1') }, { op: 'put', key: other, value: Buffer.from('2') }], 2, 2);
    expect(out[0]).toMatchObject({ ok: false, error: { code: 'FOG_ERR_QUORUM_NOT_MET' } });
    expect(out[1]).toMatchObject({ ok: true });
  });

  it('packs ops for the same node together: reads of a partition ask the same replicas', async () => {
    const { cluster, fe } = setup();
    const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`);
    await runBatch(fe, keys.map((key) => ({ op: 'put' as const, key, value: Buffer.from(key) })), 1, 3);
    cluster.sent = [];
    await runBatch(fe, keys.map((key) => ({ op: 'get' as const, key })), 1, 3);
    const askedPerPartition = new Map<number, Set<string>>();
    for (const s of cluster.sent) {
      const set = askedPerPartition.get(s.op.p) ?? new Set<string>();
      set.add(s.address);
      askedPerPartition.set(s.op.p, set);
    }
    for (const asked of askedPerPartition.values()) expect(asked.size).toBe(1);
    // Sent in partition order.
    const order = cluster.sent.map((s) => s.op.p);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });
});

describe('scan', () => {
  it('lists a bucket from its partition over r replicas, in pages, without plain keys', async () => {
    const { fe } = setup();
    for (const name of ['x3', 'x1', 'x2', 'x4']) await fe.write(bucketItemKey('bkt', name), Buffer.from(name), 2, { placeBy: 'bkt' });
    await fe.write(bucketItemKey('bkt', 'x2'), null, 2, { placeBy: 'bkt' });
    await fe.write('bkt', Buffer.from('plain'), 2);
    await fe.write(bucketItemKey('bkt2', 'y'), Buffer.from('other bucket'), 2, { placeBy: 'bkt2' });
    const page1 = await fe.scan('bkt', bucketPrefix('bkt'), null, 2, 2);
    expect(page1.partition).toBe(partitionOf('bkt', DIGITS));
    expect(page1.items.map((i) => itemOfKey('bkt', i.key))).toEqual(['x1']);
    expect(page1.next).toBe(bucketItemKey('bkt', 'x2'));
    const page2 = await fe.scan('bkt', bucketPrefix('bkt'), page1.next, 2, 2);
    expect(page2.items.map((i) => itemOfKey('bkt', i.key))).toEqual(['x3', 'x4']);
    expect(page2.next).toBeNull();
  });

  it('says how many replicas answered when too few do', async () => {
    const { cluster, fe } = setup();
    cluster.down.add('a');
    cluster.down.add('b');
    await expect(fe.scan('bkt', bucketPrefix('bkt'), null, 10, 2)).rejects.toMatchObject({ code: 'FOG_ERR_QUORUM_NOT_MET', details: { required: 2, answered: 1, replicas: 3 } });
  });
});

describe('bucket items', () => {
  it('live in the bucket partition and never under a plain key', async () => {
    const { cluster, fe } = setup();
    await fe.write(bucketItemKey('photos', 'cat'), Buffer.from('meow'), 3, { placeBy: 'photos' });
    const p = partitionOf('photos', DIGITS);
    expect(cluster.engines.get('a')!.store.get(p, 'photos\u0001cat')?.value?.toString()).toBe('meow');
    expect((await fe.read('photos\u0001cat', 2)).partition).toBe(partitionOf('photos\u0001cat', DIGITS));
    expect((await fe.read(bucketItemKey('photos', 'cat'), 2, { placeBy: 'photos' })).entry?.value?.toString()).toBe('meow');
  });
});

