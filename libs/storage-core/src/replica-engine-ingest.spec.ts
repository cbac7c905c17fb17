import type { Entry } from '@fog/lww';
import type { PartitionTable } from '@fog/protocol';
import { DIGEST_BUCKETS, computeDigest } from '@fog/replica-sync';
import { INGEST_SOURCES, ReplicaEngine, type IngestSource } from './replica-engine';

function engine(): ReplicaEngine {
  const e = new ReplicaEngine('me');
  const t: PartitionTable = {
    epoch: 1, digits: 1, redundancy: 1,
    partitions: Array.from({ length: 16 }, () => ({ replicas: ['me'], pending: [] })),
    nodes: { me: { id: 'me', address: 'me:1', zone: 'z', weight: 1, state: 'up' } },
  };
  e.offerTable(t);
  return e;
}
const entry = (ms: number, value: string | null): Entry => ({ ver: { ms, c: 0, w: 'fe' }, value: value === null ? null : Buffer.from(value) });
const admitted = INGEST_SOURCES.filter((s) => s !== 'replay');

describe('the one ingest door', () => {
  it.each(admitted)('%s: the disk gate refuses it and stores nothing', (source: IngestSource) => {
    const e = engine();
    e.writeGate = () => 'FOG_ERR_INSUFFICIENT_STORAGE';
    expect(e.ingest(source, 1, 'k', entry(1, 'v'))).toEqual({ outcome: 'refused', code: 'FOG_ERR_INSUFFICIENT_STORAGE' });
    expect(e.store.get(1, 'k')).toBeUndefined();
  });

  it.each(admitted)('%s: the memory limit refuses growth but not a shrinking overwrite', (source: IngestSource) => {
    const e = engine();
    e.ingest('client', 1, 'k', entry(1, 'x'.repeat(100)));
    e.memoryLimitBytes = e.store.stats().bytes;
    expect(e.ingest(source, 1, 'other', entry(2, 'y'))).toEqual({ outcome: 'refused', code: 'FOG_ERR_MEMORY_LIMIT' });
    expect(e.ingest(source, 1, 'k', entry(3, 'small')).outcome).toBe('applied');
  });

  it.each(INGEST_SOURCES)('%s: a key the store cannot hold (a lone surrogate) is refused, not stored under another key', (source: IngestSource) => {
    const e = engine();
    expect(e.ingest(source, 1, 'a\ud800', entry(1, 'v'))).toEqual({ outcome: 'refused', code: 'FOG_ERR_KEY_INVALID' });
    expect(e.store.get(1, 'a\ufffd')).toBeUndefined();
    expect(e.store.stats().keys).toBe(0);
  });

  it.each(admitted)('%s: the horizon refuses an old value for a key the node lacks', (source: IngestSource) => {
    const e = engine();
    e.ingest('client', 1, 'gone', entry(200, null));
    e.collectTombstones(1_000);
    const r = e.ingest(source, 1, 'gone', entry(150, 'zombie'));
    expect(r.outcome).toBe('horizon');
    expect(e.store.get(1, 'gone')).toBeUndefined();
  });

  it('replay of the node\'s own log passes no admission and is not logged again', () => {
    const e = engine();
    const logged: string[] = [];
    e.onApplied = (_p, key) => logged.push(key);
    e.writeGate = () => 'FOG_ERR_INSUFFICIENT_STORAGE';
    e.memoryLimitBytes = 1;
    expect(e.ingest('replay', 1, 'k', entry(1, 'v')).outcome).toBe('applied');
    expect(logged).toEqual([]);
    e.writeGate = null;
    e.memoryLimitBytes = null;
    e.ingest('copy', 1, 'k2', entry(1, 'v'));
    expect(logged).toEqual(['k2']);
    expect(e.counters.appliedBy).toMatchObject({ replay: 1, copy: 1, client: 0 });
  });

  it('keeps every partition digest equal to a full recomputation through writes, overwrites, purges and drops', () => {
    const e = engine();
    for (let i = 0; i < 500; i++) e.ingest(INGEST_SOURCES[i % INGEST_SOURCES.length], i % 16, `k${i % 300}`, entry(10 + i, i % 7 === 0 ? null : `v${i}`));
    e.collectTombstones(300);
    e.dropPartition(3);
    const view = { entries: (p: number) => e.store.entries(p) };
    for (let p = 0; p < 16; p++) {
      expect(e.digests.digest(p)).toEqual(computeDigest(view, p, DIGEST_BUCKETS));
      const d = computeDigest(view, p, DIGEST_BUCKETS);
      let a = 0;
      let b = 0;
      let n = 0;
      for (let i = 0; i < d.length; i += 3) {
        a = (a + d[i]) >>> 0;
        b = (b + d[i + 1]) >>> 0;
        n += d[i + 2];
      }
      expect(e.digests.summary(p)).toEqual([a, b, n]);
    }
  });
});
