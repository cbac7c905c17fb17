// Anti-entropy rounds (libs/replica-sync's runRound and repliers) between real replica engines
// over the simulation's network: a replica that is down times out in virtual time.
import type { Entry } from '@fog/lww';
import { DIGEST_BUCKETS, runRound, type RoundLimits } from '@fog/replica-sync';
import { Rng } from './rng';
import { AeReplica, aeTransport } from './testing/ae-replicas';
import { tableFor } from './testing/replica-cluster';
import { SelfRunningNet } from './testing/self-running-net';

const P = 3;
const limits: RoundLimits = { buckets: DIGEST_BUCKETS, keysPerRoundMax: 10_000, entryBytesPerMessageMax: 1 << 20 };
const val = (ms: number, s: string): Entry => ({ ver: { ms, c: 0, w: 'fe' }, value: Buffer.from(s) });
const del = (ms: number): Entry => ({ ver: { ms, c: 0, w: 'fe' }, value: null });

let sim: SelfRunningNet;

function cluster(grace = 1_000): { a: AeReplica; b: AeReplica; c: AeReplica; all: Map<string, AeReplica> } {
  sim = new SelfRunningNet(new Rng(1));
  const table = tableFor(['a', 'b', 'c']);
  const a = new AeReplica('a', table, grace);
  const b = new AeReplica('b', table, grace);
  const c = new AeReplica('c', table, grace);
  return { a, b, c, all: new Map([['a', a], ['b', b], ['c', c]]) };
}

/** A round of `node` with every other replica (a stopped one fails its exchanges, as over HTTP). */
async function round(node: AeReplica, all: Map<string, AeReplica>, l = limits) {
  const peers = [...all.keys()].filter((id) => id !== node.id);
  const stats = await runRound(node.local, aeTransport(sim, node, all, l), { partitions: [P], peersOf: () => peers }, l);
  node.tracker.onSynced(stats.synced);
  return stats;
}

describe('anti-entropy rounds', () => {
  it('bring a replica that missed writes to the same state, without reads', async () => {
    const { a, b, c, all } = cluster();
    for (let i = 0; i < 300; i++) {
      a.write(P, `k${i}`, val(i, `v${i}`));
      b.write(P, `k${i}`, val(i, `v${i}`));
      if (i % 3) c.write(P, `k${i}`, val(i, `v${i}`));
    }
    // c also holds a newer version that a and b missed.
    c.write(P, 'k1', val(1000, 'newer'));
    const stats = await round(c, all);
    expect(stats.divergence.get(P)).toBe(true);
    expect(stats.pulled).toBe(100);
    expect(stats.pushed).toBe(2);
    expect(stats.synced).toEqual([P]);
    expect(c.dump(P)).toBe(a.dump(P));
    expect(b.dump(P)).toBe(a.dump(P));
    expect(a.get(P, 'k1')?.value?.toString()).toBe('newer');
    const again = await round(c, all);
    expect(again.divergence.get(P)).toBe(false);
    expect(again.pulled + again.pushed).toBe(0);
  });

  it('bound the keys of a round and converge over several', async () => {
    const { a, c, all } = cluster();
    all.delete('b');
    for (let i = 0; i < 1_000; i++) a.write(P, `k${i}`, val(i, 'x'));
    const small = { ...limits, keysPerRoundMax: 100 };
    let rounds = 0;
    while (c.dump(P) !== a.dump(P)) {
      const s = await round(c, all, small);
      // Whole buckets: one round may exceed the budget by at most one bucket's keys.
      expect(s.keysListed + s.pulled).toBeLessThanOrEqual(100 + 40);
      rounds++;
      expect(rounds).toBeLessThan(30);
    }
    expect(rounds).toBeGreaterThanOrEqual(8);
  });

  it('carry a delete to a replica that was down for less than the grace period', async () => {
    const { a, b, c, all } = cluster();
    for (const r of [a, b, c]) r.write(P, 'gone', val(1, 'old'));
    c.up = false;
    a.write(P, 'gone', del(2));
    b.write(P, 'gone', del(2));
    c.up = true;
    await round(a, all);
    expect(c.get(P, 'gone')?.value).toBeNull();
  });

  it('do not bring back a key whose tombstone peers purged while a replica was away', async () => {
    const { a, b, c, all } = cluster(1_000);
    const t0 = 10_000;
    for (const r of [a, b, c]) {
      r.now = t0;
      r.write(P, 'gone', val(t0, 'old'));
      r.write(P, 'kept', val(t0, 'still here'));
    }
    await round(a, all); // every node has had contact at t0
    await round(c, all);
    c.up = false;
    a.write(P, 'gone', del(t0 + 100));
    b.write(P, 'gone', del(t0 + 100));
    // Time passes beyond the grace period: a and b purge the tombstone.
    for (const r of [a, b]) r.now = t0 + 5_000;
    a.gc(t0 + 5_000 - 1_000);
    b.gc(t0 + 5_000 - 1_000);
    expect(a.get(P, 'gone')).toBeUndefined();
    expect(a.horizonMs(P)).toBe(t0 + 100);
    // c returns with the old value; a reaches it first.
    c.up = true;
    c.now = t0 + 5_000;
    await round(a, all);
    expect(c.get(P, 'gone')?.value).toBeNull(); // retired by a tombstone with the value's own version
    expect(a.get(P, 'gone')).toBeUndefined();
    expect(b.get(P, 'gone')).toBeUndefined();
    // c's own round finds nothing left to revive, and c's collection makes all three equal.
    const s = await round(c, all);
    expect(s.pulled + s.pushed).toBe(0);
    c.gc(c.now - 1_000);
    expect(c.dump(P)).toBe(a.dump(P));
    expect(b.dump(P)).toBe(a.dump(P));
    expect(a.get(P, 'kept')?.value?.toString()).toBe('still here');
  });

  it('retire covered values also when the returning replica starts the exchange', async () => {
    const { a, c, all } = cluster(1_000);
    all.delete('b');
    a.now = c.now = 0;
    c.onContact();
    c.write(P, 'gone', val(5, 'old'));
    a.write(P, 'gone', del(6));
    a.gc(100);
    c.now = 5_000;
    const s = await round(c, all);
    expect(s.retired).toBe(1);
    expect(c.get(P, 'gone')?.value).toBeNull();
    expect(c.rejoining(P)).toBe(false);
  });

  it('keep and count covered values when the replica was not away', async () => {
    const { a, c, all } = cluster(1_000);
    all.delete('b');
    c.onContact();
    c.write(P, 'orphan', val(5, 'only here'));
    a.write(P, 'other', del(6));
    a.gc(100);
    const s = await round(c, all);
    expect(s.coveredKept).toBe(1);
    expect(c.get(P, 'orphan')?.value?.toString()).toBe('only here');
    expect(a.get(P, 'orphan')).toBeUndefined();
    expect(s.synced).toEqual([P]);
  });

  it('skip an unreachable peer and leave the partition unsynced', async () => {
    const { a, b, c, all } = cluster();
    b.up = false;
    c.write(P, 'k', val(1, 'v'));
    const s = await round(c, all.set('b', b));
    expect(s.failedExchanges).toBe(1);
    expect(s.contacted).toBe(true);
    expect(s.synced).toEqual([]);
    expect(a.get(P, 'k')?.value?.toString()).toBe('v');
  });
});

