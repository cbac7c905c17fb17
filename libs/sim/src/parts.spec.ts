import { SimDisk } from './disk';
import { SimNetwork, type Endpoint } from './network';
import { Rng, mulberry32 } from './rng';
import { Scheduler } from './scheduler';

const entry = (ms: number) => ({ ver: { ms, c: 0, w: 'f1' }, value: Buffer.from('v') });

describe('Rng', () => {
  it('draws the same sequence from the same seed, and another from another seed', () => {
    const a = new Rng(7), b = new Rng(7), c = new Rng(8);
    const draw = (r: Rng) => Array.from({ length: 5 }, () => r.int(0, 1000));
    expect(draw(a)).toEqual(draw(b));
    expect(draw(new Rng(7))).not.toEqual(draw(c));
    expect(mulberry32(1)()).toBeGreaterThanOrEqual(0);
  });
});

describe('Scheduler', () => {
  it('runs events in time order, ties in scheduling order, and promise continuations between them', async () => {
    const s = new Scheduler();
    const seen: string[] = [];
    s.after(10, 'b', () => void seen.push('b10'));
    s.after(5, 'a', () => {
      seen.push('a5');
      void Promise.resolve().then(() => Promise.resolve()).then(() => seen.push('a5 continuation'));
    });
    s.after(10, 'c', () => void seen.push('c10'));
    await s.run(100);
    expect(seen).toEqual(['a5', 'a5 continuation', 'b10', 'c10']);
    expect(s.nowMs).toBe(100);
  });
});

describe('SimDisk', () => {
  it.each([
    ['always', false, 2],
    ['everysec', false, 1],
    ['always', true, 1],
  ] as const)('fsync %s (fsync skipped: %s) keeps %d records across a crash', (policy, skip, kept) => {
    const d = new SimDisk(policy);
    d.skipFsync = skip;
    d.append({ kind: 'entry', partition: 0, key: 'a', entry: entry(1) });
    d.sync();
    d.append({ kind: 'entry', partition: 0, key: 'b', entry: entry(2) });
    d.crash();
    expect(d.replay()).toHaveLength(kept);
    d.wipe();
    expect(d.replay()).toHaveLength(0);
  });
});

describe('SimNetwork', () => {
  const ep = (id: string, up = { v: true }): Endpoint => ({ id, alive: () => up.v });

  it('answers across a healthy link and times out across a cut one, in one direction only', async () => {
    const s = new Scheduler();
    const net = new SimNetwork(s, new Rng(1), (e) => { throw e; });
    const a = ep('a'), b = ep('b');
    net.cut('a', 'b');
    const results: string[] = [];
    net.rpc(a, b, 'x', () => 'a>b', 100).then((v) => results.push(v), () => results.push('a>b timed out'));
    net.rpc(b, a, 'x', () => 'b>a', 100).then((v) => results.push(v), () => results.push('b>a timed out'));
    await s.run(1000);
    expect(results.sort()).toEqual(['a>b timed out', 'b>a']);
  });

  it('never answers a caller that died (its next life must not see the reply)', async () => {
    const s = new Scheduler();
    const net = new SimNetwork(s, new Rng(1), (e) => { throw e; });
    const up = { v: true };
    const results: string[] = [];
    net.rpc(ep('a', up), ep('b'), 'x', () => 'reply', 100).then((v) => results.push(v), () => results.push('timeout'));
    s.after(1, 'crash a', () => { up.v = false; });
    await s.run(1000);
    expect(results).toEqual([]);
  });
});
