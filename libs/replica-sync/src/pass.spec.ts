import type { Entry } from '@fog/lww';
import { DIGEST_BUCKETS } from './limits';
import { runPass, type PassLimits } from './pass';
import { computeDigest } from './exchange';
import { MemReplica, fullTable, memTransport } from './testing/mem-replica';
import { groupCount } from './tree';

const limits: PassLimits = { buckets: DIGEST_BUCKETS, keysPerRoundMax: 10_000, entryBytesPerMessageMax: 1 << 20, summariesPerRequestMax: 4096, partitionsPerPeerPerPassMax: 64 };
const val = (ms: number, s: string): Entry => ({ ver: { ms, c: 0, w: 'fe' }, value: Buffer.from(s) });

/** Two replicas a and b holding all of `partitions` partitions with the same `keys` entries. */
function pair(partitions: number, keys: number): { a: MemReplica; b: MemReplica; nodes: Map<string, MemReplica> } {
  const table = fullTable(partitions, ['a', 'b']);
  const a = new MemReplica('a', table);
  const b = new MemReplica('b', table);
  for (let i = 0; i < keys; i++) {
    const p = (i * 2654435761) % partitions;
    a.write(p, `key${i}`, val(1000 + i, `v${i}`));
    b.write(p, `key${i}`, val(1000 + i, `v${i}`));
  }
  return { a, b, nodes: new Map([['a', a], ['b', b]]) };
}

describe('an anti-entropy pass over the hash tree', () => {
  it('finds one differing key among 65,536 partitions in a handful of exchanges', async () => {
    const { a, b, nodes } = pair(65_536, 20_000);
    b.write(40_000, 'only-on-b', val(5_000, 'x'));
    const t = memTransport(nodes);
    const stats = await runPass(a, t, ['b'], limits);
    expect(stats.partitionsCompared).toBe(65_536);
    expect(stats.partitionsDiffering).toBe(1);
    expect(stats.differingListed).toEqual([40_000]);
    expect(stats.pulled).toBe(1);
    expect(a.get(40_000, 'only-on-b')?.value?.toString()).toBe('x');
    // One tree exchange, one request of the 256 partition summaries of the differing group,
    // then the buckets and keys of the one partition.
    expect(t.calls).toEqual({ tree: 1, summaries: 1, digest: 1, diff: 1, push: 0 });
    expect(stats.workLeft).toBe(false);
    expect(stats.synced).toHaveLength(65_536);
    // Converged: the next pass is a single exchange that finds nothing.
    const again = memTransport(nodes);
    const second = await runPass(a, again, ['b'], limits);
    expect(second.partitionsDiffering).toBe(0);
    expect(again.calls).toEqual({ tree: 1, summaries: 0, digest: 0, diff: 0, push: 0 });
  });

  it('repairs both directions and keeps digests equal to a full recomputation', async () => {
    const { a, b, nodes } = pair(256, 2_000);
    for (let i = 0; i < 50; i++) a.write(i, `a${i}`, val(9_000 + i, 'from-a'));
    for (let i = 0; i < 50; i++) b.write(255 - i, `b${i}`, val(9_000 + i, 'from-b'));
    b.write((7 * 2654435761) % 256, 'key7', val(99_999, 'newer'));
    let pulled = 0;
    let pushed = 0;
    let passes = 0;
    for (let more = true; more && passes < 5; passes++) {
      const stats = await runPass(a, memTransport(nodes), ['b'], limits);
      pulled += stats.pulled;
      pushed += stats.pushed;
      more = stats.workLeft;
    }
    // About 100 differing partitions, at most 64 per pass: two passes.
    expect(passes).toBe(2);
    expect(pulled).toBe(51);
    expect(pushed).toBe(50);
    for (let p = 0; p < 256; p++) {
      expect(a.summary(p)).toEqual(b.summary(p));
      expect(a.digest(p)).toEqual(computeDigest(a, p, DIGEST_BUCKETS));
    }
  });

  it('works through more differing partitions than one pass may take, in later passes, resuming after the cursor', async () => {
    const { a, b, nodes } = pair(4_096, 0);
    for (let p = 0; p < 300; p++) b.write(p * 13, `k${p}`, val(10 + p, 'v'));
    const small = { ...limits, partitionsPerPeerPerPassMax: 100 };
    const first = await runPass(a, memTransport(nodes), ['b'], small);
    expect(first.partitionsDiffering).toBe(300);
    expect(first.pulled).toBe(100);
    expect(first.workLeft).toBe(true);
    const cursor = first.differingListed.length ? Math.max(...[...first.divergence].filter(([, d]) => d).map(([p]) => p)) : -1;
    const second = await runPass(a, memTransport(nodes), ['b'], small, cursor);
    expect(second.partitionsDiffering).toBe(200);
    expect(second.pulled).toBe(100);
    const third = await runPass(a, memTransport(nodes), ['b'], small, -1);
    expect(third.pulled).toBe(100);
    const last = await runPass(a, memTransport(nodes), ['b'], small);
    expect(last.partitionsDiffering).toBe(0);
    expect(last.workLeft).toBe(false);
  });

  it('leaves work for the next pass when a peer cannot be reached, and compares nothing it does not share', async () => {
    const { a, b, nodes } = pair(256, 100);
    b.up = false;
    const stats = await runPass(a, memTransport(nodes), ['b', 'nobody'], limits);
    expect(stats.failedExchanges).toBe(1);
    expect(stats.workLeft).toBe(true);
    expect(stats.synced).toEqual([]);
    expect(stats.partitionsCompared).toBe(0);
  });

  it('groups at most TREE_GROUPS_MAX ranges whatever D is', () => {
    expect([16, 256, 4_096, 65_536, 1_048_576].map(groupCount)).toEqual([16, 256, 256, 256, 256]);
  });
});
