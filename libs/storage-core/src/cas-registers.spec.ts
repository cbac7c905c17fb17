import type { PartitionTable, Version, WireOp } from '@fog/protocol';
import { CasRegisters, compareBallots } from './cas-registers';
import { ReplicaEngine } from './replica-engine';

const b = (ms: number, w = 'fe1', c = 0): Version => ({ ms, c, w });
const entry = (ms: number, val: string) => ({ ver: b(ms), val: Buffer.from(val).toString('base64') });

describe('compareBallots', () => {
  it.each<[Version, Version, number]>([
    [b(1), b(2), -1],
    [b(2, 'fe1', 1), b(2, 'fe1', 0), 1],
    [b(2, 'a'), b(2, 'b'), -1],
    [b(2, 'a'), b(2, 'a'), 0],
  ])('%j vs %j', (x, y, want) => expect(Math.sign(compareBallots(x, y))).toBe(want));
});

describe('CasRegisters', () => {
  it('promises only increasing ballots and reports the higher promise on refusal', () => {
    const r = new CasRegisters();
    expect(r.prepare(1, 'k', b(10), 0)).toMatchObject({ granted: true, accepted: null, commits: [] });
    expect(r.prepare(1, 'k', b(10), 0)).toMatchObject({ granted: false, promised: b(10) });
    expect(r.prepare(1, 'k', b(9), 0)).toMatchObject({ granted: false, promised: b(10) });
    expect(r.prepare(1, 'k', b(11), 0)).toMatchObject({ granted: true });
    // Another key (or the same key in another partition) is independent.
    expect(r.prepare(2, 'k', b(1), 0)).toMatchObject({ granted: true });
    expect(r.prepare(1, 'k2', b(1), 0)).toMatchObject({ granted: true });
  });

  it('refuses a proposal below the promise and reports the accepted one to later prepares', () => {
    const r = new CasRegisters();
    r.prepare(1, 'k', b(10), 0);
    expect(r.propose(1, 'k', { ballot: b(9), entry: entry(9, 'x'), base: null }, 0)).toEqual({ accepted: false, promised: b(10) });
    expect(r.propose(1, 'k', { ballot: b(10), entry: entry(20, 'y'), base: null }, 0)).toEqual({ accepted: true, promised: b(10) });
    expect(r.prepare(1, 'k', b(12), 0)).toMatchObject({ granted: true, accepted: { ballot: b(10), entry: entry(20, 'y'), base: null } });
  });

  it('forgets an accepted proposal once its value (or a newer one) is committed here', () => {
    const r = new CasRegisters();
    r.prepare(1, 'k', b(10), 0);
    r.propose(1, 'k', { ballot: b(10), entry: entry(20, 'y'), base: null }, 0);
    r.committed(1, 'k', b(19), 0);
    expect(r.prepare(1, 'k', b(11), 0)?.accepted).not.toBeNull();
    r.committed(1, 'k', b(20), 0);
    expect(r.prepare(1, 'k', b(12), 0)?.accepted).toBeNull();
  });

  it('remembers the most recent commits, a bounded number of them', () => {
    const r = new CasRegisters({ commitsKeptMax: 2 });
    r.committed(1, 'k', b(1), 0);
    r.committed(1, 'k', b(2), 0);
    r.committed(1, 'k', b(2), 0);
    r.committed(1, 'k', b(3), 0);
    expect(r.prepare(1, 'k', b(50), 0)!.commits).toEqual([b(2), b(3)]);
  });

  it('forgets idle keys and refuses new keys beyond its bound instead of forgetting busy ones', () => {
    const r = new CasRegisters({ keysMax: 2, idleMs: 1000 });
    expect(r.prepare(1, 'a', b(1), 0)).not.toBeNull();
    expect(r.prepare(1, 'b', b(1), 500)).not.toBeNull();
    expect(r.prepare(1, 'c', b(1), 900)).toBeNull();
    expect(r.size).toBe(2);
    // 'a' has been idle for 1000 ms by now: it goes, and 'c' fits.
    expect(r.prepare(1, 'c', b(1), 1000)).toMatchObject({ granted: true });
    expect(r.size).toBe(2);
    // 'b' is still busy at 1400, so 'a' cannot come back; at 1500 'b' has gone idle too, and
    // the forgotten 'a' grants the same ballot again.
    expect(r.prepare(1, 'a', b(1), 1400)).toBeNull();
    expect(r.prepare(1, 'a', b(1), 1500)).toMatchObject({ granted: true });
  });
});

describe('ReplicaEngine conditional ops', () => {
  const table: PartitionTable = {
    epoch: 1, digits: 1, redundancy: 1,
    partitions: Array.from({ length: 16 }, () => ({ replicas: ['me'], pending: [] })),
    nodes: { me: { id: 'me', address: 'me:1', zone: 'z', weight: 1, state: 'up' } },
  };

  it('answers a promise with the stored entry and records commits sent with cas', () => {
    const e = new ReplicaEngine('me');
    e.offerTable(table);
    const commit: WireOp = { op: 'put', p: 1, key: 'k', ...entry(7, 'v'), cas: true };
    e.handle({ epoch: 1, ops: [commit] }, 0);
    const res = e.handle({ epoch: 1, ops: [{ op: 'prepare', p: 1, key: 'k', ballot: b(100) }] }, 0);
    expect(res.results[0]).toEqual({ ok: true, promise: { granted: true, promised: b(100), accepted: null, entry: entry(7, 'v'), commits: [b(7)] } });
    const vote = e.handle({ epoch: 1, ops: [{ op: 'propose', p: 1, key: 'k', ballot: b(100), entry: entry(101, 'w'), base: b(7) }] }, 0);
    expect(vote.results[0]).toEqual({ ok: true, vote: { accepted: true, promised: b(100) } });
    // Accepting a proposal does not store it: only the commit put does.
    expect(e.store.get(1, 'k')?.value?.toString()).toBe('v');
  });
});
