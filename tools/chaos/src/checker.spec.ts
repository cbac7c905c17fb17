import type { Version } from '@fog/protocol';
import type { OpRecord } from '@fog/sim';
import { checkHistory, type FinalEntry } from './checker';

let nextId = 0;
const v = (ms: number, c = 0, w = 'frontend-a'): Version => ({ ms, c, w });
function write(key: string, startMs: number, endMs: number | null, ver: Version | null, value: string, ok = true): OpRecord {
  return { id: nextId++, kind: 'write', key, frontend: 'f', startMs, endMs, ok: endMs === null ? null : ok, ver: ok ? ver : null, value };
}
function read(key: string, startMs: number, endMs: number, ver: Version | null, value: string | null): OpRecord {
  return { id: nextId++, kind: 'read', key, frontend: 'f', startMs, endMs, ok: true, ver, value };
}
const finals = (entries: Array<[string, Version | null, string | null]>) =>
  new Map<string, FinalEntry>(entries.map(([k, ver, value]) => [k, { ver, value }]));

describe('checkHistory', () => {
  it('passes a clean history: writes in order, fresh reads, the newest write held at the end', () => {
    const ops = [
      write('a', 0, 10, v(100), 'x'),
      write('a', 20, 30, v(200), 'y'),
      read('a', 40, 50, v(200), 'y'),
      write('u', 5, 15, v(105), 'u1'),
      // Concurrent with the second write: either answer is allowed.
      read('a', 25, 35, v(100), 'x'),
      // A write that failed says nothing; a read may or may not see it.
      write('a', 60, 70, null, 'z', false),
    ];
    const res = checkHistory(ops, finals([['a', v(200), 'y'], ['u', v(105), 'u1']]));
    expect(res.findings).toEqual([]);
    expect(res.writesAcked).toBe(3);
    expect(res.readsChecked).toBe(2);
  });

  it('finds an acknowledged unique write that no replica holds', () => {
    const res = checkHistory([write('u', 0, 10, v(100), 'u1')], finals([]));
    expect(res.counts['lost-write']).toBe(1);
    expect(res.findings[0].message).toContain('write #');
  });

  it('finds an acknowledged hot-key write overwritten by an older version at the end', () => {
    const res = checkHistory([write('h', 0, 10, v(100), 'a'), write('h', 20, 30, v(300), 'b')], finals([['h', v(100), 'a']]));
    expect(res.counts['lost-write']).toBe(1);
  });

  it('finds a write that started after another was acknowledged but got an older version', () => {
    const res = checkHistory([write('h', 0, 10, v(500), 'a'), write('h', 20, 30, v(400, 0, 'frontend-b'), 'b')], finals([['h', v(500), 'a']]));
    expect(res.counts['order-inverted']).toBe(1);
  });

  it('finds a quorum read that returned an older version, or nothing, after a write was acknowledged', () => {
    const ops = [write('h', 0, 10, v(100), 'a'), write('h', 20, 30, v(200), 'b'), read('h', 40, 45, v(100), 'a'), read('h', 50, 55, null, null)];
    const res = checkHistory(ops, finals([['h', v(200), 'b']]));
    expect(res.counts['stale-quorum-read']).toBe(2);
  });

  it('finds a version held with another value than the one written with it', () => {
    const ops = [write('h', 0, 10, v(100), 'a'), read('h', 20, 25, v(100), 'not-a')];
    expect(checkHistory(ops, finals([['h', v(100), 'a']])).counts['wrong-value']).toBe(1);
    expect(checkHistory([write('h', 0, 10, v(100), 'a')], finals([['h', v(100), 'b']])).counts['wrong-value']).toBe(1);
  });

  it('accepts a newer final version written by a write that was never acknowledged', () => {
    const res = checkHistory([write('h', 0, 10, v(100), 'a')], finals([['h', v(900), 'lost-ack']]));
    expect(res.findings).toEqual([]);
  });
});
