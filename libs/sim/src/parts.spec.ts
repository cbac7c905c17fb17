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

  it('a one-way cut drops requests one way and replies the other; a healthy link answers', async () => {
    const s = new Scheduler();
    const net = new SimNetwork(s, new Rng(1), (e) => { throw e; });
    const a = ep('a'), b = ep('b'), c = ep('c');
    net.cut('a', 'b');
    const handled: string[] = [];
    const results: string[] = [];
    const call = (from: Endpoint, to: Endpoint) => net.rpc(from, to, 'x', () => {
      handled.push(`${from.id}>${to.id}`);
      return `${from.id}>${to.id}`;
    }, 100).then((v) => results.push(v), () => results.push(`${from.id}>${to.id} timed out`));
    void call(a, b);
    void call(b, a);
    void call(a, c);
    await s.run(1000);
    expect(handled.sort()).toEqual(['a>c', 'b>a']);
    expect(results.sort()).toEqual(['a>b timed out', 'a>c', 'b>a timed out']);
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
