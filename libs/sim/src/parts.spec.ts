import { ReplicaEngine } from '@fog/storage-core';
import { scanRecords } from '@fog/storage-log';
import { SimDisk, type DiskRecord } from './disk';
import { compareReplay, replayDisk } from './sim-storage';
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
  const rec = (key: string, ms: number): DiskRecord => ({ kind: 'entry', partition: 0, key, entry: entry(ms) });
  /** What a restart replays, through the app's decode path, and whether it matches the intact records. */
  const restart = (d: SimDisk) => {
    const expected = d.expectedReplay();
    const engine = new ReplicaEngine('s1');
    const report = replayDisk(engine, d);
    return { keys: [...engine.store.entries(0)].map(([k]) => k).sort(), report, diverged: compareReplay(engine, expected) };
  };

  it.each([
    ['always', false, 'machine', ['a', 'b']],
    ['everysec', false, 'machine', ['a']],
    ['everysec', false, 'process', ['a', 'b']],
    ['always', true, 'machine', ['a']],
  ] as const)('fsync %s (fsync skipped: %s): a %s crash keeps %j', (policy, skip, kind, kept) => {
    const d = new SimDisk(policy);
    d.skipFsync = skip;
    d.openSegment();
    d.append(rec('a', 1));
    d.sync();
    d.append(rec('b', 2));
    d.crash(kind);
    const r = restart(d);
    expect(r.keys).toEqual(kept);
    expect(r.diverged).toBeNull();
    d.wipe();
    expect(restart(d).keys).toEqual([]);
  });

  it('holds the log as libs/storage-log frames, one segment per process', () => {
    const d = new SimDisk('always');
    d.openSegment();
    d.append(rec('a', 1));
    d.crash('process');
    d.openSegment();
    d.append({ kind: 'drop', partition: 3 });
    const { segments, snapshot } = d.files();
    expect(snapshot).toBeNull();
    expect(segments.map((s) => s.seq)).toEqual([1, 2]);
    expect(scanRecords(segments[0].bytes).records).toEqual([rec('a', 1)]);
    expect(scanRecords(segments[1].bytes).records).toEqual([{ kind: 'drop', partition: 3 }]);
  });

  it.each([0.01, 0.5, 0.99])('a torn machine crash (%d of the write in flight reached the disk) leaves a tail replay cuts', (fraction) => {
    const d = new SimDisk('always');
    d.openSegment();
    d.append(rec('a', 1));
    d.crash('machine', fraction);
    const before = d.size;
    const r = restart(d);
    expect(r.keys).toEqual(['a']);
    expect(r.report.tornBytes).toBeGreaterThan(0);
    expect(r.diverged).toBeNull();
    expect(d.size).toBeLessThan(before);
    // Cut: the next start replays cleanly.
    d.crash('process');
    expect(restart(d).report.tornBytes).toBe(0);
  });

  it('a torn crash of an unsynced tail keeps the records that reached the disk whole', () => {
    const d = new SimDisk('everysec');
    d.openSegment();
    for (let i = 0; i < 4; i++) d.append(rec(`k${i}`, i + 1));
    d.crash('machine', 0.6);
    const r = restart(d);
    expect(r.keys.length).toBeGreaterThan(0);
    expect(r.keys.length).toBeLessThan(4);
    expect(r.diverged).toBeNull();
  });

  it.each([[0, 0], [0, 0.99], [0.5, 0.3], [0.99, 0.5]])('a damaged record (record %d, byte %d) is skipped and the rest replayed', (which, at) => {
    const d = new SimDisk('always');
    d.openSegment();
    for (let i = 0; i < 5; i++) d.append(rec(`k${i}`, i + 1));
    expect(d.corrupt(which, at, 0x40)).toMatch(/^segment 1 offset \d+: entry k\d record/);
    d.crash('process');
    const r = restart(d);
    expect(r.keys).toHaveLength(4);
    expect(r.diverged).toBeNull();
    expect(r.report.corruptRecords + (r.report.tornBytes > 0 ? 1 : 0)).toBe(1);
  });

  it('a damaged snapshot record is skipped, the snapshot reported damaged, the rest and the log replayed', () => {
    const d = new SimDisk('always');
    d.openSegment();
    const mem = [0, 1, 2, 3].map((i) => ({ partition: 0, key: `s${i}`, entry: entry(i + 1) }));
    expect(d.writeSnapshot(1000, mem, [{ partition: 0, ms: 1 }])).toBe(true);
    d.append(rec('after', 9));
    expect(d.corrupt(0.6, 0.5, 0x10)).toMatch(/^snapshot offset \d+: entry s2 record/);
    d.crash('process');
    const r = restart(d);
    expect(r.keys).toEqual(['after', 's0', 's1', 's3']);
    expect(r.report.damaged).toBe(true);
    expect(r.diverged).toBeNull();
  });

  it('the planted replay that stops at damage loses the intact records after it, and the comparison says so', () => {
    const d = new SimDisk('always');
    d.openSegment();
    for (let i = 0; i < 5; i++) d.append(rec(`k${i}`, i + 1));
    d.corrupt(0.1, 0.5, 0x01);
    d.crash('process');
    const expected = d.expectedReplay();
    const engine = new ReplicaEngine('s1');
    replayDisk(engine, d, true);
    expect(compareReplay(engine, expected)).toMatch(/k1 missing/);
  });

  it('a full disk fails the log; a snapshot once space is back makes it whole again', () => {
    const d = new SimDisk('always');
    d.openSegment();
    d.append(rec('a', 1));
    d.full = true;
    expect(d.append(rec('b', 2))).toBe(false);
    expect(d.failed).toBe('write');
    expect(d.append(rec('c', 3))).toBe(false);
    const mem = [{ partition: 0, key: 'a', entry: entry(1) }, { partition: 0, key: 'b', entry: entry(2) }];
    expect(d.writeSnapshot(1000, mem, [])).toBe(false);
    d.full = false;
    expect(d.writeSnapshot(2000, mem, [{ partition: 0, ms: 5 }])).toBe(true);
    expect(d.failed).toBeNull();
    expect(d.append(rec('d', 4))).toBe(true);
    d.crash('machine');
    const r = restart(d);
    expect(r.keys).toEqual(['a', 'b', 'd']);
    expect(r.diverged).toBeNull();
    expect(d.files().segments.map((s) => s.seq)).toEqual([2, 3]);
  });

  it('a failed fsync drops what it did not sync and fails the log until a snapshot', () => {
    const d = new SimDisk('everysec');
    d.openSegment();
    d.append(rec('a', 1));
    d.sync();
    d.append(rec('b', 2));
    d.fsyncFailsNext = true;
    expect(d.sync()).toBe(false);
    expect(d.failed).toBe('fsync');
    d.crash('process');
    expect(restart(d).keys).toEqual(['a']);
  });

  it('knows whether the last record appended reached the log', () => {
    const d = new SimDisk('always');
    d.openSegment();
    d.append(rec('a', 1));
    expect(d.commit()).toBe(true);
    expect(d.lastAppendWritten(0, 'a', entry(1).ver)).toBe(true);
    expect(d.lastAppendWritten(0, 'a', entry(2).ver)).toBe(false);
    d.full = true;
    d.append(rec('b', 2));
    expect(d.commit()).toBe(false);
    expect(d.lastAppendWritten(0, 'b', entry(2).ver)).toBe(false);
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
