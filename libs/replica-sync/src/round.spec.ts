import { LwwStore, type Entry } from '@fog/lww';
import { computeDigest } from './exchange';
import { DIGEST_BUCKETS } from './limits';
import { NO_HORIZON_MS } from './reconcile';
import { ContactTracker, handleDiff, handleDigest, handlePush, runRound, type AeLocal, type AeTransport, type RoundLimits } from './round';

/** A replica as the storage app builds it, minus HTTP and disk: store, horizons, admission. */
class Replica implements AeLocal {
  readonly store = new LwwStore();
  readonly horizons = new Map<number, number>();
  readonly tracker: ContactTracker;
  up = true;
  now = 0;
  accepted = { pull: 0, push: 0, retire: 0 };

  constructor(readonly id: string, private readonly held: number[], graceMs = 1_000) {
    this.tracker = new ContactTracker(graceMs, null);
  }

  epoch = () => 1;
  holds = (p: number) => this.held.includes(p);
  entries = (p: number) => this.store.entries(p);
  get = (p: number, key: string) => this.store.get(p, key);
  horizonMs = (p: number) => this.horizons.get(p) ?? NO_HORIZON_MS;
  digest = (p: number) => computeDigest(this, p, DIGEST_BUCKETS);
  rejoining = (p: number) => this.tracker.rejoining(p);
  onContact = () => void this.tracker.onContact(this.now, this.held);

  write(p: number, key: string, e: Entry): void {
    this.accept(p, key, e, 'push');
  }

  accept(p: number, key: string, e: Entry, via: 'pull' | 'push' | 'retire'): 'applied' | 'unchanged' | 'refused' {
    const h = this.horizons.get(p);
    if (h !== undefined && e.ver.ms <= h && !this.store.get(p, key)) return 'refused';
    const outcome = this.store.merge(p, key, e).outcome === 'applied' ? 'applied' : 'unchanged';
    if (outcome === 'applied') this.accepted[via]++;
    return outcome;
  }

  gc(beforeMs: number): void {
    for (const p of this.store.partitionIds()) {
      for (const [, e] of this.store.entries(p)) if (e.value === null && e.ver.ms < beforeMs) this.horizons.set(p, Math.max(this.horizons.get(p) ?? -1, e.ver.ms));
    }
    this.store.purgeTombstones(beforeMs);
  }

  dump(p: number): string {
    return JSON.stringify([...this.store.entries(p)].map(([k, e]) => [k, e.ver, e.value?.toString() ?? null]).sort());
  }
}

/** Calls the peer's handlers directly, through JSON as on the wire; a stopped peer rejects. */
function transportFor(peers: Map<string, Replica>, limits: RoundLimits): AeTransport {
  const wire = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
  const peer = (id: string) => {
    const r = peers.get(id);
    if (!r?.up) throw new Error(`${id} unreachable`);
    return r;
  };
  return {
    digest: async (id, req) => wire(handleDigest(peer(id), wire(req))),
    diff: async (id, req) => wire(handleDiff(peer(id), wire(req), limits.keysPerRoundMax, limits.entryBytesPerMessageMax).reply),
    push: async (id, req) => wire(handlePush(peer(id), wire(req))),
  };
}

const P = 3;
const limits: RoundLimits = { buckets: DIGEST_BUCKETS, keysPerRoundMax: 10_000, entryBytesPerMessageMax: 1 << 20 };
const val = (ms: number, s: string): Entry => ({ ver: { ms, c: 0, w: 'fe' }, value: Buffer.from(s) });
const del = (ms: number): Entry => ({ ver: { ms, c: 0, w: 'fe' }, value: null });

function cluster(grace = 1_000): { a: Replica; b: Replica; c: Replica; all: Map<string, Replica> } {
  const a = new Replica('a', [P], grace);
  const b = new Replica('b', [P], grace);
  const c = new Replica('c', [P], grace);
  return { a, b, c, all: new Map([['a', a], ['b', b], ['c', c]]) };
}

/** A round of `node` with every other replica (a stopped one fails its exchanges, as over HTTP). */
async function round(node: Replica, all: Map<string, Replica>, l = limits) {
  const peers = [...all.keys()].filter((id) => id !== node.id);
  const stats = await runRound(node, transportFor(all, l), { partitions: [P], peersOf: () => peers }, l);
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

describe('ContactTracker', () => {
  it('starts a rejoin after a gap longer than the grace period, and ends it per partition', () => {
    const t = new ContactTracker(1_000, 0);
    expect(t.onContact(500, [1, 2])).toBe(false);
    expect(t.rejoining(1)).toBe(false);
    expect(t.onContact(2_000, [1, 2])).toBe(true);
    expect(t.rejoiningPartitions).toBe(2);
    t.onSynced([1]);
    expect(t.rejoining(1)).toBe(false);
    expect(t.rejoining(2)).toBe(true);
    expect(new ContactTracker(1_000, null).onContact(1e12, [1])).toBe(false);
  });
});
