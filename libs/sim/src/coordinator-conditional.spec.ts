// The coordinator's conditional writes (single-key Paxos) against real replica engines on the
// simulation's clock and network: seeded delays, reordering and lost messages.
import { FogError } from '@fog/protocol';
import { partitionOf } from '@fog/partitioning';
import type { Entry } from '@fog/lww';
import type { Decide } from '@fog/coordinator';
import { DIGITS, ReplicaCluster, tableFor } from './testing/replica-cluster';

const append = (bytes: string): Decide => (cur: Entry | null) => Buffer.concat([cur?.value ?? Buffer.alloc(0), Buffer.from(bytes)]);
const ifVersion = (expected: Entry['ver'] | null, value: string): Decide => (cur) => {
  const same = expected === null ? !cur || cur.value === null : !!cur && cur.ver.ms === expected.ms && cur.ver.c === expected.c && cur.ver.w === expected.w;
  if (!same) throw new FogError('FOG_ERR_VERSION_CONFLICT');
  return Buffer.from(value);
};

describe('conditional writes (single-key Paxos)', () => {
  const ids = ['a', 'b', 'c'];

  function setup(seed = 1) {
    const cluster = new ReplicaCluster(ids, seed);
    const table = { current: tableFor(ids) };
    cluster.publish(table.current);
    return { cluster, table };
  }

  it('appends to a missing key, then to the value, and a plain read sees the result', async () => {
    const { cluster, table } = setup();
    const fe = cluster.frontend(table, 'fe1');
    const first = await fe.conditionalWrite('k', append('ab'), 2);
    expect(first.previous).toBeNull();
    expect(first.rounds).toBe(1);
    await fe.conditionalWrite('k', append('cd'), 2);
    expect((await fe.read('k', 2)).entry?.value?.toString()).toBe('abcd');
  });

  it('refuses a compare-and-set against a version that is not the stored one, changing nothing', async () => {
    const { cluster, table } = setup();
    const fe = cluster.frontend(table, 'fe1');
    const v1 = await fe.write('k', Buffer.from('one'), 2);
    const v2 = await fe.conditionalWrite('k', ifVersion(v1.ver, 'two'), 2);
    expect(v2.entry.value?.toString()).toBe('two');
    await expect(fe.conditionalWrite('k', ifVersion(v1.ver, 'three'), 2)).rejects.toMatchObject({ code: 'FOG_ERR_VERSION_CONFLICT' });
    expect((await fe.read('k', 3)).entry?.value?.toString()).toBe('two');
  });

  it('lets exactly one of two concurrent compare-and-sets on the same version win, across frontends and skewed clocks', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const { cluster, table } = setup(seed);
      cluster.delaySpreadMs = 3;
      const base = await cluster.frontend(table, 'fe0').write('k', Buffer.from('base'), 3);
      const contenders = ['fe1', 'fe2', 'fe3'].map((id, i) => cluster.frontend(table, id, (i - 1) * 5000, seed * 10 + i));
      const results = await Promise.allSettled(contenders.map((fe, i) => fe.conditionalWrite('k', ifVersion(base.ver, `v${i}`), 2)));
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as FogError).code).toBe('FOG_ERR_VERSION_CONFLICT');
      expect((await contenders[0].read('k', 3)).entry?.value?.toString()).toBe(`v${won[0]}`);
    }
  });

  it('never acknowledges an append whose bytes are not in the final value (concurrent appenders, reordering, lost messages)', async () => {
    for (let seed = 1; seed <= Number(process.env.SEEDS ?? 30); seed++) {
      const { cluster, table } = setup(seed);
      cluster.delaySpreadMs = 4;
      cluster.dropRate = seed % 3 === 0 ? 0.05 : 0;
      const frontends = ['fe1', 'fe2', 'fe3', 'fe4'].map((id, i) => cluster.frontend(table, id, (i - 2) * 3000, seed * 100 + i));
      const outcomes = new Map<string, 'ok' | string>();
      await Promise.all(frontends.map(async (fe, f) => {
        for (let n = 0; n < 6; n++) {
          const token = `<${f}.${n}>`;
          try {
            await fe.conditionalWrite('log', append(token), 2);
            outcomes.set(token, 'ok');
          } catch (err) {
            outcomes.set(token, (err as FogError).code ?? String(err));
          }
        }
      }));
      cluster.dropRate = 0;
      // Finish anything left accepted but uncommitted, then read every replica.
      await frontends[0].conditionalWrite('log', append(''), 3);
      const finalValue = (await frontends[0].read('log', 3)).entry!.value!.toString();
      for (const [token, outcome] of outcomes) {
        const count = finalValue.split(token).length - 1;
        if (outcome === 'ok') expect({ seed, token, count }).toEqual({ seed, token, count: 1 });
        else if (outcome === 'FOG_ERR_OUTCOME_UNKNOWN') expect(count).toBeLessThanOrEqual(1);
        else expect({ seed, token, outcome, count }).toEqual({ seed, token, outcome, count: 0 });
      }
      const acknowledged = [...outcomes.values()].filter((o) => o === 'ok').length;
      expect(acknowledged).toBeGreaterThan(0);
    }
  }, 120_000);

  it('finishes a proposal a majority accepted before its proposer vanished', async () => {
    const { cluster, table } = setup();
    const fe = cluster.frontend(table, 'fe1');
    await fe.write('k', Buffer.from('base'), 3);
    const p = partitionOf('k', DIGITS);
    const stored = cluster.engines.get('a')!.store.get(p, 'k')!;
    // A proposer that got a and b to accept 'base+x' and then died before committing.
    const ballot = { ms: cluster.wallMs + 5, c: 0, w: 'ghost' };
    for (const id of ['a', 'b']) {
      cluster.engines.get(id)!.handle({ epoch: 1, ops: [{ op: 'prepare', p, key: 'k', ballot }] }, cluster.wallMs);
      cluster.engines.get(id)!.handle({ epoch: 1, ops: [{ op: 'propose', p, key: 'k', ballot, entry: { ver: { ms: cluster.wallMs + 6, c: 0, w: 'ghost' }, val: Buffer.from('base+x').toString('base64') }, base: stored.ver }] }, cluster.wallMs);
    }
    const res = await fe.conditionalWrite('k', append('+y'), 2);
    // Round 1 loses to the ghost's higher promise, round 2 finishes its value, round 3 appends.
    expect(res.rounds).toBe(3);
    expect((await fe.read('k', 3)).entry?.value?.toString()).toBe('base+x+y');
  });

  it('does not resurrect a stale proposal computed from an older value', async () => {
    const { cluster, table } = setup();
    const fe = cluster.frontend(table, 'fe1');
    const old = await fe.write('k', Buffer.from('old'), 3);
    const p = partitionOf('k', DIGITS);
    const ballot = { ms: 2_000_000, c: 0, w: 'ghost' };
    const e = cluster.engines.get('a')!;
    e.handle({ epoch: 1, ops: [{ op: 'prepare', p, key: 'k', ballot }] }, cluster.wallMs);
    e.handle({ epoch: 1, ops: [{ op: 'propose', p, key: 'k', ballot, entry: { ver: { ms: 9_000_000, c: 0, w: 'ghost' }, val: Buffer.from('old+stale').toString('base64') }, base: old.ver }] }, cluster.wallMs);
    await fe.write('k', Buffer.from('new'), 3);
    await fe.conditionalWrite('k', append('+z'), 3);
    expect((await fe.read('k', 3)).entry?.value?.toString()).toBe('new+z');
  });

  it('needs a majority of the replicas whatever w asks, and says how many answered', async () => {
    const { cluster, table } = setup();
    const fe = cluster.frontend(table, 'fe1');
    cluster.down.add('b');
    cluster.down.add('c');
    await expect(fe.conditionalWrite('k', append('x'), 1)).rejects.toMatchObject({ code: 'FOG_ERR_QUORUM_NOT_MET', details: { required: 2, answered: 1, replicas: 3 } });
    cluster.down.delete('c');
    await expect(fe.conditionalWrite('k', append('x'), 3)).rejects.toMatchObject({ code: 'FOG_ERR_OUTCOME_UNKNOWN', details: { required: 3, answered: 2 } });
    // The value a majority accepted is finished by the next conditional write.
    cluster.down.delete('b');
    await fe.conditionalWrite('k', append('y'), 3);
    expect((await fe.read('k', 3)).entry?.value?.toString()).toBe('xy');
  });

  it('gives up after casRoundsMax lost rounds with nothing written', async () => {
    const { cluster, table } = setup();
    const fe = cluster.frontend(table, 'fe1');
    // A rival that promises a higher ballot at each replica just before every prepare arrives.
    cluster.beforeDeliver = (address, op) => {
      if (op.op !== 'prepare') return;
      const rival = { ...op.ballot, c: op.ballot.c + 1, w: 'rival' };
      cluster.engines.get(address)!.handle({ epoch: 1, ops: [{ ...op, ballot: rival }] }, cluster.wallMs);
    };
    await expect(fe.conditionalWrite('k', append('x'), 2)).rejects.toMatchObject({ code: 'FOG_ERR_WRITE_CONTENDED' });
    cluster.beforeDeliver = null;
    expect((await fe.read('k', 3)).entry).toBeNull();
  });

  it('passes a promise stamped by a clock far ahead instead of waiting for it', async () => {
    const { cluster, table } = setup();
    const fe = cluster.frontend(table, 'fe1');
    const p = partitionOf('k', DIGITS);
    const farAhead = { ms: cluster.wallMs + 3_600_000, c: 0, w: 'fe-future' };
    for (const e of cluster.engines.values()) e.handle({ epoch: 1, ops: [{ op: 'prepare', p, key: 'k', ballot: farAhead }] }, cluster.wallMs);
    const res = await fe.conditionalWrite('k', append('x'), 2);
    expect(res.rounds).toBe(2);
    expect((await fe.read('k', 2)).entry?.value?.toString()).toBe('x');
  });
});
